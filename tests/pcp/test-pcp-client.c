/* test-pcp-client.c: PlPcpClient against the in-process fake PCP server, on virtual time
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "pl-core.h"
#include "pl-fake-pcp-gateway.h"
#include "pl-test-replaces.h"

/* Every test has its own server address 127.0.0.N (N from 160 up, passed as test data), so the
 * tests run in parallel with each other and with other test programs; should that address be
 * taken anyway, the test moves to 127.0.1.N, 127.0.2.N and so on. The clock is virtual with
 * auto-advance: time moves only when nothing else is ready, so the times asserted are exact. */

#define SECONDS(s) ((gint64) ((s) * G_USEC_PER_SEC + 0.5))

typedef struct
{
  PlClock          *clock;
  PlFakePcpGateway *gateway;
  PlPcpClient      *client;
  GMainLoop        *loop;
  char             *address;
  guint             n;
  GPtrArray        *results;        /* Result*, in completion order */
  guint             expected;
  GArray           *attempts;       /* guint pairs: attempt, max_attempts */
  GArray           *epochs;         /* guint */
  guint             notifies;       /* external-address */
  guint             guard_id;
} Fixture;

typedef struct
{
  Fixture      *fixture;
  const char   *name;
  GError       *error;
  gboolean      ok;
  gint64        time;
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
attempt_cb (PlPcpClient *client,
            guint        attempt,
            guint        max_attempts,
            gpointer     user_data)
{
  Fixture *fixture = user_data;

  g_array_append_val (fixture->attempts, attempt);
  g_array_append_val (fixture->attempts, max_attempts);
}

static void
epoch_cb (PlPcpClient *client,
          guint        epoch,
          gpointer     user_data)
{
  Fixture *fixture = user_data;

  g_array_append_val (fixture->epochs, epoch);
}

static void
notify_cb (GObject    *object,
           GParamSpec *pspec,
           gpointer    user_data)
{
  Fixture *fixture = user_data;

  fixture->notifies++;
}

static void
new_client (Fixture *fixture,
            guint    timeout_ms)
{
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (fixture->address);

  g_clear_object (&fixture->client);
  fixture->client = g_object_new (PL_TYPE_PCP_CLIENT,
                                  "gateway", gateway,
                                  "clock", fixture->clock,
                                  "timeout", timeout_ms,
                                  NULL);
  g_signal_connect (fixture->client, "attempt", G_CALLBACK (attempt_cb), fixture);
  g_signal_connect (fixture->client, "epoch", G_CALLBACK (epoch_cb), fixture);
  g_signal_connect (fixture->client, "notify::external-address", G_CALLBACK (notify_cb),
                    fixture);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->n = GPOINTER_TO_UINT (data);
  fixture->clock = pl_clock_new_virtual (TRUE);

  for (guint subnet = 0; fixture->gateway == NULL; subnet++)
    {
      g_clear_error (&error);
      g_clear_pointer (&fixture->address, g_free);
      fixture->address = g_strdup_printf ("127.0.%u.%u", subnet, fixture->n);
      fixture->gateway = pl_fake_pcp_gateway_new (fixture->address, fixture->clock, &error);
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE) || subnet == 255)
        break;
    }
  g_assert_no_error (error);
  g_assert_nonnull (fixture->gateway);

  fixture->loop = g_main_loop_new (NULL, FALSE);
  fixture->results = g_ptr_array_new_with_free_func (result_free);
  fixture->attempts = g_array_new (FALSE, FALSE, sizeof (guint));
  fixture->epochs = g_array_new (FALSE, FALSE, sizeof (guint));
  fixture->guard_id = g_timeout_add_seconds (30, guard_cb, fixture);

  new_client (fixture, 0);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_handle_id (&fixture->guard_id, g_source_remove);
  if (fixture->client != NULL)
    g_object_run_dispose (G_OBJECT (fixture->client));
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
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
map_cb (GObject      *object,
        GAsyncResult *res,
        gpointer      user_data)
{
  Result *result = user_data;

  result->ok = pl_pcp_client_map_finish (PL_PCP_CLIENT (object), res, &result->external_port,
                                         &result->lifetime, &result->epoch, &result->error);
  result_done (result);
}

static void
unmap_cb (GObject      *object,
          GAsyncResult *res,
          gpointer      user_data)
{
  Result *result = user_data;

  result->ok = pl_pcp_client_unmap_finish (PL_PCP_CLIENT (object), res, &result->epoch,
                                           &result->error);
  result_done (result);
}

static void
probe_cb (GObject      *object,
          GAsyncResult *res,
          gpointer      user_data)
{
  Result *result = user_data;

  result->ok = pl_pcp_client_probe_finish (PL_PCP_CLIENT (object), res, &result->epoch,
                                           &result->error);
  result_done (result);
}

static void
address_cb (GObject      *object,
            GAsyncResult *res,
            gpointer      user_data)
{
  Result *result = user_data;

  result->address = pl_pcp_client_get_external_address_finish (PL_PCP_CLIENT (object), res,
                                                               &result->epoch, &result->error);
  result->ok = result->address != NULL;
  result_done (result);
}

static void
map_full (Fixture      *fixture,
          const char   *name,
          PlProtocol    protocol,
          guint16       internal_port,
          guint16       suggested,
          guint32       lifetime,
          GCancellable *cancellable)
{
  pl_pcp_client_map_async (fixture->client, protocol, internal_port, suggested, lifetime,
                           cancellable, map_cb, result_new (fixture, name));
}

static void
map (Fixture    *fixture,
     const char *name,
     guint16     internal_port,
     guint16     suggested)
{
  map_full (fixture, name, PL_PROTOCOL_TCP, internal_port, suggested, 7200, NULL);
}

static void
unmap (Fixture      *fixture,
       const char   *name,
       PlProtocol    protocol,
       guint16       internal_port,
       GCancellable *cancellable)
{
  pl_pcp_client_unmap_async (fixture->client, protocol, internal_port, cancellable, unmap_cb,
                             result_new (fixture, name));
}

static void
probe (Fixture *fixture)
{
  pl_pcp_client_probe_async (fixture->client, NULL, probe_cb, result_new (fixture, "probe"));
}

static void
external_address (Fixture *fixture)
{
  pl_pcp_client_get_external_address_async (fixture->client, NULL, address_cb,
                                            result_new (fixture, "address"));
}

/* Runs until @n results in all have come in, and returns the last. */
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

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

/* Runs until the virtual clock reads @seconds from now. */
static void
run_for (Fixture *fixture,
         double   seconds)
{
  fixture->expected = G_MAXUINT;
  pl_clock_timeout_add (fixture->clock, (guint64) (seconds * 1000), quit_cb, fixture->loop);
  g_main_loop_run (fixture->loop);
}

