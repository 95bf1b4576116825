/* test-cli.c: portlightctl end to end against the fake gateway
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

/* Each test hosts a PlFakeGateway on its own 127.0.42.N with the real clock, and runs the
 * portlightctl binary named by $PORTLIGHTCTL through GSubprocess while iterating the main
 * context, so that the fake gateway answers. Timing checks are deliberately loose. */

/* Nothing listens here: the kernel answers with ICMP port unreachable. */
#define NO_LISTENER "127.0.43.1"
/* A run that takes longer than this has hung. */
#define RUN_LIMIT_S 60

typedef struct
{
  PlClock       *clock;
  PlFakeGateway *gateway;
  char          *address;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  static guint next_host = 1;
  g_autoptr(GError) error = NULL;

  f->address = g_strdup_printf ("127.0.42.%u", next_host++);
  f->clock = pl_clock_get_default ();
  f->gateway = pl_fake_gateway_new (f->address, f->clock, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->gateway);
  g_clear_object (&f->clock);
  g_clear_pointer (&f->address, g_free);

  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* Running portlightctl */

typedef struct
{
  GSubprocess *process;
  gboolean     done;
  char        *out;
  char        *err;
  GError      *error;
  gint64       start;     /* monotonic, microseconds */
  gint64       end;
} Run;

static void
run_free (Run *run)
{
  g_clear_object (&run->process);
  g_clear_error (&run->error);
  g_free (run->out);
  g_free (run->err);
  g_free (run);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Run, run_free)

static void
communicate_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Run *run = user_data;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &run->out, &run->err,
                                        &run->error);
  run->end = g_get_monotonic_time ();
  run->done = TRUE;
}

static gboolean
set_flag_cb (gpointer user_data)
{
  gboolean *flag = user_data;

  *flag = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the main context until *@done, at most @limit_s seconds. Returns *@done. */
static gboolean
iterate_until (const gboolean *done,
               guint           limit_s)
{
  gboolean expired = FALSE;
  guint id = g_timeout_add_seconds (limit_s, set_flag_cb, &expired);

  while (!*done && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (id);

  return *done;
}

/* Starts portlightctl with @args; "@GW@" in @args stands for @gateway. */
static Run *
run_start (const char * const *args,
           const char         *gateway)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  const char *binary = g_getenv ("PORTLIGHTCTL");
  Run *run = g_new0 (Run, 1);

  g_assert_nonnull (binary);
  g_ptr_array_add (argv, g_strdup (binary));
  for (guint i = 0; args[i] != NULL; i++)
    {
      if (g_str_equal (args[i], "@GW@"))
        g_ptr_array_add (argv, g_strdup (gateway));
      else
        g_ptr_array_add (argv, g_strdup (args[i]));
    }
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);

  run->start = g_get_monotonic_time ();
  run->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata,
                                               &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (run->process, NULL, NULL, communicate_cb, run);

  return run;
}

static void
run_wait (Run *run)
{
  if (!iterate_until (&run->done, RUN_LIMIT_S))
    {
      g_subprocess_force_exit (run->process);
      iterate_until (&run->done, RUN_LIMIT_S);
      g_assert_not_reached ();
    }
  g_assert_no_error (run->error);
}

static Run *
run_cli_args (const char * const *args,
              const char         *gateway)
{
  Run *run = run_start (args, gateway);

  run_wait (run);
  g_test_message ("portlightctl: status %d, stdout:\n%s\nstderr:\n%s",
                  g_subprocess_get_exit_status (run->process), run->out, run->err);

  return run;
}

#define run_cli(gateway, ...) run_cli_args ((const char * const[]) { __VA_ARGS__, NULL }, gateway)

static void
assert_exit_status (Run *run,
                    int  status)
{
  g_assert_true (g_subprocess_get_if_exited (run->process));
  g_assert_cmpint (g_subprocess_get_exit_status (run->process), ==, status);
}

static double
run_seconds (Run *run)
{
  return (run->end - run->start) / (double) G_USEC_PER_SEC;
}

static void
assert_contains (const char *haystack,
                 const char *needle)
{
  if (strstr (haystack, needle) == NULL)
    g_error ("“%s” not found in:\n%s", needle, haystack);
}

/* JSON output */

static JsonObject *
parse_json_object (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  /* One object, on one line. */
  g_assert_true (g_str_has_suffix (text, "}\n"));
  g_assert_true (strchr (text, '\n') == text + strlen (text) - 1);

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));

  return json_object_ref (json_node_get_object (root));
}

static void
assert_json_error (Run        *run,
                   const char *code)
{
  g_autoptr(JsonObject) object = parse_json_object (run->out);
  JsonObject *error;

  g_assert_true (json_object_has_member (object, "error"));
  error = json_object_get_object_member (object, "error");
  g_assert_cmpstr (json_object_get_string_member (error, "code"), ==, code);
  g_assert_cmpint (strlen (json_object_get_string_member (error, "message")), >, 0);
}

/* What the fake gateway saw */

/* Whether @r is a NAT-PMP request (version byte 0), not the PCP ANNOUNCE with which
 * portlightctl asks first whether the router speaks PCP. */
static gboolean
is_natpmp (const PlFakeRequest *r)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (r->bytes, &len);

  return len > 0 && data[0] == PL_NATPMP_VERSION;
}

/* The NAT-PMP requests, oldest first. */
static GPtrArray *
natpmp_requests (Fixture *f)
{
  GPtrArray *all = pl_fake_gateway_get_requests (f->gateway);
  GPtrArray *natpmp = g_ptr_array_new ();

  for (guint i = 0; i < all->len; i++)
    if (is_natpmp (g_ptr_array_index (all, i)))
      g_ptr_array_add (natpmp, g_ptr_array_index (all, i));

  return natpmp;
}

