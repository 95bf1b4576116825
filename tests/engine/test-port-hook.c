/* test-port-hook.c: PlPortHook runs OnPortChange commands: arguments, timeout, coalescing
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gstdio.h>

#include "pl-core.h"

/* The hooks are real processes (PL_HOOK_HELPER), so these tests run on real time; they
 * assert what happened, never how long it took. */

typedef struct
{
  char       *dir;
  char       *out;
  PlPortHook *hook;
  guint       n_finished;
  guint       n_success;
  GPtrArray  *messages;   /* char*: the "finished" messages */
  GPtrArray  *log;        /* char*: what PlPortHook logged */
  guint       log_id;
  guint       guard_id;
} Fixture;

static void
log_cb (const char     *log_domain,
        GLogLevelFlags  log_level,
        const char     *message,
        gpointer        user_data)
{
  g_ptr_array_add (user_data, g_strdup (message));
}

static guint
log_index (Fixture    *f,
           const char *message)
{
  for (guint i = 0; i < f->log->len; i++)
    if (g_str_equal (g_ptr_array_index (f->log, i), message))
      return i;
  g_error ("Not logged: %s", message);
  return 0;
}

static gboolean
guard_cb (gpointer user_data)
{
  g_error ("Test did not finish within 30 s");
  return G_SOURCE_REMOVE;
}

static void
finished_cb (PlPortHook *hook,
             gboolean    success,
             const char *message,
             gpointer    user_data)
{
  Fixture *f = user_data;

  f->n_finished++;
  if (success)
    f->n_success++;
  g_ptr_array_add (f->messages, g_strdup (message));
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("pl-port-hook-XXXXXX", &error);
  g_assert_no_error (error);
  f->out = g_build_filename (f->dir, "argv", NULL);
  f->messages = g_ptr_array_new_with_free_func (g_free);
  f->log = g_ptr_array_new_with_free_func (g_free);
  f->log_id = g_log_set_handler ("pl-core", G_LOG_LEVEL_MESSAGE, log_cb, f->log);
  f->guard_id = g_timeout_add_seconds (30, guard_cb, NULL);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->hook);
  g_unlink (f->out);
  g_rmdir (f->dir);
  g_clear_handle_id (&f->guard_id, g_source_remove);
  g_clear_pointer (&f->messages, g_ptr_array_unref);
  g_log_remove_handler ("pl-core", f->log_id);
  g_clear_pointer (&f->log, g_ptr_array_unref);
  g_free (f->out);
  g_free (f->dir);
}

static void
make_hook (Fixture    *f,
           const char *mode,
           const char *args)
{
  g_autofree char *helper = g_shell_quote (PL_HOOK_HELPER);
  g_autofree char *out = g_shell_quote (f->out);
  g_autofree char *command = g_strdup_printf ("%s %s %s %s", helper, mode, out, args);

  f->hook = pl_port_hook_new ("Torrent", command);
  g_signal_connect (f->hook, "finished", G_CALLBACK (finished_cb), f);
}

static void
wait_finished (Fixture *f,
               guint    n)
{
  while (f->n_finished < n)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (pl_port_hook_get_running (f->hook));
}

static char *
output (Fixture *f)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents (f->out, &text, NULL, NULL))
    return g_strdup ("");
  return g_steal_pointer (&text);
}

static void
test_expand (void)
{
  const char * const words[] = { "x", "-p", "%p", "%a:%p/%P", "100%%", "%%p", "%q", "%", NULL };
  g_auto(GStrv) out = pl_port_hook_expand (words, PL_PROTOCOL_UDP, 51234, "198.51.100.4");
  g_auto(GStrv) unknown = pl_port_hook_expand (words, PL_PROTOCOL_TCP, 1, NULL);

  g_test_summary ("%p, %a, %P and %% are replaced inside words; nothing else changes");

  g_assert_cmpstr (out[0], ==, "x");
  g_assert_cmpstr (out[1], ==, "-p");
  g_assert_cmpstr (out[2], ==, "51234");
  g_assert_cmpstr (out[3], ==, "198.51.100.4:51234/udp");
  g_assert_cmpstr (out[4], ==, "100%");
  g_assert_cmpstr (out[5], ==, "%p");
  g_assert_cmpstr (out[6], ==, "%q");
  g_assert_cmpstr (out[7], ==, "%");
  g_assert_null (out[8]);
  g_assert_cmpstr (unknown[3], ==, ":1/tcp");
}

