/* test-engine-client.c: the tray's view of the engine (PlEngineClient)
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "pl-app-profiles.h"
#include "pl-app-waiting.h"
#include "pl-broker.h"
#include "pl-broker-test-client.h"
#include "pl-core.h"
#include "pl-test-bus.h"
#include "pl-engine-client.h"
#include "pl-fake-gateway.h"
#include "pl-fake-pcp-gateway.h"
#include "pl-test-launcher.h"
#include "pl-tray-menu.h"

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
  PlFakePcpGateway *pcp;    /* with pinholes: the router speaks PCP, */
  PlFakePcpGateway *pcp6;   /* and opens IPv6 pinholes at ::1 */
  gboolean         pinholes;
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
  Fixture *f = user_data;

  if (f->pinholes)
    return pl_mapper_new (PL_METHOD_PCP, gateway, clock);
  return PL_PORT_MAPPER (pl_client_new (gateway, clock));
}

/* The IPv6 router is the fake PCP server on ::1, and ::1 this computer's stable address. */
static PlIpv6Router *
loopback_ipv6 (gpointer       user_data,
               GInetAddress **local,
               GError       **error)
{
  PlIpv6Router *router = g_new0 (PlIpv6Router, 1);

  router->address = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
  router->interface = g_strdup ("lo");
  router->ifindex = 1;
  *local = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
  return router;
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
  pl_test_bus_up (f->bus);
  f->address = g_test_dbus_get_bus_address (f->bus);

  f->clock = pl_clock_new_virtual (FALSE);
  f->pinholes = data != NULL;
  if (f->pinholes)
    {
      f->gateway_address = g_strdup_printf ("127.0.68.%u", next_n++);
      f->pcp = pl_fake_pcp_gateway_new (f->gateway_address, f->clock, &error);
      g_assert_no_error (error);
      f->pcp6 = pl_fake_pcp_gateway_new ("::1", f->clock, &error);
      g_assert_no_error (error);
    }
  else
    {
      f->gateway_address = g_strdup_printf ("127.0.66.%u", next_n++);
      f->gateway = pl_fake_gateway_new (f->gateway_address, f->clock, &error);
      g_assert_no_error (error);
    }

  f->profiles = g_list_store_new (PL_TYPE_PROFILE);
  pl_profile_set_protocol (ssh, PL_PROFILE_PROTOCOL_TCP);
  pl_profile_set_family (ssh, PL_PROFILE_FAMILY_IPV4);
  pl_profile_set_internal_port (ssh, 22);
  pl_profile_set_external_port (ssh, 2222);
  /* Renewed every few (virtual) seconds: a restarted router is noticed soon. */
  pl_profile_set_lifetime (ssh, 8);
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
  if (f->pinholes)
    pl_session_set_ipv6_discover_func (f->session, loopback_ipv6, NULL, NULL);
  else
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
  pl_test_bus_down (f->bus);
  g_clear_object (&f->bus);
  g_clear_object (&f->gateway);
  g_clear_object (&f->pcp);
  g_clear_object (&f->pcp6);
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

typedef struct
{
  const char *name;
  guint       old_port;
  guint       new_port;
  gboolean    seen;
} PortChange;

static void
port_changed_cb (PlEngineClient *engine,
                 const char     *name,
                 guint           old_port,
                 guint           new_port,
                 PortChange     *change)
{
  change->name = g_intern_string (name);
  change->old_port = old_port;
  change->new_port = new_port;
  change->seen = TRUE;
}

static gboolean
port_change_seen (Fixture       *f,
                  gconstpointer  data)
{
  return ((const PortChange *) data)->seen;
}

static gboolean
rebooted_seen (Fixture       *f,
               gconstpointer  data)
{
  return f->n_rebooted > 0;
}

static gboolean
requests_at_least (Fixture       *f,
                   gconstpointer  data)
{
  return pl_fake_gateway_get_requests (f->gateway)->len >= GPOINTER_TO_UINT (data);
}

static void
test_port_changed (Fixture       *f,
                   gconstpointer  data)
{
  PortChange change = { NULL, 0, 0, FALSE };
  guint n_requests;

  g_test_summary ("The router restarts and gives the profile another public port: "
                  "::gateway-rebooted once, ::port-changed with the profile's name, the old "
                  "and the new port, and the state line says the new port");

  /* A router up for long: a renewal sees its epoch, and the restart below sets it back. */
  pl_fake_gateway_set_epoch (f->gateway, 100000);
  run_until (f, profile_line_is, "Active · TCP 2222");
  n_requests = pl_fake_gateway_get_requests (f->gateway)->len + 2;
  run_until (f, requests_at_least, GUINT_TO_POINTER (n_requests));
  g_assert_cmpuint (f->n_rebooted, ==, 0);
  g_signal_connect (f->engine, "port-changed", G_CALLBACK (port_changed_cb), &change);
  pl_fake_gateway_set_assigned_port (f->gateway, 40022);
  pl_fake_gateway_set_epoch (f->gateway, 0);
  run_until (f, port_change_seen, &change);
  g_assert_cmpstr (change.name, ==, "SSH");
  g_assert_cmpuint (change.old_port, ==, 2222);
  g_assert_cmpuint (change.new_port, ==, 40022);
  run_until (f, profile_line_is, "Active · TCP 40022");
  run_until (f, rebooted_seen, NULL);
  g_assert_cmpuint (f->n_rebooted, ==, 1);
}

/* Profile.Waiting: the engine's model of network-linked profiles (PlAppProfiles over the
 * broker's, on a fixed network watcher) says why SSH is off; the client and the menu say
 * the same. */

static void
set_network (PlNetworkWatcher *watcher,
             guint8            last)
{
  PlNetworkIdentity identity = { TRUE, { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, last }, NULL };

  pl_network_watcher_set_identity (watcher, &identity);
}

static gboolean
waiting_is (Fixture       *f,
            gconstpointer  data)
{
  g_autofree char *waiting = pl_engine_client_dup_waiting (f->engine, "SSH");

  return g_strcmp0 (waiting, data) == 0;
}

static void
test_waiting (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(PlNetworkWatcher) network = pl_network_watcher_new_fixed ();
  g_autoptr(PlProfile) ssh = g_list_model_get_item (G_LIST_MODEL (f->profiles), 0);
  g_autofree char *store_path = g_build_filename (f->tmp, "profiles.ini", NULL);
  g_autoptr(PlProfileStore) store = pl_profile_store_new (store_path);
  g_autoptr(PlAppProfiles) apps = NULL;
  g_autoptr(PlSession) session = NULL;
  g_autoptr(PlTrayMenu) menu = NULL;
  g_autoptr(GError) error = NULL;
  const char *long_network = "the flat on the third floor, left of the stairs";
  g_autofree char *long_value = g_strdup_printf ("%s; gateway=02:aa:bb:cc:dd:01",
                                                 long_network);
  g_autofree char *long_reason = g_strdup_printf ("Only on network ‘%s’", long_network);
  PlTrayItem *item;

  g_test_summary ("An enabled profile the engine keeps off says why (Profile.Waiting): the "
                  "client reads it, the menu shows it instead of the lease's line, in at "
                  "most 60 characters with the whole for the window, and does not count it "
                  "as contacting the router; it goes when the condition holds");

  /* The tray's own view of the profiles file: SSH, enabled. */
  g_assert_true (pl_profile_store_load_from_data (store, "[SSH]\nProtocol=tcp\n"
                                                  "InternalPort=22\nExternalPort=2222\n"
                                                  "Enabled=true\n", -1, &error));
  g_assert_no_error (error);
  session = g_object_new (PL_TYPE_SESSION, "profiles", store, "clock", f->clock,
                          "monitor-network", FALSE, "announce-port", 0u, NULL);
  menu = pl_tray_menu_new (session, store);
  pl_tray_menu_set_engine (menu, f->engine);

  set_network (network, 0x02);
  apps = pl_app_profiles_new_full (pl_broker_get_profiles (f->broker), NULL, network);
  pl_app_profiles_publish_waiting (apps, f->broker);
  run_until (f, profile_line_is, "Active · TCP 2222");
  run_until (f, address_known, NULL);
  g_assert_null (pl_engine_client_dup_waiting (f->engine, "SSH"));
  g_assert_null (pl_engine_client_dup_waiting (f->engine, "Nonexistent"));

  /* Network= home, and this is another network: it waits, and the menu says so. */
  pl_profile_set_network (ssh, "home; gateway=02:aa:bb:cc:dd:01");
  run_until (f, waiting_is, "Only on network ‘home’");
  pl_tray_menu_update (menu);
  item = pl_tray_menu_find_item (menu, "profile-state:SSH");
  g_assert_nonnull (item);
  g_assert_cmpstr (item->label, ==, "Only on network ‘home’");
  g_assert_null (pl_tray_menu_find_item (menu, "copy:SSH:203.0.113.7:2222"));
  /* Nothing else is enabled: connected, no ports open (not "contacting the router"). */
  g_assert_cmpint (pl_tray_menu_get_state (menu), ==, PL_TRAY_STATE_IDLE);

  /* A network's long name: the line is short, the window has the whole reason. */
  pl_profile_set_network (ssh, long_value);
  run_until (f, waiting_is, long_reason);
  pl_tray_menu_update (menu);
  item = pl_tray_menu_find_item (menu, "profile-state:SSH");
  g_assert_cmpint (g_utf8_strlen (item->label, -1), <=, PL_TRAY_MENU_MAX_CHARS);
  g_assert_true (g_str_has_prefix (item->label, "Only on network ‘the flat on the third"));
  g_assert_cmpstr (item->detail, ==, long_reason);

  /* Home: mapped, the lease's line again. */
  set_network (network, 0x01);
  run_until (f, waiting_is, NULL);
  pl_tray_menu_update (menu);
  item = pl_tray_menu_find_item (menu, "profile-state:SSH");
  g_assert_cmpstr (item->label, ==, "Active · TCP 2222");
  g_assert_cmpint (pl_tray_menu_get_state (menu), ==, PL_TRAY_STATE_ACTIVE);
}

static gboolean
double_nat_is (Fixture       *f,
               gconstpointer  data)
{
  return pl_engine_client_get_double_nat (f->engine) == GPOINTER_TO_INT (data);
}

static void
test_double_nat (Fixture       *f,
                 gconstpointer  data)
{
  g_test_summary ("The router's public address turns private (the router is behind "
                  "another NAT): the client says double NAT, as the engine's Manager does, "
                  "and the menu has the warning line, short, with the address in the window");

  run_until (f, address_known, NULL);
  g_assert_false (pl_engine_client_get_double_nat (f->engine));
  /* What the Manager's Refresh does: the engine asks the router again. */
  pl_fake_gateway_set_external_address (f->gateway, "10.0.0.5");
  pl_session_network_changed (f->session);
  run_until (f, double_nat_is, GINT_TO_POINTER (TRUE));
  g_assert_cmpstr (pl_engine_client_get_external_address (f->engine), ==, "10.0.0.5");
  {
    g_autofree char *path = g_build_filename (f->tmp, "tray-profiles.ini", NULL);
    g_autoptr(PlProfileStore) store = pl_profile_store_new (path);
    g_autoptr(PlTrayMenu) menu = pl_tray_menu_new (f->session, store);
    PlTrayItem *item;

    pl_tray_menu_set_engine (menu, f->engine);
    pl_tray_menu_update (menu);
    item = pl_tray_menu_find_item (menu, "double-nat");
    g_assert_nonnull (item);
    g_assert_cmpstr (item->label, ==, "Double NAT: ports may stay closed to the Internet");
    g_assert_cmpuint (g_utf8_strlen (item->label, -1), <=, 60);
    g_assert_nonnull (strstr (item->detail, "10.0.0.5"));
    pl_tray_menu_set_engine (menu, NULL);
  }
}

static gboolean
lease_failed (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(PlBrokerLease) lease = pl_engine_client_get_profile_lease (f->engine, data);

  return lease != NULL && g_strcmp0 (pl_broker_lease_get_state (lease), "failed") == 0;
}

static void
test_refused (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(PlProfile) web = pl_profile_new ("Web");
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (f->tmp, "tray-profiles.ini", NULL);
  g_autoptr(PlProfileStore) store = pl_profile_store_new (path);
  g_autoptr(PlTrayMenu) menu = NULL;
  PlTrayItem *item;

  g_test_summary ("The router refuses a profile of private port 80 (NAT-PMP 'not "
                  "authorized'): the client menu says it short with the likely cause, and the "
                  "router's message with the fix in the window, as the engine's own menu does");

  run_until (f, profile_line_is, "Active · TCP 2222");
  pl_fake_gateway_set_result_code (f->gateway, 2);
  pl_profile_set_protocol (web, PL_PROFILE_PROTOCOL_TCP);
  pl_profile_set_family (web, PL_PROFILE_FAMILY_IPV4);
  pl_profile_set_internal_port (web, 80);
  pl_profile_set_external_port (web, 8080);
  pl_profile_set_enabled (web, TRUE);
  g_list_store_append (f->profiles, web);
  run_until (f, lease_failed, "Web");

  g_assert_true (pl_profile_store_load_from_data (store, "[Web]\nProtocol=tcp\nInternalPort=80\n"
                                                  "ExternalPort=8080\nEnabled=true\n", -1,
                                                  &error));
  g_assert_no_error (error);
  menu = pl_tray_menu_new (f->session, store);
  pl_tray_menu_set_engine (menu, f->engine);
  pl_tray_menu_update (menu);
  item = pl_tray_menu_find_item (menu, "profile-state:Web");
  g_assert_nonnull (item);
  g_assert_cmpstr (item->label, ==, "Refused by the router (port 80 is below 1024)");
  g_assert_cmpuint (g_utf8_strlen (item->label, -1), <=, 60);
  g_assert_nonnull (strstr (item->detail, "run the service on a port of 1024 or above"));
  pl_tray_menu_set_engine (menu, NULL);
}

static void
add_both_profile (Fixture    *f,
                  const char *name,
                  guint       port)
{
  g_autoptr(PlProfile) profile = pl_profile_new (name);

  pl_profile_set_protocol (profile, PL_PROFILE_PROTOCOL_TCP);
  pl_profile_set_family (profile, PL_PROFILE_FAMILY_BOTH);
  pl_profile_set_internal_port (profile, port);
  pl_profile_set_lifetime (profile, 3600);
  pl_profile_set_enabled (profile, TRUE);
  g_list_store_append (f->profiles, profile);
}

/* The profile's lease is active with its pinhole in Mappings (data: the name). */
static gboolean
pinhole_open (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(PlBrokerLease) lease = pl_engine_client_get_profile_lease (f->engine, data);
  g_autoptr(GPtrArray) mappings = NULL;

  if (lease == NULL || g_strcmp0 (pl_broker_lease_get_state (lease), "active") != 0)
    return FALSE;
  mappings = pl_engine_client_lease_mappings (lease);
  for (guint i = 0; i < mappings->len; i++)
    if (g_strcmp0 (((PlEngineMapping *) g_ptr_array_index (mappings, i))->family, "ipv6") == 0)
      return pl_engine_client_get_ipv6_address (f->engine) != NULL;
  return FALSE;
}

/* The profile's lease is active, and says why its pinhole is not open (data: the name). */
static gboolean
pinhole_refused (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(PlBrokerLease) lease = pl_engine_client_get_profile_lease (f->engine, data);

  return lease != NULL && g_strcmp0 (pl_broker_lease_get_state (lease), "active") == 0 &&
         pl_engine_client_get_pinhole_error (lease) != NULL;
}

typedef struct
{
  gboolean  done;
  char     *out;
  int       status;
} StatusRun;

static void
status_communicated_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  StatusRun *run = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result,
                                                       &run->out, NULL, &error));
  g_assert_no_error (error);
  run->status = g_subprocess_get_exit_status (G_SUBPROCESS (source));
  run->done = TRUE;
}

