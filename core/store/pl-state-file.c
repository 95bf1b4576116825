/* pl-state-file.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

/* The file handling of the state files (see pl-state-file.h).
 *
 * Loading reads at most PL_STATE_FILE_MAX_SIZE + 1 bytes, refuses what is not a regular file
 * or is too large, and hands the text to the owner's parser. A file that cannot be read or
 * is refused makes every later save fail with the reason, until a load succeeds: the file is
 * left for the user to fix or move away, never overwritten.
 *
 * Saving refuses to overwrite a file whose bytes differ from the ones last read or written
 * (another Portlight, or a person, changed it), and a save before any load is refused if a
 * file exists. It writes a temporary file, fsyncs it and renames it over the file
 * (g_file_set_contents_full() with G_FILE_SET_CONTENTS_CONSISTENT) with mode 0600, creating
 * the folder with mode 0700 if needed: a crash leaves the old file or the new one, never a
 * part of one. */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "pl-error.h"
#include "pl-state-file.h"

struct _PlStateFile
{
  char                *path;
  PlStateFileDescribe  describe;
  GError              *refusal;     /* why saving is refused, or NULL */
  GBytes              *disk_data;   /* the file as last read or written; NULL: there was none */
};

/* Messages */

static GError *
refused_error (PlStateFile *self,
               const char  *reason)
{
  g_autofree char *message = self->describe (PL_STATE_FILE_MESSAGE_REFUSED, self->path, reason,
                                             NULL);

  return g_error_new_literal (PL_ERROR, PL_ERROR_INVALID_ARGUMENT, message);
}

static char *
too_large_reason (PlStateFile *self,
                  guint64      size)
{
  g_autofree char *size_text = g_format_size_full (size, G_FORMAT_SIZE_LONG_FORMAT
                                                         | G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *limit_text = g_format_size_full (PL_STATE_FILE_MAX_SIZE,
                                                    G_FORMAT_SIZE_IEC_UNITS);

  return self->describe (PL_STATE_FILE_MESSAGE_TOO_LARGE, self->path, size_text, limit_text);
}

static void
set_cannot_read (PlStateFile  *self,
                 int           saved_errno,
                 GError      **error)
{
  g_autofree char *message = self->describe (PL_STATE_FILE_MESSAGE_CANNOT_READ, self->path,
                                             g_strerror (saved_errno), NULL);

  g_set_error_literal (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), message);
}

/* I/O */

/* Reads at most PL_STATE_FILE_MAX_SIZE + 1 bytes, so that a larger file is found without
 * reading it whole (the size from fstat() is only a hint: the file may grow).
 * Returns: %TRUE with *@bytes NULL if there is no file. */
static gboolean
read_file (PlStateFile  *self,
           GBytes      **bytes,
           GError      **error)
{
  g_autoptr(GByteArray) contents = NULL;
  struct stat st;
  gsize length = 0;
  int fd;

  *bytes = NULL;

  fd = g_open (self->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
  if (fd < 0)
    {
      int saved_errno = errno;

      if (saved_errno == ENOENT)
        return TRUE;
      set_cannot_read (self, saved_errno, error);
      return FALSE;
    }

  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_close (fd, NULL);
      g_propagate_error (error, refused_error (self, _("it is not a regular file")));
      return FALSE;
    }
  if ((guint64) st.st_size > PL_STATE_FILE_MAX_SIZE)
    {
      g_autofree char *reason = too_large_reason (self, st.st_size);

      g_close (fd, NULL);
      g_propagate_error (error, refused_error (self, reason));
      return FALSE;
    }

  contents = g_byte_array_sized_new (PL_STATE_FILE_MAX_SIZE + 1);
  g_byte_array_set_size (contents, PL_STATE_FILE_MAX_SIZE + 1);
  while (length < PL_STATE_FILE_MAX_SIZE + 1)
    {
      ssize_t n = read (fd, contents->data + length, PL_STATE_FILE_MAX_SIZE + 1 - length);

      if (n > 0)
        {
          length += n;
        }
      else if (n == 0)
        {
          break;
        }
      else if (errno != EINTR)
        {
          int saved_errno = errno;

          g_close (fd, NULL);
          set_cannot_read (self, saved_errno, error);
          return FALSE;
        }
    }
  g_close (fd, NULL);

  if (length > PL_STATE_FILE_MAX_SIZE)
    {
      g_autofree char *reason = too_large_reason (self, length);

      g_propagate_error (error, refused_error (self, reason));
      return FALSE;
    }

  g_byte_array_set_size (contents, length);
  *bytes = g_byte_array_free_to_bytes (g_steal_pointer (&contents));
  return TRUE;
}

