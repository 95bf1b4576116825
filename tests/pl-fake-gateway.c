/* pl-fake-gateway.c: a scripted NAT-PMP gateway for tests
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <netinet/in.h>
#include <string.h>

#include "pl-fake-gateway.h"

/* One socket bound to ADDRESS:5351 receives requests (a GSocket source on the thread-default
 * context), logs them, and answers like a correct gateway unless scripted otherwise. Replies
 * are built when the request arrives and sent at once, or after the reply delay on a clock
 * timeout. An optional second socket sends replies from another address or port. */

struct _PlFakeGateway
{
  GObject          parent_instance;

  char            *address;
  PlClock         *clock;
  GMainContext    *context;
  GSocket         *socket;
  GSource         *recv_source;
  GSocket         *reply_socket;     /* NULL: reply from socket */
  GSocketAddress  *client;           /* who sent the last request */
  GPtrArray       *requests;         /* PlFakeRequest* */
  GPtrArray       *garbage;          /* GBytes*, or NULL */
  GList           *delayed;          /* GSource*: replies waiting for the reply delay */
  GHashTable      *table;            /* (opcode << 16 | internal port) -> external port */
  GHashTable      *handed_out;       /* ports granted by random_ports, never given twice */
  GRand           *rand;
  gboolean         random_ports;
  gboolean         refuse_zero;       /* a suggested port of 0 gets "out of resources" */

  guint8           external_address[4];
  guint            drop_count;
  guint16          result_code;
  guint16          assigned_port;
  guint32          granted_lifetime;
  guint32          epoch_base;
  gint64           epoch_since;      /* clock time when the epoch was epoch_base */
  guint            rate_numerator;
  guint            rate_denominator;
  guint            reply_delay_ms;
  gboolean         silent;
  gboolean         drop_pcp;

  guint8           buffer[PL_NATPMP_MAX_PACKET];
};

G_DEFINE_FINAL_TYPE (PlFakeGateway, pl_fake_gateway, G_TYPE_OBJECT)

typedef struct
{
  PlFakeGateway  *self;              /* not owned: pending replies die with the gateway */
  GSource        *source;
  GSocketAddress *destination;
  GBytes         *reply;
} DelayedReply;

static void
fake_request_free (gpointer data)
{
  PlFakeRequest *request = data;

  g_bytes_unref (request->bytes);
  g_free (request);
}

static void
delayed_reply_free (gpointer data)
{
  DelayedReply *delayed = data;

  g_clear_object (&delayed->destination);
  g_clear_pointer (&delayed->reply, g_bytes_unref);
  g_free (delayed);
}

static guint32
current_epoch (PlFakeGateway *self)
{
  gint64 elapsed_us = pl_clock_get_time (self->clock) - self->epoch_since;

  if (elapsed_us < 0)
    elapsed_us = 0;

  return self->epoch_base + (guint32) ((guint64) elapsed_us * self->rate_numerator /
                                       self->rate_denominator / G_USEC_PER_SEC);
}

static void
send_datagram (PlFakeGateway  *self,
               GSocketAddress *destination,
               const guint8   *data,
               gsize           len)
{
  g_autoptr(GError) error = NULL;
  GSocket *socket = self->reply_socket != NULL ? self->reply_socket : self->socket;

  if (g_socket_send_to (socket, destination, (const gchar *) data, len, NULL, &error) < 0)
    g_debug ("fake gateway %s: send failed: %s", self->address, error->message);
}

static void
send_reply (PlFakeGateway  *self,
            GSocketAddress *destination,
            GBytes         *reply)
{
  if (self->garbage != NULL)
    {
      for (guint i = 0; i < self->garbage->len; i++)
        {
          GBytes *datagram = g_ptr_array_index (self->garbage, i);
          gsize len;
          const guint8 *data = g_bytes_get_data (datagram, &len);

          send_datagram (self, destination, data, len);
        }
    }

  send_datagram (self, destination, g_bytes_get_data (reply, NULL), g_bytes_get_size (reply));
}

