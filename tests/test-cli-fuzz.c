/* test-cli-fuzz.c: random argument vectors for portlightctl, and bounded requests
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <string.h>

#include "pl-core.h"
#include "pl-fake-gateway.h"
#include "pl-test-sample.h"

/* portlightctl (its path in $PORTLIGHTCTL) is run with seeded random argument vectors. Every
 * run must end by itself with one of the documented exit codes 0-6 (app/cli/pl-cli.h), never
 * by a signal, and print no GLib critical or warning and no sanitizer report.
 *
 * Nothing may reach the machine's real gateway: every vector for a command that talks to a
 * router gets "-g 127.0.5.N" (where nothing listens, so ICMP refuses at once) right after the
 * command, where nothing can swallow it, and "--timeout 1" where the command has it. Later
 * random "-g" values come from a list of loopback or invalid addresses only. Commands that
 * keep running (map --keep, run) get SIGINT after 2 s, as a user would stop them.
 *
 * A second test checks that what the CLI sends is bounded: against a silent gateway, no more
 * datagrams than the RFC 6886 schedule allows within --timeout. */

#define N_RUNS       500
#define STOP_AFTER_S 2
#define KILL_AFTER_S 20
#define BATCH        50
/* Runs at a time: they mostly wait. Fewer under the sanitizers, where each start costs CPU. */
#define PARALLEL     (PL_TEST_SANITIZED ? 4 : 8)

static const char *portlightctl;

typedef struct
{
  gboolean  exited;
  int       status;       /* exit status, or the signal */
  char     *out;
  char     *err;
  double    seconds;
  gboolean  stopped;      /* SIGINT was needed */
  gboolean  hung;         /* SIGKILL was needed */
} Run;

static void
run_free (Run *run)
{
  g_free (run->out);
  g_free (run->err);
  g_free (run);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Run, run_free)

typedef struct
{
  gboolean  done;
  GError   *error;
  GBytes   *out;
  GBytes   *err;
} Communicate;

static void
communicate_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Communicate *c = user_data;

  g_subprocess_communicate_finish (G_SUBPROCESS (source), result, &c->out, &c->err, &c->error);
  c->done = TRUE;
}

static gboolean
flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static char *
bytes_to_string (GBytes *bytes)
{
  gsize len = 0;
  const char *data = bytes != NULL ? g_bytes_get_data (bytes, &len) : NULL;

  /* The output may hold invalid UTF-8 (arguments echoed back) or even NULs: keep it as text
   * for strstr(), up to the first NUL. */
  return g_strndup (data != NULL ? data : "", len);
}

/* One portlightctl process. Still running after @stop_after_s, it gets SIGINT (Ctrl-C); after
 * KILL_AFTER_S more, SIGKILL (a hang). Several can run at once: each keeps its own flags. */
typedef struct
{
  GSubprocess *process;
  Communicate  c;
  gboolean     stop_due;
  gboolean     kill_due;
  guint        stop_id;
  guint        kill_id;
  gint64       start;
  Run         *run;
} Job;

static Job *
job_start (const char * const *args,
           guint               stop_after_s)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  Job *job = g_new0 (Job, 1);

  job->start = g_get_monotonic_time ();
  job->run = g_new0 (Run, 1);

  g_ptr_array_add (argv, (gpointer) portlightctl);
  for (gsize i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  job->process = g_subprocess_newv ((const char * const *) argv->pdata,
                                    G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                    G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                    G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);

  job->stop_id = g_timeout_add_seconds (stop_after_s, flag_cb, &job->stop_due);
  job->kill_id = g_timeout_add_seconds (stop_after_s + KILL_AFTER_S, flag_cb, &job->kill_due);
  /* An empty stdin, closed at once: nothing may wait for input. */
  g_subprocess_communicate_async (job->process, empty, NULL, communicate_cb, &job->c);
  return job;
}

/* Sends the signals that are due; TRUE once the process has ended and its output is in. */
static gboolean
job_poll (Job *job)
{
  if (job->stop_due && !job->run->stopped)
    {
      /* Still running: a command that keeps mappings, stopped as with Ctrl-C. */
      job->run->stopped = TRUE;
      g_subprocess_send_signal (job->process, SIGINT);
    }
  if (job->kill_due && !job->run->hung)
    {
      job->run->hung = TRUE;
      g_subprocess_force_exit (job->process);
    }
  return job->c.done;
}

