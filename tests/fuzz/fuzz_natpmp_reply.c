/* fuzz_natpmp_reply.c: fuzz target for pl_natpmp_parse_reply()
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Beyond "no crash, no read past @size" (AddressSanitizer), every accepted reply must agree
 * with the wire layout of RFC 6886 sections 3.2-3.5 (RFC 6887 section 7.2 for a PCP header),
 * and every rejection must be one PL_ERROR_MALFORMED_REPLY with a readable message.
 */

#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "pl-error.h"
#include "pl-natpmp.h"

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

static void
check_accepted (const guint8        *data,
                size_t               size,
                const PlNatpmpReply *reply)
{
  g_assert_cmpuint (size, >=, PL_NATPMP_SHORT_REPLY_SIZE);
  g_assert_cmpuint (reply->version, ==, data[0]);
  g_assert_cmpuint (reply->opcode, ==, data[1]);

  switch (reply->kind)
    {
    case PL_NATPMP_PACKET_EXTERNAL_ADDRESS:
      g_assert_cmpuint (data[0], ==, PL_NATPMP_VERSION);
      g_assert_cmpuint (data[1], ==, 128);
      g_assert_cmpuint (size, >=, PL_NATPMP_EXTERNAL_ADDRESS_REPLY_SIZE);
      g_assert_cmpuint (reply->result, ==, be16 (data + 2));
      g_assert_cmpuint (reply->epoch, ==, be32 (data + 4));
      g_assert_cmpmem (reply->external_address, 4, data + 8, 4);
      break;

    case PL_NATPMP_PACKET_MAP:
      g_assert_cmpuint (data[0], ==, PL_NATPMP_VERSION);
      g_assert_true (data[1] == 129 || data[1] == 130);
      g_assert_cmpuint (size, >=, PL_NATPMP_MAP_REPLY_SIZE);
      g_assert_cmpuint (reply->result, ==, be16 (data + 2));
      g_assert_cmpuint (reply->epoch, ==, be32 (data + 4));
      g_assert_cmpuint (reply->internal_port, ==, be16 (data + 8));
      g_assert_cmpuint (reply->external_port, ==, be16 (data + 10));
      g_assert_cmpuint (reply->lifetime, ==, be32 (data + 12));
      break;

    case PL_NATPMP_PACKET_SHORT_ERROR:
      /* An error without the full body: never a success, always version 0. */
      g_assert_cmpuint (data[0], ==, PL_NATPMP_VERSION);
      g_assert_cmpuint (reply->result, !=, PL_NATPMP_RESULT_SUCCESS);
      g_assert_cmpuint (reply->result, ==, be16 (data + 2));
      g_assert_cmpuint (reply->epoch, ==, be32 (data + 4));
      if ((data[1] & 0x80) == 0)
        {
          /* Only the erratum-3618 form of Unsupported Version has a request opcode. */
          g_assert_cmpuint (data[1], ==, 0);
          g_assert_cmpuint (reply->result, ==, PL_NATPMP_RESULT_UNSUPPORTED_VERSION);
        }
      break;

    case PL_NATPMP_PACKET_PCP:
      g_assert_cmpuint (data[0], ==, PL_PCP_VERSION);
      g_assert_cmpuint (size, >=, PL_PCP_ANNOUNCE_SIZE);
      g_assert_cmpuint (size, <=, PL_NATPMP_MAX_PACKET);
      g_assert_cmpuint (size % 4, ==, 0);
      g_assert_cmpuint (data[1] & 0x80, !=, 0);
      g_assert_cmpuint (reply->result, ==, data[3]);
      g_assert_cmpuint (reply->lifetime, ==, be32 (data + 4));
      g_assert_cmpuint (reply->epoch, ==, be32 (data + 8));
      break;

    default:
      g_assert_not_reached ();
    }

  /* What a client does next with a non-zero result: turn it into an error. */
  if (reply->result != PL_NATPMP_RESULT_SUCCESS)
    {
      g_autoptr(GError) result_error = pl_natpmp_error_new (reply->result, "192.0.2.1");

      g_assert_nonnull (result_error);
      g_assert_true (result_error->domain == PL_ERROR);
      if (reply->result <= PL_NATPMP_RESULT_UNSUPPORTED_OPCODE)
        g_assert_cmpint (result_error->code, !=, PL_ERROR_UNKNOWN_RESULT);
      else
        g_assert_cmpint (result_error->code, ==, PL_ERROR_UNKNOWN_RESULT);
      g_assert_true (g_utf8_validate (result_error->message, -1, NULL));
    }

  if (reply->kind == PL_NATPMP_PACKET_EXTERNAL_ADDRESS)
    (void) pl_natpmp_address_is_double_nat (reply->external_address);
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(GError) error = NULL;
  PlNatpmpReply reply;
  PlNatpmpReply quiet_reply;
  gboolean ok;

  fuzz_set_logging_func ();

  memset (&reply, 0xa5, sizeof reply);
  ok = pl_natpmp_parse_reply (data, size, &reply, &error);

  if (ok)
    {
      g_assert_no_error (error);
      check_accepted (data, size, &reply);
    }
  else
    {
      g_assert_error (error, PL_ERROR, PL_ERROR_MALFORMED_REPLY);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_assert_cmpuint (strlen (error->message), >, 0);
    }

  /* The same answer without an error location (the client's hot path). */
  memset (&quiet_reply, 0x5a, sizeof quiet_reply);
  g_assert_cmpint (pl_natpmp_parse_reply (data, size, &quiet_reply, NULL), ==, ok);
  if (ok)
    g_assert_cmpmem (&quiet_reply, sizeof quiet_reply, &reply, sizeof reply);

  return 0;
}
