/* pl-method-memory.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

/* Which protocol each gateway speaks, so that a start need not probe again.
 *
 * A router that silently drops PCP costs a probe PL_MAPPER_PROBE_PCP_GRACE_MS of waiting;
 * remembering that it speaks NAT-PMP saves that at every later start. A gateway is known by
 * its address and its MAC address (from the neighbour table): another network with the
 * same 192.168.1.1 is another router. Without a MAC there is no memory.
 *
 * The file, by default $XDG_STATE_HOME/portlight/gateways.ini:
 *
 *     [Portlight]
 *     Version=1
 *
 *     [gateway 192.168.1.1 aa:bb:cc:dd:ee:ff]
 *     Protocol=natpmp
 *     Seen=1780000000
 *
 * - [Portlight] Version: must be 1; a file without this group, or of another version, is
 *   refused. Other keys in [Portlight] are kept as they are.
 * - One group per gateway, named "gateway ADDRESS MAC": an IP address and six hexadecimal
 *   pairs separated by colons (either case). No two groups may name the same gateway.
 * - Protocol: pcp or natpmp (as pl_method_from_string() reads them, "auto" excepted).
 * - Seen: when the gateway last answered in that protocol, in seconds since 1970. It only
 *   chooses which gateways to drop: at most PL_METHOD_MEMORY_MAX_GATEWAYS are kept, and a
 *   save or a new gateway drops the least recently seen beyond that (ties: the one
 *   remembered longest ago). A file with more is still read whole.
 *
 * What is not ours is kept: groups whose name does not start with "gateway ", keys other
 * than Protocol and Seen in our groups, and comments, are written back unchanged (a
 * forgotten or dropped gateway loses its whole group). What is ours must be right: a group
 * named "gateway ..." with a bad address or MAC, a Protocol or Seen missing, wrong or given
 * twice, a group given twice, binary data, text that is not UTF-8 or not a key file, or a
 * file over PL_STATE_FILE_MAX_SIZE refuses the whole file with a message naming it, the
 * group's line and the problem. The file is then never saved over (PlStateFile): the
 * memory only saves a probe, while the file may hold something the user cares about. An
 * empty or missing file is an empty memory.
 *
 * Saving is PlStateFile's: atomic, mode 0600, and never over a file changed on disk since
 * it was loaded or saved. Not thread-safe: use it from one thread. */

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "pl-ipv6-route.h"
#include "pl-method-memory.h"
#include "pl-state-file.h"

#define FILE_VERSION       1
#define DEFAULT_FILE_NAME  "gateways.ini"
#define GROUP_PREFIX       "gateway "
#define KEY_PROTOCOL       "Protocol"
#define KEY_SEEN           "Seen"
#define KEY_FILE_FLAGS     (G_KEY_FILE_KEEP_COMMENTS | G_KEY_FILE_KEEP_TRANSLATIONS)
#define MAC_SIZE           6

typedef struct
{
  GInetAddress *gateway;
  guint8        mac[MAC_SIZE];
  PlMethod      method;       /* PCP or NATPMP */
  gint64        seen;         /* seconds since 1970 */
  char         *group;        /* its group in the file: as read, or written from the key */
} Entry;

struct _PlMethodMemory
{
  GObject      parent_instance;

  PlStateFile *file;
  GKeyFile    *key_file;   /* the file as last loaded: what is not ours is kept from here */
  GPtrArray   *entries;    /* Entry*, the one remembered longest ago first */
};

G_DEFINE_FINAL_TYPE (PlMethodMemory, pl_method_memory, G_TYPE_OBJECT)

static void
entry_free (Entry *entry)
{
  if (entry == NULL)
    return;

  g_clear_object (&entry->gateway);
  g_free (entry->group);
  g_free (entry);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Entry, entry_free)

static GPtrArray *
entries_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
}

