/* test-engine-client.c: the tray's view of the engine (PlEngineClient)
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "pl-broker.h"
#include "pl-broker-test-client.h"
#include "pl-core.h"
#include "pl-engine-client.h"
#include "pl-fake-gateway.h"

/* Each test has a private session bus (GTestDBus), a fake NAT-PMP gateway on 127.0.66.N, and
 * in this thread the real broker and session on a virtual clock, with one enabled profile
 * (SSH, TCP 22 → 2222). The tray's view is a PlEngineClient over the object manager of a
 * separate connection (pl-broker-test-client.c); another such connection plays a program
 * holding a lease. Every call is asynchronous and waited for by iterating. */

typedef struct
{
  GTestDBus       *bus;
  const char      *address;
  PlClock         *clock;
  PlFakeGateway   *gateway;
  char            *gateway_address;
  GListStore      *profiles;
  PlBroker        *broker;
  PlSession       *session;
  GDBusConnection *connection;
  PlTestClient    *viewer;
  PlEngineClient  *engine;
  char            *tmp;
  guint            n_changed;
  guint            n_rebooted;
  guint            guard_id;
} Fixture;

typedef gboolean (*Predicate) (Fixture *f, gconstpointer data);

static gboolean
guard_cb (gpointer user_data)
{
  g_error ("Test did not finish within 60 s of real time");
  return G_SOURCE_REMOVE;
}

static PlPortMapper *
test_factory (GInetAddress *gateway,
              PlClock      *clock,
              gpointer      user_data)
{
  return PL_PORT_MAPPER (pl_client_new (gateway, clock));
}

