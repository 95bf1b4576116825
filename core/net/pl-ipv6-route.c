/* pl-ipv6-route.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <net/if.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <glib/gi18n-lib.h>

#include "pl-error.h"
#include "pl-ipv6-route.h"
#include "pl-ipv6-route-private.h"
#include "pl-netlink.h"

#define IPV6_LEN 16
#define MAC_LEN  6

/* Bytes of attributes after the family header @header_size of @nlh; negative when the message
 * is shorter than its header. */
static int
attributes_length (const struct nlmsghdr *nlh,
                   gsize                  header_size)
{
  return (int) nlh->nlmsg_len - (int) NLMSG_SPACE (header_size);
}

/* The name of @ifindex, or "interface 3" when it has none (any more). */
static char *
interface_label (guint ifindex)
{
  char name[IF_NAMESIZE];

  if (ifindex != 0 && if_indextoname (ifindex, name) != NULL)
    return g_strdup (name);

  return g_strdup_printf (_("interface %u"), ifindex);
}

/* Routes ---------------------------------------------------------------------------------- */

/**
 * pl_ipv6_router_free:
 * @router: (nullable) (transfer full): a router
 *
 * Frees @router and everything it holds.
 */
void
pl_ipv6_router_free (PlIpv6Router *router)
{
  if (router == NULL)
    return;

  g_clear_object (&router->address);
  g_clear_pointer (&router->interface, g_free);
  g_free (router);
}

/* The first next hop of an RTA_MULTIPATH attribute that is not dead and has an IPv6 gateway. */
static gboolean
first_live_nexthop (const struct rtattr *multipath,
                    guint8               gateway[IPV6_LEN],
                    guint32             *ifindex)
{
  const struct rtnexthop *rtnh = RTA_DATA (multipath);
  int left = (int) RTA_PAYLOAD (multipath);

  for (; left >= (int) sizeof (struct rtnexthop) && RTNH_OK (rtnh, left);
       left -= RTNH_ALIGN (rtnh->rtnh_len), rtnh = RTNH_NEXT (rtnh))
    {
      const struct rtattr *rta;
      int attrlen;

      if ((rtnh->rtnh_flags & RTNH_F_DEAD) != 0)
        continue;

      attrlen = (int) rtnh->rtnh_len - (int) RTNH_LENGTH (0);
      for (rta = RTNH_DATA (rtnh); RTA_OK (rta, attrlen); rta = RTA_NEXT (rta, attrlen))
        {
          if ((rta->rta_type & NLA_TYPE_MASK) == RTA_GATEWAY
              && _pl_netlink_attr_copy (rta, gateway, IPV6_LEN))
            {
              *ifindex = rtnh->rtnh_ifindex > 0 ? (guint32) rtnh->rtnh_ifindex : 0;
              return TRUE;
            }
        }
    }

  return FALSE;
}

