/* test-retransmit.c: the pure RFC 6886 and RFC 6887 retransmission schedules
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>

#include "pl-core.h"

#define MS(x) ((gint64) (x) * 1000)

/* Drives @timer the way a client does (wake at get_next_time(), refresh) and records the send
 * times and the give-up time, relative to @start, in microseconds. Just before each due time it
 * also checks that nothing is due yet. */
static void
run_schedule (PlRetransmit *timer,
              gint64        start,
              GArray       *sends,
              gint64       *timeout_at)
{
  gint64 now = start;

  for (guint steps = 0; steps < 1000; steps++)
    {
      PlRetransmitAction action;
      gint64 next;
      gint64 offset = now - start;

      action = pl_retransmit_refresh (timer, now);
      if (action == PL_RETRANSMIT_TIMEOUT)
        {
          *timeout_at = offset;
          return;
        }

      g_assert_cmpint (action, ==, PL_RETRANSMIT_SEND);
      g_array_append_val (sends, offset);

      /* Nothing more is due right now or just before the next time. */
      next = pl_retransmit_get_next_time (timer);
      g_assert_cmpint (next, >, now);
      g_assert_cmpint (pl_retransmit_refresh (timer, now), ==, PL_RETRANSMIT_WAIT);
      g_assert_cmpint (pl_retransmit_refresh (timer, next - 1), ==, PL_RETRANSMIT_WAIT);
      g_assert_cmpint (pl_retransmit_get_next_time (timer), ==, next);

      now = next;
    }

  g_assert_not_reached ();
}

static void
assert_schedule (PlRetransmit *timer,
                 gint64        start,
                 const gint64 *expected_ms,
                 gsize         n_expected,
                 gint64        expected_timeout_ms)
{
  g_autoptr(GArray) sends = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 timeout_at = -1;

  run_schedule (timer, start, sends, &timeout_at);

  g_assert_cmpuint (sends->len, ==, n_expected);
  for (guint i = 0; i < sends->len; i++)
    g_assert_cmpint (g_array_index (sends, gint64, i), ==, MS (expected_ms[i]));
  g_assert_cmpint (timeout_at, ==, MS (expected_timeout_ms));
  g_assert_cmpuint (pl_retransmit_get_attempts (timer), ==, n_expected);
}

/* F-03, PMP-06 */
static void
test_default_schedule (void)
{
  static const gint64 expected[] = { 0, 250, 750, 1750, 3750, 7750, 15750, 31750, 63750 };
  const gint64 starts[] = { 0, 1, G_GINT64_CONSTANT (123456789012), -MS (5000) };

  for (gsize s = 0; s < G_N_ELEMENTS (starts); s++)
    {
      PlRetransmit timer;

      pl_retransmit_init (&timer, starts[s], PL_RETRANSMIT_INITIAL_MS,
                          PL_RETRANSMIT_MAX_ATTEMPTS, 0);
      g_assert_cmpuint (pl_retransmit_get_attempts (&timer), ==, 0);
      g_assert_cmpint (pl_retransmit_get_next_time (&timer), ==, starts[s]);
      g_assert_cmpuint (pl_retransmit_get_total_ms (&timer), ==, 127750);

      assert_schedule (&timer, starts[s], expected, G_N_ELEMENTS (expected), 127750);
    }
}

static void
test_zero_means_default (void)
{
  static const gint64 expected[] = { 0, 250, 750, 1750, 3750, 7750, 15750, 31750, 63750 };
  PlRetransmit timer;

  pl_retransmit_init (&timer, MS (10), 0, 0, 0);
  g_assert_cmpuint (timer.initial_ms, ==, PL_RETRANSMIT_INITIAL_MS);
  g_assert_cmpuint (timer.max_attempts, ==, PL_RETRANSMIT_MAX_ATTEMPTS);
  g_assert_cmpint (timer.deadline, ==, G_MAXINT64);
  g_assert_cmpuint (pl_retransmit_get_total_ms (&timer), ==, 127750);
  assert_schedule (&timer, MS (10), expected, G_N_ELEMENTS (expected), 127750);
}

