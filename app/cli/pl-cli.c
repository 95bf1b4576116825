/* pl-cli.c: portlightctl, the command-line client
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "pl-cli.h"
#include "pl-cli-common.h"
#include "pl-cli-engine.h"
#include "pl-cli-handoff.h"
#include "pl-cli-map.h"
#include "pl-core.h"

/* Commands: `address`, `map` and `unmap` are parsed here, one function each (cmd_*);
 * `profiles` is pl-cli-profiles.c. They share the PlCli state (pl-cli-map.h): the options
 * every command takes, the client, the progress line and the output helpers (text, JSON,
 * error to exit code).
 *
 * Where Portlight's engine runs (pl-cli-engine.c), they go through it (pl-cli-engine-map.c,
 * pl-cli-engine-address.c): the engine is then the one program that talks to the router,
 * and every mapping is one of its leases. Where none runs, the command asks the router
 * itself: pl-cli-inprocess.c, which only portlightctl-local links; portlightctl hands the
 * command over to it (pl-cli-handoff.c), so that it starts without the protocols'
 * libraries. */

#define PROGRAM_NAME       "portlightctl"
#define DEFAULT_LIFETIME   7200
#define MAX_LIFETIME       86400
#define MAX_TIMEOUT        3600


static PlCli *
cli_new (const char *command,
         const char *parameters)
{
  PlCli *cli = g_new0 (PlCli, 1);

  cli->prgname = command != NULL ? g_strdup_printf ("%s %s", PROGRAM_NAME, command)
                                 : g_strdup (PROGRAM_NAME);
  cli->parameters = parameters;
  cli->clock = pl_clock_get_default ();
  cli->deadline = G_MAXINT64;
  cli->cancellable = g_cancellable_new ();
  cli->progress = isatty (STDERR_FILENO);

  return cli;
}

static void
cli_free (PlCli *cli)
{
  g_clear_object (&cli->result);
  g_clear_object (&cli->client);
  g_clear_object (&cli->client6);
  g_free (cli->address6);
  g_clear_object (&cli->pcp_state);
  g_clear_object (&cli->clock);
  g_clear_object (&cli->gateway_address);
  g_clear_object (&cli->cancellable);
  g_clear_pointer (&cli->engine, pl_cli_engine_free);
  g_clear_object (&cli->lock);
  g_free (cli->engine_method);
  g_free (cli->prgname);
  g_free (cli->timeout_text);
  g_free (cli->gateway_text);
  g_free (cli->protocol_text);
  g_free (cli->gateway);
  g_free (cli->public_address);
  g_free (cli);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlCli, cli_free)

/* What the user reads and scripts parse: "PCP", "NAT-PMP" or "UPnP-IGD"; "pcp", "natpmp" or
 * "upnp". */
static const char *
cli_protocol_label (PlCli *cli)
{
  if (cli->client == NULL && (cli->engine != NULL || cli->engine_answered))
    return pl_cli_engine_method_label (cli->engine_method);
  return cli->client != NULL ? pl_port_mapper_get_protocol_name (cli->client) : "";
}

static const char *
cli_protocol_json (PlCli *cli)
{
  if (cli->client == NULL && (cli->engine != NULL || cli->engine_answered))
    return pl_cli_engine_method_json (cli->engine_method);
  return cli->client != NULL ? pl_method_to_string (cli->client_method) : "natpmp";
}


static PlCliMapping *
mapping_new (PlProtocol protocol,
             guint16    asked_port,
             guint16    private_port,
             guint32    lifetime)
{
  PlCliMapping *m = g_new0 (PlCliMapping, 1);

  m->protocol = protocol;
  m->asked_port = asked_port;
  m->private_port = private_port;
  m->asked_lifetime = lifetime;
  m->suggested_port = asked_port;

  return m;
}

static void
mapping_free (gpointer data)
{
  PlCliMapping *m = data;

  g_clear_pointer (&m->expires_local, g_date_time_unref);
  g_free (m);
}

const char *
pl_cli_map_protocol_json (PlProtocol protocol)
{
  return protocol == PL_PROTOCOL_UDP ? "udp" : "tcp";
}

/* Exit codes and error descriptions */