/* Returns FALSE (with @error) only when the message is too short to be a route. */
static gboolean
parse_route6 (const struct nlmsghdr   *nlh,
              PlIpv6RouterCandidate   *best,
              GError                 **error)
{
  const struct rtmsg *rtm;
  const struct rtattr *rta;
  int attrlen;
  guint32 table;
  guint32 metric = 0;
  guint32 ifindex = 0;
  guint8 gateway[IPV6_LEN];
  gboolean has_gateway = FALSE;
  gboolean has_multipath = FALSE;
  guint8 multipath_gateway[IPV6_LEN];
  guint32 multipath_ifindex = 0;
  gboolean valid = TRUE;

  if (nlh->nlmsg_len < NLMSG_LENGTH (sizeof (struct rtmsg)))
    {
      _pl_netlink_set_malformed (error, "route message too short");
      return FALSE;
    }

  rtm = NLMSG_DATA (nlh);

  if (rtm->rtm_family != AF_INET6 || rtm->rtm_dst_len != 0 || rtm->rtm_type != RTN_UNICAST)
    return TRUE;

  /* Cached clones and routes whose only next hop is dead. */
  if ((rtm->rtm_flags & (RTM_F_CLONED | RTNH_F_DEAD)) != 0)
    return TRUE;

  table = rtm->rtm_table;
  attrlen = attributes_length (nlh, sizeof (struct rtmsg));

  for (rta = RTM_RTA (rtm); RTA_OK (rta, attrlen); rta = RTA_NEXT (rta, attrlen))
    {
      switch (rta->rta_type & NLA_TYPE_MASK)
        {
        case RTA_TABLE:
          valid = valid && _pl_netlink_attr_u32 (rta, &table);
          break;

        case RTA_PRIORITY:
          valid = valid && _pl_netlink_attr_u32 (rta, &metric);
          break;

        case RTA_OIF:
          valid = valid && _pl_netlink_attr_u32 (rta, &ifindex);
          break;

        case RTA_GATEWAY:
          has_gateway = _pl_netlink_attr_copy (rta, gateway, IPV6_LEN);
          valid = valid && has_gateway;
          break;

        case RTA_MULTIPATH:
          if (!has_multipath)
            has_multipath = first_live_nexthop (rta, multipath_gateway, &multipath_ifindex);
          break;

        default:
          break;
        }
    }

  /* Bytes left over: an attribute ran past the message, so RTA_TABLE may have been missed. */
  if (!valid || attrlen > 0)
    {
      g_debug ("Skipping an IPv6 default route with malformed attributes");
      return TRUE;
    }

  if (table != RT_TABLE_MAIN)
    return TRUE;

  if (!has_gateway && has_multipath)
    {
      memcpy (gateway, multipath_gateway, IPV6_LEN);
      ifindex = multipath_ifindex;
      has_gateway = TRUE;
    }

  if (!has_gateway)
    return TRUE;

  if (!best->found || metric < best->metric)
    {
      best->found = TRUE;
      memcpy (best->gateway, gateway, IPV6_LEN);
      best->ifindex = ifindex;
      best->metric = metric;
    }

  return TRUE;
}

static gboolean
route_message (const struct nlmsghdr  *nlh,
               gpointer                user_data,
               GError                **error)
{
  if (nlh->nlmsg_type != RTM_NEWROUTE)
    return TRUE;

  return parse_route6 (nlh, user_data, error);
}

PlNetlinkStatus
_pl_ipv6_router_parse_netlink (const guint8            *buf,
                               gsize                    len,
                               guint32                  seq,
                               guint32                  port_id,
                               PlIpv6RouterCandidate   *best,
                               GError                 **error)
{
  g_return_val_if_fail (best != NULL, PL_NETLINK_FAILED);

  return _pl_netlink_parse (buf, len, seq, port_id, route_message, best, error);
}

/**
 * pl_ipv6_router_discover:
 * @error: return location for a #GError
 *
 * Finds the IPv6 default router: the default route of the main table that has a gateway and
 * the lowest metric, as the kernel reports it over rtnetlink.
 *
 * Returns: (transfer full): the router, or %NULL with %PL_ERROR_NO_GATEWAY when there is
 *   none, or a #G_IO_ERROR when the kernel could not be asked
 */
PlIpv6Router *
pl_ipv6_router_discover (GError **error)
{
  PlIpv6RouterCandidate best = { 0 };
  PlIpv6Router *router;
  char name[IF_NAMESIZE];

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!_pl_netlink_dump (RTM_GETROUTE, AF_INET6, route_message, &best, error))
    {
      g_prefix_error (error, _("Could not read the kernel’s IPv6 routes: "));
      return NULL;
    }

  if (!best.found)
    {
      g_set_error_literal (error, PL_ERROR, PL_ERROR_NO_GATEWAY,
                           _("No IPv6 default route in the kernel’s routing table"));
      return NULL;
    }

  router = g_new0 (PlIpv6Router, 1);
  router->address = g_inet_address_new_from_bytes (best.gateway, G_SOCKET_FAMILY_IPV6);
  router->ifindex = best.ifindex;
  router->metric = best.metric;
  if (best.ifindex != 0 && if_indextoname (best.ifindex, name) != NULL)
    router->interface = g_strdup (name);

  g_debug ("IPv6 default router on %s, metric %u",
           router->interface != NULL ? router->interface : "(unknown interface)",
           router->metric);

  return router;
}

/* Addresses ------------------------------------------------------------------------------- */