/* PMP-09: deletes stop after a few tries. */
static void
test_delete_schedule (void)
{
  static const gint64 expected[] = { 0, 250, 750 };
  PlRetransmit timer;

  pl_retransmit_init (&timer, 0, PL_RETRANSMIT_INITIAL_MS, 3, 0);
  g_assert_cmpuint (pl_retransmit_get_total_ms (&timer), ==, 1750);
  assert_schedule (&timer, 0, expected, G_N_ELEMENTS (expected), 1750);
}

static void
test_custom_schedule (void)
{
  static const gint64 ten[] = { 0, 10, 30, 70, 150 };
  static const gint64 one[] = { 0 };
  static const gint64 thousand[] = { 0, 1000, 3000, 7000 };
  PlRetransmit timer;

  /* Shrunk intervals, as tests use them. */
  pl_retransmit_init (&timer, MS (1), 10, 5, 0);
  g_assert_cmpuint (pl_retransmit_get_total_ms (&timer), ==, 310);
  assert_schedule (&timer, MS (1), ten, G_N_ELEMENTS (ten), 310);

  /* A single attempt waits one interval. */
  pl_retransmit_init (&timer, 0, 250, 1, 0);
  g_assert_cmpuint (pl_retransmit_get_total_ms (&timer), ==, 250);
  assert_schedule (&timer, 0, one, G_N_ELEMENTS (one), 250);

  pl_retransmit_init (&timer, 0, 1000, 4, 0);
  g_assert_cmpuint (pl_retransmit_get_total_ms (&timer), ==, 15000);
  assert_schedule (&timer, 0, thousand, G_N_ELEMENTS (thousand), 15000);
}

/* The deadline falls between two sends: TIMEOUT exactly there, and the timer wakes for it. */
static void
test_deadline_between_sends (void)
{
  static const gint64 expected[] = { 0, 250, 750 };
  PlRetransmit timer;

  pl_retransmit_init (&timer, 0, PL_RETRANSMIT_INITIAL_MS, PL_RETRANSMIT_MAX_ATTEMPTS, 1000);
  g_assert_cmpuint (pl_retransmit_get_total_ms (&timer), ==, 1000);
  assert_schedule (&timer, 0, expected, G_N_ELEMENTS (expected), 1000);

  /* Delete with a 3-attempt schedule cut by the mapping's expiry at 1 s. */
  pl_retransmit_init (&timer, MS (500), PL_RETRANSMIT_INITIAL_MS, 3, 1000);
  assert_schedule (&timer, MS (500), expected, G_N_ELEMENTS (expected), 1000);

  /* Overall bound of 5 s on the default schedule. */
  {
    static const gint64 five[] = { 0, 250, 750, 1750, 3750 };

    pl_retransmit_init (&timer, 0, 0, 0, 5000);
    g_assert_cmpuint (pl_retransmit_get_total_ms (&timer), ==, 5000);
    assert_schedule (&timer, 0, five, G_N_ELEMENTS (five), 5000);
  }
}

