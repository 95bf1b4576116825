/* test-bad-input.c: the bad-input matrix against PlClient, the announcement path and the queue
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <netinet/in.h>

#include "pl-announce-listener.h"
#include "pl-core.h"
#include "pl-fake-gateway.h"
#include "pl-test-sample.h"

/* Systematic hostile input, after the single cases of test-client.c and test-session.c:
 * replies of every length 0-64, every version and opcode byte, every result code 0-65535,
 * spoofed sources, replies to requests never sent, floods (of replies, of announcements, of
 * requests), and PCP where NAT-PMP is spoken and the reverse.
 *
 * The shape of most cases: the fake gateway sends a hostile datagram ("garbage") just before
 * its genuine reply, from its own address and port, so that only the content is wrong. The
 * hostile datagram carries markers the genuine reply never has (epoch GARBAGE_EPOCH, port
 * GARBAGE_PORT, lifetime GARBAGE_LIFETIME, address 192.0.2.1), so the outcome tells which of
 * the two the client took:
 *
 *   IGNORED   the request completes with the genuine reply, after exactly one send (nothing is
 *             resent because of the hostile datagram, PMP-18);
 *   ACCEPTED  the request completes with the hostile datagram's values (a well-formed reply for
 *             the request in flight, possibly longer than needed: PMP-41);
 *   ERROR     the request fails at once with the right PL_ERROR code, and the genuine reply
 *             that follows is dropped because nothing is in flight any more.
 *
 * Each expectation comes from RFC 6886 section 3 (the PMP IDs), not from the parser. Every
 * test has its own gateway 127.0.3.N (N + 1 serves as "another host"); should that address be
 * taken, 127.0.13.N, 127.0.23.N... are tried. The clock is virtual with auto-advance. */

#define SECONDS(s) ((gint64) ((double) (s) * G_USEC_PER_SEC + 0.5))

#define GATEWAY_EPOCH     1000
#define GARBAGE_EPOCH     0x42424242u
#define GENUINE_PORT      40002
#define GARBAGE_PORT      40001
#define GARBAGE_LIFETIME  3600
#define INTERNAL_PORT     40000
#define REQUESTED_LIFE    7200
#define GENUINE_ADDRESS   "198.51.100.2"

static const guint8 garbage_address[4] = { 192, 0, 2, 1 };

typedef enum
{
  KIND_ADDRESS,
  KIND_MAP_UDP,
  KIND_MAP_TCP,
  KIND_UNMAP_UDP,
  N_KINDS
} Kind;

static const char * const kind_names[N_KINDS] = { "address", "map-udp", "map-tcp", "unmap-udp" };

typedef enum
{
  IGNORED,
  ACCEPTED,
  ERROR,
} Expect;

typedef struct
{
  Expect  what;
  PlError code;       /* ERROR only */
} Expectation;

typedef struct
{
  gboolean      done;
  gboolean      ok;
  GError       *error;
  guint32       epoch;
  guint16       external_port;
  guint32       lifetime;
  GInetAddress *address;
  gint64        start;         /* clock time of the call */
  gint64        time;          /* clock time from the call to completion */
} Outcome;

typedef struct
{
  PlClock       *clock;
  PlFakeGateway *gateway;
  PlClient      *client;
  char          *address;
  char          *other;          /* another host: N + 1 */
  guint          n;
  guint          guard_id;
  guint          n_epochs;       /* ::epoch emissions */
  guint          n_attempts;     /* ::attempt emissions */
  guint          n_failures;     /* matrix cells that did not match */
  guint          counts[3];      /* matrix cells by outcome */
} Fixture;

static gboolean
guard_cb (gpointer user_data)
{
  g_error ("test did not finish within 600 s of real time");
  return G_SOURCE_REMOVE;
}

static void
epoch_cb (PlClient *client,
          guint     epoch,
          gpointer  user_data)
{
  Fixture *f = user_data;

  f->n_epochs++;
}

static void
attempt_cb (PlClient *client,
            guint     attempt,
            guint     max_attempts,
            gpointer  user_data)
{
  Fixture *f = user_data;

  f->n_attempts++;
}

static void
drain (void)
{
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

static void
make_client (Fixture *f,
             guint    max_queue,
             guint    timeout_ms)
{
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (f->address);

  g_clear_object (&f->client);
  f->client = g_object_new (PL_TYPE_CLIENT,
                            "gateway", gateway,
                            "clock", f->clock,
                            "max-queue", max_queue,
                            "timeout-ms", timeout_ms,
                            NULL);
  g_signal_connect (f->client, "epoch", G_CALLBACK (epoch_cb), f);
  g_signal_connect (f->client, "attempt", G_CALLBACK (attempt_cb), f);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->n = GPOINTER_TO_UINT (data);
  f->clock = pl_clock_new_virtual (TRUE);

  for (guint subnet = 3; f->gateway == NULL; subnet += 10)
    {
      g_clear_error (&error);
      g_clear_pointer (&f->address, g_free);
      g_clear_pointer (&f->other, g_free);
      f->address = g_strdup_printf ("127.0.%u.%u", subnet, f->n);
      f->other = g_strdup_printf ("127.0.%u.%u", subnet, f->n + 1);
      f->gateway = pl_fake_gateway_new (f->address, f->clock, &error);
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE) || subnet > 240)
        break;
    }
  g_assert_no_error (error);
  g_assert_nonnull (f->gateway);

  pl_fake_gateway_set_epoch (f->gateway, GATEWAY_EPOCH);
  pl_fake_gateway_set_assigned_port (f->gateway, GENUINE_PORT);
  pl_fake_gateway_set_external_address (f->gateway, GENUINE_ADDRESS);

  make_client (f, 32, 0);
  /* Generous: under the sanitizers (.ci/sanitize) the result-code sweep is slow. */
  f->guard_id = g_timeout_add_seconds (600, guard_cb, NULL);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->client);
  g_clear_object (&f->gateway);
  drain ();
  g_clear_object (&f->clock);
  g_clear_handle_id (&f->guard_id, g_source_remove);
  g_free (f->address);
  g_free (f->other);
}

/* Requests. */

static void
outcome_clear (Outcome *outcome)
{
  g_clear_error (&outcome->error);
  g_clear_object (&outcome->address);
  memset (outcome, 0, sizeof *outcome);
}

typedef struct
{
  Fixture *f;
  Outcome *outcome;
} Pending;

static void
finish_pending (Pending *pending)
{
  pending->outcome->time = pl_clock_get_time (pending->f->clock) - pending->outcome->start;
  pending->outcome->done = TRUE;
  g_free (pending);
}

static void
address_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  Pending *pending = user_data;
  Outcome *outcome = pending->outcome;

  outcome->address = pl_client_get_external_address_finish (PL_CLIENT (object), result,
                                                            &outcome->epoch, &outcome->error);
  outcome->ok = outcome->address != NULL;
  finish_pending (pending);
}

