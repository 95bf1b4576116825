/* test-epoch.c: the pure epoch tracker (RFC 6886 section 3.6, RFC 6887 section 8.5)
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-epoch.h"

#define MS(x) ((gint64) (x) * 1000)
#define S(x) ((gint64) (x) * G_USEC_PER_SEC)

typedef struct
{
  guint32  epoch;
  gint64   at_us;
  gboolean lost;
} Sample;

static void
assert_samples (PlEpochRule   rule,
                const Sample *samples,
                gsize         n_samples)
{
  PlEpochTracker tracker;

  pl_epoch_tracker_init (&tracker, rule);
  g_assert_false (tracker.have_sample);

  for (gsize i = 0; i < n_samples; i++)
    {
      if (g_test_verbose ())
        g_test_message ("sample %" G_GSIZE_FORMAT ": epoch %u at %" G_GINT64_FORMAT " us",
                        i, samples[i].epoch, samples[i].at_us);
      g_assert_cmpint (pl_epoch_tracker_update (&tracker, samples[i].epoch, samples[i].at_us),
                       ==, samples[i].lost);
      /* Every sample is the new reference. */
      g_assert_true (tracker.have_sample);
      g_assert_cmpuint (tracker.prev_epoch, ==, samples[i].epoch);
      g_assert_cmpint (tracker.prev_time, ==, samples[i].at_us);
    }
}

/* The first sample is valid whatever it holds, under both rules. */
static void
test_first_sample (void)
{
  const guint32 epochs[] = { 0, 1, 41, G_MAXUINT32 - 1, G_MAXUINT32 };
  const gint64 times[] = { 0, S (1), -S (1000), G_MAXINT64 };

  for (gsize e = 0; e < G_N_ELEMENTS (epochs); e++)
    for (gsize t = 0; t < G_N_ELEMENTS (times); t++)
      for (PlEpochRule rule = PL_EPOCH_RULE_NATPMP; rule <= PL_EPOCH_RULE_PCP; rule++)
        {
          PlEpochTracker tracker;

          pl_epoch_tracker_init (&tracker, rule);
          g_assert_cmpint (tracker.rule, ==, rule);
          g_assert_false (pl_epoch_tracker_update (&tracker, epochs[e], times[t]));
        }
}

/* Today's NAT-PMP semantics (formerly in PlSession): backwards, or
 * (epoch + 2) * 1000 < prev * 1000 + elapsed_ms * 7 / 8. */
static void
test_natpmp (void)
{
  static const Sample steady[] = {
    { 100, 0, FALSE },
    { 101, S (1), FALSE },
    { 111, S (11), FALSE },
    { 111, S (11), FALSE },          /* the same second twice */
    { 5000, S (20), FALSE },         /* a jump forward is fine for NAT-PMP */
  };
  static const Sample backwards[] = {
    { 100, 0, FALSE },
    { 99, S (1), TRUE },
    { 100, S (2), FALSE },
    { 0, S (3), TRUE },
  };
  /* 8 s elapsed: expected 100 000 + 7 000 ms; 105 is exactly on the edge. */
  static const Sample edge_ok[] = {
    { 100, 0, FALSE },
    { 105, S (8), FALSE },
  };
  static const Sample edge_lost[] = {
    { 100, 0, FALSE },
    { 104, S (8), TRUE },
  };
  /* Epochs near 2^32 do not wrap (F-26). */
  static const Sample high[] = {
    { G_MAXUINT32 - 10, 0, FALSE },
    { G_MAXUINT32 - 9, S (1), FALSE },
    { G_MAXUINT32, S (10), FALSE },
    { 0, S (11), TRUE },
  };
  /* The client clock going backwards counts as no time. */
  static const Sample clock_back[] = {
    { 500, S (100), FALSE },
    { 500, S (50), FALSE },
    { 499, S (40), TRUE },
  };

  assert_samples (PL_EPOCH_RULE_NATPMP, steady, G_N_ELEMENTS (steady));
  assert_samples (PL_EPOCH_RULE_NATPMP, backwards, G_N_ELEMENTS (backwards));
  assert_samples (PL_EPOCH_RULE_NATPMP, edge_ok, G_N_ELEMENTS (edge_ok));
  assert_samples (PL_EPOCH_RULE_NATPMP, edge_lost, G_N_ELEMENTS (edge_lost));
  assert_samples (PL_EPOCH_RULE_NATPMP, high, G_N_ELEMENTS (high));
  assert_samples (PL_EPOCH_RULE_NATPMP, clock_back, G_N_ELEMENTS (clock_back));

  /* The slow server, worked out: 100 s elapsed, expected 87 500 ms. */
  {
    static const Sample slow_ok[] = { { 0, 0, FALSE }, { 86, S (100), FALSE } };
    static const Sample slow_lost[] = { { 0, 0, FALSE }, { 85, S (100), TRUE } };

    assert_samples (PL_EPOCH_RULE_NATPMP, slow_ok, G_N_ELEMENTS (slow_ok));
    assert_samples (PL_EPOCH_RULE_NATPMP, slow_lost, G_N_ELEMENTS (slow_lost));
  }

  /* Millisecond truncation: 2285 ms * 7 / 8 = 1999 (integer), 2286 ms gives 2000, and an
   * epoch 0 against an expectation of exactly 2000 ms is still fine ((0 + 2) * 1000 = 2000). */
  {
    static const Sample trunc_ok[] = { { 0, 0, FALSE }, { 0, MS (2286) + 999, FALSE } };
    static const Sample trunc_lost[] = { { 0, 0, FALSE }, { 0, MS (2287), TRUE } };

    assert_samples (PL_EPOCH_RULE_NATPMP, trunc_ok, G_N_ELEMENTS (trunc_ok));
    assert_samples (PL_EPOCH_RULE_NATPMP, trunc_lost, G_N_ELEMENTS (trunc_lost));
  }
}

