/* test-upnp-client.c: PlUpnpClient and PlUpnpDiscovery against the scripted IGD
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

/* Each test has its own fake IGD at 127.0.61.N (N from the test data) and a client whose
 * "default gateway" is that address, searching on lo. SSDP on lo is shared with every test
 * process on the machine, which is also what makes "the gateway's IGD, not another one"
 * testable. GUPnP's requests leave from 127.0.0.1, which the client sends as its
 * NewInternalClient (its lo context's address). The client runs on a virtual clock that
 * moves only when a test says so (the periodic check, the discovery verdict); GUPnP's own
 * I/O runs on real time, so every wait is for an event, bounded by a guard against hangs. */

#define LOCAL "127.0.0.1"

typedef struct
{
  char         *address;
  PlClock      *clock;        /* the client's: virtual, no auto-advance */
  PlClock      *igd_clock;    /* the fake's: virtual too (leases never run out by themselves) */
  PlFakeIgd    *igd;
  PlUpnpClient *client;
  GAsyncResult *result;
  guint         n_lost_epoch;
  guint         n_lost_announced;
  guint         n_address_events;
  char         *announced;
  guint         n_table_changed;
  gboolean      guard_fired;
} Fixture;

static gboolean
guard_cb (gpointer user_data)
{
  Fixture *f = user_data;

  f->guard_fired = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates until @done (a flag, or non-NULL pointer) is set; fails after 30 s of real time. */
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

#define WAIT_RESULT(f) iterate_until ((f), &(f)->result, sizeof (gpointer))
#define WAIT_COUNT(f, field) iterate_until ((f), &(f)->field, sizeof (guint))

static void
iterate_until_v2 (Fixture *f)
{
  guint guard = g_timeout_add_seconds (30, guard_cb, f);

  f->guard_fired = FALSE;
  while (!pl_upnp_discovery_get_igd_v2 (pl_upnp_client_get_discovery (f->client)) &&
         !f->guard_fired)
    g_main_context_iteration (NULL, TRUE);
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
  WAIT_RESULT (f);
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
  else
    f->n_lost_announced++;
}

static void
address_announced_cb (PlPortMapper *mapper,
                      GInetAddress *address,
                      gpointer      user_data)
{
  Fixture *f = user_data;

  g_free (f->announced);
  f->announced = g_inet_address_to_string (address);
  f->n_address_events++;
}

static void
table_changed_cb (PlUpnpClient *client,
                  gpointer      user_data)
{
  Fixture *f = user_data;

  f->n_table_changed++;
}

static PlUpnpClient *
client_new (Fixture    *f,
            const char *gateway_text)
{
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (gateway_text);
  PlUpnpClient *client = pl_upnp_client_new (gateway, "lo", f->clock);

  pl_upnp_client_set_hostname (client, "testhost");
  g_signal_connect (client, "state-lost", G_CALLBACK (state_lost_cb), f);
  g_signal_connect (client, "external-address-announced", G_CALLBACK (address_announced_cb),
                    f);
  g_signal_connect (client, "table-changed", G_CALLBACK (table_changed_cb), f);
  return client;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  guint n = GPOINTER_TO_UINT (data);
  PlFakeIgdFlags flags = n >= 100 ? PL_FAKE_IGD_V1 : PL_FAKE_IGD_FLAGS_NONE;
  g_autoptr(GError) error = NULL;

  /* GTest drops the fatal handler before each test. */
  pl_test_tolerate_gupnp_port_clash ();

  f->address = g_strdup_printf ("127.0.61.%u", n % 100);
  f->clock = pl_clock_new_virtual (FALSE);
  f->igd_clock = pl_clock_new_virtual (FALSE);
  f->igd = pl_fake_igd_new (f->address, f->igd_clock, flags, &error);
  g_assert_no_error (error);
  f->client = client_new (f, f->address);
  /* An IGDv2 router shows up through the :1 and :2 searches in either order: the tests of
   * IGDv2 behaviour start once the :2 answer is in. */
  if (!(flags & PL_FAKE_IGD_V1))
    iterate_until_v2 (f);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  /* Nothing of a client outlives it (its search would go on otherwise). */
  if (f->client != NULL)
    {
      g_assert_finalize_object (g_steal_pointer (&f->client));
    }
  g_clear_object (&f->igd);
  g_clear_object (&f->result);
  g_clear_object (&f->clock);
  g_clear_object (&f->igd_clock);
  g_free (f->announced);
  g_free (f->address);
  /* Let GUPnP's and libsoup's idle clean-ups run before the next test. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static gboolean
map (Fixture    *f,
     PlProtocol  protocol,
     guint16     internal,
     guint16     external,
     guint16    *granted,
     guint32    *lifetime,
     GError    **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  pl_port_mapper_map_async (PL_PORT_MAPPER (f->client), protocol, internal, external, 7200,
                            NULL, result_cb, f);
  result = take_result (f);
  return pl_port_mapper_map_finish (PL_PORT_MAPPER (f->client), result, granted, lifetime,
                                    NULL, error);
}

static gboolean
unmap (Fixture    *f,
       PlProtocol  protocol,
       guint16     internal,
       GError    **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  pl_port_mapper_unmap_async (PL_PORT_MAPPER (f->client), protocol, internal, NULL, result_cb,
                              f);
  result = take_result (f);
  return pl_port_mapper_unmap_finish (PL_PORT_MAPPER (f->client), result, NULL, error);
}

static char *
external_address (Fixture  *f,
                  GError  **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GInetAddress) address = NULL;

  pl_port_mapper_get_external_address_async (PL_PORT_MAPPER (f->client), NULL, result_cb, f);
  result = take_result (f);
  address = pl_port_mapper_get_external_address_finish (PL_PORT_MAPPER (f->client), result,
                                                        NULL, error);
  return address != NULL ? g_inet_address_to_string (address) : NULL;
}

static GPtrArray *
list (Fixture  *f,
      guint    *unreadable,
      GError  **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  PlUpnpDiscovery *discovery = pl_upnp_client_get_discovery (f->client);

  pl_upnp_table_list_async (discovery, NULL, result_cb, f);
  result = take_result (f);
  return pl_upnp_table_list_finish (discovery, result, unreadable, error);
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
test_address (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;

  g_test_summary ("The gateway's IGD is found on lo and asked for its public address");
  pl_fake_igd_set_external_address (f->igd, "198.51.100.20");
  address = external_address (f, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (address, ==, "198.51.100.20");
  g_assert_cmpstr (pl_upnp_client_get_host_ip (f->client), ==, LOCAL);
  g_assert_true (pl_upnp_discovery_get_igd_v2 (pl_upnp_client_get_discovery (f->client)));
}

static void
test_map_v2 (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint16 granted = 0;
  guint32 lifetime = 0;
  const PlFakeIgdEntry *entry;

  g_test_summary ("IGDv2: AddAnyPortMapping with every argument, our description and a "
                  "3600 s lease; the reserved port is the one granted");
  pl_port_mapper_set_label (PL_PORT_MAPPER (f->client), PL_PROTOCOL_TCP, 40100, "web");
  g_assert_true (map (f, PL_PROTOCOL_TCP, 40100, 40100, &granted, &lifetime, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (granted, ==, 40100);
  g_assert_cmpuint (lifetime, ==, PL_UPNP_LEASE_S);
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "AddAnyPortMapping"), ==, 1);
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "AddPortMapping"), ==, 0);
  g_assert_cmpstr (request_arg (f, "AddAnyPortMapping", "NewRemoteHost"), ==, "");
  g_assert_cmpstr (request_arg (f, "AddAnyPortMapping", "NewProtocol"), ==, "TCP");
  g_assert_cmpstr (request_arg (f, "AddAnyPortMapping", "NewInternalClient"), ==, LOCAL);
  g_assert_cmpstr (request_arg (f, "AddAnyPortMapping", "NewEnabled"), ==, "1");
  g_assert_cmpstr (request_arg (f, "AddAnyPortMapping", "NewLeaseDuration"), ==, "3600");
  entry = pl_fake_igd_lookup (f->igd, "TCP", 40100);
  g_assert_nonnull (entry);
  g_assert_cmpstr (entry->description, ==, "Portlight: web (testhost)");
  g_assert_cmpstr (entry->internal_client, ==, LOCAL);
  g_assert_cmpuint (entry->internal_port, ==, 40100);

  /* Another port when the one asked for is taken by another device. */
  pl_fake_igd_add_entry (f->igd, "10.0.0.99", "UDP", 40200, 40200, "theirs", 0);
  g_assert_true (map (f, PL_PROTOCOL_UDP, 40200, 40200, &granted, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (granted, !=, 40200);
  g_assert_nonnull (pl_fake_igd_lookup (f->igd, "UDP", granted));
}

static void
test_map_v1 (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint16 granted = 0;

  g_test_summary ("IGDv1: AddPortMapping; 718 (another device's port) leads to the next port");
  g_assert_false (pl_upnp_discovery_get_igd_v2 (pl_upnp_client_get_discovery (f->client)));
  pl_fake_igd_add_entry (f->igd, "10.0.0.99", "TCP", 40300, 40300, "theirs", 0);
  g_assert_true (map (f, PL_PROTOCOL_TCP, 40300, 40300, &granted, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (granted, ==, 40301);
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "AddAnyPortMapping"), ==, 0);
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "AddPortMapping"), ==, 2);
  g_assert_cmpstr (pl_fake_igd_lookup (f->igd, "TCP", 40301)->internal_client, ==, LOCAL);
}

static void
test_add_any_refused (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint16 granted = 0;

  g_test_summary ("An IGDv2 router that answers AddAnyPortMapping with 401: AddPortMapping, "
                  "and from then on only that");
  pl_fake_igd_fail_next (f->igd, "AddAnyPortMapping", G_MAXUINT, 401, "Invalid Action");
  g_assert_true (map (f, PL_PROTOCOL_TCP, 40400, 40400, &granted, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (granted, ==, 40400);
  g_assert_true (map (f, PL_PROTOCOL_TCP, 40401, 40401, &granted, NULL, &error));
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "AddAnyPortMapping"), ==, 1);
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "AddPortMapping"), ==, 2);
}

