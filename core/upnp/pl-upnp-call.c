/* pl-upnp-call.c: one SOAP action on the gateway's IGD, surviving a router restart
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-upnp-call.h"

struct _PlUpnpArgs
{
  GList *names;   /* char* */
  GList *values;  /* GValue* */
};

typedef struct
{
  char                    *action;
  PlUpnpArgs              *args;
  GUPnPServiceProxy       *proxy;
  GUPnPServiceProxyAction *pending;
  gboolean                 retried;
} Call;

static void
value_free (GValue *value)
{
  g_value_unset (value);
  g_free (value);
}

PlUpnpArgs *
pl_upnp_args_new (void)
{
  return g_new0 (PlUpnpArgs, 1);
}

void
pl_upnp_args_free (PlUpnpArgs *args)
{
  if (args == NULL)
    return;
  g_list_free_full (args->names, g_free);
  g_list_free_full (args->values, (GDestroyNotify) value_free);
  g_free (args);
}

static GValue *
args_append (PlUpnpArgs *args,
             const char *name,
             GType       type)
{
  GValue *value = g_new0 (GValue, 1);

  g_value_init (value, type);
  args->names = g_list_append (args->names, g_strdup (name));
  args->values = g_list_append (args->values, value);
  return value;
}

void
pl_upnp_args_add_string (PlUpnpArgs *args,
                         const char *name,
                         const char *value)
{
  g_value_set_string (args_append (args, name, G_TYPE_STRING), value != NULL ? value : "");
}

void
pl_upnp_args_add_uint (PlUpnpArgs *args,
                       const char *name,
                       guint       value)
{
  g_value_set_uint (args_append (args, name, G_TYPE_UINT), value);
}

void
pl_upnp_args_add_bool (PlUpnpArgs *args,
                       const char *name,
                       gboolean    value)
{
  g_value_set_boolean (args_append (args, name, G_TYPE_BOOLEAN), value);
}

static void
call_free (Call *call)
{
  g_free (call->action);
  pl_upnp_args_free (call->args);
  g_clear_object (&call->proxy);
  g_clear_pointer (&call->pending, gupnp_service_proxy_action_unref);
  g_free (call);
}

static void send_on (GTask *task, GUPnPServiceProxy *proxy);

static void
wait_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GUPnPServiceProxy) proxy = NULL;

  proxy = pl_upnp_discovery_wait_finish (PL_UPNP_DISCOVERY (source), result, &error);
  if (proxy == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  send_on (task, proxy);
}

static gboolean
is_stale_address (const GError *error)
{
  /* Not a timeout: a router that hangs would only hang again. */
  return error != NULL && error->domain == G_IO_ERROR &&
         (error->code == G_IO_ERROR_CONNECTION_REFUSED ||
          error->code == G_IO_ERROR_CONNECTION_CLOSED ||
          error->code == G_IO_ERROR_HOST_UNREACHABLE ||
          error->code == G_IO_ERROR_BROKEN_PIPE);
}

static void
action_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Call *call = g_task_get_task_data (task);
  PlUpnpDiscovery *discovery = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  GUPnPServiceProxyAction *answered;

  answered = gupnp_service_proxy_call_action_finish (GUPNP_SERVICE_PROXY (source), result,
                                                     &error);
  if (answered != NULL)
    {
      g_task_return_pointer (task, g_steal_pointer (&call->pending),
                             (GDestroyNotify) gupnp_service_proxy_action_unref);
      return;
    }
  g_clear_pointer (&call->pending, gupnp_service_proxy_action_unref);

  if (is_stale_address (error) && !call->retried &&
      !g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    {
      g_debug ("UPnP %s: %s; searching again", call->action, error->message);
      call->retried = TRUE;
      pl_upnp_discovery_drop (discovery, call->proxy);
      pl_upnp_discovery_wait_async (discovery, 0, g_task_get_cancellable (task), wait_cb,
                                    g_object_ref (task));
      return;
    }
  g_task_return_error (task, g_steal_pointer (&error));
}

static void
send_on (GTask             *task,
         GUPnPServiceProxy *proxy)
{
  Call *call = g_task_get_task_data (task);

  g_set_object (&call->proxy, proxy);
  call->pending = gupnp_service_proxy_action_new_from_list (call->action, call->args->names,
                                                            call->args->values);
  gupnp_service_proxy_call_action_async (proxy, call->pending, g_task_get_cancellable (task),
                                         action_cb, g_object_ref (task));
}

void
pl_upnp_call_async (PlUpnpDiscovery     *discovery,
                    const char          *action,
                    PlUpnpArgs          *args,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Call *call;

  g_return_if_fail (PL_IS_UPNP_DISCOVERY (discovery));
  g_return_if_fail (action != NULL && args != NULL);

  task = g_task_new (discovery, cancellable, callback, user_data);
  g_task_set_source_tag (task, pl_upnp_call_async);
  call = g_new0 (Call, 1);
  call->action = g_strdup (action);
  call->args = args;
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);

  if (pl_upnp_discovery_get_proxy (discovery) != NULL)
    send_on (task, pl_upnp_discovery_get_proxy (discovery));
  else
    pl_upnp_discovery_wait_async (discovery, 0, cancellable, wait_cb, g_object_ref (task));
}

GUPnPServiceProxyAction *
pl_upnp_call_finish (PlUpnpDiscovery  *discovery,
                     GAsyncResult     *result,
                     GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, discovery), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
