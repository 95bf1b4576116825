/* test-profile.c: PlProfile values, validation and key file conversion
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <locale.h>

#include "pl-core.h"

static void
test_defaults (void)
{
  g_autoptr(PlProfile) profile = pl_profile_new ("SSH");

  g_assert_cmpstr (pl_profile_get_name (profile), ==, "SSH");
  g_assert_cmpint (pl_profile_get_protocol (profile), ==, PL_PROFILE_PROTOCOL_TCP);
  g_assert_cmpuint (pl_profile_get_internal_port (profile), ==, 0);
  g_assert_cmpuint (pl_profile_get_external_port (profile), ==, 0);
  g_assert_cmpuint (pl_profile_get_lifetime (profile), ==, 7200);
  g_assert_true (pl_profile_get_enabled (profile));
  g_assert_null (pl_profile_get_description (profile));

  pl_profile_set_internal_port (profile, 22);
  g_assert_cmpuint (pl_profile_get_requested_port (profile), ==, 22);
  pl_profile_set_external_port (profile, 2222);
  g_assert_cmpuint (pl_profile_get_requested_port (profile), ==, 2222);
}

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  GHashTable *counts = user_data;
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (counts, pspec->name));

  g_hash_table_insert (counts, (gpointer) pspec->name, GUINT_TO_POINTER (n + 1));
}

static guint
count_of (GHashTable *counts,
          const char *name)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (counts, name));
}

static void
test_properties_notify (void)
{
  g_autoptr(PlProfile) profile = pl_profile_new ("SSH");
  g_autoptr(GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *name = NULL;
  g_autofree char *description = NULL;
  PlProfileProtocol protocol;
  guint internal_port, external_port, lifetime;
  gboolean enabled;

  g_signal_connect (profile, "notify", G_CALLBACK (count_notify_cb), counts);

  g_object_set (profile,
                "name", "Web",
                "protocol", PL_PROFILE_PROTOCOL_BOTH,
                "internal-port", 8080,
                "external-port", 80,
                "lifetime", 3600,
                "enabled", FALSE,
                "description", "Test server",
                NULL);
  g_object_get (profile,
                "name", &name,
                "protocol", &protocol,
                "internal-port", &internal_port,
                "external-port", &external_port,
                "lifetime", &lifetime,
                "enabled", &enabled,
                "description", &description,
                NULL);
  g_assert_cmpstr (name, ==, "Web");
  g_assert_cmpint (protocol, ==, PL_PROFILE_PROTOCOL_BOTH);
  g_assert_cmpuint (internal_port, ==, 8080);
  g_assert_cmpuint (external_port, ==, 80);
  g_assert_cmpuint (lifetime, ==, 3600);
  g_assert_false (enabled);
  g_assert_cmpstr (description, ==, "Test server");

  for (guint i = 0; i < 2; i++)
    {
      /* The first round changed everything once; setting the same values again is silent. */
      g_assert_cmpuint (count_of (counts, "name"), ==, 1);
      g_assert_cmpuint (count_of (counts, "protocol"), ==, 1);
      g_assert_cmpuint (count_of (counts, "internal-port"), ==, 1);
      g_assert_cmpuint (count_of (counts, "external-port"), ==, 1);
      g_assert_cmpuint (count_of (counts, "lifetime"), ==, 1);
      g_assert_cmpuint (count_of (counts, "enabled"), ==, 1);
      g_assert_cmpuint (count_of (counts, "description"), ==, 1);

      pl_profile_set_name (profile, "Web");
      pl_profile_set_protocol (profile, PL_PROFILE_PROTOCOL_BOTH);
      pl_profile_set_internal_port (profile, 8080);
      pl_profile_set_external_port (profile, 80);
      pl_profile_set_lifetime (profile, 3600);
      pl_profile_set_enabled (profile, FALSE);
      pl_profile_set_description (profile, "Test server");
    }

  /* An empty description is no description. */
  pl_profile_set_description (profile, "");
  g_assert_null (pl_profile_get_description (profile));
  g_assert_cmpuint (count_of (counts, "description"), ==, 2);
  pl_profile_set_description (profile, NULL);
  g_assert_cmpuint (count_of (counts, "description"), ==, 2);
}

static void
test_copy_update_equal (void)
{
  g_autoptr(PlProfile) a = pl_profile_new ("Game");
  g_autoptr(PlProfile) b = NULL;
  g_autoptr(PlProfile) c = pl_profile_new ("Other");
  g_autoptr(GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal);

  pl_profile_set_protocol (a, PL_PROFILE_PROTOCOL_UDP);
  pl_profile_set_internal_port (a, 27015);
  pl_profile_set_external_port (a, 27016);
  pl_profile_set_lifetime (a, 120);
  pl_profile_set_enabled (a, FALSE);
  pl_profile_set_description (a, "Dedicated server");

  b = pl_profile_copy (a);
  g_assert_true (b != a);
  g_assert_true (pl_profile_equal (a, b));
  g_assert_false (pl_profile_equal (a, c));

  g_signal_connect (c, "notify", G_CALLBACK (count_notify_cb), counts);
  pl_profile_update (c, a);
  g_assert_true (pl_profile_equal (a, c));
  g_assert_cmpuint (g_hash_table_size (counts), ==, 7);

  g_hash_table_remove_all (counts);
  pl_profile_update (c, b);
  g_assert_cmpuint (g_hash_table_size (counts), ==, 0);

  pl_profile_set_lifetime (b, 121);
  g_assert_false (pl_profile_equal (a, b));
}

