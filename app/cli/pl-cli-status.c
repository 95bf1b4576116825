/* pl-cli-status.c: `portlightctl status`, what the running engine holds
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "pl-cli.h"
#include "pl-cli-common.h"
#include "pl-cli-engine.h"

/* `status` reads the engine's ObjectManager once: the Manager (gateway, protocol, public
 * address) and every Lease with its owner, state and mappings. It never talks to the router
 * itself: without an engine it says so in one line and exits PL_EXIT_NO_ENGINE.
 *
 * The JSON object (one line; documented in the README and portlightctl(1)):
 *   {"engine": {"pid": N, "version": N}, "state": "ready", "gateway": "…" | null,
 *    "protocol": "pcp" | "natpmp" | "upnp" | null, "public_address": "…" | null,
 *    "warnings": ["double-nat"],
 *    "leases": [{"id": N, "owner": {"kind": "profile" | "cli" | "app", "name": "…",
 *                "pid": N | null, "app_id": "…" | null, "profile": "…" | null},
 *                "protocols": ["tcp", "udp"], "private_port": N, "requested_public_port": N,
 *                "description": "…" | null, "bind": "caller" | "none", "until": "ISO 8601" | null,
 *                "state": "pending" | "active" | "lost" | "failed",
 *                "error": {"code": "…", "message": "…"} | null,
 *                "mappings": [{"protocol": "tcp", "family": "ipv4", "public_address": "…",
 *                              "public_port": N, "lifetime": N, "expires": "ISO 8601",
 *                              "renews": "ISO 8601" | null}]}]} */

#define PROGRAM_NAME "portlightctl status"

/* CLOCK_REALTIME microseconds as local time; NULL for 0. */
static GDateTime *
realtime_to_local (guint64 usec)
{
  if (usec == 0)
    return NULL;
  return g_date_time_new_from_unix_local ((gint64) (usec / G_USEC_PER_SEC));
}

static char *
format_time (guint64     usec,
             const char *format)
{
  g_autoptr(GDateTime) local = realtime_to_local (usec);

  if (local == NULL)
    return NULL;
  return format != NULL ? g_date_time_format (local, format) : g_date_time_format_iso8601 (local);
}

static const char *
lookup_string (GVariant   *dict,
               const char *key)
{
  const char *value = NULL;

  if (dict == NULL || !g_variant_lookup (dict, key, "&s", &value))
    return "";
  return value;
}

static guint64
lookup_u64 (GVariant   *dict,
            const char *key)
{
  guint64 value = 0;

  if (dict != NULL)
    g_variant_lookup (dict, key, "t", &value);
  return value;
}

static guint
lookup_uint (GVariant   *dict,
             const char *key,
             const char *type)
{
  guint32 value32 = 0;
  guint16 value16 = 0;

  if (dict == NULL)
    return 0;
  if (g_str_equal (type, "q"))
    return g_variant_lookup (dict, key, "q", &value16) ? value16 : 0;
  return g_variant_lookup (dict, key, "u", &value32) ? value32 : 0;
}

/* The profile's name from Lease.Profile ("/…/Profile/Game_20server"), or NULL. */
static char *
lease_profile_name (PlBrokerLease *lease)
{
  const char *path = pl_broker_lease_get_profile (lease);
  const char *slash;
  char *name;

  if (path == NULL || g_str_equal (path, "/"))
    return NULL;
  slash = strrchr (path, '/');
  name = (char *) g_dbus_unescape_object_path (slash + 1);
  return name != NULL ? name : g_strdup (slash + 1);
}

static const char *
lease_id (PlBrokerLease *lease)
{
  const char *path = g_dbus_proxy_get_object_path (G_DBUS_PROXY (lease));
  const char *slash = strrchr (path, '/');

  return slash != NULL ? slash + 1 : path;
}

/* "profile “Game”", "portlightctl (pid 4321)", "Transmission (org.…) (pid 99)". */
static char *
describe_owner (PlBrokerLease *lease)
{
  GVariant *owner = pl_broker_lease_get_owner (lease);
  const char *kind = lookup_string (owner, "kind");
  const char *name = lookup_string (owner, "display_name");
  const char *app_id = lookup_string (owner, "app_id");
  guint pid = lookup_uint (owner, "pid", "u");
  GString *text = g_string_new (NULL);

  if (g_str_equal (kind, "profile"))
    {
      g_string_printf (text, _("profile “%s”"), name);
      return g_string_free (text, FALSE);
    }
  g_string_append (text, name[0] != '\0' ? name : lookup_string (owner, "bus_name"));
  if (app_id[0] != '\0' && g_strcmp0 (app_id, name) != 0)
    g_string_append_printf (text, " (%s)", app_id);
  if (pid != 0)
    g_string_append_printf (text, _(" (pid %u)"), pid);
  return g_string_free (text, FALSE);
}

