/* test-upnp-pinhole.c: PlUpnpPinholeClient (WANIPv6FirewallControl:1) against the scripted IGD
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "pl-core.h"
#include "pl-fake-igd.h"
#include "pl-test-gupnp.h"
#include "pl-test-journal.h"

/* Each test has its own fake IGD at 127.0.63.N and a pinhole client whose "router" is that
 * address, searching on lo. The SOAP requests go over IPv4 loopback (a context of the
 * router's family), while the pinholes are for an IPv6 address of this computer, LOCAL6: the
 * fake checks InternalClient against the address set with pl_fake_igd_set_pinhole_caller(),
 * as miniupnpd checks it against the caller. The client's clock is virtual (the discovery
 * verdict); every wait is for an event, bounded by a guard against hangs. */

#define LOCAL6 "fd00:63::2"
#define OTHER6 "fd00:63::99"

typedef struct
{
  char                *address;
  PlClock             *clock;
  PlClock             *igd_clock;
  PlFakeIgd           *igd;
  PlUpnpPinholeClient *client;
  GAsyncResult        *result;
  guint                n_lost_epoch;
  gboolean             guard_fired;
} Fixture;

static gboolean
guard_cb (gpointer user_data)
{
  Fixture *f = user_data;

  f->guard_fired = TRUE;
  return G_SOURCE_REMOVE;
}

static void
iterate_until (Fixture       *f,
               gconstpointer  flag,
               gsize          size)
{
  guint guard = g_timeout_add_seconds (30, guard_cb, f);

  f->guard_fired = FALSE;
  while (!f->guard_fired)
    {
      if (size == sizeof (gpointer) ? *(gpointer const *) flag != NULL
                                    : *(const guint *) flag != 0)
        break;
      g_main_context_iteration (NULL, TRUE);
    }
  if (f->guard_fired)
    g_error ("test hung: gave up after 30 s");
  g_source_remove (guard);
}

static void
result_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Fixture *f = user_data;

  g_assert_null (f->result);
  f->result = g_object_ref (result);
}

static GAsyncResult *
take_result (Fixture *f)
{
  iterate_until (f, &f->result, sizeof (gpointer));
  return g_steal_pointer (&f->result);
}

static void
state_lost_cb (PlPortMapper *mapper,
               PlStateLoss   reason,
               gpointer      user_data)
{
  Fixture *f = user_data;

  if (reason == PL_STATE_LOSS_EPOCH)
    f->n_lost_epoch++;
}

