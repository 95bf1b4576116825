/* pl-profile-settings.c: a profile as the a{sv} settings of CreateProfile and Profile.Update
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

/* Both directions of the settings dictionary, with no bus and no engine: the engine reads
 * what clients send (pl-broker-profiles.c), and clients (portlightctl profiles, the tray's
 * editor) build it. A file of its own so that a client links this and not the engine's
 * sessions and mappers. */

#include "config.h"

#include "pl-profile-settings.h"

/* Update(a{sv}): name s, protocols as, internal_port q, external_port q,
 * any_external_port b, lifetime u, enabled b, family s, description s ("" for none), app s
 * (App=, "" for none); only
 * the keys given change. external_port means that port (0: the internal one), so it also
 * ends "any". */
gboolean
pl_broker_profile_settings_apply (PlProfile  *copy,
                                  GVariant   *settings,
                                  GError    **error)
{
  GVariantIter iter;
  GVariant *entry;

  g_variant_iter_init (&iter, settings);
  while ((entry = g_variant_iter_next_value (&iter)) != NULL)
    {
      g_autoptr(GVariant) item = entry;
      g_autoptr(GVariant) value = NULL;
      const GVariantType *want = NULL;
      const char *key = NULL;

      g_variant_get (item, "{&sv}", &key, &value);

      if (g_strcmp0 (key, "name") == 0)
        want = G_VARIANT_TYPE_STRING;
      else if (g_strcmp0 (key, "protocols") == 0)
        want = G_VARIANT_TYPE_STRING_ARRAY;
      else if (g_strcmp0 (key, "internal_port") == 0 || g_strcmp0 (key, "external_port") == 0)
        want = G_VARIANT_TYPE_UINT16;
      else if (g_strcmp0 (key, "lifetime") == 0)
        want = G_VARIANT_TYPE_UINT32;
      else if (g_strcmp0 (key, "enabled") == 0 || g_strcmp0 (key, "any_external_port") == 0)
        want = G_VARIANT_TYPE_BOOLEAN;
      else if (g_strcmp0 (key, "family") == 0 || g_strcmp0 (key, "description") == 0 ||
               g_strcmp0 (key, "app") == 0 || g_strcmp0 (key, "gateway") == 0 ||
               g_strcmp0 (key, "network") == 0 || g_strcmp0 (key, "on_port_change") == 0)
        want = G_VARIANT_TYPE_STRING;
      else
        {
          g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS, "Unknown setting “%s”",
                       key);
          return FALSE;
        }
      if (!g_variant_is_of_type (value, want))
        {
          g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                       "Setting “%s” must be of type %.*s, not %s", key,
                       (int) g_variant_type_get_string_length (want),
                       g_variant_type_peek_string (want), g_variant_get_type_string (value));
          return FALSE;
        }

      if (g_strcmp0 (key, "name") == 0)
        pl_profile_set_name (copy, g_variant_get_string (value, NULL));
      else if (g_strcmp0 (key, "protocols") == 0)
        {
          g_autofree const char **list = g_variant_get_strv (value, NULL);
          gboolean tcp = FALSE;
          gboolean udp = FALSE;

          for (guint i = 0; list[i] != NULL; i++)
            {
              if (g_strcmp0 (list[i], "tcp") == 0 && !tcp)
                tcp = TRUE;
              else if (g_strcmp0 (list[i], "udp") == 0 && !udp)
                udp = TRUE;
              else
                {
                  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                               "Protocols must be “tcp”, “udp” or both, each once");
                  return FALSE;
                }
            }
          if (!tcp && !udp)
            {
              g_set_error_literal (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                   "Give at least one protocol (“tcp” or “udp”)");
              return FALSE;
            }
          pl_profile_set_protocol (copy, tcp && udp ? PL_PROFILE_PROTOCOL_BOTH
                                         : tcp ? PL_PROFILE_PROTOCOL_TCP
                                               : PL_PROFILE_PROTOCOL_UDP);
        }
      else if (g_strcmp0 (key, "internal_port") == 0)
        pl_profile_set_internal_port (copy, g_variant_get_uint16 (value));
      else if (g_strcmp0 (key, "external_port") == 0)
        {
          pl_profile_set_any_external_port (copy, FALSE);
          pl_profile_set_external_port (copy, g_variant_get_uint16 (value));
        }
      else if (g_strcmp0 (key, "any_external_port") == 0)
        pl_profile_set_any_external_port (copy, g_variant_get_boolean (value));
      else if (g_strcmp0 (key, "lifetime") == 0)
        pl_profile_set_lifetime (copy, g_variant_get_uint32 (value));
      else if (g_strcmp0 (key, "family") == 0)
        {
          PlProfileFamily family;

          if (!pl_profile_family_from_string (g_variant_get_string (value, NULL), &family))
            {
              g_set_error_literal (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                   "Family must be “ipv4”, “ipv6” or “both”");
              return FALSE;
            }
          pl_profile_set_family (copy, family);
        }
      else if (g_strcmp0 (key, "app") == 0)
        {
          const char *text = g_variant_get_string (value, NULL);

          /* Checked with the rest by pl_profile_validate(). */
          pl_profile_set_app (copy, text[0] != '\0' ? text : NULL);
        }
      else if (g_strcmp0 (key, "gateway") == 0)
        pl_profile_set_gateway (copy, g_variant_get_string (value, NULL));    /* "" = none */
      else if (g_strcmp0 (key, "network") == 0)
        pl_profile_set_network (copy, g_variant_get_string (value, NULL));    /* "" = none */
      else if (g_strcmp0 (key, "on_port_change") == 0)
        {
          const char *text = g_variant_get_string (value, NULL);

          pl_profile_set_on_port_change (copy, text[0] != '\0' ? text : NULL);
        }
      else if (g_strcmp0 (key, "description") == 0)
        {
          const char *text = g_variant_get_string (value, NULL);

          pl_profile_set_description (copy, text[0] != '\0' ? text : NULL);
        }
      else
        pl_profile_set_enabled (copy, g_variant_get_boolean (value));
    }
  return TRUE;
}

