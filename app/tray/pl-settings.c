/* pl-settings.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "pl-settings.h"

#define GROUP             "Portlight"
#define KEY_NOTIFICATIONS "Notifications"
#define KEY_GATEWAY       "Gateway"
#define KEY_PROTOCOL      "Protocol"

struct _PlSettings
{
  GObject   parent_instance;

  char     *path;
  GKeyFile *key_file;
  gboolean  notifications;
  char     *gateway;
  PlMethod  protocol;
  GError   *load_error;   /* the file exists but could not be read: never overwrite it */
};

G_DEFINE_FINAL_TYPE (PlSettings, pl_settings, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NOTIFICATIONS,
  PROP_GATEWAY,
  PROP_PROTOCOL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

char *
pl_settings_get_default_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "portlight", "settings.ini", NULL);
}

static void
load (PlSettings *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *gateway = NULL;
  g_autofree char *protocol = NULL;

  if (!g_key_file_load_from_file (self->key_file, self->path, G_KEY_FILE_KEEP_COMMENTS, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_message ("Ignoring the settings in %s (and not overwriting them): %s", self->path,
                     error->message);
          self->load_error = g_steal_pointer (&error);
        }
      return;
    }

  if (g_key_file_has_key (self->key_file, GROUP, KEY_NOTIFICATIONS, NULL))
    {
      gboolean value = g_key_file_get_boolean (self->key_file, GROUP, KEY_NOTIFICATIONS, &error);

      if (error == NULL)
        self->notifications = value;
      else
        g_message ("%s: %s", self->path, error->message);
      g_clear_error (&error);
    }

  gateway = g_key_file_get_string (self->key_file, GROUP, KEY_GATEWAY, NULL);
  if (gateway != NULL)
    g_strstrip (gateway);
  if (gateway != NULL && *gateway != '\0' && g_ascii_strcasecmp (gateway, "auto") != 0)
    self->gateway = g_steal_pointer (&gateway);

  /* An unknown value is read as auto but left in the file: only set_protocol replaces it. */
  protocol = g_key_file_get_string (self->key_file, GROUP, KEY_PROTOCOL, NULL);
  if (protocol != NULL)
    g_strstrip (protocol);
  if (protocol != NULL && *protocol != '\0' && !pl_method_from_string (protocol, &self->protocol))
    g_message ("%s: unknown %s “%s” (expected auto, pcp, natpmp or upnp): using auto", self->path,
               KEY_PROTOCOL, protocol);
}

gboolean
pl_settings_save (PlSettings  *self,
                  GError     **error)
{
  g_autofree char *dir = NULL;

  g_return_val_if_fail (PL_IS_SETTINGS (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->load_error != NULL)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                   _("“%s” could not be read, so it is not overwritten: %s"), self->path,
                   self->load_error->message);
      return FALSE;
    }

  g_key_file_set_boolean (self->key_file, GROUP, KEY_NOTIFICATIONS, self->notifications);
  g_key_file_set_string (self->key_file, GROUP, KEY_GATEWAY,
                         self->gateway != NULL ? self->gateway : "auto");
  /* The protocol is written by set_protocol; here only added when missing, so that a value
   * this version does not know survives. */
  if (!g_key_file_has_key (self->key_file, GROUP, KEY_PROTOCOL, NULL))
    g_key_file_set_string (self->key_file, GROUP, KEY_PROTOCOL,
                           pl_method_to_string (self->protocol));

  dir = g_path_get_dirname (self->path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   _("Cannot create the folder “%s”: %s"), dir, g_strerror (saved_errno));
      return FALSE;
    }
  return g_key_file_save_to_file (self->key_file, self->path, error);
}

static void
save_or_warn (PlSettings *self)
{
  g_autoptr(GError) error = NULL;

  if (!pl_settings_save (self, &error))
    g_warning ("Cannot save the settings: %s", error->message);
}

PlSettings *
pl_settings_new (const char *path)
{
  PlSettings *self = g_object_new (PL_TYPE_SETTINGS, NULL);

  self->path = path != NULL ? g_strdup (path) : pl_settings_get_default_path ();
  load (self);
  return self;
}

const char *
pl_settings_get_path (PlSettings *self)
{
  g_return_val_if_fail (PL_IS_SETTINGS (self), NULL);
  return self->path;
}