static void
print_lease_text (PlBrokerLease *lease)
{
  g_autofree char *protocols =
    pl_cli_engine_protocols_label (pl_broker_lease_get_protocols (lease));
  g_autofree char *owner = describe_owner (lease);
  g_autofree char *until = format_time (pl_broker_lease_get_deadline (lease), "%H:%M:%S");
  GVariant *error = pl_broker_lease_get_error (lease);
  GVariant *pinhole_error = pl_broker_lease_get_pinhole_error (lease);
  GVariant *mappings = pl_broker_lease_get_mappings (lease);
  const char *state = pl_broker_lease_get_state (lease);
  const char *error_message = "";
  const char *pinhole_message = "";
  GVariantIter iter;
  GVariant *entry;

  if (error != NULL)
    g_variant_get (error, "(&s&s)", NULL, &error_message);
  /* A lease of both families: Error is its IPv4 side's, PinholeError its pinholes'. */
  if (pinhole_error != NULL)
    g_variant_get (pinhole_error, "(&s&s)", NULL, &pinhole_message);

  g_print (_("  %s private port %u, %s — %s\n"), protocols,
           pl_broker_lease_get_internal_port (lease), state, owner);
  if (error_message[0] != '\0')
    g_print (_("    problem: %s\n"), error_message);
  if (pinhole_message[0] != '\0')
    g_print (_("    IPv6 pinhole problem: %s\n"), pinhole_message);
  if (until != NULL)
    g_print (_("    until %s (then the engine removes it)\n"), until);
  if (mappings == NULL)
    return;

  g_variant_iter_init (&iter, mappings);
  while ((entry = g_variant_iter_next_value (&iter)) != NULL)
    {
      g_autoptr(GVariant) dict = entry;
      g_autofree char *renews = format_time (lookup_u64 (dict, "renews_at"), "%H:%M:%S");
      g_autofree char *expires = format_time (lookup_u64 (dict, "expires_at"), "%H:%M:%S");
      const char *protocol = g_str_equal (lookup_string (dict, "protocol"), "udp") ? "UDP" : "TCP";

      if (g_str_equal (lookup_string (dict, "family"), "ipv6"))
        g_print (_("    %s [%s]:%u (IPv6 pinhole)"), protocol,
                 lookup_string (dict, "external_address"),
                 pl_broker_lease_get_internal_port (lease));
      else
        g_print (_("    %s public %s:%u"), protocol, lookup_string (dict, "external_address"),
                 lookup_uint (dict, "external_port", "q"));
      if (renews != NULL)
        g_print (_(", renews at %s\n"), renews);
      else
        g_print (_(", open until %s\n"), expires != NULL ? expires : "-");
    }
}

static void
json_add_nullable (JsonBuilder *builder,
                   const char  *name,
                   const char  *value)
{
  pl_cli_json_add_string (builder, name, value != NULL && value[0] != '\0' ? value : NULL);
}

static void
json_add_time (JsonBuilder *builder,
               const char  *name,
               guint64      usec)
{
  g_autofree char *text = format_time (usec, NULL);

  pl_cli_json_add_string (builder, name, text);
}

/* "pinhole_error": why the router did not open the IPv6 pinholes of a lease of both
 * families (whose "error" is its IPv4 side's), or null. */
static void
json_add_pinhole_error (JsonBuilder *builder,
                        GVariant    *pinhole_error)
{
  const char *name = "";
  const char *message = "";
  g_autoptr(GError) translated = NULL;

  if (pinhole_error != NULL)
    g_variant_get (pinhole_error, "(&s&s)", &name, &message);
  json_builder_set_member_name (builder, "pinhole_error");
  if (name[0] == '\0')
    {
      json_builder_add_null_value (builder);
      return;
    }
  translated = pl_cli_engine_error_new (name, message);
  json_builder_begin_object (builder);
  pl_cli_json_add_string (builder, "code", pl_cli_error_code_name (translated));
  pl_cli_json_add_string (builder, "message", message);
  json_builder_end_object (builder);
}

