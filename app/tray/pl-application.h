/* pl-application.h: the tray application
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define PL_TYPE_APPLICATION (pl_application_get_type ())

G_DECLARE_FINAL_TYPE (PlApplication, pl_application, PL, APPLICATION, GtkApplication)

/**
 * PlApplication:
 *
 * The single-instance tray application `io.github.portlight.Portlight`. The primary
 * instance owns the profile store and the session engine, shows the indicator, sends the
 * notifications and opens the profiles window. Starting it again activates the running
 * one (it opens the window), unless `--background` is given.
 *
 * Actions (also reachable with `gapplication action`): `copy-address`, `toggle-profile`
 * (string: a profile name), `add-profile`, `edit-profiles`, `autostart` and
 * `notifications` (boolean states), `protocol` (string state: "auto", "pcp" or "natpmp";
 * a change is saved in the settings, and the session is stopped, which closes its ports,
 * and made anew with it), `quit` (closes the ports, then quits).
 *
 * Without any tray, the window opens and says why, and closing it quits.
 */

PlApplication *pl_application_new (void);

G_END_DECLS
