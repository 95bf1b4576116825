/* test-listen-check.c: real listening sockets on ephemeral ports, found and named
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <netinet/in.h>

#include <gio/gio.h>

#include "pl-listen-check.h"

/* A socket of @type bound to @address:0 (an ephemeral port); NULL (and the test skipped)
 * when the address family is missing here. */
static GSocket *
bound_socket (GSocketFamily  family,
              GSocketType    type,
              const char    *address,
              gboolean       v6only)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket_ = g_socket_new (family, type, 0, &error);
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);
  g_autoptr(GSocketAddress) where = g_inet_socket_address_new (inet, 0);

  if (socket_ == NULL)
    {
      g_test_skip_printf ("No %s socket here: %s", address, error->message);
      return NULL;
    }
  if (family == G_SOCKET_FAMILY_IPV6)
    g_socket_set_option (socket_, IPPROTO_IPV6, IPV6_V6ONLY, v6only, NULL);
  if (!g_socket_bind (socket_, where, FALSE, &error))
    {
      g_test_skip_printf ("Cannot bind to %s: %s", address, error->message);
      return NULL;
    }
  return g_steal_pointer (&socket_);
}

static guint16
local_port (GSocket *socket_)
{
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (socket_, NULL);

  g_assert_nonnull (local);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
}

static GArray *
check (PlProtocol     protocol,
       GSocketFamily  family,
       guint16        port)
{
  PlListenQuery query = { protocol, family, port };
  g_autoptr(GError) error = NULL;
  GArray *answers = pl_listen_check_sync (&query, 1, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (answers);
  g_assert_cmpuint (answers->len, ==, 1);
  return answers;
}

#define ANSWER(a) (&g_array_index ((a), PlListenAnswer, 0))

/* Our own name, as /proc gives it: "test-listen-check" is longer than the 15 bytes of
 * /proc/PID/comm, so this also checks that the whole name is found (from the command line). */
static char *our_name;

static void
assert_is_us (const PlListenAnswer *answer)
{
  g_assert_true (answer->listening);
  g_assert_cmpstr (answer->program, ==, our_name);
}

static void
test_tcp4 (void)
{
  g_autoptr(GSocket) listener = bound_socket (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                              "0.0.0.0", FALSE);
  g_autoptr(GSocket) idle = bound_socket (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                          "0.0.0.0", FALSE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) found = NULL;
  g_autoptr(GArray) bound_only = NULL;
  g_autoptr(GArray) udp = NULL;
  g_autoptr(GArray) closed = NULL;
  guint16 port;

  g_test_summary ("A TCP socket in the LISTEN state is found and named after this program; a "
                  "bound socket that does not listen, the other protocol and a closed socket "
                  "are not found");

  g_assert_true (g_socket_listen (listener, &error));
  g_assert_no_error (error);
  port = local_port (listener);

  found = check (PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV4, port);
  assert_is_us (ANSWER (found));
  g_assert_false (ANSWER (found)->loopback_only);

  bound_only = check (PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV4, local_port (idle));
  g_assert_false (ANSWER (bound_only)->listening);
  g_assert_null (ANSWER (bound_only)->program);

  udp = check (PL_PROTOCOL_UDP, G_SOCKET_FAMILY_IPV4, port);
  g_assert_false (ANSWER (udp)->listening);

  g_assert_true (g_socket_close (listener, &error));
  closed = check (PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV4, port);
  g_assert_false (ANSWER (closed)->listening);
  g_assert_null (ANSWER (closed)->program);
}

static void
test_tcp4_loopback (void)
{
  g_autoptr(GSocket) listener = bound_socket (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                              "127.0.0.1", FALSE);
  g_autoptr(GArray) found = NULL;

  g_test_summary ("A TCP socket that listens on 127.0.0.1 only is found, named, and said to "
                  "be out of the network's reach");

  g_assert_true (g_socket_listen (listener, NULL));
  found = check (PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV4, local_port (listener));
  assert_is_us (ANSWER (found));
  g_assert_true (ANSWER (found)->loopback_only);
}

static void
test_tcp6 (void)
{
  g_autoptr(GSocket) v6only = bound_socket (G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_STREAM,
                                            "::", TRUE);
  g_autoptr(GSocket) dual = NULL;
  g_autoptr(GArray) v6 = NULL;
  g_autoptr(GArray) v4 = NULL;
  g_autoptr(GArray) dual_v4 = NULL;
  g_autoptr(GArray) dual_v6 = NULL;

  g_test_summary ("An IPv6 TCP socket is found for IPv6; for IPv4 only when it is dual-stack "
                  "(bound to :: without IPV6_V6ONLY)");

  if (v6only == NULL)
    return;
  g_assert_true (g_socket_listen (v6only, NULL));
  v6 = check (PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV6, local_port (v6only));
  assert_is_us (ANSWER (v6));
  v4 = check (PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV4, local_port (v6only));
  g_assert_false (ANSWER (v4)->listening);

  dual = bound_socket (G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_STREAM, "::", FALSE);
  if (dual == NULL)
    return;
  g_assert_true (g_socket_listen (dual, NULL));
  dual_v4 = check (PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV4, local_port (dual));
  assert_is_us (ANSWER (dual_v4));
  dual_v6 = check (PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV6, local_port (dual));
  assert_is_us (ANSWER (dual_v6));
}

static void
test_udp (void)
{
  g_autoptr(GSocket) server = bound_socket (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            "0.0.0.0", FALSE);
  g_autoptr(GSocket) connected = bound_socket (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                               "127.0.0.1", FALSE);
  g_autoptr(GSocket) server6 = NULL;
  g_autoptr(GSocketAddress) peer = NULL;
  g_autoptr(GArray) found = NULL;
  g_autoptr(GArray) not_found = NULL;
  g_autoptr(GArray) tcp = NULL;
  g_autoptr(GArray) found6 = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A bound, unconnected UDP socket is found and named (IPv4 and IPv6); a "
                  "connected one, and TCP on that port, are not");

  found = check (PL_PROTOCOL_UDP, G_SOCKET_FAMILY_IPV4, local_port (server));
  assert_is_us (ANSWER (found));
  tcp = check (PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV4, local_port (server));
  g_assert_false (ANSWER (tcp)->listening);

  peer = g_inet_socket_address_new_from_string ("127.0.0.1", local_port (server));
  g_assert_true (g_socket_connect (connected, peer, NULL, &error));
  g_assert_no_error (error);
  not_found = check (PL_PROTOCOL_UDP, G_SOCKET_FAMILY_IPV4, local_port (connected));
  g_assert_false (ANSWER (not_found)->listening);

  server6 = bound_socket (G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_DATAGRAM, "::", TRUE);
  if (server6 == NULL)
    return;
  found6 = check (PL_PROTOCOL_UDP, G_SOCKET_FAMILY_IPV6, local_port (server6));
  assert_is_us (ANSWER (found6));
}