static gboolean
status_done (Fixture       *f,
             gconstpointer  data)
{
  return ((const StatusRun *) data)->done;
}

/* `portlightctl status [--json]` ($PORTLIGHTCTL) against this test's in-process engine,
 * which answers from this thread meanwhile; returns its standard output. */
static char *
run_status (Fixture    *f,
            const char *json)
{
  g_autoptr(GSubprocessLauncher) launcher = pl_test_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  StatusRun run = { 0 };

  g_assert_nonnull (g_getenv ("PORTLIGHTCTL"));
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", f->address, TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("PORTLIGHTCTL"), "status",
                                         json, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (process, NULL, NULL, status_communicated_cb, &run);
  run_until (f, status_done, &run);
  g_assert_cmpint (run.status, ==, 0);
  return run.out;
}

/* The label of the menu's item @id, as the engine's client (@engine) or the tray's own
 * engine (NULL) builds it. */
static char *
menu_label (PlTrayMenu     *menu,
            PlEngineClient *engine,
            const char     *id,
            char          **detail)
{
  PlTrayItem *item;

  pl_tray_menu_set_engine (menu, engine);
  pl_tray_menu_update (menu);
  item = pl_tray_menu_find_item (menu, id);
  if (detail != NULL)
    *detail = item != NULL ? g_strdup (item->detail) : NULL;
  return item != NULL ? g_strdup (item->label) : NULL;
}

