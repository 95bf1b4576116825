/* test-natpmp.c: the pure NAT-PMP codec
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "pl-core.h"

#define SENTINEL 0xa5

/* Parse @len bytes of @data from an exact-size heap copy, so that valgrind or ASan catch any
 * read past the end. */
static gboolean
parse_exact (const guint8   *data,
             gsize           len,
             PlNatpmpReply  *out,
             GError        **error)
{
  g_autofree guint8 *copy = len > 0 ? g_memdup2 (data, len) : NULL;

  return pl_natpmp_parse_reply (copy, len, out, error);
}

static gboolean
parse_request_exact (const guint8     *data,
                     gsize             len,
                     PlNatpmpRequest  *out,
                     GError          **error)
{
  g_autofree guint8 *copy = len > 0 ? g_memdup2 (data, len) : NULL;

  return pl_natpmp_parse_request (copy, len, out, error);
}

/* Asserts that @data[0..len) is rejected as malformed and that @out was not touched. */
static void
assert_malformed (const guint8 *data,
                  gsize         len)
{
  g_autoptr(GError) error = NULL;
  PlNatpmpReply reply;
  PlNatpmpReply untouched;

  memset (&reply, SENTINEL, sizeof reply);
  memcpy (&untouched, &reply, sizeof reply);

  g_assert_false (parse_exact (data, len, &reply, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_MALFORMED_REPLY);
  g_assert_nonnull (error->message);
  g_assert_cmpstr (error->message, !=, "");
  g_assert_cmpmem (&reply, sizeof reply, &untouched, sizeof untouched);
}

static void
assert_malformed_message (const guint8 *data,
                          gsize         len,
                          const char   *message)
{
  g_autoptr(GError) error = NULL;
  PlNatpmpReply reply;

  g_assert_false (parse_exact (data, len, &reply, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_MALFORMED_REPLY);
  g_assert_cmpstr (error->message, ==, message);
}

static void
parse_ok (const guint8  *data,
          gsize          len,
          PlNatpmpReply *reply)
{
  g_autoptr(GError) error = NULL;

  memset (reply, SENTINEL, sizeof *reply);
  g_assert_true (parse_exact (data, len, reply, &error));
  g_assert_no_error (error);
}

/* ---- protocol names ---------------------------------------------------------------------- */

static void
test_protocol_to_string (void)
{
  g_assert_cmpstr (pl_protocol_to_string (PL_PROTOCOL_UDP), ==, "udp");
  g_assert_cmpstr (pl_protocol_to_string (PL_PROTOCOL_TCP), ==, "tcp");
  g_assert_cmpint (PL_PROTOCOL_UDP, ==, PL_NATPMP_OP_MAP_UDP);
  g_assert_cmpint (PL_PROTOCOL_TCP, ==, PL_NATPMP_OP_MAP_TCP);
}

static void
test_protocol_to_string_invalid (void)
{
  if (g_test_subprocess ())
    {
      g_assert_null (pl_protocol_to_string ((PlProtocol) 17));
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*");
}

/* ---- builders: exact bytes --------------------------------------------------------------- */

static void
test_build_external_address_request (void)
{
  static const guint8 expected[] = { 0x00, 0x00 };
  guint8 buf[PL_NATPMP_MAX_PACKET];

  memset (buf, SENTINEL, sizeof buf);
  g_assert_cmpuint (pl_natpmp_build_external_address_request (buf, sizeof buf), ==, 2);
  g_assert_cmpmem (buf, 2, expected, sizeof expected);
  g_assert_cmpuint (buf[2], ==, SENTINEL);

  g_assert_cmpuint (PL_NATPMP_EXTERNAL_ADDRESS_REQUEST_SIZE, ==, 2);
}

static void
test_build_map_request (void)
{
  /* F-02 */
  static const guint8 f02[] = {
    0x00, 0x01, 0x00, 0x00, 0x9c, 0x40, 0x9c, 0x40, 0x00, 0x00, 0x1c, 0x20,
  };
  static const guint8 tcp[] = {
    0x00, 0x02, 0x00, 0x00, 0x1f, 0x90, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff,
  };
  static const guint8 low[] = {
    0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x51, 0x80,
  };
  guint8 buf[PL_NATPMP_MAP_REQUEST_SIZE + 4];

  memset (buf, SENTINEL, sizeof buf);
  g_assert_cmpuint (pl_natpmp_build_map_request (buf, sizeof buf, PL_PROTOCOL_UDP,
                                                 40000, 40000, 7200), ==, 12);
  g_assert_cmpmem (buf, 12, f02, sizeof f02);
  g_assert_cmpuint (buf[12], ==, SENTINEL);

  g_assert_cmpuint (pl_natpmp_build_map_request (buf, 12, PL_PROTOCOL_TCP,
                                                 8080, 65534, G_MAXUINT32), ==, 12);
  g_assert_cmpmem (buf, 12, tcp, sizeof tcp);

  g_assert_cmpuint (pl_natpmp_build_map_request (buf, 12, PL_PROTOCOL_UDP,
                                                 1, 256, 86400), ==, 12);
  g_assert_cmpmem (buf, 12, low, sizeof low);
}

static void
test_build_unmap_request (void)
{
  static const guint8 udp[] = {
    0x00, 0x01, 0x00, 0x00, 0x1f, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  static const guint8 tcp[] = {
    0x00, 0x02, 0x00, 0x00, 0x9c, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  guint8 buf[12];

  memset (buf, SENTINEL, sizeof buf);
  g_assert_cmpuint (pl_natpmp_build_unmap_request (buf, sizeof buf, PL_PROTOCOL_UDP, 8080),
                    ==, 12);
  g_assert_cmpmem (buf, 12, udp, sizeof udp);

  memset (buf, SENTINEL, sizeof buf);
  g_assert_cmpuint (pl_natpmp_build_unmap_request (buf, sizeof buf, PL_PROTOCOL_TCP, 40000),
                    ==, 12);
  g_assert_cmpmem (buf, 12, tcp, sizeof tcp);

  /* A delete is a map request with lifetime 0 and suggested port 0. */
  memset (buf, SENTINEL, sizeof buf);
  g_assert_cmpuint (pl_natpmp_build_map_request (buf, sizeof buf, PL_PROTOCOL_UDP, 8080, 0, 0),
                    ==, 12);
  g_assert_cmpmem (buf, 12, udp, sizeof udp);
}

static void
test_build_unmap_all_request (void)
{
  /* F-18 */
  static const guint8 udp[] = {
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  static const guint8 tcp[] = {
    0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  guint8 buf[12];

  memset (buf, SENTINEL, sizeof buf);
  g_assert_cmpuint (pl_natpmp_build_unmap_all_request (buf, sizeof buf, PL_PROTOCOL_UDP), ==, 12);
  g_assert_cmpmem (buf, 12, udp, sizeof udp);

  memset (buf, SENTINEL, sizeof buf);
  g_assert_cmpuint (pl_natpmp_build_unmap_all_request (buf, sizeof buf, PL_PROTOCOL_TCP), ==, 12);
  g_assert_cmpmem (buf, 12, tcp, sizeof tcp);
}

static void
test_build_external_address_reply (void)
{
  static const guint8 address[4] = { 203, 0, 113, 7 };
  static const guint8 success[] = {
    0x00, 0x80, 0x00, 0x00, 0x00, 0x01, 0xe2, 0x40, 0xcb, 0x00, 0x71, 0x07,
  };
  static const guint8 failure[] = {
    0x00, 0x80, 0x00, 0x03, 0xff, 0xff, 0xff, 0xf0, 0xcb, 0x00, 0x71, 0x07,
  };
  guint8 buf[16];

  memset (buf, SENTINEL, sizeof buf);
  g_assert_cmpuint (pl_natpmp_build_external_address_reply (buf, sizeof buf, 0, 123456, address),
                    ==, 12);
  g_assert_cmpmem (buf, 12, success, sizeof success);
  g_assert_cmpuint (buf[12], ==, SENTINEL);

  g_assert_cmpuint (pl_natpmp_build_external_address_reply (buf, 12, 3, 0xfffffff0, address),
                    ==, 12);
  g_assert_cmpmem (buf, 12, failure, sizeof failure);
}

static void
test_build_map_reply (void)
{
  static const guint8 udp[] = {
    0x00, 0x81, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8,
    0x9c, 0x40, 0x9c, 0x41, 0x00, 0x00, 0x1c, 0x20,
  };
  static const guint8 tcp_error[] = {
    0x00, 0x82, 0x00, 0x02, 0x12, 0x34, 0x56, 0x78,
    0x00, 0x50, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  guint8 buf[20];

  memset (buf, SENTINEL, sizeof buf);
  g_assert_cmpuint (pl_natpmp_build_map_reply (buf, sizeof buf, PL_PROTOCOL_UDP, 0, 1000,
                                               40000, 40001, 7200), ==, 16);
  g_assert_cmpmem (buf, 16, udp, sizeof udp);
  g_assert_cmpuint (buf[16], ==, SENTINEL);

  g_assert_cmpuint (pl_natpmp_build_map_reply (buf, 16, PL_PROTOCOL_TCP, 2, 0x12345678,
                                               80, 0, 0), ==, 16);
  g_assert_cmpmem (buf, 16, tcp_error, sizeof tcp_error);
}

static void
test_build_short_reply (void)
{
  static const guint8 form0[] = { 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x2a };
  static const guint8 form128[] = { 0x00, 0x80, 0x00, 0x01, 0x00, 0x00, 0x00, 0x2a };
  static const guint8 form129[] = { 0x00, 0x81, 0x00, 0x01, 0x00, 0x00, 0x00, 0x2a };
  static const guint8 opcode[] = { 0x00, 0x83, 0x00, 0x05, 0x80, 0x00, 0x00, 0x01 };
  guint8 buf[12];

  memset (buf, SENTINEL, sizeof buf);
  g_assert_cmpuint (pl_natpmp_build_short_reply (buf, sizeof buf, 0, 1, 42), ==, 8);
  g_assert_cmpmem (buf, 8, form0, sizeof form0);
  g_assert_cmpuint (buf[8], ==, SENTINEL);

  g_assert_cmpuint (pl_natpmp_build_short_reply (buf, 8, 128, 1, 42), ==, 8);
  g_assert_cmpmem (buf, 8, form128, sizeof form128);

  g_assert_cmpuint (pl_natpmp_build_short_reply (buf, 8, 129, 1, 42), ==, 8);
  g_assert_cmpmem (buf, 8, form129, sizeof form129);

  g_assert_cmpuint (pl_natpmp_build_short_reply (buf, 8, 131, 5, 0x80000001), ==, 8);
  g_assert_cmpmem (buf, 8, opcode, sizeof opcode);
}

static void
test_build_pcp_announce (void)
{
  static const guint8 expected[24] = {
    0x02, 0x80, 0x00, 0x00,   /* version 2, R + ANNOUNCE, reserved, result 0 */
    0x00, 0x00, 0x00, 0x00,   /* lifetime 0 */
    0xff, 0xff, 0xff, 0xf0,   /* epoch */
    /* 12 reserved zero bytes */
  };
  guint8 buf[28];

  memset (buf, SENTINEL, sizeof buf);
  g_assert_cmpuint (pl_natpmp_build_pcp_announce (buf, sizeof buf, 0xfffffff0), ==, 24);
  g_assert_cmpmem (buf, 24, expected, sizeof expected);
  g_assert_cmpuint (buf[24], ==, SENTINEL);
}

/* Every builder returns 0 and writes nothing when the buffer is one byte (or more) short. */
static void
test_build_too_small (void)
{
  static const guint8 address[4] = { 198, 51, 100, 1 };
  guint8 buf[32];

  for (gsize len = 0; len < 24; len++)
    {
      gsize n;

      memset (buf, SENTINEL, sizeof buf);
      g_test_message ("buffer of %" G_GSIZE_FORMAT, len);

      n = pl_natpmp_build_external_address_request (buf, len);
      g_assert_cmpuint (n, ==, len >= 2 ? 2 : 0);
      memset (buf, SENTINEL, sizeof buf);

      n = pl_natpmp_build_map_request (buf, len, PL_PROTOCOL_UDP, 40000, 40000, 7200);
      g_assert_cmpuint (n, ==, len >= 12 ? 12 : 0);
      if (n == 0)
        for (gsize i = 0; i < sizeof buf; i++)
          g_assert_cmpuint (buf[i], ==, SENTINEL);
      memset (buf, SENTINEL, sizeof buf);

      n = pl_natpmp_build_unmap_request (buf, len, PL_PROTOCOL_TCP, 40000);
      g_assert_cmpuint (n, ==, len >= 12 ? 12 : 0);
      if (n == 0)
        for (gsize i = 0; i < sizeof buf; i++)
          g_assert_cmpuint (buf[i], ==, SENTINEL);
      memset (buf, SENTINEL, sizeof buf);

      n = pl_natpmp_build_unmap_all_request (buf, len, PL_PROTOCOL_UDP);
      g_assert_cmpuint (n, ==, len >= 12 ? 12 : 0);
      if (n == 0)
        for (gsize i = 0; i < sizeof buf; i++)
          g_assert_cmpuint (buf[i], ==, SENTINEL);
      memset (buf, SENTINEL, sizeof buf);

      n = pl_natpmp_build_external_address_reply (buf, len, 0, 1, address);
      g_assert_cmpuint (n, ==, len >= 12 ? 12 : 0);
      if (n == 0)
        for (gsize i = 0; i < sizeof buf; i++)
          g_assert_cmpuint (buf[i], ==, SENTINEL);
      memset (buf, SENTINEL, sizeof buf);

      n = pl_natpmp_build_map_reply (buf, len, PL_PROTOCOL_UDP, 0, 1, 2, 3, 4);
      g_assert_cmpuint (n, ==, len >= 16 ? 16 : 0);
      if (n == 0)
        for (gsize i = 0; i < sizeof buf; i++)
          g_assert_cmpuint (buf[i], ==, SENTINEL);
      memset (buf, SENTINEL, sizeof buf);

      n = pl_natpmp_build_short_reply (buf, len, 128, 1, 1);
      g_assert_cmpuint (n, ==, len >= 8 ? 8 : 0);
      if (n == 0)
        for (gsize i = 0; i < sizeof buf; i++)
          g_assert_cmpuint (buf[i], ==, SENTINEL);
      memset (buf, SENTINEL, sizeof buf);

      n = pl_natpmp_build_pcp_announce (buf, len, 1);
      g_assert_cmpuint (n, ==, len >= 24 ? 24 : 0);
      if (n == 0)
        for (gsize i = 0; i < sizeof buf; i++)
          g_assert_cmpuint (buf[i], ==, SENTINEL);
    }

  /* No buffer at all. */
  g_assert_cmpuint (pl_natpmp_build_external_address_request (NULL, 0), ==, 0);
  g_assert_cmpuint (pl_natpmp_build_map_request (NULL, 0, PL_PROTOCOL_UDP, 1, 1, 1), ==, 0);
  g_assert_cmpuint (pl_natpmp_build_pcp_announce (NULL, 0, 1), ==, 0);
}

static void
test_build_delete_with_port (void)
{
  if (g_test_subprocess ())
    {
      guint8 buf[12];

      /* Deleting (lifetime 0) with a suggested port is a programming error (PMP-24). */
      g_assert_cmpuint (pl_natpmp_build_map_request (buf, sizeof buf, PL_PROTOCOL_UDP,
                                                     8080, 8080, 0), ==, 0);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*suggested_external_port == 0*");
}

static void
test_build_bad_protocol (void)
{
  if (g_test_subprocess ())
    {
      guint8 buf[16];

      g_assert_cmpuint (pl_natpmp_build_map_request (buf, sizeof buf, (PlProtocol) 6,
                                                     8080, 8080, 60), ==, 0);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*protocol_is_valid*");
}

/* ---- parsing: round trips ---------------------------------------------------------------- */

static void
test_parse_external_address (void)
{
  static const guint8 address[4] = { 203, 0, 113, 7 };
  static const guint8 zero[4] = { 0, 0, 0, 0 };
  guint8 buf[12];
  PlNatpmpReply reply;

  g_assert_cmpuint (pl_natpmp_build_external_address_reply (buf, sizeof buf, 0, 1000, address),
                    ==, 12);
  parse_ok (buf, 12, &reply);
  g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_EXTERNAL_ADDRESS);
  g_assert_cmpuint (reply.version, ==, 0);
  g_assert_cmpuint (reply.opcode, ==, 128);
  g_assert_cmpuint (reply.result, ==, 0);
  g_assert_cmpuint (reply.epoch, ==, 1000);
  /* a.b.c.d as on the wire, no swapping */
  g_assert_cmpmem (reply.external_address, 4, address, 4);
  g_assert_cmpuint (reply.external_address[0], ==, 203);
  g_assert_cmpuint (reply.external_address[3], ==, 7);

  /* A success carrying 0.0.0.0 stays parseable: the client decides (PMP-11). */
  g_assert_cmpuint (pl_natpmp_build_external_address_reply (buf, sizeof buf, 0, 5, zero), ==, 12);
  parse_ok (buf, 12, &reply);
  g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_EXTERNAL_ADDRESS);
  g_assert_cmpuint (reply.result, ==, 0);
  g_assert_cmpmem (reply.external_address, 4, zero, 4);

  /* A well-formed error is TRUE; the caller turns the result into an error. */
  g_assert_cmpuint (pl_natpmp_build_external_address_reply (buf, sizeof buf, 3, 7, address),
                    ==, 12);
  parse_ok (buf, 12, &reply);
  g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_EXTERNAL_ADDRESS);
  g_assert_cmpuint (reply.result, ==, 3);
  g_assert_cmpuint (reply.epoch, ==, 7);

  /* Unknown result codes are well-formed too. */
  g_assert_cmpuint (pl_natpmp_build_external_address_reply (buf, sizeof buf, 0xbeef, 7, address),
                    ==, 12);
  parse_ok (buf, 12, &reply);
  g_assert_cmpuint (reply.result, ==, 0xbeef);
}

static void
test_parse_map (void)
{
  static const PlProtocol protocols[] = { PL_PROTOCOL_UDP, PL_PROTOCOL_TCP };
  guint8 buf[16];
  PlNatpmpReply reply;

  for (gsize i = 0; i < G_N_ELEMENTS (protocols); i++)
    {
      g_assert_cmpuint (pl_natpmp_build_map_reply (buf, sizeof buf, protocols[i], 0, 99,
                                                   40000, 50001, 3600), ==, 16);
      parse_ok (buf, 16, &reply);
      g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_MAP);
      g_assert_cmpuint (reply.version, ==, 0);
      g_assert_cmpuint (reply.opcode, ==, 128 + protocols[i]);
      g_assert_cmpuint (reply.result, ==, 0);
      g_assert_cmpuint (reply.epoch, ==, 99);
      g_assert_cmpuint (reply.internal_port, ==, 40000);
      g_assert_cmpuint (reply.external_port, ==, 50001);
      g_assert_cmpuint (reply.lifetime, ==, 3600);
    }

  /* Extremes survive. */
  g_assert_cmpuint (pl_natpmp_build_map_reply (buf, sizeof buf, PL_PROTOCOL_TCP, 0xffff,
                                               G_MAXUINT32, 65535, 65535, G_MAXUINT32), ==, 16);
  parse_ok (buf, 16, &reply);
  g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_MAP);
  g_assert_cmpuint (reply.result, ==, 0xffff);
  g_assert_cmpuint (reply.epoch, ==, G_MAXUINT32);
  g_assert_cmpuint (reply.internal_port, ==, 65535);
  g_assert_cmpuint (reply.external_port, ==, 65535);
  g_assert_cmpuint (reply.lifetime, ==, G_MAXUINT32);

  /* Delete reply: external port 0, lifetime 0, internal port echoed (0 for delete-all). */
  g_assert_cmpuint (pl_natpmp_build_map_reply (buf, sizeof buf, PL_PROTOCOL_UDP, 0, 5,
                                               0, 0, 0), ==, 16);
  parse_ok (buf, 16, &reply);
  g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_MAP);
  g_assert_cmpuint (reply.internal_port, ==, 0);
  g_assert_cmpuint (reply.external_port, ==, 0);
  g_assert_cmpuint (reply.lifetime, ==, 0);

  /* Error with miniupnpd-style garbage in the port and lifetime fields: still a MAP. */
  g_assert_cmpuint (pl_natpmp_build_map_reply (buf, sizeof buf, PL_PROTOCOL_UDP, 2, 5,
                                               80, 80, 7200), ==, 16);
  parse_ok (buf, 16, &reply);
  g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_MAP);
  g_assert_cmpuint (reply.result, ==, 2);
  g_assert_cmpuint (reply.internal_port, ==, 80);
}

/* F-26: epochs are unsigned 32-bit big-endian. */
static void
test_parse_epoch_unsigned (void)
{
  static const guint8 address[4] = { 1, 2, 3, 4 };
  static const guint8 raw[12] = {
    0x00, 0x80, 0x00, 0x00, 0xff, 0xff, 0xff, 0xf0, 0x01, 0x02, 0x03, 0x04,
  };
  guint8 buf[24];
  PlNatpmpReply reply;

  parse_ok (raw, sizeof raw, &reply);
  g_assert_cmpuint (reply.epoch, ==, 0xfffffff0u);
  g_assert_cmpuint (reply.epoch, ==, 4294967280u);
  g_assert_cmpuint (reply.epoch, >, 3);

  g_assert_cmpuint (pl_natpmp_build_external_address_reply (buf, sizeof buf, 0, 0xfffffff0,
                                                            address), ==, 12);
  parse_ok (buf, 12, &reply);
  g_assert_cmpuint (reply.epoch, ==, 0xfffffff0u);

  g_assert_cmpuint (pl_natpmp_build_map_reply (buf, sizeof buf, PL_PROTOCOL_UDP, 0, 0xfffffff0,
                                               1, 1, 1), ==, 16);
  parse_ok (buf, 16, &reply);
  g_assert_cmpuint (reply.epoch, ==, 0xfffffff0u);

  g_assert_cmpuint (pl_natpmp_build_short_reply (buf, sizeof buf, 128, 1, 0xfffffff0), ==, 8);
  parse_ok (buf, 8, &reply);
  g_assert_cmpuint (reply.epoch, ==, 0xfffffff0u);

  g_assert_cmpuint (pl_natpmp_build_pcp_announce (buf, sizeof buf, 0xfffffff0), ==, 24);
  parse_ok (buf, 24, &reply);
  g_assert_cmpuint (reply.epoch, ==, 0xfffffff0u);

  /* Byte order: 0x01020304, not 0x04030201. */
  g_assert_cmpuint (pl_natpmp_build_short_reply (buf, sizeof buf, 128, 1, 0x01020304), ==, 8);
  g_assert_cmpuint (buf[4], ==, 0x01);
  g_assert_cmpuint (buf[7], ==, 0x04);
  parse_ok (buf, 8, &reply);
  g_assert_cmpuint (reply.epoch, ==, 0x01020304u);
}

/* PMP-29: Unsupported Version with opcode byte 0, 128 or 128 + request opcode. */
static void
test_parse_unsupported_version_forms (void)
{
  static const guint8 forms[][8] = {
    { 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00 },
    { 0x00, 0x80, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00 },
    { 0x00, 0x81, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00 },
    { 0x00, 0x82, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (forms); i++)
    {
      PlNatpmpReply reply;

      g_test_message ("form with opcode %u", forms[i][1]);
      parse_ok (forms[i], 8, &reply);
      g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_SHORT_ERROR);
      g_assert_cmpuint (reply.version, ==, 0);
      g_assert_cmpuint (reply.opcode, ==, forms[i][1]);
      g_assert_cmpuint (reply.result, ==, PL_NATPMP_RESULT_UNSUPPORTED_VERSION);
      g_assert_cmpuint (reply.epoch, ==, 256);
    }

  /* Truncated forms are malformed. */
  for (gsize i = 0; i < G_N_ELEMENTS (forms); i++)
    for (gsize len = 0; len < 8; len++)
      assert_malformed (forms[i], len);

  /* Built by the codec, parsed back. */
  for (guint opcode = 0; opcode < 256; opcode += 128)
    {
      guint8 buf[8];
      PlNatpmpReply reply;

      g_assert_cmpuint (pl_natpmp_build_short_reply (buf, sizeof buf, (guint8) opcode, 1, 9),
                        ==, 8);
      parse_ok (buf, 8, &reply);
      g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_SHORT_ERROR);
      g_assert_cmpuint (reply.result, ==, 1);
    }
}

static void
test_parse_unsupported_opcode (void)
{
  static const guint8 echo[8] = { 0x00, 0x83, 0x00, 0x05, 0x00, 0x00, 0x00, 0x10 };
  static const guint8 map[8] = { 0x00, 0x81, 0x00, 0x05, 0x00, 0x00, 0x00, 0x10 };
  static const guint8 request[8] = { 0x00, 0x03, 0x00, 0x05, 0x00, 0x00, 0x00, 0x10 };
  PlNatpmpReply reply;

  parse_ok (echo, sizeof echo, &reply);
  g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_SHORT_ERROR);
  g_assert_cmpuint (reply.opcode, ==, 0x83);
  g_assert_cmpuint (reply.result, ==, 5);
  g_assert_cmpuint (reply.epoch, ==, 16);

  parse_ok (map, sizeof map, &reply);
  g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_SHORT_ERROR);
  g_assert_cmpuint (reply.opcode, ==, 0x81);
  g_assert_cmpuint (reply.result, ==, 5);

  /* Only Unsupported Version may come without the response bit. */
  assert_malformed_message (request, sizeof request, "opcode 3 is a request, not a reply");
}

