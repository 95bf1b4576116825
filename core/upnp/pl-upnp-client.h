/* pl-upnp-client.h: port mappings over UPnP-IGD (WANIPConnection) with GUPnP 1.6
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
#include "pl-upnp-table.h"

G_BEGIN_DECLS

/* The lease asked for; renewed at half (UPnP-IGD routers expire leases to the second). */
#define PL_UPNP_LEASE_S 3600
/* The check that every mapping is still there runs at a random time in this range. */
#define PL_UPNP_VERIFY_MIN_MS 60000
#define PL_UPNP_VERIFY_MAX_MS 120000

#define PL_TYPE_UPNP_CLIENT (pl_upnp_client_get_type ())

G_DECLARE_FINAL_TYPE (PlUpnpClient, pl_upnp_client, PL, UPNP_CLIENT, GObject)

/**
 * PlUpnpClient:
 *
 * A [iface@Pl.PortMapper] ("UPnP-IGD") over the WANIPConnection or WANPPPConnection service
 * that [class@Pl.UpnpDiscovery] picks on the gateway's network.
 *
 * Requests carry every argument: no remote host, "TCP"/"UDP", this computer's LAN address as
 * the internal client, a stable description (`Portlight: <label> (<host name>)`, see
 * pl_upnp_description_new()) and a lease of %PL_UPNP_LEASE_S. An IGDv2 router gets
 * AddAnyPortMapping (so it can pick another public port when the one asked for is taken);
 * others, or one that answers 401, AddPortMapping, trying the next ports on 718. A router
 * that only takes permanent leases (725) gets lease 0 from then on, and the mappings are
 * still checked and deleted like the others. 724 makes the public port the private one.
 *
 * Deleting treats success and 714 alike ("gone": miniupnpd answers 200 for a mapping it
 * does not hold). DeletePortMappingRange is never used: miniupnpd ignores its NewManage and
 * removes other devices' mappings.
 *
 * Lost state is noticed in four ways, after [method@Pl.PortMapper.listen]: a call that
 * fails in transport (the proxy is dropped and the router searched again); the same router
 * at a new address ([signal@Pl.PortMapper::state-lost] EPOCH); a lost event subscription;
 * and a GetSpecificPortMappingEntry of every mapping every 60–120 s (ANNOUNCED when one is
 * missing or points elsewhere). A changed ExternalIPAddress event is reported with
 * [signal@Pl.PortMapper::external-address-announced].
 *
 * Signals:
 * - `table-changed`: the router's table changed (an evented PortMappingNumberOfEntries).
 */

PlUpnpClient    *pl_upnp_client_new                  (GInetAddress        *gateway,
                                                      const char          *iface,
                                                      PlClock             *clock);
PlUpnpDiscovery *pl_upnp_client_get_discovery        (PlUpnpClient        *self);
/* This computer's LAN address as the router sees it, or NULL before discovery. */
const char      *pl_upnp_client_get_host_ip          (PlUpnpClient        *self);
/* The host name in descriptions (default: g_get_host_name ()). */
void             pl_upnp_client_set_hostname         (PlUpnpClient        *self,
                                                      const char          *hostname);
gboolean         pl_upnp_client_get_permanent_only   (PlUpnpClient        *self);

/* Deletes the mapping of @protocol / @external_port, whoever made it (the router decides:
 * it refuses another device's with 606). PL_ERROR_NOT_FOUND when there is none. */
void             pl_upnp_client_delete_external_async (PlUpnpClient       *self,
                                                       PlProtocol          protocol,
                                                       guint16             external_port,
                                                       GCancellable       *cancellable,
                                                       GAsyncReadyCallback callback,
                                                       gpointer            user_data);
gboolean         pl_upnp_client_delete_external_finish (PlUpnpClient      *self,
                                                        GAsyncResult      *result,
                                                        GError           **error);

G_END_DECLS