static gboolean
delayed_reply_cb (gpointer user_data)
{
  DelayedReply *delayed = user_data;
  PlFakeGateway *self = delayed->self;

  self->delayed = g_list_remove (self->delayed, delayed->source);
  send_reply (self, delayed->destination, delayed->reply);
  g_source_unref (delayed->source);

  return G_SOURCE_REMOVE;
}

/* The reply a correct gateway gives to @request (with the scripted overrides), or NULL. */
static GBytes *
build_reply (PlFakeGateway         *self,
             const PlNatpmpRequest *request)
{
  guint8 buf[PL_NATPMP_MAX_PACKET];
  guint32 epoch = current_epoch (self);
  gsize len;

  if (request->version != PL_NATPMP_VERSION)
    {
      /* Unsupported Version, in the form of RFC 6886 erratum 3618. */
      len = pl_natpmp_build_short_reply (buf, sizeof buf, PL_NATPMP_RESPONSE_BIT,
                                         PL_NATPMP_RESULT_UNSUPPORTED_VERSION, epoch);
    }
  else if (request->opcode == PL_NATPMP_OP_EXTERNAL_ADDRESS)
    {
      len = pl_natpmp_build_external_address_reply (buf, sizeof buf, self->result_code, epoch,
                                                    self->external_address);
    }
  else if (request->opcode == PL_NATPMP_OP_MAP_UDP || request->opcode == PL_NATPMP_OP_MAP_TCP)
    {
      guint16 external_port = 0;
      guint32 lifetime = 0;
      guint16 result_code = self->result_code;

      /* A delete answers external port 0 and lifetime 0, whether the mapping existed or not. */
      gpointer key = GUINT_TO_POINTER ((guint) request->opcode << 16 | request->internal_port);

      if (request->lifetime != 0 && request->external_port == 0 && self->refuse_zero &&
          result_code == PL_NATPMP_RESULT_SUCCESS)
        {
          /* MikroTik RouterOS: "unable to allocate port for mapping *:0". */
          result_code = PL_NATPMP_RESULT_OUT_OF_RESOURCES;
        }
      else if (request->lifetime != 0 && self->random_ports)
        {
          /* A VPN gateway: what it holds for this client and port, whatever was suggested;
           * else a random port it never gave before. */
          external_port = GPOINTER_TO_UINT (g_hash_table_lookup (self->table, key));
          while (external_port == 0)
            {
              guint16 candidate = (guint16) g_rand_int_range (self->rand, 1024, 65536);

              if (g_hash_table_add (self->handed_out, GUINT_TO_POINTER (candidate)))
                external_port = candidate;
            }
          lifetime = self->granted_lifetime != 0 ? self->granted_lifetime : request->lifetime;
        }
      else if (request->lifetime != 0)
        {
          if (self->assigned_port != 0)
            external_port = self->assigned_port;
          else if (request->external_port != 0)
            external_port = request->external_port;
          else
            external_port = request->internal_port;

          lifetime = self->granted_lifetime != 0 ? self->granted_lifetime : request->lifetime;
        }

      if (result_code == PL_NATPMP_RESULT_SUCCESS)
        {
          if (lifetime != 0)
            g_hash_table_insert (self->table, key, GUINT_TO_POINTER ((guint) external_port));
          else
            g_hash_table_remove (self->table, key);
        }

      /* With an error result the port and lifetime stay filled in, as miniupnpd does: a client
       * must ignore them. */
      len = pl_natpmp_build_map_reply (buf, sizeof buf, (PlProtocol) request->opcode,
                                       result_code, epoch, request->internal_port,
                                       external_port, lifetime);
    }
  else
    {
      len = pl_natpmp_build_short_reply (buf, sizeof buf,
                                         PL_NATPMP_RESPONSE_BIT | request->opcode,
                                         PL_NATPMP_RESULT_UNSUPPORTED_OPCODE, epoch);
    }

  g_assert (len != 0);
  return g_bytes_new (buf, len);
}