static void
add_string (GVariantBuilder *builder,
            const char      *key,
            const char      *value)
{
  g_variant_builder_add (builder, "{sv}", key, g_variant_new_string (value != NULL ? value : ""));
}

GVariant *
pl_broker_profile_settings_new (PlProfile *profile)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  const char *tcp_udp[] = { "tcp", "udp", NULL };
  const char *tcp[] = { "tcp", NULL };
  const char *udp[] = { "udp", NULL };
  const char * const *protocols = tcp;

  g_return_val_if_fail (PL_IS_PROFILE (profile), NULL);

  if (pl_profile_get_protocol (profile) == PL_PROFILE_PROTOCOL_BOTH)
    protocols = tcp_udp;
  else if (pl_profile_get_protocol (profile) == PL_PROFILE_PROTOCOL_UDP)
    protocols = udp;
  add_string (&builder, "name", pl_profile_get_name (profile));
  g_variant_builder_add (&builder, "{sv}", "protocols", g_variant_new_strv (protocols, -1));
  g_variant_builder_add (&builder, "{sv}", "internal_port",
                         g_variant_new_uint16 ((guint16) pl_profile_get_internal_port (profile)));
  /* "any" is its own key: giving external_port ends it. */
  if (pl_profile_get_any_external_port (profile))
    g_variant_builder_add (&builder, "{sv}", "any_external_port", g_variant_new_boolean (TRUE));
  else
    g_variant_builder_add (&builder, "{sv}", "external_port",
                           g_variant_new_uint16 ((guint16) pl_profile_get_external_port (profile)));
  g_variant_builder_add (&builder, "{sv}", "lifetime",
                         g_variant_new_uint32 (pl_profile_get_lifetime (profile)));
  g_variant_builder_add (&builder, "{sv}", "enabled",
                         g_variant_new_boolean (pl_profile_get_enabled (profile)));
  add_string (&builder, "family", pl_profile_family_to_string (pl_profile_get_family (profile)));
  add_string (&builder, "description", pl_profile_get_description (profile));
  add_string (&builder, "app", pl_profile_get_app (profile));
  add_string (&builder, "gateway", pl_profile_get_gateway (profile));
  add_string (&builder, "network", pl_profile_get_network (profile));
  add_string (&builder, "on_port_change", pl_profile_get_on_port_change (profile));
  return g_variant_builder_end (&builder);
}
