/* test-ipv6-route.c: the IPv6 default router, the stable address and the neighbour table
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define _GNU_SOURCE 1

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <net/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "pl-error.h"
#include "pl-ipv6-route.h"
#include "pl-ipv6-route-private.h"

#define SEQ  9001
#define PORT 4321

/* Netlink messages, built in a fixed buffer ------------------------------------------------
 *
 * The same builder makes the crafted dumps and, in the live test, the requests that set up a
 * network namespace; it does not allocate, so that a forked child may use it too. */

#define NLBUF_SIZE 8192

typedef struct
{
  union
  {
    struct nlmsghdr align;
    guint8          bytes[NLBUF_SIZE];
  } u;
  gsize len;
  gsize start;                /* offset of the open message */
} NlBuf;

static void
nlb_put (NlBuf      *b,
         const void *data,
         gsize       len)
{
  gsize padded = NLMSG_ALIGN (len);

  g_assert_cmpuint (b->len + padded, <=, NLBUF_SIZE);
  if (len > 0)
    memcpy (b->u.bytes + b->len, data, len);
  memset (b->u.bytes + b->len + len, 0, padded - len);
  b->len += padded;
}

static void
nlb_begin (NlBuf   *b,
           guint16  type,
           guint16  flags)
{
  struct nlmsghdr nlh = { 0 };

  nlh.nlmsg_type = type;
  nlh.nlmsg_flags = flags;
  nlh.nlmsg_seq = SEQ;
  nlh.nlmsg_pid = PORT;

  b->start = b->len;
  nlb_put (b, &nlh, sizeof nlh);
}

static void
nlb_end (NlBuf *b)
{
  guint32 len = (guint32) (b->len - b->start);

  memcpy (b->u.bytes + b->start + G_STRUCT_OFFSET (struct nlmsghdr, nlmsg_len), &len,
          sizeof len);
}

/* Opens a nested attribute; close it with nlb_nest_end() and the returned offset. */
static gsize
nlb_nest_begin (NlBuf   *b,
                guint16  type)
{
  struct rtattr rta = { .rta_len = 0, .rta_type = type };
  gsize start = b->len;

  nlb_put (b, &rta, sizeof rta);
  return start;
}

static void
nlb_nest_end (NlBuf *b,
              gsize  start)
{
  guint16 len = (guint16) (b->len - start);

  memcpy (b->u.bytes + start + G_STRUCT_OFFSET (struct rtattr, rta_len), &len, sizeof len);
}

static void
nlb_attr (NlBuf      *b,
          guint16     type,
          const void *data,
          gsize       len)
{
  struct rtattr rta = { 0 };

  rta.rta_len = (unsigned short) RTA_LENGTH (len);
  rta.rta_type = type;
  nlb_put (b, &rta, sizeof rta);
  /* The header is 4 bytes: the payload follows it without padding. */
  nlb_put (b, data, len);
}

static void
nlb_attr_u32 (NlBuf   *b,
              guint16  type,
              guint32  value)
{
  nlb_attr (b, type, &value, sizeof value);
}

static void
nlb_attr_string (NlBuf      *b,
                 guint16     type,
                 const char *text)
{
  nlb_attr (b, type, text, strlen (text) + 1);
}

/* 4 or 16 bytes, whichever @text is. */
static void
nlb_attr_address (NlBuf      *b,
                  guint16     type,
                  const char *text)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (text);

  g_assert_nonnull (address);
  nlb_attr (b, type, g_inet_address_to_bytes (address), g_inet_address_get_native_size (address));
}

static void
nlb_done (NlBuf *b)
{
  int status = 0;

  nlb_begin (b, NLMSG_DONE, NLM_F_MULTI);
  nlb_put (b, &status, sizeof status);
  nlb_end (b);
}

static void
nlb_error (NlBuf *b,
           int    code)
{
  struct nlmsgerr err = { 0 };

  err.error = code;
  nlb_begin (b, NLMSG_ERROR, 0);
  nlb_put (b, &err, sizeof err);
  nlb_end (b);
}

/* A message of @type whose payload is @payload_len zero bytes (a family header cut short). */
static void
nlb_short (NlBuf   *b,
           guint16  type,
           gsize    payload_len)
{
  guint8 zeros[32] = { 0 };

  g_assert_cmpuint (payload_len, <=, sizeof zeros);
  nlb_begin (b, type, NLM_F_MULTI);
  nlb_put (b, zeros, payload_len);
  nlb_end (b);

  /* nlmsg_len without the padding that follows. */
  {
    guint32 len = (guint32) (NLMSG_HDRLEN + payload_len);

    memcpy (b->u.bytes + b->start + G_STRUCT_OFFSET (struct nlmsghdr, nlmsg_len), &len,
            sizeof len);
  }
}

static NlBuf *
nlb_new (void)
{
  return g_new0 (NlBuf, 1);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NlBuf, g_free)

/* Routes */

typedef struct
{
  guint8      family;         /* 0: AF_INET6 */
  guint8      dst_len;
  guint8      table;          /* 0: RT_TABLE_MAIN */
  guint8      type;           /* 0: RTN_UNICAST */
  guint32     flags;          /* rtm_flags */
  const char *destination;
  const char *gateway;        /* NULL: no RTA_GATEWAY */
  guint32     oif;            /* 0: no RTA_OIF */
  gboolean    has_metric;
  guint32     metric;
  gboolean    has_table_attr;
  guint32     table_attr;
} Route;

static void
nlb_route_begin (NlBuf       *b,
                 const Route *r)
{
  struct rtmsg rtm = { 0 };

  rtm.rtm_family = r->family != 0 ? r->family : AF_INET6;
  rtm.rtm_dst_len = r->dst_len;
  rtm.rtm_table = r->table != 0 ? r->table : RT_TABLE_MAIN;
  rtm.rtm_type = r->type != 0 ? r->type : RTN_UNICAST;
  rtm.rtm_protocol = RTPROT_RA;
  rtm.rtm_flags = r->flags;

  nlb_begin (b, RTM_NEWROUTE, NLM_F_MULTI);
  nlb_put (b, &rtm, sizeof rtm);

  if (r->has_table_attr)
    nlb_attr_u32 (b, RTA_TABLE, r->table_attr);
  if (r->destination != NULL)
    nlb_attr_address (b, RTA_DST, r->destination);
  if (r->has_metric)
    nlb_attr_u32 (b, RTA_PRIORITY, r->metric);
  if (r->gateway != NULL)
    nlb_attr_address (b, RTA_GATEWAY, r->gateway);
  if (r->oif != 0)
    nlb_attr_u32 (b, RTA_OIF, r->oif);
}

static void
nlb_route (NlBuf       *b,
           const Route *r)
{
  nlb_route_begin (b, r);
  nlb_end (b);
}

/* Addresses */

typedef struct
{
  guint8      family;         /* 0: AF_INET6 */
  guint8      prefix_len;     /* 0: 64 */
  guint8      scope;          /* RT_SCOPE_UNIVERSE is 0 */
  guint8      ifa_flags;
  guint32     ifindex;
  const char *address;        /* IFA_ADDRESS */
  const char *local;          /* IFA_LOCAL */
  gboolean    has_flags_attr;
  guint32     flags_attr;     /* IFA_FLAGS */
  gboolean    has_cacheinfo;
  guint32     preferred;
  guint32     valid;
} Address;

static void
nlb_address_begin (NlBuf         *b,
                   const Address *a)
{
  struct ifaddrmsg ifa = { 0 };

  ifa.ifa_family = a->family != 0 ? a->family : AF_INET6;
  ifa.ifa_prefixlen = a->prefix_len != 0 ? a->prefix_len : 64;
  ifa.ifa_flags = a->ifa_flags;
  ifa.ifa_scope = a->scope;
  ifa.ifa_index = a->ifindex;

  nlb_begin (b, RTM_NEWADDR, NLM_F_MULTI);
  nlb_put (b, &ifa, sizeof ifa);

  if (a->address != NULL)
    nlb_attr_address (b, IFA_ADDRESS, a->address);
  if (a->local != NULL)
    nlb_attr_address (b, IFA_LOCAL, a->local);
  if (a->has_flags_attr)
    nlb_attr_u32 (b, IFA_FLAGS, a->flags_attr);
  if (a->has_cacheinfo)
    {
      struct ifa_cacheinfo ci = { .ifa_prefered = a->preferred, .ifa_valid = a->valid };

      nlb_attr (b, IFA_CACHEINFO, &ci, sizeof ci);
    }
}

static void
nlb_address (NlBuf         *b,
             const Address *a)
{
  nlb_address_begin (b, a);
  nlb_end (b);
}

/* Neighbours */

typedef struct
{
  guint8        family;       /* 0: AF_INET6 */
  int           ifindex;
  guint16       state;
  guint8        flags;
  const char   *destination;  /* NDA_DST */
  const guint8 *lladdr;       /* NDA_LLADDR of lladdr_len bytes, or none */
  gsize         lladdr_len;
} Neighbour;

