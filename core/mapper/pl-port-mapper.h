/* pl-port-mapper.h: the port-mapping protocol behind the session engine
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-announcement.h"
#include "pl-epoch.h"
#include "pl-types.h"

G_BEGIN_DECLS

typedef struct _PlPcpState PlPcpState;

/**
 * PlMapperCapabilities:
 * @PL_MAPPER_CAPABILITY_NONE: nothing beyond IPv4 mappings
 * @PL_MAPPER_CAPABILITY_IPV6: the protocol can open IPv6 pinholes (PCP; UPnP-IGD where the
 *   router offers WANIPv6FirewallControl)
 * @PL_MAPPER_CAPABILITY_LIST: the router's table of mappings can be read (UPnP-IGD)
 * @PL_MAPPER_CAPABILITY_TOKEN: each mapping has state a later process needs to renew or
 *   delete it (PCP's nonce), kept in the journal ([method@Pl.PortMapper.set_journal])
 *
 * What a protocol can do beyond creating, renewing and deleting IPv4 mappings.
 */
typedef enum
{
  PL_MAPPER_CAPABILITY_NONE = 0,
  PL_MAPPER_CAPABILITY_IPV6 = 1 << 0,
  PL_MAPPER_CAPABILITY_LIST = 1 << 1,
  PL_MAPPER_CAPABILITY_TOKEN = 1 << 2,
} PlMapperCapabilities;

/**
 * PlStateLoss:
 * @PL_STATE_LOSS_EPOCH: the gateway's epoch says it lost its state (it rebooted, or its
 *   port-mapping service started again): every mapping is gone and must be created again
 * @PL_STATE_LOSS_ANNOUNCED: the gateway announced itself while its epoch ran on. A service
 *   restarted with the epoch kept (miniupnpd's system_uptime=yes, a settings change)
 *   announces this way too, with every mapping gone, so the mappings must be checked
 *
 * Why [signal@Pl.PortMapper::state-lost] was emitted.
 */
typedef enum
{
  PL_STATE_LOSS_EPOCH,
  PL_STATE_LOSS_ANNOUNCED,
} PlStateLoss;

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
 * @handle_announcement: an announcement from the gateway arrived on the port that
 *   [method@Pl.PortMapper.listen] listens on (only the gateway's own reach it; a public
 *   address in it has been reported already): judge its epoch by the protocol's rule, with
 *   [method@Pl.PortMapper.epoch_seen]
 * @set_journal: (optional): keep what a mapping needs to be renewed and deleted by a later
 *   process (PCP's nonce) in this journal; protocols without such state leave it %NULL
 * @get_capabilities: (optional): what the protocol can do; %NULL means none
 * @get_lifetime_range: (optional): the lifetimes the protocol can carry (the router may
 *   clamp them further); %NULL means 1 to 2^32 - 1 seconds
 * @probe_async: (optional): is the service there? A cheap request that only the service
 *   answers; %NULL uses @get_external_address_async
 * @probe_finish: finish it
 * @get_renew_delay_ms: (optional): when to renew a mapping granted for @lifetime seconds,
 *   in milliseconds from the grant; %NULL means half the lifetime (RFC 6886 section 3.3)
 * @set_label: (optional): the name of what a mapping is for (a profile, a program), for
 *   protocols that store a description with it (UPnP-IGD); call before map_async
 * @listen: (optional): watch the gateway for lost state in the protocol's own way (UPnP-IGD:
 *   eventing and a periodic check); %NULL means the shared announcement listener
 * @get_listening: (optional): whether @listen succeeded; required with @listen
 *
 * The virtual methods of [iface@Pl.PortMapper]. Those not marked optional are required.
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

  void          (*handle_announcement)         (PlPortMapper         *self,
                                                const PlAnnouncement *announcement);
  void          (*set_journal)                 (PlPortMapper         *self,
                                                PlPcpState           *journal);
  PlMapperCapabilities (*get_capabilities)     (PlPortMapper         *self);
  void          (*get_lifetime_range)          (PlPortMapper         *self,
                                                guint32              *min_lifetime,
                                                guint32              *max_lifetime);
  void          (*probe_async)                 (PlPortMapper         *self,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
  gboolean      (*probe_finish)                (PlPortMapper         *self,
                                                GAsyncResult         *result,
                                                GError              **error);
  guint64       (*get_renew_delay_ms)          (PlPortMapper         *self,
                                                guint32               lifetime);
  void          (*set_label)                   (PlPortMapper         *self,
                                                PlProtocol            protocol,
                                                guint16               internal_port,
                                                const char           *label);
  gboolean      (*listen)                      (PlPortMapper         *self,
                                                guint16               port,
                                                const char           *iface,
                                                GError              **error);
  gboolean      (*get_listening)               (PlPortMapper         *self);
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

gboolean      pl_port_mapper_listen                      (PlPortMapper         *self,
                                                          guint16               port,
                                                          const char           *iface,
                                                          GError              **error);
gboolean      pl_port_mapper_get_listening               (PlPortMapper         *self);
void          pl_port_mapper_set_journal                 (PlPortMapper         *self,
                                                          PlPcpState           *journal);
PlMapperCapabilities
              pl_port_mapper_get_capabilities            (PlPortMapper         *self);
void          pl_port_mapper_get_lifetime_range          (PlPortMapper         *self,
                                                          guint32              *min_lifetime,
                                                          guint32              *max_lifetime);
void          pl_port_mapper_probe_async                 (PlPortMapper         *self,
                                                          GCancellable         *cancellable,
                                                          GAsyncReadyCallback   callback,
                                                          gpointer              user_data);
gboolean      pl_port_mapper_probe_finish                (PlPortMapper         *self,
                                                          GAsyncResult         *result,
                                                          GError              **error);
guint64       pl_port_mapper_get_renew_delay_ms          (PlPortMapper         *self,
                                                          guint32               lifetime);
void          pl_port_mapper_set_label                   (PlPortMapper         *self,
                                                          PlProtocol            protocol,
                                                          guint16               internal_port,
                                                          const char           *label);

/* For implementations. */
void          pl_port_mapper_epoch_seen                  (PlPortMapper         *self,
                                                          PlEpochTracker       *tracker,
                                                          gint64                now_us,
                                                          guint32               epoch,
                                                          gboolean              announced);
void          pl_port_mapper_emit_state_lost             (PlPortMapper         *self,
                                                          PlStateLoss           reason);
void          pl_port_mapper_emit_external_address_announced
                                                         (PlPortMapper         *self,
                                                          GInetAddress         *address);

G_END_DECLS
