/* pl-profile-store.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "pl-clock.h"
#include "pl-error.h"
#include "pl-profile-store.h"

/* Changes on disk are coalesced: a reload runs once no change has been seen for this long. */
#define RELOAD_DELAY_MS 150

#define KEY_FILE_FLAGS (G_KEY_FILE_KEEP_COMMENTS | G_KEY_FILE_KEEP_TRANSLATIONS)

/* A profiles file larger than this is refused (never read whole, never overwritten), and a
 * save that would write more fails: about ten thousand profiles, far more than anyone keeps
 * by hand, and small enough that a load never stalls the tray. */
#define MAX_FILE_SIZE (1024 * 1024)

/* What some editors put at the start of a UTF-8 file. Skipped; a save does not keep it. */
#define UTF8_BOM     "\xef\xbb\xbf"
#define UTF8_BOM_LEN 3

struct _PlProfileStore
{
  GObject       parent_instance;

  char         *path;
  GFile        *file;
  GMainContext *context;

  /* The file as last loaded, with every edit since applied to it: what save writes. */
  GKeyFile     *key_file;
  GPtrArray    *profiles;        /* PlProfile*: the loaded profiles, in file order */
  GPtrArray    *problems;        /* GError* */
  GPtrArray    *problem_groups;  /* char*, parallel to problems; NULL for the whole file */
  GError       *save_error;      /* why changes and saving are refused, or NULL */
  GBytes       *disk_data;       /* the file's content as last read or written; NULL: none */

  GFileMonitor *monitor;
  GSource      *reload_source;
};

static void pl_profile_store_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PlProfileStore, pl_profile_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      pl_profile_store_list_model_init))

enum {
  PROP_0,
  PROP_PATH,
  PROP_WATCHING,
  PROP_CAN_SAVE,
  N_PROPS
};

enum {
  SIGNAL_RELOADED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* GListModel */

static GType
pl_profile_store_get_item_type (GListModel *model)
{
  return PL_TYPE_PROFILE;
}

static guint
pl_profile_store_get_n_items (GListModel *model)
{
  PlProfileStore *self = PL_PROFILE_STORE (model);

  return self->profiles->len;
}

static gpointer
pl_profile_store_get_item (GListModel *model,
                           guint       position)
{
  PlProfileStore *self = PL_PROFILE_STORE (model);

  if (position >= self->profiles->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->profiles, position));
}

static void
pl_profile_store_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = pl_profile_store_get_item_type;
  iface->get_n_items = pl_profile_store_get_n_items;
  iface->get_item = pl_profile_store_get_item;
}

/* Parsing: pure, no I/O */

typedef struct
{
  GKeyFile  *key_file;
  GPtrArray *profiles;        /* PlProfile* */
  GPtrArray *problems;        /* GError* */
  GPtrArray *problem_groups;  /* char* */
  GError    *save_error;
} Parsed;

static void
parsed_init (Parsed *parsed)
{
  parsed->key_file = g_key_file_new ();
  parsed->profiles = g_ptr_array_new_with_free_func (g_object_unref);
  parsed->problems = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  parsed->problem_groups = g_ptr_array_new_with_free_func (g_free);
  parsed->save_error = NULL;
}

static void
parsed_clear (Parsed *parsed)
{
  g_clear_pointer (&parsed->key_file, g_key_file_unref);
  g_clear_pointer (&parsed->profiles, g_ptr_array_unref);
  g_clear_pointer (&parsed->problems, g_ptr_array_unref);
  g_clear_pointer (&parsed->problem_groups, g_ptr_array_unref);
  g_clear_error (&parsed->save_error);
}

static void
parsed_add_problem (Parsed     *parsed,
                    const char *group,
                    GError     *error)
{
  g_ptr_array_add (parsed->problems, error);
  g_ptr_array_add (parsed->problem_groups, g_strdup (group));
}

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

/* The group name of the line from @line to @line_end if it is a group header, the way
 * GKeyFile reads one: leading white space skipped, the name between "[" and the first "]".
 * Returns: (transfer full) (nullable): the name */
static char *
header_name (const char *line,
             const char *line_end)
{
  const char *s = line;
  const char *close;

  while (s < line_end && g_ascii_isspace (*s))
    s++;
  if (s == line_end || *s != '[')
    return NULL;

  close = memchr (s, ']', line_end - s);
  if (close == NULL)
    return NULL;
  return g_strndup (s + 1, close - s - 1);
}

/* GKeyFile silently merges groups of the same name, so count the group header lines
 * ourselves. Only called on data GKeyFile has accepted. */
static GHashTable *
count_group_headers (const char *data,
                     gsize       length)
{
  GHashTable *counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const char *end = data + length;
  const char *p = data;

  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);
      const char *line_end = nl != NULL ? nl : end;
      char *name = header_name (p, line_end);

      if (name != NULL)
        {
          guint n = GPOINTER_TO_UINT (g_hash_table_lookup (counts, name));

          g_hash_table_replace (counts, name, GUINT_TO_POINTER (n + 1));
        }

      p = line_end + 1;
    }

  return counts;
}

/* The group that @where is in: the name of the last group header up to @where, or NULL if
 * there is none or @where is inside a group header. */
static char *
group_at (const char *data,
          const char *where)
{
  g_autofree char *group = NULL;
  const char *p = data;

  for (;;)
    {
      const char *nl = memchr (p, '\n', where - p);
      const char *line_end = nl != NULL ? nl : where;
      char *name = header_name (p, line_end);

      if (name != NULL)
        {
          g_free (group);
          group = name;
        }
      else if (nl == NULL)
        {
          /* The line of @where: is it an unfinished header? */
          const char *s = p;

          while (s < where && g_ascii_isspace (*s))
            s++;
          if (s < where && *s == '[')
            return NULL;
        }

      if (nl == NULL)
        return g_steal_pointer (&group);
      p = nl + 1;
    }
}

