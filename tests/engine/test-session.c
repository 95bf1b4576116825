/* test-session.c: PlSession against the in-process fake gateway, on virtual time
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "pl-core.h"
#include "pl-fake-gateway.h"
#include "pl-test-gupnp.h"

/* Every test has its own gateway address 127.0.2.N (N passed as test data; N + 1 and N + 2
 * serve as "another host" and "the next gateway"), so tests run in parallel with each other
 * and with other test programs. Announcements on 224.0.0.1:5350 reach every listener on the
 * host; the session ignores those not from its gateway, which is the product rule anyway.
 * The clock is virtual with auto-advance: time moves only when nothing else is ready, so
 * the times asserted below are exact. */

#define SECONDS(s) ((gint64) ((double) (s) * G_USEC_PER_SEC + 0.5))

/* Fixture. */

typedef struct
{
  PlClock       *clock;
  PlFakeGateway *gateway;
  GListStore    *profiles;
  PlSession     *session;
  guint          n;
  char          *address;
  guint          guard_id;

  /* What the session reported. */
  guint          n_mappers;
  guint          n_resets;
  guint          last_reset_count;
  GArray        *reset_times;        /* gint64 */
  GPtrArray     *addresses;          /* char*, NULL entries allowed */
  GPtrArray     *gateways;           /* char* */
  GArray        *double_nat;         /* gboolean */
  guint          n_mapping_changes;

  /* Discovery hook. */
  char          *discovered;         /* NULL: discovery fails */
  guint          n_discoveries;

  gboolean       stopped;
  gboolean       stop_ok;
  GError        *stop_error;
  gint64         stop_time;
} Fixture;

static gboolean
guard_cb (gpointer user_data)
{
  g_error ("Test did not finish within 30 s of real time");
  return G_SOURCE_REMOVE;
}

static PlPortMapper *
test_factory (GInetAddress *gateway,
              PlClock      *clock,
              gpointer      user_data)
{
  Fixture *f = user_data;

  f->n_mappers++;
  return PL_PORT_MAPPER (pl_client_new (gateway, clock));
}

static PlGateway *
test_discover (gpointer   user_data,
               GError   **error)
{
  Fixture *f = user_data;
  PlGateway *gateway;

  f->n_discoveries++;
  if (f->discovered == NULL)
    {
      g_set_error_literal (error, PL_ERROR, PL_ERROR_NO_GATEWAY, "no default route (test)");
      return NULL;
    }

  gateway = g_new0 (PlGateway, 1);
  gateway->address = g_inet_address_new_from_string (f->discovered);
  gateway->interface = g_strdup ("lo");
  return gateway;
}

static void
router_reset_cb (PlSession *session,
                 guint      n_mappings,
                 gpointer   user_data)
{
  Fixture *f = user_data;
  gint64 now = pl_clock_get_time (f->clock);

  f->n_resets++;
  f->last_reset_count = n_mappings;
  g_array_append_val (f->reset_times, now);
}

static void
external_address_changed_cb (PlSession  *session,
                             const char *address,
                             gpointer    user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->addresses, g_strdup (address));
}

static void
gateway_changed_cb (PlSession  *session,
                    const char *gateway,
                    gpointer    user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->gateways, g_strdup (gateway));
}

static void
double_nat_changed_cb (PlSession *session,
                       gboolean   double_nat,
                       gpointer   user_data)
{
  Fixture *f = user_data;

  g_array_append_val (f->double_nat, double_nat);
}

static void
mapping_changed_cb (PlSession *session,
                    PlMapping *mapping,
                    gpointer   user_data)
{
  Fixture *f = user_data;

  g_assert_true (PL_IS_MAPPING (mapping));
  f->n_mapping_changes++;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  /* GTest drops the fatal handler before each test. */
  pl_test_tolerate_gupnp_port_clash ();

  f->n = GPOINTER_TO_UINT (data);
  f->address = g_strdup_printf ("127.0.2.%u", f->n);
  f->clock = pl_clock_new_virtual (TRUE);
  f->gateway = pl_fake_gateway_new (f->address, f->clock, &error);
  g_assert_no_error (error);
  f->profiles = g_list_store_new (PL_TYPE_PROFILE);
  f->reset_times = g_array_new (FALSE, FALSE, sizeof (gint64));
  f->addresses = g_ptr_array_new_with_free_func (g_free);
  f->gateways = g_ptr_array_new_with_free_func (g_free);
  f->double_nat = g_array_new (FALSE, FALSE, sizeof (gboolean));
  f->guard_id = g_timeout_add_seconds (30, guard_cb, NULL);
}

/* The session on the fixture's gateway (or on discovery when @fixed is FALSE). */
static void
fixture_make_session (Fixture    *f,
                      gboolean    fixed,
                      guint16     announce_port)
{
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (f->address);

  f->session = g_object_new (PL_TYPE_SESSION,
                             "profiles", f->profiles,
                             "clock", f->clock,
                             "fixed-gateway", fixed ? gateway : NULL,
                             "monitor-network", FALSE,
                             "announce-port", announce_port != 0 ? (guint) announce_port : 5350u,
                             NULL);
  pl_session_set_mapper_factory (f->session, test_factory, f, NULL);
  pl_session_set_discover_func (f->session, test_discover, f, NULL);
  g_signal_connect (f->session, "router-reset", G_CALLBACK (router_reset_cb), f);
  g_signal_connect (f->session, "external-address-changed",
                    G_CALLBACK (external_address_changed_cb), f);
  g_signal_connect (f->session, "gateway-changed", G_CALLBACK (gateway_changed_cb), f);
  g_signal_connect (f->session, "double-nat-changed", G_CALLBACK (double_nat_changed_cb), f);
  g_signal_connect (f->session, "mapping-changed", G_CALLBACK (mapping_changed_cb), f);
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
  g_clear_object (&f->gateway);
  drain ();
  g_clear_object (&f->profiles);
  g_clear_object (&f->clock);
  g_clear_handle_id (&f->guard_id, g_source_remove);
  g_clear_pointer (&f->reset_times, g_array_unref);
  g_clear_pointer (&f->addresses, g_ptr_array_unref);
  g_clear_pointer (&f->gateways, g_ptr_array_unref);
  g_clear_pointer (&f->double_nat, g_array_unref);
  g_clear_error (&f->stop_error);
  g_free (f->discovered);
  g_free (f->address);
}

/* Helpers. */

static PlProfile *
add_profile (Fixture           *f,
             const char        *name,
             PlProfileProtocol  protocol,
             guint              internal_port,
             guint              external_port,
             guint              lifetime,
             gboolean           enabled)
{
  g_autoptr(PlProfile) profile = pl_profile_new (name);

  pl_profile_set_protocol (profile, protocol);
  pl_profile_set_internal_port (profile, internal_port);
  pl_profile_set_external_port (profile, external_port);
  pl_profile_set_lifetime (profile, lifetime);
  pl_profile_set_enabled (profile, enabled);
  g_list_store_append (f->profiles, profile);
  return profile;
}

static gint64
now (Fixture *f)
{
  return pl_clock_get_time (f->clock);
}

typedef gboolean (*Predicate) (Fixture *f, gconstpointer data);

