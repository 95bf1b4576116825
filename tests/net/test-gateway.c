/* test-gateway.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "pl-error.h"
#include "pl-gateway.h"
#include "pl-gateway-private.h"

/* /proc/net/route ------------------------------------------------------------------------- */

static char *
load_route_file (const char *name)
{
  const char *path = g_test_get_filename (G_TEST_DIST, "data", name, NULL);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (contents);

  return contents;
}

/* The data files were captured on x86: each address is printed as the little-endian u32 of
 * its network-order bytes. On a big-endian host the same text means the reversed address. */
static void
assert_address_from_x86 (GInetAddress *address,
                         const char   *expected)
{
  g_autoptr(GInetAddress) want = g_inet_address_new_from_string (expected);
  guint8 bytes[4];

  g_assert_nonnull (want);
  memcpy (bytes, g_inet_address_to_bytes (want), sizeof bytes);

#if G_BYTE_ORDER == G_BIG_ENDIAN
  {
    guint8 reversed[4] = { bytes[3], bytes[2], bytes[1], bytes[0] };

    memcpy (bytes, reversed, sizeof bytes);
  }
#endif

  g_assert_nonnull (address);
  g_assert_cmpint (g_inet_address_get_family (address), ==, G_SOCKET_FAMILY_IPV4);
  g_assert_cmpmem (g_inet_address_to_bytes (address), 4, bytes, 4);
}

static void
assert_gateway (PlGateway  *gateway,
                const char *address,
                const char *interface,
                guint32     metric)
{
  g_assert_nonnull (gateway);
  assert_address_from_x86 (gateway->address, address);
  g_assert_cmpstr (gateway->interface, ==, interface);
  g_assert_cmpuint (gateway->metric, ==, metric);
}

static PlGateway *
parse_route_file (const char  *name,
                  GError     **error)
{
  g_autofree char *contents = load_route_file (name);

  return pl_gateway_parse_proc_route (contents, error);
}

static void
assert_no_gateway (PlGateway *gateway,
                   GError    *error)
{
  g_assert_null (gateway);
  g_assert_error (error, PL_ERROR, PL_ERROR_NO_GATEWAY);
  g_assert_nonnull (strstr (error->message, "--gateway"));
}

static void
test_proc_normal (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlGateway) gateway = parse_route_file ("route-normal.txt", &error);

  g_assert_no_error (error);
  assert_gateway (gateway, "192.168.1.1", "eth0", 100);
}

static void
test_proc_two_defaults (void)
{
  const char *files[] = { "route-two-defaults.txt", "route-two-defaults-reversed.txt" };

  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PlGateway) gateway = parse_route_file (files[i], &error);

      g_assert_no_error (error);
      assert_gateway (gateway, "192.168.1.254", "eth0", 100);
    }
}

static void
test_proc_no_default (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlGateway) gateway = parse_route_file ("route-no-default.txt", &error);

  assert_no_gateway (gateway, error);
}

static void
test_proc_no_gateway_flag (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlGateway) gateway = parse_route_file ("route-no-gateway-flag.txt", &error);

  assert_no_gateway (gateway, error);
}

static void
test_proc_malformed (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlGateway) gateway = parse_route_file ("route-malformed.txt", &error);

  g_assert_no_error (error);
  assert_gateway (gateway, "192.168.1.1", "eth0", 700);
}

static void
test_proc_empty (void)
{
  const char *inputs[] = {
    "",
    "\n\n\n",
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n",
  };

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(PlGateway) gateway = parse_route_file ("route-empty.txt", &error);

    assert_no_gateway (gateway, error);
  }

  for (gsize i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PlGateway) gateway = pl_gateway_parse_proc_route (inputs[i], &error);

      assert_no_gateway (gateway, error);
    }
}

static void
test_proc_vpn (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlGateway) gateway = parse_route_file ("route-vpn.txt", &error);

  /* Not the OpenVPN /1 halves, not the gateway-less wg0 default: the real default route. */
  g_assert_no_error (error);
  assert_gateway (gateway, "192.168.1.1", "eth0", 600);
}

static void
test_proc_ties (void)
{
  const char *contents =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t0101A8C0\t0003\t0\t0\t10\t00000000\t0\t0\t0\n"
    "eth1\t00000000\t0100000A\t0003\t0\t0\t10\t00000000\t0\t0\t0\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(PlGateway) gateway = pl_gateway_parse_proc_route (contents, &error);

  g_assert_no_error (error);
  assert_gateway (gateway, "192.168.1.1", "eth0", 10);
}

