/* pl-session-ipv6.c: IPv6 pinholes beside the gateway's IPv4 mappings
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "pl-session-private.h"

/* IPv6 pinholes. */

#define IPV6_PROBE_MS         (5 * 1000)
#define IPV6_RETRY_MS         (30 * 60 * 1000)

/* Forgets the IPv6 side; its entries go (a both-family profile) or fail (IPv6 only) when
 * the profiles are next applied. */
void
_pl_session_drop_ipv6 (PlSession *self)
{
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry->family != G_SOCKET_FAMILY_IPV6)
        continue;
      _pl_session_op_abandon (entry->op);
      entry->wanted = FALSE;
      _pl_session_entry_clear_timers (entry);
      entry->expires = 0;
      entry->last_port = 0;
    }
  for (guint i = self->unmaps->len; i > 0; i--)
    {
      Op *op = g_ptr_array_index (self->unmaps, i - 1);

      if (op->family == G_SOCKET_FAMILY_IPV6)
        _pl_session_op_abandon (op);
    }
  if (self->probe6 != NULL)
    {
      g_cancellable_cancel (self->probe6);
      g_clear_object (&self->probe6);
    }
  g_clear_object (&self->probing6);
  pl_clear_source (&self->probe6_timer);
  g_clear_pointer (&self->address6, g_free);
  if (self->mapper6 != NULL)
    {
      g_clear_signal_handler (&self->state_lost6_id, self->mapper6);
      g_clear_object (&self->mapper6);
      g_object_notify_by_pspec (G_OBJECT (self), _pl_session_properties[PROP_IPV6_ADDRESS]);
    }
  _pl_session_schedule_reconcile (self);
}

static void
set_no_ipv6 (PlSession *self,
             GError    *error)
{
  g_debug ("No IPv6 pinholes: %s", error->message);
  g_clear_error (&self->no_ipv6_error);
  self->no_ipv6_error = error;
  _pl_session_schedule_reconcile (self);
  /* A profile that asked for IPv6 alone fails with why. */
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry->family == G_SOCKET_FAMILY_IPV6 && entry->enabled && entry->config_error == NULL)
        _pl_session_entry_publish (entry, PL_MAPPING_STATE_FAILED, 0, 0, 0, 0, error, 0);
    }
}

static gboolean
ipv6_retry_cb (gpointer data)
{
  PlSession *self = data;

  g_clear_pointer (&self->probe6_timer, g_source_unref);
  _pl_session_setup_ipv6 (self);
  return G_SOURCE_REMOVE;
}

static gboolean
probe6_deadline_cb (gpointer data)
{
  PlSession *self = data;

  g_clear_pointer (&self->probe6_timer, g_source_unref);
  if (self->probe6 != NULL)
    g_cancellable_cancel (self->probe6);
  return G_SOURCE_REMOVE;
}

static void
probe6_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(PlSession) self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean cancelled_by_us;

  if (pl_port_mapper_probe_finish (PL_PORT_MAPPER (source), result, &error))
    {
      if (self->probing6 != PL_PORT_MAPPER (source))
        return;   /* dropped meanwhile */
      pl_clear_source (&self->probe6_timer);
      g_clear_object (&self->probe6);
      self->mapper6 = g_steal_pointer (&self->probing6);
      self->state_lost6_id =
        g_signal_connect (self->mapper6, "state-lost",
                          G_CALLBACK (_pl_session_mapper_state_lost_cb), self);
      pl_port_mapper_set_journal (self->mapper6, self->journal);
      /* Its ANNOUNCEs come to ff02::1 from the router's link-local address. */
      if (self->announce_port != 0)
        {
          g_autoptr(GError) listen_error = NULL;

          if (!pl_port_mapper_listen (self->mapper6, self->announce_port, self->router6_iface,
                                      &listen_error))
            g_debug ("Not listening for IPv6 ANNOUNCEs: %s", listen_error->message);
        }
      g_clear_error (&self->no_ipv6_error);
      g_debug ("IPv6 pinholes for %s through %s", self->address6,
               pl_port_mapper_get_protocol_name (self->mapper6));
      g_object_notify_by_pspec (G_OBJECT (self), _pl_session_properties[PROP_IPV6_ADDRESS]);
      if (self->running)
        {
          _pl_session_schedule_reconcile (self);
          _pl_session_submit_wanted (self);
        }
      return;
    }

  if (self->probing6 != PL_PORT_MAPPER (source))
    return;
  /* Cancelled by its bound (probe6_deadline_cb has cleared the timer), or by
   * _pl_session_drop_ipv6(). */
  cancelled_by_us = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
                    self->probe6_timer == NULL && self->probe6 != NULL;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && !cancelled_by_us)
    return;

  g_clear_object (&self->probe6);
  g_clear_object (&self->probing6);
  g_clear_pointer (&self->address6, g_free);
  if (!self->running)
    return;
  set_no_ipv6 (self, cancelled_by_us
                     ? g_error_new (PL_ERROR, PL_ERROR_TIMED_OUT,
                                    _("The router does not answer for IPv6 pinholes"))
                     : g_error_new (PL_ERROR, error->domain == PL_ERROR ? error->code
                                                                         : PL_ERROR_NETWORK_FAILURE,
                                    _("The router does not open IPv6 pinholes: %s"),
                                    error->message));
  self->probe6_timer = _pl_session_timer_new (self, IPV6_RETRY_MS, ipv6_retry_cb, self);
}

