/* pl-client.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "pl-client.h"
#include "pl-epoch.h"
#include "pl-error.h"
#include "pl-natpmp.h"
#include "pl-pcp-state.h"
#include "pl-port-mapper.h"
#include "pl-retransmit.h"

/* How it works.
 *
 * Every request is a GTask holding a Request (task data). _async() puts the task at the tail of
 * a FIFO queue and, when nothing is in flight, takes the head at once (start_next()). The task
 * in flight owns a PlRetransmit schedule; drive() asks it what to do now, sends (or gives up),
 * and arms one clock timeout (PlClock, so that tests run on virtual time) for the next step.
 *
 * One GSocket source on the thread-default context reads every datagram. A datagram that is not
 * a well-formed NAT-PMP answer to the request in flight is logged with g_debug and dropped;
 * nothing is resent early because of it (PMP-18). An accepted reply emits ::epoch, then
 * completes the task, and the next request in the queue starts.
 *
 * Cancellation is watched by a GCancellable source per request (attached with
 * g_task_attach_source), so it is handled on our own context and never from inside a
 * GCancellable::cancelled emission.
 *
 * Re-entrancy: signal handlers and task callbacks may cancel, queue new requests, or dispose
 * the client. After each emission the code checks that the task it was working on is still
 * the one in flight, and start_next() does nothing while a request is in flight. */

#define DELETE_MAX_ATTEMPTS 3

struct _PlClient
{
  GObject        parent_instance;

  GInetAddress  *gateway;
  char          *gateway_string;
  guint          port;
  PlClock       *clock;
  guint          timeout_ms;
  guint          max_queue;

  GMainContext  *context;
  GSocket       *socket;
  GSource       *recv_source;
  GError        *socket_error;     /* why there is no socket, when setting it up failed */

  GQueue         pending;          /* GTask*, owned: waiting behind the one in flight */
  GTask         *current;          /* owned: the request in flight, or NULL */

  PlEpochTracker epoch;            /* replies and announcements, RFC 6886 section 3.6 */
  PlPcpState    *journal;          /* nullable: an engine's, see journal_put() */

  guint8         buffer[PL_NATPMP_MAX_PACKET];
};

static void pl_client_port_mapper_iface_init (PlPortMapperInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PlClient, pl_client, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PL_TYPE_PORT_MAPPER,
                                                      pl_client_port_mapper_iface_init))

enum {
  PROP_0,
  PROP_GATEWAY,
  PROP_PORT,
  PROP_CLOCK,
  PROP_TIMEOUT_MS,
  PROP_MAX_QUEUE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_ATTEMPT,
  SIGNAL_EPOCH,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef enum
{
  REQUEST_EXTERNAL_ADDRESS,
  REQUEST_MAP,
  REQUEST_UNMAP,
  REQUEST_UNMAP_ALL,
} RequestKind;

typedef struct
{
  RequestKind   kind;
  guint8        opcode;            /* request opcode: 0, 1 or 2 */
  guint16       internal_port;     /* what a map reply must echo (0 for delete-all) */
  guint8        packet[PL_NATPMP_MAP_REQUEST_SIZE];
  gsize         packet_len;
  guint         max_attempts;      /* of the schedule, before the timeout-ms bound */
  guint         planned_attempts;  /* sends that fit in the bounded schedule */
  PlRetransmit  retransmit;
  GSource      *timer;             /* owned ref; attached while waiting */
  GSource      *cancel_source;     /* owned ref; attached while queued or in flight */
} Request;

static void start_next (PlClient *self);
static void drive      (PlClient *self);

static void
request_stop (Request *request)
{
  pl_clear_source (&request->timer);
  pl_clear_source (&request->cancel_source);
}

static void
request_free (gpointer data)
{
  Request *request = data;

  request_stop (request);
  g_free (request);
}

static const char *
request_describe (const Request *request)
{
  switch (request->kind)
    {
    case REQUEST_EXTERNAL_ADDRESS:
      return "external address request";
    case REQUEST_MAP:
      return "map request";
    case REQUEST_UNMAP:
      return "delete request";
    case REQUEST_UNMAP_ALL:
      return "delete-all request";
    default:
      g_assert_not_reached ();
    }
}

static GError *
new_closed_error (void)
{
  return g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED,
                              _("The NAT-PMP client was shut down"));
}

static GError *
new_refused_error (PlClient *self)
{
  return g_error_new (PL_ERROR, PL_ERROR_REFUSED,
                      _("No NAT-PMP service on %s: the router refused the request "
                        "(nothing listens on port %u)"),
                      self->gateway_string, self->port);
}

/* Takes the request in flight off, completes it with @error (transfer full) or a copy of
 * @reply, and starts the next one. */
static void
finish_current (PlClient            *self,
                GError              *error,
                const PlNatpmpReply *reply)
{
  g_autoptr(PlClient) hold = g_object_ref (self);
  g_autoptr(GTask) task = g_steal_pointer (&self->current);
  Request *request;

  g_assert (task != NULL);
  g_assert ((error == NULL) != (reply == NULL));

  request = g_task_get_task_data (task);
  request_stop (request);

  if (error != NULL)
    {
      g_debug ("%s to %s failed: %s", request_describe (request), self->gateway_string,
               error->message);
      g_task_return_error (task, error);
    }
  else
    {
      g_task_return_pointer (task, g_memdup2 (reply, sizeof *reply), g_free);
    }

  start_next (self);
}

static void
arm_timer (PlClient *self,
           GTask    *task,
           Request  *request);

static gboolean
timer_cb (gpointer user_data)
{
  GTask *task = user_data;
  PlClient *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  g_autoptr(PlClient) hold = g_object_ref (self);

  /* This source is being dispatched and removes itself on return: just drop our ref. */
  g_clear_pointer (&request->timer, g_source_unref);

  if (self->current == task)
    drive (self);

  return G_SOURCE_REMOVE;
}

