/* fuzz_pcp_response.c: fuzz target for pl_pcp_parse_response()
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Beyond "no crash, no read past @size" (AddressSanitizer), every accepted response must agree
 * with the wire layout of RFC 6887 (header, MAP payload), and a MAP response whose options are
 * all ones this codec builds must re-encode to the very same bytes. Every rejection must be
 * one PL_ERROR_MALFORMED_REPLY with a readable message. The same input also goes through the
 * NAT-PMP downgrade check and the server-side request parser.
 */

#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "pl-error.h"
#include "pl-pcp.h"

static guint16
be16 (const guint8 *p)
{
  return (guint16) ((p[0] << 8) | p[1]);
}

static guint32
be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

/* TRUE when the options from @offset are exactly what put_options() writes for @response:
 * THIRD_PARTY, PREFER_FAILURE, then the filters, reserved bytes zero, nothing else. */
static gboolean
is_canonical (const guint8        *data,
              size_t               size,
              const PlPcpResponse *response)
{
  if (response->n_ignored_options != 0)
    return FALSE;
  if (data[2] != 0)
    return FALSE;
  for (guint i = 12; i < 24; i++)
    if (data[i] != 0)
      return FALSE;
  if (data[37] != 0 || data[38] != 0 || data[39] != 0)
    return FALSE;

  /* The expected size; a fifth filter would have been dropped. */
  return size == PL_PCP_MAP_SIZE + (response->has_third_party ? 20 : 0) +
                 (response->prefer_failure ? 4 : 0) + response->n_filters * 24;
}

/* TRUE when the options are in the order put_options() writes them, with every reserved byte
 * zero: then re-encoding must give the very same bytes. */
static gboolean
in_our_order (const guint8        *data,
              size_t               size,
              const PlPcpResponse *response)
{
  size_t off = PL_PCP_MAP_SIZE;

  if (response->has_third_party)
    {
      if (data[off] != PL_PCP_OPTION_THIRD_PARTY || data[off + 1] != 0)
        return FALSE;
      off += 20;
    }
  if (response->prefer_failure)
    {
      if (data[off] != PL_PCP_OPTION_PREFER_FAILURE || data[off + 1] != 0)
        return FALSE;
      off += 4;
    }
  for (guint i = 0; i < response->n_filters; i++)
    {
      if (data[off] != PL_PCP_OPTION_FILTER || data[off + 1] != 0 || data[off + 4] != 0)
        return FALSE;
      off += 24;
    }

  return off == size;
}

static void
check_reencode (const guint8        *data,
                size_t               size,
                const PlPcpResponse *response)
{
  PlPcpMapRequest request;
  guint8 buf[PL_PCP_MAX_MESSAGE];
  gsize built;

  memset (&request, 0, sizeof request);
  memcpy (request.nonce, response->nonce, PL_PCP_NONCE_SIZE);
  request.protocol = response->protocol;
  request.internal_port = response->internal_port;
  request.prefer_failure = response->prefer_failure;
  request.has_third_party = response->has_third_party;
  memcpy (request.third_party_address, response->third_party_address, 16);
  request.n_filters = response->n_filters;
  memcpy (request.filters, response->filters, sizeof request.filters);

  built = pl_pcp_build_map_response (buf, sizeof buf, &request, response->result,
                                     response->lifetime, response->epoch,
                                     response->assigned_external_port,
                                     response->assigned_external_address);
  g_assert_cmpuint (built, >=, PL_PCP_MAP_SIZE);

  if (is_canonical (data, size, response))
    {
      /* Option order and the FILTER reserved byte are free on the wire: compare the part
       * before the options always, the whole when the order matches ours. */
      g_assert_cmpuint (built, ==, size);
      g_assert_cmpmem (buf, PL_PCP_MAP_SIZE, data, PL_PCP_MAP_SIZE);
      if (in_our_order (data, size, response))
        g_assert_cmpmem (buf, built, data, size);
      else
        {
          PlPcpResponse again;

          /* Different bytes must still mean the same thing. */
          g_assert_true (pl_pcp_parse_response (buf, built, &again, NULL));
          g_assert_cmpint (again.prefer_failure, ==, response->prefer_failure);
          g_assert_cmpint (again.has_third_party, ==, response->has_third_party);
          g_assert_cmpuint (again.n_filters, ==, response->n_filters);
        }
    }
  else
    {
      PlPcpResponse again;

      /* Whatever was dropped or ignored, the re-encoding parses to the same fields. */
      g_assert_true (pl_pcp_parse_response (buf, built, &again, NULL));
      g_assert_cmpuint (again.result, ==, response->result);
      g_assert_cmpuint (again.lifetime, ==, response->lifetime);
      g_assert_cmpuint (again.epoch, ==, response->epoch);
      g_assert_cmpuint (again.assigned_external_port, ==, response->assigned_external_port);
      g_assert_cmpuint (again.n_filters, ==, response->n_filters);
      g_assert_cmpuint (again.n_ignored_options, ==, 0);
    }
}

