/* pl-notifier.h: tells the user what happened on the router, one notification per burst
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-core.h"
#include "pl-engine-client.h"

G_BEGIN_DECLS

/* Delivers @notification, whose @title and @body are given too (tests replace
 * g_application_send_notification() with this). */
typedef void (*PlNotifierSendFunc) (const char    *id,
                                    GNotification *notification,
                                    const char    *title,
                                    const char    *body,
                                    gpointer       user_data);

/* Quiet time after the last event before a burst is sent, and the longest a burst waits. */
#define PL_NOTIFIER_DEFAULT_QUIET_MS 1500
#define PL_NOTIFIER_DEFAULT_MAX_MS   10000

/* The id of the one notification Portlight shows (each burst replaces the last). */
#define PL_NOTIFIER_ID "portlight-events"

#define PL_TYPE_NOTIFIER (pl_notifier_get_type ())

G_DECLARE_FINAL_TYPE (PlNotifier, pl_notifier, PL, NOTIFIER, GObject)

/**
 * PlNotifier:
 *
 * Follows a [class@Pl.Session] and sends a GNotification when something happens that the
 * user should know about:
 *
 * - the router restarted (or lost its mappings) and N mappings were restored;
 * - a mapping failed, and why (once per distinct reason; "no router" is shown by the icon
 *   instead);
 * - the public address changed;
 * - the router gave another public port than the one asked for.
 *
 * Events are collected and sent together: a burst ends after a quiet time (1.5 s without
 * events, longer while a restarted router's mappings are still being restored, at most
 * 10 s), then one notification sums it up. Timers run on the session's clock.
 *
 * With `enabled` off nothing is sent, but events are still tracked so that switching it on
 * later does not replay old news.
 */

/* @application: (nullable): where notifications go by default (not referenced). */
PlNotifier *pl_notifier_new             (GApplication       *application,
                                         PlSession          *session,
                                         PlProfileStore     *store);

/* Follows @session from now on instead of the one it had. The public address last seen is
 * kept, so the new session finding the same one is not news. */
void        pl_notifier_set_session     (PlNotifier         *self,
                                         PlSession          *session);
/* As the engine's client: "Router restarted" when its GatewayRebootedAt moves on, and the
 * port notification when a profile's public port changes. NULL: none. */
void        pl_notifier_set_engine      (PlNotifier         *self,
                                         PlEngineClient     *engine);
gboolean    pl_notifier_get_enabled     (PlNotifier         *self);
void        pl_notifier_set_enabled     (PlNotifier         *self,
                                         gboolean            enabled);
void        pl_notifier_set_send_func   (PlNotifier         *self,
                                         PlNotifierSendFunc  func,
                                         gpointer            user_data);
void        pl_notifier_set_delays      (PlNotifier         *self,
                                         guint               quiet_ms,
                                         guint               max_ms);
/* Whether a burst is being collected. */
gboolean    pl_notifier_is_pending      (PlNotifier         *self);
/* Sends what was collected now. */
void        pl_notifier_flush           (PlNotifier         *self);
/* Sends a notification about a local problem at once (if enabled), e.g. a failed save. */
void        pl_notifier_notify_error    (PlNotifier         *self,
                                         const char         *title,
                                         const char         *body);

G_END_DECLS