static void
map_cb (GObject      *object,
        GAsyncResult *result,
        gpointer      user_data)
{
  Pending *pending = user_data;
  Outcome *outcome = pending->outcome;

  outcome->ok = pl_client_map_finish (PL_CLIENT (object), result, &outcome->external_port,
                                      &outcome->lifetime, &outcome->epoch, &outcome->error);
  finish_pending (pending);
}

static void
unmap_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  Pending *pending = user_data;
  Outcome *outcome = pending->outcome;

  outcome->ok = pl_client_unmap_finish (PL_CLIENT (object), result, &outcome->epoch,
                                        &outcome->error);
  finish_pending (pending);
}

static void
start_request (Fixture *f,
               Kind     kind,
               guint16  internal_port,
               Outcome *outcome)
{
  Pending *pending = g_new0 (Pending, 1);

  pending->f = f;
  pending->outcome = outcome;
  outcome->start = pl_clock_get_time (f->clock);

  switch (kind)
    {
    case KIND_ADDRESS:
      pl_client_get_external_address_async (f->client, NULL, address_cb, pending);
      break;
    case KIND_MAP_UDP:
    case KIND_MAP_TCP:
      pl_client_map_async (f->client, kind == KIND_MAP_UDP ? PL_PROTOCOL_UDP : PL_PROTOCOL_TCP,
                           internal_port, internal_port, REQUESTED_LIFE, NULL, map_cb, pending);
      break;
    case KIND_UNMAP_UDP:
      pl_client_unmap_async (f->client, PL_PROTOCOL_UDP, internal_port, NULL, unmap_cb,
                             pending);
      break;
    case N_KINDS:
    default:
      g_assert_not_reached ();
    }
}

static void
wait_for (Outcome *outcome)
{
  while (!outcome->done)
    g_main_context_iteration (NULL, TRUE);
}

/* One request of @kind, with @garbage (nullable) sent before each genuine reply. */
static void
run_request (Fixture   *f,
             Kind       kind,
             GPtrArray *garbage,
             Outcome   *outcome)
{
  pl_fake_gateway_set_garbage (f->gateway, garbage);
  pl_fake_gateway_clear_requests (f->gateway);
  f->n_attempts = 0;

  start_request (f, kind, INTERNAL_PORT, outcome);
  wait_for (outcome);
  pl_fake_gateway_set_garbage (f->gateway, NULL);
  drain ();
}

static guint8
expected_opcode (Kind kind)
{
  switch (kind)
    {
    case KIND_ADDRESS:
      return 0x80;
    case KIND_MAP_UDP:
    case KIND_UNMAP_UDP:
      return 0x81;
    case KIND_MAP_TCP:
      return 0x82;
    case N_KINDS:
    default:
      g_assert_not_reached ();
    }
}

static gsize
full_size (Kind kind)
{
  return kind == KIND_ADDRESS ? 12 : 16;
}

/* The reply to @kind that a gateway would send, with the garbage markers, into @buf (64 bytes
 * or more); returns its length. */
static gsize
build_template (Kind     kind,
                guint16  result,
                guint8  *buf,
                gsize    size)
{
  gsize len;

  switch (kind)
    {
    case KIND_ADDRESS:
      len = pl_natpmp_build_external_address_reply (buf, size, result, GARBAGE_EPOCH,
                                                    garbage_address);
      break;
    case KIND_MAP_UDP:
    case KIND_MAP_TCP:
      len = pl_natpmp_build_map_reply (buf, size,
                                       kind == KIND_MAP_UDP ? PL_PROTOCOL_UDP : PL_PROTOCOL_TCP,
                                       result, GARBAGE_EPOCH, INTERNAL_PORT, GARBAGE_PORT,
                                       GARBAGE_LIFETIME);
      break;
    case KIND_UNMAP_UDP:
      len = pl_natpmp_build_map_reply (buf, size, PL_PROTOCOL_UDP, result, GARBAGE_EPOCH,
                                       INTERNAL_PORT, 0, 0);
      break;
    case N_KINDS:
    default:
      g_assert_not_reached ();
    }

  g_assert_cmpuint (len, ==, full_size (kind));
  return len;
}

/* An 8-byte reply: version 0, @opcode, @result, the garbage epoch. */
static GBytes *
short_reply (guint8  opcode,
             guint16 result)
{
  guint8 buf[PL_NATPMP_SHORT_REPLY_SIZE];

  g_assert_cmpuint (pl_natpmp_build_short_reply (buf, sizeof buf, opcode, result,
                                                 GARBAGE_EPOCH), ==, sizeof buf);
  return g_bytes_new (buf, sizeof buf);
}

static PlError
error_for_result (guint result)
{
  switch (result)
    {
    case PL_NATPMP_RESULT_UNSUPPORTED_VERSION:
      return PL_ERROR_UNSUPPORTED_VERSION;
    case PL_NATPMP_RESULT_NOT_AUTHORIZED:
      return PL_ERROR_NOT_AUTHORIZED;
    case PL_NATPMP_RESULT_NETWORK_FAILURE:
      return PL_ERROR_NETWORK_FAILURE;
    case PL_NATPMP_RESULT_OUT_OF_RESOURCES:
      return PL_ERROR_OUT_OF_RESOURCES;
    case PL_NATPMP_RESULT_UNSUPPORTED_OPCODE:
      return PL_ERROR_UNSUPPORTED_OPCODE;
    default:
      return PL_ERROR_UNKNOWN_RESULT;
    }
}

static const char *
expect_name (Expect what)
{
  return what == IGNORED ? "ignored" : what == ACCEPTED ? "accepted" : "error";
}

static char *
describe (Kind    kind,
          GBytes *datagram)
{
  gsize len = 0;
  const guint8 *data = datagram != NULL ? g_bytes_get_data (datagram, &len) : NULL;
  GString *text = g_string_new (kind_names[kind]);

  g_string_append_printf (text, ", %" G_GSIZE_FORMAT "-byte datagram", len);
  for (gsize i = 0; i < len && i < 24; i++)
    g_string_append_printf (text, "%s%02x", i == 0 ? " " : "", data[i]);
  if (len > 24)
    g_string_append (text, "…");
  return g_string_free (text, FALSE);
}

/* Does @outcome of a request of @kind match @expect? Records a failure (and keeps going, so
 * that one run lists every cell that is wrong) when it does not. */