/* No SEND at or after the deadline, even when a send is due at that very time. */
static void
test_deadline_at_send (void)
{
  static const gint64 expected[] = { 0, 250 };
  PlRetransmit timer;

  pl_retransmit_init (&timer, 0, PL_RETRANSMIT_INITIAL_MS, PL_RETRANSMIT_MAX_ATTEMPTS, 750);
  assert_schedule (&timer, 0, expected, G_N_ELEMENTS (expected), 750);
  g_assert_cmpuint (pl_retransmit_get_attempts (&timer), ==, 2);

  /* A caller that wakes late, past the deadline, gets TIMEOUT, not the due send. */
  pl_retransmit_init (&timer, 0, PL_RETRANSMIT_INITIAL_MS, PL_RETRANSMIT_MAX_ATTEMPTS, 600);
  g_assert_cmpint (pl_retransmit_refresh (&timer, 0), ==, PL_RETRANSMIT_SEND);
  g_assert_cmpint (pl_retransmit_refresh (&timer, MS (700)), ==, PL_RETRANSMIT_TIMEOUT);
  g_assert_cmpuint (pl_retransmit_get_attempts (&timer), ==, 1);

  /* Even the first send is refused once the deadline has passed. */
  pl_retransmit_init (&timer, 0, PL_RETRANSMIT_INITIAL_MS, PL_RETRANSMIT_MAX_ATTEMPTS, 1);
  g_assert_cmpint (pl_retransmit_refresh (&timer, MS (1)), ==, PL_RETRANSMIT_TIMEOUT);
  g_assert_cmpuint (pl_retransmit_get_attempts (&timer), ==, 0);
}

/* A deadline beyond the schedule changes nothing. */
static void
test_deadline_after_schedule (void)
{
  static const gint64 expected[] = { 0, 250, 750, 1750, 3750, 7750, 15750, 31750, 63750 };
  PlRetransmit timer;

  pl_retransmit_init (&timer, 0, 0, 0, 200000);
  g_assert_cmpuint (pl_retransmit_get_total_ms (&timer), ==, 127750);
  assert_schedule (&timer, 0, expected, G_N_ELEMENTS (expected), 127750);

  pl_retransmit_init (&timer, 0, 0, 0, 127750);
  assert_schedule (&timer, 0, expected, G_N_ELEMENTS (expected), 127750);
}

static void
test_timeout_is_final (void)
{
  PlRetransmit timer;

  pl_retransmit_init (&timer, 0, 100, 2, 0);
  g_assert_cmpint (pl_retransmit_refresh (&timer, 0), ==, PL_RETRANSMIT_SEND);
  g_assert_cmpint (pl_retransmit_refresh (&timer, MS (100)), ==, PL_RETRANSMIT_SEND);
  g_assert_cmpint (pl_retransmit_refresh (&timer, MS (299)), ==, PL_RETRANSMIT_WAIT);
  g_assert_cmpint (pl_retransmit_refresh (&timer, MS (300)), ==, PL_RETRANSMIT_TIMEOUT);
  g_assert_cmpint (pl_retransmit_refresh (&timer, MS (300)), ==, PL_RETRANSMIT_TIMEOUT);
  g_assert_cmpint (pl_retransmit_refresh (&timer, MS (100000)), ==, PL_RETRANSMIT_TIMEOUT);
  g_assert_cmpuint (pl_retransmit_get_attempts (&timer), ==, 2);
}

static void
test_before_start (void)
{
  PlRetransmit timer;

  pl_retransmit_init (&timer, MS (1000), 0, 0, 0);
  g_assert_cmpint (pl_retransmit_refresh (&timer, MS (999)), ==, PL_RETRANSMIT_WAIT);
  g_assert_cmpuint (pl_retransmit_get_attempts (&timer), ==, 0);
  g_assert_cmpint (pl_retransmit_refresh (&timer, MS (1000)), ==, PL_RETRANSMIT_SEND);
  g_assert_cmpint (pl_retransmit_get_next_time (&timer), ==, MS (1250));
}

/* A slightly late wake-up keeps the schedule (times count from the first send); a long stall
 * does not give a burst of sends. */
