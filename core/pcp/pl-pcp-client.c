/* pl-pcp-client.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/random.h>

#include <glib/gi18n-lib.h>

#include "pl-epoch.h"
#include "pl-error.h"
#include "pl-pcp-client.h"
#include "pl-pcp-state.h"
#include "pl-pcp.h"
#include "pl-port-mapper.h"
#include "pl-retransmit.h"

/* How it works.
 *
 * Every request is a GTask holding a Request (task data). _async() puts the task at the tail of
 * a FIFO queue; start_next() walks the queue from the head and starts every request it may:
 * at most MAX_IN_FLIGHT at once, and never one whose internal port already has a request in
 * flight (so requests for one port keep their order, while a silent one holds no other port).
 * A MAP packet is built when its request starts, not when it is queued, so that a renewal
 * queued behind the create uses the nonce and the port the create got.
 *
 * Each request in flight owns a PCP retransmission schedule; drive() asks it what to do now,
 * sends (or gives up), and arms one clock timeout (PlClock, so tests run on virtual time).
 *
 * One GSocket source on the thread-default context reads every datagram and hands it to the
 * request it answers: a MAP response to the MAP request with the same nonce, protocol and
 * internal port; an ANNOUNCE response to every ANNOUNCE in flight. Anything else is logged
 * with g_debug and dropped. An accepted response emits ::epoch, then completes its task.
 *
 * Cancellation is watched by a GCancellable source per request (g_task_attach_source), so it
 * is handled on our own context and never from inside a GCancellable::cancelled emission.
 *
 * Re-entrancy: signal handlers and task callbacks may cancel, queue new requests, or dispose
 * the client. After each emission the code checks that the task is still in flight. */

#define MAX_IN_FLIGHT   8
#define MAX_QUEUE       1024

struct _PlPcpClient
{
  GObject        parent_instance;

  GInetAddress  *gateway;
  char          *gateway_string;
  guint          port;
  PlClock       *clock;
  GInetAddress  *bind_address;
  guint          scope_id;
  guint          timeout_ms;

  GMainContext  *context;
  GSocket       *socket;
  GSource       *recv_source;
  GError        *socket_error;     /* why there is no socket, when setting it up failed */
  guint8         client_address[16];
  gboolean       ipv6;

  GQueue         pending;          /* GTask*, owned: not started yet */
  GQueue         in_flight;        /* GTask*, owned: sent, waiting for a response */

  GHashTable    *mappings;         /* key (protocol << 16 | internal port) -> MappingState* */
  char          *external_address;

  PlEpochTracker epoch;            /* responses and ANNOUNCEs, RFC 6887 section 8.5 */
  PlPcpState    *journal;          /* nullable: where nonces outlive this process */
  gboolean       journal_warned;

  guint8         buffer[PL_PCP_MAX_MESSAGE + 4];
};

static void pl_pcp_client_port_mapper_iface_init (PlPortMapperInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PlPcpClient, pl_pcp_client, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PL_TYPE_PORT_MAPPER,
                                                      pl_pcp_client_port_mapper_iface_init))

enum {
  PROP_0,
  PROP_GATEWAY,
  PROP_PORT,
  PROP_CLOCK,
  PROP_BIND_ADDRESS,
  PROP_SCOPE_ID,
  PROP_TIMEOUT,
  PROP_EXTERNAL_ADDRESS,
  PROP_STATE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_ATTEMPT,
  SIGNAL_EPOCH,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct
{
  guint8   nonce[PL_PCP_NONCE_SIZE];
  guint16  assigned_port;              /* 0 = not known */
  gboolean has_address;
  guint8   assigned_address[16];
} MappingState;

typedef enum
{
  REQUEST_PROBE,
  REQUEST_EXTERNAL_ADDRESS,
  REQUEST_MAP,
  REQUEST_UNMAP,
} RequestKind;

typedef struct
{
  RequestKind     kind;
  PlProtocol      protocol;
  guint16         internal_port;         /* 0 for ANNOUNCE */
  guint16         suggested_port;        /* what the caller asked */
  guint32         lifetime;
  guint8          nonce[PL_PCP_NONCE_SIZE];
  guint8          packet[PL_PCP_MAX_MESSAGE];
  gsize           packet_len;
  PlRetransmit    retransmit;
  guint           planned_attempts;      /* 0 = for ever */
  GSource        *timer;                 /* owned ref; attached while waiting */
  GSource        *cancel_source;         /* owned ref; attached while queued or in flight */
  PlPcpState     *held;                  /* owned ref: the journal's hold, until answered */
} Request;

/* What a task returns. */
typedef struct
{
  guint32 epoch;
  guint32 lifetime;
  guint16 external_port;
  guint8  external_address[16];
  gboolean has_address;
} Outcome;

static void start_next (PlPcpClient *self);
static void drive      (PlPcpClient *self,
                        GTask       *task);

static gpointer
mapping_key (PlProtocol protocol,
             guint16    internal_port)
{
  return GUINT_TO_POINTER (((guint) protocol << 16) | internal_port);
}

static PlProtocol
key_protocol (gpointer key)
{
  return (PlProtocol) (GPOINTER_TO_UINT (key) >> 16);
}

static guint16
key_port (gpointer key)
{
  return (guint16) (GPOINTER_TO_UINT (key) & 0xffff);
}

static void
request_stop (Request *request)
{
  pl_clear_source (&request->timer);
  pl_clear_source (&request->cancel_source);
  if (request->held != NULL)
    {
      /* Before the task returns: the answer's change is on disk when the caller hears. */
      pl_pcp_state_release (request->held);
      g_clear_object (&request->held);
    }
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
    case REQUEST_PROBE:
      return "ANNOUNCE probe";
    case REQUEST_EXTERNAL_ADDRESS:
      return "ANNOUNCE (external address)";
    case REQUEST_MAP:
      return "MAP request";
    case REQUEST_UNMAP:
      return "MAP delete";
    default:
      g_assert_not_reached ();
    }
}

static gboolean
request_is_map (const Request *request)
{
  return request->kind == REQUEST_MAP || request->kind == REQUEST_UNMAP;
}

static gboolean
address_is_zero (const guint8 address[16])
{
  static const guint8 zero[16] = { 0 };
  guint8 ipv4[4];

  if (memcmp (address, zero, sizeof zero) == 0)
    return TRUE;
  if (pl_pcp_address_is_ipv4 (address, ipv4))
    return ipv4[0] == 0 && ipv4[1] == 0 && ipv4[2] == 0 && ipv4[3] == 0;
  return FALSE;
}

static GInetAddress *
inet_address_from_pcp (const guint8 address[16])
{
  guint8 ipv4[4];

  if (pl_pcp_address_is_ipv4 (address, ipv4))
    return g_inet_address_new_from_bytes (ipv4, G_SOCKET_FAMILY_IPV4);
  return g_inet_address_new_from_bytes (address, G_SOCKET_FAMILY_IPV6);
}

static void
random_nonce (guint8 nonce[PL_PCP_NONCE_SIZE])
{
  gsize filled = 0;

  while (filled < PL_PCP_NONCE_SIZE)
    {
      ssize_t got = getrandom (nonce + filled, PL_PCP_NONCE_SIZE - filled, 0);

      if (got < 0)
        {
          if (errno == EINTR)
            continue;
          /* No kernel entropy interface (very old kernels): GLib's generator is seeded from
           * /dev/urandom and is good enough for a nonce that only has to be unguessable on
           * the LAN. */
          g_debug ("getrandom failed (%s), using g_random", g_strerror (errno));
          for (; filled < PL_PCP_NONCE_SIZE; filled++)
            nonce[filled] = (guint8) g_random_int_range (0, 256);
          return;
        }
      filled += (gsize) got;
    }
}

static GError *
new_closed_error (void)
{
  return g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED,
                              _("The PCP client was shut down"));
}

static GError *
new_refused_error (PlPcpClient *self)
{
  return g_error_new (PL_ERROR, PL_ERROR_REFUSED,
                      _("No PCP service on %s: the router refused the request "
                        "(nothing listens on port %u)"),
                      self->gateway_string, self->port);
}

static GError *
new_downgrade_error (PlPcpClient *self)
{
  return g_error_new (PL_ERROR, PL_ERROR_UNSUPPORTED_VERSION,
                      _("The router at %s speaks NAT-PMP, not PCP"),
                      self->gateway_string);
}

/* Takes @task off the requests in flight, completes it with @error (transfer full) or a copy
 * of @outcome, and starts what may start now. */
