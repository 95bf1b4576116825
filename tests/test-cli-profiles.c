/* test-cli-profiles.c: `portlightctl profiles …` end to end, through GSubprocess
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <locale.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "pl-core.h"

#define EXIT_USAGE         2
#define EXIT_PROFILE_ERROR 6

typedef struct
{
  int   status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *run)
{
  g_clear_pointer (&run->out, g_free);
  g_clear_pointer (&run->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

static char *
default_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "portlight", "profiles.ini", NULL);
}

/* Runs `portlightctl profiles ARGS…` (NULL-terminated) with the test's XDG_CONFIG_HOME. */
static void
run_argv (Run                *run,
          const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  const char *portlightctl = g_getenv ("PORTLIGHTCTL");

  g_assert_nonnull (portlightctl);

  g_ptr_array_add (argv, (gpointer) portlightctl);
  g_ptr_array_add (argv, (gpointer) "profiles");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  /* G_TEST_OPTION_ISOLATE_DIRS changes g_get_user_config_dir() for this process only. */
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", g_get_user_config_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", g_get_home_dir (), TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);

  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &run->out, &run->err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  run->status = g_subprocess_get_exit_status (process);

  g_test_message ("portlightctl profiles …: %d\nstdout: %s\nstderr: %s",
                  run->status, run->out, run->err);
}

#define RUN(run, ...) \
  G_STMT_START { \
    const char * const _args[] = { __VA_ARGS__, NULL }; \
    run_clear (run); \
    run_argv (run, _args); \
  } G_STMT_END

static JsonNode *
parse_json (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  g_assert_nonnull (json_parser_get_root (parser));
  return json_node_copy (json_parser_get_root (parser));
}

static void
assert_json_profile (JsonObject *object,
                     const char *name,
                     const char *protocol,
                     const char *family,
                     gint64      public_port,
                     gint64      private_port,
                     gint64      lifetime,
                     gboolean    enabled,
                     const char *description)
{
  g_assert_cmpstr (json_object_get_string_member (object, "name"), ==, name);
  g_assert_cmpstr (json_object_get_string_member (object, "protocol"), ==, protocol);
  g_assert_cmpstr (json_object_get_string_member (object, "family"), ==, family);
  g_assert_cmpint (json_object_get_int_member (object, "public_port"), ==, public_port);
  g_assert_cmpint (json_object_get_int_member (object, "private_port"), ==, private_port);
  g_assert_cmpint (json_object_get_int_member (object, "lifetime"), ==, lifetime);
  g_assert_cmpint (json_object_get_boolean_member (object, "enabled"), ==, enabled);
  if (description == NULL)
    g_assert_true (json_object_get_null_member (object, "description"));
  else
    g_assert_cmpstr (json_object_get_string_member (object, "description"), ==, description);
}

/* The error object printed with --json. */
static void
assert_json_error (const char *out,
                   const char *code)
{
  g_autoptr(JsonNode) root = parse_json (out);
  JsonObject *error = json_object_get_object_member (json_node_get_object (root), "error");

  g_assert_nonnull (error);
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, code);
  g_assert_nonnull (json_object_get_string_member (error, "message"));
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

static char *
read_text (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

/* Tests */

static void
test_empty (void)
{
  g_auto(Run) run = { 0 };
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *path = default_path ();
  JsonObject *object;

  RUN (&run, "list");
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "No profiles"));
  g_assert_cmpstr (run.err, ==, "");
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  /* No command lists too. */
  RUN (&run, "--json");
  g_assert_cmpint (run.status, ==, 0);
  root = parse_json (run.out);
  object = json_node_get_object (root);
  g_assert_cmpstr (json_object_get_string_member (object, "file"), ==, path);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (object, "profiles")),
                    ==, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (object, "problems")),
                    ==, 0);
}

