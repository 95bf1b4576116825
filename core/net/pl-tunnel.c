/* pl-tunnel.c: the gateway to ask behind a VPN tunnel
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <glib/gi18n-lib.h>

#include "pl-error.h"
#include "pl-netlink.h"
#include "pl-tunnel.h"

const char *
pl_tunnel_rule_to_string (PlTunnelRule rule)
{
  switch (rule)
    {
    case PL_TUNNEL_RULE_PEER:
      return "peer address";
    case PL_TUNNEL_RULE_FIRST_HOST:
      return "first host of the network";
    case PL_TUNNEL_RULE_FALLBACK:
    default:
      return "well-known VPN gateway " PL_TUNNEL_FALLBACK_GATEWAY;
    }
}

static guint32
load_be32 (const guint8 b[4])
{
  return ((guint32) b[0] << 24) | ((guint32) b[1] << 16) | ((guint32) b[2] << 8) | b[3];
}

static void
store_be32 (guint32 v,
            guint8  b[4])
{
  b[0] = (guint8) (v >> 24);
  b[1] = (guint8) (v >> 16);
  b[2] = (guint8) (v >> 8);
  b[3] = (guint8) v;
}

/**
 * pl_tunnel_derive_gateway:
 * @local: the tunnel's own IPv4 address (IFA_LOCAL), network order
 * @address: IFA_ADDRESS: the peer on a point-to-point address, else the same as @local
 * @prefix_len: the address's prefix length
 * @gateway: (out caller-allocates): the gateway to ask
 *
 * Returns: which rule gave @gateway
 */
PlTunnelRule
pl_tunnel_derive_gateway (const guint8 local[4],
                          const guint8 address[4],
                          guint        prefix_len,
                          guint8       gateway[4])
{
  guint32 own = load_be32 (local);
  guint32 mask;
  guint32 network;

  if (memcmp (local, address, 4) != 0 && load_be32 (address) != 0)
    {
      memcpy (gateway, address, 4);
      return PL_TUNNEL_RULE_PEER;
    }

  if (prefix_len == 31)
    {
      store_be32 (own ^ 1, gateway);
      return PL_TUNNEL_RULE_FIRST_HOST;
    }

  if (prefix_len >= 1 && prefix_len <= 30)
    {
      mask = prefix_len == 0 ? 0 : G_MAXUINT32 << (32 - prefix_len);
      network = own & mask;
      store_be32 (network + 1 == own ? network + 2 : network + 1, gateway);
      return PL_TUNNEL_RULE_FIRST_HOST;
    }

  /* /32 (or a meaningless /0): no network to look in. */
  store_be32 ((10u << 24) | (2u << 16) | 1u, gateway);
  return PL_TUNNEL_RULE_FALLBACK;
}

gboolean
pl_tunnel_link_is_tunnel (guint16 type,
                          guint   flags)
{
  return type == ARPHRD_NONE || (flags & (IFF_POINTOPOINT | IFF_NOARP)) != 0;
}

gboolean
pl_tunnel_route_is_internet (const guint8 dst[4],
                             guint        dst_len)
{
  if (dst_len == 0)
    return TRUE;
  if (dst_len != 1)
    return FALSE;
  return (dst[0] == 0 || dst[0] == 128) && dst[1] == 0 && dst[2] == 0 && dst[3] == 0;
}

void
pl_tunnel_free (PlTunnel *tunnel)
{
  if (tunnel == NULL)
    return;
  g_clear_object (&tunnel->gateway);
  g_clear_pointer (&tunnel->interface, g_free);
  g_free (tunnel);
}

/* Netlink ---------------------------------------------------------------------------------- */

typedef struct
{
  guint32  ifindex;
  guint32  metric;
  guint32  table;
  gboolean def1;
} RouteCandidate;

typedef struct
{
  GArray   *routes;           /* RouteCandidate: gateway-less Internet routes */
  gboolean  gateway_default;  /* main has a default route with a gateway... */
  guint32   gateway_metric;   /* ...with this lowest metric */
} RouteScan;

