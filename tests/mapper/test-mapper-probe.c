/* test-mapper-probe.c: which protocol pl_mapper_probe_async picks, against scripted routers
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdio.h>
#include <string.h>

#include "pl-core.h"
#include "pl-fake-gateway.h"
#include "pl-fake-pcp-gateway.h"
#include "pl-test-gupnp.h"

/* Each test has its own router address 127.0.9.N (127.0.19.N, 127.0.29.N … when taken) and a
 * virtual clock with auto-advance, so "within 1 s" is virtual time, not the machine's speed.
 * A NAT-PMP-only router is PlFakeGateway (it answers PCP with NAT-PMP's Unsupported Version),
 * a PCP router PlFakePcpGateway (it ignores NAT-PMP). */

#define EXTERNAL_ADDRESS "203.0.113.9"

typedef struct
{
  PlClock          *clock;
  char             *address;
  PlFakeGateway    *natpmp;
  PlFakePcpGateway *pcp;
  GAsyncResult     *result;
  guint             guard_id;
} Fixture;

static guint next_host = 1;

static gboolean
guard_cb (gpointer user_data)
{
  g_error ("the probe did not finish within 30 s of real time");
  return G_SOURCE_REMOVE;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->clock = pl_clock_new_virtual (TRUE);
  f->address = g_strdup_printf ("127.0.9.%u", next_host++);
  f->guard_id = g_timeout_add_seconds (30, guard_cb, NULL);
  /* GTest drops the fatal handler before each test. */
  pl_test_tolerate_gupnp_port_clash ();
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->natpmp);
  g_clear_object (&f->pcp);
  g_clear_object (&f->result);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&f->clock);
  g_clear_handle_id (&f->guard_id, g_source_remove);
  g_free (f->address);
}

