/* test-cli-engine.c: portlightctl as a client of the running engine, on a private bus
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <signal.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "pl-cli.h"
#include "pl-fake-gateway.h"
#include "pl-test-bus.h"
#include "pl-test-launcher.h"

/* Each test has a private session bus (GTestDBus), its own fake NAT-PMP gateway on
 * 127.0.45.N with the real clock, and its own XDG folders (G_TEST_OPTION_ISOLATE_DIRS,
 * handed to every child). `portlightctl run` ($PORTLIGHTCTL) is the engine; the commands
 * under test are further portlightctl processes, which find it on the bus. The fake gateway
 * answers from this process's main context, so every wait iterates it. The B-xx numbers are
 * those of dbus-broker.md §9. */

#define LIMIT_S 30

typedef struct
{
  GTestDBus     *bus;
  PlClock       *clock;
  PlFakeGateway *gateway;
  char          *address;
  GSubprocess   *engine;
} Fixture;

static gboolean
set_flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the main context until @check (@data) holds, at most LIMIT_S seconds. */
static gboolean
iterate_until (gboolean (*check) (gpointer data),
               gpointer   data)
{
  gboolean expired = FALSE;
  guint id = g_timeout_add_seconds (LIMIT_S, set_flag_cb, &expired);

  while (!check (data) && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (id);
  return !expired;
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

static GSubprocessLauncher *
launcher_new (GSubprocessFlags    flags,
              const char * const *env)
{
  GSubprocessLauncher *launcher = pl_test_launcher_new (flags);

  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    {
      g_auto(GStrv) pair = g_strsplit (env[i], "=", 2);

      g_subprocess_launcher_setenv (launcher, pair[0], pair[1], TRUE);
    }
  return launcher;
}

/* Starts portlightctl with @args ("@GW@" stands for the fake gateway). @log: (nullable):
 * where its stderr goes (else @flags say). */
static GSubprocess *
spawn_logged (Fixture            *f,
              const char * const *env,
              GSubprocessFlags    flags,
              const char         *log,
              const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = launcher_new (flags, env);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  if (log != NULL)
    g_subprocess_launcher_set_stderr_file_path (launcher, log);

  g_ptr_array_add (argv, (gpointer) g_getenv ("PORTLIGHTCTL"));
  g_assert_nonnull (argv->pdata[0]);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, g_str_equal (args[i], "@GW@") ? f->address : (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  return process;
}

static GSubprocess *
spawn (Fixture            *f,
       const char * const *env,
       GSubprocessFlags    flags,
       const char * const *args)
{
  return spawn_logged (f, env, flags, NULL, args);
}

typedef struct
{
  gboolean  done;
  char     *out;
  char     *err;
  int       status;
} Result;

static void
result_clear (Result *result)
{
  g_free (result->out);
  g_free (result->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Result, result_clear)

static void
communicate_cb (GObject      *source,
                GAsyncResult *async_result,
                gpointer      user_data)
{
  Result *result = user_data;
  g_autoptr(GError) error = NULL;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), async_result, &result->out,
                                        &result->err, &error);
  g_assert_no_error (error);
  result->done = TRUE;
}

/* Waits for @process to end (with stdout and stderr piped). */
static void
finish (GSubprocess *process,
        Result      *result)
{
  g_subprocess_communicate_utf8_async (process, NULL, NULL, communicate_cb, result);
  g_assert_true (iterate_until (flag_set, &result->done));
  g_assert_true (g_subprocess_get_if_exited (process));
  result->status = g_subprocess_get_exit_status (process);
  g_test_message ("exit %d\nstdout:\n%s\nstderr:\n%s", result->status, result->out,
                  result->err);
}

/* Runs portlightctl to its end. */
static void
run_cli (Fixture            *f,
         const char * const *env,
         Result             *result,
         const char * const *args)
{
  g_autoptr(GSubprocess) process =
    spawn (f, env, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, args);

  finish (process, result);
}

#define RUN(f, result, ...) run_cli (f, NULL, result, (const char * const[]) { __VA_ARGS__, NULL })

static void
assert_contains (const char *haystack,
                 const char *needle)
{
  if (haystack == NULL || strstr (haystack, needle) == NULL)
    g_error ("“%s” not found in:\n%s", needle, haystack);
}

static JsonObject *
parse_object (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* Lines from a child's stdout */

typedef struct
{
  GDataInputStream *stream;
  char             *line;
  gboolean          done;
} LineReader;

static void
line_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  LineReader *reader = user_data;

  reader->line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source),
                                                            result, NULL, NULL);
  reader->done = TRUE;
}

/* The next line of @process's stdout (NULL at its end). */
static char *
read_line (LineReader *reader)
{
  reader->done = FALSE;
  reader->line = NULL;
  g_data_input_stream_read_line_async (reader->stream, G_PRIORITY_DEFAULT, NULL, line_cb,
                                       reader);
  g_assert_true (iterate_until (flag_set, &reader->done));
  g_test_message ("line: %s", reader->line != NULL ? reader->line : "(end)");
  return g_steal_pointer (&reader->line);
}

static void
reader_init (LineReader  *reader,
             GSubprocess *process)
{
  reader->stream = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (reader->stream), FALSE);
}

static void
reader_clear (LineReader *reader)
{
  g_clear_object (&reader->stream);
}

/* The fake gateway's table */

typedef struct
{
  Fixture *f;
  guint    n;
} Count;

static gboolean
mappings_are (gpointer data)
{
  Count *count = data;

  return pl_fake_gateway_get_n_mappings (count->f->gateway) == count->n;
}

static void
wait_mappings (Fixture *f,
               guint    n)
{
  Count count = { f, n };

  if (!iterate_until (mappings_are, &count))
    g_error ("The fake gateway holds %u mappings, not %u",
             pl_fake_gateway_get_n_mappings (f->gateway), n);
}

/* Whether the fake gateway saw a delete (lifetime 0) of @internal_port, and never internal
 * port 0 (NAT-PMP's "delete all"). */
