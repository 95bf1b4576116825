/* pl-netlink.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <gio/gio.h>

#include "pl-netlink.h"

/* Netlink bounds: the kernel sizes each dump part after our receive buffer (at most 32 KiB),
 * and a full Internet table (about a million routes) takes a few thousand parts. */
#define NETLINK_BUFFER_SIZE  (32 * 1024)
#define NETLINK_MAX_RECEIVES 65536
#define NETLINK_TIMEOUT_SEC  2

/* The largest family header a dump request carries (struct inet_diag_req_v2, 56 bytes). */
#define NETLINK_MAX_HEADER   64

void
_pl_netlink_set_malformed (GError     **error,
                           const char  *what)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
               "Malformed netlink reply: %s", what);
}

gboolean
_pl_netlink_attr_copy (const struct rtattr *rta,
                       void                *out,
                       gsize                size)
{
  if (RTA_PAYLOAD (rta) != size)
    return FALSE;

  memcpy (out, RTA_DATA (rta), size);
  return TRUE;
}

gboolean
_pl_netlink_attr_u32 (const struct rtattr *rta,
                      guint32             *out)
{
  return _pl_netlink_attr_copy (rta, out, sizeof (guint32));
}

/* A negative errno as the kernel sends it; anything else is EIO. */
static int
errno_from_kernel (int value)
{
  return value < 0 && value > G_MININT ? -value : EIO;
}

PlNetlinkStatus
_pl_netlink_parse (const guint8          *buf,
                   gsize                  len,
                   guint32                seq,
                   guint32                port_id,
                   PlNetlinkMessageFunc   func,
                   gpointer               user_data,
                   GError               **error)
{
  const struct nlmsghdr *nlh;
  int remaining;

  g_return_val_if_fail (buf != NULL || len == 0, PL_NETLINK_FAILED);
  g_return_val_if_fail ((GPOINTER_TO_SIZE (buf) % NLMSG_ALIGNTO) == 0, PL_NETLINK_FAILED);
  g_return_val_if_fail (func != NULL, PL_NETLINK_FAILED);
  g_return_val_if_fail (error == NULL || *error == NULL, PL_NETLINK_FAILED);

  if (len > G_MAXINT)
    {
      _pl_netlink_set_malformed (error, "buffer too large");
      return PL_NETLINK_FAILED;
    }

  remaining = (int) len;

  for (nlh = (const struct nlmsghdr *) buf; NLMSG_OK (nlh, remaining);
       nlh = NLMSG_NEXT (nlh, remaining))
    {
      if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != port_id)
        {
          g_debug ("Ignoring netlink message with seq %u, port %u", nlh->nlmsg_seq,
                   nlh->nlmsg_pid);
          continue;
        }

      switch (nlh->nlmsg_type)
        {
        case NLMSG_NOOP:
          continue;

        case NLMSG_DONE:
          /* Since Linux 4.x a dump that failed part-way carries a negative errno here. */
          if (nlh->nlmsg_len >= NLMSG_LENGTH (sizeof (int)))
            {
              int status;

              memcpy (&status, NLMSG_DATA (nlh), sizeof status);
              if (status < 0)
                {
                  int code = errno_from_kernel (status);

                  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (code),
                               "Netlink dump failed: %s", g_strerror (code));
                  return PL_NETLINK_FAILED;
                }
            }
          return PL_NETLINK_DONE;

        case NLMSG_ERROR:
          {
            struct nlmsgerr err;

            if (nlh->nlmsg_len < NLMSG_LENGTH (sizeof err))
              {
                _pl_netlink_set_malformed (error, "error message too short");
                return PL_NETLINK_FAILED;
              }

            memcpy (&err, NLMSG_DATA (nlh), sizeof err);
            if (err.error != 0)
              {
                int code = errno_from_kernel (err.error);

                g_set_error (error, G_IO_ERROR, g_io_error_from_errno (code),
                             "Netlink dump refused: %s", g_strerror (code));
                return PL_NETLINK_FAILED;
              }
            /* An acknowledgement. */
          }
          break;

        case NLMSG_OVERRUN:
          _pl_netlink_set_malformed (error, "overrun, data lost");
          return PL_NETLINK_FAILED;

        default:
          if (!func (nlh, user_data, error))
            return PL_NETLINK_FAILED;
          break;
        }

      /* A reply without NLM_F_MULTI is complete on its own. */
      if ((nlh->nlmsg_flags & NLM_F_MULTI) == 0)
        return PL_NETLINK_DONE;
    }

  if (remaining > 0)
    {
      _pl_netlink_set_malformed (error, "truncated message");
      return PL_NETLINK_FAILED;
    }

  return PL_NETLINK_MORE;
}

static void
set_errno_error (GError     **error,
                 int          saved_errno,
                 const char  *what)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               "%s: %s", what, g_strerror (saved_errno));
}

/* The family header the kernel expects after the nlmsghdr of a dump request of @type. All of
 * them start with the family byte. */
static gsize
request_header_size (guint16 type)
{
  switch (type)
    {
    case RTM_GETROUTE:
      return sizeof (struct rtmsg);
    case RTM_GETADDR:
      return sizeof (struct ifaddrmsg);
    case RTM_GETNEIGH:
      return sizeof (struct ndmsg);
    case RTM_GETLINK:
      return sizeof (struct ifinfomsg);
    default:
      return sizeof (struct rtgenmsg);
    }
}