static Result *
result_at (Fixture *fixture,
           guint    i)
{
  g_assert_cmpuint (i, <, fixture->results->len);
  return g_ptr_array_index (fixture->results, i);
}

static guint
n_requests (Fixture *fixture)
{
  return pl_fake_pcp_gateway_get_requests (fixture->gateway)->len;
}

static PlFakePcpRequest *
request_at (Fixture *fixture,
            guint    i)
{
  GPtrArray *requests = pl_fake_pcp_gateway_get_requests (fixture->gateway);

  g_assert_cmpuint (i, <, requests->len);
  return g_ptr_array_index (requests, i);
}

static void
put_u16 (guint8  *p,
         guint16  v)
{
  p[0] = (guint8) (v >> 8);
  p[1] = (guint8) v;
}

static void
put_u32 (guint8  *p,
         guint32  v)
{
  p[0] = (guint8) (v >> 24);
  p[1] = (guint8) (v >> 16);
  p[2] = (guint8) (v >> 8);
  p[3] = (guint8) v;
}

static void
test_map_bytes (Fixture       *fixture,
                gconstpointer  data)
{
  static const guint8 zero_nonce[PL_PCP_NONCE_SIZE] = { 0 };
  static const guint8 any_ipv4[4] = { 0, 0, 0, 0 };
  PlFakePcpRequest *request;
  guint8 expected[PL_PCP_MAP_SIZE] = { 0 };
  guint8 nonce[PL_PCP_NONCE_SIZE];
  const guint8 *bytes;
  gsize len;
  Result *result;
  guint16 port;

  g_test_summary ("A MAP request has the exact RFC 6887 layout: the client IP is the socket's "
                  "IPv4-mapped source, a random nonce, the suggested port; the assigned port, "
                  "granted lifetime and epoch are reported and the external address learnt");

  pl_fake_pcp_gateway_set_epoch (fixture->gateway, 41);
  map (fixture, "map", 40000, 40000);
  result = run_until (fixture, 1);

  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  g_assert_cmpuint (result->external_port, ==, 40000);
  g_assert_cmpuint (result->lifetime, ==, 7200);
  g_assert_cmpuint (result->epoch, ==, 41);
  g_assert_cmpint (result->time, ==, 0);
  g_assert_cmpstr (pl_pcp_client_get_external_address (fixture->client), ==, "203.0.113.7");
  g_assert_cmpuint (fixture->notifies, ==, 1);

  g_assert_cmpuint (n_requests (fixture), ==, 1);
  request = request_at (fixture, 0);
  g_assert_true (request->parsed);
  bytes = g_bytes_get_data (request->bytes, &len);
  g_assert_cmpuint (len, ==, PL_PCP_MAP_SIZE);

  g_assert_true (pl_pcp_client_get_mapping_state (fixture->client, PL_PROTOCOL_TCP, 40000,
                                                  nonce, &port));
  g_assert_cmpuint (port, ==, 40000);
  g_assert_cmpmem (nonce, sizeof nonce, bytes + 24, PL_PCP_NONCE_SIZE);
  g_assert_true (memcmp (nonce, zero_nonce, sizeof nonce) != 0);

  expected[0] = 2;
  expected[1] = PL_PCP_OP_MAP;
  put_u32 (expected + 4, 7200);
  memcpy (expected + 8, request->source_address, 16);
  memcpy (expected + 24, nonce, sizeof nonce);
  expected[36] = PL_PCP_IANA_TCP;
  put_u16 (expected + 40, 40000);
  put_u16 (expected + 42, 40000);
  pl_pcp_address_from_ipv4 (any_ipv4, expected + 44);
  g_assert_cmpmem (bytes, len, expected, sizeof expected);
  g_assert_true (pl_pcp_address_is_ipv4 (request->source_address, NULL));

  /* Another mapping gets another nonce. */
  map (fixture, "map2", 40001, 0);
  result = run_until (fixture, 2);
  g_assert_no_error (result->error);
  g_assert_cmpuint (result->external_port, ==, 40001);
  request = request_at (fixture, 1);
  g_assert_cmpuint (request->request.suggested_external_port, ==, 0);
  g_assert_true (memcmp (request->request.nonce, nonce, sizeof nonce) != 0);
  g_assert_cmpuint (fixture->notifies, ==, 1);
}

static void
test_renewal (Fixture       *fixture,
              gconstpointer  data)
{
  PlFakePcpRequest *first, *second;
  Result *result;

  g_test_summary ("A renewal reuses the nonce and suggests the assigned port, whatever the "
                  "caller suggests, so the router keeps one mapping "
                  "(tests/lab/MINIUPNPD.md, item 5)");

  map_full (fixture, "create", PL_PROTOCOL_UDP, 5000, 0, 3600, NULL);
  result = run_until (fixture, 1);
  g_assert_no_error (result->error);
  g_assert_cmpuint (result->external_port, ==, 5000);

  map_full (fixture, "renew", PL_PROTOCOL_UDP, 5000, 6000, 3600, NULL);
  result = run_until (fixture, 2);
  g_assert_no_error (result->error);
  g_assert_cmpuint (result->external_port, ==, 5000);

  first = request_at (fixture, 0);
  second = request_at (fixture, 1);
  g_assert_cmpmem (first->request.nonce, PL_PCP_NONCE_SIZE,
                   second->request.nonce, PL_PCP_NONCE_SIZE);
  g_assert_cmpuint (second->request.protocol, ==, PL_PCP_IANA_UDP);
  g_assert_cmpuint (second->request.suggested_external_port, ==, 5000);
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (fixture->gateway), ==, 1);
}

static void
test_assigned_port (Fixture       *fixture,
                    gconstpointer  data)
{
  Result *result;

  g_test_summary ("A port held by another host gives the next one; the client reports it and "
                  "suggests it on renewal");

  pl_fake_pcp_gateway_hold_port (fixture->gateway, PL_PCP_IANA_TCP, 7000);
  map (fixture, "create", 7000, 7000);
  result = run_until (fixture, 1);
  g_assert_no_error (result->error);
  g_assert_cmpuint (result->external_port, ==, 7001);

  map (fixture, "renew", 7000, 7000);
  result = run_until (fixture, 2);
  g_assert_no_error (result->error);
  g_assert_cmpuint (result->external_port, ==, 7001);
  g_assert_cmpuint (request_at (fixture, 1)->request.suggested_external_port, ==, 7001);

  pl_fake_pcp_gateway_set_port_policy (fixture->gateway, PL_FAKE_PCP_PORT_PLUS_ONE);
  map (fixture, "other", 7100, 0);
  result = run_until (fixture, 3);
  g_assert_no_error (result->error);
  g_assert_cmpuint (result->external_port, ==, 7101);
}

