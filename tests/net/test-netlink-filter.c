/* test-netlink-filter.c: the network watcher's event filter, run by the kernel
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The filter is attached to one end of an AF_UNIX datagram pair, where the kernel runs
 * socket filters as it does on the rtnetlink socket: messages laid out as rtnetlink's are
 * sent from the other end, and what arrives is what the watcher would be woken for. No
 * privileges needed.
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "pl-netlink-filter.h"

typedef struct
{
  int fds[2];   /* [0] filtered, receives; [1] sends */
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, f->fds), ==, 0);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  close (f->fds[0]);
  close (f->fds[1]);
}

static void
parse4 (const char *text,
        guint8      out[4])
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (text);

  g_assert_nonnull (address);
  memcpy (out, g_inet_address_to_bytes (address), 4);
}

static void
add_attr (GByteArray   *message,
          guint16       type,
          const guint8 *data,
          guint16       len)
{
  struct rtattr rta = { RTA_LENGTH (len), type };
  static const guint8 pad[4];

  g_byte_array_append (message, (const guint8 *) &rta, sizeof rta);
  g_byte_array_append (message, data, len);
  g_byte_array_append (message, pad, RTA_ALIGN (len) - len);
}

static void
finish (GByteArray *message,
        guint16     type)
{
  struct nlmsghdr *nlh = (struct nlmsghdr *) message->data;

  nlh->nlmsg_len = message->len;
  nlh->nlmsg_type = type;
}

/* A neighbour event as the kernel lays it out: ndmsg, NDA_DST, NDA_LLADDR (or with
 * @lladdr_first, the other way round). */
static GByteArray *
neighbour_message (guint16     type,
                   guint8      family,
                   const char *address,
                   gboolean    lladdr_first)
{
  GByteArray *message = g_byte_array_new ();
  struct nlmsghdr nlh = { 0 };
  struct ndmsg ndm = { 0 };
  static const guint8 mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
  g_autoptr(GInetAddress) dst = g_inet_address_new_from_string (address);
  guint16 len = (guint16) g_inet_address_get_native_size (dst);

  ndm.ndm_family = family;
  ndm.ndm_ifindex = 2;
  ndm.ndm_state = NUD_STALE;
  g_byte_array_append (message, (const guint8 *) &nlh, sizeof nlh);
  g_byte_array_append (message, (const guint8 *) &ndm, sizeof ndm);
  if (lladdr_first)
    add_attr (message, NDA_LLADDR, mac, sizeof mac);
  add_attr (message, NDA_DST, g_inet_address_to_bytes (dst), len);
  if (!lladdr_first)
    add_attr (message, NDA_LLADDR, mac, sizeof mac);
  finish (message, type);
  return message;
}

/* A route or address event: its header's first byte is the family, as in ndmsg. */
static GByteArray *
route_message (guint16 type,
               guint8  family)
{
  GByteArray *message = g_byte_array_new ();
  struct nlmsghdr nlh = { 0 };
  struct rtmsg rtm = { 0 };
  static const guint8 zero[4];

  rtm.rtm_family = family;
  rtm.rtm_table = RT_TABLE_MAIN;
  g_byte_array_append (message, (const guint8 *) &nlh, sizeof nlh);
  g_byte_array_append (message, (const guint8 *) &rtm, sizeof rtm);
  add_attr (message, RTA_DST, zero, sizeof zero);
  finish (message, type);
  return message;
}

/* Sends @message (freed) and says whether it came through the filter. */
static gboolean
passes (Fixture    *f,
        GByteArray *message)
{
  guint8 buf[512];
  ssize_t n;

  g_assert_cmpint (send (f->fds[1], message->data, message->len, 0), ==, (ssize_t) message->len);
  n = recv (f->fds[0], buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0)
    {
      g_assert_cmpint (errno, ==, EAGAIN);
      g_byte_array_unref (message);
      return FALSE;
    }
  g_assert_cmpint (n, ==, (ssize_t) message->len);
  g_assert_cmpmem (buf, n, message->data, message->len);
  g_byte_array_unref (message);
  return TRUE;
}