static void
test_add_list_show (void)
{
  g_auto(Run) run = { 0 };
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonNode) show = NULL;
  g_autoptr(PlProfileStore) store = pl_profile_store_new (NULL);
  g_autofree char *path = default_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  JsonArray *profiles;
  GStatBuf st;

  RUN (&run, "add", "SSH", "-l", "3600", "-d", "Shell access", "2222", "22");
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "SSH"));
  RUN (&run, "add", "Game", "-u", "--disabled", "0", "27015");
  g_assert_cmpint (run.status, ==, 0);
  RUN (&run, "add", "Web", "--both", "80", "8080");
  g_assert_cmpint (run.status, ==, 0);
  RUN (&run, "add", "DNS", "-u", "-t", "--json", "53", "5353");
  g_assert_cmpint (run.status, ==, 0);
  root = parse_json (run.out);
  assert_json_profile (json_node_get_object (root), "DNS", "both", "both", 53, 5353, 7200, TRUE,
                       NULL);
  g_clear_pointer (&root, json_node_unref);

  /* The file is private, in a private directory, and the store reads it. */
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 0777, ==, 0700);
  g_assert_true (pl_profile_store_load (store, NULL, NULL));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, 4);

  RUN (&run, "list", "--json");
  g_assert_cmpint (run.status, ==, 0);
  root = parse_json (run.out);
  profiles = json_object_get_array_member (json_node_get_object (root), "profiles");
  g_assert_cmpuint (json_array_get_length (profiles), ==, 4);
  assert_json_profile (json_array_get_object_element (profiles, 0),
                       "SSH", "tcp", "both", 2222, 22, 3600, TRUE, "Shell access");
  assert_json_profile (json_array_get_object_element (profiles, 1),
                       "Game", "udp", "both", 0, 27015, 7200, FALSE, NULL);
  assert_json_profile (json_array_get_object_element (profiles, 2),
                       "Web", "both", "both", 80, 8080, 7200, TRUE, NULL);

  RUN (&run, "list");
  g_assert_cmpint (run.status, ==, 0);
  g_assert_true (g_str_has_prefix (run.out, "NAME"));
  g_assert_nonnull (strstr (run.out, "Shell access"));
  g_assert_nonnull (strstr (run.out, "27015"));

  RUN (&run, "show", "Web", "--json");
  g_assert_cmpint (run.status, ==, 0);
  show = parse_json (run.out);
  assert_json_profile (json_node_get_object (show), "Web", "both", "both", 80, 8080, 7200, TRUE,
                       NULL);

  RUN (&run, "show", "SSH");
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "2222"));
  g_assert_nonnull (strstr (run.out, "Shell access"));
}

static void
test_edit (void)
{
  g_auto(Run) run = { 0 };
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *path = default_path ();
  g_autofree char *text = NULL;

  write_file (path,
              "# kept\n"
              "\n"
              "[SSH]\n"
              "Protocol=tcp\n"
              "InternalPort=22\n"
              "Description=Shell\n"
              "X-Mine=kept too\n"
              "\n"
              "[Web]\n"
              "Protocol=tcp\n"
              "InternalPort=80\n",
              -1);

  RUN (&run, "edit", "SSH", "--name", "Shell", "--private-port", "2200", "--public-port", "0",
       "-u", "-l", "600", "-d", "", "--disabled", "--json");
  g_assert_cmpint (run.status, ==, 0);
  root = parse_json (run.out);
  assert_json_profile (json_node_get_object (root), "Shell", "udp", "both", 0, 2200, 600, FALSE,
                       NULL);

  text = read_text (path);
  g_assert_cmpstr (text, ==,
                   "# kept\n"
                   "\n"
                   "[Shell]\n"
                   "Protocol=udp\n"
                   "InternalPort=2200\n"
                   "X-Mine=kept too\n"
                   "ExternalPort=0\n"
                   "Lifetime=600\n"
                   "Enabled=false\n"
                   "\n"
                   "[Web]\n"
                   "Protocol=tcp\n"
                   "InternalPort=80\n");

  /* Only what is given changes. */
  RUN (&run, "edit", "Web", "--both");
  g_assert_cmpint (run.status, ==, 0);
  RUN (&run, "show", "Web", "--json");
  g_clear_pointer (&root, json_node_unref);
  root = parse_json (run.out);
  assert_json_profile (json_node_get_object (root), "Web", "both", "both", 0, 80, 7200, TRUE,
                       NULL);

  /* Refusals. */
  RUN (&run, "edit", "Web");
  g_assert_cmpint (run.status, ==, EXIT_USAGE);
  g_assert_nonnull (strstr (run.err, "Nothing to change"));
  RUN (&run, "edit", "Web", "--enabled", "--disabled");
  g_assert_cmpint (run.status, ==, EXIT_USAGE);
  RUN (&run, "edit", "Web", "--private-port", "0");
  g_assert_cmpint (run.status, ==, EXIT_USAGE);
  g_assert_nonnull (strstr (run.err,
                            "Profile “Web”: InternalPort “0” is not a port number (1-65535)"));
  RUN (&run, "edit", "Web", "--name", "Shell");
  g_assert_cmpint (run.status, ==, EXIT_PROFILE_ERROR);
  g_assert_nonnull (strstr (run.err, "A profile named “Shell” already exists"));
  RUN (&run, "edit", "Web", "--private-port", "2200", "--json");
  g_assert_cmpint (run.status, ==, EXIT_PROFILE_ERROR);
  g_assert_nonnull (strstr (run.err, "is already used by profile “Shell”"));
  assert_json_error (run.out, "exists");
  RUN (&run, "edit", "Nope", "-t");
  g_assert_cmpint (run.status, ==, EXIT_PROFILE_ERROR);
}

