/* test-broker.c: the broker on a private session bus (GTestDBus) against the fake gateway
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
#include "pl-fake-gateway.h"
#include "pl-fake-systemd.h"
#include "pl-test-launcher.h"
#include "pl-fake-pcp-gateway.h"

/* Each test has a private session bus (GTestDBus) and its own fake NAT-PMP gateway on
 * 127.0.61.N. The broker, its session and the fake gateway run in this thread on a virtual
 * clock that moves only when a test says so; clients are separate connections (separate
 * unique names) from pl-broker-test-client.c, also in this thread, so every call is made
 * asynchronously and waited for by iterating the main context. Tests of `portlightctl run`
 * (second engine, no bus, bus teardown, activation) run the real binary ($PORTLIGHTCTL)
 * against the same fake gateway. The B-xx numbers are those of dbus-broker.md §9. */

#define BROKER_IFACE   "io.github.portlight.Portlight.Broker1"
#define LEASE_IFACE    BROKER_IFACE ".Lease"
#define MANAGER_IFACE  BROKER_IFACE ".Manager"
#define ERROR_PREFIX   BROKER_IFACE ".Error."
#define SANDBOX_APP    "org.example.Sandboxed"

typedef struct
{
  guint    n;               /* the gateway is 127.0.61.n */
  gboolean no_broker;       /* tests of portlightctl run: nobody owns the name in-process */
  gboolean no_gateway;      /* gateway discovery fails */
  gboolean sandboxed;       /* this process looks like a Flatpak app to the broker */
  gboolean allowed;         /* ...which the user allowed */
  gboolean store;           /* the user's profiles are a PlProfileStore on a file */
  gboolean no_rate_limit;   /* as many requests at once as the client likes */
  gboolean group;           /* a session group; Gateway=vpn is a second gateway, 127.0.61.(100 + n) */
} Setup;

typedef struct
{
  const Setup     *setup;
  GTestDBus       *bus;
  gboolean         bus_down;
  const char      *address;
  PlClock         *clock;
  PlFakeGateway   *gateway;
  char            *gateway_address;
  GListStore      *profiles;
  PlProfileStore  *store;
  char            *store_path;
  PlBroker        *broker;
  PlSession       *session;
  PlSessionGroup  *group;
  PlFakeGateway   *other;           /* setup->group: the second gateway */
  gboolean         tunnel_down;     /* ...which then cannot be found */
  char            *other_address;
  GDBusConnection *connection;
  char            *tmp;
  guint            n_discoveries;
  guint            guard_id;
} Fixture;

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

/* Gateway=vpn: the second gateway stands for the tunnel's. */
static PlGateway *
other_gateway_discover (gpointer   user_data,
                        GError   **error)
{
  Fixture *f = user_data;
  PlGateway *gateway;

  if (f->tunnel_down)
    {
      g_set_error_literal (error, PL_ERROR, PL_ERROR_NO_GATEWAY, "No VPN tunnel is up (test)");
      return NULL;
    }
  gateway = g_new0 (PlGateway, 1);
  gateway->address = g_inet_address_new_from_string (f->other_address);
  return gateway;
}

/* The group's session for the second gateway: as the engine adds it (pl-cli-run.c). */
static void
session_added_cb (PlSessionGroup *group,
                  PlSession      *session,
                  Fixture        *f)
{
  pl_session_set_mapper_factory (session, test_factory, f, NULL);
  pl_session_set_discover_func (session, other_gateway_discover, f, NULL);
  pl_session_set_ipv6_pinholes (session, FALSE);
  pl_broker_add_session (f->broker, session);
}

static PlGateway *
no_gateway_discover (gpointer   user_data,
                     GError   **error)
{
  Fixture *f = user_data;

  f->n_discoveries++;
  g_set_error_literal (error, PL_ERROR, PL_ERROR_NO_GATEWAY, "No default route (test)");
  return NULL;
}

static void
own_cb (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  gboolean *done = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (pl_broker_own_name_finish (PL_BROKER (source), result, NULL, &error));
  g_assert_no_error (error);
  *done = TRUE;
}

/* A fake /proc holding only this process: its comm, and for sandboxed setups a Flatpak
 * .flatpak-info (the broker reads identity from there, never from arguments). */
static char *
make_proc_root (Fixture *f)
{
  g_autofree char *proc = g_build_filename (f->tmp, "proc", NULL);
  g_autofree char *pid_dir = g_strdup_printf ("%s/%d", proc, (int) getpid ());
  g_autofree char *root = g_build_filename (pid_dir, "root", NULL);
  g_autofree char *comm = g_build_filename (pid_dir, "comm", NULL);
  g_autofree char *info = g_build_filename (root, ".flatpak-info", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (root, 0700), ==, 0);
  g_file_set_contents (comm, "test-broker\n", -1, &error);
  g_assert_no_error (error);
  if (f->setup->sandboxed)
    {
      g_file_set_contents (info, "[Application]\nname=" SANDBOX_APP "\n\n[Context]\n"
                           "shared=network;ipc;\n", -1, &error);
      g_assert_no_error (error);
    }
  return g_steal_pointer (&proc);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) gateway = NULL;
  g_autofree char *proc_root = NULL;
  gboolean owned = FALSE;

  f->setup = data;
  f->guard_id = g_timeout_add_seconds (60, guard_cb, NULL);
  f->tmp = g_dir_make_tmp ("test-broker-XXXXXX", &error);
  g_assert_no_error (error);

  f->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  pl_test_bus_up (f->bus);
  f->address = g_test_dbus_get_bus_address (f->bus);

  f->clock = pl_clock_new_virtual (FALSE);
  f->gateway_address = g_strdup_printf ("127.0.61.%u", f->setup->n);
  f->gateway = pl_fake_gateway_new (f->gateway_address, f->clock, &error);
  g_assert_no_error (error);
  f->profiles = g_list_store_new (PL_TYPE_PROFILE);

  if (f->setup->no_broker)
    return;

  if (f->setup->store)
    {
      f->store_path = g_build_filename (f->tmp, "profiles.ini", NULL);
      g_file_set_contents (f->store_path, "[Web]\nProtocol=both\nFamily=ipv4\n"
                           "InternalPort=18081\nEnabled=false\n", -1, &error);
      g_assert_no_error (error);
      f->store = pl_profile_store_new (f->store_path);
      pl_profile_store_load (f->store, NULL, &error);
      g_assert_no_error (error);
    }
  f->broker = pl_broker_new (f->store != NULL ? G_LIST_MODEL (f->store)
                                              : G_LIST_MODEL (f->profiles));
  proc_root = make_proc_root (f);
  pl_broker_set_proc_root (f->broker, proc_root);
  if (f->setup->no_rate_limit)
    pl_broker_set_rate_limit (f->broker, 0, 0);
  if (f->setup->allowed)
    {
      const char *apps[] = { SANDBOX_APP, NULL };

      pl_broker_set_allowed_apps (f->broker, apps);
    }

  gateway = g_inet_address_new_from_string (f->gateway_address);
  f->session = g_object_new (PL_TYPE_SESSION,
                             "profiles", pl_broker_get_profiles (f->broker),
                             "clock", f->clock,
                             "fixed-gateway", f->setup->no_gateway ? NULL : gateway,
                             "monitor-network", FALSE,
                             "announce-port", 0u,
                             NULL);
  pl_session_set_mapper_factory (f->session, test_factory, f, NULL);
  pl_session_set_discover_func (f->session, no_gateway_discover, f, NULL);
  pl_session_set_ipv6_pinholes (f->session, FALSE);
  pl_broker_set_session (f->broker, f->session);
  if (f->setup->group)
    {
      f->other_address = g_strdup_printf ("127.0.61.%u", 100 + f->setup->n);
      f->other = pl_fake_gateway_new (f->other_address, f->clock, &error);
      g_assert_no_error (error);
      f->group = pl_session_group_new (f->session);
      g_signal_connect (f->group, "session-added", G_CALLBACK (session_added_cb), f);
      pl_session_group_start (f->group);
    }
  else
    pl_session_start (f->session);

  f->connection = g_dbus_connection_new_for_address_sync (
    f->address,
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
  pl_broker_own_name_async (f->broker, f->connection, NULL, own_cb, &owned);
  pl_test_wait_flag (&owned);
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
  if (f->broker != NULL)
    pl_broker_shutdown (f->broker);
  g_clear_object (&f->broker);
  if (f->group != NULL)
    g_signal_handlers_disconnect_by_data (f->group, f);
  g_clear_object (&f->group);
  g_clear_object (&f->session);
  if (f->connection != NULL)
    g_dbus_connection_close_sync (f->connection, NULL, NULL);
  g_clear_object (&f->connection);
  drain ();
  if (!f->bus_down)
    pl_test_bus_down (f->bus);
  g_clear_object (&f->bus);
  g_clear_object (&f->gateway);
  g_clear_object (&f->other);
  g_free (f->other_address);
  drain ();
  g_clear_object (&f->profiles);
  g_clear_object (&f->store);
  g_free (f->store_path);
  g_clear_object (&f->clock);
  g_clear_handle_id (&f->guard_id, g_source_remove);
  if (f->tmp != NULL)
    remove_tree (f->tmp);
  g_free (f->tmp);
  g_free (f->gateway_address);
}

/* Helpers. */

/* Map requests the fake gateway saw for @internal_port: all of them, or only deletes. */
static guint
count_requests (Fixture  *f,
                guint16   internal_port,
                gboolean  deletes_only)
{
  GPtrArray *requests = pl_fake_gateway_get_requests (f->gateway);
  guint n = 0;

  for (guint i = 0; i < requests->len; i++)
    {
      PlFakeRequest *r = g_ptr_array_index (requests, i);

      if ((r->request.opcode == 1 || r->request.opcode == 2) &&
          r->request.internal_port == internal_port &&
          (!deletes_only || r->request.lifetime == 0))
        n++;
    }
  return n;
}

/* The engine never sends NAT-PMP's "delete all" (internal port 0). */
static void
assert_no_delete_all (Fixture *f)
{
  GPtrArray *requests = pl_fake_gateway_get_requests (f->gateway);

  for (guint i = 0; i < requests->len; i++)
    {
      PlFakeRequest *r = g_ptr_array_index (requests, i);

      if (r->request.opcode == 1 || r->request.opcode == 2)
        g_assert_cmpuint (r->request.internal_port, !=, 0);
    }
}

static void
wait_deletes (Fixture *f,
              guint16  internal_port,
              guint    n)
{
  while (count_requests (f, internal_port, TRUE) < n)
    g_main_context_iteration (NULL, TRUE);
}

/* Everything sent before this went through: a fresh mapping on @port goes active, and the
 * gateway answers in order. Leaves that lease behind (released by the client's exit). */
static void
barrier (Fixture      *f,
         PlTestClient *client,
         guint16       port)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = pl_test_client_request (client, "udp", port, NULL, NULL, &error);

  g_assert_no_error (error);
  pl_test_client_wait_state (client, path, "active");
}

static void
assert_dbus_error (const GError *error,
                   const char   *name)
{
  g_autofree char *remote = NULL;

  g_assert_nonnull (error);
  remote = g_dbus_error_get_remote_error (error);
  if (g_strcmp0 (remote, name) != 0)
    g_error ("Expected %s, got %s: %s", name, remote, error->message);
}

static GVariant *
options (const char *text)
{
  g_autoptr(GError) error = NULL;
  GVariant *value = g_variant_parse (G_VARIANT_TYPE_VARDICT, text, NULL, NULL, &error);

  g_assert_no_error (error);
  return value;
}

/* Iterates until @predicate holds, moving virtual time on by a second whenever nothing is
 * ready (the session's retry and round timers run on the virtual clock); a short real
 * timeout lets bus messages from the worker thread in. */
typedef gboolean (*Predicate) (Fixture *f, gpointer data);

static gboolean
tick_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
run_until (Fixture   *f,
           Predicate  predicate,
           gpointer   data)
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

static guint16
mapping_port (PlBrokerLease *lease,
              guint          index)
{
  g_autoptr(GVariant) entry = NULL;
  guint16 port = 0;

  entry = g_variant_get_child_value (pl_broker_lease_get_mappings (lease), index);
  g_assert_true (g_variant_lookup (entry, "external_port", "q", &port));
  return port;
}

static char *finish_process (GSubprocess *process);
static void store_cb (GObject *source, GAsyncResult *result, gpointer user_data);

/* B-01: request → active; Mappings lists tcp and udp with the fake gateway's answer. */
static void
test_request_active (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(PlTestClient) client = pl_test_client_new (f->address);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr(PlBrokerLease) lease = NULL;
  g_autoptr(GVariant) tcp = NULL;
  g_autoptr(GVariant) udp = NULL;
  const char *text = NULL;
  guint32 pid = 0;
  gboolean sandboxed = TRUE;

  path = pl_test_client_request (client, "tcp,udp", 51413,
                                 options ("{'description': <'Transmission\\u0007 test'>}"),
                                 NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (path, PL_LEASE_PATH_PREFIX));

  /* The object exists, pending or already further, as soon as the call returns. */
  lease = pl_test_client_get_lease (client, path);
  g_assert_nonnull (lease);
  pl_test_client_wait_state (client, path, "active");

  g_assert_cmpuint (g_variant_n_children (pl_broker_lease_get_mappings (lease)), ==, 2);
  tcp = g_variant_get_child_value (pl_broker_lease_get_mappings (lease), 0);
  udp = g_variant_get_child_value (pl_broker_lease_get_mappings (lease), 1);
  g_assert_true (g_variant_lookup (tcp, "protocol", "&s", &text));
  g_assert_cmpstr (text, ==, "tcp");
  g_assert_true (g_variant_lookup (udp, "protocol", "&s", &text));
  g_assert_cmpstr (text, ==, "udp");
  g_assert_true (g_variant_lookup (tcp, "external_address", "&s", &text));
  g_assert_cmpstr (text, ==, "203.0.113.7");
  g_assert_true (g_variant_lookup (tcp, "method", "&s", &text));
  g_assert_cmpstr (text, ==, "nat-pmp");
  g_assert_true (g_variant_lookup (tcp, "gateway", "&s", &text));
  g_assert_cmpstr (text, ==, f->gateway_address);
  g_assert_cmpuint (mapping_port (lease, 0), ==, 51413);
  g_assert_cmpuint (mapping_port (lease, 1), ==, 51413);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 2);

  /* Who holds it comes from the bus, and the description is cleaned. */
  g_assert_cmpstr (pl_broker_lease_get_description (lease), ==, "Transmission test");
  g_assert_cmpstr (pl_broker_lease_get_bind (lease), ==, "caller");
  g_assert_cmpuint (pl_broker_lease_get_deadline (lease), ==, 0);
  g_assert_cmpuint (pl_broker_lease_get_created_at (lease), >, 0);
  g_assert_true (g_variant_lookup (pl_broker_lease_get_owner (lease), "bus_name", "&s", &text));
  g_assert_cmpstr (text, ==, pl_test_client_get_name (client));
  g_assert_true (g_variant_lookup (pl_broker_lease_get_owner (lease), "pid", "u", &pid));
  g_assert_cmpuint (pid, ==, (guint) getpid ());
  g_assert_true (g_variant_lookup (pl_broker_lease_get_owner (lease), "sandboxed", "b",
                                   &sandboxed));
  g_assert_false (sandboxed);
  g_assert_true (g_variant_lookup (pl_broker_lease_get_owner (lease), "process_name", "&s",
                                   &text));
  g_assert_cmpstr (text, ==, "test-broker");
  g_assert_true (g_variant_lookup (pl_broker_lease_get_owner (lease), "kind", "&s", &text));
  g_assert_cmpstr (text, ==, "app");

  /* The Manager says what the engine knows. */
  g_assert_cmpuint (pl_broker_manager_get_version (client->manager), ==, 1);
  g_assert_cmpstr (pl_broker_manager_get_state (client->manager), ==, "ready");
  g_assert_cmpstr (pl_broker_manager_get_method (client->manager), ==, "nat-pmp");
  g_assert_cmpstr (pl_broker_manager_get_gateway (client->manager), ==, f->gateway_address);
}

