/* test-session-protocols.c: PlSession choosing the protocol per gateway, and over PCP
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The session here has no mapper factory: it probes the gateway (PCP and NAT-PMP at once,
 * core/mapper/pl-mapper-probe.c) and speaks what answers, against the in-process fakes on
 * virtual time. Every test has its own gateway address 127.0.5.N (N = test data).
 */

#include "config.h"

#include <string.h>

#include "pl-core.h"
#include "pl-fake-gateway.h"
#include "pl-fake-pcp-gateway.h"
#include "pl-test-gupnp.h"

#define SECONDS(s) ((gint64) ((double) (s) * G_USEC_PER_SEC + 0.5))

typedef struct
{
  PlClock          *clock;
  GListStore       *profiles;
  PlSession        *session;
  char             *address;
  char             *journal_path;
  guint             guard_id;
  guint             n_resets;
  guint             n_protocol_notifies;
  gboolean          stopped;
  GError           *stop_error;
} Fixture;

static gboolean
guard_cb (gpointer user_data)
{
  g_error ("Test did not finish within 30 s of real time");
  return G_SOURCE_REMOVE;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->address = g_strdup_printf ("127.0.5.%u", GPOINTER_TO_UINT (data));
  f->clock = pl_clock_new_virtual (TRUE);
  f->profiles = g_list_store_new (PL_TYPE_PROFILE);
  f->journal_path = g_build_filename (g_get_user_state_dir (), "portlight", "mappings.ini",
                                      NULL);
  f->guard_id = g_timeout_add_seconds (30, guard_cb, NULL);
  /* GTest drops the fatal handler before each test. */
  pl_test_tolerate_gupnp_port_clash ();
}

static void
drain (void)
{
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->session);
  drain ();
  g_clear_object (&f->profiles);
  g_clear_object (&f->clock);
  g_clear_handle_id (&f->guard_id, g_source_remove);
  g_clear_error (&f->stop_error);
  g_free (f->journal_path);
  g_free (f->address);
}

static void
router_reset_cb (PlSession *session,
                 guint      n,
                 gpointer   user_data)
{
  ((Fixture *) user_data)->n_resets++;
}

static void
protocol_notify_cb (GObject    *session,
                    GParamSpec *pspec,
                    gpointer    user_data)
{
  ((Fixture *) user_data)->n_protocol_notifies++;
}

/* This machine's own IPv6 must not take part: the fakes are IPv4 only. */
static PlIpv6Router *
no_ipv6 (gpointer       user_data,
         GInetAddress **local,
         GError       **error)
{
  g_set_error_literal (error, PL_ERROR, PL_ERROR_NO_GATEWAY, "No IPv6 default route (test)");
  return NULL;
}

/* A session on the fixture's gateway, probing; with the journal file when @journal. */
static PlSession *
session_new (Fixture  *f,
             gboolean  journal)
{
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (f->address);
  PlSession *session = g_object_new (PL_TYPE_SESSION,
                                     "profiles", f->profiles,
                                     "clock", f->clock,
                                     "fixed-gateway", gateway,
                                     "monitor-network", FALSE,
                                     "announce-port", 5350u,
                                     NULL);

  if (journal)
    {
      g_autoptr(PlPcpState) state = pl_pcp_state_new (f->journal_path);
      g_autoptr(GError) error = NULL;

      g_assert_true (pl_pcp_state_load (state, &error));
      g_assert_no_error (error);
      pl_session_set_journal (session, state);
    }
  pl_session_set_ipv6_discover_func (session, no_ipv6, NULL, NULL);
  g_signal_connect (session, "router-reset", G_CALLBACK (router_reset_cb), f);
  g_signal_connect (session, "notify::protocol-name", G_CALLBACK (protocol_notify_cb), f);
  return session;
}

