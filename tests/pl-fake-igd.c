/* pl-fake-igd.c: a scripted UPnP Internet Gateway Device for tests
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <libgupnp/gupnp.h>
#include <libsoup/soup.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "pl-fake-igd.h"

/* GUPnP serves the description, the SCPD and the control and event URLs from a GUPnPContext
 * on ADDRESS (interface lo). Both XML files are generated for each fake (its own UDN, IGD:1
 * or :2, WANIP or WANPPP) into a temporary folder, because GUPnPRootDevice serves the
 * description from a file. Every action arrives at one handler (connected to
 * "action-invoked::NAME" for each name: GUPnP counts only handlers with the action as the
 * detail, and answers 401 itself when there is none), which reads the arguments from the
 * request body itself (gupnp_service_action_get_value() warns about
 * absent arguments, and a missing argument is a case to test), logs the call, applies the
 * scripts and then the miniupnpd rules to the table. The answer goes out at once or after
 * the reply delay on the clock. A broken answer is written straight into the paused
 * SoupServerMessage, and the action is then released without GUPnP's SOAP envelope.
 *
 * Starting (the first time and after a stop): a GSSDPResourceGroup sends byebyes before its
 * first alives. To announce with alives only (as miniupnpd does, after SIGKILL too), the new
 * context starts inactive
 * (GSSDP drops what an inactive client sends), the group is made available and unavailable
 * once, each time waiting in a low-priority idle until GSSDP's message queue (a 0 ms timeout
 * of default priority) has run dry, and only then is the context activated and the group
 * made available for real: its initial byebyes count as sent. */

#define SERVICE_LEASE_MAX   604800u   /* miniupnpd: 0 and anything above become one week */
#define DESCRIPTION_MAX     64        /* miniupnpd stores 64 bytes of a description */
#define CONTROL_PATH_IP     "/ctl/IPConn"
#define CONTROL_PATH_PPP    "/ctl/PPPConn"
#define CONTROL_PATH_FC     "/ctl/IP6FCtl"
#define FC_SERVICE_TYPE     "urn:schemas-upnp-org:service:WANIPv6FirewallControl:1"
#define FC_SCPD_NAME        "WANIP6FC.xml"
#define PINHOLE_LEASE_MAX   86400u    /* WANIPv6FirewallControl:1 and miniupnpd */

struct _PlFakeIgd
{
  GObject             parent_instance;

  char               *address;
  PlClock            *clock;
  GMainContext       *context;
  PlFakeIgdFlags      flags;
  char               *udn;
  char               *service_type;
  char               *dir;              /* desc.xml and the SCPD */
  char               *scpd_name;

  /* While serving. */
  GUPnPContext       *gupnp_context;
  GUPnPRootDevice    *root_device;
  GUPnPService       *service;
  GUPnPService       *fc_service;       /* WANIPv6FirewallControl:1 (IGD:2 only) */
  guint16             port;
  guint16             last_port;        /* the port of the last serving, for restarts */
  char               *location;
  char               *control_url;
  GSource            *announce_source;  /* the quiet start's steps */
  guint               announce_step;
  gint64              started;          /* clock time, for the uptime */
  GList              *pending;          /* Pending*: answers waiting for the reply delay */

  GPtrArray          *table;            /* PlFakeIgdEntry*, newest first */
  guint               notified_entries; /* PortMappingNumberOfEntries as last evented */
  GSource            *expiry_source;
  GPtrArray          *requests;         /* PlFakeIgdRequest* */
  GPtrArray          *scripts;          /* Script* */

  char               *external_address;
  guint               reply_delay_ms;
  gboolean            permanent_only;
  gboolean            same_ports;
  gboolean            delete_unknown_fails;

  GPtrArray          *pinholes;         /* PlFakeIgdPinhole*, oldest first */
  guint               next_pinhole_id;
  gboolean            firewall_enabled;
  gboolean            inbound_allowed;
  char               *pinhole_caller;   /* the IPv6 address requests "come from", or NULL */
};

G_DEFINE_FINAL_TYPE (PlFakeIgd, pl_fake_igd, G_TYPE_OBJECT)

typedef struct
{
  char          *action;                /* NULL: any */
  guint          remaining;             /* G_MAXUINT: forever */
  gboolean       bad_reply;
  PlFakeIgdReply reply;
  guint          code;
  char          *description;
} Script;

typedef enum
{
  ANSWER_SUCCESS,
  ANSWER_FAULT,
  ANSWER_BAD,
} AnswerKind;

typedef struct
{
  PlFakeIgd          *self;             /* not owned: pending answers die with the fake */
  GSource            *source;
  GUPnPServiceAction *action;
  AnswerKind          kind;
  guint               code;
  char               *description;
  PlFakeIgdReply      reply;
} Pending;

/* The service description: one table drives the SCPD and the "all arguments" check. */
typedef struct
{
  const char *name;
  gboolean    v2_only;
  const char *in;                       /* space-separated "Argument:StateVariable" */
  const char *out;
} ActionSpec;

static const ActionSpec actions[] = {
  { "GetConnectionTypeInfo", FALSE, "",
    "NewConnectionType:ConnectionType NewPossibleConnectionTypes:PossibleConnectionTypes" },
  { "GetStatusInfo", FALSE, "",
    "NewConnectionStatus:ConnectionStatus NewLastConnectionError:LastConnectionError "
    "NewUptime:Uptime" },
  { "GetExternalIPAddress", FALSE, "", "NewExternalIPAddress:ExternalIPAddress" },
  { "AddPortMapping", FALSE,
    "NewRemoteHost:RemoteHost NewExternalPort:ExternalPort NewProtocol:PortMappingProtocol "
    "NewInternalPort:InternalPort NewInternalClient:InternalClient "
    "NewEnabled:PortMappingEnabled NewPortMappingDescription:PortMappingDescription "
    "NewLeaseDuration:PortMappingLeaseDuration", "" },
  { "AddAnyPortMapping", TRUE,
    "NewRemoteHost:RemoteHost NewExternalPort:ExternalPort NewProtocol:PortMappingProtocol "
    "NewInternalPort:InternalPort NewInternalClient:InternalClient "
    "NewEnabled:PortMappingEnabled NewPortMappingDescription:PortMappingDescription "
    "NewLeaseDuration:PortMappingLeaseDuration", "NewReservedPort:ExternalPort" },
  { "DeletePortMapping", FALSE,
    "NewRemoteHost:RemoteHost NewExternalPort:ExternalPort NewProtocol:PortMappingProtocol",
    "" },
  { "GetSpecificPortMappingEntry", FALSE,
    "NewRemoteHost:RemoteHost NewExternalPort:ExternalPort NewProtocol:PortMappingProtocol",
    "NewInternalPort:InternalPort NewInternalClient:InternalClient "
    "NewEnabled:PortMappingEnabled NewPortMappingDescription:PortMappingDescription "
    "NewLeaseDuration:PortMappingLeaseDuration" },
  { "GetGenericPortMappingEntry", FALSE,
    "NewPortMappingIndex:PortMappingNumberOfEntries",
    "NewRemoteHost:RemoteHost NewExternalPort:ExternalPort NewProtocol:PortMappingProtocol "
    "NewInternalPort:InternalPort NewInternalClient:InternalClient "
    "NewEnabled:PortMappingEnabled NewPortMappingDescription:PortMappingDescription "
    "NewLeaseDuration:PortMappingLeaseDuration" },
};

/* WANIPv6FirewallControl:1, as miniupnpd 2.3.1 serves it (GetOutboundPinholeTimeout, always
 * 501 there, and CheckPinholeWorking, 709, are left out). */
static const ActionSpec fc_actions[] = {
  { "GetFirewallStatus", TRUE, "",
    "FirewallEnabled:FirewallEnabled InboundPinholeAllowed:InboundPinholeAllowed" },
  { "AddPinhole", TRUE,
    "RemoteHost:A_ARG_TYPE_IPv6Address RemotePort:A_ARG_TYPE_Port "
    "InternalClient:A_ARG_TYPE_IPv6Address InternalPort:A_ARG_TYPE_Port "
    "Protocol:A_ARG_TYPE_Protocol LeaseTime:A_ARG_TYPE_LeaseTime",
    "UniqueID:A_ARG_TYPE_UniqueID" },
  { "UpdatePinhole", TRUE, "UniqueID:A_ARG_TYPE_UniqueID NewLeaseTime:A_ARG_TYPE_LeaseTime",
    "" },
  { "DeletePinhole", TRUE, "UniqueID:A_ARG_TYPE_UniqueID", "" },
  { "GetPinholePackets", TRUE, "UniqueID:A_ARG_TYPE_UniqueID",
    "PinholePackets:A_ARG_TYPE_PinholePackets" },
};

static const struct
{
  const char *name;
  const char *type;
} fc_state_variables[] = {
  { "FirewallEnabled", "boolean" },
  { "InboundPinholeAllowed", "boolean" },
  { "A_ARG_TYPE_IPv6Address", "string" },
  { "A_ARG_TYPE_Port", "ui2" },
  { "A_ARG_TYPE_Protocol", "ui2" },
  { "A_ARG_TYPE_LeaseTime", "ui4" },
  { "A_ARG_TYPE_UniqueID", "ui2" },
  { "A_ARG_TYPE_PinholePackets", "ui4" },
};

/* Logged and answered 401, as by miniupnpd's "Invalid Action" for what it lacks; any other
 * name gets GUPnP's own 401 without reaching the log. */
static const char *const unserved_actions[] = {
  "DeletePortMappingRange", "GetListOfPortMappings", "SetConnectionType", "RequestConnection",
  "ForceTermination", "GetNATRSIPStatus",
};