static const struct
{
  PlExitCode  code;
  const char *meaning;
} exit_codes[] = {
  { PL_EXIT_OK, N_("success") },
  { PL_EXIT_ROUTER_ERROR, N_("the router answered with an error") },
  { PL_EXIT_USAGE, N_("bad arguments or unknown option") },
  { PL_EXIT_NO_ANSWER, N_("no answer from the gateway within the timeout") },
  { PL_EXIT_NO_SERVICE, N_("the gateway refused: no PCP or NAT-PMP service on it") },
  { PL_EXIT_LOCAL_ERROR, N_("no default gateway, a socket error or another local problem") },
  { PL_EXIT_PROFILE_ERROR, N_("profile error: unknown profile, invalid value, unreadable file") },
  { PL_EXIT_NO_ENGINE, N_("status: Portlight's engine is not running") },
};

static char *
describe_exit_codes (void)
{
  GString *text = g_string_new (_("Exit status:"));

  for (guint i = 0; i < G_N_ELEMENTS (exit_codes); i++)
    g_string_append_printf (text, "\n  %d  %s", (int) exit_codes[i].code,
                            _(exit_codes[i].meaning));

  return g_string_free (text, FALSE);
}


/* The sentence shown for @error: core's message, with advice where it helps. */
static char *
cli_describe_error (PlCli        *cli,
                    const GError *error)
{
  /* "No answer" is not "no NAT-PMP": say what it may mean (tests/lab/MINIUPNPD.md, item 14). */
  if (g_error_matches (error, PL_ERROR, PL_ERROR_TIMED_OUT))
    return g_strdup_printf (_("%s: the router may speak neither PCP nor NAT-PMP, may have "
                              "them switched off, or may not accept requests from this "
                              "computer"),
                            error->message);

  /* The engine does not take --gateway: it finds its router itself. */
  if (g_error_matches (error, PL_ERROR, PL_ERROR_NO_GATEWAY) && cli->engine == NULL)
    return g_strdup_printf (_("%s (name the router with --gateway ADDRESS)"), error->message);

  return g_strdup (error->message);
}

/* Output */

/* A bad argument of the command (see pl_cli_usage_error()). Returns PL_EXIT_USAGE. */
#define cli_usage_error(cli, ...) \
  pl_cli_usage_error ((cli)->prgname, (cli)->parameters, (cli)->json, __VA_ARGS__)

/* Starts an object with "event" (--keep only, else NULL) and "gateway";
 * pl_cli_print_json_object() closes and prints it. */
JsonBuilder *
pl_cli_map_json_begin (PlCli      *cli,
            const char *event)
{
  JsonBuilder *builder = json_builder_new ();

  json_builder_begin_object (builder);
  if (event != NULL)
    pl_cli_json_add_string (builder, "event", event);
  pl_cli_json_add_string (builder, "gateway", cli->gateway);
  if (cli->client != NULL || cli->engine != NULL || cli->engine_answered)
    pl_cli_json_add_string (builder, "protocol", cli_protocol_json (cli));
  else if (cli->client6 != NULL)
    pl_cli_json_add_string (builder, "protocol", "pcp");

  return builder;
}

void
pl_cli_map_progress_clear (PlCli *cli)
{
  if (cli->progress_width > 0)
    g_printerr ("\r%*s\r", (int) cli->progress_width, "");
  cli->progress_width = 0;
}

/* Reports a failure of the command; returns its exit code. */
int
pl_cli_map_fail (PlCli        *cli,
          const GError *error)
{
  g_autofree char *message = cli_describe_error (cli, error);
  int status = pl_cli_exit_code_for_error (error);

  pl_cli_map_progress_clear (cli);

  if (status == PL_EXIT_USAGE)
    return cli_usage_error (cli, "%s", message);

  if (cli->json)
    pl_cli_print_json_error (pl_cli_error_code_name (error), message);
  else
    g_printerr ("%s: %s\n", cli->prgname, message);

  return status;
}

void
pl_cli_map_print_gateway (PlCli *cli)
{
  if (!cli->json)
    g_print (_("Gateway: %s · %s\n"), cli->gateway, cli_protocol_label (cli));
}

/* The warning goes to stderr in JSON mode too: it is for the person reading. */
void
pl_cli_map_print_double_nat (PlCli *cli)
{
  if (cli->double_nat)
    g_printerr (_("Warning: the router's public address %s is itself private: this network is "
                  "behind another NAT (double NAT or carrier-grade NAT), so mappings will "
                  "probably not be reachable from the Internet.\n"),
                cli->public_address);
}

/* Option parsing */

static gboolean
parse_number (const char *text,
              guint       min,
              guint       max,
              guint      *out)
{
  guint64 value;

  if (!g_ascii_string_to_unsigned (text, 10, min, max, &value, NULL))
    return FALSE;

  *out = (guint) value;
  return TRUE;
}

