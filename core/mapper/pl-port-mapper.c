/* pl-port-mapper.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-announce-listener.h"
#include "pl-ipv6-route.h"
#include "pl-port-mapper.h"

/**
 * PlPortMapper:
 *
 * The port-mapping protocol spoken with one gateway, as seen by [class@Pl.Session].
 *
 * [class@Pl.Client] implements it for NAT-PMP and [class@Pl.PcpClient] for PCP; a UPnP-IGD
 * back-end can implement it without touching the session engine. A mapper talks to exactly
 * one gateway, which never changes: the session makes a new mapper when the gateway changes.
 *
 * Every operation is an `_async`/`_finish` pair following the GTask conventions, and
 * honours its cancellable. A mapper queues its own requests, by its protocol's rules
 * (NAT-PMP: one at a time; PCP: several in flight), so callers may submit many at once;
 * requests for the same protocol and port are answered in the order they were made. The
 * `lifetime` given to `map_async` is never 0 (0 would delete); the external port, lifetime
 * and epoch returned by `map_finish` are what the gateway granted.
 *
 * Lost state: each implementation judges by its own protocol's rules when the gateway lost
 * its mappings (the epoch of every reply and announcement, RFC 6886 section 3.6 and RFC 6887
 * section 8.5) and says so with [signal@Pl.PortMapper::state-lost], emitted before the
 * request whose reply showed it completes. The session's reset round is the same for every
 * protocol.
 *
 * Announcements: [method@Pl.PortMapper.listen] listens on the announcement port and passes
 * what the gateway (and only the gateway) sends there to the implementation's
 * `handle_announcement`.
 *
 * Threading: a mapper belongs to the thread-default GMainContext it was created on.
 */

G_DEFINE_INTERFACE (PlPortMapper, pl_port_mapper, G_TYPE_OBJECT)

enum {
  SIGNAL_STATE_LOST,
  SIGNAL_EXTERNAL_ADDRESS_ANNOUNCED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];
static GQuark listener_quark;

static void
pl_port_mapper_default_init (PlPortMapperInterface *iface)
{
  listener_quark = g_quark_from_static_string ("pl-port-mapper-listener");

  /**
   * PlPortMapper::state-lost:
   * @self: the mapper
   * @reason: a [enum@Pl.StateLoss]: why the mappings may be gone
   *
   * The gateway lost its mappings, or may have: create or renew every one of them again.
   */
  signals[SIGNAL_STATE_LOST] =
    g_signal_new ("state-lost",
                  G_TYPE_FROM_INTERFACE (iface),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_UINT);

  /**
   * PlPortMapper::external-address-announced:
   * @self: the mapper
   * @address: the public address the gateway announced
   *
   * The gateway announced its public address unsolicited (NAT-PMP does when it changes).
   * Never emitted for 0.0.0.0, which means "none yet".
   */
  signals[SIGNAL_EXTERNAL_ADDRESS_ANNOUNCED] =
    g_signal_new ("external-address-announced",
                  G_TYPE_FROM_INTERFACE (iface),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_INET_ADDRESS);
}

/**
 * pl_port_mapper_get_protocol_name:
 * @self: a [iface@Pl.PortMapper]
 *
 * Returns: the protocol's display name, such as "NAT-PMP"
 */
const char *
pl_port_mapper_get_protocol_name (PlPortMapper *self)
{
  g_return_val_if_fail (PL_IS_PORT_MAPPER (self), NULL);

  return PL_PORT_MAPPER_GET_IFACE (self)->get_protocol_name (self);
}

/**
 * pl_port_mapper_get_gateway:
 * @self: a [iface@Pl.PortMapper]
 *
 * Returns: (transfer none): the gateway this mapper talks to
 */
GInetAddress *
pl_port_mapper_get_gateway (PlPortMapper *self)
{
  g_return_val_if_fail (PL_IS_PORT_MAPPER (self), NULL);

  return PL_PORT_MAPPER_GET_IFACE (self)->get_gateway (self);
}

/**
 * pl_port_mapper_get_external_address_async:
 * @self: a [iface@Pl.PortMapper]
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the gateway answered or the request failed
 * @user_data: data for @callback
 *
 * Asks the gateway for its public IPv4 address.
 */
