/* pl-upnp-discovery.h: finds the gateway's UPnP Internet Gateway Device
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <libgupnp/gupnp.h>

#include "pl-clock.h"

G_BEGIN_DECLS

/* Our own verdict of "no UPnP router here": GSSDP sends its three M-SEARCH at 0, 0.5 and
 * 1 s and never says it is done; with MX 2 every answer is in by 3 s. */
#define PL_UPNP_DISCOVERY_VERDICT_MS 4000
/* Each SOAP call gives up after this long (libsoup's default is 60 s). */
#define PL_UPNP_SOAP_TIMEOUT_S 5
/* The service of IPv6 pinholes (IGD:2). */
#define PL_UPNP_FIREWALL_SERVICE "urn:schemas-upnp-org:service:WANIPv6FirewallControl:1"

#define PL_TYPE_UPNP_DISCOVERY (pl_upnp_discovery_get_type ())

G_DECLARE_FINAL_TYPE (PlUpnpDiscovery, pl_upnp_discovery, PL, UPNP_DISCOVERY, GObject)

/**
 * PlUpnpDiscovery:
 *
 * Watches for the WANIPConnection (:1 and :2) and WANPPPConnection:1 services on the
 * network of one gateway and picks the one to use:
 *
 * - only on the interface whose network holds the gateway (or the one named), never `lo`
 *   unless the gateway is a loopback address;
 * - the IGD whose description is served from the gateway's own address; failing that, after
 *   2 s without it, one on the gateway's subnet (router pairs that answer from their own
 *   address); any other IGD on the LAN (a repeater, a second router) is ignored;
 * - for one router, WANIPConnection:2 before :1, before WANPPPConnection:1;
 * - it also notes which routers offer WANIPv6FirewallControl:1
 *   (pl_upnp_discovery_get_has_firewall()); pl_upnp_discovery_new_firewall() searches for
 *   that service itself, for IPv6 pinholes.
 *
 * Two GUPnP 1.6.3 behaviours are worked around here. A context the context manager brings
 * back after a link flap comes inactive and would never search again: it is activated. And a
 * proxy found through the `:1` control point for an IGDv2 router is never withdrawn (GUPnP
 * matches byebyes by the exact service type), so a proxy is replaced whenever the same
 * device (UDN) shows up at a new location, and dropped by the caller after a transport
 * error ([method@Pl.UpnpDiscovery.drop]).
 *
 * The control points stay active for the object's life: a router that comes up later is
 * picked up from its first NOTIFY.
 *
 * Signals:
 * - `proxy-changed (GUPnPServiceProxy *proxy, gboolean restarted)`: the service to use
 *   changed; @proxy is %NULL when none is left. @restarted is %TRUE when the same router
 *   came back at a new address (its port-mapping table is then gone).
 */

PlUpnpDiscovery   *pl_upnp_discovery_new          (GInetAddress        *gateway,
                                                   const char          *iface,
                                                   PlClock             *clock);
PlUpnpDiscovery   *pl_upnp_discovery_new_firewall (GInetAddress        *router,
                                                   const char          *iface,
                                                   GInetAddress        *host,
                                                   PlUpnpDiscovery     *sibling,
                                                   PlClock             *clock);
GInetAddress      *pl_upnp_discovery_get_gateway  (PlUpnpDiscovery     *self);
/* The UDN ("uuid:…") of the device that holds the chosen service (GUPnP's service UDN: the
 * WANConnectionDevice, which also holds WANIPv6FirewallControl), or NULL. */
const char        *pl_upnp_discovery_get_udn      (PlUpnpDiscovery     *self);
/* Whether the chosen router also offers WANIPv6FirewallControl:1 (IPv6 pinholes), as far
 * as the search has heard (pl_upnp_discovery_new() only). */
gboolean           pl_upnp_discovery_get_has_firewall (PlUpnpDiscovery *self);
/* The same, or not known yet: no router chosen yet, or chosen less than
 * PL_UPNP_FIREWALL_WAIT_MS ago (its firewall service may still be on its way). */
#define PL_UPNP_FIREWALL_WAIT_MS 2000
gboolean           pl_upnp_discovery_may_have_firewall (PlUpnpDiscovery *self);

/* The chosen service, or NULL (transfer none). */
GUPnPServiceProxy *pl_upnp_discovery_get_proxy    (PlUpnpDiscovery     *self);
/* Whether the chosen router offers WANIPConnection:2 (AddAnyPortMapping). */
gboolean           pl_upnp_discovery_get_igd_v2   (PlUpnpDiscovery     *self);
/* This computer's address on the gateway's network, as text, or NULL before a context. */
const char        *pl_upnp_discovery_get_host_ip  (PlUpnpDiscovery     *self);
/* The interface searched on, or NULL before a context. */
const char        *pl_upnp_discovery_get_interface (PlUpnpDiscovery    *self);

/* Forget @proxy (a call on it failed in transport: the router restarted or died) and search
 * again. */
void               pl_upnp_discovery_drop         (PlUpnpDiscovery     *self,
                                                   GUPnPServiceProxy   *proxy);

/* Waits until a service is chosen, at most @timeout_ms (0: PL_UPNP_DISCOVERY_VERDICT_MS);
 * then PL_ERROR_REFUSED "No UPnP router…". Returns at once when one is known. The search
 * goes on after the verdict. */
void               pl_upnp_discovery_wait_async   (PlUpnpDiscovery     *self,
                                                   guint                timeout_ms,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
GUPnPServiceProxy *pl_upnp_discovery_wait_finish  (PlUpnpDiscovery     *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);

G_END_DECLS