/* The NAT-PMP map and unmap requests (not the address requests), oldest first. */
static GPtrArray *
map_requests (Fixture *f)
{
  GPtrArray *all = pl_fake_gateway_get_requests (f->gateway);
  GPtrArray *maps = g_ptr_array_new ();

  for (guint i = 0; i < all->len; i++)
    {
      PlFakeRequest *r = g_ptr_array_index (all, i);

      if (is_natpmp (r) && r->request.opcode != PL_NATPMP_OP_EXTERNAL_ADDRESS)
        g_ptr_array_add (maps, r);
    }

  return maps;
}

static void
assert_request (const PlFakeRequest *r,
                guint8               opcode,
                guint16              internal_port,
                guint16              external_port,
                guint32              lifetime)
{
  g_assert_cmpuint (r->request.version, ==, PL_NATPMP_VERSION);
  g_assert_cmpuint (r->request.opcode, ==, opcode);
  g_assert_cmpuint (r->request.internal_port, ==, internal_port);
  g_assert_cmpuint (r->request.external_port, ==, external_port);
  g_assert_cmpuint (r->request.lifetime, ==, lifetime);
}

/* address */

static void
test_address_text (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(Run) run = run_cli (f->address, "address", "-g", "@GW@");
  g_autoptr(GPtrArray) requests = NULL;
  g_autofree char *gateway_line = g_strdup_printf ("Gateway: %s · NAT-PMP\n", f->address);

  assert_exit_status (run, PL_EXIT_OK);
  assert_contains (run->out, gateway_line);
  assert_contains (run->out, "Public address: 203.0.113.7\n");
  /* No warning, and no progress line: stderr is not a terminal. */
  g_assert_cmpstr (run->err, ==, "");

  requests = natpmp_requests (f);
  g_assert_cmpuint (requests->len, ==, 1);
  g_assert_cmpuint (((PlFakeRequest *) g_ptr_array_index (requests, 0))->request.opcode, ==,
                    PL_NATPMP_OP_EXTERNAL_ADDRESS);
}

static void
test_address_json (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(Run) run = run_cli (f->address, "address", "--json", "-g", "@GW@");
  g_autoptr(JsonObject) object = NULL;

  assert_exit_status (run, PL_EXIT_OK);
  object = parse_json_object (run->out);
  g_assert_cmpstr (json_object_get_string_member (object, "gateway"), ==, f->address);
  g_assert_cmpstr (json_object_get_string_member (object, "public_address"), ==, "203.0.113.7");
  g_assert_true (json_object_has_member (object, "epoch"));
  g_assert_cmpint (json_object_get_int_member (object, "epoch"), >=, 0);
  g_assert_false (json_object_get_boolean_member (object, "double_nat"));
  g_assert_false (json_object_has_member (object, "error"));
}

static void
test_address_double_nat (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(Run) text = NULL;
  g_autoptr(Run) json = NULL;
  g_autoptr(JsonObject) object = NULL;

  pl_fake_gateway_set_external_address (f->gateway, "100.64.1.2");

  text = run_cli (f->address, "address", "-g", "@GW@");
  assert_exit_status (text, PL_EXIT_OK);
  assert_contains (text->out, "Public address: 100.64.1.2\n");
  assert_contains (text->err,
                   "Warning: the router's public address 100.64.1.2 is itself private: this "
                   "network is behind another NAT (double NAT or carrier-grade NAT), so "
                   "mappings will probably not be reachable from the Internet.");

  json = run_cli (f->address, "address", "-g", "@GW@", "--json");
  assert_exit_status (json, PL_EXIT_OK);
  object = parse_json_object (json->out);
  g_assert_cmpstr (json_object_get_string_member (object, "public_address"), ==, "100.64.1.2");
  g_assert_true (json_object_get_boolean_member (object, "double_nat"));
}

/* map */

static void
test_map_tcp (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(Run) run = run_cli (f->address, "map", "-g", "@GW@", "8080", "8080");
  g_autoptr(GPtrArray) maps = NULL;

  assert_exit_status (run, PL_EXIT_OK);
  assert_contains (run->out, "Public address: 203.0.113.7\n");
  assert_contains (run->out, "Mapped TCP 203.0.113.7:8080 → private port 8080\n");
  assert_contains (run->out, "Lifetime: 7200 s, expires ");
  g_assert_null (strstr (run->out, "Note:"));

  maps = map_requests (f);
  g_assert_cmpuint (maps->len, ==, 1);
  assert_request (g_ptr_array_index (maps, 0), PL_NATPMP_OP_MAP_TCP, 8080, 8080, 7200);
}

static void
test_map_udp (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(Run) run = run_cli (f->address, "map", "-u", "-l", "1800", "-g", "@GW@",
                                "60009", "60010");
  g_autoptr(GPtrArray) maps = NULL;

  assert_exit_status (run, PL_EXIT_OK);
  assert_contains (run->out, "Mapped UDP 203.0.113.7:60009 → private port 60010\n");
  assert_contains (run->out, "Lifetime: 1800 s");

  maps = map_requests (f);
  g_assert_cmpuint (maps->len, ==, 1);
  assert_request (g_ptr_array_index (maps, 0), PL_NATPMP_OP_MAP_UDP, 60010, 60009, 1800);
}