static void
handle_request (PlFakeGateway  *self,
                GSocketAddress *source,
                const guint8   *data,
                gsize           len)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  PlFakeRequest *logged;

  logged = g_new0 (PlFakeRequest, 1);
  logged->time = pl_clock_get_time (self->clock);
  logged->bytes = g_bytes_new (data, len);
  g_ptr_array_add (self->requests, logged);

  g_set_object (&self->client, source);

  if (!pl_natpmp_parse_request (data, len, &logged->request, &error))
    {
      g_debug ("fake gateway %s: ignoring a non-request: %s", self->address, error->message);
      return;
    }

  if (self->silent)
    return;
  /* A router whose firewall drops PCP (version 2) while NAT-PMP gets through. */
  if (self->drop_pcp && logged->request.version == PL_PCP_VERSION)
    return;

  if (self->drop_count > 0)
    {
      self->drop_count--;
      return;
    }

  reply = build_reply (self, &logged->request);

  if (self->reply_delay_ms == 0)
    {
      send_reply (self, source, reply);
    }
  else
    {
      DelayedReply *delayed = g_new0 (DelayedReply, 1);

      delayed->self = self;
      delayed->destination = g_object_ref (source);
      delayed->reply = g_steal_pointer (&reply);
      delayed->source = pl_clock_timeout_source_new (self->clock, self->reply_delay_ms);
      g_source_set_callback (delayed->source, delayed_reply_cb, delayed, delayed_reply_free);
      g_source_set_static_name (delayed->source, "[portlight] fake gateway reply delay");
      self->delayed = g_list_prepend (self->delayed, delayed->source);
      g_source_attach (delayed->source, self->context);
    }
}

static gboolean
socket_readable_cb (GSocket      *socket,
                    GIOCondition  condition,
                    gpointer      user_data)
{
  PlFakeGateway *self = user_data;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocketAddress) source = NULL;
      gssize received;

      received = g_socket_receive_from (self->socket, &source, (gchar *) self->buffer,
                                        sizeof self->buffer, NULL, &error);
      if (received < 0)
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            g_debug ("fake gateway %s: receive failed: %s", self->address, error->message);
          break;
        }

      handle_request (self, source, self->buffer, (gsize) received);
    }

  return G_SOURCE_CONTINUE;
}

static GSocket *
bound_socket (const char  *address,
              guint16      port,
              GError     **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) inet = NULL;
  g_autoptr(GSocketAddress) local = NULL;

  inet = g_inet_address_new_from_string (address);
  if (inet == NULL || g_inet_address_get_family (inet) != G_SOCKET_FAMILY_IPV4)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” is not an IPv4 address", address);
      return NULL;
    }

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return NULL;

  g_socket_set_blocking (socket, FALSE);
  local = g_inet_socket_address_new (inet, port);
  if (!g_socket_bind (socket, local, FALSE, error))
    return NULL;

  return g_steal_pointer (&socket);
}

static void
pl_fake_gateway_dispose (GObject *object)
{
  PlFakeGateway *self = PL_FAKE_GATEWAY (object);

  while (self->delayed != NULL)
    {
      GSource *source = self->delayed->data;

      self->delayed = g_list_delete_link (self->delayed, self->delayed);
      g_source_destroy (source);
      g_source_unref (source);
    }

  if (self->recv_source != NULL)
    {
      g_source_destroy (self->recv_source);
      g_clear_pointer (&self->recv_source, g_source_unref);
    }
  if (self->socket != NULL)
    g_socket_close (self->socket, NULL);
  if (self->reply_socket != NULL)
    g_socket_close (self->reply_socket, NULL);
  g_clear_object (&self->socket);
  g_clear_object (&self->reply_socket);
  g_clear_object (&self->client);
  g_clear_object (&self->clock);

  G_OBJECT_CLASS (pl_fake_gateway_parent_class)->dispose (object);
}