static void
test_protocol_strings (void)
{
  static const struct
  {
    const char        *text;
    PlProfileProtocol  protocol;
  } good[] = {
    { "tcp", PL_PROFILE_PROTOCOL_TCP },
    { "udp", PL_PROFILE_PROTOCOL_UDP },
    { "both", PL_PROFILE_PROTOCOL_BOTH },
  };
  static const char * const bad[] = {
    "", "TCP", "Tcp", "tcp ", " tcp", "tcp\t", "tc", "tcpx", "udp,tcp", "tcp;udp", "all", "6",
  };
  GEnumClass *enum_class;

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      PlProfileProtocol protocol = -1;

      g_assert_cmpstr (pl_profile_protocol_to_string (good[i].protocol), ==, good[i].text);
      g_assert_true (pl_profile_protocol_from_string (good[i].text, &protocol));
      g_assert_cmpint (protocol, ==, good[i].protocol);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_false (pl_profile_protocol_from_string (bad[i], NULL));
  g_assert_false (pl_profile_protocol_from_string (NULL, NULL));

  enum_class = g_type_class_ref (PL_TYPE_PROFILE_PROTOCOL);
  g_assert_cmpuint (enum_class->n_values, ==, 3);
  g_assert_cmpstr (g_enum_get_value (enum_class, PL_PROFILE_PROTOCOL_BOTH)->value_nick,
                   ==, "both");
  g_type_class_unref (enum_class);
}

