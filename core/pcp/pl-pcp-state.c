/* pl-pcp-state.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

/* The mapping state file.
 *
 * A router only lets the holder of a mapping's nonce renew or delete it, so the nonces of the
 * mappings this computer holds must survive a crash or a reboot. They are kept in one key
 * file, by default $XDG_STATE_HOME/portlight/mappings.ini, written by Portlight alone:
 *
 *     [Portlight]
 *     Version=1
 *
 *     [mapping tcp 8080 ipv4 192.168.1.1 192.168.1.20]
 *     Gateway=192.168.1.1
 *     Method=pcp
 *     Protocol=tcp
 *     Family=ipv4
 *     InternalAddress=192.168.1.20
 *     InternalPort=8080
 *     ExternalPort=8080
 *     ExternalAddress=203.0.113.7
 *     Nonce=0123456789abcdef01234567
 *     Expires=1780000000
 *     Owner=engine
 *
 *     [mapping tcp 8080 ipv6 fe80::1 2001:db8::20]
 *     ...
 *     Family=ipv6
 *     InternalAddress=2001:db8::20
 *     Interface=eth0
 *
 * - [Portlight] Version: must be 1; a file without this group, or of another version, is
 *   refused.
 * - One group per mapping, named "mapping PROTOCOL INTERNALPORT FAMILY GATEWAY
 *   INTERNALADDRESS". The name is only a label (a save writes it again from the keys); what
 *   counts are the keys. No two groups may hold the same mapping (same gateway, protocol,
 *   internal port, family and internal address).
 * - Gateway, InternalAddress, ExternalAddress: IP addresses. InternalAddress must be of the
 *   family Family. ExternalAddress may be left out (not known yet).
 * - Method: pcp, natpmp or upnp. Protocol: tcp or udp. Family: ipv4 or ipv6.
 * - InternalPort: 1-65535. ExternalPort: 0-65535, 0 while the gateway has not answered.
 * - Nonce: 24 hexadecimal digits (12 bytes).
 * - Expires: the end of the mapping, in seconds since 1970.
 * - Owner: "engine" for a mapping of Portlight's engine (`portlightctl run`), which a
 *   restarted engine deletes unless someone asks for it again (pl-journal-sweep.c); left out
 *   for a one-shot mapping (`portlightctl map`, the tray), which stays open until it expires.
 *   Files written before this key existed have none: their records are one-shot, so an
 *   upgrade never sweeps a mapping it cannot tell was the engine's.
 * - Interface: for an IPv6 pinhole, the network interface the router (Gateway, usually a
 *   link-local address) is reached on, so that a restarted engine can delete it there
 *   (pl-journal-sweep.c). 1 to 15 characters, no spaces, "/" or ":". Files written before this
 *   key existed have none: the sweep then takes the interface the router is reached on now.
 *
 * Every key is required except ExternalAddress, Owner and Interface; keys and groups Portlight does not know are
 * errors, and so is a key given twice.
 *
 * Refusal: the file is refused as a whole when anything in it is wrong, rather than skipping
 * the bad records. A skipped record would be dropped by the next save, and with it the only
 * copy of a nonce that may still own a mapping on the router. After a refused load (or a file
 * that cannot be read at all) every save fails with the reason, so the file is never
 * overwritten; fix it or move it away and load again. Files over MAX_FILE_SIZE are refused
 * without being read whole. An empty file holds no mappings.
 *
 * A save also refuses to overwrite a file that changed since it was last loaded or saved
 * (another Portlight, or a person): a save without a load first is refused if a file exists.
 * Saves are atomic (temporary file, fsync, rename) with mode 0600, in a folder created 0700.
 * Comments in the file are not kept. The file handling is PlStateFile's (pl-state-file.c).
 *
 * Batches. Every save is an atomic replace with an fsync, which is slow (a router that
 * rebooted has every mapping renewed at once: one save per request made that take over a
 * second under a sanitizer). The writers group their changes instead:
 *
 * - pl_pcp_state_hold() while requests whose answers change the records are out, and
 *   pl_pcp_state_release() when each is answered (or failed): pl_pcp_state_save_later()
 *   only marks the records changed while a hold is taken, and the last release saves them,
 *   once, before the last request's answer is returned. Without a hold it saves at once. A
 *   change held back for BACKSTOP_MS is saved anyway (a request retransmitted for ever to a
 *   router that is gone must not keep the others' changes off the disk).
 * - pl_pcp_state_sync_async() is the write barrier for what must be on disk before a request
 *   goes out (a new nonce, a new port, a later expiry): every caller of one main-loop
 *   iteration waits for the same single save, made when the loop is next idle.
 * - A change still unsaved when the object goes away is saved then.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "pl-clock.h"
#include "pl-error.h"
#include "pl-pcp-state.h"
#include "pl-state-file.h"

#define FILE_VERSION  1

/* How long a change may wait for the hold of its batch to end (see "Batches"). */
#define BACKSTOP_MS   1000

#define GROUP_PREFIX     "mapping "

#define KEY_GATEWAY           "Gateway"
#define KEY_METHOD            "Method"
#define KEY_PROTOCOL          "Protocol"
#define KEY_FAMILY            "Family"
#define KEY_INTERNAL_ADDRESS  "InternalAddress"
#define KEY_INTERNAL_PORT     "InternalPort"
#define KEY_EXTERNAL_PORT     "ExternalPort"
#define KEY_EXTERNAL_ADDRESS  "ExternalAddress"
#define KEY_NONCE             "Nonce"
#define KEY_EXPIRES           "Expires"
#define KEY_OWNER             "Owner"
#define KEY_INTERFACE         "Interface"