/* --app: add, list, show, JSON, change, clear; a bad value is refused and changes nothing. */
static void
test_app (void)
{
  g_auto(Run) run = { 0 };
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *path = default_path ();
  g_autofree char *text = NULL;
  g_autofree char *before = NULL;

  RUN (&run, "add", "Torrent", "0", "6881", "--app", "app:org.qbittorrent.qBittorrent");
  g_assert_cmpint (run.status, ==, 0);
  text = read_text (path);
  g_assert_nonnull (strstr (text, "\nApp=app:org.qbittorrent.qBittorrent\n"));
  g_clear_pointer (&text, g_free);

  RUN (&run, "list");
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "APP"));
  g_assert_nonnull (strstr (run.out, "app:org.qbittorrent.qBittorrent"));
  RUN (&run, "show", "Torrent");
  g_assert_nonnull (strstr (run.out, "App:           app:org.qbittorrent.qBittorrent (mapped "
                                     "only while it runs)"));

  RUN (&run, "edit", "Torrent", "--app", "process:qbittorrent-nox", "--json");
  g_assert_cmpint (run.status, ==, 0);
  root = parse_json (run.out);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (root), "app"), ==,
                   "process:qbittorrent-nox");

  before = read_text (path);
  RUN (&run, "edit", "Torrent", "--app", "qbittorrent-nox");
  g_assert_cmpint (run.status, ==, EXIT_USAGE);
  g_assert_nonnull (strstr (run.err, "Profile “Torrent”: App “qbittorrent-nox” does not say "
                                     "what it names: write app:ID, process:NAME or unit:NAME"));
  RUN (&run, "add", "Sync", "0", "22000", "--app", "unit:syncthing");
  g_assert_cmpint (run.status, ==, EXIT_USAGE);
  g_assert_nonnull (strstr (run.err, "is not a systemd unit name"));
  text = read_text (path);
  g_assert_cmpstr (text, ==, before);
  g_clear_pointer (&text, g_free);

  RUN (&run, "edit", "Torrent", "--app", "");
  g_assert_cmpint (run.status, ==, 0);
  text = read_text (path);
  g_assert_null (strstr (text, "App="));
  RUN (&run, "show", "Torrent", "--json");
  g_clear_pointer (&root, json_node_unref);
  root = parse_json (run.out);
  g_assert_true (json_object_get_null_member (json_node_get_object (root), "app"));
  RUN (&run, "list");
  g_assert_null (strstr (run.out, "APP"));
}

/* --network: a whole value, a name another profile knows (no look at this machine's network:
 * the lab tests naming the network one is on), list, show, JSON, clear; bad values refused. */
static void
test_network (void)
{
  g_auto(Run) run = { 0 };
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *path = default_path ();
  g_autofree char *text = NULL;
  g_autofree char *before = NULL;

  RUN (&run, "add", "SSH", "0", "22", "--network", "home; gateway=02:AA:bb:cc:dd:01");
  g_assert_cmpint (run.status, ==, 0);
  RUN (&run, "add", "Web", "0", "8080", "--network", "home");
  g_assert_cmpint (run.status, ==, 0);
  text = read_text (path);
  g_assert_nonnull (strstr (text, "InternalPort=22\nExternalPort=0\nLifetime=7200\n"
                                  "Enabled=true\nNetwork=home; gateway=02:AA:bb:cc:dd:01\n"));
  g_assert_nonnull (strstr (text, "InternalPort=8080\nExternalPort=0\nLifetime=7200\n"
                                  "Enabled=true\nNetwork=home; gateway=02:AA:bb:cc:dd:01\n"));
  g_clear_pointer (&text, g_free);

  RUN (&run, "list");
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "NETWORK"));
  g_assert_null (strstr (run.out, "gateway="));
  RUN (&run, "show", "Web");
  g_assert_nonnull (strstr (run.out, "Network:       home; gateway=02:AA:bb:cc:dd:01 (mapped "
                                     "only on it)"));
  RUN (&run, "show", "Web", "--json");
  root = parse_json (run.out);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (root), "network"), ==,
                   "home");

  before = read_text (path);
  RUN (&run, "edit", "Web", "--network", "home; gateway=02:aa:bb:cc:dd");
  g_assert_cmpint (run.status, ==, EXIT_USAGE);
  g_assert_nonnull (strstr (run.err, "Profile “Web”: Network “home; gateway=02:aa:bb:cc:dd”: "
                                     "“gateway=02:aa:bb:cc:dd” is not one MAC address"));
  RUN (&run, "edit", "Web", "--network", " home");
  g_assert_cmpint (run.status, ==, EXIT_USAGE);
  g_assert_nonnull (strstr (run.err, "“ home” cannot name a network"));
  text = read_text (path);
  g_assert_cmpstr (text, ==, before);
  g_clear_pointer (&text, g_free);

  RUN (&run, "edit", "SSH", "--network", "");
  g_assert_cmpint (run.status, ==, 0);
  RUN (&run, "edit", "Web", "--network", "");
  g_assert_cmpint (run.status, ==, 0);
  text = read_text (path);
  g_assert_null (strstr (text, "Network="));
  RUN (&run, "show", "Web", "--json");
  g_clear_pointer (&root, json_node_unref);
  root = parse_json (run.out);
  g_assert_true (json_object_get_null_member (json_node_get_object (root), "network"));
  RUN (&run, "list");
  g_assert_null (strstr (run.out, "NETWORK"));
}