static void
test_proc_flags (void)
{
  /* RTF_REJECT (0x0200) and a route that is not up are skipped; RTF_DYNAMIC etc. are fine. */
  const char *contents =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t0101A8C0\t0203\t0\t0\t1\t00000000\t0\t0\t0\n"
    "eth1\t00000000\t0201A8C0\t0002\t0\t0\t2\t00000000\t0\t0\t0\n"
    "eth2\t00000000\t0301A8C0\t0013\t0\t0\t3\t00000000\t0\t0\t0\n"
    "eth3\t00000000\t00000000\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(PlGateway) gateway = pl_gateway_parse_proc_route (contents, &error);

  g_assert_no_error (error);
  assert_gateway (gateway, "192.168.1.3", "eth2", 3);
}

static void
test_proc_metric_range (void)
{
  /* The kernel prints the u32 metric with %d: -1 is 4294967295 and loses to 5. */
  const char *contents =
    "eth0\t00000000\t0101A8C0\t0003\t0\t0\t-1\t00000000\t0\t0\t0\n"
    "eth1\t00000000\t0100000A\t0003\t0\t0\t5\t00000000\t0\t0\t0\n";
  const char *only_negative =
    "eth0\t00000000\t0101A8C0\t0003\t0\t0\t-2147483648\t00000000\t0\t0\t0\n"
    "eth1\t00000000\t0100000A\t0003\t0\t0\t-2147483649\t00000000\t0\t0\t0\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(PlGateway) gateway = NULL;

  /* No header line: rows are still read. */
  gateway = pl_gateway_parse_proc_route (contents, &error);
  g_assert_no_error (error);
  assert_gateway (gateway, "10.0.0.1", "eth1", 5);
  g_clear_pointer (&gateway, pl_gateway_free);

  gateway = pl_gateway_parse_proc_route (only_negative, &error);
  g_assert_no_error (error);
  assert_gateway (gateway, "192.168.1.1", "eth0", 2147483648u);
}

static void
test_proc_byte_order (void)
{
  const guint8 bytes[4] = { 10, 2, 0, 1 };
  g_autoptr(GError) error = NULL;
  g_autoptr(PlGateway) gateway = NULL;
  g_autofree char *contents = NULL;
  guint32 in_memory;

  /* What this host's kernel would print for 10.2.0.1, whatever its byte order. */
  memcpy (&in_memory, bytes, sizeof in_memory);
  contents = g_strdup_printf ("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n"
                              "wg0\t00000000\t%08X\t0003\t0\t0\t0\t00000000\n", in_memory);

  gateway = pl_gateway_parse_proc_route (contents, &error);
  g_assert_no_error (error);
  g_assert_nonnull (gateway);
  g_assert_cmpmem (g_inet_address_to_bytes (gateway->address), 4, bytes, 4);
  g_assert_cmpstr (gateway->interface, ==, "wg0");
}

/* Addresses ------------------------------------------------------------------------------- */

static void
test_address_accept (void)
{
  const char *accepted[] = {
    "192.168.1.1", "10.2.0.1", "172.16.0.1", "127.0.0.1", "100.64.0.1", "1.2.3.4",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (accepted); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GInetAddress) address = pl_gateway_parse_address (accepted[i], &error);
      g_autofree char *text = NULL;

      g_assert_no_error (error);
      g_assert_nonnull (address);
      g_assert_cmpint (g_inet_address_get_family (address), ==, G_SOCKET_FAMILY_IPV4);
      text = g_inet_address_to_string (address);
      g_assert_cmpstr (text, ==, accepted[i]);
    }
}