static gboolean
parse_port (const char *text,
            guint16    *out)
{
  guint value;

  if (!parse_number (text, 1, G_MAXUINT16, &value))
    return FALSE;

  *out = (guint16) value;
  return TRUE;
}

/* PUBLIC_PORT of `map`: a port, or "any" (also 0, as natpmpc is used: RFC 6886 section 3.3
 * and RFC 6887 section 11.1 make a suggested port of 0 "the router chooses"), as 0. */
static gboolean
parse_public_port (const char *text,
                   guint16    *out)
{
  if (g_strcmp0 (text, PL_PROFILE_EXTERNAL_PORT_ANY) == 0 || g_strcmp0 (text, "0") == 0)
    {
      *out = 0;
      return TRUE;
    }
  return parse_port (text, out);
}

/* GOptionContext undoes what it parsed when it fails; this says whether the failed command
 * line asked for JSON, so that even option errors come as JSON then. */
static gboolean
argv_wants_json (int    argc,
                 char **argv)
{
  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--"))
        break;
      if (g_str_equal (argv[i], "--json"))
        return TRUE;
    }

  return FALSE;
}

/* Parses the options of one command: @entries (may be NULL) and the common ones. Leaves the
 * positional arguments in @argv (after argv[0]). Returns PL_EXIT_OK or PL_EXIT_USAGE. */