static gboolean
saw_delete (Fixture *f,
            guint16  internal_port)
{
  GPtrArray *requests = pl_fake_gateway_get_requests (f->gateway);
  gboolean seen = FALSE;

  for (guint i = 0; i < requests->len; i++)
    {
      PlFakeRequest *r = g_ptr_array_index (requests, i);

      if (r->request.opcode == PL_NATPMP_OP_EXTERNAL_ADDRESS || r->request.version != 0)
        continue;
      g_assert_cmpuint (r->request.internal_port, !=, 0);
      if (r->request.internal_port == internal_port && r->request.lifetime == 0)
        seen = TRUE;
    }
  return seen;
}

/* The engine */

static void
name_appeared_cb (GDBusConnection *connection,
                  const char      *name,
                  const char      *owner,
                  gpointer         user_data)
{
  *(gboolean *) user_data = TRUE;
}

static void
start_engine (Fixture *f)
{
  /* Its stderr in a file: a failed test must not leave the test's own stderr open in a
   * child (the engine ends with the bus in any case). */
  g_autofree char *log = g_build_filename (g_get_user_runtime_dir (), "engine.log", NULL);
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  gboolean appeared = FALSE;
  guint id;

  f->engine = spawn_logged (f, NULL, G_SUBPROCESS_FLAGS_STDOUT_SILENCE, log,
                            (const char * const[]) { "run", "--protocol", "natpmp", "-g", "@GW@",
                                                     NULL });

  connection = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (f->bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
  id = g_bus_watch_name_on_connection (connection, "io.github.portlight.Portlight.Broker1",
                                       G_BUS_NAME_WATCHER_FLAGS_NONE, name_appeared_cb, NULL,
                                       &appeared, NULL);
  g_assert_true (iterate_until (flag_set, &appeared));
  g_bus_unwatch_name (id);
  g_dbus_connection_close_sync (connection, NULL, NULL);
}

static void
stop_engine (Fixture *f)
{
  g_auto(Result) result = { 0 };

  if (f->engine == NULL)
    return;
  g_subprocess_send_signal (f->engine, SIGTERM);
  g_subprocess_communicate_utf8_async (f->engine, NULL, NULL, communicate_cb, &result);
  g_assert_true (iterate_until (flag_set, &result.done));
  g_assert_true (g_subprocess_get_if_exited (f->engine));
  g_assert_cmpint (g_subprocess_get_exit_status (f->engine), ==, 0);
  g_clear_object (&f->engine);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  static guint next_host = 1;
  g_autoptr(GError) error = NULL;

  f->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  pl_test_bus_up (f->bus);   /* sets DBUS_SESSION_BUS_ADDRESS for the children */
  f->address = g_strdup_printf ("127.0.45.%u", next_host++);
  f->clock = pl_clock_get_default ();
  f->gateway = pl_fake_gateway_new (f->address, f->clock, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  if (f->engine != NULL)
    {
      g_subprocess_force_exit (f->engine);
      g_subprocess_wait (f->engine, NULL, NULL);
      g_clear_object (&f->engine);
    }
  pl_test_bus_down (f->bus);
  g_clear_object (&f->bus);
  g_clear_object (&f->gateway);
  g_clear_object (&f->clock);
  g_free (f->address);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* The lease of @private_port in `status --json`, or NULL. */
static JsonObject *
status_lease (Fixture *f,
              guint    private_port)
{
  g_auto(Result) result = { 0 };
  g_autoptr(JsonObject) status = NULL;
  JsonArray *leases;

  RUN (f, &result, "status", "--json");
  g_assert_cmpint (result.status, ==, PL_EXIT_OK);
  status = parse_object (result.out);
  leases = json_object_get_array_member (status, "leases");
  for (guint i = 0; i < json_array_get_length (leases); i++)
    {
      JsonObject *lease = json_array_get_object_element (leases, i);

      if (json_object_get_int_member (lease, "private_port") == private_port)
        return json_object_ref (lease);
    }
  return NULL;
}

/* Tests */

/* status without an engine: one line, exit 7; with one: the router and its leases. */
static void
test_status (Fixture       *f,
             gconstpointer  data)
{
  g_auto(Result) none = { 0 };
  g_auto(Result) none_json = { 0 };
  g_auto(Result) text = { 0 };
  g_auto(Result) json = { 0 };
  g_autoptr(JsonObject) error_object = NULL;
  g_autoptr(JsonObject) status = NULL;
  g_autofree char *want = NULL;
  JsonObject *engine;

  RUN (f, &none, "status");
  g_assert_cmpint (none.status, ==, PL_EXIT_NO_ENGINE);
  g_assert_cmpstr (none.out, ==, "Portlight's engine is not running\n");
  RUN (f, &none_json, "status", "--json");
  g_assert_cmpint (none_json.status, ==, PL_EXIT_NO_ENGINE);
  error_object = parse_object (none_json.out);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (error_object,
                                                                                  "error"),
                                                  "code"), ==, "no-engine");

  start_engine (f);
  /* Wait until the engine has heard the router's address. */
  for (guint i = 0; i < 100; i++)
    {
      g_auto(Result) probe = { 0 };
      g_autoptr(JsonObject) object = NULL;

      RUN (f, &probe, "status", "--json");
      object = parse_object (probe.out);
      if (!json_object_get_null_member (object, "public_address"))
        {
          status = g_steal_pointer (&object);
          break;
        }
      g_usleep (100000);
    }
  g_assert_nonnull (status);
  engine = json_object_get_object_member (status, "engine");
  g_assert_cmpstr (json_object_get_string_member (status, "gateway"), ==, f->address);
  g_assert_cmpstr (json_object_get_string_member (status, "protocol"), ==, "natpmp");
  g_assert_cmpstr (json_object_get_string_member (status, "public_address"), ==, "203.0.113.7");
  g_assert_cmpstr (json_object_get_string_member (status, "state"), ==, "ready");
  /* This engine has no IPv6 router: no pinhole address (the lab has one). */
  g_assert_true (json_object_has_member (status, "ipv6_address"));
  g_assert_true (json_object_get_null_member (status, "ipv6_address"));
  g_assert_cmpint (json_object_get_int_member (engine, "pid"), ==,
                   g_ascii_strtoll (g_subprocess_get_identifier (f->engine), NULL, 10));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (status, "leases")),
                    ==, 0);

  RUN (f, &text, "status");
  g_assert_cmpint (text.status, ==, PL_EXIT_OK);
  want = g_strdup_printf ("Engine: running (pid %s), ready\n",
                          g_subprocess_get_identifier (f->engine));
  assert_contains (text.out, want);
  assert_contains (text.out, "Public address: 203.0.113.7\n");
  assert_contains (text.out, "Mappings: none\n");
  stop_engine (f);
}