static void
finish_request (PlPcpClient   *self,
                GTask         *task,
                GError        *error,
                const Outcome *outcome)
{
  g_autoptr(PlPcpClient) hold = g_object_ref (self);
  Request *request;

  g_assert ((error == NULL) != (outcome == NULL));

  if (!g_queue_remove (&self->in_flight, task))
    g_assert_not_reached ();

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
      g_task_return_pointer (task, g_memdup2 (outcome, sizeof *outcome), g_free);
    }

  /* The in-flight queue's reference. */
  g_object_unref (task);

  start_next (self);
}

/* Fails every request in flight with a copy of @error (transfer full). */
static void
fail_in_flight (PlPcpClient *self,
                GError      *error)
{
  g_autoptr(PlPcpClient) hold = g_object_ref (self);
  g_autoptr(GError) owned = error;
  g_autoptr(GPtrArray) tasks = g_ptr_array_new_with_free_func (g_object_unref);

  for (GList *l = self->in_flight.head; l != NULL; l = l->next)
    g_ptr_array_add (tasks, g_object_ref (l->data));

  for (guint i = 0; i < tasks->len; i++)
    {
      GTask *task = g_ptr_array_index (tasks, i);

      if (g_queue_find (&self->in_flight, task) != NULL)
        finish_request (self, task, g_error_copy (owned), NULL);
    }
}

static gboolean
timer_cb (gpointer user_data)
{
  GTask *task = user_data;
  PlPcpClient *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  g_autoptr(PlPcpClient) hold = g_object_ref (self);

  /* This source is being dispatched and removes itself on return: just drop our ref. */
  g_clear_pointer (&request->timer, g_source_unref);

  if (g_queue_find (&self->in_flight, task) != NULL)
    drive (self, task);

  return G_SOURCE_REMOVE;
}

static void
arm_timer (PlPcpClient *self,
           GTask       *task,
           Request     *request)
{
  gint64 now = pl_clock_get_time (self->clock);
  gint64 next = pl_retransmit_get_next_time (&request->retransmit);
  guint64 delay_ms = 0;

  g_assert (request->timer == NULL);

  /* Round up, so that the timer never fires before the schedule is due. */
  if (next > now)
    delay_ms = (guint64) (next - now + 999) / 1000;

  request->timer = pl_clock_timeout_source_new (self->clock, delay_ms);
  g_source_set_static_name (request->timer, "[portlight] PCP client retransmit timer");
  g_task_attach_source (task, request->timer, timer_cb);
}

/* Returns FALSE with @error when the request cannot go on. */
static gboolean
send_request (PlPcpClient  *self,
              Request      *request,
              GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  gssize sent;

  sent = g_socket_send (self->socket, (const gchar *) request->packet, request->packet_len,
                        NULL, &local_error);
  if (sent >= 0)
    {
      g_debug ("Sent %s to %s:%u (attempt %u)", request_describe (request),
               self->gateway_string, self->port,
               pl_retransmit_get_attempts (&request->retransmit));
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
                              _("Could not send a PCP request to %s: "),
                              self->gateway_string);
  return FALSE;
}

static void
drive (PlPcpClient *self,
       GTask       *task)
{
  Request *request = g_task_get_task_data (task);
  GError *error = NULL;
  guint attempt;

  switch (pl_retransmit_refresh (&request->retransmit, pl_clock_get_time (self->clock)))
    {
    case PL_RETRANSMIT_SEND:
      attempt = pl_retransmit_get_attempts (&request->retransmit);
      if (attempt > 1)
        {
          g_autoptr(GTask) hold_task = g_object_ref (task);

          g_signal_emit (self, signals[SIGNAL_ATTEMPT], 0, attempt, request->planned_attempts);
          if (g_queue_find (&self->in_flight, task) == NULL)
            return;
        }
      if (!send_request (self, request, &error))
        {
          finish_request (self, task, error, NULL);
          return;
        }
      break;

    case PL_RETRANSMIT_WAIT:
      break;

    case PL_RETRANSMIT_TIMEOUT:
      {
        guint total_ms = self->timeout_ms;

        error = pl_error_new_timed_out (self->gateway_string,
                                        pl_retransmit_get_attempts (&request->retransmit),
                                        total_ms);
        finish_request (self, task, error, NULL);
        return;
      }

    default:
      g_assert_not_reached ();
    }

  arm_timer (self, task, request);
}

/* Fills in the packet of @request from what is known about its mapping now. */
/* The journal (PlPcpClient:state). Saving fails only when the file changed under us or
 * cannot be written: the mappings still work, they are just not remembered, said once. */

static void
journal_save (PlPcpClient *self)
{
  g_autoptr(GError) error = NULL;

  if (pl_pcp_state_save (self->journal, &error))
    return;
  if (!self->journal_warned)
    g_message (_("PCP mappings will not be remembered across restarts: %s"), error->message);
  else
    g_debug ("Cannot save the PCP state: %s", error->message);
  self->journal_warned = TRUE;
}

static GSocketFamily
journal_family (PlPcpClient *self)
{
  return self->ipv6 ? G_SOCKET_FAMILY_IPV6 : G_SOCKET_FAMILY_IPV4;
}

/* The interface an IPv6 router is reached on, for the record's Interface key (so that a
 * restarted engine deletes a pinhole over the link it was made on); NULL over IPv4. */
static char *
journal_interface (PlPcpClient *self)
{
  char name[IF_NAMESIZE] = "";

  if (self->scope_id == 0 || journal_family (self) != G_SOCKET_FAMILY_IPV6 ||
      if_indextoname (self->scope_id, name) == NULL)
    return NULL;
  return g_strdup (name);
}

/* A MappingState from the journal for (@protocol, @port), or NULL. */
static MappingState *
journal_restore (PlPcpClient *self,
                 PlProtocol   protocol,
                 guint16      port)
{
  const PlPcpRecord *record;
  MappingState *state;

  if (self->journal == NULL)
    return NULL;
  record = pl_pcp_state_lookup (self->journal, self->gateway, protocol, port,
                                journal_family (self));
  if (record == NULL || record->method != PL_PCP_METHOD_PCP)
    return NULL;

  g_debug ("Using the recorded nonce for %s %u at %s", pl_protocol_to_string (protocol), port,
           self->gateway_string);
  state = g_new0 (MappingState, 1);
  memcpy (state->nonce, record->nonce, sizeof state->nonce);
  state->assigned_port = record->external_port;
  return state;
}

/* @now: saved before this returns (what must be on disk before a request goes out), else
 * with the batch of the request it answers (pl_pcp_state_save_later()). */
static void
journal_put (PlPcpClient        *self,
             PlProtocol          protocol,
             guint16             port,
             const MappingState *state,
             guint32             lifetime,
             gboolean            now)
{
  g_autoptr(PlPcpRecord) record = NULL;

  if (self->journal == NULL)
    return;
  record = pl_pcp_record_new ();
  record->internal_address = pl_pcp_client_get_local_address (self);
  if (record->internal_address == NULL)
    return;
  record->gateway = g_object_ref (self->gateway);
  record->method = PL_PCP_METHOD_PCP;
  record->protocol = protocol;
  record->family = journal_family (self);
  record->interface = journal_interface (self);
  record->internal_port = port;
  record->external_port = state->assigned_port;
  if (state->has_address)
    record->external_address = inet_address_from_pcp (state->assigned_address);
  memcpy (record->nonce, state->nonce, sizeof record->nonce);
  record->expires = g_get_real_time () / G_USEC_PER_SEC + lifetime;
  pl_pcp_state_put (self->journal, record);
  if (now)
    journal_save (self);
  else
    pl_pcp_state_save_later (self->journal);
}

static void
journal_forget (PlPcpClient *self,
                PlProtocol   protocol,
                guint16      port)
{
  if (self->journal != NULL &&
      pl_pcp_state_remove (self->journal, self->gateway, protocol, port, journal_family (self)))
    pl_pcp_state_save_later (self->journal);
}

/* Before a MAP request is queued (journaled): the record of what the router will hold once it
 * answers, put in the journal, to be on disk before the request goes out (the barrier in
 * submit_checked(), one save for every request queued in one main-loop iteration, such as
 * every renewal after a router reboot). It names the nonce the request will carry (the one in
 * use, else the recorded one, else a new one: build_packet() takes it back from here) and an
 * end no earlier than the lifetime asked for, so that a crash after the request went out,
 * even before the answer, leaves a record a restarted engine renews or deletes by that nonce
 * (pl-journal-sweep.c). The answer's port and lifetime are put afterwards and saved with the
 * batch (when the last request in flight is answered, before its answer is returned). A
 * crash before that save leaves this record: the same nonce, so the router still gives the
 * restarted engine the same mapping (and port) or deletes it; only a new mapping's port is
 * not in the file yet. */