static void
add_profile_family (Fixture           *f,
                    const char        *name,
                    PlProfileProtocol  protocol,
                    guint              port,
                    PlProfileFamily    family)
{
  g_autoptr(PlProfile) profile = pl_profile_new (name);

  pl_profile_set_family (profile, family);
  pl_profile_set_protocol (profile, protocol);
  pl_profile_set_internal_port (profile, port);
  pl_profile_set_lifetime (profile, 7200);
  pl_profile_set_enabled (profile, TRUE);
  g_list_store_append (f->profiles, profile);
}

static void
add_profile (Fixture           *f,
             const char        *name,
             PlProfileProtocol  protocol,
             guint              port)
{
  g_autoptr(PlProfile) profile = pl_profile_new (name);

  pl_profile_set_protocol (profile, protocol);
  pl_profile_set_internal_port (profile, port);
  pl_profile_set_lifetime (profile, 7200);
  pl_profile_set_enabled (profile, TRUE);
  g_list_store_append (f->profiles, profile);
}

static gint64
now (Fixture *f)
{
  return pl_clock_get_time (f->clock);
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

static gboolean
all_active (PlSession *session)
{
  GListModel *mappings = pl_session_get_mappings (session);
  guint n = g_list_model_get_n_items (mappings);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PlMapping) m = g_list_model_get_item (mappings, i);

      if (pl_mapping_get_state (m) != PL_MAPPING_STATE_ACTIVE)
        return FALSE;
    }
  return n > 0;
}