static char *
group_name (GInetAddress *gateway,
            const guint8 *mac)
{
  g_autofree char *address = g_inet_address_to_string (gateway);
  g_autofree char *mac_text = pl_neighbour_format_mac (mac);

  return g_strconcat (GROUP_PREFIX, address, " ", mac_text, NULL);
}

static gboolean
entry_matches (const Entry  *entry,
               GInetAddress *gateway,
               const guint8 *mac)
{
  return g_inet_address_equal (entry->gateway, gateway)
         && (mac == NULL || memcmp (entry->mac, mac, MAC_SIZE) == 0);
}

/* Messages */

static char *
describe (PlStateFileMessage  message,
          const char         *path,
          const char         *a,
          const char         *b)
{
  switch (message)
    {
    case PL_STATE_FILE_MESSAGE_CANNOT_READ:
      return g_strdup_printf (_("Cannot read the gateway protocol file “%s”: %s"), path, a);
    case PL_STATE_FILE_MESSAGE_REFUSED:
      return g_strdup_printf (_("Cannot read the gateway protocol file “%s”: %s. The file has "
                                "been left as it is: until it is fixed or moved away, "
                                "Portlight asks each gateway again which protocol it speaks."),
                              path, a);
    case PL_STATE_FILE_MESSAGE_TOO_LARGE:
      return g_strdup_printf (_("it is %s, more than the %s a gateway protocol file may have"),
                              a, b);
    case PL_STATE_FILE_MESSAGE_NOT_SAVED:
      return g_strdup_printf (_("The gateway protocols are not saved to “%s”, so as not to "
                                "overwrite a file that could not be read. %s"),
                              path, a);
    case PL_STATE_FILE_MESSAGE_SAVE_TOO_LARGE:
      return g_strdup_printf (_("Cannot save the gateway protocols to “%s”: the file would be "
                                "%s, more than the %s a gateway protocol file may have"),
                              path, a, b);
    case PL_STATE_FILE_MESSAGE_CANNOT_SAVE:
      return g_strdup_printf (_("Cannot save the gateway protocols to “%s”: %s"), path, a);
    case PL_STATE_FILE_MESSAGE_CHANGED:
      return g_strdup_printf (_("The gateway protocol file “%s” was changed by another "
                                "program since it was read. Load it again, then retry."),
                              path);
    default:
      break;
    }
  g_return_val_if_reached (g_strdup (path));
}

/* Parsing: pure, no I/O */

static gboolean
parse_mac (const char *text,
           guint8     *mac)
{
  if (strlen (text) != 3 * MAC_SIZE - 1)
    return FALSE;

  for (guint i = 0; i < MAC_SIZE; i++)
    {
      int high = g_ascii_xdigit_value (text[3 * i]);
      int low = g_ascii_xdigit_value (text[3 * i + 1]);

      if (high < 0 || low < 0)
        return FALSE;
      if (i + 1 < MAC_SIZE && text[3 * i + 2] != ':')
        return FALSE;
      mac[i] = (guint8) (high << 4 | low);
    }
  return TRUE;
}

/* The value of @key, which must be given once; or NULL and the reason. */
static char *
get_value (GKeyFile    *key_file,
           const char  *group,
           const char  *where,
           const char  *key,
           char       **reason)
{
  g_auto(GStrv) keys = g_key_file_get_keys (key_file, group, NULL, NULL);
  guint count = 0;

  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    if (g_str_equal (keys[i], key))
      count++;

  if (count == 0)
    {
      *reason = g_strdup_printf (_("%s: %s is missing"), where, key);
      return NULL;
    }
  /* GKeyFile keeps every line of a key given twice, but reads only the last one. */
  if (count > 1)
    {
      *reason = g_strdup_printf (_("%s: %s is given more than once"), where, key);
      return NULL;
    }
  return g_key_file_get_value (key_file, group, key, NULL);
}

