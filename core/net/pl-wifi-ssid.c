/* pl-wifi-ssid.c: the SSID of the Wi-Fi network in use, from NetworkManager
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "pl-wifi-ssid.h"

#define NM_NAME         "org.freedesktop.NetworkManager"
#define NM_PATH         "/org/freedesktop/NetworkManager"
#define NM_IFACE        NM_NAME
#define NM_ACTIVE_IFACE NM_NAME ".Connection.Active"
#define NM_AP_IFACE     NM_NAME ".AccessPoint"
#define NM_WIFI_TYPE    "802-11-wireless"
#define PROPERTIES      "org.freedesktop.DBus.Properties"

struct _PlWifiSsid
{
  GObject          parent_instance;

  GDBusConnection *bus;
  GCancellable    *cancellable;
  guint            watch_id;
  guint            manager_signal_id;
  guint            active_signal_id;
  guint            generation;   /* a read begun before the last change is dropped */
  gboolean         settled;
  char            *ssid;
};

G_DEFINE_FINAL_TYPE (PlWifiSsid, pl_wifi_ssid, G_TYPE_OBJECT)

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* One step of a read: which property of which object, and the read's generation. */
typedef struct
{
  PlWifiSsid *self;       /* owned */
  guint       generation;
  char       *connection; /* the active connection, once known */
} Read;

static void
read_free (Read *read)
{
  g_object_unref (read->self);
  g_free (read->connection);
  g_free (read);
}

static void
set_ssid (PlWifiSsid *self,
          const char *ssid)
{
  gboolean was_settled = self->settled;

  self->settled = TRUE;
  if (g_strcmp0 (self->ssid, ssid) == 0)
    {
      if (!was_settled)
        g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
      return;
    }
  g_free (self->ssid);
  self->ssid = g_strdup (ssid);
  g_debug ("Wi-Fi SSID: %s", ssid != NULL ? ssid : "(unknown)");
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void get_property (Read *read, const char *path, const char *iface, const char *name,
                          GAsyncReadyCallback callback);

/* The property's value out of an answer to Get, or NULL (logged) on an error. */
static GVariant *
finish_get (GObject       *source,
            GAsyncResult  *result,
            Read          *read)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source),
                                                             result, &error);
  GVariant *value = NULL;

  if (reply == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_debug ("NetworkManager: %s", error->message);
          if (read->generation == read->self->generation)
            set_ssid (read->self, NULL);
        }
      return NULL;
    }
  if (read->generation != read->self->generation)
    return NULL;
  g_variant_get (reply, "(v)", &value);
  return value;
}

static void
ssid_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Read *read = user_data;
  g_autoptr(GVariant) value = finish_get (source, result, read);

  if (value != NULL)
    {
      g_autofree char *ssid = NULL;

      if (g_variant_is_of_type (value, G_VARIANT_TYPE_BYTESTRING))
        {
          gsize len;
          const guint8 *bytes = g_variant_get_fixed_array (value, &len, 1);

          if (len > 0 && len <= 32 && memchr (bytes, '\0', len) == NULL
              && g_utf8_validate ((const char *) bytes, (gssize) len, NULL))
            ssid = g_strndup ((const char *) bytes, len);
        }
      set_ssid (read->self, ssid);
    }
  read_free (read);
}

static void
access_point_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Read *read = user_data;
  g_autoptr(GVariant) value = finish_get (source, result, read);
  const char *path;

  if (value == NULL || !g_variant_is_of_type (value, G_VARIANT_TYPE_OBJECT_PATH))
    {
      if (value != NULL)
        set_ssid (read->self, NULL);
      read_free (read);
      return;
    }
  path = g_variant_get_string (value, NULL);
  if (strcmp (path, "/") == 0)
    {
      set_ssid (read->self, NULL);
      read_free (read);
      return;
    }
  get_property (read, path, NM_AP_IFACE, "Ssid", ssid_cb);
}

static void
type_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Read *read = user_data;
  g_autoptr(GVariant) value = finish_get (source, result, read);

  if (value == NULL || !g_variant_is_of_type (value, G_VARIANT_TYPE_STRING)
      || strcmp (g_variant_get_string (value, NULL), NM_WIFI_TYPE) != 0)
    {
      if (value != NULL)
        set_ssid (read->self, NULL);   /* wired, VPN, ...: no SSID */
      read_free (read);
      return;
    }
  get_property (read, read->connection, NM_ACTIVE_IFACE, "SpecificObject", access_point_cb);
}

static void
primary_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Read *read = user_data;
  g_autoptr(GVariant) value = finish_get (source, result, read);

  if (value == NULL || !g_variant_is_of_type (value, G_VARIANT_TYPE_OBJECT_PATH)
      || strcmp (g_variant_get_string (value, NULL), "/") == 0)
    {
      if (value != NULL)
        set_ssid (read->self, NULL);
      read_free (read);
      return;
    }
  read->connection = g_variant_dup_string (value, NULL);
  get_property (read, read->connection, NM_ACTIVE_IFACE, "Type", type_cb);
}

