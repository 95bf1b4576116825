/* pl-ipv6-route.h
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What PCP over IPv6 needs to know about this host, asked of the kernel over rtnetlink (no
 * shell-outs): the IPv6 default router, the address to bind PCP to on its interface, and the
 * link-layer (MAC) address of a neighbour such as the gateway, to tell one router from another
 * that has the same address. Linux only. Each call is one blocking rtnetlink dump (a few
 * milliseconds); when the kernel cannot be asked the error is G_IO_ERROR, with a prefix
 * saying what was being read. */

typedef struct
{
  GInetAddress *address;     /* the router, normally link-local (fe80::…) */
  guint         ifindex;     /* the outgoing interface (RTA_OIF); 0 when unknown */
  char         *interface;   /* its name, e.g. "eth0"; NULL when unknown */
  guint32       metric;      /* RTA_PRIORITY; 0 when absent */
} PlIpv6Router;

void           pl_ipv6_router_free      (PlIpv6Router  *router);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlIpv6Router, pl_ipv6_router_free)

/* The IPv6 default route of the main table with a gateway (rtm_dst_len 0, RTA_GATEWAY, or
 * the first live next hop of RTA_MULTIPATH) and the lowest metric; the first one on ties.
 * PL_ERROR_NO_GATEWAY when there is none. */
PlIpv6Router  *pl_ipv6_router_discover  (GError       **error);

/* The address to bind PCP to on interface @ifindex (not 0): a global-scope IPv6 address that is
 * neither temporary (privacy), deprecated, tentative nor failed DAD, with a preferred
 * lifetime left. A global unicast address (2000::/3) beats a unique local one (fc00::/7);
 * then a permanent (manually set) one; then the longest valid lifetime; then the lowest
 * address. PL_ERROR_NO_GATEWAY naming the interface when there is none. */
GInetAddress  *pl_ipv6_stable_address   (guint          ifindex,
                                         GError       **error);

/* The MAC address of @address (IPv4 or IPv6) in the kernel's neighbour table, on interface
 * @ifindex or on any when 0. Entries that failed, are still incomplete or have no 6-byte
 * link-layer address do not count; a reachable or permanent entry beats a stale one.
 * PL_ERROR_NO_GATEWAY when none is known. */
gboolean       pl_neighbour_lookup      (GInetAddress  *address,
                                         guint          ifindex,
                                         guint8         mac[6],
                                         GError       **error);

/* "aa:bb:cc:dd:ee:ff", lower case. */
char          *pl_neighbour_format_mac  (const guint8   mac[6]);

/* The MAC a modified EUI-64 interface identifier carries (RFC 4291 appendix A:
 * xx:xx:xx:ff:fe:xx:xx:xx with the universal/local bit flipped); FALSE when @address's
 * identifier is not of that form. Pure. */
gboolean       pl_ipv6_mac_from_eui64   (GInetAddress  *address,
                                         guint8         mac[6]);

/* Whether @other is another address of the host that has @known on the link: both IPv6
 * link-local, with the same MAC (@known's from the neighbour table, @other's from the table
 * or from its EUI-64 identifier). A router sends from any of its link-local addresses. */
gboolean       pl_ipv6_same_link_host   (GInetAddress  *known,
                                         GInetAddress  *other);

G_END_DECLS