static Run *
job_finish (Job *job)
{
  g_autoptr(GError) error = NULL;
  Run *run = job->run;

  if (!job->stop_due)
    g_source_remove (job->stop_id);
  if (!job->kill_due)
    g_source_remove (job->kill_id);

  g_assert_no_error (job->c.error);
  g_subprocess_wait (job->process, NULL, &error);
  g_assert_no_error (error);

  run->seconds = (g_get_monotonic_time () - job->start) / (double) G_USEC_PER_SEC;
  run->exited = g_subprocess_get_if_exited (job->process);
  run->status = run->exited ? g_subprocess_get_exit_status (job->process)
                            : g_subprocess_get_term_sig (job->process);
  run->out = bytes_to_string (job->c.out);
  run->err = bytes_to_string (job->c.err);
  g_clear_pointer (&job->c.out, g_bytes_unref);
  g_clear_pointer (&job->c.err, g_bytes_unref);
  g_object_unref (job->process);
  g_free (job);

  return run;
}

/* Runs portlightctl with @args (NULL-terminated, without argv[0]) while the main context keeps
 * turning (for an in-process fake gateway). */
static Run *
run_cli (const char * const *args,
         guint               stop_after_s)
{
  Job *job = job_start (args, stop_after_s);

  while (!job_poll (job))
    g_main_context_iteration (NULL, TRUE);
  return job_finish (job);
}

/* The random vectors. */

typedef enum
{
  NET_NONE,       /* no network: profiles, --help, unknown commands */
  NET_GATEWAY,    /* -g only (run) */
  NET_FULL,       /* -g and --timeout (address, map, unmap) */
} Net;

static const struct {
  const char *name;
  Net         net;
} commands[] = {
  { "address", NET_FULL },
  { "map", NET_FULL },
  { "unmap", NET_FULL },
  { "profiles", NET_NONE },
  { "run", NET_GATEWAY },
  { "status", NET_NONE },
  { "--help", NET_NONE },
  { "--version", NET_NONE },
  { "-h", NET_NONE },
  { "", NET_NONE },
  { "-", NET_NONE },
  { "--", NET_NONE },
  { "MAP", NET_NONE },
  { "profile", NET_NONE },
};

/* Loopback or invalid only: never an address that could leave this machine. */
static const char * const gateways[] = {
  "127.0.5.1", "127.0.5.2", "127.0.5.250", "0.0.0.0", "::1", "999.0.0.1", "1.2.3", "abc",
  "127.0.5.1:5351", "", " ", "-1", "127.0.5.300", "localhost", "fe80::1%lo", "127.0.5.1 ",
  "127.0.5.01", "0x7f000501", "127.0.5.1/8",
};

static const char * const words[] = {
  /* options */
  "-u", "-t", "--udp", "--tcp", "--both", "-l", "--lifetime", "--keep", "--all", "-a",
  "--json", "--help", "-h", "--help-all", "-f", "--file", "--name", "--public-port",
  "--private-port", "--enabled", "--disabled", "-d", "--description", "--version", "--",
  "-", "--timeout", "--gateway", "--keep-mappings", "-x", "--unknown", "-ut", "-tu", "-lu",
  "--lifetime=60", "--timeout=1", "--json=yes", "--udp=1", "-l60", "---", "-gl",
  /* sub-commands */
  "list", "show", "add", "edit", "remove", "enable", "disable", "address", "map", "unmap",
  "profiles", "run",
  /* numbers */
  "0", "1", "22", "80", "8080", "65535", "65536", "-1", "-0", "+22", "0x16", "1e3", "022",
  " 22", "22 ", "4294967296", "18446744073709551616", "99999999999999999999999999", "7200",
  "86400", "86401", "119", "120", "1.5", "NaN", "inf",
  /* names and text */
  "SSH", "Web", "Game server", "new", "x", "", " ", "[SSH]", "a=b", "#", "\\", "\n", "\t",
  "%s%s%s%n", "%x%x", "名前", "Ünïcødé ☃", "\xff\xfe", "\xc3\x28", "a\xe2\x82", "\x01\x02",
  "--name=Web", "tcp", "udp", "both",
};