/* F-16, PMP-15: a 24-byte PCP ANNOUNCE is not a 12-byte NAT-PMP announcement. */
static void
test_parse_pcp_announce (void)
{
  static const guint8 address[4] = { 203, 0, 113, 7 };
  guint8 pcp[PL_NATPMP_MAX_PACKET + 8];
  guint8 natpmp[12];
  PlNatpmpReply reply;

  g_assert_cmpuint (pl_natpmp_build_pcp_announce (pcp, sizeof pcp, 0x0a000001), ==, 24);
  parse_ok (pcp, 24, &reply);
  g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_PCP);
  g_assert_cmpint (reply.kind, !=, PL_NATPMP_PACKET_EXTERNAL_ADDRESS);
  g_assert_cmpuint (reply.version, ==, 2);
  g_assert_cmpuint (reply.opcode, ==, 0x80);
  g_assert_cmpuint (reply.result, ==, 0);
  g_assert_cmpuint (reply.lifetime, ==, 0);
  g_assert_cmpuint (reply.epoch, ==, 0x0a000001);

  g_assert_cmpuint (pl_natpmp_build_external_address_reply (natpmp, sizeof natpmp, 0, 0x0a000001,
                                                            address), ==, 12);
  parse_ok (natpmp, 12, &reply);
  g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_EXTERNAL_ADDRESS);
  g_assert_cmpmem (reply.external_address, 4, address, 4);

  /* The PCP ANNOUNCE cut to 12 bytes must not pass for an announcement (its epoch would be
   * taken for the address): every length below 24 is malformed. */
  for (gsize len = 0; len < 24; len++)
    assert_malformed (pcp, len);

  /* PCP length rules: a multiple of 4, at most 1100 bytes. */
  memset (pcp + 24, 0, sizeof pcp - 24);
  for (gsize len = 24; len <= sizeof pcp; len++)
    {
      g_test_message ("PCP packet of %" G_GSIZE_FORMAT, len);
      if (len % 4 == 0 && len <= PL_NATPMP_MAX_PACKET)
        {
          parse_ok (pcp, len, &reply);
          g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_PCP);
          g_assert_cmpuint (reply.epoch, ==, 0x0a000001);
        }
      else
        assert_malformed (pcp, len);
    }

  /* A PCP request (R bit clear) is not a reply. */
  pcp[1] = 0x00;
  assert_malformed_message (pcp, 24, "PCP opcode 0 is a request, not a response (R bit clear)");
  pcp[1] = 0x01;
  assert_malformed (pcp, 60);
}