static void
test_pinholes (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->tmp, "tray-profiles.ini", NULL);
  g_autoptr(PlProfileStore) store = pl_profile_store_new (path);
  g_autoptr(PlTrayMenu) menu = NULL;
  g_autoptr(PlBrokerLease) lease = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *address6 = NULL;
  g_autofree char *own_address6 = NULL;
  g_autofree char *web = NULL;
  g_autofree char *web_detail = NULL;
  g_autofree char *game = NULL;
  g_autofree char *game6 = NULL;
  g_autofree char *own_game6 = NULL;
  g_autofree char *status_text = NULL;
  g_autofree char *status_json = NULL;
  g_autofree char *want = NULL;
  PlMapping *refused;

  g_test_summary ("A PCP router that opens IPv6 pinholes (a fake PCP server on ::1): the "
                  "client menu says this computer's IPv6 address (Manager.Ipv6Address) and, "
                  "in the window, where a both-family profile is also open over IPv6; when "
                  "the router refuses a pinhole, the profile's IPv4 port stays active and "
                  "the line under it says why (Lease.PinholeError), in the same words as "
                  "the tray's own engine");

  g_assert_true (pl_profile_store_load_from_data (store,
                                                  "[SSH]\nProtocol=tcp\nInternalPort=22\n"
                                                  "ExternalPort=2222\nFamily=ipv4\n"
                                                  "Enabled=true\n"
                                                  "[Web]\nProtocol=tcp\nInternalPort=8080\n"
                                                  "Enabled=true\n"
                                                  "[Game]\nProtocol=tcp\nInternalPort=27015\n"
                                                  "Enabled=true\n", -1, &error));
  g_assert_no_error (error);
  menu = pl_tray_menu_new (f->session, store);

  add_both_profile (f, "Web", 8080);
  run_until (f, pinhole_open, "Web");
  g_assert_cmpstr (pl_engine_client_get_ipv6_address (f->engine), ==, "::1");
  address6 = menu_label (menu, f->engine, "address6", NULL);
  g_assert_cmpstr (address6, ==, "IPv6 address ::1");
  own_address6 = menu_label (menu, NULL, "address6", NULL);
  g_assert_cmpstr (own_address6, ==, address6);
  web = menu_label (menu, f->engine, "profile-state:Web", &web_detail);
  g_assert_cmpstr (web, ==, "Active · TCP 8080");
  g_assert_cmpstr (web_detail, ==, "Also open on [::1]:8080 (IPv6)");
  lease = pl_engine_client_get_profile_lease (f->engine, "Web");
  g_assert_null (pl_engine_client_get_pinhole_error (lease));
  g_clear_object (&lease);

  /* The router no longer opens pinholes: the next profile's is refused (NOT_AUTHORIZED). */
  pl_fake_pcp_gateway_set_result_code (f->pcp6, 2);
  add_both_profile (f, "Game", 27015);
  run_until (f, pinhole_refused, "Game");
  game = menu_label (menu, f->engine, "profile-state:Game", NULL);
  g_assert_cmpstr (game, ==, "Active · TCP 27015");
  refused = pl_session_find_mapping_full (f->session, "Game", PL_PROTOCOL_TCP,
                                          G_SOCKET_FAMILY_IPV6);
  g_assert_nonnull (refused);
  g_assert_cmpint (pl_mapping_get_state (refused), ==, PL_MAPPING_STATE_FAILED);
  g_assert_nonnull (pl_mapping_get_error (refused));
  /* The engine's words, whole on the bus, shortened in the menu as any line is. */
  lease = pl_engine_client_get_profile_lease (f->engine, "Game");
  g_assert_cmpstr (pl_engine_client_get_pinhole_error (lease), ==,
                   pl_mapping_get_error (refused)->message);
  game6 = menu_label (menu, f->engine, "profile-ipv6:Game", NULL);
  g_assert_nonnull (game6);
  g_assert_true (g_str_has_prefix (game6, "IPv6: The router at ::1 refused"));
  g_assert_cmpuint (g_utf8_strlen (game6, -1), <=, PL_TRAY_MENU_MAX_CHARS);
  own_game6 = menu_label (menu, NULL, "profile-ipv6:Game", NULL);
  g_assert_cmpstr (own_game6, ==, game6);

  /* portlightctl status says the same: the pinhole address, and the refused pinhole under
   * the profile whose IPv4 side is active. */
  status_text = run_status (f, NULL);
  g_assert_nonnull (strstr (status_text, "IPv6 address (pinholes): ::1\n"));
  want = g_strdup_printf ("    IPv6 pinhole problem: %s\n", pl_mapping_get_error (refused)->message);
  g_assert_nonnull (strstr (status_text, want));
  status_json = run_status (f, "--json");
  g_assert_nonnull (strstr (status_json, "\"ipv6_address\":\"::1\""));
  g_assert_nonnull (strstr (status_json, "\"pinhole_error\":{\"code\":\"not-authorized\""));
  g_assert_nonnull (strstr (status_json, "\"pinhole_error\":null"));
}

