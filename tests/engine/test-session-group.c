/* test-session-group.c: Gateway= and PlSessionGroup, one session per gateway in use
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-core.h"
#include "pl-fake-gateway.h"

/* Two fake NAT-PMP gateways: the home router at 127.0.11.1, where the default route leads,
 * and a VPN's at 127.0.11.2, reached only while the (scripted) tunnel is up. The discover
 * functions stand in for the routing table: the primary's for the default route, the vpn
 * session's for pl_tunnel_discover(). Virtual clock with auto-advance. */

#define HOME "127.0.11.1"
#define VPN  "127.0.11.2"

typedef struct
{
  PlClock        *clock;
  PlFakeGateway  *home;
  PlFakeGateway  *vpn;
  GListStore     *profiles;
  PlSession      *primary;
  PlSessionGroup *group;
  gboolean        tunnel_up;
  gboolean        default_is_tunnel;  /* the tunnel carries the default route */
  guint           n_added;
  guint           guard_id;
} Fixture;

static gboolean
guard_cb (gpointer user_data)
{
  g_error ("Test did not finish within 60 s of real time");
  return G_SOURCE_REMOVE;
}

static PlGateway *
gateway_for (const char *address)
{
  PlGateway *gateway = g_new0 (PlGateway, 1);

  gateway->address = g_inet_address_new_from_string (address);
  return gateway;
}

static PlGateway *
default_route_cb (gpointer  user_data,
                  GError  **error)
{
  Fixture *f = user_data;

  return gateway_for (f->tunnel_up && f->default_is_tunnel ? VPN : HOME);
}

static PlGateway *
tunnel_cb (gpointer  user_data,
           GError  **error)
{
  Fixture *f = user_data;

  if (!f->tunnel_up)
    {
      g_set_error_literal (error, PL_ERROR, PL_ERROR_NO_GATEWAY, "No VPN tunnel is up");
      return NULL;
    }
  return gateway_for (VPN);
}

static void
session_added_cb (PlSessionGroup *group,
                  PlSession      *session,
                  Fixture        *f)
{
  f->n_added++;
  g_assert_cmpstr (pl_session_get_profile_gateway (session), ==, PL_PROFILE_GATEWAY_VPN_TEXT);
  g_assert_false (pl_session_is_running (session));
  pl_session_set_discover_func (session, tunnel_cb, f, NULL);
}

static void
add_profile (Fixture    *f,
             const char *name,
             guint       port,
             const char *gateway)
{
  g_autoptr(PlProfile) profile = pl_profile_new (name);
  g_autoptr(GError) error = NULL;

  pl_profile_set_protocol (profile, PL_PROFILE_PROTOCOL_UDP);
  pl_profile_set_family (profile, PL_PROFILE_FAMILY_IPV4);
  pl_profile_set_internal_port (profile, port);
  pl_profile_set_external_port (profile, port);
  pl_profile_set_gateway (profile, gateway);
  g_assert_true (pl_profile_validate (profile, &error));
  g_assert_no_error (error);
  g_list_store_append (f->profiles, profile);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->clock = pl_clock_new_virtual (TRUE);
  f->home = pl_fake_gateway_new (HOME, f->clock, &error);
  g_assert_no_error (error);
  f->vpn = pl_fake_gateway_new (VPN, f->clock, &error);
  g_assert_no_error (error);
  f->profiles = g_list_store_new (PL_TYPE_PROFILE);
  f->guard_id = g_timeout_add_seconds (60, guard_cb, NULL);
}

static void
start (Fixture *f)
{
  f->primary = g_object_new (PL_TYPE_SESSION,
                             "profiles", f->profiles,
                             "clock", f->clock,
                             "monitor-network", FALSE,
                             NULL);
  pl_session_set_method (f->primary, PL_METHOD_NATPMP);
  pl_session_set_discover_func (f->primary, default_route_cb, f, NULL);
  f->group = pl_session_group_new (f->primary);
  g_signal_connect (f->group, "session-added", G_CALLBACK (session_added_cb), f);
  pl_session_group_start (f->group);
}

