/* test-journal-sweep.c: a restarted engine's sweep of its IPv6 pinhole records, and the
 * renewal of a pinhole it is asked for
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * In process, on virtual time: PlJournalSweep following a PlSession whose gateway is the PCP
 * fake at 127.0.63.N and whose IPv6 router is a second PCP fake at ::1 (this computer's
 * "stable address" is ::1 too, on lo). The IPv4 side's sweep is tested end to end in
 * test-broker.c (B-16, `portlightctl run` killed and started again); that cannot reach an
 * IPv6 router, so the pinholes are here. The tests use ::1:5351 and take turns with other
 * suites (tests/meson.build: not parallel).
 */

#include "config.h"

#include <net/if.h>
#include <string.h>

#include "pl-core.h"
#include "pl-fake-pcp-gateway.h"
#include "pl-journal-sweep.h"

#define SECONDS(s) ((gint64) (s) * G_USEC_PER_SEC)
#define ROUTER6    "::1"
#define GRACE_S    30

#define P_UNCLAIMED    41601   /* made by the engine before the crash, nobody asks again */
#define P_CLAIMED      41602   /* made before the crash, an enabled profile asks again */
#define P_OLD_RECORD   41603   /* like P_UNCLAIMED, its record without an Interface key */
#define P_OTHER_ADDR   41604   /* a record from another address of this computer */
#define P_OTHER_IFACE  41605   /* a record made over another interface */
#define P_ONE_SHOT     41606   /* a one-shot record (no Owner=engine) */
#define P_OTHER_ROUTER 41607   /* a record of another router */

typedef struct
{
  PlClock          *clock;
  char             *address;       /* the IPv4 gateway */
  char             *journal_path;
  PlFakePcpGateway *gateway;
  PlFakePcpGateway *router6;
  PlPcpState       *journal;
  GListStore       *profiles;
  PlSession        *session;
  PlJournalSweep   *sweep;
  gint64            ipv6_at;       /* when the IPv6 side spoke with the router; -1: not yet */
  guint             n_ipv6_notifies;
  guint             guard_id;
  guint             pending;       /* maps of the first engine in flight */
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
  g_autoptr(GError) error = NULL;

  f->address = g_strdup_printf ("127.0.63.%u", GPOINTER_TO_UINT (data));
  f->clock = pl_clock_new_virtual (TRUE);
  f->journal_path = g_build_filename (g_get_user_runtime_dir (), "portlight",
                                      "engine-mappings.ini", NULL);
  f->profiles = g_list_store_new (PL_TYPE_PROFILE);
  f->ipv6_at = -1;
  f->guard_id = g_timeout_add_seconds (30, guard_cb, NULL);

  f->gateway = pl_fake_pcp_gateway_new (f->address, f->clock, &error);
  g_assert_no_error (error);
  f->router6 = pl_fake_pcp_gateway_new (ROUTER6, f->clock, &error);
  if (f->router6 == NULL)
    {
      g_test_skip_printf ("No PCP server on [%s]:5351 (is IPv6 loopback there?): %s", ROUTER6,
                          error->message);
      return;
    }
  f->journal = pl_pcp_state_new (f->journal_path);
  g_assert_true (pl_pcp_state_load (f->journal, &error));
  g_assert_no_error (error);
  pl_pcp_state_set_owner (f->journal, PL_PCP_OWNER_ENGINE);
}

/* The sockets this process has open (/proc/self/fd). */
static guint
count_sockets (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc/self/fd", name, NULL);
      g_autofree char *target = g_file_read_link (path, NULL);

      if (target != NULL && g_str_has_prefix (target, "socket:"))
        n++;
    }
  return n;
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
  g_clear_object (&f->sweep);
  g_clear_object (&f->session);
  drain ();
  g_clear_object (&f->journal);
  g_clear_object (&f->router6);
  g_clear_object (&f->gateway);
  g_clear_object (&f->profiles);
  g_clear_object (&f->clock);
  g_clear_handle_id (&f->guard_id, g_source_remove);
  g_free (f->journal_path);
  g_free (f->address);
}

static guint
lo_index (void)
{
  guint index = if_nametoindex ("lo");

  g_assert_cmpuint (index, !=, 0);
  return index;
}

