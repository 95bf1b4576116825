/* pl-autostart.h: the XDG autostart entry that starts Portlight at login
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Start at login follows the XDG Autostart specification: the entry is
 * `$XDG_CONFIG_HOME/autostart/<app id>.desktop` and starts `portlight --background`, which
 * stays in the tray and maps the profiles that are enabled.
 *
 * Turning it off removes that file, or, when a system-wide entry exists in
 * `$XDG_CONFIG_DIRS/autostart`, masks it with a user entry saying `Hidden=true`. An entry is
 * on unless it says `Hidden=true` or `X-GNOME-Autostart-enabled=false`. */

/* Returns: (transfer full): the user's entry, `g_get_user_config_dir()/autostart/<app id>.desktop`. */
char     *pl_autostart_get_path       (void);

/* Whether Portlight starts at login (the user's entry, else a system-wide one). */
gboolean  pl_autostart_is_enabled     (void);

/* Returns: (transfer full): the entry to write. @exec is the program to start (a path or a
 * name looked up in PATH); it is quoted as the Desktop Entry specification requires. */
char     *pl_autostart_build_entry    (const char  *exec);

/* Returns: (transfer full): the program the entry should start: "portlight" when this is
 * the installed binary, else the absolute path of the running one. */
char     *pl_autostart_get_program    (void);

/* Writes (from @template_path when it exists, else pl_autostart_build_entry() with
 * pl_autostart_get_program()) or removes the user's entry. @template_path: (nullable). */
gboolean  pl_autostart_set_enabled    (gboolean     enabled,
                                       const char  *template_path,
                                       GError     **error);

G_END_DECLS
