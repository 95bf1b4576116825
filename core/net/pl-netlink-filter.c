/* pl-netlink-filter.c: the kernel-side filter of the network watcher's rtnetlink events
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Written here because no library we use builds socket filters for rtnetlink (libnl's
 * caches read every event in user space): a dozen classic BPF instructions.
 */

#include "config.h"

#include <errno.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/filter.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "pl-netlink-filter.h"

/* Offsets in a message: the netlink header, then the family byte of rtmsg, ifaddrmsg and
 * ndmsg; after the ndmsg (12 bytes) the first attribute's rta_len, rta_type and data. */
#define OFF_TYPE     4
#define OFF_FAMILY   NLMSG_HDRLEN
#define OFF_RTA      (NLMSG_HDRLEN + NLMSG_ALIGN (sizeof (struct ndmsg)))
#define OFF_RTA_TYPE (OFF_RTA + 2)
#define OFF_DST      (OFF_RTA + 4)

/* BPF loads halfwords and words big-endian; nlmsg_type and rta_* are in host order. */
#define HOST16(x)    ((guint32) htons (x))

gboolean
pl_netlink_filter_attach (int           fd,
                          const guint8 *gateway,
                          GError      **error)
{
  guint32 dst = 0;
  int saved_errno;

  if (gateway != NULL)
    dst = ((guint32) gateway[0] << 24) | ((guint32) gateway[1] << 16) |
          ((guint32) gateway[2] << 8) | gateway[3];

  {
    /* A jump skips that many instructions: ACCEPT is 12, DROP 13. */
    struct sock_filter code[] = {
      /*  0 */ BPF_STMT (BPF_LD | BPF_B | BPF_ABS, OFF_FAMILY),
      /*  1 */ BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 0, 11),             /* or DROP */
      /*  2 */ BPF_STMT (BPF_LD | BPF_H | BPF_ABS, OFF_TYPE),
      /*  3 */ BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, HOST16 (RTM_NEWNEIGH), 1, 0),
      /*  4 */ BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, HOST16 (RTM_DELNEIGH), 0, 7),  /* or ACCEPT */
      /*  5 */ BPF_JUMP (BPF_JMP | BPF_JA, gateway != NULL ? 0 : 7, 0, 0),         /* no gateway: DROP */
      /*  6 */ BPF_STMT (BPF_LD | BPF_H | BPF_ABS, OFF_RTA),
      /*  7 */ BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, HOST16 (RTA_LENGTH (4)), 0, 4), /* or ACCEPT */
      /*  8 */ BPF_STMT (BPF_LD | BPF_H | BPF_ABS, OFF_RTA_TYPE),
      /*  9 */ BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, HOST16 (NDA_DST), 0, 2),       /* or ACCEPT */
      /* 10 */ BPF_STMT (BPF_LD | BPF_W | BPF_ABS, OFF_DST),
      /* 11 */ BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, dst, 0, 1),                   /* ACCEPT, DROP */
      /* 12 */ BPF_STMT (BPF_RET | BPF_K, 0xffffffff),                             /* ACCEPT */
      /* 13 */ BPF_STMT (BPF_RET | BPF_K, 0),                                      /* DROP */
    };
    struct sock_fprog program = { G_N_ELEMENTS (code), code };

    if (setsockopt (fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) == 0)
      return TRUE;
  }
  saved_errno = errno;
  /* Not the last gateway's filter either: every event is read, and looked at. */
  setsockopt (fd, SOL_SOCKET, SO_DETACH_FILTER, NULL, 0);
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               "Could not filter the network events: %s", g_strerror (saved_errno));
  return FALSE;
}
