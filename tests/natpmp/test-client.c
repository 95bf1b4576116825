/* test-client.c: PlClient against the in-process fake gateway, on virtual time
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "pl-core.h"
#include "pl-fake-gateway.h"
#include "pl-pcp-state.h"
#include "pl-test-replaces.h"

/* Every test has its own gateway address 127.0.0.N (N from 100 to 125, passed as test data),
 * so the tests can run in parallel with each other and with other test programs. Should that
 * address be taken anyway (meson test --repeat runs copies of this program side by side), the
 * test moves to 127.0.1.N, 127.0.2.N and so on: Linux routes all of 127/8 to lo. The clock is
 * virtual with auto-advance: time moves only when nothing else is ready, so the times asserted
 * below are exact. */

#define SECONDS(s) ((gint64) ((s) * G_USEC_PER_SEC + 0.5))

typedef struct
{
  PlClock       *clock;
  PlFakeGateway *gateway;
  PlClient      *client;
  GMainLoop     *loop;
  char          *address;
  guint          n;
  GPtrArray     *results;        /* Result*, in completion order */
  guint          expected;       /* quit the loop once this many results are in */
  GArray        *attempts;       /* guint pairs: attempt, max_attempts */
  GArray        *epochs;         /* guint */
  guint          guard_id;
} Fixture;

typedef struct
{
  Fixture      *fixture;
  const char   *name;          /* which request, for FIFO checks */
  GError       *error;
  gboolean      ok;
  gint64        time;          /* clock time at completion */
  GInetAddress *address;
  guint16       external_port;
  guint32       lifetime;
  guint32       epoch;
} Result;

static void
result_free (gpointer data)
{
  Result *result = data;

  g_clear_error (&result->error);
  g_clear_object (&result->address);
  g_free (result);
}

static gboolean
guard_cb (gpointer user_data)
{
  Fixture *fixture = user_data;

  fixture->guard_id = 0;
  g_test_fail_printf ("test did not finish within 30 s of real time (%u of %u results)",
                      fixture->results->len, fixture->expected);
  g_main_loop_quit (fixture->loop);
  return G_SOURCE_REMOVE;
}

static void
attempt_cb (PlClient *client,
            guint     attempt,
            guint     max_attempts,
            gpointer  user_data)
{
  Fixture *fixture = user_data;

  g_array_append_val (fixture->attempts, attempt);
  g_array_append_val (fixture->attempts, max_attempts);
}

static void
epoch_cb (PlClient *client,
          guint     epoch,
          gpointer  user_data)
{
  Fixture *fixture = user_data;

  g_array_append_val (fixture->epochs, epoch);
}

static void
connect_client (Fixture *fixture)
{
  g_signal_connect (fixture->client, "attempt", G_CALLBACK (attempt_cb), fixture);
  g_signal_connect (fixture->client, "epoch", G_CALLBACK (epoch_cb), fixture);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) gateway = NULL;

  fixture->n = GPOINTER_TO_UINT (data);
  fixture->clock = pl_clock_new_virtual (TRUE);

  for (guint subnet = 0; fixture->gateway == NULL; subnet++)
    {
      g_clear_error (&error);
      g_clear_pointer (&fixture->address, g_free);
      fixture->address = g_strdup_printf ("127.0.%u.%u", subnet, fixture->n);
      fixture->gateway = pl_fake_gateway_new (fixture->address, fixture->clock, &error);
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE) || subnet == 255)
        break;
    }
  g_assert_no_error (error);
  g_assert_nonnull (fixture->gateway);

  gateway = g_inet_address_new_from_string (fixture->address);
  fixture->client = pl_client_new (gateway, fixture->clock);
  connect_client (fixture);

  fixture->loop = g_main_loop_new (NULL, FALSE);
  fixture->results = g_ptr_array_new_with_free_func (result_free);
  fixture->attempts = g_array_new (FALSE, FALSE, sizeof (guint));
  fixture->epochs = g_array_new (FALSE, FALSE, sizeof (guint));
  fixture->guard_id = g_timeout_add_seconds (30, guard_cb, fixture);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_handle_id (&fixture->guard_id, g_source_remove);
  g_clear_object (&fixture->client);
  g_clear_object (&fixture->gateway);
  g_clear_object (&fixture->clock);

  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);

  g_clear_pointer (&fixture->loop, g_main_loop_unref);
  g_clear_pointer (&fixture->results, g_ptr_array_unref);
  g_clear_pointer (&fixture->attempts, g_array_unref);
  g_clear_pointer (&fixture->epochs, g_array_unref);
  g_clear_pointer (&fixture->address, g_free);
}

/* Replaces the fixture's client by one with a bounded queue and timeout. */
static void
replace_client (Fixture *fixture,
                guint    max_queue,
                guint    timeout_ms)
{
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (fixture->address);

  g_clear_object (&fixture->client);
  fixture->client = g_object_new (PL_TYPE_CLIENT,
                                  "gateway", gateway,
                                  "clock", fixture->clock,
                                  "max-queue", max_queue,
                                  "timeout-ms", timeout_ms,
                                  NULL);
  connect_client (fixture);
}

static Result *
result_new (Fixture    *fixture,
            const char *name)
{
  Result *result = g_new0 (Result, 1);

  result->fixture = fixture;
  result->name = name;
  return result;
}

static void
result_done (Result *result)
{
  Fixture *fixture = result->fixture;

  result->time = pl_clock_get_time (fixture->clock);
  g_ptr_array_add (fixture->results, result);
  if (fixture->results->len >= fixture->expected)
    g_main_loop_quit (fixture->loop);
}

static void
address_cb (GObject      *object,
            GAsyncResult *res,
            gpointer      user_data)
{
  Result *result = user_data;

  result->address = pl_client_get_external_address_finish (PL_CLIENT (object), res,
                                                           &result->epoch, &result->error);
  result->ok = result->address != NULL;
  result_done (result);
}

static void
map_cb (GObject      *object,
        GAsyncResult *res,
        gpointer      user_data)
{
  Result *result = user_data;

  result->ok = pl_client_map_finish (PL_CLIENT (object), res, &result->external_port,
                                     &result->lifetime, &result->epoch, &result->error);
  result_done (result);
}

static void
unmap_cb (GObject      *object,
          GAsyncResult *res,
          gpointer      user_data)
{
  Result *result = user_data;

  result->ok = pl_client_unmap_finish (PL_CLIENT (object), res, &result->epoch,
                                       &result->error);
  result_done (result);
}

static void
unmap_all_cb (GObject      *object,
              GAsyncResult *res,
              gpointer      user_data)
{
  Result *result = user_data;

  result->ok = pl_client_unmap_all_finish (PL_CLIENT (object), res, &result->epoch,
                                           &result->error);
  result_done (result);
}