/* Waits until the engine has heard the router's public address (status --json says it). */
static void
wait_engine_address (Fixture *f)
{
  for (guint i = 0; i < 100; i++)
    {
      g_auto(Result) probe = { 0 };
      g_autoptr(JsonObject) object = NULL;

      RUN (f, &probe, "status", "--json");
      object = parse_object (probe.out);
      if (!json_object_get_null_member (object, "public_address"))
        return;
      g_usleep (100000);
    }
  g_error ("The engine heard no public address");
}

/* address while the engine runs: the engine's Manager answers, the router is not asked by
 * the command (silent now, and with another address than the engine heard), in text and
 * JSON, as in-process; -g naming another router is warned about, not used. */
static void
test_address (Fixture       *f,
              gconstpointer  data)
{
  g_auto(Result) text = { 0 };
  g_auto(Result) json = { 0 };
  g_auto(Result) other = { 0 };
  g_autoptr(JsonObject) object = NULL;
  g_autofree char *want = NULL;

  start_engine (f);
  wait_engine_address (f);
  pl_fake_gateway_set_silent (f->gateway, TRUE);
  pl_fake_gateway_set_external_address (f->gateway, "198.51.100.9");
  pl_fake_gateway_clear_requests (f->gateway);

  RUN (f, &text, "address", "-g", "@GW@", "--protocol", "natpmp", "--timeout", "3");
  g_assert_cmpint (text.status, ==, PL_EXIT_OK);
  want = g_strdup_printf ("Gateway: %s · NAT-PMP\nPublic address: 203.0.113.7\n", f->address);
  g_assert_cmpstr (text.out, ==, want);
  g_assert_cmpstr (text.err, ==, "");

  RUN (f, &json, "address", "--json", "-g", "@GW@", "--protocol", "natpmp", "--timeout", "3");
  g_assert_cmpint (json.status, ==, PL_EXIT_OK);
  object = parse_object (json.out);
  g_assert_cmpstr (json_object_get_string_member (object, "gateway"), ==, f->address);
  g_assert_cmpstr (json_object_get_string_member (object, "protocol"), ==, "natpmp");
  g_assert_cmpstr (json_object_get_string_member (object, "public_address"), ==, "203.0.113.7");
  /* The router's epoch as the engine heard it (/cli-engine/epoch checks its value). */
  g_assert_true (json_object_has_member (object, "epoch"));
  g_assert_false (json_object_get_null_member (object, "epoch"));
  g_assert_false (json_object_get_boolean_member (object, "double_nat"));
  g_assert_cmpuint (json_object_get_size (object), ==, 5);

  /* -g naming another router: the engine's answer all the same, with a warning naming it. */
  RUN (f, &other, "address", "-g", "127.0.45.250", "--timeout", "3");
  g_assert_cmpint (other.status, ==, PL_EXIT_OK);
  g_assert_cmpstr (other.out, ==, want);
  g_clear_pointer (&want, g_free);
  want = g_strdup_printf ("warning: Portlight's engine (pid %s) speaks to the router at %s; "
                          "--gateway is not used\n",
                          g_subprocess_get_identifier (f->engine), f->address);
  assert_contains (other.err, want);

  /* None of the commands sent the router anything (the engine has no reason to either). */
  g_assert_cmpuint (pl_fake_gateway_get_requests (f->gateway)->len, ==, 0);
  stop_engine (f);
}

/* address while the engine does not know the address yet: the command asks it to refresh
 * and waits; the answer is the engine's, on the engine's gateway (no -g here: in-process
 * would ask this computer's own default gateway instead). */
static void
test_address_wait (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GSubprocess) address = NULL;
  g_auto(Result) result = { 0 };
  g_autoptr(JsonObject) object = NULL;
  gboolean asked;

  pl_fake_gateway_set_silent (f->gateway, TRUE);
  start_engine (f);
  address = spawn (f, NULL, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                   (const char * const[]) { "address", "--json", "--timeout", "25", NULL });
  /* Let the command find the engine waiting for the router, then let the router answer. */
  for (guint i = 0; i < 10; i++)
    g_main_context_iteration (NULL, FALSE);
  g_usleep (500000);
  asked = pl_fake_gateway_get_requests (f->gateway)->len > 0;
  g_test_message ("the engine asked before the router answered: %d", asked);
  pl_fake_gateway_set_silent (f->gateway, FALSE);
  finish (address, &result);
  g_assert_cmpint (result.status, ==, PL_EXIT_OK);
  object = parse_object (result.out);
  g_assert_cmpstr (json_object_get_string_member (object, "gateway"), ==, f->address);
  g_assert_cmpstr (json_object_get_string_member (object, "protocol"), ==, "natpmp");
  g_assert_cmpstr (json_object_get_string_member (object, "public_address"), ==, "203.0.113.7");
  stop_engine (f);
}

/* address when the engine hears nothing within --timeout: the command's own message and
 * exit code, nothing of D-Bus. */
static void
test_address_timeout (Fixture       *f,
                      gconstpointer  data)
{
  g_auto(Result) text = { 0 };
  g_auto(Result) json = { 0 };
  g_autoptr(JsonObject) object = NULL;
  JsonObject *error;

  pl_fake_gateway_set_silent (f->gateway, TRUE);
  start_engine (f);
  RUN (f, &text, "address", "--timeout", "1");
  g_assert_cmpint (text.status, ==, PL_EXIT_NO_ANSWER);
  assert_contains (text.err, "Portlight's engine has heard no public address from the router "
                             "within 1 s");
  g_assert_null (strstr (text.err, "org.freedesktop"));
  g_assert_null (strstr (text.err, "GDBus"));

  RUN (f, &json, "address", "--json", "--timeout", "1");
  g_assert_cmpint (json.status, ==, PL_EXIT_NO_ANSWER);
  object = parse_object (json.out);
  error = json_object_get_object_member (object, "error");
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, "timed-out");
  g_assert_null (strstr (json.out, "org.freedesktop"));
  stop_engine (f);
}

/* map --keep through the engine: a lease owned by the CLI's pid, shown by status; Ctrl-C
 * releases it (the "unmapped" event) and the engine deletes the mapping. */
