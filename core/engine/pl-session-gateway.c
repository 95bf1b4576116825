/* pl-session-gateway.c: the gateway: discovery, the protocol it speaks, network changes
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "pl-session-private.h"

static void
memory_remember (PlSession    *self,
                 PlPortMapper *mapper);
static void
start_probe (PlSession *self);
static gboolean
discover_timer_cb (gpointer data);

/* Gateways. */

static void
set_epoch (PlSession *self,
           guint32    epoch)
{
  if (self->epoch == epoch)
    return;
  self->epoch = epoch;
  g_object_notify_by_pspec (G_OBJECT (self), _pl_session_properties[PROP_EPOCH]);
}

static void
mapper_epoch_cb (PlPortMapper *mapper,
                 guint         epoch,
                 PlSession    *self)
{
  set_epoch (self, epoch);
}

void
_pl_session_drop_mapper (PlSession *self)
{
  _pl_session_drop_ipv6 (self);
  _pl_session_abandon_requests (self, FALSE);
  self->from_memory = FALSE;
  self->confirmed = FALSE;
  self->protocol_failures = 0;
  if (self->probe != NULL)
    {
      g_cancellable_cancel (self->probe);
      g_clear_object (&self->probe);
    }
  pl_clear_source (&self->probe_timer);
  if (self->service_watch != NULL)
    g_signal_handlers_disconnect_by_data (self->service_watch, self);
  g_clear_object (&self->service_watch);
  if (self->mapper != NULL)
    {
      g_clear_signal_handler (&self->state_lost_id, self->mapper);
      g_clear_signal_handler (&self->address_announced_id, self->mapper);
      g_clear_signal_handler (&self->epoch_id, self->mapper);
      g_clear_object (&self->mapper);
    }
  set_epoch (self, 0);
}

/* @mapper (transfer full) speaks for the current gateway from now on. */
static void
install_mapper (PlSession    *self,
                PlPortMapper *mapper)
{
  g_assert (self->mapper == NULL);

  self->mapper = mapper;
  self->state_lost_id =
    g_signal_connect (self->mapper, "state-lost",
                      G_CALLBACK (_pl_session_mapper_state_lost_cb), self);
  self->address_announced_id =
    g_signal_connect (self->mapper, "external-address-announced",
                      G_CALLBACK (_pl_session_mapper_address_announced_cb), self);
  /* NAT-PMP's and PCP's clients tell the epoch of every reply; UPnP-IGD has none. */
  if (g_signal_lookup ("epoch", G_OBJECT_TYPE (self->mapper)) != 0)
    self->epoch_id = g_signal_connect (self->mapper, "epoch", G_CALLBACK (mapper_epoch_cb), self);
  pl_port_mapper_set_journal (self->mapper, self->journal);
  g_debug ("Speaking %s with %s", pl_port_mapper_get_protocol_name (self->mapper),
           self->gateway_str);
  g_object_notify_by_pspec (G_OBJECT (self), _pl_session_properties[PROP_PROTOCOL_NAME]);
  _pl_session_mapper_listen (self);
  _pl_session_setup_ipv6 (self);
}

static gboolean
probe_timer_cb (gpointer data)
{
  PlSession *self = data;

  g_clear_pointer (&self->probe_timer, g_source_unref);
  start_probe (self);
  return G_SOURCE_REMOVE;
}

/* A service showed up on the gateway's network after the probe found none (a UPnP router
 * that booted later): probe now, not at the back-off timer. */
static void
service_appeared_cb (GObject  *watch,
                     gpointer  proxy,
                     gboolean  restarted,
                     gpointer  user_data)
{
  PlSession *self = user_data;

  if (proxy == NULL || self->mapper != NULL || self->probe != NULL)
    return;
  g_debug ("A port-mapping service appeared on %s; probing it now", self->gateway_str);
  pl_clear_source (&self->probe_timer);
  start_probe (self);
}

