/* pl-fake-pcp-gateway.h: a scripted PCP server for tests
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-core.h"

G_BEGIN_DECLS

#define PL_TYPE_FAKE_PCP_GATEWAY (pl_fake_pcp_gateway_get_type ())

G_DECLARE_FINAL_TYPE (PlFakePcpGateway, pl_fake_pcp_gateway, PL, FAKE_PCP_GATEWAY, GObject)

/* A PCP server bound to @address:5351 (use 127.0.0.N, one N per test, so tests run in
 * parallel; or ::1, where it plays the IPv6 router that opens pinholes and answers a MAP
 * with the client's own address). It answers from sources on the thread-default main context and reads time (for
 * its epoch and the request log) from @clock. By default it behaves like miniupnpd 2.3.1 with
 * the defaults (tests/lab/MINIUPNPD.md, items 1 to 6 and 9): external address 203.0.113.7;
 * lifetimes clamped to [120, 86400]; the suggested port (internal port when 0) is assigned, or
 * the next free one when another mapping holds it; a renewal with the same nonce keeps the
 * mapping; a delete of a mapping it does not hold answers NO_RESOURCES with lifetime 30, a
 * delete with another nonce NOT_AUTHORIZED; a client-IP field that is not the datagram's
 * source gets ADDRESS_MISMATCH; the epoch counts seconds from its creation. */

typedef struct
{
  gint64          time;         /* clock time of arrival, microseconds */
  gboolean        parsed;       /* FALSE: not a PCP request (opcode and request unset) */
  guint8          opcode;
  PlPcpMapRequest request;      /* MAP only */
  GBytes         *bytes;        /* the raw datagram */
  guint8          source_address[16];   /* where it came from (IPv4-mapped for IPv4) */
  guint16         source_port;
} PlFakePcpRequest;

typedef enum
{
  PL_FAKE_PCP_PORT_SUGGESTED,   /* the suggested port (internal when 0), next free if taken */
  PL_FAKE_PCP_PORT_PLUS_ONE,    /* always suggested (or internal) + 1 */
} PlFakePcpPortPolicy;

PlFakePcpGateway *pl_fake_pcp_gateway_new                (const char          *address,
                                                          PlClock             *clock,
                                                          GError             **error);
const char       *pl_fake_pcp_gateway_get_address        (PlFakePcpGateway    *self);

/* Scripting. */
/* The epoch is @epoch now and counts on from there with the clock (0: a reset). */
void              pl_fake_pcp_gateway_set_epoch          (PlFakePcpGateway    *self,
                                                          guint32              epoch);
guint32           pl_fake_pcp_gateway_get_epoch          (PlFakePcpGateway    *self);
void              pl_fake_pcp_gateway_set_lifetime_range (PlFakePcpGateway    *self,
                                                          guint32              min_lifetime,
                                                          guint32              max_lifetime);
void              pl_fake_pcp_gateway_set_port_policy    (PlFakePcpGateway    *self,
                                                          PlFakePcpPortPolicy  policy);
/* Another host holds @external_port for @iana_protocol: requests for it get the next one. */
void              pl_fake_pcp_gateway_hold_port          (PlFakePcpGateway    *self,
                                                          guint8               iana_protocol,
                                                          guint16              external_port);
/* Answer every request with @result (0 = behave normally). */
void              pl_fake_pcp_gateway_set_result_code    (PlFakePcpGateway    *self,
                                                          guint8               result);
void              pl_fake_pcp_gateway_set_external_address (PlFakePcpGateway  *self,
                                                            const char        *ipv4);
/* Drop the next @n_requests requests (logged, not answered). */
void              pl_fake_pcp_gateway_set_drop_count     (PlFakePcpGateway    *self,
                                                          guint                n_requests);
void              pl_fake_pcp_gateway_set_silent         (PlFakePcpGateway    *self,
                                                          gboolean             silent);
/* Never answer MAP requests for @internal_port (0 = none). */
void              pl_fake_pcp_gateway_set_silent_port    (PlFakePcpGateway    *self,
                                                          guint16              internal_port);
/* Answer with NAT-PMP's 8-byte "unsupported version" (00 80+op 00 01 epoch). */
void              pl_fake_pcp_gateway_set_natpmp_only    (PlFakePcpGateway    *self,
                                                          gboolean             natpmp_only);
/* Before each genuine MAP response, send one with another nonce (port + 1, epoch + 1000). */
void              pl_fake_pcp_gateway_set_wrong_nonce_first (PlFakePcpGateway *self,
                                                             gboolean          wrong_nonce_first);
/* Send responses from another port of the same address (0 = 5351). */
void              pl_fake_pcp_gateway_set_reply_port     (PlFakePcpGateway    *self,
                                                          guint16              port);

/* Send an unsolicited datagram to the client that sent the last request. */
void              pl_fake_pcp_gateway_send_to_client     (PlFakePcpGateway    *self,
                                                          GBytes              *datagram);
/* Send a 24-byte unsolicited ANNOUNCE (current epoch) to 224.0.0.1:5350. */
void              pl_fake_pcp_gateway_announce           (PlFakePcpGateway    *self);

/* How many mappings it holds now. */
guint             pl_fake_pcp_gateway_get_n_mappings     (PlFakePcpGateway    *self);
/* Forget them all, as a restart that flushes the rules does. */
void              pl_fake_pcp_gateway_clear_mappings     (PlFakePcpGateway    *self);

/* What arrived: PlFakePcpRequest*, oldest first. */
GPtrArray        *pl_fake_pcp_gateway_get_requests       (PlFakePcpGateway    *self);
void              pl_fake_pcp_gateway_clear_requests     (PlFakePcpGateway    *self);

G_END_DECLS