/* A router of one kind on a free address (127.0.9.N, else 127.0.19.N …). */
static void
start_router (Fixture  *f,
              gboolean  pcp)
{
  for (guint subnet = 9; subnet <= 249; subnet += 10)
    {
      g_autoptr(GError) error = NULL;
      guint host;

      if (sscanf (f->address, "127.0.%*u.%u", &host) != 1)
        g_assert_not_reached ();
      g_free (f->address);
      f->address = g_strdup_printf ("127.0.%u.%u", subnet, host);
      if (pcp)
        f->pcp = pl_fake_pcp_gateway_new (f->address, f->clock, &error);
      else
        f->natpmp = pl_fake_gateway_new (f->address, f->clock, &error);
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
        {
          g_assert_no_error (error);
          break;
        }
    }
  g_assert_true (f->pcp != NULL || f->natpmp != NULL);
  if (f->natpmp != NULL)
    pl_fake_gateway_set_external_address (f->natpmp, EXTERNAL_ADDRESS);
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

/* Runs the probe; returns the mapper or NULL with @error, and the virtual time it took. */
static PlPortMapper *
probe (Fixture       *f,
       PlMethod       method,
       guint          timeout_ms,
       GCancellable  *cancellable,
       GInetAddress **public_address,
       gint64        *elapsed_us,
       GError       **error)
{
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (f->address);
  gint64 start = pl_clock_get_time (f->clock);
  PlPortMapper *mapper;

  pl_mapper_probe_async (gateway, f->clock, method, timeout_ms, cancellable, result_cb, f);
  while (f->result == NULL)
    g_main_context_iteration (NULL, TRUE);
  *elapsed_us = pl_clock_get_time (f->clock) - start;
  mapper = pl_mapper_probe_finish (f->result, public_address, NULL, error);
  g_clear_object (&f->result);
  return mapper;
}

/* How many datagrams of protocol version @version the NAT-PMP-only router got. */
static guint
natpmp_router_saw (Fixture *f,
                   guint8   version)
{
  GPtrArray *requests = pl_fake_gateway_get_requests (f->natpmp);
  guint n = 0;

  for (guint i = 0; i < requests->len; i++)
    {
      PlFakeRequest *r = g_ptr_array_index (requests, i);
      const guint8 *bytes = g_bytes_get_data (r->bytes, NULL);

      if (g_bytes_get_size (r->bytes) > 0 && bytes[0] == version)
        n++;
    }
  return n;
}

static void
test_pcp_router (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(PlPortMapper) mapper = NULL;
  gint64 elapsed;

  g_test_summary ("A PCP router: PCP is picked as soon as its ANNOUNCE is answered, without "
                  "waiting for the NAT-PMP leg");
  start_router (f, TRUE);
  mapper = probe (f, PL_METHOD_AUTO, 0, NULL, &address, &elapsed, &error);
  g_assert_no_error (error);
  g_assert_true (PL_IS_PCP_CLIENT (mapper));
  g_assert_cmpstr (pl_port_mapper_get_protocol_name (mapper), ==, "PCP");
  g_assert_null (address);
  g_assert_cmpint (elapsed, <, PL_MAPPER_PROBE_PCP_GRACE_MS * 1000);
}

static void
test_natpmp_only_router (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(PlPortMapper) mapper = NULL;
  g_autofree char *text = NULL;
  gint64 elapsed;

  g_test_summary ("A NAT-PMP-only router answers PCP with NAT-PMP's Unsupported Version: "
                  "NAT-PMP at once, with the public address its leg heard");
  start_router (f, FALSE);
  mapper = probe (f, PL_METHOD_AUTO, 0, NULL, &address, &elapsed, &error);
  g_assert_no_error (error);
  g_assert_true (PL_IS_CLIENT (mapper));
  g_assert_cmpstr (pl_port_mapper_get_protocol_name (mapper), ==, "NAT-PMP");
  g_assert_nonnull (address);
  text = g_inet_address_to_string (address);
  g_assert_cmpstr (text, ==, EXTERNAL_ADDRESS);
  g_assert_cmpint (elapsed, <, PL_MAPPER_PROBE_PCP_GRACE_MS * 1000);
  g_assert_cmpuint (natpmp_router_saw (f, PL_PCP_PROTOCOL_VERSION), ==, 1);
}

static void
test_pcp_dropped (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(PlPortMapper) mapper = NULL;
  gint64 elapsed;

  g_test_summary ("A router whose firewall drops PCP silently: NAT-PMP once the PCP grace "
                  "time is over, long before PCP's first retransmission at 3 s");
  start_router (f, FALSE);
  pl_fake_gateway_set_drop_pcp (f->natpmp, TRUE);
  mapper = probe (f, PL_METHOD_AUTO, 0, NULL, &address, &elapsed, &error);
  g_assert_no_error (error);
  g_assert_true (PL_IS_CLIENT (mapper));
  g_assert_nonnull (address);
  g_assert_cmpint (elapsed, >=, PL_MAPPER_PROBE_PCP_GRACE_MS * 1000);
  g_assert_cmpint (elapsed, <, 3 * G_USEC_PER_SEC);
  g_assert_cmpuint (natpmp_router_saw (f, PL_PCP_PROTOCOL_VERSION), ==, 1);
}

static void
test_nothing_there (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlPortMapper) mapper = NULL;
  gint64 elapsed;

  g_test_summary ("No server at all (ICMP refuses both, no UPnP router answers the search): "
                  "one plain error naming the three protocols, once the search's verdict is in");
  mapper = probe (f, PL_METHOD_AUTO, 0, NULL, NULL, &elapsed, &error);
  g_assert_null (mapper);
  g_assert_error (error, PL_ERROR, PL_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "No PCP, NAT-PMP or UPnP-IGD service on"));
  g_assert_nonnull (strstr (error->message, f->address));
  g_assert_cmpint (elapsed, >=, PL_UPNP_DISCOVERY_VERDICT_MS * 1000);
}

static void
test_pcp_only_asked (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlPortMapper) mapper = NULL;
  gint64 elapsed;

  g_test_summary ("--protocol pcp against a NAT-PMP-only router: PCP's own error, no "
                  "NAT-PMP request");
  start_router (f, FALSE);
  mapper = probe (f, PL_METHOD_PCP, 0, NULL, NULL, &elapsed, &error);
  g_assert_null (mapper);
  g_assert_error (error, PL_ERROR, PL_ERROR_UNSUPPORTED_VERSION);
  g_assert_cmpuint (natpmp_router_saw (f, PL_NATPMP_VERSION), ==, 0);
}

