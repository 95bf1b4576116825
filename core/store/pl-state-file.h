/* pl-state-file.h: a small state file under $XDG_STATE_HOME/portlight, kept with care
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Internal to portlight-core: the file handling shared by the state files (PlPcpState,
 * PlMethodMemory). A PlStateFile reads its file bounded in size, hands the text to a parser
 * of the caller's, refuses every later save after a refused load (so that a file that could
 * not be read is never overwritten), saves atomically with mode 0600 in a folder made 0700,
 * and refuses to save over a file that changed on disk since it was last loaded or saved.
 * Not thread-safe; one owner. */

/* A file larger than this is refused without being read whole, and a save that would write
 * more fails. */
#define PL_STATE_FILE_MAX_SIZE (256 * 1024)

/**
 * PlStateFileMessage:
 * @PL_STATE_FILE_MESSAGE_CANNOT_READ: the file cannot be opened or read (@path, the system's
 *   reason)
 * @PL_STATE_FILE_MESSAGE_REFUSED: the file is not acceptable (@path, the reason)
 * @PL_STATE_FILE_MESSAGE_TOO_LARGE: a reason: the file is too large (@a its size, @b the limit)
 * @PL_STATE_FILE_MESSAGE_NOT_SAVED: why saves are refused after a refused load (@path, the
 *   load's message)
 * @PL_STATE_FILE_MESSAGE_SAVE_TOO_LARGE: a save would write too much (@path, @a the size,
 *   @b the limit)
 * @PL_STATE_FILE_MESSAGE_CANNOT_SAVE: a save failed (@path, the reason)
 * @PL_STATE_FILE_MESSAGE_CHANGED: the file changed on disk since it was read (@path)
 *
 * The messages that name the kind of file: each owner words them (and marks them for
 * translation) in its #PlStateFileDescribe.
 */
typedef enum
{
  PL_STATE_FILE_MESSAGE_CANNOT_READ,
  PL_STATE_FILE_MESSAGE_REFUSED,
  PL_STATE_FILE_MESSAGE_TOO_LARGE,
  PL_STATE_FILE_MESSAGE_NOT_SAVED,
  PL_STATE_FILE_MESSAGE_SAVE_TOO_LARGE,
  PL_STATE_FILE_MESSAGE_CANNOT_SAVE,
  PL_STATE_FILE_MESSAGE_CHANGED,
} PlStateFileMessage;

/* Returns the translated, formatted message (transfer full); @a and @b are NULL where
 * PlStateFileMessage gives no use for them. */
typedef char *(*PlStateFileDescribe) (PlStateFileMessage  message,
                                      const char         *path,
                                      const char         *a,
                                      const char         *b);

/* Parses the file's text (@length bytes, not NUL-terminated; "" and 0 for a missing or
 * empty file), keeping the result in @user_data. FALSE with the reason (transfer full, e.g.
 * "it contains binary data (line 3)") to refuse the file. */
typedef gboolean (*PlStateFileParse) (const char  *data,
                                      gsize        length,
                                      gpointer     user_data,
                                      char       **reason);

typedef struct _PlStateFile PlStateFile;

char         *pl_state_file_default_path    (const char           *name);

PlStateFile  *pl_state_file_new             (const char           *path,
                                             const char           *default_name,
                                             PlStateFileDescribe   describe);
void          pl_state_file_free            (PlStateFile          *self);
const char   *pl_state_file_get_path        (PlStateFile          *self);
gboolean      pl_state_file_load            (PlStateFile          *self,
                                             PlStateFileParse      parse,
                                             gpointer              user_data,
                                             GError              **error);
gboolean      pl_state_file_can_save        (PlStateFile          *self,
                                             GError              **error);
gboolean      pl_state_file_save            (PlStateFile          *self,
                                             const char           *data,
                                             gsize                 length,
                                             GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlStateFile, pl_state_file_free)

/* Parsing a key file written by Portlight: pure, no I/O. */

/**
 * PlStateFileHeaderFlags:
 * @PL_STATE_FILE_HEADER_STRICT: the [Portlight] group may hold Version only; without it
 *   other keys there are kept, for a later Portlight of the same version
 *
 * How strictly pl_state_file_parse_key_file() reads the [Portlight] group.
 */
typedef enum
{
  PL_STATE_FILE_HEADER_NONE = 0,
  PL_STATE_FILE_HEADER_STRICT = 1 << 0,
} PlStateFileHeaderFlags;

#define PL_STATE_FILE_GROUP_PORTLIGHT "Portlight"
#define PL_STATE_FILE_KEY_VERSION     "Version"

/* Checks that @data (at most PL_STATE_FILE_MAX_SIZE bytes) is UTF-8 text without NUL bytes,
 * a key file (loaded with @key_file_flags) without a group given twice, with a [Portlight]
 * group whose Version is @version. Empty data is an empty key file, with no [Portlight]
 * group. On success *@key_file and *@headers (the line of each group, for
 * pl_state_file_group_where()) are set; else the reason, as for PlStateFileParse. */
gboolean      pl_state_file_parse_key_file  (const char             *data,
                                             gsize                   length,
                                             GKeyFileFlags           key_file_flags,
                                             guint                   version,
                                             PlStateFileHeaderFlags  flags,
                                             GKeyFile              **key_file,
                                             GHashTable            **headers,
                                             char                  **reason);

/* "[group] (line N)", to start a reason about one group of the parsed file. */
char         *pl_state_file_group_where     (GHashTable             *headers,
                                             const char             *group);

G_END_DECLS