static void
map (Fixture      *fixture,
     const char   *name,
     guint16       internal_port,
     guint16       suggested_port,
     GCancellable *cancellable)
{
  pl_client_map_async (fixture->client, PL_PROTOCOL_UDP, internal_port, suggested_port, 7200,
                       cancellable, map_cb, result_new (fixture, name));
}

/* Runs the main loop until @n results have come in, and returns the last one. */
static Result *
run_until (Fixture *fixture,
           guint    n)
{
  fixture->expected = n;
  if (fixture->results->len < n)
    g_main_loop_run (fixture->loop);
  g_assert_cmpuint (fixture->results->len, >=, n);
  return g_ptr_array_index (fixture->results, n - 1);
}

/* Runs everything that is pending, virtual timeouts included, until the context is idle. */
static void
drain (Fixture *fixture)
{
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

static PlFakeRequest *
request_at (Fixture *fixture,
            guint    i)
{
  GPtrArray *requests = pl_fake_gateway_get_requests (fixture->gateway);

  g_assert_cmpuint (i, <, requests->len);
  return g_ptr_array_index (requests, i);
}

static guint
n_requests (Fixture *fixture)
{
  return pl_fake_gateway_get_requests (fixture->gateway)->len;
}

static void
assert_request_bytes (Fixture      *fixture,
                      guint         i,
                      const guint8 *expected,
                      gsize         expected_len)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (request_at (fixture, i)->bytes, &len);

  g_assert_cmpmem (data, len, expected, expected_len);
}

/* The RFC 6886 send times, in seconds after the first send (PMP-06). */
static const double rfc_send_times[] = { 0, 0.25, 0.75, 1.75, 3.75, 7.75, 15.75, 31.75, 63.75 };

/* F-01 */
static void
test_external_address (Fixture       *fixture,
                       gconstpointer  data)
{
  static const guint8 expected[] = { 0x00, 0x00 };
  Result *result;

  g_test_summary ("F-01: the address request is exactly 00 00, the address is not byte-swapped "
                  "and the epoch is reported");

  pl_fake_gateway_set_external_address (fixture->gateway, "198.51.100.23");
  pl_fake_gateway_set_epoch (fixture->gateway, 1234);

  pl_client_get_external_address_async (fixture->client, NULL, address_cb,
                                        result_new (fixture, "address"));
  result = run_until (fixture, 1);

  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  g_assert_cmpuint (n_requests (fixture), ==, 1);
  assert_request_bytes (fixture, 0, expected, sizeof expected);

  {
    g_autofree char *text = g_inet_address_to_string (result->address);
    static const guint8 bytes[] = { 198, 51, 100, 23 };

    g_assert_cmpstr (text, ==, "198.51.100.23");
    g_assert_cmpmem (g_inet_address_to_bytes (result->address), 4, bytes, sizeof bytes);
  }

  g_assert_cmpuint (result->epoch, ==, 1234);
  g_assert_cmpint (result->time, ==, 0);
  g_assert_cmpuint (fixture->epochs->len, ==, 1);
  g_assert_cmpuint (g_array_index (fixture->epochs, guint, 0), ==, 1234);
  g_assert_cmpuint (fixture->attempts->len, ==, 0);
}

/* F-02 */
static void
test_map_bytes (Fixture       *fixture,
                gconstpointer  data)
{
  static const guint8 expected_udp[] = {
    0x00, 0x01, 0x00, 0x00, 0x9c, 0x40, 0x9c, 0x40, 0x00, 0x00, 0x1c, 0x20,
  };
  static const guint8 expected_tcp[] = {
    0x00, 0x02, 0x00, 0x00, 0x1f, 0x90, 0x00, 0x00, 0x00, 0x00, 0x0e, 0x10,
  };
  Result *result;

  g_test_summary ("F-02: map requests are byte-exact, and only one goes out per request");

  map (fixture, "udp", 40000, 40000, NULL);
  result = run_until (fixture, 1);
  g_assert_no_error (result->error);
  g_assert_cmpuint (result->external_port, ==, 40000);
  g_assert_cmpuint (result->lifetime, ==, 7200);
  g_assert_cmpuint (n_requests (fixture), ==, 1);
  assert_request_bytes (fixture, 0, expected_udp, sizeof expected_udp);

  /* TCP, lifetime 3600, suggesting 0: the fake gateway then grants the internal port. */
  pl_client_map_async (fixture->client, PL_PROTOCOL_TCP, 8080, 0, 3600, NULL, map_cb,
                       result_new (fixture, "tcp"));
  result = run_until (fixture, 2);
  g_assert_no_error (result->error);
  g_assert_cmpuint (result->external_port, ==, 8080);
  g_assert_cmpuint (result->lifetime, ==, 3600);
  g_assert_cmpuint (n_requests (fixture), ==, 2);
  assert_request_bytes (fixture, 1, expected_tcp, sizeof expected_tcp);
}

/* F-03 */
static void
test_silent (Fixture       *fixture,
             gconstpointer  data)
{
  Result *result;

  g_test_summary ("F-03: a silent gateway gets 9 sends at the RFC times and the request "
                  "times out at 127.75 s; nothing is sent afterwards");

  pl_fake_gateway_set_silent (fixture->gateway, TRUE);

  pl_client_get_external_address_async (fixture->client, NULL, address_cb,
                                        result_new (fixture, "address"));
  result = run_until (fixture, 1);

  g_assert_error (result->error, PL_ERROR, PL_ERROR_TIMED_OUT);
  g_assert_nonnull (strstr (result->error->message, fixture->address));
  g_assert_nonnull (strstr (result->error->message, "after 9 attempts in 127.75 s"));
  g_assert_cmpint (result->time, ==, SECONDS (127.75));

  g_assert_cmpuint (n_requests (fixture), ==, G_N_ELEMENTS (rfc_send_times));
  for (guint i = 0; i < G_N_ELEMENTS (rfc_send_times); i++)
    g_assert_cmpint (request_at (fixture, i)->time, ==, SECONDS (rfc_send_times[i]));

  /* "attempt" before each resend: 2 of 9 ... 9 of 9. */
  g_assert_cmpuint (fixture->attempts->len, ==, 2 * 8);
  for (guint i = 0; i < 8; i++)
    {
      g_assert_cmpuint (g_array_index (fixture->attempts, guint, 2 * i), ==, i + 2);
      g_assert_cmpuint (g_array_index (fixture->attempts, guint, 2 * i + 1), ==, 9);
    }
  g_assert_cmpuint (fixture->epochs->len, ==, 0);

  /* Nothing more goes out, however long we wait. */
  pl_clock_advance (fixture->clock, SECONDS (1000));
  drain (fixture);
  g_assert_cmpuint (n_requests (fixture), ==, G_N_ELEMENTS (rfc_send_times));
}