/* A PCP-only server answering a NAT-PMP request: version 2, result 1 (RFC 6887 Appendix A). */
static void
test_parse_pcp_response (void)
{
  guint8 pcp[60] = { 0, };
  PlNatpmpReply reply;

  pcp[0] = 2;
  pcp[1] = 0x81;
  pcp[3] = 1;
  pcp[4] = 0x00; pcp[5] = 0x00; pcp[6] = 0x07; pcp[7] = 0x08;   /* lifetime 1800 */
  pcp[8] = 0x80; pcp[9] = 0x00; pcp[10] = 0x00; pcp[11] = 0x02; /* epoch */

  parse_ok (pcp, 24, &reply);
  g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_PCP);
  g_assert_cmpuint (reply.version, ==, 2);
  g_assert_cmpuint (reply.opcode, ==, 0x81);
  g_assert_cmpuint (reply.result, ==, 1);
  g_assert_cmpuint (reply.lifetime, ==, 1800);
  g_assert_cmpuint (reply.epoch, ==, 0x80000002u);

  parse_ok (pcp, 60, &reply);
  g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_PCP);
  g_assert_cmpuint (reply.result, ==, 1);
}

/* ---- parsing: malformed inputs ----------------------------------------------------------- */

typedef struct
{
  const char        *name;
  guint8             bytes[24];
  gsize              size;        /* the reply's natural size */
  gsize              min_ok;      /* shortest accepted length */
  PlNatpmpPacketKind kind;        /* the kind from min_ok on */
  gboolean           short_ok;    /* lengths 8..min_ok-1 are a SHORT_ERROR */
  gsize              full_at;     /* when non-zero: from this length on, the kind is full_kind */
  PlNatpmpPacketKind full_kind;
} ReplyTemplate;