static void
test_overlaps (void)
{
  static const struct
  {
    PlProfileProtocol a;
    PlProfileProtocol b;
    gboolean          overlaps;
  } cases[] = {
    { PL_PROFILE_PROTOCOL_TCP, PL_PROFILE_PROTOCOL_TCP, TRUE },
    { PL_PROFILE_PROTOCOL_UDP, PL_PROFILE_PROTOCOL_UDP, TRUE },
    { PL_PROFILE_PROTOCOL_TCP, PL_PROFILE_PROTOCOL_UDP, FALSE },
    { PL_PROFILE_PROTOCOL_UDP, PL_PROFILE_PROTOCOL_TCP, FALSE },
    { PL_PROFILE_PROTOCOL_BOTH, PL_PROFILE_PROTOCOL_TCP, TRUE },
    { PL_PROFILE_PROTOCOL_BOTH, PL_PROFILE_PROTOCOL_UDP, TRUE },
    { PL_PROFILE_PROTOCOL_TCP, PL_PROFILE_PROTOCOL_BOTH, TRUE },
    { PL_PROFILE_PROTOCOL_UDP, PL_PROFILE_PROTOCOL_BOTH, TRUE },
    { PL_PROFILE_PROTOCOL_BOTH, PL_PROFILE_PROTOCOL_BOTH, TRUE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(PlProfile) a = pl_profile_new ("A");
      g_autoptr(PlProfile) b = pl_profile_new ("B");

      g_assert_cmpint (pl_profile_protocol_overlaps (cases[i].a, cases[i].b), ==,
                       cases[i].overlaps);

      pl_profile_set_protocol (a, cases[i].a);
      pl_profile_set_protocol (b, cases[i].b);
      pl_profile_set_internal_port (a, 22);
      pl_profile_set_internal_port (b, 22);
      g_assert_cmpint (pl_profile_overlaps (a, b), ==, cases[i].overlaps);

      /* Different internal ports never overlap, whatever the external ports. */
      pl_profile_set_internal_port (b, 23);
      pl_profile_set_external_port (a, 2222);
      pl_profile_set_external_port (b, 2222);
      g_assert_false (pl_profile_overlaps (a, b));
    }
}

static PlProfile *
valid_profile (void)
{
  PlProfile *profile = pl_profile_new ("SSH");

  pl_profile_set_internal_port (profile, 22);
  return profile;
}

static void
test_validate (void)
{
  g_autoptr(PlProfile) profile = valid_profile ();
  g_autoptr(GError) error = NULL;

  g_assert_true (pl_profile_validate (profile, &error));
  g_assert_no_error (error);

  /* The limits themselves are valid. */
  pl_profile_set_internal_port (profile, 1);
  pl_profile_set_external_port (profile, 65535);
  pl_profile_set_lifetime (profile, 1);
  g_assert_true (pl_profile_validate (profile, NULL));
  pl_profile_set_internal_port (profile, 65535);
  pl_profile_set_external_port (profile, 0);
  pl_profile_set_lifetime (profile, 86400);
  pl_profile_set_description (profile, "Ünïcode — fine");
  g_assert_true (pl_profile_validate (profile, NULL));
}

typedef void (*Breaker) (PlProfile *profile);

static void break_internal_0 (PlProfile *p) { pl_profile_set_internal_port (p, 0); }
static void break_internal_65536 (PlProfile *p) { pl_profile_set_internal_port (p, 65536); }
static void break_external_65536 (PlProfile *p) { pl_profile_set_external_port (p, 65536); }
static void break_external_huge (PlProfile *p) { pl_profile_set_external_port (p, G_MAXUINT); }
static void break_lifetime_0 (PlProfile *p) { pl_profile_set_lifetime (p, 0); }
static void break_lifetime_86401 (PlProfile *p) { pl_profile_set_lifetime (p, 86401); }
static void break_description_newline (PlProfile *p) { pl_profile_set_description (p, "a\nb"); }
static void break_description_tab (PlProfile *p) { pl_profile_set_description (p, "a\tb"); }
static void break_name_empty (PlProfile *p) { pl_profile_set_name (p, ""); }
static void break_name_null (PlProfile *p) { pl_profile_set_name (p, NULL); }
static void break_name_bracket (PlProfile *p) { pl_profile_set_name (p, "a[b"); }
static void break_name_close (PlProfile *p) { pl_profile_set_name (p, "ab]"); }
static void break_name_space (PlProfile *p) { pl_profile_set_name (p, " SSH"); }
static void break_name_trailing (PlProfile *p) { pl_profile_set_name (p, "SSH\t"); }
static void break_name_newline (PlProfile *p) { pl_profile_set_name (p, "S\nSH"); }
static void break_name_utf8 (PlProfile *p) { pl_profile_set_name (p, "S\xffSH"); }

static void
test_validate_errors (void)
{
  static const struct
  {
    Breaker     breaker;
    const char *message;
  } cases[] = {
    { break_internal_0, "Profile “SSH”: InternalPort “0” is not a port number (1-65535)" },
    { break_internal_65536, "Profile “SSH”: InternalPort “65536” is not a port number (1-65535)" },
    { break_external_65536, "Profile “SSH”: ExternalPort “65536” is not a port number (0-65535)" },
    { break_external_huge, "Profile “SSH”: ExternalPort “4294967295” is not a port number (0-65535)" },
    { break_lifetime_0, "Profile “SSH”: Lifetime “0” is not a lifetime in seconds (1-86400)" },
    { break_lifetime_86401, "Profile “SSH”: Lifetime “86401” is not a lifetime in seconds (1-86400)" },
    { break_description_newline,
      "Profile “SSH”: Description “a\nb” contains a line break or another control character" },
    { break_description_tab,
      "Profile “SSH”: Description “a\tb” contains a line break or another control character" },
    { break_name_empty, "A profile name cannot be empty" },
    { break_name_null, "A profile name cannot be empty" },
    { break_name_bracket, "Profile name “a[b” contains “[” or “]”" },
    { break_name_close, "Profile name “ab]” contains “[” or “]”" },
    { break_name_space, "Profile name “ SSH” begins or ends with a space" },
    { break_name_trailing, "Profile name “SSH\t” contains a line break or another control character" },
    { break_name_newline, "Profile name “S\nSH” contains a line break or another control character" },
    { break_name_utf8, "A profile name must be valid UTF-8" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(PlProfile) profile = valid_profile ();
      g_autoptr(GError) error = NULL;

      cases[i].breaker (profile);
      g_assert_false (pl_profile_validate (profile, &error));
      g_assert_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
      g_assert_cmpstr (error->message, ==, cases[i].message);
    }
}

static void
test_validate_name (void)
{
  static const char * const good[] = {
    "SSH", "a", "Minecraft server", "Web (8080)", "#hash", "x=y", "Ünïcode ✓", "a b c",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (pl_profile_validate_name (good[i], &error));
      g_assert_no_error (error);
    }
}

/* Every key: empty, not a number, negative, 0, too large, huge, spaces, wrong words. */
static void
test_key_values (void)
{
  static const struct
  {
    const char *key;
    const char *value;
    const char *message;  /* NULL: accepted */
  } cases[] = {
    { "Protocol", "tcp", NULL },
    { "Protocol", "udp", NULL },
    { "Protocol", "both", NULL },
    { "Protocol", "", "Profile “SSH”: Protocol “” is not a protocol (tcp, udp or both)" },
    { "Protocol", "tcp ", "Profile “SSH”: Protocol “tcp ” is not a protocol (tcp, udp or both)" },
    { "Protocol", " tcp", "Profile “SSH”: Protocol “ tcp” is not a protocol (tcp, udp or both)" },
    { "Protocol", "TCP", "Profile “SSH”: Protocol “TCP” is not a protocol (tcp, udp or both)" },
    { "Protocol", "sctp", "Profile “SSH”: Protocol “sctp” is not a protocol (tcp, udp or both)" },
    { "Protocol", "tcp,udp", "Profile “SSH”: Protocol “tcp,udp” is not a protocol (tcp, udp or both)" },
    { "Protocol", "6", "Profile “SSH”: Protocol “6” is not a protocol (tcp, udp or both)" },

    { "InternalPort", "22", NULL },
    { "InternalPort", "1", NULL },
    { "InternalPort", "65535", NULL },
    { "InternalPort", "0022", NULL },
    { "InternalPort", "", "Profile “SSH”: InternalPort “” is not a port number (1-65535)" },
    { "InternalPort", "ssh", "Profile “SSH”: InternalPort “ssh” is not a port number (1-65535)" },
    { "InternalPort", "-22", "Profile “SSH”: InternalPort “-22” is not a port number (1-65535)" },
    { "InternalPort", "+22", "Profile “SSH”: InternalPort “+22” is not a port number (1-65535)" },
    { "InternalPort", "0", "Profile “SSH”: InternalPort “0” is not a port number (1-65535)" },
    { "InternalPort", "65536", "Profile “SSH”: InternalPort “65536” is not a port number (1-65535)" },
    { "InternalPort", "70000", "Profile “SSH”: InternalPort “70000” is not a port number (1-65535)" },
    { "InternalPort", "99999999999999999999999",
      "Profile “SSH”: InternalPort “99999999999999999999999” is not a port number (1-65535)" },
    { "InternalPort", " 22", "Profile “SSH”: InternalPort “ 22” is not a port number (1-65535)" },
    { "InternalPort", "22 ", "Profile “SSH”: InternalPort “22 ” is not a port number (1-65535)" },
    { "InternalPort", "0x16", "Profile “SSH”: InternalPort “0x16” is not a port number (1-65535)" },
    { "InternalPort", "22.0", "Profile “SSH”: InternalPort “22.0” is not a port number (1-65535)" },
    { "InternalPort", "2e1", "Profile “SSH”: InternalPort “2e1” is not a port number (1-65535)" },

    { "ExternalPort", "0", NULL },
    { "ExternalPort", "2222", NULL },
    { "ExternalPort", "65535", NULL },
    { "ExternalPort", "", "Profile “SSH”: ExternalPort “” is not a port number (0-65535) or “any”" },
    { "ExternalPort", "ssh", "Profile “SSH”: ExternalPort “ssh” is not a port number (0-65535) or “any”" },
    { "ExternalPort", "-1", "Profile “SSH”: ExternalPort “-1” is not a port number (0-65535) or “any”" },
    { "ExternalPort", "65536", "Profile “SSH”: ExternalPort “65536” is not a port number (0-65535) or “any”" },
    { "ExternalPort", "18446744073709551616",
      "Profile “SSH”: ExternalPort “18446744073709551616” is not a port number (0-65535) or “any”" },
    { "ExternalPort", "2222 ", "Profile “SSH”: ExternalPort “2222 ” is not a port number (0-65535) or “any”" },

    { "Lifetime", "1", NULL },
    { "Lifetime", "7200", NULL },
    { "Lifetime", "86400", NULL },
    { "Lifetime", "", "Profile “SSH”: Lifetime “” is not a lifetime in seconds (1-86400)" },
    { "Lifetime", "2h", "Profile “SSH”: Lifetime “2h” is not a lifetime in seconds (1-86400)" },
    { "Lifetime", "-7200", "Profile “SSH”: Lifetime “-7200” is not a lifetime in seconds (1-86400)" },
    { "Lifetime", "0", "Profile “SSH”: Lifetime “0” is not a lifetime in seconds (1-86400)" },
    { "Lifetime", "86401", "Profile “SSH”: Lifetime “86401” is not a lifetime in seconds (1-86400)" },
    { "Lifetime", "4294967296",
      "Profile “SSH”: Lifetime “4294967296” is not a lifetime in seconds (1-86400)" },
    { "Lifetime", " 7200", "Profile “SSH”: Lifetime “ 7200” is not a lifetime in seconds (1-86400)" },

    { "Enabled", "true", NULL },
    { "Enabled", "false", NULL },
    { "Enabled", "", "Profile “SSH”: Enabled “” is not true or false" },
    { "Enabled", "TRUE", "Profile “SSH”: Enabled “TRUE” is not true or false" },
    { "Enabled", "True", "Profile “SSH”: Enabled “True” is not true or false" },
    { "Enabled", "yes", "Profile “SSH”: Enabled “yes” is not true or false" },
    { "Enabled", "1", "Profile “SSH”: Enabled “1” is not true or false" },
    { "Enabled", "0", "Profile “SSH”: Enabled “0” is not true or false" },
    { "Enabled", "true ", "Profile “SSH”: Enabled “true ” is not true or false" },

    { "Description", "", NULL },
    { "Description", "Shell access", NULL },
    { "Description", "line\nbreak",
      "Profile “SSH”: Description “line\nbreak” contains a line break or another control "
      "character" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(PlProfile) profile = valid_profile ();
      g_autoptr(PlProfile) before = NULL;
      g_autoptr(GError) error = NULL;
      gboolean ok;

      pl_profile_set_external_port (profile, 7);
      pl_profile_set_lifetime (profile, 99);
      pl_profile_set_protocol (profile, PL_PROFILE_PROTOCOL_UDP);
      before = pl_profile_copy (profile);

      ok = pl_profile_set_key_value (profile, cases[i].key, cases[i].value, &error);
      if (cases[i].message == NULL)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
          g_assert_true (pl_profile_validate (profile, NULL));
        }
      else
        {
          g_assert_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
          g_assert_false (ok);
          g_assert_cmpstr (error->message, ==, cases[i].message);
          g_assert_true (pl_profile_equal (profile, before));
        }
    }
}

static void
test_key_values_apply (void)
{
  g_autoptr(PlProfile) profile = pl_profile_new ("Web");
  g_autoptr(GError) error = NULL;

  g_assert_true (pl_profile_set_key_value (profile, "Protocol", "both", NULL));
  g_assert_true (pl_profile_set_key_value (profile, "InternalPort", "8080", NULL));
  g_assert_true (pl_profile_set_key_value (profile, "ExternalPort", "80", NULL));
  g_assert_true (pl_profile_set_key_value (profile, "Lifetime", "600", NULL));
  g_assert_true (pl_profile_set_key_value (profile, "Enabled", "false", NULL));
  g_assert_true (pl_profile_set_key_value (profile, "Description", "Dev server", NULL));

  g_assert_cmpint (pl_profile_get_protocol (profile), ==, PL_PROFILE_PROTOCOL_BOTH);
  g_assert_cmpuint (pl_profile_get_internal_port (profile), ==, 8080);
  g_assert_cmpuint (pl_profile_get_external_port (profile), ==, 80);
  g_assert_cmpuint (pl_profile_get_lifetime (profile), ==, 600);
  g_assert_false (pl_profile_get_enabled (profile));
  g_assert_cmpstr (pl_profile_get_description (profile), ==, "Dev server");

  g_assert_false (pl_profile_set_key_value (profile, "Port", "80", &error));
  g_assert_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (pl_profile_set_key_value (profile, "protocol", "tcp", &error));
  g_assert_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND);
}

static void
test_key_file_round_trip (void)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(PlProfile) profile = pl_profile_new ("SSH");
  g_autoptr(PlProfile) back = NULL;
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  g_autofree char *data = NULL;

  pl_profile_set_internal_port (profile, 22);
  pl_profile_set_external_port (profile, 2222);
  pl_profile_set_description (profile, "  leading spaces, a \\ backslash; and “quotes” ");
  pl_profile_write_to_key_file (profile, key_file);

  data = g_key_file_to_data (key_file, NULL, NULL);
  g_assert_true (g_str_has_prefix (data,
                                   "[SSH]\n"
                                   "Protocol=tcp\n"
                                   "InternalPort=22\n"
                                   "ExternalPort=2222\n"
                                   "Lifetime=7200\n"
                                   "Enabled=true\n"
                                   "Description="));

  back = pl_profile_new_from_key_file (key_file, "SSH", problems);
  g_assert_cmpuint (problems->len, ==, 0);
  g_assert_nonnull (back);
  g_assert_true (pl_profile_equal (profile, back));

  /* No description: the key goes; other keys stay. */
  g_key_file_set_value (key_file, "SSH", "X-Future", "kept");
  pl_profile_set_description (profile, NULL);
  pl_profile_set_enabled (profile, FALSE);
  pl_profile_write_to_key_file (profile, key_file);
  g_assert_false (g_key_file_has_key (key_file, "SSH", "Description", NULL));
  g_clear_pointer (&data, g_free);
  data = g_key_file_get_value (key_file, "SSH", "Enabled", NULL);
  g_assert_cmpstr (data, ==, "false");
  g_clear_pointer (&data, g_free);
  data = g_key_file_get_value (key_file, "SSH", "X-Future", NULL);
  g_assert_cmpstr (data, ==, "kept");
}