static void
test_address_reject (void)
{
  const struct
  {
    const char *text;
    const char *message;
  } rejected[] = {
    { "", "The gateway address is empty; give an IPv4 address such as 192.168.1.1" },
    { "router.lan", "“router.lan” is not an IPv4 address" },
    { "localhost", "“localhost” is not an IPv4 address" },
    { "1.2.3", "“1.2.3” is not an IPv4 address" },
    { "256.1.1.1", "“256.1.1.1” is not an IPv4 address" },
    { "1.2.3.4.5", "“1.2.3.4.5” is not an IPv4 address" },
    { "192.168.001.1", "“192.168.001.1” is not an IPv4 address" },
    { "0x7f.0.0.1", "“0x7f.0.0.1” is not an IPv4 address" },
    { "3232235777", "“3232235777” is not an IPv4 address" },
    { "1.2.3.4:5351", "“1.2.3.4:5351” is not an IPv4 address" },
    { "1.2.3.4/24", "“1.2.3.4/24” is not an IPv4 address" },
    { "-1.2.3.4", "“-1.2.3.4” is not an IPv4 address" },
    { "1.2.3.4 5", "“1.2.3.4 5” is not an IPv4 address" },
    { " 1.2.3.4", "“ 1.2.3.4” has spaces around it; give only the IPv4 address" },
    { "1.2.3.4 ", "“1.2.3.4 ” has spaces around it; give only the IPv4 address" },
    { "1.2.3.4\n", "“1.2.3.4\n” has spaces around it; give only the IPv4 address" },
    { "\t1.2.3.4", "“\t1.2.3.4” has spaces around it; give only the IPv4 address" },
    { "::1", "“::1” is an IPv6 address; NAT-PMP needs the gateway’s IPv4 address" },
    { "fe80::1", "“fe80::1” is an IPv6 address; NAT-PMP needs the gateway’s IPv4 address" },
    { "::ffff:192.168.1.1",
      "“::ffff:192.168.1.1” is an IPv6 address; NAT-PMP needs the gateway’s IPv4 address" },
    { "0.0.0.0", "“0.0.0.0” cannot be a gateway; give the router’s address" },
    { "224.0.0.1", "“224.0.0.1” cannot be a gateway; give the router’s address" },
    { "255.255.255.255", "“255.255.255.255” cannot be a gateway; give the router’s address" },
    { "r\xc3\xa9seau\xff", "“réseau\xef\xbf\xbd” is not an IPv4 address" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rejected); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GInetAddress) address = pl_gateway_parse_address (rejected[i].text, &error);
      g_autofree char *escaped = g_strescape (rejected[i].text, NULL);

      g_test_message ("rejecting \"%s\"", escaped);
      g_assert_null (address);
      g_assert_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_assert_cmpstr (error->message, ==, rejected[i].message);
    }
}

static void
test_address_null (void)
{
  if (g_test_subprocess ())
    {
      pl_gateway_parse_address (NULL, NULL);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*text != NULL*");
}

/* Discovery on this machine --------------------------------------------------------------- */

static void
test_discover_system (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) proc_error = NULL;
  g_autoptr(PlGateway) gateway = NULL;
  g_autoptr(PlGateway) expected = NULL;
  g_autofree char *contents = NULL;

  gateway = pl_gateway_discover (&error);

  if (!g_file_get_contents ("/proc/net/route", &contents, NULL, NULL))
    {
      g_assert_true ((gateway != NULL && error == NULL)
                     || g_error_matches (error, PL_ERROR, PL_ERROR_NO_GATEWAY));
      g_test_skip ("/proc/net/route is not readable: cannot cross-check");
      return;
    }

  expected = pl_gateway_parse_proc_route (contents, &proc_error);

  if (expected == NULL)
    {
      g_assert_error (proc_error, PL_ERROR, PL_ERROR_NO_GATEWAY);
      assert_no_gateway (gateway, error);
      g_test_message ("No default route on this machine");
      return;
    }

  g_assert_no_error (error);
  g_assert_nonnull (gateway);
  g_assert_true (g_inet_address_equal (gateway->address, expected->address));
  g_assert_cmpstr (gateway->interface, ==, expected->interface);
  g_assert_cmpuint (gateway->metric, ==, expected->metric);

  {
    g_autofree char *text = g_inet_address_to_string (gateway->address);

    g_test_message ("Default gateway %s on %s, metric %u", text, gateway->interface,
                    gateway->metric);
  }
}

/* Netlink buffers ------------------------------------------------------------------------- */

#define SEQ  4242
#define PORT 777

typedef struct
{
  GByteArray *data;
  gsize       start;          /* offset of the open message */
} NlBuilder;

static void
nl_pad (NlBuilder *b)
{
  static const guint8 zeros[4] = { 0 };

  g_byte_array_append (b->data, zeros, NLMSG_ALIGN (b->data->len) - b->data->len);
}

static void
nl_put (NlBuilder  *b,
        const void *data,
        gsize       len)
{
  g_byte_array_append (b->data, data, len);
  nl_pad (b);
}

static void
nl_begin (NlBuilder *b,
          guint16    type,
          guint16    flags,
          guint32    seq,
          guint32    port)
{
  struct nlmsghdr nlh = { 0 };

  nlh.nlmsg_type = type;
  nlh.nlmsg_flags = flags;
  nlh.nlmsg_seq = seq;
  nlh.nlmsg_pid = port;

  b->start = b->data->len;
  nl_put (b, &nlh, sizeof nlh);
}

static void
nl_end (NlBuilder *b)
{
  guint32 len = b->data->len - b->start;

  memcpy (b->data->data + b->start + G_STRUCT_OFFSET (struct nlmsghdr, nlmsg_len),
          &len, sizeof len);
}

