/* pl-upnp-client.c: port mappings over UPnP-IGD (WANIPConnection) with GUPnP 1.6
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "pl-error.h"
#include "pl-port-mapper.h"
#include "pl-upnp-call.h"
#include "pl-upnp-client.h"
#include "pl-upnp-description.h"
#include "pl-upnp-error.h"
#include "pl-upnp-journal.h"

/* How many further public ports an IGDv1 router is asked for after 718. */
#define MAX_CONFLICT_RETRIES 4
/* A lost event subscription: check the mappings this soon. */
#define SUBSCRIPTION_LOST_CHECK_MS 1000

/* A mapping this client made, by (protocol, internal port). */
typedef struct
{
  PlProtocol protocol;
  guint16    internal_port;
  guint16    external_port;
} Held;

struct _PlUpnpClient
{
  GObject            parent_instance;

  GInetAddress      *gateway;
  char              *gateway_text;
  PlClock           *clock;
  PlUpnpDiscovery   *discovery;
  char              *hostname;

  GHashTable        *held;        /* key () -> Held */
  GHashTable        *labels;      /* key () -> char* */
  gboolean           permanent_only;
  gboolean           no_add_any;  /* an IGDv2 router that answered 401 */
  PlPcpState        *journal;     /* nullable: an engine's (pl-upnp-journal.c) */

  gboolean           watching;
  GUPnPServiceProxy *subscribed;
  char              *event_address;
  GSource           *verify;
  GCancellable      *verify_cancellable;
  gboolean           verifying;
};

static void pl_upnp_client_port_mapper_iface_init (PlPortMapperInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PlUpnpClient, pl_upnp_client, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PL_TYPE_PORT_MAPPER,
                                                      pl_upnp_client_port_mapper_iface_init))