static void
test_late_refresh (void)
{
  PlRetransmit timer;

  pl_retransmit_init (&timer, 0, 0, 0, 0);
  g_assert_cmpint (pl_retransmit_refresh (&timer, 0), ==, PL_RETRANSMIT_SEND);
  g_assert_cmpint (pl_retransmit_refresh (&timer, MS (300)), ==, PL_RETRANSMIT_SEND);
  g_assert_cmpint (pl_retransmit_get_next_time (&timer), ==, MS (750));
  g_assert_cmpint (pl_retransmit_refresh (&timer, MS (760)), ==, PL_RETRANSMIT_SEND);
  g_assert_cmpint (pl_retransmit_get_next_time (&timer), ==, MS (1750));

  /* Stalled for 100 s: one send now, the next one at least 250 ms later. */
  g_assert_cmpint (pl_retransmit_refresh (&timer, MS (100000)), ==, PL_RETRANSMIT_SEND);
  g_assert_cmpint (pl_retransmit_get_attempts (&timer), ==, 4);
  g_assert_cmpint (pl_retransmit_get_next_time (&timer), ==, MS (100250));
  g_assert_cmpint (pl_retransmit_refresh (&timer, MS (100000)), ==, PL_RETRANSMIT_WAIT);
  g_assert_cmpint (pl_retransmit_refresh (&timer, MS (100249)), ==, PL_RETRANSMIT_WAIT);
  g_assert_cmpint (pl_retransmit_refresh (&timer, MS (100250)), ==, PL_RETRANSMIT_SEND);
  g_assert_cmpint (pl_retransmit_get_attempts (&timer), ==, 5);

  /* A deadline still holds after a stall. */
  pl_retransmit_init (&timer, 0, 0, 0, 2000);
  g_assert_cmpint (pl_retransmit_refresh (&timer, 0), ==, PL_RETRANSMIT_SEND);
  g_assert_cmpint (pl_retransmit_refresh (&timer, MS (1900)), ==, PL_RETRANSMIT_SEND);
  g_assert_cmpint (pl_retransmit_get_next_time (&timer), ==, MS (2000));
  g_assert_cmpint (pl_retransmit_refresh (&timer, MS (2000)), ==, PL_RETRANSMIT_TIMEOUT);
}

/* Huge values saturate instead of wrapping. */
static void
test_overflow (void)
{
  PlRetransmit timer;
  gint64 near_end = G_MAXINT64 - MS (1000);
  gint64 previous;

  /* Every doubling of a huge interval over many attempts. */
  pl_retransmit_init (&timer, 0, G_MAXUINT, G_MAXUINT, 0);
  g_assert_cmpuint (pl_retransmit_get_total_ms (&timer), ==, G_MAXUINT);
  previous = 0;
  for (guint i = 0; i < 100; i++)
    {
      gint64 now = pl_retransmit_get_next_time (&timer);

      if (now == G_MAXINT64)
        break;
      g_assert_cmpint (now, >=, previous);
      g_assert_cmpint (pl_retransmit_refresh (&timer, now), ==, PL_RETRANSMIT_SEND);
      g_assert_cmpint (pl_retransmit_get_next_time (&timer), >, now);
      previous = now;
    }
  g_assert_cmpint (pl_retransmit_get_next_time (&timer), ==, G_MAXINT64);

  /* 64 and more doublings of the default interval. */
  pl_retransmit_init (&timer, 0, 250, 64, 0);
  g_assert_cmpuint (pl_retransmit_get_total_ms (&timer), ==, G_MAXUINT);
  pl_retransmit_init (&timer, 0, 250, 40, 0);
  g_assert_cmpuint (pl_retransmit_get_total_ms (&timer), ==, G_MAXUINT);
  pl_retransmit_init (&timer, 0, 250, 24, 0);
  g_assert_cmpuint (pl_retransmit_get_total_ms (&timer), ==, 250u * ((1u << 24) - 1));

  /* A start close to the end of time, with a long deadline. */
  pl_retransmit_init (&timer, near_end, 0, 0, G_MAXUINT);
  g_assert_cmpint (timer.deadline, ==, G_MAXINT64);
  g_assert_cmpint (pl_retransmit_refresh (&timer, near_end), ==, PL_RETRANSMIT_SEND);
  g_assert_cmpint (pl_retransmit_get_next_time (&timer), ==, near_end + MS (250));
  g_assert_cmpint (pl_retransmit_refresh (&timer, near_end + MS (250)), ==, PL_RETRANSMIT_SEND);
  g_assert_cmpint (pl_retransmit_refresh (&timer, near_end + MS (750)), ==, PL_RETRANSMIT_SEND);
  /* The next send would be past G_MAXINT64: it saturates, never wraps to the past. */
  g_assert_cmpint (pl_retransmit_get_next_time (&timer), ==, G_MAXINT64);
  g_assert_cmpint (pl_retransmit_refresh (&timer, near_end + MS (999)), ==, PL_RETRANSMIT_WAIT);

  /* A large timeout from an ordinary start. */
  pl_retransmit_init (&timer, 0, 0, 0, G_MAXUINT);
  g_assert_cmpint (timer.deadline, ==, (gint64) G_MAXUINT * 1000);
  g_assert_cmpuint (pl_retransmit_get_total_ms (&timer), ==, 127750);
}