static int
cli_parse (PlCli              *cli,
           const GOptionEntry *entries,
           const char         *summary,
           const char         *details,
           int                *argc,
           char             ***argv)
{
  const GOptionEntry common_entries[] = {
    { "gateway", 'g', 0, G_OPTION_ARG_STRING, &cli->gateway_text,
      N_("Ask the router at ADDRESS (IPv4) instead of the default gateway"), N_("ADDRESS") },
    { "timeout", 0, 0, G_OPTION_ARG_STRING, &cli->timeout_text,
      N_("Wait at most SECONDS (1-3600) for answers; default: about 2 minutes (RFC 6886)"),
      N_("SECONDS") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &cli->json,
      N_("Print the result, or the error, as one JSON object on standard output"), NULL },
    { "protocol", 0, 0, G_OPTION_ARG_STRING, &cli->protocol_text,
      N_("Speak PROTOCOL with the router: auto (PCP, else NAT-PMP, else UPnP-IGD; the "
         "default), pcp, natpmp or upnp"),
      N_("PROTOCOL") },
    { "no-broker", 0, 0, G_OPTION_ARG_NONE, &cli->no_broker,
      N_("Talk to the router from this process even where Portlight's engine could do it "
         "(refused while the engine runs)"), NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *exit_status = describe_exit_codes ();
  g_autofree char *description = NULL;

  g_set_prgname (cli->prgname);

  context = g_option_context_new (cli->parameters);
  g_option_context_set_summary (context, summary);
  description = details != NULL ? g_strconcat (details, "\n\n", exit_status, NULL)
                                : g_strdup (exit_status);
  g_option_context_set_description (context, description);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, common_entries, GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      cli->json = argv_wants_json (*argc, *argv);
      return cli_usage_error (cli, "%s", error->message);
    }

  if (cli->timeout_text != NULL &&
      !parse_number (cli->timeout_text, 1, MAX_TIMEOUT, &cli->timeout_s))
    return cli_usage_error (cli, _("Invalid timeout “%s”: give a number of seconds from 1 to %u"),
                            cli->timeout_text, MAX_TIMEOUT);

  if (cli->protocol_text != NULL && !pl_method_from_string (cli->protocol_text, &cli->method))
    return cli_usage_error (cli, _("Unknown protocol “%s”: give auto, pcp, natpmp or upnp"),
                            cli->protocol_text);

  if (cli->gateway_text != NULL)
    {
      cli->gateway_address = pl_gateway_parse_address (cli->gateway_text, &error);
      if (cli->gateway_address == NULL)
        return cli_usage_error (cli, _("Invalid gateway: %s"), error->message);
    }

  return PL_EXIT_OK;
}

void
pl_cli_map_set_public_address (PlCli        *cli,
                        GInetAddress *address)
{
  g_free (cli->public_address);
  cli->public_address = g_inet_address_to_string (address);
  cli->double_nat = g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4 &&
                    pl_natpmp_address_is_double_nat (g_inet_address_to_bytes (address));
}

/* Finds the engine, and with --no-broker takes the engine lock instead. @lean: without the
 * object manager (pl_cli_engine_find_lean()), for a command that follows only the leases
 * it makes. Returns an exit code. */
static int
cli_find_engine (PlCli    *cli,
                 gboolean  lean)
{
  g_autoptr(GError) error = NULL;

  if (lean)
    cli->engine = pl_cli_engine_find_lean (cli->no_broker, &cli->lock, &error);
  else
    cli->engine = pl_cli_engine_find (cli->no_broker, &cli->lock, &error);
  if (error != NULL)
    return pl_cli_map_fail (cli, error);
  return PL_EXIT_OK;
}

/* `portlightctl address` */

static int
cmd_address (int    argc,
             char **argv)
{
  g_autoptr(PlCli) cli = cli_new ("address", "");
  PlCliPeek peek;
  int status = PL_EXIT_OK;

  status = cli_parse (cli, NULL, _("Show the public address of the router (the NAT gateway)."),
                      _("Where Portlight's engine runs, it answers (the router is not asked "
                        "again).\n"
                        "With --json, prints {\"gateway\": …, \"public_address\": …, "
                        "\"epoch\": N, \"double_nat\": false};\n"
                        "\"epoch\" is null when the engine answers."),
                      &argc, &argv);
  if (status != PL_EXIT_OK)
    return status;
  if (argc > 1)
    return cli_usage_error (cli, _("Unexpected argument “%s”"), argv[1]);

  /* Where the engine runs, it says: no second client on the router. */
  peek = cli->no_broker ? PL_CLI_PEEK_ASK_ENGINE : pl_cli_engine_address_peek (cli, &status);
  if (peek == PL_CLI_PEEK_FAILED)
    return status;
  if (peek == PL_CLI_PEEK_ASK_ENGINE)
    {
      /* With --no-broker: the engine lock instead. */
      status = cli_find_engine (cli, FALSE);
      if (status != PL_EXIT_OK)
        return status;
    }
  status = PL_EXIT_OK;
  if (cli->engine != NULL)
    status = pl_cli_engine_address (cli);
  else if (peek != PL_CLI_PEEK_ANSWERED)
    status = pl_cli_address_in_process (cli);
  if (status != PL_EXIT_OK)
    return status;

  if (cli->json)
    {
      g_autoptr(JsonBuilder) builder = pl_cli_map_json_begin (cli, NULL);

      pl_cli_json_add_string (builder, "public_address", cli->public_address);
      /* null: an engine that does not publish the router's epoch. */
      json_builder_set_member_name (builder, "epoch");
      if (cli->engine_answered && cli->epoch_unknown)
        json_builder_add_null_value (builder);
      else
        json_builder_add_int_value (builder, cli->epoch);
      pl_cli_json_add_boolean (builder, "double_nat", cli->double_nat);
      pl_cli_print_json_object (builder);
    }
  else
    {
      pl_cli_map_print_gateway (cli);
      g_print (_("Public address: %s\n"), cli->public_address);
    }
  pl_cli_map_print_double_nat (cli);

  return PL_EXIT_OK;
}

/* `portlightctl map` */


void
pl_cli_map_json_add_mapping (JsonBuilder   *builder,
                  const PlCliMapping *m)
{
  g_autofree char *expires = NULL;

  if (m->expires_local != NULL)
    expires = g_date_time_format_iso8601 (m->expires_local);

  json_builder_begin_object (builder);
  pl_cli_json_add_string (builder, "family", "ipv4");
  pl_cli_json_add_string (builder, "protocol", pl_cli_map_protocol_json (m->protocol));
  pl_cli_json_add_int (builder, "private_port", m->private_port);
  pl_cli_json_add_int (builder, "public_port", m->public_port);
  pl_cli_json_add_int (builder, "requested_public_port", m->suggested_port);
  pl_cli_json_add_int (builder, "lifetime", m->lifetime);
  pl_cli_json_add_int (builder, "requested_lifetime", m->asked_lifetime);
  json_builder_set_member_name (builder, "expires");
  if (expires != NULL)
    json_builder_add_string_value (builder, expires);
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);
}

