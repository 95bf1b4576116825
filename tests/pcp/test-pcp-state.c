/* test-pcp-state.c: PlPcpState, the mapping state file
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <locale.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "pl-core.h"
#include "pl-pcp-state.h"
#include "pl-test-replaces.h"

/* Helpers */

#define NONCE_HEX "00112233445566778899aabb"

static PlPcpRecord *
make_record (const char  *gateway,
             PlPcpMethod  method,
             PlProtocol   protocol,
             const char  *internal,
             guint16      internal_port,
             guint16      external_port,
             const char  *external,
             gint64       expires)
{
  PlPcpRecord *record = pl_pcp_record_new ();

  record->gateway = g_inet_address_new_from_string (gateway);
  record->method = method;
  record->protocol = protocol;
  record->internal_address = g_inet_address_new_from_string (internal);
  record->family = g_inet_address_get_family (record->internal_address);
  record->internal_port = internal_port;
  record->external_port = external_port;
  record->external_address = external != NULL ? g_inet_address_new_from_string (external) : NULL;
  record->expires = expires;
  pl_pcp_record_new_nonce (record);
  return record;
}

static gboolean
address_equal (GInetAddress *a,
               GInetAddress *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return g_inet_address_equal (a, b);
}

static void
assert_record_equal (const PlPcpRecord *a,
                     const PlPcpRecord *b)
{
  g_assert_nonnull (a);
  g_assert_nonnull (b);
  g_assert_true (address_equal (a->gateway, b->gateway));
  g_assert_cmpint (a->method, ==, b->method);
  g_assert_cmpint (a->protocol, ==, b->protocol);
  g_assert_cmpint (a->family, ==, b->family);
  g_assert_true (address_equal (a->internal_address, b->internal_address));
  g_assert_cmpuint (a->internal_port, ==, b->internal_port);
  g_assert_cmpuint (a->external_port, ==, b->external_port);
  g_assert_true (address_equal (a->external_address, b->external_address));
  g_assert_cmpmem (a->nonce, sizeof a->nonce, b->nonce, sizeof b->nonce);
  g_assert_cmpint (a->expires, ==, b->expires);
  g_assert_cmpint (a->owner, ==, b->owner);
  g_assert_cmpstr (a->interface, ==, b->interface);
}

static char *
test_path (const char *name)
{
  return g_build_filename (g_get_user_state_dir (), "test", name, NULL);
}

static void
write_file (const char *path,
            const char *data,
            gssize      length)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, data, length, &error);
  g_assert_no_error (error);
}

static GBytes *
read_bytes (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *data = NULL;
  gsize length = 0;

  g_file_get_contents (path, &data, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (data, length);
}

/* Five records: IPv4 and IPv6, TCP and UDP, PCP, NAT-PMP and UPnP-IGD (an engine's), four
 * gateways. */
static GPtrArray *
sample_records (void)
{
  GPtrArray *records = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_pcp_record_free);

  g_ptr_array_add (records, make_record ("192.168.1.1", PL_PCP_METHOD_PCP, PL_PROTOCOL_TCP,
                                         "192.168.1.20", 8080, 18080, "203.0.113.7",
                                         1780000000));
  g_ptr_array_add (records, make_record ("192.168.1.1", PL_PCP_METHOD_NATPMP, PL_PROTOCOL_UDP,
                                         "192.168.1.20", 5000, 0, NULL, 1780000100));
  g_ptr_array_add (records, make_record ("fe80::1", PL_PCP_METHOD_PCP, PL_PROTOCOL_TCP,
                                         "2001:db8::20", 22, 22, "2001:db8::20", 1780000200));
  g_ptr_array_add (records, make_record ("2001:db8::1", PL_PCP_METHOD_PCP, PL_PROTOCOL_UDP,
                                         "2001:db8::21", 65535, 65535, NULL, 1));
  g_ptr_array_add (records, make_record ("192.168.1.254", PL_PCP_METHOD_UPNP, PL_PROTOCOL_TCP,
                                         "192.168.1.20", 25565, 25566, NULL, 1780000300));
  return records;
}

