/* pl-wifi-ssid.h: the SSID of the Wi-Fi network in use, from NetworkManager
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PL_TYPE_WIFI_SSID (pl_wifi_ssid_get_type ())

G_DECLARE_FINAL_TYPE (PlWifiSsid, pl_wifi_ssid, PL, WIFI_SSID, GObject)

/**
 * PlWifiSsid:
 *
 * The SSID of NetworkManager's primary connection when that is a Wi-Fi connection: the
 * `Ssid` of its active access point (org.freedesktop.NetworkManager on the system bus:
 * `PrimaryConnection` → `SpecificObject` → `Ssid`). Without NetworkManager, on a wired
 * primary connection, or for an SSID that is not UTF-8, it is unknown (NULL). Nothing is
 * polled: it follows NetworkManager's PropertiesChanged signals of the manager and of active
 * connections, and the name's owner.
 *
 * Signals: `changed`: the SSID (or whether it is known) changed.
 *
 * Threading: the thread-default main context it was created on.
 */

/* @system_bus: (nullable): where NetworkManager is; NULL: unknown SSID for good. */
PlWifiSsid  *pl_wifi_ssid_new       (GDBusConnection *system_bus);
/* Returns: (nullable): the SSID now. */
const char  *pl_wifi_ssid_get_ssid  (PlWifiSsid      *self);
/* TRUE once NetworkManager has answered, or is known to be absent. */
gboolean     pl_wifi_ssid_is_settled (PlWifiSsid     *self);

G_END_DECLS
