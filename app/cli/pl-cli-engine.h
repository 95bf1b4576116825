/* pl-cli-engine.h: portlightctl as a client of the running engine (the broker on the bus)
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-broker.h"

G_BEGIN_DECLS

/* The engine as seen from one command: the session bus, the broker's ObjectManager
 * (GDBusObjectManagerClient of the generated types) and its Manager. */
typedef struct
{
  GDBusConnection    *connection;
  GDBusObjectManager *objects;    /* NULL from pl_cli_engine_find_lean() */
  PlBrokerManager    *manager;
  guint               pid;        /* the engine's process: see pl_cli_engine_get_pid() */
  gboolean            pid_asked;
} PlCliEngine;

void         pl_cli_engine_free          (PlCliEngine   *engine);
/* The engine's pid, 0 if the bus would not say: asked of the bus at the first call only
 * (one round trip that most commands, which name the pid in messages alone, never make). */
guint        pl_cli_engine_get_pid       (PlCliEngine   *engine);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlCliEngine, pl_cli_engine_free)

/* Finds the engine, following dbus-broker.md §2.2: no session bus, or a bus on which the
 * name has no owner and cannot be activated (ServiceUnknown, NameHasNoOwner), means there
 * is none: NULL without an error, and the command runs in-process as it always did. Any
 * other failure of the bus is an error.
 *
 * @no_broker (--no-broker): do not look; take the engine lock instead and hand it to
 * *@lock for as long as the command runs (so no engine starts meanwhile). When an engine
 * holds it, fails with G_IO_ERROR_BUSY naming its pid. */
PlCliEngine *pl_cli_engine_find          (gboolean        no_broker,
                                          PlEngineLock  **lock,
                                          GError        **error);

/* The same, without the object manager (GetManagedObjects and its matches, whose cost grows
 * with the engine's leases): the Manager alone; pl_cli_engine_get_lease() then asks for
 * each lease it is given the path of. For `map`, which follows its own leases only;
 * pl_cli_engine_list_leases() and pl_cli_engine_get_profile() need pl_cli_engine_find(). */
PlCliEngine *pl_cli_engine_find_lean     (gboolean        no_broker,
                                          PlEngineLock  **lock,
                                          GError        **error);

/* The engine's unique name on the bus, NULL once it is gone (watch notify::g-name-owner of
 * engine->manager). */
char        *pl_cli_engine_dup_name_owner (PlCliEngine  *engine);

/* Calls @func with the path of every object the engine removes (InterfacesRemoved), until
 * pl_cli_engine_unwatch_removed(). */
typedef void (*PlCliEngineRemovedFunc) (const char *path,
                                        gpointer    user_data);
guint        pl_cli_engine_watch_removed (PlCliEngine            *engine,
                                          PlCliEngineRemovedFunc  func,
                                          gpointer                user_data);
void         pl_cli_engine_unwatch_removed (PlCliEngine *engine,
                                            guint       *id);

/* The Manager's properties (a{sv}) from one GetAll call, which activates an installed
 * engine: for a command that only reads them, far cheaper than pl_cli_engine_find() (no
 * Subscribe, no object manager). NULL without an error when there is no engine, as there. */
GVariant    *pl_cli_engine_peek_manager  (GError        **error);

/* Returns: (transfer full) (element-type PlBrokerLease): every lease, by path. */
GList       *pl_cli_engine_list_leases   (PlCliEngine   *engine);
/* Returns: (transfer full) (nullable): the Lease at @path, NULL when it is gone. */
PlBrokerLease *pl_cli_engine_get_lease   (PlCliEngine   *engine,
                                          const char    *path);
/* The lease a RequestMapping() of this command just returned the path of, waiting (up to
 * 10 s) for its object where the object manager follows the engine. Returns: (transfer
 * full) (nullable): NULL when the engine ended it at once. */
PlBrokerLease *pl_cli_engine_wait_lease  (PlCliEngine   *engine,
                                          const char    *path);
/* Returns: (transfer full) (nullable): the Profile object named @name. */
PlBrokerProfile *pl_cli_engine_get_profile (PlCliEngine *engine,
                                            const char  *name);

/* Whether the engine keeps the profiles file @path (NULL: the default file), going by its
 * Manager.ProfilesFile. The engine writes only its own file; another one is edited
 * in-process. */
gboolean     pl_cli_engine_uses_profiles (PlCliEngine   *engine,
                                          const char    *path);

/* The engine's Lease.Error (name, message), or a failed call's remote error, as a core
 * error (PL_ERROR where there is one) for the usual messages and exit codes. */
GError      *pl_cli_engine_error_new     (const char    *name,
                                          const char    *message);
/* A failed D-Bus call: its remote error, translated as above; the message without GDBus's
 * "GDBus.Error:name:" prefix. */
GError      *pl_cli_engine_call_error    (const GError  *error);

/* "TCP+UDP", "TCP" or "UDP" for Lease.Protocols. */
char        *pl_cli_engine_protocols_label (const char * const *protocols);
/* "PCP", "NAT-PMP", "UPnP-IGD" (text) and "pcp", "natpmp", "upnp" (JSON) for
 * Manager.Method ("" when unknown). */
const char  *pl_cli_engine_method_label  (const char    *method);
const char  *pl_cli_engine_method_json   (const char    *method);

G_END_DECLS