static void
run_until_active (Fixture   *f,
                  PlSession *session,
                  gint64     deadline)
{
  while (!all_active (session))
    {
      g_assert_cmpint (now (f), <=, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

/* The nonce of the last MAP (lifetime > 0) the PCP fake got for @port. */
static gboolean
last_map_nonce (PlFakePcpGateway *gateway,
                guint16           port,
                guint8            nonce[PL_PCP_NONCE_SIZE])
{
  GPtrArray *requests = pl_fake_pcp_gateway_get_requests (gateway);

  for (guint i = requests->len; i > 0; i--)
    {
      PlFakePcpRequest *r = g_ptr_array_index (requests, i - 1);

      if (r->parsed && r->opcode == PL_PCP_OP_MAP && r->request.internal_port == port &&
          r->request.lifetime != 0)
        {
          memcpy (nonce, r->request.nonce, PL_PCP_NONCE_SIZE);
          return TRUE;
        }
    }
  return FALSE;
}

static guint
count_pcp (PlFakePcpGateway *gateway,
           guint8            opcode,
           gboolean          deletes)
{
  GPtrArray *requests = pl_fake_pcp_gateway_get_requests (gateway);
  guint n = 0;

  for (guint i = 0; i < requests->len; i++)
    {
      PlFakePcpRequest *r = g_ptr_array_index (requests, i);

      if (r->parsed && r->opcode == opcode &&
          (opcode != PL_PCP_OP_MAP || (r->request.lifetime == 0) == deletes))
        n++;
    }
  return n;
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
stop (Fixture   *f,
      PlSession *session)
{
  f->stopped = FALSE;
  pl_session_stop_async (session, NULL, stop_cb, f);
  while (!f->stopped)
    g_main_context_iteration (NULL, TRUE);
}

/* Tests. */

static void
test_auto_pcp (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(PlFakePcpGateway) gateway = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("On a PCP router the session speaks PCP: protocol-name says so once known, "
                  "every mapping is made with MAP and renewed within [1/2, 5/8] of its "
                  "lifetime, the public address comes from PCP");

  gateway = pl_fake_pcp_gateway_new (f->address, f->clock, &error);
  g_assert_no_error (error);
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000);
  add_profile (f, "Game", PL_PROFILE_PROTOCOL_BOTH, 5000);
  f->session = session_new (f, FALSE);
  pl_session_start (f->session);
  g_assert_null (pl_session_get_protocol_name (f->session));

  run_until_active (f, f->session, SECONDS (1));
  g_assert_cmpstr (pl_session_get_protocol_name (f->session), ==, "PCP");
  g_assert_cmpuint (f->n_protocol_notifies, >=, 1);
  /* Renewed at a random point in [1/2, 5/8] of the 7200 s granted (RFC 6887 11.2.1). */
  {
    PlMapping *web = pl_session_find_mapping (f->session, "Web", PL_PROTOCOL_TCP);
    gint64 granted = pl_mapping_get_expires (web) - SECONDS (7200);

    g_assert_cmpint (pl_mapping_get_renew_at (web) - granted, >=, SECONDS (3600));
    g_assert_cmpint (pl_mapping_get_renew_at (web) - granted, <=, SECONDS (4500));
  }
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (gateway), ==, 3);
  g_assert_cmpuint (count_pcp (gateway, PL_PCP_OP_MAP, FALSE), ==, 3);
  g_assert_cmpuint (count_pcp (gateway, PL_PCP_OP_ANNOUNCE, FALSE), >=, 1);
  g_assert_true (pl_session_get_listening (f->session));
  run_until_time (f, SECONDS (2));
  g_assert_cmpstr (pl_session_get_external_address (f->session), ==, "203.0.113.7");

  stop (f, f->session);
  g_assert_no_error (f->stop_error);
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (gateway), ==, 0);
}

static void
epoch_notify_cb (GObject    *session,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  (*(guint *) user_data)++;
}

static void
test_epoch (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(PlFakePcpGateway) gateway = NULL;
  g_autoptr(GError) error = NULL;
  guint n_notifies = 0;
  guint32 before;

  g_test_summary ("PlSession:epoch is the gateway's epoch of its last reply (0 before any), "
                  "notified when it changes; a reset shows as the new, small epoch");

  gateway = pl_fake_pcp_gateway_new (f->address, f->clock, &error);
  g_assert_no_error (error);
  pl_fake_pcp_gateway_set_epoch (gateway, 50000);
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000);
  f->session = session_new (f, FALSE);
  g_signal_connect (f->session, "notify::epoch", G_CALLBACK (epoch_notify_cb), &n_notifies);
  g_assert_cmpuint (pl_session_get_epoch (f->session), ==, 0);
  pl_session_start (f->session);

  run_until_active (f, f->session, SECONDS (1));
  g_assert_cmpuint (n_notifies, >=, 1);
  g_assert_cmpuint (pl_session_get_epoch (f->session), >=, 50000);
  g_assert_cmpuint (pl_session_get_epoch (f->session), <=,
                    pl_fake_pcp_gateway_get_epoch (gateway));

  /* The renewal's reply, an hour or more on, carries the epoch of then. */
  before = pl_session_get_epoch (f->session);
  run_until_time (f, SECONDS (4600));
  g_assert_cmpuint (pl_session_get_epoch (f->session), >=, before + 3600);
  g_assert_cmpuint (pl_session_get_epoch (f->session), <=,
                    pl_fake_pcp_gateway_get_epoch (gateway));

  /* The gateway restarts: its epoch begins again, and the session's follows. */
  pl_fake_pcp_gateway_set_epoch (gateway, 0);
  pl_fake_pcp_gateway_announce (gateway);
  run_until_time (f, SECONDS (4602));
  g_assert_cmpuint (f->n_resets, >=, 1);
  g_assert_cmpuint (pl_session_get_epoch (f->session), <=, 2);

  stop (f, f->session);
  g_assert_no_error (f->stop_error);
}

static void
test_auto_natpmp (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(PlFakeGateway) gateway = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("On a NAT-PMP-only router (PCP answered with UNSUPP_VERSION) the session "
                  "speaks NAT-PMP at once");

  gateway = pl_fake_gateway_new (f->address, f->clock, &error);
  g_assert_no_error (error);
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000);
  f->session = session_new (f, FALSE);
  pl_session_start (f->session);

  run_until_active (f, f->session, SECONDS (0.1));
  g_assert_cmpstr (pl_session_get_protocol_name (f->session), ==, "NAT-PMP");
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (gateway), ==, 1);
  g_assert_cmpstr (pl_session_get_external_address (f->session), ==, "203.0.113.7");
}