static void
test_map_both (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(Run) run = run_cli (f->address, "map", "--udp", "--tcp", "--json", "--lifetime",
                                "600", "--gateway", "@GW@", "40000", "8080");
  g_autoptr(GPtrArray) maps = NULL;
  g_autoptr(JsonObject) object = NULL;
  JsonArray *mappings;
  const char *protocols[] = { "udp", "tcp" };

  assert_exit_status (run, PL_EXIT_OK);

  maps = map_requests (f);
  g_assert_cmpuint (maps->len, ==, 2);
  assert_request (g_ptr_array_index (maps, 0), PL_NATPMP_OP_MAP_UDP, 8080, 40000, 600);
  assert_request (g_ptr_array_index (maps, 1), PL_NATPMP_OP_MAP_TCP, 8080, 40000, 600);

  object = parse_json_object (run->out);
  g_assert_cmpstr (json_object_get_string_member (object, "gateway"), ==, f->address);
  g_assert_cmpstr (json_object_get_string_member (object, "public_address"), ==, "203.0.113.7");
  g_assert_false (json_object_get_boolean_member (object, "double_nat"));
  g_assert_false (json_object_has_member (object, "event"));
  mappings = json_object_get_array_member (object, "mappings");
  g_assert_cmpuint (json_array_get_length (mappings), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *m = json_array_get_object_element (mappings, i);
      g_autoptr(GDateTime) expires = NULL;

      g_assert_cmpstr (json_object_get_string_member (m, "protocol"), ==, protocols[i]);
      g_assert_cmpint (json_object_get_int_member (m, "private_port"), ==, 8080);
      g_assert_cmpint (json_object_get_int_member (m, "public_port"), ==, 40000);
      g_assert_cmpint (json_object_get_int_member (m, "requested_public_port"), ==, 40000);
      g_assert_cmpint (json_object_get_int_member (m, "lifetime"), ==, 600);
      g_assert_cmpint (json_object_get_int_member (m, "requested_lifetime"), ==, 600);
      expires = g_date_time_new_from_iso8601 (json_object_get_string_member (m, "expires"),
                                              NULL);
      g_assert_nonnull (expires);
    }
}

static void
test_map_different_port (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(Run) text = NULL;
  g_autoptr(Run) json = NULL;
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(GPtrArray) maps = NULL;
  JsonObject *m;

  pl_fake_gateway_set_assigned_port (f->gateway, 40000);

  text = run_cli (f->address, "map", "-g", "@GW@", "8080", "8080");
  assert_exit_status (text, PL_EXIT_OK);
  assert_contains (text->out, "Mapped TCP 203.0.113.7:40000 → private port 8080\n");
  assert_contains (text->out, "Note: the router gave public port 40000, not 8080 as asked\n");

  json = run_cli (f->address, "map", "-g", "@GW@", "--json", "8080", "8080");
  assert_exit_status (json, PL_EXIT_OK);
  object = parse_json_object (json->out);
  m = json_array_get_object_element (json_object_get_array_member (object, "mappings"), 0);
  g_assert_cmpint (json_object_get_int_member (m, "public_port"), ==, 40000);
  g_assert_cmpint (json_object_get_int_member (m, "requested_public_port"), ==, 8080);

  maps = map_requests (f);
  g_assert_cmpuint (maps->len, ==, 2);
  assert_request (g_ptr_array_index (maps, 0), PL_NATPMP_OP_MAP_TCP, 8080, 8080, 7200);
}

/* unmap */

static void
test_unmap_one (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(Run) tcp = NULL;
  g_autoptr(Run) both = NULL;
  g_autoptr(GPtrArray) maps = NULL;
  g_autoptr(GPtrArray) maps_both = NULL;
  g_autoptr(JsonObject) object = NULL;
  JsonArray *unmapped;

  tcp = run_cli (f->address, "unmap", "-g", "@GW@", "8080");
  assert_exit_status (tcp, PL_EXIT_OK);
  assert_contains (tcp->out, "Removed the TCP mapping of private port 8080\n");
  maps = map_requests (f);
  g_assert_cmpuint (maps->len, ==, 1);
  assert_request (g_ptr_array_index (maps, 0), PL_NATPMP_OP_MAP_TCP, 8080, 0, 0);

  pl_fake_gateway_clear_requests (f->gateway);
  both = run_cli (f->address, "unmap", "-u", "-t", "--json", "-g", "@GW@", "5000");
  assert_exit_status (both, PL_EXIT_OK);
  maps_both = map_requests (f);
  g_assert_cmpuint (maps_both->len, ==, 2);
  assert_request (g_ptr_array_index (maps_both, 0), PL_NATPMP_OP_MAP_UDP, 5000, 0, 0);
  assert_request (g_ptr_array_index (maps_both, 1), PL_NATPMP_OP_MAP_TCP, 5000, 0, 0);

  object = parse_json_object (both->out);
  g_assert_cmpstr (json_object_get_string_member (object, "gateway"), ==, f->address);
  g_assert_false (json_object_get_boolean_member (object, "all"));
  unmapped = json_object_get_array_member (object, "unmapped");
  g_assert_cmpuint (json_array_get_length (unmapped), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (unmapped, 0),
                                                  "protocol"), ==, "udp");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (unmapped, 1),
                                               "private_port"), ==, 5000);
}

static void
test_unmap_all (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(Run) all = NULL;
  g_autoptr(Run) udp = NULL;
  g_autoptr(GPtrArray) maps = NULL;
  g_autoptr(GPtrArray) maps_udp = NULL;

  all = run_cli (f->address, "unmap", "--all", "-g", "@GW@");
  assert_exit_status (all, PL_EXIT_OK);
  assert_contains (all->out, "Removed all UDP mappings of this computer\n");
  assert_contains (all->out, "Removed all TCP mappings of this computer\n");
  maps = map_requests (f);
  g_assert_cmpuint (maps->len, ==, 2);
  assert_request (g_ptr_array_index (maps, 0), PL_NATPMP_OP_MAP_UDP, 0, 0, 0);
  assert_request (g_ptr_array_index (maps, 1), PL_NATPMP_OP_MAP_TCP, 0, 0, 0);

  pl_fake_gateway_clear_requests (f->gateway);
  udp = run_cli (f->address, "unmap", "--all", "-u", "-g", "@GW@");
  assert_exit_status (udp, PL_EXIT_OK);
  g_assert_null (strstr (udp->out, "TCP"));
  maps_udp = map_requests (f);
  g_assert_cmpuint (maps_udp->len, ==, 1);
  assert_request (g_ptr_array_index (maps_udp, 0), PL_NATPMP_OP_MAP_UDP, 0, 0, 0);
}

/* Failures */

