/* test-session-upnp.c: PlSession on a UPnP-IGD router, with IPv6 pinholes through its
 * WANIPv6FirewallControl service
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The session probes the scripted IGD at 127.0.64.N (PCP and NAT-PMP are refused on lo at
 * once, so UPnP-IGD wins) and opens the pinholes of both-family profiles through the same
 * fake: its "IPv6 router" is the fake's address, so the pinhole search runs over IPv4 on lo,
 * for the IPv6 address LOCAL6. The clock is virtual and moves only when a test says so (a
 * clock that ran ahead by itself would give the searches their verdict before GUPnP's real
 * I/O is done); every wait is for an event, bounded by a guard.
 */

#include "config.h"

#include <string.h>

#include "pl-core.h"
#include "pl-fake-igd.h"
#include "pl-test-gupnp.h"

#define LOCAL6 "fd00:64::2"

typedef struct
{
  PlClock    *clock;
  PlClock    *igd_clock;
  PlFakeIgd  *igd;
  GListStore *profiles;
  PlSession  *session;
  char       *address;
  gboolean    stopped;
  GError     *stop_error;
  gboolean    guard_fired;
} Fixture;

static gboolean
guard_cb (gpointer user_data)
{
  ((Fixture *) user_data)->guard_fired = TRUE;
  return G_SOURCE_REMOVE;
}

static PlIpv6Router *
fake_ipv6 (gpointer       user_data,
           GInetAddress **local,
           GError       **error)
{
  Fixture *f = user_data;
  PlIpv6Router *router = g_new0 (PlIpv6Router, 1);

  router->address = g_inet_address_new_from_string (f->address);
  router->interface = g_strdup ("lo");
  router->ifindex = 1;
  *local = g_inet_address_new_from_string (LOCAL6);
  return router;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  pl_test_tolerate_gupnp_port_clash ();
  f->address = g_strdup_printf ("127.0.64.%u", GPOINTER_TO_UINT (data));
  f->clock = pl_clock_new_virtual (FALSE);
  f->igd_clock = pl_clock_new_virtual (FALSE);
  f->igd = pl_fake_igd_new (f->address, f->igd_clock, PL_FAKE_IGD_FLAGS_NONE, &error);
  g_assert_no_error (error);
  pl_fake_igd_set_pinhole_caller (f->igd, LOCAL6);
  f->profiles = g_list_store_new (PL_TYPE_PROFILE);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->session);
  g_clear_object (&f->igd);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&f->profiles);
  g_clear_object (&f->clock);
  g_clear_object (&f->igd_clock);
  g_clear_error (&f->stop_error);
  g_free (f->address);
}

static void
wait_for (Fixture   *f,
          gboolean (*done) (Fixture *f))
{
  guint guard = g_timeout_add_seconds (30, guard_cb, f);

  f->guard_fired = FALSE;
  while (!done (f) && !f->guard_fired)
    g_main_context_iteration (NULL, TRUE);
  if (f->guard_fired)
    g_error ("test hung: gave up after 30 s");
  g_source_remove (guard);
}

static gboolean
is_active (PlMapping *mapping)
{
  return mapping != NULL && pl_mapping_get_state (mapping) == PL_MAPPING_STATE_ACTIVE;
}

static gboolean
both_active (Fixture *f)
{
  return is_active (pl_session_find_mapping_full (f->session, "Web", PL_PROTOCOL_TCP,
                                                  G_SOCKET_FAMILY_IPV4)) &&
         is_active (pl_session_find_mapping_full (f->session, "Web", PL_PROTOCOL_TCP,
                                                  G_SOCKET_FAMILY_IPV6));
}

static gboolean
renewed (Fixture *f)
{
  return pl_fake_igd_count_requests (f->igd, "UpdatePinhole") >= 1 &&
         both_active (f);
}

static gboolean
stopped (Fixture *f)
{
  return f->stopped;
}

