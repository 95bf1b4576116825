/* pl-session.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "pl-session-private.h"

/**
 * PlSession:
 *
 * The session engine: keeps every enabled [class@Pl.Profile] of a list model (normally a
 * [class@Pl.ProfileStore]) mapped on the default gateway, one [class@Pl.Mapping] per
 * profile, protocol and address family, and tells the user interface about every change by
 * signal, so that it never polls. It knows no protocol: it speaks through a
 * [iface@Pl.PortMapper].
 *
 * - The gateway is asked which protocol it speaks (PCP preferred, NAT-PMP otherwise;
 *   [func@Pl.mapper_probe_async]), unless it was seen before ([class@Pl.MethodMemory]) or a
 *   protocol was chosen ([method@Pl.Session.set_method]).
 * - Every request goes to the mapper as soon as it is wanted; the mapper queues by its
 *   protocol's rules (NAT-PMP one at a time, PCP several at once). The session keeps at most
 *   one request per mapping.
 * - A granted mapping is renewed at half the *granted* lifetime, suggesting the public port
 *   the gateway gave (RFC 6886 section 3.3, RFC 6887 section 11.2.1). A renewal that goes
 *   unanswered is retried until the mapping expires; then it counts as lost and is created
 *   again from scratch.
 * - Failures are retried for ever with back-off: 30 s doubling to 15 min for transient
 *   errors and timeouts, 30 min doubling to 2 h when the gateway refuses (not authorized,
 *   unsupported).
 * - The mapper says when the gateway lost its state ([signal@Pl.PortMapper::state-lost]):
 *   by its epoch, every mapping is created again and [signal@Pl.Session::router-reset] is
 *   emitted; by an announcement alone (a service restarted with its epoch kept), every
 *   mapping is renewed at once. Such rounds happen at most once per 10 s per gateway.
 * - Where the gateway's protocol opens IPv6 pinholes and this computer has a stable global
 *   IPv6 address, profiles get a pinhole beside their IPv4 mapping (Family=both, the
 *   default) or instead of it (Family=ipv6).
 * - On network changes (and after a resume) the gateway is discovered again; a new gateway
 *   means starting over on it.
 * - [method@Pl.Session.stop_async] deletes the mappings within a bounded time, unless
 *   [property@Pl.Session:keep-mappings-on-exit] is set.
 *
 * Profile changes (items-changed of the model, or notify of a profile) are applied
 * together from an idle: disabling, removing or changing the ports of a profile deletes its
 * mappings on the gateway.
 *
 * The code is split by concern: pl-session.c (the object and its API), -requests.c (each
 * request with the mapper), -rounds.c (lost state and announcements), -gateway.c (discovery,
 * the protocol, network changes), -ipv6.c (pinholes), -profiles.c (profiles to mappings) and
 * -stop.c, sharing pl-session-private.h.
 *
 * Threading: a session belongs to the thread-default GMainContext it was created on; call
 * it only from that context's thread. All timing goes through its [class@Pl.Clock].
 */

G_DEFINE_FINAL_TYPE (PlSession, pl_session, G_TYPE_OBJECT)

GParamSpec *_pl_session_properties[N_PROPS];
guint _pl_session_signals[N_SIGNALS];

