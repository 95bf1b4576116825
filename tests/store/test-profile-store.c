/* test-profile-store.c: PlProfileStore, the profiles file and its GListModel
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

/* Helpers */

typedef struct
{
  guint position;
  guint removed;
  guint added;
} Change;

typedef struct
{
  GArray *changes;   /* Change */
  guint   reloaded;
} Recorder;

static void
items_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  gpointer    user_data)
{
  Recorder *recorder = user_data;
  Change change = { position, removed, added };

  g_array_append_val (recorder->changes, change);
}

static void
reloaded_cb (PlProfileStore *store,
             gpointer        user_data)
{
  Recorder *recorder = user_data;

  recorder->reloaded++;
}

static void
recorder_init (Recorder       *recorder,
               PlProfileStore *store)
{
  recorder->changes = g_array_new (FALSE, TRUE, sizeof (Change));
  recorder->reloaded = 0;
  g_signal_connect (store, "items-changed", G_CALLBACK (items_changed_cb), recorder);
  g_signal_connect (store, "reloaded", G_CALLBACK (reloaded_cb), recorder);
}

static void
recorder_clear (Recorder *recorder)
{
  g_clear_pointer (&recorder->changes, g_array_unref);
}

static void
assert_change (Recorder *recorder,
               guint     index,
               guint     position,
               guint     removed,
               guint     added)
{
  Change *change;

  g_assert_cmpuint (recorder->changes->len, >, index);
  change = &g_array_index (recorder->changes, Change, index);
  g_assert_cmpuint (change->position, ==, position);
  g_assert_cmpuint (change->removed, ==, removed);
  g_assert_cmpuint (change->added, ==, added);
}

static char *
default_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "portlight", "profiles.ini", NULL);
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
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

static char *
read_text (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

static void
copy_data_file (const char *name,
                const char *path)
{
  g_autoptr(GBytes) bytes = read_bytes (g_test_get_filename (G_TEST_DIST, "data", name, NULL));
  gsize length;
  const char *data = g_bytes_get_data (bytes, &length);

  write_file (path, data, length);
}

/* The store's problems, one message per line. */
static char *
problems_text (PlProfileStore *store)
{
  GPtrArray *problems = pl_profile_store_get_problems (store);
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < problems->len; i++)
    g_string_append_printf (text, "%s\n", ((GError *) problems->pdata[i])->message);
  return g_string_free (text, FALSE);
}

static PlProfile *
make_profile (const char        *name,
              PlProfileProtocol  protocol,
              guint              internal_port,
              guint              external_port)
{
  PlProfile *profile = pl_profile_new (name);

  pl_profile_set_protocol (profile, protocol);
  pl_profile_set_internal_port (profile, internal_port);
  pl_profile_set_external_port (profile, external_port);
  return profile;
}

static void
add_profile (PlProfileStore    *store,
             const char        *name,
             PlProfileProtocol  protocol,
             guint              internal_port,
             guint              external_port)
{
  g_autoptr(PlProfile) profile = make_profile (name, protocol, internal_port, external_port);
  g_autoptr(GError) error = NULL;

  pl_profile_store_add (store, profile, &error);
  g_assert_no_error (error);
}

static PlProfile *
item (PlProfileStore *store,
      guint           position)
{
  PlProfile *profile = g_list_model_get_item (G_LIST_MODEL (store), position);

  /* The store keeps its own reference. */
  g_object_unref (profile);
  return profile;
}

static const char *
item_name (PlProfileStore *store,
           guint           position)
{
  return pl_profile_get_name (item (store, position));
}

static PlProfileStore *
load_data (const char *data)
{
  PlProfileStore *store = pl_profile_store_new (NULL);
  g_autoptr(GError) error = NULL;

  pl_profile_store_load_from_data (store, data, -1, &error);
  g_assert_no_error (error);
  return store;
}

static guint
file_mode (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 0777;
}

static gboolean
timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until *counter reaches @target, for at most 10 seconds. */
static void
wait_for (guint *counter,
          guint  target)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (10, timeout_cb, &timed_out);

  while (*counter < target && !timed_out)
    g_main_context_iteration (NULL, TRUE);

  g_assert_false (timed_out);
  g_source_remove (id);
}

/* Runs the main loop for @ms milliseconds. */
static void
spin (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, timeout_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

/* Tests */

static void
test_default_path (void)
{
  g_autoptr(PlProfileStore) store = pl_profile_store_new (NULL);
  g_autoptr(PlProfileStore) explicit = pl_profile_store_new ("/tmp/elsewhere/p.ini");
  g_autofree char *expected = default_path ();
  g_autofree char *from_property = NULL;
  g_autofree char *from_function = pl_profile_store_get_default_path ();

  /* G_TEST_OPTION_ISOLATE_DIRS points g_get_user_config_dir() into a temporary directory. */
  g_assert_true (g_str_has_prefix (expected, g_get_tmp_dir ()));
  g_assert_cmpstr (pl_profile_store_get_path (store), ==, expected);
  g_assert_cmpstr (from_function, ==, expected);
  g_object_get (store, "path", &from_property, NULL);
  g_assert_cmpstr (from_property, ==, expected);
  g_assert_cmpstr (pl_profile_store_get_path (explicit), ==, "/tmp/elsewhere/p.ini");

  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (store)) == PL_TYPE_PROFILE);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 0);
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (store), 0));
}

