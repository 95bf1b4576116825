/* test-network-link.c: the Network= key (pl-network-link.h): its values, the matcher, and the
 * profiles file keeping it byte for byte
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <locale.h>
#include <string.h>

#include "pl-core.h"

static const guint8 HOME[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01 };
static const guint8 CAFE[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x02 };

static void
test_parse (void)
{
  static const struct
  {
    const char *text;
    const char *name;
    const char *ssid;
  } cases[] = {
    { "home; gateway=02:aa:bb:cc:dd:01", "home", NULL },
    { "home;gateway=02-AA-BB-CC-DD-01", "home", NULL },
    { "home ;  gateway=02:aa:bb:cc:dd:01 ", "home", NULL },
    { "Our flat; gateway=02:aa:bb:cc:dd:01; ssid=Flat 5 GHz", "Our flat", "Flat 5 GHz" },
    /* The SSID runs to the end, a ";" and all. */
    { "home; gateway=02:aa:bb:cc:dd:01; ssid=a;b; gateway=x", "home", "a;b; gateway=x" },
    { "Café; gateway=02:aa:bb:cc:dd:01; ssid=Café ☕", "Café", "Café ☕" },
  };

  g_test_summary ("Network= values: a name, the gateway's MAC (either case, “:” or “-”), "
                  "and an SSID to the end of the value");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PlNetworkLink) link = pl_network_link_parse ("SSH", cases[i].text, &error);
      g_autofree char *name = pl_network_link_dup_name (cases[i].text);

      g_test_message ("%s", cases[i].text);
      g_assert_no_error (error);
      g_assert_nonnull (link);
      g_assert_cmpstr (link->name, ==, cases[i].name);
      g_assert_cmpstr (name, ==, cases[i].name);
      g_assert_cmpmem (link->gateway, 6, HOME, 6);
      g_assert_cmpstr (link->ssid, ==, cases[i].ssid);
    }
}

static void
test_refused (void)
{
  static const struct
  {
    const char *text;
    const char *message;
  } cases[] = {
    { "home", "Profile “SSH”: Network “home” does not say how to know the network: write "
              "NAME; gateway=MAC" },
    { "; gateway=02:aa:bb:cc:dd:01", "Profile “SSH”: Network “; gateway=02:aa:bb:cc:dd:01” "
                                     "does not start with a network name (1-64 bytes, no "
                                     "“;”, no control characters)" },
    { "home; gateway=02:aa:bb:cc:dd", "Profile “SSH”: Network “home; gateway=02:aa:bb:cc:dd”: "
                                      "“gateway=02:aa:bb:cc:dd” is not one MAC address (like "
                                      "gateway=02:11:22:33:44:55)" },
    { "home; gateway=02:aa:bb:cc:dd:zz", NULL },
    { "home; gateway=02:aa:bb:cc:dd:01; gateway=02:aa:bb:cc:dd:02", NULL },
    { "home; gateway=02:aa:bb:cc:dd:01; colour=blue",
      "Profile “SSH”: Network “home; gateway=02:aa:bb:cc:dd:01; colour=blue”: unknown part "
      "“colour=blue” (known: gateway=, ssid=)" },
    { "home; gateway=02:aa:bb:cc:dd:01; ssid=", NULL },
    { "home; gateway=02:aa:bb:cc:dd:01; ssid=123456789012345678901234567890123", NULL },
    { "ho\tme; gateway=02:aa:bb:cc:dd:01", NULL },
    { "", NULL },
  };

  g_test_summary ("Bad Network= values are refused with a message naming the profile and "
                  "what is wrong");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PlNetworkLink) link = pl_network_link_parse ("SSH", cases[i].text, &error);

      g_test_message ("%s", cases[i].text);
      g_assert_null (link);
      g_assert_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
      g_assert_true (g_str_has_prefix (error->message, "Profile “SSH”: Network “"));
      if (cases[i].message != NULL)
        g_assert_cmpstr (error->message, ==, cases[i].message);
    }
}