static void
test_natpmp_only_asked (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlPortMapper) mapper = NULL;
  g_autoptr(GInetAddress) address = NULL;
  gint64 elapsed;

  g_test_summary ("--protocol natpmp: NAT-PMP without any PCP datagram");
  start_router (f, FALSE);
  mapper = probe (f, PL_METHOD_NATPMP, 0, NULL, &address, &elapsed, &error);
  g_assert_no_error (error);
  g_assert_true (PL_IS_CLIENT (mapper));
  g_assert_nonnull (address);
  g_assert_cmpuint (natpmp_router_saw (f, PL_PCP_PROTOCOL_VERSION), ==, 0);
  g_assert_cmpuint (natpmp_router_saw (f, PL_NATPMP_VERSION), ==, 1);
}

static void
test_silent_timeout (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlPortMapper) mapper = NULL;
  gint64 elapsed;

  g_test_summary ("A silent router: the probe ends with TIMED_OUT at its timeout");
  start_router (f, FALSE);
  pl_fake_gateway_set_silent (f->natpmp, TRUE);
  mapper = probe (f, PL_METHOD_AUTO, 2000, NULL, NULL, &elapsed, &error);
  g_assert_null (mapper);
  g_assert_error (error, PL_ERROR, PL_ERROR_TIMED_OUT);
  g_assert_cmpint (elapsed, >=, 2 * G_USEC_PER_SEC);
  g_assert_cmpint (elapsed, <, 3 * G_USEC_PER_SEC);
}

static gboolean
cancel_cb (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static void
test_cancelled (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlPortMapper) mapper = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  gint64 elapsed;

  g_test_summary ("Cancelling a probe of a silent router ends it with G_IO_ERROR_CANCELLED");
  start_router (f, FALSE);
  pl_fake_gateway_set_silent (f->natpmp, TRUE);
  pl_clock_timeout_add (f->clock, 500, cancel_cb, cancellable);
  mapper = probe (f, PL_METHOD_AUTO, 0, cancellable, NULL, &elapsed, &error);
  g_assert_null (mapper);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_method_names (void)
{
  PlMethod method = PL_METHOD_PCP;

  g_assert_true (pl_method_from_string ("auto", &method));
  g_assert_cmpint (method, ==, PL_METHOD_AUTO);
  g_assert_true (pl_method_from_string ("PCP", &method));
  g_assert_cmpint (method, ==, PL_METHOD_PCP);
  g_assert_true (pl_method_from_string ("natpmp", &method));
  g_assert_cmpint (method, ==, PL_METHOD_NATPMP);
  g_assert_true (pl_method_from_string ("nat-pmp", &method));
  g_assert_cmpint (method, ==, PL_METHOD_NATPMP);
  g_assert_true (pl_method_from_string ("UPnP", &method));
  g_assert_cmpint (method, ==, PL_METHOD_UPNP);
  g_assert_true (pl_method_from_string ("upnp-igd", &method));
  g_assert_cmpint (method, ==, PL_METHOD_UPNP);
  g_assert_false (pl_method_from_string ("upnpc", &method));
  g_assert_false (pl_method_from_string ("", &method));
  g_assert_false (pl_method_from_string (NULL, &method));
  g_assert_cmpint (method, ==, PL_METHOD_UPNP);
  g_assert_cmpstr (pl_method_to_string (PL_METHOD_PCP), ==, "pcp");
  g_assert_cmpstr (pl_method_to_string (PL_METHOD_NATPMP), ==, "natpmp");
  g_assert_cmpstr (pl_method_to_string (PL_METHOD_AUTO), ==, "auto");
  g_assert_cmpstr (pl_method_to_string (PL_METHOD_UPNP), ==, "upnp");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add ("/mapper/probe/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("pcp-router", test_pcp_router);
  ADD ("natpmp-only-router", test_natpmp_only_router);
  ADD ("pcp-dropped", test_pcp_dropped);
  ADD ("nothing-there", test_nothing_there);
  ADD ("pcp-only-asked", test_pcp_only_asked);
  ADD ("natpmp-only-asked", test_natpmp_only_asked);
  ADD ("silent-timeout", test_silent_timeout);
  ADD ("cancelled", test_cancelled);
#undef ADD
  g_test_add_func ("/mapper/method-names", test_method_names);

  return g_test_run ();
}