static void
test_validate (void)
{
  static const struct { const char *command; const char *message; } bad[] = {
    { "", "Profile “T”: OnPortChange “” is not a command line: " },
    { "   ", "Profile “T”: OnPortChange “   ” is not a command line: " },
    { "echo 'open", "Profile “T”: OnPortChange “echo 'open” is not a command line: " },
    { "echo %x", "Profile “T”: OnPortChange “echo %x” has “%x”, which is not one of %p "
                 "(public port), %a (public address), %P (protocol) or %% (a percent sign)" },
    { "echo 50%", "Profile “T”: OnPortChange “echo 50%” has “%”, which is not one of" },
    { "echo\tx", "Profile “T”: OnPortChange “echo\tx” contains a line break" },
  };
  g_auto(GStrv) argv = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("OnPortChange is split as g_shell_parse_argv() does; bad ones are refused "
                  "with the profile, the key and what is wrong");

  g_assert_true (pl_profile_validate_on_port_change ("T", "transmission-remote -p %p "
                                                     "--auth \"me:a b\"", &argv, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (argv), ==, 5);
  g_assert_cmpstr (argv[2], ==, "%p");
  g_assert_cmpstr (argv[4], ==, "me:a b");
  /* A shell's syntax is only words here: no pipe, no variable. */
  g_clear_pointer (&argv, g_strfreev);
  g_assert_true (pl_profile_validate_on_port_change ("T", "echo $HOME | cat", &argv, NULL));
  g_assert_cmpstr (argv[1], ==, "$HOME");
  g_assert_cmpstr (argv[2], ==, "|");

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) e = NULL;

      g_assert_false (pl_profile_validate_on_port_change ("T", bad[i].command, NULL, &e));
      g_assert_error (e, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
      g_assert_true (g_str_has_prefix (e->message, bad[i].message));
    }
}

static void
test_argv (Fixture       *f,
           gconstpointer  data)
{
  g_autofree char *text = NULL;

  g_test_summary ("The command gets its words with the values in, without a shell; its "
                  "output is logged and its exit status reported");

  make_hook (f, "record", "--port=%p '%a' %P \"two words\" 100%% '$HOME' ';'");
  pl_port_hook_port_changed (f->hook, PL_PROTOCOL_UDP, 51234, "198.51.100.4");
  g_assert_true (pl_port_hook_get_running (f->hook));
  wait_finished (f, 1);

  text = output (f);
  g_assert_cmpstr (text, ==, "start --port=51234|198.51.100.4|udp|two words|100%|$HOME|;\nend\n");
  g_assert_cmpuint (f->n_success, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->messages, 0), ==, "exited with status 0");

  /* Logged: what ran, its output (stdout and stderr), then how it ended. */
  g_assert_cmpuint (log_index (f, "OnPortChange of profile “Torrent”: helper record: started"),
                    <, log_index (f, "OnPortChange of profile “Torrent” exited with status 0"));
  g_assert_cmpuint (log_index (f, "OnPortChange of profile “Torrent”: helper record: a line on "
                                  "stderr"),
                    <, log_index (f, "OnPortChange of profile “Torrent” exited with status 0"));
}

static void
test_orphan (Fixture       *f,
             gconstpointer  data)
{
  g_test_summary ("A command that exits leaving a child with its output open still ends its "
                  "run (the output gets a moment), so the next change is not held up");

  make_hook (f, "orphan", "%p");
  pl_port_hook_port_changed (f->hook, PL_PROTOCOL_TCP, 1000, NULL);
  pl_port_hook_port_changed (f->hook, PL_PROTOCOL_TCP, 2000, NULL);
  wait_finished (f, 2);
  g_assert_cmpuint (f->n_success, ==, 2);
  {
    g_autofree char *text = output (f);

    g_assert_cmpstr (text, ==, "start 1000\nend\nstart 2000\nend\n");
  }
}

static void
test_exit_status (Fixture       *f,
                  gconstpointer  data)
{
  g_test_summary ("A command that fails is reported with its status, and the next change "
                  "runs it again");

  make_hook (f, "fail", "%p");
  pl_port_hook_port_changed (f->hook, PL_PROTOCOL_TCP, 1000, NULL);
  wait_finished (f, 1);
  pl_port_hook_port_changed (f->hook, PL_PROTOCOL_TCP, 2000, NULL);
  wait_finished (f, 2);
  g_assert_cmpuint (f->n_success, ==, 0);
  g_assert_cmpstr (g_ptr_array_index (f->messages, 1), ==, "exited with status 3");
  {
    g_autofree char *text = output (f);

    g_assert_cmpstr (text, ==, "start 1000\nend\nstart 2000\nend\n");
  }
}

static void
test_missing_program (Fixture       *f,
                      gconstpointer  data)
{
  g_test_summary ("A program that does not exist is reported, and nothing is left running");

  f->hook = pl_port_hook_new ("Torrent", "/nonexistent/portlight-hook %p");
  g_signal_connect (f->hook, "finished", G_CALLBACK (finished_cb), f);
  pl_port_hook_port_changed (f->hook, PL_PROTOCOL_TCP, 1000, NULL);
  g_assert_cmpuint (f->n_finished, ==, 1);
  g_assert_cmpuint (f->n_success, ==, 0);
  g_assert_false (pl_port_hook_get_running (f->hook));
}

