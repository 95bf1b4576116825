/* pl-profile-store.h
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-profile.h"

G_BEGIN_DECLS

#define PL_TYPE_PROFILE_STORE (pl_profile_store_get_type ())

G_DECLARE_FINAL_TYPE (PlProfileStore, pl_profile_store, PL, PROFILE_STORE, GObject)

/**
 * PlProfileStore:
 *
 * The user's profiles, kept in one key file (by default
 * `$XDG_CONFIG_HOME/portlight/profiles.ini`) and exposed as a GListModel of PlProfile in the
 * order of the file.
 *
 * The file format is stable and meant to be edited by hand. Each group is one profile; the
 * group name is the profile's name:
 *
 *     [SSH]
 *     Protocol=tcp
 *     InternalPort=22
 *     ExternalPort=2222
 *     Lifetime=7200
 *     Enabled=true
 *     Description=Shell access from outside
 *
 * - `Protocol` (required): `tcp`, `udp` or `both`;
 * - `InternalPort` (required): 1-65535;
 * - `ExternalPort`: 0-65535, 0 (the default) = the same as InternalPort;
 * - `Lifetime`: seconds, 1-86400, default 7200;
 * - `Enabled`: `true` (the default) or `false`;
 * - `Description`: optional, one line.
 *
 * Values are exact: decimal numbers, lower-case words, no spaces around them. Comments are
 * lines of their own starting with `#`. Lines end with LF or CR LF; a UTF-8 byte order mark
 * at the start is ignored (and not written back).
 *
 * Nothing in the file is ever lost: keys and groups the store does not use, and comments,
 * are written back unchanged, and a group that could not be loaded (a bad value, a missing
 * key, a duplicate name, a port already claimed by an earlier profile) stays in the file
 * untouched (GKeyFile may put a blank line before a group header). Such problems are
 * listed by pl_profile_store_get_problems(); the other profiles load. A file that cannot be
 * parsed at all (not a key file, not UTF-8, binary data, a carriage return that does not end
 * a line, larger than 1 MiB, unreadable) is never overwritten: loading fails with an error
 * that names it, and every change and every save is refused (G_IO_ERROR_INVALID_DATA) until
 * a load succeeds. The same holds while two groups of the file share a name, since saving
 * would merge them. A save that would write more than 1 MiB fails
 * (G_IO_ERROR_MESSAGE_TOO_LARGE). A save never changes which profiles load.
 *
 * Saving is atomic (a new file renamed over the old one), the file is private (0600) and a
 * missing directory is created 0700. A save killed midway may leave its temporary file
 * (`profiles.ini.XXXXXX`) next to the file; it is never deleted by the store, which cannot
 * tell it from a copy the user made. Saving is also refused (G_IO_ERROR_WRONG_ETAG) if the
 * file changed on disk since it was last read or written: load again first.
 *
 * With `watching` on, edits made to the file by hand or by `portlightctl` are picked up:
 * changes are coalesced, the store's own writes are recognised and ignored, profiles keep
 * their identity when their name stays (they notify what changed), `items-changed` reports
 * the rest, and `reloaded` is emitted. If the new content cannot be parsed, the profiles
 * loaded before are kept and saving is refused until it can.
 *
 * Errors: values are PL_ERROR_INVALID_ARGUMENT (same messages as pl_profile_validate()),
 * a name or port already taken is G_IO_ERROR_EXISTS, an unknown name G_IO_ERROR_NOT_FOUND,
 * a profile that is in the file but could not be loaded G_IO_ERROR_INVALID_DATA.
 *
 * Signals: `reloaded ()`: after every load (pl_profile_store_load(),
 * pl_profile_store_load_from_data() or a change on disk), successful or not; read
 * pl_profile_store_get_problems() and pl_profile_store_can_save() then.
 *
 * Threading: a store belongs to the thread-default GMainContext it was created on.
 */

/* Returns: (transfer full): `g_get_user_config_dir()/portlight/profiles.ini`. */
char           *pl_profile_store_get_default_path (void);

/* @path: (nullable): the file; NULL for the default path. Nothing is read until
 * pl_profile_store_load(). */
PlProfileStore *pl_profile_store_new              (const char      *path);
const char     *pl_profile_store_get_path         (PlProfileStore  *self);

/* Reads the file. A missing file is an empty store. FALSE only when the file could not be
 * read or parsed at all (the error names the file); problems with single profiles do not
 * make it fail: see pl_profile_store_get_problems(). */
gboolean        pl_profile_store_load             (PlProfileStore  *self,
                                                   GCancellable    *cancellable,
                                                   GError         **error);
/* The same without I/O: @data is the file's content (@length -1 if NUL-terminated). */
gboolean        pl_profile_store_load_from_data   (PlProfileStore  *self,
                                                   const char      *data,
                                                   gssize           length,
                                                   GError         **error);
/* Returns: (transfer full): what pl_profile_store_save() would write. */
char           *pl_profile_store_to_data          (PlProfileStore  *self,
                                                   gsize           *length,
                                                   GError         **error);
gboolean        pl_profile_store_save             (PlProfileStore  *self,
                                                   GCancellable    *cancellable,
                                                   GError         **error);

/* Returns: (transfer none) (element-type GError): what the last load found wrong (a
 * file-level error first if the file could not be parsed), minus profiles removed since. */
GPtrArray      *pl_profile_store_get_problems     (PlProfileStore  *self);
/* FALSE, with the reason, while changes and saving are refused (see above). */
gboolean        pl_profile_store_can_save         (PlProfileStore  *self,
                                                   GError         **error);

/* Returns: (transfer none) (nullable): the loaded profile called @name. Do not change it
 * directly; use pl_profile_store_replace() or pl_profile_store_set_enabled(). */
PlProfile      *pl_profile_store_lookup           (PlProfileStore  *self,
                                                   const char      *name);
/* TRUE if the file has a group called @name, loaded or not. */
gboolean        pl_profile_store_has_name         (PlProfileStore  *self,
                                                   const char      *name);

/* Adds a copy of @profile at the end, after validating it and checking that its name and
 * its protocol + internal port are free. */
gboolean        pl_profile_store_add              (PlProfileStore  *self,
                                                   PlProfile       *profile,
                                                   GError         **error);
/* Removes profile @name; a group that could not be loaded can be removed too. */
gboolean        pl_profile_store_remove           (PlProfileStore  *self,
                                                   const char      *name,
                                                   GError         **error);
/* Gives profile @name the values of @profile (which may rename it; the group keeps its place,
 * its comments and its other keys), with the checks of pl_profile_store_add(). The stored
 * object stays the same and notifies what changes. */
gboolean        pl_profile_store_replace          (PlProfileStore  *self,
                                                   const char      *name,
                                                   PlProfile       *profile,
                                                   GError         **error);
gboolean        pl_profile_store_set_enabled      (PlProfileStore  *self,
                                                   const char      *name,
                                                   gboolean         enabled,
                                                   GError         **error);

/* Watch the file for changes made by others (property `watching`, default off). */
void            pl_profile_store_set_watching     (PlProfileStore  *self,
                                                   gboolean         watching);
gboolean        pl_profile_store_get_watching     (PlProfileStore  *self);

G_END_DECLS
