/* pl-fake-gateway.h: a scripted NAT-PMP gateway for tests
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-core.h"

G_BEGIN_DECLS

#define PL_TYPE_FAKE_GATEWAY (pl_fake_gateway_get_type ())

G_DECLARE_FINAL_TYPE (PlFakeGateway, pl_fake_gateway, PL, FAKE_GATEWAY, GObject)

/* A NAT-PMP gateway bound to @address:5351 (use 127.0.0.N, one N per test, so tests run in
 * parallel). It answers from sources on the thread-default main context and reads time (for
 * its epoch and the request log) from @clock. By default it behaves like a correct gateway:
 * external address 203.0.113.7, grants the suggested port (internal port when 0) and the
 * requested lifetime, epoch counting from its creation. "Not listening at all" is simply a
 * 127.0.0.N with no fake gateway on it. */

typedef struct
{
  gint64   time;        /* clock time of arrival, microseconds */
  PlNatpmpRequest request;
  GBytes  *bytes;       /* the raw datagram */
} PlFakeRequest;

PlFakeGateway *pl_fake_gateway_new                  (const char     *address,
                                                     PlClock        *clock,
                                                     GError        **error);
const char    *pl_fake_gateway_get_address          (PlFakeGateway  *self);

/* Scripting. */
void           pl_fake_gateway_set_drop_count       (PlFakeGateway  *self,
                                                     guint           n_requests);
void           pl_fake_gateway_set_silent           (PlFakeGateway  *self,
                                                     gboolean        silent);
/* Drop PCP datagrams unanswered (by default they get NAT-PMP's Unsupported Version). */
void           pl_fake_gateway_set_drop_pcp         (PlFakeGateway  *self,
                                                     gboolean        drop);
void           pl_fake_gateway_set_result_code      (PlFakeGateway  *self,
                                                     guint16         result_code);
void           pl_fake_gateway_set_external_address (PlFakeGateway  *self,
                                                     const char     *ipv4);
/* 0 = grant the suggested port (or the internal port when 0 was suggested). */
void           pl_fake_gateway_set_assigned_port    (PlFakeGateway  *self,
                                                     guint16         port);
/* 0 = grant what was asked. */
void           pl_fake_gateway_set_granted_lifetime (PlFakeGateway  *self,
                                                     guint32         lifetime);
/* The epoch is @epoch now and counts on from there with the clock. */
void           pl_fake_gateway_set_epoch            (PlFakeGateway  *self,
                                                     guint32         epoch);
/* The epoch advances @numerator/@denominator seconds per clock second (default 1/1). */
void           pl_fake_gateway_set_epoch_rate       (PlFakeGateway  *self,
                                                     guint           numerator,
                                                     guint           denominator);
/* Send replies from another address/port (NULL, 0 = the gateway's own). */
void           pl_fake_gateway_set_reply_source     (PlFakeGateway  *self,
                                                     const char     *address,
                                                     guint16         port);
/* Before each genuine reply, send these datagrams (each a GBytes) to the client. */
void           pl_fake_gateway_set_garbage          (PlFakeGateway  *self,
                                                     GPtrArray      *datagrams);
/* Delay replies by @ms of clock time. */
void           pl_fake_gateway_set_reply_delay      (PlFakeGateway  *self,
                                                     guint           ms);

/* Send an unsolicited datagram to the client that sent the last request. */
void           pl_fake_gateway_send_to_client       (PlFakeGateway  *self,
                                                     GBytes         *datagram);
/* Send a 12-byte NAT-PMP announcement (current address and epoch) to 224.0.0.1:5350. */
void           pl_fake_gateway_announce             (PlFakeGateway  *self);
/* Send a 24-byte PCP ANNOUNCE to 224.0.0.1:5350. */
void           pl_fake_gateway_announce_pcp         (PlFakeGateway  *self);

/* What arrived: PlFakeRequest*, oldest first. */
GPtrArray     *pl_fake_gateway_get_requests         (PlFakeGateway  *self);
void           pl_fake_gateway_clear_requests       (PlFakeGateway  *self);

/* Its table: mapped and not deleted since (expiry is not modelled); cleared as by a restart
 * that flushes the rules. */
guint          pl_fake_gateway_get_n_mappings       (PlFakeGateway  *self);
void           pl_fake_gateway_clear_mappings       (PlFakeGateway  *self);

/* A VPN-style gateway: a new mapping gets a random port in 1024-65535 that was never given
 * before (whatever was suggested); a mapping it holds keeps its port. */
void           pl_fake_gateway_set_random_ports     (PlFakeGateway  *self,
                                                     gboolean        random_ports);
/* Refuse a suggested port of 0 with "out of resources", as MikroTik RouterOS does. */
void           pl_fake_gateway_set_refuse_zero      (PlFakeGateway  *self,
                                                     gboolean        refuse_zero);
/* A reconnect: every mapping forgotten, the epoch back to 0. */
void           pl_fake_gateway_reconnect            (PlFakeGateway  *self);
/* The port it holds for @protocol and @internal_port, 0 if none. */
guint16        pl_fake_gateway_get_mapped_port      (PlFakeGateway  *self,
                                                     PlProtocol      protocol,
                                                     guint16         internal_port);

G_END_DECLS
