/* test-upnp-error.c: every UPnP-IGD error code gets a plain PL_ERROR
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <string.h>

#include <libgupnp/gupnp.h>

#include "pl-core.h"

typedef struct
{
  guint       code;
  gint        expected;  /* PlError */
  const char *words;   /* must appear in the message */
} Case;

static const Case cases[] = {
  { 401, PL_ERROR_UNSUPPORTED_OPCODE, "does not support this UPnP request" },
  { 402, PL_ERROR_MALFORMED_REQUEST, "rejected the request" },
  { 501, PL_ERROR_NETWORK_FAILURE, "failed to open the port" },
  { 606, PL_ERROR_NOT_AUTHORIZED, "do not allow forwarding port 8080" },
  { 713, PL_ERROR_NOT_FOUND, "holds no mapping of port 8080" },
  { 714, PL_ERROR_NOT_FOUND, "holds no mapping of port 8080" },
  { 716, PL_ERROR_MALFORMED_REQUEST, "rejected the request" },
  { 718, PL_ERROR_PORT_IN_USE, "already forwarded to another device" },
  { 724, PL_ERROR_NOT_AUTHORIZED, "same public and private port" },
  { 725, PL_ERROR_NOT_AUTHORIZED, "only takes permanent" },
  { 728, PL_ERROR_OUT_OF_RESOURCES, "table is full" },
  { 729, PL_ERROR_PORT_IN_USE, "in use on the router itself" },
  { 899, PL_ERROR_UNKNOWN_RESULT, "UPnP error 899" },
};

static void
test_codes (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) raw = g_error_new_literal (GUPNP_CONTROL_ERROR, (gint) cases[i].code,
                                                   "router text");
      g_autoptr(GError) error = pl_upnp_error_new (raw, 8080, "192.168.1.1");

      g_test_message ("%u: %s", cases[i].code, error->message);
      g_assert_error (error, PL_ERROR, cases[i].expected);
      g_assert_nonnull (strstr (error->message, cases[i].words));
      g_assert_cmpuint (pl_upnp_error_get_code (raw), ==, cases[i].code);
    }
}

static void
test_transport (void)
{
  g_autoptr(GError) refused = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                                                   "Could not connect: Connection refused");
  g_autoptr(GError) timed_out = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                                     "Socket I/O timed out");
  g_autoptr(GError) cancelled = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "x");
  g_autoptr(GError) e1 = pl_upnp_error_new (refused, 0, "10.0.0.1");
  g_autoptr(GError) e2 = pl_upnp_error_new (timed_out, 0, "10.0.0.1");
  g_autoptr(GError) e3 = pl_upnp_error_new (cancelled, 0, "10.0.0.1");

  g_assert_error (e1, PL_ERROR, PL_ERROR_REFUSED);
  g_assert_nonnull (strstr (e1->message, "restarted"));
  g_assert_error (e2, PL_ERROR, PL_ERROR_TIMED_OUT);
  g_assert_nonnull (strstr (e2->message, "not answering UPnP"));
  g_assert_error (e3, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (pl_upnp_error_is_transport (refused));
  g_assert_true (pl_upnp_error_is_transport (timed_out));
  g_assert_false (pl_upnp_error_is_transport (cancelled));
  g_assert_cmpuint (pl_upnp_error_get_code (refused), ==, 0);
}

/* An answer that is not SOAP, and a router's text with control bytes. */
static void
test_invalid_answers (void)
{
  g_autoptr(GError) server = g_error_new_literal (GUPNP_SERVER_ERROR,
                                                  GUPNP_SERVER_ERROR_INVALID_RESPONSE,
                                                  "Could not parse SOAP response");
  g_autoptr(GError) xml = g_error_new_literal (GUPNP_XML_ERROR, GUPNP_XML_ERROR_PARSE, "bad");
  g_autoptr(GError) odd = g_error_new_literal (GUPNP_CONTROL_ERROR, 812,
                                               "weird\x1b[2J\xff text");
  g_autoptr(GError) e1 = pl_upnp_error_new (server, 0, "10.0.0.1");
  g_autoptr(GError) e2 = pl_upnp_error_new (xml, 0, "10.0.0.1");
  g_autoptr(GError) e3 = pl_upnp_error_new (odd, 0, "10.0.0.1");

  g_assert_error (e1, PL_ERROR, PL_ERROR_MALFORMED_REPLY);
  g_assert_nonnull (strstr (e1->message, "invalid UPnP answer"));
  g_assert_error (e2, PL_ERROR, PL_ERROR_MALFORMED_REPLY);
  g_assert_error (e3, PL_ERROR, PL_ERROR_UNKNOWN_RESULT);
  g_assert_nonnull (strstr (e3->message, "(weird?[2J? text)"));
}