/* GKeyFile takes only "\n" and "\r\n" as line ends: any other carriage return stays in the
 * line, and at the end of a value is then lost when the file is written back ("tcp\r" is
 * written "tcp\r\n", which reads as "tcp"), which could change what loads. Returns the
 * first such carriage return, or NULL. */
static const char *
find_bare_carriage_return (const char *data,
                           gsize       length)
{
  const char *end = data + length;
  const char *p = data;

  while ((p = memchr (p, '\r', end - p)) != NULL)
    {
      if (p + 1 == end || p[1] != '\n')
        return p;
      p += 2;
    }
  return NULL;
}

static char *
too_large_reason (guint64 size)
{
  g_autofree char *size_text = g_format_size_full (size, G_FORMAT_SIZE_LONG_FORMAT
                                                         | G_FORMAT_SIZE_IEC_UNITS);
  g_autofree char *limit_text = g_format_size_full (MAX_FILE_SIZE, G_FORMAT_SIZE_IEC_UNITS);

  return g_strdup_printf (_("it is %s, more than the %s a profiles file may have"),
                          size_text, limit_text);
}

static GError *
file_error (const char *path,
            GQuark      domain,
            int         code,
            const char *reason)
{
  return g_error_new (domain, code,
                      _("Cannot read the profiles file “%s”: %s. The file has been left as it "
                        "is: fix it or move it away, then load the profiles again."),
                      path, reason);
}

/* @profile wants the mapping @other has. */
static GError *
clash_error (PlProfile *profile,
             PlProfile *other)
{
  PlProfileProtocol protocol = pl_profile_get_protocol (profile);
  PlProfileProtocol other_protocol = pl_profile_get_protocol (other);

  return g_error_new (G_IO_ERROR, G_IO_ERROR_EXISTS,
                      _("Profile “%s”: %s %u (%s) is already used by profile “%s” (%s)"),
                      pl_profile_get_name (profile), PL_PROFILE_KEY_INTERNAL_PORT,
                      pl_profile_get_internal_port (profile),
                      pl_profile_protocol_to_string (protocol),
                      pl_profile_get_name (other),
                      pl_profile_protocol_to_string (other_protocol));
}

static gpointer
claim_key (gboolean udp,
           guint    port)
{
  return GUINT_TO_POINTER (port << 1 | (udp ? 1 : 0));
}

/* Records in @claims that @profile, about to be appended to @loaded, maps its protocols on
 * its internal port, or fails, naming the earliest profile of @loaded that already does.
 * Constant time, so that a file of many profiles loads in time proportional to its size. */
static gboolean
claim_mapping (GHashTable  *claims,
               GPtrArray   *loaded,
               PlProfile   *profile,
               GError     **error)
{
  PlProfileProtocol protocol = pl_profile_get_protocol (profile);
  guint port = pl_profile_get_internal_port (profile);
  gboolean tcp = protocol != PL_PROFILE_PROTOCOL_UDP;
  gboolean udp = protocol != PL_PROFILE_PROTOCOL_TCP;
  guint holder = 0;  /* 1 + index; 0: none */

  if (tcp)
    holder = GPOINTER_TO_UINT (g_hash_table_lookup (claims, claim_key (FALSE, port)));
  if (udp)
    {
      guint udp_holder = GPOINTER_TO_UINT (g_hash_table_lookup (claims, claim_key (TRUE, port)));

      if (udp_holder != 0 && (holder == 0 || udp_holder < holder))
        holder = udp_holder;
    }

  if (holder != 0)
    {
      g_propagate_error (error, clash_error (profile, g_ptr_array_index (loaded, holder - 1)));
      return FALSE;
    }

  if (tcp)
    g_hash_table_insert (claims, claim_key (FALSE, port), GUINT_TO_POINTER (loaded->len + 1));
  if (udp)
    g_hash_table_insert (claims, claim_key (TRUE, port), GUINT_TO_POINTER (loaded->len + 1));
  return TRUE;
}

