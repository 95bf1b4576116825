/* pl-network-watcher.c: which network this computer is on: its gateway's MAC and the Wi-Fi SSID
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <glib-unix.h>

#include "pl-gateway.h"
#include "pl-ipv6-route.h"
#include "pl-ipv6-route-private.h"
#include "pl-netlink-filter.h"
#include "pl-network-watcher.h"
#include "pl-wifi-ssid.h"

/* Events come in bursts (a link going down takes its routes, addresses and neighbours with
 * it): one read after the burst. */
#define SETTLE_MS 100
#define DISCARD_PORT 9

struct _PlNetworkWatcher
{
  GObject     parent_instance;

  gboolean    fixed;
  int         fd;           /* the rtnetlink event socket, -1 when none */
  guint       fd_id;
  guint       settle_id;
  PlWifiSsid *wifi;
  gulong      wifi_changed_id;

  gboolean    has_address;  /* the gateway's IPv4 address is known */
  guint8      address[4];
  gboolean    nudged;       /* the datagram was sent since the entry went missing */
  gboolean    has_mac;
  guint8      mac[PL_NETWORK_MAC_LEN];
  char       *ssid;         /* the fixed watcher's */
};

G_DEFINE_FINAL_TYPE (PlNetworkWatcher, pl_network_watcher, G_TYPE_OBJECT)

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void filter_events (PlNetworkWatcher *self);

/* One empty datagram to the gateway's discard port: the kernel resolves its address first. */
static void
nudge (const guint8 *address)
{
  struct sockaddr_in to = { 0 };
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

  if (fd < 0)
    return;
  to.sin_family = AF_INET;
  to.sin_port = htons (DISCARD_PORT);
  memcpy (&to.sin_addr, address, 4);
  if (sendto (fd, "", 0, 0, (struct sockaddr *) &to, sizeof to) < 0)
    g_debug ("Could not send to the gateway to learn its MAC: %s", g_strerror (errno));
  close (fd);
}

void
pl_network_watcher_refresh (PlNetworkWatcher *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlGateway) gateway = NULL;
  g_autoptr(GError) lookup_error = NULL;
  gboolean had_mac = self->has_mac;
  gboolean had_address = self->has_address;
  guint8 old_mac[PL_NETWORK_MAC_LEN];
  guint8 old_address[4];

  g_return_if_fail (PL_IS_NETWORK_WATCHER (self));
  if (self->fixed)
    return;

  memcpy (old_mac, self->mac, sizeof old_mac);
  memcpy (old_address, self->address, sizeof old_address);
  gateway = pl_gateway_discover (&error);
  if (gateway == NULL || g_inet_address_get_family (gateway->address) != G_SOCKET_FAMILY_IPV4)
    {
      g_debug ("Network: no gateway%s%s", error != NULL ? ": " : "",
               error != NULL ? error->message : "");
      self->has_address = FALSE;
      self->has_mac = FALSE;
      if (had_address)
        filter_events (self);
    }
  else
    {
      const guint8 *bytes = g_inet_address_to_bytes (gateway->address);

      if (!self->has_address || memcmp (self->address, bytes, 4) != 0)
        self->nudged = FALSE;
      self->has_address = TRUE;
      memcpy (self->address, bytes, 4);
      /* Before the lookup and the datagram: the entry's events are this address's now. */
      if (!had_address || memcmp (old_address, self->address, sizeof old_address) != 0)
        filter_events (self);
      self->has_mac = pl_neighbour_lookup (gateway->address,
                                           gateway->interface != NULL
                                             ? if_nametoindex (gateway->interface) : 0,
                                           self->mac, &lookup_error);
      if (!self->has_mac)
        {
          g_debug ("Network: %s", lookup_error->message);
          memset (self->mac, 0, sizeof self->mac);
        }
      /* One datagram for each time the entry is missing, not one a read. */
      if (self->has_mac)
        self->nudged = FALSE;
      else if (!self->nudged)
        {
          self->nudged = TRUE;
          nudge (self->address);
        }
    }

  if (had_mac != self->has_mac || memcmp (old_mac, self->mac, sizeof old_mac) != 0)
    {
      g_autofree char *mac = pl_neighbour_format_mac (self->mac);

      g_debug ("Network: gateway MAC %s", self->has_mac ? mac : "unknown");
      g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
    }
}

