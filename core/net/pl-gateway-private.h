/* pl-gateway-private.h
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "pl-gateway.h"

G_BEGIN_DECLS

/* Internals of pl-gateway.c, exposed for tests/test-gateway.c only. */

/* The best default route seen so far while reading a netlink dump. */
typedef struct
{
  gboolean found;
  guint8   gateway[4];        /* IPv4, network byte order (a.b.c.d) */
  guint32  ifindex;           /* 0 when unknown */
  guint32  metric;            /* RTA_PRIORITY; 0 when absent */
} PlGatewayCandidate;

typedef enum
{
  PL_GATEWAY_NETLINK_MORE,    /* all messages consumed; more parts are to come */
  PL_GATEWAY_NETLINK_DONE,    /* NLMSG_DONE (or a single-part reply) seen: the dump is complete */
  PL_GATEWAY_NETLINK_FAILED,  /* NLMSG_ERROR, overrun or a malformed buffer; @error is set */
} PlGatewayNetlinkStatus;

/* Pure parser of one buffer received from an rtnetlink RTM_GETROUTE dump. @buf must be aligned
 * to 4 bytes and hold @len bytes. Messages whose nlmsg_seq or nlmsg_pid differ from @seq and
 * @port_id are ignored. Default IPv4 routes of the main table that have a gateway update @best
 * when their metric is strictly lower (the first one wins on ties). */
PlGatewayNetlinkStatus _pl_gateway_parse_netlink (const guint8        *buf,
                                                  gsize                len,
                                                  guint32              seq,
                                                  guint32              port_id,
                                                  PlGatewayCandidate  *best,
                                                  GError             **error);

G_END_DECLS