/* B-02: the caller leaves without Release: the lease goes, and the gateway gets deletes for
 * that port only, never "delete all". */
static void
test_caller_vanishes (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(PlTestClient) client = pl_test_client_new (f->address);
  g_autoptr(PlTestClient) observer = pl_test_client_new (f->address);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  path = pl_test_client_request (client, "tcp,udp", 51414, NULL, NULL, &error);
  g_assert_no_error (error);
  pl_test_client_wait_state (observer, path, "active");
  g_assert_cmpuint (count_requests (f, 51414, TRUE), ==, 0);

  pl_test_client_close (client);
  pl_test_client_wait_gone (observer, path);
  wait_deletes (f, 51414, 2);
  g_assert_cmpuint (pl_broker_get_n_leases (f->broker), ==, 0);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 0);
  assert_no_delete_all (f);
}

/* A caller that leaves in the middle of its call (before the reply, perhaps before the
 * broker knows who it is): nothing stays behind, and the engine goes on serving. */
static void
test_vanish_mid_call (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(PlTestClient) observer = NULL;
  const char *tcp[] = { "tcp", NULL };

  for (guint i = 0; i < 20; i++)
    {
      g_autoptr(PlTestClient) client = pl_test_client_new (f->address);

      pl_broker_manager_call_request_mapping (client->manager, tcp, (guint16) (51440 + i),
                                              g_variant_new_array (G_VARIANT_TYPE ("{sv}"),
                                                                   NULL, 0),
                                              NULL, NULL, NULL, NULL);
      if (i % 2 == 0)
        drain ();   /* half of them get a little further */
      pl_test_client_close (client);
    }

  observer = pl_test_client_new (f->address);
  barrier (f, observer, 41440);
  while (pl_broker_get_n_leases (f->broker) != 1)
    g_main_context_iteration (NULL, TRUE);
  while (pl_fake_gateway_get_n_mappings (f->gateway) != 1)
    g_main_context_iteration (NULL, TRUE);
  assert_no_delete_all (f);
}

/* B-03: a lease asked for by `gdbus call`, which exits at once, dies with it. */
static void
test_gdbus_call (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *gdbus = g_find_program_in_path ("gdbus");
  g_autoptr(PlTestClient) observer = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) out = NULL;
  gboolean done = FALSE;

  if (gdbus == NULL)
    {
      g_test_skip ("gdbus (libglib2.0-bin) is not installed");
      return;
    }
  observer = pl_test_client_new (f->address);
  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, gdbus, "call",
                              "--address", f->address, "--dest", PL_BROKER_BUS_NAME,
                              "--object-path", PL_BROKER_MANAGER_PATH,
                              "--method", MANAGER_IFACE ".RequestMapping",
                              "['tcp']", "51415", "{'description': <'gdbus'>}", NULL);
  g_assert_no_error (error);
  {
    g_autofree char *err = finish_process (process);
  }
  (void) done;
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);

  /* The mapping was made for it, then deleted when it left. */
  wait_deletes (f, 51415, 1);
  while (pl_broker_get_n_leases (f->broker) != 0)
    g_main_context_iteration (NULL, TRUE);
  assert_no_delete_all (f);
}

/* B-04: two clients on tcp:51416 share one router mapping; it goes with the last. */
static void
test_shared_claim (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(PlTestClient) a = pl_test_client_new (f->address);
  g_autoptr(PlTestClient) b = pl_test_client_new (f->address);
  g_autoptr(GError) error = NULL;
  g_autofree char *path_a = NULL;
  g_autofree char *path_b = NULL;
  PlLeaseRegistry *registry = pl_broker_get_registry (f->broker);

  path_a = pl_test_client_request (a, "tcp", 51416, NULL, NULL, &error);
  g_assert_no_error (error);
  path_b = pl_test_client_request (b, "tcp", 51416, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (path_a, !=, path_b);
  pl_test_client_wait_state (b, path_a, "active");
  pl_test_client_wait_state (b, path_b, "active");
  g_assert_cmpuint (pl_lease_registry_count_claims (registry, PL_PROTOCOL_TCP, 51416,
                                                    G_SOCKET_FAMILY_IPV4), ==, 2);
  g_assert_cmpuint (count_requests (f, 51416, FALSE), ==, 1);   /* one mapping, asked once */

  pl_test_client_close (a);
  pl_test_client_wait_gone (b, path_a);
  barrier (f, b, 41416);
  g_assert_cmpuint (count_requests (f, 51416, TRUE), ==, 0);   /* b still holds it */
  g_assert_cmpuint (pl_lease_registry_count_claims (registry, PL_PROTOCOL_TCP, 51416,
                                                    G_SOCKET_FAMILY_IPV4), ==, 1);

  pl_test_client_close (b);
  wait_deletes (f, 51416, 1);
  g_assert_cmpuint (pl_lease_registry_count_claims (registry, PL_PROTOCOL_TCP, 51416,
                                                    G_SOCKET_FAMILY_IPV4), ==, 0);
  assert_no_delete_all (f);
}

/* B-05: a conflicting required external port fails at once with PortInUse. */
static void
test_port_in_use (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(PlTestClient) a = pl_test_client_new (f->address);
  g_autoptr(PlTestClient) b = pl_test_client_new (f->address);
  g_autoptr(GError) error = NULL;
  g_autofree char *path_a = NULL;
  g_autofree char *path_b = NULL;
  g_autofree char *path_c = NULL;
  g_autoptr(PlBrokerLease) lease = NULL;

  path_a = pl_test_client_request (a, "tcp", 51417,
                                   options ("{'external_port': <uint16 61417>, "
                                            "'require_external_port': <true>}"),
                                   NULL, &error);
  g_assert_no_error (error);
  pl_test_client_wait_state (a, path_a, "active");
  lease = pl_test_client_get_lease (a, path_a);
  g_assert_cmpuint (mapping_port (lease, 0), ==, 61417);

  path_b = pl_test_client_request (b, "tcp", 51417,
                                   options ("{'external_port': <uint16 61418>, "
                                            "'require_external_port': <true>}"),
                                   NULL, &error);
  assert_dbus_error (error, ERROR_PREFIX "PortInUse");
  g_assert_null (path_b);
  g_clear_error (&error);

  /* Without requiring its port, b shares the mapping a made. */
  path_c = pl_test_client_request (b, "tcp", 51417,
                                   options ("{'external_port': <uint16 61418>}"), NULL, &error);
  g_assert_no_error (error);
  pl_test_client_wait_state (b, path_c, "active");
  g_assert_cmpuint (pl_broker_get_n_leases (f->broker), ==, 2);
  g_assert_cmpuint (count_requests (f, 51417, FALSE), ==, 1);
}

/* B-06: only the owner may Release a caller-bound lease. */
static void
test_release_not_owner (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(PlTestClient) a = pl_test_client_new (f->address);
  g_autoptr(PlTestClient) b = pl_test_client_new (f->address);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  path = pl_test_client_request (a, "udp", 51418, NULL, NULL, &error);
  g_assert_no_error (error);
  pl_test_client_wait_state (a, path, "active");

  g_assert_false (pl_test_client_call (b, path, LEASE_IFACE, "Release", &error));
  assert_dbus_error (error, "org.freedesktop.DBus.Error.AccessDenied");
  g_clear_error (&error);
  g_assert_cmpuint (pl_broker_get_n_leases (f->broker), ==, 1);

  /* A lease that outlives its caller (bind=none) may be released by anyone unsandboxed. */
  {
    g_autofree char *none = pl_test_client_request (a, "udp", 51419,
                                                    options ("{'bind': <'none'>, "
                                                             "'duration': <uint32 600>}"),
                                                    NULL, &error);

    g_assert_no_error (error);
    g_assert_true (pl_test_client_call (b, none, LEASE_IFACE, "Release", &error));
    g_assert_no_error (error);
    pl_test_client_wait_gone (a, none);
  }

  g_assert_true (pl_test_client_call (a, path, LEASE_IFACE, "Release", &error));
  g_assert_no_error (error);
  pl_test_client_wait_gone (b, path);
  wait_deletes (f, 51418, 1);
  g_assert_cmpuint (pl_broker_get_n_leases (f->broker), ==, 0);

  /* The object is gone: calling it again is UnknownObject/UnknownMethod, not a crash. */
  g_assert_false (pl_test_client_call (a, path, LEASE_IFACE, "Release", &error));
  g_assert_nonnull (error);
}

/* B-07: bad input: each a named error, no object, no mapping. */
static void
test_bad_input (Fixture       *f,
                gconstpointer  data)
{
  const struct
  {
    const char *protocols;
    guint16     port;
    const char *options;
  } cases[] = {
    { "tcp", 51420, "{'colour': <'blue'>}" },
    { "tcp", 51420, "{'lifetime': <'long'>}" },
    { "tcp", 51420, "{'lifetime': <int32 3600>}" },
    { "tcp", 51420, "{'external_port': <uint32 8080>}" },
    { "tcp", 51420, "{'bind': <'sometimes'>}" },
    { "tcp", 51420, "{'bind': <'none'>}" },
    { "tcp", 51420, "{'bind': <'none'>, 'duration': <uint32 0>}" },
    { "tcp", 51420, "{'duration': <uint32 4000000000>}" },
    { "tcp", 51420, "{'family': <'ipx'>}" },
    { "tcp", 51420, "{'socket': <handle 0>}" },
    { "tcp", 51420, "{'external_port': <uint16 0>, 'require_external_port': <true>}" },
    { "tcp", 51420, "{'description': <'0123456789012345678901234567890123456789"
                    "0123456789012345678901234'>}" },
    { "", 51420, "{}" },
    { "sctp", 51420, "{}" },
    { "tcp,tcp", 51420, "{}" },
    { "TCP", 51420, "{}" },
    { "tcp", 0, "{}" },
  };
  g_autoptr(PlTestClient) client = pl_test_client_new (f->address);
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GVariant) reply = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = pl_test_client_request (client, cases[i].protocols, cases[i].port,
                                                      options (cases[i].options), NULL, &error);

      g_test_message ("case %" G_GSIZE_FORMAT ": %s %u %s", i, cases[i].protocols,
                      cases[i].port, cases[i].options);
      g_assert_null (path);
      assert_dbus_error (error, "org.freedesktop.DBus.Error.InvalidArgs");
      g_clear_error (&error);
    }

  /* Wrong argument types altogether: GDBus refuses them before the broker sees them. */
  reply = g_dbus_connection_call_sync (client->connection, PL_BROKER_BUS_NAME,
                                       PL_BROKER_MANAGER_PATH, MANAGER_IFACE, "RequestMapping",
                                       g_variant_new ("(sua{sv})", "tcp", 51420, NULL),
                                       NULL, G_DBUS_CALL_FLAGS_NONE, 100, NULL, &error);
  g_assert_null (reply);
  g_assert_nonnull (error);   /* InvalidArgs, or our 100 ms: either way no lease */
  g_clear_error (&error);

  drain ();
  g_assert_cmpuint (pl_broker_get_n_leases (f->broker), ==, 0);
  g_assert_cmpuint (count_requests (f, 51420, FALSE), ==, 0);

  /* Absurd lifetimes are clamped, not refused: the router is asked for 120 s and 7200 s. */
  {
    g_autofree char *low = pl_test_client_request (client, "tcp", 51421,
                                                   options ("{'lifetime': <uint32 0>}"),
                                                   NULL, &error);
    g_autofree char *high = NULL;
    GPtrArray *requests;

    g_assert_no_error (error);
    high = pl_test_client_request (client, "tcp", 51422,
                                   options ("{'lifetime': <uint32 4294967295>}"), NULL, &error);
    g_assert_no_error (error);
    pl_test_client_wait_state (client, low, "active");
    pl_test_client_wait_state (client, high, "active");
    requests = pl_fake_gateway_get_requests (f->gateway);
    for (guint i = 0; i < requests->len; i++)
      {
        PlFakeRequest *r = g_ptr_array_index (requests, i);

        if (r->request.internal_port == 51421)
          g_assert_cmpuint (r->request.lifetime, ==, PL_BROKER_LIFETIME_MIN);
        if (r->request.internal_port == 51422)
          g_assert_cmpuint (r->request.lifetime, ==, PL_BROKER_LIFETIME_MAX);
      }
  }
  (void) result;
}

/* B-08: limits. The 33rd lease of one client is LimitExceeded, and so is everything after it
 * in a flood of 10,000 requests; Manager.Limits says so; leaving frees every mapping. */
static void
request_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  guint *counts = user_data;   /* [0] done, [1] ok, [2] LimitExceeded */
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  counts[0]++;
  if (pl_broker_manager_call_request_mapping_finish (PL_BROKER_MANAGER (source), &path, NULL,
                                                     result, &error))
    counts[1]++;
  else
    {
      g_autofree char *name = g_dbus_error_get_remote_error (error);

      if (g_strcmp0 (name, ERROR_PREFIX "LimitExceeded") == 0)
        counts[2]++;
    }
}

/* 10,000 requests take seconds; under AddressSanitizer (slow unwinding on every allocation,
 * as .ci/sanitize runs it) a tenth of them tells the same. */
#if defined(__SANITIZE_ADDRESS__)
#define FLOOD_REQUESTS 1000
#else
#define FLOOD_REQUESTS 10000
#endif

static void
test_limits (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(PlTestClient) client = pl_test_client_new (f->address);
  g_autoptr(PlTestClient) other = pl_test_client_new (f->address);
  g_autoptr(GError) error = NULL;
  GVariant *limits = pl_broker_manager_get_limits (client->manager);
  guint per_client = 0;
  guint counts[3] = { 0, 0, 0 };
  const char *tcp[] = { "tcp", NULL };
  const guint flood = FLOOD_REQUESTS;
  g_autofree char *path = NULL;

  g_assert_nonnull (limits);
  g_assert_true (g_variant_lookup (limits, "leases-per-client", "u", &per_client));
  g_assert_cmpuint (per_client, ==, PL_BROKER_DEFAULT_LEASES_PER_CLIENT);
  g_assert_true (g_variant_lookup (limits, "lifetime-min", "u", &per_client));
  g_assert_cmpuint (per_client, ==, 120);

  /* At most 100 in flight: the bus itself refuses more pending replies per connection. */
  for (guint sent = 0; sent < flood; )
    {
      while (sent < flood && sent - counts[0] < 100)
        {
          pl_broker_manager_call_request_mapping (client->manager, tcp,
                                                  (guint16) (20000 + sent % 40000),
                                                  g_variant_new_array (G_VARIANT_TYPE ("{sv}"),
                                                                       NULL, 0),
                                                  NULL, NULL, request_cb, counts);
          sent++;
        }
      g_main_context_iteration (NULL, TRUE);
    }
  while (counts[0] < flood)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (counts[1], ==, PL_BROKER_DEFAULT_LEASES_PER_CLIENT);
  g_assert_cmpuint (counts[2], ==, flood - PL_BROKER_DEFAULT_LEASES_PER_CLIENT);
  g_assert_cmpuint (pl_broker_get_n_leases (f->broker), ==, PL_BROKER_DEFAULT_LEASES_PER_CLIENT);

  /* The limit is per client: another one is still served. */
  path = pl_test_client_request (other, "udp", 51423, NULL, NULL, &error);
  g_assert_no_error (error);
  pl_test_client_wait_state (other, path, "active");

  /* Leaving releases all 32 (their mappings go once they are made). */
  while (pl_fake_gateway_get_n_mappings (f->gateway) < PL_BROKER_DEFAULT_LEASES_PER_CLIENT + 1)
    g_main_context_iteration (NULL, TRUE);
  pl_test_client_close (client);
  while (pl_fake_gateway_get_n_mappings (f->gateway) != 1)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (pl_broker_get_n_leases (f->broker), ==, 1);
  assert_no_delete_all (f);
}