/* Reads the gateway in @group (named GROUP_PREFIX...), or returns the reason it cannot. */
static Entry *
parse_entry (GKeyFile    *key_file,
             GHashTable  *headers,
             const char  *group,
             char       **reason)
{
  g_autoptr(Entry) entry = g_new0 (Entry, 1);
  g_autofree char *where = pl_state_file_group_where (headers, group);
  g_autofree char *address = NULL;
  g_autofree char *protocol = NULL;
  g_autofree char *seen = NULL;
  const char *name = group + strlen (GROUP_PREFIX);
  const char *space = strchr (name, ' ');

  if (space == NULL || space == name || strchr (space + 1, ' ') != NULL)
    {
      /* TRANSLATORS: “gateway” is the text of the file, not to be translated; ADDRESS and
       * MAC stand for an IP address and a MAC address. */
      *reason = g_strdup_printf (_("%s: a gateway group must be named “gateway ADDRESS MAC”"),
                                 where);
      return NULL;
    }

  address = g_strndup (name, space - name);
  entry->gateway = g_inet_address_new_from_string (address);
  if (entry->gateway == NULL)
    {
      *reason = g_strdup_printf (_("%s: “%s” is not an IP address"), where, address);
      return NULL;
    }
  if (!parse_mac (space + 1, entry->mac))
    {
      *reason = g_strdup_printf (_("%s: “%s” is not a MAC address such as "
                                   "aa:bb:cc:dd:ee:ff"),
                                 where, space + 1);
      return NULL;
    }

  protocol = get_value (key_file, group, where, KEY_PROTOCOL, reason);
  if (protocol == NULL)
    return NULL;
  if (!pl_method_from_string (protocol, &entry->method) || entry->method == PL_METHOD_AUTO)
    {
      *reason = g_strdup_printf (_("%s: %s=%s is not valid: %s"), where, KEY_PROTOCOL, protocol,
                                 _("expected “pcp”, “natpmp” or “upnp”"));
      return NULL;
    }

  seen = get_value (key_file, group, where, KEY_SEEN, reason);
  if (seen == NULL)
    return NULL;
  if (!g_ascii_string_to_signed (seen, 10, 0, G_MAXINT64, &entry->seen, NULL))
    {
      *reason = g_strdup_printf (_("%s: %s=%s is not valid: %s"), where, KEY_SEEN, seen,
                                 _("expected a time in seconds since 1970"));
      return NULL;
    }

  entry->group = g_strdup (group);
  return g_steal_pointer (&entry);
}

typedef struct
{
  GKeyFile  *key_file;
  GPtrArray *entries;
} Parsed;

/* For g_ptr_array_sort(), which is stable: ties keep the file's order. */
static int
compare_seen (gconstpointer a,
              gconstpointer b)
{
  const Entry *entry_a = *(const Entry * const *) a;
  const Entry *entry_b = *(const Entry * const *) b;

  return (entry_a->seen > entry_b->seen) - (entry_a->seen < entry_b->seen);
}

static gboolean
parse_data (const char  *data,
            gsize        length,
            gpointer     user_data,
            char       **reason)
{
  Parsed *parsed = user_data;
  g_autoptr(GPtrArray) entries = entries_new ();
  g_autoptr(GKeyFile) key_file = NULL;
  g_autoptr(GHashTable) headers = NULL;
  g_auto(GStrv) groups = NULL;

  if (!pl_state_file_parse_key_file (data, length, KEY_FILE_FLAGS, FILE_VERSION,
                                     PL_STATE_FILE_HEADER_NONE, &key_file, &headers, reason))
    return FALSE;

  groups = g_key_file_get_groups (key_file, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      Entry *entry;

      /* Not ours: kept as it is. */
      if (!g_str_has_prefix (groups[i], GROUP_PREFIX))
        continue;

      entry = parse_entry (key_file, headers, groups[i], reason);
      if (entry == NULL)
        return FALSE;

      for (guint j = 0; j < entries->len; j++)
        {
          Entry *other = g_ptr_array_index (entries, j);

          if (entry_matches (other, entry->gateway, entry->mac))
            {
              g_autofree char *where = pl_state_file_group_where (headers, groups[i]);
              g_autofree char *other_where = pl_state_file_group_where (headers, other->group);

              entry_free (entry);
              *reason = g_strdup_printf (_("%s names the same gateway as %s"), where,
                                         other_where);
              return FALSE;
            }
        }

      g_ptr_array_add (entries, entry);
    }

  /* The least recently seen first, as if remembered in that order. */
  g_ptr_array_sort (entries, compare_seen);
  parsed->key_file = g_steal_pointer (&key_file);
  parsed->entries = g_steal_pointer (&entries);
  return TRUE;
}

