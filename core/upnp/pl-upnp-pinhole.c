/* pl-upnp-pinhole.c: IPv6 pinholes over UPnP-IGD (WANIPv6FirewallControl:1) with GUPnP 1.6
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
#include "pl-upnp-error.h"
#include "pl-upnp-journal.h"
#include "pl-upnp-pinhole.h"

/* IANA protocol numbers, as the service wants them. */
#define PROTOCOL_TCP 6
#define PROTOCOL_UDP 17
/* The lease of the AddPinhole that only asks for the ID of a pinhole another process opened,
 * to delete it: if it was not there, it is not open for longer than this. */
#define LOOKUP_LEASE_S 1

struct _PlUpnpPinholeClient
{
  GObject          parent_instance;

  GInetAddress    *router;
  char            *router_text;
  GInetAddress    *local;
  char            *local_text;
  PlClock         *clock;
  PlUpnpDiscovery *discovery;
  guint            timeout_ms;
  char            *iface;      /* nullable: the router's interface */
  PlPcpState      *journal;    /* nullable: an engine's (pl-upnp-journal.c) */

  GHashTable      *held;       /* key () -> UniqueID + 1 (0 is an ID too) */
  gboolean         watching;
};

static void pl_upnp_pinhole_client_port_mapper_iface_init (PlPortMapperInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PlUpnpPinholeClient, pl_upnp_pinhole_client, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PL_TYPE_PORT_MAPPER,
                                                      pl_upnp_pinhole_client_port_mapper_iface_init))

static gpointer
key (PlProtocol protocol,
     guint16    port)
{
  return GUINT_TO_POINTER (((guint) protocol << 16) | port);
}

/* The UniqueID held for (@protocol, @port), or -1. */
static gint
held_id (PlUpnpPinholeClient *self,
         PlProtocol           protocol,
         guint16              port)
{
  return (gint) GPOINTER_TO_UINT (g_hash_table_lookup (self->held, key (protocol, port))) - 1;
}

static void
hold (PlUpnpPinholeClient *self,
      PlProtocol           protocol,
      guint16              port,
      guint                unique_id)
{
  g_hash_table_replace (self->held, key (protocol, port), GUINT_TO_POINTER (unique_id + 1));
}

static guint
protocol_number (PlProtocol protocol)
{
  return protocol == PL_PROTOCOL_TCP ? PROTOCOL_TCP : PROTOCOL_UDP;
}

