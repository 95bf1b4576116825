/* pl-upnp-discovery.c: finds the gateway's UPnP Internet Gateway Device
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <libsoup/soup.h>

#include "pl-error.h"
#include "pl-upnp-discovery.h"

static const char *const connection_types[] = {
  "urn:schemas-upnp-org:service:WANIPConnection:2",
  "urn:schemas-upnp-org:service:WANIPConnection:1",
  "urn:schemas-upnp-org:service:WANPPPConnection:1",
  NULL
};

static const char *const firewall_types[] = {
  PL_UPNP_FIREWALL_SERVICE,
  NULL
};

/* A control point's match: GUPnP gives the type the SSDP answer was for, so a :2 router
 * found through the :1 control point says ":1". */
typedef struct
{
  GUPnPServiceProxy *proxy;
  char              *udn;
  char              *location;
  guint              type_rank;   /* index in self->service_types */
  gboolean           on_gateway;  /* served from the gateway's own address */
} Candidate;

struct _PlUpnpDiscovery
{
  GObject              parent_instance;

  GInetAddress        *gateway;
  char                *gateway_text;
  char                *iface;       /* asked for, or NULL */
  char                *host;        /* the context's address asked for, or NULL */
  PlUpnpDiscovery     *sibling;     /* the IPv4 search for the same router, or NULL */
  const char *const   *service_types;
  gboolean             watch_firewall; /* note which routers offer IPv6 pinholes */
  GHashTable          *firewall_udns;  /* UDN -> itself: routers with the firewall service */
  gint64               chosen_at;      /* clock time the chosen service was chosen */
  PlClock             *clock;

  GUPnPContextManager *manager;
  GUPnPContext        *context;     /* the gateway's network */
  GPtrArray           *control_points;
  GPtrArray           *retired;        /* control points of a context gone, kept: see below */
  GPtrArray           *candidates;  /* Candidate */
  GUPnPServiceProxy   *chosen;
  char                *chosen_udn;
  char                *last_udn;        /* the last router chosen, and where it was */
  char                *last_authority;
  GList               *waiters;     /* GTask */
  GSource             *fallback_timer;
  guint                manager_timer;  /* real time: is there a context yet? */
  guint                manager_tries;
  gboolean             fallback_ok;  /* an IGD not on the gateway may be chosen now */
};

/* An IGD that is not the gateway is only taken when the gateway's own has not answered by
 * then: both answer the same M-SEARCH, in whatever order. */
#define FALLBACK_AFTER_MS 2000

/* A context's port is both the UDP port its searches leave from and the TCP port of its HTTP
 * server (where events arrive). Port 0 would let the system choose, but GSSDP 1.6.2 leaks the
 * address it reads back then, and GUPnP 1.6.3 opens the server on the same number anyway, so
 * each manager takes a random port of the dynamic range. When that port is taken (UDP or
 * TCP), GUPnP drops the context ("Could not create HTTP server") and the context manager
 * never tries again: without a context this soon, the manager is made anew on another port,
 * a few times. */
#define CONTEXT_WAIT_MS 500
#define CONTEXT_TRIES 4

static void start_manager (PlUpnpDiscovery *self);

#define RELEASE_AFTER_S 30

static gboolean
release_cb (gpointer user_data)
{
  return G_SOURCE_REMOVE;   /* the destroy notify releases them */
}

G_DEFINE_FINAL_TYPE (PlUpnpDiscovery, pl_upnp_discovery, G_TYPE_OBJECT)

enum { SIGNAL_PROXY_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

typedef struct
{
  GSource *timeout;
  gulong   cancel_id;
} Waiter;

/* GUPnP and GSSDP warn (g_warning) about other devices on the LAN: a description that
 * cannot be fetched or parsed, a bad USN. For a port-mapping tool those are not the user's
 * business; what matters (no router found, a router that fails) is reported on its own. They
 * go to the debug log instead of standard error. */
static const char *const library_domains[] = {
  "gupnp-context", "gupnp-context-manager", "gupnp-control-point", "gupnp-service-proxy",
  "gssdp-client", "gssdp-resource-browser",
};

static void
library_log_cb (const char     *log_domain,
                GLogLevelFlags  log_level,
                const char     *message,
                gpointer        user_data)
{
  /* Not g_debug(): a g_log() call inside a g_log() handler is a fatal recursion. */
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_DEBUG, "MESSAGE", "%s: %s", log_domain, message);
}

static void
quiet_library_warnings (void)
{
  static gsize done = 0;

  if (!g_once_init_enter (&done))
    return;
  for (guint i = 0; i < G_N_ELEMENTS (library_domains); i++)
    g_log_set_handler (library_domains[i],
                       G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO |
                       G_LOG_FLAG_FATAL,
                       library_log_cb, NULL);
  g_once_init_leave (&done, 1);
}