static void
nl_attr (NlBuilder  *b,
         guint16     type,
         const void *data,
         gsize       len)
{
  struct rtattr rta = { 0 };

  rta.rta_len = RTA_LENGTH (len);
  rta.rta_type = type;
  g_byte_array_append (b->data, (const guint8 *) &rta, sizeof rta);
  nl_put (b, data, len);
}

static void
nl_attr_u32 (NlBuilder *b,
             guint16    type,
             guint32    value)
{
  nl_attr (b, type, &value, sizeof value);
}

static void
nl_attr_ipv4 (NlBuilder  *b,
              guint16     type,
              const char *text)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (text);

  g_assert_nonnull (address);
  nl_attr (b, type, g_inet_address_to_bytes (address), 4);
}

static void
nl_done (NlBuilder *b)
{
  int status = 0;

  nl_begin (b, NLMSG_DONE, NLM_F_MULTI, SEQ, PORT);
  nl_put (b, &status, sizeof status);
  nl_end (b);
}

typedef struct
{
  guint8      family;         /* 0: AF_INET */
  guint8      dst_len;
  guint8      table;          /* 0: RT_TABLE_MAIN */
  guint8      type;           /* 0: RTN_UNICAST */
  const char *destination;
  const char *gateway;        /* NULL: no RTA_GATEWAY */
  guint32     oif;            /* 0: no RTA_OIF */
  gboolean    has_metric;
  guint32     metric;
  gboolean    has_table_attr;
  guint32     table_attr;
} Route;

/* Opens an RTM_NEWROUTE message and its attributes; close it with nl_end(). */
static void
nl_route_begin (NlBuilder   *b,
                const Route *r)
{
  struct rtmsg rtm = { 0 };

  rtm.rtm_family = r->family != 0 ? r->family : AF_INET;
  rtm.rtm_dst_len = r->dst_len;
  rtm.rtm_table = r->table != 0 ? r->table : RT_TABLE_MAIN;
  rtm.rtm_type = r->type != 0 ? r->type : RTN_UNICAST;
  rtm.rtm_protocol = RTPROT_DHCP;
  rtm.rtm_scope = RT_SCOPE_UNIVERSE;

  nl_begin (b, RTM_NEWROUTE, NLM_F_MULTI, SEQ, PORT);
  nl_put (b, &rtm, sizeof rtm);

  if (r->has_table_attr)
    nl_attr_u32 (b, RTA_TABLE, r->table_attr);
  if (r->destination != NULL)
    nl_attr_ipv4 (b, RTA_DST, r->destination);
  if (r->has_metric)
    nl_attr_u32 (b, RTA_PRIORITY, r->metric);
  if (r->gateway != NULL)
    nl_attr_ipv4 (b, RTA_GATEWAY, r->gateway);
  if (r->oif != 0)
    nl_attr_u32 (b, RTA_OIF, r->oif);
}

static void
nl_route (NlBuilder   *b,
          const Route *r)
{
  nl_route_begin (b, r);
  nl_end (b);
}

static NlBuilder *
nl_builder_new (void)
{
  NlBuilder *b = g_new0 (NlBuilder, 1);

  b->data = g_byte_array_new ();
  return b;
}

static void
nl_builder_free (NlBuilder *b)
{
  g_byte_array_unref (b->data);
  g_free (b);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlBuilder, nl_builder_free)

/* Parses @len bytes of the builder from an aligned copy, so that reads past @len are caught
 * by valgrind and ASan. */
static PlGatewayNetlinkStatus
parse_bytes (NlBuilder           *b,
             gsize                len,
             PlGatewayCandidate  *best,
             GError             **error)
{
  g_autofree guint8 *copy = g_malloc (MAX (len, 1));

  g_assert_cmpuint (len, <=, b->data->len);
  memcpy (copy, b->data->data, len);

  return _pl_gateway_parse_netlink (copy, len, SEQ, PORT, best, error);
}

static PlGatewayNetlinkStatus
parse (NlBuilder           *b,
       PlGatewayCandidate  *best,
       GError             **error)
{
  return parse_bytes (b, b->data->len, best, error);
}

static void
assert_candidate (const PlGatewayCandidate *best,
                  const char               *gateway,
                  guint32                   ifindex,
                  guint32                   metric)
{
  g_autoptr(GInetAddress) want = g_inet_address_new_from_string (gateway);

  g_assert_true (best->found);
  g_assert_cmpmem (best->gateway, 4, g_inet_address_to_bytes (want), 4);
  g_assert_cmpuint (best->ifindex, ==, ifindex);
  g_assert_cmpuint (best->metric, ==, metric);
}

