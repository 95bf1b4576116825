/* test-network-profiles.c: profiles with Network= in PlAppProfiles, against a network watcher
 * whose identity the test sets, and PlSession over them on the fake NAT-PMP gateway
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <locale.h>
#include <string.h>

#include "pl-app-profiles.h"
#include "pl-core.h"
#include "pl-fake-gateway.h"

#define HOME_VALUE "home; gateway=02:aa:bb:cc:dd:01"

static const guint8 HOME[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01 };
static const guint8 CAFE[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x02 };

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
set_gateway (PlNetworkWatcher *watcher,
             const guint8     *mac,
             const char       *ssid)
{
  PlNetworkIdentity identity = { mac != NULL, { 0 }, ssid };

  if (mac != NULL)
    memcpy (identity.gateway, mac, 6);
  pl_network_watcher_set_identity (watcher, &identity);
}

static void
count_cb (PlAppProfiles *apps,
          const char    *name,
          gpointer       user_data)
{
  if (g_strcmp0 (name, "SSH") == 0)
    (*(guint *) user_data)++;
}

static gboolean
shown_enabled (PlAppProfiles *apps,
               guint          position)
{
  g_autoptr(PlProfile) item = g_list_model_get_item (G_LIST_MODEL (apps), position);

  return pl_profile_get_enabled (item);
}

static void
test_model (void)
{
  g_autoptr(GListStore) store = g_list_store_new (PL_TYPE_PROFILE);
  g_autoptr(PlProfile) linked = pl_profile_new ("SSH");
  g_autoptr(PlProfile) plain = pl_profile_new ("Web");
  g_autoptr(PlNetworkWatcher) watcher = pl_network_watcher_new_fixed ();
  g_autoptr(PlAppProfiles) apps = NULL;
  g_autofree char *reason = NULL;
  guint changes = 0;

  g_test_summary ("A profile with Network= is enabled exactly while the gateway's MAC (and a "
                  "known SSID) is its network's; off elsewhere with the reason “Only on "
                  "network ‘home’”; the user's profile is never changed");

  pl_profile_set_internal_port (linked, 22);
  pl_profile_set_network (linked, HOME_VALUE "; ssid=Flat");
  pl_profile_set_internal_port (plain, 80);
  g_list_store_append (store, linked);
  g_list_store_append (store, plain);

  set_gateway (watcher, HOME, NULL);
  apps = pl_app_profiles_new_full (G_LIST_MODEL (store), NULL, watcher);
  g_signal_connect (apps, "app-changed", G_CALLBACK (count_cb), &changes);
  {
    g_autoptr(PlProfile) item = g_list_model_get_item (G_LIST_MODEL (apps), 1);

    g_assert_true (item == plain);   /* no condition: the user's own object */
  }
  /* Home, with no SSID known (no NetworkManager): the MAC decides. */
  g_assert_true (shown_enabled (apps, 0));
  g_assert_false (pl_app_profiles_is_waiting (apps, "SSH"));
  g_assert_null (pl_app_profiles_dup_reason (apps, "SSH"));
  g_assert_true (pl_app_profiles_is_on_network (apps, "SSH"));
  g_assert_true (pl_app_profiles_is_on_network (apps, "Web"));

  /* Another router: off, and it says why. */
  set_gateway (watcher, CAFE, NULL);
  g_assert_false (shown_enabled (apps, 0));
  g_assert_true (pl_app_profiles_is_waiting (apps, "SSH"));
  reason = pl_app_profiles_dup_reason (apps, "SSH");
  g_assert_cmpstr (reason, ==, "Only on network ‘home’");
  g_assert_cmpuint (changes, ==, 1);
  g_assert_true (pl_profile_get_enabled (linked));
  g_assert_true (shown_enabled (apps, 1));

  /* Back home: on again. */
  set_gateway (watcher, HOME, NULL);
  g_assert_true (shown_enabled (apps, 0));
  g_assert_null (pl_app_profiles_dup_reason (apps, "SSH"));
  g_assert_cmpuint (changes, ==, 2);

  /* The same router, the guest Wi-Fi: off. The right Wi-Fi: on. No gateway: off. */
  set_gateway (watcher, HOME, "Flat guests");
  g_assert_false (shown_enabled (apps, 0));
  set_gateway (watcher, HOME, "Flat");
  g_assert_true (shown_enabled (apps, 0));
  set_gateway (watcher, NULL, NULL);
  g_assert_false (shown_enabled (apps, 0));
  g_assert_true (pl_app_profiles_is_waiting (apps, "SSH"));
  g_assert_cmpuint (changes, ==, 5);

  /* Switched off by the user: not waiting, no reason. */
  pl_profile_set_enabled (linked, FALSE);
  g_assert_false (pl_app_profiles_is_waiting (apps, "SSH"));
  g_assert_null (pl_app_profiles_dup_reason (apps, "SSH"));
  pl_profile_set_enabled (linked, TRUE);

  /* Network= removed: the user's own object again, enabled anywhere. */
  pl_profile_set_network (linked, NULL);
  {
    g_autoptr(PlProfile) item = g_list_model_get_item (G_LIST_MODEL (apps), 0);

    g_assert_true (item == linked);
  }
  g_assert_true (shown_enabled (apps, 0));
  /* And given back, another network's: follows it at once. */
  pl_profile_set_network (linked, "cafe; gateway=02:aa:bb:cc:dd:02");
  g_assert_false (shown_enabled (apps, 0));
  set_gateway (watcher, CAFE, "Anything");
  g_assert_true (shown_enabled (apps, 0));
  g_clear_pointer (&reason, g_free);
  set_gateway (watcher, HOME, NULL);
  reason = pl_app_profiles_dup_reason (apps, "SSH");
  g_assert_cmpstr (reason, ==, "Only on network ‘cafe’");
}