static const struct
{
  const char *name;
  const char *type;
  gboolean    evented;
} state_variables[] = {
  { "ConnectionType", "string", FALSE },
  { "PossibleConnectionTypes", "string", TRUE },
  { "ConnectionStatus", "string", TRUE },
  { "Uptime", "ui4", FALSE },
  { "LastConnectionError", "string", FALSE },
  { "ExternalIPAddress", "string", TRUE },
  { "PortMappingNumberOfEntries", "ui2", TRUE },
  { "PortMappingEnabled", "boolean", FALSE },
  { "PortMappingLeaseDuration", "ui4", FALSE },
  { "RemoteHost", "string", FALSE },
  { "ExternalPort", "ui2", FALSE },
  { "InternalPort", "ui2", FALSE },
  { "PortMappingProtocol", "string", FALSE },
  { "InternalClient", "string", FALSE },
  { "PortMappingDescription", "string", FALSE },
};

static void
entry_free (gpointer data)
{
  PlFakeIgdEntry *entry = data;

  g_free (entry->remote_host);
  g_free (entry->protocol);
  g_free (entry->internal_client);
  g_free (entry->description);
  g_free (entry);
}

static void
request_free (gpointer data)
{
  PlFakeIgdRequest *request = data;

  g_free (request->action);
  g_free (request->service_type);
  g_free (request->caller);
  g_clear_pointer (&request->arguments, g_hash_table_unref);
  g_free (request);
}

static void
pinhole_free (gpointer data)
{
  PlFakeIgdPinhole *pinhole = data;

  g_free (pinhole->internal_client);
  g_free (pinhole);
}

static void
script_free (gpointer data)
{
  Script *script = data;

  g_free (script->action);
  g_free (script->description);
  g_free (script);
}

static void
pending_free (gpointer data)
{
  Pending *pending = data;

  g_free (pending->description);
  g_free (pending);
}

static gboolean
is_v2 (PlFakeIgd *self)
{
  return (self->flags & (PL_FAKE_IGD_V1 | PL_FAKE_IGD_PPP)) == 0;
}

static const ActionSpec *
find_action (PlFakeIgd  *self,
             const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (actions); i++)
    {
      if (g_str_equal (actions[i].name, name))
        return actions[i].v2_only && !is_v2 (self) ? NULL : &actions[i];
    }

  return NULL;
}

static const ActionSpec *
find_fc_action (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (fc_actions); i++)
    if (g_str_equal (fc_actions[i].name, name))
      return &fc_actions[i];
  return NULL;
}

/* Description and SCPD. */

static void
append_arguments (GString    *xml,
                  const char *list,
                  const char *direction)
{
  g_auto(GStrv) arguments = g_strsplit (list, " ", -1);

  for (guint i = 0; arguments[i] != NULL; i++)
    {
      g_auto(GStrv) parts = g_strsplit (arguments[i], ":", 2);

      if (parts[0] == NULL || parts[1] == NULL)
        continue;
      g_string_append_printf (xml,
                              "<argument><name>%s</name><direction>%s</direction>"
                              "<relatedStateVariable>%s</relatedStateVariable></argument>",
                              parts[0], direction, parts[1]);
    }
}

static char *
build_scpd (PlFakeIgd *self)
{
  GString *xml = g_string_new ("<?xml version=\"1.0\"?>\n"
                               "<scpd xmlns=\"urn:schemas-upnp-org:service-1-0\">"
                               "<specVersion><major>1</major><minor>0</minor></specVersion>"
                               "<actionList>");

  for (gsize i = 0; i < G_N_ELEMENTS (actions); i++)
    {
      if (actions[i].v2_only && !is_v2 (self))
        continue;
      g_string_append_printf (xml, "<action><name>%s</name><argumentList>", actions[i].name);
      append_arguments (xml, actions[i].in, "in");
      append_arguments (xml, actions[i].out, "out");
      g_string_append (xml, "</argumentList></action>");
    }
  g_string_append (xml, "</actionList><serviceStateTable>");
  for (gsize i = 0; i < G_N_ELEMENTS (state_variables); i++)
    g_string_append_printf (xml,
                            "<stateVariable sendEvents=\"%s\"><name>%s</name>"
                            "<dataType>%s</dataType></stateVariable>",
                            state_variables[i].evented ? "yes" : "no",
                            state_variables[i].name, state_variables[i].type);
  g_string_append (xml, "</serviceStateTable></scpd>\n");

  return g_string_free (xml, FALSE);
}

static char *
build_fc_scpd (void)
{
  GString *xml = g_string_new ("<?xml version=\"1.0\"?>\n"
                               "<scpd xmlns=\"urn:schemas-upnp-org:service-1-0\">"
                               "<specVersion><major>1</major><minor>0</minor></specVersion>"
                               "<actionList>");

  for (gsize i = 0; i < G_N_ELEMENTS (fc_actions); i++)
    {
      g_string_append_printf (xml, "<action><name>%s</name><argumentList>",
                              fc_actions[i].name);
      append_arguments (xml, fc_actions[i].in, "in");
      append_arguments (xml, fc_actions[i].out, "out");
      g_string_append (xml, "</argumentList></action>");
    }
  g_string_append (xml, "</actionList><serviceStateTable>");
  for (gsize i = 0; i < G_N_ELEMENTS (fc_state_variables); i++)
    g_string_append_printf (xml,
                            "<stateVariable sendEvents=\"no\"><name>%s</name>"
                            "<dataType>%s</dataType></stateVariable>",
                            fc_state_variables[i].name, fc_state_variables[i].type);
  g_string_append (xml, "</serviceStateTable></scpd>\n");

  return g_string_free (xml, FALSE);
}

static char *
build_description (PlFakeIgd *self)
{
  const char *version = (self->flags & PL_FAKE_IGD_V1) ? "1" : "2";
  gboolean ppp = (self->flags & PL_FAKE_IGD_PPP) != 0;
  g_autofree char *wan_uuid = g_uuid_string_random ();
  g_autofree char *connection_uuid = g_uuid_string_random ();
  g_autofree char *wan_udn = g_strdup_printf ("uuid:%s", wan_uuid);
  g_autofree char *connection_udn = g_strdup_printf ("uuid:%s", connection_uuid);
  const char *device_fields = "<friendlyName>Portlight fake IGD</friendlyName>"
                              "<manufacturer>Portlight</manufacturer>"
                              "<modelName>pl-fake-igd</modelName>";

  return g_strdup_printf ("<?xml version=\"1.0\"?>\n"
                          "<root xmlns=\"urn:schemas-upnp-org:device-1-0\">"
                          "<specVersion><major>1</major><minor>0</minor></specVersion>"
                          "<device>"
                          "<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:%s"
                          "</deviceType>%s<UDN>%s</UDN>"
                          "<deviceList><device>"
                          "<deviceType>urn:schemas-upnp-org:device:WANDevice:%s</deviceType>"
                          "%s<UDN>%s</UDN>"
                          "<deviceList><device>"
                          "<deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:%s"
                          "</deviceType>%s<UDN>%s</UDN>"
                          "<serviceList><service>"
                          "<serviceType>%s</serviceType>"
                          "<serviceId>urn:upnp-org:serviceId:%s</serviceId>"
                          "<SCPDURL>/%s</SCPDURL>"
                          "<controlURL>%s</controlURL>"
                          "<eventSubURL>/evt/%s</eventSubURL>"
                          "</service>%s</serviceList>"
                          "</device></deviceList>"
                          "</device></deviceList>"
                          "</device></root>\n",
                          version, device_fields, self->udn,
                          version, device_fields, wan_udn,
                          version, device_fields, connection_udn,
                          self->service_type,
                          ppp ? "WANPPPConn1" : "WANIPConn1",
                          self->scpd_name,
                          ppp ? CONTROL_PATH_PPP : CONTROL_PATH_IP,
                          ppp ? "PPPConn" : "IPConn",
                          is_v2 (self) ? "<service>"
                                         "<serviceType>" FC_SERVICE_TYPE "</serviceType>"
                                         "<serviceId>urn:upnp-org:serviceId:WANIPv6Firewall"
                                         "Control1</serviceId>"
                                         "<SCPDURL>/" FC_SCPD_NAME "</SCPDURL>"
                                         "<controlURL>" CONTROL_PATH_FC "</controlURL>"
                                         "<eventSubURL>/evt/IP6FCtl</eventSubURL>"
                                         "</service>"
                                       : "");
}

static gboolean
write_files (PlFakeIgd  *self,
             GError    **error)
{
  g_autofree char *description = build_description (self);
  g_autofree char *scpd = build_scpd (self);
  g_autofree char *fc_scpd = build_fc_scpd ();
  g_autofree char *description_path = NULL;
  g_autofree char *scpd_path = NULL;
  g_autofree char *fc_scpd_path = NULL;

  self->dir = g_dir_make_tmp ("pl-fake-igd-XXXXXX", error);
  if (self->dir == NULL)
    return FALSE;

  description_path = g_build_filename (self->dir, "desc.xml", NULL);
  scpd_path = g_build_filename (self->dir, self->scpd_name, NULL);
  fc_scpd_path = g_build_filename (self->dir, FC_SCPD_NAME, NULL);

  return g_file_set_contents (description_path, description, -1, error) &&
         g_file_set_contents (scpd_path, scpd, -1, error) &&
         g_file_set_contents (fc_scpd_path, fc_scpd, -1, error);
}

