/* pl-broker.c: the per-user engine's D-Bus API (io.github.portlight.Portlight.Broker1)
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>
#include <glib/gstdio.h>

#include "pl-broker-private.h"
#include "pl-profile-store.h"

enum {
  SIGNAL_NAME_LOST,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum {
  PROP_0,
  PROP_IDLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (PlBroker, pl_broker, G_TYPE_OBJECT)

/* Idle: no lease of a program, every mapping of the session (the user's profiles and the
 * leases' claims) switched off, and nobody subscribed
 * (dbus-broker.md §2.4). An activated engine exits after a while like that. */
static void
update_idle (PlBroker *self)
{
  gboolean idle = g_hash_table_size (self->leases) == 0;
  GHashTableIter iter;
  Client *client;

  for (guint i = 0; idle && self->mappings != NULL &&
                    i < g_list_model_get_n_items (self->mappings); i++)
    {
      g_autoptr(PlMapping) mapping = g_list_model_get_item (self->mappings, i);

      idle = pl_mapping_get_state (mapping) == PL_MAPPING_STATE_DISABLED;
    }
  if (idle && self->clients != NULL)
    {
      g_hash_table_iter_init (&iter, self->clients);
      while (idle && g_hash_table_iter_next (&iter, NULL, (gpointer *) &client))
        idle = !client->subscribed;
    }
  if (idle == self->idle)
    return;
  self->idle = idle;
  g_debug ("The engine is %s", idle ? "idle: nothing to keep" : "busy");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IDLE]);
}

static void
mapping_changed_cb (PlSession *session,
                    PlMapping *mapping,
                    gpointer   user_data)
{
  update_idle (PL_BROKER (user_data));
}

static void
mappings_changed_cb (GListModel *mappings,
                     guint       position,
                     guint       removed,
                     guint       added,
                     gpointer    user_data)
{
  update_idle (PL_BROKER (user_data));
}

/* Clients and their calls. */

static void
pending_free (Pending *pending)
{
  g_clear_object (&pending->invocation);
  g_clear_object (&pending->target);
  g_free (pending);
}

static void
client_free (Client *client)
{
  Pending *pending;

  g_cancellable_cancel (client->cancellable);
  g_clear_object (&client->cancellable);
  if (client->watch_id != 0)
    g_bus_unwatch_name (client->watch_id);
  while ((pending = g_queue_pop_head (&client->pending)) != NULL)
    {
      g_dbus_method_invocation_return_error_literal (g_steal_pointer (&pending->invocation),
                                                     G_DBUS_ERROR, G_DBUS_ERROR_FAILED,
                                                     "The caller left the bus");
      pending_free (pending);
    }
  g_clear_object (&client->caller);
  g_free (client->name);
  g_free (client);
}

static void lease_end (PlBroker *self, LeaseEntry *entry);

/* The caller's unique name left the bus: every lease bound to it ends (bind=none ones stay). */
static void
client_vanished_cb (GDBusConnection *connection,
                    const char      *name,
                    gpointer         user_data)
{
  Client *client = user_data;
  PlBroker *self = client->broker;
  g_autoptr(GPtrArray) ending = g_ptr_array_new ();
  GHashTableIter iter;
  LeaseEntry *entry;

  g_hash_table_iter_init (&iter, self->leases);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    if (pl_lease_get_request (entry->lease)->bind_caller &&
        g_strcmp0 (pl_lease_get_owner_name (entry->lease), name) == 0)
      g_ptr_array_add (ending, entry);

  g_debug ("%s left the bus: ending %u lease(s)", name, ending->len);
  for (guint i = 0; i < ending->len; i++)
    lease_end (self, g_ptr_array_index (ending, i));

  g_hash_table_remove (self->clients, name);   /* frees @client */
  update_idle (self);
}

static gboolean
caller_allowed (PlBroker  *self,
                Client    *client,
                GError   **error)
{
  if (pl_caller_get_uid (client->caller) != getuid ())
    {
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
                   "The broker serves only its own user (uid %u), not uid %u",
                   (guint) getuid (), (guint) pl_caller_get_uid (client->caller));
      return FALSE;
    }
  return TRUE;
}

/* The handler (or the refusal) consumes the invocation, as every reply does. */
static void
run_pending (PlBroker *self,
             Client   *client,
             Pending  *pending)
{
  g_autoptr(GError) error = NULL;
  GDBusMethodInvocation *invocation = g_steal_pointer (&pending->invocation);

  if (!caller_allowed (self, client, &error))
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    pending->handler (self, client, invocation, pending->target);
  pending_free (pending);
}

static void
credentials_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) credentials = NULL;
  Client *client;
  PlBroker *self;
  Pending *pending;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* the client record is gone */
  client = user_data;
  self = client->broker;

  if (reply != NULL)
    {
      credentials = g_variant_get_child_value (reply, 0);
      client->caller = pl_caller_new_from_credentials (client->name, credentials,
                                                       self->proc_root, &error);
    }
  if (client->caller == NULL)
    {
      g_autofree char *message = g_strdup_printf ("Cannot tell who is calling: %s",
                                                  error->message);

      while ((pending = g_queue_pop_head (&client->pending)) != NULL)
        {
          g_dbus_method_invocation_return_error_literal (g_steal_pointer (&pending->invocation),
                                                         G_DBUS_ERROR,
                                                         G_DBUS_ERROR_ACCESS_DENIED, message);
          pending_free (pending);
        }
      /* Forget it; the next call asks again. */
      g_hash_table_remove (self->clients, client->name);
      return;
    }

  g_debug ("Caller %s: uid %u, pid %u, app “%s”, process “%s”%s", client->name,
           pl_caller_get_uid (client->caller), pl_caller_get_pid (client->caller),
           pl_caller_get_app_id (client->caller), pl_caller_get_process_name (client->caller),
           pl_caller_get_sandboxed (client->caller) ? ", sandboxed" : "");
  while ((pending = g_queue_pop_head (&client->pending)) != NULL)
    run_pending (self, client, pending);
}

/* Serves @invocation with @handler once its sender is identified: at once for a known
 * sender, else after GetConnectionCredentials. The sender's name is watched before
 * anything else happens, so a sender that leaves meanwhile is always noticed. */
