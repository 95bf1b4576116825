/* pl-error.h
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PL_ERROR (pl_error_quark ())

/**
 * PlError:
 * @PL_ERROR_UNSUPPORTED_VERSION: result code 1
 * @PL_ERROR_NOT_AUTHORIZED: result code 2 (refused, or NAT-PMP switched off)
 * @PL_ERROR_NETWORK_FAILURE: result code 3 (e.g. the router has no public address)
 * @PL_ERROR_OUT_OF_RESOURCES: result code 4
 * @PL_ERROR_UNSUPPORTED_OPCODE: result code 5
 * @PL_ERROR_UNKNOWN_RESULT: any other non-zero result code (fatal for that request)
 * @PL_ERROR_TIMED_OUT: no answer after all retransmissions or the deadline
 * @PL_ERROR_REFUSED: ICMP port unreachable: no NAT-PMP service on the gateway
 * @PL_ERROR_NO_GATEWAY: no default gateway could be found
 * @PL_ERROR_MALFORMED_REPLY: a reply could not be parsed
 * @PL_ERROR_QUEUE_FULL: too many requests are queued for one gateway
 * @PL_ERROR_INVALID_ARGUMENT: a value given by the user or a file is out of range
 *
 * Errors in the `PL_ERROR` domain. Codes 1 to 5 equal the NAT-PMP result codes.
 * Socket errors stay in `G_IO_ERROR`.
 */
typedef enum
{
  PL_ERROR_UNSUPPORTED_VERSION = 1,
  PL_ERROR_NOT_AUTHORIZED = 2,
  PL_ERROR_NETWORK_FAILURE = 3,
  PL_ERROR_OUT_OF_RESOURCES = 4,
  PL_ERROR_UNSUPPORTED_OPCODE = 5,
  PL_ERROR_UNKNOWN_RESULT = 100,
  PL_ERROR_TIMED_OUT,
  PL_ERROR_REFUSED,
  PL_ERROR_NO_GATEWAY,
  PL_ERROR_MALFORMED_REPLY,
  PL_ERROR_QUEUE_FULL,
  PL_ERROR_INVALID_ARGUMENT,
} PlError;

GQuark   pl_error_quark            (void);

/* A GError for a non-zero NAT-PMP result code, with a plain, actionable, translated message
 * that names @gateway (e.g. "192.168.1.1"). Codes outside 1-5 give PL_ERROR_UNKNOWN_RESULT. */
GError  *pl_error_new_from_result  (guint        result_code,
                                    const char  *gateway);

/* TRUE for errors that are worth retrying later without a change on the user's side
 * (network failure, out of resources, timed out). */
gboolean pl_error_is_transient     (const GError *error);

G_END_DECLS
