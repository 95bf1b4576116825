/* pl-network-watcher.h: which network this computer is on: its gateway's MAC and the Wi-Fi SSID
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-network-link.h"

G_BEGIN_DECLS

#define PL_TYPE_NETWORK_WATCHER (pl_network_watcher_get_type ())

G_DECLARE_FINAL_TYPE (PlNetworkWatcher, pl_network_watcher, PL, NETWORK_WATCHER, GObject)

/**
 * PlNetworkWatcher:
 *
 * The identity of the network this computer is on now, for profiles with Network=
 * (pl-network-link.h): the MAC address of the default IPv4 gateway, from the kernel's
 * neighbour table (rtnetlink RTM_GETNEIGH), and the Wi-Fi SSID from NetworkManager
 * ([class@Pl.WifiSsid]) where it runs. Nothing is polled: it listens to rtnetlink's route,
 * address and neighbour groups and reads again when the default route, an address or the
 * gateway's neighbour entry changes. When the gateway has no resolved entry yet, it sends
 * the gateway one empty UDP datagram (to the discard port, 9) so that the kernel resolves
 * it, and hears the answer as a neighbour event.
 *
 * Signals: `changed`: the identity (gateway MAC, or SSID) changed.
 *
 * Threading: the thread-default main context it was created on.
 */

/* @system_bus: (nullable): where NetworkManager is; NULL: the SSID stays unknown. */
PlNetworkWatcher *pl_network_watcher_new            (GDBusConnection        *system_bus);
/* The watcher of an engine: NetworkManager on the system bus, if there is one. */
PlNetworkWatcher *pl_network_watcher_new_for_engine (void);
/* A watcher that watches nothing: its identity is what pl_network_watcher_set_identity()
 * says (tests; and the engine's model when it is given no watcher): no gateway at first. */
PlNetworkWatcher *pl_network_watcher_new_fixed      (void);
void              pl_network_watcher_set_identity   (PlNetworkWatcher        *self,
                                                     const PlNetworkIdentity *identity);

/* The identity now; @identity->ssid points into the watcher (valid until ::changed). */
void              pl_network_watcher_get_identity   (PlNetworkWatcher        *self,
                                                     PlNetworkIdentity       *identity);
/* Returns: (transfer full) (nullable): the gateway's IPv4 address now, as text. */
char             *pl_network_watcher_dup_gateway    (PlNetworkWatcher        *self);

/* Reads the network once now, without waiting for events (portlightctl). */
void              pl_network_watcher_refresh        (PlNetworkWatcher        *self);
/* TRUE once the SSID is known or known to be unknown (NetworkManager answered, or is not
 * there). */
gboolean          pl_network_watcher_is_settled     (PlNetworkWatcher        *self);

G_END_DECLS