static void
test_timeout_term (Fixture       *f,
                   gconstpointer  data)
{
  g_test_summary ("V-06: a command still running at its timeout gets SIGTERM");

  make_hook (f, "hang", "%p");
  pl_port_hook_set_timeout (f->hook, 200, 10000);
  pl_port_hook_port_changed (f->hook, PL_PROTOCOL_TCP, 1000, NULL);
  wait_finished (f, 1);
  g_assert_cmpuint (f->n_success, ==, 0);
  g_assert_cmpstr (g_ptr_array_index (f->messages, 0), ==, "stopped (SIGTERM) after 200 ms");
  {
    g_autofree char *text = output (f);

    g_assert_cmpstr (text, ==, "start 1000\n");
  }
}

static void
test_timeout_kill (Fixture       *f,
                   gconstpointer  data)
{
  g_test_summary ("V-06: a command that ignores SIGTERM is killed with SIGKILL, and the change that "
                  "came meanwhile runs after it");

  make_hook (f, "stuck", "%p");
  pl_port_hook_set_timeout (f->hook, 200, 200);
  pl_port_hook_port_changed (f->hook, PL_PROTOCOL_TCP, 1000, NULL);
  pl_port_hook_port_changed (f->hook, PL_PROTOCOL_TCP, 2000, NULL);
  wait_finished (f, 2);
  g_assert_cmpstr (g_ptr_array_index (f->messages, 0), ==, "stopped (SIGKILL) after 200 ms");
  {
    g_autofree char *text = output (f);

    g_assert_cmpstr (text, ==, "start 1000\nstart 2000\n");
  }
}

static void
test_coalesce (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *text = NULL;

  g_test_summary ("V-05: one run at a time; changes while it runs are kept, only the newest per "
                  "protocol, and run once after it, TCP first");

  make_hook (f, "slow", "%P %p");
  pl_port_hook_port_changed (f->hook, PL_PROTOCOL_TCP, 1000, NULL);
  pl_port_hook_port_changed (f->hook, PL_PROTOCOL_UDP, 1001, NULL);
  pl_port_hook_port_changed (f->hook, PL_PROTOCOL_TCP, 2000, NULL);
  pl_port_hook_port_changed (f->hook, PL_PROTOCOL_UDP, 2001, NULL);
  pl_port_hook_port_changed (f->hook, PL_PROTOCOL_TCP, 3000, NULL);
  wait_finished (f, 3);

  /* Let anything wrongly queued show itself. */
  for (guint i = 0; i < 50 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  g_assert_cmpuint (f->n_finished, ==, 3);
  text = output (f);
  /* No "start" before the previous "end": never two at once. */
  g_assert_cmpstr (text, ==, "start tcp|1000\nend\nstart tcp|3000\nend\nstart udp|2001\nend\n");
}

static void
test_no_command (Fixture       *f,
                 gconstpointer  data)
{
  g_test_summary ("Without a command nothing runs; a command set later applies to the next "
                  "change");

  f->hook = pl_port_hook_new ("Torrent", NULL);
  g_signal_connect (f->hook, "finished", G_CALLBACK (finished_cb), f);
  pl_port_hook_port_changed (f->hook, PL_PROTOCOL_TCP, 1000, NULL);
  g_assert_false (pl_port_hook_get_running (f->hook));
  g_assert_cmpuint (f->n_finished, ==, 0);

  {
    g_autofree char *helper = g_shell_quote (PL_HOOK_HELPER);
    g_autofree char *out = g_shell_quote (f->out);
    g_autofree char *command = g_strdup_printf ("%s record %s %%p", helper, out);

    pl_port_hook_set_command (f->hook, command);
  }
  pl_port_hook_port_changed (f->hook, PL_PROTOCOL_TCP, 2000, NULL);
  wait_finished (f, 1);
  {
    g_autofree char *text = output (f);

    g_assert_cmpstr (text, ==, "start 2000\nend\n");
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/port-hook/expand", test_expand);
  g_test_add_func ("/port-hook/validate", test_validate);
  g_test_add ("/port-hook/argv", Fixture, NULL, fixture_set_up, test_argv, fixture_tear_down);
  g_test_add ("/port-hook/exit-status", Fixture, NULL, fixture_set_up, test_exit_status,
              fixture_tear_down);
  g_test_add ("/port-hook/orphan", Fixture, NULL, fixture_set_up, test_orphan,
              fixture_tear_down);
  g_test_add ("/port-hook/missing-program", Fixture, NULL, fixture_set_up,
              test_missing_program, fixture_tear_down);
  g_test_add ("/port-hook/timeout-term", Fixture, NULL, fixture_set_up, test_timeout_term,
              fixture_tear_down);
  g_test_add ("/port-hook/timeout-kill", Fixture, NULL, fixture_set_up, test_timeout_kill,
              fixture_tear_down);
  g_test_add ("/port-hook/coalesce", Fixture, NULL, fixture_set_up, test_coalesce,
              fixture_tear_down);
  g_test_add ("/port-hook/no-command", Fixture, NULL, fixture_set_up, test_no_command,
              fixture_tear_down);

  return g_test_run ();
}
