/* pl-announce-listener.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <net/if.h>
#include <netinet/in.h>

#include <glib/gi18n-lib.h>

#include "pl-announce-listener.h"
#include "pl-clock.h"
#include "pl-natpmp.h"

/**
 * PlAnnounceListener:
 *
 * A UDP socket bound to 224.0.0.1:5350 (RFC 6886 section 3.2.1, PMP-12): bound to the group
 * address itself, not 0.0.0.0, with address and port reuse, so that several clients on one
 * host all receive every announcement. It emits [signal@Pl.AnnounceListener::datagram] for
 * every datagram, whatever it holds and wherever it comes from: the caller checks the source
 * (PMP-13) and parses it (PMP-15).
 *
 * Threading: belongs to the thread-default GMainContext it was created on.
 */

struct _PlAnnounceListener
{
  GObject       parent_instance;

  GSocket      *socket;
  GInetAddress *group;
  GSource      *source;
  GPtrArray    *joined;       /* interface names; "" stands for the kernel's choice */
  guint16       port;
};

G_DEFINE_FINAL_TYPE (PlAnnounceListener, pl_announce_listener, G_TYPE_OBJECT)

enum {
  SIGNAL_DATAGRAM,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
pl_announce_listener_dispose (GObject *object)
{
  PlAnnounceListener *self = PL_ANNOUNCE_LISTENER (object);

  pl_clear_source (&self->source);
  if (self->socket != NULL)
    {
      pl_announce_listener_leave_all (self);
      g_socket_close (self->socket, NULL);
      g_clear_object (&self->socket);
    }
  g_clear_object (&self->group);

  G_OBJECT_CLASS (pl_announce_listener_parent_class)->dispose (object);
}

static void
pl_announce_listener_finalize (GObject *object)
{
  PlAnnounceListener *self = PL_ANNOUNCE_LISTENER (object);

  g_clear_pointer (&self->joined, g_ptr_array_unref);

  G_OBJECT_CLASS (pl_announce_listener_parent_class)->finalize (object);
}

static void
pl_announce_listener_class_init (PlAnnounceListenerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_announce_listener_dispose;
  object_class->finalize = pl_announce_listener_finalize;

  /**
   * PlAnnounceListener::datagram:
   * @self: the listener
   * @source: the sender's address and port
   * @datagram: what arrived
   *
   * Emitted for every datagram received on the announcement port.
   */
  signals[SIGNAL_DATAGRAM] =
    g_signal_new ("datagram",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_INET_SOCKET_ADDRESS, G_TYPE_BYTES);
}

static void
pl_announce_listener_init (PlAnnounceListener *self)
{
  self->joined = g_ptr_array_new_with_free_func (g_free);
}

static gboolean
socket_ready_cb (GSocket      *socket,
                 GIOCondition  condition,
                 gpointer      user_data)
{
  PlAnnounceListener *self = user_data;

  g_object_ref (self);

  /* Drain everything queued, but bounded: a flood must not starve the main loop. */
  for (guint i = 0; i < 64 && self->socket != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocketAddress) from = NULL;
      g_autoptr(GBytes) bytes = NULL;
      guint8 buf[PL_NATPMP_MAX_PACKET];
      gssize n;

      n = g_socket_receive_from (self->socket, &from, (char *) buf, sizeof buf, NULL, &error);
      if (n < 0)
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            g_debug ("Announcement socket: %s", error->message);
          break;
        }
      if (!G_IS_INET_SOCKET_ADDRESS (from))
        continue;

      bytes = g_bytes_new (buf, n);
      g_signal_emit (self, signals[SIGNAL_DATAGRAM], 0, from, bytes);
    }

  g_object_unref (self);
  return G_SOURCE_CONTINUE;
}

/**
 * pl_announce_listener_new:
 * @port: the port to listen on, 0 for 5350
 * @error: return location for a #GError
 *
 * Binds a socket to 224.0.0.1:@port with address reuse. Join the group on an interface with
 * [method@Pl.AnnounceListener.join] to receive anything.
 *
 * Returns: (transfer full) (nullable): a new listener, or %NULL when the socket could not be
 *   created or bound
 */
PlAnnounceListener *
pl_announce_listener_new (guint16   port,
                          GError  **error)
{
  return pl_announce_listener_new_for_family (G_SOCKET_FAMILY_IPV4, port, error);
}

/**
 * pl_announce_listener_new_for_family:
 * @family: %G_SOCKET_FAMILY_IPV4 for 224.0.0.1, %G_SOCKET_FAMILY_IPV6 for ff02::1 (where a
 *   PCP server sends its IPv6 ANNOUNCE, RFC 6887 section 14.1.3)
 * @port: the port to listen on, 0 for 5350
 * @error: return location for a #GError
 *
 * Like [ctor@Pl.AnnounceListener.new], for either group. The IPv6 socket is bound to the
 * unspecified address (a link-local group has no address to bind without a scope) and
 * receives IPv6 only; join ff02::1 on the router's interface.
 *
 * Returns: (transfer full) (nullable): a new listener, or %NULL when the socket could not be
 *   created or bound
 */