static GError *
to_pl_error (PlUpnpPinholeClient *self,
             GError              *raw,
             guint16              port)
{
  GError *error;

  if (raw->domain == PL_ERROR || g_error_matches (raw, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return raw;
  error = pl_upnp_error_new_pinhole (raw, port, self->local_text, self->router_text);
  g_error_free (raw);
  return error;
}

/* An ID the router does not know: miniupnpd 2.3.1 answers 402, the standard says 704. */
static gboolean
is_unknown_id (const GError *error)
{
  guint code = pl_upnp_error_get_code (error);

  return code == PL_UPNP_CODE_INVALID_ARGS || code == PL_UPNP_CODE_NO_SUCH_PINHOLE;
}

static void
proxy_changed_cb (PlUpnpDiscovery   *discovery,
                  GUPnPServiceProxy *proxy,
                  gboolean           restarted,
                  gpointer           user_data)
{
  PlUpnpPinholeClient *self = user_data;

  if (proxy == NULL || !restarted)
    return;
  /* A restarted router counts its IDs from the start again: ours may be another's now. */
  g_debug ("UPnP pinholes: the router at %s restarted", self->router_text);
  g_hash_table_remove_all (self->held);
  if (self->watching)
    pl_port_mapper_emit_state_lost (PL_PORT_MAPPER (self), PL_STATE_LOSS_EPOCH);
}

/* The probe: is the service there, and may it open pinholes? */

static void
status_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PlUpnpPinholeClient *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GUPnPServiceProxyAction) action = NULL;
  gboolean enabled = FALSE;
  gboolean allowed = FALSE;

  action = pl_upnp_call_finish (self->discovery, result, &error);
  if (action == NULL ||
      !gupnp_service_proxy_action_get_result (action, &error,
                                              "FirewallEnabled", G_TYPE_BOOLEAN, &enabled,
                                              "InboundPinholeAllowed", G_TYPE_BOOLEAN, &allowed,
                                              NULL))
    {
      g_task_return_error (task, to_pl_error (self, g_steal_pointer (&error), 0));
      return;
    }
  if (!enabled)
    {
      g_task_return_new_error (task, PL_ERROR, PL_ERROR_UNSUPPORTED_OPCODE,
                               _("The router at %s has its IPv6 firewall switched off: it "
                                 "opens no pinholes (nothing on IPv6 is blocked by it)"),
                               self->router_text);
      return;
    }
  if (!allowed)
    {
      g_task_return_new_error (task, PL_ERROR, PL_ERROR_NOT_AUTHORIZED,
                               _("The router at %s does not allow IPv6 pinholes (see its "
                                 "firewall settings)"), self->router_text);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
probe_found_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PlUpnpPinholeClient *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GUPnPServiceProxy) proxy = NULL;
  GCancellable *cancellable;

  proxy = pl_upnp_discovery_wait_finish (self->discovery, result, &error);
  if (proxy == NULL)
    {
      if (g_error_matches (error, PL_ERROR, PL_ERROR_REFUSED))
        g_task_return_new_error (task, PL_ERROR, PL_ERROR_REFUSED,
                                 _("No UPnP router offers IPv6 pinholes (WANIPv6FirewallControl) "
                                   "on the network of %s"), self->router_text);
      else
        g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  cancellable = g_task_get_cancellable (task);
  pl_upnp_call_async (self->discovery, "GetFirewallStatus", pl_upnp_args_new (), cancellable,
                      status_cb, g_steal_pointer (&task));
}

static void
pl_upnp_pinhole_client_mapper_probe_async (PlPortMapper        *mapper,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data)
{
  PlUpnpPinholeClient *self = PL_UPNP_PINHOLE_CLIENT (mapper);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, pl_upnp_pinhole_client_mapper_probe_async);
  pl_upnp_discovery_wait_async (self->discovery, self->timeout_ms, cancellable, probe_found_cb,
                                task);
}

static gboolean
pl_upnp_pinhole_client_mapper_probe_finish (PlPortMapper  *mapper,
                                            GAsyncResult  *result,
                                            GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Opening and renewing. */

typedef struct
{
  PlProtocol  protocol;
  guint16     port;
  guint32     lease;
  gint        unique_id;   /* renewing or deleting: the one held; -1 none */
  gboolean    lookup;      /* only for the ID, to delete (see unmap) */
  PlPcpState *held;        /* owned ref: the journal's hold, until answered */
} Op;

static void
op_free (Op *op)
{
  /* An error's: the record put before sending stays, the router may hold the pinhole. */
  pl_upnp_journal_release (&op->held);
  g_free (op);
}

/* The pinhole's record, with the lease asked for or granted (pl-upnp-journal.c). */
static void
journal_put (PlUpnpPinholeClient *self,
             Op                  *op)
{
  pl_upnp_journal_put (self->journal, self->router, self->local_text, self->iface,
                       op->protocol, op->port, op->port, op->lease);
}

/* Answered: the record with the lease, saved with the batch. */
static void
map_done (PlUpnpPinholeClient *self,
          GTask               *task)
{
  Op *op = g_task_get_task_data (task);

  journal_put (self, op);
  pl_upnp_journal_release (&op->held);
  g_task_return_boolean (task, TRUE);
}

static void add_send (GTask *task);

static void
add_cb (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PlUpnpPinholeClient *self = g_task_get_source_object (task);
  Op *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GUPnPServiceProxyAction) action = NULL;
  guint unique_id = 0;

  action = pl_upnp_call_finish (self->discovery, result, &error);
  if (action == NULL ||
      !gupnp_service_proxy_action_get_result (action, &error, "UniqueID", G_TYPE_UINT,
                                              &unique_id, NULL))
    {
      g_task_return_error (task, to_pl_error (self, g_steal_pointer (&error), op->port));
      return;
    }
  if (unique_id > G_MAXUINT16)
    {
      g_task_return_new_error (task, PL_ERROR, PL_ERROR_MALFORMED_REPLY,
                               _("The router at %s gave the IPv6 pinhole an ID that does not "
                                 "exist (%u)"), self->router_text, unique_id);
      return;
    }
  op->unique_id = (gint) unique_id;
  g_debug ("UPnP pinhole %s [%s]:%u: UniqueID %u, lease %u s",
           op->protocol == PL_PROTOCOL_TCP ? "TCP" : "UDP", self->local_text, op->port,
           unique_id, op->lease);
  if (op->lookup)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  hold (self, op->protocol, op->port, unique_id);
  map_done (self, task);
}