static void
test_auto_pcp_dropped (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(PlFakeGateway) gateway = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A router that silently drops PCP still gets its NAT-PMP mappings within "
                  "PCP's grace (1 s), long before PCP's first retransmission at 3 s");

  gateway = pl_fake_gateway_new (f->address, f->clock, &error);
  g_assert_no_error (error);
  pl_fake_gateway_set_drop_pcp (gateway, TRUE);
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000);
  f->session = session_new (f, FALSE);
  pl_session_start (f->session);

  run_until_active (f, f->session, SECONDS (1.1));
  g_assert_cmpstr (pl_session_get_protocol_name (f->session), ==, "NAT-PMP");
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (gateway), ==, 1);
}

static void
test_no_service (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(PlFakePcpGateway) gateway = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PlMapping) m = NULL;

  g_test_summary ("Nothing listens on the router: every mapping fails with why and a retry "
                  "time; a service that starts later is probed again and used");

  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000);
  f->session = session_new (f, FALSE);
  pl_session_start (f->session);
  m = g_list_model_get_item (pl_session_get_mappings (f->session), 0);
  while (pl_mapping_get_state (m) != PL_MAPPING_STATE_FAILED)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (pl_mapping_get_error (m));
  g_assert_cmpint (pl_mapping_get_retry_at (m), >, now (f));
  g_assert_null (pl_session_get_protocol_name (f->session));

  gateway = pl_fake_pcp_gateway_new (f->address, f->clock, &error);
  g_assert_no_error (error);
  run_until_active (f, f->session, pl_mapping_get_retry_at (m) + SECONDS (1));
  g_assert_cmpstr (pl_session_get_protocol_name (f->session), ==, "PCP");
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (gateway), ==, 1);
}

static void
test_journal_restart (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(PlFakePcpGateway) gateway = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PlPcpState) check = NULL;
  guint8 first_tcp[PL_PCP_NONCE_SIZE], first_udp[PL_PCP_NONCE_SIZE];
  guint8 again_tcp[PL_PCP_NONCE_SIZE], again_udp[PL_PCP_NONCE_SIZE];

  g_test_summary ("A session killed (no stop, no deletes) and started again with the journal "
                  "renews its mappings with the same nonces: no duplicates, no refusals; its "
                  "stop deletes them all and empties the journal");

  gateway = pl_fake_pcp_gateway_new (f->address, f->clock, &error);
  g_assert_no_error (error);
  add_profile (f, "Game", PL_PROFILE_PROTOCOL_BOTH, 5000);
  f->session = session_new (f, TRUE);
  pl_session_start (f->session);
  run_until_active (f, f->session, SECONDS (1));
  g_assert_true (last_map_nonce (gateway, 5000, first_tcp));
  {
    GPtrArray *requests = pl_fake_pcp_gateway_get_requests (gateway);

    /* TCP and UDP share the port: two nonces, one per mapping. */
    for (guint i = 0; i < requests->len; i++)
      {
        PlFakePcpRequest *r = g_ptr_array_index (requests, i);

        if (r->parsed && r->opcode == PL_PCP_OP_MAP && r->request.protocol == 17)
          memcpy (first_udp, r->request.nonce, PL_PCP_NONCE_SIZE);
        if (r->parsed && r->opcode == PL_PCP_OP_MAP && r->request.protocol == 6)
          memcpy (first_tcp, r->request.nonce, PL_PCP_NONCE_SIZE);
      }
  }
  g_assert_cmpint (memcmp (first_tcp, first_udp, PL_PCP_NONCE_SIZE), !=, 0);

  /* kill -9: gone without a word to the router. */
  g_clear_object (&f->session);
  drain ();
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (gateway), ==, 2);
  pl_fake_pcp_gateway_clear_requests (gateway);
  run_until_time (f, SECONDS (60));

  f->session = session_new (f, TRUE);
  pl_session_start (f->session);
  run_until_active (f, f->session, SECONDS (61));
  {
    GPtrArray *requests = pl_fake_pcp_gateway_get_requests (gateway);

    for (guint i = 0; i < requests->len; i++)
      {
        PlFakePcpRequest *r = g_ptr_array_index (requests, i);

        if (r->parsed && r->opcode == PL_PCP_OP_MAP && r->request.protocol == 17)
          memcpy (again_udp, r->request.nonce, PL_PCP_NONCE_SIZE);
        if (r->parsed && r->opcode == PL_PCP_OP_MAP && r->request.protocol == 6)
          memcpy (again_tcp, r->request.nonce, PL_PCP_NONCE_SIZE);
      }
  }
  g_assert_cmpint (memcmp (first_tcp, again_tcp, PL_PCP_NONCE_SIZE), ==, 0);
  g_assert_cmpint (memcmp (first_udp, again_udp, PL_PCP_NONCE_SIZE), ==, 0);
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (gateway), ==, 2);
  g_assert_cmpuint (count_pcp (gateway, PL_PCP_OP_MAP, FALSE), ==, 2);

  stop (f, f->session);
  g_assert_no_error (f->stop_error);
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (gateway), ==, 0);

  check = pl_pcp_state_new (f->journal_path);
  g_assert_true (pl_pcp_state_load (check, &error));
  g_assert_no_error (error);
  {
    g_autoptr(GInetAddress) address = g_inet_address_new_from_string (f->address);
    g_autoptr(GPtrArray) left = pl_pcp_state_list (check, address);

    g_assert_cmpuint (left->len, ==, 0);
  }
}