static gboolean
settle_cb (gpointer user_data)
{
  PlNetworkWatcher *self = user_data;

  self->settle_id = 0;
  pl_network_watcher_refresh (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_refresh (PlNetworkWatcher *self)
{
  if (self->settle_id != 0)
    return;
  self->settle_id = g_timeout_add (SETTLE_MS, settle_cb, self);
  g_source_set_name_by_id (self->settle_id, "[portlight] network change");
}

/* Whether an event can change what we know. A neighbour entry of the gateway that says what
 * we know already (its state goes between REACHABLE and STALE all the time) cannot. */
static gboolean
event_matters (PlNetworkWatcher      *self,
               const struct nlmsghdr *nlh)
{
  PlNeighbourQuery query;

  switch (nlh->nlmsg_type)
    {
    case RTM_NEWROUTE:
    case RTM_DELROUTE:
    case RTM_NEWADDR:
    case RTM_DELADDR:
      return TRUE;
    case RTM_DELNEIGH:
      /* Rare (a flush, a link going down): read again rather than look closer. */
      return self->has_mac;
    case RTM_NEWNEIGH:
      if (!self->has_address)
        return FALSE;
      memset (&query, 0, sizeof query);
      query.family = AF_INET;
      memcpy (query.address, self->address, 4);
      if (!_pl_neighbour_parse_message (nlh, &query, NULL) || !query.found)
        return FALSE;   /* another host, or the gateway still unresolved */
      return !self->has_mac || memcmp (query.mac, self->mac, sizeof query.mac) != 0;
    default:
      return FALSE;
    }
}

static gboolean
events_cb (int          fd,
           GIOCondition condition,
           gpointer     user_data)
{
  PlNetworkWatcher *self = user_data;
  /* Aligned for the netlink macros. */
  guint32 buf[8192 / sizeof (guint32)];
  int len;

  for (;;)
    {
      ssize_t n = recv (fd, buf, sizeof buf, 0);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == ENOBUFS)   /* events were lost: read it all again */
            {
              schedule_refresh (self);
              continue;
            }
          break;   /* EAGAIN: all read */
        }
      if (n == 0)
        break;
      /* An int that may go below 0 (a last message without its padding), as NLMSG_OK
       * expects; the kernel's messages fit in the buffer, a longer one is cut and skipped. */
      len = (int) MIN (n, (ssize_t) sizeof buf);
      for (const struct nlmsghdr *nlh = (const struct nlmsghdr *) buf;
           NLMSG_OK (nlh, len);
           nlh = NLMSG_NEXT (nlh, len))
        if (event_matters (self, nlh))
          schedule_refresh (self);
    }
  return G_SOURCE_CONTINUE;
}

/* Only the events that can change what we know reach us (pl-netlink-filter.h): the
 * gateway's neighbour entry, not other hosts', and no IPv6. Set again when the gateway
 * changes. */
static void
filter_events (PlNetworkWatcher *self)
{
  g_autoptr(GError) error = NULL;

  if (self->fd >= 0 &&
      !pl_netlink_filter_attach (self->fd, self->has_address ? self->address : NULL, &error))
    g_debug ("Network: %s (every event is read)", error->message);
}

static void
open_events (PlNetworkWatcher *self)
{
  struct sockaddr_nl local = { 0 };
  int fd = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

  if (fd < 0)
    {
      g_debug ("Network: no rtnetlink events: %s", g_strerror (errno));
      return;
    }
  local.nl_family = AF_NETLINK;
  local.nl_groups = RTMGRP_NEIGH | RTMGRP_IPV4_ROUTE | RTMGRP_IPV4_IFADDR;
  if (bind (fd, (struct sockaddr *) &local, sizeof local) < 0)
    {
      g_debug ("Network: no rtnetlink events: %s", g_strerror (errno));
      close (fd);
      return;
    }
  self->fd = fd;
  filter_events (self);
  self->fd_id = g_unix_fd_add (fd, G_IO_IN, events_cb, self);
  g_source_set_name_by_id (self->fd_id, "[portlight] rtnetlink events");
}

