/* pl-session-stop.c: stopping: the deletes, within a bounded time
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "pl-session-private.h"

/* Stop. */

static void
remove_source_id (PlSession *self,
                  guint     *id)
{
  if (*id != 0)
    {
      GSource *source = g_main_context_find_source_by_id (self->context, *id);

      if (source != NULL)
        g_source_destroy (source);
      *id = 0;
    }
}

/* Everything but the queue and the mapper: no more timers, events or profile changes. */
void
_pl_session_shut_down_watchers (PlSession *self)
{
  g_cancellable_cancel (self->cancellable);
  if (self->items_changed_id != 0)
    g_clear_signal_handler (&self->items_changed_id, self->profiles);
  _pl_session_unwatch_profiles (self);
  remove_source_id (self, &self->reconcile_id);
  if (self->monitor != NULL)
    {
      g_clear_signal_handler (&self->monitor_id, self->monitor);
      g_clear_object (&self->monitor);
    }
  if (self->system_bus != NULL)
    {
      if (self->sleep_subscription != 0)
        g_dbus_connection_signal_unsubscribe (self->system_bus, self->sleep_subscription);
      self->sleep_subscription = 0;
      g_clear_object (&self->system_bus);
    }
  _pl_session_set_listening (self, FALSE);
  pl_clear_source (&self->network_timer);
  pl_clear_source (&self->discover_timer);
  pl_clear_source (&self->round_timer);
  pl_clear_source (&self->address_timer);
  for (guint i = 0; i < self->entries->len; i++)
    _pl_session_entry_clear_timers (g_ptr_array_index (self->entries, i));
}

void
_pl_session_stop_complete (PlSession *self)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->stop_task);
  guint unconfirmed;

  pl_clear_source (&self->stop_timer);
  pl_clear_source (&self->stop_cancel);
  unconfirmed = self->stop_unconfirmed + self->unmaps->len;
  self->stopping = FALSE;
  _pl_session_abandon_requests (self, FALSE);

  if (task == NULL)
    return;

  if (unconfirmed > 0)
    g_task_return_new_error (task, PL_ERROR, PL_ERROR_TIMED_OUT,
                             g_dngettext (GETTEXT_PACKAGE,
                                          "%u mapping could not be removed from the router at "
                                          "%s; it expires on its own",
                                          "%u mappings could not be removed from the router at "
                                          "%s; they expire on their own",
                                          unconfirmed),
                             unconfirmed, self->gateway_str);
  else
    g_task_return_boolean (task, TRUE);
}

/* The caller gave up waiting: what is left is abandoned at once (the mappings expire on
 * their own), and the task returns G_IO_ERROR_CANCELLED. */
static gboolean
stop_cancelled_cb (GCancellable *cancellable,
                   gpointer      data)
{
  PlSession *self = data;

  g_clear_pointer (&self->stop_cancel, g_source_unref);
  g_debug ("Stop cancelled; abandoning %u deletes", self->unmaps->len);
  _pl_session_stop_complete (self);
  return G_SOURCE_REMOVE;
}

static gboolean
stop_timeout_cb (gpointer data)
{
  PlSession *self = data;

  g_clear_pointer (&self->stop_timer, g_source_unref);
  _pl_session_stop_complete (self);
  return G_SOURCE_REMOVE;
}

/**
 * pl_session_stop_async:
 * @self: a [class@Pl.Session]
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Stops the session. Unless [property@Pl.Session:keep-mappings-on-exit] is set, every
 * mapping is deleted on the gateway first, within [property@Pl.Session:stop-timeout]: each
 * delete is sent at least once even if the gateway does not answer (F-29), and what is left
 * at the deadline is abandoned (the mappings expire on their own). Cancelling @cancellable
 * abandons them at once, and the stop ends with %G_IO_ERROR_CANCELLED; the session is
 * stopped either way.
 */