static void
remove_files (PlFakeIgd *self)
{
  g_autofree char *description_path = NULL;
  g_autofree char *scpd_path = NULL;
  g_autofree char *fc_scpd_path = NULL;

  if (self->dir == NULL)
    return;

  description_path = g_build_filename (self->dir, "desc.xml", NULL);
  scpd_path = g_build_filename (self->dir, self->scpd_name, NULL);
  fc_scpd_path = g_build_filename (self->dir, FC_SCPD_NAME, NULL);
  g_unlink (description_path);
  g_unlink (scpd_path);
  g_unlink (fc_scpd_path);
  g_rmdir (self->dir);
  g_clear_pointer (&self->dir, g_free);
}

/* The table. */

static guint32
remaining_lease (PlFakeIgd            *self,
                 const PlFakeIgdEntry *entry)
{
  gint64 left;

  if (entry->expires == 0)
    return entry->lease_duration;

  left = entry->expires - pl_clock_get_time (self->clock);
  if (left <= 0)
    return 0;

  return (guint32) ((left + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);
}

static gint
find_entry (PlFakeIgd  *self,
            const char *protocol,
            guint16     external_port)
{
  for (guint i = 0; i < self->table->len; i++)
    {
      PlFakeIgdEntry *entry = g_ptr_array_index (self->table, i);

      if (entry->external_port == external_port && g_str_equal (entry->protocol, protocol))
        return (gint) i;
    }

  return -1;
}

static PlFakeIgdEntry *
entry_at (PlFakeIgd *self,
          gint       index)
{
  return g_ptr_array_index (self->table, (guint) index);
}

static void
notify_entries (PlFakeIgd *self)
{
  if (self->table->len == self->notified_entries)
    return;

  self->notified_entries = self->table->len;
  if (self->service != NULL)
    gupnp_service_notify (self->service, "PortMappingNumberOfEntries", G_TYPE_UINT,
                          self->table->len, NULL);
}

static void schedule_expiry (PlFakeIgd *self);

static void
remove_expired (PlFakeIgd *self)
{
  gint64 now = pl_clock_get_time (self->clock);

  for (guint i = self->table->len; i > 0; i--)
    {
      PlFakeIgdEntry *entry = g_ptr_array_index (self->table, i - 1);

      if (entry->expires != 0 && entry->expires <= now)
        {
          g_debug ("fake IGD %s: %s %u expired", self->address, entry->protocol,
                   entry->external_port);
          g_ptr_array_remove_index (self->table, i - 1);
        }
    }
}

/* After any change of the table: expire, event the count, re-arm the expiry timeout. */
static void
table_changed (PlFakeIgd *self)
{
  remove_expired (self);
  notify_entries (self);
  schedule_expiry (self);
}

static gboolean
expiry_cb (gpointer user_data)
{
  PlFakeIgd *self = user_data;

  g_clear_pointer (&self->expiry_source, g_source_unref);
  table_changed (self);

  return G_SOURCE_REMOVE;
}

static void
schedule_expiry (PlFakeIgd *self)
{
  gint64 earliest = 0;
  gint64 now;

  pl_clear_source (&self->expiry_source);

  for (guint i = 0; i < self->table->len; i++)
    {
      PlFakeIgdEntry *entry = g_ptr_array_index (self->table, i);

      if (entry->expires != 0 && (earliest == 0 || entry->expires < earliest))
        earliest = entry->expires;
    }
  if (earliest == 0)
    return;

  now = pl_clock_get_time (self->clock);
  self->expiry_source = pl_clock_timeout_source_new (self->clock,
                                                     earliest > now ?
                                                     (guint64) (earliest - now + 999) / 1000 :
                                                     0);
  g_source_set_callback (self->expiry_source, expiry_cb, self, NULL);
  g_source_set_static_name (self->expiry_source, "[portlight] fake IGD lease expiry");
  g_source_attach (self->expiry_source, self->context);
}

/* At most DESCRIPTION_MAX bytes, cut at a character boundary when it is UTF-8. */
static char *
cut_description (const char *description)
{
  gsize len = strlen (description);

  if (len <= DESCRIPTION_MAX)
    return g_strdup (description);

  len = DESCRIPTION_MAX;
  if (g_utf8_validate (description, -1, NULL))
    {
      while (len > 0 && (description[len] & 0xc0) == 0x80)
        len--;
    }

  return g_strndup (description, len);
}

static PlFakeIgdEntry *
entry_new (const char *internal_client,
           const char *protocol,
           guint16     external_port,
           guint16     internal_port,
           gboolean    enabled,
           const char *description,
           guint32     lease,
           gint64      expires)
{
  PlFakeIgdEntry *entry = g_new0 (PlFakeIgdEntry, 1);

  entry->remote_host = g_strdup ("");
  entry->external_port = external_port;
  entry->protocol = g_strdup (protocol);
  entry->internal_port = internal_port;
  entry->internal_client = g_strdup (internal_client);
  entry->enabled = enabled;
  entry->description = g_strdup (description);
  entry->lease_duration = lease;
  entry->expires = expires;

  return entry;
}

/* Requests. */

/* The arguments of the action element in a SOAP body: name → text, or NULL when the body
 * has no action element. */
static GHashTable *
parse_arguments (const char *body,
                 gsize       len)
{
  GHashTable *arguments = NULL;
  xmlDoc *doc;
  xmlNode *node;

  if (len == 0 || len > G_MAXINT)
    return NULL;

  doc = xmlReadMemory (body, (int) len, NULL, NULL,
                       XML_PARSE_RECOVER | XML_PARSE_NONET | XML_PARSE_NOERROR |
                       XML_PARSE_NOWARNING);
  if (doc == NULL)
    return NULL;

  /* Envelope → Body → the action → its arguments. */
  node = xmlDocGetRootElement (doc);
  if (node != NULL)
    node = xmlFirstElementChild (node);
  while (node != NULL && xmlStrcmp (node->name, (const xmlChar *) "Body") != 0)
    node = xmlNextElementSibling (node);
  if (node != NULL)
    node = xmlFirstElementChild (node);

  if (node != NULL)
    {
      arguments = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      for (xmlNode *child = xmlFirstElementChild (node);
           child != NULL;
           child = xmlNextElementSibling (child))
        {
          xmlChar *content = xmlNodeGetContent (child);

          g_hash_table_replace (arguments, g_strdup ((const char *) child->name),
                                g_strdup (content != NULL ? (const char *) content : ""));
          xmlFree (content);
        }
    }

  xmlFreeDoc (doc);
  return arguments;
}

static gboolean
has_all_arguments (const ActionSpec *spec,
                   GHashTable       *arguments)
{
  g_auto(GStrv) list = g_strsplit (spec->in, " ", -1);

  for (guint i = 0; list[i] != NULL; i++)
    {
      g_auto(GStrv) parts = g_strsplit (list[i], ":", 2);

      if (parts[0] != NULL && *parts[0] != '\0' &&
          !g_hash_table_contains (arguments, parts[0]))
        return FALSE;
    }

  return TRUE;
}

/* As miniupnpd reads ports (atoi, then 16 bits: 70000 becomes 4464). */
static guint16
parse_port (const char *text)
{
  return (guint16) (g_ascii_strtoll (text, NULL, 10) & 0xffff);
}

static gboolean
parse_boolean (const char *text)
{
  return g_str_equal (text, "1") || g_ascii_strcasecmp (text, "true") == 0 ||
         g_ascii_strcasecmp (text, "yes") == 0;
}

static const char *
normalise_protocol (const char *text)
{
  /* miniupnpd maps anything that is not UDP (SCTP included) as TCP. */
  return g_ascii_strcasecmp (text, "UDP") == 0 ? "UDP" : "TCP";
}

static void
set_entry_results (PlFakeIgd            *self,
                   GUPnPServiceAction   *action,
                   const PlFakeIgdEntry *entry,
                   gboolean              generic)
{
  if (generic)
    gupnp_service_action_set (action,
                              "NewRemoteHost", G_TYPE_STRING, entry->remote_host,
                              "NewExternalPort", G_TYPE_UINT, (guint) entry->external_port,
                              "NewProtocol", G_TYPE_STRING, entry->protocol,
                              NULL);
  gupnp_service_action_set (action,
                            "NewInternalPort", G_TYPE_UINT, (guint) entry->internal_port,
                            "NewInternalClient", G_TYPE_STRING, entry->internal_client,
                            "NewEnabled", G_TYPE_BOOLEAN, entry->enabled,
                            "NewPortMappingDescription", G_TYPE_STRING, entry->description,
                            "NewLeaseDuration", G_TYPE_UINT, remaining_lease (self, entry),
                            NULL);
}

/* AddPortMapping and AddAnyPortMapping. Returns 0 or a UPnP error code. */
static guint
add_mapping (PlFakeIgd           *self,
             GUPnPServiceAction  *action,
             GHashTable          *arguments,
             const char          *caller,
             gboolean             any,
             const char         **description)
{
  const char *client = g_hash_table_lookup (arguments, "NewInternalClient");
  const char *protocol;
  guint16 external_port, internal_port, port = 0;
  gint64 lease;
  guint32 granted;
  gint index = -1;
  PlFakeIgdEntry *entry;
  g_autofree char *text = NULL;

  if (client == NULL || *client == '\0')
    {
      *description = "Action Failed";
      return 501;
    }
  if (!g_hash_table_contains (arguments, "NewRemoteHost") ||
      !g_hash_table_contains (arguments, "NewExternalPort") ||
      !g_hash_table_contains (arguments, "NewProtocol") ||
      !g_hash_table_contains (arguments, "NewInternalPort") ||
      !g_hash_table_contains (arguments, "NewEnabled") ||
      !g_hash_table_contains (arguments, "NewPortMappingDescription") ||
      !g_hash_table_contains (arguments, "NewLeaseDuration"))
    {
      *description = "Invalid Args";
      return 402;
    }
  /* secure_mode: only for yourself. */
  if (g_strcmp0 (client, caller) != 0)
    {
      *description = "ConflictInMappingEntry";
      return 718;
    }

  external_port = parse_port (g_hash_table_lookup (arguments, "NewExternalPort"));
  internal_port = parse_port (g_hash_table_lookup (arguments, "NewInternalPort"));
  protocol = normalise_protocol (g_hash_table_lookup (arguments, "NewProtocol"));
  lease = g_ascii_strtoll (g_hash_table_lookup (arguments, "NewLeaseDuration"), NULL, 10);

  if (external_port == 0 && !any)
    {
      *description = "Wildcard not permited in ExtPort";
      return 716;
    }
  /* "allow 1024-65535 … 1024-65535"; AddAnyPortMapping searches from 1024 instead. */
  if (internal_port < 1024 || (external_port < 1024 && !any))
    {
      *description = "Action not authorized";
      return 606;
    }
  if (self->permanent_only && lease != 0)
    {
      *description = "OnlyPermanentLeasesSupported";
      return 725;
    }
  if (self->same_ports && !any && external_port != internal_port)
    {
      *description = "SamePortValuesRequired";
      return 724;
    }

  if (self->permanent_only)
    granted = 0;
  else if (lease <= 0 || lease > SERVICE_LEASE_MAX)
    granted = SERVICE_LEASE_MAX;
  else
    granted = (guint32) lease;

  remove_expired (self);

  if (any)
    {
      guint start = MAX (external_port, 1024);

      for (guint i = 0; i < 65536 - 1024; i++)
        {
          guint candidate = start + i;

          if (candidate > 65535)
            candidate -= 65536 - 1024;
          index = find_entry (self, protocol, (guint16) candidate);
          if (index < 0 || g_str_equal (entry_at (self, index)->internal_client, client))
            {
              port = (guint16) candidate;
              break;
            }
        }
      if (port == 0)
        {
          *description = "NoPortMapsAvailable";
          return 728;
        }
    }
  else
    {
      port = external_port;
      index = find_entry (self, protocol, port);
      if (index >= 0 && !g_str_equal (entry_at (self, index)->internal_client, client))
        {
          *description = "ConflictInMappingEntry";
          return 718;
        }
    }

  entry = index >= 0 ? entry_at (self, index) : NULL;
  if (entry != NULL && entry->internal_port == internal_port)
    {
      /* A renewal: new lease, same description (miniupnpd 2.3.1). */
      entry->lease_duration = granted;
      entry->expires = granted == 0 ? 0 :
                       pl_clock_get_time (self->clock) + (gint64) granted * G_USEC_PER_SEC;
    }
  else
    {
      if (entry != NULL)
        g_ptr_array_remove_index (self->table, index);
      text = cut_description (g_hash_table_lookup (arguments, "NewPortMappingDescription"));
      entry = entry_new (client, protocol, port, internal_port,
                         parse_boolean (g_hash_table_lookup (arguments, "NewEnabled")), text,
                         granted,
                         granted == 0 ? 0 :
                         pl_clock_get_time (self->clock) + (gint64) granted * G_USEC_PER_SEC);
      g_ptr_array_insert (self->table, 0, entry);
    }
  table_changed (self);

  if (any)
    gupnp_service_action_set (action, "NewReservedPort", G_TYPE_UINT, (guint) port, NULL);

  return 0;
}

/* The real answer to @name: sets the out arguments; returns 0 or a UPnP error code. */
static guint
handle_action (PlFakeIgd           *self,
               GUPnPServiceAction  *action,
               const char          *name,
               GHashTable          *arguments,
               const char          *caller,
               const char         **description)
{
  const ActionSpec *spec = find_action (self, name);
  gint index;

  if (spec == NULL)
    {
      *description = "Invalid Action";
      return 401;
    }
  if (g_str_equal (name, "AddPortMapping") || g_str_equal (name, "AddAnyPortMapping"))
    return add_mapping (self, action, arguments, caller,
                        g_str_equal (name, "AddAnyPortMapping"), description);
  if (!has_all_arguments (spec, arguments))
    {
      *description = "Invalid Args";
      return 402;
    }

  remove_expired (self);

  if (g_str_equal (name, "GetExternalIPAddress"))
    {
      gupnp_service_action_set (action,
                                "NewExternalIPAddress", G_TYPE_STRING, self->external_address,
                                NULL);
    }
  else if (g_str_equal (name, "GetStatusInfo"))
    {
      gint64 uptime = (pl_clock_get_time (self->clock) - self->started) / G_USEC_PER_SEC;

      gupnp_service_action_set (action,
                                "NewConnectionStatus", G_TYPE_STRING, "Connected",
                                "NewLastConnectionError", G_TYPE_STRING, "ERROR_NONE",
                                "NewUptime", G_TYPE_UINT, (guint) MAX (uptime, 0),
                                NULL);
    }
  else if (g_str_equal (name, "GetConnectionTypeInfo"))
    {
      gupnp_service_action_set (action,
                                "NewConnectionType", G_TYPE_STRING, "IP_Routed",
                                "NewPossibleConnectionTypes", G_TYPE_STRING, "IP_Routed",
                                NULL);
    }
  else if (g_str_equal (name, "DeletePortMapping"))
    {
      PlFakeIgdEntry *entry;

      index = find_entry (self,
                          normalise_protocol (g_hash_table_lookup (arguments, "NewProtocol")),
                          parse_port (g_hash_table_lookup (arguments, "NewExternalPort")));
      if (index < 0)
        {
          if (!self->delete_unknown_fails)
            return 0;
          *description = "NoSuchEntryInArray";
          return 714;
        }
      entry = g_ptr_array_index (self->table, index);
      if (g_strcmp0 (entry->internal_client, caller) != 0)
        {
          *description = "Action not authorized";
          return 606;
        }
      g_ptr_array_remove_index (self->table, index);
      table_changed (self);
    }
  else if (g_str_equal (name, "GetSpecificPortMappingEntry"))
    {
      index = find_entry (self,
                          normalise_protocol (g_hash_table_lookup (arguments, "NewProtocol")),
                          parse_port (g_hash_table_lookup (arguments, "NewExternalPort")));
      if (index < 0)
        {
          *description = "NoSuchEntryInArray";
          return 714;
        }
      set_entry_results (self, action, g_ptr_array_index (self->table, index), FALSE);
    }
  else if (g_str_equal (name, "GetGenericPortMappingEntry"))
    {
      const char *text = g_hash_table_lookup (arguments, "NewPortMappingIndex");
      guint64 position = 0;

      if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT, &position, NULL) ||
          position >= self->table->len)
        {
          *description = "SpecifiedArrayIndexInvalid";
          return 713;
        }
      set_entry_results (self, action, g_ptr_array_index (self->table, (guint) position),
                         TRUE);
    }
  else
    {
      g_assert_not_reached ();
    }

  return 0;
}

