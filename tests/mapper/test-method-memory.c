/* test-method-memory.c: PlMethodMemory, the protocol each gateway speaks
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
#include "pl-method-memory.h"

/* Helpers */

static const guint8 mac_a[6] = { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
static const guint8 mac_b[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 };
static const guint8 mac_c[6] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 };

#define HEAD "[Portlight]\nVersion=1\n\n"
#define GROUP_A "[gateway 192.168.1.1 aa:bb:cc:dd:ee:ff]\n"

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

static char *
read_text (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *data = NULL;

  g_file_get_contents (path, &data, NULL, &error);
  g_assert_no_error (error);
  return data;
}

static GInetAddress *
address (const char *text)
{
  GInetAddress *result = g_inet_address_new_from_string (text);

  g_assert_nonnull (result);
  return result;
}

static PlMethodMemory *
loaded_memory (const char *path)
{
  g_autoptr(GError) error = NULL;
  PlMethodMemory *memory = pl_method_memory_new (path);

  g_assert_true (pl_method_memory_load (memory, &error));
  g_assert_no_error (error);
  return memory;
}

static void
save (PlMethodMemory *memory)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (pl_method_memory_save (memory, &error));
  g_assert_no_error (error);
}

static void
assert_method (PlMethodMemory *memory,
               GInetAddress   *gateway,
               const guint8   *mac,
               PlMethod        expected)
{
  PlMethod method = PL_METHOD_AUTO;

  g_assert_true (pl_method_memory_lookup (memory, gateway, mac, &method));
  g_assert_cmpint (method, ==, expected);
}

/* The MAC 02:00:00:00:HH:LL for @i. */
static void
numbered_mac (guint   i,
              guint8  mac[6])
{
  mac[0] = 0x02;
  mac[1] = mac[2] = mac[3] = 0;
  mac[4] = (i >> 8) & 0xff;
  mac[5] = i & 0xff;
}

/* Tests */