static void
test_router_error (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(Run) text = NULL;
  g_autoptr(Run) json = NULL;

  pl_fake_gateway_set_result_code (f->gateway, PL_NATPMP_RESULT_NOT_AUTHORIZED);

  text = run_cli (f->address, "map", "-g", "@GW@", "8080", "8080");
  assert_exit_status (text, PL_EXIT_ROUTER_ERROR);
  assert_contains (text->err, "portlightctl map: ");
  assert_contains (text->err, f->address);
  g_assert_null (strstr (text->out, "Mapped"));

  json = run_cli (f->address, "address", "-g", "@GW@", "--json");
  assert_exit_status (json, PL_EXIT_ROUTER_ERROR);
  assert_json_error (json, "not-authorized");
}

static void
test_silent_gateway (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(Run) text = NULL;
  g_autoptr(Run) json = NULL;

  pl_fake_gateway_set_silent (f->gateway, TRUE);

  text = run_cli (f->address, "address", "--timeout", "1", "-g", "@GW@");
  assert_exit_status (text, PL_EXIT_NO_ANSWER);
  assert_contains (text->err, "No answer from");
  assert_contains (text->err, f->address);
  /* Bounded by --timeout, not by the RFC's 128 s (loose: a loaded machine is slow). */
  g_assert_cmpfloat (run_seconds (text), <, 15.0);
  /* It did retransmit. */
  g_assert_cmpuint (pl_fake_gateway_get_requests (f->gateway)->len, >=, 2);

  json = run_cli (f->address, "map", "--timeout", "1", "--json", "-g", "@GW@", "80", "80");
  assert_exit_status (json, PL_EXIT_NO_ANSWER);
  assert_json_error (json, "timed-out");
}

static void
test_refused (void)
{
  g_autoptr(Run) text = NULL;
  g_autoptr(Run) json = NULL;

  text = run_cli (NO_LISTENER, "address", "-g", "@GW@");
  assert_exit_status (text, PL_EXIT_NO_SERVICE);
  g_assert_true (strstr (text->err, "No NAT-PMP service") != NULL ||
                 strstr (text->err, "refused") != NULL);
  /* Fast: ICMP says so at once; no waiting for the 128 s schedule. */
  g_assert_cmpfloat (run_seconds (text), <, 15.0);

  json = run_cli (NO_LISTENER, "map", "--json", "-g", "@GW@", "80", "80");
  assert_exit_status (json, PL_EXIT_NO_SERVICE);
  assert_json_error (json, "refused");
}

/* Usage */

typedef struct
{
  const char *args[9];
  const char *reason;   /* part of the one-line reason */
} BadArguments;

static const BadArguments bad_arguments[] = {
  { { NULL }, "No command given" },
  { { "frobnicate", NULL }, "Unknown command “frobnicate”" },
  { { "--bogus", NULL }, "--bogus" },
  { { "map", "-g", "@GW@", "anything", "80", NULL }, "public port “anything”" },
  { { "map", "-g", "@GW@", "-1", "80", NULL }, "-1" },
  { { "map", "-g", "@GW@", "65536", "80", NULL }, "public port “65536”" },
  { { "map", "-g", "@GW@", "http", "80", NULL }, "public port “http”" },
  { { "map", "-g", "@GW@", "80", "80x", NULL }, "private port “80x”" },
  { { "map", "-g", "@GW@", "80", NULL }, "Missing PRIVATE_PORT" },
  { { "map", "-g", "@GW@", NULL }, "Missing PUBLIC_PORT" },
  { { "map", "-g", "@GW@", "80", "80", "80", NULL }, "Unexpected argument “80”" },
  { { "map", "-g", "@GW@", "-l", "0", "80", "80", NULL }, "lifetime “0”" },
  { { "map", "-g", "@GW@", "-l", "86401", "80", "80", NULL }, "lifetime “86401”" },
  { { "map", "-g", "@GW@", "--lifetime", "soon", "80", "80", NULL }, "lifetime “soon”" },
  { { "map", "-g", "@GW@", "80", "80", "-l", NULL }, "-l" },
  { { "map", "-g", "router.lan", "80", "80", NULL }, "gateway" },
  { { "map", "-g", "192.168.1.300", "80", "80", NULL }, "gateway" },
  { { "map", "--gateway", "::1", "80", "80", NULL }, "gateway" },
  { { "map", "-g", "@GW@", "--bogus", "80", "80", NULL }, "--bogus" },
  { { "address", "-g", "@GW@", "extra", NULL }, "Unexpected argument “extra”" },
  { { "address", "-g", "@GW@", "--timeout", "0", NULL }, "timeout “0”" },
  { { "address", "-g", "@GW@", "--timeout", "soon", NULL }, "timeout “soon”" },
  { { "unmap", "-g", "@GW@", NULL }, "Missing PRIVATE_PORT" },
  { { "unmap", "-g", "@GW@", "--all", "80", NULL }, "--all takes no port" },
  { { "unmap", "-g", "@GW@", "70000", NULL }, "private port “70000”" },
  { { "unmap", "-g", "@GW@", "-1", NULL }, "-1" },
};

static void
test_bad_arguments (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(Run) json = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad_arguments); i++)
    {
      const BadArguments *c = &bad_arguments[i];
      g_autoptr(Run) run = run_cli_args (c->args, f->address);
      g_auto(GStrv) lines = g_strsplit (run->err, "\n", -1);

      g_test_message ("case %u: %s", i, c->reason);
      assert_exit_status (run, PL_EXIT_USAGE);
      /* One line of reason, then the usage. */
      g_assert_cmpuint (g_strv_length (lines), >=, 3);
      g_assert_true (g_str_has_prefix (lines[0], "portlightctl"));
      assert_contains (lines[0], c->reason);
      g_assert_true (g_str_has_prefix (lines[1], "Usage: portlightctl"));
      g_assert_cmpstr (run->out, ==, "");
    }

  /* With --json the error comes on stdout as well. */
  json = run_cli (f->address, "map", "--json", "-g", "@GW@", "-l", "0", "80", "80");
  assert_exit_status (json, PL_EXIT_USAGE);
  assert_contains (json->err, "Usage:");
  assert_json_error (json, "invalid-argument");

  /* Nothing reached the gateway. */
  g_assert_cmpuint (pl_fake_gateway_get_requests (f->gateway)->len, ==, 0);
}

