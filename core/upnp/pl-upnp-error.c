/* pl-upnp-error.c: UPnP-IGD error codes as PL_ERROR
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <libgupnp/gupnp.h>

#include "pl-error.h"
#include "pl-upnp-description.h"
#include "pl-upnp-error.h"

guint
pl_upnp_error_get_code (const GError *error)
{
  if (error == NULL || error->domain != GUPNP_CONTROL_ERROR || error->code <= 0)
    return 0;
  return (guint) error->code;
}

gboolean
pl_upnp_error_is_transport (const GError *error)
{
  if (error == NULL || error->domain != G_IO_ERROR)
    return FALSE;
  return error->code == G_IO_ERROR_CONNECTION_REFUSED ||
         error->code == G_IO_ERROR_CONNECTION_CLOSED ||
         error->code == G_IO_ERROR_BROKEN_PIPE ||
         error->code == G_IO_ERROR_HOST_UNREACHABLE ||
         error->code == G_IO_ERROR_NETWORK_UNREACHABLE ||
         error->code == G_IO_ERROR_TIMED_OUT ||
         error->code == G_IO_ERROR_FAILED;
}

/**
 * pl_upnp_error_new:
 * @error: the error a SOAP call ended with
 * @port: the public port the request was about, or 0
 * @gateway: the router's address as text
 *
 * The messages follow what each code means on real routers (miniupnpd 2.3.1 and the
 * field reports behind docs of other clients): 606 is the router's rules, usually a port
 * below 1024; 718 a port another device holds; 501 a router that failed for its own reasons.
 *
 * Returns: (transfer full): a new `PL_ERROR`
 */
GError *
pl_upnp_error_new (const GError *error,
                   guint16       port,
                   const char   *gateway)
{
  guint code = pl_upnp_error_get_code (error);
  /* "port 8080" or "this port", and the same at the start of a sentence */
  g_autofree char *port_text = port != 0 ? g_strdup_printf (_("port %u"), port)
                                         : g_strdup (_("this port"));
  g_autofree char *Port_text = port != 0 ? g_strdup_printf (_("Port %u"), port)
                                         : g_strdup (_("This port"));

  g_return_val_if_fail (error != NULL, NULL);
  g_return_val_if_fail (gateway != NULL, NULL);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_error_copy (error);

  if (error->domain == G_IO_ERROR)
    {
      if (error->code == G_IO_ERROR_TIMED_OUT)
        return g_error_new (PL_ERROR, PL_ERROR_TIMED_OUT,
                            _("The router at %s is not answering UPnP requests"), gateway);
      return g_error_new (PL_ERROR, PL_ERROR_REFUSED,
                          _("The router at %s no longer answers at its UPnP address (it may "
                            "have restarted): %s"), gateway, error->message);
    }

  if (error->domain == GUPNP_SERVER_ERROR || error->domain == GUPNP_XML_ERROR)
    return g_error_new (PL_ERROR, PL_ERROR_MALFORMED_REPLY,
                        _("The router at %s gave an invalid UPnP answer"), gateway);

  if (code == 0)
    return g_error_new (PL_ERROR, PL_ERROR_UNKNOWN_RESULT,
                        _("The UPnP request to the router at %s failed: %s"), gateway,
                        error->message);

  switch (code)
    {
    case PL_UPNP_CODE_CONFLICT:
      return g_error_new (PL_ERROR, PL_ERROR_PORT_IN_USE,
                          _("%s is already forwarded to another device on your network"),
                          Port_text);
    case PL_UPNP_CODE_CONFLICT_WITH_OTHER:
      return g_error_new (PL_ERROR, PL_ERROR_PORT_IN_USE,
                          _("%s is already in use on the router itself"), Port_text);
    case PL_UPNP_CODE_NOT_AUTHORIZED:
      return g_error_new (PL_ERROR, PL_ERROR_NOT_AUTHORIZED,
                          _("Your router's UPnP settings do not allow forwarding %s "
                            "(routers often refuse ports below 1024)"), port_text);
    case PL_UPNP_CODE_SAME_PORT_REQUIRED:
      return g_error_new (PL_ERROR, PL_ERROR_NOT_AUTHORIZED,
                          _("The router at %s needs the same public and private port"),
                          gateway);
    case PL_UPNP_CODE_NO_PORT_MAPS_AVAILABLE:
      return g_error_new (PL_ERROR, PL_ERROR_OUT_OF_RESOURCES,
                          _("The router's port-forwarding table is full"));
    case PL_UPNP_CODE_NO_SUCH_ENTRY:
    case PL_UPNP_CODE_ARRAY_INDEX_INVALID:
      return g_error_new (PL_ERROR, PL_ERROR_NOT_FOUND,
                          _("The router at %s holds no mapping of %s"), gateway,
                          port_text);
    case PL_UPNP_CODE_INVALID_ARGS:
    case PL_UPNP_CODE_WILDCARD_EXTERNAL_PORT:
      return g_error_new (PL_ERROR, PL_ERROR_MALFORMED_REQUEST,
                          _("The router at %s rejected the request"), gateway);
    case PL_UPNP_CODE_ACTION_FAILED:
      return g_error_new (PL_ERROR, PL_ERROR_NETWORK_FAILURE,
                          _("The router at %s failed to open the port"), gateway);
    case PL_UPNP_CODE_INVALID_ACTION:
      return g_error_new (PL_ERROR, PL_ERROR_UNSUPPORTED_OPCODE,
                          _("The router at %s does not support this UPnP request"), gateway);
    case PL_UPNP_CODE_PERMANENT_ONLY:
      return g_error_new (PL_ERROR, PL_ERROR_NOT_AUTHORIZED,
                          _("The router at %s only takes permanent port forwardings"),
                          gateway);
    default:
      {
        /* The router's own text, made safe to show. */
        g_autofree char *text = pl_upnp_description_sanitize (error->message);

        return g_error_new (PL_ERROR, PL_ERROR_UNKNOWN_RESULT,
                            _("The router at %s refused with UPnP error %u (%s)"), gateway,
                            code, text);
      }
    }
}