#define OWNER_ENGINE          "engine"

static const char * const record_keys[] = {
  KEY_GATEWAY, KEY_METHOD, KEY_PROTOCOL, KEY_FAMILY, KEY_INTERNAL_ADDRESS, KEY_INTERNAL_PORT,
  KEY_EXTERNAL_PORT, KEY_EXTERNAL_ADDRESS, KEY_NONCE, KEY_EXPIRES, KEY_OWNER, KEY_INTERFACE,
  NULL
};

struct _PlPcpState
{
  GObject      parent_instance;

  PlStateFile *file;
  PlPcpOwner   owner;       /* given to every record put */
  GPtrArray   *records;     /* PlPcpRecord*, in the order they were put or loaded */

  /* Batched saves: see "Batches" below. */
  gboolean     dirty;       /* changed since the last save that succeeded */
  guint        holds;       /* pl_pcp_state_hold() minus pl_pcp_state_release() */
  GSource     *backstop;    /* owned ref: saves a change held back for too long */
  GSource     *sync_idle;   /* owned ref: the save of the waiters' batch */
  GQueue       waiters;     /* GTask* (owned) of pl_pcp_state_sync_async(), in order */
  gboolean     warned;      /* a deferred save failed and it was said */
};

G_DEFINE_FINAL_TYPE (PlPcpState, pl_pcp_state, G_TYPE_OBJECT)

/* PlPcpRecord */

G_DEFINE_BOXED_TYPE (PlPcpRecord, pl_pcp_record, pl_pcp_record_copy, pl_pcp_record_free)

/**
 * pl_pcp_record_new:
 *
 * Returns: (transfer full): an empty record (no addresses, ports 0, a zero nonce)
 */
PlPcpRecord *
pl_pcp_record_new (void)
{
  PlPcpRecord *record = g_new0 (PlPcpRecord, 1);

  record->method = PL_PCP_METHOD_PCP;
  record->protocol = PL_PROTOCOL_TCP;
  record->family = G_SOCKET_FAMILY_IPV4;
  return record;
}

PlPcpRecord *
pl_pcp_record_copy (const PlPcpRecord *record)
{
  PlPcpRecord *copy;

  g_return_val_if_fail (record != NULL, NULL);

  copy = g_memdup2 (record, sizeof *record);
  if (copy->gateway != NULL)
    g_object_ref (copy->gateway);
  if (copy->internal_address != NULL)
    g_object_ref (copy->internal_address);
  if (copy->external_address != NULL)
    g_object_ref (copy->external_address);
  copy->interface = g_strdup (record->interface);
  return copy;
}

void
pl_pcp_record_free (PlPcpRecord *record)
{
  if (record == NULL)
    return;

  g_clear_object (&record->gateway);
  g_clear_object (&record->internal_address);
  g_clear_object (&record->external_address);
  g_free (record->interface);
  g_free (record);
}