static void
test_help_version (void)
{
  g_autoptr(Run) top = run_cli (NULL, "--help");
  g_autoptr(Run) map = run_cli (NULL, "map", "--help");
  g_autoptr(Run) unmap = run_cli (NULL, "unmap", "--help");
  g_autoptr(Run) address = run_cli (NULL, "address", "-h");
  g_autoptr(Run) version = run_cli (NULL, "--version");
  const char *top_words[] = { "COMMAND", "address", "map", "unmap", "profiles", "--version",
                              "Exit status:", "  3  no answer", NULL };
  const char *map_words[] = { "portlightctl map", "PUBLIC_PORT PRIVATE_PORT", "--udp", "--tcp",
                              "--lifetime", "--keep", "--gateway", "--timeout", "--json",
                              "Exit status:", "  4  ", NULL };

  assert_exit_status (top, PL_EXIT_OK);
  for (guint i = 0; top_words[i] != NULL; i++)
    assert_contains (top->out, top_words[i]);

  assert_exit_status (map, PL_EXIT_OK);
  for (guint i = 0; map_words[i] != NULL; i++)
    assert_contains (map->out, map_words[i]);

  assert_exit_status (unmap, PL_EXIT_OK);
  assert_contains (unmap->out, "--all");
  assert_contains (unmap->out, "PRIVATE_PORT");

  assert_exit_status (address, PL_EXIT_OK);
  assert_contains (address->out, "portlightctl address");
  assert_contains (address->out, "--json");

  assert_exit_status (version, PL_EXIT_OK);
  g_assert_cmpstr (version->out, ==, "portlightctl " PACKAGE_VERSION "\n");
}

/* map --keep */

static gboolean
tick_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates until the gateway has seen @n_maps map requests and @n_addresses address requests,
 * or @limit_s seconds have passed. */
static gboolean
wait_for_requests (Fixture *f,
                   guint    n_maps,
                   guint    n_addresses,
                   guint    limit_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) limit_s * G_USEC_PER_SEC;
  guint tick = g_timeout_add (50, tick_cb, NULL);
  gboolean seen = FALSE;

  while (!seen && g_get_monotonic_time () < end)
    {
      g_autoptr(GPtrArray) maps = NULL;
      guint n_all;

      g_main_context_iteration (NULL, TRUE);
      g_autoptr(GPtrArray) natpmp = natpmp_requests (f);

      maps = map_requests (f);
      n_all = natpmp->len;
      seen = maps->len >= n_maps && n_all - maps->len >= n_addresses;
    }
  g_source_remove (tick);

  return seen;
}

/* Iterates until the gateway has seen @n map requests or @limit_s seconds have passed. */
static gboolean
wait_for_map_requests (Fixture *f,
                       guint    n,
                       guint    limit_s)
{
  return wait_for_requests (f, n, 0, limit_s);
}

static void
test_map_keep (Fixture       *f,
               gconstpointer  data)
{
  const char * const args[] = { "map", "--keep", "-g", "@GW@", "8080", "8080", NULL };
  g_autoptr(Run) run = NULL;
  g_autoptr(GPtrArray) maps = NULL;
  PlFakeRequest *first;
  PlFakeRequest *renewal;

  /* Lifetime 2 granted (7200 asked): the renewal is due after about 1 s. */
  pl_fake_gateway_set_granted_lifetime (f->gateway, 2);
  pl_fake_gateway_set_assigned_port (f->gateway, 40000);

  run = run_start (args, f->address);
  g_assert_true (wait_for_map_requests (f, 2, 20));
  g_assert_false (run->done);

  maps = map_requests (f);
  first = g_ptr_array_index (maps, 0);
  renewal = g_ptr_array_index (maps, 1);
  assert_request (first, PL_NATPMP_OP_MAP_TCP, 8080, 8080, 7200);
  /* The renewal suggests the port the router gave. */
  assert_request (renewal, PL_NATPMP_OP_MAP_TCP, 8080, 40000, 7200);
  /* Not at once: it waits for (about) half the granted lifetime. */
  g_assert_cmpint (renewal->time - first->time, >=, G_USEC_PER_SEC / 2);

  /* A third request (the next renewal) shows the first renewal's reply was handled: only
   * then is "Renewed" certain to be printed before SIGTERM arrives (not so under ASan when
   * the signal raced the reply). */
  g_assert_true (wait_for_map_requests (f, 3, 20));
  g_subprocess_send_signal (run->process, SIGTERM);
  run_wait (run);
  g_test_message ("stdout:\n%s\nstderr:\n%s", run->out, run->err);

  /* The mapping is deleted, then portlightctl exits 0. */
  assert_exit_status (run, PL_EXIT_OK);
  g_clear_pointer (&maps, g_ptr_array_unref);
  maps = map_requests (f);
  g_assert_cmpuint (maps->len, >=, 4);
  assert_request (g_ptr_array_index (maps, maps->len - 1), PL_NATPMP_OP_MAP_TCP, 8080, 0, 0);

  assert_contains (run->out, "Note: the router gave public port 40000, not 8080 as asked\n");
  assert_contains (run->out, "Renewed TCP 203.0.113.7:40000 → private port 8080\n");
  assert_contains (run->out, "Removed the TCP mapping of private port 8080\n");
}