/* Each template padded with a recognisable tail, so that longer lengths test PMP-41. */
static const ReplyTemplate templates[] = {
  { "external address success",
    { 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0xcb, 0x00, 0x71, 0x07,
      0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee },
    12, 12, PL_NATPMP_PACKET_EXTERNAL_ADDRESS, FALSE, 0, 0 },
  { "external address failure",
    { 0x00, 0x80, 0x00, 0x03, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00,
      0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee },
    12, 12, PL_NATPMP_PACKET_EXTERNAL_ADDRESS, TRUE, 0, 0 },
  { "map udp success",
    { 0x00, 0x81, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x9c, 0x40, 0x9c, 0x40,
      0x00, 0x00, 0x1c, 0x20, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee },
    16, 16, PL_NATPMP_PACKET_MAP, FALSE, 0, 0 },
  { "map tcp success",
    { 0x00, 0x82, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x1f, 0x90, 0x1f, 0x90,
      0x00, 0x00, 0x00, 0x3c, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee },
    16, 16, PL_NATPMP_PACKET_MAP, FALSE, 0, 0 },
  { "map udp refused",
    { 0x00, 0x81, 0x00, 0x02, 0x00, 0x00, 0x10, 0x00, 0x00, 0x50, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee },
    16, 16, PL_NATPMP_PACKET_MAP, TRUE, 0, 0 },
  { "unsupported version, opcode 0",
    { 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x10, 0x00,
      0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee },
    8, 8, PL_NATPMP_PACKET_SHORT_ERROR, FALSE, 0, 0 },
  /* Padded to 12 bytes or more, these are indistinguishable from (and parse as) the full
   * reply of their opcode, carrying the same non-zero result. */
  { "unsupported version, opcode 128",
    { 0x00, 0x80, 0x00, 0x01, 0x00, 0x00, 0x10, 0x00,
      0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee },
    8, 8, PL_NATPMP_PACKET_SHORT_ERROR, FALSE, 12, PL_NATPMP_PACKET_EXTERNAL_ADDRESS },
  { "unsupported version, opcode 129",
    { 0x00, 0x81, 0x00, 0x01, 0x00, 0x00, 0x10, 0x00,
      0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee },
    8, 8, PL_NATPMP_PACKET_SHORT_ERROR, FALSE, 16, PL_NATPMP_PACKET_MAP },
  { "unsupported opcode echo",
    { 0x00, 0x85, 0x00, 0x05, 0x00, 0x00, 0x10, 0x00,
      0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee },
    8, 8, PL_NATPMP_PACKET_SHORT_ERROR, FALSE, 0, 0 },
};