static void
journal_prepare (PlPcpClient *self,
                 Request     *request)
{
  gpointer key = mapping_key (request->protocol, request->internal_port);
  const MappingState *state = g_hash_table_lookup (self->mappings, key);
  g_autoptr(PlPcpRecord) record = pl_pcp_record_new ();
  const PlPcpRecord *known;

  record->internal_address = pl_pcp_client_get_local_address (self);
  if (record->internal_address == NULL)
    return;
  record->gateway = g_object_ref (self->gateway);
  record->method = PL_PCP_METHOD_PCP;
  record->protocol = request->protocol;
  record->family = journal_family (self);
  record->interface = journal_interface (self);
  record->internal_port = request->internal_port;
  record->expires = g_get_real_time () / G_USEC_PER_SEC + request->lifetime;

  known = pl_pcp_state_lookup (self->journal, self->gateway, request->protocol,
                               request->internal_port, journal_family (self));
  if (known != NULL && known->method != PL_PCP_METHOD_PCP)
    known = NULL;
  if (state != NULL)
    {
      memcpy (record->nonce, state->nonce, sizeof record->nonce);
      record->external_port = state->assigned_port;
      if (state->has_address)
        record->external_address = inet_address_from_pcp (state->assigned_address);
    }
  else if (known != NULL)
    {
      memcpy (record->nonce, known->nonce, sizeof record->nonce);
      record->external_port = known->external_port;
      if (known->external_address != NULL)
        record->external_address = g_object_ref (known->external_address);
    }
  else
    random_nonce (record->nonce);

  /* A shorter lifetime asked now does not end what the router granted before. */
  if (known != NULL && memcmp (known->nonce, record->nonce, sizeof record->nonce) == 0 &&
      known->expires > record->expires)
    record->expires = known->expires;

  pl_pcp_state_put (self->journal, record);
  pl_pcp_state_save_later (self->journal);
}

static void
build_packet (PlPcpClient *self,
              Request     *request)
{
  if (request->kind == REQUEST_PROBE || request->kind == REQUEST_EXTERNAL_ADDRESS)
    {
      request->packet_len = pl_pcp_build_announce_request (request->packet,
                                                           sizeof request->packet,
                                                           self->client_address);
    }
  else
    {
      gpointer key = mapping_key (request->protocol, request->internal_port);
      MappingState *state = g_hash_table_lookup (self->mappings, key);
      PlPcpMapRequest map = { 0 };
      static const guint8 any_ipv4[4] = { 0, 0, 0, 0 };

      if (state == NULL)
        {
          state = journal_restore (self, request->protocol, request->internal_port);
          if (state == NULL)
            {
              state = g_new0 (MappingState, 1);
              random_nonce (state->nonce);
              /* Saved before it goes out: a crash before the answer must not lose it. The
               * record journal_prepare() put is normally found above; this is the rare
               * request whose record went meanwhile (a delete answered), saved alone. */
              if (request->kind == REQUEST_MAP)
                journal_put (self, request->protocol, request->internal_port, state,
                             request->lifetime, TRUE);
            }
          if (request->kind == REQUEST_MAP)
            g_hash_table_insert (self->mappings, key, state);
        }

      memcpy (request->nonce, state->nonce, sizeof request->nonce);

      map.lifetime = request->kind == REQUEST_UNMAP ? 0 : request->lifetime;
      memcpy (map.client_address, self->client_address, sizeof map.client_address);
      memcpy (map.nonce, request->nonce, sizeof map.nonce);
      map.protocol = pl_pcp_protocol_to_iana (request->protocol);
      map.internal_port = request->internal_port;

      /* A renewal (and a delete) names the mapping it has: same nonce, the assigned port
       * (tests/lab/MINIUPNPD.md, item 5). IPv6 pinholes always get the internal port (item 11). */
      if (state->assigned_port != 0)
        map.suggested_external_port = state->assigned_port;
      else if (request->kind == REQUEST_UNMAP)
        map.suggested_external_port = 0;
      else if (request->suggested_port != 0)
        map.suggested_external_port = request->suggested_port;
      else if (self->ipv6)
        map.suggested_external_port = request->internal_port;

      if (state->has_address && request->kind == REQUEST_MAP)
        memcpy (map.suggested_external_address, state->assigned_address, 16);
      else if (!self->ipv6)
        pl_pcp_address_from_ipv4 (any_ipv4, map.suggested_external_address);

      request->packet_len = pl_pcp_build_map_request (request->packet, sizeof request->packet,
                                                      &map);

      if (g_hash_table_lookup (self->mappings, key) != state)
        g_free (state);
    }

  g_assert (request->packet_len != 0);
}

static gboolean
port_in_flight (PlPcpClient *self,
                guint16      internal_port)
{
  for (GList *l = self->in_flight.head; l != NULL; l = l->next)
    {
      Request *request = g_task_get_task_data (l->data);

      if (request_is_map (request) && request->internal_port == internal_port)
        return TRUE;
    }

  return FALSE;
}

static void
start_request (PlPcpClient *self,
               GTask       *task)
{
  Request *request = g_task_get_task_data (task);

  build_packet (self, request);
  pl_retransmit_init_pcp (&request->retransmit, pl_clock_get_time (self->clock),
                          self->timeout_ms, g_random_int ());
  request->planned_attempts = self->timeout_ms == 0 ? 0
                                                    : pl_retransmit_count_sends (&request->retransmit);

  g_queue_push_tail (&self->in_flight, task);
  drive (self, task);
}

static void
start_next (PlPcpClient *self)
{
  GList *l = self->pending.head;

  while (l != NULL && self->in_flight.length < MAX_IN_FLIGHT && self->socket != NULL)
    {
      GList *next = l->next;
      GTask *task = l->data;
      Request *request = g_task_get_task_data (task);

      if (g_task_return_error_if_cancelled (task))
        {
          g_queue_delete_link (&self->pending, l);
          request_stop (request);
          g_object_unref (task);
        }
      else if (!request_is_map (request) || !port_in_flight (self, request->internal_port))
        {
          g_queue_delete_link (&self->pending, l);
          start_request (self, task);
          /* drive() may have finished requests and changed both queues: start over. */
          next = self->pending.head;
        }

      l = next;
    }
}

