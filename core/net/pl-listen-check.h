/* pl-listen-check.h: whether a program on this computer listens on a port, and which
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-types.h"

G_BEGIN_DECLS

/**
 * PlListenQuery:
 * @protocol: TCP (a socket in the LISTEN state) or UDP (a bound, unconnected socket)
 * @family: %G_SOCKET_FAMILY_IPV4 (IPv4 sockets, and IPv6 ones bound to `::` that also take
 *   IPv4, i.e. without IPV6_V6ONLY) or %G_SOCKET_FAMILY_IPV6 (IPv6 sockets only)
 * @port: the local port
 *
 * One question to pl_listen_check_async().
 */
typedef struct
{
  PlProtocol     protocol;
  GSocketFamily  family;
  guint16        port;
} PlListenQuery;

/**
 * PlListenAnswer:
 * @listening: a socket on this computer listens on the port
 * @loopback_only: every such socket is bound to a loopback address (127.0.0.0/8, ::1), so
 *   nothing from the network reaches it
 * @program: (nullable): the name of the program that owns the socket ("sshd"), when
 *   /proc tells: the sockets of other users' processes are not named (unless we are root)
 *
 * The answer to one #PlListenQuery.
 */
typedef struct
{
  gboolean  listening;
  gboolean  loopback_only;
  char     *program;
} PlListenAnswer;

/* Frees @answer's members (for g_array_set_clear_func()). */
void     pl_listen_answer_clear (PlListenAnswer       *answer);

/* Asks the kernel (NETLINK_SOCK_DIAG, inet_diag) for the listening sockets, then names their
 * owners by matching socket inodes to /proc/PID/fd. The socket dump is cheap; the /proc walk
 * is a readlink() per open file of every process we may look into, so the whole check runs
 * in a worker thread and the main loop never waits for it. @queries is copied.
 * @callback runs on the thread-default main context of the caller. */
void     pl_listen_check_async  (const PlListenQuery  *queries,
                                 guint                 n_queries,
                                 GCancellable         *cancellable,
                                 GAsyncReadyCallback   callback,
                                 gpointer              user_data);
/* Returns: (transfer full) (element-type PlListenAnswer): one answer per query, in the same
 * order; NULL with @error set when the kernel could not be asked (G_IO_ERROR). */
GArray  *pl_listen_check_finish (GAsyncResult         *result,
                                 GError              **error);
/* The same, blocking (tests, the CLI). */
GArray  *pl_listen_check_sync   (const PlListenQuery  *queries,
                                 guint                 n_queries,
                                 GCancellable         *cancellable,
                                 GError              **error);

/* Pure: the inode of a /proc/PID/fd link's target "socket:[12345]"; 0 for anything else. */
guint64  _pl_listen_parse_socket_link (const char     *target);

G_END_DECLS
