/* pl-tray.h: the status icon and its menu (the only user of libayatana-appindicator)
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/**
 * PlTrayAvailability:
 * @PL_TRAY_AVAILABILITY_UNKNOWN: not known yet (just started)
 * @PL_TRAY_AVAILABILITY_AVAILABLE: a panel shows the icon (StatusNotifierItem host or an
 *   XEmbed system tray)
 * @PL_TRAY_AVAILABILITY_UNAVAILABLE: nothing would show the icon (e.g. GNOME without the
 *   AppIndicator extension)
 */
typedef enum
{
  PL_TRAY_AVAILABILITY_UNKNOWN,
  PL_TRAY_AVAILABILITY_AVAILABLE,
  PL_TRAY_AVAILABILITY_UNAVAILABLE,
} PlTrayAvailability;

#define PL_TYPE_TRAY (pl_tray_get_type ())

G_DECLARE_FINAL_TYPE (PlTray, pl_tray, PL, TRAY, GObject)

/**
 * PlTray:
 *
 * The indicator in the panel: a StatusNotifierItem with a dbusmenu through
 * libayatana-appindicator3, which falls back to an XEmbed status icon by itself. The menu is
 * made from PlTrayItem lines (see pl-tray-menu.h); activating an item activates its action
 * in @actions. Lines are updated in place when only their text or check changed, so an open
 * menu does not jump.
 *
 * The `availability` property says whether anything shows the icon: a
 * `org.kde.StatusNotifierWatcher` with a host on the session bus, or an XEmbed tray
 * (`_NET_SYSTEM_TRAY_Sn`) on an X11 display. It follows the watcher's bus name and the
 * trays' announcements, never polls. A tray that goes away (a panel restarting) stays
 * available for a grace period (pl_tray_set_restart_grace()): it is unavailable only if it
 * is not back by then.
 */

/* @icon_theme_path: (nullable): an extra folder to look up the icons in. */
PlTray             *pl_tray_new                  (GActionGroup  *actions,
                                                  const char    *icon_theme_path);

/* @icon_name: a (symbolic) icon name; @description: its text for screen readers. */
void                pl_tray_set_state            (PlTray        *self,
                                                  const char    *icon_name,
                                                  const char    *description);
/* @items: (element-type PlTrayItem): the menu's lines, top to bottom. */
void                pl_tray_set_menu             (PlTray        *self,
                                                  GPtrArray     *items);

/* Until @seconds from now, no tray is not yet unavailable, unless a tray shows up first
 * (then it is available): at login the panel often starts after Portlight. */
void                pl_tray_wait                 (PlTray        *self,
                                                  guint          seconds);
/* How long a tray that went away (a panel restarting) may take to come back before it is
 * unavailable (default 15 s; 0: at once). */
void                pl_tray_set_restart_grace    (PlTray        *self,
                                                  guint          seconds);

PlTrayAvailability  pl_tray_get_availability     (PlTray        *self);
/* Returns: (nullable): why nothing shows the icon, translated; NULL unless unavailable. */
const char         *pl_tray_get_unavailable_reason (PlTray      *self);

G_END_DECLS