/* The request rate: 8 leases at once, then one a second (on the virtual clock). Bad requests
 * cost nothing. */
static void
test_rate (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(PlTestClient) client = pl_test_client_new (f->address);
  g_autoptr(PlTestClient) other = pl_test_client_new (f->address);
  g_autoptr(GError) error = NULL;
  guint burst = 0;

  g_assert_true (g_variant_lookup (pl_broker_manager_get_limits (client->manager),
                                   "request-burst", "u", &burst));
  g_assert_cmpuint (burst, ==, PL_BROKER_DEFAULT_REQUEST_BURST);
  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *bad = pl_test_client_request (client, "sctp", 51450, NULL, NULL, &error);

      assert_dbus_error (error, "org.freedesktop.DBus.Error.InvalidArgs");
      g_clear_error (&error);
    }
  for (guint i = 0; i < PL_BROKER_DEFAULT_REQUEST_BURST; i++)
    {
      g_autofree char *path = pl_test_client_request (client, "tcp", (guint16) (51451 + i), NULL,
                                                      NULL, &error);

      g_assert_no_error (error);
    }
  {
    g_autofree char *path = pl_test_client_request (client, "tcp", 51460, NULL, NULL, &error);

    assert_dbus_error (error, ERROR_PREFIX "LimitExceeded");
    g_clear_error (&error);
  }
  /* Per client: another one has its own bucket. */
  {
    g_autofree char *path = pl_test_client_request (other, "tcp", 51461, NULL, NULL, &error);

    g_assert_no_error (error);
  }
  /* A second later there is room for one more. */
  pl_clock_advance (f->clock, G_USEC_PER_SEC);
  {
    g_autofree char *path = pl_test_client_request (client, "tcp", 51460, NULL, NULL, &error);

    g_assert_no_error (error);
  }
  {
    g_autofree char *path = pl_test_client_request (client, "tcp", 51462, NULL, NULL, &error);

    assert_dbus_error (error, ERROR_PREFIX "LimitExceeded");
    g_clear_error (&error);
  }
  g_assert_cmpuint (pl_broker_get_n_leases (f->broker), ==,
                    PL_BROKER_DEFAULT_REQUEST_BURST + 2);
}

/* B-09: the gateway reboots (its epoch goes back, its table is empty, and it now gives
 * another public port): the lease is mapped again, with the new port in Mappings, and
 * Manager.GatewayRebootedAt changes. */
static gboolean
rebooted (Fixture  *f,
          gpointer  data)
{
  PlTestClient *client = data;
  g_autoptr(PlBrokerLease) lease = NULL;
  g_autoptr(GDBusObject) object = NULL;
  GList *objects = g_dbus_object_manager_get_objects (client->objects);

  for (GList *l = objects; l != NULL && lease == NULL; l = l->next)
    {
      PlBrokerLease *candidate = pl_broker_object_get_lease (l->data);

      if (candidate != NULL && pl_broker_lease_get_internal_port (candidate) == 51424)
        lease = candidate;
      else
        g_clear_object (&candidate);
    }
  g_list_free_full (objects, g_object_unref);
  return lease != NULL && pl_broker_manager_get_gateway_rebooted_at (client->manager) != 0 &&
         g_strcmp0 (pl_broker_lease_get_state (lease), "active") == 0 &&
         mapping_port (lease, 0) == 61424;
}

static void
test_gateway_reboot (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(PlTestClient) client = pl_test_client_new (f->address);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  path = pl_test_client_request (client, "tcp", 51424, options ("{'lifetime': <uint32 600>}"),
                                 NULL, &error);
  g_assert_no_error (error);
  pl_test_client_wait_state (client, path, "active");
  g_assert_cmpuint (pl_broker_manager_get_gateway_rebooted_at (client->manager), ==, 0);

  /* 200 s on, the gateway restarts: its epoch begins again at 0. */
  pl_clock_advance (f->clock, 200 * G_USEC_PER_SEC);
  drain ();
  pl_fake_gateway_clear_mappings (f->gateway);
  pl_fake_gateway_set_epoch (f->gateway, 0);
  pl_fake_gateway_set_assigned_port (f->gateway, 61424);
  run_until (f, rebooted, client);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 1);
}

/* B-11: the router refuses (result 2): failed, Error NotAuthorized; once it relents, a
 * network change brings the lease back. */
static gboolean
lease_state_is (Fixture  *f,
                gpointer  data)
{
  const char **want = data;   /* { path, state } */
  PlTestClient *client = (PlTestClient *) want[2];
  g_autoptr(PlBrokerLease) lease = pl_test_client_get_lease (client, want[0]);

  return lease != NULL && g_strcmp0 (pl_broker_lease_get_state (lease), want[1]) == 0;
}

static void
test_refused (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(PlTestClient) client = pl_test_client_new (f->address);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr(PlBrokerLease) lease = NULL;
  const char *name = NULL;
  const char *message = NULL;
  const char *want[3];

  pl_fake_gateway_set_result_code (f->gateway, 2);
  path = pl_test_client_request (client, "tcp", 51425, NULL, NULL, &error);
  g_assert_no_error (error);
  want[0] = path;
  want[1] = "failed";
  want[2] = (const char *) client;
  run_until (f, lease_state_is, want);
  lease = pl_test_client_get_lease (client, path);
  g_variant_get (pl_broker_lease_get_error (lease), "(&s&s)", &name, &message);
  g_assert_cmpstr (name, ==, ERROR_PREFIX "NotAuthorized");
  g_assert_cmpstr (message, !=, "");
  g_assert_cmpuint (g_variant_n_children (pl_broker_lease_get_mappings (lease)), ==, 0);

  pl_fake_gateway_set_result_code (f->gateway, 0);
  pl_session_network_changed (f->session);
  want[1] = "active";
  run_until (f, lease_state_is, want);
  g_variant_get (pl_broker_lease_get_error (lease), "(&s&s)", &name, &message);
  g_assert_cmpstr (name, ==, "");
}

/* B-12: no gateway: Manager.State "no-gateway", the lease pending with Error NoGateway, and
 * the engine retries with a back-off, not in a busy loop. */
static gboolean
no_gateway_seen (Fixture  *f,
                 gpointer  data)
{
  PlTestClient *client = data;
  GList *objects = g_dbus_object_manager_get_objects (client->objects);
  gboolean seen = FALSE;

  for (GList *l = objects; l != NULL; l = l->next)
    {
      g_autoptr(PlBrokerLease) lease = pl_broker_object_get_lease (l->data);
      const char *name = NULL;

      if (lease == NULL)
        continue;
      g_variant_get (pl_broker_lease_get_error (lease), "(&ss)", &name, NULL);
      seen = g_strcmp0 (pl_broker_lease_get_state (lease), "pending") == 0 &&
             g_strcmp0 (name, ERROR_PREFIX "NoGateway") == 0;
    }
  g_list_free_full (objects, g_object_unref);
  return seen && g_strcmp0 (pl_broker_manager_get_state (client->manager), "no-gateway") == 0;
}

static void
test_no_gateway (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(PlTestClient) client = pl_test_client_new (f->address);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  guint before;

  path = pl_test_client_request (client, "tcp", 51426, NULL, NULL, &error);
  g_assert_no_error (error);
  run_until (f, no_gateway_seen, client);

  /* Ten virtual minutes: a handful of discoveries, not thousands. */
  before = f->n_discoveries;
  for (guint i = 0; i < 600; i++)
    {
      pl_clock_advance (f->clock, G_USEC_PER_SEC);
      drain ();
    }
  g_assert_cmpuint (f->n_discoveries - before, <, 30);
  g_assert_cmpuint (pl_fake_gateway_get_requests (f->gateway)->len, ==, 0);
}

/* B-17 (the part there is): an enabled profile of the user and an app's lease on the same
 * port share one mapping; the app leaving deletes nothing, the profile keeps it. */
static void
test_profile_shares (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(PlProfile) profile = pl_profile_new ("Web");
  g_autoptr(PlTestClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  pl_profile_set_protocol (profile, PL_PROFILE_PROTOCOL_BOTH);
  pl_profile_set_family (profile, PL_PROFILE_FAMILY_IPV4);
  pl_profile_set_internal_port (profile, 18080);
  g_list_store_append (f->profiles, profile);
  while (pl_fake_gateway_get_n_mappings (f->gateway) < 2)
    g_main_context_iteration (NULL, TRUE);

  client = pl_test_client_new (f->address);
  path = pl_test_client_request (client, "tcp", 18080, NULL, NULL, &error);
  g_assert_no_error (error);
  pl_test_client_wait_state (client, path, "active");
  g_assert_cmpuint (count_requests (f, 18080, FALSE), ==, 2);   /* the profile's tcp + udp */

  pl_test_client_close (client);
  while (pl_broker_get_n_leases (f->broker) != 0)
    g_main_context_iteration (NULL, TRUE);
  {
    g_autoptr(PlTestClient) other = pl_test_client_new (f->address);

    barrier (f, other, 41417);
  }
  g_assert_cmpuint (count_requests (f, 18080, TRUE), ==, 0);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), >=, 2);
}

/* B-17: the user's profiles as Profile objects: Enable maps and saves, CreateProfile,
 * Update and Delete write profiles.ini (the engine is its one writer). */
static PlBrokerProfile *
get_profile (PlTestClient *client,
             const char   *path)
{
  return (PlBrokerProfile *) g_dbus_object_manager_get_interface (
    client->objects, path, BROKER_IFACE ".Profile");
}

static gboolean
call_with (PlTestClient  *client,
           const char    *path,
           const char    *interface_name,
           const char    *method,
           GVariant      *parameters,
           GVariant     **reply,
           GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  GVariant *value;

  g_dbus_connection_call (client->connection, PL_BROKER_BUS_NAME, path, interface_name, method,
                          parameters, NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, NULL,
                          store_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  value = g_dbus_connection_call_finish (client->connection, result, error);
  if (reply != NULL)
    *reply = value;
  else if (value != NULL)
    g_variant_unref (value);
  return value != NULL;
}

static char *
file_text (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

/* Several gateways at once (pl-session-group.h): a profile with a Gateway= of its own is
 * mapped by that gateway's session. Its Profile object's lease, and a program's lease on
 * its port (riding on it), show that session's mapping and router, not the primary's
 * (before, both stayed "pending" while the port was open on the other router). */
static void
test_other_gateway (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(PlProfile) profile = pl_profile_new ("Vpn");
  g_autoptr(PlTestClient) client = pl_test_client_new (f->address);
  g_autoptr(PlBrokerProfile) object = NULL;
  g_autoptr(PlBrokerLease) lease = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *lease_path = NULL;
  g_autofree char *path = NULL;
  const char *gateway = NULL;
  guint16 port = 0;

  pl_profile_set_protocol (profile, PL_PROFILE_PROTOCOL_TCP);
  pl_profile_set_family (profile, PL_PROFILE_FAMILY_IPV4);
  pl_profile_set_internal_port (profile, 51413);
  pl_profile_set_external_port (profile, 51413);
  pl_profile_set_gateway (profile, PL_PROFILE_GATEWAY_VPN_TEXT);
  g_assert_true (pl_profile_validate (profile, &error));
  g_assert_no_error (error);
  g_list_store_append (f->profiles, profile);
  while (pl_fake_gateway_get_n_mappings (f->other) < 1)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 0);

  while ((object = get_profile (client, PL_BROKER_OBJECT_PATH "/Profile/Vpn")) == NULL)
    g_main_context_iteration (NULL, TRUE);
  while (g_strcmp0 (pl_broker_profile_get_lease (object), "/") == 0)
    g_main_context_iteration (NULL, TRUE);
  lease_path = g_strdup (pl_broker_profile_get_lease (object));
  pl_test_client_wait_state (client, lease_path, "active");
  lease = pl_test_client_get_lease (client, lease_path);
  {
    g_autoptr(GVariant) mapping = g_variant_get_child_value (pl_broker_lease_get_mappings (lease), 0);

    g_assert_true (g_variant_lookup (mapping, "gateway", "&s", &gateway));
    g_assert_cmpstr (gateway, ==, f->other_address);
    g_assert_true (g_variant_lookup (mapping, "external_port", "q", &port));
    g_assert_cmpuint (port, ==, 51413);
  }
  g_clear_object (&lease);

  /* A program asks for the same port: it rides on the profile's mapping, on that router. */
  path = pl_test_client_request (client, "tcp", 51413, NULL, NULL, &error);
  g_assert_no_error (error);
  pl_test_client_wait_state (client, path, "active");
  lease = pl_test_client_get_lease (client, path);
  {
    g_autoptr(GVariant) mapping = g_variant_get_child_value (pl_broker_lease_get_mappings (lease), 0);

    g_assert_true (g_variant_lookup (mapping, "gateway", "&s", &gateway));
    g_assert_cmpstr (gateway, ==, f->other_address);
  }
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 0);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->other), ==, 1);
}

/* A Gateway=vpn profile while no tunnel is up: its Profile object says why it waits (the
 * client shows it); when the tunnel comes, the reason goes and the lease is active. */
static void
test_waiting_tunnel (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(PlProfile) profile = pl_profile_new ("Vpn");
  g_autoptr(PlTestClient) client = pl_test_client_new (f->address);
  g_autoptr(PlBrokerProfile) object = NULL;
  g_autoptr(GError) error = NULL;

  f->tunnel_down = TRUE;
  pl_profile_set_protocol (profile, PL_PROFILE_PROTOCOL_TCP);
  pl_profile_set_family (profile, PL_PROFILE_FAMILY_IPV4);
  pl_profile_set_internal_port (profile, 51414);
  pl_profile_set_gateway (profile, PL_PROFILE_GATEWAY_VPN_TEXT);
  g_assert_true (pl_profile_validate (profile, &error));
  g_list_store_append (f->profiles, profile);

  while ((object = get_profile (client, PL_BROKER_OBJECT_PATH "/Profile/Vpn")) == NULL)
    g_main_context_iteration (NULL, TRUE);
  while (g_strcmp0 (pl_broker_profile_get_waiting (object), "Waiting for a VPN tunnel") != 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 0);

  /* The tunnel comes up: the engine notices (a route change), the reason goes. */
  f->tunnel_down = FALSE;
  pl_session_network_changed (pl_session_group_lookup (f->group, PL_PROFILE_GATEWAY_VPN_TEXT));
  while (pl_fake_gateway_get_n_mappings (f->other) < 1)
    g_main_context_iteration (NULL, TRUE);
  while (g_strcmp0 (pl_broker_profile_get_waiting (object), "") != 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 0);
}