static gboolean
read_random (guint8 *buffer,
             gsize   length)
{
  gsize done = 0;
  int fd;

  while (done < length)
    {
      ssize_t n = getrandom (buffer + done, length - done, 0);

      if (n > 0)
        done += n;
      else if (n < 0 && errno != EINTR)
        break;
    }
  if (done == length)
    return TRUE;

  /* getrandom(2) is missing (kernel before 3.17, or a seccomp filter): the same source. */
  fd = g_open ("/dev/urandom", O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    return FALSE;

  done = 0;
  while (done < length)
    {
      ssize_t n = read (fd, buffer + done, length - done);

      if (n > 0)
        done += n;
      else if (n == 0 || errno != EINTR)
        break;
    }
  g_close (fd, NULL);
  return done == length;
}

/**
 * pl_pcp_record_new_nonce:
 * @record: a #PlPcpRecord
 *
 * Gives @record a new random nonce from the kernel's cryptographic random source. A guessable
 * nonce would let other programs on the network take the mapping over, so there is no weaker
 * fallback: without a random source the program aborts.
 */
void
pl_pcp_record_new_nonce (PlPcpRecord *record)
{
  g_return_if_fail (record != NULL);

  if (!read_random (record->nonce, sizeof record->nonce))
    g_error ("No random source (getrandom or /dev/urandom) for a PCP nonce: %s",
             g_strerror (errno));
}

/* Text forms */

static const char *
method_to_string (PlPcpMethod method)
{
  switch (method)
    {
    case PL_PCP_METHOD_NATPMP:
      return "natpmp";
    case PL_PCP_METHOD_UPNP:
      return "upnp";
    case PL_PCP_METHOD_PCP:
    default:
      return "pcp";
    }
}

static const char *
protocol_to_string (PlProtocol protocol)
{
  return protocol == PL_PROTOCOL_UDP ? "udp" : "tcp";
}

static const char *
family_to_string (GSocketFamily family)
{
  return family == G_SOCKET_FAMILY_IPV6 ? "ipv6" : "ipv4";
}

static char *
group_name (const PlPcpRecord *record)
{
  g_autofree char *gateway = g_inet_address_to_string (record->gateway);
  g_autofree char *internal = g_inet_address_to_string (record->internal_address);

  return g_strdup_printf (GROUP_PREFIX "%s %u %s %s %s", protocol_to_string (record->protocol),
                          record->internal_port, family_to_string (record->family), gateway,
                          internal);
}

/* Parsing: pure, no I/O */

static char *
describe (PlStateFileMessage  message,
          const char         *path,
          const char         *a,
          const char         *b)
{
  switch (message)
    {
    case PL_STATE_FILE_MESSAGE_CANNOT_READ:
      return g_strdup_printf (_("Cannot read the mapping state file “%s”: %s"), path, a);
    case PL_STATE_FILE_MESSAGE_REFUSED:
      return g_strdup_printf (_("Cannot read the mapping state file “%s”: %s. The file has "
                                "been left as it is: fix it or move it away, then start "
                                "Portlight again."),
                              path, a);
    case PL_STATE_FILE_MESSAGE_TOO_LARGE:
      return g_strdup_printf (_("it is %s, more than the %s a mapping state file may have"),
                              a, b);
    case PL_STATE_FILE_MESSAGE_NOT_SAVED:
      return g_strdup_printf (_("The mappings are not saved to “%s”, so as not to overwrite a "
                                "file that could not be read. %s"),
                              path, a);
    case PL_STATE_FILE_MESSAGE_SAVE_TOO_LARGE:
      return g_strdup_printf (_("Cannot save the mappings to “%s”: the file would be %s, more "
                                "than the %s a mapping state file may have"),
                              path, a, b);
    case PL_STATE_FILE_MESSAGE_CANNOT_SAVE:
      return g_strdup_printf (_("Cannot save the mappings to “%s”: %s"), path, a);
    case PL_STATE_FILE_MESSAGE_CHANGED:
      return g_strdup_printf (_("The mapping state file “%s” was changed by another program "
                                "since it was read. Load it again, then retry."),
                              path);
    default:
      break;
    }
  g_return_val_if_reached (g_strdup (path));
}


static char *
bad_value_reason (GHashTable *headers,
                  const char *group,
                  const char *key,
                  const char *value,
                  const char *expected)
{
  g_autofree char *where = pl_state_file_group_where (headers, group);

  return g_strdup_printf (_("%s: %s=%s is not valid: %s"), where, key, value, expected);
}

static gboolean
parse_port (const char *value,
            guint       min,
            guint16    *port)
{
  guint64 number;

  if (!g_ascii_string_to_unsigned (value, 10, min, G_MAXUINT16, &number, NULL))
    return FALSE;
  *port = (guint16) number;
  return TRUE;
}

static gboolean
parse_nonce (const char *value,
             guint8     *nonce)
{
  if (strlen (value) != 2 * PL_PCP_NONCE_SIZE)
    return FALSE;

  for (guint i = 0; i < PL_PCP_NONCE_SIZE; i++)
    {
      int high = g_ascii_xdigit_value (value[2 * i]);
      int low = g_ascii_xdigit_value (value[2 * i + 1]);

      if (high < 0 || low < 0)
        return FALSE;
      nonce[i] = (guint8) (high << 4 | low);
    }
  return TRUE;
}

static GInetAddress *
parse_address (const char *value)
{
  /* g_inet_address_new_from_string() also takes forms a save would write differently;
   * that is harmless, the address is the same. */
  return g_inet_address_new_from_string (value);
}

/* A Linux interface name: 1 to IFNAMSIZ - 1 bytes, no whitespace or "/" (dev_valid_name()). */
static gboolean
valid_interface (const char *value)
{
  gsize length = strlen (value);

  if (length == 0 || length >= 16 || g_str_equal (value, ".") || g_str_equal (value, ".."))
    return FALSE;
  for (const char *c = value; *c != '\0'; c++)
    {
      if (*c == '/' || *c == ':' || g_ascii_isspace (*c) || !g_ascii_isgraph (*c))
        return FALSE;
    }
  return TRUE;
}

static gboolean
same_key (const PlPcpRecord *a,
          const PlPcpRecord *b)
{
  return a->protocol == b->protocol
         && a->internal_port == b->internal_port
         && a->family == b->family
         && g_inet_address_equal (a->gateway, b->gateway)
         && g_inet_address_equal (a->internal_address, b->internal_address);
}

/* Reads the record in @group, or returns the reason it cannot. */
static PlPcpRecord *
parse_record (GKeyFile    *key_file,
              GHashTable  *headers,
              const char  *group,
              char       **reason)
{
  g_autoptr(PlPcpRecord) record = pl_pcp_record_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_auto(GStrv) keys = g_key_file_get_keys (key_file, group, NULL, NULL);
  g_autofree char *where = pl_state_file_group_where (headers, group);
  char *values[G_N_ELEMENTS (record_keys)] = { NULL, };
  PlPcpRecord *result = NULL;

  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      if (!g_strv_contains (record_keys, keys[i]))
        {
          *reason = g_strdup_printf (_("%s: unknown key “%s”"), where, keys[i]);
          return NULL;
        }
      /* GKeyFile keeps every line of a key given twice, but reads only the last one. */
      if (!g_hash_table_add (seen, keys[i]))
        {
          *reason = g_strdup_printf (_("%s: %s is given more than once"), where, keys[i]);
          return NULL;
        }
    }

  for (guint i = 0; record_keys[i] != NULL; i++)
    {
      values[i] = g_key_file_get_string (key_file, group, record_keys[i], NULL);
      if (values[i] == NULL && g_strcmp0 (record_keys[i], KEY_EXTERNAL_ADDRESS) != 0 &&
          g_strcmp0 (record_keys[i], KEY_OWNER) != 0 &&
          g_strcmp0 (record_keys[i], KEY_INTERFACE) != 0)
        {
          *reason = g_strdup_printf (_("%s: %s is missing"), where, record_keys[i]);
          goto out;
        }
    }

  /* values[] is in the order of record_keys[]. */
#define VALUE(n) (values[n])
#define FAIL(n, expected) \
  G_STMT_START { \
    *reason = bad_value_reason (headers, group, record_keys[n], values[n], expected); \
    goto out; \
  } G_STMT_END

  record->gateway = parse_address (VALUE (0));
  if (record->gateway == NULL)
    FAIL (0, _("expected an IP address"));

  if (g_str_equal (VALUE (1), "pcp"))
    record->method = PL_PCP_METHOD_PCP;
  else if (g_str_equal (VALUE (1), "natpmp"))
    record->method = PL_PCP_METHOD_NATPMP;
  else if (g_str_equal (VALUE (1), "upnp"))
    record->method = PL_PCP_METHOD_UPNP;
  else
    FAIL (1, _("expected “pcp”, “natpmp” or “upnp”"));

  if (g_str_equal (VALUE (2), "tcp"))
    record->protocol = PL_PROTOCOL_TCP;
  else if (g_str_equal (VALUE (2), "udp"))
    record->protocol = PL_PROTOCOL_UDP;
  else
    FAIL (2, _("expected “tcp” or “udp”"));

  if (g_str_equal (VALUE (3), "ipv4"))
    record->family = G_SOCKET_FAMILY_IPV4;
  else if (g_str_equal (VALUE (3), "ipv6"))
    record->family = G_SOCKET_FAMILY_IPV6;
  else
    FAIL (3, _("expected “ipv4” or “ipv6”"));

  record->internal_address = parse_address (VALUE (4));
  if (record->internal_address == NULL)
    FAIL (4, _("expected an IP address"));
  if (g_inet_address_get_family (record->internal_address) != record->family)
    FAIL (4, record->family == G_SOCKET_FAMILY_IPV6 ? _("expected an IPv6 address, as Family is ipv6")
                                                    : _("expected an IPv4 address, as Family is ipv4"));

  if (!parse_port (VALUE (5), 1, &record->internal_port))
    FAIL (5, _("expected a port from 1 to 65535"));
  if (!parse_port (VALUE (6), 0, &record->external_port))
    FAIL (6, _("expected a port from 0 to 65535"));

  if (VALUE (7) != NULL)
    {
      record->external_address = parse_address (VALUE (7));
      if (record->external_address == NULL)
        FAIL (7, _("expected an IP address"));
    }

  if (!parse_nonce (VALUE (8), record->nonce))
    FAIL (8, _("expected 24 hexadecimal digits"));

  if (!g_ascii_string_to_signed (VALUE (9), 10, 0, G_MAXINT64, &record->expires, NULL))
    FAIL (9, _("expected a time in seconds since 1970"));

  if (VALUE (10) == NULL)
    record->owner = PL_PCP_OWNER_ONE_SHOT;
  else if (g_str_equal (VALUE (10), OWNER_ENGINE))
    record->owner = PL_PCP_OWNER_ENGINE;
  else
    FAIL (10, _("expected “engine” (or no Owner key at all)"));

  if (VALUE (11) != NULL)
    {
      if (!valid_interface (VALUE (11)))
        FAIL (11, _("expected the name of a network interface"));
      record->interface = g_strdup (VALUE (11));
    }

#undef FAIL
#undef VALUE

  result = g_steal_pointer (&record);

out:
  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    g_free (values[i]);
  return result;
}

