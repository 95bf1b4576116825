/* pl-session.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "pl-client.h"
#include "pl-error.h"
#include "pl-mapper-probe.h"
#include "pl-mapping-private.h"
#include "pl-natpmp.h"
#include "pl-profile.h"
#include "pl-session.h"

/**
 * PlSession:
 *
 * The session engine: keeps every enabled [class@Pl.Profile] of a list model (normally a
 * [class@Pl.ProfileStore]) mapped on the default gateway, one [class@Pl.Mapping] per
 * profile and protocol, and tells the user interface about every change by signal, so that
 * it never polls.
 *
 * - Requests go out one at a time through a [iface@Pl.PortMapper] (a [class@Pl.Client]
 *   for NAT-PMP); the session keeps at most one request per mapping queued, so that nothing
 *   floods the gateway.
 * - A granted mapping is renewed at half the *granted* lifetime, suggesting the public port
 *   the gateway gave (RFC 6886 section 3.3). A renewal that goes unanswered is retried until
 *   the mapping expires; then it counts as lost and is created again from scratch.
 * - Failures are retried for ever with back-off: 30 s doubling to 15 min for transient
 *   errors and timeouts, 30 min doubling to 2 h when the gateway refuses (not authorized,
 *   unsupported).
 * - Router resets are detected from the epoch of every packet from the gateway (RFC 6886
 *   section 3.6) and from announcements on 224.0.0.1:5350 (NAT-PMP, and the PCP ANNOUNCE
 *   miniupnpd sends when it starts). Every enabled mapping is then created again at once,
 *   and [signal@Pl.Session::router-reset] is emitted; such rounds happen at most once per
 *   10 s per gateway.
 * - On network changes (and after a resume) the gateway is discovered again; a new gateway
 *   means starting over on it.
 * - [method@Pl.Session.stop_async] deletes the mappings within a bounded time, unless
 *   [property@Pl.Session:keep-mappings-on-exit] is set.
 *
 * Profile changes (items-changed of the model, or notify of a profile) are applied
 * together from an idle: disabling, removing or changing the ports of a profile deletes its
 * mappings on the gateway.
 *
 * Threading: a session belongs to the thread-default GMainContext it was created on; call
 * it only from that context's thread. All timing goes through its [class@Pl.Clock].
 */

#define RETRY_SHORT_MIN_MS        (30 * 1000)
#define RETRY_SHORT_MAX_MS        (15 * 60 * 1000)
#define RETRY_LONG_MIN_MS         (30 * 60 * 1000)
#define RETRY_LONG_MAX_MS         (2 * 60 * 60 * 1000)
#define RESET_ROUND_INTERVAL_US   (10 * G_USEC_PER_SEC)
#define RESYNC_INTERVAL_US        (10 * G_USEC_PER_SEC)
#define NETWORK_DEBOUNCE_MS       1000
#define MIN_RENEW_DELAY_MS        500
/* The public-address query is informational: a silent gateway must not hold the mappings'
 * renewals behind it for the RFC's whole 127.75 s, so it gets this long and retries later. */
#define ADDRESS_QUERY_TIMEOUT_MS  (8 * 1000)

typedef struct _Entry Entry;
typedef struct _Op Op;

typedef enum
{
  OP_ADDRESS,
  OP_MAP,
  OP_UNMAP,
} OpKind;

struct _Op
{
  PlSession    *session;        /* not owned; NULL once detached (cancelled by us) */
  OpKind        kind;
  Entry        *entry;          /* OP_MAP */
  GSocketFamily family;         /* OP_UNMAP */
  PlProtocol    protocol;       /* OP_UNMAP */
  guint16       internal_port;  /* OP_UNMAP */
  GCancellable *cancellable;
  GSource      *deadline;       /* stopping: the op's share of the time left; address: its bound */
};

struct _Entry
{
  PlSession  *session;          /* not owned */
  PlMapping  *mapping;
  char       *profile_name;
  PlProtocol  protocol;
  GSocketFamily family;         /* IPv4 mapping, or IPv6 pinhole */
  guint16     internal_port;
  guint16     requested_port;   /* 0 = the internal port */
  guint32     lifetime;         /* requested */
  guint       enabled : 1;
  guint       wanted : 1;       /* to be asked for as soon as there is a mapper */
  guint       seen : 1;         /* reconcile mark */
  Op         *op;               /* our map request with the mapper, or NULL */
  guint16     last_port;        /* last port granted (suggested again); 0 = none */
  gint64      expires;          /* clock time the granted mapping runs out; 0 = none */
  GSource    *timer;            /* renewal or retry */
  GSource    *expiry;
  guint       failures;
  GError     *config_error;     /* the profile is invalid */
};

struct _PlSession
{
  GObject                 parent_instance;

  GMainContext           *context;
  GListModel             *profiles;
  PlClock                *clock;
  GInetAddress           *fixed_gateway;
  guint16                 announce_port;
  guint                   keep_mappings : 1;
  guint                   monitor_network : 1;
  guint                   running : 1;
  guint                   started : 1;
  guint                   stopping : 1;
  guint                   double_nat : 1;
  guint                   address_wanted : 1;
  guint                   stop_timeout;

  PlSessionMapperFactory  mapper_factory;
  gpointer                mapper_factory_data;
  GDestroyNotify          mapper_factory_destroy;
  PlMethod                method;
  PlPcpState             *journal;
  PlMethodMemory         *memory;           /* nullable: the protocol of known gateways */
  PlSessionNeighbourFunc  neighbour_func;
  gpointer                neighbour_data;
  GDestroyNotify          neighbour_destroy;
  PlSessionDiscoverFunc   discover_func;
  gpointer                discover_data;
  GDestroyNotify          discover_destroy;

  /* Profiles and mappings. */
  GPtrArray              *entries;          /* Entry*, in list order */
  GListStore             *mappings;         /* PlMapping, same order */
  GPtrArray              *watched;          /* PlProfile* whose notify we follow */
  gulong                  items_changed_id;
  guint                   reconcile_id;

  /* Gateway. */
  GInetAddress           *gateway;
  char                   *gateway_str;
  char                   *gateway_iface;
  PlPortMapper           *mapper;
  GCancellable           *probe;            /* finding out what the gateway speaks */
  guint                   from_memory : 1;  /* the mapper's protocol was remembered... */
  guint                   confirmed : 1;    /* ...and has granted a mapping since */
  guint                   skip_memory : 1;  /* the remembered protocol failed: probe */

  /* IPv6 pinholes: the IPv6 default router, spoken to with the gateway's protocol. */
  PlPortMapper           *mapper6;          /* answered its probe */
  PlPortMapper           *probing6;
  GCancellable           *probe6;
  GSource                *probe6_timer;     /* the probe's bound, or the next try */
  char                   *address6;         /* the pinholes' address: this computer's */
  GError                 *no_ipv6_error;    /* why there are none */
  gulong                  state_lost6_id;
  gboolean                ipv6_pinholes;
  PlSessionIpv6DiscoverFunc ipv6_discover_func;
  gpointer                ipv6_discover_data;
  GDestroyNotify          ipv6_discover_destroy;
  GSource                *probe_timer;
  guint                   probe_failures;
  gulong                  state_lost_id;
  gulong                  address_announced_id;
  guint                   listening : 1;
  guint                   listen_warned : 1;
  GSource                *discover_timer;
  gint64                  discover_at;
  guint                   discover_failures;
  GError                 *no_gateway_error;

  /* Requests: all with the mapper, which queues them by its protocol's rules. */
  Op                     *address_op;
  GPtrArray              *unmaps;           /* Op*: deletes with the mapper */

  /* Public address. */
  char                   *external_address;
  GSource                *address_timer;
  guint                   address_failures;

  /* Rounds after a state loss. */
  gint64                  last_round;       /* 0 = none yet */
  GSource                *round_timer;
  PlStateLoss             round_reason;     /* of the round round_timer will run */

  /* Network changes. */
  GNetworkMonitor        *monitor;
  gulong                  monitor_id;
  GSource                *network_timer;
  gint64                  last_resync;
  GCancellable           *cancellable;      /* bus lookup */
  GDBusConnection        *system_bus;
  guint                   sleep_subscription;

  /* Stop. */
  GTask                  *stop_task;
  GSource                *stop_timer;
  GSource                *stop_cancel;      /* the stop's cancellable */
  gint64                  stop_deadline;
  guint                   stop_unconfirmed;
};

G_DEFINE_FINAL_TYPE (PlSession, pl_session, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PROFILES,
  PROP_CLOCK,
  PROP_FIXED_GATEWAY,
  PROP_GATEWAY,
  PROP_KEEP_MAPPINGS_ON_EXIT,
  PROP_EXTERNAL_ADDRESS,
  PROP_DOUBLE_NAT,
  PROP_ANNOUNCE_PORT,
  PROP_MONITOR_NETWORK,
  PROP_STOP_TIMEOUT,
  PROP_LISTENING,
  PROP_PROTOCOL_NAME,
  N_PROPS
};

enum {
  SIGNAL_MAPPING_CHANGED,
  SIGNAL_EXTERNAL_ADDRESS_CHANGED,
  SIGNAL_ROUTER_RESET,
  SIGNAL_DOUBLE_NAT_CHANGED,
  SIGNAL_GATEWAY_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void queue_map          (PlSession *self,
                                Entry     *entry);
static void queue_address      (PlSession *self);
static void schedule_reconcile (PlSession *self);
static void drop_ipv6          (PlSession *self);
static void memory_failed      (PlSession *self);
static void memory_remember    (PlSession    *self,
                                PlPortMapper *mapper);
static void stop_complete      (PlSession *self);

/* Timers. */

static gint64
now_us (PlSession *self)
{
  return pl_clock_get_time (self->clock);
}

static GSource *
timer_new (PlSession   *self,
           guint64      delay_ms,
           GSourceFunc  func,
           gpointer     data)
{
  GSource *source = pl_clock_timeout_source_new (self->clock, delay_ms);

  g_source_set_callback (source, func, data, NULL);
  g_source_set_static_name (source, "[portlight] session timer");
  g_source_attach (source, self->context);
  return source;
}

static guint64
ms_until (PlSession *self,
          gint64     when)
{
  gint64 delta = when - now_us (self);

  return delta > 0 ? (guint64) (delta + 999) / 1000 : 0;
}

/* Back-off: transient errors and timeouts retry soon, refusals much later. */

static gboolean
error_is_refusal (const GError *error)
{
  return error != NULL && error->domain == PL_ERROR &&
         (error->code == PL_ERROR_NOT_AUTHORIZED ||
          error->code == PL_ERROR_UNSUPPORTED_VERSION ||
          error->code == PL_ERROR_UNSUPPORTED_OPCODE ||
          error->code == PL_ERROR_UNKNOWN_RESULT);
}

static guint64
backoff_ms (const GError *error,
            guint         failures)
{
  guint64 min_ms = RETRY_SHORT_MIN_MS;
  guint64 max_ms = RETRY_SHORT_MAX_MS;
  guint64 delay;

  if (error_is_refusal (error))
    {
      min_ms = RETRY_LONG_MIN_MS;
      max_ms = RETRY_LONG_MAX_MS;
    }

  delay = min_ms << MIN (failures > 0 ? failures - 1 : 0, 16);
  return MIN (delay, max_ms);
}

/* Ops: each request with the mapper. The mapper queues them by its protocol's rules (NAT-PMP
 * one at a time, PCP several at once), so the session hands each over as soon as it is
 * wanted; it keeps at most one map request per mapping, and one address query. */

static Op *
op_new (PlSession *self,
        OpKind     kind)
{
  Op *op = g_new0 (Op, 1);

  op->session = self;
  op->kind = kind;
  op->cancellable = g_cancellable_new ();
  return op;
}

static void
op_free (Op *op)
{
  pl_clear_source (&op->deadline);
  g_clear_object (&op->cancellable);
  g_free (op);
}

static gboolean
op_deadline_cb (gpointer data)
{
  Op *op = data;

  /* Set on every delete while stopping (unmap_cb does the rest), and on every address
   * query (address_cb backs off and asks again later). */
  g_clear_pointer (&op->deadline, g_source_unref);
  g_cancellable_cancel (op->cancellable);
  return G_SOURCE_REMOVE;
}

/* Forget @op: it is detached and cancelled, so its callback only frees it. */
static void
op_abandon (Op *op)
{
  if (op == NULL)
    return;
  if (op->entry != NULL && op->entry->op == op)
    op->entry->op = NULL;
  if (op->session != NULL && op->session->address_op == op)
    op->session->address_op = NULL;
  if (op->session != NULL)
    g_ptr_array_remove (op->session->unmaps, op);
  op->entry = NULL;
  op->session = NULL;
  pl_clear_source (&op->deadline);
  g_cancellable_cancel (op->cancellable);
}

/* Everything with the mapper is dropped (a new gateway, a stop, dispose). Deletes too,
 * unless @keep_unmaps. */
static void
abandon_requests (PlSession *self,
                  gboolean   keep_unmaps)
{
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      op_abandon (entry->op);
      entry->wanted = FALSE;
    }
  op_abandon (self->address_op);
  self->address_wanted = FALSE;
  while (!keep_unmaps && self->unmaps->len > 0)
    op_abandon (g_ptr_array_index (self->unmaps, self->unmaps->len - 1));
}