static void
test_lifetime_clamp (Fixture       *fixture,
                     gconstpointer  data)
{
  static const struct { guint32 asked, granted; } cases[] = {
    { 60, 120 }, { 100000, 86400 }, { 0xffffffff, 86400 }, { 7200, 7200 },
  };
  Result *result;
  guint n = 0;

  g_test_summary ("The server's clamp is reported as the granted lifetime");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      map_full (fixture, "map", PL_PROTOCOL_TCP, (guint16) (8000 + i), 0, cases[i].asked, NULL);
      result = run_until (fixture, ++n);
      g_assert_no_error (result->error);
      g_assert_cmpuint (result->lifetime, ==, cases[i].granted);
      g_assert_cmpuint (request_at (fixture, n - 1)->request.lifetime, ==, cases[i].asked);
    }

  pl_fake_pcp_gateway_set_lifetime_range (fixture->gateway, 30, 300);
  map_full (fixture, "short", PL_PROTOCOL_TCP, 8100, 0, 10, NULL);
  result = run_until (fixture, ++n);
  g_assert_cmpuint (result->lifetime, ==, 30);
  map_full (fixture, "long", PL_PROTOCOL_TCP, 8101, 0, 1000, NULL);
  result = run_until (fixture, ++n);
  g_assert_cmpuint (result->lifetime, ==, 300);
}

static void
test_unmap (Fixture       *fixture,
            gconstpointer  data)
{
  PlFakePcpRequest *request;
  guint8 nonce[PL_PCP_NONCE_SIZE];
  Result *result;

  g_test_summary ("A delete is MAP with lifetime 0 and the mapping's nonce; then the client "
                  "forgets the nonce");

  map (fixture, "create", 9000, 0);
  result = run_until (fixture, 1);
  g_assert_no_error (result->error);
  g_assert_true (pl_pcp_client_get_mapping_state (fixture->client, PL_PROTOCOL_TCP, 9000,
                                                  nonce, NULL));

  pl_fake_pcp_gateway_set_epoch (fixture->gateway, 77);
  unmap (fixture, "delete", PL_PROTOCOL_TCP, 9000, NULL);
  result = run_until (fixture, 2);
  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  g_assert_cmpuint (result->epoch, ==, 77);

  request = request_at (fixture, 1);
  g_assert_cmpuint (request->opcode, ==, PL_PCP_OP_MAP);
  g_assert_cmpuint (request->request.lifetime, ==, 0);
  g_assert_cmpuint (request->request.internal_port, ==, 9000);
  g_assert_cmpuint (request->request.protocol, ==, PL_PCP_IANA_TCP);
  g_assert_cmpmem (request->request.nonce, PL_PCP_NONCE_SIZE, nonce, sizeof nonce);
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (fixture->gateway), ==, 0);
  g_assert_false (pl_pcp_client_get_mapping_state (fixture->client, PL_PROTOCOL_TCP, 9000,
                                                   NULL, NULL));
}

static void
test_unmap_gone (Fixture       *fixture,
                 gconstpointer  data)
{
  static const guint8 persisted[PL_PCP_NONCE_SIZE] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
  };
  Result *result;

  g_test_summary ("NO_RESOURCES on a delete (miniupnpd: no such mapping) is success; an unknown "
                  "mapping is deleted with a fresh nonce and the router's refusal reported");

  /* A persisted nonce for a mapping the router lost. */
  pl_pcp_client_set_mapping_state (fixture->client, PL_PROTOCOL_UDP, 9100, persisted, 9100);
  unmap (fixture, "persisted", PL_PROTOCOL_UDP, 9100, NULL);
  result = run_until (fixture, 1);
  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  g_assert_cmpmem (request_at (fixture, 0)->request.nonce, PL_PCP_NONCE_SIZE,
                   persisted, sizeof persisted);
  g_assert_false (pl_pcp_client_get_mapping_state (fixture->client, PL_PROTOCOL_UDP, 9100,
                                                   NULL, NULL));

  /* No nonce at all: a fresh one, and still "gone". */
  unmap (fixture, "unknown", PL_PROTOCOL_UDP, 9101, NULL);
  result = run_until (fixture, 2);
  g_assert_no_error (result->error);
  g_assert_true (memcmp (request_at (fixture, 1)->request.nonce, persisted,
                         sizeof persisted) != 0);

  /* The mapping exists under a nonce this client does not know (a restart without state). */
  map (fixture, "create", 9102, 0);
  result = run_until (fixture, 3);
  g_assert_no_error (result->error);
  new_client (fixture, 0);
  unmap (fixture, "foreign", PL_PROTOCOL_TCP, 9102, NULL);
  result = run_until (fixture, 4);
  g_assert_error (result->error, PL_ERROR, PL_ERROR_NOT_AUTHORIZED);
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (fixture->gateway), ==, 1);
}

static void
test_result_codes (Fixture       *fixture,
                   gconstpointer  data)
{
  static const struct { guint8 result; PlError error; } cases[] = {
    { PL_PCP_RESULT_UNSUPP_VERSION, PL_ERROR_UNSUPPORTED_VERSION },
    { PL_PCP_RESULT_NOT_AUTHORIZED, PL_ERROR_NOT_AUTHORIZED },
    { PL_PCP_RESULT_MALFORMED_REQUEST, PL_ERROR_MALFORMED_REQUEST },
    { PL_PCP_RESULT_UNSUPP_OPCODE, PL_ERROR_UNSUPPORTED_OPCODE },
    { PL_PCP_RESULT_UNSUPP_OPTION, PL_ERROR_UNSUPPORTED_OPTION },
    { PL_PCP_RESULT_MALFORMED_OPTION, PL_ERROR_MALFORMED_OPTION },
    { PL_PCP_RESULT_NETWORK_FAILURE, PL_ERROR_NETWORK_FAILURE },
    { PL_PCP_RESULT_NO_RESOURCES, PL_ERROR_OUT_OF_RESOURCES },
    { PL_PCP_RESULT_UNSUPP_PROTOCOL, PL_ERROR_UNSUPPORTED_PROTOCOL },
    { PL_PCP_RESULT_USER_EX_QUOTA, PL_ERROR_QUOTA_EXCEEDED },
    { PL_PCP_RESULT_CANNOT_PROVIDE_EXTERNAL, PL_ERROR_CANNOT_PROVIDE_EXTERNAL },
    { PL_PCP_RESULT_ADDRESS_MISMATCH, PL_ERROR_ADDRESS_MISMATCH },
    { PL_PCP_RESULT_EXCESSIVE_REMOTE_PEERS, PL_ERROR_EXCESSIVE_REMOTE_PEERS },
    { 14, PL_ERROR_UNKNOWN_RESULT },
    { 200, PL_ERROR_UNKNOWN_RESULT },
  };

  g_test_summary ("Every result code 1-13, and unknown ones, end the MAP with its PlError, at "
                  "once, after ::epoch");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Result *result;

      pl_fake_pcp_gateway_set_result_code (fixture->gateway, cases[i].result);
      pl_fake_pcp_gateway_set_epoch (fixture->gateway, 100 + i);
      map (fixture, "map", (guint16) (9200 + i), 0);
      result = run_until (fixture, i + 1);
      g_assert_error (result->error, PL_ERROR, (gint) cases[i].error);
      g_assert_false (result->ok);
      g_assert_cmpuint (n_requests (fixture), ==, i + 1);
      g_assert_cmpuint (fixture->epochs->len, ==, i + 1);
      g_assert_cmpuint (g_array_index (fixture->epochs, guint, i), ==, 100 + i);
    }

  g_assert_null (pl_pcp_client_get_external_address (fixture->client));
}