gboolean
pl_settings_get_notifications (PlSettings *self)
{
  g_return_val_if_fail (PL_IS_SETTINGS (self), TRUE);
  return self->notifications;
}

void
pl_settings_set_notifications (PlSettings *self,
                               gboolean    notifications)
{
  g_return_if_fail (PL_IS_SETTINGS (self));

  if (self->notifications == !!notifications)
    return;
  self->notifications = !!notifications;
  save_or_warn (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NOTIFICATIONS]);
}

const char *
pl_settings_get_gateway (PlSettings *self)
{
  g_return_val_if_fail (PL_IS_SETTINGS (self), NULL);
  return self->gateway;
}

void
pl_settings_set_gateway (PlSettings *self,
                         const char *gateway)
{
  g_return_if_fail (PL_IS_SETTINGS (self));

  if (gateway != NULL && (*gateway == '\0' || g_ascii_strcasecmp (gateway, "auto") == 0))
    gateway = NULL;
  if (g_strcmp0 (self->gateway, gateway) == 0)
    return;
  g_free (self->gateway);
  self->gateway = g_strdup (gateway);
  save_or_warn (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_GATEWAY]);
}

PlMethod
pl_settings_get_protocol (PlSettings *self)
{
  g_return_val_if_fail (PL_IS_SETTINGS (self), PL_METHOD_AUTO);
  return self->protocol;
}

void
pl_settings_set_protocol (PlSettings *self,
                          PlMethod    protocol)
{
  g_return_if_fail (PL_IS_SETTINGS (self));
  g_return_if_fail (protocol == PL_METHOD_AUTO || protocol == PL_METHOD_PCP ||
                    protocol == PL_METHOD_NATPMP || protocol == PL_METHOD_UPNP);

  if (self->protocol == protocol)
    return;
  self->protocol = protocol;
  g_key_file_set_string (self->key_file, GROUP, KEY_PROTOCOL, pl_method_to_string (protocol));
  save_or_warn (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROTOCOL]);
}

void
pl_settings_apply_to_session (PlSettings *self,
                              PlSession  *session)
{
  g_return_if_fail (PL_IS_SETTINGS (self));
  g_return_if_fail (PL_IS_SESSION (session));

  pl_session_set_method (session, self->protocol);
}

static void
pl_settings_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  PlSettings *self = PL_SETTINGS (object);

  switch (prop_id)
    {
    case PROP_NOTIFICATIONS:
      g_value_set_boolean (value, self->notifications);
      break;
    case PROP_GATEWAY:
      g_value_set_string (value, self->gateway);
      break;
    case PROP_PROTOCOL:
      g_value_set_string (value, pl_method_to_string (self->protocol));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pl_settings_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  PlSettings *self = PL_SETTINGS (object);

  switch (prop_id)
    {
    case PROP_NOTIFICATIONS:
      pl_settings_set_notifications (self, g_value_get_boolean (value));
      break;
    case PROP_GATEWAY:
      pl_settings_set_gateway (self, g_value_get_string (value));
      break;
    case PROP_PROTOCOL:
      {
        PlMethod protocol;

        if (pl_method_from_string (g_value_get_string (value), &protocol))
          pl_settings_set_protocol (self, protocol);
        else
          g_warning ("PlSettings:protocol must be auto, pcp, natpmp or upnp, not “%s”",
                     g_value_get_string (value));
      }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pl_settings_finalize (GObject *object)
{
  PlSettings *self = PL_SETTINGS (object);

  g_free (self->path);
  g_key_file_unref (self->key_file);
  g_free (self->gateway);
  g_clear_error (&self->load_error);

  G_OBJECT_CLASS (pl_settings_parent_class)->finalize (object);
}

static void
pl_settings_class_init (PlSettingsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = pl_settings_finalize;
  object_class->get_property = pl_settings_get_property;
  object_class->set_property = pl_settings_set_property;

  properties[PROP_NOTIFICATIONS] =
    g_param_spec_boolean ("notifications", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_GATEWAY] =
    g_param_spec_string ("gateway", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PROTOCOL] =
    g_param_spec_string ("protocol", NULL, NULL, "auto",
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
pl_settings_init (PlSettings *self)
{
  self->key_file = g_key_file_new ();
  self->notifications = TRUE;
  self->protocol = PL_METHOD_AUTO;
}