static void
test_pcp_announce (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(PlFakePcpGateway) gateway = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("Over PCP: an ANNOUNCE with the epoch running on (restart with the epoch "
                  "kept, table flushed) brings every mapping back at once without a reset; an "
                  "ANNOUNCE with a fresh epoch is a reset (RFC 6887 section 8.5)");

  gateway = pl_fake_pcp_gateway_new (f->address, f->clock, &error);
  g_assert_no_error (error);
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000);
  add_profile (f, "Voice", PL_PROFILE_PROTOCOL_UDP, 5060);
  f->session = session_new (f, FALSE);
  pl_session_start (f->session);
  run_until_active (f, f->session, SECONDS (1));
  run_until_time (f, SECONDS (500));

  pl_fake_pcp_gateway_clear_mappings (gateway);
  pl_fake_pcp_gateway_announce (gateway);
  run_until_time (f, SECONDS (501));
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (gateway), ==, 2);
  g_assert_cmpuint (f->n_resets, ==, 0);
  g_assert_true (all_active (f->session));

  run_until_time (f, SECONDS (1000));
  pl_fake_pcp_gateway_clear_mappings (gateway);
  pl_fake_pcp_gateway_set_epoch (gateway, 0);
  pl_fake_pcp_gateway_announce (gateway);
  run_until_time (f, SECONDS (1001));
  g_assert_cmpuint (f->n_resets, ==, 1);
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (gateway), ==, 2);
  g_assert_true (all_active (f->session));
}