static void
arm_timer (PlClient *self,
           GTask    *task,
           Request  *request)
{
  gint64 now = pl_clock_get_time (self->clock);
  gint64 next = pl_retransmit_get_next_time (&request->retransmit);
  guint64 delay_ms = 0;

  g_assert (request->timer == NULL);

  /* Round up, so that the timer never fires before the schedule is due. */
  if (next > now)
    delay_ms = (guint64) (next - now + 999) / 1000;

  request->timer = pl_clock_timeout_source_new (self->clock, delay_ms);
  g_source_set_static_name (request->timer, "[portlight] client retransmit timer");
  g_task_attach_source (task, request->timer, timer_cb);
}

/* Returns FALSE with @error when the request cannot go on. */
static gboolean
send_request (PlClient  *self,
              Request   *request,
              GError   **error)
{
  g_autoptr(GError) local_error = NULL;
  gssize sent;

  sent = g_socket_send (self->socket, (const gchar *) request->packet, request->packet_len,
                        NULL, &local_error);
  if (sent >= 0)
    {
      g_debug ("Sent %s to %s:%u (attempt %u of %u)", request_describe (request),
               self->gateway_string, self->port,
               pl_retransmit_get_attempts (&request->retransmit), request->planned_attempts);
      return TRUE;
    }

  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      /* A full send buffer loses this datagram like the network could: the schedule goes on. */
      g_debug ("Could not send %s to %s now: %s", request_describe (request),
               self->gateway_string, local_error->message);
      return TRUE;
    }

  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    {
      g_propagate_error (error, new_refused_error (self));
      return FALSE;
    }

  g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                              _("Could not send a NAT-PMP request to %s: "),
                              self->gateway_string);
  return FALSE;
}

/* One step of the request in flight: send, resend or give up, then wait for the next step. */
static void
drive (PlClient *self)
{
  g_autoptr(PlClient) hold = g_object_ref (self);
  GTask *task = self->current;
  Request *request;
  GError *error = NULL;
  guint attempt;

  g_assert (task != NULL);
  request = g_task_get_task_data (task);

  switch (pl_retransmit_refresh (&request->retransmit, pl_clock_get_time (self->clock)))
    {
    case PL_RETRANSMIT_SEND:
      attempt = pl_retransmit_get_attempts (&request->retransmit);
      if (attempt > 1)
        {
          g_autoptr(GTask) hold_task = g_object_ref (task);

          g_signal_emit (self, signals[SIGNAL_ATTEMPT], 0, attempt, request->planned_attempts);
          if (self->current != task)
            return;
        }
      if (!send_request (self, request, &error))
        {
          finish_current (self, error, NULL);
          return;
        }
      break;

    case PL_RETRANSMIT_WAIT:
      break;

    case PL_RETRANSMIT_TIMEOUT:
      {
        guint total_ms = pl_retransmit_get_total_ms (&request->retransmit);

        error = pl_error_new_timed_out (self->gateway_string,
                                        pl_retransmit_get_attempts (&request->retransmit),
                                        total_ms);
        finish_current (self, error, NULL);
        return;
      }

    default:
      g_assert_not_reached ();
    }

  arm_timer (self, task, request);
}

static void
start_next (PlClient *self)
{
  while (self->current == NULL && !g_queue_is_empty (&self->pending))
    {
      g_autoptr(GTask) task = g_queue_pop_head (&self->pending);
      Request *request = g_task_get_task_data (task);

      if (g_task_return_error_if_cancelled (task))
        {
          request_stop (request);
          continue;
        }

      pl_retransmit_init (&request->retransmit, pl_clock_get_time (self->clock),
                          PL_RETRANSMIT_INITIAL_MS, request->max_attempts, self->timeout_ms);
      request->planned_attempts = pl_retransmit_count_sends (&request->retransmit);

      self->current = g_steal_pointer (&task);
      drive (self);
    }
}

static gboolean
request_cancelled_cb (GCancellable *cancellable,
                      gpointer      user_data)
{
  GTask *task = user_data;
  PlClient *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  g_autoptr(PlClient) hold = g_object_ref (self);
  g_autoptr(GTask) hold_task = g_object_ref (task);
  GError *error = NULL;

  /* Destroying the source in its own dispatch is fine; the callback data goes afterwards. */
  g_clear_pointer (&request->cancel_source, g_source_unref);

  g_cancellable_set_error_if_cancelled (cancellable, &error);
  g_assert (error != NULL);

  if (self->current == task)
    {
      g_debug ("%s to %s cancelled while in flight", request_describe (request),
               self->gateway_string);
      finish_current (self, error, NULL);
    }
  else if (g_queue_remove (&self->pending, task))
    {
      g_debug ("%s to %s cancelled while queued", request_describe (request),
               self->gateway_string);
      request_stop (request);
      g_task_return_error (task, error);
      /* The queue's reference. */
      g_object_unref (task);
    }
  else
    {
      g_error_free (error);
    }

  return G_SOURCE_REMOVE;
}

/* Takes @task (transfer full) with @request as its data and queues it. */
static void
submit (PlClient *self,
        GTask    *task,
        Request  *request)
{
  GCancellable *cancellable = g_task_get_cancellable (task);

  g_task_set_task_data (task, request, request_free);

  if (self->socket == NULL)
    {
      if (self->socket_error != NULL)
        g_task_return_error (task, g_error_copy (self->socket_error));
      else
        g_task_return_error (task, new_closed_error ());
      g_object_unref (task);
      return;
    }

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }

  if (self->current != NULL && g_queue_get_length (&self->pending) >= self->max_queue)
    {
      g_task_return_new_error (task, PL_ERROR, PL_ERROR_QUEUE_FULL,
                               _("Too many NAT-PMP requests are waiting for %s (at most %u)"),
                               self->gateway_string, self->max_queue);
      g_object_unref (task);
      return;
    }

  if (cancellable != NULL)
    {
      request->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_static_name (request->cancel_source, "[portlight] client cancellation");
      g_task_attach_source (task, request->cancel_source, G_SOURCE_FUNC (request_cancelled_cb));
    }

  g_queue_push_tail (&self->pending, task);
  start_next (self);
}

