/* pl-app-waiting.h: the engine's reasons for waiting profiles, on the broker's Profile
 * objects
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "pl-app-profiles.h"
#include "pl-broker.h"

G_BEGIN_DECLS

/* Profile.Waiting of @broker says from now on what pl_app_profiles_dup_reason() of @self
 * says ("Waiting for qBittorrent to start", "Only on network ‘home’"), and follows it: the
 * application starting or exiting, the network coming or going, a profile added, changed or
 * switched on or off. The engine calls it with the model its session maps (`portlightctl
 * run`, the tray hosting the engine), so that the engine's clients show the same reason.
 * @broker holds @self from then on (a later call with another model replaces it). */
void pl_app_profiles_publish_waiting (PlAppProfiles *self,
                                      PlBroker      *broker);

G_END_DECLS