static void
run_until (Fixture       *f,
           Predicate      predicate,
           gconstpointer  data,
           gint64         deadline)
{
  while (!predicate (f, data))
    {
      g_assert_cmpint (now (f), <=, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

static gboolean
marker_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Let the session run until clock time @time. */
static void
run_until_time (Fixture *f,
                gint64   time)
{
  g_autoptr(GSource) source = NULL;
  gboolean reached = FALSE;

  g_assert_cmpint (time, >=, now (f));
  source = pl_clock_timeout_source_new (f->clock, (guint64) (time - now (f)) / 1000);
  g_source_set_callback (source, marker_cb, &reached, NULL);
  g_source_attach (source, NULL);
  while (!reached)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (now (f), ==, time);
}

static PlMapping *
mapping (Fixture    *f,
         const char *name,
         PlProtocol  protocol)
{
  PlMapping *m = pl_session_find_mapping (f->session, name, protocol);

  g_assert_nonnull (m);
  return m;
}

static gboolean
all_enabled_active (Fixture       *f,
                    gconstpointer  data)
{
  GListModel *mappings = pl_session_get_mappings (f->session);
  guint n_active = 0;

  for (guint i = 0; i < g_list_model_get_n_items (mappings); i++)
    {
      g_autoptr(PlMapping) m = g_list_model_get_item (mappings, i);

      if (pl_mapping_get_state (m) == PL_MAPPING_STATE_ACTIVE)
        n_active++;
      else if (pl_mapping_get_state (m) != PL_MAPPING_STATE_DISABLED)
        return FALSE;
    }
  return n_active > 0;
}

static gboolean
state_is (Fixture       *f,
          gconstpointer  data)
{
  const struct { const char *name; PlProtocol protocol; PlMappingState state; } *want = data;

  return pl_mapping_get_state (mapping (f, want->name, want->protocol)) == want->state;
}

static gboolean
resets_at_least (Fixture       *f,
                 gconstpointer  data)
{
  return f->n_resets >= GPOINTER_TO_UINT (data);
}

static gboolean
addresses_at_least (Fixture       *f,
                    gconstpointer  data)
{
  return f->addresses->len >= GPOINTER_TO_UINT (data);
}

static gboolean
stopped (Fixture       *f,
         gconstpointer  data)
{
  return f->stopped;
}

/* Requests the fake gateway got: maps (lifetime > 0) or deletes (lifetime 0) of one
 * internal port, within [from, to] clock time. */
typedef enum
{
  KIND_MAP,
  KIND_DELETE,
  KIND_ADDRESS,
} Kind;

static GPtrArray *
requests (PlFakeGateway *gateway,
          Kind           kind,
          PlProtocol     protocol,
          guint16        internal_port,
          gint64         from,
          gint64         to)
{
  GPtrArray *all = pl_fake_gateway_get_requests (gateway);
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; i < all->len; i++)
    {
      PlFakeRequest *r = g_ptr_array_index (all, i);

      if (r->time < from || r->time > to)
        continue;
      if (kind == KIND_ADDRESS)
        {
          if (r->request.opcode == PL_NATPMP_OP_EXTERNAL_ADDRESS)
            g_ptr_array_add (out, r);
          continue;
        }
      if (r->request.opcode != (guint8) protocol || r->request.internal_port != internal_port)
        continue;
      if ((kind == KIND_MAP) != (r->request.lifetime != 0))
        continue;
      g_ptr_array_add (out, r);
    }
  return out;
}

static guint
count (PlFakeGateway *gateway,
       Kind           kind,
       PlProtocol     protocol,
       guint16        internal_port,
       gint64         from,
       gint64         to)
{
  g_autoptr(GPtrArray) found = requests (gateway, kind, protocol, internal_port, from, to);

  return found->len;
}

static void
stop_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Fixture *f = user_data;

  f->stop_ok = pl_session_stop_finish (PL_SESSION (source), result, &f->stop_error);
  f->stop_time = now (f);
  f->stopped = TRUE;
}

static void
announce_new_address (Fixture       *f,
                      PlFakeGateway *gateway,
                      const char    *address)
{
  pl_fake_gateway_set_external_address (gateway, address);
  pl_fake_gateway_announce (gateway);
}

/* Tests. */

static void
test_map_basic (Fixture       *f,
                gconstpointer  data)
{
  GListModel *mappings;
  PlMapping *m;

  g_test_summary ("Every enabled profile is mapped, one mapping per protocol, disabled ones "
                  "are listed but not mapped, and the public address is reported");

  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  add_profile (f, "Game", PL_PROFILE_PROTOCOL_BOTH, 5000, 6000, 3600, TRUE);
  add_profile (f, "Off", PL_PROFILE_PROTOCOL_UDP, 7000, 0, 7200, FALSE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);

  run_until (f, all_enabled_active, NULL, SECONDS (1));
  run_until (f, addresses_at_least, GUINT_TO_POINTER (1), SECONDS (1));

  mappings = pl_session_get_mappings (f->session);
  g_assert_cmpuint (g_list_model_get_n_items (mappings), ==, 4);

  m = mapping (f, "Web", PL_PROTOCOL_TCP);
  g_assert_cmpint (pl_mapping_get_state (m), ==, PL_MAPPING_STATE_ACTIVE);
  g_assert_cmpuint (pl_mapping_get_internal_port (m), ==, 40000);
  g_assert_cmpuint (pl_mapping_get_external_port (m), ==, 40000);
  g_assert_cmpuint (pl_mapping_get_lifetime (m), ==, 7200);
  g_assert_cmpint (pl_mapping_get_expires (m), ==, now (f) + SECONDS (7200));
  g_assert_cmpint (pl_mapping_get_renew_at (m), ==, now (f) + SECONDS (3600));
  g_assert_null (pl_mapping_get_error (m));

  m = mapping (f, "Game", PL_PROTOCOL_UDP);
  g_assert_cmpint (pl_mapping_get_state (m), ==, PL_MAPPING_STATE_ACTIVE);
  g_assert_cmpuint (pl_mapping_get_requested_external_port (m), ==, 6000);
  g_assert_cmpuint (pl_mapping_get_external_port (m), ==, 6000);
  g_assert_cmpint (pl_mapping_get_state (mapping (f, "Game", PL_PROTOCOL_TCP)), ==,
                   PL_MAPPING_STATE_ACTIVE);
  g_assert_cmpint (pl_mapping_get_state (mapping (f, "Off", PL_PROTOCOL_UDP)), ==,
                   PL_MAPPING_STATE_DISABLED);
  g_assert_null (pl_session_find_mapping (f->session, "Off", PL_PROTOCOL_TCP));

  /* The wire: the wanted ports are suggested, never 0; nothing for the disabled profile. */
  {
    g_autoptr(GPtrArray) web = requests (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                                         0, G_MAXINT64);
    g_autoptr(GPtrArray) game = requests (f->gateway, KIND_MAP, PL_PROTOCOL_UDP, 5000,
                                          0, G_MAXINT64);

    g_assert_cmpuint (web->len, ==, 1);
    g_assert_cmpuint (((PlFakeRequest *) web->pdata[0])->request.external_port, ==, 40000);
    g_assert_cmpuint (((PlFakeRequest *) web->pdata[0])->request.lifetime, ==, 7200);
    g_assert_cmpuint (game->len, ==, 1);
    g_assert_cmpuint (((PlFakeRequest *) game->pdata[0])->request.external_port, ==, 6000);
    g_assert_cmpuint (((PlFakeRequest *) game->pdata[0])->request.lifetime, ==, 3600);
    g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_UDP, 7000, 0, G_MAXINT64), ==, 0);
  }

  g_assert_cmpuint (f->addresses->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->addresses, 0), ==, "203.0.113.7");
  g_assert_cmpstr (pl_session_get_external_address (f->session), ==, "203.0.113.7");
  g_assert_false (pl_session_get_double_nat (f->session));
  g_assert_cmpuint (f->double_nat->len, ==, 0);
  g_assert_cmpuint (f->gateways->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->gateways, 0), ==, f->address);
  g_assert_true (pl_session_get_listening (f->session));
  g_assert_cmpuint (f->n_resets, ==, 0);
  g_assert_cmpuint (f->n_mappers, ==, 1);
  g_assert_cmpuint (f->n_mapping_changes, >, 0);
}

static void
test_renew_half_granted (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GPtrArray) maps = NULL;
  PlMapping *m;

  g_test_summary ("F-11: granted 60 s of 7200 asked: renewed at 30 s, suggesting the port "
                  "the gateway assigned (PMP-20, PMP-21)");

  pl_fake_gateway_set_granted_lifetime (f->gateway, 60);
  pl_fake_gateway_set_assigned_port (f->gateway, 40001);
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);

  run_until (f, all_enabled_active, NULL, SECONDS (1));
  m = mapping (f, "Web", PL_PROTOCOL_TCP);
  g_assert_cmpuint (pl_mapping_get_external_port (m), ==, 40001);
  g_assert_cmpuint (pl_mapping_get_lifetime (m), ==, 60);
  g_assert_cmpint (pl_mapping_get_renew_at (m), ==, SECONDS (30));

  run_until_time (f, SECONDS (100));

  maps = requests (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000, 0, G_MAXINT64);
  /* 0 s, 30 s, 60 s, 90 s. */
  g_assert_cmpuint (maps->len, ==, 4);
  g_assert_cmpuint (((PlFakeRequest *) maps->pdata[0])->request.external_port, ==, 40000);
  for (guint i = 1; i < maps->len; i++)
    {
      PlFakeRequest *r = maps->pdata[i];

      g_assert_cmpint (r->time, >=, SECONDS (30 * i - 1));
      g_assert_cmpint (r->time, <=, SECONDS (30 * i + 1));
      g_assert_cmpuint (r->request.opcode, ==, PL_NATPMP_OP_MAP_TCP);
      g_assert_cmpuint (r->request.internal_port, ==, 40000);
      g_assert_cmpuint (r->request.external_port, ==, 40001);
      g_assert_cmpuint (r->request.lifetime, ==, 7200);
    }
  g_assert_cmpint (pl_mapping_get_state (m), ==, PL_MAPPING_STATE_ACTIVE);
}