/* ---- PCP (RFC 6887 section 8.1.1) ------------------------------------------------------- */

#define S(x) ((gint64) (x) * G_USEC_PER_SEC)

/* The RFC 3315 formula itself, without jitter: 3, 6, 12 ... 768, then 1024 s for ever. */
static void
test_pcp_formula (void)
{
  static const gint64 expected_s[] = { 3, 6, 12, 24, 48, 96, 192, 384, 768, 1024, 1024, 1024 };
  gint64 rt = 0;

  for (gsize i = 0; i < G_N_ELEMENTS (expected_s); i++)
    {
      rt = pl_retransmit_pcp_next_rt (rt, 0.0);
      g_assert_cmpint (rt, ==, S (expected_s[i]));
    }

  /* RAND at its ends, and clamped beyond them. */
  g_assert_cmpint (pl_retransmit_pcp_next_rt (0, -0.1), ==, MS (2700));
  g_assert_cmpint (pl_retransmit_pcp_next_rt (0, 0.1), ==, MS (3300));
  g_assert_cmpint (pl_retransmit_pcp_next_rt (0, -5.0), ==, MS (2700));
  g_assert_cmpint (pl_retransmit_pcp_next_rt (0, 5.0), ==, MS (3300));
  g_assert_cmpint (pl_retransmit_pcp_next_rt (0, NAN), ==, MS (3000));
  g_assert_cmpint (pl_retransmit_pcp_next_rt (-1, 0.0), ==, MS (3000));
  g_assert_cmpint (pl_retransmit_pcp_next_rt (S (3), 0.1), ==, MS (6300));
  g_assert_cmpint (pl_retransmit_pcp_next_rt (S (3), -0.1), ==, MS (5700));
  /* Above MRT: MRT + RAND * MRT, whatever the previous value. */
  g_assert_cmpint (pl_retransmit_pcp_next_rt (S (768), 0.1), ==, MS (1126400));
  g_assert_cmpint (pl_retransmit_pcp_next_rt (S (1024), -0.1), ==, MS (921600));
  g_assert_cmpint (pl_retransmit_pcp_next_rt (G_MAXINT64 / 4, 0.0), ==, S (1024));
  /* 2 * 400 s - 10 % stays below MRT: no cap. */
  g_assert_cmpint (pl_retransmit_pcp_next_rt (S (400), -0.1), ==, S (760));
}

/* Drives a PCP schedule for @n_sends sends (or until TIMEOUT) and checks each RT against the
 * formula's bounds for the previous one. */
