/* pl-port-mapper.h: the port-mapping protocol behind the session engine
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-types.h"

G_BEGIN_DECLS

#define PL_TYPE_PORT_MAPPER (pl_port_mapper_get_type ())

G_DECLARE_INTERFACE (PlPortMapper, pl_port_mapper, PL, PORT_MAPPER, GObject)

/**
 * PlPortMapperInterface:
 * @get_protocol_name: the protocol's display name, e.g. "NAT-PMP"
 * @get_gateway: the gateway the mapper talks to (transfer none)
 * @get_external_address_async: ask the gateway for its public IPv4 address
 * @get_external_address_finish: finish it; returns the address and the gateway's epoch
 * @map_async: create or renew one mapping
 * @map_finish: finish it; returns the external port and lifetime granted and the epoch
 * @unmap_async: delete one mapping
 * @unmap_finish: finish it; returns the epoch
 *
 * The virtual methods of [iface@Pl.PortMapper]. All of them are required.
 */
struct _PlPortMapperInterface
{
  GTypeInterface parent_iface;

  const char   *(*get_protocol_name)           (PlPortMapper         *self);
  GInetAddress *(*get_gateway)                 (PlPortMapper         *self);

  void          (*get_external_address_async)  (PlPortMapper         *self,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
  GInetAddress *(*get_external_address_finish) (PlPortMapper         *self,
                                                GAsyncResult         *result,
                                                guint32              *epoch,
                                                GError              **error);

  void          (*map_async)                   (PlPortMapper         *self,
                                                PlProtocol            protocol,
                                                guint16               internal_port,
                                                guint16               suggested_external_port,
                                                guint32               lifetime,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
  gboolean      (*map_finish)                  (PlPortMapper         *self,
                                                GAsyncResult         *result,
                                                guint16              *external_port,
                                                guint32              *lifetime,
                                                guint32              *epoch,
                                                GError              **error);

  void          (*unmap_async)                 (PlPortMapper         *self,
                                                PlProtocol            protocol,
                                                guint16               internal_port,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
  gboolean      (*unmap_finish)                (PlPortMapper         *self,
                                                GAsyncResult         *result,
                                                guint32              *epoch,
                                                GError              **error);
};

const char   *pl_port_mapper_get_protocol_name           (PlPortMapper         *self);
GInetAddress *pl_port_mapper_get_gateway                 (PlPortMapper         *self);

void          pl_port_mapper_get_external_address_async  (PlPortMapper         *self,
                                                          GCancellable         *cancellable,
                                                          GAsyncReadyCallback   callback,
                                                          gpointer              user_data);
GInetAddress *pl_port_mapper_get_external_address_finish (PlPortMapper         *self,
                                                          GAsyncResult         *result,
                                                          guint32              *epoch,
                                                          GError              **error);

void          pl_port_mapper_map_async                   (PlPortMapper         *self,
                                                          PlProtocol            protocol,
                                                          guint16               internal_port,
                                                          guint16               suggested_external_port,
                                                          guint32               lifetime,
                                                          GCancellable         *cancellable,
                                                          GAsyncReadyCallback   callback,
                                                          gpointer              user_data);
gboolean      pl_port_mapper_map_finish                  (PlPortMapper         *self,
                                                          GAsyncResult         *result,
                                                          guint16              *external_port,
                                                          guint32              *lifetime,
                                                          guint32              *epoch,
                                                          GError              **error);

void          pl_port_mapper_unmap_async                 (PlPortMapper         *self,
                                                          PlProtocol            protocol,
                                                          guint16               internal_port,
                                                          GCancellable         *cancellable,
                                                          GAsyncReadyCallback   callback,
                                                          gpointer              user_data);
gboolean      pl_port_mapper_unmap_finish                (PlPortMapper         *self,
                                                          GAsyncResult         *result,
                                                          guint32              *epoch,
                                                          GError              **error);

gboolean      pl_port_mapper_has_epoch_signal            (PlPortMapper         *self);

G_END_DECLS