static void
test_profiles (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(PlTestClient) client = pl_test_client_new (f->address);
  g_autoptr(PlBrokerProfile) web = NULL;
  g_autoptr(PlBrokerProfile) game = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  const char *web_path = PL_BROKER_OBJECT_PATH "/Profile/Web";
  const char *game_path = NULL;
  const char * const *protocols;

  web = get_profile (client, web_path);
  g_assert_nonnull (web);
  g_assert_cmpstr (pl_broker_profile_get_id (web), ==, "Web");
  g_assert_cmpuint (pl_broker_profile_get_internal_port (web), ==, 18081);
  g_assert_false (pl_broker_profile_get_enabled (web));
  protocols = pl_broker_profile_get_protocols (web);
  g_assert_cmpstr (protocols[0], ==, "tcp");
  g_assert_cmpstr (protocols[1], ==, "udp");
  g_assert_cmpstr (pl_broker_profile_get_lease (web), ==, "/");

  g_assert_true (call_with (client, web_path, BROKER_IFACE ".Profile", "Enable", NULL, NULL,
                            &error));
  g_assert_no_error (error);
  while (!pl_broker_profile_get_enabled (web))
    g_main_context_iteration (NULL, TRUE);
  while (pl_fake_gateway_get_n_mappings (f->gateway) < 2)
    g_main_context_iteration (NULL, TRUE);
  text = file_text (f->store_path);
  g_assert_nonnull (strstr (text, "Enabled=true"));
  g_clear_pointer (&text, g_free);

  /* An enabled profile shows as a lease of kind "profile", bound to no bus name. */
  {
    g_autofree char *lease_path = NULL;
    g_autoptr(PlBrokerLease) lease = NULL;
    const char *kind = NULL;

    while (g_strcmp0 (pl_broker_profile_get_lease (web), "/") == 0)
      g_main_context_iteration (NULL, TRUE);
    lease_path = g_strdup (pl_broker_profile_get_lease (web));
    pl_test_client_wait_state (client, lease_path, "active");
    lease = pl_test_client_get_lease (client, lease_path);
    g_assert_cmpstr (pl_broker_lease_get_profile (lease), ==, web_path);
    g_assert_cmpstr (pl_broker_lease_get_bind (lease), ==, "none");
    g_assert_true (g_variant_lookup (pl_broker_lease_get_owner (lease), "kind", "&s", &kind));
    g_assert_cmpstr (kind, ==, "profile");
    g_assert_cmpuint (g_variant_n_children (pl_broker_lease_get_mappings (lease)), ==, 2);

    g_assert_false (call_with (client, lease_path, LEASE_IFACE, "Release", NULL, NULL, &error));
    assert_dbus_error (error, ERROR_PREFIX "NotPermitted");
    g_clear_error (&error);

    /* Revoke (the tray's "Stop") disables the profile: the lease goes, the file says so. */
    g_assert_true (call_with (client, lease_path, LEASE_IFACE, "Revoke", NULL, NULL, &error));
    g_assert_no_error (error);
    pl_test_client_wait_gone (client, lease_path);
    while (pl_broker_profile_get_enabled (web))
      g_main_context_iteration (NULL, TRUE);
    g_assert_cmpstr (pl_broker_profile_get_lease (web), ==, "/");
    text = file_text (f->store_path);
    g_assert_nonnull (strstr (text, "Enabled=false"));
    g_clear_pointer (&text, g_free);
    wait_deletes (f, 18081, 2);
  }

  g_assert_true (call_with (client, PL_BROKER_MANAGER_PATH, MANAGER_IFACE, "CreateProfile",
                            g_variant_new_parsed ("({'name': <'Game server'>, "
                                                  "'internal_port': <uint16 27015>, "
                                                  "'protocols': <['udp']>, "
                                                  "'enabled': <false>},)"),
                            &reply, &error));
  g_assert_no_error (error);
  g_variant_get (reply, "(&o)", &game_path);
  game = get_profile (client, game_path);
  g_assert_nonnull (game);
  g_assert_cmpstr (pl_broker_profile_get_name (game), ==, "Game server");
  text = file_text (f->store_path);
  g_assert_nonnull (strstr (text, "[Game server]"));
  g_clear_pointer (&text, g_free);

  g_assert_true (call_with (client, game_path, BROKER_IFACE ".Profile", "Update",
                            g_variant_new_parsed ("({'lifetime': <uint32 600>},)"), NULL,
                            &error));
  g_assert_no_error (error);
  while (pl_broker_profile_get_lifetime (game) != 600)
    g_main_context_iteration (NULL, TRUE);

  /* Any public port: the file says ExternalPort=any, the lease shows the port granted;
   * external_port (here 0, the internal port) ends it. */
  pl_fake_gateway_set_random_ports (f->gateway, TRUE);
  g_assert_true (call_with (client, game_path, BROKER_IFACE ".Profile", "Update",
                            g_variant_new_parsed ("({'any_external_port': <true>, "
                                                  "'enabled': <true>},)"), NULL, &error));
  g_assert_no_error (error);
  while (!pl_broker_profile_get_any_external_port (game))
    g_main_context_iteration (NULL, TRUE);
  text = file_text (f->store_path);
  g_assert_nonnull (strstr (text, "ExternalPort=any\n"));
  g_clear_pointer (&text, g_free);
  {
    g_autofree char *lease_path = NULL;
    g_autoptr(PlBrokerLease) lease = NULL;
    g_autoptr(GVariant) entry = NULL;
    guint16 port = 0;

    while (g_strcmp0 (pl_broker_profile_get_lease (game), "/") == 0)
      g_main_context_iteration (NULL, TRUE);
    lease_path = g_strdup (pl_broker_profile_get_lease (game));
    pl_test_client_wait_state (client, lease_path, "active");
    lease = pl_test_client_get_lease (client, lease_path);
    entry = g_variant_get_child_value (pl_broker_lease_get_mappings (lease), 0);
    g_assert_true (g_variant_lookup (entry, "external_port", "q", &port));
    g_assert_cmpuint (port, ==, pl_fake_gateway_get_mapped_port (f->gateway, PL_PROTOCOL_UDP,
                                                                 27015));
    g_assert_cmpuint (port, >=, 1024);
  }
  g_assert_true (call_with (client, game_path, BROKER_IFACE ".Profile", "Update",
                            g_variant_new_parsed ("({'external_port': <uint16 0>, "
                                                  "'enabled': <false>},)"), NULL, &error));
  g_assert_no_error (error);
  while (pl_broker_profile_get_any_external_port (game))
    g_main_context_iteration (NULL, TRUE);
  text = file_text (f->store_path);
  g_assert_nonnull (strstr (text, "ExternalPort=0\n"));
  g_clear_pointer (&text, g_free);

  g_assert_false (call_with (client, game_path, BROKER_IFACE ".Profile", "Update",
                             g_variant_new_parsed ("({'colour': <'red'>},)"), NULL, &error));
  assert_dbus_error (error, "org.freedesktop.DBus.Error.InvalidArgs");
  g_clear_error (&error);
  g_assert_false (call_with (client, game_path, BROKER_IFACE ".Profile", "Update",
                             g_variant_new_parsed ("({'internal_port': <uint16 0>},)"), NULL,
                             &error));
  assert_dbus_error (error, "org.freedesktop.DBus.Error.InvalidArgs");
  g_clear_error (&error);
  g_assert_false (call_with (client, PL_BROKER_MANAGER_PATH, MANAGER_IFACE, "CreateProfile",
                             g_variant_new_parsed ("({'name': <'No port'>},)"), NULL, &error));
  assert_dbus_error (error, "org.freedesktop.DBus.Error.InvalidArgs");
  g_clear_error (&error);

  g_assert_true (call_with (client, game_path, BROKER_IFACE ".Profile", "Delete", NULL, NULL,
                            &error));
  g_assert_no_error (error);
  {
    g_autofree char *path = g_strdup (game_path);

    g_clear_pointer (&reply, g_variant_unref);
    pl_test_client_wait_gone (client, path);
  }
  text = file_text (f->store_path);
  g_assert_null (strstr (text, "[Game server]"));
  g_assert_nonnull (strstr (text, "[Web]"));
}

/* B-18: a sandboxed caller (a Flatpak, as the broker's fake /proc says). */
static GSocket *
listening_socket (GSocketType      type,
                  GSocketProtocol  protocol,
                  const char      *address,
                  guint16         *port)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, type, protocol, &error);
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);
  g_autoptr(GSocketAddress) bind_address = g_inet_socket_address_new (inet, 0);
  g_autoptr(GSocketAddress) local = NULL;

  g_assert_no_error (error);
  g_socket_bind (socket, bind_address, TRUE, &error);
  g_assert_no_error (error);
  if (type == G_SOCKET_TYPE_STREAM)
    {
      g_socket_listen (socket, &error);
      g_assert_no_error (error);
    }
  local = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  return g_steal_pointer (&socket);
}

static char *
request_with_socket (PlTestClient  *client,
                     const char    *protocols,
                     guint16        port,
                     GSocket       *socket,
                     GError       **error)
{
  g_autoptr(GUnixFDList) fds = g_unix_fd_list_new ();
  gint index = g_unix_fd_list_append (fds, g_socket_get_fd (socket), NULL);

  g_assert_cmpint (index, ==, 0);
  return pl_test_client_request (client, protocols, port, options ("{'socket': <handle 0>}"),
                                 fds, error);
}

static void
test_sandboxed_not_allowed (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(PlTestClient) client = pl_test_client_new (f->address);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autofree char *path = NULL;
  guint16 port = 0;

  socket = listening_socket (G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, "0.0.0.0", &port);
  path = request_with_socket (client, "tcp", port, socket, &error);
  assert_dbus_error (error, ERROR_PREFIX "NotPermitted");
  g_assert_null (path);
  g_assert_cmpuint (pl_broker_get_n_leases (f->broker), ==, 0);
}

static void
test_sandboxed (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(PlTestClient) client = pl_test_client_new (f->address);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) sockets = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(PlBrokerLease) lease = NULL;
  g_autofree char *first = NULL;
  const char *text = NULL;
  guint32 pid = 1;
  gboolean sandboxed = FALSE;

  /* No socket proof, or a low port: NotPermitted. */
  {
    g_autofree char *path = pl_test_client_request (client, "tcp", 51427, NULL, NULL, &error);

    assert_dbus_error (error, ERROR_PREFIX "NotPermitted");
    g_assert_null (path);
    g_clear_error (&error);
  }
  {
    g_autofree char *path = pl_test_client_request (client, "tcp", 80, NULL, NULL, &error);

    assert_dbus_error (error, ERROR_PREFIX "NotPermitted");
    g_clear_error (&error);
  }

  /* With proof: four leases, then LimitExceeded. */
  for (guint i = 0; i < PL_BROKER_DEFAULT_LEASES_PER_SANDBOXED_CLIENT + 1; i++)
    {
      guint16 port = 0;
      GSocket *socket = listening_socket (G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                          "0.0.0.0", &port);
      g_autofree char *path = NULL;

      g_ptr_array_add (sockets, socket);
      path = request_with_socket (client, "tcp", port, socket, &error);
      if (i < PL_BROKER_DEFAULT_LEASES_PER_SANDBOXED_CLIENT)
        {
          g_assert_no_error (error);
          if (first == NULL)
            first = g_strdup (path);
        }
      else
        assert_dbus_error (error, ERROR_PREFIX "LimitExceeded");
      g_clear_error (&error);
    }
  g_assert_cmpuint (pl_broker_get_n_leases (f->broker), ==,
                    PL_BROKER_DEFAULT_LEASES_PER_SANDBOXED_CLIENT);

  /* Who it is comes from .flatpak-info; its pid (the proxy's) is not shown. */
  lease = pl_test_client_get_lease (client, first);
  g_assert_true (g_variant_lookup (pl_broker_lease_get_owner (lease), "app_id", "&s", &text));
  g_assert_cmpstr (text, ==, SANDBOX_APP);
  g_assert_true (g_variant_lookup (pl_broker_lease_get_owner (lease), "sandboxed", "b",
                                   &sandboxed));
  g_assert_true (sandboxed);
  g_assert_true (g_variant_lookup (pl_broker_lease_get_owner (lease), "pid", "u", &pid));
  g_assert_cmpuint (pid, ==, 0);

  /* Profile methods and Revoke are not for sandboxed callers. */
  g_assert_false (pl_test_client_call (client, PL_BROKER_MANAGER_PATH, MANAGER_IFACE,
                                       "ReloadProfiles", &error));
  assert_dbus_error (error, "org.freedesktop.DBus.Error.AccessDenied");
  g_clear_error (&error);
  g_assert_false (pl_test_client_call (client, first, LEASE_IFACE, "Revoke", &error));
  assert_dbus_error (error, "org.freedesktop.DBus.Error.AccessDenied");
  g_clear_error (&error);

  /* Nor may it touch the user's profiles. */
  {
    g_autoptr(PlProfile) profile = pl_profile_new ("SSH");
    const char *path = PL_BROKER_OBJECT_PATH "/Profile/SSH";

    pl_profile_set_internal_port (profile, 22);
    pl_profile_set_enabled (profile, FALSE);
    g_list_store_append (f->profiles, profile);
    for (;;)
      {
        g_autoptr(GDBusObject) object = g_dbus_object_manager_get_object (client->objects, path);

        if (object != NULL)
          break;
        g_main_context_iteration (NULL, TRUE);
      }
    g_assert_false (pl_test_client_call (client, path, BROKER_IFACE ".Profile", "Enable",
                                         &error));
    assert_dbus_error (error, "org.freedesktop.DBus.Error.AccessDenied");
    g_clear_error (&error);
  }

  /* Its own lease it may release. */
  g_assert_true (pl_test_client_call (client, first, LEASE_IFACE, "Release", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pl_broker_get_n_leases (f->broker), ==,
                    PL_BROKER_DEFAULT_LEASES_PER_SANDBOXED_CLIENT - 1);
}

/* B-19: the socket proof, for an unsandboxed caller who gives one. */
static void
test_socket_proof (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(PlTestClient) client = pl_test_client_new (f->address);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) good = NULL;
  g_autoptr(GSocket) loopback = NULL;
  g_autoptr(GSocket) udp = NULL;
  g_autoptr(GSocket) not_listening = NULL;
  g_autofree char *path = NULL;
  guint16 port = 0;
  guint16 other = 0;

  good = listening_socket (G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, "0.0.0.0", &port);
  path = request_with_socket (client, "tcp", port, good, &error);
  g_assert_no_error (error);
  g_assert_nonnull (path);

  /* Another port than the socket's. */
  g_assert_null (request_with_socket (client, "tcp", port == 65535 ? 65534 : port + 1, good,
                                      &error));
  assert_dbus_error (error, ERROR_PREFIX "NotPermitted");
  g_clear_error (&error);

  /* Bound to loopback: the router could not reach it anyway. */
  loopback = listening_socket (G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, "127.0.0.1",
                               &other);
  g_assert_null (request_with_socket (client, "tcp", other, loopback, &error));
  assert_dbus_error (error, ERROR_PREFIX "NotPermitted");
  g_clear_error (&error);

  /* A UDP socket proves nothing about TCP. */
  udp = listening_socket (G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, "0.0.0.0", &other);
  g_assert_null (request_with_socket (client, "tcp", other, udp, &error));
  assert_dbus_error (error, ERROR_PREFIX "NotPermitted");
  g_clear_error (&error);
  g_free (request_with_socket (client, "udp", other, udp, &error));
  g_assert_no_error (error);

  /* A TCP socket that does not listen. */
  {
    g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                              G_SOCKET_PROTOCOL_TCP, &error);
    g_autoptr(GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
    g_autoptr(GSocketAddress) address = g_inet_socket_address_new (any, 0);
    g_autoptr(GSocketAddress) local = NULL;

    g_assert_no_error (error);
    g_socket_bind (socket, address, TRUE, &error);
    g_assert_no_error (error);
    local = g_socket_get_local_address (socket, &error);
    g_assert_no_error (error);
    other = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
    not_listening = g_steal_pointer (&socket);
  }
  g_assert_null (request_with_socket (client, "tcp", other, not_listening, &error));
  assert_dbus_error (error, ERROR_PREFIX "NotPermitted");
  g_clear_error (&error);

  g_assert_cmpuint (pl_broker_get_n_leases (f->broker), ==, 2);
}

