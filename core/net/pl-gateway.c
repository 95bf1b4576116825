/* pl-gateway.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <net/if.h>
#include <net/route.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <glib/gi18n-lib.h>

#include "pl-error.h"
#include "pl-gateway.h"
#include "pl-gateway-private.h"
#include "pl-netlink.h"

#define PROC_NET_ROUTE "/proc/net/route"

/* The /proc/net/route columns we read: Iface Destination Gateway Flags RefCnt Use Metric Mask */
#define PROC_COLUMN_IFACE       0
#define PROC_COLUMN_DESTINATION 1
#define PROC_COLUMN_GATEWAY     2
#define PROC_COLUMN_FLAGS       3
#define PROC_COLUMN_METRIC      6
#define PROC_COLUMN_MASK        7
#define PROC_MIN_COLUMNS        8

static PlGateway *
gateway_new (const guint8  bytes[4],
             const char   *interface,
             guint32       metric)
{
  PlGateway *gateway = g_new0 (PlGateway, 1);

  gateway->address = g_inet_address_new_from_bytes (bytes, G_SOCKET_FAMILY_IPV4);
  gateway->interface = g_strdup (interface);
  gateway->metric = metric;

  return gateway;
}

/**
 * pl_gateway_free:
 * @gateway: (nullable) (transfer full): a gateway
 *
 * Frees @gateway and everything it holds.
 */
void
pl_gateway_free (PlGateway *gateway)
{
  if (gateway == NULL)
    return;

  g_clear_object (&gateway->address);
  g_clear_pointer (&gateway->interface, g_free);
  g_free (gateway);
}

/* /proc/net/route ------------------------------------------------------------------------- */

/* 1 to 8 hex digits, nothing else. */
static gboolean
parse_hex32 (const char *text,
             guint32    *out)
{
  guint32 value = 0;
  gsize n_digits = 0;

  for (; *text != '\0'; text++)
    {
      int digit = g_ascii_xdigit_value (*text);

      if (digit < 0 || n_digits == 8)
        return FALSE;

      value = (value << 4) | (guint32) digit;
      n_digits++;
    }

  if (n_digits == 0)
    return FALSE;

  *out = value;
  return TRUE;
}

/* The kernel prints the u32 metric with "%d", so values above G_MAXINT32 come out negative. */
static gboolean
parse_metric (const char *text,
              guint32    *out)
{
  const char *digits = text[0] == '-' ? text + 1 : text;
  gint64 value;

  /* Only what "%d" prints: no '+', no spaces, no "0x". */
  if (digits[0] == '\0' || strspn (digits, "0123456789") != strlen (digits))
    return FALSE;

  if (!g_ascii_string_to_signed (text, 10, G_MININT32, G_MAXUINT32, &value, NULL))
    return FALSE;

  *out = value < 0 ? (guint32) (gint32) value : (guint32) value;
  return TRUE;
}

/**
 * pl_gateway_parse_proc_route:
 * @contents: the text of `/proc/net/route`
 * @error: return location for a #GError
 *
 * Finds the default IPv4 route with a gateway in the text of `/proc/net/route`: destination
 * and mask 0, flags `RTF_UP | RTF_GATEWAY`. The lowest metric wins, and the first such route
 * on ties. Malformed lines are skipped.
 *
 * The kernel prints addresses as the in-memory 32-bit value of the network-order address, so
 * on a little-endian machine "0101A8C0" is 192.168.1.1.
 *
 * Returns: (transfer full): the gateway, or %NULL with %PL_ERROR_NO_GATEWAY
 */
PlGateway *
pl_gateway_parse_proc_route (const char  *contents,
                             GError     **error)
{
  g_auto(GStrv) lines = NULL;
  g_autofree char *best_interface = NULL;
  guint32 best_gateway = 0;
  guint32 best_metric = 0;
  gboolean found = FALSE;
  guint8 bytes[4];

  g_return_val_if_fail (contents != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  lines = g_strsplit (contents, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) tokens = NULL;
      const char *columns[PROC_MIN_COLUMNS];
      guint n_columns = 0;
      guint32 destination, gateway, flags, metric, mask;

      tokens = g_strsplit_set (lines[i], " \t\r", -1);
      for (guint j = 0; tokens[j] != NULL && n_columns < PROC_MIN_COLUMNS; j++)
        {
          if (tokens[j][0] != '\0')
            columns[n_columns++] = tokens[j];
        }

      if (n_columns == 0)
        continue;

      /* The header line ("Iface Destination Gateway ..."); it would fail below anyway. */
      if (i == 0 && g_str_equal (columns[PROC_COLUMN_IFACE], "Iface"))
        continue;

      if (n_columns < PROC_MIN_COLUMNS
          || !parse_hex32 (columns[PROC_COLUMN_DESTINATION], &destination)
          || !parse_hex32 (columns[PROC_COLUMN_GATEWAY], &gateway)
          || !parse_hex32 (columns[PROC_COLUMN_FLAGS], &flags)
          || !parse_metric (columns[PROC_COLUMN_METRIC], &metric)
          || !parse_hex32 (columns[PROC_COLUMN_MASK], &mask))
        {
          g_debug ("Skipping malformed line %u of %s", i + 1, PROC_NET_ROUTE);
          continue;
        }

      if (destination != 0 || mask != 0 || gateway == 0)
        continue;

      if ((flags & (RTF_UP | RTF_GATEWAY)) != (RTF_UP | RTF_GATEWAY) || (flags & RTF_REJECT) != 0)
        continue;

      if (!found || metric < best_metric)
        {
          found = TRUE;
          best_gateway = gateway;
          best_metric = metric;
          g_free (best_interface);
          best_interface = g_strdup (columns[PROC_COLUMN_IFACE]);
        }
    }

  if (!found)
    {
      g_set_error_literal (error, PL_ERROR, PL_ERROR_NO_GATEWAY,
                           _("No default IPv4 gateway found in the kernel’s routing table "
                             "(" PROC_NET_ROUTE "); give one with --gateway"));
      return NULL;
    }

  /* The printed value is the host-order u32 holding the network-order bytes. */
  memcpy (bytes, &best_gateway, sizeof bytes);

  return gateway_new (bytes, best_interface, best_metric);
}