static void
test_gateway (void)
{
  static const char text[] =
    "[vpn-torrent]\n"
    "Protocol=both\n"
    "InternalPort=51413\n"
    "ExternalPort=any\n"
    "Lifetime=60\n"
    "Enabled=true\n"
    "Gateway=vpn\n"
    "\n"
    "[SSH]\n"
    "Protocol=tcp\n"
    "InternalPort=22\n"
    "ExternalPort=0\n"
    "Lifetime=7200\n"
    "Enabled=true\n"
    "Gateway=192.168.1.1\n"
    "\n"
    "[Game]\n"
    "Protocol=udp\n"
    "InternalPort=3074\n"
    "ExternalPort=0\n"
    "Lifetime=7200\n"
    "Enabled=true\n"
    "Gateway=default\n"
    "\n"
    "[Web]\n"
    "Protocol=tcp\n"
    "InternalPort=80\n"
    "ExternalPort=0\n"
    "Lifetime=7200\n"
    "Enabled=true\n";
  static const char *const bad[] = {
    "auto", "VPN", " vpn", "vpn ", "192.168.1", "192.168.1.1.1", "192.168.1.256",
    "fe80::1", "0.0.0.0", "255.255.255.255", "224.0.0.1", "127.0.0.1", "router.lan",
    "192.168.1.1/24",
  };
  const char *const names[] = { "vpn-torrent", "SSH", "Game", "Web" };
  const PlProfileGateway kinds[] = {
    PL_PROFILE_GATEWAY_VPN, PL_PROFILE_GATEWAY_ADDRESS, PL_PROFILE_GATEWAY_DEFAULT,
    PL_PROFILE_GATEWAY_DEFAULT,
  };
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  g_autoptr(GPtrArray) profiles = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(PlProfile) copy = NULL;
  g_autofree char *data = NULL;

  g_test_summary ("Gateway= is default, vpn or an IPv4 address, kept as written, carried "
                  "by copies; a bad value is refused with why and changes nothing");

  g_assert_true (g_key_file_load_from_data (key_file, text, -1,
                                            G_KEY_FILE_KEEP_COMMENTS, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      PlProfile *profile = pl_profile_new_from_key_file (key_file, names[i], problems);

      g_assert_nonnull (profile);
      g_ptr_array_add (profiles, profile);
      g_assert_cmpint (pl_profile_get_gateway_kind (profile, NULL), ==, kinds[i]);
      g_assert_true (pl_profile_validate (profile, NULL));
    }
  g_assert_cmpuint (problems->len, ==, 0);
  g_assert_null (pl_profile_get_gateway (g_ptr_array_index (profiles, 3)));
  g_assert_cmpstr (pl_profile_get_gateway (g_ptr_array_index (profiles, 2)), ==, "default");
  g_assert_cmpint (pl_profile_get_gateway_kind (g_ptr_array_index (profiles, 1), &address), ==,
                   PL_PROFILE_GATEWAY_ADDRESS);
  g_assert_nonnull (address);
  data = g_inet_address_to_string (address);
  g_assert_cmpstr (data, ==, "192.168.1.1");
  g_clear_pointer (&data, g_free);

  /* Written back byte for byte: "default" stays "default", absent stays absent. */
  for (guint i = 0; i < profiles->len; i++)
    pl_profile_write_to_key_file (g_ptr_array_index (profiles, i), key_file);
  data = g_key_file_to_data (key_file, NULL, NULL);
  g_assert_cmpstr (data, ==, text);

  copy = pl_profile_copy (g_ptr_array_index (profiles, 0));
  g_assert_cmpstr (pl_profile_get_gateway (copy), ==, "vpn");
  g_assert_true (pl_profile_equal (copy, g_ptr_array_index (profiles, 0)));
  pl_profile_set_gateway (copy, "10.2.0.1");
  g_assert_false (pl_profile_equal (copy, g_ptr_array_index (profiles, 0)));
  pl_profile_set_gateway (copy, "");
  g_assert_null (pl_profile_get_gateway (copy));
  pl_profile_write_to_key_file (copy, key_file);
  g_assert_false (g_key_file_has_key (key_file, "vpn-torrent", "Gateway", NULL));

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *expected =
        g_strdup_printf ("Profile “SSH”: Gateway “%s” is not a gateway (default, vpn or an "
                         "IPv4 address such as 192.168.1.1)", bad[i]);

      g_assert_false (pl_profile_set_key_value (g_ptr_array_index (profiles, 1), "Gateway",
                                                bad[i], &error));
      g_assert_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
      g_assert_cmpstr (error->message, ==, expected);
      g_assert_cmpstr (pl_profile_get_gateway (g_ptr_array_index (profiles, 1)), ==,
                       "192.168.1.1");

      /* Set directly, the profile does not validate. */
      pl_profile_set_gateway (copy, bad[i]);
      g_assert_cmpint (pl_profile_get_gateway_kind (copy, NULL), ==, PL_PROFILE_GATEWAY_INVALID);
      g_assert_false (pl_profile_validate (copy, NULL));
    }
}