static const guint8 MAC_A[6] = { 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01 };
static const guint8 MAC_B[6] = { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
static const guint8 MAC_C[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0c };

static void
nlb_neighbour_begin (NlBuf           *b,
                     const Neighbour *n)
{
  struct ndmsg ndm = { 0 };

  ndm.ndm_family = n->family != 0 ? n->family : AF_INET6;
  ndm.ndm_ifindex = n->ifindex;
  ndm.ndm_state = n->state;
  ndm.ndm_flags = n->flags;
  ndm.ndm_type = RTN_UNICAST;

  nlb_begin (b, RTM_NEWNEIGH, NLM_F_MULTI);
  nlb_put (b, &ndm, sizeof ndm);

  if (n->destination != NULL)
    nlb_attr_address (b, NDA_DST, n->destination);
  if (n->lladdr != NULL)
    nlb_attr (b, NDA_LLADDR, n->lladdr, n->lladdr_len);
}

static void
nlb_neighbour (NlBuf           *b,
               const Neighbour *n)
{
  nlb_neighbour_begin (b, n);
  nlb_end (b);
}

/* Parsing from exact-size copies ------------------------------------------------------------
 *
 * Each parse runs on a heap copy of exactly the bytes given, so that a read past them is
 * caught by valgrind and ASan. */

static guint8 *
exact_copy (const NlBuf *b,
            gsize        len)
{
  guint8 *copy = g_malloc (MAX (len, 1));

  g_assert_cmpuint (len, <=, b->len);
  memcpy (copy, b->u.bytes, len);
  return copy;
}

static PlNetlinkStatus
parse_router (const NlBuf            *b,
              gsize                   len,
              PlIpv6RouterCandidate  *best,
              GError                **error)
{
  g_autofree guint8 *copy = exact_copy (b, len);

  return _pl_ipv6_router_parse_netlink (copy, len, SEQ, PORT, best, error);
}

static PlNetlinkStatus
parse_address (const NlBuf             *b,
               gsize                    len,
               PlIpv6AddressCandidate  *best,
               GError                 **error)
{
  g_autofree guint8 *copy = exact_copy (b, len);

  return _pl_ipv6_address_parse_netlink (copy, len, SEQ, PORT, best, error);
}

static PlNetlinkStatus
parse_neighbour (const NlBuf       *b,
                 gsize              len,
                 PlNeighbourQuery  *query,
                 GError           **error)
{
  g_autofree guint8 *copy = exact_copy (b, len);

  return _pl_neighbour_parse_netlink (copy, len, SEQ, PORT, query, error);
}

static void
assert_router (const PlIpv6RouterCandidate *best,
               const char                  *gateway,
               guint32                      ifindex,
               guint32                      metric)
{
  g_autoptr(GInetAddress) want = g_inet_address_new_from_string (gateway);

  g_assert_true (best->found);
  g_assert_cmpmem (best->gateway, 16, g_inet_address_to_bytes (want), 16);
  g_assert_cmpuint (best->ifindex, ==, ifindex);
  g_assert_cmpuint (best->metric, ==, metric);
}

static void
assert_address (const PlIpv6AddressCandidate *best,
                const char                   *address)
{
  g_autoptr(GInetAddress) want = g_inet_address_new_from_string (address);
  g_autoptr(GInetAddress) got = NULL;
  g_autofree char *text = NULL;

  g_assert_true (best->found);
  got = g_inet_address_new_from_bytes (best->address, G_SOCKET_FAMILY_IPV6);
  text = g_inet_address_to_string (got);
  g_assert_nonnull (want);
  if (!g_inet_address_equal (got, want))
    g_error ("Picked %s instead of %s", text, address);
}

/* The address dump for interface @ifindex, in one buffer. */
static PlIpv6AddressCandidate
pick_address (const NlBuf *b,
              guint32      ifindex)
{
  g_autoptr(GError) error = NULL;
  PlIpv6AddressCandidate best = { .ifindex = ifindex };

  g_assert_cmpint (parse_address (b, b->len, &best, &error), ==, PL_NETLINK_DONE);
  g_assert_no_error (error);
  g_assert_cmpuint (best.ifindex, ==, ifindex);

  return best;
}

static PlNeighbourQuery
neighbour_query (const char *address,
                 guint       ifindex)
{
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);
  PlNeighbourQuery query;

  g_assert_nonnull (inet);
  _pl_neighbour_query_init (&query, inet, ifindex);
  return query;
}

static PlNeighbourQuery
lookup (const NlBuf *b,
        const char  *address,
        guint        ifindex)
{
  g_autoptr(GError) error = NULL;
  PlNeighbourQuery query = neighbour_query (address, ifindex);

  g_assert_cmpint (parse_neighbour (b, b->len, &query, &error), ==, PL_NETLINK_DONE);
  g_assert_no_error (error);

  return query;
}

/* Every parser, with a fresh state, for the robustness tests. */
typedef PlNetlinkStatus (*FreshParser) (const NlBuf  *b,
                                        gsize         len,
                                        GError      **error);

static PlNetlinkStatus
fresh_router (const NlBuf  *b,
              gsize         len,
              GError      **error)
{
  PlIpv6RouterCandidate best = { 0 };

  return parse_router (b, len, &best, error);
}

static PlNetlinkStatus
fresh_address (const NlBuf  *b,
               gsize         len,
               GError      **error)
{
  PlIpv6AddressCandidate best = { .ifindex = 2 };

  return parse_address (b, len, &best, error);
}

static PlNetlinkStatus
fresh_neighbour (const NlBuf  *b,
                 gsize         len,
                 GError      **error)
{
  PlNeighbourQuery query = neighbour_query ("fe80::1", 0);

  return parse_neighbour (b, len, &query, error);
}

/* Whether @len falls between two messages of @b (which is well formed). */
static gboolean
is_message_boundary (const NlBuf *b,
                     gsize        len)
{
  gsize offset = 0;

  while (offset < len)
    {
      struct nlmsghdr nlh;

      memcpy (&nlh, b->u.bytes + offset, sizeof nlh);
      g_assert_cmpuint (nlh.nlmsg_len, >=, sizeof nlh);
      offset += NLMSG_ALIGN (nlh.nlmsg_len);
    }

  return offset == len;
}

/* Every length from 0 to all but the last byte: a cut between messages is a dump with more
 * to come; any other cut is G_IO_ERROR_INVALID_DATA. */
static void
assert_every_prefix (const NlBuf *b,
                     FreshParser  parser)
{
  for (gsize len = 0; len < b->len; len++)
    {
      g_autoptr(GError) error = NULL;
      PlNetlinkStatus status = parser (b, len, &error);

      if (is_message_boundary (b, len))
        {
          g_assert_cmpint (status, ==, PL_NETLINK_MORE);
          g_assert_no_error (error);
        }
      else
        {
          g_assert_cmpint (status, ==, PL_NETLINK_FAILED);
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
        }
    }

  {
    g_autoptr(GError) error = NULL;

    g_assert_cmpint (parser (b, b->len, &error), ==, PL_NETLINK_DONE);
    g_assert_no_error (error);
  }
}

/* Every byte overwritten with a few values: any outcome but a crash, and an error exactly
 * when the parse failed. */
static void
assert_survives_corruption (const NlBuf *b,
                            FreshParser  parser)
{
  g_autoptr(NlBuf) copy = nlb_new ();

  for (gsize i = 0; i < b->len; i++)
    {
      const guint8 values[] = { 0x00, 0xff, 0x7f, 0x80, (guint8) (b->u.bytes[i] + 1),
                                (guint8) (b->u.bytes[i] ^ 0x10) };

      for (gsize v = 0; v < G_N_ELEMENTS (values); v++)
        {
          g_autoptr(GError) error = NULL;
          PlNetlinkStatus status;

          memcpy (copy, b, sizeof *copy);
          copy->u.bytes[i] = values[v];
          status = parser (copy, copy->len, &error);

          g_assert_true ((status == PL_NETLINK_FAILED) == (error != NULL));
        }
    }
}

/* A message of the parser's type too short for its family header, at each length. */
static void
assert_short_messages (guint16     type,
                       gsize       header_size,
                       FreshParser parser)
{
  for (gsize payload = 0; payload < header_size; payload++)
    {
      g_autoptr(NlBuf) b = nlb_new ();
      g_autoptr(GError) error = NULL;

      nlb_short (b, type, payload);
      nlb_done (b);

      g_assert_cmpint (parser (b, b->len, &error), ==, PL_NETLINK_FAILED);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_assert_nonnull (strstr (error->message, "too short"));
    }
}

/* Control messages, for every parser */

static void
test_netlink_errors (void)
{
  const FreshParser parsers[] = { fresh_router, fresh_address, fresh_neighbour };

  g_test_summary ("For each parser: NLMSG_ERROR with an errno is that error, a short "
                  "NLMSG_ERROR or an overrun is malformed, NLMSG_DONE with a negative status "
                  "fails, an acknowledgement and a NOOP are skipped, messages of another "
                  "sequence or port are ignored, and an empty buffer means more to come");

  for (gsize p = 0; p < G_N_ELEMENTS (parsers); p++)
    {
      {
        g_autoptr(NlBuf) b = nlb_new ();
        g_autoptr(GError) error = NULL;

        nlb_error (b, -EPERM);
        g_assert_cmpint (parsers[p] (b, b->len, &error), ==, PL_NETLINK_FAILED);
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
      }

      {
        g_autoptr(NlBuf) b = nlb_new ();
        g_autoptr(GError) error = NULL;
        int code = -EPERM;

        nlb_begin (b, NLMSG_ERROR, 0);
        nlb_put (b, &code, sizeof code);
        nlb_end (b);
        g_assert_cmpint (parsers[p] (b, b->len, &error), ==, PL_NETLINK_FAILED);
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      }

      {
        g_autoptr(NlBuf) b = nlb_new ();
        g_autoptr(GError) error = NULL;
        int status = -EBUSY;

        nlb_begin (b, NLMSG_DONE, NLM_F_MULTI);
        nlb_put (b, &status, sizeof status);
        nlb_end (b);
        g_assert_cmpint (parsers[p] (b, b->len, &error), ==, PL_NETLINK_FAILED);
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
      }

      {
        g_autoptr(NlBuf) b = nlb_new ();
        g_autoptr(GError) error = NULL;

        nlb_begin (b, NLMSG_OVERRUN, NLM_F_MULTI);
        nlb_end (b);
        g_assert_cmpint (parsers[p] (b, b->len, &error), ==, PL_NETLINK_FAILED);
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      }

      {
        g_autoptr(NlBuf) b = nlb_new ();
        g_autoptr(GError) error = NULL;
        struct nlmsgerr ack = { 0 };
        struct nlmsghdr *nlh;

        /* An ACK inside a multi-part answer, a NOOP, then foreign errors and a foreign DONE. */
        nlb_begin (b, NLMSG_ERROR, NLM_F_MULTI);
        nlb_put (b, &ack, sizeof ack);
        nlb_end (b);
        nlb_begin (b, NLMSG_NOOP, 0);
        nlb_end (b);
        nlb_error (b, -EPERM);
        nlh = (struct nlmsghdr *) (b->u.bytes + b->start);
        nlh->nlmsg_seq = SEQ + 1;
        nlb_done (b);
        nlh = (struct nlmsghdr *) (b->u.bytes + b->start);
        nlh->nlmsg_pid = PORT + 1;

        g_assert_cmpint (parsers[p] (b, b->len, &error), ==, PL_NETLINK_MORE);
        g_assert_no_error (error);

        nlb_done (b);
        g_assert_cmpint (parsers[p] (b, b->len, &error), ==, PL_NETLINK_DONE);
        g_assert_no_error (error);
      }

      {
        g_autoptr(NlBuf) b = nlb_new ();
        g_autoptr(GError) error = NULL;

        g_assert_cmpint (parsers[p] (b, 0, &error), ==, PL_NETLINK_MORE);
        g_assert_no_error (error);
      }
    }
}