/* Pinholes. */

static PlFakeIgdPinhole *
pinhole_by_id (PlFakeIgd *self,
               guint      id)
{
  gint64 now = pl_clock_get_time (self->clock);

  for (guint i = 0; i < self->pinholes->len; i++)
    {
      PlFakeIgdPinhole *pinhole = g_ptr_array_index (self->pinholes, i);

      if (pinhole->expires <= now)
        {
          g_ptr_array_remove_index (self->pinholes, i--);
          continue;
        }
      if (pinhole->unique_id == id)
        return pinhole;
    }
  return NULL;
}

/* Only the IDs within 0–65535 (miniupnpd) parse. */
static gboolean
parse_unique_id (const char *text,
                 guint      *id)
{
  guint64 value = 0;

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, 65535, &value, NULL))
    return FALSE;
  *id = (guint) value;
  return TRUE;
}

static gboolean
parse_lease (const char *text,
             guint32    *lease)
{
  guint64 value = 0;

  if (text == NULL ||
      !g_ascii_string_to_unsigned (text, 10, 1, PINHOLE_LEASE_MAX, &value, NULL))
    return FALSE;
  *lease = (guint32) value;
  return TRUE;
}

/* The caller as the IPv6 address checks go by (miniupnpd compares it with InternalClient). */
static gboolean
pinhole_caller_ok (PlFakeIgd  *self,
                   const char *client)
{
  return self->pinhole_caller == NULL || g_strcmp0 (client, self->pinhole_caller) == 0;
}