/* @task: (transfer full) */
static void
add_send (GTask *task)
{
  PlUpnpPinholeClient *self = g_task_get_source_object (task);
  Op *op = g_task_get_task_data (task);
  PlUpnpArgs *args = pl_upnp_args_new ();

  pl_upnp_args_add_string (args, "RemoteHost", "");
  pl_upnp_args_add_uint (args, "RemotePort", 0);
  pl_upnp_args_add_string (args, "InternalClient", self->local_text);
  pl_upnp_args_add_uint (args, "InternalPort", op->port);
  pl_upnp_args_add_uint (args, "Protocol", protocol_number (op->protocol));
  pl_upnp_args_add_uint (args, "LeaseTime", op->lease);
  pl_upnp_call_async (self->discovery, "AddPinhole", args, g_task_get_cancellable (task),
                      add_cb, task);
}

static void
update_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PlUpnpPinholeClient *self = g_task_get_source_object (task);
  Op *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GUPnPServiceProxyAction) action = NULL;

  action = pl_upnp_call_finish (self->discovery, result, &error);
  if (action != NULL)
    {
      map_done (self, task);
      return;
    }
  /* Gone (expired, or the router restarted), or by now another device's (606): open it
   * again. */
  if (is_unknown_id (error) || pl_upnp_error_get_code (error) == PL_UPNP_CODE_NOT_AUTHORIZED)
    {
      g_debug ("UPnP pinhole %d: %s; adding it again", op->unique_id, error->message);
      g_hash_table_remove (self->held, key (op->protocol, op->port));
      op->unique_id = -1;
      add_send (g_steal_pointer (&task));
      return;
    }
  g_task_return_error (task, to_pl_error (self, g_steal_pointer (&error), op->port));
}

/* @task: (transfer full): a new pinhole, or the renewal of the one held */
static void
map_send (GTask *task)
{
  PlUpnpPinholeClient *self = g_task_get_source_object (task);
  Op *op = g_task_get_task_data (task);
  PlUpnpArgs *args;

  if (op->unique_id < 0)
    {
      add_send (task);
      return;
    }
  args = pl_upnp_args_new ();
  pl_upnp_args_add_uint (args, "UniqueID", (guint) op->unique_id);
  pl_upnp_args_add_uint (args, "NewLeaseTime", op->lease);
  pl_upnp_call_async (self->discovery, "UpdatePinhole", args, g_task_get_cancellable (task),
                      update_cb, task);
}

static void
pl_upnp_pinhole_client_mapper_map_async (PlPortMapper        *mapper,
                                         PlProtocol           protocol,
                                         guint16              internal_port,
                                         guint16              suggested_external_port,
                                         guint32              lifetime,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  PlUpnpPinholeClient *self = PL_UPNP_PINHOLE_CLIENT (mapper);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  Op *op = g_new0 (Op, 1);

  g_task_set_source_tag (task, pl_upnp_pinhole_client_mapper_map_async);
  op->protocol = protocol;
  op->port = internal_port;
  /* Renewed together with the IPv4 mapping, at the same lease. */
  op->lease = CLAMP (lifetime, 1, PL_UPNP_LEASE_S);
  op->unique_id = held_id (self, protocol, internal_port);
  g_task_set_task_data (task, op, (GDestroyNotify) op_free);

  if (self->journal != NULL)
    {
      /* On disk before the request goes out (pl-upnp-journal.c). */
      journal_put (self, op);
      op->held = pl_upnp_journal_hold (self->journal, g_steal_pointer (&task), map_send);
      return;
    }
  map_send (g_steal_pointer (&task));
}

static gboolean
pl_upnp_pinhole_client_mapper_map_finish (PlPortMapper  *mapper,
                                          GAsyncResult  *result,
                                          guint16       *external_port,
                                          guint32       *lifetime,
                                          guint32       *epoch,
                                          GError       **error)
{
  Op *op = g_task_get_task_data (G_TASK (result));

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  /* No translation: the pinhole opens the port itself. */
  if (external_port != NULL)
    *external_port = op->port;
  if (lifetime != NULL)
    *lifetime = op->lease;
  if (epoch != NULL)
    *epoch = 0;
  return TRUE;
}

