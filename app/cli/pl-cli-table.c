/* pl-cli-table.c: `portlightctl list` and `unmap --external`, the router's table
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "pl-cli.h"
#include "pl-cli-common.h"
#include "pl-core.h"

/* Only UPnP-IGD can read the router's table (PCP and NAT-PMP have no such request), so both
 * commands speak UPnP-IGD whatever protocol the mappings use. Each row is marked by whose it
 * is: "mine" (made by Portlight on this computer: its description), "this computer" (another
 * program here) or "another device" (any other LAN address). */

#define PROGRAM_NAME "portlightctl"

typedef enum
{
  OWNER_MINE,
  OWNER_THIS_COMPUTER,
  OWNER_OTHER_DEVICE,
} Owner;

typedef struct
{
  char         *prgname;
  const char   *parameters;
  gboolean      json;
  char         *gateway_text;
  GInetAddress *gateway;
  char         *gateway_str;
  PlUpnpClient *upnp;
  GAsyncResult *result;
} Table;

static Table *
table_new (const char *command,
           const char *parameters)
{
  Table *t = g_new0 (Table, 1);

  t->prgname = g_strdup_printf ("%s %s", PROGRAM_NAME, command);
  t->parameters = parameters;
  return t;
}

static void
table_free (Table *t)
{
  g_clear_object (&t->upnp);
  g_clear_object (&t->gateway);
  g_clear_object (&t->result);
  g_free (t->gateway_text);
  g_free (t->gateway_str);
  g_free (t->prgname);
  g_free (t);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Table, table_free)

static GPtrArray *own_records            (Table     *t);
static void       print_own_records_text (GPtrArray *records);

static int
table_fail (Table        *t,
            const GError *error)
{
  int status = pl_cli_exit_code_for_error (error);

  if (t->json)
    pl_cli_print_json_error (pl_cli_error_code_name (error), error->message);
  else
    g_printerr ("%s: %s\n", t->prgname, error->message);
  return status;
}

static void
result_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Table *t = user_data;

  g_assert (t->result == NULL);
  t->result = g_object_ref (result);
}

static GAsyncResult *
table_await (Table *t)
{
  while (t->result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return g_steal_pointer (&t->result);
}

/* The gateway (-g or the default route's) and its IGD. Returns an exit code. */
static int
table_start (Table *t)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GUPnPServiceProxy) proxy = NULL;
  g_autoptr(PlGateway) found = NULL;
  PlUpnpDiscovery *discovery;

  if (t->gateway_text != NULL)
    {
      t->gateway = pl_gateway_parse_address (t->gateway_text, &error);
      if (t->gateway == NULL)
        return pl_cli_usage_error (t->prgname, t->parameters, t->json, _("Invalid gateway: %s"),
                                   error->message);
    }
  else
    {
      found = pl_gateway_discover (&error);
      if (found == NULL)
        return table_fail (t, error);
      t->gateway = g_object_ref (found->address);
    }
  t->gateway_str = g_inet_address_to_string (t->gateway);

  t->upnp = pl_upnp_client_new (t->gateway, found != NULL ? found->interface : NULL, NULL);
  discovery = pl_upnp_client_get_discovery (t->upnp);
  pl_upnp_discovery_wait_async (discovery, 0, NULL, result_cb, t);
  result = table_await (t);
  proxy = pl_upnp_discovery_wait_finish (discovery, result, &error);
  if (proxy == NULL)
    {
      g_autoptr(GError) no_upnp = NULL;

      no_upnp = g_error_new (PL_ERROR, PL_ERROR_REFUSED,
                             _("The router at %s does not answer UPnP-IGD, so its table of "
                               "mappings cannot be read (PCP and NAT-PMP cannot list them)"),
                             t->gateway_str);
      g_debug ("%s", error->message);
      if (!t->json)
        {
          g_autoptr(GPtrArray) own = own_records (t);

          print_own_records_text (own);
        }
      return table_fail (t, no_upnp);
    }
  return PL_EXIT_OK;
}