/* Routes ---------------------------------------------------------------------------------- */

static void
test_route_metrics (void)
{
  g_autoptr(NlBuf) b = nlb_new ();
  g_autoptr(GError) error = NULL;
  PlIpv6RouterCandidate best = { 0 };

  g_test_summary ("Of several IPv6 default routes the lowest RTA_PRIORITY wins, the first on "
                  "ties, and the gateway and outgoing interface come with it");

  nlb_route (b, &(Route) { .gateway = "fe80::1", .oif = 2, .has_metric = TRUE, .metric = 1024 });
  nlb_route (b, &(Route) { .gateway = "fe80::2", .oif = 3, .has_metric = TRUE, .metric = 100 });
  nlb_route (b, &(Route) { .gateway = "fe80::3", .oif = 4, .has_metric = TRUE, .metric = 100 });
  nlb_route (b, &(Route) { .gateway = "fe80::4", .oif = 5, .has_metric = TRUE, .metric = 600 });
  nlb_done (b);

  g_assert_cmpint (parse_router (b, b->len, &best, &error), ==, PL_NETLINK_DONE);
  g_assert_no_error (error);
  assert_router (&best, "fe80::2", 3, 100);
}

static void
test_route_filters (void)
{
  g_autoptr(NlBuf) b = nlb_new ();
  g_autoptr(GError) error = NULL;
  PlIpv6RouterCandidate best = { 0 };

  g_test_summary ("Only unicast IPv6 default routes of the main table with a gateway count: "
                  "not prefixes, IPv4 routes, other tables (by rtm_table or RTA_TABLE), "
                  "blackholes, cached clones, dead routes or routes without a gateway");

  /* A prefix route with the lowest metric. */
  nlb_route (b, &(Route) { .dst_len = 64, .destination = "2001:db8::", .gateway = "fe80::9",
                           .oif = 9, .has_metric = TRUE, .metric = 0 });
  /* An IPv4 default route: 4-byte gateway, which must not be read as IPv6. */
  nlb_route (b, &(Route) { .family = AF_INET, .gateway = "192.168.1.1", .oif = 2,
                           .has_metric = TRUE, .metric = 0 });
  /* A default route without a gateway (a point-to-point link). */
  nlb_route (b, &(Route) { .oif = 6, .has_metric = TRUE, .metric = 1 });
  /* Other tables. */
  nlb_route (b, &(Route) { .table = 100, .gateway = "fe80::100", .oif = 7 });
  nlb_route (b, &(Route) { .has_table_attr = TRUE, .table_attr = 51820, .gateway = "fe80::51",
                           .oif = 7 });
  /* Not unicast; a cached clone; a dead route. */
  nlb_route (b, &(Route) { .type = RTN_BLACKHOLE, .gateway = "fe80::bad" });
  nlb_route (b, &(Route) { .flags = RTM_F_CLONED, .gateway = "fe80::c" });
  nlb_route (b, &(Route) { .flags = RTNH_F_DEAD, .gateway = "fe80::d" });
  /* The one: RTA_TABLE says main while rtm_table says something else. */
  nlb_route (b, &(Route) { .table = RT_TABLE_COMPAT, .has_table_attr = TRUE,
                           .table_attr = RT_TABLE_MAIN, .gateway = "fe80::1", .oif = 2,
                           .has_metric = TRUE, .metric = 1024 });
  /* Some other message type in the dump. */
  nlb_short (b, RTM_NEWADDR, 4);
  nlb_done (b);

  g_assert_cmpint (parse_router (b, b->len, &best, &error), ==, PL_NETLINK_DONE);
  g_assert_no_error (error);
  assert_router (&best, "fe80::1", 2, 1024);
}

static void
test_route_none (void)
{
  g_autoptr(NlBuf) b = nlb_new ();
  g_autoptr(GError) error = NULL;
  PlIpv6RouterCandidate best = { 0 };

  g_test_summary ("A dump with routes but no IPv6 default route with a gateway finds nothing, "
                  "without an error");

  nlb_route (b, &(Route) { .dst_len = 64, .destination = "fe80::", .oif = 2 });
  nlb_route (b, &(Route) { .oif = 3 });
  nlb_route (b, &(Route) { .family = AF_INET, .gateway = "10.0.0.1", .oif = 2 });
  nlb_done (b);

  g_assert_cmpint (parse_router (b, b->len, &best, &error), ==, PL_NETLINK_DONE);
  g_assert_no_error (error);
  g_assert_false (best.found);

  {
    g_autoptr(GError) error2 = NULL;
    PlIpv6RouterCandidate none = { 0 };

    nlb_done (b);
    g_assert_cmpint (parse_router (b, 0, &none, &error2), ==, PL_NETLINK_MORE);
    g_assert_false (none.found);
  }
}

static void
test_route_multipart (void)
{
  g_autoptr(NlBuf) first = nlb_new ();
  g_autoptr(NlBuf) second = nlb_new ();
  g_autoptr(GError) error = NULL;
  PlIpv6RouterCandidate best = { 0 };

  g_test_summary ("A dump in two receives: the first part says more is to come, the state "
                  "carries over and NLMSG_DONE in the second ends it; a route without "
                  "RTA_PRIORITY has metric 0");

  nlb_route (first, &(Route) { .gateway = "fe80::1", .oif = 2, .has_metric = TRUE,
                               .metric = 100 });
  nlb_route (second, &(Route) { .gateway = "fe80::2", .oif = 3, .has_metric = TRUE,
                                .metric = 100 });
  g_assert_cmpint (parse_router (first, first->len, &best, &error), ==, PL_NETLINK_MORE);
  g_assert_no_error (error);
  assert_router (&best, "fe80::1", 2, 100);

  nlb_route (second, &(Route) { .gateway = "fe80::3", .oif = 4 });
  nlb_done (second);
  /* Anything after NLMSG_DONE is not read. */
  nlb_route (second, &(Route) { .gateway = "fe80::4", .oif = 5 });

  g_assert_cmpint (parse_router (second, second->len, &best, &error), ==, PL_NETLINK_DONE);
  g_assert_no_error (error);
  assert_router (&best, "fe80::3", 4, 0);
}

static void
nlb_nexthop (NlBuf      *b,
             guint8      flags,
             int         ifindex,
             const char *gateway)
{
  struct rtnexthop rtnh = { 0 };
  gsize start = b->len;
  guint16 len;

  rtnh.rtnh_flags = flags;
  rtnh.rtnh_ifindex = ifindex;
  nlb_put (b, &rtnh, sizeof rtnh);
  if (gateway != NULL)
    nlb_attr_address (b, RTA_GATEWAY, gateway);

  len = (guint16) (b->len - start);
  memcpy (b->u.bytes + start + G_STRUCT_OFFSET (struct rtnexthop, rtnh_len), &len, sizeof len);
}

static void
test_route_multipath (void)
{
  g_autoptr(NlBuf) b = nlb_new ();
  g_autoptr(GError) error = NULL;
  PlIpv6RouterCandidate best = { 0 };
  gsize nest;

  g_test_summary ("An ECMP default route (RTA_MULTIPATH, no top-level gateway) uses its first "
                  "live next hop with an IPv6 gateway; an IPv4 next hop or a dead one is "
                  "passed over, and a next hop longer than its attribute is not read past");

  nlb_route_begin (b, &(Route) { .has_metric = TRUE, .metric = 10 });
  nest = nlb_nest_begin (b, RTA_MULTIPATH);
  nlb_nexthop (b, RTNH_F_DEAD, 4, "fe80::4");
  nlb_nexthop (b, 0, 5, NULL);
  nlb_nexthop (b, 0, 6, "10.0.0.6");
  nlb_nexthop (b, 0, 7, "fe80::7");
  nlb_nexthop (b, 0, 8, "fe80::8");
  nlb_nest_end (b, nest);
  nlb_end (b);

  /* A lower metric, but its only next hop claims 200 bytes. */
  nlb_route_begin (b, &(Route) { .has_metric = TRUE, .metric = 5 });
  nest = nlb_nest_begin (b, RTA_MULTIPATH);
  {
    struct rtnexthop rtnh = { .rtnh_len = 200, .rtnh_ifindex = 9 };

    nlb_put (b, &rtnh, sizeof rtnh);
    nlb_attr_address (b, RTA_GATEWAY, "fe80::9");
  }
  nlb_nest_end (b, nest);
  nlb_end (b);

  nlb_route (b, &(Route) { .gateway = "fe80::1", .oif = 2, .has_metric = TRUE, .metric = 100 });
  nlb_done (b);

  g_assert_cmpint (parse_router (b, b->len, &best, &error), ==, PL_NETLINK_DONE);
  g_assert_no_error (error);
  assert_router (&best, "fe80::7", 7, 10);
}