static void
test_netlink_multipart (void)
{
  g_autoptr(NlBuilder) b = nl_builder_new ();
  g_autoptr(GError) error = NULL;
  PlGatewayCandidate best = { 0 };

  nl_route (b, &(Route) { .gateway = "10.0.0.1", .oif = 3, .has_metric = TRUE, .metric = 600 });
  nl_route (b, &(Route) { .gateway = "192.168.1.1", .oif = 2, .has_metric = TRUE,
                          .metric = 100 });
  nl_done (b);

  g_assert_cmpint (parse (b, &best, &error), ==, PL_GATEWAY_NETLINK_DONE);
  g_assert_no_error (error);
  assert_candidate (&best, "192.168.1.1", 2, 100);
}

static void
test_netlink_split (void)
{
  g_autoptr(NlBuilder) first = nl_builder_new ();
  g_autoptr(NlBuilder) second = nl_builder_new ();
  g_autoptr(GError) error = NULL;
  PlGatewayCandidate best = { 0 };

  /* Two receives: the lower metric comes in the second part; ties keep the first. */
  nl_route (first, &(Route) { .gateway = "192.168.1.1", .oif = 2, .has_metric = TRUE,
                              .metric = 100 });
  nl_route (second, &(Route) { .gateway = "10.0.0.1", .oif = 3, .has_metric = TRUE,
                               .metric = 100 });
  nl_route (second, &(Route) { .gateway = "10.0.0.254", .oif = 4 });
  nl_done (second);

  g_assert_cmpint (parse (first, &best, &error), ==, PL_GATEWAY_NETLINK_MORE);
  g_assert_no_error (error);
  assert_candidate (&best, "192.168.1.1", 2, 100);

  /* No RTA_PRIORITY: metric 0, which wins. */
  g_assert_cmpint (parse (second, &best, &error), ==, PL_GATEWAY_NETLINK_DONE);
  g_assert_no_error (error);
  assert_candidate (&best, "10.0.0.254", 4, 0);
}

static void
test_netlink_truncated (void)
{
  g_autoptr(NlBuilder) b = nl_builder_new ();
  gsize cuts[] = { 1, 8, 15, 20, 40 };

  nl_route (b, &(Route) { .gateway = "192.168.1.1", .oif = 2, .has_metric = TRUE,
                          .metric = 100 });
  nl_done (b);

  for (gsize i = 0; i < G_N_ELEMENTS (cuts); i++)
    {
      g_autoptr(GError) error = NULL;
      PlGatewayCandidate best = { 0 };

      g_assert_cmpuint (cuts[i], <, b->data->len);
      g_assert_cmpint (parse_bytes (b, cuts[i], &best, &error), ==, PL_GATEWAY_NETLINK_FAILED);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_assert_false (best.found);
    }

  /* Cut inside the NLMSG_DONE message: the route is read, then the rest is an error. */
  {
    g_autoptr(GError) error = NULL;
    PlGatewayCandidate best = { 0 };

    g_assert_cmpint (parse_bytes (b, b->data->len - 2, &best, &error), ==,
                     PL_GATEWAY_NETLINK_FAILED);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  }

  /* An nlmsg_len that claims more than the buffer holds. */
  {
    g_autoptr(GError) error = NULL;
    PlGatewayCandidate best = { 0 };
    guint32 huge = G_MAXUINT32;

    memcpy (b->data->data, &huge, sizeof huge);
    g_assert_cmpint (parse (b, &best, &error), ==, PL_GATEWAY_NETLINK_FAILED);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  }

  /* A route message too short to hold its struct rtmsg. */
  {
    g_autoptr(NlBuilder) shorty = nl_builder_new ();
    g_autoptr(GError) error = NULL;
    PlGatewayCandidate best = { 0 };
    guint32 word = 0;

    nl_begin (shorty, RTM_NEWROUTE, NLM_F_MULTI, SEQ, PORT);
    nl_put (shorty, &word, sizeof word);
    nl_end (shorty);
    nl_done (shorty);
    g_assert_cmpint (parse (shorty, &best, &error), ==, PL_GATEWAY_NETLINK_FAILED);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  }

  /* Empty: nothing yet. */
  {
    g_autoptr(GError) error = NULL;
    PlGatewayCandidate best = { 0 };

    g_assert_cmpint (parse_bytes (b, 0, &best, &error), ==, PL_GATEWAY_NETLINK_MORE);
    g_assert_no_error (error);
  }
}

