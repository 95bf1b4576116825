/* pl-test-bus.h: a private bus (GTestDBus) that goes away when the test aborts
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GTestDBus relies on a watcher process to kill its dbus-daemon when the test dies without
 * g_test_dbus_down(). With GLib 2.74 the daemon inherits the write end of the watcher's own
 * pipe, so after an abort (an assertion, a sanitizer report) the watcher waits for the
 * daemon, the daemon for the watcher, both hold the test's output open, and meson reports
 * a TIMEOUT minutes later instead of the abort. pl_test_bus_up() asks the bus for its
 * daemon's pid; when the test aborts, or a sanitizer ends it, the daemon is killed at once.
 *
 * The same watcher is a fork of the test that never execs: once the test is gone it ends with
 * exit (0) (gtestdbus.c, watch_parent), and in a sanitizer build exit runs the leak check in
 * that copy. A fork copies the sanitizer's list of the test's threads but only the thread that
 * forked, so the check cannot stop or scan the others ("Running thread N was not suspended.
 * False leaks are possible.") and reports as leaked whatever only those threads' storage
 * points at: a thread-pool worker's GSlice magazine and main-loop dispatch record (2032 and 16
 * bytes under g_private_set_alloc0), when the test forked while a pool thread was alive (the
 * tray's profiles window: GTK's compose-table loader). The watcher is GLib's and holds nothing
 * of ours, so pl_test_bus_watch_aborts() makes any process forked from the test that leaves
 * through exit() leave through _exit() instead, before the sanitizer's exit-time check (the
 * sanitizer registers it at start-up, and exit handlers run last-registered first). The test
 * process itself is checked as before; children that exec (every other one) are unaffected.
 * tests/sanitizer/lsan-probe.c reproduces the report, test-lsan-suppressions.c checks both.
 */

#pragma once

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <gio/gio.h>

#define PL_TEST_BUS_MAX 4

static volatile pid_t pl_test_bus_pids[PL_TEST_BUS_MAX];
static GTestDBus *pl_test_bus_buses[PL_TEST_BUS_MAX];
static pid_t pl_test_bus_test_pid;

/* Only when built with a sanitizer: it runs this instead of returning to abort(). */
extern void __sanitizer_set_death_callback (void (*callback) (void)) __attribute__ ((weak));

static inline void
pl_test_bus_kill_daemons (void)
{
  for (guint i = 0; i < PL_TEST_BUS_MAX; i++)
    if (pl_test_bus_pids[i] > 0)
      kill (pl_test_bus_pids[i], SIGKILL);   /* async-signal-safe */
}

static inline void
pl_test_bus_abort_cb (int signum)
{
  /* SA_RESETHAND: abort() raises again with the default action once this returns. */
  pl_test_bus_kill_daemons ();
}

/* An exit handler: in a fork of the test (GTestDBus's watcher), skip the rest. The watcher's
 * only exit is exit (0), and nobody waits for its status. */
static inline void
pl_test_bus_forked_exit (void)
{
  if (getpid () != pl_test_bus_test_pid)
    _exit (0);
}

static inline void
pl_test_bus_watch_aborts (void)
{
  static gboolean done;
  struct sigaction action;

  if (done)
    return;
  done = TRUE;
  memset (&action, 0, sizeof action);
  action.sa_handler = pl_test_bus_abort_cb;
  action.sa_flags = SA_RESETHAND;
  sigemptyset (&action.sa_mask);
  sigaction (SIGABRT, &action, NULL);
  if (__sanitizer_set_death_callback != NULL)
    __sanitizer_set_death_callback (pl_test_bus_kill_daemons);
  /* Before the first g_test_dbus_up(), which forks the watcher. */
  pl_test_bus_test_pid = getpid ();
  atexit (pl_test_bus_forked_exit);
}

static inline pid_t
pl_test_bus_daemon_pid (GTestDBus *bus)
{
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  guint32 pid;

  connection = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
  reply = g_dbus_connection_call_sync (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                       g_variant_new ("(s)", "org.freedesktop.DBus"),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(u)", &pid);
  g_dbus_connection_close_sync (connection, NULL, NULL);
  return (pid_t) pid;
}

/* In place of g_test_dbus_up (bus). */
static inline void
pl_test_bus_up (GTestDBus *bus)
{
  pl_test_bus_watch_aborts ();
  g_test_dbus_up (bus);
  for (guint i = 0; i < PL_TEST_BUS_MAX; i++)
    if (pl_test_bus_buses[i] == NULL)
      {
        pl_test_bus_buses[i] = bus;
        pl_test_bus_pids[i] = pl_test_bus_daemon_pid (bus);
        return;
      }
  g_assert_not_reached ();   /* more buses at once than PL_TEST_BUS_MAX */
}

/* In place of g_test_dbus_down (bus). */
static inline void
pl_test_bus_down (GTestDBus *bus)
{
  for (guint i = 0; i < PL_TEST_BUS_MAX; i++)
    if (pl_test_bus_buses[i] == bus)
      {
        pl_test_bus_pids[i] = 0;
        pl_test_bus_buses[i] = NULL;
      }
  g_test_dbus_down (bus);
}
