/* pl-session-profiles.c: the profiles: one mapping per profile, protocol and family
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "pl-session-private.h"

/* Profiles. */

static gboolean
profile_to_protocols (PlProfile  *profile,
                      PlProtocol  protocols[2],
                      guint      *n)
{
  switch (pl_profile_get_protocol (profile))
    {
    case PL_PROFILE_PROTOCOL_TCP:
      protocols[0] = PL_PROTOCOL_TCP;
      *n = 1;
      return TRUE;
    case PL_PROFILE_PROTOCOL_UDP:
      protocols[0] = PL_PROTOCOL_UDP;
      *n = 1;
      return TRUE;
    case PL_PROFILE_PROTOCOL_BOTH:
      protocols[0] = PL_PROTOCOL_TCP;
      protocols[1] = PL_PROTOCOL_UDP;
      *n = 2;
      return TRUE;
    default:
      *n = 0;
      return FALSE;
    }
}

Entry *
_pl_session_find_entry (PlSession     *self,
                        const char    *name,
                        PlProtocol     protocol,
                        GSocketFamily  family)
{
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry->protocol == protocol && entry->family == family &&
          g_strcmp0 (entry->profile_name, name) == 0)
        return entry;
    }
  return NULL;
}

/* The families a profile maps now: IPv4 unless it is IPv6 only; IPv6 when it asks for it
 * alone (then failing with why if there are no pinholes), or for both while pinholes can
 * be had. */
static guint
profile_to_families (PlSession     *self,
                     PlProfile     *profile,
                     GSocketFamily  families[2])
{
  PlProfileFamily family = pl_profile_get_family (profile);
  guint n = 0;

  if (family != PL_PROFILE_FAMILY_IPV6)
    families[n++] = G_SOCKET_FAMILY_IPV4;
  if (family == PL_PROFILE_FAMILY_IPV6 ||
      (family == PL_PROFILE_FAMILY_BOTH && self->mapper6 != NULL))
    families[n++] = G_SOCKET_FAMILY_IPV6;
  return n;
}

static void
entry_apply_profile (PlSession *self,
                     Entry     *entry,
                     PlProfile *profile)
{
  g_autoptr(GError) config_error = NULL;
  gboolean enabled = pl_profile_get_enabled (profile);
  guint16 internal_port = (guint16) MIN (pl_profile_get_internal_port (profile), G_MAXUINT16);
  guint16 requested_port = (guint16) MIN (pl_profile_get_external_port (profile), G_MAXUINT16);
  gboolean any_port = pl_profile_get_any_external_port (profile);
  guint32 lifetime = CLAMP (pl_profile_get_lifetime (profile), 1, 86400);
  gboolean was_active = entry->enabled && entry->config_error == NULL;
  gboolean is_active;
  gboolean ports_changed;
  gboolean changed = FALSE;

  if (!pl_profile_validate (profile, &config_error))
    g_debug ("Not mapping profile %s: %s", entry->profile_name, config_error->message);

  ports_changed = internal_port != entry->internal_port ||
                  requested_port != entry->requested_port ||
                  any_port != entry->any_port;
  is_active = enabled && config_error == NULL;

  /* Switched off, or now something else: delete what the old values mapped. */
  if (was_active && (!is_active || ports_changed))
    _pl_session_entry_release (self, entry);

  entry->enabled = enabled;
  entry->internal_port = internal_port;
  entry->requested_port = requested_port;
  if (ports_changed)
    entry->zero_refused = FALSE;
  entry->any_port = any_port;
  entry->lifetime = lifetime;     /* a new lifetime applies from the next renewal */
  g_clear_error (&entry->config_error);
  entry->config_error = g_steal_pointer (&config_error);

  g_object_freeze_notify (G_OBJECT (entry->mapping));
  changed |= _pl_mapping_set_internal_port (entry->mapping, internal_port);
  changed |= _pl_mapping_set_requested_external_port (entry->mapping, requested_port);
  changed |= _pl_mapping_set_any_external_port (entry->mapping, any_port);
  g_object_thaw_notify (G_OBJECT (entry->mapping));
  if (changed)
    g_signal_emit (self, _pl_session_signals[SIGNAL_MAPPING_CHANGED], 0, entry->mapping);

  if (!is_active)
    {
      if (enabled && entry->config_error != NULL)
        _pl_session_entry_publish (entry, PL_MAPPING_STATE_FAILED, 0, 0, 0, 0,
                                   entry->config_error, 0);
      else
        _pl_session_entry_publish_disabled (entry);
    }
  else if (!was_active || ports_changed)
    {
      entry->failures = 0;
      if (entry->family == G_SOCKET_FAMILY_IPV6 && self->mapper6 == NULL &&
          self->no_ipv6_error != NULL)
        _pl_session_entry_publish (entry, PL_MAPPING_STATE_FAILED, 0, 0, 0, 0,
                                   self->no_ipv6_error, 0);
      else if (_pl_session_mapper_for (self, entry->family) != NULL || self->probe != NULL ||
               self->probe6 != NULL)
        {
          _pl_session_entry_publish (entry, PL_MAPPING_STATE_MAPPING, 0, 0, 0, 0, NULL, 0);
          _pl_session_queue_map (self, entry);
        }
      else if (self->no_gateway_error != NULL)
        _pl_session_entry_publish (entry, PL_MAPPING_STATE_FAILED, 0, 0, 0, 0,
                                   self->no_gateway_error, self->discover_at);
      else
        _pl_session_entry_publish (entry, PL_MAPPING_STATE_MAPPING, 0, 0, 0, 0, NULL, 0);
    }
}