static void
check_outcome (Fixture           *f,
               Kind               kind,
               GBytes            *datagram,
               const Outcome     *outcome,
               const Expectation *expect)
{
  g_autofree char *what = describe (kind, datagram);
  g_autofree char *address = NULL;
  const char *problem = NULL;

  if (outcome->address != NULL)
    address = g_inet_address_to_string (outcome->address);

  switch (expect->what)
    {
    case IGNORED:
      if (!outcome->ok)
        problem = "failed";
      else if (outcome->epoch == GARBAGE_EPOCH)
        problem = "took the hostile datagram";
      else if (pl_fake_gateway_get_requests (f->gateway)->len != 1 || f->n_attempts != 0)
        problem = "resent the request";
      else if (outcome->time != 0)
        problem = "completed late";
      else if ((kind == KIND_MAP_UDP || kind == KIND_MAP_TCP)
               && (outcome->external_port != GENUINE_PORT || outcome->lifetime != REQUESTED_LIFE))
        problem = "wrong port or lifetime";
      else if (kind == KIND_ADDRESS && g_strcmp0 (address, GENUINE_ADDRESS) != 0)
        problem = "wrong address";
      break;

    case ACCEPTED:
      if (!outcome->ok)
        problem = "failed";
      else if (outcome->epoch != GARBAGE_EPOCH)
        problem = "did not take the datagram";
      else if ((kind == KIND_MAP_UDP || kind == KIND_MAP_TCP)
               && (outcome->external_port != GARBAGE_PORT
                   || outcome->lifetime != GARBAGE_LIFETIME))
        problem = "wrong port or lifetime";
      else if (kind == KIND_ADDRESS && g_strcmp0 (address, "192.0.2.1") != 0)
        problem = "wrong address";
      break;

    case ERROR:
      if (outcome->ok)
        problem = "succeeded";
      else if (!g_error_matches (outcome->error, PL_ERROR, (gint) expect->code))
        problem = "wrong error";
      else if (strstr (outcome->error->message, f->address) == NULL)
        problem = "error does not name the gateway";
      else if (pl_fake_gateway_get_requests (f->gateway)->len != 1 || outcome->time != 0)
        problem = "not at once";
      break;

    default:
      g_assert_not_reached ();
    }

  f->counts[expect->what]++;
  if (problem != NULL)
    {
      f->n_failures++;
      if (f->n_failures <= 20)
        g_test_fail_printf ("%s: expected %s (code %d), got: %s (ok %d, epoch %u, error %s)",
                            what, expect_name (expect->what), (int) expect->code, problem,
                            outcome->ok, outcome->epoch,
                            outcome->error != NULL ? outcome->error->message : "none");
    }
}

/* Sends @datagram before the genuine reply to one request of @kind and checks the outcome. */
static void
try_datagram (Fixture *f,
              Kind     kind,
              GBytes  *datagram,
              Expect   what,
              PlError  code)
{
  g_autoptr(GPtrArray) garbage = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  Expectation expect = { what, code };
  Outcome outcome = { 0, };

  g_ptr_array_add (garbage, g_bytes_ref (datagram));
  run_request (f, kind, garbage, &outcome);
  check_outcome (f, kind, datagram, &outcome, &expect);
  outcome_clear (&outcome);
}

/* The genuine reply alone is accepted. */
static void
check_genuine (Fixture *f,
               Kind     kind)
{
  Expectation expect = { IGNORED, 0 };
  Outcome outcome = { 0, };

  run_request (f, kind, NULL, &outcome);
  check_outcome (f, kind, NULL, &outcome, &expect);
  outcome_clear (&outcome);
}

static void
report (Fixture    *f,
        const char *what)
{
  g_test_message ("%s: %u cells: %u ignored, %u accepted, %u rejected with an error; "
                  "%u wrong", what, f->counts[IGNORED] + f->counts[ACCEPTED] + f->counts[ERROR],
                  f->counts[IGNORED], f->counts[ACCEPTED], f->counts[ERROR], f->n_failures);
  g_assert_cmpuint (f->n_failures, ==, 0);
}

/* Lengths. */

static void
test_lengths (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (6);

  g_test_summary ("Replies of every length 0-64: a genuine reply cut short is ignored, one "
                  "padded beyond its size is taken (PMP-41), an error reply is rejected from "
                  "8 bytes on, random bytes are ignored; the genuine reply still gets through");

  for (Kind kind = 0; kind < N_KINDS; kind++)
    {
      guint8 ok_buf[64];
      guint8 error_buf[64];

      memset (ok_buf, 0xee, sizeof ok_buf);
      memset (error_buf, 0xee, sizeof error_buf);
      build_template (kind, PL_NATPMP_RESULT_SUCCESS, ok_buf, sizeof ok_buf);
      build_template (kind, PL_NATPMP_RESULT_NETWORK_FAILURE, error_buf, sizeof error_buf);

      for (gsize len = 0; len <= 64; len++)
        {
          g_autoptr(GBytes) ok_reply = g_bytes_new (ok_buf, len);
          g_autoptr(GBytes) error_reply = g_bytes_new (error_buf, len);
          g_autoptr(GBytes) random = NULL;
          guint8 random_buf[64];

          try_datagram (f, kind, ok_reply, len < full_size (kind) ? IGNORED : ACCEPTED, 0);
          try_datagram (f, kind, error_reply, len < 8 ? IGNORED : ERROR,
                        PL_ERROR_NETWORK_FAILURE);

          /* Random bytes, with an opcode byte that can answer nothing in flight. */
          for (gsize i = 0; i < len; i++)
            random_buf[i] = (guint8) g_rand_int_range (rand, 0, 256);
          if (len >= 2)
            while (random_buf[1] == 0 || random_buf[1] == 0x80 ||
                   random_buf[1] == expected_opcode (kind))
              random_buf[1] = (guint8) g_rand_int_range (rand, 0, 256);
          random = g_bytes_new (random_buf, len);
          try_datagram (f, kind, random, IGNORED, 0);
        }
    }

  report (f, "lengths 0-64");
}

/* Version and opcode bytes. */

static void
test_versions (Fixture       *f,
               gconstpointer  data)
{
  g_test_summary ("Every version byte 0-255: only version 0 is taken, as a reply or as "
                  "Unsupported Version; everything else is ignored (PMP-02)");

  for (Kind kind = 0; kind < N_KINDS; kind++)
    for (guint version = 0; version < 256; version++)
      {
        g_autoptr(GBytes) reply = NULL;
        g_autoptr(GBytes) unsupported = NULL;
        guint8 buf[64];
        gsize len;

        len = build_template (kind, PL_NATPMP_RESULT_SUCCESS, buf, sizeof buf);
        buf[0] = (guint8) version;
        reply = g_bytes_new (buf, len);
        try_datagram (f, kind, reply, version == 0 ? ACCEPTED : IGNORED, 0);

        pl_natpmp_build_short_reply (buf, sizeof buf, 0x80, PL_NATPMP_RESULT_UNSUPPORTED_VERSION,
                                     GARBAGE_EPOCH);
        buf[0] = (guint8) version;
        unsupported = g_bytes_new (buf, PL_NATPMP_SHORT_REPLY_SIZE);
        try_datagram (f, kind, unsupported, version == 0 ? ERROR : IGNORED,
                      PL_ERROR_UNSUPPORTED_VERSION);
      }

  report (f, "version bytes 0-255");
}

