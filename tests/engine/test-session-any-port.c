/* test-session-any-port.c: ExternalPort=any against a VPN-style gateway, on virtual time
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gstdio.h>

#include "pl-core.h"
#include "pl-fake-gateway.h"
#include "pl-fake-pcp-gateway.h"

/* The fake gateway plays ProtonVPN's NAT-PMP: random public ports, 60 s leases, and a
 * reconnect that forgets every mapping and starts its epoch again. Gateways are
 * 127.0.9.N, one N per test. The clock is virtual with auto-advance, so the times below
 * are exact; only the OnPortChange runs are real processes. */

#define SECONDS(s) ((gint64) ((double) (s) * G_USEC_PER_SEC + 0.5))
#define HOURS(h)   SECONDS ((h) * 3600.0)
#define PORT       51413

typedef struct
{
  PlMapping *mapping;
  guint      old_port;
  guint      new_port;
  gint64     time;
} Change;

typedef struct
{
  PlClock       *clock;
  PlFakeGateway *gateway;
  GListStore    *profiles;
  PlSession     *session;
  char          *address;
  guint          guard_id;
  GArray        *changes;        /* Change */
  guint          n_resets;

  /* Longest time a mapping was not held: a grant after the previous grant's expiry. */
  GHashTable    *last_expires;   /* PlMapping* -> gint64* */
  gint64         worst_margin;   /* expiry minus the renewal's grant, smallest seen */
  guint          n_renewals;

  char          *dir;
  char          *out;
  guint          n_hook_runs;
} Fixture;

static gboolean
guard_cb (gpointer user_data)
{
  g_error ("Test did not finish within 60 s of real time");
  return G_SOURCE_REMOVE;
}

static gint64
now (Fixture *f)
{
  return pl_clock_get_time (f->clock);
}

static void
port_changed_cb (PlSession *session,
                 PlMapping *mapping,
                 guint      old_port,
                 gpointer   user_data)
{
  Fixture *f = user_data;
  Change change = { mapping, old_port, pl_mapping_get_external_port (mapping), now (f) };

  g_assert_cmpint (pl_mapping_get_state (mapping), ==, PL_MAPPING_STATE_ACTIVE);
  g_array_append_val (f->changes, change);
}

static void
mapping_changed_cb (PlSession *session,
                    PlMapping *mapping,
                    gpointer   user_data)
{
  Fixture *f = user_data;
  gint64 expires = pl_mapping_get_expires (mapping);
  gint64 *last = g_hash_table_lookup (f->last_expires, mapping);

  if (pl_mapping_get_state (mapping) != PL_MAPPING_STATE_ACTIVE || expires == 0)
    return;
  if (last != NULL && *last != expires)
    {
      f->worst_margin = MIN (f->worst_margin, *last - now (f));
      f->n_renewals++;
    }
  if (last == NULL)
    {
      last = g_new (gint64, 1);
      g_hash_table_insert (f->last_expires, mapping, last);
    }
  *last = expires;
}

static void
router_reset_cb (PlSession *session,
                 guint      n,
                 gpointer   user_data)
{
  ((Fixture *) user_data)->n_resets++;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->address = g_strdup_printf ("127.0.9.%u", GPOINTER_TO_UINT (data));
  f->clock = pl_clock_new_virtual (TRUE);
  f->gateway = pl_fake_gateway_new (f->address, f->clock, &error);
  g_assert_no_error (error);
  pl_fake_gateway_set_random_ports (f->gateway, TRUE);
  pl_fake_gateway_set_granted_lifetime (f->gateway, 60);
  f->profiles = g_list_store_new (PL_TYPE_PROFILE);
  f->changes = g_array_new (FALSE, FALSE, sizeof (Change));
  f->last_expires = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  f->worst_margin = G_MAXINT64;
  f->dir = g_dir_make_tmp ("pl-any-port-XXXXXX", &error);
  g_assert_no_error (error);
  f->out = g_build_filename (f->dir, "hook", NULL);
  f->guard_id = g_timeout_add_seconds (60, guard_cb, NULL);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->session);
  g_clear_object (&f->gateway);
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
  g_clear_object (&f->profiles);
  g_clear_object (&f->clock);
  g_clear_handle_id (&f->guard_id, g_source_remove);
  g_clear_pointer (&f->changes, g_array_unref);
  g_clear_pointer (&f->last_expires, g_hash_table_unref);
  g_unlink (f->out);
  g_rmdir (f->dir);
  g_free (f->out);
  g_free (f->dir);
  g_free (f->address);
}