static void
test_renew_unanswered (Fixture       *f,
                       gconstpointer  data)
{
  static const struct { const char *name; PlProtocol protocol; PlMappingState state; }
    failed = { "Web", PL_PROTOCOL_TCP, PL_MAPPING_STATE_FAILED };
  g_autoptr(GPtrArray) renewals = NULL;
  g_autoptr(GPtrArray) recreate = NULL;
  PlMapping *m;

  g_test_summary ("F-12: unanswered renewals go on until the granted expiry; then the "
                  "mapping is lost and created again with the full schedule, for ever");

  pl_fake_gateway_set_granted_lifetime (f->gateway, 60);
  pl_fake_gateway_set_assigned_port (f->gateway, 40001);
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));
  run_until (f, addresses_at_least, GUINT_TO_POINTER (1), SECONDS (1));
  m = mapping (f, "Web", PL_PROTOCOL_TCP);

  pl_fake_gateway_set_silent (f->gateway, TRUE);
  run_until_time (f, SECONDS (59));

  /* Renewals from 30 s on the RFC schedule, still ACTIVE until the expiry. */
  renewals = requests (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000, SECONDS (1), SECONDS (59));
  g_assert_cmpuint (renewals->len, ==, 7);   /* 30, 30.25, 30.75, 31.75, 33.75, 37.75, 45.75 */
  g_assert_cmpint (((PlFakeRequest *) renewals->pdata[0])->time, ==, SECONDS (30));
  g_assert_cmpint (((PlFakeRequest *) renewals->pdata[6])->time, ==, SECONDS (45.75));
  for (guint i = 0; i < renewals->len; i++)
    g_assert_cmpuint (((PlFakeRequest *) renewals->pdata[i])->request.external_port, ==, 40001);
  g_assert_cmpint (pl_mapping_get_state (m), ==, PL_MAPPING_STATE_ACTIVE);

  /* At the expiry: lost, and a fresh request at once, still suggesting the last port. */
  run_until_time (f, SECONDS (61));
  g_assert_cmpint (pl_mapping_get_state (m), ==, PL_MAPPING_STATE_MAPPING);
  g_assert_cmpuint (pl_mapping_get_external_port (m), ==, 0);
  recreate = requests (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000, SECONDS (59), SECONDS (61));
  g_assert_cmpuint (recreate->len, ==, 3);   /* 60, 60.25, 60.75 */
  g_assert_cmpint (((PlFakeRequest *) recreate->pdata[0])->time, ==, SECONDS (60));
  g_assert_cmpint (((PlFakeRequest *) recreate->pdata[1])->time, ==, SECONDS (60.25));
  g_assert_cmpuint (((PlFakeRequest *) recreate->pdata[0])->request.external_port, ==, 40001);

  /* The full schedule runs out at 60 + 127.75 s: FAILED, timed out, retried 30 s later. */
  run_until (f, state_is, &failed, SECONDS (188));
  g_assert_cmpint (now (f), ==, SECONDS (187.75));
  g_assert_error (pl_mapping_get_error (m), PL_ERROR, PL_ERROR_TIMED_OUT);
  g_assert_cmpint (pl_mapping_get_retry_at (m), ==, SECONDS (217.75));
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (188), SECONDS (217.7)), ==, 0);

  /* The gateway comes back: so does the mapping, on its old port. */
  pl_fake_gateway_set_silent (f->gateway, FALSE);
  run_until (f, all_enabled_active, NULL, SECONDS (218));
  g_assert_cmpint (now (f), ==, SECONDS (217.75));
  g_assert_cmpuint (pl_mapping_get_external_port (m), ==, 40001);
  g_assert_null (pl_mapping_get_error (m));
}

static void
test_reset_epoch_backwards (Fixture       *f,
                            gconstpointer  data)
{
  g_test_summary ("F-13: the epoch goes back from 1000 to 3 in a renewal reply: every "
                  "mapping is created again at once, suggesting its port; router-reset once");

  /* A is renewed at 1000 s; B and C would only be renewed at 3600 s. */
  add_profile (f, "A", PL_PROFILE_PROTOCOL_UDP, 41000, 0, 2000, TRUE);
  add_profile (f, "B", PL_PROFILE_PROTOCOL_TCP, 42000, 0, 7200, TRUE);
  add_profile (f, "C", PL_PROFILE_PROTOCOL_UDP, 43000, 43500, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));

  run_until_time (f, SECONDS (999));
  pl_fake_gateway_set_epoch (f->gateway, 2);
  run_until (f, resets_at_least, GUINT_TO_POINTER (1), SECONDS (1000));
  run_until (f, all_enabled_active, NULL, SECONDS (1001));
  run_until_time (f, SECONDS (1500));

  g_assert_cmpuint (f->n_resets, ==, 1);
  g_assert_cmpuint (f->last_reset_count, ==, 3);
  g_assert_cmpint (g_array_index (f->reset_times, gint64, 0), ==, SECONDS (1000));

  /* Created again at once, not at 3600 s, each suggesting its last port. */
  {
    g_autoptr(GPtrArray) a = requests (f->gateway, KIND_MAP, PL_PROTOCOL_UDP, 41000,
                                       SECONDS (1), SECONDS (1500));
    g_autoptr(GPtrArray) b = requests (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 42000,
                                       SECONDS (1), SECONDS (1500));
    g_autoptr(GPtrArray) c = requests (f->gateway, KIND_MAP, PL_PROTOCOL_UDP, 43000,
                                       SECONDS (1), SECONDS (1500));

    g_assert_cmpuint (a->len, ==, 1);     /* the renewal that saw the reset */
    g_assert_cmpuint (b->len, ==, 1);
    g_assert_cmpuint (c->len, ==, 1);
    g_assert_cmpint (((PlFakeRequest *) b->pdata[0])->time, ==, SECONDS (1000));
    g_assert_cmpint (((PlFakeRequest *) c->pdata[0])->time, ==, SECONDS (1000));
    g_assert_cmpuint (((PlFakeRequest *) b->pdata[0])->request.external_port, ==, 42000);
    g_assert_cmpuint (((PlFakeRequest *) c->pdata[0])->request.external_port, ==, 43500);
  }

  /* The public address is asked again after the reset. */
  g_assert_cmpuint (count (f->gateway, KIND_ADDRESS, 0, 0, SECONDS (1000), SECONDS (1001)),
                    ==, 1);
  g_assert_cmpint (pl_mapping_get_renew_at (mapping (f, "B", PL_PROTOCOL_TCP)), ==,
                   SECONDS (1000 + 3600));
}

static void
test_reset_epoch_slow (Fixture       *f,
                       gconstpointer  data)
{
  g_test_summary ("F-14: the epoch moving 95 s in 100 s is fine; 50 s in 100 s is a reset");

  pl_fake_gateway_set_epoch_rate (f->gateway, 95, 100);
  pl_fake_gateway_set_granted_lifetime (f->gateway, 200);
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));

  /* The renewal at 100 s sees epoch 95. */
  run_until_time (f, SECONDS (100.5));
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (100), SECONDS (100)), ==, 1);
  g_assert_cmpuint (f->n_resets, ==, 0);

  /* From 95 at 100.5 s, half speed: the renewal at 200 s sees 144. */
  pl_fake_gateway_set_epoch (f->gateway, 95);
  pl_fake_gateway_set_epoch_rate (f->gateway, 1, 2);
  run_until_time (f, SECONDS (199));
  g_assert_cmpuint (f->n_resets, ==, 0);
  run_until_time (f, SECONDS (201));
  g_assert_cmpuint (f->n_resets, ==, 1);
  g_assert_cmpint (g_array_index (f->reset_times, gint64, 0), ==, SECONDS (200));
}

static void
test_reset_epoch_wrap (Fixture       *f,
                       gconstpointer  data)
{
  g_test_summary ("F-26: epochs near 2^32 need unsigned maths; a small one after them is a "
                  "reset");

  pl_fake_gateway_set_epoch (f->gateway, 0xFFFFFFF0u);
  pl_fake_gateway_set_granted_lifetime (f->gateway, 20);
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));

  /* 0xFFFFFFF0 + 10 at the renewal at 10 s: fine. */
  run_until_time (f, SECONDS (11));
  g_assert_cmpuint (f->n_resets, ==, 0);

  pl_fake_gateway_set_epoch (f->gateway, 5);
  run_until_time (f, SECONDS (21));
  g_assert_cmpuint (f->n_resets, ==, 1);
}

static void
test_announce_reset (Fixture       *f,
                     gconstpointer  data)
{
  g_test_summary ("F-15a: an announcement from the gateway with a new address and a reset "
                  "epoch changes the public address and re-creates the mappings at once");

  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  add_profile (f, "Voice", PL_PROFILE_PROTOCOL_UDP, 5060, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));
  run_until (f, addresses_at_least, GUINT_TO_POINTER (1), SECONDS (1));

  run_until_time (f, SECONDS (100));
  pl_fake_gateway_set_epoch (f->gateway, 0);
  announce_new_address (f, f->gateway, "198.51.100.9");

  run_until (f, resets_at_least, GUINT_TO_POINTER (1), SECONDS (100));
  run_until (f, all_enabled_active, NULL, SECONDS (100));
  run_until_time (f, SECONDS (200));

  g_assert_cmpuint (f->n_resets, ==, 1);
  g_assert_cmpuint (f->last_reset_count, ==, 2);
  g_assert_cmpuint (f->addresses->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (f->addresses, 1), ==, "198.51.100.9");
  g_assert_cmpstr (pl_session_get_external_address (f->session), ==, "198.51.100.9");
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (100), SECONDS (100)), ==, 1);
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_UDP, 5060,
                           SECONDS (100), SECONDS (100)), ==, 1);
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_UDP, 5060,
                           SECONDS (100.001), SECONDS (200)), ==, 0);
}

