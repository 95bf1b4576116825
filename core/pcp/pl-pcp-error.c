/* pl-pcp-error.c: PCP result codes as PL_ERROR
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "pl-error.h"
#include "pl-pcp.h"

/**
 * pl_pcp_error_new:
 * @result_code: a non-zero PCP result code
 * @gateway: the gateway's address as text, e.g. "192.168.1.1"
 *
 * Turns a PCP result code (RFC 6887 section 7.4) into a `PL_ERROR` with a message the user
 * can act on. Codes 1-13 each have their own error code and message; any other value gives
 * `PL_ERROR_UNKNOWN_RESULT` (0, success, is no error: a caller passing it gets that too rather
 * than a crash, since the code may come straight off the wire).
 *
 * Returns: (transfer full): a new #GError
 */
GError *
pl_pcp_error_new (guint       result_code,
                  const char *gateway)
{
  g_return_val_if_fail (gateway != NULL, NULL);

  switch (result_code)
    {
    case PL_PCP_RESULT_UNSUPP_VERSION:
      return g_error_new (PL_ERROR, PL_ERROR_UNSUPPORTED_VERSION,
                          _("The router at %s does not support PCP version 2"),
                          gateway);

    case PL_PCP_RESULT_NOT_AUTHORIZED:
      return g_error_new (PL_ERROR, PL_ERROR_NOT_AUTHORIZED,
                          _("The router at %s refused: PCP may be switched off in its "
                            "settings, or its rules do not allow this port"),
                          gateway);

    case PL_PCP_RESULT_MALFORMED_REQUEST:
      return g_error_new (PL_ERROR, PL_ERROR_MALFORMED_REQUEST,
                          _("The router at %s could not read the request: this is probably "
                            "a bug in Portlight or in the router; please report it"),
                          gateway);

    case PL_PCP_RESULT_UNSUPP_OPCODE:
      return g_error_new (PL_ERROR, PL_ERROR_UNSUPPORTED_OPCODE,
                          _("The router at %s does not support this request (unsupported "
                            "PCP opcode)"),
                          gateway);

    case PL_PCP_RESULT_UNSUPP_OPTION:
      return g_error_new (PL_ERROR, PL_ERROR_UNSUPPORTED_OPTION,
                          _("The router at %s does not support an option of this request: "
                            "try again without a remote-address filter, an exact-port "
                            "requirement or a mapping for another device"),
                          gateway);

    case PL_PCP_RESULT_MALFORMED_OPTION:
      return g_error_new (PL_ERROR, PL_ERROR_MALFORMED_OPTION,
                          _("The router at %s could not read an option of the request: this "
                            "is probably a bug in Portlight or in the router; please report "
                            "it"),
                          gateway);

    case PL_PCP_RESULT_NETWORK_FAILURE:
      return g_error_new (PL_ERROR, PL_ERROR_NETWORK_FAILURE,
                          _("The router at %s reports a network failure: it may have no "
                            "public address yet; try again later"),
                          gateway);

    case PL_PCP_RESULT_NO_RESOURCES:
      return g_error_new (PL_ERROR, PL_ERROR_OUT_OF_RESOURCES,
                          _("The router at %s is out of resources: it cannot create more "
                            "mappings now; try again later"),
                          gateway);

    case PL_PCP_RESULT_UNSUPP_PROTOCOL:
      return g_error_new (PL_ERROR, PL_ERROR_UNSUPPORTED_PROTOCOL,
                          _("The router at %s cannot map this transport protocol"),
                          gateway);

    case PL_PCP_RESULT_USER_EX_QUOTA:
      return g_error_new (PL_ERROR, PL_ERROR_QUOTA_EXCEEDED,
                          _("The router at %s allows this computer no more mappings: remove "
                            "one that is no longer needed"),
                          gateway);

    case PL_PCP_RESULT_CANNOT_PROVIDE_EXTERNAL:
      return g_error_new (PL_ERROR, PL_ERROR_CANNOT_PROVIDE_EXTERNAL,
                          _("The router at %s cannot give the public port or address asked "
                            "for: choose another port, or accept any port"),
                          gateway);

    case PL_PCP_RESULT_ADDRESS_MISMATCH:
      return g_error_new (PL_ERROR, PL_ERROR_ADDRESS_MISMATCH,
                          _("The router at %s sees this computer under another address: "
                            "another NAT sits between this computer and the router, so "
                            "mappings made there cannot reach this computer"),
                          gateway);

    case PL_PCP_RESULT_EXCESSIVE_REMOTE_PEERS:
      return g_error_new (PL_ERROR, PL_ERROR_EXCESSIVE_REMOTE_PEERS,
                          _("The router at %s cannot handle that many remote addresses for "
                            "one mapping: use fewer filters"),
                          gateway);

    default:
      return g_error_new (PL_ERROR, PL_ERROR_UNKNOWN_RESULT,
                          _("The router at %s answered with unknown PCP result code %u"),
                          gateway, result_code);
    }
}

/**
 * pl_pcp_result_means_gone:
 * @result: a PCP result code
 *
 * Whether @result, as the answer to a delete, means the mapping is not there: miniupnpd
 * answers NO_RESOURCES for a mapping it does not have (tests/lab/MINIUPNPD.md, item 6), so a
 * delete that gets it has reached its goal.
 *
 * Returns: %TRUE for results that mean "already gone"
 */
gboolean
pl_pcp_result_means_gone (guint8 result)
{
  return result == PL_PCP_RESULT_NO_RESOURCES;
}