static void
probe_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(PlSession) self = user_data;
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GError) error = NULL;
  PlPortMapper *mapper;
  guint32 epoch = 0;
  guint64 delay_ms;
  gint64 retry_at;

  mapper = pl_mapper_probe_finish (result, &address, &epoch, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* another gateway, or stopped: the probe is someone else's business now */

  g_clear_object (&self->probe);
  if (!self->running)
    {
      g_clear_object (&mapper);
      return;
    }

  if (mapper != NULL)
    {
      self->probe_failures = 0;
      install_mapper (self, mapper);
      memory_remember (self, mapper);
      if (address != NULL && g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4 &&
          !g_inet_address_get_is_any (address))
        _pl_session_set_external_address (self, g_inet_address_to_bytes (address));
      /* The NAT-PMP leg's answer, the same gateway's epoch, until the mapper's first reply. */
      if (address != NULL && g_signal_lookup ("epoch", G_OBJECT_TYPE (mapper)) != 0)
        set_epoch (self, epoch);
      _pl_session_submit_wanted (self);
      return;
    }

  /* Nothing answered as a port-mapping service: every mapping fails with why, and the
   * gateway is asked again later. */
  self->probe_failures++;
  delay_ms = _pl_session_backoff_ms (error, self->probe_failures);
  retry_at = _pl_session_now_us (self) + (gint64) delay_ms * 1000;
  g_debug ("Probing %s failed (%s); again in %" G_GUINT64_FORMAT " s", self->gateway_str,
           error->message, delay_ms / 1000);
  _pl_session_abandon_requests (self, FALSE);
  self->probe_timer = _pl_session_timer_new (self, delay_ms, probe_timer_cb, self);
  if (self->service_watch == NULL)
    {
      self->service_watch = pl_mapper_watch_new (self->gateway, self->gateway_iface,
                                                 self->clock);
      g_signal_connect (self->service_watch, "proxy-changed",
                        G_CALLBACK (service_appeared_cb), self);
    }
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry->enabled && entry->config_error == NULL)
        _pl_session_entry_publish (entry, PL_MAPPING_STATE_FAILED, 0, 0, 0, 0, error, retry_at);
    }
}

/* The gateway's MAC, which tells this 192.168.1.1 from another network's. */
static gboolean
gateway_mac (PlSession *self,
             guint8     mac[6])
{
  g_autoptr(GError) error = NULL;
  gboolean found;

  if (self->neighbour_func != NULL)
    found = self->neighbour_func (self->neighbour_data, self->gateway, mac, &error);
  else
    found = pl_neighbour_lookup (self->gateway, 0, mac, &error);
  if (!found)
    g_debug ("No MAC for %s: %s", self->gateway_str, error != NULL ? error->message : "?");
  return found;
}

static void
memory_save (PlSession *self)
{
  g_autoptr(GError) error = NULL;

  if (!pl_method_memory_save (self->memory, &error))
    g_debug ("Cannot remember the gateway's protocol: %s", error->message);
}

/* After a probe: what @mapper speaks is remembered for this gateway. */
static void
memory_remember (PlSession    *self,
                 PlPortMapper *mapper)
{
  guint8 mac[6];
  PlMethod method;

  if (self->memory == NULL || !gateway_mac (self, mac))
    return;
  method = pl_mapper_get_method (mapper);
  pl_method_memory_remember (self->memory, self->gateway, mac, method);
  memory_save (self);
}

/* A mapper of the protocol remembered for this gateway (address and MAC), or NULL. */
static PlPortMapper *
memory_recall (PlSession *self)
{
  guint8 mac[6];
  PlMethod method;

  if (self->memory == NULL || self->skip_memory || !gateway_mac (self, mac) ||
      !pl_method_memory_lookup (self->memory, self->gateway, mac, &method))
    return NULL;
  g_debug ("%s speaks %s, as remembered", self->gateway_str, pl_method_to_string (method));
  return pl_mapper_new (method, self->gateway, self->clock);
}

/* The protocol spoken failed as a protocol (not for one port): before it granted anything
 * (a remembered one gone stale), at once on a version downgrade, or after repeated refusals.
 * It is forgotten, and the gateway probed again: returns TRUE then (every mapping waits for
 * the probe, queued again). */
