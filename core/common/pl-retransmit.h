/* pl-retransmit.h
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Pure retransmission schedule (RFC 6886 section 3.1), a state machine in the manner of
 * libnice's StunTimer: no I/O, no clock of its own; the caller passes the time.
 *
 * Send at 0; wait 250 ms; resend; wait 500 ms; ... doubling; after the 9th send wait 64 s and
 * give up, 127.75 s after the first send. An optional overall deadline shortens that. */

#define PL_RETRANSMIT_INITIAL_MS    250
#define PL_RETRANSMIT_MAX_ATTEMPTS  9

typedef enum
{
  PL_RETRANSMIT_WAIT,      /* nothing to do until pl_retransmit_get_next_time() */
  PL_RETRANSMIT_SEND,      /* send (or resend) the request now */
  PL_RETRANSMIT_TIMEOUT,   /* give up */
} PlRetransmitAction;

typedef struct
{
  gint64 start;         /* microseconds, the time of the first send */
  gint64 next;          /* microseconds, when the next action is due */
  gint64 deadline;      /* microseconds, absolute; G_MAXINT64 when none */
  guint  initial_ms;    /* first wait */
  guint  max_attempts;  /* sends in all */
  guint  attempts;      /* sends done so far */
} PlRetransmit;

/* @now: current time in microseconds. @timeout_ms: overall bound from the first send, 0 for
 * the RFC's 127.75 s. @max_attempts 0 means PL_RETRANSMIT_MAX_ATTEMPTS. */
void               pl_retransmit_init          (PlRetransmit *self,
                                                gint64        now,
                                                guint         initial_ms,
                                                guint         max_attempts,
                                                guint         timeout_ms);
/* What to do at @now. SEND counts the attempt and moves the next time on. */
PlRetransmitAction pl_retransmit_refresh       (PlRetransmit *self,
                                                gint64        now);
gint64             pl_retransmit_get_next_time (const PlRetransmit *self);
guint              pl_retransmit_get_attempts  (const PlRetransmit *self);
/* Total time from the first send until the give-up, in milliseconds (127750 by default). */
guint              pl_retransmit_get_total_ms  (const PlRetransmit *self);

G_END_DECLS