/* F-04 */
static void
test_refused (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (fixture->address);
  g_autofree char *expected = NULL;
  gint64 real_start = g_get_monotonic_time ();
  Result *result;

  g_test_summary ("F-04: with nothing listening on the gateway's port, ICMP port unreachable "
                  "ends the request at once as REFUSED, after at most 2 sends");

  /* The fake gateway keeps the address to this test; nothing listens on its port 5399. */
  g_clear_object (&fixture->client);
  fixture->client = g_object_new (PL_TYPE_CLIENT,
                                  "gateway", gateway,
                                  "port", 5399,
                                  "clock", fixture->clock,
                                  NULL);
  connect_client (fixture);

  map (fixture, "map", 40000, 40000, NULL);
  result = run_until (fixture, 1);

  expected = g_strdup_printf ("No NAT-PMP service on %s", fixture->address);
  g_assert_error (result->error, PL_ERROR, PL_ERROR_REFUSED);
  g_assert_nonnull (strstr (result->error->message, expected));
  g_assert_nonnull (strstr (result->error->message, "port 5399"));
  g_assert_cmpint (result->time, <, SECONDS (1));
  g_assert_cmpint (g_get_monotonic_time () - real_start, <, SECONDS (1));
  /* Sends = 1 + retransmissions. */
  g_assert_cmpuint (1 + fixture->attempts->len / 2, <=, 2);
  g_assert_cmpuint (n_requests (fixture), ==, 0);
}

static void
switch_source_cb (PlClient *client,
                  guint     attempt,
                  guint     max_attempts,
                  gpointer  user_data)
{
  Fixture *fixture = user_data;

  /* Send 1 is answered from another address, send 2 from another port, send 3 genuinely. */
  if (attempt == 2)
    pl_fake_gateway_set_reply_source (fixture->gateway, NULL, 5352);
  else if (attempt == 3)
    pl_fake_gateway_set_reply_source (fixture->gateway, NULL, 0);
}

/* F-05 */
static void
test_foreign_source (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (fixture->address);
  g_autofree char *other = NULL;
  guint8 bytes[4];

  /* The next address up: 127.0.X.(N + 1). */
  memcpy (bytes, g_inet_address_to_bytes (gateway), sizeof bytes);
  other = g_strdup_printf ("%u.%u.%u.%u", bytes[0], bytes[1], bytes[2], bytes[3] + 1u);
  Result *result;

  g_test_summary ("F-05: replies from another address or from a port other than 5351 are "
                  "ignored and retransmission goes on; the genuine reply is accepted");

  pl_fake_gateway_set_reply_source (fixture->gateway, other, 0);
  g_signal_connect (fixture->client, "attempt", G_CALLBACK (switch_source_cb), fixture);

  map (fixture, "map", 40000, 40000, NULL);
  result = run_until (fixture, 1);

  g_assert_no_error (result->error);
  g_assert_cmpuint (result->external_port, ==, 40000);
  g_assert_cmpuint (n_requests (fixture), ==, 3);
  g_assert_cmpint (request_at (fixture, 2)->time, ==, SECONDS (0.75));
  g_assert_cmpint (result->time, ==, SECONDS (0.75));
  g_assert_cmpuint (fixture->epochs->len, ==, 1);
}

static GBytes *
map_reply (guint8   opcode,
           guint16  result,
           guint32  epoch,
           guint16  internal_port,
           guint16  external_port,
           guint32  lifetime,
           gsize    truncate_to)
{
  guint8 buf[PL_NATPMP_MAP_REPLY_SIZE];
  gsize len;

  len = pl_natpmp_build_map_reply (buf, sizeof buf, PL_PROTOCOL_UDP, result, epoch,
                                   internal_port, external_port, lifetime);
  g_assert_cmpuint (len, ==, sizeof buf);
  buf[1] = opcode;
  return g_bytes_new (buf, MIN (len, truncate_to));
}

/* F-06 */
static void
test_garbage (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GPtrArray) garbage = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  guint8 buf[PL_PCP_ANNOUNCE_SIZE];
  guint8 version1[PL_NATPMP_MAP_REPLY_SIZE];
  guint8 address_reply[PL_NATPMP_EXTERNAL_ADDRESS_REPLY_SIZE];
  static const guint8 public_address[4] = { 192, 0, 2, 1 };
  gsize len;
  Result *result;

  g_test_summary ("F-06: truncated, wrong-version, wrong-opcode and PCP datagrams are ignored "
                  "without a resend, and the genuine reply is accepted");

  /* Lengths 0, 7, 11 and 15 of a successful map reply for our port. */
  g_ptr_array_add (garbage, g_bytes_new (NULL, 0));
  g_ptr_array_add (garbage, map_reply (0x81, 0, 1, 40000, 40000, 7200, 7));
  g_ptr_array_add (garbage, map_reply (0x81, 0, 1, 40000, 40000, 7200, 11));
  g_ptr_array_add (garbage, map_reply (0x81, 0, 1, 40000, 40000, 7200, 15));
  /* Version 1. */
  {
    g_autoptr(GBytes) reply = map_reply (0x81, 0, 1, 40000, 40001, 7200, 16);

    memcpy (version1, g_bytes_get_data (reply, NULL), sizeof version1);
    version1[0] = 1;
    g_ptr_array_add (garbage, g_bytes_new (version1, sizeof version1));
  }
  /* A TCP answer (0x82) to our UDP request, full size and as a short error. */
  g_ptr_array_add (garbage, map_reply (0x82, 0, 1, 40000, 40002, 7200, 16));
  g_ptr_array_add (garbage, map_reply (0x82, 2, 1, 40000, 0, 0, 8));
  /* An external address reply, and a PCP ANNOUNCE. */
  len = pl_natpmp_build_external_address_reply (address_reply, sizeof address_reply, 0, 1,
                                                public_address);
  g_ptr_array_add (garbage, g_bytes_new (address_reply, len));
  len = pl_natpmp_build_pcp_announce (buf, sizeof buf, 1);
  g_ptr_array_add (garbage, g_bytes_new (buf, len));

  pl_fake_gateway_set_garbage (fixture->gateway, garbage);
  pl_fake_gateway_set_assigned_port (fixture->gateway, 40003);

  map (fixture, "map", 40000, 40000, NULL);
  result = run_until (fixture, 1);

  g_assert_no_error (result->error);
  g_assert_cmpuint (result->external_port, ==, 40003);
  g_assert_cmpuint (result->lifetime, ==, 7200);
  g_assert_cmpint (result->time, ==, 0);
  g_assert_cmpuint (n_requests (fixture), ==, 1);
  g_assert_cmpuint (fixture->attempts->len, ==, 0);
  g_assert_cmpuint (fixture->epochs->len, ==, 1);
}

static void
send_stale_cb (PlClient *client,
               guint     attempt,
               guint     max_attempts,
               gpointer  user_data)
{
  Fixture *fixture = user_data;

  if (attempt == 2)
    {
      g_autoptr(GBytes) stale = map_reply (0x81, 0, 1, 1111, 1111, 7200, 16);

      pl_fake_gateway_send_to_client (fixture->gateway, stale);
    }
}

