/* pl-profile.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "pl-app-link.h"
#include "pl-network-link.h"
#include "pl-error.h"
#include "pl-profile.h"

struct _PlProfile
{
  GObject            parent_instance;
  char              *name;
  char              *description;
  char              *on_port_change;
  char              *gateway;
  PlProfileProtocol  protocol;
  PlProfileFamily    family;
  guint              internal_port;
  guint              external_port;
  gboolean           any_external_port;
  guint              lifetime;
  gboolean           enabled;
  char              *app;              /* App=, nullable */
  char              *network;          /* Network=, nullable */
};

G_DEFINE_FINAL_TYPE (PlProfile, pl_profile, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (PlProfileProtocol, pl_profile_protocol,
                    G_DEFINE_ENUM_VALUE (PL_PROFILE_PROTOCOL_TCP, "tcp"),
                    G_DEFINE_ENUM_VALUE (PL_PROFILE_PROTOCOL_UDP, "udp"),
                    G_DEFINE_ENUM_VALUE (PL_PROFILE_PROTOCOL_BOTH, "both"))

G_DEFINE_ENUM_TYPE (PlProfileFamily, pl_profile_family,
                    G_DEFINE_ENUM_VALUE (PL_PROFILE_FAMILY_BOTH, "both"),
                    G_DEFINE_ENUM_VALUE (PL_PROFILE_FAMILY_IPV4, "ipv4"),
                    G_DEFINE_ENUM_VALUE (PL_PROFILE_FAMILY_IPV6, "ipv6"))

enum {
  PROP_0,
  PROP_NAME,
  PROP_PROTOCOL,
  PROP_FAMILY,
  PROP_INTERNAL_PORT,
  PROP_EXTERNAL_PORT,
  PROP_LIFETIME,
  PROP_ENABLED,
  PROP_DESCRIPTION,
  PROP_ANY_EXTERNAL_PORT,
  PROP_ON_PORT_CHANGE,
  PROP_APP,
  PROP_GATEWAY,
  PROP_NETWORK,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Protocol names */

const char *
pl_profile_protocol_to_string (PlProfileProtocol protocol)
{
  switch (protocol)
    {
    case PL_PROFILE_PROTOCOL_TCP:
      return "tcp";
    case PL_PROFILE_PROTOCOL_UDP:
      return "udp";
    case PL_PROFILE_PROTOCOL_BOTH:
      return "both";
    default:
      g_return_val_if_reached (NULL);
    }
}

gboolean
pl_profile_protocol_from_string (const char        *str,
                                 PlProfileProtocol *protocol)
{
  PlProfileProtocol value;

  if (str == NULL)
    return FALSE;
  if (strcmp (str, "tcp") == 0)
    value = PL_PROFILE_PROTOCOL_TCP;
  else if (strcmp (str, "udp") == 0)
    value = PL_PROFILE_PROTOCOL_UDP;
  else if (strcmp (str, "both") == 0)
    value = PL_PROFILE_PROTOCOL_BOTH;
  else
    return FALSE;

  if (protocol != NULL)
    *protocol = value;
  return TRUE;
}

gboolean
pl_profile_protocol_overlaps (PlProfileProtocol a,
                              PlProfileProtocol b)
{
  return a == b || a == PL_PROFILE_PROTOCOL_BOTH || b == PL_PROFILE_PROTOCOL_BOTH;
}

/* Value checks, shared by pl_profile_validate() and the key parser so that both say the
 * same thing in the same words. */

static const char *
display_name (PlProfile *self)
{
  return self->name != NULL ? self->name : "";
}

static GError *
port_error (const char *profile,
            const char *key,
            const char *value,
            gboolean    allow_zero)
{
  if (allow_zero)
    return g_error_new (PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                        _("Profile “%s”: %s “%s” is not a port number (0-65535)"),
                        profile, key, value);
  return g_error_new (PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                      _("Profile “%s”: %s “%s” is not a port number (1-65535)"),
                      profile, key, value);
}

static GError *
lifetime_error (const char *profile,
                const char *value)
{
  return g_error_new (PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                      _("Profile “%s”: %s “%s” is not a lifetime in seconds (%u-%u)"),
                      profile, PL_PROFILE_KEY_LIFETIME, value,
                      (guint) PL_PROFILE_MIN_LIFETIME, (guint) PL_PROFILE_MAX_LIFETIME);
}

static gboolean
text_has_control (const char *text)
{
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iscntrl (c))
        return TRUE;
    }
  return FALSE;
}

static gboolean
check_description (const char  *profile,
                   const char  *description,
                   GError     **error)
{
  if (description == NULL)
    return TRUE;

  if (!g_utf8_validate (description, -1, NULL))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("Profile “%s”: %s is not valid UTF-8"),
                   profile, PL_PROFILE_KEY_DESCRIPTION);
      return FALSE;
    }
  if (text_has_control (description))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("Profile “%s”: %s “%s” contains a line break or another control "
                     "character"),
                   profile, PL_PROFILE_KEY_DESCRIPTION, description);
      return FALSE;
    }
  return TRUE;
}

/* Strict decimal: one or more ASCII digits, nothing else. */
static gboolean
parse_decimal (const char *str,
               guint64     max,
               guint64    *out)
{
  guint64 value = 0;

  if (str == NULL || *str == '\0')
    return FALSE;

  for (const char *p = str; *p != '\0'; p++)
    {
      if (!g_ascii_isdigit (*p))
        return FALSE;
      value = value * 10 + (guint64) (*p - '0');
      if (value > max)
        return FALSE;
    }

  *out = value;
  return TRUE;
}

