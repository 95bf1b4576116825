/* pl-cli-engine.c: portlightctl as a client of the running engine (the broker on the bus)
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "pl-cli-engine.h"
#include "pl-cli-handoff.h"
#include "pl-core.h"

/* Where there is an engine, portlightctl is its client (dbus-broker.md §2.2): it calls the
 * Manager with auto-start, so an installed engine is activated, and reads the engine's state
 * through a GDBusObjectManagerClient of the types gdbus-codegen made from the shipped XML.
 * Where there is none (no session bus, or nobody owns and nothing can activate the name),
 * the commands work in-process as they always did. */

#define MANAGER_IFACE  PL_BROKER_BUS_NAME ".Manager"
#define LEASE_IFACE    PL_BROKER_BUS_NAME ".Lease"
#define PROFILE_IFACE  PL_BROKER_BUS_NAME ".Profile"
#define PROFILE_PREFIX PL_BROKER_OBJECT_PATH "/Profile/"

/* Activation may take a while (systemd starts the unit); D-Bus's own default is 25 s. */
#define FIND_TIMEOUT_MS 25000

void
pl_cli_engine_free (PlCliEngine *engine)
{
  if (engine == NULL)
    return;
  g_clear_object (&engine->manager);
  g_clear_object (&engine->objects);
  g_clear_object (&engine->connection);
  g_free (engine);
}

static guint
owner_pid (GDBusConnection *connection)
{
  g_autoptr(GVariant) reply = NULL;
  guint32 pid = 0;

  reply = g_dbus_connection_call_sync (connection, "org.freedesktop.DBus",
                                       "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "GetConnectionUnixProcessID",
                                       g_variant_new ("(s)", PL_BROKER_BUS_NAME),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, 5000,
                                       NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(u)", &pid);
  return pid;
}

static gboolean
take_lock (PlEngineLock **lock,
           GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  guint holder = 0;

  *lock = pl_engine_lock_acquire (NULL, &holder, &local_error);
  if (*lock != NULL)
    return TRUE;
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_BUSY))
    {
      if (holder != 0)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                     _("Portlight's engine is running as pid %u: use it (leave out "
                       "--no-broker)"), holder);
      else
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                             _("Portlight's engine is running: use it (leave out "
                               "--no-broker)"));
      return FALSE;
    }
  /* No runtime folder to lock in: nothing else can lock there either. */
  g_debug ("No engine lock: %s", local_error->message);
  return TRUE;
}