/* `portlightctl profiles add vpn-torrent --both any 51413 --lifetime 60`. */
static PlProfile *
add_any_profile (Fixture    *f,
                 const char *on_port_change)
{
  g_autoptr(PlProfile) profile = pl_profile_new ("vpn-torrent");
  g_autoptr(GError) error = NULL;

  pl_profile_set_protocol (profile, PL_PROFILE_PROTOCOL_BOTH);
  pl_profile_set_family (profile, PL_PROFILE_FAMILY_IPV4);
  g_assert_true (pl_profile_set_key_value (profile, PL_PROFILE_KEY_EXTERNAL_PORT, "any",
                                           &error));
  g_assert_no_error (error);
  pl_profile_set_internal_port (profile, PORT);
  pl_profile_set_lifetime (profile, 60);
  pl_profile_set_on_port_change (profile, on_port_change);
  g_assert_true (pl_profile_validate (profile, &error));
  g_list_store_append (f->profiles, profile);
  return profile;
}

static void
start_session_full (Fixture    *f,
                    const char *address,
                    PlMethod    method)
{
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (address);

  f->session = g_object_new (PL_TYPE_SESSION,
                             "profiles", f->profiles,
                             "clock", f->clock,
                             "fixed-gateway", gateway,
                             "monitor-network", FALSE,
                             NULL);
  pl_session_set_method (f->session, method);
  g_signal_connect (f->session, "port-changed", G_CALLBACK (port_changed_cb), f);
  g_signal_connect (f->session, "mapping-changed", G_CALLBACK (mapping_changed_cb), f);
  g_signal_connect (f->session, "router-reset", G_CALLBACK (router_reset_cb), f);
  pl_session_start (f->session);
}

static void
start_session (Fixture *f)
{
  start_session_full (f, f->address, PL_METHOD_NATPMP);
}

static gboolean
marker_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
run_until_time (Fixture *f,
                gint64   time)
{
  g_autoptr(GSource) source = NULL;
  gboolean reached = FALSE;

  source = pl_clock_timeout_source_new (f->clock, (guint64) (time - now (f)) / 1000);
  g_source_set_callback (source, marker_cb, &reached, NULL);
  g_source_attach (source, NULL);
  while (!reached)
    g_main_context_iteration (NULL, TRUE);
}

