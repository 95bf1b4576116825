/* The LeakSanitizer suppressions of tests/lsan.supp, tested: the sanitizer's own thread-start
 * allocation (lsan-probe.c explains it) is suppressed, and a real leak of ours, on the main
 * thread or on a GLib thread, is still reported with the same file; GTestDBus's watcher, a fork
 * of the test, reports a false leak unless the test goes through tests/pl-test-bus.h, which
 * still lets the test's own leaks through. Built only when the build uses AddressSanitizer
 * (.ci/sanitize).
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <gio/gio.h>
#include <string.h>

#define LEAK_EXIT 23

static const char *probe;
static const char *suppressions;

typedef struct
{
  int   status;
  char *err;
} Probe;

static void
probe_free (Probe *p)
{
  g_free (p->err);
  g_free (p);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Probe, probe_free)

/* Runs lsan-probe @mode with the leak checker reporting on stderr (not in .ci/sanitize's log
 * folder: these reports are wanted), with tests/lsan.supp or with no suppressions at all. */
static Probe *
run_probe (const char *mode,
           gboolean    with_suppressions)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *lsan = NULL;
  g_autofree char *err = NULL;
  Probe *p = g_new0 (Probe, 1);

  /* The options of .ci/sanitize that shape a report, without log_path and abort_on_error. */
  g_subprocess_launcher_setenv (launcher, "ASAN_OPTIONS",
                                "detect_leaks=1:fast_unwind_on_malloc=0:malloc_context_size=30:"
                                "abort_on_error=0:exitcode=" G_STRINGIFY (LEAK_EXIT), TRUE);
  lsan = with_suppressions
    ? g_strdup_printf ("suppressions=%s:print_suppressions=1", suppressions)
    : g_strdup ("print_suppressions=0");
  g_subprocess_launcher_setenv (launcher, "LSAN_OPTIONS", lsan, TRUE);

  process = g_subprocess_launcher_spawn (launcher, &error, probe, mode, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  p->status = g_subprocess_get_exit_status (process);
  p->err = g_steal_pointer (&err);
  g_test_message ("lsan-probe %s, %s: exit %d\n%s", mode,
                  with_suppressions ? "tests/lsan.supp" : "no suppressions", p->status, p->err);
  return p;
}

static void
test_thread_start_reproduced (void)
{
  g_autoptr(Probe) p = run_probe ("thread-start", FALSE);

  g_test_summary ("Without suppressions, a thread caught inside the sanitizer's own start-up "
                  "gives the report seen on CI machines: the affinity extension that "
                  "pthread_getattr_np allocates for GetThreadStackTopAndBottom");
  g_assert_cmpint (p->status, ==, LEAK_EXIT);
  g_assert_nonnull (strstr (p->err, "ERROR: LeakSanitizer: detected memory leaks"));
  g_assert_nonnull (strstr (p->err, "Direct leak of 152 byte(s) in 1 object(s)"));
  g_assert_nonnull (strstr (p->err, "__pthread_attr_extension"));
  g_assert_nonnull (strstr (p->err, "GetThreadStackTopAndBottom"));
  g_assert_nonnull (strstr (p->err, "AsanThread::Init"));
}

static void
test_thread_start_suppressed (void)
{
  g_autoptr(Probe) p = run_probe ("thread-start", TRUE);
  const char *used;

  g_test_summary ("With tests/lsan.supp the same report is suppressed, by the "
                  "GetThreadStackTopAndBottom entry and no other");
  g_assert_cmpint (p->status, ==, 0);
  g_assert_null (strstr (p->err, "ERROR: LeakSanitizer"));
  used = strstr (p->err, "Suppressions used:");
  g_assert_nonnull (used);
  g_assert_nonnull (strstr (used, "__sanitizer::GetThreadStackTopAndBottom"));
  g_assert_null (strstr (used, "g_set_user_dirs"));
  g_assert_null (strstr (used, "libfontconfig"));
  g_assert_null (strstr (used, "appindicator"));
}

static void
test_quarks_reproduced (void)
{
  g_autoptr(Probe) p = run_probe ("quarks", FALSE);

  g_test_summary ("Without suppressions, a process with more than 2048 quarks gives the report "
                  "seen from the tray: GLib's first quark block, allocated under _dl_init");
  g_assert_cmpint (p->status, ==, LEAK_EXIT);
  g_assert_nonnull (strstr (p->err, "Direct leak of 16384 byte(s) in 1 object(s)"));
  g_assert_nonnull (strstr (p->err, "_dl_init"));
}

static void
test_quarks_suppressed (void)
{
  g_autoptr(Probe) p = run_probe ("quarks", TRUE);
  const char *used;

  g_test_summary ("With tests/lsan.supp the quark block is suppressed, by the _dl_init entry");
  g_assert_cmpint (p->status, ==, 0);
  g_assert_null (strstr (p->err, "ERROR: LeakSanitizer"));
  used = strstr (p->err, "Suppressions used:");
  g_assert_nonnull (used);
  g_assert_nonnull (strstr (used, "_dl_init"));
}

