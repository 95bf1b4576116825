/* pl-netlink.h
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Internal: the netlink dump shared by pl-gateway.c, pl-ipv6-route.c and pl-listen-check.c.
 * Not installed, not part of pl-core.h. Errors are G_IO_ERROR: G_IO_ERROR_INVALID_DATA for a malformed reply, the
 * errno's code for a refused request or a failed system call. */

struct nlmsghdr;
struct rtattr;

typedef enum
{
  PL_NETLINK_MORE,    /* all messages consumed; more parts are to come */
  PL_NETLINK_DONE,    /* NLMSG_DONE (or a single-part reply) seen: the dump is complete */
  PL_NETLINK_FAILED,  /* NLMSG_ERROR, overrun, a malformed buffer or the callback failed */
} PlNetlinkStatus;

/* Called for each message of the dump that is not a netlink control message (NLMSG_NOOP,
 * NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN). @nlh is aligned and its nlmsg_len fits in the
 * buffer; its payload is not checked. Return FALSE with @error set to end the dump. */
typedef gboolean (*PlNetlinkMessageFunc) (const struct nlmsghdr  *nlh,
                                          gpointer                user_data,
                                          GError                **error);

/* Pure parser of one buffer received from an rtnetlink dump. @buf must be aligned to 4 bytes
 * and hold @len bytes. Messages whose nlmsg_seq or nlmsg_pid differ from @seq and @port_id are
 * ignored. */
PlNetlinkStatus _pl_netlink_parse         (const guint8          *buf,
                                           gsize                  len,
                                           guint32                seq,
                                           guint32                port_id,
                                           PlNetlinkMessageFunc   func,
                                           gpointer               user_data,
                                           GError               **error);

/* Sends an NLM_F_DUMP request of @type (RTM_GETROUTE, RTM_GETADDR, RTM_GETNEIGH,
 * RTM_GETLINK) for @family on a new NETLINK_ROUTE socket, and feeds every part of the answer
 * to _pl_netlink_parse() until it is complete. Blocks for at most a few seconds. */
gboolean        _pl_netlink_dump          (guint16                type,
                                           guint8                 family,
                                           PlNetlinkMessageFunc   func,
                                           gpointer               user_data,
                                           GError               **error);

/* The same for any netlink @protocol (NETLINK_SOCK_DIAG: SOCK_DIAG_BY_FAMILY): the request's
 * family header is @header, @header_size bytes (at most 64). */
gboolean        _pl_netlink_dump_full     (int                    protocol,
                                           guint16                type,
                                           const void            *header,
                                           gsize                  header_size,
                                           PlNetlinkMessageFunc   func,
                                           gpointer               user_data,
                                           GError               **error);

/* G_IO_ERROR_INVALID_DATA, "Malformed netlink reply: @what". */
void            _pl_netlink_set_malformed (GError               **error,
                                           const char            *what);

/* The payload of @rta when it is exactly @size bytes; FALSE otherwise. */
gboolean        _pl_netlink_attr_copy     (const struct rtattr   *rta,
                                           void                  *out,
                                           gsize                  size);
gboolean        _pl_netlink_attr_u32      (const struct rtattr   *rta,
                                           guint32               *out);

G_END_DECLS