static guint
handle_fc_action (PlFakeIgd           *self,
                  GUPnPServiceAction  *action,
                  const char          *name,
                  GHashTable          *arguments,
                  const char         **description)
{
  const ActionSpec *spec = find_fc_action (name);
  PlFakeIgdPinhole *pinhole;
  guint id = 0;
  guint32 lease = 0;

  if (spec == NULL)
    {
      *description = "Invalid Action";
      return 401;
    }
  if (g_str_equal (name, "GetFirewallStatus"))
    {
      gupnp_service_action_set (action,
                                "FirewallEnabled", G_TYPE_BOOLEAN, self->firewall_enabled,
                                "InboundPinholeAllowed", G_TYPE_BOOLEAN, self->inbound_allowed,
                                NULL);
      return 0;
    }
  /* miniupnpd's CheckStatus() before anything else. */
  if (!self->firewall_enabled)
    {
      *description = "FirewallDisabled";
      return 702;
    }
  if (!self->inbound_allowed)
    {
      *description = "InboundPinholeNotAllowed";
      return 703;
    }
  if (!has_all_arguments (spec, arguments))
    {
      *description = "Invalid Args";
      return 402;
    }

  if (g_str_equal (name, "AddPinhole"))
    {
      const char *client = g_hash_table_lookup (arguments, "InternalClient");
      const char *protocol_text = g_hash_table_lookup (arguments, "Protocol");
      guint16 port = parse_port (g_hash_table_lookup (arguments, "InternalPort"));
      guint64 protocol = 0;
      g_autoptr(GInetAddress) address = NULL;

      if (!g_ascii_string_to_unsigned (protocol_text, 10, 0, 65535, &protocol, NULL))
        {
          *description = "Invalid Args";
          return 402;
        }
      if (port == 0)
        {
          *description = "InternalPortWilcardingNotAllowed";
          return 706;
        }
      if (*client == '\0' || g_str_equal (client, "*"))
        {
          *description = "WildCardNotPermittedInSrcIP";
          return 708;
        }
      if (protocol == 65535)
        {
          *description = "ProtocolWilcardingNotAllowed";
          return 707;
        }
      if (protocol != 6 && protocol != 17)
        {
          *description = "ProtocolNotSupported";
          return 705;
        }
      if (!parse_lease (g_hash_table_lookup (arguments, "LeaseTime"), &lease))
        {
          *description = "Invalid Args";
          return 402;
        }
      address = g_inet_address_new_from_string (client);
      if (address == NULL || g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV6)
        {
          *description = "Invalid Args";
          return 402;
        }
      if (!pinhole_caller_ok (self, client) || port < 1024)
        {
          *description = "Action not authorized";
          return 606;
        }
      /* The same pinhole again: its lease is extended, its ID returned (section 2.5.4). */
      pinhole_by_id (self, 0);   /* drops the expired ones */
      pinhole = NULL;
      for (guint i = 0; i < self->pinholes->len; i++)
        {
          PlFakeIgdPinhole *p = g_ptr_array_index (self->pinholes, i);

          if (g_str_equal (p->internal_client, client) && p->internal_port == port &&
              p->protocol == protocol)
            pinhole = p;
        }
      if (pinhole == NULL)
        {
          pinhole = g_new0 (PlFakeIgdPinhole, 1);
          pinhole->unique_id = self->next_pinhole_id++;
          pinhole->internal_client = g_strdup (client);
          pinhole->internal_port = port;
          pinhole->protocol = (guint) protocol;
          g_ptr_array_add (self->pinholes, pinhole);
        }
      pinhole->lease = lease;
      pinhole->expires = pl_clock_get_time (self->clock) + (gint64) lease * G_USEC_PER_SEC;
      gupnp_service_action_set (action, "UniqueID", G_TYPE_UINT, pinhole->unique_id, NULL);
      return 0;
    }

  /* miniupnpd 2.3.1 (nftables): an unknown or unparsable ID is 402, not 704. */
  if (!parse_unique_id (g_hash_table_lookup (arguments, "UniqueID"), &id) ||
      (pinhole = pinhole_by_id (self, id)) == NULL)
    {
      *description = "Invalid Args";
      return 402;
    }
  if (!pinhole_caller_ok (self, pinhole->internal_client))
    {
      *description = "Action not authorized";
      return 606;
    }
  if (g_str_equal (name, "UpdatePinhole"))
    {
      if (!parse_lease (g_hash_table_lookup (arguments, "NewLeaseTime"), &lease))
        {
          *description = "Invalid Args";
          return 402;
        }
      pinhole->lease = lease;
      pinhole->expires = pl_clock_get_time (self->clock) + (gint64) lease * G_USEC_PER_SEC;
    }
  else if (g_str_equal (name, "DeletePinhole"))
    {
      g_ptr_array_remove (self->pinholes, pinhole);
    }
  else if (g_str_equal (name, "GetPinholePackets"))
    {
      gupnp_service_action_set (action, "PinholePackets", G_TYPE_UINT, 0, NULL);
    }
  return 0;
}

/* Answers. */

static void
answer_badly (GUPnPServiceAction *action,
              PlFakeIgdReply      reply,
              const char         *service_type)
{
  SoupServerMessage *msg = gupnp_service_action_get_message (action);
  g_autofree char *body = NULL;
  const char *content_type = "text/xml; charset=\"utf-8\"";
  guint status = SOUP_STATUS_OK;

  switch (reply)
    {
    case PL_FAKE_IGD_REPLY_HTTP_500_TEXT:
      status = SOUP_STATUS_INTERNAL_SERVER_ERROR;
      content_type = "text/plain";
      body = g_strdup ("500 Internal Server Error: the router is having a bad day\n");
      break;
    case PL_FAKE_IGD_REPLY_GARBAGE:
      body = g_strdup ("\x01\x02 this is not XML }{ \xff\xfe\n");
      break;
    case PL_FAKE_IGD_REPLY_TRUNCATED:
      body = g_strdup_printf ("<?xml version=\"1.0\"?>\n"
                              "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
                              "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">"
                              "<s:Body><u:%sResponse xmlns:u=\"%s\"><New",
                              gupnp_service_action_get_name (action), service_type);
      break;
    default:
      g_assert_not_reached ();
    }

  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, content_type, SOUP_MEMORY_COPY, body, strlen (body));
  soup_server_message_unpause (msg);
  g_object_unref (msg);

  /* The reference GUPnP's handler gave the action: dropped without GUPnP's envelope. */
  g_boxed_free (GUPNP_TYPE_SERVICE_ACTION, action);
}

static void
answer (PlFakeIgd          *self,
        GUPnPServiceAction *action,
        AnswerKind          kind,
        guint               code,
        const char         *description,
        PlFakeIgdReply      reply)
{
  switch (kind)
    {
    case ANSWER_SUCCESS:
      gupnp_service_action_return_success (action);
      break;
    case ANSWER_FAULT:
      gupnp_service_action_return_error (action, code, description);
      break;
    case ANSWER_BAD:
      answer_badly (action, reply,
                    find_fc_action (gupnp_service_action_get_name (action)) != NULL
                    ? FC_SERVICE_TYPE : self->service_type);
      break;
    default:
      g_assert_not_reached ();
    }
}

static gboolean
pending_cb (gpointer user_data)
{
  Pending *pending = user_data;
  PlFakeIgd *self = pending->self;

  self->pending = g_list_remove (self->pending, pending);
  g_clear_pointer (&pending->source, g_source_unref);
  answer (self, pending->action, pending->kind, pending->code, pending->description,
          pending->reply);
  pending_free (pending);

  return G_SOURCE_REMOVE;
}

static void
drop_pending (PlFakeIgd *self)
{
  while (self->pending != NULL)
    {
      Pending *pending = self->pending->data;

      self->pending = g_list_delete_link (self->pending, self->pending);
      pl_clear_source (&pending->source);
      /* Never answered: the connection goes when the server does. */
      g_boxed_free (GUPNP_TYPE_SERVICE_ACTION, pending->action);
      pending_free (pending);
    }
}

static Script *
take_script (PlFakeIgd  *self,
             const char *name)
{
  for (guint i = 0; i < self->scripts->len; i++)
    {
      Script *script = g_ptr_array_index (self->scripts, i);

      if (script->remaining == 0 ||
          (script->action != NULL && !g_str_equal (script->action, name)))
        continue;
      if (script->remaining != G_MAXUINT)
        script->remaining--;
      return script;
    }

  return NULL;
}

static char *
caller_service_type (SoupServerMessage *msg)
{
  const char *header = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                     "SOAPAction");
  const char *hash;

  /* GUPnP has cut the header at the '#' by now; a quote may lead. */
  if (header == NULL)
    return g_strdup ("");
  if (*header == '"')
    header++;
  hash = strchr (header, '#');

  return hash != NULL ? g_strndup (header, hash - header) : g_strdup (header);
}

static void
action_invoked_cb (GUPnPService       *service,
                   GUPnPServiceAction *action,
                   gpointer            user_data)
{
  PlFakeIgd *self = user_data;
  SoupServerMessage *msg = gupnp_service_action_get_message (action);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  const char *name = gupnp_service_action_get_name (action);
  const char *caller = soup_server_message_get_remote_host (msg);
  g_autoptr(GHashTable) arguments = parse_arguments (body->data, (gsize) body->length);
  const char *description = NULL;
  PlFakeIgdRequest *request;
  AnswerKind kind = ANSWER_SUCCESS;
  PlFakeIgdReply reply = PL_FAKE_IGD_REPLY_GARBAGE;
  guint code = 0;
  Script *script;

  if (arguments == NULL)
    arguments = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  request = g_new0 (PlFakeIgdRequest, 1);
  request->time = pl_clock_get_time (self->clock);
  request->action = g_strdup (name);
  request->service_type = caller_service_type (msg);
  request->caller = g_strdup (caller);
  request->arguments = g_hash_table_ref (arguments);
  g_ptr_array_add (self->requests, request);
  g_debug ("fake IGD %s: %s from %s", self->address, name, caller);

  script = take_script (self, name);
  if (script != NULL && script->bad_reply)
    {
      kind = ANSWER_BAD;
      reply = script->reply;
    }
  else if (script != NULL)
    {
      kind = ANSWER_FAULT;
      code = script->code;
      description = script->description;
    }
  else
    {
      code = service == self->fc_service
             ? handle_fc_action (self, action, name, arguments, &description)
             : handle_action (self, action, name, arguments, caller, &description);
      if (code != 0)
        kind = ANSWER_FAULT;
    }
  g_object_unref (msg);

  if (self->reply_delay_ms == 0)
    {
      answer (self, action, kind, code, description, reply);
    }
  else
    {
      Pending *pending = g_new0 (Pending, 1);

      pending->self = self;
      pending->action = action;
      pending->kind = kind;
      pending->code = code;
      pending->description = g_strdup (description);
      pending->reply = reply;
      pending->source = pl_clock_timeout_source_new (self->clock, self->reply_delay_ms);
      g_source_set_callback (pending->source, pending_cb, pending, NULL);
      g_source_set_static_name (pending->source, "[portlight] fake IGD reply delay");
      self->pending = g_list_prepend (self->pending, pending);
      g_source_attach (pending->source, self->context);
    }
}

