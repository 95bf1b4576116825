/* test-pcp.c: the pure PCP (RFC 6887) codec
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include "pl-error.h"
#include "pl-pcp.h"

#define SENTINEL 0xa5
#define GATEWAY "192.0.2.1"

/* tests/lab/MINIUPNPD.md, item 2: MAP TCP 40000 -> 40000, lifetime 7200, from 10.88.0.10, and
 * miniupnpd 2.3.1's reply (epoch 41, external address 84.17.2.3). */
#define VERIFIED_REQUEST \
  "02 01 0000 00001c20 00000000000000000000ffff0a58000a" \
  "a1a1a1a1a1a1a1a1a1a1a1a1 06 000000 9c40 9c40 00000000000000000000ffff00000000"
#define VERIFIED_RESPONSE \
  "02 81 00 00 00001c20 00000029 000000000000000000000000" \
  "a1a1a1a1a1a1a1a1a1a1a1a1 06 000000 9c40 9c40 00000000000000000000ffff54110203"

static const guint8 lan_host[4] = { 10, 88, 0, 10 };
static const guint8 wan_address[4] = { 84, 17, 2, 3 };

/* Hex digits with optional spaces to bytes. */
static GBytes *
hex (const char *text)
{
  GByteArray *bytes = g_byte_array_new ();

  for (const char *p = text; *p != '\0'; )
    {
      guint8 b;

      if (*p == ' ')
        {
          p++;
          continue;
        }
      g_assert_true (g_ascii_isxdigit (p[0]) && g_ascii_isxdigit (p[1]));
      b = (guint8) (g_ascii_xdigit_value (p[0]) << 4 | g_ascii_xdigit_value (p[1]));
      g_byte_array_append (bytes, &b, 1);
      p += 2;
    }

  return g_byte_array_free_to_bytes (bytes);
}

/* Parse from an exact-size heap copy, so that valgrind or ASan catch any read past the end. */
static gboolean
parse_exact (const guint8   *data,
             gsize           len,
             PlPcpResponse  *out,
             GError        **error)
{
  g_autofree guint8 *copy = len > 0 ? g_memdup2 (data, len) : NULL;

  return pl_pcp_parse_response (copy, len, out, error);
}

static gboolean
parse_request_exact (const guint8     *data,
                     gsize             len,
                     guint8           *opcode,
                     PlPcpMapRequest  *out,
                     GError          **error)
{
  g_autofree guint8 *copy = len > 0 ? g_memdup2 (data, len) : NULL;

  return pl_pcp_parse_request (copy, len, opcode, out, error);
}

static void
parse_ok (const guint8  *data,
          gsize          len,
          PlPcpResponse *response)
{
  g_autoptr(GError) error = NULL;

  memset (response, SENTINEL, sizeof *response);
  g_assert_true (parse_exact (data, len, response, &error));
  g_assert_no_error (error);
}

