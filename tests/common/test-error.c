/* test-error.c: PL_ERROR and the NAT-PMP result code messages
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <locale.h>
#include <string.h>

#include "pl-core.h"

#define GATEWAY "192.0.2.1"

static void
test_quark (void)
{
  g_assert_cmpuint (PL_ERROR, !=, 0);
  g_assert_cmpuint (PL_ERROR, ==, pl_error_quark ());
  g_assert_cmpstr (g_quark_to_string (PL_ERROR), ==, "pl-error-quark");
}

/* The codes are our own, not a protocol's wire numbers: no code is cast from a result code,
 * and each is distinct. */
static void
test_codes_are_distinct (void)
{
  static const PlError codes[] = {
    PL_ERROR_NOT_AUTHORIZED, PL_ERROR_NETWORK_FAILURE, PL_ERROR_OUT_OF_RESOURCES,
    PL_ERROR_UNSUPPORTED_VERSION, PL_ERROR_UNSUPPORTED_OPCODE, PL_ERROR_UNKNOWN_RESULT,
    PL_ERROR_TIMED_OUT, PL_ERROR_REFUSED, PL_ERROR_NO_GATEWAY, PL_ERROR_MALFORMED_REPLY,
    PL_ERROR_QUEUE_FULL, PL_ERROR_INVALID_ARGUMENT, PL_ERROR_MALFORMED_REQUEST,
    PL_ERROR_UNSUPPORTED_OPTION, PL_ERROR_MALFORMED_OPTION, PL_ERROR_UNSUPPORTED_PROTOCOL,
    PL_ERROR_QUOTA_EXCEEDED, PL_ERROR_CANNOT_PROVIDE_EXTERNAL, PL_ERROR_ADDRESS_MISMATCH,
    PL_ERROR_EXCESSIVE_REMOTE_PEERS,
  };

  for (gsize i = 0; i < G_N_ELEMENTS (codes); i++)
    {
      g_assert_cmpint (codes[i], !=, 0);
      for (gsize j = i + 1; j < G_N_ELEMENTS (codes); j++)
        g_assert_cmpint (codes[i], !=, codes[j]);
    }
  /* NAT-PMP 1 is UNSUPPORTED_VERSION on the wire; here it is another code. */
  g_assert_cmpint (PL_ERROR_UNSUPPORTED_VERSION, !=, PL_NATPMP_RESULT_UNSUPPORTED_VERSION);
}