void
_pl_broker_dispatch (PlBroker              *self,
                     GDBusMethodInvocation *invocation,
                     PlBrokerHandler        handler,
                     gpointer               target)
{
  const char *sender = g_dbus_method_invocation_get_sender (invocation);
  Pending *pending;
  Client *client;

  /* @invocation is ours (the handle-* signal returned TRUE): every path below replies to it
   * exactly once, which consumes it. */
  if (sender == NULL || !g_dbus_is_unique_name (sender))
    {
      g_dbus_method_invocation_return_error_literal (invocation, G_DBUS_ERROR,
                                                     G_DBUS_ERROR_ACCESS_DENIED,
                                                     "Only callers on the session bus are served");
      return;
    }

  pending = g_new0 (Pending, 1);
  pending->handler = handler;
  pending->invocation = invocation;   /* the reference the skeleton handed us */
  pending->target = target != NULL ? g_object_ref (target) : NULL;

  client = g_hash_table_lookup (self->clients, sender);
  if (client != NULL && client->caller != NULL)
    {
      run_pending (self, client, pending);
      return;
    }
  if (client != NULL)
    {
      g_queue_push_tail (&client->pending, pending);
      return;
    }

  client = g_new0 (Client, 1);
  client->broker = self;
  client->name = g_strdup (sender);
  client->cancellable = g_cancellable_new ();
  g_queue_init (&client->pending);
  g_queue_push_tail (&client->pending, pending);
  g_hash_table_insert (self->clients, client->name, client);

  client->watch_id = g_bus_watch_name_on_connection (self->connection, sender,
                                                     G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                     NULL, client_vanished_cb, client, NULL);
  g_dbus_connection_call (self->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetConnectionCredentials",
                          g_variant_new ("(s)", sender), G_VARIANT_TYPE ("(a{sv})"),
                          G_DBUS_CALL_FLAGS_NONE, -1, client->cancellable, credentials_cb,
                          client);
}

/* Leases. */

static void
lease_entry_free (LeaseEntry *entry)
{
  g_clear_handle_id (&entry->deadline_id, g_source_remove);
  g_clear_signal_handler (&entry->release_id, pl_lease_get_interface (entry->lease));
  g_clear_signal_handler (&entry->revoke_id, pl_lease_get_interface (entry->lease));
  g_clear_object (&entry->lease);
  g_free (entry);
}

static void
lease_end (PlBroker   *self,
           LeaseEntry *entry)
{
  g_autoptr(PlLease) lease = g_object_ref (entry->lease);

  g_debug ("Lease %s ends", pl_lease_get_object_path (lease));
  pl_lease_registry_remove (self->registry, lease);
  if (self->server != NULL)
    g_dbus_object_manager_server_unexport (self->server, pl_lease_get_object_path (lease));
  g_hash_table_remove (self->leases, pl_lease_get_object_path (lease));   /* frees @entry */
  update_idle (self);
}

static gboolean
lease_deadline_cb (gpointer user_data)
{
  LeaseEntry *entry = user_data;

  entry->deadline_id = 0;
  lease_end (entry->broker, entry);
  return G_SOURCE_REMOVE;
}

static LeaseEntry *
lookup_live (PlBroker *self,
             PlLease  *lease)
{
  LeaseEntry *entry = g_hash_table_lookup (self->leases, pl_lease_get_object_path (lease));

  return entry != NULL && entry->lease == lease ? entry : NULL;
}

static void
handle_release (PlBroker              *self,
                Client                *client,
                GDBusMethodInvocation *invocation,
                gpointer               target)
{
  PlLease *lease = target;
  LeaseEntry *entry = lookup_live (self, lease);

  if (entry == NULL)
    {
      g_dbus_method_invocation_return_error_literal (invocation, G_DBUS_ERROR,
                                                     G_DBUS_ERROR_UNKNOWN_OBJECT,
                                                     "This lease has ended");
      return;
    }
  if (g_strcmp0 (pl_lease_get_owner_name (lease), client->name) != 0 &&
      (pl_lease_get_request (lease)->bind_caller || pl_caller_get_sandboxed (client->caller)))
    {
      g_dbus_method_invocation_return_error_literal (invocation, G_DBUS_ERROR,
                                                     G_DBUS_ERROR_ACCESS_DENIED,
                                                     "Only the program that holds this lease "
                                                     "may release it");
      return;
    }
  lease_end (self, entry);
  pl_broker_lease_complete_release (pl_lease_get_interface (lease), invocation);
}

static void
handle_revoke (PlBroker              *self,
               Client                *client,
               GDBusMethodInvocation *invocation,
               gpointer               target)
{
  PlLease *lease = target;
  LeaseEntry *entry = lookup_live (self, lease);

  if (entry == NULL)
    {
      g_dbus_method_invocation_return_error_literal (invocation, G_DBUS_ERROR,
                                                     G_DBUS_ERROR_UNKNOWN_OBJECT,
                                                     "This lease has ended");
      return;
    }
  if (pl_caller_get_sandboxed (client->caller))
    {
      g_dbus_method_invocation_return_error_literal (invocation, G_DBUS_ERROR,
                                                     G_DBUS_ERROR_ACCESS_DENIED,
                                                     "Sandboxed apps may not stop mappings");
      return;
    }
  if (!pl_lease_get_request (lease)->bind_caller)
    lease_end (self, entry);
  else
    {
      /* The owner sees why: the object stays, failed, until it releases or leaves. */
      pl_lease_registry_remove (self->registry, lease);
      g_clear_handle_id (&entry->deadline_id, g_source_remove);
      pl_lease_set_revoked (lease);
    }
  pl_broker_lease_complete_revoke (pl_lease_get_interface (lease), invocation);
}

static gboolean
lease_release_cb (PlBrokerLease         *iface,
                  GDBusMethodInvocation *invocation,
                  gpointer               user_data)
{
  LeaseEntry *entry = user_data;

  _pl_broker_dispatch (entry->broker, invocation, handle_release, entry->lease);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
lease_revoke_cb (PlBrokerLease         *iface,
                 GDBusMethodInvocation *invocation,
                 gpointer               user_data)
{
  LeaseEntry *entry = user_data;

  _pl_broker_dispatch (entry->broker, invocation, handle_revoke, entry->lease);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* RequestMapping. */

static gboolean
invalid_args (GError     **error,
              const char  *format,
              ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid_args (GError     **error,
              const char  *format,
              ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                                format, args));
  va_end (args);
  return FALSE;
}

static gboolean
option_type_ok (const char          *key,
                GVariant            *value,
                const GVariantType  *type,
                GError             **error)
{
  if (g_variant_is_of_type (value, type))
    return TRUE;
  return invalid_args (error, "Option “%s” must be of type %.*s, not %s", key,
                       (int) g_variant_type_get_string_length (type),
                       g_variant_type_peek_string (type), g_variant_get_type_string (value));
}

/* Control characters dropped; the caller's text is shown, never trusted. */
static char *
clean_description (const char *text)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (!g_unichar_iscntrl (c) && g_unichar_type (c) != G_UNICODE_FORMAT)
        g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

static gboolean
address_is_loopback (const struct sockaddr_storage *storage)
{
  if (storage->ss_family == AF_INET)
    {
      const struct sockaddr_in *in = (const struct sockaddr_in *) storage;

      return (ntohl (in->sin_addr.s_addr) >> 24) == 127;
    }
  if (storage->ss_family == AF_INET6)
    {
      const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) storage;
      const guint8 *b = in6->sin6_addr.s6_addr;
      static const guint8 v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

      if (IN6_IS_ADDR_LOOPBACK (&in6->sin6_addr))
        return TRUE;
      return memcmp (b, v4_mapped, sizeof v4_mapped) == 0 && b[12] == 127;
    }
  return FALSE;
}