static void
run_until_changes (Fixture *f,
                   guint    n,
                   gint64   deadline)
{
  while (f->changes->len < n)
    {
      g_assert_cmpint (now (f), <=, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

static PlMapping *
mapping (Fixture    *f,
         PlProtocol  protocol)
{
  PlMapping *m = pl_session_find_mapping (f->session, "vpn-torrent", protocol);

  g_assert_nonnull (m);
  return m;
}

static Change *
change (Fixture *f,
        guint    i)
{
  return &g_array_index (f->changes, Change, i);
}

/* The map requests for @protocol, in order. */
static GPtrArray *
maps (Fixture    *f,
      PlProtocol  protocol)
{
  GPtrArray *all = pl_fake_gateway_get_requests (f->gateway);
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; i < all->len; i++)
    {
      PlFakeRequest *r = g_ptr_array_index (all, i);

      if (r->request.opcode == (guint8) protocol && r->request.internal_port == PORT &&
          r->request.lifetime != 0)
        g_ptr_array_add (out, r);
    }
  return out;
}

static void
test_granted (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GPtrArray) tcp = NULL;
  PlMapping *m;

  g_test_summary ("V-01: ExternalPort=any suggests port 0 (RFC 6886 section 3.3: the gateway "
                  "chooses), and the mapping shows the random port granted, reported once per "
                  "protocol");

  add_any_profile (f, NULL);
  start_session (f);
  run_until_changes (f, 2, SECONDS (1));

  for (PlProtocol p = PL_PROTOCOL_UDP; p <= PL_PROTOCOL_TCP; p++)
    {
      m = mapping (f, p);
      g_assert_true (pl_mapping_get_any_external_port (m));
      g_assert_cmpuint (pl_mapping_get_requested_external_port (m), ==, 0);
      g_assert_cmpuint (pl_mapping_get_external_port (m), ==,
                        pl_fake_gateway_get_mapped_port (f->gateway, p, PORT));
      g_assert_cmpuint (pl_mapping_get_external_port (m), >=, 1024);
      g_assert_cmpuint (pl_mapping_get_lifetime (m), ==, 60);
    }
  g_assert_cmpuint (f->changes->len, ==, 2);
  g_assert_cmpuint (change (f, 0)->old_port, ==, 0);
  g_assert_cmpuint (change (f, 1)->old_port, ==, 0);

  tcp = maps (f, PL_PROTOCOL_TCP);
  g_assert_cmpuint (tcp->len, ==, 1);
  g_assert_cmpuint (((PlFakeRequest *) tcp->pdata[0])->request.external_port, ==, 0);
  g_assert_cmpuint (((PlFakeRequest *) tcp->pdata[0])->request.lifetime, ==, 60);
}

static void
test_refused_zero (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GPtrArray) tcp = NULL;
  g_autoptr(GPtrArray) udp = NULL;

  g_test_summary ("V-01b: a gateway that refuses a suggested port of 0 (MikroTik RouterOS: "
                  "\"unable to allocate port for mapping *:0\") is asked again at once with "
                  "the private port suggested; the mapping is active on it, with no error, and "
                  "its renewals suggest that port, never 0 again");

  pl_fake_gateway_set_random_ports (f->gateway, FALSE);
  pl_fake_gateway_set_refuse_zero (f->gateway, TRUE);
  add_any_profile (f, NULL);
  start_session (f);
  run_until_changes (f, 2, SECONDS (1));

  for (PlProtocol p = PL_PROTOCOL_UDP; p <= PL_PROTOCOL_TCP; p++)
    {
      PlMapping *m = mapping (f, p);

      g_assert_cmpint (pl_mapping_get_state (m), ==, PL_MAPPING_STATE_ACTIVE);
      g_assert_null (pl_mapping_get_error (m));
      g_assert_cmpuint (pl_mapping_get_external_port (m), ==, PORT);
      g_assert_cmpuint (pl_fake_gateway_get_mapped_port (f->gateway, p, PORT), ==, PORT);
    }

  /* Two renewals of each (at 30 s and 60 s of the 60 s leases). */
  run_until_time (f, now (f) + SECONDS (65));
  tcp = maps (f, PL_PROTOCOL_TCP);
  udp = maps (f, PL_PROTOCOL_UDP);
  g_assert_cmpuint (tcp->len, ==, 4);
  g_assert_cmpuint (udp->len, ==, 4);
  g_assert_cmpuint (((PlFakeRequest *) tcp->pdata[0])->request.external_port, ==, 0);
  g_assert_cmpuint (((PlFakeRequest *) udp->pdata[0])->request.external_port, ==, 0);
  for (guint i = 1; i < 4; i++)
    {
      g_assert_cmpuint (((PlFakeRequest *) tcp->pdata[i])->request.external_port, ==, PORT);
      g_assert_cmpuint (((PlFakeRequest *) udp->pdata[i])->request.external_port, ==, PORT);
    }
  g_assert_cmpint (pl_mapping_get_state (mapping (f, PL_PROTOCOL_TCP)), ==,
                   PL_MAPPING_STATE_ACTIVE);
  /* Granted once per protocol: the port never changed. */
  g_assert_cmpuint (f->changes->len, ==, 2);
}