static void
test_any_port (void)
{
  static const char text[] =
    "[vpn-torrent]\n"
    "Protocol=both\n"
    "InternalPort=51413\n"
    "ExternalPort=any\n"
    "Lifetime=60\n"
    "Enabled=true\n"
    "OnPortChange=transmission-remote\\s-p %p   --auth 'me:a b'\n"
    "\n"
    "[Same]\n"
    "Protocol=tcp\n"
    "InternalPort=22\n"
    "ExternalPort=0\n"
    "Lifetime=7200\n"
    "Enabled=true\n";
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  g_autoptr(PlProfile) vpn = NULL;
  g_autoptr(PlProfile) same = NULL;
  g_autoptr(PlProfile) copy = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *data = NULL;

  g_test_summary ("ExternalPort=any is its own value (0 still means the internal port), "
                  "OnPortChange is kept as written, and both round-trip byte for byte");

  g_assert_true (g_key_file_load_from_data (key_file, text, -1,
                                            G_KEY_FILE_KEEP_COMMENTS, NULL));
  vpn = pl_profile_new_from_key_file (key_file, "vpn-torrent", problems);
  same = pl_profile_new_from_key_file (key_file, "Same", problems);
  g_assert_cmpuint (problems->len, ==, 0);

  g_assert_true (pl_profile_get_any_external_port (vpn));
  g_assert_cmpuint (pl_profile_get_external_port (vpn), ==, 0);
  g_assert_cmpuint (pl_profile_get_requested_port (vpn), ==, 0);
  g_assert_cmpstr (pl_profile_get_on_port_change (vpn), ==,
                   "transmission-remote -p %p   --auth 'me:a b'");
  g_assert_false (pl_profile_get_any_external_port (same));
  g_assert_cmpuint (pl_profile_get_requested_port (same), ==, 22);

  /* Written back unchanged: the same bytes, the escaped space included. */
  pl_profile_write_to_key_file (vpn, key_file);
  pl_profile_write_to_key_file (same, key_file);
  data = g_key_file_to_data (key_file, NULL, NULL);
  g_assert_cmpstr (data, ==, text);

  /* Copies and equality carry both. */
  copy = pl_profile_copy (vpn);
  g_assert_true (pl_profile_equal (copy, vpn));
  pl_profile_set_external_port (copy, 6881);
  g_assert_false (pl_profile_get_any_external_port (copy));
  g_assert_false (pl_profile_equal (copy, vpn));
  g_assert_true (pl_profile_set_key_value (copy, "ExternalPort", "any", &error));
  g_assert_true (pl_profile_equal (copy, vpn));
  pl_profile_set_on_port_change (copy, "");
  g_assert_null (pl_profile_get_on_port_change (copy));
  pl_profile_write_to_key_file (copy, key_file);
  g_assert_false (g_key_file_has_key (key_file, "vpn-torrent", "OnPortChange", NULL));

  /* A bad command is refused, and nothing changes. */
  g_assert_false (pl_profile_set_key_value (vpn, "OnPortChange", "notify %x", &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==,
                   "Profile “vpn-torrent”: OnPortChange “notify %x” has “%x”, which is not one "
                   "of %p (public port), %a (public address), %P (protocol) or %% (a percent "
                   "sign)");
  g_assert_cmpstr (pl_profile_get_on_port_change (vpn), ==,
                   "transmission-remote -p %p   --auth 'me:a b'");
  g_clear_error (&error);
  g_assert_false (pl_profile_set_key_value (vpn, "ExternalPort", "Any", &error));
  g_assert_cmpstr (error->message, ==,
                   "Profile “vpn-torrent”: ExternalPort “Any” is not a port number (0-65535) "
                   "or “any”");
  g_assert_true (pl_profile_get_any_external_port (vpn));
}

static void
test_key_file_defaults_and_missing (void)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  g_autoptr(PlProfile) minimal = NULL;
  g_autoptr(PlProfile) broken = NULL;

  g_assert_true (g_key_file_load_from_data (key_file,
                                            "[Minimal]\n"
                                            "Protocol=udp\n"
                                            "InternalPort=5000\n"
                                            "[Broken]\n"
                                            "ExternalPort=x\n"
                                            "Enabled=yes\n",
                                            -1, G_KEY_FILE_NONE, NULL));

  minimal = pl_profile_new_from_key_file (key_file, "Minimal", problems);
  g_assert_nonnull (minimal);
  g_assert_cmpuint (problems->len, ==, 0);
  g_assert_cmpint (pl_profile_get_protocol (minimal), ==, PL_PROFILE_PROTOCOL_UDP);
  g_assert_cmpuint (pl_profile_get_internal_port (minimal), ==, 5000);
  g_assert_cmpuint (pl_profile_get_external_port (minimal), ==, 0);
  g_assert_cmpuint (pl_profile_get_lifetime (minimal), ==, 7200);
  g_assert_true (pl_profile_get_enabled (minimal));
  g_assert_null (pl_profile_get_description (minimal));

  /* Every problem of the group is reported, in key order. */
  broken = pl_profile_new_from_key_file (key_file, "Broken", problems);
  g_assert_null (broken);
  g_assert_cmpuint (problems->len, ==, 4);
  g_assert_cmpstr (((GError *) problems->pdata[0])->message, ==,
                   "Profile “Broken”: Protocol is missing");
  g_assert_cmpstr (((GError *) problems->pdata[1])->message, ==,
                   "Profile “Broken”: InternalPort is missing");
  g_assert_cmpstr (((GError *) problems->pdata[2])->message, ==,
                   "Profile “Broken”: ExternalPort “x” is not a port number (0-65535) or “any”");
  g_assert_cmpstr (((GError *) problems->pdata[3])->message, ==,
                   "Profile “Broken”: Enabled “yes” is not true or false");
  for (guint i = 0; i < problems->len; i++)
    g_assert_error (((GError *) problems->pdata[i]), PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
}

static void
test_key_file_escapes (void)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  static const struct {
    const char *raw;      /* Description= in the file */
    const char *value;    /* what loads, or NULL */
    const char *message;  /* the one problem, or NULL */
  } cases[] = {
    { "a\\sb\\\\c", "a b\\c", NULL },
    { "\\s\\slead", "  lead", NULL },
    { "plain “text”", "plain “text”", NULL },
    { "bad \\q escape", NULL, "Profile “P”: Description has an invalid escape sequence “\\q”" },
    /* GLib 2.74's g_key_file_get_string() sets its GError twice on these (a warning). */
    { "\\6\\", NULL, "Profile “P”: Description has an invalid escape sequence “\\6”" },
    { "\\x41\\6\\", NULL, "Profile “P”: Description has an invalid escape sequence “\\x”" },
    { "ok\\", NULL, "Profile “P”: Description ends with an incomplete escape sequence “\\”" },
    { "\\é", NULL, "Profile “P”: Description has an invalid escape sequence “\\é”" },
    { "\\\\\\", NULL, "Profile “P”: Description ends with an incomplete escape sequence “\\”" },
  };

  g_test_summary ("Escape sequences in values are checked before they are undone: one "
                  "problem naming the first bad sequence, never a GLib warning");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
      g_autoptr(PlProfile) profile = NULL;
      g_autofree char *data = g_strdup_printf ("[P]\nProtocol=tcp\nInternalPort=1\n"
                                               "Description=%s\n", cases[i].raw);

      g_test_message ("Description=%s", cases[i].raw);
      g_assert_true (g_key_file_load_from_data (key_file, data, -1, G_KEY_FILE_NONE, NULL));
      profile = pl_profile_new_from_key_file (key_file, "P", problems);

      if (cases[i].message == NULL)
        {
          g_assert_cmpuint (problems->len, ==, 0);
          g_assert_nonnull (profile);
          g_assert_cmpstr (pl_profile_get_description (profile), ==, cases[i].value);
        }
      else
        {
          g_assert_null (profile);
          g_assert_cmpuint (problems->len, ==, 1);
          g_assert_error ((GError *) problems->pdata[0], PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
          g_assert_cmpstr (((GError *) problems->pdata[0])->message, ==, cases[i].message);
        }
    }

  /* The fuzzer's find, in the protocol. */
  {
    g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
    g_autoptr(PlProfile) profile = NULL;

    g_assert_true (g_key_file_load_from_data (key_file, "[a]\nProtocol=\\6\\\nInternalPort=1\n",
                                              -1, G_KEY_FILE_NONE, NULL));
    profile = pl_profile_new_from_key_file (key_file, "a", problems);
    g_assert_null (profile);
    g_assert_cmpuint (problems->len, ==, 1);
    g_assert_cmpstr (((GError *) problems->pdata[0])->message, ==,
                     "Profile “a”: Protocol has an invalid escape sequence “\\6”");
  }
}

