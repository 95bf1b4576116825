/* pl-router-window.h: the window that shows what is open on the router
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "pl-core.h"

G_BEGIN_DECLS

#define PL_TYPE_ROUTER_WINDOW (pl_router_window_get_type ())

G_DECLARE_FINAL_TYPE (PlRouterWindow, pl_router_window, PL, ROUTER_WINDOW, GtkApplicationWindow)

/**
 * PlRouterWindow:
 *
 * Lists the router's table of port mappings, read over UPnP-IGD whatever protocol the
 * session maps with (PCP and NAT-PMP cannot list a table). The window has a
 * [class@Pl.UpnpClient] of its own for the session's gateway; it reads the table when it
 * opens, again a moment after every `table-changed` event (bursts are read once), and anew
 * when the session's gateway changes.
 *
 * Each row shows the protocol, the public port, where it leads, whose it is (a profile's
 * name when a mapping of the session matches its protocol and public port, "Portlight",
 * "This computer" or "Another device (ADDRESS)"), the description and the time left.
 * A mapping of this computer that no profile claims can be kept as a profile (added to the
 * store and saved); this computer's mappings can be removed (the router decides; a refusal
 * is shown in the window).
 *
 * Widget names, for tests: the rows are `row:tcp:PORT` / `row:udp:PORT` with the labels
 * `ports`, `owner`, `description`, `lease` and the buttons `keep`, `remove`; the window has
 * `spinner`, `stack` (pages `loading`, `list`, `empty`, `unavailable`), `unavailable-label`,
 * `retry`, `refresh`, `message-bar` and `message-label`.
 */

PlRouterWindow *pl_router_window_new        (GtkApplication *application,
                                             PlSession      *session,
                                             PlProfileStore *store);

/* Reads the table again now. */
void            pl_router_window_refresh    (PlRouterWindow *self);
/* TRUE while the table is being read or a mapping removed. */
gboolean        pl_router_window_is_busy    (PlRouterWindow *self);
/* How many times the table was read successfully since the window opened. */
guint           pl_router_window_get_n_reads (PlRouterWindow *self);

G_END_DECLS