static void
test_keep_release (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GSubprocess) keep = NULL;
  g_autoptr(JsonObject) mapped = NULL;
  g_autoptr(JsonObject) unmapped = NULL;
  g_autoptr(JsonObject) lease = NULL;
  g_auto(Result) text = { 0 };
  g_autofree char *line = NULL;
  g_autofree char *want = NULL;
  g_auto(Result) rest = { 0 };
  LineReader reader = { 0 };
  JsonObject *owner;
  JsonArray *mappings;

  start_engine (f);
  keep = spawn (f, NULL, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                (const char * const[]) { "map", "--keep", "--json", "-u", "-t", "8080", "8080",
                                         NULL });
  reader_init (&reader, keep);
  line = read_line (&reader);
  g_assert_nonnull (line);
  mapped = parse_object (line);
  g_assert_cmpstr (json_object_get_string_member (mapped, "event"), ==, "mapped");
  g_assert_cmpstr (json_object_get_string_member (mapped, "gateway"), ==, f->address);
  g_assert_cmpstr (json_object_get_string_member (mapped, "protocol"), ==, "natpmp");
  g_assert_cmpstr (json_object_get_string_member (mapped, "public_address"), ==, "203.0.113.7");
  mappings = json_object_get_array_member (mapped, "mappings");
  g_assert_cmpuint (json_array_get_length (mappings), ==, 2);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (mappings, 0),
                                               "public_port"), ==, 8080);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (mappings, 0),
                                               "lifetime"), ==, 7200);
  wait_mappings (f, 2);

  lease = status_lease (f, 8080);
  g_assert_nonnull (lease);
  owner = json_object_get_object_member (lease, "owner");
  g_assert_cmpstr (json_object_get_string_member (owner, "kind"), ==, "cli");
  g_assert_cmpint (json_object_get_int_member (owner, "pid"), ==,
                   g_ascii_strtoll (g_subprocess_get_identifier (keep), NULL, 10));
  g_assert_cmpstr (json_object_get_string_member (lease, "bind"), ==, "caller");
  g_assert_cmpstr (json_object_get_string_member (lease, "state"), ==, "active");
  g_assert_true (json_object_get_null_member (lease, "until"));
  mappings = json_object_get_array_member (lease, "mappings");
  g_assert_cmpuint (json_array_get_length (mappings), ==, 2);
  g_assert_false (json_object_get_null_member (json_array_get_object_element (mappings, 0),
                                               "renews"));

  RUN (f, &text, "status");
  want = g_strdup_printf ("TCP+UDP private port 8080, active — portlightctl (pid %s)",
                          g_subprocess_get_identifier (keep));
  assert_contains (text.out, want);
  assert_contains (text.out, "TCP public 203.0.113.7:8080, renews at ");

  g_subprocess_send_signal (keep, SIGINT);
  g_clear_pointer (&line, g_free);
  line = read_line (&reader);
  g_assert_nonnull (line);
  unmapped = parse_object (line);
  g_assert_cmpstr (json_object_get_string_member (unmapped, "event"), ==, "unmapped");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (unmapped, "unmapped")),
                    ==, 2);
  reader_clear (&reader);
  finish (keep, &rest);
  g_assert_cmpint (rest.status, ==, PL_EXIT_OK);
  wait_mappings (f, 0);
  g_assert_true (saw_delete (f, 8080));
  g_assert_null (status_lease (f, 8080));
  stop_engine (f);
}

/* map --keep through the engine reports the engine's renewals as the in-process one does:
 * the router grants 4 s, so the engine renews at about 2 s ("renewed", public port kept). */
static void
test_keep_renewed (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GSubprocess) keep = NULL;
  g_autoptr(JsonObject) mapped = NULL;
  g_autoptr(JsonObject) renewed = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_auto(Result) rest = { 0 };
  LineReader reader = { 0 };
  JsonObject *m;

  pl_fake_gateway_set_granted_lifetime (f->gateway, 4);
  start_engine (f);
  keep = spawn (f, NULL, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                (const char * const[]) { "map", "--keep", "--json", "8088", "8088", NULL });
  reader_init (&reader, keep);
  first = read_line (&reader);
  mapped = parse_object (first);
  g_assert_cmpstr (json_object_get_string_member (mapped, "event"), ==, "mapped");
  m = json_array_get_object_element (json_object_get_array_member (mapped, "mappings"), 0);
  g_assert_cmpint (json_object_get_int_member (m, "lifetime"), ==, 4);

  second = read_line (&reader);
  renewed = parse_object (second);
  g_assert_cmpstr (json_object_get_string_member (renewed, "event"), ==, "renewed");
  m = json_array_get_object_element (json_object_get_array_member (renewed, "mappings"), 0);
  g_assert_cmpint (json_object_get_int_member (m, "public_port"), ==, 8088);
  g_assert_cmpint (json_object_get_int_member (m, "requested_public_port"), ==, 8088);
  reader_clear (&reader);

  g_subprocess_send_signal (keep, SIGTERM);
  finish (keep, &rest);
  g_assert_cmpint (rest.status, ==, PL_EXIT_OK);
  assert_contains (rest.out, "\"event\":\"unmapped\"");
  wait_mappings (f, 0);
  stop_engine (f);
}

/* B-02 through the CLI: map --keep killed with SIGKILL (no Release): the engine sees the
 * caller vanish and deletes that port only. */
static void
test_keep_killed (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GSubprocess) keep = NULL;
  g_autoptr(JsonObject) lease = NULL;
  g_autofree char *line = NULL;
  LineReader reader = { 0 };

  start_engine (f);
  keep = spawn (f, NULL, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                (const char * const[]) { "map", "--keep", "8081", "8081", NULL });
  reader_init (&reader, keep);
  /* Gateway, public address, Mapped, Lifetime, Keeping… */
  do
    {
      g_free (line);
      line = read_line (&reader);
      g_assert_nonnull (line);
    }
  while (!g_str_has_prefix (line, "Keeping the mapping"));
  wait_mappings (f, 1);
  lease = status_lease (f, 8081);
  g_assert_nonnull (lease);

  g_subprocess_force_exit (keep);
  g_assert_true (g_subprocess_wait (keep, NULL, NULL));
  reader_clear (&reader);
  wait_mappings (f, 0);
  g_assert_true (saw_delete (f, 8081));
  g_clear_pointer (&lease, json_object_unref);
  lease = status_lease (f, 8081);
  g_assert_null (lease);
  stop_engine (f);
}