/* Against `portlightctl run` ($PORTLIGHTCTL), a process of its own, which keeps the
 * profiles file: the editor's calls wait for its answer, which this thread could not give
 * to an in-process broker. Its own bus, fake gateway (real clock) and XDG folders
 * (G_TEST_OPTION_ISOLATE_DIRS). */
typedef struct
{
  GTestDBus      *bus;
  PlClock        *clock;
  PlFakeGateway  *gateway;
  char           *gateway_address;
  char           *profiles_path;
  GSubprocess    *process;
  gboolean        exited;
  PlTestClient   *viewer;
  PlEngineClient *engine;
  guint           guard_id;
} Spawned;

typedef gboolean (*SpawnedPredicate) (Spawned *s, gconstpointer data);

static void
spawned_wait (Spawned          *s,
              SpawnedPredicate  predicate,
              gconstpointer     data)
{
  while (!predicate (s, data))
    g_main_context_iteration (NULL, TRUE);
}

static void
engine_exited_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Spawned *s = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  s->exited = TRUE;
}

static gboolean
engine_running (Spawned       *s,
                gconstpointer  data)
{
  return pl_engine_client_get_running (s->engine) == GPOINTER_TO_INT (data) &&
         (!GPOINTER_TO_INT (data) || pl_engine_client_get_manager (s->engine) != NULL);
}

