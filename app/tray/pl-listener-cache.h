/* pl-listener-cache.h: who listens on the profiles' ports, as last checked (no GTK)
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-core.h"

G_BEGIN_DECLS

#define PL_TYPE_LISTENER_CACHE (pl_listener_cache_get_type ())

G_DECLARE_FINAL_TYPE (PlListenerCache, pl_listener_cache, PL, LISTENER_CACHE, GObject)

/**
 * PlListenerCache:
 *
 * The answers of the last pl_listen_check_async() for a set of ports, and the checks that
 * keep them current: one at a time, a newer request waiting for the one in flight, and
 * `changed` emitted when answers arrive. It never checks by itself (no timer): the tray
 * menu asks when the active ports change and when a panel opens the menu.
 *
 * Threading: belongs to the thread-default main context it was created on.
 */

PlListenerCache      *pl_listener_cache_new    (void);
/* Checks @queries (copied), unless they are the ones last checked and @force is FALSE. With
 * a check in flight, this one runs once that one has answered. */
void                  pl_listener_cache_check  (PlListenerCache     *self,
                                                const PlListenQuery *queries,
                                                guint                n_queries,
                                                gboolean             force);
/* Returns: (nullable) (transfer none): the last answer for that port, NULL if not checked. */
const PlListenAnswer *pl_listener_cache_lookup (PlListenerCache     *self,
                                                PlProtocol           protocol,
                                                GSocketFamily        family,
                                                guint                port);
/* Forgets the answers and cancels a check in flight. */
void                  pl_listener_cache_clear  (PlListenerCache     *self);

G_END_DECLS