static void
test_permanent_only (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint16 granted = 0;
  guint32 lifetime = 0;

  g_test_summary ("725: lease 0 at once and from then on; the mapping is still renewed "
                  "(checked) as if it had a lease");
  pl_fake_igd_set_permanent_leases_only (f->igd, TRUE);
  g_assert_true (map (f, PL_PROTOCOL_UDP, 40500, 40500, &granted, &lifetime, &error));
  g_assert_no_error (error);
  g_assert_true (pl_upnp_client_get_permanent_only (f->client));
  g_assert_cmpuint (lifetime, ==, PL_UPNP_LEASE_S);
  g_assert_cmpstr (request_arg (f, "AddAnyPortMapping", "NewLeaseDuration"), ==, "0");
  g_assert_cmpuint (pl_fake_igd_lookup (f->igd, "UDP", 40500)->lease_duration, ==, 0);
  pl_fake_igd_clear_requests (f->igd);
  g_assert_true (map (f, PL_PROTOCOL_UDP, 40501, 40501, &granted, NULL, &error));
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, NULL), ==, 1);
}

static void
test_same_ports (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint16 granted = 0;

  g_test_summary ("724: the public port becomes the private one");
  pl_fake_igd_set_same_ports_required (f->igd, TRUE);
  g_assert_true (map (f, PL_PROTOCOL_TCP, 40600, 41600, &granted, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (granted, ==, 40600);
}

static void
test_refused_low_port (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_test_summary ("606 for a private port below 1024: NOT_AUTHORIZED, saying why");
  g_assert_false (map (f, PL_PROTOCOL_TCP, 22, 40022, NULL, NULL, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_NOT_AUTHORIZED);
  g_assert_nonnull (strstr (error->message, "private port 22"));
  g_assert_nonnull (strstr (error->message, "below 1024"));
}

typedef struct
{
  guint       code;
  gint        expected;
} CodeCase;

static void
test_error_codes (Fixture       *f,
                  gconstpointer  data)
{
  static const CodeCase cases[] = {
    { 402, PL_ERROR_MALFORMED_REQUEST },
    { 501, PL_ERROR_NETWORK_FAILURE },
    { 606, PL_ERROR_NOT_AUTHORIZED },
    { 718, PL_ERROR_PORT_IN_USE },
    { 728, PL_ERROR_NOT_AUTHORIZED },   /* 728 from AddAny: the plain AddPortMapping's 606 */
    { 729, PL_ERROR_PORT_IN_USE },
    { 899, PL_ERROR_UNKNOWN_RESULT },
  };

  g_test_summary ("Each UPnP error a router answers with becomes its PL_ERROR");
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;

      pl_fake_igd_clear_scripts (f->igd);
      if (cases[i].code == 728)
        {
          /* What miniupnpd does for a private port its rules allow on no public port. */
          pl_fake_igd_fail_next (f->igd, "AddAnyPortMapping", 1, 728, "NoPortMapsAvailable");
          pl_fake_igd_fail_next (f->igd, "AddPortMapping", 1, 606, "Action not authorized");
        }
      else
        {
          pl_fake_igd_fail_next (f->igd, NULL, G_MAXUINT, cases[i].code, "scripted");
        }
      g_assert_false (map (f, PL_PROTOCOL_TCP, 40700 + i, 40700 + i, NULL, NULL, &error));
      g_test_message ("%u: %s", cases[i].code, error->message);
      g_assert_error (error, PL_ERROR, cases[i].expected);
    }
}

static void
test_unmap (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlUpnpClient) other = NULL;
  guint16 granted = 0;

  g_test_summary ("unmap deletes by the public port granted; 200 and 714 for nothing are "
                  "success; a mapping another process made is found in the table");
  g_assert_true (map (f, PL_PROTOCOL_TCP, 40800, 40801, &granted, NULL, &error));
  g_assert_true (unmap (f, PL_PROTOCOL_TCP, 40800, &error));
  g_assert_no_error (error);
  g_assert_null (pl_fake_igd_lookup (f->igd, "TCP", 40801));
  g_assert_cmpstr (request_arg (f, "DeletePortMapping", "NewExternalPort"), ==, "40801");

  /* Nothing there: 200 (miniupnpd over nftables) or 714 (over iptables). */
  g_assert_true (unmap (f, PL_PROTOCOL_TCP, 40800, &error));
  pl_fake_igd_set_delete_unknown_fails (f->igd, TRUE);
  g_assert_true (unmap (f, PL_PROTOCOL_TCP, 40800, &error));
  g_assert_no_error (error);

  /* Made by "another process" (an entry of ours at another public port). */
  pl_fake_igd_add_entry (f->igd, LOCAL, "UDP", 40899, 40810, "Portlight: x (testhost)", 0);
  pl_fake_igd_add_entry (f->igd, LOCAL, "UDP", 40898, 40811, "another program", 0);
  g_assert_true (unmap (f, PL_PROTOCOL_UDP, 40810, &error));
  g_assert_no_error (error);
  g_assert_null (pl_fake_igd_lookup (f->igd, "UDP", 40899));
  /* Never another program's, even for the same private port. */
  g_assert_true (unmap (f, PL_PROTOCOL_UDP, 40811, &error));
  g_assert_nonnull (pl_fake_igd_lookup (f->igd, "UDP", 40898));
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "DeletePortMappingRange"), ==, 0);
}

