/* pl-broker-error.c: the broker's named D-Bus errors
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-broker-error.h"
#include "pl-error.h"

static const GDBusErrorEntry entries[] = {
  { PL_BROKER_ERROR_NO_GATEWAY, PL_BROKER_ERROR_PREFIX "NoGateway" },
  { PL_BROKER_ERROR_UNSUPPORTED, PL_BROKER_ERROR_PREFIX "Unsupported" },
  { PL_BROKER_ERROR_NOT_AUTHORIZED, PL_BROKER_ERROR_PREFIX "NotAuthorized" },
  { PL_BROKER_ERROR_OUT_OF_RESOURCES, PL_BROKER_ERROR_PREFIX "OutOfResources" },
  { PL_BROKER_ERROR_NETWORK_FAILURE, PL_BROKER_ERROR_PREFIX "NetworkFailure" },
  { PL_BROKER_ERROR_EXTERNAL_PORT_UNAVAILABLE, PL_BROKER_ERROR_PREFIX "ExternalPortUnavailable" },
  { PL_BROKER_ERROR_PORT_IN_USE, PL_BROKER_ERROR_PREFIX "PortInUse" },
  { PL_BROKER_ERROR_TIMEOUT, PL_BROKER_ERROR_PREFIX "Timeout" },
  { PL_BROKER_ERROR_LIMIT_EXCEEDED, PL_BROKER_ERROR_PREFIX "LimitExceeded" },
  { PL_BROKER_ERROR_NOT_PERMITTED, PL_BROKER_ERROR_PREFIX "NotPermitted" },
  { PL_BROKER_ERROR_REVOKED, PL_BROKER_ERROR_PREFIX "Revoked" },
};

GQuark
pl_broker_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("pl-broker-error-quark", &quark, entries,
                                      G_N_ELEMENTS (entries));
  return (GQuark) quark;
}

const char *
pl_broker_error_to_name (PlBrokerError code)
{
  for (gsize i = 0; i < G_N_ELEMENTS (entries); i++)
    if (entries[i].error_code == (gint) code)
      return entries[i].dbus_error_name;
  g_return_val_if_reached (NULL);
}

PlBrokerError
pl_broker_error_from_engine (const GError *error)
{
  g_return_val_if_fail (error != NULL, PL_BROKER_ERROR_NETWORK_FAILURE);

  if (error->domain == PL_BROKER_ERROR)
    return (PlBrokerError) error->code;
  if (error->domain != PL_ERROR)
    return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)
           ? PL_BROKER_ERROR_TIMEOUT : PL_BROKER_ERROR_NETWORK_FAILURE;

  switch (error->code)
    {
    case PL_ERROR_NO_GATEWAY:
      return PL_BROKER_ERROR_NO_GATEWAY;
    case PL_ERROR_NOT_AUTHORIZED:
      return PL_BROKER_ERROR_NOT_AUTHORIZED;
    case PL_ERROR_OUT_OF_RESOURCES:
    case PL_ERROR_QUOTA_EXCEEDED:
    case PL_ERROR_QUEUE_FULL:
      return PL_BROKER_ERROR_OUT_OF_RESOURCES;
    case PL_ERROR_UNSUPPORTED_VERSION:
    case PL_ERROR_UNSUPPORTED_OPCODE:
    case PL_ERROR_UNSUPPORTED_PROTOCOL:
    case PL_ERROR_REFUSED:
      return PL_BROKER_ERROR_UNSUPPORTED;
    case PL_ERROR_TIMED_OUT:
      return PL_BROKER_ERROR_TIMEOUT;
    case PL_ERROR_CANNOT_PROVIDE_EXTERNAL:
    case PL_ERROR_PORT_IN_USE:
      return PL_BROKER_ERROR_EXTERNAL_PORT_UNAVAILABLE;
    default:
      return PL_BROKER_ERROR_NETWORK_FAILURE;
    }
}

gboolean
pl_broker_error_is_final (const GError *error)
{
  g_return_val_if_fail (error != NULL, FALSE);

  switch (pl_broker_error_from_engine (error))
    {
    case PL_BROKER_ERROR_NOT_AUTHORIZED:
    case PL_BROKER_ERROR_UNSUPPORTED:
    case PL_BROKER_ERROR_EXTERNAL_PORT_UNAVAILABLE:
    case PL_BROKER_ERROR_REVOKED:
      return TRUE;
    default:
      return FALSE;
    }
}