enum { SIGNAL_TABLE_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static gpointer
key (PlProtocol protocol,
     guint16    internal_port)
{
  return GUINT_TO_POINTER (((guint) protocol << 16) | internal_port);
}

static const char *
protocol_text (PlProtocol protocol)
{
  return protocol == PL_PROTOCOL_TCP ? "TCP" : "UDP";
}

static GError *
to_pl_error (PlUpnpClient *self,
             GError       *raw,
             guint16       port)
{
  GError *error;

  if (raw->domain == PL_ERROR || g_error_matches (raw, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return raw;
  error = pl_upnp_error_new (raw, port, self->gateway_text);
  g_error_free (raw);
  return error;
}

static void schedule_verify (PlUpnpClient *self, guint64 delay_ms);

/* Event subscription (GENA). */

static void
event_address_cb (GUPnPServiceProxy *proxy,
                  const char        *variable,
                  GValue            *value,
                  gpointer           user_data)
{
  PlUpnpClient *self = user_data;
  const char *text = g_value_get_string (value);
  g_autoptr(GInetAddress) address = NULL;

  /* Every event carries every variable: only a change counts. */
  if (text == NULL || g_strcmp0 (text, self->event_address) == 0)
    return;
  address = g_inet_address_new_from_string (text);
  if (address == NULL || g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV4)
    return;
  g_free (self->event_address);
  self->event_address = g_strdup (text);
  pl_port_mapper_emit_external_address_announced (PL_PORT_MAPPER (self), address);
}

static void
event_entries_cb (GUPnPServiceProxy *proxy,
                  const char        *variable,
                  GValue            *value,
                  gpointer           user_data)
{
  g_signal_emit (user_data, signals[SIGNAL_TABLE_CHANGED], 0);
}

static void
unsubscribe (PlUpnpClient *self)
{
  if (self->subscribed == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->subscribed, self);
  gupnp_service_proxy_remove_notify (self->subscribed, "ExternalIPAddress", event_address_cb,
                                     self);
  gupnp_service_proxy_remove_notify (self->subscribed, "PortMappingNumberOfEntries",
                                     event_entries_cb, self);
  gupnp_service_proxy_set_subscribed (self->subscribed, FALSE);
  g_clear_object (&self->subscribed);
}

static void subscribe (PlUpnpClient *self);

static void
subscription_lost_cb (GUPnPServiceProxy *proxy,
                      GError            *error,
                      gpointer           user_data)
{
  PlUpnpClient *self = user_data;

  /* After a restart on the same address the router no longer knows us (412). */
  g_debug ("UPnP: event subscription lost (%s): checking the mappings",
           error != NULL ? error->message : "no reason");
  unsubscribe (self);
  subscribe (self);
  schedule_verify (self, SUBSCRIPTION_LOST_CHECK_MS);
}

static void
subscribe (PlUpnpClient *self)
{
  GUPnPServiceProxy *proxy = pl_upnp_discovery_get_proxy (self->discovery);

  if (!self->watching || proxy == NULL || proxy == self->subscribed)
    return;
  unsubscribe (self);
  self->subscribed = g_object_ref (proxy);
  gupnp_service_proxy_add_notify (proxy, "ExternalIPAddress", G_TYPE_STRING,
                                  event_address_cb, self);
  gupnp_service_proxy_add_notify (proxy, "PortMappingNumberOfEntries", G_TYPE_STRING,
                                  event_entries_cb, self);
  g_signal_connect (proxy, "subscription-lost", G_CALLBACK (subscription_lost_cb), self);
  gupnp_service_proxy_set_subscribed (proxy, TRUE);
}

static void
proxy_changed_cb (PlUpnpDiscovery   *discovery,
                  GUPnPServiceProxy *proxy,
                  gboolean           restarted,
                  gpointer           user_data)
{
  PlUpnpClient *self = user_data;

  if (proxy == NULL)
    {
      unsubscribe (self);
      return;
    }
  subscribe (self);
  if (restarted)
    {
      g_debug ("UPnP: the router at %s restarted", self->gateway_text);
      pl_port_mapper_emit_state_lost (PL_PORT_MAPPER (self), PL_STATE_LOSS_EPOCH);
    }
  else if (self->watching && g_hash_table_size (self->held) > 0)
    {
      /* Back after it went away: its table may be gone. */
      pl_port_mapper_emit_state_lost (PL_PORT_MAPPER (self), PL_STATE_LOSS_ANNOUNCED);
    }
}

/* The periodic check. */

typedef struct
{
  PlUpnpClient *self;
  GList        *pending;   /* Held copies */
  gboolean      lost;
} Verify;

static void
verify_free (Verify *v)
{
  g_list_free_full (v->pending, g_free);
  g_object_unref (v->self);
  g_free (v);
}

static void verify_next (Verify *v);

static void
verify_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Verify *v = user_data;
  Held *h = v->pending->data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PlUpnpEntry) entry = NULL;
  const char *host_ip = pl_upnp_discovery_get_host_ip (PL_UPNP_DISCOVERY (source));

  entry = pl_upnp_table_get_finish (PL_UPNP_DISCOVERY (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      verify_free (v);
      return;
    }
  if (entry == NULL && g_error_matches (error, PL_ERROR, PL_ERROR_NOT_FOUND))
    {
      g_debug ("UPnP check: %s %u is gone from the router", protocol_text (h->protocol),
               h->external_port);
      v->lost = TRUE;
    }
  else if (entry != NULL && (entry->internal_port != h->internal_port ||
                             g_strcmp0 (entry->internal_client, host_ip) != 0))
    {
      g_debug ("UPnP check: %s %u now forwards to %s:%u", protocol_text (h->protocol),
               h->external_port, entry->internal_client, entry->internal_port);
      v->lost = TRUE;
    }
  else if (entry == NULL)
    g_debug ("UPnP check of %s %u: %s", protocol_text (h->protocol), h->external_port,
             error->message);

  g_free (v->pending->data);
  v->pending = g_list_delete_link (v->pending, v->pending);
  verify_next (v);
}

static void
verify_next (Verify *v)
{
  PlUpnpClient *self = v->self;
  Held *h;

  if (v->pending == NULL)
    {
      self->verifying = FALSE;
      if (v->lost && g_hash_table_size (self->held) > 0)
        pl_port_mapper_emit_state_lost (PL_PORT_MAPPER (self), PL_STATE_LOSS_ANNOUNCED);
      schedule_verify (self, 0);
      verify_free (v);
      return;
    }
  h = v->pending->data;
  pl_upnp_table_get_async (self->discovery, h->protocol, h->external_port,
                           self->verify_cancellable, verify_cb, v);
}

static gboolean
verify_timeout_cb (gpointer user_data)
{
  PlUpnpClient *self = user_data;
  Verify *v;
  GHashTableIter iter;
  gpointer value;

  g_clear_pointer (&self->verify, g_source_unref);
  if (self->verifying || g_hash_table_size (self->held) == 0 ||
      pl_upnp_discovery_get_proxy (self->discovery) == NULL)
    {
      if (!self->verifying)
        schedule_verify (self, 0);
      return G_SOURCE_REMOVE;
    }

  v = g_new0 (Verify, 1);
  v->self = g_object_ref (self);
  g_hash_table_iter_init (&iter, self->held);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    v->pending = g_list_prepend (v->pending, g_memdup2 (value, sizeof (Held)));
  self->verifying = TRUE;
  verify_next (v);
  return G_SOURCE_REMOVE;
}

/* @delay_ms 0: the usual random 60–120 s. */
static void
schedule_verify (PlUpnpClient *self,
                 guint64       delay_ms)
{
  if (!self->watching)
    return;
  if (delay_ms == 0)
    delay_ms = g_random_int_range (PL_UPNP_VERIFY_MIN_MS, PL_UPNP_VERIFY_MAX_MS + 1);
  pl_clear_source (&self->verify);
  self->verify = pl_clock_timeout_source_new (self->clock, delay_ms);
  g_source_set_callback (self->verify, verify_timeout_cb, self, NULL);
  g_source_attach (self->verify, NULL);
}

/* Mapping. */

typedef struct
{
  PlProtocol protocol;
  guint16    internal_port;
  guint16    external_port;
  guint32    lease;
  char      *description;
  gboolean   add_any;
  guint      conflicts;
  guint16    granted;
  PlPcpState *held;       /* owned ref: the journal's hold, until answered */
} MapOp;

static void
map_op_free (MapOp *op)
{
  /* An error's: the record put before sending stays, the router may hold the mapping. */
  pl_upnp_journal_release (&op->held);
  g_free (op->description);
  g_free (op);
}

static void map_send (GTask *task);

static void
map_cb (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PlUpnpClient *self = g_task_get_source_object (task);
  MapOp *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GUPnPServiceProxyAction) action = NULL;
  guint code;
  Held *held;

  action = pl_upnp_call_finish (self->discovery, result, &error);
  if (action != NULL)
    {
      guint reserved = op->external_port;

      if (op->add_any &&
          !gupnp_service_proxy_action_get_result (action, &error, "NewReservedPort",
                                                  G_TYPE_UINT, &reserved, NULL))
        {
          g_task_return_error (task, to_pl_error (self, g_steal_pointer (&error),
                                                  op->external_port));
          return;
        }
      if (reserved == 0 || reserved > G_MAXUINT16)
        {
          g_task_return_new_error (task, PL_ERROR, PL_ERROR_MALFORMED_REPLY,
                                   _("The router at %s granted public port %u, which does "
                                     "not exist"), self->gateway_text, reserved);
          return;
        }
      op->granted = (guint16) reserved;
      held = g_new0 (Held, 1);
      held->protocol = op->protocol;
      held->internal_port = op->internal_port;
      held->external_port = op->granted;
      g_hash_table_replace (self->held, key (op->protocol, op->internal_port), held);
      pl_upnp_journal_put (self->journal, self->gateway,
                           pl_upnp_discovery_get_host_ip (self->discovery), NULL, op->protocol,
                           op->internal_port, op->granted, op->lease);
      pl_upnp_journal_release (&op->held);   /* the batch's save, if this was its last answer */
      if (self->verify == NULL && !self->verifying)
        schedule_verify (self, 0);
      g_task_return_boolean (task, TRUE);
      return;
    }

  code = pl_upnp_error_get_code (error);
  if (code == PL_UPNP_CODE_INVALID_ACTION && op->add_any)
    {
      /* IGDv2 in its description, v1 in its actions. */
      self->no_add_any = TRUE;
      op->add_any = FALSE;
      map_send (g_steal_pointer (&task));
      return;
    }
  if (code == PL_UPNP_CODE_NO_PORT_MAPS_AVAILABLE && op->add_any)
    {
      /* miniupnpd says 728 when its rules allow no public port at all for this private
       * port (one below 1024): the port asked for itself gets the precise answer. */
      op->add_any = FALSE;
      op->conflicts = MAX_CONFLICT_RETRIES;
      map_send (g_steal_pointer (&task));
      return;
    }
  if (code == PL_UPNP_CODE_PERMANENT_ONLY && op->lease != 0)
    {
      g_debug ("UPnP: the router at %s takes only permanent leases", self->gateway_text);
      self->permanent_only = TRUE;
      op->lease = 0;
      map_send (g_steal_pointer (&task));
      return;
    }
  if (code == PL_UPNP_CODE_INVALID_ARGS && op->lease == 0 && !self->permanent_only)
    {
      op->lease = PL_UPNP_LEASE_S;
      map_send (g_steal_pointer (&task));
      return;
    }
  if (code == PL_UPNP_CODE_SAME_PORT_REQUIRED && op->external_port != op->internal_port)
    {
      op->external_port = op->internal_port;
      map_send (g_steal_pointer (&task));
      return;
    }
  if (code == PL_UPNP_CODE_CONFLICT && !op->add_any && op->conflicts < MAX_CONFLICT_RETRIES)
    {
      /* Taken by another device: like NAT-PMP's suggestion, the port asked for is only a
       * wish. Ask for the next one. */
      op->conflicts++;
      op->external_port = op->external_port >= G_MAXUINT16 ? 1024 : op->external_port + 1;
      map_send (g_steal_pointer (&task));
      return;
    }
  if (code == PL_UPNP_CODE_NOT_AUTHORIZED && (op->internal_port < 1024 ||
                                               op->external_port < 1024))
    {
      if (op->internal_port < 1024)
        g_task_return_new_error (task, PL_ERROR, PL_ERROR_NOT_AUTHORIZED,
                                 _("Your router's UPnP settings do not allow forwarding private "
                                   "port %u: routers refuse ports below 1024 unless their "
                                   "settings allow them"), op->internal_port);
      else
        g_task_return_new_error (task, PL_ERROR, PL_ERROR_NOT_AUTHORIZED,
                                 _("Your router's UPnP settings do not allow forwarding public "
                                   "port %u: routers refuse ports below 1024 unless their "
                                   "settings allow them"), op->external_port);
      return;
    }
  g_task_return_error (task, to_pl_error (self, g_steal_pointer (&error), op->external_port));
}

/* @task: (transfer full) */
static void
map_send (GTask *task)
{
  PlUpnpClient *self = g_task_get_source_object (task);
  MapOp *op = g_task_get_task_data (task);
  const char *host_ip = pl_upnp_discovery_get_host_ip (self->discovery);
  PlUpnpArgs *args = pl_upnp_args_new ();

  pl_upnp_args_add_string (args, "NewRemoteHost", "");
  pl_upnp_args_add_uint (args, "NewExternalPort", op->external_port);
  pl_upnp_args_add_string (args, "NewProtocol", protocol_text (op->protocol));
  pl_upnp_args_add_uint (args, "NewInternalPort", op->internal_port);
  pl_upnp_args_add_string (args, "NewInternalClient", host_ip);
  pl_upnp_args_add_bool (args, "NewEnabled", TRUE);
  pl_upnp_args_add_string (args, "NewPortMappingDescription", op->description);
  pl_upnp_args_add_uint (args, "NewLeaseDuration", op->lease);
  pl_upnp_call_async (self->discovery, op->add_any ? "AddAnyPortMapping" : "AddPortMapping",
                      args, g_task_get_cancellable (task), map_cb, task);
}

static void
map_start_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PlUpnpClient *self = g_task_get_source_object (task);
  MapOp *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GUPnPServiceProxy) proxy = NULL;

  proxy = pl_upnp_discovery_wait_finish (PL_UPNP_DISCOVERY (source), result, &error);
  if (proxy == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  op->add_any = pl_upnp_discovery_get_igd_v2 (self->discovery) && !self->no_add_any;
  if (self->journal != NULL)
    {
      /* On disk before the request goes out (pl-upnp-journal.c). */
      pl_upnp_journal_put (self->journal, self->gateway,
                           pl_upnp_discovery_get_host_ip (self->discovery), NULL, op->protocol,
                           op->internal_port, op->external_port, op->lease);
      op->held = pl_upnp_journal_hold (self->journal, g_steal_pointer (&task), map_send);
      return;
    }
  map_send (g_steal_pointer (&task));
}