/* F-07 */
static void
test_stale (Fixture       *fixture,
            gconstpointer  data)
{
  Result *result;

  g_test_summary ("F-07: a stale reply for another internal port is ignored and causes no "
                  "extra resend");

  pl_fake_gateway_set_drop_count (fixture->gateway, 2);
  g_signal_connect (fixture->client, "attempt", G_CALLBACK (send_stale_cb), fixture);

  map (fixture, "map", 2222, 2222, NULL);
  result = run_until (fixture, 1);

  g_assert_no_error (result->error);
  g_assert_cmpuint (result->external_port, ==, 2222);
  g_assert_cmpint (result->time, ==, SECONDS (0.75));
  g_assert_cmpuint (n_requests (fixture), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_cmpint (request_at (fixture, i)->time, ==, SECONDS (rfc_send_times[i]));
      g_assert_cmpuint (request_at (fixture, i)->request.internal_port, ==, 2222);
    }
  g_assert_cmpuint (fixture->epochs->len, ==, 1);
}

/* F-08 */
static void
test_serialized (Fixture       *fixture,
                 gconstpointer  data)
{
  static const char *names[] = { "5001", "5002", "5003", "5004", "5005" };

  g_test_summary ("F-08: five maps at once go out one at a time and complete in FIFO order");

  pl_fake_gateway_set_reply_delay (fixture->gateway, 10);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    map (fixture, names[i], 5001 + i, 5001 + i, NULL);

  run_until (fixture, G_N_ELEMENTS (names));

  g_assert_cmpuint (n_requests (fixture), ==, G_N_ELEMENTS (names));
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      Result *result = g_ptr_array_index (fixture->results, i);
      PlFakeRequest *request = request_at (fixture, i);

      g_assert_no_error (result->error);
      g_assert_cmpstr (result->name, ==, names[i]);
      g_assert_cmpuint (result->external_port, ==, 5001 + i);
      g_assert_cmpuint (request->request.internal_port, ==, 5001 + i);
      /* Request i goes out exactly when request i - 1 completed, never earlier. */
      g_assert_cmpint (request->time, ==, 10000 * (gint64) i);
      g_assert_cmpint (result->time, ==, 10000 * (gint64) (i + 1));
    }
}

/* F-08, seen from the wire: while a request waits for its answer, nothing else goes out. */
static void
test_serialized_silent (Fixture       *fixture,
                        gconstpointer  data)
{
  g_test_summary ("F-08: behind a silent gateway, queued requests wait for the first one's "
                  "timeout");

  pl_fake_gateway_set_silent (fixture->gateway, TRUE);
  pl_client_set_timeout (fixture->client, 1000);

  map (fixture, "a", 6001, 6001, NULL);
  map (fixture, "b", 6002, 6002, NULL);
  run_until (fixture, 2);

  /* a: 0, 0.25, 0.75 then timeout at 1.0; b: 1.0, 1.25, 1.75 then timeout at 2.0. */
  g_assert_cmpuint (n_requests (fixture), ==, 6);
  for (guint i = 0; i < 6; i++)
    {
      PlFakeRequest *request = request_at (fixture, i);

      g_assert_cmpuint (request->request.internal_port, ==, i < 3 ? 6001 : 6002);
      g_assert_cmpint (request->time, ==, SECONDS ((i < 3 ? 0 : 1) + rfc_send_times[i % 3]));
    }
  g_assert_cmpstr (((Result *) g_ptr_array_index (fixture->results, 0))->name, ==, "a");
  g_assert_cmpint (((Result *) g_ptr_array_index (fixture->results, 1))->time, ==, SECONDS (2));
}

/* F-09 */
static void
test_result_codes (Fixture       *fixture,
                   gconstpointer  data)
{
  static const struct {
    guint16 result;
    PlError code;
  } cases[] = {
    { 2, PL_ERROR_NOT_AUTHORIZED },
    { 3, PL_ERROR_NETWORK_FAILURE },
    { 4, PL_ERROR_OUT_OF_RESOURCES },
    { 5, PL_ERROR_UNSUPPORTED_OPCODE },
    { 77, PL_ERROR_UNKNOWN_RESULT },
  };

  g_test_summary ("F-09: result codes 2, 3, 4, 5 and 77 give distinct errors after one send; "
                  "the error reply's port and lifetime are ignored");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Result *result;

      pl_fake_gateway_set_result_code (fixture->gateway, cases[i].result);
      map (fixture, "map", 7000, 7000, NULL);
      result = run_until (fixture, i + 1);

      g_assert_error (result->error, PL_ERROR, (gint) cases[i].code);
      g_assert_false (result->ok);
      g_assert_cmpuint (result->external_port, ==, 0);
      g_assert_cmpuint (result->lifetime, ==, 0);
      g_assert_cmpuint (n_requests (fixture), ==, i + 1);
      for (guint j = 0; j < i; j++)
        g_assert_cmpint (((Result *) g_ptr_array_index (fixture->results, j))->error->code,
                         !=, result->error->code);
    }

  g_assert_cmpuint (fixture->attempts->len, ==, 0);
  /* Error replies carry an epoch too. */
  g_assert_cmpuint (fixture->epochs->len, ==, G_N_ELEMENTS (cases));

  /* The same for the address request. */
  pl_fake_gateway_set_result_code (fixture->gateway, 3);
  pl_client_get_external_address_async (fixture->client, NULL, address_cb,
                                        result_new (fixture, "address"));
  g_assert_error (run_until (fixture, G_N_ELEMENTS (cases) + 1)->error,
                  PL_ERROR, PL_ERROR_NETWORK_FAILURE);
}

typedef struct
{
  Fixture *fixture;
  GBytes  *datagram;
} ShortErrorCase;

static void
send_short_error_cb (PlClient *client,
                     guint     attempt,
                     guint     max_attempts,
                     gpointer  user_data)
{
  ShortErrorCase *c = user_data;

  if (attempt == 2)
    pl_fake_gateway_send_to_client (c->fixture->gateway, c->datagram);
}