static void
test_wrong_nonce (Fixture       *fixture,
                  gconstpointer  data)
{
  Result *result;

  g_test_summary ("A MAP response with another nonce is not ours: ignored (no ::epoch), and "
                  "the genuine one that follows is accepted without a resend");

  pl_fake_pcp_gateway_set_wrong_nonce_first (fixture->gateway, TRUE);
  pl_fake_pcp_gateway_set_external_address (fixture->gateway, "198.51.100.9");
  pl_fake_pcp_gateway_set_epoch (fixture->gateway, 50);
  map (fixture, "map", 9300, 0);
  result = run_until (fixture, 1);

  g_assert_no_error (result->error);
  g_assert_cmpuint (result->external_port, ==, 9300);
  g_assert_cmpint (result->time, ==, 0);
  g_assert_cmpuint (n_requests (fixture), ==, 1);
  g_assert_cmpuint (result->epoch, ==, 50);
  g_assert_cmpuint (fixture->epochs->len, ==, 1);
  g_assert_cmpuint (g_array_index (fixture->epochs, guint, 0), ==, 50);
  g_assert_cmpstr (pl_pcp_client_get_external_address (fixture->client), ==, "198.51.100.9");
}

static void
test_unsolicited (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GBytes) stray = NULL;
  PlPcpMapRequest other = { 0 };
  guint8 buf[PL_PCP_MAP_SIZE];
  guint8 address[16] = { 0 };
  gsize len;
  Result *result;

  g_test_summary ("A MAP response for another port and an unsolicited ANNOUNCE on the client "
                  "socket are ignored; the request in flight goes on");

  pl_fake_pcp_gateway_set_drop_count (fixture->gateway, 1);
  map (fixture, "map", 9310, 0);
  run_for (fixture, 1);
  g_assert_cmpuint (n_requests (fixture), ==, 1);

  other = request_at (fixture, 0)->request;
  other.internal_port = 9311;
  len = pl_pcp_build_map_response (buf, sizeof buf, &other, 0, 7200, 1, 9311, address);
  stray = g_bytes_new (buf, len);
  pl_fake_pcp_gateway_send_to_client (fixture->gateway, stray);
  g_clear_pointer (&stray, g_bytes_unref);
  len = pl_pcp_build_announce_response (buf, sizeof buf, 0, 1);
  stray = g_bytes_new (buf, len);
  pl_fake_pcp_gateway_send_to_client (fixture->gateway, stray);

  result = run_until (fixture, 1);
  g_assert_no_error (result->error);
  g_assert_cmpuint (n_requests (fixture), ==, 2);
  g_assert_cmpint (result->time, >=, SECONDS (2.7));
  g_assert_cmpint (result->time, <=, SECONDS (3.3));
  g_assert_cmpuint (fixture->epochs->len, ==, 1);
}

static void
test_foreign_port (Fixture       *fixture,
                   gconstpointer  data)
{
  Result *result;

  g_test_summary ("Responses from another source port are never taken (connected socket): the "
                  "request retransmits until the timeout property ends it");

  /* With ±10 % jitter the third send falls in [7.83, 10.23] s and the fourth in
   * [17.58, 25.47] s, so a 12 s timeout sees exactly three sends whatever the seed. */
  pl_fake_pcp_gateway_set_reply_port (fixture->gateway, 5352);
  new_client (fixture, 12000);
  map (fixture, "map", 9400, 0);
  result = run_until (fixture, 1);

  g_assert_error (result->error, PL_ERROR, PL_ERROR_TIMED_OUT);
  g_assert_cmpint (result->time, >=, SECONDS (12));
  g_assert_cmpint (result->time, <, SECONDS (12.01));
  g_assert_cmpuint (n_requests (fixture), ==, 3);
  g_assert_cmpuint (fixture->epochs->len, ==, 0);
}

static void
test_retransmit (Fixture       *fixture,
                 gconstpointer  data)
{
  static const double nominal[] = { 0, 3, 9, 21 };
  Result *result;
  gint64 previous_rt = 0;

  g_test_summary ("A silent server sees sends at about 0, 3, 9, 21 s (RFC 6887 §8.1.1, ±10 % "
                  "per interval), all with the same packet, and ::attempt before each resend");

  pl_fake_pcp_gateway_set_silent (fixture->gateway, TRUE);
  new_client (fixture, 30000);
  map (fixture, "map", 9500, 0);
  result = run_until (fixture, 1);

  g_assert_error (result->error, PL_ERROR, PL_ERROR_TIMED_OUT);
  g_assert_cmpint (result->time, >=, SECONDS (30));
  g_assert_cmpint (result->time, <, SECONDS (30.01));
  g_assert_cmpuint (n_requests (fixture), ==, 4);

  for (guint i = 0; i < 4; i++)
    {
      PlFakePcpRequest *request = request_at (fixture, i);

      g_assert_cmpint (request->time, >=, SECONDS (nominal[i] * 0.8));
      g_assert_cmpint (request->time, <=, SECONDS (nominal[i] * 1.2));
      g_assert_true (g_bytes_equal (request->bytes, request_at (fixture, 0)->bytes));
      if (i >= 1)
        {
          gint64 rt = request->time - request_at (fixture, i - 1)->time;
          gint64 base = i == 1 ? SECONDS (3) : 2 * previous_rt;

          /* RT = 2 RTprev + RAND RTprev (IRT + RAND IRT first), RAND in ±0.1. */
          g_assert_cmpint (rt, >=, base - (i == 1 ? SECONDS (0.3) : previous_rt / 10) - 1000);
          g_assert_cmpint (rt, <=, base + (i == 1 ? SECONDS (0.3) : previous_rt / 10) + 1000);
          previous_rt = rt;
        }
    }

  g_assert_cmpuint (fixture->attempts->len, ==, 6);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_cmpuint (g_array_index (fixture->attempts, guint, 2 * i), ==, i + 2);
      g_assert_cmpuint (g_array_index (fixture->attempts, guint, 2 * i + 1), ==, 4);
    }
}