/* The pinhole of @m: reachable at this computer's own address, on the private port. */
void
pl_cli_map_json_add_pinhole (JsonBuilder        *builder,
                             PlCli              *cli,
                             const PlCliMapping *m)
{
  json_builder_begin_object (builder);
  pl_cli_json_add_string (builder, "family", "ipv6");
  pl_cli_json_add_string (builder, "protocol", pl_cli_map_protocol_json (m->protocol));
  pl_cli_json_add_string (builder, "public_address", cli->address6);
  pl_cli_json_add_int (builder, "private_port", m->private_port);
  pl_cli_json_add_int (builder, "public_port", m->private_port);
  pl_cli_json_add_int (builder, "lifetime", m->pinhole_lifetime);
  pl_cli_json_add_int (builder, "requested_lifetime", m->asked_lifetime);
  json_builder_end_object (builder);
}

/* Starts a `map` JSON object: the address part, then "mappings" (left open). */
JsonBuilder *
pl_cli_map_json_begin_map (PlCli      *cli,
                const char *event)
{
  JsonBuilder *builder = pl_cli_map_json_begin (cli, event);

  pl_cli_json_add_string (builder, "public_address", cli->public_address);
  pl_cli_json_add_int (builder, "epoch", cli->epoch);
  pl_cli_json_add_boolean (builder, "double_nat", cli->double_nat);
  json_builder_set_member_name (builder, "mappings");
  json_builder_begin_array (builder);

  return builder;
}

void
pl_cli_map_print_mapping (PlCli         *cli,
                    const PlCliMapping *m,
                    PlCliMapEvent       event)
{
  g_autofree char *expires = NULL;
  const char *protocol = pl_cli_protocol_label (m->protocol);

  switch (event)
    {
    case PL_CLI_MAP_EVENT_RENEWED:
      g_print (_("Renewed %s %s:%u → private port %u\n"), protocol, cli->public_address,
               m->public_port, m->private_port);
      break;
    case PL_CLI_MAP_EVENT_RECREATED:
      g_print (_("Re-created %s %s:%u → private port %u\n"), protocol, cli->public_address,
               m->public_port, m->private_port);
      break;
    case PL_CLI_MAP_EVENT_MAPPED:
    default:
      g_print (_("Mapped %s %s:%u → private port %u\n"), protocol, cli->public_address,
               m->public_port, m->private_port);
      break;
    }

  if (m->expires_local != NULL)
    expires = g_date_time_format (m->expires_local, "%Y-%m-%d %H:%M:%S");
  g_print (_("  Lifetime: %u s, expires %s (local time)\n"), m->lifetime,
           expires != NULL ? expires : "-");

  if (m->suggested_port == 0)
    g_print (_("  Public port %u was chosen by the router\n"), m->public_port);
  else if (m->public_port != m->suggested_port)
    g_print (_("Note: the router gave public port %u, not %u as asked\n"), m->public_port,
             m->suggested_port);
}

/* The JSON object of one event of @m, with @error for "renewal-failed". */
void
pl_cli_map_print_event (PlCli         *cli,
                           const PlCliMapping *m,
                           const char    *event,
                           const GError  *error)
{
  g_autoptr(JsonBuilder) builder = pl_cli_map_json_begin_map (cli, event);

  pl_cli_map_json_add_mapping (builder, m);
  json_builder_end_array (builder);
  if (error != NULL)
    pl_cli_json_add_error (builder, pl_cli_error_code_name (error), error->message);
  pl_cli_print_json_object (builder);
}

/* The "unmapped" event, or a line per mapping, once @mappings are removed. */
void
pl_cli_map_print_removed (PlCli     *cli,
                               GPtrArray *mappings)
{
  g_autoptr(JsonBuilder) builder = NULL;

  if (cli->json)
    {
      builder = pl_cli_map_json_begin (cli, "unmapped");
      pl_cli_json_add_boolean (builder, "all", FALSE);
      json_builder_set_member_name (builder, "unmapped");
      json_builder_begin_array (builder);
    }

  for (guint i = 0; i < mappings->len; i++)
    {
      PlCliMapping *m = g_ptr_array_index (mappings, i);

      if (builder != NULL)
        {
          json_builder_begin_object (builder);
          pl_cli_json_add_string (builder, "protocol", pl_cli_map_protocol_json (m->protocol));
          pl_cli_json_add_int (builder, "private_port", m->private_port);
          json_builder_end_object (builder);
        }
      else
        {
          g_print (_("Removed the %s mapping of private port %u\n"),
                   pl_cli_protocol_label (m->protocol), m->private_port);
        }
    }

  /* The pinholes (map --keep through the engine), after the IPv4 mappings. */
  for (guint i = 0; i < mappings->len; i++)
    {
      PlCliMapping *m = g_ptr_array_index (mappings, i);

      if (!m->pinhole)
        continue;
      if (builder != NULL)
        {
          json_builder_begin_object (builder);
          pl_cli_json_add_string (builder, "family", "ipv6");
          pl_cli_json_add_string (builder, "protocol", pl_cli_map_protocol_json (m->protocol));
          pl_cli_json_add_int (builder, "private_port", m->private_port);
          json_builder_end_object (builder);
        }
      else
        g_print (_("Removed the %s IPv6 pinhole of private port %u\n"),
                 pl_cli_protocol_label (m->protocol), m->private_port);
    }

  if (builder != NULL)
    {
      json_builder_end_array (builder);
      pl_cli_json_add_int (builder, "epoch", cli->epoch);
      pl_cli_print_json_object (builder);
    }
}