static void
test_family (void)
{
  g_auto(Run) run = { 0 };
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(PlProfileStore) store = NULL;
  g_autofree char *path = default_path ();
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  JsonArray *profiles;

  g_test_summary ("-4 and -6 set Family on add; list and show say which; --json has "
                  "\"family\"; without either the profile maps on both and the file gets no "
                  "Family key");

  RUN (&run, "add", "SSH", "-6", "2222", "22");
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.out, ==, "Added profile “SSH”: TCP (IPv6 only), public port 2222 → "
                                "private port 22, lifetime 7200 s, enabled\n");
  RUN (&run, "add", "DNS", "--ipv4", "-u", "--json", "53", "5353");
  g_assert_cmpint (run.status, ==, 0);
  root = parse_json (run.out);
  assert_json_profile (json_node_get_object (root), "DNS", "udp", "ipv4", 53, 5353, 7200, TRUE,
                       NULL);
  g_clear_pointer (&root, json_node_unref);
  RUN (&run, "add", "Web", "--ipv6", "--both", "80", "8080");
  g_assert_cmpint (run.status, ==, 0);
  RUN (&run, "add", "Game", "--both-families", "-u", "0", "27015");
  g_assert_cmpint (run.status, ==, 0);
  RUN (&run, "add", "Mail", "25", "25");
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.out, ==, "Added profile “Mail”: TCP, public port 25 → private port 25, "
                                "lifetime 7200 s, enabled\n");

  text = read_text (path);
  g_assert_cmpstr (text, ==,
                   "[SSH]\nProtocol=tcp\nFamily=ipv6\nInternalPort=22\nExternalPort=2222\n"
                   "Lifetime=7200\nEnabled=true\n\n"
                   "[DNS]\nProtocol=udp\nFamily=ipv4\nInternalPort=5353\nExternalPort=53\n"
                   "Lifetime=7200\nEnabled=true\n\n"
                   "[Web]\nProtocol=both\nFamily=ipv6\nInternalPort=8080\nExternalPort=80\n"
                   "Lifetime=7200\nEnabled=true\n\n"
                   "[Game]\nProtocol=udp\nInternalPort=27015\nExternalPort=0\n"
                   "Lifetime=7200\nEnabled=true\n\n"
                   "[Mail]\nProtocol=tcp\nInternalPort=25\nExternalPort=25\n"
                   "Lifetime=7200\nEnabled=true\n");

  /* The store reads what portlightctl wrote. */
  store = pl_profile_store_new (NULL);
  g_assert_true (pl_profile_store_load (store, NULL, NULL));
  g_assert_cmpint (pl_profile_get_family (pl_profile_store_lookup (store, "SSH")), ==,
                   PL_PROFILE_FAMILY_IPV6);
  g_assert_cmpint (pl_profile_get_family (pl_profile_store_lookup (store, "DNS")), ==,
                   PL_PROFILE_FAMILY_IPV4);
  g_assert_cmpint (pl_profile_get_family (pl_profile_store_lookup (store, "Mail")), ==,
                   PL_PROFILE_FAMILY_BOTH);

  RUN (&run, "list", "--json");
  g_assert_cmpint (run.status, ==, 0);
  root = parse_json (run.out);
  profiles = json_object_get_array_member (json_node_get_object (root), "profiles");
  g_assert_cmpuint (json_array_get_length (profiles), ==, 5);
  assert_json_profile (json_array_get_object_element (profiles, 0),
                       "SSH", "tcp", "ipv6", 2222, 22, 7200, TRUE, NULL);
  assert_json_profile (json_array_get_object_element (profiles, 1),
                       "DNS", "udp", "ipv4", 53, 5353, 7200, TRUE, NULL);
  assert_json_profile (json_array_get_object_element (profiles, 2),
                       "Web", "both", "ipv6", 80, 8080, 7200, TRUE, NULL);
  assert_json_profile (json_array_get_object_element (profiles, 3),
                       "Game", "udp", "both", 0, 27015, 7200, TRUE, NULL);
  assert_json_profile (json_array_get_object_element (profiles, 4),
                       "Mail", "tcp", "both", 25, 25, 7200, TRUE, NULL);

  /* Text: the family only when it is not both. */
  RUN (&run, "list");
  g_assert_cmpint (run.status, ==, 0);
  lines = g_strsplit (run.out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 7);
  g_assert_true (g_str_has_prefix (lines[0], "NAME  PROTOCOL             PUBLIC "));
  g_assert_true (g_str_has_prefix (lines[1], "SSH   TCP (IPv6 only)      2222 "));
  g_assert_true (g_str_has_prefix (lines[2], "DNS   UDP (IPv4 only)      53 "));
  g_assert_true (g_str_has_prefix (lines[3], "Web   TCP+UDP (IPv6 only)  80 "));
  g_assert_true (g_str_has_prefix (lines[4], "Game  UDP                  same "));
  g_assert_true (g_str_has_prefix (lines[5], "Mail  TCP                  25 "));
  g_assert_cmpstr (lines[6], ==, "");

  RUN (&run, "show", "SSH");
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "\nProtocol:      TCP\nFamily:        IPv6 only\n"));
  RUN (&run, "show", "Mail");
  g_assert_nonnull (strstr (run.out, "\nFamily:        IPv4 and IPv6\n"));
  RUN (&run, "show", "DNS", "--json");
  g_clear_pointer (&root, json_node_unref);
  root = parse_json (run.out);
  assert_json_profile (json_node_get_object (root), "DNS", "udp", "ipv4", 53, 5353, 7200, TRUE,
                       NULL);
}