static char *
description_for (PlUpnpClient *self,
                 PlProtocol    protocol,
                 guint16       internal_port)
{
  const char *label = g_hash_table_lookup (self->labels, key (protocol, internal_port));
  g_autofree char *fallback = NULL;

  if (label == NULL)
    label = fallback = g_strdup_printf ("%s %u", protocol_text (protocol), internal_port);
  return pl_upnp_description_new (label, self->hostname);
}

static void
pl_upnp_client_mapper_map_async (PlPortMapper        *mapper,
                                 PlProtocol           protocol,
                                 guint16              internal_port,
                                 guint16              suggested_external_port,
                                 guint32              lifetime,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  PlUpnpClient *self = PL_UPNP_CLIENT (mapper);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  MapOp *op = g_new0 (MapOp, 1);

  g_task_set_source_tag (task, pl_upnp_client_mapper_map_async);
  op->protocol = protocol;
  op->internal_port = internal_port;
  /* UPnP has no "any port" (716): ask for the one a restarted engine's journal knows, or
   * for the internal one. */
  if (suggested_external_port == 0)
    suggested_external_port = pl_upnp_journal_port (self->journal, self->gateway, protocol,
                                                    internal_port);
  op->external_port = suggested_external_port != 0 ? suggested_external_port : internal_port;
  op->lease = self->permanent_only ? 0 : MIN (lifetime, PL_UPNP_LEASE_S);
  op->description = description_for (self, protocol, internal_port);
  g_task_set_task_data (task, op, (GDestroyNotify) map_op_free);

  pl_upnp_discovery_wait_async (self->discovery, 0, cancellable, map_start_cb,
                                g_steal_pointer (&task));
}