static void unmap_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data);

/* The mapper for @family: the gateway's, or the IPv6 router's for pinholes. */
static PlPortMapper *
mapper_for (PlSession     *self,
            GSocketFamily  family)
{
  return family == G_SOCKET_FAMILY_IPV6 ? self->mapper6 : self->mapper;
}

static Op *
submit_unmap (PlSession     *self,
              GSocketFamily  family,
              PlProtocol     protocol,
              guint16        internal_port)
{
  PlPortMapper *mapper = mapper_for (self, family);
  Op *op;

  if (mapper == NULL)
    return NULL;

  op = op_new (self, OP_UNMAP);
  op->family = family;
  op->protocol = protocol;
  op->internal_port = internal_port;
  g_ptr_array_add (self->unmaps, op);
  g_debug ("Deleting %s %s %u", family == G_SOCKET_FAMILY_IPV6 ? "pinhole" : "mapping",
           pl_protocol_to_string (protocol), internal_port);
  pl_port_mapper_unmap_async (mapper, protocol, internal_port, op->cancellable, unmap_cb, op);
  return op;
}

/* Mappings. */

static void
entry_publish (Entry          *entry,
               PlMappingState  state,
               guint16         external_port,
               guint32         lifetime,
               gint64          expires,
               gint64          renew_at,
               const GError   *error,
               gint64          retry_at)
{
  PlMapping *mapping = entry->mapping;
  gboolean changed = FALSE;

  g_object_freeze_notify (G_OBJECT (mapping));
  changed |= _pl_mapping_set_state (mapping, state);
  changed |= _pl_mapping_set_external_port (mapping, external_port);
  changed |= _pl_mapping_set_lifetime (mapping, lifetime);
  changed |= _pl_mapping_set_expires (mapping, expires);
  changed |= _pl_mapping_set_renew_at (mapping, renew_at);
  changed |= _pl_mapping_set_error (mapping, error);
  changed |= _pl_mapping_set_retry_at (mapping, retry_at);
  g_object_thaw_notify (G_OBJECT (mapping));

  if (changed)
    g_signal_emit (entry->session, signals[SIGNAL_MAPPING_CHANGED], 0, mapping);
}

static void
entry_publish_pending (Entry *entry)
{
  entry_publish (entry, PL_MAPPING_STATE_MAPPING, 0, 0, 0, 0,
                 pl_mapping_get_error (entry->mapping), 0);
}

static void
entry_publish_disabled (Entry *entry)
{
  entry_publish (entry, PL_MAPPING_STATE_DISABLED, 0, 0, 0, 0, entry->config_error, 0);
}

static Entry *
entry_new (PlSession     *self,
           const char    *profile_name,
           PlProtocol     protocol,
           GSocketFamily  family)
{
  Entry *entry = g_new0 (Entry, 1);

  entry->session = self;
  entry->profile_name = g_strdup (profile_name);
  entry->protocol = protocol;
  entry->family = family;
  entry->mapping = _pl_mapping_new_full (profile_name, protocol, family);
  return entry;
}

static void
entry_clear_timers (Entry *entry)
{
  pl_clear_source (&entry->timer);
  pl_clear_source (&entry->expiry);
}

static void
entry_free (Entry *entry)
{
  entry_clear_timers (entry);
  g_clear_object (&entry->mapping);
  g_clear_error (&entry->config_error);
  g_free (entry->profile_name);
  g_free (entry);
}

/* Whether the gateway may hold a mapping for @entry. Deleting one that is not there is
 * harmless (RFC 6886 section 3.4), so this errs on the side of yes. */
static gboolean
entry_may_be_mapped (Entry *entry)
{
  return entry->expires != 0 || entry->op != NULL || entry->last_port != 0;
}

/* Stop everything going on for @entry, and delete its mapping on the gateway if there may
 * be one. */
static void
entry_release (PlSession *self,
               Entry     *entry)
{
  gboolean mapped = entry_may_be_mapped (entry);

  op_abandon (entry->op);
  entry->wanted = FALSE;
  entry_clear_timers (entry);

  if (mapped && entry->internal_port != 0)
    submit_unmap (self, entry->family, entry->protocol, entry->internal_port);

  entry->last_port = 0;
  entry->expires = 0;
  entry->failures = 0;
}

static gboolean
entry_renew_cb (gpointer data)
{
  Entry *entry = data;

  g_clear_pointer (&entry->timer, g_source_unref);
  queue_map (entry->session, entry);
  return G_SOURCE_REMOVE;
}

static gboolean
entry_retry_cb (gpointer data)
{
  Entry *entry = data;

  g_clear_pointer (&entry->timer, g_source_unref);
  if (entry->expires == 0)
    entry_publish_pending (entry);
  queue_map (entry->session, entry);
  return G_SOURCE_REMOVE;
}

/* The granted lifetime ran out before a renewal got through: the mapping is lost. Create it
 * again with a fresh request (and the full retransmission schedule), still suggesting the
 * last port. */
static gboolean
entry_expired_cb (gpointer data)
{
  Entry *entry = data;
  PlSession *self = entry->session;

  g_clear_pointer (&entry->expiry, g_source_unref);
  g_debug ("Mapping %s/%s expired without renewal; creating it again",
           entry->profile_name, pl_protocol_to_string (entry->protocol));

  op_abandon (entry->op);
  pl_clear_source (&entry->timer);
  entry->expires = 0;
  entry->failures = 0;
  entry_publish (entry, PL_MAPPING_STATE_MAPPING, 0, 0, 0, 0, NULL, 0);
  queue_map (self, entry);
  return G_SOURCE_REMOVE;
}

static void
entry_granted (PlSession *self,
               Entry     *entry,
               guint16    external_port,
               guint32    lifetime)
{
  gint64 now = now_us (self);
  guint64 renew_ms = MAX ((guint64) lifetime * 1000 / 2, MIN_RENEW_DELAY_MS);
  guint64 life_ms = (guint64) lifetime * 1000;

  entry_clear_timers (entry);
  entry->last_port = external_port;
  entry->expires = now + (gint64) life_ms * 1000;
  entry->failures = 0;
  if (entry->family == G_SOCKET_FAMILY_IPV4)
    self->confirmed = TRUE;

  if (external_port != (entry->requested_port != 0 ? entry->requested_port
                                                   : entry->internal_port))
    g_debug ("Mapping %s/%s: the gateway gave port %u instead of the one asked for",
             entry->profile_name, pl_protocol_to_string (entry->protocol), external_port);

  entry->timer = timer_new (self, renew_ms, entry_renew_cb, entry);
  entry->expiry = timer_new (self, life_ms, entry_expired_cb, entry);

  entry_publish (entry, PL_MAPPING_STATE_ACTIVE, external_port, lifetime, entry->expires,
                 now + (gint64) renew_ms * 1000, NULL, 0);
}

static void
entry_failed (PlSession    *self,
              Entry        *entry,
              const GError *error)
{
  gint64 now = now_us (self);
  guint64 delay_ms;

  entry->failures++;
  delay_ms = backoff_ms (error, entry->failures);
  pl_clear_source (&entry->timer);
  entry->timer = timer_new (self, delay_ms, entry_retry_cb, entry);

  g_debug ("Mapping %s/%s failed (%s); next attempt in %" G_GUINT64_FORMAT " s",
           entry->profile_name, pl_protocol_to_string (entry->protocol),
           error->message, delay_ms / 1000);

  if (entry->expires > now)
    {
      /* A renewal failed: the mapping still holds until it expires. */
      entry_publish (entry, PL_MAPPING_STATE_ACTIVE,
                     pl_mapping_get_external_port (entry->mapping),
                     pl_mapping_get_lifetime (entry->mapping),
                     entry->expires, 0, error, now + (gint64) delay_ms * 1000);
    }
  else
    {
      pl_clear_source (&entry->expiry);
      entry->expires = 0;
      entry_publish (entry, PL_MAPPING_STATE_FAILED, 0, 0, 0, 0, error,
                     now + (gint64) delay_ms * 1000);
    }
}

/* Requests. */

static void map_cb     (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data);
static void address_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data);

static void
submit_map (PlSession *self,
            Entry     *entry)
{
  Op *op = op_new (self, OP_MAP);
  guint16 suggested;

  op->entry = entry;
  entry->op = op;
  entry->wanted = FALSE;

  /* Always suggest the port granted before (RFC 6886 section 3.3, RFC 6887 section 11.2);
   * else the one wanted, never 0. A pinhole opens the internal port itself. */
  if (entry->family == G_SOCKET_FAMILY_IPV6)
    suggested = entry->internal_port;
  else if (entry->last_port != 0)
    suggested = entry->last_port;
  else if (entry->requested_port != 0)
    suggested = entry->requested_port;
  else
    suggested = entry->internal_port;

  g_debug ("%s mapping %s/%s: internal %u, suggesting %u, lifetime %u",
           entry->expires != 0 ? "Renewing" : "Creating",
           entry->profile_name, pl_protocol_to_string (entry->protocol),
           entry->internal_port, suggested, entry->lifetime);
  pl_port_mapper_map_async (mapper_for (self, entry->family), entry->protocol,
                            entry->internal_port, suggested, entry->lifetime, op->cancellable,
                            map_cb, op);
}

/* Ask for @entry now, or as soon as there is a mapper (while the gateway is probed). */
static void
queue_map (PlSession *self,
           Entry     *entry)
{
  if (!self->running || !entry->enabled || entry->config_error != NULL)
    return;
  if (entry->op != NULL)
    return;
  if (mapper_for (self, entry->family) == NULL)
    {
      entry->wanted = TRUE;
      return;
    }
  submit_map (self, entry);
}

static void
queue_address (PlSession *self)
{
  Op *op;

  if (!self->running)
    return;

  self->address_wanted = TRUE;
  if (self->address_op != NULL || self->mapper == NULL)
    return;

  pl_clear_source (&self->address_timer);
  op = op_new (self, OP_ADDRESS);
  self->address_op = op;
  op->deadline = timer_new (self, ADDRESS_QUERY_TIMEOUT_MS, op_deadline_cb, op);
  pl_port_mapper_get_external_address_async (self->mapper, op->cancellable, address_cb, op);
}

/* A mapper arrived (the probe answered): what waited for it goes out now. */
static void
submit_wanted (PlSession *self)
{
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry->wanted)
        queue_map (self, entry);
    }
  if (self->address_wanted)
    queue_address (self);
}

static void
set_external_address (PlSession    *self,
                      const guint8 *address)
{
  g_autofree char *text = NULL;
  gboolean double_nat = FALSE;

  if (address != NULL)
    {
      text = g_strdup_printf ("%u.%u.%u.%u", address[0], address[1], address[2], address[3]);
      double_nat = pl_natpmp_address_is_double_nat (address);
    }

  if (g_strcmp0 (text, self->external_address) != 0)
    {
      g_free (self->external_address);
      self->external_address = g_steal_pointer (&text);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXTERNAL_ADDRESS]);
      g_signal_emit (self, signals[SIGNAL_EXTERNAL_ADDRESS_CHANGED], 0, self->external_address);
    }

  if (double_nat != self->double_nat)
    {
      self->double_nat = double_nat;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DOUBLE_NAT]);
      g_signal_emit (self, signals[SIGNAL_DOUBLE_NAT_CHANGED], 0, double_nat);
    }
}

