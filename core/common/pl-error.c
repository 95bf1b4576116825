/* pl-error.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-error.h"

G_DEFINE_QUARK (pl-error-quark, pl_error)

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