static void
test_netlink_filters (void)
{
  g_autoptr(NlBuilder) b = nl_builder_new ();
  g_autoptr(GError) error = NULL;
  PlGatewayCandidate best = { 0 };

  /* A non-default route, with the lowest metric. */
  nl_route (b, &(Route) { .dst_len = 24, .destination = "10.10.0.0", .gateway = "10.0.0.9",
                          .oif = 5, .has_metric = TRUE, .metric = 0 });
  /* A default route without a gateway (wg-quick, ppp). */
  nl_route (b, &(Route) { .oif = 6 });
  /* A default route in table 51820 (wg-quick), and one whose RTA_TABLE overrides "main". */
  nl_route (b, &(Route) { .table = 100, .gateway = "10.2.0.1", .oif = 7 });
  nl_route (b, &(Route) { .has_table_attr = TRUE, .table_attr = 51820, .gateway = "10.2.0.2",
                          .oif = 7 });
  /* RTA_TABLE saying main while rtm_table says something else (tables > 255). */
  nl_route (b, &(Route) { .table = RT_TABLE_COMPAT, .has_table_attr = TRUE,
                          .table_attr = RT_TABLE_MAIN, .gateway = "192.168.1.1", .oif = 2,
                          .has_metric = TRUE, .metric = 100 });
  /* Not unicast, and not IPv4. */
  nl_route (b, &(Route) { .type = RTN_BLACKHOLE, .gateway = "10.9.9.9" });
  nl_route (b, &(Route) { .family = AF_INET6 });
  /* The local table. */
  nl_route (b, &(Route) { .table = RT_TABLE_LOCAL, .gateway = "127.0.0.1", .oif = 1 });
  nl_done (b);

  g_assert_cmpint (parse (b, &best, &error), ==, PL_GATEWAY_NETLINK_DONE);
  g_assert_no_error (error);
  assert_candidate (&best, "192.168.1.1", 2, 100);
}

static void
test_netlink_no_default (void)
{
  g_autoptr(NlBuilder) b = nl_builder_new ();
  g_autoptr(GError) error = NULL;
  PlGatewayCandidate best = { 0 };

  nl_route (b, &(Route) { .dst_len = 24, .destination = "192.168.1.0", .oif = 2 });
  nl_route (b, &(Route) { .has_table_attr = TRUE, .table_attr = 51820, .gateway = "10.2.0.1" });
  nl_done (b);

  g_assert_cmpint (parse (b, &best, &error), ==, PL_GATEWAY_NETLINK_DONE);
  g_assert_no_error (error);
  g_assert_false (best.found);
}

static void
test_netlink_error (void)
{
  g_autoptr(NlBuilder) b = nl_builder_new ();
  g_autoptr(GError) error = NULL;
  PlGatewayCandidate best = { 0 };
  struct nlmsgerr err = { 0 };

  err.error = -EPERM;
  err.msg.nlmsg_type = RTM_GETROUTE;
  nl_begin (b, NLMSG_ERROR, 0, SEQ, PORT);
  nl_put (b, &err, sizeof err);
  nl_end (b);

  g_assert_cmpint (parse (b, &best, &error), ==, PL_GATEWAY_NETLINK_FAILED);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
}

static void
test_netlink_error_short (void)
{
  g_autoptr(NlBuilder) b = nl_builder_new ();
  g_autoptr(GError) error = NULL;
  PlGatewayCandidate best = { 0 };
  int code = -EPERM;

  nl_begin (b, NLMSG_ERROR, 0, SEQ, PORT);
  nl_put (b, &code, sizeof code);
  nl_end (b);

  g_assert_cmpint (parse (b, &best, &error), ==, PL_GATEWAY_NETLINK_FAILED);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
}

static void
test_netlink_done_with_error (void)
{
  g_autoptr(NlBuilder) b = nl_builder_new ();
  g_autoptr(GError) error = NULL;
  PlGatewayCandidate best = { 0 };
  int status = -EINTR;

  nl_route (b, &(Route) { .gateway = "192.168.1.1", .oif = 2 });
  nl_begin (b, NLMSG_DONE, NLM_F_MULTI, SEQ, PORT);
  nl_put (b, &status, sizeof status);
  nl_end (b);

  g_assert_cmpint (parse (b, &best, &error), ==, PL_GATEWAY_NETLINK_FAILED);
  g_assert_nonnull (error);
  g_assert_true (error->domain == G_IO_ERROR);
}

