/* pl-app-chooser.h: choosing the application a profile is tied to (App=)
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define PL_TYPE_APP_CHOOSER (pl_app_chooser_get_type ())

G_DECLARE_FINAL_TYPE (PlAppChooser, pl_app_chooser, PL, APP_CHOOSER, GtkComboBox)

/**
 * PlAppChooser:
 *
 * A combo box of the installed applications (g_app_info_get_all(), those shown in menus),
 * each with its icon and name, sorted by name, after a first row "Always" (not tied to any).
 * An application whose desktop id is an application id (org.example.App.desktop) stands
 * for "app:org.example.App"; one whose id is not (vlc.desktop: desktops put no such id into
 * their scope names) for "process:" and the base name of its program. A value that is none
 * of these rows (a unit:, a process: typed with portlightctl, an app no longer installed)
 * gets a row of its own, so that editing other fields keeps it.
 *
 * Property `app` (string, nullable): the App= value chosen; NULL for "Always".
 */

GtkWidget   *pl_app_chooser_new      (void);
/* Returns: (nullable): the App= value, NULL for none. */
const char  *pl_app_chooser_get_app  (PlAppChooser *self);
void         pl_app_chooser_set_app  (PlAppChooser *self,
                                      const char   *app);
/* The value an installed application stands for (see above); NULL if it has none (no valid
 * id and no program). Pure but for reading @info. */
char        *pl_app_chooser_link_for_info (GAppInfo *info);

G_END_DECLS