static gboolean
address_retry_cb (gpointer data)
{
  PlSession *self = data;

  g_clear_pointer (&self->address_timer, g_source_unref);
  queue_address (self);
  return G_SOURCE_REMOVE;
}

/* Each callback owns its op. An op the session abandoned was detached from it first (the
 * session may be gone by now), so it is only freed. An op cut short by its deadline is
 * still attached and fails like any other. */

static void
address_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Op *op = user_data;
  PlSession *self;
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GError) error = NULL;

  address = pl_port_mapper_get_external_address_finish (PL_PORT_MAPPER (source), result,
                                                        NULL, &error);
  if (op->session == NULL)
    {
      op_free (op);
      return;
    }

  self = op->session;
  g_assert (self->address_op == op);
  self->address_op = NULL;
  op_free (op);

  /* A state loss this reply showed was reported while the query was still with the mapper,
   * so that the round did not ask again for what this reply says. */
  if (address != NULL && g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4)
    {
      self->address_wanted = FALSE;
      self->address_failures = 0;
      set_external_address (self, g_inet_address_to_bytes (address));
    }
  else if (self->running)
    {
      guint64 delay_ms;

      if (error == NULL)
        error = g_error_new (PL_ERROR, PL_ERROR_MALFORMED_REPLY,
                             _("The router at %s sent an address that is not IPv4"),
                             self->gateway_str);
      self->address_failures++;
      delay_ms = backoff_ms (error, self->address_failures);
      g_debug ("Public address query failed (%s); next attempt in %" G_GUINT64_FORMAT " s",
               error->message, delay_ms / 1000);
      pl_clear_source (&self->address_timer);
      self->address_timer = timer_new (self, delay_ms, address_retry_cb, self);
    }
}

static void
map_cb (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  Op *op = user_data;
  PlSession *self;
  Entry *entry;
  g_autoptr(GError) error = NULL;
  guint16 external_port = 0;
  guint32 lifetime = 0;
  gboolean ok;

  ok = pl_port_mapper_map_finish (PL_PORT_MAPPER (source), result,
                                  &external_port, &lifetime, NULL, &error);
  if (op->session == NULL)
    {
      op_free (op);
      return;
    }

  self = op->session;
  entry = op->entry;
  g_assert (entry->op == op);

  /* A state loss this reply showed was reported (PlPortMapper::state-lost) while the entry
   * still had its request out: the round did not repeat what the gateway just granted. */
  entry->op = NULL;
  op_free (op);

  if (ok && lifetime == 0)
    {
      g_clear_error (&error);
      error = g_error_new (PL_ERROR, PL_ERROR_MALFORMED_REPLY,
                           _("The router at %s granted a mapping with no lifetime"),
                           self->gateway_str);
      ok = FALSE;
    }

  if (ok)
    {
      if (entry->family == G_SOCKET_FAMILY_IPV6)
        _pl_mapping_set_external_address (entry->mapping, self->address6);
      entry_granted (self, entry, external_port, lifetime);
      if (self->address_wanted)
        queue_address (self);
    }
  else
    {
      entry_failed (self, entry, error);
      /* The protocol itself is gone (not this one port): ask the gateway again. */
      if (entry->family == G_SOCKET_FAMILY_IPV4 && error->domain == PL_ERROR &&
          (error->code == PL_ERROR_UNSUPPORTED_VERSION ||
           error->code == PL_ERROR_UNSUPPORTED_OPCODE ||
           error->code == PL_ERROR_REFUSED || error->code == PL_ERROR_TIMED_OUT))
        memory_failed (self);
    }
}

static void
unmap_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  Op *op = user_data;
  PlSession *self;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = pl_port_mapper_unmap_finish (PL_PORT_MAPPER (source), result, NULL, &error);
  if (op->session == NULL)
    {
      op_free (op);
      return;
    }

  self = op->session;
  g_ptr_array_remove (self->unmaps, op);

  if (ok)
    g_debug ("Deleted mapping %s %u", pl_protocol_to_string (op->protocol),
             op->internal_port);
  else
    {
      /* A mapping set up by hand gives "not authorized" (RFC 6886 section 3.4); either way
       * it expires on its own. */
      g_debug ("Deleting mapping %s %u failed: %s", pl_protocol_to_string (op->protocol),
               op->internal_port, error->message);
      if (self->stopping)
        self->stop_unconfirmed++;
    }
  op_free (op);

  if (self->stopping && self->unmaps->len == 0)
    stop_complete (self);
}


/* State losses. */

/* @reason EPOCH: the gateway lost every mapping, so each is created again (pending) and
 * ::router-reset is emitted. ANNOUNCED: the gateway announced itself with its epoch running
 * on; its mappings may be gone (a service restarted with the epoch kept), so each is
 * renewed now, quietly: a renewal re-creates what is missing and changes nothing else. */
static void
state_round (PlSession   *self,
             PlStateLoss  reason)
{
  guint n = 0;

  self->last_round = MAX (now_us (self), 1);
  pl_clear_source (&self->round_timer);

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (!entry->enabled || entry->config_error != NULL)
        continue;
      n++;
      if (entry->op != NULL)
        continue;

      if (reason == PL_STATE_LOSS_EPOCH || entry->expires == 0)
        {
          entry_clear_timers (entry);
          entry->expires = 0;
          entry->failures = 0;
          entry_publish_pending (entry);
        }
      else
        pl_clear_source (&entry->timer);   /* the expiry stands until the renewal lands */
      queue_map (self, entry);
    }

  queue_address (self);

  if (reason == PL_STATE_LOSS_EPOCH)
    {
      g_debug ("Gateway %s lost its state; creating %u mappings again", self->gateway_str, n);
      g_signal_emit (self, signals[SIGNAL_ROUTER_RESET], 0, n);
    }
  else
    g_debug ("Gateway %s announced itself; renewing %u mappings", self->gateway_str, n);
}

static gboolean
round_timer_cb (gpointer data)
{
  PlSession *self = data;

  g_clear_pointer (&self->round_timer, g_source_unref);
  state_round (self, self->round_reason);
  return G_SOURCE_REMOVE;
}

/* At most one round per RESET_ROUND_INTERVAL_US per gateway (RFC 6886 section 3.6 asks to
 * avoid floods; announcements are unauthenticated multicast): a loss seen sooner is handled
 * when the interval is over, however many arrive meanwhile, as one round of the gravest
 * reason seen. */
static void
mapper_state_lost_cb (PlPortMapper *mapper,
                      guint         reason,
                      gpointer      user_data)
{
  PlSession *self = user_data;
  gint64 now = now_us (self);

  if (!self->running || (mapper != self->mapper && mapper != self->mapper6))
    return;

  if (self->last_round != 0 && now - self->last_round < RESET_ROUND_INTERVAL_US)
    {
      if (self->round_timer == NULL)
        {
          self->round_reason = reason;
          self->round_timer = timer_new (self,
                                         ms_until (self, self->last_round + RESET_ROUND_INTERVAL_US),
                                         round_timer_cb, self);
        }
      else if (reason == PL_STATE_LOSS_EPOCH)
        self->round_reason = PL_STATE_LOSS_EPOCH;
      return;
    }

  state_round (self, reason);
}

static void set_external_address (PlSession    *self,
                                  const guint8 *address);

static void
mapper_address_announced_cb (PlPortMapper *mapper,
                             GInetAddress *address,
                             gpointer      user_data)
{
  PlSession *self = user_data;

  if (!self->running || mapper != self->mapper ||
      g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV4 ||
      g_inet_address_get_is_any (address))
    return;
  set_external_address (self, g_inet_address_to_bytes (address));
}

static void
set_listening (PlSession *self,
               gboolean   listening)
{
  if (self->listening == !!listening)
    return;
  self->listening = !!listening;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LISTENING]);
}

/* Announcements reach the mapper, on the gateway's interface. Not fatal when it fails:
 * renewals do not depend on announcements. */
static void
mapper_listen (PlSession *self)
{
  g_autoptr(GError) error = NULL;
  const char *iface = self->gateway_iface;

  if (self->mapper == NULL || self->announce_port == 0)
    {
      set_listening (self, FALSE);
      return;
    }

  if (iface == NULL && g_inet_address_get_is_loopback (self->gateway))
    iface = "lo";
  if (pl_port_mapper_listen (self->mapper, self->announce_port, iface, &error))
    {
      set_listening (self, TRUE);
      return;
    }

  set_listening (self, FALSE);
  if (!self->listen_warned)
    g_message (_("Not listening for router announcements on %s:%u: %s"),
               PL_NATPMP_ANNOUNCE_GROUP, self->announce_port, error->message);
  else
    g_debug ("Not listening for router announcements: %s", error->message);
  self->listen_warned = TRUE;
}

/* Gateways. */

static void
drop_mapper (PlSession *self)
{
  drop_ipv6 (self);
  abandon_requests (self, FALSE);
  self->from_memory = FALSE;
  self->confirmed = FALSE;
  if (self->probe != NULL)
    {
      g_cancellable_cancel (self->probe);
      g_clear_object (&self->probe);
    }
  pl_clear_source (&self->probe_timer);
  if (self->mapper != NULL)
    {
      g_clear_signal_handler (&self->state_lost_id, self->mapper);
      g_clear_signal_handler (&self->address_announced_id, self->mapper);
      g_clear_object (&self->mapper);
    }
}

static gboolean discover_timer_cb (gpointer data);
static void     start_probe       (PlSession *self);
static void     setup_ipv6        (PlSession *self);

/* IPv6 pinholes. */

#define IPV6_PROBE_MS         (5 * 1000)
#define IPV6_RETRY_MS         (30 * 60 * 1000)

/* Forgets the IPv6 side; its entries go (a both-family profile) or fail (IPv6 only) when
 * the profiles are next applied. */
static void
drop_ipv6 (PlSession *self)
{
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry->family != G_SOCKET_FAMILY_IPV6)
        continue;
      op_abandon (entry->op);
      entry->wanted = FALSE;
      entry_clear_timers (entry);
      entry->expires = 0;
      entry->last_port = 0;
    }
  for (guint i = self->unmaps->len; i > 0; i--)
    {
      Op *op = g_ptr_array_index (self->unmaps, i - 1);

      if (op->family == G_SOCKET_FAMILY_IPV6)
        op_abandon (op);
    }
  if (self->probe6 != NULL)
    {
      g_cancellable_cancel (self->probe6);
      g_clear_object (&self->probe6);
    }
  g_clear_object (&self->probing6);
  pl_clear_source (&self->probe6_timer);
  if (self->mapper6 != NULL)
    {
      g_clear_signal_handler (&self->state_lost6_id, self->mapper6);
      g_clear_object (&self->mapper6);
    }
  g_clear_pointer (&self->address6, g_free);
  schedule_reconcile (self);
}

static void
set_no_ipv6 (PlSession *self,
             GError    *error)
{
  g_debug ("No IPv6 pinholes: %s", error->message);
  g_clear_error (&self->no_ipv6_error);
  self->no_ipv6_error = error;
  schedule_reconcile (self);
  /* A profile that asked for IPv6 alone fails with why. */
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry->family == G_SOCKET_FAMILY_IPV6 && entry->enabled && entry->config_error == NULL)
        entry_publish (entry, PL_MAPPING_STATE_FAILED, 0, 0, 0, 0, error, 0);
    }
}

static gboolean
ipv6_retry_cb (gpointer data)
{
  PlSession *self = data;

  g_clear_pointer (&self->probe6_timer, g_source_unref);
  setup_ipv6 (self);
  return G_SOURCE_REMOVE;
}

static gboolean
probe6_deadline_cb (gpointer data)
{
  PlSession *self = data;

  g_clear_pointer (&self->probe6_timer, g_source_unref);
  if (self->probe6 != NULL)
    g_cancellable_cancel (self->probe6);
  return G_SOURCE_REMOVE;
}

