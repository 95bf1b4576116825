/* pl-engine-client.h: the tray's view of the engine, read from its ObjectManager
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-broker.h"
#include "pl-core.h"

G_BEGIN_DECLS

/* One entry of a lease's Mappings that the menu shows. */
typedef struct
{
  char    *protocol;           /* "tcp", "udp" */
  char    *family;             /* "ipv4", "ipv6" */
  char    *external_address;
  guint16  external_port;
} PlEngineMapping;

void pl_engine_mapping_free (PlEngineMapping *mapping);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlEngineMapping, pl_engine_mapping_free)

#define PL_TYPE_ENGINE_CLIENT (pl_engine_client_get_type ())

G_DECLARE_FINAL_TYPE (PlEngineClient, pl_engine_client, PL, ENGINE_CLIENT, GObject)

/**
 * PlEngineClient:
 *
 * What the tray shows of the engine (dbus-broker.md §3), read from a
 * GDBusObjectManagerClient of the broker: the Manager's state, each profile's lease and its
 * mappings, and the leases other programs hold. It never polls: it follows the objects'
 * PropertiesChanged and InterfacesAdded/Removed.
 *
 * Signals: ::changed when anything shown may have changed; ::gateway-rebooted when
 * Manager.GatewayRebootedAt moves on (not for the value read at the start);
 * ::port-changed (profile name, old port, new port) when the public port of an active
 * profile's lease changes.
 */

PlEngineClient *pl_engine_client_new                (GDBusObjectManager *objects);

GDBusObjectManager *pl_engine_client_get_objects    (PlEngineClient     *self);
/* Returns: (transfer none) (nullable): the Manager, NULL while the engine is gone. */
PlBrokerManager *pl_engine_client_get_manager       (PlEngineClient     *self);
/* Manager.Gateway, ExternalAddress, Method: NULL when empty or while the engine is gone. */
const char     *pl_engine_client_get_gateway         (PlEngineClient     *self);
const char     *pl_engine_client_get_external_address (PlEngineClient    *self);
gboolean        pl_engine_client_get_double_nat       (PlEngineClient    *self);
const char     *pl_engine_client_get_method          (PlEngineClient     *self);
const char     *pl_engine_client_get_ipv6_address    (PlEngineClient     *self);
/* Whether the engine is on the bus (its name has an owner). */
gboolean        pl_engine_client_get_running         (PlEngineClient     *self);

/* Returns: (transfer full) (nullable): the Profile object of @name. */
PlBrokerProfile *pl_engine_client_get_profile       (PlEngineClient     *self,
                                                     const char         *name);
/* Returns: (transfer full) (nullable): the lease realising the profile @name, if any. */
PlBrokerLease  *pl_engine_client_get_profile_lease   (PlEngineClient     *self,
                                                     const char         *name);
/* Returns: (transfer full) (nullable): why the engine does not map the enabled profile
 * @name (Profile.Waiting: "Waiting for qBittorrent to start", "Only on network ‘home’"),
 * NULL when it does not wait or the engine does not say (one older than the property). */
char           *pl_engine_client_dup_waiting         (PlEngineClient     *self,
                                                     const char         *name);
/* Returns: (transfer full) (element-type PlBrokerLease): the leases of programs (not
 * profiles), oldest first. */
GList          *pl_engine_client_list_app_leases     (PlEngineClient     *self);

/* Returns: (transfer full) (element-type PlEngineMapping): @lease's Mappings. */
GPtrArray      *pl_engine_client_lease_mappings      (PlBrokerLease      *lease);
const char     *pl_engine_client_get_pinhole_error   (PlBrokerLease      *lease);
/* "Transmission holds TCP 51413" (public ports once mapped, else the internal port). */
char           *pl_engine_client_describe_app_lease  (PlBrokerLease      *lease);
/* A profile's state line: "Active · TCP 2222", "Waiting for the router…", "Failed: …". */
char           *pl_engine_client_describe_lease      (PlBrokerLease      *lease);

/* The profile editor through the engine (the engine alone writes profiles.ini while it
 * runs), with pl_broker_profile_settings_new(). Update()s the engine's profile @old_name to
 * @profile, or, with @old_name NULL, CreateProfile()s it. The call does not wait: @callback
 * runs once the engine has answered (it has written the file then), at the latest after
 * 10 s, or when @cancellable is cancelled (G_IO_ERROR_CANCELLED). _finish() gives the
 * engine's reason on failure, without the D-Bus error name. */
void            pl_engine_client_save_profile_async  (PlEngineClient     *self,
                                                     const char         *old_name,
                                                     PlProfile          *profile,
                                                     GCancellable       *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer            user_data);
gboolean        pl_engine_client_save_profile_finish (PlEngineClient     *self,
                                                     GAsyncResult       *result,
                                                     GError            **error);
/* Delete()s the engine's profile @name, as above. */
void            pl_engine_client_delete_profile_async  (PlEngineClient     *self,
                                                       const char         *name,
                                                       GCancellable       *cancellable,
                                                       GAsyncReadyCallback callback,
                                                       gpointer            user_data);
gboolean        pl_engine_client_delete_profile_finish (PlEngineClient     *self,
                                                       GAsyncResult       *result,
                                                       GError            **error);

G_END_DECLS