/* map any / map 0: the router chooses (a VPN's random port), and the output says which. */
static void
test_map_any (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(Run) text = NULL;
  g_autoptr(Run) json = NULL;
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(GPtrArray) maps = NULL;
  g_autofree char *mapped = NULL;
  g_autofree char *chosen = NULL;
  guint16 port;
  JsonObject *m;

  pl_fake_gateway_set_random_ports (f->gateway, TRUE);

  text = run_cli (f->address, "map", "-g", "@GW@", "any", "51413");
  assert_exit_status (text, PL_EXIT_OK);
  port = pl_fake_gateway_get_mapped_port (f->gateway, PL_PROTOCOL_TCP, 51413);
  g_assert_cmpuint (port, >=, 1024);
  mapped = g_strdup_printf ("Mapped TCP 203.0.113.7:%u → private port 51413\n", port);
  chosen = g_strdup_printf ("  Public port %u was chosen by the router\n", port);
  assert_contains (text->out, mapped);
  assert_contains (text->out, chosen);
  g_assert_null (strstr (text->out, "Note:"));

  /* 0, as natpmpc users type it, means the same; JSON shows the port granted. */
  json = run_cli (f->address, "map", "-g", "@GW@", "--json", "-u", "0", "51413");
  assert_exit_status (json, PL_EXIT_OK);
  object = parse_json_object (json->out);
  m = json_array_get_object_element (json_object_get_array_member (object, "mappings"), 0);
  g_assert_cmpint (json_object_get_int_member (m, "public_port"), ==,
                   pl_fake_gateway_get_mapped_port (f->gateway, PL_PROTOCOL_UDP, 51413));
  g_assert_cmpint (json_object_get_int_member (m, "requested_public_port"), ==, 0);

  /* On the wire: suggested port 0 (RFC 6886 section 3.3). */
  maps = map_requests (f);
  g_assert_cmpuint (maps->len, ==, 2);
  assert_request (g_ptr_array_index (maps, 0), PL_NATPMP_OP_MAP_TCP, 51413, 0, 7200);
  assert_request (g_ptr_array_index (maps, 1), PL_NATPMP_OP_MAP_UDP, 51413, 0, 7200);
}

/* A router that will not choose (MikroTik RouterOS refuses a suggested port of 0): map any
 * asks again for the private port, and says what it got. */
static void
test_map_any_refused (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(Run) run = NULL;
  g_autoptr(GPtrArray) maps = NULL;

  pl_fake_gateway_set_refuse_zero (f->gateway, TRUE);

  run = run_cli (f->address, "map", "-g", "@GW@", "any", "51413");
  assert_exit_status (run, PL_EXIT_OK);
  g_assert_cmpuint (pl_fake_gateway_get_mapped_port (f->gateway, PL_PROTOCOL_TCP, 51413), ==,
                    51413);
  assert_contains (run->out, "Mapped TCP 203.0.113.7:51413 → private port 51413\n");
  g_assert_null (strstr (run->err, "out of resources"));

  maps = map_requests (f);
  g_assert_cmpuint (maps->len, ==, 2);
  assert_request (g_ptr_array_index (maps, 0), PL_NATPMP_OP_MAP_TCP, 51413, 0, 7200);
  assert_request (g_ptr_array_index (maps, 1), PL_NATPMP_OP_MAP_TCP, 51413, 51413, 7200);
}