static void
pl_fake_gateway_finalize (GObject *object)
{
  PlFakeGateway *self = PL_FAKE_GATEWAY (object);

  g_clear_pointer (&self->address, g_free);
  g_clear_pointer (&self->requests, g_ptr_array_unref);
  g_clear_pointer (&self->table, g_hash_table_unref);
  g_clear_pointer (&self->handed_out, g_hash_table_unref);
  g_clear_pointer (&self->rand, g_rand_free);
  g_clear_pointer (&self->garbage, g_ptr_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (pl_fake_gateway_parent_class)->finalize (object);
}

static void
pl_fake_gateway_class_init (PlFakeGatewayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_fake_gateway_dispose;
  object_class->finalize = pl_fake_gateway_finalize;
}

static void
pl_fake_gateway_init (PlFakeGateway *self)
{
  static const guint8 default_address[4] = { 203, 0, 113, 7 };

  memcpy (self->external_address, default_address, sizeof default_address);
  self->rate_numerator = 1;
  self->rate_denominator = 1;
  self->requests = g_ptr_array_new_with_free_func (fake_request_free);
  self->table = g_hash_table_new (NULL, NULL);
  self->handed_out = g_hash_table_new (NULL, NULL);
  self->rand = g_rand_new_with_seed (g_test_initialized () ? g_test_rand_int () : 5351);
  self->context = g_main_context_ref_thread_default ();
}

/**
 * pl_fake_gateway_new:
 * @address: an IPv4 loopback address such as "127.0.0.42"
 * @clock: the clock for the epoch, the request log and reply delays
 * @error: return location for an error
 *
 * Returns: (transfer full) (nullable): a gateway answering on @address:5351, or %NULL when
 *   the socket could not be bound
 */
PlFakeGateway *
pl_fake_gateway_new (const char  *address,
                     PlClock     *clock,
                     GError     **error)
{
  g_autoptr(PlFakeGateway) self = NULL;
  g_autoptr(GError) option_error = NULL;
  g_autoptr(GInetAddress) inet = NULL;
  gint interface = 0;

  g_return_val_if_fail (address != NULL, NULL);
  g_return_val_if_fail (PL_IS_CLOCK (clock), NULL);

  self = g_object_new (PL_TYPE_FAKE_GATEWAY, NULL);
  self->address = g_strdup (address);
  self->clock = g_object_ref (clock);
  self->epoch_since = pl_clock_get_time (clock);

  self->socket = bound_socket (address, PL_NATPMP_SERVER_PORT, error);
  if (self->socket == NULL)
    return NULL;

  /* Announcements leave through the gateway's own address and loop back to this host. */
  g_socket_set_multicast_loopback (self->socket, TRUE);
  inet = g_inet_address_new_from_string (address);
  memcpy (&interface, g_inet_address_to_bytes (inet), sizeof interface);
  if (!g_socket_set_option (self->socket, IPPROTO_IP, IP_MULTICAST_IF, interface,
                            &option_error))
    g_debug ("fake gateway %s: IP_MULTICAST_IF: %s", address, option_error->message);

  self->recv_source = g_socket_create_source (self->socket, G_IO_IN, NULL);
  g_source_set_callback (self->recv_source, G_SOURCE_FUNC (socket_readable_cb), self, NULL);
  g_source_set_static_name (self->recv_source, "[portlight] fake gateway socket");
  g_source_attach (self->recv_source, self->context);

  return g_steal_pointer (&self);
}

const char *
pl_fake_gateway_get_address (PlFakeGateway *self)
{
  g_return_val_if_fail (PL_IS_FAKE_GATEWAY (self), NULL);

  return self->address;
}

void
pl_fake_gateway_set_drop_count (PlFakeGateway *self,
                                guint          n_requests)
{
  g_return_if_fail (PL_IS_FAKE_GATEWAY (self));

  self->drop_count = n_requests;
}

void
pl_fake_gateway_set_silent (PlFakeGateway *self,
                            gboolean       silent)
{
  g_return_if_fail (PL_IS_FAKE_GATEWAY (self));

  self->silent = !!silent;
}

void
pl_fake_gateway_set_drop_pcp (PlFakeGateway *self,
                              gboolean       drop)
{
  g_return_if_fail (PL_IS_FAKE_GATEWAY (self));

  self->drop_pcp = !!drop;
}

void
pl_fake_gateway_set_result_code (PlFakeGateway *self,
                                 guint16        result_code)
{
  g_return_if_fail (PL_IS_FAKE_GATEWAY (self));

  self->result_code = result_code;
}

void
pl_fake_gateway_set_external_address (PlFakeGateway *self,
                                      const char    *ipv4)
{
  g_autoptr(GInetAddress) inet = NULL;

  g_return_if_fail (PL_IS_FAKE_GATEWAY (self));
  g_return_if_fail (ipv4 != NULL);

  inet = g_inet_address_new_from_string (ipv4);
  g_return_if_fail (inet != NULL && g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV4);

  memcpy (self->external_address, g_inet_address_to_bytes (inet), 4);
}

void
pl_fake_gateway_set_assigned_port (PlFakeGateway *self,
                                   guint16        port)
{
  g_return_if_fail (PL_IS_FAKE_GATEWAY (self));

  self->assigned_port = port;
}

void
pl_fake_gateway_set_granted_lifetime (PlFakeGateway *self,
                                      guint32        lifetime)
{
  g_return_if_fail (PL_IS_FAKE_GATEWAY (self));

  self->granted_lifetime = lifetime;
}

void
pl_fake_gateway_set_epoch (PlFakeGateway *self,
                           guint32        epoch)
{
  g_return_if_fail (PL_IS_FAKE_GATEWAY (self));

  self->epoch_base = epoch;
  self->epoch_since = pl_clock_get_time (self->clock);
}

void
pl_fake_gateway_set_epoch_rate (PlFakeGateway *self,
                                guint          numerator,
                                guint          denominator)
{
  g_return_if_fail (PL_IS_FAKE_GATEWAY (self));
  g_return_if_fail (denominator != 0);

  /* Restart the count from now, so the rate applies from here on. */
  self->epoch_base = current_epoch (self);
  self->epoch_since = pl_clock_get_time (self->clock);
  self->rate_numerator = numerator;
  self->rate_denominator = denominator;
}

void
pl_fake_gateway_set_reply_source (PlFakeGateway *self,
                                  const char    *address,
                                  guint16        port)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (PL_IS_FAKE_GATEWAY (self));

  if (self->reply_socket != NULL)
    g_socket_close (self->reply_socket, NULL);
  g_clear_object (&self->reply_socket);

  if (port == 0)
    port = PL_NATPMP_SERVER_PORT;
  if (address == NULL || g_str_equal (address, self->address))
    {
      address = self->address;
      if (port == PL_NATPMP_SERVER_PORT)
        return;
    }

  self->reply_socket = bound_socket (address, port, &error);
  if (self->reply_socket == NULL)
    g_critical ("fake gateway %s: cannot reply from %s:%u: %s", self->address, address,
                (guint) port, error->message);
}