static PlIpv6AddressClass
classify (const guint8 address[IPV6_LEN])
{
  if ((address[0] & 0xe0) == 0x20)
    return PL_IPV6_ADDRESS_CLASS_GLOBAL;
  if ((address[0] & 0xfe) == 0xfc)
    return PL_IPV6_ADDRESS_CLASS_ULA;

  return PL_IPV6_ADDRESS_CLASS_NONE;
}

/* A strict total order on distinct addresses, so that the answer does not depend on the order
 * of the dump. */
static gboolean
ranks_higher (const PlIpv6AddressCandidate *a,
              const PlIpv6AddressCandidate *b)
{
  gboolean a_permanent = (a->flags & IFA_F_PERMANENT) != 0;
  gboolean b_permanent = (b->flags & IFA_F_PERMANENT) != 0;

  if (a->klass != b->klass)
    return a->klass > b->klass;
  if (a_permanent != b_permanent)
    return a_permanent;
  if (a->valid_lifetime != b->valid_lifetime)
    return a->valid_lifetime > b->valid_lifetime;
  if (a->preferred_lifetime != b->preferred_lifetime)
    return a->preferred_lifetime > b->preferred_lifetime;

  return memcmp (a->address, b->address, IPV6_LEN) < 0;
}

/* Returns FALSE (with @error) only when the message is too short to be an address. */
static gboolean
parse_address6 (const struct nlmsghdr   *nlh,
                PlIpv6AddressCandidate  *best,
                GError                 **error)
{
  const struct ifaddrmsg *ifa;
  const struct rtattr *rta;
  PlIpv6AddressCandidate candidate = { 0 };
  struct ifa_cacheinfo cacheinfo;
  guint8 address[IPV6_LEN];
  guint8 local[IPV6_LEN];
  gboolean has_address = FALSE;
  gboolean has_local = FALSE;
  gboolean valid = TRUE;
  int attrlen;
  const guint32 unusable = IFA_F_TEMPORARY | IFA_F_DEPRECATED | IFA_F_TENTATIVE
                           | IFA_F_DADFAILED;

  if (nlh->nlmsg_len < NLMSG_LENGTH (sizeof (struct ifaddrmsg)))
    {
      _pl_netlink_set_malformed (error, "address message too short");
      return FALSE;
    }

  ifa = NLMSG_DATA (nlh);

  if (ifa->ifa_family != AF_INET6 || ifa->ifa_index != best->ifindex)
    return TRUE;

  candidate.flags = ifa->ifa_flags;
  candidate.valid_lifetime = G_MAXUINT32;
  candidate.preferred_lifetime = G_MAXUINT32;

  attrlen = attributes_length (nlh, sizeof (struct ifaddrmsg));

  for (rta = IFA_RTA (ifa); RTA_OK (rta, attrlen); rta = RTA_NEXT (rta, attrlen))
    {
      switch (rta->rta_type & NLA_TYPE_MASK)
        {
        case IFA_ADDRESS:
          has_address = _pl_netlink_attr_copy (rta, address, IPV6_LEN);
          valid = valid && has_address;
          break;

        case IFA_LOCAL:
          has_local = _pl_netlink_attr_copy (rta, local, IPV6_LEN);
          valid = valid && has_local;
          break;

        case IFA_FLAGS:
          /* All 32 bits; ifa_flags only holds the lower 8. */
          valid = valid && _pl_netlink_attr_u32 (rta, &candidate.flags);
          break;

        case IFA_CACHEINFO:
          if (_pl_netlink_attr_copy (rta, &cacheinfo, sizeof cacheinfo))
            {
              candidate.valid_lifetime = cacheinfo.ifa_valid;
              candidate.preferred_lifetime = cacheinfo.ifa_prefered;
            }
          else
            valid = FALSE;
          break;

        default:
          break;
        }
    }

  if (!valid || attrlen > 0)
    {
      g_debug ("Skipping an IPv6 address with malformed attributes");
      return TRUE;
    }

  /* On point-to-point links IFA_ADDRESS is the peer and IFA_LOCAL ours. */
  if (has_local)
    memcpy (candidate.address, local, IPV6_LEN);
  else if (has_address)
    memcpy (candidate.address, address, IPV6_LEN);
  else
    return TRUE;

  if (ifa->ifa_scope != RT_SCOPE_UNIVERSE
      || (candidate.flags & unusable) != 0
      || candidate.preferred_lifetime == 0)
    return TRUE;

  candidate.klass = classify (candidate.address);
  if (candidate.klass == PL_IPV6_ADDRESS_CLASS_NONE)
    return TRUE;

  if (!best->found || ranks_higher (&candidate, best))
    {
      candidate.ifindex = best->ifindex;
      candidate.found = TRUE;
      *best = candidate;
    }

  return TRUE;
}