static void
test_announce_foreign (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(PlFakeGateway) other = NULL;
  g_autofree char *other_address = g_strdup_printf ("127.0.2.%u", f->n + 1);
  g_autoptr(GError) error = NULL;

  g_test_summary ("F-15b: the same announcement from another address is ignored: no state "
                  "change, no traffic; the gateway's own one renews its mappings");

  other = pl_fake_gateway_new (other_address, f->clock, &error);
  g_assert_no_error (error);

  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));
  run_until (f, addresses_at_least, GUINT_TO_POINTER (1), SECONDS (1));
  run_until_time (f, SECONDS (100));
  pl_fake_gateway_clear_requests (f->gateway);

  pl_fake_gateway_set_epoch (other, 0);
  announce_new_address (f, other, "192.0.2.66");
  pl_fake_gateway_announce_pcp (other);
  /* Then one from the gateway itself (same epoch count, new address): once the session has
   * seen it, it has seen the others. */
  announce_new_address (f, f->gateway, "198.51.100.10");
  run_until (f, addresses_at_least, GUINT_TO_POINTER (2), SECONDS (100));
  run_until_time (f, SECONDS (200));

  g_assert_cmpuint (f->addresses->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (f->addresses, 1), ==, "198.51.100.10");
  g_assert_cmpuint (f->n_resets, ==, 0);
  /* Only the gateway's own announcement caused traffic: one renewal and one address query,
   * at once. */
  g_assert_cmpuint (pl_fake_gateway_get_requests (f->gateway)->len, ==, 2);
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (100), SECONDS (100)), ==, 1);
  g_assert_cmpuint (count (f->gateway, KIND_ADDRESS, 0, 0, SECONDS (100), SECONDS (100)), ==, 1);
  g_assert_cmpuint (pl_fake_gateway_get_requests (other)->len, ==, 0);
}

static void
test_announce_pcp (Fixture       *f,
                   gconstpointer  data)
{
  g_test_summary ("F-16: a PCP ANNOUNCE is not read as a NAT-PMP announcement (the public "
                  "address stays); in step, it renews the mappings quietly; with a fresh epoch "
                  "it is a reset");

  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));
  run_until (f, addresses_at_least, GUINT_TO_POINTER (1), SECONDS (1));
  run_until_time (f, SECONDS (100));

  /* Epoch in step with the session's view: no reset, but the mappings are renewed at once
   * and stay active meanwhile (a service restarted with its epoch kept lost them). */
  f->n_mapping_changes = 0;
  pl_fake_gateway_announce_pcp (f->gateway);
  announce_new_address (f, f->gateway, "198.51.100.11");
  run_until (f, addresses_at_least, GUINT_TO_POINTER (2), SECONDS (100));
  g_assert_cmpuint (f->addresses->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (f->addresses, 1), ==, "198.51.100.11");
  g_assert_cmpuint (f->n_resets, ==, 0);
  g_assert_cmpint (pl_mapping_get_state (mapping (f, "Web", PL_PROTOCOL_TCP)), ==,
                   PL_MAPPING_STATE_ACTIVE);
  /* The second announcement came within the 10 s of the first round: its round waits. */
  run_until_time (f, SECONDS (150));
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (100), SECONDS (100)), ==, 1);
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (100.001), SECONDS (150)), ==, 1);
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (110), SECONDS (110)), ==, 1);
  g_assert_cmpint (pl_mapping_get_state (mapping (f, "Web", PL_PROTOCOL_TCP)), ==,
                   PL_MAPPING_STATE_ACTIVE);
  g_assert_cmpint (pl_mapping_get_expires (mapping (f, "Web", PL_PROTOCOL_TCP)), ==,
                   SECONDS (110) + SECONDS (7200));

  /* miniupnpd starting again: PCP ANNOUNCE with epoch 0. */
  run_until_time (f, SECONDS (200));
  pl_fake_gateway_set_epoch (f->gateway, 0);
  pl_fake_gateway_announce_pcp (f->gateway);
  run_until (f, resets_at_least, GUINT_TO_POINTER (1), SECONDS (200));
  run_until (f, all_enabled_active, NULL, SECONDS (200));
  run_until_time (f, SECONDS (300));

  g_assert_cmpuint (f->n_resets, ==, 1);
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (200), SECONDS (200)), ==, 1);
  g_assert_cmpstr (pl_session_get_external_address (f->session), ==, "198.51.100.11");
  g_assert_cmpuint (f->addresses->len, ==, 2);
}

static void
test_announce_epoch_kept (Fixture       *f,
                          gconstpointer  data)
{
  g_test_summary ("A router whose mapping service restarted with its epoch kept (miniupnpd "
                  "system_uptime=yes, rules flushed) announces itself: every mapping is back "
                  "at once, without a reset; another announcement within 10 s waits its turn");

  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  add_profile (f, "Game", PL_PROFILE_PROTOCOL_BOTH, 5000, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));
  run_until_time (f, SECONDS (1000));

  /* The service restarts: its table is empty, its epoch ran on with the clock. */
  pl_fake_gateway_clear_mappings (f->gateway);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 0);
  pl_fake_gateway_announce_pcp (f->gateway);
  run_until_time (f, SECONDS (1001));

  g_assert_cmpuint (f->n_resets, ==, 0);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 3);
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (1000), SECONDS (1000)), ==, 1);
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_UDP, 5000,
                           SECONDS (1000), SECONDS (1000)), ==, 1);
  g_assert_true (all_enabled_active (f, NULL));
  g_assert_cmpint (pl_mapping_get_renew_at (mapping (f, "Web", PL_PROTOCOL_TCP)), ==,
                   SECONDS (1000) + SECONDS (3600));

  /* Its NAT-PMP twin 4 s later: one more round, at 1010 s. */
  run_until_time (f, SECONDS (1004));
  pl_fake_gateway_announce (f->gateway);
  run_until_time (f, SECONDS (1009));
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (1001), SECONDS (1009)), ==, 0);
  run_until_time (f, SECONDS (1011));
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (1010), SECONDS (1010)), ==, 1);
  g_assert_cmpuint (f->n_resets, ==, 0);
}

static void
test_announce_unspecified (Fixture       *f,
                           gconstpointer  data)
{
  g_test_summary ("An announcement of 0.0.0.0 (no public address yet, RFC 6886 section 3.2) "
                  "does not become the public address, nor double NAT");

  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));
  run_until (f, addresses_at_least, GUINT_TO_POINTER (1), SECONDS (1));
  run_until_time (f, SECONDS (100));

  pl_fake_gateway_set_external_address (f->gateway, "0.0.0.0");
  pl_fake_gateway_announce (f->gateway);
  pl_fake_gateway_set_external_address (f->gateway, "203.0.113.7");
  run_until_time (f, SECONDS (101));

  g_assert_cmpuint (f->addresses->len, ==, 1);
  g_assert_cmpstr (pl_session_get_external_address (f->session), ==, "203.0.113.7");
  g_assert_false (pl_session_get_double_nat (f->session));
  g_assert_cmpuint (f->double_nat->len, ==, 0);
}

static PlGateway *
discover_bad_interface (gpointer   user_data,
                        GError   **error)
{
  Fixture *f = user_data;
  PlGateway *gateway = g_new0 (PlGateway, 1);

  gateway->address = g_inet_address_new_from_string (f->address);
  gateway->interface = g_strdup ("pl-none0");
  return gateway;
}

static void
test_announce_join_failure (Fixture       *f,
                            gconstpointer  data)
{
  g_test_summary ("When joining 224.0.0.1 fails (the gateway's interface is gone), the "
                  "session does not claim to listen, and still maps");

  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  fixture_make_session (f, FALSE, 0);
  pl_session_set_discover_func (f->session, discover_bad_interface, f, NULL);
  g_test_expect_message ("pl-core", G_LOG_LEVEL_MESSAGE, "Not listening for router*");
  pl_session_start (f->session);
  g_test_assert_expected_messages ();
  g_assert_false (pl_session_get_listening (f->session));
  run_until (f, all_enabled_active, NULL, SECONDS (1));
  g_assert_false (pl_session_get_listening (f->session));
}

static GSocket *
shared_listener (guint16    port,
                 gboolean   reuse,
                 GError   **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) group = g_inet_address_new_from_string ("224.0.0.1");
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (group, port);

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return NULL;
  g_socket_set_blocking (socket, FALSE);
  if (!g_socket_bind (socket, address, reuse, error))
    return NULL;
  return g_steal_pointer (&socket);
}

static void
test_announce_shared_port (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GSocket) other = NULL;
  g_autoptr(GInetAddress) group = g_inet_address_new_from_string ("224.0.0.1");
  g_autoptr(GError) error = NULL;
  gboolean got_it = FALSE;

  g_test_summary ("F-17a: another program already on 224.0.0.1:5350: both receive the "
                  "announcements");

  other = shared_listener (5350, TRUE, &error);
  g_assert_no_error (error);
  g_socket_join_multicast_group (other, group, FALSE, "lo", &error);
  g_assert_no_error (error);

  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);
  g_assert_true (pl_session_get_listening (f->session));
  run_until (f, all_enabled_active, NULL, SECONDS (1));
  run_until (f, addresses_at_least, GUINT_TO_POINTER (1), SECONDS (1));

  announce_new_address (f, f->gateway, "198.51.100.12");
  run_until (f, addresses_at_least, GUINT_TO_POINTER (2), SECONDS (1));
  g_assert_cmpstr (g_ptr_array_index (f->addresses, 1), ==, "198.51.100.12");

  /* The other socket got it too (among whatever other tests announce). */
  for (guint i = 0; i < 1000 && !got_it; i++)
    {
      g_autoptr(GSocketAddress) from = NULL;
      g_autoptr(GError) receive_error = NULL;
      guint8 buf[64];
      gssize n = g_socket_receive_from (other, &from, (char *) buf, sizeof buf, NULL,
                                        &receive_error);

      if (n < 0)
        {
          g_assert_error (receive_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
          break;
        }
      if (n == 12)
        {
          g_autofree char *source = g_inet_address_to_string (
            g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (from)));

          got_it = g_str_equal (source, f->address) &&
                   buf[8] == 198 && buf[9] == 51 && buf[10] == 100 && buf[11] == 12;
        }
    }
  g_assert_true (got_it);
}