static void
get_property (Read                *read,
              const char          *path,
              const char          *iface,
              const char          *name,
              GAsyncReadyCallback  callback)
{
  g_dbus_connection_call (read->self->bus, NM_NAME, path, PROPERTIES, "Get",
                          g_variant_new ("(ss)", iface, name), G_VARIANT_TYPE ("(v)"),
                          G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, read->self->cancellable,
                          callback, read);
}

static void
start_read (PlWifiSsid *self)
{
  Read *read = g_new0 (Read, 1);

  read->self = g_object_ref (self);
  read->generation = ++self->generation;
  get_property (read, NM_PATH, NM_IFACE, "PrimaryConnection", primary_cb);
}

static void
properties_changed_cb (GDBusConnection *connection,
                       const char      *sender,
                       const char      *path,
                       const char      *iface,
                       const char      *signal,
                       GVariant        *parameters,
                       gpointer         user_data)
{
  start_read (PL_WIFI_SSID (user_data));
}

static void
name_appeared_cb (GDBusConnection *connection,
                  const char      *name,
                  const char      *owner,
                  gpointer         user_data)
{
  start_read (PL_WIFI_SSID (user_data));
}

static void
name_vanished_cb (GDBusConnection *connection,
                  const char      *name,
                  gpointer         user_data)
{
  PlWifiSsid *self = PL_WIFI_SSID (user_data);

  self->generation++;
  set_ssid (self, NULL);
}

static void
pl_wifi_ssid_dispose (GObject *object)
{
  PlWifiSsid *self = PL_WIFI_SSID (object);

  g_cancellable_cancel (self->cancellable);
  if (self->watch_id != 0)
    g_clear_handle_id (&self->watch_id, g_bus_unwatch_name);
  if (self->bus != NULL)
    {
      if (self->manager_signal_id != 0)
        g_dbus_connection_signal_unsubscribe (self->bus, self->manager_signal_id);
      if (self->active_signal_id != 0)
        g_dbus_connection_signal_unsubscribe (self->bus, self->active_signal_id);
      self->manager_signal_id = self->active_signal_id = 0;
    }
  g_clear_object (&self->bus);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (pl_wifi_ssid_parent_class)->dispose (object);
}

static void
pl_wifi_ssid_finalize (GObject *object)
{
  g_free (PL_WIFI_SSID (object)->ssid);

  G_OBJECT_CLASS (pl_wifi_ssid_parent_class)->finalize (object);
}

static void
pl_wifi_ssid_class_init (PlWifiSsidClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_wifi_ssid_dispose;
  object_class->finalize = pl_wifi_ssid_finalize;

  signals[SIGNAL_CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
pl_wifi_ssid_init (PlWifiSsid *self)
{
  self->cancellable = g_cancellable_new ();
}

PlWifiSsid *
pl_wifi_ssid_new (GDBusConnection *system_bus)
{
  PlWifiSsid *self;

  g_return_val_if_fail (system_bus == NULL || G_IS_DBUS_CONNECTION (system_bus), NULL);

  self = g_object_new (PL_TYPE_WIFI_SSID, NULL);
  if (system_bus == NULL)
    {
      self->settled = TRUE;
      return self;
    }

  self->bus = g_object_ref (system_bus);
  /* Only the properties that change which network this is: the primary connection (the
   * manager's) and an active connection's access point. The access points' own signals
   * (their Strength changes every few seconds) are not asked for, so they wake nobody. */
  self->manager_signal_id =
    g_dbus_connection_signal_subscribe (self->bus, NM_NAME, PROPERTIES, "PropertiesChanged",
                                        NM_PATH, NM_IFACE, G_DBUS_SIGNAL_FLAGS_NONE,
                                        properties_changed_cb, self, NULL);
  self->active_signal_id =
    g_dbus_connection_signal_subscribe (self->bus, NM_NAME, PROPERTIES, "PropertiesChanged",
                                        NULL, NM_ACTIVE_IFACE, G_DBUS_SIGNAL_FLAGS_NONE,
                                        properties_changed_cb, self, NULL);
  self->watch_id = g_bus_watch_name_on_connection (self->bus, NM_NAME,
                                                   G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                   name_appeared_cb, name_vanished_cb,
                                                   self, NULL);
  return self;
}

const char *
pl_wifi_ssid_get_ssid (PlWifiSsid *self)
{
  g_return_val_if_fail (PL_IS_WIFI_SSID (self), NULL);
  return self->ssid;
}

gboolean
pl_wifi_ssid_is_settled (PlWifiSsid *self)
{
  g_return_val_if_fail (PL_IS_WIFI_SSID (self), TRUE);
  return self->settled;
}
