/* pl-neighbour.h: the gateway's link-layer address, from the kernel's neighbour table
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

#include "pl-netlink.h"

G_BEGIN_DECLS

/* Internal, not installed: for PlNetworkWatcher and tests/net/test-neighbour.c. */

/* One entry of the neighbour table (RTM_NEWNEIGH): an IPv4 address on an interface and, when
 * the kernel has resolved it, its 6-byte MAC address. */
typedef struct
{
  guint8   family;       /* AF_INET, AF_INET6, ... */
  guint32  ifindex;
  guint16  state;        /* NUD_* */
  gboolean has_address;  /* NDA_DST was an IPv4 address */
  guint8   address[4];
  gboolean has_mac;      /* NDA_LLADDR was 6 bytes and the entry is usable (not NUD_FAILED,
                          * NUD_INCOMPLETE or NUD_NONE) */
  guint8   mac[6];
} PlNeighbour;

/* Pure: reads one RTM_NEWNEIGH or RTM_DELNEIGH message. FALSE with G_IO_ERROR_INVALID_DATA
 * when it is malformed (too short, an attribute running past its end); other message types
 * give FALSE with no error. */
gboolean         _pl_neighbour_parse_message (const struct nlmsghdr  *nlh,
                                              PlNeighbour            *out,
                                              GError                **error);

/* What a dump says about one address. */
typedef struct
{
  guint32  ifindex;      /* in: 0 for any interface */
  guint8   address[4];   /* in */
  gboolean found;        /* out: an entry with a usable MAC */
  guint8   mac[6];       /* out */
} PlNeighbourQuery;

/* Pure parser of one buffer of an RTM_GETNEIGH dump (see _pl_netlink_parse()), filling
 * @query from the entry of its address. */
PlNetlinkStatus  _pl_neighbour_parse_dump    (const guint8           *buf,
                                              gsize                   len,
                                              guint32                 seq,
                                              guint32                 port_id,
                                              PlNeighbourQuery       *query,
                                              GError                **error);

/* Asks the kernel (RTM_GETNEIGH dump of AF_INET) for @query's address. FALSE with @error
 * only when the kernel could not be asked; an address without an entry is found = FALSE. */
gboolean         pl_neighbour_lookup         (PlNeighbourQuery       *query,
                                              GError                **error);

G_END_DECLS