static gboolean
address_message (const struct nlmsghdr  *nlh,
                 gpointer                user_data,
                 GError                **error)
{
  if (nlh->nlmsg_type != RTM_NEWADDR)
    return TRUE;

  return parse_address6 (nlh, user_data, error);
}

PlNetlinkStatus
_pl_ipv6_address_parse_netlink (const guint8            *buf,
                                gsize                    len,
                                guint32                  seq,
                                guint32                  port_id,
                                PlIpv6AddressCandidate  *best,
                                GError                 **error)
{
  g_return_val_if_fail (best != NULL, PL_NETLINK_FAILED);

  return _pl_netlink_parse (buf, len, seq, port_id, address_message, best, error);
}

/**
 * pl_ipv6_stable_address:
 * @ifindex: the interface, e.g. #PlIpv6Router.ifindex
 * @error: return location for a #GError
 *
 * Picks the IPv6 address of @ifindex that PCP should be bound to: one that stays, not a
 * temporary (privacy) address, nor one that is deprecated or still in duplicate address
 * detection. A global unicast address beats a unique local address (fc00::/7), which is
 * taken when there is nothing else.
 *
 * Returns: (transfer full): the address, or %NULL with %PL_ERROR_NO_GATEWAY when there is
 *   none, or a #G_IO_ERROR when the kernel could not be asked
 */
