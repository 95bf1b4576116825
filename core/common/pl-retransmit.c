/* pl-retransmit.c: pure RFC 6886 and RFC 6887 retransmission schedules
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
 * counts never wrap.
 *
 * PCP (pl_retransmit_init_pcp()) follows RFC 3315 section 14 instead: each RT depends on the
 * previous, randomised one, so the times cannot be computed from @start; the next send is due
 * RT after the send just made. The jitter comes from a small generator (splitmix64) whose
 * state lives in the struct, seeded by the caller: no global random state, and a copy of a
 * schedule (as the client makes to count planned sends) replays exactly the same times. */

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

/* splitmix64: a uniform RAND in [-0.1, +0.1) from the top 53 bits of the next output. */
static double
next_rand (guint64 *state)
{
  guint64 z;

  *state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  z = *state;
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  z ^= z >> 31;

  return -0.1 + 0.2 * ((double) (z >> 11) / (double) (G_GUINT64_CONSTANT (1) << 53));
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
  self->kind = PL_RETRANSMIT_KIND_NATPMP;
  self->rt = 0;
  self->rand_state = 0;

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

  if (self->kind == PL_RETRANSMIT_KIND_PCP)
    {
      if (self->attempts < G_MAXUINT)
        self->attempts++;
      self->rt = pl_retransmit_pcp_next_rt (self->rt, next_rand (&self->rand_state));
      self->next = add_saturating (now, self->rt);
      return PL_RETRANSMIT_SEND;
    }

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

  if (self->kind == PL_RETRANSMIT_KIND_PCP)
    {
      if (self->deadline == G_MAXINT64)
        return G_MAXUINT;
      return (guint) MIN ((self->deadline - self->start) / US_PER_MS, (gint64) G_MAXUINT);
    }

  total_ms = offset_us (self->initial_ms, self->max_attempts) / US_PER_MS;

  if (self->deadline != G_MAXINT64)
    total_ms = MIN (total_ms, (self->deadline - self->start) / US_PER_MS);

  return (guint) MIN (total_ms, (gint64) G_MAXUINT);
}

/**
 * pl_retransmit_init_pcp:
 * @self: a #PlRetransmit
 * @now: the time of the first send, in microseconds
 * @timeout_ms: an overall bound from @now in milliseconds, 0 for none (never give up)
 * @seed: seeds the jitter; the same seed gives the same schedule
 *
 * Starts a PCP schedule (RFC 6887 section 8.1.1): IRT 3 s, doubling with RAND in
 * [-0.1, +0.1], capped at MRT 1024 s (+RAND), MRC 0 and MRD 0. The first
 * pl_retransmit_refresh() at or after @now returns %PL_RETRANSMIT_SEND.
 */
void
pl_retransmit_init_pcp (PlRetransmit *self,
                        gint64        now,
                        guint         timeout_ms,
                        guint32       seed)
{
  g_return_if_fail (self != NULL);

  pl_retransmit_init (self, now, PL_RETRANSMIT_PCP_IRT_MS, 1, timeout_ms);
  self->kind = PL_RETRANSMIT_KIND_PCP;
  self->max_attempts = 0;
  self->rt = 0;
  self->rand_state = seed;
}

/**
 * pl_retransmit_pcp_next_rt:
 * @prev_rt_us: the previous RT in microseconds, 0 (or less) before the first send
 * @rand: RAND, in [-0.1, +0.1] (clamped; NaN counts as 0)
 *
 * One step of RFC 3315 section 14 with PCP's values: IRT + RAND * IRT for the first RT,
 * 2 * RTprev + RAND * RTprev after it, and MRT + RAND * MRT when that exceeds MRT.
 *
 * Returns: the next RT in microseconds, rounded down
 */
gint64
pl_retransmit_pcp_next_rt (gint64 prev_rt_us,
                           double rand)
{
  const double irt = (double) PL_RETRANSMIT_PCP_IRT_MS * US_PER_MS;
  const double mrt = (double) PL_RETRANSMIT_PCP_MRT_MS * US_PER_MS;
  double rt;

  if (!(rand >= -0.1))       /* also NaN */
    rand = rand < 0.0 ? -0.1 : 0.0;
  else if (rand > 0.1)
    rand = 0.1;

  if (prev_rt_us <= 0)
    rt = irt + rand * irt;
  else
    rt = 2.0 * (double) prev_rt_us + rand * (double) prev_rt_us;

  if (rt > mrt)
    rt = mrt + rand * mrt;

  return (gint64) rt;
}

/**
 * pl_retransmit_count_sends:
 * @self: a schedule
 *
 * How many sends @self makes in all before it gives up, found by running a copy of it (a copy
 * replays the same jitter). A schedule without a bound never gives up: do not ask then.
 *
 * Returns: the number of sends, those already made included
 */
guint
pl_retransmit_count_sends (const PlRetransmit *self)
{
  PlRetransmit copy = *self;
  guint sends = 0;

  g_return_val_if_fail (self != NULL, 0);

  for (;;)
    {
      gint64 when = pl_retransmit_get_next_time (&copy);
      PlRetransmitAction action = pl_retransmit_refresh (&copy, when);

      if (action == PL_RETRANSMIT_TIMEOUT)
        break;
      if (action == PL_RETRANSMIT_SEND)
        sends++;
    }

  return sends + self->attempts;
}