static void
test_opcodes (Fixture       *f,
              gconstpointer  data)
{
  g_test_summary ("Every opcode byte 0-255: a reply is taken only with opcode 128 + the "
                  "request's; Unsupported Version also with 0 and 128 (PMP-29); other errors "
                  "only with our opcode (PMP-02)");

  for (Kind kind = 0; kind < N_KINDS; kind++)
    for (guint op = 0; op < 256; op++)
      {
        guint8 ours = expected_opcode (kind);
        g_autoptr(GBytes) reply = NULL;
        g_autoptr(GBytes) refused = NULL;
        g_autoptr(GBytes) unsupported_version = short_reply ((guint8) op, 1);
        g_autoptr(GBytes) unsupported_opcode = short_reply ((guint8) op, 5);
        guint8 buf[64];
        gsize len;

        len = build_template (kind, PL_NATPMP_RESULT_SUCCESS, buf, sizeof buf);
        buf[1] = (guint8) op;
        reply = g_bytes_new (buf, len);
        try_datagram (f, kind, reply, op == ours ? ACCEPTED : IGNORED, 0);

        len = build_template (kind, PL_NATPMP_RESULT_NOT_AUTHORIZED, buf, sizeof buf);
        buf[1] = (guint8) op;
        refused = g_bytes_new (buf, len);
        try_datagram (f, kind, refused, op == ours ? ERROR : IGNORED,
                      PL_ERROR_NOT_AUTHORIZED);

        try_datagram (f, kind, unsupported_version,
                      op == 0 || op == 0x80 || op == ours ? ERROR : IGNORED,
                      PL_ERROR_UNSUPPORTED_VERSION);
        try_datagram (f, kind, unsupported_opcode, op == ours ? ERROR : IGNORED,
                      PL_ERROR_UNSUPPORTED_OPCODE);
      }

  report (f, "opcode bytes 0-255");
}

/* Result codes. */

/* The result codes that go through the client: all 0-65535, or under the sanitizers
 * (pl-test-sample.h) 0-300, 65535 and 1024 drawn from the test seed. */
static GArray *
result_codes_to_try (void)
{
  GArray *codes = g_array_new (FALSE, FALSE, sizeof (guint));

  if (!pl_test_sampled ())
    {
      for (guint result = 0; result <= G_MAXUINT16; result++)
        g_array_append_val (codes, result);
      return codes;
    }
  for (guint result = 0; result <= 300; result++)
    g_array_append_val (codes, result);
  for (guint n = 0; n < 1024; n++)
    {
      guint result = (guint) g_test_rand_int_range (301, G_MAXUINT16);

      g_array_append_val (codes, result);
    }
  {
    guint last = G_MAXUINT16;

    g_array_append_val (codes, last);
  }
  return codes;
}

/* Every result code through the pure parser and the error table, in every build: the same
 * verdicts as the client path gives (check_result_codes). */
static void
check_result_codes_parsed (Kind kind)
{
  guint n_wrong = 0;

  for (guint result = 0; result <= G_MAXUINT16; result++)
    {
      g_autoptr(GBytes) brief = short_reply (expected_opcode (kind), (guint16) result);
      g_autoptr(GError) error = NULL;
      PlNatpmpReply reply;
      guint8 buf[64];
      gsize len = build_template (kind, (guint16) result, buf, sizeof buf);
      gboolean parsed = pl_natpmp_parse_reply (buf, len, &reply, &error);

      if (!parsed || reply.result != result)
        n_wrong++;
      if (result != 0)
        {
          g_autoptr(GError) mapped = pl_natpmp_error_new (reply.result, "192.0.2.9");

          if (!g_error_matches (mapped, PL_ERROR, (gint) error_for_result (result)))
            n_wrong++;
        }
      g_clear_error (&error);

      /* The 8-byte form: an error for every non-zero code, malformed for 0. */
      parsed = pl_natpmp_parse_reply (g_bytes_get_data (brief, NULL), g_bytes_get_size (brief),
                                      &reply, &error);
      if (parsed != (result != 0) || (parsed && reply.result != result))
        n_wrong++;
    }
  g_test_message ("parser: result codes 0-65535 as full and 8-byte replies: %u wrong", n_wrong);
  g_assert_cmpuint (n_wrong, ==, 0);
}

static void
check_result_codes (Fixture *f,
                    Kind     kind)
{
  g_autoptr(GArray) codes = result_codes_to_try ();

  g_test_summary ("Every result code 0-65535, as a full reply and as an 8-byte error: 0 is a "
                  "success (the 8-byte form is malformed and ignored), 1-5 their own error, "
                  "all others UNKNOWN_RESULT at once (PMP-27); then the genuine reply is "
                  "still accepted. The parser takes every code; the client all of them too, "
                  "or a seeded sample under the sanitizers");

  check_result_codes_parsed (kind);

  for (guint i = 0; i < codes->len; i++)
    {
      guint result = g_array_index (codes, guint, i);
      g_autoptr(GBytes) full = NULL;
      g_autoptr(GBytes) brief = short_reply (expected_opcode (kind), (guint16) result);
      guint8 buf[64];
      gsize len;

      len = build_template (kind, (guint16) result, buf, sizeof buf);
      full = g_bytes_new (buf, len);
      try_datagram (f, kind, full, result == 0 ? ACCEPTED : ERROR, error_for_result (result));
      try_datagram (f, kind, brief, result == 0 ? IGNORED : ERROR, error_for_result (result));

      if (i % 4096 == 4095 || (codes->len < 4096 && i % 128 == 127))
        check_genuine (f, kind);
    }
  check_genuine (f, kind);

  report (f, codes->len > G_MAXUINT16 ? "result codes 0-65535"
                                      : "result codes 0-300, 65535 and 1024 drawn from the seed");
}

static void
test_result_codes_address (Fixture       *f,
                           gconstpointer  data)
{
  check_result_codes (f, KIND_ADDRESS);
}

static void
test_result_codes_map (Fixture       *f,
                       gconstpointer  data)
{
  check_result_codes (f, KIND_MAP_TCP);
}

/* Sources. */

typedef struct
{
  Fixture    *f;
  const char *address;
  guint16     port;
} Spoof;

static void
restore_source_cb (PlClient *client,
                   guint     attempt,
                   guint     max_attempts,
                   gpointer  user_data)
{
  Fixture *f = user_data;

  /* The first send was answered from the spoofed source; the resend is answered genuinely. */
  if (attempt == 2)
    pl_fake_gateway_set_reply_source (f->gateway, NULL, 0);
}

