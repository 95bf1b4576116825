/* pl-upnp-error.h: UPnP-IGD error codes as PL_ERROR
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The UPnP error codes an IGD answers with (UPnP Device Architecture 1.0 section 3.2.2 and
 * the WANIPConnection:2 service, section 2.5) that Portlight reacts to. */
typedef enum
{
  PL_UPNP_CODE_INVALID_ACTION = 401,
  PL_UPNP_CODE_INVALID_ARGS = 402,
  PL_UPNP_CODE_ACTION_FAILED = 501,
  PL_UPNP_CODE_NOT_AUTHORIZED = 606,
  PL_UPNP_CODE_ARRAY_INDEX_INVALID = 713,
  PL_UPNP_CODE_NO_SUCH_ENTRY = 714,
  PL_UPNP_CODE_WILDCARD_EXTERNAL_PORT = 716,
  PL_UPNP_CODE_CONFLICT = 718,
  PL_UPNP_CODE_SAME_PORT_REQUIRED = 724,
  PL_UPNP_CODE_PERMANENT_ONLY = 725,
  PL_UPNP_CODE_NO_PORT_MAPS_AVAILABLE = 728,
  PL_UPNP_CODE_CONFLICT_WITH_OTHER = 729,
  /* WANIPv6FirewallControl:1, section 2.4 */
  PL_UPNP_CODE_PINHOLE_SPACE_EXHAUSTED = 701,
  PL_UPNP_CODE_FIREWALL_DISABLED = 702,
  PL_UPNP_CODE_INBOUND_PINHOLE_NOT_ALLOWED = 703,
  PL_UPNP_CODE_NO_SUCH_PINHOLE = 704,
  PL_UPNP_CODE_PROTOCOL_NOT_SUPPORTED = 705,
  PL_UPNP_CODE_INTERNAL_PORT_WILDCARD = 706,
  PL_UPNP_CODE_PROTOCOL_WILDCARD = 707,
  PL_UPNP_CODE_SOURCE_WILDCARD = 708,
  PL_UPNP_CODE_NO_PACKET_SENT = 709,
} PlUpnpCode;

/* Turns the failure of a SOAP call into a PL_ERROR with a plain message: a UPnP error code
 * (GUPNP_CONTROL_ERROR), a transport error (G_IO_ERROR: refused, timed out), an answer that
 * is not SOAP (GUPNP_SERVER_ERROR), or anything else. @port is the public port the request
 * was about (0: none), @gateway the router's address as text. Pure: no I/O. */
GError *pl_upnp_error_new         (const GError *error,
                                   guint16       port,
                                   const char   *gateway);

/* The same for a request of the WANIPv6FirewallControl service about the IPv6 pinhole of
 * @port on this computer's address @client: its codes 701–709, and 606 and 402 as they mean
 * there; anything else as pl_upnp_error_new(). Pure: no I/O. */
GError *pl_upnp_error_new_pinhole (const GError *error,
                                   guint16       port,
                                   const char   *client,
                                   const char   *gateway);

/* The UPnP error code in @error, or 0 when it is not a UPnP error answer. */
guint   pl_upnp_error_get_code    (const GError *error);

/* TRUE for a transport failure that means the router's control URL is no longer valid
 * (connection refused or reset, host unreachable, timed out): the router restarted or died. */
gboolean pl_upnp_error_is_transport (const GError *error);

G_END_DECLS
