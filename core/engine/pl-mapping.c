/* pl-mapping.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-mapping-private.h"

/**
 * PlMapping:
 *
 * One port mapping that [class@Pl.Session] keeps on the gateway: one protocol of one
 * profile. Every property is read-only and notifies when it changes; the session also emits
 * [signal@Pl.Session::mapping-changed] once per batch of changes.
 *
 * Times (`expires`, `renew-at`, `retry-at`) are in microseconds on the session's
 * [class@Pl.Clock], 0 when not applicable.
 *
 * Threading: belongs to the thread-default GMainContext of its session.
 */

struct _PlMapping
{
  GObject         parent_instance;

  char           *profile_name;
  PlProtocol      protocol;
  GSocketFamily   family;
  char           *external_address;
  guint16         internal_port;
  guint16         requested_external_port;
  gboolean        any_external_port;
  PlMappingState  state;
  guint16         external_port;
  guint32         lifetime;
  gint64          expires;
  gint64          renew_at;
  GError         *error;
  gint64          retry_at;
};

G_DEFINE_FINAL_TYPE (PlMapping, pl_mapping, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (PlMappingState, pl_mapping_state,
  G_DEFINE_ENUM_VALUE (PL_MAPPING_STATE_DISABLED, "disabled"),
  G_DEFINE_ENUM_VALUE (PL_MAPPING_STATE_MAPPING, "mapping"),
  G_DEFINE_ENUM_VALUE (PL_MAPPING_STATE_ACTIVE, "active"),
  G_DEFINE_ENUM_VALUE (PL_MAPPING_STATE_FAILED, "failed"))

enum {
  PROP_0,
  PROP_PROFILE_NAME,
  PROP_PROTOCOL,
  PROP_FAMILY,
  PROP_EXTERNAL_ADDRESS,
  PROP_INTERNAL_PORT,
  PROP_REQUESTED_EXTERNAL_PORT,
  PROP_ANY_EXTERNAL_PORT,
  PROP_STATE,
  PROP_EXTERNAL_PORT,
  PROP_LIFETIME,
  PROP_EXPIRES,
  PROP_RENEW_AT,
  PROP_ERROR,
  PROP_RETRY_AT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/**
 * pl_mapping_state_to_string:
 * @state: a [enum@Pl.MappingState]
 *
 * Returns: a short, untranslated name for logs and the CLI ("active", ...)
 */
const char *
pl_mapping_state_to_string (PlMappingState state)
{
  switch (state)
    {
    case PL_MAPPING_STATE_DISABLED:
      return "disabled";
    case PL_MAPPING_STATE_MAPPING:
      return "mapping";
    case PL_MAPPING_STATE_ACTIVE:
      return "active";
    case PL_MAPPING_STATE_FAILED:
      return "failed";
    default:
      return "unknown";
    }
}

static void
pl_mapping_finalize (GObject *object)
{
  PlMapping *self = PL_MAPPING (object);

  g_clear_pointer (&self->profile_name, g_free);
  g_clear_pointer (&self->external_address, g_free);
  g_clear_error (&self->error);

  G_OBJECT_CLASS (pl_mapping_parent_class)->finalize (object);
}

static void
pl_mapping_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  PlMapping *self = PL_MAPPING (object);

  switch (prop_id)
    {
    case PROP_PROFILE_NAME:
      g_value_set_string (value, self->profile_name);
      break;
    case PROP_PROTOCOL:
      g_value_set_uint (value, self->protocol);
      break;
    case PROP_FAMILY:
      g_value_set_enum (value, self->family);
      break;
    case PROP_EXTERNAL_ADDRESS:
      g_value_set_string (value, self->external_address);
      break;
    case PROP_INTERNAL_PORT:
      g_value_set_uint (value, self->internal_port);
      break;
    case PROP_REQUESTED_EXTERNAL_PORT:
      g_value_set_uint (value, self->requested_external_port);
      break;
    case PROP_ANY_EXTERNAL_PORT:
      g_value_set_boolean (value, self->any_external_port);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_EXTERNAL_PORT:
      g_value_set_uint (value, self->external_port);
      break;
    case PROP_LIFETIME:
      g_value_set_uint (value, self->lifetime);
      break;
    case PROP_EXPIRES:
      g_value_set_int64 (value, self->expires);
      break;
    case PROP_RENEW_AT:
      g_value_set_int64 (value, self->renew_at);
      break;
    case PROP_ERROR:
      g_value_set_boxed (value, self->error);
      break;
    case PROP_RETRY_AT:
      g_value_set_int64 (value, self->retry_at);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pl_mapping_class_init (PlMappingClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = pl_mapping_finalize;
  object_class->get_property = pl_mapping_get_property;

  /**
   * PlMapping:profile-name:
   *
   * The name of the profile this mapping belongs to.
   */
  properties[PROP_PROFILE_NAME] =
    g_param_spec_string ("profile-name", NULL, NULL, NULL, flags);

  /**
   * PlMapping:protocol:
   *
   * The [enum@Pl.Protocol] (TCP or UDP), as an unsigned integer.
   */
  properties[PROP_PROTOCOL] =
    g_param_spec_uint ("protocol", NULL, NULL,
                       PL_PROTOCOL_UDP, PL_PROTOCOL_TCP, PL_PROTOCOL_UDP, flags);

  /**
   * PlMapping:family:
   *
   * %G_SOCKET_FAMILY_IPV4 for a mapping on the router's public IPv4 address,
   * %G_SOCKET_FAMILY_IPV6 for an IPv6 pinhole (no translation: this computer's own address
   * and port are opened).
   */
  properties[PROP_FAMILY] =
    g_param_spec_enum ("family", NULL, NULL,
                       G_TYPE_SOCKET_FAMILY, G_SOCKET_FAMILY_IPV4, flags);

  /**
   * PlMapping:external-address:
   *
   * Where the mapping is reachable when that is its own: the pinhole's address for an
   * IPv6 pinhole; %NULL for IPv4 mappings, which share the session's public address.
   */
  properties[PROP_EXTERNAL_ADDRESS] =
    g_param_spec_string ("external-address", NULL, NULL, NULL, flags);

  /**
   * PlMapping:internal-port:
   *
   * The local port the mapping forwards to.
   */
  properties[PROP_INTERNAL_PORT] =
    g_param_spec_uint ("internal-port", NULL, NULL, 0, G_MAXUINT16, 0, flags);

  /**
   * PlMapping:requested-external-port:
   *
   * The public port the profile asks for; 0 means "the same as the internal port".
   */
  properties[PROP_REQUESTED_EXTERNAL_PORT] =
    g_param_spec_uint ("requested-external-port", NULL, NULL, 0, G_MAXUINT16, 0, flags);

  /**
   * PlMapping:any-external-port:
   *
   * Whether the profile asks for no particular public port (ExternalPort=any): the router
   * chooses, and [property@Pl.Mapping:external-port] says what it chose.
   * [property@Pl.Mapping:requested-external-port] is then 0.
   */
  properties[PROP_ANY_EXTERNAL_PORT] =
    g_param_spec_boolean ("any-external-port", NULL, NULL, FALSE, flags);

  /**
   * PlMapping:state:
   *
   * Where the mapping stands.
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL,
                       PL_TYPE_MAPPING_STATE, PL_MAPPING_STATE_DISABLED, flags);

  /**
   * PlMapping:external-port:
   *
   * The public port the gateway granted (it may differ from the one requested), 0 when
   * none is known.
   */
  properties[PROP_EXTERNAL_PORT] =
    g_param_spec_uint ("external-port", NULL, NULL, 0, G_MAXUINT16, 0, flags);

  /**
   * PlMapping:lifetime:
   *
   * The lifetime the gateway granted, in seconds; 0 when not mapped.
   */
  properties[PROP_LIFETIME] =
    g_param_spec_uint ("lifetime", NULL, NULL, 0, G_MAXUINT32, 0, flags);

  /**
   * PlMapping:expires:
   *
   * When the granted mapping runs out unless renewed (clock time, microseconds); 0 when
   * not mapped.
   */
  properties[PROP_EXPIRES] =
    g_param_spec_int64 ("expires", NULL, NULL, 0, G_MAXINT64, 0, flags);

  /**
   * PlMapping:renew-at:
   *
   * When the next renewal is due (clock time, microseconds); 0 when none is scheduled.
   */
  properties[PROP_RENEW_AT] =
    g_param_spec_int64 ("renew-at", NULL, NULL, 0, G_MAXINT64, 0, flags);

  /**
   * PlMapping:error:
   *
   * Why the last request failed: set in the FAILED state, and while an ACTIVE mapping's
   * renewal keeps failing. %NULL otherwise.
   */
  properties[PROP_ERROR] =
    g_param_spec_boxed ("error", NULL, NULL, G_TYPE_ERROR, flags);

  /**
   * PlMapping:retry-at:
   *
   * When the next attempt after a failure is due (clock time, microseconds); 0 when none.
   */
  properties[PROP_RETRY_AT] =
    g_param_spec_int64 ("retry-at", NULL, NULL, 0, G_MAXINT64, 0, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
pl_mapping_init (PlMapping *self)
{
  self->protocol = PL_PROTOCOL_UDP;
  self->family = G_SOCKET_FAMILY_IPV4;
  self->state = PL_MAPPING_STATE_DISABLED;
}

PlMapping *
_pl_mapping_new (const char *profile_name,
                 PlProtocol  protocol,
                 guint16     internal_port,
                 guint16     requested_external_port)
{
  PlMapping *self;

  g_return_val_if_fail (protocol == PL_PROTOCOL_UDP || protocol == PL_PROTOCOL_TCP, NULL);

  self = g_object_new (PL_TYPE_MAPPING, NULL);
  self->profile_name = g_strdup (profile_name);
  self->protocol = protocol;
  self->internal_port = internal_port;
  self->requested_external_port = requested_external_port;
  return self;
}

PlMapping *
_pl_mapping_new_full (const char    *profile_name,
                      PlProtocol     protocol,
                      GSocketFamily  family)
{
  PlMapping *self;

  g_return_val_if_fail (family == G_SOCKET_FAMILY_IPV4 || family == G_SOCKET_FAMILY_IPV6, NULL);

  self = _pl_mapping_new (profile_name, protocol, 0, 0);
  self->family = family;
  return self;
}

gboolean
_pl_mapping_set_external_address (PlMapping  *self,
                                  const char *address)
{
  g_return_val_if_fail (PL_IS_MAPPING (self), FALSE);

  if (g_strcmp0 (self->external_address, address) == 0)
    return FALSE;
  g_free (self->external_address);
  self->external_address = g_strdup (address);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXTERNAL_ADDRESS]);
  return TRUE;
}

/**
 * pl_mapping_get_family:
 * @self: a [class@Pl.Mapping]
 *
 * Returns: %G_SOCKET_FAMILY_IPV4, or %G_SOCKET_FAMILY_IPV6 for an IPv6 pinhole
 */
GSocketFamily
pl_mapping_get_family (PlMapping *self)
{
  g_return_val_if_fail (PL_IS_MAPPING (self), G_SOCKET_FAMILY_IPV4);

  return self->family;
}

/**
 * pl_mapping_get_external_address:
 * @self: a [class@Pl.Mapping]
 *
 * Returns: (nullable): the pinhole's address for an IPv6 pinhole, else %NULL
 */
const char *
pl_mapping_get_external_address (PlMapping *self)
{
  g_return_val_if_fail (PL_IS_MAPPING (self), NULL);

  return self->external_address;
}

#define DEFINE_SETTER(name, type, field, prop)                  \
gboolean                                                        \
_pl_mapping_set_##name (PlMapping *self,                        \
                        type       value)                       \
{                                                               \
  g_return_val_if_fail (PL_IS_MAPPING (self), FALSE);           \
                                                                \
  if (self->field == value)                                     \
    return FALSE;                                               \
  self->field = value;                                          \
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]); \
  return TRUE;                                                  \
}