static char *
random_word (GRand      *rand,
             const char *file_a,
             const char *file_b)
{
  guint pick = (guint) g_rand_int_range (rand, 0, 100);

  if (pick < 3)
    return g_strnfill ((gsize) g_rand_int_range (rand, 1000, 100000), 'A');
  if (pick < 6)
    return g_strdup (g_rand_boolean (rand) ? file_a : file_b);
  if (pick < 8)
    return g_strdup (g_rand_boolean (rand) ? "/dev/null" : "/nonexistent/dir/profiles.ini");
  if (pick < 12)
    {
      /* Random bytes, no NUL. */
      gsize len = (gsize) g_rand_int_range (rand, 1, 16);
      char *text = g_malloc (len + 1);

      for (gsize i = 0; i < len; i++)
        text[i] = (char) g_rand_int_range (rand, 1, 256);
      text[len] = '\0';
      return text;
    }
  return g_strdup (words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))]);
}

/* One vector. The gateway comes right after the command, so that no earlier option can take it
 * as its value; a later "-g" is always followed by a value from gateways[]. */
static GPtrArray *
random_vector (GRand      *rand,
               guint       n,
               const char *file_a,
               const char *file_b)
{
  GPtrArray *vector = g_ptr_array_new_with_free_func (g_free);
  gsize c = (gsize) g_rand_int_range (rand, 0, G_N_ELEMENTS (commands));
  guint n_words = (guint) g_rand_int_range (rand, 0, 9);

  g_ptr_array_add (vector, g_strdup (commands[c].name));
  if (commands[c].net != NET_NONE)
    {
      g_ptr_array_add (vector, g_strdup ("-g"));
      g_ptr_array_add (vector, g_strdup_printf ("127.0.5.%u", 1 + n % 250));
    }
  if (commands[c].net == NET_FULL)
    {
      g_ptr_array_add (vector, g_strdup ("--timeout"));
      g_ptr_array_add (vector, g_strdup ("1"));
    }

  for (guint i = 0; i < n_words; i++)
    {
      char *word = random_word (rand, file_a, file_b);

      /* Options that take a value swallow "-g", so a gateway given later always comes as a
       * pair, and "--gateway=..." never appears alone. */
      if (g_str_equal (word, "--gateway") || g_rand_int_range (rand, 0, 20) == 0)
        {
          g_free (word);
          g_ptr_array_add (vector, g_strdup (g_rand_boolean (rand) ? "-g" : "--gateway"));
          word = g_strdup (gateways[g_rand_int_range (rand, 0, G_N_ELEMENTS (gateways))]);
        }
      g_ptr_array_add (vector, word);
    }

  g_ptr_array_add (vector, NULL);
  return vector;
}

static const char * const numbers[] = {
  "0", "1", "22", "80", "8080", "65535", "65536", "-1", "+22", "0x16", "022", " 22", "22 ",
  "4294967296", "99999999999999999999", "60", "119", "120", "7200", "86400", "86401", "1.5",
  "", "x",
};

static const char *
pick (GRand              *rand,
      const char * const *list,
      gsize               n)
{
  return list[g_rand_int_range (rand, 0, (gint32) n)];
}

#define PICK(rand, list) pick ((rand), (list), G_N_ELEMENTS (list))

static void
add_words (GPtrArray  *vector,
           const char *first,
           ...) G_GNUC_NULL_TERMINATED;

static void
add_words (GPtrArray  *vector,
           const char *first,
           ...)
{
  va_list args;

  va_start (args, first);
  for (const char *word = first; word != NULL; word = va_arg (args, const char *))
    g_ptr_array_add (vector, g_strdup (word));
  va_end (args);
}

/* A vector that gets past option parsing more often: the right shape for its command, with
 * values from numbers[] and words[], and now and then one random word inserted. */