static PlPcpState *
state_with (GPtrArray  *records,
            const char *path)
{
  g_autoptr(GError) error = NULL;
  PlPcpState *state = pl_pcp_state_new (path);

  g_assert_true (pl_pcp_state_load (state, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < records->len; i++)
    pl_pcp_state_put (state, g_ptr_array_index (records, i));
  return state;
}

/* Tests */

static void
test_default_path (void)
{
  g_autoptr(PlPcpState) state = pl_pcp_state_new (NULL);
  g_autoptr(GPtrArray) records = sample_records ();
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = g_build_filename (g_get_user_state_dir (), "portlight",
                                                "mappings.ini", NULL);
  g_autofree char *dir = g_path_get_dirname (expected);
  struct stat st;

  g_assert_cmpstr (pl_pcp_state_get_path (state), ==, expected);
  g_assert_true (g_str_has_prefix (pl_pcp_state_get_path (state), g_get_user_state_dir ()));

  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
  g_assert_true (pl_pcp_state_load (state, &error));
  g_assert_no_error (error);
  pl_pcp_state_put (state, g_ptr_array_index (records, 0));
  g_assert_true (pl_pcp_state_save (state, &error));
  g_assert_no_error (error);

  g_assert_cmpint (g_stat (expected, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
}

static void
test_missing_file (void)
{
  g_autofree char *path = test_path ("missing.ini");
  g_autoptr(PlPcpState) state = pl_pcp_state_new (path);
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (pl_pcp_state_load (state, &error));
  g_assert_no_error (error);
  list = pl_pcp_state_list (state, NULL);
  g_assert_cmpuint (list->len, ==, 0);
  g_assert_true (pl_pcp_state_can_save (state, NULL));
  /* Loading does not create anything. */
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_empty_file (void)
{
  g_autofree char *path = test_path ("empty.ini");
  g_autoptr(PlPcpState) state = pl_pcp_state_new (path);
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GError) error = NULL;

  write_file (path, "", 0);
  g_assert_true (pl_pcp_state_load (state, &error));
  g_assert_no_error (error);
  list = pl_pcp_state_list (state, NULL);
  g_assert_cmpuint (list->len, ==, 0);
  g_assert_true (pl_pcp_state_save (state, &error));
  g_assert_no_error (error);
}

static void
test_round_trip (void)
{
  g_autofree char *path = test_path ("round-trip.ini");
  g_autoptr(GPtrArray) records = sample_records ();
  g_autoptr(PlPcpState) state = state_with (records, path);
  g_autoptr(PlPcpState) loaded = pl_pcp_state_new (path);
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) second = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  g_assert_true (pl_pcp_state_save (state, &error));
  g_assert_no_error (error);
  first = read_bytes (path);

  text = g_strndup (g_bytes_get_data (first, NULL), g_bytes_get_size (first));
  g_assert_nonnull (strstr (text, "[Portlight]\nVersion=1\n"));
  g_assert_nonnull (strstr (text, "[mapping tcp 8080 ipv4 192.168.1.1 192.168.1.20]"));
  g_assert_nonnull (strstr (text, "Method=natpmp"));
  g_assert_nonnull (strstr (text, "Method=upnp\n"));
  g_assert_nonnull (strstr (text, "Family=ipv6"));

  g_assert_true (pl_pcp_state_load (loaded, &error));
  g_assert_no_error (error);
  list = pl_pcp_state_list (loaded, NULL);
  g_assert_cmpuint (list->len, ==, records->len);
  for (guint i = 0; i < records->len; i++)
    assert_record_equal (g_ptr_array_index (list, i), g_ptr_array_index (records, i));

  /* Saving what was loaded writes the same bytes. */
  g_assert_true (pl_pcp_state_save (loaded, &error));
  g_assert_no_error (error);
  second = read_bytes (path);
  g_assert_true (g_bytes_equal (first, second));
}

static void
test_replace (void)
{
  g_autofree char *path = test_path ("replace.ini");
  g_autoptr(GPtrArray) records = sample_records ();
  g_autoptr(PlPcpState) state = state_with (records, path);
  g_autoptr(PlPcpRecord) changed = pl_pcp_record_copy (g_ptr_array_index (records, 0));
  g_autoptr(PlPcpRecord) moved = pl_pcp_record_copy (g_ptr_array_index (records, 0));
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GPtrArray) list2 = NULL;
  const PlPcpRecord *found;

  /* Same key: replaced in place. */
  changed->external_port = 9999;
  changed->method = PL_PCP_METHOD_NATPMP;
  changed->expires = 42;
  pl_pcp_record_new_nonce (changed);
  pl_pcp_state_put (state, changed);

  list = pl_pcp_state_list (state, NULL);
  g_assert_cmpuint (list->len, ==, records->len);
  assert_record_equal (g_ptr_array_index (list, 0), changed);
  found = pl_pcp_state_lookup (state, changed->gateway, PL_PROTOCOL_TCP, 8080,
                               G_SOCKET_FAMILY_IPV4);
  assert_record_equal (found, changed);

  /* Another internal address is another record. */
  g_clear_object (&moved->internal_address);
  moved->internal_address = g_inet_address_new_from_string ("192.168.1.21");
  pl_pcp_state_put (state, moved);
  list2 = pl_pcp_state_list (state, NULL);
  g_assert_cmpuint (list2->len, ==, records->len + 1);
}

static void
test_remove (void)
{
  g_autofree char *path = test_path ("remove.ini");
  g_autoptr(GPtrArray) records = sample_records ();
  g_autoptr(PlPcpState) state = state_with (records, path);
  g_autoptr(PlPcpState) loaded = pl_pcp_state_new (path);
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GError) error = NULL;
  PlPcpRecord *gone = g_ptr_array_index (records, 2);
  PlPcpRecord *kept;

  g_assert_true (pl_pcp_state_remove (state, gone->gateway, PL_PROTOCOL_TCP, 22,
                                      G_SOCKET_FAMILY_IPV6));
  g_assert_false (pl_pcp_state_remove (state, gone->gateway, PL_PROTOCOL_TCP, 22,
                                       G_SOCKET_FAMILY_IPV6));
  g_assert_null (pl_pcp_state_lookup (state, gone->gateway, PL_PROTOCOL_TCP, 22,
                                      G_SOCKET_FAMILY_IPV6));
  /* Nothing else went. */
  list = pl_pcp_state_list (state, NULL);
  g_assert_cmpuint (list->len, ==, records->len - 1);

  /* And the removal is saved. */
  g_assert_true (pl_pcp_state_save (state, &error));
  g_assert_no_error (error);
  g_assert_true (pl_pcp_state_load (loaded, &error));
  g_assert_no_error (error);
  g_assert_null (pl_pcp_state_lookup (loaded, gone->gateway, PL_PROTOCOL_TCP, 22,
                                      G_SOCKET_FAMILY_IPV6));
  kept = g_ptr_array_index (records, 3);
  assert_record_equal (pl_pcp_state_lookup (loaded, kept->gateway, PL_PROTOCOL_UDP, 65535,
                                            G_SOCKET_FAMILY_IPV6),
                       kept);
}

static void
test_lookup (void)
{
  g_autofree char *path = test_path ("lookup.ini");
  g_autoptr(GPtrArray) records = sample_records ();
  g_autoptr(PlPcpState) state = state_with (records, path);
  g_autoptr(GInetAddress) gw4 = g_inet_address_new_from_string ("192.168.1.1");
  g_autoptr(GInetAddress) other = g_inet_address_new_from_string ("192.168.1.254");

  for (guint i = 0; i < records->len; i++)
    {
      PlPcpRecord *record = g_ptr_array_index (records, i);

      assert_record_equal (pl_pcp_state_lookup (state, record->gateway, record->protocol,
                                                record->internal_port, record->family),
                           record);
    }

  /* Each part of the key counts. */
  g_assert_nonnull (pl_pcp_state_lookup (state, gw4, PL_PROTOCOL_TCP, 8080,
                                         G_SOCKET_FAMILY_IPV4));
  g_assert_null (pl_pcp_state_lookup (state, other, PL_PROTOCOL_TCP, 8080,
                                      G_SOCKET_FAMILY_IPV4));
  g_assert_null (pl_pcp_state_lookup (state, gw4, PL_PROTOCOL_UDP, 8080,
                                      G_SOCKET_FAMILY_IPV4));
  g_assert_null (pl_pcp_state_lookup (state, gw4, PL_PROTOCOL_TCP, 8081,
                                      G_SOCKET_FAMILY_IPV4));
  g_assert_null (pl_pcp_state_lookup (state, gw4, PL_PROTOCOL_TCP, 8080,
                                      G_SOCKET_FAMILY_IPV6));
}

/* pl_pcp_state_put_merged(): a record without a port takes the known one's, the later end
 * stays; a record of another method is replaced as it is. */