DEFINE_SETTER (internal_port, guint16, internal_port, PROP_INTERNAL_PORT)
DEFINE_SETTER (requested_external_port, guint16, requested_external_port,
               PROP_REQUESTED_EXTERNAL_PORT)
DEFINE_SETTER (any_external_port, gboolean, any_external_port, PROP_ANY_EXTERNAL_PORT)
DEFINE_SETTER (state, PlMappingState, state, PROP_STATE)
DEFINE_SETTER (external_port, guint16, external_port, PROP_EXTERNAL_PORT)
DEFINE_SETTER (lifetime, guint32, lifetime, PROP_LIFETIME)
DEFINE_SETTER (expires, gint64, expires, PROP_EXPIRES)
DEFINE_SETTER (renew_at, gint64, renew_at, PROP_RENEW_AT)
DEFINE_SETTER (retry_at, gint64, retry_at, PROP_RETRY_AT)

#undef DEFINE_SETTER

gboolean
_pl_mapping_set_profile_name (PlMapping  *self,
                              const char *profile_name)
{
  g_return_val_if_fail (PL_IS_MAPPING (self), FALSE);

  if (g_strcmp0 (self->profile_name, profile_name) == 0)
    return FALSE;
  g_free (self->profile_name);
  self->profile_name = g_strdup (profile_name);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROFILE_NAME]);
  return TRUE;
}

