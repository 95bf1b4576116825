/* pl-upnp-call.h: one SOAP action on the gateway's IGD, surviving a router restart
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <libgupnp/gupnp.h>

#include "pl-upnp-discovery.h"

G_BEGIN_DECLS

typedef struct _PlUpnpArgs PlUpnpArgs;

/* The in-arguments of an action, in order. Every argument is always sent: routers answer
 * 402 or 501 for missing ones. */
PlUpnpArgs *pl_upnp_args_new        (void);
void        pl_upnp_args_free       (PlUpnpArgs  *args);
void        pl_upnp_args_add_string (PlUpnpArgs  *args,
                                     const char  *name,
                                     const char  *value);
void        pl_upnp_args_add_uint   (PlUpnpArgs  *args,
                                     const char  *name,
                                     guint        value);
void        pl_upnp_args_add_bool   (PlUpnpArgs  *args,
                                     const char  *name,
                                     gboolean     value);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlUpnpArgs, pl_upnp_args_free)

/* Calls @action with @args (transfer full) on the service @discovery has chosen, waiting up
 * to the discovery verdict for one. A transport failure other than a timeout (the control
 * URL of a router that restarted on a new HTTP port refuses) drops that proxy and tries once
 * more on the next one found. */
void                     pl_upnp_call_async  (PlUpnpDiscovery      *discovery,
                                              const char           *action,
                                              PlUpnpArgs           *args,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
/* The answered action (transfer full), to read out-arguments with
 * gupnp_service_proxy_action_get_result(); NULL with the raw error (GUPNP_CONTROL_ERROR with
 * the UPnP code, G_IO_ERROR, GUPNP_SERVER_ERROR, or PL_ERROR when no router was found). */
GUPnPServiceProxyAction *pl_upnp_call_finish (PlUpnpDiscovery      *discovery,
                                              GAsyncResult         *result,
                                              GError              **error);

G_END_DECLS
