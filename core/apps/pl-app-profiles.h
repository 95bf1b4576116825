/* pl-app-profiles.h: the profiles as the engine maps them, app-linked ones only while their
 * application runs
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-app-watcher.h"
#include "pl-network-watcher.h"

G_BEGIN_DECLS

#define PL_TYPE_APP_PROFILES (pl_app_profiles_get_type ())

G_DECLARE_FINAL_TYPE (PlAppProfiles, pl_app_profiles, PL, APP_PROFILES, GObject)

/**
 * PlAppProfiles:
 *
 * A GListModel of PlProfile over another one (the user's profiles, or the broker's model of
 * profiles and leases), for [class@Pl.Session]: each profile without App= is the very same
 * object; each profile with App= is shown as a copy that follows the original and is enabled
 * only while the original is enabled and its application runs (a [class@Pl.AppWatcher]).
 * The session, which maps the enabled profiles of its model, needs no change: it maps the
 * profile when the application starts and deletes the mapping when it exits, as for any
 * profile switched on and off. The original (the store's) is never changed, so nothing of
 * this reaches the profiles file.
 *
 * Profiles with Network= (pl-network-link.h) are shown the same way, enabled only while a
 * [class@Pl.NetworkWatcher] says this is their network.
 *
 * Signals: `app-changed` (const char *profile_name): an app-linked profile's application
 * started or exited, or what stands in the way of seeing it changed, or a network-linked
 * profile's network came or went; see
 * pl_app_profiles_dup_reason().
 *
 * Threading: the thread-default main context it was created on.
 */

/* @watcher: (nullable): NULL: a watcher without systemd (only running processes). */
PlAppProfiles *pl_app_profiles_new             (GListModel    *profiles,
                                                PlAppWatcher  *watcher);
/* The same with the network watcher that profiles with Network= are matched against (tests
 * give a fixed one; pl_app_profiles_new() makes a fixed one, with no gateway, when needed). */
PlAppProfiles *pl_app_profiles_new_full        (GListModel       *profiles,
                                                PlAppWatcher     *watcher,
                                                PlNetworkWatcher *network_watcher);
/* The model for an engine (its network watcher made only while a profile has Network=): a watcher on the session bus, if there is one. The helper
 * `portlightctl run` and the tray's own engine both call. */
PlAppProfiles *pl_app_profiles_new_for_engine  (GListModel    *profiles);

PlAppWatcher  *pl_app_profiles_get_watcher     (PlAppProfiles *self);

/* Whether @profile_name is enabled, but app-linked and its application does not run, or
 * network-linked and this is not its network. */
gboolean       pl_app_profiles_is_waiting      (PlAppProfiles *self,
                                                const char    *profile_name);
/* Whether @profile_name has no Network=, or this is its network. */
gboolean       pl_app_profiles_is_on_network   (PlAppProfiles *self,
                                                const char    *profile_name);
/* Returns: (nullable): the network watcher, while some profile has Network=. */
PlNetworkWatcher *pl_app_profiles_get_network_watcher (PlAppProfiles *self);
/* Returns: (transfer full) (nullable): for a waiting profile, why it is not mapped, in plain
 * words (translated): "Only on network ‘home’" when it is not on its network, else "Waiting
 * for qBittorrent to start", with what stands in the way if anything does; NULL otherwise. */
char          *pl_app_profiles_dup_reason      (PlAppProfiles *self,
                                                const char    *profile_name);

/* Returns: (transfer full): what to call the application of an App= value: a desktop
 * application's name (from its .desktop file) or its id, the process or the unit name. */
char          *pl_app_link_dup_display_name    (const char    *link);

G_END_DECLS