static void
test_edit_family (void)
{
  g_auto(Run) run = { 0 };
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *path = default_path ();
  g_autofree char *text = NULL;
  static const char before[] =
    "# kept\n"
    "\n"
    "[SSH]\n"
    "Protocol=tcp\n"
    "# why\n"
    "InternalPort=22\n"
    "Description=Shell\n"
    "X-Mine=kept too\n"
    "\n"
    "[Web]\n"
    "Protocol=tcp\n"
    "InternalPort=80\n";

  g_test_summary ("edit -4/-6 sets Family, without them it stays; the file keeps everything "
                  "else byte for byte");

  write_file (path, before, -1);

  RUN (&run, "edit", "SSH", "-6", "--json");
  g_assert_cmpint (run.status, ==, 0);
  root = parse_json (run.out);
  assert_json_profile (json_node_get_object (root), "SSH", "tcp", "ipv6", 0, 22, 7200, TRUE,
                       "Shell");
  g_clear_pointer (&root, json_node_unref);

  /* Only Family is new; it goes after the group's last key. */
  text = read_text (path);
  g_assert_cmpstr (text, ==,
                   "# kept\n"
                   "\n"
                   "[SSH]\n"
                   "Protocol=tcp\n"
                   "# why\n"
                   "InternalPort=22\n"
                   "Description=Shell\n"
                   "X-Mine=kept too\n"
                   "Family=ipv6\n"
                   "ExternalPort=0\n"
                   "Lifetime=7200\n"
                   "Enabled=true\n"
                   "\n"
                   "[Web]\n"
                   "Protocol=tcp\n"
                   "InternalPort=80\n");
  g_clear_pointer (&text, g_free);

  /* Other changes leave the family alone, and it changes in place. */
  RUN (&run, "edit", "SSH", "-u", "-l", "600");
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.out, ==, "Changed profile “SSH”: UDP (IPv6 only), public port 22 (same "
                                "as private) → private port 22, lifetime 600 s, enabled\n");
  RUN (&run, "edit", "SSH", "--ipv4");
  g_assert_cmpint (run.status, ==, 0);
  text = read_text (path);
  g_assert_cmpstr (text, ==,
                   "# kept\n"
                   "\n"
                   "[SSH]\n"
                   "Protocol=udp\n"
                   "# why\n"
                   "InternalPort=22\n"
                   "Description=Shell\n"
                   "X-Mine=kept too\n"
                   "Family=ipv4\n"
                   "ExternalPort=0\n"
                   "Lifetime=600\n"
                   "Enabled=true\n"
                   "\n"
                   "[Web]\n"
                   "Protocol=tcp\n"
                   "InternalPort=80\n");
  g_clear_pointer (&text, g_free);

  /* -6 alone is a change too. */
  RUN (&run, "edit", "Web", "-6");
  g_assert_cmpint (run.status, ==, 0);
  text = read_text (path);
  g_assert_true (g_str_has_suffix (text, "Enabled=true\n\n[Web]\nProtocol=tcp\nInternalPort=80\n"
                                         "Family=ipv6\nExternalPort=0\nLifetime=7200\n"
                                         "Enabled=true\n"));
}

