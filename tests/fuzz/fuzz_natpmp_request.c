/* fuzz_natpmp_request.c: fuzz target for pl_natpmp_parse_request()
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The server side of the codec (the fake gateway and the lab read requests with it). An
 * accepted map request must decode the fields of RFC 6886 section 3.3 and, rebuilt
 * with the client's builder, give back the same bytes.
 */

#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "pl-error.h"
#include "pl-natpmp.h"

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(GError) error = NULL;
  PlNatpmpRequest request;
  gboolean ok;

  fuzz_set_logging_func ();

  memset (&request, 0xa5, sizeof request);
  ok = pl_natpmp_parse_request (data, size, &request, &error);

  if (!ok)
    {
      g_assert_error (error, PL_ERROR, PL_ERROR_MALFORMED_REPLY);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_assert_cmpint (pl_natpmp_parse_request (data, size, &request, NULL), ==, FALSE);
      return 0;
    }

  g_assert_no_error (error);
  g_assert_cmpuint (size, >=, PL_NATPMP_EXTERNAL_ADDRESS_REQUEST_SIZE);
  g_assert_cmpuint (request.version, ==, data[0]);
  g_assert_cmpuint (request.opcode, ==, data[1]);
  g_assert_cmpuint (request.opcode & 0x80, ==, 0);

  if (request.version == PL_NATPMP_VERSION &&
      (request.opcode == PL_NATPMP_OP_MAP_UDP || request.opcode == PL_NATPMP_OP_MAP_TCP))
    {
      guint8 rebuilt[PL_NATPMP_MAP_REQUEST_SIZE];
      gsize n;

      g_assert_cmpuint (size, >=, PL_NATPMP_MAP_REQUEST_SIZE);

      /* Only requests the builder accepts: a delete must not suggest a port (PMP-24). */
      if (request.lifetime != 0 || request.external_port == 0)
        {
          n = pl_natpmp_build_map_request (rebuilt, sizeof rebuilt, (PlProtocol) request.opcode,
                                           request.internal_port, request.external_port,
                                           request.lifetime);
          g_assert_cmpuint (n, ==, PL_NATPMP_MAP_REQUEST_SIZE);
          /* Bytes 2-3 are reserved: the builder writes 0, the parser ignores them. */
          g_assert_cmpmem (rebuilt, 2, data, 2);
          g_assert_cmpmem (rebuilt + 4, 8, data + 4, 8);
        }
    }

  return 0;
}