static void
test_route_bad_attributes (void)
{
  g_autoptr(NlBuf) b = nlb_new ();
  g_autoptr(GError) error = NULL;
  PlIpv6RouterCandidate best = { 0 };
  const guint8 four[4] = { 10, 0, 0, 1 };
  const guint8 two[2] = { 0, 1 };

  g_test_summary ("Routes with a gateway of the wrong size, a short RTA_PRIORITY or RTA_OIF, "
                  "or an attribute running past the message are skipped; the dump goes on");

  nlb_route_begin (b, &(Route) { .oif = 3 });
  nlb_attr (b, RTA_GATEWAY, four, sizeof four);
  nlb_end (b);

  nlb_route_begin (b, &(Route) { .gateway = "fe80::2", .oif = 3 });
  nlb_attr (b, RTA_PRIORITY, two, sizeof two);
  nlb_end (b);

  nlb_route_begin (b, &(Route) { .gateway = "fe80::3" });
  nlb_attr (b, RTA_OIF, two, sizeof two);
  nlb_end (b);

  nlb_route_begin (b, &(Route) { .gateway = "fe80::4", .oif = 3 });
  {
    struct rtattr rta = { .rta_len = 64, .rta_type = RTA_TABLE };

    nlb_put (b, &rta, sizeof rta);
  }
  nlb_end (b);

  nlb_route (b, &(Route) { .gateway = "fe80::1", .oif = 2, .has_metric = TRUE, .metric = 5 });
  nlb_done (b);

  g_assert_cmpint (parse_router (b, b->len, &best, &error), ==, PL_NETLINK_DONE);
  g_assert_no_error (error);
  assert_router (&best, "fe80::1", 2, 5);
}

static NlBuf *
sample_route_dump (void)
{
  NlBuf *b = nlb_new ();
  gsize nest;

  nlb_route (b, &(Route) { .gateway = "fe80::1", .oif = 2, .has_metric = TRUE, .metric = 100 });
  nlb_route (b, &(Route) { .family = AF_INET, .gateway = "192.168.1.1", .oif = 2 });
  nlb_route_begin (b, &(Route) { .has_metric = TRUE, .metric = 10 });
  nest = nlb_nest_begin (b, RTA_MULTIPATH);
  nlb_nexthop (b, 0, 7, "fe80::7");
  nlb_nest_end (b, nest);
  nlb_end (b);
  nlb_done (b);

  return b;
}

static void
test_route_truncated (void)
{
  g_autoptr(NlBuf) b = sample_route_dump ();

  g_test_summary ("A route dump cut at every length, messages too short for a struct rtmsg, "
                  "and every byte corrupted: an error or a result, never a crash");

  assert_every_prefix (b, fresh_router);
  assert_short_messages (RTM_NEWROUTE, sizeof (struct rtmsg), fresh_router);
  assert_survives_corruption (b, fresh_router);

  /* An nlmsg_len that claims more than the buffer holds. */
  {
    g_autoptr(GError) error = NULL;
    guint32 huge = G_MAXUINT32;

    memcpy (b->u.bytes, &huge, sizeof huge);
    g_assert_cmpint (fresh_router (b, b->len, &error), ==, PL_NETLINK_FAILED);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  }
}

/* Addresses ------------------------------------------------------------------------------- */

static void
test_address_unusable (void)
{
  g_autoptr(NlBuf) b = nlb_new ();
  PlIpv6AddressCandidate best;

  g_test_summary ("Temporary (privacy), deprecated, tentative and DAD-failed addresses, and "
                  "those whose preferred lifetime is 0, are never picked, even when they would "
                  "rank higher");

  /* Each of these would beat the ULA below. */
  nlb_address (b, &(Address) { .ifindex = 2, .address = "2001:db8::1",
                               .ifa_flags = IFA_F_TEMPORARY });
  nlb_address (b, &(Address) { .ifindex = 2, .address = "2001:db8::2",
                               .ifa_flags = IFA_F_DEPRECATED | IFA_F_PERMANENT });
  nlb_address (b, &(Address) { .ifindex = 2, .address = "2001:db8::3",
                               .ifa_flags = IFA_F_TENTATIVE | IFA_F_PERMANENT });
  nlb_address (b, &(Address) { .ifindex = 2, .address = "2001:db8::4",
                               .ifa_flags = IFA_F_DADFAILED | IFA_F_TENTATIVE });
  nlb_address (b, &(Address) { .ifindex = 2, .address = "2001:db8::5",
                               .has_cacheinfo = TRUE, .preferred = 0, .valid = 7200 });
  nlb_address (b, &(Address) { .ifindex = 2, .address = "fd00:77::10",
                               .has_cacheinfo = TRUE, .preferred = 300, .valid = 600 });
  nlb_done (b);

  best = pick_address (b, 2);
  assert_address (&best, "fd00:77::10");
  g_assert_cmpint (best.klass, ==, PL_IPV6_ADDRESS_CLASS_ULA);
  g_assert_cmpuint (best.valid_lifetime, ==, 600);
  g_assert_cmpuint (best.preferred_lifetime, ==, 300);

  /* Only unusable ones: nothing. */
  {
    g_autoptr(NlBuf) only = nlb_new ();

    nlb_address (only, &(Address) { .ifindex = 2, .address = "2001:db8::1",
                                    .ifa_flags = IFA_F_TEMPORARY });
    nlb_address (only, &(Address) { .ifindex = 2, .address = "fd00:77::5",
                                    .has_cacheinfo = TRUE, .preferred = 0,
                                    .valid = G_MAXUINT32 });
    nlb_done (only);

    best = pick_address (only, 2);
    g_assert_false (best.found);
  }
}

static void
test_address_scope (void)
{
  g_autoptr(NlBuf) b = nlb_new ();
  PlIpv6AddressCandidate best;

  g_test_summary ("Link-local, host (loopback) and site scopes are skipped, and so is a "
                  "universe-scope address outside 2000::/3 and fc00::/7 (link-local, "
                  "v4-mapped, multicast, unspecified)");

  nlb_address (b, &(Address) { .ifindex = 2, .address = "fe80::1", .scope = RT_SCOPE_LINK,
                               .ifa_flags = IFA_F_PERMANENT });
  nlb_address (b, &(Address) { .ifindex = 2, .address = "::1", .scope = RT_SCOPE_HOST,
                               .ifa_flags = IFA_F_PERMANENT });
  nlb_address (b, &(Address) { .ifindex = 2, .address = "2001:db8::1", .scope = RT_SCOPE_SITE,
                               .ifa_flags = IFA_F_PERMANENT });
  nlb_address (b, &(Address) { .ifindex = 2, .address = "fe80::2",
                               .ifa_flags = IFA_F_PERMANENT });
  nlb_address (b, &(Address) { .ifindex = 2, .address = "::ffff:192.0.2.1" });
  nlb_address (b, &(Address) { .ifindex = 2, .address = "ff02::1" });
  nlb_address (b, &(Address) { .ifindex = 2, .address = "::" });
  nlb_address (b, &(Address) { .ifindex = 2, .address = "4000::1" });
  nlb_done (b);

  best = pick_address (b, 2);
  g_assert_false (best.found);

  /* The edges of the two ranges. */
  {
    const struct
    {
      const char         *address;
      PlIpv6AddressClass  klass;
    } edges[] = {
      { "2000::", PL_IPV6_ADDRESS_CLASS_GLOBAL },
      { "3fff:ffff::1", PL_IPV6_ADDRESS_CLASS_GLOBAL },
      { "fc00::1", PL_IPV6_ADDRESS_CLASS_ULA },
      { "fdff:ffff::1", PL_IPV6_ADDRESS_CLASS_ULA },
      { "1fff:ffff::1", PL_IPV6_ADDRESS_CLASS_NONE },
      { "fe00::1", PL_IPV6_ADDRESS_CLASS_NONE },
      { "fbff::1", PL_IPV6_ADDRESS_CLASS_NONE },
    };

    for (gsize i = 0; i < G_N_ELEMENTS (edges); i++)
      {
        g_autoptr(NlBuf) one = nlb_new ();

        nlb_address (one, &(Address) { .ifindex = 2, .address = edges[i].address });
        nlb_done (one);
        best = pick_address (one, 2);
        g_assert_cmpint (best.found, ==, edges[i].klass != PL_IPV6_ADDRESS_CLASS_NONE);
        if (best.found)
          {
            assert_address (&best, edges[i].address);
            g_assert_cmpint (best.klass, ==, edges[i].klass);
          }
      }
  }
}

static void
test_address_global_over_ula (void)
{
  g_autoptr(NlBuf) b = nlb_new ();
  g_autoptr(NlBuf) reversed = nlb_new ();
  g_autoptr(NlBuf) ula = nlb_new ();
  PlIpv6AddressCandidate best;

  g_test_summary ("A global address beats a ULA whatever the order and the lifetimes, and a "
                  "ULA (the lab's fd00:77::/64) is taken when there is nothing else");

  nlb_address (b, &(Address) { .ifindex = 2, .address = "fd00:77::10",
                               .ifa_flags = IFA_F_PERMANENT });
  nlb_address (b, &(Address) { .ifindex = 2, .address = "2001:db8:1::10",
                               .has_flags_attr = TRUE, .flags_attr = IFA_F_MANAGETEMPADDR,
                               .has_cacheinfo = TRUE,
                               .preferred = 60, .valid = 120 });
  nlb_done (b);
  best = pick_address (b, 2);
  assert_address (&best, "2001:db8:1::10");
  g_assert_cmpint (best.klass, ==, PL_IPV6_ADDRESS_CLASS_GLOBAL);

  nlb_address (reversed, &(Address) { .ifindex = 2, .address = "2001:db8:1::10",
                                      .has_cacheinfo = TRUE, .preferred = 60, .valid = 120 });
  nlb_address (reversed, &(Address) { .ifindex = 2, .address = "fd00:77::10",
                                      .ifa_flags = IFA_F_PERMANENT });
  nlb_done (reversed);
  best = pick_address (reversed, 2);
  assert_address (&best, "2001:db8:1::10");

  nlb_address (ula, &(Address) { .ifindex = 2, .address = "fe80::10", .scope = RT_SCOPE_LINK,
                                 .ifa_flags = IFA_F_PERMANENT });
  nlb_address (ula, &(Address) { .ifindex = 2, .address = "fd00:77::10",
                                 .ifa_flags = IFA_F_PERMANENT });
  nlb_done (ula);
  best = pick_address (ula, 2);
  assert_address (&best, "fd00:77::10");
}

