/* pl-fake-igd.h: a scripted UPnP Internet Gateway Device for tests
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <libgupnp/gupnp.h>

#include "pl-core.h"

G_BEGIN_DECLS

#define PL_TYPE_FAKE_IGD (pl_fake_igd_get_type ())

G_DECLARE_FINAL_TYPE (PlFakeIgd, pl_fake_igd, PL, FAKE_IGD, GObject)

/* An IGD on GUPnP 1.6's server side (GUPnPContext + GUPnPRootDevice + GUPnPService), on
 * interface "lo" at @address (use 127.0.0.N, one N per test, so tests run in parallel) with a
 * random HTTP port. It answers from sources on the thread-default main context and reads time
 * (lease expiry, uptime, reply delays, the request log) from its clock.
 *
 * Discovery. SSDP multicast works on "lo" as it is, without root and without a network
 * namespace: the fake joins 239.255.255.250:1900 on lo and sends its NOTIFYs there, and a
 * control point context on lo (gupnp_context_new_full ("lo", NULL, 0, …) gives 127.0.0.1)
 * sees them and gets unicast answers to its M-SEARCH. The one catch is creating a context
 * on 127.0.0.N with N ≠ 1: lo carries only 127.0.0.1/8, so gupnp_context_new_full ("lo",
 * 127.0.0.N, …) fails with "No network mask?" (and gupnp_context_new_for_address with "No
 * default route?"). Give the mask yourself and it works:
 *
 *   g_initable_new (GUPNP_TYPE_CONTEXT, NULL, &error, "interface", "lo",
 *                   "address", inet_127_0_0_N, "host-mask", mask_127_0_0_0_8, "port", 0, NULL)
 *
 * pl_fake_igd_new_lo_context() makes such a context for a test's own control points.
 *
 * More that a test on lo needs to know:
 * - Whatever a control point context's address, GUPnP's HTTP requests leave from 127.0.0.1
 *   (its SoupSession binds no local address), so the fake sees the caller as 127.0.0.1, and
 *   secure mode (718) wants NewInternalClient "127.0.0.1". A client that sends its context's
 *   host IP must have its context at 127.0.0.1.
 * - GUPnPService sends GENA events through a SoupSession of its own, out of reach, which uses
 *   the default GProxyResolver: GIO_USE_PROXY_RESOLVER=dummy (pl_fake_igd_test_init()) before
 *   anything creates it (glib-networking's resolver otherwise looks for a GSettings schema,
 *   which is a fatal error under G_TEST_OPTION_ISOLATE_DIRS, and would follow $http_proxy).
 * - Every control point on the machine fetches the description of every fake it hears of,
 *   other test processes' included, and GUPnP g_warning()s when that fails because the fake
 *   has gone: pl_fake_igd_test_init() makes those warnings non-fatal.
 * - A context's "port" is both its HTTP port and the UDP source port of its M-SEARCH. With
 *   port 0 GSSDP 1.6.2 leaks 64 bytes per context (LeakSanitizer); the fake and
 *   pl_fake_igd_new_lo_context() pick a free port instead.
 *
 * Multicast on lo is shared by every test process on the machine: a control point also sees
 * the fakes of tests running in parallel. Match on the location's host (this fake's address)
 * as the client does with the default gateway. An M-SEARCH answer comes after a random delay
 * in [0, MX] s (GSSDP), so use MX 1 in tests; a control point that is active before the fake
 * starts finds it from its NOTIFY within milliseconds (the fake announces from a
 * low-priority idle, right after the main context has nothing else to do).
 * pl_fake_igd_get_location() gives the description URL for clients pointed at it directly.
 *
 * Defaults, like miniupnpd 2.3.1 with secure_mode as measured in the lab:
 * InternetGatewayDevice:2 → WANDevice:2 → WANConnectionDevice:2 → WANIPConnection:2 (its
 * control URL /ctl/IPConn, /ctl/PPPConn for PPP); external address 203.0.113.7;
 * status Connected; "allow 1024-65535"; leases of 0 or above 604800 s become 604800 and
 * expire on the clock; a re-add by the same client with the same internal port renews the
 * lease and keeps the description, with another internal port replaces the mapping;
 * descriptions are cut to 64 bytes; DeletePortMapping answers 200 for unknown mappings;
 * GetGenericPortMappingEntry lists newest first. Errors (codes and descriptions as miniupnpd
 * sends them): a missing argument 402, except NewInternalClient: missing or empty 501 (as
 * miniupnpd does); NewInternalClient not the caller 718; external port 0 716;
 * external or internal port below 1024 606; a port held by another client 718; deleting
 * another client's mapping 606; no such entry 714; index past the end 713; AddAnyPortMapping
 * with no free port 728; an action it does not serve 401 (logged only for the names in
 * miniupnpd's SCPD: GUPnP answers any other name itself). AddAnyPortMapping (WANIPConnection:2
 * only) takes the asked port when free or ours, else the next free one upwards (a request
 * below 1024, 0 included, searches from 1024).
 *
 * Events: PortMappingNumberOfEntries (on add, delete, expiry, clear, preload) and
 * ExternalIPAddress (on pl_fake_igd_set_external_address()) go out through
 * gupnp_service_notify(); a new subscriber gets ConnectionStatus, PossibleConnectionTypes,
 * ExternalIPAddress and PortMappingNumberOfEntries. GUPnP's server grants every subscription
 * 300 s whatever was asked (its SUBSCRIPTION_TIMEOUT), so a control point renews only after
 * minutes: `subscription-lost` after a restart cannot be had quickly from this fake.
 *
 * Broken answers (pl_fake_igd_reply_badly()), as GUPnP 1.6.3's control point takes them:
 * HTTP 500 text and garbage fail with GUPNP_SERVER_ERROR 3 "Invalid Envelope"; the truncated
 * SOAP response is recovered by libxml2 into a success, and
 * gupnp_service_proxy_action_get_result() then logs a g_warning ("Could not find variable …",
 * fatal under GTest) and leaves the out argument unset. */

