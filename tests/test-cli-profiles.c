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
                     gint64      public_port,
                     gint64      private_port,
                     gint64      lifetime,
                     gboolean    enabled,
                     const char *description)
{
  g_assert_cmpstr (json_object_get_string_member (object, "name"), ==, name);
  g_assert_cmpstr (json_object_get_string_member (object, "protocol"), ==, protocol);
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
  assert_json_profile (json_node_get_object (root), "DNS", "both", 53, 5353, 7200, TRUE, NULL);
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
                       "SSH", "tcp", 2222, 22, 3600, TRUE, "Shell access");
  assert_json_profile (json_array_get_object_element (profiles, 1),
                       "Game", "udp", 0, 27015, 7200, FALSE, NULL);
  assert_json_profile (json_array_get_object_element (profiles, 2),
                       "Web", "both", 80, 8080, 7200, TRUE, NULL);

  RUN (&run, "list");
  g_assert_cmpint (run.status, ==, 0);
  g_assert_true (g_str_has_prefix (run.out, "NAME"));
  g_assert_nonnull (strstr (run.out, "Shell access"));
  g_assert_nonnull (strstr (run.out, "27015"));

  RUN (&run, "show", "Web", "--json");
  g_assert_cmpint (run.status, ==, 0);
  show = parse_json (run.out);
  assert_json_profile (json_node_get_object (show), "Web", "both", 80, 8080, 7200, TRUE, NULL);

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
  assert_json_profile (json_node_get_object (root), "Shell", "udp", 0, 2200, 600, FALSE, NULL);

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
  assert_json_profile (json_node_get_object (root), "Web", "both", 0, 80, 7200, TRUE, NULL);

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
  assert_json_profile (json_node_get_object (root), "A", "tcp", 1000, 1000, 7200, TRUE, NULL);

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

  g_test_add_func ("/pl/cli-profiles/empty", test_empty);
  g_test_add_func ("/pl/cli-profiles/add-list-show", test_add_list_show);
  g_test_add_func ("/pl/cli-profiles/edit", test_edit);
  g_test_add_func ("/pl/cli-profiles/enable-disable-remove", test_enable_disable_remove);
  g_test_add_func ("/pl/cli-profiles/unknown-profile", test_unknown_profile);
  g_test_add_func ("/pl/cli-profiles/bad-arguments", test_bad_arguments);
  g_test_add_func ("/pl/cli-profiles/duplicate-and-clash", test_duplicate_and_clash);
  g_test_add_func ("/pl/cli-profiles/corrupt-file", test_corrupt_file);
  g_test_add_func ("/pl/cli-profiles/problems", test_problems);
  g_test_add_func ("/pl/cli-profiles/file-option", test_file_option);

  return g_test_run ();
}
