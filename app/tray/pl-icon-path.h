/* pl-icon-path.h: where the tray's icons are, installed or in the source tree (no GTK)
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The extra icon folder (a folder holding hicolor/…, like data/icons) the tray and the
 * window look the icons up in, besides the installed theme; NULL when the installed theme
 * is the place. In order:
 *
 * - @env_dir, a non-empty $PORTLIGHT_ICON_DIR (meson devenv sets it);
 * - @source_icon_dir, when the running program @self_exe is @build_program, the binary of
 *   the build tree, and that folder exists: run from the build tree as the README says, the
 *   icons are not installed and the panel would draw nothing;
 * - else NULL: an installed portlight uses the installed icons, whatever build tree it came
 *   from.
 *
 * All arguments are (nullable). Returns: (transfer full) (nullable): the folder. */
char  *pl_icon_path_choose       (const char *env_dir,
                                  const char *self_exe,
                                  const char *build_program,
                                  const char *source_icon_dir);

/* pl_icon_path_choose() for this process: $PORTLIGHT_ICON_DIR, /proc/self/exe, and the
 * build tree's portlight and data/icons that meson compiled in.
 * Returns: (transfer full) (nullable): the folder. */
char  *pl_icon_path_get_default  (void);

G_END_DECLS