static void
test_retransmit_forever (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Result *result;
  gint64 last_rt;

  g_test_summary ("Without a timeout a silent request retries for ever, the interval capped "
                  "at MRT = 1024 s ±10 %, until cancelled");

  pl_fake_pcp_gateway_set_silent (fixture->gateway, TRUE);
  map_full (fixture, "map", PL_PROTOCOL_TCP, 9600, 0, 7200, cancellable);
  run_for (fixture, 6000);

  g_assert_cmpuint (fixture->results->len, ==, 0);
  g_assert_cmpuint (n_requests (fixture), >=, 12);
  last_rt = request_at (fixture, n_requests (fixture) - 1)->time -
            request_at (fixture, n_requests (fixture) - 2)->time;
  g_assert_cmpint (last_rt, >=, SECONDS (1024 * 0.9) - 1000);
  g_assert_cmpint (last_rt, <=, SECONDS (1024 * 1.1) + 1000);
  g_assert_cmpuint (g_array_index (fixture->attempts, guint, 1), ==, 0);

  g_cancellable_cancel (cancellable);
  result = run_until (fixture, 1);
  g_assert_error (result->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_refused (Fixture       *fixture,
              gconstpointer  data)
{
  Result *result;

  g_test_summary ("No server on the address: ICMP port unreachable ends the MAP and the probe "
                  "at once with PL_ERROR_REFUSED");

  g_clear_object (&fixture->gateway);
  map (fixture, "map", 9700, 0);
  result = run_until (fixture, 1);
  g_assert_error (result->error, PL_ERROR, PL_ERROR_REFUSED);
  g_assert_cmpint (result->time, <, SECONDS (1));

  probe (fixture);
  result = run_until (fixture, 2);
  g_assert_error (result->error, PL_ERROR, PL_ERROR_REFUSED);
  g_assert_cmpint (result->time, <, SECONDS (1));
}

static void
test_downgrade (Fixture       *fixture,
                gconstpointer  data)
{
  Result *result;

  g_test_summary ("An 8-byte NAT-PMP 'unsupported version' ends the probe and a MAP at once "
                  "with PL_ERROR_UNSUPPORTED_VERSION");

  pl_fake_pcp_gateway_set_natpmp_only (fixture->gateway, TRUE);
  probe (fixture);
  result = run_until (fixture, 1);
  g_assert_error (result->error, PL_ERROR, PL_ERROR_UNSUPPORTED_VERSION);
  g_assert_cmpint (result->time, ==, 0);

  map (fixture, "map", 9800, 0);
  result = run_until (fixture, 2);
  g_assert_error (result->error, PL_ERROR, PL_ERROR_UNSUPPORTED_VERSION);
  g_assert_cmpint (result->time, ==, 0);
  g_assert_cmpuint (n_requests (fixture), ==, 2);
}

static void
test_probe (Fixture       *fixture,
            gconstpointer  data)
{
  PlFakePcpRequest *request;
  Result *result;

  g_test_summary ("The probe is a 24-byte ANNOUNCE and reports the epoch; the external address "
                  "is only known after a MAP");

  pl_fake_pcp_gateway_set_epoch (fixture->gateway, 1234);
  probe (fixture);
  result = run_until (fixture, 1);
  g_assert_no_error (result->error);
  g_assert_true (result->ok);
  g_assert_cmpuint (result->epoch, ==, 1234);
  g_assert_cmpuint (fixture->epochs->len, ==, 1);
  g_assert_cmpuint (g_array_index (fixture->epochs, guint, 0), ==, 1234);

  request = request_at (fixture, 0);
  g_assert_cmpuint (request->opcode, ==, PL_PCP_OP_ANNOUNCE);
  g_assert_cmpuint (g_bytes_get_size (request->bytes), ==, PL_PCP_HEADER_SIZE);
  g_assert_cmpmem (request->request.client_address, 16, request->source_address, 16);

  external_address (fixture);
  result = run_until (fixture, 2);
  g_assert_error (result->error, PL_ERROR, PL_ERROR_UNSUPPORTED_OPCODE);
  g_assert_cmpuint (n_requests (fixture), ==, 2);

  map (fixture, "map", 9900, 0);
  run_until (fixture, 3);
  external_address (fixture);
  result = run_until (fixture, 4);
  g_assert_no_error (result->error);
  g_assert_nonnull (result->address);
  {
    g_autofree char *string = g_inet_address_to_string (result->address);

    g_assert_cmpstr (string, ==, "203.0.113.7");
  }
  g_assert_cmpuint (result->epoch, ==, 1234);
  g_assert_cmpuint (request_at (fixture, 3)->opcode, ==, PL_PCP_OP_ANNOUNCE);

  /* Announcing to the multicast group does not disturb anything. */
  pl_fake_pcp_gateway_announce (fixture->gateway);
  probe (fixture);
  result = run_until (fixture, 5);
  g_assert_no_error (result->error);
}

static void
test_epoch_signal (Fixture       *fixture,
                   gconstpointer  data)
{
  Result *result;

  g_test_summary ("::epoch is emitted for every accepted response, errors included, before the "
                  "request completes");

  pl_fake_pcp_gateway_set_epoch (fixture->gateway, 5);
  map (fixture, "ok", 10000, 0);
  result = run_until (fixture, 1);
  g_assert_no_error (result->error);

  pl_fake_pcp_gateway_set_epoch (fixture->gateway, 0);
  pl_fake_pcp_gateway_set_result_code (fixture->gateway, PL_PCP_RESULT_NOT_AUTHORIZED);
  map (fixture, "error", 10001, 0);
  result = run_until (fixture, 2);
  g_assert_error (result->error, PL_ERROR, PL_ERROR_NOT_AUTHORIZED);

  g_assert_cmpuint (fixture->epochs->len, ==, 2);
  g_assert_cmpuint (g_array_index (fixture->epochs, guint, 0), ==, 5);
  g_assert_cmpuint (g_array_index (fixture->epochs, guint, 1), ==, 0);
}

static void
test_in_flight (Fixture       *fixture,
                gconstpointer  data)
{
  Result *result;

  g_test_summary ("Up to 8 requests are in flight at once; the rest wait and go as slots free");

  pl_fake_pcp_gateway_set_silent (fixture->gateway, TRUE);
  for (guint i = 0; i < 10; i++)
    map (fixture, "map", (guint16) (11000 + i), 0);
  run_for (fixture, 1);
  g_assert_cmpuint (n_requests (fixture), ==, 8);
  for (guint i = 0; i < 8; i++)
    g_assert_cmpuint (request_at (fixture, i)->request.internal_port, ==, 11000 + i);

  pl_fake_pcp_gateway_set_silent (fixture->gateway, FALSE);
  result = run_until (fixture, 10);
  g_assert_no_error (result->error);
  for (guint i = 0; i < 10; i++)
    {
      g_assert_no_error (result_at (fixture, i)->error);
      g_assert_cmpint (result_at (fixture, i)->time, <, SECONDS (3.4));
    }
  g_assert_cmpuint (n_requests (fixture), ==, 18);
}

static void
test_silent_port (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Result *result;

  g_test_summary ("A port the server never answers holds only itself: 10 other ports, then "
                  "more, complete at once");

  pl_fake_pcp_gateway_set_silent_port (fixture->gateway, 12000);
  map_full (fixture, "silent", PL_PROTOCOL_TCP, 12000, 0, 7200, cancellable);
  for (guint i = 1; i <= 10; i++)
    map (fixture, "other", (guint16) (12000 + i), 0);
  result = run_until (fixture, 10);

  for (guint i = 0; i < 10; i++)
    {
      g_assert_no_error (result_at (fixture, i)->error);
      g_assert_cmpstr (result_at (fixture, i)->name, ==, "other");
      g_assert_cmpint (result_at (fixture, i)->time, ==, 0);
    }

  run_for (fixture, 100);
  g_assert_cmpuint (fixture->results->len, ==, 10);
  map (fixture, "later", 12100, 0);
  result = run_until (fixture, 11);
  g_assert_no_error (result->error);
  g_assert_cmpstr (result->name, ==, "later");

  g_cancellable_cancel (cancellable);
  result = run_until (fixture, 12);
  g_assert_cmpstr (result->name, ==, "silent");
  g_assert_error (result->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_same_port_order (Fixture       *fixture,
                      gconstpointer  data)
{
  static const struct { guint8 protocol; guint32 lifetime; } wire[] = {
    { PL_PCP_IANA_TCP, 7200 }, { PL_PCP_IANA_TCP, 7200 }, { PL_PCP_IANA_UDP, 7200 },
    { PL_PCP_IANA_UDP, 0 }, { PL_PCP_IANA_TCP, 0 },
  };
  static const char *order[] = { "other", "tcp", "udp", "del-udp", "del-tcp" };
  guint j = 0;

  g_test_summary ("Requests for one internal port never overlap and keep their order (TCP then "
                  "UDP, deletes UDP then TCP), even across a retransmission; other ports pass");

  pl_fake_pcp_gateway_set_drop_count (fixture->gateway, 1);
  map_full (fixture, "tcp", PL_PROTOCOL_TCP, 13000, 0, 7200, NULL);
  map_full (fixture, "udp", PL_PROTOCOL_UDP, 13000, 0, 7200, NULL);
  unmap (fixture, "del-udp", PL_PROTOCOL_UDP, 13000, NULL);
  unmap (fixture, "del-tcp", PL_PROTOCOL_TCP, 13000, NULL);
  map (fixture, "other", 13001, 0);
  run_until (fixture, 5);

  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    {
      g_assert_no_error (result_at (fixture, i)->error);
      g_assert_cmpstr (result_at (fixture, i)->name, ==, order[i]);
    }
  g_assert_cmpint (result_at (fixture, 0)->time, ==, 0);

  g_assert_cmpuint (n_requests (fixture), ==, 6);
  for (guint i = 0; i < n_requests (fixture); i++)
    {
      PlFakePcpRequest *request = request_at (fixture, i);

      if (request->request.internal_port == 13001)
        continue;
      g_assert_cmpuint (j, <, G_N_ELEMENTS (wire));
      g_assert_cmpuint (request->request.internal_port, ==, 13000);
      g_assert_cmpuint (request->request.protocol, ==, wire[j].protocol);
      g_assert_cmpuint (request->request.lifetime, ==, wire[j].lifetime);
      j++;
    }
  g_assert_cmpuint (j, ==, G_N_ELEMENTS (wire));
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (fixture->gateway), ==, 1);
}

static void
test_queue_full (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Result *result;
  guint total = 8 + 1024;

  g_test_summary ("8 in flight and 1024 waiting: one more fails at once with "
                  "PL_ERROR_QUEUE_FULL");

  pl_fake_pcp_gateway_set_silent (fixture->gateway, TRUE);
  for (guint i = 0; i < total; i++)
    map_full (fixture, "queued", PL_PROTOCOL_UDP, (guint16) (20000 + i), 0, 7200, cancellable);
  map (fixture, "overflow", 30000, 0);
  result = run_until (fixture, 1);
  g_assert_cmpstr (result->name, ==, "overflow");
  g_assert_error (result->error, PL_ERROR, PL_ERROR_QUEUE_FULL);
  g_assert_cmpint (result->time, ==, 0);

  g_cancellable_cancel (cancellable);
  run_until (fixture, total + 1);
  for (guint i = 1; i <= total; i++)
    g_assert_error (result_at (fixture, i)->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static gboolean
cancel_cb (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static void
test_cancel (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GCancellable) early = g_cancellable_new ();
  Result *result;

  g_test_summary ("Cancelling a request in flight, one queued behind it, or one cancelled "
                  "before submission gives G_IO_ERROR_CANCELLED; the next request still works");

  g_cancellable_cancel (early);
  map_full (fixture, "early", PL_PROTOCOL_TCP, 14000, 0, 7200, early);
  result = run_until (fixture, 1);
  g_assert_error (result->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (n_requests (fixture), ==, 0);

  pl_fake_pcp_gateway_set_silent (fixture->gateway, TRUE);
  map_full (fixture, "in-flight", PL_PROTOCOL_TCP, 14000, 0, 7200, cancellable);
  map_full (fixture, "queued", PL_PROTOCOL_UDP, 14000, 0, 7200, cancellable);
  pl_clock_timeout_add (fixture->clock, 5000, cancel_cb, cancellable);
  run_until (fixture, 3);
  g_assert_error (result_at (fixture, 1)->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_error (result_at (fixture, 2)->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (result_at (fixture, 1)->time, ==, SECONDS (5));
  g_assert_cmpuint (n_requests (fixture), ==, 2);

  pl_fake_pcp_gateway_set_silent (fixture->gateway, FALSE);
  map_full (fixture, "after", PL_PROTOCOL_UDP, 14000, 0, 7200, NULL);
  result = run_until (fixture, 4);
  g_assert_no_error (result->error);
  g_assert_cmpuint (request_at (fixture, 2)->request.protocol, ==, PL_PCP_IANA_UDP);
}

static void
test_mapping_state (Fixture       *fixture,
                    gconstpointer  data)
{
  static const guint8 persisted[PL_PCP_NONCE_SIZE] = {
    0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1,
  };
  guint8 nonce[PL_PCP_NONCE_SIZE];
  guint16 port = 0;
  Result *result;

  g_test_summary ("set_mapping_state restores a nonce and assigned port: the next MAP renews "
                  "with them; get_mapping_state reads them back");

  g_assert_false (pl_pcp_client_get_mapping_state (fixture->client, PL_PROTOCOL_TCP, 15000,
                                                   nonce, &port));

  pl_pcp_client_set_mapping_state (fixture->client, PL_PROTOCOL_TCP, 15000, persisted, 15001);
  g_assert_true (pl_pcp_client_get_mapping_state (fixture->client, PL_PROTOCOL_TCP, 15000,
                                                  nonce, &port));
  g_assert_cmpmem (nonce, sizeof nonce, persisted, sizeof persisted);
  g_assert_cmpuint (port, ==, 15001);
  g_assert_false (pl_pcp_client_get_mapping_state (fixture->client, PL_PROTOCOL_UDP, 15000,
                                                   NULL, NULL));

  map (fixture, "renew", 15000, 15000);
  result = run_until (fixture, 1);
  g_assert_no_error (result->error);
  g_assert_cmpuint (result->external_port, ==, 15001);
  g_assert_cmpmem (request_at (fixture, 0)->request.nonce, PL_PCP_NONCE_SIZE,
                   persisted, sizeof persisted);
  g_assert_cmpuint (request_at (fixture, 0)->request.suggested_external_port, ==, 15001);

  g_assert_true (pl_pcp_client_get_mapping_state (fixture->client, PL_PROTOCOL_TCP, 15000,
                                                  nonce, &port));
  g_assert_cmpmem (nonce, sizeof nonce, persisted, sizeof persisted);
  g_assert_cmpuint (port, ==, 15001);
}

static void
test_dispose (Fixture       *fixture,
              gconstpointer  data)
{
  Result *result;

  g_test_summary ("Disposing the client ends requests in flight and queued with "
                  "G_IO_ERROR_CLOSED; later requests fail the same way");

  pl_fake_pcp_gateway_set_silent (fixture->gateway, TRUE);
  map_full (fixture, "in-flight", PL_PROTOCOL_TCP, 16000, 0, 7200, NULL);
  map_full (fixture, "queued", PL_PROTOCOL_UDP, 16000, 0, 7200, NULL);
  run_for (fixture, 1);
  g_object_run_dispose (G_OBJECT (fixture->client));
  run_until (fixture, 2);
  g_assert_error (result_at (fixture, 0)->error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_assert_error (result_at (fixture, 1)->error, G_IO_ERROR, G_IO_ERROR_CLOSED);

  probe (fixture);
  result = run_until (fixture, 3);
  g_assert_error (result->error, G_IO_ERROR, G_IO_ERROR_CLOSED);
}

static void
mapper_map_cb (GObject      *object,
               GAsyncResult *res,
               gpointer      user_data)
{
  Result *result = user_data;

  result->ok = pl_port_mapper_map_finish (PL_PORT_MAPPER (object), res, &result->external_port,
                                          &result->lifetime, &result->epoch, &result->error);
  result_done (result);
}

static void
mapper_unmap_cb (GObject      *object,
                 GAsyncResult *res,
                 gpointer      user_data)
{
  Result *result = user_data;

  result->ok = pl_port_mapper_unmap_finish (PL_PORT_MAPPER (object), res, &result->epoch,
                                            &result->error);
  result_done (result);
}

static void
test_port_mapper (Fixture       *fixture,
                  gconstpointer  data)
{
  PlPortMapper *mapper = PL_PORT_MAPPER (fixture->client);
  g_autoptr(PlClock) clock = NULL;
  guint port = 0;
  Result *result;

  g_test_summary ("PlPcpClient is a PlPortMapper named PCP with PlPortMapper's signals; "
                  "properties");

  g_assert_cmpstr (pl_port_mapper_get_protocol_name (mapper), ==, "PCP");
  g_assert_cmpuint (g_signal_lookup ("state-lost", PL_TYPE_PCP_CLIENT), !=, 0);
  g_assert_false (pl_port_mapper_get_listening (mapper));
  g_assert_true (pl_port_mapper_get_gateway (mapper) ==
                 pl_pcp_client_get_gateway (fixture->client));
  g_object_get (fixture->client, "port", &port, "clock", &clock, NULL);
  g_assert_cmpuint (port, ==, PL_PCP_SERVER_PORT);
  g_assert_true (clock == fixture->clock);

  pl_port_mapper_map_async (mapper, PL_PROTOCOL_UDP, 17000, 0, 600, NULL, mapper_map_cb,
                            result_new (fixture, "map"));
  result = run_until (fixture, 1);
  g_assert_no_error (result->error);
  g_assert_cmpuint (result->external_port, ==, 17000);
  g_assert_cmpuint (result->lifetime, ==, 600);

  pl_port_mapper_unmap_async (mapper, PL_PROTOCOL_UDP, 17000, NULL, mapper_unmap_cb,
                              result_new (fixture, "unmap"));
  result = run_until (fixture, 2);
  g_assert_no_error (result->error);
}

/* The journal: what a restarted engine renews or deletes. */

#define JOURNAL_N 20

typedef struct
{
  Fixture    *fixture;
  const char *path;
  guint       seen;            /* MAP requests the gateway had at the first answer */
  guint       on_disk;         /* ... of which the file held the nonce then */
} JournalCheck;

/* The records of @path (another process's view), by internal port. */
static GHashTable *
journal_on_disk (const char *path)
{
  g_autoptr(PlPcpState) state = pl_pcp_state_new (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) records = NULL;
  GHashTable *by_port = g_hash_table_new_full (NULL, NULL, NULL,
                                               (GDestroyNotify) pl_pcp_record_free);

  g_assert_true (pl_pcp_state_load (state, &error));
  records = pl_pcp_state_list (state, NULL);
  for (guint i = 0; i < records->len; i++)
    {
      const PlPcpRecord *record = g_ptr_array_index (records, i);

      g_hash_table_insert (by_port, GUINT_TO_POINTER ((guint) record->internal_port),
                           pl_pcp_record_copy (record));
    }
  return by_port;
}

/* How many MAP requests (lifetime > 0) the gateway saw have their nonce in @path. */
static guint
journal_nonces_on_disk (Fixture    *fixture,
                        const char *path,
                        guint      *seen)
{
  g_autoptr(GHashTable) by_port = journal_on_disk (path);
  GPtrArray *requests = pl_fake_pcp_gateway_get_requests (fixture->gateway);
  guint n = 0;

  *seen = 0;
  for (guint i = 0; i < requests->len; i++)
    {
      PlFakePcpRequest *request = g_ptr_array_index (requests, i);
      const PlPcpRecord *record;

      if (!request->parsed || request->opcode != PL_PCP_OP_MAP ||
          request->request.lifetime == 0)
        continue;
      (*seen)++;
      record = g_hash_table_lookup (by_port,
                                    GUINT_TO_POINTER ((guint) request->request.internal_port));
      if (record != NULL &&
          memcmp (record->nonce, request->request.nonce, sizeof record->nonce) == 0)
        n++;
    }
  return n;
}

static void
journal_map_cb (GObject      *object,
                GAsyncResult *res,
                gpointer      user_data)
{
  JournalCheck *check = g_object_get_data (object, "journal-check");

  if (check->fixture->results->len == 0)
    check->on_disk = journal_nonces_on_disk (check->fixture, check->path, &check->seen);
  map_cb (object, res, user_data);
}

static void
test_journal_batch (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *path = g_build_filename (g_get_user_runtime_dir (), "portlight",
                                            "engine-mappings.ini", NULL);
  g_autoptr(PlPcpState) journal = pl_pcp_state_new (path);
  g_autoptr(PlTestReplaces) replaces = pl_test_replaces_new (path);
  g_autoptr(GHashTable) disk = NULL;
  g_autoptr(GError) error = NULL;
  JournalCheck check = { fixture, path, 0, 0 };
  GPtrArray *requests;
  guint first, seen;

  g_test_summary ("With a journal, MAP requests asked for together are journaled with one "
                  "save before any goes out (every nonce the gateway sees is on disk by its "
                  "first answer) and their answers with one more; a delete's record leaves "
                  "the file once the gateway confirmed it, with the batch; a MAP and a delete "
                  "of one port asked together reach the gateway in that order");

  g_assert_true (pl_pcp_state_load (journal, &error));
  pl_pcp_state_set_owner (journal, PL_PCP_OWNER_ENGINE);
  g_object_set (fixture->client, "state", journal, NULL);
  g_object_set_data (G_OBJECT (fixture->client), "journal-check", &check);

  for (guint i = 0; i < JOURNAL_N; i++)
    pl_pcp_client_map_async (fixture->client, PL_PROTOCOL_TCP, 30000 + i, 0, 7200, NULL,
                             journal_map_cb, result_new (fixture, "map"));
  g_assert_cmpuint (n_requests (fixture), ==, 0);   /* nothing out before the barrier */
  run_until (fixture, JOURNAL_N);
  g_assert_cmpuint (check.seen, >, 0);
  g_assert_cmpuint (check.on_disk, ==, check.seen);
  g_assert_cmpuint (pl_test_replaces_count (replaces), ==, 2);

  disk = journal_on_disk (path);
  g_assert_cmpuint (g_hash_table_size (disk), ==, JOURNAL_N);
  for (guint i = 0; i < JOURNAL_N; i++)
    {
      Result *result = result_at (fixture, i);
      const PlPcpRecord *record;

      g_assert_no_error (result->error);
      record = g_hash_table_lookup (disk, GUINT_TO_POINTER (30000 + i));
      g_assert_nonnull (record);
      g_assert_cmpint (record->owner, ==, PL_PCP_OWNER_ENGINE);
      g_assert_cmpuint (record->external_port, !=, 0);   /* the answer's, saved */
    }
  g_assert_cmpuint (journal_nonces_on_disk (fixture, path, &seen), ==, JOURNAL_N);
  g_clear_pointer (&disk, g_hash_table_unref);

  /* A renewal and a delete together: two saves; the deleted port leaves the file. */
  map (fixture, "renew", 30000, 0);
  unmap (fixture, "delete", PL_PROTOCOL_TCP, 30001, NULL);
  run_until (fixture, JOURNAL_N + 2);
  g_assert_no_error (result_at (fixture, JOURNAL_N + 1)->error);
  g_assert_cmpuint (pl_test_replaces_count (replaces), ==, 4);
  disk = journal_on_disk (path);
  g_assert_cmpuint (g_hash_table_size (disk), ==, JOURNAL_N - 1);
  g_assert_null (g_hash_table_lookup (disk, GUINT_TO_POINTER (30001)));
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (fixture->gateway), ==, JOURNAL_N - 1);
  g_clear_pointer (&disk, g_hash_table_unref);

  /* A new mapping and its delete asked for together keep their order. */
  first = n_requests (fixture);
  map (fixture, "map", 31000, 0);
  unmap (fixture, "delete", PL_PROTOCOL_TCP, 31000, NULL);
  run_until (fixture, JOURNAL_N + 4);
  g_assert_no_error (result_at (fixture, JOURNAL_N + 2)->error);
  g_assert_no_error (result_at (fixture, JOURNAL_N + 3)->error);
  requests = pl_fake_pcp_gateway_get_requests (fixture->gateway);
  g_assert_cmpuint (requests->len, ==, first + 2);
  g_assert_cmpuint (((PlFakePcpRequest *) g_ptr_array_index (requests, first))->request.lifetime,
                    >, 0);
  g_assert_cmpuint (((PlFakePcpRequest *) g_ptr_array_index (requests, first + 1))->request.lifetime,
                    ==, 0);
  disk = journal_on_disk (path);
  g_assert_null (g_hash_table_lookup (disk, GUINT_TO_POINTER (31000)));
  g_assert_cmpuint (g_hash_table_size (disk), ==, JOURNAL_N - 1);
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

  add_test ("/pcp/client/map-bytes", 160, test_map_bytes);
  add_test ("/pcp/client/renewal", 161, test_renewal);
  add_test ("/pcp/client/assigned-port", 162, test_assigned_port);
  add_test ("/pcp/client/lifetime-clamp", 163, test_lifetime_clamp);
  add_test ("/pcp/client/unmap", 164, test_unmap);
  add_test ("/pcp/client/unmap-gone", 165, test_unmap_gone);
  add_test ("/pcp/client/result-codes", 166, test_result_codes);
  add_test ("/pcp/client/wrong-nonce", 167, test_wrong_nonce);
  add_test ("/pcp/client/unsolicited", 168, test_unsolicited);
  add_test ("/pcp/client/foreign-port", 169, test_foreign_port);
  add_test ("/pcp/client/retransmit", 170, test_retransmit);
  add_test ("/pcp/client/retransmit-forever", 171, test_retransmit_forever);
  add_test ("/pcp/client/refused", 172, test_refused);
  add_test ("/pcp/client/downgrade", 173, test_downgrade);
  add_test ("/pcp/client/probe", 174, test_probe);
  add_test ("/pcp/client/epoch-signal", 175, test_epoch_signal);
  add_test ("/pcp/client/in-flight", 176, test_in_flight);
  add_test ("/pcp/client/silent-port", 177, test_silent_port);
  add_test ("/pcp/client/same-port-order", 178, test_same_port_order);
  add_test ("/pcp/client/queue-full", 179, test_queue_full);
  add_test ("/pcp/client/cancel", 180, test_cancel);
  add_test ("/pcp/client/mapping-state", 181, test_mapping_state);
  add_test ("/pcp/client/dispose", 182, test_dispose);
  add_test ("/pcp/client/port-mapper", 183, test_port_mapper);
  add_test ("/pcp/client/journal-batch", 184, test_journal_batch);

  return g_test_run ();
}
