/* pl-broker-profiles.c: the user's profiles as Profile objects on the bus
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "pl-broker-private.h"
#include "pl-error.h"
#include "pl-profile-settings.h"
#include "pl-profile-store.h"

/* One Profile object per named profile of the user's model, at
 * /io/github/portlight/Portlight/Broker1/Profile/<escaped name>, its properties following the
 * profile. Its methods change the profile through the PlProfileStore and save the file (the
 * engine is the one writer); they are for unsandboxed callers only. A renamed profile is a
 * new object (its path is its name). */

typedef struct
{
  PlBroker               *broker;    /* not owned */
  PlProfile              *profile;
  char                   *name;      /* as exported */
  char                   *path;
  PlBrokerObjectSkeleton *object;
  PlBrokerProfile        *iface;
  gulong                  notify_id;
  PlLease                *lease;     /* its own lease while enabled (Owner.kind "profile") */
} ProfileEntry;

#define PROFILE_PATH_PREFIX PL_BROKER_OBJECT_PATH "/Profile/"

static void sync_profiles (PlBroker *self);
static void sync_lease (ProfileEntry *entry);

/* The profile's own lease: the profile is mapped by the session directly (app leases on its
 * port share that mapping); this object only shows it. Release is not for it (disable the
 * profile); Revoke, by an unsandboxed caller, disables the profile. */
static void
drop_lease (ProfileEntry *entry)
{
  g_autoptr(PlLease) lease = g_steal_pointer (&entry->lease);

  if (lease == NULL)
    return;
  g_signal_handlers_disconnect_by_data (pl_lease_get_interface (lease), entry);
  if (entry->broker->server != NULL)
    g_dbus_object_manager_server_unexport (entry->broker->server,
                                           pl_lease_get_object_path (lease));
  pl_broker_profile_set_lease (entry->iface, "/");
}