static void
profile_notify_cb (GObject    *profile,
                   GParamSpec *pspec,
                   gpointer    user_data)
{
  _pl_session_schedule_reconcile (PL_SESSION (user_data));
}

void
_pl_session_unwatch_profiles (PlSession *self)
{
  for (guint i = 0; i < self->watched->len; i++)
    g_signal_handlers_disconnect_by_func (g_ptr_array_index (self->watched, i),
                                          profile_notify_cb, self);
  g_ptr_array_set_size (self->watched, 0);
}

/* Whether @profile's Gateway= is the one this session serves. */
gboolean
_pl_session_serves_profile (PlSession *self,
                            PlProfile *profile)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autofree char *text = NULL;
  PlProfileGateway kind;

  if (!self->profile_gateway_set)
    return TRUE;
  kind = pl_profile_get_gateway_kind (profile, &address);
  if (self->profile_gateway == NULL)
    return kind == PL_PROFILE_GATEWAY_DEFAULT || kind == PL_PROFILE_GATEWAY_INVALID;
  if (kind == PL_PROFILE_GATEWAY_VPN)
    return strcmp (self->profile_gateway, PL_PROFILE_GATEWAY_VPN_TEXT) == 0;
  if (kind != PL_PROFILE_GATEWAY_ADDRESS)
    return FALSE;
  text = g_inet_address_to_string (address);
  return strcmp (self->profile_gateway, text) == 0;
}

/* Bring the mappings in line with the profiles: one entry per profile and protocol, keyed
 * by (profile name, protocol), in the order of the model. */
void
_pl_session_reconcile (PlSession *self)
{
  g_autoptr(GPtrArray) order = g_ptr_array_new ();
  guint n_items = g_list_model_get_n_items (self->profiles);
  gboolean same_order;

  _pl_session_unwatch_profiles (self);

  for (guint i = 0; i < self->entries->len; i++)
    ((Entry *) g_ptr_array_index (self->entries, i))->seen = FALSE;

  for (guint i = 0; i < n_items; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (self->profiles, i);
      PlProfile *profile;
      PlProtocol protocols[2];
      GSocketFamily families[2];
      guint n_families;
      const char *name;
      guint n = 0;

      if (!PL_IS_PROFILE (item))
        continue;
      profile = PL_PROFILE (item);
      name = pl_profile_get_name (profile);
      if (name == NULL)
        continue;

      /* Watched even when another gateway's: a change of Gateway= brings it here. */
      g_signal_connect (profile, "notify", G_CALLBACK (profile_notify_cb), self);
      g_ptr_array_add (self->watched, g_object_ref (profile));
      if (!_pl_session_serves_profile (self, profile))
        continue;

      profile_to_protocols (profile, protocols, &n);
      n_families = profile_to_families (self, profile, families);
      for (guint f = 0; f < n_families; f++)
        for (guint p = 0; p < n; p++)
          {
            Entry *entry = _pl_session_find_entry (self, name, protocols[p], families[f]);

            if (entry == NULL)
              {
                entry = _pl_session_entry_new (self, name, protocols[p], families[f]);
                g_ptr_array_add (self->entries, entry);
              }
            else if (entry->seen)
              continue;   /* two profiles with one name: the first wins */

            entry->seen = TRUE;
            g_ptr_array_add (order, entry);
            entry_apply_profile (self, entry, profile);
          }
    }

  /* Gone: delete on the gateway and drop. */
  for (guint i = self->entries->len; i > 0; i--)
    {
      Entry *entry = g_ptr_array_index (self->entries, i - 1);

      if (entry->seen)
        continue;
      if (entry->enabled && entry->config_error == NULL)
        _pl_session_entry_release (self, entry);
      g_ptr_array_remove_index (self->entries, i - 1);
      _pl_session_entry_free (entry);
    }

  /* self->entries now holds exactly the entries of @order; adopt that order. */
  same_order = order->len == g_list_model_get_n_items (G_LIST_MODEL (self->mappings));
  for (guint i = 0; same_order && i < order->len; i++)
    {
      g_autoptr(PlMapping) mapping = g_list_model_get_item (G_LIST_MODEL (self->mappings), i);

      same_order = mapping == ((Entry *) g_ptr_array_index (order, i))->mapping;
    }

  g_ptr_array_set_size (self->entries, 0);
  for (guint i = 0; i < order->len; i++)
    g_ptr_array_add (self->entries, g_ptr_array_index (order, i));

  if (!same_order)
    {
      g_autofree gpointer *mappings = g_new0 (gpointer, order->len + 1);

      for (guint i = 0; i < order->len; i++)
        mappings[i] = ((Entry *) g_ptr_array_index (order, i))->mapping;
      g_list_store_splice (self->mappings, 0,
                           g_list_model_get_n_items (G_LIST_MODEL (self->mappings)),
                           mappings, order->len);
    }
}

