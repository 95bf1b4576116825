/* pl-natpmp-error.c: NAT-PMP result codes as PL_ERROR
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "pl-error.h"
#include "pl-natpmp.h"

/**
 * pl_natpmp_error_new:
 * @result_code: a non-zero NAT-PMP result code
 * @gateway: the gateway's address as text, e.g. "192.168.1.1"
 *
 * Turns a NAT-PMP result code (RFC 6886 section 3.5) into a `PL_ERROR` with a message the
 * user can act on. Codes outside 1-5 give `PL_ERROR_UNKNOWN_RESULT`.
 *
 * Returns: (transfer full): a new #GError
 */
GError *
pl_natpmp_error_new (guint       result_code,
                          const char *gateway)
{
  g_return_val_if_fail (result_code != 0, NULL);
  g_return_val_if_fail (gateway != NULL, NULL);

  switch (result_code)
    {
    case PL_NATPMP_RESULT_UNSUPPORTED_VERSION:
      return g_error_new (PL_ERROR, PL_ERROR_UNSUPPORTED_VERSION,
                          _("The router at %s does not support NAT-PMP version 0"),
                          gateway);

    case PL_NATPMP_RESULT_NOT_AUTHORIZED:
      return g_error_new (PL_ERROR, PL_ERROR_NOT_AUTHORIZED,
                          _("The router at %s refused: NAT-PMP may be switched off in its "
                            "settings, or its rules do not allow this port"),
                          gateway);

    case PL_NATPMP_RESULT_NETWORK_FAILURE:
      return g_error_new (PL_ERROR, PL_ERROR_NETWORK_FAILURE,
                          _("The router at %s reports a network failure: it may have no "
                            "public address yet (or it sits behind another NAT)"),
                          gateway);

    case PL_NATPMP_RESULT_OUT_OF_RESOURCES:
      return g_error_new (PL_ERROR, PL_ERROR_OUT_OF_RESOURCES,
                          _("The router at %s is out of resources: it cannot create more "
                            "mappings"),
                          gateway);

    case PL_NATPMP_RESULT_UNSUPPORTED_OPCODE:
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
