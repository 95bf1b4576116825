/* pl-profile-dialog.h: the window to list, add, edit and remove profiles
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "pl-core.h"
#include "pl-tray-menu.h"

G_BEGIN_DECLS

#define PL_TYPE_PROFILE_DIALOG (pl_profile_dialog_get_type ())

G_DECLARE_FINAL_TYPE (PlProfileDialog, pl_profile_dialog, PL, PROFILE_DIALOG, GtkApplicationWindow)

/**
 * PlProfileDialog:
 *
 * Lists the profiles of a [class@Pl.ProfileStore] with their state, and edits one at a time:
 * name, protocol, family (IPv4 and IPv6, IPv4 only or IPv6 only), the port on this computer,
 * the public port, lifetime, description and whether it is enabled. Every field is checked as it is typed, with the store's own rules
 * and messages (pl_profile_validate_name(), pl_profile_set_key_value(), and the store's
 * checks for names and ports already taken), and the mistake is shown under the field;
 * Save is possible only when everything is right. Saving writes the profiles file; as the
 * engine's client, the engine writes it, and the window waits for its answer without
 * blocking (Save and Remove insensitive, "Saving…"); closing the window cancels the wait.
 *
 * With no profiles it shows an empty state instead: two lines on what a profile is, and
 * presets (SSH, a web server, Minecraft, Syncthing, qBittorrent, WireGuard) that fill in a
 * new profile for the user to save.
 *
 * At the bottom, next to Start at login and Show notifications, a combo box chooses the
 * router protocol (Automatic, PCP, NAT-PMP): it shows and changes the state of the
 * application's `protocol` action, and is insensitive without one.
 *
 * The state lines come from a PlTrayMenu, so the window shows what the tray shows: it is the
 * whole user interface when no panel shows the icon.
 */

PlProfileDialog *pl_profile_dialog_new              (GtkApplication  *application,
                                                     PlProfileStore  *store,
                                                     PlTrayMenu      *menu);

/* Starts a new, empty profile in the editor. */
void             pl_profile_dialog_add_profile      (PlProfileDialog *self);
/* A new profile from a preset ("ssh", "web", "minecraft", "syncthing", "qbittorrent",
 * "wireguard"), not saved yet; FALSE for an unknown one. */
gboolean         pl_profile_dialog_add_preset       (PlProfileDialog *self,
                                                     const char      *id);
/* Selects profile @name for editing; FALSE if there is none. */
gboolean         pl_profile_dialog_select_profile   (PlProfileDialog *self,
                                                     const char      *name);
/* Shows (or, with NULL, hides) a message about the tray at the top. */
void             pl_profile_dialog_set_tray_message (PlProfileDialog *self,
                                                     const char      *message);
/* Whether the editor's content can be saved right now. */
gboolean         pl_profile_dialog_can_save         (PlProfileDialog *self);
/* Saves the editor's content; FALSE with the reason shown (and in @error). As the engine's
 * client (the menu has an engine) it asks the engine and returns TRUE at once: the window
 * says "Saving…" until the engine answers (pl_profile_dialog_is_saving()), then shows the
 * saved profile, or the engine's reason with the user's input kept. */
gboolean         pl_profile_dialog_save             (PlProfileDialog *self,
                                                     GError         **error);
/* Whether a Save or Remove waits for the engine's answer. */
gboolean         pl_profile_dialog_is_saving        (PlProfileDialog *self);

G_END_DECLS