static gboolean
pl_upnp_client_mapper_map_finish (PlPortMapper  *mapper,
                                  GAsyncResult  *result,
                                  guint16       *external_port,
                                  guint32       *lifetime,
                                  guint32       *epoch,
                                  GError       **error)
{
  GTask *task = G_TASK (result);
  MapOp *op = g_task_get_task_data (task);

  if (!g_task_propagate_boolean (task, error))
    return FALSE;
  if (external_port != NULL)
    *external_port = op->granted;
  /* A permanent mapping is still renewed (and so checked) as if it had the usual lease. */
  if (lifetime != NULL)
    *lifetime = op->lease != 0 ? op->lease : PL_UPNP_LEASE_S;
  if (epoch != NULL)
    *epoch = 0;
  return TRUE;
}

/* Deleting. */

typedef struct
{
  PlProtocol protocol;
  guint16    internal_port;   /* 0: by public port only, and none of ours */
  guint16    external_port;
  char      *owner;           /* by public port: the LAN address it forwards to */
} UnmapOp;

static void
unmap_op_free (UnmapOp *op)
{
  g_free (op->owner);
  g_free (op);
}

static void
delete_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PlUpnpClient *self = g_task_get_source_object (task);
  UnmapOp *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GUPnPServiceProxyAction) action = NULL;

  action = pl_upnp_call_finish (self->discovery, result, &error);
  if (action == NULL && pl_upnp_error_get_code (error) == PL_UPNP_CODE_NOT_AUTHORIZED &&
      op->owner != NULL &&
      g_strcmp0 (op->owner, pl_upnp_discovery_get_host_ip (self->discovery)) != 0)
    {
      g_task_return_new_error (task, PL_ERROR, PL_ERROR_NOT_AUTHORIZED,
                               _("The router refused to remove %s port %u: it forwards to "
                                 "%s, another device, and only that device may remove it"),
                               protocol_text (op->protocol), op->external_port, op->owner);
      return;
    }
  if (action == NULL && pl_upnp_error_get_code (error) != PL_UPNP_CODE_NO_SUCH_ENTRY)
    {
      g_task_return_error (task, to_pl_error (self, g_steal_pointer (&error),
                                              op->external_port));
      return;
    }
  if (op->internal_port != 0)
    {
      g_hash_table_remove (self->held, key (op->protocol, op->internal_port));
      pl_upnp_journal_forget (self->journal, self->gateway, G_SOCKET_FAMILY_IPV4, op->protocol,
                              op->internal_port);
    }
  g_task_return_boolean (task, TRUE);
}