static gboolean
parse_data (const char  *path,
            const char  *data,
            gsize        length,
            Parsed      *parsed,
            GError     **error)
{
  g_autoptr(GHashTable) header_counts = NULL;
  g_autoptr(GHashTable) claims = NULL;
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) groups = NULL;
  const char *bad;

  parsed_init (parsed);

  if (length > MAX_FILE_SIZE)
    {
      g_autofree char *reason = too_large_reason (length);

      g_propagate_error (error, file_error (path, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, reason));
      return FALSE;
    }

  if (length >= UTF8_BOM_LEN && memcmp (data, UTF8_BOM, UTF8_BOM_LEN) == 0)
    {
      data += UTF8_BOM_LEN;
      length -= UTF8_BOM_LEN;
    }

  bad = memchr (data, '\0', length);
  if (bad != NULL)
    {
      g_autofree char *reason = g_strdup_printf (_("it contains binary data (line %u)"),
                                                 line_of (data, bad));

      g_propagate_error (error, file_error (path, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, reason));
      return FALSE;
    }

  if (!g_utf8_validate_len (data, length, &bad))
    {
      g_autofree char *reason = g_strdup_printf (_("it is not valid UTF-8 text (line %u)"),
                                                 line_of (data, bad));

      g_propagate_error (error, file_error (path, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, reason));
      return FALSE;
    }

  bad = find_bare_carriage_return (data, length);
  if (bad != NULL)
    {
      g_autofree char *group = group_at (data, bad);
      g_autofree char *reason = NULL;

      if (group != NULL)
        reason = g_strdup_printf (_("line %u (in profile “%s”) has a carriage return that "
                                    "does not end the line"),
                                  line_of (data, bad), group);
      else
        reason = g_strdup_printf (_("line %u has a carriage return that does not end the "
                                    "line"),
                                  line_of (data, bad));

      g_propagate_error (error, file_error (path, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, reason));
      return FALSE;
    }

  if (!g_key_file_load_from_data (parsed->key_file, data, length, KEY_FILE_FLAGS, &local_error))
    {
      g_propagate_error (error, file_error (path, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                                            local_error->message));
      return FALSE;
    }

  header_counts = count_group_headers (data, length);
  groups = g_key_file_get_groups (parsed->key_file, NULL);
  /* (transport, internal port) -> 1 + the index of the loaded profile that maps it */
  claims = g_hash_table_new (g_direct_hash, g_direct_equal);

  for (guint i = 0; groups[i] != NULL; i++)
    {
      const char *group = groups[i];
      g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
      g_autoptr(PlProfile) profile = NULL;
      g_auto(GStrv) keys = NULL;
      gboolean duplicate_key = FALSE;

      if (GPOINTER_TO_UINT (g_hash_table_lookup (header_counts, group)) > 1)
        {
          parsed_add_problem (parsed, group,
                              g_error_new (G_IO_ERROR, G_IO_ERROR_EXISTS,
                                           _("Profile “%s”: more than one group in the file "
                                             "has this name"),
                                           group));
          if (parsed->save_error == NULL)
            parsed->save_error =
              g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _("The profiles file “%s” has more than one profile named “%s”, "
                             "and saving would merge them. Rename or remove one of them in "
                             "the file, then load the profiles again."),
                           path, group);
          continue;
        }

      /* GKeyFile keeps every line of a key given twice but reads only the last one. */
      keys = g_key_file_get_keys (parsed->key_file, group, NULL, NULL);
      for (guint j = 0; keys != NULL && keys[j] != NULL; j++)
        {
          if (!g_hash_table_add (seen, keys[j]))
            {
              parsed_add_problem (parsed, group,
                                  g_error_new (PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                                               _("Profile “%s”: %s is given more than once"),
                                               group, keys[j]));
              duplicate_key = TRUE;
              break;
            }
        }
      if (duplicate_key)
        continue;

      {
        g_autoptr(GPtrArray) problems = g_ptr_array_new ();

        profile = pl_profile_new_from_key_file (parsed->key_file, group, problems);
        for (guint j = 0; j < problems->len; j++)
          parsed_add_problem (parsed, group, g_ptr_array_index (problems, j));
      }
      if (profile == NULL)
        continue;

      if (!claim_mapping (claims, parsed->profiles, profile, &local_error))
        {
          parsed_add_problem (parsed, group, g_steal_pointer (&local_error));
          continue;
        }

      g_ptr_array_add (parsed->profiles, g_steal_pointer (&profile));
    }

  return TRUE;
}

/* Applying a load */

static void
set_save_error (PlProfileStore *self,
                GError         *error)
{
  gboolean could_save = self->save_error == NULL;

  g_clear_error (&self->save_error);
  self->save_error = error;

  if (could_save != (self->save_error == NULL))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_SAVE]);
}

static int
find_profile (GPtrArray  *profiles,
              const char *name)
{
  for (guint i = 0; i < profiles->len; i++)
    if (g_strcmp0 (pl_profile_get_name (g_ptr_array_index (profiles, i)), name) == 0)
      return (int) i;
  return -1;
}

/* One items-changed for the part of the list between the common prefix and suffix. */
static void
emit_list_diff (PlProfileStore *self,
                GPtrArray      *before,
                GPtrArray      *after)
{
  guint prefix = 0;
  guint suffix = 0;

  while (prefix < before->len && prefix < after->len
         && before->pdata[prefix] == after->pdata[prefix])
    prefix++;
  while (suffix < before->len - prefix && suffix < after->len - prefix
         && before->pdata[before->len - 1 - suffix] == after->pdata[after->len - 1 - suffix])
    suffix++;

  if (before->len != prefix + suffix || after->len != prefix + suffix)
    g_list_model_items_changed (G_LIST_MODEL (self), prefix,
                                before->len - prefix - suffix,
                                after->len - prefix - suffix);
}

/* Takes the contents of @parsed. Profiles whose name is still there keep their identity
 * and take the new values; their notifications are held until the list is consistent. */
static void
apply_parsed (PlProfileStore *self,
              Parsed         *parsed)
{
  g_autoptr(GPtrArray) before = self->profiles;
  g_autoptr(GPtrArray) after = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) frozen = g_ptr_array_new ();
  g_autoptr(GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);

  /* Names are unique in a store. */
  for (guint i = 0; i < before->len; i++)
    {
      PlProfile *profile = g_ptr_array_index (before, i);

      g_hash_table_insert (by_name, (gpointer) pl_profile_get_name (profile), profile);
    }

  for (guint i = 0; i < parsed->profiles->len; i++)
    {
      PlProfile *profile = g_ptr_array_index (parsed->profiles, i);
      PlProfile *existing = g_hash_table_lookup (by_name, pl_profile_get_name (profile));

      if (existing != NULL)
        {
          g_object_freeze_notify (G_OBJECT (existing));
          g_ptr_array_add (frozen, existing);
          pl_profile_update (existing, profile);
          g_ptr_array_add (after, g_object_ref (existing));
        }
      else
        {
          g_ptr_array_add (after, g_object_ref (profile));
        }
    }

  g_clear_pointer (&self->key_file, g_key_file_unref);
  self->key_file = g_steal_pointer (&parsed->key_file);
  g_clear_pointer (&self->problems, g_ptr_array_unref);
  self->problems = g_steal_pointer (&parsed->problems);
  g_clear_pointer (&self->problem_groups, g_ptr_array_unref);
  self->problem_groups = g_steal_pointer (&parsed->problem_groups);
  self->profiles = g_ptr_array_ref (after);

  emit_list_diff (self, before, after);

  for (guint i = 0; i < frozen->len; i++)
    g_object_thaw_notify (g_ptr_array_index (frozen, i));

  set_save_error (self, g_steal_pointer (&parsed->save_error));
  parsed_clear (parsed);
}