/* PMP-29 and the short forms of errors. */
static void
test_short_errors (Fixture       *fixture,
                   gconstpointer  data)
{
  static const struct {
    guint8  opcode;
    guint16 result;
    gint    code;      /* 0: ignored, the request times out */
  } cases[] = {
    { 0x00, 1, PL_ERROR_UNSUPPORTED_VERSION },
    { 0x80, 1, PL_ERROR_UNSUPPORTED_VERSION },
    { 0x81, 1, PL_ERROR_UNSUPPORTED_VERSION },
    { 0x81, 3, PL_ERROR_NETWORK_FAILURE },
    { 0x81, 2, PL_ERROR_NOT_AUTHORIZED },
    { 0x80, 2, 0 },
    { 0x82, 1, 0 },
  };

  g_test_summary ("PMP-29: 8-byte Unsupported Version (opcode 0, 128 or 128 + op) and short "
                  "errors echoing our opcode end the request; other short errors are ignored");

  pl_fake_gateway_set_silent (fixture->gateway, TRUE);
  pl_client_set_timeout (fixture->client, 1000);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint8 buf[PL_NATPMP_SHORT_REPLY_SIZE];
      ShortErrorCase c = { fixture, NULL };
      gulong id;
      Result *result;
      gsize len;

      len = pl_natpmp_build_short_reply (buf, sizeof buf, cases[i].opcode, cases[i].result, 9);
      c.datagram = g_bytes_new (buf, len);
      id = g_signal_connect (fixture->client, "attempt", G_CALLBACK (send_short_error_cb), &c);

      g_array_set_size (fixture->epochs, 0);
      map (fixture, "map", 7100, 7100, NULL);
      result = run_until (fixture, i + 1);

      if (cases[i].code != 0)
        {
          g_assert_error (result->error, PL_ERROR, cases[i].code);
          g_assert_cmpuint (fixture->epochs->len, ==, 1);
          g_assert_cmpuint (g_array_index (fixture->epochs, guint, 0), ==, 9);
        }
      else
        {
          g_assert_error (result->error, PL_ERROR, PL_ERROR_TIMED_OUT);
          g_assert_cmpuint (fixture->epochs->len, ==, 0);
        }

      g_signal_handler_disconnect (fixture->client, id);
      g_bytes_unref (c.datagram);
    }
}

/* F-10 */
static void
test_assigned_port (Fixture       *fixture,
                    gconstpointer  data)
{
  Result *result;

  g_test_summary ("F-10: the port the gateway assigns is the one reported");

  pl_fake_gateway_set_assigned_port (fixture->gateway, 40000);
  pl_fake_gateway_set_granted_lifetime (fixture->gateway, 60);

  map (fixture, "map", 8080, 8080, NULL);
  result = run_until (fixture, 1);

  g_assert_no_error (result->error);
  g_assert_cmpuint (result->external_port, ==, 40000);
  g_assert_cmpuint (result->lifetime, ==, 60);
  g_assert_cmpuint (request_at (fixture, 0)->request.external_port, ==, 8080);
}