/* The `socket` proof: a socket of the caller bound to the port it wants opened, not on
 * loopback, listening (TCP) or bound (UDP), of a requested protocol. */
static gboolean
check_socket (int                    fd,
              const PlLeaseRequest  *request,
              GError               **error)
{
  struct sockaddr_storage storage = { 0 };
  socklen_t length = sizeof storage;
  int type = 0;
  int listening = 0;
  socklen_t option_length = sizeof type;
  PlProtocol protocol;
  guint16 port;
  gboolean wanted = FALSE;

  if (getsockopt (fd, SOL_SOCKET, SO_TYPE, &type, &option_length) < 0 ||
      getsockname (fd, (struct sockaddr *) &storage, &length) < 0 ||
      (storage.ss_family != AF_INET && storage.ss_family != AF_INET6))
    {
      g_set_error_literal (error, PL_BROKER_ERROR, PL_BROKER_ERROR_NOT_PERMITTED,
                           "The socket given as proof is not an IPv4 or IPv6 socket");
      return FALSE;
    }

  if (type == SOCK_STREAM)
    {
      option_length = sizeof listening;
      protocol = PL_PROTOCOL_TCP;
      if (getsockopt (fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &option_length) < 0 ||
          !listening)
        {
          g_set_error_literal (error, PL_BROKER_ERROR, PL_BROKER_ERROR_NOT_PERMITTED,
                               "The TCP socket given as proof is not listening");
          return FALSE;
        }
    }
  else if (type == SOCK_DGRAM)
    protocol = PL_PROTOCOL_UDP;
  else
    {
      g_set_error_literal (error, PL_BROKER_ERROR, PL_BROKER_ERROR_NOT_PERMITTED,
                           "The socket given as proof is neither TCP nor UDP");
      return FALSE;
    }

  port = storage.ss_family == AF_INET ? ntohs (((struct sockaddr_in *) &storage)->sin_port)
                                      : ntohs (((struct sockaddr_in6 *) &storage)->sin6_port);
  for (guint i = 0; i < request->n_protocols; i++)
    wanted |= request->protocols[i] == protocol;
  if (!wanted || port != request->internal_port)
    {
      g_set_error (error, PL_BROKER_ERROR, PL_BROKER_ERROR_NOT_PERMITTED,
                   "The socket given as proof is on %s port %u, not on the port asked for (%u)",
                   protocol == PL_PROTOCOL_TCP ? "TCP" : "UDP", port, request->internal_port);
      return FALSE;
    }
  if (address_is_loopback (&storage))
    {
      g_set_error_literal (error, PL_BROKER_ERROR, PL_BROKER_ERROR_NOT_PERMITTED,
                           "The socket given as proof is bound to a loopback address, which "
                           "the router cannot reach");
      return FALSE;
    }
  return TRUE;
}

/* Reads and checks the arguments; *@description is the cleaned text. */
static gboolean
parse_request (GDBusMethodInvocation  *invocation,
               PlLeaseRequest         *request,
               char                  **description,
               int                    *socket_fd,
               GError                **error)
{
  GVariant *parameters = g_dbus_method_invocation_get_parameters (invocation);
  GUnixFDList *fds = g_dbus_message_get_unix_fd_list (
    g_dbus_method_invocation_get_message (invocation));
  g_autofree const char **protocols = NULL;
  g_autoptr(GVariant) options = NULL;
  gboolean have_external = FALSE;
  gboolean have_duration = FALSE;
  GVariantIter iter;
  guint16 internal_port = 0;
  GVariant *entry;

  memset (request, 0, sizeof *request);
  *description = NULL;
  *socket_fd = -1;
  request->lifetime = PL_BROKER_LIFETIME_MAX;
  request->bind_caller = TRUE;
  request->family = G_SOCKET_FAMILY_IPV4;

  g_variant_get (parameters, "(^a&sq@a{sv})", &protocols, &internal_port, &options);

  if (protocols[0] == NULL)
    return invalid_args (error, "Give at least one protocol (“tcp” or “udp”)");
  for (guint i = 0; protocols[i] != NULL; i++)
    {
      PlProtocol protocol;

      if (g_strcmp0 (protocols[i], "tcp") == 0)
        protocol = PL_PROTOCOL_TCP;
      else if (g_strcmp0 (protocols[i], "udp") == 0)
        protocol = PL_PROTOCOL_UDP;
      else
        return invalid_args (error, "Unknown protocol “%s”: give “tcp” or “udp”", protocols[i]);
      for (guint j = 0; j < request->n_protocols; j++)
        if (request->protocols[j] == protocol)
          return invalid_args (error, "Protocol “%s” is given twice", protocols[i]);
      request->protocols[request->n_protocols++] = protocol;
    }
  if (internal_port == 0)
    return invalid_args (error, "The internal port must be 1-65535, not 0");
  request->internal_port = internal_port;
  request->external_port = internal_port;

  g_variant_iter_init (&iter, options);
  while ((entry = g_variant_iter_next_value (&iter)) != NULL)
    {
      g_autoptr(GVariant) item = entry;
      g_autoptr(GVariant) value = NULL;
      const char *key = NULL;

      g_variant_get (item, "{&sv}", &key, &value);
      if (g_strcmp0 (key, "external_port") == 0)
        {
          if (!option_type_ok (key, value, G_VARIANT_TYPE_UINT16, error))
            return FALSE;
          request->external_port = g_variant_get_uint16 (value);
          have_external = TRUE;
        }
      else if (g_strcmp0 (key, "require_external_port") == 0)
        {
          if (!option_type_ok (key, value, G_VARIANT_TYPE_BOOLEAN, error))
            return FALSE;
          request->require_external_port = g_variant_get_boolean (value);
        }
      else if (g_strcmp0 (key, "lifetime") == 0)
        {
          if (!option_type_ok (key, value, G_VARIANT_TYPE_UINT32, error))
            return FALSE;
          request->lifetime = CLAMP (g_variant_get_uint32 (value), PL_BROKER_LIFETIME_MIN,
                                     PL_BROKER_LIFETIME_MAX);
        }
      else if (g_strcmp0 (key, "description") == 0)
        {
          const char *text;

          if (!option_type_ok (key, value, G_VARIANT_TYPE_STRING, error))
            return FALSE;
          text = g_variant_get_string (value, NULL);
          if (strlen (text) > PL_BROKER_DESCRIPTION_MAX)
            return invalid_args (error, "The description is longer than %u bytes",
                                 PL_BROKER_DESCRIPTION_MAX);
          g_free (*description);
          *description = clean_description (text);
        }
      else if (g_strcmp0 (key, "bind") == 0)
        {
          const char *bind;

          if (!option_type_ok (key, value, G_VARIANT_TYPE_STRING, error))
            return FALSE;
          bind = g_variant_get_string (value, NULL);
          if (g_strcmp0 (bind, "caller") == 0)
            request->bind_caller = TRUE;
          else if (g_strcmp0 (bind, "none") == 0)
            request->bind_caller = FALSE;
          else
            return invalid_args (error, "Unknown bind “%s”: give “caller” or “none”", bind);
        }
      else if (g_strcmp0 (key, "duration") == 0)
        {
          if (!option_type_ok (key, value, G_VARIANT_TYPE_UINT32, error))
            return FALSE;
          request->duration = g_variant_get_uint32 (value);
          have_duration = TRUE;
          if (request->duration > PL_BROKER_DURATION_MAX)
            return invalid_args (error, "The duration must be at most %u seconds (a week), "
                                 "not %u", PL_BROKER_DURATION_MAX, request->duration);
        }
      else if (g_strcmp0 (key, "family") == 0)
        {
          const char *family;

          if (!option_type_ok (key, value, G_VARIANT_TYPE_STRING, error))
            return FALSE;
          family = g_variant_get_string (value, NULL);
          if (g_strcmp0 (family, "ipv4") == 0)
            request->family = G_SOCKET_FAMILY_IPV4;
          else if (g_strcmp0 (family, "ipv6") == 0)
            request->family = G_SOCKET_FAMILY_IPV6;
          else
            return invalid_args (error, "Unknown family “%s”: give “ipv4” or “ipv6”", family);
        }
      else if (g_strcmp0 (key, "socket") == 0)
        {
          gint32 index;

          if (!option_type_ok (key, value, G_VARIANT_TYPE_HANDLE, error))
            return FALSE;
          index = g_variant_get_handle (value);
          if (*socket_fd >= 0)
            return invalid_args (error, "Option “socket” is given twice");
          if (fds == NULL || index < 0 || index >= g_unix_fd_list_get_length (fds))
            return invalid_args (error, "Option “socket” names no file descriptor of the call");
          *socket_fd = g_unix_fd_list_get (fds, index, NULL);
          if (*socket_fd < 0)
            return invalid_args (error, "Option “socket” names no usable file descriptor");
        }
      else
        return invalid_args (error, "Unknown option “%s”", key);
    }

  if (request->require_external_port && have_external && request->external_port == 0)
    return invalid_args (error, "“require_external_port” needs an external port, not 0 (any)");
  if (!request->bind_caller && (!have_duration || request->duration == 0))
    return invalid_args (error, "A lease with bind “none” needs a duration (1-%u seconds)",
                         PL_BROKER_DURATION_MAX);
  if (request->external_port == 0)
    {
      /* "any": the router chooses (the claim suggests 0 until a port is granted). */
      request->any_external_port = TRUE;
      request->external_port = internal_port;
    }
  return TRUE;
}