static void
own_cb (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (pl_broker_own_name_finish (PL_BROKER (source), result, NULL, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static gboolean
tick_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates, moving the virtual clock on a second whenever nothing else is to be done. */
static void
run_until (Fixture       *f,
           Predicate      predicate,
           gconstpointer  data)
{
  while (!predicate (f, data))
    {
      gboolean ticked = FALSE;

      if (g_main_context_iteration (NULL, FALSE))
        continue;
      pl_clock_advance (f->clock, G_USEC_PER_SEC);
      g_timeout_add (5, tick_cb, &ticked);
      pl_test_wait_flag (&ticked);
    }
}

static void
changed_cb (PlEngineClient *engine,
            Fixture        *f)
{
  f->n_changed++;
}

static void
rebooted_cb (PlEngineClient *engine,
             Fixture        *f)
{
  f->n_rebooted++;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  static guint next_n = 1;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) gateway = NULL;
  g_autoptr(PlProfile) ssh = pl_profile_new ("SSH");
  g_autofree char *pid_dir = NULL;
  g_autofree char *root = NULL;
  g_autofree char *comm = NULL;
  g_autofree char *proc = NULL;
  gboolean owned = FALSE;

  f->guard_id = g_timeout_add_seconds (60, guard_cb, NULL);
  f->tmp = g_dir_make_tmp ("test-engine-client-XXXXXX", &error);
  g_assert_no_error (error);
  f->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (f->bus);
  f->address = g_test_dbus_get_bus_address (f->bus);

  f->clock = pl_clock_new_virtual (FALSE);
  f->gateway_address = g_strdup_printf ("127.0.66.%u", next_n++);
  f->gateway = pl_fake_gateway_new (f->gateway_address, f->clock, &error);
  g_assert_no_error (error);

  f->profiles = g_list_store_new (PL_TYPE_PROFILE);
  pl_profile_set_protocol (ssh, PL_PROFILE_PROTOCOL_TCP);
  pl_profile_set_family (ssh, PL_PROFILE_FAMILY_IPV4);
  pl_profile_set_internal_port (ssh, 22);
  pl_profile_set_external_port (ssh, 2222);
  pl_profile_set_enabled (ssh, TRUE);
  g_list_store_append (f->profiles, ssh);

  f->broker = pl_broker_new (G_LIST_MODEL (f->profiles));
  /* Every client here is this process: the broker names it from this fake /proc. */
  proc = g_build_filename (f->tmp, "proc", NULL);
  pid_dir = g_strdup_printf ("%s/%d", proc, (int) getpid ());
  root = g_build_filename (pid_dir, "root", NULL);
  comm = g_build_filename (pid_dir, "comm", NULL);
  g_assert_cmpint (g_mkdir_with_parents (root, 0700), ==, 0);
  g_file_set_contents (comm, "transmission\n", -1, &error);
  g_assert_no_error (error);
  pl_broker_set_proc_root (f->broker, proc);

  gateway = g_inet_address_new_from_string (f->gateway_address);
  f->session = g_object_new (PL_TYPE_SESSION,
                             "profiles", pl_broker_get_profiles (f->broker),
                             "clock", f->clock,
                             "fixed-gateway", gateway,
                             "monitor-network", FALSE,
                             "announce-port", 0u,
                             NULL);
  pl_session_set_mapper_factory (f->session, test_factory, f, NULL);
  pl_session_set_ipv6_pinholes (f->session, FALSE);
  pl_broker_set_session (f->broker, f->session);
  pl_session_start (f->session);

  f->connection = g_dbus_connection_new_for_address_sync (
    f->address,
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
  pl_broker_own_name_async (f->broker, f->connection, NULL, own_cb, &owned);
  pl_test_wait_flag (&owned);

  f->viewer = pl_test_client_new (f->address);
  f->engine = pl_engine_client_new (f->viewer->objects);
  g_signal_connect (f->engine, "changed", G_CALLBACK (changed_cb), f);
  g_signal_connect (f->engine, "gateway-rebooted", G_CALLBACK (rebooted_cb), f);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
drain (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->engine);
  g_clear_pointer (&f->viewer, pl_test_client_free);
  pl_broker_shutdown (f->broker);
  g_clear_object (&f->broker);
  g_clear_object (&f->session);
  g_dbus_connection_close_sync (f->connection, NULL, NULL);
  g_clear_object (&f->connection);
  drain ();
  g_test_dbus_down (f->bus);
  g_clear_object (&f->bus);
  g_clear_object (&f->gateway);
  drain ();
  g_clear_object (&f->profiles);
  g_clear_object (&f->clock);
  g_free (f->gateway_address);
  g_clear_handle_id (&f->guard_id, g_source_remove);
  remove_tree (f->tmp);
  g_free (f->tmp);
}

static gboolean
profile_line_is (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(PlBrokerLease) lease = pl_engine_client_get_profile_lease (f->engine, "SSH");
  g_autofree char *line = lease != NULL ? pl_engine_client_describe_lease (lease) : NULL;

  return g_strcmp0 (line, data) == 0;
}

static gboolean
address_known (Fixture       *f,
               gconstpointer  data)
{
  return pl_engine_client_get_external_address (f->engine) != NULL &&
         pl_engine_client_get_method (f->engine) != NULL;
}

static gboolean
mapping_address_known (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(PlBrokerLease) lease = pl_engine_client_get_profile_lease (f->engine, "SSH");
  g_autoptr(GPtrArray) mappings = lease != NULL ? pl_engine_client_lease_mappings (lease)
                                                : NULL;

  return mappings != NULL && mappings->len > 0 &&
         g_strcmp0 (((PlEngineMapping *) g_ptr_array_index (mappings, 0))->external_address,
                    "") != 0 &&
         ((PlEngineMapping *) g_ptr_array_index (mappings, 0))->external_address != NULL;
}

static void
test_state (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(PlBrokerLease) lease = NULL;
  g_autoptr(GPtrArray) mappings = NULL;
  PlEngineMapping *mapping;
  GList *leases;

  g_test_summary ("The engine's router, public address and method, and the enabled "
                  "profile's lease with its public port, as the menu shows them; no "
                  "program holds a lease, and nothing says the router rebooted");

  g_assert_true (pl_engine_client_get_running (f->engine));
  run_until (f, profile_line_is, "Active · TCP 2222");
  run_until (f, address_known, NULL);
  g_assert_cmpstr (pl_engine_client_get_gateway (f->engine), ==, f->gateway_address);
  g_assert_cmpstr (pl_engine_client_get_method (f->engine), ==, "nat-pmp");
  g_assert_cmpstr (pl_engine_client_get_external_address (f->engine), ==, "203.0.113.7");

  /* The lease's entry names the address once the engine knows it (it may map first). */
  run_until (f, mapping_address_known, NULL);
  lease = pl_engine_client_get_profile_lease (f->engine, "SSH");
  mappings = pl_engine_client_lease_mappings (lease);
  g_assert_cmpuint (mappings->len, ==, 1);
  mapping = g_ptr_array_index (mappings, 0);
  g_assert_cmpstr (mapping->protocol, ==, "tcp");
  g_assert_cmpstr (mapping->family, ==, "ipv4");
  g_assert_cmpstr (mapping->external_address, ==, "203.0.113.7");
  g_assert_cmpuint (mapping->external_port, ==, 2222);

  g_assert_null (pl_engine_client_get_profile_lease (f->engine, "Nonexistent"));
  leases = pl_engine_client_list_app_leases (f->engine);
  g_assert_null (leases);
  g_assert_cmpuint (f->n_changed, >, 0);
  g_assert_cmpuint (f->n_rebooted, ==, 0);
}

typedef struct
{
  guint       n;
  const char *first;   /* the first line, if n > 0 */
} LeasesWanted;

static gboolean
app_leases_are (Fixture       *f,
                gconstpointer  data)
{
  const LeasesWanted *want = data;
  GList *leases = pl_engine_client_list_app_leases (f->engine);
  g_autofree char *first = leases != NULL ? pl_engine_client_describe_app_lease (leases->data)
                                          : NULL;
  guint n = g_list_length (leases);

  g_list_free_full (leases, g_object_unref);
  return n == want->n && (n == 0 || g_strcmp0 (first, want->first) == 0);
}

static void
test_app_lease (Fixture       *f,
                gconstpointer  data)
{
  const LeasesWanted holds = { 1, "transmission holds TCP 51413" };
  const LeasesWanted none = { 0, NULL };
  g_autoptr(PlTestClient) program = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  g_test_summary ("Another program's lease is listed with its owner's name and port, and "
                  "is gone when the program leaves the bus; the profile's lease is not "
                  "listed as a program's");

  run_until (f, profile_line_is, "Active · TCP 2222");
  program = pl_test_client_new (f->address);
  path = pl_test_client_request (program, "tcp", 51413, NULL, NULL, &error);
  g_assert_no_error (error);
  run_until (f, app_leases_are, &holds);

  pl_test_client_close (program);
  run_until (f, app_leases_are, &none);
  g_assert_true (profile_line_is (f, "Active · TCP 2222"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/tray/engine-client/state", Fixture, NULL, fixture_set_up, test_state,
              fixture_tear_down);
  g_test_add ("/tray/engine-client/app-lease", Fixture, NULL, fixture_set_up, test_app_lease,
              fixture_tear_down);
  return g_test_run ();
}
