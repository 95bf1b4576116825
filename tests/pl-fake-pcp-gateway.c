/* pl-fake-pcp-gateway.c: a scripted PCP server for tests
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <netinet/in.h>
#include <string.h>

#include "pl-fake-pcp-gateway.h"

/* One socket bound to ADDRESS:5351 receives requests (a GSocket source on the thread-default
 * context), logs them, and answers at once like miniupnpd unless scripted otherwise. It keeps
 * a small table of mappings so that renewals, deletes and "port taken" behave as on the
 * router. An optional second socket sends replies from another port. */

typedef struct
{
  guint8  protocol;
  guint16 internal_port;
  guint16 external_port;
  guint8  nonce[PL_PCP_NONCE_SIZE];
  gboolean foreign;          /* held by "another host" (pl_fake_pcp_gateway_hold_port) */
} FakeMapping;

struct _PlFakePcpGateway
{
  GObject              parent_instance;

  char                *address;
  PlClock             *clock;
  GMainContext        *context;
  GSocket             *socket;
  GSource             *recv_source;
  GSocket             *reply_socket;     /* NULL: reply from socket */
  GSocketAddress      *client;           /* who sent the last request */
  GPtrArray           *requests;         /* PlFakePcpRequest* */
  GArray              *mappings;         /* FakeMapping */

  guint8               external_address[16];
  guint32              epoch_base;
  gint64               epoch_since;
  guint32              min_lifetime;
  guint32              max_lifetime;
  PlFakePcpPortPolicy  port_policy;
  guint8               result_code;
  guint                drop_count;
  gboolean             silent;
  guint16              silent_port;
  gboolean             natpmp_only;
  gboolean             wrong_nonce_first;
  gboolean             ipv6;              /* bound to an IPv6 address: pinholes */

  guint8               buffer[PL_PCP_MAX_MESSAGE + 4];
};

G_DEFINE_FINAL_TYPE (PlFakePcpGateway, pl_fake_pcp_gateway, G_TYPE_OBJECT)

static void
fake_request_free (gpointer data)
{
  PlFakePcpRequest *request = data;

  g_bytes_unref (request->bytes);
  g_free (request);
}

static guint32
current_epoch (PlFakePcpGateway *self)
{
  gint64 elapsed_us = pl_clock_get_time (self->clock) - self->epoch_since;

  if (elapsed_us < 0)
    elapsed_us = 0;

  return self->epoch_base + (guint32) (elapsed_us / G_USEC_PER_SEC);
}

static void
send_datagram (PlFakePcpGateway *self,
               GSocketAddress   *destination,
               const guint8     *data,
               gsize             len)
{
  g_autoptr(GError) error = NULL;
  GSocket *socket = self->reply_socket != NULL ? self->reply_socket : self->socket;

  if (g_socket_send_to (socket, destination, (const gchar *) data, len, NULL, &error) < 0)
    g_debug ("fake PCP gateway %s: send failed: %s", self->address, error->message);
}

static FakeMapping *
find_mapping (PlFakePcpGateway *self,
              guint8            protocol,
              guint16           internal_port)
{
  for (guint i = 0; i < self->mappings->len; i++)
    {
      FakeMapping *mapping = &g_array_index (self->mappings, FakeMapping, i);

      if (!mapping->foreign && mapping->protocol == protocol &&
          mapping->internal_port == internal_port)
        return mapping;
    }

  return NULL;
}

static gboolean
port_taken (PlFakePcpGateway *self,
            guint8            protocol,
            guint16           external_port,
            const FakeMapping *except)
{
  for (guint i = 0; i < self->mappings->len; i++)
    {
      FakeMapping *mapping = &g_array_index (self->mappings, FakeMapping, i);

      if (mapping != except && mapping->protocol == protocol &&
          mapping->external_port == external_port)
        return TRUE;
    }

  return FALSE;
}

static guint32
clamp_lifetime (PlFakePcpGateway *self,
                guint32           lifetime)
{
  return CLAMP (lifetime, self->min_lifetime, self->max_lifetime);
}

