/* pl-method.h: the port-mapping protocols by name
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * PlMethod:
 * @PL_METHOD_AUTO: probe, preferring PCP, then NAT-PMP, then UPnP-IGD
 * @PL_METHOD_PCP: PCP (RFC 6887) only
 * @PL_METHOD_NATPMP: NAT-PMP (RFC 6886) only
 * @PL_METHOD_UPNP: UPnP-IGD (WANIPConnection) only
 *
 * The port-mapping protocol to use with a gateway.
 */
typedef enum
{
  PL_METHOD_AUTO,
  PL_METHOD_PCP,
  PL_METHOD_NATPMP,
  PL_METHOD_UPNP,
} PlMethod;

/* "auto", "pcp", "natpmp", "upnp" (as on the command line and in settings). FALSE for other text. */
gboolean      pl_method_from_string         (const char          *text,
                                             PlMethod            *out);
const char   *pl_method_to_string           (PlMethod             method);

G_END_DECLS