static void
test_spoofed_sources (Fixture       *f,
                      gconstpointer  data)
{
  const struct {
    gboolean    other_host;
    guint16     port;
  } spoofs[] = {
    { TRUE, PL_NATPMP_SERVER_PORT },      /* another host, right port */
    { FALSE, PL_NATPMP_SERVER_PORT + 1 }, /* the gateway, wrong port */
    { FALSE, PL_NATPMP_CLIENT_PORT },     /* the gateway, the announcement port */
    { FALSE, 15351 },                     /* the gateway, a high port */
    { TRUE, PL_NATPMP_SERVER_PORT + 1 },  /* both wrong */
  };
  gulong handler;

  g_test_summary ("PMP-10: replies from another address, or from the gateway's address but "
                  "a port other than 5351, are dropped; the resend's genuine reply is taken");

  handler = g_signal_connect (f->client, "attempt", G_CALLBACK (restore_source_cb), f);

  for (gsize i = 0; i < G_N_ELEMENTS (spoofs); i++)
    for (Kind kind = 0; kind < N_KINDS; kind++)
      {
        Outcome outcome = { 0, };

        pl_fake_gateway_set_reply_source (f->gateway, spoofs[i].other_host ? f->other : NULL,
                                          spoofs[i].port);
        pl_fake_gateway_clear_requests (f->gateway);
        start_request (f, kind, INTERNAL_PORT, &outcome);
        wait_for (&outcome);
        drain ();

        g_test_message ("reply from %s:%u to %s: %s after %u sends at %.2f s",
                        spoofs[i].other_host ? f->other : f->address, spoofs[i].port,
                        kind_names[kind], outcome.ok ? "genuine reply taken" : "failed",
                        pl_fake_gateway_get_requests (f->gateway)->len,
                        outcome.time / (double) G_USEC_PER_SEC);
        g_assert_no_error (outcome.error);
        g_assert_true (outcome.ok);
        g_assert_cmpuint (pl_fake_gateway_get_requests (f->gateway)->len, ==, 2);
        g_assert_cmpint (outcome.time, ==, SECONDS (0.25));
        outcome_clear (&outcome);
      }

  g_signal_handler_disconnect (f->client, handler);
}

/* Replies to requests never sent. */

static void
test_unsolicited (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GPtrArray) datagrams = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  guint epochs_before;

  g_test_summary ("Replies to requests never sent, with nothing in flight, change nothing: no "
                  "::epoch, and the next request gets its own genuine reply");

  /* One request first, so that the gateway knows where the client is. */
  check_genuine (f, KIND_ADDRESS);

  for (Kind kind = 0; kind < N_KINDS; kind++)
    {
      guint8 buf[64];
      gsize len;

      len = build_template (kind, PL_NATPMP_RESULT_SUCCESS, buf, sizeof buf);
      g_ptr_array_add (datagrams, g_bytes_new (buf, len));
      len = build_template (kind, PL_NATPMP_RESULT_NOT_AUTHORIZED, buf, sizeof buf);
      g_ptr_array_add (datagrams, g_bytes_new (buf, len));
      g_ptr_array_add (datagrams, short_reply (expected_opcode (kind), 1));
      g_ptr_array_add (datagrams, short_reply (expected_opcode (kind), 5));
    }
  g_ptr_array_add (datagrams, short_reply (0, 1));

  epochs_before = f->n_epochs;
  for (guint i = 0; i < datagrams->len; i++)
    pl_fake_gateway_send_to_client (f->gateway, g_ptr_array_index (datagrams, i));
  drain ();
  g_assert_cmpuint (f->n_epochs, ==, epochs_before);

  for (Kind kind = 0; kind < N_KINDS; kind++)
    check_genuine (f, kind);
  report (f, "unsolicited");
}

static void
test_not_ours (Fixture       *f,
               gconstpointer  data)
{
  g_test_summary ("PMP-18: while a request is in flight, replies to other requests (another "
                  "internal port, the other protocol, another kind, a delete-all, a late "
                  "duplicate) are ignored without a resend");

  for (Kind kind = KIND_MAP_UDP; kind < N_KINDS; kind++)
    {
      guint8 buf[64];
      gsize len;
      const guint16 other_ports[] = { 0, 1, INTERNAL_PORT - 1, INTERNAL_PORT + 1,
                                      INTERNAL_PORT ^ 0x8000, G_MAXUINT16 };

      for (gsize i = 0; i < G_N_ELEMENTS (other_ports); i++)
        {
          g_autoptr(GBytes) stale = NULL;
          g_autoptr(GBytes) stale_error = NULL;

          len = build_template (kind, PL_NATPMP_RESULT_SUCCESS, buf, sizeof buf);
          buf[8] = (guint8) (other_ports[i] >> 8);
          buf[9] = (guint8) (other_ports[i] & 0xff);
          stale = g_bytes_new (buf, len);
          try_datagram (f, kind, stale, IGNORED, 0);

          /* A full error reply for another port is someone else's error. */
          buf[3] = PL_NATPMP_RESULT_OUT_OF_RESOURCES;
          stale_error = g_bytes_new (buf, len);
          try_datagram (f, kind, stale_error, IGNORED, 0);
        }
    }

  /* A map reply while the address is asked for, and the reverse; UDP for TCP and back. */
  for (Kind kind = 0; kind < N_KINDS; kind++)
    for (Kind other = 0; other < N_KINDS; other++)
      {
        g_autoptr(GBytes) reply = NULL;
        guint8 buf[64];
        gsize len;

        if (expected_opcode (other) == expected_opcode (kind))
          continue;
        len = build_template (other, PL_NATPMP_RESULT_SUCCESS, buf, sizeof buf);
        reply = g_bytes_new (buf, len);
        try_datagram (f, kind, reply, IGNORED, 0);
      }

  /* A late duplicate of the previous request's reply does not complete the next request. */
  {
    g_autoptr(GPtrArray) twice = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
    Outcome first = { 0, };
    Outcome second = { 0, };
    guint8 buf[64];
    gsize len;

    len = build_template (KIND_MAP_UDP, PL_NATPMP_RESULT_SUCCESS, buf, sizeof buf);
    g_ptr_array_add (twice, g_bytes_new (buf, len));
    g_ptr_array_add (twice, g_bytes_new (buf, len));
    pl_fake_gateway_set_garbage (f->gateway, twice);
    pl_fake_gateway_clear_requests (f->gateway);
    start_request (f, KIND_MAP_UDP, INTERNAL_PORT, &first);
    start_request (f, KIND_MAP_UDP, INTERNAL_PORT + 7, &second);
    wait_for (&first);
    wait_for (&second);
    pl_fake_gateway_set_garbage (f->gateway, NULL);

    g_assert_true (first.ok);
    g_assert_cmpuint (first.epoch, ==, GARBAGE_EPOCH);
    g_assert_true (second.ok);
    g_assert_cmpuint (second.epoch, !=, GARBAGE_EPOCH);
    g_assert_cmpuint (second.external_port, ==, GENUINE_PORT);
    g_assert_cmpuint (pl_fake_gateway_get_requests (f->gateway)->len, ==, 2);
    outcome_clear (&first);
    outcome_clear (&second);
  }

  report (f, "replies to other requests");
}

/* PCP. */