static gboolean
same_content (GBytes *a,
              GBytes *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return g_bytes_equal (a, b);
}

/* API */

/**
 * pl_state_file_default_path:
 * @name: a file name, such as "mappings.ini"
 *
 * Returns: (transfer full): `$XDG_STATE_HOME/portlight/NAME`
 */
char *
pl_state_file_default_path (const char *name)
{
  g_return_val_if_fail (name != NULL, NULL);

  return g_build_filename (g_get_user_state_dir (), "portlight", name, NULL);
}

/**
 * pl_state_file_new:
 * @path: (nullable): the file; %NULL for pl_state_file_default_path (@default_name)
 * @default_name: the file name in the default folder
 * @describe: words the messages that name the kind of file
 *
 * Nothing is read until pl_state_file_load(). Until then a save succeeds only if there is
 * no file.
 *
 * Returns: (transfer full): a new #PlStateFile
 */
PlStateFile *
pl_state_file_new (const char          *path,
                   const char          *default_name,
                   PlStateFileDescribe  describe)
{
  PlStateFile *self;

  g_return_val_if_fail (path != NULL || default_name != NULL, NULL);
  g_return_val_if_fail (describe != NULL, NULL);

  self = g_new0 (PlStateFile, 1);
  self->path = path != NULL ? g_strdup (path) : pl_state_file_default_path (default_name);
  self->describe = describe;
  return self;
}

void
pl_state_file_free (PlStateFile *self)
{
  if (self == NULL)
    return;

  g_free (self->path);
  g_clear_error (&self->refusal);
  g_clear_pointer (&self->disk_data, g_bytes_unref);
  g_free (self);
}

const char *
pl_state_file_get_path (PlStateFile *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->path;
}

/**
 * pl_state_file_load:
 * @self: a #PlStateFile
 * @parse: reads the text into @user_data
 * @user_data: for @parse
 * @error: return location for a #GError
 *
 * Reads the file and calls @parse on its text ("" for a missing file). A file that cannot be
 * read (%G_IO_ERROR) or is refused (%PL_ERROR_INVALID_ARGUMENT, naming the file and the
 * reason) makes every later save fail until a load succeeds.
 *
 * Returns: %TRUE if @parse accepted the text
 */