static void
test_address_ranking (void)
{
  const Address addresses[] = {
    { .ifindex = 2, .address = "2001:db8::9", .has_cacheinfo = TRUE, .preferred = 3000,
      .valid = 86400 },
    { .ifindex = 2, .address = "2001:db8::8", .has_cacheinfo = TRUE, .preferred = 3000,
      .valid = 7200 },
    { .ifindex = 2, .address = "2001:db8::7", .ifa_flags = IFA_F_PERMANENT,
      .has_cacheinfo = TRUE, .preferred = G_MAXUINT32, .valid = G_MAXUINT32 },
    { .ifindex = 2, .address = "2001:db8::6", .ifa_flags = IFA_F_PERMANENT,
      .has_cacheinfo = TRUE, .preferred = G_MAXUINT32, .valid = G_MAXUINT32 },
    { .ifindex = 2, .address = "2001:db8::5", .has_cacheinfo = TRUE, .preferred = 3000,
      .valid = 86400 },
  };
  const struct
  {
    guint       mask;         /* which of addresses[] are in the dump */
    const char *expected;
  } cases[] = {
    { 0x1f, "2001:db8::6" },  /* permanent; of two equals the lowest address */
    { 0x13, "2001:db8::5" },  /* the longest valid lifetime; then the lowest address */
    { 0x03, "2001:db8::9" },  /* the longest valid lifetime */
    { 0x02, "2001:db8::8" },
    { 0x0c, "2001:db8::6" },
  };

  g_test_summary ("Among usable addresses of one kind a permanent one wins, then the longest "
                  "valid lifetime, then the lowest address: the same answer in any dump order");

  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      for (guint order = 0; order < 2; order++)
        {
          g_autoptr(NlBuf) b = nlb_new ();
          PlIpv6AddressCandidate best;

          for (gsize i = 0; i < G_N_ELEMENTS (addresses); i++)
            {
              gsize k = order == 0 ? i : G_N_ELEMENTS (addresses) - 1 - i;

              if ((cases[c].mask & (1u << k)) != 0)
                nlb_address (b, &addresses[k]);
            }
          nlb_done (b);

          best = pick_address (b, 2);
          assert_address (&best, cases[c].expected);
        }
    }
}

static void
test_address_flags_attribute (void)
{
  g_autoptr(NlBuf) b = nlb_new ();
  PlIpv6AddressCandidate best;
  const guint8 two[2] = { 0, 0 };

  g_test_summary ("IFA_FLAGS, when present, replaces ifa_flags in both directions; without it "
                  "ifa_flags counts; an IFA_FLAGS of the wrong size skips the address");

  /* ifa_flags clean, IFA_FLAGS tentative: skipped. */
  nlb_address (b, &(Address) { .ifindex = 2, .address = "2001:db8::1",
                               .has_flags_attr = TRUE, .flags_attr = IFA_F_TENTATIVE });
  /* ifa_flags temporary, no IFA_FLAGS: skipped. */
  nlb_address (b, &(Address) { .ifindex = 2, .address = "2001:db8::2",
                               .ifa_flags = IFA_F_TEMPORARY });
  /* A short IFA_FLAGS: skipped. */
  nlb_address_begin (b, &(Address) { .ifindex = 2, .address = "2001:db8::3",
                                     .ifa_flags = IFA_F_PERMANENT });
  nlb_attr (b, IFA_FLAGS, two, sizeof two);
  nlb_end (b);
  /* ifa_flags deprecated (a stale copy), IFA_FLAGS permanent and stable-privacy: usable. */
  nlb_address (b, &(Address) { .ifindex = 2, .address = "2001:db8::4",
                               .ifa_flags = IFA_F_DEPRECATED, .has_flags_attr = TRUE,
                               .flags_attr = IFA_F_PERMANENT | IFA_F_STABLE_PRIVACY });
  /* Usable but not permanent per IFA_FLAGS even though ifa_flags says so: loses. */
  nlb_address (b, &(Address) { .ifindex = 2, .address = "2001:db8::0:1",
                               .ifa_flags = IFA_F_PERMANENT, .has_flags_attr = TRUE,
                               .flags_attr = IFA_F_NOPREFIXROUTE });
  nlb_done (b);

  best = pick_address (b, 2);
  assert_address (&best, "2001:db8::4");
  g_assert_cmpuint (best.flags, ==, IFA_F_PERMANENT | IFA_F_STABLE_PRIVACY);
}

static void
test_address_other_interface (void)
{
  g_autoptr(NlBuf) b = nlb_new ();
  PlIpv6AddressCandidate best;

  g_test_summary ("Only addresses of the interface asked about, and only IPv6 ones, count; "
                  "IFA_LOCAL is ours when both it and IFA_ADDRESS (the peer) are given");

  nlb_address (b, &(Address) { .ifindex = 3, .address = "2001:db8:3::1",
                               .ifa_flags = IFA_F_PERMANENT });
  nlb_address (b, &(Address) { .family = AF_INET, .ifindex = 2, .prefix_len = 24,
                               .address = "192.0.2.10", .ifa_flags = IFA_F_PERMANENT });
  nlb_address (b, &(Address) { .ifindex = 2, .address = "2001:db8:ffff::1",
                               .local = "2001:db8:2::1" });
  nlb_address (b, &(Address) { .ifindex = 2 });     /* no address at all */
  nlb_done (b);

  best = pick_address (b, 2);
  assert_address (&best, "2001:db8:2::1");

  best = pick_address (b, 3);
  assert_address (&best, "2001:db8:3::1");

  best = pick_address (b, 4);
  g_assert_false (best.found);
}

static void
test_address_bad_attributes (void)
{
  g_autoptr(NlBuf) b = nlb_new ();
  PlIpv6AddressCandidate best;
  const guint8 four[4] = { 192, 0, 2, 1 };
  const guint8 eight[8] = { 0 };

  g_test_summary ("Addresses with an IFA_ADDRESS or IFA_LOCAL of the wrong size, a short "
                  "IFA_CACHEINFO, or an attribute running past the message are skipped");

  nlb_address_begin (b, &(Address) { .ifindex = 2 });
  nlb_attr (b, IFA_ADDRESS, four, sizeof four);
  nlb_end (b);

  nlb_address_begin (b, &(Address) { .ifindex = 2, .address = "2001:db8::1" });
  nlb_attr (b, IFA_LOCAL, four, sizeof four);
  nlb_end (b);

  nlb_address_begin (b, &(Address) { .ifindex = 2, .address = "2001:db8::2" });
  nlb_attr (b, IFA_CACHEINFO, eight, sizeof eight);
  nlb_end (b);

  nlb_address_begin (b, &(Address) { .ifindex = 2, .address = "2001:db8::3" });
  {
    struct rtattr rta = { .rta_len = 40, .rta_type = IFA_FLAGS };

    nlb_put (b, &rta, sizeof rta);
  }
  nlb_end (b);

  nlb_address (b, &(Address) { .ifindex = 2, .address = "fd00:77::10" });
  nlb_done (b);

  best = pick_address (b, 2);
  assert_address (&best, "fd00:77::10");
}

static NlBuf *
sample_address_dump (void)
{
  NlBuf *b = nlb_new ();

  nlb_address (b, &(Address) { .ifindex = 2, .address = "fe80::1", .scope = RT_SCOPE_LINK });
  nlb_address (b, &(Address) { .ifindex = 2, .address = "2001:db8::1",
                               .has_flags_attr = TRUE, .flags_attr = IFA_F_PERMANENT,
                               .has_cacheinfo = TRUE, .preferred = G_MAXUINT32,
                               .valid = G_MAXUINT32 });
  nlb_address (b, &(Address) { .ifindex = 2, .address = "2001:db8::2",
                               .local = "2001:db8::3" });
  nlb_done (b);

  return b;
}

static void
test_address_truncated (void)
{
  g_autoptr(NlBuf) b = sample_address_dump ();

  g_test_summary ("An address dump cut at every length, messages too short for a struct "
                  "ifaddrmsg, and every byte corrupted: an error or a result, never a crash");

  assert_every_prefix (b, fresh_address);
  assert_short_messages (RTM_NEWADDR, sizeof (struct ifaddrmsg), fresh_address);
  assert_survives_corruption (b, fresh_address);
}

/* Neighbours ------------------------------------------------------------------------------ */