static void
stopped_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (pl_session_group_stop_finish (PL_SESSION_GROUP (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  if (f->group != NULL)
    {
      gboolean done = FALSE;

      pl_session_group_stop_async (f->group, NULL, stopped_cb, &done);
      while (!done)
        g_main_context_iteration (NULL, TRUE);
    }
  g_clear_object (&f->group);
  g_clear_object (&f->primary);
  g_clear_object (&f->home);
  g_clear_object (&f->vpn);
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
  g_clear_object (&f->profiles);
  g_clear_object (&f->clock);
  g_clear_handle_id (&f->guard_id, g_source_remove);
}

static PlMapping *
find (PlSession  *session,
      const char *name)
{
  return pl_session_find_mapping (session, name, PL_PROTOCOL_UDP);
}

static PlMappingState
state_of (PlSession  *session,
          const char *name)
{
  PlMapping *mapping = find (session, name);

  return mapping != NULL ? pl_mapping_get_state (mapping) : (PlMappingState) -1;
}

/* Iterates until @name's mapping in @session is in @state (the guard ends a hang). */
static void
wait_state (PlSession      *session,
            const char     *name,
            PlMappingState  state)
{
  while (state_of (session, name) != state)
    g_main_context_iteration (NULL, TRUE);
}

static void
settle (Fixture *f)
{
  /* A few seconds of virtual time: every request answered, nothing else due. */
  gint64 until = pl_clock_get_time (f->clock) + 5 * G_USEC_PER_SEC;

  while (pl_clock_get_time (f->clock) < until)
    g_main_context_iteration (NULL, TRUE);
}

/* Gateway=vpn while no tunnel is up: it waits, saying why, and nothing of it reaches the
 * home router. The tunnel comes up: it is mapped on the VPN's gateway, and the home
 * router's profile (no Gateway=, the default route stays home) is not asked again. */
static void
test_vpn_waits_then_maps (Fixture       *f,
                          gconstpointer  data)
{
  PlSession *vpn;
  PlMapping *waiting;
  guint home_requests;

  add_profile (f, "ssh", 40022, NULL);
  add_profile (f, "torrent", 40413, PL_PROFILE_GATEWAY_VPN_TEXT);
  start (f);

  g_assert_cmpuint (f->n_added, ==, 1);
  vpn = pl_session_group_lookup (f->group, PL_PROFILE_GATEWAY_VPN_TEXT);
  g_assert_nonnull (vpn);
  g_assert_true (pl_session_group_lookup (f->group, NULL) == f->primary);
  g_assert_cmpuint (pl_session_group_get_sessions (f->group)->len, ==, 2);

  /* Each session has only its own profiles. */
  g_assert_null (find (f->primary, "torrent"));
  g_assert_null (find (vpn, "ssh"));

  wait_state (f->primary, "ssh", PL_MAPPING_STATE_ACTIVE);
  wait_state (vpn, "torrent", PL_MAPPING_STATE_FAILED);
  settle (f);
  waiting = find (vpn, "torrent");
  g_assert_error (pl_mapping_get_error (waiting), PL_ERROR, PL_ERROR_NO_GATEWAY);
  g_assert_cmpuint (pl_fake_gateway_get_mapped_port (f->home, PL_PROTOCOL_UDP, 40413), ==, 0);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->home), ==, 1);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->vpn), ==, 0);
  g_assert_null (pl_session_get_gateway (vpn));

  home_requests = pl_fake_gateway_get_requests (f->home)->len;
  f->tunnel_up = TRUE;
  pl_session_network_changed (vpn);
  pl_session_network_changed (f->primary);
  wait_state (vpn, "torrent", PL_MAPPING_STATE_ACTIVE);
  settle (f);
  g_assert_cmpuint (pl_fake_gateway_get_mapped_port (f->vpn, PL_PROTOCOL_UDP, 40413), ==, 40413);
  g_assert_cmpuint (pl_fake_gateway_get_mapped_port (f->home, PL_PROTOCOL_UDP, 40413), ==, 0);
  g_assert_cmpuint (pl_fake_gateway_get_mapped_port (f->home, PL_PROTOCOL_UDP, 40022), ==, 40022);
  g_assert_cmpint (state_of (f->primary, "ssh"), ==, PL_MAPPING_STATE_ACTIVE);
  /* At most the primary's address check after a network change; no map request again. */
  for (guint i = home_requests; i < pl_fake_gateway_get_requests (f->home)->len; i++)
    {
      PlFakeRequest *request = g_ptr_array_index (pl_fake_gateway_get_requests (f->home), i);
      const guint8 *bytes = g_bytes_get_data (request->bytes, NULL);

      g_assert_cmpuint (bytes[1], ==, 0);   /* NAT-PMP opcode 0: public address */
    }

  /* Down again: it waits again, and its old gateway is not asked for it anywhere else. */
  f->tunnel_up = FALSE;
  pl_session_network_changed (vpn);
  wait_state (vpn, "torrent", PL_MAPPING_STATE_FAILED);
  settle (f);
  g_assert_cmpuint (pl_fake_gateway_get_mapped_port (f->home, PL_PROTOCOL_UDP, 40413), ==, 0);
  g_assert_cmpint (state_of (f->primary, "ssh"), ==, PL_MAPPING_STATE_ACTIVE);
}