static void
json_add_lease (JsonBuilder   *builder,
                PlBrokerLease *lease)
{
  GVariant *owner = pl_broker_lease_get_owner (lease);
  GVariant *error = pl_broker_lease_get_error (lease);
  GVariant *mappings = pl_broker_lease_get_mappings (lease);
  const char * const *protocols = pl_broker_lease_get_protocols (lease);
  g_autofree char *profile = lease_profile_name (lease);
  const char *error_name = "";
  const char *error_message = "";
  guint64 id = 0;
  guint pid = lookup_uint (owner, "pid", "u");
  GVariantIter iter;
  GVariant *entry;

  g_ascii_string_to_unsigned (lease_id (lease), 10, 0, G_MAXUINT64, &id, NULL);
  json_builder_begin_object (builder);
  pl_cli_json_add_int (builder, "id", (gint64) id);

  json_builder_set_member_name (builder, "owner");
  json_builder_begin_object (builder);
  pl_cli_json_add_string (builder, "kind", lookup_string (owner, "kind"));
  pl_cli_json_add_string (builder, "name", lookup_string (owner, "display_name"));
  json_builder_set_member_name (builder, "pid");
  if (pid != 0)
    json_builder_add_int_value (builder, pid);
  else
    json_builder_add_null_value (builder);
  json_add_nullable (builder, "app_id", lookup_string (owner, "app_id"));
  pl_cli_json_add_string (builder, "profile", profile);
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "protocols");
  json_builder_begin_array (builder);
  for (guint i = 0; protocols != NULL && protocols[i] != NULL; i++)
    json_builder_add_string_value (builder, protocols[i]);
  json_builder_end_array (builder);
  pl_cli_json_add_int (builder, "private_port", pl_broker_lease_get_internal_port (lease));
  pl_cli_json_add_int (builder, "requested_public_port",
                       pl_broker_lease_get_requested_external_port (lease));
  json_add_nullable (builder, "description", pl_broker_lease_get_description (lease));
  pl_cli_json_add_string (builder, "bind", pl_broker_lease_get_bind (lease));
  json_add_time (builder, "until", pl_broker_lease_get_deadline (lease));
  pl_cli_json_add_string (builder, "state", pl_broker_lease_get_state (lease));

  if (error != NULL)
    g_variant_get (error, "(&s&s)", &error_name, &error_message);
  if (error_name[0] != '\0')
    {
      g_autoptr(GError) translated = pl_cli_engine_error_new (error_name, error_message);

      pl_cli_json_add_error (builder, pl_cli_error_code_name (translated), error_message);
    }
  else
    {
      json_builder_set_member_name (builder, "error");
      json_builder_add_null_value (builder);
    }
  json_add_pinhole_error (builder, pl_broker_lease_get_pinhole_error (lease));

  json_builder_set_member_name (builder, "mappings");
  json_builder_begin_array (builder);
  if (mappings != NULL)
    {
      g_variant_iter_init (&iter, mappings);
      while ((entry = g_variant_iter_next_value (&iter)) != NULL)
        {
          g_autoptr(GVariant) dict = entry;

          json_builder_begin_object (builder);
          pl_cli_json_add_string (builder, "protocol", lookup_string (dict, "protocol"));
          pl_cli_json_add_string (builder, "family", lookup_string (dict, "family"));
          json_add_nullable (builder, "public_address", lookup_string (dict, "external_address"));
          pl_cli_json_add_int (builder, "public_port", lookup_uint (dict, "external_port", "q"));
          pl_cli_json_add_int (builder, "lifetime", lookup_uint (dict, "lifetime", "u"));
          json_add_time (builder, "expires", lookup_u64 (dict, "expires_at"));
          json_add_time (builder, "renews", lookup_u64 (dict, "renews_at"));
          json_builder_end_object (builder);
        }
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
}