static void
test_announce_bind_failure (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GSocket) squatter = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GError) error = NULL;
  guint16 port;

  g_test_summary ("F-17b: when the announcement port cannot be bound, the session still "
                  "renews on schedule (PMP-33)");

  /* A socket without address reuse holds the port, so the session's bind fails. */
  squatter = shared_listener (0, FALSE, &error);
  g_assert_no_error (error);
  local = g_socket_get_local_address (squatter, &error);
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));

  pl_fake_gateway_set_granted_lifetime (f->gateway, 60);
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, port);
  g_test_expect_message ("pl-core", G_LOG_LEVEL_MESSAGE, "Not listening for router*");
  pl_session_start (f->session);
  g_test_assert_expected_messages ();
  g_assert_false (pl_session_get_listening (f->session));

  run_until (f, all_enabled_active, NULL, SECONDS (1));
  run_until_time (f, SECONDS (95));
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (30), SECONDS (30)), ==, 1);
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (60), SECONDS (60)), ==, 1);
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (90), SECONDS (90)), ==, 1);
  g_assert_true (all_enabled_active (f, NULL));
}

static void
test_gateway_change (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(PlFakeGateway) next = NULL;
  g_autofree char *next_address = g_strdup_printf ("127.0.2.%u", f->n + 2);
  g_autoptr(GError) error = NULL;
  guint old_count;

  g_test_summary ("F-28: a new gateway after a network change: pending work on the old one "
                  "is cancelled, mappings are created on the new one, the old one is ignored");

  next = pl_fake_gateway_new (next_address, f->clock, &error);
  g_assert_no_error (error);
  pl_fake_gateway_set_external_address (next, "198.51.100.77");

  /* The first gateway never answers, so work is pending on it when the network changes. */
  pl_fake_gateway_set_silent (f->gateway, TRUE);
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  add_profile (f, "Voice", PL_PROFILE_PROTOCOL_UDP, 5060, 0, 7200, TRUE);
  f->discovered = g_strdup (f->address);
  fixture_make_session (f, FALSE, 0);
  pl_session_start (f->session);
  g_assert_cmpuint (f->n_discoveries, ==, 1);
  run_until_time (f, SECONDS (10));
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000, 0, SECONDS (10)),
                    >, 1);

  g_free (f->discovered);
  f->discovered = g_strdup (next_address);
  pl_session_network_changed (f->session);
  g_assert_cmpuint (f->n_discoveries, ==, 2);
  old_count = pl_fake_gateway_get_requests (f->gateway)->len;

  run_until (f, all_enabled_active, NULL, SECONDS (11));
  run_until (f, addresses_at_least, GUINT_TO_POINTER (1), SECONDS (11));
  g_assert_cmpuint (f->gateways->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (f->gateways, 1), ==, next_address);
  {
    g_autofree char *gateway = g_inet_address_to_string (pl_session_get_gateway (f->session));

    g_assert_cmpstr (gateway, ==, next_address);
  }
  g_assert_cmpstr (pl_session_get_external_address (f->session), ==, "198.51.100.77");
  g_assert_cmpuint (f->n_mappers, ==, 2);
  g_assert_cmpuint (count (next, KIND_MAP, PL_PROTOCOL_TCP, 40000, 0, G_MAXINT64), ==, 1);
  g_assert_cmpuint (count (next, KIND_MAP, PL_PROTOCOL_UDP, 5060, 0, G_MAXINT64), ==, 1);

  /* The old gateway announces a reset and another address: ignored. */
  pl_fake_gateway_set_epoch (f->gateway, 0);
  announce_new_address (f, f->gateway, "192.0.2.99");
  /* ...then the new one announces (same epoch count): once seen, the old one was too. */
  announce_new_address (f, next, "198.51.100.78");
  run_until (f, addresses_at_least, GUINT_TO_POINTER (2), SECONDS (11));
  run_until_time (f, SECONDS (500));

  g_assert_cmpuint (f->addresses->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (f->addresses, 1), ==, "198.51.100.78");
  g_assert_cmpuint (f->n_resets, ==, 0);
  g_assert_cmpuint (pl_fake_gateway_get_requests (f->gateway)->len, ==, old_count);
  g_assert_true (all_enabled_active (f, NULL));
}

static void
test_no_gateway (Fixture       *f,
                 gconstpointer  data)
{
  PlMapping *m;

  g_test_summary ("Without a default gateway the mappings fail with NO_GATEWAY, discovery is "
                  "retried, and a gateway found later gets the mappings");

  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  fixture_make_session (f, FALSE, 0);
  pl_session_start (f->session);

  m = mapping (f, "Web", PL_PROTOCOL_TCP);
  g_assert_cmpint (pl_mapping_get_state (m), ==, PL_MAPPING_STATE_FAILED);
  g_assert_error (pl_mapping_get_error (m), PL_ERROR, PL_ERROR_NO_GATEWAY);
  g_assert_cmpint (pl_mapping_get_retry_at (m), ==, SECONDS (30));
  g_assert_null (pl_session_get_gateway (f->session));

  /* Looked for again with back-off: 30 s, then 60 s later. */
  run_until_time (f, SECONDS (31));
  g_assert_cmpuint (f->n_discoveries, ==, 2);
  g_assert_cmpint (pl_mapping_get_retry_at (m), ==, SECONDS (90));
  g_assert_cmpuint (f->gateways->len, ==, 0);

  f->discovered = g_strdup (f->address);
  run_until (f, all_enabled_active, NULL, SECONDS (90));
  g_assert_cmpint (now (f), ==, SECONDS (90));
  g_assert_cmpuint (f->gateways->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->gateways, 0), ==, f->address);
}

static void
test_same_gateway_change (Fixture       *f,
                          gconstpointer  data)
{
  static const struct { const char *name; PlProtocol protocol; PlMappingState state; }
    failed = { "Web", PL_PROTOCOL_TCP, PL_MAPPING_STATE_FAILED };
  guint n_before;

  g_test_summary ("A network change that keeps the gateway retries failed mappings at once "
                  "(PMP-08) and asks for the address (its epoch reveals a reboot), without "
                  "starting over");

  pl_fake_gateway_set_result_code (f->gateway, PL_NATPMP_RESULT_NETWORK_FAILURE);
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  add_profile (f, "Voice", PL_PROFILE_PROTOCOL_UDP, 5060, 0, 7200, TRUE);
  f->discovered = g_strdup (f->address);
  fixture_make_session (f, FALSE, 0);
  pl_session_start (f->session);
  run_until (f, state_is, &failed, SECONDS (1));
  run_until_time (f, SECONDS (5));
  n_before = count (f->gateway, KIND_ADDRESS, 0, 0, 0, G_MAXINT64);

  pl_fake_gateway_set_result_code (f->gateway, 0);
  pl_session_network_changed (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (5));

  g_assert_cmpuint (f->n_discoveries, ==, 2);
  g_assert_cmpuint (f->n_mappers, ==, 1);
  g_assert_cmpuint (f->gateways->len, ==, 1);
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (5), SECONDS (5)), ==, 1);
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_UDP, 5060,
                           SECONDS (5), SECONDS (5)), ==, 1);
  run_until (f, addresses_at_least, GUINT_TO_POINTER (1), SECONDS (5));
  g_assert_cmpuint (count (f->gateway, KIND_ADDRESS, 0, 0, 0, G_MAXINT64), >, n_before);
}

static void
test_map_one_at_a_time (Fixture       *f,
                        gconstpointer  data)
{
  GPtrArray *all;

  g_test_summary ("PMP-05: requests go out one at a time, each after the previous reply");

  pl_fake_gateway_set_reply_delay (f->gateway, 200);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *name = g_strdup_printf ("P%u", i);

      add_profile (f, name, PL_PROFILE_PROTOCOL_UDP, 41000 + i, 0, 7200, TRUE);
    }
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (2));
  run_until (f, addresses_at_least, GUINT_TO_POINTER (1), SECONDS (2));

  /* Five maps then the address query, in profile order, 200 ms apart. */
  all = pl_fake_gateway_get_requests (f->gateway);
  g_assert_cmpuint (all->len, ==, 6);
  for (guint i = 0; i < all->len; i++)
    {
      PlFakeRequest *r = g_ptr_array_index (all, i);

      g_assert_cmpint (r->time, ==, SECONDS (0.2 * i));
      if (i < 5)
        g_assert_cmpuint (r->request.internal_port, ==, 41000 + i);
      else
        g_assert_cmpuint (r->request.opcode, ==, PL_NATPMP_OP_EXTERNAL_ADDRESS);
    }
}