/* @task: (transfer full) */
static void
delete_send (GTask *task)
{
  PlUpnpClient *self = g_task_get_source_object (task);
  UnmapOp *op = g_task_get_task_data (task);
  PlUpnpArgs *args = pl_upnp_args_new ();

  pl_upnp_args_add_string (args, "NewRemoteHost", "");
  pl_upnp_args_add_uint (args, "NewExternalPort", op->external_port);
  pl_upnp_args_add_string (args, "NewProtocol", protocol_text (op->protocol));
  pl_upnp_call_async (self->discovery, "DeletePortMapping", args,
                      g_task_get_cancellable (task), delete_cb, task);
}

static gboolean
is_ours (PlUpnpClient      *self,
         const PlUpnpEntry *entry,
         PlProtocol         protocol,
         guint16            internal_port)
{
  return entry->protocol == protocol && entry->internal_port == internal_port &&
         g_strcmp0 (entry->internal_client,
                    pl_upnp_discovery_get_host_ip (self->discovery)) == 0;
}

static void
unmap_list_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PlUpnpClient *self = g_task_get_source_object (task);
  UnmapOp *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = NULL;

  entries = pl_upnp_table_list_finish (PL_UPNP_DISCOVERY (source), result, NULL, &error);
  if (entries == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  for (guint i = 0; i < entries->len; i++)
    {
      PlUpnpEntry *entry = g_ptr_array_index (entries, i);

      if (is_ours (self, entry, op->protocol, op->internal_port) &&
          pl_upnp_description_is_ours (entry->description))
        {
          op->external_port = entry->external_port;
          delete_send (g_steal_pointer (&task));
          return;
        }
    }
  /* Nothing of ours for that port: it is gone already. */
  pl_upnp_journal_forget (self->journal, self->gateway, G_SOCKET_FAMILY_IPV4, op->protocol,
                          op->internal_port);
  g_task_return_boolean (task, TRUE);
}

