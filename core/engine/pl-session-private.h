/* pl-session-private.h: what the files of PlSession share
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <string.h>

#include <glib/gi18n-lib.h>

#include "pl-client.h"
#include "pl-error.h"
#include "pl-mapper-probe.h"
#include "pl-mapping-private.h"
#include "pl-natpmp.h"
#include "pl-port-hook.h"
#include "pl-profile.h"
#include "pl-session.h"
#include "pl-tunnel.h"

G_BEGIN_DECLS

#define RETRY_SHORT_MIN_MS        (30 * 1000)
#define RETRY_SHORT_MAX_MS        (15 * 60 * 1000)
#define RETRY_LONG_MIN_MS         (30 * 60 * 1000)
#define RETRY_LONG_MAX_MS         (2 * 60 * 60 * 1000)
#define RESET_ROUND_INTERVAL_US   (10 * G_USEC_PER_SEC)
#define ROUND_COALESCE_US         (3 * G_USEC_PER_SEC)
#define RESYNC_INTERVAL_US        (10 * G_USEC_PER_SEC)
#define NETWORK_DEBOUNCE_MS       1000
#define MIN_RENEW_DELAY_MS        500
/* The public-address query is informational: a silent gateway must not hold the mappings'
 * renewals behind it for the RFC's whole 127.75 s, so it gets this long and retries later. */
#define ADDRESS_QUERY_TIMEOUT_MS  (8 * 1000)

typedef struct _Entry Entry;
typedef struct _Op Op;

/* Told when the gateway @gateway answered (either way) a delete of an IPv4 mapping of
 * @protocol @internal_port that @session had: see _pl_session_remap_port(). */
typedef void (*PlSessionUnmappedFunc) (PlSession  *session,
                                       const char *gateway,
                                       PlProtocol  protocol,
                                       guint16     internal_port,
                                       gpointer    user_data);

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
  guint16       suggested;      /* OP_MAP: the public port suggested */
  char         *gateway;        /* OP_UNMAP of an IPv4 mapping: the gateway it went to */
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
  guint16     requested_port;   /* 0 = the internal port (or any, with any_port) */
  guint       any_port : 1;     /* ExternalPort=any: suggest 0 until a port is granted */
  guint       zero_refused : 1; /* the gateway refused a suggestion of 0: suggest the internal port */
  guint32     lifetime;         /* requested */
  guint       enabled : 1;
  guint       wanted : 1;       /* to be asked for as soon as there is a mapper */
  guint       seen : 1;         /* _pl_session_reconcile mark */
  Op         *op;               /* our map request with the mapper, or NULL */
  guint16     last_port;        /* last port granted (suggested again); 0 = none */
  guint16     reported_port;    /* last port told to ::port-changed; 0 = none yet */
  guint       hook_waiting : 1; /* OnPortChange waits for the public address (%a) */
  guint       remap : 1;        /* ask again once op answers: another session's delete of
                                 * the same port on this gateway may have come after it */
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
  char                   *profile_gateway;  /* the profiles' Gateway= served; see below */
  guint                   profile_gateway_set : 1;  /* FALSE: every profile, as before */
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
  PlSessionUnmappedFunc   unmapped_func;    /* the session group's; see below */
  gpointer                unmapped_data;
  PlSessionDiscoverFunc   discover_func;
  gpointer                discover_data;
  GDestroyNotify          discover_destroy;

  /* Profiles and mappings. */
  GPtrArray              *entries;          /* Entry*, in list order */
  GListStore             *mappings;         /* PlMapping, same order */
  GPtrArray              *watched;          /* PlProfile* whose notify we follow */
  gulong                  items_changed_id;
  guint                   reconcile_id;
  GHashTable             *hooks;            /* profile name -> PlPortHook */

  /* Gateway. */
  GInetAddress           *gateway;
  char                   *gateway_str;
  char                   *gateway_iface;
  PlPortMapper           *mapper;
  GCancellable           *probe;            /* finding out what the gateway speaks */
  guint                   from_memory : 1;  /* the mapper's protocol was remembered... */
  guint                   confirmed : 1;    /* ...and has granted a mapping since */
  guint                   skip_memory : 1;  /* the remembered protocol failed: probe */
  guint                   protocol_failures; /* in a row, once confirmed */

  /* IPv6 pinholes: the IPv6 default router, spoken to with the gateway's protocol. */
  PlPortMapper           *mapper6;          /* answered its probe */
  PlPortMapper           *probing6;
  GCancellable           *probe6;
  GSource                *probe6_timer;     /* the probe's bound, or the next try */
  char                   *address6;         /* the pinholes' address: this computer's */
  char                   *router6_iface;    /* the IPv6 router's interface */
  GError                 *no_ipv6_error;    /* why there are none */
  gulong                  state_lost6_id;
  gboolean                ipv6_pinholes;
  PlSessionIpv6DiscoverFunc ipv6_discover_func;
  gpointer                ipv6_discover_data;
  GDestroyNotify          ipv6_discover_destroy;
  GSource                *probe_timer;
  GObject                *service_watch;  /* after a failed probe: pl_mapper_watch_new() */
  guint                   probe_failures;
  gulong                  state_lost_id;
  gulong                  address_announced_id;
  gulong                  epoch_id;
  guint32                 epoch;            /* the mapper's last reply's; 0 = none */
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
  PlPortMapper           *round_mapper;     /* not owned, only compared: whose loss it was */

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
  PROP_EPOCH,
  PROP_IPV6_ADDRESS,
  N_PROPS
};