static GBytes *
pcp_packet (guint8  version,
            guint8  opcode,
            guint8  result,
            gsize   len)
{
  guint8 buf[PL_NATPMP_MAX_PACKET] = { 0, };

  g_assert_cmpuint (len, <=, sizeof buf);
  if (len > 0)
    buf[0] = version;
  if (len > 1)
    buf[1] = opcode;
  if (len > 3)
    buf[3] = result;
  if (len >= 12)
    {
      static const guint8 lifetime_and_epoch[8] = {
        0x00, 0x00, 0x1c, 0x20,     /* lifetime 7200 */
        0x42, 0x42, 0x42, 0x42,     /* epoch GARBAGE_EPOCH */
      };

      memcpy (buf + 4, lifetime_and_epoch, sizeof lifetime_and_epoch);
    }
  if (len >= 60)
    {
      /* A MAP body for our port: protocol UDP, internal port, assigned port, ::ffff:a.b.c.d */
      buf[36] = 17;
      buf[40] = INTERNAL_PORT >> 8;
      buf[41] = INTERNAL_PORT & 0xff;
      buf[42] = GARBAGE_PORT >> 8;
      buf[43] = GARBAGE_PORT & 0xff;
      buf[54] = 0xff;
      buf[55] = 0xff;
      memcpy (buf + 56, garbage_address, 4);
    }
  return g_bytes_new (buf, len);
}

static void
test_pcp_on_natpmp (Fixture       *f,
                    gconstpointer  data)
{
  g_test_summary ("PCP packets reaching the NAT-PMP client (ANNOUNCE, MAP and PEER responses "
                  "for our port, UNSUPP_VERSION, requests, odd sizes, up to 1100 bytes) are "
                  "ignored and the genuine NAT-PMP reply is taken");

  for (Kind kind = 0; kind < N_KINDS; kind++)
    {
      GBytes *packets[] = {
        pcp_packet (2, 0x80, 0, 24),          /* ANNOUNCE response */
        pcp_packet (2, 0x81, 0, 60),          /* MAP response for our port */
        pcp_packet (2, 0x82, 0, 80),          /* PEER response */
        pcp_packet (2, 0x81, 1, 24),          /* UNSUPP_VERSION */
        pcp_packet (2, 0x81, 2, 60),          /* NOT_AUTHORIZED */
        pcp_packet (2, 0x01, 0, 60),          /* a MAP request */
        pcp_packet (2, 0x00, 0, 24),          /* an ANNOUNCE request */
        pcp_packet (2, 0x81, 0, 62),          /* not a multiple of 4 */
        pcp_packet (2, 0x81, 0, 1100),        /* the largest */
        pcp_packet (2, 0x81, 0, 1024 + 64),   /* large, with options space */
        pcp_packet (2, 0x80, 0, 8),           /* too short for PCP */
        pcp_packet (1, 0x81, 0, 60),          /* the PCP draft's version 1 */
        pcp_packet (3, 0x81, 0, 60),          /* a future version */
      };

      for (gsize i = 0; i < G_N_ELEMENTS (packets); i++)
        {
          try_datagram (f, kind, packets[i], IGNORED, 0);
          g_bytes_unref (packets[i]);
        }
    }

  report (f, "PCP on the NAT-PMP path");
}

/* Floods. */

static void
test_reply_flood (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (66);
  g_autoptr(GPtrArray) garbage = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  Outcome outcome = { 0, };
  guint epochs_before;

  g_test_summary ("Floods of datagrams, with and without a request in flight, neither crash "
                  "nor confuse the client; the next genuine reply is taken");

  /* 200 hostile datagrams before every genuine reply (about what a socket buffer holds). */
  for (guint i = 0; i < 200; i++)
    {
      guint8 buf[64];
      gsize len = (gsize) g_rand_int_range (rand, 0, sizeof buf + 1);

      for (gsize j = 0; j < len; j++)
        buf[j] = (guint8) g_rand_int_range (rand, 0, 256);
      if (len >= 2)
        buf[1] = 0x83 + (guint8) g_rand_int_range (rand, 0, 0x7c);   /* never an answer */
      g_ptr_array_add (garbage, g_bytes_new (buf, len));
    }
  for (Kind kind = 0; kind < N_KINDS; kind++)
    {
      run_request (f, kind, garbage, &outcome);
      g_assert_no_error (outcome.error);
      g_assert_cmpuint (outcome.epoch, !=, GARBAGE_EPOCH);
      g_assert_cmpint (outcome.time, ==, 0);
      outcome_clear (&outcome);
    }

  /* 20000 replies with nothing in flight, well-formed ones included. */
  epochs_before = f->n_epochs;
  for (guint burst = 0; burst < 100; burst++)
    {
      for (guint i = 0; i < 200; i++)
        {
          guint8 buf[64];
          gsize len = build_template ((Kind) (i % N_KINDS), (guint16) (i % 7), buf, sizeof buf);
          g_autoptr(GBytes) datagram = g_bytes_new (buf, len);

          pl_fake_gateway_send_to_client (f->gateway, datagram);
        }
      drain ();
    }
  g_assert_cmpuint (f->n_epochs, ==, epochs_before);

  for (Kind kind = 0; kind < N_KINDS; kind++)
    check_genuine (f, kind);
  report (f, "reply flood");
}

static void
test_request_flood (Fixture       *f,
                    gconstpointer  data)
{
  const guint n = 10000;
  Outcome *outcomes = g_new0 (Outcome, n);
  guint n_ok = 0;
  guint n_full = 0;

  g_test_summary ("10000 requests at once with max-queue 32: 33 go out one at a time (one in "
                  "flight, 32 queued) and succeed, the rest fail at once with QUEUE_FULL; "
                  "nothing is resent and the queue does not grow");

  make_client (f, 32, 0);
  pl_fake_gateway_clear_requests (f->gateway);
  pl_fake_gateway_set_reply_delay (f->gateway, 10);

  for (guint i = 0; i < n; i++)
    start_request (f, KIND_MAP_UDP, (guint16) (1000 + i), &outcomes[i]);
  for (guint i = 0; i < n; i++)
    wait_for (&outcomes[i]);

  for (guint i = 0; i < n; i++)
    {
      if (outcomes[i].ok)
        {
          n_ok++;
          g_assert_cmpuint (i, <, 33);
        }
      else
        {
          g_assert_error (outcomes[i].error, PL_ERROR, PL_ERROR_QUEUE_FULL);
          g_assert_cmpint (outcomes[i].time, ==, 0);
          n_full++;
        }
      outcome_clear (&outcomes[i]);
    }
  g_test_message ("%u requests: %u mapped, %u QUEUE_FULL, %u datagrams sent, %u resends",
                  n, n_ok, n_full, pl_fake_gateway_get_requests (f->gateway)->len,
                  f->n_attempts);
  g_assert_cmpuint (n_ok, ==, 33);
  g_assert_cmpuint (n_full, ==, n - 33);
  g_assert_cmpuint (pl_fake_gateway_get_requests (f->gateway)->len, ==, 33);
  g_assert_cmpuint (f->n_attempts, ==, 0);

  /* One at a time: request i went out when request i - 1 was answered, 10 ms later. */
  for (guint i = 0; i < 33; i++)
    {
      GPtrArray *requests = pl_fake_gateway_get_requests (f->gateway);
      PlFakeRequest *first = g_ptr_array_index (requests, 0);
      PlFakeRequest *request = g_ptr_array_index (requests, i);

      g_assert_cmpuint (request->request.internal_port, ==, 1000 + i);
      g_assert_cmpint (request->time - first->time, ==, 10000 * (gint64) i);
    }

  /* The queue has room again. */
  pl_fake_gateway_set_reply_delay (f->gateway, 0);
  check_genuine (f, KIND_MAP_UDP);
  g_free (outcomes);
}