static gboolean
lease_release_cb (PlBrokerLease         *iface,
                  GDBusMethodInvocation *invocation,
                  gpointer               user_data)
{
  ProfileEntry *entry = user_data;

  g_dbus_method_invocation_return_error (invocation, PL_BROKER_ERROR,
                                         PL_BROKER_ERROR_NOT_PERMITTED,
                                         "This lease is profile “%s”: disable the profile "
                                         "instead", entry->name);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void handle_disable (PlBroker *self, Client *client, GDBusMethodInvocation *invocation,
                            gpointer target);

static gboolean
lease_revoke_cb (PlBrokerLease         *iface,
                 GDBusMethodInvocation *invocation,
                 gpointer               user_data)
{
  ProfileEntry *entry = user_data;

  /* The user stops a profile's mapping: the profile is disabled (and saved). */
  _pl_broker_dispatch (entry->broker, invocation, handle_disable, entry->profile);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
lease_matches (ProfileEntry *entry)
{
  const PlLeaseRequest *request = pl_lease_get_request (entry->lease);
  PlProfile *profile = entry->profile;
  guint n = pl_profile_get_protocol (profile) == PL_PROFILE_PROTOCOL_BOTH ? 2 : 1;

  return request->n_protocols == n &&
         request->internal_port == pl_profile_get_internal_port (profile) &&
         request->external_port == pl_profile_get_requested_port (profile) &&
         (n == 2 || (request->protocols[0] == PL_PROTOCOL_TCP) ==
                    (pl_profile_get_protocol (profile) == PL_PROFILE_PROTOCOL_TCP)) &&
         g_strcmp0 (request->description, pl_profile_get_description (profile) != NULL
                                          ? pl_profile_get_description (profile) : "") == 0;
}

static void
sync_lease (ProfileEntry *entry)
{
  PlBroker *self = entry->broker;
  PlProfile *profile = entry->profile;
  gboolean wanted = pl_profile_get_enabled (profile) && pl_profile_validate (profile, NULL);

  if (entry->lease != NULL && (!wanted || !lease_matches (entry)))
    drop_lease (entry);
  if (wanted && entry->lease == NULL && self->server != NULL)
    {
      g_autoptr(PlCaller) owner = pl_caller_new_for_profile (entry->name);
      PlLeaseRequest request = { 0 };

      switch (pl_profile_get_protocol (profile))
        {
        case PL_PROFILE_PROTOCOL_UDP:
          request.protocols[request.n_protocols++] = PL_PROTOCOL_UDP;
          break;
        case PL_PROFILE_PROTOCOL_BOTH:
          request.protocols[request.n_protocols++] = PL_PROTOCOL_TCP;
          request.protocols[request.n_protocols++] = PL_PROTOCOL_UDP;
          break;
        case PL_PROFILE_PROTOCOL_TCP:
        default:
          request.protocols[request.n_protocols++] = PL_PROTOCOL_TCP;
          break;
        }
      request.internal_port = (guint16) pl_profile_get_internal_port (profile);
      request.external_port = (guint16) pl_profile_get_requested_port (profile);
      request.any_external_port = pl_profile_get_any_external_port (profile);
      request.lifetime = pl_profile_get_lifetime (profile);
      request.description = pl_profile_get_description (profile) != NULL
                            ? pl_profile_get_description (profile) : "";
      request.bind_caller = FALSE;
      request.family = pl_profile_get_family (profile) == PL_PROFILE_FAMILY_IPV6
                       ? G_SOCKET_FAMILY_IPV6 : G_SOCKET_FAMILY_IPV4;

      entry->lease = pl_lease_new (++self->next_id, owner, &request, g_get_real_time ());
      pl_lease_set_profile_path (entry->lease, entry->path);
      g_signal_connect (pl_lease_get_interface (entry->lease), "handle-release",
                        G_CALLBACK (lease_release_cb), entry);
      g_signal_connect (pl_lease_get_interface (entry->lease), "handle-revoke",
                        G_CALLBACK (lease_revoke_cb), entry);
      pl_lease_registry_update_profile_lease (self->registry, entry->lease, entry->name);
      g_dbus_object_manager_server_export (self->server,
                                           G_DBUS_OBJECT_SKELETON (pl_lease_get_object (entry->lease)));
      pl_broker_profile_set_lease (entry->iface, pl_lease_get_object_path (entry->lease));
    }
  else if (entry->lease != NULL)
    pl_lease_registry_update_profile_lease (self->registry, entry->lease, entry->name);
}

static void
session_mapping_changed_cb (PlSession *session,
                            PlMapping *mapping,
                            gpointer   user_data)
{
  PlBroker *self = user_data;
  GHashTableIter iter;
  ProfileEntry *entry;

  if (self->profile_objects == NULL)
    return;
  g_hash_table_iter_init (&iter, self->profile_objects);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    if (entry->lease != NULL &&
        g_strcmp0 (pl_mapping_get_profile_name (mapping), entry->name) == 0)
      pl_lease_registry_update_profile_lease (self->registry, entry->lease, entry->name);
}

void
_pl_broker_profiles_follow_session (PlBroker *self)
{
  GHashTableIter iter;
  ProfileEntry *entry;

  if (self->session == NULL || self->profile_mapping_id != 0)
    return;
  self->profile_mapping_id = g_signal_connect (self->session, "mapping-changed",
                                               G_CALLBACK (session_mapping_changed_cb), self);
  if (self->profile_objects == NULL)
    return;
  g_hash_table_iter_init (&iter, self->profile_objects);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    sync_lease (entry);
}

static void
waiting_gateway_changed_cb (PlBroker   *self,
                            const char *gateway)
{
  pl_broker_update_waiting (self, NULL);
}

void
_pl_broker_profiles_follow_other (PlBroker  *self,
                                  PlSession *session)
{
  GHashTableIter iter;
  ProfileEntry *entry;

  g_signal_connect (session, "mapping-changed", G_CALLBACK (session_mapping_changed_cb), self);
  /* A tunnel comes up or goes: the Gateway=vpn profiles' Waiting. */
  g_signal_connect_swapped (session, "gateway-changed", G_CALLBACK (waiting_gateway_changed_cb),
                            self);
  if (self->profile_objects == NULL)
    return;
  g_hash_table_iter_init (&iter, self->profile_objects);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    sync_lease (entry);
  pl_broker_update_waiting (self, NULL);
}

static void
profile_entry_free (ProfileEntry *entry)
{
  drop_lease (entry);
  if (entry->broker->server != NULL)
    g_dbus_object_manager_server_unexport (entry->broker->server, entry->path);
  g_clear_signal_handler (&entry->notify_id, entry->profile);
  g_signal_handlers_disconnect_by_data (entry->iface, entry);
  g_clear_object (&entry->iface);
  g_clear_object (&entry->object);
  g_clear_object (&entry->profile);
  g_free (entry->name);
  g_free (entry->path);
  g_free (entry);
}

/* A Gateway=vpn profile while no tunnel is up: its session (the group's, for "vpn") has no
 * gateway. */
static gboolean
waits_for_tunnel (PlBroker  *self,
                  PlProfile *profile)
{
  if (g_strcmp0 (pl_profile_get_gateway (profile), PL_PROFILE_GATEWAY_VPN_TEXT) != 0)
    return FALSE;
  for (guint i = 0; self->others != NULL && i < self->others->len; i++)
    {
      PlSession *session = g_ptr_array_index (self->others, i);

      if (g_strcmp0 (pl_session_get_profile_gateway (session), PL_PROFILE_GATEWAY_VPN_TEXT) == 0)
        return pl_session_get_gateway (session) == NULL;
    }
  return FALSE;   /* no group here: the profile is the primary's */
}

/* Profile.Waiting from the engine's waiting function: "" when there is none, for a
 * disabled profile, or when it says the profile does not wait; else, for a Gateway=vpn
 * profile while no tunnel is up, that. The skeleton emits PropertiesChanged only when the
 * text changes. */
static void
update_waiting (ProfileEntry *entry)
{
  PlBroker *self = entry->broker;
  g_autofree char *reason = NULL;

  if (self->waiting_func != NULL && pl_profile_get_enabled (entry->profile))
    reason = self->waiting_func (entry->name, self->waiting_data);
  if ((reason == NULL || reason[0] == '\0') && pl_profile_get_enabled (entry->profile) &&
      waits_for_tunnel (self, entry->profile))
    {
      g_free (reason);
      /* TRANSLATORS: why a Gateway=vpn profile is off (tray menu, ≤ 60 characters) */
      reason = g_strdup (_("Waiting for a VPN tunnel"));
    }
  if (reason != NULL && !g_utf8_validate (reason, -1, NULL))
    g_clear_pointer (&reason, g_free);   /* never invalid UTF-8 on the bus */
  pl_broker_profile_set_waiting (entry->iface, reason != NULL ? reason : "");
}

static void
update_properties (ProfileEntry *entry)
{
  PlProfile *profile = entry->profile;
  const char *tcp_udp[] = { "tcp", "udp", NULL };
  const char *tcp[] = { "tcp", NULL };
  const char *udp[] = { "udp", NULL };
  const char * const *protocols;

  switch (pl_profile_get_protocol (profile))
    {
    case PL_PROFILE_PROTOCOL_UDP:
      protocols = udp;
      break;
    case PL_PROFILE_PROTOCOL_BOTH:
      protocols = tcp_udp;
      break;
    case PL_PROFILE_PROTOCOL_TCP:
    default:
      protocols = tcp;
      break;
    }

  g_object_freeze_notify (G_OBJECT (entry->iface));
  pl_broker_profile_set_id (entry->iface, entry->name);
  pl_broker_profile_set_name (entry->iface, entry->name);
  pl_broker_profile_set_protocols (entry->iface, protocols);
  pl_broker_profile_set_internal_port (entry->iface,
                                       (guint16) MIN (pl_profile_get_internal_port (profile),
                                                      G_MAXUINT16));
  pl_broker_profile_set_external_port (entry->iface,
                                       (guint16) MIN (pl_profile_get_external_port (profile),
                                                      G_MAXUINT16));
  pl_broker_profile_set_any_external_port (entry->iface,
                                           pl_profile_get_any_external_port (profile));
  pl_broker_profile_set_lifetime (entry->iface, pl_profile_get_lifetime (profile));
  pl_broker_profile_set_enabled (entry->iface, pl_profile_get_enabled (profile));
  if (pl_broker_profile_get_lease (entry->iface) == NULL)
    pl_broker_profile_set_lease (entry->iface, "/");
  update_waiting (entry);
  g_object_thaw_notify (G_OBJECT (entry->iface));
}

static void
profile_notify_cb (GObject    *object,
                   GParamSpec *pspec,
                   gpointer    user_data)
{
  ProfileEntry *entry = user_data;

  if (g_strcmp0 (pl_profile_get_name (entry->profile), entry->name) != 0)
    sync_profiles (entry->broker);   /* renamed: another path */
  else
    {
      update_properties (entry);
      sync_lease (entry);
    }
}

/* Method handlers. */

static PlProfileStore *
writable_store (PlBroker              *self,
                Client                *client,
                GDBusMethodInvocation *invocation)
{
  GListModel *user = pl_lease_registry_get_user_profiles (self->registry);

  if (pl_caller_get_sandboxed (client->caller))
    {
      g_dbus_method_invocation_return_error_literal (invocation, G_DBUS_ERROR,
                                                     G_DBUS_ERROR_ACCESS_DENIED,
                                                     "Sandboxed apps may not change profiles");
      return NULL;
    }
  if (user == NULL || !PL_IS_PROFILE_STORE (user))
    {
      g_dbus_method_invocation_return_error_literal (invocation, G_DBUS_ERROR,
                                                     G_DBUS_ERROR_NOT_SUPPORTED,
                                                     "These profiles cannot be changed");
      return NULL;
    }
  return PL_PROFILE_STORE (user);
}

static ProfileEntry *
live_entry (PlBroker              *self,
            GDBusMethodInvocation *invocation,
            PlProfile             *profile)
{
  ProfileEntry *entry = g_hash_table_lookup (self->profile_objects, profile);

  if (entry == NULL)
    g_dbus_method_invocation_return_error_literal (invocation, G_DBUS_ERROR,
                                                   G_DBUS_ERROR_UNKNOWN_OBJECT,
                                                   "This profile is gone");
  return entry;
}

static void
reply_saved (PlProfileStore        *store,
             GDBusMethodInvocation *invocation,
             gboolean               changed,
             GError                *error)
{
  if (changed && !pl_profile_store_save (store, NULL, &error))
    changed = FALSE;
  if (!changed)
    {
      g_dbus_method_invocation_return_error_literal (
        invocation, G_DBUS_ERROR,
        error->domain == PL_ERROR && error->code == PL_ERROR_INVALID_ARGUMENT
        ? G_DBUS_ERROR_INVALID_ARGS : G_DBUS_ERROR_FAILED,
        error->message);
      g_error_free (error);
      return;
    }
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static void
handle_set_enabled (PlBroker              *self,
                    Client                *client,
                    GDBusMethodInvocation *invocation,
                    gpointer               target,
                    gboolean               enabled)
{
  PlProfileStore *store = writable_store (self, client, invocation);
  GError *error = NULL;
  ProfileEntry *entry;
  gboolean ok;

  if (store == NULL || (entry = live_entry (self, invocation, target)) == NULL)
    return;
  ok = pl_profile_store_set_enabled (store, entry->name, enabled, &error);
  reply_saved (store, invocation, ok, error);
}

static void
handle_enable (PlBroker              *self,
               Client                *client,
               GDBusMethodInvocation *invocation,
               gpointer               target)
{
  handle_set_enabled (self, client, invocation, target, TRUE);
}

static void
handle_disable (PlBroker              *self,
                Client                *client,
                GDBusMethodInvocation *invocation,
                gpointer               target)
{
  handle_set_enabled (self, client, invocation, target, FALSE);
}

static void
handle_delete (PlBroker              *self,
               Client                *client,
               GDBusMethodInvocation *invocation,
               gpointer               target)
{
  PlProfileStore *store = writable_store (self, client, invocation);
  g_autofree char *name = NULL;
  GError *error = NULL;
  ProfileEntry *entry;
  gboolean ok;

  if (store == NULL || (entry = live_entry (self, invocation, target)) == NULL)
    return;
  name = g_strdup (entry->name);
  ok = pl_profile_store_remove (store, name, &error);   /* may free @entry */
  reply_saved (store, invocation, ok, error);
}

static void
handle_update (PlBroker              *self,
               Client                *client,
               GDBusMethodInvocation *invocation,
               gpointer               target)
{
  PlProfileStore *store = writable_store (self, client, invocation);
  g_autoptr(GVariant) settings = NULL;
  g_autoptr(PlProfile) copy = NULL;
  g_autofree char *name = NULL;
  GError *error = NULL;
  ProfileEntry *entry;
  gboolean ok;

  if (store == NULL || (entry = live_entry (self, invocation, target)) == NULL)
    return;
  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(@a{sv})", &settings);
  copy = pl_profile_copy (entry->profile);
  if (!pl_broker_profile_settings_apply (copy, settings, &error))
    {
      g_dbus_method_invocation_take_error (invocation, error);
      return;
    }
  name = g_strdup (entry->name);
  ok = pl_profile_validate (copy, &error) &&
       pl_profile_store_replace (store, name, copy, &error);
  reply_saved (store, invocation, ok, error);
}

static gboolean
enable_cb (PlBrokerProfile       *iface,
           GDBusMethodInvocation *invocation,
           gpointer               user_data)
{
  ProfileEntry *entry = user_data;

  _pl_broker_dispatch (entry->broker, invocation, handle_enable, entry->profile);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
disable_cb (PlBrokerProfile       *iface,
            GDBusMethodInvocation *invocation,
            gpointer               user_data)
{
  ProfileEntry *entry = user_data;

  _pl_broker_dispatch (entry->broker, invocation, handle_disable, entry->profile);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
delete_cb (PlBrokerProfile       *iface,
           GDBusMethodInvocation *invocation,
           gpointer               user_data)
{
  ProfileEntry *entry = user_data;

  _pl_broker_dispatch (entry->broker, invocation, handle_delete, entry->profile);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
update_cb (PlBrokerProfile       *iface,
           GDBusMethodInvocation *invocation,
           GVariant              *settings,
           gpointer               user_data)
{
  ProfileEntry *entry = user_data;

  _pl_broker_dispatch (entry->broker, invocation, handle_update, entry->profile);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Following the model. */

static void
export_profile (PlBroker  *self,
                PlProfile *profile)
{
  ProfileEntry *entry = g_new0 (ProfileEntry, 1);
  g_autofree char *escaped = g_dbus_escape_object_path (pl_profile_get_name (profile));

  entry->broker = self;
  entry->profile = g_object_ref (profile);
  entry->name = g_strdup (pl_profile_get_name (profile));
  entry->path = g_strconcat (PROFILE_PATH_PREFIX, escaped, NULL);
  entry->object = pl_broker_object_skeleton_new (entry->path);
  entry->iface = pl_broker_profile_skeleton_new ();
  update_properties (entry);
  pl_broker_object_skeleton_set_profile (entry->object, entry->iface);
  g_signal_connect (entry->iface, "handle-enable", G_CALLBACK (enable_cb), entry);
  g_signal_connect (entry->iface, "handle-disable", G_CALLBACK (disable_cb), entry);
  g_signal_connect (entry->iface, "handle-delete", G_CALLBACK (delete_cb), entry);
  g_signal_connect (entry->iface, "handle-update", G_CALLBACK (update_cb), entry);
  entry->notify_id = g_signal_connect (profile, "notify", G_CALLBACK (profile_notify_cb), entry);
  g_hash_table_insert (self->profile_objects, profile, entry);
  g_dbus_object_manager_server_export (self->server, G_DBUS_OBJECT_SKELETON (entry->object));
  sync_lease (entry);
}

static gboolean
find_in_model (GListModel *model,
               PlProfile  *profile)
{
  guint n = g_list_model_get_n_items (model);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (model, i);

      if (item == (GObject *) profile)
        return TRUE;
    }
  return FALSE;
}

/* Objects for exactly the named profiles of the model, one per name (the first wins, as in
 * the session). */
static void
sync_profiles (PlBroker *self)
{
  GListModel *model = self->exported_model;
  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  ProfileEntry *entry;
  guint n;

  if (model == NULL || self->server == NULL)
    return;

  /* Gone, or renamed: unexport. */
  g_hash_table_iter_init (&iter, self->profile_objects);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    if (g_strcmp0 (pl_profile_get_name (entry->profile), entry->name) != 0 ||
        !find_in_model (model, entry->profile))
      g_hash_table_iter_remove (&iter);

  g_hash_table_iter_init (&iter, self->profile_objects);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    g_hash_table_add (names, entry->name);

  n = g_list_model_get_n_items (model);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (model, i);
      const char *name;

      if (!PL_IS_PROFILE (item) || g_hash_table_contains (self->profile_objects, item))
        continue;
      name = pl_profile_get_name (PL_PROFILE (item));
      if (name == NULL || name[0] == '\0' || g_hash_table_contains (names, name))
        continue;
      export_profile (self, PL_PROFILE (item));
      g_hash_table_add (names, ((ProfileEntry *) g_hash_table_lookup (self->profile_objects,
                                                                      item))->name);
    }
}

static void
model_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  gpointer    user_data)
{
  sync_profiles (PL_BROKER (user_data));
}

void
_pl_broker_profiles_start (PlBroker *self)
{
  GListModel *user = pl_lease_registry_get_user_profiles (self->registry);

  if (self->profile_objects == NULL)
    self->profile_objects = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                                   (GDestroyNotify) profile_entry_free);
  if (user == NULL || self->exported_model != NULL)
    return;
  self->exported_model = g_object_ref (user);
  self->exported_changed_id = g_signal_connect (user, "items-changed",
                                                G_CALLBACK (model_changed_cb), self);
  sync_profiles (self);
  _pl_broker_profiles_follow_session (self);
}

void
_pl_broker_profiles_stop (PlBroker *self)
{
  if (self->exported_model != NULL)
    g_clear_signal_handler (&self->exported_changed_id, self->exported_model);
  g_clear_object (&self->exported_model);
  if (self->profile_objects != NULL)
    g_hash_table_remove_all (self->profile_objects);
}

void
pl_broker_set_waiting_func (PlBroker            *self,
                            PlBrokerWaitingFunc  func,
                            gpointer             user_data,
                            GDestroyNotify       destroy)
{
  gpointer old_data;
  GDestroyNotify old_destroy;

  g_return_if_fail (PL_IS_BROKER (self));

  old_data = self->waiting_data;
  old_destroy = self->waiting_destroy;
  self->waiting_func = func;
  self->waiting_data = user_data;
  self->waiting_destroy = destroy;
  if (old_destroy != NULL)
    old_destroy (old_data);
  pl_broker_update_waiting (self, NULL);
}

void
pl_broker_update_waiting (PlBroker   *self,
                          const char *profile_name)
{
  GHashTableIter iter;
  ProfileEntry *entry;

  g_return_if_fail (PL_IS_BROKER (self));

  if (self->profile_objects == NULL)
    return;
  g_hash_table_iter_init (&iter, self->profile_objects);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    if (profile_name == NULL || g_strcmp0 (entry->name, profile_name) == 0)
      update_waiting (entry);
}

/* CreateProfile(a{sv}): the keys of Update; name and internal_port are required, protocols
 * defaults to tcp. */
void
_pl_broker_handle_create_profile (PlBroker              *self,
                                  Client                *client,
                                  GDBusMethodInvocation *invocation,
                                  gpointer               unused)
{
  PlProfileStore *store = writable_store (self, client, invocation);
  g_autoptr(GVariant) settings = NULL;
  g_autoptr(PlProfile) profile = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *path = NULL;
  GError *error = NULL;
  const char *name = NULL;

  if (store == NULL)
    return;
  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(@a{sv})", &settings);
  if (!g_variant_lookup (settings, "name", "&s", &name) ||
      !g_variant_lookup (settings, "internal_port", "q", NULL))
    {
      g_dbus_method_invocation_return_error_literal (invocation, G_DBUS_ERROR,
                                                     G_DBUS_ERROR_INVALID_ARGS,
                                                     "A profile needs a “name” (s) and an "
                                                     "“internal_port” (q)");
      return;
    }
  profile = pl_profile_new (name);
  if (!pl_broker_profile_settings_apply (profile, settings, &error))
    {
      g_dbus_method_invocation_take_error (invocation, error);
      return;
    }
  if (!pl_profile_validate (profile, &error) || !pl_profile_store_add (store, profile, &error) ||
      !pl_profile_store_save (store, NULL, &error))
    {
      reply_saved (store, invocation, FALSE, error);
      return;
    }
  escaped = g_dbus_escape_object_path (pl_profile_get_name (profile));
  path = g_strconcat (PROFILE_PATH_PREFIX, escaped, NULL);
  pl_broker_manager_complete_create_profile (self->manager, invocation, path);
}