static void
test_no_ipv6 (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(PlFakePcpGateway) gateway = NULL;
  g_autoptr(GError) error = NULL;
  PlMapping *m;

  g_test_summary ("Without IPv6 (no router, no stable address) a Family=both profile maps "
                  "IPv4 alone and shows nothing about IPv6; a Family=ipv6 profile fails and "
                  "says why; a Family=ipv4 one never asks for a pinhole");

  gateway = pl_fake_pcp_gateway_new (f->address, f->clock, &error);
  g_assert_no_error (error);
  add_profile_family (f, "Both", PL_PROFILE_PROTOCOL_TCP, 40000, PL_PROFILE_FAMILY_BOTH);
  add_profile_family (f, "Four", PL_PROFILE_PROTOCOL_UDP, 40001, PL_PROFILE_FAMILY_IPV4);
  add_profile_family (f, "Six", PL_PROFILE_PROTOCOL_TCP, 40002, PL_PROFILE_FAMILY_IPV6);
  f->session = session_new (f, FALSE);
  pl_session_start (f->session);
  while (pl_fake_pcp_gateway_get_n_mappings (gateway) < 2)
    {
      g_assert_cmpint (now (f), <=, SECONDS (1));
      g_main_context_iteration (NULL, TRUE);
    }
  run_until_time (f, SECONDS (2));

  g_assert_cmpuint (g_list_model_get_n_items (pl_session_get_mappings (f->session)), ==, 3);
  g_assert_null (pl_session_find_mapping_full (f->session, "Both", PL_PROTOCOL_TCP,
                                               G_SOCKET_FAMILY_IPV6));
  g_assert_null (pl_session_find_mapping_full (f->session, "Four", PL_PROTOCOL_UDP,
                                               G_SOCKET_FAMILY_IPV6));
  g_assert_null (pl_session_find_mapping (f->session, "Six", PL_PROTOCOL_TCP));
  m = pl_session_find_mapping_full (f->session, "Six", PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV6);
  g_assert_nonnull (m);
  g_assert_cmpint (pl_mapping_get_family (m), ==, G_SOCKET_FAMILY_IPV6);
  g_assert_cmpint (pl_mapping_get_state (m), ==, PL_MAPPING_STATE_FAILED);
  g_assert_error (pl_mapping_get_error (m), PL_ERROR, PL_ERROR_NO_GATEWAY);
  g_assert_cmpstr (pl_mapping_get_error (m)->message, ==, "No IPv6 default route (test)");
  g_assert_cmpint (pl_mapping_get_state (pl_session_find_mapping (f->session, "Both",
                                                                  PL_PROTOCOL_TCP)), ==,
                   PL_MAPPING_STATE_ACTIVE);
  g_assert_null (pl_session_get_ipv6_address (f->session));
}

static void
test_natpmp_no_pinholes (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(PlFakeGateway) gateway = NULL;
  g_autoptr(GError) error = NULL;
  PlMapping *m;

  g_test_summary ("NAT-PMP opens no pinholes: a Family=ipv6 profile fails saying so, and "
                  "the IPv6 router is not even looked for");

  gateway = pl_fake_gateway_new (f->address, f->clock, &error);
  g_assert_no_error (error);
  add_profile_family (f, "Six", PL_PROFILE_PROTOCOL_TCP, 40002, PL_PROFILE_FAMILY_IPV6);
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000);
  f->session = session_new (f, FALSE);
  pl_session_start (f->session);
  m = pl_session_find_mapping_full (f->session, "Six", PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV6);
  while (pl_mapping_get_state (m) != PL_MAPPING_STATE_FAILED)
    {
      g_assert_cmpint (now (f), <=, SECONDS (1));
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_error (pl_mapping_get_error (m), PL_ERROR, PL_ERROR_UNSUPPORTED_OPCODE);
  g_assert_nonnull (strstr (pl_mapping_get_error (m)->message, "NAT-PMP"));
}

static gboolean
fixed_mac (gpointer       user_data,
           GInetAddress  *address,
           guint8        *mac,
           GError       **error)
{
  static const guint8 known[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 };

  memcpy (mac, known, 6);
  return TRUE;
}

static PlSession *
session_with_memory (Fixture *f)
{
  g_autoptr(PlMethodMemory) memory = pl_method_memory_new (NULL);
  g_autoptr(GError) error = NULL;
  PlSession *session = session_new (f, FALSE);

  g_assert_true (pl_method_memory_load (memory, &error));
  g_assert_no_error (error);
  pl_session_set_method_memory (session, memory);
  pl_session_set_neighbour_func (session, fixed_mac, NULL, NULL);
  return session;
}

static void
count_failed_cb (PlMapping  *mapping,
                 GParamSpec *pspec,
                 guint      *n_failed)
{
  if (pl_mapping_get_state (mapping) == PL_MAPPING_STATE_FAILED)
    (*n_failed)++;
}

