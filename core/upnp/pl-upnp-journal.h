/* pl-upnp-journal.h: an engine's UPnP-IGD mappings in its journal (private to core/upnp)
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-pcp-state.h"
#include "pl-types.h"

G_BEGIN_DECLS

void                pl_upnp_journal_put    (PlPcpState    *journal,
                                            GInetAddress  *gateway,
                                            const char    *internal,
                                            const char    *interface,
                                            PlProtocol     protocol,
                                            guint16        internal_port,
                                            guint16        external_port,
                                            guint32        lease);
void                pl_upnp_journal_forget (PlPcpState    *journal,
                                            GInetAddress  *gateway,
                                            GSocketFamily  family,
                                            PlProtocol     protocol,
                                            guint16        internal_port);
/* The batch a request joins (pl-pcp-state.c, "Batches"): pl_upnp_journal_hold() holds
 * @journal until the answer and calls @send with @task (transfer full) once what was put is
 * on disk; pl_upnp_journal_release() ends the hold (NULL-safe, clears *@held). */
typedef void (*PlUpnpJournalSend) (GTask *task);

PlPcpState         *pl_upnp_journal_hold    (PlPcpState        *journal,
                                             GTask             *task,
                                             PlUpnpJournalSend  send);
void                pl_upnp_journal_release (PlPcpState       **held);
guint16             pl_upnp_journal_port   (PlPcpState   *journal,
                                            GInetAddress *gateway,
                                            PlProtocol    protocol,
                                            guint16       internal_port);

G_END_DECLS