static void
test_stop_silent (Fixture       *f,
                  gconstpointer  data)
{
  g_test_summary ("F-29: stopping with three mappings and a silent gateway sends at least one "
                  "delete per mapping and finishes within 2 s");

  add_profile (f, "A", PL_PROFILE_PROTOCOL_TCP, 41000, 0, 7200, TRUE);
  add_profile (f, "B", PL_PROFILE_PROTOCOL_UDP, 42000, 0, 7200, TRUE);
  add_profile (f, "C", PL_PROFILE_PROTOCOL_TCP, 43000, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));
  run_until_time (f, SECONDS (100));

  pl_fake_gateway_set_silent (f->gateway, TRUE);
  pl_session_stop_async (f->session, NULL, stop_cb, f);
  run_until (f, stopped, NULL, SECONDS (102));

  g_assert_cmpint (f->stop_time, <=, SECONDS (102));
  g_assert_false (f->stop_ok);
  g_assert_error (f->stop_error, PL_ERROR, PL_ERROR_TIMED_OUT);
  g_assert_cmpuint (count (f->gateway, KIND_DELETE, PL_PROTOCOL_TCP, 41000,
                           SECONDS (100), SECONDS (102)), >=, 1);
  g_assert_cmpuint (count (f->gateway, KIND_DELETE, PL_PROTOCOL_UDP, 42000,
                           SECONDS (100), SECONDS (102)), >=, 1);
  g_assert_cmpuint (count (f->gateway, KIND_DELETE, PL_PROTOCOL_TCP, 43000,
                           SECONDS (100), SECONDS (102)), >=, 1);
  g_assert_false (pl_session_is_running (f->session));

  /* And nothing more goes out afterwards. */
  {
    guint n = pl_fake_gateway_get_requests (f->gateway)->len;

    run_until_time (f, SECONDS (10000));
    g_assert_cmpuint (pl_fake_gateway_get_requests (f->gateway)->len, ==, n);
  }
}

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_stop_cancelled (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GSource) source = NULL;

  g_test_summary ("Cancelling a stop that waits on a silent gateway ends it at once with "
                  "G_IO_ERROR_CANCELLED; the session is stopped and sends nothing more");

  add_profile (f, "A", PL_PROFILE_PROTOCOL_TCP, 41000, 0, 7200, TRUE);
  add_profile (f, "B", PL_PROFILE_PROTOCOL_UDP, 42000, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_set_stop_timeout (f->session, 60000);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));
  run_until_time (f, SECONDS (100));

  pl_fake_gateway_set_silent (f->gateway, TRUE);
  pl_session_stop_async (f->session, cancellable, stop_cb, f);
  source = pl_clock_timeout_source_new (f->clock, 500);
  g_source_set_callback (source, cancel_cb, cancellable, NULL);
  g_source_attach (source, NULL);
  run_until (f, stopped, NULL, SECONDS (101));

  g_assert_cmpint (f->stop_time, ==, SECONDS (100.5));
  g_assert_false (f->stop_ok);
  g_assert_error (f->stop_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (pl_session_is_running (f->session));
  g_assert_cmpuint (count (f->gateway, KIND_DELETE, PL_PROTOCOL_TCP, 41000,
                           SECONDS (100), SECONDS (100.5)), >=, 1);
  {
    guint n = pl_fake_gateway_get_requests (f->gateway)->len;

    run_until_time (f, SECONDS (1000));
    g_assert_cmpuint (pl_fake_gateway_get_requests (f->gateway)->len, ==, n);
  }
}

static void
test_stop_answered (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GPtrArray) deletes = NULL;

  g_test_summary ("Stopping deletes every mapping (lifetime 0, suggested port 0) and "
                  "succeeds once the gateway confirmed them");

  add_profile (f, "A", PL_PROFILE_PROTOCOL_BOTH, 41000, 45000, 7200, TRUE);
  add_profile (f, "Off", PL_PROFILE_PROTOCOL_TCP, 42000, 0, 7200, FALSE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));

  pl_session_stop_async (f->session, NULL, stop_cb, f);
  run_until (f, stopped, NULL, SECONDS (2));
  g_assert_no_error (f->stop_error);
  g_assert_true (f->stop_ok);

  deletes = requests (f->gateway, KIND_DELETE, PL_PROTOCOL_TCP, 41000, 0, G_MAXINT64);
  g_assert_cmpuint (deletes->len, ==, 1);
  g_assert_cmpuint (((PlFakeRequest *) deletes->pdata[0])->request.external_port, ==, 0);
  g_assert_cmpuint (count (f->gateway, KIND_DELETE, PL_PROTOCOL_UDP, 41000, 0, G_MAXINT64),
                    ==, 1);
  g_assert_cmpuint (count (f->gateway, KIND_DELETE, PL_PROTOCOL_TCP, 42000, 0, G_MAXINT64),
                    ==, 0);
  g_assert_cmpint (pl_mapping_get_state (mapping (f, "A", PL_PROTOCOL_TCP)), ==,
                   PL_MAPPING_STATE_DISABLED);
}

static void
test_stop_keep (Fixture       *f,
                gconstpointer  data)
{
  g_test_summary ("With keep-mappings-on-exit, stopping sends nothing");

  add_profile (f, "A", PL_PROFILE_PROTOCOL_TCP, 41000, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_set_keep_mappings_on_exit (f->session, TRUE);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));
  run_until (f, addresses_at_least, GUINT_TO_POINTER (1), SECONDS (1));
  pl_fake_gateway_clear_requests (f->gateway);

  pl_session_stop_async (f->session, NULL, stop_cb, f);
  run_until (f, stopped, NULL, SECONDS (1));
  g_assert_no_error (f->stop_error);
  g_assert_true (f->stop_ok);
  run_until_time (f, SECONDS (10000));
  g_assert_cmpuint (pl_fake_gateway_get_requests (f->gateway)->len, ==, 0);
}

static void
test_profile_disable (Fixture       *f,
                      gconstpointer  data)
{
  static const struct { const char *name; PlProtocol protocol; PlMappingState state; }
    disabled = { "Web", PL_PROTOCOL_TCP, PL_MAPPING_STATE_DISABLED };
  PlProfile *profile;
  PlMapping *m;

  g_test_summary ("Disabling a profile deletes its mapping on the gateway; enabling it maps "
                  "it again");

  profile = add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));
  m = mapping (f, "Web", PL_PROTOCOL_TCP);

  run_until_time (f, SECONDS (100));
  pl_profile_set_enabled (profile, FALSE);
  run_until (f, state_is, &disabled, SECONDS (100));
  run_until_time (f, SECONDS (5000));
  g_assert_cmpuint (count (f->gateway, KIND_DELETE, PL_PROTOCOL_TCP, 40000,
                           SECONDS (100), SECONDS (100)), ==, 1);
  /* No renewal of a disabled mapping. */
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (100), SECONDS (5000)), ==, 0);
  g_assert_cmpuint (pl_mapping_get_external_port (m), ==, 0);

  pl_profile_set_enabled (profile, TRUE);
  run_until (f, all_enabled_active, NULL, SECONDS (5000));
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (5000), SECONDS (5000)), ==, 1);
}

static void
test_profile_remove (Fixture       *f,
                     gconstpointer  data)
{
  g_test_summary ("Removing a profile deletes its mappings and drops them from the list");

  add_profile (f, "Web", PL_PROFILE_PROTOCOL_BOTH, 40000, 0, 7200, TRUE);
  add_profile (f, "Other", PL_PROFILE_PROTOCOL_UDP, 5060, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));
  g_assert_cmpuint (g_list_model_get_n_items (pl_session_get_mappings (f->session)), ==, 3);

  run_until_time (f, SECONDS (100));
  g_list_store_remove (f->profiles, 0);
  run_until_time (f, SECONDS (101));

  g_assert_cmpuint (g_list_model_get_n_items (pl_session_get_mappings (f->session)), ==, 1);
  g_assert_null (pl_session_find_mapping (f->session, "Web", PL_PROTOCOL_TCP));
  g_assert_cmpuint (count (f->gateway, KIND_DELETE, PL_PROTOCOL_TCP, 40000,
                           SECONDS (100), SECONDS (100)), ==, 1);
  g_assert_cmpuint (count (f->gateway, KIND_DELETE, PL_PROTOCOL_UDP, 40000,
                           SECONDS (100), SECONDS (100)), ==, 1);
  g_assert_cmpuint (count (f->gateway, KIND_DELETE, PL_PROTOCOL_UDP, 5060, 0, G_MAXINT64),
                    ==, 0);
}

static void
test_profile_edit (Fixture       *f,
                   gconstpointer  data)
{
  PlProfile *profile;
  PlMapping *m;

  g_test_summary ("Changing a profile's internal port deletes the old mapping and creates "
                  "the new one; the mapping object stays");

  profile = add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));
  m = mapping (f, "Web", PL_PROTOCOL_TCP);

  run_until_time (f, SECONDS (100));
  pl_profile_set_internal_port (profile, 40080);
  pl_profile_set_lifetime (profile, 600);
  run_until_time (f, SECONDS (101));

  g_assert_true (mapping (f, "Web", PL_PROTOCOL_TCP) == m);
  g_assert_cmpuint (pl_mapping_get_internal_port (m), ==, 40080);
  g_assert_cmpint (pl_mapping_get_state (m), ==, PL_MAPPING_STATE_ACTIVE);
  g_assert_cmpuint (pl_mapping_get_external_port (m), ==, 40080);
  g_assert_cmpuint (count (f->gateway, KIND_DELETE, PL_PROTOCOL_TCP, 40000,
                           SECONDS (100), SECONDS (100)), ==, 1);
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40080,
                           SECONDS (100), SECONDS (100)), ==, 1);
  g_assert_cmpuint (pl_mapping_get_lifetime (m), ==, 600);
}