static gboolean
parse_data (const char  *data,
            gsize        length,
            gpointer     user_data,
            char       **reason)
{
  GPtrArray **records_out = user_data;
  g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_pcp_record_free);
  g_autoptr(GKeyFile) key_file = NULL;
  g_autoptr(GHashTable) headers = NULL;
  g_autoptr(GHashTable) by_group = NULL;
  g_auto(GStrv) groups = NULL;

  if (!pl_state_file_parse_key_file (data, length, G_KEY_FILE_NONE, FILE_VERSION,
                                     PL_STATE_FILE_HEADER_STRICT, &key_file, &headers, reason))
    return FALSE;

  groups = g_key_file_get_groups (key_file, NULL);
  by_group = g_hash_table_new (NULL, NULL);

  for (guint i = 0; groups[i] != NULL; i++)
    {
      PlPcpRecord *record;

      if (g_str_equal (groups[i], PL_STATE_FILE_GROUP_PORTLIGHT))
        continue;

      if (!g_str_has_prefix (groups[i], GROUP_PREFIX))
        {
          g_autofree char *where = pl_state_file_group_where (headers, groups[i]);

          *reason = g_strdup_printf (_("%s is not a group Portlight writes"), where);
          return FALSE;
        }

      record = parse_record (key_file, headers, groups[i], reason);
      if (record == NULL)
        return FALSE;

      for (guint j = 0; j < records->len; j++)
        {
          PlPcpRecord *other = g_ptr_array_index (records, j);

          if (same_key (record, other))
            {
              g_autofree char *where = pl_state_file_group_where (headers, groups[i]);
              g_autofree char *other_where = pl_state_file_group_where (headers,
                                                          g_hash_table_lookup (by_group, other));

              pl_pcp_record_free (record);
              *reason = g_strdup_printf (_("%s holds the same mapping as %s"), where,
                                         other_where);
              return FALSE;
            }
        }

      g_hash_table_insert (by_group, record, groups[i]);
      g_ptr_array_add (records, record);
    }

  *records_out = g_steal_pointer (&records);
  return TRUE;
}