/* Revoke: a caller-bound lease stays, failed with Revoked, and its mapping goes; a bind=none
 * lease disappears at once. */
static void
test_revoke (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(PlTestClient) app = pl_test_client_new (f->address);
  g_autoptr(PlTestClient) user = pl_test_client_new (f->address);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr(PlBrokerLease) lease = NULL;
  const char *name = NULL;

  path = pl_test_client_request (app, "tcp", 51428, NULL, NULL, &error);
  g_assert_no_error (error);
  pl_test_client_wait_state (app, path, "active");
  g_assert_true (pl_test_client_call (user, path, LEASE_IFACE, "Revoke", &error));
  g_assert_no_error (error);
  pl_test_client_wait_state (app, path, "failed");
  lease = pl_test_client_get_lease (app, path);
  g_variant_get (pl_broker_lease_get_error (lease), "(&ss)", &name, NULL);
  g_assert_cmpstr (name, ==, ERROR_PREFIX "Revoked");
  wait_deletes (f, 51428, 1);

  g_assert_true (pl_test_client_call (app, path, LEASE_IFACE, "Release", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pl_broker_get_n_leases (f->broker), ==, 0);
}

/* bind=none: the lease outlives its caller and ends at its deadline. */
static void
test_bind_none (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(PlTestClient) cli = pl_test_client_new (f->address);
  g_autoptr(PlTestClient) observer = pl_test_client_new (f->address);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr(PlBrokerLease) lease = NULL;

  path = pl_test_client_request (cli, "udp", 51429,
                                 options ("{'bind': <'none'>, 'duration': <uint32 1>}"), NULL,
                                 &error);
  g_assert_no_error (error);
  pl_test_client_wait_state (observer, path, "active");
  lease = pl_test_client_get_lease (observer, path);
  g_assert_cmpstr (pl_broker_lease_get_bind (lease), ==, "none");
  g_assert_cmpuint (pl_broker_lease_get_deadline (lease), >, pl_broker_lease_get_created_at (lease));

  pl_test_client_close (cli);
  barrier (f, observer, 41429);
  g_assert_cmpuint (pl_broker_get_n_leases (f->broker), ==, 2);   /* still there */

  /* The deadline (one real second) ends it. */
  pl_test_client_wait_gone (observer, path);
  wait_deletes (f, 51429, 1);
}

/* A program asks for any public port (external_port 0), as VPN port forwarding gives: the
 * router is asked to choose (a suggested port of 0), and the lease shows the port it chose. */
static void
test_any_port (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(PlTestClient) client = pl_test_client_new (f->address);
  g_autoptr(PlTestClient) observer = pl_test_client_new (f->address);
  g_autoptr(PlBrokerLease) lease = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  GPtrArray *requests;
  GVariant *mappings;
  guint16 shown = 0, granted;
  gboolean asked = FALSE;

  pl_fake_gateway_set_random_ports (f->gateway, TRUE);
  path = pl_test_client_request (client, "udp", 51433, options ("{'external_port': <uint16 0>}"),
                                 NULL, &error);
  g_assert_no_error (error);
  pl_test_client_wait_state (observer, path, "active");

  granted = pl_fake_gateway_get_mapped_port (f->gateway, PL_PROTOCOL_UDP, 51433);
  g_assert_cmpuint (granted, !=, 0);
  lease = pl_test_client_get_lease (observer, path);
  mappings = pl_broker_lease_get_mappings (lease);
  g_assert_cmpuint (g_variant_n_children (mappings), ==, 1);
  {
    g_autoptr(GVariant) first = g_variant_get_child_value (mappings, 0);

    g_assert_true (g_variant_lookup (first, "external_port", "q", &shown));
  }
  g_assert_cmpuint (shown, ==, granted);

  requests = pl_fake_gateway_get_requests (f->gateway);
  for (guint i = 0; i < requests->len && !asked; i++)
    {
      PlFakeRequest *r = g_ptr_array_index (requests, i);

      if (r->request.opcode == 1 && r->request.internal_port == 51433 &&
          r->request.lifetime != 0)
        {
          g_assert_cmpuint (r->request.external_port, ==, 0);
          asked = TRUE;
        }
    }
  g_assert_true (asked);
}

/* B-21: the live introspection matches the shipped XML, member by member. */
static void
assert_interface_matches (GDBusInterfaceInfo *want,
                          GDBusInterfaceInfo *got)
{
  g_assert_nonnull (got);
  for (guint i = 0; want->methods != NULL && want->methods[i] != NULL; i++)
    {
      GDBusMethodInfo *m = want->methods[i];
      GDBusMethodInfo *g = g_dbus_interface_info_lookup_method (got, m->name);

      g_assert_nonnull (g);
      for (guint dir = 0; dir < 2; dir++)
        {
          GDBusArgInfo **w = dir == 0 ? m->in_args : m->out_args;
          GDBusArgInfo **h = dir == 0 ? g->in_args : g->out_args;
          guint n = 0;

          for (; w != NULL && w[n] != NULL; n++)
            {
              g_assert_nonnull (h);
              g_assert_nonnull (h[n]);
              g_assert_cmpstr (w[n]->name, ==, h[n]->name);
              g_assert_cmpstr (w[n]->signature, ==, h[n]->signature);
            }
          g_assert_true (h == NULL || h[n] == NULL);
        }
    }
  for (guint i = 0; got->methods != NULL && got->methods[i] != NULL; i++)
    g_assert_nonnull (g_dbus_interface_info_lookup_method (want, got->methods[i]->name));
  for (guint i = 0; want->properties != NULL && want->properties[i] != NULL; i++)
    {
      GDBusPropertyInfo *p = want->properties[i];
      GDBusPropertyInfo *g = g_dbus_interface_info_lookup_property (got, p->name);

      g_assert_nonnull (g);
      g_assert_cmpstr (p->signature, ==, g->signature);
      g_assert_cmpint (p->flags, ==, g->flags);
    }
  for (guint i = 0; got->properties != NULL && got->properties[i] != NULL; i++)
    g_assert_nonnull (g_dbus_interface_info_lookup_property (want, got->properties[i]->name));
  g_assert_true (got->signals == NULL || got->signals[0] == NULL);   /* state in properties */
}

static void
assert_node_matches (GDBusNodeInfo *shipped,
                     const char    *xml,
                     const char    *interface_name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusNodeInfo) live = g_dbus_node_info_new_for_xml (xml, &error);

  g_assert_no_error (error);
  assert_interface_matches (g_dbus_node_info_lookup_interface (shipped, interface_name),
                            g_dbus_node_info_lookup_interface (live, interface_name));
}