static int
cmd_map (int    argc,
         char **argv)
{
  g_autoptr(PlCli) cli = cli_new ("map", _("PUBLIC_PORT PRIVATE_PORT"));
  g_autoptr(GPtrArray) mappings = g_ptr_array_new_with_free_func (mapping_free);
  g_autofree char *lifetime_text = NULL;
  gboolean udp = FALSE;
  gboolean tcp = FALSE;
  gboolean keep = FALSE;
  gboolean ipv4 = FALSE;
  gboolean ipv6 = FALSE;
  guint lifetime = DEFAULT_LIFETIME;
  guint16 public_port;
  guint16 private_port;
  int status;
  const GOptionEntry entries[] = {
    { "udp", 'u', 0, G_OPTION_ARG_NONE, &udp, N_("Map UDP"), NULL },
    { "tcp", 't', 0, G_OPTION_ARG_NONE, &tcp, N_("Map TCP (the default; with -u, map both)"),
      NULL },
    { "lifetime", 'l', 0, G_OPTION_ARG_STRING, &lifetime_text,
      N_("Ask for a lifetime of SECONDS (1-86400, default 7200)"), N_("SECONDS") },
    { "keep", 0, 0, G_OPTION_ARG_NONE, &keep,
      N_("Keep renewing the mapping until Ctrl-C or SIGTERM, then remove it"), NULL },
    { "ipv4", '4', 0, G_OPTION_ARG_NONE, &ipv4,
      N_("Map on the router's public IPv4 address only"), NULL },
    { "ipv6", '6', 0, G_OPTION_ARG_NONE, &ipv6,
      N_("Open an IPv6 pinhole only (PCP over IPv6, or UPnP-IGD)"), NULL },
    G_OPTION_ENTRY_NULL
  };

  status = cli_parse (cli, entries,
                      _("Ask the router to forward PUBLIC_PORT of its public address to "
                        "PRIVATE_PORT of this computer.\nPUBLIC_PORT “any” (or 0) takes the "
                        "port the router chooses, as VPN port forwarding does."),
                      _("The router may give another public port than the one asked for; "
                        "portlightctl says so.\n"
                        "Without --keep the mapping lasts for the lifetime granted; with "
                        "--keep it is renewed,\n"
                        "and created again at once when the router restarts.\n"
                        "\n"
                        "With --json, prints {\"gateway\": …, \"public_address\": …, "
                        "\"epoch\": N,\n"
                        "\"double_nat\": false, \"mappings\": [{\"protocol\": \"tcp\", "
                        "\"private_port\": N,\n"
                        "\"public_port\": N, \"requested_public_port\": N, \"lifetime\": N,\n"
                        "\"requested_lifetime\": N, \"expires\": \"ISO 8601\"}]}. With --keep, "
                        "one such object\n"
                        "per line and event, with \"event\": \"mapped\", \"renewed\", "
                        "\"renewal-failed\"\n"
                        "(with \"error\"), \"router-reset\" or \"recreated\"; the last line is "
                        "the \"unmapped\" event."),
                      &argc, &argv);
  if (status != PL_EXIT_OK)
    return status;

  if (ipv4 && ipv6)
    return cli_usage_error (cli, _("Give -4 or -6, not both (neither maps on both families)"));
  if (ipv6 && cli->method == PL_METHOD_NATPMP)
    return cli_usage_error (cli, _("IPv6 pinholes need PCP: drop --protocol natpmp, or -6"));
  if (ipv6 && keep)
    return cli_usage_error (cli, _("--keep renews IPv4 mappings only for now: drop -6"));

  if (argc < 2)
    return cli_usage_error (cli, _("Missing PUBLIC_PORT and PRIVATE_PORT"));
  if (argc < 3)
    return cli_usage_error (cli, _("Missing PRIVATE_PORT"));
  if (argc > 3)
    return cli_usage_error (cli, _("Unexpected argument “%s”"), argv[3]);
  if (!parse_public_port (argv[1], &public_port))
    return cli_usage_error (cli, _("Invalid public port “%s”: give a number from 1 to 65535, "
                                   "or “any” (or 0) for the port the router chooses"),
                            argv[1]);
  if (!parse_port (argv[2], &private_port))
    return cli_usage_error (cli, _("Invalid private port “%s”: ports are numbers from 1 to 65535"),
                            argv[2]);
  if (lifetime_text != NULL && !parse_number (lifetime_text, 1, MAX_LIFETIME, &lifetime))
    return cli_usage_error (cli, _("Invalid lifetime “%s”: give a number of seconds from 1 to "
                                   "%u (use “unmap” to remove a mapping)"),
                            lifetime_text, MAX_LIFETIME);

  if (!udp && !tcp)
    tcp = TRUE;
  if (udp)
    g_ptr_array_add (mappings, mapping_new (PL_PROTOCOL_UDP, public_port, private_port, lifetime));
  if (tcp)
    g_ptr_array_add (mappings, mapping_new (PL_PROTOCOL_TCP, public_port, private_port, lifetime));

  status = cli_find_engine (cli, TRUE);
  if (status != PL_EXIT_OK)
    return status;
  if (cli->engine != NULL)
    return pl_cli_engine_map (cli, mappings, keep, ipv4, ipv6);

  return pl_cli_map_in_process (cli, mappings, keep, ipv4, ipv6);
}