gboolean
_pl_session_protocol_failed (PlSession    *self,
                             const GError *error)
{
  gboolean downgrade = g_error_matches (error, PL_ERROR, PL_ERROR_UNSUPPORTED_VERSION);
  guint8 mac[6];

  /* Only a protocol the session chose itself is asked about again. */
  if (self->mapper_factory != NULL || self->method != PL_METHOD_AUTO || self->mapper == NULL)
    return FALSE;
  /* A protocol that worked gets three tries (a restarting router refuses for a moment),
   * except when the router says outright that it speaks another version. */
  if (self->confirmed && !downgrade && ++self->protocol_failures < 3)
    return FALSE;
  g_debug ("%s no longer answers %s (%s); probing again", self->gateway_str,
           pl_port_mapper_get_protocol_name (self->mapper), error->message);
  if (self->memory != NULL && gateway_mac (self, mac) &&
      pl_method_memory_forget (self->memory, self->gateway, mac))
    memory_save (self);
  self->skip_memory = TRUE;
  _pl_session_drop_mapper (self);
  start_probe (self);
  return TRUE;
}

/* PCP and NAT-PMP are asked together (PCP preferred); every mapping waits for the answer. */
static void
start_probe (PlSession *self)
{
  PlPortMapper *remembered;

  if (self->probe != NULL || self->gateway == NULL || self->mapper != NULL)
    return;

  remembered = memory_recall (self);
  if (remembered != NULL)
    {
      install_mapper (self, remembered);
      self->from_memory = TRUE;
      self->confirmed = FALSE;
      for (guint i = 0; i < self->entries->len; i++)
        {
          Entry *entry = g_ptr_array_index (self->entries, i);

          if (!entry->enabled || entry->config_error != NULL)
            continue;
          if (pl_mapping_get_state (entry->mapping) == PL_MAPPING_STATE_FAILED)
            _pl_session_entry_publish_pending (entry);
          _pl_session_queue_map (self, entry);
        }
      _pl_session_queue_address (self);
      return;
    }

  self->probe = g_cancellable_new ();
  pl_mapper_probe_async (self->gateway, self->clock, PL_METHOD_AUTO, 0, self->probe,
                         probe_cb, g_object_ref (self));

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (!entry->enabled || entry->config_error != NULL)
        continue;
      if (pl_mapping_get_state (entry->mapping) == PL_MAPPING_STATE_FAILED)
        _pl_session_entry_publish_pending (entry);
      _pl_session_queue_map (self, entry);
    }
  _pl_session_queue_address (self);
}

/* Start over on @gateway (NULL: none found): forget everything learned from the previous
 * one, and create every enabled mapping afresh (F-28). */
static void
set_current_gateway (PlSession    *self,
                     GInetAddress *gateway,
                     const char   *iface)
{
  g_autofree char *text = gateway != NULL ? g_inet_address_to_string (gateway) : NULL;
  gboolean changed = g_strcmp0 (text, self->gateway_str) != 0;

  _pl_session_drop_mapper (self);
  pl_clear_source (&self->round_timer);
  pl_clear_source (&self->address_timer);
  self->last_round = 0;
  self->last_resync = 0;
  self->address_failures = 0;
  self->address_wanted = FALSE;
  _pl_session_set_external_address (self, NULL);

  g_set_object (&self->gateway, gateway);
  g_free (self->gateway_str);
  self->gateway_str = g_steal_pointer (&text);
  g_free (self->gateway_iface);
  self->gateway_iface = g_strdup (iface);

  self->probe_failures = 0;
  self->skip_memory = FALSE;
  if (gateway != NULL)
    {
      PlPortMapper *mapper = NULL;

      if (self->mapper_factory != NULL)
        mapper = self->mapper_factory (gateway, self->clock, self->mapper_factory_data);
      else if (self->method != PL_METHOD_AUTO)
        mapper = pl_mapper_new (self->method, gateway, self->clock);

      if (mapper != NULL)
        install_mapper (self, mapper);
      else if (self->mapper_factory == NULL)
        {
          self->probe = g_cancellable_new ();   /* started below, once the entries are reset */
          g_object_notify_by_pspec (G_OBJECT (self), _pl_session_properties[PROP_PROTOCOL_NAME]);
        }
    }
  else
    g_object_notify_by_pspec (G_OBJECT (self), _pl_session_properties[PROP_PROTOCOL_NAME]);
  if (self->mapper == NULL)
    _pl_session_set_listening (self, FALSE);

  if (changed)
    {
      g_debug ("Gateway is now %s", self->gateway_str != NULL ? self->gateway_str : "(none)");
      g_object_notify_by_pspec (G_OBJECT (self), _pl_session_properties[PROP_GATEWAY]);
      g_signal_emit (self, _pl_session_signals[SIGNAL_GATEWAY_CHANGED], 0, self->gateway_str);
    }

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      _pl_session_entry_clear_timers (entry);
      entry->last_port = 0;
      entry->zero_refused = FALSE;   /* another gateway may choose a port */
      entry->expires = 0;
      entry->failures = 0;
      if (!entry->enabled || entry->config_error != NULL)
        continue;

      if (self->mapper != NULL || self->probe != NULL)
        {
          _pl_session_entry_publish (entry, PL_MAPPING_STATE_MAPPING, 0, 0, 0, 0, NULL, 0);
          _pl_session_queue_map (self, entry);
        }
      else
        _pl_session_entry_publish (entry, PL_MAPPING_STATE_FAILED, 0, 0, 0, 0,
                                   self->no_gateway_error, self->discover_at);
    }

  if (self->probe != NULL)
    {
      g_clear_object (&self->probe);
      start_probe (self);
    }
  else if (self->mapper != NULL)
    _pl_session_queue_address (self);
}