gboolean
pl_profile_validate_name (const char  *name,
                          GError     **error)
{
  gsize len;

  if (name == NULL || *name == '\0')
    {
      g_set_error_literal (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                           _("A profile name cannot be empty"));
      return FALSE;
    }
  if (!g_utf8_validate (name, -1, NULL))
    {
      g_set_error_literal (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                           _("A profile name must be valid UTF-8"));
      return FALSE;
    }
  if (text_has_control (name))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("Profile name “%s” contains a line break or another control character"),
                   name);
      return FALSE;
    }
  if (strchr (name, '[') != NULL || strchr (name, ']') != NULL)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("Profile name “%s” contains “[” or “]”"), name);
      return FALSE;
    }
  len = strlen (name);
  if (g_ascii_isspace (name[0]) || g_ascii_isspace (name[len - 1]))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("Profile name “%s” begins or ends with a space"), name);
      return FALSE;
    }
  return TRUE;
}

/**
 * pl_profile_validate_on_port_change:
 * @profile: the profile's name, for messages
 * @command: the command line
 * @argv: (out) (optional) (transfer full): its words, placeholders left as they are
 * @error: return location for a #GError
 *
 * The words are split as g_shell_parse_argv() does: quotes and backslashes group and
 * escape, and nothing else of a shell applies (no variables, pipes or globs: the command is
 * run directly, never through `sh -c`).
 *
 * Returns: %TRUE if @command can be run as an OnPortChange hook
 */
gboolean
pl_profile_validate_on_port_change (const char   *profile,
                                    const char   *command,
                                    char       ***argv,
                                    GError      **error)
{
  g_auto(GStrv) words = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (command != NULL, FALSE);

  if (profile == NULL)
    profile = "";
  if (!g_utf8_validate (command, -1, NULL))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("Profile “%s”: %s is not valid UTF-8"),
                   profile, PL_PROFILE_KEY_ON_PORT_CHANGE);
      return FALSE;
    }
  if (text_has_control (command))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("Profile “%s”: %s “%s” contains a line break or another control "
                     "character"),
                   profile, PL_PROFILE_KEY_ON_PORT_CHANGE, command);
      return FALSE;
    }
  if (!g_shell_parse_argv (command, NULL, &words, &local_error))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("Profile “%s”: %s “%s” is not a command line: %s"),
                   profile, PL_PROFILE_KEY_ON_PORT_CHANGE, command, local_error->message);
      return FALSE;
    }

  for (guint i = 0; words[i] != NULL; i++)
    for (const char *p = words[i]; *p != '\0'; p++)
      {
        if (*p != '%')
          continue;
        if (p[1] == 'p' || p[1] == 'a' || p[1] == 'P' || p[1] == '%')
          {
            p++;
            continue;
          }
        {
          g_autofree char *bad = p[1] == '\0'
                                 ? g_strdup ("%")
                                 : g_strndup (p, g_utf8_next_char (p + 1) - p);

          g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                       _("Profile “%s”: %s “%s” has “%s”, which is not one of %%p (public "
                         "port), %%a (public address), %%P (protocol) or %%%% (a percent "
                         "sign)"),
                       profile, PL_PROFILE_KEY_ON_PORT_CHANGE, command, bad);
        }
        return FALSE;
      }

  if (argv != NULL)
    *argv = g_steal_pointer (&words);
  return TRUE;
}

/* g_set_str() is GLib 2.76. */
static gboolean
replace_str (char       **dest,
             const char  *src)
{
  if (g_strcmp0 (*dest, src) == 0)
    return FALSE;
  g_free (*dest);
  *dest = g_strdup (src);
  return TRUE;
}

/* GObject */

static void
pl_profile_finalize (GObject *object)
{
  PlProfile *self = (PlProfile *) object;

  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->description, g_free);
  g_clear_pointer (&self->on_port_change, g_free);
  g_clear_pointer (&self->app, g_free);
  g_clear_pointer (&self->gateway, g_free);
  g_clear_pointer (&self->network, g_free);

  G_OBJECT_CLASS (pl_profile_parent_class)->finalize (object);
}