static PlNatpmpPacketKind
template_kind (const ReplyTemplate *tpl,
               gsize                len)
{
  if (tpl->full_at != 0 && len >= tpl->full_at)
    return tpl->full_kind;
  return tpl->kind;
}

/* Every length 0..24 of every reply kind: truncations are malformed (or, for error replies
 * of 8 bytes and more, a short error), and longer datagrams are accepted with the tail
 * ignored (PMP-41). */
static void
test_parse_every_length (void)
{
  for (gsize t = 0; t < G_N_ELEMENTS (templates); t++)
    {
      const ReplyTemplate *tpl = &templates[t];

      for (gsize len = 0; len <= sizeof tpl->bytes; len++)
        {
          PlNatpmpReply reply;

          g_test_message ("%s, %" G_GSIZE_FORMAT " bytes", tpl->name, len);

          if (len >= tpl->min_ok)
            {
              PlNatpmpPacketKind kind = template_kind (tpl, len);

              parse_ok (tpl->bytes, len, &reply);
              g_assert_cmpint (reply.kind, ==, kind);
              g_assert_cmpuint (reply.version, ==, 0);
              g_assert_cmpuint (reply.opcode, ==, tpl->bytes[1]);
              g_assert_cmpuint (reply.result, ==, (tpl->bytes[2] << 8) | tpl->bytes[3]);
              g_assert_cmpuint (reply.epoch, ==, 4096);
              if (kind == PL_NATPMP_PACKET_EXTERNAL_ADDRESS)
                g_assert_cmpmem (reply.external_address, 4, tpl->bytes + 8, 4);
              if (kind == PL_NATPMP_PACKET_MAP)
                {
                  g_assert_cmpuint (reply.internal_port, ==,
                                    (tpl->bytes[8] << 8) | tpl->bytes[9]);
                  g_assert_cmpuint (reply.external_port, ==,
                                    (tpl->bytes[10] << 8) | tpl->bytes[11]);
                  g_assert_cmpuint (reply.lifetime, ==,
                                    ((guint32) tpl->bytes[12] << 24) | (tpl->bytes[13] << 16) |
                                    (tpl->bytes[14] << 8) | tpl->bytes[15]);
                }
            }
          else if (tpl->short_ok && len >= PL_NATPMP_SHORT_REPLY_SIZE)
            {
              parse_ok (tpl->bytes, len, &reply);
              g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_SHORT_ERROR);
              g_assert_cmpuint (reply.result, ==, (tpl->bytes[2] << 8) | tpl->bytes[3]);
              g_assert_cmpuint (reply.epoch, ==, 4096);
            }
          else
            {
              assert_malformed (tpl->bytes, len);
            }
        }
    }
}