static void
check_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static void
test_async_batch (void)
{
  g_autoptr(GSocket) tcp = bound_socket (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                         "0.0.0.0", FALSE);
  g_autoptr(GSocket) idle = bound_socket (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                          "0.0.0.0", FALSE);
  g_autoptr(GSocket) udp = bound_socket (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                         "0.0.0.0", FALSE);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GArray) answers = NULL;
  g_autoptr(GError) error = NULL;
  PlListenQuery queries[3];

  g_test_summary ("The async check answers several queries at once, in their order, on the "
                  "caller's main context");

  g_assert_true (g_socket_listen (tcp, NULL));
  queries[0] = (PlListenQuery) { PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV4, local_port (tcp) };
  queries[1] = (PlListenQuery) { PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV4, local_port (idle) };
  queries[2] = (PlListenQuery) { PL_PROTOCOL_UDP, G_SOCKET_FAMILY_IPV4, local_port (udp) };

  pl_listen_check_async (queries, G_N_ELEMENTS (queries), NULL, check_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  answers = pl_listen_check_finish (result, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (answers->len, ==, 3);
  assert_is_us (&g_array_index (answers, PlListenAnswer, 0));
  g_assert_false (g_array_index (answers, PlListenAnswer, 1).listening);
  assert_is_us (&g_array_index (answers, PlListenAnswer, 2));
}

static void
test_cancelled (void)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GArray) answers = NULL;
  g_autoptr(GError) error = NULL;
  PlListenQuery query = { PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV4, 1 };

  g_test_summary ("A cancelled check ends with G_IO_ERROR_CANCELLED");

  g_cancellable_cancel (cancellable);
  pl_listen_check_async (&query, 1, cancellable, check_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  answers = pl_listen_check_finish (result, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (answers);
}

static void
test_socket_link (void)
{
  g_test_summary ("Only a well-formed \"socket:[N]\" link target gives an inode");

  g_assert_cmpuint (_pl_listen_parse_socket_link ("socket:[12345]"), ==, 12345);
  g_assert_cmpuint (_pl_listen_parse_socket_link ("socket:[18446744073709551615]"), ==,
                    G_MAXUINT64);
  g_assert_cmpuint (_pl_listen_parse_socket_link ("socket:[]"), ==, 0);
  g_assert_cmpuint (_pl_listen_parse_socket_link ("socket:[12a]"), ==, 0);
  g_assert_cmpuint (_pl_listen_parse_socket_link ("socket:[-1]"), ==, 0);
  g_assert_cmpuint (_pl_listen_parse_socket_link ("socket:[12"), ==, 0);
  g_assert_cmpuint (_pl_listen_parse_socket_link ("socket:[99999999999999999999]"), ==, 0);
  g_assert_cmpuint (_pl_listen_parse_socket_link ("pipe:[12345]"), ==, 0);
  g_assert_cmpuint (_pl_listen_parse_socket_link ("/dev/null"), ==, 0);
  g_assert_cmpuint (_pl_listen_parse_socket_link (""), ==, 0);
  g_assert_cmpuint (_pl_listen_parse_socket_link (NULL), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  /* Our whole name, unless we run under a wrapper (valgrind) that /proc names instead. */
  {
    g_autofree char *comm = NULL;

    our_name = g_path_get_basename (argv[0]);
    if (g_file_get_contents ("/proc/self/comm", &comm, NULL, NULL) &&
        !g_str_has_prefix (our_name, g_strchomp (comm)))
      {
        g_free (our_name);
        our_name = g_steal_pointer (&comm);
      }
  }

  g_test_add_func ("/listen-check/tcp4", test_tcp4);
  g_test_add_func ("/listen-check/tcp4-loopback", test_tcp4_loopback);
  g_test_add_func ("/listen-check/tcp6", test_tcp6);
  g_test_add_func ("/listen-check/udp", test_udp);
  g_test_add_func ("/listen-check/async-batch", test_async_batch);
  g_test_add_func ("/listen-check/cancelled", test_cancelled);
  g_test_add_func ("/listen-check/socket-link", test_socket_link);

  {
    int ret = g_test_run ();

    g_free (our_name);
    return ret;
  }
}
