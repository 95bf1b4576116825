/* pl-upnp-table.c: the router's table of port mappings, read over UPnP-IGD
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-error.h"
#include "pl-upnp-call.h"
#include "pl-upnp-description.h"
#include "pl-upnp-error.h"
#include "pl-upnp-table.h"

void
pl_upnp_entry_free (PlUpnpEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->internal_client);
  g_free (entry->remote_host);
  g_free (entry->description);
  g_free (entry);
}

PlUpnpEntry *
pl_upnp_entry_copy (const PlUpnpEntry *entry)
{
  PlUpnpEntry *copy = g_memdup2 (entry, sizeof *entry);

  copy->internal_client = g_strdup (entry->internal_client);
  copy->remote_host = g_strdup (entry->remote_host);
  copy->description = g_strdup (entry->description);
  return copy;
}

gboolean
pl_upnp_protocol_parse (const char *text,
                        PlProtocol *out)
{
  if (g_ascii_strcasecmp (text != NULL ? text : "", "TCP") == 0)
    *out = PL_PROTOCOL_TCP;
  else if (g_ascii_strcasecmp (text != NULL ? text : "", "UDP") == 0)
    *out = PL_PROTOCOL_UDP;
  else
    return FALSE;
  return TRUE;
}

static guint16
port_value (guint value)
{
  return value <= G_MAXUINT16 ? (guint16) value : 0;
}

/* The out-arguments both entry actions share. */
static PlUpnpEntry *
entry_from_action (GUPnPServiceProxyAction  *action,
                   gboolean                  generic,
                   GError                  **error)
{
  g_autoptr(PlUpnpEntry) entry = g_new0 (PlUpnpEntry, 1);
  g_autofree char *client = NULL;
  g_autofree char *description = NULL;
  g_autofree char *remote = NULL;
  g_autofree char *protocol = NULL;
  guint internal_port = 0, external_port = 0, lease = 0;
  gboolean enabled = FALSE;
  gboolean ok;

  if (generic)
    ok = gupnp_service_proxy_action_get_result (action, error,
                                                "NewRemoteHost", G_TYPE_STRING, &remote,
                                                "NewExternalPort", G_TYPE_UINT, &external_port,
                                                "NewProtocol", G_TYPE_STRING, &protocol,
                                                "NewInternalPort", G_TYPE_UINT, &internal_port,
                                                "NewInternalClient", G_TYPE_STRING, &client,
                                                "NewEnabled", G_TYPE_BOOLEAN, &enabled,
                                                "NewPortMappingDescription", G_TYPE_STRING,
                                                &description,
                                                "NewLeaseDuration", G_TYPE_UINT, &lease,
                                                NULL);
  else
    ok = gupnp_service_proxy_action_get_result (action, error,
                                                "NewInternalPort", G_TYPE_UINT, &internal_port,
                                                "NewInternalClient", G_TYPE_STRING, &client,
                                                "NewEnabled", G_TYPE_BOOLEAN, &enabled,
                                                "NewPortMappingDescription", G_TYPE_STRING,
                                                &description,
                                                "NewLeaseDuration", G_TYPE_UINT, &lease,
                                                NULL);
  if (!ok)
    return NULL;
  if (generic && !pl_upnp_protocol_parse (protocol, &entry->protocol))
    {
      g_autofree char *shown = pl_upnp_description_sanitize (protocol);

      g_set_error (error, PL_ERROR, PL_ERROR_MALFORMED_REPLY,
                   "unknown protocol “%s” in the router's table", shown);
      return NULL;
    }
  entry->external_port = port_value (external_port);
  entry->internal_port = port_value (internal_port);
  entry->internal_client = pl_upnp_description_sanitize (client);
  entry->remote_host = pl_upnp_description_sanitize (remote);
  entry->description = pl_upnp_description_sanitize (description);
  entry->lease = lease;
  entry->enabled = enabled;
  return g_steal_pointer (&entry);
}

/* Listing. */

typedef struct
{
  GPtrArray *entries;
  guint      index;
  guint      unreadable;
} List;

static void
list_free (List *list)
{
  g_ptr_array_unref (list->entries);
  g_free (list);
}

typedef struct
{
  GPtrArray *entries;
  guint      unreadable;
} ListResult;

static void
list_result_free (ListResult *r)
{
  g_ptr_array_unref (r->entries);
  g_free (r);
}

static void list_next (GTask *task);

static void
list_return (GTask *task)
{
  List *list = g_task_get_task_data (task);
  ListResult *r = g_new0 (ListResult, 1);

  r->entries = g_ptr_array_ref (list->entries);
  r->unreadable = list->unreadable;
  g_task_return_pointer (task, r, (GDestroyNotify) list_result_free);
}