static char *
to_data (PlPcpState *self,
         gsize      *length)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();

  g_key_file_set_integer (key_file, PL_STATE_FILE_GROUP_PORTLIGHT,
                          PL_STATE_FILE_KEY_VERSION, FILE_VERSION);

  for (guint i = 0; i < self->records->len; i++)
    {
      const PlPcpRecord *record = g_ptr_array_index (self->records, i);
      g_autofree char *group = group_name (record);
      g_autofree char *gateway = g_inet_address_to_string (record->gateway);
      g_autofree char *internal = g_inet_address_to_string (record->internal_address);
      char nonce[2 * PL_PCP_NONCE_SIZE + 1];

      for (guint j = 0; j < PL_PCP_NONCE_SIZE; j++)
        g_snprintf (nonce + 2 * j, 3, "%02x", record->nonce[j]);

      g_key_file_set_string (key_file, group, KEY_GATEWAY, gateway);
      g_key_file_set_string (key_file, group, KEY_METHOD, method_to_string (record->method));
      g_key_file_set_string (key_file, group, KEY_PROTOCOL,
                             protocol_to_string (record->protocol));
      g_key_file_set_string (key_file, group, KEY_FAMILY, family_to_string (record->family));
      g_key_file_set_string (key_file, group, KEY_INTERNAL_ADDRESS, internal);
      g_key_file_set_integer (key_file, group, KEY_INTERNAL_PORT, record->internal_port);
      g_key_file_set_integer (key_file, group, KEY_EXTERNAL_PORT, record->external_port);
      if (record->external_address != NULL)
        {
          g_autofree char *external = g_inet_address_to_string (record->external_address);

          g_key_file_set_string (key_file, group, KEY_EXTERNAL_ADDRESS, external);
        }
      g_key_file_set_string (key_file, group, KEY_NONCE, nonce);
      g_key_file_set_int64 (key_file, group, KEY_EXPIRES, record->expires);
      if (record->owner == PL_PCP_OWNER_ENGINE)
        g_key_file_set_string (key_file, group, KEY_OWNER, OWNER_ENGINE);
      if (record->interface != NULL)
        g_key_file_set_string (key_file, group, KEY_INTERFACE, record->interface);
    }

  return g_key_file_to_data (key_file, length, NULL);
}

/* GObject */

static void save_deferred (PlPcpState *self);

static void
pl_pcp_state_dispose (GObject *object)
{
  PlPcpState *self = (PlPcpState *) object;

  pl_clear_source (&self->backstop);
  pl_clear_source (&self->sync_idle);
  if (self->dirty)
    save_deferred (self);

  G_OBJECT_CLASS (pl_pcp_state_parent_class)->dispose (object);
}

static void
pl_pcp_state_finalize (GObject *object)
{
  PlPcpState *self = (PlPcpState *) object;

  /* Every waiter holds a reference: none is left unless disposed by force. */
  g_queue_clear_full (&self->waiters, g_object_unref);

  g_clear_pointer (&self->file, pl_state_file_free);
  g_clear_pointer (&self->records, g_ptr_array_unref);

  G_OBJECT_CLASS (pl_pcp_state_parent_class)->finalize (object);
}

static void
pl_pcp_state_class_init (PlPcpStateClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_pcp_state_dispose;
  object_class->finalize = pl_pcp_state_finalize;
}

static void
pl_pcp_state_init (PlPcpState *self)
{
  self->records = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_pcp_record_free);
}

/* API */

#define DEFAULT_FILE_NAME "mappings.ini"

/**
 * pl_pcp_state_get_default_path:
 *
 * Returns: (transfer full): `$XDG_STATE_HOME/portlight/mappings.ini`
 */
char *
pl_pcp_state_get_default_path (void)
{
  return pl_state_file_default_path (DEFAULT_FILE_NAME);
}

/* The engine's journal is a file of its own, in $XDG_RUNTIME_DIR, and not mappings.ini:
 *
 * - One writer. Only one engine runs per user (PlEngineLock), while `portlightctl map` and
 *   the tray write mappings.ini whenever they like; a save refuses to overwrite a file that
 *   changed since it was read, so a shared file would have the engine stop journaling the
 *   first time a one-shot map ran beside it.
 * - Its mappings live no longer than the session. They are kept open only while someone
 *   asks for them; the runtime folder is emptied at logout and at a reboot, when nobody can
 *   still be asking. What it does not sweep then (after a reboot) lapses at the router by its
 *   lifetime, which the engine keeps short (the lease's duration, renewed as it goes).
 *
 * Without $XDG_RUNTIME_DIR (GLib falls back to the cache folder) the file is there instead. */
#define ENGINE_FILE_NAME "engine-mappings.ini"

/**
 * pl_pcp_state_get_engine_path:
 *
 * Returns: (transfer full): `$XDG_RUNTIME_DIR/portlight/engine-mappings.ini`, the engine's
 *   journal
 */
char *
pl_pcp_state_get_engine_path (void)
{
  return g_build_filename (g_get_user_runtime_dir (), "portlight", ENGINE_FILE_NAME, NULL);
}

/**
 * pl_pcp_state_set_owner:
 * @self: a #PlPcpState
 * @owner: who writes this journal
 *
 * Every record put from now on is marked as @owner's (the Owner key). The default is
 * %PL_PCP_OWNER_ONE_SHOT. Records already in @self keep theirs.
 */