/* RFC 6886 section 3.6: every reply and announcement carries the epoch; a gateway that lost
 * its state is reported through PlPortMapper::state-lost. An announcement whose epoch runs
 * on still asks for a check: a service restarted with its epoch kept announces so too. */
static void
epoch_seen (PlClient *self,
            guint32   epoch,
            gboolean  announced)
{
  pl_port_mapper_epoch_seen (PL_PORT_MAPPER (self), &self->epoch,
                             pl_clock_get_time (self->clock), epoch, announced);
}

static void
accept_reply (PlClient            *self,
              const PlNatpmpReply *reply)
{
  g_autoptr(PlClient) hold = g_object_ref (self);
  g_autoptr(GTask) task = g_object_ref (self->current);
  Request *request = g_task_get_task_data (task);

  g_debug ("Accepted reply from %s to %s: opcode %u, result %u, epoch %u",
           self->gateway_string, request_describe (request), (guint) reply->opcode,
           (guint) reply->result, (guint) reply->epoch);

  g_signal_emit (self, signals[SIGNAL_EPOCH], 0, (guint) reply->epoch);
  epoch_seen (self, reply->epoch, FALSE);
  if (self->current != task)
    return;

  if (reply->result != PL_NATPMP_RESULT_SUCCESS)
    {
      finish_current (self, pl_natpmp_error_new (reply->result, self->gateway_string),
                      NULL);
      return;
    }

  if (reply->kind == PL_NATPMP_PACKET_EXTERNAL_ADDRESS)
    {
      static const guint8 zero[4] = { 0, 0, 0, 0 };

      if (memcmp (reply->external_address, zero, sizeof zero) == 0)
        {
          finish_current (self,
                          g_error_new (PL_ERROR, PL_ERROR_NETWORK_FAILURE,
                                       _("The router at %s reports no public address "
                                         "(0.0.0.0): it may not be connected to the Internet "
                                         "yet"),
                                       self->gateway_string),
                          NULL);
          return;
        }
    }

  finish_current (self, NULL, reply);
}

static void
handle_datagram (PlClient     *self,
                 const guint8 *data,
                 gsize         len)
{
  g_autoptr(GError) error = NULL;
  PlNatpmpReply reply;
  Request *request;
  guint8 expected;

  if (self->current == NULL)
    {
      g_debug ("Ignoring a %" G_GSIZE_FORMAT "-byte datagram from %s: no request in flight",
               len, self->gateway_string);
      return;
    }

  request = g_task_get_task_data (self->current);
  expected = PL_NATPMP_RESPONSE_BIT | request->opcode;

  if (!pl_natpmp_parse_reply (data, len, &reply, &error))
    {
      g_debug ("Ignoring a %" G_GSIZE_FORMAT "-byte datagram from %s: %s",
               len, self->gateway_string, error->message);
      return;
    }

  switch (reply.kind)
    {
    case PL_NATPMP_PACKET_PCP:
      g_debug ("Ignoring a PCP packet from %s (opcode %u): this is a NAT-PMP client",
               self->gateway_string, (guint) reply.opcode);
      return;

    case PL_NATPMP_PACKET_SHORT_ERROR:
      /* Unsupported Version comes with opcode 0, 128 or 128 + op (PMP-29); other short errors
       * must echo our opcode. A short error carries no port, so it ends whatever is in flight. */
      if (reply.opcode != expected &&
          !(reply.result == PL_NATPMP_RESULT_UNSUPPORTED_VERSION &&
            (reply.opcode == 0 || reply.opcode == PL_NATPMP_RESPONSE_BIT)))
        {
          g_debug ("Ignoring an error reply from %s with opcode %u (result %u): the %s "
                   "expects opcode %u", self->gateway_string, (guint) reply.opcode,
                   (guint) reply.result, request_describe (request), (guint) expected);
          return;
        }
      break;

    case PL_NATPMP_PACKET_EXTERNAL_ADDRESS:
    case PL_NATPMP_PACKET_MAP:
      if (reply.opcode != expected)
        {
          g_debug ("Ignoring a reply from %s with opcode %u: the %s expects opcode %u",
                   self->gateway_string, (guint) reply.opcode, request_describe (request),
                   (guint) expected);
          return;
        }
      if (reply.kind == PL_NATPMP_PACKET_MAP && reply.internal_port != request->internal_port)
        {
          g_debug ("Ignoring a stale reply from %s for internal port %u: waiting for port %u",
                   self->gateway_string, (guint) reply.internal_port,
                   (guint) request->internal_port);
          return;
        }
      break;

    default:
      g_assert_not_reached ();
    }

  accept_reply (self, &reply);
}

static gboolean
socket_readable_cb (GSocket      *socket,
                    GIOCondition  condition,
                    gpointer      user_data)
{
  PlClient *self = user_data;
  g_autoptr(PlClient) hold = g_object_ref (self);

  /* Bounded, so that a flood cannot starve the rest of the main context. */
  for (guint i = 0; i < 64 && self->socket != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      gssize received;

      received = g_socket_receive (self->socket, (gchar *) self->buffer, sizeof self->buffer,
                                   NULL, &error);
      if (received >= 0)
        {
          handle_datagram (self, self->buffer, (gsize) received);
          continue;
        }

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;

      if (self->current == NULL)
        {
          g_debug ("Socket error with no request in flight to %s: %s",
                   self->gateway_string, error->message);
          continue;
        }

      /* On a connected UDP socket, an ICMP error from the gateway (port unreachable becomes
       * ECONNREFUSED) shows up here: it ends the request in flight at once (PMP-07). */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
        {
          finish_current (self, new_refused_error (self), NULL);
        }
      else
        {
          GError *reach_error = NULL;

          g_propagate_prefixed_error (&reach_error, g_steal_pointer (&error),
                                      _("Could not reach %s: "), self->gateway_string);
          finish_current (self, reach_error, NULL);
        }
    }

  return G_SOURCE_CONTINUE;
}