static void
test_renew_day (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GPtrArray) tcp = NULL;
  g_autoptr(GPtrArray) udp = NULL;
  guint16 tcp_port, udp_port;

  g_test_summary ("V-02: 60 s leases for 24 h: every renewal suggests the granted port, which "
                  "stays; each lease is renewed before it runs out (the margin is printed)");

  add_any_profile (f, NULL);
  start_session (f);
  run_until_changes (f, 2, SECONDS (1));
  tcp_port = pl_mapping_get_external_port (mapping (f, PL_PROTOCOL_TCP));
  udp_port = pl_mapping_get_external_port (mapping (f, PL_PROTOCOL_UDP));

  run_until_time (f, HOURS (24));

  tcp = maps (f, PL_PROTOCOL_TCP);
  udp = maps (f, PL_PROTOCOL_UDP);
  /* Renewed every 30 s: 2880 renewals in 24 h, each on the granted port. */
  g_assert_cmpuint (tcp->len, >=, 2880);
  g_assert_cmpuint (udp->len, >=, 2880);
  for (guint i = 1; i < tcp->len; i++)
    g_assert_cmpuint (((PlFakeRequest *) tcp->pdata[i])->request.external_port, ==, tcp_port);
  for (guint i = 1; i < udp->len; i++)
    g_assert_cmpuint (((PlFakeRequest *) udp->pdata[i])->request.external_port, ==, udp_port);

  g_assert_cmpuint (f->changes->len, ==, 2);
  g_assert_cmpuint (f->n_resets, ==, 0);
  g_assert_cmpuint (pl_mapping_get_external_port (mapping (f, PL_PROTOCOL_TCP)), ==, tcp_port);
  g_assert_cmpint (pl_mapping_get_state (mapping (f, PL_PROTOCOL_TCP)), ==,
                   PL_MAPPING_STATE_ACTIVE);

  /* No gap: every renewal was granted while the lease it renewed still held. */
  g_test_message ("24 h of 60 s leases: %u renewals; the tightest one landed %.3f s before "
                  "its lease ran out (a gap would be negative)",
                  f->n_renewals, (double) f->worst_margin / G_USEC_PER_SEC);
  g_assert_cmpuint (f->n_renewals, >=, 2 * 2880 - 2);
  g_assert_cmpint (f->worst_margin, >, 0);
}

static void
test_reconnect (Fixture       *f,
                gconstpointer  data)
{
  guint16 tcp_port, udp_port;
  PlMapping *tcp, *udp;

  g_test_summary ("V-03: a VPN reconnect (mappings forgotten, epoch from 0): the next renewal gets "
                  "a new random port, taken and reported once per protocol, then kept");

  add_any_profile (f, NULL);
  start_session (f);
  run_until_changes (f, 2, SECONDS (1));
  tcp = mapping (f, PL_PROTOCOL_TCP);
  udp = mapping (f, PL_PROTOCOL_UDP);
  tcp_port = pl_mapping_get_external_port (tcp);
  udp_port = pl_mapping_get_external_port (udp);

  run_until_time (f, SECONDS (100));
  pl_fake_gateway_reconnect (f->gateway);
  run_until_changes (f, 4, SECONDS (131));
  run_until_time (f, SECONDS (1000));

  g_assert_cmpuint (f->changes->len, ==, 4);
  g_assert_cmpuint (f->n_resets, ==, 1);
  g_assert_cmpuint (pl_mapping_get_external_port (tcp), !=, tcp_port);
  g_assert_cmpuint (pl_mapping_get_external_port (udp), !=, udp_port);
  g_assert_cmpuint (pl_mapping_get_external_port (tcp), ==,
                    pl_fake_gateway_get_mapped_port (f->gateway, PL_PROTOCOL_TCP, PORT));
  g_assert_cmpuint (pl_mapping_get_external_port (udp), ==,
                    pl_fake_gateway_get_mapped_port (f->gateway, PL_PROTOCOL_UDP, PORT));
  for (guint i = 2; i < 4; i++)
    {
      Change *c = change (f, i);

      g_assert_cmpuint (c->old_port, ==, c->mapping == tcp ? tcp_port : udp_port);
      g_assert_cmpuint (c->new_port, ==, pl_mapping_get_external_port (c->mapping));
    }
  g_assert_true (change (f, 2)->mapping != change (f, 3)->mapping);
  g_assert_cmpint (pl_mapping_get_state (tcp), ==, PL_MAPPING_STATE_ACTIVE);
}