static void
probe6_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(PlSession) self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean cancelled_by_us;

  if (pl_port_mapper_probe_finish (PL_PORT_MAPPER (source), result, &error))
    {
      if (self->probing6 != PL_PORT_MAPPER (source))
        return;   /* dropped meanwhile */
      pl_clear_source (&self->probe6_timer);
      g_clear_object (&self->probe6);
      self->mapper6 = g_steal_pointer (&self->probing6);
      self->state_lost6_id =
        g_signal_connect (self->mapper6, "state-lost", G_CALLBACK (mapper_state_lost_cb), self);
      pl_port_mapper_set_journal (self->mapper6, self->journal);
      g_clear_error (&self->no_ipv6_error);
      g_debug ("IPv6 pinholes for %s through %s", self->address6,
               pl_port_mapper_get_protocol_name (self->mapper6));
      if (self->running)
        {
          schedule_reconcile (self);
          submit_wanted (self);
        }
      return;
    }

  if (self->probing6 != PL_PORT_MAPPER (source))
    return;
  /* Cancelled by its bound (probe6_deadline_cb has cleared the timer), or by drop_ipv6. */
  cancelled_by_us = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
                    self->probe6_timer == NULL && self->probe6 != NULL;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && !cancelled_by_us)
    return;

  g_clear_object (&self->probe6);
  g_clear_object (&self->probing6);
  g_clear_pointer (&self->address6, g_free);
  if (!self->running)
    return;
  set_no_ipv6 (self, cancelled_by_us
                     ? g_error_new (PL_ERROR, PL_ERROR_TIMED_OUT,
                                    _("The router does not answer for IPv6 pinholes"))
                     : g_error_new (PL_ERROR, error->domain == PL_ERROR ? error->code
                                                                         : PL_ERROR_NETWORK_FAILURE,
                                    _("The router does not open IPv6 pinholes: %s"),
                                    error->message));
  self->probe6_timer = timer_new (self, IPV6_RETRY_MS, ipv6_retry_cb, self);
}

/* Pinholes too, when the gateway's protocol can open them and this computer has a stable
 * global IPv6 address: the IPv6 default router is asked with that protocol. */
static void
setup_ipv6 (PlSession *self)
{
  g_autoptr(PlIpv6Router) router = NULL;
  g_autoptr(GInetAddress) local = NULL;
  g_autoptr(GError) error = NULL;

  drop_ipv6 (self);
  if (!self->running || self->mapper == NULL)
    return;
  if (!self->ipv6_pinholes)
    {
      set_no_ipv6 (self, g_error_new_literal (PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                                              _("IPv6 pinholes are switched off")));
      return;
    }

  if (!(pl_port_mapper_get_capabilities (self->mapper) & PL_MAPPER_CAPABILITY_IPV6))
    {
      set_no_ipv6 (self, g_error_new (PL_ERROR, PL_ERROR_UNSUPPORTED_OPCODE,
                                      _("The router at %s speaks %s, which opens no IPv6 "
                                        "pinholes"),
                                      self->gateway_str,
                                      pl_port_mapper_get_protocol_name (self->mapper)));
      return;
    }

  if (self->ipv6_discover_func != NULL)
    router = self->ipv6_discover_func (self->ipv6_discover_data, &local, &error);
  else
    {
      router = pl_ipv6_router_discover (&error);
      if (router != NULL)
        local = pl_ipv6_stable_address (router->ifindex, &error);
      if (local == NULL)
        g_clear_pointer (&router, pl_ipv6_router_free);
    }
  if (router == NULL || local == NULL)
    {
      if (error == NULL)
        error = g_error_new_literal (PL_ERROR, PL_ERROR_NO_GATEWAY, _("No IPv6 router"));
      set_no_ipv6 (self, g_steal_pointer (&error));
      return;
    }

  self->probing6 = pl_mapper_new_ipv6 (self->mapper, router->address, router->ifindex, local,
                                       self->clock);
  if (self->probing6 == NULL)
    return;
  self->address6 = g_inet_address_to_string (local);
  self->probe6 = g_cancellable_new ();
  self->probe6_timer = timer_new (self, IPV6_PROBE_MS, probe6_deadline_cb, self);
  pl_port_mapper_probe_async (self->probing6, self->probe6, probe6_cb, g_object_ref (self));
}

/* @mapper (transfer full) speaks for the current gateway from now on. */
static void
install_mapper (PlSession    *self,
                PlPortMapper *mapper)
{
  g_assert (self->mapper == NULL);

  self->mapper = mapper;
  self->state_lost_id =
    g_signal_connect (self->mapper, "state-lost", G_CALLBACK (mapper_state_lost_cb), self);
  self->address_announced_id =
    g_signal_connect (self->mapper, "external-address-announced",
                      G_CALLBACK (mapper_address_announced_cb), self);
  pl_port_mapper_set_journal (self->mapper, self->journal);
  g_debug ("Speaking %s with %s", pl_port_mapper_get_protocol_name (self->mapper),
           self->gateway_str);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROTOCOL_NAME]);
  mapper_listen (self);
  setup_ipv6 (self);
}

static gboolean
probe_timer_cb (gpointer data)
{
  PlSession *self = data;

  g_clear_pointer (&self->probe_timer, g_source_unref);
  start_probe (self);
  return G_SOURCE_REMOVE;
}

static void
probe_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(PlSession) self = user_data;
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GError) error = NULL;
  PlPortMapper *mapper;
  guint64 delay_ms;
  gint64 retry_at;

  mapper = pl_mapper_probe_finish (result, &address, NULL, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* another gateway, or stopped: the probe is someone else's business now */

  g_clear_object (&self->probe);
  if (!self->running)
    {
      g_clear_object (&mapper);
      return;
    }

  if (mapper != NULL)
    {
      self->probe_failures = 0;
      install_mapper (self, mapper);
      memory_remember (self, mapper);
      if (address != NULL && g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4 &&
          !g_inet_address_get_is_any (address))
        set_external_address (self, g_inet_address_to_bytes (address));
      submit_wanted (self);
      return;
    }

  /* Nothing answered as a port-mapping service: every mapping fails with why, and the
   * gateway is asked again later. */
  self->probe_failures++;
  delay_ms = backoff_ms (error, self->probe_failures);
  retry_at = now_us (self) + (gint64) delay_ms * 1000;
  g_debug ("Probing %s failed (%s); again in %" G_GUINT64_FORMAT " s", self->gateway_str,
           error->message, delay_ms / 1000);
  abandon_requests (self, FALSE);
  self->probe_timer = timer_new (self, delay_ms, probe_timer_cb, self);
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry->enabled && entry->config_error == NULL)
        entry_publish (entry, PL_MAPPING_STATE_FAILED, 0, 0, 0, 0, error, retry_at);
    }
}

/* The gateway's MAC, which tells this 192.168.1.1 from another network's. */
static gboolean
gateway_mac (PlSession *self,
             guint8     mac[6])
{
  g_autoptr(GError) error = NULL;
  gboolean found;

  if (self->neighbour_func != NULL)
    found = self->neighbour_func (self->neighbour_data, self->gateway, mac, &error);
  else
    found = pl_neighbour_lookup (self->gateway, 0, mac, &error);
  if (!found)
    g_debug ("No MAC for %s: %s", self->gateway_str, error != NULL ? error->message : "?");
  return found;
}

static void
memory_save (PlSession *self)
{
  g_autoptr(GError) error = NULL;

  if (!pl_method_memory_save (self->memory, &error))
    g_debug ("Cannot remember the gateway's protocol: %s", error->message);
}

/* After a probe: what @mapper speaks is remembered for this gateway. */
static void
memory_remember (PlSession    *self,
                 PlPortMapper *mapper)
{
  guint8 mac[6];
  PlMethod method;

  if (self->memory == NULL || !gateway_mac (self, mac))
    return;
  method = (pl_port_mapper_get_capabilities (mapper) & PL_MAPPER_CAPABILITY_IPV6)
           ? PL_METHOD_PCP : PL_METHOD_NATPMP;
  pl_method_memory_remember (self->memory, self->gateway, mac, method);
  memory_save (self);
}

/* A mapper of the protocol remembered for this gateway (address and MAC), or NULL. */
static PlPortMapper *
memory_recall (PlSession *self)
{
  guint8 mac[6];
  PlMethod method;

  if (self->memory == NULL || self->skip_memory || !gateway_mac (self, mac) ||
      !pl_method_memory_lookup (self->memory, self->gateway, mac, &method))
    return NULL;
  g_debug ("%s speaks %s, as remembered", self->gateway_str, pl_method_to_string (method));
  return pl_mapper_new (method, self->gateway, self->clock);
}

/* The remembered protocol failed before granting anything: forget it and ask again. */
static void
memory_failed (PlSession *self)
{
  guint8 mac[6];

  if (!self->from_memory || self->confirmed)
    return;
  g_debug ("The protocol remembered for %s failed; probing again", self->gateway_str);
  if (self->memory != NULL && gateway_mac (self, mac) &&
      pl_method_memory_forget (self->memory, self->gateway, mac))
    memory_save (self);
  self->skip_memory = TRUE;
  drop_mapper (self);
  start_probe (self);
}

/* PCP and NAT-PMP are asked together (PCP preferred); every mapping waits for the answer. */
static void
start_probe (PlSession *self)
{
  PlPortMapper *remembered;

  if (self->probe != NULL || self->gateway == NULL || self->mapper != NULL)
    return;

  remembered = memory_recall (self);
  if (remembered != NULL)
    {
      install_mapper (self, remembered);
      self->from_memory = TRUE;
      self->confirmed = FALSE;
      for (guint i = 0; i < self->entries->len; i++)
        {
          Entry *entry = g_ptr_array_index (self->entries, i);

          if (!entry->enabled || entry->config_error != NULL)
            continue;
          if (pl_mapping_get_state (entry->mapping) == PL_MAPPING_STATE_FAILED)
            entry_publish_pending (entry);
          queue_map (self, entry);
        }
      queue_address (self);
      return;
    }

  self->probe = g_cancellable_new ();
  pl_mapper_probe_async (self->gateway, self->clock, PL_METHOD_AUTO, 0, self->probe,
                         probe_cb, g_object_ref (self));

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (!entry->enabled || entry->config_error != NULL)
        continue;
      if (pl_mapping_get_state (entry->mapping) == PL_MAPPING_STATE_FAILED)
        entry_publish_pending (entry);
      queue_map (self, entry);
    }
  queue_address (self);
}

/* Start over on @gateway (NULL: none found): forget everything learned from the previous
 * one, and create every enabled mapping afresh (F-28). */
static void
set_current_gateway (PlSession    *self,
                     GInetAddress *gateway,
                     const char   *iface)
{
  g_autofree char *text = gateway != NULL ? g_inet_address_to_string (gateway) : NULL;
  gboolean changed = g_strcmp0 (text, self->gateway_str) != 0;

  drop_mapper (self);
  pl_clear_source (&self->round_timer);
  pl_clear_source (&self->address_timer);
  self->last_round = 0;
  self->last_resync = 0;
  self->address_failures = 0;
  self->address_wanted = FALSE;
  set_external_address (self, NULL);

  g_set_object (&self->gateway, gateway);
  g_free (self->gateway_str);
  self->gateway_str = g_steal_pointer (&text);
  g_free (self->gateway_iface);
  self->gateway_iface = g_strdup (iface);

  self->probe_failures = 0;
  self->skip_memory = FALSE;
  if (gateway != NULL)
    {
      PlPortMapper *mapper = NULL;

      if (self->mapper_factory != NULL)
        mapper = self->mapper_factory (gateway, self->clock, self->mapper_factory_data);
      else if (self->method != PL_METHOD_AUTO)
        mapper = pl_mapper_new (self->method, gateway, self->clock);

      if (mapper != NULL)
        install_mapper (self, mapper);
      else if (self->mapper_factory == NULL)
        {
          self->probe = g_cancellable_new ();   /* started below, once the entries are reset */
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROTOCOL_NAME]);
        }
    }
  else
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROTOCOL_NAME]);
  if (self->mapper == NULL)
    set_listening (self, FALSE);

  if (changed)
    {
      g_debug ("Gateway is now %s", self->gateway_str != NULL ? self->gateway_str : "(none)");
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_GATEWAY]);
      g_signal_emit (self, signals[SIGNAL_GATEWAY_CHANGED], 0, self->gateway_str);
    }

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      entry_clear_timers (entry);
      entry->last_port = 0;
      entry->expires = 0;
      entry->failures = 0;
      if (!entry->enabled || entry->config_error != NULL)
        continue;

      if (self->mapper != NULL || self->probe != NULL)
        {
          entry_publish (entry, PL_MAPPING_STATE_MAPPING, 0, 0, 0, 0, NULL, 0);
          queue_map (self, entry);
        }
      else
        entry_publish (entry, PL_MAPPING_STATE_FAILED, 0, 0, 0, 0, self->no_gateway_error,
                       self->discover_at);
    }

  if (self->probe != NULL)
    {
      g_clear_object (&self->probe);
      start_probe (self);
    }
  else if (self->mapper != NULL)
    queue_address (self);
}

