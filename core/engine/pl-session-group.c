/* pl-session-group.c: one session per gateway the profiles name
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-session-group.h"
#include "pl-session-private.h"

struct _PlSessionGroup
{
  GObject     parent_instance;

  GPtrArray  *sessions;        /* PlSession*, the primary first */
  GListModel *profiles;
  GPtrArray  *watched;         /* PlProfile* whose notify::gateway we follow */
  gulong      items_changed_id;
  guint       started : 1;
  guint       stopping : 1;
};

enum {
  SIGNAL_SESSION_ADDED,
  N_GROUP_SIGNALS
};

static guint signals[N_GROUP_SIGNALS];

G_DEFINE_FINAL_TYPE (PlSessionGroup, pl_session_group, G_TYPE_OBJECT)

static void
unwatch (PlSessionGroup *self);

static void
pl_session_group_dispose (GObject *object)
{
  PlSessionGroup *self = PL_SESSION_GROUP (object);

  unwatch (self);
  for (guint i = 0; self->sessions != NULL && i < self->sessions->len; i++)
    _pl_session_set_unmapped_func (g_ptr_array_index (self->sessions, i), NULL, NULL);
  if (self->profiles != NULL)
    g_clear_signal_handler (&self->items_changed_id, self->profiles);
  g_clear_object (&self->profiles);
  if (self->sessions != NULL)
    g_ptr_array_set_size (self->sessions, 0);

  G_OBJECT_CLASS (pl_session_group_parent_class)->dispose (object);
}

static void
pl_session_group_finalize (GObject *object)
{
  PlSessionGroup *self = PL_SESSION_GROUP (object);

  g_clear_pointer (&self->sessions, g_ptr_array_unref);
  g_clear_pointer (&self->watched, g_ptr_array_unref);

  G_OBJECT_CLASS (pl_session_group_parent_class)->finalize (object);
}

static void
pl_session_group_class_init (PlSessionGroupClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_session_group_dispose;
  object_class->finalize = pl_session_group_finalize;

  /**
   * PlSessionGroup::session-added:
   * @group: the group
   * @session: a new session, for one Gateway=, not started yet
   */
  signals[SIGNAL_SESSION_ADDED] =
    g_signal_new ("session-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, PL_TYPE_SESSION);
}

static void
pl_session_group_init (PlSessionGroup *self)
{
  self->sessions = g_ptr_array_new_with_free_func (g_object_unref);
  self->watched = g_ptr_array_new_with_free_func (g_object_unref);
}

/* "vpn" or the address as g_inet_address_to_string() writes it; NULL for the primary's. */
static char *
profile_key (PlProfile *profile)
{
  g_autoptr(GInetAddress) address = NULL;

  switch (pl_profile_get_gateway_kind (profile, &address))
    {
    case PL_PROFILE_GATEWAY_VPN:
      return g_strdup (PL_PROFILE_GATEWAY_VPN_TEXT);
    case PL_PROFILE_GATEWAY_ADDRESS:
      return g_inet_address_to_string (address);
    case PL_PROFILE_GATEWAY_DEFAULT:
    case PL_PROFILE_GATEWAY_INVALID:
    default:
      return NULL;
    }
}

PlSession *
pl_session_group_lookup (PlSessionGroup *self,
                         const char     *gateway)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autofree char *key = NULL;
  PlProfileGateway kind = PL_PROFILE_GATEWAY_DEFAULT;

  g_return_val_if_fail (PL_IS_SESSION_GROUP (self), NULL);

  if (gateway != NULL && !pl_profile_validate_gateway (NULL, gateway, &kind, &address, NULL))
    return NULL;
  if (kind == PL_PROFILE_GATEWAY_DEFAULT)
    return g_ptr_array_index (self->sessions, 0);
  key = kind == PL_PROFILE_GATEWAY_VPN ? g_strdup (PL_PROFILE_GATEWAY_VPN_TEXT)
                                       : g_inet_address_to_string (address);
  for (guint i = 1; i < self->sessions->len; i++)
    {
      PlSession *session = g_ptr_array_index (self->sessions, i);

      if (g_strcmp0 (pl_session_get_profile_gateway (session), key) == 0)
        return session;
    }
  return NULL;
}

/* A profile that changes its Gateway= leaves one session for another; when both speak to
 * the same router (the default route runs through the VPN), the old session's delete can
 * reach it after the new one's request: the sessions on that router ask again. */
static void
unmapped_cb (PlSession  *session,
             const char *gateway,
             PlProtocol  protocol,
             guint16     internal_port,
             gpointer    user_data)
{
  PlSessionGroup *self = user_data;

  if (self->stopping)
    return;
  for (guint i = 0; i < self->sessions->len; i++)
    {
      PlSession *other = g_ptr_array_index (self->sessions, i);

      if (other != session && g_strcmp0 (other->gateway_str, gateway) == 0)
        _pl_session_remap_port (other, protocol, internal_port);
    }
}

