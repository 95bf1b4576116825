/* pl-test-launcher.h: a launcher for a program the test runs as the user would
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * G_TEST_OPTION_ISOLATE_DIRS moves this process's folders, not a child's environment: the
 * launcher hands them over, so the child's profiles, state and engine lock are the test's.
 * The child also dies with the test: when a test aborts (an assertion, a sanitizer report)
 * an engine left running would hold the test's output pipe open, and meson would wait for it
 * until the timeout, hiding the abort's report behind a "TIMEOUT".
 */

#pragma once

#include <signal.h>
#include <sys/prctl.h>

#include <gio/gio.h>

static inline void
pl_test_launcher_die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static inline GSubprocessLauncher *
pl_test_launcher_new (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_setenv (launcher, "HOME", g_get_home_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", g_get_user_runtime_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", g_get_user_config_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_STATE_HOME", g_get_user_state_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", g_get_user_cache_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_set_child_setup (launcher, pl_test_launcher_die_with_parent, NULL, NULL);
  return launcher;
}