static gboolean
setup_socket (PlClient  *self,
              GError   **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) any = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GSocketAddress) remote = NULL;

  if (self->gateway == NULL ||
      g_inet_address_get_family (self->gateway) != G_SOCKET_FAMILY_IPV4)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("NAT-PMP needs the gateway's IPv4 address"));
      return FALSE;
    }

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return FALSE;

  g_socket_set_blocking (socket, FALSE);

  any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  local = g_inet_socket_address_new (any, 0);
  if (!g_socket_bind (socket, local, FALSE, error))
    return FALSE;

  /* Connecting makes the kernel drop datagrams from any other address or port (PMP-10) and
   * report ICMP port unreachable as ECONNREFUSED (PMP-07). */
  remote = g_inet_socket_address_new (self->gateway, (guint16) self->port);
  if (!g_socket_connect (socket, remote, NULL, error))
    return FALSE;

  self->socket = g_steal_pointer (&socket);
  self->recv_source = g_socket_create_source (self->socket, G_IO_IN, NULL);
  g_source_set_static_name (self->recv_source, "[portlight] client socket");
  g_source_set_callback (self->recv_source, G_SOURCE_FUNC (socket_readable_cb), self, NULL);
  g_source_attach (self->recv_source, self->context);

  return TRUE;
}

static void
pl_client_constructed (GObject *object)
{
  PlClient *self = PL_CLIENT (object);
  g_autoptr(GError) error = NULL;

  G_OBJECT_CLASS (pl_client_parent_class)->constructed (object);

  if (self->clock == NULL)
    self->clock = pl_clock_get_default ();

  self->context = g_main_context_ref_thread_default ();
  self->gateway_string = self->gateway != NULL ? g_inet_address_to_string (self->gateway)
                                               : g_strdup ("(no gateway)");

  if (!setup_socket (self, &error))
    {
      g_debug ("NAT-PMP client for %s unusable: %s", self->gateway_string, error->message);
      self->socket_error = g_steal_pointer (&error);
    }
}

static void
pl_client_dispose (GObject *object)
{
  PlClient *self = PL_CLIENT (object);
  GTask *task;

  pl_clear_source (&self->recv_source);
  if (self->socket != NULL)
    {
      g_socket_close (self->socket, NULL);
      g_clear_object (&self->socket);
    }

  /* The socket is gone first, so that callbacks which queue new requests get an error. */
  if (self->current != NULL)
    {
      task = g_steal_pointer (&self->current);
      request_stop (g_task_get_task_data (task));
      g_task_return_error (task, new_closed_error ());
      g_object_unref (task);
    }

  while ((task = g_queue_pop_head (&self->pending)) != NULL)
    {
      request_stop (g_task_get_task_data (task));
      g_task_return_error (task, new_closed_error ());
      g_object_unref (task);
    }

  G_OBJECT_CLASS (pl_client_parent_class)->dispose (object);
}