/* Rejected as malformed with @message (NULL: any non-empty one), @out untouched. */
static void
assert_malformed (const guint8 *data,
                  gsize         len,
                  const char   *message)
{
  g_autoptr(GError) error = NULL;
  PlPcpResponse response;
  PlPcpResponse untouched;

  memset (&response, SENTINEL, sizeof response);
  memcpy (&untouched, &response, sizeof response);

  g_assert_false (parse_exact (data, len, &response, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_MALFORMED_REPLY);
  g_assert_nonnull (error->message);
  g_assert_cmpstr (error->message, !=, "");
  if (message != NULL)
    g_assert_cmpstr (error->message, ==, message);
  g_assert_cmpmem (&response, sizeof response, &untouched, sizeof untouched);

  /* The same answer without an error location. */
  g_assert_false (parse_exact (data, len, &response, NULL));
}

static void
assert_request_malformed (const guint8 *data,
                          gsize         len,
                          const char   *message)
{
  g_autoptr(GError) error = NULL;
  PlPcpMapRequest request;
  PlPcpMapRequest untouched;
  guint8 opcode = SENTINEL;

  memset (&request, SENTINEL, sizeof request);
  memcpy (&untouched, &request, sizeof request);

  g_assert_false (parse_request_exact (data, len, &opcode, &request, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_MALFORMED_REPLY);
  g_assert_cmpstr (error->message, !=, "");
  if (message != NULL)
    g_assert_cmpstr (error->message, ==, message);
  g_assert_cmpuint (opcode, ==, SENTINEL);
  g_assert_cmpmem (&request, sizeof request, &untouched, sizeof untouched);
}

static void
assert_requests_equal (const PlPcpMapRequest *a,
                       const PlPcpMapRequest *b)
{
  g_assert_cmpuint (a->lifetime, ==, b->lifetime);
  g_assert_cmpmem (a->client_address, 16, b->client_address, 16);
  g_assert_cmpmem (a->nonce, PL_PCP_NONCE_SIZE, b->nonce, PL_PCP_NONCE_SIZE);
  g_assert_cmpuint (a->protocol, ==, b->protocol);
  g_assert_cmpuint (a->internal_port, ==, b->internal_port);
  g_assert_cmpuint (a->suggested_external_port, ==, b->suggested_external_port);
  g_assert_cmpmem (a->suggested_external_address, 16, b->suggested_external_address, 16);
  g_assert_cmpint (a->prefer_failure, ==, b->prefer_failure);
  g_assert_cmpint (a->has_third_party, ==, b->has_third_party);
  if (a->has_third_party)
    g_assert_cmpmem (a->third_party_address, 16, b->third_party_address, 16);
  g_assert_cmpuint (a->n_filters, ==, b->n_filters);
  for (guint i = 0; i < a->n_filters && i < PL_PCP_MAX_FILTERS; i++)
    {
      g_assert_cmpuint (a->filters[i].prefix_length, ==, b->filters[i].prefix_length);
      g_assert_cmpuint (a->filters[i].remote_port, ==, b->filters[i].remote_port);
      g_assert_cmpmem (a->filters[i].remote_address, 16, b->filters[i].remote_address, 16);
    }
}

/* The request of tests/lab/MINIUPNPD.md, item 2. */
static void
verified_request (PlPcpMapRequest *request)
{
  static const guint8 any[4] = { 0, 0, 0, 0 };

  memset (request, 0, sizeof *request);
  request->lifetime = 7200;
  pl_pcp_address_from_ipv4 (lan_host, request->client_address);
  memset (request->nonce, 0xa1, PL_PCP_NONCE_SIZE);
  request->protocol = PL_PCP_IANA_TCP;
  request->internal_port = 40000;
  request->suggested_external_port = 40000;
  pl_pcp_address_from_ipv4 (any, request->suggested_external_address);
}

/* ---- addresses ------------------------------------------------------------------------- */

static void
test_addresses (void)
{
  static const guint8 mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 88, 0, 10 };
  static const guint8 ula[16] = { 0xfd, 0, 0, 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10 };
  static const guint8 almost[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 1, 2, 3, 4 };
  guint8 out[16];
  guint8 ipv4[4] = { SENTINEL, SENTINEL, SENTINEL, SENTINEL };
  const guint8 untouched[4] = { SENTINEL, SENTINEL, SENTINEL, SENTINEL };

  memset (out, SENTINEL, sizeof out);
  pl_pcp_address_from_ipv4 (lan_host, out);
  g_assert_cmpmem (out, 16, mapped, 16);

  g_assert_true (pl_pcp_address_is_ipv4 (mapped, ipv4));
  g_assert_cmpmem (ipv4, 4, lan_host, 4);
  g_assert_true (pl_pcp_address_is_ipv4 (mapped, NULL));

  memset (ipv4, SENTINEL, sizeof ipv4);
  g_assert_false (pl_pcp_address_is_ipv4 (ula, ipv4));
  g_assert_false (pl_pcp_address_is_ipv4 (almost, ipv4));
  g_assert_cmpmem (ipv4, 4, untouched, 4);

  g_assert_cmpuint (pl_pcp_protocol_to_iana (PL_PROTOCOL_TCP), ==, 6);
  g_assert_cmpuint (pl_pcp_protocol_to_iana (PL_PROTOCOL_UDP), ==, 17);
}

static void
test_protocol_to_iana_invalid (void)
{
  if (g_test_subprocess ())
    {
      g_assert_cmpuint (pl_pcp_protocol_to_iana ((PlProtocol) 99), ==, 0);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*");
}

/* ---- builders: exact bytes ------------------------------------------------------------- */

static void
test_build_verified (void)
{
  g_autoptr(GBytes) expected_request = hex (VERIFIED_REQUEST);
  g_autoptr(GBytes) expected_response = hex (VERIFIED_RESPONSE);
  PlPcpMapRequest request;
  guint8 assigned[16];
  guint8 buf[PL_PCP_MAX_MESSAGE];

  g_assert_cmpuint (g_bytes_get_size (expected_request), ==, PL_PCP_MAP_SIZE);
  g_assert_cmpuint (g_bytes_get_size (expected_response), ==, PL_PCP_MAP_SIZE);

  verified_request (&request);
  memset (buf, SENTINEL, sizeof buf);
  g_assert_cmpuint (pl_pcp_build_map_request (buf, sizeof buf, &request), ==, 60);
  g_assert_cmpmem (buf, 60, g_bytes_get_data (expected_request, NULL), 60);
  g_assert_cmpuint (buf[60], ==, SENTINEL);

  pl_pcp_address_from_ipv4 (wan_address, assigned);
  memset (buf, SENTINEL, sizeof buf);
  g_assert_cmpuint (pl_pcp_build_map_response (buf, sizeof buf, &request, 0, 7200, 41,
                                               40000, assigned), ==, 60);
  g_assert_cmpmem (buf, 60, g_bytes_get_data (expected_response, NULL), 60);
  g_assert_cmpuint (buf[60], ==, SENTINEL);
}

static void
test_parse_verified (void)
{
  g_autoptr(GBytes) bytes = hex (VERIFIED_RESPONSE);
  const guint8 *data = g_bytes_get_data (bytes, NULL);
  PlPcpResponse response;
  guint8 nonce[PL_PCP_NONCE_SIZE];
  guint8 ipv4[4];

  parse_ok (data, g_bytes_get_size (bytes), &response);
  g_assert_cmpuint (response.opcode, ==, PL_PCP_OP_MAP);
  g_assert_cmpuint (response.result, ==, PL_PCP_RESULT_SUCCESS);
  g_assert_cmpuint (response.lifetime, ==, 7200);
  g_assert_cmpuint (response.epoch, ==, 41);
  g_assert_true (response.has_map_payload);
  memset (nonce, 0xa1, sizeof nonce);
  g_assert_cmpmem (response.nonce, sizeof response.nonce, nonce, sizeof nonce);
  g_assert_cmpuint (response.protocol, ==, PL_PCP_IANA_TCP);
  g_assert_cmpuint (response.internal_port, ==, 40000);
  g_assert_cmpuint (response.assigned_external_port, ==, 40000);
  g_assert_true (pl_pcp_address_is_ipv4 (response.assigned_external_address, ipv4));
  g_assert_cmpmem (ipv4, 4, wan_address, 4);
  g_assert_false (response.prefer_failure);
  g_assert_false (response.has_third_party);
  g_assert_cmpuint (response.n_filters, ==, 0);
  g_assert_cmpuint (response.n_ignored_options, ==, 0);
}

static void
test_parse_request_verified (void)
{
  g_autoptr(GBytes) bytes = hex (VERIFIED_REQUEST);
  g_autoptr(GError) error = NULL;
  PlPcpMapRequest expected;
  PlPcpMapRequest request;
  guint8 opcode = SENTINEL;

  verified_request (&expected);
  memset (&request, SENTINEL, sizeof request);
  g_assert_true (parse_request_exact (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                      &opcode, &request, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (opcode, ==, PL_PCP_OP_MAP);
  assert_requests_equal (&request, &expected);
}

/* Each option on its own, and all together, byte by byte. */
static void
test_build_options (void)
{
  static const guint8 third_party[16] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 88, 0, 11,
  };
  g_autoptr(GBytes) base = hex (VERIFIED_REQUEST);
  g_autoptr(GBytes) opt_third_party = hex ("01 00 0010 00000000000000000000ffff0a58000b");
  g_autoptr(GBytes) opt_prefer_failure = hex ("02 00 0000");
  g_autoptr(GBytes) opt_filter = hex ("03 00 0014 00 80 15b3 00000000000000000000ffff0a590002");
  g_autoptr(GBytes) opt_filter6 = hex ("03 00 0014 00 40 0000 fd000089000000000000000000000000");
  PlPcpMapRequest request;
  guint8 buf[PL_PCP_MAX_MESSAGE];
  guint8 options[PL_PCP_MAX_MESSAGE];
  gsize size;
  guint8 *p;

  /* THIRD_PARTY */
  verified_request (&request);
  request.has_third_party = TRUE;
  memcpy (request.third_party_address, third_party, 16);
  memset (buf, SENTINEL, sizeof buf);
  g_assert_cmpuint (pl_pcp_build_map_request (buf, sizeof buf, &request), ==, 80);
  g_assert_cmpmem (buf, 60, g_bytes_get_data (base, NULL), 60);
  g_assert_cmpmem (buf + 60, 20, g_bytes_get_data (opt_third_party, NULL), 20);
  g_assert_cmpuint (buf[80], ==, SENTINEL);

  /* PREFER_FAILURE */
  verified_request (&request);
  request.prefer_failure = TRUE;
  memset (buf, SENTINEL, sizeof buf);
  g_assert_cmpuint (pl_pcp_build_map_request (buf, sizeof buf, &request), ==, 64);
  g_assert_cmpmem (buf + 60, 4, g_bytes_get_data (opt_prefer_failure, NULL), 4);
  g_assert_cmpuint (buf[64], ==, SENTINEL);

  /* FILTER: 10.89.0.2/32 port 5555 */
  verified_request (&request);
  request.n_filters = 1;
  request.filters[0].prefix_length = 128;
  request.filters[0].remote_port = 5555;
  pl_pcp_address_from_ipv4 ((const guint8[]) { 10, 89, 0, 2 }, request.filters[0].remote_address);
  memset (buf, SENTINEL, sizeof buf);
  g_assert_cmpuint (pl_pcp_build_map_request (buf, sizeof buf, &request), ==, 84);
  g_assert_cmpmem (buf + 60, 24, g_bytes_get_data (opt_filter, NULL), 24);
  g_assert_cmpuint (buf[84], ==, SENTINEL);

  /* All together, with the maximum of filters: THIRD_PARTY, PREFER_FAILURE, FILTER x 4. */
  verified_request (&request);
  request.has_third_party = TRUE;
  memcpy (request.third_party_address, third_party, 16);
  request.prefer_failure = TRUE;
  request.n_filters = PL_PCP_MAX_FILTERS;
  for (guint i = 0; i < PL_PCP_MAX_FILTERS; i++)
    {
      if (i % 2 == 0)
        {
          request.filters[i].prefix_length = 128;
          request.filters[i].remote_port = 5555;
          pl_pcp_address_from_ipv4 ((const guint8[]) { 10, 89, 0, 2 },
                                    request.filters[i].remote_address);
        }
      else
        {
          static const guint8 prefix6[16] = { 0xfd, 0, 0, 0x89 };

          request.filters[i].prefix_length = 64;
          request.filters[i].remote_port = 0;
          memcpy (request.filters[i].remote_address, prefix6, 16);
        }
    }
  size = 60 + 20 + 4 + 4 * 24;
  memset (buf, SENTINEL, sizeof buf);
  g_assert_cmpuint (pl_pcp_build_map_request (buf, sizeof buf, &request), ==, size);
  p = buf + 60;
  g_assert_cmpmem (p, 20, g_bytes_get_data (opt_third_party, NULL), 20);
  p += 20;
  g_assert_cmpmem (p, 4, g_bytes_get_data (opt_prefer_failure, NULL), 4);
  p += 4;
  for (guint i = 0; i < PL_PCP_MAX_FILTERS; i++, p += 24)
    g_assert_cmpmem (p, 24, g_bytes_get_data (i % 2 == 0 ? opt_filter : opt_filter6, NULL), 24);
  g_assert_cmpuint (buf[size], ==, SENTINEL);
  memcpy (options, buf + 60, size - 60);

  /* Every shorter buffer: 0, nothing written. */
  for (gsize len = 0; len < size; len++)
    {
      memset (buf, SENTINEL, sizeof buf);
      g_assert_cmpuint (pl_pcp_build_map_request (buf, len, &request), ==, 0);
      for (gsize i = 0; i < sizeof buf; i++)
        g_assert_cmpuint (buf[i], ==, SENTINEL);
    }
  g_assert_cmpuint (pl_pcp_build_map_request (NULL, 0, &request), ==, 0);

  /* The response echoes the options. */
  {
    guint8 assigned[16];
    PlPcpResponse response;

    pl_pcp_address_from_ipv4 (wan_address, assigned);
    memset (buf, SENTINEL, sizeof buf);
    g_assert_cmpuint (pl_pcp_build_map_response (buf, sizeof buf, &request, 0, 120, 7, 40001,
                                                 assigned), ==, size);
    g_assert_cmpmem (buf + 60, size - 60, options, size - 60);
    for (gsize len = 0; len < size; len++)
      g_assert_cmpuint (pl_pcp_build_map_response (buf, len, &request, 0, 120, 7, 40001,
                                                   assigned), ==, 0);

    g_assert_cmpuint (pl_pcp_build_map_response (buf, sizeof buf, &request, 0, 120, 7, 40001,
                                                 assigned), ==, size);
    parse_ok (buf, size, &response);
    g_assert_true (response.prefer_failure);
    g_assert_true (response.has_third_party);
    g_assert_cmpmem (response.third_party_address, 16, third_party, 16);
    g_assert_cmpuint (response.n_filters, ==, PL_PCP_MAX_FILTERS);
    g_assert_cmpmem (response.filters, sizeof response.filters,
                     request.filters, sizeof request.filters);
    g_assert_cmpuint (response.assigned_external_port, ==, 40001);
  }
}

static void
test_build_invalid (void)
{
  PlPcpMapRequest request;
  guint8 buf[PL_PCP_MAX_MESSAGE];

  /* Internal port 0 with a protocol other than 0. */
  verified_request (&request);
  request.internal_port = 0;
  g_assert_cmpuint (pl_pcp_build_map_request (buf, sizeof buf, &request), ==, 0);
  request.protocol = PL_PCP_IANA_UDP;
  g_assert_cmpuint (pl_pcp_build_map_request (buf, sizeof buf, &request), ==, 0);
  /* With protocol 0 (all protocols) it is the "delete all" request. */
  request.protocol = 0;
  request.lifetime = 0;
  g_assert_cmpuint (pl_pcp_build_map_request (buf, sizeof buf, &request), ==, 60);
  g_assert_cmpuint (buf[36], ==, 0);
  g_assert_cmpuint (buf[40], ==, 0);
  g_assert_cmpuint (buf[41], ==, 0);

  /* Too many filters. */
  verified_request (&request);
  request.n_filters = PL_PCP_MAX_FILTERS + 1;
  g_assert_cmpuint (pl_pcp_build_map_request (buf, sizeof buf, &request), ==, 0);
  request.n_filters = G_MAXUINT;
  g_assert_cmpuint (pl_pcp_build_map_request (buf, sizeof buf, &request), ==, 0);
  g_assert_cmpuint (pl_pcp_build_map_response (buf, sizeof buf, &request, 0, 0, 0, 1,
                                               request.client_address), ==, 0);

  /* A prefix length over 128. */
  verified_request (&request);
  request.n_filters = 1;
  request.filters[0].prefix_length = 129;
  g_assert_cmpuint (pl_pcp_build_map_request (buf, sizeof buf, &request), ==, 0);
  g_assert_cmpuint (pl_pcp_build_map_response (buf, sizeof buf, &request, 0, 0, 0, 1,
                                               request.client_address), ==, 0);
  request.filters[0].prefix_length = 128;
  g_assert_cmpuint (pl_pcp_build_map_request (buf, sizeof buf, &request), ==, 84);
  request.filters[0].prefix_length = 0;
  g_assert_cmpuint (pl_pcp_build_map_request (buf, sizeof buf, &request), ==, 84);
}

static void
test_build_announce (void)
{
  g_autoptr(GBytes) request = hex ("02 00 0000 00000000 00000000000000000000ffff0a58000a");
  g_autoptr(GBytes) unsolicited = hex ("02 80 00 00 00000000 0000052b 000000000000000000000000");
  g_autoptr(GBytes) refused = hex ("02 80 00 02 00000000 ffffffff 000000000000000000000000");
  guint8 client[16];
  guint8 buf[PL_PCP_HEADER_SIZE + 4];

  pl_pcp_address_from_ipv4 (lan_host, client);
  memset (buf, SENTINEL, sizeof buf);
  g_assert_cmpuint (pl_pcp_build_announce_request (buf, sizeof buf, client), ==, 24);
  g_assert_cmpmem (buf, 24, g_bytes_get_data (request, NULL), 24);
  g_assert_cmpuint (buf[24], ==, SENTINEL);

  memset (buf, SENTINEL, sizeof buf);
  g_assert_cmpuint (pl_pcp_build_announce_response (buf, sizeof buf, 0, 1323), ==, 24);
  g_assert_cmpmem (buf, 24, g_bytes_get_data (unsolicited, NULL), 24);
  g_assert_cmpuint (buf[24], ==, SENTINEL);

  g_assert_cmpuint (pl_pcp_build_announce_response (buf, sizeof buf, 2, G_MAXUINT32), ==, 24);
  g_assert_cmpmem (buf, 24, g_bytes_get_data (refused, NULL), 24);

  for (gsize len = 0; len < 24; len++)
    {
      memset (buf, SENTINEL, sizeof buf);
      g_assert_cmpuint (pl_pcp_build_announce_request (buf, len, client), ==, 0);
      g_assert_cmpuint (pl_pcp_build_announce_response (buf, len, 0, 1), ==, 0);
      g_assert_cmpuint (pl_pcp_build_error_response (buf, len, 1, 3, 0, 1), ==, 0);
      for (gsize i = 0; i < sizeof buf; i++)
        g_assert_cmpuint (buf[i], ==, SENTINEL);
    }

  /* Both parse back. */
  {
    g_autoptr(GError) error = NULL;
    PlPcpMapRequest parsed;
    PlPcpResponse response;
    guint8 opcode = SENTINEL;

    g_assert_true (parse_request_exact (g_bytes_get_data (request, NULL), 24, &opcode, &parsed,
                                        &error));
    g_assert_no_error (error);
    g_assert_cmpuint (opcode, ==, PL_PCP_OP_ANNOUNCE);
    g_assert_cmpuint (parsed.lifetime, ==, 0);
    g_assert_cmpmem (parsed.client_address, 16, client, 16);

    parse_ok (g_bytes_get_data (unsolicited, NULL), 24, &response);
    g_assert_cmpuint (response.opcode, ==, PL_PCP_OP_ANNOUNCE);
    g_assert_cmpuint (response.result, ==, 0);
    g_assert_cmpuint (response.epoch, ==, 1323);
    g_assert_false (response.has_map_payload);
  }
}

static void
test_build_error_response (void)
{
  g_autoptr(GBytes) no_resources = hex ("02 81 00 08 0000001e 00000029 000000000000000000000000");
  g_autoptr(GBytes) unsupp_opcode = hex ("02 85 00 04 00000000 00000001 000000000000000000000000");
  guint8 buf[32];
  PlPcpResponse response;

  memset (buf, SENTINEL, sizeof buf);
  g_assert_cmpuint (pl_pcp_build_error_response (buf, sizeof buf, PL_PCP_OP_MAP,
                                                 PL_PCP_RESULT_NO_RESOURCES, 30, 41), ==, 24);
  g_assert_cmpmem (buf, 24, g_bytes_get_data (no_resources, NULL), 24);
  g_assert_cmpuint (buf[24], ==, SENTINEL);

  /* A header-only MAP error parses, without a payload. */
  parse_ok (buf, 24, &response);
  g_assert_cmpuint (response.opcode, ==, PL_PCP_OP_MAP);
  g_assert_cmpuint (response.result, ==, PL_PCP_RESULT_NO_RESOURCES);
  g_assert_cmpuint (response.lifetime, ==, 30);
  g_assert_false (response.has_map_payload);
  g_assert_true (pl_pcp_result_means_gone (response.result));

  g_assert_cmpuint (pl_pcp_build_error_response (buf, sizeof buf, 5,
                                                 PL_PCP_RESULT_UNSUPP_OPCODE, 0, 1), ==, 24);
  g_assert_cmpmem (buf, 24, g_bytes_get_data (unsupp_opcode, NULL), 24);

  /* Not an error, or a response opcode: refused. */
  g_assert_cmpuint (pl_pcp_build_error_response (buf, sizeof buf, PL_PCP_OP_MAP, 0, 0, 1), ==, 0);
  g_assert_cmpuint (pl_pcp_build_error_response (buf, sizeof buf, 0x81, 3, 0, 1), ==, 0);
}

/* ---- NAT-PMP downgrade ----------------------------------------------------------------- */

static void
test_downgrade (void)
{
  static const struct
  {
    const char *bytes;
    gboolean    downgrade;
    guint32     epoch;
  } cases[] = {
    { "00 81 0001 000004d2", TRUE, 1234 },    /* to a MAP */
    { "00 80 0001 00000000", TRUE, 0 },       /* to an ANNOUNCE (or the v1 probe) */
    { "00 00 0001 ffffffff", TRUE, G_MAXUINT32 },   /* erratum 3618 form */
    { "00 ff 0001 00000001", TRUE, 1 },
    { "00 81 0000 000004d2", FALSE, 0 },      /* a success */
    { "00 81 0002 000004d2", FALSE, 0 },      /* another result */
    { "00 81 0101 000004d2", FALSE, 0 },      /* result 257 */
    { "00 01 0001 000004d2", FALSE, 0 },      /* a request opcode */
    { "02 81 0001 000004d2", FALSE, 0 },      /* PCP, and too short anyway */
    { "00 81 0001 000004d2 00000000", FALSE, 0 },    /* 12 bytes */
    { "00 81 0001 0000", FALSE, 0 },          /* 6 bytes */
    { "", FALSE, 0 },
    /* miniupnpd's answer to a malformed PCP request (tests/lab/MINIUPNPD.md, item 8) */
    { "00 80 00 03 00000000 00000000 000000000000000000000000", FALSE, 0 },
    { "00 80 00 01 00000000 00000000 000000000000000000000000", FALSE, 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) bytes = hex (cases[i].bytes);
      gsize len = g_bytes_get_size (bytes);
      g_autofree guint8 *copy = len > 0 ? g_memdup2 (g_bytes_get_data (bytes, NULL), len) : NULL;
      guint32 epoch = 0xdeadbeef;

      g_assert_cmpint (pl_pcp_is_natpmp_downgrade (copy, len, &epoch), ==, cases[i].downgrade);
      g_assert_cmpint (pl_pcp_is_natpmp_downgrade (copy, len, NULL), ==, cases[i].downgrade);
      g_assert_cmpuint (epoch, ==, cases[i].downgrade ? cases[i].epoch : 0xdeadbeef);
    }

  /* The 24-byte 00 80 00 03 is not PCP either. */
  {
    g_autoptr(GBytes) bytes = hex ("00 80 00 03 00000000 00000000 000000000000000000000000");

    assert_malformed (g_bytes_get_data (bytes, NULL), 24,
                      "response has version byte 0, PCP is version 2");
  }
}

/* ---- response options ------------------------------------------------------------------ */

/* A valid MAP success with @options (hex) appended. */
static GBytes *
map_response_with (const char *options)
{
  g_autofree char *text = g_strconcat (VERIFIED_RESPONSE, options, NULL);

  return hex (text);
}

static void
test_parse_options (void)
{
  PlPcpResponse response;

  /* THIRD_PARTY */
  {
    g_autoptr(GBytes) b = map_response_with ("01 00 0010 00000000000000000000ffff0a58000b");
    static const guint8 expected[16] = { [10] = 0xff, [11] = 0xff, 10, 88, 0, 11 };

    parse_ok (g_bytes_get_data (b, NULL), g_bytes_get_size (b), &response);
    g_assert_true (response.has_third_party);
    g_assert_cmpmem (response.third_party_address, 16, expected, 16);
    g_assert_false (response.prefer_failure);
  }

  /* PREFER_FAILURE, with a non-zero reserved byte (ignored) */
  {
    g_autoptr(GBytes) b = map_response_with ("02 ff 0000");

    parse_ok (g_bytes_get_data (b, NULL), g_bytes_get_size (b), &response);
    g_assert_true (response.prefer_failure);
    g_assert_false (response.has_third_party);
  }

  /* FILTER, five of them: four kept, the fifth skipped. */
  {
    g_autoptr(GBytes) b = map_response_with ("03 00 0014 00 80 15b3 00000000000000000000ffff0a590002"
                                             "03 00 0014 00 60 0000 00000000000000000000ffff00000000"
                                             "03 00 0014 00 00 0001 00000000000000000000000000000000"
                                             "03 00 0014 00 40 ffff fd000089000000000000000000000000"
                                             "03 00 0014 00 7f 0002 fd000089000000000000000000000001");

    parse_ok (g_bytes_get_data (b, NULL), g_bytes_get_size (b), &response);
    g_assert_cmpuint (response.n_filters, ==, PL_PCP_MAX_FILTERS);
    g_assert_cmpuint (response.filters[0].prefix_length, ==, 128);
    g_assert_cmpuint (response.filters[0].remote_port, ==, 5555);
    g_assert_cmpuint (response.filters[0].remote_address[15], ==, 2);
    g_assert_cmpuint (response.filters[1].prefix_length, ==, 96);
    g_assert_cmpuint (response.filters[2].prefix_length, ==, 0);
    g_assert_cmpuint (response.filters[2].remote_port, ==, 1);
    g_assert_cmpuint (response.filters[3].prefix_length, ==, 64);
    g_assert_cmpuint (response.filters[3].remote_port, ==, 65535);
    g_assert_cmpuint (response.filters[3].remote_address[0], ==, 0xfd);
    g_assert_cmpuint (response.n_ignored_options, ==, 0);
  }

  /* Unknown optional options (128-255) of several lengths, padded: skipped and counted. */
  {
    g_autoptr(GBytes) b = map_response_with ("80 00 0000"
                                             "ff 00 0001 aa000000"
                                             "c8 00 0005 0102030405000000"
                                             "02 00 0000"
                                             "81 00 0008 0102030405060708");

    parse_ok (g_bytes_get_data (b, NULL), g_bytes_get_size (b), &response);
    g_assert_cmpuint (response.n_ignored_options, ==, 4);
    g_assert_true (response.prefer_failure);
  }

  /* Unknown mandatory options (0-127): malformed. */
  {
    g_autoptr(GBytes) b0 = map_response_with ("00 00 0000");
    g_autoptr(GBytes) b4 = map_response_with ("04 00 0004 00000000");
    g_autoptr(GBytes) b127 = map_response_with ("80 00 0000 7f 00 0000");

    assert_malformed (g_bytes_get_data (b0, NULL), g_bytes_get_size (b0),
                      "unknown mandatory option 0 at offset 60 (codes below 128 must be "
                      "understood)");
    assert_malformed (g_bytes_get_data (b4, NULL), g_bytes_get_size (b4),
                      "unknown mandatory option 4 at offset 60 (codes below 128 must be "
                      "understood)");
    assert_malformed (g_bytes_get_data (b127, NULL), g_bytes_get_size (b127),
                      "unknown mandatory option 127 at offset 64 (codes below 128 must be "
                      "understood)");
  }

  /* Known options of the wrong length, or twice. */
  {
    static const struct
    {
      const char *options;
      const char *message;
    } cases[] = {
      { "01 00 000c 000000000000000000000000",
        "option THIRD_PARTY at offset 60 has 12 data bytes, it needs 16" },
      { "02 00 0004 00000000",
        "option PREFER_FAILURE at offset 60 has 4 data bytes, it needs 0" },
      { "03 00 0010 00000000000000000000000000000000",
        "option FILTER at offset 60 has 16 data bytes, it needs 20" },
      { "03 00 0001 00000000",
        "option FILTER at offset 60 has 1 data byte, it needs 20" },
      { "02 00 0000 02 00 0000",
        "option PREFER_FAILURE appears twice (again at offset 64)" },
      { "01 00 0010 00000000000000000000ffff0a58000b 01 00 0010 00000000000000000000ffff0a58000b",
        "option THIRD_PARTY appears twice (again at offset 80)" },
      { "03 00 0014 00 81 0000 00000000000000000000000000000000",
        "option FILTER at offset 60 has prefix length 129, more than 128" },
      { "03 00 0014 00 ff 0000 00000000000000000000000000000000",
        "option FILTER at offset 60 has prefix length 255, more than 128" },
      /* Runs past the end. */
      { "80 00 0004",
        "option 128 at offset 60 has 4 data bytes and runs past the end of the 64-byte "
        "response" },
      { "80 00 0001",
        "option 128 at offset 60 has 1 data byte and runs past the end of the 64-byte "
        "response" },
      { "01 00 0010 0000000000000000",
        "option 1 at offset 60 has 16 data bytes and runs past the end of the 72-byte "
        "response" },
      { "02 00 0000 80 00 ffff 00000000",
        "option 128 at offset 64 has 65535 data bytes and runs past the end of the 72-byte "
        "response" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autoptr(GBytes) b = map_response_with (cases[i].options);

        assert_malformed (g_bytes_get_data (b, NULL), g_bytes_get_size (b), cases[i].message);
      }
  }

  /* Options after an ANNOUNCE header are decoded with the same rules. */
  {
    g_autoptr(GBytes) ok = hex ("02 80 00 00 00000000 00000005 000000000000000000000000"
                                "90 00 0000");
    g_autoptr(GBytes) bad = hex ("02 80 00 00 00000000 00000005 000000000000000000000000"
                                 "05 00 0000");

    parse_ok (g_bytes_get_data (ok, NULL), g_bytes_get_size (ok), &response);
    g_assert_cmpuint (response.n_ignored_options, ==, 1);
    assert_malformed (g_bytes_get_data (bad, NULL), g_bytes_get_size (bad),
                      "unknown mandatory option 5 at offset 24 (codes below 128 must be "
                      "understood)");
  }
}

/* ---- response header rules ------------------------------------------------------------- */

static void
test_parse_header_rules (void)
{
  g_autoptr(GBytes) verified = hex (VERIFIED_RESPONSE);
  guint8 buf[PL_PCP_MAX_MESSAGE + 8];
  PlPcpResponse response;

  memset (buf, 0, sizeof buf);
  memcpy (buf, g_bytes_get_data (verified, NULL), 60);

  assert_malformed (buf, 0, "response is empty");
  assert_malformed (buf, 1, "response is 1 byte, a PCP header needs 24");
  assert_malformed (buf, 23, "response is 23 bytes, a PCP header needs 24");
  assert_malformed (buf, 62, "response is 62 bytes, not a multiple of 4");
  assert_malformed (buf, 1104, "response is 1104 bytes, more than the 1100 PCP allows");

  /* Zero padding up to the maximum is a run of option code 0: malformed, but 1100 bytes of
   * valid optional options are fine. */
  for (gsize off = 60; off < PL_PCP_MAX_MESSAGE; off += 4)
    {
      buf[off] = 0x80;
      buf[off + 1] = 0;
      buf[off + 2] = 0;
      buf[off + 3] = 0;
    }
  parse_ok (buf, PL_PCP_MAX_MESSAGE, &response);
  g_assert_cmpuint (response.n_ignored_options, ==, (PL_PCP_MAX_MESSAGE - 60) / 4);

  buf[0] = 1;
  assert_malformed (buf, 60, "response has version byte 1, PCP is version 2");
  buf[0] = 3;
  assert_malformed (buf, 60, "response has version byte 3, PCP is version 2");
  buf[0] = 2;

  buf[1] = 0x01;
  assert_malformed (buf, 60, "opcode byte 1 is a request, not a response (R bit clear)");
  buf[1] = 0x81;

  /* Reserved bytes are ignored. */
  buf[2] = 0xff;
  for (guint i = 12; i < 24; i++)
    buf[i] = 0xee;
  buf[37] = buf[38] = buf[39] = 0xdd;
  parse_ok (buf, 60, &response);
  g_assert_cmpuint (response.result, ==, 0);
  g_assert_cmpuint (response.protocol, ==, 6);
  g_assert_cmpuint (response.internal_port, ==, 40000);

  /* A MAP SUCCESS needs the payload; an error does not. */
  for (gsize len = 24; len < 60; len += 4)
    {
      g_autofree char *message = g_strdup_printf ("MAP response is %" G_GSIZE_FORMAT " bytes, "
                                                  "a successful one needs 60", len);

      buf[3] = 0;
      assert_malformed (buf, len, message);
      buf[3] = PL_PCP_RESULT_NOT_AUTHORIZED;
      parse_ok (buf, len, &response);
      g_assert_false (response.has_map_payload);
      g_assert_cmpuint (response.result, ==, 2);
      g_assert_cmpuint (response.lifetime, ==, 7200);
      g_assert_cmpuint (response.epoch, ==, 41);
    }
  /* An error with the payload has it. */
  parse_ok (buf, 60, &response);
  g_assert_true (response.has_map_payload);
  g_assert_cmpuint (response.result, ==, 2);

  /* PEER and unknown opcodes: the header only, whatever follows. */
  buf[1] = 0x82;
  buf[60] = 0x05;   /* would be a mandatory option for MAP */
  parse_ok (buf, 64, &response);
  g_assert_cmpuint (response.opcode, ==, PL_PCP_OP_PEER);
  g_assert_false (response.has_map_payload);
  buf[1] = 0xff;
  parse_ok (buf, 24, &response);
  g_assert_cmpuint (response.opcode, ==, 0x7f);
}

/* ---- requests (server side) ------------------------------------------------------------ */

static void
test_parse_request_rules (void)
{
  g_autoptr(GBytes) verified = hex (VERIFIED_REQUEST);
  g_autoptr(GError) error = NULL;
  guint8 buf[PL_PCP_MAX_MESSAGE];
  PlPcpMapRequest request;
  guint8 opcode;

  memset (buf, 0, sizeof buf);
  memcpy (buf, g_bytes_get_data (verified, NULL), 60);

  assert_request_malformed (buf, 0, "request is empty");
  assert_request_malformed (buf, 20, "request is 20 bytes, a PCP header needs 24");
  assert_request_malformed (buf, 62, "request is 62 bytes, not a multiple of 4");
  assert_request_malformed (buf, 56, "MAP request is 56 bytes, it needs 60");

  buf[0] = 3;
  assert_request_malformed (buf, 60, "request has version byte 3, PCP is version 2");
  buf[0] = 0;
  assert_request_malformed (buf, 60, "request has version byte 0, PCP is version 2");
  buf[0] = 2;

  buf[1] = 0x81;
  assert_request_malformed (buf, 60, "opcode byte 129 is a response, not a request (R bit set)");
  buf[1] = 0x01;

  /* Internal port 0 needs protocol 0. */
  buf[40] = buf[41] = 0;
  assert_request_malformed (buf, 60, "MAP request has internal port 0 with protocol 6 (only "
                            "protocol 0 may use port 0)");
  buf[36] = 0;
  g_assert_true (parse_request_exact (buf, 60, &opcode, &request, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (request.protocol, ==, 0);
  g_assert_cmpuint (request.internal_port, ==, 0);
  buf[36] = 6;
  buf[40] = 0x9c;
  buf[41] = 0x40;

  /* Five filters cannot be held: malformed on the server side. */
  for (guint i = 0; i < 5; i++)
    {
      guint8 *p = buf + 60 + i * 24;

      p[0] = PL_PCP_OPTION_FILTER;
      p[3] = 20;
      p[5] = 128;
    }
  g_assert_true (parse_request_exact (buf, 60 + 4 * 24, &opcode, &request, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (request.n_filters, ==, 4);
  assert_request_malformed (buf, 60 + 5 * 24, "more than 4 FILTER options (another at offset "
                            "156)");

  /* Unknown mandatory option, and unknown optional one. */
  buf[60] = 0x7f;
  buf[63] = 0;
  assert_request_malformed (buf, 64, "unknown mandatory option 127 at offset 60 (codes below "
                            "128 must be understood)");
  buf[60] = 0xfe;
  g_assert_true (parse_request_exact (buf, 64, &opcode, &request, &error));
  g_assert_no_error (error);

  /* Other opcodes: TRUE with the header fields, so that a server can answer UNSUPP_OPCODE. */
  for (guint op = 2; op < 128; op++)
    {
      guint8 lan[16];

      buf[1] = (guint8) op;
      memset (&request, SENTINEL, sizeof request);
      opcode = SENTINEL;
      g_assert_true (parse_request_exact (buf, 24, &opcode, &request, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (opcode, ==, op);
      g_assert_cmpuint (request.lifetime, ==, 7200);
      pl_pcp_address_from_ipv4 (lan_host, lan);
      g_assert_cmpmem (request.client_address, 16, lan, 16);
      g_assert_cmpuint (request.n_filters, ==, 0);
      g_assert_false (request.prefer_failure);
    }
}

/* ---- round trips ----------------------------------------------------------------------- */

static void
random_bytes (GRand  *rand,
              guint8 *out,
              gsize   len)
{
  for (gsize i = 0; i < len; i++)
    out[i] = (guint8) g_rand_int_range (rand, 0, 256);
}

static void
random_request (GRand           *rand,
                PlPcpMapRequest *request)
{
  memset (request, 0, sizeof *request);
  request->lifetime = g_rand_boolean (rand) ? g_rand_int (rand) : 0;
  random_bytes (rand, request->client_address, 16);
  random_bytes (rand, request->nonce, PL_PCP_NONCE_SIZE);
  request->protocol = (guint8) g_rand_int_range (rand, 0, 256);
  request->internal_port = (guint16) g_rand_int_range (rand, 1, 65536);
  if (g_rand_int_range (rand, 0, 8) == 0)
    request->protocol = request->internal_port = 0;
  request->suggested_external_port = (guint16) g_rand_int_range (rand, 0, 65536);
  random_bytes (rand, request->suggested_external_address, 16);
  request->prefer_failure = g_rand_boolean (rand);
  request->has_third_party = g_rand_boolean (rand);
  if (request->has_third_party)
    random_bytes (rand, request->third_party_address, 16);
  request->n_filters = (guint) g_rand_int_range (rand, 0, PL_PCP_MAX_FILTERS + 1);
  for (guint i = 0; i < request->n_filters; i++)
    {
      request->filters[i].prefix_length = (guint8) g_rand_int_range (rand, 0, 129);
      request->filters[i].remote_port = (guint16) g_rand_int_range (rand, 0, 65536);
      random_bytes (rand, request->filters[i].remote_address, 16);
    }
}

static void
test_round_trip (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (6887);

  for (guint n = 0; n < 20000; n++)
    {
      g_autoptr(GError) error = NULL;
      PlPcpMapRequest request;
      PlPcpMapRequest parsed;
      PlPcpResponse response;
      guint8 buf[PL_PCP_MAX_MESSAGE];
      guint8 assigned[16];
      guint8 opcode = SENTINEL;
      guint8 result;
      guint32 lifetime;
      guint32 epoch;
      guint16 port;
      gsize size;

      random_request (rand, &request);
      size = pl_pcp_build_map_request (buf, sizeof buf, &request);
      g_assert_cmpuint (size, ==, 60 + (request.has_third_party ? 20 : 0) +
                        (request.prefer_failure ? 4 : 0) + request.n_filters * 24);

      memset (&parsed, SENTINEL, sizeof parsed);
      g_assert_true (parse_request_exact (buf, size, &opcode, &parsed, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (opcode, ==, PL_PCP_OP_MAP);
      assert_requests_equal (&parsed, &request);

      /* The request is not a response. */
      g_assert_false (parse_exact (buf, size, &response, NULL));

      result = (guint8) g_rand_int_range (rand, 0, 256);
      lifetime = g_rand_int (rand);
      epoch = g_rand_int (rand);
      port = (guint16) g_rand_int_range (rand, 0, 65536);
      random_bytes (rand, assigned, 16);
      g_assert_cmpuint (pl_pcp_build_map_response (buf, sizeof buf, &request, result, lifetime,
                                                   epoch, port, assigned), ==, size);
      parse_ok (buf, size, &response);
      g_assert_cmpuint (response.opcode, ==, PL_PCP_OP_MAP);
      g_assert_cmpuint (response.result, ==, result);
      g_assert_cmpuint (response.lifetime, ==, lifetime);
      g_assert_cmpuint (response.epoch, ==, epoch);
      g_assert_true (response.has_map_payload);
      g_assert_cmpmem (response.nonce, PL_PCP_NONCE_SIZE, request.nonce, PL_PCP_NONCE_SIZE);
      g_assert_cmpuint (response.protocol, ==, request.protocol);
      g_assert_cmpuint (response.internal_port, ==, request.internal_port);
      g_assert_cmpuint (response.assigned_external_port, ==, port);
      g_assert_cmpmem (response.assigned_external_address, 16, assigned, 16);
      g_assert_cmpint (response.prefer_failure, ==, request.prefer_failure);
      g_assert_cmpint (response.has_third_party, ==, request.has_third_party);
      if (request.has_third_party)
        g_assert_cmpmem (response.third_party_address, 16, request.third_party_address, 16);
      g_assert_cmpuint (response.n_filters, ==, request.n_filters);
      g_assert_cmpmem (response.filters, request.n_filters * sizeof (PlPcpFilter),
                       request.filters, request.n_filters * sizeof (PlPcpFilter));
      g_assert_cmpuint (response.n_ignored_options, ==, 0);

      /* The response is not a request. */
      g_assert_false (parse_request_exact (buf, size, &opcode, &parsed, NULL));
    }
}

/* ---- malformed input: every length, truncations, random bytes -------------------------- */

/* An independent statement of what pl_pcp_parse_response() accepts (the rules at the top of
 * pl-pcp.c), to compare with on random input. */
static gboolean
reference_accepts (const guint8 *d,
                   gsize         len)
{
  gsize off;
  gboolean pf = FALSE;
  gboolean tp = FALSE;

  if (len < 24 || len > 1100 || len % 4 != 0 || d[0] != 2 || (d[1] & 0x80) == 0)
    return FALSE;

  switch (d[1] & 0x7f)
    {
    case 0:
      off = 24;
      break;
    case 1:
      if (len < 60)
        return d[3] != 0;
      off = 60;
      break;
    default:
      return TRUE;
    }

  while (off < len)
    {
      guint code = d[off];
      gsize length = ((gsize) d[off + 2] << 8) | d[off + 3];
      gsize padded = (length + 3) / 4 * 4;

      if (off + 4 + padded > len)
        return FALSE;
      if (code == 1 && (length != 16 || tp))
        return FALSE;
      if (code == 2 && (length != 0 || pf))
        return FALSE;
      if (code == 3 && (length != 20 || d[off + 5] > 128))
        return FALSE;
      if (code == 0 || (code > 3 && code < 128))
        return FALSE;
      tp = tp || code == 1;
      pf = pf || code == 2;
      off += 4 + padded;
    }

  return TRUE;
}

static void
check_against_reference (const guint8 *data,
                         gsize         len)
{
  g_autoptr(GError) error = NULL;
  PlPcpResponse response;
  gboolean ok;

  memset (&response, SENTINEL, sizeof response);
  ok = parse_exact (data, len, &response, &error);
  g_assert_cmpint (ok, ==, reference_accepts (data, len));

  if (ok)
    {
      g_assert_no_error (error);
      g_assert_cmpuint (response.opcode, ==, data[1] & 0x7f);
      g_assert_cmpuint (response.result, ==, data[3]);
      g_assert_cmpuint (response.n_filters, <=, PL_PCP_MAX_FILTERS);
      g_assert_cmpint (response.has_map_payload, ==, response.opcode == 1 && len >= 60);
      if (response.opcode == PL_PCP_OP_MAP && response.result == 0)
        g_assert_true (response.has_map_payload);
    }
  else
    {
      g_assert_error (error, PL_ERROR, PL_ERROR_MALFORMED_REPLY);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
    }
}

static void
test_parse_every_length (void)
{
  g_autoptr(GBytes) full = map_response_with ("01 00 0010 00000000000000000000ffff0a58000b"
                                              "02 00 0000"
                                              "03 00 0014 00 80 15b3 00000000000000000000ffff0a590002"
                                              "c0 00 0003 01020300");
  const guint8 *valid = g_bytes_get_data (full, NULL);
  gsize valid_len = g_bytes_get_size (full);
  guint8 buf[PL_PCP_MAX_MESSAGE + 1];
  guint n_accepted = 0;

  for (gsize len = 0; len <= PL_PCP_MAX_MESSAGE; len++)
    {
      /* Truncations (and zero extensions) of a valid response with every option. */
      memset (buf, 0, sizeof buf);
      memcpy (buf, valid, MIN (len, valid_len));
      check_against_reference (buf, len);
      if (len <= valid_len && reference_accepts (buf, len))
        n_accepted++;

      /* The same with optional padding options instead of zeros after it. */
      for (gsize off = valid_len; off + 4 <= len; off += 4)
        buf[off] = 0xfe;
      check_against_reference (buf, len);

      /* All 0xff. */
      memset (buf, 0xff, sizeof buf);
      check_against_reference (buf, len);
    }

  /* Only the whole thing and the cuts at option boundaries parse: 60, 80, 84, 108, 116. */
  g_assert_cmpuint (n_accepted, ==, 5);
}

static void
test_parse_random (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261201);
  guint8 buf[PL_PCP_MAX_MESSAGE + 4];
  guint n_accepted = 0;

  for (guint i = 0; i < 200000; i++)
    {
      gsize len = (gsize) g_rand_int_range (rand, 0, PL_PCP_MAX_MESSAGE + 5);

      if (i % 8 == 0)
        len = (gsize) g_rand_int_range (rand, 0, 129);
      random_bytes (rand, buf, len);

      /* Bias towards what gets past the first checks. */
      if (i % 4 != 0)
        len -= len % 4;
      if (len > 0 && i % 4 != 0)
        buf[0] = 2;
      if (len > 1 && i % 2 != 0)
        buf[1] = (guint8) (0x80 | (g_rand_boolean (rand) ? 1 : g_rand_int_range (rand, 0, 4)));
      if (len > 3 && i % 3 == 0)
        buf[3] = 0;
      /* Options with plausible codes and lengths. */
      if (i % 5 == 0)
        for (gsize off = 60; off + 4 <= len; off += 24)
          {
            static const guint8 codes[] = { 1, 2, 3, 0x80, 0xff, 0, 7 };
            static const guint8 lengths[] = { 16, 0, 20, 0, 1, 4 };

            buf[off] = codes[g_rand_int_range (rand, 0, G_N_ELEMENTS (codes))];
            buf[off + 2] = 0;
            buf[off + 3] = lengths[g_rand_int_range (rand, 0, G_N_ELEMENTS (lengths))];
            if (off + 24 <= len)
              memset (buf + off + 4 + buf[off + 3], 0x80, 20 - MIN (buf[off + 3], 20));
          }

      check_against_reference (buf, len);
      if (reference_accepts (buf, len))
        n_accepted++;
    }

  /* The bias works: a good share of inputs gets through. */
  g_assert_cmpuint (n_accepted, >, 1000);
}

/* ---- errors ---------------------------------------------------------------------------- */

static void
test_error_table (void)
{
  static const struct
  {
    guint   result;
    PlError code;
  } known[] = {
    { 1, PL_ERROR_UNSUPPORTED_VERSION },
    { 2, PL_ERROR_NOT_AUTHORIZED },
    { 3, PL_ERROR_MALFORMED_REQUEST },
    { 4, PL_ERROR_UNSUPPORTED_OPCODE },
    { 5, PL_ERROR_UNSUPPORTED_OPTION },
    { 6, PL_ERROR_MALFORMED_OPTION },
    { 7, PL_ERROR_NETWORK_FAILURE },
    { 8, PL_ERROR_OUT_OF_RESOURCES },
    { 9, PL_ERROR_UNSUPPORTED_PROTOCOL },
    { 10, PL_ERROR_QUOTA_EXCEEDED },
    { 11, PL_ERROR_CANNOT_PROVIDE_EXTERNAL },
    { 12, PL_ERROR_ADDRESS_MISMATCH },
    { 13, PL_ERROR_EXCESSIVE_REMOTE_PEERS },
  };
  const char *gateways[] = { GATEWAY, "fe80::88:ff:fe00:1%eth0", "10.0.0.138" };
  g_autoptr(GHashTable) messages = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint results[302];

  for (guint r = 0; r <= 300; r++)
    results[r] = r;
  results[301] = 65535;

  for (gsize g = 0; g < G_N_ELEMENTS (gateways); g++)
    for (gsize i = 0; i < G_N_ELEMENTS (results); i++)
      {
        guint result = results[i];
        g_autoptr(GError) error = pl_pcp_error_new (result, gateways[g]);

        g_assert_nonnull (error);
        g_assert_true (error->domain == PL_ERROR);
        g_assert_nonnull (strstr (error->message, gateways[g]));
        g_assert_true (g_utf8_validate (error->message, -1, NULL));

        if (result >= 1 && result <= 13)
          {
            g_assert_cmpint (error->code, ==, known[result - 1].code);
            g_assert_cmpint (error->code, !=, PL_ERROR_UNKNOWN_RESULT);
            if (g == 0)
              {
                /* Thirteen distinct messages. */
                g_assert_false (g_hash_table_contains (messages, error->message));
                g_hash_table_add (messages, g_strdup (error->message));
              }
          }
        else
          {
            g_autofree char *expected =
              g_strdup_printf ("The router at %s answered with unknown PCP result code %u",
                               gateways[g], result);

            g_assert_cmpint (error->code, ==, PL_ERROR_UNKNOWN_RESULT);
            g_assert_cmpstr (error->message, ==, expected);
          }
      }

  g_assert_cmpuint (g_hash_table_size (messages), ==, 13);

  /* The codes are distinct too. */
  for (gsize i = 0; i < G_N_ELEMENTS (known); i++)
    for (gsize j = i + 1; j < G_N_ELEMENTS (known); j++)
      g_assert_cmpint (known[i].code, !=, known[j].code);
}

static void
test_error_messages (void)
{
  g_autoptr(GError) refused = pl_pcp_error_new (PL_PCP_RESULT_NOT_AUTHORIZED, GATEWAY);
  g_autoptr(GError) mismatch = pl_pcp_error_new (PL_PCP_RESULT_ADDRESS_MISMATCH, GATEWAY);

  g_assert_cmpstr (refused->message, ==,
                   "The router at " GATEWAY " refused: PCP may be switched off in its settings, "
                   "or its rules do not allow this port");
  g_assert_nonnull (strstr (mismatch->message, "another NAT sits between this computer and "
                            "the router"));
}

static void
test_means_gone (void)
{
  for (guint r = 0; r < 256; r++)
    g_assert_cmpint (pl_pcp_result_means_gone ((guint8) r), ==, r == PL_PCP_RESULT_NO_RESOURCES);
}

/* ---- renewal timing -------------------------------------------------------------------- */

static void
test_renew_windows (void)
{
  /* RFC 6887 section 11.2.1, L = 120 s: 60-75, 90-97.5, 105-108.75, 112.5-114.375. The
   * fifth window would start 3.75 s after the fourth: no fifth attempt. */
  static const struct
  {
    guint   attempt;
    guint64 start_ms;
    guint64 end_ms;
  } windows[] = {
    { 1, 60000, 75000 },
    { 2, 90000, 97500 },
    { 3, 105000, 108750 },
    { 4, 112500, 114375 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (windows); i++)
    {
      guint64 previous = 0;

      g_assert_cmpuint (pl_pcp_renew_delay_ms (120, windows[i].attempt, 0.0), ==,
                        windows[i].start_ms);
      g_assert_cmpuint (pl_pcp_renew_delay_ms (120, windows[i].attempt, 1.0), ==,
                        windows[i].end_ms);
      g_assert_cmpuint (pl_pcp_renew_delay_ms (120, windows[i].attempt, 0.5), ==,
                        (windows[i].start_ms + windows[i].end_ms) / 2);
      /* Clamped outside [0, 1]; NaN is 0. */
      g_assert_cmpuint (pl_pcp_renew_delay_ms (120, windows[i].attempt, -3.0), ==,
                        windows[i].start_ms);
      g_assert_cmpuint (pl_pcp_renew_delay_ms (120, windows[i].attempt, 7.0), ==,
                        windows[i].end_ms);
      g_assert_cmpuint (pl_pcp_renew_delay_ms (120, windows[i].attempt, NAN), ==,
                        windows[i].start_ms);

      /* Monotonic in uniform01. */
      for (guint k = 0; k <= 100; k++)
        {
          guint64 d = pl_pcp_renew_delay_ms (120, windows[i].attempt, k / 100.0);

          g_assert_cmpuint (d, >=, previous);
          g_assert_cmpuint (d, >=, windows[i].start_ms);
          g_assert_cmpuint (d, <=, windows[i].end_ms);
          previous = d;
        }
    }

  g_assert_cmpuint (pl_pcp_renew_delay_ms (120, 5, 0.0), ==, G_MAXUINT64);
  g_assert_cmpuint (pl_pcp_renew_delay_ms (120, 6, 0.5), ==, G_MAXUINT64);
  g_assert_cmpuint (pl_pcp_renew_delay_ms (120, 0, 0.5), ==, G_MAXUINT64);
  g_assert_cmpuint (pl_pcp_renew_delay_ms (120, G_MAXUINT, 0.5), ==, G_MAXUINT64);
}

static void
test_renew_limits (void)
{
  /* The 4 s rule at its edge: 2^-k L >= 4 s. L = 8: one attempt at 4-5 s; L = 7: none. */
  g_assert_cmpuint (pl_pcp_renew_delay_ms (8, 1, 0.0), ==, 4000);
  g_assert_cmpuint (pl_pcp_renew_delay_ms (8, 1, 1.0), ==, 5000);
  g_assert_cmpuint (pl_pcp_renew_delay_ms (8, 2, 0.0), ==, G_MAXUINT64);
  g_assert_cmpuint (pl_pcp_renew_delay_ms (7, 1, 0.0), ==, G_MAXUINT64);
  g_assert_cmpuint (pl_pcp_renew_delay_ms (0, 1, 0.0), ==, G_MAXUINT64);
  g_assert_cmpuint (pl_pcp_renew_delay_ms (1, 1, 0.0), ==, G_MAXUINT64);
  /* L = 16: attempts 1 (8-10 s) and 2 (12-13 s). */
  g_assert_cmpuint (pl_pcp_renew_delay_ms (16, 2, 0.0), ==, 12000);
  g_assert_cmpuint (pl_pcp_renew_delay_ms (16, 2, 1.0), ==, 13000);
  g_assert_cmpuint (pl_pcp_renew_delay_ms (16, 3, 0.0), ==, G_MAXUINT64);

  /* A day (miniupnpd's maximum): attempts until 2^-k * 86400 < 4, i.e. k <= 14. */
  for (guint k = 1; k <= 14; k++)
    {
      guint64 start = pl_pcp_renew_delay_ms (86400, k, 0.0);
      guint64 end = pl_pcp_renew_delay_ms (86400, k, 1.0);

      g_assert_cmpuint (start, <, end);
      g_assert_cmpuint (end, <, G_GUINT64_CONSTANT (86400000));
      if (k > 1)
        g_assert_cmpuint (start - pl_pcp_renew_delay_ms (86400, k - 1, 0.0), >=, 4000);
    }
  g_assert_cmpuint (pl_pcp_renew_delay_ms (86400, 15, 0.0), ==, G_MAXUINT64);
  g_assert_cmpuint (pl_pcp_renew_delay_ms (86400, 1, 0.0), ==, 43200000);
  g_assert_cmpuint (pl_pcp_renew_delay_ms (86400, 1, 1.0), ==, 54000000);

  /* The largest lifetime: no overflow, still before expiry. */
  {
    guint64 l_ms = (guint64) G_MAXUINT32 * 1000;
    guint k;

    for (k = 1; pl_pcp_renew_delay_ms (G_MAXUINT32, k, 1.0) != G_MAXUINT64; k++)
      {
        g_assert_cmpuint (pl_pcp_renew_delay_ms (G_MAXUINT32, k, 1.0), <, l_ms);
        g_assert_cmpuint (pl_pcp_renew_delay_ms (G_MAXUINT32, k, 0.0), >=, l_ms / 2);
      }
    g_assert_cmpuint (k, ==, 30);   /* 2^-29 * (2^32 - 1) s >= 4 s > 2^-30 * (2^32 - 1) s */
    g_assert_cmpuint (pl_pcp_renew_delay_ms (G_MAXUINT32, 1, 0.0), ==, l_ms / 2);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/pl/pcp/addresses", test_addresses);
  g_test_add_func ("/pl/pcp/protocol-to-iana/invalid", test_protocol_to_iana_invalid);

  g_test_add_func ("/pl/pcp/build/verified", test_build_verified);
  g_test_add_func ("/pl/pcp/build/options", test_build_options);
  g_test_add_func ("/pl/pcp/build/invalid", test_build_invalid);
  g_test_add_func ("/pl/pcp/build/announce", test_build_announce);
  g_test_add_func ("/pl/pcp/build/error-response", test_build_error_response);

  g_test_add_func ("/pl/pcp/parse/verified", test_parse_verified);
  g_test_add_func ("/pl/pcp/parse/downgrade", test_downgrade);
  g_test_add_func ("/pl/pcp/parse/options", test_parse_options);
  g_test_add_func ("/pl/pcp/parse/header-rules", test_parse_header_rules);
  g_test_add_func ("/pl/pcp/parse/every-length", test_parse_every_length);
  g_test_add_func ("/pl/pcp/parse/random", test_parse_random);

  g_test_add_func ("/pl/pcp/parse-request/verified", test_parse_request_verified);
  g_test_add_func ("/pl/pcp/parse-request/rules", test_parse_request_rules);
  g_test_add_func ("/pl/pcp/round-trip", test_round_trip);

  g_test_add_func ("/pl/pcp/error/table", test_error_table);
  g_test_add_func ("/pl/pcp/error/messages", test_error_messages);
  g_test_add_func ("/pl/pcp/error/means-gone", test_means_gone);

  g_test_add_func ("/pl/pcp/renew/windows", test_renew_windows);
  g_test_add_func ("/pl/pcp/renew/limits", test_renew_limits);

  return g_test_run ();
}