static void
test_real_leak_main (void)
{
  g_autoptr(Probe) p = run_probe ("leak-main", TRUE);

  g_test_summary ("A leak in our own code on the main thread is still reported with "
                  "tests/lsan.supp");
  g_assert_cmpint (p->status, ==, LEAK_EXIT);
  g_assert_nonnull (strstr (p->err, "ERROR: LeakSanitizer: detected memory leaks"));
  g_assert_nonnull (strstr (p->err, "pl_probe_leak"));
}

static void
test_real_leak_thread (void)
{
  g_autoptr(Probe) p = run_probe ("leak-thread", TRUE);

  g_test_summary ("A leak in our own code on a GLib thread is still reported with "
                  "tests/lsan.supp: the suppression is about thread start-up, not threads");
  g_assert_cmpint (p->status, ==, LEAK_EXIT);
  g_assert_nonnull (strstr (p->err, "ERROR: LeakSanitizer: detected memory leaks"));
  g_assert_nonnull (strstr (p->err, "pl_probe_leak"));
  g_assert_nonnull (strstr (p->err, "leak_in_thread"));
}

static void
test_clean (void)
{
  g_autoptr(Probe) p = run_probe ("clean", FALSE);

  g_test_summary ("A program that starts and joins a thread and leaks nothing gives no report, "
                  "even without suppressions");
  g_assert_cmpint (p->status, ==, 0);
  g_assert_null (strstr (p->err, "LeakSanitizer"));
}

static gboolean
have_dbus_daemon (void)
{
  g_autofree char *path = g_find_program_in_path ("dbus-daemon");

  if (path == NULL)
    g_test_skip ("dbus-daemon is not installed (apt-get install dbus-daemon)");
  return path != NULL;
}

static void
test_bus_watcher_reproduced (void)
{
  g_autoptr(Probe) p = NULL;

  g_test_summary ("With a plain g_test_dbus_up(), GTestDBus's watcher (a fork of the test) "
                  "runs the leak check when it exits and reports a block of a thread of the "
                  "test that was alive at the fork, the report seen from the tray's window "
                  "test; the test process itself leaks nothing");
  if (!have_dbus_daemon ())
    return;
  p = run_probe ("bus-watcher", TRUE);
  g_assert_cmpint (p->status, ==, 0);
  g_assert_nonnull (strstr (p->err, "was not suspended. False leaks are possible."));
  g_assert_nonnull (strstr (p->err, "ERROR: LeakSanitizer: detected memory leaks"));
  g_assert_nonnull (strstr (p->err, "Direct leak of 2032 byte(s) in 1 object(s)"));
  g_assert_nonnull (strstr (p->err, "storage_worker"));
}

static void
test_bus_watcher_guarded (void)
{
  g_autoptr(Probe) p = NULL;

  g_test_summary ("Through pl_test_bus_up() (tests/pl-test-bus.h) the watcher leaves without "
                  "the leak check, and nothing is reported");
  if (!have_dbus_daemon ())
    return;
  p = run_probe ("bus-watcher-guarded", TRUE);
  g_assert_cmpint (p->status, ==, 0);
  g_assert_null (strstr (p->err, "LeakSanitizer"));
  g_assert_null (strstr (p->err, "False leaks"));
}

static void
test_bus_watcher_guarded_leak (void)
{
  g_autoptr(Probe) p = NULL;

  g_test_summary ("Through pl_test_bus_up() a leak in the test process itself is still "
                  "reported");
  if (!have_dbus_daemon ())
    return;
  p = run_probe ("bus-watcher-guarded-leak", TRUE);
  g_assert_cmpint (p->status, ==, LEAK_EXIT);
  g_assert_nonnull (strstr (p->err, "ERROR: LeakSanitizer: detected memory leaks"));
  g_assert_nonnull (strstr (p->err, "pl_probe_leak"));
  g_assert_null (strstr (p->err, "storage_worker"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  probe = g_getenv ("LSAN_PROBE");
  suppressions = g_getenv ("LSAN_SUPPRESSIONS");
  g_assert_nonnull (probe);
  g_assert_nonnull (suppressions);

  g_test_add_func ("/lsan/thread-start/reproduced", test_thread_start_reproduced);
  g_test_add_func ("/lsan/thread-start/suppressed", test_thread_start_suppressed);
  g_test_add_func ("/lsan/quarks/reproduced", test_quarks_reproduced);
  g_test_add_func ("/lsan/quarks/suppressed", test_quarks_suppressed);
  g_test_add_func ("/lsan/real-leak/main-thread", test_real_leak_main);
  g_test_add_func ("/lsan/real-leak/glib-thread", test_real_leak_thread);
  g_test_add_func ("/lsan/clean", test_clean);
  g_test_add_func ("/lsan/bus-watcher/reproduced", test_bus_watcher_reproduced);
  g_test_add_func ("/lsan/bus-watcher/guarded", test_bus_watcher_guarded);
  g_test_add_func ("/lsan/bus-watcher/guarded-leak", test_bus_watcher_guarded_leak);

  return g_test_run ();
}