static void
unmap_get_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PlUpnpClient *self = g_task_get_source_object (task);
  UnmapOp *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(PlUpnpEntry) entry = NULL;
  GCancellable *cancellable;

  entry = pl_upnp_table_get_finish (PL_UPNP_DISCOVERY (source), result, &error);
  if (entry != NULL && is_ours (self, entry, op->protocol, op->internal_port))
    {
      delete_send (g_steal_pointer (&task));
      return;
    }
  if (entry == NULL && !g_error_matches (error, PL_ERROR, PL_ERROR_NOT_FOUND))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* Not at the same public port: look through the table. */
  cancellable = g_task_get_cancellable (task);
  pl_upnp_table_list_async (self->discovery, cancellable, unmap_list_cb, g_steal_pointer (&task));
}

static void
pl_upnp_client_mapper_unmap_async (PlPortMapper        *mapper,
                                   PlProtocol           protocol,
                                   guint16              internal_port,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  PlUpnpClient *self = PL_UPNP_CLIENT (mapper);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  UnmapOp *op = g_new0 (UnmapOp, 1);
  Held *held = g_hash_table_lookup (self->held, key (protocol, internal_port));

  g_task_set_source_tag (task, pl_upnp_client_mapper_unmap_async);
  op->protocol = protocol;
  op->internal_port = internal_port;
  g_task_set_task_data (task, op, (GDestroyNotify) unmap_op_free);

  if (held != NULL)
    {
      op->external_port = held->external_port;
      delete_send (g_steal_pointer (&task));
      return;
    }
  /* Made by another process (a one-shot `map`): most likely at the same public port. */
  op->external_port = internal_port;
  pl_upnp_table_get_async (self->discovery, protocol, internal_port, cancellable,
                           unmap_get_cb, g_steal_pointer (&task));
}

static gboolean
pl_upnp_client_mapper_unmap_finish (PlPortMapper  *mapper,
                                    GAsyncResult  *result,
                                    guint32       *epoch,
                                    GError       **error)
{
  if (epoch != NULL)
    *epoch = 0;
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
delete_external_get_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PlUpnpClient *self = g_task_get_source_object (task);
  UnmapOp *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(PlUpnpEntry) entry = NULL;

  entry = pl_upnp_table_get_finish (PL_UPNP_DISCOVERY (source), result, &error);
  if (entry == NULL)
    {
      if (g_error_matches (error, PL_ERROR, PL_ERROR_NOT_FOUND))
        g_task_return_new_error (task, PL_ERROR, PL_ERROR_NOT_FOUND,
                                 _("The router at %s holds no mapping of public %s port %u"),
                                 self->gateway_text, protocol_text (op->protocol),
                                 op->external_port);
      else
        g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  op->owner = g_strdup (entry->internal_client);
  if (g_strcmp0 (entry->internal_client, pl_upnp_discovery_get_host_ip (self->discovery)) != 0)
    g_debug ("UPnP: %s %u belongs to %s; asking anyway", protocol_text (op->protocol),
             op->external_port, entry->internal_client);
  else
    {
      GHashTableIter iter;
      Held *held;

      /* One of ours: forgotten once the router confirmed the delete (delete_cb). */
      g_hash_table_iter_init (&iter, self->held);
      while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &held))
        if (held->protocol == op->protocol && held->external_port == op->external_port)
          op->internal_port = held->internal_port;
    }
  delete_send (g_steal_pointer (&task));
}

void
pl_upnp_client_delete_external_async (PlUpnpClient        *self,
                                      PlProtocol           protocol,
                                      guint16              external_port,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  UnmapOp *op;

  g_return_if_fail (PL_IS_UPNP_CLIENT (self));
  g_return_if_fail (external_port != 0);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pl_upnp_client_delete_external_async);
  op = g_new0 (UnmapOp, 1);
  op->protocol = protocol;
  op->external_port = external_port;
  g_task_set_task_data (task, op, (GDestroyNotify) unmap_op_free);
  pl_upnp_table_get_async (self->discovery, protocol, external_port, cancellable,
                           delete_external_get_cb, g_steal_pointer (&task));
}