/* Same gateway after a network change or a resume: re-check what may have gone stale. */
static void
resync (PlSession *self)
{
  gint64 now = now_us (self);

  if (self->mapper == NULL)
    return;
  if (self->last_resync != 0 && now - self->last_resync < RESYNC_INTERVAL_US)
    return;
  self->last_resync = MAX (now, 1);

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);
      gint64 renew_at = pl_mapping_get_renew_at (entry->mapping);

      if (!entry->enabled || entry->config_error != NULL || entry->op != NULL)
        continue;

      if (entry->expires != 0 && now >= entry->expires)
        {
          /* Timers can run late across a suspend; the clock does not. */
          pl_clear_source (&entry->expiry);
          entry_expired_cb (entry);
        }
      else if (entry->expires != 0 && renew_at != 0 && now >= renew_at)
        {
          pl_clear_source (&entry->timer);
          queue_map (self, entry);
        }
      else if (entry->expires == 0 && error_is_refusal (pl_mapping_get_error (entry->mapping)))
        {
          /* The same gateway refused it on purpose (its rules, or NAT-PMP switched off): a
           * route flapping beside it changes nothing, so the long back-off stands. */
          continue;
        }
      else if (entry->expires == 0)
        {
          /* Failed ones try again now: the network around them changed (PMP-08). */
          pl_clear_source (&entry->timer);
          entry->failures = 0;
          entry_publish_pending (entry);
          queue_map (self, entry);
        }
    }

  /* The reply's epoch tells whether the gateway rebooted meanwhile. */
  queue_address (self);
}

static void
discover_and_apply (PlSession *self)
{
  g_autoptr(PlGateway) found = NULL;
  g_autoptr(GError) error = NULL;

  pl_clear_source (&self->discover_timer);

  if (self->fixed_gateway != NULL)
    {
      self->discover_failures = 0;
      self->discover_at = 0;
      g_clear_error (&self->no_gateway_error);
      if (self->gateway != NULL && g_inet_address_equal (self->gateway, self->fixed_gateway))
        resync (self);
      else
        set_current_gateway (self, self->fixed_gateway, NULL);
      return;
    }

  if (self->discover_func != NULL)
    found = self->discover_func (self->discover_data, &error);
  else
    found = pl_gateway_discover (&error);

  if (found == NULL || found->address == NULL)
    {
      guint64 delay_ms;

      if (error == NULL)
        error = g_error_new_literal (PL_ERROR, PL_ERROR_NO_GATEWAY,
                                     _("No default gateway was found"));
      self->discover_failures++;
      delay_ms = backoff_ms (NULL, self->discover_failures);
      g_debug ("No gateway (%s); looking again in %" G_GUINT64_FORMAT " s",
               error->message, delay_ms / 1000);
      self->discover_timer = timer_new (self, delay_ms, discover_timer_cb, self);
      self->discover_at = now_us (self) + (gint64) delay_ms * 1000;
      g_clear_error (&self->no_gateway_error);
      self->no_gateway_error = g_steal_pointer (&error);
      set_current_gateway (self, NULL, NULL);
      return;
    }

  self->discover_failures = 0;
  self->discover_at = 0;
  g_clear_error (&self->no_gateway_error);
  if (self->gateway != NULL && g_inet_address_equal (self->gateway, found->address))
    {
      if (g_strcmp0 (self->gateway_iface, found->interface) != 0)
        {
          g_free (self->gateway_iface);
          self->gateway_iface = g_strdup (found->interface);
          mapper_listen (self);
        }
      resync (self);
    }
  else
    set_current_gateway (self, found->address, found->interface);
}

static gboolean
discover_timer_cb (gpointer data)
{
  PlSession *self = data;

  g_clear_pointer (&self->discover_timer, g_source_unref);
  discover_and_apply (self);
  return G_SOURCE_REMOVE;
}

static gboolean
network_timer_cb (gpointer data)
{
  PlSession *self = data;

  g_clear_pointer (&self->network_timer, g_source_unref);
  discover_and_apply (self);
  return G_SOURCE_REMOVE;
}

/* Bursts of network events are handled once, a moment after the first. */
static void
network_event (PlSession *self)
{
  if (!self->running || self->network_timer != NULL)
    return;
  self->network_timer = timer_new (self, NETWORK_DEBOUNCE_MS, network_timer_cb, self);
}

static void
network_changed_cb (GNetworkMonitor *monitor,
                    gboolean         available,
                    gpointer         user_data)
{
  network_event (PL_SESSION (user_data));
}

static void
prepare_for_sleep_cb (GDBusConnection *connection,
                      const char      *sender_name,
                      const char      *object_path,
                      const char      *interface_name,
                      const char      *signal_name,
                      GVariant        *parameters,
                      gpointer         user_data)
{
  gboolean sleeping = TRUE;

  if (g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(b)")))
    g_variant_get (parameters, "(b)", &sleeping);
  if (!sleeping)
    network_event (PL_SESSION (user_data));
}

static void
system_bus_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GWeakRef *weak = user_data;
  g_autoptr(PlSession) self = g_weak_ref_get (weak);
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GError) error = NULL;

  g_weak_ref_clear (weak);
  g_free (weak);

  bus = g_bus_get_finish (result, &error);
  if (self == NULL || g_cancellable_is_cancelled (self->cancellable) || !self->running)
    return;
  if (bus == NULL)
    {
      /* No system bus (containers, tests): resumes are still caught by network changes. */
      g_debug ("No system bus, not following suspend and resume: %s", error->message);
      return;
    }

  self->system_bus = g_steal_pointer (&bus);
  self->sleep_subscription =
    g_dbus_connection_signal_subscribe (self->system_bus,
                                        "org.freedesktop.login1",
                                        "org.freedesktop.login1.Manager",
                                        "PrepareForSleep",
                                        "/org/freedesktop/login1",
                                        NULL,
                                        G_DBUS_SIGNAL_FLAGS_NONE,
                                        prepare_for_sleep_cb, self, NULL);
}

/* Profiles. */

static gboolean
profile_to_protocols (PlProfile  *profile,
                      PlProtocol  protocols[2],
                      guint      *n)
{
  switch (pl_profile_get_protocol (profile))
    {
    case PL_PROFILE_PROTOCOL_TCP:
      protocols[0] = PL_PROTOCOL_TCP;
      *n = 1;
      return TRUE;
    case PL_PROFILE_PROTOCOL_UDP:
      protocols[0] = PL_PROTOCOL_UDP;
      *n = 1;
      return TRUE;
    case PL_PROFILE_PROTOCOL_BOTH:
      protocols[0] = PL_PROTOCOL_TCP;
      protocols[1] = PL_PROTOCOL_UDP;
      *n = 2;
      return TRUE;
    default:
      *n = 0;
      return FALSE;
    }
}

static Entry *
find_entry (PlSession     *self,
            const char    *name,
            PlProtocol     protocol,
            GSocketFamily  family)
{
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry->protocol == protocol && entry->family == family &&
          g_strcmp0 (entry->profile_name, name) == 0)
        return entry;
    }
  return NULL;
}

/* The families a profile maps now: IPv4 unless it is IPv6 only; IPv6 when it asks for it
 * alone (then failing with why if there are no pinholes), or for both while pinholes can
 * be had. */
static guint
profile_to_families (PlSession     *self,
                     PlProfile     *profile,
                     GSocketFamily  families[2])
{
  PlProfileFamily family = pl_profile_get_family (profile);
  guint n = 0;

  if (family != PL_PROFILE_FAMILY_IPV6)
    families[n++] = G_SOCKET_FAMILY_IPV4;
  if (family == PL_PROFILE_FAMILY_IPV6 ||
      (family == PL_PROFILE_FAMILY_BOTH && self->mapper6 != NULL))
    families[n++] = G_SOCKET_FAMILY_IPV6;
  return n;
}

static void
entry_apply_profile (PlSession *self,
                     Entry     *entry,
                     PlProfile *profile)
{
  g_autoptr(GError) config_error = NULL;
  gboolean enabled = pl_profile_get_enabled (profile);
  guint16 internal_port = (guint16) MIN (pl_profile_get_internal_port (profile), G_MAXUINT16);
  guint16 requested_port = (guint16) MIN (pl_profile_get_external_port (profile), G_MAXUINT16);
  guint32 lifetime = CLAMP (pl_profile_get_lifetime (profile), 1, 86400);
  gboolean was_active = entry->enabled && entry->config_error == NULL;
  gboolean is_active;
  gboolean ports_changed;
  gboolean changed = FALSE;

  if (!pl_profile_validate (profile, &config_error))
    g_debug ("Not mapping profile %s: %s", entry->profile_name, config_error->message);

  ports_changed = internal_port != entry->internal_port ||
                  requested_port != entry->requested_port;
  is_active = enabled && config_error == NULL;

  /* Switched off, or now something else: delete what the old values mapped. */
  if (was_active && (!is_active || ports_changed))
    entry_release (self, entry);

  entry->enabled = enabled;
  entry->internal_port = internal_port;
  entry->requested_port = requested_port;
  entry->lifetime = lifetime;     /* a new lifetime applies from the next renewal */
  g_clear_error (&entry->config_error);
  entry->config_error = g_steal_pointer (&config_error);

  g_object_freeze_notify (G_OBJECT (entry->mapping));
  changed |= _pl_mapping_set_internal_port (entry->mapping, internal_port);
  changed |= _pl_mapping_set_requested_external_port (entry->mapping, requested_port);
  g_object_thaw_notify (G_OBJECT (entry->mapping));
  if (changed)
    g_signal_emit (self, signals[SIGNAL_MAPPING_CHANGED], 0, entry->mapping);

  if (!is_active)
    {
      if (enabled && entry->config_error != NULL)
        entry_publish (entry, PL_MAPPING_STATE_FAILED, 0, 0, 0, 0, entry->config_error, 0);
      else
        entry_publish_disabled (entry);
    }
  else if (!was_active || ports_changed)
    {
      entry->failures = 0;
      if (entry->family == G_SOCKET_FAMILY_IPV6 && self->mapper6 == NULL &&
          self->no_ipv6_error != NULL)
        entry_publish (entry, PL_MAPPING_STATE_FAILED, 0, 0, 0, 0, self->no_ipv6_error, 0);
      else if (mapper_for (self, entry->family) != NULL || self->probe != NULL ||
               self->probe6 != NULL)
        {
          entry_publish (entry, PL_MAPPING_STATE_MAPPING, 0, 0, 0, 0, NULL, 0);
          queue_map (self, entry);
        }
      else if (self->no_gateway_error != NULL)
        entry_publish (entry, PL_MAPPING_STATE_FAILED, 0, 0, 0, 0, self->no_gateway_error,
                       self->discover_at);
      else
        entry_publish (entry, PL_MAPPING_STATE_MAPPING, 0, 0, 0, 0, NULL, 0);
    }
}

static void
profile_notify_cb (GObject    *profile,
                   GParamSpec *pspec,
                   gpointer    user_data)
{
  schedule_reconcile (PL_SESSION (user_data));
}

static void
unwatch_profiles (PlSession *self)
{
  for (guint i = 0; i < self->watched->len; i++)
    g_signal_handlers_disconnect_by_func (g_ptr_array_index (self->watched, i),
                                          profile_notify_cb, self);
  g_ptr_array_set_size (self->watched, 0);
}

/* Bring the mappings in line with the profiles: one entry per profile and protocol, keyed
 * by (profile name, protocol), in the order of the model. */