static void
run_pcp_schedule (PlRetransmit *timer,
                  gint64        start,
                  guint         n_sends,
                  GArray       *sends,
                  gint64       *timeout_at)
{
  gint64 now = start;
  gint64 prev_rt = 0;

  *timeout_at = -1;

  while (sends->len < n_sends)
    {
      PlRetransmitAction action = pl_retransmit_refresh (timer, now);
      gint64 offset = now - start;
      gint64 next;
      gint64 rt;

      if (action == PL_RETRANSMIT_TIMEOUT)
        {
          *timeout_at = offset;
          return;
        }

      g_assert_cmpint (action, ==, PL_RETRANSMIT_SEND);
      g_array_append_val (sends, offset);
      g_assert_cmpuint (pl_retransmit_get_attempts (timer), ==, sends->len);

      next = pl_retransmit_get_next_time (timer);
      g_assert_cmpint (next, >, now);
      g_assert_cmpint (pl_retransmit_refresh (timer, now), ==, PL_RETRANSMIT_WAIT);
      g_assert_cmpint (pl_retransmit_refresh (timer, next - 1), ==, PL_RETRANSMIT_WAIT);

      /* The RT just drawn (unless the deadline cut it short). */
      rt = timer->rt;
      g_assert_cmpint (rt, ==, timer->next - now);
      g_assert_cmpint (rt, >=, pl_retransmit_pcp_next_rt (prev_rt, -0.1));
      g_assert_cmpint (rt, <=, pl_retransmit_pcp_next_rt (prev_rt, 0.1));
      prev_rt = rt;

      now = next;
    }
}

/* Nominal 0, 3, 9, 21, 45, 93 ... with every RT within RAND of 10 %: the first within
 * 2.7-3.3 s, each later one 1.9-2.1 times the previous, then 921.6-1126.4 s. */
static void
test_pcp_schedule (void)
{
  static const gint64 nominal_s[] = { 0, 3, 9, 21, 45, 93, 189, 381, 765, 1533 };
  const gint64 starts[] = { 0, G_GINT64_CONSTANT (123456789012), -S (5) };

  for (gsize s = 0; s < G_N_ELEMENTS (starts); s++)
    for (guint32 seed = 0; seed < 200; seed++)
      {
        g_autoptr(GArray) sends = g_array_new (FALSE, FALSE, sizeof (gint64));
        PlRetransmit timer;
        gint64 timeout_at;
        double low = 1.0;
        double high = 1.0;

        pl_retransmit_init_pcp (&timer, starts[s], 0, seed);
        g_assert_cmpint (timer.kind, ==, PL_RETRANSMIT_KIND_PCP);
        g_assert_cmpint (pl_retransmit_get_next_time (&timer), ==, starts[s]);
        g_assert_cmpuint (pl_retransmit_get_attempts (&timer), ==, 0);
        g_assert_cmpuint (pl_retransmit_get_total_ms (&timer), ==, G_MAXUINT);

        run_pcp_schedule (&timer, starts[s], 20, sends, &timeout_at);
        g_assert_cmpint (timeout_at, ==, -1);
        g_assert_cmpuint (sends->len, ==, 20);

        /* Cumulative bounds around the nominal times: 10 % on the first RT, 5 % on each
         * doubling after it. */
        for (guint i = 0; i < G_N_ELEMENTS (nominal_s); i++)
          {
            gint64 at = g_array_index (sends, gint64, i);

            g_assert_cmpfloat ((double) at, >=, (double) S (nominal_s[i]) * low - 100);
            g_assert_cmpfloat ((double) at, <=, (double) S (nominal_s[i]) * high + 100);
            low = i == 0 ? 0.9 : low * 0.95;
            high = i == 0 ? 1.1 : high * 1.05;
          }

        /* Never more than MRT + 10 % between sends; capped from the 11th RT on at the
         * latest (the 10th may still be below MRT after nine low draws). */
        for (guint i = 1; i < sends->len; i++)
          {
            gint64 gap = g_array_index (sends, gint64, i) - g_array_index (sends, gint64, i - 1);

            g_assert_cmpint (gap, <=, MS (1126400));
            if (i >= 11)
              g_assert_cmpint (gap, >=, MS (921600));
          }
      }
}

/* The jitter is really there, spread over the whole of [-10 %, +10 %], and depends on the
 * seed only. */
