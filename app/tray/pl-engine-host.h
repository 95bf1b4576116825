/* pl-engine-host.h: the engine hosted in the tray, where none runs and none can be activated
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-broker.h"
#include "pl-session-group.h"

G_BEGIN_DECLS

#define PL_TYPE_ENGINE_HOST (pl_engine_host_get_type ())

G_DECLARE_FINAL_TYPE (PlEngineHost, pl_engine_host, PL, ENGINE_HOST, GObject)

/**
 * PlEngineHost:
 *
 * The per-user engine inside the tray (dbus-broker.md §1, "not activatable"): the engine
 * lock, a [class@Pl.Broker] over the user's profiles, and the broker's bus name owned on a
 * second connection to the session bus of its own (§2.2), never on the GApplication's
 * connection. The tray's [class@Pl.Session] maps pl_engine_host_get_profiles(); its group
 * (the primary and one session per other Gateway=) is handed over with
 * pl_engine_host_set_group().
 *
 * Disposing it ends every lease, drops the name and the lock.
 */

PlEngineHost *pl_engine_host_new          (GListModel     *user_profiles);
/* Returns: (transfer none): the model the session maps (profiles and lease claims). */
GListModel   *pl_engine_host_get_profiles (PlEngineHost   *self);
/* The broker serves @group's primary, and shows every other session's profiles (@group
 * nullable: none). */
void          pl_engine_host_set_group    (PlEngineHost   *self,
                                           PlSessionGroup *group);
/* Returns: (transfer none): the hosted broker. */
PlBroker     *pl_engine_host_get_broker   (PlEngineHost   *self);

/* Takes the engine lock, then (with a session bus) the name. Fails with G_IO_ERROR_BUSY
 * when another engine holds the lock, G_IO_ERROR_EXISTS when another process owns the
 * name; *@holder_pid is its process id then (0 if unknown). Without a session bus the lock
 * alone is taken and the engine runs without its D-Bus interface (TRUE). Blocks until the
 * bus has answered. */
gboolean      pl_engine_host_start        (PlEngineHost   *self,
                                           guint          *holder_pid,
                                           GError        **error);
/* Whether the broker owns its name (clients can reach it). */
gboolean      pl_engine_host_get_on_bus   (PlEngineHost   *self);
/* Ends every lease and unexports the broker (before the session stops). */
void          pl_engine_host_shutdown     (PlEngineHost   *self);

G_END_DECLS