/* Plain map while the engine runs: a bind=none lease of the CLI that outlives it, with the
 * lifetime as its duration; unmap releases it and the engine deletes the mapping. */
static void
test_map_bind_none (Fixture       *f,
                    gconstpointer  data)
{
  g_auto(Result) map = { 0 };
  g_auto(Result) unmap = { 0 };
  g_autoptr(JsonObject) result = NULL;
  g_autoptr(JsonObject) lease = NULL;
  JsonArray *mappings;

  start_engine (f);
  RUN (f, &map, "map", "--json", "-l", "600", "8082", "8082");
  g_assert_cmpint (map.status, ==, PL_EXIT_OK);
  result = parse_object (map.out);
  g_assert_false (json_object_has_member (result, "event"));
  mappings = json_object_get_array_member (result, "mappings");
  g_assert_cmpuint (json_array_get_length (mappings), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (mappings, 0),
                                                  "protocol"), ==, "tcp");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (mappings, 0),
                                               "public_port"), ==, 8082);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (mappings, 0),
                                               "lifetime"), ==, 600);

  /* The CLI has exited; the engine still holds the mapping. */
  lease = status_lease (f, 8082);
  g_assert_nonnull (lease);
  g_assert_cmpstr (json_object_get_string_member (lease, "bind"), ==, "none");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (lease, "owner"),
                                                  "kind"), ==, "cli");
  g_assert_false (json_object_get_null_member (lease, "until"));
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 1);

  RUN (f, &unmap, "unmap", "8082");
  g_assert_cmpint (unmap.status, ==, PL_EXIT_OK);
  assert_contains (unmap.out, "Removed the TCP mapping of private port 8082\n");
  wait_mappings (f, 0);
  g_assert_true (saw_delete (f, 8082));
  g_clear_pointer (&lease, json_object_unref);
  lease = status_lease (f, 8082);
  g_assert_null (lease);
  stop_engine (f);
}

/* Waits until the engine holds a lease on @private_port (in any state). */
static gboolean
lease_listed (gpointer data)
{
  Count *count = data;
  g_autoptr(JsonObject) lease = status_lease (count->f, count->n);

  return lease != NULL;
}

/* Ctrl-C while plain map waits for the router (silent): the command is cancelled, plainly
 * (one line, exit 5), and the engine holds no lease of it, so nothing opens later; the same
 * for SIGTERM with --json (an "interrupted" error object) and for the start of --keep. */
static void
test_map_interrupted (Fixture       *f,
                      gconstpointer  data)
{
  static const struct
  {
    int          signal;
    guint        port;
    const char  *args[8];
  } cases[] = {
    { SIGINT, 8084, { "map", "-l", "600", "8084", "8084", NULL } },
    { SIGTERM, 8085, { "map", "--json", "-l", "600", "8085", "8085", NULL } },
    { SIGINT, 8086, { "map", "--keep", "8086", "8086", NULL } },
  };

  start_engine (f);
  wait_engine_address (f);
  pl_fake_gateway_set_silent (f->gateway, TRUE);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GSubprocess) map = NULL;
      g_autoptr(JsonObject) lease = NULL;
      g_auto(Result) rest = { 0 };
      gboolean json = g_strv_contains (cases[i].args, "--json");
      guint port = cases[i].port;
      Count count = { f, port };

      map = spawn (f, NULL, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                   cases[i].args);
      /* The command waits for the router, its lease pending. */
      g_assert_true (iterate_until (lease_listed, &count));
      lease = status_lease (f, port);
      g_assert_cmpstr (json_object_get_string_member (lease, "state"), ==, "pending");
      /* One family: its problems would be in "error"; "pinhole_error" is for both. */
      g_assert_true (json_object_get_null_member (lease, "pinhole_error"));
      g_subprocess_send_signal (map, cases[i].signal);
      finish (map, &rest);
      g_assert_cmpint (rest.status, ==, PL_EXIT_LOCAL_ERROR);
      if (json)
        {
          g_autoptr(JsonObject) object = parse_object (rest.out);
          JsonObject *error = json_object_get_object_member (object, "error");

          g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, "interrupted");
          g_assert_cmpstr (json_object_get_string_member (error, "message"), ==,
                           "Interrupted: nothing was left open");
        }
      else
        {
          g_assert_cmpstr (rest.out, ==, "");
          g_assert_cmpstr (rest.err, ==,
                           "portlightctl map: Interrupted: nothing was left open\n");
        }
      g_clear_pointer (&lease, json_object_unref);
      lease = status_lease (f, port);
      g_assert_null (lease);
    }

  /* The router answers again: nothing of those commands is mapped. */
  pl_fake_gateway_set_silent (f->gateway, FALSE);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 0);
  stop_engine (f);
}

/* The epoch of the fake gateway's reply to the last request for @internal_port (@lifetime
 * 0: its delete), given that the epoch was @base at clock time @since: the lower of the two
 * values it can have, as the reply leaves within the second of the request or the next. */
static gint64
reply_epoch (Fixture *f,
             guint16  internal_port,
             gboolean delete,
             guint32  base,
             gint64   since)
{
  GPtrArray *requests = pl_fake_gateway_get_requests (f->gateway);

  for (guint i = requests->len; i > 0; i--)
    {
      PlFakeRequest *r = g_ptr_array_index (requests, i - 1);

      if (r->request.opcode == PL_NATPMP_OP_EXTERNAL_ADDRESS || r->request.version != 0 ||
          r->request.internal_port != internal_port || (r->request.lifetime == 0) != delete)
        continue;
      return base + (r->time - since) / G_USEC_PER_SEC;
    }
  return -1;
}

static void
assert_epoch (JsonObject *object,
              gint64      lower)
{
  gint64 epoch;

  g_assert_true (json_object_has_member (object, "epoch"));
  g_assert_false (json_object_get_null_member (object, "epoch"));
  epoch = json_object_get_int_member (object, "epoch");
  g_assert_cmpint (lower, >, 0);
  g_assert_cmpint (epoch, >=, lower);
  g_assert_cmpint (epoch, <=, lower + 1);
}