static void
pl_profile_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  PlProfile *self = PL_PROFILE (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_PROTOCOL:
      g_value_set_enum (value, self->protocol);
      break;
    case PROP_FAMILY:
      g_value_set_enum (value, self->family);
      break;
    case PROP_INTERNAL_PORT:
      g_value_set_uint (value, self->internal_port);
      break;
    case PROP_EXTERNAL_PORT:
      g_value_set_uint (value, self->external_port);
      break;
    case PROP_LIFETIME:
      g_value_set_uint (value, self->lifetime);
      break;
    case PROP_ENABLED:
      g_value_set_boolean (value, self->enabled);
      break;
    case PROP_DESCRIPTION:
      g_value_set_string (value, self->description);
      break;
    case PROP_ANY_EXTERNAL_PORT:
      g_value_set_boolean (value, self->any_external_port);
      break;
    case PROP_ON_PORT_CHANGE:
      g_value_set_string (value, self->on_port_change);
      break;
    case PROP_APP:
      g_value_set_string (value, self->app);
      break;
    case PROP_GATEWAY:
      g_value_set_string (value, self->gateway);
      break;
    case PROP_NETWORK:
      g_value_set_string (value, self->network);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pl_profile_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  PlProfile *self = PL_PROFILE (object);

  switch (prop_id)
    {
    case PROP_NAME:
      pl_profile_set_name (self, g_value_get_string (value));
      break;
    case PROP_PROTOCOL:
      pl_profile_set_protocol (self, g_value_get_enum (value));
      break;
    case PROP_FAMILY:
      pl_profile_set_family (self, g_value_get_enum (value));
      break;
    case PROP_INTERNAL_PORT:
      pl_profile_set_internal_port (self, g_value_get_uint (value));
      break;
    case PROP_EXTERNAL_PORT:
      pl_profile_set_external_port (self, g_value_get_uint (value));
      break;
    case PROP_LIFETIME:
      pl_profile_set_lifetime (self, g_value_get_uint (value));
      break;
    case PROP_ENABLED:
      pl_profile_set_enabled (self, g_value_get_boolean (value));
      break;
    case PROP_DESCRIPTION:
      pl_profile_set_description (self, g_value_get_string (value));
      break;
    case PROP_ANY_EXTERNAL_PORT:
      pl_profile_set_any_external_port (self, g_value_get_boolean (value));
      break;
    case PROP_ON_PORT_CHANGE:
      pl_profile_set_on_port_change (self, g_value_get_string (value));
      break;
    case PROP_APP:
      pl_profile_set_app (self, g_value_get_string (value));
      break;
    case PROP_GATEWAY:
      pl_profile_set_gateway (self, g_value_get_string (value));
      break;
    case PROP_NETWORK:
      pl_profile_set_network (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pl_profile_class_init (PlProfileClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = pl_profile_finalize;
  object_class->get_property = pl_profile_get_property;
  object_class->set_property = pl_profile_set_property;

  /**
   * PlProfile:name:
   *
   * The profile's name, unique in a store; the group name in the profiles file.
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlProfile:protocol:
   *
   * TCP, UDP or both.
   */
  properties[PROP_PROTOCOL] =
    g_param_spec_enum ("protocol", NULL, NULL,
                       PL_TYPE_PROFILE_PROTOCOL,
                       PL_PROFILE_PROTOCOL_TCP,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlProfile:family:
   *
   * Where the port is opened: the router's public IPv4 address, an IPv6 pinhole for this
   * computer's address, or both (the default; IPv6 where the router allows it).
   */
  properties[PROP_FAMILY] =
    g_param_spec_enum ("family", NULL, NULL,
                       PL_TYPE_PROFILE_FAMILY,
                       PL_PROFILE_FAMILY_BOTH,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlProfile:internal-port:
   *
   * The port on this computer (1-65535; 0 until set).
   */
  properties[PROP_INTERNAL_PORT] =
    g_param_spec_uint ("internal-port", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlProfile:external-port:
   *
   * The public port to request (0-65535; 0 = the same as the internal port).
   */
  properties[PROP_EXTERNAL_PORT] =
    g_param_spec_uint ("external-port", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlProfile:lifetime:
   *
   * The lifetime to request, in seconds (1-86400).
   */
  properties[PROP_LIFETIME] =
    g_param_spec_uint ("lifetime", NULL, NULL,
                       0, G_MAXUINT, PL_PROFILE_DEFAULT_LIFETIME,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlProfile:enabled:
   *
   * Whether the mapping should be kept open.
   */
  properties[PROP_ENABLED] =
    g_param_spec_boolean ("enabled", NULL, NULL,
                          TRUE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlProfile:description:
   *
   * An optional one-line description.
   */
  properties[PROP_DESCRIPTION] =
    g_param_spec_string ("description", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlProfile:any-external-port:
   *
   * Whether the router chooses the public port (ExternalPort=any): no port is suggested
   * (NAT-PMP and PCP send 0), and the port granted is kept at every renewal. VPN gateways
   * with port forwarding hand out a random port this way.
   */
  properties[PROP_ANY_EXTERNAL_PORT] =
    g_param_spec_boolean ("any-external-port", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlProfile:on-port-change:
   *
   * An optional command line run (without a shell) when the public port granted to the
   * profile is first known or changes; see pl_profile_validate_on_port_change().
   */
  properties[PROP_ON_PORT_CHANGE] =
    g_param_spec_string ("on-port-change", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlProfile:app:
   *
   * The application the profile is tied to (App=, see pl-app-link.h): the profile is mapped
   * only while it runs. NULL: always, while enabled.
   */
  properties[PROP_APP] =
    g_param_spec_string ("app", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlProfile:gateway:
   *
   * The gateway the profile is mapped on (Gateway=): %NULL or `default` for whatever the
   * default route is, `vpn` for the gateway of the VPN tunnel (see pl-tunnel.h), or an
   * IPv4 address such as the home router's. See pl_profile_validate_gateway().
   */
  properties[PROP_GATEWAY] =
    g_param_spec_string ("gateway", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  /**
   * PlProfile:network:
   *
   * The one network the profile is mapped on (Network=, see pl-network-link.h). NULL: any.
   */
  properties[PROP_NETWORK] =
    g_param_spec_string ("network", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
pl_profile_init (PlProfile *self)
{
  self->protocol = PL_PROFILE_PROTOCOL_TCP;
  self->lifetime = PL_PROFILE_DEFAULT_LIFETIME;
  self->enabled = TRUE;
}

/**
 * pl_profile_new:
 * @name: (nullable): the profile's name
 *
 * Returns: (transfer full): a new profile with default values (TCP, internal port unset,
 *   external port 0, lifetime 7200, enabled)
 */
PlProfile *
pl_profile_new (const char *name)
{
  return g_object_new (PL_TYPE_PROFILE, "name", name, NULL);
}

/**
 * pl_profile_copy:
 * @self: a #PlProfile
 *
 * Returns: (transfer full): a new profile with the same values
 */
PlProfile *
pl_profile_copy (PlProfile *self)
{
  PlProfile *copy;

  g_return_val_if_fail (PL_IS_PROFILE (self), NULL);

  copy = pl_profile_new (self->name);
  pl_profile_update (copy, self);
  return copy;
}

/**
 * pl_profile_update:
 * @self: a #PlProfile
 * @other: the profile to copy from
 *
 * Gives @self every value of @other, notifying each property that changes.
 */
void
pl_profile_update (PlProfile *self,
                   PlProfile *other)
{
  g_return_if_fail (PL_IS_PROFILE (self));
  g_return_if_fail (PL_IS_PROFILE (other));

  if (self == other)
    return;

  g_object_freeze_notify (G_OBJECT (self));
  pl_profile_set_name (self, other->name);
  pl_profile_set_protocol (self, other->protocol);
  pl_profile_set_family (self, other->family);
  pl_profile_set_internal_port (self, other->internal_port);
  pl_profile_set_external_port (self, other->external_port);
  pl_profile_set_any_external_port (self, other->any_external_port);
  pl_profile_set_lifetime (self, other->lifetime);
  pl_profile_set_enabled (self, other->enabled);
  pl_profile_set_description (self, other->description);
  pl_profile_set_on_port_change (self, other->on_port_change);
  pl_profile_set_app (self, other->app);
  pl_profile_set_gateway (self, other->gateway);
  pl_profile_set_network (self, other->network);
  g_object_thaw_notify (G_OBJECT (self));
}

/**
 * pl_profile_equal:
 * @a: a #PlProfile
 * @b: a #PlProfile
 *
 * Returns: whether the two have the same values
 */
gboolean
pl_profile_equal (PlProfile *a,
                  PlProfile *b)
{
  g_return_val_if_fail (PL_IS_PROFILE (a), FALSE);
  g_return_val_if_fail (PL_IS_PROFILE (b), FALSE);

  return g_strcmp0 (a->name, b->name) == 0
         && a->protocol == b->protocol
         && a->family == b->family
         && a->internal_port == b->internal_port
         && a->external_port == b->external_port
         && a->any_external_port == b->any_external_port
         && a->lifetime == b->lifetime
         && a->enabled == b->enabled
         && g_strcmp0 (a->description, b->description) == 0
         && g_strcmp0 (a->on_port_change, b->on_port_change) == 0
         && g_strcmp0 (a->app, b->app) == 0
         && g_strcmp0 (a->gateway, b->gateway) == 0
         && g_strcmp0 (a->network, b->network) == 0;
}

const char *
pl_profile_get_name (PlProfile *self)
{
  g_return_val_if_fail (PL_IS_PROFILE (self), NULL);

  return self->name;
}

void
pl_profile_set_name (PlProfile  *self,
                     const char *name)
{
  g_return_if_fail (PL_IS_PROFILE (self));

  if (replace_str (&self->name, name))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
}

PlProfileProtocol
pl_profile_get_protocol (PlProfile *self)
{
  g_return_val_if_fail (PL_IS_PROFILE (self), PL_PROFILE_PROTOCOL_TCP);

  return self->protocol;
}

void
pl_profile_set_protocol (PlProfile         *self,
                         PlProfileProtocol  protocol)
{
  g_return_if_fail (PL_IS_PROFILE (self));
  g_return_if_fail (protocol <= PL_PROFILE_PROTOCOL_BOTH);

  if (self->protocol == protocol)
    return;
  self->protocol = protocol;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROTOCOL]);
}

PlProfileFamily
pl_profile_get_family (PlProfile *self)
{
  g_return_val_if_fail (PL_IS_PROFILE (self), PL_PROFILE_FAMILY_BOTH);

  return self->family;
}

void
pl_profile_set_family (PlProfile       *self,
                       PlProfileFamily  family)
{
  g_return_if_fail (PL_IS_PROFILE (self));
  g_return_if_fail (family <= PL_PROFILE_FAMILY_IPV6);

  if (self->family == family)
    return;
  self->family = family;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FAMILY]);
}

const char *
pl_profile_family_to_string (PlProfileFamily family)
{
  switch (family)
    {
    case PL_PROFILE_FAMILY_BOTH:
      return "both";
    case PL_PROFILE_FAMILY_IPV4:
      return "ipv4";
    case PL_PROFILE_FAMILY_IPV6:
      return "ipv6";
    default:
      g_return_val_if_reached (NULL);
    }
}

gboolean
pl_profile_family_from_string (const char      *str,
                               PlProfileFamily *family)
{
  g_return_val_if_fail (family != NULL, FALSE);

  for (PlProfileFamily f = PL_PROFILE_FAMILY_BOTH; f <= PL_PROFILE_FAMILY_IPV6; f++)
    if (g_strcmp0 (str, pl_profile_family_to_string (f)) == 0)
      {
        *family = f;
        return TRUE;
      }
  return FALSE;
}

guint
pl_profile_get_internal_port (PlProfile *self)
{
  g_return_val_if_fail (PL_IS_PROFILE (self), 0);

  return self->internal_port;
}

void
pl_profile_set_internal_port (PlProfile *self,
                              guint      port)
{
  g_return_if_fail (PL_IS_PROFILE (self));

  if (self->internal_port == port)
    return;
  self->internal_port = port;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INTERNAL_PORT]);
}

guint
pl_profile_get_external_port (PlProfile *self)
{
  g_return_val_if_fail (PL_IS_PROFILE (self), 0);

  return self->external_port;
}

void
pl_profile_set_external_port (PlProfile *self,
                              guint      port)
{
  g_return_if_fail (PL_IS_PROFILE (self));

  g_object_freeze_notify (G_OBJECT (self));
  if (port != 0)
    pl_profile_set_any_external_port (self, FALSE);
  if (self->external_port != port)
    {
      self->external_port = port;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXTERNAL_PORT]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

gboolean
pl_profile_get_any_external_port (PlProfile *self)
{
  g_return_val_if_fail (PL_IS_PROFILE (self), FALSE);

  return self->any_external_port;
}

void
pl_profile_set_any_external_port (PlProfile *self,
                                  gboolean   any)
{
  g_return_if_fail (PL_IS_PROFILE (self));

  any = !!any;
  g_object_freeze_notify (G_OBJECT (self));
  if (any)
    pl_profile_set_external_port (self, 0);
  if (self->any_external_port != any)
    {
      self->any_external_port = any;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ANY_EXTERNAL_PORT]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

guint
pl_profile_get_requested_port (PlProfile *self)
{
  g_return_val_if_fail (PL_IS_PROFILE (self), 0);

  if (self->any_external_port)
    return 0;
  return self->external_port != 0 ? self->external_port : self->internal_port;
}

guint
pl_profile_get_lifetime (PlProfile *self)
{
  g_return_val_if_fail (PL_IS_PROFILE (self), 0);

  return self->lifetime;
}

void
pl_profile_set_lifetime (PlProfile *self,
                         guint      lifetime)
{
  g_return_if_fail (PL_IS_PROFILE (self));

  if (self->lifetime == lifetime)
    return;
  self->lifetime = lifetime;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LIFETIME]);
}

gboolean
pl_profile_get_enabled (PlProfile *self)
{
  g_return_val_if_fail (PL_IS_PROFILE (self), FALSE);

  return self->enabled;
}

void
pl_profile_set_enabled (PlProfile *self,
                        gboolean   enabled)
{
  g_return_if_fail (PL_IS_PROFILE (self));

  enabled = !!enabled;
  if (self->enabled == enabled)
    return;
  self->enabled = enabled;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENABLED]);
}

const char *
pl_profile_get_description (PlProfile *self)
{
  g_return_val_if_fail (PL_IS_PROFILE (self), NULL);

  return self->description;
}

void
pl_profile_set_description (PlProfile  *self,
                            const char *description)
{
  g_return_if_fail (PL_IS_PROFILE (self));

  if (description != NULL && *description == '\0')
    description = NULL;
  if (replace_str (&self->description, description))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DESCRIPTION]);
}

const char *
pl_profile_get_on_port_change (PlProfile *self)
{
  g_return_val_if_fail (PL_IS_PROFILE (self), NULL);

  return self->on_port_change;
}

void
pl_profile_set_on_port_change (PlProfile  *self,
                               const char *command)
{
  g_return_if_fail (PL_IS_PROFILE (self));

  if (command != NULL && *command == '\0')
    command = NULL;
  if (replace_str (&self->on_port_change, command))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ON_PORT_CHANGE]);
}

/* App= */

const char *
pl_profile_get_app (PlProfile *self)
{
  g_return_val_if_fail (PL_IS_PROFILE (self), NULL);

  return self->app;
}

void
pl_profile_set_app (PlProfile  *self,
                    const char *app)
{
  g_return_if_fail (PL_IS_PROFILE (self));

  if (app != NULL && *app == '\0')
    app = NULL;
  if (replace_str (&self->app, app))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_APP]);
}

/* Gateway= */

const char *
pl_profile_get_gateway (PlProfile *self)
{
  g_return_val_if_fail (PL_IS_PROFILE (self), NULL);

  return self->gateway;
}

void
pl_profile_set_gateway (PlProfile  *self,
                        const char *gateway)
{
  g_return_if_fail (PL_IS_PROFILE (self));

  if (gateway != NULL && *gateway == '\0')
    gateway = NULL;
  if (replace_str (&self->gateway, gateway))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_GATEWAY]);
}