static void
test_default_path (void)
{
  g_autoptr(PlMethodMemory) memory = pl_method_memory_new (NULL);
  g_autoptr(GInetAddress) gw = address ("192.168.1.1");
  g_autofree char *expected = g_build_filename (g_get_user_state_dir (), "portlight",
                                                "gateways.ini", NULL);
  g_autofree char *from_function = pl_method_memory_get_default_path ();
  g_autofree char *dir = g_path_get_dirname (expected);
  g_autoptr(GError) error = NULL;
  struct stat st;

  g_assert_cmpstr (pl_method_memory_get_path (memory), ==, expected);
  g_assert_cmpstr (from_function, ==, expected);

  g_assert_true (pl_method_memory_load (memory, &error));
  g_assert_no_error (error);
  pl_method_memory_remember (memory, gw, mac_a, PL_METHOD_PCP);
  save (memory);
  g_assert_cmpint (g_stat (expected, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
}

static void
test_missing_file (void)
{
  g_autofree char *path = test_path ("missing.ini");
  g_autoptr(PlMethodMemory) memory = loaded_memory (path);
  g_autoptr(GInetAddress) gw = address ("192.168.1.1");
  g_autofree char *text = NULL;

  g_assert_cmpuint (pl_method_memory_get_n_gateways (memory), ==, 0);
  g_assert_false (pl_method_memory_lookup (memory, gw, mac_a, NULL));
  g_assert_true (pl_method_memory_can_save (memory, NULL));
  /* Loading creates nothing. */
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  /* An empty memory saves as the version marker alone. */
  save (memory);
  text = read_text (path);
  g_assert_cmpstr (text, ==, "[Portlight]\nVersion=1\n");
}

static void
test_empty_file (void)
{
  g_autofree char *path = test_path ("empty.ini");
  g_autoptr(PlMethodMemory) memory = NULL;
  g_autoptr(GInetAddress) gw = address ("192.168.1.1");

  write_file (path, "", 0);
  memory = loaded_memory (path);
  g_assert_cmpuint (pl_method_memory_get_n_gateways (memory), ==, 0);
  pl_method_memory_remember (memory, gw, mac_a, PL_METHOD_NATPMP);
  save (memory);
}

static void
test_round_trip (void)
{
  g_autofree char *path = test_path ("round-trip.ini");
  g_autoptr(PlMethodMemory) memory = loaded_memory (path);
  g_autoptr(PlMethodMemory) loaded = NULL;
  g_autoptr(GInetAddress) gw = address ("192.168.1.1");
  g_autoptr(GInetAddress) gw6 = address ("fe80::1");
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  gint64 before = g_get_real_time () / G_USEC_PER_SEC;
  gint64 after;
  gint64 seen;

  /* Two networks with a gateway at 192.168.1.1, and an IPv6 one. */
  pl_method_memory_remember (memory, gw, mac_a, PL_METHOD_PCP);
  pl_method_memory_remember (memory, gw, mac_b, PL_METHOD_NATPMP);
  pl_method_memory_remember (memory, gw6, mac_c, PL_METHOD_NATPMP);
  g_assert_cmpuint (pl_method_memory_get_n_gateways (memory), ==, 3);
  save (memory);
  after = g_get_real_time () / G_USEC_PER_SEC;

  text = read_text (path);
  g_test_message ("%s", text);
  g_assert_true (g_str_has_prefix (text, "[Portlight]\nVersion=1\n"));
  g_assert_nonnull (strstr (text, "[gateway 192.168.1.1 aa:bb:cc:dd:ee:ff]\nProtocol=pcp\n"));
  g_assert_nonnull (strstr (text, "[gateway 192.168.1.1 02:00:5e:10:00:01]\nProtocol=natpmp\n"));
  g_assert_nonnull (strstr (text, "[gateway fe80::1 00:11:22:33:44:55]\nProtocol=natpmp\n"));

  g_assert_true (g_key_file_load_from_data (key_file, text, -1, G_KEY_FILE_NONE, &error));
  g_assert_no_error (error);
  seen = g_key_file_get_int64 (key_file, "gateway 192.168.1.1 aa:bb:cc:dd:ee:ff", "Seen",
                               &error);
  g_assert_no_error (error);
  g_assert_cmpint (seen, >=, before);
  g_assert_cmpint (seen, <=, after);

  loaded = loaded_memory (path);
  g_assert_cmpuint (pl_method_memory_get_n_gateways (loaded), ==, 3);
  assert_method (loaded, gw, mac_a, PL_METHOD_PCP);
  assert_method (loaded, gw, mac_b, PL_METHOD_NATPMP);
  assert_method (loaded, gw6, mac_c, PL_METHOD_NATPMP);

  /* Saving what was loaded, unchanged, writes the same bytes. */
  {
    g_autoptr(GBytes) first = read_bytes (path);
    g_autoptr(GBytes) second = NULL;

    save (loaded);
    second = read_bytes (path);
    g_assert_true (g_bytes_equal (first, second));
  }
}

static void
test_replace (void)
{
  g_autofree char *path = test_path ("replace.ini");
  g_autoptr(PlMethodMemory) memory = loaded_memory (path);
  g_autoptr(GInetAddress) gw = address ("10.0.0.1");

  pl_method_memory_remember (memory, gw, mac_a, PL_METHOD_PCP);
  pl_method_memory_remember (memory, gw, mac_a, PL_METHOD_NATPMP);
  g_assert_cmpuint (pl_method_memory_get_n_gateways (memory), ==, 1);
  assert_method (memory, gw, mac_a, PL_METHOD_NATPMP);
}

static void
test_mac_mismatch (void)
{
  g_autofree char *path = test_path ("mismatch.ini");
  g_autoptr(PlMethodMemory) memory = loaded_memory (path);
  g_autoptr(GInetAddress) gw = address ("192.168.1.1");
  g_autoptr(GInetAddress) other = address ("192.168.1.254");
  g_autoptr(GInetAddress) gw6 = address ("::ffff:192.168.1.1");
  PlMethod method = PL_METHOD_AUTO;

  pl_method_memory_remember (memory, gw, mac_a, PL_METHOD_NATPMP);

  /* Same address, another router: another network. */
  g_assert_false (pl_method_memory_lookup (memory, gw, mac_b, &method));
  g_assert_cmpint (method, ==, PL_METHOD_AUTO);
  /* Same router MAC, another address. */
  g_assert_false (pl_method_memory_lookup (memory, other, mac_a, NULL));
  g_assert_false (pl_method_memory_lookup (memory, gw6, mac_a, NULL));
  assert_method (memory, gw, mac_a, PL_METHOD_NATPMP);
}

static void
test_null_mac (void)
{
  g_autofree char *path = test_path ("null-mac.ini");
  g_autoptr(PlMethodMemory) memory = loaded_memory (path);
  g_autoptr(GInetAddress) gw = address ("192.168.1.1");
  g_autoptr(GInetAddress) other = address ("192.168.1.2");
  PlMethod method = PL_METHOD_AUTO;

  /* No MAC, no memory. */
  pl_method_memory_remember (memory, gw, NULL, PL_METHOD_NATPMP);
  g_assert_cmpuint (pl_method_memory_get_n_gateways (memory), ==, 0);

  pl_method_memory_remember (memory, gw, mac_a, PL_METHOD_NATPMP);
  pl_method_memory_remember (memory, gw, mac_b, PL_METHOD_PCP);
  pl_method_memory_remember (memory, other, mac_a, PL_METHOD_PCP);
  g_assert_false (pl_method_memory_lookup (memory, gw, NULL, &method));
  g_assert_cmpint (method, ==, PL_METHOD_AUTO);

  /* Forgetting without a MAC forgets every gateway at that address. */
  g_assert_true (pl_method_memory_forget (memory, gw, NULL));
  g_assert_cmpuint (pl_method_memory_get_n_gateways (memory), ==, 1);
  g_assert_false (pl_method_memory_lookup (memory, gw, mac_a, NULL));
  g_assert_false (pl_method_memory_lookup (memory, gw, mac_b, NULL));
  assert_method (memory, other, mac_a, PL_METHOD_PCP);
  g_assert_false (pl_method_memory_forget (memory, gw, NULL));
}

static void
test_forget (void)
{
  g_autofree char *path = test_path ("forget.ini");
  g_autoptr(PlMethodMemory) memory = loaded_memory (path);
  g_autoptr(PlMethodMemory) loaded = NULL;
  g_autoptr(GInetAddress) gw = address ("192.168.1.1");

  pl_method_memory_remember (memory, gw, mac_a, PL_METHOD_NATPMP);
  pl_method_memory_remember (memory, gw, mac_b, PL_METHOD_PCP);
  save (memory);

  g_assert_false (pl_method_memory_forget (memory, gw, mac_c));
  g_assert_true (pl_method_memory_forget (memory, gw, mac_a));
  g_assert_false (pl_method_memory_forget (memory, gw, mac_a));
  save (memory);

  loaded = loaded_memory (path);
  g_assert_cmpuint (pl_method_memory_get_n_gateways (loaded), ==, 1);
  g_assert_false (pl_method_memory_lookup (loaded, gw, mac_a, NULL));
  assert_method (loaded, gw, mac_b, PL_METHOD_PCP);
}

/* Refused files */

typedef struct
{
  const char *name;
  const char *data;
  gssize      length;     /* -1: NUL-terminated */
  const char *expected;   /* part of the message */
} Corrupt;

static const Corrupt corrupt_cases[] = {
  { "binary-nul", HEAD "\0\x01\x02garbage", sizeof (HEAD "\0\x01\x02garbage") - 1,
    "binary data (line 4)" },
  { "not-utf8", HEAD GROUP_A "Protocol=\xff\xfe\n", -1, "not valid UTF-8 text (line 5)" },
  { "not-key-file", "this is not a key file\n", -1, "not a key file" },
  { "bad-protocol", HEAD GROUP_A "Protocol=upnpc\nSeen=1000\n", -1,
    "(line 4): Protocol=upnpc is not valid: expected “pcp”, “natpmp” or “upnp”" },
  { "protocol-auto", HEAD GROUP_A "Protocol=auto\nSeen=1000\n", -1, "Protocol=auto is not valid" },
  { "protocol-empty", HEAD GROUP_A "Protocol=\nSeen=1000\n", -1, "Protocol= is not valid" },
  { "missing-protocol", HEAD GROUP_A "Seen=1000\n", -1, "(line 4): Protocol is missing" },
  { "duplicate-protocol", HEAD GROUP_A "Protocol=pcp\nProtocol=natpmp\nSeen=1000\n", -1,
    "Protocol is given more than once" },
  { "bad-seen", HEAD GROUP_A "Protocol=pcp\nSeen=yesterday\n", -1, "Seen=yesterday is not valid" },
  { "negative-seen", HEAD GROUP_A "Protocol=pcp\nSeen=-5\n", -1, "Seen=-5 is not valid" },
  { "huge-seen", HEAD GROUP_A "Protocol=pcp\nSeen=99999999999999999999\n", -1,
    "Seen=99999999999999999999 is not valid" },
  { "missing-seen", HEAD GROUP_A "Protocol=pcp\n", -1, "Seen is missing" },
  { "bad-address", HEAD "[gateway 192.168.1.300 aa:bb:cc:dd:ee:ff]\nProtocol=pcp\nSeen=1\n", -1,
    "(line 4): “192.168.1.300” is not an IP address" },
  { "hostname-address", HEAD "[gateway router.local aa:bb:cc:dd:ee:ff]\nProtocol=pcp\nSeen=1\n",
    -1, "“router.local” is not an IP address" },
  { "short-mac", HEAD "[gateway 192.168.1.1 aa:bb:cc:dd:ee]\nProtocol=pcp\nSeen=1\n", -1,
    "“aa:bb:cc:dd:ee” is not a MAC address" },
  { "mac-dashes", HEAD "[gateway 192.168.1.1 aa-bb-cc-dd-ee-ff]\nProtocol=pcp\nSeen=1\n", -1,
    "“aa-bb-cc-dd-ee-ff” is not a MAC address" },
  { "mac-not-hex", HEAD "[gateway 192.168.1.1 aa:bb:cc:dd:ee:zz]\nProtocol=pcp\nSeen=1\n", -1,
    "is not a MAC address" },
  { "no-mac", HEAD "[gateway 192.168.1.1]\nProtocol=pcp\nSeen=1\n", -1,
    "must be named “gateway ADDRESS MAC”" },
  { "extra-word", HEAD "[gateway 192.168.1.1 aa:bb:cc:dd:ee:ff eth0]\nProtocol=pcp\nSeen=1\n",
    -1, "must be named" },
  { "double-space", HEAD "[gateway  192.168.1.1 aa:bb:cc:dd:ee:ff]\nProtocol=pcp\nSeen=1\n", -1,
    "must be named" },
  { "duplicate-group", HEAD GROUP_A "Protocol=pcp\nSeen=1\n" GROUP_A "Protocol=pcp\n", -1,
    "appears more than once (first at line 4)" },
  { "same-gateway-twice",
    HEAD GROUP_A "Protocol=pcp\nSeen=1\n\n"
    "[gateway 192.168.1.1 AA:BB:CC:DD:EE:FF]\nProtocol=natpmp\nSeen=2\n", -1,
    "[gateway 192.168.1.1 AA:BB:CC:DD:EE:FF] (line 8) names the same gateway as "
    "[gateway 192.168.1.1 aa:bb:cc:dd:ee:ff] (line 4)" },
  { "same-ipv6-gateway-twice",
    HEAD "[gateway fe80::1 aa:bb:cc:dd:ee:ff]\nProtocol=pcp\nSeen=1\n"
    "[gateway fe80:0:0::1 aa:bb:cc:dd:ee:ff]\nProtocol=pcp\nSeen=1\n", -1,
    "names the same gateway as" },
  { "no-portlight-group", GROUP_A "Protocol=pcp\nSeen=1\n", -1, "no [Portlight] group" },
  { "foreign-key-file", "[Desktop Entry]\nName=Other program\nExec=other\n", -1,
    "no [Portlight] group" },
  { "unknown-version", "[Portlight]\nVersion=2\n", -1, "Version=2 is a version" },
  { "missing-version", "[Portlight]\nOwner=me\n", -1, "Version is missing" },
  { "duplicate-version", "[Portlight]\nVersion=1\nVersion=1\n", -1,
    "Version is given more than once" },
  { "keys-before-group", "Protocol=pcp\n" HEAD, -1, "not a key file" },
};

static void
assert_refused (const char *path,
                const char *expected)
{
  g_autoptr(PlMethodMemory) memory = pl_method_memory_new (path);
  g_autoptr(GInetAddress) gw = address ("192.168.1.1");
  g_autoptr(GBytes) before = read_bytes (path);
  g_autoptr(GBytes) after = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) save_error = NULL;

  g_assert_false (pl_method_memory_load (memory, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, path));
  if (expected != NULL && strstr (error->message, expected) == NULL)
    g_error ("“%s” is not in “%s”", expected, error->message);

  g_assert_cmpuint (pl_method_memory_get_n_gateways (memory), ==, 0);
  g_assert_false (pl_method_memory_lookup (memory, gw, mac_a, NULL));
  g_assert_false (pl_method_memory_can_save (memory, NULL));

  /* Saving, with or without changes, fails and writes nothing. */
  g_assert_false (pl_method_memory_save (memory, &save_error));
  g_assert_error (save_error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (save_error->message, path));
  g_assert_nonnull (strstr (save_error->message, "not saved"));
  g_clear_error (&save_error);
  pl_method_memory_remember (memory, gw, mac_a, PL_METHOD_NATPMP);
  g_assert_false (pl_method_memory_save (memory, &save_error));
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
  g_autoptr(GString) data = g_string_new (HEAD);

  /* Valid content, but too much of it. */
  while (data->len <= 300 * 1024)
    g_string_append (data, "# a comment line, to make the file large\n");
  write_file (path, data->str, data->len);
  assert_refused (path, "KiB a gateway protocol file may have");
}

static void
test_not_regular (void)
{
  g_autofree char *path = test_path ("folder.ini");
  g_autoptr(PlMethodMemory) memory = pl_method_memory_new (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  g_assert_false (pl_method_memory_load (memory, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "not a regular file"));
  g_assert_false (pl_method_memory_can_save (memory, NULL));
}

static void
test_refusal_keeps_memory (void)
{
  g_autofree char *path = test_path ("refusal.ini");
  g_autoptr(PlMethodMemory) memory = NULL;
  g_autoptr(GInetAddress) gw = address ("192.168.1.1");
  g_autoptr(GError) error = NULL;

  write_file (path, HEAD GROUP_A "Protocol=natpmp\nSeen=1000\n", -1);
  memory = loaded_memory (path);

  /* A broken file leaves what was loaded, and stops saves. */
  write_file (path, HEAD GROUP_A "Protocol=natpmp\nSeen=soon\n", -1);
  g_assert_false (pl_method_memory_load (memory, &error));
  g_clear_error (&error);
  assert_method (memory, gw, mac_a, PL_METHOD_NATPMP);
  g_assert_false (pl_method_memory_save (memory, NULL));

  /* Fixed by hand: loads, and saving works again. */
  write_file (path, HEAD GROUP_A "Protocol=pcp\nSeen=1000\n", -1);
  g_assert_true (pl_method_memory_load (memory, &error));
  g_assert_no_error (error);
  assert_method (memory, gw, mac_a, PL_METHOD_PCP);
  save (memory);
}

/* What is not ours */

#define FOREIGN_FILE \
  "# Kept: a comment at the top\n" \
  "[Portlight]\n" \
  "Version=1\n" \
  "Owner=someone later\n" \
  "\n" \
  "[Window]\n" \
  "Width=3\n" \
  "Name=Window\n" \
  "Name[de]=Fenster\n" \
  "\n" \
  "# About the router\n" \
  GROUP_A \
  "Protocol=NAT-PMP\n" \
  "Seen=1000\n" \
  "Colour=blue\n" \
  "Colour=red\n" \
  "\n" \
  "[Gateway 10.0.0.1 not ours]\n" \
  "Anything=goes\n" \
  "\n" \
  "[gateway 10.0.0.1 00:11:22:33:44:55]\n" \
  "Protocol=pcp\n" \
  "Seen=2000\n"

static void
test_foreign_kept (void)
{
  g_autofree char *path = test_path ("foreign.ini");
  g_autoptr(PlMethodMemory) memory = NULL;
  g_autoptr(PlMethodMemory) loaded = NULL;
  g_autoptr(GInetAddress) gw = address ("192.168.1.1");
  g_autoptr(GInetAddress) gw10 = address ("10.0.0.1");
  g_autoptr(GInetAddress) gw6 = address ("2001:db8::1");
  g_autofree char *text = NULL;
  g_autofree char *text2 = NULL;
  static const char * const kept[] = {
    "# Kept: a comment at the top\n",
    "Owner=someone later\n",
    "[Window]\nWidth=3\nName=Window\nName[de]=Fenster\n",
    "[Gateway 10.0.0.1 not ours]\nAnything=goes\n",
    "Colour=blue\n",
    "Colour=red\n",
    NULL
  };

  write_file (path, FOREIGN_FILE, -1);
  memory = loaded_memory (path);
  g_assert_cmpuint (pl_method_memory_get_n_gateways (memory), ==, 2);
  assert_method (memory, gw, mac_a, PL_METHOD_NATPMP);
  assert_method (memory, gw10, mac_c, PL_METHOD_PCP);

  pl_method_memory_remember (memory, gw6, mac_b, PL_METHOD_PCP);
  save (memory);
  text = read_text (path);
  g_test_message ("%s", text);
  for (guint i = 0; kept[i] != NULL; i++)
    if (strstr (text, kept[i]) == NULL)
      g_error ("“%s” was lost", kept[i]);
  g_assert_nonnull (strstr (text, "[gateway 2001:db8::1 02:00:5e:10:00:01]\n"));
  g_assert_true (g_str_has_prefix (text, "# Kept: a comment at the top\n"));

  loaded = loaded_memory (path);
  g_assert_cmpuint (pl_method_memory_get_n_gateways (loaded), ==, 3);
  assert_method (loaded, gw, mac_a, PL_METHOD_NATPMP);

  /* Loading and saving again changes nothing: the file does not grow save after save. */
  for (guint round = 0; round < 3; round++)
    {
      g_autoptr(GBytes) first = read_bytes (path);
      g_autoptr(GBytes) second = NULL;
      g_autoptr(PlMethodMemory) again = loaded_memory (path);

      save (again);
      second = read_bytes (path);
      g_assert_true (g_bytes_equal (first, second));
    }
  g_clear_object (&loaded);
  loaded = loaded_memory (path);

  /* A forgotten gateway takes its whole group; the rest stays. */
  g_assert_true (pl_method_memory_forget (loaded, gw, mac_a));
  save (loaded);
  text2 = read_text (path);
  g_test_message ("%s", text2);
  g_assert_null (strstr (text2, GROUP_A));
  g_assert_null (strstr (text2, "Colour="));
  g_assert_nonnull (strstr (text2, "[Window]\nWidth=3\nName=Window\nName[de]=Fenster\n"));
  g_assert_nonnull (strstr (text2, "[Gateway 10.0.0.1 not ours]\nAnything=goes\n"));
  g_assert_nonnull (strstr (text2, "Owner=someone later\n"));
}

/* Files on disk */

static void
test_modes (void)
{
  g_autofree char *top = g_build_filename (g_get_user_state_dir (), "modes", NULL);
  g_autofree char *dir = g_build_filename (top, "a", "b", NULL);
  g_autofree char *path = g_build_filename (dir, "gateways.ini", NULL);
  g_autoptr(PlMethodMemory) memory = loaded_memory (path);
  g_autoptr(GInetAddress) gw = address ("192.168.1.1");
  g_autoptr(GError) error = NULL;
  struct stat st;
  mode_t old_umask;

  pl_method_memory_remember (memory, gw, mac_a, PL_METHOD_PCP);

  /* Even with a permissive umask. */
  old_umask = umask (0);
  g_assert_true (pl_method_memory_save (memory, &error));
  umask (old_umask);
  g_assert_no_error (error);

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (g_stat (top, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  /* A second save (a rename over the file) keeps the mode. */
  pl_method_memory_remember (memory, gw, mac_b, PL_METHOD_NATPMP);
  save (memory);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
}

/* Only the file, or (after a kill) the file and left-over temporary files beside it. */
static void
assert_folder_holds_only_file (const char *dir,
                               gboolean    allow_temporary)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) listing = g_dir_open (dir, 0, &error);
  gboolean found = FALSE;
  const char *name;

  g_assert_no_error (error);
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      if (g_str_equal (name, "gateways.ini"))
        found = TRUE;
      else if (!allow_temporary || !g_str_has_prefix (name, "gateways.ini."))
        g_error ("unexpected file “%s” beside gateways.ini", name);
    }
  g_assert_true (found);
}

static void
test_atomic (void)
{
  g_autofree char *dir = g_build_filename (g_get_user_state_dir (), "atomic", NULL);
  g_autofree char *path = g_build_filename (dir, "gateways.ini", NULL);
  g_autoptr(PlMethodMemory) memory = loaded_memory (path);
  g_autoptr(GInetAddress) gw = address ("192.168.1.1");

  for (guint round = 0; round < 3; round++)
    {
      guint8 mac[6];

      numbered_mac (round, mac);
      pl_method_memory_remember (memory, gw, mac, PL_METHOD_NATPMP);
      save (memory);
      assert_folder_holds_only_file (dir, FALSE);
    }
}

/* Saves killed at random points: the file is always whole, the old one or the new. */
static void
test_atomic_killed (void)
{
  g_autofree char *dir = g_build_filename (g_get_user_state_dir (), "killed", NULL);
  g_autofree char *path = g_build_filename (dir, "gateways.ini", NULL);
  g_autoptr(GInetAddress) gw = address ("192.168.1.1");

  if (g_test_subprocess ())
    {
      g_autoptr(PlMethodMemory) memory = loaded_memory (path);

      /* Saves until killed, each one different. */
      for (guint i = 0;; i++)
        {
          guint8 mac[6];

          numbered_mac (i % 200, mac);
          pl_method_memory_remember (memory, gw, mac, i % 2 ? PL_METHOD_PCP : PL_METHOD_NATPMP);
          save (memory);
        }
    }

  {
    g_autoptr(PlMethodMemory) first = loaded_memory (path);

    pl_method_memory_remember (first, gw, mac_a, PL_METHOD_PCP);
    save (first);
  }

  for (guint round = 0; round < 4; round++)
    {
      g_autoptr(PlMethodMemory) memory = NULL;
      guint n;

      g_test_trap_subprocess (NULL, (50 + g_test_rand_int_range (0, 150)) * 1000,
                              G_TEST_SUBPROCESS_DEFAULT);
      /* Killed, not failed. */
      g_assert_false (g_test_trap_has_passed ());
      g_test_trap_assert_stderr ("");

      memory = loaded_memory (path);
      n = pl_method_memory_get_n_gateways (memory);
      g_test_message ("round %u: %u gateways after the kill", round, n);
      g_assert_cmpuint (n, >=, 1);
      g_assert_cmpuint (n, <=, PL_METHOD_MEMORY_MAX_GATEWAYS);
      assert_folder_holds_only_file (dir, TRUE);
    }
}

static void
test_changed_on_disk (void)
{
  g_autofree char *path = test_path ("changed.ini");
  g_autoptr(PlMethodMemory) memory = loaded_memory (path);
  g_autoptr(PlMethodMemory) unloaded = pl_method_memory_new (path);
  g_autoptr(GInetAddress) gw = address ("192.168.1.1");
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;
  g_autoptr(GError) error = NULL;

  pl_method_memory_remember (memory, gw, mac_a, PL_METHOD_PCP);
  save (memory);
  before = read_bytes (path);

  /* Saving without loading first would drop what the file holds. */
  pl_method_memory_remember (unloaded, gw, mac_b, PL_METHOD_PCP);
  g_assert_false (pl_method_memory_save (unloaded, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WRONG_ETAG);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  after = read_bytes (path);
  g_assert_true (g_bytes_equal (before, after));

  /* Nor over a change someone made since the load. */
  write_file (path, HEAD "# edited by hand\n", -1);
  g_clear_pointer (&before, g_bytes_unref);
  g_clear_pointer (&after, g_bytes_unref);
  before = read_bytes (path);
  g_assert_false (pl_method_memory_save (memory, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WRONG_ETAG);
  after = read_bytes (path);
  g_assert_true (g_bytes_equal (before, after));
}

/* The bound */

static void
test_bound_remember (void)
{
  g_autofree char *path = test_path ("bound.ini");
  g_autoptr(PlMethodMemory) memory = loaded_memory (path);
  g_autoptr(PlMethodMemory) loaded = NULL;
  g_autoptr(GInetAddress) gw = address ("192.168.1.1");
  const guint total = PL_METHOD_MEMORY_MAX_GATEWAYS + 6;

  for (guint i = 0; i < total; i++)
    {
      guint8 mac[6];

      numbered_mac (i, mac);
      pl_method_memory_remember (memory, gw, mac, PL_METHOD_NATPMP);
      g_assert_cmpuint (pl_method_memory_get_n_gateways (memory), ==,
                        MIN (i + 1, PL_METHOD_MEMORY_MAX_GATEWAYS));
    }

  /* The first ones remembered went first. */
  for (guint i = 0; i < total; i++)
    {
      guint8 mac[6];

      numbered_mac (i, mac);
      g_assert_cmpint (pl_method_memory_lookup (memory, gw, mac, NULL), ==, i >= 6);
    }

  save (memory);
  loaded = loaded_memory (path);
  g_assert_cmpuint (pl_method_memory_get_n_gateways (loaded), ==,
                    PL_METHOD_MEMORY_MAX_GATEWAYS);
}

static void
test_bound_refresh (void)
{
  g_autofree char *path = test_path ("refresh.ini");
  g_autoptr(PlMethodMemory) memory = loaded_memory (path);
  g_autoptr(GInetAddress) gw = address ("192.168.1.1");
  guint8 mac[6];

  for (guint i = 0; i < PL_METHOD_MEMORY_MAX_GATEWAYS; i++)
    {
      numbered_mac (i, mac);
      pl_method_memory_remember (memory, gw, mac, PL_METHOD_NATPMP);
    }

  /* Seen again: now the most recent, so the second goes instead. */
  numbered_mac (0, mac);
  pl_method_memory_remember (memory, gw, mac, PL_METHOD_NATPMP);
  pl_method_memory_remember (memory, gw, mac_a, PL_METHOD_PCP);
  g_assert_cmpuint (pl_method_memory_get_n_gateways (memory), ==,
                    PL_METHOD_MEMORY_MAX_GATEWAYS);
  g_assert_true (pl_method_memory_lookup (memory, gw, mac, NULL));
  numbered_mac (1, mac);
  g_assert_false (pl_method_memory_lookup (memory, gw, mac, NULL));
  assert_method (memory, gw, mac_a, PL_METHOD_PCP);
}

/* A file of @count gateways 10.0.0.1, MAC numbered i, seen at 1000 + order[i]. */
static void
write_gateways (const char  *path,
                guint        count,
                const guint *seen_order)
{
  g_autoptr(GString) data = g_string_new (HEAD);

  for (guint i = 0; i < count; i++)
    {
      guint8 mac[6];
      g_autofree char *mac_text = NULL;

      numbered_mac (i, mac);
      mac_text = pl_neighbour_format_mac (mac);
      g_string_append_printf (data, "[gateway 10.0.0.1 %s]\nProtocol=%s\nSeen=%u\n\n", mac_text,
                              i % 2 ? "pcp" : "natpmp", 1000 + seen_order[i]);
    }
  write_file (path, data->str, data->len);
}

static void
shuffle (guint *values,
         guint  count)
{
  for (guint i = 0; i < count; i++)
    values[i] = i;
  for (guint i = count - 1; i > 0; i--)
    {
      guint j = g_test_rand_int_range (0, i + 1);
      guint swap = values[i];

      values[i] = values[j];
      values[j] = swap;
    }
}

static void
test_bound_least_recently_seen (void)
{
  g_autofree char *path = test_path ("least-recent.ini");
  g_autoptr(PlMethodMemory) memory = NULL;
  g_autoptr(GInetAddress) gw = address ("10.0.0.1");
  guint order[PL_METHOD_MEMORY_MAX_GATEWAYS];
  guint oldest = 0;

  /* Seen times in no order in the file. */
  shuffle (order, G_N_ELEMENTS (order));
  write_gateways (path, G_N_ELEMENTS (order), order);
  memory = loaded_memory (path);
  g_assert_cmpuint (pl_method_memory_get_n_gateways (memory), ==,
                    PL_METHOD_MEMORY_MAX_GATEWAYS);

  pl_method_memory_remember (memory, gw, mac_a, PL_METHOD_PCP);
  g_assert_cmpuint (pl_method_memory_get_n_gateways (memory), ==,
                    PL_METHOD_MEMORY_MAX_GATEWAYS);
  assert_method (memory, gw, mac_a, PL_METHOD_PCP);

  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    {
      guint8 mac[6];

      numbered_mac (i, mac);
      if (order[i] == 0)
        oldest = i;
      g_assert_cmpint (pl_method_memory_lookup (memory, gw, mac, NULL), ==, order[i] != 0);
    }
  g_test_message ("the gateway seen longest ago was group %u of the file", oldest);
}

static void
test_bound_file_over (void)
{
  g_autofree char *path = test_path ("over.ini");
  g_autoptr(PlMethodMemory) memory = NULL;
  g_autoptr(PlMethodMemory) loaded = NULL;
  g_autoptr(GInetAddress) gw = address ("10.0.0.1");
  const guint total = PL_METHOD_MEMORY_MAX_GATEWAYS + 10;
  g_autofree guint *order = g_new (guint, total);

  /* Written by hand or by another program: all of it is read... */
  shuffle (order, total);
  write_gateways (path, total, order);
  memory = loaded_memory (path);
  g_assert_cmpuint (pl_method_memory_get_n_gateways (memory), ==, total);

  /* ... and a save keeps the most recently seen. */
  save (memory);
  g_assert_cmpuint (pl_method_memory_get_n_gateways (memory), ==,
                    PL_METHOD_MEMORY_MAX_GATEWAYS);
  loaded = loaded_memory (path);
  g_assert_cmpuint (pl_method_memory_get_n_gateways (loaded), ==,
                    PL_METHOD_MEMORY_MAX_GATEWAYS);
  for (guint i = 0; i < total; i++)
    {
      guint8 mac[6];

      numbered_mac (i, mac);
      g_assert_cmpint (pl_method_memory_lookup (loaded, gw, mac, NULL), ==, order[i] >= 10);
    }
}

int
main (int   argc,
      char *argv[])
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/pl/method-memory/default-path", test_default_path);
  g_test_add_func ("/pl/method-memory/missing-file", test_missing_file);
  g_test_add_func ("/pl/method-memory/empty-file", test_empty_file);
  g_test_add_func ("/pl/method-memory/round-trip", test_round_trip);
  g_test_add_func ("/pl/method-memory/replace", test_replace);
  g_test_add_func ("/pl/method-memory/mac-mismatch", test_mac_mismatch);
  g_test_add_func ("/pl/method-memory/null-mac", test_null_mac);
  g_test_add_func ("/pl/method-memory/forget", test_forget);
  for (guint i = 0; i < G_N_ELEMENTS (corrupt_cases); i++)
    {
      g_autofree char *name = g_strconcat ("/pl/method-memory/corrupt/", corrupt_cases[i].name,
                                           NULL);

      g_test_add_data_func (name, &corrupt_cases[i], test_corrupt);
    }
  g_test_add_func ("/pl/method-memory/corrupt/random-binary", test_random_binary);
  g_test_add_func ("/pl/method-memory/corrupt/huge-file", test_huge_file);
  g_test_add_func ("/pl/method-memory/corrupt/not-regular", test_not_regular);
  g_test_add_func ("/pl/method-memory/refusal-keeps-memory", test_refusal_keeps_memory);
  g_test_add_func ("/pl/method-memory/foreign-kept", test_foreign_kept);
  g_test_add_func ("/pl/method-memory/modes", test_modes);
  g_test_add_func ("/pl/method-memory/atomic", test_atomic);
  g_test_add_func ("/pl/method-memory/atomic/killed", test_atomic_killed);
  g_test_add_func ("/pl/method-memory/changed-on-disk", test_changed_on_disk);
  g_test_add_func ("/pl/method-memory/bound/remember", test_bound_remember);
  g_test_add_func ("/pl/method-memory/bound/refresh", test_bound_refresh);
  g_test_add_func ("/pl/method-memory/bound/least-recently-seen",
                   test_bound_least_recently_seen);
  g_test_add_func ("/pl/method-memory/bound/file-over", test_bound_file_over);

  return g_test_run ();
}