static void
reconcile (PlSession *self)
{
  g_autoptr(GPtrArray) order = g_ptr_array_new ();
  guint n_items = g_list_model_get_n_items (self->profiles);
  gboolean same_order;

  unwatch_profiles (self);

  for (guint i = 0; i < self->entries->len; i++)
    ((Entry *) g_ptr_array_index (self->entries, i))->seen = FALSE;

  for (guint i = 0; i < n_items; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (self->profiles, i);
      PlProfile *profile;
      PlProtocol protocols[2];
      GSocketFamily families[2];
      guint n_families;
      const char *name;
      guint n = 0;

      if (!PL_IS_PROFILE (item))
        continue;
      profile = PL_PROFILE (item);
      name = pl_profile_get_name (profile);
      if (name == NULL)
        continue;

      g_signal_connect (profile, "notify", G_CALLBACK (profile_notify_cb), self);
      g_ptr_array_add (self->watched, g_object_ref (profile));

      profile_to_protocols (profile, protocols, &n);
      n_families = profile_to_families (self, profile, families);
      for (guint f = 0; f < n_families; f++)
        for (guint p = 0; p < n; p++)
          {
            Entry *entry = find_entry (self, name, protocols[p], families[f]);

            if (entry == NULL)
              {
                entry = entry_new (self, name, protocols[p], families[f]);
                g_ptr_array_add (self->entries, entry);
              }
            else if (entry->seen)
              continue;   /* two profiles with one name: the first wins */

            entry->seen = TRUE;
            g_ptr_array_add (order, entry);
            entry_apply_profile (self, entry, profile);
          }
    }

  /* Gone: delete on the gateway and drop. */
  for (guint i = self->entries->len; i > 0; i--)
    {
      Entry *entry = g_ptr_array_index (self->entries, i - 1);

      if (entry->seen)
        continue;
      if (entry->enabled && entry->config_error == NULL)
        entry_release (self, entry);
      g_ptr_array_remove_index (self->entries, i - 1);
      entry_free (entry);
    }

  /* self->entries now holds exactly the entries of @order; adopt that order. */
  same_order = order->len == g_list_model_get_n_items (G_LIST_MODEL (self->mappings));
  for (guint i = 0; same_order && i < order->len; i++)
    {
      g_autoptr(PlMapping) mapping = g_list_model_get_item (G_LIST_MODEL (self->mappings), i);

      same_order = mapping == ((Entry *) g_ptr_array_index (order, i))->mapping;
    }

  g_ptr_array_set_size (self->entries, 0);
  for (guint i = 0; i < order->len; i++)
    g_ptr_array_add (self->entries, g_ptr_array_index (order, i));

  if (!same_order)
    {
      g_autofree gpointer *mappings = g_new0 (gpointer, order->len + 1);

      for (guint i = 0; i < order->len; i++)
        mappings[i] = ((Entry *) g_ptr_array_index (order, i))->mapping;
      g_list_store_splice (self->mappings, 0,
                           g_list_model_get_n_items (G_LIST_MODEL (self->mappings)),
                           mappings, order->len);
    }
}

static gboolean
reconcile_idle_cb (gpointer data)
{
  PlSession *self = data;

  self->reconcile_id = 0;
  if (self->running)
    reconcile (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_reconcile (PlSession *self)
{
  GSource *source;

  if (self->reconcile_id != 0 || !self->running)
    return;

  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, reconcile_idle_cb, self, NULL);
  g_source_set_static_name (source, "[portlight] apply profile changes");
  self->reconcile_id = g_source_attach (source, self->context);
  g_source_unref (source);
}

static void
profiles_changed_cb (GListModel *model,
                     guint       position,
                     guint       removed,
                     guint       added,
                     gpointer    user_data)
{
  schedule_reconcile (PL_SESSION (user_data));
}

/* Stop and dispose. */

static void
remove_source_id (PlSession *self,
                  guint     *id)
{
  if (*id != 0)
    {
      GSource *source = g_main_context_find_source_by_id (self->context, *id);

      if (source != NULL)
        g_source_destroy (source);
      *id = 0;
    }
}

/* Everything but the queue and the mapper: no more timers, events or profile changes. */
static void
shut_down_watchers (PlSession *self)
{
  g_cancellable_cancel (self->cancellable);
  if (self->items_changed_id != 0)
    g_clear_signal_handler (&self->items_changed_id, self->profiles);
  unwatch_profiles (self);
  remove_source_id (self, &self->reconcile_id);
  if (self->monitor != NULL)
    {
      g_clear_signal_handler (&self->monitor_id, self->monitor);
      g_clear_object (&self->monitor);
    }
  if (self->system_bus != NULL)
    {
      if (self->sleep_subscription != 0)
        g_dbus_connection_signal_unsubscribe (self->system_bus, self->sleep_subscription);
      self->sleep_subscription = 0;
      g_clear_object (&self->system_bus);
    }
  set_listening (self, FALSE);
  pl_clear_source (&self->network_timer);
  pl_clear_source (&self->discover_timer);
  pl_clear_source (&self->round_timer);
  pl_clear_source (&self->address_timer);
  for (guint i = 0; i < self->entries->len; i++)
    entry_clear_timers (g_ptr_array_index (self->entries, i));
}

static void
stop_complete (PlSession *self)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->stop_task);
  guint unconfirmed;

  pl_clear_source (&self->stop_timer);
  pl_clear_source (&self->stop_cancel);
  unconfirmed = self->stop_unconfirmed + self->unmaps->len;
  self->stopping = FALSE;
  abandon_requests (self, FALSE);

  if (task == NULL)
    return;

  if (unconfirmed > 0)
    g_task_return_new_error (task, PL_ERROR, PL_ERROR_TIMED_OUT,
                             g_dngettext (GETTEXT_PACKAGE,
                                          "%u mapping could not be removed from the router at "
                                          "%s; it expires on its own",
                                          "%u mappings could not be removed from the router at "
                                          "%s; they expire on their own",
                                          unconfirmed),
                             unconfirmed, self->gateway_str);
  else
    g_task_return_boolean (task, TRUE);
}

/* The caller gave up waiting: what is left is abandoned at once (the mappings expire on
 * their own), and the task returns G_IO_ERROR_CANCELLED. */
static gboolean
stop_cancelled_cb (GCancellable *cancellable,
                   gpointer      data)
{
  PlSession *self = data;

  g_clear_pointer (&self->stop_cancel, g_source_unref);
  g_debug ("Stop cancelled; abandoning %u deletes", self->unmaps->len);
  stop_complete (self);
  return G_SOURCE_REMOVE;
}

static gboolean
stop_timeout_cb (gpointer data)
{
  PlSession *self = data;

  g_clear_pointer (&self->stop_timer, g_source_unref);
  stop_complete (self);
  return G_SOURCE_REMOVE;
}

static void
pl_session_dispose (GObject *object)
{
  PlSession *self = PL_SESSION (object);

  self->running = FALSE;
  shut_down_watchers (self);
  drop_mapper (self);
  pl_clear_source (&self->stop_timer);
  pl_clear_source (&self->stop_cancel);

  if (self->entries != NULL)
    {
      for (guint i = 0; i < self->entries->len; i++)
        entry_free (g_ptr_array_index (self->entries, i));
      g_ptr_array_set_size (self->entries, 0);
    }
  if (self->mappings != NULL)
    g_list_store_remove_all (self->mappings);

  if (self->mapper_factory_destroy != NULL)
    g_clear_pointer (&self->mapper_factory_data, self->mapper_factory_destroy);
  self->mapper_factory = NULL;
  if (self->discover_destroy != NULL)
    g_clear_pointer (&self->discover_data, self->discover_destroy);
  self->discover_func = NULL;
  if (self->ipv6_discover_destroy != NULL)
    g_clear_pointer (&self->ipv6_discover_data, self->ipv6_discover_destroy);
  self->ipv6_discover_func = NULL;
  if (self->neighbour_destroy != NULL)
    g_clear_pointer (&self->neighbour_data, self->neighbour_destroy);
  self->neighbour_func = NULL;
  g_clear_object (&self->memory);

  g_clear_object (&self->profiles);
  g_clear_object (&self->fixed_gateway);
  g_clear_object (&self->gateway);
  g_clear_object (&self->journal);

  G_OBJECT_CLASS (pl_session_parent_class)->dispose (object);
}

static void
pl_session_finalize (GObject *object)
{
  PlSession *self = PL_SESSION (object);

  g_assert (self->stop_task == NULL);

  g_clear_pointer (&self->entries, g_ptr_array_unref);
  g_clear_pointer (&self->unmaps, g_ptr_array_unref);
  g_clear_object (&self->mappings);
  g_clear_pointer (&self->watched, g_ptr_array_unref);
  g_clear_object (&self->clock);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->gateway_str, g_free);
  g_clear_pointer (&self->gateway_iface, g_free);
  g_clear_pointer (&self->external_address, g_free);
  g_clear_error (&self->no_gateway_error);
  g_clear_error (&self->no_ipv6_error);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (pl_session_parent_class)->finalize (object);
}

static void
pl_session_constructed (GObject *object)
{
  PlSession *self = PL_SESSION (object);

  G_OBJECT_CLASS (pl_session_parent_class)->constructed (object);

  if (self->clock == NULL)
    self->clock = pl_clock_get_default ();
  if (self->profiles == NULL)
    self->profiles = G_LIST_MODEL (g_list_store_new (PL_TYPE_PROFILE));
}

