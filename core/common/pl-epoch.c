/* pl-epoch.c: pure tracker of a gateway's epoch
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-epoch.h"

/* Time that passed here is never negative: a clock that went backwards (it should not, but a
 * caller may mix clocks) counts as no time at all, as in both rules the safe reading. */

/**
 * pl_epoch_tracker_init:
 * @tracker: a #PlEpochTracker
 * @rule: which RFC's check to apply
 *
 * Starts a tracker with no sample: the next pl_epoch_tracker_update() is always valid.
 */
void
pl_epoch_tracker_init (PlEpochTracker *tracker,
                       PlEpochRule     rule)
{
  g_return_if_fail (tracker != NULL);
  g_return_if_fail (rule == PL_EPOCH_RULE_NATPMP || rule == PL_EPOCH_RULE_PCP);

  tracker->rule = rule;
  tracker->have_sample = FALSE;
  tracker->prev_epoch = 0;
  tracker->prev_time = 0;
}

/* RFC 6886 section 3.6, in milliseconds. */
static gboolean
natpmp_lost_state (guint32 prev_epoch,
                   guint32 epoch,
                   guint64 elapsed_us)
{
  guint64 elapsed_ms = elapsed_us / 1000;
  guint64 expected_ms = (guint64) prev_epoch * 1000 + elapsed_ms * 7 / 8;

  return epoch < prev_epoch || ((guint64) epoch + 2) * 1000 < expected_ms;
}

/* RFC 6887 section 8.5, in whole seconds (the client's elapsed time rounded down). */
static gboolean
pcp_lost_state (guint32 prev_epoch,
                guint32 epoch,
                guint64 elapsed_us)
{
  gint64 client_delta = (gint64) (elapsed_us / G_USEC_PER_SEC);   /* < 2^45 */
  gint64 server_delta = (gint64) epoch - (gint64) prev_epoch;

  if ((guint64) epoch + 1 < (guint64) prev_epoch)
    return TRUE;

  return client_delta + 2 < server_delta - server_delta / 16 ||
         server_delta + 2 < client_delta - client_delta / 16;
}

/**
 * pl_epoch_tracker_update:
 * @tracker: a #PlEpochTracker
 * @server_epoch: the epoch in the server's message
 * @client_now_us: this computer's time on receipt, in microseconds
 *
 * Checks one epoch sample against the previous one and keeps it as the new reference.
 *
 * Returns: %TRUE when the server lost its state (re-create every mapping); never for the
 *   first sample
 */
gboolean
pl_epoch_tracker_update (PlEpochTracker *tracker,
                         guint32         server_epoch,
                         gint64          client_now_us)
{
  gboolean lost = FALSE;

  g_return_val_if_fail (tracker != NULL, FALSE);

  if (tracker->have_sample)
    {
      guint64 elapsed_us = client_now_us > tracker->prev_time
                           ? (guint64) client_now_us - (guint64) tracker->prev_time : 0;

      if (tracker->rule == PL_EPOCH_RULE_PCP)
        lost = pcp_lost_state (tracker->prev_epoch, server_epoch, elapsed_us);
      else
        lost = natpmp_lost_state (tracker->prev_epoch, server_epoch, elapsed_us);
    }

  tracker->have_sample = TRUE;
  tracker->prev_epoch = server_epoch;
  tracker->prev_time = client_now_us;

  return lost;
}
