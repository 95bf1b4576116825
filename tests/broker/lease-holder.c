/* lease-holder.c: a program that holds one lease of the engine, as a torrent client would
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

/* lease-holder [--once] [--count N] PROTOCOLS PORT: waits (up to 15 s) for the engine's name
 * (io.github.portlight.Portlight.Broker1) on the session bus, asks it for PROTOCOLS ("tcp", "udp" or "tcp,udp") on PORT with the
 * default bind=caller, and prints one line once the lease is active:
 *
 *   active EXTERNAL_PORT
 *
 * (or "failed NAME: MESSAGE" and exit 1). Then it holds the lease until it is killed: it never
 * calls Release, so that the lab can check that a program that goes away takes its port with
 * it. With --once it exits 0 as soon as the lease is active (the benchmark times a program
 * opening a port through the engine; the lease ends as it leaves). With --count N it holds
 * N leases, on PORT to PORT + N - 1, asked one after the other (waiting a second whenever the
 * engine says LimitExceeded, its rate limit), and prints "active N" once all N are active
 * (the benchmark of the engine's memory with many leases). Exit 2 for bad arguments, 3 when
 * the engine does not appear. */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "pl-broker.h"
#include "pl-broker-error.h"

typedef struct
{
  GMainLoop     *loop;
  PlBrokerLease *lease;
  GPtrArray     *many;       /* --count: PlBrokerLease* */
  guint          count;
  gboolean       appeared;
  gboolean       reported;
  gboolean       once;
  int            status;
} Holder;

static gboolean
timeout_cb (gpointer user_data)
{
  Holder *holder = user_data;

  if (!holder->appeared)
    {
      fprintf (stderr, "lease-holder: the engine did not appear on the session bus\n");
      holder->status = 3;
      g_main_loop_quit (holder->loop);
    }
  return G_SOURCE_REMOVE;
}

static void
name_appeared_cb (GDBusConnection *connection,
                  const char      *name,
                  const char      *owner,
                  gpointer         user_data)
{
  Holder *holder = user_data;

  holder->appeared = TRUE;
  g_main_loop_quit (holder->loop);
}

/* Prints the line once the lease is active (or failed). */
static void
report (Holder *holder)
{
  const char *state = pl_broker_lease_get_state (holder->lease);
  GVariant *mappings;
  guint16 port = 0;

  if (holder->reported || state == NULL)
    return;
  if (g_strcmp0 (state, "failed") == 0)
    {
      GVariant *error = pl_broker_lease_get_error (holder->lease);
      const char *error_name = "", *message = "";

      if (error != NULL)
        g_variant_get (error, "(&s&s)", &error_name, &message);
      printf ("failed %s: %s\n", error_name, message);
      fflush (stdout);
      holder->reported = TRUE;
      holder->status = 1;
      g_main_loop_quit (holder->loop);
      return;
    }
  if (g_strcmp0 (state, "active") != 0)
    return;

  mappings = pl_broker_lease_get_mappings (holder->lease);
  if (mappings != NULL && g_variant_n_children (mappings) > 0)
    {
      g_autoptr(GVariant) first = g_variant_get_child_value (mappings, 0);

      g_variant_lookup (first, "external_port", "q", &port);
    }
  printf ("active %u\n", port);
  fflush (stdout);
  holder->reported = TRUE;
  if (holder->once)
    g_main_loop_quit (holder->loop);
}

static void
lease_changed_cb (GDBusProxy *proxy,
                  GVariant   *changed,
                  GStrv       invalidated,
                  gpointer    user_data)
{
  report (user_data);
}

/* --count: once every lease is active, one line. */
static void
many_changed_cb (GDBusProxy *proxy,
                 GVariant   *changed,
                 GStrv       invalidated,
                 gpointer    user_data)
{
  Holder *holder = user_data;
  guint n_active = 0;

  for (guint i = 0; i < holder->many->len; i++)
    n_active += g_strcmp0 (pl_broker_lease_get_state (g_ptr_array_index (holder->many, i)),
                           "active") == 0;
  if (!holder->reported && n_active == holder->count)
    {
      printf ("active %u\n", n_active);
      fflush (stdout);
      holder->reported = TRUE;
    }
}