static void
store_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static char *
introspect_xml (PlTestClient *client,
                const char   *path)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  char *xml = NULL;

  g_dbus_connection_call (client->connection, PL_BROKER_BUS_NAME, path,
                          "org.freedesktop.DBus.Introspectable", "Introspect", NULL,
                          G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, store_cb,
                          &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  reply = g_dbus_connection_call_finish (client->connection, result, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(s)", &xml);
  return xml;
}

/* `gdbus introspect --xml` run as a program, its output. NULL when gdbus is missing. */
static char *
gdbus_introspect (Fixture    *f,
                  const char *path)
{
  g_autofree char *gdbus = g_find_program_in_path ("gdbus");
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  char *out = NULL;

  if (gdbus == NULL)
    return NULL;
  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, gdbus, "introspect",
                              "--address", f->address, "--dest", PL_BROKER_BUS_NAME,
                              "--object-path", path, "--xml", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (process, NULL, NULL, store_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_subprocess_communicate_utf8_finish (process, result, &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
  return out;
}

static void
test_introspection (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(PlTestClient) client = pl_test_client_new (f->address);
  g_autoptr(GError) error = NULL;
  g_autofree char *shipped_xml = NULL;
  g_autoptr(GDBusNodeInfo) shipped = NULL;
  g_autofree char *lease_path = NULL;
  g_autofree char *manager_xml = NULL;
  g_autofree char *lease_xml = NULL;
  g_autofree char *root_xml = NULL;
  g_autofree char *tool_xml = NULL;

  g_file_get_contents (PL_BROKER_XML, &shipped_xml, NULL, &error);
  g_assert_no_error (error);
  shipped = g_dbus_node_info_new_for_xml (shipped_xml, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length ((char **) shipped->interfaces), ==, 3);

  lease_path = pl_test_client_request (client, "tcp", 51430, NULL, NULL, &error);
  g_assert_no_error (error);

  manager_xml = introspect_xml (client, PL_BROKER_MANAGER_PATH);
  assert_node_matches (shipped, manager_xml, MANAGER_IFACE);
  lease_xml = introspect_xml (client, lease_path);
  assert_node_matches (shipped, lease_xml, LEASE_IFACE);
  root_xml = introspect_xml (client, PL_BROKER_OBJECT_PATH);
  g_assert_nonnull (strstr (root_xml, "org.freedesktop.DBus.ObjectManager"));

  /* The same through the command-line tool other projects would use. */
  tool_xml = gdbus_introspect (f, PL_BROKER_MANAGER_PATH);
  if (tool_xml != NULL)
    assert_node_matches (shipped, tool_xml, MANAGER_IFACE);
  else
    g_test_message ("gdbus not installed: checked through Introspect() only");

  /* Version is 1 for this XML (bump both together). */
  g_assert_cmpuint (pl_broker_manager_get_version (client->manager), ==, PL_BROKER_API_VERSION);
  g_assert_cmpuint (PL_BROKER_API_VERSION, ==, 1);
}

/* Profile.Waiting: why the engine keeps an enabled profile off, as the engine's model of
 * app- and network-linked profiles (PlAppProfiles over the broker's) says it; the
 * application's unit comes and goes on a fake systemd user manager on the test's bus, the
 * network on a fixed network watcher. */

static GDBusConnection *
connect_bus (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  GDBusConnection *bus;

  bus = g_dbus_connection_new_for_address_sync (f->address,
                                                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                NULL, NULL, &error);
  g_assert_no_error (error);
  return bus;
}

static void
set_network (PlNetworkWatcher *watcher,
             guint8            last)
{
  PlNetworkIdentity identity = { TRUE, { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, last }, NULL };

  pl_network_watcher_set_identity (watcher, &identity);
}

/* Iterates until the Profile object at @path exists and its Waiting is @waiting. */
static PlBrokerProfile *
wait_waiting (PlTestClient *client,
              const char   *path,
              const char   *waiting)
{
  PlBrokerProfile *profile;

  while ((profile = get_profile (client, path)) == NULL)
    g_main_context_iteration (NULL, TRUE);
  while (g_strcmp0 (pl_broker_profile_get_waiting (profile), waiting) != 0)
    g_main_context_iteration (NULL, TRUE);
  return profile;
}

static void
test_profile_waiting (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(PlTestClient) client = pl_test_client_new (f->address);
  g_autoptr(GDBusConnection) systemd_bus = connect_bus (f);
  g_autoptr(GDBusConnection) watcher_bus = connect_bus (f);
  g_autoptr(PlFakeSystemd) systemd = NULL;
  g_autoptr(PlAppWatcher) watcher = NULL;
  g_autoptr(PlNetworkWatcher) network = pl_network_watcher_new_fixed ();
  g_autoptr(PlAppProfiles) apps = NULL;
  g_autoptr(PlProfile) sync = pl_profile_new ("Sync");
  g_autoptr(PlProfile) ssh = pl_profile_new ("SSH");
  g_autoptr(PlProfile) web = pl_profile_new ("Web");
  g_autoptr(PlBrokerProfile) sync_object = NULL;
  g_autoptr(PlBrokerProfile) ssh_object = NULL;
  g_autoptr(PlBrokerProfile) web_object = NULL;
  g_autoptr(GError) error = NULL;
  const char *sync_path = PL_BROKER_OBJECT_PATH "/Profile/Sync";
  const char *ssh_path = PL_BROKER_OBJECT_PATH "/Profile/SSH";
  const char *web_path = PL_BROKER_OBJECT_PATH "/Profile/Web";
  const char *sync_waits = "Waiting for syncthing.service to start";
  const char *ssh_waits = "Only on network ‘home’";

  g_test_summary ("Profile.Waiting says why an enabled App= or Network= profile is off, in "
                  "the engine's words, and follows the application's start and exit, the "
                  "network, the profile being switched off and on or losing App=; \"\" for "
                  "a profile with no condition");

  systemd = pl_fake_systemd_new (systemd_bus, &error);
  g_assert_no_error (error);
  pl_fake_systemd_add_unit (systemd, "syncthing.service", "inactive");
  watcher = pl_app_watcher_new (watcher_bus);
  apps = pl_app_profiles_new_full (pl_broker_get_profiles (f->broker), watcher, network);
  pl_app_profiles_publish_waiting (apps, f->broker);
  set_network (network, 0x02);   /* a café's router */
  while (!pl_app_watcher_has_systemd (watcher))
    g_main_context_iteration (NULL, TRUE);

  /* Profiles added after: their objects say why at once. */
  pl_profile_set_internal_port (sync, 22000);
  pl_profile_set_family (sync, PL_PROFILE_FAMILY_IPV4);
  pl_profile_set_app (sync, "unit:syncthing.service");
  pl_profile_set_enabled (sync, TRUE);
  pl_profile_set_internal_port (ssh, 22);
  pl_profile_set_family (ssh, PL_PROFILE_FAMILY_IPV4);
  pl_profile_set_network (ssh, "home; gateway=02:aa:bb:cc:dd:01");
  pl_profile_set_enabled (ssh, TRUE);
  pl_profile_set_internal_port (web, 8080);
  pl_profile_set_family (web, PL_PROFILE_FAMILY_IPV4);
  pl_profile_set_enabled (web, TRUE);
  g_list_store_append (f->profiles, sync);
  g_list_store_append (f->profiles, ssh);
  g_list_store_append (f->profiles, web);

  sync_object = wait_waiting (client, sync_path, sync_waits);
  ssh_object = wait_waiting (client, ssh_path, ssh_waits);
  web_object = wait_waiting (client, web_path, "");

  /* The application starts: no longer waiting; it exits: waiting again. */
  pl_fake_systemd_set_state (systemd, "syncthing.service", "active");
  g_clear_object (&sync_object);
  sync_object = wait_waiting (client, sync_path, "");
  pl_fake_systemd_set_state (systemd, "syncthing.service", "inactive");
  g_clear_object (&sync_object);
  sync_object = wait_waiting (client, sync_path, sync_waits);

  /* Switched off by the user: it does not wait, it is off; on again: waiting. */
  pl_profile_set_enabled (sync, FALSE);
  g_clear_object (&sync_object);
  sync_object = wait_waiting (client, sync_path, "");
  pl_profile_set_enabled (sync, TRUE);
  g_clear_object (&sync_object);
  sync_object = wait_waiting (client, sync_path, sync_waits);

  /* Home: the network-linked profile no longer waits; elsewhere again: it does. */
  set_network (network, 0x01);
  g_clear_object (&ssh_object);
  ssh_object = wait_waiting (client, ssh_path, "");
  set_network (network, 0x03);
  g_clear_object (&ssh_object);
  ssh_object = wait_waiting (client, ssh_path, ssh_waits);

  /* App= removed: an ordinary profile, mapped while enabled. */
  pl_profile_set_app (sync, NULL);
  g_clear_object (&sync_object);
  sync_object = wait_waiting (client, sync_path, "");
  g_assert_cmpstr (pl_broker_profile_get_waiting (ssh_object), ==, ssh_waits);
  g_assert_cmpstr (pl_broker_profile_get_waiting (web_object), ==, "");

  /* The engine's model goes (the broker held it until now): no reasons any more. */
  pl_broker_set_waiting_func (f->broker, NULL, NULL, NULL);
  g_clear_object (&ssh_object);
  ssh_object = wait_waiting (client, ssh_path, "");
}

/* Caller identity from unit names and a fake /proc (pl-caller.c). */
static void
test_caller_units (void)
{
  const struct { const char *unit; const char *app_id; } cases[] = {
    { "app-gnome-org.transmissionbt.Transmission-1234.scope", "org.transmissionbt.Transmission" },
    { "app-org.example.App-5678.scope", "org.example.App" },
    { "app-flatpak-org.example.App-99.scope", "org.example.App" },
    { "app-org.example.App@3.service", "org.example.App" },
    { "app-kde-org.kde.ktorrent.service", "org.kde.ktorrent" },
    { "app-gnome-org.example.My\\x2dApp-12.scope", "org.example.My-App" },
    { "session-2.scope", NULL },
    { "app-nodots-12.scope", NULL },
    { "app-.scope", NULL },
    { "user@1000.service", NULL },
    { "app-gnome-org.example.App-1234.slice", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *id = pl_caller_app_id_from_unit (cases[i].unit);

      g_assert_cmpstr (id, ==, cases[i].app_id);
    }
}

static void
test_caller_proc (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("test-caller-XXXXXX", &error);
  g_autofree char *host = NULL;
  g_autofree char *flatpak = NULL;
  g_autoptr(PlCaller) caller = NULL;
  g_autoptr(GVariant) credentials = NULL;

  g_assert_no_error (error);
  host = g_build_filename (tmp, "100", NULL);
  flatpak = g_build_filename (tmp, "200", "root", NULL);
  g_assert_cmpint (g_mkdir_with_parents (host, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (flatpak, 0700), ==, 0);
  {
    g_autofree char *cgroup = g_build_filename (host, "cgroup", NULL);
    g_autofree char *comm = g_build_filename (host, "comm", NULL);
    g_autofree char *info = g_build_filename (flatpak, ".flatpak-info", NULL);

    g_file_set_contents (cgroup, "0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
                         "app-gnome-org.transmissionbt.Transmission-4242.scope\n", -1, &error);
    g_assert_no_error (error);
    g_file_set_contents (comm, "transmission-gt\n", -1, &error);
    g_assert_no_error (error);
    g_file_set_contents (info, "[Application]\nname=com.example.Game\n", -1, &error);
    g_assert_no_error (error);
  }

  credentials = g_variant_ref_sink (g_variant_new_parsed ("{'UnixUserID': <uint32 1000>, "
                                                          "'ProcessID': <uint32 100>}"));
  caller = pl_caller_new_from_credentials (":1.5", credentials, tmp, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pl_caller_get_uid (caller), ==, 1000);
  g_assert_cmpuint (pl_caller_get_pid (caller), ==, 100);
  g_assert_cmpstr (pl_caller_get_app_id (caller), ==, "org.transmissionbt.Transmission");
  g_assert_cmpstr (pl_caller_get_process_name (caller), ==, "transmission-gt");
  g_assert_false (pl_caller_get_sandboxed (caller));
  g_assert_cmpstr (pl_caller_get_kind (caller), ==, "app");
  g_clear_object (&caller);
  g_clear_pointer (&credentials, g_variant_unref);

  credentials = g_variant_ref_sink (g_variant_new_parsed ("{'UnixUserID': <uint32 1000>, "
                                                          "'ProcessID': <uint32 200>}"));
  caller = pl_caller_new_from_credentials (":1.6", credentials, tmp, &error);
  g_assert_no_error (error);
  g_assert_true (pl_caller_get_sandboxed (caller));
  g_assert_cmpuint (pl_caller_get_pid (caller), ==, 0);
  g_assert_cmpstr (pl_caller_get_app_id (caller), ==, "com.example.Game");
  g_assert_cmpstr (pl_caller_get_process_name (caller), ==, "");
  g_clear_object (&caller);
  g_clear_pointer (&credentials, g_variant_unref);

  /* No user id: refused. */
  credentials = g_variant_ref_sink (g_variant_new_parsed ("{'ProcessID': <uint32 100>}"));
  caller = pl_caller_new_from_credentials (":1.7", credentials, tmp, &error);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED);
  g_assert_null (caller);
}

/* The engine lock (pl-engine-lock.c). flock conflicts between two open files even in one
 * process, so this process can play both engines. */
static void
test_engine_lock (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("test-lock-XXXXXX", &error);
  g_autofree char *path = NULL;
  g_autoptr(PlEngineLock) first = NULL;
  g_autoptr(PlEngineLock) second = NULL;
  guint holder = 0;

  g_assert_no_error (error);
  path = g_build_filename (tmp, "portlight", "engine.lock", NULL);
  first = pl_engine_lock_acquire (path, &holder, &error);
  g_assert_no_error (error);
  g_assert_nonnull (first);

  second = pl_engine_lock_acquire (path, &holder, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_assert_null (second);
  g_assert_cmpuint (holder, ==, (guint) getpid ());
  g_clear_error (&error);

  g_clear_object (&first);
  second = pl_engine_lock_acquire (path, &holder, &error);
  g_assert_no_error (error);
  g_assert_nonnull (second);

  /* The default path is in the runtime directory. */
  {
    g_autofree char *default_path = pl_engine_lock_get_default_path ();

    g_assert_true (g_str_has_prefix (default_path, g_get_user_runtime_dir ()));
    g_assert_true (g_str_has_suffix (default_path, "/portlight/engine.lock"));
  }
}

/* Tests of `portlightctl run`. */

static const char *
portlightctl (void)
{
  const char *path = g_getenv ("PORTLIGHTCTL");

  g_assert_nonnull (path);
  return path;
}

static void
name_appeared_cb (GDBusConnection *connection,
                  const char      *name,
                  const char      *owner,
                  gpointer         user_data)
{
  *(gboolean *) user_data = TRUE;
}

static void
name_vanished_cb (GDBusConnection *connection,
                  const char      *name,
                  gpointer         user_data)
{
}

static void
name_gone_cb (GDBusConnection *connection,
              const char      *name,
              gpointer         user_data)
{
  *(gboolean *) user_data = TRUE;
}

/* Starts `portlightctl` with @args (NULL-terminated) in this test's folders. @env: extra
 * NAME=VALUE pairs. */
static GSubprocess *
spawn_ctl (Fixture            *f,
           const char * const *env,
           GSubprocessFlags    flags,
           const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = pl_test_launcher_new (flags);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    {
      g_auto(GStrv) pair = g_strsplit (env[i], "=", 2);

      g_subprocess_launcher_setenv (launcher, pair[0], pair[1], TRUE);
    }
  g_ptr_array_add (argv, (gpointer) portlightctl ());
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  return process;
}

/* Starts `portlightctl run` on the fixture's gateway. @env: extra NAME=VALUE pairs. */
static GSubprocess *
spawn_run (Fixture            *f,
           const char * const *env,
           GSubprocessFlags    flags)
{
  g_autofree char *file = g_build_filename (f->tmp, "profiles.ini", NULL);
  const char *args[] = { "run", "--protocol", "natpmp", "-g", f->gateway_address, "-f", file,
                         NULL };

  return spawn_ctl (f, env, flags, args);
}

static void
wait_name (Fixture *f)
{
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  gboolean appeared = FALSE;
  guint id;

  connection = g_dbus_connection_new_for_address_sync (
    f->address,
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
  id = g_bus_watch_name_on_connection (connection, PL_BROKER_BUS_NAME,
                                       G_BUS_NAME_WATCHER_FLAGS_NONE, name_appeared_cb,
                                       name_vanished_cb, &appeared, NULL);
  pl_test_wait_flag (&appeared);
  g_bus_unwatch_name (id);
}

/* Runs @process to its end; returns its stderr. */
static char *
finish_process (GSubprocess *process)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  char *err = NULL;

  g_subprocess_communicate_utf8_async (process, NULL, NULL, store_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_subprocess_communicate_utf8_finish (process, result, NULL, &err, &error);
  g_assert_no_error (error);
  return err;
}

static void
stop_process (GSubprocess *process)
{
  g_autofree char *err = NULL;

  g_subprocess_send_signal (process, SIGTERM);
  err = finish_process (process);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
}

/* B-13: a second engine refuses, naming the first's pid: through the engine lock, and
 * (with another runtime directory, as on a second login) through the bus name. */
static void
test_second_engine (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GSubprocess) first = NULL;
  g_autoptr(GSubprocess) second = NULL;
  g_autoptr(GSubprocess) third = NULL;
  g_autofree char *err = NULL;
  g_autofree char *want = NULL;
  g_autofree char *runtime = g_build_filename (f->tmp, "other-runtime", NULL);
  g_autofree char *runtime_env = g_strconcat ("XDG_RUNTIME_DIR=", runtime, NULL);
  const char *other_env[] = { runtime_env, NULL };

  g_assert_cmpint (g_mkdir_with_parents (runtime, 0700), ==, 0);
  first = spawn_run (f, NULL, G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  wait_name (f);
  want = g_strdup_printf ("Portlight's engine is already running (pid %s)",
                          g_subprocess_get_identifier (first));

  second = spawn_run (f, NULL, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  err = finish_process (second);
  g_assert_true (g_subprocess_get_if_exited (second));
  g_assert_cmpint (g_subprocess_get_exit_status (second), !=, 0);
  g_assert_nonnull (strstr (err, want));
  g_clear_pointer (&err, g_free);

  third = spawn_run (f, other_env,
                     G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  err = finish_process (third);
  g_assert_true (g_subprocess_get_if_exited (third));
  g_assert_cmpint (g_subprocess_get_exit_status (third), !=, 0);
  g_assert_nonnull (strstr (err, want));

  stop_process (first);
}

/* B-15 (the engine's half): without any session bus the engine runs in-process under the
 * engine lock, and a second one, with or without a bus, refuses. */
static void
wait_line_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autofree char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source),
                                                                     result, NULL, NULL);

  *(gboolean *) user_data = TRUE;
}

static void
test_no_bus (Fixture       *f,
             gconstpointer  data)
{
  const char *no_bus[] = { "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/portlight-bus",
                           NULL };
  g_autoptr(GSubprocess) first = NULL;
  g_autoptr(GSubprocess) second = NULL;
  g_autoptr(GSubprocess) third = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *want = NULL;
  gboolean started = FALSE;

  first = spawn_run (f, no_bus, G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (first));
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (out), FALSE);
  /* Its first line ("Keeping 0 profiles …") comes once it is the engine. */
  g_data_input_stream_read_line_async (out, G_PRIORITY_DEFAULT, NULL, wait_line_cb, &started);
  pl_test_wait_flag (&started);
  want = g_strdup_printf ("Portlight's engine is already running (pid %s)",
                          g_subprocess_get_identifier (first));

  second = spawn_run (f, no_bus, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  err = finish_process (second);
  g_assert_cmpint (g_subprocess_get_exit_status (second), !=, 0);
  g_assert_nonnull (strstr (err, want));
  g_clear_pointer (&err, g_free);

  /* One on the bus refuses too: the lock covers every combination. */
  third = spawn_run (f, NULL, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  err = finish_process (third);
  g_assert_cmpint (g_subprocess_get_exit_status (third), !=, 0);
  g_assert_nonnull (strstr (err, want));

  g_clear_object (&out);
  stop_process (first);
}

/* B-20: the bus goes away under a running engine with a lease that outlives its caller:
 * the engine deletes the mapping and exits 0. */
static void
test_bus_teardown (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GSubprocess) engine = NULL;
  g_autoptr(PlTestClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *err = NULL;

  engine = spawn_run (f, NULL, G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  wait_name (f);
  client = pl_test_client_new (f->address);
  path = pl_test_client_request (client, "tcp", 51431,
                                 options ("{'bind': <'none'>, 'duration': <uint32 600>}"),
                                 NULL, &error);
  g_assert_no_error (error);
  pl_test_client_wait_state (client, path, "active");
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 1);
  g_clear_pointer (&client, pl_test_client_free);

  pl_test_bus_down (f->bus);
  f->bus_down = TRUE;
  err = finish_process (engine);
  g_assert_true (g_subprocess_get_if_exited (engine));
  g_assert_cmpint (g_subprocess_get_exit_status (engine), ==, 0);
  wait_deletes (f, 51431, 1);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 0);
  assert_no_delete_all (f);
}

/* B-14: a bus with a service file for the engine in its service directory, replacing the
 * fixture's bus; @extra: more arguments of `portlightctl run`. Returns a client connection. */
static GDBusConnection *
activation_bus (Fixture    *f,
                const char *extra)
{
  g_autofree char *services = g_build_filename (f->tmp, "services", NULL);
  g_autofree char *service = g_build_filename (services, PL_BROKER_BUS_NAME ".service", NULL);
  g_autofree char *file = g_build_filename (f->tmp, "profiles.ini", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  GDBusConnection *connection;

  pl_test_bus_down (f->bus);
  g_clear_object (&f->bus);
  g_assert_cmpint (g_mkdir_with_parents (services, 0700), ==, 0);
  /* The bus starts it with its own environment: hand over this test's runtime folder (for
   * the engine lock) and keep its log out of the TAP output. */
  text = g_strdup_printf ("[D-BUS Service]\nName=%s\n"
                          "Exec=/bin/sh -c \"exec env HOME='%s' XDG_RUNTIME_DIR='%s' "
                          "XDG_CONFIG_HOME='%s' XDG_STATE_HOME='%s' '%s' run --protocol natpmp "
                          "-g %s -f '%s' %s >/dev/null\"\n",
                          PL_BROKER_BUS_NAME, g_get_home_dir (), g_get_user_runtime_dir (),
                          g_get_user_config_dir (), g_get_user_state_dir (), portlightctl (),
                          f->gateway_address, file, extra);
  g_file_set_contents (service, text, -1, &error);
  g_assert_no_error (error);
  f->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_add_service_dir (f->bus, services);
  pl_test_bus_up (f->bus);
  f->address = g_test_dbus_get_bus_address (f->bus);

  connection = g_dbus_connection_new_for_address_sync (
    f->address,
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
  return connection;
}

/* A call that may start the engine; waits for it, iterating the context (which serves the
 * fake gateway meanwhile). */
static GVariant *
activating_call (GDBusConnection    *connection,
                 const char         *path,
                 const char         *iface,
                 const char         *method,
                 GVariant           *parameters,
                 const GVariantType *reply_type)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GVariant *reply;

  g_dbus_connection_call (connection, PL_BROKER_BUS_NAME, path, iface, method, parameters,
                          reply_type, G_DBUS_CALL_FLAGS_NONE, 20000, NULL, store_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  reply = g_dbus_connection_call_finish (connection, result, &error);
  g_assert_no_error (error);
  return reply;
}

static guint32
engine_pid (GDBusConnection *connection)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  guint32 pid = 0;

  g_dbus_connection_call (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                          g_variant_new ("(s)", PL_BROKER_BUS_NAME), G_VARIANT_TYPE ("(u)"),
                          G_DBUS_CALL_FLAGS_NONE, -1, NULL, store_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  reply = g_dbus_connection_call_finish (connection, result, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(u)", &pid);
  g_assert_cmpuint (pid, >, 0);
  return pid;
}

/* Iterates until the engine has left the bus. */
static void
wait_engine_gone (GDBusConnection *connection)
{
  gboolean gone = FALSE;
  guint id = g_bus_watch_name_on_connection (connection, PL_BROKER_BUS_NAME,
                                             G_BUS_NAME_WATCHER_FLAGS_NONE, NULL,
                                             name_gone_cb, &gone, NULL);

  pl_test_wait_flag (&gone);
  g_bus_unwatch_name (id);
}

/* Iterates the context for @ms of real time (the fake gateway goes on answering). */
static void
spin_for (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * (gint64) 1000;

  while (g_get_monotonic_time () < until)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10 * 1000);
    }
}

static gboolean
engine_on_bus (GDBusConnection *connection)
{
  g_autoptr(GVariant) reply = NULL;
  gboolean owned = FALSE;

  reply = g_dbus_connection_call_sync (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", PL_BROKER_BUS_NAME),
                                       G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       NULL);

  g_assert_nonnull (reply);
  g_variant_get (reply, "(b)", &owned);
  return owned;
}

/* B-14: a client call starts the engine from a service file in the bus's service directory;
 * without --idle-exit it stays until stopped. */
static void
test_activation (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GDBusConnection) connection = activation_bus (f, "");
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) version = NULL;

  reply = activating_call (connection, PL_BROKER_MANAGER_PATH, "org.freedesktop.DBus.Properties",
                           "Get", g_variant_new ("(ss)", MANAGER_IFACE, "Version"),
                           G_VARIANT_TYPE ("(v)"));
  g_variant_get (reply, "(v)", &version);
  g_assert_cmpuint (g_variant_get_uint32 (version), ==, 1);

  /* Stop the activated engine (SIGTERM: it cleans up and releases its name on the way out). */
  g_assert_cmpint (kill ((pid_t) engine_pid (connection), SIGTERM), ==, 0);
  wait_engine_gone (connection);
  g_dbus_connection_close_sync (connection, NULL, NULL);
}

/* B-14, the idle exit (dbus-broker.md §2.4): an engine started with --idle-exit stays while
 * somebody is subscribed or holds a lease, and leaves by itself once it has had nothing to
 * keep for that long, deleting nothing it still had to keep. The next call starts it again. */
static void
test_idle_exit (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GDBusConnection) connection = activation_bus (f, "--idle-exit=1");
  g_autoptr(GVariant) reply = NULL;
  g_autofree char *lease = NULL;
  const char *tcp[] = { "tcp", NULL };
  guint32 first;

  /* A subscriber keeps it: well past the idle time, it is still there. */
  g_clear_pointer (&reply, g_variant_unref);
  reply = activating_call (connection, PL_BROKER_MANAGER_PATH, MANAGER_IFACE, "Subscribe", NULL,
                           NULL);
  first = engine_pid (connection);
  spin_for (2500);
  g_assert_true (engine_on_bus (connection));
  g_assert_cmpuint (engine_pid (connection), ==, first);

  /* Unsubscribed, with nothing else to keep, it goes by itself. */
  g_clear_pointer (&reply, g_variant_unref);
  reply = activating_call (connection, PL_BROKER_MANAGER_PATH, MANAGER_IFACE, "Unsubscribe", NULL,
                           NULL);
  wait_engine_gone (connection);

  /* A lease starts it again and keeps it, mapped on the router, past the idle time. */
  g_clear_pointer (&reply, g_variant_unref);
  reply = activating_call (connection, PL_BROKER_MANAGER_PATH, MANAGER_IFACE, "RequestMapping",
                           g_variant_new ("(^asq@a{sv})", tcp, (guint16) 51470,
                                          g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0)),
                           G_VARIANT_TYPE ("(o)"));
  g_variant_get (reply, "(o)", &lease);
  while (pl_fake_gateway_get_n_mappings (f->gateway) != 1)
    g_main_context_iteration (NULL, TRUE);
  spin_for (2500);
  g_assert_true (engine_on_bus (connection));
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 1);

  /* Released: the mapping is deleted, then the engine goes. */
  g_clear_pointer (&reply, g_variant_unref);
  reply = activating_call (connection, lease, LEASE_IFACE, "Release", NULL, NULL);
  wait_deletes (f, 51470, 1);
  wait_engine_gone (connection);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 0);
  assert_no_delete_all (f);
  g_dbus_connection_close_sync (connection, NULL, NULL);
}