/* Announcements: the session's listener, flooded. */

typedef struct
{
  guint n_resets;
  guint n_addresses;
} SessionEvents;

static void
router_reset_cb (PlSession *session,
                 guint      n,
                 gpointer   user_data)
{
  ((SessionEvents *) user_data)->n_resets++;
}

static void
external_address_changed_cb (PlSession *session,
                             gpointer   user_data)
{
  ((SessionEvents *) user_data)->n_addresses++;
}

static PlPortMapper *
client_factory (GInetAddress *gateway,
                PlClock      *clock,
                gpointer      user_data)
{
  return PL_PORT_MAPPER (pl_client_new (gateway, clock));
}

static GSocket *
multicast_sender (const char *address)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);
  g_autoptr(GSocketAddress) local = g_inet_socket_address_new (inet, 0);
  gint interface = 0;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP,
                         &error);
  g_assert_no_error (error);
  g_socket_set_blocking (socket, FALSE);
  g_socket_bind (socket, local, FALSE, &error);
  g_assert_no_error (error);
  g_socket_set_multicast_loopback (socket, TRUE);
  memcpy (&interface, g_inet_address_to_bytes (inet), sizeof interface);
  g_socket_set_option (socket, IPPROTO_IP, IP_MULTICAST_IF, interface, &error);
  g_assert_no_error (error);

  return g_steal_pointer (&socket);
}

static void
send_announcement (GSocket        *socket,
                   GSocketAddress *group,
                   const guint8   *data,
                   gsize           len)
{
  /* Loopback multicast: a full receive buffer drops it, which is fine for a flood. */
  g_socket_send_to (socket, group, (const char *) data, len, NULL, NULL);
}

static gboolean
session_has_address (PlSession  *session,
                     const char *address)
{
  return g_strcmp0 (pl_session_get_external_address (session), address) == 0;
}

static void
test_announcement_flood (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GListStore) profiles = g_list_store_new (PL_TYPE_PROFILE);
  g_autoptr(PlProfile) profile = pl_profile_new ("Flood");
  g_autoptr(PlSession) session = NULL;
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (f->address);
  g_autoptr(GInetAddress) group_address = g_inet_address_new_from_string ("224.0.0.1");
  g_autoptr(GSocketAddress) group = NULL;
  g_autoptr(GSocket) from_gateway = NULL;
  g_autoptr(GSocket) from_other = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (666);
  /* Time stands still (no auto-advance), so that draining the main loop never reaches a
   * renewal: every request the gateway sees during the flood would be caused by it. */
  g_autoptr(PlClock) clock = pl_clock_new_virtual (FALSE);
  SessionEvents events = { 0, };
  guint16 port = (guint16) (36000 + f->n);
  guint n_sent = 0;
  gint64 deadline;

  g_test_summary ("PMP-13, 15, 38: 20000 announcements (spoofed resets and addresses from "
                  "another host, PCP ANNOUNCEs, NAT-PMP/PCP hybrids and junk from the gateway "
                  "itself) cause no reset, no address change and no traffic; a genuine "
                  "announcement afterwards is still heard");

  pl_profile_set_protocol (profile, PL_PROFILE_PROTOCOL_UDP);
  pl_profile_set_internal_port (profile, 45000);
  g_list_store_append (profiles, profile);

  session = g_object_new (PL_TYPE_SESSION,
                          "profiles", profiles,
                          "clock", clock,
                          "fixed-gateway", gateway,
                          "monitor-network", FALSE,
                          "announce-port", (guint) port,
                          NULL);
  pl_session_set_mapper_factory (session, client_factory, NULL, NULL);
  g_signal_connect (session, "router-reset", G_CALLBACK (router_reset_cb), &events);
  g_signal_connect (session, "external-address-changed",
                    G_CALLBACK (external_address_changed_cb), &events);
  pl_session_start (session);

  while (!session_has_address (session, GENUINE_ADDRESS))
    g_main_context_iteration (NULL, TRUE);
  if (!pl_session_get_listening (session))
    {
      g_test_skip ("the session could not listen for announcements here");
      return;
    }

  group = g_inet_socket_address_new (group_address, port);
  from_gateway = multicast_sender (f->address);
  from_other = multicast_sender (f->other);
  events.n_resets = 0;
  events.n_addresses = 0;
  pl_fake_gateway_clear_requests (f->gateway);

  for (guint burst = 0; burst < 100; burst++)
    {
      for (guint i = 0; i < 200; i++)
        {
          guint8 buf[64] = { 0, };
          gsize len;
          static const guint8 spoofed[4] = { 192, 0, 2, 66 };

          switch (i % 5)
            {
            case 0:
              /* A reset (epoch 0) and a new address, from another host. */
              len = pl_natpmp_build_external_address_reply (buf, sizeof buf, 0, 0, spoofed);
              send_announcement (from_other, group, buf, len);
              break;
            case 1:
              /* A PCP ANNOUNCE with epoch 0, from another host. */
              len = pl_natpmp_build_pcp_announce (buf, sizeof buf, 0);
              send_announcement (from_other, group, buf, len);
              break;
            case 2:
              /* From the gateway: a NAT-PMP announcement padded to PCP's 24 bytes, and a
               * PCP-versioned 12-byte one: neither is an announcement. */
              len = pl_natpmp_build_external_address_reply (buf, sizeof buf, 0, 0, spoofed);
              send_announcement (from_gateway, group, buf, 24);
              buf[0] = PL_PCP_VERSION;
              send_announcement (from_gateway, group, buf, len);
              break;
            case 3:
              /* From the gateway: an announcement with a wrong opcode or version. */
              len = pl_natpmp_build_external_address_reply (buf, sizeof buf, 0, 0, spoofed);
              buf[1] = (guint8) g_rand_int_range (rand, 0x81, 0x100);
              send_announcement (from_gateway, group, buf, len);
              buf[1] = 0x80;
              buf[0] = (guint8) g_rand_int_range (rand, 3, 0x100);
              send_announcement (from_gateway, group, buf, len);
              break;
            default:
              /* From the gateway: random junk of every length. */
              len = (gsize) g_rand_int_range (rand, 0, 65);
              for (gsize j = 0; j < len; j++)
                buf[j] = (guint8) g_rand_int_range (rand, 0, 256);
              if (len == 12 && buf[0] == 0 && buf[1] == 0x80)
                buf[1] = 0x81;
              if (len >= 24 && buf[0] == 2)
                buf[0] = 3;
              send_announcement (from_gateway, group, buf, len);
              break;
            }
          n_sent++;
        }
      drain ();
    }

  g_test_message ("%u hostile announcements sent: %u resets, %u address changes, %u requests",
                  n_sent, events.n_resets, events.n_addresses,
                  pl_fake_gateway_get_requests (f->gateway)->len);
  g_assert_cmpuint (events.n_resets, ==, 0);
  g_assert_cmpuint (events.n_addresses, ==, 0);
  g_assert_cmpstr (pl_session_get_external_address (session), ==, GENUINE_ADDRESS);
  g_assert_cmpuint (pl_fake_gateway_get_requests (f->gateway)->len, ==, 0);

  /* The listener still works: the gateway announces a new address. */
  pl_fake_gateway_set_external_address (f->gateway, "198.51.100.77");
  {
    guint8 buf[PL_NATPMP_EXTERNAL_ADDRESS_REPLY_SIZE];
    static const guint8 announced[4] = { 198, 51, 100, 77 };
    gsize len = pl_natpmp_build_external_address_reply (buf, sizeof buf, 0, GATEWAY_EPOCH + 10,
                                                        announced);

    deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
    while (!session_has_address (session, "198.51.100.77"))
      {
        g_assert_cmpint (g_get_monotonic_time (), <, deadline);
        send_announcement (from_gateway, group, buf, len);
        g_main_context_iteration (NULL, FALSE);
      }
  }
  g_assert_cmpuint (events.n_resets, ==, 0);

  g_clear_object (&session);
  drain ();
}