static PlCliEngine *
engine_find (gboolean        no_broker,
             gboolean        with_objects,
             PlEngineLock  **lock,
             GError        **error)
{
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(PlBrokerManager) probe = NULL;
  g_autoptr(GDBusObjectManager) objects = NULL;
  g_autoptr(GDBusInterface) manager = NULL;
  g_autoptr(GError) local_error = NULL;
  PlCliEngine *engine;

  g_return_val_if_fail (lock != NULL && *lock == NULL, NULL);

  if (no_broker)
    {
      take_lock (lock, error);
      return NULL;
    }
  if (pl_cli_handoff_engine_absent ())
    return NULL;

  connection = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &local_error);
  if (connection == NULL)
    {
      g_debug ("No session bus (%s): working in-process", local_error->message);
      return NULL;
    }

  /* Subscribe() with auto-start: it activates an installed engine, and keeps the engine's
   * monitoring on for as long as this command is on the bus. */
  probe = pl_broker_manager_proxy_new_sync (connection,
                                            G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES |
                                            G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS |
                                            G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START_AT_CONSTRUCTION,
                                            PL_BROKER_BUS_NAME, PL_BROKER_MANAGER_PATH, NULL,
                                            &local_error);
  if (probe == NULL)
    {
      g_propagate_error (error, pl_cli_engine_call_error (local_error));
      return NULL;
    }
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (probe), FIND_TIMEOUT_MS);
  if (!pl_broker_manager_call_subscribe_sync (probe, NULL, &local_error))
    {
      if (g_error_matches (local_error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
          g_error_matches (local_error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
        {
          g_debug ("No engine on the session bus: working in-process");
          return NULL;
        }
      g_propagate_error (error, pl_cli_engine_call_error (local_error));
      return NULL;
    }

  if (with_objects)
    {
      objects = pl_broker_object_manager_client_new_sync (connection,
                                                          G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_NONE,
                                                          PL_BROKER_BUS_NAME, PL_BROKER_OBJECT_PATH,
                                                          NULL, &local_error);
      if (objects == NULL)
        {
          g_propagate_error (error, pl_cli_engine_call_error (local_error));
          return NULL;
        }
      manager = g_dbus_object_manager_get_interface (objects, PL_BROKER_MANAGER_PATH,
                                                     MANAGER_IFACE);
    }
  else
    {
      /* The Manager alone (one GetAll): its signals and properties, no other object. */
      manager = G_DBUS_INTERFACE (pl_broker_manager_proxy_new_sync (
                                    connection, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                    PL_BROKER_BUS_NAME, PL_BROKER_MANAGER_PATH, NULL,
                                    &local_error));
      if (manager == NULL)
        {
          g_propagate_error (error, pl_cli_engine_call_error (local_error));
          return NULL;
        }
      if (pl_broker_manager_get_version (PL_BROKER_MANAGER (manager)) == 0)
        g_clear_object (&manager);   /* no properties: the engine left meanwhile */
    }
  if (manager == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           _("Portlight's engine went away while this command started"));
      return NULL;
    }

  engine = g_new0 (PlCliEngine, 1);
  engine->connection = g_steal_pointer (&connection);
  engine->objects = g_steal_pointer (&objects);
  engine->manager = PL_BROKER_MANAGER (g_steal_pointer (&manager));
  return engine;
}

guint
pl_cli_engine_get_pid (PlCliEngine *engine)
{
  if (!engine->pid_asked)
    {
      engine->pid = owner_pid (engine->connection);
      engine->pid_asked = TRUE;
    }
  return engine->pid;
}

PlCliEngine *
pl_cli_engine_find (gboolean        no_broker,
                    PlEngineLock  **lock,
                    GError        **error)
{
  return engine_find (no_broker, TRUE, lock, error);
}

PlCliEngine *
pl_cli_engine_find_lean (gboolean        no_broker,
                         PlEngineLock  **lock,
                         GError        **error)
{
  return engine_find (no_broker, FALSE, lock, error);
}

GVariant *
pl_cli_engine_peek_manager (GError **error)
{
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) local_error = NULL;
  GVariant *properties = NULL;

  if (pl_cli_handoff_engine_absent ())
    return NULL;
  connection = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &local_error);
  if (connection == NULL)
    {
      g_debug ("No session bus (%s): working in-process", local_error->message);
      return NULL;
    }
  reply = g_dbus_connection_call_sync (connection, PL_BROKER_BUS_NAME, PL_BROKER_MANAGER_PATH,
                                       "org.freedesktop.DBus.Properties", "GetAll",
                                       g_variant_new ("(s)", MANAGER_IFACE),
                                       G_VARIANT_TYPE ("(a{sv})"), G_DBUS_CALL_FLAGS_NONE,
                                       FIND_TIMEOUT_MS, NULL, &local_error);
  if (reply == NULL)
    {
      if (g_error_matches (local_error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
          g_error_matches (local_error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
        {
          g_debug ("No engine on the session bus: working in-process");
          return NULL;
        }
      g_propagate_error (error, pl_cli_engine_call_error (local_error));
      return NULL;
    }
  g_variant_get (reply, "(@a{sv})", &properties);
  return properties;
}

static int
compare_paths (gconstpointer a,
               gconstpointer b)
{
  const char *path_a = g_dbus_proxy_get_object_path (G_DBUS_PROXY (a));
  const char *path_b = g_dbus_proxy_get_object_path (G_DBUS_PROXY (b));
  size_t len_a = strlen (path_a);
  size_t len_b = strlen (path_b);

  /* Lease/9 before Lease/10: shorter numbers first. */
  if (len_a != len_b)
    return len_a < len_b ? -1 : 1;
  return strcmp (path_a, path_b);
}

GList *
pl_cli_engine_list_leases (PlCliEngine *engine)
{
  GList *objects = g_dbus_object_manager_get_objects (engine->objects);
  GList *leases = NULL;

  for (GList *l = objects; l != NULL; l = l->next)
    {
      PlBrokerLease *lease = pl_broker_object_get_lease (PL_BROKER_OBJECT (l->data));

      if (lease != NULL)
        leases = g_list_prepend (leases, lease);
    }
  g_list_free_full (objects, g_object_unref);
  return g_list_sort (leases, compare_paths);
}

PlBrokerLease *
pl_cli_engine_get_lease (PlCliEngine *engine,
                         const char  *path)
{
  g_autoptr(PlBrokerLease) lease = NULL;
  g_auto(GStrv) names = NULL;

  if (engine->objects != NULL)
    return PL_BROKER_LEASE (g_dbus_object_manager_get_interface (engine->objects, path,
                                                                 LEASE_IFACE));

  /* Lean: a proxy of its own; an object that is not (or no longer) there has no
   * properties. */
  lease = pl_broker_lease_proxy_new_sync (engine->connection, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                          PL_BROKER_BUS_NAME, path, NULL, NULL);
  if (lease == NULL)
    return NULL;
  names = g_dbus_proxy_get_cached_property_names (G_DBUS_PROXY (lease));
  return names != NULL && names[0] != NULL ? g_steal_pointer (&lease) : NULL;
}

PlBrokerLease *
pl_cli_engine_wait_lease (PlCliEngine *engine,
                          const char  *path)
{
  PlBrokerLease *lease = NULL;
  gint64 wait_until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  if (engine->objects == NULL)
    return pl_cli_engine_get_lease (engine, path);

  /* The engine exported the lease before it replied: its InterfacesAdded is on the way. */
  while ((lease = pl_cli_engine_get_lease (engine, path)) == NULL &&
         g_get_monotonic_time () < wait_until)
    g_main_context_iteration (NULL, TRUE);
  return lease;
}

typedef struct
{
  PlCliEngineRemovedFunc func;
  gpointer               user_data;
} RemovedWatch;

static void
interfaces_removed_cb (GDBusConnection *connection,
                       const char      *sender,
                       const char      *object_path,
                       const char      *interface_name,
                       const char      *signal_name,
                       GVariant        *parameters,
                       gpointer         user_data)
{
  RemovedWatch *watch = user_data;
  const char *path = NULL;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(oas)")))
    return;
  g_variant_get (parameters, "(&o@as)", &path, NULL);
  watch->func (path, watch->user_data);
}

guint
pl_cli_engine_watch_removed (PlCliEngine            *engine,
                             PlCliEngineRemovedFunc  func,
                             gpointer                user_data)
{
  RemovedWatch *watch = g_new0 (RemovedWatch, 1);

  watch->func = func;
  watch->user_data = user_data;
  return g_dbus_connection_signal_subscribe (engine->connection, PL_BROKER_BUS_NAME,
                                             "org.freedesktop.DBus.ObjectManager",
                                             "InterfacesRemoved", PL_BROKER_OBJECT_PATH, NULL,
                                             G_DBUS_SIGNAL_FLAGS_NONE, interfaces_removed_cb,
                                             watch, g_free);
}

void
pl_cli_engine_unwatch_removed (PlCliEngine *engine,
                               guint       *id)
{
  if (*id != 0)
    g_dbus_connection_signal_unsubscribe (engine->connection, *id);
  *id = 0;
}

char *
pl_cli_engine_dup_name_owner (PlCliEngine *engine)
{
  return g_dbus_proxy_get_name_owner (G_DBUS_PROXY (engine->manager));
}

PlBrokerProfile *
pl_cli_engine_get_profile (PlCliEngine *engine,
                           const char  *name)
{
  g_autofree char *escaped = g_dbus_escape_object_path (name);
  g_autofree char *path = g_strconcat (PROFILE_PREFIX, escaped, NULL);

  return PL_BROKER_PROFILE (g_dbus_object_manager_get_interface (engine->objects, path,
                                                                 PROFILE_IFACE));
}

gboolean
pl_cli_engine_uses_profiles (PlCliEngine *engine,
                             const char  *path)
{
  const char *engine_path = pl_broker_manager_get_profiles_file (engine->manager);
  g_autofree char *default_path = NULL;
  g_autoptr(GFile) given = NULL;
  g_autoptr(GFile) engine_file = NULL;

  if (engine_path == NULL || engine_path[0] == '\0')
    return FALSE;
  if (path == NULL)
    path = default_path = g_build_filename (g_get_user_config_dir (), "portlight",
                                            "profiles.ini", NULL);
  given = g_file_new_for_commandline_arg (path);
  engine_file = g_file_new_for_path (engine_path);
  return g_file_equal (given, engine_file);
}

static const struct
{
  const char *name;     /* after io.github.portlight.Portlight.Broker1.Error. */
  PlError     code;
} broker_errors[] = {
  { "NoGateway", PL_ERROR_NO_GATEWAY },
  { "Unsupported", PL_ERROR_REFUSED },
  { "NotAuthorized", PL_ERROR_NOT_AUTHORIZED },
  { "OutOfResources", PL_ERROR_OUT_OF_RESOURCES },
  { "NetworkFailure", PL_ERROR_NETWORK_FAILURE },
  { "ExternalPortUnavailable", PL_ERROR_CANNOT_PROVIDE_EXTERNAL },
  { "PortInUse", PL_ERROR_PORT_IN_USE },
  { "Timeout", PL_ERROR_TIMED_OUT },
};

GError *
pl_cli_engine_error_new (const char *name,
                         const char *message)
{
  if (name != NULL && g_str_has_prefix (name, PL_BROKER_ERROR_PREFIX))
    {
      const char *suffix = name + strlen (PL_BROKER_ERROR_PREFIX);

      for (guint i = 0; i < G_N_ELEMENTS (broker_errors); i++)
        if (g_str_equal (suffix, broker_errors[i].name))
          return g_error_new_literal (PL_ERROR, broker_errors[i].code, message);
    }
  if (g_strcmp0 (name, "org.freedesktop.DBus.Error.InvalidArgs") == 0)
    return g_error_new_literal (PL_ERROR, PL_ERROR_INVALID_ARGUMENT, message);
  if (g_strcmp0 (name, "org.freedesktop.DBus.Error.UnknownObject") == 0)
    return g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_FOUND, message);
  /* LimitExceeded, NotPermitted, Revoked, AccessDenied, the bus's own errors: local. */
  return g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, message);
}

