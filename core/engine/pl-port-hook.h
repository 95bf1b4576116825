/* pl-port-hook.h: runs a profile's OnPortChange command when its public port changes
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-types.h"

G_BEGIN_DECLS

#define PL_PORT_HOOK_DEFAULT_TIMEOUT_MS (30 * 1000)
#define PL_PORT_HOOK_DEFAULT_KILL_MS    (5 * 1000)

#define PL_TYPE_PORT_HOOK (pl_port_hook_get_type ())

G_DECLARE_FINAL_TYPE (PlPortHook, pl_port_hook, PL, PORT_HOOK, GObject)

/**
 * PlPortHook:
 *
 * One profile's OnPortChange command. pl_port_hook_port_changed() runs it with %p, %a and
 * %P replaced: directly (the words split by g_shell_parse_argv(), never `sh -c`), in its
 * own process group, with stdin closed, its output logged line by line. At most one run at
 * a time: a change that comes while the command runs is kept, only the newest one for each
 * protocol, and run once the command is done. A command still running after
 * [property@Pl.PortHook:timeout] ms gets SIGTERM, and SIGKILL
 * [property@Pl.PortHook:kill-timeout] ms later.
 *
 * Signals: `finished` (gboolean @success, const char *@message): after each run, @message
 * saying how it ended ("exited with status 1", "killed: still running after 30 s").
 *
 * Timers run in real time on the thread-default main context of pl_port_hook_new().
 */

/* @command: (nullable): an OnPortChange command line; NULL: none, nothing is run. */
PlPortHook  *pl_port_hook_new            (const char  *profile_name,
                                          const char  *command);
const char  *pl_port_hook_get_profile_name (PlPortHook *self);
/* Takes effect from the next run. An invalid command is logged when it would run. */
void         pl_port_hook_set_command    (PlPortHook  *self,
                                          const char  *command);
const char  *pl_port_hook_get_command    (PlPortHook  *self);
void         pl_port_hook_set_timeout    (PlPortHook  *self,
                                          guint        timeout_ms,
                                          guint        kill_timeout_ms);
gboolean     pl_port_hook_get_running    (PlPortHook  *self);

/* The public port of the profile's @protocol mapping is now @port, at @address (nullable
 * while unknown: %a becomes the empty string). */
void         pl_port_hook_port_changed   (PlPortHook  *self,
                                          PlProtocol   protocol,
                                          guint16      port,
                                          const char  *address);

/* The words of @words with %p, %a, %P ("tcp", "udp") and %% replaced; pure. Anything else
 * after a "%" is kept as it is (pl_profile_validate_on_port_change() refuses it). */
char       **pl_port_hook_expand         (const char * const *words,
                                          PlProtocol          protocol,
                                          guint16             port,
                                          const char         *address);

G_END_DECLS
