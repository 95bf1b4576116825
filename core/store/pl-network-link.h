/* pl-network-link.h: the Network= key of a profile, the one network a profile is mapped on
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A Network= value names the network and says how to know it again, in one key so that the
 * profile carries all of it (a profile copied to another file keeps its condition):
 *
 *   Network=home; gateway=02:11:22:33:44:55
 *   Network=home; gateway=02:11:22:33:44:55; ssid=Our Wi-Fi; 5 GHz
 *
 * The name comes first (no ";", no control characters, no spaces at either end). The
 * gateway is the MAC address of the default gateway, as the kernel's neighbour table has it.
 * The SSID, optional, is last and runs to the end of the value, so it may hold anything but a
 * line break. A profile with Network= is mapped only while the gateway's MAC is that one and,
 * where the Wi-Fi's SSID is known now, the SSID is that one too. */

#define PL_NETWORK_LINK_MAX_NAME 64
#define PL_NETWORK_MAC_LEN       6
/* IEEE 802.11: an SSID is 0-32 bytes. */
#define PL_NETWORK_MAX_SSID      32

typedef struct
{
  char   *name;
  guint8  gateway[PL_NETWORK_MAC_LEN];
  char   *ssid;       /* nullable: not part of the identity */
} PlNetworkLink;

void           pl_network_link_free     (PlNetworkLink  *link);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlNetworkLink, pl_network_link_free)

/* The network as seen now (PlNetworkWatcher). */
typedef struct
{
  gboolean    has_gateway;                  /* the gateway's MAC is known */
  guint8      gateway[PL_NETWORK_MAC_LEN];
  const char *ssid;                         /* nullable: no Wi-Fi, or NetworkManager absent */
} PlNetworkIdentity;

/* Parses a Network= value. On failure PL_ERROR_INVALID_ARGUMENT naming @profile, in the
 * words of the profiles file loader, e.g. "Profile “SSH”: Network “home” does not say how
 * to know the network: write NAME; gateway=MAC". Pure. */
PlNetworkLink *pl_network_link_parse    (const char     *profile,
                                         const char     *text,
                                         GError        **error);
/* Returns: (transfer full): the value for @name, @gateway and @ssid (nullable). */
char          *pl_network_link_format   (const char     *name,
                                         const guint8   *gateway,
                                         const char     *ssid);
/* Returns: (transfer full): just the name of a Network= value, or NULL if it has none. */
char          *pl_network_link_dup_name (const char     *text);

/* Whether @name may name a network. PL_ERROR_INVALID_ARGUMENT otherwise. */
gboolean       pl_network_name_validate (const char     *name,
                                         GError        **error);

/* "02:11:22:33:44:55" (case-insensitive, ":" or "-") into @mac. */
gboolean       pl_network_mac_parse     (const char     *text,
                                         guint8         *mac);

/* Whether @current is @link's network: same gateway MAC, and the same SSID when both sides
 * know one. An unknown gateway is no match. Pure. */
gboolean       pl_network_link_matches  (const PlNetworkLink     *link,
                                         const PlNetworkIdentity *current);

G_END_DECLS