gboolean
pl_state_file_load (PlStateFile       *self,
                    PlStateFileParse   parse,
                    gpointer           user_data,
                    GError           **error)
{
  g_autoptr(GBytes) bytes = NULL;
  GError *local_error = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (parse != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (read_file (self, &bytes, &local_error))
    {
      g_autofree char *reason = NULL;
      const char *data = NULL;
      gsize length = 0;

      if (bytes != NULL)
        data = g_bytes_get_data (bytes, &length);
      if (data == NULL)
        data = "";
      if (!parse (data, length, user_data, &reason))
        local_error = refused_error (self, reason != NULL ? reason : "");
    }

  if (local_error != NULL)
    {
      g_autofree char *message = self->describe (PL_STATE_FILE_MESSAGE_NOT_SAVED, self->path,
                                                 local_error->message, NULL);

      g_clear_error (&self->refusal);
      self->refusal = g_error_new_literal (local_error->domain, local_error->code, message);
      g_propagate_error (error, local_error);
      return FALSE;
    }

  g_clear_error (&self->refusal);
  g_clear_pointer (&self->disk_data, g_bytes_unref);
  self->disk_data = g_steal_pointer (&bytes);
  return TRUE;
}

/**
 * pl_state_file_can_save:
 * @self: a #PlStateFile
 * @error: return location for the reason
 *
 * Returns: %FALSE while saving is refused because the file could not be loaded
 */
gboolean
pl_state_file_can_save (PlStateFile  *self,
                        GError      **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (self->refusal != NULL)
    {
      if (error != NULL)
        *error = g_error_copy (self->refusal);
      return FALSE;
    }
  return TRUE;
}

/**
 * pl_state_file_save:
 * @self: a #PlStateFile
 * @data: the new content
 * @length: its length
 * @error: return location for a #GError
 *
 * Writes @data atomically with mode 0600, creating the folder (0700) if needed. Fails,
 * writing nothing, after a refused load, if @data is larger than PL_STATE_FILE_MAX_SIZE, or
 * if the file changed since it was last loaded or saved (%G_IO_ERROR_WRONG_ETAG).
 *
 * Returns: %TRUE on success
 */
gboolean
pl_state_file_save (PlStateFile  *self,
                    const char   *data,
                    gsize         length,
                    GError      **error)
{
  g_autoptr(GBytes) on_disk = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *dir = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (data != NULL || length == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!pl_state_file_can_save (self, error))
    return FALSE;

  if (length > PL_STATE_FILE_MAX_SIZE)
    {
      g_autofree char *size_text = g_format_size_full (length, G_FORMAT_SIZE_LONG_FORMAT
                                                               | G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *limit_text = g_format_size_full (PL_STATE_FILE_MAX_SIZE,
                                                        G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *message = self->describe (PL_STATE_FILE_MESSAGE_SAVE_TOO_LARGE,
                                                 self->path, size_text, limit_text);

      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE, message);
      return FALSE;
    }

  /* Never overwrite what someone else wrote since we last looked. */
  if (!read_file (self, &on_disk, &local_error))
    {
      g_autofree char *message = self->describe (PL_STATE_FILE_MESSAGE_CANNOT_SAVE, self->path,
                                                 local_error->message, NULL);

      g_set_error_literal (error, local_error->domain, local_error->code, message);
      return FALSE;
    }
  if (!same_content (on_disk, self->disk_data))
    {
      g_autofree char *message = self->describe (PL_STATE_FILE_MESSAGE_CHANGED, self->path,
                                                 NULL, NULL);

      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WRONG_ETAG, message);
      return FALSE;
    }

  dir = g_path_get_dirname (self->path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   _("Cannot create the folder “%s”: %s"), dir, g_strerror (saved_errno));
      return FALSE;
    }

  if (!g_file_set_contents_full (self->path, data != NULL ? data : "", length,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, &local_error))
    {
      g_autofree char *message = self->describe (PL_STATE_FILE_MESSAGE_CANNOT_SAVE, self->path,
                                                 local_error->message, NULL);

      g_set_error_literal (error, local_error->domain, local_error->code, message);
      return FALSE;
    }

  g_clear_pointer (&self->disk_data, g_bytes_unref);
  self->disk_data = g_bytes_new (data != NULL ? data : "", length);
  return TRUE;
}

/* Parsing: pure, no I/O */

static guint
line_of (const char *data,
         const char *where)
{
  guint line = 1;

  for (const char *p = data; p < where; p++)
    if (*p == '\n')
      line++;
  return line;
}

typedef struct
{
  guint line;    /* of the first header of this name */
  guint count;   /* headers of this name */
} Header;

/* GKeyFile merges groups of the same name and reports no line numbers: find the group
 * headers ourselves, as GKeyFile reads them (white space around the line ignored). Only
 * called on data GKeyFile has accepted. */
static GHashTable *
scan_headers (const char *data,
              gsize       length)
{
  GHashTable *headers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const char *end = data + length;
  const char *p = data;
  guint line = 1;

  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);
      const char *s = p;
      const char *e = nl != NULL ? nl : end;

      while (s < e && g_ascii_isspace (*s))
        s++;
      while (e > s && g_ascii_isspace (e[-1]))
        e--;

      if (e - s >= 2 && *s == '[' && e[-1] == ']')
        {
          g_autofree char *name = g_strndup (s + 1, e - s - 2);
          Header *header = g_hash_table_lookup (headers, name);

          if (header == NULL)
            {
              header = g_new0 (Header, 1);
              header->line = line;
              g_hash_table_insert (headers, g_steal_pointer (&name), header);
            }
          header->count++;
        }

      if (nl == NULL)
        break;
      p = nl + 1;
      line++;
    }

  return headers;
}

char *
pl_state_file_group_where (GHashTable *headers,
                           const char *group)
{
  Header *header;

  g_return_val_if_fail (group != NULL, NULL);

  header = headers != NULL ? g_hash_table_lookup (headers, group) : NULL;
  if (header == NULL)
    return g_strdup_printf ("[%s]", group);
  return g_strdup_printf (_("[%s] (line %u)"), group, header->line);
}