static const char *
last_arg (Fixture    *f,
          const char *action,
          const char *name)
{
  GPtrArray *requests = pl_fake_igd_get_requests (f->igd);

  for (guint i = requests->len; i > 0; i--)
    {
      PlFakeIgdRequest *r = g_ptr_array_index (requests, i - 1);

      if (g_strcmp0 (r->action, action) == 0)
        return g_hash_table_lookup (r->arguments, name);
    }
  g_assert_not_reached ();
  return NULL;
}

static void
stop_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Fixture *f = user_data;

  pl_session_stop_finish (PL_SESSION (source), result, &f->stop_error);
  f->stopped = TRUE;
}

static void
test_pinhole (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (f->address);
  g_autoptr(PlProfile) profile = pl_profile_new ("Web");
  const PlFakeIgdPinhole *pinhole;
  PlMapping *pinhole_mapping;
  guint id;

  g_test_summary ("A both-family profile on a UPnP-IGD router with the firewall service: the "
                  "IPv4 mapping and the pinhole for the stable address, renewed with "
                  "UpdatePinhole at half the lease, both deleted at stop");
  pl_profile_set_protocol (profile, PL_PROFILE_PROTOCOL_TCP);
  pl_profile_set_internal_port (profile, 41500);
  pl_profile_set_lifetime (profile, 3600);
  pl_profile_set_enabled (profile, TRUE);
  g_list_store_append (f->profiles, profile);

  f->session = g_object_new (PL_TYPE_SESSION,
                             "profiles", f->profiles,
                             "clock", f->clock,
                             "fixed-gateway", gateway,
                             "monitor-network", FALSE,
                             NULL);
  pl_session_set_ipv6_discover_func (f->session, fake_ipv6, f, NULL);
  pl_session_start (f->session);
  wait_for (f, both_active);

  g_assert_cmpstr (pl_session_get_protocol_name (f->session), ==, "UPnP-IGD");
  g_assert_cmpstr (pl_session_get_ipv6_address (f->session), ==, LOCAL6);
  g_assert_nonnull (pl_fake_igd_lookup (f->igd, "TCP", 41500));
  pinhole = pl_fake_igd_lookup_pinhole (f->igd, 6, 41500);
  g_assert_nonnull (pinhole);
  g_assert_cmpstr (pinhole->internal_client, ==, LOCAL6);
  g_assert_cmpuint (pinhole->lease, ==, 3600);
  id = pinhole->unique_id;
  pinhole_mapping = pl_session_find_mapping_full (f->session, "Web", PL_PROTOCOL_TCP,
                                                  G_SOCKET_FAMILY_IPV6);
  g_assert_cmpstr (pl_mapping_get_external_address (pinhole_mapping), ==, LOCAL6);
  g_assert_cmpuint (pl_mapping_get_external_port (pinhole_mapping), ==, 41500);

  /* Half the lease later: UpdatePinhole of the same ID, no second AddPinhole. */
  pl_clock_advance (f->clock, (gint64) 1800 * G_USEC_PER_SEC + 1000);
  wait_for (f, renewed);
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "AddPinhole"), ==, 1);
  g_assert_cmpuint (g_ascii_strtoull (last_arg (f, "UpdatePinhole", "UniqueID"), NULL, 10),
                    ==, id);
  g_assert_cmpuint (pl_fake_igd_get_n_pinholes (f->igd), ==, 1);
  g_assert_cmpuint (pl_fake_igd_lookup_pinhole (f->igd, 6, 41500)->unique_id, ==, id);

  f->stopped = FALSE;
  pl_session_stop_async (f->session, NULL, stop_cb, f);
  wait_for (f, stopped);
  g_assert_no_error (f->stop_error);
  g_assert_cmpuint (pl_fake_igd_get_n_pinholes (f->igd), ==, 0);
  g_assert_null (pl_fake_igd_lookup (f->igd, "TCP", 41500));
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "DeletePinhole"), ==, 1);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  pl_fake_igd_test_init ();

  g_test_add ("/session/upnp/pinhole", Fixture, GUINT_TO_POINTER (1), fixture_set_up,
              test_pinhole, fixture_tear_down);

  return g_test_run ();
}