static void
test_family_reset (void)
{
  g_auto(Run) run = { 0 };
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *path = default_path ();
  g_autofree char *text = NULL;

  g_test_summary ("edit --both-families sets a profile back to both: the Family key already "
                  "in the file says so, and the other keys stay as they are");

  write_file (path,
              "[SSH]\nProtocol=udp\n# why\nFamily=ipv6\nInternalPort=22\nX-Mine=kept\n",
              -1);

  RUN (&run, "edit", "SSH", "--both-families", "--json");
  g_assert_cmpint (run.status, ==, 0);
  root = parse_json (run.out);
  assert_json_profile (json_node_get_object (root), "SSH", "udp", "both", 0, 22, 7200, TRUE,
                       NULL);
  g_clear_pointer (&root, json_node_unref);

  text = read_text (path);
  /* The key stays where it was, now saying both. */
  g_assert_cmpstr (text, ==,
                   "[SSH]\nProtocol=udp\n# why\nFamily=both\nInternalPort=22\nX-Mine=kept\n"
                   "ExternalPort=0\nLifetime=7200\nEnabled=true\n");

  RUN (&run, "show", "SSH", "--json");
  g_assert_cmpint (run.status, ==, 0);
  root = parse_json (run.out);
  assert_json_profile (json_node_get_object (root), "SSH", "udp", "both", 0, 22, 7200, TRUE,
                       NULL);
}

static void
test_family_usage (void)
{
  static const char * const cases[][8] = {
    { "add", "X", "-4", "-6", "80", "80", NULL },
    { "add", "X", "--ipv4", "--ipv6", "80", "80", NULL },
    { "add", "X", "-6", "--both-families", "80", "80", NULL },
    { "edit", "A", "-4", "-6", NULL },
    { "edit", "A", "--both-families", "-4", NULL },
    { "edit", "A", "-6", "--both-families", "-u", NULL },
    { "edit", "A", "-4", "--json", "-6", NULL },
  };
  g_autofree char *path = default_path ();

  g_test_summary ("-4 with -6, or either with --both-families, is a usage error and changes "
                  "nothing");

  write_file (path, "[A]\nProtocol=tcp\nFamily=ipv6\nInternalPort=1\n", -1);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(Run) run = { 0 };
      g_autofree char *text = NULL;
      gboolean json = FALSE;
      gboolean both_families = FALSE;

      for (gsize j = 0; cases[i][j] != NULL; j++)
        {
          json = json || g_str_equal (cases[i][j], "--json");
          both_families = both_families || g_str_equal (cases[i][j], "--both-families");
        }

      run_argv (&run, cases[i]);
      g_assert_cmpint (run.status, ==, EXIT_USAGE);
      g_assert_true (g_str_has_prefix (run.err, "portlightctl profiles "));
      g_assert_nonnull (strstr (run.err, both_families
                                         ? ": --both-families cannot be used with -4 or -6\n"
                                         : ": -4 and -6 cannot be used together\n"));
      g_assert_nonnull (strstr (run.err, "Usage:"));
      if (json)
        assert_json_error (run.out, "invalid-argument");
      else
        g_assert_cmpstr (run.out, ==, "");
      text = read_text (path);
      g_assert_cmpstr (text, ==, "[A]\nProtocol=tcp\nFamily=ipv6\nInternalPort=1\n");
    }
}

static void
test_enable_disable_remove (void)
{
  g_auto(Run) run = { 0 };
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *path = default_path ();
  g_autofree char *text = NULL;

  RUN (&run, "add", "A", "1000", "1000");
  g_assert_cmpint (run.status, ==, 0);
  RUN (&run, "add", "B", "2000", "2000");
  g_assert_cmpint (run.status, ==, 0);

  RUN (&run, "disable", "A");
  g_assert_cmpint (run.status, ==, 0);
  text = read_text (path);
  g_assert_nonnull (strstr (text, "[A]\nProtocol=tcp\nInternalPort=1000\nExternalPort=1000\n"
                                  "Lifetime=7200\nEnabled=false\n"));

  RUN (&run, "enable", "A", "--json");
  g_assert_cmpint (run.status, ==, 0);
  root = parse_json (run.out);
  assert_json_profile (json_node_get_object (root), "A", "tcp", "both", 1000, 1000, 7200, TRUE,
                       NULL);

  RUN (&run, "remove", "A", "--json");
  g_assert_cmpint (run.status, ==, 0);
  g_clear_pointer (&root, json_node_unref);
  root = parse_json (run.out);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (root), "removed"),
                   ==, "A");
  g_clear_pointer (&text, g_free);
  text = read_text (path);
  g_assert_cmpstr (text, ==,
                   "[B]\nProtocol=tcp\nInternalPort=2000\nExternalPort=2000\n"
                   "Lifetime=7200\nEnabled=true\n");
}

