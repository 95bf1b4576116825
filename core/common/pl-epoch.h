/* pl-epoch.h: pure tracker of a gateway's epoch
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Whether a gateway lost its state, judged from the epoch (seconds since its start) in its
 * replies and announcements against this computer's clock. Plain struct, no I/O: the caller
 * passes the time, on a clock that keeps counting through suspend (CLOCK_BOOTTIME, PlClock).
 *
 * PL_EPOCH_RULE_NATPMP (RFC 6886 section 3.6): lost state when the epoch went backwards, or
 * when it moved on more than 2 s less than 7/8 of the time that passed here (milliseconds,
 * unsigned 64-bit, so that epochs near 2^32 work).
 *
 * PL_EPOCH_RULE_PCP (RFC 6887 section 8.5, integer seconds): lost state when
 * curr + 1 < prev (written so that prev = 0 cannot wrap), or when client and server deltas
 * disagree: client_delta + 2 < server_delta - server_delta / 16 or
 * server_delta + 2 < client_delta - client_delta / 16.
 *
 * The first sample is always valid. Every sample, valid or not, becomes the new reference. */

typedef enum
{
  PL_EPOCH_RULE_NATPMP,
  PL_EPOCH_RULE_PCP,
} PlEpochRule;

typedef struct
{
  PlEpochRule rule;
  gboolean    have_sample;
  guint32     prev_epoch;    /* the server's epoch at the last sample */
  gint64      prev_time;     /* microseconds, this computer's time at the last sample */
} PlEpochTracker;

void      pl_epoch_tracker_init    (PlEpochTracker *tracker,
                                    PlEpochRule     rule);
/* TRUE when the server lost its state since the previous sample. */
gboolean  pl_epoch_tracker_update  (PlEpochTracker *tracker,
                                    guint32         server_epoch,
                                    gint64          client_now_us);

G_END_DECLS