/* Sends one NLM_F_DUMP request of @type whose family header is @header (@header_size bytes)
 * and feeds every part of the answer to _pl_netlink_parse() until it is complete. */
static gboolean
dump_on_socket (int                    fd,
                guint16                type,
                const void            *header,
                gsize                  header_size,
                PlNetlinkMessageFunc   func,
                gpointer               user_data,
                GError               **error)
{
  g_autofree guint8 *buf = NULL;
  struct sockaddr_nl local = { 0 };
  struct sockaddr_nl kernel = { 0 };
  struct timeval timeout = { NETLINK_TIMEOUT_SEC, 0 };
  socklen_t addrlen;
  guint32 seq;
  union
  {
    struct nlmsghdr nlh;
    guint8          bytes[NLMSG_SPACE (NETLINK_MAX_HEADER)];
  } request;

  g_return_val_if_fail (header_size <= NETLINK_MAX_HEADER, FALSE);

  if (setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0
      || setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) < 0)
    {
      set_errno_error (error, errno, "setsockopt");
      return FALSE;
    }

  local.nl_family = AF_NETLINK;
  if (bind (fd, (struct sockaddr *) &local, sizeof local) < 0)
    {
      set_errno_error (error, errno, "bind");
      return FALSE;
    }

  addrlen = sizeof local;
  if (getsockname (fd, (struct sockaddr *) &local, &addrlen) < 0)
    {
      set_errno_error (error, errno, "getsockname");
      return FALSE;
    }
  if (addrlen != sizeof local || local.nl_family != AF_NETLINK)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Unexpected netlink address");
      return FALSE;
    }

  seq = (guint32) g_get_monotonic_time ();

  memset (&request, 0, sizeof request);
  request.nlh.nlmsg_len = NLMSG_LENGTH (header_size);
  request.nlh.nlmsg_type = type;
  request.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  request.nlh.nlmsg_seq = seq;
  request.nlh.nlmsg_pid = local.nl_pid;
  memcpy (request.bytes + NLMSG_HDRLEN, header, header_size);

  kernel.nl_family = AF_NETLINK;
  if (sendto (fd, &request, request.nlh.nlmsg_len, 0,
              (struct sockaddr *) &kernel, sizeof kernel) < 0)
    {
      set_errno_error (error, errno, "sendto");
      return FALSE;
    }

  buf = g_malloc (NETLINK_BUFFER_SIZE);

  for (guint i = 0; i < NETLINK_MAX_RECEIVES; i++)
    {
      struct sockaddr_nl from = { 0 };
      struct iovec iov = { buf, NETLINK_BUFFER_SIZE };
      struct msghdr msg = { 0 };
      PlNetlinkStatus status;
      ssize_t n;

      msg.msg_name = &from;
      msg.msg_namelen = sizeof from;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;

      n = recvmsg (fd, &msg, 0);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          set_errno_error (error, errno, "recvmsg");
          return FALSE;
        }

      if (n == 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "Netlink socket closed");
          return FALSE;
        }

      if ((msg.msg_flags & MSG_TRUNC) != 0)
        {
          _pl_netlink_set_malformed (error, "reply larger than the receive buffer");
          return FALSE;
        }

      /* Only the kernel (port 0) answers a dump. */
      if (msg.msg_namelen != sizeof from || from.nl_pid != 0)
        continue;

      status = _pl_netlink_parse (buf, (gsize) n, seq, local.nl_pid, func, user_data, error);
      if (status == PL_NETLINK_DONE)
        return TRUE;
      if (status == PL_NETLINK_FAILED)
        return FALSE;
    }

  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Netlink dump did not end");
  return FALSE;
}

gboolean
_pl_netlink_dump (guint16                type,
                  guint8                 family,
                  PlNetlinkMessageFunc   func,
                  gpointer               user_data,
                  GError               **error)
{
  guint8 header[NETLINK_MAX_HEADER] = { 0 };
  gboolean ret;
  int fd;

  G_STATIC_ASSERT (sizeof (struct rtmsg) <= NETLINK_MAX_HEADER);
  G_STATIC_ASSERT (sizeof (struct ifaddrmsg) <= NETLINK_MAX_HEADER);
  G_STATIC_ASSERT (sizeof (struct ndmsg) <= NETLINK_MAX_HEADER);
  G_STATIC_ASSERT (sizeof (struct ifinfomsg) <= NETLINK_MAX_HEADER);

  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  fd = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0)
    {
      set_errno_error (error, errno, "socket(AF_NETLINK)");
      return FALSE;
    }

  /* rtm_family, ifa_family, ndm_family, ifi_family and rtgen_family are the first byte. */
  header[0] = family;
  ret = dump_on_socket (fd, type, header, request_header_size (type), func, user_data, error);
  close (fd);

  return ret;
}

gboolean
_pl_netlink_dump_full (int                    protocol,
                       guint16                type,
                       const void            *header,
                       gsize                  header_size,
                       PlNetlinkMessageFunc   func,
                       gpointer               user_data,
                       GError               **error)
{
  gboolean ret;
  int fd;

  g_return_val_if_fail (header != NULL, FALSE);
  g_return_val_if_fail (header_size <= NETLINK_MAX_HEADER, FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  fd = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (fd < 0)
    {
      set_errno_error (error, errno, "socket(AF_NETLINK)");
      return FALSE;
    }

  ret = dump_on_socket (fd, type, header, header_size, func, user_data, error);
  close (fd);

  return ret;
}