/* Same gateway after a network change or a resume: re-check what may have gone stale. */
static void
resync (PlSession *self)
{
  gint64 now = _pl_session_now_us (self);

  if (self->mapper == NULL)
    return;
  if (self->last_resync != 0 && now - self->last_resync < RESYNC_INTERVAL_US)
    return;
  self->last_resync = MAX (now, 1);

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);
      gint64 renew_at = pl_mapping_get_renew_at (entry->mapping);

      if (!entry->enabled || entry->config_error != NULL || entry->op != NULL)
        continue;

      if (entry->expires != 0 && now >= entry->expires)
        {
          /* Timers can run late across a suspend; the clock does not. */
          pl_clear_source (&entry->expiry);
          _pl_session_entry_expired_cb (entry);
        }
      else if (entry->expires != 0 && renew_at != 0 && now >= renew_at)
        {
          pl_clear_source (&entry->timer);
          _pl_session_queue_map (self, entry);
        }
      else if (entry->expires == 0 &&
               _pl_session_error_is_refusal (pl_mapping_get_error (entry->mapping)))
        {
          /* The same gateway refused it on purpose (its rules, or NAT-PMP switched off): a
           * route flapping beside it changes nothing, so the long back-off stands. */
          continue;
        }
      else if (entry->expires == 0)
        {
          /* Failed ones try again now: the network around them changed (PMP-08). */
          pl_clear_source (&entry->timer);
          entry->failures = 0;
          _pl_session_entry_publish_pending (entry);
          _pl_session_queue_map (self, entry);
        }
    }

  /* The reply's epoch tells whether the gateway rebooted meanwhile. */
  _pl_session_queue_address (self);
  _pl_session_recheck_ipv6 (self);
}