static void
candidate_free (Candidate *c)
{
  g_clear_object (&c->proxy);
  g_free (c->udn);
  g_free (c->location);
  g_free (c);
}

static void
waiter_free (Waiter *w)
{
  pl_clear_source (&w->timeout);
  g_free (w);
}

static char *
location_host (const char *location)
{
  g_autoptr(GUri) uri = location != NULL ? g_uri_parse (location, G_URI_FLAGS_NONE, NULL)
                                         : NULL;

  return uri != NULL ? g_strdup (g_uri_get_host (uri)) : NULL;
}

/* "host:port" of a location: what a restart with a new HTTP port changes. */
static char *
location_authority (const char *location)
{
  g_autoptr(GUri) uri = location != NULL ? g_uri_parse (location, G_URI_FLAGS_NONE, NULL)
                                         : NULL;

  if (uri == NULL)
    return NULL;
  return g_strdup_printf ("%s:%d", g_uri_get_host (uri), g_uri_get_port (uri));
}

static void
finish_waiters (PlUpnpDiscovery *self)
{
  GList *waiters = g_steal_pointer (&self->waiters);

  for (GList *l = waiters; l != NULL; l = l->next)
    {
      g_autoptr(GTask) task = l->data;
      Waiter *w = g_task_get_task_data (task);

      pl_clear_source (&w->timeout);
      if (w->cancel_id != 0)
        g_cancellable_disconnect (g_task_get_cancellable (task), w->cancel_id);
      w->cancel_id = 0;
      g_task_return_pointer (task, g_object_ref (self->chosen), g_object_unref);
    }
  g_list_free (waiters);
}

/* Picks the best candidate; tells the world when that changes. */
/* The router itself: served from its address (IPv4), or the device the IPv4 search chose
 * (over IPv6 the router is known by its link-local address, and serves from a global one). */
static gboolean
is_router (PlUpnpDiscovery *self,
           const Candidate *c)
{
  return c->on_gateway ||
         (self->sibling != NULL && self->sibling->chosen_udn != NULL &&
          g_strcmp0 (c->udn, self->sibling->chosen_udn) == 0);
}

static void
choose (PlUpnpDiscovery *self,
        gboolean         restarted)
{
  Candidate *best = NULL;
  gboolean best_router = FALSE;

  for (guint i = 0; i < self->candidates->len; i++)
    {
      Candidate *c = g_ptr_array_index (self->candidates, i);
      gboolean router = is_router (self, c);

      if (!router && !self->fallback_ok)
        continue;
      if (best == NULL || (router && !best_router) ||
          (router == best_router && c->type_rank < best->type_rank))
        {
          best = c;
          best_router = router;
        }
    }

  if (best != NULL && best->proxy == self->chosen)
    return;
  if (best == NULL && self->chosen == NULL)
    return;

  g_clear_object (&self->chosen);
  g_clear_pointer (&self->chosen_udn, g_free);
  if (best != NULL)
    {
      g_autofree char *authority = location_authority (best->location);

      /* The same router back at another address, after it went away: a restart. */
      if (g_strcmp0 (self->last_udn, best->udn) == 0 &&
          g_strcmp0 (self->last_authority, authority) != 0)
        restarted = TRUE;
      g_free (self->last_udn);
      self->last_udn = g_strdup (best->udn);
      g_free (self->last_authority);
      self->last_authority = g_steal_pointer (&authority);
      self->chosen = g_object_ref (best->proxy);
      self->chosen_udn = g_strdup (best->udn);
      self->chosen_at = pl_clock_get_time (self->clock);
      g_debug ("UPnP: using %s at %s (%s)", best->udn, best->location,
               self->service_types[best->type_rank]);
    }
  g_signal_emit (self, signals[SIGNAL_PROXY_CHANGED], 0, self->chosen, restarted);
  if (self->chosen != NULL)
    finish_waiters (self);
}

static guint
type_rank_of (PlUpnpDiscovery   *self,
              GUPnPControlPoint *cp)
{
  const char *target = gssdp_resource_browser_get_target (GSSDP_RESOURCE_BROWSER (cp));
  guint i;

  for (i = 0; self->service_types[i] != NULL; i++)
    if (g_strcmp0 (target, self->service_types[i]) == 0)
      return i;
  return i;
}