void
pl_pcp_state_set_owner (PlPcpState *self,
                        PlPcpOwner  owner)
{
  g_return_if_fail (PL_IS_PCP_STATE (self));
  g_return_if_fail (owner == PL_PCP_OWNER_ONE_SHOT || owner == PL_PCP_OWNER_ENGINE);

  self->owner = owner;
}

PlPcpOwner
pl_pcp_state_get_owner (PlPcpState *self)
{
  g_return_val_if_fail (PL_IS_PCP_STATE (self), PL_PCP_OWNER_ONE_SHOT);

  return self->owner;
}

/**
 * pl_pcp_state_new:
 * @path: (nullable): the state file; %NULL for pl_pcp_state_get_default_path()
 *
 * Nothing is read until pl_pcp_state_load().
 *
 * Returns: (transfer full): a new, empty #PlPcpState
 */
PlPcpState *
pl_pcp_state_new (const char *path)
{
  PlPcpState *self = g_object_new (PL_TYPE_PCP_STATE, NULL);

  self->file = pl_state_file_new (path, DEFAULT_FILE_NAME, describe);
  return self;
}

const char *
pl_pcp_state_get_path (PlPcpState *self)
{
  g_return_val_if_fail (PL_IS_PCP_STATE (self), NULL);

  return pl_state_file_get_path (self->file);
}

/**
 * pl_pcp_state_load:
 * @self: a #PlPcpState
 * @error: return location for a #GError
 *
 * Replaces the records with the file's. A missing file holds no records. A file that cannot
 * be read, or is wrong in any way (%PL_ERROR_INVALID_ARGUMENT, naming the file and the
 * problem), leaves the records as they were and makes every later save fail, so that the
 * file is not overwritten, until a load succeeds.
 *
 * Returns: %TRUE if the file was missing or has been loaded
 */
gboolean
pl_pcp_state_load (PlPcpState  *self,
                   GError     **error)
{
  g_autoptr(GPtrArray) records = NULL;

  g_return_val_if_fail (PL_IS_PCP_STATE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!pl_state_file_load (self->file, parse_data, &records, error))
    return FALSE;

  g_clear_pointer (&self->records, g_ptr_array_unref);
  self->records = g_steal_pointer (&records);
  return TRUE;
}

/**
 * pl_pcp_state_can_save:
 * @self: a #PlPcpState
 * @error: return location for the reason
 *
 * Returns: %FALSE while saving is refused because the file could not be loaded
 */
gboolean
pl_pcp_state_can_save (PlPcpState  *self,
                       GError     **error)
{
  g_return_val_if_fail (PL_IS_PCP_STATE (self), FALSE);

  return pl_state_file_can_save (self->file, error);
}

/**
 * pl_pcp_state_save:
 * @self: a #PlPcpState
 * @error: return location for a #GError
 *
 * Writes the records atomically with mode 0600, creating the folder (0700) if needed. Fails,
 * writing nothing, after a refused load, or if the file changed since it was last loaded or
 * saved.
 *
 * Returns: %TRUE on success
 */
gboolean
pl_pcp_state_save (PlPcpState  *self,
                   GError     **error)
{
  g_autofree char *data = NULL;
  gsize length = 0;

  g_return_val_if_fail (PL_IS_PCP_STATE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!pl_state_file_can_save (self->file, error))
    return FALSE;

  data = to_data (self, &length);
  if (self->backstop != NULL)
    pl_clear_source (&self->backstop);
  if (!pl_state_file_save (self->file, data, length, error))
    return FALSE;
  self->dirty = FALSE;
  return TRUE;
}

/**
 * pl_pcp_state_put:
 * @self: a #PlPcpState
 * @record: the record (copied)
 *
 * Adds @record, or replaces the record with the same gateway, transport protocol, internal
 * port, family and internal address. The copy's owner is @self's (pl_pcp_state_set_owner()),
 * whatever @record says. Nothing is written until pl_pcp_state_save().
 */
void
pl_pcp_state_put (PlPcpState        *self,
                  const PlPcpRecord *record)
{
  g_return_if_fail (PL_IS_PCP_STATE (self));
  g_return_if_fail (record != NULL);
  g_return_if_fail (G_IS_INET_ADDRESS (record->gateway));
  g_return_if_fail (G_IS_INET_ADDRESS (record->internal_address));
  g_return_if_fail (g_inet_address_get_family (record->internal_address) == record->family);
  g_return_if_fail (record->protocol == PL_PROTOCOL_TCP || record->protocol == PL_PROTOCOL_UDP);
  g_return_if_fail (record->method == PL_PCP_METHOD_PCP
                    || record->method == PL_PCP_METHOD_NATPMP
                    || record->method == PL_PCP_METHOD_UPNP);
  g_return_if_fail (record->internal_port != 0);
  g_return_if_fail (record->expires >= 0);
  g_return_if_fail (record->interface == NULL || valid_interface (record->interface));

  for (guint i = 0; i < self->records->len; i++)
    {
      PlPcpRecord **slot = (PlPcpRecord **) &g_ptr_array_index (self->records, i);

      if (same_key (*slot, record))
        {
          pl_pcp_record_free (*slot);
          *slot = pl_pcp_record_copy (record);
          (*slot)->owner = self->owner;
          return;
        }
    }

  g_ptr_array_add (self->records, pl_pcp_record_copy (record));
  ((PlPcpRecord *) g_ptr_array_index (self->records, self->records->len - 1))->owner = self->owner;
}

