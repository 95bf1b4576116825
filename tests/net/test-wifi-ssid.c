/* test-wifi-ssid.c: the Wi-Fi SSID from NetworkManager (PlWifiSsid), against a stand-in
 * NetworkManager on a GTestDBus bus
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <locale.h>
#include <string.h>

#include "pl-core.h"
#include "pl-test-bus.h"

#define NM_NAME "org.freedesktop.NetworkManager"
#define NM_PATH "/org/freedesktop/NetworkManager"

static const char introspection[] =
  "<node>"
  " <interface name='org.freedesktop.NetworkManager'>"
  "  <property name='PrimaryConnection' type='o' access='read'/>"
  " </interface>"
  " <interface name='org.freedesktop.NetworkManager.Connection.Active'>"
  "  <property name='Type' type='s' access='read'/>"
  "  <property name='SpecificObject' type='o' access='read'/>"
  " </interface>"
  " <interface name='org.freedesktop.NetworkManager.AccessPoint'>"
  "  <property name='Ssid' type='ay' access='read'/>"
  " </interface>"
  "</node>";

/* The stand-in's state: one primary connection, its type and access point, two APs. */
typedef struct
{
  GDBusConnection *bus;
  const char      *primary;      /* "/" for none */
  const char      *wifi_ap;      /* the Wi-Fi connection's access point */
  const char      *ssid[2];      /* of /ap/1, /ap/2 (bytes, may be invalid UTF-8) */
} FakeNm;

static GVariant *
get_property_cb (GDBusConnection *connection,
                 const char      *sender,
                 const char      *path,
                 const char      *iface,
                 const char      *name,
                 GError         **error,
                 gpointer         user_data)
{
  FakeNm *nm = user_data;

  if (strcmp (name, "PrimaryConnection") == 0)
    return g_variant_new_object_path (nm->primary);
  if (strcmp (name, "Type") == 0)
    return g_variant_new_string (strcmp (path, "/ac/wifi") == 0 ? "802-11-wireless"
                                                                : "802-3-ethernet");
  if (strcmp (name, "SpecificObject") == 0)
    return g_variant_new_object_path (strcmp (path, "/ac/wifi") == 0 ? nm->wifi_ap : "/");
  if (strcmp (name, "Ssid") == 0)
    {
      const char *ssid = nm->ssid[strcmp (path, "/ap/2") == 0 ? 1 : 0];

      return g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, ssid, strlen (ssid), 1);
    }
  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "No %s", name);
  return NULL;
}

static const GDBusInterfaceVTable vtable = { NULL, get_property_cb, NULL, { 0 } };

static void
fake_nm_register (FakeNm    *nm,
                  GDBusNodeInfo *info)
{
  static const char * const actives[] = { "/ac/wifi", "/ac/wired" };
  static const char * const aps[] = { "/ap/1", "/ap/2" };

  g_assert_cmpuint (g_dbus_connection_register_object (nm->bus, NM_PATH, info->interfaces[0],
                                                       &vtable, nm, NULL, NULL), >, 0);
  for (guint i = 0; i < G_N_ELEMENTS (actives); i++)
    g_assert_cmpuint (g_dbus_connection_register_object (nm->bus, actives[i],
                                                         info->interfaces[1], &vtable, nm,
                                                         NULL, NULL), >, 0);
  for (guint i = 0; i < G_N_ELEMENTS (aps); i++)
    g_assert_cmpuint (g_dbus_connection_register_object (nm->bus, aps[i],
                                                         info->interfaces[2], &vtable, nm,
                                                         NULL, NULL), >, 0);
}

/* What NetworkManager sends when a property changes (the value is not read: PlWifiSsid
 * reads the chain again). */
static void
fake_nm_changed (FakeNm     *nm,
                 const char *path,
                 const char *iface,
                 const char *property)
{
  GVariantBuilder changed;

  g_variant_builder_init (&changed, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&changed, "{sv}", property, g_variant_new_string ("x"));
  g_dbus_connection_emit_signal (nm->bus, NULL, path, "org.freedesktop.DBus.Properties",
                                 "PropertiesChanged",
                                 g_variant_new ("(sa{sv}as)", iface, &changed, NULL), NULL);
}

static gboolean
guard_cb (gpointer user_data)
{
  g_error ("Timed out waiting for: %s", (const char *) user_data);
  return G_SOURCE_REMOVE;
}

#define WAIT_UNTIL(cond) G_STMT_START {                                           \
    guint guard_ = g_timeout_add_seconds (30, guard_cb, (gpointer) #cond);        \
    while (!(cond))                                                               \
      g_main_context_iteration (NULL, TRUE);                                      \
    g_source_remove (guard_);                                                     \
  } G_STMT_END