gboolean
pl_upnp_client_delete_external_finish (PlUpnpClient  *self,
                                       GAsyncResult  *result,
                                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* The public address. */

static void
address_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PlUpnpClient *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GUPnPServiceProxyAction) action = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GInetAddress) address = NULL;

  action = pl_upnp_call_finish (self->discovery, result, &error);
  if (action == NULL ||
      !gupnp_service_proxy_action_get_result (action, &error, "NewExternalIPAddress",
                                              G_TYPE_STRING, &text, NULL))
    {
      g_task_return_error (task, to_pl_error (self, g_steal_pointer (&error), 0));
      return;
    }
  address = text != NULL ? g_inet_address_new_from_string (text) : NULL;
  if (address == NULL || g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV4 ||
      g_inet_address_get_is_any (address))
    {
      g_task_return_new_error (task, PL_ERROR, PL_ERROR_NETWORK_FAILURE,
                               _("The router at %s has no public address yet (it may not "
                                 "be connected to the Internet)"), self->gateway_text);
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&address), g_object_unref);
}

static void
pl_upnp_client_mapper_get_external_address_async (PlPortMapper        *mapper,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data)
{
  PlUpnpClient *self = PL_UPNP_CLIENT (mapper);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, pl_upnp_client_mapper_get_external_address_async);
  pl_upnp_call_async (self->discovery, "GetExternalIPAddress", pl_upnp_args_new (),
                      cancellable, address_cb, task);
}