static void
test_unknown_profile (void)
{
  static const char * const commands[] = { "show", "remove", "enable", "disable" };
  g_autofree char *path = default_path ();

  write_file (path, "[A]\nProtocol=tcp\nInternalPort=1\n", -1);

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_auto(Run) run = { 0 };

      RUN (&run, commands[i], "Nope");
      g_assert_cmpint (run.status, ==, EXIT_PROFILE_ERROR);
      g_assert_nonnull (strstr (run.err, "No profile named “Nope”"));
      g_assert_nonnull (strstr (run.err, path));

      RUN (&run, commands[i], "Nope", "--json");
      g_assert_cmpint (run.status, ==, EXIT_PROFILE_ERROR);
      assert_json_error (run.out, "not-found");
    }
}

static void
test_bad_arguments (void)
{
  static const char * const cases[][8] = {
    { "frobnicate", NULL },
    { "list", "--bogus", NULL },
    { "list", "extra", NULL },
    { "show", NULL },
    { "show", "A", "B", NULL },
    { "add", NULL },
    { "add", "X", NULL },
    { "add", "X", "80", NULL },
    { "add", "X", "80", "80", "80", NULL },
    { "add", "X", "abc", "80", NULL },
    { "add", "X", "80", "-5", NULL },
    { "add", "X", "80", "0", NULL },
    { "add", "X", "80", "70000", NULL },
    { "add", "X", "65536", "80", NULL },
    { "add", "X", "-l", "0", "80", "80", NULL },
    { "add", "X", "-l", "86401", "80", "80", NULL },
    { "add", "X", "-l", "2h", "80", "80", NULL },
    { "add", "X]", "80", "80", NULL },
    { "add", "", "80", "80", NULL },
    { "add", "X", "-d", "two\nlines", "80", "80", NULL },
    { "edit", NULL },
    { "remove", NULL },
    { "enable", "A", "B", NULL },
    { "disable", "--nope", "A", NULL },
  };
  g_autofree char *path = default_path ();

  write_file (path, "[A]\nProtocol=tcp\nInternalPort=1\n", -1);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(Run) run = { 0 };
      g_autofree char *text = NULL;

      run_argv (&run, cases[i]);
      g_assert_cmpint (run.status, ==, EXIT_USAGE);
      g_assert_nonnull (strstr (run.err, "Usage:"));
      g_assert_cmpstr (run.out, ==, "");
      text = read_text (path);
      g_assert_cmpstr (text, ==, "[A]\nProtocol=tcp\nInternalPort=1\n");
    }

  /* The messages are the store's. */
  {
    g_auto(Run) run = { 0 };

    RUN (&run, "add", "X", "80", "70000");
    g_assert_nonnull (strstr (run.err,
                              "Profile “X”: InternalPort “70000” is not a port number (1-65535)"));
    RUN (&run, "add", "X", "-l", "0", "80", "80");
    g_assert_nonnull (strstr (run.err,
                              "Profile “X”: Lifetime “0” is not a lifetime in seconds (1-86400)"));
    RUN (&run, "add", "X", "--json", "abc", "80");
    g_assert_cmpint (run.status, ==, EXIT_USAGE);
    assert_json_error (run.out, "invalid-argument");
  }
}

static void
test_duplicate_and_clash (void)
{
  g_auto(Run) run = { 0 };
  g_autofree char *path = default_path ();
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  RUN (&run, "add", "SSH", "2222", "22");
  g_assert_cmpint (run.status, ==, 0);
  before = read_text (path);

  RUN (&run, "add", "SSH", "-u", "53", "53");
  g_assert_cmpint (run.status, ==, EXIT_PROFILE_ERROR);
  g_assert_nonnull (strstr (run.err, "A profile named “SSH” already exists"));

  RUN (&run, "add", "SSH 2", "--both", "2223", "22", "--json");
  g_assert_cmpint (run.status, ==, EXIT_PROFILE_ERROR);
  g_assert_nonnull (strstr (run.err, "Profile “SSH 2”: InternalPort 22 (both) is already used "
                                     "by profile “SSH” (tcp)"));
  assert_json_error (run.out, "exists");

  after = read_text (path);
  g_assert_cmpstr (after, ==, before);

  /* The same port over UDP is another mapping. */
  RUN (&run, "add", "SSH 2", "-u", "2223", "22");
  g_assert_cmpint (run.status, ==, 0);
}

static void
test_corrupt_file (void)
{
  static const char garbage[] = "\x7f" "ELF\x02\x01\x01\0\0\0garbage\xff\xfe\n[SSH]\n";
  static const char * const cases[][8] = {
    { "list", NULL },
    { "list", "--json", NULL },
    { "show", "SSH", NULL },
    { "add", "New", "80", "80", NULL },
    { "edit", "SSH", "-u", NULL },
    { "remove", "SSH", NULL },
    { "enable", "SSH", NULL },
    { "disable", "SSH", NULL },
  };
  g_autofree char *path = default_path ();

  write_file (path, garbage, sizeof garbage - 1);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(Run) run = { 0 };
      g_autofree char *contents = NULL;
      gsize length = 0;

      run_argv (&run, cases[i]);
      g_assert_cmpint (run.status, ==, EXIT_PROFILE_ERROR);
      g_assert_nonnull (strstr (run.err, path));
      g_assert_nonnull (strstr (run.err, "left as it is"));
      if (i == 1)
        assert_json_error (run.out, "invalid-file");

      g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
      g_assert_cmpmem (contents, length, garbage, sizeof garbage - 1);
    }
}