static guint
count_leases_of (PlBroker   *self,
                 const char *name)
{
  GHashTableIter iter;
  LeaseEntry *entry;
  guint n = 0;

  g_hash_table_iter_init (&iter, self->leases);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    if (g_strcmp0 (pl_lease_get_owner_name (entry->lease), name) == 0)
      n++;
  return n;
}

/* The request rate: a bucket of rate_burst tokens per client, refilled at rate_per_second
 * on the session's clock (virtual in tests). */
static gboolean
take_token (PlBroker *self,
            Client   *client)
{
  gint64 now;

  if (self->rate_burst == 0)
    return TRUE;
  now = self->session != NULL ? pl_clock_get_time (pl_session_get_clock (self->session))
                              : g_get_monotonic_time ();
  if (!client->rate_started)
    {
      client->tokens = self->rate_burst;
      client->rate_started = TRUE;
    }
  else if (now > client->refilled)
    client->tokens = MIN ((double) self->rate_burst,
                          client->tokens + (double) (now - client->refilled) / G_USEC_PER_SEC *
                                           self->rate_per_second);
  client->refilled = now;
  if (client->tokens < 1.0)
    return FALSE;
  client->tokens -= 1.0;
  return TRUE;
}

static gboolean
check_policy (PlBroker              *self,
              Client                *client,
              const PlLeaseRequest  *request,
              int                    socket_fd,
              GError               **error)
{
  gboolean sandboxed = pl_caller_get_sandboxed (client->caller);
  const char *app_id = pl_caller_get_app_id (client->caller);
  guint limit = sandboxed ? self->per_sandboxed : self->per_client;

  if (sandboxed)
    {
      if (app_id[0] == '\0' || self->allowed_apps == NULL ||
          !g_strv_contains ((const char * const *) self->allowed_apps, app_id))
        {
          g_set_error (error, PL_BROKER_ERROR, PL_BROKER_ERROR_NOT_PERMITTED,
                       "The sandboxed app “%s” is not allowed to open ports: the user can "
                       "allow it with AllowedApps in ~/.config/portlight/broker.ini",
                       app_id[0] != '\0' ? app_id : "(unknown)");
          return FALSE;
        }
      if (request->internal_port < 1024 || request->external_port < 1024)
        {
          g_set_error_literal (error, PL_BROKER_ERROR, PL_BROKER_ERROR_NOT_PERMITTED,
                               "Sandboxed apps may open only ports 1024 and above");
          return FALSE;
        }
      if (socket_fd < 0)
        {
          g_set_error_literal (error, PL_BROKER_ERROR, PL_BROKER_ERROR_NOT_PERMITTED,
                               "Sandboxed apps must pass their listening socket (option "
                               "“socket”)");
          return FALSE;
        }
    }
  if (socket_fd >= 0 && !check_socket (socket_fd, request, error))
    return FALSE;

  if (count_leases_of (self, client->name) >= limit)
    {
      g_set_error (error, PL_BROKER_ERROR, PL_BROKER_ERROR_LIMIT_EXCEEDED,
                   "This program already holds %u leases, the most allowed", limit);
      return FALSE;
    }
  if (g_hash_table_size (self->leases) >= self->total)
    {
      g_set_error (error, PL_BROKER_ERROR, PL_BROKER_ERROR_LIMIT_EXCEEDED,
                   "The broker already holds %u leases, the most allowed", self->total);
      return FALSE;
    }
  /* Last: only a request that would make a lease costs a token. */
  if (!take_token (self, client))
    {
      g_set_error (error, PL_BROKER_ERROR, PL_BROKER_ERROR_LIMIT_EXCEEDED,
                   "Too many requests: at most %u at once, then %u a second", self->rate_burst,
                   self->rate_per_second);
      return FALSE;
    }
  return TRUE;
}