static void
test_from_result_messages (void)
{
  static const struct
  {
    guint       result;
    PlError     code;
    const char *message;
  } cases[] = {
    { 1, PL_ERROR_UNSUPPORTED_VERSION,
      "The router at " GATEWAY " does not support NAT-PMP version 0" },
    { 2, PL_ERROR_NOT_AUTHORIZED,
      "The router at " GATEWAY " refused: NAT-PMP may be switched off in its settings, or its "
      "rules do not allow this port" },
    { 3, PL_ERROR_NETWORK_FAILURE,
      "The router at " GATEWAY " reports a network failure: it may have no public address yet "
      "(or it sits behind another NAT)" },
    { 4, PL_ERROR_OUT_OF_RESOURCES,
      "The router at " GATEWAY " is out of resources: it cannot create more mappings" },
    { 5, PL_ERROR_UNSUPPORTED_OPCODE,
      "The router at " GATEWAY " does not support this request (unsupported opcode)" },
    { 6, PL_ERROR_UNKNOWN_RESULT,
      "The router at " GATEWAY " answered with unknown result code 6" },
    { 77, PL_ERROR_UNKNOWN_RESULT,
      "The router at " GATEWAY " answered with unknown result code 77" },
    { 100, PL_ERROR_UNKNOWN_RESULT,
      "The router at " GATEWAY " answered with unknown result code 100" },
    { 65535, PL_ERROR_UNKNOWN_RESULT,
      "The router at " GATEWAY " answered with unknown result code 65535" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = pl_natpmp_error_new (cases[i].result, GATEWAY);

      g_test_message ("result %u", cases[i].result);
      g_assert_error (error, PL_ERROR, (gint) cases[i].code);
      g_assert_cmpstr (error->message, ==, cases[i].message);
    }
}

static void
test_from_result_names_gateway (void)
{
  static const char *gateways[] = { "10.0.0.138", "192.168.178.1", "fe80::1%eth0" };

  for (gsize g = 0; g < G_N_ELEMENTS (gateways); g++)
    for (guint result = 1; result <= 300; result++)
      {
        g_autoptr(GError) error = pl_natpmp_error_new (result, gateways[g]);

        g_assert_nonnull (error);
        g_assert_true (error->domain == PL_ERROR);
        g_assert_nonnull (strstr (error->message, gateways[g]));
        if (result <= 5)
          g_assert_cmpint (error->code, !=, PL_ERROR_UNKNOWN_RESULT);
        else
          g_assert_cmpint (error->code, ==, PL_ERROR_UNKNOWN_RESULT);
      }
}

static void
test_from_result_preconditions (void)
{
  if (g_test_subprocess ())
    {
      GError *error = pl_natpmp_error_new (0, GATEWAY);
      g_assert_null (error);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*result_code != 0*");
}

static void
test_from_result_null_gateway (void)
{
  if (g_test_subprocess ())
    {
      GError *error = pl_natpmp_error_new (2, NULL);
      g_assert_null (error);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*gateway != NULL*");
}

static void
test_is_transient (void)
{
  static const struct
  {
    gint     code;
    gboolean transient;
  } cases[] = {
    { PL_ERROR_UNSUPPORTED_VERSION, FALSE },
    { PL_ERROR_NOT_AUTHORIZED, FALSE },
    { PL_ERROR_NETWORK_FAILURE, TRUE },
    { PL_ERROR_OUT_OF_RESOURCES, TRUE },
    { PL_ERROR_UNSUPPORTED_OPCODE, FALSE },
    { PL_ERROR_UNKNOWN_RESULT, FALSE },
    { PL_ERROR_TIMED_OUT, TRUE },
    { PL_ERROR_REFUSED, FALSE },
    { PL_ERROR_NO_GATEWAY, FALSE },
    { PL_ERROR_MALFORMED_REPLY, FALSE },
    { PL_ERROR_QUEUE_FULL, FALSE },
    { PL_ERROR_INVALID_ARGUMENT, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = g_error_new_literal (PL_ERROR, cases[i].code, "x");

      g_test_message ("code %d", cases[i].code);
      g_assert_cmpint (pl_error_is_transient (error), ==, cases[i].transient);
    }

  for (guint result = 1; result <= 5; result++)
    {
      g_autoptr(GError) error = pl_natpmp_error_new (result, GATEWAY);

      g_assert_cmpint (pl_error_is_transient (error), ==,
                       result == PL_NATPMP_RESULT_NETWORK_FAILURE ||
                       result == PL_NATPMP_RESULT_OUT_OF_RESOURCES);
    }
}

static void
test_is_transient_other_domains (void)
{
  /* The same code numbers in another domain must not match. */
  g_autoptr(GError) io_3 = g_error_new_literal (G_IO_ERROR, PL_ERROR_NETWORK_FAILURE, "x");
  g_autoptr(GError) io_4 = g_error_new_literal (G_IO_ERROR, PL_ERROR_OUT_OF_RESOURCES, "x");
  g_autoptr(GError) io_101 = g_error_new_literal (G_IO_ERROR, PL_ERROR_TIMED_OUT, "x");

  g_assert_false (pl_error_is_transient (NULL));
  g_assert_false (pl_error_is_transient (io_3));
  g_assert_false (pl_error_is_transient (io_4));
  g_assert_false (pl_error_is_transient (io_101));
}

int
main (int   argc,
      char *argv[])
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/pl/error/quark", test_quark);
  g_test_add_func ("/pl/error/codes-are-distinct", test_codes_are_distinct);
  g_test_add_func ("/pl/error/from-result/messages", test_from_result_messages);
  g_test_add_func ("/pl/error/from-result/names-gateway", test_from_result_names_gateway);
  g_test_add_func ("/pl/error/from-result/zero-result", test_from_result_preconditions);
  g_test_add_func ("/pl/error/from-result/null-gateway", test_from_result_null_gateway);
  g_test_add_func ("/pl/error/is-transient", test_is_transient);
  g_test_add_func ("/pl/error/is-transient/other-domains", test_is_transient_other_domains);

  return g_test_run ();
}