static void
test_neighbour_match (void)
{
  g_autoptr(NlBuf) b = nlb_new ();
  PlNeighbourQuery query;

  g_test_summary ("The neighbour entry for the address (on the interface, when one is given) "
                  "with a 6-byte link-layer address and a usable state answers; another "
                  "address, family or interface does not");

  nlb_neighbour (b, &(Neighbour) { .ifindex = 2, .state = NUD_REACHABLE,
                                   .destination = "fe80::2", .lladdr = MAC_B,
                                   .lladdr_len = 6 });
  nlb_neighbour (b, &(Neighbour) { .family = AF_INET, .ifindex = 2, .state = NUD_REACHABLE,
                                   .destination = "192.0.2.1", .lladdr = MAC_C,
                                   .lladdr_len = 6 });
  nlb_neighbour (b, &(Neighbour) { .ifindex = 3, .state = NUD_STALE,
                                   .destination = "fe80::1", .lladdr = MAC_A,
                                   .lladdr_len = 6 });
  nlb_done (b);

  query = lookup (b, "fe80::1", 0);
  g_assert_true (query.found);
  g_assert_cmpmem (query.mac, 6, MAC_A, 6);
  g_assert_cmpuint (query.found_ifindex, ==, 3);
  g_assert_cmpuint (query.state, ==, NUD_STALE);

  query = lookup (b, "fe80::1", 3);
  g_assert_true (query.found);
  g_assert_cmpmem (query.mac, 6, MAC_A, 6);

  /* The wrong interface. */
  query = lookup (b, "fe80::1", 2);
  g_assert_false (query.found);

  /* An IPv4 neighbour, and an IPv4 address asked for as ::ffff:a.b.c.d. */
  query = lookup (b, "192.0.2.1", 0);
  g_assert_true (query.found);
  g_assert_cmpmem (query.mac, 6, MAC_C, 6);
  query = lookup (b, "::ffff:192.0.2.1", 2);
  g_assert_true (query.found);
  g_assert_cmpmem (query.mac, 6, MAC_C, 6);

  /* Nobody. */
  query = lookup (b, "fe80::99", 0);
  g_assert_false (query.found);
  query = lookup (b, "192.0.2.2", 0);
  g_assert_false (query.found);
}

static void
test_neighbour_states (void)
{
  const guint8 short_mac[4] = { 1, 2, 3, 4 };
  const guint8 long_mac[20] = { 0x80 };
  g_autoptr(NlBuf) b = nlb_new ();
  PlNeighbourQuery query;

  g_test_summary ("FAILED, INCOMPLETE and NONE entries, proxy entries and entries whose "
                  "NDA_LLADDR is missing, short or long are passed over; a reachable or "
                  "permanent entry beats an earlier stale one, and the first wins otherwise");

  nlb_neighbour (b, &(Neighbour) { .ifindex = 2, .state = NUD_FAILED,
                                   .destination = "fe80::1", .lladdr = MAC_B,
                                   .lladdr_len = 6 });
  nlb_neighbour (b, &(Neighbour) { .ifindex = 2, .state = NUD_INCOMPLETE,
                                   .destination = "fe80::1", .lladdr = MAC_B,
                                   .lladdr_len = 6 });
  nlb_neighbour (b, &(Neighbour) { .ifindex = 2, .state = NUD_NONE,
                                   .destination = "fe80::1", .lladdr = MAC_B,
                                   .lladdr_len = 6 });
  nlb_neighbour (b, &(Neighbour) { .ifindex = 2, .state = NUD_PERMANENT, .flags = NTF_PROXY,
                                   .destination = "fe80::1", .lladdr = MAC_B,
                                   .lladdr_len = 6 });
  nlb_neighbour (b, &(Neighbour) { .ifindex = 2, .state = NUD_REACHABLE,
                                   .destination = "fe80::1" });
  nlb_neighbour (b, &(Neighbour) { .ifindex = 2, .state = NUD_REACHABLE,
                                   .destination = "fe80::1", .lladdr = short_mac,
                                   .lladdr_len = sizeof short_mac });
  nlb_neighbour (b, &(Neighbour) { .ifindex = 2, .state = NUD_REACHABLE,
                                   .destination = "fe80::1", .lladdr = long_mac,
                                   .lladdr_len = sizeof long_mac });
  nlb_done (b);

  query = lookup (b, "fe80::1", 0);
  g_assert_false (query.found);

  {
    g_autoptr(NlBuf) states = nlb_new ();

    nlb_neighbour (states, &(Neighbour) { .ifindex = 2, .state = NUD_STALE,
                                          .destination = "fe80::1", .lladdr = MAC_A,
                                          .lladdr_len = 6 });
    nlb_neighbour (states, &(Neighbour) { .ifindex = 3, .state = NUD_DELAY,
                                          .destination = "fe80::1", .lladdr = MAC_C,
                                          .lladdr_len = 6 });
    nlb_neighbour (states, &(Neighbour) { .ifindex = 4, .state = NUD_PERMANENT,
                                          .destination = "fe80::1", .lladdr = MAC_B,
                                          .lladdr_len = 6 });
    nlb_neighbour (states, &(Neighbour) { .ifindex = 5, .state = NUD_REACHABLE,
                                          .destination = "fe80::1", .lladdr = MAC_C,
                                          .lladdr_len = 6 });
    nlb_done (states);

    query = lookup (states, "fe80::1", 0);
    g_assert_true (query.found);
    g_assert_cmpmem (query.mac, 6, MAC_B, 6);
    g_assert_cmpuint (query.found_ifindex, ==, 4);

    query = lookup (states, "fe80::1", 3);
    g_assert_true (query.found);
    g_assert_cmpmem (query.mac, 6, MAC_C, 6);
    g_assert_cmpuint (query.state, ==, NUD_DELAY);
  }
}

static void
test_neighbour_bad_attributes (void)
{
  g_autoptr(NlBuf) b = nlb_new ();
  const guint8 four[4] = { 0xfe, 0x80, 0, 0 };
  PlNeighbourQuery query;

  g_test_summary ("Neighbour entries with an NDA_DST of the wrong size for the family, no "
                  "NDA_DST, a bad interface index, or an attribute running past the message "
                  "are skipped");

  nlb_neighbour_begin (b, &(Neighbour) { .ifindex = 2, .state = NUD_REACHABLE,
                                         .lladdr = MAC_B, .lladdr_len = 6 });
  nlb_attr (b, NDA_DST, four, sizeof four);
  nlb_end (b);
  nlb_neighbour (b, &(Neighbour) { .ifindex = 2, .state = NUD_REACHABLE, .lladdr = MAC_B,
                                   .lladdr_len = 6 });
  nlb_neighbour (b, &(Neighbour) { .ifindex = -1, .state = NUD_REACHABLE,
                                   .destination = "fe80::1", .lladdr = MAC_B,
                                   .lladdr_len = 6 });
  nlb_neighbour_begin (b, &(Neighbour) { .ifindex = 2, .state = NUD_REACHABLE,
                                         .destination = "fe80::1", .lladdr = MAC_B,
                                         .lladdr_len = 6 });
  {
    struct rtattr rta = { .rta_len = 32, .rta_type = NDA_PROBES };

    nlb_put (b, &rta, sizeof rta);
  }
  nlb_end (b);
  nlb_neighbour (b, &(Neighbour) { .ifindex = 2, .state = NUD_NOARP,
                                   .destination = "fe80::1", .lladdr = MAC_A,
                                   .lladdr_len = 6 });
  nlb_done (b);

  query = lookup (b, "fe80::1", 0);
  g_assert_true (query.found);
  g_assert_cmpmem (query.mac, 6, MAC_A, 6);
  g_assert_cmpuint (query.found_ifindex, ==, 2);
}

static NlBuf *
sample_neighbour_dump (void)
{
  NlBuf *b = nlb_new ();

  nlb_neighbour (b, &(Neighbour) { .ifindex = 2, .state = NUD_FAILED,
                                   .destination = "fe80::1" });
  nlb_neighbour (b, &(Neighbour) { .ifindex = 2, .state = NUD_STALE,
                                   .destination = "fe80::1", .lladdr = MAC_A,
                                   .lladdr_len = 6 });
  nlb_neighbour (b, &(Neighbour) { .ifindex = 3, .state = NUD_REACHABLE,
                                   .destination = "fe80::1", .lladdr = MAC_B,
                                   .lladdr_len = 6 });
  nlb_done (b);

  return b;
}

static void
test_neighbour_truncated (void)
{
  g_autoptr(NlBuf) b = sample_neighbour_dump ();

  g_test_summary ("A neighbour dump cut at every length, messages too short for a struct "
                  "ndmsg, and every byte corrupted: an error or a result, never a crash");

  assert_every_prefix (b, fresh_neighbour);
  assert_short_messages (RTM_NEWNEIGH, sizeof (struct ndmsg), fresh_neighbour);
  assert_survives_corruption (b, fresh_neighbour);
}

/* One rtnetlink event, as PlNetworkWatcher reads them: the kernel's own (sequence 0, port 0)
 * or one caused by another program's request (its sequence and port). */
static gboolean
event_says (guint16          type,
            guint32          seq,
            const Neighbour *n,
            const char      *address,
            PlNeighbourQuery *query)
{
  g_autoptr(GError) error = NULL;
  NlBuf b = { 0 };
  struct nlmsghdr *nlh;
  gboolean ok;

  nlb_neighbour (&b, n);
  nlh = &b.u.align;
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = 0;
  nlh->nlmsg_seq = seq;
  nlh->nlmsg_pid = seq;
  *query = neighbour_query (address, 0);
  ok = _pl_neighbour_parse_message (nlh, query, &error);
  g_assert_no_error (error);
  return ok;
}