static void
add_session (PlSessionGroup *self,
             const char     *key)
{
  PlSession *primary = g_ptr_array_index (self->sessions, 0);
  PlSession *session;

  session = pl_session_new (self->profiles, primary->clock, NULL, primary->keep_mappings);
  pl_session_set_profile_gateway (session, key);
  pl_session_set_method (session, primary->method);
  /* Not the primary's journal: its sweep deletes the records of a gateway that the primary's
   * mappings do not claim, and the default route's gateway can be this one's (a VPN). */
  pl_session_set_method_memory (session, primary->memory);
  pl_session_set_stop_timeout (session, primary->stop_timeout);
  _pl_session_set_unmapped_func (session, unmapped_cb, self);
  g_ptr_array_add (self->sessions, session);
  g_debug ("Profiles for gateway %s get a session of their own", key);
  g_signal_emit (self, signals[SIGNAL_SESSION_ADDED], 0, session);
  if (self->started)
    pl_session_start (session);
}

static void
profile_gateway_cb (GObject    *profile,
                    GParamSpec *pspec,
                    gpointer    user_data);

static void
unwatch (PlSessionGroup *self)
{
  for (guint i = 0; i < self->watched->len; i++)
    g_signal_handlers_disconnect_by_func (g_ptr_array_index (self->watched, i),
                                          profile_gateway_cb, self);
  g_ptr_array_set_size (self->watched, 0);
}

/* Every Gateway= in use has its session. */
static void
update (PlSessionGroup *self)
{
  guint n;

  if (self->stopping)
    return;
  unwatch (self);
  n = g_list_model_get_n_items (self->profiles);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (self->profiles, i);
      g_autofree char *key = NULL;

      if (!PL_IS_PROFILE (item))
        continue;
      g_signal_connect (item, "notify::gateway", G_CALLBACK (profile_gateway_cb), self);
      g_ptr_array_add (self->watched, g_object_ref (item));
      key = profile_key (PL_PROFILE (item));
      if (key != NULL && pl_session_group_lookup (self, key) == NULL)
        add_session (self, key);
    }
}

static void
profile_gateway_cb (GObject    *profile,
                    GParamSpec *pspec,
                    gpointer    user_data)
{
  update (PL_SESSION_GROUP (user_data));
}

static void
items_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  gpointer    user_data)
{
  update (PL_SESSION_GROUP (user_data));
}

/**
 * pl_session_group_new:
 * @primary: a session, not started: it keeps the profiles without Gateway=
 *
 * Returns: (transfer full): a group of @primary and a session per other Gateway= in use
 */
PlSessionGroup *
pl_session_group_new (PlSession *primary)
{
  PlSessionGroup *self;

  g_return_val_if_fail (PL_IS_SESSION (primary), NULL);
  g_return_val_if_fail (!primary->started, NULL);

  self = g_object_new (PL_TYPE_SESSION_GROUP, NULL);
  pl_session_set_profile_gateway (primary, NULL);
  g_ptr_array_add (self->sessions, g_object_ref (primary));
  _pl_session_set_unmapped_func (primary, unmapped_cb, self);
  self->profiles = g_object_ref (pl_session_get_profiles (primary));
  self->items_changed_id = g_signal_connect (self->profiles, "items-changed",
                                             G_CALLBACK (items_changed_cb), self);
  return self;
}

PlSession *
pl_session_group_get_primary (PlSessionGroup *self)
{
  g_return_val_if_fail (PL_IS_SESSION_GROUP (self), NULL);

  return g_ptr_array_index (self->sessions, 0);
}

GPtrArray *
pl_session_group_get_sessions (PlSessionGroup *self)
{
  g_return_val_if_fail (PL_IS_SESSION_GROUP (self), NULL);

  return self->sessions;
}

/**
 * pl_session_group_start:
 * @self: a #PlSessionGroup
 *
 * Makes a session for every Gateway= in use (emitting #PlSessionGroup::session-added) and
 * starts them all, the primary first.
 */
void
pl_session_group_start (PlSessionGroup *self)
{
  g_return_if_fail (PL_IS_SESSION_GROUP (self));
  g_return_if_fail (!self->started);

  update (self);
  self->started = TRUE;
  for (guint i = 0; i < self->sessions->len; i++)
    pl_session_start (g_ptr_array_index (self->sessions, i));
}

typedef struct
{
  guint   pending;
  GError *error;
} StopData;

static void
stop_data_free (StopData *data)
{
  g_clear_error (&data->error);
  g_free (data);
}

static void
session_stopped_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  StopData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!pl_session_stop_finish (PL_SESSION (source), result, &error) && data->error == NULL)
    data->error = g_steal_pointer (&error);
  if (--data->pending > 0)
    return;
  if (data->error != NULL)
    g_task_return_error (task, g_steal_pointer (&data->error));
  else
    g_task_return_boolean (task, TRUE);
}

void
pl_session_group_stop_async (PlSessionGroup      *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  StopData *data;

  g_return_if_fail (PL_IS_SESSION_GROUP (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pl_session_group_stop_async);
  data = g_new0 (StopData, 1);
  g_task_set_task_data (task, data, (GDestroyNotify) stop_data_free);
  self->stopping = TRUE;

  /* Counted first: a session that stops at once must not finish the task early. */
  data->pending = self->sessions->len;
  for (guint i = 0; i < self->sessions->len; i++)
    pl_session_stop_async (g_ptr_array_index (self->sessions, i), cancellable,
                           session_stopped_cb, g_object_ref (task));
}

gboolean
pl_session_group_stop_finish (PlSessionGroup  *self,
                              GAsyncResult    *result,
                              GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
