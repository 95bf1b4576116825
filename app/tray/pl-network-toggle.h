/* pl-network-toggle.h: limiting a profile to the network this computer is on (Network=)
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "pl-profile-store.h"

G_BEGIN_DECLS

#define PL_TYPE_NETWORK_TOGGLE (pl_network_toggle_get_type ())

G_DECLARE_FINAL_TYPE (PlNetworkToggle, pl_network_toggle, PL, NETWORK_TOGGLE, GtkCheckButton)

/**
 * PlNetworkToggle:
 *
 * "Only on this network": a check button for a profile's Network= (pl-network-link.h). A
 * profile that has one is shown checked, its label naming the network ("Only on network
 * ‘home’", or "Only on this network (‘home’)" while this is it), and editing other fields
 * keeps the value byte for byte. Checked by the user, it takes the network this computer is
 * on now (its own [class@Pl.NetworkWatcher]): the value of a profile of @store whose network
 * this is, else a new one named after the Wi-Fi SSID, or "home" without one. Without a
 * known gateway MAC it cannot be checked, and its label says why.
 *
 * Property `network` (string, nullable): the Network= value, NULL when unchecked.
 */

GtkWidget   *pl_network_toggle_new          (PlProfileStore  *store);
/* Returns: (nullable): the Network= value, NULL when unchecked. */
const char  *pl_network_toggle_get_network  (PlNetworkToggle *self);
void         pl_network_toggle_set_network  (PlNetworkToggle *self,
                                             const char      *network);

G_END_DECLS
