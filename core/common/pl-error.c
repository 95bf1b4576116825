/* pl-error.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "pl-error.h"

G_DEFINE_QUARK (pl-error-quark, pl_error)

/* Digits needed to print @ms milliseconds as seconds without trailing zeros. */
static int
seconds_precision (guint ms)
{
  if (ms % 1000 == 0)
    return 0;
  if (ms % 100 == 0)
    return 1;
  if (ms % 10 == 0)
    return 2;
  return 3;
}

/**
 * pl_error_new_timed_out:
 * @gateway: the gateway's address as text
 * @attempts: how many times the request was sent
 * @total_ms: how long it was tried, in milliseconds
 *
 * The error of a request that every retransmission left unanswered, the same for every
 * protocol.
 *
 * Returns: (transfer full): a new `PL_ERROR_TIMED_OUT`
 */
GError *
pl_error_new_timed_out (const char *gateway,
                        guint       attempts,
                        guint       total_ms)
{
  return g_error_new (PL_ERROR, PL_ERROR_TIMED_OUT,
                      _("No answer from %s after %u attempts in %.*f s"),
                      gateway, attempts, seconds_precision (total_ms), total_ms / 1000.0);
}

/**
 * pl_error_is_transient:
 * @error: (nullable): an error
 *
 * Whether trying the same request again later, without any change on the user's side, may
 * succeed: a network failure or lack of resources on the router, or no answer in time.
 *
 * Returns: %TRUE for `PL_ERROR_NETWORK_FAILURE`, `PL_ERROR_OUT_OF_RESOURCES` and
 *   `PL_ERROR_TIMED_OUT`
 */
gboolean
pl_error_is_transient (const GError *error)
{
  if (error == NULL || error->domain != PL_ERROR)
    return FALSE;

  return error->code == PL_ERROR_NETWORK_FAILURE ||
         error->code == PL_ERROR_OUT_OF_RESOURCES ||
         error->code == PL_ERROR_TIMED_OUT;
}

/**
 * pl_error_refuses_any_port:
 * @error: (nullable): the error of a map request that suggested public port 0
 *
 * A suggested public port of 0 means "the gateway chooses" (RFC 6886 section 3.3, RFC 6887
 * section 11.1), but some gateways refuse it instead of choosing (MikroTik RouterOS logs
 * "unable to allocate port for mapping *:0"). Such a refusal is worth asking again at once,
 * suggesting the private port; a timeout, or a gateway without the protocol, is not.
 *
 * Returns: %TRUE for the gateway's answers that refuse the request as asked:
 *   `PL_ERROR_NOT_AUTHORIZED`, `PL_ERROR_OUT_OF_RESOURCES`, `PL_ERROR_CANNOT_PROVIDE_EXTERNAL`,
 *   `PL_ERROR_MALFORMED_REQUEST`, `PL_ERROR_INVALID_ARGUMENT` and `PL_ERROR_UNKNOWN_RESULT`
 */
gboolean
pl_error_refuses_any_port (const GError *error)
{
  if (error == NULL || error->domain != PL_ERROR)
    return FALSE;

  return error->code == PL_ERROR_NOT_AUTHORIZED ||
         error->code == PL_ERROR_OUT_OF_RESOURCES ||
         error->code == PL_ERROR_CANNOT_PROVIDE_EXTERNAL ||
         error->code == PL_ERROR_MALFORMED_REQUEST ||
         error->code == PL_ERROR_INVALID_ARGUMENT ||
         error->code == PL_ERROR_UNKNOWN_RESULT;
}
