/* pl-session-rounds.c: rounds after the gateway lost its state, and announcements
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "pl-session-private.h"

/* State losses. */

/* @reason EPOCH: the gateway lost every mapping, so each is created again (pending) and
 * ::router-reset is emitted. ANNOUNCED: the gateway announced itself with its epoch running
 * on; its mappings may be gone (a service restarted with the epoch kept), so each is
 * renewed now, quietly: a renewal re-creates what is missing and changes nothing else. */
static void
state_round (PlSession   *self,
             PlStateLoss  reason)
{
  guint n = 0;

  self->last_round = MAX (_pl_session_now_us (self), 1);
  pl_clear_source (&self->round_timer);

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (!entry->enabled || entry->config_error != NULL)
        continue;
      n++;
      if (entry->op != NULL)
        continue;

      if (reason == PL_STATE_LOSS_EPOCH || entry->expires == 0)
        {
          _pl_session_entry_clear_timers (entry);
          entry->expires = 0;
          entry->failures = 0;
          _pl_session_entry_publish_pending (entry);
        }
      else
        pl_clear_source (&entry->timer);   /* the expiry stands until the renewal lands */
      _pl_session_queue_map (self, entry);
    }

  _pl_session_queue_address (self);

  if (reason == PL_STATE_LOSS_EPOCH)
    {
      g_debug ("Gateway %s lost its state; creating %u mappings again", self->gateway_str, n);
      g_signal_emit (self, _pl_session_signals[SIGNAL_ROUTER_RESET], 0, n);
    }
  else
    g_debug ("Gateway %s announced itself; renewing %u mappings", self->gateway_str, n);
}

static gboolean
round_timer_cb (gpointer data)
{
  PlSession *self = data;

  g_clear_pointer (&self->round_timer, g_source_unref);
  state_round (self, self->round_reason);
  return G_SOURCE_REMOVE;
}

/* At most one round per RESET_ROUND_INTERVAL_US per gateway (RFC 6886 section 3.6 asks to
 * avoid floods; announcements are unauthenticated multicast): a loss seen sooner is handled
 * when the interval is over, however many arrive meanwhile, as one round of the gravest
 * reason seen. */
void
_pl_session_mapper_state_lost_cb (PlPortMapper *mapper,
                                  guint         reason,
                                  gpointer      user_data)
{
  PlSession *self = user_data;
  gint64 now = _pl_session_now_us (self);

  if (!self->running || (mapper != self->mapper && mapper != self->mapper6))
    return;

  /* The gateway's other mapper (IPv4 beside IPv6 pinholes) learns of the same loss a moment
   * later, from the answers to the round's own requests: that is not a new loss, and must
   * not push the next genuine one 10 s back. */
  if (self->last_round != 0 && mapper != self->round_mapper &&
      now - self->last_round < ROUND_COALESCE_US)
    {
      g_debug ("The same loss of state, seen by the other mapper: no new round");
      return;
    }

  if (self->last_round != 0 && now - self->last_round < RESET_ROUND_INTERVAL_US)
    {
      if (self->round_timer == NULL)
        {
          gint64 next = self->last_round + RESET_ROUND_INTERVAL_US;

          self->round_reason = reason;
          self->round_mapper = mapper;
          self->round_timer = _pl_session_timer_new (self, _pl_session_ms_until (self, next),
                                                     round_timer_cb, self);
        }
      else if (reason == PL_STATE_LOSS_EPOCH)
        self->round_reason = PL_STATE_LOSS_EPOCH;
      return;
    }

  self->round_mapper = mapper;
  state_round (self, reason);
}

void
_pl_session_mapper_address_announced_cb (PlPortMapper *mapper,
                                         GInetAddress *address,
                                         gpointer      user_data)
{
  PlSession *self = user_data;

  if (!self->running || mapper != self->mapper ||
      g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV4 ||
      g_inet_address_get_is_any (address))
    return;
  _pl_session_set_external_address (self, g_inet_address_to_bytes (address));
}

void
_pl_session_set_listening (PlSession *self,
                           gboolean   listening)
{
  if (self->listening == !!listening)
    return;
  self->listening = !!listening;
  g_object_notify_by_pspec (G_OBJECT (self), _pl_session_properties[PROP_LISTENING]);
}

/* Announcements reach the mapper, on the gateway's interface. Not fatal when it fails:
 * renewals do not depend on announcements. */
void
_pl_session_mapper_listen (PlSession *self)
{
  g_autoptr(GError) error = NULL;
  const char *iface = self->gateway_iface;

  if (self->mapper == NULL || self->announce_port == 0)
    {
      _pl_session_set_listening (self, FALSE);
      return;
    }

  if (iface == NULL && g_inet_address_get_is_loopback (self->gateway))
    iface = "lo";
  if (pl_port_mapper_listen (self->mapper, self->announce_port, iface, &error))
    {
      _pl_session_set_listening (self, TRUE);
      return;
    }

  _pl_session_set_listening (self, FALSE);
  if (!self->listen_warned)
    g_message (_("Not listening for router announcements on %s:%u: %s"),
               PL_NATPMP_ANNOUNCE_GROUP, self->announce_port, error->message);
  else
    g_debug ("Not listening for router announcements: %s", error->message);
  self->listen_warned = TRUE;
}
