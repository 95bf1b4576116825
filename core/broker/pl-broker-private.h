/* pl-broker-private.h: what the files of PlBroker share
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "pl-broker.h"

G_BEGIN_DECLS

typedef struct _Client Client;
typedef struct _Pending Pending;
typedef struct _LeaseEntry LeaseEntry;

/* What to do with a call once its caller is known. @target: the lease or profile called,
 * or NULL for Manager calls. */
typedef void (*PlBrokerHandler) (PlBroker              *self,
                                 Client                *client,
                                 GDBusMethodInvocation *invocation,
                                 gpointer               target);

struct _Pending
{
  PlBrokerHandler        handler;
  GDBusMethodInvocation *invocation;
  gpointer               target;     /* a GObject, or NULL */
};

/* One client, per unique bus name (Avahi's Client). */
struct _Client
{
  PlBroker     *broker;     /* not owned */
  char         *name;
  PlCaller     *caller;     /* NULL until the credentials are in */
  guint         watch_id;
  GCancellable *cancellable;
  GQueue        pending;    /* Pending*, calls waiting for the credentials */
  gboolean      subscribed;
  double        tokens;     /* the request rate: leases it may still ask for at once */
  gint64        refilled;   /* clock time tokens were last topped up */
  gboolean      rate_started;
};

struct _LeaseEntry
{
  PlBroker *broker;         /* not owned */
  PlLease  *lease;
  guint     deadline_id;
  gulong    release_id;
  gulong    revoke_id;
};

struct _PlBroker
{
  GObject                   parent_instance;

  PlLeaseRegistry          *registry;
  PlSession                *session;
  GPtrArray                *others;      /* PlSession*: the group's other gateways' */
  GDBusConnection          *connection;
  GDBusObjectManagerServer *server;
  PlBrokerObjectSkeleton   *manager_object;
  PlBrokerManager          *manager;
  char                     *proc_root;
  guint                     per_client;
  guint                     per_sandboxed;
  guint                     total;
  guint                     rate_burst;       /* 0 = no rate limit */
  guint                     rate_per_second;
  GStrv                     allowed_apps;
  GHashTable               *clients;     /* unique name -> Client* */
  GHashTable               *leases;      /* object path -> LeaseEntry* */
  guint64                   next_id;
  guint                     own_id;
  GTask                    *own_task;
  gboolean                  name_owned;
  gint64                    last_refresh;
  gboolean                  idle;             /* nothing to keep: see pl_broker_get_idle() */
  GListModel               *mappings;         /* the session's, followed for "idle" */
  gulong                    mappings_changed_id;

  /* Profile objects (pl-broker-profiles.c). */
  GHashTable               *profile_objects;  /* PlProfile* -> ProfileEntry* */
  GListModel               *exported_model;   /* the user model they follow */
  gulong                    exported_changed_id;
  gulong                    profile_mapping_id; /* session mapping-changed, for their leases */
  PlBrokerWaitingFunc       waiting_func;     /* Profile.Waiting, nullable */
  gpointer                  waiting_data;
  GDestroyNotify            waiting_destroy;
};

/* Serves @invocation with @handler once its sender is identified (pl-broker.c). */
void _pl_broker_dispatch           (PlBroker              *self,
                                    GDBusMethodInvocation *invocation,
                                    PlBrokerHandler        handler,
                                    gpointer               target);

/* Profile objects: exported while the broker is (pl-broker-profiles.c). */
void _pl_broker_profiles_start     (PlBroker              *self);
void _pl_broker_profiles_stop      (PlBroker              *self);
/* The session was set or replaced: follow its mappings for the profiles' leases. */
void _pl_broker_profiles_follow_session (PlBroker         *self);
/* Another gateway's session was added: follow its mappings too. */
void _pl_broker_profiles_follow_other   (PlBroker         *self,
                                         PlSession        *session);
void _pl_broker_handle_create_profile (PlBroker              *self,
                                       Client                *client,
                                       GDBusMethodInvocation *invocation,
                                       gpointer               unused);

G_END_DECLS