static Owner
owner_of (Table             *t,
          const PlUpnpEntry *entry)
{
  if (g_strcmp0 (entry->internal_client, pl_upnp_client_get_host_ip (t->upnp)) != 0)
    return OWNER_OTHER_DEVICE;
  return pl_upnp_description_is_ours (entry->description) ? OWNER_MINE : OWNER_THIS_COMPUTER;
}

static const char *
owner_json (Owner owner)
{
  switch (owner)
    {
    case OWNER_MINE:
      return "mine";
    case OWNER_THIS_COMPUTER:
      return "this-computer";
    case OWNER_OTHER_DEVICE:
    default:
      return "another-device";
    }
}

static const char *
owner_label (Owner owner)
{
  switch (owner)
    {
    case OWNER_MINE:
      return _("mine");
    case OWNER_THIS_COMPUTER:
      return _("this computer");
    case OWNER_OTHER_DEVICE:
    default:
      return _("another device");
    }
}

static char *
lease_label (guint32 lease)
{
  if (lease == 0)
    return g_strdup (_("permanent"));
  if (lease < 120)
    return g_strdup_printf (_("%u s left"), lease);
  if (lease < 2 * 3600)
    return g_strdup_printf (_("%u min left"), lease / 60);
  return g_strdup_printf (_("%u h left"), lease / 3600);
}

/* Our own PCP (and NAT-PMP-over-PCP-client) mappings of this gateway, from the journal: the
 * router's UPnP table cannot show them. Not expired ones only. */
static GPtrArray *
own_records (Table *t)
{
  g_autoptr(PlPcpState) journal = pl_pcp_state_new (NULL);
  g_autoptr(GError) error = NULL;
  GPtrArray *records;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (!pl_pcp_state_load (journal, &error))
    {
      g_debug ("No journal of PCP mappings: %s", error->message);
      return g_ptr_array_new ();
    }
  records = pl_pcp_state_list (journal, t->gateway);
  for (guint i = records->len; i > 0; i--)
    {
      const PlPcpRecord *r = g_ptr_array_index (records, i - 1);

      /* UPnP-IGD's are in the table (and only an engine's journal holds them). */
      if (r->expires <= now || r->external_port == 0 || r->method == PL_PCP_METHOD_UPNP)
        g_ptr_array_remove_index (records, i - 1);
    }
  /* The records belong to the journal: copy what is kept. */
  {
    GPtrArray *copies = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_pcp_record_free);

    for (guint i = 0; i < records->len; i++)
      g_ptr_array_add (copies, pl_pcp_record_copy (g_ptr_array_index (records, i)));
    g_ptr_array_unref (records);
    return copies;
  }
}

static void
print_own_records_text (GPtrArray *records)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (records->len == 0)
    return;
  g_print (g_dngettext (GETTEXT_PACKAGE,
                        "Kept by Portlight over PCP or NAT-PMP (not in the router's UPnP table): "
                        "%u mapping\n",
                        "Kept by Portlight over PCP or NAT-PMP (not in the router's UPnP table): "
                        "%u mappings\n", records->len), records->len);
  for (guint i = 0; i < records->len; i++)
    {
      const PlPcpRecord *r = g_ptr_array_index (records, i);
      g_autofree char *internal = g_inet_address_to_string (r->internal_address);
      g_autofree char *target = r->family == G_SOCKET_FAMILY_IPV6
                                  ? g_strdup_printf ("[%s]:%u", internal, r->internal_port)
                                  : g_strdup_printf ("%s:%u", internal, r->internal_port);
      g_autofree char *lease = lease_label ((guint32) CLAMP (r->expires - now, 1, G_MAXUINT32));

      g_print ("  %s %5u → %-21s  %-14s  %s, %s\n", pl_cli_protocol_label (r->protocol),
               r->external_port, target, _("mine"),
               r->method == PL_PCP_METHOD_PCP ? "PCP" : "NAT-PMP", lease);
    }
}