/* Keeping the bound */

static void
drop_least_recent (PlMethodMemory *self)
{
  while (self->entries->len > PL_METHOD_MEMORY_MAX_GATEWAYS)
    {
      guint oldest = 0;

      for (guint i = 1; i < self->entries->len; i++)
        {
          const Entry *entry = g_ptr_array_index (self->entries, i);
          const Entry *best = g_ptr_array_index (self->entries, oldest);

          if (entry->seen < best->seen)
            oldest = i;
        }
      g_ptr_array_remove_index (self->entries, oldest);
    }
}

static gboolean
has_entry_group (PlMethodMemory *self,
                 const char     *group)
{
  for (guint i = 0; i < self->entries->len; i++)
    {
      const Entry *entry = g_ptr_array_index (self->entries, i);

      if (g_str_equal (entry->group, group))
        return TRUE;
    }
  return FALSE;
}

/* Brings the key file up to date with the entries and returns its text. */
static char *
to_data (PlMethodMemory *self,
         gsize          *length)
{
  g_auto(GStrv) groups = g_key_file_get_groups (self->key_file, NULL);

  for (guint i = 0; groups[i] != NULL; i++)
    if (g_str_has_prefix (groups[i], GROUP_PREFIX) && !has_entry_group (self, groups[i]))
      g_key_file_remove_group (self->key_file, groups[i], NULL);

  /* First, in a new file. */
  if (!g_key_file_has_key (self->key_file, PL_STATE_FILE_GROUP_PORTLIGHT,
                           PL_STATE_FILE_KEY_VERSION, NULL))
    g_key_file_set_integer (self->key_file, PL_STATE_FILE_GROUP_PORTLIGHT,
                            PL_STATE_FILE_KEY_VERSION, FILE_VERSION);

  for (guint i = 0; i < self->entries->len; i++)
    {
      const Entry *entry = g_ptr_array_index (self->entries, i);

      g_key_file_set_string (self->key_file, entry->group, KEY_PROTOCOL,
                             pl_method_to_string (entry->method));
      g_key_file_set_int64 (self->key_file, entry->group, KEY_SEEN, entry->seen);
    }

  return g_key_file_to_data (self->key_file, length, NULL);
}

/* GObject */

static void
pl_method_memory_finalize (GObject *object)
{
  PlMethodMemory *self = (PlMethodMemory *) object;

  g_clear_pointer (&self->file, pl_state_file_free);
  g_clear_pointer (&self->key_file, g_key_file_unref);
  g_clear_pointer (&self->entries, g_ptr_array_unref);

  G_OBJECT_CLASS (pl_method_memory_parent_class)->finalize (object);
}

static void
pl_method_memory_class_init (PlMethodMemoryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = pl_method_memory_finalize;
}

static void
pl_method_memory_init (PlMethodMemory *self)
{
  self->key_file = g_key_file_new ();
  self->entries = entries_new ();
}

/* API */

/**
 * pl_method_memory_get_default_path:
 *
 * Returns: (transfer full): `$XDG_STATE_HOME/portlight/gateways.ini`
 */
char *
pl_method_memory_get_default_path (void)
{
  return pl_state_file_default_path (DEFAULT_FILE_NAME);
}