void
_pl_session_discover_and_apply (PlSession *self)
{
  g_autoptr(PlGateway) found = NULL;
  g_autoptr(GError) error = NULL;

  pl_clear_source (&self->discover_timer);

  if (self->fixed_gateway != NULL)
    {
      self->discover_failures = 0;
      self->discover_at = 0;
      g_clear_error (&self->no_gateway_error);
      if (self->gateway != NULL && g_inet_address_equal (self->gateway, self->fixed_gateway))
        resync (self);
      else
        set_current_gateway (self, self->fixed_gateway, NULL);
      return;
    }

  if (self->discover_func != NULL)
    found = self->discover_func (self->discover_data, &error);
  else if (g_strcmp0 (self->profile_gateway, PL_PROFILE_GATEWAY_VPN_TEXT) == 0)
    {
      g_autoptr(PlTunnel) tunnel = pl_tunnel_discover (&error);

      if (tunnel != NULL)
        found = pl_tunnel_to_gateway (tunnel);
    }
  else
    found = pl_tunnel_discover_default (&error);

  if (found == NULL || found->address == NULL)
    {
      guint64 delay_ms;

      if (error == NULL)
        error = g_error_new_literal (PL_ERROR, PL_ERROR_NO_GATEWAY,
                                     _("No default gateway was found"));
      self->discover_failures++;
      delay_ms = _pl_session_backoff_ms (NULL, self->discover_failures);
      g_debug ("No gateway (%s); looking again in %" G_GUINT64_FORMAT " s",
               error->message, delay_ms / 1000);
      self->discover_timer = _pl_session_timer_new (self, delay_ms, discover_timer_cb, self);
      self->discover_at = _pl_session_now_us (self) + (gint64) delay_ms * 1000;
      g_clear_error (&self->no_gateway_error);
      self->no_gateway_error = g_steal_pointer (&error);
      set_current_gateway (self, NULL, NULL);
      return;
    }

  self->discover_failures = 0;
  self->discover_at = 0;
  g_clear_error (&self->no_gateway_error);
  if (self->gateway != NULL && g_inet_address_equal (self->gateway, found->address))
    {
      if (g_strcmp0 (self->gateway_iface, found->interface) != 0)
        {
          g_free (self->gateway_iface);
          self->gateway_iface = g_strdup (found->interface);
          _pl_session_mapper_listen (self);
        }
      resync (self);
    }
  else
    set_current_gateway (self, found->address, found->interface);
}

static gboolean
discover_timer_cb (gpointer data)
{
  PlSession *self = data;

  g_clear_pointer (&self->discover_timer, g_source_unref);
  _pl_session_discover_and_apply (self);
  return G_SOURCE_REMOVE;
}

static gboolean
network_timer_cb (gpointer data)
{
  PlSession *self = data;

  g_clear_pointer (&self->network_timer, g_source_unref);
  _pl_session_discover_and_apply (self);
  return G_SOURCE_REMOVE;
}

/* Bursts of network events are handled once, a moment after the first. */
static void
network_event (PlSession *self)
{
  if (!self->running || self->network_timer != NULL)
    return;
  self->network_timer = _pl_session_timer_new (self, NETWORK_DEBOUNCE_MS, network_timer_cb, self);
}

void
_pl_session_network_changed_cb (GNetworkMonitor *monitor,
                                gboolean         available,
                                gpointer         user_data)
{
  network_event (PL_SESSION (user_data));
}

static void
prepare_for_sleep_cb (GDBusConnection *connection,
                      const char      *sender_name,
                      const char      *object_path,
                      const char      *interface_name,
                      const char      *signal_name,
                      GVariant        *parameters,
                      gpointer         user_data)
{
  gboolean sleeping = TRUE;

  if (g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(b)")))
    g_variant_get (parameters, "(b)", &sleeping);
  if (!sleeping)
    network_event (PL_SESSION (user_data));
}

void
_pl_session_system_bus_cb (GObject      *source,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  GWeakRef *weak = user_data;
  g_autoptr(PlSession) self = g_weak_ref_get (weak);
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GError) error = NULL;

  g_weak_ref_clear (weak);
  g_free (weak);

  bus = g_bus_get_finish (result, &error);
  if (self == NULL || g_cancellable_is_cancelled (self->cancellable) || !self->running)
    return;
  if (bus == NULL)
    {
      /* No system bus (containers, tests): resumes are still caught by network changes. */
      g_debug ("No system bus, not following suspend and resume: %s", error->message);
      return;
    }

  self->system_bus = g_steal_pointer (&bus);
  self->sleep_subscription =
    g_dbus_connection_signal_subscribe (self->system_bus,
                                        "org.freedesktop.login1",
                                        "org.freedesktop.login1.Manager",
                                        "PrepareForSleep",
                                        "/org/freedesktop/login1",
                                        NULL,
                                        G_DBUS_SIGNAL_FLAGS_NONE,
                                        prepare_for_sleep_cb, self, NULL);
}
