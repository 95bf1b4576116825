/* pl-announce-listener.h: receives gateway announcements on 224.0.0.1:5350
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PL_TYPE_ANNOUNCE_LISTENER (pl_announce_listener_get_type ())

G_DECLARE_FINAL_TYPE (PlAnnounceListener, pl_announce_listener, PL, ANNOUNCE_LISTENER, GObject)

/* @port: 0 for PL_NATPMP_CLIENT_PORT (5350). */
PlAnnounceListener *pl_announce_listener_new        (guint16              port,
                                                     GError             **error);
/* ff02::1, where a PCP server announces itself over IPv6 */
#define PL_PCP_ANNOUNCE_GROUP6 "ff02::1"
PlAnnounceListener *pl_announce_listener_new_for_family
                                                    (GSocketFamily        family,
                                                     guint16              port,
                                                     GError             **error);
guint16             pl_announce_listener_get_port   (PlAnnounceListener  *self);
/* @iface: (nullable): an interface name such as "eth0" or "lo"; NULL lets the kernel pick. */
gboolean            pl_announce_listener_join       (PlAnnounceListener  *self,
                                                     const char          *iface,
                                                     GError             **error);
void                pl_announce_listener_leave_all  (PlAnnounceListener  *self);

G_END_DECLS