static gboolean
error_equal (const GError *a,
             const GError *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return a->domain == b->domain && a->code == b->code && g_strcmp0 (a->message, b->message) == 0;
}

gboolean
_pl_mapping_set_error (PlMapping    *self,
                       const GError *error)
{
  g_return_val_if_fail (PL_IS_MAPPING (self), FALSE);

  if (error_equal (self->error, error))
    return FALSE;
  g_clear_error (&self->error);
  if (error != NULL)
    self->error = g_error_copy (error);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR]);
  return TRUE;
}

/**
 * pl_mapping_get_profile_name:
 * @self: a [class@Pl.Mapping]
 *
 * Returns: the name of the profile this mapping belongs to
 */
const char *
pl_mapping_get_profile_name (PlMapping *self)
{
  g_return_val_if_fail (PL_IS_MAPPING (self), NULL);
  return self->profile_name;
}

/**
 * pl_mapping_get_protocol:
 * @self: a [class@Pl.Mapping]
 *
 * Returns: TCP or UDP
 */
PlProtocol
pl_mapping_get_protocol (PlMapping *self)
{
  g_return_val_if_fail (PL_IS_MAPPING (self), PL_PROTOCOL_UDP);
  return self->protocol;
}

/**
 * pl_mapping_get_internal_port:
 * @self: a [class@Pl.Mapping]
 *
 * Returns: the local port
 */
