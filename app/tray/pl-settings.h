/* pl-settings.h: the tray application's own settings (a small key file)
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-core.h"

G_BEGIN_DECLS

#define PL_TYPE_SETTINGS (pl_settings_get_type ())

G_DECLARE_FINAL_TYPE (PlSettings, pl_settings, PL, SETTINGS, GObject)

/**
 * PlSettings:
 *
 * The settings of the tray application, kept in `$XDG_CONFIG_HOME/portlight/settings.ini`
 * (no GSettings schema to install):
 *
 *     [Portlight]
 *     Notifications=true
 *     Gateway=auto
 *     Protocol=auto
 *
 * - `Notifications`: whether to show notifications (default `true`);
 * - `Gateway`: `auto` (the default gateway) or the router's IPv4 address;
 * - `Protocol`: how to talk to the router: `auto` (PCP, else NAT-PMP; the default), `pcp`
 *   or `natpmp`. Another value is reported (g_message) and read as `auto`, but stays in the
 *   file until the protocol is set.
 *
 * Comments and unknown keys survive a save. A file that exists but cannot be read or parsed
 * is never overwritten: the defaults are used and saving fails. Properties: `notifications`
 * (boolean), `gateway` (string, nullable: NULL means auto) and `protocol` (string: "auto",
 * "pcp" or "natpmp"). Setting a property saves the file.
 */

/* Returns: (transfer full): `g_get_user_config_dir()/portlight/settings.ini`. */
char       *pl_settings_get_default_path (void);

/* @path: (nullable): NULL for the default path. Reads the file; a missing or unreadable
 * file gives the defaults (the reason is logged). */
PlSettings *pl_settings_new              (const char  *path);
const char *pl_settings_get_path         (PlSettings  *self);

gboolean    pl_settings_get_notifications (PlSettings *self);
void        pl_settings_set_notifications (PlSettings *self,
                                           gboolean    notifications);
/* Returns: (nullable): the router's address as text, NULL for the default gateway. */
const char *pl_settings_get_gateway       (PlSettings *self);
void        pl_settings_set_gateway       (PlSettings *self,
                                           const char *gateway);
/* PL_METHOD_AUTO unless the file says `pcp` or `natpmp`. */
PlMethod    pl_settings_get_protocol      (PlSettings *self);
void        pl_settings_set_protocol      (PlSettings *self,
                                           PlMethod    protocol);
/* Applies what belongs to a session (the protocol) to @session, before it starts. */
void        pl_settings_apply_to_session  (PlSettings *self,
                                           PlSession  *session);

/* Writes the file now (setters do it already). */
gboolean    pl_settings_save              (PlSettings  *self,
                                           GError     **error);

G_END_DECLS