static gboolean
reconcile_idle_cb (gpointer data)
{
  PlSession *self = data;

  self->reconcile_id = 0;
  if (self->running)
    _pl_session_reconcile (self);
  return G_SOURCE_REMOVE;
}

void
_pl_session_schedule_reconcile (PlSession *self)
{
  GSource *source;

  if (self->reconcile_id != 0 || !self->running)
    return;

  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, reconcile_idle_cb, self, NULL);
  g_source_set_static_name (source, "[portlight] apply profile changes");
  self->reconcile_id = g_source_attach (source, self->context);
  g_source_unref (source);
}

static PlProfile *
find_profile (PlSession  *self,
              const char *name)
{
  for (guint i = 0; i < self->watched->len; i++)
    {
      PlProfile *profile = g_ptr_array_index (self->watched, i);

      if (g_strcmp0 (pl_profile_get_name (profile), name) == 0)
        return profile;
    }
  return NULL;
}

/* The profile's OnPortChange, with the command it has now; one PlPortHook per profile name,
 * kept while the session lives so that its runs never overlap. */
static void
run_hook_now (PlSession *self,
              Entry     *entry,
              guint16    port)
{
  PlProfile *profile = find_profile (self, entry->profile_name);
  const char *command = profile != NULL ? pl_profile_get_on_port_change (profile) : NULL;
  PlPortHook *hook = g_hash_table_lookup (self->hooks, entry->profile_name);

  if (hook == NULL)
    {
      if (command == NULL)
        return;
      hook = pl_port_hook_new (entry->profile_name, command);
      g_hash_table_insert (self->hooks, g_strdup (entry->profile_name), hook);
    }
  else
    pl_port_hook_set_command (hook, command);

  pl_port_hook_port_changed (hook, entry->protocol, port, self->external_address);
}

void
_pl_session_run_port_hook (PlSession *self,
                           Entry     *entry,
                           guint16    port)
{
  /* The first grant often comes before the answer to the address query: %a waits for it,
   * or for the query to fail. */
  if (self->external_address == NULL && self->address_op != NULL)
    {
      entry->hook_waiting = TRUE;
      return;
    }
  entry->hook_waiting = FALSE;
  run_hook_now (self, entry, port);
}

/* The public address is known now, or could not be had: the hooks that waited for it run. */
void
_pl_session_flush_port_hooks (PlSession *self)
{
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (!entry->hook_waiting)
        continue;
      entry->hook_waiting = FALSE;
      if (entry->reported_port != 0)
        run_hook_now (self, entry, entry->reported_port);
    }
}

/**
 * pl_session_get_port_hook:
 * @self: a [class@Pl.Session]
 * @profile_name: a profile's name
 *
 * Returns: (transfer none) (nullable): the runner of the profile's OnPortChange command,
 *   once it has had a port to report
 */
PlPortHook *
pl_session_get_port_hook (PlSession  *self,
                          const char *profile_name)
{
  g_return_val_if_fail (PL_IS_SESSION (self), NULL);
  g_return_val_if_fail (profile_name != NULL, NULL);

  return g_hash_table_lookup (self->hooks, profile_name);
}

void
_pl_session_profiles_changed_cb (GListModel *model,
                                 guint       position,
                                 guint       removed,
                                 guint       added,
                                 gpointer    user_data)
{
  _pl_session_schedule_reconcile (PL_SESSION (user_data));
}