/**
 * pl_profile_validate_gateway:
 * @profile: (nullable): the profile's name, for the message
 * @gateway: the text of Gateway=
 * @kind: (out) (optional): what it means
 * @address: (out) (optional) (transfer full): the address, for %PL_PROFILE_GATEWAY_ADDRESS
 * @error: return location for a #GError
 *
 * Checks a Gateway= value: exactly `default`, `vpn`, or a dotted IPv4 unicast address.
 *
 * Returns: %TRUE if @gateway is one of these
 */
gboolean
pl_profile_validate_gateway (const char        *profile,
                             const char        *gateway,
                             PlProfileGateway  *kind,
                             GInetAddress     **address,
                             GError           **error)
{
  g_autoptr(GInetAddress) parsed = NULL;
  guint8 first = 0;

  g_return_val_if_fail (gateway != NULL, FALSE);

  if (strcmp (gateway, PL_PROFILE_GATEWAY_DEFAULT_TEXT) == 0)
    {
      if (kind != NULL)
        *kind = PL_PROFILE_GATEWAY_DEFAULT;
      return TRUE;
    }
  if (strcmp (gateway, PL_PROFILE_GATEWAY_VPN_TEXT) == 0)
    {
      if (kind != NULL)
        *kind = PL_PROFILE_GATEWAY_VPN;
      return TRUE;
    }

  /* Dotted quads only: g_inet_address_new_from_string() would take IPv6 too. */
  if (strspn (gateway, "0123456789.") == strlen (gateway))
    parsed = g_inet_address_new_from_string (gateway);
  if (parsed != NULL && g_inet_address_get_family (parsed) == G_SOCKET_FAMILY_IPV4)
    first = g_inet_address_to_bytes (parsed)[0];
  if (parsed == NULL || g_inet_address_get_family (parsed) != G_SOCKET_FAMILY_IPV4 ||
      g_inet_address_get_is_any (parsed) || g_inet_address_get_is_multicast (parsed) ||
      g_inet_address_get_is_loopback (parsed) || first == 255)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("Profile “%s”: %s “%s” is not a gateway (default, vpn or an IPv4 "
                     "address such as 192.168.1.1)"),
                   profile != NULL ? profile : "", PL_PROFILE_KEY_GATEWAY, gateway);
      return FALSE;
    }
  if (kind != NULL)
    *kind = PL_PROFILE_GATEWAY_ADDRESS;
  if (address != NULL)
    *address = g_steal_pointer (&parsed);
  return TRUE;
}