static gboolean
route_message (const struct nlmsghdr  *nlh,
               gpointer                user_data,
               GError                **error)
{
  RouteScan *scan = user_data;
  const struct rtmsg *rtm;
  const struct rtattr *rta;
  int attrlen;
  RouteCandidate candidate = { 0 };
  guint8 dst[4] = { 0 };
  gboolean has_gateway = FALSE;
  gboolean valid = TRUE;

  if (nlh->nlmsg_type != RTM_NEWROUTE)
    return TRUE;
  if (nlh->nlmsg_len < NLMSG_LENGTH (sizeof (struct rtmsg)))
    {
      _pl_netlink_set_malformed (error, "route message too short");
      return FALSE;
    }
  rtm = NLMSG_DATA (nlh);
  if (rtm->rtm_family != AF_INET || rtm->rtm_type != RTN_UNICAST || rtm->rtm_dst_len > 1)
    return TRUE;

  candidate.table = rtm->rtm_table;
  attrlen = (int) nlh->nlmsg_len - (int) NLMSG_SPACE (sizeof (struct rtmsg));
  for (rta = RTM_RTA (rtm); RTA_OK (rta, attrlen); rta = RTA_NEXT (rta, attrlen))
    {
      switch (rta->rta_type & NLA_TYPE_MASK)
        {
        case RTA_TABLE:
          valid = valid && _pl_netlink_attr_u32 (rta, &candidate.table);
          break;
        case RTA_PRIORITY:
          valid = valid && _pl_netlink_attr_u32 (rta, &candidate.metric);
          break;
        case RTA_OIF:
          valid = valid && _pl_netlink_attr_u32 (rta, &candidate.ifindex);
          break;
        case RTA_DST:
          valid = valid && _pl_netlink_attr_copy (rta, dst, sizeof dst);
          break;
        case RTA_GATEWAY:
        case RTA_VIA:
        case RTA_MULTIPATH:
          has_gateway = TRUE;
          break;
        default:
          break;
        }
    }
  if (!valid || attrlen > 0 || !pl_tunnel_route_is_internet (dst, rtm->rtm_dst_len))
    return TRUE;

  if (has_gateway)
    {
      if (rtm->rtm_dst_len == 0 && candidate.table == RT_TABLE_MAIN &&
          (!scan->gateway_default || candidate.metric < scan->gateway_metric))
        {
          scan->gateway_default = TRUE;
          scan->gateway_metric = candidate.metric;
        }
      return TRUE;
    }
  if (candidate.ifindex == 0)
    return TRUE;
  candidate.def1 = rtm->rtm_dst_len == 1;
  g_array_append_val (scan->routes, candidate);
  return TRUE;
}

typedef struct
{
  guint32  ifindex;
  gboolean found;
  gboolean tunnel;
  char     name[IF_NAMESIZE];
} LinkScan;

static gboolean
link_message (const struct nlmsghdr  *nlh,
              gpointer                user_data,
              GError                **error)
{
  LinkScan *scan = user_data;
  const struct ifinfomsg *ifi;
  const struct rtattr *rta;
  int attrlen;

  if (nlh->nlmsg_type != RTM_NEWLINK)
    return TRUE;
  if (nlh->nlmsg_len < NLMSG_LENGTH (sizeof (struct ifinfomsg)))
    {
      _pl_netlink_set_malformed (error, "link message too short");
      return FALSE;
    }
  ifi = NLMSG_DATA (nlh);
  if ((guint32) ifi->ifi_index != scan->ifindex)
    return TRUE;

  scan->found = TRUE;
  scan->tunnel = pl_tunnel_link_is_tunnel (ifi->ifi_type, ifi->ifi_flags) &&
                 (ifi->ifi_flags & IFF_UP) != 0;
  attrlen = (int) nlh->nlmsg_len - (int) NLMSG_SPACE (sizeof (struct ifinfomsg));
  for (rta = IFLA_RTA (ifi); RTA_OK (rta, attrlen); rta = RTA_NEXT (rta, attrlen))
    {
      if ((rta->rta_type & NLA_TYPE_MASK) == IFLA_IFNAME && RTA_PAYLOAD (rta) > 0)
        {
          gsize n = MIN (RTA_PAYLOAD (rta), sizeof scan->name - 1);

          memcpy (scan->name, RTA_DATA (rta), n);
          scan->name[n] = '\0';
        }
    }
  return TRUE;
}

typedef struct
{
  guint32  ifindex;
  gboolean found;
  guint8   local[4];
  guint8   address[4];
  guint    prefix_len;
} AddrScan;

static gboolean
addr_message (const struct nlmsghdr  *nlh,
              gpointer                user_data,
              GError                **error)
{
  AddrScan *scan = user_data;
  const struct ifaddrmsg *ifa;
  const struct rtattr *rta;
  int attrlen;
  guint8 local[4] = { 0 };
  guint8 address[4] = { 0 };
  gboolean has_local = FALSE;
  gboolean has_address = FALSE;

  if (nlh->nlmsg_type != RTM_NEWADDR)
    return TRUE;
  if (nlh->nlmsg_len < NLMSG_LENGTH (sizeof (struct ifaddrmsg)))
    {
      _pl_netlink_set_malformed (error, "address message too short");
      return FALSE;
    }
  ifa = NLMSG_DATA (nlh);
  if (scan->found || ifa->ifa_family != AF_INET || ifa->ifa_index != scan->ifindex)
    return TRUE;

  attrlen = (int) nlh->nlmsg_len - (int) NLMSG_SPACE (sizeof (struct ifaddrmsg));
  for (rta = IFA_RTA (ifa); RTA_OK (rta, attrlen); rta = RTA_NEXT (rta, attrlen))
    {
      if ((rta->rta_type & NLA_TYPE_MASK) == IFA_LOCAL)
        has_local = _pl_netlink_attr_copy (rta, local, sizeof local);
      else if ((rta->rta_type & NLA_TYPE_MASK) == IFA_ADDRESS)
        has_address = _pl_netlink_attr_copy (rta, address, sizeof address);
    }
  if (!has_local && !has_address)
    return TRUE;
  if (!has_local)
    memcpy (local, address, 4);
  if (!has_address)
    memcpy (address, local, 4);

  scan->found = TRUE;
  memcpy (scan->local, local, 4);
  memcpy (scan->address, address, 4);
  scan->prefix_len = ifa->ifa_prefixlen;
  return TRUE;
}