GInetAddress *
pl_ipv6_stable_address (guint    ifindex,
                        GError **error)
{
  PlIpv6AddressCandidate best = { 0 };

  g_return_val_if_fail (ifindex != 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  best.ifindex = ifindex;

  if (!_pl_netlink_dump (RTM_GETADDR, AF_INET6, address_message, &best, error))
    {
      g_autofree char *label = interface_label (ifindex);

      g_prefix_error (error, _("Could not read the IPv6 addresses of %s: "), label);
      return NULL;
    }

  if (!best.found)
    {
      g_autofree char *label = interface_label (ifindex);

      g_set_error (error, PL_ERROR, PL_ERROR_NO_GATEWAY,
                   _("No stable global IPv6 address on %s"), label);
      return NULL;
    }

  return g_inet_address_new_from_bytes (best.address, G_SOCKET_FAMILY_IPV6);
}

/* Neighbours ------------------------------------------------------------------------------ */

void
_pl_neighbour_query_init (PlNeighbourQuery *query,
                          GInetAddress     *address,
                          guint             ifindex)
{
  const guint8 *bytes;

  g_return_if_fail (query != NULL);
  g_return_if_fail (G_IS_INET_ADDRESS (address));

  memset (query, 0, sizeof *query);
  query->ifindex = ifindex;
  bytes = g_inet_address_to_bytes (address);

  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4)
    {
      query->family = AF_INET;
      memcpy (query->address, bytes, 4);
    }
  else if (memcmp (bytes, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
    {
      /* ::ffff:a.b.c.d: the kernel keeps it in the IPv4 (ARP) table. */
      query->family = AF_INET;
      memcpy (query->address, bytes + 12, 4);
    }
  else
    {
      query->family = AF_INET6;
      memcpy (query->address, bytes, IPV6_LEN);
    }
}

static gboolean
state_is_usable (guint16 state)
{
  return state != NUD_NONE && (state & (NUD_INCOMPLETE | NUD_FAILED)) == 0;
}

static gboolean
state_is_confirmed (guint16 state)
{
  return (state & (NUD_REACHABLE | NUD_PERMANENT | NUD_NOARP)) != 0;
}

/* Returns FALSE (with @error) only when the message is too short to be a neighbour. */
static gboolean
parse_neighbour (const struct nlmsghdr  *nlh,
                 PlNeighbourQuery       *query,
                 GError                **error)
{
  const struct ndmsg *ndm;
  const struct rtattr *rta;
  gsize address_len = query->family == AF_INET ? 4 : IPV6_LEN;
  guint8 destination[IPV6_LEN];
  guint8 mac[MAC_LEN];
  gboolean has_destination = FALSE;
  gboolean has_mac = FALSE;
  gboolean valid = TRUE;
  int attrlen;

  if (nlh->nlmsg_len < NLMSG_LENGTH (sizeof (struct ndmsg)))
    {
      _pl_netlink_set_malformed (error, "neighbour message too short");
      return FALSE;
    }

  ndm = NLMSG_DATA (nlh);

  if (ndm->ndm_family != query->family || ndm->ndm_ifindex <= 0)
    return TRUE;
  if (query->ifindex != 0 && (guint32) ndm->ndm_ifindex != query->ifindex)
    return TRUE;
  if ((ndm->ndm_flags & NTF_PROXY) != 0 || !state_is_usable (ndm->ndm_state))
    return TRUE;

  attrlen = attributes_length (nlh, sizeof (struct ndmsg));

  /* The attributes follow the aligned struct ndmsg (the kernel's NDA_RTA). */
  for (rta = (const struct rtattr *) ((const guint8 *) ndm + NLMSG_ALIGN (sizeof *ndm));
       RTA_OK (rta, attrlen); rta = RTA_NEXT (rta, attrlen))
    {
      switch (rta->rta_type & NLA_TYPE_MASK)
        {
        case NDA_DST:
          has_destination = _pl_netlink_attr_copy (rta, destination, address_len);
          valid = valid && has_destination;
          break;

        case NDA_LLADDR:
          /* Other lengths (InfiniBand, tunnels without one) are not MAC addresses. */
          has_mac = _pl_netlink_attr_copy (rta, mac, MAC_LEN);
          break;

        default:
          break;
        }
    }

  if (!valid || attrlen > 0)
    {
      g_debug ("Skipping a neighbour entry with malformed attributes");
      return TRUE;
    }

  if (!has_destination || !has_mac || memcmp (destination, query->address, address_len) != 0)
    return TRUE;

  if (!query->found || (state_is_confirmed (ndm->ndm_state) && !state_is_confirmed (query->state)))
    {
      query->found = TRUE;
      memcpy (query->mac, mac, MAC_LEN);
      query->found_ifindex = (guint32) ndm->ndm_ifindex;
      query->state = ndm->ndm_state;
    }

  return TRUE;
}

static gboolean
neighbour_message (const struct nlmsghdr  *nlh,
                   gpointer                user_data,
                   GError                **error)
{
  if (nlh->nlmsg_type != RTM_NEWNEIGH)
    return TRUE;

  return parse_neighbour (nlh, user_data, error);
}

gboolean
_pl_neighbour_parse_message (const struct nlmsghdr  *nlh,
                             PlNeighbourQuery       *query,
                             GError                **error)
{
  g_return_val_if_fail (query != NULL, FALSE);

  return neighbour_message (nlh, query, error);
}

PlNetlinkStatus
_pl_neighbour_parse_netlink (const guint8      *buf,
                             gsize              len,
                             guint32            seq,
                             guint32            port_id,
                             PlNeighbourQuery  *query,
                             GError           **error)
{
  g_return_val_if_fail (query != NULL, PL_NETLINK_FAILED);
  g_return_val_if_fail (query->family == AF_INET || query->family == AF_INET6,
                        PL_NETLINK_FAILED);

  return _pl_netlink_parse (buf, len, seq, port_id, neighbour_message, query, error);
}

/**
 * pl_neighbour_lookup:
 * @address: an IPv4 or IPv6 address on a local link, e.g. the gateway
 * @ifindex: the interface to look on, or 0 for any
 * @mac: (out caller-allocates) (array fixed-size=6): where the MAC address goes
 * @error: return location for a #GError
 *
 * Looks @address up in the kernel's neighbour table (ARP for IPv4, neighbour discovery for
 * IPv6). It does not send anything: an address this computer has not talked to lately has no
 * entry.
 *
 * Returns: %TRUE with @mac filled, or %FALSE with %PL_ERROR_NO_GATEWAY when no usable entry
 *   is known, or a #G_IO_ERROR when the kernel could not be asked
 */
gboolean
pl_neighbour_lookup (GInetAddress  *address,
                     guint          ifindex,
                     guint8         mac[6],
                     GError       **error)
{
  PlNeighbourQuery query;

  g_return_val_if_fail (G_IS_INET_ADDRESS (address), FALSE);
  g_return_val_if_fail (mac != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  _pl_neighbour_query_init (&query, address, ifindex);

  if (!_pl_netlink_dump (RTM_GETNEIGH, query.family, neighbour_message, &query, error))
    {
      g_prefix_error (error, _("Could not read the kernel’s neighbour table: "));
      return FALSE;
    }

  if (!query.found)
    {
      g_autofree char *text = g_inet_address_to_string (address);

      if (ifindex == 0)
        {
          g_set_error (error, PL_ERROR, PL_ERROR_NO_GATEWAY,
                       _("No link-layer address is known for %s"), text);
        }
      else
        {
          g_autofree char *label = interface_label (ifindex);

          g_set_error (error, PL_ERROR, PL_ERROR_NO_GATEWAY,
                       _("No link-layer address is known for %s on %s"), text, label);
        }
      return FALSE;
    }

  memcpy (mac, query.mac, MAC_LEN);
  return TRUE;
}

/**
 * pl_neighbour_format_mac:
 * @mac: (array fixed-size=6): a MAC address
 *
 * Returns: (transfer full): @mac as "aa:bb:cc:dd:ee:ff"
 */
char *
pl_neighbour_format_mac (const guint8 mac[6])
{
  g_return_val_if_fail (mac != NULL, NULL);

  return g_strdup_printf ("%02x:%02x:%02x:%02x:%02x:%02x",
                          mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

/**
 * pl_ipv6_mac_from_eui64:
 * @address: an IPv6 address
 * @mac: (out caller-allocates): the MAC
 *
 * Returns: %TRUE when @address's interface identifier is a modified EUI-64 one
 */
gboolean
pl_ipv6_mac_from_eui64 (GInetAddress *address,
                        guint8        mac[6])
{
  const guint8 *bytes;

  g_return_val_if_fail (G_IS_INET_ADDRESS (address), FALSE);
  g_return_val_if_fail (mac != NULL, FALSE);

  if (g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV6)
    return FALSE;
  bytes = g_inet_address_to_bytes (address);
  if (bytes[11] != 0xff || bytes[12] != 0xfe)
    return FALSE;
  mac[0] = bytes[8] ^ 0x02;
  mac[1] = bytes[9];
  mac[2] = bytes[10];
  mac[3] = bytes[13];
  mac[4] = bytes[14];
  mac[5] = bytes[15];
  return TRUE;
}

/**
 * pl_ipv6_same_link_host:
 * @known: a link-local address whose owner is known (the router this computer speaks to)
 * @other: the address something came from
 *
 * Returns: %TRUE when both are link-local addresses of one host
 */
gboolean
pl_ipv6_same_link_host (GInetAddress *known,
                        GInetAddress *other)
{
  guint8 known_mac[6], other_mac[6];

  g_return_val_if_fail (G_IS_INET_ADDRESS (known), FALSE);
  g_return_val_if_fail (G_IS_INET_ADDRESS (other), FALSE);

  if (g_inet_address_get_family (known) != G_SOCKET_FAMILY_IPV6 ||
      g_inet_address_get_family (other) != G_SOCKET_FAMILY_IPV6 ||
      !g_inet_address_get_is_link_local (known) || !g_inet_address_get_is_link_local (other))
    return FALSE;
  if (!pl_neighbour_lookup (known, 0, known_mac, NULL) &&
      !pl_ipv6_mac_from_eui64 (known, known_mac))
    return FALSE;
  if (!pl_neighbour_lookup (other, 0, other_mac, NULL) &&
      !pl_ipv6_mac_from_eui64 (other, other_mac))
    return FALSE;
  return memcmp (known_mac, other_mac, 6) == 0;
}