GError *
pl_cli_engine_call_error (const GError *error)
{
  g_autofree char *name = g_dbus_error_get_remote_error (error);
  g_autoptr(GError) copy = g_error_copy (error);

  if (name == NULL)
    return g_steal_pointer (&copy);
  g_dbus_error_strip_remote_error (copy);
  if (g_str_has_prefix (name, "org.freedesktop.DBus.Error.") &&
      !g_str_equal (name, "org.freedesktop.DBus.Error.InvalidArgs") &&
      !g_str_equal (name, "org.freedesktop.DBus.Error.UnknownObject") &&
      !g_str_equal (name, "org.freedesktop.DBus.Error.Failed") &&
      !g_str_equal (name, "org.freedesktop.DBus.Error.AccessDenied"))
    {
      /* The bus, not the engine: say so. */
      g_autofree char *message = g_strdup_printf (_("Cannot talk to Portlight's engine: %s"),
                                                  copy->message);

      return pl_cli_engine_error_new (name, message);
    }
  return pl_cli_engine_error_new (name, copy->message);
}

char *
pl_cli_engine_protocols_label (const char * const *protocols)
{
  gboolean tcp = protocols != NULL && g_strv_contains (protocols, "tcp");
  gboolean udp = protocols != NULL && g_strv_contains (protocols, "udp");

  if (tcp && udp)
    return g_strdup (_("TCP+UDP"));
  return g_strdup (udp ? "UDP" : "TCP");
}

const char *
pl_cli_engine_method_label (const char *method)
{
  if (g_strcmp0 (method, "pcp") == 0)
    return "PCP";
  if (g_strcmp0 (method, "nat-pmp") == 0)
    return "NAT-PMP";
  if (g_strcmp0 (method, "upnp-igd") == 0)
    return "UPnP-IGD";
  return "";
}

const char *
pl_cli_engine_method_json (const char *method)
{
  if (g_strcmp0 (method, "pcp") == 0)
    return "pcp";
  if (g_strcmp0 (method, "nat-pmp") == 0)
    return "natpmp";
  if (g_strcmp0 (method, "upnp-igd") == 0)
    return "upnp";
  return NULL;
}