PlAnnounceListener *
pl_announce_listener_new_for_family (GSocketFamily   family,
                                     guint16         port,
                                     GError        **error)
{
  g_autoptr(PlAnnounceListener) self = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GMainContext) context = NULL;
  g_autoptr(GInetAddress) any = NULL;

  g_return_val_if_fail (family == G_SOCKET_FAMILY_IPV4 || family == G_SOCKET_FAMILY_IPV6, NULL);

  self = g_object_new (PL_TYPE_ANNOUNCE_LISTENER, NULL);
  self->port = port != 0 ? port : PL_NATPMP_CLIENT_PORT;
  self->group = g_inet_address_new_from_string (family == G_SOCKET_FAMILY_IPV6
                                                ? PL_PCP_ANNOUNCE_GROUP6
                                                : PL_NATPMP_ANNOUNCE_GROUP);

  self->socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
  if (self->socket == NULL)
    return NULL;
  g_socket_set_blocking (self->socket, FALSE);
  g_socket_set_multicast_loopback (self->socket, TRUE);
  if (family == G_SOCKET_FAMILY_IPV6 &&
      !g_socket_set_option (self->socket, IPPROTO_IPV6, IPV6_V6ONLY, 1, error))
    return NULL;

  /* allow_reuse sets SO_REUSEADDR and, for datagram sockets, SO_REUSEPORT (RFC 6886
   * section 3.2.1: other clients listen on the same port). */
  if (family == G_SOCKET_FAMILY_IPV6)
    {
      any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV6);
      address = g_inet_socket_address_new (any, self->port);
    }
  else
    address = g_inet_socket_address_new (self->group, self->port);
  if (!g_socket_bind (self->socket, address, TRUE, error))
    return NULL;

  context = g_main_context_ref_thread_default ();
  self->source = g_socket_create_source (self->socket, G_IO_IN, NULL);
  g_source_set_callback (self->source, G_SOURCE_FUNC (socket_ready_cb), self, NULL);
  g_source_set_static_name (self->source, "[portlight] announcement listener");
  g_source_attach (self->source, context);

  return g_steal_pointer (&self);
}

/**
 * pl_announce_listener_get_port:
 * @self: a [class@Pl.AnnounceListener]
 *
 * Returns: the port the listener is bound to
 */
guint16
pl_announce_listener_get_port (PlAnnounceListener *self)
{
  g_return_val_if_fail (PL_IS_ANNOUNCE_LISTENER (self), 0);

  return self->port;
}

/**
 * pl_announce_listener_join:
 * @self: a [class@Pl.AnnounceListener]
 * @iface: (nullable): the interface to join on ("eth0", "lo"), %NULL for the kernel's choice
 * @error: return location for a #GError
 *
 * Joins 224.0.0.1 on @iface. Joining twice on the same interface is a no-op.
 *
 * Returns: %TRUE on success
 */
gboolean
pl_announce_listener_join (PlAnnounceListener  *self,
                           const char          *iface,
                           GError             **error)
{
  const char *key = iface != NULL ? iface : "";

  g_return_val_if_fail (PL_IS_ANNOUNCE_LISTENER (self), FALSE);
  g_return_val_if_fail (self->socket != NULL, FALSE);

  for (guint i = 0; i < self->joined->len; i++)
    if (g_str_equal (g_ptr_array_index (self->joined, i), key))
      return TRUE;

  /* GLib takes an unknown name for index 0, "any": the group would be joined on whatever
   * interface the kernel picks, which is not the gateway's. */
  if (iface != NULL && if_nametoindex (iface) == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("There is no network interface “%s”"), iface);
      return FALSE;
    }

  if (!g_socket_join_multicast_group (self->socket, self->group, FALSE, iface, error))
    return FALSE;

  g_ptr_array_add (self->joined, g_strdup (key));
  return TRUE;
}

/**
 * pl_announce_listener_leave_all:
 * @self: a [class@Pl.AnnounceListener]
 *
 * Leaves the group on every interface joined so far.
 */
void
pl_announce_listener_leave_all (PlAnnounceListener *self)
{
  g_return_if_fail (PL_IS_ANNOUNCE_LISTENER (self));

  for (guint i = 0; self->socket != NULL && i < self->joined->len; i++)
    {
      const char *key = g_ptr_array_index (self->joined, i);

      g_socket_leave_multicast_group (self->socket, self->group, FALSE,
                                      key[0] != '\0' ? key : NULL, NULL);
    }
  g_ptr_array_set_size (self->joined, 0);
}