/* Pinholes too, when the gateway's protocol can open them and this computer has a stable
 * global IPv6 address: the IPv6 default router is asked with that protocol. */
/* The IPv6 default router, and this computer's stable global address on its link. */
static PlIpv6Router *
discover_ipv6 (PlSession     *self,
               GInetAddress **local,
               GError       **error)
{
  g_autoptr(PlIpv6Router) router = NULL;

  *local = NULL;
  if (self->ipv6_discover_func != NULL)
    router = self->ipv6_discover_func (self->ipv6_discover_data, local, error);
  else
    {
      router = pl_ipv6_router_discover (error);
      if (router != NULL)
        *local = pl_ipv6_stable_address (router->ifindex, error);
    }
  if (*local == NULL)
    return NULL;
  return g_steal_pointer (&router);
}

/* After a network change on the same gateway: IPv6 may have come, gone or got a new prefix.
 * Pinholes for an address this computer no longer has lapse on their own. */
void
_pl_session_recheck_ipv6 (PlSession *self)
{
  g_autoptr(PlIpv6Router) router = NULL;
  g_autoptr(GInetAddress) local = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (self->probe6 != NULL || self->mapper == NULL)
    return;   /* being set up, or no gateway */
  if (self->mapper6 != NULL)
    {
      router = discover_ipv6 (self, &local, &error);
      text = local != NULL ? g_inet_address_to_string (local) : NULL;
      if (g_strcmp0 (text, self->address6) == 0)
        return;
      g_debug ("The IPv6 address for pinholes is now %s", text != NULL ? text : "(none)");
    }
  _pl_session_setup_ipv6 (self);
}

void
_pl_session_setup_ipv6 (PlSession *self)
{
  g_autoptr(PlIpv6Router) router = NULL;
  g_autoptr(GInetAddress) local = NULL;
  g_autoptr(GError) error = NULL;

  _pl_session_drop_ipv6 (self);
  if (!self->running || self->mapper == NULL)
    return;
  if (!self->ipv6_pinholes)
    {
      set_no_ipv6 (self, g_error_new_literal (PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                                              _("IPv6 pinholes are switched off")));
      return;
    }

  if (!(pl_port_mapper_get_capabilities (self->mapper) & PL_MAPPER_CAPABILITY_IPV6))
    {
      set_no_ipv6 (self, g_error_new (PL_ERROR, PL_ERROR_UNSUPPORTED_OPCODE,
                                      _("The router at %s speaks %s, which opens no IPv6 "
                                        "pinholes"),
                                      self->gateway_str,
                                      pl_port_mapper_get_protocol_name (self->mapper)));
      return;
    }

  router = discover_ipv6 (self, &local, &error);
  if (router == NULL || local == NULL)
    {
      if (error == NULL)
        error = g_error_new_literal (PL_ERROR, PL_ERROR_NO_GATEWAY, _("No IPv6 router"));
      set_no_ipv6 (self, g_steal_pointer (&error));
      return;
    }

  self->probing6 = pl_mapper_new_ipv6 (self->mapper, router->address, router->ifindex, local,
                                       self->clock);
  if (self->probing6 == NULL)
    return;
  self->address6 = g_inet_address_to_string (local);
  g_free (self->router6_iface);
  self->router6_iface = g_strdup (router->interface);
  self->probe6 = g_cancellable_new ();
  self->probe6_timer = _pl_session_timer_new (self, IPV6_PROBE_MS, probe6_deadline_cb, self);
  pl_port_mapper_probe_async (self->probing6, self->probe6, probe6_cb, g_object_ref (self));
}