static void
test_memory (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(PlFakeGateway) gateway = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PlMethodMemory) check = NULL;
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (f->address);
  static const guint8 mac[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 };
  PlMethod method;
  gint64 t0;
  guint n_failed = 0;

  g_test_summary ("The protocol of a gateway (address and MAC) is remembered: the next start "
                  "on a router that drops PCP maps at once instead of after PCP's 1 s grace; "
                  "a remembered protocol that the router stopped speaking is forgotten and "
                  "the router probed again, and the mappings wait for that probe without "
                  "failing first");

  gateway = pl_fake_gateway_new (f->address, f->clock, &error);
  g_assert_no_error (error);
  pl_fake_gateway_set_drop_pcp (gateway, TRUE);
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000);

  f->session = session_with_memory (f);
  pl_session_start (f->session);
  run_until_active (f, f->session, SECONDS (1.1));
  g_assert_cmpint (now (f), >=, SECONDS (1));
  g_clear_object (&f->session);
  drain ();

  check = pl_method_memory_new (NULL);
  g_assert_true (pl_method_memory_load (check, &error));
  g_assert_true (pl_method_memory_lookup (check, address, mac, &method));
  g_assert_cmpint (method, ==, PL_METHOD_NATPMP);
  g_clear_object (&check);

  t0 = now (f);
  f->session = session_with_memory (f);
  pl_session_start (f->session);
  run_until_active (f, f->session, t0 + SECONDS (0.1));
  g_assert_cmpstr (pl_session_get_protocol_name (f->session), ==, "NAT-PMP");
  g_clear_object (&f->session);
  drain ();

  /* A remembered PCP on a router that went back to NAT-PMP only: UNSUPP_VERSION at once,
   * the memory is dropped, and the probe finds NAT-PMP. */
  g_clear_object (&gateway);
  check = pl_method_memory_new (NULL);
  g_assert_true (pl_method_memory_load (check, &error));
  pl_method_memory_remember (check, address, mac, PL_METHOD_PCP);
  g_assert_true (pl_method_memory_save (check, &error));
  g_clear_object (&check);
  gateway = pl_fake_gateway_new (f->address, f->clock, &error);
  g_assert_no_error (error);

  t0 = now (f);
  f->session = session_with_memory (f);
  pl_session_start (f->session);
  g_signal_connect (pl_session_find_mapping (f->session, "Web", PL_PROTOCOL_TCP),
                    "notify::state", G_CALLBACK (count_failed_cb), &n_failed);
  run_until_active (f, f->session, t0 + SECONDS (0.5));
  g_assert_cmpstr (pl_session_get_protocol_name (f->session), ==, "NAT-PMP");
  g_assert_cmpuint (n_failed, ==, 0);
  g_clear_object (&f->session);
  drain ();

  check = pl_method_memory_new (NULL);
  g_assert_true (pl_method_memory_load (check, &error));
  g_assert_true (pl_method_memory_lookup (check, address, mac, &method));
  g_assert_cmpint (method, ==, PL_METHOD_NATPMP);
}

static void
test_reprobe (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(PlFakePcpGateway) pcp = NULL;
  g_autoptr(PlFakeGateway) natpmp = NULL;
  g_autoptr(GError) error = NULL;
  PlMapping *web;

  g_test_summary ("A router that stops speaking the protocol that worked (PCP, then NAT-PMP "
                  "only after a firmware or settings change) is probed again at its first "
                  "UNSUPP_VERSION, and the mappings move to what it speaks now");

  pcp = pl_fake_pcp_gateway_new (f->address, f->clock, &error);
  g_assert_no_error (error);
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000);
  f->session = session_new (f, FALSE);
  pl_session_start (f->session);
  run_until_active (f, f->session, SECONDS (1));
  g_assert_cmpstr (pl_session_get_protocol_name (f->session), ==, "PCP");
  web = pl_session_find_mapping (f->session, "Web", PL_PROTOCOL_TCP);

  g_clear_object (&pcp);
  natpmp = pl_fake_gateway_new (f->address, f->clock, &error);
  g_assert_no_error (error);

  /* The renewal, at [1/2, 5/8] of 7200 s, meets NAT-PMP's "unsupported version". */
  run_until_time (f, pl_mapping_get_renew_at (web) + SECONDS (1));
  g_assert_cmpstr (pl_session_get_protocol_name (f->session), ==, "NAT-PMP");
  g_assert_true (all_active (f->session));
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (natpmp), ==, 1);
}