static void
wifi_changed_cb (PlWifiSsid *wifi,
                 gpointer    user_data)
{
  g_signal_emit (PL_NETWORK_WATCHER (user_data), signals[SIGNAL_CHANGED], 0);
}

static void
pl_network_watcher_dispose (GObject *object)
{
  PlNetworkWatcher *self = PL_NETWORK_WATCHER (object);

  g_clear_handle_id (&self->fd_id, g_source_remove);
  g_clear_handle_id (&self->settle_id, g_source_remove);
  if (self->fd >= 0)
    {
      close (self->fd);
      self->fd = -1;
    }
  if (self->wifi != NULL)
    g_clear_signal_handler (&self->wifi_changed_id, self->wifi);
  g_clear_object (&self->wifi);

  G_OBJECT_CLASS (pl_network_watcher_parent_class)->dispose (object);
}

static void
pl_network_watcher_finalize (GObject *object)
{
  g_free (PL_NETWORK_WATCHER (object)->ssid);

  G_OBJECT_CLASS (pl_network_watcher_parent_class)->finalize (object);
}

static void
pl_network_watcher_class_init (PlNetworkWatcherClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_network_watcher_dispose;
  object_class->finalize = pl_network_watcher_finalize;

  /**
   * PlNetworkWatcher::changed:
   *
   * The gateway's MAC, or the SSID, changed (or became known or unknown).
   */
  signals[SIGNAL_CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
pl_network_watcher_init (PlNetworkWatcher *self)
{
  self->fd = -1;
}

PlNetworkWatcher *
pl_network_watcher_new (GDBusConnection *system_bus)
{
  PlNetworkWatcher *self;

  g_return_val_if_fail (system_bus == NULL || G_IS_DBUS_CONNECTION (system_bus), NULL);

  self = g_object_new (PL_TYPE_NETWORK_WATCHER, NULL);
  self->wifi = pl_wifi_ssid_new (system_bus);
  self->wifi_changed_id = g_signal_connect (self->wifi, "changed",
                                            G_CALLBACK (wifi_changed_cb), self);
  open_events (self);
  pl_network_watcher_refresh (self);
  return self;
}

PlNetworkWatcher *
pl_network_watcher_new_for_engine (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, &error);

  if (bus == NULL)
    g_debug ("No system bus for NetworkManager: %s", error->message);
  return pl_network_watcher_new (bus);
}

PlNetworkWatcher *
pl_network_watcher_new_fixed (void)
{
  PlNetworkWatcher *self = g_object_new (PL_TYPE_NETWORK_WATCHER, NULL);

  self->fixed = TRUE;
  return self;
}

void
pl_network_watcher_set_identity (PlNetworkWatcher        *self,
                                 const PlNetworkIdentity *identity)
{
  g_return_if_fail (PL_IS_NETWORK_WATCHER (self));
  g_return_if_fail (self->fixed);
  g_return_if_fail (identity != NULL);

  self->has_mac = identity->has_gateway;
  memcpy (self->mac, identity->gateway, sizeof self->mac);
  g_free (self->ssid);
  self->ssid = g_strdup (identity->ssid);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

void
pl_network_watcher_get_identity (PlNetworkWatcher  *self,
                                 PlNetworkIdentity *identity)
{
  g_return_if_fail (PL_IS_NETWORK_WATCHER (self));
  g_return_if_fail (identity != NULL);

  identity->has_gateway = self->has_mac;
  memcpy (identity->gateway, self->mac, sizeof identity->gateway);
  identity->ssid = self->wifi != NULL ? pl_wifi_ssid_get_ssid (self->wifi) : self->ssid;
}

char *
pl_network_watcher_dup_gateway (PlNetworkWatcher *self)
{
  g_autoptr(GInetAddress) address = NULL;

  g_return_val_if_fail (PL_IS_NETWORK_WATCHER (self), NULL);

  if (!self->has_address)
    return NULL;
  address = g_inet_address_new_from_bytes (self->address, G_SOCKET_FAMILY_IPV4);
  return g_inet_address_to_string (address);
}

gboolean
pl_network_watcher_is_settled (PlNetworkWatcher *self)
{
  g_return_val_if_fail (PL_IS_NETWORK_WATCHER (self), TRUE);
  return self->wifi == NULL || pl_wifi_ssid_is_settled (self->wifi);
}