PlProfileGateway
pl_profile_get_gateway_kind (PlProfile     *self,
                             GInetAddress **address)
{
  PlProfileGateway kind = PL_PROFILE_GATEWAY_DEFAULT;

  g_return_val_if_fail (PL_IS_PROFILE (self), PL_PROFILE_GATEWAY_DEFAULT);

  if (address != NULL)
    *address = NULL;
  if (self->gateway != NULL &&
      !pl_profile_validate_gateway (self->name, self->gateway, &kind, address, NULL))
    return PL_PROFILE_GATEWAY_INVALID;
  return kind;
}

/* Network= */

const char *
pl_profile_get_network (PlProfile *self)
{
  g_return_val_if_fail (PL_IS_PROFILE (self), NULL);

  return self->network;
}

void
pl_profile_set_network (PlProfile  *self,
                        const char *network)
{
  g_return_if_fail (PL_IS_PROFILE (self));

  if (network != NULL && *network == '\0')
    network = NULL;
  if (replace_str (&self->network, network))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NETWORK]);
}

gboolean
pl_profile_overlaps (PlProfile *self,
                     PlProfile *other)
{
  g_return_val_if_fail (PL_IS_PROFILE (self), FALSE);
  g_return_val_if_fail (PL_IS_PROFILE (other), FALSE);

  return self->internal_port == other->internal_port
         && pl_profile_protocol_overlaps (self->protocol, other->protocol);
}

