/* lsan-probe: the LeakSanitizer reports that tests/lsan.supp must and must not suppress,
 * each made on purpose (test-lsan-suppressions.c runs it).
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   lsan-probe thread-start   the sanitizer's own stack probe, caught mid-way: see below
 *   lsan-probe leak-main      a real leak in our code, on the main thread
 *   lsan-probe leak-thread    a real leak in our code, on a GLib worker thread
 *   lsan-probe quarks         GLib's first quark block, dropped when the table grows
 *   lsan-probe clean          no leak at all
 *   lsan-probe bus-watcher    GTestDBus's watcher, a fork of this process, leaves by exit()
 *   lsan-probe bus-watcher-guarded         the same through pl_test_bus_up()
 *   lsan-probe bus-watcher-guarded-leak    and a real leak of ours in this process
 *
 * thread-start. ASan starts every new thread in AsanThread::Init, which calls
 * GetThreadStackTopAndBottom(), which calls glibc's pthread_getattr_np(). Since glibc 2.32 that
 * allocates the attribute's affinity extension (calloc, 152 bytes) and a copy of the CPU set
 * (realloc, 32 bytes on this machine), and pthread_attr_destroy() frees both a few
 * instructions later. The thread registers itself with the sanitizer only after Init returns.
 * If the process exits while a thread is inside that window (GLib's worker, a GDBus or a thread
 * pool thread that was only just created), the exit-time leak check cannot scan that thread's
 * stack, the only place that points at the extension, and reports the two blocks as leaked.
 * Nothing is leaked: the window is a few microseconds, which is why the report comes and goes
 * with the machine and its load. Here the window is held open: a free hook (the sanitizer's
 * allocator hook API) parks the new thread at its first free(), the temporary CPU set that
 * pthread_getattr_np() releases once the extension holds its copy, and the process then exits.
 *
 * quarks. GLib's constructor (glib_init, run by the dynamic loader) allocates the quark table's
 * first block: 2048 pointers, 16384 bytes. When the 2049th quark is made, g_quark_new() copies
 * the table into a larger block and drops the old one without freeing it, on purpose (gquark.c:
 * "This leaks the old quarks array ... it allows us to do lockless lookup"). The report's stack
 * is g_malloc under _dl_init. The tray passes 2048 quarks on some paths (GTK, GDBus, the
 * indicator, GIO's app info), so its reports come and go with what a test made it do.
 *
 * bus-watcher. g_test_dbus_up() forks a watcher that outlives this process and then calls
 * exit (0), which runs the leak check in the fork (pl-test-bus.h explains why its report is
 * false). Here a thread keeps a block in its thread-local storage (as GLib's pool workers keep
 * their slice magazine) while the bus comes up, and is joined before the process exits: this
 * process leaks nothing, and the watcher reports that block, on this process's stderr.
 */

#include <gio/gio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pl-test-bus.h"

/* The sanitizer allocator hook API (compiler-rt's sanitizer/allocator_interface.h, which GCC
 * does not install). */
int __sanitizer_install_malloc_and_free_hooks (void (*malloc_hook) (const volatile void *, size_t),
                                               void (*free_hook) (const volatile void *));

static pthread_t main_thread;
static atomic_int armed;
static atomic_int parked;

static void
malloc_hook (const volatile void *ptr,
             size_t               size)
{
  (void) ptr;
  (void) size;
}

static void
free_hook (const volatile void *ptr)
{
  (void) ptr;
  if (!atomic_load (&armed) || pthread_equal (pthread_self (), main_thread))
    return;
  /* In the new thread, inside AsanThread::Init: stay here. Raw syscalls only, no
   * interceptors: the thread does not exist for the sanitizer yet. */
  atomic_store (&armed, 0);
  atomic_store (&parked, 1);
  for (;;)
    syscall (SYS_pause);
}

static void *
idle_thread (void *data)
{
  return data;
}

static int
thread_start (void)
{
  pthread_t thread;

  main_thread = pthread_self ();
  if (__sanitizer_install_malloc_and_free_hooks (malloc_hook, free_hook) == 0)
    {
      g_printerr ("lsan-probe: the sanitizer refused the allocator hooks\n");
      return 2;
    }
  atomic_store (&armed, 1);
  if (pthread_create (&thread, NULL, idle_thread, NULL) != 0)
    return 2;
  while (!atomic_load (&parked))
    g_usleep (1000);
  /* exit() runs the leak check while the thread is parked inside Init. */
  return 0;
}

/* A leak of ours: nothing keeps the pointer. */
static G_NO_INLINE void
pl_probe_leak (void)
{
  volatile char *lost = g_strdup ("a string nobody frees");

  lost = NULL;
  (void) lost;
}

static gpointer
leak_in_thread (gpointer data)
{
  pl_probe_leak ();
  return data;
}

static GPrivate worker_storage = G_PRIVATE_INIT (g_free);
static GMutex worker_lock;
static GCond worker_cond;
static gboolean worker_ready;
static gboolean worker_done;

static gpointer
storage_worker (gpointer data)
{
  g_private_set (&worker_storage, g_malloc0 (2032));
  g_mutex_lock (&worker_lock);
  worker_ready = TRUE;
  g_cond_broadcast (&worker_cond);
  while (!worker_done)
    g_cond_wait (&worker_cond, &worker_lock);
  g_mutex_unlock (&worker_lock);
  return data;   /* the thread's exit frees its block */
}

static int
bus_watcher (gboolean guarded,
             gboolean leak)
{
  g_autoptr(GTestDBus) bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  GThread *worker = g_thread_new ("storage", storage_worker, NULL);

  g_mutex_lock (&worker_lock);
  while (!worker_ready)
    g_cond_wait (&worker_cond, &worker_lock);
  g_mutex_unlock (&worker_lock);

  if (guarded)
    pl_test_bus_up (bus);
  else
    g_test_dbus_up (bus);

  g_mutex_lock (&worker_lock);
  worker_done = TRUE;
  g_cond_broadcast (&worker_cond);
  g_mutex_unlock (&worker_lock);
  g_thread_join (worker);

  if (guarded)
    pl_test_bus_down (bus);
  else
    g_test_dbus_down (bus);
  if (leak)
    pl_probe_leak ();
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  const char *mode = argc > 1 ? argv[1] : "";

  if (strcmp (mode, "thread-start") == 0)
    return thread_start ();
  if (strcmp (mode, "leak-main") == 0)
    {
      pl_probe_leak ();
      return 0;
    }
  if (strcmp (mode, "leak-thread") == 0)
    {
      g_thread_join (g_thread_new ("leaker", leak_in_thread, NULL));
      return 0;
    }
  if (strcmp (mode, "quarks") == 0)
    {
      for (guint i = 0; i < 2100; i++)
        {
          g_autofree char *name = g_strdup_printf ("lsan-probe-quark-%u", i);

          g_quark_from_string (name);
        }
      return 0;
    }
  if (strcmp (mode, "clean") == 0)
    {
      g_thread_join (g_thread_new ("clean", idle_thread, NULL));
      return 0;
    }
  if (strcmp (mode, "bus-watcher") == 0)
    return bus_watcher (FALSE, FALSE);
  if (strcmp (mode, "bus-watcher-guarded") == 0)
    return bus_watcher (TRUE, FALSE);
  if (strcmp (mode, "bus-watcher-guarded-leak") == 0)
    return bus_watcher (TRUE, TRUE);
  g_printerr ("usage: lsan-probe thread-start|leak-main|leak-thread|quarks|clean|"
              "bus-watcher[-guarded[-leak]]\n");
  return 2;
}
