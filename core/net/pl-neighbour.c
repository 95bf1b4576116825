/* pl-neighbour.c: the gateway's link-layer address, from the kernel's neighbour table
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "pl-neighbour.h"

gboolean
_pl_neighbour_parse_message (const struct nlmsghdr  *nlh,
                             PlNeighbour            *out,
                             GError                **error)
{
  const struct ndmsg *ndm;
  const struct rtattr *rta;
  int attrlen;
  gboolean lladdr = FALSE;

  g_return_val_if_fail (nlh != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  if (nlh->nlmsg_type != RTM_NEWNEIGH && nlh->nlmsg_type != RTM_DELNEIGH)
    return FALSE;
  if (nlh->nlmsg_len < NLMSG_LENGTH (sizeof (struct ndmsg)))
    {
      _pl_netlink_set_malformed (error, "short neighbour message");
      return FALSE;
    }

  memset (out, 0, sizeof *out);
  ndm = NLMSG_DATA (nlh);
  out->family = ndm->ndm_family;
  out->ifindex = (guint32) ndm->ndm_ifindex;
  out->state = ndm->ndm_state;

  attrlen = (int) (nlh->nlmsg_len - NLMSG_LENGTH (sizeof (struct ndmsg)));
  for (rta = (const struct rtattr *) ((const guint8 *) ndm + NLMSG_ALIGN (sizeof (struct ndmsg)));
       RTA_OK (rta, attrlen);
       rta = RTA_NEXT (rta, attrlen))
    {
      switch (rta->rta_type)
        {
        case NDA_DST:
          out->has_address = ndm->ndm_family == AF_INET &&
                             _pl_netlink_attr_copy (rta, out->address, sizeof out->address);
          break;
        case NDA_LLADDR:
          lladdr = _pl_netlink_attr_copy (rta, out->mac, sizeof out->mac);
          break;
        default:
          break;
        }
    }
  if (attrlen != 0 && attrlen >= (int) sizeof (struct rtattr))
    {
      _pl_netlink_set_malformed (error, "neighbour attribute past the message's end");
      return FALSE;
    }
  out->has_mac = lladdr && nlh->nlmsg_type == RTM_NEWNEIGH &&
                 (out->state & (NUD_FAILED | NUD_INCOMPLETE)) == 0 && out->state != NUD_NONE;
  if (!out->has_mac)
    memset (out->mac, 0, sizeof out->mac);
  return TRUE;
}

static gboolean
query_message (const struct nlmsghdr  *nlh,
               gpointer                user_data,
               GError                **error)
{
  PlNeighbourQuery *query = user_data;
  g_autoptr(GError) local_error = NULL;
  PlNeighbour entry;

  if (!_pl_neighbour_parse_message (nlh, &entry, &local_error))
    {
      if (local_error == NULL)
        return TRUE;   /* not a neighbour */
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (!entry.has_address || !entry.has_mac || query->found
      || memcmp (entry.address, query->address, sizeof entry.address) != 0
      || (query->ifindex != 0 && entry.ifindex != query->ifindex))
    return TRUE;
  query->found = TRUE;
  memcpy (query->mac, entry.mac, sizeof query->mac);
  return TRUE;
}

PlNetlinkStatus
_pl_neighbour_parse_dump (const guint8      *buf,
                          gsize              len,
                          guint32            seq,
                          guint32            port_id,
                          PlNeighbourQuery  *query,
                          GError           **error)
{
  g_return_val_if_fail (query != NULL, PL_NETLINK_FAILED);

  return _pl_netlink_parse (buf, len, seq, port_id, query_message, query, error);
}

gboolean
pl_neighbour_lookup (PlNeighbourQuery  *query,
                     GError           **error)
{
  g_return_val_if_fail (query != NULL, FALSE);

  query->found = FALSE;
  memset (query->mac, 0, sizeof query->mac);
  return _pl_netlink_dump (RTM_GETNEIGH, AF_INET, query_message, query, error);
}