static void
check_accepted (const guint8        *data,
                size_t               size,
                const PlPcpResponse *response)
{
  g_assert_cmpuint (size, >=, PL_PCP_HEADER_SIZE);
  g_assert_cmpuint (size, <=, PL_PCP_MAX_MESSAGE);
  g_assert_cmpuint (size % 4, ==, 0);
  g_assert_cmpuint (data[0], ==, PL_PCP_PROTOCOL_VERSION);
  g_assert_cmpuint (data[1] & PL_PCP_RESPONSE_BIT, !=, 0);
  g_assert_cmpuint (response->opcode, ==, data[1] & ~PL_PCP_RESPONSE_BIT);
  g_assert_cmpuint (response->result, ==, data[3]);
  g_assert_cmpuint (response->lifetime, ==, be32 (data + 4));
  g_assert_cmpuint (response->epoch, ==, be32 (data + 8));
  g_assert_cmpuint (response->n_filters, <=, PL_PCP_MAX_FILTERS);
  for (guint i = 0; i < response->n_filters; i++)
    g_assert_cmpuint (response->filters[i].prefix_length, <=, 128);

  if (response->has_map_payload)
    {
      g_assert_cmpuint (response->opcode, ==, PL_PCP_OP_MAP);
      g_assert_cmpuint (size, >=, PL_PCP_MAP_SIZE);
      g_assert_cmpmem (response->nonce, PL_PCP_NONCE_SIZE, data + 24, PL_PCP_NONCE_SIZE);
      g_assert_cmpuint (response->protocol, ==, data[36]);
      g_assert_cmpuint (response->internal_port, ==, be16 (data + 40));
      g_assert_cmpuint (response->assigned_external_port, ==, be16 (data + 42));
      g_assert_cmpmem (response->assigned_external_address, 16, data + 44, 16);
      (void) pl_pcp_address_is_ipv4 (response->assigned_external_address, NULL);
      check_reencode (data, size, response);
    }
  else
    {
      /* Without a payload: never a MAP success. */
      if (response->opcode == PL_PCP_OP_MAP)
        {
          g_assert_cmpuint (response->result, !=, PL_PCP_RESULT_SUCCESS);
          g_assert_cmpuint (size, <, PL_PCP_MAP_SIZE);
        }
      g_assert_cmpuint (response->protocol, ==, 0);
      g_assert_cmpuint (response->internal_port, ==, 0);
    }

  if (response->opcode != PL_PCP_OP_MAP && response->opcode != PL_PCP_OP_ANNOUNCE)
    {
      /* Other opcodes: the header only. */
      g_assert_false (response->prefer_failure);
      g_assert_false (response->has_third_party);
      g_assert_cmpuint (response->n_filters, ==, 0);
      g_assert_cmpuint (response->n_ignored_options, ==, 0);
    }

  /* What a client does next with a non-zero result: turn it into an error. */
  if (response->result != PL_PCP_RESULT_SUCCESS)
    {
      g_autoptr(GError) result_error = pl_pcp_error_new (response->result, "192.0.2.1");

      g_assert_nonnull (result_error);
      g_assert_true (result_error->domain == PL_ERROR);
      if (response->result <= PL_PCP_RESULT_EXCESSIVE_REMOTE_PEERS)
        g_assert_cmpint (result_error->code, !=, PL_ERROR_UNKNOWN_RESULT);
      else
        g_assert_cmpint (result_error->code, ==, PL_ERROR_UNKNOWN_RESULT);
      g_assert_true (g_utf8_validate (result_error->message, -1, NULL));
      (void) pl_pcp_result_means_gone (response->result);
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) request_error = NULL;
  PlPcpResponse response;
  PlPcpResponse quiet_response;
  PlPcpMapRequest request;
  guint32 epoch = 0;
  guint8 opcode = 0;
  gboolean ok;

  fuzz_set_logging_func ();

  memset (&response, 0xa5, sizeof response);
  ok = pl_pcp_parse_response (data, size, &response, &error);

  if (ok)
    {
      g_assert_no_error (error);
      check_accepted (data, size, &response);
    }
  else
    {
      g_assert_error (error, PL_ERROR, PL_ERROR_MALFORMED_REPLY);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_assert_cmpuint (strlen (error->message), >, 0);
    }

  /* The same answer without an error location (the client's hot path). */
  memset (&quiet_response, 0x5a, sizeof quiet_response);
  g_assert_cmpint (pl_pcp_parse_response (data, size, &quiet_response, NULL), ==, ok);
  if (ok)
    g_assert_cmpmem (&quiet_response, sizeof quiet_response, &response, sizeof response);

  /* A downgrade is never a PCP response. */
  if (pl_pcp_is_natpmp_downgrade (data, size, &epoch))
    {
      g_assert_false (ok);
      g_assert_cmpuint (size, ==, 8);
      g_assert_cmpuint (epoch, ==, be32 (data + 4));
    }

  /* The server side never accepts what the client side accepts (the R bit decides). */
  if (pl_pcp_parse_request (data, size, &opcode, &request, &request_error))
    {
      g_assert_false (ok);
      g_assert_cmpuint (opcode, <, 128);
      g_assert_cmpuint (request.n_filters, <=, PL_PCP_MAX_FILTERS);
    }
  else
    {
      g_assert_error (request_error, PL_ERROR, PL_ERROR_MALFORMED_REPLY);
    }

  return 0;
}