/* map, address and unmap through the engine print the router's epoch in JSON as the
 * engine last heard it (Manager.Epoch), not 0 or null: the epoch of the fake gateway's reply
 * to the mapping (map, and address after it), then to its delete or the mapping (unmap). */
static void
test_epoch (Fixture       *f,
            gconstpointer  data)
{
  const guint32 base = 1000000;
  g_auto(Result) map = { 0 };
  g_auto(Result) address = { 0 };
  g_auto(Result) unmap = { 0 };
  g_autoptr(JsonObject) mapped = NULL;
  g_autoptr(JsonObject) told = NULL;
  g_autoptr(JsonObject) unmapped = NULL;
  gint64 since;
  gint64 lower;

  pl_fake_gateway_set_epoch (f->gateway, base);
  since = pl_clock_get_time (f->clock);
  start_engine (f);
  wait_engine_address (f);

  RUN (f, &map, "map", "--json", "-l", "600", "8087", "8087");
  g_assert_cmpint (map.status, ==, PL_EXIT_OK);
  mapped = parse_object (map.out);
  lower = reply_epoch (f, 8087, FALSE, base, since);
  assert_epoch (mapped, lower);

  RUN (f, &address, "address", "--json");
  g_assert_cmpint (address.status, ==, PL_EXIT_OK);
  told = parse_object (address.out);
  assert_epoch (told, lower);
  g_assert_cmpint (json_object_get_int_member (told, "epoch"), ==,
                   json_object_get_int_member (mapped, "epoch"));

  RUN (f, &unmap, "unmap", "--json", "8087");
  g_assert_cmpint (unmap.status, ==, PL_EXIT_OK);
  unmapped = parse_object (unmap.out);
  wait_mappings (f, 0);
  /* The engine may have heard the delete's reply before the command read the epoch. */
  if (json_object_get_int_member (unmapped, "epoch") != json_object_get_int_member (mapped, "epoch"))
    lower = reply_epoch (f, 8087, TRUE, base, since);
  assert_epoch (unmapped, lower);
  stop_engine (f);
}

/* map --keep says plainly when the engine goes away under it. */
static void
test_keep_engine_stops (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GSubprocess) keep = NULL;
  g_autofree char *line = NULL;
  g_auto(Result) rest = { 0 };
  LineReader reader = { 0 };

  start_engine (f);
  keep = spawn (f, NULL, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                (const char * const[]) { "map", "--keep", "--json", "8083", "8083", NULL });
  reader_init (&reader, keep);
  line = read_line (&reader);
  assert_contains (line, "\"event\":\"mapped\"");
  reader_clear (&reader);
  stop_engine (f);
  finish (keep, &rest);
  g_assert_cmpint (rest.status, ==, PL_EXIT_LOCAL_ERROR);
  assert_contains (rest.out, "\"code\":\"engine-stopped\"");
  assert_contains (rest.out, "Portlight's engine stopped");
}

#define ENGINE_PATH "The change goes through Portlight's engine"

static void
run_profiles (Fixture            *f,
              Result             *result,
              const char * const *args)
{
  const char *env[] = { "G_MESSAGES_DEBUG=pl-cli", NULL };

  run_cli (f, env, result, args);
}

#define PROFILES(f, result, ...) \
  run_profiles (f, result, (const char * const[]) { "profiles", __VA_ARGS__, NULL })

/* B-17 through the CLI: with the engine running, profiles add/enable/disable/remove go
 * through it (its debug line says so); it writes profiles.ini and maps on the fake gateway.
 * --no-broker is refused meanwhile. */
/* Every key `profiles add` writes reaches the file through the engine, and an edit keeps
 * what it does not change (ExternalPort=any above all: giving a public port ends it). */