typedef enum
{
  PL_FAKE_IGD_FLAGS_NONE = 0,
  PL_FAKE_IGD_V1         = 1 << 0,  /* InternetGatewayDevice:1 tree, WANIPConnection:1, no
                                     * AddAnyPortMapping (401) */
  PL_FAKE_IGD_PPP        = 1 << 1,  /* WANPPPConnection:1 instead of WANIPConnection */
} PlFakeIgdFlags;

/* How to answer a scripted call instead of the real answer. */
typedef enum
{
  PL_FAKE_IGD_REPLY_HTTP_500_TEXT,  /* HTTP 500, text/plain, not XML */
  PL_FAKE_IGD_REPLY_GARBAGE,        /* HTTP 200, text/xml, bytes that are no XML at all */
  PL_FAKE_IGD_REPLY_TRUNCATED,      /* HTTP 200, text/xml, a SOAP response cut off mid-element */
} PlFakeIgdReply;

typedef enum
{
  PL_FAKE_IGD_RESTART_NONE       = 0,
  PL_FAKE_IGD_RESTART_BYEBYE     = 1 << 0,  /* send ssdp:byebye going down (SIGTERM); else
                                             * silence (SIGKILL, power loss) */
  PL_FAKE_IGD_RESTART_SAME_PORT  = 1 << 1,  /* come back on the same HTTP port (a fixed
                                             * http_port); else on a new one */
  PL_FAKE_IGD_RESTART_KEEP_TABLE = 1 << 2,  /* keep the mappings (a lease file); else empty */
} PlFakeIgdRestartFlags;

/* One mapping in its table. */
typedef struct
{
  char    *remote_host;       /* "" */
  guint16  external_port;
  char    *protocol;          /* "TCP" or "UDP" */
  guint16  internal_port;
  char    *internal_client;
  gboolean enabled;
  char    *description;
  guint32  lease_duration;    /* as granted; 0 = permanent */
  gint64   expires;           /* clock time, microseconds; 0 = never */
} PlFakeIgdEntry;

/* One IPv6 pinhole of its WANIPv6FirewallControl:1 service. */
typedef struct
{
  guint    unique_id;
  char    *internal_client;   /* as sent */
  guint16  internal_port;
  guint    protocol;          /* 6 or 17 */
  guint32  lease;             /* as last granted */
  gint64   expires;           /* clock time, microseconds */
} PlFakeIgdPinhole;

