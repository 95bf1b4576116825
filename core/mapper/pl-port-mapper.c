/* pl-port-mapper.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-port-mapper.h"

/**
 * PlPortMapper:
 *
 * The port-mapping protocol spoken with one gateway, as seen by [class@Pl.Session].
 *
 * [class@Pl.Client] implements it for NAT-PMP; PCP and UPnP-IGD back-ends can implement it
 * later without touching the session engine. A mapper talks to exactly one gateway, which
 * never changes: the session makes a new mapper when the gateway changes.
 *
 * Every operation is an `_async`/`_finish` pair following the GTask conventions, and
 * honours its cancellable. A mapper serialises its own requests; callers may still queue
 * several. The `lifetime` given to `map_async` is never 0 (0 would delete); the external
 * port, lifetime and epoch returned by `map_finish` are what the gateway granted.
 *
 * Epoch convention: when the protocol has a server epoch (NAT-PMP and PCP do), the finish
 * functions return it, and the implementation should also emit a signal named `epoch` with
 * the signature `void (*epoch) (PlPortMapper *self, guint epoch, gpointer user_data)` for
 * every reply it accepts, including error replies (RFC 6886 section 3.5: error replies carry
 * a valid epoch too), before the request completes. The session engine runs its reset check
 * on both; seeing one value twice is harmless. The signal belongs to the implementing class
 * (an interface signal would clash with classes that already define one), so use
 * [method@Pl.PortMapper.has_epoch_signal] before connecting to it.
 *
 * Threading: a mapper belongs to the thread-default GMainContext it was created on.
 */

G_DEFINE_INTERFACE (PlPortMapper, pl_port_mapper, G_TYPE_OBJECT)

static void
pl_port_mapper_default_init (PlPortMapperInterface *iface)
{
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

/**
 * pl_port_mapper_has_epoch_signal:
 * @self: a [iface@Pl.PortMapper]
 *
 * Whether the implementation follows the epoch-signal convention (see
 * [iface@Pl.PortMapper]): it has a signal `epoch (guint)`.
 *
 * Returns: %TRUE when connecting to `epoch` is possible
 */
gboolean
pl_port_mapper_has_epoch_signal (PlPortMapper *self)
{
  GSignalQuery query;
  guint id;

  g_return_val_if_fail (PL_IS_PORT_MAPPER (self), FALSE);

  id = g_signal_lookup ("epoch", G_OBJECT_TYPE (self));
  if (id == 0)
    return FALSE;

  g_signal_query (id, &query);
  return query.return_type == G_TYPE_NONE &&
         query.n_params == 1 &&
         (query.param_types[0] & ~G_SIGNAL_TYPE_STATIC_SCOPE) == G_TYPE_UINT;
}