static void
print_json (PlCliEngine *engine,
            GList       *leases)
{
  PlBrokerManager *manager = engine->manager;
  const char * const *warnings = pl_broker_manager_get_warnings (manager);
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "engine");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "pid");
  if (pl_cli_engine_get_pid (engine) != 0)
    json_builder_add_int_value (builder, pl_cli_engine_get_pid (engine));
  else
    json_builder_add_null_value (builder);
  pl_cli_json_add_int (builder, "version", pl_broker_manager_get_version (manager));
  json_builder_end_object (builder);
  pl_cli_json_add_string (builder, "state", pl_broker_manager_get_state (manager));
  json_add_nullable (builder, "gateway", pl_broker_manager_get_gateway (manager));
  pl_cli_json_add_string (builder, "protocol",
                          pl_cli_engine_method_json (pl_broker_manager_get_method (manager)));
  json_add_nullable (builder, "public_address", pl_broker_manager_get_external_address (manager));
  json_add_nullable (builder, "ipv6_address", pl_broker_manager_get_ipv6_address (manager));
  json_builder_set_member_name (builder, "warnings");
  json_builder_begin_array (builder);
  for (guint i = 0; warnings != NULL && warnings[i] != NULL; i++)
    json_builder_add_string_value (builder, warnings[i]);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "leases");
  json_builder_begin_array (builder);
  for (GList *l = leases; l != NULL; l = l->next)
    json_add_lease (builder, l->data);
  json_builder_end_array (builder);
  pl_cli_print_json_object (builder);
}

static void
print_text (PlCliEngine *engine,
            GList       *leases)
{
  PlBrokerManager *manager = engine->manager;
  const char *gateway = pl_broker_manager_get_gateway (manager);
  const char *method = pl_cli_engine_method_label (pl_broker_manager_get_method (manager));
  const char *address = pl_broker_manager_get_external_address (manager);
  const char *address6 = pl_broker_manager_get_ipv6_address (manager);
  const char * const *warnings = pl_broker_manager_get_warnings (manager);

  if (pl_cli_engine_get_pid (engine) != 0)
    g_print (_("Engine: running (pid %u), %s\n"), pl_cli_engine_get_pid (engine),
             pl_broker_manager_get_state (manager));
  else
    g_print (_("Engine: running, %s\n"), pl_broker_manager_get_state (manager));
  if (gateway != NULL && gateway[0] != '\0')
    g_print (_("Gateway: %s · %s\n"), gateway, method[0] != '\0' ? method : "…");
  else
    g_print (_("Gateway: none\n"));
  g_print (_("Public address: %s\n"),
           address != NULL && address[0] != '\0' ? address : _("unknown"));
  if (address6 != NULL && address6[0] != '\0')
    g_print (_("IPv6 address (pinholes): %s\n"), address6);
  if (warnings != NULL && g_strv_contains (warnings, "double-nat"))
    g_print (_("Warning: the router's public address is itself private (double NAT or "
               "carrier-grade NAT)\n"));

  if (leases == NULL)
    {
      g_print (_("Mappings: none\n"));
      return;
    }
  g_print (_("Mappings:\n"));
  for (GList *l = leases; l != NULL; l = l->next)
    print_lease_text (l->data);
}

int
pl_cli_status_main (int    argc,
                    char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PlCliEngine) engine = NULL;
  g_autoptr(PlEngineLock) lock = NULL;
  gboolean json = FALSE;
  GList *leases;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      N_("Print the engine's state as one JSON object on standard output"), NULL },
    G_OPTION_ENTRY_NULL
  };

  g_set_prgname (PROGRAM_NAME);
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                _("Show the running engine: its router, public address and "
                                  "every mapping it holds, with who holds it, its state and "
                                  "when it renews."));
  g_option_context_set_description (context,
                                    _("Exit status:\n"
                                      "  0  the engine runs (its state is shown)\n"
                                      "  2  bad arguments\n"
                                      "  5  the session bus or the engine failed\n"
                                      "  7  no engine is running"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      for (int i = 1; i < argc; i++)
        json = json || g_strcmp0 (argv[i], "--json") == 0;
      return pl_cli_usage_error (PROGRAM_NAME, "", json, "%s", error->message);
    }
  if (argc > 1)
    return pl_cli_usage_error (PROGRAM_NAME, "", json, _("Unexpected argument “%s”"), argv[1]);

  engine = pl_cli_engine_find (FALSE, &lock, &error);
  if (engine == NULL && error != NULL)
    {
      if (json)
        pl_cli_print_json_error (pl_cli_error_code_name (error), error->message);
      else
        g_printerr ("%s: %s\n", PROGRAM_NAME, error->message);
      return PL_EXIT_LOCAL_ERROR;
    }
  if (engine == NULL)
    {
      const char *message = _("Portlight's engine is not running");

      if (json)
        pl_cli_print_json_error ("no-engine", message);
      else
        g_print ("%s\n", message);
      return PL_EXIT_NO_ENGINE;
    }

  leases = pl_cli_engine_list_leases (engine);
  if (json)
    print_json (engine, leases);
  else
    print_text (engine, leases);
  g_list_free_full (leases, g_object_unref);
  return PL_EXIT_OK;
}