/**
 * pl_profile_validate:
 * @self: a #PlProfile
 * @error: return location for a #GError
 *
 * Checks the name and every value (see [class@Pl.Profile] for the ranges).
 *
 * Returns: %TRUE if the profile can be stored and mapped
 */
gboolean
pl_profile_validate (PlProfile  *self,
                     GError    **error)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (PL_IS_PROFILE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!pl_profile_validate_name (self->name, error))
    return FALSE;

  if (self->protocol > PL_PROFILE_PROTOCOL_BOTH)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("Profile “%s”: %s “%d” is not a protocol (tcp, udp or both)"),
                   self->name, PL_PROFILE_KEY_PROTOCOL, (int) self->protocol);
      return FALSE;
    }

  if (self->internal_port < 1 || self->internal_port > G_MAXUINT16)
    {
      text = g_strdup_printf ("%u", self->internal_port);
      g_propagate_error (error, port_error (self->name, PL_PROFILE_KEY_INTERNAL_PORT,
                                            text, FALSE));
      return FALSE;
    }

  if (self->external_port > G_MAXUINT16)
    {
      text = g_strdup_printf ("%u", self->external_port);
      g_propagate_error (error, port_error (self->name, PL_PROFILE_KEY_EXTERNAL_PORT,
                                            text, TRUE));
      return FALSE;
    }

  if (self->lifetime < PL_PROFILE_MIN_LIFETIME || self->lifetime > PL_PROFILE_MAX_LIFETIME)
    {
      text = g_strdup_printf ("%u", self->lifetime);
      g_propagate_error (error, lifetime_error (self->name, text));
      return FALSE;
    }

  if (self->on_port_change != NULL &&
      !pl_profile_validate_on_port_change (self->name, self->on_port_change, NULL, error))
    return FALSE;

  if (self->app != NULL && !pl_app_link_parse (self->name, self->app, NULL, NULL, error))
    return FALSE;

  if (self->gateway != NULL &&
      !pl_profile_validate_gateway (self->name, self->gateway, NULL, NULL, error))
    return FALSE;

  if (self->network != NULL)
    {
      g_autoptr(PlNetworkLink) link = pl_network_link_parse (self->name, self->network, error);

      if (link == NULL)
        return FALSE;
    }

  return check_description (self->name, self->description, error);
}

/**
 * pl_profile_set_key_value:
 * @self: a #PlProfile
 * @key: one of the `PL_PROFILE_KEY_*` names
 * @value: the value as text
 * @error: return location for a #GError
 *
 * Parses @value strictly and sets it. On failure @self is unchanged.
 *
 * Returns: %TRUE if the value was valid and has been set
 */