/* rtnetlink ------------------------------------------------------------------------------- */

/* The first live next hop of an RTA_MULTIPATH attribute that has an IPv4 gateway. */
static gboolean
parse_multipath (const struct rtattr *multipath,
                 guint8               gateway[4],
                 guint32             *ifindex)
{
  const struct rtnexthop *rtnh = RTA_DATA (multipath);
  int len = RTA_PAYLOAD (multipath);

  while (len >= (int) sizeof (struct rtnexthop) && RTNH_OK (rtnh, len))
    {
      const struct rtattr *rta = RTNH_DATA (rtnh);
      int attrlen = rtnh->rtnh_len - RTNH_LENGTH (0);

      if ((rtnh->rtnh_flags & RTNH_F_DEAD) == 0)
        {
          for (; RTA_OK (rta, attrlen); rta = RTA_NEXT (rta, attrlen))
            {
              if ((rta->rta_type & NLA_TYPE_MASK) == RTA_GATEWAY && RTA_PAYLOAD (rta) == 4)
                {
                  memcpy (gateway, RTA_DATA (rta), 4);
                  *ifindex = rtnh->rtnh_ifindex > 0 ? (guint32) rtnh->rtnh_ifindex : 0;
                  return TRUE;
                }
            }
        }

      len -= RTNH_ALIGN (rtnh->rtnh_len);
      rtnh = RTNH_NEXT (rtnh);
    }

  return FALSE;
}

/* Returns FALSE (with @error) only when the message itself is too short to be a route. */
static gboolean
parse_route (const struct nlmsghdr  *nlh,
             PlGatewayCandidate     *best,
             GError                **error)
{
  const struct rtmsg *rtm;
  const struct rtattr *rta;
  int attrlen;
  guint32 table;
  guint32 metric = 0;
  guint32 ifindex = 0;
  guint32 multipath_ifindex = 0;
  guint8 gateway[4] = { 0 };
  guint8 multipath_gateway[4] = { 0 };
  gboolean has_gateway = FALSE;
  gboolean has_multipath_gateway = FALSE;
  gboolean valid = TRUE;

  if (nlh->nlmsg_len < NLMSG_LENGTH (sizeof (struct rtmsg)))
    {
      _pl_netlink_set_malformed (error, "route message too short");
      return FALSE;
    }

  rtm = NLMSG_DATA (nlh);

  if (rtm->rtm_family != AF_INET || rtm->rtm_dst_len != 0 || rtm->rtm_type != RTN_UNICAST)
    return TRUE;

  table = rtm->rtm_table;
  attrlen = (int) nlh->nlmsg_len - (int) NLMSG_SPACE (sizeof (struct rtmsg));

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
          if (RTA_PAYLOAD (rta) == 4)
            {
              memcpy (gateway, RTA_DATA (rta), 4);
              has_gateway = TRUE;
            }
          else
            valid = FALSE;
          break;

        case RTA_MULTIPATH:
          if (!has_multipath_gateway)
            has_multipath_gateway = parse_multipath (rta, multipath_gateway, &multipath_ifindex);
          break;

        default:
          break;
        }
    }

  /* Left-over bytes mean an attribute ran past the message: we may have missed RTA_TABLE. */
  if (!valid || attrlen > 0)
    {
      g_debug ("Skipping a default route with malformed attributes");
      return TRUE;
    }

  if (table != RT_TABLE_MAIN)
    return TRUE;

  if (!has_gateway && has_multipath_gateway)
    {
      memcpy (gateway, multipath_gateway, sizeof gateway);
      ifindex = multipath_ifindex;
      has_gateway = TRUE;
    }

  if (!has_gateway)
    return TRUE;

  if (!best->found || metric < best->metric)
    {
      best->found = TRUE;
      memcpy (best->gateway, gateway, sizeof best->gateway);
      best->ifindex = ifindex;
      best->metric = metric;
    }

  return TRUE;
}

