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

/* PCP (RFC 6887 section 8.1.1, after RFC 3315 section 14): the first RT is IRT + RAND * IRT,
 * each later one 2 * RTprev + RAND * RTprev, and one above MRT becomes MRT + RAND * MRT, with
 * RAND uniform in [-0.1, +0.1] and drawn afresh for every RT. MRC and MRD are 0: no limit on
 * sends or time, only the caller's optional overall timeout. Without jitter the sends fall at
 * 0, 3, 9, 21, 45, 93, 189, 381, 765, 1533 s and then every 1024 s. Each RT counts from the
 * moment of the send (refresh() returning SEND), so a stall never gives a burst. */
#define PL_RETRANSMIT_PCP_IRT_MS    3000
#define PL_RETRANSMIT_PCP_MRT_MS    1024000

typedef enum
{
  PL_RETRANSMIT_WAIT,      /* nothing to do until pl_retransmit_get_next_time() */
  PL_RETRANSMIT_SEND,      /* send (or resend) the request now */
  PL_RETRANSMIT_TIMEOUT,   /* give up */
} PlRetransmitAction;

typedef enum
{
  PL_RETRANSMIT_KIND_NATPMP,   /* pl_retransmit_init() */
  PL_RETRANSMIT_KIND_PCP,      /* pl_retransmit_init_pcp() */
} PlRetransmitKind;

typedef struct
{
  gint64 start;         /* microseconds, the time of the first send */
  gint64 next;          /* microseconds, when the next action is due */
  gint64 deadline;      /* microseconds, absolute; G_MAXINT64 when none */
  guint  initial_ms;    /* first wait */
  guint  max_attempts;  /* sends in all (PCP: 0, no limit) */
  guint  attempts;      /* sends done so far */
  PlRetransmitKind kind;
  gint64  rt;           /* PCP: microseconds, the last RT (0 before the first send) */
  guint64 rand_state;   /* PCP: the jitter generator; a copy replays the same schedule */
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
/* Total time from the first send until the give-up, in milliseconds (127750 by default).
 * PCP: the timeout, or G_MAXUINT when there is none. */
guint              pl_retransmit_get_total_ms  (const PlRetransmit *self);

/* A PCP schedule starting at @now. @timeout_ms: overall bound from the first send, 0 for none
 * (it then never gives up). @seed seeds the jitter (RAND): pass g_random_int() in a client and
 * a constant in tests; the same seed always gives the same schedule. The other functions above
 * work on it unchanged. */
void               pl_retransmit_init_pcp      (PlRetransmit *self,
                                                gint64        now,
                                                guint         timeout_ms,
                                                guint32       seed);
/* One step of the PCP formula, pure: the RT after @prev_rt_us (0 for the first send) for a
 * given @rand in [-0.1, +0.1] (clamped), in microseconds. */
gint64             pl_retransmit_pcp_next_rt   (gint64        prev_rt_us,
                                                double        rand);

/* The sends @self makes in all before it gives up (it must have a bound: NAT-PMP's own, or a
 * timeout). */
guint              pl_retransmit_count_sends   (const PlRetransmit *self);

G_END_DECLS
