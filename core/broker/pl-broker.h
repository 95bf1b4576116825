/* pl-broker.h: the per-user engine's D-Bus API (io.github.portlight.Portlight.Broker1)
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-broker-error.h"
#include "pl-broker-generated.h"
#include "pl-caller.h"
#include "pl-engine-lock.h"
#include "pl-lease.h"
#include "pl-lease-registry.h"
#include "pl-session.h"
#include "pl-profile.h"
#include "pl-profile-settings.h"

G_BEGIN_DECLS

#define PL_BROKER_BUS_NAME      "io.github.portlight.Portlight.Broker1"
#define PL_BROKER_OBJECT_PATH   "/io/github/portlight/Portlight/Broker1"
#define PL_BROKER_MANAGER_PATH  PL_BROKER_OBJECT_PATH "/Manager"
#define PL_BROKER_API_VERSION   1

/* Defaults of Manager.Limits (dbus-broker.md §7). */
#define PL_BROKER_DEFAULT_LEASES_PER_CLIENT            32
#define PL_BROKER_DEFAULT_LEASES_PER_SANDBOXED_CLIENT  4
#define PL_BROKER_DEFAULT_LEASES_TOTAL                 128
#define PL_BROKER_LIFETIME_MIN                         120
#define PL_BROKER_LIFETIME_MAX                         7200
#define PL_BROKER_DURATION_MAX                         (7 * 24 * 3600)
#define PL_BROKER_DESCRIPTION_MAX                      64
#define PL_BROKER_DEFAULT_REQUEST_BURST                8
#define PL_BROKER_DEFAULT_REQUESTS_PER_SECOND          1

#define PL_TYPE_BROKER (pl_broker_get_type ())

G_DECLARE_FINAL_TYPE (PlBroker, pl_broker, PL, BROKER, GObject)

/**
 * PlBroker:
 *
 * The engine's face on the session bus: the ObjectManager at
 * `/io/github/portlight/Portlight/Broker1`, its Manager object, and one Lease object per
 * claim a client holds. Leases reach the router through a [class@Pl.LeaseRegistry], whose
 * profile model the engine's [class@Pl.Session] maps (pl_broker_get_profiles()).
 *
 * A client is identified once per unique bus name, from the bus's credentials, before any
 * of its calls is served; its name is watched from then on, and every lease bound to it
 * ends when it leaves the bus. Nothing a method does waits for the router.
 *
 * Usage: pl_broker_new(), pl_session_new() on pl_broker_get_profiles(),
 * pl_broker_set_session(), then pl_broker_own_name_async(), which exports the objects and
 * then asks for the name with DO_NOT_QUEUE: the name is the engine's lock.
 *
 * Threading: the thread-default main context it was created on.
 */

/* @user_profiles: (nullable): the user's profiles (a [class@Pl.ProfileStore] makes
 * ReloadProfiles work). */
PlBroker        *pl_broker_new               (GListModel           *user_profiles);

/* Returns: (transfer none): the model the session maps (user profiles + lease claims). */
GListModel      *pl_broker_get_profiles      (PlBroker             *self);
PlLeaseRegistry *pl_broker_get_registry      (PlBroker             *self);
void             pl_broker_set_session       (PlBroker             *self,
                                              PlSession            *session);
void             pl_broker_add_session       (PlBroker             *self,
                                              PlSession            *session);

/* Before exporting. Per-client and total lease counts (each at least 1). */
void             pl_broker_set_limits        (PlBroker             *self,
                                              guint                 per_client,
                                              guint                 per_sandboxed_client,
                                              guint                 total);
/* Before exporting. How many new leases one client may ask for at once (@burst, 0 for no
 * limit), then @per_second more each second, on the session's clock. A request over the
 * rate fails with LimitExceeded; requests refused for bad arguments or by policy cost
 * nothing. */
void             pl_broker_set_rate_limit    (PlBroker             *self,
                                              guint                 burst,
                                              guint                 per_second);
/* Before exporting. The app ids of sandboxed apps the user allows to open ports. */
void             pl_broker_set_allowed_apps  (PlBroker             *self,
                                              const char * const   *app_ids);
/* Before exporting. Reads [Broker] LeasesPerClient, LeasesPerSandboxedClient, LeasesTotal
 * and AllowedApps from @path (NULL: ~/.config/portlight/broker.ini). A missing file is no
 * error; a bad value leaves that setting alone and fails with G_KEY_FILE_ERROR naming it. */
gboolean         pl_broker_load_settings     (PlBroker             *self,
                                              const char           *path,
                                              GError              **error);
/* For tests: where /proc is (caller identity is read from there). */
void             pl_broker_set_proc_root     (PlBroker             *self,
                                              const char           *proc_root);

/* Exports the objects on @connection (once). */
gboolean         pl_broker_export            (PlBroker             *self,
                                              GDBusConnection      *connection,
                                              GError              **error);
GDBusConnection *pl_broker_get_connection    (PlBroker             *self);

/* Exports on @connection and owns PL_BROKER_BUS_NAME with DO_NOT_QUEUE. Finishes TRUE once
 * the name is ours; FALSE with G_IO_ERROR_EXISTS when another process has it (its pid in
 * *@owner_pid, 0 if unknown), or another error if the bus went away. Once owned, losing the
 * name (the bus went away) emits PlBroker::name-lost. */
void             pl_broker_own_name_async    (PlBroker             *self,
                                              GDBusConnection      *connection,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
gboolean         pl_broker_own_name_finish   (PlBroker             *self,
                                              GAsyncResult         *result,
                                              guint                *owner_pid,
                                              GError              **error);

/**
 * PlBrokerWaitingFunc:
 * @profile_name: a profile of the user's
 * @user_data: the data given with the function
 *
 * Why the enabled profile @profile_name is not mapped (its App= does not run, this is not
 * its Network=), translated, for Profile.Waiting.
 *
 * Returns: (transfer full) (nullable): the reason, NULL when it is not waiting
 */
typedef char *(*PlBrokerWaitingFunc) (const char *profile_name,
                                      gpointer    user_data);

/* Where Profile.Waiting comes from (the engine's model of app- and network-linked
 * profiles, pl_app_profiles_publish_waiting()); NULL: never waiting. The broker asks it
 * whenever a profile's object is made or the profile changes; pl_broker_update_waiting()
 * says that a reason may have changed for another cause (the application started). */
void             pl_broker_set_waiting_func  (PlBroker             *self,
                                              PlBrokerWaitingFunc   func,
                                              gpointer              user_data,
                                              GDestroyNotify        destroy);
/* Reads Profile.Waiting of @profile_name again (PropertiesChanged if it changed); NULL:
 * of every profile. */
void             pl_broker_update_waiting    (PlBroker             *self,
                                              const char           *profile_name);

/* Ends every lease and unexports everything (the session deletes the mappings). */
void             pl_broker_shutdown          (PlBroker             *self);

guint            pl_broker_get_n_leases      (PlBroker             *self);
gboolean         pl_broker_get_idle          (PlBroker             *self);

G_END_DECLS