/* The IPv6 router is the fake at ::1 on lo; this computer opens pinholes for ::1. */
static PlIpv6Router *
fake_ipv6 (gpointer       user_data,
           GInetAddress **local,
           GError       **error)
{
  PlIpv6Router *router = g_new0 (PlIpv6Router, 1);

  router->address = g_inet_address_new_from_string (ROUTER6);
  router->interface = g_strdup ("lo");
  router->ifindex = lo_index ();
  *local = g_inet_address_new_from_string (ROUTER6);
  return router;
}

/* A PCP client for pinholes at ::1 from ::1, journaled (the first engine's, before it died). */
static PlPortMapper *
pinhole_client (Fixture *f,
                guint    scope_id)
{
  g_autoptr(GInetAddress) router = g_inet_address_new_from_string (ROUTER6);
  PlPortMapper *client = g_object_new (PL_TYPE_PCP_CLIENT,
                                       "gateway", router,
                                       "clock", f->clock,
                                       "bind-address", router,
                                       "scope-id", scope_id,
                                       NULL);

  pl_port_mapper_set_journal (client, f->journal);
  return client;
}

static void
map_cb (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  Fixture *f = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (pl_port_mapper_map_finish (PL_PORT_MAPPER (source), result, NULL, NULL, NULL,
                                            &error));
  g_assert_no_error (error);
  f->pending--;
}

static void
map_pinholes (Fixture      *f,
              PlPortMapper *client,
              const guint  *ports,
              guint         n_ports)
{
  for (guint i = 0; i < n_ports; i++)
    {
      f->pending++;
      pl_port_mapper_map_async (client, PL_PROTOCOL_TCP, ports[i], 0, 3600, NULL, map_cb, f);
    }
  while (f->pending > 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (pl_pcp_state_flush (f->journal, NULL));
}

/* A record of a pinhole the router never saw (only its journal entry matters). */
static void
put_record (Fixture    *f,
            const char *router,
            const char *internal,
            const char *interface,
            guint16     port)
{
  g_autoptr(PlPcpRecord) record = pl_pcp_record_new ();

  record->gateway = g_inet_address_new_from_string (router);
  record->method = PL_PCP_METHOD_PCP;
  record->protocol = PL_PROTOCOL_TCP;
  record->family = G_SOCKET_FAMILY_IPV6;
  record->internal_address = g_inet_address_new_from_string (internal);
  record->internal_port = port;
  record->external_port = port;
  record->expires = g_get_real_time () / G_USEC_PER_SEC + 3600;
  record->interface = g_strdup (interface);
  pl_pcp_record_new_nonce (record);
  pl_pcp_state_put (f->journal, record);
}

static const PlPcpRecord *
lookup (PlPcpState *journal,
        const char *router,
        guint16     port)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (router);

  return pl_pcp_state_lookup (journal, address, PL_PROTOCOL_TCP, port, G_SOCKET_FAMILY_IPV6);
}

/* MAP requests the fake got for @port: deletes (lifetime 0) or the others. */
static guint
count_maps (PlFakePcpGateway *gateway,
            guint16           port,
            gboolean          deletes,
            guint8           *last_nonce,
            gint64           *last_time)
{
  GPtrArray *requests = pl_fake_pcp_gateway_get_requests (gateway);
  guint n = 0;

  for (guint i = 0; i < requests->len; i++)
    {
      PlFakePcpRequest *r = g_ptr_array_index (requests, i);

      if (!r->parsed || r->opcode != PL_PCP_OP_MAP || r->request.internal_port != port ||
          (r->request.lifetime == 0) != deletes)
        continue;
      n++;
      if (last_nonce != NULL)
        memcpy (last_nonce, r->request.nonce, PL_PCP_NONCE_SIZE);
      if (last_time != NULL)
        *last_time = r->time;
    }
  return n;
}

static guint
count_all_deletes (PlFakePcpGateway *gateway)
{
  GPtrArray *requests = pl_fake_pcp_gateway_get_requests (gateway);
  guint n = 0;

  for (guint i = 0; i < requests->len; i++)
    {
      PlFakePcpRequest *r = g_ptr_array_index (requests, i);

      if (r->parsed && r->opcode == PL_PCP_OP_MAP && r->request.lifetime == 0)
        n++;
    }
  return n;
}