/* One action that reached the service (after GUPnP's own checks of the HTTP request). */
typedef struct
{
  gint64      time;           /* clock time of arrival, microseconds */
  char       *action;         /* "AddPortMapping" */
  char       *service_type;   /* from the SOAPAction header: what the caller asked for */
  char       *caller;         /* the caller's IP address */
  GHashTable *arguments;      /* argument name → value, both char*, as sent */
} PlFakeIgdRequest;

PlFakeIgd            *pl_fake_igd_new                       (const char            *address,
                                                             PlClock               *clock,
                                                             PlFakeIgdFlags         flags,
                                                             GError               **error);
/* At the start of every test with control points on lo (the first time after g_test_init()
 * and before any GUPnP object): no HTTP proxy, and GUPnP's "gupnp-control-point" warnings
 * (other tests' fakes going away while their description is fetched) are not fatal. */
void                  pl_fake_igd_test_init                 (void);
/* A context on lo at @address (127.0.0.N) for control points: see above. */
GUPnPContext         *pl_fake_igd_new_lo_context            (const char            *address,
                                                             GError               **error);
const char           *pl_fake_igd_get_address               (PlFakeIgd             *self);
/* "uuid:…" of the root device, new for each fake, kept across restarts. */
const char           *pl_fake_igd_get_udn                   (PlFakeIgd             *self);
/* The description URL, http://127.0.0.N:PORT/….xml; NULL while stopped. */
const char           *pl_fake_igd_get_location              (PlFakeIgd             *self);
/* The control URL of the connection service; NULL while stopped. */
const char           *pl_fake_igd_get_control_url           (PlFakeIgd             *self);
/* The HTTP port; 0 while stopped. */
guint16               pl_fake_igd_get_port                  (PlFakeIgd             *self);
/* "urn:schemas-upnp-org:service:WANIPConnection:2" (or :1, or WANPPPConnection:1). */
const char           *pl_fake_igd_get_service_type          (PlFakeIgd             *self);

/* Scripting. */
/* Notifies ExternalIPAddress when it changes. */
void                  pl_fake_igd_set_external_address      (PlFakeIgd             *self,
                                                             const char            *address);
/* Answer the next @n_calls calls of @action (NULL: of any action) with UPnP error @code and
 * @description instead (0 calls: drop the script; G_MAXUINT: every call). The call changes
 * nothing. Scripts are matched in the order they were set. */
void                  pl_fake_igd_fail_next                 (PlFakeIgd             *self,
                                                             const char            *action,
                                                             guint                  n_calls,
                                                             guint                  code,
                                                             const char            *description);
/* The same with a broken answer instead of a SOAP fault. */
void                  pl_fake_igd_reply_badly               (PlFakeIgd             *self,
                                                             const char            *action,
                                                             guint                  n_calls,
                                                             PlFakeIgdReply         reply);
/* Forget every script set with the two above. */
void                  pl_fake_igd_clear_scripts             (PlFakeIgd             *self);
/* AddPortMapping/AddAnyPortMapping with a lease other than 0 → 725
 * OnlyPermanentLeasesSupported; lease 0 is then permanent. */
void                  pl_fake_igd_set_permanent_leases_only (PlFakeIgd             *self,
                                                             gboolean               only);
/* AddPortMapping with external ≠ internal port → 724 SamePortValuesRequired. */
void                  pl_fake_igd_set_same_ports_required   (PlFakeIgd             *self,
                                                             gboolean               required);
/* DeletePortMapping of a mapping it does not hold → 714 NoSuchEntryInArray (miniupnpd's
 * iptables backend) instead of 200 (its nftables backend). */
void                  pl_fake_igd_set_delete_unknown_fails  (PlFakeIgd             *self,
                                                             gboolean               fails);
/* Answer every action @ms of clock time late. */
void                  pl_fake_igd_set_reply_delay           (PlFakeIgd             *self,
                                                             guint                  ms);

/* Its table. */
/* Add a mapping as if @internal_client had asked (no checks); lease 0 = never expires.
 * @description goes out byte for byte: bytes that are not UTF-8 land in the XML as they are
 * (what miniupnpd sends past 64 bytes), and GUPnP 1.6.3's control point returns them after
 * libxml2 has printed "Input is not proper UTF-8". */