static gboolean
request_cancelled_cb (GCancellable *cancellable,
                      gpointer      user_data)
{
  GTask *task = user_data;
  PlPcpClient *self = g_task_get_source_object (task);
  Request *request = g_task_get_task_data (task);
  g_autoptr(PlPcpClient) hold = g_object_ref (self);
  g_autoptr(GTask) hold_task = g_object_ref (task);
  GError *error = NULL;

  /* Destroying the source in its own dispatch is fine; the callback data goes afterwards. */
  g_clear_pointer (&request->cancel_source, g_source_unref);

  g_cancellable_set_error_if_cancelled (cancellable, &error);
  g_assert (error != NULL);

  if (g_queue_find (&self->in_flight, task) != NULL)
    {
      g_debug ("%s to %s cancelled while in flight", request_describe (request),
               self->gateway_string);
      finish_request (self, task, error, NULL);
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

static void submit_checked (PlPcpClient *self,
                            GTask       *task);

static void
journal_synced_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GTask *task = user_data;
  PlPcpClient *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;

  if (!pl_pcp_state_sync_finish (PL_PCP_STATE (source), result, &error))
    {
      /* The mapping still works; it is just not remembered (said once). */
      if (!self->journal_warned)
        g_message (_("PCP mappings will not be remembered across restarts: %s"),
                   error->message);
      else
        g_debug ("Cannot save the PCP state: %s", error->message);
      self->journal_warned = TRUE;
    }
  submit_checked (self, task);
}

/* Takes @task (transfer full) with @request as its data and queues it. */
static void
submit (PlPcpClient *self,
        GTask       *task,
        Request     *request)
{
  g_task_set_task_data (task, request, request_free);
  submit_checked (self, task);
}

/* Takes @task (transfer full) and queues it, or waits for the journal first. */
static void
submit_checked (PlPcpClient *self,
                GTask       *task)
{
  GCancellable *cancellable = g_task_get_cancellable (task);
  Request *request = g_task_get_task_data (task);

  /* request_stop(): a journal hold taken before the barrier ends with the request. */
  if (self->socket == NULL)
    {
      request_stop (request);
      if (self->socket_error != NULL)
        g_task_return_error (task, g_error_copy (self->socket_error));
      else
        g_task_return_error (task, new_closed_error ());
      g_object_unref (task);
      return;
    }

  if (g_cancellable_is_cancelled (cancellable))
    {
      request_stop (request);
      g_task_return_error_if_cancelled (task);
      g_object_unref (task);
      return;
    }

  if (g_queue_get_length (&self->pending) >= MAX_QUEUE)
    {
      request_stop (request);
      g_task_return_new_error (task, PL_ERROR, PL_ERROR_QUEUE_FULL,
                               _("Too many PCP requests are waiting for %s (at most %u)"),
                               self->gateway_string, (guint) MAX_QUEUE);
      g_object_unref (task);
      return;
    }

  /* A journaled MAP waits until its record is on disk (journal_prepare()); a delete waits
   * with it, so that the requests for a port keep their order. The hold makes the answers'
   * changes one save, when the last of them is answered (pl-pcp-state.c, "Batches"). */
  if (self->journal != NULL && request_is_map (request) && request->held == NULL)
    {
      request->held = g_object_ref (self->journal);
      pl_pcp_state_hold (request->held);
      if (request->kind == REQUEST_MAP)
        journal_prepare (self, request);
      pl_pcp_state_sync_async (request->held, journal_synced_cb, task);
      return;
    }

  if (cancellable != NULL)
    {
      request->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_static_name (request->cancel_source, "[portlight] PCP client cancellation");
      g_task_attach_source (task, request->cancel_source, G_SOURCE_FUNC (request_cancelled_cb));
    }

  g_queue_push_tail (&self->pending, task);
  start_next (self);
}

static void
set_external_address (PlPcpClient  *self,
                      const guint8  address[16])
{
  g_autoptr(GInetAddress) inet = NULL;
  g_autofree char *string = NULL;

  if (address_is_zero (address))
    return;

  inet = inet_address_from_pcp (address);
  string = g_inet_address_to_string (inet);
  if (g_strcmp0 (string, self->external_address) == 0)
    return;

  g_free (self->external_address);
  self->external_address = g_steal_pointer (&string);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXTERNAL_ADDRESS]);
}

/* RFC 6887 section 8.5: the epoch of every response and ANNOUNCE tells whether the server
 * lost its state (PlPortMapper::state-lost). An ANNOUNCE whose epoch runs on still asks for
 * a check: miniupnpd restarted with system_uptime=yes announces so, its mappings gone. */
static void
epoch_seen (PlPcpClient *self,
            guint32      epoch,
            gboolean     announced)
{
  pl_port_mapper_epoch_seen (PL_PORT_MAPPER (self), &self->epoch,
                             pl_clock_get_time (self->clock), epoch, announced);
}

/* @task answered by @response (already matched). */
static void
accept_response (PlPcpClient         *self,
                 GTask               *task,
                 const PlPcpResponse *response)
{
  g_autoptr(PlPcpClient) hold = g_object_ref (self);
  g_autoptr(GTask) hold_task = g_object_ref (task);
  Request *request = g_task_get_task_data (task);
  Outcome outcome = { 0 };

  g_debug ("Accepted response from %s to %s: result %u, lifetime %u, epoch %u",
           self->gateway_string, request_describe (request), (guint) response->result,
           (guint) response->lifetime, (guint) response->epoch);

  outcome.epoch = response->epoch;

  switch (request->kind)
    {
    case REQUEST_PROBE:
    case REQUEST_EXTERNAL_ADDRESS:
      if (response->result != PL_PCP_RESULT_SUCCESS)
        {
          finish_request (self, task, pl_pcp_error_new (response->result, self->gateway_string),
                          NULL);
          return;
        }
      if (request->kind == REQUEST_EXTERNAL_ADDRESS)
        {
          if (self->external_address == NULL)
            {
              finish_request (self, task,
                              g_error_new (PL_ERROR, PL_ERROR_UNSUPPORTED_OPCODE,
                                           _("The router at %s speaks PCP, which has no "
                                             "request for the public address: it is known "
                                             "after the first mapping"),
                                           self->gateway_string),
                              NULL);
              return;
            }
          outcome.has_address = TRUE;
        }
      break;

    case REQUEST_MAP:
      if (response->result != PL_PCP_RESULT_SUCCESS)
        {
          finish_request (self, task, pl_pcp_error_new (response->result, self->gateway_string),
                          NULL);
          return;
        }
      else
        {
          gpointer key = mapping_key (request->protocol, request->internal_port);
          MappingState *state = g_hash_table_lookup (self->mappings, key);

          if (state == NULL)
            {
              /* Forgotten meanwhile (an unmap cannot overlap, but set_mapping_state can
               * replace it): keep what the router now holds under this nonce. */
              state = g_new0 (MappingState, 1);
              memcpy (state->nonce, request->nonce, sizeof state->nonce);
              g_hash_table_insert (self->mappings, key, state);
            }
          if (memcmp (state->nonce, request->nonce, sizeof state->nonce) == 0)
            {
              state->assigned_port = response->assigned_external_port;
              if (!address_is_zero (response->assigned_external_address))
                {
                  state->has_address = TRUE;
                  memcpy (state->assigned_address, response->assigned_external_address, 16);
                }
              journal_put (self, request->protocol, request->internal_port, state,
                           response->lifetime, FALSE);
            }

          outcome.external_port = response->assigned_external_port;
          outcome.lifetime = response->lifetime;
          set_external_address (self, response->assigned_external_address);
        }
      break;

    case REQUEST_UNMAP:
      if (response->result != PL_PCP_RESULT_SUCCESS &&
          !pl_pcp_result_means_gone (response->result))
        {
          finish_request (self, task, pl_pcp_error_new (response->result, self->gateway_string),
                          NULL);
          return;
        }
      else
        {
          gpointer key = mapping_key (request->protocol, request->internal_port);
          MappingState *state = g_hash_table_lookup (self->mappings, key);

          if (state != NULL && memcmp (state->nonce, request->nonce, sizeof state->nonce) == 0)
            g_hash_table_remove (self->mappings, key);
          journal_forget (self, request->protocol, request->internal_port);
        }
      break;

    default:
      g_assert_not_reached ();
    }

  if (g_queue_find (&self->in_flight, task) != NULL)
    finish_request (self, task, NULL, &outcome);
}

/* The MAP request in flight that @response answers, or NULL. */
static GTask *
find_map_request (PlPcpClient         *self,
                  const PlPcpResponse *response)
{
  GTask *only = NULL;
  guint n_maps = 0;

  for (GList *l = self->in_flight.head; l != NULL; l = l->next)
    {
      Request *request = g_task_get_task_data (l->data);

      if (!request_is_map (request))
        continue;
      n_maps++;
      only = l->data;

      if (response->has_map_payload &&
          memcmp (response->nonce, request->nonce, PL_PCP_NONCE_SIZE) == 0 &&
          response->protocol == pl_pcp_protocol_to_iana (request->protocol) &&
          response->internal_port == request->internal_port)
        return l->data;
    }

  /* A header-only error response names no mapping: it can only be matched when a single MAP
   * is in flight. */
  if (!response->has_map_payload && response->result != PL_PCP_RESULT_SUCCESS && n_maps == 1)
    return only;

  return NULL;
}