static void
test_missing_file (void)
{
  g_autoptr(PlProfileStore) store = pl_profile_store_new (NULL);
  g_autofree char *path = default_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  Recorder recorder;

  recorder_init (&recorder, store);

  g_assert_true (pl_profile_store_load (store, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (recorder.reloaded, ==, 1);
  g_assert_cmpuint (recorder.changes->len, ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 0);
  g_assert_cmpuint (pl_profile_store_get_problems (store)->len, ==, 0);
  g_assert_true (pl_profile_store_can_save (store, NULL));
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));

  /* Saving creates a private directory and a private file. */
  g_assert_true (pl_profile_store_save (store, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (file_mode (dir), ==, 0700);
  g_assert_cmpuint (file_mode (path), ==, 0600);
  text = read_text (path);
  g_assert_cmpstr (text, ==, "");

  recorder_clear (&recorder);
}

static void
test_round_trip (void)
{
  g_autoptr(PlProfileStore) store = pl_profile_store_new (NULL);
  g_autoptr(PlProfileStore) again = pl_profile_store_new (NULL);
  g_autoptr(PlProfileStore) from_data = pl_profile_store_new ("/nonexistent/profiles.ini");
  g_autoptr(PlProfile) game = make_profile ("Game server", PL_PROFILE_PROTOCOL_UDP, 27015, 0);
  g_autoptr(PlProfile) web = make_profile ("Web", PL_PROFILE_PROTOCOL_BOTH, 8080, 80);
  g_autofree char *path = default_path ();
  g_autofree char *text = NULL;
  g_autofree char *data = NULL;
  g_autofree char *data_again = NULL;
  g_autoptr(GError) error = NULL;
  Recorder recorder;

  recorder_init (&recorder, store);
  g_assert_true (pl_profile_store_load (store, NULL, NULL));

  add_profile (store, "SSH", PL_PROFILE_PROTOCOL_TCP, 22, 2222);
  pl_profile_set_lifetime (game, 3600);
  pl_profile_set_enabled (game, FALSE);
  g_assert_true (pl_profile_store_add (store, game, &error));
  g_assert_no_error (error);
  pl_profile_set_lifetime (web, 86400);
  pl_profile_set_description (web, "Development web server; “ünïcode”\\ok");
  g_assert_true (pl_profile_store_add (store, web, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (recorder.changes->len, ==, 3);
  assert_change (&recorder, 0, 0, 0, 1);
  assert_change (&recorder, 1, 1, 0, 1);
  assert_change (&recorder, 2, 2, 0, 1);

  /* The store holds copies. */
  g_assert_true (item (store, 1) != game);
  g_assert_true (pl_profile_equal (item (store, 1), game));

  g_assert_true (pl_profile_store_save (store, NULL, &error));
  g_assert_no_error (error);
  text = read_text (path);
  g_assert_cmpstr (text, ==,
                   "[SSH]\n"
                   "Protocol=tcp\n"
                   "InternalPort=22\n"
                   "ExternalPort=2222\n"
                   "Lifetime=7200\n"
                   "Enabled=true\n"
                   "\n"
                   "[Game server]\n"
                   "Protocol=udp\n"
                   "InternalPort=27015\n"
                   "ExternalPort=0\n"
                   "Lifetime=3600\n"
                   "Enabled=false\n"
                   "\n"
                   "[Web]\n"
                   "Protocol=both\n"
                   "InternalPort=8080\n"
                   "ExternalPort=80\n"
                   "Lifetime=86400\n"
                   "Enabled=true\n"
                   "Description=Development web server; “ünïcode”\\\\ok\n");

  g_assert_true (pl_profile_store_load (again, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pl_profile_store_get_problems (again)->len, ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (again)), ==, 3);
  for (guint i = 0; i < 3; i++)
    g_assert_true (pl_profile_equal (item (store, i), item (again, i)));

  /* The pure converters agree with the file. */
  data = pl_profile_store_to_data (again, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (data, ==, text);
  g_assert_true (pl_profile_store_load_from_data (from_data, data, -1, &error));
  g_assert_no_error (error);
  data_again = pl_profile_store_to_data (from_data, NULL, NULL);
  g_assert_cmpstr (data_again, ==, text);
  for (guint i = 0; i < 3; i++)
    g_assert_true (pl_profile_equal (item (store, i), item (from_data, i)));

  recorder_clear (&recorder);
}

static void
test_example_file (void)
{
  g_autoptr(PlProfileStore) store = pl_profile_store_new (NULL);
  g_autofree char *path = default_path ();
  g_autoptr(GBytes) original = NULL;
  g_autoptr(GBytes) saved = NULL;
  g_autoptr(GError) error = NULL;
  PlProfile *profile;

  copy_data_file ("profiles-example.ini", path);
  original = read_bytes (path);

  g_assert_true (pl_profile_store_load (store, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pl_profile_store_get_problems (store)->len, ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 3);
  g_assert_cmpstr (item_name (store, 0), ==, "SSH");
  g_assert_cmpstr (item_name (store, 1), ==, "Game server");
  g_assert_cmpstr (item_name (store, 2), ==, "Web");

  profile = pl_profile_store_lookup (store, "Web");
  g_assert_nonnull (profile);
  g_assert_cmpint (pl_profile_get_protocol (profile), ==, PL_PROFILE_PROTOCOL_BOTH);
  g_assert_cmpuint (pl_profile_get_internal_port (profile), ==, 8080);
  g_assert_cmpuint (pl_profile_get_external_port (profile), ==, 80);
  g_assert_cmpuint (pl_profile_get_lifetime (profile), ==, 86400);
  g_assert_true (pl_profile_get_enabled (profile));
  g_assert_cmpstr (pl_profile_get_description (profile), ==, "Development web server");
  g_assert_false (pl_profile_get_enabled (pl_profile_store_lookup (store, "Game server")));
  g_assert_null (pl_profile_store_lookup (store, "ssh"));

  /* Saving an unchanged file gives the same bytes. */
  g_assert_true (pl_profile_store_save (store, NULL, &error));
  g_assert_no_error (error);
  saved = read_bytes (path);
  g_assert_true (g_bytes_equal (original, saved));
}

static void
test_bad_values (void)
{
  static const struct
  {
    const char *key;
    const char *raw;      /* as written in the file */
    const char *message;
  } cases[] = {
    { "Protocol", "", "Protocol “” is not a protocol (tcp, udp or both)" },
    { "Protocol", "TCP", "Protocol “TCP” is not a protocol (tcp, udp or both)" },
    { "Protocol", "Udp", "Protocol “Udp” is not a protocol (tcp, udp or both)" },
    { "Protocol", "tcp ", "Protocol “tcp ” is not a protocol (tcp, udp or both)" },
    { "Protocol", "tcp\\s", "Protocol “tcp ” is not a protocol (tcp, udp or both)" },
    { "Protocol", "\\stcp", "Protocol “ tcp” is not a protocol (tcp, udp or both)" },
    { "Protocol", "tcp;udp", "Protocol “tcp;udp” is not a protocol (tcp, udp or both)" },
    { "Protocol", "icmp", "Protocol “icmp” is not a protocol (tcp, udp or both)" },
    { "Protocol", "17", "Protocol “17” is not a protocol (tcp, udp or both)" },

    { "InternalPort", "", "InternalPort “” is not a port number (1-65535)" },
    { "InternalPort", "ssh", "InternalPort “ssh” is not a port number (1-65535)" },
    { "InternalPort", "-22", "InternalPort “-22” is not a port number (1-65535)" },
    { "InternalPort", "0", "InternalPort “0” is not a port number (1-65535)" },
    { "InternalPort", "65536", "InternalPort “65536” is not a port number (1-65535)" },
    { "InternalPort", "70000", "InternalPort “70000” is not a port number (1-65535)" },
    { "InternalPort", "123456789012345678901234567890",
      "InternalPort “123456789012345678901234567890” is not a port number (1-65535)" },
    { "InternalPort", "22 ", "InternalPort “22 ” is not a port number (1-65535)" },
    { "InternalPort", "2 2", "InternalPort “2 2” is not a port number (1-65535)" },
    { "InternalPort", "0x16", "InternalPort “0x16” is not a port number (1-65535)" },

    { "ExternalPort", "", "ExternalPort “” is not a port number (0-65535) or “any”" },
    { "ExternalPort", "same", "ExternalPort “same” is not a port number (0-65535) or “any”" },
    { "ExternalPort", "-1", "ExternalPort “-1” is not a port number (0-65535) or “any”" },
    { "ExternalPort", "65536", "ExternalPort “65536” is not a port number (0-65535) or “any”" },
    { "ExternalPort", "99999999999999999999",
      "ExternalPort “99999999999999999999” is not a port number (0-65535) or “any”" },
    { "ExternalPort", "80 ", "ExternalPort “80 ” is not a port number (0-65535) or “any”" },

    { "Lifetime", "", "Lifetime “” is not a lifetime in seconds (1-86400)" },
    { "Lifetime", "forever", "Lifetime “forever” is not a lifetime in seconds (1-86400)" },
    { "Lifetime", "-1", "Lifetime “-1” is not a lifetime in seconds (1-86400)" },
    { "Lifetime", "0", "Lifetime “0” is not a lifetime in seconds (1-86400)" },
    { "Lifetime", "86401", "Lifetime “86401” is not a lifetime in seconds (1-86400)" },
    { "Lifetime", "18446744073709551617",
      "Lifetime “18446744073709551617” is not a lifetime in seconds (1-86400)" },
    { "Lifetime", "7200s", "Lifetime “7200s” is not a lifetime in seconds (1-86400)" },
    { "Lifetime", "7200 ", "Lifetime “7200 ” is not a lifetime in seconds (1-86400)" },

    { "Enabled", "", "Enabled “” is not true or false" },
    { "Enabled", "TRUE", "Enabled “TRUE” is not true or false" },
    { "Enabled", "False", "Enabled “False” is not true or false" },
    { "Enabled", "yes", "Enabled “yes” is not true or false" },
    { "Enabled", "no", "Enabled “no” is not true or false" },
    { "Enabled", "1", "Enabled “1” is not true or false" },
    { "Enabled", "on", "Enabled “on” is not true or false" },
    { "Enabled", "true ", "Enabled “true ” is not true or false" },

    { "Description", "two\\nlines",
      "Description “two\nlines” contains a line break or another control character" },
    { "Description", "tab\\there",
      "Description “tab\there” contains a line break or another control character" },
    { "Description", "bad \\q escape", "Description has an invalid escape sequence “\\q”" },
    { "Description", "two bad \\6\\", "Description has an invalid escape sequence “\\6”" },
    { "Protocol", "\\6\\", "Protocol has an invalid escape sequence “\\6”" },
    { "Protocol", "tcp\\", "Protocol ends with an incomplete escape sequence “\\”" },
  };
  static const char * const keys[] = {
    "Protocol", "InternalPort", "ExternalPort", "Lifetime", "Enabled", "Description",
  };
  static const char * const good_values[] = {
    "tcp", "22", "2222", "7200", "true", "Shell",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(PlProfileStore) store = NULL;
      g_autoptr(GString) data = g_string_new ("[Before]\nProtocol=udp\nInternalPort=53\n\n[SSH]\n");
      g_autofree char *saved = NULL;
      g_autofree char *expected = NULL;
      g_autofree char *problems = NULL;

      for (gsize k = 0; k < G_N_ELEMENTS (keys); k++)
        g_string_append_printf (data, "%s=%s\n", keys[k],
                                strcmp (keys[k], cases[i].key) == 0 ? cases[i].raw
                                                                    : good_values[k]);
      g_string_append (data, "\n[After]\nProtocol=tcp\nInternalPort=80\n");

      store = load_data (data->str);

      /* Exactly one problem, naming the profile, the key and what is wrong. */
      expected = g_strdup_printf ("Profile “SSH”: %s\n", cases[i].message);
      problems = problems_text (store);
      g_assert_cmpstr (problems, ==, expected);
      g_assert_error ((GError *) pl_profile_store_get_problems (store)->pdata[0],
                      PL_ERROR, PL_ERROR_INVALID_ARGUMENT);

      /* The others load; the bad group is known but not loaded. */
      g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 2);
      g_assert_cmpstr (item_name (store, 0), ==, "Before");
      g_assert_cmpstr (item_name (store, 1), ==, "After");
      g_assert_null (pl_profile_store_lookup (store, "SSH"));
      g_assert_true (pl_profile_store_has_name (store, "SSH"));
      g_assert_true (pl_profile_store_can_save (store, NULL));

      /* Saving, even after a change elsewhere, keeps the bad group as it was. */
      g_assert_true (pl_profile_store_set_enabled (store, "After", FALSE, NULL));
      saved = pl_profile_store_to_data (store, NULL, NULL);
      {
        const char *start = strstr (data->str, "[SSH]\n");
        const char *end = strstr (data->str, "\n[After]");
        g_autofree char *group = g_strndup (start, end - start);

        g_assert_nonnull (strstr (saved, group));
      }
      g_assert_nonnull (strstr (saved, "[After]\nProtocol=tcp\nInternalPort=80\nEnabled=false\n"));
    }
}

static void
test_missing_keys (void)
{
  g_autoptr(PlProfileStore) store = load_data ("[Empty]\n"
                                               "[No port]\n"
                                               "Protocol=tcp\n"
                                               "[No protocol]\n"
                                               "InternalPort=22\n"
                                               "[Minimal]\n"
                                               "Protocol=udp\n"
                                               "InternalPort=53\n");
  g_autofree char *problems = problems_text (store);

  g_assert_cmpstr (problems, ==,
                   "Profile “Empty”: Protocol is missing\n"
                   "Profile “Empty”: InternalPort is missing\n"
                   "Profile “No port”: InternalPort is missing\n"
                   "Profile “No protocol”: Protocol is missing\n");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 1);
  g_assert_cmpstr (item_name (store, 0), ==, "Minimal");
}

static void
test_bad_names (void)
{
  g_autoptr(PlProfileStore) store = load_data ("[ Padded ]\n"
                                               "Protocol=tcp\n"
                                               "InternalPort=22\n");
  g_autofree char *problems = problems_text (store);
  g_autofree char *saved = NULL;

  g_assert_cmpstr (problems, ==, "Profile name “ Padded ” begins or ends with a space\n");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 0);
  saved = pl_profile_store_to_data (store, NULL, NULL);
  g_assert_cmpstr (saved, ==, "[ Padded ]\nProtocol=tcp\nInternalPort=22\n");
}

static void
test_bad_values_file (void)
{
  g_autoptr(PlProfileStore) store = pl_profile_store_new (NULL);
  g_autofree char *path = default_path ();
  g_autofree char *problems = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GError) error = NULL;

  copy_data_file ("profiles-bad-values.ini", path);
  before = read_text (path);

  g_assert_true (pl_profile_store_load (store, NULL, &error));
  g_assert_no_error (error);
  problems = problems_text (store);
  g_assert_cmpstr (problems, ==,
                   "Profile “Bad port”: InternalPort “70000” is not a port number (1-65535)\n"
                   "Profile “Bad protocol”: Protocol “sctp” is not a protocol (tcp, udp or both)\n"
                   "Profile “Bad enabled”: Enabled “yes” is not true or false\n"
                   "Profile “Clash”: InternalPort 22 (both) is already used by profile “Good” (tcp)\n");
  g_assert_error ((GError *) pl_profile_store_get_problems (store)->pdata[3],
                  G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 1);

  /* A save without changes leaves every byte alone. */
  g_assert_true (pl_profile_store_save (store, NULL, &error));
  g_assert_no_error (error);
  after = read_text (path);
  g_assert_cmpstr (after, ==, before);
}

static void
test_unknown_kept (void)
{
  g_autoptr(PlProfileStore) store = pl_profile_store_new (NULL);
  g_autoptr(PlProfileStore) again = pl_profile_store_new (NULL);
  g_autoptr(PlProfile) changed = NULL;
  g_autofree char *path = default_path ();
  g_autofree char *saved = NULL;
  g_autofree char *problems = NULL;
  g_autoptr(GError) error = NULL;

  write_file (path,
              "[Settings]\n"
              "Theme=dark\n"
              "\n"
              "[SSH]\n"
              "Protocol=tcp\n"
              "InternalPort=22\n"
              "X-Future=some value\n"
              "Description[de]=Fernzugriff\n"
              "Interface=eth0\n",
              -1);

  g_assert_true (pl_profile_store_load (store, NULL, &error));
  g_assert_no_error (error);
  problems = problems_text (store);
  g_assert_cmpstr (problems, ==,
                   "Profile “Settings”: Protocol is missing\n"
                   "Profile “Settings”: InternalPort is missing\n");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 1);

  changed = pl_profile_copy (pl_profile_store_lookup (store, "SSH"));
  pl_profile_set_external_port (changed, 2222);
  pl_profile_set_description (changed, "Remote access");
  g_assert_true (pl_profile_store_replace (store, "SSH", changed, &error));
  g_assert_no_error (error);
  add_profile (store, "Web", PL_PROFILE_PROTOCOL_TCP, 80, 0);
  g_assert_true (pl_profile_store_save (store, NULL, &error));
  g_assert_no_error (error);

  saved = read_text (path);
  g_assert_cmpstr (saved, ==,
                   "[Settings]\n"
                   "Theme=dark\n"
                   "\n"
                   "[SSH]\n"
                   "Protocol=tcp\n"
                   "InternalPort=22\n"
                   "X-Future=some value\n"
                   "Description[de]=Fernzugriff\n"
                   "Interface=eth0\n"
                   "ExternalPort=2222\n"
                   "Lifetime=7200\n"
                   "Enabled=true\n"
                   "Description=Remote access\n"
                   "\n"
                   "[Web]\n"
                   "Protocol=tcp\n"
                   "InternalPort=80\n"
                   "ExternalPort=0\n"
                   "Lifetime=7200\n"
                   "Enabled=true\n");

  g_assert_true (pl_profile_store_load (again, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (again)), ==, 2);
  g_assert_cmpstr (pl_profile_get_description (pl_profile_store_lookup (again, "SSH")), ==,
                   "Remote access");
}

static void
test_comments_kept (void)
{
  g_autoptr(PlProfileStore) store = pl_profile_store_new (NULL);
  g_autofree char *path = default_path ();
  g_autofree char *saved = NULL;
  g_autoptr(GError) error = NULL;

  write_file (path,
              "# My profiles\n"
              "# (edited by hand)\n"
              "\n"
              "# The shell\n"
              "[SSH]\n"
              "# the usual port\n"
              "Protocol=tcp\n"
              "InternalPort=22\n"
              "Enabled=true\n"
              "\n"
              "# Games\n"
              "[Game]\n"
              "Protocol=udp\n"
              "InternalPort=27015\n"
              "# trailing comment\n",
              -1);

  g_assert_true (pl_profile_store_load (store, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (pl_profile_store_set_enabled (store, "SSH", FALSE, &error));
  g_assert_no_error (error);
  g_assert_true (pl_profile_store_remove (store, "Game", &error));
  g_assert_no_error (error);
  add_profile (store, "Web", PL_PROFILE_PROTOCOL_TCP, 80, 0);
  g_assert_true (pl_profile_store_save (store, NULL, &error));
  g_assert_no_error (error);

  /* GKeyFile separates a group header from the line before it by a blank line. */
  saved = read_text (path);
  g_assert_true (g_str_has_prefix (saved,
                                   "# My profiles\n"
                                   "# (edited by hand)\n"
                                   "\n"
                                   "# The shell\n"
                                   "\n"
                                   "[SSH]\n"
                                   "# the usual port\n"
                                   "Protocol=tcp\n"
                                   "InternalPort=22\n"
                                   "Enabled=false\n"));
  g_assert_null (strstr (saved, "[Game]"));
  g_assert_nonnull (strstr (saved, "[Web]\nProtocol=tcp\nInternalPort=80\n"));
}

#define DATA(s) s, sizeof (s) - 1

static void
test_unparsable (void)
{
  static const struct
  {
    const char *file;     /* in tests/data, or NULL */
    const char *data;
    gsize       length;
    const char *reason;
  } cases[] = {
    { "profiles-garbage.ini", NULL, 0, "it contains binary data (line 1)" },
    { "profiles-not-utf8.ini", NULL, 0, "it is not valid UTF-8 text (line 1)" },
    { "profiles-not-keyfile.ini", NULL, 0, "not a key-value pair" },
    { NULL, DATA ("[SSH]\nProtocol=tcp\nInternalPort=22\nDescription=nul\0byte\n"),
      "it contains binary data (line 4)" },
    { NULL, DATA ("[SSH]\nProtocol=tcp\nDescription=caf\xc3\n"),
      "it is not valid UTF-8 text (line 3)" },
    { NULL, DATA ("Protocol=tcp\n[SSH]\nInternalPort=22\n"), "does not start with a group" },
    { NULL, DATA ("[SSH\nProtocol=tcp\n"), "not a key-value pair" },
    { NULL, DATA ("{\"profiles\": []}\n"), "not a key-value pair" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(PlProfileStore) store = pl_profile_store_new (NULL);
      g_autoptr(PlProfile) profile = make_profile ("New", PL_PROFILE_PROTOCOL_TCP, 80, 0);
      g_autofree char *path = default_path ();
      g_autoptr(GBytes) original = NULL;
      g_autoptr(GBytes) after = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *data = NULL;
      gboolean can_save = TRUE;
      guint mode;
      Recorder recorder;

      g_test_message ("case %" G_GSIZE_FORMAT, i);
      if (cases[i].file != NULL)
        copy_data_file (cases[i].file, path);
      else
        write_file (path, cases[i].data, cases[i].length);
      original = read_bytes (path);
      mode = file_mode (path);

      recorder_init (&recorder, store);

      /* Loading fails with a message naming the file and saying it is kept. */
      g_assert_false (pl_profile_store_load (store, NULL, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_nonnull (strstr (error->message, cases[i].reason));
      g_assert_nonnull (strstr (error->message, "left as it is"));
      g_clear_error (&error);
      g_assert_cmpuint (recorder.reloaded, ==, 1);
      g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 0);
      g_assert_cmpuint (pl_profile_store_get_problems (store)->len, ==, 1);
      g_object_get (store, "can-save", &can_save, NULL);
      g_assert_false (can_save);

      /* Nothing can be changed, and saving is refused with the path in the message. */
      g_assert_false (pl_profile_store_can_save (store, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_clear_error (&error);
      g_assert_false (pl_profile_store_add (store, profile, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_clear_error (&error);
      g_assert_false (pl_profile_store_remove (store, "SSH", &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_clear_error (&error);
      g_assert_null (pl_profile_store_to_data (store, NULL, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_clear_error (&error);
      g_assert_false (pl_profile_store_save (store, NULL, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message, path));
      g_clear_error (&error);

      after = read_bytes (path);
      g_assert_true (g_bytes_equal (original, after));
      g_assert_cmpuint (file_mode (path), ==, mode);

      /* The user fixes the file: a load that succeeds unlocks saving. */
      write_file (path, "[SSH]\nProtocol=tcp\nInternalPort=22\n", -1);
      g_assert_true (pl_profile_store_load (store, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (pl_profile_store_get_problems (store)->len, ==, 0);
      g_object_get (store, "can-save", &can_save, NULL);
      g_assert_true (can_save);
      g_assert_true (pl_profile_store_add (store, profile, &error));
      g_assert_no_error (error);
      g_assert_true (pl_profile_store_save (store, NULL, &error));
      g_assert_no_error (error);
      data = read_text (path);
      g_assert_true (g_str_has_prefix (data, "[SSH]\nProtocol=tcp\nInternalPort=22\n\n[New]\n"));

      recorder_clear (&recorder);
      g_assert_cmpint (g_unlink (path), ==, 0);
    }
}

static void
test_unparsable_from_data (void)
{
  g_autoptr(PlProfileStore) store = load_data ("[A]\nProtocol=tcp\nInternalPort=1\n");
  g_autoptr(GError) error = NULL;

  /* A failed load keeps what was loaded before but refuses changes. */
  g_assert_false (pl_profile_store_load_from_data (store, "garbage", -1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 1);
  g_assert_false (pl_profile_store_set_enabled (store, "A", FALSE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);

  g_assert_true (pl_profile_store_load_from_data (store, "", 0, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 0);
  g_assert_true (pl_profile_store_can_save (store, NULL));
}

static void
test_unreadable (void)
{
  g_autoptr(PlProfileStore) store = pl_profile_store_new (NULL);
  g_autofree char *path = default_path ();
  g_autoptr(GError) error = NULL;

  /* Something that is not a file where the file should be. */
  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);

  g_assert_false (pl_profile_store_load (store, NULL, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  g_assert_false (pl_profile_store_save (store, NULL, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_DIR));
}

static void
test_duplicate_names (void)
{
  g_autoptr(PlProfileStore) store = pl_profile_store_new (NULL);
  g_autoptr(PlProfile) another = make_profile ("Other", PL_PROFILE_PROTOCOL_TCP, 443, 0);
  g_autofree char *path = default_path ();
  g_autofree char *problems = NULL;
  g_autoptr(GBytes) original = NULL;
  g_autoptr(GBytes) after = NULL;
  g_autoptr(GError) error = NULL;

  copy_data_file ("profiles-duplicates.ini", path);
  original = read_bytes (path);

  /* Reported at load, the other profiles load, and nothing is merged on disk. */
  g_assert_true (pl_profile_store_load (store, NULL, &error));
  g_assert_no_error (error);
  problems = problems_text (store);
  g_assert_cmpstr (problems, ==, "Profile “SSH”: more than one group in the file has this name\n");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 1);
  g_assert_cmpstr (item_name (store, 0), ==, "Web");
  g_assert_null (pl_profile_store_lookup (store, "SSH"));

  g_assert_false (pl_profile_store_can_save (store, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "“SSH”"));
  g_clear_error (&error);
  g_assert_false (pl_profile_store_add (store, another, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_false (pl_profile_store_save (store, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  after = read_bytes (path);
  g_assert_true (g_bytes_equal (original, after));

  /* Renaming one by hand fixes it. */
  write_file (path,
              "[SSH]\nProtocol=tcp\nInternalPort=22\n\n"
              "[Web]\nProtocol=tcp\nInternalPort=80\n\n"
              "[SSH 2]\nProtocol=udp\nInternalPort=2222\n",
              -1);
  g_assert_true (pl_profile_store_load (store, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pl_profile_store_get_problems (store)->len, ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 3);
  g_assert_true (pl_profile_store_add (store, another, &error));
  g_assert_no_error (error);
  g_assert_true (pl_profile_store_save (store, NULL, &error));
  g_assert_no_error (error);
}

static void
test_duplicate_keys (void)
{
  g_autoptr(PlProfileStore) store = load_data ("[SSH]\n"
                                               "Protocol=tcp\n"
                                               "InternalPort=22\n"
                                               "InternalPort=23\n"
                                               "[Web]\n"
                                               "Protocol=tcp\n"
                                               "InternalPort=80\n");
  g_autofree char *problems = problems_text (store);
  g_autofree char *saved = NULL;

  g_assert_cmpstr (problems, ==, "Profile “SSH”: InternalPort is given more than once\n");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 1);
  g_assert_true (pl_profile_store_can_save (store, NULL));
  saved = pl_profile_store_to_data (store, NULL, NULL);
  g_assert_true (g_str_has_prefix (saved,
                                   "[SSH]\nProtocol=tcp\nInternalPort=22\nInternalPort=23\n"));
}

static void
test_port_clash_at_load (void)
{
  g_autoptr(PlProfileStore) store = load_data ("[TCP 22]\n"
                                               "Protocol=tcp\n"
                                               "InternalPort=22\n"
                                               "[UDP 22]\n"
                                               "Protocol=udp\n"
                                               "InternalPort=22\n"
                                               "[Both 22]\n"
                                               "Protocol=both\n"
                                               "InternalPort=22\n"
                                               "[TCP 22 again]\n"
                                               "Protocol=tcp\n"
                                               "InternalPort=22\n"
                                               "ExternalPort=2222\n"
                                               "[Both 80]\n"
                                               "Protocol=both\n"
                                               "InternalPort=80\n"
                                               "[UDP 80]\n"
                                               "Protocol=udp\n"
                                               "InternalPort=80\n");
  g_autofree char *problems = problems_text (store);

  g_assert_cmpstr (problems, ==,
                   "Profile “Both 22”: InternalPort 22 (both) is already used by profile “TCP 22” (tcp)\n"
                   "Profile “TCP 22 again”: InternalPort 22 (tcp) is already used by profile “TCP 22” (tcp)\n"
                   "Profile “UDP 80”: InternalPort 80 (udp) is already used by profile “Both 80” (both)\n");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 3);
  g_assert_cmpstr (item_name (store, 0), ==, "TCP 22");
  g_assert_cmpstr (item_name (store, 1), ==, "UDP 22");
  g_assert_cmpstr (item_name (store, 2), ==, "Both 80");
}

static void
test_port_clash_names_earliest (void)
{
  g_autoptr(PlProfileStore) store = load_data ("[U]\nProtocol=udp\nInternalPort=5\n"
                                               "[T]\nProtocol=tcp\nInternalPort=5\n"
                                               "[B]\nProtocol=both\nInternalPort=5\n"
                                               "[T6]\nProtocol=tcp\nInternalPort=6\n"
                                               "[U6]\nProtocol=udp\nInternalPort=6\n"
                                               "[B6]\nProtocol=both\nInternalPort=6\n");
  g_autofree char *problems = problems_text (store);

  g_test_summary ("A profile that clashes with two earlier ones names the first of them");

  g_assert_cmpstr (problems, ==,
                   "Profile “B”: InternalPort 5 (both) is already used by profile “U” (udp)\n"
                   "Profile “B6”: InternalPort 6 (both) is already used by profile “T6” (tcp)\n");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 4);
}

/* Loads @data, which must be refused as a whole, with a message containing @expected. */
static void
assert_refused (const char *data,
                gssize      length,
                const char *expected)
{
  g_autoptr(PlProfileStore) store = pl_profile_store_new (NULL);
  g_autoptr(GError) error = NULL;

  g_assert_false (pl_profile_store_load_from_data (store, data, length, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_test_message ("%s", error->message);
  if (strstr (error->message, expected) == NULL)
    g_error ("“%s” not in “%s”", expected, error->message);
  g_assert_false (pl_profile_store_can_save (store, NULL));
  g_clear_error (&error);
  g_assert_null (pl_profile_store_to_data (store, NULL, &error));
  g_assert_nonnull (error);
}

static void
test_bare_carriage_return (void)
{
  g_test_summary ("A carriage return that does not end a line is refused with the line and "
                  "the profile: GKeyFile would keep it in the value but drop it when writing "
                  "the file back, so a save would change which profiles load");

  /* From fuzz_profiles_keyfile: [A]'s protocol reads as "tcp\r", but as "tcp" once saved,
   * when [A] would load and push [B] out as a port clash. */
  assert_refused ("[A]\nProtocol=tcp\r\r\nInternalPort=22\n[B]\nProtocol=tcp\nInternalPort=22\n",
                  -1, "line 2 (in profile “A”) has a carriage return that does not end the line");
  assert_refused ("[A]\r\nProtocol=tcp\r\r\n[SH]", -1,
                  "line 2 (in profile “A”) has a carriage return");
  assert_refused ("# old\rMac\n[A]\nProtocol=tcp\nInternalPort=22\n", -1,
                  "line 1 has a carriage return that does not end the line");
  assert_refused ("[A]\rProtocol=tcp\rInternalPort=22\r", -1, "line 1 (in profile “A”)");
  assert_refused ("[A]\nProtocol=t\rcp\nInternalPort=22\n", -1, "line 2 (in profile “A”)");
  assert_refused ("[A]\nProtocol=tcp\nInternalPort=22\n[B\rC]\n", -1,
                  "line 4 has a carriage return");
  assert_refused ("[A]\r\r\nProtocol=tcp\nInternalPort=22\n", -1, "line 1 (in profile “A”)");
  /* A Windows file cut between CR and LF. */
  assert_refused ("[A]\r\nProtocol=tcp\r\nInternalPort=22\r", -1, "line 3 (in profile “A”)");

  /* Windows line ends, with or without the last one, are line ends. */
  {
    g_autoptr(PlProfileStore) store = load_data ("[A]\r\nProtocol=tcp\r\nInternalPort=22\r\n"
                                                 "\r\n[B]\r\nProtocol=udp\r\nInternalPort=22");
    g_autofree char *problems = problems_text (store);

    g_assert_cmpstr (problems, ==, "");
    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 2);
  }
}

static void
test_byte_order_mark (void)
{
  static const char text[] = "# Profile\n\n[Café]\nProtocol=tcp\nInternalPort=8080\n";
  g_autofree char *with_bom = g_strconcat ("\xef\xbb\xbf", text, NULL);
  g_autoptr(PlProfileStore) store = load_data (with_bom);
  g_autofree char *problems = problems_text (store);
  g_autofree char *saved = NULL;
  g_autofree char *two_boms = g_strconcat ("\xef\xbb\xbf\xef\xbb\xbf", text, NULL);
  g_autofree char *path = default_path ();

  g_test_summary ("A UTF-8 byte order mark at the start of the file is ignored, and a save "
                  "writes the file without it and otherwise unchanged");

  g_assert_cmpstr (problems, ==, "");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 1);
  g_assert_cmpstr (item_name (store, 0), ==, "Café");
  saved = pl_profile_store_to_data (store, NULL, NULL);
  g_assert_cmpstr (saved, ==, text);

  /* Only one, and only at the start. */
  assert_refused (two_boms, -1, "");
  assert_refused ("[A]\nProtocol=tcp\nInternalPort=1\n\xef\xbb\xbf[B]\n", -1, "");

  /* From a file, saved after a change. */
  {
    g_autoptr(PlProfileStore) from_file = pl_profile_store_new (path);
    g_autoptr(GError) error = NULL;
    g_autofree char *written = NULL;

    write_file (path, with_bom, -1);
    pl_profile_store_load (from_file, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (pl_profile_store_set_enabled (from_file, "Café", FALSE, &error));
    pl_profile_store_save (from_file, NULL, &error);
    g_assert_no_error (error);
    written = read_text (path);
    g_assert_cmpstr (written, ==,
                     "# Profile\n\n[Café]\nProtocol=tcp\nInternalPort=8080\nEnabled=false\n");
  }
}

#define PROFILES_FILE_LIMIT (1024 * 1024)  /* MAX_FILE_SIZE in pl-profile-store.c */

/* A file of exactly @size bytes: one profile, then comments. */
static char *
file_of_size (gsize size)
{
  GString *text = g_string_new ("[SSH]\nProtocol=tcp\nInternalPort=22\n");

  while (text->len + 80 < size)
    g_string_append (text, "# padding padding padding padding padding padding padding padding\n");
  g_string_append (text, "#");
  while (text->len + 1 < size)
    g_string_append_c (text, '.');
  g_string_append_c (text, '\n');
  g_assert_cmpuint (text->len, ==, size);
  return g_string_free (text, FALSE);
}

static void
test_too_large (void)
{
  g_autofree char *path = default_path ();
  g_autofree char *at_limit = file_of_size (PROFILES_FILE_LIMIT);
  g_autofree char *over_limit = file_of_size (PROFILES_FILE_LIMIT + 1);

  g_test_summary ("A profiles file over 1 MiB is refused with an error naming it and its "
                  "size, and never overwritten; a save that would write more fails");

  /* The limit itself loads. */
  {
    g_autoptr(PlProfileStore) store = load_data (at_limit);

    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 1);
  }
  assert_refused (over_limit, -1, "(1048577 bytes), more than the 1.0\u00a0MiB a profiles "
                                  "file may have");

  /* From a file (not read whole), then as it grows on disk: never written over. */
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(PlProfileStore) store = pl_profile_store_new (path);
      g_autoptr(PlProfile) web = make_profile ("Web", PL_PROFILE_PROTOCOL_TCP, 80, 0);
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) before = NULL;
      g_autoptr(GBytes) after = NULL;
      g_autoptr(GString) huge = g_string_new (over_limit);

      if (i == 1)
        while (huge->len < 20 * PROFILES_FILE_LIMIT)
          g_string_append (huge, "# more\n");
      write_file (path, huge->str, (gssize) huge->len);
      before = read_bytes (path);

      g_assert_false (pl_profile_store_load (store, NULL, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_nonnull (strstr (error->message, i == 0 ? "it is 1.0\u00a0MiB (1048577 bytes)"
                                                       : "it is 20.0\u00a0MiB"));
      g_clear_error (&error);
      g_assert_cmpuint (pl_profile_store_get_problems (store)->len, ==, 1);
      g_assert_false (pl_profile_store_add (store, web, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_clear_error (&error);
      g_assert_false (pl_profile_store_save (store, NULL, &error));
      g_assert_nonnull (error);
      after = read_bytes (path);
      g_assert_true (g_bytes_equal (before, after));
    }

  /* Growing past the limit in memory: the save fails, the file and the changes stay. */
  {
    g_autoptr(PlProfileStore) store = pl_profile_store_new (path);
    g_autoptr(PlProfileStore) again = pl_profile_store_new (path);
    g_autoptr(PlProfile) big = make_profile ("Big", PL_PROFILE_PROTOCOL_UDP, 9, 0);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) before = NULL;
    g_autoptr(GBytes) after = NULL;
    g_autofree char *description = g_strnfill (PROFILES_FILE_LIMIT, 'x');

    write_file (path, "[SSH]\nProtocol=tcp\nInternalPort=22\n", -1);
    pl_profile_store_load (store, NULL, &error);
    g_assert_no_error (error);
    before = read_bytes (path);

    pl_profile_set_description (big, description);
    g_assert_true (pl_profile_store_add (store, big, &error));
    g_assert_false (pl_profile_store_save (store, NULL, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, path));
    g_clear_error (&error);
    g_assert_null (pl_profile_store_to_data (store, NULL, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
    g_clear_error (&error);
    after = read_bytes (path);
    g_assert_true (g_bytes_equal (before, after));
    g_assert_nonnull (pl_profile_store_lookup (store, "Big"));

    /* Once it fits again, it saves. */
    g_assert_true (pl_profile_store_remove (store, "Big", &error));
    pl_profile_store_save (store, NULL, &error);
    g_assert_no_error (error);
    pl_profile_store_load (again, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (again)), ==, 1);
  }
}

static void
test_add_refused (void)
{
  g_autoptr(PlProfileStore) store = load_data ("[SSH]\n"
                                               "Protocol=tcp\n"
                                               "InternalPort=22\n"
                                               "[Broken]\n"
                                               "Protocol=tcp\n"
                                               "InternalPort=0\n");
  static const struct
  {
    const char        *name;
    PlProfileProtocol  protocol;
    guint              internal_port;
    gboolean           pl_error;
    int                code;
    const char        *message;
  } cases[] = {
    { "SSH", PL_PROFILE_PROTOCOL_UDP, 53, 0, G_IO_ERROR_EXISTS,
      "A profile named “SSH” already exists" },
    { "Broken", PL_PROFILE_PROTOCOL_UDP, 53, 0, G_IO_ERROR_EXISTS,
      "A profile named “Broken” already exists" },
    { "SSH 2", PL_PROFILE_PROTOCOL_TCP, 22, 0, G_IO_ERROR_EXISTS,
      "Profile “SSH 2”: InternalPort 22 (tcp) is already used by profile “SSH” (tcp)" },
    { "SSH 2", PL_PROFILE_PROTOCOL_BOTH, 22, 0, G_IO_ERROR_EXISTS,
      "Profile “SSH 2”: InternalPort 22 (both) is already used by profile “SSH” (tcp)" },
    { "SSH 2", PL_PROFILE_PROTOCOL_TCP, 0, 1, PL_ERROR_INVALID_ARGUMENT,
      "Profile “SSH 2”: InternalPort “0” is not a port number (1-65535)" },
    { "", PL_PROFILE_PROTOCOL_TCP, 23, 1, PL_ERROR_INVALID_ARGUMENT,
      "A profile name cannot be empty" },
    { "a]b", PL_PROFILE_PROTOCOL_TCP, 23, 1, PL_ERROR_INVALID_ARGUMENT,
      "Profile name “a]b” contains “[” or “]”" },
  };
  Recorder recorder;

  recorder_init (&recorder, store);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(PlProfile) profile = make_profile (cases[i].name, cases[i].protocol,
                                                   cases[i].internal_port, 0);
      g_autoptr(GError) error = NULL;
      GQuark domain = cases[i].pl_error ? PL_ERROR : G_IO_ERROR;

      g_assert_false (pl_profile_store_add (store, profile, &error));
      g_assert_error (error, domain, cases[i].code);
      g_assert_cmpstr (error->message, ==, cases[i].message);
    }

  g_assert_cmpuint (recorder.changes->len, ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 1);

  /* UDP on the same port is fine. */
  add_profile (store, "SSH over UDP", PL_PROFILE_PROTOCOL_UDP, 22, 0);
  g_assert_cmpuint (recorder.changes->len, ==, 1);
  assert_change (&recorder, 0, 1, 0, 1);

  recorder_clear (&recorder);
}

static void
test_remove (void)
{
  g_autoptr(PlProfileStore) store = load_data ("[A]\nProtocol=tcp\nInternalPort=1\n\n"
                                               "[Bad]\nProtocol=tcp\nInternalPort=x\n\n"
                                               "[B]\nProtocol=tcp\nInternalPort=2\n\n"
                                               "[C]\nProtocol=tcp\nInternalPort=3\n");
  g_autoptr(GError) error = NULL;
  g_autofree char *saved = NULL;
  Recorder recorder;

  recorder_init (&recorder, store);

  g_assert_true (pl_profile_store_remove (store, "B", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (recorder.changes->len, ==, 1);
  assert_change (&recorder, 0, 1, 1, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 2);
  g_assert_cmpstr (item_name (store, 1), ==, "C");
  g_assert_false (pl_profile_store_has_name (store, "B"));

  g_assert_false (pl_profile_store_remove (store, "B", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "No profile named “B”");
  g_clear_error (&error);

  /* A group that could not be loaded can be removed, and its problems go with it. */
  g_assert_cmpuint (pl_profile_store_get_problems (store)->len, ==, 1);
  g_assert_true (pl_profile_store_remove (store, "Bad", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pl_profile_store_get_problems (store)->len, ==, 0);
  g_assert_cmpuint (recorder.changes->len, ==, 1);

  saved = pl_profile_store_to_data (store, NULL, NULL);
  g_assert_cmpstr (saved, ==,
                   "[A]\nProtocol=tcp\nInternalPort=1\n\n"
                   "[C]\nProtocol=tcp\nInternalPort=3\n");
  recorder_clear (&recorder);
}

static void
test_replace (void)
{
  g_autoptr(PlProfileStore) store = load_data ("# top\n\n"
                                               "[A]\nProtocol=tcp\nInternalPort=1\n"
                                               "# about B\n\n"
                                               "[B]\n"
                                               "# the protocol\n"
                                               "Protocol=tcp\nInternalPort=2\nX-Keep=yes\n\n"
                                               "[C]\nProtocol=udp\nInternalPort=3\n\n"
                                               "[Bad]\nProtocol=tcp\n");
  g_autoptr(GHashTable) counts = g_hash_table_new (NULL, NULL);
  g_autoptr(PlProfile) edit = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *saved = NULL;
  PlProfile *b = pl_profile_store_lookup (store, "B");
  gulong handler;
  Recorder recorder;

  recorder_init (&recorder, store);
  handler = g_signal_connect_swapped (b, "notify", G_CALLBACK (g_hash_table_add), counts);

  /* Rename and change: same object, same place, comments and other keys kept. */
  edit = pl_profile_copy (b);
  pl_profile_set_name (edit, "Bee");
  pl_profile_set_protocol (edit, PL_PROFILE_PROTOCOL_BOTH);
  pl_profile_set_internal_port (edit, 20);
  pl_profile_set_lifetime (edit, 60);
  g_assert_true (pl_profile_store_replace (store, "B", edit, &error));
  g_assert_no_error (error);
  g_assert_true (pl_profile_store_lookup (store, "Bee") == b);
  g_assert_null (pl_profile_store_lookup (store, "B"));
  g_assert_true (item (store, 1) == b);
  g_assert_true (pl_profile_equal (b, edit));
  g_assert_true (edit != b);
  g_assert_cmpuint (g_hash_table_size (counts), ==, 4);  /* 4 pspecs: the changed values */
  g_assert_cmpuint (recorder.changes->len, ==, 0);

  saved = pl_profile_store_to_data (store, NULL, NULL);
  g_assert_cmpstr (saved, ==,
                   "# top\n\n"
                   "[A]\nProtocol=tcp\nInternalPort=1\n"
                   "# about B\n\n"
                   "[Bee]\n"
                   "# the protocol\n"
                   "Protocol=both\nInternalPort=20\nX-Keep=yes\n"
                   "ExternalPort=0\nLifetime=60\nEnabled=true\n\n"
                   "[C]\nProtocol=udp\nInternalPort=3\n\n"
                   "[Bad]\nProtocol=tcp\n");

  /* Keeping its own port is not a clash. */
  pl_profile_set_description (edit, "Same port");
  g_assert_true (pl_profile_store_replace (store, "Bee", edit, &error));
  g_assert_no_error (error);

  /* Refusals leave everything as it was. */
  pl_profile_set_name (edit, "A");
  g_assert_false (pl_profile_store_replace (store, "Bee", edit, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_assert_cmpstr (error->message, ==, "A profile named “A” already exists");
  g_clear_error (&error);

  pl_profile_set_name (edit, "Bad");
  g_assert_false (pl_profile_store_replace (store, "Bee", edit, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);

  pl_profile_set_name (edit, "Bee");
  pl_profile_set_internal_port (edit, 3);
  g_assert_false (pl_profile_store_replace (store, "Bee", edit, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_assert_cmpstr (error->message, ==,
                   "Profile “Bee”: InternalPort 3 (both) is already used by profile “C” (udp)");
  g_clear_error (&error);

  pl_profile_set_internal_port (edit, 70000);
  g_assert_false (pl_profile_store_replace (store, "Bee", edit, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==,
                   "Profile “Bee”: InternalPort “70000” is not a port number (1-65535)");
  g_clear_error (&error);

  g_assert_false (pl_profile_store_replace (store, "Nope", edit, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_false (pl_profile_store_replace (store, "Bad", edit, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);

  g_assert_cmpuint (pl_profile_get_internal_port (b), ==, 20);
  g_assert_cmpstr (pl_profile_get_name (b), ==, "Bee");

  g_signal_handler_disconnect (b, handler);
  recorder_clear (&recorder);
}

static void
test_set_enabled (void)
{
  g_autoptr(PlProfileStore) store = load_data ("[A]\nProtocol=tcp\nInternalPort=1\n"
                                               "[Bad]\nProtocol=tcp\n");
  g_autoptr(GHashTable) counts = g_hash_table_new (NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *saved = NULL;
  PlProfile *a = pl_profile_store_lookup (store, "A");

  g_signal_connect_swapped (a, "notify::enabled", G_CALLBACK (g_hash_table_add), counts);

  g_assert_true (pl_profile_store_set_enabled (store, "A", FALSE, &error));
  g_assert_no_error (error);
  g_assert_false (pl_profile_get_enabled (a));
  g_assert_cmpuint (g_hash_table_size (counts), ==, 1);
  saved = pl_profile_store_to_data (store, NULL, NULL);
  g_assert_true (g_str_has_prefix (saved, "[A]\nProtocol=tcp\nInternalPort=1\nEnabled=false\n"));

  g_assert_true (pl_profile_store_set_enabled (store, "A", TRUE, &error));
  g_assert_true (pl_profile_get_enabled (a));

  g_assert_false (pl_profile_store_set_enabled (store, "Nope", TRUE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (pl_profile_store_set_enabled (store, "Bad", TRUE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "“Bad”"));
}

static void
test_reload_items_changed (void)
{
  g_autoptr(PlProfileStore) store = load_data ("[A]\nProtocol=tcp\nInternalPort=1\n"
                                               "[B]\nProtocol=tcp\nInternalPort=2\n"
                                               "[C]\nProtocol=tcp\nInternalPort=3\n");
  PlProfile *a = pl_profile_store_lookup (store, "A");
  PlProfile *c = pl_profile_store_lookup (store, "C");
  g_autoptr(GHashTable) counts = g_hash_table_new (NULL, NULL);
  Recorder recorder;

  recorder_init (&recorder, store);
  g_signal_connect_swapped (c, "notify", G_CALLBACK (g_hash_table_add), counts);

  /* B goes. */
  g_assert_true (pl_profile_store_load_from_data (store,
                                                  "[A]\nProtocol=tcp\nInternalPort=1\n"
                                                  "[C]\nProtocol=tcp\nInternalPort=3\n",
                                                  -1, NULL));
  g_assert_cmpuint (recorder.changes->len, ==, 1);
  assert_change (&recorder, 0, 1, 1, 0);

  /* X comes, C changes in place. */
  g_assert_true (pl_profile_store_load_from_data (store,
                                                  "[A]\nProtocol=tcp\nInternalPort=1\n"
                                                  "[X]\nProtocol=tcp\nInternalPort=9\n"
                                                  "[C]\nProtocol=tcp\nInternalPort=30\n",
                                                  -1, NULL));
  g_assert_cmpuint (recorder.changes->len, ==, 2);
  assert_change (&recorder, 1, 1, 0, 1);
  g_assert_true (pl_profile_store_lookup (store, "A") == a);
  g_assert_true (pl_profile_store_lookup (store, "C") == c);
  g_assert_cmpuint (pl_profile_get_internal_port (c), ==, 30);
  g_assert_cmpuint (g_hash_table_size (counts), ==, 1);

  /* Nothing changes: no items-changed, but reloaded. */
  g_assert_true (pl_profile_store_load_from_data (store,
                                                  "[A]\nProtocol=tcp\nInternalPort=1\n"
                                                  "[X]\nProtocol=tcp\nInternalPort=9\n"
                                                  "[C]\nProtocol=tcp\nInternalPort=30\n",
                                                  -1, NULL));
  g_assert_cmpuint (recorder.changes->len, ==, 2);
  g_assert_cmpuint (recorder.reloaded, ==, 3);

  /* Everything goes. */
  g_assert_true (pl_profile_store_load_from_data (store, "", -1, NULL));
  assert_change (&recorder, 2, 0, 3, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 0);

  recorder_clear (&recorder);
}

static void
test_file_mode (void)
{
  g_autoptr(PlProfileStore) store = pl_profile_store_new (NULL);
  g_autofree char *path = default_path ();
  g_autoptr(GError) error = NULL;

  write_file (path, "[A]\nProtocol=tcp\nInternalPort=1\n", -1);
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  g_assert_cmpuint (file_mode (path), ==, 0644);

  g_assert_true (pl_profile_store_load (store, NULL, &error));
  g_assert_no_error (error);
  add_profile (store, "B", PL_PROFILE_PROTOCOL_TCP, 2, 0);
  g_assert_true (pl_profile_store_save (store, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (file_mode (path), ==, 0600);
}

static void
test_explicit_path (void)
{
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "a", "b", NULL);
  g_autofree char *path = g_build_filename (dir, "mine.ini", NULL);
  g_autoptr(PlProfileStore) store = pl_profile_store_new (path);
  g_autoptr(PlProfileStore) again = pl_profile_store_new (path);
  g_autofree char *default_file = default_path ();
  g_autoptr(GError) error = NULL;

  g_assert_true (pl_profile_store_load (store, NULL, &error));
  g_assert_no_error (error);
  add_profile (store, "SSH", PL_PROFILE_PROTOCOL_TCP, 22, 0);
  g_assert_true (pl_profile_store_save (store, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (file_mode (dir), ==, 0700);
  g_assert_cmpuint (file_mode (path), ==, 0600);
  g_assert_false (g_file_test (default_file, G_FILE_TEST_EXISTS));

  g_assert_true (pl_profile_store_load (again, NULL, &error));
  g_assert_no_error (error);
  g_assert_nonnull (pl_profile_store_lookup (again, "SSH"));
}

static void
test_changed_on_disk (void)
{
  g_autoptr(PlProfileStore) store = pl_profile_store_new (NULL);
  g_autofree char *path = default_path ();
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  write_file (path, "[A]\nProtocol=tcp\nInternalPort=1\n", -1);
  g_assert_true (pl_profile_store_load (store, NULL, &error));
  g_assert_no_error (error);

  /* Someone edits the file before we save: their edit wins until we load again. */
  write_file (path, "[A]\nProtocol=tcp\nInternalPort=1\n[Hand]\nProtocol=udp\nInternalPort=9\n", -1);
  add_profile (store, "B", PL_PROFILE_PROTOCOL_TCP, 2, 0);
  g_assert_false (pl_profile_store_save (store, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WRONG_ETAG);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  text = read_text (path);
  g_assert_nonnull (strstr (text, "[Hand]"));

  g_assert_true (pl_profile_store_load (store, NULL, &error));
  g_assert_no_error (error);
  add_profile (store, "B", PL_PROFILE_PROTOCOL_TCP, 2, 0);
  g_assert_true (pl_profile_store_save (store, NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&text, g_free);
  text = read_text (path);
  g_assert_nonnull (strstr (text, "[Hand]"));
  g_assert_nonnull (strstr (text, "[B]"));
}

static void
test_watch_reload (void)
{
  g_autoptr(PlProfileStore) store = pl_profile_store_new (NULL);
  g_autofree char *path = default_path ();
  g_autoptr(GError) error = NULL;
  gboolean watching = FALSE;
  PlProfile *a;
  Recorder recorder;

  write_file (path, "[A]\nProtocol=tcp\nInternalPort=1\n", -1);
  g_assert_true (pl_profile_store_load (store, NULL, &error));
  g_assert_no_error (error);
  a = pl_profile_store_lookup (store, "A");

  recorder_init (&recorder, store);
  pl_profile_store_set_watching (store, TRUE);
  g_object_get (store, "watching", &watching, NULL);
  g_assert_true (watching);

  /* Edited by hand (or by portlightctl): atomically replaced. */
  write_file (path,
              "[A]\nProtocol=tcp\nInternalPort=1\nEnabled=false\n"
              "[B]\nProtocol=udp\nInternalPort=2\n",
              -1);
  wait_for (&recorder.changes->len, 1);
  assert_change (&recorder, 0, 1, 0, 1);
  g_assert_cmpuint (recorder.reloaded, ==, 1);
  g_assert_true (pl_profile_store_lookup (store, "A") == a);
  g_assert_false (pl_profile_get_enabled (a));
  g_assert_cmpstr (item_name (store, 1), ==, "B");

  /* A bad value in a later edit is reported; the rest follows. */
  write_file (path,
              "[A]\nProtocol=tcp\nInternalPort=1\n"
              "[B]\nProtocol=udp\nInternalPort=99999\n",
              -1);
  wait_for (&recorder.reloaded, 2);
  g_assert_cmpuint (recorder.changes->len, ==, 2);
  assert_change (&recorder, 1, 1, 1, 0);
  g_assert_cmpuint (pl_profile_store_get_problems (store)->len, ==, 1);
  g_assert_true (pl_profile_get_enabled (a));

  /* Written in place, not atomically. */
  {
    FILE *f = g_fopen (path, "w");

    g_assert_nonnull (f);
    fputs ("[C]\nProtocol=tcp\nInternalPort=3\n", f);
    fclose (f);
  }
  wait_for (&recorder.reloaded, 3);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 1);
  g_assert_cmpstr (item_name (store, 0), ==, "C");

  /* Deleted: no profiles. */
  g_assert_cmpint (g_unlink (path), ==, 0);
  wait_for (&recorder.reloaded, 4);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 0);
  g_assert_true (pl_profile_store_can_save (store, NULL));

  pl_profile_store_set_watching (store, FALSE);
  g_assert_false (pl_profile_store_get_watching (store));
  recorder_clear (&recorder);
}

static void
test_watch_ignores_own_writes (void)
{
  g_autoptr(PlProfileStore) store = pl_profile_store_new (NULL);
  g_autoptr(PlProfileStore) other = pl_profile_store_new (NULL);
  g_autoptr(GError) error = NULL;
  Recorder recorder;

  g_assert_true (pl_profile_store_load (store, NULL, &error));
  g_assert_no_error (error);
  add_profile (store, "A", PL_PROFILE_PROTOCOL_TCP, 1, 0);
  g_assert_true (pl_profile_store_save (store, NULL, &error));
  g_assert_no_error (error);

  recorder_init (&recorder, store);
  pl_profile_store_set_watching (store, TRUE);

  for (guint i = 0; i < 3; i++)
    {
      g_assert_true (pl_profile_store_set_enabled (store, "A", i % 2 == 0 ? FALSE : TRUE, NULL));
      g_assert_true (pl_profile_store_save (store, NULL, &error));
      g_assert_no_error (error);
    }
  spin (800);
  g_assert_cmpuint (recorder.reloaded, ==, 0);

  /* Another store (the CLI) writes: that one is picked up. */
  g_assert_true (pl_profile_store_load (other, NULL, &error));
  g_assert_no_error (error);
  add_profile (other, "B", PL_PROFILE_PROTOCOL_TCP, 2, 0);
  g_assert_true (pl_profile_store_save (other, NULL, &error));
  g_assert_no_error (error);
  wait_for (&recorder.reloaded, 1);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 2);

  /* And our next save is based on it. */
  add_profile (store, "C", PL_PROFILE_PROTOCOL_TCP, 3, 0);
  g_assert_true (pl_profile_store_save (store, NULL, &error));
  g_assert_no_error (error);

  recorder_clear (&recorder);
}

static void
test_watch_corrupt_then_fixed (void)
{
  g_autoptr(PlProfileStore) store = pl_profile_store_new (NULL);
  g_autofree char *path = default_path ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) garbage = NULL;
  g_autoptr(GBytes) after = NULL;
  Recorder recorder;

  write_file (path, "[A]\nProtocol=tcp\nInternalPort=1\n", -1);
  g_assert_true (pl_profile_store_load (store, NULL, &error));
  g_assert_no_error (error);
  recorder_init (&recorder, store);
  pl_profile_store_set_watching (store, TRUE);

  write_file (path, "[A]\nProtocol=tcp\nhalf-written line", -1);
  garbage = read_bytes (path);
  wait_for (&recorder.reloaded, 1);

  /* The profiles stay (mappings keep running); saving is refused and the file kept. */
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 1);
  g_assert_cmpuint (recorder.changes->len, ==, 0);
  g_assert_false (pl_profile_store_can_save (store, NULL));
  g_assert_false (pl_profile_store_save (store, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  after = read_bytes (path);
  g_assert_true (g_bytes_equal (garbage, after));

  write_file (path, "[A]\nProtocol=tcp\nInternalPort=1\n[B]\nProtocol=tcp\nInternalPort=2\n", -1);
  wait_for (&recorder.reloaded, 2);
  g_assert_true (pl_profile_store_can_save (store, NULL));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 2);
  g_assert_cmpuint (pl_profile_store_get_problems (store)->len, ==, 0);

  recorder_clear (&recorder);
}

int
main (int   argc,
      char *argv[])
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/pl/profile-store/default-path", test_default_path);
  g_test_add_func ("/pl/profile-store/missing-file", test_missing_file);
  g_test_add_func ("/pl/profile-store/round-trip", test_round_trip);
  g_test_add_func ("/pl/profile-store/example-file", test_example_file);
  g_test_add_func ("/pl/profile-store/bad-values", test_bad_values);
  g_test_add_func ("/pl/profile-store/bad-values-file", test_bad_values_file);
  g_test_add_func ("/pl/profile-store/missing-keys", test_missing_keys);
  g_test_add_func ("/pl/profile-store/bad-names", test_bad_names);
  g_test_add_func ("/pl/profile-store/unknown-kept", test_unknown_kept);
  g_test_add_func ("/pl/profile-store/comments-kept", test_comments_kept);
  g_test_add_func ("/pl/profile-store/unparsable", test_unparsable);
  g_test_add_func ("/pl/profile-store/unparsable-from-data", test_unparsable_from_data);
  g_test_add_func ("/pl/profile-store/unreadable", test_unreadable);
  g_test_add_func ("/pl/profile-store/duplicate-names", test_duplicate_names);
  g_test_add_func ("/pl/profile-store/duplicate-keys", test_duplicate_keys);
  g_test_add_func ("/pl/profile-store/port-clash-at-load", test_port_clash_at_load);
  g_test_add_func ("/pl/profile-store/port-clash-names-earliest", test_port_clash_names_earliest);
  g_test_add_func ("/pl/profile-store/bare-carriage-return", test_bare_carriage_return);
  g_test_add_func ("/pl/profile-store/byte-order-mark", test_byte_order_mark);
  g_test_add_func ("/pl/profile-store/too-large", test_too_large);
  g_test_add_func ("/pl/profile-store/add-refused", test_add_refused);
  g_test_add_func ("/pl/profile-store/remove", test_remove);
  g_test_add_func ("/pl/profile-store/replace", test_replace);
  g_test_add_func ("/pl/profile-store/set-enabled", test_set_enabled);
  g_test_add_func ("/pl/profile-store/reload-items-changed", test_reload_items_changed);
  g_test_add_func ("/pl/profile-store/file-mode", test_file_mode);
  g_test_add_func ("/pl/profile-store/explicit-path", test_explicit_path);
  g_test_add_func ("/pl/profile-store/changed-on-disk", test_changed_on_disk);
  g_test_add_func ("/pl/profile-store/watch/reload", test_watch_reload);
  g_test_add_func ("/pl/profile-store/watch/ignores-own-writes", test_watch_ignores_own_writes);
  g_test_add_func ("/pl/profile-store/watch/corrupt-then-fixed", test_watch_corrupt_then_fixed);

  return g_test_run ();
}