/**
 * pl_pcp_state_put_merged:
 * @self: a #PlPcpState
 * @record: the record (copied); its external port and end may be changed first
 *
 * Puts @record (pl_pcp_state_put()) merged with what @self knows of the same mapping by the
 * same method: a record without an external port (0: asked for, not answered yet) takes the
 * known one's, and the later end of the two is kept, so that a shorter lifetime asked or
 * granted now does not end an older grant. A record of another method (the router moved to
 * another protocol) is replaced as it is. For the NAT-PMP and UPnP-IGD journals; PCP merges
 * its nonce too (pl-pcp-client.c, journal_prepare()).
 */
void
pl_pcp_state_put_merged (PlPcpState  *self,
                         PlPcpRecord *record)
{
  const PlPcpRecord *known;

  g_return_if_fail (PL_IS_PCP_STATE (self));
  g_return_if_fail (record != NULL);
  g_return_if_fail (G_IS_INET_ADDRESS (record->gateway));

  known = pl_pcp_state_lookup (self, record->gateway, record->protocol, record->internal_port,
                               record->family);
  if (known != NULL && known->method == record->method)
    {
      if (record->external_port == 0)
        record->external_port = known->external_port;
      record->expires = MAX (record->expires, known->expires);
    }
  pl_pcp_state_put (self, record);
}

static gboolean
matches (const PlPcpRecord *record,
         GInetAddress      *gateway,
         PlProtocol         protocol,
         guint16            internal_port,
         GSocketFamily      family)
{
  return record->protocol == protocol
         && record->internal_port == internal_port
         && record->family == family
         && g_inet_address_equal (record->gateway, gateway);
}

/**
 * pl_pcp_state_remove:
 * @self: a #PlPcpState
 * @gateway: the gateway
 * @protocol: the transport protocol
 * @internal_port: the internal port
 * @family: the family of the internal address
 *
 * Removes the records of this mapping, whatever their internal address (there is one, unless
 * this computer's address changed while it held the mapping).
 *
 * Returns: %TRUE if a record was removed
 */
gboolean
pl_pcp_state_remove (PlPcpState    *self,
                     GInetAddress  *gateway,
                     PlProtocol     protocol,
                     guint16        internal_port,
                     GSocketFamily  family)
{
  gboolean removed = FALSE;

  g_return_val_if_fail (PL_IS_PCP_STATE (self), FALSE);
  g_return_val_if_fail (G_IS_INET_ADDRESS (gateway), FALSE);

  for (guint i = self->records->len; i > 0; i--)
    {
      if (matches (g_ptr_array_index (self->records, i - 1), gateway, protocol, internal_port,
                   family))
        {
          g_ptr_array_remove_index (self->records, i - 1);
          removed = TRUE;
        }
    }
  return removed;
}

/**
 * pl_pcp_state_lookup:
 * @self: a #PlPcpState
 * @gateway: the gateway
 * @protocol: the transport protocol
 * @internal_port: the internal port
 * @family: the family of the internal address
 *
 * Returns: (transfer none) (nullable): the first record of this mapping (whatever its
 *   internal address), valid until @self next changes
 */
const PlPcpRecord *
pl_pcp_state_lookup (PlPcpState    *self,
                     GInetAddress  *gateway,
                     PlProtocol     protocol,
                     guint16        internal_port,
                     GSocketFamily  family)
{
  g_return_val_if_fail (PL_IS_PCP_STATE (self), NULL);
  g_return_val_if_fail (G_IS_INET_ADDRESS (gateway), NULL);

  for (guint i = 0; i < self->records->len; i++)
    {
      const PlPcpRecord *record = g_ptr_array_index (self->records, i);

      if (matches (record, gateway, protocol, internal_port, family))
        return record;
    }
  return NULL;
}

/**
 * pl_pcp_state_list:
 * @self: a #PlPcpState
 * @gateway: (nullable): only the records of this gateway; %NULL for all
 *
 * Returns: (transfer container) (element-type PlPcpRecord): the records, in order; they
 *   belong to @self and are valid until it next changes
 */
GPtrArray *
pl_pcp_state_list (PlPcpState   *self,
                   GInetAddress *gateway)
{
  GPtrArray *list;

  g_return_val_if_fail (PL_IS_PCP_STATE (self), NULL);
  g_return_val_if_fail (gateway == NULL || G_IS_INET_ADDRESS (gateway), NULL);

  list = g_ptr_array_new ();
  for (guint i = 0; i < self->records->len; i++)
    {
      PlPcpRecord *record = g_ptr_array_index (self->records, i);

      if (gateway == NULL || g_inet_address_equal (record->gateway, gateway))
        g_ptr_array_add (list, record);
    }
  return list;
}

/**
 * pl_pcp_state_forget_expired:
 * @self: a #PlPcpState
 * @now_wall_s: the wall clock, in seconds since 1970
 *
 * Removes the records whose mapping has ended (expires at or before @now_wall_s).
 */
void
pl_pcp_state_forget_expired (PlPcpState *self,
                             gint64      now_wall_s)
{
  g_return_if_fail (PL_IS_PCP_STATE (self));

  for (guint i = self->records->len; i > 0; i--)
    {
      const PlPcpRecord *record = g_ptr_array_index (self->records, i - 1);

      if (record->expires <= now_wall_s)
        g_ptr_array_remove_index (self->records, i - 1);
    }
}

/* Batches (see the top of this file) */