/* Closing. */

static void
delete_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PlUpnpPinholeClient *self = g_task_get_source_object (task);
  Op *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GUPnPServiceProxyAction) action = NULL;

  action = pl_upnp_call_finish (self->discovery, result, &error);
  if (action == NULL && !is_unknown_id (error))
    {
      g_task_return_error (task, to_pl_error (self, g_steal_pointer (&error), op->port));
      return;
    }
  if (action == NULL)
    g_debug ("UPnP pinhole %d: already gone (%s)", op->unique_id, error->message);
  if (held_id (self, op->protocol, op->port) == op->unique_id)
    g_hash_table_remove (self->held, key (op->protocol, op->port));
  pl_upnp_journal_forget (self->journal, self->router, G_SOCKET_FAMILY_IPV6, op->protocol,
                          op->port);
  g_task_return_boolean (task, TRUE);
}

/* @task: (transfer full) */
static void
delete_send (GTask *task)
{
  PlUpnpPinholeClient *self = g_task_get_source_object (task);
  Op *op = g_task_get_task_data (task);
  PlUpnpArgs *args = pl_upnp_args_new ();

  pl_upnp_args_add_uint (args, "UniqueID", (guint) op->unique_id);
  pl_upnp_call_async (self->discovery, "DeletePinhole", args, g_task_get_cancellable (task),
                      delete_cb, task);
}

static void
lookup_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Op *op = g_task_get_task_data (task);
  Op *found = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  op->unique_id = found->unique_id;
  delete_send (g_steal_pointer (&task));
}

static void
pl_upnp_pinhole_client_mapper_unmap_async (PlPortMapper        *mapper,
                                           PlProtocol           protocol,
                                           guint16              internal_port,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data)
{
  PlUpnpPinholeClient *self = PL_UPNP_PINHOLE_CLIENT (mapper);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  Op *op = g_new0 (Op, 1);
  GTask *lookup;
  Op *lookup_op;

  g_task_set_source_tag (task, pl_upnp_pinhole_client_mapper_unmap_async);
  op->protocol = protocol;
  op->port = internal_port;
  op->unique_id = held_id (self, protocol, internal_port);
  g_task_set_task_data (task, op, (GDestroyNotify) op_free);
  if (op->unique_id >= 0)
    {
      delete_send (g_steal_pointer (&task));
      return;
    }

  /* Opened by another process: the router has no listing of pinholes, but adding the same
   * one again gives its ID (WANIPv6FirewallControl:1 section 2.5.4), at a lease that ends
   * at once should there have been none. The ID lands in @op through the lookup's own. */
  lookup = g_task_new (self, cancellable, lookup_cb, g_steal_pointer (&task));
  lookup_op = g_new0 (Op, 1);
  lookup_op->protocol = protocol;
  lookup_op->port = internal_port;
  lookup_op->lease = LOOKUP_LEASE_S;
  lookup_op->lookup = TRUE;
  g_task_set_task_data (lookup, lookup_op, (GDestroyNotify) op_free);
  add_send (lookup);
}