static void
test_neighbour_event (void)
{
  const Neighbour gateway = { AF_INET, 2, NUD_REACHABLE, 0, "192.168.77.1", MAC_A, 6 };
  const Neighbour other = { AF_INET, 2, NUD_REACHABLE, 0, "192.168.77.3", MAC_B, 6 };
  const Neighbour resolving = { AF_INET, 2, NUD_INCOMPLETE, 0, "192.168.77.1", NULL, 0 };
  const Neighbour moved = { AF_INET, 2, NUD_STALE, 0, "192.168.77.1", MAC_C, 6 };
  g_autoptr(GError) error = NULL;
  PlNeighbourQuery query;
  struct nlmsghdr shorter = { .nlmsg_len = NLMSG_LENGTH (2), .nlmsg_type = RTM_NEWNEIGH };

  g_test_summary ("One neighbour event: the gateway's new MAC answers, whatever the sequence "
                  "and port; another host, an unresolved entry and a deletion do not; a "
                  "message too short for a struct ndmsg is an error");

  g_assert_true (event_says (RTM_NEWNEIGH, 0, &gateway, "192.168.77.1", &query));
  g_assert_true (query.found);
  g_assert_cmpmem (query.mac, 6, MAC_A, 6);

  g_assert_true (event_says (RTM_NEWNEIGH, 4242, &moved, "192.168.77.1", &query));
  g_assert_true (query.found);
  g_assert_cmpmem (query.mac, 6, MAC_C, 6);

  g_assert_true (event_says (RTM_NEWNEIGH, 0, &other, "192.168.77.1", &query));
  g_assert_false (query.found);
  g_assert_true (event_says (RTM_NEWNEIGH, 0, &resolving, "192.168.77.1", &query));
  g_assert_false (query.found);
  /* A deletion is not an answer (PlNetworkWatcher reads the table again on one). */
  g_assert_true (event_says (RTM_DELNEIGH, 0, &gateway, "192.168.77.1", &query));
  g_assert_false (query.found);

  query = neighbour_query ("192.168.77.1", 0);
  g_assert_false (_pl_neighbour_parse_message (&shorter, &query, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_false (query.found);
}

static void
test_neighbour_format_mac (void)
{
  const guint8 zeros[6] = { 0 };
  g_autofree char *a = pl_neighbour_format_mac (MAC_A);
  g_autofree char *b = pl_neighbour_format_mac (MAC_B);
  g_autofree char *z = pl_neighbour_format_mac (zeros);

  g_test_summary ("MAC addresses are formatted as six lower-case, zero-padded hex pairs");

  g_assert_cmpstr (a, ==, "02:00:5e:10:00:01");
  g_assert_cmpstr (b, ==, "aa:bb:cc:dd:ee:ff");
  g_assert_cmpstr (z, ==, "00:00:00:00:00:00");
}

/* This machine ---------------------------------------------------------------------------- */

static void
test_system_unknown (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) neighbour_error = NULL;
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GInetAddress) nobody = g_inet_address_new_from_string ("192.0.2.254");
  guint8 mac[6] = { 0 };
  guint ifindex = 999999;
  char name[IF_NAMESIZE];

  g_test_summary ("On this machine: an interface that does not exist has no stable address "
                  "and is named by its index; an address nobody uses has no neighbour entry");

  while (if_indextoname (ifindex, name) != NULL)
    ifindex++;

  address = pl_ipv6_stable_address (ifindex, &error);
  g_assert_null (address);
  if (g_error_matches (error, PL_ERROR, PL_ERROR_NO_GATEWAY))
    {
      g_autofree char *expected = g_strdup_printf ("No stable global IPv6 address on "
                                                   "interface %u", ifindex);

      g_assert_cmpstr (error->message, ==, expected);
    }
  else
    {
      g_autofree char *reason = g_strdup_printf ("rtnetlink is not usable here: %s",
                                                 error->message);

      g_test_skip (reason);
      return;
    }

  g_assert_false (pl_neighbour_lookup (nobody, ifindex, mac, &neighbour_error));
  g_assert_error (neighbour_error, PL_ERROR, PL_ERROR_NO_GATEWAY);
  {
    g_autofree char *expected = g_strdup_printf ("No link-layer address is known for "
                                                 "192.0.2.254 on interface %u", ifindex);

    g_assert_cmpstr (neighbour_error->message, ==, expected);
  }
}

/* A network namespace ----------------------------------------------------------------------
 *
 * The live test makes its own network namespace in a child: a veth pair v0/v1, addresses,
 * two IPv6 default routes and neighbour entries, all set up with rtnetlink requests sent from
 * here, then asks the real kernel through the public API. */

#define LIVE_MAC { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 }

static int
namespace_flags (void)
{
  /* Without root, a user namespace gives the capabilities within its network namespace. */
  return geteuid () == 0 ? CLONE_NEWNET : CLONE_NEWNET | CLONE_NEWUSER;
}

/* Sends the request in @b with NLM_F_ACK and waits for the answer: 0 or a positive errno.
 * System calls only: safe in a forked child. */
static int
live_request (int    fd,
              NlBuf *b)
{
  struct nlmsghdr *nlh = &b->u.align;
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  union
  {
    struct nlmsghdr nlh;
    guint8          bytes[4096];
  } reply;
  ssize_t n;

  nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  if (sendto (fd, b->u.bytes, b->len, 0, (struct sockaddr *) &kernel, sizeof kernel) < 0)
    return errno;

  do
    n = recv (fd, &reply, sizeof reply, 0);
  while (n < 0 && errno == EINTR);

  if (n < 0)
    return errno;
  if ((size_t) n < NLMSG_LENGTH (sizeof (struct nlmsgerr)) || reply.nlh.nlmsg_type != NLMSG_ERROR)
    return EPROTO;

  {
    struct nlmsgerr err;

    memcpy (&err, NLMSG_DATA (&reply.nlh), sizeof err);
    return err.error < 0 ? -err.error : err.error;
  }
}

static int
live_socket (void)
{
  struct timeval timeout = { 5, 0 };
  int fd = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

  if (fd >= 0)
    setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);

  return fd;
}

static int
live_add_veth (int fd)
{
  NlBuf b = { 0 };
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
  gsize linkinfo, data, peer;

  nlb_begin (&b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  nlb_put (&b, &ifi, sizeof ifi);
  nlb_attr_string (&b, IFLA_IFNAME, "v0");
  linkinfo = nlb_nest_begin (&b, IFLA_LINKINFO);
  nlb_attr (&b, IFLA_INFO_KIND, "veth", 4);
  data = nlb_nest_begin (&b, IFLA_INFO_DATA);
  peer = nlb_nest_begin (&b, VETH_INFO_PEER);
  nlb_put (&b, &ifi, sizeof ifi);
  nlb_attr_string (&b, IFLA_IFNAME, "v1");
  nlb_nest_end (&b, peer);
  nlb_nest_end (&b, data);
  nlb_nest_end (&b, linkinfo);
  nlb_end (&b);

  return live_request (fd, &b);
}

static int
live_link_up (int   fd,
              guint ifindex)
{
  NlBuf b = { 0 };
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };

  ifi.ifi_index = (int) ifindex;
  ifi.ifi_flags = IFF_UP;
  ifi.ifi_change = IFF_UP;
  nlb_begin (&b, RTM_NEWLINK, 0);
  nlb_put (&b, &ifi, sizeof ifi);
  nlb_end (&b);

  return live_request (fd, &b);
}

static int
live_add_address (int         fd,
                  guint       ifindex,
                  const char *text,
                  guint8      prefix_len,
                  guint32     preferred,
                  guint32     valid)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (text);
  NlBuf b = { 0 };
  struct ifaddrmsg ifa = { 0 };
  struct ifa_cacheinfo ci = { .ifa_prefered = preferred, .ifa_valid = valid };

  ifa.ifa_family = g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4 ? AF_INET
                                                                               : AF_INET6;
  ifa.ifa_prefixlen = prefix_len;
  ifa.ifa_index = ifindex;
  nlb_begin (&b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  nlb_put (&b, &ifa, sizeof ifa);
  nlb_attr_address (&b, IFA_LOCAL, text);
  nlb_attr_address (&b, IFA_ADDRESS, text);
  /* No duplicate address detection: usable at once, not tentative. */
  nlb_attr_u32 (&b, IFA_FLAGS, IFA_F_NODAD);
  if (valid != G_MAXUINT32 || preferred != G_MAXUINT32)
    nlb_attr (&b, IFA_CACHEINFO, &ci, sizeof ci);
  nlb_end (&b);

  return live_request (fd, &b);
}

static int
live_add_default_route (int         fd,
                        guint       ifindex,
                        const char *gateway,
                        guint32     metric)
{
  NlBuf b = { 0 };
  struct rtmsg rtm = { 0 };

  rtm.rtm_family = AF_INET6;
  rtm.rtm_table = RT_TABLE_MAIN;
  rtm.rtm_protocol = RTPROT_STATIC;
  rtm.rtm_scope = RT_SCOPE_UNIVERSE;
  rtm.rtm_type = RTN_UNICAST;
  nlb_begin (&b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  nlb_put (&b, &rtm, sizeof rtm);
  nlb_attr_address (&b, RTA_GATEWAY, gateway);
  nlb_attr_u32 (&b, RTA_OIF, ifindex);
  nlb_attr_u32 (&b, RTA_PRIORITY, metric);
  nlb_end (&b);

  return live_request (fd, &b);
}

static int
live_add_neighbour (int           fd,
                    guint         ifindex,
                    const char   *text,
                    const guint8  mac[6])
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (text);
  NlBuf b = { 0 };
  struct ndmsg ndm = { 0 };

  ndm.ndm_family = g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4 ? AF_INET
                                                                               : AF_INET6;
  ndm.ndm_ifindex = (int) ifindex;
  ndm.ndm_state = NUD_PERMANENT;
  nlb_begin (&b, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE);
  nlb_put (&b, &ndm, sizeof ndm);
  nlb_attr_address (&b, NDA_DST, text);
  nlb_attr (&b, NDA_LLADDR, mac, 6);
  nlb_end (&b);

  return live_request (fd, &b);
}

/* In a forked child, with system calls only: can we make a namespace with a veth pair? */
static void
live_probe (char   **reason)
{
  int result[2] = { 0, 0 };
  int fds[2];
  pid_t pid;
  int status;

  g_assert_no_errno (pipe2 (fds, O_CLOEXEC));

  pid = fork ();
  g_assert_cmpint (pid, >=, 0);

  if (pid == 0)
    {
      int fd;

      close (fds[0]);
      if (unshare (namespace_flags ()) < 0)
        result[0] = 1, result[1] = errno;
      else if ((fd = live_socket ()) < 0)
        result[0] = 2, result[1] = errno;
      else if ((result[1] = live_add_veth (fd)) != 0)
        result[0] = 3;
      if (write (fds[1], result, sizeof result) != sizeof result)
        _exit (2);
      _exit (0);
    }

  close (fds[1]);
  if (read (fds[0], result, sizeof result) != sizeof result)
    result[0] = 4, result[1] = EPIPE;
  close (fds[0]);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);

  switch (result[0])
    {
    case 0:
      *reason = NULL;
      break;
    case 1:
      *reason = g_strdup_printf ("cannot make a network namespace (unshare: %s)",
                                 g_strerror (result[1]));
      break;
    case 3:
      *reason = g_strdup_printf ("cannot make a veth pair in a network namespace (%s)",
                                 g_strerror (result[1]));
      break;
    default:
      *reason = g_strdup_printf ("no rtnetlink in a network namespace (%s)",
                                 g_strerror (result[1]));
      break;
    }
}

