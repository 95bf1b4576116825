/* pl-gateway.h
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Default-gateway discovery on Linux without shelling out (PMP-04, RFC 6886 section 3).
 *
 * pl_gateway_discover() asks the kernel over rtnetlink (RTM_GETROUTE dump of the main table,
 * multi-part replies handled, only default routes: rtm_dst_len == 0, IPv4 with a gateway) and
 * picks the lowest metric; if netlink is unavailable it falls back to /proc/net/route.
 * On failure: PL_ERROR_NO_GATEWAY with a message saying what was looked at. */

typedef struct
{
  GInetAddress *address;     /* the gateway, IPv4 */
  char         *interface;   /* e.g. "eth0"; may be NULL when unknown */
  guint32       metric;
} PlGateway;

void       pl_gateway_free             (PlGateway   *gateway);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlGateway, pl_gateway_free)

PlGateway *pl_gateway_discover         (GError     **error);

/* Pure parser of /proc/net/route's text (tested with data files): the default route
 * (Destination 00000000, Mask 00000000, flags RTF_UP|RTF_GATEWAY) with the lowest metric. */
PlGateway *pl_gateway_parse_proc_route (const char  *contents,
                                        GError     **error);

/* Parse a user-given gateway: a dotted IPv4 address. PL_ERROR_INVALID_ARGUMENT otherwise,
 * with a message saying why (e.g. "“router.lan” is not an IPv4 address"). */
GInetAddress *pl_gateway_parse_address (const char  *text,
                                        GError     **error);

G_END_DECLS