static void
pl_session_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  PlSession *self = PL_SESSION (object);

  switch (prop_id)
    {
    case PROP_PROFILES:
      g_value_set_object (value, self->profiles);
      break;
    case PROP_CLOCK:
      g_value_set_object (value, self->clock);
      break;
    case PROP_FIXED_GATEWAY:
      g_value_set_object (value, self->fixed_gateway);
      break;
    case PROP_GATEWAY:
      g_value_set_object (value, self->gateway);
      break;
    case PROP_KEEP_MAPPINGS_ON_EXIT:
      g_value_set_boolean (value, self->keep_mappings);
      break;
    case PROP_EXTERNAL_ADDRESS:
      g_value_set_string (value, self->external_address);
      break;
    case PROP_DOUBLE_NAT:
      g_value_set_boolean (value, self->double_nat);
      break;
    case PROP_ANNOUNCE_PORT:
      g_value_set_uint (value, self->announce_port);
      break;
    case PROP_MONITOR_NETWORK:
      g_value_set_boolean (value, self->monitor_network);
      break;
    case PROP_STOP_TIMEOUT:
      g_value_set_uint (value, self->stop_timeout);
      break;
    case PROP_LISTENING:
      g_value_set_boolean (value, self->listening);
      break;
    case PROP_PROTOCOL_NAME:
      g_value_set_string (value, pl_session_get_protocol_name (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pl_session_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  PlSession *self = PL_SESSION (object);

  switch (prop_id)
    {
    case PROP_PROFILES:
      self->profiles = g_value_dup_object (value);
      break;
    case PROP_CLOCK:
      self->clock = g_value_dup_object (value);
      break;
    case PROP_FIXED_GATEWAY:
      pl_session_set_gateway (self, g_value_get_object (value));
      break;
    case PROP_KEEP_MAPPINGS_ON_EXIT:
      pl_session_set_keep_mappings_on_exit (self, g_value_get_boolean (value));
      break;
    case PROP_ANNOUNCE_PORT:
      self->announce_port = (guint16) g_value_get_uint (value);
      break;
    case PROP_MONITOR_NETWORK:
      self->monitor_network = g_value_get_boolean (value);
      break;
    case PROP_STOP_TIMEOUT:
      pl_session_set_stop_timeout (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pl_session_class_init (PlSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = pl_session_constructed;
  object_class->dispose = pl_session_dispose;
  object_class->finalize = pl_session_finalize;
  object_class->get_property = pl_session_get_property;
  object_class->set_property = pl_session_set_property;

  /**
   * PlSession:profiles:
   *
   * The profiles to keep mapped: a #GListModel of [class@Pl.Profile].
   */
  properties[PROP_PROFILES] =
    g_param_spec_object ("profiles", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:clock:
   *
   * The clock for every timer; %NULL at construction means the real clock.
   */
  properties[PROP_CLOCK] =
    g_param_spec_object ("clock", NULL, NULL, PL_TYPE_CLOCK,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:fixed-gateway:
   *
   * A gateway given by the user; %NULL to discover the default gateway and follow network
   * changes.
   */
  properties[PROP_FIXED_GATEWAY] =
    g_param_spec_object ("fixed-gateway", NULL, NULL, G_TYPE_INET_ADDRESS,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:gateway:
   *
   * The gateway in use, %NULL when none is known.
   */
  properties[PROP_GATEWAY] =
    g_param_spec_object ("gateway", NULL, NULL, G_TYPE_INET_ADDRESS,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:keep-mappings-on-exit:
   *
   * Whether [method@Pl.Session.stop_async] leaves the mappings on the gateway (they then
   * expire on their own).
   */
  properties[PROP_KEEP_MAPPINGS_ON_EXIT] =
    g_param_spec_boolean ("keep-mappings-on-exit", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:external-address:
   *
   * The gateway's public IPv4 address as text, %NULL while unknown.
   */
  properties[PROP_EXTERNAL_ADDRESS] =
    g_param_spec_string ("external-address", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:double-nat:
   *
   * Whether the gateway's "public" address is private or carrier-grade NAT space, so that
   * another NAT sits in front of it (PMP-37): mappings then probably do not reach the
   * Internet.
   */
  properties[PROP_DOUBLE_NAT] =
    g_param_spec_boolean ("double-nat", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:announce-port:
   *
   * The port to listen on for announcements (5350); 0 does not listen. For tests.
   */
  properties[PROP_ANNOUNCE_PORT] =
    g_param_spec_uint ("announce-port", NULL, NULL, 0, G_MAXUINT16, PL_NATPMP_CLIENT_PORT,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:monitor-network:
   *
   * Whether to follow #GNetworkMonitor and logind's resume signal. Tests turn it off and
   * call [method@Pl.Session.network_changed] instead.
   */
  properties[PROP_MONITOR_NETWORK] =
    g_param_spec_boolean ("monitor-network", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:stop-timeout:
   *
   * How long [method@Pl.Session.stop_async] may take, in milliseconds.
   */
  properties[PROP_STOP_TIMEOUT] =
    g_param_spec_uint ("stop-timeout", NULL, NULL, 1, G_MAXUINT,
                       PL_SESSION_DEFAULT_STOP_TIMEOUT_MS,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:listening:
   *
   * Whether announcements are being received. Binding 224.0.0.1:5350 can fail; renewals
   * run on schedule regardless.
   */
  properties[PROP_LISTENING] =
    g_param_spec_boolean ("listening", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:protocol-name:
   *
   * The protocol spoken with the gateway ("PCP", "NAT-PMP"), or %NULL while there is no
   * gateway or it is still being asked what it speaks.
   */
  properties[PROP_PROTOCOL_NAME] =
    g_param_spec_string ("protocol-name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PlSession::mapping-changed:
   * @self: the session
   * @mapping: the [class@Pl.Mapping] that changed
   *
   * Emitted once for each batch of property changes of a mapping.
   */
  signals[SIGNAL_MAPPING_CHANGED] =
    g_signal_new ("mapping-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, PL_TYPE_MAPPING);

  /**
   * PlSession::external-address-changed:
   * @self: the session
   * @address: (nullable): the new public address, %NULL when unknown
   *
   * Emitted when the gateway's public address changes.
   */
  signals[SIGNAL_EXTERNAL_ADDRESS_CHANGED] =
    g_signal_new ("external-address-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * PlSession::router-reset:
   * @self: the session
   * @n_mappings: how many mappings are being created again
   *
   * Emitted once for each round of re-creation after the gateway lost its state (reboot,
   * or a new public address).
   */
  signals[SIGNAL_ROUTER_RESET] =
    g_signal_new ("router-reset",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_UINT);

  /**
   * PlSession::double-nat-changed:
   * @self: the session
   * @double_nat: the new value of [property@Pl.Session:double-nat]
   *
   * Emitted when the gateway turns out to be (or no longer be) behind another NAT.
   */
  signals[SIGNAL_DOUBLE_NAT_CHANGED] =
    g_signal_new ("double-nat-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_BOOLEAN);

  /**
   * PlSession::gateway-changed:
   * @self: the session
   * @gateway: (nullable): the new gateway's address, %NULL when none was found
   *
   * Emitted when the session starts using another gateway (or none).
   */
  signals[SIGNAL_GATEWAY_CHANGED] =
    g_signal_new ("gateway-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
pl_session_init (PlSession *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->entries = g_ptr_array_new ();
  self->mappings = g_list_store_new (PL_TYPE_MAPPING);
  self->watched = g_ptr_array_new_with_free_func (g_object_unref);
  self->cancellable = g_cancellable_new ();
  self->announce_port = PL_NATPMP_CLIENT_PORT;
  self->monitor_network = TRUE;
  self->stop_timeout = PL_SESSION_DEFAULT_STOP_TIMEOUT_MS;
  self->unmaps = g_ptr_array_new ();
  self->ipv6_pinholes = TRUE;
}

/**
 * pl_session_new:
 * @profiles: a #GListModel of [class@Pl.Profile], such as a [class@Pl.ProfileStore]
 * @clock: (nullable): the clock for all timing, %NULL for the real one
 * @gateway: (nullable): a gateway given by the user, %NULL to discover it
 * @keep_mappings_on_exit: whether stopping leaves the mappings on the gateway
 *
 * Creates a session. Nothing happens until [method@Pl.Session.start].
 *
 * Returns: (transfer full): a new session
 */
PlSession *
pl_session_new (GListModel   *profiles,
                PlClock      *clock,
                GInetAddress *gateway,
                gboolean      keep_mappings_on_exit)
{
  g_return_val_if_fail (G_IS_LIST_MODEL (profiles), NULL);
  g_return_val_if_fail (clock == NULL || PL_IS_CLOCK (clock), NULL);
  g_return_val_if_fail (gateway == NULL || G_IS_INET_ADDRESS (gateway), NULL);

  return g_object_new (PL_TYPE_SESSION,
                       "profiles", profiles,
                       "clock", clock,
                       "fixed-gateway", gateway,
                       "keep-mappings-on-exit", keep_mappings_on_exit,
                       NULL);
}

/**
 * pl_session_set_mapper_factory:
 * @self: a [class@Pl.Session]
 * @factory: (nullable): makes the mapper for a gateway; %NULL for the default (PlClient)
 * @user_data: data for @factory
 * @destroy: (nullable): frees @user_data
 *
 * Chooses how the session talks to a gateway. Call it before [method@Pl.Session.start].
 */
void
pl_session_set_mapper_factory (PlSession              *self,
                               PlSessionMapperFactory  factory,
                               gpointer                user_data,
                               GDestroyNotify          destroy)
{
  g_return_if_fail (PL_IS_SESSION (self));
  g_return_if_fail (!self->started);

  if (self->mapper_factory_destroy != NULL)
    g_clear_pointer (&self->mapper_factory_data, self->mapper_factory_destroy);
  self->mapper_factory = factory;
  self->mapper_factory_data = user_data;
  self->mapper_factory_destroy = destroy;
}

/**
 * pl_session_set_method:
 * @self: a [class@Pl.Session]
 * @method: the protocol to speak; %PL_METHOD_AUTO (the default) asks each gateway, PCP
 *   preferred, NAT-PMP when that is all it speaks
 *
 * Chooses the protocol. Ignored when a mapper factory is set. Call it before
 * [method@Pl.Session.start].
 */
void
pl_session_set_method (PlSession *self,
                       PlMethod   method)
{
  g_return_if_fail (PL_IS_SESSION (self));
  g_return_if_fail (!self->started);
  g_return_if_fail (method == PL_METHOD_AUTO || method == PL_METHOD_PCP ||
                    method == PL_METHOD_NATPMP);

  self->method = method;
}

/**
 * pl_session_set_journal:
 * @self: a [class@Pl.Session]
 * @journal: (nullable): a loaded [class@Pl.PcpState]
 *
 * Where the mappers keep what a later process needs to renew and delete this one's
 * mappings (PCP's nonces): with it, a session started again after a crash or a `kill -9`
 * takes its mappings back instead of leaving orphans. Call it before
 * [method@Pl.Session.start].
 */
void
pl_session_set_journal (PlSession  *self,
                        PlPcpState *journal)
{
  g_return_if_fail (PL_IS_SESSION (self));
  g_return_if_fail (!self->started);

  g_set_object (&self->journal, journal);
}

/**
 * pl_session_set_method_memory:
 * @self: a [class@Pl.Session]
 * @memory: (nullable): a loaded [class@Pl.MethodMemory]
 *
 * Remembers which protocol each gateway (address and MAC) speaks, so that a gateway seen
 * before is spoken to at once, without a probe (a router that drops PCP costs the probe a
 * second). A remembered protocol that stops answering is forgotten and the gateway probed
 * again. Call it before [method@Pl.Session.start].
 */
void
pl_session_set_method_memory (PlSession      *self,
                              PlMethodMemory *memory)
{
  g_return_if_fail (PL_IS_SESSION (self));
  g_return_if_fail (!self->started);

  g_set_object (&self->memory, memory);
}

/**
 * pl_session_set_neighbour_func:
 * @self: a [class@Pl.Session]
 * @func: (nullable): finds a gateway's MAC; %NULL for the kernel's neighbour table
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data
 *
 * For tests.
 */
void
pl_session_set_neighbour_func (PlSession              *self,
                               PlSessionNeighbourFunc  func,
                               gpointer                user_data,
                               GDestroyNotify          destroy)
{
  g_return_if_fail (PL_IS_SESSION (self));

  if (self->neighbour_destroy != NULL)
    g_clear_pointer (&self->neighbour_data, self->neighbour_destroy);
  self->neighbour_func = func;
  self->neighbour_data = user_data;
  self->neighbour_destroy = destroy;
}

/**
 * pl_session_get_protocol_name:
 * @self: a [class@Pl.Session]
 *
 * Returns: (nullable): the protocol spoken with the gateway ("PCP", "NAT-PMP"), or %NULL
 *   while there is none or it is being asked
 */
const char *
pl_session_get_protocol_name (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), NULL);

  return self->mapper != NULL ? pl_port_mapper_get_protocol_name (self->mapper) : NULL;
}

/**
 * pl_session_set_discover_func:
 * @self: a [class@Pl.Session]
 * @func: (nullable): finds the default gateway; %NULL for [func@Pl.gateway_discover]
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data
 *
 * Chooses how the default gateway is found when no fixed gateway is set. For tests.
 */
void
pl_session_set_discover_func (PlSession             *self,
                              PlSessionDiscoverFunc  func,
                              gpointer               user_data,
                              GDestroyNotify         destroy)
{
  g_return_if_fail (PL_IS_SESSION (self));

  if (self->discover_destroy != NULL)
    g_clear_pointer (&self->discover_data, self->discover_destroy);
  self->discover_func = func;
  self->discover_data = user_data;
  self->discover_destroy = destroy;
}

/**
 * pl_session_start:
 * @self: a [class@Pl.Session]
 *
 * Starts listening for announcements, finds the gateway and maps every enabled profile.
 * A session starts once; after [method@Pl.Session.stop_async] it stays stopped.
 */
void
pl_session_start (PlSession *self)
{
  g_return_if_fail (PL_IS_SESSION (self));

  if (self->started)
    return;
  self->started = TRUE;
  self->running = TRUE;

  self->items_changed_id = g_signal_connect (self->profiles, "items-changed",
                                             G_CALLBACK (profiles_changed_cb), self);
  reconcile (self);

  if (self->monitor_network)
    {
      GWeakRef *weak = g_new0 (GWeakRef, 1);

      self->monitor = g_object_ref (g_network_monitor_get_default ());
      self->monitor_id = g_signal_connect (self->monitor, "network-changed",
                                           G_CALLBACK (network_changed_cb), self);

      g_weak_ref_init (weak, self);
      g_bus_get (G_BUS_TYPE_SYSTEM, self->cancellable, system_bus_cb, weak);
    }

  discover_and_apply (self);
}

/**
 * pl_session_is_running:
 * @self: a [class@Pl.Session]
 *
 * Returns: %TRUE between [method@Pl.Session.start] and [method@Pl.Session.stop_async]
 */
gboolean
pl_session_is_running (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), FALSE);

  return self->running;
}

/**
 * pl_session_get_profiles:
 * @self: a [class@Pl.Session]
 *
 * Returns: (transfer none): the profiles the session follows
 */
GListModel *
pl_session_get_profiles (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), NULL);

  return self->profiles;
}

/**
 * pl_session_get_clock:
 * @self: a [class@Pl.Session]
 *
 * Returns: (transfer none): the session's clock
 */
PlClock *
pl_session_get_clock (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), NULL);

  return self->clock;
}

/**
 * pl_session_get_mappings:
 * @self: a [class@Pl.Session]
 *
 * The mappings, one per profile and protocol (TCP before UDP), in the order of the
 * profiles, disabled ones included.
 *
 * Returns: (transfer none): a #GListModel of [class@Pl.Mapping]
 */
GListModel *
pl_session_get_mappings (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), NULL);

  return G_LIST_MODEL (self->mappings);
}

/**
 * pl_session_find_mapping:
 * @self: a [class@Pl.Session]
 * @profile_name: a profile's name
 * @protocol: TCP or UDP
 *
 * Returns: (transfer none) (nullable): the mapping of @profile_name for @protocol
 */
PlMapping *
pl_session_find_mapping (PlSession  *self,
                         const char *profile_name,
                         PlProtocol  protocol)
{
  Entry *entry;

  g_return_val_if_fail (PL_IS_SESSION (self), NULL);
  g_return_val_if_fail (profile_name != NULL, NULL);

  entry = find_entry (self, profile_name, protocol, G_SOCKET_FAMILY_IPV4);
  return entry != NULL ? entry->mapping : NULL;
}

/**
 * pl_session_find_mapping_full:
 * @self: a [class@Pl.Session]
 * @profile_name: the profile's name
 * @protocol: TCP or UDP
 * @family: %G_SOCKET_FAMILY_IPV4, or %G_SOCKET_FAMILY_IPV6 for its pinhole
 *
 * Returns: (transfer none) (nullable): the mapping, if the profile has it
 */
PlMapping *
pl_session_find_mapping_full (PlSession     *self,
                              const char    *profile_name,
                              PlProtocol     protocol,
                              GSocketFamily  family)
{
  Entry *entry;

  g_return_val_if_fail (PL_IS_SESSION (self), NULL);
  g_return_val_if_fail (profile_name != NULL, NULL);

  entry = find_entry (self, profile_name, protocol, family);
  return entry != NULL ? entry->mapping : NULL;
}

/**
 * pl_session_get_ipv6_address:
 * @self: a [class@Pl.Session]
 *
 * Returns: (nullable): the address IPv6 pinholes open (this computer's stable global
 *   address), while the router opens them; else %NULL
 */
const char *
pl_session_get_ipv6_address (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), NULL);

  return self->mapper6 != NULL ? self->address6 : NULL;
}

/**
 * pl_session_set_ipv6_pinholes:
 * @self: a [class@Pl.Session]
 * @enabled: whether profiles that allow it also get IPv6 pinholes (the default)
 *
 * With %FALSE only IPv4 mappings are made, whatever the profiles' Family says. Call it
 * before [method@Pl.Session.start].
 */
void
pl_session_set_ipv6_pinholes (PlSession *self,
                              gboolean   enabled)
{
  g_return_if_fail (PL_IS_SESSION (self));
  g_return_if_fail (!self->started);

  self->ipv6_pinholes = !!enabled;
}

/**
 * pl_session_set_ipv6_discover_func:
 * @self: a [class@Pl.Session]
 * @func: (nullable): finds the IPv6 router and this computer's address; %NULL for the
 *   kernel's (netlink)
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data
 *
 * Chooses how IPv6 pinholes find their router. For tests.
 */
void
pl_session_set_ipv6_discover_func (PlSession                 *self,
                                   PlSessionIpv6DiscoverFunc  func,
                                   gpointer                   user_data,
                                   GDestroyNotify             destroy)
{
  g_return_if_fail (PL_IS_SESSION (self));

  if (self->ipv6_discover_destroy != NULL)
    g_clear_pointer (&self->ipv6_discover_data, self->ipv6_discover_destroy);
  self->ipv6_discover_func = func;
  self->ipv6_discover_data = user_data;
  self->ipv6_discover_destroy = destroy;
}

/**
 * pl_session_get_gateway:
 * @self: a [class@Pl.Session]
 *
 * Returns: (transfer none) (nullable): the gateway in use
 */
GInetAddress *
pl_session_get_gateway (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), NULL);

  return self->gateway;
}

/**
 * pl_session_get_external_address:
 * @self: a [class@Pl.Session]
 *
 * Returns: (nullable): the gateway's public IPv4 address as text
 */
const char *
pl_session_get_external_address (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), NULL);

  return self->external_address;
}

/**
 * pl_session_get_double_nat:
 * @self: a [class@Pl.Session]
 *
 * Returns: %TRUE when the gateway's public address is itself behind a NAT
 */
gboolean
pl_session_get_double_nat (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), FALSE);

  return self->double_nat;
}

/**
 * pl_session_get_listening:
 * @self: a [class@Pl.Session]
 *
 * Returns: %TRUE when announcements are being received
 */
gboolean
pl_session_get_listening (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), FALSE);

  return self->listening;
}

/**
 * pl_session_get_keep_mappings_on_exit:
 * @self: a [class@Pl.Session]
 *
 * Returns: whether stopping leaves the mappings on the gateway
 */
gboolean
pl_session_get_keep_mappings_on_exit (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), FALSE);

  return self->keep_mappings;
}