/* PlNetlinkMessageFunc over the messages of a route dump. */
static gboolean
parse_route_message (const struct nlmsghdr  *nlh,
                     gpointer                user_data,
                     GError                **error)
{
  if (nlh->nlmsg_type != RTM_NEWROUTE)
    return TRUE;

  return parse_route (nlh, user_data, error);
}

PlGatewayNetlinkStatus
_pl_gateway_parse_netlink (const guint8        *buf,
                           gsize                len,
                           guint32              seq,
                           guint32              port_id,
                           PlGatewayCandidate  *best,
                           GError             **error)
{
  g_return_val_if_fail (best != NULL, PL_GATEWAY_NETLINK_FAILED);

  switch (_pl_netlink_parse (buf, len, seq, port_id, parse_route_message, best, error))
    {
    case PL_NETLINK_MORE:
      return PL_GATEWAY_NETLINK_MORE;
    case PL_NETLINK_DONE:
      return PL_GATEWAY_NETLINK_DONE;
    case PL_NETLINK_FAILED:
    default:
      return PL_GATEWAY_NETLINK_FAILED;
    }
}

static gboolean
discover_netlink (PlGatewayCandidate  *best,
                  GError             **error)
{
  return _pl_netlink_dump (RTM_GETROUTE, AF_INET, parse_route_message, best, error);
}

/**
 * pl_gateway_discover:
 * @error: return location for a #GError
 *
 * Finds the default IPv4 gateway of the main routing table with the lowest metric. It asks
 * the kernel over rtnetlink, and reads `/proc/net/route` when netlink is unavailable.
 * Routes of other tables (policy routing, e.g. wg-quick) are not considered: such setups need
 * an explicit gateway.
 *
 * Returns: (transfer full): the gateway, or %NULL with %PL_ERROR_NO_GATEWAY
 */
PlGateway *
pl_gateway_discover (GError **error)
{
  g_autoptr(GError) netlink_error = NULL;
  g_autoptr(GError) proc_error = NULL;
  g_autofree char *contents = NULL;
  PlGatewayCandidate best = { 0 };
  PlGateway *gateway;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (discover_netlink (&best, &netlink_error))
    {
      char name[IF_NAMESIZE];
      const char *interface = NULL;

      if (!best.found)
        {
          g_set_error_literal (error, PL_ERROR, PL_ERROR_NO_GATEWAY,
                               _("No default IPv4 gateway found in the kernel’s routing table; "
                                 "give one with --gateway"));
          return NULL;
        }

      if (best.ifindex != 0 && if_indextoname (best.ifindex, name) != NULL)
        interface = name;

      gateway = gateway_new (best.gateway, interface, best.metric);
      g_debug ("Default gateway from netlink on %s, metric %u",
               interface != NULL ? interface : "(unknown interface)", best.metric);
      return gateway;
    }

  g_debug ("Netlink route dump failed (%s); reading %s", netlink_error->message, PROC_NET_ROUTE);

  if (!g_file_get_contents (PROC_NET_ROUTE, &contents, NULL, &proc_error))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_NO_GATEWAY,
                   _("Could not read the kernel’s routing table (netlink: %s; %s); "
                     "give the gateway with --gateway"),
                   netlink_error->message, proc_error->message);
      return NULL;
    }

  return pl_gateway_parse_proc_route (contents, error);
}

/* Addresses ------------------------------------------------------------------------------- */

/**
 * pl_gateway_parse_address:
 * @text: what the user gave, e.g. "192.168.1.1"
 * @error: return location for a #GError
 *
 * Parses a gateway given by the user: a dotted-quad IPv4 address, without spaces around it.
 * The unspecified address, multicast addresses and the broadcast address are refused.
 *
 * Returns: (transfer full): the address, or %NULL with %PL_ERROR_INVALID_ARGUMENT
 */
GInetAddress *
pl_gateway_parse_address (const char  *text,
                          GError     **error)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autofree char *shown = NULL;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (text[0] == '\0')
    {
      g_set_error_literal (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                           _("The gateway address is empty; give an IPv4 address such as "
                             "192.168.1.1"));
      return NULL;
    }

  shown = g_utf8_make_valid (text, -1);

  if (g_ascii_isspace (text[0]) || g_ascii_isspace (text[strlen (text) - 1]))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("“%s” has spaces around it; give only the IPv4 address"), shown);
      return NULL;
    }

  address = g_inet_address_new_from_string (text);

  if (address != NULL && g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("“%s” is an IPv6 address; NAT-PMP needs the gateway’s IPv4 address"),
                   shown);
      return NULL;
    }

  if (address == NULL || g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV4)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("“%s” is not an IPv4 address"), shown);
      return NULL;
    }

  if (g_inet_address_get_is_any (address) || g_inet_address_get_is_multicast (address)
      || memcmp (g_inet_address_to_bytes (address), "\xff\xff\xff\xff", 4) == 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("“%s” cannot be a gateway; give the router’s address"), shown);
      return NULL;
    }

  return g_steal_pointer (&address);
}