/* Without Gateway=, a profile follows the default route: onto the tunnel when it carries
 * the default route. A profile that changes its Gateway= moves with it, and only then. */
static void
test_default_follows_route (Fixture       *f,
                            gconstpointer  data)
{
  PlProfile *profile;
  PlSession *vpn;

  add_profile (f, "web", 40080, NULL);
  start (f);
  g_assert_cmpuint (f->n_added, ==, 0);
  wait_state (f->primary, "web", PL_MAPPING_STATE_ACTIVE);
  settle (f);
  g_assert_cmpuint (pl_fake_gateway_get_mapped_port (f->home, PL_PROTOCOL_UDP, 40080), ==, 40080);

  f->tunnel_up = TRUE;
  f->default_is_tunnel = TRUE;
  pl_session_network_changed (f->primary);
  settle (f);
  g_assert_cmpint (state_of (f->primary, "web"), ==, PL_MAPPING_STATE_ACTIVE);
  g_assert_cmpuint (pl_fake_gateway_get_mapped_port (f->vpn, PL_PROTOCOL_UDP, 40080), ==, 40080);

  /* Gateway=vpn now: the group makes the vpn session, which maps it; the primary lets go. */
  profile = g_list_model_get_item (G_LIST_MODEL (f->profiles), 0);
  pl_profile_set_gateway (profile, PL_PROFILE_GATEWAY_VPN_TEXT);
  g_object_unref (profile);
  g_assert_cmpuint (f->n_added, ==, 1);
  vpn = pl_session_group_lookup (f->group, PL_PROFILE_GATEWAY_VPN_TEXT);
  g_assert_nonnull (vpn);
  wait_state (vpn, "web", PL_MAPPING_STATE_ACTIVE);
  settle (f);
  g_assert_null (find (f->primary, "web"));
  /* Both sessions speak to the same gateway here (the tunnel carries the default route):
   * whichever order the primary's delete and the vpn session's request reach it in, the
   * mapping is there afterwards, not lost until the next renewal. */
  g_assert_cmpuint (pl_fake_gateway_get_mapped_port (f->vpn, PL_PROTOCOL_UDP, 40080), ==, 40080);
  g_assert_cmpint (state_of (vpn, "web"), ==, PL_MAPPING_STATE_ACTIVE);
}

/* Gateway= values: what they mean, what is refused. */
static void
test_gateway_values (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) address = NULL;
  PlProfileGateway kind;

  g_assert_true (pl_profile_validate_gateway ("p", "vpn", &kind, NULL, &error));
  g_assert_cmpint (kind, ==, PL_PROFILE_GATEWAY_VPN);
  g_assert_true (pl_profile_validate_gateway ("p", "default", &kind, NULL, &error));
  g_assert_cmpint (kind, ==, PL_PROFILE_GATEWAY_DEFAULT);
  g_assert_true (pl_profile_validate_gateway ("p", "10.2.0.1", &kind, &address, &error));
  g_assert_cmpint (kind, ==, PL_PROFILE_GATEWAY_ADDRESS);
  g_assert_true (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4);
  g_assert_false (pl_profile_validate_gateway ("p", "VPN", NULL, NULL, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (pl_profile_validate_gateway ("p", "fe80::1", NULL, NULL, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/engine/session-group/vpn-waits-then-maps", Fixture, NULL, fixture_set_up,
              test_vpn_waits_then_maps, fixture_tear_down);
  g_test_add ("/engine/session-group/default-follows-route", Fixture, NULL, fixture_set_up,
              test_default_follows_route, fixture_tear_down);
  g_test_add_func ("/engine/session-group/gateway-values", test_gateway_values);

  return g_test_run ();
}