/* Answers a MAP request like miniupnpd; fills @result, @lifetime and @external_port. */
static void
handle_map (PlFakePcpGateway      *self,
            const PlPcpMapRequest *request,
            guint8                *result,
            guint32               *lifetime,
            guint16               *external_port)
{
  FakeMapping *mapping = find_mapping (self, request->protocol, request->internal_port);

  *external_port = request->suggested_external_port;

  if (request->lifetime == 0)
    {
      /* The reply's port echoes the request's (tests/lab/MINIUPNPD.md, item 6). */
      if (mapping == NULL)
        {
          *result = PL_PCP_RESULT_NO_RESOURCES;
          *lifetime = 30;
        }
      else if (memcmp (mapping->nonce, request->nonce, PL_PCP_NONCE_SIZE) != 0)
        {
          *result = PL_PCP_RESULT_NOT_AUTHORIZED;
          *lifetime = 0;
        }
      else
        {
          g_array_remove_index (self->mappings,
                                (guint) (mapping - &g_array_index (self->mappings,
                                                                   FakeMapping, 0)));
          *result = PL_PCP_RESULT_SUCCESS;
          *lifetime = 0;
        }
      return;
    }

  {
    guint16 port = request->suggested_external_port != 0 ? request->suggested_external_port
                                                         : request->internal_port;

    if (self->port_policy == PL_FAKE_PCP_PORT_PLUS_ONE)
      port++;
    /* No nonce check on a create or renewal: miniupnpd takes the mapping over
     * (tests/lab/MINIUPNPD.md, item 5). */
    while (port_taken (self, request->protocol, port, mapping) && port < G_MAXUINT16)
      port++;

    if (mapping == NULL)
      {
        FakeMapping new_mapping = { 0 };

        new_mapping.protocol = request->protocol;
        new_mapping.internal_port = request->internal_port;
        g_array_append_val (self->mappings, new_mapping);
        mapping = &g_array_index (self->mappings, FakeMapping, self->mappings->len - 1);
      }

    memcpy (mapping->nonce, request->nonce, PL_PCP_NONCE_SIZE);
    mapping->external_port = port;

    *result = PL_PCP_RESULT_SUCCESS;
    *lifetime = clamp_lifetime (self, request->lifetime);
    *external_port = port;
  }
}

static void
handle_request (PlFakePcpGateway *self,
                GSocketAddress   *source,
                const guint8     *data,
                gsize             len)
{
  g_autoptr(GError) error = NULL;
  PlFakePcpRequest *logged;
  guint8 buf[PL_PCP_MAX_MESSAGE];
  guint32 epoch = current_epoch (self);
  gsize reply_len = 0;

  logged = g_new0 (PlFakePcpRequest, 1);
  logged->time = pl_clock_get_time (self->clock);
  logged->bytes = g_bytes_new (data, len);
  g_ptr_array_add (self->requests, logged);

  g_set_object (&self->client, source);
  {
    GInetSocketAddress *inet_source = G_INET_SOCKET_ADDRESS (source);
    GInetAddress *inet = g_inet_socket_address_get_address (inet_source);

    if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6)
      memcpy (logged->source_address, g_inet_address_to_bytes (inet), 16);
    else
      pl_pcp_address_from_ipv4 (g_inet_address_to_bytes (inet), logged->source_address);
    logged->source_port = g_inet_socket_address_get_port (inet_source);
  }

  if (self->natpmp_only)
    {
      /* 00 | 80 + opcode | 00 01 | epoch: NAT-PMP's unsupported version. */
      guint8 opcode = len >= 2 ? (data[1] & 0x7f) : 0;

      buf[0] = 0;
      buf[1] = PL_PCP_RESPONSE_BIT | opcode;
      buf[2] = 0;
      buf[3] = 1;
      buf[4] = (guint8) (epoch >> 24);
      buf[5] = (guint8) (epoch >> 16);
      buf[6] = (guint8) (epoch >> 8);
      buf[7] = (guint8) epoch;
      if (!self->silent)
        send_datagram (self, source, buf, 8);
      return;
    }

  if (!pl_pcp_parse_request (data, len, &logged->opcode, &logged->request, &error))
    {
      g_debug ("fake PCP gateway %s: ignoring a non-request: %s", self->address,
               error->message);
      return;
    }
  logged->parsed = TRUE;

  if (self->silent)
    return;
  if (self->drop_count > 0)
    {
      self->drop_count--;
      return;
    }

  switch (logged->opcode)
    {
    case PL_PCP_OP_ANNOUNCE:
      reply_len = pl_pcp_build_announce_response (buf, sizeof buf, self->result_code, epoch);
      break;

    case PL_PCP_OP_MAP:
      {
        guint8 result;
        guint32 lifetime;
        guint16 external_port;

        if (self->silent_port != 0 && logged->request.internal_port == self->silent_port)
          return;

        if (memcmp (logged->request.client_address, logged->source_address, 16) != 0)
          {
            result = PL_PCP_RESULT_ADDRESS_MISMATCH;
            lifetime = 0;
            external_port = logged->request.suggested_external_port;
          }
        else if (self->result_code != 0)
          {
            result = self->result_code;
            lifetime = 0;
            external_port = logged->request.suggested_external_port;
          }
        else
          {
            handle_map (self, &logged->request, &result, &lifetime, &external_port);
          }

        if (self->wrong_nonce_first)
          {
            PlPcpMapRequest other = logged->request;
            gsize other_len;

            for (guint i = 0; i < PL_PCP_NONCE_SIZE; i++)
              other.nonce[i] ^= 0xa5;
            /* Another port and epoch, so a client that took it would show it. */
            other_len = pl_pcp_build_map_response (buf, sizeof buf, &other, result, lifetime,
                                                   epoch + 1000, external_port + 1,
                                                   self->external_address);
            g_assert (other_len != 0);
            send_datagram (self, source, buf, other_len);
          }

        /* An IPv6 client's MAP opens a pinhole: no translation, the address is its own
         * (RFC 6887 section 11.3). */
        reply_len = pl_pcp_build_map_response (buf, sizeof buf, &logged->request, result,
                                               lifetime, epoch, external_port,
                                               self->ipv6
                                                 ? logged->request.client_address
                                                 : self->external_address);
      }
      break;

    default:
      reply_len = pl_pcp_build_error_response (buf, sizeof buf, logged->opcode,
                                               PL_PCP_RESULT_UNSUPP_OPCODE, 0, epoch);
      break;
    }

  g_assert (reply_len != 0);
  send_datagram (self, source, buf, reply_len);
}