enum {
  SIGNAL_MAPPING_CHANGED,
  SIGNAL_EXTERNAL_ADDRESS_CHANGED,
  SIGNAL_ROUTER_RESET,
  SIGNAL_DOUBLE_NAT_CHANGED,
  SIGNAL_GATEWAY_CHANGED,
  SIGNAL_PORT_CHANGED,
  N_SIGNALS
};

extern GParamSpec *_pl_session_properties[N_PROPS];
extern guint _pl_session_signals[N_SIGNALS];

gint64
_pl_session_now_us (PlSession *self);

GSource *
_pl_session_timer_new (PlSession   *self,
                       guint64      delay_ms,
                       GSourceFunc  func,
                       gpointer     data);

guint64
_pl_session_ms_until (PlSession *self,
                      gint64     when);

gboolean
_pl_session_error_is_refusal (const GError *error);

guint64
_pl_session_backoff_ms (const GError *error,
                        guint         failures);

gboolean
_pl_session_op_deadline_cb (gpointer data);

void
_pl_session_op_abandon (Op *op);

void
_pl_session_abandon_requests (PlSession *self,
                              gboolean   keep_unmaps);

PlPortMapper *
_pl_session_mapper_for (PlSession     *self,
                        GSocketFamily  family);

Op *
_pl_session_submit_unmap (PlSession     *self,
                          GSocketFamily  family,
                          PlProtocol     protocol,
                          guint16        internal_port);

void
_pl_session_entry_publish (Entry          *entry,
                           PlMappingState  state,
                           guint16         external_port,
                           guint32         lifetime,
                           gint64          expires,
                           gint64          renew_at,
                           const GError   *error,
                           gint64          retry_at);

void
_pl_session_entry_publish_pending (Entry *entry);

void
_pl_session_entry_report_port (Entry   *entry,
                               guint16  port);

void
_pl_session_entry_publish_disabled (Entry *entry);

Entry *
_pl_session_entry_new (PlSession     *self,
                       const char    *profile_name,
                       PlProtocol     protocol,
                       GSocketFamily  family);

void
_pl_session_entry_clear_timers (Entry *entry);

void
_pl_session_entry_free (Entry *entry);

gboolean
_pl_session_entry_may_be_mapped (Entry *entry);

void
_pl_session_entry_release (PlSession *self,
                           Entry     *entry);

gboolean
_pl_session_entry_expired_cb (gpointer data);

void
_pl_session_queue_map (PlSession *self,
                       Entry     *entry);

void
_pl_session_queue_address (PlSession *self);

void
_pl_session_submit_wanted (PlSession *self);

void
_pl_session_set_external_address (PlSession    *self,
                                  const guint8 *address);

void
_pl_session_mapper_state_lost_cb (PlPortMapper *mapper,
                                  guint         reason,
                                  gpointer      user_data);

void
_pl_session_mapper_address_announced_cb (PlPortMapper *mapper,
                                         GInetAddress *address,
                                         gpointer      user_data);

void
_pl_session_set_listening (PlSession *self,
                           gboolean   listening);

void
_pl_session_mapper_listen (PlSession *self);

void
_pl_session_drop_mapper (PlSession *self);

gboolean
_pl_session_protocol_failed (PlSession    *self,
                             const GError *error);

void
_pl_session_discover_and_apply (PlSession *self);

void
_pl_session_network_changed_cb (GNetworkMonitor *monitor,
                                gboolean         available,
                                gpointer         user_data);

void
_pl_session_system_bus_cb (GObject      *source,
                           GAsyncResult *result,
                           gpointer      user_data);

void
_pl_session_drop_ipv6 (PlSession *self);

void
_pl_session_setup_ipv6 (PlSession *self);

void
_pl_session_recheck_ipv6 (PlSession *self);

Entry *
_pl_session_find_entry (PlSession     *self,
                        const char    *name,
                        PlProtocol     protocol,
                        GSocketFamily  family);

void
_pl_session_unwatch_profiles (PlSession *self);

gboolean
_pl_session_serves_profile (PlSession *self,
                            PlProfile *profile);

void
_pl_session_reconcile (PlSession *self);

void
_pl_session_schedule_reconcile (PlSession *self);

void
_pl_session_run_port_hook (PlSession *self,
                           Entry     *entry,
                           guint16    port);

void
_pl_session_flush_port_hooks (PlSession *self);

void
_pl_session_profiles_changed_cb (GListModel *model,
                                 guint       position,
                                 guint       removed,
                                 guint       added,
                                 gpointer    user_data);

void
_pl_session_shut_down_watchers (PlSession *self);

void
_pl_session_stop_complete (PlSession *self);

void     _pl_session_set_unmapped_func (PlSession             *self,
                                       PlSessionUnmappedFunc  func,
                                       gpointer               user_data);
void     _pl_session_remap_port        (PlSession             *self,
                                       PlProtocol             protocol,
                                       guint16                internal_port);

G_END_DECLS