static void
query_variable_cb (GUPnPService *service,
                   const char   *variable,
                   GValue       *value,
                   gpointer      user_data)
{
  PlFakeIgd *self = user_data;

  if (g_str_equal (variable, "ExternalIPAddress"))
    {
      g_value_init (value, G_TYPE_STRING);
      g_value_set_string (value, self->external_address);
    }
  else if (g_str_equal (variable, "PortMappingNumberOfEntries"))
    {
      remove_expired (self);
      g_value_init (value, G_TYPE_UINT);
      g_value_set_uint (value, self->table->len);
    }
  else if (g_str_equal (variable, "ConnectionStatus"))
    {
      g_value_init (value, G_TYPE_STRING);
      g_value_set_string (value, "Connected");
    }
  else if (g_str_equal (variable, "PossibleConnectionTypes"))
    {
      g_value_init (value, G_TYPE_STRING);
      g_value_set_string (value, "IP_Routed");
    }
}

/* Serving. */

/* The quiet start (see the top of the file): one step per idle of low priority, which runs
 * only once GSSDP's 0 ms message queue has nothing left to send. */
static gboolean
announce_cb (gpointer user_data)
{
  PlFakeIgd *self = user_data;

  switch (self->announce_step++)
    {
    case 0:
      /* Every initial byebye and alive of the group has been dropped; now the byebyes of
       * going unavailable. */
      gupnp_root_device_set_available (self->root_device, FALSE);
      return G_SOURCE_CONTINUE;
    case 1:
      g_object_set (self->gupnp_context, "active", TRUE, NULL);
      gupnp_root_device_set_available (self->root_device, TRUE);
      g_debug ("fake IGD %s: announced at %s", self->address, self->location);
      break;
    default:
      g_assert_not_reached ();
    }

  g_clear_pointer (&self->announce_source, g_source_unref);
  return G_SOURCE_REMOVE;
}

/* A TCP port that is free on @inet now (0 when none could be had). */
static guint16
free_port (GInetAddress *inet)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) any = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  guint16 port = 0;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         NULL);
  if (socket == NULL)
    return 0;
  any = g_inet_socket_address_new (inet, 0);
  if (g_socket_bind (socket, any, FALSE, NULL))
    bound = g_socket_get_local_address (socket, NULL);
  if (bound != NULL)
    port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (socket, NULL);

  return port;
}

static GUPnPContext *
lo_context_new (const char  *address,
                guint16      port,
                GError     **error)
{
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);
  g_autoptr(GInetAddressMask) mask = NULL;
  g_autoptr(GUPnPContext) context = NULL;

  if (inet == NULL || g_inet_address_get_family (inet) != G_SOCKET_FAMILY_IPV4)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” is not an IPv4 address", address);
      return NULL;
    }
  /* lo has 127.0.0.1/8 only: without a mask GSSDP finds no network for 127.0.0.N. */
  mask = g_inet_address_mask_new_from_string ("127.0.0.0/8", error);
  if (mask == NULL)
    return NULL;

  /* "port" is both the HTTP port and the UDP source port of M-SEARCH. Port 0 would do, but
   * then GSSDP 1.6.2 leaks the address it reads the UDP port back from (fixed after 1.6.2). */
  if (port == 0)
    port = free_port (inet);

  context = g_initable_new (GUPNP_TYPE_CONTEXT, NULL, error,
                            "interface", "lo",
                            "address", inet,
                            "host-mask", mask,
                            "port", (guint) port,
                            NULL);
  if (context == NULL)
    return NULL;

  /* Never through an HTTP proxy. */
  soup_session_set_proxy_resolver (gupnp_context_get_session (context), NULL);

  /* GUPnP starts its HTTP server on first use, and only warns when it cannot listen. */
  if (gupnp_context_get_server (context) == NULL || gupnp_context_get_port (context) == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
                   "no HTTP server on %s:%u", address, (guint) port);
      return NULL;
    }

  return g_steal_pointer (&context);
}

static GUPnPContext *
context_new (PlFakeIgd  *self,
             guint16     port,
             GError    **error)
{
  GUPnPContext *context = lo_context_new (self->address, port, error);

  /* Quiet until announce_cb() says otherwise. */
  if (context != NULL)
    g_object_set (context, "active", FALSE, NULL);

  return context;
}

static void
connect_action (PlFakeIgd  *self,
                const char *name)
{
  g_autofree char *signal = g_strdup_printf ("action-invoked::%s", name);

  g_signal_connect (self->service, signal, G_CALLBACK (action_invoked_cb), self);
}

static GUPnPDeviceInfo *
find_device (GUPnPDeviceInfo *parent,
             const char      *kind,
             gboolean         v1)
{
  g_autofree char *type = g_strdup_printf ("urn:schemas-upnp-org:device:%s:%s", kind,
                                           v1 ? "1" : "2");

  return gupnp_device_info_get_device (parent, type);
}

static gboolean
start_serving (PlFakeIgd  *self,
               guint16     port,
               guint16     avoid_port,
               GError    **error)
{
  g_autoptr(GUPnPContext) context = NULL;
  g_autoptr(GUPnPContext) unlucky = NULL;
  g_autoptr(GUPnPDeviceInfo) wan = NULL;
  g_autoptr(GUPnPDeviceInfo) connection = NULL;
  GSSDPResourceGroup *group;
  gboolean v1 = (self->flags & PL_FAKE_IGD_V1) != 0;

  g_assert (self->gupnp_context == NULL);

  context = context_new (self, port, error);
  if (context == NULL)
    return FALSE;
  /* A new port was asked for: keep the one that came out the same until there is another. */
  if (avoid_port != 0 && gupnp_context_get_port (context) == avoid_port)
    {
      unlucky = g_steal_pointer (&context);
      context = context_new (self, 0, error);
      if (context == NULL)
        return FALSE;
    }

  self->root_device = gupnp_root_device_new (context, "desc.xml", self->dir, error);
  if (self->root_device == NULL)
    return FALSE;

  wan = find_device (GUPNP_DEVICE_INFO (self->root_device), "WANDevice", v1);
  if (wan != NULL)
    connection = find_device (wan, "WANConnectionDevice", v1);
  if (connection != NULL)
    self->service = GUPNP_SERVICE (gupnp_device_info_get_service (connection,
                                                                  self->service_type));
  if (self->service == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "fake IGD %s: no %s in its own description", self->address,
                   self->service_type);
      g_clear_object (&self->root_device);
      return FALSE;
    }
  /* GUPnP answers 401 itself unless a handler is connected with the action as the detail:
   * g_signal_has_handler_pending() with a detail does not count handlers without one. */
  for (gsize i = 0; i < G_N_ELEMENTS (actions); i++)
    connect_action (self, actions[i].name);
  for (gsize i = 0; i < G_N_ELEMENTS (unserved_actions); i++)
    connect_action (self, unserved_actions[i]);
  g_signal_connect (self->service, "query-variable", G_CALLBACK (query_variable_cb), self);
  if (connection != NULL && is_v2 (self))
    self->fc_service = GUPNP_SERVICE (gupnp_device_info_get_service (connection,
                                                                     FC_SERVICE_TYPE));
  if (self->fc_service != NULL)
    for (gsize i = 0; i < G_N_ELEMENTS (fc_actions); i++)
      {
        g_autofree char *signal = g_strdup_printf ("action-invoked::%s", fc_actions[i].name);

        g_signal_connect (self->fc_service, signal, G_CALLBACK (action_invoked_cb), self);
      }

  /* Announcements in one burst, not GSSDP's 120 ms apart. */
  group = gupnp_root_device_get_ssdp_resource_group (self->root_device);
  gssdp_resource_group_set_message_delay (group, 0);

  self->gupnp_context = g_steal_pointer (&context);
  self->port = gupnp_context_get_port (self->gupnp_context);
  self->location =
    g_strdup (gupnp_device_info_get_location (GUPNP_DEVICE_INFO (self->root_device)));
  self->control_url = g_strdup_printf ("http://%s:%u%s", self->address, (guint) self->port,
                                       (self->flags & PL_FAKE_IGD_PPP) ? CONTROL_PATH_PPP :
                                                                         CONTROL_PATH_IP);
  self->started = pl_clock_get_time (self->clock);
  self->notified_entries = self->table->len;

  /* Sent into the void (inactive); announce_cb() does the rest. */
  gupnp_root_device_set_available (self->root_device, TRUE);
  self->announce_step = 0;
  self->announce_source = g_idle_source_new ();
  g_source_set_priority (self->announce_source, G_PRIORITY_LOW);
  g_source_set_callback (self->announce_source, announce_cb, self, NULL);
  g_source_set_static_name (self->announce_source, "[portlight] fake IGD announcement");
  g_source_attach (self->announce_source, self->context);

  g_debug ("fake IGD %s: serving %s", self->address, self->location);
  return TRUE;
}