static void
proxy_available_cb (GUPnPControlPoint *cp,
                    GUPnPServiceProxy *proxy,
                    gpointer           user_data)
{
  PlUpnpDiscovery *self = user_data;
  GUPnPServiceInfo *info = GUPNP_SERVICE_INFO (proxy);
  const char *location = gupnp_service_info_get_location (info);
  const char *udn = gupnp_service_info_get_udn (info);
  g_autofree char *host = location_host (location);
  g_autofree char *authority = location_authority (location);
  g_autoptr(GInetAddress) host_address = host != NULL ? g_inet_address_new_from_string (host)
                                                      : NULL;
  GInetAddressMask *mask = gssdp_client_get_address_mask (GSSDP_CLIENT (self->context));
  gboolean on_gateway = host_address != NULL && g_inet_address_equal (host_address,
                                                                        self->gateway);
  gboolean restarted = FALSE;
  Candidate *c;

  if (host_address == NULL || udn == NULL)
    {
      g_debug ("UPnP: ignoring a service without a usable location (%s)",
               location != NULL ? location : "none");
      return;
    }
  if (!on_gateway && (mask == NULL || !g_inet_address_mask_matches (mask, host_address)))
    {
      g_debug ("UPnP: ignoring %s: %s is neither the gateway %s nor on its network", udn, host,
               self->gateway_text);
      return;
    }
  if (!on_gateway)
    g_debug ("UPnP: %s at %s is not the gateway %s (kept as a fallback)", udn, host,
             self->gateway_text);

  /* The same device at another address: it restarted (miniupnpd takes a new HTTP port at
   * every start), and every proxy at the old address is stale. */
  for (guint i = self->candidates->len; i > 0; i--)
    {
      Candidate *old = g_ptr_array_index (self->candidates, i - 1);
      g_autofree char *old_authority = location_authority (old->location);

      if (g_strcmp0 (old->udn, udn) != 0)
        continue;
      if (g_strcmp0 (old_authority, authority) == 0)
        {
          if (old->type_rank == type_rank_of (self, cp) && old->proxy == proxy)
            return;
          continue;
        }
      if (old->proxy == self->chosen)
        restarted = TRUE;
      g_ptr_array_remove_index (self->candidates, i - 1);
    }

  c = g_new0 (Candidate, 1);
  c->proxy = g_object_ref (proxy);
  c->udn = g_strdup (udn);
  c->location = g_strdup (location);
  c->type_rank = type_rank_of (self, cp);
  c->on_gateway = on_gateway;
  g_ptr_array_add (self->candidates, c);
  if (restarted)
    {
      /* Forget the old choice so that the new proxy is announced as a restart. */
      g_clear_object (&self->chosen);
    }
  choose (self, restarted);
}

static void
proxy_unavailable_cb (GUPnPControlPoint *cp,
                      GUPnPServiceProxy *proxy,
                      gpointer           user_data)
{
  PlUpnpDiscovery *self = user_data;
  g_autofree char *udn = NULL;
  g_autofree char *authority = NULL;

  for (guint i = 0; i < self->candidates->len; i++)
    {
      Candidate *c = g_ptr_array_index (self->candidates, i);

      if (c->proxy == proxy)
        {
          g_debug ("UPnP: %s at %s went away", c->udn, c->location);
          udn = g_strdup (c->udn);
          authority = location_authority (c->location);
          break;
        }
    }
  if (udn == NULL)
    return;
  /* The whole device is gone from there: its proxies found through the other control
   * points (which GUPnP never withdraws for an IGDv2 router) are stale too. */
  for (guint i = self->candidates->len; i > 0; i--)
    {
      Candidate *c = g_ptr_array_index (self->candidates, i - 1);
      g_autofree char *other = location_authority (c->location);

      if (g_strcmp0 (c->udn, udn) == 0 && g_strcmp0 (other, authority) == 0)
        g_ptr_array_remove_index (self->candidates, i - 1);
    }
  choose (self, FALSE);
}

static gboolean
fallback_timer_cb (gpointer user_data)
{
  PlUpnpDiscovery *self = user_data;

  g_clear_pointer (&self->fallback_timer, g_source_unref);
  self->fallback_ok = TRUE;
  choose (self, FALSE);
  return G_SOURCE_REMOVE;
}

static void
stop_context (PlUpnpDiscovery *self)
{
  pl_clear_source (&self->fallback_timer);
  self->fallback_ok = FALSE;
  /* The proxies go before their control points: a proxy's description document tells its
   * control point when it is finalized (GUPnP 1.6.3's doc cache), with no reference to it,
   * so a proxy that outlives its control point crashes when it goes. Control points are only
   * ever released at finalize, when no proxy of ours is left anywhere. */
  g_ptr_array_set_size (self->candidates, 0);
  choose (self, FALSE);
  for (guint i = 0; i < self->control_points->len; i++)
    {
      GUPnPControlPoint *cp = g_ptr_array_index (self->control_points, i);

      g_signal_handlers_disconnect_by_data (cp, self);
      gssdp_resource_browser_set_active (GSSDP_RESOURCE_BROWSER (cp), FALSE);
      g_ptr_array_add (self->retired, g_object_ref (cp));
    }
  g_ptr_array_set_size (self->control_points, 0);
  g_clear_object (&self->context);
}