typedef struct
{
  guint16  result;
  gint     code;
  gint64   first_retry;    /* seconds after the first failure */
  gint64   second_retry;   /* seconds after the second */
} BackoffCase;

static void
test_backoff (Fixture       *f,
              gconstpointer  data)
{
  static const BackoffCase cases[] = {
    { PL_NATPMP_RESULT_NETWORK_FAILURE, PL_ERROR_NETWORK_FAILURE, 30, 60 },
    { PL_NATPMP_RESULT_OUT_OF_RESOURCES, PL_ERROR_OUT_OF_RESOURCES, 30, 60 },
    { PL_NATPMP_RESULT_NOT_AUTHORIZED, PL_ERROR_NOT_AUTHORIZED, 30 * 60, 60 * 60 },
    { PL_NATPMP_RESULT_UNSUPPORTED_OPCODE, PL_ERROR_UNSUPPORTED_OPCODE, 30 * 60, 60 * 60 },
    { 77, PL_ERROR_UNKNOWN_RESULT, 30 * 60, 60 * 60 },
  };

  g_test_summary ("F-09: results 3 and 4 are retried 30 s later, doubling; refusals (2, 5, "
                  "unknown) only after 30 min; none floods the gateway");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      static const struct { const char *name; PlProtocol protocol; PlMappingState state; }
        failed = { "Web", PL_PROTOCOL_TCP, PL_MAPPING_STATE_FAILED };
      const BackoffCase *c = &cases[i];
      g_autoptr(GPtrArray) maps = NULL;
      gint64 start;
      PlMapping *m;

      g_test_message ("result %u", c->result);
      if (i > 0)
        {
          g_clear_object (&f->session);
          g_list_store_remove_all (f->profiles);
          pl_fake_gateway_clear_requests (f->gateway);
        }
      start = now (f);

      pl_fake_gateway_set_result_code (f->gateway, c->result);
      add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
      fixture_make_session (f, TRUE, 0);
      pl_session_start (f->session);
      run_until (f, state_is, &failed, start + SECONDS (1));
      m = mapping (f, "Web", PL_PROTOCOL_TCP);
      g_assert_error (pl_mapping_get_error (m), PL_ERROR, c->code);
      g_assert_cmpint (pl_mapping_get_retry_at (m), ==, start + SECONDS (c->first_retry));

      run_until_time (f, start + SECONDS (c->first_retry + c->second_retry) + 1000);
      maps = requests (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000, start, G_MAXINT64);
      g_assert_cmpuint (maps->len, ==, 3);
      g_assert_cmpint (((PlFakeRequest *) maps->pdata[0])->time, ==, start);
      g_assert_cmpint (((PlFakeRequest *) maps->pdata[1])->time, ==,
                       start + SECONDS (c->first_retry));
      g_assert_cmpint (((PlFakeRequest *) maps->pdata[2])->time, ==,
                       start + SECONDS (c->first_retry + c->second_retry));

      /* The gateway fixes itself: the next retry succeeds. */
      pl_fake_gateway_set_result_code (f->gateway, 0);
      run_until (f, all_enabled_active, NULL, G_MAXINT64);
      g_assert_null (pl_mapping_get_error (m));
    }
}

static void
test_backoff_cap (Fixture       *f,
                  gconstpointer  data)
{
  g_test_summary ("Transient failures back off to at most 15 min and keep going for ever");

  pl_fake_gateway_set_result_code (f->gateway, PL_NATPMP_RESULT_NETWORK_FAILURE);
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);
  run_until_time (f, SECONDS (24 * 3600));

  {
    g_autoptr(GPtrArray) maps = requests (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                                          0, G_MAXINT64);
    gint64 last_gap = 0;

    /* 0, 30, 90, 210, 450, 930 (+480 s)... then every 900 s. */
    g_assert_cmpuint (maps->len, >, 90);
    for (guint i = 1; i < maps->len; i++)
      {
        gint64 gap = ((PlFakeRequest *) maps->pdata[i])->time -
                     ((PlFakeRequest *) maps->pdata[i - 1])->time;

        g_assert_cmpint (gap, >=, SECONDS (30));
        g_assert_cmpint (gap, <=, SECONDS (900));
        g_assert_cmpint (gap, >=, last_gap);
        last_gap = gap;
      }
    g_assert_cmpint (last_gap, ==, SECONDS (900));
  }
}

static void
test_reset_rate_limit (Fixture       *f,
                       gconstpointer  data)
{
  g_test_summary ("PMP-38: spoofed or repeated reset announcements cause at most one "
                  "re-creation round per 10 s");

  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));
  run_until_time (f, SECONDS (100));

  /* A reset every 3 s for 30 s. */
  for (guint i = 0; i <= 10; i++)
    {
      run_until_time (f, SECONDS (100 + 3 * i));
      pl_fake_gateway_set_epoch (f->gateway, 0);
      pl_fake_gateway_announce (f->gateway);
      run_until (f, resets_at_least, GUINT_TO_POINTER (1), SECONDS (100 + 3 * i));
    }
  run_until_time (f, SECONDS (200));

  /* Eleven resets seen from 100 to 130 s; rounds at 100, 110, 120, 130 and (for the one
   * seen at 130 s) 140 s, never closer than 10 s. */
  g_assert_cmpuint (f->n_resets, ==, 5);
  for (guint i = 0; i < f->reset_times->len; i++)
    g_assert_cmpint (g_array_index (f->reset_times, gint64, i), ==, SECONDS (100 + 10 * i));
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (100), SECONDS (200)), ==, 5);
}

static void
test_double_nat (Fixture       *f,
                 gconstpointer  data)
{
  g_test_summary ("PMP-37: a private public address is reported as double NAT, not as an "
                  "error");

  pl_fake_gateway_set_external_address (f->gateway, "10.20.30.40");
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));
  run_until (f, addresses_at_least, GUINT_TO_POINTER (1), SECONDS (1));

  g_assert_cmpstr (pl_session_get_external_address (f->session), ==, "10.20.30.40");
  g_assert_true (pl_session_get_double_nat (f->session));
  g_assert_cmpuint (f->double_nat->len, ==, 1);
  g_assert_true (g_array_index (f->double_nat, gboolean, 0));

  announce_new_address (f, f->gateway, "198.51.100.5");
  run_until (f, addresses_at_least, GUINT_TO_POINTER (2), SECONDS (1));
  g_assert_false (pl_session_get_double_nat (f->session));
  g_assert_cmpuint (f->double_nat->len, ==, 2);
  g_assert_false (g_array_index (f->double_nat, gboolean, 1));
}

static void
test_profile_store (Fixture       *f,
                    gconstpointer  data)
{
  static const struct { const char *name; PlProtocol protocol; PlMappingState state; }
    disabled = { "SSH", PL_PROTOCOL_TCP, PL_MAPPING_STATE_DISABLED };
  g_autoptr(PlProfileStore) store = pl_profile_store_new (NULL);
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (f->address);
  g_autoptr(GError) error = NULL;

  g_test_summary ("A PlProfileStore drives the session: set_enabled (FALSE) deletes");

  pl_profile_store_load_from_data (store,
                                   "[SSH]\nProtocol=tcp\nInternalPort=22022\n"
                                   "ExternalPort=2222\n\n"
                                   "[DNS]\nProtocol=udp\nInternalPort=5353\nEnabled=false\n",
                                   -1, &error);
  g_assert_no_error (error);

  f->session = pl_session_new (G_LIST_MODEL (store), f->clock, gateway, FALSE);
  pl_session_set_mapper_factory (f->session, test_factory, f, NULL);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));
  g_assert_cmpuint (pl_mapping_get_external_port (mapping (f, "SSH", PL_PROTOCOL_TCP)), ==,
                    2222);
  g_assert_cmpint (pl_mapping_get_state (mapping (f, "DNS", PL_PROTOCOL_UDP)), ==,
                   PL_MAPPING_STATE_DISABLED);

  pl_profile_store_set_enabled (store, "SSH", FALSE, &error);
  g_assert_no_error (error);
  run_until (f, state_is, &disabled, SECONDS (1));
  run_until_time (f, SECONDS (2));
  g_assert_cmpuint (count (f->gateway, KIND_DELETE, PL_PROTOCOL_TCP, 22022, 0, G_MAXINT64),
                    ==, 1);
}

static void
test_default_factory (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (f->address);

  g_test_summary ("Without a factory the session talks NAT-PMP through PlClient");

  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  f->session = g_object_new (PL_TYPE_SESSION,
                             "profiles", f->profiles,
                             "clock", f->clock,
                             "fixed-gateway", gateway,
                             "monitor-network", FALSE,
                             "announce-port", 0u,
                             NULL);
  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000, 0, G_MAXINT64), ==, 1);

  {
    g_autoptr(PlClient) client = pl_client_new (gateway, f->clock);

    g_assert_cmpstr (pl_port_mapper_get_protocol_name (PL_PORT_MAPPER (client)), ==, "NAT-PMP");
    g_assert_true (pl_port_mapper_get_gateway (PL_PORT_MAPPER (client)) == gateway);
    g_assert_cmpuint (g_signal_lookup ("state-lost", PL_TYPE_CLIENT), !=, 0);
    g_assert_false (pl_port_mapper_get_listening (PL_PORT_MAPPER (client)));
  }
}