static void
test_lost_mapping (Fixture       *f,
                   gconstpointer  data)
{
  guint16 tcp_port;

  g_test_summary ("V-03: a gateway that drops a mapping without a reset: the renewal's new port is "
                  "taken and reported once");

  add_any_profile (f, NULL);
  start_session (f);
  run_until_changes (f, 2, SECONDS (1));
  tcp_port = pl_mapping_get_external_port (mapping (f, PL_PROTOCOL_TCP));

  run_until_time (f, SECONDS (40));
  pl_fake_gateway_clear_mappings (f->gateway);
  run_until_time (f, SECONDS (600));

  g_assert_cmpuint (f->changes->len, ==, 4);
  g_assert_cmpuint (f->n_resets, ==, 0);
  g_assert_cmpuint (pl_mapping_get_external_port (mapping (f, PL_PROTOCOL_TCP)), !=, tcp_port);
}

static void
test_pcp (Fixture       *f,
          gconstpointer  data)
{
  g_autofree char *address = g_strdup_printf ("127.0.9.%u", GPOINTER_TO_UINT (data) + 100);
  g_autoptr(PlFakePcpGateway) gateway = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *requests;
  guint n_maps = 0;
  PlMapping *m;

  g_test_summary ("V-01 over PCP: suggested port 0 (RFC 6887 section 11.1), the assigned port "
                  "taken, every renewal suggesting it");

  gateway = pl_fake_pcp_gateway_new (address, f->clock, &error);
  g_assert_no_error (error);
  /* Not the internal port (another host holds it, as miniupnpd then gives the next one):
   * the assigned port must come from the reply. */
  pl_fake_pcp_gateway_hold_port (gateway, 6, PORT);
  pl_fake_pcp_gateway_hold_port (gateway, 17, PORT);
  add_any_profile (f, NULL);
  start_session_full (f, address, PL_METHOD_PCP);
  run_until_changes (f, 2, SECONDS (1));
  run_until_time (f, SECONDS (1000));

  m = mapping (f, PL_PROTOCOL_TCP);
  g_assert_cmpuint (pl_mapping_get_external_port (m), ==, PORT + 1);
  g_assert_cmpuint (f->changes->len, ==, 2);
  requests = pl_fake_pcp_gateway_get_requests (gateway);
  for (guint i = 0; i < requests->len; i++)
    {
      PlFakePcpRequest *r = g_ptr_array_index (requests, i);

      if (!r->parsed || r->opcode != PL_PCP_OP_MAP || r->request.protocol != 6)
        continue;
      /* The first asks for any port; the renewals for the one assigned. */
      g_assert_cmpuint (r->request.suggested_external_port, ==, n_maps == 0 ? 0 : PORT + 1);
      n_maps++;
    }
  /* 120 s granted (the clamp): renewed in [1/2, 5/8] of it for 1000 s. */
  g_assert_cmpuint (n_maps, >=, 1000 / 75);
  g_clear_object (&f->session);
}