/* RFC 6887 section 8.5 with the sequences seen on miniupnpd (tests/lab/MINIUPNPD.md, item 9). */
static void
test_pcp_observed (void)
{
  /* Daemon restart with system_uptime=no: 292 -> 3. */
  static const Sample restart[] = {
    { 290, 0, FALSE },
    { 292, S (2), FALSE },
    { 3, S (6), TRUE },
    { 5, S (8), FALSE },
  };
  /* SIGUSR1: 229 -> 2. */
  static const Sample sigusr1[] = {
    { 229, S (1000), FALSE },
    { 2, S (1003), TRUE },
  };
  /* Restart with system_uptime=yes: 1515 -> 1520 over 5.3 s, valid. */
  static const Sample uptime[] = {
    { 1515, S (50), FALSE },
    { 1520, S (50) + MS (5300), FALSE },
  };
  /* The startup ANNOUNCE carries epoch 0: prev = 0 must not wrap into "everything is
   * backwards" (the `curr < prev - 1` pitfall). */
  static const Sample from_zero[] = {
    { 0, 0, FALSE },
    { 0, MS (500), FALSE },
    { 1, S (1), FALSE },
    { 3, S (3), FALSE },
  };

  assert_samples (PL_EPOCH_RULE_PCP, restart, G_N_ELEMENTS (restart));
  assert_samples (PL_EPOCH_RULE_PCP, sigusr1, G_N_ELEMENTS (sigusr1));
  assert_samples (PL_EPOCH_RULE_PCP, uptime, G_N_ELEMENTS (uptime));
  assert_samples (PL_EPOCH_RULE_PCP, from_zero, G_N_ELEMENTS (from_zero));
}

static void
test_pcp_backwards (void)
{
  /* One second back is tolerated (curr + 1 == prev), two are not. */
  static const Sample one_back[] = {
    { 100, 0, FALSE },
    { 99, 0, FALSE },
  };
  static const Sample two_back[] = {
    { 100, 0, FALSE },
    { 98, 0, TRUE },
  };
  static const Sample one_back_at_one[] = {
    { 1, 0, FALSE },
    { 0, 0, FALSE },
  };
  /* Near 2^32: curr + 1 is computed without wrapping. */
  static const Sample top[] = {
    { G_MAXUINT32, 0, FALSE },
    { G_MAXUINT32 - 1, 0, FALSE },
    { G_MAXUINT32, S (1), FALSE },
    { 0, S (2), TRUE },
  };

  assert_samples (PL_EPOCH_RULE_PCP, one_back, G_N_ELEMENTS (one_back));
  assert_samples (PL_EPOCH_RULE_PCP, two_back, G_N_ELEMENTS (two_back));
  assert_samples (PL_EPOCH_RULE_PCP, one_back_at_one, G_N_ELEMENTS (one_back_at_one));
  assert_samples (PL_EPOCH_RULE_PCP, top, G_N_ELEMENTS (top));
}