static void
list_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  List *list = g_task_get_task_data (task);
  PlUpnpDiscovery *discovery = PL_UPNP_DISCOVERY (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(GUPnPServiceProxyAction) action = NULL;
  PlUpnpEntry *entry;

  action = pl_upnp_call_finish (discovery, result, &error);
  if (action == NULL)
    {
      guint code = pl_upnp_error_get_code (error);
      g_autofree char *gateway = g_inet_address_to_string (
        pl_upnp_discovery_get_gateway (discovery));

      /* The end of the list: 713 by the standard; some routers say 402 or 501 instead. */
      if (code == PL_UPNP_CODE_ARRAY_INDEX_INVALID ||
          ((code == PL_UPNP_CODE_INVALID_ARGS || code == PL_UPNP_CODE_ACTION_FAILED ||
            code == PL_UPNP_CODE_NO_SUCH_ENTRY) && list->index > 0))
        {
          list_return (task);
          return;
        }
      /* An answer we cannot parse is one bad row, not the end of the table. */
      if (error->domain == GUPNP_SERVER_ERROR || error->domain == GUPNP_XML_ERROR)
        {
          list->unreadable++;
          list->index++;
          list_next (task);
          return;
        }
      if (error->domain == PL_ERROR || g_error_matches (error, G_IO_ERROR,
                                                        G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_error (task, pl_upnp_error_new (error, 0, gateway));
      return;
    }

  entry = entry_from_action (action, TRUE, NULL);
  if (entry != NULL)
    g_ptr_array_add (list->entries, entry);
  else
    list->unreadable++;
  list->index++;
  list_next (task);
}

static void
list_next (GTask *task)
{
  List *list = g_task_get_task_data (task);
  PlUpnpArgs *args;

  if (list->index >= PL_UPNP_TABLE_MAX_ENTRIES)
    {
      list_return (task);
      return;
    }
  args = pl_upnp_args_new ();
  pl_upnp_args_add_uint (args, "NewPortMappingIndex", list->index);
  pl_upnp_call_async (g_task_get_source_object (task), "GetGenericPortMappingEntry", args,
                      g_task_get_cancellable (task), list_cb, g_object_ref (task));
}

void
pl_upnp_table_list_async (PlUpnpDiscovery     *discovery,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  List *list;

  g_return_if_fail (PL_IS_UPNP_DISCOVERY (discovery));

  task = g_task_new (discovery, cancellable, callback, user_data);
  g_task_set_source_tag (task, pl_upnp_table_list_async);
  list = g_new0 (List, 1);
  list->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_upnp_entry_free);
  g_task_set_task_data (task, list, (GDestroyNotify) list_free);
  list_next (task);
}

GPtrArray *
pl_upnp_table_list_finish (PlUpnpDiscovery  *discovery,
                           GAsyncResult     *result,
                           guint            *n_unreadable,
                           GError          **error)
{
  ListResult *r;
  GPtrArray *entries;

  g_return_val_if_fail (g_task_is_valid (result, discovery), NULL);

  r = g_task_propagate_pointer (G_TASK (result), error);
  if (r == NULL)
    return NULL;
  entries = g_ptr_array_ref (r->entries);
  if (n_unreadable != NULL)
    *n_unreadable = r->unreadable;
  list_result_free (r);
  return entries;
}

/* One row. */

typedef struct
{
  PlProtocol protocol;
  guint16    external_port;
} Get;

static void
get_cb (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Get *get = g_task_get_task_data (task);
  PlUpnpDiscovery *discovery = PL_UPNP_DISCOVERY (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(GUPnPServiceProxyAction) action = NULL;
  PlUpnpEntry *entry;

  action = pl_upnp_call_finish (discovery, result, &error);
  if (action != NULL)
    entry = entry_from_action (action, FALSE, &error);
  else
    entry = NULL;
  if (entry == NULL)
    {
      g_autofree char *gateway = g_inet_address_to_string (
        pl_upnp_discovery_get_gateway (discovery));

      if (error->domain == PL_ERROR || g_error_matches (error, G_IO_ERROR,
                                                        G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_error (task, pl_upnp_error_new (error, get->external_port, gateway));
      return;
    }
  entry->protocol = get->protocol;
  entry->external_port = get->external_port;
  g_task_return_pointer (task, entry, (GDestroyNotify) pl_upnp_entry_free);
}

void
pl_upnp_table_get_async (PlUpnpDiscovery     *discovery,
                         PlProtocol           protocol,
                         guint16              external_port,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  PlUpnpArgs *args;
  Get *get;

  g_return_if_fail (PL_IS_UPNP_DISCOVERY (discovery));

  task = g_task_new (discovery, cancellable, callback, user_data);
  g_task_set_source_tag (task, pl_upnp_table_get_async);
  get = g_new0 (Get, 1);
  get->protocol = protocol;
  get->external_port = external_port;
  g_task_set_task_data (task, get, g_free);

  args = pl_upnp_args_new ();
  pl_upnp_args_add_string (args, "NewRemoteHost", "");
  pl_upnp_args_add_uint (args, "NewExternalPort", external_port);
  pl_upnp_args_add_string (args, "NewProtocol", protocol == PL_PROTOCOL_TCP ? "TCP" : "UDP");
  pl_upnp_call_async (discovery, "GetSpecificPortMappingEntry", args, cancellable, get_cb,
                      g_steal_pointer (&task));
}

PlUpnpEntry *
pl_upnp_table_get_finish (PlUpnpDiscovery  *discovery,
                          GAsyncResult     *result,
                          GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, discovery), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