static void
handle_request_mapping (PlBroker              *self,
                        Client                *client,
                        GDBusMethodInvocation *invocation,
                        gpointer               unused)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlLease) lease = NULL;
  g_autofree char *description = NULL;
  PlLeaseRequest request;
  LeaseEntry *entry;
  int socket_fd = -1;
  gboolean ok;

  ok = parse_request (invocation, &request, &description, &socket_fd, &error) &&
       (request.description = description != NULL ? description : "",
        check_policy (self, client, &request, socket_fd, &error));
  if (socket_fd >= 0)
    g_close (socket_fd, NULL);   /* proof read: never kept */
  if (!ok)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }

  lease = pl_lease_new (++self->next_id, client->caller, &request, g_get_real_time ());
  if (!pl_lease_registry_add (self->registry, lease, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }

  entry = g_new0 (LeaseEntry, 1);
  entry->broker = self;
  entry->lease = g_object_ref (lease);
  entry->release_id = g_signal_connect (pl_lease_get_interface (lease), "handle-release",
                                        G_CALLBACK (lease_release_cb), entry);
  entry->revoke_id = g_signal_connect (pl_lease_get_interface (lease), "handle-revoke",
                                       G_CALLBACK (lease_revoke_cb), entry);
  if (request.duration != 0)
    entry->deadline_id = g_timeout_add_full (G_PRIORITY_DEFAULT, request.duration * 1000u,
                                             lease_deadline_cb, entry, NULL);
  g_hash_table_insert (self->leases, g_strdup (pl_lease_get_object_path (lease)), entry);
  g_dbus_object_manager_server_export (self->server,
                                       G_DBUS_OBJECT_SKELETON (pl_lease_get_object (lease)));
  update_idle (self);

  g_debug ("%s (%s) holds %s: %s %u", client->name,
           pl_caller_get_display_name (client->caller), pl_lease_get_object_path (lease),
           request.n_protocols == 2 ? "TCP+UDP"
                                    : request.protocols[0] == PL_PROTOCOL_TCP ? "TCP" : "UDP",
           request.internal_port);
  pl_broker_manager_complete_request_mapping (self->manager, invocation, NULL,
                                              pl_lease_get_object_path (lease));
}