static gboolean
context_is_ours (PlUpnpDiscovery *self,
                 GUPnPContext    *context)
{
  GSSDPClient *client = GSSDP_CLIENT (context);
  GInetAddressMask *mask;

  if (self->host != NULL)
    return g_strcmp0 (gssdp_client_get_host_ip (client), self->host) == 0;
  if (self->iface != NULL)
    return g_strcmp0 (gssdp_client_get_interface (client), self->iface) == 0;
  mask = gssdp_client_get_address_mask (client);
  return mask != NULL && g_inet_address_mask_matches (mask, self->gateway);
}

/* Over IPv4 the firewall service is only noted: its pinholes are for IPv6 callers (miniupnpd
 * refuses them to an IPv4 one, 606), so they are asked for by a discovery of their own on
 * an IPv6 context. No proxy is kept. */
static void
firewall_available_cb (GUPnPControlPoint *cp,
                       GUPnPServiceProxy *proxy,
                       gpointer           user_data)
{
  PlUpnpDiscovery *self = user_data;
  const char *udn = gupnp_service_info_get_udn (GUPNP_SERVICE_INFO (proxy));

  if (udn != NULL && !g_hash_table_contains (self->firewall_udns, udn))
    {
      g_debug ("UPnP: %s offers IPv6 pinholes", udn);
      g_hash_table_add (self->firewall_udns, g_strdup (udn));
    }
}

static void
firewall_unavailable_cb (GUPnPControlPoint *cp,
                         GUPnPServiceProxy *proxy,
                         gpointer           user_data)
{
  PlUpnpDiscovery *self = user_data;
  const char *udn = gupnp_service_info_get_udn (GUPNP_SERVICE_INFO (proxy));

  if (udn != NULL)
    g_hash_table_remove (self->firewall_udns, udn);
}

/* The router opens a pinhole only for the address the request comes from (miniupnpd
 * compares the caller with InternalClient), but the kernel picks the source of a new
 * connection itself, and prefers a temporary (privacy) address where there is one. GUPnP's
 * SoupSession binds no local address, and libsoup takes one only when the session is made:
 * so each of its connections is bound here, when the socket exists and is not connected yet
 * (GSocketClient's CONNECTING event, passed on as the message's network-event). */
static void
network_event_cb (SoupMessage        *msg,
                  GSocketClientEvent  event,
                  GIOStream          *connection,
                  gpointer            user_data)
{
  GInetAddress *host = user_data;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) error = NULL;
  GSocket *socket;

  if (event != G_SOCKET_CLIENT_CONNECTING || !G_IS_SOCKET_CONNECTION (connection))
    return;
  socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (connection));
  if (g_socket_get_family (socket) != g_inet_address_get_family (host))
    return;
  address = g_inet_socket_address_new (host, 0);
  if (!g_socket_bind (socket, address, FALSE, &error))
    {
      g_autofree char *text = g_inet_address_to_string (host);

      g_debug ("UPnP: could not send from %s: %s", text, error->message);
    }
}

static void
unref_closure_data (gpointer  data,
                    GClosure *closure)
{
  g_object_unref (data);
}

static void
request_queued_cb (SoupSession *session,
                   SoupMessage *msg,
                   gpointer     user_data)
{
  g_signal_connect_data (msg, "network-event", G_CALLBACK (network_event_cb),
                         g_object_ref (user_data), unref_closure_data, 0);
}

#define BOUND_KEY "pl-upnp-bound"

/* Every connection of @context's session leaves from @host (see network_event_cb()). */
static void
bind_session (GUPnPContext *context,
              const char   *host)
{
  SoupSession *session = gupnp_context_get_session (context);

  /* The context is at that address, for as long as it lives; once per session. */
  if (g_object_get_data (G_OBJECT (session), BOUND_KEY) != NULL)
    return;
  g_object_set_data (G_OBJECT (session), BOUND_KEY, GINT_TO_POINTER (1));
  g_signal_connect_data (session, "request-queued", G_CALLBACK (request_queued_cb),
                         g_inet_address_new_from_string (host), unref_closure_data, 0);
}