/* Every version byte 0..255 on every reply kind, at its natural size and at 24 bytes. */
static void
test_parse_every_version (void)
{
  for (gsize t = 0; t < G_N_ELEMENTS (templates); t++)
    for (guint version = 0; version < 256; version++)
      {
        guint8 bytes[24];
        const gsize lengths[] = { templates[t].size, sizeof bytes };

        memcpy (bytes, templates[t].bytes, sizeof bytes);
        bytes[0] = (guint8) version;

        for (gsize l = 0; l < G_N_ELEMENTS (lengths); l++)
          {
            gsize len = lengths[l];
            PlNatpmpReply reply;

            if (version == 0)
              {
                parse_ok (bytes, len, &reply);
                g_assert_cmpint (reply.kind, ==, template_kind (&templates[t], len));
              }
            else if (version == 2 && len == 24 && (bytes[1] & 0x80) != 0)
              {
                /* A valid PCP header shape: kind PCP, never a NAT-PMP kind. */
                parse_ok (bytes, len, &reply);
                g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_PCP);
                g_assert_cmpuint (reply.result, ==, bytes[3]);
              }
            else if (version == 2)
              {
                assert_malformed (bytes, len);
              }
            else
              {
                g_autofree char *message = g_strdup_printf ("unsupported version byte %u",
                                                            version);
                assert_malformed_message (bytes, len, message);
              }
          }
      }
}

/* Every opcode byte on a version-0 datagram, with a success (16 bytes) and with an error
 * result (8 bytes). */
static void
test_parse_every_opcode (void)
{
  for (guint opcode = 0; opcode < 256; opcode++)
    {
      guint8 success[16] = { 0x00, (guint8) opcode, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
                             0xc0, 0x00, 0x02, 0x01, 0x00, 0x00, 0x0e, 0x10 };
      guint8 error1[8] = { 0x00, (guint8) opcode, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01 };
      guint8 error5[8] = { 0x00, (guint8) opcode, 0x00, 0x05, 0x00, 0x00, 0x00, 0x01 };
      PlNatpmpReply reply;

      g_test_message ("opcode %u", opcode);

      /* success, 16 bytes */
      if (opcode == 128)
        {
          parse_ok (success, sizeof success, &reply);
          g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_EXTERNAL_ADDRESS);
        }
      else if (opcode == 129 || opcode == 130)
        {
          parse_ok (success, sizeof success, &reply);
          g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_MAP);
          g_assert_cmpuint (reply.lifetime, ==, 3600);
        }
      else if (opcode < 128)
        {
          g_autofree char *message = g_strdup_printf ("opcode %u is a request, not a reply",
                                                      opcode);
          assert_malformed_message (success, sizeof success, message);
        }
      else
        {
          assert_malformed (success, sizeof success);
        }

      /* result 1 (Unsupported Version), 8 bytes: opcode 0 and every response opcode */
      if (opcode == 0 || opcode >= 128)
        {
          parse_ok (error1, sizeof error1, &reply);
          g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_SHORT_ERROR);
          g_assert_cmpuint (reply.result, ==, 1);
          g_assert_cmpuint (reply.opcode, ==, opcode);
        }
      else
        {
          assert_malformed (error1, sizeof error1);
        }

      /* result 5, 8 bytes: only with the response bit */
      if (opcode >= 128)
        {
          parse_ok (error5, sizeof error5, &reply);
          g_assert_cmpint (reply.kind, ==, PL_NATPMP_PACKET_SHORT_ERROR);
          g_assert_cmpuint (reply.result, ==, 5);
        }
      else
        {
          assert_malformed (error5, sizeof error5);
        }
    }
}

static void
test_parse_messages (void)
{
  static const guint8 map[16] = { 0x00, 0x81, 0x00, 0x00, 0, 0, 0, 1, 0, 80, 0, 80, 0, 0, 0, 60 };
  static const guint8 address[12] = { 0x00, 0x80, 0x00, 0x00, 0, 0, 0, 1, 1, 2, 3, 4 };
  static const guint8 version1[16] = { 0x01, 0x81, 0x00, 0x00 };
  static const guint8 request[12] = {
    0x00, 0x01, 0x00, 0x00, 0x9c, 0x40, 0x9c, 0x40, 0x00, 0x00, 0x1c, 0x20,
  };
  static const guint8 odd[8] = { 0x00, 0x90, 0x00, 0x00, 0, 0, 0, 1 };
  static const guint8 pcp[24] = { 0x02, 0x81 };

  assert_malformed_message (map, 0, "reply is empty");
  assert_malformed_message (map, 1, "reply is 1 byte, a NAT-PMP reply needs at least 8");
  assert_malformed_message (map, 7, "reply is 7 bytes, a map reply needs 16");
  assert_malformed_message (map, 15, "reply is 15 bytes, a map reply needs 16");
  assert_malformed_message (address, 11, "reply is 11 bytes, an external address reply needs 12");
  assert_malformed_message (address, 3, "reply is 3 bytes, an external address reply needs 12");
  assert_malformed_message (version1, 16, "unsupported version byte 1");
  assert_malformed_message (request, 12, "opcode 1 is a request, not a reply");
  assert_malformed_message (request, 2, "opcode 1 is a request, not a reply");
  assert_malformed_message (odd, 8,
                            "opcode 144 is not a NAT-PMP reply (and the result is success)");
  assert_malformed_message (odd, 5, "reply is 5 bytes, an error reply needs 8");
  assert_malformed_message (pcp, 12, "PCP packet is 12 bytes, a PCP header needs 24");
  assert_malformed_message (pcp, 1, "PCP packet is 1 byte, a PCP header needs 24");
}