static gint
compare_candidates (gconstpointer a,
                    gconstpointer b)
{
  const RouteCandidate *x = a;
  const RouteCandidate *y = b;

  /* The 0/1 + 128/1 pair is more specific than any default route. */
  if (x->def1 != y->def1)
    return x->def1 ? -1 : 1;
  return x->metric < y->metric ? -1 : x->metric > y->metric ? 1 : 0;
}

static PlTunnel *
discover (gboolean  *gateway_default,
          guint32   *gateway_metric,
          GError   **error)
{
  g_autoptr(GArray) routes = g_array_new (FALSE, TRUE, sizeof (RouteCandidate));
  RouteScan scan = { routes, FALSE, 0 };

  if (!_pl_netlink_dump (RTM_GETROUTE, AF_INET, route_message, &scan, error))
    return NULL;
  *gateway_default = scan.gateway_default;
  *gateway_metric = scan.gateway_metric;

  /* Stable: the first of equal candidates stays first. */
  g_array_sort (routes, compare_candidates);

  for (guint i = 0; i < routes->len; i++)
    {
      const RouteCandidate *route = &g_array_index (routes, RouteCandidate, i);
      LinkScan link = { .ifindex = route->ifindex };
      AddrScan addr = { .ifindex = route->ifindex };
      PlTunnel *tunnel;
      guint8 gateway[4];

      if (!_pl_netlink_dump (RTM_GETLINK, AF_UNSPEC, link_message, &link, error))
        return NULL;
      if (!link.found || !link.tunnel)
        continue;
      if (!_pl_netlink_dump (RTM_GETADDR, AF_INET, addr_message, &addr, error))
        return NULL;
      if (!addr.found)
        continue;

      tunnel = g_new0 (PlTunnel, 1);
      tunnel->rule = pl_tunnel_derive_gateway (addr.local, addr.address, addr.prefix_len,
                                               gateway);
      tunnel->gateway = g_inet_address_new_from_bytes (gateway, G_SOCKET_FAMILY_IPV4);
      tunnel->interface = g_strdup (link.name[0] != '\0' ? link.name : NULL);
      tunnel->ifindex = route->ifindex;
      tunnel->metric = route->metric;
      tunnel->table = route->table;
      tunnel->def1 = route->def1;
      if (g_getenv ("G_MESSAGES_DEBUG") != NULL)
        {
          g_autofree char *text = g_inet_address_to_string (tunnel->gateway);

          g_debug ("Tunnel %s (table %u, metric %u): asking %s, the %s",
                   tunnel->interface != NULL ? tunnel->interface : "?", tunnel->table,
                   tunnel->metric, text, pl_tunnel_rule_to_string (tunnel->rule));
        }
      return tunnel;
    }

  g_set_error_literal (error, PL_ERROR, PL_ERROR_NO_GATEWAY, _("No VPN tunnel is up"));
  return NULL;
}

/**
 * pl_tunnel_discover:
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the tunnel that carries Internet traffic, or %NULL with
 *   %PL_ERROR_NO_GATEWAY ("No VPN tunnel is up") or a netlink error
 */
PlTunnel *
pl_tunnel_discover (GError **error)
{
  gboolean gateway_default;
  guint32 gateway_metric;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return discover (&gateway_default, &gateway_metric, error);
}

PlGateway *
pl_tunnel_to_gateway (PlTunnel *tunnel)
{
  PlGateway *gateway;

  g_return_val_if_fail (tunnel != NULL, NULL);

  gateway = g_new0 (PlGateway, 1);
  gateway->address = g_object_ref (tunnel->gateway);
  gateway->interface = g_strdup (tunnel->interface);
  gateway->metric = tunnel->metric;
  return gateway;
}

/**
 * pl_tunnel_discover_default:
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the gateway of whatever carries the Internet traffic, or %NULL
 *   with %PL_ERROR_NO_GATEWAY
 */
PlGateway *
pl_tunnel_discover_default (GError **error)
{
  g_autoptr(PlTunnel) tunnel = NULL;
  g_autoptr(GError) tunnel_error = NULL;
  gboolean gateway_default = FALSE;
  guint32 gateway_metric = 0;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  tunnel = discover (&gateway_default, &gateway_metric, &tunnel_error);
  if (tunnel != NULL &&
      (tunnel->def1 || tunnel->table != RT_TABLE_MAIN || !gateway_default ||
       tunnel->metric < gateway_metric))
    return pl_tunnel_to_gateway (tunnel);
  if (tunnel_error != NULL && !g_error_matches (tunnel_error, PL_ERROR, PL_ERROR_NO_GATEWAY))
    g_debug ("Looking for a VPN tunnel failed: %s", tunnel_error->message);
  return pl_gateway_discover (error);
}