static void
test_delete_external (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;

  g_test_summary ("Deleting by public port: this computer's goes; another device's is "
                  "refused (606) with a message naming it; none there is NOT_FOUND");
  pl_fake_igd_add_entry (f->igd, LOCAL, "TCP", 40900, 40900, "left behind", 0);
  pl_upnp_client_delete_external_async (f->client, PL_PROTOCOL_TCP, 40900, NULL, result_cb, f);
  result = take_result (f);
  g_assert_true (pl_upnp_client_delete_external_finish (f->client, result, &error));
  g_assert_no_error (error);
  g_assert_null (pl_fake_igd_lookup (f->igd, "TCP", 40900));
  g_clear_object (&result);

  pl_fake_igd_add_entry (f->igd, "10.0.0.99", "TCP", 40901, 40901, "theirs", 0);
  pl_upnp_client_delete_external_async (f->client, PL_PROTOCOL_TCP, 40901, NULL, result_cb, f);
  result = take_result (f);
  g_assert_false (pl_upnp_client_delete_external_finish (f->client, result, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_NOT_AUTHORIZED);
  g_assert_nonnull (strstr (error->message, "10.0.0.99"));
  g_assert_nonnull (pl_fake_igd_lookup (f->igd, "TCP", 40901));
  g_clear_error (&error);
  g_clear_object (&result);

  pl_upnp_client_delete_external_async (f->client, PL_PROTOCOL_UDP, 40902, NULL, result_cb, f);
  result = take_result (f);
  g_assert_false (pl_upnp_client_delete_external_finish (f->client, result, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_NOT_FOUND);
}

static void
test_list (Fixture       *f,
           gconstpointer  data)
{
  static const guint sizes[] = { 0, 1, 200 };

  g_test_summary ("The whole table, in the router's order, for 0, 1 and 200 rows; odd "
                  "descriptions come back as printable ASCII");
  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) entries = NULL;
      guint unreadable = 99;

      pl_fake_igd_clear_entries (f->igd);
      pl_fake_igd_preload (f->igd, sizes[s], "10.0.0.99");
      entries = list (f, &unreadable, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (entries->len, ==, sizes[s]);
      g_assert_cmpuint (unreadable, ==, 0);
      for (guint i = 0; i < entries->len; i++)
        {
          PlUpnpEntry *e = g_ptr_array_index (entries, i);

          g_assert_cmpstr (e->internal_client, ==, "10.0.0.99");
          g_assert_cmpuint (e->external_port, ==, e->internal_port);
          for (const char *p = e->description; *p != '\0'; p++)
            g_assert_true (g_ascii_isprint (*p));
        }
      if (entries->len == 1)
        g_assert_cmpstr (((PlUpnpEntry *) g_ptr_array_index (entries, 0))->description, ==,
                         "preloaded 0");
    }
}

static void
test_list_bad_row (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  guint unreadable = 0;

  g_test_summary ("A row the router answers with garbage is skipped and counted; the rest "
                  "of the table is read");
  pl_fake_igd_preload (f->igd, 5, "10.0.0.99");
  pl_fake_igd_reply_badly (f->igd, "GetGenericPortMappingEntry", 1, PL_FAKE_IGD_REPLY_GARBAGE);
  entries = list (f, &unreadable, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (entries->len, ==, 4);
  g_assert_cmpuint (unreadable, ==, 1);
}

static void
test_not_soap (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;

  g_test_summary ("An HTTP 500 with text, or garbage, is MALFORMED_REPLY, not a crash");
  pl_fake_igd_reply_badly (f->igd, "GetExternalIPAddress", 1, PL_FAKE_IGD_REPLY_HTTP_500_TEXT);
  address = external_address (f, &error);
  g_assert_null (address);
  g_assert_error (error, PL_ERROR, PL_ERROR_MALFORMED_REPLY);
  g_clear_error (&error);
  pl_fake_igd_reply_badly (f->igd, "AddAnyPortMapping", 1, PL_FAKE_IGD_REPLY_GARBAGE);
  g_assert_false (map (f, PL_PROTOCOL_TCP, 41000, 41000, NULL, NULL, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_MALFORMED_REPLY);
}

static void
test_two_igds (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlFakeIgd) rogue = NULL;
  g_autoptr(PlUpnpClient) late = NULL;
  g_autofree char *rogue_address = g_strdup_printf ("%s0", f->address);
  g_autofree char *address = NULL;

  g_test_summary ("A second IGD on the LAN (a repeater) never wins over the gateway's");
  rogue = pl_fake_igd_new (rogue_address, f->igd_clock, PL_FAKE_IGD_FLAGS_NONE, &error);
  g_assert_no_error (error);
  pl_fake_igd_set_external_address (rogue, "203.0.113.99");
  pl_fake_igd_set_external_address (f->igd, "198.51.100.30");
  /* A client that starts while both announce. */
  late = client_new (f, f->address);
  g_clear_object (&f->client);
  f->client = g_steal_pointer (&late);
  address = external_address (f, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (address, ==, "198.51.100.30");
  g_assert_cmpuint (pl_fake_igd_count_requests (rogue, NULL), ==, 0);
}

static void
test_no_router (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlUpnpClient) lonely = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GUPnPServiceProxy) proxy = NULL;
  g_autofree char *nowhere = g_strdup_printf ("127.0.62.%u", GPOINTER_TO_UINT (data) % 100);
  PlUpnpDiscovery *discovery;

  g_test_summary ("No IGD at the gateway: our own verdict after 4 s (virtual time), and a "
                  "router that comes up later is still found");
  lonely = client_new (f, nowhere);
  discovery = pl_upnp_client_get_discovery (lonely);
  pl_upnp_discovery_wait_async (discovery, 0, NULL, result_cb, f);
  /* Let the real search go out, then move the verdict's clock. */
  for (guint i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_null (f->result);
  pl_clock_advance (f->clock, PL_UPNP_DISCOVERY_VERDICT_MS * 1000);
  result = take_result (f);
  proxy = pl_upnp_discovery_wait_finish (discovery, result, &error);
  g_assert_null (proxy);
  g_assert_error (error, PL_ERROR, PL_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "No UPnP router answered"));
  g_clear_object (&result);
  g_clear_error (&error);

  /* The router at that address boots now: the same discovery picks it up. */
  {
    g_autoptr(PlFakeIgd) igd = pl_fake_igd_new (nowhere, f->igd_clock,
                                                 PL_FAKE_IGD_FLAGS_NONE, &error);

    g_assert_no_error (error);
    pl_upnp_discovery_wait_async (discovery, 30000, NULL, result_cb, f);
    result = take_result (f);
    proxy = pl_upnp_discovery_wait_finish (discovery, result, &error);
    g_assert_no_error (error);
    g_assert_nonnull (proxy);
  }
}

static void
test_restart (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint16 granted = 0;

  g_test_summary ("A router restart on a new HTTP port with its table gone: state-lost "
                  "EPOCH, and calls go to the new address");
  g_assert_true (map (f, PL_PROTOCOL_TCP, 41100, 41100, &granted, NULL, &error));
  g_assert_true (pl_port_mapper_listen (PL_PORT_MAPPER (f->client), 0, "lo", &error));
  g_assert_true (pl_port_mapper_get_listening (PL_PORT_MAPPER (f->client)));
  g_assert_true (pl_fake_igd_restart (f->igd, PL_FAKE_IGD_RESTART_NONE, &error));
  g_assert_no_error (error);
  /* Whichever comes first tells: the new alive's location, or the refused call on the old
   * address (which searches again). */
  g_assert_true (map (f, PL_PROTOCOL_TCP, 41100, 41100, &granted, NULL, &error));
  g_assert_no_error (error);
  WAIT_COUNT (f, n_lost_epoch);
  g_assert_cmpuint (f->n_lost_epoch, ==, 1);
  g_assert_nonnull (pl_fake_igd_lookup (f->igd, "TCP", 41100));
}

static void
test_restart_stale_proxy (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;

  g_test_summary ("A call on the old address after a silent restart (connection refused) "
                  "searches again and succeeds on the new one");
  address = external_address (f, &error);
  g_assert_no_error (error);
  g_clear_pointer (&address, g_free);
  pl_fake_igd_stop (f->igd, FALSE);
  g_assert_true (pl_fake_igd_start (f->igd, FALSE, &error));
  address = external_address (f, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (address, ==, "203.0.113.7");
}

static void
test_events (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;
  guint before;

  g_test_summary ("Eventing: a new ExternalIPAddress is announced once; a changed table "
                  "says table-changed");
  address = external_address (f, &error);
  g_assert_true (pl_port_mapper_listen (PL_PORT_MAPPER (f->client), 0, "lo", &error));
  /* The first event carries the current address. */
  WAIT_COUNT (f, n_address_events);
  g_assert_cmpstr (f->announced, ==, "203.0.113.7");
  WAIT_COUNT (f, n_table_changed);
  before = f->n_table_changed;
  pl_fake_igd_add_entry (f->igd, "10.0.0.99", "TCP", 41200, 41200, "theirs", 0);
  while (f->n_table_changed == before)
    g_main_context_iteration (NULL, TRUE);
  pl_fake_igd_set_external_address (f->igd, "198.51.100.77");
  while (f->n_address_events < 2)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (f->announced, ==, "198.51.100.77");
}

static void
test_verify (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint16 granted = 0;

  g_test_summary ("The periodic check (GetSpecificPortMappingEntry per mapping, within 60-"
                  "120 s) finds a mapping the router dropped: state-lost ANNOUNCED");
  g_assert_true (map (f, PL_PROTOCOL_UDP, 41300, 41300, &granted, NULL, &error));
  g_assert_true (pl_port_mapper_listen (PL_PORT_MAPPER (f->client), 0, "lo", &error));
  /* Nothing lost: a check finds it, says nothing. */
  pl_clock_advance (f->clock, PL_UPNP_VERIFY_MAX_MS * 1000);
  while (pl_fake_igd_count_requests (f->igd, "GetSpecificPortMappingEntry") < 1)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (f->n_lost_announced, ==, 0);
  /* The router drops it (a clean-up, a silent reboot on the same port). The next check
   * is 60-120 s after the last one ended: time moves on until it has run. */
  pl_fake_igd_clear_entries (f->igd);
  for (guint i = 0; i < 100 && f->n_lost_announced == 0; i++)
    {
      guint asked = pl_fake_igd_count_requests (f->igd, "GetSpecificPortMappingEntry");

      pl_clock_advance (f->clock, 10 * G_USEC_PER_SEC);
      for (guint j = 0; j < 20; j++)
        g_main_context_iteration (NULL, FALSE);
      if (pl_fake_igd_count_requests (f->igd, "GetSpecificPortMappingEntry") > asked)
        WAIT_COUNT (f, n_lost_announced);
    }
  g_assert_cmpuint (f->n_lost_announced, ==, 1);
}

static void
test_journal (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *path = g_build_filename (g_get_user_runtime_dir (), "engine-upnp.ini",
                                            NULL);
  g_autofree char *one_shot_path = g_build_filename (g_get_user_runtime_dir (),
                                                     "one-shot-upnp.ini", NULL);
  g_autoptr(PlPcpState) journal = pl_test_journal_new (path, PL_PCP_OWNER_ENGINE);
  g_autoptr(PlPcpState) one_shot = pl_test_journal_new (one_shot_path, PL_PCP_OWNER_ONE_SHOT);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *external = NULL;
  g_autofree char *group = NULL;
  guint16 granted = 0;

  g_test_summary ("An engine's journal holds its UPnP-IGD mappings: on disk before the "
                  "AddAnyPortMapping goes out, then with the public port granted; removed "
                  "once the delete is answered; a restarted engine asks for that public port "
                  "again; a one-shot journal is not written");
  pl_port_mapper_set_journal (PL_PORT_MAPPER (f->client), journal);
  /* The port asked for is another device's: the router grants another one. */
  pl_fake_igd_add_entry (f->igd, "10.0.0.99", "TCP", 42000, 42000, "theirs", 0);
  pl_fake_igd_set_reply_delay (f->igd, 1000);
  pl_port_mapper_map_async (PL_PORT_MAPPER (f->client), PL_PROTOCOL_TCP, 42000, 0, 7200, NULL,
                            result_cb, f);
  while (pl_fake_igd_count_requests (f->igd, "AddAnyPortMapping") == 0)
    g_main_context_iteration (NULL, TRUE);
  /* The router has the request and has not answered: the record is on disk already. */
  text = pl_test_journal_text (path);
  group = g_strdup_printf ("[mapping tcp 42000 ipv4 %s " LOCAL "]\n", f->address);
  g_assert_nonnull (strstr (text, group));
  g_assert_nonnull (strstr (text, "Method=upnp\n"));
  g_assert_nonnull (strstr (text, "InternalPort=42000\n"));
  g_assert_nonnull (strstr (text, "ExternalPort=42000\n"));
  g_assert_nonnull (strstr (text, "Owner=engine\n"));
  g_clear_pointer (&text, g_free);
  pl_clock_advance (f->igd_clock, 1000 * 1000);
  result = take_result (f);
  g_assert_true (pl_port_mapper_map_finish (PL_PORT_MAPPER (f->client), result, &granted, NULL,
                                            NULL, &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_cmpuint (granted, !=, 42000);
  g_assert_true (pl_pcp_state_flush (journal, &error));
  g_assert_no_error (error);
  text = pl_test_journal_text (path);
  external = g_strdup_printf ("ExternalPort=%u\n", granted);
  g_assert_nonnull (strstr (text, external));
  g_clear_pointer (&text, g_free);

  /* A restarted engine (a new client, the journal loaded again) is asked for the port with
   * no public port in mind: it asks the router for the one it had. */
  g_assert_finalize_object (g_steal_pointer (&f->client));
  g_clear_object (&journal);
  journal = pl_test_journal_new (path, PL_PCP_OWNER_ENGINE);
  f->client = client_new (f, f->address);
  pl_port_mapper_set_journal (PL_PORT_MAPPER (f->client), journal);
  iterate_until_v2 (f);
  pl_fake_igd_set_reply_delay (f->igd, 0);
  pl_fake_igd_clear_requests (f->igd);
  g_assert_true (map (f, PL_PROTOCOL_TCP, 42000, 0, &granted, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (strtoul (request_arg (f, "AddAnyPortMapping", "NewExternalPort"), NULL, 10),
                    ==, granted);

  /* The delete answered, the record is gone. */
  g_assert_true (unmap (f, PL_PROTOCOL_TCP, 42000, &error));
  g_assert_no_error (error);
  g_assert_true (pl_pcp_state_flush (journal, &error));
  text = pl_test_journal_text (path);
  g_assert_null (strstr (text, "[mapping tcp 42000"));
  g_clear_pointer (&text, g_free);

  /* A one-shot program's mappings stay open on purpose: nothing to sweep, nothing written. */
  pl_port_mapper_set_journal (PL_PORT_MAPPER (f->client), one_shot);
  g_assert_true (map (f, PL_PROTOCOL_UDP, 42001, 42001, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (pl_pcp_state_flush (one_shot, &error));
  g_assert_no_error (error);
  text = pl_test_journal_text (one_shot_path);
  g_assert_null (strstr (text, "[mapping"));
  g_clear_pointer (&text, g_free);
  text = pl_test_journal_text (path);
  g_assert_null (strstr (text, "[mapping udp 42001"));
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

  add ("/upnp/client/address", 1, test_address);
  add ("/upnp/client/map-v2", 2, test_map_v2);
  add ("/upnp/client/map-v1", 103, test_map_v1);
  add ("/upnp/client/add-any-refused", 4, test_add_any_refused);
  add ("/upnp/client/permanent-only", 5, test_permanent_only);
  add ("/upnp/client/same-ports", 106, test_same_ports);
  add ("/upnp/client/refused-low-port", 7, test_refused_low_port);
  add ("/upnp/client/error-codes", 8, test_error_codes);
  add ("/upnp/client/unmap", 9, test_unmap);
  add ("/upnp/client/delete-external", 10, test_delete_external);
  add ("/upnp/client/list", 11, test_list);
  add ("/upnp/client/list-bad-row", 12, test_list_bad_row);
  add ("/upnp/client/not-soap", 13, test_not_soap);
  add ("/upnp/client/two-igds", 14, test_two_igds);
  add ("/upnp/client/no-router", 15, test_no_router);
  add ("/upnp/client/restart", 16, test_restart);
  add ("/upnp/client/restart-stale-proxy", 17, test_restart_stale_proxy);
  add ("/upnp/client/events", 18, test_events);
  add ("/upnp/client/verify", 19, test_verify);
  add ("/upnp/client/journal", 20, test_journal);

  return g_test_run ();
}