/* Our own requests, looped back, are never taken for replies. */
static void
test_parse_requests_as_replies (void)
{
  guint8 buf[12];
  gsize n;

  n = pl_natpmp_build_external_address_request (buf, sizeof buf);
  assert_malformed (buf, n);
  n = pl_natpmp_build_map_request (buf, sizeof buf, PL_PROTOCOL_UDP, 40000, 40000, 7200);
  assert_malformed (buf, n);
  n = pl_natpmp_build_unmap_all_request (buf, sizeof buf, PL_PROTOCOL_TCP);
  assert_malformed (buf, n);
}

/* Random datagrams (seeded by GTest, reproducible with --seed) never crash and never read past
 * the end (exact-size copies; run under valgrind or ASan), and what is accepted is consistent. */
static void
test_parse_random (void)
{
  guint8 buf[64];

  for (guint i = 0; i < 200000; i++)
    {
      gsize len = (gsize) g_test_rand_int_range (0, sizeof buf + 1);
      g_autoptr(GError) error = NULL;
      PlNatpmpReply reply;

      for (gsize j = 0; j < len; j++)
        buf[j] = (guint8) g_test_rand_int_range (0, 256);
      /* Bias towards the interesting versions and response opcodes. */
      if (len > 0 && (i % 4) != 0)
        buf[0] = (i % 4 == 3) ? 2 : 0;
      if (len > 1 && (i % 2) != 0)
        buf[1] |= 0x80;

      if (parse_exact (buf, len, &reply, &error))
        {
          g_assert_no_error (error);
          g_assert_cmpuint (reply.version, ==, buf[0]);
          g_assert_cmpuint (reply.opcode, ==, buf[1]);
          switch (reply.kind)
            {
            case PL_NATPMP_PACKET_EXTERNAL_ADDRESS:
              g_assert_cmpuint (len, >=, 12);
              g_assert_cmpuint (reply.opcode, ==, 128);
              break;
            case PL_NATPMP_PACKET_MAP:
              g_assert_cmpuint (len, >=, 16);
              g_assert_true (reply.opcode == 129 || reply.opcode == 130);
              break;
            case PL_NATPMP_PACKET_SHORT_ERROR:
              g_assert_cmpuint (len, >=, 8);
              g_assert_cmpuint (reply.result, !=, 0);
              break;
            case PL_NATPMP_PACKET_PCP:
              g_assert_cmpuint (reply.version, ==, 2);
              g_assert_cmpuint (len, >=, 24);
              break;
            default:
              g_assert_not_reached ();
            }
        }
      else
        {
          g_assert_error (error, PL_ERROR, PL_ERROR_MALFORMED_REPLY);
        }
    }
}

/* ---- requests (server side) -------------------------------------------------------------- */