/* The file could not be read or parsed: keep what is loaded, refuse to save. */
static void
apply_failure (PlProfileStore *self,
               const GError   *error)
{
  g_ptr_array_set_size (self->problems, 0);
  g_ptr_array_set_size (self->problem_groups, 0);
  g_ptr_array_add (self->problems, g_error_copy (error));
  g_ptr_array_add (self->problem_groups, NULL);

  set_save_error (self, g_error_new (error->domain, error->code,
                                     _("Profiles cannot be changed or saved: %s"),
                                     error->message));
}

static gboolean
load_data (PlProfileStore  *self,
           const char      *data,
           gsize            length,
           GError         **error)
{
  GError *local_error = NULL;
  Parsed parsed;

  if (!parse_data (self->path, data, length, &parsed, &local_error))
    {
      parsed_clear (&parsed);
      apply_failure (self, local_error);
      g_propagate_error (error, local_error);
      g_signal_emit (self, signals[SIGNAL_RELOADED], 0);
      return FALSE;
    }

  apply_parsed (self, &parsed);
  g_signal_emit (self, signals[SIGNAL_RELOADED], 0);
  return TRUE;
}

/* I/O */

#define READ_CHUNK (64 * 1024)

/* Reads at most MAX_FILE_SIZE bytes: a larger file is an error (G_IO_ERROR_INVALID_DATA,
 * giving its size), found without reading it whole.
 * Returns: the content, or NULL with no error if there is no file. */
static GBytes *
read_file (PlProfileStore  *self,
           GCancellable    *cancellable,
           GError         **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GByteArray) contents = NULL;
  guint64 size = 0;
  gsize length = 0;

  stream = g_file_read (self->file, cancellable, &local_error);
  if (stream == NULL)
    {
      if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  /* The size is only a hint (not every file has one, and it may change): what counts is
   * how much there is to read. */
  info = g_file_input_stream_query_info (stream, G_FILE_ATTRIBUTE_STANDARD_SIZE, cancellable,
                                         NULL);
  if (info != NULL && g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_STANDARD_SIZE))
    size = (guint64) g_file_info_get_size (info);

  contents = g_byte_array_new ();
  while (size <= MAX_FILE_SIZE && length <= MAX_FILE_SIZE)
    {
      gsize n = 0;

      g_byte_array_set_size (contents, length + READ_CHUNK);
      if (!g_input_stream_read_all (G_INPUT_STREAM (stream), contents->data + length,
                                    READ_CHUNK, &n, cancellable, error))
        return NULL;
      length += n;
      if (n < READ_CHUNK)
        break;
    }

  if (size > MAX_FILE_SIZE || length > MAX_FILE_SIZE)
    {
      g_autofree char *reason = too_large_reason (MAX (size, length));

      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, reason);
      return NULL;
    }

  g_byte_array_set_size (contents, length);
  return g_byte_array_free_to_bytes (g_steal_pointer (&contents));
}

static gboolean
same_content (GBytes *a,
              GBytes *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return g_bytes_equal (a, b);
}

static gboolean
load_bytes (PlProfileStore  *self,
            GBytes          *bytes,
            GError         **error)
{
  const char *data = "";
  gsize length = 0;

  g_clear_pointer (&self->disk_data, g_bytes_unref);
  if (bytes != NULL)
    {
      self->disk_data = g_bytes_ref (bytes);
      data = g_bytes_get_data (bytes, &length);
      if (data == NULL)
        data = "";
    }

  return load_data (self, data, length, error);
}

static gboolean
reload_cb (gpointer user_data)
{
  PlProfileStore *self = user_data;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&self->reload_source, g_source_unref);

  bytes = read_file (self, NULL, &error);
  if (error != NULL)
    {
      g_debug ("Cannot read %s: %s", self->path, error->message);
      g_clear_pointer (&self->disk_data, g_bytes_unref);
      {
        g_autoptr(GError) wrapped = file_error (self->path, error->domain, error->code,
                                                error->message);

        apply_failure (self, wrapped);
      }
      g_signal_emit (self, signals[SIGNAL_RELOADED], 0);
      return G_SOURCE_REMOVE;
    }

  if (same_content (bytes, self->disk_data))
    {
      g_debug ("%s: no change (or our own write)", self->path);
      return G_SOURCE_REMOVE;
    }

  g_debug ("%s changed on disk, reloading", self->path);
  if (!load_bytes (self, bytes, &error))
    g_debug ("%s", error->message);

  return G_SOURCE_REMOVE;
}

static void
schedule_reload (PlProfileStore *self)
{
  pl_clear_source (&self->reload_source);

  self->reload_source = g_timeout_source_new (RELOAD_DELAY_MS);
  g_source_set_name (self->reload_source, "[portlight] profile store reload");
  g_source_set_callback (self->reload_source, reload_cb, self, NULL);
  g_source_attach (self->reload_source, self->context);
}

static void
file_changed_cb (GFileMonitor      *monitor,
                 GFile             *file,
                 GFile             *other_file,
                 GFileMonitorEvent  event,
                 gpointer           user_data)
{
  PlProfileStore *self = user_data;

  switch (event)
    {
    case G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED:
    case G_FILE_MONITOR_EVENT_PRE_UNMOUNT:
    case G_FILE_MONITOR_EVENT_UNMOUNTED:
      break;

    case G_FILE_MONITOR_EVENT_CHANGED:
    case G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT:
    case G_FILE_MONITOR_EVENT_DELETED:
    case G_FILE_MONITOR_EVENT_CREATED:
    case G_FILE_MONITOR_EVENT_MOVED:
    case G_FILE_MONITOR_EVENT_RENAMED:
    case G_FILE_MONITOR_EVENT_MOVED_IN:
    case G_FILE_MONITOR_EVENT_MOVED_OUT:
    default:
      schedule_reload (self);
      break;
    }
}

