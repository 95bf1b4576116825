/* pl-engine-client.c: the tray's view of the engine, read from its ObjectManager
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "pl-engine-client.h"

#define MANAGER_IFACE  PL_BROKER_BUS_NAME ".Manager"
#define LEASE_IFACE    PL_BROKER_BUS_NAME ".Lease"
#define PROFILE_IFACE  PL_BROKER_BUS_NAME ".Profile"
#define PROFILE_PREFIX PL_BROKER_OBJECT_PATH "/Profile/"

struct _PlEngineClient
{
  GObject             parent_instance;

  GDBusObjectManager *objects;
  guint64             rebooted_at;     /* GatewayRebootedAt last seen */
  GHashTable         *ports;           /* lease path → last public port (GUINT_TO_POINTER) */
};

G_DEFINE_FINAL_TYPE (PlEngineClient, pl_engine_client, G_TYPE_OBJECT)

enum {
  SIGNAL_CHANGED,
  SIGNAL_GATEWAY_REBOOTED,
  SIGNAL_PORT_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

void
pl_engine_mapping_free (PlEngineMapping *mapping)
{
  if (mapping == NULL)
    return;
  g_free (mapping->protocol);
  g_free (mapping->family);
  g_free (mapping->external_address);
  g_free (mapping);
}

GDBusObjectManager *
pl_engine_client_get_objects (PlEngineClient *self)
{
  g_return_val_if_fail (PL_IS_ENGINE_CLIENT (self), NULL);
  return self->objects;
}

PlBrokerManager *
pl_engine_client_get_manager (PlEngineClient *self)
{
  g_autoptr(GDBusInterface) manager = NULL;

  g_return_val_if_fail (PL_IS_ENGINE_CLIENT (self), NULL);
  manager = g_dbus_object_manager_get_interface (self->objects, PL_BROKER_MANAGER_PATH,
                                                 MANAGER_IFACE);
  /* The object manager keeps a reference for as long as the object exists. */
  return PL_BROKER_MANAGER (manager);
}

static const char *
nonempty (const char *text)
{
  return text != NULL && text[0] != '\0' ? text : NULL;
}

const char *
pl_engine_client_get_gateway (PlEngineClient *self)
{
  PlBrokerManager *manager = pl_engine_client_get_manager (self);

  return manager != NULL ? nonempty (pl_broker_manager_get_gateway (manager)) : NULL;
}

const char *
pl_engine_client_get_external_address (PlEngineClient *self)
{
  PlBrokerManager *manager = pl_engine_client_get_manager (self);

  return manager != NULL ? nonempty (pl_broker_manager_get_external_address (manager)) : NULL;
}

/* This computer's IPv6 address, where the engine's pinholes point; NULL when there is none
 * or the engine does not say (an engine older than Manager.Ipv6Address). */
const char *
pl_engine_client_get_ipv6_address (PlEngineClient *self)
{
  PlBrokerManager *manager = pl_engine_client_get_manager (self);

  return manager != NULL ? nonempty (pl_broker_manager_get_ipv6_address (manager)) : NULL;
}

/* Why the router did not open the pinholes of @lease beside its IPv4 mappings
 * (Lease.PinholeError): its message, "" when it has none; NULL when it did or is still
 * asked. */
const char *
pl_engine_client_get_pinhole_error (PlBrokerLease *lease)
{
  GVariant *error = pl_broker_lease_get_pinhole_error (lease);
  const char *name = NULL;
  const char *message = NULL;

  if (error == NULL || !g_variant_is_of_type (error, G_VARIANT_TYPE ("(ss)")))
    return NULL;
  g_variant_get (error, "(&s&s)", &name, &message);
  if (name[0] == '\0' && message[0] == '\0')
    return NULL;
  return message;   /* "" when the engine gave only the error's name */
}

const char *
pl_engine_client_get_method (PlEngineClient *self)
{
  PlBrokerManager *manager = pl_engine_client_get_manager (self);

  return manager != NULL ? nonempty (pl_broker_manager_get_method (manager)) : NULL;
}

/* The engine's Manager says the router's public address is private (Warnings). */
gboolean
pl_engine_client_get_double_nat (PlEngineClient *self)
{
  PlBrokerManager *manager = pl_engine_client_get_manager (self);
  const char * const *warnings = manager != NULL ? pl_broker_manager_get_warnings (manager)
                                                 : NULL;

  return warnings != NULL && g_strv_contains (warnings, "double-nat");
}

gboolean
pl_engine_client_get_running (PlEngineClient *self)
{
  g_autofree char *owner = NULL;

  g_return_val_if_fail (PL_IS_ENGINE_CLIENT (self), FALSE);
  owner = g_dbus_object_manager_client_get_name_owner (
    G_DBUS_OBJECT_MANAGER_CLIENT (self->objects));
  return owner != NULL;
}

PlBrokerProfile *
pl_engine_client_get_profile (PlEngineClient *self,
                              const char     *name)
{
  g_autofree char *escaped = g_dbus_escape_object_path (name);
  g_autofree char *path = g_strconcat (PROFILE_PREFIX, escaped, NULL);

  g_return_val_if_fail (PL_IS_ENGINE_CLIENT (self), NULL);
  return PL_BROKER_PROFILE (g_dbus_object_manager_get_interface (self->objects, path,
                                                                 PROFILE_IFACE));
}

PlBrokerLease *
pl_engine_client_get_profile_lease (PlEngineClient *self,
                                    const char     *name)
{
  g_autoptr(PlBrokerProfile) profile = pl_engine_client_get_profile (self, name);
  const char *path;

  if (profile == NULL)
    return NULL;
  path = pl_broker_profile_get_lease (profile);
  if (path == NULL || g_str_equal (path, "/"))
    return NULL;
  return PL_BROKER_LEASE (g_dbus_object_manager_get_interface (self->objects, path,
                                                               LEASE_IFACE));
}

static int
compare_paths (gconstpointer a,
               gconstpointer b)
{
  const char *path_a = g_dbus_proxy_get_object_path (G_DBUS_PROXY (a));
  const char *path_b = g_dbus_proxy_get_object_path (G_DBUS_PROXY (b));
  size_t len_a = strlen (path_a);
  size_t len_b = strlen (path_b);

  /* Lease/9 before Lease/10. */
  if (len_a != len_b)
    return len_a < len_b ? -1 : 1;
  return strcmp (path_a, path_b);
}

char *
pl_engine_client_dup_waiting (PlEngineClient *self,
                              const char     *name)
{
  g_autoptr(PlBrokerProfile) profile = NULL;

  g_return_val_if_fail (PL_IS_ENGINE_CLIENT (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  profile = pl_engine_client_get_profile (self, name);
  if (profile == NULL)
    return NULL;
  return g_strdup (nonempty (pl_broker_profile_get_waiting (profile)));
}

static gboolean
lease_is_profile (PlBrokerLease *lease)
{
  const char *profile = pl_broker_lease_get_profile (lease);

  return profile != NULL && !g_str_equal (profile, "/");
}

GList *
pl_engine_client_list_app_leases (PlEngineClient *self)
{
  GList *objects;
  GList *leases = NULL;

  g_return_val_if_fail (PL_IS_ENGINE_CLIENT (self), NULL);
  objects = g_dbus_object_manager_get_objects (self->objects);
  for (GList *l = objects; l != NULL; l = l->next)
    {
      PlBrokerLease *lease = pl_broker_object_get_lease (PL_BROKER_OBJECT (l->data));

      if (lease != NULL && !lease_is_profile (lease))
        leases = g_list_prepend (leases, lease);
      else
        g_clear_object (&lease);
    }
  g_list_free_full (objects, g_object_unref);
  return g_list_sort (leases, compare_paths);
}

GPtrArray *
pl_engine_client_lease_mappings (PlBrokerLease *lease)
{
  GPtrArray *mappings = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_engine_mapping_free);
  GVariant *value = pl_broker_lease_get_mappings (lease);
  GVariantIter iter;
  GVariant *entry;

  if (value == NULL)
    return mappings;
  g_variant_iter_init (&iter, value);
  while ((entry = g_variant_iter_next_value (&iter)) != NULL)
    {
      g_autoptr(GVariantDict) dict = g_variant_dict_new (entry);
      PlEngineMapping *mapping = g_new0 (PlEngineMapping, 1);
      guint16 port = 0;

      g_variant_dict_lookup (dict, "protocol", "s", &mapping->protocol);
      if (!g_variant_dict_lookup (dict, "family", "s", &mapping->family))
        mapping->family = g_strdup ("ipv4");
      g_variant_dict_lookup (dict, "external_address", "s", &mapping->external_address);
      if (mapping->external_address != NULL && mapping->external_address[0] == '\0')
        g_clear_pointer (&mapping->external_address, g_free);   /* not known (yet) */
      if (g_variant_dict_lookup (dict, "external_port", "q", &port))
        mapping->external_port = port;
      g_ptr_array_add (mappings, mapping);
      g_variant_unref (entry);
    }
  return mappings;
}

/* The first IPv4 public port, 0 if none. */
static guint16
public_port (PlBrokerLease *lease)
{
  g_autoptr(GPtrArray) mappings = pl_engine_client_lease_mappings (lease);

  for (guint i = 0; i < mappings->len; i++)
    {
      PlEngineMapping *mapping = g_ptr_array_index (mappings, i);

      if (g_strcmp0 (mapping->family, "ipv4") == 0 && mapping->external_port != 0)
        return mapping->external_port;
    }
  return 0;
}

/* "TCP 2222", "TCP+UDP 2222", "TCP 2222, UDP 2223": what is open, or NULL. */
static char *
format_public_ports (PlBrokerLease *lease)
{
  g_autoptr(GPtrArray) mappings = pl_engine_client_lease_mappings (lease);
  guint16 tcp = 0, udp = 0;

  for (guint i = 0; i < mappings->len; i++)
    {
      PlEngineMapping *mapping = g_ptr_array_index (mappings, i);

      if (g_strcmp0 (mapping->family, "ipv4") != 0)
        continue;
      if (g_strcmp0 (mapping->protocol, "tcp") == 0)
        tcp = mapping->external_port;
      else if (g_strcmp0 (mapping->protocol, "udp") == 0)
        udp = mapping->external_port;
    }
  if (tcp != 0 && udp != 0 && tcp == udp)
    return g_strdup_printf ("TCP+UDP %u", tcp);
  if (tcp != 0 && udp != 0)
    return g_strdup_printf ("TCP %u, UDP %u", tcp, udp);
  if (tcp != 0)
    return g_strdup_printf ("TCP %u", tcp);
  if (udp != 0)
    return g_strdup_printf ("UDP %u", udp);
  return NULL;
}

char *
pl_engine_client_describe_app_lease (PlBrokerLease *lease)
{
  GVariant *owner = pl_broker_lease_get_owner (lease);
  const char *name = NULL;
  g_autofree char *ports = format_public_ports (lease);
  const char * const *protocols = pl_broker_lease_get_protocols (lease);

  if (owner != NULL)
    g_variant_lookup (owner, "display_name", "&s", &name);
  if (name == NULL || name[0] == '\0')
    /* TRANSLATORS: the owner of a lease, when the engine could not tell its name */
    name = _("A program");
  if (ports == NULL)
    {
      gboolean tcp = protocols != NULL && g_strv_contains (protocols, "tcp");
      gboolean udp = protocols != NULL && g_strv_contains (protocols, "udp");

      ports = g_strdup_printf ("%s %u", tcp && udp ? "TCP+UDP" : udp ? "UDP" : "TCP",
                               pl_broker_lease_get_internal_port (lease));
      if (g_strcmp0 (pl_broker_lease_get_state (lease), "active") != 0)
        /* TRANSLATORS: a tray menu line: "Transmission asks for TCP 51413" (not open yet) */
        return g_strdup_printf (_("%s asks for %s"), name, ports);
    }
  /* TRANSLATORS: a tray menu line: "Transmission holds TCP 51413" */
  return g_strdup_printf (_("%s holds %s"), name, ports);
}

char *
pl_engine_client_describe_lease (PlBrokerLease *lease)
{
  const char *state = pl_broker_lease_get_state (lease);
  const char *message = NULL;
  GVariant *error = pl_broker_lease_get_error (lease);

  if (error != NULL)
    g_variant_get (error, "(&s&s)", NULL, &message);
  if (g_strcmp0 (state, "active") == 0)
    {
      g_autofree char *ports = format_public_ports (lease);

      if (ports != NULL)
        /* TRANSLATORS: a profile's state line: "Active · TCP 2222" (its public port) */
        return g_strdup_printf (_("Active · %s"), ports);
      return g_strdup (_("Active"));
    }
  if (g_strcmp0 (state, "failed") == 0)
    return g_strdup_printf (_("Failed: %s"), message != NULL && message[0] != '\0'
                                               ? message : _("the router refused"));
  if (g_strcmp0 (state, "lost") == 0)
    return g_strdup (_("Lost on the router: opening it again…"));
  return g_strdup (_("Waiting for the router…"));
}

/* Editing profiles through the engine */

/* The engine writes the file before it answers; a bound, not an expectation. */
#define EDIT_TIMEOUT_MS 10000

/* The engine's answer to Update, CreateProfile or Delete: the task's outcome, the remote
 * error's name stripped (the user reads the engine's reason, not "GDBus.Error:…"). */
static void
edit_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GVariant) reply = NULL;
  GError *error = NULL;

  reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);
  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static PlBrokerProfile *
profile_or_error (PlEngineClient  *self,
                  const char      *name,
                  GError         **error)
{
  PlBrokerProfile *object = pl_engine_client_get_profile (self, name);

  if (object == NULL && !pl_engine_client_get_running (self))
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                         _("Portlight’s engine stopped"));
  else if (object == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 /* TRANSLATORS: saving in the profiles window, through the engine */
                 _("Portlight's engine has no profile named “%s”"), name);
  return object;
}

void
pl_engine_client_save_profile_async (PlEngineClient      *self,
                                     const char          *old_name,
                                     PlProfile           *profile,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(PlBrokerProfile) object = NULL;
  g_autoptr(GError) error = NULL;
  GDBusProxy *proxy;
  const char *method;

  g_return_if_fail (PL_IS_ENGINE_CLIENT (self));
  g_return_if_fail (PL_IS_PROFILE (profile));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pl_engine_client_save_profile_async);
  if (old_name == NULL)
    {
      proxy = G_DBUS_PROXY (pl_engine_client_get_manager (self));
      method = "CreateProfile";
      if (proxy == NULL)
        {
          g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "%s",
                                   _("Portlight’s engine stopped"));
          return;
        }
    }
  else
    {
      object = profile_or_error (self, old_name, &error);
      if (object == NULL)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      proxy = G_DBUS_PROXY (object);
      method = "Update";
    }
  g_dbus_proxy_call (proxy, method,
                     g_variant_new ("(@a{sv})", pl_broker_profile_settings_new (profile)),
                     G_DBUS_CALL_FLAGS_NONE, EDIT_TIMEOUT_MS, cancellable, edit_done_cb,
                     g_steal_pointer (&task));
}