static void
test_profiles_keys (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *folder = g_build_filename (g_get_user_config_dir (), "portlight", NULL);
  g_autofree char *file = g_build_filename (folder, "profiles.ini", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(Result) add = { 0 };
  g_auto(Result) edit = { 0 };

  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  g_file_set_contents (file, "# mine\n", -1, &error);
  g_assert_no_error (error);
  start_engine (f);

  /* Gateway=vpn and a program that does not run: the profile waits, nothing is mapped. */
  PROFILES (f, &add, "add", "vpn-torrent", "--both", "--gateway", "vpn",
            "--app", "process:pl-not-running", "--network", "home; gateway=02:11:22:33:44:55",
            "--on-port-change", "true %p", "any", "51413");
  g_assert_cmpint (add.status, ==, PL_EXIT_OK);
  assert_contains (add.err, ENGINE_PATH);
  g_file_get_contents (file, &contents, NULL, &error);
  g_assert_no_error (error);
  assert_contains (contents, "[vpn-torrent]");
  assert_contains (contents, "ExternalPort=any\n");
  assert_contains (contents, "Gateway=vpn\n");
  assert_contains (contents, "App=process:pl-not-running\n");
  assert_contains (contents, "Network=home; gateway=02:11:22:33:44:55\n");
  assert_contains (contents, "OnPortChange=true %p\n");

  PROFILES (f, &edit, "edit", "vpn-torrent", "-l", "120");
  g_assert_cmpint (edit.status, ==, PL_EXIT_OK);
  assert_contains (edit.err, ENGINE_PATH);
  g_file_get_contents (file, &after, NULL, &error);
  g_assert_no_error (error);
  assert_contains (after, "Lifetime=120\n");
  assert_contains (after, "ExternalPort=any\n");
  assert_contains (after, "Gateway=vpn\n");
  assert_contains (after, "App=process:pl-not-running\n");
  assert_contains (after, "Network=home; gateway=02:11:22:33:44:55\n");
  assert_contains (after, "OnPortChange=true %p\n");
}

static void
test_profiles (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *folder = g_build_filename (g_get_user_config_dir (), "portlight", NULL);
  g_autofree char *file = g_build_filename (folder, "profiles.ini", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) lease = NULL;
  g_auto(Result) enable = { 0 };
  g_auto(Result) add = { 0 };
  g_auto(Result) disable = { 0 };
  g_auto(Result) remove = { 0 };
  g_auto(Result) bad = { 0 };
  g_auto(Result) edit = { 0 };
  g_auto(Result) refused = { 0 };
  g_auto(Result) other = { 0 };
  g_autofree char *other_file = g_build_filename (g_get_user_runtime_dir (), "other.ini", NULL);

  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  g_file_set_contents (file, "[Web]\nProtocol=tcp\nFamily=ipv4\nInternalPort=18081\n"
                       "Enabled=false\n", -1, &error);
  g_assert_no_error (error);
  start_engine (f);

  PROFILES (f, &refused, "--no-broker", "enable", "Web");
  g_assert_cmpint (refused.status, ==, PL_EXIT_LOCAL_ERROR);
  assert_contains (refused.err, "Portlight's engine is running as pid");

  PROFILES (f, &enable, "enable", "Web");
  g_assert_cmpint (enable.status, ==, PL_EXIT_OK);
  assert_contains (enable.out, "Enabled profile “Web”\n");
  assert_contains (enable.err, ENGINE_PATH);
  wait_mappings (f, 1);
  g_file_get_contents (file, &contents, NULL, &error);
  g_assert_no_error (error);
  assert_contains (contents, "Enabled=true");
  lease = status_lease (f, 18081);
  g_assert_nonnull (lease);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (lease, "owner"),
                                                  "kind"), ==, "profile");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (lease, "owner"),
                                                  "profile"), ==, "Web");

  PROFILES (f, &add, "add", "Game", "-u", "-4", "-d", "a game", "0", "27015");
  g_assert_cmpint (add.status, ==, PL_EXIT_OK);
  assert_contains (add.out, "Added profile “Game”: UDP (IPv4 only)");
  assert_contains (add.err, ENGINE_PATH);
  wait_mappings (f, 2);
  g_clear_pointer (&contents, g_free);
  g_file_get_contents (file, &contents, NULL, &error);
  g_assert_no_error (error);
  assert_contains (contents, "[Game]");
  assert_contains (contents, "Description=a game");
  assert_contains (contents, "Family=ipv4");

  /* A name taken: refused before anything is asked of the engine. */
  PROFILES (f, &bad, "add", "Game", "0", "27016");
  g_assert_cmpint (bad.status, ==, PL_EXIT_PROFILE_ERROR);
  assert_contains (bad.err, "Game");

  PROFILES (f, &edit, "edit", "Game", "-l", "3600");
  g_assert_cmpint (edit.status, ==, PL_EXIT_OK);
  assert_contains (edit.err, ENGINE_PATH);
  g_clear_pointer (&contents, g_free);
  g_file_get_contents (file, &contents, NULL, &error);
  g_assert_no_error (error);
  assert_contains (contents, "Lifetime=3600");

  /* Another file than the engine's is written here, as ever. */
  PROFILES (f, &other, "add", "Other", "-f", other_file, "0", "27020");
  g_assert_cmpint (other.status, ==, PL_EXIT_OK);
  g_assert_null (strstr (other.err, ENGINE_PATH));
  g_assert_true (g_file_test (other_file, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 2);

  PROFILES (f, &disable, "disable", "Web");
  g_assert_cmpint (disable.status, ==, PL_EXIT_OK);
  assert_contains (disable.err, ENGINE_PATH);
  wait_mappings (f, 1);
  g_assert_true (saw_delete (f, 18081));
  PROFILES (f, &remove, "remove", "Game");
  g_assert_cmpint (remove.status, ==, PL_EXIT_OK);
  assert_contains (remove.err, ENGINE_PATH);
  wait_mappings (f, 0);
  g_clear_pointer (&contents, g_free);
  g_file_get_contents (file, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (strstr (contents, "[Game]"));
  assert_contains (contents, "Enabled=false");
  stop_engine (f);
}

/* B-15: --no-broker refuses while the engine runs (naming it), and works without one. */
static void
test_no_broker (Fixture       *f,
                gconstpointer  data)
{
  g_auto(Result) refused = { 0 };
  g_auto(Result) alone = { 0 };
  g_autofree char *want = NULL;

  start_engine (f);
  RUN (f, &refused, "map", "--no-broker", "-g", "@GW@", "--protocol", "natpmp", "8084", "8084");
  g_assert_cmpint (refused.status, ==, PL_EXIT_LOCAL_ERROR);
  want = g_strdup_printf ("Portlight's engine is running as pid %s",
                          g_subprocess_get_identifier (f->engine));
  assert_contains (refused.err, want);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 0);
  stop_engine (f);

  RUN (f, &alone, "map", "--no-broker", "-g", "@GW@", "--protocol", "natpmp", "8084", "8084");
  g_assert_cmpint (alone.status, ==, PL_EXIT_OK);
  assert_contains (alone.out, "Mapped TCP 203.0.113.7:8084 → private port 8084\n");
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 1);
}

/* B-15: no session bus at all, or a bus without the engine: in-process, as before. */
static void
test_in_process (Fixture       *f,
                 gconstpointer  data)
{
  const char *no_bus[] = { "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/portlight-bus",
                           NULL };
  g_auto(Result) bus_map = { 0 };
  g_auto(Result) no_bus_map = { 0 };
  g_auto(Result) no_bus_status = { 0 };

  RUN (f, &bus_map, "map", "-g", "@GW@", "--protocol", "natpmp", "8085", "8085");
  g_assert_cmpint (bus_map.status, ==, PL_EXIT_OK);
  assert_contains (bus_map.out, "Mapped TCP 203.0.113.7:8085 → private port 8085\n");
  g_assert_null (strstr (bus_map.out, "engine"));

  run_cli (f, no_bus, &no_bus_map,
           (const char * const[]) { "map", "-g", "@GW@", "--protocol", "natpmp", "8086",
                                    "8086", NULL });
  g_assert_cmpint (no_bus_map.status, ==, PL_EXIT_OK);
  assert_contains (no_bus_map.out, "Mapped TCP 203.0.113.7:8086 → private port 8086\n");
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 2);

  run_cli (f, no_bus, &no_bus_status, (const char * const[]) { "status", NULL });
  g_assert_cmpint (no_bus_status.status, ==, PL_EXIT_NO_ENGINE);
}

/* B-15: without a bus, map --keep is an engine too: it refuses beside an engine it cannot
 * reach, and an engine refuses beside it. */