static GPtrArray *
structured_vector (GRand      *rand,
                   guint       n,
                   const char *file_a,
                   const char *file_b)
{
  static const char * const map_options[] = { "-u", "-t", "--both", "--json", "--keep", "-l" };
  static const char * const profile_commands[] = {
    "list", "show", "add", "edit", "remove", "enable", "disable",
  };
  static const char * const profile_options[] = {
    "-u", "-t", "--both", "-l", "--disabled", "--enabled", "-d", "--name", "--public-port",
    "--private-port", "--json",
  };
  static const char * const names[] = { "SSH", "Web", "Bad", "New one", "x", "", "[x]", "名前" };
  GPtrArray *vector = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *gateway = g_strdup_printf ("127.0.5.%u", 1 + n % 250);
  guint kind = (guint) g_rand_int_range (rand, 0, 5);

#define ADD(word) g_ptr_array_add (vector, g_strdup (word))
  switch (kind)
    {
    case 0:
      add_words (vector, "address", "-g", gateway, "--timeout", "1", NULL);
      if (g_rand_boolean (rand))
        ADD ("--json");
      break;
    case 1:
      add_words (vector, "map", "-g", gateway, "--timeout", "1", NULL);
      for (gint i = g_rand_int_range (rand, 0, 4); i > 0; i--)
        {
          const char *option = PICK (rand, map_options);

          ADD (option);
          if (g_str_equal (option, "-l"))
            ADD (PICK (rand, numbers));
        }
      ADD (PICK (rand, numbers));
      ADD (PICK (rand, numbers));
      break;
    case 2:
      add_words (vector, "unmap", "-g", gateway, "--timeout", "1", NULL);
      if (g_rand_boolean (rand))
        ADD (g_rand_boolean (rand) ? "--all" : "-u");
      ADD (PICK (rand, numbers));
      break;
    case 3:
      ADD ("profiles");
      ADD (PICK (rand, profile_commands));
      if (g_rand_boolean (rand))
        {
          ADD ("-f");
          ADD (g_rand_boolean (rand) ? file_a : file_b);
        }
      ADD (PICK (rand, names));
      for (gint i = g_rand_int_range (rand, 0, 4); i > 0; i--)
        {
          const char *option = PICK (rand, profile_options);

          ADD (option);
          if (g_str_equal (option, "-l") || g_str_has_suffix (option, "port"))
            ADD (PICK (rand, numbers));
          else if (g_str_equal (option, "-d") || g_str_equal (option, "--name"))
            ADD (PICK (rand, names));
        }
      for (gint i = g_rand_int_range (rand, 0, 3); i > 0; i--)
        ADD (PICK (rand, numbers));
      break;
    default:
      add_words (vector, "run", "-g", gateway, "-f", g_rand_boolean (rand) ? file_a : file_b,
                 NULL);
      if (g_rand_boolean (rand))
        ADD ("--json");
      if (g_rand_boolean (rand))
        ADD ("--keep-mappings");
      break;
    }
#undef ADD

  /* One random word somewhere after the gateway, now and then. */
  if (g_rand_int_range (rand, 0, 4) == 0)
    {
      guint at = 5 + (guint) g_rand_int_range (rand, 0, 4);

      at = MIN (at, vector->len);

      g_ptr_array_insert (vector, (gint) at, random_word (rand, file_a, file_b));
    }

  g_ptr_array_add (vector, NULL);
  return vector;
}

static char *
describe_vector (GPtrArray *vector)
{
  GString *text = g_string_new ("portlightctl");

  for (guint i = 0; i + 1 < vector->len; i++)
    {
      const char *word = g_ptr_array_index (vector, i);
      g_autofree char *escaped = g_strescape (word, NULL);

      if (strlen (escaped) > 40)
        g_string_append_printf (text, " '%.20s…(%" G_GSIZE_FORMAT " bytes)'", escaped,
                                strlen (word));
      else
        g_string_append_printf (text, " '%s'", escaped);
    }
  return g_string_free (text, FALSE);
}

static void
seed_profiles (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path,
                       "# seeded by test-cli-fuzz\n"
                       "[SSH]\nProtocol=tcp\nInternalPort=22\nExternalPort=2222\n"
                       "[Web]\nProtocol=both\nInternalPort=8080\nEnabled=false\n"
                       "[Bad]\nProtocol=sctp\nInternalPort=1\n",
                       -1, &error);
  g_assert_no_error (error);
}