/* `portlightctl unmap` */

static int
cmd_unmap (int    argc,
           char **argv)
{
  g_autoptr(PlCli) cli = cli_new ("unmap", _("PRIVATE_PORT | --all | --external PUBLIC_PORT"));
  g_autofree char *external_text = NULL;
  gboolean udp = FALSE;
  gboolean tcp = FALSE;
  gboolean all = FALSE;
  guint16 private_port = 0;
  PlProtocol protocols[2];
  guint n_protocols = 0;
  int status;
  const GOptionEntry entries[] = {
    { "udp", 'u', 0, G_OPTION_ARG_NONE, &udp, N_("Remove UDP mappings"), NULL },
    { "tcp", 't', 0, G_OPTION_ARG_NONE, &tcp,
      N_("Remove TCP mappings (the default for one port; --all does both)"), NULL },
    { "all", 'a', 0, G_OPTION_ARG_NONE, &all,
      N_("Remove every mapping of this computer instead of one port"), NULL },
    { "external", 'e', 0, G_OPTION_ARG_STRING, &external_text,
      N_("Remove the router's mapping of PUBLIC_PORT instead, whichever program made it "
         "(UPnP-IGD; see “portlightctl list”)"), N_("PUBLIC_PORT") },
    G_OPTION_ENTRY_NULL
  };

  status = cli_parse (cli, entries,
                      _("Remove the mapping of PRIVATE_PORT, or with --all every mapping of "
                        "this computer."),
                      _("With --json, prints {\"gateway\": …, \"all\": false, \"epoch\": N,\n"
                        "\"unmapped\": [{\"protocol\": \"tcp\", \"private_port\": N}]} "
                        "(private_port 0 with --all)."),
                      &argc, &argv);
  if (status != PL_EXIT_OK)
    return status;

  if (external_text != NULL)
    {
      guint16 external_port;
      int result = PL_EXIT_OK;

      if (all || argc > 1)
        return cli_usage_error (cli, _("--external takes no private port and no --all"));
      if (!parse_port (external_text, &external_port))
        return cli_usage_error (cli, _("Invalid public port “%s”: ports are numbers from 1 to "
                                       "65535"), external_text);
      if (!udp && !tcp)
        tcp = TRUE;
      if (tcp)
        result = pl_cli_unmap_external (cli->gateway_text, cli->json, PL_PROTOCOL_TCP,
                                        external_port);
      if (udp && result == PL_EXIT_OK)
        result = pl_cli_unmap_external (cli->gateway_text, cli->json, PL_PROTOCOL_UDP,
                                        external_port);
      return result;
    }
  if (all && argc > 1)
    return cli_usage_error (cli, _("Unexpected argument “%s”: --all takes no port"), argv[1]);
  if (!all && argc < 2)
    return cli_usage_error (cli, _("Missing PRIVATE_PORT (or --all)"));
  if (argc > 2)
    return cli_usage_error (cli, _("Unexpected argument “%s”"), argv[2]);
  if (!all && !parse_port (argv[1], &private_port))
    return cli_usage_error (cli, _("Invalid private port “%s”: ports are numbers from 1 to 65535"),
                            argv[1]);

  if (!udp && !tcp)
    {
      udp = all;
      tcp = TRUE;
    }
  if (udp)
    protocols[n_protocols++] = PL_PROTOCOL_UDP;
  if (tcp)
    protocols[n_protocols++] = PL_PROTOCOL_TCP;

  status = cli_find_engine (cli, FALSE);
  if (status != PL_EXIT_OK)
    return status;
  if (cli->engine != NULL && all)
    {
      g_autoptr(GError) error =
        g_error_new (G_IO_ERROR, G_IO_ERROR_BUSY,
                     _("Portlight's engine (pid %u) holds this computer's mappings: remove "
                       "them one port at a time, or stop the engine first"),
                     pl_cli_engine_get_pid (cli->engine));

      return pl_cli_map_fail (cli, error);
    }
  if (cli->engine != NULL)
    {
      gboolean found = FALSE;

      status = pl_cli_engine_unmap (cli, protocols, n_protocols, private_port, &found);
      /* None of the engine's: a mapping from before it ran, removed in-process below. */
      if (found || status != PL_EXIT_OK)
        return status;
      g_clear_pointer (&cli->engine, pl_cli_engine_free);
    }

  return pl_cli_unmap_in_process (cli, protocols, n_protocols, private_port, all);
}