static void
test_put_merged (void)
{
  g_autofree char *path = test_path ("merged.ini");
  g_autoptr(GPtrArray) records = sample_records ();
  g_autoptr(PlPcpState) state = state_with (records, path);
  g_autoptr(GInetAddress) gw4 = g_inet_address_new_from_string ("192.168.1.1");
  g_autoptr(GInetAddress) igd = g_inet_address_new_from_string ("192.168.1.254");
  g_autoptr(PlPcpRecord) asked = NULL;
  g_autoptr(PlPcpRecord) granted = NULL;
  g_autoptr(PlPcpRecord) moved = NULL;
  const PlPcpRecord *known;

  /* UPnP-IGD, TCP 25565: 25566 until 1780000300. Asked again, shorter, no port yet. */
  asked = make_record ("192.168.1.254", PL_PCP_METHOD_UPNP, PL_PROTOCOL_TCP, "192.168.1.20",
                       25565, 0, NULL, 1780000000);
  pl_pcp_state_put_merged (state, asked);
  known = pl_pcp_state_lookup (state, igd, PL_PROTOCOL_TCP, 25565, G_SOCKET_FAMILY_IPV4);
  g_assert_nonnull (known);
  g_assert_cmpuint (known->external_port, ==, 25566);
  g_assert_cmpint (known->expires, ==, 1780000300);

  /* Granted another port, for longer: both taken. */
  granted = make_record ("192.168.1.254", PL_PCP_METHOD_UPNP, PL_PROTOCOL_TCP, "192.168.1.20",
                         25565, 25570, NULL, 1780009999);
  pl_pcp_state_put_merged (state, granted);
  known = pl_pcp_state_lookup (state, igd, PL_PROTOCOL_TCP, 25565, G_SOCKET_FAMILY_IPV4);
  g_assert_cmpuint (known->external_port, ==, 25570);
  g_assert_cmpint (known->expires, ==, 1780009999);

  /* TCP 8080 was PCP's (18080 until 1780000000); NAT-PMP now: nothing of PCP's is kept. */
  moved = make_record ("192.168.1.1", PL_PCP_METHOD_NATPMP, PL_PROTOCOL_TCP, "192.168.1.20",
                       8080, 0, NULL, 1700000000);
  pl_pcp_state_put_merged (state, moved);
  known = pl_pcp_state_lookup (state, gw4, PL_PROTOCOL_TCP, 8080, G_SOCKET_FAMILY_IPV4);
  g_assert_cmpint (known->method, ==, PL_PCP_METHOD_NATPMP);
  g_assert_cmpuint (known->external_port, ==, 0);
  g_assert_cmpint (known->expires, ==, 1700000000);
}

static void
test_list_gateway (void)
{
  g_autofree char *path = test_path ("list.ini");
  g_autoptr(GPtrArray) records = sample_records ();
  g_autoptr(PlPcpState) state = state_with (records, path);
  g_autoptr(GInetAddress) gw4 = g_inet_address_new_from_string ("192.168.1.1");
  g_autoptr(GInetAddress) link_local = g_inet_address_new_from_string ("fe80::1");
  g_autoptr(GInetAddress) none = g_inet_address_new_from_string ("10.0.0.1");
  g_autoptr(GPtrArray) all = pl_pcp_state_list (state, NULL);
  g_autoptr(GPtrArray) of_gw4 = pl_pcp_state_list (state, gw4);
  g_autoptr(GPtrArray) of_link_local = pl_pcp_state_list (state, link_local);
  g_autoptr(GPtrArray) of_none = pl_pcp_state_list (state, none);

  g_assert_cmpuint (all->len, ==, 5);
  g_assert_cmpuint (of_gw4->len, ==, 2);
  assert_record_equal (g_ptr_array_index (of_gw4, 0), g_ptr_array_index (records, 0));
  assert_record_equal (g_ptr_array_index (of_gw4, 1), g_ptr_array_index (records, 1));
  g_assert_cmpuint (of_link_local->len, ==, 1);
  assert_record_equal (g_ptr_array_index (of_link_local, 0), g_ptr_array_index (records, 2));
  g_assert_cmpuint (of_none->len, ==, 0);
}