static int
print_table (Table     *t,
             GPtrArray *entries,
             guint      unreadable)
{
  g_autoptr(GPtrArray) own = own_records (t);

  if (t->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      pl_cli_json_add_string (builder, "gateway", t->gateway_str);
      pl_cli_json_add_string (builder, "protocol", "upnp");
      pl_cli_json_add_string (builder, "this_computer", pl_upnp_client_get_host_ip (t->upnp));
      json_builder_set_member_name (builder, "mappings");
      json_builder_begin_array (builder);
      for (guint i = 0; i < entries->len; i++)
        {
          PlUpnpEntry *e = g_ptr_array_index (entries, i);

          json_builder_begin_object (builder);
          pl_cli_json_add_string (builder, "protocol",
                                  e->protocol == PL_PROTOCOL_TCP ? "tcp" : "udp");
          pl_cli_json_add_int (builder, "public_port", e->external_port);
          pl_cli_json_add_string (builder, "private_address", e->internal_client);
          pl_cli_json_add_int (builder, "private_port", e->internal_port);
          pl_cli_json_add_string (builder, "description", e->description);
          pl_cli_json_add_int (builder, "lease", e->lease);
          pl_cli_json_add_boolean (builder, "enabled", e->enabled);
          if (e->remote_host[0] != '\0')
            pl_cli_json_add_string (builder, "remote_host", e->remote_host);
          pl_cli_json_add_string (builder, "owner", owner_json (owner_of (t, e)));
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      pl_cli_json_add_int (builder, "unreadable", unreadable);
      /* Ours over PCP or NAT-PMP, which the UPnP table does not show. */
      json_builder_set_member_name (builder, "own");
      json_builder_begin_array (builder);
      for (guint i = 0; i < own->len; i++)
        {
          const PlPcpRecord *r = g_ptr_array_index (own, i);
          g_autofree char *internal = g_inet_address_to_string (r->internal_address);
          g_autoptr(GDateTime) expires = g_date_time_new_from_unix_utc (r->expires);
          g_autofree char *expires_text = expires != NULL ? g_date_time_format_iso8601 (expires)
                                                          : NULL;

          json_builder_begin_object (builder);
          pl_cli_json_add_string (builder, "protocol",
                                  r->protocol == PL_PROTOCOL_TCP ? "tcp" : "udp");
          pl_cli_json_add_string (builder, "family",
                                  r->family == G_SOCKET_FAMILY_IPV6 ? "ipv6" : "ipv4");
          pl_cli_json_add_int (builder, "public_port", r->external_port);
          pl_cli_json_add_string (builder, "private_address", internal);
          pl_cli_json_add_int (builder, "private_port", r->internal_port);
          pl_cli_json_add_string (builder, "mapped_with",
                                  r->method == PL_PCP_METHOD_PCP ? "pcp" : "natpmp");
          pl_cli_json_add_string (builder, "expires", expires_text);
          pl_cli_json_add_string (builder, "owner", "mine");
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      pl_cli_print_json_object (builder);
      return PL_EXIT_OK;
    }

  g_print (g_dngettext (GETTEXT_PACKAGE, "Router %s · UPnP-IGD: %u mapping\n",
                        "Router %s · UPnP-IGD: %u mappings\n", entries->len),
           t->gateway_str, entries->len);
  for (guint i = 0; i < entries->len; i++)
    {
      PlUpnpEntry *e = g_ptr_array_index (entries, i);
      g_autofree char *target = g_strdup_printf ("%s:%u", e->internal_client, e->internal_port);
      g_autofree char *lease = lease_label (e->lease);

      g_print ("  %s %5u → %-21s  %-14s  “%s”, %s%s\n",
               pl_cli_protocol_label (e->protocol), e->external_port, target,
               owner_label (owner_of (t, e)), e->description, lease,
               e->enabled ? "" : _(", disabled"));
    }
  if (unreadable > 0)
    g_print (g_dngettext (GETTEXT_PACKAGE,
                          "(%u more row could not be read: the router's answer was not "
                          "valid)\n",
                          "(%u more rows could not be read: the router's answers were not "
                          "valid)\n", unreadable), unreadable);
  print_own_records_text (own);
  return PL_EXIT_OK;
}

int
pl_cli_list_main (int    argc,
                  char **argv)
{
  g_autoptr(Table) t = table_new ("list", "");
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  guint unreadable = 0;
  int status;
  const GOptionEntry entries_opt[] = {
    { "gateway", 'g', 0, G_OPTION_ARG_STRING, &t->gateway_text,
      N_("Ask the router at ADDRESS (IPv4) instead of the default gateway"), N_("ADDRESS") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &t->json,
      N_("Print the table, or the error, as one JSON object on standard output"), NULL },
    G_OPTION_ENTRY_NULL
  };

  g_set_prgname (t->prgname);
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                _("Show every port mapping the router holds, for this computer "
                                  "and the others on the network (UPnP-IGD)."));
  g_option_context_set_description (context,
                                    _("Each row is marked “mine” (made by Portlight here), “this "
                                      "computer” (another program here) or “another device”.\n"
                                      "With --json, prints {\"gateway\": …, \"mappings\": "
                                      "[{\"protocol\": \"tcp\", \"public_port\": N, "
                                      "\"private_address\": …, \"private_port\": N, "
                                      "\"description\": …, \"lease\": N, \"owner\": \"mine\" | "
                                      "\"this-computer\" | \"another-device\"}]}."));
  g_option_context_add_main_entries (context, entries_opt, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return pl_cli_usage_error (t->prgname, t->parameters, t->json, "%s", error->message);
  if (argc > 1)
    return pl_cli_usage_error (t->prgname, t->parameters, t->json,
                               _("Unexpected argument “%s”"), argv[1]);

  status = table_start (t);
  if (status != PL_EXIT_OK)
    return status;

  pl_upnp_table_list_async (pl_upnp_client_get_discovery (t->upnp), NULL, result_cb, t);
  result = table_await (t);
  entries = pl_upnp_table_list_finish (pl_upnp_client_get_discovery (t->upnp), result,
                                       &unreadable, &error);
  if (entries == NULL)
    return table_fail (t, error);
  return print_table (t, entries, unreadable);
}

int
pl_cli_unmap_external (const char *gateway_text,
                       gboolean    json,
                       PlProtocol  protocol,
                       guint16     external_port)
{
  g_autoptr(Table) t = table_new ("unmap", _("--external PUBLIC_PORT"));
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  int status;

  t->json = json;
  t->gateway_text = g_strdup (gateway_text);
  status = table_start (t);
  if (status != PL_EXIT_OK)
    return status;

  pl_upnp_client_delete_external_async (t->upnp, protocol, external_port, NULL, result_cb, t);
  result = table_await (t);
  if (!pl_upnp_client_delete_external_finish (t->upnp, result, &error))
    return table_fail (t, error);

  if (json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      pl_cli_json_add_string (builder, "gateway", t->gateway_str);
      pl_cli_json_add_string (builder, "protocol", "upnp");
      json_builder_set_member_name (builder, "unmapped");
      json_builder_begin_array (builder);
      json_builder_begin_object (builder);
      pl_cli_json_add_string (builder, "protocol", protocol == PL_PROTOCOL_TCP ? "tcp" : "udp");
      pl_cli_json_add_int (builder, "public_port", external_port);
      json_builder_end_object (builder);
      json_builder_end_array (builder);
      pl_cli_print_json_object (builder);
    }
  else
    {
      g_print (_("Gateway: %s · %s\n"), t->gateway_str, "UPnP-IGD");
      g_print (_("Removed the %s mapping of public port %u\n"), pl_cli_protocol_label (protocol),
               external_port);
    }
  return PL_EXIT_OK;
}