static void
test_random_vectors (void)
{
  g_autoptr(GRand) rand = NULL;
  g_autofree char *file_a = g_build_filename (g_get_user_config_dir (), "portlight",
                                              "profiles.ini", NULL);
  g_autofree char *file_b = g_build_filename (g_get_user_data_dir (), "other.ini", NULL);
  guint counts[7] = { 0, };
  guint n_stopped = 0;
  guint n_interrupted = 0;
  guint32 seed = 0x706c6374;    /* "plct" */
  double slowest = 0;

  g_test_summary ("500 seeded random argument vectors: portlightctl always exits by itself "
                  "with a documented code (0-6), never by a signal, and prints no GLib "
                  "critical or warning");

  if (g_getenv ("PORTLIGHT_CLI_FUZZ_SEED") != NULL)
    seed = (guint32) g_ascii_strtoull (g_getenv ("PORTLIGHT_CLI_FUZZ_SEED"), NULL, 0);
  rand = g_rand_new_with_seed (seed);
  g_test_message ("seed 0x%x (set PORTLIGHT_CLI_FUZZ_SEED to change it)", seed);

  /* In batches of 50 with fresh profiles files (vectors may have removed or broken them),
   * PARALLEL runs at a time within a batch: most runs wait (on a refused or silent gateway,
   * or for their SIGINT), so the batch takes about as long as its slowest run. */
  for (guint batch = 0; batch < N_RUNS; batch += BATCH)
    {
      g_autoptr(GPtrArray) vectors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
      Job *jobs[PARALLEL] = { NULL, };
      guint job_vector[PARALLEL] = { 0, };
      guint next = 0;
      guint n_done = 0;

      seed_profiles (file_a);
      seed_profiles (file_b);
      for (guint n = batch; n < batch + BATCH && n < N_RUNS; n++)
        g_ptr_array_add (vectors, n % 2 == 0 ? random_vector (rand, n, file_a, file_b)
                                             : structured_vector (rand, n, file_a, file_b));

      while (n_done < vectors->len)
        {
          for (guint slot = 0; slot < PARALLEL; slot++)
            if (jobs[slot] == NULL && next < vectors->len)
              {
                GPtrArray *vector = g_ptr_array_index (vectors, next);

                job_vector[slot] = next++;
                jobs[slot] = job_start ((const char * const *) vector->pdata, STOP_AFTER_S);
              }
          g_main_context_iteration (NULL, TRUE);

          for (guint slot = 0; slot < PARALLEL; slot++)
            {
              g_autoptr(Run) run = NULL;
              g_autofree char *text = NULL;

              if (jobs[slot] == NULL || !job_poll (jobs[slot]))
                continue;
              run = job_finish (g_steal_pointer (&jobs[slot]));
              n_done++;
              text = describe_vector (g_ptr_array_index (vectors, job_vector[slot]));
              slowest = MAX (slowest, run->seconds);

              /* A command still busy after 2 s (a --keep, a run, a long --timeout from the
               * vector) that Ctrl-C ends the default way is not a crash; any other signal
               * is. */
              if (!run->exited && run->stopped && run->status == SIGINT)
                {
                  n_interrupted++;
                  continue;
                }
              if (!run->exited || run->hung)
                g_error ("%s: killed by signal %d%s\nstderr: %s", text, run->status,
                         run->hung ? " (hung: SIGKILL after SIGINT)" : "", run->err);
              if (run->status < 0 || run->status > 6)
                g_error ("%s: exit status %d is not documented\nstderr: %s", text, run->status,
                         run->err);
              if (strstr (run->err, "CRITICAL") != NULL ||
                  strstr (run->err, "WARNING **") != NULL ||
                  strstr (run->err, "Sanitizer") != NULL ||
                  strstr (run->err, "runtime error") != NULL)
                g_error ("%s: exit %d with a warning or report:\n%s", text, run->status,
                         run->err);

              counts[run->status]++;
              if (run->stopped)
                n_stopped++;
            }
        }
    }

  g_test_message ("%u runs: exit 0: %u, 1: %u, 2: %u, 3: %u, 4: %u, 5: %u, 6: %u; after SIGINT "
                  "at %d s, %u exited cleanly (counted above) and %u by the default action; "
                  "slowest %.2f s", N_RUNS, counts[0], counts[1], counts[2], counts[3],
                  counts[4], counts[5], counts[6], STOP_AFTER_S, n_stopped, n_interrupted,
                  slowest);
}

/* Bounded requests. */

