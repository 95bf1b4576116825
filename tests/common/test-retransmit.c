/* test-retransmit.c: the pure RFC 6886 retransmission schedule
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

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

  return g_test_run ();
}