/* The two delta checks at their edges. */
static void
test_pcp_deltas (void)
{
  /* Server too fast: client 100 s, server delta d invalid when 102 < d - d / 16.
   * d = 108: 108 - 6 = 102, not less: valid. d = 109: 109 - 6 = 103: invalid. */
  static const Sample fast_ok[] = { { 0, 0, FALSE }, { 108, S (100), FALSE } };
  static const Sample fast_lost[] = { { 0, 0, FALSE }, { 109, S (100), TRUE } };
  /* Server too slow: client 100 s, invalid when d + 2 < 100 - 6 = 94, so d = 92 is valid
   * and d = 91 is not. */
  static const Sample slow_ok[] = { { 0, 0, FALSE }, { 92, S (100), FALSE } };
  static const Sample slow_lost[] = { { 0, 0, FALSE }, { 91, S (100), TRUE } };
  /* Client seconds are rounded down: 100.999 s is 100. */
  static const Sample floor_ok[] = { { 0, 0, FALSE }, { 92, S (100) + MS (999), FALSE } };
  /* A 2 s slack either way with little time passed. */
  static const Sample slack[] = {
    { 10, 0, FALSE },
    { 12, 0, FALSE },                /* client 0, server 2: 2 < 2? no */
    { 15, 0, TRUE },                 /* server 3 ahead in no time: 2 < 3 */
    { 15, S (2), FALSE },            /* client 2, server 0: 2 < 2? no */
    { 15, S (5), TRUE },             /* client 3, server 0: 2 < 3 */
  };
  /* A suspend of a day, the server counting along: valid. */
  static const Sample suspend[] = {
    { 1000, S (1000), FALSE },
    { 1000 + 86400, S (1000 + 86400), FALSE },
  };
  /* A server whose epoch stood still during that day lost its state. */
  static const Sample stood_still[] = {
    { 1000, S (1000), FALSE },
    { 1001, S (1000 + 86400), TRUE },
  };
  /* The client clock going backwards counts as no time at all. */
  static const Sample clock_back[] = {
    { 50, S (100), FALSE },
    { 52, S (10), FALSE },
    { 55, 0, TRUE },
  };

  assert_samples (PL_EPOCH_RULE_PCP, fast_ok, G_N_ELEMENTS (fast_ok));
  assert_samples (PL_EPOCH_RULE_PCP, fast_lost, G_N_ELEMENTS (fast_lost));
  assert_samples (PL_EPOCH_RULE_PCP, slow_ok, G_N_ELEMENTS (slow_ok));
  assert_samples (PL_EPOCH_RULE_PCP, slow_lost, G_N_ELEMENTS (slow_lost));
  assert_samples (PL_EPOCH_RULE_PCP, floor_ok, G_N_ELEMENTS (floor_ok));
  assert_samples (PL_EPOCH_RULE_PCP, slack, G_N_ELEMENTS (slack));
  assert_samples (PL_EPOCH_RULE_PCP, suspend, G_N_ELEMENTS (suspend));
  assert_samples (PL_EPOCH_RULE_PCP, stood_still, G_N_ELEMENTS (stood_still));
  assert_samples (PL_EPOCH_RULE_PCP, clock_back, G_N_ELEMENTS (clock_back));
}

/* The rules differ where they should: a forward jump is fine for NAT-PMP but not for PCP;
 * one second back is fine for PCP but not for NAT-PMP. */
static void
test_rules_differ (void)
{
  static const Sample jump[] = { { 100, 0, FALSE }, { 200, S (10), FALSE } };
  static const Sample jump_pcp[] = { { 100, 0, FALSE }, { 200, S (10), TRUE } };
  static const Sample back_natpmp[] = { { 100, 0, FALSE }, { 99, 0, TRUE } };
  static const Sample back_pcp[] = { { 100, 0, FALSE }, { 99, 0, FALSE } };

  assert_samples (PL_EPOCH_RULE_NATPMP, jump, G_N_ELEMENTS (jump));
  assert_samples (PL_EPOCH_RULE_PCP, jump_pcp, G_N_ELEMENTS (jump_pcp));
  assert_samples (PL_EPOCH_RULE_NATPMP, back_natpmp, G_N_ELEMENTS (back_natpmp));
  assert_samples (PL_EPOCH_RULE_PCP, back_pcp, G_N_ELEMENTS (back_pcp));
}

/* Extreme values never crash or wrap: huge elapsed times, the whole epoch range. */
static void
test_extremes (void)
{
  const guint32 epochs[] = { 0, 1, 2, 1000, G_MAXUINT32 / 2, G_MAXUINT32 - 1, G_MAXUINT32 };
  const gint64 times[] = { G_MININT64, -S (1), 0, S (1), S (86400), G_MAXINT64 };

  for (PlEpochRule rule = PL_EPOCH_RULE_NATPMP; rule <= PL_EPOCH_RULE_PCP; rule++)
    for (gsize a = 0; a < G_N_ELEMENTS (epochs); a++)
      for (gsize b = 0; b < G_N_ELEMENTS (epochs); b++)
        for (gsize t = 0; t < G_N_ELEMENTS (times); t++)
          for (gsize u = 0; u < G_N_ELEMENTS (times); u++)
            {
              PlEpochTracker tracker;
              gboolean lost;

              pl_epoch_tracker_init (&tracker, rule);
              pl_epoch_tracker_update (&tracker, epochs[a], times[t]);
              lost = pl_epoch_tracker_update (&tracker, epochs[b], times[u]);

              /* Going back by more than one second is always lost state. */
              if ((guint64) epochs[b] + 1 < epochs[a])
                g_assert_true (lost);
              /* The same epoch at the same time never is. */
              if (a == b && t == u)
                g_assert_false (lost);
            }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/pl/epoch/first-sample", test_first_sample);
  g_test_add_func ("/pl/epoch/natpmp", test_natpmp);
  g_test_add_func ("/pl/epoch/pcp/observed", test_pcp_observed);
  g_test_add_func ("/pl/epoch/pcp/backwards", test_pcp_backwards);
  g_test_add_func ("/pl/epoch/pcp/deltas", test_pcp_deltas);
  g_test_add_func ("/pl/epoch/rules-differ", test_rules_differ);
  g_test_add_func ("/pl/epoch/extremes", test_extremes);

  return g_test_run ();
}