static void
stop_watching (PlProfileStore *self)
{
  if (self->monitor != NULL)
    {
      g_signal_handlers_disconnect_by_func (self->monitor, file_changed_cb, self);
      g_file_monitor_cancel (self->monitor);
      g_clear_object (&self->monitor);
    }
  pl_clear_source (&self->reload_source);
}

/* GObject */

static void
pl_profile_store_dispose (GObject *object)
{
  PlProfileStore *self = (PlProfileStore *) object;

  stop_watching (self);
  if (self->profiles != NULL)
    g_ptr_array_set_size (self->profiles, 0);

  G_OBJECT_CLASS (pl_profile_store_parent_class)->dispose (object);
}

static void
pl_profile_store_finalize (GObject *object)
{
  PlProfileStore *self = (PlProfileStore *) object;

  g_clear_pointer (&self->path, g_free);
  g_clear_object (&self->file);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->key_file, g_key_file_unref);
  g_clear_pointer (&self->profiles, g_ptr_array_unref);
  g_clear_pointer (&self->problems, g_ptr_array_unref);
  g_clear_pointer (&self->problem_groups, g_ptr_array_unref);
  g_clear_error (&self->save_error);
  g_clear_pointer (&self->disk_data, g_bytes_unref);

  G_OBJECT_CLASS (pl_profile_store_parent_class)->finalize (object);
}

static void
pl_profile_store_constructed (GObject *object)
{
  PlProfileStore *self = (PlProfileStore *) object;

  G_OBJECT_CLASS (pl_profile_store_parent_class)->constructed (object);

  if (self->path == NULL)
    self->path = pl_profile_store_get_default_path ();
  self->file = g_file_new_for_path (self->path);
}