static void
test_parse_request (void)
{
  static const guint8 f02[12] = {
    0x00, 0x01, 0x00, 0x00, 0x9c, 0x40, 0x9c, 0x40, 0x00, 0x00, 0x1c, 0x20,
  };
  static const guint8 reserved[12] = {
    0x00, 0x02, 0xab, 0xcd, 0x1f, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  static const guint8 address[2] = { 0x00, 0x00 };
  g_autoptr(GError) error = NULL;
  PlNatpmpRequest request;

  g_assert_true (parse_request_exact (address, sizeof address, &request, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (request.version, ==, 0);
  g_assert_cmpuint (request.opcode, ==, PL_NATPMP_OP_EXTERNAL_ADDRESS);
  g_assert_cmpuint (request.internal_port, ==, 0);
  g_assert_cmpuint (request.external_port, ==, 0);
  g_assert_cmpuint (request.lifetime, ==, 0);

  g_assert_true (parse_request_exact (f02, sizeof f02, &request, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (request.version, ==, 0);
  g_assert_cmpuint (request.opcode, ==, PL_NATPMP_OP_MAP_UDP);
  g_assert_cmpuint (request.internal_port, ==, 40000);
  g_assert_cmpuint (request.external_port, ==, 40000);
  g_assert_cmpuint (request.lifetime, ==, 7200);

  /* The reserved field is ignored on receive. */
  g_assert_true (parse_request_exact (reserved, sizeof reserved, &request, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (request.opcode, ==, PL_NATPMP_OP_MAP_TCP);
  g_assert_cmpuint (request.internal_port, ==, 8080);
  g_assert_cmpuint (request.external_port, ==, 0);
  g_assert_cmpuint (request.lifetime, ==, 0);
}

static void
test_parse_request_round_trip (void)
{
  static const struct
  {
    PlProtocol protocol;
    guint16    internal_port;
    guint16    external_port;
    guint32    lifetime;
  } cases[] = {
    { PL_PROTOCOL_UDP, 40000, 40000, 7200 },
    { PL_PROTOCOL_TCP, 22, 2222, 120 },
    { PL_PROTOCOL_UDP, 65535, 1, G_MAXUINT32 },
    { PL_PROTOCOL_TCP, 8080, 0, 0 },
    { PL_PROTOCOL_UDP, 0, 0, 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      PlNatpmpRequest request;
      guint8 buf[12];
      gsize n;

      n = pl_natpmp_build_map_request (buf, sizeof buf, cases[i].protocol, cases[i].internal_port,
                                       cases[i].external_port, cases[i].lifetime);
      g_assert_cmpuint (n, ==, 12);
      g_assert_true (parse_request_exact (buf, n, &request, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (request.version, ==, 0);
      g_assert_cmpuint (request.opcode, ==, cases[i].protocol);
      g_assert_cmpuint (request.internal_port, ==, cases[i].internal_port);
      g_assert_cmpuint (request.external_port, ==, cases[i].external_port);
      g_assert_cmpuint (request.lifetime, ==, cases[i].lifetime);
    }
}

static void
test_parse_request_malformed (void)
{
  static const guint8 map[12] = {
    0x00, 0x01, 0x00, 0x00, 0x9c, 0x40, 0x9c, 0x40, 0x00, 0x00, 0x1c, 0x20,
  };
  static const guint8 reply[16] = { 0x00, 0x81, 0x00, 0x00 };

  for (gsize len = 0; len < sizeof map; len++)
    {
      g_autoptr(GError) error = NULL;
      PlNatpmpRequest request;

      memset (&request, SENTINEL, sizeof request);
      g_assert_false (parse_request_exact (map, len, &request, &error));
      g_assert_error (error, PL_ERROR, PL_ERROR_MALFORMED_REPLY);
      g_assert_cmpuint (request.version, ==, SENTINEL);
    }

  for (gsize len = 2; len <= sizeof reply; len++)
    {
      g_autoptr(GError) error = NULL;
      PlNatpmpRequest request;

      g_assert_false (parse_request_exact (reply, len, &request, &error));
      g_assert_error (error, PL_ERROR, PL_ERROR_MALFORMED_REPLY);
      g_assert_cmpstr (error->message, ==, "opcode 129 is a reply, not a request");
    }

  {
    g_autoptr(GError) error = NULL;
    PlNatpmpRequest request;

    g_assert_false (parse_request_exact (map, 11, &request, &error));
    g_assert_cmpstr (error->message, ==, "request is 11 bytes, a map request needs 12");
  }
}

/* Requests a server cannot serve still parse, so that it can answer Unsupported Version or
 * Unsupported Opcode (F-19). */
static void
test_parse_request_unsupported (void)
{
  guint8 pcp_map[60] = { 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x1c, 0x20 };
  static const guint8 opcode3[2] = { 0x00, 0x03 };
  static const guint8 version1[12] = { 0x01, 0x01 };
  PlNatpmpRequest request;

  for (gsize len = 2; len <= sizeof pcp_map; len++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (parse_request_exact (pcp_map, len, &request, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (request.version, ==, 2);
      g_assert_cmpuint (request.opcode, ==, 1);
      g_assert_cmpuint (request.internal_port, ==, 0);
      g_assert_cmpuint (request.lifetime, ==, 0);
    }

  {
    g_autoptr(GError) error = NULL;

    g_assert_true (parse_request_exact (opcode3, sizeof opcode3, &request, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (request.version, ==, 0);
    g_assert_cmpuint (request.opcode, ==, 3);
  }

  {
    g_autoptr(GError) error = NULL;

    g_assert_true (parse_request_exact (version1, sizeof version1, &request, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (request.version, ==, 1);
    g_assert_cmpuint (request.opcode, ==, 1);
  }
}

/* ---- double NAT -------------------------------------------------------------------------- */

static void
test_double_nat (void)
{
  static const struct
  {
    guint8   address[4];
    gboolean double_nat;
  } cases[] = {
    { { 0, 0, 0, 0 }, TRUE },
    { { 0, 0, 0, 1 }, FALSE },
    { { 9, 255, 255, 255 }, FALSE },
    { { 10, 0, 0, 0 }, TRUE },
    { { 10, 255, 255, 255 }, TRUE },
    { { 11, 0, 0, 0 }, FALSE },
    { { 100, 63, 255, 255 }, FALSE },
    { { 100, 64, 0, 0 }, TRUE },
    { { 100, 100, 1, 1 }, TRUE },
    { { 100, 127, 255, 255 }, TRUE },
    { { 100, 128, 0, 0 }, FALSE },
    { { 172, 15, 255, 255 }, FALSE },
    { { 172, 16, 0, 0 }, TRUE },
    { { 172, 20, 1, 1 }, TRUE },
    { { 172, 31, 255, 255 }, TRUE },
    { { 172, 32, 0, 0 }, FALSE },
    { { 192, 167, 255, 255 }, FALSE },
    { { 192, 168, 0, 0 }, TRUE },
    { { 192, 168, 255, 255 }, TRUE },
    { { 192, 169, 0, 0 }, FALSE },
    { { 168, 192, 1, 1 }, FALSE },   /* byte order: not 192.168 */
    { { 8, 8, 8, 8 }, FALSE },
    { { 203, 0, 113, 7 }, FALSE },
    { { 255, 255, 255, 255 }, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%u.%u.%u.%u", cases[i].address[0], cases[i].address[1],
                      cases[i].address[2], cases[i].address[3]);
      g_assert_cmpint (pl_natpmp_address_is_double_nat (cases[i].address), ==,
                       cases[i].double_nat);
    }

  /* Exhaustive over the first two bytes against the prefix definitions. */
  for (guint a = 0; a < 256; a++)
    for (guint b = 0; b < 256; b++)
      {
        const guint8 address[4] = { (guint8) a, (guint8) b, 1, 1 };
        gboolean expected = a == 10 ||
                            (a == 172 && b >= 16 && b <= 31) ||
                            (a == 192 && b == 168) ||
                            (a == 100 && b >= 64 && b <= 127);

        g_assert_cmpint (pl_natpmp_address_is_double_nat (address), ==, expected);
      }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/pl/natpmp/protocol-to-string", test_protocol_to_string);
  g_test_add_func ("/pl/natpmp/protocol-to-string/invalid", test_protocol_to_string_invalid);

  g_test_add_func ("/pl/natpmp/build/external-address-request",
                   test_build_external_address_request);
  g_test_add_func ("/pl/natpmp/build/map-request", test_build_map_request);
  g_test_add_func ("/pl/natpmp/build/unmap-request", test_build_unmap_request);
  g_test_add_func ("/pl/natpmp/build/unmap-all-request", test_build_unmap_all_request);
  g_test_add_func ("/pl/natpmp/build/external-address-reply", test_build_external_address_reply);
  g_test_add_func ("/pl/natpmp/build/map-reply", test_build_map_reply);
  g_test_add_func ("/pl/natpmp/build/short-reply", test_build_short_reply);
  g_test_add_func ("/pl/natpmp/build/pcp-announce", test_build_pcp_announce);
  g_test_add_func ("/pl/natpmp/build/too-small", test_build_too_small);
  g_test_add_func ("/pl/natpmp/build/delete-with-port", test_build_delete_with_port);
  g_test_add_func ("/pl/natpmp/build/bad-protocol", test_build_bad_protocol);

  g_test_add_func ("/pl/natpmp/parse/external-address", test_parse_external_address);
  g_test_add_func ("/pl/natpmp/parse/map", test_parse_map);
  g_test_add_func ("/pl/natpmp/parse/epoch-unsigned", test_parse_epoch_unsigned);
  g_test_add_func ("/pl/natpmp/parse/unsupported-version", test_parse_unsupported_version_forms);
  g_test_add_func ("/pl/natpmp/parse/unsupported-opcode", test_parse_unsupported_opcode);
  g_test_add_func ("/pl/natpmp/parse/pcp-announce", test_parse_pcp_announce);
  g_test_add_func ("/pl/natpmp/parse/pcp-response", test_parse_pcp_response);
  g_test_add_func ("/pl/natpmp/parse/every-length", test_parse_every_length);
  g_test_add_func ("/pl/natpmp/parse/every-version", test_parse_every_version);
  g_test_add_func ("/pl/natpmp/parse/every-opcode", test_parse_every_opcode);
  g_test_add_func ("/pl/natpmp/parse/messages", test_parse_messages);
  g_test_add_func ("/pl/natpmp/parse/requests-as-replies", test_parse_requests_as_replies);
  g_test_add_func ("/pl/natpmp/parse/random", test_parse_random);

  g_test_add_func ("/pl/natpmp/parse-request/basic", test_parse_request);
  g_test_add_func ("/pl/natpmp/parse-request/round-trip", test_parse_request_round_trip);
  g_test_add_func ("/pl/natpmp/parse-request/malformed", test_parse_request_malformed);
  g_test_add_func ("/pl/natpmp/parse-request/unsupported", test_parse_request_unsupported);

  g_test_add_func ("/pl/natpmp/double-nat", test_double_nat);

  return g_test_run ();
}