static PlUpnpPinholeClient *
client_new (Fixture *f)
{
  g_autoptr(GInetAddress) router = g_inet_address_new_from_string (f->address);
  g_autoptr(GInetAddress) local = g_inet_address_new_from_string (LOCAL6);
  PlUpnpPinholeClient *client = pl_upnp_pinhole_client_new (router, "lo", local, NULL,
                                                            f->clock);

  g_signal_connect (client, "state-lost", G_CALLBACK (state_lost_cb), f);
  return client;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  guint n = GPOINTER_TO_UINT (data);
  g_autoptr(GError) error = NULL;

  pl_test_tolerate_gupnp_port_clash ();

  f->address = g_strdup_printf ("127.0.63.%u", n);
  f->clock = pl_clock_new_virtual (FALSE);
  f->igd_clock = pl_clock_new_virtual (FALSE);
  f->igd = pl_fake_igd_new (f->address, f->igd_clock, PL_FAKE_IGD_FLAGS_NONE, &error);
  g_assert_no_error (error);
  pl_fake_igd_set_pinhole_caller (f->igd, LOCAL6);
  f->client = client_new (f);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  if (f->client != NULL)
    g_assert_finalize_object (g_steal_pointer (&f->client));
  g_clear_object (&f->igd);
  g_clear_object (&f->result);
  g_clear_object (&f->clock);
  g_clear_object (&f->igd_clock);
  g_free (f->address);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static gboolean
probe (Fixture  *f,
       GError  **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  pl_port_mapper_probe_async (PL_PORT_MAPPER (f->client), NULL, result_cb, f);
  result = take_result (f);
  return pl_port_mapper_probe_finish (PL_PORT_MAPPER (f->client), result, error);
}

static gboolean
map (Fixture     *f,
     PlProtocol   protocol,
     guint16      port,
     guint32      lifetime,
     guint16     *granted_port,
     guint32     *granted,
     GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  pl_port_mapper_map_async (PL_PORT_MAPPER (f->client), protocol, port, port, lifetime, NULL,
                            result_cb, f);
  result = take_result (f);
  return pl_port_mapper_map_finish (PL_PORT_MAPPER (f->client), result, granted_port, granted,
                                    NULL, error);
}

static gboolean
unmap (Fixture    *f,
       PlProtocol  protocol,
       guint16     port,
       GError    **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  pl_port_mapper_unmap_async (PL_PORT_MAPPER (f->client), protocol, port, NULL, result_cb, f);
  result = take_result (f);
  return pl_port_mapper_unmap_finish (PL_PORT_MAPPER (f->client), result, NULL, error);
}

static const char *
request_arg (Fixture    *f,
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
  return NULL;
}

/* Tests */

static void
test_probe (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint32 lo = 0, hi = 0;

  g_test_summary ("The probe finds the firewall service and asks GetFirewallStatus");
  g_assert_true (probe (f, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "GetFirewallStatus"), ==, 1);
  g_assert_cmpstr (pl_port_mapper_get_protocol_name (PL_PORT_MAPPER (f->client)), ==,
                   "UPnP-IGD");
  g_assert_cmpint (pl_mapper_get_method (PL_PORT_MAPPER (f->client)), ==, PL_METHOD_UPNP);
  g_assert_true (pl_port_mapper_get_capabilities (PL_PORT_MAPPER (f->client)) &
                 PL_MAPPER_CAPABILITY_IPV6);
  pl_port_mapper_get_lifetime_range (PL_PORT_MAPPER (f->client), &lo, &hi);
  g_assert_cmpuint (lo, ==, 1);
  g_assert_cmpuint (hi, <=, PL_UPNP_PINHOLE_LEASE_MAX_S);
}

static void
test_firewall_off (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_test_summary ("A router whose IPv6 firewall is off, or that allows no inbound pinholes, "
                  "is refused by the probe in plain words; AddPinhole there fails too");
  pl_fake_igd_set_firewall (f->igd, FALSE, TRUE);
  g_assert_false (probe (f, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED_OPCODE);
  g_assert_nonnull (strstr (error->message, "IPv6 firewall switched off"));
  g_clear_error (&error);

  g_assert_false (map (f, PL_PROTOCOL_TCP, 44000, 3600, NULL, NULL, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED_OPCODE);
  g_clear_error (&error);

  pl_fake_igd_set_firewall (f->igd, TRUE, FALSE);
  g_assert_false (probe (f, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_NOT_AUTHORIZED);
  g_assert_nonnull (strstr (error->message, "does not allow IPv6 pinholes"));
  g_clear_error (&error);
  g_assert_false (map (f, PL_PROTOCOL_TCP, 44000, 3600, NULL, NULL, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_NOT_AUTHORIZED);
  g_assert_nonnull (strstr (error->message, "does not allow IPv6 pinholes"));
  g_assert_cmpuint (pl_fake_igd_get_n_pinholes (f->igd), ==, 0);
}

static void
test_add (Fixture       *f,
          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const PlFakeIgdPinhole *pinhole;
  guint16 port = 0;
  guint32 lifetime = 0;

  g_test_summary ("AddPinhole carries every argument: no remote host, remote port 0, the "
                  "stable address, the port, 6/17, the lease; the UniqueID is kept");
  g_assert_true (map (f, PL_PROTOCOL_TCP, 44000, 7200, &port, &lifetime, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (port, ==, 44000);
  g_assert_cmpuint (lifetime, ==, PL_UPNP_LEASE_S);
  g_assert_cmpstr (request_arg (f, "AddPinhole", "RemoteHost"), ==, "");
  g_assert_cmpstr (request_arg (f, "AddPinhole", "RemotePort"), ==, "0");
  g_assert_cmpstr (request_arg (f, "AddPinhole", "InternalClient"), ==, LOCAL6);
  g_assert_cmpstr (request_arg (f, "AddPinhole", "InternalPort"), ==, "44000");
  g_assert_cmpstr (request_arg (f, "AddPinhole", "Protocol"), ==, "6");
  g_assert_cmpstr (request_arg (f, "AddPinhole", "LeaseTime"), ==, "3600");
  pinhole = pl_fake_igd_lookup_pinhole (f->igd, 6, 44000);
  g_assert_nonnull (pinhole);
  g_assert_cmpstr (pinhole->internal_client, ==, LOCAL6);
  g_assert_cmpint (pl_upnp_pinhole_client_get_unique_id (f->client, PL_PROTOCOL_TCP, 44000),
                   ==, (gint) pinhole->unique_id);

  g_assert_true (map (f, PL_PROTOCOL_UDP, 44000, 60, NULL, &lifetime, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (lifetime, ==, 60);
  g_assert_cmpstr (request_arg (f, "AddPinhole", "Protocol"), ==, "17");
  pinhole = pl_fake_igd_lookup_pinhole (f->igd, 17, 44000);
  g_assert_nonnull (pinhole);
  g_assert_cmpuint (pinhole->lease, ==, 60);
  g_assert_cmpint (pl_upnp_pinhole_client_get_unique_id (f->client, PL_PROTOCOL_UDP, 44000),
                   ==, (gint) pinhole->unique_id);
  g_assert_cmpuint (pl_fake_igd_get_n_pinholes (f->igd), ==, 2);
}

static void
test_update (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const PlFakeIgdPinhole *pinhole;
  gint id;

  g_test_summary ("A renewal is UpdatePinhole of the ID held, not a second AddPinhole");
  g_assert_true (map (f, PL_PROTOCOL_TCP, 44010, 600, NULL, NULL, &error));
  id = pl_upnp_pinhole_client_get_unique_id (f->client, PL_PROTOCOL_TCP, 44010);
  g_assert_cmpint (id, >=, 0);
  g_assert_true (map (f, PL_PROTOCOL_TCP, 44010, 1200, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "AddPinhole"), ==, 1);
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "UpdatePinhole"), ==, 1);
  g_assert_cmpint (g_ascii_strtoll (request_arg (f, "UpdatePinhole", "UniqueID"), NULL, 10),
                   ==, id);
  g_assert_cmpstr (request_arg (f, "UpdatePinhole", "NewLeaseTime"), ==, "1200");
  pinhole = pl_fake_igd_lookup_pinhole (f->igd, 6, 44010);
  g_assert_nonnull (pinhole);
  g_assert_cmpuint (pinhole->lease, ==, 1200);
}

static void
test_update_unknown (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const PlFakeIgdPinhole *pinhole;
  gint old_id;

  g_test_summary ("UpdatePinhole of an ID the router lost (402, or the standard's 704) adds "
                  "the pinhole again, with the new ID kept");
  g_assert_true (map (f, PL_PROTOCOL_TCP, 44020, 600, NULL, NULL, &error));
  old_id = pl_upnp_pinhole_client_get_unique_id (f->client, PL_PROTOCOL_TCP, 44020);
  pl_fake_igd_clear_pinholes (f->igd);
  g_assert_true (map (f, PL_PROTOCOL_TCP, 44020, 600, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "UpdatePinhole"), ==, 1);
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "AddPinhole"), ==, 2);
  pinhole = pl_fake_igd_lookup_pinhole (f->igd, 6, 44020);
  g_assert_nonnull (pinhole);
  g_assert_cmpint ((gint) pinhole->unique_id, !=, old_id);
  g_assert_cmpint (pl_upnp_pinhole_client_get_unique_id (f->client, PL_PROTOCOL_TCP, 44020),
                   ==, (gint) pinhole->unique_id);

  /* 704, as the standard has it for an unknown ID */
  pl_fake_igd_fail_next (f->igd, "UpdatePinhole", 1, 704, "NoSuchEntry");
  pl_fake_igd_clear_pinholes (f->igd);
  g_assert_true (map (f, PL_PROTOCOL_TCP, 44020, 600, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "AddPinhole"), ==, 3);
  g_assert_nonnull (pl_fake_igd_lookup_pinhole (f->igd, 6, 44020));
}

static void
test_id_zero (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_test_summary ("UniqueID 0 is an ID like any other (0–65535): renewed and deleted by it");
  pl_fake_igd_set_next_pinhole_id (f->igd, 0);
  g_assert_true (map (f, PL_PROTOCOL_UDP, 44035, 600, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pl_upnp_pinhole_client_get_unique_id (f->client, PL_PROTOCOL_UDP, 44035),
                   ==, 0);
  g_assert_true (map (f, PL_PROTOCOL_UDP, 44035, 600, NULL, NULL, &error));
  g_assert_cmpstr (request_arg (f, "UpdatePinhole", "UniqueID"), ==, "0");
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "AddPinhole"), ==, 1);
  g_assert_true (unmap (f, PL_PROTOCOL_UDP, 44035, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (request_arg (f, "DeletePinhole", "UniqueID"), ==, "0");
  g_assert_cmpuint (pl_fake_igd_get_n_pinholes (f->igd), ==, 0);
}

static void
test_delete (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  gint id;

  g_test_summary ("unmap is DeletePinhole of the ID held; an ID already gone (402) counts "
                  "as deleted");
  g_assert_true (map (f, PL_PROTOCOL_TCP, 44030, 600, NULL, NULL, &error));
  id = pl_upnp_pinhole_client_get_unique_id (f->client, PL_PROTOCOL_TCP, 44030);
  g_assert_true (unmap (f, PL_PROTOCOL_TCP, 44030, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_ascii_strtoll (request_arg (f, "DeletePinhole", "UniqueID"), NULL, 10),
                   ==, id);
  g_assert_null (pl_fake_igd_lookup_pinhole (f->igd, 6, 44030));
  g_assert_cmpint (pl_upnp_pinhole_client_get_unique_id (f->client, PL_PROTOCOL_TCP, 44030),
                   ==, -1);

  /* Gone behind our back (expired, a router restart): still success. */
  g_assert_true (map (f, PL_PROTOCOL_UDP, 44031, 600, NULL, NULL, &error));
  pl_fake_igd_clear_pinholes (f->igd);
  pl_fake_igd_clear_requests (f->igd);
  g_assert_true (unmap (f, PL_PROTOCOL_UDP, 44031, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "DeletePinhole"), ==, 1);
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "AddPinhole"), ==, 0);
  g_assert_cmpuint (pl_fake_igd_get_n_pinholes (f->igd), ==, 0);
}

static void
test_delete_other_process (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlUpnpPinholeClient) later = NULL;

  g_test_summary ("A pinhole another process opened (no ID held here) is found by adding it "
                  "again for 1 s, which returns its ID, and then deleted");
  g_assert_true (map (f, PL_PROTOCOL_TCP, 44040, 3600, NULL, NULL, &error));
  g_assert_nonnull (pl_fake_igd_lookup_pinhole (f->igd, 6, 44040));
  later = client_new (f);
  g_assert_finalize_object (g_steal_pointer (&f->client));
  f->client = g_steal_pointer (&later);
  pl_fake_igd_clear_requests (f->igd);

  g_assert_true (unmap (f, PL_PROTOCOL_TCP, 44040, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (request_arg (f, "AddPinhole", "LeaseTime"), ==, "1");
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "DeletePinhole"), ==, 1);
  g_assert_null (pl_fake_igd_lookup_pinhole (f->igd, 6, 44040));
  g_assert_cmpuint (pl_fake_igd_get_n_pinholes (f->igd), ==, 0);

  /* None there at all: nothing is left open either. */
  g_assert_true (unmap (f, PL_PROTOCOL_UDP, 44041, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pl_fake_igd_get_n_pinholes (f->igd), ==, 0);
}

static void
test_refused (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_test_summary ("606 for a port below 1024 and for another address, each in plain words; "
                  "nothing is left open");
  g_assert_false (map (f, PL_PROTOCOL_TCP, 80, 600, NULL, NULL, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_NOT_AUTHORIZED);
  g_assert_nonnull (strstr (error->message, "port 80"));
  g_assert_nonnull (strstr (error->message, "below 1024"));
  g_clear_error (&error);

  pl_fake_igd_set_pinhole_caller (f->igd, OTHER6);
  g_assert_false (map (f, PL_PROTOCOL_TCP, 44050, 600, NULL, NULL, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_NOT_AUTHORIZED);
  g_assert_nonnull (strstr (error->message, "[" LOCAL6 "]:44050"));
  g_assert_cmpuint (pl_fake_igd_get_n_pinholes (f->igd), ==, 0);
  g_assert_cmpint (pl_upnp_pinhole_client_get_unique_id (f->client, PL_PROTOCOL_TCP, 44050),
                   ==, -1);
}

static void
test_error_codes (Fixture       *f,
                  gconstpointer  data)
{
  static const struct { guint code; gint expected; const char *words; } cases[] = {
    { 701, PL_ERROR_OUT_OF_RESOURCES, "pinholes is full" },
    { 707, PL_ERROR_MALFORMED_REQUEST, "rejected the IPv6 pinhole request" },
    { 708, PL_ERROR_MALFORMED_REQUEST, "rejected the IPv6 pinhole request" },
    { 402, PL_ERROR_MALFORMED_REQUEST, "rejected the IPv6 pinhole request" },
    { 501, PL_ERROR_NETWORK_FAILURE, "failed" },
  };

  g_test_summary ("UPnP errors of AddPinhole become plain PL_ERRORs, with no pinhole kept");
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;

      pl_fake_igd_fail_next (f->igd, "AddPinhole", 1, cases[i].code, "router text");
      g_assert_false (map (f, PL_PROTOCOL_TCP, 44060, 600, NULL, NULL, &error));
      g_test_message ("%u: %s", cases[i].code, error->message);
      g_assert_error (error, PL_ERROR, cases[i].expected);
      g_assert_nonnull (strstr (error->message, cases[i].words));
      g_assert_cmpint (pl_upnp_pinhole_client_get_unique_id (f->client, PL_PROTOCOL_TCP,
                                                             44060), ==, -1);
    }
  g_assert_cmpuint (pl_fake_igd_get_n_pinholes (f->igd), ==, 0);
}

static void
test_not_soap (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_test_summary ("A fault that is not XML (HTTP 500, text) or garbage: a plain 'invalid "
                  "answer', and the next request works");
  pl_fake_igd_reply_badly (f->igd, "AddPinhole", 1, PL_FAKE_IGD_REPLY_HTTP_500_TEXT);
  g_assert_false (map (f, PL_PROTOCOL_TCP, 44070, 600, NULL, NULL, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_MALFORMED_REPLY);
  g_assert_nonnull (strstr (error->message, "invalid UPnP answer"));
  g_clear_error (&error);

  g_assert_true (map (f, PL_PROTOCOL_TCP, 44070, 600, NULL, NULL, &error));
  g_assert_no_error (error);
  pl_fake_igd_reply_badly (f->igd, "DeletePinhole", 1, PL_FAKE_IGD_REPLY_GARBAGE);
  g_assert_false (unmap (f, PL_PROTOCOL_TCP, 44070, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_MALFORMED_REPLY);
  g_clear_error (&error);
  /* Not taken for gone: still held, and the next unmap closes it. */
  g_assert_nonnull (pl_fake_igd_lookup_pinhole (f->igd, 6, 44070));
  g_assert_true (unmap (f, PL_PROTOCOL_TCP, 44070, &error));
  g_assert_no_error (error);
  g_assert_null (pl_fake_igd_lookup_pinhole (f->igd, 6, 44070));
}

static void
test_no_service (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlFakeIgd) v1 = NULL;
  g_autofree char *address = g_strdup_printf ("%s0", f->address);
  g_autoptr(GInetAddress) router = g_inet_address_new_from_string (address);
  g_autoptr(GInetAddress) local = g_inet_address_new_from_string (LOCAL6);
  g_autoptr(GAsyncResult) result = NULL;

  g_test_summary ("An IGD:1 router has no firewall service: the probe says so after the "
                  "verdict (virtual time)");
  v1 = pl_fake_igd_new (address, f->igd_clock, PL_FAKE_IGD_V1, &error);
  g_assert_no_error (error);
  g_assert_finalize_object (g_steal_pointer (&f->client));
  f->client = pl_upnp_pinhole_client_new (router, "lo", local, NULL, f->clock);
  /* Before the 2 s after which a service elsewhere on lo would do (every test's fake is on
   * 127.0.0.0/8). */
  pl_upnp_pinhole_client_set_timeout (f->client, 1000);
  pl_port_mapper_probe_async (PL_PORT_MAPPER (f->client), NULL, result_cb, f);
  for (guint i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_null (f->result);
  pl_clock_advance (f->clock, 1000 * 1000);
  result = take_result (f);
  g_assert_false (pl_port_mapper_probe_finish (PL_PORT_MAPPER (f->client), result, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "IPv6 pinholes"));
  g_assert_cmpuint (pl_fake_igd_count_requests (v1, NULL), ==, 0);
}

static void
test_restart (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  gint old_id;

  g_test_summary ("A router restart (new HTTP port, pinholes gone): state-lost EPOCH, the "
                  "IDs are forgotten (the router counts from 1 again) and the pinhole is "
                  "added anew");
  g_assert_true (pl_port_mapper_listen (PL_PORT_MAPPER (f->client), 0, "lo", &error));
  g_assert_true (map (f, PL_PROTOCOL_TCP, 44080, 600, NULL, NULL, &error));
  g_assert_true (map (f, PL_PROTOCOL_UDP, 44081, 600, NULL, NULL, &error));
  old_id = pl_upnp_pinhole_client_get_unique_id (f->client, PL_PROTOCOL_UDP, 44081);
  g_assert_cmpint (old_id, ==, 2);
  g_assert_true (pl_fake_igd_restart (f->igd, PL_FAKE_IGD_RESTART_NONE, &error));
  g_assert_no_error (error);
  iterate_until (f, &f->n_lost_epoch, sizeof (guint));
  g_assert_cmpint (pl_upnp_pinhole_client_get_unique_id (f->client, PL_PROTOCOL_UDP, 44081),
                   ==, -1);
  /* The TCP pinhole comes back first and gets ID 1; UDP's old ID 2 would be nobody's. */
  pl_fake_igd_clear_requests (f->igd);
  g_assert_true (map (f, PL_PROTOCOL_TCP, 44080, 600, NULL, NULL, &error));
  g_assert_true (map (f, PL_PROTOCOL_UDP, 44081, 600, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "UpdatePinhole"), ==, 0);
  g_assert_nonnull (pl_fake_igd_lookup_pinhole (f->igd, 6, 44080));
  g_assert_nonnull (pl_fake_igd_lookup_pinhole (f->igd, 17, 44081));
}

static void
test_by_udn (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (f->address);
  g_autofree char *elsewhere = g_strdup_printf ("%s0", f->address);
  g_autoptr(GInetAddress) router = g_inet_address_new_from_string (elsewhere);
  g_autoptr(GInetAddress) local = g_inet_address_new_from_string (LOCAL6);
  g_autoptr(PlUpnpClient) client = pl_upnp_client_new (gateway, "lo", f->clock);
  PlUpnpDiscovery *discovery = pl_upnp_client_get_discovery (client);

  g_test_summary ("Over IPv6 the router is known by its link-local address, and serves from "
                  "another: the firewall service of the device the IPv4 search chose is "
                  "taken, also when that choice comes after the pinhole search began");
  /* Both searches start together: "the router" of the pinhole client is an address nobody
   * serves from, and the virtual clock never lets the fallback to any service on lo happen:
   * only the IPv4 search's choice can make the probe answer. */
  g_assert_null (pl_upnp_discovery_get_udn (discovery));
  g_assert_finalize_object (g_steal_pointer (&f->client));
  f->client = pl_upnp_pinhole_client_new (router, "lo", local, discovery, f->clock);
  g_assert_true (probe (f, &error));
  g_assert_no_error (error);
  g_assert_nonnull (pl_upnp_discovery_get_udn (discovery));
  g_assert_cmpstr (pl_upnp_discovery_get_udn (pl_upnp_pinhole_client_get_discovery (f->client)),
                   ==, pl_upnp_discovery_get_udn (discovery));
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "GetFirewallStatus"), ==, 1);
  g_assert_finalize_object (g_steal_pointer (&f->client));
  g_assert_finalize_object (g_steal_pointer (&client));
}

/* The IPv4 client and pl_mapper_new_ipv6(): pinholes through UPnP-IGD only where the router
 * offers the firewall service. */
static void
test_ipv4_capability (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (f->address);
  g_autoptr(GInetAddress) router6 = g_inet_address_new_from_string ("fe80::1");
  g_autoptr(GInetAddress) local = g_inet_address_new_from_string (LOCAL6);
  g_autoptr(PlUpnpClient) client = pl_upnp_client_new (gateway, "lo", f->clock);
  g_autoptr(PlPortMapper) mapper6 = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GUPnPServiceProxy) proxy = NULL;
  guint guard;

  g_test_summary ("The IPv4 UPnP-IGD client offers IPv6 pinholes when its router is known "
                  "to serve WANIPv6FirewallControl, also after the wait for it; "
                  "pl_mapper_new_ipv6() then builds the pinhole client");
  pl_upnp_discovery_wait_async (pl_upnp_client_get_discovery (client), 30000, NULL, result_cb,
                                f);
  result = take_result (f);
  proxy = pl_upnp_discovery_wait_finish (pl_upnp_client_get_discovery (client), result,
                                         &error);
  g_assert_no_error (error);
  guard = g_timeout_add_seconds (30, guard_cb, f);
  f->guard_fired = FALSE;
  while (!pl_upnp_discovery_get_has_firewall (pl_upnp_client_get_discovery (client)) &&
         !f->guard_fired)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (f->guard_fired);
  g_source_remove (guard);
  g_assert_true (pl_port_mapper_get_capabilities (PL_PORT_MAPPER (client)) &
                 PL_MAPPER_CAPABILITY_LIST);
  /* and it stays so: the router is known to have the service */
  pl_clock_advance (f->clock, PL_UPNP_FIREWALL_WAIT_MS * 1000);
  g_assert_true (pl_port_mapper_get_capabilities (PL_PORT_MAPPER (client)) &
                 PL_MAPPER_CAPABILITY_IPV6);

  mapper6 = pl_mapper_new_ipv6 (PL_PORT_MAPPER (client), router6, 1, local, f->clock);
  g_assert_true (PL_IS_UPNP_PINHOLE_CLIENT (mapper6));
  g_assert_true (g_inet_address_equal (pl_port_mapper_get_gateway (mapper6), router6));
  g_clear_object (&proxy);
  g_assert_finalize_object (g_steal_pointer (&mapper6));
  g_assert_finalize_object (g_steal_pointer (&client));
}

static void
test_ipv4_capability_v1 (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *address = g_strdup_printf ("%s0", f->address);
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (address);
  g_autoptr(GInetAddress) router6 = g_inet_address_new_from_string ("fe80::1");
  g_autoptr(GInetAddress) local = g_inet_address_new_from_string (LOCAL6);
  g_autoptr(PlFakeIgd) v1 = NULL;
  g_autoptr(PlUpnpClient) client = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GUPnPServiceProxy) proxy = NULL;
  g_autoptr(PlPortMapper) mapper6 = NULL;

  g_test_summary ("An IGD:1 router: the IPv4 client offers no IPv6 once the wait for the "
                  "firewall service is over, and pl_mapper_new_ipv6() gives NULL");
  v1 = pl_fake_igd_new (address, f->igd_clock, PL_FAKE_IGD_V1, &error);
  g_assert_no_error (error);
  client = pl_upnp_client_new (gateway, "lo", f->clock);
  pl_upnp_discovery_wait_async (pl_upnp_client_get_discovery (client), 30000, NULL, result_cb,
                                f);
  result = take_result (f);
  proxy = pl_upnp_discovery_wait_finish (pl_upnp_client_get_discovery (client), result,
                                         &error);
  g_assert_no_error (error);
  /* Right after the choice the firewall service may still come (each control point
   * fetches the description itself): not known yet counts as maybe. */
  g_assert_true (pl_port_mapper_get_capabilities (PL_PORT_MAPPER (client)) &
                 PL_MAPPER_CAPABILITY_IPV6);
  pl_clock_advance (f->clock, PL_UPNP_FIREWALL_WAIT_MS * 1000);
  g_assert_false (pl_port_mapper_get_capabilities (PL_PORT_MAPPER (client)) &
                  PL_MAPPER_CAPABILITY_IPV6);
  g_assert_false (pl_upnp_discovery_get_has_firewall (pl_upnp_client_get_discovery (client)));
  mapper6 = pl_mapper_new_ipv6 (PL_PORT_MAPPER (client), router6, 1, local, f->clock);
  g_assert_null (mapper6);
  g_clear_object (&proxy);
  g_assert_finalize_object (g_steal_pointer (&client));
}

static void
test_journal (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *path = g_build_filename (g_get_user_runtime_dir (), "engine-pinholes.ini",
                                            NULL);
  g_autofree char *one_shot_path = g_build_filename (g_get_user_runtime_dir (),
                                                     "one-shot-pinholes.ini", NULL);
  g_autoptr(PlPcpState) journal = pl_test_journal_new (path, PL_PCP_OWNER_ENGINE);
  g_autoptr(PlPcpState) one_shot = pl_test_journal_new (one_shot_path, PL_PCP_OWNER_ONE_SHOT);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *group = NULL;

  g_test_summary ("An engine's journal holds its UPnP-IGD pinholes (the router lists none): "
                  "on disk before the AddPinhole goes out, renewed with the lease, removed once "
                  "the DeletePinhole is answered; a one-shot journal is not written");
  pl_port_mapper_set_journal (PL_PORT_MAPPER (f->client), journal);
  pl_fake_igd_set_reply_delay (f->igd, 1000);
  pl_port_mapper_map_async (PL_PORT_MAPPER (f->client), PL_PROTOCOL_TCP, 44090, 44090, 600,
                            NULL, result_cb, f);
  while (pl_fake_igd_count_requests (f->igd, "AddPinhole") == 0)
    g_main_context_iteration (NULL, TRUE);
  /* The router has the request and has not answered: the record is on disk already. */
  text = pl_test_journal_text (path);
  group = g_strdup_printf ("[mapping tcp 44090 ipv6 %s " LOCAL6 "]\n", f->address);
  g_assert_nonnull (strstr (text, group));
  g_assert_nonnull (strstr (text, "Method=upnp\n"));
  g_assert_nonnull (strstr (text, "Family=ipv6\n"));
  g_assert_nonnull (strstr (text, "ExternalPort=44090\n"));
  g_assert_nonnull (strstr (text, "Interface=lo\n"));
  g_assert_nonnull (strstr (text, "Owner=engine\n"));
  g_clear_pointer (&text, g_free);
  pl_clock_advance (f->igd_clock, 1000 * 1000);
  result = take_result (f);
  g_assert_true (pl_port_mapper_map_finish (PL_PORT_MAPPER (f->client), result, NULL, NULL,
                                            NULL, &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  pl_fake_igd_set_reply_delay (f->igd, 0);

  /* The renewal (UpdatePinhole) keeps the record. */
  g_assert_true (map (f, PL_PROTOCOL_TCP, 44090, 600, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "UpdatePinhole"), ==, 1);
  g_assert_true (pl_pcp_state_flush (journal, &error));
  text = pl_test_journal_text (path);
  g_assert_nonnull (strstr (text, group));
  g_clear_pointer (&text, g_free);

  g_assert_true (unmap (f, PL_PROTOCOL_TCP, 44090, &error));
  g_assert_no_error (error);
  g_assert_null (pl_fake_igd_lookup_pinhole (f->igd, 6, 44090));
  g_assert_true (pl_pcp_state_flush (journal, &error));
  text = pl_test_journal_text (path);
  g_assert_null (strstr (text, "[mapping"));
  g_clear_pointer (&text, g_free);

  pl_port_mapper_set_journal (PL_PORT_MAPPER (f->client), one_shot);
  g_assert_true (map (f, PL_PROTOCOL_UDP, 44091, 600, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (pl_pcp_state_flush (one_shot, &error));
  text = pl_test_journal_text (one_shot_path);
  g_assert_null (strstr (text, "[mapping"));
}

static void
add (const char *path,
     guint       n,
     void      (*func) (Fixture *, gconstpointer))
{
  g_test_add (path, Fixture, GUINT_TO_POINTER (n), fixture_set_up, func, fixture_tear_down);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  pl_fake_igd_test_init ();

  add ("/upnp/pinhole/probe", 1, test_probe);
  add ("/upnp/pinhole/firewall-off", 2, test_firewall_off);
  add ("/upnp/pinhole/add", 3, test_add);
  add ("/upnp/pinhole/update", 4, test_update);
  add ("/upnp/pinhole/update-unknown", 5, test_update_unknown);
  add ("/upnp/pinhole/delete", 6, test_delete);
  add ("/upnp/pinhole/delete-other-process", 7, test_delete_other_process);
  add ("/upnp/pinhole/refused", 8, test_refused);
  add ("/upnp/pinhole/error-codes", 9, test_error_codes);
  add ("/upnp/pinhole/not-soap", 10, test_not_soap);
  add ("/upnp/pinhole/no-service", 11, test_no_service);
  add ("/upnp/pinhole/restart", 12, test_restart);
  add ("/upnp/pinhole/ipv4-capability", 13, test_ipv4_capability);
  add ("/upnp/pinhole/ipv4-capability-v1", 14, test_ipv4_capability_v1);
  add ("/upnp/pinhole/by-udn", 15, test_by_udn);
  add ("/upnp/pinhole/id-zero", 16, test_id_zero);
  add ("/upnp/pinhole/journal", 17, test_journal);

  return g_test_run ();
}
