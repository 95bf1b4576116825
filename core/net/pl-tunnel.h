/* pl-tunnel.h: the gateway to ask behind a VPN tunnel
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-gateway.h"

G_BEGIN_DECLS

/* A WireGuard or tun default route has no gateway ("default dev wg0"): there is no router
 * address in the routing table to send NAT-PMP or PCP to. The rule, in this order:
 *
 * 1. The Internet route: an IPv4 unicast route without a gateway to 0.0.0.0/0, or to
 *    0.0.0.0/1 or 128.0.0.0/1 (the pair OpenVPN and others install), in any routing table
 *    (wg-quick puts its default route in a table of its own, chosen by a policy rule), out of
 *    a tunnel-like link: point-to-point (IFF_POINTOPOINT), without ARP (IFF_NOARP) or without
 *    a link-layer header (ARPHRD_NONE: WireGuard, tun). The lowest metric wins, the first on
 *    ties.
 * 2. The gateway on that link, from its IPv4 address: the peer address when the address has
 *    one (IFA_ADDRESS differs from IFA_LOCAL, "10.8.0.2 peer 10.8.0.1"); else, for a prefix
 *    of 30 bits or shorter, the first host of the network (the second when the first is our
 *    own address); for /31 the other address; else (a /32 like ProtonVPN's 10.2.0.2/32) the
 *    well-known 10.2.0.1, where ProtonVPN answers NAT-PMP.
 */

/**
 * PlTunnelRule:
 * @PL_TUNNEL_RULE_PEER: the address's peer (IFA_ADDRESS)
 * @PL_TUNNEL_RULE_FIRST_HOST: the first host of the tunnel's network
 * @PL_TUNNEL_RULE_FALLBACK: a /32 address: the well-known gateway 10.2.0.1
 *
 * How the gateway of a tunnel was derived.
 */
typedef enum
{
  PL_TUNNEL_RULE_PEER,
  PL_TUNNEL_RULE_FIRST_HOST,
  PL_TUNNEL_RULE_FALLBACK,
} PlTunnelRule;

/* The gateway asked on a /32 tunnel address (ProtonVPN's NAT-PMP gateway). */
#define PL_TUNNEL_FALLBACK_GATEWAY "10.2.0.1"

/* "peer address", "first host of the network", "well-known VPN gateway". Not translated. */
const char *pl_tunnel_rule_to_string (PlTunnelRule rule);

/* Pure: the gateway to ask on a tunnel whose IPv4 address is @local with @address
 * (IFA_ADDRESS: the peer on point-to-point links, else equal to @local) and @prefix_len.
 * Bytes in network order. */
PlTunnelRule pl_tunnel_derive_gateway (const guint8 local[4],
                                       const guint8 address[4],
                                       guint        prefix_len,
                                       guint8       gateway[4]);

/* Pure: whether a link of ARPHRD @type with IFF_* @flags is tunnel-like. */
gboolean     pl_tunnel_link_is_tunnel (guint16      type,
                                       guint        flags);

/* Pure: whether a route to @dst_len bits of @dst (network order) is an Internet route
 * (0.0.0.0/0, 0.0.0.0/1, 128.0.0.0/1). */
gboolean     pl_tunnel_route_is_internet (const guint8 dst[4],
                                          guint        dst_len);

typedef struct
{
  GInetAddress *gateway;     /* the address to ask (NAT-PMP, PCP) */
  char         *interface;   /* e.g. "wg0" */
  guint         ifindex;
  guint32       metric;      /* of the Internet route */
  guint32       table;       /* its routing table */
  gboolean      def1;        /* 0.0.0.0/1 + 128.0.0.0/1 rather than a default route */
  PlTunnelRule  rule;
} PlTunnel;

void      pl_tunnel_free     (PlTunnel  *tunnel);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlTunnel, pl_tunnel_free)

/* Asks the kernel over rtnetlink (route, link and address dumps). PL_ERROR_NO_GATEWAY
 * "No VPN tunnel is up" when no Internet route leaves through a tunnel-like link; the
 * netlink error otherwise. */
PlTunnel *pl_tunnel_discover (GError   **error);

/* The gateway "whatever the default route is": a tunnel found by pl_tunnel_discover() when
 * it carries the Internet traffic (a route in another table than main, which only a policy
 * rule selects; a 0/1 + 128/1 pair, more specific than any default; or a default route of
 * main with a metric lower than that of the default route with a gateway), else
 * pl_gateway_discover(). */
PlGateway *pl_tunnel_discover_default (GError **error);

/* A PlGateway for @tunnel's gateway and interface. */
PlGateway *pl_tunnel_to_gateway (PlTunnel *tunnel);

G_END_DECLS
