/* pl-profile-settings.h: a profile as the a{sv} settings of CreateProfile and Profile.Update
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-profile.h"

G_BEGIN_DECLS

/* @profile as the settings of CreateProfile and Profile.Update (the interface XML): every
 * key the profiles file can hold, "" for the absent ones, and any_external_port instead of
 * external_port for ExternalPort=any. The one builder, for every client (CLI and tray), so
 * that nothing of a profile is lost on its way through the engine. Returns: (transfer
 * floating): an a{sv} */
GVariant        *pl_broker_profile_settings_new   (PlProfile   *profile);

/* Applies @settings (a{sv}, as Update() takes them: only the keys given change) to @copy.
 * Fails with G_DBUS_ERROR_INVALID_ARGS on an unknown key, a wrong type or a bad value;
 * @copy may then be changed in part. */
gboolean         pl_broker_profile_settings_apply (PlProfile   *copy,
                                                   GVariant    *settings,
                                                   GError     **error);

G_END_DECLS
