/* pl-broker-error.h: the broker's named D-Bus errors
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The prefix of every error name: io.github.portlight.Portlight.Broker1.Error.<Name>. */
#define PL_BROKER_ERROR_PREFIX "io.github.portlight.Portlight.Broker1.Error."

/**
 * PlBrokerError:
 * @PL_BROKER_ERROR_NO_GATEWAY: there is no default gateway
 * @PL_BROKER_ERROR_UNSUPPORTED: the gateway speaks no protocol the broker knows
 * @PL_BROKER_ERROR_NOT_AUTHORIZED: the gateway refused the mapping
 * @PL_BROKER_ERROR_OUT_OF_RESOURCES: the gateway cannot create more mappings
 * @PL_BROKER_ERROR_NETWORK_FAILURE: the gateway has a network problem
 * @PL_BROKER_ERROR_EXTERNAL_PORT_UNAVAILABLE: another public port was granted than the one
 *   required
 * @PL_BROKER_ERROR_PORT_IN_USE: another claim holds the port with other settings
 * @PL_BROKER_ERROR_TIMEOUT: the gateway did not answer
 * @PL_BROKER_ERROR_LIMIT_EXCEEDED: the caller (or everyone together) holds too many leases
 * @PL_BROKER_ERROR_NOT_PERMITTED: the policy does not allow this caller to do that
 * @PL_BROKER_ERROR_REVOKED: the user ended the lease
 *
 * Registered with GDBus, so that a client's #GError carries the same code and
 * g_dbus_error_get_remote_error() the name.
 */
typedef enum
{
  PL_BROKER_ERROR_NO_GATEWAY,
  PL_BROKER_ERROR_UNSUPPORTED,
  PL_BROKER_ERROR_NOT_AUTHORIZED,
  PL_BROKER_ERROR_OUT_OF_RESOURCES,
  PL_BROKER_ERROR_NETWORK_FAILURE,
  PL_BROKER_ERROR_EXTERNAL_PORT_UNAVAILABLE,
  PL_BROKER_ERROR_PORT_IN_USE,
  PL_BROKER_ERROR_TIMEOUT,
  PL_BROKER_ERROR_LIMIT_EXCEEDED,
  PL_BROKER_ERROR_NOT_PERMITTED,
  PL_BROKER_ERROR_REVOKED,
} PlBrokerError;

#define PL_BROKER_ERROR (pl_broker_error_quark ())
GQuark      pl_broker_error_quark        (void);

/* The D-Bus name of @code, e.g. "io.github.portlight.Portlight.Broker1.Error.PortInUse". */
const char *pl_broker_error_to_name      (PlBrokerError  code);

/* The broker error a mapping's engine error (PL_ERROR, G_IO_ERROR) stands for. */
PlBrokerError pl_broker_error_from_engine (const GError *error);

/* TRUE when the engine gives up on @error until the network changes ("failed" rather than
 * "pending"). */
gboolean    pl_broker_error_is_final     (const GError *error);

G_END_DECLS