static void
changed_cb (PlWifiSsid *wifi,
            gpointer    user_data)
{
  (*(guint *) user_data)++;
}

static void
test_network_manager (void)
{
  g_autoptr(GTestDBus) dbus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_autoptr(GDBusConnection) service = NULL;
  g_autoptr(GDBusConnection) client = NULL;
  g_autoptr(GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (introspection, NULL);
  g_autoptr(PlWifiSsid) wifi = NULL;
  g_autoptr(GError) error = NULL;
  FakeNm nm = { NULL, "/ac/wifi", "/ap/1", { "Flat", "Caf\xc3\xa9" } };
  guint owner;
  guint changes = 0;

  g_test_summary ("The SSID of the primary connection's access point; another access point, "
                  "a wired primary connection and NetworkManager leaving are followed; an "
                  "SSID that is not UTF-8 is unknown");

  pl_test_bus_up (dbus);
  service = g_dbus_connection_new_for_address_sync (g_test_dbus_get_bus_address (dbus),
                                                    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                    G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                    NULL, NULL, &error);
  g_assert_no_error (error);
  client = g_dbus_connection_new_for_address_sync (g_test_dbus_get_bus_address (dbus),
                                                   G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                   G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                   NULL, NULL, &error);
  g_assert_no_error (error);
  nm.bus = service;
  fake_nm_register (&nm, info);
  owner = g_bus_own_name_on_connection (service, NM_NAME, G_BUS_NAME_OWNER_FLAGS_NONE,
                                        NULL, NULL, NULL, NULL);

  wifi = pl_wifi_ssid_new (client);
  g_signal_connect (wifi, "changed", G_CALLBACK (changed_cb), &changes);
  WAIT_UNTIL (g_strcmp0 (pl_wifi_ssid_get_ssid (wifi), "Flat") == 0);
  g_assert_true (pl_wifi_ssid_is_settled (wifi));

  /* Roaming to another access point: the active connection's SpecificObject changes. */
  nm.wifi_ap = "/ap/2";
  fake_nm_changed (&nm, "/ac/wifi", NM_NAME ".Connection.Active", "SpecificObject");
  WAIT_UNTIL (g_strcmp0 (pl_wifi_ssid_get_ssid (wifi), "Café") == 0);

  /* An SSID that is not UTF-8 is not known (it could not be stored in a profile). */
  nm.ssid[1] = "\xff\xfe";
  fake_nm_changed (&nm, "/ac/wifi", NM_NAME ".Connection.Active", "SpecificObject");
  WAIT_UNTIL (pl_wifi_ssid_get_ssid (wifi) == NULL);
  nm.ssid[1] = "Café";
  fake_nm_changed (&nm, "/ac/wifi", NM_NAME ".Connection.Active", "SpecificObject");
  WAIT_UNTIL (pl_wifi_ssid_get_ssid (wifi) != NULL);

  /* A cable becomes the primary connection: no SSID. */
  nm.primary = "/ac/wired";
  fake_nm_changed (&nm, NM_PATH, NM_NAME, "PrimaryConnection");
  WAIT_UNTIL (pl_wifi_ssid_get_ssid (wifi) == NULL);
  nm.primary = "/ac/wifi";
  fake_nm_changed (&nm, NM_PATH, NM_NAME, "PrimaryConnection");
  WAIT_UNTIL (g_strcmp0 (pl_wifi_ssid_get_ssid (wifi), "Café") == 0);

  /* NetworkManager stops: unknown. */
  changes = 0;
  g_bus_unown_name (owner);
  WAIT_UNTIL (pl_wifi_ssid_get_ssid (wifi) == NULL);
  g_assert_cmpuint (changes, ==, 1);
  g_assert_true (pl_wifi_ssid_is_settled (wifi));

  g_clear_object (&wifi);
  g_dbus_connection_close_sync (client, NULL, NULL);
  g_dbus_connection_close_sync (service, NULL, NULL);
  pl_test_bus_down (dbus);
}

static void
test_no_bus (void)
{
  g_autoptr(PlWifiSsid) wifi = pl_wifi_ssid_new (NULL);

  g_test_summary ("Without a system bus the SSID is unknown, and that is known at once");

  g_assert_true (pl_wifi_ssid_is_settled (wifi));
  g_assert_null (pl_wifi_ssid_get_ssid (wifi));
}

int
main (int    argc,
      char **argv)
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pl/wifi-ssid/network-manager", test_network_manager);
  g_test_add_func ("/pl/wifi-ssid/no-bus", test_no_bus);

  return g_test_run ();
}