static void
pl_client_finalize (GObject *object)
{
  PlClient *self = PL_CLIENT (object);

  g_clear_object (&self->gateway);
  g_clear_object (&self->clock);
  g_clear_object (&self->journal);
  g_clear_pointer (&self->gateway_string, g_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_error (&self->socket_error);

  G_OBJECT_CLASS (pl_client_parent_class)->finalize (object);
}

static void
pl_client_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  PlClient *self = PL_CLIENT (object);

  switch (prop_id)
    {
    case PROP_GATEWAY:
      g_value_set_object (value, self->gateway);
      break;
    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;
    case PROP_CLOCK:
      g_value_set_object (value, self->clock);
      break;
    case PROP_TIMEOUT_MS:
      g_value_set_uint (value, self->timeout_ms);
      break;
    case PROP_MAX_QUEUE:
      g_value_set_uint (value, self->max_queue);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pl_client_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  PlClient *self = PL_CLIENT (object);

  switch (prop_id)
    {
    case PROP_GATEWAY:
      self->gateway = g_value_dup_object (value);
      break;
    case PROP_PORT:
      self->port = g_value_get_uint (value);
      break;
    case PROP_CLOCK:
      self->clock = g_value_dup_object (value);
      break;
    case PROP_TIMEOUT_MS:
      pl_client_set_timeout (self, g_value_get_uint (value));
      break;
    case PROP_MAX_QUEUE:
      self->max_queue = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pl_client_class_init (PlClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = pl_client_constructed;
  object_class->dispose = pl_client_dispose;
  object_class->finalize = pl_client_finalize;
  object_class->get_property = pl_client_get_property;
  object_class->set_property = pl_client_set_property;

  /**
   * PlClient:gateway:
   *
   * The gateway's IPv4 address. Requests go to its port [property@Pl.Client:port].
   */
  properties[PROP_GATEWAY] =
    g_param_spec_object ("gateway", NULL, NULL,
                         G_TYPE_INET_ADDRESS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlClient:port:
   *
   * The gateway's NAT-PMP port, 5351 unless a test says otherwise.
   */
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL,
                       1, G_MAXUINT16, PL_NATPMP_SERVER_PORT,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                       G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlClient:clock:
   *
   * The clock that times retransmissions; %NULL at construction means the real clock.
   */
  properties[PROP_CLOCK] =
    g_param_spec_object ("clock", NULL, NULL,
                         PL_TYPE_CLOCK,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlClient:timeout-ms:
   *
   * The overall bound of one request from its first send, in milliseconds; 0 means the
   * RFC 6886 schedule alone (127.75 s, or 1.75 s for deletions). A change applies to requests
   * that start afterwards.
   */
  properties[PROP_TIMEOUT_MS] =
    g_param_spec_uint ("timeout-ms", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlClient:max-queue:
   *
   * How many requests may wait behind the one in flight; one more fails with
   * %PL_ERROR_QUEUE_FULL. The default, 1024, lets a session hand over every mapping of a
   * large profile set at once (NAT-PMP answers one at a time, RFC 6886 section 3.1).
   */
  properties[PROP_MAX_QUEUE] =
    g_param_spec_uint ("max-queue", NULL, NULL,
                       0, G_MAXUINT16, 1024,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                       G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PlClient::attempt:
   * @self: the client
   * @attempt: the number of the send about to happen, 2 or more
   * @max_attempts: the number of sends the request makes before it gives up
   *
   * Emitted before each retransmission of the request in flight.
   */
  signals[SIGNAL_ATTEMPT] =
    g_signal_new ("attempt",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_UINT);

  /**
   * PlClient::epoch:
   * @self: the client
   * @epoch: the gateway's seconds since start of epoch
   *
   * Emitted for every accepted reply, errors included, before its request completes.
   */
  signals[SIGNAL_EPOCH] =
    g_signal_new ("epoch",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_UINT);
}

static void
pl_client_init (PlClient *self)
{
  self->port = PL_NATPMP_SERVER_PORT;
  self->max_queue = 1024;
  g_queue_init (&self->pending);
  pl_epoch_tracker_init (&self->epoch, PL_EPOCH_RULE_NATPMP);
}

/**
 * pl_client_new:
 * @gateway: the gateway's IPv4 address
 * @clock: (nullable): the clock for retransmissions, %NULL for the real one
 *
 * Creates a client for the gateway's port 5351, bound to the thread-default main context.
 * If the socket cannot be set up, every request fails with the reason.
 *
 * Returns: (transfer full): a new client
 */
PlClient *
pl_client_new (GInetAddress *gateway,
               PlClock      *clock)
{
  g_return_val_if_fail (G_IS_INET_ADDRESS (gateway), NULL);
  g_return_val_if_fail (clock == NULL || PL_IS_CLOCK (clock), NULL);

  return g_object_new (PL_TYPE_CLIENT,
                       "gateway", gateway,
                       "clock", clock,
                       NULL);
}

/**
 * pl_client_get_gateway:
 * @self: a client
 *
 * Returns: (transfer none): the gateway's address
 */
GInetAddress *
pl_client_get_gateway (PlClient *self)
{
  g_return_val_if_fail (PL_IS_CLIENT (self), NULL);

  return self->gateway;
}

/**
 * pl_client_set_timeout:
 * @self: a client
 * @timeout_ms: the bound in milliseconds, 0 for the RFC schedule alone
 *
 * Sets [property@Pl.Client:timeout-ms].
 */
void
pl_client_set_timeout (PlClient *self,
                       guint     timeout_ms)
{
  g_return_if_fail (PL_IS_CLIENT (self));

  if (self->timeout_ms == timeout_ms)
    return;

  self->timeout_ms = timeout_ms;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIMEOUT_MS]);
}

/**
 * pl_client_get_timeout:
 * @self: a client
 *
 * Returns: [property@Pl.Client:timeout-ms]
 */
guint
pl_client_get_timeout (PlClient *self)
{
  g_return_val_if_fail (PL_IS_CLIENT (self), 0);

  return self->timeout_ms;
}

static gboolean
protocol_is_valid (PlProtocol protocol)
{
  return protocol == PL_PROTOCOL_UDP || protocol == PL_PROTOCOL_TCP;
}

static gboolean
propagate_reply (PlClient      *self,
                 GAsyncResult  *result,
                 gpointer       source_tag,
                 PlNatpmpReply *out,
                 GError       **error)
{
  g_autofree PlNatpmpReply *reply = NULL;

  g_return_val_if_fail (PL_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  reply = g_task_propagate_pointer (G_TASK (result), error);
  if (reply == NULL)
    return FALSE;

  *out = *reply;
  return TRUE;
}

/**
 * pl_client_get_external_address_async:
 * @self: a client
 * @cancellable: (nullable): a cancellable
 * @callback: called when the gateway answered, or the request failed
 * @user_data: data for @callback
 *
 * Asks the gateway for its public IPv4 address (request `00 00`).
 */
void
pl_client_get_external_address_async (PlClient            *self,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Request *request;

  g_return_if_fail (PL_IS_CLIENT (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pl_client_get_external_address_async);

  request = g_new0 (Request, 1);
  request->kind = REQUEST_EXTERNAL_ADDRESS;
  request->opcode = PL_NATPMP_OP_EXTERNAL_ADDRESS;
  request->max_attempts = PL_RETRANSMIT_MAX_ATTEMPTS;
  request->packet_len = pl_natpmp_build_external_address_request (request->packet,
                                                                  sizeof request->packet);
  g_assert (request->packet_len != 0);

  submit (self, g_steal_pointer (&task), request);
}

/**
 * pl_client_get_external_address_finish:
 * @self: a client
 * @result: the result given to the callback
 * @epoch: (out) (optional): the gateway's seconds since start of epoch
 * @error: return location for an error
 *
 * Errors: `PL_ERROR` (a result code, %PL_ERROR_TIMED_OUT, %PL_ERROR_REFUSED,
 * %PL_ERROR_NETWORK_FAILURE for a gateway reporting 0.0.0.0, %PL_ERROR_QUEUE_FULL) or
 * `G_IO_ERROR` (%G_IO_ERROR_CANCELLED, %G_IO_ERROR_CLOSED, socket errors).
 *
 * Returns: (transfer full) (nullable): the public address, or %NULL with @error set
 */
GInetAddress *
pl_client_get_external_address_finish (PlClient      *self,
                                       GAsyncResult  *result,
                                       guint32       *epoch,
                                       GError       **error)
{
  PlNatpmpReply reply;

  if (!propagate_reply (self, result, pl_client_get_external_address_async, &reply, error))
    return NULL;

  if (epoch != NULL)
    *epoch = reply.epoch;

  return g_inet_address_new_from_bytes (reply.external_address, G_SOCKET_FAMILY_IPV4);
}

/**
 * pl_client_map_async:
 * @self: a client
 * @protocol: UDP or TCP
 * @internal_port: the local port, not 0
 * @suggested_external_port: the wanted public port, 0 to let the gateway choose
 * @lifetime: the requested lifetime in seconds, more than 0
 * @cancellable: (nullable): a cancellable
 * @callback: called when the gateway answered, or the request failed
 * @user_data: data for @callback
 *
 * Creates or renews a mapping. The gateway may grant another external port and a shorter
 * lifetime: use what [method@Pl.Client.map_finish] reports.
 */
void
pl_client_map_async (PlClient            *self,
                     PlProtocol           protocol,
                     guint16              internal_port,
                     guint16              suggested_external_port,
                     guint32              lifetime,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Request *request;

  g_return_if_fail (PL_IS_CLIENT (self));
  g_return_if_fail (protocol_is_valid (protocol));
  g_return_if_fail (internal_port != 0);
  g_return_if_fail (lifetime > 0);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pl_client_map_async);

  request = g_new0 (Request, 1);
  request->kind = REQUEST_MAP;
  request->opcode = (guint8) protocol;
  request->internal_port = internal_port;
  request->max_attempts = PL_RETRANSMIT_MAX_ATTEMPTS;
  request->packet_len = pl_natpmp_build_map_request (request->packet, sizeof request->packet,
                                                     protocol, internal_port,
                                                     suggested_external_port, lifetime);
  g_assert (request->packet_len != 0);

  submit (self, g_steal_pointer (&task), request);
}

/**
 * pl_client_map_finish:
 * @self: a client
 * @result: the result given to the callback
 * @external_port: (out) (optional): the public port the gateway granted
 * @lifetime: (out) (optional): the lifetime the gateway granted, in seconds
 * @epoch: (out) (optional): the gateway's seconds since start of epoch
 * @error: return location for an error
 *
 * Errors as for [method@Pl.Client.get_external_address_finish]. On error the out arguments
 * are left alone: an error reply's port and lifetime mean nothing.
 *
 * Returns: %TRUE when the mapping exists
 */
gboolean
pl_client_map_finish (PlClient      *self,
                      GAsyncResult  *result,
                      guint16       *external_port,
                      guint32       *lifetime,
                      guint32       *epoch,
                      GError       **error)
{
  PlNatpmpReply reply;

  if (!propagate_reply (self, result, pl_client_map_async, &reply, error))
    return FALSE;

  if (external_port != NULL)
    *external_port = reply.external_port;
  if (lifetime != NULL)
    *lifetime = reply.lifetime;
  if (epoch != NULL)
    *epoch = reply.epoch;

  return TRUE;
}

/**
 * pl_client_unmap_async:
 * @self: a client
 * @protocol: UDP or TCP
 * @internal_port: the local port of the mapping, not 0
 * @cancellable: (nullable): a cancellable
 * @callback: called when the gateway answered, or the request failed
 * @user_data: data for @callback
 *
 * Deletes a mapping (lifetime 0, suggested port 0). The gateway answers success for a mapping
 * that does not exist, so this is safe to repeat. Gives up after 3 sends (PMP-09).
 */
void
pl_client_unmap_async (PlClient            *self,
                       PlProtocol           protocol,
                       guint16              internal_port,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Request *request;

  g_return_if_fail (PL_IS_CLIENT (self));
  g_return_if_fail (protocol_is_valid (protocol));
  g_return_if_fail (internal_port != 0);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pl_client_unmap_async);

  request = g_new0 (Request, 1);
  request->kind = REQUEST_UNMAP;
  request->opcode = (guint8) protocol;
  request->internal_port = internal_port;
  request->max_attempts = DELETE_MAX_ATTEMPTS;
  request->packet_len = pl_natpmp_build_unmap_request (request->packet, sizeof request->packet,
                                                       protocol, internal_port);
  g_assert (request->packet_len != 0);

  submit (self, g_steal_pointer (&task), request);
}

/**
 * pl_client_unmap_finish:
 * @self: a client
 * @result: the result given to the callback
 * @epoch: (out) (optional): the gateway's seconds since start of epoch
 * @error: return location for an error
 *
 * Returns: %TRUE when the gateway confirmed the deletion
 */
gboolean
pl_client_unmap_finish (PlClient      *self,
                        GAsyncResult  *result,
                        guint32       *epoch,
                        GError       **error)
{
  PlNatpmpReply reply;

  if (!propagate_reply (self, result, pl_client_unmap_async, &reply, error))
    return FALSE;

  if (epoch != NULL)
    *epoch = reply.epoch;

  return TRUE;
}

/**
 * pl_client_unmap_all_async:
 * @self: a client
 * @protocol: UDP or TCP
 * @cancellable: (nullable): a cancellable
 * @callback: called when the gateway answered, or the request failed
 * @user_data: data for @callback
 *
 * Deletes every mapping of @protocol that this host holds on the gateway (internal port 0,
 * PMP-25). A non-zero result means the gateway could not delete them all. Gives up after
 * 3 sends.
 */
void
pl_client_unmap_all_async (PlClient            *self,
                           PlProtocol           protocol,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Request *request;

  g_return_if_fail (PL_IS_CLIENT (self));
  g_return_if_fail (protocol_is_valid (protocol));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pl_client_unmap_all_async);

  request = g_new0 (Request, 1);
  request->kind = REQUEST_UNMAP_ALL;
  request->opcode = (guint8) protocol;
  request->internal_port = 0;
  request->max_attempts = DELETE_MAX_ATTEMPTS;
  request->packet_len = pl_natpmp_build_unmap_all_request (request->packet,
                                                           sizeof request->packet, protocol);
  g_assert (request->packet_len != 0);

  submit (self, g_steal_pointer (&task), request);
}

/**
 * pl_client_unmap_all_finish:
 * @self: a client
 * @result: the result given to the callback
 * @epoch: (out) (optional): the gateway's seconds since start of epoch
 * @error: return location for an error
 *
 * Returns: %TRUE when the gateway deleted every mapping of the protocol
 */
gboolean
pl_client_unmap_all_finish (PlClient      *self,
                            GAsyncResult  *result,
                            guint32       *epoch,
                            GError       **error)
{
  PlNatpmpReply reply;

  if (!propagate_reply (self, result, pl_client_unmap_all_async, &reply, error))
    return FALSE;

  if (epoch != NULL)
    *epoch = reply.epoch;

  return TRUE;
}

/* PlPortMapper: NAT-PMP is the first protocol behind the session engine. */

static const char *
pl_client_mapper_get_protocol_name (PlPortMapper *mapper)
{
  return "NAT-PMP";
}

static GInetAddress *
pl_client_mapper_get_gateway (PlPortMapper *mapper)
{
  return pl_client_get_gateway (PL_CLIENT (mapper));
}

static void
pl_client_mapper_get_external_address_async (PlPortMapper        *mapper,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data)
{
  pl_client_get_external_address_async (PL_CLIENT (mapper), cancellable, callback, user_data);
}

static GInetAddress *
pl_client_mapper_get_external_address_finish (PlPortMapper  *mapper,
                                              GAsyncResult  *result,
                                              guint32       *epoch,
                                              GError       **error)
{
  return pl_client_get_external_address_finish (PL_CLIENT (mapper), result, epoch, error);
}

/* The journal (PlPortMapper's set_journal). NAT-PMP keeps nothing to renew or delete a
 * mapping: any program of this host may delete it by its port. The journal only tells a
 * restarted engine which ports it had open, so that it deletes those nobody asks for again
 * (pl-journal-sweep.c); a one-shot program's mappings stay open until they expire on
 * purpose, so only an engine's journal (PL_PCP_OWNER_ENGINE) is written.
 *
 * When it is written (pl-pcp-state.c, "Batches"): every MAP and delete takes a hold on the
 * journal from the call until its answer, and goes out only after a barrier save.
 *
 * - A MAP's record (the port, an end no earlier than the lifetime asked for) is put when
 *   it is asked for and is on disk before the request goes out; requests asked for in one
 *   main-loop iteration (every renewal after a router reboot) share that one save. So the
 *   journal never lacks a mapping the router has: a crash after the request went out, even
 *   before the answer, leaves the record, and a restarted engine renews or deletes it.
 * - The answer (the port granted, the lifetime) is put then, and saved with the batch: once,
 *   when the last request in flight has been answered, before its answer is returned (at the
 *   latest a second later). A crash in between leaves the record as put before sending,
 *   which already names the mapping.
 * - A delete's record is removed only once the router confirmed it, and saved with the
 *   batch. A crash before that leaves the record, so the restarted engine deletes the port
 *   again (nobody asks for it): a port the user closed does not stay open. Deletes wait at
 *   the barrier too, so that a MAP and a delete of one port keep their order. */

static void
journal_put (PlClient   *self,
             PlProtocol  protocol,
             guint16     internal_port,
             guint16     external_port,
             guint32     lifetime)
{
  g_autoptr(PlPcpRecord) record = NULL;
  g_autoptr(GSocketAddress) local = NULL;

  if (self->journal == NULL || self->socket == NULL)
    return;
  local = g_socket_get_local_address (self->socket, NULL);
  if (!G_IS_INET_SOCKET_ADDRESS (local))
    return;

  record = pl_pcp_record_new ();
  record->gateway = g_object_ref (self->gateway);
  record->method = PL_PCP_METHOD_NATPMP;
  record->protocol = protocol;
  record->family = G_SOCKET_FAMILY_IPV4;
  record->internal_address =
    g_object_ref (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local)));
  record->internal_port = internal_port;
  record->external_port = external_port;
  record->expires = g_get_real_time () / G_USEC_PER_SEC + lifetime;
  pl_pcp_state_put_merged (self->journal, record);
  pl_pcp_state_save_later (self->journal);
}

static void
journal_forget (PlClient   *self,
                PlProtocol  protocol,
                guint16     internal_port)
{
  if (self->journal != NULL &&
      pl_pcp_state_remove (self->journal, self->gateway, protocol, internal_port,
                           G_SOCKET_FAMILY_IPV4))
    pl_pcp_state_save_later (self->journal);
}

typedef struct
{
  PlProtocol  protocol;
  guint16     internal_port;
  guint16     suggested_port;
  guint32     lifetime;        /* asked, then the answer's */
  guint16     external_port;   /* the answer */
  guint32     epoch;
  PlPcpState *held;            /* owned ref: the journal's hold, until answered */
} MapperOp;

static void
mapper_op_release (MapperOp *op)
{
  if (op->held != NULL)
    {
      pl_pcp_state_release (op->held);
      g_clear_object (&op->held);
    }
}

static void
mapper_op_free (gpointer data)
{
  MapperOp *op = data;

  mapper_op_release (op);
  g_free (op);
}

static void mapper_map_cb   (GObject      *source,
                             GAsyncResult *result,
                             gpointer      user_data);
static void mapper_unmap_cb (GObject      *source,
                             GAsyncResult *result,
                             gpointer      user_data);

static void pl_client_mapper_map_async (PlPortMapper        *mapper,
                                        PlProtocol           protocol,
                                        guint16              internal_port,
                                        guint16              suggested_external_port,
                                        guint32              lifetime,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);

/* Takes @task (transfer full): the request goes out. */
static void
mapper_send (GTask *task)
{
  PlClient *self = g_task_get_source_object (task);
  MapperOp *op = g_task_get_task_data (task);

  if (g_task_get_source_tag (task) == pl_client_mapper_map_async)
    pl_client_map_async (self, op->protocol, op->internal_port, op->suggested_port,
                         op->lifetime, g_task_get_cancellable (task), mapper_map_cb, task);
  else
    pl_client_unmap_async (self, op->protocol, op->internal_port,
                           g_task_get_cancellable (task), mapper_unmap_cb, task);
}

static void
mapper_synced_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!pl_pcp_state_sync_finish (PL_PCP_STATE (source), result, &error))
    g_debug ("Cannot save the NAT-PMP mappings to the journal: %s", error->message);
  mapper_send (user_data);
}