/* F-18 */
static void
test_unmap (Fixture       *fixture,
            gconstpointer  data)
{
  static const guint8 expected[] = {
    0x00, 0x01, 0x00, 0x00, 0x1f, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  Result *result;

  g_test_summary ("F-18: a delete has lifetime 0 and suggested port 0; success for a mapping "
                  "that never existed is accepted");

  pl_fake_gateway_set_epoch (fixture->gateway, 77);

  /* The fake gateway holds no mappings, so this one never existed. */
  pl_client_unmap_async (fixture->client, PL_PROTOCOL_UDP, 8080, NULL, unmap_cb,
                         result_new (fixture, "unmap"));
  result = run_until (fixture, 1);

  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  g_assert_cmpuint (result->epoch, ==, 77);
  g_assert_cmpuint (n_requests (fixture), ==, 1);
  assert_request_bytes (fixture, 0, expected, sizeof expected);
  g_assert_cmpuint (request_at (fixture, 0)->request.lifetime, ==, 0);
  g_assert_cmpuint (request_at (fixture, 0)->request.external_port, ==, 0);
}

/* F-18 */
static void
test_unmap_silent (Fixture       *fixture,
                   gconstpointer  data)
{
  Result *result;

  g_test_summary ("F-18: a delete to a silent gateway gives up after 3 sends");

  pl_fake_gateway_set_silent (fixture->gateway, TRUE);

  pl_client_unmap_async (fixture->client, PL_PROTOCOL_TCP, 8080, NULL, unmap_cb,
                         result_new (fixture, "unmap"));
  result = run_until (fixture, 1);

  g_assert_error (result->error, PL_ERROR, PL_ERROR_TIMED_OUT);
  g_assert_nonnull (strstr (result->error->message, "after 3 attempts in 1.75 s"));
  g_assert_cmpint (result->time, ==, SECONDS (1.75));
  g_assert_cmpuint (n_requests (fixture), ==, 3);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (request_at (fixture, i)->time, ==, SECONDS (rfc_send_times[i]));
  g_assert_cmpuint (fixture->attempts->len, ==, 4);
  g_assert_cmpuint (g_array_index (fixture->attempts, guint, 1), ==, 3);

  pl_clock_advance (fixture->clock, SECONDS (100));
  drain (fixture);
  g_assert_cmpuint (n_requests (fixture), ==, 3);
}

/* F-18 */
static void
test_unmap_all (Fixture       *fixture,
                gconstpointer  data)
{
  static const guint8 expected[] = {
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  Result *result;

  g_test_summary ("F-18: delete-all is 00 01 00 00 00 00 00 00 00 00 00 00 and its reply with "
                  "internal port 0 is accepted");

  pl_client_unmap_all_async (fixture->client, PL_PROTOCOL_UDP, NULL, unmap_all_cb,
                             result_new (fixture, "unmap-all"));
  result = run_until (fixture, 1);

  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  g_assert_cmpuint (n_requests (fixture), ==, 1);
  assert_request_bytes (fixture, 0, expected, sizeof expected);

  /* And the gateway's refusal to delete everything is an error. */
  pl_fake_gateway_set_result_code (fixture->gateway, 2);
  pl_client_unmap_all_async (fixture->client, PL_PROTOCOL_TCP, NULL, unmap_all_cb,
                             result_new (fixture, "unmap-all"));
  g_assert_error (run_until (fixture, 2)->error, PL_ERROR, PL_ERROR_NOT_AUTHORIZED);
}

static void
notify_cb (GObject    *object,
           GParamSpec *pspec,
           gpointer    user_data)
{
  guint *count = user_data;

  (*count)++;
}

static void
test_timeout_bound (Fixture       *fixture,
                    gconstpointer  data)
{
  guint notifications = 0;
  Result *result;

  g_test_summary ("timeout-ms bounds a request from its first send");

  g_signal_connect (fixture->client, "notify::timeout-ms", G_CALLBACK (notify_cb),
                    &notifications);
  g_assert_cmpuint (pl_client_get_timeout (fixture->client), ==, 0);
  pl_client_set_timeout (fixture->client, 1000);
  pl_client_set_timeout (fixture->client, 1000);
  g_assert_cmpuint (notifications, ==, 1);
  g_assert_cmpuint (pl_client_get_timeout (fixture->client), ==, 1000);

  pl_fake_gateway_set_silent (fixture->gateway, TRUE);
  map (fixture, "map", 9000, 9000, NULL);
  result = run_until (fixture, 1);

  g_assert_error (result->error, PL_ERROR, PL_ERROR_TIMED_OUT);
  g_assert_nonnull (strstr (result->error->message, "after 3 attempts in 1 s"));
  g_assert_cmpint (result->time, ==, SECONDS (1));
  g_assert_cmpuint (n_requests (fixture), ==, 3);
  /* The bounded schedule has room for 3 sends, and "attempt" says so. */
  g_assert_cmpuint (fixture->attempts->len, ==, 4);
  g_assert_cmpuint (g_array_index (fixture->attempts, guint, 0), ==, 2);
  g_assert_cmpuint (g_array_index (fixture->attempts, guint, 1), ==, 3);
  g_assert_cmpuint (g_array_index (fixture->attempts, guint, 2), ==, 3);
  g_assert_cmpuint (g_array_index (fixture->attempts, guint, 3), ==, 3);
}

static void
test_queue_full (Fixture       *fixture,
                 gconstpointer  data)
{
  Result *result;

  g_test_summary ("Beyond max-queue waiting requests, a new one fails with QUEUE_FULL at once");

  replace_client (fixture, 2, 100);
  pl_fake_gateway_set_silent (fixture->gateway, TRUE);

  map (fixture, "in-flight", 9100, 9100, NULL);
  map (fixture, "queued-1", 9101, 9101, NULL);
  map (fixture, "queued-2", 9102, 9102, NULL);
  map (fixture, "refused", 9103, 9103, NULL);

  result = run_until (fixture, 1);
  g_assert_cmpstr (result->name, ==, "refused");
  g_assert_error (result->error, PL_ERROR, PL_ERROR_QUEUE_FULL);
  g_assert_cmpint (result->time, ==, 0);

  run_until (fixture, 4);
  for (guint i = 1; i < 4; i++)
    {
      result = g_ptr_array_index (fixture->results, i);
      g_assert_error (result->error, PL_ERROR, PL_ERROR_TIMED_OUT);
      g_assert_cmpint (result->time, ==, 100000 * (gint64) i);
    }
  g_assert_cmpuint (n_requests (fixture), ==, 3);

  /* With the queue drained, there is room again. */
  pl_fake_gateway_set_silent (fixture->gateway, FALSE);
  map (fixture, "later", 9104, 9104, NULL);
  g_assert_no_error (run_until (fixture, 5)->error);
}

static gboolean
cancel_cb (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static void
test_cancel_in_flight (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Result *result;

  g_test_summary ("Cancelling the request in flight returns CANCELLED, stops its resends and "
                  "starts the next one");

  pl_fake_gateway_set_drop_count (fixture->gateway, 1);
  map (fixture, "cancelled", 9200, 9200, cancellable);
  map (fixture, "next", 9201, 9201, NULL);
  pl_clock_timeout_add (fixture->clock, 100, cancel_cb, cancellable);

  result = run_until (fixture, 1);
  g_assert_cmpstr (result->name, ==, "cancelled");
  g_assert_error (result->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (result->time, ==, SECONDS (0.1));

  result = run_until (fixture, 2);
  g_assert_cmpstr (result->name, ==, "next");
  g_assert_no_error (result->error);
  g_assert_cmpint (result->time, ==, SECONDS (0.1));

  /* The cancelled request's resend at 0.25 s never happened. */
  pl_clock_advance (fixture->clock, SECONDS (200));
  drain (fixture);
  g_assert_cmpuint (n_requests (fixture), ==, 2);
  g_assert_cmpuint (request_at (fixture, 0)->request.internal_port, ==, 9200);
  g_assert_cmpuint (request_at (fixture, 1)->request.internal_port, ==, 9201);
  g_assert_cmpint (request_at (fixture, 1)->time, ==, SECONDS (0.1));
  g_assert_cmpuint (fixture->attempts->len, ==, 0);
}

static void
test_cancel_queued (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GCancellable) precancelled = g_cancellable_new ();
  Result *result;

  g_test_summary ("Cancelling a queued request removes it from the queue; it is never sent");

  pl_fake_gateway_set_drop_count (fixture->gateway, 1);
  g_cancellable_cancel (precancelled);

  map (fixture, "first", 9300, 9300, NULL);
  map (fixture, "cancelled", 9301, 9301, cancellable);
  map (fixture, "precancelled", 9302, 9302, precancelled);
  map (fixture, "last", 9303, 9303, NULL);
  g_cancellable_cancel (cancellable);

  run_until (fixture, 4);

  /* Both cancelled requests complete at once, in either order. */
  for (guint i = 0; i < 2; i++)
    {
      result = g_ptr_array_index (fixture->results, i);
      g_assert_true (g_str_equal (result->name, "cancelled") ||
                     g_str_equal (result->name, "precancelled"));
      g_assert_error (result->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_cmpint (result->time, ==, 0);
    }
  g_assert_cmpstr (((Result *) g_ptr_array_index (fixture->results, 0))->name, !=,
                   ((Result *) g_ptr_array_index (fixture->results, 1))->name);

  result = g_ptr_array_index (fixture->results, 2);
  g_assert_cmpstr (result->name, ==, "first");
  g_assert_no_error (result->error);
  g_assert_cmpint (result->time, ==, SECONDS (0.25));
  result = g_ptr_array_index (fixture->results, 3);
  g_assert_cmpstr (result->name, ==, "last");
  g_assert_no_error (result->error);

  /* first (dropped), first again, last: the cancelled ones never went out. */
  g_assert_cmpuint (n_requests (fixture), ==, 3);
  g_assert_cmpuint (request_at (fixture, 0)->request.internal_port, ==, 9300);
  g_assert_cmpuint (request_at (fixture, 1)->request.internal_port, ==, 9300);
  g_assert_cmpuint (request_at (fixture, 2)->request.internal_port, ==, 9303);
}

static void
test_epoch_signal (Fixture       *fixture,
                   gconstpointer  data)
{
  Result *result;

  g_test_summary ("::epoch is emitted once per accepted reply with the gateway's epoch, which "
                  "the finish functions report too");

  pl_fake_gateway_set_epoch (fixture->gateway, 5000);

  pl_client_get_external_address_async (fixture->client, NULL, address_cb,
                                        result_new (fixture, "address"));
  result = run_until (fixture, 1);
  g_assert_cmpuint (result->epoch, ==, 5000);

  pl_clock_advance (fixture->clock, SECONDS (3));
  map (fixture, "map", 9400, 9400, NULL);
  result = run_until (fixture, 2);
  g_assert_no_error (result->error);
  g_assert_cmpuint (result->epoch, ==, 5003);

  g_assert_cmpuint (fixture->epochs->len, ==, 2);
  g_assert_cmpuint (g_array_index (fixture->epochs, guint, 0), ==, 5000);
  g_assert_cmpuint (g_array_index (fixture->epochs, guint, 1), ==, 5003);
}

static void
test_zero_address (Fixture       *fixture,
                   gconstpointer  data)
{
  Result *result;

  g_test_summary ("PMP-11: a success reply carrying 0.0.0.0 is a network failure");

  pl_fake_gateway_set_external_address (fixture->gateway, "0.0.0.0");
  pl_client_get_external_address_async (fixture->client, NULL, address_cb,
                                        result_new (fixture, "address"));
  result = run_until (fixture, 1);

  g_assert_error (result->error, PL_ERROR, PL_ERROR_NETWORK_FAILURE);
  g_assert_nonnull (strstr (result->error->message, "reports no public address"));
  g_assert_null (result->address);
  g_assert_cmpuint (n_requests (fixture), ==, 1);
}

static void
test_dispose (Fixture       *fixture,
              gconstpointer  data)
{
  Result *result;

  g_test_summary ("Disposing the client fails every pending request and closes the socket");

  pl_fake_gateway_set_silent (fixture->gateway, TRUE);
  map (fixture, "in-flight", 9500, 9500, NULL);
  map (fixture, "queued", 9501, 9501, NULL);

  g_object_run_dispose (G_OBJECT (fixture->client));
  run_until (fixture, 2);

  for (guint i = 0; i < 2; i++)
    {
      result = g_ptr_array_index (fixture->results, i);
      g_assert_error (result->error, G_IO_ERROR, G_IO_ERROR_CLOSED);
      g_assert_cmpint (result->time, ==, 0);
    }

  /* A request after that fails the same way, and nothing more is sent. */
  map (fixture, "after", 9502, 9502, NULL);
  result = run_until (fixture, 3);
  g_assert_error (result->error, G_IO_ERROR, G_IO_ERROR_CLOSED);

  pl_clock_advance (fixture->clock, SECONDS (200));
  drain (fixture);
  g_assert_cmpuint (n_requests (fixture), ==, 1);
}

static void
test_properties (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GInetAddress) gateway = NULL;
  g_autoptr(PlClock) clock = NULL;
  g_autoptr(PlClient) client = NULL;
  guint port, timeout_ms, max_queue;

  g_test_summary ("Property defaults, and the real clock when none is given");

  g_object_get (fixture->client,
                "gateway", &gateway,
                "clock", &clock,
                "port", &port,
                "timeout-ms", &timeout_ms,
                "max-queue", &max_queue,
                NULL);
  g_assert_true (gateway == pl_client_get_gateway (fixture->client));
  g_assert_true (clock == fixture->clock);
  g_assert_cmpuint (port, ==, 5351);
  g_assert_cmpuint (timeout_ms, ==, 0);
  g_assert_cmpuint (max_queue, ==, 1024);
  g_clear_object (&clock);

  client = pl_client_new (gateway, NULL);
  g_object_get (client, "clock", &clock, NULL);
  g_assert_false (pl_clock_is_virtual (clock));
}

static void
test_real_clock (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(PlClock) clock = pl_clock_get_default ();
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (fixture->address);
  g_autoptr(GError) error = NULL;
  Result *result;

  g_test_summary ("On the real clock, a reply after one drop arrives with the first resend "
                  "(due 250 ms later)");

  g_clear_object (&fixture->client);
  g_clear_object (&fixture->gateway);
  fixture->gateway = pl_fake_gateway_new (fixture->address, clock, &error);
  g_assert_no_error (error);
  fixture->client = pl_client_new (gateway, clock);
  connect_client (fixture);
  g_clear_object (&fixture->clock);
  fixture->clock = g_object_ref (clock);

  pl_fake_gateway_set_drop_count (fixture->gateway, 1);
  map (fixture, "map", 9600, 9600, NULL);
  result = run_until (fixture, 1);

  g_assert_no_error (result->error);
  g_assert_cmpuint (n_requests (fixture), ==, 2);
  /* Exact timing is the virtual-clock tests' job. Here only: the resend waited (it is not
   * an immediate duplicate) and came; the gateway logs arrivals after its own dispatch, so
   * the measured gap can be a little under 250 ms on a loaded machine. */
  g_assert_cmpint (request_at (fixture, 1)->time - request_at (fixture, 0)->time, >=,
                   SECONDS (0.1));
  g_assert_cmpint (request_at (fixture, 1)->time - request_at (fixture, 0)->time, <,
                   SECONDS (5));
}

/* The engine's journal, through PlPortMapper (pl-journal-sweep.c deletes what it lists). */

#define JOURNAL_N 20

static void
journal_mapper_map_cb (GObject      *object,
                       GAsyncResult *res,
                       gpointer      user_data)
{
  Result *result = user_data;
  guint *on_disk_at_first = g_object_get_data (object, "on-disk-at-first");
  const char *path = g_object_get_data (object, "journal-path");

  if (result->fixture->results->len == 0)
    {
      g_autoptr(PlPcpState) check = pl_pcp_state_new (path);
      g_autoptr(GPtrArray) records = NULL;
      g_autoptr(GError) error = NULL;

      g_assert_true (pl_pcp_state_load (check, &error));
      records = pl_pcp_state_list (check, NULL);
      *on_disk_at_first = records->len;
    }
  result->ok = pl_port_mapper_map_finish (PL_PORT_MAPPER (object), res, &result->external_port,
                                          &result->lifetime, &result->epoch, &result->error);
  result_done (result);
}

static void
journal_mapper_unmap_cb (GObject      *object,
                         GAsyncResult *res,
                         gpointer      user_data)
{
  Result *result = user_data;

  result->ok = pl_port_mapper_unmap_finish (PL_PORT_MAPPER (object), res, &result->epoch,
                                            &result->error);
  result_done (result);
}

/* The records of @path, as another process reads them: internal port -> external port. */
static GHashTable *
journal_ports (const char *path)
{
  g_autoptr(PlPcpState) check = pl_pcp_state_new (path);
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GError) error = NULL;
  GHashTable *ports = g_hash_table_new (NULL, NULL);

  g_assert_true (pl_pcp_state_load (check, &error));
  records = pl_pcp_state_list (check, NULL);
  for (guint i = 0; i < records->len; i++)
    {
      const PlPcpRecord *record = g_ptr_array_index (records, i);

      g_assert_cmpint (record->method, ==, PL_PCP_METHOD_NATPMP);
      g_assert_cmpint (record->owner, ==, PL_PCP_OWNER_ENGINE);
      g_hash_table_insert (ports, GUINT_TO_POINTER ((guint) record->internal_port),
                           GUINT_TO_POINTER ((guint) record->external_port));
    }
  return ports;
}

static void
journal_map (Fixture *fixture,
             guint16  port)
{
  pl_port_mapper_map_async (PL_PORT_MAPPER (fixture->client), PL_PROTOCOL_TCP, port, port, 3600,
                            NULL, journal_mapper_map_cb, result_new (fixture, "map"));
}

static void
journal_unmap (Fixture *fixture,
               guint16  port)
{
  pl_port_mapper_unmap_async (PL_PORT_MAPPER (fixture->client), PL_PROTOCOL_TCP, port, NULL,
                              journal_mapper_unmap_cb, result_new (fixture, "unmap"));
}

static void
test_journal_batch (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *path = g_build_filename (g_get_user_runtime_dir (), "portlight",
                                            "engine-mappings.ini", NULL);
  g_autoptr(PlPcpState) journal = pl_pcp_state_new (path);
  g_autoptr(PlTestReplaces) replaces = pl_test_replaces_new (path);
  g_autoptr(GHashTable) ports = NULL;
  g_autoptr(GError) error = NULL;
  guint on_disk_at_first = 0;
  guint first, done;

  g_test_summary ("With an engine's journal, NAT-PMP mappings asked for together are all on "
                  "disk, with one save, before the first request goes out, and their answers "
                  "are one more save; a confirmed delete takes the port out of the file, an "
                  "unanswered one leaves it there; a MAP and a delete of one port asked "
                  "together keep their order");

  g_assert_true (pl_pcp_state_load (journal, &error));
  pl_pcp_state_set_owner (journal, PL_PCP_OWNER_ENGINE);
  pl_port_mapper_set_journal (PL_PORT_MAPPER (fixture->client), journal);
  g_object_set_data (G_OBJECT (fixture->client), "on-disk-at-first", &on_disk_at_first);
  g_object_set_data (G_OBJECT (fixture->client), "journal-path", path);

  for (guint i = 0; i < JOURNAL_N; i++)
    journal_map (fixture, 32000 + i);
  g_assert_cmpuint (n_requests (fixture), ==, 0);
  run_until (fixture, JOURNAL_N);
  g_assert_cmpuint (on_disk_at_first, ==, JOURNAL_N);
  g_assert_cmpuint (pl_test_replaces_count (replaces), ==, 2);
  ports = journal_ports (path);
  g_assert_cmpuint (g_hash_table_size (ports), ==, JOURNAL_N);
  for (guint i = 0; i < JOURNAL_N; i++)
    {
      Result *result = g_ptr_array_index (fixture->results, i);

      g_assert_no_error (result->error);
      g_assert_cmpuint (GPOINTER_TO_UINT (g_hash_table_lookup (ports,
                                                               GUINT_TO_POINTER (32000 + i))),
                        ==, result->external_port);
    }
  g_clear_pointer (&ports, g_hash_table_unref);

  /* A renewal and a delete together. */
  journal_map (fixture, 32000);
  journal_unmap (fixture, 32001);
  run_until (fixture, JOURNAL_N + 2);
  g_assert_no_error (((Result *) g_ptr_array_index (fixture->results, JOURNAL_N + 1))->error);
  g_assert_cmpuint (pl_test_replaces_count (replaces), ==, 4);
  ports = journal_ports (path);
  g_assert_cmpuint (g_hash_table_size (ports), ==, JOURNAL_N - 1);
  g_assert_false (g_hash_table_contains (ports, GUINT_TO_POINTER (32001)));
  g_clear_pointer (&ports, g_hash_table_unref);

  /* A MAP and a delete of one port together: that order at the gateway, no record left. */
  first = n_requests (fixture);
  journal_map (fixture, 33000);
  journal_unmap (fixture, 33000);
  run_until (fixture, JOURNAL_N + 4);
  g_assert_cmpuint (n_requests (fixture), ==, first + 2);
  g_assert_cmpuint (request_at (fixture, first)->request.internal_port, ==, 33000);
  g_assert_cmpuint (request_at (fixture, first)->request.lifetime, >, 0);
  g_assert_cmpuint (request_at (fixture, first + 1)->request.internal_port, ==, 33000);
  g_assert_cmpuint (request_at (fixture, first + 1)->request.lifetime, ==, 0);
  ports = journal_ports (path);
  g_assert_false (g_hash_table_contains (ports, GUINT_TO_POINTER (33000)));
  g_clear_pointer (&ports, g_hash_table_unref);

  /* A delete the gateway never answers: the port stays in the file, for the next engine. */
  pl_fake_gateway_set_silent (fixture->gateway, TRUE);
  journal_unmap (fixture, 32002);
  run_until (fixture, JOURNAL_N + 5);
  g_assert_nonnull (((Result *) g_ptr_array_index (fixture->results, JOURNAL_N + 4))->error);
  done = pl_test_replaces_count (replaces);
  ports = journal_ports (path);
  g_assert_true (g_hash_table_contains (ports, GUINT_TO_POINTER (32002)));
  g_assert_cmpuint (g_hash_table_size (ports), ==, JOURNAL_N - 1);
  g_assert_cmpuint (pl_test_replaces_count (replaces), ==, done);
}

static void
add_test (const char *path,
          guint       n,
          void      (*test) (Fixture *, gconstpointer))
{
  g_test_add (path, Fixture, GUINT_TO_POINTER (n), fixture_set_up, test, fixture_tear_down);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  add_test ("/pm/client/external-address", 100, test_external_address);
  add_test ("/pm/client/map-bytes", 101, test_map_bytes);
  add_test ("/pm/client/silent", 102, test_silent);
  add_test ("/pm/client/refused", 103, test_refused);
  /* 105 is the foreign source of 104. */
  add_test ("/pm/client/foreign-source", 104, test_foreign_source);
  add_test ("/pm/client/garbage", 106, test_garbage);
  add_test ("/pm/client/stale", 107, test_stale);
  add_test ("/pm/client/serialized", 108, test_serialized);
  add_test ("/pm/client/serialized-silent", 109, test_serialized_silent);
  add_test ("/pm/client/result-codes", 110, test_result_codes);
  add_test ("/pm/client/short-errors", 111, test_short_errors);
  add_test ("/pm/client/assigned-port", 112, test_assigned_port);
  add_test ("/pm/client/unmap", 113, test_unmap);
  add_test ("/pm/client/unmap-silent", 114, test_unmap_silent);
  add_test ("/pm/client/unmap-all", 115, test_unmap_all);
  add_test ("/pm/client/timeout-bound", 116, test_timeout_bound);
  add_test ("/pm/client/queue-full", 117, test_queue_full);
  add_test ("/pm/client/cancel-in-flight", 118, test_cancel_in_flight);
  add_test ("/pm/client/cancel-queued", 119, test_cancel_queued);
  add_test ("/pm/client/epoch-signal", 120, test_epoch_signal);
  add_test ("/pm/client/zero-address", 121, test_zero_address);
  add_test ("/pm/client/dispose", 122, test_dispose);
  add_test ("/pm/client/properties", 123, test_properties);
  add_test ("/pm/client/real-clock", 124, test_real_clock);
  add_test ("/pm/client/journal-batch", 125, test_journal_batch);

  return g_test_run ();
}