void
pl_session_stop_async (PlSession           *self,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GPtrArray) mapped = NULL;
  guint n;

  g_return_if_fail (PL_IS_SESSION (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pl_session_stop_async);

  if (self->stop_task != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               _("The session is already stopping"));
      return;
    }
  if (!self->running)
    {
      self->started = TRUE;
      g_task_return_boolean (task, TRUE);
      return;
    }

  self->running = FALSE;
  _pl_session_shut_down_watchers (self);

  /* Map requests and the address query are dropped; deletes already out stay, and every
   * mapping that may exist (a request out counts) gets one. */
  mapped = g_ptr_array_new ();
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry->enabled && entry->config_error == NULL && _pl_session_entry_may_be_mapped (entry))
        g_ptr_array_add (mapped, entry);
    }
  _pl_session_abandon_requests (self, !self->keep_mappings);

  if (self->keep_mappings || (self->mapper == NULL && self->mapper6 == NULL))
    {
      _pl_session_abandon_requests (self, FALSE);
      g_task_return_boolean (task, TRUE);
      return;
    }

  /* UDP before TCP on each port: deleting TCP first can take UDP's accept rule with it on
   * miniupnpd 2.3.1 (tests/lab/MINIUPNPD.md, item 7). The entries are in TCP, UDP order. */
  for (guint i = 0; i + 1 < mapped->len; i++)
    {
      Entry *a = g_ptr_array_index (mapped, i);
      Entry *b = g_ptr_array_index (mapped, i + 1);

      if (a->protocol == PL_PROTOCOL_TCP && b->protocol == PL_PROTOCOL_UDP &&
          a->family == b->family && a->internal_port == b->internal_port &&
          g_strcmp0 (a->profile_name, b->profile_name) == 0)
        {
          mapped->pdata[i] = b;
          mapped->pdata[i + 1] = a;
          i++;
        }
    }

  self->stop_unconfirmed = 0;
  for (guint i = 0; i < mapped->len; i++)
    {
      Entry *entry = g_ptr_array_index (mapped, i);
      gboolean out = FALSE;

      for (guint k = 0; k < self->unmaps->len && !out; k++)
        {
          Op *op = g_ptr_array_index (self->unmaps, k);

          out = op->family == entry->family && op->protocol == entry->protocol &&
                op->internal_port == entry->internal_port;
        }
      if (!out)
        _pl_session_submit_unmap (self, entry->family, entry->protocol, entry->internal_port);
    }
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      entry->last_port = 0;
      entry->expires = 0;
      _pl_session_entry_publish_disabled (entry);
    }

  if (self->unmaps->len == 0)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  /* The time is shared out in order: the i-th delete is given up at (i + 1) / n of it, so
   * that each goes out at least once however silent the gateway is, also where the mapper
   * sends one request at a time (NAT-PMP). */
  self->stopping = TRUE;
  self->stop_task = g_steal_pointer (&task);
  self->stop_deadline = _pl_session_now_us (self) + (gint64) self->stop_timeout * 1000;
  n = self->unmaps->len;
  for (guint i = 0; i < n; i++)
    {
      Op *op = g_ptr_array_index (self->unmaps, i);
      guint64 at_ms = (guint64) self->stop_timeout * (i + 1) / n;

      pl_clear_source (&op->deadline);
      op->deadline = _pl_session_timer_new (self, MAX (at_ms, 1), _pl_session_op_deadline_cb, op);
    }
  self->stop_timer = _pl_session_timer_new (self, self->stop_timeout, stop_timeout_cb, self);
  if (cancellable != NULL)
    {
      self->stop_cancel = g_cancellable_source_new (cancellable);
      g_source_set_callback (self->stop_cancel, G_SOURCE_FUNC (stop_cancelled_cb), self, NULL);
      g_source_set_static_name (self->stop_cancel, "[portlight] stop cancelled");
      g_source_attach (self->stop_cancel, self->context);
    }
}

/**
 * pl_session_stop_finish:
 * @self: a [class@Pl.Session]
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: %TRUE when every mapping was deleted (or kept, as asked); %FALSE with
 *   `PL_ERROR_TIMED_OUT` when some could not be deleted in time
 */
gboolean
pl_session_stop_finish (PlSession     *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (PL_IS_SESSION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