static void
stop_serving (PlFakeIgd *self,
              gboolean   send_byebye)
{
  pl_clear_source (&self->announce_source);
  drop_pending (self);

  if (self->gupnp_context == NULL)
    return;

  /* An inactive client sends nothing, and the group's dispose sends its byebyes at once. */
  if (!send_byebye)
    g_object_set (self->gupnp_context, "active", FALSE, NULL);

  if (self->service != NULL)
    g_signal_handlers_disconnect_by_data (self->service, self);
  g_clear_object (&self->service);
  if (self->fc_service != NULL)
    g_signal_handlers_disconnect_by_data (self->fc_service, self);
  g_clear_object (&self->fc_service);
  g_clear_object (&self->root_device);

  /* Close the port now, whoever still holds the context. */
  soup_server_disconnect (gupnp_context_get_server (self->gupnp_context));
  g_clear_object (&self->gupnp_context);

  self->last_port = self->port;
  self->port = 0;
  g_clear_pointer (&self->location, g_free);
  g_clear_pointer (&self->control_url, g_free);
}

static void
pl_fake_igd_dispose (GObject *object)
{
  PlFakeIgd *self = PL_FAKE_IGD (object);

  stop_serving (self, FALSE);
  pl_clear_source (&self->expiry_source);
  g_clear_object (&self->clock);

  G_OBJECT_CLASS (pl_fake_igd_parent_class)->dispose (object);
}

static void
pl_fake_igd_finalize (GObject *object)
{
  PlFakeIgd *self = PL_FAKE_IGD (object);

  remove_files (self);
  g_clear_pointer (&self->address, g_free);
  g_clear_pointer (&self->udn, g_free);
  g_clear_pointer (&self->service_type, g_free);
  g_clear_pointer (&self->scpd_name, g_free);
  g_clear_pointer (&self->external_address, g_free);
  g_clear_pointer (&self->table, g_ptr_array_unref);
  g_clear_pointer (&self->requests, g_ptr_array_unref);
  g_clear_pointer (&self->scripts, g_ptr_array_unref);
  g_clear_pointer (&self->pinholes, g_ptr_array_unref);
  g_clear_pointer (&self->pinhole_caller, g_free);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (pl_fake_igd_parent_class)->finalize (object);
}

static void
pl_fake_igd_class_init (PlFakeIgdClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_fake_igd_dispose;
  object_class->finalize = pl_fake_igd_finalize;
}

static void
pl_fake_igd_init (PlFakeIgd *self)
{
  self->external_address = g_strdup ("203.0.113.7");
  self->table = g_ptr_array_new_with_free_func (entry_free);
  self->requests = g_ptr_array_new_with_free_func (request_free);
  self->scripts = g_ptr_array_new_with_free_func (script_free);
  self->pinholes = g_ptr_array_new_with_free_func (pinhole_free);
  self->next_pinhole_id = 1;
  self->firewall_enabled = TRUE;
  self->inbound_allowed = TRUE;
  self->context = g_main_context_ref_thread_default ();
}

/* Test set-up. */

static GLogFunc default_log_handler;

static void
control_point_log_cb (const char     *log_domain,
                      GLogLevelFlags  log_level,
                      const char     *message,
                      gpointer        user_data)
{
  if (log_level & G_LOG_LEVEL_WARNING)
    {
      g_test_message ("not fatal: %s-WARNING: %s", log_domain, message);
      return;
    }
  default_log_handler (log_domain, log_level, message, NULL);
}

static gboolean
control_point_fatal_cb (const char     *log_domain,
                        GLogLevelFlags  log_level,
                        const char     *message,
                        gpointer        user_data)
{
  return !(g_strcmp0 (log_domain, "gupnp-control-point") == 0 &&
           (log_level & G_LOG_LEVEL_WARNING) != 0);
}

/**
 * pl_fake_igd_test_init:
 *
 * For test programs with control points on lo: call it at the start of every test (GTest
 * drops the fatal handler before each test case), the first time after g_test_init() and
 * before any GUPnP object exists. It turns off HTTP proxies (GIO_USE_PROXY_RESOLVER=dummy,
 * see the header) and makes warnings of the "gupnp-control-point" domain test messages
 * instead of fatal errors: every control point on the machine sees every fake of every test
 * process and fetches its description, and when that fake is gone by then (its test ended,
 * or it restarted) GUPnP warns "Retrieving the description document failed", so a test
 * would fail for another test's timing. That domain only warns about remote devices. It
 * takes the GTest fatal handler (g_test_log_set_fatal_handler()).
 */
void
pl_fake_igd_test_init (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);

      /* GTest's own handler, for everything else in the domain. */
      default_log_handler = g_log_set_default_handler (g_log_default_handler, NULL);
      g_log_set_default_handler (default_log_handler, NULL);
      g_log_set_handler ("gupnp-control-point",
                         G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION,
                         control_point_log_cb, NULL);
      g_once_init_leave (&once, 1);
    }

  g_test_log_set_fatal_handler (control_point_fatal_cb, NULL);
}

/**
 * pl_fake_igd_new_lo_context:
 * @address: an IPv4 loopback address such as "127.0.0.43"
 * @error: return location for an error
 *
 * A context for control points on lo at @address, as the fake makes its own: with the netmask
 * GSSDP cannot find for 127.0.0.N, no HTTP proxy, and a fixed port.
 *
 * Returns: (transfer full) (nullable): the context, or %NULL
 */
GUPnPContext *
pl_fake_igd_new_lo_context (const char  *address,
                            GError     **error)
{
  g_return_val_if_fail (address != NULL, NULL);

  return lo_context_new (address, 0, error);
}

/**
 * pl_fake_igd_new:
 * @address: an IPv4 loopback address such as "127.0.0.42"
 * @clock: (nullable): the clock for leases, the uptime, reply delays and the request log
 *   (%NULL: the real one)
 * @flags: which device to be
 * @error: return location for an error
 *
 * Returns: (transfer full) (nullable): an IGD serving on @address and announcing itself on
 *   lo, or %NULL when it could not
 */
PlFakeIgd *
pl_fake_igd_new (const char      *address,
                 PlClock         *clock,
                 PlFakeIgdFlags   flags,
                 GError         **error)
{
  g_autoptr(PlFakeIgd) self = NULL;
  g_autoptr(GInetAddress) inet = NULL;
  g_autofree char *uuid = NULL;

  g_return_val_if_fail (address != NULL, NULL);
  g_return_val_if_fail (clock == NULL || PL_IS_CLOCK (clock), NULL);

  inet = g_inet_address_new_from_string (address);
  if (inet == NULL || !g_inet_address_get_is_loopback (inet) ||
      g_inet_address_get_family (inet) != G_SOCKET_FAMILY_IPV4)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "“%s” is not an IPv4 loopback address", address);
      return NULL;
    }

  self = g_object_new (PL_TYPE_FAKE_IGD, NULL);
  self->address = g_strdup (address);
  self->clock = clock != NULL ? g_object_ref (clock) : g_object_ref (pl_clock_get_default ());
  self->flags = flags;
  uuid = g_uuid_string_random ();
  self->udn = g_strdup_printf ("uuid:%s", uuid);
  if (flags & PL_FAKE_IGD_PPP)
    {
      self->service_type = g_strdup ("urn:schemas-upnp-org:service:WANPPPConnection:1");
      self->scpd_name = g_strdup ("WANPPPConn.xml");
    }
  else
    {
      self->service_type = g_strdup_printf ("urn:schemas-upnp-org:service:WANIPConnection:%s",
                                            (flags & PL_FAKE_IGD_V1) ? "1" : "2");
      self->scpd_name = g_strdup ("WANIPConn.xml");
    }

  if (!write_files (self, error) || !start_serving (self, 0, 0, error))
    return NULL;

  return g_steal_pointer (&self);
}

const char *
pl_fake_igd_get_address (PlFakeIgd *self)
{
  g_return_val_if_fail (PL_IS_FAKE_IGD (self), NULL);

  return self->address;
}

const char *
pl_fake_igd_get_udn (PlFakeIgd *self)
{
  g_return_val_if_fail (PL_IS_FAKE_IGD (self), NULL);

  return self->udn;
}

const char *
pl_fake_igd_get_location (PlFakeIgd *self)
{
  g_return_val_if_fail (PL_IS_FAKE_IGD (self), NULL);

  return self->location;
}

const char *
pl_fake_igd_get_control_url (PlFakeIgd *self)
{
  g_return_val_if_fail (PL_IS_FAKE_IGD (self), NULL);

  return self->control_url;
}

guint16
pl_fake_igd_get_port (PlFakeIgd *self)
{
  g_return_val_if_fail (PL_IS_FAKE_IGD (self), 0);

  return self->port;
}

const char *
pl_fake_igd_get_service_type (PlFakeIgd *self)
{
  g_return_val_if_fail (PL_IS_FAKE_IGD (self), NULL);

  return self->service_type;
}

void
pl_fake_igd_set_external_address (PlFakeIgd  *self,
                                  const char *address)
{
  g_return_if_fail (PL_IS_FAKE_IGD (self));
  g_return_if_fail (address != NULL);

  if (g_str_equal (address, self->external_address))
    return;

  g_free (self->external_address);
  self->external_address = g_strdup (address);
  if (self->service != NULL)
    gupnp_service_notify (self->service, "ExternalIPAddress", G_TYPE_STRING, address, NULL);
}

static void
add_script (PlFakeIgd  *self,
            const char *action,
            guint       n_calls,
            Script     *script)
{
  /* A new script for the same action replaces the old one. */
  for (guint i = 0; i < self->scripts->len; i++)
    {
      Script *old = g_ptr_array_index (self->scripts, i);

      if (g_strcmp0 (old->action, action) == 0)
        {
          g_ptr_array_remove_index (self->scripts, i);
          break;
        }
    }

  if (n_calls == 0)
    {
      script_free (script);
      return;
    }

  script->action = g_strdup (action);
  script->remaining = n_calls;
  g_ptr_array_add (self->scripts, script);
}