static int
hold_many (Holder             *holder,
           GDBusConnection    *bus,
           PlBrokerManager    *manager,
           const char * const *protocols,
           guint               first_port)
{
  holder->many = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < holder->count; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = NULL;
      PlBrokerLease *lease;

      if (!pl_broker_manager_call_request_mapping_sync (manager, protocols,
                                                        (guint16) (first_port + i),
                                                        g_variant_new_array (G_VARIANT_TYPE ("{sv}"),
                                                                             NULL, 0),
                                                        NULL, &path, NULL, NULL, &error))
        {
          if (g_error_matches (error, PL_BROKER_ERROR, PL_BROKER_ERROR_LIMIT_EXCEEDED))
            {
              g_usleep (G_USEC_PER_SEC);   /* the rate limit: one more a second */
              i--;
              continue;
            }
          g_dbus_error_strip_remote_error (error);
          printf ("failed %s\n", error->message);
          return 1;
        }
      lease = pl_broker_lease_proxy_new_sync (bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                              PL_BROKER_BUS_NAME, path, NULL, &error);
      if (lease == NULL)
        {
          printf ("failed %s\n", error->message);
          return 1;
        }
      g_signal_connect (lease, "g-properties-changed", G_CALLBACK (many_changed_cb), holder);
      g_ptr_array_add (holder->many, lease);
    }
  many_changed_cb (NULL, NULL, NULL, holder);
  g_main_loop_run (holder->loop);   /* until killed */
  g_ptr_array_unref (holder->many);
  return holder->status;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(PlBrokerManager) manager = NULL;
  g_autofree char *path = NULL;
  g_auto(GStrv) protocols = NULL;
  Holder holder = { 0 };
  guint64 port;
  guint watch;

  guint64 count = 1;

  if (argc > 1 && g_str_equal (argv[1], "--once"))
    {
      holder.once = TRUE;
      argv++;
      argc--;
    }
  if (argc > 2 && g_str_equal (argv[1], "--count"))
    {
      if (!g_ascii_string_to_unsigned (argv[2], 10, 1, 1000, &count, NULL))
        argc = 0;   /* usage */
      argv += 2;
      argc -= 2;
    }
  if (argc != 3 || !g_ascii_string_to_unsigned (argv[2], 10, 1, 65535, &port, NULL) ||
      port + count - 1 > 65535 || (holder.once && count > 1))
    {
      fprintf (stderr, "usage: lease-holder [--once | --count N] tcp|udp|tcp,udp PORT\n");
      return 2;
    }
  holder.count = (guint) count;
  /* The engine's named errors come back as PL_BROKER_ERROR once the domain is known. */
  pl_broker_error_quark ();
  protocols = g_strsplit (argv[1], ",", -1);

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (bus == NULL)
    {
      fprintf (stderr, "lease-holder: %s\n", error->message);
      return 3;
    }

  holder.loop = g_main_loop_new (NULL, FALSE);
  watch = g_bus_watch_name_on_connection (bus, PL_BROKER_BUS_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                          name_appeared_cb, NULL, &holder, NULL);
  g_timeout_add_seconds (15, timeout_cb, &holder);
  g_main_loop_run (holder.loop);
  g_bus_unwatch_name (watch);
  if (!holder.appeared)
    return holder.status;

  manager = pl_broker_manager_proxy_new_sync (bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                              PL_BROKER_BUS_NAME, PL_BROKER_MANAGER_PATH, NULL,
                                              &error);
  if (manager != NULL && holder.count > 1)
    {
      int status = hold_many (&holder, bus, manager, (const char * const *) protocols,
                              (guint) port);

      g_main_loop_unref (holder.loop);
      return status;
    }
  if (manager == NULL ||
      !pl_broker_manager_call_request_mapping_sync (manager, (const char * const *) protocols,
                                                    (guint16) port,
                                                    g_variant_new_array (G_VARIANT_TYPE ("{sv}"),
                                                                         NULL, 0),
                                                    NULL, &path, NULL, NULL, &error))
    {
      g_dbus_error_strip_remote_error (error);
      printf ("failed %s\n", error->message);
      return 1;
    }

  holder.lease = pl_broker_lease_proxy_new_sync (bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                                 PL_BROKER_BUS_NAME, path, NULL, &error);
  if (holder.lease == NULL)
    {
      printf ("failed %s\n", error->message);
      return 1;
    }
  g_signal_connect (holder.lease, "g-properties-changed", G_CALLBACK (lease_changed_cb), &holder);
  report (&holder);
  if (!holder.reported || !holder.once)
    g_main_loop_run (holder.loop);   /* until killed, the lease failed, or (--once) active */

  g_clear_object (&holder.lease);
  g_main_loop_unref (holder.loop);
  return holder.status;
}