gboolean
pl_profile_set_key_value (PlProfile   *self,
                          const char  *key,
                          const char  *value,
                          GError     **error)
{
  const char *name;
  guint64 number;

  g_return_val_if_fail (PL_IS_PROFILE (self), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  name = display_name (self);

  if (strcmp (key, PL_PROFILE_KEY_PROTOCOL) == 0)
    {
      PlProfileProtocol protocol;

      if (!pl_profile_protocol_from_string (value, &protocol))
        {
          g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                       _("Profile “%s”: %s “%s” is not a protocol (tcp, udp or both)"),
                       name, key, value);
          return FALSE;
        }
      pl_profile_set_protocol (self, protocol);
    }
  else if (strcmp (key, PL_PROFILE_KEY_FAMILY) == 0)
    {
      PlProfileFamily family;

      if (!pl_profile_family_from_string (value, &family))
        {
          g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                       _("Profile “%s”: %s “%s” is not an address family (ipv4, ipv6 or "
                         "both)"),
                       name, key, value);
          return FALSE;
        }
      pl_profile_set_family (self, family);
    }
  else if (strcmp (key, PL_PROFILE_KEY_INTERNAL_PORT) == 0)
    {
      if (!parse_decimal (value, G_MAXUINT16, &number) || number == 0)
        {
          g_propagate_error (error, port_error (name, key, value, FALSE));
          return FALSE;
        }
      pl_profile_set_internal_port (self, (guint) number);
    }
  else if (strcmp (key, PL_PROFILE_KEY_EXTERNAL_PORT) == 0)
    {
      /* "any" is new: a Portlight from before it reports "ExternalPort “any” is not a port
       * number (0-65535)" and leaves the profile out (it never rewrites the file then). 0
       * keeps its old meaning, the internal port, so that no existing file changes. */
      if (strcmp (value, PL_PROFILE_EXTERNAL_PORT_ANY) == 0)
        {
          pl_profile_set_any_external_port (self, TRUE);
          return TRUE;
        }
      if (!parse_decimal (value, G_MAXUINT16, &number))
        {
          g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                       _("Profile “%s”: %s “%s” is not a port number (0-65535) or “any”"),
                       name, key, value);
          return FALSE;
        }
      g_object_freeze_notify (G_OBJECT (self));
      pl_profile_set_any_external_port (self, FALSE);
      pl_profile_set_external_port (self, (guint) number);
      g_object_thaw_notify (G_OBJECT (self));
    }
  else if (strcmp (key, PL_PROFILE_KEY_LIFETIME) == 0)
    {
      if (!parse_decimal (value, PL_PROFILE_MAX_LIFETIME, &number)
          || number < PL_PROFILE_MIN_LIFETIME)
        {
          g_propagate_error (error, lifetime_error (name, value));
          return FALSE;
        }
      pl_profile_set_lifetime (self, (guint) number);
    }
  else if (strcmp (key, PL_PROFILE_KEY_ENABLED) == 0)
    {
      if (strcmp (value, "true") == 0)
        pl_profile_set_enabled (self, TRUE);
      else if (strcmp (value, "false") == 0)
        pl_profile_set_enabled (self, FALSE);
      else
        {
          g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                       _("Profile “%s”: %s “%s” is not true or false"),
                       name, key, value);
          return FALSE;
        }
    }
  else if (strcmp (key, PL_PROFILE_KEY_DESCRIPTION) == 0)
    {
      if (!check_description (name, value, error))
        return FALSE;
      pl_profile_set_description (self, value);
    }
  else if (strcmp (key, PL_PROFILE_KEY_ON_PORT_CHANGE) == 0)
    {
      /* A Portlight from before this key ignores it and keeps it in the file. */
      if (*value != '\0' && !pl_profile_validate_on_port_change (name, value, NULL, error))
        return FALSE;
      pl_profile_set_on_port_change (self, value);
    }
  else if (strcmp (key, PL_PROFILE_KEY_APP) == 0)
    {
      /* A Portlight from before this key ignores it (keeping it in the file) and maps the
       * profile whenever it is enabled. An empty value means no application. */
      if (*value != '\0' && !pl_app_link_parse (name, value, NULL, NULL, error))
        return FALSE;
      pl_profile_set_app (self, value);
    }
  else if (strcmp (key, PL_PROFILE_KEY_GATEWAY) == 0)
    {
      /* A Portlight from before this key ignores it and keeps it in the file (the profile
       * then follows the default route there). */
      if (*value != '\0' && !pl_profile_validate_gateway (name, value, NULL, NULL, error))
        return FALSE;
      pl_profile_set_gateway (self, value);
    }
  else if (strcmp (key, PL_PROFILE_KEY_NETWORK) == 0)
    {
      /* Like App=: a Portlight from before this key keeps it and maps on any network. */
      if (*value != '\0')
        {
          g_autoptr(PlNetworkLink) link = pl_network_link_parse (name, value, error);

          if (link == NULL)
            return FALSE;
        }
      pl_profile_set_network (self, value);
    }
  else
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                   _("Profile “%s”: unknown key “%s”"), name, key);
      return FALSE;
    }

  return TRUE;
}

/* Undoes the escapes of a key file string value (\s \n \t \r \\) as
 * g_key_file_get_string() does, or returns NULL and sets @bad to the first invalid
 * sequence: a backslash and the character after it, or a backslash alone at the end. */
static char *
unescape_value (const char  *raw,
                char       **bad)
{
  g_autoptr(GString) out = g_string_sized_new (strlen (raw));

  for (const char *p = raw; *p != '\0'; p++)
    {
      if (*p != '\\')
        {
          g_string_append_c (out, *p);
          continue;
        }

      switch (p[1])
        {
        case 's':
          g_string_append_c (out, ' ');
          break;
        case 'n':
          g_string_append_c (out, '\n');
          break;
        case 't':
          g_string_append_c (out, '\t');
          break;
        case 'r':
          g_string_append_c (out, '\r');
          break;
        case '\\':
          g_string_append_c (out, '\\');
          break;
        case '\0':
          *bad = g_strdup ("\\");
          return NULL;
        default:
          /* The whole character, for a readable message. */
          *bad = g_strndup (p, g_utf8_next_char (p + 1) - p);
          return NULL;
        }
      p++;
    }

  return g_string_free (g_steal_pointer (&out), FALSE);
}

/**
 * pl_profile_new_from_key_file:
 * @key_file: a #GKeyFile
 * @group: the group to read, i.e. the profile's name
 * @problems: (element-type GError): where every problem found is appended
 *
 * Returns: (transfer full) (nullable): the profile, or %NULL if anything was wrong
 */
