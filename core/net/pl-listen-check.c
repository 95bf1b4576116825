/* pl-listen-check.c: the listening sockets, from NETLINK_SOCK_DIAG, and their owners, from /proc
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>

#include "pl-listen-check.h"
#include "pl-netlink.h"

/* The kernel's socket states (include/net/tcp_states.h): a TCP socket that accepts
 * connections is LISTEN; a UDP socket that is bound but not connected is CLOSE. */
#define SOCKET_STATE_CLOSE  7
#define SOCKET_STATE_LISTEN 10

/* Names in /proc/PID/comm are cut to 15 bytes (TASK_COMM_LEN - 1). */
#define COMM_MAX_LEN 15

typedef struct
{
  guint8   family;      /* AF_INET, AF_INET6 */
  guint8   protocol;    /* IPPROTO_TCP, IPPROTO_UDP */
  guint16  port;
  guint    v6only : 1;
  guint    unspecified : 1;
  guint    loopback : 1;
  guint64  inode;
} Socket;

typedef struct
{
  guint8  protocol;
  GArray *sockets;      /* Socket */
} DumpContext;

void
pl_listen_answer_clear (PlListenAnswer *answer)
{
  if (answer == NULL)
    return;
  g_clear_pointer (&answer->program, g_free);
}

guint64
_pl_listen_parse_socket_link (const char *target)
{
  const char *digits;
  char *end = NULL;
  guint64 inode;

  if (target == NULL || !g_str_has_prefix (target, "socket:["))
    return 0;
  digits = target + strlen ("socket:[");
  if (!g_ascii_isdigit (*digits))
    return 0;
  errno = 0;
  inode = g_ascii_strtoull (digits, &end, 10);
  if (errno != 0 || end == NULL || strcmp (end, "]") != 0)
    return 0;
  return inode;
}

static gboolean
address_is_unspecified (const Socket *socket_, const guint32 *src)
{
  if (socket_->family == AF_INET)
    return src[0] == 0;
  return src[0] == 0 && src[1] == 0 && src[2] == 0 && src[3] == 0;
}

static gboolean
address_is_loopback (const Socket *socket_, const guint32 *src)
{
  const guint8 *bytes = (const guint8 *) src;

  if (socket_->family == AF_INET)
    return bytes[0] == 127;
  /* ::1, or ::ffff:127.x.y.z */
  if (src[0] == 0 && src[1] == 0 && src[2] == 0 && g_ntohl (src[3]) == 1)
    return TRUE;
  return src[0] == 0 && src[1] == 0 && g_ntohl (src[2]) == 0xffff && bytes[12] == 127;
}

static gboolean
sock_diag_message_cb (const struct nlmsghdr  *nlh,
                      gpointer                user_data,
                      GError                **error)
{
  DumpContext *context = user_data;
  const struct inet_diag_msg *msg;
  const struct rtattr *rta;
  gsize attr_len;
  Socket found = { 0 };

  if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY)
    return TRUE;
  if (nlh->nlmsg_len < NLMSG_LENGTH (sizeof (struct inet_diag_msg)))
    {
      _pl_netlink_set_malformed (error, "inet_diag message too short");
      return FALSE;
    }
  msg = NLMSG_DATA (nlh);
  if (msg->idiag_family != AF_INET && msg->idiag_family != AF_INET6)
    return TRUE;

  found.family = msg->idiag_family;
  found.protocol = context->protocol;
  found.port = g_ntohs (msg->id.idiag_sport);
  found.inode = msg->idiag_inode;
  found.unspecified = address_is_unspecified (&found, msg->id.idiag_src);
  found.loopback = address_is_loopback (&found, msg->id.idiag_src);

  attr_len = nlh->nlmsg_len - NLMSG_LENGTH (sizeof (struct inet_diag_msg));
  for (rta = (const struct rtattr *) ((const guint8 *) msg + NLMSG_ALIGN (sizeof *msg));
       RTA_OK (rta, attr_len); rta = RTA_NEXT (rta, attr_len))
    {
      guint8 v6only;

      if (rta->rta_type == INET_DIAG_SKV6ONLY && _pl_netlink_attr_copy (rta, &v6only, 1))
        found.v6only = v6only != 0;
    }

  g_array_append_val (context->sockets, found);
  return TRUE;
}