static void
test_modes (void)
{
  g_autofree char *top = g_build_filename (g_get_user_state_dir (), "modes", NULL);
  g_autofree char *dir = g_build_filename (top, "a", "b", NULL);
  g_autofree char *path = g_build_filename (dir, "mappings.ini", NULL);
  g_autoptr(GPtrArray) records = sample_records ();
  g_autoptr(PlPcpState) state = state_with (records, path);
  g_autoptr(GError) error = NULL;
  struct stat st;
  mode_t old_umask = umask (0);

  /* Even with a permissive umask. */
  g_assert_true (pl_pcp_state_save (state, &error));
  umask (old_umask);
  g_assert_no_error (error);

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (g_stat (top, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  /* A second save (a rename over the file) keeps the mode. */
  g_assert_true (pl_pcp_state_save (state, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
}

static void
test_atomic (void)
{
  g_autofree char *dir = g_build_filename (g_get_user_state_dir (), "atomic", NULL);
  g_autofree char *path = g_build_filename (dir, "mappings.ini", NULL);
  g_autoptr(GPtrArray) records = sample_records ();
  g_autoptr(PlPcpState) state = state_with (records, path);
  g_autoptr(GError) error = NULL;

  for (guint round = 0; round < 3; round++)
    {
      g_autoptr(GDir) listing = NULL;
      PlPcpRecord *record;
      const char *name;
      guint count = 0;

      g_assert_true (pl_pcp_state_save (state, &error));
      g_assert_no_error (error);

      listing = g_dir_open (dir, 0, &error);
      g_assert_no_error (error);
      while ((name = g_dir_read_name (listing)) != NULL)
        {
          g_assert_cmpstr (name, ==, "mappings.ini");
          count++;
        }
      g_assert_cmpuint (count, ==, 1);
      /* Something different to write next round. */
      record = g_ptr_array_index (records, round);
      g_assert_true (pl_pcp_state_remove (state, record->gateway, record->protocol,
                                          record->internal_port, record->family));
    }
}

/* A valid file with one record, from which the corrupt ones are made. */
#define GOOD_HEAD "[Portlight]\nVersion=1\n\n"
#define GOOD_GROUP "[mapping tcp 8080 ipv4 192.168.1.1 192.168.1.20]\n"
#define GOOD_KEYS /* all but Nonce */ \
  "Gateway=192.168.1.1\n" \
  "Method=pcp\n" \
  "Protocol=tcp\n" \
  "Family=ipv4\n" \
  "InternalAddress=192.168.1.20\n" \
  "InternalPort=8080\n" \
  "ExternalPort=8080\n" \
  "ExternalAddress=203.0.113.7\n" \
  "Expires=1780000000\n"

typedef struct
{
  const char *name;
  const char *data;
  gssize      length;     /* -1: NUL-terminated */
  const char *expected;   /* part of the message */
} Corrupt;

static const Corrupt corrupt_cases[] = {
  { "not-key-file", "this is not a key file\n", -1, "not a key file" },
  { "not-utf8", GOOD_HEAD "[mapping x]\nGateway=\xff\xfe\n", -1, "not valid UTF-8 text (line 5)" },
  { "binary-nul", GOOD_HEAD "\0\0\0", 26, "binary data (line 4)" },
  { "bad-hex-nonce",
    GOOD_HEAD GOOD_GROUP GOOD_KEYS "Nonce=00112233445566778899aazz\n", -1,
    "Nonce=00112233445566778899aazz is not valid" },
  { "short-nonce",
    GOOD_HEAD GOOD_GROUP GOOD_KEYS "Nonce=0011\n", -1, "24 hexadecimal digits" },
  { "long-nonce",
    GOOD_HEAD GOOD_GROUP GOOD_KEYS "Nonce=" NONCE_HEX "00\n", -1,
    "24 hexadecimal digits" },
  { "unknown-family",
    GOOD_HEAD "[mapping tcp 8080 ipv5 192.168.1.1 192.168.1.20]\n"
    "Gateway=192.168.1.1\nMethod=pcp\nProtocol=tcp\nFamily=ipv5\n"
    "InternalAddress=192.168.1.20\nInternalPort=8080\nExternalPort=8080\n"
    "Nonce=" NONCE_HEX "\nExpires=1\n", -1, "Family=ipv5 is not valid" },
  { "family-mismatch",
    GOOD_HEAD "[mapping tcp 8080 ipv6 192.168.1.1 192.168.1.20]\n"
    "Gateway=192.168.1.1\nMethod=pcp\nProtocol=tcp\nFamily=ipv6\n"
    "InternalAddress=192.168.1.20\nInternalPort=8080\nExternalPort=8080\n"
    "Nonce=" NONCE_HEX "\nExpires=1\n", -1, "expected an IPv6 address" },
  { "unknown-protocol",
    GOOD_HEAD "[mapping sctp 8080 ipv4 192.168.1.1 192.168.1.20]\n"
    "Gateway=192.168.1.1\nMethod=pcp\nProtocol=sctp\nFamily=ipv4\n"
    "InternalAddress=192.168.1.20\nInternalPort=8080\nExternalPort=8080\n"
    "Nonce=" NONCE_HEX "\nExpires=1\n", -1, "Protocol=sctp is not valid" },
  { "unknown-method",
    GOOD_HEAD GOOD_GROUP
    "Gateway=192.168.1.1\nMethod=upnpc\nProtocol=tcp\nFamily=ipv4\n"
    "InternalAddress=192.168.1.20\nInternalPort=8080\nExternalPort=8080\n"
    "Nonce=" NONCE_HEX "\nExpires=1\n", -1, "Method=upnpc is not valid" },
  { "internal-port-too-big",
    GOOD_HEAD GOOD_GROUP
    "Gateway=192.168.1.1\nMethod=pcp\nProtocol=tcp\nFamily=ipv4\n"
    "InternalAddress=192.168.1.20\nInternalPort=70000\nExternalPort=8080\n"
    "Nonce=" NONCE_HEX "\nExpires=1\n", -1, "InternalPort=70000 is not valid" },
  { "internal-port-zero",
    GOOD_HEAD GOOD_GROUP
    "Gateway=192.168.1.1\nMethod=pcp\nProtocol=tcp\nFamily=ipv4\n"
    "InternalAddress=192.168.1.20\nInternalPort=0\nExternalPort=8080\n"
    "Nonce=" NONCE_HEX "\nExpires=1\n", -1, "InternalPort=0 is not valid" },
  { "external-port-negative",
    GOOD_HEAD GOOD_GROUP
    "Gateway=192.168.1.1\nMethod=pcp\nProtocol=tcp\nFamily=ipv4\n"
    "InternalAddress=192.168.1.20\nInternalPort=8080\nExternalPort=-1\n"
    "Nonce=" NONCE_HEX "\nExpires=1\n", -1, "ExternalPort=-1 is not valid" },
  { "external-port-text",
    GOOD_HEAD GOOD_GROUP
    "Gateway=192.168.1.1\nMethod=pcp\nProtocol=tcp\nFamily=ipv4\n"
    "InternalAddress=192.168.1.20\nInternalPort=8080\nExternalPort=80a\n"
    "Nonce=" NONCE_HEX "\nExpires=1\n", -1, "ExternalPort=80a is not valid" },
  { "bad-gateway",
    GOOD_HEAD GOOD_GROUP
    "Gateway=router.local\nMethod=pcp\nProtocol=tcp\nFamily=ipv4\n"
    "InternalAddress=192.168.1.20\nInternalPort=8080\nExternalPort=8080\n"
    "Nonce=" NONCE_HEX "\nExpires=1\n", -1, "Gateway=router.local is not valid" },
  { "bad-expires",
    GOOD_HEAD GOOD_GROUP
    "Gateway=192.168.1.1\nMethod=pcp\nProtocol=tcp\nFamily=ipv4\n"
    "InternalAddress=192.168.1.20\nInternalPort=8080\nExternalPort=8080\n"
    "Nonce=" NONCE_HEX "\nExpires=soon\n", -1, "Expires=soon is not valid" },
  { "missing-key",
    GOOD_HEAD GOOD_GROUP GOOD_KEYS, -1, "(line 4): Nonce is missing" },
  { "unknown-key",
    GOOD_HEAD GOOD_GROUP GOOD_KEYS "Nonce=" NONCE_HEX "\nColour=blue\n", -1,
    "unknown key “Colour”" },
  { "duplicate-key",
    GOOD_HEAD GOOD_GROUP GOOD_KEYS "Nonce=" NONCE_HEX "\nNonce=" NONCE_HEX "\n", -1,
    "Nonce is given more than once" },
  { "duplicate-group",
    GOOD_HEAD GOOD_GROUP GOOD_KEYS "Nonce=" NONCE_HEX "\n"
    GOOD_GROUP "Nonce=" NONCE_HEX "\n", -1, "appears more than once (first at line 4)" },
  { "same-mapping-twice",
    GOOD_HEAD GOOD_GROUP GOOD_KEYS "Nonce=" NONCE_HEX "\n"
    "[mapping copy]\n" GOOD_KEYS "Nonce=" NONCE_HEX "\n", -1,
    "[mapping copy] (line 15) holds the same mapping as" },
  { "unknown-owner",
    GOOD_HEAD GOOD_GROUP GOOD_KEYS "Nonce=" NONCE_HEX "\nOwner=tray\n", -1,
    "Owner=tray is not valid: expected “engine” (or no Owner key at all)" },
  { "empty-owner",
    GOOD_HEAD GOOD_GROUP GOOD_KEYS "Nonce=" NONCE_HEX "\nOwner=\n", -1,
    "Owner= is not valid" },
  { "owner-upper-case",
    GOOD_HEAD GOOD_GROUP GOOD_KEYS "Nonce=" NONCE_HEX "\nOwner=Engine\n", -1,
    "Owner=Engine is not valid" },
  { "duplicate-owner",
    GOOD_HEAD GOOD_GROUP GOOD_KEYS "Nonce=" NONCE_HEX "\nOwner=engine\nOwner=engine\n", -1,
    "Owner is given more than once" },
  { "empty-interface",
    GOOD_HEAD GOOD_GROUP GOOD_KEYS "Nonce=" NONCE_HEX "\nInterface=\n", -1,
    "Interface= is not valid: expected the name of a network interface" },
  { "long-interface",
    GOOD_HEAD GOOD_GROUP GOOD_KEYS "Nonce=" NONCE_HEX "\nInterface=abcdefghijklmnop\n", -1,
    "Interface=abcdefghijklmnop is not valid" },
  { "interface-slash",
    GOOD_HEAD GOOD_GROUP GOOD_KEYS "Nonce=" NONCE_HEX "\nInterface=../eth0\n", -1,
    "Interface=../eth0 is not valid" },
  { "interface-space",
    GOOD_HEAD GOOD_GROUP GOOD_KEYS "Nonce=" NONCE_HEX "\nInterface=eth 0\n", -1,
    "Interface=eth 0 is not valid" },
  { "duplicate-interface",
    GOOD_HEAD GOOD_GROUP GOOD_KEYS "Nonce=" NONCE_HEX "\nInterface=eth0\nInterface=eth1\n", -1,
    "Interface is given more than once" },
  { "unknown-group",
    GOOD_HEAD "[Window]\nWidth=3\n", -1, "[Window] (line 4) is not a group Portlight writes" },
  { "unknown-version", "[Portlight]\nVersion=2\n", -1, "Version=2" },
  { "version-text", "[Portlight]\nVersion=one\n", -1, "Version=one" },
  { "missing-version", "[Portlight]\n", -1, "Version is missing" },
  { "portlight-unknown-key", "[Portlight]\nVersion=1\nOwner=me\n", -1, "unknown key “Owner”" },
  { "foreign-key-file", "[Desktop Entry]\nName=Other program\nExec=other\n", -1,
    "no [Portlight] group" },
  { "keys-before-group", "Version=1\n[Portlight]\n", -1, "not a key file" },
};

/* The Owner key: written for the engine's records only, read back; a file of an older
 * version (no Owner key anywhere) loads as one-shot records and is saved byte for byte. */
static void
test_owner_round_trip (void)
{
  g_autofree char *path = test_path ("owner.ini");
  g_autoptr(GPtrArray) records = sample_records ();
  g_autoptr(PlPcpState) state = pl_pcp_state_new (path);
  g_autoptr(PlPcpState) loaded = pl_pcp_state_new (path);
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  PlPcpRecord *one_shot;

  g_assert_true (pl_pcp_state_load (state, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pl_pcp_state_get_owner (state), ==, PL_PCP_OWNER_ONE_SHOT);

  /* The first record is put by a one-shot writer, the others by the engine; a record's own
   * owner field does not count, the writer's does. */
  one_shot = g_ptr_array_index (records, 0);
  one_shot->owner = PL_PCP_OWNER_ENGINE;
  pl_pcp_state_put (state, one_shot);
  one_shot->owner = PL_PCP_OWNER_ONE_SHOT;
  pl_pcp_state_set_owner (state, PL_PCP_OWNER_ENGINE);
  for (guint i = 1; i < records->len; i++)
    {
      PlPcpRecord *record = g_ptr_array_index (records, i);

      pl_pcp_state_put (state, record);
      record->owner = PL_PCP_OWNER_ENGINE;
    }
  g_assert_true (pl_pcp_state_save (state, &error));
  g_assert_no_error (error);

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  /* Three engine records, one without the key. */
  {
    g_auto(GStrv) parts = g_strsplit (text, "Owner=engine\n", -1);

    g_assert_cmpuint (g_strv_length (parts), ==, records->len);
  }

  g_assert_true (pl_pcp_state_load (loaded, &error));
  g_assert_no_error (error);
  list = pl_pcp_state_list (loaded, NULL);
  g_assert_cmpuint (list->len, ==, records->len);
  for (guint i = 0; i < records->len; i++)
    assert_record_equal (g_ptr_array_index (list, i), g_ptr_array_index (records, i));

  /* Replacing a record gives it the writer's owner. */
  pl_pcp_state_put (loaded, one_shot);
  g_assert_cmpint (pl_pcp_state_lookup (loaded, one_shot->gateway, one_shot->protocol,
                                        one_shot->internal_port, one_shot->family)->owner,
                   ==, PL_PCP_OWNER_ONE_SHOT);
  pl_pcp_state_set_owner (loaded, PL_PCP_OWNER_ENGINE);
  pl_pcp_state_put (loaded, one_shot);
  g_assert_cmpint (pl_pcp_state_lookup (loaded, one_shot->gateway, one_shot->protocol,
                                        one_shot->internal_port, one_shot->family)->owner,
                   ==, PL_PCP_OWNER_ENGINE);
}

static void
test_owner_old_file (void)
{
  static const char old[] =
    GOOD_HEAD GOOD_GROUP GOOD_KEYS "Nonce=" NONCE_HEX "\n";
  g_autofree char *path = test_path ("old-version.ini");
  g_autoptr(PlPcpState) state = pl_pcp_state_new (path);
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GBytes) after = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  const PlPcpRecord *record;

  write_file (path, old, -1);
  g_assert_true (pl_pcp_state_load (state, &error));
  g_assert_no_error (error);
  list = pl_pcp_state_list (state, NULL);
  g_assert_cmpuint (list->len, ==, 1);
  record = g_ptr_array_index (list, 0);
  g_assert_cmpint (record->owner, ==, PL_PCP_OWNER_ONE_SHOT);
  g_assert_cmpuint (record->internal_port, ==, 8080);

  /* An engine loading it (as after an upgrade) keeps it one-shot: saved without Owner. */
  pl_pcp_state_set_owner (state, PL_PCP_OWNER_ENGINE);
  g_assert_true (pl_pcp_state_save (state, &error));
  g_assert_no_error (error);
  after = read_bytes (path);
  text = g_strndup (g_bytes_get_data (after, NULL), g_bytes_get_size (after));
  g_assert_null (strstr (text, "Owner"));
  g_assert_nonnull (strstr (text, "Nonce=" NONCE_HEX "\n"));
}

/* The Interface key: written for a record that has one (an IPv6 pinhole), read back; a
 * file without it (an older version) loads with no interface and is saved without it. */
static void
test_interface_round_trip (void)
{
  static const char old[] =
    GOOD_HEAD GOOD_GROUP GOOD_KEYS "Nonce=" NONCE_HEX "\nOwner=engine\n";
  g_autofree char *path = test_path ("interface.ini");
  g_autofree char *old_path = test_path ("interface-old.ini");
  g_autoptr(GPtrArray) records = sample_records ();
  g_autoptr(PlPcpState) state = pl_pcp_state_new (path);
  g_autoptr(PlPcpState) loaded = pl_pcp_state_new (path);
  g_autoptr(PlPcpState) old_state = pl_pcp_state_new (old_path);
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GPtrArray) old_list = NULL;
  g_autoptr(GBytes) after = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *old_text = NULL;
  PlPcpRecord *pinhole = g_ptr_array_index (records, 2);   /* fe80::1 */

  pinhole->interface = g_strdup ("wlp2s0");
  g_assert_true (pl_pcp_state_load (state, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < records->len; i++)
    pl_pcp_state_put (state, g_ptr_array_index (records, i));
  g_assert_true (pl_pcp_state_save (state, &error));
  g_assert_no_error (error);
  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  {
    g_auto(GStrv) parts = g_strsplit (text, "Interface=", -1);

    g_assert_cmpuint (g_strv_length (parts), ==, 2);   /* once: the pinhole's */
  }
  g_assert_nonnull (strstr (text, "\nInterface=wlp2s0\n"));

  g_assert_true (pl_pcp_state_load (loaded, &error));
  g_assert_no_error (error);
  list = pl_pcp_state_list (loaded, NULL);
  g_assert_cmpuint (list->len, ==, records->len);
  for (guint i = 0; i < records->len; i++)
    assert_record_equal (g_ptr_array_index (list, i), g_ptr_array_index (records, i));

  /* An older file has none: it loads, and is saved as it was. */
  write_file (old_path, old, -1);
  g_assert_true (pl_pcp_state_load (old_state, &error));
  g_assert_no_error (error);
  old_list = pl_pcp_state_list (old_state, NULL);
  g_assert_cmpuint (old_list->len, ==, 1);
  g_assert_null (((PlPcpRecord *) g_ptr_array_index (old_list, 0))->interface);
  g_assert_true (pl_pcp_state_save (old_state, &error));
  g_assert_no_error (error);
  after = read_bytes (old_path);
  old_text = g_strndup (g_bytes_get_data (after, NULL), g_bytes_get_size (after));
  g_assert_null (strstr (old_text, "Interface"));
  g_assert_nonnull (strstr (old_text, "\nOwner=engine\n"));
}

static void
test_engine_path (void)
{
  g_autofree char *path = pl_pcp_state_get_engine_path ();
  g_autofree char *want = g_build_filename (g_get_user_runtime_dir (), "portlight",
                                            "engine-mappings.ini", NULL);
  g_autofree char *one_shot = pl_pcp_state_get_default_path ();

  g_assert_cmpstr (path, ==, want);
  g_assert_cmpstr (path, !=, one_shot);
}

static void
assert_refused (const char *path,
                const char *expected)
{
  g_autoptr(PlPcpState) state = pl_pcp_state_new (path);
  g_autoptr(GPtrArray) records = sample_records ();
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GBytes) before = read_bytes (path);
  g_autoptr(GBytes) after = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) save_error = NULL;

  g_assert_false (pl_pcp_state_load (state, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, path));
  if (expected != NULL && strstr (error->message, expected) == NULL)
    g_error ("“%s” is not in “%s”", expected, error->message);

  list = pl_pcp_state_list (state, NULL);
  g_assert_cmpuint (list->len, ==, 0);
  g_assert_false (pl_pcp_state_can_save (state, NULL));

  /* Saving, with or without changes, fails and writes nothing. */
  g_assert_false (pl_pcp_state_save (state, &save_error));
  g_assert_error (save_error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (save_error->message, path));
  g_clear_error (&save_error);
  pl_pcp_state_put (state, g_ptr_array_index (records, 0));
  g_assert_false (pl_pcp_state_save (state, &save_error));
  g_assert_nonnull (save_error);

  after = read_bytes (path);
  g_assert_true (g_bytes_equal (before, after));
}

static void
test_corrupt (gconstpointer data)
{
  const Corrupt *corrupt = data;
  g_autofree char *name = g_strconcat (corrupt->name, ".ini", NULL);
  g_autofree char *path = test_path (name);

  write_file (path, corrupt->data, corrupt->length);
  assert_refused (path, corrupt->expected);
}

static void
test_random_binary (void)
{
  g_autofree char *path = test_path ("random.bin");
  guint8 data[4096];

  for (guint i = 0; i < sizeof data; i++)
    data[i] = g_test_rand_int_range (0, 256);
  data[100] = 0xff;   /* whatever the seed, this is not text */
  write_file (path, (const char *) data, sizeof data);
  assert_refused (path, NULL);
}

static void
test_huge_file (void)
{
  g_autofree char *path = test_path ("huge.ini");
  g_autoptr(GString) data = g_string_new (GOOD_HEAD);

  /* Valid content, but too much of it. */
  while (data->len <= 300 * 1024)
    g_string_append (data, "# a comment line, to make the file large\n");
  write_file (path, data->str, data->len);
  assert_refused (path, "KiB a mapping state file may have");
}

static void
test_not_regular (void)
{
  g_autofree char *path = test_path ("folder.ini");
  g_autoptr(PlPcpState) state = pl_pcp_state_new (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  g_assert_false (pl_pcp_state_load (state, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "not a regular file"));
  g_assert_false (pl_pcp_state_can_save (state, NULL));
}

static void
test_fixed_after_refusal (void)
{
  g_autofree char *path = test_path ("fixed.ini");
  g_autoptr(PlPcpState) state = pl_pcp_state_new (path);
  g_autoptr(GError) error = NULL;
  const char *good = GOOD_HEAD GOOD_GROUP GOOD_KEYS "Nonce=" NONCE_HEX "\n";
  g_autoptr(GInetAddress) gw = g_inet_address_new_from_string ("192.168.1.1");
  const PlPcpRecord *record;
  static const guint8 nonce[] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
                                  0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb };

  write_file (path, "[Portlight]\nVersion=7\n", -1);
  g_assert_false (pl_pcp_state_load (state, &error));
  g_clear_error (&error);

  /* Fixed by hand: loads, and saving works again. */
  write_file (path, good, -1);
  g_assert_true (pl_pcp_state_load (state, &error));
  g_assert_no_error (error);
  g_assert_true (pl_pcp_state_can_save (state, NULL));
  record = pl_pcp_state_lookup (state, gw, PL_PROTOCOL_TCP, 8080, G_SOCKET_FAMILY_IPV4);
  g_assert_nonnull (record);
  g_assert_cmpmem (record->nonce, sizeof record->nonce, nonce, sizeof nonce);
  g_assert_cmpint (record->expires, ==, 1780000000);
  g_assert_true (pl_pcp_state_save (state, &error));
  g_assert_no_error (error);
}

static void
test_changed_on_disk (void)
{
  g_autofree char *path = test_path ("changed.ini");
  g_autoptr(GPtrArray) records = sample_records ();
  g_autoptr(PlPcpState) state = state_with (records, path);
  g_autoptr(PlPcpState) unloaded = pl_pcp_state_new (path);
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (pl_pcp_state_save (state, &error));
  g_assert_no_error (error);
  before = read_bytes (path);

  /* Saving without loading first would drop the nonces in the file. */
  pl_pcp_state_put (unloaded, g_ptr_array_index (records, 0));
  g_assert_false (pl_pcp_state_save (unloaded, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WRONG_ETAG);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  after = read_bytes (path);
  g_assert_true (g_bytes_equal (before, after));
}

static void
test_forget_expired (void)
{
  g_autofree char *path = test_path ("expired.ini");
  g_autoptr(GPtrArray) records = sample_records ();
  g_autoptr(PlPcpState) state = state_with (records, path);
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GPtrArray) list2 = NULL;
  g_autoptr(GPtrArray) list3 = NULL;

  /* Expiries: 1780000000, 1780000100, 1780000200, 1, 1780000300. */
  pl_pcp_state_forget_expired (state, 1000);
  list = pl_pcp_state_list (state, NULL);
  g_assert_cmpuint (list->len, ==, 4);

  /* At the expiry time itself the mapping has ended. */
  pl_pcp_state_forget_expired (state, 1780000100);
  list2 = pl_pcp_state_list (state, NULL);
  g_assert_cmpuint (list2->len, ==, 2);
  assert_record_equal (g_ptr_array_index (list2, 0), g_ptr_array_index (records, 2));
  assert_record_equal (g_ptr_array_index (list2, 1), g_ptr_array_index (records, 4));

  pl_pcp_state_forget_expired (state, G_MAXINT64);
  list3 = pl_pcp_state_list (state, NULL);
  g_assert_cmpuint (list3->len, ==, 0);
}

static void
test_nonce (void)
{
  g_autoptr(PlPcpRecord) a = pl_pcp_record_new ();
  g_autoptr(PlPcpRecord) b = pl_pcp_record_new ();
  g_autoptr(PlPcpRecord) copy = NULL;
  static const guint8 zero[12] = { 0, };

  g_assert_cmpuint (sizeof a->nonce, ==, 12);
  g_assert_cmpmem (a->nonce, sizeof a->nonce, zero, sizeof zero);

  pl_pcp_record_new_nonce (a);
  pl_pcp_record_new_nonce (b);
  g_assert_true (memcmp (a->nonce, zero, sizeof zero) != 0);
  g_assert_true (memcmp (a->nonce, b->nonce, sizeof a->nonce) != 0);

  copy = pl_pcp_record_copy (a);
  g_assert_cmpmem (copy->nonce, sizeof copy->nonce, a->nonce, sizeof a->nonce);
  pl_pcp_record_new_nonce (a);
  g_assert_true (memcmp (copy->nonce, a->nonce, sizeof a->nonce) != 0);

  /* Many nonces, no repeats. */
  {
    g_autoptr(GHashTable) seen = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                                        (GDestroyNotify) g_bytes_unref, NULL);

    for (guint i = 0; i < 1000; i++)
      {
        pl_pcp_record_new_nonce (b);
        g_assert_true (g_hash_table_add (seen, g_bytes_new (b->nonce, sizeof b->nonce)));
      }
  }
}

static void
test_boxed (void)
{
  g_autoptr(GPtrArray) records = sample_records ();
  PlPcpRecord *record = g_ptr_array_index (records, 0);
  PlPcpRecord *copy;

  record->interface = g_strdup ("eth0");
  copy = g_boxed_copy (PL_TYPE_PCP_RECORD, record);
  assert_record_equal (copy, record);
  g_assert_true (copy->gateway == record->gateway);   /* shared, referenced */
  g_assert_true (copy->interface != record->interface);   /* its own */
  g_boxed_free (PL_TYPE_PCP_RECORD, copy);
  g_assert_true (G_IS_INET_ADDRESS (record->gateway));
}

/* Batches */

#define BATCH_N 20

static PlPcpState *
batch_state (const char *name,
             char      **path_out)
{
  g_autofree char *path = test_path (name);
  g_autoptr(GError) error = NULL;
  PlPcpState *state;

  g_remove (path);
  state = pl_pcp_state_new (path);
  g_assert_true (pl_pcp_state_load (state, &error));
  pl_pcp_state_set_owner (state, PL_PCP_OWNER_ENGINE);
  *path_out = g_steal_pointer (&path);
  return state;
}

static void
batch_put (PlPcpState *state,
           guint       i,
           guint16     external_port)
{
  g_autoptr(PlPcpRecord) record = make_record ("192.168.1.1", PL_PCP_METHOD_NATPMP,
                                               PL_PROTOCOL_TCP, "192.168.1.20", 40000 + i,
                                               external_port, NULL, 1780000000);

  pl_pcp_state_put (state, record);
  pl_pcp_state_save_later (state);
}

/* The records in the file now, as another process would read them. */
static guint
on_disk (const char *path,
         guint16     external_port)
{
  g_autoptr(PlPcpState) check = pl_pcp_state_new (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) records = NULL;
  guint n = 0;

  g_assert_true (pl_pcp_state_load (check, &error));
  records = pl_pcp_state_list (check, NULL);
  for (guint i = 0; i < records->len; i++)
    {
      const PlPcpRecord *record = g_ptr_array_index (records, i);

      if (record->external_port == external_port)
        n++;
    }
  return n;
}

static void
test_batch_hold (void)
{
  g_autofree char *path = NULL;
  g_autoptr(PlPcpState) state = batch_state ("batch-hold.ini", &path);
  g_autoptr(PlTestReplaces) replaces = pl_test_replaces_new (path);

  g_test_summary ("Changes made while holds are taken are saved once, when the last hold is "
                  "released; without a hold every change is saved at once");

  for (guint i = 0; i < BATCH_N; i++)
    pl_pcp_state_hold (state);
  for (guint i = 0; i < BATCH_N; i++)
    batch_put (state, i, 50000);
  g_assert_cmpuint (pl_test_replaces_count (replaces), ==, 0);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  for (guint i = 0; i < BATCH_N - 1; i++)
    pl_pcp_state_release (state);
  g_assert_cmpuint (pl_test_replaces_count (replaces), ==, 0);
  pl_pcp_state_release (state);
  g_assert_cmpuint (pl_test_replaces_count (replaces), ==, 1);
  g_assert_cmpuint (on_disk (path, 50000), ==, BATCH_N);

  /* Nothing changed: releasing again writes nothing; no hold: one save per change. */
  pl_pcp_state_hold (state);
  pl_pcp_state_release (state);
  g_assert_cmpuint (pl_test_replaces_count (replaces), ==, 1);
  batch_put (state, 0, 50001);
  batch_put (state, 1, 50001);
  g_assert_cmpuint (pl_test_replaces_count (replaces), ==, 3);
  g_assert_cmpuint (on_disk (path, 50001), ==, 2);
}

typedef struct
{
  const char *path;
  guint       done;
  guint       disk_at_first;
  guint       replaces_at_first;
  PlTestReplaces *replaces;
} Barrier;

static void
barrier_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Barrier *barrier = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (pl_pcp_state_sync_finish (PL_PCP_STATE (source), result, &error));
  g_assert_no_error (error);
  if (barrier->done++ == 0)
    {
      barrier->disk_at_first = on_disk (barrier->path, 0);
      barrier->replaces_at_first = pl_test_replaces_count (barrier->replaces);
    }
}