static void
name_acquired_flag_cb (GDBusConnection *connection,
                       const char      *name,
                       gpointer         user_data)
{
  *(gboolean *) user_data = TRUE;
}

/* B-10: a resume. While the computer slept the router rebooted (its table empty, its epoch
 * back at 0) and nobody heard its announcement. logind's PrepareForSleep(false), on a system
 * bus of the test's own where this process is org.freedesktop.login1, makes the engine check
 * at once: the lease is mapped again, long before its renewal (an hour away) would have. */
static void
test_resume (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GTestDBus) system_bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_autoptr(GDBusConnection) logind = NULL;
  g_autoptr(GSubprocess) engine = NULL;
  g_autoptr(PlTestClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *system_env = NULL;
  g_autofree char *err = NULL;
  const char *env[2] = { NULL, NULL };
  gboolean owned = FALSE;
  guint own_id;

  /* GTestDBus points DBUS_SESSION_BUS_ADDRESS at every bus it starts: put it back. */
  pl_test_bus_up (system_bus);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", f->address, TRUE);
  system_env = g_strdup_printf ("DBUS_SYSTEM_BUS_ADDRESS=%s",
                                g_test_dbus_get_bus_address (system_bus));
  env[0] = system_env;
  logind = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (system_bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
  own_id = g_bus_own_name_on_connection (logind, "org.freedesktop.login1",
                                         G_BUS_NAME_OWNER_FLAGS_NONE, name_acquired_flag_cb,
                                         NULL, &owned, NULL);
  pl_test_wait_flag (&owned);

  engine = spawn_run (f, env, G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  wait_name (f);
  client = pl_test_client_new (f->address);
  path = pl_test_client_request (client, "tcp", 51432, NULL, NULL, &error);
  g_assert_no_error (error);
  pl_test_client_wait_state (client, path, "active");
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 1);

  /* The silent reboot, then the resume. The engine subscribes to the signal once it has the
   * system bus, which it asks for in the background: say it again until it is heard. */
  pl_fake_gateway_clear_mappings (f->gateway);
  pl_fake_gateway_set_epoch (f->gateway, 0);
  pl_fake_gateway_clear_requests (f->gateway);
  for (guint tries = 0; pl_fake_gateway_get_n_mappings (f->gateway) == 0; tries++)
    {
      g_assert_cmpuint (tries, <, 40);
      g_dbus_connection_emit_signal (logind, NULL, "/org/freedesktop/login1",
                                     "org.freedesktop.login1.Manager", "PrepareForSleep",
                                     g_variant_new ("(b)", FALSE), &error);
      g_assert_no_error (error);
      spin_for (500);
    }
  g_assert_cmpuint (count_requests (f, 51432, FALSE), >=, 1);
  pl_test_client_wait_state (client, path, "active");

  g_subprocess_send_signal (engine, SIGTERM);
  err = finish_process (engine);
  g_assert_true (g_subprocess_get_if_exited (engine));
  g_assert_cmpint (g_subprocess_get_exit_status (engine), ==, 0);
  g_bus_unown_name (own_id);
  g_dbus_connection_close_sync (logind, NULL, NULL);
  pl_test_bus_down (system_bus);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", f->address, TRUE);
}

/* B-16: the engine is killed (SIGKILL: no delete, nothing said) with leases active over PCP,
 * and started again. A client that asks again within the grace gets its mapping back: the
 * same nonce, so the same public port (which is not the internal one here: another host holds
 * that). After the grace, the mapping nobody asked for again is deleted with its own nonce,
 * and leaves the engine's journal; the mapping a one-shot `portlightctl map` made before is
 * neither deleted nor touched in its journal. */
#define B16_CLAIMED    51441
#define B16_UNCLAIMED  51451
#define B16_ONE_SHOT   51461
#define B16_GRACE      "8"

typedef struct
{
  guint   n;            /* MAP requests for the port (all, or deletes only) */
  guint8  nonce[PL_PCP_NONCE_SIZE];   /* of the last of them */
} PcpSeen;

static PcpSeen
pcp_seen (PlFakePcpGateway *gateway,
          guint16           internal_port,
          gboolean          deletes_only,
          guint             from)
{
  GPtrArray *requests = pl_fake_pcp_gateway_get_requests (gateway);
  PcpSeen seen = { 0 };

  for (guint i = from; i < requests->len; i++)
    {
      PlFakePcpRequest *r = g_ptr_array_index (requests, i);

      if (!r->parsed || r->opcode != 1 || r->request.internal_port != internal_port)
        continue;
      if (deletes_only != (r->request.lifetime == 0))
        continue;
      seen.n++;
      memcpy (seen.nonce, r->request.nonce, sizeof seen.nonce);
    }
  return seen;
}

static char *
read_text (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

/* The journal's group for @port holds Owner=engine (or no Owner key, for @engine FALSE). */
static void
assert_journal_has (const char *text,
                    guint16     port,
                    gboolean    engine)
{
  g_autofree char *group = g_strdup_printf ("[mapping tcp %u ", port);
  const char *start = strstr (text, group);
  const char *end;
  g_autofree char *record = NULL;

  if (start == NULL)
    g_error ("No record for port %u in:\n%s", port, text);
  end = strstr (start + 1, "\n[");
  record = end != NULL ? g_strndup (start, end - start) : g_strdup (start);
  if (engine)
    g_assert_nonnull (strstr (record, "\nOwner=engine\n"));
  else
    g_assert_null (strstr (record, "Owner="));
}

static void
test_crash_restart (Fixture       *f,
                    gconstpointer  data)
{
  const char *grace_env[] = { "PORTLIGHT_TEST_SWEEP_GRACE=" B16_GRACE, NULL };
  g_autoptr(PlFakePcpGateway) gateway = NULL;
  g_autoptr(GSubprocess) first = NULL;
  g_autoptr(GSubprocess) second = NULL;
  g_autoptr(GSubprocess) map = NULL;
  g_autoptr(PlTestClient) client = NULL;
  g_autoptr(PlTestClient) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *gateway_address = g_strdup_printf ("127.0.62.%u", f->setup->n);
  g_autofree char *file = g_build_filename (f->tmp, "profiles.ini", NULL);
  g_autofree char *engine_journal = g_build_filename (g_get_user_runtime_dir (), "portlight",
                                                      "engine-mappings.ini", NULL);
  g_autofree char *one_shot_journal = g_build_filename (g_get_user_state_dir (), "portlight",
                                                        "mappings.ini", NULL);
  g_autofree char *claimed_path = NULL;
  g_autofree char *unclaimed_path = NULL;
  g_autofree char *path = NULL;
  g_autofree char *err = NULL;
  g_autofree char *text = NULL;
  g_autofree char *one_shot_before = NULL;
  g_autofree char *one_shot_after = NULL;
  g_autofree char *closed = NULL;
  const char *map_args[] = { "map", "--protocol", "pcp", "-g", gateway_address, "-l", "3600",
                             G_STRINGIFY (B16_ONE_SHOT), G_STRINGIFY (B16_ONE_SHOT), NULL };
  const char *run_args[] = { "run", "--protocol", "pcp", "-g", gateway_address, "-f", file,
                             NULL };
  PcpSeen claimed_before, unclaimed_before, seen;
  guint16 claimed_port;
  guint restart;

  gateway = pl_fake_pcp_gateway_new (gateway_address, f->clock, &error);
  g_assert_no_error (error);
  /* Another host holds the internal port: the lease gets another one, which only the nonce
   * brings back. */
  pl_fake_pcp_gateway_hold_port (gateway, 6, B16_CLAIMED);

  /* A one-shot map first (with an engine on the bus, map would ask it instead). */
  map = spawn_ctl (f, NULL, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                   map_args);
  err = finish_process (map);
  if (!g_subprocess_get_if_exited (map) || g_subprocess_get_exit_status (map) != 0)
    g_error ("portlightctl map failed: %s", err);
  g_clear_pointer (&err, g_free);
  one_shot_before = read_text (one_shot_journal);
  assert_journal_has (one_shot_before, B16_ONE_SHOT, FALSE);

  first = spawn_ctl (f, NULL, G_SUBPROCESS_FLAGS_STDOUT_SILENCE, run_args);
  wait_name (f);
  client = pl_test_client_new (f->address);
  claimed_path = pl_test_client_request (client, "tcp", B16_CLAIMED,
                                         options ("{'bind': <'none'>, 'duration': <uint32 600>}"),
                                         NULL, &error);
  g_assert_no_error (error);
  unclaimed_path = pl_test_client_request (client, "tcp", B16_UNCLAIMED,
                                           options ("{'bind': <'none'>, 'duration': <uint32 600>}"),
                                           NULL, &error);
  g_assert_no_error (error);
  pl_test_client_wait_state (client, claimed_path, "active");
  pl_test_client_wait_state (client, unclaimed_path, "active");
  claimed_port = mapping_port (pl_test_client_get_lease (client, claimed_path), 0);
  g_assert_cmpuint (claimed_port, !=, B16_CLAIMED);
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (gateway), ==, 3);
  claimed_before = pcp_seen (gateway, B16_CLAIMED, FALSE, 0);
  unclaimed_before = pcp_seen (gateway, B16_UNCLAIMED, FALSE, 0);
  g_assert_cmpuint (claimed_before.n, >=, 1);
  g_assert_cmpuint (unclaimed_before.n, >=, 1);
  text = read_text (engine_journal);
  assert_journal_has (text, B16_CLAIMED, TRUE);
  assert_journal_has (text, B16_UNCLAIMED, TRUE);
  g_assert_null (strstr (text, "[mapping tcp " G_STRINGIFY (B16_ONE_SHOT)));
  g_clear_pointer (&text, g_free);

  /* The crash. */
  g_subprocess_send_signal (first, SIGKILL);
  err = finish_process (first);
  g_assert_false (g_subprocess_get_if_exited (first));
  g_clear_pointer (&client, pl_test_client_free);
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (gateway), ==, 3);
  restart = pl_fake_pcp_gateway_get_requests (gateway)->len;

  /* Started again; the client asks again for one of its two ports. */
  second = spawn_ctl (f, grace_env, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                      run_args);
  wait_name (f);
  again = pl_test_client_new (f->address);
  path = pl_test_client_request (again, "tcp", B16_CLAIMED,
                                 options ("{'bind': <'none'>, 'duration': <uint32 600>}"),
                                 NULL, &error);
  g_assert_no_error (error);
  pl_test_client_wait_state (again, path, "active");
  g_assert_cmpuint (mapping_port (pl_test_client_get_lease (again, path), 0), ==, claimed_port);
  seen = pcp_seen (gateway, B16_CLAIMED, FALSE, restart);
  g_assert_cmpuint (seen.n, >=, 1);
  g_assert_cmpmem (seen.nonce, sizeof seen.nonce, claimed_before.nonce,
                   sizeof claimed_before.nonce);

  /* After the grace: the unclaimed one is deleted, with its nonce, and only it. */
  while (pcp_seen (gateway, B16_UNCLAIMED, TRUE, restart).n == 0)
    g_main_context_iteration (NULL, TRUE);
  seen = pcp_seen (gateway, B16_UNCLAIMED, TRUE, restart);
  g_assert_cmpmem (seen.nonce, sizeof seen.nonce, unclaimed_before.nonce,
                   sizeof unclaimed_before.nonce);
  /* The journal is saved once the answer is in: wait for the record to go. */
  for (;;)
    {
      g_autofree char *now = read_text (engine_journal);

      if (strstr (now, "[mapping tcp " G_STRINGIFY (B16_UNCLAIMED)) == NULL)
        {
          text = g_steal_pointer (&now);
          break;
        }
      spin_for (100);
    }
  assert_journal_has (text, B16_CLAIMED, TRUE);
  g_assert_cmpuint (pcp_seen (gateway, B16_CLAIMED, TRUE, restart).n, ==, 0);
  g_assert_cmpuint (pcp_seen (gateway, B16_ONE_SHOT, TRUE, 0).n, ==, 0);
  g_assert_cmpuint (pcp_seen (gateway, B16_ONE_SHOT, FALSE, restart).n, ==, 0);
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (gateway), ==, 2);
  one_shot_after = read_text (one_shot_journal);
  g_assert_cmpstr (one_shot_after, ==, one_shot_before);

  /* A clean stop deletes the engine's mapping, never the one-shot one. */
  g_subprocess_send_signal (second, SIGTERM);
  g_clear_pointer (&err, g_free);
  err = finish_process (second);
  g_assert_true (g_subprocess_get_if_exited (second));
  g_assert_cmpint (g_subprocess_get_exit_status (second), ==, 0);
  closed = g_strdup_printf ("Closed tcp port %u at %s", B16_UNCLAIMED, gateway_address);
  if (strstr (err, closed) == NULL)
    g_error ("“%s” is not in the engine's log:\n%s", closed, err);
  g_assert_cmpuint (pcp_seen (gateway, B16_CLAIMED, TRUE, restart).n, >=, 1);
  g_assert_cmpuint (pcp_seen (gateway, B16_ONE_SHOT, TRUE, 0).n, ==, 0);
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (gateway), ==, 1);
}

