/* pl-caller.h: who is calling the broker, from the bus's credentials
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PL_TYPE_CALLER (pl_caller_get_type ())

G_DECLARE_FINAL_TYPE (PlCaller, pl_caller, PL, CALLER, GObject)

/**
 * PlCaller:
 *
 * One client of the broker, identified once per unique bus name (unique names are never
 * reused on a bus) from what the bus daemon vouches for: the user id and process id of
 * `GetConnectionCredentials`. Everything else is read from the process's `/proc` entry,
 * never from the caller's arguments:
 *
 * - Flatpak: `/proc/PID/root/.flatpak-info` gives the app id (`[Application] name`); the
 *   caller is sandboxed, and its pid (xdg-dbus-proxy's) is reported as 0.
 * - otherwise the systemd scope or service in `/proc/PID/cgroup`
 *   (`app-gnome-org.example.App-1234.scope`, after systemd.io's desktop environment rules)
 *   gives the app id, if there is one, and `/proc/PID/comm` the process name.
 *
 * The pid can be reused between the call and the reading of `/proc` (Debian 12's bus has no
 * ProcessFD); that race is accepted, as xdg-desktop-portal does on such buses.
 *
 * Threading: a plain object; reads files only in pl_caller_new_from_credentials().
 */

/* @credentials: the a{sv} reply of org.freedesktop.DBus.GetConnectionCredentials.
 * @proc_root: where /proc is (tests point it at a fake tree); NULL for "/proc".
 * Fails with G_DBUS_ERROR_ACCESS_DENIED when the credentials carry no user id. */
PlCaller    *pl_caller_new_from_credentials (const char  *bus_name,
                                             GVariant    *credentials,
                                             const char  *proc_root,
                                             GError     **error);

/* The owner of a profile's own lease: no bus name, no process; kind "profile", display
 * name @profile_name. */
PlCaller    *pl_caller_new_for_profile      (const char  *profile_name);

const char  *pl_caller_get_bus_name         (PlCaller    *self);
guint32      pl_caller_get_uid              (PlCaller    *self);
/* 0 when not meaningful (sandboxed: the pid is the proxy's). */
guint32      pl_caller_get_pid              (PlCaller    *self);
/* The process's comm, "" when sandboxed or unknown. */
const char  *pl_caller_get_process_name     (PlCaller    *self);
/* The verified application id, "" when unknown. */
const char  *pl_caller_get_app_id           (PlCaller    *self);
gboolean     pl_caller_get_sandboxed        (PlCaller    *self);
/* What to show: the app's desktop name, else its app id, else the process name. */
const char  *pl_caller_get_display_name     (PlCaller    *self);
/* "profile" for a profile's lease, "cli" for portlightctl, "app" for everyone else. */
const char  *pl_caller_get_kind             (PlCaller    *self);

/* Returns: (transfer floating): Lease.Owner, an a{sv}: kind, bus_name, app_id, sandboxed,
 * pid, display_name, process_name. */
GVariant    *pl_caller_to_variant           (PlCaller    *self);

/* The application id of a systemd unit name such as
 * "app-gnome-org.example.App-1234.scope" or "app-org.example.App@2.service"; NULL when
 * @unit is not an app unit. Pure, for tests. */
char        *pl_caller_app_id_from_unit     (const char  *unit);

G_END_DECLS
