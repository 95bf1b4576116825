/* pl-test-sample.h: how much of a long matrix a test goes through
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The plain build runs every matrix whole. Under AddressSanitizer (.ci/sanitize) every malloc
 * takes a slow stack unwind, so the paths through the client, the store and the CLI take a
 * representative sample instead: the edges and special values always, and a random rest drawn
 * from the GLib test seed (g_test_rand_*), which the TAP output prints at its top ("random
 * seed: R02S…") and `--seed` repeats. The pure codecs take every value in both builds, as do
 * sanitized runs with PORTLIGHT_TEST_FULL=1.
 */

#pragma once

#include <glib.h>

#if defined(__SANITIZE_ADDRESS__)
# define PL_TEST_SANITIZED 1
#elif defined(__has_feature)
# if __has_feature(address_sanitizer)
#  define PL_TEST_SANITIZED 1
# endif
#endif
#ifndef PL_TEST_SANITIZED
# define PL_TEST_SANITIZED 0
#endif

/* TRUE when long matrices take a sample (a sanitized build, unless PORTLIGHT_TEST_FULL=1). */
static inline gboolean
pl_test_sampled (void)
{
  return PL_TEST_SANITIZED && g_strcmp0 (g_getenv ("PORTLIGHT_TEST_FULL"), "1") != 0;
}

/* @full normally, @sample when sampled. */
static inline guint
pl_test_count (guint full,
               guint sample)
{
  return pl_test_sampled () ? MIN (sample, full) : full;
}