/* Takes @task (transfer full): holds the journal and waits at its barrier, or, without a
 * journal, sends at once. */
static void
mapper_start (PlClient *self,
              GTask    *task)
{
  MapperOp *op = g_task_get_task_data (task);

  if (self->journal != NULL)
    {
      op->held = g_object_ref (self->journal);
      pl_pcp_state_hold (op->held);
      if (g_task_get_source_tag (task) == pl_client_mapper_map_async)
        journal_put (self, op->protocol, op->internal_port, 0, op->lifetime);
      pl_pcp_state_sync_async (op->held, mapper_synced_cb, task);
      return;
    }
  mapper_send (task);
}

static void
mapper_map_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  PlClient *self = PL_CLIENT (source);
  g_autoptr(GTask) task = user_data;
  MapperOp *op = g_task_get_task_data (task);
  GError *error = NULL;

  if (!pl_client_map_finish (self, result, &op->external_port, &op->lifetime, &op->epoch,
                             &error))
    {
      /* The record put before sending stays: the router may have the mapping all the same. */
      mapper_op_release (op);
      g_task_return_error (task, error);
      return;
    }
  journal_put (self, op->protocol, op->internal_port, op->external_port, op->lifetime);
  mapper_op_release (op);   /* the batch's save, if this was its last answer */
  g_task_return_boolean (task, TRUE);
}