static void
test_address_query_bounded (Fixture       *f,
                            gconstpointer  data)
{
  PlMapping *m;

  g_test_summary ("A public-address query that goes unanswered is given up after a few "
                  "seconds, so that the renewal queued behind it still goes out before the "
                  "mapping expires (one request at a time must not mean 127.75 s of waiting)");

  pl_fake_gateway_set_granted_lifetime (f->gateway, 16);
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 16, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);

  /* The map is answered; the address query that follows it meets a silent gateway. */
  run_until (f, all_enabled_active, NULL, SECONDS (1));
  pl_fake_gateway_set_silent (f->gateway, TRUE);
  m = mapping (f, "Web", PL_PROTOCOL_TCP);
  g_assert_cmpint (pl_mapping_get_renew_at (m), ==, SECONDS (8));

  /* The gateway answers again at 10 s: the renewal, due at 8 s, is already being sent. */
  run_until_time (f, SECONDS (10));
  g_assert_cmpuint (count (f->gateway, KIND_ADDRESS, 0, 0, 0, SECONDS (10)), >=, 1);
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000, SECONDS (1),
                           SECONDS (10)), >=, 1);
  pl_fake_gateway_set_silent (f->gateway, FALSE);

  run_until_time (f, SECONDS (14));
  g_assert_cmpint (pl_mapping_get_state (m), ==, PL_MAPPING_STATE_ACTIVE);
  g_assert_cmpint (pl_mapping_get_expires (m), >, SECONDS (16));
}

static void
test_same_gateway_refused (Fixture       *f,
                           gconstpointer  data)
{
  static const struct { const char *name; PlProtocol protocol; PlMappingState state; }
    failed = { "Web", PL_PROTOCOL_TCP, PL_MAPPING_STATE_FAILED };

  g_test_summary ("A network change that keeps the gateway does not retry a mapping the "
                  "gateway refused (result 2): its long back-off stands, no storm on flapping "
                  "routes");

  pl_fake_gateway_set_result_code (f->gateway, PL_NATPMP_RESULT_NOT_AUTHORIZED);
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  f->discovered = g_strdup (f->address);
  fixture_make_session (f, FALSE, 0);
  pl_session_start (f->session);
  run_until (f, state_is, &failed, SECONDS (1));
  run_until_time (f, SECONDS (5));
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000, 0, SECONDS (5)), ==, 1);

  for (guint i = 1; i <= 3; i++)
    {
      pl_session_network_changed (f->session);
      run_until_time (f, SECONDS (5 + 15 * i));
    }

  g_assert_cmpuint (f->n_discoveries, ==, 4);
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000, 0, SECONDS (50)), ==, 1);
  g_assert_cmpint (pl_mapping_get_state (mapping (f, "Web", PL_PROTOCOL_TCP)), ==,
                   PL_MAPPING_STATE_FAILED);
}

static void
test_republish (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GPtrArray) tcp = NULL;
  g_autoptr(GPtrArray) udp = NULL;
  gint64 renew_before;

  g_test_summary ("pl_session_republish() asks for every enabled mapping again at once, "
                  "suggesting the port it holds, TCP before UDP, and starts the renewal "
                  "timers over; disabled profiles stay unmapped");

  pl_fake_gateway_set_assigned_port (f->gateway, 41000);
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  add_profile (f, "Game", PL_PROFILE_PROTOCOL_BOTH, 5000, 6000, 3600, TRUE);
  add_profile (f, "Off", PL_PROFILE_PROTOCOL_UDP, 7000, 0, 7200, FALSE);
  fixture_make_session (f, TRUE, 0);

  /* Not running: nothing to do, and nothing breaks. */
  pl_session_republish (f->session);

  pl_session_start (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (1));
  g_assert_cmpuint (pl_mapping_get_external_port (mapping (f, "Web", PL_PROTOCOL_TCP)), ==,
                    41000);
  pl_fake_gateway_set_assigned_port (f->gateway, 0);
  run_until_time (f, SECONDS (100));
  renew_before = pl_mapping_get_renew_at (mapping (f, "Web", PL_PROTOCOL_TCP));
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (2), SECONDS (100)), ==, 0);

  pl_session_republish (f->session);
  run_until_time (f, SECONDS (101));

  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (100), SECONDS (101)), ==, 1);
  tcp = requests (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 5000, SECONDS (100), SECONDS (101));
  udp = requests (f->gateway, KIND_MAP, PL_PROTOCOL_UDP, 5000, SECONDS (100), SECONDS (101));
  g_assert_cmpuint (tcp->len, ==, 1);
  g_assert_cmpuint (udp->len, ==, 1);
  g_assert_cmpint (((PlFakeRequest *) tcp->pdata[0])->time, <=,
                   ((PlFakeRequest *) udp->pdata[0])->time);
  g_assert_cmpuint (((PlFakeRequest *) udp->pdata[0])->request.external_port, ==, 41000);
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_UDP, 7000, 0, G_MAXINT64), ==, 0);

  /* The port it held is the one suggested again, and the mapping stays active with a new
   * renewal time. */
  {
    g_autoptr(GPtrArray) web = requests (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                                         SECONDS (100), SECONDS (101));
    PlMapping *m = mapping (f, "Web", PL_PROTOCOL_TCP);

    g_assert_cmpuint (((PlFakeRequest *) web->pdata[0])->request.external_port, ==, 41000);
    g_assert_cmpint (pl_mapping_get_state (m), ==, PL_MAPPING_STATE_ACTIVE);
    g_assert_cmpuint (pl_mapping_get_external_port (m), ==, 41000);
    g_assert_cmpint (pl_mapping_get_renew_at (m), >, renew_before);
  }
}

static void
test_republish_refused (Fixture       *f,
                        gconstpointer  data)
{
  static const struct { const char *name; PlProtocol protocol; PlMappingState state; }
    failed = { "Web", PL_PROTOCOL_TCP, PL_MAPPING_STATE_FAILED };

  g_test_summary ("pl_session_republish() retries a mapping the router refused at once, "
                  "where its long back-off would wait: the user may have changed the router's "
                  "rules");

  pl_fake_gateway_set_result_code (f->gateway, PL_NATPMP_RESULT_NOT_AUTHORIZED);
  add_profile (f, "Web", PL_PROFILE_PROTOCOL_TCP, 40000, 0, 7200, TRUE);
  fixture_make_session (f, TRUE, 0);
  pl_session_start (f->session);
  run_until (f, state_is, &failed, SECONDS (1));
  run_until_time (f, SECONDS (20));
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000, 0, SECONDS (20)), ==, 1);

  pl_fake_gateway_set_result_code (f->gateway, 0);
  pl_session_republish (f->session);
  run_until (f, all_enabled_active, NULL, SECONDS (21));
  g_assert_cmpuint (count (f->gateway, KIND_MAP, PL_PROTOCOL_TCP, 40000,
                           SECONDS (20), SECONDS (21)), ==, 1);
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
    { "/session/map/basic", test_map_basic },
    { "/session/map/one-at-a-time", test_map_one_at_a_time },
    { "/session/renew/half-granted", test_renew_half_granted },
    { "/session/renew/unanswered", test_renew_unanswered },
    { "/session/reset/epoch-backwards", test_reset_epoch_backwards },
    { "/session/reset/epoch-slow", test_reset_epoch_slow },
    { "/session/reset/epoch-wrap", test_reset_epoch_wrap },
    { "/session/reset/rate-limit", test_reset_rate_limit },
    { "/session/announce/reset", test_announce_reset },
    { "/session/announce/foreign", test_announce_foreign },
    { "/session/announce/pcp", test_announce_pcp },
    { "/session/announce/epoch-kept", test_announce_epoch_kept },
    { "/session/announce/unspecified", test_announce_unspecified },
    { "/session/announce/join-failure", test_announce_join_failure },
    { "/session/announce/shared-port", test_announce_shared_port },
    { "/session/announce/bind-failure", test_announce_bind_failure },
    { "/session/gateway/change", test_gateway_change },
    { "/session/gateway/none", test_no_gateway },
    { "/session/gateway/same", test_same_gateway_change },
    { "/session/gateway/same-refused", test_same_gateway_refused },
    { "/session/stop/silent", test_stop_silent },
    { "/session/stop/cancelled", test_stop_cancelled },
    { "/session/stop/answered", test_stop_answered },
    { "/session/stop/keep", test_stop_keep },
    { "/session/profile/disable", test_profile_disable },
    { "/session/profile/remove", test_profile_remove },
    { "/session/profile/edit", test_profile_edit },
    { "/session/profile/store", test_profile_store },
    { "/session/backoff/results", test_backoff },
    { "/session/backoff/cap", test_backoff_cap },
    { "/session/double-nat", test_double_nat },
    { "/session/default-factory", test_default_factory },
    { "/session/address/bounded", test_address_query_bounded },
    { "/session/republish/all", test_republish },
    { "/session/republish/refused", test_republish_refused },
  };

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  /* Gateways 127.0.2.N with N = 3 i + 10: room for N + 1 and N + 2 in every test. */
  for (guint i = 0; i < G_N_ELEMENTS (tests); i++)
    g_test_add (tests[i].path, Fixture, GUINT_TO_POINTER (3 * i + 10),
                fixture_set_up, tests[i].func, fixture_tear_down);

  return g_test_run ();
}