static void
test_batch_barrier (void)
{
  g_autofree char *path = NULL;
  g_autoptr(PlPcpState) state = batch_state ("batch-barrier.ini", &path);
  g_autoptr(PlTestReplaces) replaces = pl_test_replaces_new (path);
  Barrier barrier = { path, 0, 0, 0, replaces };

  g_test_summary ("The write barrier of requests about to go out: every change made before "
                  "it is on disk when the first caller hears, with one save for all the "
                  "callers of one main-loop iteration, even while holds are taken; the "
                  "answers' changes are one more save, at the last release");

  for (guint i = 0; i < BATCH_N; i++)
    {
      pl_pcp_state_hold (state);
      batch_put (state, i, 0);
      pl_pcp_state_sync_async (state, barrier_cb, &barrier);
    }
  g_assert_cmpuint (pl_test_replaces_count (replaces), ==, 0);
  while (barrier.done < BATCH_N)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (barrier.disk_at_first, ==, BATCH_N);
  g_assert_cmpuint (barrier.replaces_at_first, ==, 1);
  g_assert_cmpuint (pl_test_replaces_count (replaces), ==, 1);

  /* The answers. */
  for (guint i = 0; i < BATCH_N; i++)
    {
      batch_put (state, i, 60000);
      pl_pcp_state_release (state);
    }
  g_assert_cmpuint (pl_test_replaces_count (replaces), ==, 2);
  g_assert_cmpuint (on_disk (path, 60000), ==, BATCH_N);

  /* A barrier with nothing changed writes nothing. */
  barrier.done = 0;
  pl_pcp_state_sync_async (state, barrier_cb, &barrier);
  while (barrier.done < 1)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (pl_test_replaces_count (replaces), ==, 2);
}