guint16
pl_mapping_get_internal_port (PlMapping *self)
{
  g_return_val_if_fail (PL_IS_MAPPING (self), 0);
  return self->internal_port;
}

/**
 * pl_mapping_get_requested_external_port:
 * @self: a [class@Pl.Mapping]
 *
 * Returns: the public port asked for, 0 for "same as internal"
 */
guint16
pl_mapping_get_requested_external_port (PlMapping *self)
{
  g_return_val_if_fail (PL_IS_MAPPING (self), 0);
  return self->requested_external_port;
}

/**
 * pl_mapping_get_any_external_port:
 * @self: a [class@Pl.Mapping]
 *
 * Returns: whether the router chooses the public port
 */
gboolean
pl_mapping_get_any_external_port (PlMapping *self)
{
  g_return_val_if_fail (PL_IS_MAPPING (self), FALSE);
  return self->any_external_port;
}

/**
 * pl_mapping_get_state:
 * @self: a [class@Pl.Mapping]
 *
 * Returns: the mapping's state
 */
PlMappingState
pl_mapping_get_state (PlMapping *self)
{
  g_return_val_if_fail (PL_IS_MAPPING (self), PL_MAPPING_STATE_DISABLED);
  return self->state;
}

/**
 * pl_mapping_get_external_port:
 * @self: a [class@Pl.Mapping]
 *
 * Returns: the public port granted, 0 when none
 */
guint16
pl_mapping_get_external_port (PlMapping *self)
{
  g_return_val_if_fail (PL_IS_MAPPING (self), 0);
  return self->external_port;
}

/**
 * pl_mapping_get_lifetime:
 * @self: a [class@Pl.Mapping]
 *
 * Returns: the lifetime granted in seconds, 0 when not mapped
 */
guint32
pl_mapping_get_lifetime (PlMapping *self)
{
  g_return_val_if_fail (PL_IS_MAPPING (self), 0);
  return self->lifetime;
}

/**
 * pl_mapping_get_expires:
 * @self: a [class@Pl.Mapping]
 *
 * Returns: clock time (microseconds) when the mapping expires, 0 when not mapped
 */
gint64
pl_mapping_get_expires (PlMapping *self)
{
  g_return_val_if_fail (PL_IS_MAPPING (self), 0);
  return self->expires;
}

/**
 * pl_mapping_get_renew_at:
 * @self: a [class@Pl.Mapping]
 *
 * Returns: clock time (microseconds) of the next renewal, 0 when none
 */
gint64
pl_mapping_get_renew_at (PlMapping *self)
{
  g_return_val_if_fail (PL_IS_MAPPING (self), 0);
  return self->renew_at;
}

/**
 * pl_mapping_get_error:
 * @self: a [class@Pl.Mapping]
 *
 * Returns: (nullable) (transfer none): why the last request failed
 */
const GError *
pl_mapping_get_error (PlMapping *self)
{
  g_return_val_if_fail (PL_IS_MAPPING (self), NULL);
  return self->error;
}

/**
 * pl_mapping_get_retry_at:
 * @self: a [class@Pl.Mapping]
 *
 * Returns: clock time (microseconds) of the next attempt after a failure, 0 when none
 */
gint64
pl_mapping_get_retry_at (PlMapping *self)
{
  g_return_val_if_fail (PL_IS_MAPPING (self), 0);
  return self->retry_at;
}