static gboolean
manager_request_mapping_cb (PlBrokerManager       *manager,
                            GDBusMethodInvocation *invocation,
                            GUnixFDList           *fd_list,
                            const char * const    *protocols,
                            guint16                internal_port,
                            GVariant              *options,
                            gpointer               user_data)
{
  _pl_broker_dispatch (PL_BROKER (user_data), invocation, handle_request_mapping, NULL);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* The other Manager methods. */

static void
handle_subscribe (PlBroker              *self,
                  Client                *client,
                  GDBusMethodInvocation *invocation,
                  gpointer               unused)
{
  client->subscribed = TRUE;
  update_idle (self);
  pl_broker_manager_complete_subscribe (self->manager, invocation);
}

static void
handle_unsubscribe (PlBroker              *self,
                    Client                *client,
                    GDBusMethodInvocation *invocation,
                    gpointer               unused)
{
  client->subscribed = FALSE;
  update_idle (self);
  pl_broker_manager_complete_unsubscribe (self->manager, invocation);
}

static void
handle_reload_profiles (PlBroker              *self,
                        Client                *client,
                        GDBusMethodInvocation *invocation,
                        gpointer               unused)
{
  GListModel *user = pl_lease_registry_get_user_profiles (self->registry);
  g_autoptr(GError) error = NULL;

  if (pl_caller_get_sandboxed (client->caller))
    {
      g_dbus_method_invocation_return_error_literal (invocation, G_DBUS_ERROR,
                                                     G_DBUS_ERROR_ACCESS_DENIED,
                                                     "Sandboxed apps may not change profiles");
      return;
    }
  if (user != NULL && PL_IS_PROFILE_STORE (user) &&
      !pl_profile_store_load (PL_PROFILE_STORE (user), NULL, &error))
    {
      g_dbus_method_invocation_return_error_literal (invocation, G_DBUS_ERROR,
                                                     G_DBUS_ERROR_FAILED, error->message);
      return;
    }
  pl_broker_manager_complete_reload_profiles (self->manager, invocation);
}

static gboolean
manager_subscribe_cb (PlBrokerManager       *manager,
                      GDBusMethodInvocation *invocation,
                      gpointer               user_data)
{
  _pl_broker_dispatch (PL_BROKER (user_data), invocation, handle_subscribe, NULL);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
manager_unsubscribe_cb (PlBrokerManager       *manager,
                        GDBusMethodInvocation *invocation,
                        gpointer               user_data)
{
  _pl_broker_dispatch (PL_BROKER (user_data), invocation, handle_unsubscribe, NULL);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
manager_reload_profiles_cb (PlBrokerManager       *manager,
                            GDBusMethodInvocation *invocation,
                            gpointer               user_data)
{
  _pl_broker_dispatch (PL_BROKER (user_data), invocation, handle_reload_profiles, NULL);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
manager_create_profile_cb (PlBrokerManager       *manager,
                           GDBusMethodInvocation *invocation,
                           GVariant              *settings,
                           gpointer               user_data)
{
  _pl_broker_dispatch (PL_BROKER (user_data), invocation, _pl_broker_handle_create_profile,
                       NULL);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Rate-limited, never fails: at most one re-probe every two seconds. */
static gboolean
manager_refresh_cb (PlBrokerManager       *manager,
                    GDBusMethodInvocation *invocation,
                    gpointer               user_data)
{
  PlBroker *self = user_data;
  gint64 now = g_get_monotonic_time ();

  if (self->session != NULL &&
      (self->last_refresh == 0 || now - self->last_refresh >= 2 * G_USEC_PER_SEC))
    {
      self->last_refresh = now;
      pl_session_network_changed (self->session);
    }
  pl_broker_manager_complete_refresh (manager, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Manager properties from the session. */

static void
update_manager (PlBroker *self)
{
  GInetAddress *gateway;
  g_autofree char *gateway_text = NULL;
  const char *protocol;
  const char *method = "";
  const char *state;
  const char *address;
  const char *address6;
  const char *warnings[2] = { NULL, NULL };

  if (self->session == NULL)
    return;

  gateway = pl_session_get_gateway (self->session);
  protocol = pl_session_get_protocol_name (self->session);
  if (gateway != NULL)
    gateway_text = g_inet_address_to_string (gateway);
  if (protocol != NULL && g_ascii_strcasecmp (protocol, "PCP") == 0)
    method = "pcp";
  else if (protocol != NULL && g_ascii_strcasecmp (protocol, "NAT-PMP") == 0)
    method = "nat-pmp";
  else if (protocol != NULL && g_str_has_prefix (protocol, "UPnP"))
    method = "upnp-igd";

  if (gateway == NULL)
    state = pl_session_is_running (self->session) ? "no-gateway" : "starting";
  else if (protocol == NULL)
    state = "starting";
  else
    state = "ready";
  address = pl_session_get_external_address (self->session);
  address6 = pl_session_get_ipv6_address (self->session);
  if (pl_session_get_double_nat (self->session))
    warnings[0] = "double-nat";

  if (g_strcmp0 (pl_broker_manager_get_gateway (self->manager), gateway_text ? gateway_text : "") != 0)
    pl_broker_manager_set_gateway (self->manager, gateway_text != NULL ? gateway_text : "");
  if (g_strcmp0 (pl_broker_manager_get_method (self->manager), method) != 0)
    pl_broker_manager_set_method (self->manager, method);
  if (g_strcmp0 (pl_broker_manager_get_external_address (self->manager),
                 address != NULL ? address : "") != 0)
    pl_broker_manager_set_external_address (self->manager, address != NULL ? address : "");
  if (g_strcmp0 (pl_broker_manager_get_ipv6_address (self->manager),
                 address6 != NULL ? address6 : "") != 0)
    pl_broker_manager_set_ipv6_address (self->manager, address6 != NULL ? address6 : "");
  if (pl_broker_manager_get_warnings (self->manager) == NULL ||
      !g_strv_equal ((const char * const *) warnings, pl_broker_manager_get_warnings (self->manager)))
    pl_broker_manager_set_warnings (self->manager, warnings);
  if (pl_broker_manager_get_epoch (self->manager) != pl_session_get_epoch (self->session))
    pl_broker_manager_set_epoch (self->manager, pl_session_get_epoch (self->session));
  if (g_strcmp0 (pl_broker_manager_get_state (self->manager), state) != 0)
    pl_broker_manager_set_state (self->manager, state);
}

static void
router_reset_cb (PlSession *session,
                 guint      n_mappings,
                 gpointer   user_data)
{
  PlBroker *self = user_data;

  pl_broker_manager_set_gateway_rebooted_at (self->manager, (guint64) g_get_real_time ());
}

static void
session_changed_cb (PlBroker *self)
{
  update_manager (self);
}

/* GObject. */

static void
pl_broker_dispose (GObject *object)
{
  PlBroker *self = PL_BROKER (object);

  pl_broker_shutdown (self);
  pl_broker_set_session (self, NULL);
  g_clear_pointer (&self->others, g_ptr_array_unref);
  if (self->waiting_destroy != NULL)
    self->waiting_destroy (self->waiting_data);
  self->waiting_func = NULL;
  self->waiting_data = NULL;
  self->waiting_destroy = NULL;
  g_clear_object (&self->registry);
  g_clear_object (&self->manager);
  g_clear_object (&self->manager_object);
  g_clear_object (&self->connection);

  G_OBJECT_CLASS (pl_broker_parent_class)->dispose (object);
}

static void
pl_broker_finalize (GObject *object)
{
  PlBroker *self = PL_BROKER (object);

  g_clear_pointer (&self->clients, g_hash_table_unref);
  g_clear_pointer (&self->leases, g_hash_table_unref);
  g_clear_pointer (&self->profile_objects, g_hash_table_unref);
  g_strfreev (self->allowed_apps);
  g_free (self->proc_root);

  G_OBJECT_CLASS (pl_broker_parent_class)->finalize (object);
}

static void
pl_broker_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  PlBroker *self = PL_BROKER (object);

  switch (prop_id)
    {
    case PROP_IDLE:
      g_value_set_boolean (value, self->idle);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pl_broker_class_init (PlBrokerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_broker_dispose;
  object_class->finalize = pl_broker_finalize;
  object_class->get_property = pl_broker_get_property;

  /**
   * PlBroker:idle:
   *
   * Whether the engine has nothing to keep: no lease of any program or profile, no mapping
   * left on the router, and no subscriber (Manager.Subscribe). `portlightctl run
   * --idle-exit` stops after a while of this, as an activated service should.
   */
  properties[PROP_IDLE] =
    g_param_spec_boolean ("idle", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PlBroker::name-lost:
   * @self: the broker
   *
   * Emitted when the bus name, once owned, is lost: the bus went away.
   */
  signals[SIGNAL_NAME_LOST] =
    g_signal_new ("name-lost", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /* Registers the error names with GDBus. */
  (void) PL_BROKER_ERROR;
}

static void
pl_broker_init (PlBroker *self)
{
  const char *no_warnings[] = { NULL };

  self->idle = TRUE;
  self->others = g_ptr_array_new_with_free_func (g_object_unref);
  self->per_client = PL_BROKER_DEFAULT_LEASES_PER_CLIENT;
  self->per_sandboxed = PL_BROKER_DEFAULT_LEASES_PER_SANDBOXED_CLIENT;
  self->total = PL_BROKER_DEFAULT_LEASES_TOTAL;
  self->rate_burst = PL_BROKER_DEFAULT_REQUEST_BURST;
  self->rate_per_second = PL_BROKER_DEFAULT_REQUESTS_PER_SECOND;
  self->clients = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify) client_free);
  self->leases = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) lease_entry_free);

  self->manager = pl_broker_manager_skeleton_new ();
  pl_broker_manager_set_version (self->manager, PL_BROKER_API_VERSION);
  pl_broker_manager_set_state (self->manager, "starting");
  pl_broker_manager_set_gateway (self->manager, "");
  pl_broker_manager_set_method (self->manager, "");
  pl_broker_manager_set_external_address (self->manager, "");
  pl_broker_manager_set_ipv6_address (self->manager, "");
  pl_broker_manager_set_gateway_rebooted_at (self->manager, 0);
  pl_broker_manager_set_epoch (self->manager, 0);
  pl_broker_manager_set_warnings (self->manager, no_warnings);
  pl_broker_manager_set_profiles_file (self->manager, "");
  g_signal_connect (self->manager, "handle-request-mapping",
                    G_CALLBACK (manager_request_mapping_cb), self);
  g_signal_connect (self->manager, "handle-subscribe", G_CALLBACK (manager_subscribe_cb), self);
  g_signal_connect (self->manager, "handle-unsubscribe",
                    G_CALLBACK (manager_unsubscribe_cb), self);
  g_signal_connect (self->manager, "handle-reload-profiles",
                    G_CALLBACK (manager_reload_profiles_cb), self);
  g_signal_connect (self->manager, "handle-create-profile",
                    G_CALLBACK (manager_create_profile_cb), self);
  g_signal_connect (self->manager, "handle-refresh", G_CALLBACK (manager_refresh_cb), self);
  self->manager_object = pl_broker_object_skeleton_new (PL_BROKER_MANAGER_PATH);
  pl_broker_object_skeleton_set_manager (self->manager_object, self->manager);
}

PlBroker *
pl_broker_new (GListModel *user_profiles)
{
  PlBroker *self;

  g_return_val_if_fail (user_profiles == NULL || G_IS_LIST_MODEL (user_profiles), NULL);

  self = g_object_new (PL_TYPE_BROKER, NULL);
  self->registry = pl_lease_registry_new (user_profiles);
  if (user_profiles != NULL && PL_IS_PROFILE_STORE (user_profiles))
    pl_broker_manager_set_profiles_file (self->manager,
                                         pl_profile_store_get_path (PL_PROFILE_STORE (user_profiles)));
  return self;
}

GListModel *
pl_broker_get_profiles (PlBroker *self)
{
  g_return_val_if_fail (PL_IS_BROKER (self), NULL);
  return pl_lease_registry_get_profiles (self->registry);
}

PlLeaseRegistry *
pl_broker_get_registry (PlBroker *self)
{
  g_return_val_if_fail (PL_IS_BROKER (self), NULL);
  return self->registry;
}

void
pl_broker_set_session (PlBroker  *self,
                       PlSession *session)
{
  g_return_if_fail (PL_IS_BROKER (self));
  g_return_if_fail (session == NULL || PL_IS_SESSION (session));

  if (self->session == session)
    return;
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  for (guint i = 0; self->others != NULL && i < self->others->len; i++)
    g_signal_handlers_disconnect_by_data (g_ptr_array_index (self->others, i), self);
  if (self->others != NULL)
    g_ptr_array_set_size (self->others, 0);
  if (self->mappings != NULL)
    g_clear_signal_handler (&self->mappings_changed_id, self->mappings);
  g_clear_object (&self->mappings);
  self->profile_mapping_id = 0;
  g_set_object (&self->session, session);
  if (self->registry != NULL)
    pl_lease_registry_set_session (self->registry, session);
  if (session == NULL)
    {
      update_idle (self);
      return;
    }
  self->mappings = g_object_ref (pl_session_get_mappings (session));
  self->mappings_changed_id = g_signal_connect (self->mappings, "items-changed",
                                                G_CALLBACK (mappings_changed_cb), self);
  g_signal_connect (session, "mapping-changed", G_CALLBACK (mapping_changed_cb), self);
  update_idle (self);
  _pl_broker_profiles_follow_session (self);

  g_signal_connect (session, "router-reset", G_CALLBACK (router_reset_cb), self);
  g_signal_connect_swapped (session, "gateway-changed", G_CALLBACK (session_changed_cb), self);
  g_signal_connect_swapped (session, "external-address-changed",
                            G_CALLBACK (session_changed_cb), self);
  g_signal_connect_swapped (session, "double-nat-changed", G_CALLBACK (session_changed_cb), self);
  g_signal_connect_swapped (session, "notify::protocol-name",
                            G_CALLBACK (session_changed_cb), self);
  g_signal_connect_swapped (session, "notify::epoch", G_CALLBACK (session_changed_cb), self);
  g_signal_connect_swapped (session, "notify::ipv6-address",
                            G_CALLBACK (session_changed_cb), self);
  update_manager (self);
}

/**
 * pl_broker_add_session:
 * @self: a #PlBroker
 * @session: another session of the primary's group (pl-session-group.h)
 *
 * The profiles with a Gateway= of their own are mapped by their gateway's session: their
 * Profile objects and the leases that ride on them show that session's mappings, router
 * and address. The Manager's properties stay the primary's (pl_broker_set_session()).
 * Call it for each session the group adds, until the primary is replaced.
 */
void
pl_broker_add_session (PlBroker  *self,
                       PlSession *session)
{
  g_return_if_fail (PL_IS_BROKER (self));
  g_return_if_fail (PL_IS_SESSION (session));
  g_return_if_fail (self->session != NULL);

  if (session == self->session || g_ptr_array_find (self->others, session, NULL))
    return;
  g_ptr_array_add (self->others, g_object_ref (session));
  if (self->registry != NULL)
    pl_lease_registry_add_session (self->registry, session);
  _pl_broker_profiles_follow_other (self, session);
}

static void
update_limits (PlBroker *self)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  g_variant_builder_add (&builder, "{sv}", "leases-per-client",
                         g_variant_new_uint32 (self->per_client));
  g_variant_builder_add (&builder, "{sv}", "leases-per-sandboxed-client",
                         g_variant_new_uint32 (self->per_sandboxed));
  g_variant_builder_add (&builder, "{sv}", "leases-total", g_variant_new_uint32 (self->total));
  g_variant_builder_add (&builder, "{sv}", "request-burst",
                         g_variant_new_uint32 (self->rate_burst));
  g_variant_builder_add (&builder, "{sv}", "requests-per-second",
                         g_variant_new_uint32 (self->rate_per_second));
  g_variant_builder_add (&builder, "{sv}", "lifetime-min",
                         g_variant_new_uint32 (PL_BROKER_LIFETIME_MIN));
  g_variant_builder_add (&builder, "{sv}", "lifetime-max",
                         g_variant_new_uint32 (PL_BROKER_LIFETIME_MAX));
  g_variant_builder_add (&builder, "{sv}", "duration-max",
                         g_variant_new_uint32 (PL_BROKER_DURATION_MAX));
  g_variant_builder_add (&builder, "{sv}", "description-max",
                         g_variant_new_uint32 (PL_BROKER_DESCRIPTION_MAX));
  pl_broker_manager_set_limits (self->manager, g_variant_builder_end (&builder));
}

void
pl_broker_set_limits (PlBroker *self,
                      guint     per_client,
                      guint     per_sandboxed_client,
                      guint     total)
{
  g_return_if_fail (PL_IS_BROKER (self));
  g_return_if_fail (per_client > 0 && per_sandboxed_client > 0 && total > 0);
  g_return_if_fail (self->server == NULL);

  self->per_client = per_client;
  self->per_sandboxed = per_sandboxed_client;
  self->total = total;
}

void
pl_broker_set_rate_limit (PlBroker *self,
                          guint     burst,
                          guint     per_second)
{
  g_return_if_fail (PL_IS_BROKER (self));
  g_return_if_fail (burst == 0 || per_second > 0);
  g_return_if_fail (self->server == NULL);

  self->rate_burst = burst;
  self->rate_per_second = per_second;
}

void
pl_broker_set_allowed_apps (PlBroker           *self,
                            const char * const *app_ids)
{
  g_return_if_fail (PL_IS_BROKER (self));

  g_strfreev (self->allowed_apps);
  self->allowed_apps = g_strdupv ((char **) app_ids);
}

static gboolean
read_count (GKeyFile    *key_file,
            const char  *key,
            guint       *value,
            GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = g_key_file_get_value (key_file, "Broker", key, NULL);
  guint64 number = 0;

  if (text == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (text, 10, 1, 100000, &number, &local_error))
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "%s “%s” is not a number from 1 to 100000", key, text);
      return FALSE;
    }
  *value = (guint) number;
  return TRUE;
}

gboolean
pl_broker_load_settings (PlBroker    *self,
                         const char  *path,
                         GError     **error)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *default_path = NULL;
  g_auto(GStrv) apps = NULL;
  gboolean ok = TRUE;

  g_return_val_if_fail (PL_IS_BROKER (self), FALSE);
  g_return_val_if_fail (self->server == NULL, FALSE);

  if (path == NULL)
    path = default_path = g_build_filename (g_get_user_config_dir (), "portlight", "broker.ini",
                                            NULL);
  if (!g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", path);
      return FALSE;
    }

  ok = read_count (key_file, "LeasesPerClient", &self->per_client, &local_error) && ok;
  ok = read_count (key_file, "LeasesPerSandboxedClient", &self->per_sandboxed,
                   local_error == NULL ? &local_error : NULL) && ok;
  ok = read_count (key_file, "LeasesTotal", &self->total,
                   local_error == NULL ? &local_error : NULL) && ok;
  apps = g_key_file_get_string_list (key_file, "Broker", "AllowedApps", NULL, NULL);
  if (apps != NULL)
    pl_broker_set_allowed_apps (self, (const char * const *) apps);
  if (!ok)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", path);
      return FALSE;
    }
  return TRUE;
}

void
pl_broker_set_proc_root (PlBroker   *self,
                         const char *proc_root)
{
  g_return_if_fail (PL_IS_BROKER (self));

  g_free (self->proc_root);
  self->proc_root = g_strdup (proc_root);
}

gboolean
pl_broker_export (PlBroker         *self,
                  GDBusConnection  *connection,
                  GError          **error)
{
  g_return_val_if_fail (PL_IS_BROKER (self), FALSE);
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), FALSE);

  if (self->server != NULL)
    {
      if (self->connection == connection)
        return TRUE;
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                           "The broker is already exported on another connection");
      return FALSE;
    }

  update_limits (self);
  self->connection = g_object_ref (connection);
  self->server = g_dbus_object_manager_server_new (PL_BROKER_OBJECT_PATH);
  g_dbus_object_manager_server_export (self->server,
                                       G_DBUS_OBJECT_SKELETON (self->manager_object));
  g_dbus_object_manager_server_set_connection (self->server, connection);
  _pl_broker_profiles_start (self);
  return TRUE;
}