static void
context_available_cb (GUPnPContextManager *manager,
                      GUPnPContext        *context,
                      gpointer             user_data)
{
  PlUpnpDiscovery *self = user_data;
  SoupSession *session;

  if (self->context != NULL || !context_is_ours (self, context))
    return;

  g_debug ("UPnP: searching on %s (%s) for the gateway %s",
           gssdp_client_get_interface (GSSDP_CLIENT (context)),
           gssdp_client_get_host_ip (GSSDP_CLIENT (context)), self->gateway_text);
  self->context = g_object_ref (context);
  self->fallback_timer = pl_clock_timeout_source_new (self->clock, FALLBACK_AFTER_MS);
  g_source_set_callback (self->fallback_timer, fallback_timer_cb, self, NULL);
  g_source_attach (self->fallback_timer, NULL);

  /* GUPnP 1.6.3 brings a context back inactive after a link flap: nothing would be sent. */
  if (!gssdp_client_get_active (GSSDP_CLIENT (context)))
    g_object_set (context, "active", TRUE, NULL);

  /* libsoup waits 60 s by default, and follows http_proxy or the desktop's proxy settings,
   * which cannot reach a router on the LAN. */
  session = gupnp_context_get_session (context);
  soup_session_set_timeout (session, PL_UPNP_SOAP_TIMEOUT_S);
  soup_session_set_proxy_resolver (session, NULL);
  if (self->host != NULL && g_inet_address_get_family (self->gateway) == G_SOCKET_FAMILY_IPV6)
    bind_session (context, self->host);

  for (guint i = 0; self->service_types[i] != NULL; i++)
    {
      g_autoptr(GUPnPControlPoint) cp = gupnp_control_point_new (context,
                                                                 self->service_types[i]);

      g_signal_connect (cp, "service-proxy-available", G_CALLBACK (proxy_available_cb), self);
      g_signal_connect (cp, "service-proxy-unavailable", G_CALLBACK (proxy_unavailable_cb),
                        self);
      gssdp_resource_browser_set_mx (GSSDP_RESOURCE_BROWSER (cp), 2);
      gupnp_context_manager_manage_control_point (manager, cp);
      gssdp_resource_browser_set_active (GSSDP_RESOURCE_BROWSER (cp), TRUE);
      g_ptr_array_add (self->control_points, g_steal_pointer (&cp));
    }
  if (self->watch_firewall)
    {
      g_autoptr(GUPnPControlPoint) cp = gupnp_control_point_new (context,
                                                                 PL_UPNP_FIREWALL_SERVICE);

      g_signal_connect (cp, "service-proxy-available", G_CALLBACK (firewall_available_cb),
                        self);
      g_signal_connect (cp, "service-proxy-unavailable",
                        G_CALLBACK (firewall_unavailable_cb), self);
      gssdp_resource_browser_set_mx (GSSDP_RESOURCE_BROWSER (cp), 2);
      gupnp_context_manager_manage_control_point (manager, cp);
      gssdp_resource_browser_set_active (GSSDP_RESOURCE_BROWSER (cp), TRUE);
      g_ptr_array_add (self->control_points, g_steal_pointer (&cp));
    }
}

static void
context_unavailable_cb (GUPnPContextManager *manager,
                        GUPnPContext        *context,
                        gpointer             user_data)
{
  PlUpnpDiscovery *self = user_data;

  if (context != self->context)
    return;
  g_debug ("UPnP: the network of %s went away", self->gateway_text);
  stop_context (self);
}

static gboolean
manager_timer_cb (gpointer user_data)
{
  PlUpnpDiscovery *self = user_data;

  self->manager_timer = 0;
  if (self->context != NULL || self->manager_tries >= CONTEXT_TRIES)
    return G_SOURCE_REMOVE;
  g_debug ("UPnP: no network context for %s yet; starting the search again",
           self->gateway_text);
  start_manager (self);
  return G_SOURCE_REMOVE;
}

static void
start_manager (PlUpnpDiscovery *self)
{
  if (self->manager != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->manager, self);
      g_clear_object (&self->manager);
    }
  self->manager_tries++;
  self->manager = gupnp_context_manager_create_full (GSSDP_UDA_VERSION_1_0,
                                                     g_inet_address_get_family (self->gateway),
                                                     g_random_int_range (49152, 65536));
  if (self->host != NULL || self->iface != NULL)
    {
      GUPnPContextFilter *filter = gupnp_context_manager_get_context_filter (self->manager);

      gupnp_context_filter_add_entry (filter, self->host != NULL ? self->host : self->iface);
      gupnp_context_filter_set_enabled (filter, TRUE);
    }
  g_signal_connect (self->manager, "context-available", G_CALLBACK (context_available_cb),
                    self);
  g_signal_connect (self->manager, "context-unavailable",
                    G_CALLBACK (context_unavailable_cb), self);
  self->manager_timer = g_timeout_add (CONTEXT_WAIT_MS, manager_timer_cb, self);
}