static void
test_gateway (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint8 gateway[4];

  g_test_summary ("With the gateway known: its neighbour entry's events pass, other hosts' "
                  "do not; every IPv4 route and address event passes; no IPv6 event does");

  parse4 ("192.168.77.1", gateway);
  g_assert_true (pl_netlink_filter_attach (f->fds[0], gateway, &error));
  g_assert_no_error (error);

  g_assert_true (passes (f, neighbour_message (RTM_NEWNEIGH, AF_INET, "192.168.77.1", FALSE)));
  g_assert_true (passes (f, neighbour_message (RTM_DELNEIGH, AF_INET, "192.168.77.1", FALSE)));
  g_assert_false (passes (f, neighbour_message (RTM_NEWNEIGH, AF_INET, "192.168.77.3", FALSE)));
  g_assert_false (passes (f, neighbour_message (RTM_DELNEIGH, AF_INET, "192.168.77.3", FALSE)));
  g_assert_false (passes (f, neighbour_message (RTM_NEWNEIGH, AF_INET, "1.77.168.192", FALSE)));
  g_assert_false (passes (f, neighbour_message (RTM_NEWNEIGH, AF_INET6, "fe80::1", FALSE)));
  /* Laid out otherwise than the kernel does: looked at in user space. */
  g_assert_true (passes (f, neighbour_message (RTM_NEWNEIGH, AF_INET, "192.168.77.3", TRUE)));

  g_assert_true (passes (f, route_message (RTM_NEWROUTE, AF_INET)));
  g_assert_true (passes (f, route_message (RTM_DELROUTE, AF_INET)));
  g_assert_true (passes (f, route_message (RTM_NEWADDR, AF_INET)));
  g_assert_true (passes (f, route_message (RTM_DELADDR, AF_INET)));
  g_assert_false (passes (f, route_message (RTM_NEWROUTE, AF_INET6)));
  g_assert_false (passes (f, route_message (RTM_NEWADDR, AF_INET6)));
}

static void
test_no_gateway (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_test_summary ("With no gateway: no neighbour event, the IPv4 route and address events");

  g_assert_true (pl_netlink_filter_attach (f->fds[0], NULL, &error));
  g_assert_no_error (error);
  g_assert_false (passes (f, neighbour_message (RTM_NEWNEIGH, AF_INET, "192.168.77.1", FALSE)));
  g_assert_false (passes (f, neighbour_message (RTM_DELNEIGH, AF_INET, "0.0.0.0", FALSE)));
  g_assert_true (passes (f, route_message (RTM_NEWROUTE, AF_INET)));
  g_assert_true (passes (f, route_message (RTM_NEWADDR, AF_INET)));
}

static void
test_replaced (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint8 gateway[4];

  g_test_summary ("Attached again for another gateway: the new one's entry passes, the old "
                  "one's no longer");

  parse4 ("192.168.77.1", gateway);
  g_assert_true (pl_netlink_filter_attach (f->fds[0], gateway, &error));
  parse4 ("10.0.0.138", gateway);
  g_assert_true (pl_netlink_filter_attach (f->fds[0], gateway, &error));
  g_assert_no_error (error);
  g_assert_true (passes (f, neighbour_message (RTM_NEWNEIGH, AF_INET, "10.0.0.138", FALSE)));
  g_assert_false (passes (f, neighbour_message (RTM_NEWNEIGH, AF_INET, "192.168.77.1", FALSE)));
}

static void
test_refused (void)
{
  g_autoptr(GError) error = NULL;

  g_test_summary ("A descriptor that is no socket: an error that says so, not a crash");

  g_assert_false (pl_netlink_filter_attach (-1, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "network events"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/netlink-filter/gateway", Fixture, NULL, fixture_set_up, test_gateway,
              fixture_tear_down);
  g_test_add ("/netlink-filter/no-gateway", Fixture, NULL, fixture_set_up, test_no_gateway,
              fixture_tear_down);
  g_test_add ("/netlink-filter/replaced", Fixture, NULL, fixture_set_up, test_replaced,
              fixture_tear_down);
  g_test_add_func ("/netlink-filter/refused", test_refused);
  return g_test_run ();
}