static void
test_batch_backstop (void)
{
  g_autofree char *path = NULL;
  g_autoptr(PlPcpState) state = batch_state ("batch-backstop.ini", &path);
  g_autoptr(PlTestReplaces) replaces = pl_test_replaces_new (path);

  g_test_summary ("A change held back by a hold that is not released (a request retransmitted "
                  "for ever) is saved anyway, once");

  pl_pcp_state_hold (state);
  batch_put (state, 0, 1234);
  batch_put (state, 1, 1234);
  while (pl_test_replaces_count (replaces) == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (on_disk (path, 1234), ==, 2);
  pl_pcp_state_release (state);
  g_assert_cmpuint (pl_test_replaces_count (replaces), ==, 1);
}

static void
test_batch_dispose (void)
{
  g_autofree char *path = NULL;
  PlPcpState *state = batch_state ("batch-dispose.ini", &path);
  g_autoptr(PlTestReplaces) replaces = pl_test_replaces_new (path);
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string ("192.168.1.1");
  g_autoptr(GError) error = NULL;

  g_test_summary ("Changes still held back are saved when the object goes; a flush saves "
                  "them at once and only then");

  pl_pcp_state_hold (state);
  batch_put (state, 0, 4321);
  g_assert_true (pl_pcp_state_flush (state, &error));
  g_assert_cmpuint (pl_test_replaces_count (replaces), ==, 1);
  g_assert_true (pl_pcp_state_flush (state, &error));
  g_assert_cmpuint (pl_test_replaces_count (replaces), ==, 1);
  g_assert_true (pl_pcp_state_remove (state, gateway, PL_PROTOCOL_TCP, 40000, G_SOCKET_FAMILY_IPV4));
  pl_pcp_state_save_later (state);
  g_assert_cmpuint (pl_test_replaces_count (replaces), ==, 1);
  g_object_unref (state);
  g_assert_cmpuint (pl_test_replaces_count (replaces), ==, 2);
  g_assert_cmpuint (on_disk (path, 4321), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/pl/pcp-state/default-path", test_default_path);
  g_test_add_func ("/pl/pcp-state/missing-file", test_missing_file);
  g_test_add_func ("/pl/pcp-state/empty-file", test_empty_file);
  g_test_add_func ("/pl/pcp-state/round-trip", test_round_trip);
  g_test_add_func ("/pl/pcp-state/replace", test_replace);
  g_test_add_func ("/pl/pcp-state/owner/round-trip", test_owner_round_trip);
  g_test_add_func ("/pl/pcp-state/owner/old-file", test_owner_old_file);
  g_test_add_func ("/pl/pcp-state/owner/engine-path", test_engine_path);
  g_test_add_func ("/pl/pcp-state/interface/round-trip", test_interface_round_trip);
  g_test_add_func ("/pl/pcp-state/remove", test_remove);
  g_test_add_func ("/pl/pcp-state/lookup", test_lookup);
  g_test_add_func ("/pl/pcp-state/put-merged", test_put_merged);
  g_test_add_func ("/pl/pcp-state/list-gateway", test_list_gateway);
  g_test_add_func ("/pl/pcp-state/modes", test_modes);
  g_test_add_func ("/pl/pcp-state/atomic", test_atomic);
  for (guint i = 0; i < G_N_ELEMENTS (corrupt_cases); i++)
    {
      g_autofree char *name = g_strconcat ("/pl/pcp-state/corrupt/", corrupt_cases[i].name,
                                           NULL);

      g_test_add_data_func (name, &corrupt_cases[i], test_corrupt);
    }
  g_test_add_func ("/pl/pcp-state/foreign/random-binary", test_random_binary);
  g_test_add_func ("/pl/pcp-state/foreign/huge-file", test_huge_file);
  g_test_add_func ("/pl/pcp-state/foreign/not-regular", test_not_regular);
  g_test_add_func ("/pl/pcp-state/fixed-after-refusal", test_fixed_after_refusal);
  g_test_add_func ("/pl/pcp-state/changed-on-disk", test_changed_on_disk);
  g_test_add_func ("/pl/pcp-state/forget-expired", test_forget_expired);
  g_test_add_func ("/pl/pcp-state/nonce", test_nonce);
  g_test_add_func ("/pl/pcp-state/boxed", test_boxed);
  g_test_add_func ("/pl/pcp-state/batch/hold", test_batch_hold);
  g_test_add_func ("/pl/pcp-state/batch/barrier", test_batch_barrier);
  g_test_add_func ("/pl/pcp-state/batch/backstop", test_batch_backstop);
  g_test_add_func ("/pl/pcp-state/batch/dispose", test_batch_dispose);

  return g_test_run ();
}