static gboolean
engine_exited (Spawned       *s,
               gconstpointer  data)
{
  return s->exited;
}

static void
spawn_engine (Spawned *s)
{
  g_autoptr(GSubprocessLauncher) launcher =
    pl_test_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (g_getenv ("PORTLIGHTCTL"));
  s->exited = FALSE;
  s->process = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("PORTLIGHTCTL"), "run",
                                            "--protocol", "natpmp", "-g", s->gateway_address,
                                            NULL);
  g_assert_no_error (error);
  g_subprocess_wait_async (s->process, NULL, engine_exited_cb, s);
}

static void
name_appeared_cb (GDBusConnection *connection,
                  const char      *name,
                  const char      *owner,
                  gpointer         user_data)
{
  *(gboolean *) user_data = TRUE;
}

/* Until the engine owns its name (it exports its objects first). */
static void
wait_for_name (Spawned *s)
{
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  gboolean appeared = FALSE;
  guint id;

  connection = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (s->bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
  id = g_bus_watch_name_on_connection (connection, PL_BROKER_BUS_NAME,
                                       G_BUS_NAME_WATCHER_FLAGS_NONE, name_appeared_cb, NULL,
                                       &appeared, NULL);
  while (!appeared && !s->exited)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (s->exited);
  g_bus_unwatch_name (id);
  g_dbus_connection_close_sync (connection, NULL, NULL);
}

static void
spawned_set_up (Spawned       *s,
                gconstpointer  data)
{
  static guint next_n = 1;
  g_autofree char *folder = g_build_filename (g_get_user_config_dir (), "portlight", NULL);
  g_autoptr(GError) error = NULL;

  s->guard_id = g_timeout_add_seconds (60, guard_cb, NULL);
  s->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  pl_test_bus_up (s->bus);   /* sets DBUS_SESSION_BUS_ADDRESS for the child */
  s->clock = pl_clock_get_default ();
  s->gateway_address = g_strdup_printf ("127.0.67.%u", next_n++);
  s->gateway = pl_fake_gateway_new (s->gateway_address, s->clock, &error);
  g_assert_no_error (error);

  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  s->profiles_path = g_build_filename (folder, "profiles.ini", NULL);
  g_file_set_contents (s->profiles_path,
                       "[SSH]\nProtocol=tcp\nInternalPort=22\nExternalPort=2222\n"
                       "Enabled=true\n", -1, &error);
  g_assert_no_error (error);

  spawn_engine (s);
  wait_for_name (s);
  s->viewer = pl_test_client_new (g_test_dbus_get_bus_address (s->bus));
  s->engine = pl_engine_client_new (s->viewer->objects);
  spawned_wait (s, engine_running, GINT_TO_POINTER (TRUE));
}

static void
stop_engine (Spawned *s)
{
  g_subprocess_send_signal (s->process, SIGTERM);
  spawned_wait (s, engine_exited, NULL);
  g_assert_true (g_subprocess_get_if_exited (s->process));
  g_assert_cmpint (g_subprocess_get_exit_status (s->process), ==, 0);
  g_clear_object (&s->process);
}

static void
spawned_tear_down (Spawned       *s,
                   gconstpointer  data)
{
  if (s->process != NULL)
    stop_engine (s);
  g_clear_object (&s->engine);
  g_clear_pointer (&s->viewer, pl_test_client_free);
  drain ();
  pl_test_bus_down (s->bus);
  g_clear_object (&s->bus);
  g_clear_object (&s->gateway);
  g_clear_object (&s->clock);
  drain ();
  g_free (s->gateway_address);
  g_free (s->profiles_path);
  g_clear_handle_id (&s->guard_id, g_source_remove);
}

static gboolean
profile_object_is (Spawned       *s,
                   gconstpointer  data)
{
  g_autoptr(PlBrokerProfile) profile = pl_engine_client_get_profile (s->engine, data);

  return profile != NULL;
}

static gboolean
profile_object_gone (Spawned       *s,
                     gconstpointer  data)
{
  return !profile_object_is (s, data);
}

/* The file as the engine wrote it, parsed as the tray's store reads it. */
static PlProfileStore *
load_file (Spawned *s)
{
  PlProfileStore *store = pl_profile_store_new (s->profiles_path);
  g_autoptr(GError) error = NULL;

  g_assert_true (pl_profile_store_load (store, NULL, &error));
  g_assert_no_error (error);
  return store;
}

static void
edit_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* pl_engine_client_save_profile_async(), its answer waited for. */
static gboolean
save_profile (PlEngineClient  *engine,
              const char      *old_name,
              PlProfile       *profile,
              GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  pl_engine_client_save_profile_async (engine, old_name, profile, NULL, edit_done_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return pl_engine_client_save_profile_finish (engine, result, error);
}

static gboolean
delete_profile (PlEngineClient  *engine,
                const char      *name,
                GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  pl_engine_client_delete_profile_async (engine, name, NULL, edit_done_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return pl_engine_client_delete_profile_finish (engine, result, error);
}

static void
test_edit (Spawned       *s,
           gconstpointer  data)
{
  g_autoptr(PlProfile) game = pl_profile_new ("Game");
  g_autoptr(PlProfile) edited = NULL;
  g_autoptr(PlProfile) clash = NULL;
  g_autoptr(PlProfileStore) store = NULL;
  g_autoptr(PlBrokerProfile) object = NULL;
  g_autoptr(GError) error = NULL;
  PlProfile *stored;

  g_test_summary ("The profile editor through the engine: a new profile (UDP, any public "
                  "port, a description, tied to an application) is created by the engine, "
                  "which writes it to the file; an edit renames it and changes its port; a "
                  "clash with another profile's port is refused with the engine's reason and "
                  "changes nothing; Delete removes it from the file");

  pl_profile_set_protocol (game, PL_PROFILE_PROTOCOL_UDP);
  pl_profile_set_family (game, PL_PROFILE_FAMILY_IPV4);
  pl_profile_set_internal_port (game, 27015);
  pl_profile_set_any_external_port (game, TRUE);
  pl_profile_set_description (game, "LAN party");
  pl_profile_set_app (game, "process:srcds");
  pl_profile_set_enabled (game, FALSE);
  g_assert_true (save_profile (s->engine, NULL, game, &error));
  g_assert_no_error (error);

  store = load_file (s);
  stored = pl_profile_store_lookup (store, "Game");
  g_assert_nonnull (stored);
  g_assert_cmpint (pl_profile_get_protocol (stored), ==, PL_PROFILE_PROTOCOL_UDP);
  g_assert_cmpuint (pl_profile_get_internal_port (stored), ==, 27015);
  g_assert_true (pl_profile_get_any_external_port (stored));
  g_assert_cmpstr (pl_profile_get_description (stored), ==, "LAN party");
  g_assert_cmpstr (pl_profile_get_app (stored), ==, "process:srcds");
  g_assert_false (pl_profile_get_enabled (stored));
  g_assert_nonnull (pl_profile_store_lookup (store, "SSH"));
  g_clear_object (&store);
  spawned_wait (s, profile_object_is, "Game");

  /* Renamed, another port, no longer tied to the application. */
  edited = pl_profile_copy (game);
  pl_profile_set_name (edited, "Game server");
  pl_profile_set_internal_port (edited, 27016);
  pl_profile_set_app (edited, NULL);
  g_assert_true (save_profile (s->engine, "Game", edited, &error));
  g_assert_no_error (error);
  store = load_file (s);
  g_assert_null (pl_profile_store_lookup (store, "Game"));
  stored = pl_profile_store_lookup (store, "Game server");
  g_assert_nonnull (stored);
  g_assert_cmpuint (pl_profile_get_internal_port (stored), ==, 27016);
  g_assert_null (pl_profile_get_app (stored));
  g_assert_true (pl_profile_get_any_external_port (stored));
  g_clear_object (&store);
  spawned_wait (s, profile_object_is, "Game server");
  spawned_wait (s, profile_object_gone, "Game");

  /* SSH's port: the engine refuses, says why, and the file keeps what it had. */
  clash = pl_profile_copy (edited);
  pl_profile_set_protocol (clash, PL_PROFILE_PROTOCOL_TCP);
  pl_profile_set_internal_port (clash, 22);
  g_assert_false (save_profile (s->engine, "Game server", clash, &error));
  g_assert_nonnull (error);
  g_assert_null (strstr (error->message, "org.freedesktop"));
  g_assert_cmpstr (error->message, !=, "");
  g_clear_error (&error);
  store = load_file (s);
  g_assert_cmpuint (pl_profile_get_internal_port (pl_profile_store_lookup (store, "Game server")),
                    ==, 27016);
  g_clear_object (&store);

  /* Unknown to the engine: said so, nothing called. */
  g_assert_false (save_profile (s->engine, "Nonexistent", clash, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (delete_profile (s->engine, "Game server", &error));
  g_assert_no_error (error);
  store = load_file (s);
  g_assert_null (pl_profile_store_lookup (store, "Game server"));
  g_assert_nonnull (pl_profile_store_lookup (store, "SSH"));
  spawned_wait (s, profile_object_gone, "Game server");
  object = pl_engine_client_get_profile (s->engine, "SSH");
  g_assert_nonnull (object);
}

static gboolean
gateway_is (Spawned       *s,
            gconstpointer  data)
{
  return g_strcmp0 (pl_engine_client_get_gateway (s->engine), data) == 0;
}

static void
count_changed_cb (PlEngineClient *engine,
                  guint          *n)
{
  (*n)++;
}

/* `portlightctl run` publishes the reason (pl_app_profiles_publish_waiting()). */
static gboolean
run_waiting_has_prefix (Spawned       *s,
                        gconstpointer  data)
{
  g_autofree char *waiting = pl_engine_client_dup_waiting (s->engine, "Game");

  return data != NULL ? waiting != NULL && g_str_has_prefix (waiting, data) : waiting == NULL;
}

static void
test_run_waiting (Spawned       *s,
                  gconstpointer  data)
{
  g_autoptr(PlProfile) game = pl_profile_new ("Game");
  g_autoptr(GError) error = NULL;

  g_test_summary ("`portlightctl run` says on the Profile object why it keeps an enabled "
                  "App= profile off (its program does not run), and no longer once the "
                  "profile is switched off");

  pl_profile_set_protocol (game, PL_PROFILE_PROTOCOL_UDP);
  pl_profile_set_family (game, PL_PROFILE_FAMILY_IPV4);
  pl_profile_set_internal_port (game, 27015);
  pl_profile_set_app (game, "process:pl-no-such-program");
  pl_profile_set_enabled (game, TRUE);
  g_assert_true (save_profile (s->engine, NULL, game, &error));
  g_assert_no_error (error);
  spawned_wait (s, run_waiting_has_prefix, "Waiting for pl-no-such-program to start");
  g_assert_null (pl_engine_client_dup_waiting (s->engine, "SSH"));

  pl_profile_set_enabled (game, FALSE);
  g_assert_true (save_profile (s->engine, "Game", game, &error));
  g_assert_no_error (error);
  spawned_wait (s, run_waiting_has_prefix, NULL);
}

static void
test_engine_restart (Spawned       *s,
                     gconstpointer  data)
{
  guint n_changed = 0;

  g_test_summary ("The engine stops: the client says it is not running and has no Manager "
                  "(what the menu calls \"Portlight's engine stopped\"); another engine "
                  "takes the name: the same client follows it, its profiles and router "
                  "included");

  g_signal_connect (s->engine, "changed", G_CALLBACK (count_changed_cb), &n_changed);
  stop_engine (s);
  spawned_wait (s, engine_running, GINT_TO_POINTER (FALSE));
  g_assert_null (pl_engine_client_get_manager (s->engine));
  g_assert_null (pl_engine_client_get_gateway (s->engine));
  g_assert_cmpuint (n_changed, >, 0);

  spawn_engine (s);
  spawned_wait (s, engine_running, GINT_TO_POINTER (TRUE));
  spawned_wait (s, profile_object_is, "SSH");
  /* The Manager's Gateway comes with the engine's first answer from the router, which may
   * be after its profiles' objects. */
  spawned_wait (s, gateway_is, s->gateway_address);
  /* The counter is this frame's: the tear-down stops the engine again. */
  g_signal_handlers_disconnect_by_func (s->engine, count_changed_cb, &n_changed);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/tray/engine-client/state", Fixture, NULL, fixture_set_up, test_state,
              fixture_tear_down);
  g_test_add ("/tray/engine-client/app-lease", Fixture, NULL, fixture_set_up, test_app_lease,
              fixture_tear_down);
  g_test_add ("/tray/engine-client/port-changed", Fixture, NULL, fixture_set_up,
              test_port_changed, fixture_tear_down);
  g_test_add ("/tray/engine-client/waiting", Fixture, NULL, fixture_set_up, test_waiting,
              fixture_tear_down);
  g_test_add ("/tray/engine-client/refused", Fixture, NULL, fixture_set_up, test_refused,
              fixture_tear_down);
  g_test_add ("/tray/engine-client/double-nat", Fixture, NULL, fixture_set_up,
              test_double_nat, fixture_tear_down);
  g_test_add ("/tray/engine-client/pinholes", Fixture, GINT_TO_POINTER (1), fixture_set_up,
              test_pinholes, fixture_tear_down);
  g_test_add ("/tray/engine-client/edit", Spawned, NULL, spawned_set_up, test_edit,
              spawned_tear_down);
  g_test_add ("/tray/engine-client/run-waiting", Spawned, NULL, spawned_set_up,
              test_run_waiting, spawned_tear_down);
  g_test_add ("/tray/engine-client/engine-restart", Spawned, NULL, spawned_set_up,
              test_engine_restart, spawned_tear_down);
  return g_test_run ();
}
