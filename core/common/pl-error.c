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

/**
 * pl_error_new_from_result:
 * @result_code: a non-zero NAT-PMP result code
 * @gateway: the gateway's address as text, e.g. "192.168.1.1"
 *
 * Turns a NAT-PMP result code into a `PL_ERROR` with a message the user can act on. Codes 1
 * to 5 keep their value as the error code; any other code gives `PL_ERROR_UNKNOWN_RESULT`.
 *
 * Returns: (transfer full): a new #GError
 */
GError *
pl_error_new_from_result (guint       result_code,
                          const char *gateway)
{
  g_return_val_if_fail (result_code != 0, NULL);
  g_return_val_if_fail (gateway != NULL, NULL);

  switch (result_code)
    {
    case PL_ERROR_UNSUPPORTED_VERSION:
      return g_error_new (PL_ERROR, PL_ERROR_UNSUPPORTED_VERSION,
                          _("The router at %s does not support NAT-PMP version 0"),
                          gateway);

    case PL_ERROR_NOT_AUTHORIZED:
      return g_error_new (PL_ERROR, PL_ERROR_NOT_AUTHORIZED,
                          _("The router at %s refused: NAT-PMP may be switched off in its "
                            "settings, or its rules do not allow this port"),
                          gateway);

    case PL_ERROR_NETWORK_FAILURE:
      return g_error_new (PL_ERROR, PL_ERROR_NETWORK_FAILURE,
                          _("The router at %s reports a network failure: it may have no "
                            "public address yet (or it sits behind another NAT)"),
                          gateway);

    case PL_ERROR_OUT_OF_RESOURCES:
      return g_error_new (PL_ERROR, PL_ERROR_OUT_OF_RESOURCES,
                          _("The router at %s is out of resources: it cannot create more "
                            "mappings"),
                          gateway);

    case PL_ERROR_UNSUPPORTED_OPCODE:
      return g_error_new (PL_ERROR, PL_ERROR_UNSUPPORTED_OPCODE,
                          _("The router at %s does not support this request (unsupported "
                            "opcode)"),
                          gateway);

    default:
      return g_error_new (PL_ERROR, PL_ERROR_UNKNOWN_RESULT,
                          _("The router at %s answered with unknown result code %u"),
                          gateway, result_code);
    }
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