static gboolean
dump_sockets (guint8    family,
              guint8    protocol,
              GArray   *sockets,
              GError  **error)
{
  struct inet_diag_req_v2 request = { 0 };
  DumpContext context = { protocol, sockets };
  g_autoptr(GError) local_error = NULL;

  request.sdiag_family = family;
  request.sdiag_protocol = protocol;
  request.idiag_states = protocol == IPPROTO_TCP ? 1u << SOCKET_STATE_LISTEN
                                                 : 1u << SOCKET_STATE_CLOSE;
  /* The kernel adds INET_DIAG_SKV6ONLY to every IPv6 socket without being asked. */

  if (!_pl_netlink_dump_full (NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, &request, sizeof request,
                              sock_diag_message_cb, &context, &local_error))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "Could not list the %s %s sockets: ",
                                  family == AF_INET ? "IPv4" : "IPv6",
                                  protocol == IPPROTO_TCP ? "TCP" : "UDP");
      return FALSE;
    }
  return TRUE;
}

static gboolean
socket_matches (const Socket        *socket_,
                const PlListenQuery *query)
{
  guint8 protocol = query->protocol == PL_PROTOCOL_TCP ? IPPROTO_TCP : IPPROTO_UDP;

  if (socket_->protocol != protocol || socket_->port != query->port)
    return FALSE;
  if (query->family == G_SOCKET_FAMILY_IPV6)
    return socket_->family == AF_INET6;
  /* An IPv6 socket on :: takes IPv4 too, unless it is IPV6_V6ONLY. */
  return socket_->family == AF_INET ||
         (socket_->family == AF_INET6 && !socket_->v6only && socket_->unspecified);
}

/* The program's name: /proc/PID/comm, or argv[0]'s base name when comm was cut short. */
static char *
program_name (const char *pid)
{
  g_autofree char *comm_path = g_build_filename ("/proc", pid, "comm", NULL);
  g_autofree char *cmdline_path = g_build_filename ("/proc", pid, "cmdline", NULL);
  g_autofree char *comm = NULL;
  g_autofree char *cmdline = NULL;
  gsize length = 0;

  if (!g_file_get_contents (comm_path, &comm, NULL, NULL))
    return NULL;
  g_strchomp (comm);
  if (*comm == '\0')
    return NULL;
  if (strlen (comm) >= COMM_MAX_LEN &&
      g_file_get_contents (cmdline_path, &cmdline, &length, NULL) && length > 0)
    {
      /* cmdline is NUL-separated; the first string is argv[0]. */
      g_autofree char *base = g_path_get_basename (cmdline);

      if (g_str_has_prefix (base, comm))
        return g_steal_pointer (&base);
    }
  return g_steal_pointer (&comm);
}

/* Names the owners of the inodes in @owners (inode -> NULL) by walking /proc/PID/fd; the
 * processes we may not look into keep NULL. */
static void
name_owners (GHashTable   *owners,
             GCancellable *cancellable)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  guint unnamed = g_hash_table_size (owners);
  const char *pid;

  if (proc == NULL)
    return;
  while (unnamed > 0 && (pid = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *fd_path = NULL;
      g_autoptr(GDir) fds = NULL;
      const char *fd;

      if (!g_ascii_isdigit (pid[0]) || g_cancellable_is_cancelled (cancellable))
        continue;
      fd_path = g_build_filename ("/proc", pid, "fd", NULL);
      fds = g_dir_open (fd_path, 0, NULL);
      if (fds == NULL)
        continue;   /* another user's process, or gone */
      while (unnamed > 0 && (fd = g_dir_read_name (fds)) != NULL)
        {
          g_autofree char *link = g_build_filename (fd_path, fd, NULL);
          g_autofree char *target = g_file_read_link (link, NULL);
          guint64 inode = _pl_listen_parse_socket_link (target);
          gpointer key = &inode;

          if (inode == 0 || !g_hash_table_contains (owners, key) ||
              g_hash_table_lookup (owners, key) != NULL)
            continue;
          {
            char *name = program_name (pid);

            if (name != NULL)
              {
                g_hash_table_replace (owners, g_memdup2 (&inode, sizeof inode), name);
                unnamed--;
              }
          }
        }
    }
}