static void
test_keep_lock (Fixture       *f,
                gconstpointer  data)
{
  const char *no_bus[] = { "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/portlight-bus",
                           NULL };
  g_autoptr(GSubprocess) keep = NULL;
  g_auto(Result) refused = { 0 };
  g_auto(Result) run = { 0 };
  g_auto(Result) rest = { 0 };
  g_autofree char *line = NULL;
  g_autofree char *want = NULL;
  LineReader reader = { 0 };

  /* An engine on the bus, out of reach for a shell without one. */
  start_engine (f);
  run_cli (f, no_bus, &refused,
           (const char * const[]) { "map", "--keep", "-g", "@GW@", "--protocol", "natpmp",
                                    "8087", "8087", NULL });
  g_assert_cmpint (refused.status, ==, PL_EXIT_LOCAL_ERROR);
  want = g_strdup_printf ("Portlight's engine is already running (pid %s) and cannot be "
                          "reached from here", g_subprocess_get_identifier (f->engine));
  assert_contains (refused.err, want);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 0);
  stop_engine (f);

  keep = spawn (f, no_bus, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                (const char * const[]) { "map", "--keep", "--json", "-g", "@GW@", "--protocol",
                                         "natpmp", "8087", "8087", NULL });
  reader_init (&reader, keep);
  line = read_line (&reader);
  assert_contains (line, "\"event\":\"mapped\"");
  run_cli (f, no_bus, &run,
           (const char * const[]) { "run", "--protocol", "natpmp", "-g", "@GW@", NULL });
  g_assert_cmpint (run.status, ==, PL_EXIT_LOCAL_ERROR);
  g_clear_pointer (&want, g_free);
  want = g_strdup_printf ("Portlight's engine is already running (pid %s)",
                          g_subprocess_get_identifier (keep));
  assert_contains (run.err, want);
  reader_clear (&reader);
  g_subprocess_send_signal (keep, SIGTERM);
  finish (keep, &rest);
  g_assert_cmpint (rest.status, ==, PL_EXIT_OK);
  wait_mappings (f, 0);
}

/* Which shared libraries the dynamic loader maps for a command, from its LD_DEBUG=libs
 * report (stderr): whether a GUPnP or libsoup library is among them. */
static gboolean
loaded_protocol_libraries (const char *report)
{
  return strstr (report, "libgupnp-") != NULL || strstr (report, "libsoup-") != NULL;
}

/* The command line's two programs: `address` and `map` answered by the engine run in
 * portlightctl alone, which maps neither GUPnP nor libsoup (their loading was most of its
 * start-up: tests/bench/RESULTS.md); without the engine the same command becomes
 * portlightctl-local (same pid, same arguments), which does the work in-process and does
 * load them, and answers as before. */
static void
test_handoff (Fixture       *f,
              gconstpointer  data)
{
  const char *debug[] = { "LD_DEBUG=libs", NULL };
  const char *no_bus[] = { "LD_DEBUG=libs",
                           "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/portlight-bus",
                           NULL };
  g_auto(Result) engine_address = { 0 };
  g_auto(Result) engine_map = { 0 };
  g_auto(Result) local_address = { 0 };
  g_auto(Result) local_unmap = { 0 };

  start_engine (f);
  wait_engine_address (f);

  run_cli (f, debug, &engine_address,
           (const char * const[]) { "address", "--timeout", "3", NULL });
  g_assert_cmpint (engine_address.status, ==, PL_EXIT_OK);
  assert_contains (engine_address.out, "Public address: 203.0.113.7\n");
  /* the report is there (the check below can fail) */
  assert_contains (engine_address.err, "libgio-2.0.so");
  g_assert_false (loaded_protocol_libraries (engine_address.err));

  run_cli (f, debug, &engine_map,
           (const char * const[]) { "map", "--timeout", "5", "8091", "8091", NULL });
  g_assert_cmpint (engine_map.status, ==, PL_EXIT_OK);
  assert_contains (engine_map.out, "Mapped TCP 203.0.113.7:8091 → private port 8091\n");
  g_assert_false (loaded_protocol_libraries (engine_map.err));

  /* No bus: in-process, as before, in portlightctl-local. */
  pl_fake_gateway_clear_requests (f->gateway);
  run_cli (f, no_bus, &local_address,
           (const char * const[]) { "address", "-g", "@GW@", "--protocol", "natpmp",
                                    "--timeout", "3", NULL });
  g_assert_cmpint (local_address.status, ==, PL_EXIT_OK);
  assert_contains (local_address.out, "Public address: 203.0.113.7\n");
  g_assert_true (loaded_protocol_libraries (local_address.err));
  g_assert_cmpuint (pl_fake_gateway_get_requests (f->gateway)->len, >, 0);

  /* A port none of the engine's leases holds: the engine is asked, then portlightctl-local
   * removes it in-process (without asking the engine again). */
  run_cli (f, NULL, &local_unmap,
           (const char * const[]) { "unmap", "-g", "@GW@", "--protocol", "natpmp",
                                    "--timeout", "3", "8092", NULL });
  g_assert_cmpint (local_unmap.status, ==, PL_EXIT_OK);
  assert_contains (local_unmap.out, "Removed the TCP mapping of private port 8092\n");
  stop_engine (f);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *daemon = NULL;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  daemon = g_find_program_in_path ("dbus-daemon");
  if (daemon == NULL)
    {
      g_printerr ("dbus-daemon is not installed (Debian package dbus-daemon): "
                  "cannot run a private session bus\n");
      return 77;
    }

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/cli-engine/status", test_status);
  ADD ("/cli-engine/address", test_address);
  ADD ("/cli-engine/address/wait", test_address_wait);
  ADD ("/cli-engine/address/timeout", test_address_timeout);
  ADD ("/cli-engine/keep/release", test_keep_release);
  ADD ("/cli-engine/keep/killed", test_keep_killed);
  ADD ("/cli-engine/keep/renewed", test_keep_renewed);
  ADD ("/cli-engine/keep/engine-stops", test_keep_engine_stops);
  ADD ("/cli-engine/map/bind-none", test_map_bind_none);
  ADD ("/cli-engine/map/interrupted", test_map_interrupted);
  ADD ("/cli-engine/epoch", test_epoch);
  ADD ("/cli-engine/profiles", test_profiles);
  ADD ("/cli-engine/profiles-keys", test_profiles_keys);
  ADD ("/cli-engine/no-broker", test_no_broker);
  ADD ("/cli-engine/in-process", test_in_process);
  ADD ("/cli-engine/keep/lock", test_keep_lock);
  ADD ("/cli-engine/handoff", test_handoff);

  return g_test_run ();
}
