/* pl-retransmit.c: pure RFC 6886 retransmission schedule
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-retransmit.h"

/* Send number k (k = 1, 2, ...) is due at start + initial * (2^(k-1) - 1), and the give-up
 * comes at start + initial * (2^max_attempts - 1): with the defaults, sends at 0, 0.25, 0.75,
 * ..., 63.75 s and TIMEOUT at 127.75 s. Times are computed from @start, not from the moment
 * refresh() ran, so a slightly late wake-up does not stretch the schedule. After a long stall
 * (a suspend), sends are still spaced at least one initial interval apart rather than fired in
 * a burst. All arithmetic saturates at G_MAXINT64 microseconds, so huge intervals or attempt
 * counts never wrap. */

#define US_PER_MS G_GINT64_CONSTANT (1000)

/* a + b for b >= 0, saturating at G_MAXINT64. */
static gint64
add_saturating (gint64 a,
                gint64 b)
{
  g_assert (b >= 0);

  if (a > G_MAXINT64 - b)
    return G_MAXINT64;
  return a + b;
}

/* initial_ms * (2^n - 1) in microseconds, saturating at G_MAXINT64. */
static gint64
offset_us (guint initial_ms,
           guint n)
{
  guint64 factor;
  guint64 initial_us = (guint64) initial_ms * US_PER_MS;   /* < 2^42, no overflow */

  if (n == 0 || initial_us == 0)
    return 0;
  if (n >= 63)
    return G_MAXINT64;

  factor = (G_GUINT64_CONSTANT (1) << n) - 1;
  if (initial_us > (guint64) G_MAXINT64 / factor)
    return G_MAXINT64;

  return (gint64) (initial_us * factor);
}

/**
 * pl_retransmit_init:
 * @self: a #PlRetransmit
 * @now: the time of the first send, in microseconds
 * @initial_ms: the first wait in milliseconds (0 means %PL_RETRANSMIT_INITIAL_MS)
 * @max_attempts: sends in all (0 means %PL_RETRANSMIT_MAX_ATTEMPTS)
 * @timeout_ms: an overall bound from @now in milliseconds, 0 for none beyond the schedule
 *
 * Starts a schedule. The first pl_retransmit_refresh() at or after @now returns
 * %PL_RETRANSMIT_SEND.
 */
void
pl_retransmit_init (PlRetransmit *self,
                    gint64        now,
                    guint         initial_ms,
                    guint         max_attempts,
                    guint         timeout_ms)
{
  g_return_if_fail (self != NULL);

  self->start = now;
  self->next = now;
  self->initial_ms = initial_ms != 0 ? initial_ms : PL_RETRANSMIT_INITIAL_MS;
  self->max_attempts = max_attempts != 0 ? max_attempts : PL_RETRANSMIT_MAX_ATTEMPTS;
  self->attempts = 0;

  if (timeout_ms != 0)
    self->deadline = add_saturating (now, (gint64) timeout_ms * US_PER_MS);
  else
    self->deadline = G_MAXINT64;
}

/**
 * pl_retransmit_refresh:
 * @self: a #PlRetransmit
 * @now: the current time in microseconds
 *
 * Says what to do at @now. %PL_RETRANSMIT_SEND counts the attempt and moves the next time on;
 * the caller must then send. At or after the deadline, or once the wait after the last send is
 * over, the answer is %PL_RETRANSMIT_TIMEOUT (and stays so); never a send.
 *
 * Returns: the action due at @now
 */
PlRetransmitAction
pl_retransmit_refresh (PlRetransmit *self,
                       gint64        now)
{
  gint64 scheduled;
  gint64 earliest;

  g_return_val_if_fail (self != NULL, PL_RETRANSMIT_TIMEOUT);

  if (now >= self->deadline)
    return PL_RETRANSMIT_TIMEOUT;

  if (now < self->next)
    return PL_RETRANSMIT_WAIT;

  if (self->attempts >= self->max_attempts)
    return PL_RETRANSMIT_TIMEOUT;

  self->attempts++;

  /* The next send (or, after the last one, the give-up) from the schedule, but never sooner
   * than one initial interval from now. */
  scheduled = add_saturating (self->start, offset_us (self->initial_ms, self->attempts));
  earliest = add_saturating (now, (gint64) self->initial_ms * US_PER_MS);
  self->next = MAX (scheduled, earliest);

  return PL_RETRANSMIT_SEND;
}

/**
 * pl_retransmit_get_next_time:
 * @self: a #PlRetransmit
 *
 * Returns: when pl_retransmit_refresh() next has something to do, in microseconds: the next
 *   send, the give-up, or the deadline, whichever comes first
 */
gint64
pl_retransmit_get_next_time (const PlRetransmit *self)
{
  g_return_val_if_fail (self != NULL, G_MAXINT64);

  return MIN (self->next, self->deadline);
}

/**
 * pl_retransmit_get_attempts:
 * @self: a #PlRetransmit
 *
 * Returns: the number of sends so far
 */
guint
pl_retransmit_get_attempts (const PlRetransmit *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->attempts;
}

/**
 * pl_retransmit_get_total_ms:
 * @self: a #PlRetransmit
 *
 * The planned time from the first send until the give-up: the full schedule (127750 ms with
 * the defaults), or the overall timeout when that is shorter. Saturates at %G_MAXUINT.
 *
 * Returns: milliseconds
 */
guint
pl_retransmit_get_total_ms (const PlRetransmit *self)
{
  gint64 total_ms;

  g_return_val_if_fail (self != NULL, 0);

  total_ms = offset_us (self->initial_ms, self->max_attempts) / US_PER_MS;

  if (self->deadline != G_MAXINT64)
    total_ms = MIN (total_ms, (self->deadline - self->start) / US_PER_MS);

  return (guint) MIN (total_ms, (gint64) G_MAXUINT);
}