static gboolean
socket_readable_cb (GSocket      *socket,
                    GIOCondition  condition,
                    gpointer      user_data)
{
  PlFakePcpGateway *self = user_data;

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
            g_debug ("fake PCP gateway %s: receive failed: %s", self->address,
                     error->message);
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
  if (inet == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” is not an IP address", address);
      return NULL;
    }

  socket = g_socket_new (g_inet_address_get_family (inet), G_SOCKET_TYPE_DATAGRAM,
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
pl_fake_pcp_gateway_dispose (GObject *object)
{
  PlFakePcpGateway *self = PL_FAKE_PCP_GATEWAY (object);

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

  G_OBJECT_CLASS (pl_fake_pcp_gateway_parent_class)->dispose (object);
}

static void
pl_fake_pcp_gateway_finalize (GObject *object)
{
  PlFakePcpGateway *self = PL_FAKE_PCP_GATEWAY (object);

  g_clear_pointer (&self->address, g_free);
  g_clear_pointer (&self->requests, g_ptr_array_unref);
  g_clear_pointer (&self->mappings, g_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (pl_fake_pcp_gateway_parent_class)->finalize (object);
}

static void
pl_fake_pcp_gateway_class_init (PlFakePcpGatewayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_fake_pcp_gateway_dispose;
  object_class->finalize = pl_fake_pcp_gateway_finalize;
}

static void
pl_fake_pcp_gateway_init (PlFakePcpGateway *self)
{
  static const guint8 default_address[4] = { 203, 0, 113, 7 };

  pl_pcp_address_from_ipv4 (default_address, self->external_address);
  self->min_lifetime = 120;
  self->max_lifetime = 86400;
  self->requests = g_ptr_array_new_with_free_func (fake_request_free);
  self->mappings = g_array_new (FALSE, TRUE, sizeof (FakeMapping));
  self->context = g_main_context_ref_thread_default ();
}

/**
 * pl_fake_pcp_gateway_new:
 * @address: an IPv4 loopback address such as "127.0.0.42", or "::1" for a router that
 *   opens IPv6 pinholes (its MAP answers carry the client's own address)
 * @clock: the clock for the epoch and the request log
 * @error: return location for an error
 *
 * Returns: (transfer full) (nullable): a server answering on @address:5351, or %NULL when
 *   the socket could not be bound
 */
PlFakePcpGateway *
pl_fake_pcp_gateway_new (const char  *address,
                         PlClock     *clock,
                         GError     **error)
{
  g_autoptr(PlFakePcpGateway) self = NULL;
  g_autoptr(GError) option_error = NULL;
  g_autoptr(GInetAddress) inet = NULL;
  gint interface = 0;

  g_return_val_if_fail (address != NULL, NULL);
  g_return_val_if_fail (PL_IS_CLOCK (clock), NULL);

  self = g_object_new (PL_TYPE_FAKE_PCP_GATEWAY, NULL);
  self->address = g_strdup (address);
  self->clock = g_object_ref (clock);
  self->epoch_since = pl_clock_get_time (clock);

  self->socket = bound_socket (address, PL_PCP_SERVER_PORT, error);
  if (self->socket == NULL)
    return NULL;

  inet = g_inet_address_new_from_string (address);
  self->ipv6 = g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6;
  /* Announcements leave through the gateway's own address and loop back to this host
   * (IPv4: only the pinhole tests bind IPv6, and they announce nothing). */
  g_socket_set_multicast_loopback (self->socket, TRUE);
  if (!self->ipv6)
    {
      memcpy (&interface, g_inet_address_to_bytes (inet), sizeof interface);
      if (!g_socket_set_option (self->socket, IPPROTO_IP, IP_MULTICAST_IF, interface,
                                &option_error))
        g_debug ("fake PCP gateway %s: IP_MULTICAST_IF: %s", address, option_error->message);
    }

  self->recv_source = g_socket_create_source (self->socket, G_IO_IN, NULL);
  g_source_set_callback (self->recv_source, G_SOURCE_FUNC (socket_readable_cb), self, NULL);
  g_source_set_static_name (self->recv_source, "[portlight] fake PCP gateway socket");
  g_source_attach (self->recv_source, self->context);

  return g_steal_pointer (&self);
}

const char *
pl_fake_pcp_gateway_get_address (PlFakePcpGateway *self)
{
  g_return_val_if_fail (PL_IS_FAKE_PCP_GATEWAY (self), NULL);

  return self->address;
}

void
pl_fake_pcp_gateway_set_epoch (PlFakePcpGateway *self,
                               guint32           epoch)
{
  g_return_if_fail (PL_IS_FAKE_PCP_GATEWAY (self));

  self->epoch_base = epoch;
  self->epoch_since = pl_clock_get_time (self->clock);
}

guint32
pl_fake_pcp_gateway_get_epoch (PlFakePcpGateway *self)
{
  g_return_val_if_fail (PL_IS_FAKE_PCP_GATEWAY (self), 0);

  return current_epoch (self);
}

void
pl_fake_pcp_gateway_set_lifetime_range (PlFakePcpGateway *self,
                                        guint32           min_lifetime,
                                        guint32           max_lifetime)
{
  g_return_if_fail (PL_IS_FAKE_PCP_GATEWAY (self));
  g_return_if_fail (min_lifetime <= max_lifetime);

  self->min_lifetime = min_lifetime;
  self->max_lifetime = max_lifetime;
}

void
pl_fake_pcp_gateway_set_port_policy (PlFakePcpGateway    *self,
                                     PlFakePcpPortPolicy  policy)
{
  g_return_if_fail (PL_IS_FAKE_PCP_GATEWAY (self));

  self->port_policy = policy;
}

void
pl_fake_pcp_gateway_hold_port (PlFakePcpGateway *self,
                               guint8            iana_protocol,
                               guint16           external_port)
{
  FakeMapping mapping = { 0 };

  g_return_if_fail (PL_IS_FAKE_PCP_GATEWAY (self));

  mapping.protocol = iana_protocol;
  mapping.internal_port = external_port;
  mapping.external_port = external_port;
  mapping.foreign = TRUE;
  g_array_append_val (self->mappings, mapping);
}

void
pl_fake_pcp_gateway_set_result_code (PlFakePcpGateway *self,
                                     guint8            result)
{
  g_return_if_fail (PL_IS_FAKE_PCP_GATEWAY (self));

  self->result_code = result;
}

void
pl_fake_pcp_gateway_set_external_address (PlFakePcpGateway *self,
                                          const char       *ipv4)
{
  g_autoptr(GInetAddress) inet = NULL;

  g_return_if_fail (PL_IS_FAKE_PCP_GATEWAY (self));
  g_return_if_fail (ipv4 != NULL);

  inet = g_inet_address_new_from_string (ipv4);
  g_return_if_fail (inet != NULL && g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV4);

  pl_pcp_address_from_ipv4 (g_inet_address_to_bytes (inet), self->external_address);
}

void
pl_fake_pcp_gateway_set_drop_count (PlFakePcpGateway *self,
                                    guint             n_requests)
{
  g_return_if_fail (PL_IS_FAKE_PCP_GATEWAY (self));

  self->drop_count = n_requests;
}

void
pl_fake_pcp_gateway_set_silent (PlFakePcpGateway *self,
                                gboolean          silent)
{
  g_return_if_fail (PL_IS_FAKE_PCP_GATEWAY (self));

  self->silent = !!silent;
}

void
pl_fake_pcp_gateway_set_silent_port (PlFakePcpGateway *self,
                                     guint16           internal_port)
{
  g_return_if_fail (PL_IS_FAKE_PCP_GATEWAY (self));

  self->silent_port = internal_port;
}

void
pl_fake_pcp_gateway_set_natpmp_only (PlFakePcpGateway *self,
                                     gboolean          natpmp_only)
{
  g_return_if_fail (PL_IS_FAKE_PCP_GATEWAY (self));

  self->natpmp_only = !!natpmp_only;
}

void
pl_fake_pcp_gateway_set_wrong_nonce_first (PlFakePcpGateway *self,
                                           gboolean          wrong_nonce_first)
{
  g_return_if_fail (PL_IS_FAKE_PCP_GATEWAY (self));

  self->wrong_nonce_first = !!wrong_nonce_first;
}

void
pl_fake_pcp_gateway_set_reply_port (PlFakePcpGateway *self,
                                    guint16           port)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (PL_IS_FAKE_PCP_GATEWAY (self));

  if (self->reply_socket != NULL)
    g_socket_close (self->reply_socket, NULL);
  g_clear_object (&self->reply_socket);

  if (port == 0 || port == PL_PCP_SERVER_PORT)
    return;

  self->reply_socket = bound_socket (self->address, port, &error);
  if (self->reply_socket == NULL)
    g_critical ("fake PCP gateway %s: cannot reply from port %u: %s", self->address,
                (guint) port, error->message);
}

void
pl_fake_pcp_gateway_send_to_client (PlFakePcpGateway *self,
                                    GBytes           *datagram)
{
  g_return_if_fail (PL_IS_FAKE_PCP_GATEWAY (self));
  g_return_if_fail (datagram != NULL);
  g_return_if_fail (self->client != NULL);

  send_datagram (self, self->client, g_bytes_get_data (datagram, NULL),
                 g_bytes_get_size (datagram));
}

void
pl_fake_pcp_gateway_announce (PlFakePcpGateway *self)
{
  g_autoptr(GInetAddress) group = NULL;
  g_autoptr(GSocketAddress) destination = NULL;
  g_autoptr(GError) error = NULL;
  guint8 buf[PL_PCP_HEADER_SIZE];
  gsize len;

  g_return_if_fail (PL_IS_FAKE_PCP_GATEWAY (self));

  len = pl_pcp_build_announce_response (buf, sizeof buf, PL_PCP_RESULT_SUCCESS,
                                        current_epoch (self));
  g_assert (len != 0);

  group = g_inet_address_new_from_string (PL_PCP_ANNOUNCE_GROUP_V4);
  destination = g_inet_socket_address_new (group, PL_PCP_CLIENT_PORT);

  /* Always from the server's own address and port, whatever the reply port. */
  if (g_socket_send_to (self->socket, destination, (const gchar *) buf, len, NULL, &error) < 0)
    g_debug ("fake PCP gateway %s: announcement failed: %s", self->address, error->message);
}

/* Forget every mapping, as a daemon restarted with its rules flushed does. */
void
pl_fake_pcp_gateway_clear_mappings (PlFakePcpGateway *self)
{
  g_return_if_fail (PL_IS_FAKE_PCP_GATEWAY (self));

  g_array_set_size (self->mappings, 0);
}

guint
pl_fake_pcp_gateway_get_n_mappings (PlFakePcpGateway *self)
{
  guint n = 0;

  g_return_val_if_fail (PL_IS_FAKE_PCP_GATEWAY (self), 0);

  for (guint i = 0; i < self->mappings->len; i++)
    if (!g_array_index (self->mappings, FakeMapping, i).foreign)
      n++;

  return n;
}

/**
 * pl_fake_pcp_gateway_get_requests:
 * @self: a fake gateway
 *
 * Returns: (transfer none) (element-type PlFakePcpRequest): every datagram received, oldest
 *   first
 */
GPtrArray *
pl_fake_pcp_gateway_get_requests (PlFakePcpGateway *self)
{
  g_return_val_if_fail (PL_IS_FAKE_PCP_GATEWAY (self), NULL);

  return self->requests;
}

void
pl_fake_pcp_gateway_clear_requests (PlFakePcpGateway *self)
{
  g_return_if_fail (PL_IS_FAKE_PCP_GATEWAY (self));

  g_ptr_array_set_size (self->requests, 0);
}