static void
ipv6_notify_cb (GObject    *object,
                GParamSpec *pspec,
                gpointer    user_data)
{
  Fixture *f = user_data;

  f->n_ipv6_notifies++;
  if (pl_session_get_ipv6_address (f->session) != NULL && f->ipv6_at < 0)
    f->ipv6_at = pl_clock_get_time (f->clock);
}

/* Both families, as a lease asks: the pinhole is asked for once the IPv6 side speaks. */
static void
add_profile (Fixture *f,
                  guint16  port)
{
  g_autoptr(PlProfile) profile = pl_profile_new ("Claimed");

  pl_profile_set_family (profile, PL_PROFILE_FAMILY_BOTH);
  pl_profile_set_protocol (profile, PL_PROFILE_PROTOCOL_TCP);
  pl_profile_set_internal_port (profile, port);
  pl_profile_set_lifetime (profile, 3600);
  pl_profile_set_enabled (profile, TRUE);
  g_list_store_append (f->profiles, profile);
}

/* The restarted engine: a session on the journal, and its sweep. */
static void
start_engine (Fixture *f)
{
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (f->address);

  f->session = g_object_new (PL_TYPE_SESSION,
                             "profiles", f->profiles,
                             "clock", f->clock,
                             "fixed-gateway", gateway,
                             "monitor-network", FALSE,
                             NULL);
  pl_session_set_journal (f->session, f->journal);
  pl_session_set_ipv6_discover_func (f->session, fake_ipv6, NULL, NULL);
  g_signal_connect (f->session, "notify::ipv6-address", G_CALLBACK (ipv6_notify_cb), f);
  f->sweep = pl_journal_sweep_new (f->session, f->journal);
  pl_journal_sweep_set_grace (f->sweep, GRACE_S);
  pl_session_start (f->session);
}