PlProfile *
pl_profile_new_from_key_file (GKeyFile   *key_file,
                              const char *group,
                              GPtrArray  *problems)
{
  static const char * const keys[] = {
    PL_PROFILE_KEY_PROTOCOL,
    PL_PROFILE_KEY_FAMILY,
    PL_PROFILE_KEY_INTERNAL_PORT,
    PL_PROFILE_KEY_EXTERNAL_PORT,
    PL_PROFILE_KEY_LIFETIME,
    PL_PROFILE_KEY_ENABLED,
    PL_PROFILE_KEY_DESCRIPTION,
    PL_PROFILE_KEY_ON_PORT_CHANGE,
    PL_PROFILE_KEY_APP,
    PL_PROFILE_KEY_GATEWAY,
    PL_PROFILE_KEY_NETWORK,
  };
  g_autoptr(PlProfile) profile = NULL;
  GError *error = NULL;
  guint n_problems;

  g_return_val_if_fail (key_file != NULL, NULL);
  g_return_val_if_fail (group != NULL, NULL);
  g_return_val_if_fail (problems != NULL, NULL);

  n_problems = problems->len;
  profile = pl_profile_new (group);

  if (!pl_profile_validate_name (group, &error))
    g_ptr_array_add (problems, g_steal_pointer (&error));

  for (gsize i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autofree char *raw = NULL;
      g_autofree char *value = NULL;
      g_autofree char *bad = NULL;

      if (!g_key_file_has_key (key_file, group, keys[i], NULL))
        {
          if (strcmp (keys[i], PL_PROFILE_KEY_PROTOCOL) == 0
              || strcmp (keys[i], PL_PROFILE_KEY_INTERNAL_PORT) == 0)
            g_ptr_array_add (problems,
                             g_error_new (PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                                          _("Profile “%s”: %s is missing"), group, keys[i]));
          continue;
        }

      /* The raw text, checked and unescaped here rather than by g_key_file_get_string():
       * GLib 2.74 sets its GError twice (a warning) on some values with two bad escapes. */
      raw = g_key_file_get_value (key_file, group, keys[i], NULL);
      if (raw == NULL || !g_utf8_validate (raw, -1, NULL))
        {
          g_ptr_array_add (problems,
                           g_error_new (PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                                        _("Profile “%s”: %s is not valid UTF-8"),
                                        group, keys[i]));
          continue;
        }

      value = unescape_value (raw, &bad);
      if (value == NULL)
        {
          if (strcmp (bad, "\\") == 0)
            g_ptr_array_add (problems,
                             g_error_new (PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                                          _("Profile “%s”: %s ends with an incomplete escape "
                                            "sequence “\\”"),
                                          group, keys[i]));
          else
            g_ptr_array_add (problems,
                             g_error_new (PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                                          _("Profile “%s”: %s has an invalid escape sequence "
                                            "“%s”"),
                                          group, keys[i], bad));
          continue;
        }

      if (!pl_profile_set_key_value (profile, keys[i], value, &error))
        g_ptr_array_add (problems, g_steal_pointer (&error));
    }

  if (problems->len != n_problems)
    return NULL;

  return g_steal_pointer (&profile);
}

static void
set_uint (GKeyFile   *key_file,
          const char *group,
          const char *key,
          guint       value)
{
  char buf[32];

  g_snprintf (buf, sizeof buf, "%u", value);
  g_key_file_set_value (key_file, group, key, buf);
}

/* Sets a string key, or removes it for NULL; a value already in the file that says the same
 * (perhaps escaped differently, "\s" for a space) is left byte for byte as it is. */
static void
set_string_kept (GKeyFile   *key_file,
                 const char *group,
                 const char *key,
                 const char *value)
{
  g_autofree char *raw = NULL;
  g_autofree char *old = NULL;
  g_autofree char *bad = NULL;

  if (value == NULL)
    {
      g_key_file_remove_key (key_file, group, key, NULL);
      return;
    }
  raw = g_key_file_get_value (key_file, group, key, NULL);
  if (raw != NULL)
    old = unescape_value (raw, &bad);
  if (g_strcmp0 (old, value) != 0)
    g_key_file_set_string (key_file, group, key, value);
}

/**
 * pl_profile_write_to_key_file:
 * @self: a #PlProfile
 * @key_file: a #GKeyFile
 *
 * Writes the profile's keys into its group (created at the end if missing). Other keys and
 * the comments of the group are left as they are.
 */
void
pl_profile_write_to_key_file (PlProfile *self,
                              GKeyFile  *key_file)
{
  g_return_if_fail (PL_IS_PROFILE (self));
  g_return_if_fail (key_file != NULL);
  g_return_if_fail (self->name != NULL);

  g_key_file_set_value (key_file, self->name, PL_PROFILE_KEY_PROTOCOL,
                        pl_profile_protocol_to_string (self->protocol));
  /* Family is written when it is not the default, or was in the file already: files made
   * before it existed stay as they were. */
  if (self->family != PL_PROFILE_FAMILY_BOTH ||
      g_key_file_has_key (key_file, self->name, PL_PROFILE_KEY_FAMILY, NULL))
    g_key_file_set_value (key_file, self->name, PL_PROFILE_KEY_FAMILY,
                          pl_profile_family_to_string (self->family));
  set_uint (key_file, self->name, PL_PROFILE_KEY_INTERNAL_PORT, self->internal_port);
  if (self->any_external_port)
    g_key_file_set_value (key_file, self->name, PL_PROFILE_KEY_EXTERNAL_PORT,
                          PL_PROFILE_EXTERNAL_PORT_ANY);
  else
    set_uint (key_file, self->name, PL_PROFILE_KEY_EXTERNAL_PORT, self->external_port);
  set_uint (key_file, self->name, PL_PROFILE_KEY_LIFETIME, self->lifetime);
  g_key_file_set_value (key_file, self->name, PL_PROFILE_KEY_ENABLED,
                        self->enabled ? "true" : "false");
  if (self->description != NULL)
    g_key_file_set_string (key_file, self->name, PL_PROFILE_KEY_DESCRIPTION, self->description);
  else
    g_key_file_remove_key (key_file, self->name, PL_PROFILE_KEY_DESCRIPTION, NULL);
  set_string_kept (key_file, self->name, PL_PROFILE_KEY_ON_PORT_CHANGE, self->on_port_change);
  set_string_kept (key_file, self->name, PL_PROFILE_KEY_APP, self->app);
  set_string_kept (key_file, self->name, PL_PROFILE_KEY_GATEWAY, self->gateway);
  set_string_kept (key_file, self->name, PL_PROFILE_KEY_NETWORK, self->network);
}
