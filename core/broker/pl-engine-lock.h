/* pl-engine-lock.h: the per-user lock every engine holds
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PL_TYPE_ENGINE_LOCK (pl_engine_lock_get_type ())

G_DECLARE_FINAL_TYPE (PlEngineLock, pl_engine_lock, PL, ENGINE_LOCK, GObject)

/**
 * PlEngineLock:
 *
 * An exclusive flock(2) on `$XDG_RUNTIME_DIR/portlight/engine.lock`, held for as long as the
 * object lives, with the holder's process id written into the file. Every engine takes it,
 * with or without a session bus, so that two engines of one user never run at once: not two
 * on one bus (the bus name catches that too), not one on each of two buses, and not one
 * without a bus beside one with. The kernel drops the lock when the process dies, so a
 * crashed engine never blocks the next one.
 *
 * Threading: plain blocking file calls; use it from one thread at a time.
 */

/* Returns: (transfer full): $XDG_RUNTIME_DIR/portlight/engine.lock (g_get_user_runtime_dir()). */
char         *pl_engine_lock_get_default_path (void);

/* Takes the lock at @path (NULL: the default path), creating the file and its folder (mode
 * 0700) as needed. When another process holds it: G_IO_ERROR_BUSY, with *@holder_pid set
 * to its process id (0 if it cannot be told). Other failures are G_IO_ERROR. */
PlEngineLock *pl_engine_lock_acquire          (const char  *path,
                                               guint       *holder_pid,
                                               GError     **error);
const char   *pl_engine_lock_get_path         (PlEngineLock *self);

G_END_DECLS