static void
test_pinholes (Fixture       *f,
               gconstpointer  data)
{
  static const guint with_interface[] = { P_UNCLAIMED, P_CLAIMED };
  static const guint without_interface[] = { P_OLD_RECORD };
  static const guint kept[] = { P_OTHER_ADDR, P_OTHER_IFACE, P_ONE_SHOT };
  g_autoptr(PlPortMapper) first = NULL;
  g_autoptr(PlPortMapper) older = NULL;
  g_autoptr(PlPcpState) on_disk = NULL;
  g_autoptr(GError) error = NULL;
  guint8 unclaimed_nonce[PL_PCP_NONCE_SIZE];
  guint8 old_nonce[PL_PCP_NONCE_SIZE];
  guint8 claimed_nonce[PL_PCP_NONCE_SIZE];
  guint8 nonce[PL_PCP_NONCE_SIZE];
  gint64 deleted_at = 0;
  const PlPcpRecord *record;
  guint sockets;

  g_test_summary ("A restarted engine deletes, after the grace from when its IPv6 side speaks "
                  "with the router, the PCP pinholes of its journal nobody asked for again, "
                  "with their nonces, and forgets them; it takes back the one a profile asks "
                  "for (same nonce); records of another address, interface or router and "
                  "one-shot ones are left; a record without Interface (older journal) is "
                  "swept; the IPv4 gateway gets no delete; the sweep's own socket is closed "
                  "once its round is done");
  if (f->router6 == NULL)
    return;

  /* The engine before the crash: pinholes made and journaled, one by an older version
   * (no Interface key), then the process is gone without a delete. */
  first = pinhole_client (f, lo_index ());
  map_pinholes (f, first, with_interface, G_N_ELEMENTS (with_interface));
  older = pinhole_client (f, 0);
  map_pinholes (f, older, without_interface, G_N_ELEMENTS (without_interface));
  g_clear_object (&first);
  g_clear_object (&older);
  drain ();
  put_record (f, ROUTER6, "2001:db8::99", "lo", P_OTHER_ADDR);
  put_record (f, ROUTER6, ROUTER6, "other0", P_OTHER_IFACE);
  put_record (f, "2001:db8::1", "2001:db8::20", "eth0", P_OTHER_ROUTER);
  pl_pcp_state_set_owner (f->journal, PL_PCP_OWNER_ONE_SHOT);
  put_record (f, ROUTER6, ROUTER6, "lo", P_ONE_SHOT);
  pl_pcp_state_set_owner (f->journal, PL_PCP_OWNER_ENGINE);
  g_assert_true (pl_pcp_state_save (f->journal, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (f->router6), ==, 3);
  g_assert_cmpstr (lookup (f->journal, ROUTER6, P_UNCLAIMED)->interface, ==, "lo");
  g_assert_null (lookup (f->journal, ROUTER6, P_OLD_RECORD)->interface);
  g_assert_cmpuint (count_maps (f->router6, P_UNCLAIMED, FALSE, unclaimed_nonce, NULL), ==, 1);
  g_assert_cmpuint (count_maps (f->router6, P_OLD_RECORD, FALSE, old_nonce, NULL), ==, 1);
  g_assert_cmpuint (count_maps (f->router6, P_CLAIMED, FALSE, claimed_nonce, NULL), ==, 1);

  /* Started again, with a profile asking for one of them. */
  add_profile (f, P_CLAIMED);
  start_engine (f);
  while (f->ipv6_at < 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (f->n_ipv6_notifies, ==, 1);
  g_assert_cmpstr (pl_session_get_ipv6_address (f->session), ==, ROUTER6);
  sockets = count_sockets ();   /* the sweep's grace is running: no mapper of its own yet */

  /* The pinholes go once the grace is over, with their own nonces. */
  while (count_maps (f->router6, P_UNCLAIMED, TRUE, NULL, NULL) == 0 ||
         count_maps (f->router6, P_OLD_RECORD, TRUE, NULL, NULL) == 0 ||
         lookup (f->journal, ROUTER6, P_UNCLAIMED) != NULL ||
         lookup (f->journal, ROUTER6, P_OLD_RECORD) != NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (count_maps (f->router6, P_UNCLAIMED, TRUE, nonce, &deleted_at), ==, 1);
  g_assert_cmpmem (nonce, sizeof nonce, unclaimed_nonce, sizeof unclaimed_nonce);
  g_assert_cmpint (deleted_at, >=, f->ipv6_at + SECONDS (GRACE_S));
  g_assert_cmpuint (count_maps (f->router6, P_OLD_RECORD, TRUE, nonce, &deleted_at), ==, 1);
  g_assert_cmpmem (nonce, sizeof nonce, old_nonce, sizeof old_nonce);
  g_assert_cmpint (deleted_at, >=, f->ipv6_at + SECONDS (GRACE_S));
  /* Every delete answered, none failed: the sweep's mapper (its socket) goes, it is not kept
   * while the engine runs (the fixture's guard fails the test if it stays). */
  while (count_sockets () > sockets)
    g_main_context_iteration (NULL, TRUE);

  /* The claimed pinhole was taken back with its nonce, not deleted. */
  g_assert_cmpuint (count_maps (f->router6, P_CLAIMED, FALSE, nonce, NULL), >=, 2);
  g_assert_cmpmem (nonce, sizeof nonce, claimed_nonce, sizeof claimed_nonce);
  g_assert_cmpuint (count_maps (f->router6, P_CLAIMED, TRUE, NULL, NULL), ==, 0);
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (f->router6), ==, 1);
  g_assert_nonnull (lookup (f->journal, ROUTER6, P_CLAIMED));

  /* Nothing else was deleted anywhere, and the other records stay. */
  for (guint i = 0; i < G_N_ELEMENTS (kept); i++)
    {
      g_assert_cmpuint (count_maps (f->router6, kept[i], TRUE, NULL, NULL), ==, 0);
      g_assert_nonnull (lookup (f->journal, ROUTER6, kept[i]));
    }
  g_assert_nonnull (lookup (f->journal, "2001:db8::1", P_OTHER_ROUTER));
  g_assert_cmpuint (count_all_deletes (f->router6), ==, 2);
  g_assert_cmpuint (count_all_deletes (f->gateway), ==, 0);

  /* And the journal on disk says the same. */
  g_assert_true (pl_pcp_state_flush (f->journal, &error));
  g_assert_no_error (error);
  on_disk = pl_pcp_state_new (f->journal_path);
  g_assert_true (pl_pcp_state_load (on_disk, &error));
  g_assert_no_error (error);
  g_assert_null (lookup (on_disk, ROUTER6, P_UNCLAIMED));
  g_assert_null (lookup (on_disk, ROUTER6, P_OLD_RECORD));
  record = lookup (on_disk, ROUTER6, P_CLAIMED);
  g_assert_nonnull (record);
  g_assert_cmpmem (record->nonce, sizeof record->nonce, claimed_nonce, sizeof claimed_nonce);
  g_assert_cmpstr (record->interface, ==, "lo");
  for (guint i = 0; i < G_N_ELEMENTS (kept); i++)
    g_assert_nonnull (lookup (on_disk, ROUTER6, kept[i]));
}

/* The first engine made a pinhole for P_UNCLAIMED and died; the restarted engine's IPv6 side
 * has spoken with the router, which refuses everything from then on (the probe had its
 * answer). */
static void
start_engine_refusing (Fixture *f)
{
  static const guint ports[] = { P_UNCLAIMED };
  g_autoptr(PlPortMapper) first = pinhole_client (f, lo_index ());

  map_pinholes (f, first, ports, G_N_ELEMENTS (ports));
  g_clear_object (&first);
  drain ();

  start_engine (f);
  while (f->ipv6_at < 0)
    g_main_context_iteration (NULL, TRUE);
  pl_fake_pcp_gateway_set_result_code (f->router6, PL_PCP_RESULT_MALFORMED_REQUEST);
}

/* A delete the router refuses is tried again 30 s later, and the record stays until one
 * succeeds. */
static void
test_pinhole_retry (Fixture       *f,
                    gconstpointer  data)
{
  gint64 first_try = 0;
  gint64 second_try = 0;
  gint64 last_try = 0;

  g_test_summary ("A pinhole delete the router refuses is tried again 30 s later, then 60 s "
                  "later, the record kept meanwhile; once a delete succeeds the record goes");
  if (f->router6 == NULL)
    return;

  start_engine_refusing (f);
  while (count_maps (f->router6, P_UNCLAIMED, TRUE, NULL, &first_try) == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (first_try, >=, f->ipv6_at + SECONDS (GRACE_S));
  /* Refused: tried again 30 s later (and refused again), the record kept meanwhile. */
  while (count_maps (f->router6, P_UNCLAIMED, TRUE, NULL, &second_try) < 2)
    {
      g_main_context_iteration (NULL, TRUE);
      g_assert_nonnull (lookup (f->journal, ROUTER6, P_UNCLAIMED));
    }
  g_assert_cmpint (second_try, >=, first_try + SECONDS (30));
  g_assert_cmpint (second_try, <, first_try + SECONDS (60));

  /* The router takes deletes again: the next try (60 s later) succeeds, the record goes. */
  pl_fake_pcp_gateway_set_result_code (f->router6, 0);
  while (lookup (f->journal, ROUTER6, P_UNCLAIMED) != NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (count_maps (f->router6, P_UNCLAIMED, TRUE, NULL, &last_try), ==, 3);
  g_assert_cmpint (last_try, >=, second_try + SECONDS (60));
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (f->router6), ==, 0);
}

/* The other side of the journal: a pinhole somebody asks for (an enabled profile; a lease
 * is one to the session) is renewed at the IPv6 router before it expires, with its nonce,
 * and its record stays. */
static void
test_pinhole_renewed (Fixture       *f,
                      gconstpointer  data)
{
  guint8 first_nonce[PL_PCP_NONCE_SIZE];
  guint8 nonce[PL_PCP_NONCE_SIZE];
  gint64 first_at = 0;
  gint64 renewed_at = 0;
  gint64 first_end;
  const PlPcpRecord *record;

  g_test_summary ("An asked-for pinhole (PCP, the IPv6 router) is renewed at 1/2 to 5/8 of "
                  "its lifetime with the same nonce, the router holds one pinhole, and the "
                  "journal keeps its record and nonce");
  if (f->router6 == NULL)
    return;

  add_profile (f, P_CLAIMED);
  start_engine (f);
  while (count_maps (f->router6, P_CLAIMED, FALSE, first_nonce, &first_at) == 0)
    g_main_context_iteration (NULL, TRUE);
  while ((record = lookup (f->journal, ROUTER6, P_CLAIMED)) == NULL ||
         record->external_port == 0)
    g_main_context_iteration (NULL, TRUE);
  first_end = record->expires;

  while (count_maps (f->router6, P_CLAIMED, FALSE, nonce, &renewed_at) < 2)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpmem (nonce, sizeof nonce, first_nonce, sizeof first_nonce);
  g_assert_cmpint (renewed_at - first_at, >=, SECONDS (3600) / 2);
  g_assert_cmpint (renewed_at - first_at, <=, SECONDS (3600) * 5 / 8 + SECONDS (1));
  g_assert_cmpuint (pl_fake_pcp_gateway_get_n_mappings (f->router6), ==, 1);

  /* The record stays, with the nonce (its end is wall-clock time, which the virtual clock
   * does not move). */
  record = lookup (f->journal, ROUTER6, P_CLAIMED);
  g_assert_nonnull (record);
  g_assert_cmpmem (record->nonce, sizeof record->nonce, first_nonce, sizeof first_nonce);
  g_assert_cmpint (record->expires, >=, first_end);
  g_assert_cmpuint (count_maps (f->router6, P_CLAIMED, TRUE, NULL, NULL), ==, 0);
}

typedef struct
{
  guint could_not;   /* "Could not close …" */
  guint still_open;  /* "… still open at …" */
  guint quiet;       /* the one that says no more will be said */
} Said;

static void
said_cb (const char     *domain,
         GLogLevelFlags  level,
         const char     *message,
         gpointer        user_data)
{
  Said *said = user_data;

  if (g_str_has_prefix (message, "Could not close"))
    said->could_not++;
  if (strstr (message, "still open at") != NULL)
    said->still_open++;
  if (strstr (message, "without saying so each time") != NULL)
    said->quiet++;
}

/* A router that refuses every delete (one that stopped speaking the record's protocol, say):
 * tried again and again, said in the log only until the tries are 15 min apart. */
static void
test_pinhole_retry_quiet (Fixture       *f,
                          gconstpointer  data)
{
  Said said = { 0 };
  gint64 tries[10] = { 0, };
  guint n = 0;
  guint log_id;

  g_test_summary ("A delete refused every time is tried again, 30 s doubling to 15 min apart; "
                  "its failures are in the log for the first 6 rounds, the 6th saying that "
                  "no more will be said, and the tries go on");
  if (f->router6 == NULL)
    return;

  log_id = g_log_set_handler ("pl-broker", G_LOG_LEVEL_MESSAGE, said_cb, &said);
  start_engine_refusing (f);
  while (n < G_N_ELEMENTS (tries))
    {
      gint64 last = 0;
      guint now = count_maps (f->router6, P_UNCLAIMED, TRUE, NULL, &last);

      if (now > n)
        tries[(n = now) - 1] = last;   /* tries are 30 s or more apart: one at a time */
      else
        g_main_context_iteration (NULL, TRUE);
    }
  g_log_remove_handler ("pl-broker", log_id);

  /* Ten tries: nine rounds over, the 7th to 9th quiet. */
  g_assert_cmpuint (said.could_not, ==, 6);
  g_assert_cmpuint (said.still_open, ==, 6);
  g_assert_cmpuint (said.quiet, ==, 1);
  g_assert_nonnull (lookup (f->journal, ROUTER6, P_UNCLAIMED));
  /* 30 s doubling, then 15 min apart. */
  g_assert_cmpint (tries[1] - tries[0], >=, SECONDS (30));
  g_assert_cmpint (tries[1] - tries[0], <, SECONDS (60));
  g_assert_cmpint (tries[5] - tries[4], >=, SECONDS (480));
  g_assert_cmpint (tries[6] - tries[5], >=, SECONDS (15 * 60));
  g_assert_cmpint (tries[9] - tries[8], >=, SECONDS (15 * 60));
  g_assert_cmpint (tries[9] - tries[8], <, SECONDS (16 * 60));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/journal-sweep/pcp-pinholes", Fixture, GUINT_TO_POINTER (1), fixture_set_up,
              test_pinholes, fixture_tear_down);
  g_test_add ("/journal-sweep/pcp-pinhole-retry", Fixture, GUINT_TO_POINTER (2),
              fixture_set_up, test_pinhole_retry, fixture_tear_down);
  g_test_add ("/journal-sweep/pcp-pinhole-retry-quiet", Fixture, GUINT_TO_POINTER (3),
              fixture_set_up, test_pinhole_retry_quiet, fixture_tear_down);
  g_test_add ("/journal-sweep/pcp-pinhole-renewed", Fixture, GUINT_TO_POINTER (4),
              fixture_set_up, test_pinhole_renewed, fixture_tear_down);

  return g_test_run ();
}