static gboolean
pl_upnp_pinhole_client_mapper_unmap_finish (PlPortMapper  *mapper,
                                            GAsyncResult  *result,
                                            guint32       *epoch,
                                            GError       **error)
{
  if (epoch != NULL)
    *epoch = 0;
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* The rest of PlPortMapper. */

static void
pl_upnp_pinhole_client_mapper_get_external_address_async (PlPortMapper        *mapper,
                                                          GCancellable        *cancellable,
                                                          GAsyncReadyCallback  callback,
                                                          gpointer             user_data)
{
  PlUpnpPinholeClient *self = PL_UPNP_PINHOLE_CLIENT (mapper);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  /* A pinhole is reached at this computer's own address. */
  g_task_set_source_tag (task, pl_upnp_pinhole_client_mapper_get_external_address_async);
  g_task_return_pointer (task, g_object_ref (self->local), g_object_unref);
}

static GInetAddress *
pl_upnp_pinhole_client_mapper_get_external_address_finish (PlPortMapper  *mapper,
                                                           GAsyncResult  *result,
                                                           guint32       *epoch,
                                                           GError       **error)
{
  if (epoch != NULL)
    *epoch = 0;
  return g_task_propagate_pointer (G_TASK (result), error);
}

static const char *
pl_upnp_pinhole_client_mapper_get_protocol_name (PlPortMapper *mapper)
{
  return "UPnP-IGD";
}

static GInetAddress *
pl_upnp_pinhole_client_mapper_get_gateway (PlPortMapper *mapper)
{
  return PL_UPNP_PINHOLE_CLIENT (mapper)->router;
}

static void
pl_upnp_pinhole_client_mapper_handle_announcement (PlPortMapper         *mapper,
                                                   const PlAnnouncement *announcement)
{
  /* No NAT-PMP/PCP announcements here; a restart shows as the router at a new address. */
}

static PlMapperCapabilities
pl_upnp_pinhole_client_mapper_get_capabilities (PlPortMapper *mapper)
{
  return PL_MAPPER_CAPABILITY_IPV6;
}

static void
pl_upnp_pinhole_client_mapper_get_lifetime_range (PlPortMapper *mapper,
                                                  guint32      *min_lifetime,
                                                  guint32      *max_lifetime)
{
  *min_lifetime = 1;
  *max_lifetime = PL_UPNP_LEASE_S;
}

static gboolean
pl_upnp_pinhole_client_mapper_listen (PlPortMapper  *mapper,
                                      guint16        port,
                                      const char    *iface,
                                      GError       **error)
{
  PL_UPNP_PINHOLE_CLIENT (mapper)->watching = TRUE;
  return TRUE;
}

static gboolean
pl_upnp_pinhole_client_mapper_get_listening (PlPortMapper *mapper)
{
  return PL_UPNP_PINHOLE_CLIENT (mapper)->watching;
}

/* Only an engine's journal is written: a one-shot program's pinholes stay open on purpose
 * (pl-upnp-journal.c). */
static void
pl_upnp_pinhole_client_mapper_set_journal (PlPortMapper *mapper,
                                           PlPcpState   *journal)
{
  PlUpnpPinholeClient *self = PL_UPNP_PINHOLE_CLIENT (mapper);

  if (journal != NULL && pl_pcp_state_get_owner (journal) != PL_PCP_OWNER_ENGINE)
    journal = NULL;
  g_set_object (&self->journal, journal);
}

static void
pl_upnp_pinhole_client_port_mapper_iface_init (PlPortMapperInterface *iface)
{
  iface->get_protocol_name = pl_upnp_pinhole_client_mapper_get_protocol_name;
  iface->get_gateway = pl_upnp_pinhole_client_mapper_get_gateway;
  iface->get_external_address_async = pl_upnp_pinhole_client_mapper_get_external_address_async;
  iface->get_external_address_finish =
    pl_upnp_pinhole_client_mapper_get_external_address_finish;
  iface->map_async = pl_upnp_pinhole_client_mapper_map_async;
  iface->map_finish = pl_upnp_pinhole_client_mapper_map_finish;
  iface->unmap_async = pl_upnp_pinhole_client_mapper_unmap_async;
  iface->unmap_finish = pl_upnp_pinhole_client_mapper_unmap_finish;
  iface->handle_announcement = pl_upnp_pinhole_client_mapper_handle_announcement;
  iface->get_capabilities = pl_upnp_pinhole_client_mapper_get_capabilities;
  iface->get_lifetime_range = pl_upnp_pinhole_client_mapper_get_lifetime_range;
  iface->probe_async = pl_upnp_pinhole_client_mapper_probe_async;
  iface->probe_finish = pl_upnp_pinhole_client_mapper_probe_finish;
  iface->listen = pl_upnp_pinhole_client_mapper_listen;
  iface->get_listening = pl_upnp_pinhole_client_mapper_get_listening;
  iface->set_journal = pl_upnp_pinhole_client_mapper_set_journal;
}

static void
pl_upnp_pinhole_client_dispose (GObject *object)
{
  PlUpnpPinholeClient *self = PL_UPNP_PINHOLE_CLIENT (object);

  self->watching = FALSE;
  if (self->discovery != NULL)
    g_signal_handlers_disconnect_by_data (self->discovery, self);
  g_clear_object (&self->discovery);

  G_OBJECT_CLASS (pl_upnp_pinhole_client_parent_class)->dispose (object);
}

static void
pl_upnp_pinhole_client_finalize (GObject *object)
{
  PlUpnpPinholeClient *self = PL_UPNP_PINHOLE_CLIENT (object);

  g_clear_object (&self->router);
  g_clear_object (&self->local);
  g_clear_object (&self->clock);
  g_clear_object (&self->journal);
  g_clear_pointer (&self->held, g_hash_table_unref);
  g_free (self->router_text);
  g_free (self->local_text);
  g_free (self->iface);

  G_OBJECT_CLASS (pl_upnp_pinhole_client_parent_class)->finalize (object);
}

static void
pl_upnp_pinhole_client_class_init (PlUpnpPinholeClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_upnp_pinhole_client_dispose;
  object_class->finalize = pl_upnp_pinhole_client_finalize;
}

static void
pl_upnp_pinhole_client_init (PlUpnpPinholeClient *self)
{
  self->held = g_hash_table_new (NULL, NULL);
}

/**
 * pl_upnp_pinhole_client_new:
 * @router: the IPv6 default router (usually its link-local address); an IPv4 address
 *   searches over IPv4 instead (tests on loopback)
 * @iface: (nullable): the interface the router is on
 * @local: this computer's stable IPv6 address: the pinholes are for it, and the search
 *   runs on a context at it when it has @router's family
 * @sibling: (nullable): the IPv4 search for the same router (its UPnP-IGD client's): the
 *   firewall service of the device it chose is the one to use
 * @clock: (nullable): the clock for the discovery verdict
 *
 * Starts looking for the router's WANIPv6FirewallControl:1 service at once.
 *
 * Returns: (transfer full): a new #PlUpnpPinholeClient
 */
PlUpnpPinholeClient *
pl_upnp_pinhole_client_new (GInetAddress    *router,
                            const char      *iface,
                            GInetAddress    *local,
                            PlUpnpDiscovery *sibling,
                            PlClock         *clock)
{
  PlUpnpPinholeClient *self;
  gboolean same_family;

  g_return_val_if_fail (G_IS_INET_ADDRESS (router), NULL);
  g_return_val_if_fail (G_IS_INET_ADDRESS (local), NULL);

  same_family = g_inet_address_get_family (router) == g_inet_address_get_family (local);
  self = g_object_new (PL_TYPE_UPNP_PINHOLE_CLIENT, NULL);
  self->router = g_object_ref (router);
  self->router_text = g_inet_address_to_string (router);
  self->local = g_object_ref (local);
  self->local_text = g_inet_address_to_string (local);
  self->iface = g_strdup (iface);
  self->clock = clock != NULL ? g_object_ref (clock) : pl_clock_get_default ();
  self->discovery = pl_upnp_discovery_new_firewall (router, iface, same_family ? local : NULL,
                                                    sibling, self->clock);
  g_signal_connect (self->discovery, "proxy-changed", G_CALLBACK (proxy_changed_cb), self);
  return self;
}

PlUpnpDiscovery *
pl_upnp_pinhole_client_get_discovery (PlUpnpPinholeClient *self)
{
  g_return_val_if_fail (PL_IS_UPNP_PINHOLE_CLIENT (self), NULL);
  return self->discovery;
}

void
pl_upnp_pinhole_client_set_timeout (PlUpnpPinholeClient *self,
                                    guint                timeout_ms)
{
  g_return_if_fail (PL_IS_UPNP_PINHOLE_CLIENT (self));
  self->timeout_ms = timeout_ms;
}

GInetAddress *
pl_upnp_pinhole_client_get_local (PlUpnpPinholeClient *self)
{
  g_return_val_if_fail (PL_IS_UPNP_PINHOLE_CLIENT (self), NULL);
  return self->local;
}

const char *
pl_upnp_pinhole_client_get_interface (PlUpnpPinholeClient *self)
{
  g_return_val_if_fail (PL_IS_UPNP_PINHOLE_CLIENT (self), NULL);
  return self->iface;
}

gint
pl_upnp_pinhole_client_get_unique_id (PlUpnpPinholeClient *self,
                                      PlProtocol           protocol,
                                      guint16              port)
{
  g_return_val_if_fail (PL_IS_UPNP_PINHOLE_CLIENT (self), -1);
  return held_id (self, protocol, port);
}