void                  pl_fake_igd_add_entry                 (PlFakeIgd             *self,
                                                             const char            *internal_client,
                                                             const char            *protocol,
                                                             guint16                external_port,
                                                             guint16                internal_port,
                                                             const char            *description,
                                                             guint32                lease);
/* Add @n_entries mappings for @client: external = internal port 20000 + i, TCP for
 * even i and UDP for odd, lease 0. Every fourth description is plain ASCII
 * ("preloaded <i>"), the others non-ASCII UTF-8, longer than 64 bytes, and with XML
 * metacharacters, in turn. Entry 0 ends up last in the listing (newest first). */
void                  pl_fake_igd_preload                   (PlFakeIgd             *self,
                                                             guint                  n_entries,
                                                             const char            *client);
guint                 pl_fake_igd_get_n_entries             (PlFakeIgd             *self);
/* (nullable) (transfer none): valid until the table next changes. */
const PlFakeIgdEntry *pl_fake_igd_lookup                    (PlFakeIgd             *self,
                                                             const char            *protocol,
                                                             guint16                external_port);
void                  pl_fake_igd_clear_entries             (PlFakeIgd             *self);

/* Going down and coming back. The UDN stays; GENA subscriptions and pending replies are
 * lost. */
/* Stop serving: the HTTP port closes (connection refused), no SSDP answers. */
void                  pl_fake_igd_stop                      (PlFakeIgd             *self,
                                                             gboolean               send_byebye);
/* Serve again on a new HTTP port (or the same one) and announce ssdp:alive, without the
 * byebyes GSSDP sends before a new device's first alive. */
gboolean              pl_fake_igd_start                     (PlFakeIgd             *self,
                                                             gboolean               same_port,
                                                             GError               **error);
/* Stop, empty the table (unless KEEP_TABLE; no event for that), start. */
gboolean              pl_fake_igd_restart                   (PlFakeIgd             *self,
                                                             PlFakeIgdRestartFlags  flags,
                                                             GError               **error);

/* What arrived: PlFakeIgdRequest*, oldest first. */
GPtrArray            *pl_fake_igd_get_requests              (PlFakeIgd             *self);
/* How many calls of @action (NULL: of any action) arrived. */
guint                 pl_fake_igd_count_requests            (PlFakeIgd             *self,
                                                             const char            *action);
void                  pl_fake_igd_clear_requests            (PlFakeIgd             *self);

/* Its pinholes (WANIPv6FirewallControl:1, IGD:2 fakes only, at /ctl/IP6FCtl), as miniupnpd
 * 2.3.1 serves them. The caller of a SOAP request on lo is 127.0.0.1, never the IPv6
 * address a pinhole is for, so the check miniupnpd makes (InternalClient must be the caller,
 * else 606) is made against the address set here; NULL (the default) lets any IPv6 address
 * through. Also as miniupnpd: ports below 1024 606; InternalClient empty or "*" 708; protocol
 * 65535 707, other than 6 and 17 705; internal port 0 706; a lease outside 1–86400 s, or an
 * UniqueID it does not hold (UpdatePinhole, DeletePinhole), 402 (not the standard's 704);
 * the firewall off 702 and inbound pinholes not allowed 703 for every action but
 * GetFirewallStatus. The same pinhole added again keeps its UniqueID with the new lease. IDs
 * count from 1, again after a restart that empties the table. Leases expire on the clock. */
void                  pl_fake_igd_set_firewall              (PlFakeIgd             *self,
                                                             gboolean               enabled,
                                                             gboolean               inbound_allowed);
void                  pl_fake_igd_set_pinhole_caller        (PlFakeIgd             *self,
                                                             const char            *address);
/* The UniqueID the next new pinhole gets (then counting up). */
void                  pl_fake_igd_set_next_pinhole_id       (PlFakeIgd             *self,
                                                             guint                  id);
guint                 pl_fake_igd_get_n_pinholes            (PlFakeIgd             *self);
/* (nullable) (transfer none): valid until the pinholes next change. */
const PlFakeIgdPinhole *pl_fake_igd_lookup_pinhole          (PlFakeIgd             *self,
                                                             guint                  protocol,
                                                             guint16                internal_port);
void                  pl_fake_igd_clear_pinholes            (PlFakeIgd             *self);

G_END_DECLS
