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
 * @PL_ERROR_NOT_AUTHORIZED: the router refused (its rules, or the service is switched off)
 * @PL_ERROR_NETWORK_FAILURE: the router has a network problem (e.g. no public address yet)
 * @PL_ERROR_OUT_OF_RESOURCES: the router cannot create more mappings now
 * @PL_ERROR_UNSUPPORTED_VERSION: the router does not speak this version of the protocol
 * @PL_ERROR_UNSUPPORTED_OPCODE: the router does not support this kind of request
 * @PL_ERROR_UNKNOWN_RESULT: a result code this program does not know (fatal for that request)
 * @PL_ERROR_TIMED_OUT: no answer after all retransmissions or the deadline
 * @PL_ERROR_REFUSED: ICMP port unreachable: no such service on the gateway
 * @PL_ERROR_NO_GATEWAY: no default gateway could be found
 * @PL_ERROR_MALFORMED_REPLY: a reply could not be parsed
 * @PL_ERROR_QUEUE_FULL: too many requests are queued for one gateway
 * @PL_ERROR_INVALID_ARGUMENT: a value given by the user or a file is out of range
 * @PL_ERROR_MALFORMED_REQUEST: the router could not parse our request
 * @PL_ERROR_UNSUPPORTED_OPTION: the router does not support an option we sent
 * @PL_ERROR_MALFORMED_OPTION: the router found an option we sent malformed
 * @PL_ERROR_UNSUPPORTED_PROTOCOL: the router cannot map this transport protocol
 * @PL_ERROR_QUOTA_EXCEEDED: this computer holds as many mappings as the router allows it
 * @PL_ERROR_CANNOT_PROVIDE_EXTERNAL: the router cannot give the public port or address asked for
 * @PL_ERROR_ADDRESS_MISMATCH: the router saw another source address than the one we sent
 *   (another NAT between this computer and the router)
 * @PL_ERROR_EXCESSIVE_REMOTE_PEERS: the router cannot handle that many remote peers
 * @PL_ERROR_PORT_IN_USE: the public port is forwarded to another device, or used by the
 *   router itself (UPnP-IGD's 718 and 729)
 * @PL_ERROR_NOT_FOUND: the router holds no such mapping (UPnP-IGD's 714)
 *
 * Errors in the `PL_ERROR` domain. The codes are Portlight's own and name what happened, not
 * a protocol's wire number: each protocol turns its result codes into these
 * (pl_natpmp_error_new(), pl_pcp_error_new()). Socket errors stay in `G_IO_ERROR`.
 */
typedef enum
{
  PL_ERROR_NOT_AUTHORIZED = 1,
  PL_ERROR_NETWORK_FAILURE,
  PL_ERROR_OUT_OF_RESOURCES,
  PL_ERROR_UNSUPPORTED_VERSION,
  PL_ERROR_UNSUPPORTED_OPCODE,
  PL_ERROR_UNKNOWN_RESULT,
  PL_ERROR_TIMED_OUT,
  PL_ERROR_REFUSED,
  PL_ERROR_NO_GATEWAY,
  PL_ERROR_MALFORMED_REPLY,
  PL_ERROR_QUEUE_FULL,
  PL_ERROR_INVALID_ARGUMENT,
  PL_ERROR_MALFORMED_REQUEST,
  PL_ERROR_UNSUPPORTED_OPTION,
  PL_ERROR_MALFORMED_OPTION,
  PL_ERROR_UNSUPPORTED_PROTOCOL,
  PL_ERROR_QUOTA_EXCEEDED,
  PL_ERROR_CANNOT_PROVIDE_EXTERNAL,
  PL_ERROR_ADDRESS_MISMATCH,
  PL_ERROR_EXCESSIVE_REMOTE_PEERS,
  PL_ERROR_PORT_IN_USE,
  PL_ERROR_NOT_FOUND,
} PlError;

GQuark   pl_error_quark            (void);

/* PL_ERROR_TIMED_OUT: "No answer from @gateway after @attempts attempts in @total_ms" (the
 * seconds printed without trailing zeros: 127.75, 1.5, 64). */
GError  *pl_error_new_timed_out    (const char  *gateway,
                                    guint        attempts,
                                    guint        total_ms);

/* TRUE for errors that are worth retrying later without a change on the user's side
 * (network failure, out of resources, timed out). */
gboolean pl_error_is_transient     (const GError *error);

/* TRUE for a gateway's refusal of a map request that suggested port 0 ("any"), which is worth
 * asking again with the private port suggested (some gateways do not choose). */
gboolean pl_error_refuses_any_port (const GError *error);

G_END_DECLS