static void
test_netlink_foreign (void)
{
  g_autoptr(NlBuilder) b = nl_builder_new ();
  g_autoptr(GError) error = NULL;
  PlGatewayCandidate best = { 0 };
  struct nlmsgerr err = { 0 };
  int status = 0;

  /* Another request's answers (wrong seq, wrong port) are ignored, even errors and DONE. */
  nl_begin (b, RTM_NEWROUTE, NLM_F_MULTI, SEQ + 1, PORT);
  {
    struct rtmsg rtm = { .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN,
                         .rtm_type = RTN_UNICAST };

    nl_put (b, &rtm, sizeof rtm);
    nl_attr_ipv4 (b, RTA_GATEWAY, "10.6.6.6");
  }
  nl_end (b);

  err.error = -EPERM;
  nl_begin (b, NLMSG_ERROR, 0, SEQ, PORT + 1);
  nl_put (b, &err, sizeof err);
  nl_end (b);

  nl_begin (b, NLMSG_DONE, NLM_F_MULTI, SEQ - 1, PORT);
  nl_put (b, &status, sizeof status);
  nl_end (b);

  nl_begin (b, NLMSG_NOOP, 0, SEQ, PORT);
  nl_end (b);

  nl_route (b, &(Route) { .gateway = "192.168.1.1", .oif = 2 });

  g_assert_cmpint (parse (b, &best, &error), ==, PL_GATEWAY_NETLINK_MORE);
  g_assert_no_error (error);
  assert_candidate (&best, "192.168.1.1", 2, 0);
}

static void
test_netlink_single_part (void)
{
  g_autoptr(NlBuilder) b = nl_builder_new ();
  g_autoptr(GError) error = NULL;
  PlGatewayCandidate best = { 0 };
  struct rtmsg rtm = { .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN,
                       .rtm_type = RTN_UNICAST };

  /* A reply without NLM_F_MULTI ends the answer; anything after it is not read. */
  nl_begin (b, RTM_NEWROUTE, 0, SEQ, PORT);
  nl_put (b, &rtm, sizeof rtm);
  nl_attr_ipv4 (b, RTA_GATEWAY, "192.168.1.1");
  nl_end (b);
  nl_route (b, &(Route) { .gateway = "10.0.0.1", .has_metric = FALSE });

  g_assert_cmpint (parse (b, &best, &error), ==, PL_GATEWAY_NETLINK_DONE);
  g_assert_no_error (error);
  assert_candidate (&best, "192.168.1.1", 0, 0);
}

static void
test_netlink_bad_attributes (void)
{
  g_autoptr(NlBuilder) b = nl_builder_new ();
  g_autoptr(GError) error = NULL;
  PlGatewayCandidate best = { 0 };
  const guint8 six[6] = { 10, 0, 0, 1, 0, 0 };
  const guint8 two[2] = { 0, 1 };

  /* An RTA_GATEWAY of the wrong size, and an RTA_PRIORITY of 2 bytes: routes skipped. */
  nl_route_begin (b, &(Route) { .oif = 3 });
  nl_attr (b, RTA_GATEWAY, six, sizeof six);
  nl_end (b);

  nl_route_begin (b, &(Route) { .gateway = "10.0.0.2", .oif = 3 });
  nl_attr (b, RTA_PRIORITY, two, sizeof two);
  nl_end (b);

  /* An attribute whose length runs past the message: skipped, the dump goes on. */
  nl_route_begin (b, &(Route) { .gateway = "10.0.0.3", .oif = 3 });
  {
    struct rtattr rta = { .rta_len = 64, .rta_type = RTA_TABLE };

    nl_put (b, &rta, sizeof rta);
  }
  nl_end (b);

  nl_route (b, &(Route) { .gateway = "192.168.1.1", .oif = 2, .has_metric = TRUE,
                          .metric = 5 });
  nl_done (b);

  g_assert_cmpint (parse (b, &best, &error), ==, PL_GATEWAY_NETLINK_DONE);
  g_assert_no_error (error);
  assert_candidate (&best, "192.168.1.1", 2, 5);
}

static void
nl_nexthop (NlBuilder  *b,
            guint8      flags,
            int         ifindex,
            const char *gateway)
{
  struct rtnexthop rtnh = { 0 };
  gsize start = b->data->len;
  guint16 len;

  rtnh.rtnh_flags = flags;
  rtnh.rtnh_ifindex = ifindex;
  nl_put (b, &rtnh, sizeof rtnh);
  if (gateway != NULL)
    nl_attr_ipv4 (b, RTA_GATEWAY, gateway);

  len = b->data->len - start;
  memcpy (b->data->data + start + G_STRUCT_OFFSET (struct rtnexthop, rtnh_len), &len, sizeof len);
}

