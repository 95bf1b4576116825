/* pl-session.h: keeps every enabled profile mapped on the gateway
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-types.h"
#include "pl-clock.h"
#include "pl-gateway.h"
#include "pl-ipv6-route.h"
#include "pl-mapping.h"
#include "pl-mapper-probe.h"
#include "pl-method-memory.h"
#include "pl-pcp-state.h"
#include "pl-port-mapper.h"
#include "pl-port-hook.h"

G_BEGIN_DECLS

#define PL_TYPE_SESSION (pl_session_get_type ())

G_DECLARE_FINAL_TYPE (PlSession, pl_session, PL, SESSION, GObject)

/**
 * PlSessionMapperFactory:
 * @gateway: the gateway to talk to
 * @clock: the session's clock
 * @user_data: data given to [method@Pl.Session.set_mapper_factory]
 *
 * Makes the [iface@Pl.PortMapper] for one gateway. The default makes a [class@Pl.Client].
 *
 * Returns: (transfer full): a new mapper for @gateway
 */
typedef PlPortMapper *(*PlSessionMapperFactory) (GInetAddress *gateway,
                                                 PlClock      *clock,
                                                 gpointer      user_data);

/**
 * PlSessionDiscoverFunc:
 * @user_data: data given to [method@Pl.Session.set_discover_func]
 * @error: return location for a #GError
 *
 * Finds the default gateway. The default is [func@Pl.gateway_discover].
 *
 * Returns: (transfer full) (nullable): the gateway, or %NULL with @error set
 */
typedef PlGateway *(*PlSessionDiscoverFunc) (gpointer   user_data,
                                             GError   **error);

/**
 * PlSessionIpv6DiscoverFunc:
 * @user_data: data given to [method@Pl.Session.set_ipv6_discover_func]
 * @local: (out) (transfer full): this computer's address to open pinholes for
 * @error: return location for a #GError
 *
 * Finds the IPv6 default router and the stable global address of this computer on its
 * link. The default is [func@Pl.ipv6_router_discover] and [func@Pl.ipv6_stable_address].
 *
 * Returns: (transfer full) (nullable): the router, or %NULL with @error set
 */
typedef PlIpv6Router *(*PlSessionIpv6DiscoverFunc) (gpointer       user_data,
                                                    GInetAddress **local,
                                                    GError       **error);

/**
 * PlSessionNeighbourFunc:
 * @user_data: data given to [method@Pl.Session.set_neighbour_func]
 * @address: the gateway
 * @mac: (out caller-allocates): its 6-byte MAC
 * @error: return location for a #GError
 *
 * Returns: %TRUE with @mac filled, or %FALSE with @error set
 */
typedef gboolean (*PlSessionNeighbourFunc) (gpointer       user_data,
                                            GInetAddress  *address,
                                            guint8        *mac,
                                            GError       **error);

/* Default for PlSession:stop-timeout, in milliseconds. */
#define PL_SESSION_DEFAULT_STOP_TIMEOUT_MS 2000

PlSession    *pl_session_new                    (GListModel             *profiles,
                                                 PlClock                *clock,
                                                 GInetAddress           *gateway,
                                                 gboolean                keep_mappings_on_exit);

void          pl_session_set_mapper_factory     (PlSession              *self,
                                                 PlSessionMapperFactory  factory,
                                                 gpointer                user_data,
                                                 GDestroyNotify          destroy);
void          pl_session_set_method_memory      (PlSession              *self,
                                                 PlMethodMemory         *memory);
void          pl_session_set_neighbour_func     (PlSession              *self,
                                                 PlSessionNeighbourFunc  func,
                                                 gpointer                user_data,
                                                 GDestroyNotify          destroy);
void          pl_session_set_ipv6_pinholes      (PlSession              *self,
                                                 gboolean                enabled);
void          pl_session_set_ipv6_discover_func (PlSession              *self,
                                                 PlSessionIpv6DiscoverFunc func,
                                                 gpointer                user_data,
                                                 GDestroyNotify          destroy);
PlMapping    *pl_session_find_mapping_full      (PlSession              *self,
                                                 const char             *profile_name,
                                                 PlProtocol              protocol,
                                                 GSocketFamily           family);
const char   *pl_session_get_ipv6_address       (PlSession              *self);
PlPortMapper *pl_session_get_ipv6_mapper        (PlSession              *self);
void          pl_session_set_profile_gateway    (PlSession              *self,
                                                 const char             *gateway);
const char   *pl_session_get_profile_gateway    (PlSession              *self);
void          pl_session_set_discover_func      (PlSession              *self,
                                                 PlSessionDiscoverFunc   func,
                                                 gpointer                user_data,
                                                 GDestroyNotify          destroy);

void          pl_session_start                  (PlSession              *self);
gboolean      pl_session_is_running             (PlSession              *self);

GListModel   *pl_session_get_profiles           (PlSession              *self);
PlClock      *pl_session_get_clock              (PlSession              *self);
GListModel   *pl_session_get_mappings           (PlSession              *self);
PlMapping    *pl_session_find_mapping           (PlSession              *self,
                                                 const char             *profile_name,
                                                 PlProtocol              protocol);
GInetAddress *pl_session_get_gateway            (PlSession              *self);
const char   *pl_session_get_external_address   (PlSession              *self);
gboolean      pl_session_get_double_nat         (PlSession              *self);
gboolean      pl_session_get_listening          (PlSession              *self);
const char   *pl_session_get_protocol_name      (PlSession              *self);
guint32       pl_session_get_epoch              (PlSession              *self);
void          pl_session_set_method             (PlSession              *self,
                                                 PlMethod                method);
void          pl_session_set_journal            (PlSession              *self,
                                                 PlPcpState             *journal);

gboolean      pl_session_get_keep_mappings_on_exit (PlSession           *self);
void          pl_session_set_keep_mappings_on_exit (PlSession           *self,
                                                    gboolean             keep);
guint         pl_session_get_stop_timeout       (PlSession              *self);
void          pl_session_set_stop_timeout       (PlSession              *self,
                                                 guint                   timeout_ms);

void          pl_session_set_gateway            (PlSession              *self,
                                                 GInetAddress           *gateway);
void          pl_session_network_changed        (PlSession              *self);
void          pl_session_republish              (PlSession              *self);
PlPortHook   *pl_session_get_port_hook          (PlSession              *self,
                                                 const char             *profile_name);

void          pl_session_stop_async             (PlSession              *self,
                                                 GCancellable           *cancellable,
                                                 GAsyncReadyCallback     callback,
                                                 gpointer                user_data);
gboolean      pl_session_stop_finish            (PlSession              *self,
                                                 GAsyncResult           *result,
                                                 GError                **error);

G_END_DECLS