static void
pl_client_mapper_map_async (PlPortMapper        *mapper,
                            PlProtocol           protocol,
                            guint16              internal_port,
                            guint16              suggested_external_port,
                            guint32              lifetime,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  GTask *task = g_task_new (mapper, cancellable, callback, user_data);
  MapperOp *op = g_new0 (MapperOp, 1);

  /* The answer is the client's own: cancelled or not, as pl_client_map_async() says. */
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_source_tag (task, pl_client_mapper_map_async);
  op->protocol = protocol;
  op->internal_port = internal_port;
  op->suggested_port = suggested_external_port;
  op->lifetime = lifetime;
  g_task_set_task_data (task, op, mapper_op_free);
  mapper_start (PL_CLIENT (mapper), task);
}

static gboolean
pl_client_mapper_map_finish (PlPortMapper  *mapper,
                             GAsyncResult  *result,
                             guint16       *external_port,
                             guint32       *lifetime,
                             guint32       *epoch,
                             GError       **error)
{
  MapperOp *op = g_task_get_task_data (G_TASK (result));

  g_return_val_if_fail (g_task_is_valid (result, mapper), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  if (external_port != NULL)
    *external_port = op->external_port;
  if (lifetime != NULL)
    *lifetime = op->lifetime;
  if (epoch != NULL)
    *epoch = op->epoch;
  return TRUE;
}

static void
mapper_unmap_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  PlClient *self = PL_CLIENT (source);
  g_autoptr(GTask) task = user_data;
  MapperOp *op = g_task_get_task_data (task);
  GError *error = NULL;

  if (!pl_client_unmap_finish (self, result, &op->epoch, &error))
    {
      /* Not confirmed: the record stays, so the port is deleted again after a crash. */
      mapper_op_release (op);
      g_task_return_error (task, error);
      return;
    }
  journal_forget (self, op->protocol, op->internal_port);
  mapper_op_release (op);
  g_task_return_boolean (task, TRUE);
}