static guint
count_lines (const char *text,
             const char *prefix)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = 0;

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], prefix))
      n++;
  return n;
}

static void
hook_finished_cb (PlPortHook *hook,
                  gboolean    success,
                  const char *message,
                  gpointer    user_data)
{
  Fixture *f = user_data;

  g_assert_true (success);
  f->n_hook_runs++;
}

static void
wait_hook_runs (Fixture *f,
                guint    n)
{
  while (f->n_hook_runs < n)
    g_main_context_iteration (NULL, TRUE);
}

static void
test_hook (Fixture       *f,
           gconstpointer  data)
{
  g_autofree char *helper = g_shell_quote (PL_HOOK_HELPER);
  g_autofree char *out = g_shell_quote (f->out);
  g_autofree char *command = g_strdup_printf ("%s record %s %%P %%p %%a", helper, out);
  g_autofree char *text = NULL;
  g_autofree char *tcp_line = NULL;
  g_autofree char *udp_line = NULL;
  PlPortHook *hook;

  g_test_summary ("V-04: OnPortChange runs once per protocol when the port is first granted and "
                  "once per protocol after a reconnect, with the new port and the address");

  add_any_profile (f, command);
  start_session (f);
  run_until_changes (f, 1, SECONDS (1));
  while ((hook = pl_session_get_port_hook (f->session, "vpn-torrent")) == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_signal_connect (hook, "finished", G_CALLBACK (hook_finished_cb), f);
  wait_hook_runs (f, 2);

  g_assert_true (g_file_get_contents (f->out, &text, NULL, NULL));
  /* The first grant comes before the public address: the command waited for it. */
  tcp_line = g_strdup_printf ("start tcp|%u|203.0.113.7",
                              pl_mapping_get_external_port (mapping (f, PL_PROTOCOL_TCP)));
  udp_line = g_strdup_printf ("start udp|%u|203.0.113.7",
                              pl_mapping_get_external_port (mapping (f, PL_PROTOCOL_UDP)));
  g_assert_cmpuint (count_lines (text, tcp_line), ==, 1);
  g_assert_cmpuint (count_lines (text, udp_line), ==, 1);
  g_assert_cmpuint (count_lines (text, "start "), ==, 2);
  g_test_message ("first runs: %s", text);

  /* A reconnect: once more for each protocol, with the new ports. */
  pl_fake_gateway_reconnect (f->gateway);
  run_until_changes (f, 4, G_MAXINT64);
  wait_hook_runs (f, 4);
  g_clear_pointer (&text, g_free);
  g_clear_pointer (&tcp_line, g_free);
  g_assert_true (g_file_get_contents (f->out, &text, NULL, NULL));
  tcp_line = g_strdup_printf ("start tcp|%u|203.0.113.7",
                              pl_mapping_get_external_port (mapping (f, PL_PROTOCOL_TCP)));
  g_assert_cmpuint (count_lines (text, tcp_line), ==, 1);
  g_assert_cmpuint (count_lines (text, "start "), ==, 4);
  g_assert_cmpuint (f->changes->len, ==, 4);
}

int
main (int   argc,
      char *argv[])
{
  static const struct
  {
    const char *path;
    void      (*func) (Fixture *, gconstpointer);
  } tests[] = {
    { "/session/any-port/granted", test_granted },
    { "/session/any-port/refused-zero", test_refused_zero },
    { "/session/any-port/renew-24h", test_renew_day },
    { "/session/any-port/reconnect", test_reconnect },
    { "/session/any-port/lost-mapping", test_lost_mapping },
    { "/session/any-port/hook", test_hook },
    { "/session/any-port/pcp", test_pcp },
  };

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (tests); i++)
    g_test_add (tests[i].path, Fixture, GUINT_TO_POINTER (i + 10),
                fixture_set_up, tests[i].func, fixture_tear_down);

  return g_test_run ();
}