static guint
count_substrings (const char *haystack,
                  const char *needle)
{
  guint n = 0;

  for (const char *p = strstr (haystack, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

/* `profiles add vpn-torrent --both any 51413` and `run` instead of the natpmpc loop: the
 * port granted, a reconnect's new one, the public-port events and OnPortChange once each. */
static void
test_run_vpn (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *dir = g_dir_make_tmp ("pl-cli-vpn-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "profiles.ini", NULL);
  g_autofree char *out = g_build_filename (dir, "hook", NULL);
  g_autofree char *helper = g_shell_quote (PL_HOOK_HELPER);
  g_autofree char *quoted_out = g_shell_quote (out);
  g_autofree char *hook = g_strdup_printf ("%s record %s %%P %%p %%a", helper, quoted_out);
  g_autofree char *hook_text = NULL;
  g_autoptr(Run) add = NULL;
  g_autoptr(Run) run = NULL;
  g_auto(GStrv) lines = NULL;
  guint16 first[2], second[2];
  guint n_events = 0;
  gboolean done = FALSE;

  g_assert_nonnull (dir);
  pl_fake_gateway_set_random_ports (f->gateway, TRUE);
  /* ProtonVPN grants 60 s; 2 s here keeps the renewals a second apart. */
  pl_fake_gateway_set_granted_lifetime (f->gateway, 2);

  add = run_cli (f->address, "profiles", "add", "-f", file, "vpn-torrent", "--both", "-4",
                 "--on-port-change", hook, "any", "51413");
  assert_exit_status (add, PL_EXIT_OK);

  {
    const char * const args[] = { "run", "-g", "@GW@", "-f", file, "--json", NULL };

    run = run_start (args, f->address);
  }
  /* Both mapped and renewed once, on the ports granted. */
  g_assert_true (wait_for_map_requests (f, 4, 20));
  first[0] = pl_fake_gateway_get_mapped_port (f->gateway, PL_PROTOCOL_TCP, 51413);
  first[1] = pl_fake_gateway_get_mapped_port (f->gateway, PL_PROTOCOL_UDP, 51413);

  /* The VPN reconnects: new ports at the next renewal. */
  pl_fake_gateway_reconnect (f->gateway);
  g_assert_true (wait_for_map_requests (f, 10, 20));
  second[0] = pl_fake_gateway_get_mapped_port (f->gateway, PL_PROTOCOL_TCP, 51413);
  second[1] = pl_fake_gateway_get_mapped_port (f->gateway, PL_PROTOCOL_UDP, 51413);
  g_assert_cmpuint (second[0], !=, 0);
  g_assert_cmpuint (second[0], !=, first[0]);
  g_assert_cmpuint (second[1], !=, first[1]);

  /* The hook ran four times: first ports, then the new ones. */
  for (guint i = 0; i < 200; i++)
    {
      g_clear_pointer (&hook_text, g_free);
      if (g_file_get_contents (out, &hook_text, NULL, NULL) &&
          count_substrings (hook_text, "end\n") >= 4)
        break;
      g_timeout_add (100, set_flag_cb, &done);
      done = FALSE;
      iterate_until (&done, 5);
    }
  g_subprocess_send_signal (run->process, SIGTERM);
  run_wait (run);
  g_test_message ("stdout:\n%s\nstderr:\n%s\nhook:\n%s", run->out, run->err, hook_text);
  assert_exit_status (run, PL_EXIT_OK);

  g_assert_nonnull (hook_text);
  g_assert_cmpuint (count_substrings (hook_text, "start "), ==, 4);
  for (guint i = 0; i < 2; i++)
    {
      const char *protocol = i == 0 ? "tcp" : "udp";
      g_autofree char *a = g_strdup_printf ("start %s|%u|203.0.113.7\n", protocol, first[i]);
      g_autofree char *b = g_strdup_printf ("start %s|%u|203.0.113.7\n", protocol, second[i]);

      g_assert_cmpuint (count_substrings (hook_text, a), ==, 1);
      g_assert_cmpuint (count_substrings (hook_text, b), ==, 1);
    }

  /* run --json: one public-port event per new port. */
  lines = g_strsplit (run->out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonObject) event = NULL;
      g_autofree char *line = NULL;
      guint p;

      if (lines[i][0] == '\0')
        continue;
      line = g_strconcat (lines[i], "\n", NULL);
      event = parse_json_object (line);
      if (g_strcmp0 (json_object_get_string_member (event, "event"), "public-port") != 0)
        continue;
      p = g_str_equal (json_object_get_string_member (event, "protocol"), "tcp") ? 0 : 1;
      g_assert_cmpstr (json_object_get_string_member (event, "profile"), ==, "vpn-torrent");
      g_assert_cmpint (json_object_get_int_member (event, "private_port"), ==, 51413);
      if (json_object_get_null_member (event, "previous_public_port"))
        g_assert_cmpint (json_object_get_int_member (event, "public_port"), ==, first[p]);
      else
        {
          g_assert_cmpint (json_object_get_int_member (event, "previous_public_port"), ==,
                           first[p]);
          g_assert_cmpint (json_object_get_int_member (event, "public_port"), ==, second[p]);
        }
      n_events++;
    }
  g_assert_cmpuint (n_events, ==, 4);

  g_unlink (out);
  g_unlink (file);
  g_rmdir (dir);
}

/* F-12: renewals go unanswered until the grant runs out; the mapping is then re-created,
 * suggesting the port it had. */
static void
test_map_keep_recreate (Fixture       *f,
                        gconstpointer  data)
{
  const char * const args[] = { "map", "--keep", "-g", "@GW@", "8080", "8080", NULL };
  g_autoptr(Run) run = NULL;
  g_autoptr(GPtrArray) maps = NULL;
  guint n_silent;

  pl_fake_gateway_set_granted_lifetime (f->gateway, 2);
  pl_fake_gateway_set_assigned_port (f->gateway, 40000);

  /* The first map, and the address request the session makes after it (portlightctl asked
   * for the address before), are answered; then the gateway falls silent. */
  run = run_start (args, f->address);
  g_assert_true (wait_for_requests (f, 1, 2, 20));
  pl_fake_gateway_set_silent (f->gateway, TRUE);

  /* The renewal is retransmitted until the expiry, then the re-creation starts: more sends
   * than one renewal makes in its 1 s. */
  g_assert_true (wait_for_map_requests (f, 6, 20));
  pl_fake_gateway_set_silent (f->gateway, FALSE);
  maps = map_requests (f);
  n_silent = maps->len;

  /* The re-creation is answered; the renewal after it comes too. */
  g_assert_true (wait_for_map_requests (f, n_silent + 2, 20));
  g_subprocess_send_signal (run->process, SIGTERM);
  run_wait (run);
  g_test_message ("stdout:\n%s\nstderr:\n%s", run->out, run->err);
  assert_exit_status (run, PL_EXIT_OK);

  g_clear_pointer (&maps, g_ptr_array_unref);
  maps = map_requests (f);
  /* Every request but the last (the delete) kept suggesting the port the router gave. */
  for (guint i = 1; i + 1 < maps->len; i++)
    assert_request (g_ptr_array_index (maps, i), PL_NATPMP_OP_MAP_TCP, 8080, 40000, 7200);
  assert_request (g_ptr_array_index (maps, maps->len - 1), PL_NATPMP_OP_MAP_TCP, 8080, 0, 0);

  assert_contains (run->err, "Could not renew the TCP mapping of private port 8080");
  assert_contains (run->err, "The TCP mapping of private port 8080 has expired; re-creating it");
  assert_contains (run->out, "Re-created TCP 203.0.113.7:40000 → private port 8080\n");
  assert_contains (run->out, "Removed the TCP mapping of private port 8080\n");
}

/* The JSON objects of a --keep run, one per line. */
static GPtrArray *
parse_json_lines (const char *text)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  GPtrArray *objects = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *line = NULL;

      if (lines[i][0] == '\0')
        continue;
      line = g_strconcat (lines[i], "\n", NULL);
      g_ptr_array_add (objects, parse_json_object (line));
    }

  return objects;
}

/* A router reboot announced on 224.0.0.1:5350 (the epoch back to 0) re-creates the mapping at
 * once, long before its renewal is due, suggesting the port it had. @data: whether --json. */
static void
test_map_keep_router_reset (Fixture       *f,
                            gconstpointer  data)
{
  gboolean json = GPOINTER_TO_INT (data);
  const char * const text_args[] = { "map", "--keep", "-g", "@GW@", "8080", "8080", NULL };
  const char * const json_args[] = { "map", "--keep", "--json", "-g", "@GW@", "8080", "8080",
                                     NULL };
  const char * const events[] = { "mapped", "router-reset", "recreated", "unmapped" };
  g_autoptr(Run) run = NULL;
  g_autoptr(GPtrArray) maps = NULL;
  PlFakeRequest *first;
  PlFakeRequest *again;
  gboolean recreated = FALSE;

  /* A gateway that has been up for a while. */
  pl_fake_gateway_set_epoch (f->gateway, 1000);
  pl_fake_gateway_set_assigned_port (f->gateway, 40000);

  /* Once the session's map and address requests are answered, it knows the epoch. */
  run = run_start (json ? json_args : text_args, f->address);
  g_assert_true (wait_for_requests (f, 1, 2, 20));

  /* The gateway reboots and announces itself. Announce again after a second in case the
   * first one was missed (a second reset round could not come within 10 s anyway). */
  pl_fake_gateway_set_epoch (f->gateway, 0);
  for (guint i = 0; i < 5 && !recreated; i++)
    {
      pl_fake_gateway_announce (f->gateway);
      recreated = wait_for_map_requests (f, 2, 1);
    }
  g_assert_true (recreated);

  maps = map_requests (f);
  first = g_ptr_array_index (maps, 0);
  again = g_ptr_array_index (maps, 1);
  assert_request (first, PL_NATPMP_OP_MAP_TCP, 8080, 8080, 7200);
  assert_request (again, PL_NATPMP_OP_MAP_TCP, 8080, 40000, 7200);
  /* Let the answer arrive, then stop. */
  g_assert_false (wait_for_map_requests (f, 3, 1));

  g_subprocess_send_signal (run->process, SIGTERM);
  run_wait (run);
  g_test_message ("stdout:\n%s\nstderr:\n%s", run->out, run->err);
  assert_exit_status (run, PL_EXIT_OK);

  g_clear_pointer (&maps, g_ptr_array_unref);
  maps = map_requests (f);
  g_assert_cmpuint (maps->len, ==, 3);
  assert_request (g_ptr_array_index (maps, 2), PL_NATPMP_OP_MAP_TCP, 8080, 0, 0);

  if (json)
    {
      g_autoptr(GPtrArray) objects = parse_json_lines (run->out);
      JsonObject *m;

      g_assert_cmpuint (objects->len, ==, G_N_ELEMENTS (events));
      for (guint i = 0; i < objects->len; i++)
        g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (objects, i),
                                                        "event"), ==, events[i]);
      m = json_array_get_object_element (
            json_object_get_array_member (g_ptr_array_index (objects, 2), "mappings"), 0);
      g_assert_cmpint (json_object_get_int_member (m, "public_port"), ==, 40000);
      g_assert_cmpint (json_object_get_int_member (m, "requested_public_port"), ==, 40000);
      g_assert_cmpstr (run->err, ==, "");
    }
  else
    {
      assert_contains (run->err, "The router restarted and lost its mappings: restoring 1 "
                                 "mapping\n");
      assert_contains (run->out, "Re-created TCP 203.0.113.7:40000 → private port 8080\n");
      assert_contains (run->out, "Removed the TCP mapping of private port 8080\n");
    }
}