static void
pl_profile_store_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  PlProfileStore *self = PL_PROFILE_STORE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_WATCHING:
      g_value_set_boolean (value, self->monitor != NULL);
      break;
    case PROP_CAN_SAVE:
      g_value_set_boolean (value, self->save_error == NULL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pl_profile_store_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  PlProfileStore *self = PL_PROFILE_STORE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      self->path = g_value_dup_string (value);
      break;
    case PROP_WATCHING:
      pl_profile_store_set_watching (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pl_profile_store_class_init (PlProfileStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_profile_store_dispose;
  object_class->finalize = pl_profile_store_finalize;
  object_class->constructed = pl_profile_store_constructed;
  object_class->get_property = pl_profile_store_get_property;
  object_class->set_property = pl_profile_store_set_property;

  /**
   * PlProfileStore:path:
   *
   * The profiles file. %NULL at construction means the default path.
   */
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PlProfileStore:watching:
   *
   * Whether changes made to the file by others are loaded as they happen.
   */
  properties[PROP_WATCHING] =
    g_param_spec_boolean ("watching", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlProfileStore:can-save:
   *
   * %FALSE while changes and saving are refused; pl_profile_store_can_save() says why.
   */
  properties[PROP_CAN_SAVE] =
    g_param_spec_boolean ("can-save", NULL, NULL,
                          TRUE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PlProfileStore::reloaded:
   * @self: a #PlProfileStore
   *
   * Emitted after every load, successful or not.
   */
  signals[SIGNAL_RELOADED] =
    g_signal_new ("reloaded",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
pl_profile_store_init (PlProfileStore *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->key_file = g_key_file_new ();
  self->profiles = g_ptr_array_new_with_free_func (g_object_unref);
  self->problems = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  self->problem_groups = g_ptr_array_new_with_free_func (g_free);
}

/* Public API */

/**
 * pl_profile_store_get_default_path:
 *
 * Returns: (transfer full): `g_get_user_config_dir()/portlight/profiles.ini`
 */
char *
pl_profile_store_get_default_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "portlight", "profiles.ini", NULL);
}

/**
 * pl_profile_store_new:
 * @path: (nullable): the profiles file, or %NULL for the default one
 *
 * Returns: (transfer full): a new, empty store; call pl_profile_store_load() to read the file
 */
PlProfileStore *
pl_profile_store_new (const char *path)
{
  return g_object_new (PL_TYPE_PROFILE_STORE, "path", path, NULL);
}

const char *
pl_profile_store_get_path (PlProfileStore *self)
{
  g_return_val_if_fail (PL_IS_PROFILE_STORE (self), NULL);

  return self->path;
}

/**
 * pl_profile_store_load:
 * @self: a #PlProfileStore
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads the file (see [class@Pl.ProfileStore]). On failure the profiles loaded before stay
 * and changes are refused until a load succeeds.
 *
 * Returns: %FALSE if the file could not be read or parsed at all
 */
gboolean
pl_profile_store_load (PlProfileStore  *self,
                       GCancellable    *cancellable,
                       GError         **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (PL_IS_PROFILE_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  bytes = read_file (self, cancellable, &local_error);
  if (local_error != NULL)
    {
      GError *wrapped;

      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }

      wrapped = file_error (self->path, local_error->domain, local_error->code,
                            local_error->message);
      g_clear_pointer (&self->disk_data, g_bytes_unref);
      apply_failure (self, wrapped);
      g_propagate_error (error, wrapped);
      g_signal_emit (self, signals[SIGNAL_RELOADED], 0);
      return FALSE;
    }

  return load_bytes (self, bytes, error);
}

/**
 * pl_profile_store_load_from_data:
 * @self: a #PlProfileStore
 * @data: the content of a profiles file
 * @length: the length of @data, or -1 if it is NUL-terminated
 * @error: return location for a #GError
 *
 * Like pl_profile_store_load(), without reading anything.
 *
 * Returns: %FALSE if @data could not be parsed at all
 */
gboolean
pl_profile_store_load_from_data (PlProfileStore  *self,
                                 const char      *data,
                                 gssize           length,
                                 GError         **error)
{
  g_return_val_if_fail (PL_IS_PROFILE_STORE (self), FALSE);
  g_return_val_if_fail (data != NULL || length == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (data == NULL)
    data = "";
  if (length < 0)
    length = strlen (data);

  return load_data (self, data, length, error);
}

/**
 * pl_profile_store_to_data:
 * @self: a #PlProfileStore
 * @length: (out) (optional): the length of the result
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the file's new content, or %NULL if saving is refused
 */
char *
pl_profile_store_to_data (PlProfileStore  *self,
                          gsize           *length,
                          GError         **error)
{
  g_autofree char *data = NULL;
  gsize data_length = 0;

  g_return_val_if_fail (PL_IS_PROFILE_STORE (self), NULL);

  if (!pl_profile_store_can_save (self, error))
    return NULL;

  data = g_key_file_to_data (self->key_file, &data_length, NULL);

  /* What would then be refused at the next load is not written. */
  if (data_length > MAX_FILE_SIZE)
    {
      g_autofree char *size_text = g_format_size_full (data_length, G_FORMAT_SIZE_LONG_FORMAT
                                                                    | G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *limit_text = g_format_size_full (MAX_FILE_SIZE,
                                                        G_FORMAT_SIZE_IEC_UNITS);

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                   _("Cannot save the profiles to “%s”: the file would be %s, more than the "
                     "%s a profiles file may have. Remove some profiles or shorten their "
                     "descriptions."),
                   self->path, size_text, limit_text);
      return NULL;
    }

  if (length != NULL)
    *length = data_length;
  return g_steal_pointer (&data);
}

/**
 * pl_profile_store_save:
 * @self: a #PlProfileStore
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Writes the file atomically with mode 0600, creating its directory (0700) if needed.
 *
 * Returns: %TRUE on success
 */
gboolean
pl_profile_store_save (PlProfileStore  *self,
                       GCancellable    *cancellable,
                       GError         **error)
{
  g_autoptr(GBytes) on_disk = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *data = NULL;
  g_autofree char *dir = NULL;
  gsize length = 0;

  g_return_val_if_fail (PL_IS_PROFILE_STORE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  data = pl_profile_store_to_data (self, &length, error);
  if (data == NULL)
    return FALSE;

  /* Never overwrite what someone else wrote since we last looked. */
  on_disk = read_file (self, cancellable, &local_error);
  if (local_error != NULL)
    {
      g_set_error (error, local_error->domain, local_error->code,
                   _("Cannot save the profiles to “%s”: %s"), self->path, local_error->message);
      return FALSE;
    }
  if (!same_content (on_disk, self->disk_data))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_WRONG_ETAG,
                   _("The profiles file “%s” was changed by another program since it was "
                     "read. Load the profiles again, then retry."),
                   self->path);
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

  /* A save killed here can leave GLib's temporary file (profiles.ini.XXXXXX) next to the
   * file. It is left alone: its name cannot be told from a copy the user made (say
   * profiles.ini.backup), and deleting that would be far worse than a stray file. */
  if (!g_file_set_contents_full (self->path, data, length,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, &local_error))
    {
      g_set_error (error, local_error->domain, local_error->code,
                   _("Cannot save the profiles to “%s”: %s"), self->path, local_error->message);
      return FALSE;
    }

  g_clear_pointer (&self->disk_data, g_bytes_unref);
  self->disk_data = g_bytes_new_take (g_steal_pointer (&data), length);
  return TRUE;
}

/**
 * pl_profile_store_get_problems:
 * @self: a #PlProfileStore
 *
 * Returns: (transfer none) (element-type GError): the problems found by the last load
 */
GPtrArray *
pl_profile_store_get_problems (PlProfileStore *self)
{
  g_return_val_if_fail (PL_IS_PROFILE_STORE (self), NULL);

  return self->problems;
}

/**
 * pl_profile_store_can_save:
 * @self: a #PlProfileStore
 * @error: return location for the reason
 *
 * Returns: %FALSE while changes and saving are refused
 */
gboolean
pl_profile_store_can_save (PlProfileStore  *self,
                           GError         **error)
{
  g_return_val_if_fail (PL_IS_PROFILE_STORE (self), FALSE);

  if (self->save_error != NULL)
    {
      if (error != NULL)
        *error = g_error_copy (self->save_error);
      return FALSE;
    }
  return TRUE;
}

PlProfile *
pl_profile_store_lookup (PlProfileStore *self,
                         const char     *name)
{
  int i;

  g_return_val_if_fail (PL_IS_PROFILE_STORE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  i = find_profile (self->profiles, name);
  return i >= 0 ? g_ptr_array_index (self->profiles, i) : NULL;
}

gboolean
pl_profile_store_has_name (PlProfileStore *self,
                           const char     *name)
{
  g_return_val_if_fail (PL_IS_PROFILE_STORE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  return g_key_file_has_group (self->key_file, name);
}

/* The loaded profile @name, or an error saying why there is none. */
static int
find_loaded (PlProfileStore  *self,
             const char      *name,
             GError         **error)
{
  int i = find_profile (self->profiles, name);

  if (i >= 0)
    return i;

  if (g_key_file_has_group (self->key_file, name))
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 _("Profile “%s” could not be loaded from “%s”: fix it there or remove it"),
                 name, self->path);
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                 _("No profile named “%s”"), name);
  return -1;
}

static gboolean
check_free (PlProfileStore  *self,
            PlProfile       *profile,
            PlProfile       *ignore,
            GError         **error)
{
  const char *name = pl_profile_get_name (profile);

  if ((ignore == NULL || g_strcmp0 (name, pl_profile_get_name (ignore)) != 0)
      && g_key_file_has_group (self->key_file, name))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   _("A profile named “%s” already exists"), name);
      return FALSE;
    }

  for (guint i = 0; i < self->profiles->len; i++)
    {
      PlProfile *other = g_ptr_array_index (self->profiles, i);

      if (other == ignore || !pl_profile_overlaps (profile, other))
        continue;

      g_propagate_error (error, clash_error (profile, other));
      return FALSE;
    }

  return TRUE;
}

/**
 * pl_profile_store_add:
 * @self: a #PlProfileStore
 * @profile: the profile to add (a copy is stored)
 * @error: return location for a #GError
 *
 * Returns: %TRUE if the profile was valid and free, and has been added
 */
gboolean
pl_profile_store_add (PlProfileStore  *self,
                      PlProfile       *profile,
                      GError         **error)
{
  PlProfile *copy;

  g_return_val_if_fail (PL_IS_PROFILE_STORE (self), FALSE);
  g_return_val_if_fail (PL_IS_PROFILE (profile), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!pl_profile_store_can_save (self, error)
      || !pl_profile_validate (profile, error)
      || !check_free (self, profile, NULL, error))
    return FALSE;

  copy = pl_profile_copy (profile);
  pl_profile_write_to_key_file (copy, self->key_file);
  g_ptr_array_add (self->profiles, copy);
  g_list_model_items_changed (G_LIST_MODEL (self), self->profiles->len - 1, 0, 1);
  return TRUE;
}

static void
forget_problems (PlProfileStore *self,
                 const char     *group)
{
  for (guint i = self->problems->len; i > 0; i--)
    {
      if (g_strcmp0 (g_ptr_array_index (self->problem_groups, i - 1), group) == 0)
        {
          g_ptr_array_remove_index (self->problems, i - 1);
          g_ptr_array_remove_index (self->problem_groups, i - 1);
        }
    }
}

/**
 * pl_profile_store_remove:
 * @self: a #PlProfileStore
 * @name: the profile's name
 * @error: return location for a #GError
 *
 * Removes the profile, or the group of that name that could not be loaded.
 *
 * Returns: %TRUE if it was there and has been removed
 */
gboolean
pl_profile_store_remove (PlProfileStore  *self,
                         const char      *name,
                         GError         **error)
{
  int i;

  g_return_val_if_fail (PL_IS_PROFILE_STORE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!pl_profile_store_can_save (self, error))
    return FALSE;

  if (!g_key_file_has_group (self->key_file, name))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("No profile named “%s”"), name);
      return FALSE;
    }

  g_key_file_remove_group (self->key_file, name, NULL);
  forget_problems (self, name);

  i = find_profile (self->profiles, name);
  if (i >= 0)
    {
      g_ptr_array_remove_index (self->profiles, i);
      g_list_model_items_changed (G_LIST_MODEL (self), i, 1, 0);
    }
  return TRUE;
}

/* Two edits GKeyFile cannot make well: renaming a group (it has no API for it), and adding
 * keys to a group that ends with blank lines or comments (it appends them after those). Its
 * output has one "[name]" line per group, at the start of a line, so make the edit in that
 * text and parse the result: the group keeps its place, its keys and its comments. New lines
 * go after the group's last key. */
static gboolean
edit_group_text (PlProfileStore  *self,
                 const char      *group,
                 const char      *new_name,
                 const char      *new_lines,
                 GError         **error)
{
  g_autoptr(GKeyFile) edited = g_key_file_new ();
  g_autoptr(GString) out = NULL;
  g_autofree char *data = NULL;
  g_autofree char *header = g_strdup_printf ("[%s]", group);
  gsize header_len = strlen (header);
  gsize insert_at = 0;
  gboolean in_group = FALSE;
  gboolean found = FALSE;
  gsize length;
  const char *p;
  const char *end;

  data = g_key_file_to_data (self->key_file, &length, NULL);
  out = g_string_sized_new (length + 256);

  for (p = data, end = data + length; p < end;)
    {
      const char *nl = memchr (p, '\n', end - p);
      const char *line_end = nl != NULL ? nl : end;
      gsize line_len = line_end - p;

      if (line_len > 0 && *p == '[')
        in_group = FALSE;

      if (!found && line_len == header_len && memcmp (p, header, header_len) == 0)
        {
          g_string_append_printf (out, "[%s]", new_name != NULL ? new_name : group);
          found = TRUE;
          in_group = TRUE;
          insert_at = out->len + 1;
        }
      else
        {
          g_string_append_len (out, p, line_len);
          if (in_group && line_len > 0 && *p != '#')
            insert_at = out->len + 1;
        }
      g_string_append_c (out, '\n');
      p = line_end + 1;
    }

  if (found && new_lines != NULL)
    g_string_insert (out, MIN (insert_at, out->len), new_lines);

  if (!found || !g_key_file_load_from_data (edited, out->str, out->len, KEY_FILE_FLAGS, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("Cannot update profile “%s” in the profiles file"), group);
      return FALSE;
    }

  g_key_file_unref (self->key_file);
  self->key_file = g_steal_pointer (&edited);
  return TRUE;
}

/* Writes @profile's keys into its group: existing keys change in place, missing ones go
 * after the group's last key, a new group goes at the end. */
static gboolean
write_profile (PlProfileStore  *self,
               PlProfile       *profile,
               GError         **error)
{
  const char *group = pl_profile_get_name (profile);
  g_autoptr(GKeyFile) fresh = NULL;
  g_autoptr(GString) missing = NULL;
  g_auto(GStrv) keys = NULL;

  if (!g_key_file_has_group (self->key_file, group))
    {
      pl_profile_write_to_key_file (profile, self->key_file);
      return TRUE;
    }

  /* The values as GKeyFile writes them (escaped). A Family key the group has is written
   * even when back at the default, so that the file says what the profile now is. */
  fresh = g_key_file_new ();
  if (g_key_file_has_key (self->key_file, group, PL_PROFILE_KEY_FAMILY, NULL))
    g_key_file_set_value (fresh, group, PL_PROFILE_KEY_FAMILY, "both");
  pl_profile_write_to_key_file (profile, fresh);
  keys = g_key_file_get_keys (fresh, group, NULL, NULL);
  missing = g_string_new (NULL);

  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      g_autofree char *value = g_key_file_get_value (fresh, group, keys[i], NULL);

      if (g_key_file_has_key (self->key_file, group, keys[i], NULL))
        {
          g_autofree char *old = g_key_file_get_string (self->key_file, group, keys[i], NULL);
          g_autofree char *new = g_key_file_get_string (fresh, group, keys[i], NULL);

          /* The same text escaped otherwise ("\s" for a space) stays byte for byte. */
          if (old == NULL || g_strcmp0 (old, new) != 0)
            g_key_file_set_value (self->key_file, group, keys[i], value);
        }
      else
        g_string_append_printf (missing, "%s=%s\n", keys[i], value);
    }
  if (pl_profile_get_description (profile) == NULL)
    g_key_file_remove_key (self->key_file, group, PL_PROFILE_KEY_DESCRIPTION, NULL);
  if (pl_profile_get_on_port_change (profile) == NULL)
    g_key_file_remove_key (self->key_file, group, PL_PROFILE_KEY_ON_PORT_CHANGE, NULL);
  /* App= */
  if (pl_profile_get_app (profile) == NULL)
    g_key_file_remove_key (self->key_file, group, PL_PROFILE_KEY_APP, NULL);
  if (pl_profile_get_gateway (profile) == NULL)
    g_key_file_remove_key (self->key_file, group, PL_PROFILE_KEY_GATEWAY, NULL);
  if (pl_profile_get_network (profile) == NULL)
    g_key_file_remove_key (self->key_file, group, PL_PROFILE_KEY_NETWORK, NULL);

  if (missing->len == 0)
    return TRUE;
  return edit_group_text (self, group, NULL, missing->str, error);
}