static void
live_in_namespace (void)
{
  const guint8 mac[6] = LIVE_MAC;
  const guint8 mac4[6] = { 0x02, 0x00, 0x00, 0x00, 0x04, 0x01 };
  g_autoptr(GError) error = NULL;
  g_autoptr(PlIpv6Router) router = NULL;
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GInetAddress) neighbour = g_inet_address_new_from_string ("fe80::2");
  g_autoptr(GInetAddress) neighbour4 = g_inet_address_new_from_string ("192.0.2.1");
  g_autofree char *text = NULL;
  guint8 found[6] = { 0 };
  guint v0, v1;
  int fd;

  g_assert_no_errno (unshare (namespace_flags ()));
  fd = live_socket ();
  g_assert_no_errno (fd);

  g_assert_cmpint (live_add_veth (fd), ==, 0);
  v0 = if_nametoindex ("v0");
  v1 = if_nametoindex ("v1");
  g_assert_cmpuint (v0, !=, 0);
  g_assert_cmpuint (v1, !=, 0);
  g_assert_cmpint (live_link_up (fd, 1), ==, 0);
  g_assert_cmpint (live_link_up (fd, v1), ==, 0);
  g_assert_cmpint (live_link_up (fd, v0), ==, 0);

  /* Nothing yet. */
  router = pl_ipv6_router_discover (&error);
  g_assert_null (router);
  g_assert_error (error, PL_ERROR, PL_ERROR_NO_GATEWAY);
  g_assert_cmpstr (error->message, ==, "No IPv6 default route in the kernel’s routing table");
  g_clear_error (&error);

  address = pl_ipv6_stable_address (1, &error);
  g_assert_null (address);
  g_assert_error (error, PL_ERROR, PL_ERROR_NO_GATEWAY);
  g_assert_cmpstr (error->message, ==, "No stable global IPv6 address on lo");
  g_clear_error (&error);

  /* v0: deprecated, finite lifetime, ULA, permanent: the permanent global one wins. */
  g_assert_cmpint (live_add_address (fd, v0, "2001:db8:1::1", 64, 0, G_MAXUINT32), ==, 0);
  g_assert_cmpint (live_add_address (fd, v0, "2001:db8:5::5", 64, 600, 600), ==, 0);
  g_assert_cmpint (live_add_address (fd, v0, "fd00:77::10", 64, G_MAXUINT32, G_MAXUINT32), ==,
                   0);
  g_assert_cmpint (live_add_address (fd, v0, "2001:db8:7::7", 64, G_MAXUINT32, G_MAXUINT32),
                   ==, 0);
  g_assert_cmpint (live_add_address (fd, v0, "192.0.2.10", 24, G_MAXUINT32, G_MAXUINT32), ==,
                   0);
  /* v1: only a ULA. */
  g_assert_cmpint (live_add_address (fd, v1, "fd00:77::20", 64, G_MAXUINT32, G_MAXUINT32), ==,
                   0);

  address = pl_ipv6_stable_address (v0, &error);
  g_assert_no_error (error);
  text = g_inet_address_to_string (address);
  g_assert_cmpstr (text, ==, "2001:db8:7::7");
  g_clear_object (&address);
  g_clear_pointer (&text, g_free);

  address = pl_ipv6_stable_address (v1, &error);
  g_assert_no_error (error);
  text = g_inet_address_to_string (address);
  g_assert_cmpstr (text, ==, "fd00:77::20");
  g_clear_object (&address);
  g_clear_pointer (&text, g_free);

  /* Two default routes: the lower metric wins. */
  g_assert_cmpint (live_add_default_route (fd, v0, "fe80::1", 100), ==, 0);
  g_assert_cmpint (live_add_default_route (fd, v0, "fe80::2", 50), ==, 0);

  router = pl_ipv6_router_discover (&error);
  g_assert_no_error (error);
  g_assert_nonnull (router);
  text = g_inet_address_to_string (router->address);
  g_assert_cmpstr (text, ==, "fe80::2");
  g_assert_cmpuint (router->ifindex, ==, v0);
  g_assert_cmpstr (router->interface, ==, "v0");
  g_assert_cmpuint (router->metric, ==, 50);

  /* The router's MAC address, on its interface or any; not on v1. */
  g_assert_false (pl_neighbour_lookup (neighbour, 0, found, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_NO_GATEWAY);
  g_assert_cmpstr (error->message, ==, "No link-layer address is known for fe80::2");
  g_clear_error (&error);

  g_assert_cmpint (live_add_neighbour (fd, v0, "fe80::2", mac), ==, 0);
  g_assert_cmpint (live_add_neighbour (fd, v0, "192.0.2.1", mac4), ==, 0);

  g_assert_true (pl_neighbour_lookup (neighbour, router->ifindex, found, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (found, 6, mac, 6);

  memset (found, 0, sizeof found);
  g_assert_true (pl_neighbour_lookup (neighbour, 0, found, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (found, 6, mac, 6);

  g_assert_false (pl_neighbour_lookup (neighbour, v1, found, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_NO_GATEWAY);
  g_assert_cmpstr (error->message, ==, "No link-layer address is known for fe80::2 on v1");
  g_clear_error (&error);

  g_assert_true (pl_neighbour_lookup (neighbour4, 0, found, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (found, 6, mac4, 6);

  close (fd);
}

static void
test_live_namespace (void)
{
  g_autofree char *reason = NULL;

  g_test_summary ("In a fresh network namespace with a veth pair, addresses, two IPv6 default "
                  "routes and neighbour entries set up over rtnetlink, the public functions "
                  "find the right router, stable address and MAC address in the real kernel");

  if (g_test_subprocess ())
    {
      live_in_namespace ();
      return;
    }

  live_probe (&reason);
  if (reason != NULL)
    {
      g_test_skip (reason);
      return;
    }

  g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
test_eui64 (void)
{
  static const struct { const char *address; const char *mac; } cases[] = {
    { "fe80::2cf1:7fff:fe03:1ce1", "2e:f1:7f:03:1c:e1" },
    { "fe80::bcec:22ff:fe42:adef", "be:ec:22:42:ad:ef" },
    { "fe80::0200:5eff:fe10:0001", "00:00:5e:10:00:01" },
    { "fe80::77:1", NULL },                 /* not EUI-64 */
    { "fd00:77::2", NULL },
    { "192.168.1.1", NULL },
  };

  g_test_summary ("The MAC inside a modified EUI-64 interface identifier (RFC 4291 appendix "
                  "A), with the universal/local bit flipped back; nothing otherwise");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (cases[i].address);
      guint8 mac[6] = { 0 };
      gboolean found = pl_ipv6_mac_from_eui64 (address, mac);

      g_assert_cmpint (found, ==, cases[i].mac != NULL);
      if (found)
        {
          g_autofree char *text = pl_neighbour_format_mac (mac);

          g_assert_cmpstr (text, ==, cases[i].mac);
        }
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/pl/ipv6-route/netlink/errors", test_netlink_errors);
  g_test_add_func ("/pl/ipv6-route/route/metrics", test_route_metrics);
  g_test_add_func ("/pl/ipv6-route/route/filters", test_route_filters);
  g_test_add_func ("/pl/ipv6-route/route/none", test_route_none);
  g_test_add_func ("/pl/ipv6-route/route/multipart", test_route_multipart);
  g_test_add_func ("/pl/ipv6-route/route/multipath", test_route_multipath);
  g_test_add_func ("/pl/ipv6-route/route/bad-attributes", test_route_bad_attributes);
  g_test_add_func ("/pl/ipv6-route/route/truncated", test_route_truncated);
  g_test_add_func ("/pl/ipv6-route/address/unusable", test_address_unusable);
  g_test_add_func ("/pl/ipv6-route/address/scope", test_address_scope);
  g_test_add_func ("/pl/ipv6-route/address/global-over-ula", test_address_global_over_ula);
  g_test_add_func ("/pl/ipv6-route/address/ranking", test_address_ranking);
  g_test_add_func ("/pl/ipv6-route/address/flags-attribute", test_address_flags_attribute);
  g_test_add_func ("/pl/ipv6-route/address/other-interface", test_address_other_interface);
  g_test_add_func ("/pl/ipv6-route/address/bad-attributes", test_address_bad_attributes);
  g_test_add_func ("/pl/ipv6-route/address/truncated", test_address_truncated);
  g_test_add_func ("/pl/ipv6-route/neighbour/match", test_neighbour_match);
  g_test_add_func ("/pl/ipv6-route/neighbour/states", test_neighbour_states);
  g_test_add_func ("/pl/ipv6-route/neighbour/bad-attributes", test_neighbour_bad_attributes);
  g_test_add_func ("/pl/ipv6-route/neighbour/truncated", test_neighbour_truncated);
  g_test_add_func ("/pl/ipv6-route/neighbour/format-mac", test_neighbour_format_mac);
  g_test_add_func ("/pl/ipv6-route/neighbour/event", test_neighbour_event);
  g_test_add_func ("/pl/ipv6-route/system/unknown", test_system_unknown);
  g_test_add_func ("/pl/ipv6-route/live/namespace", test_live_namespace);
  g_test_add_func ("/pl/ipv6-route/eui64", test_eui64);

  return g_test_run ();
}