/* Top level */

typedef int (*CommandFunc) (int    argc,
                            char **argv);

static const struct
{
  const char  *name;
  CommandFunc  func;
  const char  *summary;
} commands[] = {
  { "address", cmd_address, N_("Show the router's public address") },
  { "map", cmd_map, N_("Map a public port to a port of this computer") },
  { "unmap", cmd_unmap, N_("Remove one mapping, or all of them") },
  { "status", pl_cli_status_main, N_("Show the running engine and the mappings it holds") },
  { "list", pl_cli_list_main, N_("Show every mapping the router holds (UPnP-IGD)") },
  { "profiles", pl_cli_profiles_main, N_("Manage saved sets of mappings") },
  { "network", pl_cli_network_main,
    N_("Show the network this computer is on, for profiles limited to one") },
  { "run", pl_cli_run_main, N_("Keep the enabled profiles mapped until stopped") },
};

static char *
describe_commands (void)
{
  GString *text = g_string_new (_("Ask the router for port mappings with PCP (RFC 6887), NAT-PMP (RFC 6886) or UPnP-IGD."));

  g_string_append_printf (text, "\n\n%s", _("Commands:"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_string_append_printf (text, "\n  %-10s%s", commands[i].name, _(commands[i].summary));
  g_string_append_printf (text, "\n\n%s",
                          _("Every command takes -g/--gateway ADDRESS, --timeout SECONDS and "
                            "--json;\n"
                            "“portlightctl COMMAND --help” shows its options."));

  return g_string_free (text, FALSE);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *exit_status = NULL;
  gboolean version = FALSE;
  const char *parameters;
  const GOptionEntry entries[] = {
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Show the version and exit"), NULL },
    G_OPTION_ENTRY_NULL
  };

  pl_cli_handoff_init (argc, argv);
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_set_prgname (PROGRAM_NAME);
  /* stdout is for results (and --json): GLib's debug and info messages go to stderr. */
  g_log_writer_default_set_use_stderr (TRUE);

  parameters = _("COMMAND [ARGUMENT…]");
  summary = describe_commands ();
  exit_status = describe_exit_codes ();
  context = g_option_context_new (parameters);
  /* Stop at the command: its options are its own. */
  g_option_context_set_strict_posix (context, TRUE);
  g_option_context_set_summary (context, summary);
  g_option_context_set_description (context, exit_status);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return pl_cli_usage_error (PROGRAM_NAME, parameters, FALSE, "%s", error->message);

  if (version)
    {
      g_print ("%s %s\n", PROGRAM_NAME, PACKAGE_VERSION);
      return PL_EXIT_OK;
    }

  if (argc < 2)
    return pl_cli_usage_error (PROGRAM_NAME, parameters, FALSE, _("No command given"));

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (g_str_equal (argv[1], commands[i].name))
        return commands[i].func (argc - 1, argv + 1);
    }

  return pl_cli_usage_error (PROGRAM_NAME, parameters, FALSE, _("Unknown command “%s”"),
                             argv[1]);
}