/**
 * pl_profile_store_replace:
 * @self: a #PlProfileStore
 * @name: the name of the profile to change
 * @profile: its new values, possibly with a new name
 * @error: return location for a #GError
 *
 * Returns: %TRUE if the new values were valid and free, and have been stored
 */
gboolean
pl_profile_store_replace (PlProfileStore  *self,
                          const char      *name,
                          PlProfile       *profile,
                          GError         **error)
{
  g_autofree char *old_name = NULL;
  PlProfile *stored;
  int i;

  g_return_val_if_fail (PL_IS_PROFILE_STORE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (PL_IS_PROFILE (profile), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!pl_profile_store_can_save (self, error))
    return FALSE;

  i = find_loaded (self, name, error);
  if (i < 0)
    return FALSE;
  stored = g_ptr_array_index (self->profiles, i);

  if (!pl_profile_validate (profile, error) || !check_free (self, profile, stored, error))
    return FALSE;

  old_name = g_strdup (name);
  if (g_strcmp0 (old_name, pl_profile_get_name (profile)) != 0
      && !edit_group_text (self, old_name, pl_profile_get_name (profile), NULL, error))
    return FALSE;

  if (!write_profile (self, profile, error))
    return FALSE;
  pl_profile_update (stored, profile);
  return TRUE;
}

/**
 * pl_profile_store_set_enabled:
 * @self: a #PlProfileStore
 * @name: the profile's name
 * @enabled: whether it should be enabled
 * @error: return location for a #GError
 *
 * Returns: %TRUE if the profile exists (its state is then @enabled)
 */
gboolean
pl_profile_store_set_enabled (PlProfileStore  *self,
                              const char      *name,
                              gboolean         enabled,
                              GError         **error)
{
  PlProfile *stored;
  int i;

  g_return_val_if_fail (PL_IS_PROFILE_STORE (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!pl_profile_store_can_save (self, error))
    return FALSE;

  i = find_loaded (self, name, error);
  if (i < 0)
    return FALSE;
  stored = g_ptr_array_index (self->profiles, i);

  /* Only this key changes in the file. */
  if (g_key_file_has_key (self->key_file, name, PL_PROFILE_KEY_ENABLED, NULL))
    {
      g_key_file_set_value (self->key_file, name, PL_PROFILE_KEY_ENABLED,
                            enabled ? "true" : "false");
    }
  else
    {
      g_autofree char *line = g_strdup_printf ("%s=%s\n", PL_PROFILE_KEY_ENABLED,
                                               enabled ? "true" : "false");

      if (!edit_group_text (self, name, NULL, line, error))
        return FALSE;
    }
  pl_profile_set_enabled (stored, enabled);
  return TRUE;
}

/**
 * pl_profile_store_set_watching:
 * @self: a #PlProfileStore
 * @watching: whether to follow changes made to the file by others
 */
void
pl_profile_store_set_watching (PlProfileStore *self,
                               gboolean        watching)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (PL_IS_PROFILE_STORE (self));

  if (watching == (self->monitor != NULL))
    return;

  if (watching)
    {
      g_autoptr(GFile) folder = g_file_get_parent (self->file);
      g_autofree char *folder_path = folder != NULL ? g_file_get_path (folder) : NULL;

      /* GLib watches a file in a missing folder by polling it every 4 s, which would wake an
       * idle engine all day: create the (private) folder first, as a save would, so that the
       * watch is a plain inotify one. Failing that, polling still works. */
      if (folder_path != NULL && g_mkdir_with_parents (folder_path, 0700) != 0)
        g_debug ("Cannot create %s (%s): watching it by polling", folder_path,
                 g_strerror (errno));

      /* The monitor reports on the thread-default context, which is the store's. */
      self->monitor = g_file_monitor_file (self->file, G_FILE_MONITOR_NONE, NULL, &error);
      if (self->monitor == NULL)
        {
          g_warning ("Cannot watch %s for changes: %s", self->path, error->message);
          return;
        }
      g_signal_connect_object (self->monitor, "changed",
                               G_CALLBACK (file_changed_cb), self, 0);
    }
  else
    {
      stop_watching (self);
    }

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WATCHING]);
}

gboolean
pl_profile_store_get_watching (PlProfileStore *self)
{
  g_return_val_if_fail (PL_IS_PROFILE_STORE (self), FALSE);

  return self->monitor != NULL;
}