static void
test_problems (void)
{
  g_auto(Run) run = { 0 };
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *path = default_path ();
  g_autofree char *text = NULL;
  JsonObject *object;

  write_file (path,
              "[Good]\nProtocol=tcp\nInternalPort=22\n\n"
              "[Bad]\nProtocol=tcp\nInternalPort=70000\n",
              -1);

  RUN (&run, "list", "--json");
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.err, "warning: Profile “Bad”: InternalPort “70000” is not a port "
                                     "number (1-65535)"));
  root = parse_json (run.out);
  object = json_node_get_object (root);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (object, "profiles")),
                    ==, 1);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (object,
                                                                                "problems"), 0),
                   ==, "Profile “Bad”: InternalPort “70000” is not a port number (1-65535)");

  RUN (&run, "show", "Bad");
  g_assert_cmpint (run.status, ==, EXIT_PROFILE_ERROR);
  g_assert_nonnull (strstr (run.err, "Profile “Bad” has errors"));

  /* Changes elsewhere keep the bad group as it is; removing it works. */
  RUN (&run, "disable", "Good");
  g_assert_cmpint (run.status, ==, 0);
  text = read_text (path);
  g_assert_cmpstr (text, ==,
                   "[Good]\nProtocol=tcp\nInternalPort=22\nEnabled=false\n\n"
                   "[Bad]\nProtocol=tcp\nInternalPort=70000\n");
  RUN (&run, "remove", "Bad");
  g_assert_cmpint (run.status, ==, 0);
  g_clear_pointer (&text, g_free);
  text = read_text (path);
  /* (The blank line that separated the groups belongs to the first one.) */
  g_assert_cmpstr (text, ==, "[Good]\nProtocol=tcp\nInternalPort=22\nEnabled=false\n\n");
}

static void
test_file_option (void)
{
  g_auto(Run) run = { 0 };
  g_autofree char *path = g_build_filename (g_get_user_data_dir (), "other.ini", NULL);
  g_autofree char *default_file = default_path ();
  g_autofree char *text = NULL;

  RUN (&run, "--file", path, "add", "A", "1", "1");
  g_assert_cmpint (run.status, ==, 0);
  RUN (&run, "add", "B", "2", "2", "--file", path);
  g_assert_cmpint (run.status, ==, 0);
  RUN (&run, "list", "-f", path);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "A "));
  g_assert_nonnull (strstr (run.out, "B "));

  text = read_text (path);
  g_assert_true (g_str_has_prefix (text, "[A]\n"));
  g_assert_false (g_file_test (default_file, G_FILE_TEST_EXISTS));
}

int
main (int   argc,
      char *argv[])
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* These are tests of the in-process commands: never the engine of a session bus this
   * test happens to run in (tests/test-cli-engine.c has a bus and an engine of its own). */
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/portlight-test-bus", TRUE);

  g_test_add_func ("/pl/cli-profiles/empty", test_empty);
  g_test_add_func ("/pl/cli-profiles/add-list-show", test_add_list_show);
  g_test_add_func ("/pl/cli-profiles/edit", test_edit);
  g_test_add_func ("/pl/cli-profiles/family", test_family);
  g_test_add_func ("/pl/cli-profiles/edit-family", test_edit_family);
  g_test_add_func ("/pl/cli-profiles/family-reset", test_family_reset);
  g_test_add_func ("/pl/cli-profiles/family-usage", test_family_usage);
  g_test_add_func ("/pl/cli-profiles/enable-disable-remove", test_enable_disable_remove);
  g_test_add_func ("/pl/cli-profiles/unknown-profile", test_unknown_profile);
  g_test_add_func ("/pl/cli-profiles/bad-arguments", test_bad_arguments);
  g_test_add_func ("/pl/cli-profiles/duplicate-and-clash", test_duplicate_and_clash);
  g_test_add_func ("/pl/cli-profiles/corrupt-file", test_corrupt_file);
  g_test_add_func ("/pl/cli-profiles/app", test_app);
  g_test_add_func ("/pl/cli-profiles/network", test_network);
  g_test_add_func ("/pl/cli-profiles/problems", test_problems);
  g_test_add_func ("/pl/cli-profiles/file-option", test_file_option);

  return g_test_run ();
}
