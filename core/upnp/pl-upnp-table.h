/* pl-upnp-table.h: the router's table of port mappings, read over UPnP-IGD
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-types.h"
#include "pl-upnp-discovery.h"

G_BEGIN_DECLS

/* One row of the router's table, as the router reports it. Text fields are never NULL and
 * hold only printable ASCII (a router's odd bytes become '?'). */
typedef struct
{
  PlProtocol  protocol;
  guint16     external_port;
  guint16     internal_port;
  char       *internal_client;  /* the LAN address it forwards to */
  char       *remote_host;      /* "" for any */
  char       *description;
  guint32     lease;            /* seconds left; 0 = permanent */
  gboolean    enabled;
} PlUpnpEntry;

void         pl_upnp_entry_free        (PlUpnpEntry *entry);
PlUpnpEntry *pl_upnp_entry_copy        (const PlUpnpEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlUpnpEntry, pl_upnp_entry_free)

/* The most rows read; a router that never says "end of list" stops here. */
#define PL_UPNP_TABLE_MAX_ENTRIES 1024

/* Reads every row (GetGenericPortMappingEntry from index 0 until the router says the index
 * is past the end, 713, or refuses it). A row that cannot be read (an answer that is not
 * valid XML: some routers put garbage after a long description) is skipped and counted in
 * @n_unreadable; the rest of the table is still read. */
void       pl_upnp_table_list_async    (PlUpnpDiscovery      *discovery,
                                        GCancellable         *cancellable,
                                        GAsyncReadyCallback   callback,
                                        gpointer              user_data);
/* (element-type PlUpnpEntry) (transfer container), in the router's order. */
GPtrArray *pl_upnp_table_list_finish   (PlUpnpDiscovery      *discovery,
                                        GAsyncResult         *result,
                                        guint                *n_unreadable,
                                        GError              **error);

/* GetSpecificPortMappingEntry: the row for @protocol and @external_port, or NULL with
 * PL_ERROR_NOT_FOUND (714) or another PL_ERROR. */
void         pl_upnp_table_get_async   (PlUpnpDiscovery      *discovery,
                                        PlProtocol            protocol,
                                        guint16               external_port,
                                        GCancellable         *cancellable,
                                        GAsyncReadyCallback   callback,
                                        gpointer              user_data);
PlUpnpEntry *pl_upnp_table_get_finish  (PlUpnpDiscovery      *discovery,
                                        GAsyncResult         *result,
                                        GError              **error);

/* "TCP"/"UDP" in any case; FALSE for anything else. */
gboolean     pl_upnp_protocol_parse    (const char           *text,
                                        PlProtocol           *out);

G_END_DECLS