/**
 * pl_session_set_keep_mappings_on_exit:
 * @self: a [class@Pl.Session]
 * @keep: whether stopping leaves the mappings on the gateway
 */
void
pl_session_set_keep_mappings_on_exit (PlSession *self,
                                      gboolean   keep)
{
  g_return_if_fail (PL_IS_SESSION (self));

  keep = !!keep;
  if (self->keep_mappings == (guint) keep)
    return;
  self->keep_mappings = keep;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_KEEP_MAPPINGS_ON_EXIT]);
}

/**
 * pl_session_get_stop_timeout:
 * @self: a [class@Pl.Session]
 *
 * Returns: the bound on [method@Pl.Session.stop_async], in milliseconds
 */
guint
pl_session_get_stop_timeout (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), 0);

  return self->stop_timeout;
}

/**
 * pl_session_set_stop_timeout:
 * @self: a [class@Pl.Session]
 * @timeout_ms: the bound on [method@Pl.Session.stop_async], in milliseconds (not 0)
 */
void
pl_session_set_stop_timeout (PlSession *self,
                             guint      timeout_ms)
{
  g_return_if_fail (PL_IS_SESSION (self));
  g_return_if_fail (timeout_ms > 0);

  if (self->stop_timeout == timeout_ms)
    return;
  self->stop_timeout = timeout_ms;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STOP_TIMEOUT]);
}

/**
 * pl_session_set_gateway:
 * @self: a [class@Pl.Session]
 * @gateway: (nullable): the gateway to use, %NULL to discover the default gateway
 *
 * Sets [property@Pl.Session:fixed-gateway]. On a running session a different gateway is
 * taken into use at once, starting over there.
 */
void
pl_session_set_gateway (PlSession    *self,
                        GInetAddress *gateway)
{
  g_return_if_fail (PL_IS_SESSION (self));
  g_return_if_fail (gateway == NULL || G_IS_INET_ADDRESS (gateway));

  if (self->fixed_gateway == gateway ||
      (self->fixed_gateway != NULL && gateway != NULL &&
       g_inet_address_equal (self->fixed_gateway, gateway)))
    return;

  g_set_object (&self->fixed_gateway, gateway);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FIXED_GATEWAY]);

  if (self->running && !self->stopping)
    discover_and_apply (self);
}

/**
 * pl_session_network_changed:
 * @self: a [class@Pl.Session]
 *
 * Handles a network change now, as on #GNetworkMonitor::network-changed or a resume: the
 * gateway is discovered again (unless fixed); a new one means starting over there, the
 * same one means checking that nothing went stale.
 */
void
pl_session_network_changed (PlSession *self)
{
  g_return_if_fail (PL_IS_SESSION (self));

  if (!self->running)
    return;
  pl_clear_source (&self->network_timer);
  discover_and_apply (self);
}

/**
 * pl_session_stop_async:
 * @self: a [class@Pl.Session]
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Stops the session. Unless [property@Pl.Session:keep-mappings-on-exit] is set, every
 * mapping is deleted on the gateway first, within [property@Pl.Session:stop-timeout]: each
 * delete is sent at least once even if the gateway does not answer (F-29), and what is left
 * at the deadline is abandoned (the mappings expire on their own). Cancelling @cancellable
 * abandons them at once, and the stop ends with %G_IO_ERROR_CANCELLED; the session is
 * stopped either way.
 */
void
pl_session_stop_async (PlSession           *self,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GPtrArray) mapped = NULL;
  guint n;

  g_return_if_fail (PL_IS_SESSION (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pl_session_stop_async);

  if (self->stop_task != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               _("The session is already stopping"));
      return;
    }
  if (!self->running)
    {
      self->started = TRUE;
      g_task_return_boolean (task, TRUE);
      return;
    }

  self->running = FALSE;
  shut_down_watchers (self);

  /* Map requests and the address query are dropped; deletes already out stay, and every
   * mapping that may exist (a request out counts) gets one. */
  mapped = g_ptr_array_new ();
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry->enabled && entry->config_error == NULL && entry_may_be_mapped (entry))
        g_ptr_array_add (mapped, entry);
    }
  abandon_requests (self, !self->keep_mappings);

  if (self->keep_mappings || (self->mapper == NULL && self->mapper6 == NULL))
    {
      abandon_requests (self, FALSE);
      g_task_return_boolean (task, TRUE);
      return;
    }

  self->stop_unconfirmed = 0;
  for (guint i = 0; i < mapped->len; i++)
    {
      Entry *entry = g_ptr_array_index (mapped, i);
      gboolean out = FALSE;

      for (guint k = 0; k < self->unmaps->len && !out; k++)
        {
          Op *op = g_ptr_array_index (self->unmaps, k);

          out = op->family == entry->family && op->protocol == entry->protocol &&
                op->internal_port == entry->internal_port;
        }
      if (!out)
        submit_unmap (self, entry->family, entry->protocol, entry->internal_port);
    }
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      entry->last_port = 0;
      entry->expires = 0;
      entry_publish_disabled (entry);
    }

  if (self->unmaps->len == 0)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  /* The time is shared out in order: the i-th delete is given up at (i + 1) / n of it, so
   * that each goes out at least once however silent the gateway is, also where the mapper
   * sends one request at a time (NAT-PMP). */
  self->stopping = TRUE;
  self->stop_task = g_steal_pointer (&task);
  self->stop_deadline = now_us (self) + (gint64) self->stop_timeout * 1000;
  n = self->unmaps->len;
  for (guint i = 0; i < n; i++)
    {
      Op *op = g_ptr_array_index (self->unmaps, i);
      guint64 at_ms = (guint64) self->stop_timeout * (i + 1) / n;

      pl_clear_source (&op->deadline);
      op->deadline = timer_new (self, MAX (at_ms, 1), op_deadline_cb, op);
    }
  self->stop_timer = timer_new (self, self->stop_timeout, stop_timeout_cb, self);
  if (cancellable != NULL)
    {
      self->stop_cancel = g_cancellable_source_new (cancellable);
      g_source_set_callback (self->stop_cancel, G_SOURCE_FUNC (stop_cancelled_cb), self, NULL);
      g_source_set_static_name (self->stop_cancel, "[portlight] stop cancelled");
      g_source_attach (self->stop_cancel, self->context);
    }
}

/**
 * pl_session_stop_finish:
 * @self: a [class@Pl.Session]
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: %TRUE when every mapping was deleted (or kept, as asked); %FALSE with
 *   `PL_ERROR_TIMED_OUT` when some could not be deleted in time
 */
gboolean
pl_session_stop_finish (PlSession     *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (PL_IS_SESSION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