GArray *
pl_listen_check_sync (const PlListenQuery  *queries,
                      guint                 n_queries,
                      GCancellable         *cancellable,
                      GError              **error)
{
  static const guint8 families[] = { AF_INET, AF_INET6 };
  static const guint8 protocols[] = { IPPROTO_TCP, IPPROTO_UDP };
  g_autoptr(GArray) sockets = g_array_new (FALSE, FALSE, sizeof (Socket));
  g_autoptr(GHashTable) owners = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                                        g_free, g_free);
  g_autoptr(GArray) answers = NULL;

  g_return_val_if_fail (queries != NULL || n_queries == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Dump each protocol and family some query needs (an IPv4 query needs the IPv6 sockets
   * too, for the dual-stack ones). */
  for (guint p = 0; p < G_N_ELEMENTS (protocols); p++)
    {
      gboolean wanted = FALSE;

      for (guint i = 0; i < n_queries; i++)
        if ((queries[i].protocol == PL_PROTOCOL_TCP) == (protocols[p] == IPPROTO_TCP))
          wanted = TRUE;
      if (!wanted)
        continue;
      for (guint f = 0; f < G_N_ELEMENTS (families); f++)
        {
          gboolean family_wanted = families[f] == AF_INET6;

          for (guint i = 0; i < n_queries && !family_wanted; i++)
            if ((queries[i].protocol == PL_PROTOCOL_TCP) == (protocols[p] == IPPROTO_TCP) &&
                queries[i].family == G_SOCKET_FAMILY_IPV4)
              family_wanted = TRUE;
          if (family_wanted && !dump_sockets (families[f], protocols[p], sockets, error))
            return NULL;
        }
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  answers = g_array_sized_new (FALSE, TRUE, sizeof (PlListenAnswer), n_queries);
  g_array_set_clear_func (answers, (GDestroyNotify) pl_listen_answer_clear);
  g_array_set_size (answers, n_queries);

  for (guint i = 0; i < n_queries; i++)
    for (guint s = 0; s < sockets->len; s++)
      {
        Socket *socket_ = &g_array_index (sockets, Socket, s);

        if (socket_matches (socket_, &queries[i]) && socket_->inode != 0)
          g_hash_table_insert (owners, g_memdup2 (&socket_->inode, sizeof socket_->inode),
                               NULL);
      }
  name_owners (owners, cancellable);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  for (guint i = 0; i < n_queries; i++)
    {
      PlListenAnswer *answer = &g_array_index (answers, PlListenAnswer, i);
      const char *loopback_program = NULL;

      answer->loopback_only = TRUE;
      for (guint s = 0; s < sockets->len; s++)
        {
          Socket *socket_ = &g_array_index (sockets, Socket, s);
          const char *name;

          if (!socket_matches (socket_, &queries[i]))
            continue;
          answer->listening = TRUE;
          name = g_hash_table_lookup (owners, &socket_->inode);
          if (socket_->loopback)
            {
              if (loopback_program == NULL)
                loopback_program = name;
              continue;
            }
          answer->loopback_only = FALSE;
          /* A program that the network reaches names the port first. */
          if (answer->program == NULL && name != NULL)
            answer->program = g_strdup (name);
        }
      if (!answer->listening)
        answer->loopback_only = FALSE;
      else if (answer->loopback_only)
        answer->program = g_strdup (loopback_program);
    }

  return g_steal_pointer (&answers);
}

typedef struct
{
  PlListenQuery *queries;
  guint          n_queries;
} CheckData;

static void
check_data_free (CheckData *data)
{
  g_free (data->queries);
  g_free (data);
}

static void
check_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  CheckData *data = task_data;
  GError *error = NULL;
  GArray *answers = pl_listen_check_sync (data->queries, data->n_queries, cancellable, &error);

  if (answers == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, answers, (GDestroyNotify) g_array_unref);
}

void
pl_listen_check_async (const PlListenQuery  *queries,
                       guint                 n_queries,
                       GCancellable         *cancellable,
                       GAsyncReadyCallback   callback,
                       gpointer              user_data)
{
  g_autoptr(GTask) task = NULL;
  CheckData *data;

  g_return_if_fail (queries != NULL || n_queries == 0);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, pl_listen_check_async);
  g_task_set_name (task, "[portlight] listen check");
  data = g_new0 (CheckData, 1);
  data->queries = g_memdup2 (queries, sizeof *queries * n_queries);
  data->n_queries = n_queries;
  g_task_set_task_data (task, data, (GDestroyNotify) check_data_free);
  g_task_run_in_thread (task, check_thread);
}

GArray *
pl_listen_check_finish (GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == pl_listen_check_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