static gboolean
check_header_group (GKeyFile                *key_file,
                    GHashTable              *headers,
                    guint                    version,
                    PlStateFileHeaderFlags   flags,
                    char                   **reason)
{
  g_auto(GStrv) keys = NULL;
  g_autofree char *where = NULL;
  g_autofree char *value = NULL;
  g_autofree char *expected = NULL;
  guint versions = 0;

  if (!g_key_file_has_group (key_file, PL_STATE_FILE_GROUP_PORTLIGHT))
    {
      *reason = g_strdup_printf (_("it has no [%s] group, so it was not written by Portlight"),
                                 PL_STATE_FILE_GROUP_PORTLIGHT);
      return FALSE;
    }

  keys = g_key_file_get_keys (key_file, PL_STATE_FILE_GROUP_PORTLIGHT, NULL, NULL);
  where = pl_state_file_group_where (headers, PL_STATE_FILE_GROUP_PORTLIGHT);

  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      if (!g_str_equal (keys[i], PL_STATE_FILE_KEY_VERSION))
        {
          if ((flags & PL_STATE_FILE_HEADER_STRICT) != 0)
            {
              *reason = g_strdup_printf (_("%s: unknown key “%s”"), where, keys[i]);
              return FALSE;
            }
          continue;
        }
      /* GKeyFile keeps every line of a key given twice, but reads only the last one. */
      if (++versions > 1
          || ((flags & PL_STATE_FILE_HEADER_STRICT) != 0 && i > 0))
        {
          *reason = g_strdup_printf (_("%s: %s is given more than once"), where, keys[i]);
          return FALSE;
        }
    }

  value = g_key_file_get_string (key_file, PL_STATE_FILE_GROUP_PORTLIGHT,
                                 PL_STATE_FILE_KEY_VERSION, NULL);
  if (value == NULL)
    {
      *reason = g_strdup_printf (_("%s: %s is missing"), where, PL_STATE_FILE_KEY_VERSION);
      return FALSE;
    }
  expected = g_strdup_printf ("%u", version);
  if (!g_str_equal (value, expected))
    {
      *reason = g_strdup_printf (_("%s: %s=%s is a version this Portlight does not know (it "
                                   "reads version %d)"),
                                 where, PL_STATE_FILE_KEY_VERSION, value, (int) version);
      return FALSE;
    }
  return TRUE;
}

gboolean
pl_state_file_parse_key_file (const char              *data,
                              gsize                    length,
                              GKeyFileFlags            key_file_flags,
                              guint                    version,
                              PlStateFileHeaderFlags   flags,
                              GKeyFile               **key_file_out,
                              GHashTable             **headers_out,
                              char                   **reason)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GHashTable) headers = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *bad;

  g_return_val_if_fail (data != NULL || length == 0, FALSE);
  g_return_val_if_fail (key_file_out != NULL, FALSE);
  g_return_val_if_fail (headers_out != NULL, FALSE);
  g_return_val_if_fail (reason != NULL && *reason == NULL, FALSE);

  if (length == 0)
    {
      *key_file_out = g_steal_pointer (&key_file);
      *headers_out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      return TRUE;
    }

  bad = memchr (data, '\0', length);
  if (bad != NULL)
    {
      *reason = g_strdup_printf (_("it contains binary data (line %u)"), line_of (data, bad));
      return FALSE;
    }

  if (!g_utf8_validate_len (data, length, &bad))
    {
      *reason = g_strdup_printf (_("it is not valid UTF-8 text (line %u)"), line_of (data, bad));
      return FALSE;
    }

  if (!g_key_file_load_from_data (key_file, data, length, key_file_flags, &local_error))
    {
      *reason = g_strdup_printf (_("it is not a key file: %s"), local_error->message);
      return FALSE;
    }

  headers = scan_headers (data, length);

  {
    GHashTableIter iter;
    gpointer name;
    gpointer value;

    g_hash_table_iter_init (&iter, headers);
    while (g_hash_table_iter_next (&iter, &name, &value))
      {
        Header *header = value;

        if (header->count > 1)
          {
            *reason = g_strdup_printf (_("the group [%s] appears more than once (first at "
                                         "line %u)"),
                                       (const char *) name, header->line);
            return FALSE;
          }
      }
  }

  if (!check_header_group (key_file, headers, version, flags, reason))
    return FALSE;

  *key_file_out = g_steal_pointer (&key_file);
  *headers_out = g_steal_pointer (&headers);
  return TRUE;
}
