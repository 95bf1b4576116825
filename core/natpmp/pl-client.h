/* pl-client.h
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

#define PL_TYPE_CLIENT (pl_client_get_type ())

G_DECLARE_FINAL_TYPE (PlClient, pl_client, PL, CLIENT, GObject)

/**
 * PlClient:
 *
 * An asynchronous NAT-PMP client for one gateway, over a non-blocking UDP GSocket connected
 * to gateway:5351 from an ephemeral port.
 *
 * Exactly one request is in flight at a time; others wait in a bounded FIFO queue (a full
 * queue is PL_ERROR_QUEUE_FULL, never growth). Each request is retransmitted on the RFC 6886
 * schedule (PlRetransmit) until a matching reply, the overall timeout, or cancellation.
 * Replies are accepted only from gateway:port and only when opcode (and, for maps, internal
 * port) match the request in flight; anything else is ignored (g_debug) and retransmission
 * goes on. ICMP port unreachable ends the request at once with PL_ERROR_REFUSED.
 *
 * Threading: a PlClient belongs to the thread-default GMainContext it was created on; call
 * it only from that context's thread.
 *
 * Signals:
 * - `attempt (guint attempt, guint max_attempts)`: emitted before each retransmission
 *   (attempt >= 2) of the request in flight, so a UI can say "no answer yet, attempt 3 of 9".
 * - `epoch (guint epoch)`: emitted for every accepted reply with its seconds-since-start-of-
 *   epoch, before the request completes (the session engine's epoch check hangs off it).
 */

/* @gateway: IPv4 address of the gateway. @clock: (nullable): NULL for the real clock. */
PlClient     *pl_client_new                         (GInetAddress        *gateway,
                                                     PlClock             *clock);
GInetAddress *pl_client_get_gateway                 (PlClient            *self);
/* Overall bound per request in milliseconds, from its first send; 0 = the RFC's 127.75 s. */
void          pl_client_set_timeout                 (PlClient            *self,
                                                     guint                timeout_ms);
guint         pl_client_get_timeout                 (PlClient            *self);

void          pl_client_get_external_address_async  (PlClient            *self,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
/* Returns: (transfer full): the public address. @epoch: (out) (optional). */
GInetAddress *pl_client_get_external_address_finish (PlClient            *self,
                                                     GAsyncResult        *result,
                                                     guint32             *epoch,
                                                     GError             **error);

/* @suggested_external_port 0 lets the gateway choose; @lifetime must be > 0. */
void          pl_client_map_async                   (PlClient            *self,
                                                     PlProtocol           protocol,
                                                     guint16              internal_port,
                                                     guint16              suggested_external_port,
                                                     guint32              lifetime,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
gboolean      pl_client_map_finish                  (PlClient            *self,
                                                     GAsyncResult        *result,
                                                     guint16             *external_port,
                                                     guint32             *lifetime,
                                                     guint32             *epoch,
                                                     GError             **error);

/* Delete one mapping (lifetime 0, suggested port 0). Deletions give up after 3 sends. */
void          pl_client_unmap_async                 (PlClient            *self,
                                                     PlProtocol           protocol,
                                                     guint16              internal_port,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
gboolean      pl_client_unmap_finish                (PlClient            *self,
                                                     GAsyncResult        *result,
                                                     guint32             *epoch,
                                                     GError             **error);

/* Delete every mapping of @protocol this host holds (internal port 0). */
void          pl_client_unmap_all_async             (PlClient            *self,
                                                     PlProtocol           protocol,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
gboolean      pl_client_unmap_all_finish            (PlClient            *self,
                                                     GAsyncResult        *result,
                                                     guint32             *epoch,
                                                     GError             **error);

G_END_DECLS