void
pl_fake_igd_fail_next (PlFakeIgd  *self,
                       const char *action,
                       guint       n_calls,
                       guint       code,
                       const char *description)
{
  Script *script;

  g_return_if_fail (PL_IS_FAKE_IGD (self));
  g_return_if_fail (n_calls == 0 || (code != 0 && description != NULL));

  script = g_new0 (Script, 1);
  script->code = code;
  script->description = g_strdup (description);
  add_script (self, action, n_calls, script);
}

void
pl_fake_igd_reply_badly (PlFakeIgd      *self,
                         const char     *action,
                         guint           n_calls,
                         PlFakeIgdReply  reply)
{
  Script *script;

  g_return_if_fail (PL_IS_FAKE_IGD (self));

  script = g_new0 (Script, 1);
  script->bad_reply = TRUE;
  script->reply = reply;
  add_script (self, action, n_calls, script);
}

void
pl_fake_igd_clear_scripts (PlFakeIgd *self)
{
  g_return_if_fail (PL_IS_FAKE_IGD (self));

  g_ptr_array_set_size (self->scripts, 0);
}

void
pl_fake_igd_set_permanent_leases_only (PlFakeIgd *self,
                                       gboolean   only)
{
  g_return_if_fail (PL_IS_FAKE_IGD (self));

  self->permanent_only = !!only;
}

void
pl_fake_igd_set_same_ports_required (PlFakeIgd *self,
                                     gboolean   required)
{
  g_return_if_fail (PL_IS_FAKE_IGD (self));

  self->same_ports = !!required;
}

void
pl_fake_igd_set_delete_unknown_fails (PlFakeIgd *self,
                                      gboolean   fails)
{
  g_return_if_fail (PL_IS_FAKE_IGD (self));

  self->delete_unknown_fails = !!fails;
}

void
pl_fake_igd_set_reply_delay (PlFakeIgd *self,
                             guint      ms)
{
  g_return_if_fail (PL_IS_FAKE_IGD (self));

  self->reply_delay_ms = ms;
}

void
pl_fake_igd_add_entry (PlFakeIgd  *self,
                       const char *internal_client,
                       const char *protocol,
                       guint16     external_port,
                       guint16     internal_port,
                       const char *description,
                       guint32     lease)
{
  gint index;

  g_return_if_fail (PL_IS_FAKE_IGD (self));
  g_return_if_fail (internal_client != NULL);
  g_return_if_fail (protocol != NULL);
  g_return_if_fail (description != NULL);

  protocol = normalise_protocol (protocol);
  index = find_entry (self, protocol, external_port);
  if (index >= 0)
    g_ptr_array_remove_index (self->table, index);

  g_ptr_array_insert (self->table, 0,
                      entry_new (internal_client, protocol, external_port, internal_port, TRUE,
                                 description, lease,
                                 lease == 0 ? 0 :
                                 pl_clock_get_time (self->clock) +
                                 (gint64) lease * G_USEC_PER_SEC));
  table_changed (self);
}

void
pl_fake_igd_preload (PlFakeIgd  *self,
                     guint       n_entries,
                     const char *client)
{
  g_return_if_fail (PL_IS_FAKE_IGD (self));
  g_return_if_fail (client != NULL);
  g_return_if_fail (n_entries <= 65535 - 20000);

  for (guint i = 0; i < n_entries; i++)
    {
      g_autofree char *description = NULL;
      guint16 port = (guint16) (20000 + i);

      switch (i % 4)
        {
        case 0:
          description = g_strdup_printf ("preloaded %u", i);
          break;
        case 1:
          description = g_strdup_printf ("Überweisung für Jörg – ポート転送 № %u", i);
          break;
        case 2:
          description = g_strdup_printf ("a description of more than sixty-four bytes, which "
                                         "miniupnpd would cut: entry %u", i);
          break;
        default:
          description = g_strdup_printf ("<b>&amp; \"quoted\" 'too' & %u</b>", i);
          break;
        }
      g_ptr_array_insert (self->table, 0,
                          entry_new (client, i % 2 == 0 ? "TCP" : "UDP", port, port,
                                     TRUE, description, 0, 0));
    }
  table_changed (self);
}

guint
pl_fake_igd_get_n_entries (PlFakeIgd *self)
{
  g_return_val_if_fail (PL_IS_FAKE_IGD (self), 0);

  remove_expired (self);
  return self->table->len;
}

const PlFakeIgdEntry *
pl_fake_igd_lookup (PlFakeIgd  *self,
                    const char *protocol,
                    guint16     external_port)
{
  gint index;

  g_return_val_if_fail (PL_IS_FAKE_IGD (self), NULL);
  g_return_val_if_fail (protocol != NULL, NULL);

  remove_expired (self);
  index = find_entry (self, normalise_protocol (protocol), external_port);

  return index >= 0 ? g_ptr_array_index (self->table, index) : NULL;
}

void
pl_fake_igd_clear_entries (PlFakeIgd *self)
{
  g_return_if_fail (PL_IS_FAKE_IGD (self));

  g_ptr_array_set_size (self->table, 0);
  table_changed (self);
}

void
pl_fake_igd_stop (PlFakeIgd *self,
                  gboolean   send_byebye)
{
  g_return_if_fail (PL_IS_FAKE_IGD (self));

  stop_serving (self, send_byebye);
}

gboolean
pl_fake_igd_start (PlFakeIgd  *self,
                   gboolean    same_port,
                   GError    **error)
{
  g_return_val_if_fail (PL_IS_FAKE_IGD (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (self->gupnp_context == NULL, FALSE);
  g_return_val_if_fail (!same_port || self->last_port != 0, FALSE);

  return start_serving (self, same_port ? self->last_port : 0,
                        same_port ? 0 : self->last_port, error);
}

gboolean
pl_fake_igd_restart (PlFakeIgd              *self,
                     PlFakeIgdRestartFlags   flags,
                     GError                **error)
{
  g_return_val_if_fail (PL_IS_FAKE_IGD (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  stop_serving (self, (flags & PL_FAKE_IGD_RESTART_BYEBYE) != 0);
  /* Gone with the process: no event for it. */
  if (!(flags & PL_FAKE_IGD_RESTART_KEEP_TABLE))
    {
      g_ptr_array_set_size (self->table, 0);
      schedule_expiry (self);
      g_ptr_array_set_size (self->pinholes, 0);
      self->next_pinhole_id = 1;
    }

  return pl_fake_igd_start (self, (flags & PL_FAKE_IGD_RESTART_SAME_PORT) != 0, error);
}

/**
 * pl_fake_igd_get_requests:
 * @self: a fake IGD
 *
 * Returns: (transfer none) (element-type PlFakeIgdRequest): every action that reached the
 *   service, oldest first
 */
GPtrArray *
pl_fake_igd_get_requests (PlFakeIgd *self)
{
  g_return_val_if_fail (PL_IS_FAKE_IGD (self), NULL);

  return self->requests;
}

guint
pl_fake_igd_count_requests (PlFakeIgd  *self,
                            const char *action)
{
  guint n = 0;

  g_return_val_if_fail (PL_IS_FAKE_IGD (self), 0);

  for (guint i = 0; i < self->requests->len; i++)
    {
      PlFakeIgdRequest *request = g_ptr_array_index (self->requests, i);

      if (action == NULL || g_str_equal (request->action, action))
        n++;
    }

  return n;
}

void
pl_fake_igd_clear_requests (PlFakeIgd *self)
{
  g_return_if_fail (PL_IS_FAKE_IGD (self));

  g_ptr_array_set_size (self->requests, 0);
}

/* Pinholes. */

void
pl_fake_igd_set_firewall (PlFakeIgd *self,
                          gboolean   enabled,
                          gboolean   inbound_allowed)
{
  g_return_if_fail (PL_IS_FAKE_IGD (self));

  self->firewall_enabled = enabled;
  self->inbound_allowed = inbound_allowed;
}

void
pl_fake_igd_set_pinhole_caller (PlFakeIgd  *self,
                                const char *address)
{
  g_return_if_fail (PL_IS_FAKE_IGD (self));

  g_free (self->pinhole_caller);
  self->pinhole_caller = g_strdup (address);
}

void
pl_fake_igd_set_next_pinhole_id (PlFakeIgd *self,
                                 guint      id)
{
  g_return_if_fail (PL_IS_FAKE_IGD (self));
  g_return_if_fail (id <= 65535);

  self->next_pinhole_id = id;
}

guint
pl_fake_igd_get_n_pinholes (PlFakeIgd *self)
{
  g_return_val_if_fail (PL_IS_FAKE_IGD (self), 0);

  pinhole_by_id (self, 0);
  return self->pinholes->len;
}

const PlFakeIgdPinhole *
pl_fake_igd_lookup_pinhole (PlFakeIgd *self,
                            guint      protocol,
                            guint16    internal_port)
{
  g_return_val_if_fail (PL_IS_FAKE_IGD (self), NULL);

  pinhole_by_id (self, 0);
  for (guint i = 0; i < self->pinholes->len; i++)
    {
      PlFakeIgdPinhole *pinhole = g_ptr_array_index (self->pinholes, i);

      if (pinhole->protocol == protocol && pinhole->internal_port == internal_port)
        return pinhole;
    }
  return NULL;
}

void
pl_fake_igd_clear_pinholes (PlFakeIgd *self)
{
  g_return_if_fail (PL_IS_FAKE_IGD (self));

  g_ptr_array_set_size (self->pinholes, 0);
}
