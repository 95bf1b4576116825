/* pl-engine-host.c: the engine hosted in the tray, where none runs and none can be activated
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-engine-host.h"

struct _PlEngineHost
{
  GObject           parent_instance;

  PlBroker         *broker;
  PlSessionGroup   *group;
  PlEngineLock     *lock;
  GDBusConnection  *connection;   /* the second connection, the broker's own */
  gboolean          on_bus;
};

G_DEFINE_FINAL_TYPE (PlEngineHost, pl_engine_host, G_TYPE_OBJECT)

typedef struct
{
  gboolean  done;
  gboolean  owned;
  guint     owner_pid;
  GError   *error;
} OwnWait;

static void
own_name_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  OwnWait *wait = user_data;

  wait->owned = pl_broker_own_name_finish (PL_BROKER (source), result, &wait->owner_pid,
                                           &wait->error);
  wait->done = TRUE;
}

gboolean
pl_engine_host_start (PlEngineHost  *self,
                      guint         *holder_pid,
                      GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *address = NULL;
  OwnWait wait = { 0, };
  guint holder = 0;

  g_return_val_if_fail (PL_IS_ENGINE_HOST (self), FALSE);
  g_return_val_if_fail (self->lock == NULL && self->connection == NULL, FALSE);

  if (holder_pid != NULL)
    *holder_pid = 0;

  self->lock = pl_engine_lock_acquire (NULL, &holder, &local_error);
  if (self->lock == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_BUSY))
        {
          if (holder_pid != NULL)
            *holder_pid = holder;
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      /* No runtime folder to lock in: nothing else can lock there either. */
      g_debug ("No engine lock: %s", local_error->message);
      g_clear_error (&local_error);
    }

  /* A connection of the broker's own (dbus-broker.md §2.1): a sandboxed app allowed to talk
   * to the broker must not reach the tray's org.gtk.Actions through it. */
  address = g_dbus_address_get_for_bus_sync (G_BUS_TYPE_SESSION, NULL, &local_error);
  if (address != NULL)
    self->connection = g_dbus_connection_new_for_address_sync (
      address,
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
      G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, &local_error);
  if (self->connection == NULL)
    {
      g_debug ("No session bus (%s): the engine runs without its D-Bus interface",
               local_error->message);
      return TRUE;
    }
  g_dbus_connection_set_exit_on_close (self->connection, FALSE);

  pl_broker_own_name_async (self->broker, self->connection, NULL, own_name_cb, &wait);
  while (!wait.done)
    g_main_context_iteration (NULL, TRUE);
  if (wait.owned)
    {
      self->on_bus = TRUE;
      return TRUE;
    }

  if (g_error_matches (wait.error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    {
      if (holder_pid != NULL)
        *holder_pid = wait.owner_pid;
      g_propagate_error (error, wait.error);
      pl_broker_shutdown (self->broker);
      g_clear_object (&self->lock);
      return FALSE;
    }
  /* The bus went away meanwhile: keep the ports without the interface, as `run` does. */
  g_debug ("Owning the engine's name: %s", wait.error->message);
  g_clear_error (&wait.error);
  pl_broker_shutdown (self->broker);
  return TRUE;
}

gboolean
pl_engine_host_get_on_bus (PlEngineHost *self)
{
  g_return_val_if_fail (PL_IS_ENGINE_HOST (self), FALSE);
  return self->on_bus;
}

GListModel *
pl_engine_host_get_profiles (PlEngineHost *self)
{
  g_return_val_if_fail (PL_IS_ENGINE_HOST (self), NULL);
  return pl_broker_get_profiles (self->broker);
}

static void
session_added_cb (PlSessionGroup *group,
                  PlSession      *session,
                  PlEngineHost   *self)
{
  pl_broker_add_session (self->broker, session);
}

void
pl_engine_host_set_group (PlEngineHost   *self,
                          PlSessionGroup *group)
{
  GPtrArray *sessions;

  g_return_if_fail (PL_IS_ENGINE_HOST (self));
  g_return_if_fail (group == NULL || PL_IS_SESSION_GROUP (group));

  if (self->group != NULL)
    g_signal_handlers_disconnect_by_data (self->group, self);
  g_set_object (&self->group, group);
  pl_broker_set_session (self->broker, group != NULL ? pl_session_group_get_primary (group)
                                                     : NULL);
  if (group == NULL)
    return;
  g_signal_connect (group, "session-added", G_CALLBACK (session_added_cb), self);
  sessions = pl_session_group_get_sessions (group);
  for (guint i = 1; i < sessions->len; i++)
    pl_broker_add_session (self->broker, g_ptr_array_index (sessions, i));
}

PlBroker *
pl_engine_host_get_broker (PlEngineHost *self)
{
  g_return_val_if_fail (PL_IS_ENGINE_HOST (self), NULL);
  return self->broker;
}

void
pl_engine_host_shutdown (PlEngineHost *self)
{
  g_return_if_fail (PL_IS_ENGINE_HOST (self));
  pl_broker_shutdown (self->broker);
  self->on_bus = FALSE;
}

static void
pl_engine_host_dispose (GObject *object)
{
  PlEngineHost *self = PL_ENGINE_HOST (object);

  if (self->group != NULL)
    g_signal_handlers_disconnect_by_data (self->group, self);
  g_clear_object (&self->group);
  if (self->broker != NULL)
    pl_broker_shutdown (self->broker);
  g_clear_object (&self->broker);
  if (self->connection != NULL)
    g_dbus_connection_close_sync (self->connection, NULL, NULL);
  g_clear_object (&self->connection);
  g_clear_object (&self->lock);

  G_OBJECT_CLASS (pl_engine_host_parent_class)->dispose (object);
}

static void
pl_engine_host_class_init (PlEngineHostClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pl_engine_host_dispose;
}

static void
pl_engine_host_init (PlEngineHost *self)
{
}

PlEngineHost *
pl_engine_host_new (GListModel *user_profiles)
{
  PlEngineHost *self = g_object_new (PL_TYPE_ENGINE_HOST, NULL);
  g_autoptr(GError) error = NULL;

  self->broker = pl_broker_new (user_profiles);
  if (!pl_broker_load_settings (self->broker, NULL, &error))
    g_printerr ("portlight: %s\n", error->message);
  return self;
}