static void
pl_client_mapper_unmap_async (PlPortMapper        *mapper,
                              PlProtocol           protocol,
                              guint16              internal_port,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  GTask *task = g_task_new (mapper, cancellable, callback, user_data);
  MapperOp *op = g_new0 (MapperOp, 1);

  g_task_set_check_cancellable (task, FALSE);
  g_task_set_source_tag (task, pl_client_mapper_unmap_async);
  op->protocol = protocol;
  op->internal_port = internal_port;
  g_task_set_task_data (task, op, mapper_op_free);
  mapper_start (PL_CLIENT (mapper), task);
}

static gboolean
pl_client_mapper_unmap_finish (PlPortMapper  *mapper,
                               GAsyncResult  *result,
                               guint32       *epoch,
                               GError       **error)
{
  MapperOp *op = g_task_get_task_data (G_TASK (result));

  g_return_val_if_fail (g_task_is_valid (result, mapper), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  if (epoch != NULL)
    *epoch = op->epoch;
  return TRUE;
}

static void
pl_client_mapper_set_journal (PlPortMapper *mapper,
                              PlPcpState   *journal)
{
  PlClient *self = PL_CLIENT (mapper);

  if (journal != NULL && pl_pcp_state_get_owner (journal) != PL_PCP_OWNER_ENGINE)
    journal = NULL;
  g_set_object (&self->journal, journal);
}

static void
pl_client_mapper_handle_announcement (PlPortMapper         *mapper,
                                      const PlAnnouncement *announcement)
{
  PlClient *self = PL_CLIENT (mapper);
  g_autoptr(PlClient) hold = g_object_ref (self);

  /* A PCP ANNOUNCE (miniupnpd sends one beside the NAT-PMP one) shares the clock of the
   * epoch. */
  epoch_seen (self, announcement->epoch, TRUE);
}

static void
pl_client_port_mapper_iface_init (PlPortMapperInterface *iface)
{
  iface->handle_announcement = pl_client_mapper_handle_announcement;
  iface->get_protocol_name = pl_client_mapper_get_protocol_name;
  iface->get_gateway = pl_client_mapper_get_gateway;
  iface->get_external_address_async = pl_client_mapper_get_external_address_async;
  iface->get_external_address_finish = pl_client_mapper_get_external_address_finish;
  iface->map_async = pl_client_mapper_map_async;
  iface->map_finish = pl_client_mapper_map_finish;
  iface->unmap_async = pl_client_mapper_unmap_async;
  iface->unmap_finish = pl_client_mapper_unmap_finish;
  iface->set_journal = pl_client_mapper_set_journal;
}
