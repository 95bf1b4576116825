/* pl-netlink-filter.h: the kernel-side filter of the network watcher's rtnetlink events
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The events that can change which network this is, chosen before they wake anyone
 * (a classic BPF socket filter, SO_ATTACH_FILTER):
 *
 * - IPv4 only (the family byte after the netlink header, in rtmsg, ifaddrmsg and ndmsg
 *   alike): IPv6 neighbour discovery is busy and says nothing about the gateway's MAC;
 * - every IPv4 route and address event;
 * - neighbour events (RTM_NEWNEIGH, RTM_DELNEIGH) of the gateway only, when @gateway is
 *   known: other hosts' entries go REACHABLE, STALE and away all day on a busy LAN. The
 *   kernel puts NDA_DST first after the ndmsg (neigh_fill_info()); a message laid out
 *   otherwise is let through and looked at in user space. With no @gateway, no neighbour
 *   event (there is no entry to follow until a route names one).
 *
 * @gateway: (nullable) (array fixed-size=4): the gateway's IPv4 address, network order.
 * Replaces the filter already on @fd. FALSE with errno's message when the kernel refuses;
 * then @fd has no filter at all (every event is read). */
gboolean pl_netlink_filter_attach (int           fd,
                                   const guint8 *gateway,
                                   GError      **error);

G_END_DECLS