static void
test_pair_order (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(PlFakePcpGateway) gateway = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *requests;
  PlFakePcpRequest *first = NULL, *second = NULL;
  guint i;

  g_test_summary ("A TCP+UDP profile's two mappings are renewed back to back, TCP first, "
                  "although PCP picks each renewal time at random; a stop deletes UDP, then "
                  "TCP (miniupnpd 2.3.1 drops the other protocol's accept rule otherwise)");

  gateway = pl_fake_pcp_gateway_new (f->address, f->clock, &error);
  g_assert_no_error (error);
  add_profile (f, "Game", PL_PROFILE_PROTOCOL_BOTH, 5000);
  f->session = session_new (f, FALSE);
  pl_session_start (f->session);
  run_until_active (f, f->session, SECONDS (1));
  pl_fake_pcp_gateway_clear_requests (gateway);
  run_until_time (f, SECONDS (4600));

  requests = pl_fake_pcp_gateway_get_requests (gateway);
  for (i = 0; i < requests->len; i++)
    {
      PlFakePcpRequest *r = g_ptr_array_index (requests, i);

      if (r->parsed && r->opcode == PL_PCP_OP_MAP)
        {
          if (first == NULL)
            first = r;
          else if (second == NULL)
            second = r;
        }
    }
  if (first == NULL || second == NULL)
    g_assert_not_reached ();
  g_assert_cmpuint (first->request.protocol, ==, 6);
  g_assert_cmpuint (second->request.protocol, ==, 17);
  g_assert_cmpint (second->time - first->time, <, SECONDS (0.1));

  pl_fake_pcp_gateway_clear_requests (gateway);
  stop (f, f->session);
  requests = pl_fake_pcp_gateway_get_requests (gateway);
  first = NULL;
  for (i = 0; i < requests->len && first == NULL; i++)
    {
      PlFakePcpRequest *r = g_ptr_array_index (requests, i);

      if (r->parsed && r->opcode == PL_PCP_OP_MAP && r->request.lifetime == 0)
        first = r;
    }
  if (first == NULL)
    g_assert_not_reached ();
  g_assert_cmpuint (first->request.protocol, ==, 17);
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (gateway), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  typedef void (*TestFunc) (Fixture *f, gconstpointer data);
  static const struct { const char *path; TestFunc func; } tests[] = {
    { "/session/protocols/auto-pcp", test_auto_pcp },
    { "/session/protocols/auto-natpmp", test_auto_natpmp },
    { "/session/protocols/pcp-dropped", test_auto_pcp_dropped },
    { "/session/protocols/no-service", test_no_service },
    { "/session/protocols/journal-restart", test_journal_restart },
    { "/session/protocols/pcp-announce", test_pcp_announce },
    { "/session/protocols/no-ipv6", test_no_ipv6 },
    { "/session/protocols/natpmp-no-pinholes", test_natpmp_no_pinholes },
    { "/session/protocols/memory", test_memory },
    { "/session/protocols/reprobe", test_reprobe },
    { "/session/protocols/pair-order", test_pair_order },
    { "/session/protocols/epoch", test_epoch },
  };

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (tests); i++)
    g_test_add (tests[i].path, Fixture, GUINT_TO_POINTER (i + 1),
                fixture_set_up, tests[i].func, fixture_tear_down);

  return g_test_run ();
}