GDBusConnection *
pl_broker_get_connection (PlBroker *self)
{
  g_return_val_if_fail (PL_IS_BROKER (self), NULL);
  return self->connection;
}

/* Owning the name. */

static void
owner_pid_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GVariant) reply = NULL;
  guint32 pid = 0;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(u)", &pid);
  g_task_set_task_data (task, GUINT_TO_POINTER (pid), NULL);
  if (pid != 0)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_EXISTS,
                             "Portlight's engine is already running (pid %u)", pid);
  else
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_EXISTS,
                             "Portlight's engine is already running");
}

static void
name_acquired_cb (GDBusConnection *connection,
                  const char      *name,
                  gpointer         user_data)
{
  PlBroker *self = user_data;
  g_autoptr(GTask) task = g_steal_pointer (&self->own_task);

  self->name_owned = TRUE;
  g_debug ("Owning %s", name);
  if (task != NULL)
    g_task_return_boolean (task, TRUE);
}

static void
name_lost_cb (GDBusConnection *connection,
              const char      *name,
              gpointer         user_data)
{
  PlBroker *self = user_data;
  g_autoptr(GTask) task = g_steal_pointer (&self->own_task);

  if (self->name_owned)
    {
      self->name_owned = FALSE;
      g_debug ("Lost %s: the bus went away", name);
      g_signal_emit (self, signals[SIGNAL_NAME_LOST], 0);
      return;
    }
  if (task == NULL)
    return;
  g_clear_handle_id (&self->own_id, g_bus_unown_name);
  if (connection == NULL || g_dbus_connection_is_closed (connection))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CLOSED,
                               "The session bus went away before the engine could start");
      return;
    }
  g_dbus_connection_call (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                          g_variant_new ("(s)", name), G_VARIANT_TYPE ("(u)"),
                          G_DBUS_CALL_FLAGS_NONE, 5000, g_task_get_cancellable (task),
                          owner_pid_cb, g_steal_pointer (&task));
}