/**
 * pl_upnp_error_new_pinhole:
 * @error: the error a SOAP call of the WANIPv6FirewallControl service ended with
 * @port: the pinhole's port on this computer
 * @client: this computer's IPv6 address the pinhole is for
 * @gateway: the router's address as text
 *
 * miniupnpd 2.3.1 answers 606 when the port is below 1024 or the pinhole is for another
 * address than the one the request came from, and 402 for an unknown UniqueID, a lease out
 * of 1–86400 s or an unparsable argument (tests/lab/MINIUPNPD.md).
 *
 * Returns: (transfer full): a new `PL_ERROR`
 */
GError *
pl_upnp_error_new_pinhole (const GError *error,
                           guint16       port,
                           const char   *client,
                           const char   *gateway)
{
  guint code = pl_upnp_error_get_code (error);

  g_return_val_if_fail (error != NULL, NULL);
  g_return_val_if_fail (client != NULL && gateway != NULL, NULL);

  switch (code)
    {
    case PL_UPNP_CODE_NOT_AUTHORIZED:
      if (port < 1024)
        return g_error_new (PL_ERROR, PL_ERROR_NOT_AUTHORIZED,
                            _("Your router's UPnP settings do not allow an IPv6 pinhole for "
                              "port %u: routers refuse ports below 1024"), port);
      return g_error_new (PL_ERROR, PL_ERROR_NOT_AUTHORIZED,
                          _("The router at %s refused the IPv6 pinhole for [%s]:%u (routers "
                            "open pinholes only for the address a request comes from)"),
                          gateway, client, port);
    case PL_UPNP_CODE_INVALID_ARGS:
      return g_error_new (PL_ERROR, PL_ERROR_MALFORMED_REQUEST,
                          _("The router at %s rejected the IPv6 pinhole request"), gateway);
    case PL_UPNP_CODE_PINHOLE_SPACE_EXHAUSTED:
      return g_error_new (PL_ERROR, PL_ERROR_OUT_OF_RESOURCES,
                          _("The router's table of IPv6 pinholes is full"));
    case PL_UPNP_CODE_FIREWALL_DISABLED:
      return g_error_new (PL_ERROR, PL_ERROR_UNSUPPORTED_OPCODE,
                          _("The router at %s has its IPv6 firewall switched off: it opens no "
                            "pinholes (nothing on IPv6 is blocked by it)"), gateway);
    case PL_UPNP_CODE_INBOUND_PINHOLE_NOT_ALLOWED:
      return g_error_new (PL_ERROR, PL_ERROR_NOT_AUTHORIZED,
                          _("The router at %s does not allow IPv6 pinholes (see its firewall "
                            "settings)"), gateway);
    case PL_UPNP_CODE_NO_SUCH_PINHOLE:
      return g_error_new (PL_ERROR, PL_ERROR_NOT_FOUND,
                          _("The router at %s holds no such IPv6 pinhole"), gateway);
    case PL_UPNP_CODE_PROTOCOL_NOT_SUPPORTED:
      return g_error_new (PL_ERROR, PL_ERROR_UNSUPPORTED_PROTOCOL,
                          _("The router at %s opens no IPv6 pinholes for this protocol"),
                          gateway);
    case PL_UPNP_CODE_INTERNAL_PORT_WILDCARD:
    case PL_UPNP_CODE_PROTOCOL_WILDCARD:
    case PL_UPNP_CODE_SOURCE_WILDCARD:
      return g_error_new (PL_ERROR, PL_ERROR_MALFORMED_REQUEST,
                          _("The router at %s rejected the IPv6 pinhole request"), gateway);
    case PL_UPNP_CODE_NO_PACKET_SENT:
      return g_error_new (PL_ERROR, PL_ERROR_UNKNOWN_RESULT,
                          _("The router at %s has seen no traffic through the IPv6 pinhole"),
                          gateway);
    default:
      return pl_upnp_error_new (error, port, gateway);
    }
}
