/* pl-upnp-pinhole.h: IPv6 pinholes over UPnP-IGD (WANIPv6FirewallControl:1) with GUPnP 1.6
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-clock.h"
#include "pl-types.h"
#include "pl-upnp-discovery.h"

G_BEGIN_DECLS

/* The longest lease WANIPv6FirewallControl:1 allows (section 2.5.4; miniupnpd answers 402
 * for more, or for 0). */
#define PL_UPNP_PINHOLE_LEASE_MAX_S 86400

#define PL_TYPE_UPNP_PINHOLE_CLIENT (pl_upnp_pinhole_client_get_type ())

G_DECLARE_FINAL_TYPE (PlUpnpPinholeClient, pl_upnp_pinhole_client, PL, UPNP_PINHOLE_CLIENT,
                      GObject)

/**
 * PlUpnpPinholeClient:
 *
 * A [iface@Pl.PortMapper] ("UPnP-IGD") for IPv6 pinholes through the router's
 * WANIPv6FirewallControl:1 service, found by a [class@Pl.UpnpDiscovery] of its own on an
 * IPv6 context (miniupnpd refuses pinholes asked for over IPv4: the caller must be the
 * address the pinhole is for).
 *
 * The probe asks GetFirewallStatus: a router whose firewall is off, or that does not allow
 * inbound pinholes, is refused with why. A mapping is AddPinhole with no remote host, remote
 * port 0, this computer's stable address as InternalClient, the private port, protocol 6 or
 * 17 and a lease of 1–86400 s; its UniqueID is kept, and a renewal is UpdatePinhole of it.
 * An ID the router no longer knows (402, or 704 as the standard has it) is added again.
 * Deleting is DeletePinhole; an unknown ID counts as gone. A pinhole another process opened
 * (a one-shot `map`) has no ID here: AddPinhole of the same pinhole returns its ID (the
 * standard makes the router extend and return the existing one), with a lease of 1 s, and
 * that ID is deleted.
 *
 * The IDs are forgotten when the router restarts (the same router at a new address): they
 * are counted from 1 again there.
 *
 * An engine's journal ([method@Pl.PortMapper.set_journal]) holds its pinholes: the router
 * lists none, and a restarted engine deletes those nobody asks for again (pl-upnp-journal.c).
 */

PlUpnpPinholeClient *pl_upnp_pinhole_client_new          (GInetAddress        *router,
                                                          const char          *iface,
                                                          GInetAddress        *local,
                                                          PlUpnpDiscovery     *sibling,
                                                          PlClock             *clock);
PlUpnpDiscovery     *pl_upnp_pinhole_client_get_discovery (PlUpnpPinholeClient *self);
/* How long the probe waits for the service (0: PL_UPNP_DISCOVERY_VERDICT_MS). */
void                 pl_upnp_pinhole_client_set_timeout   (PlUpnpPinholeClient *self,
                                                           guint                timeout_ms);
/* The address the pinholes are for, and the router's interface (nullable). */
GInetAddress        *pl_upnp_pinhole_client_get_local     (PlUpnpPinholeClient *self);
const char          *pl_upnp_pinhole_client_get_interface (PlUpnpPinholeClient *self);
/* The UniqueID (0–65535) the router gave the pinhole of (@protocol, @port), or -1. */
gint                 pl_upnp_pinhole_client_get_unique_id (PlUpnpPinholeClient *self,
                                                           PlProtocol           protocol,
                                                           guint16              port);

G_END_DECLS