static GInetAddress *
pl_upnp_client_mapper_get_external_address_finish (PlPortMapper  *mapper,
                                                   GAsyncResult  *result,
                                                   guint32       *epoch,
                                                   GError       **error)
{
  if (epoch != NULL)
    *epoch = 0;
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The rest of PlPortMapper. */

static const char *
pl_upnp_client_mapper_get_protocol_name (PlPortMapper *mapper)
{
  return "UPnP-IGD";
}

static GInetAddress *
pl_upnp_client_mapper_get_gateway (PlPortMapper *mapper)
{
  return PL_UPNP_CLIENT (mapper)->gateway;
}

static void
pl_upnp_client_mapper_handle_announcement (PlPortMapper         *mapper,
                                           const PlAnnouncement *announcement)
{
  /* UPnP-IGD has no NAT-PMP/PCP announcements; its own events arrive over GENA. */
}

static PlMapperCapabilities
pl_upnp_client_mapper_get_capabilities (PlPortMapper *mapper)
{
  PlUpnpClient *self = PL_UPNP_CLIENT (mapper);

  /* IPv6 pinholes through the same router's WANIPv6FirewallControl (pl-upnp-pinhole.c),
   * also while it may still be found: the pinhole mapper's own search then decides. */
  if (pl_upnp_discovery_may_have_firewall (self->discovery))
    return PL_MAPPER_CAPABILITY_LIST | PL_MAPPER_CAPABILITY_IPV6;
  return PL_MAPPER_CAPABILITY_LIST;
}

static void
pl_upnp_client_mapper_get_lifetime_range (PlPortMapper *mapper,
                                          guint32      *min_lifetime,
                                          guint32      *max_lifetime)
{
  *min_lifetime = 1;
  *max_lifetime = PL_UPNP_LEASE_S;
}

static void
pl_upnp_client_mapper_set_label (PlPortMapper *mapper,
                                 PlProtocol    protocol,
                                 guint16       internal_port,
                                 const char   *label)
{
  PlUpnpClient *self = PL_UPNP_CLIENT (mapper);

  if (label == NULL)
    g_hash_table_remove (self->labels, key (protocol, internal_port));
  else
    g_hash_table_replace (self->labels, key (protocol, internal_port), g_strdup (label));
}

/* Only an engine's journal is written: a one-shot program's mappings stay open on purpose
 * (pl-upnp-journal.c). */
static void
pl_upnp_client_mapper_set_journal (PlPortMapper *mapper,
                                   PlPcpState   *journal)
{
  PlUpnpClient *self = PL_UPNP_CLIENT (mapper);

  if (journal != NULL && pl_pcp_state_get_owner (journal) != PL_PCP_OWNER_ENGINE)
    journal = NULL;
  g_set_object (&self->journal, journal);
}

static gboolean
pl_upnp_client_mapper_listen (PlPortMapper  *mapper,
                              guint16        port,
                              const char    *iface,
                              GError       **error)
{
  PlUpnpClient *self = PL_UPNP_CLIENT (mapper);

  if (self->watching)
    return TRUE;
  self->watching = TRUE;
  subscribe (self);
  if (g_hash_table_size (self->held) > 0)
    schedule_verify (self, 0);
  return TRUE;
}

static gboolean
pl_upnp_client_mapper_get_listening (PlPortMapper *mapper)
{
  return PL_UPNP_CLIENT (mapper)->watching;
}

static void
pl_upnp_client_port_mapper_iface_init (PlPortMapperInterface *iface)
{
  iface->get_protocol_name = pl_upnp_client_mapper_get_protocol_name;
  iface->get_gateway = pl_upnp_client_mapper_get_gateway;
  iface->get_external_address_async = pl_upnp_client_mapper_get_external_address_async;
  iface->get_external_address_finish = pl_upnp_client_mapper_get_external_address_finish;
  iface->map_async = pl_upnp_client_mapper_map_async;
  iface->map_finish = pl_upnp_client_mapper_map_finish;
  iface->unmap_async = pl_upnp_client_mapper_unmap_async;
  iface->unmap_finish = pl_upnp_client_mapper_unmap_finish;
  iface->handle_announcement = pl_upnp_client_mapper_handle_announcement;
  iface->get_capabilities = pl_upnp_client_mapper_get_capabilities;
  iface->get_lifetime_range = pl_upnp_client_mapper_get_lifetime_range;
  iface->set_label = pl_upnp_client_mapper_set_label;
  iface->set_journal = pl_upnp_client_mapper_set_journal;
  iface->listen = pl_upnp_client_mapper_listen;
  iface->get_listening = pl_upnp_client_mapper_get_listening;
}

static void
pl_upnp_client_dispose (GObject *object)
{
  PlUpnpClient *self = PL_UPNP_CLIENT (object);

  self->watching = FALSE;
  g_cancellable_cancel (self->verify_cancellable);
  pl_clear_source (&self->verify);
  unsubscribe (self);
  if (self->discovery != NULL)
    g_signal_handlers_disconnect_by_data (self->discovery, self);
  g_clear_object (&self->discovery);

  G_OBJECT_CLASS (pl_upnp_client_parent_class)->dispose (object);
}

static void
pl_upnp_client_finalize (GObject *object)
{
  PlUpnpClient *self = PL_UPNP_CLIENT (object);

  g_clear_object (&self->gateway);
  g_clear_object (&self->clock);
  g_clear_object (&self->journal);
  g_clear_object (&self->verify_cancellable);
  g_clear_pointer (&self->held, g_hash_table_unref);
  g_clear_pointer (&self->labels, g_hash_table_unref);
  g_free (self->gateway_text);
  g_free (self->hostname);
  g_free (self->event_address);

  G_OBJECT_CLASS (pl_upnp_client_parent_class)->finalize (object);
}

static void
pl_upnp_client_class_init (PlUpnpClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_upnp_client_dispose;
  object_class->finalize = pl_upnp_client_finalize;

  signals[SIGNAL_TABLE_CHANGED] =
    g_signal_new ("table-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
pl_upnp_client_init (PlUpnpClient *self)
{
  self->held = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  self->labels = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  self->verify_cancellable = g_cancellable_new ();
  self->hostname = g_strdup (g_get_host_name ());
}

/**
 * pl_upnp_client_new:
 * @gateway: the default gateway (IPv4)
 * @iface: (nullable): the interface it is on; %NULL to find it
 * @clock: (nullable): the clock, for the periodic check and the discovery verdict
 *
 * Starts looking for the gateway's IGD at once.
 *
 * Returns: (transfer full): a new #PlUpnpClient
 */
PlUpnpClient *
pl_upnp_client_new (GInetAddress *gateway,
                    const char   *iface,
                    PlClock      *clock)
{
  PlUpnpClient *self;

  g_return_val_if_fail (G_IS_INET_ADDRESS (gateway), NULL);

  self = g_object_new (PL_TYPE_UPNP_CLIENT, NULL);
  self->gateway = g_object_ref (gateway);
  self->gateway_text = g_inet_address_to_string (gateway);
  self->clock = clock != NULL ? g_object_ref (clock) : pl_clock_get_default ();
  self->discovery = pl_upnp_discovery_new (gateway, iface, self->clock);
  g_signal_connect (self->discovery, "proxy-changed", G_CALLBACK (proxy_changed_cb), self);
  return self;
}

PlUpnpDiscovery *
pl_upnp_client_get_discovery (PlUpnpClient *self)
{
  g_return_val_if_fail (PL_IS_UPNP_CLIENT (self), NULL);
  return self->discovery;
}

const char *
pl_upnp_client_get_host_ip (PlUpnpClient *self)
{
  g_return_val_if_fail (PL_IS_UPNP_CLIENT (self), NULL);
  return pl_upnp_discovery_get_host_ip (self->discovery);
}

void
pl_upnp_client_set_hostname (PlUpnpClient *self,
                             const char   *hostname)
{
  g_return_if_fail (PL_IS_UPNP_CLIENT (self));
  g_free (self->hostname);
  self->hostname = g_strdup (hostname);
}

gboolean
pl_upnp_client_get_permanent_only (PlUpnpClient *self)
{
  g_return_val_if_fail (PL_IS_UPNP_CLIENT (self), FALSE);
  return self->permanent_only;
}