static void
test_family (void)
{
  g_autoptr(PlProfile) profile = pl_profile_new ("Game");
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  g_autoptr(PlProfile) read = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;
  PlProfileFamily family;

  g_test_summary ("Family=ipv4|ipv6|both (default both): parsed exactly, a bad value named "
                  "in the error and the profile left unchanged; written only when it is not "
                  "the default or was in the file already, so older files stay as they were");

  g_assert_cmpint (pl_profile_get_family (profile), ==, PL_PROFILE_FAMILY_BOTH);
  g_assert_true (pl_profile_family_from_string ("ipv6", &family));
  g_assert_cmpint (family, ==, PL_PROFILE_FAMILY_IPV6);
  g_assert_false (pl_profile_family_from_string ("IPv6", &family));
  g_assert_false (pl_profile_family_from_string ("", &family));
  g_assert_false (pl_profile_family_from_string (NULL, &family));

  g_assert_true (pl_profile_set_key_value (profile, "Family", "ipv4", &error));
  g_assert_no_error (error);
  g_assert_cmpint (pl_profile_get_family (profile), ==, PL_PROFILE_FAMILY_IPV4);
  g_assert_false (pl_profile_set_key_value (profile, "Family", "v6", &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "“v6”"));
  g_assert_cmpint (pl_profile_get_family (profile), ==, PL_PROFILE_FAMILY_IPV4);
  g_clear_error (&error);

  /* The default is not written into a group that never had it. */
  pl_profile_set_family (profile, PL_PROFILE_FAMILY_BOTH);
  pl_profile_set_internal_port (profile, 25565);
  pl_profile_write_to_key_file (profile, key_file);
  g_assert_false (g_key_file_has_key (key_file, "Game", "Family", NULL));

  pl_profile_set_family (profile, PL_PROFILE_FAMILY_IPV6);
  pl_profile_write_to_key_file (profile, key_file);
  value = g_key_file_get_value (key_file, "Game", "Family", NULL);
  g_assert_cmpstr (value, ==, "ipv6");
  g_clear_pointer (&value, g_free);

  read = pl_profile_new_from_key_file (key_file, "Game", problems);
  g_assert_nonnull (read);
  g_assert_cmpuint (problems->len, ==, 0);
  g_assert_cmpint (pl_profile_get_family (read), ==, PL_PROFILE_FAMILY_IPV6);
  g_assert_true (pl_profile_equal (read, profile));

  /* Back to the default: still written, since the file has the key now. */
  pl_profile_set_family (profile, PL_PROFILE_FAMILY_BOTH);
  g_assert_false (pl_profile_equal (read, profile));
  pl_profile_write_to_key_file (profile, key_file);
  value = g_key_file_get_value (key_file, "Game", "Family", NULL);
  g_assert_cmpstr (value, ==, "both");

  g_key_file_set_value (key_file, "Game", "Family", "ipv5");
  g_clear_object (&read);
  read = pl_profile_new_from_key_file (key_file, "Game", problems);
  g_assert_null (read);
  g_assert_cmpuint (problems->len, ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/pl/profile/defaults", test_defaults);
  g_test_add_func ("/pl/profile/properties-notify", test_properties_notify);
  g_test_add_func ("/pl/profile/copy-update-equal", test_copy_update_equal);
  g_test_add_func ("/pl/profile/protocol-strings", test_protocol_strings);
  g_test_add_func ("/pl/profile/overlaps", test_overlaps);
  g_test_add_func ("/pl/profile/validate", test_validate);
  g_test_add_func ("/pl/profile/validate/errors", test_validate_errors);
  g_test_add_func ("/pl/profile/validate/names", test_validate_name);
  g_test_add_func ("/pl/profile/key-values", test_key_values);
  g_test_add_func ("/pl/profile/key-values/apply", test_key_values_apply);
  g_test_add_func ("/pl/profile/key-file/round-trip", test_key_file_round_trip);
  g_test_add_func ("/pl/profile/key-file/defaults-and-missing", test_key_file_defaults_and_missing);
  g_test_add_func ("/pl/profile/key-file/escapes", test_key_file_escapes);
  g_test_add_func ("/pl/profile/family", test_family);
  g_test_add_func ("/pl/profile/any-port", test_any_port);
  g_test_add_func ("/pl/profile/gateway", test_gateway);

  return g_test_run ();
}