static void
count_datagram_cb (PlAnnounceListener *listener,
                   GInetSocketAddress *from,
                   GBytes             *datagram,
                   gpointer            user_data)
{
  guint *n_received = user_data;

  g_assert_cmpuint (g_bytes_get_size (datagram), <=, PL_NATPMP_MAX_PACKET);
  (*n_received)++;
}

static void
test_announcement_listener_flood (Fixture       *f,
                                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlAnnounceListener) listener = NULL;
  g_autoptr(GInetAddress) group_address = g_inet_address_new_from_string ("224.0.0.1");
  g_autoptr(GSocketAddress) group = NULL;
  g_autoptr(GSocket) sender = NULL;
  static const gsize big[] = { 1101, 1500, 9000, 65507 };
  guint8 *buf = g_malloc0 (65507);
  guint16 port = (guint16) (37000 + f->n);
  guint n_received = 0;
  guint n_sent = 0;
  guint before;

  g_test_summary ("The announcement listener reads at most 64 datagrams per main-loop "
                  "dispatch, so that a flood cannot starve other sources, and takes datagrams "
                  "of any size (0 to 65507 bytes) without reading past 1100");

  listener = pl_announce_listener_new (port, &error);
  if (listener == NULL)
    {
      g_test_skip_printf ("cannot bind 224.0.0.1:%u: %s", port, error->message);
      g_free (buf);
      return;
    }
  if (!pl_announce_listener_join (listener, "lo", &error))
    {
      g_test_skip_printf ("cannot join 224.0.0.1 on lo: %s", error->message);
      g_free (buf);
      return;
    }
  g_signal_connect (listener, "datagram", G_CALLBACK (count_datagram_cb), &n_received);

  group = g_inet_socket_address_new (group_address, port);
  sender = multicast_sender (f->address);

  /* Every size from 0 to 1100 bytes, in bursts the receive buffer holds. */
  for (gsize len = 0; len <= PL_NATPMP_MAX_PACKET; len++)
    {
      memset (buf, (int) (len & 0xff), len);
      send_announcement (sender, group, buf, len);
      n_sent++;
      if (len % 32 == 31)
        drain ();
    }
  for (gsize i = 0; i < G_N_ELEMENTS (big); i++)
    {
      send_announcement (sender, group, buf, big[i]);
      n_sent++;
    }
  drain ();
  g_test_message ("%u datagrams of 0-65507 bytes sent, %u received", n_sent, n_received);
  g_assert_cmpuint (n_received, >, 0);
  g_assert_cmpuint (n_received, <=, n_sent);

  /* 200 small datagrams queued at once: one dispatch takes 64 at most. */
  for (guint i = 0; i < 200; i++)
    send_announcement (sender, group, buf, PL_NATPMP_EXTERNAL_ADDRESS_REPLY_SIZE);
  before = n_received;
  g_main_context_iteration (NULL, FALSE);
  g_test_message ("one dispatch read %u of 200 queued datagrams", n_received - before);
  g_assert_cmpuint (n_received - before, >, 0);
  g_assert_cmpuint (n_received - before, <=, 64);
  drain ();

  g_free (buf);
}

/* Registration. */

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  /* Gateways 127.0.3.N, N = 10, 12, ... (N + 1 is "another host"). */
  g_test_add ("/bad-input/length", Fixture, GUINT_TO_POINTER (10),
              fixture_set_up, test_lengths, fixture_tear_down);
  g_test_add ("/bad-input/version", Fixture, GUINT_TO_POINTER (12),
              fixture_set_up, test_versions, fixture_tear_down);
  g_test_add ("/bad-input/opcode", Fixture, GUINT_TO_POINTER (14),
              fixture_set_up, test_opcodes, fixture_tear_down);
  g_test_add ("/bad-input/result-code/address", Fixture, GUINT_TO_POINTER (16),
              fixture_set_up, test_result_codes_address, fixture_tear_down);
  g_test_add ("/bad-input/result-code/map", Fixture, GUINT_TO_POINTER (34),
              fixture_set_up, test_result_codes_map, fixture_tear_down);
  g_test_add ("/bad-input/spoofed-source", Fixture, GUINT_TO_POINTER (18),
              fixture_set_up, test_spoofed_sources, fixture_tear_down);
  g_test_add ("/bad-input/unsolicited", Fixture, GUINT_TO_POINTER (20),
              fixture_set_up, test_unsolicited, fixture_tear_down);
  g_test_add ("/bad-input/not-ours", Fixture, GUINT_TO_POINTER (22),
              fixture_set_up, test_not_ours, fixture_tear_down);
  g_test_add ("/bad-input/pcp-on-natpmp", Fixture, GUINT_TO_POINTER (24),
              fixture_set_up, test_pcp_on_natpmp, fixture_tear_down);
  g_test_add ("/bad-input/flood/replies", Fixture, GUINT_TO_POINTER (26),
              fixture_set_up, test_reply_flood, fixture_tear_down);
  g_test_add ("/bad-input/flood/requests", Fixture, GUINT_TO_POINTER (28),
              fixture_set_up, test_request_flood, fixture_tear_down);
  g_test_add ("/bad-input/flood/announcements", Fixture, GUINT_TO_POINTER (30),
              fixture_set_up, test_announcement_flood, fixture_tear_down);
  g_test_add ("/bad-input/flood/listener", Fixture, GUINT_TO_POINTER (32),
              fixture_set_up, test_announcement_listener_flood, fixture_tear_down);

  return g_test_run ();
}