gboolean
pl_engine_client_save_profile_finish (PlEngineClient  *self,
                                      GAsyncResult    *result,
                                      GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        pl_engine_client_save_profile_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
pl_engine_client_delete_profile_async (PlEngineClient      *self,
                                       const char          *name,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(PlBrokerProfile) object = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (PL_IS_ENGINE_CLIENT (self));
  g_return_if_fail (name != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pl_engine_client_delete_profile_async);
  object = profile_or_error (self, name, &error);
  if (object == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_dbus_proxy_call (G_DBUS_PROXY (object), "Delete", NULL, G_DBUS_CALL_FLAGS_NONE,
                     EDIT_TIMEOUT_MS, cancellable, edit_done_cb, g_steal_pointer (&task));
}

gboolean
pl_engine_client_delete_profile_finish (PlEngineClient  *self,
                                        GAsyncResult    *result,
                                        GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        pl_engine_client_delete_profile_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Following the engine */

static void
check_lease_port (PlEngineClient *self,
                  PlBrokerLease  *lease)
{
  const char *path = g_dbus_proxy_get_object_path (G_DBUS_PROXY (lease));
  guint16 port = public_port (lease);
  guint16 old = GPOINTER_TO_UINT (g_hash_table_lookup (self->ports, path));
  g_autoptr(GDBusInterface) profile = NULL;

  if (port == 0 || port == old)
    return;
  g_hash_table_insert (self->ports, g_strdup (path), GUINT_TO_POINTER (port));
  if (old == 0 || !lease_is_profile (lease))
    return;
  profile = g_dbus_object_manager_get_interface (self->objects,
                                                 pl_broker_lease_get_profile (lease),
                                                 PROFILE_IFACE);
  if (profile != NULL)
    g_signal_emit (self, signals[SIGNAL_PORT_CHANGED], 0,
                   pl_broker_profile_get_name (PL_BROKER_PROFILE (profile)), (guint) old,
                   (guint) port);
}

static void
check_rebooted (PlEngineClient *self)
{
  PlBrokerManager *manager = pl_engine_client_get_manager (self);
  guint64 at;

  if (manager == NULL)
    return;
  at = pl_broker_manager_get_gateway_rebooted_at (manager);
  if (at == self->rebooted_at)
    return;
  self->rebooted_at = at;
  if (at != 0)
    g_signal_emit (self, signals[SIGNAL_GATEWAY_REBOOTED], 0);
}

static void
properties_changed_cb (GDBusObjectManagerClient *objects,
                       GDBusObjectProxy         *object,
                       GDBusProxy               *proxy,
                       GVariant                 *changed,
                       const char * const       *invalidated,
                       PlEngineClient           *self)
{
  if (PL_BROKER_IS_MANAGER (proxy))
    check_rebooted (self);
  else if (PL_BROKER_IS_LEASE (proxy))
    check_lease_port (self, PL_BROKER_LEASE (proxy));
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
object_removed_cb (GDBusObjectManager *objects,
                   GDBusObject        *object,
                   PlEngineClient     *self)
{
  g_hash_table_remove (self->ports, g_dbus_object_get_object_path (object));
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
changed_cb (PlEngineClient *self)
{
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
remember_ports (PlEngineClient *self)
{
  GList *objects = g_dbus_object_manager_get_objects (self->objects);

  for (GList *l = objects; l != NULL; l = l->next)
    {
      g_autoptr(PlBrokerLease) lease = pl_broker_object_get_lease (PL_BROKER_OBJECT (l->data));

      if (lease != NULL)
        check_lease_port (self, lease);
    }
  g_list_free_full (objects, g_object_unref);
}

static void
object_added_cb (GDBusObjectManager *objects,
                 GDBusObject        *object,
                 PlEngineClient     *self)
{
  g_autoptr(PlBrokerLease) lease = pl_broker_object_get_lease (PL_BROKER_OBJECT (object));

  if (lease != NULL)
    check_lease_port (self, lease);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
pl_engine_client_dispose (GObject *object)
{
  PlEngineClient *self = PL_ENGINE_CLIENT (object);

  if (self->objects != NULL)
    g_signal_handlers_disconnect_by_data (self->objects, self);
  g_clear_object (&self->objects);

  G_OBJECT_CLASS (pl_engine_client_parent_class)->dispose (object);
}

static void
pl_engine_client_finalize (GObject *object)
{
  PlEngineClient *self = PL_ENGINE_CLIENT (object);

  g_clear_pointer (&self->ports, g_hash_table_unref);

  G_OBJECT_CLASS (pl_engine_client_parent_class)->finalize (object);
}

static void
pl_engine_client_class_init (PlEngineClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_engine_client_dispose;
  object_class->finalize = pl_engine_client_finalize;

  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                          G_TYPE_NONE, 0);
  signals[SIGNAL_GATEWAY_REBOOTED] = g_signal_new ("gateway-rebooted",
                                                   G_TYPE_FROM_CLASS (klass),
                                                   G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                   G_TYPE_NONE, 0);
  signals[SIGNAL_PORT_CHANGED] = g_signal_new ("port-changed", G_TYPE_FROM_CLASS (klass),
                                               G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                               G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_UINT,
                                               G_TYPE_UINT);
}

static void
pl_engine_client_init (PlEngineClient *self)
{
  self->ports = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

PlEngineClient *
pl_engine_client_new (GDBusObjectManager *objects)
{
  PlEngineClient *self;
  PlBrokerManager *manager;

  g_return_val_if_fail (G_IS_DBUS_OBJECT_MANAGER_CLIENT (objects), NULL);

  self = g_object_new (PL_TYPE_ENGINE_CLIENT, NULL);
  self->objects = g_object_ref (objects);
  manager = pl_engine_client_get_manager (self);
  if (manager != NULL)
    self->rebooted_at = pl_broker_manager_get_gateway_rebooted_at (manager);
  remember_ports (self);
  g_signal_connect (objects, "interface-proxy-properties-changed",
                    G_CALLBACK (properties_changed_cb), self);
  g_signal_connect (objects, "object-added", G_CALLBACK (object_added_cb), self);
  g_signal_connect (objects, "object-removed", G_CALLBACK (object_removed_cb), self);
  g_signal_connect_swapped (objects, "notify::name-owner", G_CALLBACK (changed_cb), self);
  return self;
}
