/* pl-app-link.h: the App= key of a profile, the application a profile is tied to
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * PlAppLinkKind:
 * @PL_APP_LINK_APP: `app:ID`, a desktop application id (`org.qbittorrent.qBittorrent`, the
 *   name of its .desktop file without “.desktop”), recognised from the systemd scope or
 *   service the desktop or Flatpak starts it in (`app-gnome-ID-1234.scope`,
 *   `app-flatpak-ID-1234.scope`)
 * @PL_APP_LINK_PROCESS: `process:NAME`, a process of this user whose name (`comm`, at most
 *   15 bytes) or program file name (the base name of `/proc/PID/exe`) is NAME
 * @PL_APP_LINK_UNIT: `unit:NAME`, a systemd user unit (`syncthing.service`) that is active
 *
 * What the value of a profile's App= key names. The prefix makes the value unambiguous: a
 * process may well be called `org.example.App`, and a unit name is also a valid process name.
 */
typedef enum
{
  PL_APP_LINK_APP,
  PL_APP_LINK_PROCESS,
  PL_APP_LINK_UNIT,
} PlAppLinkKind;

/* The prefixes, with their colon. */
#define PL_APP_LINK_PREFIX_APP     "app:"
#define PL_APP_LINK_PREFIX_PROCESS "process:"
#define PL_APP_LINK_PREFIX_UNIT    "unit:"

/* The longest name after the prefix, in bytes (a unit name's limit in systemd). */
#define PL_APP_LINK_MAX_NAME 255

/* Parses an App= value exactly (no spaces around the prefix; the name as it is). On success
 * sets @kind and @name (a pointer into @text, after the prefix) where not NULL. On failure
 * PL_ERROR_INVALID_ARGUMENT naming @profile, in the words of the profiles file loader, e.g.
 * "Profile “Torrent”: App “qbittorrent” does not say what it names: write app:ID, process:NAME
 * or unit:NAME". Pure. */
gboolean     pl_app_link_parse             (const char     *profile,
                                            const char     *text,
                                            PlAppLinkKind  *kind,
                                            const char    **name,
                                            GError        **error);

/* Returns: (transfer full): "app:ID", "process:NAME" or "unit:NAME". */
char        *pl_app_link_format            (PlAppLinkKind   kind,
                                            const char     *name);

G_END_DECLS