static void
test_pcp_jitter (void)
{
  gint64 min_rt = G_MAXINT64;
  gint64 max_rt = 0;
  double sum = 0;
  const guint n = 2000;

  for (guint32 seed = 0; seed < n; seed++)
    {
      PlRetransmit timer;
      PlRetransmit again;
      PlRetransmit copy;

      pl_retransmit_init_pcp (&timer, 0, 0, seed);
      pl_retransmit_init_pcp (&again, 0, 0, seed);
      g_assert_cmpint (pl_retransmit_refresh (&timer, 0), ==, PL_RETRANSMIT_SEND);
      g_assert_cmpint (pl_retransmit_refresh (&again, 0), ==, PL_RETRANSMIT_SEND);
      g_assert_cmpint (timer.next, ==, again.next);

      min_rt = MIN (min_rt, timer.next);
      max_rt = MAX (max_rt, timer.next);
      sum += (double) timer.next;

      /* A copy replays the same schedule (the client counts planned sends that way). */
      copy = timer;
      for (guint i = 0; i < 12; i++)
        {
          gint64 when = pl_retransmit_get_next_time (&timer);

          g_assert_cmpint (pl_retransmit_get_next_time (&copy), ==, when);
          g_assert_cmpint (pl_retransmit_refresh (&timer, when), ==, PL_RETRANSMIT_SEND);
          g_assert_cmpint (pl_retransmit_refresh (&copy, when), ==, PL_RETRANSMIT_SEND);
        }
      g_assert_cmpint (pl_retransmit_get_next_time (&copy), ==,
                       pl_retransmit_get_next_time (&timer));
    }

  g_assert_cmpint (min_rt, >=, MS (2700));
  g_assert_cmpint (min_rt, <, MS (2720));
  g_assert_cmpint (max_rt, <=, MS (3300));
  g_assert_cmpint (max_rt, >, MS (3280));
  g_assert_cmpfloat (sum / n, >, (double) MS (2980));
  g_assert_cmpfloat (sum / n, <, (double) MS (3020));

  /* Different seeds, different schedules. */
  {
    PlRetransmit a;
    PlRetransmit b;

    pl_retransmit_init_pcp (&a, 0, 0, 1);
    pl_retransmit_init_pcp (&b, 0, 0, 2);
    pl_retransmit_refresh (&a, 0);
    pl_retransmit_refresh (&b, 0);
    g_assert_cmpint (a.next, !=, b.next);
  }
}

/* MRC 0, MRD 0: without a timeout it never gives up, however long it runs, even after a
 * stall. */
static void
test_pcp_never_gives_up (void)
{
  PlRetransmit timer;
  gint64 now = 0;

  pl_retransmit_init_pcp (&timer, 0, 0, 42);
  for (guint i = 0; i < 5000; i++)
    {
      g_assert_cmpint (pl_retransmit_refresh (&timer, now), ==, PL_RETRANSMIT_SEND);
      now = pl_retransmit_get_next_time (&timer);
      g_assert_cmpint (now, <, G_MAXINT64);
    }
  g_assert_cmpuint (pl_retransmit_get_attempts (&timer), ==, 5000);
  g_assert_cmpuint (pl_retransmit_get_total_ms (&timer), ==, G_MAXUINT);
  /* More than 50 days in, still sending about every 1024 s. */
  g_assert_cmpint (now, >, S (4000000));

  /* A stall of a day: one send, the next a full RT later, no burst. */
  now += S (86400);
  g_assert_cmpint (pl_retransmit_refresh (&timer, now), ==, PL_RETRANSMIT_SEND);
  g_assert_cmpint (pl_retransmit_refresh (&timer, now), ==, PL_RETRANSMIT_WAIT);
  g_assert_cmpint (pl_retransmit_get_next_time (&timer) - now, >=, MS (921600));
}

