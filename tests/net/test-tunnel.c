/* test-tunnel.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <net/if.h>
#include <net/if_arp.h>

#include "pl-error.h"
#include "pl-tunnel.h"

static void
parse4 (const char *text,
        guint8      out[4])
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (text);

  g_assert_nonnull (address);
  memcpy (out, g_inet_address_to_bytes (address), 4);
}

static void
assert_derived (const char   *local,
                const char   *address,
                guint         prefix_len,
                const char   *expected,
                PlTunnelRule  expected_rule)
{
  guint8 l[4], a[4], want[4], got[4];

  parse4 (local, l);
  parse4 (address, a);
  parse4 (expected, want);
  g_assert_cmpint (pl_tunnel_derive_gateway (l, a, prefix_len, got), ==, expected_rule);
  g_assert_cmpmem (got, 4, want, 4);
}

static void
test_derive (void)
{
  /* ProtonVPN's WireGuard: 10.2.0.2/32, no peer: the documented fallback. */
  assert_derived ("10.2.0.2", "10.2.0.2", 32, PL_TUNNEL_FALLBACK_GATEWAY,
                  PL_TUNNEL_RULE_FALLBACK);
  /* Any other /32 gets the same fallback: there is no network to look in. */
  assert_derived ("10.64.12.7", "10.64.12.7", 32, "10.2.0.1", PL_TUNNEL_RULE_FALLBACK);
  /* OpenVPN's net30 and a "peer" address: the peer wins whatever the prefix. */
  assert_derived ("10.8.0.6", "10.8.0.5", 32, "10.8.0.5", PL_TUNNEL_RULE_PEER);
  assert_derived ("10.8.0.6", "10.8.0.1", 24, "10.8.0.1", PL_TUNNEL_RULE_PEER);
  /* A network: its first host... */
  assert_derived ("10.8.0.6", "10.8.0.6", 24, "10.8.0.1", PL_TUNNEL_RULE_FIRST_HOST);
  assert_derived ("172.16.5.200", "172.16.5.200", 16, "172.16.0.1",
                  PL_TUNNEL_RULE_FIRST_HOST);
  assert_derived ("10.8.0.6", "10.8.0.6", 30, "10.8.0.5", PL_TUNNEL_RULE_FIRST_HOST);
  /* ...unless that is us: then the next one. */
  assert_derived ("10.8.0.1", "10.8.0.1", 24, "10.8.0.2", PL_TUNNEL_RULE_FIRST_HOST);
  /* /31 (RFC 3021): the other address. */
  assert_derived ("10.9.0.0", "10.9.0.0", 31, "10.9.0.1", PL_TUNNEL_RULE_FIRST_HOST);
  assert_derived ("10.9.0.1", "10.9.0.1", 31, "10.9.0.0", PL_TUNNEL_RULE_FIRST_HOST);
}

static void
test_link (void)
{
  /* WireGuard and tun: no link-layer header, point-to-point. */
  g_assert_true (pl_tunnel_link_is_tunnel (ARPHRD_NONE, IFF_UP | IFF_POINTOPOINT | IFF_NOARP));
  g_assert_true (pl_tunnel_link_is_tunnel (ARPHRD_NONE, IFF_UP));
  /* PPP, ipip. */
  g_assert_true (pl_tunnel_link_is_tunnel (ARPHRD_PPP, IFF_UP | IFF_POINTOPOINT));
  g_assert_true (pl_tunnel_link_is_tunnel (ARPHRD_TUNNEL, IFF_UP | IFF_NOARP));
  /* An Ethernet without ARP is a point-to-point link in all but name. */
  g_assert_true (pl_tunnel_link_is_tunnel (ARPHRD_ETHER, IFF_UP | IFF_NOARP));
  /* Ordinary Ethernet and Wi-Fi: a gateway-less default there is no tunnel. */
  g_assert_false (pl_tunnel_link_is_tunnel (ARPHRD_ETHER, IFF_UP | IFF_BROADCAST |
                                            IFF_MULTICAST));
  g_assert_false (pl_tunnel_link_is_tunnel (ARPHRD_LOOPBACK, IFF_UP | IFF_LOOPBACK));
}

static void
test_route (void)
{
  guint8 dst[4];

  parse4 ("0.0.0.0", dst);
  g_assert_true (pl_tunnel_route_is_internet (dst, 0));
  g_assert_true (pl_tunnel_route_is_internet (dst, 1));
  g_assert_false (pl_tunnel_route_is_internet (dst, 8));
  parse4 ("128.0.0.0", dst);
  g_assert_true (pl_tunnel_route_is_internet (dst, 1));
  g_assert_false (pl_tunnel_route_is_internet (dst, 2));
  parse4 ("10.0.0.0", dst);
  g_assert_false (pl_tunnel_route_is_internet (dst, 1));
  g_assert_false (pl_tunnel_route_is_internet (dst, 8));
}

/* The real kernel: whatever this machine has, the answer is a tunnel with a gateway on a
 * named interface, or the plain "No VPN tunnel is up". */
static void
test_discover_here (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlTunnel) tunnel = pl_tunnel_discover (&error);

  if (tunnel == NULL)
    {
      g_assert_nonnull (error);
      if (g_error_matches (error, PL_ERROR, PL_ERROR_NO_GATEWAY))
        g_assert_cmpstr (error->message, ==, "No VPN tunnel is up");
      return;
    }
  g_assert_no_error (error);
  g_assert_nonnull (tunnel->gateway);
  g_assert_cmpint (g_inet_address_get_family (tunnel->gateway), ==, G_SOCKET_FAMILY_IPV4);
  g_assert_cmpuint (tunnel->ifindex, >, 0);
}

int
main (int argc, char *argv[])
{
  g_setenv ("LANGUAGE", "C", TRUE);
  g_setenv ("LC_ALL", "C", TRUE);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/tunnel/derive", test_derive);
  g_test_add_func ("/tunnel/link", test_link);
  g_test_add_func ("/tunnel/route", test_route);
  g_test_add_func ("/tunnel/discover-here", test_discover_here);

  return g_test_run ();
}