/**
 * pl_method_memory_new:
 * @path: (nullable): the file; %NULL for pl_method_memory_get_default_path()
 *
 * Nothing is read until pl_method_memory_load(); until then a save succeeds only if there
 * is no file.
 *
 * Returns: (transfer full): a new, empty #PlMethodMemory
 */
PlMethodMemory *
pl_method_memory_new (const char *path)
{
  PlMethodMemory *self = g_object_new (PL_TYPE_METHOD_MEMORY, NULL);

  self->file = pl_state_file_new (path, DEFAULT_FILE_NAME, describe);
  return self;
}

const char *
pl_method_memory_get_path (PlMethodMemory *self)
{
  g_return_val_if_fail (PL_IS_METHOD_MEMORY (self), NULL);

  return pl_state_file_get_path (self->file);
}

/**
 * pl_method_memory_load:
 * @self: a #PlMethodMemory
 * @error: return location for a #GError
 *
 * Replaces what @self remembers with the file's. A missing or empty file remembers nothing.
 * A file that cannot be read (%G_IO_ERROR), or is wrong (%PL_ERROR_INVALID_ARGUMENT, naming
 * the file and the problem), leaves @self as it was and makes every later save fail, so
 * that the file is not overwritten, until a load succeeds.
 *
 * Returns: %TRUE if the file was missing or has been loaded
 */