/* With a timeout: TIMEOUT exactly there, never a send at or after it. */
static void
test_pcp_timeout (void)
{
  for (guint32 seed = 0; seed < 100; seed++)
    {
      g_autoptr(GArray) sends = g_array_new (FALSE, FALSE, sizeof (gint64));
      PlRetransmit timer;
      gint64 timeout_at;

      /* 15 s: sends near 0, 3 and 9 s; the 4th (>= 17.6 s) never comes. */
      pl_retransmit_init_pcp (&timer, S (100), 15000, seed);
      g_assert_cmpuint (pl_retransmit_get_total_ms (&timer), ==, 15000);
      run_pcp_schedule (&timer, S (100), 100, sends, &timeout_at);
      g_assert_cmpuint (sends->len, ==, 3);
      g_assert_cmpint (timeout_at, ==, S (15));
      g_assert_cmpint (pl_retransmit_refresh (&timer, S (1000)), ==, PL_RETRANSMIT_TIMEOUT);
      g_assert_cmpuint (pl_retransmit_get_attempts (&timer), ==, 3);
    }

  /* A late caller gets TIMEOUT, not the due send; even the first send is refused. */
  {
    PlRetransmit timer;

    pl_retransmit_init_pcp (&timer, 0, 1000, 7);
    g_assert_cmpint (pl_retransmit_refresh (&timer, MS (1000)), ==, PL_RETRANSMIT_TIMEOUT);
    g_assert_cmpuint (pl_retransmit_get_attempts (&timer), ==, 0);

    pl_retransmit_init_pcp (&timer, 0, 60000, 7);
    g_assert_cmpint (pl_retransmit_refresh (&timer, 0), ==, PL_RETRANSMIT_SEND);
    g_assert_cmpint (pl_retransmit_refresh (&timer, MS (60000)), ==, PL_RETRANSMIT_TIMEOUT);
    g_assert_cmpint (pl_retransmit_get_next_time (&timer), <=, MS (60000));
  }
}

/* The NAT-PMP init after a PCP one gives the NAT-PMP schedule back. */
static void
test_pcp_then_natpmp (void)
{
  static const gint64 expected[] = { 0, 250, 750, 1750, 3750, 7750, 15750, 31750, 63750 };
  PlRetransmit timer;

  pl_retransmit_init_pcp (&timer, 0, 0, 1);
  pl_retransmit_refresh (&timer, 0);
  pl_retransmit_init (&timer, 0, 0, 0, 0);
  g_assert_cmpint (timer.kind, ==, PL_RETRANSMIT_KIND_NATPMP);
  assert_schedule (&timer, 0, expected, G_N_ELEMENTS (expected), 127750);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/pl/retransmit/default-schedule", test_default_schedule);
  g_test_add_func ("/pl/retransmit/zero-means-default", test_zero_means_default);
  g_test_add_func ("/pl/retransmit/delete-schedule", test_delete_schedule);
  g_test_add_func ("/pl/retransmit/custom-schedule", test_custom_schedule);
  g_test_add_func ("/pl/retransmit/deadline/between-sends", test_deadline_between_sends);
  g_test_add_func ("/pl/retransmit/deadline/at-send", test_deadline_at_send);
  g_test_add_func ("/pl/retransmit/deadline/after-schedule", test_deadline_after_schedule);
  g_test_add_func ("/pl/retransmit/timeout-is-final", test_timeout_is_final);
  g_test_add_func ("/pl/retransmit/before-start", test_before_start);
  g_test_add_func ("/pl/retransmit/late-refresh", test_late_refresh);
  g_test_add_func ("/pl/retransmit/overflow", test_overflow);

  g_test_add_func ("/pl/retransmit/pcp/formula", test_pcp_formula);
  g_test_add_func ("/pl/retransmit/pcp/schedule", test_pcp_schedule);
  g_test_add_func ("/pl/retransmit/pcp/jitter", test_pcp_jitter);
  g_test_add_func ("/pl/retransmit/pcp/never-gives-up", test_pcp_never_gives_up);
  g_test_add_func ("/pl/retransmit/pcp/timeout", test_pcp_timeout);
  g_test_add_func ("/pl/retransmit/pcp/then-natpmp", test_pcp_then_natpmp);

  return g_test_run ();
}