static void
test_bad_value (void)
{
  g_autoptr(GListStore) store = g_list_store_new (PL_TYPE_PROFILE);
  g_autoptr(PlProfile) profile = pl_profile_new ("SSH");
  g_autoptr(PlNetworkWatcher) watcher = pl_network_watcher_new_fixed ();
  g_autoptr(PlAppProfiles) apps = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A Network= value that does not parse is no condition here (the session "
                  "refuses the profile and says why, like an App= it cannot read)");

  pl_profile_set_internal_port (profile, 22);
  pl_profile_set_network (profile, "home");
  g_list_store_append (store, profile);
  apps = pl_app_profiles_new_full (G_LIST_MODEL (store), NULL, watcher);
  g_assert_false (pl_app_profiles_is_waiting (apps, "SSH"));
  g_assert_null (pl_app_profiles_dup_reason (apps, "SSH"));
  g_assert_false (pl_profile_validate (profile, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "Profile “SSH”: Network “home” does not say how to "
                   "know the network: write NAME; gateway=MAC");
}

static guint
count_requests (PlFakeGateway *gateway,
                guint16        port,
                gboolean       deletes)
{
  GPtrArray *requests = pl_fake_gateway_get_requests (gateway);
  guint n = 0;

  for (guint i = 0; i < requests->len; i++)
    {
      PlFakeRequest *request = g_ptr_array_index (requests, i);

      if (request->request.opcode != 0 && request->request.internal_port == port &&
          (request->request.lifetime == 0) == deletes)
        n++;
    }
  return n;
}

static PlMappingState
state_of (PlSession  *session,
          const char *name)
{
  PlMapping *mapping = pl_session_find_mapping (session, name, PL_PROTOCOL_TCP);

  return mapping != NULL ? pl_mapping_get_state (mapping) : PL_MAPPING_STATE_DISABLED;
}

static void
test_engine (void)
{
  g_autoptr(PlFakeGateway) gateway = NULL;
  g_autoptr(GListStore) store = g_list_store_new (PL_TYPE_PROFILE);
  g_autoptr(PlProfile) linked = pl_profile_new ("SSH");
  g_autoptr(PlProfile) plain = pl_profile_new ("Web");
  g_autoptr(PlNetworkWatcher) watcher = pl_network_watcher_new_fixed ();
  g_autoptr(PlAppProfiles) apps = NULL;
  g_autoptr(PlSession) session = NULL;
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string ("127.0.81.1");
  g_autoptr(GError) error = NULL;

  g_test_summary ("The engine maps a network-linked profile on its network, deletes the "
                  "mapping on the router when the gateway's MAC changes, and maps it again "
                  "when it is back; the other profile is left alone");

  gateway = pl_fake_gateway_new ("127.0.81.1", pl_clock_get_default (), &error);
  g_assert_no_error (error);
  pl_profile_set_internal_port (linked, 2222);
  pl_profile_set_family (linked, PL_PROFILE_FAMILY_IPV4);
  pl_profile_set_network (linked, HOME_VALUE);
  pl_profile_set_internal_port (plain, 8080);
  pl_profile_set_family (plain, PL_PROFILE_FAMILY_IPV4);
  g_list_store_append (store, linked);
  g_list_store_append (store, plain);

  set_gateway (watcher, CAFE, NULL);
  apps = pl_app_profiles_new_full (G_LIST_MODEL (store), NULL, watcher);
  session = g_object_new (PL_TYPE_SESSION, "profiles", apps, "fixed-gateway", address,
                          "monitor-network", FALSE, NULL);
  pl_session_set_method (session, PL_METHOD_NATPMP);
  pl_session_start (session);

  /* Another network: only the plain profile is mapped. */
  WAIT_UNTIL (state_of (session, "Web") == PL_MAPPING_STATE_ACTIVE);
  g_assert_cmpint (state_of (session, "SSH"), ==, PL_MAPPING_STATE_DISABLED);
  g_assert_cmpuint (count_requests (gateway, 2222, FALSE), ==, 0);

  /* Home: mapped. */
  set_gateway (watcher, HOME, NULL);
  WAIT_UNTIL (state_of (session, "SSH") == PL_MAPPING_STATE_ACTIVE);
  g_assert_cmpuint (count_requests (gateway, 2222, FALSE), >=, 1);

  /* The gateway's MAC changes: the mapping is deleted on the router. */
  set_gateway (watcher, CAFE, NULL);
  WAIT_UNTIL (count_requests (gateway, 2222, TRUE) >= 1);
  WAIT_UNTIL (state_of (session, "SSH") == PL_MAPPING_STATE_DISABLED);
  g_assert_cmpint (state_of (session, "Web"), ==, PL_MAPPING_STATE_ACTIVE);
  g_assert_cmpuint (count_requests (gateway, 8080, TRUE), ==, 0);

  /* Back: mapped again. */
  set_gateway (watcher, HOME, NULL);
  WAIT_UNTIL (state_of (session, "SSH") == PL_MAPPING_STATE_ACTIVE);

  g_clear_object (&session);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
test_live_watcher (void)
{
  g_autoptr(PlNetworkWatcher) watcher = pl_network_watcher_new (NULL);
  g_autofree char *gateway = pl_network_watcher_dup_gateway (watcher);
  PlNetworkIdentity identity;

  g_test_summary ("On this machine: a watcher without NetworkManager knows no SSID and is "
                  "settled at once; a MAC is known only with a gateway");

  pl_network_watcher_get_identity (watcher, &identity);
  g_assert_true (pl_network_watcher_is_settled (watcher));
  g_assert_null (identity.ssid);
  if (gateway == NULL)
    g_assert_false (identity.has_gateway);
}

int
main (int    argc,
      char **argv)
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pl/network-profiles/model", test_model);
  g_test_add_func ("/pl/network-profiles/bad-value", test_bad_value);
  g_test_add_func ("/pl/network-profiles/engine", test_engine);
  g_test_add_func ("/pl/network-profiles/live-watcher", test_live_watcher);

  return g_test_run ();
}