void
pl_broker_own_name_async (PlBroker            *self,
                          GDBusConnection     *connection,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (PL_IS_BROKER (self));
  g_return_if_fail (G_IS_DBUS_CONNECTION (connection));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pl_broker_own_name_async);

  if (self->own_id != 0 || self->own_task != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               "The broker already owns or asks for its name");
      return;
    }
  /* Objects first, then the name: with Type=dbus, systemd counts the engine as started the
   * moment the name appears. */
  if (!pl_broker_export (self, connection, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  self->own_task = g_steal_pointer (&task);
  self->own_id = g_bus_own_name_on_connection (connection, PL_BROKER_BUS_NAME,
                                               G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
                                               name_acquired_cb, name_lost_cb, self, NULL);
}

gboolean
pl_broker_own_name_finish (PlBroker      *self,
                           GAsyncResult  *result,
                           guint         *owner_pid,
                           GError       **error)
{
  g_return_val_if_fail (PL_IS_BROKER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (owner_pid != NULL)
    *owner_pid = GPOINTER_TO_UINT (g_task_get_task_data (G_TASK (result)));
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
pl_broker_shutdown (PlBroker *self)
{
  GHashTableIter iter;
  LeaseEntry *entry;

  g_return_if_fail (PL_IS_BROKER (self));

  /* Clients first: no vanish callback may run on a half-torn broker. */
  if (self->clients != NULL)
    g_hash_table_remove_all (self->clients);
  if (self->leases != NULL)
    {
      g_hash_table_iter_init (&iter, self->leases);
      while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
        {
          if (self->registry != NULL)
            pl_lease_registry_remove (self->registry, entry->lease);
          g_hash_table_iter_remove (&iter);
        }
    }
  g_clear_handle_id (&self->own_id, g_bus_unown_name);
  if (self->own_task != NULL)
    {
      g_autoptr(GTask) task = g_steal_pointer (&self->own_task);

      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "The broker was shut down");
    }
  self->name_owned = FALSE;
  _pl_broker_profiles_stop (self);
  if (self->server != NULL)
    {
      g_dbus_object_manager_server_set_connection (self->server, NULL);
      g_clear_object (&self->server);
    }
}

/**
 * pl_broker_get_idle:
 * @self: a broker
 *
 * Returns: whether the engine has nothing to keep ([property@Pl.Broker:idle])
 */
gboolean
pl_broker_get_idle (PlBroker *self)
{
  g_return_val_if_fail (PL_IS_BROKER (self), FALSE);
  return self->idle;
}

guint
pl_broker_get_n_leases (PlBroker *self)
{
  g_return_val_if_fail (PL_IS_BROKER (self), 0);
  return g_hash_table_size (self->leases);
}
