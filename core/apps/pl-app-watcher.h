/* pl-app-watcher.h: which of the applications profiles are tied to run now
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PL_TYPE_APP_WATCHER (pl_app_watcher_get_type ())

G_DECLARE_FINAL_TYPE (PlAppWatcher, pl_app_watcher, PL, APP_WATCHER, GObject)

/**
 * PlAppWatcher:
 *
 * Tells whether the applications named by App= values ("app:ID", "process:NAME",
 * "unit:NAME", see pl-app-link.h) run, and emits ::changed when that changes. Nothing is
 * polled; see pl-app-watcher.c for what it listens to and what it cannot see.
 *
 * Signals: `changed` (const char *link): the link's running state changed.
 *
 * Threading: the thread-default main context it was created on.
 */

/* @session_bus: (nullable): where the systemd user manager (org.freedesktop.systemd1) is;
 * NULL: there is none (only process: links of processes already running can be seen). */
PlAppWatcher *pl_app_watcher_new          (GDBusConnection *session_bus);

/* Follows @link (a valid App= value) from now on; calls nest, each needs an unwatch. */
void          pl_app_watcher_watch        (PlAppWatcher    *self,
                                           const char      *link);
void          pl_app_watcher_unwatch      (PlAppWatcher    *self,
                                           const char      *link);

gboolean      pl_app_watcher_is_running   (PlAppWatcher    *self,
                                           const char      *link);
/* TRUE once the systemd user manager has answered (its units are known); FALSE without one
 * or before. */
gboolean      pl_app_watcher_has_systemd  (PlAppWatcher    *self);
/* Returns: (nullable): why @link's start may go unseen, in plain words (translated), e.g.
 * "there is no systemd user manager"; NULL when nothing stands in the way, or while the bus
 * has not answered yet (::changed follows when it has). */
const char   *pl_app_watcher_get_problem  (PlAppWatcher    *self,
                                           const char      *link);

/* The number of processes of a process: link that are watched through a pidfd (tests). */
guint         pl_app_watcher_count_pids   (PlAppWatcher    *self,
                                           const char      *link);

G_END_DECLS