void
pl_fake_gateway_set_garbage (PlFakeGateway *self,
                             GPtrArray     *datagrams)
{
  g_return_if_fail (PL_IS_FAKE_GATEWAY (self));

  if (datagrams != NULL)
    g_ptr_array_ref (datagrams);
  g_clear_pointer (&self->garbage, g_ptr_array_unref);
  self->garbage = datagrams;
}

void
pl_fake_gateway_set_reply_delay (PlFakeGateway *self,
                                 guint          ms)
{
  g_return_if_fail (PL_IS_FAKE_GATEWAY (self));

  self->reply_delay_ms = ms;
}

void
pl_fake_gateway_send_to_client (PlFakeGateway *self,
                                GBytes        *datagram)
{
  g_return_if_fail (PL_IS_FAKE_GATEWAY (self));
  g_return_if_fail (datagram != NULL);
  g_return_if_fail (self->client != NULL);

  send_datagram (self, self->client, g_bytes_get_data (datagram, NULL),
                 g_bytes_get_size (datagram));
}

static void
send_announcement (PlFakeGateway *self,
                   const guint8  *data,
                   gsize          len)
{
  g_autoptr(GInetAddress) group = g_inet_address_new_from_string (PL_NATPMP_ANNOUNCE_GROUP);
  g_autoptr(GSocketAddress) destination = g_inet_socket_address_new (group,
                                                                     PL_NATPMP_CLIENT_PORT);
  g_autoptr(GError) error = NULL;

  /* Always from the gateway's own address and port, whatever the reply source. */
  if (g_socket_send_to (self->socket, destination, (const gchar *) data, len, NULL, &error) < 0)
    g_debug ("fake gateway %s: announcement failed: %s", self->address, error->message);
}