static void
pl_session_dispose (GObject *object)
{
  PlSession *self = PL_SESSION (object);

  self->running = FALSE;
  _pl_session_shut_down_watchers (self);
  _pl_session_drop_mapper (self);
  pl_clear_source (&self->stop_timer);
  pl_clear_source (&self->stop_cancel);

  if (self->entries != NULL)
    {
      for (guint i = 0; i < self->entries->len; i++)
        _pl_session_entry_free (g_ptr_array_index (self->entries, i));
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
  g_clear_pointer (&self->hooks, g_hash_table_unref);
  g_clear_object (&self->clock);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->gateway_str, g_free);
  g_clear_pointer (&self->profile_gateway, g_free);
  g_clear_pointer (&self->gateway_iface, g_free);
  g_clear_pointer (&self->external_address, g_free);
  g_clear_error (&self->no_gateway_error);
  g_clear_error (&self->no_ipv6_error);
  g_clear_pointer (&self->router6_iface, g_free);
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
    case PROP_EPOCH:
      g_value_set_uint (value, self->epoch);
      break;
    case PROP_IPV6_ADDRESS:
      g_value_set_string (value, pl_session_get_ipv6_address (self));
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
  _pl_session_properties[PROP_PROFILES] =
    g_param_spec_object ("profiles", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:clock:
   *
   * The clock for every timer; %NULL at construction means the real clock.
   */
  _pl_session_properties[PROP_CLOCK] =
    g_param_spec_object ("clock", NULL, NULL, PL_TYPE_CLOCK,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:fixed-gateway:
   *
   * A gateway given by the user; %NULL to discover the default gateway and follow network
   * changes.
   */
  _pl_session_properties[PROP_FIXED_GATEWAY] =
    g_param_spec_object ("fixed-gateway", NULL, NULL, G_TYPE_INET_ADDRESS,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:gateway:
   *
   * The gateway in use, %NULL when none is known.
   */
  _pl_session_properties[PROP_GATEWAY] =
    g_param_spec_object ("gateway", NULL, NULL, G_TYPE_INET_ADDRESS,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:keep-mappings-on-exit:
   *
   * Whether [method@Pl.Session.stop_async] leaves the mappings on the gateway (they then
   * expire on their own).
   */
  _pl_session_properties[PROP_KEEP_MAPPINGS_ON_EXIT] =
    g_param_spec_boolean ("keep-mappings-on-exit", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:external-address:
   *
   * The gateway's public IPv4 address as text, %NULL while unknown.
   */
  _pl_session_properties[PROP_EXTERNAL_ADDRESS] =
    g_param_spec_string ("external-address", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:double-nat:
   *
   * Whether the gateway's "public" address is private or carrier-grade NAT space, so that
   * another NAT sits in front of it (PMP-37): mappings then probably do not reach the
   * Internet.
   */
  _pl_session_properties[PROP_DOUBLE_NAT] =
    g_param_spec_boolean ("double-nat", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:announce-port:
   *
   * The port to listen on for announcements (5350); 0 does not listen. For tests.
   */
  _pl_session_properties[PROP_ANNOUNCE_PORT] =
    g_param_spec_uint ("announce-port", NULL, NULL, 0, G_MAXUINT16, PL_NATPMP_CLIENT_PORT,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:monitor-network:
   *
   * Whether to follow #GNetworkMonitor and logind's resume signal. Tests turn it off and
   * call [method@Pl.Session.network_changed] instead.
   */
  _pl_session_properties[PROP_MONITOR_NETWORK] =
    g_param_spec_boolean ("monitor-network", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:stop-timeout:
   *
   * How long [method@Pl.Session.stop_async] may take, in milliseconds.
   */
  _pl_session_properties[PROP_STOP_TIMEOUT] =
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
  _pl_session_properties[PROP_LISTENING] =
    g_param_spec_boolean ("listening", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:protocol-name:
   *
   * The protocol spoken with the gateway ("PCP", "NAT-PMP"), or %NULL while there is no
   * gateway or it is still being asked what it speaks.
   */
  _pl_session_properties[PROP_PROTOCOL_NAME] =
    g_param_spec_string ("protocol-name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:epoch:
   *
   * The gateway's epoch (seconds since the start of its epoch) in its last NAT-PMP or PCP
   * reply to the session's mapper, or 0 while none was heard or the protocol has none
   * (UPnP-IGD). Notified when it changes.
   */
  _pl_session_properties[PROP_EPOCH] =
    g_param_spec_uint ("epoch", NULL, NULL, 0, G_MAXUINT32, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PlSession:ipv6-address:
   *
   * The address IPv6 pinholes open (this computer's stable global address) while the IPv6
   * router answers for them ([method@Pl.Session.get_ipv6_mapper]); else %NULL. Notified when
   * the IPv6 side starts or stops speaking with the router.
   */
  _pl_session_properties[PROP_IPV6_ADDRESS] =
    g_param_spec_string ("ipv6-address", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, _pl_session_properties);

  /**
   * PlSession::mapping-changed:
   * @self: the session
   * @mapping: the [class@Pl.Mapping] that changed
   *
   * Emitted once for each batch of property changes of a mapping.
   */
  _pl_session_signals[SIGNAL_MAPPING_CHANGED] =
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
  _pl_session_signals[SIGNAL_EXTERNAL_ADDRESS_CHANGED] =
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
  _pl_session_signals[SIGNAL_ROUTER_RESET] =
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
  _pl_session_signals[SIGNAL_DOUBLE_NAT_CHANGED] =
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
  _pl_session_signals[SIGNAL_GATEWAY_CHANGED] =
    g_signal_new ("gateway-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * PlSession::port-changed:
   * @self: the session
   * @mapping: the IPv4 [class@Pl.Mapping] whose public port it is
   * @old_port: the port told before, 0 the first time
   *
   * Emitted when the public port of an IPv4 mapping is first granted and whenever the
   * gateway grants another one (a VPN reconnect, a router that lost the mapping): once per
   * change, never at a renewal that keeps the port. The new port is
   * [property@Pl.Mapping:external-port]. A mapping switched off or changed is told again
   * when it is mapped again. Then the profile's OnPortChange command runs
   * ([class@Pl.PortHook]).
   */
  _pl_session_signals[SIGNAL_PORT_CHANGED] =
    g_signal_new ("port-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, PL_TYPE_MAPPING, G_TYPE_UINT);
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
  self->hooks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
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
 *   preferred, then NAT-PMP, then UPnP-IGD
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
                    method == PL_METHOD_NATPMP || method == PL_METHOD_UPNP);

  self->method = method;
}

/**
 * pl_session_set_profile_gateway:
 * @self: a [class@Pl.Session]
 * @gateway: (nullable): `default`, `vpn` or an IPv4 address
 *
 * Serve only the profiles whose Gateway= says @gateway (see
 * [method@Pl.Profile.get_gateway_kind]; an address matches the same address however it is
 * written): `default` (or %NULL) the profiles without Gateway=, or with a value that is not
 * valid (they show why); `vpn` those that follow the VPN tunnel, and the session finds the
 * tunnel's gateway with [func@Pl.tunnel_discover] (unless a discover function is set); an
 * address those for that gateway, and the session talks to it and nothing else. Without
 * this call a session serves every profile. Call it before [method@Pl.Session.start].
 */
void
pl_session_set_profile_gateway (PlSession  *self,
                                const char *gateway)
{
  g_autoptr(GInetAddress) address = NULL;
  PlProfileGateway kind = PL_PROFILE_GATEWAY_DEFAULT;

  g_return_if_fail (PL_IS_SESSION (self));
  g_return_if_fail (!self->started);

  if (gateway != NULL &&
      !pl_profile_validate_gateway (NULL, gateway, &kind, &address, NULL))
    g_return_if_reached ();

  self->profile_gateway_set = TRUE;
  g_clear_pointer (&self->profile_gateway, g_free);
  if (kind == PL_PROFILE_GATEWAY_VPN)
    self->profile_gateway = g_strdup (PL_PROFILE_GATEWAY_VPN_TEXT);
  else if (kind == PL_PROFILE_GATEWAY_ADDRESS)
    {
      self->profile_gateway = g_inet_address_to_string (address);
      g_set_object (&self->fixed_gateway, address);
    }
}

/**
 * pl_session_get_profile_gateway:
 * @self: a [class@Pl.Session]
 *
 * Returns: (nullable): `vpn`, an IPv4 address, or %NULL for the default route's profiles
 *   (or every profile, without [method@Pl.Session.set_profile_gateway])
 */
const char *
pl_session_get_profile_gateway (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), NULL);

  return self->profile_gateway;
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
 * pl_session_get_epoch:
 * @self: a [class@Pl.Session]
 *
 * Returns: the gateway's epoch in the last NAT-PMP or PCP reply, 0 if none
 */
guint32
pl_session_get_epoch (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), 0);

  return self->epoch;
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
                                             G_CALLBACK (_pl_session_profiles_changed_cb), self);
  _pl_session_reconcile (self);

  if (self->monitor_network)
    {
      GWeakRef *weak = g_new0 (GWeakRef, 1);

      self->monitor = g_object_ref (g_network_monitor_get_default ());
      self->monitor_id = g_signal_connect (self->monitor, "network-changed",
                                           G_CALLBACK (_pl_session_network_changed_cb), self);

      g_weak_ref_init (weak, self);
      g_bus_get (G_BUS_TYPE_SYSTEM, self->cancellable, _pl_session_system_bus_cb, weak);
    }

  _pl_session_discover_and_apply (self);
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

  entry = _pl_session_find_entry (self, profile_name, protocol, G_SOCKET_FAMILY_IPV4);
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

  entry = _pl_session_find_entry (self, profile_name, protocol, family);
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
 * pl_session_get_ipv6_mapper:
 * @self: a [class@Pl.Session]
 *
 * The mapper of the IPv6 side, to read which router it speaks with (its gateway, and for
 * PCP its [property@Pl.PcpClient:scope-id] and [property@Pl.PcpClient:bind-address]); it
 * is the session's: make requests with a mapper of your own.
 *
 * Returns: (transfer none) (nullable): the mapper opening IPv6 pinholes, while the router
 *   answers for them (see [property@Pl.Session:ipv6-address]); else %NULL
 */
PlPortMapper *
pl_session_get_ipv6_mapper (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), NULL);

  return self->mapper6;
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
  g_object_notify_by_pspec (G_OBJECT (self), _pl_session_properties[PROP_KEEP_MAPPINGS_ON_EXIT]);
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
  g_object_notify_by_pspec (G_OBJECT (self), _pl_session_properties[PROP_STOP_TIMEOUT]);
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
  g_object_notify_by_pspec (G_OBJECT (self), _pl_session_properties[PROP_FIXED_GATEWAY]);

  if (self->running && !self->stopping)
    _pl_session_discover_and_apply (self);
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
  _pl_session_discover_and_apply (self);
}

/**
 * pl_session_republish:
 * @self: a [class@Pl.Session]
 *
 * Asks the router for every enabled mapping again, now, as if it had lost them all (the
 * user's "Re-publish All Ports", for a router that forgot its table without telling). An
 * active mapping is requested afresh, suggesting the port it holds; a failed one is retried
 * at once with its back-off reset, refusals included (the user may have changed the
 * router's rules). A TCP+UDP profile goes out TCP first, as on renewal. Mappings with a
 * request in flight are left alone: its answer comes anyway. Does nothing on a session that
 * is not running.
 */
void
pl_session_republish (PlSession *self)
{
  g_return_if_fail (PL_IS_SESSION (self));

  if (!self->running || self->stopping)
    return;

  /* The entries keep the profile's order, TCP before UDP. */
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (!entry->enabled || entry->config_error != NULL || entry->op != NULL)
        continue;
      pl_clear_source (&entry->timer);
      if (entry->expires == 0)
        {
          entry->failures = 0;
          _pl_session_entry_publish_pending (entry);
        }
      _pl_session_queue_map (self, entry);
    }
  _pl_session_queue_address (self);
}