static void
pl_upnp_discovery_dispose (GObject *object)
{
  PlUpnpDiscovery *self = PL_UPNP_DISCOVERY (object);

  g_clear_handle_id (&self->manager_timer, g_source_remove);
  if (self->sibling != NULL)
    g_signal_handlers_disconnect_by_data (self->sibling, self);
  g_clear_object (&self->sibling);
  if (self->manager != NULL)
    g_signal_handlers_disconnect_by_data (self->manager, self);
  g_clear_object (&self->chosen);
  g_clear_pointer (&self->chosen_udn, g_free);
  if (self->control_points != NULL)
    stop_context (self);

  G_OBJECT_CLASS (pl_upnp_discovery_parent_class)->dispose (object);
}

static void
pl_upnp_discovery_finalize (GObject *object)
{
  PlUpnpDiscovery *self = PL_UPNP_DISCOVERY (object);

  g_assert (self->waiters == NULL);
  /* GUPnP 1.6.3 does not cancel a control point's description downloads when it goes: their
   * callbacks use it afterwards. So the control points (and the manager, which holds them
   * too) are released a while later, once any download has ended (5 s timeout each). */
  g_ptr_array_extend_and_steal (self->retired, g_steal_pointer (&self->control_points));
  if (self->manager != NULL)
    g_ptr_array_add (self->retired, g_steal_pointer (&self->manager));
  g_timeout_add_seconds_full (G_PRIORITY_LOW, RELEASE_AFTER_S, release_cb,
                              g_steal_pointer (&self->retired),
                              (GDestroyNotify) g_ptr_array_unref);
  g_clear_pointer (&self->candidates, g_ptr_array_unref);
  g_clear_object (&self->gateway);
  g_clear_object (&self->clock);
  g_free (self->gateway_text);
  g_free (self->iface);
  g_free (self->host);
  g_clear_pointer (&self->firewall_udns, g_hash_table_unref);
  g_free (self->chosen_udn);
  g_free (self->last_udn);
  g_free (self->last_authority);

  G_OBJECT_CLASS (pl_upnp_discovery_parent_class)->finalize (object);
}

static void
pl_upnp_discovery_class_init (PlUpnpDiscoveryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_upnp_discovery_dispose;
  object_class->finalize = pl_upnp_discovery_finalize;

  signals[SIGNAL_PROXY_CHANGED] =
    g_signal_new ("proxy-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, GUPNP_TYPE_SERVICE_PROXY, G_TYPE_BOOLEAN);
}

static void
pl_upnp_discovery_init (PlUpnpDiscovery *self)
{
  self->control_points = g_ptr_array_new_with_free_func (g_object_unref);
  self->retired = g_ptr_array_new_with_free_func (g_object_unref);
  self->candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) candidate_free);
  self->firewall_udns = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->service_types = connection_types;
}

/**
 * pl_upnp_discovery_new:
 * @gateway: the default gateway (IPv4)
 * @iface: (nullable): the interface to search on; %NULL for the one whose network holds
 *   @gateway
 * @clock: (nullable): the clock for the verdict timer
 *
 * Starts searching at once, on the thread-default main context.
 *
 * Returns: (transfer full): a new #PlUpnpDiscovery
 */
PlUpnpDiscovery *
pl_upnp_discovery_new (GInetAddress *gateway,
                       const char   *iface,
                       PlClock      *clock)
{
  PlUpnpDiscovery *self;

  g_return_val_if_fail (G_IS_INET_ADDRESS (gateway), NULL);

  quiet_library_warnings ();
  self = g_object_new (PL_TYPE_UPNP_DISCOVERY, NULL);
  self->gateway = g_object_ref (gateway);
  self->gateway_text = g_inet_address_to_string (gateway);
  self->iface = g_strdup (iface);
  self->watch_firewall = TRUE;
  self->clock = clock != NULL ? g_object_ref (clock) : pl_clock_get_default ();
  start_manager (self);
  return self;
}

static void
sibling_changed_cb (PlUpnpDiscovery *self)
{
  choose (self, FALSE);
}