gboolean
pl_method_memory_load (PlMethodMemory  *self,
                       GError         **error)
{
  Parsed parsed = { NULL, NULL };

  g_return_val_if_fail (PL_IS_METHOD_MEMORY (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!pl_state_file_load (self->file, parse_data, &parsed, error))
    return FALSE;

  g_clear_pointer (&self->key_file, g_key_file_unref);
  self->key_file = parsed.key_file;
  g_clear_pointer (&self->entries, g_ptr_array_unref);
  self->entries = parsed.entries;
  return TRUE;
}

/**
 * pl_method_memory_can_save:
 * @self: a #PlMethodMemory
 * @error: return location for the reason
 *
 * Returns: %FALSE while saving is refused because the file could not be loaded
 */
gboolean
pl_method_memory_can_save (PlMethodMemory  *self,
                           GError         **error)
{
  g_return_val_if_fail (PL_IS_METHOD_MEMORY (self), FALSE);

  return pl_state_file_can_save (self->file, error);
}

/**
 * pl_method_memory_save:
 * @self: a #PlMethodMemory
 * @error: return location for a #GError
 *
 * Writes what @self remembers (at most %PL_METHOD_MEMORY_MAX_GATEWAYS gateways), with what
 * the file held that is not ours, atomically with mode 0600. Fails, writing nothing, after
 * a refused load, or if the file changed since it was last loaded or saved
 * (%G_IO_ERROR_WRONG_ETAG).
 *
 * Returns: %TRUE on success
 */
gboolean
pl_method_memory_save (PlMethodMemory  *self,
                       GError         **error)
{
  g_autofree char *data = NULL;
  gsize length = 0;

  g_return_val_if_fail (PL_IS_METHOD_MEMORY (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!pl_state_file_can_save (self->file, error))
    return FALSE;

  drop_least_recent (self);
  data = to_data (self, &length);
  return pl_state_file_save (self->file, data, length, error);
}

/**
 * pl_method_memory_lookup:
 * @self: a #PlMethodMemory
 * @gateway: the gateway's address
 * @mac: (nullable) (array fixed-size=6): its MAC address; %NULL never matches
 * @method: (out) (optional): %PL_METHOD_PCP, %PL_METHOD_NATPMP or %PL_METHOD_UPNP
 *
 * Changes nothing: call pl_method_memory_remember() once the gateway has answered, so that
 * it counts as recently seen.
 *
 * Returns: %TRUE if the protocol of this gateway (address and MAC) is remembered
 */
gboolean
pl_method_memory_lookup (PlMethodMemory *self,
                         GInetAddress   *gateway,
                         const guint8   *mac,
                         PlMethod       *method)
{
  g_return_val_if_fail (PL_IS_METHOD_MEMORY (self), FALSE);
  g_return_val_if_fail (G_IS_INET_ADDRESS (gateway), FALSE);

  /* No MAC, no memory: another network may have a gateway at the same address. */
  if (mac == NULL)
    return FALSE;

  for (guint i = 0; i < self->entries->len; i++)
    {
      const Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry_matches (entry, gateway, mac))
        {
          if (method != NULL)
            *method = entry->method;
          return TRUE;
        }
    }
  return FALSE;
}

/**
 * pl_method_memory_remember:
 * @self: a #PlMethodMemory
 * @gateway: the gateway's address
 * @mac: (nullable) (array fixed-size=6): its MAC address; with %NULL nothing is remembered
 * @method: %PL_METHOD_PCP, %PL_METHOD_NATPMP or %PL_METHOD_UPNP
 *
 * Remembers that the gateway speaks @method, seen now. When that makes more than
 * %PL_METHOD_MEMORY_MAX_GATEWAYS, the least recently seen is forgotten. Nothing is written
 * until pl_method_memory_save().
 */
void
pl_method_memory_remember (PlMethodMemory *self,
                           GInetAddress   *gateway,
                           const guint8   *mac,
                           PlMethod        method)
{
  Entry *entry = NULL;

  g_return_if_fail (PL_IS_METHOD_MEMORY (self));
  g_return_if_fail (G_IS_INET_ADDRESS (gateway));
  g_return_if_fail (method == PL_METHOD_PCP || method == PL_METHOD_NATPMP ||
                    method == PL_METHOD_UPNP);

  if (mac == NULL)
    return;

  for (guint i = 0; i < self->entries->len; i++)
    {
      if (entry_matches (g_ptr_array_index (self->entries, i), gateway, mac))
        {
          /* To the end: the most recently remembered. */
          entry = g_ptr_array_steal_index (self->entries, i);
          break;
        }
    }

  if (entry == NULL)
    {
      entry = g_new0 (Entry, 1);
      entry->gateway = g_object_ref (gateway);
      memcpy (entry->mac, mac, MAC_SIZE);
      entry->group = group_name (gateway, mac);
    }
  entry->method = method;
  entry->seen = g_get_real_time () / G_USEC_PER_SEC;
  g_ptr_array_add (self->entries, entry);

  drop_least_recent (self);
}

/**
 * pl_method_memory_forget:
 * @self: a #PlMethodMemory
 * @gateway: the gateway's address
 * @mac: (nullable) (array fixed-size=6): its MAC address; %NULL: every gateway at @gateway
 *
 * Forgets the protocol of the gateway, e.g. when it no longer answers in it. Nothing is
 * written until pl_method_memory_save().
 *
 * Returns: %TRUE if something was forgotten
 */
gboolean
pl_method_memory_forget (PlMethodMemory *self,
                         GInetAddress   *gateway,
                         const guint8   *mac)
{
  gboolean removed = FALSE;

  g_return_val_if_fail (PL_IS_METHOD_MEMORY (self), FALSE);
  g_return_val_if_fail (G_IS_INET_ADDRESS (gateway), FALSE);

  for (guint i = self->entries->len; i > 0; i--)
    {
      if (entry_matches (g_ptr_array_index (self->entries, i - 1), gateway, mac))
        {
          g_ptr_array_remove_index (self->entries, i - 1);
          removed = TRUE;
        }
    }
  return removed;
}

/**
 * pl_method_memory_get_n_gateways:
 * @self: a #PlMethodMemory
 *
 * Returns: how many gateways are remembered
 */
guint
pl_method_memory_get_n_gateways (PlMethodMemory *self)
{
  g_return_val_if_fail (PL_IS_METHOD_MEMORY (self), 0);

  return self->entries->len;
}