static void
handle_datagram (PlPcpClient  *self,
                 const guint8 *data,
                 gsize         len)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlPcpClient) hold = g_object_ref (self);
  PlPcpResponse response;

  if (self->in_flight.length == 0)
    {
      g_debug ("Ignoring a %" G_GSIZE_FORMAT "-byte datagram from %s: no request in flight",
               len, self->gateway_string);
      return;
    }

  /* Before the 24-byte rule: an 8-byte NAT-PMP "unsupported version" (RFC 6887 section 9;
   * tests/lab/MINIUPNPD.md, item 8). The server speaks no PCP, so every request in flight
   * ends. Its epoch is a NAT-PMP one and is not reported through ::epoch. */
  if (pl_pcp_is_natpmp_downgrade (data, len, NULL))
    {
      g_debug ("%s answered PCP with NAT-PMP's unsupported version", self->gateway_string);
      fail_in_flight (self, new_downgrade_error (self));
      return;
    }

  if (!pl_pcp_parse_response (data, len, &response, &error))
    {
      g_debug ("Ignoring a %" G_GSIZE_FORMAT "-byte datagram from %s: %s",
               len, self->gateway_string, error->message);
      return;
    }

  if (response.opcode == PL_PCP_OP_ANNOUNCE)
    {
      g_autoptr(GPtrArray) tasks = g_ptr_array_new_with_free_func (g_object_unref);

      for (GList *l = self->in_flight.head; l != NULL; l = l->next)
        if (!request_is_map (g_task_get_task_data (l->data)))
          g_ptr_array_add (tasks, g_object_ref (l->data));

      if (tasks->len == 0)
        {
          g_debug ("Ignoring an ANNOUNCE from %s: no ANNOUNCE in flight", self->gateway_string);
          return;
        }

      g_signal_emit (self, signals[SIGNAL_EPOCH], 0, (guint) response.epoch);
      epoch_seen (self, response.epoch, FALSE);

      for (guint i = 0; i < tasks->len; i++)
        {
          GTask *task = g_ptr_array_index (tasks, i);

          if (g_queue_find (&self->in_flight, task) != NULL)
            accept_response (self, task, &response);
        }
      return;
    }

  if (response.opcode == PL_PCP_OP_MAP)
    {
      g_autoptr(GTask) task = find_map_request (self, &response);

      if (task == NULL)
        {
          g_debug ("Ignoring a MAP response from %s (result %u, protocol %u, internal port %u): "
                   "it answers no request in flight", self->gateway_string,
                   (guint) response.result, (guint) response.protocol,
                   (guint) response.internal_port);
          return;
        }

      g_object_ref (task);
      g_signal_emit (self, signals[SIGNAL_EPOCH], 0, (guint) response.epoch);
      epoch_seen (self, response.epoch, FALSE);
      if (g_queue_find (&self->in_flight, task) != NULL)
        accept_response (self, task, &response);
      return;
    }

  g_debug ("Ignoring a response from %s with opcode %u: this client sends MAP and ANNOUNCE only",
           self->gateway_string, (guint) response.opcode);
}

static gboolean
socket_readable_cb (GSocket      *socket,
                    GIOCondition  condition,
                    gpointer      user_data)
{
  PlPcpClient *self = user_data;
  g_autoptr(PlPcpClient) hold = g_object_ref (self);

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

      if (self->in_flight.length == 0)
        {
          g_debug ("Socket error with no request in flight to %s: %s",
                   self->gateway_string, error->message);
          continue;
        }

      /* On a connected UDP socket, ICMP port unreachable becomes ECONNREFUSED: no server, for
       * every request in flight (RFC 6886 section 3.1; tests/lab/MINIUPNPD.md, item 1). */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
        {
          fail_in_flight (self, new_refused_error (self));
        }
      else
        {
          GError *reach_error = NULL;

          g_propagate_prefixed_error (&reach_error, g_steal_pointer (&error),
                                      _("Could not reach %s: "), self->gateway_string);
          fail_in_flight (self, reach_error);
        }
    }

  return G_SOURCE_CONTINUE;
}

static gboolean
setup_socket (PlPcpClient  *self,
              GError      **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) any = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GSocketAddress) remote = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  GSocketFamily family;
  GInetAddress *local_inet;

  if (self->gateway == NULL)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("PCP needs the gateway's address"));
      return FALSE;
    }

  family = g_inet_address_get_family (self->gateway);
  if (self->bind_address != NULL && g_inet_address_get_family (self->bind_address) != family)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("The local address to bind and the gateway %s are of different IP "
                     "versions"), self->gateway_string);
      return FALSE;
    }

  socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return FALSE;

  g_socket_set_blocking (socket, FALSE);

  /* For an IPv6 pinhole the socket is bound to the exact address to be opened; otherwise the
   * kernel picks a link-local source for a link-local gateway (RFC 6724;
   * tests/lab/MINIUPNPD.md, item 11). */
  if (self->bind_address != NULL)
    local = g_inet_socket_address_new (self->bind_address, 0);
  else
    {
      any = g_inet_address_new_any (family);
      local = g_inet_socket_address_new (any, 0);
    }
  if (!g_socket_bind (socket, local, FALSE, error))
    return FALSE;

  /* Connecting makes the kernel drop datagrams from any other address or port and report ICMP
   * port unreachable as ECONNREFUSED. */
  remote = g_object_new (G_TYPE_INET_SOCKET_ADDRESS,
                         "address", self->gateway,
                         "port", self->port,
                         "scope-id", self->scope_id,
                         NULL);
  if (!g_socket_connect (socket, remote, NULL, error))
    return FALSE;

  /* The client-IP field must be the source the server sees. */
  bound = g_socket_get_local_address (socket, error);
  if (bound == NULL)
    return FALSE;

  local_inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (bound));
  if (g_inet_address_get_family (local_inet) == G_SOCKET_FAMILY_IPV4)
    {
      pl_pcp_address_from_ipv4 (g_inet_address_to_bytes (local_inet), self->client_address);
      self->ipv6 = FALSE;
    }
  else
    {
      memcpy (self->client_address, g_inet_address_to_bytes (local_inet), 16);
      self->ipv6 = TRUE;
    }

  self->socket = g_steal_pointer (&socket);
  self->recv_source = g_socket_create_source (self->socket, G_IO_IN, NULL);
  g_source_set_static_name (self->recv_source, "[portlight] PCP client socket");
  g_source_set_callback (self->recv_source, G_SOURCE_FUNC (socket_readable_cb), self, NULL);
  g_source_attach (self->recv_source, self->context);

  return TRUE;
}

static void
pl_pcp_client_constructed (GObject *object)
{
  PlPcpClient *self = PL_PCP_CLIENT (object);
  g_autoptr(GError) error = NULL;

  G_OBJECT_CLASS (pl_pcp_client_parent_class)->constructed (object);

  if (self->clock == NULL)
    self->clock = pl_clock_get_default ();

  self->context = g_main_context_ref_thread_default ();
  self->gateway_string = self->gateway != NULL ? g_inet_address_to_string (self->gateway)
                                               : g_strdup ("(no gateway)");

  if (!setup_socket (self, &error))
    {
      g_debug ("PCP client for %s unusable: %s", self->gateway_string, error->message);
      self->socket_error = g_steal_pointer (&error);
    }
}