static void
test_bounded_requests (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlClock) clock = pl_clock_get_default ();
  g_autoptr(PlFakeGateway) gateway = NULL;
  const char *address = "127.0.5.253";
  /* RFC 6886 send times: 0, 0.25, 0.75, 1.75, 3.75 s. */
  const struct {
    const char *args[12];
    guint       timeout_s;
    guint       max_sends;   /* per request within the timeout */
    guint       n_requests;  /* requests the command makes */
  } cases[] = {
    { { "address", "-g", "@", "--timeout", "1", NULL }, 1, 3, 1 },
    { { "address", "-g", "@", "--timeout", "3", NULL }, 3, 4, 1 },
    { { "map", "-g", "@", "--timeout", "1", "80", "80", NULL }, 1, 3, 2 },
    { { "map", "-g", "@", "--timeout", "2", "-u", "-t", "80", "80", NULL }, 2, 4, 3 },
    { { "unmap", "-g", "@", "--timeout", "1", "80", NULL }, 1, 3, 1 },
    { { "unmap", "-g", "@", "--timeout", "1", "--all", NULL }, 1, 3, 2 },
    { { "map", "-g", "@", "--timeout", "1", "--keep", "80", "80", NULL }, 1, 3, 2 },
  };

  g_test_summary ("Against a silent gateway, every command sends no more than the RFC 6886 "
                  "schedule allows within --timeout: no retry storm, whatever the command");

  gateway = pl_fake_gateway_new (address, clock, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
    {
      g_test_skip_printf ("%s:5351 is taken", address);
      return;
    }
  g_assert_no_error (error);
  pl_fake_gateway_set_silent (gateway, TRUE);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *args[12];
      g_autoptr(Run) run = NULL;
      guint n_sent;
      guint n_pcp;
      guint bound;

      for (gsize j = 0; j < G_N_ELEMENTS (args); j++)
        args[j] = g_strcmp0 (cases[i].args[j], "@") == 0 ? address : cases[i].args[j];

      pl_fake_gateway_clear_requests (gateway);
      run = run_cli (args, cases[i].timeout_s * cases[i].n_requests + 5);
      /* The last datagrams may still be on their way. */
      for (guint k = 0; k < 10; k++)
        g_main_context_iteration (NULL, FALSE);
      /* NAT-PMP datagrams against the RFC 6886 bound; PCP, which portlightctl asks first
       * (one ANNOUNCE, resent at 3 s, RFC 6887 section 8.1.1), separately. */
      n_sent = 0;
      n_pcp = 0;
      for (guint k = 0; k < pl_fake_gateway_get_requests (gateway)->len; k++)
        {
          PlFakeRequest *r = g_ptr_array_index (pl_fake_gateway_get_requests (gateway), k);
          const guint8 *bytes = g_bytes_get_data (r->bytes, NULL);

          if (g_bytes_get_size (r->bytes) > 0 && bytes[0] == PL_PCP_PROTOCOL_VERSION)
            n_pcp++;
          else
            n_sent++;
        }
      bound = cases[i].max_sends * cases[i].n_requests;

      {
        g_autofree char *command = g_strjoinv (" ", (char **) args);

        g_test_message ("portlightctl %s: exit %d after %.2f s, %u NAT-PMP datagrams "
                        "(bound %u), %u PCP", command, run->status, run->seconds, n_sent,
                        bound, n_pcp);
      }
      g_assert_true (run->exited);
      g_assert_cmpint (run->status, >=, 0);
      g_assert_cmpint (run->status, <=, 6);
      g_assert_cmpuint (n_sent, >=, 1);
      g_assert_cmpuint (n_sent, <=, bound);
      g_assert_cmpuint (n_pcp, <=, cases[i].timeout_s >= 3 ? 2 : 1);
      /* --timeout bounds the whole command (loosely: a loaded machine is slow). */
      g_assert_cmpfloat (run->seconds, <, cases[i].timeout_s * cases[i].n_requests + 10.0);
    }
}

static void
test_skipped (void)
{
  g_test_skip ("PORTLIGHTCTL is not set");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* These are tests of the in-process commands: never the engine of a session bus this
   * test happens to run in (tests/test-cli-engine.c has a bus and an engine of its own). */
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/portlight-test-bus", TRUE);

  portlightctl = g_getenv ("PORTLIGHTCTL");
  if (portlightctl == NULL)
    {
      g_test_add_func ("/cli-fuzz/skipped", test_skipped);
      return g_test_run ();
    }

  g_test_add_func ("/cli-fuzz/random-vectors", test_random_vectors);
  g_test_add_func ("/cli-fuzz/bounded-requests", test_bounded_requests);

  return g_test_run ();
}