/* B-16 over NAT-PMP: no nonce, but the engine's journal still knows which ports it had open,
 * so the one nobody asks for again is deleted by its port alone (never "delete all"). */
static void
test_crash_restart_natpmp (Fixture       *f,
                           gconstpointer  data)
{
  const char *grace_env[] = { "PORTLIGHT_TEST_SWEEP_GRACE=" B16_GRACE, NULL };
  g_autoptr(GSubprocess) first = NULL;
  g_autoptr(GSubprocess) second = NULL;
  g_autoptr(PlTestClient) client = NULL;
  g_autoptr(PlTestClient) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *engine_journal = g_build_filename (g_get_user_runtime_dir (), "portlight",
                                                      "engine-mappings.ini", NULL);
  g_autofree char *claimed_path = NULL;
  g_autofree char *unclaimed_path = NULL;
  g_autofree char *path = NULL;
  g_autofree char *err = NULL;
  g_autofree char *text = NULL;
  guint16 claimed_port;

  first = spawn_run (f, NULL, G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  wait_name (f);
  client = pl_test_client_new (f->address);
  claimed_path = pl_test_client_request (client, "tcp", B16_CLAIMED,
                                         options ("{'bind': <'none'>, 'duration': <uint32 600>}"),
                                         NULL, &error);
  g_assert_no_error (error);
  unclaimed_path = pl_test_client_request (client, "tcp", B16_UNCLAIMED,
                                           options ("{'bind': <'none'>, 'duration': <uint32 600>}"),
                                           NULL, &error);
  g_assert_no_error (error);
  pl_test_client_wait_state (client, claimed_path, "active");
  pl_test_client_wait_state (client, unclaimed_path, "active");
  claimed_port = mapping_port (pl_test_client_get_lease (client, claimed_path), 0);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 2);
  text = read_text (engine_journal);
  assert_journal_has (text, B16_CLAIMED, TRUE);
  assert_journal_has (text, B16_UNCLAIMED, TRUE);
  g_assert_nonnull (strstr (text, "Method=natpmp\n"));
  g_clear_pointer (&text, g_free);

  g_subprocess_send_signal (first, SIGKILL);
  err = finish_process (first);
  g_assert_false (g_subprocess_get_if_exited (first));
  g_clear_pointer (&client, pl_test_client_free);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 2);

  second = spawn_run (f, grace_env, G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  wait_name (f);
  again = pl_test_client_new (f->address);
  path = pl_test_client_request (again, "tcp", B16_CLAIMED,
                                 options ("{'bind': <'none'>, 'duration': <uint32 600>}"),
                                 NULL, &error);
  g_assert_no_error (error);
  pl_test_client_wait_state (again, path, "active");
  g_assert_cmpuint (mapping_port (pl_test_client_get_lease (again, path), 0), ==, claimed_port);

  wait_deletes (f, B16_UNCLAIMED, 1);
  for (;;)
    {
      g_autofree char *now = read_text (engine_journal);

      if (strstr (now, "[mapping tcp " G_STRINGIFY (B16_UNCLAIMED)) == NULL)
        {
          text = g_steal_pointer (&now);
          break;
        }
      spin_for (100);
    }
  assert_journal_has (text, B16_CLAIMED, TRUE);
  g_assert_cmpuint (count_requests (f, B16_CLAIMED, TRUE), ==, 0);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 1);
  assert_no_delete_all (f);

  stop_process (second);
  g_assert_cmpuint (count_requests (f, B16_CLAIMED, TRUE), >=, 1);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 0);
  assert_no_delete_all (f);
}

/* B-16, the ports the user closed: a lease released while the engine runs is deleted and its
 * record leaves the journal once the router confirmed the delete (so a restarted engine does
 * not delete it again); a lease released while the router does not answer the delete keeps
 * its record, so when the engine is killed before the answer, the engine started again
 * deletes that port after the grace, with its nonce, though nobody asks. A port the user
 * closed does not stay open because the engine crashed. */
#define B16_CLOSED     51471
#define B16_UNANSWERED 51481
#define B16_OTHER      51491

static void
test_crash_closed (Fixture       *f,
                   gconstpointer  data)
{
  const char *grace_env[] = { "PORTLIGHT_TEST_SWEEP_GRACE=" B16_GRACE, NULL };
  g_autoptr(PlFakePcpGateway) gateway = NULL;
  g_autoptr(GSubprocess) first = NULL;
  g_autoptr(GSubprocess) second = NULL;
  g_autoptr(PlTestClient) client = NULL;
  g_autoptr(PlTestClient) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *gateway_address = g_strdup_printf ("127.0.62.%u", f->setup->n);
  g_autofree char *file = g_build_filename (f->tmp, "profiles.ini", NULL);
  g_autofree char *engine_journal = g_build_filename (g_get_user_runtime_dir (), "portlight",
                                                      "engine-mappings.ini", NULL);
  g_autofree char *other_path = NULL;
  g_autofree char *closed_path = NULL;
  g_autofree char *unanswered_path = NULL;
  g_autofree char *err = NULL;
  g_autofree char *text = NULL;
  const char *run_args[] = { "run", "--protocol", "pcp", "-g", gateway_address, "-f", file,
                             NULL };
  PcpSeen unanswered_before, seen;
  guint restart;

  gateway = pl_fake_pcp_gateway_new (gateway_address, f->clock, &error);
  g_assert_no_error (error);

  first = spawn_ctl (f, NULL, G_SUBPROCESS_FLAGS_STDOUT_SILENCE, run_args);
  wait_name (f);
  client = pl_test_client_new (f->address);
  closed_path = pl_test_client_request (client, "tcp", B16_CLOSED,
                                        options ("{'bind': <'none'>, 'duration': <uint32 600>}"),
                                        NULL, &error);
  g_assert_no_error (error);
  unanswered_path = pl_test_client_request (client, "tcp", B16_UNANSWERED,
                                            options ("{'bind': <'none'>, 'duration': <uint32 600>}"),
                                            NULL, &error);
  g_assert_no_error (error);
  pl_test_client_wait_state (client, closed_path, "active");
  pl_test_client_wait_state (client, unanswered_path, "active");
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (gateway), ==, 2);
  unanswered_before = pcp_seen (gateway, B16_UNANSWERED, FALSE, 0);
  g_assert_cmpuint (unanswered_before.n, >=, 1);

  /* Closed and answered: the record goes with the confirmation. */
  g_assert_true (pl_test_client_call (client, closed_path, LEASE_IFACE, "Release", &error));
  g_assert_no_error (error);
  for (;;)
    {
      g_autofree char *now = read_text (engine_journal);

      if (strstr (now, "[mapping tcp " G_STRINGIFY (B16_CLOSED)) == NULL)
        {
          text = g_steal_pointer (&now);
          break;
        }
      spin_for (100);
    }
  g_assert_cmpuint (pcp_seen (gateway, B16_CLOSED, TRUE, 0).n, >=, 1);
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (gateway), ==, 1);
  assert_journal_has (text, B16_UNANSWERED, TRUE);
  g_clear_pointer (&text, g_free);

  /* Closed, the delete unanswered, and the engine killed before any answer. */
  pl_fake_pcp_gateway_set_silent_port (gateway, B16_UNANSWERED);
  g_assert_true (pl_test_client_call (client, unanswered_path, LEASE_IFACE, "Release", &error));
  g_assert_no_error (error);
  while (pcp_seen (gateway, B16_UNANSWERED, TRUE, 0).n == 0)
    g_main_context_iteration (NULL, TRUE);
  g_subprocess_send_signal (first, SIGKILL);
  err = finish_process (first);
  g_assert_false (g_subprocess_get_if_exited (first));
  g_clear_pointer (&client, pl_test_client_free);
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (gateway), ==, 1);
  text = read_text (engine_journal);
  assert_journal_has (text, B16_UNANSWERED, TRUE);
  g_assert_null (strstr (text, "[mapping tcp " G_STRINGIFY (B16_CLOSED)));
  g_clear_pointer (&text, g_free);
  pl_fake_pcp_gateway_set_silent_port (gateway, 0);
  restart = pl_fake_pcp_gateway_get_requests (gateway)->len;

  /* Started again, nobody asks for it (another port is asked for, so that the engine speaks
   * with the gateway): after the grace the port is deleted, with its nonce. */
  second = spawn_ctl (f, grace_env, G_SUBPROCESS_FLAGS_STDOUT_SILENCE, run_args);
  wait_name (f);
  again = pl_test_client_new (f->address);
  other_path = pl_test_client_request (again, "tcp", B16_OTHER,
                                       options ("{'bind': <'none'>, 'duration': <uint32 600>}"),
                                       NULL, &error);
  g_assert_no_error (error);
  pl_test_client_wait_state (again, other_path, "active");
  while (pcp_seen (gateway, B16_UNANSWERED, TRUE, restart).n == 0)
    g_main_context_iteration (NULL, TRUE);
  seen = pcp_seen (gateway, B16_UNANSWERED, TRUE, restart);
  g_assert_cmpmem (seen.nonce, sizeof seen.nonce, unanswered_before.nonce,
                   sizeof unanswered_before.nonce);
  for (;;)
    {
      g_autofree char *now = read_text (engine_journal);

      if (strstr (now, "[mapping tcp " G_STRINGIFY (B16_UNANSWERED)) == NULL)
        break;
      spin_for (100);
    }
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (gateway), ==, 1);   /* B16_OTHER */
  /* The port closed and confirmed before the crash is not deleted again. */
  g_assert_cmpuint (pcp_seen (gateway, B16_CLOSED, TRUE, restart).n, ==, 0);
  g_assert_cmpuint (pcp_seen (gateway, B16_CLOSED, FALSE, restart).n, ==, 0);

  stop_process (second);
}

int
main (int    argc,
      char **argv)
{
  static const Setup plain[] = {
    { 1 }, { 2 }, { 3 }, { 4 }, { 5 }, { 6 }, { 7 }, { 8 }, { 9 }, { 10 }, { 11 }, { 12 },
    { 13 }, { 14 }, { 15 }, { 16 }, { 17 }, { 18 },
  };
  static const Setup no_gateway = { 20, .no_gateway = TRUE };
  static const Setup sandboxed = { 21, .sandboxed = TRUE, .allowed = TRUE };
  static const Setup not_allowed = { 22, .sandboxed = TRUE };
  static const Setup with_store = { 23, .store = TRUE };
  static const Setup no_rate_limit = { 24, .no_rate_limit = TRUE };
  static const Setup with_group = { 25, .group = TRUE };
  static const Setup with_group_2 = { 26, .group = TRUE };
  static const Setup cli[] = {
    { 30, .no_broker = TRUE }, { 31, .no_broker = TRUE }, { 32, .no_broker = TRUE },
    { 33, .no_broker = TRUE }, { 34, .no_broker = TRUE }, { 35, .no_broker = TRUE },
    { 36, .no_broker = TRUE }, { 37, .no_broker = TRUE }, { 38, .no_broker = TRUE },
  };
  g_autofree char *daemon = NULL;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  daemon = g_find_program_in_path ("dbus-daemon");
  if (daemon == NULL)
    {
      g_printerr ("dbus-daemon is not installed (Debian package dbus-daemon): "
                  "cannot run a private session bus\n");
      return 77;
    }

#define ADD(path, setup, func) \
  g_test_add (path, Fixture, setup, fixture_set_up, func, fixture_tear_down)

  g_test_add_func ("/broker/caller/units", test_caller_units);
  g_test_add_func ("/broker/caller/proc", test_caller_proc);
  g_test_add_func ("/broker/engine-lock", test_engine_lock);
  ADD ("/broker/request/active", &plain[0], test_request_active);
  ADD ("/broker/lease/caller-vanishes", &plain[1], test_caller_vanishes);
  ADD ("/broker/lease/gdbus-call", &plain[2], test_gdbus_call);
  ADD ("/broker/lease/vanish-mid-call", &plain[15], test_vanish_mid_call);
  ADD ("/broker/claims/shared", &plain[3], test_shared_claim);
  ADD ("/broker/claims/port-in-use", &plain[4], test_port_in_use);
  ADD ("/broker/lease/release-not-owner", &plain[5], test_release_not_owner);
  ADD ("/broker/request/bad-input", &plain[6], test_bad_input);
  ADD ("/broker/limits", &no_rate_limit, test_limits);
  ADD ("/broker/limits/rate", &plain[7], test_rate);
  ADD ("/broker/gateway/reboot", &plain[8], test_gateway_reboot);
  ADD ("/broker/gateway/refused", &plain[9], test_refused);
  ADD ("/broker/gateway/none", &no_gateway, test_no_gateway);
  ADD ("/broker/claims/profile", &plain[10], test_profile_shares);
  ADD ("/broker/claims/other-gateway", &with_group, test_other_gateway);
  ADD ("/broker/profiles/waiting-tunnel", &with_group_2, test_waiting_tunnel);
  ADD ("/broker/profiles", &with_store, test_profiles);
  ADD ("/broker/profiles/waiting", &plain[17], test_profile_waiting);
  ADD ("/broker/sandbox/not-allowed", &not_allowed, test_sandboxed_not_allowed);
  ADD ("/broker/sandbox/allowed", &sandboxed, test_sandboxed);
  ADD ("/broker/socket-proof", &plain[11], test_socket_proof);
  ADD ("/broker/lease/revoke", &plain[12], test_revoke);
  ADD ("/broker/lease/bind-none", &plain[13], test_bind_none);
  ADD ("/broker/request/any-port", &plain[16], test_any_port);
  ADD ("/broker/introspection", &plain[14], test_introspection);
  ADD ("/broker/run/second-engine", &cli[0], test_second_engine);
  ADD ("/broker/run/no-bus", &cli[1], test_no_bus);
  ADD ("/broker/run/bus-teardown", &cli[2], test_bus_teardown);
  ADD ("/broker/run/activation", &cli[3], test_activation);
  ADD ("/broker/run/idle-exit", &cli[4], test_idle_exit);
  ADD ("/broker/run/resume", &cli[5], test_resume);
  ADD ("/broker/run/crash-restart", &cli[6], test_crash_restart);
  ADD ("/broker/run/crash-restart-natpmp", &cli[7], test_crash_restart_natpmp);
  ADD ("/broker/run/crash-closed", &cli[8], test_crash_closed);

  return g_test_run ();
}