void
pl_port_mapper_get_external_address_async (PlPortMapper        *self,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data)
{
  g_return_if_fail (PL_IS_PORT_MAPPER (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  PL_PORT_MAPPER_GET_IFACE (self)->get_external_address_async (self, cancellable,
                                                               callback, user_data);
}

/**
 * pl_port_mapper_get_external_address_finish:
 * @self: a [iface@Pl.PortMapper]
 * @result: the #GAsyncResult
 * @epoch: (out) (optional): the gateway's seconds since start of epoch
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the public address, or %NULL with @error set
 */
GInetAddress *
pl_port_mapper_get_external_address_finish (PlPortMapper  *self,
                                            GAsyncResult  *result,
                                            guint32       *epoch,
                                            GError       **error)
{
  g_return_val_if_fail (PL_IS_PORT_MAPPER (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);

  return PL_PORT_MAPPER_GET_IFACE (self)->get_external_address_finish (self, result,
                                                                       epoch, error);
}

/**
 * pl_port_mapper_map_async:
 * @self: a [iface@Pl.PortMapper]
 * @protocol: TCP or UDP
 * @internal_port: the local port to reach
 * @suggested_external_port: the public port wanted (0 lets the gateway choose)
 * @lifetime: requested lifetime in seconds, not 0
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the gateway answered or the request failed
 * @user_data: data for @callback
 *
 * Creates or renews one mapping.
 */
void
pl_port_mapper_map_async (PlPortMapper        *self,
                          PlProtocol           protocol,
                          guint16              internal_port,
                          guint16              suggested_external_port,
                          guint32              lifetime,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_return_if_fail (PL_IS_PORT_MAPPER (self));
  g_return_if_fail (protocol == PL_PROTOCOL_UDP || protocol == PL_PROTOCOL_TCP);
  g_return_if_fail (internal_port != 0);
  g_return_if_fail (lifetime != 0);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  PL_PORT_MAPPER_GET_IFACE (self)->map_async (self, protocol, internal_port,
                                              suggested_external_port, lifetime,
                                              cancellable, callback, user_data);
}

/**
 * pl_port_mapper_map_finish:
 * @self: a [iface@Pl.PortMapper]
 * @result: the #GAsyncResult
 * @external_port: (out) (optional): the public port granted
 * @lifetime: (out) (optional): the lifetime granted, in seconds
 * @epoch: (out) (optional): the gateway's seconds since start of epoch
 * @error: return location for a #GError
 *
 * Returns: %TRUE when the mapping exists
 */
gboolean
pl_port_mapper_map_finish (PlPortMapper  *self,
                           GAsyncResult  *result,
                           guint16       *external_port,
                           guint32       *lifetime,
                           guint32       *epoch,
                           GError       **error)
{
  g_return_val_if_fail (PL_IS_PORT_MAPPER (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);

  return PL_PORT_MAPPER_GET_IFACE (self)->map_finish (self, result, external_port,
                                                      lifetime, epoch, error);
}

/**
 * pl_port_mapper_unmap_async:
 * @self: a [iface@Pl.PortMapper]
 * @protocol: TCP or UDP
 * @internal_port: the local port of the mapping to delete
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the gateway answered or the request failed
 * @user_data: data for @callback
 *
 * Deletes one mapping.
 */
void
pl_port_mapper_unmap_async (PlPortMapper        *self,
                            PlProtocol           protocol,
                            guint16              internal_port,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (PL_IS_PORT_MAPPER (self));
  g_return_if_fail (protocol == PL_PROTOCOL_UDP || protocol == PL_PROTOCOL_TCP);
  g_return_if_fail (internal_port != 0);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  PL_PORT_MAPPER_GET_IFACE (self)->unmap_async (self, protocol, internal_port,
                                                cancellable, callback, user_data);
}

/**
 * pl_port_mapper_unmap_finish:
 * @self: a [iface@Pl.PortMapper]
 * @result: the #GAsyncResult
 * @epoch: (out) (optional): the gateway's seconds since start of epoch
 * @error: return location for a #GError
 *
 * Returns: %TRUE when the gateway confirmed the deletion
 */
gboolean
pl_port_mapper_unmap_finish (PlPortMapper  *self,
                             GAsyncResult  *result,
                             guint32       *epoch,
                             GError       **error)
{
  g_return_val_if_fail (PL_IS_PORT_MAPPER (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);

  return PL_PORT_MAPPER_GET_IFACE (self)->unmap_finish (self, result, epoch, error);
}

/* Announcements. */

static void
listener_datagram_cb (PlAnnounceListener *listener,
                      GInetSocketAddress *from,
                      GBytes             *datagram,
                      gpointer            user_data)
{
  PlPortMapper *self = PL_PORT_MAPPER (user_data);
  GInetAddress *source = g_inet_socket_address_get_address (from);
  GInetAddress *gateway = pl_port_mapper_get_gateway (self);
  g_autoptr(GError) error = NULL;
  PlAnnouncement announcement;
  const guint8 *data;
  gsize len;

  /* Only the gateway may speak (RFC 6886 section 3.2.1, RFC 6887 section 14.1.3); others,
   * including a previous gateway, are ignored without any state change or traffic. */
  /* Over IPv6 a router announces from any of its link-local addresses (miniupnpd: the
   * interface's first): the same MAC as the one spoken to makes it the gateway. */
  if (gateway == NULL ||
      !(g_inet_address_equal (source, gateway) || pl_ipv6_same_link_host (gateway, source)))
    {
      g_autofree char *text = g_inet_address_to_string (source);

      g_debug ("Ignoring a datagram from %s on the announcement port: not the gateway", text);
      return;
    }

  data = g_bytes_get_data (datagram, &len);
  if (!pl_announcement_parse (data, len, &announcement, &error))
    {
      g_debug ("Ignoring a datagram on the announcement port: %s", error->message);
      return;
    }

  {
    g_autofree char *text = g_inet_address_to_string (source);

    g_debug ("%s announcement from %s (epoch %u)",
             announcement.kind == PL_ANNOUNCEMENT_PCP ? "PCP" : "NAT-PMP", text,
             announcement.epoch);
  }
  /* The address first (RFC 6886 section 3.2.1), so that a round the epoch starts sees it. */
  if (announcement.has_address)
    {
      g_autoptr(GInetAddress) address =
        g_inet_address_new_from_bytes (announcement.address, G_SOCKET_FAMILY_IPV4);

      pl_port_mapper_emit_external_address_announced (self, address);
    }
  PL_PORT_MAPPER_GET_IFACE (self)->handle_announcement (self, &announcement);
}

/**
 * pl_port_mapper_listen:
 * @self: a [iface@Pl.PortMapper]
 * @port: the announcement port, 0 for 5350
 * @iface: (nullable): the interface to join the group on ("eth0"); %NULL lets the kernel pick
 *
 * Listens for the gateway's announcements on 224.0.0.1:@port (ff02::1 for a gateway reached
 * over IPv6), for as long as @self lives;
 * called again, it joins the group on @iface instead. Not fatal when it fails: renewals do
 * not depend on announcements.
 *
 * Returns: %TRUE when listening (bound and joined); %FALSE with @error otherwise
 */
gboolean
pl_port_mapper_listen (PlPortMapper  *self,
                       guint16        port,
                       const char    *iface,
                       GError       **error)
{
  g_autoptr(PlAnnounceListener) listener = NULL;
  PlAnnounceListener *current;

  g_return_val_if_fail (PL_IS_PORT_MAPPER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (PL_PORT_MAPPER_GET_IFACE (self)->listen != NULL)
    return PL_PORT_MAPPER_GET_IFACE (self)->listen (self, port, iface, error);

  current = g_object_get_qdata (G_OBJECT (self), listener_quark);
  if (current != NULL && (port == 0 || pl_announce_listener_get_port (current) == port))
    listener = g_object_ref (current);
  else
    {
      /* A listener that failed to join is dropped, so that the mapper never counts as
       * listening when it is not. */
      g_object_set_qdata (G_OBJECT (self), listener_quark, NULL);
      listener = pl_announce_listener_new_for_family (g_inet_address_get_family (
                                                        pl_port_mapper_get_gateway (self)),
                                                      port, error);
      if (listener == NULL)
        return FALSE;
      g_signal_connect_object (listener, "datagram", G_CALLBACK (listener_datagram_cb), self,
                               0);
    }

  pl_announce_listener_leave_all (listener);
  if (!pl_announce_listener_join (listener, iface, error))
    {
      g_object_set_qdata (G_OBJECT (self), listener_quark, NULL);
      return FALSE;
    }

  if (current != listener)
    g_object_set_qdata_full (G_OBJECT (self), listener_quark, g_object_ref (listener),
                             g_object_unref);
  return TRUE;
}

/**
 * pl_port_mapper_get_listening:
 * @self: a [iface@Pl.PortMapper]
 *
 * Returns: %TRUE when [method@Pl.PortMapper.listen] succeeded: announcements reach @self
 */
gboolean
pl_port_mapper_get_listening (PlPortMapper *self)
{
  g_return_val_if_fail (PL_IS_PORT_MAPPER (self), FALSE);

  if (PL_PORT_MAPPER_GET_IFACE (self)->get_listening != NULL)
    return PL_PORT_MAPPER_GET_IFACE (self)->get_listening (self);
  return g_object_get_qdata (G_OBJECT (self), listener_quark) != NULL;
}

/**
 * pl_port_mapper_set_label:
 * @self: a [iface@Pl.PortMapper]
 * @protocol: the mapping's protocol
 * @internal_port: the mapping's internal port
 * @label: (nullable): what the mapping is for: a profile's or a program's name
 *
 * Names a mapping before it is created, for protocols that keep a description with each
 * mapping on the router (UPnP-IGD shows it in the router's table); others ignore it.
 */
void
pl_port_mapper_set_label (PlPortMapper *self,
                          PlProtocol    protocol,
                          guint16       internal_port,
                          const char   *label)
{
  PlPortMapperInterface *iface;

  g_return_if_fail (PL_IS_PORT_MAPPER (self));

  iface = PL_PORT_MAPPER_GET_IFACE (self);
  if (iface->set_label != NULL)
    iface->set_label (self, protocol, internal_port, label);
}

/**
 * pl_port_mapper_set_journal:
 * @self: a [iface@Pl.PortMapper]
 * @journal: (nullable): a loaded [class@Pl.PcpState], or %NULL for none
 *
 * Keeps what each mapping needs to be renewed and deleted by a later process (PCP's nonce)
 * in @journal, so that a program killed and started again takes its mappings back. Call it
 * before the first request. Protocols without such state (NAT-PMP) ignore it.
 */
void
pl_port_mapper_set_journal (PlPortMapper *self,
                            PlPcpState   *journal)
{
  PlPortMapperInterface *iface;

  g_return_if_fail (PL_IS_PORT_MAPPER (self));

  iface = PL_PORT_MAPPER_GET_IFACE (self);
  if (iface->set_journal != NULL)
    iface->set_journal (self, journal);
}

/**
 * pl_port_mapper_get_capabilities:
 * @self: a [iface@Pl.PortMapper]
 *
 * Returns: what the protocol can do beyond IPv4 mappings
 */
PlMapperCapabilities
pl_port_mapper_get_capabilities (PlPortMapper *self)
{
  PlPortMapperInterface *iface;

  g_return_val_if_fail (PL_IS_PORT_MAPPER (self), PL_MAPPER_CAPABILITY_NONE);

  iface = PL_PORT_MAPPER_GET_IFACE (self);
  return iface->get_capabilities != NULL ? iface->get_capabilities (self)
                                         : PL_MAPPER_CAPABILITY_NONE;
}

/**
 * pl_port_mapper_get_lifetime_range:
 * @self: a [iface@Pl.PortMapper]
 * @min_lifetime: (out) (optional): the shortest lifetime the protocol carries, in seconds
 * @max_lifetime: (out) (optional): the longest
 *
 * What the protocol can ask for; the router may clamp it further (and says so in its
 * answer).
 */
void
pl_port_mapper_get_lifetime_range (PlPortMapper *self,
                                   guint32      *min_lifetime,
                                   guint32      *max_lifetime)
{
  PlPortMapperInterface *iface;
  guint32 lo = 1, hi = G_MAXUINT32;

  g_return_if_fail (PL_IS_PORT_MAPPER (self));

  iface = PL_PORT_MAPPER_GET_IFACE (self);
  if (iface->get_lifetime_range != NULL)
    iface->get_lifetime_range (self, &lo, &hi);
  if (min_lifetime != NULL)
    *min_lifetime = lo;
  if (max_lifetime != NULL)
    *max_lifetime = hi;
}

static void
probe_address_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GInetAddress) address = NULL;
  GError *error = NULL;

  address = pl_port_mapper_get_external_address_finish (PL_PORT_MAPPER (source), result, NULL,
                                                        &error);
  if (address == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * pl_port_mapper_probe_async:
 * @self: a [iface@Pl.PortMapper]
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the gateway answered or the request failed
 * @user_data: data for @callback
 *
 * Asks whether the service is there, with the cheapest request only it answers (PCP: an
 * ANNOUNCE; otherwise the public-address request). Bound it with @cancellable.
 */
void
pl_port_mapper_probe_async (PlPortMapper        *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  PlPortMapperInterface *iface;
  GTask *task;

  g_return_if_fail (PL_IS_PORT_MAPPER (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  iface = PL_PORT_MAPPER_GET_IFACE (self);
  if (iface->probe_async != NULL)
    {
      iface->probe_async (self, cancellable, callback, user_data);
      return;
    }

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pl_port_mapper_probe_async);
  pl_port_mapper_get_external_address_async (self, cancellable, probe_address_cb, task);
}

/**
 * pl_port_mapper_probe_finish:
 * @self: a [iface@Pl.PortMapper]
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: %TRUE when the service answered
 */
gboolean
pl_port_mapper_probe_finish (PlPortMapper  *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  PlPortMapperInterface *iface;

  g_return_val_if_fail (PL_IS_PORT_MAPPER (self), FALSE);

  iface = PL_PORT_MAPPER_GET_IFACE (self);
  if (iface->probe_async != NULL)
    return iface->probe_finish (self, result, error);

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * pl_port_mapper_get_renew_delay_ms:
 * @self: a [iface@Pl.PortMapper]
 * @lifetime: the lifetime granted, in seconds
 *
 * When to renew a mapping by the protocol's rules: half the lifetime for NAT-PMP (RFC 6886
 * section 3.3), a random point in [1/2, 5/8] of it for PCP (RFC 6887 section 11.2.1).
 *
 * Returns: the delay from the grant, in milliseconds
 */
guint64
pl_port_mapper_get_renew_delay_ms (PlPortMapper *self,
                                   guint32       lifetime)
{
  PlPortMapperInterface *iface;

  g_return_val_if_fail (PL_IS_PORT_MAPPER (self), (guint64) lifetime * 500);

  iface = PL_PORT_MAPPER_GET_IFACE (self);
  if (iface->get_renew_delay_ms != NULL)
    return iface->get_renew_delay_ms (self, lifetime);
  return (guint64) lifetime * 1000 / 2;
}

/**
 * pl_port_mapper_epoch_seen:
 * @self: a [iface@Pl.PortMapper]
 * @tracker: the implementation's tracker, with its protocol's rule
 * @now_us: this computer's time, on the mapper's clock
 * @epoch: the epoch of a reply or an announcement from the gateway
 * @announced: whether it came in an announcement
 *
 * For implementations: judges @epoch and emits [signal@Pl.PortMapper::state-lost] when the
 * gateway lost its state, or when it announced itself with its epoch running on (a service
 * restarted with the epoch kept announces so too, its mappings gone).
 */
void
pl_port_mapper_epoch_seen (PlPortMapper   *self,
                           PlEpochTracker *tracker,
                           gint64          now_us,
                           guint32         epoch,
                           gboolean        announced)
{
  g_return_if_fail (PL_IS_PORT_MAPPER (self));
  g_return_if_fail (tracker != NULL);

  if (pl_epoch_tracker_update (tracker, epoch, now_us))
    {
      g_autofree char *gateway = g_inet_address_to_string (pl_port_mapper_get_gateway (self));

      g_debug ("Epoch of %s says it lost its state (now %u)", gateway, epoch);
      pl_port_mapper_emit_state_lost (self, PL_STATE_LOSS_EPOCH);
    }
  else if (announced)
    pl_port_mapper_emit_state_lost (self, PL_STATE_LOSS_ANNOUNCED);
}

/**
 * pl_port_mapper_emit_state_lost:
 * @self: a [iface@Pl.PortMapper]
 * @reason: why
 *
 * For implementations: emits [signal@Pl.PortMapper::state-lost].
 */
void
pl_port_mapper_emit_state_lost (PlPortMapper *self,
                                PlStateLoss   reason)
{
  g_return_if_fail (PL_IS_PORT_MAPPER (self));

  g_signal_emit (self, signals[SIGNAL_STATE_LOST], 0, (guint) reason);
}

/**
 * pl_port_mapper_emit_external_address_announced:
 * @self: a [iface@Pl.PortMapper]
 * @address: the public address announced
 *
 * For implementations: emits [signal@Pl.PortMapper::external-address-announced].
 */
void
pl_port_mapper_emit_external_address_announced (PlPortMapper *self,
                                                GInetAddress *address)
{
  g_return_if_fail (PL_IS_PORT_MAPPER (self));
  g_return_if_fail (G_IS_INET_ADDRESS (address));

  g_signal_emit (self, signals[SIGNAL_EXTERNAL_ADDRESS_ANNOUNCED], 0, address);
}