void
pl_fake_gateway_announce (PlFakeGateway *self)
{
  guint8 buf[PL_NATPMP_EXTERNAL_ADDRESS_REPLY_SIZE];
  gsize len;

  g_return_if_fail (PL_IS_FAKE_GATEWAY (self));

  len = pl_natpmp_build_external_address_reply (buf, sizeof buf, PL_NATPMP_RESULT_SUCCESS,
                                                current_epoch (self), self->external_address);
  send_announcement (self, buf, len);
}

void
pl_fake_gateway_announce_pcp (PlFakeGateway *self)
{
  guint8 buf[PL_PCP_ANNOUNCE_SIZE];
  gsize len;

  g_return_if_fail (PL_IS_FAKE_GATEWAY (self));

  len = pl_natpmp_build_pcp_announce (buf, sizeof buf, current_epoch (self));
  send_announcement (self, buf, len);
}

/**
 * pl_fake_gateway_get_requests:
 * @self: a fake gateway
 *
 * Returns: (transfer none) (element-type PlFakeRequest): every datagram received, oldest first
 */
GPtrArray *
pl_fake_gateway_get_requests (PlFakeGateway *self)
{
  g_return_val_if_fail (PL_IS_FAKE_GATEWAY (self), NULL);

  return self->requests;
}

void
pl_fake_gateway_clear_requests (PlFakeGateway *self)
{
  g_return_if_fail (PL_IS_FAKE_GATEWAY (self));

  g_ptr_array_set_size (self->requests, 0);
}

/* Its table: what was mapped and not deleted since (expiry is not modelled). */
guint
pl_fake_gateway_get_n_mappings (PlFakeGateway *self)
{
  g_return_val_if_fail (PL_IS_FAKE_GATEWAY (self), 0);

  return g_hash_table_size (self->table);
}

/* Forget every mapping, as a restarted service with its rules flushed does. */
void
pl_fake_gateway_clear_mappings (PlFakeGateway *self)
{
  g_return_if_fail (PL_IS_FAKE_GATEWAY (self));

  g_hash_table_remove_all (self->table);
}

/* Random ports for new mappings, as a VPN gateway hands out (ProtonVPN's NAT-PMP). */
void
pl_fake_gateway_set_random_ports (PlFakeGateway *self,
                                  gboolean       random_ports)
{
  g_return_if_fail (PL_IS_FAKE_GATEWAY (self));

  self->random_ports = random_ports;
}

/* A gateway that refuses to choose: a map request suggesting port 0 is answered "out of
 * resources" (MikroTik RouterOS logs "unable to allocate port for mapping *:0"); any other
 * suggestion is granted as usual. */
void
pl_fake_gateway_set_refuse_zero (PlFakeGateway *self,
                                 gboolean       refuse_zero)
{
  g_return_if_fail (PL_IS_FAKE_GATEWAY (self));

  self->refuse_zero = refuse_zero;
}

/* What a VPN reconnect looks like from inside the tunnel: the gateway forgot every mapping
 * and its epoch starts again from 0. */
void
pl_fake_gateway_reconnect (PlFakeGateway *self)
{
  g_return_if_fail (PL_IS_FAKE_GATEWAY (self));

  g_hash_table_remove_all (self->table);
  pl_fake_gateway_set_epoch (self, 0);
}

guint16
pl_fake_gateway_get_mapped_port (PlFakeGateway *self,
                                 PlProtocol     protocol,
                                 guint16        internal_port)
{
  g_return_val_if_fail (PL_IS_FAKE_GATEWAY (self), 0);

  return (guint16) GPOINTER_TO_UINT (g_hash_table_lookup (self->table,
                                                          GUINT_TO_POINTER ((guint) protocol << 16 |
                                                                            internal_port)));
}