static void
test_no_port (void)
{
  g_autoptr(GError) raw = g_error_new_literal (GUPNP_CONTROL_ERROR, 718, "Conflict");
  g_autoptr(GError) error = pl_upnp_error_new (raw, 0, "10.0.0.1");

  g_assert_error (error, PL_ERROR, PL_ERROR_PORT_IN_USE);
  g_assert_cmpstr (error->message, ==, "This port is already forwarded to another device on your "
                   "network");
}

/* WANIPv6FirewallControl:1: its own codes, and 606 and 402 as they mean there. */
static const Case pinhole_cases[] = {
  { 402, PL_ERROR_MALFORMED_REQUEST, "rejected the IPv6 pinhole request" },
  { 606, PL_ERROR_NOT_AUTHORIZED, "refused the IPv6 pinhole for [fd00::2]:8080" },
  { 701, PL_ERROR_OUT_OF_RESOURCES, "table of IPv6 pinholes is full" },
  { 702, PL_ERROR_UNSUPPORTED_OPCODE, "IPv6 firewall switched off" },
  { 703, PL_ERROR_NOT_AUTHORIZED, "does not allow IPv6 pinholes" },
  { 704, PL_ERROR_NOT_FOUND, "no such IPv6 pinhole" },
  { 705, PL_ERROR_UNSUPPORTED_PROTOCOL, "for this protocol" },
  { 706, PL_ERROR_MALFORMED_REQUEST, "rejected the IPv6 pinhole request" },
  { 707, PL_ERROR_MALFORMED_REQUEST, "rejected the IPv6 pinhole request" },
  { 708, PL_ERROR_MALFORMED_REQUEST, "rejected the IPv6 pinhole request" },
  { 709, PL_ERROR_UNKNOWN_RESULT, "no traffic through the IPv6 pinhole" },
  { 501, PL_ERROR_NETWORK_FAILURE, "failed to open the port" },
  { 899, PL_ERROR_UNKNOWN_RESULT, "UPnP error 899" },
};

static void
test_pinhole_codes (void)
{
  g_autoptr(GError) low_raw = g_error_new_literal (GUPNP_CONTROL_ERROR, 606, "x");
  g_autoptr(GError) low = pl_upnp_error_new_pinhole (low_raw, 80, "fd00::2", "fe80::1");
  g_autoptr(GError) server = g_error_new_literal (GUPNP_SERVER_ERROR,
                                                  GUPNP_SERVER_ERROR_INVALID_RESPONSE, "bad");
  g_autoptr(GError) invalid = pl_upnp_error_new_pinhole (server, 8080, "fd00::2", "fe80::1");

  for (gsize i = 0; i < G_N_ELEMENTS (pinhole_cases); i++)
    {
      g_autoptr(GError) raw = g_error_new_literal (GUPNP_CONTROL_ERROR,
                                                   (gint) pinhole_cases[i].code, "router text");
      g_autoptr(GError) error = pl_upnp_error_new_pinhole (raw, 8080, "fd00::2", "fe80::1");

      g_test_message ("%u: %s", pinhole_cases[i].code, error->message);
      g_assert_error (error, PL_ERROR, pinhole_cases[i].expected);
      g_assert_nonnull (strstr (error->message, pinhole_cases[i].words));
    }
  /* A port below 1024 is the usual reason for 606. */
  g_assert_error (low, PL_ERROR, PL_ERROR_NOT_AUTHORIZED);
  g_assert_nonnull (strstr (low->message, "port 80: routers refuse ports below 1024"));
  g_assert_error (invalid, PL_ERROR, PL_ERROR_MALFORMED_REPLY);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/upnp/error/codes", test_codes);
  g_test_add_func ("/upnp/error/transport", test_transport);
  g_test_add_func ("/upnp/error/invalid-answers", test_invalid_answers);
  g_test_add_func ("/upnp/error/no-port", test_no_port);
  g_test_add_func ("/upnp/error/pinhole-codes", test_pinhole_codes);

  return g_test_run ();
}
