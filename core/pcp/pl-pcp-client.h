/* pl-pcp-client.h: an asynchronous PCP (RFC 6887) client for one gateway
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-types.h"
#include "pl-clock.h"

G_BEGIN_DECLS

#define PL_TYPE_PCP_CLIENT (pl_pcp_client_get_type ())

G_DECLARE_FINAL_TYPE (PlPcpClient, pl_pcp_client, PL, PCP_CLIENT, GObject)

/**
 * PlPcpClient:
 *
 * An asynchronous PCP client for one gateway, over a non-blocking UDP GSocket connected to
 * gateway:5351 from an ephemeral port. It implements [iface@Pl.PortMapper] ("PCP").
 *
 * Up to 8 requests are in flight at once, each retransmitted on the RFC 6887 schedule (3 s,
 * doubling up to 1024 s, ±10 %, for ever unless [property@Pl.PcpClient:timeout] bounds it);
 * further requests wait in a FIFO queue of at most 1024 (then PL_ERROR_QUEUE_FULL). Requests
 * for one internal port never overlap and keep their submission order, so a caller that
 * renews TCP then UDP gets that order on the wire; a silent request only holds requests for
 * its own port.
 *
 * Per (protocol, internal port) the client keeps the mapping nonce and the last assigned
 * external port and address: a renewal reuses the nonce and suggests the assigned port, a
 * delete uses the nonce and then forgets it. Persist them with
 * [method@Pl.PcpClient.get_mapping_state] and restore them with
 * [method@Pl.PcpClient.set_mapping_state].
 *
 * Responses are accepted only from gateway:port (the socket is connected) and only when they
 * answer a request in flight (MAP: same nonce, protocol and internal port); anything else is
 * ignored (g_debug). ICMP port unreachable ends the requests in flight at once with
 * PL_ERROR_REFUSED; an 8-byte NAT-PMP "unsupported version" reply ends them with
 * PL_ERROR_UNSUPPORTED_VERSION.
 *
 * Threading: a PlPcpClient belongs to the thread-default GMainContext it was created on;
 * call it only from that context's thread.
 *
 * Signals:
 * - `attempt (guint attempt, guint max_attempts)`: emitted before each retransmission
 *   (attempt >= 2) of a request; @max_attempts is 0 when the request retries for ever.
 * - `epoch (guint epoch)`: emitted for every accepted PCP response, errors included, with the
 *   server's epoch time, before the request completes.
 */

/* @gateway: the PCP server (IPv4, or IPv6 with [property@Pl.PcpClient:scope-id] for a
 * link-local address). @clock: (nullable): NULL for the real clock. */
PlPcpClient  *pl_pcp_client_new                         (GInetAddress        *gateway,
                                                         PlClock             *clock);
GInetAddress *pl_pcp_client_get_gateway                 (PlPcpClient         *self);
/* Returns: (nullable): the public address learnt from the last successful MAP. */
const char   *pl_pcp_client_get_external_address        (PlPcpClient         *self);
GInetAddress *pl_pcp_client_get_local_address           (PlPcpClient         *self);

/* A solicited ANNOUNCE: is a PCP server there? */
void          pl_pcp_client_probe_async                 (PlPcpClient         *self,
                                                         GCancellable        *cancellable,
                                                         GAsyncReadyCallback  callback,
                                                         gpointer             user_data);
gboolean      pl_pcp_client_probe_finish                (PlPcpClient         *self,
                                                         GAsyncResult        *result,
                                                         guint32             *epoch,
                                                         GError             **error);

void          pl_pcp_client_get_external_address_async  (PlPcpClient         *self,
                                                         GCancellable        *cancellable,
                                                         GAsyncReadyCallback  callback,
                                                         gpointer             user_data);
/* Returns: (transfer full): the public address of the last mapping. @epoch: (out) (optional). */
GInetAddress *pl_pcp_client_get_external_address_finish (PlPcpClient         *self,
                                                         GAsyncResult        *result,
                                                         guint32             *epoch,
                                                         GError             **error);

/* @suggested_external_port 0 lets the gateway choose (a known mapping suggests its assigned
 * port instead); @lifetime must be > 0. */
void          pl_pcp_client_map_async                   (PlPcpClient         *self,
                                                         PlProtocol           protocol,
                                                         guint16              internal_port,
                                                         guint16              suggested_external_port,
                                                         guint32              lifetime,
                                                         GCancellable        *cancellable,
                                                         GAsyncReadyCallback  callback,
                                                         gpointer             user_data);
gboolean      pl_pcp_client_map_finish                  (PlPcpClient         *self,
                                                         GAsyncResult        *result,
                                                         guint16             *external_port,
                                                         guint32             *lifetime,
                                                         guint32             *epoch,
                                                         GError             **error);

/* Delete one mapping (MAP with lifetime 0 and the mapping's nonce). */
void          pl_pcp_client_unmap_async                 (PlPcpClient         *self,
                                                         PlProtocol           protocol,
                                                         guint16              internal_port,
                                                         GCancellable        *cancellable,
                                                         GAsyncReadyCallback  callback,
                                                         gpointer             user_data);
gboolean      pl_pcp_client_unmap_finish                (PlPcpClient         *self,
                                                         GAsyncResult        *result,
                                                         guint32             *epoch,
                                                         GError             **error);

/* Nonces across restarts (RFC 6887 section 11.1; tests/lab/MINIUPNPD.md, item 13). */
void          pl_pcp_client_set_mapping_state           (PlPcpClient         *self,
                                                         PlProtocol           protocol,
                                                         guint16              internal_port,
                                                         const guint8         nonce[12],
                                                         guint16              assigned_external_port);
gboolean      pl_pcp_client_get_mapping_state           (PlPcpClient         *self,
                                                         PlProtocol           protocol,
                                                         guint16              internal_port,
                                                         guint8               nonce_out[12],
                                                         guint16             *assigned_external_port);

G_END_DECLS