static void
test_format (void)
{
  g_autofree char *plain = pl_network_link_format ("home", HOME, NULL);
  g_autofree char *wifi = pl_network_link_format ("home", CAFE, "Flat; 5 GHz");
  g_autoptr(PlNetworkLink) back = NULL;
  g_autoptr(GError) error = NULL;
  guint8 mac[6];

  g_test_summary ("Formatted values parse back to the same network; MAC addresses both ways");

  g_assert_cmpstr (plain, ==, "home; gateway=02:aa:bb:cc:dd:01");
  g_assert_cmpstr (wifi, ==, "home; gateway=02:aa:bb:cc:dd:02; ssid=Flat; 5 GHz");
  back = pl_network_link_parse ("SSH", wifi, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (back->gateway, 6, CAFE, 6);
  g_assert_cmpstr (back->ssid, ==, "Flat; 5 GHz");

  g_assert_true (pl_network_mac_parse ("02:AA:bb:cc:dd:01", mac));
  g_assert_cmpmem (mac, 6, HOME, 6);
  g_assert_false (pl_network_mac_parse ("02:aa:bb:cc:dd:01:00", mac));
  g_assert_false (pl_network_mac_parse ("02:aa:bb:cc:dd:0", mac));
  g_assert_false (pl_network_mac_parse ("02aabbccdd01", mac));
  g_assert_false (pl_network_mac_parse ("02:aa:bb:cc:dd:0g", mac));
  g_assert_null (pl_network_link_dup_name (NULL));
  g_assert_null (pl_network_link_dup_name ("; gateway=02:aa:bb:cc:dd:01"));
}

static void
test_matches (void)
{
  g_autoptr(PlNetworkLink) plain = pl_network_link_parse ("", "home; gateway=02:aa:bb:cc:dd:01",
                                                          NULL);
  g_autoptr(PlNetworkLink) wifi =
    pl_network_link_parse ("", "home; gateway=02:aa:bb:cc:dd:01; ssid=Flat", NULL);
  PlNetworkIdentity here = { TRUE, { 0 }, NULL };
  PlNetworkIdentity there = { TRUE, { 0 }, NULL };
  PlNetworkIdentity nowhere = { FALSE, { 0 }, NULL };

  g_test_summary ("The matcher: the gateway's MAC decides; an SSID only where both sides "
                  "know one; an unknown gateway is no network");

  memcpy (here.gateway, HOME, 6);
  memcpy (there.gateway, CAFE, 6);
  memcpy (nowhere.gateway, HOME, 6);   /* left over, but not known */

  g_assert_true (pl_network_link_matches (plain, &here));
  g_assert_false (pl_network_link_matches (plain, &there));
  g_assert_false (pl_network_link_matches (plain, &nowhere));
  /* No SSID known now (no NetworkManager, or wired): the MAC alone. */
  g_assert_true (pl_network_link_matches (wifi, &here));
  here.ssid = "Flat";
  g_assert_true (pl_network_link_matches (wifi, &here));
  g_assert_true (pl_network_link_matches (plain, &here));
  /* Another Wi-Fi behind the same router (a guest network): not this one. */
  here.ssid = "Flat guests";
  g_assert_false (pl_network_link_matches (wifi, &here));
  there.ssid = "Flat";
  g_assert_false (pl_network_link_matches (wifi, &there));
}

/* The profiles file keeps a Network= line exactly as written when other keys change, drops it
 * when the profile no longer has one, and appends it after the group's last key. */
static void
test_store_bytes (void)
{
  static const char text[] =
    "# my profiles\n\n"
    "[SSH]\n"
    "Protocol=tcp\n"
    "InternalPort=22\n"
    "# only at home\n"
    "Network=home ;gateway=02-AA-BB-CC-DD-01;  ssid=Flat; 5 GHz\n"
    "Enabled=true\n"
    "\n"
    "[Web]\n"
    "Protocol=tcp\n"
    "InternalPort=8080\n";
  g_autoptr(PlProfileStore) store = pl_profile_store_new ("/nonexistent/profiles.ini");
  g_autoptr(PlProfile) changed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *same = NULL;
  g_autofree char *disabled = NULL;
  g_autofree char *added = NULL;
  g_autofree char *removed = NULL;
  PlProfile *ssh;

  g_test_summary ("Network= in the profiles file: kept byte for byte through edits of other "
                  "keys, removed with the condition, added after the group's last key");

  g_assert_true (pl_profile_store_load_from_data (store, text, -1, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pl_profile_store_get_problems (store)->len, ==, 0);
  ssh = pl_profile_store_lookup (store, "SSH");
  g_assert_cmpstr (pl_profile_get_network (ssh), ==,
                   "home ;gateway=02-AA-BB-CC-DD-01;  ssid=Flat; 5 GHz");
  g_assert_null (pl_profile_get_network (pl_profile_store_lookup (store, "Web")));

  same = pl_profile_store_to_data (store, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (same, ==, text);

  /* Another key changes: the Network= line and its comment stay as they were. */
  g_assert_true (pl_profile_store_set_enabled (store, "SSH", FALSE, &error));
  g_assert_no_error (error);
  disabled = pl_profile_store_to_data (store, NULL, &error);
  {
    g_autoptr(GString) want = g_string_new (text);

    g_string_replace (want, "Enabled=true", "Enabled=false", 1);
    g_assert_cmpstr (disabled, ==, want->str);
  }

  /* Web gets one: after its last key. */
  changed = pl_profile_copy (pl_profile_store_lookup (store, "Web"));
  pl_profile_set_network (changed, "home; gateway=02:aa:bb:cc:dd:01");
  g_assert_true (pl_profile_store_replace (store, "Web", changed, &error));
  g_assert_no_error (error);
  added = pl_profile_store_to_data (store, NULL, &error);
  g_assert_true (g_str_has_suffix (added, "Enabled=true\n"
                                          "Network=home; gateway=02:aa:bb:cc:dd:01\n"));
  g_assert_nonnull (strstr (added, "Network=home ;gateway=02-AA-BB-CC-DD-01;  ssid=Flat; 5 GHz\n"));
  g_clear_object (&changed);

  /* SSH loses it: the line goes, the rest stays. */
  changed = pl_profile_copy (pl_profile_store_lookup (store, "SSH"));
  pl_profile_set_network (changed, NULL);
  g_assert_true (pl_profile_store_replace (store, "SSH", changed, &error));
  g_assert_no_error (error);
  removed = pl_profile_store_to_data (store, NULL, &error);
  g_assert_null (strstr (removed, "ssid=Flat"));
  g_assert_nonnull (strstr (removed, "# only at home\n"));
  g_assert_true (g_str_has_suffix (removed, "Network=home; gateway=02:aa:bb:cc:dd:01\n"));
}

static void
test_store_refuses (void)
{
  g_autoptr(PlProfileStore) store = pl_profile_store_new ("/nonexistent/profiles.ini");
  g_autoptr(GError) error = NULL;
  GPtrArray *problems;

  g_test_summary ("A bad Network= value is a problem of its profile, in the loader's words; "
                  "the other profiles load");

  pl_profile_store_load_from_data (store,
                                   "[SSH]\nProtocol=tcp\nInternalPort=22\nNetwork=home\n\n"
                                   "[Web]\nProtocol=tcp\nInternalPort=80\n", -1, &error);
  problems = pl_profile_store_get_problems (store);
  g_assert_cmpuint (problems->len, ==, 1);
  g_assert_cmpstr (((GError *) problems->pdata[0])->message, ==,
                   "Profile “SSH”: Network “home” does not say how to know the network: "
                   "write NAME; gateway=MAC");
  g_assert_nonnull (pl_profile_store_lookup (store, "Web"));
}

int
main (int    argc,
      char **argv)
{
  setlocale (LC_ALL, "");
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pl/network-link/parse", test_parse);
  g_test_add_func ("/pl/network-link/refused", test_refused);
  g_test_add_func ("/pl/network-link/format", test_format);
  g_test_add_func ("/pl/network-link/matches", test_matches);
  g_test_add_func ("/pl/network-link/store-bytes", test_store_bytes);
  g_test_add_func ("/pl/network-link/store-refuses", test_store_refuses);

  return g_test_run ();
}