/**
 * pl_upnp_discovery_new_firewall:
 * @router: the router: the IPv6 default router (its link-local address), or an IPv4
 *   gateway (tests on loopback); the context is of its family
 * @iface: (nullable): the interface to search on
 * @host: (nullable): the context's own address: this computer's address that the router is
 *   to see (with the family of @router), or %NULL for any on @iface
 * @sibling: (nullable): the IPv4 search for the same router: the firewall service of the
 *   device it chose (the one that holds the connection service) is the one to use, wherever
 *   it is served from, also when that choice comes later
 * @clock: (nullable): the clock for the verdict timer
 *
 * Like pl_upnp_discovery_new(), for the WANIPv6FirewallControl:1 service (IPv6 pinholes).
 * Over IPv6 the router is known by its link-local address but serves its description from a
 * global one, so besides @sibling's device, a service on the context's network counts after the
 * same 2 s as an IGD on the gateway's subnet does.
 *
 * Returns: (transfer full): a new #PlUpnpDiscovery
 */
PlUpnpDiscovery *
pl_upnp_discovery_new_firewall (GInetAddress    *router,
                                const char      *iface,
                                GInetAddress    *host,
                                PlUpnpDiscovery *sibling,
                                PlClock         *clock)
{
  PlUpnpDiscovery *self;

  g_return_val_if_fail (G_IS_INET_ADDRESS (router), NULL);
  g_return_val_if_fail (host == NULL || G_IS_INET_ADDRESS (host), NULL);
  g_return_val_if_fail (sibling == NULL || PL_IS_UPNP_DISCOVERY (sibling), NULL);

  quiet_library_warnings ();
  self = g_object_new (PL_TYPE_UPNP_DISCOVERY, NULL);
  self->gateway = g_object_ref (router);
  self->gateway_text = g_inet_address_to_string (router);
  self->iface = g_strdup (iface);
  self->host = host != NULL ? g_inet_address_to_string (host) : NULL;
  self->service_types = firewall_types;
  if (sibling != NULL)
    {
      self->sibling = g_object_ref (sibling);
      g_signal_connect_swapped (sibling, "proxy-changed", G_CALLBACK (sibling_changed_cb),
                                self);
    }
  self->clock = clock != NULL ? g_object_ref (clock) : pl_clock_get_default ();
  start_manager (self);
  return self;
}

GInetAddress *
pl_upnp_discovery_get_gateway (PlUpnpDiscovery *self)
{
  g_return_val_if_fail (PL_IS_UPNP_DISCOVERY (self), NULL);
  return self->gateway;
}

GUPnPServiceProxy *
pl_upnp_discovery_get_proxy (PlUpnpDiscovery *self)
{
  g_return_val_if_fail (PL_IS_UPNP_DISCOVERY (self), NULL);
  return self->chosen;
}

gboolean
pl_upnp_discovery_get_igd_v2 (PlUpnpDiscovery *self)
{
  g_return_val_if_fail (PL_IS_UPNP_DISCOVERY (self), FALSE);

  if (self->chosen_udn == NULL)
    return FALSE;
  for (guint i = 0; i < self->candidates->len; i++)
    {
      Candidate *c = g_ptr_array_index (self->candidates, i);

      if (c->type_rank == 0 && g_strcmp0 (c->udn, self->chosen_udn) == 0)
        return TRUE;
    }
  return FALSE;
}

const char *
pl_upnp_discovery_get_udn (PlUpnpDiscovery *self)
{
  g_return_val_if_fail (PL_IS_UPNP_DISCOVERY (self), NULL);
  return self->chosen_udn;
}

gboolean
pl_upnp_discovery_get_has_firewall (PlUpnpDiscovery *self)
{
  g_return_val_if_fail (PL_IS_UPNP_DISCOVERY (self), FALSE);
  return self->chosen_udn != NULL && g_hash_table_contains (self->firewall_udns,
                                                            self->chosen_udn);
}

gboolean
pl_upnp_discovery_may_have_firewall (PlUpnpDiscovery *self)
{
  g_return_val_if_fail (PL_IS_UPNP_DISCOVERY (self), FALSE);

  /* Not chosen yet (a router spoken to without a probe, remembered from before). */
  if (self->chosen_udn == NULL)
    return TRUE;
  /* Each control point fetches the description itself: the firewall service's answer may
   * come after the connection service has been chosen and used. */
  return pl_upnp_discovery_get_has_firewall (self) ||
         pl_clock_get_time (self->clock) - self->chosen_at <
           (gint64) PL_UPNP_FIREWALL_WAIT_MS * 1000;
}

const char *
pl_upnp_discovery_get_host_ip (PlUpnpDiscovery *self)
{
  g_return_val_if_fail (PL_IS_UPNP_DISCOVERY (self), NULL);
  return self->context != NULL ? gssdp_client_get_host_ip (GSSDP_CLIENT (self->context))
                               : NULL;
}