static void
test_skip (void)
{
  g_test_skip ("PORTLIGHTCTL is not set");
}

/* portlightctl moved out of its build folder, with no portlightctl-local installed where
 * it looks: a command that needs the router says so plainly (exit 5), nothing else. */
static void
test_handoff_missing (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("portlight-cli-XXXXXX", &error);
  g_autofree char *copy = NULL;
  g_autoptr(GFile) source = NULL;
  g_autoptr(GFile) target = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_assert_no_error (error);
  copy = g_build_filename (dir, "portlightctl", NULL);
  source = g_file_new_for_path (g_getenv ("PORTLIGHTCTL"));
  target = g_file_new_for_path (copy);
  g_file_copy (source, target, G_FILE_COPY_NONE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (copy, 0755), ==, 0);

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                              &error, copy, "address", "-g", "127.0.0.1", "--timeout", "1",
                              NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_test_message ("status %d, stdout:\n%s\nstderr:\n%s",
                  g_subprocess_get_exit_status (process), out, err);
  g_unlink (copy);
  g_rmdir (dir);

  if (strstr (err, "cannot run") == NULL)
    {
      g_test_skip ("an installed portlightctl-local answered");
      return;
    }
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, PL_EXIT_LOCAL_ERROR);
  assert_contains (err, "portlightctl address: cannot run ");
  assert_contains (err, "portlightctl-local: No such file or directory (is Portlight "
                        "installed completely?)\n");
  g_assert_cmpstr (out, ==, "");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* These are tests of the in-process commands: never the engine of a session bus this
   * test happens to run in (tests/test-cli-engine.c has a bus and an engine of its own). */
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/portlight-test-bus", TRUE);

  if (g_getenv ("PORTLIGHTCTL") == NULL)
    {
      g_test_add_func ("/cli/skipped", test_skip);
      return g_test_run ();
    }

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/cli/address/text", test_address_text);
  ADD ("/cli/address/json", test_address_json);
  ADD ("/cli/address/double-nat", test_address_double_nat);
  ADD ("/cli/map/tcp", test_map_tcp);
  ADD ("/cli/map/udp", test_map_udp);
  ADD ("/cli/map/both", test_map_both);
  ADD ("/cli/map/different-port", test_map_different_port);
  ADD ("/cli/map/any", test_map_any);
  ADD ("/cli/map/any-refused", test_map_any_refused);
  ADD ("/cli/run/vpn", test_run_vpn);
  ADD ("/cli/map/keep", test_map_keep);
  ADD ("/cli/map/keep-recreate", test_map_keep_recreate);
  g_test_add ("/cli/map/keep-router-reset", Fixture, GINT_TO_POINTER (FALSE), fixture_setup,
              test_map_keep_router_reset, fixture_teardown);
  g_test_add ("/cli/map/keep-router-reset-json", Fixture, GINT_TO_POINTER (TRUE), fixture_setup,
              test_map_keep_router_reset, fixture_teardown);
  ADD ("/cli/unmap/one", test_unmap_one);
  ADD ("/cli/unmap/all", test_unmap_all);
  ADD ("/cli/error/router", test_router_error);
  ADD ("/cli/error/silent", test_silent_gateway);
  ADD ("/cli/usage/bad-arguments", test_bad_arguments);
#undef ADD
  g_test_add_func ("/cli/error/refused", test_refused);
  g_test_add_func ("/cli/usage/help-version", test_help_version);
  g_test_add_func ("/cli/handoff/missing", test_handoff_missing);

  return g_test_run ();
}
