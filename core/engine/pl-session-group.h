/* pl-session-group.h: one session per gateway the profiles name
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-session.h"

G_BEGIN_DECLS

#define PL_TYPE_SESSION_GROUP (pl_session_group_get_type ())

G_DECLARE_FINAL_TYPE (PlSessionGroup, pl_session_group, PL, SESSION_GROUP, GObject)

/**
 * PlSessionGroup:
 *
 * Several gateways at once: the profiles without Gateway= (and every lease) stay with the
 * primary session, which follows the default route; for every other Gateway= in use
 * (`vpn`, or an address such as the home router's) the group makes a session of its own,
 * with the primary's clock, protocol, method memory, stop timeout and
 * keep-mappings-on-exit (not its journal: PCP's records stay the primary's), that maps
 * those profiles on that gateway and nowhere else. A
 * session is made when a profile first names its gateway and lives as long as the group.
 *
 * Signals: `session-added (PlSession *session)`, for each session the group makes (not the
 * primary), before it is started.
 */

/* @primary: not started yet; the group serves it the default route's profiles. */
PlSessionGroup *pl_session_group_new          (PlSession        *primary);

PlSession      *pl_session_group_get_primary  (PlSessionGroup   *self);
/* Returns: (transfer none) (element-type PlSession): the primary first, then the others. */
GPtrArray      *pl_session_group_get_sessions (PlSessionGroup   *self);
/* Returns: (transfer none) (nullable): the session for Gateway= @gateway ("vpn", an
 * address; NULL or "default" for the primary), if one is made. */
PlSession      *pl_session_group_lookup       (PlSessionGroup   *self,
                                               const char       *gateway);

void            pl_session_group_start        (PlSessionGroup   *self);

/* Stops every session (pl_session_stop_async); the first error, if any. */
void            pl_session_group_stop_async   (PlSessionGroup   *self,
                                               GCancellable     *cancellable,
                                               GAsyncReadyCallback callback,
                                               gpointer          user_data);
gboolean        pl_session_group_stop_finish  (PlSessionGroup   *self,
                                               GAsyncResult     *result,
                                               GError          **error);

G_END_DECLS