/* A save nobody waits for: its failure is said here, once, then only in the debug log. */
static void
save_deferred (PlPcpState *self)
{
  g_autoptr(GError) error = NULL;

  if (pl_pcp_state_save (self, &error))
    return;
  if (!self->warned)
    g_message (_("Mappings may not be remembered across restarts: %s"), error->message);
  else
    g_debug ("Cannot save the mappings: %s", error->message);
  self->warned = TRUE;
}

static gboolean
backstop_cb (gpointer user_data)
{
  PlPcpState *self = user_data;

  g_clear_pointer (&self->backstop, g_source_unref);
  g_debug ("Saving %s: a batch of changes is still held after %u ms",
           pl_pcp_state_get_path (self), (guint) BACKSTOP_MS);
  save_deferred (self);
  return G_SOURCE_REMOVE;
}

/**
 * pl_pcp_state_save_later:
 * @self: a #PlPcpState
 *
 * Says that the records changed: they are saved now if no hold is taken
 * (pl_pcp_state_hold()), else when the last hold is released, or by a barrier
 * (pl_pcp_state_sync_async()), whichever comes first, and at the latest a second later.
 * A failed save is said in the log (once), and tried again with the next change.
 */
void
pl_pcp_state_save_later (PlPcpState *self)
{
  g_return_if_fail (PL_IS_PCP_STATE (self));

  self->dirty = TRUE;
  if (self->holds == 0)
    {
      save_deferred (self);
      return;
    }
  if (self->backstop == NULL)
    {
      self->backstop = g_timeout_source_new (BACKSTOP_MS);
      g_source_set_static_name (self->backstop, "[portlight] mapping state backstop");
      g_source_set_callback (self->backstop, backstop_cb, self, NULL);
      g_source_attach (self->backstop, g_main_context_get_thread_default ());
    }
}

/**
 * pl_pcp_state_hold:
 * @self: a #PlPcpState
 *
 * Starts (or joins) a batch: until the matching pl_pcp_state_release(),
 * pl_pcp_state_save_later() does not write. Take one per request in flight whose answer
 * changes the records.
 */
void
pl_pcp_state_hold (PlPcpState *self)
{
  g_return_if_fail (PL_IS_PCP_STATE (self));

  self->holds++;
}

/**
 * pl_pcp_state_release:
 * @self: a #PlPcpState
 *
 * Ends a pl_pcp_state_hold(). The last one saves the changes made meanwhile, at once.
 */
void
pl_pcp_state_release (PlPcpState *self)
{
  g_return_if_fail (PL_IS_PCP_STATE (self));
  g_return_if_fail (self->holds > 0);

  if (--self->holds == 0 && self->dirty)
    save_deferred (self);
}

static gboolean
sync_idle_cb (gpointer user_data)
{
  PlPcpState *self = user_data;
  g_autoptr(GError) error = NULL;
  GQueue batch = G_QUEUE_INIT;
  GTask *task;

  g_clear_pointer (&self->sync_idle, g_source_unref);

  /* Callers that come while this batch is being answered wait for the next one. */
  batch = self->waiters;
  g_queue_init (&self->waiters);

  if (self->dirty)
    {
      g_debug ("Saving %s for %u request(s) about to go out", pl_pcp_state_get_path (self),
               batch.length);
      pl_pcp_state_save (self, &error);
    }

  while ((task = g_queue_pop_head (&batch)) != NULL)
    {
      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
  return G_SOURCE_REMOVE;
}

/**
 * pl_pcp_state_sync_async:
 * @self: a #PlPcpState
 * @callback: called once every change made so far is on disk, or the save failed
 * @user_data: data for @callback
 *
 * The write barrier before a request goes out. The save is made when the main loop is next
 * idle, once for every caller until then, so a batch of requests started together costs one
 * save. Callbacks are called in the order of the calls. Nothing is written if nothing changed.
 */
void
pl_pcp_state_sync_async (PlPcpState          *self,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (PL_IS_PCP_STATE (self));

  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, pl_pcp_state_sync_async);
  g_queue_push_tail (&self->waiters, task);
  if (self->sync_idle == NULL)
    {
      /* Default priority: after what this iteration dispatches, not behind idle work. */
      self->sync_idle = g_idle_source_new ();
      g_source_set_priority (self->sync_idle, G_PRIORITY_DEFAULT);
      g_source_set_static_name (self->sync_idle, "[portlight] mapping state barrier");
      g_source_set_callback (self->sync_idle, sync_idle_cb, self, NULL);
      g_source_attach (self->sync_idle, g_main_context_get_thread_default ());
    }
}

/**
 * pl_pcp_state_sync_finish:
 * @self: a #PlPcpState
 * @result: the result given to the callback
 * @error: return location for the reason the save failed
 *
 * Returns: %TRUE if the records were on disk (or unchanged)
 */
gboolean
pl_pcp_state_sync_finish (PlPcpState    *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == pl_pcp_state_sync_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * pl_pcp_state_flush:
 * @self: a #PlPcpState
 * @error: return location for a #GError
 *
 * Saves now what pl_pcp_state_save_later() held back, if anything.
 *
 * Returns: %TRUE if nothing was left unsaved
 */
gboolean
pl_pcp_state_flush (PlPcpState  *self,
                    GError     **error)
{
  g_return_val_if_fail (PL_IS_PCP_STATE (self), FALSE);

  if (!self->dirty)
    return TRUE;
  return pl_pcp_state_save (self, error);
}