static void
test_netlink_multipath (void)
{
  g_autoptr(NlBuilder) b = nl_builder_new ();
  g_autoptr(GError) error = NULL;
  PlGatewayCandidate best = { 0 };
  struct rtattr rta = { .rta_type = RTA_MULTIPATH };
  gsize start;
  guint16 len;

  /* ECMP default: no top-level gateway; the first live next hop with a gateway is used. */
  nl_route_begin (b, &(Route) { .has_metric = TRUE, .metric = 10 });
  start = b->data->len;
  nl_put (b, &rta, sizeof rta);
  nl_nexthop (b, RTNH_F_DEAD, 4, "10.0.0.4");
  nl_nexthop (b, 0, 5, NULL);
  nl_nexthop (b, 0, 6, "10.0.0.6");
  nl_nexthop (b, 0, 7, "10.0.0.7");
  len = b->data->len - start;
  memcpy (b->data->data + start, &len, sizeof len);
  nl_end (b);

  nl_route (b, &(Route) { .gateway = "192.168.1.1", .oif = 2, .has_metric = TRUE,
                          .metric = 100 });
  nl_done (b);

  g_assert_cmpint (parse (b, &best, &error), ==, PL_GATEWAY_NETLINK_DONE);
  g_assert_no_error (error);
  assert_candidate (&best, "10.0.0.6", 6, 10);
}

static void
test_netlink_multipath_truncated (void)
{
  g_autoptr(NlBuilder) b = nl_builder_new ();
  g_autoptr(GError) error = NULL;
  PlGatewayCandidate best = { 0 };
  struct rtattr rta = { .rta_type = RTA_MULTIPATH };
  struct rtnexthop rtnh = { .rtnh_len = 200, .rtnh_ifindex = 4 };
  gsize start;
  guint16 len;

  /* A next hop claiming more than its attribute holds is not read past. */
  nl_route_begin (b, &(Route) { .has_metric = TRUE, .metric = 10 });
  start = b->data->len;
  nl_put (b, &rta, sizeof rta);
  nl_put (b, &rtnh, sizeof rtnh);
  nl_attr_ipv4 (b, RTA_GATEWAY, "10.0.0.4");
  len = b->data->len - start;
  memcpy (b->data->data + start, &len, sizeof len);
  nl_end (b);
  nl_done (b);

  g_assert_cmpint (parse (b, &best, &error), ==, PL_GATEWAY_NETLINK_DONE);
  g_assert_no_error (error);
  g_assert_false (best.found);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/pl/gateway/proc/normal", test_proc_normal);
  g_test_add_func ("/pl/gateway/proc/two-defaults", test_proc_two_defaults);
  g_test_add_func ("/pl/gateway/proc/no-default", test_proc_no_default);
  g_test_add_func ("/pl/gateway/proc/no-gateway-flag", test_proc_no_gateway_flag);
  g_test_add_func ("/pl/gateway/proc/malformed", test_proc_malformed);
  g_test_add_func ("/pl/gateway/proc/empty", test_proc_empty);
  g_test_add_func ("/pl/gateway/proc/vpn", test_proc_vpn);
  g_test_add_func ("/pl/gateway/proc/ties", test_proc_ties);
  g_test_add_func ("/pl/gateway/proc/flags", test_proc_flags);
  g_test_add_func ("/pl/gateway/proc/metric-range", test_proc_metric_range);
  g_test_add_func ("/pl/gateway/proc/byte-order", test_proc_byte_order);
  g_test_add_func ("/pl/gateway/address/accept", test_address_accept);
  g_test_add_func ("/pl/gateway/address/reject", test_address_reject);
  g_test_add_func ("/pl/gateway/address/null", test_address_null);
  g_test_add_func ("/pl/gateway/discover/system", test_discover_system);
  g_test_add_func ("/pl/gateway/netlink/multipart", test_netlink_multipart);
  g_test_add_func ("/pl/gateway/netlink/split", test_netlink_split);
  g_test_add_func ("/pl/gateway/netlink/truncated", test_netlink_truncated);
  g_test_add_func ("/pl/gateway/netlink/filters", test_netlink_filters);
  g_test_add_func ("/pl/gateway/netlink/no-default", test_netlink_no_default);
  g_test_add_func ("/pl/gateway/netlink/error", test_netlink_error);
  g_test_add_func ("/pl/gateway/netlink/error-short", test_netlink_error_short);
  g_test_add_func ("/pl/gateway/netlink/done-with-error", test_netlink_done_with_error);
  g_test_add_func ("/pl/gateway/netlink/foreign", test_netlink_foreign);
  g_test_add_func ("/pl/gateway/netlink/single-part", test_netlink_single_part);
  g_test_add_func ("/pl/gateway/netlink/bad-attributes", test_netlink_bad_attributes);
  g_test_add_func ("/pl/gateway/netlink/multipath", test_netlink_multipath);
  g_test_add_func ("/pl/gateway/netlink/multipath-truncated", test_netlink_multipath_truncated);

  return g_test_run ();
}