static void
pl_pcp_client_dispose (GObject *object)
{
  PlPcpClient *self = PL_PCP_CLIENT (object);
  GTask *task;

  pl_clear_source (&self->recv_source);
  if (self->socket != NULL)
    {
      g_socket_close (self->socket, NULL);
      g_clear_object (&self->socket);
    }

  /* The socket is gone first, so that callbacks which queue new requests get an error. */
  while ((task = g_queue_pop_head (&self->in_flight)) != NULL)
    {
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

  G_OBJECT_CLASS (pl_pcp_client_parent_class)->dispose (object);
}

static void
pl_pcp_client_finalize (GObject *object)
{
  PlPcpClient *self = PL_PCP_CLIENT (object);

  g_clear_object (&self->gateway);
  g_clear_object (&self->clock);
  g_clear_object (&self->journal);
  g_clear_object (&self->bind_address);
  g_clear_pointer (&self->gateway_string, g_free);
  g_clear_pointer (&self->external_address, g_free);
  g_clear_pointer (&self->mappings, g_hash_table_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_error (&self->socket_error);

  G_OBJECT_CLASS (pl_pcp_client_parent_class)->finalize (object);
}

static void
pl_pcp_client_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  PlPcpClient *self = PL_PCP_CLIENT (object);

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
    case PROP_BIND_ADDRESS:
      g_value_set_object (value, self->bind_address);
      break;
    case PROP_SCOPE_ID:
      g_value_set_uint (value, self->scope_id);
      break;
    case PROP_TIMEOUT:
      g_value_set_uint (value, self->timeout_ms);
      break;
    case PROP_EXTERNAL_ADDRESS:
      g_value_set_string (value, self->external_address);
      break;
    case PROP_STATE:
      g_value_set_object (value, self->journal);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pl_pcp_client_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  PlPcpClient *self = PL_PCP_CLIENT (object);

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
    case PROP_BIND_ADDRESS:
      self->bind_address = g_value_dup_object (value);
      break;
    case PROP_SCOPE_ID:
      self->scope_id = g_value_get_uint (value);
      break;
    case PROP_TIMEOUT:
      if (self->timeout_ms != g_value_get_uint (value))
        {
          self->timeout_ms = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_STATE:
      g_set_object (&self->journal, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pl_pcp_client_class_init (PlPcpClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = pl_pcp_client_constructed;
  object_class->dispose = pl_pcp_client_dispose;
  object_class->finalize = pl_pcp_client_finalize;
  object_class->get_property = pl_pcp_client_get_property;
  object_class->set_property = pl_pcp_client_set_property;

  /**
   * PlPcpClient:gateway:
   *
   * The PCP server: the router's LAN address (IPv4), or its link-local IPv6 address with
   * [property@Pl.PcpClient:scope-id].
   */
  properties[PROP_GATEWAY] =
    g_param_spec_object ("gateway", NULL, NULL,
                         G_TYPE_INET_ADDRESS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlPcpClient:port:
   *
   * The server's port, 5351 unless a test says otherwise.
   */
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL,
                       1, G_MAXUINT16, PL_PCP_SERVER_PORT,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                       G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlPcpClient:clock:
   *
   * The clock that times retransmissions; %NULL at construction means the real clock.
   */
  properties[PROP_CLOCK] =
    g_param_spec_object ("clock", NULL, NULL,
                         PL_TYPE_CLOCK,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlPcpClient:bind-address:
   *
   * The local address the socket is bound to, %NULL for any. For an IPv6 pinhole this is
   * the global (or ULA) address to be opened: it is also the mapping's internal address.
   */
  properties[PROP_BIND_ADDRESS] =
    g_param_spec_object ("bind-address", NULL, NULL,
                         G_TYPE_INET_ADDRESS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlPcpClient:scope-id:
   *
   * The interface index for a link-local IPv6 gateway, 0 otherwise.
   */
  properties[PROP_SCOPE_ID] =
    g_param_spec_uint ("scope-id", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                       G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlPcpClient:timeout:
   *
   * The bound of one request from its first send, in milliseconds; 0 means none: PCP then
   * retransmits for ever (RFC 6887 section 8.1.1), until an answer or cancellation. A
   * change applies to requests that start afterwards.
   */
  properties[PROP_TIMEOUT] =
    g_param_spec_uint ("timeout", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT |
                       G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlPcpClient:external-address:
   *
   * The public address of the last successful MAP, or %NULL before the first one.
   */
  properties[PROP_EXTERNAL_ADDRESS] =
    g_param_spec_string ("external-address", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlPcpClient:state:
   *
   * Where each mapping's nonce is kept across restarts of this program (a loaded
   * [class@Pl.PcpState]), or %NULL to keep them in memory only. With it, a MAP for a port
   * recorded there reuses the recorded nonce and port, so that a program killed and started
   * again renews (and can delete) its own mappings; a fresh nonce is saved before its
   * request goes out, grants update the record and deletes remove it. Set it before the
   * first request.
   */
  properties[PROP_STATE] =
    g_param_spec_object ("state", NULL, NULL,
                         PL_TYPE_PCP_STATE,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PlPcpClient::attempt:
   * @self: the client
   * @attempt: the number of the send about to happen, 2 or more
   * @max_attempts: the sends that fit in [property@Pl.PcpClient:timeout], 0 for no limit
   *
   * Emitted before each retransmission of a request in flight.
   */
  signals[SIGNAL_ATTEMPT] =
    g_signal_new ("attempt",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_UINT);

  /**
   * PlPcpClient::epoch:
   * @self: the client
   * @epoch: the server's epoch time in seconds
   *
   * Emitted for every accepted PCP response, errors included, before its request completes.
   */
  signals[SIGNAL_EPOCH] =
    g_signal_new ("epoch",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_UINT);
}

static void
pl_pcp_client_init (PlPcpClient *self)
{
  self->port = PL_PCP_SERVER_PORT;
  g_queue_init (&self->pending);
  g_queue_init (&self->in_flight);
  self->mappings = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  pl_epoch_tracker_init (&self->epoch, PL_EPOCH_RULE_PCP);
}

/**
 * pl_pcp_client_new:
 * @gateway: the PCP server's address
 * @clock: (nullable): the clock for retransmissions, %NULL for the real one
 *
 * Creates a client for the gateway's port 5351, bound to the thread-default main context.
 * If the socket cannot be set up, every request fails with the reason.
 *
 * Returns: (transfer full): a new client
 */
PlPcpClient *
pl_pcp_client_new (GInetAddress *gateway,
                   PlClock      *clock)
{
  g_return_val_if_fail (G_IS_INET_ADDRESS (gateway), NULL);
  g_return_val_if_fail (clock == NULL || PL_IS_CLOCK (clock), NULL);

  return g_object_new (PL_TYPE_PCP_CLIENT,
                       "gateway", gateway,
                       "clock", clock,
                       NULL);
}

/**
 * pl_pcp_client_get_gateway:
 * @self: a client
 *
 * Returns: (transfer none): the gateway's address
 */
GInetAddress *
pl_pcp_client_get_gateway (PlPcpClient *self)
{
  g_return_val_if_fail (PL_IS_PCP_CLIENT (self), NULL);

  return self->gateway;
}

/**
 * pl_pcp_client_get_external_address:
 * @self: a client
 *
 * Returns: (nullable): [property@Pl.PcpClient:external-address]
 */
const char *
pl_pcp_client_get_external_address (PlPcpClient *self)
{
  g_return_val_if_fail (PL_IS_PCP_CLIENT (self), NULL);

  return self->external_address;
}

/**
 * pl_pcp_client_get_local_address:
 * @self: a #PlPcpClient
 *
 * The address this client sends from, which is the internal address of its mappings (the
 * client-IP field of every request).
 *
 * Returns: (transfer full) (nullable): the address, or %NULL when the socket could not be set up
 */
GInetAddress *
pl_pcp_client_get_local_address (PlPcpClient *self)
{
  g_return_val_if_fail (PL_IS_PCP_CLIENT (self), NULL);

  if (address_is_zero (self->client_address))
    return NULL;
  return inet_address_from_pcp (self->client_address);
}

static gboolean
protocol_is_valid (PlProtocol protocol)
{
  return protocol == PL_PROTOCOL_UDP || protocol == PL_PROTOCOL_TCP;
}

static gboolean
propagate_outcome (PlPcpClient   *self,
                   GAsyncResult  *result,
                   gpointer       source_tag,
                   Outcome       *out,
                   GError       **error)
{
  g_autofree Outcome *outcome = NULL;

  g_return_val_if_fail (PL_IS_PCP_CLIENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  outcome = g_task_propagate_pointer (G_TASK (result), error);
  if (outcome == NULL)
    return FALSE;

  *out = *outcome;
  return TRUE;
}

static void
submit_announce (PlPcpClient         *self,
                 RequestKind          kind,
                 gpointer             source_tag,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Request *request;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);

  request = g_new0 (Request, 1);
  request->kind = kind;

  submit (self, g_steal_pointer (&task), request);
}

/**
 * pl_pcp_client_probe_async:
 * @self: a client
 * @cancellable: (nullable): a cancellable
 * @callback: called when the gateway answered, or the request failed
 * @user_data: data for @callback
 *
 * Sends a solicited ANNOUNCE (RFC 6887 section 14.1) to learn whether a PCP server is there.
 */
void
pl_pcp_client_probe_async (PlPcpClient         *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_return_if_fail (PL_IS_PCP_CLIENT (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  submit_announce (self, REQUEST_PROBE, pl_pcp_client_probe_async, cancellable, callback,
                   user_data);
}

/**
 * pl_pcp_client_probe_finish:
 * @self: a client
 * @result: the result given to the callback
 * @epoch: (out) (optional): the server's epoch time
 * @error: return location for an error
 *
 * Errors: %PL_ERROR_UNSUPPORTED_VERSION (the router speaks NAT-PMP only), %PL_ERROR_REFUSED
 * (nothing listens), %PL_ERROR_TIMED_OUT (with [property@Pl.PcpClient:timeout]), a PCP
 * result (pl_pcp_error_new()), or `G_IO_ERROR` (%G_IO_ERROR_CANCELLED, %G_IO_ERROR_CLOSED).
 *
 * Returns: %TRUE when a PCP server answered
 */
gboolean
pl_pcp_client_probe_finish (PlPcpClient   *self,
                            GAsyncResult  *result,
                            guint32       *epoch,
                            GError       **error)
{
  Outcome outcome;

  if (!propagate_outcome (self, result, pl_pcp_client_probe_async, &outcome, error))
    return FALSE;

  if (epoch != NULL)
    *epoch = outcome.epoch;

  return TRUE;
}

/**
 * pl_pcp_client_get_external_address_async:
 * @self: a client
 * @cancellable: (nullable): a cancellable
 * @callback: called when the gateway answered, or the request failed
 * @user_data: data for @callback
 *
 * PCP has no request for the public address. This sends an ANNOUNCE (so the server is known
 * to be there and its epoch is fresh) and then reports the address of the last mapping.
 */
void
pl_pcp_client_get_external_address_async (PlPcpClient         *self,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  g_return_if_fail (PL_IS_PCP_CLIENT (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  submit_announce (self, REQUEST_EXTERNAL_ADDRESS, pl_pcp_client_get_external_address_async,
                   cancellable, callback, user_data);
}

/**
 * pl_pcp_client_get_external_address_finish:
 * @self: a client
 * @result: the result given to the callback
 * @epoch: (out) (optional): the server's epoch time
 * @error: return location for an error
 *
 * Errors as for [method@Pl.PcpClient.probe_finish], and %PL_ERROR_UNSUPPORTED_OPCODE before
 * the first successful mapping.
 *
 * Returns: (transfer full) (nullable): the public address, or %NULL with @error set
 */
GInetAddress *
pl_pcp_client_get_external_address_finish (PlPcpClient   *self,
                                           GAsyncResult  *result,
                                           guint32       *epoch,
                                           GError       **error)
{
  Outcome outcome;

  if (!propagate_outcome (self, result, pl_pcp_client_get_external_address_async, &outcome,
                          error))
    return NULL;

  if (epoch != NULL)
    *epoch = outcome.epoch;

  /* The address is read at completion, after the ANNOUNCE. */
  if (self->external_address == NULL)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED_OPCODE,
                   _("The router at %s speaks PCP, which has no request for the public "
                     "address: it is known after the first mapping"),
                   self->gateway_string);
      return NULL;
    }

  return g_inet_address_new_from_string (self->external_address);
}

static void
submit_map (PlPcpClient         *self,
            RequestKind          kind,
            gpointer             source_tag,
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

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);

  request = g_new0 (Request, 1);
  request->kind = kind;
  request->protocol = protocol;
  request->internal_port = internal_port;
  request->suggested_port = suggested_external_port;
  request->lifetime = lifetime;

  submit (self, g_steal_pointer (&task), request);
}

/**
 * pl_pcp_client_map_async:
 * @self: a client
 * @protocol: UDP or TCP
 * @internal_port: the local port, not 0
 * @suggested_external_port: the wanted public port, 0 to let the gateway choose
 * @lifetime: the requested lifetime in seconds, more than 0
 * @cancellable: (nullable): a cancellable
 * @callback: called when the gateway answered, or the request failed
 * @user_data: data for @callback
 *
 * Creates or renews a mapping. A mapping this client already holds (or was given with
 * [method@Pl.PcpClient.set_mapping_state]) is renewed with its nonce, suggesting its
 * assigned port rather than @suggested_external_port: another port would make a second
 * mapping on miniupnpd. The gateway may grant another port and a clamped lifetime: use what
 * [method@Pl.PcpClient.map_finish] reports.
 */
void
pl_pcp_client_map_async (PlPcpClient         *self,
                         PlProtocol           protocol,
                         guint16              internal_port,
                         guint16              suggested_external_port,
                         guint32              lifetime,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (PL_IS_PCP_CLIENT (self));
  g_return_if_fail (protocol_is_valid (protocol));
  g_return_if_fail (internal_port != 0);
  g_return_if_fail (lifetime > 0);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  submit_map (self, REQUEST_MAP, pl_pcp_client_map_async, protocol, internal_port,
              suggested_external_port, lifetime, cancellable, callback, user_data);
}

/**
 * pl_pcp_client_map_finish:
 * @self: a client
 * @result: the result given to the callback
 * @external_port: (out) (optional): the public port the gateway assigned
 * @lifetime: (out) (optional): the lifetime the gateway granted, in seconds
 * @epoch: (out) (optional): the server's epoch time
 * @error: return location for an error
 *
 * Errors as for [method@Pl.PcpClient.probe_finish], and %PL_ERROR_QUEUE_FULL. On error the
 * out arguments are left alone.
 *
 * Returns: %TRUE when the mapping exists
 */
gboolean
pl_pcp_client_map_finish (PlPcpClient   *self,
                          GAsyncResult  *result,
                          guint16       *external_port,
                          guint32       *lifetime,
                          guint32       *epoch,
                          GError       **error)
{
  Outcome outcome;

  if (!propagate_outcome (self, result, pl_pcp_client_map_async, &outcome, error))
    return FALSE;

  if (external_port != NULL)
    *external_port = outcome.external_port;
  if (lifetime != NULL)
    *lifetime = outcome.lifetime;
  if (epoch != NULL)
    *epoch = outcome.epoch;

  return TRUE;
}

/* miniupnpd before 2.3.6 loses a pinhole's nonce when it renews it, and from then on answers
 * every delete with NOT_AUTHORIZED (tests/lab/MINIUPNPD.md, item 12). Such a pinhole can only
 * lapse: it is renewed with lifetime 1, which the server raises to its minimum (120 s by
 * default), and then forgotten here. */
static void
unmap_lapse_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  PlPcpClient *self = PL_PCP_CLIENT (source);
  g_autoptr(GTask) task = user_data;
  gpointer key = g_task_get_task_data (task);
  g_autofree Outcome *outcome = NULL;
  GError *error = NULL;

  outcome = g_task_propagate_pointer (G_TASK (result), &error);
  if (outcome == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  g_debug ("Pinhole %s %u at %s lapses within %u s", pl_protocol_to_string (key_protocol (key)),
           key_port (key), self->gateway_string, outcome->lifetime);
  g_hash_table_remove (self->mappings, key);
  journal_forget (self, key_protocol (key), key_port (key));
  outcome->lifetime = 0;
  g_task_return_pointer (task, g_steal_pointer (&outcome), g_free);
}

/* Whether this client (or a process before it, by the journal) opened the mapping. */
static gboolean
unmap_is_ours (PlPcpClient *self,
               gpointer     key)
{
  g_autofree MappingState *recorded = NULL;

  if (g_hash_table_lookup (self->mappings, key) != NULL)
    return TRUE;
  recorded = journal_restore (self, key_protocol (key), key_port (key));
  return recorded != NULL;
}

static void
unmap_delete_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  PlPcpClient *self = PL_PCP_CLIENT (source);
  g_autoptr(GTask) task = user_data;
  gpointer key = g_task_get_task_data (task);
  Outcome *outcome;
  GError *error = NULL;

  outcome = g_task_propagate_pointer (G_TASK (result), &error);
  if (outcome != NULL)
    {
      g_task_return_pointer (task, outcome, g_free);
      return;
    }

  if (self->ipv6 && g_error_matches (error, PL_ERROR, PL_ERROR_NOT_AUTHORIZED) &&
      self->socket != NULL && unmap_is_ours (self, key))
    {
      g_debug ("%s refused to delete pinhole %s %u (a renewed pinhole on miniupnpd < 2.3.6): "
               "letting it lapse", self->gateway_string, pl_protocol_to_string (key_protocol (key)),
               key_port (key));
      g_clear_error (&error);
      submit_map (self, REQUEST_MAP, unmap_lapse_cb, key_protocol (key), key_port (key),
                  key_port (key), 1, g_task_get_cancellable (task), unmap_lapse_cb,
                  g_steal_pointer (&task));
      return;
    }

  g_task_return_error (task, error);
}

/**
 * pl_pcp_client_unmap_async:
 * @self: a client
 * @protocol: UDP or TCP
 * @internal_port: the local port of the mapping, not 0
 * @cancellable: (nullable): a cancellable
 * @callback: called when the gateway answered, or the request failed
 * @user_data: data for @callback
 *
 * Deletes a mapping: MAP with lifetime 0 and the mapping's nonce (a fresh one when the
 * client knows none, in which case the router's answer, often NOT_AUTHORIZED, is reported).
 * NO_RESOURCES, miniupnpd's "no such mapping", counts as success. On success the nonce is
 * forgotten. An IPv6 pinhole this client holds that the server will not delete
 * (NOT_AUTHORIZED: miniupnpd before 2.3.6 loses the nonce of a renewed pinhole) is renewed
 * with lifetime 1 instead, so that it lapses at the server's minimum lifetime; that counts
 * as success too.
 */
void
pl_pcp_client_unmap_async (PlPcpClient         *self,
                           PlProtocol           protocol,
                           guint16              internal_port,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (PL_IS_PCP_CLIENT (self));
  g_return_if_fail (protocol_is_valid (protocol));
  g_return_if_fail (internal_port != 0);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pl_pcp_client_unmap_async);
  g_task_set_task_data (task, GUINT_TO_POINTER (mapping_key (protocol, internal_port)), NULL);
  submit_map (self, REQUEST_UNMAP, unmap_delete_cb, protocol, internal_port, 0, 0,
              cancellable, unmap_delete_cb, task);
}

/**
 * pl_pcp_client_unmap_finish:
 * @self: a client
 * @result: the result given to the callback
 * @epoch: (out) (optional): the server's epoch time
 * @error: return location for an error
 *
 * Returns: %TRUE when the mapping is gone
 */
gboolean
pl_pcp_client_unmap_finish (PlPcpClient   *self,
                            GAsyncResult  *result,
                            guint32       *epoch,
                            GError       **error)
{
  Outcome outcome;

  if (!propagate_outcome (self, result, pl_pcp_client_unmap_async, &outcome, error))
    return FALSE;

  if (epoch != NULL)
    *epoch = outcome.epoch;

  return TRUE;
}

/**
 * pl_pcp_client_set_mapping_state:
 * @self: a client
 * @protocol: UDP or TCP
 * @internal_port: the local port, not 0
 * @nonce: the mapping's 12-byte nonce
 * @assigned_external_port: the port the router assigned, 0 if not known
 *
 * Restores what a previous run persisted, so the next map or unmap of this mapping speaks
 * with its nonce. Applies to requests that start afterwards.
 */
void
pl_pcp_client_set_mapping_state (PlPcpClient  *self,
                                 PlProtocol    protocol,
                                 guint16       internal_port,
                                 const guint8  nonce[12],
                                 guint16       assigned_external_port)
{
  MappingState *state;

  g_return_if_fail (PL_IS_PCP_CLIENT (self));
  g_return_if_fail (protocol_is_valid (protocol));
  g_return_if_fail (internal_port != 0);
  g_return_if_fail (nonce != NULL);

  state = g_new0 (MappingState, 1);
  memcpy (state->nonce, nonce, PL_PCP_NONCE_SIZE);
  state->assigned_port = assigned_external_port;
  g_hash_table_replace (self->mappings, mapping_key (protocol, internal_port), state);
}

/**
 * pl_pcp_client_get_mapping_state:
 * @self: a client
 * @protocol: UDP or TCP
 * @internal_port: the local port
 * @nonce_out: (out caller-allocates) (optional): 12 bytes for the nonce
 * @assigned_external_port: (out) (optional): the assigned port, 0 if not known yet
 *
 * Returns: %TRUE when the client holds a nonce for this mapping
 */
gboolean
pl_pcp_client_get_mapping_state (PlPcpClient *self,
                                 PlProtocol   protocol,
                                 guint16      internal_port,
                                 guint8       nonce_out[12],
                                 guint16     *assigned_external_port)
{
  MappingState *state;

  g_return_val_if_fail (PL_IS_PCP_CLIENT (self), FALSE);

  state = g_hash_table_lookup (self->mappings, mapping_key (protocol, internal_port));
  if (state == NULL)
    return FALSE;

  if (nonce_out != NULL)
    memcpy (nonce_out, state->nonce, PL_PCP_NONCE_SIZE);
  if (assigned_external_port != NULL)
    *assigned_external_port = state->assigned_port;

  return TRUE;
}

/* PlPortMapper */

static const char *
pl_pcp_client_mapper_get_protocol_name (PlPortMapper *mapper)
{
  return "PCP";
}

static GInetAddress *
pl_pcp_client_mapper_get_gateway (PlPortMapper *mapper)
{
  return pl_pcp_client_get_gateway (PL_PCP_CLIENT (mapper));
}

static void
pl_pcp_client_mapper_get_external_address_async (PlPortMapper        *mapper,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data)
{
  pl_pcp_client_get_external_address_async (PL_PCP_CLIENT (mapper), cancellable, callback,
                                            user_data);
}

static GInetAddress *
pl_pcp_client_mapper_get_external_address_finish (PlPortMapper  *mapper,
                                                  GAsyncResult  *result,
                                                  guint32       *epoch,
                                                  GError       **error)
{
  return pl_pcp_client_get_external_address_finish (PL_PCP_CLIENT (mapper), result, epoch,
                                                    error);
}

static void
pl_pcp_client_mapper_map_async (PlPortMapper        *mapper,
                                PlProtocol           protocol,
                                guint16              internal_port,
                                guint16              suggested_external_port,
                                guint32              lifetime,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  pl_pcp_client_map_async (PL_PCP_CLIENT (mapper), protocol, internal_port,
                           suggested_external_port, lifetime, cancellable, callback, user_data);
}

static gboolean
pl_pcp_client_mapper_map_finish (PlPortMapper  *mapper,
                                 GAsyncResult  *result,
                                 guint16       *external_port,
                                 guint32       *lifetime,
                                 guint32       *epoch,
                                 GError       **error)
{
  return pl_pcp_client_map_finish (PL_PCP_CLIENT (mapper), result, external_port, lifetime,
                                   epoch, error);
}

static void
pl_pcp_client_mapper_unmap_async (PlPortMapper        *mapper,
                                  PlProtocol           protocol,
                                  guint16              internal_port,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  pl_pcp_client_unmap_async (PL_PCP_CLIENT (mapper), protocol, internal_port, cancellable,
                             callback, user_data);
}

static gboolean
pl_pcp_client_mapper_unmap_finish (PlPortMapper  *mapper,
                                   GAsyncResult  *result,
                                   guint32       *epoch,
                                   GError       **error)
{
  return pl_pcp_client_unmap_finish (PL_PCP_CLIENT (mapper), result, epoch, error);
}

static void
pl_pcp_client_mapper_handle_announcement (PlPortMapper         *mapper,
                                          const PlAnnouncement *announcement)
{
  PlPcpClient *self = PL_PCP_CLIENT (mapper);
  g_autoptr(PlPcpClient) hold = g_object_ref (self);

  /* A NAT-PMP announcement from a gateway that speaks both (miniupnpd sends it before its
   * PCP ANNOUNCE when the public address changes) shares the epoch's clock. */
  epoch_seen (self, announcement->epoch, TRUE);
}

static void
pl_pcp_client_mapper_set_journal (PlPortMapper *mapper,
                                  PlPcpState   *journal)
{
  g_object_set (mapper, "state", journal, NULL);
}

static PlMapperCapabilities
pl_pcp_client_mapper_get_capabilities (PlPortMapper *mapper)
{
  return PL_MAPPER_CAPABILITY_IPV6 | PL_MAPPER_CAPABILITY_TOKEN;
}

static void
pl_pcp_client_mapper_probe_async (PlPortMapper        *mapper,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  pl_pcp_client_probe_async (PL_PCP_CLIENT (mapper), cancellable, callback, user_data);
}

static gboolean
pl_pcp_client_mapper_probe_finish (PlPortMapper  *mapper,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  return pl_pcp_client_probe_finish (PL_PCP_CLIENT (mapper), result, NULL, error);
}

static guint64
pl_pcp_client_mapper_get_renew_delay_ms (PlPortMapper *mapper,
                                         guint32       lifetime)
{
  guint64 delay = pl_pcp_renew_delay_ms (lifetime, 1, g_random_double ());

  /* Too short a lifetime for the RFC's windows: half of it, as NAT-PMP does. */
  return delay != G_MAXUINT64 ? delay : (guint64) lifetime * 1000 / 2;
}

static void
pl_pcp_client_port_mapper_iface_init (PlPortMapperInterface *iface)
{
  iface->get_renew_delay_ms = pl_pcp_client_mapper_get_renew_delay_ms;
  iface->set_journal = pl_pcp_client_mapper_set_journal;
  iface->get_capabilities = pl_pcp_client_mapper_get_capabilities;
  iface->probe_async = pl_pcp_client_mapper_probe_async;
  iface->probe_finish = pl_pcp_client_mapper_probe_finish;
  iface->handle_announcement = pl_pcp_client_mapper_handle_announcement;
  iface->get_protocol_name = pl_pcp_client_mapper_get_protocol_name;
  iface->get_gateway = pl_pcp_client_mapper_get_gateway;
  iface->get_external_address_async = pl_pcp_client_mapper_get_external_address_async;
  iface->get_external_address_finish = pl_pcp_client_mapper_get_external_address_finish;
  iface->map_async = pl_pcp_client_mapper_map_async;
  iface->map_finish = pl_pcp_client_mapper_map_finish;
  iface->unmap_async = pl_pcp_client_mapper_unmap_async;
  iface->unmap_finish = pl_pcp_client_mapper_unmap_finish;
}
