/* pl-ipv6-route-private.h
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "pl-ipv6-route.h"
#include "pl-netlink.h"

G_BEGIN_DECLS

/* Internals of pl-ipv6-route.c, exposed for tests/net/test-ipv6-route.c only. Each parser
 * reads one buffer received from an rtnetlink dump (aligned to 4 bytes, @len bytes), ignores
 * messages whose nlmsg_seq or nlmsg_pid differ from @seq and @port_id, and updates its state
 * across the parts of a dump. Entries with malformed attributes are skipped; a message too
 * short for its family header, a truncated buffer or NLMSG_ERROR fail with G_IO_ERROR. */

/* The best IPv6 default route seen so far. */
typedef struct
{
  gboolean found;
  guint8   gateway[16];
  guint32  ifindex;           /* 0 when unknown */
  guint32  metric;            /* RTA_PRIORITY; 0 when absent */
} PlIpv6RouterCandidate;

/* Default IPv6 unicast routes of the main table with a gateway update @best when their
 * metric is strictly lower (the first one wins on ties). */
PlNetlinkStatus _pl_ipv6_router_parse_netlink  (const guint8            *buf,
                                                gsize                    len,
                                                guint32                  seq,
                                                guint32                  port_id,
                                                PlIpv6RouterCandidate   *best,
                                                GError                 **error);

typedef enum
{
  PL_IPV6_ADDRESS_CLASS_NONE,
  PL_IPV6_ADDRESS_CLASS_ULA,       /* fc00::/7 */
  PL_IPV6_ADDRESS_CLASS_GLOBAL,    /* 2000::/3 */
} PlIpv6AddressClass;

/* The best stable address seen so far on one interface. */
typedef struct
{
  guint32            ifindex;             /* in: the interface asked about */
  gboolean           found;
  guint8             address[16];
  PlIpv6AddressClass klass;
  guint32            flags;               /* IFA_FLAGS, else ifa_flags */
  guint32            valid_lifetime;      /* seconds; G_MAXUINT32: forever or not given */
  guint32            preferred_lifetime;
} PlIpv6AddressCandidate;

/* AF_INET6 addresses of @best->ifindex of universe scope, in 2000::/3 or fc00::/7, not
 * temporary, deprecated, tentative or DAD-failed, with a preferred lifetime other than 0,
 * replace @best when they rank higher (see pl_ipv6_stable_address()). */
PlNetlinkStatus _pl_ipv6_address_parse_netlink (const guint8            *buf,
                                                gsize                    len,
                                                guint32                  seq,
                                                guint32                  port_id,
                                                PlIpv6AddressCandidate  *best,
                                                GError                 **error);

/* A neighbour-table question and its answer so far. */
typedef struct
{
  guint8   family;            /* in: AF_INET or AF_INET6 */
  guint8   address[16];       /* in: 4 or 16 bytes, after the family */
  guint32  ifindex;           /* in: 0 for any interface */
  gboolean found;
  guint8   mac[6];
  guint32  found_ifindex;
  guint16  state;             /* NUD_* of the entry found */
} PlNeighbourQuery;

/* Fills the question part of @query. */
void            _pl_neighbour_query_init       (PlNeighbourQuery        *query,
                                                GInetAddress            *address,
                                                guint                    ifindex);

/* Entries for the address asked about (and the interface, unless 0) with a 6-byte NDA_LLADDR
 * and a state other than NUD_NONE, NUD_INCOMPLETE and NUD_FAILED answer @query; the first
 * reachable, permanent or NOARP one wins over stale, delayed or probing ones. */
/* The same for one message (an rtnetlink event): an RTM_NEWNEIGH of the address asked about
 * answers @query; other messages are passed over. FALSE with @error when it is too short. */
gboolean        _pl_neighbour_parse_message    (const struct nlmsghdr   *nlh,
                                                PlNeighbourQuery        *query,
                                                GError                 **error);
PlNetlinkStatus _pl_neighbour_parse_netlink    (const guint8            *buf,
                                                gsize                    len,
                                                guint32                  seq,
                                                guint32                  port_id,
                                                PlNeighbourQuery        *query,
                                                GError                 **error);

G_END_DECLS