const char *
pl_upnp_discovery_get_interface (PlUpnpDiscovery *self)
{
  g_return_val_if_fail (PL_IS_UPNP_DISCOVERY (self), NULL);
  return self->context != NULL ? gssdp_client_get_interface (GSSDP_CLIENT (self->context))
                               : NULL;
}

void
pl_upnp_discovery_drop (PlUpnpDiscovery   *self,
                        GUPnPServiceProxy *proxy)
{
  g_autofree char *authority = NULL;

  g_return_if_fail (PL_IS_UPNP_DISCOVERY (self));
  g_return_if_fail (GUPNP_IS_SERVICE_PROXY (proxy));

  authority = location_authority (gupnp_service_info_get_location (GUPNP_SERVICE_INFO (proxy)));
  for (guint i = self->candidates->len; i > 0; i--)
    {
      Candidate *c = g_ptr_array_index (self->candidates, i - 1);
      g_autofree char *other = location_authority (c->location);

      if (c->proxy == proxy || g_strcmp0 (other, authority) == 0)
        g_ptr_array_remove_index (self->candidates, i - 1);
    }
  choose (self, FALSE);
  /* FALSE while a search runs: its answers come anyway. */
  for (guint i = 0; i < self->control_points->len; i++)
    gssdp_resource_browser_rescan (g_ptr_array_index (self->control_points, i));
}

static void
waiter_end (GTask  *task,
            GError *error)
{
  PlUpnpDiscovery *self = g_task_get_source_object (task);
  Waiter *w = g_task_get_task_data (task);
  GList *link = g_list_find (self->waiters, task);

  if (link == NULL)
    {
      g_error_free (error);
      return;
    }
  self->waiters = g_list_delete_link (self->waiters, link);
  pl_clear_source (&w->timeout);
  g_task_return_error (task, error);
  g_object_unref (task);
}

static gboolean
wait_timeout_cb (gpointer user_data)
{
  GTask *task = user_data;
  PlUpnpDiscovery *self = g_task_get_source_object (task);
  Waiter *w = g_task_get_task_data (task);
  const char *iface = pl_upnp_discovery_get_interface (self);

  g_clear_pointer (&w->timeout, g_source_unref);
  if (w->cancel_id != 0)
    g_cancellable_disconnect (g_task_get_cancellable (task), w->cancel_id);
  w->cancel_id = 0;
  if (iface != NULL)
    waiter_end (task, g_error_new (PL_ERROR, PL_ERROR_REFUSED,
                                   _("No UPnP router answered on %s (the gateway is %s)"),
                                   iface, self->gateway_text));
  else
    waiter_end (task, g_error_new (PL_ERROR, PL_ERROR_REFUSED,
                                   _("No UPnP router answered: no network interface leads "
                                     "to the gateway %s"), self->gateway_text));
  return G_SOURCE_REMOVE;
}

static gboolean
wait_cancelled_idle_cb (gpointer user_data)
{
  GTask *task = user_data;
  Waiter *w = g_task_get_task_data (task);

  w->cancel_id = 0;
  waiter_end (task, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                         _("Operation was cancelled")));
  return G_SOURCE_REMOVE;
}

static void
wait_cancelled_cb (GCancellable *cancellable,
                   gpointer      user_data)
{
  GTask *task = user_data;

  /* Not from inside the cancellable's handler: disconnecting there would deadlock. */
  g_main_context_invoke (g_task_get_context (task), wait_cancelled_idle_cb, task);
}

void
pl_upnp_discovery_wait_async (PlUpnpDiscovery     *self,
                              guint                timeout_ms,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Waiter *w;

  g_return_if_fail (PL_IS_UPNP_DISCOVERY (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pl_upnp_discovery_wait_async);
  if (self->chosen != NULL)
    {
      g_task_return_pointer (task, g_object_ref (self->chosen), g_object_unref);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  w = g_new0 (Waiter, 1);
  g_task_set_task_data (task, w, (GDestroyNotify) waiter_free);
  w->timeout = pl_clock_timeout_source_new (self->clock,
                                            timeout_ms != 0 ? timeout_ms
                                                            : PL_UPNP_DISCOVERY_VERDICT_MS);
  g_source_set_callback (w->timeout, wait_timeout_cb, task, NULL);
  g_source_attach (w->timeout, g_task_get_context (task));
  self->waiters = g_list_append (self->waiters, g_object_ref (task));
  if (cancellable != NULL)
    w->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (wait_cancelled_cb), task,
                                          NULL);
}

GUPnPServiceProxy *
pl_upnp_discovery_wait_finish (PlUpnpDiscovery  *self,
                               GAsyncResult     *result,
                               GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
