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
#include "pl-cli-map.h"
#include "pl-core.h"

/* Commands: `address`, `map` and `unmap` live here, one function each (cmd_*); `profiles` is
 * pl-cli-profiles.c. They share the PlCli state (pl-cli-map.h): the options every command takes, the
 * client, the progress line and the output helpers (text, JSON, error to exit code).
 *
 * Every network step is one asynchronous PlPortMapper call (PCP or NAT-PMP, chosen by
 * pl_mapper_probe_async unless --protocol names one) awaited by iterating the default main
 * context (cli_await), which keeps each command a plain sequence. `map --keep` hands the
 * mappings to the session engine (PlSession) instead; see "map --keep" below.
 *
 * Where Portlight's engine runs (pl-cli-engine.c), `map` and `unmap` go through it instead
 * (pl-cli-engine-map.c, with the output helpers of pl-cli-map.h): the engine is then the one
 * program that talks to the router, and every mapping is one of its leases. */

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
  return cli->client != NULL ? pl_method_to_string (pl_mapper_get_method (cli->client)) : "natpmp";
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

/* Talking to the gateway */

static void
attempt_cb (GObject  *client,
            guint     attempt,
            guint     max_attempts,
            gpointer  user_data)
{
  PlCli *cli = user_data;
  g_autofree char *line = NULL;
  glong width;

  if (!cli->progress)
    return;

  line = g_strdup_printf (_("No answer yet from %s, attempt %u of %u…"),
                          cli->gateway, attempt, max_attempts);
  width = g_utf8_strlen (line, -1);
  /* Pad with spaces over whatever is left of a longer previous line. */
  g_printerr ("\r%s%*s", line, (int) MAX (cli->progress_width - width, 0), "");
  cli->progress_width = MAX (cli->progress_width, width);
}

static void cli_result_cb (GObject *source, GAsyncResult *result, gpointer user_data);
static GAsyncResult *cli_await (PlCli *cli);

void
pl_cli_map_set_public_address (PlCli        *cli,
                        GInetAddress *address)
{
  g_free (cli->public_address);
  cli->public_address = g_inet_address_to_string (address);
  cli->double_nat = g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4 &&
                    pl_natpmp_address_is_double_nat (g_inet_address_to_bytes (address));
}

/* Finds the gateway (unless -g gave it), finds out which protocol it speaks and creates the
 * mapper for it. Returns an exit code. The gateway is the engine's: whatever carries the
 * Internet traffic, a VPN tunnel's gateway when the tunnel does (pl-tunnel.h has the rule). */
static int
cli_start (PlCli *cli)
{
  if (cli->gateway_address == NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PlGateway) found = pl_tunnel_discover_default (&error);

      if (found == NULL)
        return pl_cli_map_fail (cli, error);
      cli->gateway_address = g_object_ref (found->address);
    }

  cli->gateway = g_inet_address_to_string (cli->gateway_address);

  if (cli->timeout_s > 0)
    cli->deadline = pl_clock_get_time (cli->clock) + (gint64) cli->timeout_s * G_USEC_PER_SEC;

  /* Which protocol: probed (PCP and NAT-PMP at once), or the one asked for. */
  {
    g_autoptr(GAsyncResult) result = NULL;
    g_autoptr(GInetAddress) address = NULL;
    g_autoptr(GError) error = NULL;

    pl_mapper_probe_async (cli->gateway_address, cli->clock, cli->method,
                           cli->timeout_s * 1000, cli->cancellable, cli_result_cb, cli);
    result = cli_await (cli);
    cli->client = pl_mapper_probe_finish (result, &address, &cli->epoch, &error);
    if (cli->client == NULL)
      return pl_cli_map_fail (cli, error);
    if (address != NULL)
      pl_cli_map_set_public_address (cli, address);
  }
  if (g_signal_lookup ("attempt", G_OBJECT_TYPE (cli->client)) != 0)
    g_signal_connect (cli->client, "attempt", G_CALLBACK (attempt_cb), cli);

  return PL_EXIT_OK;
}

/* Finds the engine for a command that can use it (@use_engine), and with --no-broker takes
 * the engine lock instead. Returns an exit code. */
static int
cli_find_engine (PlCli    *cli,
                 gboolean  use_engine)
{
  g_autoptr(GError) error = NULL;

  if (!use_engine && !cli->no_broker)
    return PL_EXIT_OK;
  cli->engine = pl_cli_engine_find (cli->no_broker, &cli->lock, &error);
  if (error != NULL)
    return pl_cli_map_fail (cli, error);
  return PL_EXIT_OK;
}

/* --timeout for the next request (0: the protocol's own schedule). */
static void
cli_set_timeout (PlCli *cli,
                 guint  timeout_ms)
{
  if (PL_IS_CLIENT (cli->client))
    pl_client_set_timeout (PL_CLIENT (cli->client), timeout_ms);
  else if (cli->client != NULL && PL_IS_PCP_CLIENT (cli->client))
    g_object_set (cli->client, "timeout", timeout_ms, NULL);
  if (cli->client6 != NULL && PL_IS_PCP_CLIENT (cli->client6))
    g_object_set (cli->client6, "timeout", timeout_ms, NULL);
}

/* Bounds the next request by what is left of --timeout (none: the client's full schedule). */
static void
cli_bound_request (PlCli *cli)
{
  guint timeout_ms = 0;

  if (cli->deadline != G_MAXINT64)
    {
      gint64 left_ms = (cli->deadline - pl_clock_get_time (cli->clock)) / 1000;

      timeout_ms = (guint) CLAMP (left_ms, 1, G_MAXUINT);
    }

  cli_set_timeout (cli, timeout_ms);
}

static void
cli_result_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  PlCli *cli = user_data;

  g_assert (cli->result == NULL);
  cli->result = g_object_ref (result);
}

/* Waits for the request in flight (started with cli_result_cb) and returns its result. */
static GAsyncResult *
cli_await (PlCli *cli)
{
  while (cli->result == NULL)
    g_main_context_iteration (NULL, TRUE);

  pl_cli_map_progress_clear (cli);

  return g_steal_pointer (&cli->result);
}

static gboolean
cli_get_external_address (PlCli   *cli,
                          GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GInetAddress) address = NULL;
  guint32 epoch = 0;

  pl_port_mapper_get_external_address_async (cli->client, cli->cancellable, cli_result_cb, cli);
  result = cli_await (cli);
  address = pl_port_mapper_get_external_address_finish (cli->client, result, &epoch, error);
  if (address == NULL)
    return FALSE;

  pl_cli_map_set_public_address (cli, address);
  cli->epoch = epoch;

  return TRUE;
}

/* PCP mappings belong to their nonce (RFC 6887 section 11.1): each one this command makes is
 * kept in the mapping state file (PlPcpState), so that a later `unmap` or `map`, from another
 * process, renews or deletes it as its owner instead of getting NOT_AUTHORIZED. A state file
 * that cannot be read or written costs a warning, never the mapping itself. */
static PlPcpState *
cli_pcp_state (PlCli *cli)
{
  g_autoptr(PlPcpState) state = NULL;
  g_autoptr(GError) error = NULL;

  if (cli->pcp_state_tried)
    return cli->pcp_state;
  cli->pcp_state_tried = TRUE;

  state = pl_pcp_state_new (NULL);
  if (!pl_pcp_state_load (state, &error))
    {
      pl_cli_map_progress_clear (cli);
      g_printerr (_("%s: warning: %s\n"), cli->prgname, error->message);
      return NULL;
    }
  cli->pcp_state = g_steal_pointer (&state);
  return cli->pcp_state;
}

/* PCP: the nonces of earlier commands' mappings, so that this one renews or deletes them
 * (the backend reads and updates the journal). */
static void
cli_use_journal (PlCli *cli)
{
  if (PL_IS_PCP_CLIENT (cli->client) && !cli->journal_set)
    {
      pl_port_mapper_set_journal (cli->client, cli_pcp_state (cli));
      cli->journal_set = TRUE;
    }
}

/* IPv6 pinholes: PCP over IPv6, from this computer's stable global address to the default
 * router's link-local one (tests/lab/MINIUPNPD.md, item 11), or with a UPnP-IGD router its
 * WANIPv6FirewallControl service over IPv6. A pinhole opens the private port of that
 * address; there is no translation. */

#define IPV6_PROBE_MS 2000   /* when IPv6 is a bonus: a router on the link answers in ms */

static gboolean
cli_is_upnp6 (PlCli *cli)
{
  return cli->client6 != NULL && PL_IS_UPNP_PINHOLE_CLIENT (cli->client6);
}

/* Whether cli->client's router can open pinholes too. */
static gboolean
cli_offers_ipv6 (PlCli *cli)
{
  return cli->client != NULL &&
         (pl_port_mapper_get_capabilities (cli->client) & PL_MAPPER_CAPABILITY_IPV6) != 0;
}

/* Sets up cli->client6. @required: -6 asked for it (then every failure is the command's);
 * otherwise a failure only means no pinhole, and the wait is short. */
static gboolean
cli_start_ipv6 (PlCli     *cli,
                gboolean   required,
                gboolean   probe,
                GError   **error)
{
  g_autoptr(PlIpv6Router) router = NULL;
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(PlPortMapper) client = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  guint timeout_ms = 0;

  router = pl_ipv6_router_discover (error);
  if (router == NULL)
    return FALSE;
  address = pl_ipv6_stable_address (router->ifindex, error);
  if (address == NULL)
    return FALSE;

  /* A UPnP-IGD router's own pinholes; PCP otherwise (-6 alone, or a PCP router). */
  if (cli->client != NULL && PL_IS_UPNP_CLIENT (cli->client))
    client = pl_mapper_new_ipv6 (cli->client, router->address, router->ifindex, address,
                                 cli->clock);
  if (client == NULL)
    client = g_object_new (PL_TYPE_PCP_CLIENT,
                           "gateway", router->address,
                           "clock", cli->clock,
                           "bind-address", address,
                           "scope-id", router->ifindex,
                           NULL);
  pl_port_mapper_set_journal (client, cli_pcp_state (cli));

  cli->client6 = g_object_ref (client);
  cli->address6 = g_inet_address_to_string (address);
  if (!probe)
    return TRUE;

  cli_bound_request (cli);
  if (PL_IS_PCP_CLIENT (client))
    {
      g_object_get (client, "timeout", &timeout_ms, NULL);
      if (!required && (timeout_ms == 0 || timeout_ms > IPV6_PROBE_MS))
        g_object_set (client, "timeout", IPV6_PROBE_MS, NULL);
    }
  else if (!required)
    pl_upnp_pinhole_client_set_timeout (PL_UPNP_PINHOLE_CLIENT (client), IPV6_PROBE_MS);

  pl_port_mapper_probe_async (client, cli->cancellable, cli_result_cb, cli);
  result = cli_await (cli);
  if (!pl_port_mapper_probe_finish (client, result, error))
    {
      g_clear_object (&cli->client6);
      g_clear_pointer (&cli->address6, g_free);
      return FALSE;
    }
  return TRUE;
}

/* Opens the pinhole of @m (its private port, on cli->address6). */
static gboolean
cli_map6 (PlCli    *cli,
          PlCliMapping  *m,
          GError  **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  guint32 lifetime = 0;

  cli_bound_request (cli);
  pl_port_mapper_map_async (cli->client6, m->protocol, m->private_port, m->private_port,
                            m->asked_lifetime, cli->cancellable, cli_result_cb, cli);
  result = cli_await (cli);
  if (!pl_port_mapper_map_finish (cli->client6, result, NULL, &lifetime, NULL, error))
    return FALSE;

  m->pinhole = TRUE;
  m->pinhole_lifetime = lifetime;
  return TRUE;
}

/* Closes the pinhole of (@protocol, @private_port) if the journal says one was opened. */
static gboolean
cli_unmap6 (PlCli       *cli,
            PlProtocol   protocol,
            guint16      private_port,
            gboolean    *closed,
            GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  *closed = FALSE;
  /* UPnP-IGD keeps no journal: the router finds the pinhole (see PlUpnpPinholeClient). */
  if (cli->client6 == NULL ||
      (!cli_is_upnp6 (cli) &&
       (cli_pcp_state (cli) == NULL ||
        pl_pcp_state_lookup (cli->pcp_state,
                             pl_pcp_client_get_gateway (PL_PCP_CLIENT (cli->client6)),
                             protocol, private_port, G_SOCKET_FAMILY_IPV6) == NULL)))
    return TRUE;

  cli_bound_request (cli);
  pl_port_mapper_unmap_async (cli->client6, protocol, private_port, cli->cancellable,
                              cli_result_cb, cli);
  result = cli_await (cli);
  if (!pl_port_mapper_unmap_finish (cli->client6, result, NULL, error))
    return FALSE;
  *closed = TRUE;
  return TRUE;
}

/* Asks for @m, suggesting @suggested_port; on success records the grant in @m. */
static gboolean
cli_map (PlCli    *cli,
         PlCliMapping  *m,
         guint16   suggested_port,
         GError  **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  guint16 public_port = 0;
  guint32 lifetime = 0;
  guint32 epoch = 0;

  g_autoptr(GError) local_error = NULL;

  cli_use_journal (cli);
  pl_port_mapper_map_async (cli->client, m->protocol, m->private_port, suggested_port,
                            m->asked_lifetime, cli->cancellable, cli_result_cb, cli);
  result = cli_await (cli);
  if (!pl_port_mapper_map_finish (cli->client, result, &public_port, &lifetime, &epoch,
                                  &local_error))
    {
      /* "any": a gateway that will not choose is asked for the private port (as the
       * engine does, pl_error_refuses_any_port()). */
      if (suggested_port != 0 || !pl_error_refuses_any_port (local_error))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      g_debug ("The gateway refused to choose a port (%s); suggesting %u",
               local_error->message, m->private_port);
      g_clear_error (&local_error);
      g_clear_object (&result);
      suggested_port = m->private_port;
      pl_port_mapper_map_async (cli->client, m->protocol, m->private_port, suggested_port,
                                m->asked_lifetime, cli->cancellable, cli_result_cb, cli);
      result = cli_await (cli);
      if (!pl_port_mapper_map_finish (cli->client, result, &public_port, &lifetime, &epoch,
                                      error))
        return FALSE;
    }

  /* PCP: the public address comes with every mapping. */
  if (PL_IS_PCP_CLIENT (cli->client) &&
      pl_pcp_client_get_external_address (PL_PCP_CLIENT (cli->client)) != NULL)
    {
      g_autoptr(GInetAddress) address =
        g_inet_address_new_from_string (pl_pcp_client_get_external_address (PL_PCP_CLIENT (cli->client)));

      if (address != NULL)
        pl_cli_map_set_public_address (cli, address);
    }

  m->suggested_port = suggested_port;
  m->public_port = public_port;
  m->lifetime = lifetime;
  m->expires = pl_clock_get_time (cli->clock) + (gint64) lifetime * G_USEC_PER_SEC;
  g_clear_pointer (&m->expires_local, g_date_time_unref);
  m->expires_local = g_date_time_new_from_unix_local (g_get_real_time () / G_USEC_PER_SEC +
                                                      lifetime);
  cli->epoch = epoch;

  return TRUE;
}

/* Deletes one mapping (@private_port > 0) or all of @protocol (@private_port 0). */
static gboolean
cli_unmap (PlCli       *cli,
           PlProtocol   protocol,
           guint16      private_port,
           GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  guint32 epoch = 0;
  gboolean ok;

  if (private_port > 0)
    {
      cli_use_journal (cli);
      pl_port_mapper_unmap_async (cli->client, protocol, private_port, cli->cancellable,
                                  cli_result_cb, cli);
      result = cli_await (cli);
      ok = pl_port_mapper_unmap_finish (cli->client, result, &epoch, error);
    }
  else if (PL_IS_CLIENT (cli->client))
    {
      pl_client_unmap_all_async (PL_CLIENT (cli->client), protocol, cli->cancellable,
                                 cli_result_cb, cli);
      result = cli_await (cli);
      ok = pl_client_unmap_all_finish (PL_CLIENT (cli->client), result, &epoch, error);
    }
  else
    {
      /* PCP deletes a mapping by its nonce: there is no "all of this computer". */
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("%s cannot remove all mappings at once: name the private port, or use "
                     "--protocol natpmp"), cli_protocol_label (cli));
      ok = FALSE;
    }

  if (ok)
    cli->epoch = epoch;

  return ok;
}

/* `portlightctl address` */

static int
cmd_address (int    argc,
             char **argv)
{
  g_autoptr(PlCli) cli = cli_new ("address", "");
  g_autoptr(GError) error = NULL;
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
      status = cli_find_engine (cli, TRUE);
      if (status != PL_EXIT_OK)
        return status;
    }
  status = PL_EXIT_OK;
  if (cli->engine != NULL)
    status = pl_cli_engine_address (cli);
  else if (peek != PL_CLI_PEEK_ANSWERED)
    {
      status = cli_start (cli);
      if (status == PL_EXIT_OK)
        {
          cli_bound_request (cli);
          if (cli->public_address == NULL && !cli_get_external_address (cli, &error))
            return pl_cli_map_fail (cli, error);
        }
    }
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

/* map --keep
 *
 * After the public address (asked as plain `map` does), the mappings go to a PlSession, the
 * engine of the tray and of `portlightctl run`: one profile per protocol ("udp 8080",
 * "tcp 8080", in the order plain `map` asks), on the gateway resolved above, through the same
 * client. The session renews at half the granted lifetime suggesting the granted port,
 * retries with back-off, creates lost mappings again, detects router reboots by the epoch and
 * by the announcements on 224.0.0.1:5350, and deletes the mappings when stopped. The code
 * below only turns its signals into the lines and JSON events of --keep.
 *
 * Until every mapping has been granted once the command is starting: the first failure of a
 * first request ends it with the error and exit code of plain `map`, once the session has
 * deleted whatever it did map. */

typedef struct
{
  PlCli      *cli;
  GPtrArray  *mappings;         /* PlCliMapping*, not owned */
  PlSession  *session;
  GMainLoop  *loop;
  guint       signal_ids[2];
  guint       n_signals;
  gboolean    started;          /* every mapping was granted once: "mapped" is printed */
  gboolean    failed;           /* a first request failed: @status is its exit code */
  gboolean    stopping;
  gboolean    stopped;
  int         status;
} Keeper;

static void keeper_stop (Keeper *keeper);

static gboolean
keeper_signal_cb (gpointer user_data)
{
  Keeper *keeper = user_data;

  keeper->n_signals++;
  /* Ends the address request if it is still out. */
  g_cancellable_cancel (keeper->cli->cancellable);

  if (keeper->n_signals > 1)
    g_main_loop_quit (keeper->loop);   /* do not wait for the clean-up */
  else if (keeper->session != NULL)
    keeper_stop (keeper);

  return G_SOURCE_CONTINUE;
}

static Keeper *
keeper_new (PlCli     *cli,
            GPtrArray *mappings)
{
  Keeper *keeper = g_new0 (Keeper, 1);

  keeper->cli = cli;
  keeper->mappings = mappings;
  keeper->loop = g_main_loop_new (NULL, FALSE);
  keeper->signal_ids[0] = g_unix_signal_add (SIGINT, keeper_signal_cb, keeper);
  keeper->signal_ids[1] = g_unix_signal_add (SIGTERM, keeper_signal_cb, keeper);

  return keeper;
}

static void
keeper_free (Keeper *keeper)
{
  for (guint i = 0; i < G_N_ELEMENTS (keeper->signal_ids); i++)
    g_clear_handle_id (&keeper->signal_ids[i], g_source_remove);
  if (keeper->cli->client != NULL)
    g_signal_handlers_disconnect_by_data (keeper->cli->client, keeper);
  if (keeper->session != NULL)
    g_signal_handlers_disconnect_by_data (keeper->session, keeper);
  /* After a second signal the stop is still pending and holds the session; the process
   * exits without running it. */
  g_clear_object (&keeper->session);
  g_clear_pointer (&keeper->loop, g_main_loop_unref);
  g_free (keeper);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Keeper, keeper_free)

static PlCliMapping *
keeper_find (Keeper    *keeper,
             PlMapping *mapping)
{
  for (guint i = 0; i < keeper->mappings->len; i++)
    {
      PlCliMapping *m = g_ptr_array_index (keeper->mappings, i);

      if (m->protocol == pl_mapping_get_protocol (mapping))
        return m;
    }

  return NULL;
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

static void
keeper_print_json (Keeper        *keeper,
                   const PlCliMapping *m,
                   const char    *event,
                   const GError  *error)
{
  pl_cli_map_print_event (keeper->cli, m, event, error);
}

/* The JSON "mapped" event, or the text line, once every mapping was granted. */
static void
keeper_check_started (Keeper *keeper)
{
  PlCli *cli = keeper->cli;

  for (guint i = 0; i < keeper->mappings->len; i++)
    {
      if (!((PlCliMapping *) g_ptr_array_index (keeper->mappings, i))->granted)
        return;
    }

  keeper->started = TRUE;
  /* From here on --timeout bounds each request, not the whole command. */
  cli_set_timeout (cli, cli->timeout_s * 1000);

  if (cli->json)
    {
      g_autoptr(JsonBuilder) builder = pl_cli_map_json_begin_map (cli, "mapped");

      for (guint i = 0; i < keeper->mappings->len; i++)
        pl_cli_map_json_add_mapping (builder, g_ptr_array_index (keeper->mappings, i));
      json_builder_end_array (builder);
      pl_cli_print_json_object (builder);
    }
  else
    {
      g_print ("%s", ngettext ("Keeping the mapping until Ctrl-C or SIGTERM, renewing it at "
                               "half its lifetime…\n",
                               "Keeping the mappings until Ctrl-C or SIGTERM, renewing them "
                               "at half their lifetime…\n",
                               keeper->mappings->len));
      fflush (stdout);
    }
}

static void
keeper_granted (Keeper    *keeper,
                PlCliMapping   *m,
                PlMapping *mapping)
{
  PlCli *cli = keeper->cli;
  gboolean first = !m->granted;
  gboolean recreated = m->lost;

  /* The session suggested the port granted before, else the one asked for. */
  m->suggested_port = m->public_port != 0 ? m->public_port : m->asked_port;
  m->public_port = pl_mapping_get_external_port (mapping);
  m->lifetime = pl_mapping_get_lifetime (mapping);
  m->expires = pl_mapping_get_expires (mapping);
  g_clear_pointer (&m->expires_local, g_date_time_unref);
  m->expires_local = pl_cli_clock_time_to_local (cli->clock, m->expires);
  m->granted = TRUE;
  m->lost = FALSE;
  m->failure_reported = FALSE;

  if (!keeper->started)
    {
      /* Renewals while another mapping is still being asked for are not news yet. */
      if (first && !cli->json)
        pl_cli_map_print_mapping (cli, m, PL_CLI_MAP_EVENT_MAPPED);
      keeper_check_started (keeper);
      return;
    }

  if (cli->json)
    {
      keeper_print_json (keeper, m, recreated ? "recreated" : "renewed", NULL);
      return;
    }
  pl_cli_map_print_mapping (cli, m, recreated ? PL_CLI_MAP_EVENT_RECREATED : PL_CLI_MAP_EVENT_RENEWED);
  fflush (stdout);
}

/* A request failed: a renewal (@holds: the mapping is still there until it expires) or a
 * creation. */
static void
keeper_failed (Keeper       *keeper,
               PlCliMapping      *m,
               gboolean      holds,
               const GError *error)
{
  PlCli *cli = keeper->cli;

  if (!m->granted)
    {
      /* A first request: the command fails as plain `map` does, once the session has
       * deleted what it mapped. */
      if (!keeper->failed)
        {
          keeper->failed = TRUE;
          keeper->status = pl_cli_map_fail (cli, error);
          keeper_stop (keeper);
        }
      return;
    }

  m->failure_reported = TRUE;
  if (!keeper->started)
    return;

  /* Plain core messages: the advice for a first contact does not fit a router that
   * answered. */
  if (cli->json)
    {
      keeper_print_json (keeper, m, "renewal-failed", error);
    }
  else if (holds)
    {
      g_autofree char *expires = NULL;

      if (m->expires_local != NULL)
        expires = g_date_time_format (m->expires_local, "%H:%M:%S");
      g_printerr (_("Could not renew the %s mapping of private port %u: %s; retrying until "
                    "it expires at %s\n"),
                  pl_cli_protocol_label (m->protocol), m->private_port, error->message,
                  expires != NULL ? expires : "-");
    }
  else
    {
      g_printerr (_("Could not re-create the %s mapping of private port %u: %s; retrying\n"),
                  pl_cli_protocol_label (m->protocol), m->private_port, error->message);
    }
}

/* The grant ran out before a renewal got through; the session creates the mapping again. */
static void
keeper_expired (Keeper  *keeper,
                PlCliMapping *m)
{
  PlCli *cli = keeper->cli;

  if (!keeper->started)
    return;

  if (!m->failure_reported)
    {
      /* The renewal went unanswered until then: the session gave up on it at the expiry. */
      g_autoptr(GError) error = g_error_new (PL_ERROR, PL_ERROR_TIMED_OUT,
                                             _("No answer from %s before the mapping expired"),
                                             cli->gateway);

      if (cli->json)
        keeper_print_json (keeper, m, "renewal-failed", error);
      else
        g_printerr (_("Could not renew the %s mapping of private port %u: %s\n"),
                    pl_cli_protocol_label (m->protocol), m->private_port, error->message);
    }

  if (!cli->json)
    g_printerr (_("The %s mapping of private port %u has expired; re-creating it\n"),
                pl_cli_protocol_label (m->protocol), m->private_port);
}

static void
keeper_mapping_changed_cb (PlSession *session,
                           PlMapping *mapping,
                           Keeper    *keeper)
{
  PlCliMapping *m = keeper_find (keeper, mapping);
  const GError *error = pl_mapping_get_error (mapping);

  if (m == NULL || keeper->stopping)
    return;

  pl_cli_map_progress_clear (keeper->cli);

  switch (pl_mapping_get_state (mapping))
    {
    case PL_MAPPING_STATE_ACTIVE:
      /* With an error, a renewal failed; the grant holds until it expires. */
      if (error == NULL)
        keeper_granted (keeper, m, mapping);
      else
        keeper_failed (keeper, m, TRUE, error);
      break;

    case PL_MAPPING_STATE_MAPPING:
      /* Asked for again: a granted mapping expired, or the router lost it in a reset
       * (router-reset follows). Retries after a failure come here too. */
      if (m->granted && !m->lost)
        {
          m->lost = TRUE;
          if (pl_clock_get_time (keeper->cli->clock) >= m->expires)
            keeper_expired (keeper, m);
        }
      break;

    case PL_MAPPING_STATE_FAILED:
      m->lost = m->granted;
      if (error != NULL)
        keeper_failed (keeper, m, FALSE, error);
      break;

    case PL_MAPPING_STATE_DISABLED:
    default:
      break;
    }
}

static void
keeper_router_reset_cb (PlSession *session,
                        guint      n_mappings,
                        Keeper    *keeper)
{
  PlCli *cli = keeper->cli;

  if (!keeper->started || keeper->stopping)
    return;

  pl_cli_map_progress_clear (cli);
  if (cli->json)
    {
      g_autoptr(JsonBuilder) builder = pl_cli_map_json_begin_map (cli, "router-reset");

      /* The mappings as they were; "recreated" events follow. */
      for (guint i = 0; i < keeper->mappings->len; i++)
        pl_cli_map_json_add_mapping (builder, g_ptr_array_index (keeper->mappings, i));
      json_builder_end_array (builder);
      pl_cli_print_json_object (builder);
    }
  else
    {
      g_printerr (g_dngettext (GETTEXT_PACKAGE,
                               "The router restarted and lost its mappings: restoring %u "
                               "mapping",
                               "The router restarted and lost its mappings: restoring %u "
                               "mappings",
                               n_mappings),
                  n_mappings);
      g_printerr ("\n");
    }
}

static void
keeper_external_address_changed_cb (PlSession  *session,
                                    const char *address,
                                    Keeper     *keeper)
{
  PlCli *cli = keeper->cli;
  g_autoptr(GInetAddress) inet = NULL;

  /* The session's first answer normally repeats the address asked above. */
  if (address == NULL || keeper->stopping || g_strcmp0 (address, cli->public_address) == 0)
    return;

  inet = g_inet_address_new_from_string (address);
  g_free (cli->public_address);
  cli->public_address = g_strdup (address);
  cli->double_nat = inet != NULL && g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV4 &&
                    pl_natpmp_address_is_double_nat (g_inet_address_to_bytes (inet));

  /* In JSON the next event carries it. */
  pl_cli_map_progress_clear (cli);
  if (!cli->json)
    {
      g_print (_("Public address: %s\n"), cli->public_address);
      fflush (stdout);
    }
  pl_cli_map_print_double_nat (cli);
}

static void
keeper_epoch_cb (GObject  *client,
                 guint     epoch,
                 Keeper   *keeper)
{
  keeper->cli->epoch = epoch;
}

/* The session talks through the client `map` already made for the gateway. */
static PlPortMapper *
keeper_mapper_factory (GInetAddress *gateway,
                       PlClock      *clock,
                       gpointer      user_data)
{
  return PL_PORT_MAPPER (g_object_ref (user_data));
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

static void
keeper_print_removed (Keeper *keeper)
{
  pl_cli_map_print_removed (keeper->cli, keeper->mappings);
}

static void
keeper_stopped_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Keeper *keeper = user_data;
  PlCli *cli = keeper->cli;
  g_autoptr(GError) error = NULL;
  gboolean ok = pl_session_stop_finish (PL_SESSION (source), result, &error);

  keeper->stopped = TRUE;
  pl_cli_map_progress_clear (cli);

  /* After a failed first request its error was the last word. */
  if (keeper->failed)
    ;
  else if (ok)
    {
      keeper_print_removed (keeper);
      keeper->status = PL_EXIT_OK;
    }
  else
    {
      if (cli->json)
        pl_cli_print_json_error (pl_cli_error_code_name (error), error->message);
      else
        g_printerr ("%s: %s\n", cli->prgname, error->message);
      keeper->status = pl_cli_exit_code_for_error (error);
    }

  g_main_loop_quit (keeper->loop);
}

/* Deletes the mappings (within the session's 2 s) and ends the main loop. */
static void
keeper_stop (Keeper *keeper)
{
  if (keeper->stopping)
    return;

  keeper->stopping = TRUE;
  pl_session_stop_async (keeper->session, NULL, keeper_stopped_cb, keeper);
}

/* Runs the session on @keeper's mappings until SIGINT/SIGTERM, or until a first request
 * fails. Returns the exit code. */
static int
keeper_run (Keeper *keeper)
{
  PlCli *cli = keeper->cli;
  g_autoptr(GListStore) profiles = g_list_store_new (PL_TYPE_PROFILE);

  for (guint i = 0; i < keeper->mappings->len; i++)
    {
      PlCliMapping *m = g_ptr_array_index (keeper->mappings, i);
      g_autofree char *name = g_strdup_printf ("%s %u", pl_cli_map_protocol_json (m->protocol),
                                               m->private_port);
      g_autoptr(PlProfile) profile = pl_profile_new (name);

      pl_profile_set_protocol (profile, m->protocol == PL_PROTOCOL_UDP
                                        ? PL_PROFILE_PROTOCOL_UDP : PL_PROFILE_PROTOCOL_TCP);
      pl_profile_set_internal_port (profile, m->private_port);
      pl_profile_set_external_port (profile, m->asked_port);
      pl_profile_set_any_external_port (profile, m->asked_port == 0);
      pl_profile_set_lifetime (profile, m->asked_lifetime);
      g_list_store_append (profiles, profile);
    }

  keeper->session = pl_session_new (G_LIST_MODEL (profiles), cli->clock, cli->gateway_address,
                                    FALSE);
  pl_session_set_mapper_factory (keeper->session, keeper_mapper_factory,
                                 g_object_ref (cli->client), g_object_unref);
  /* --keep reports IPv4 mappings; pinholes are `map`'s (without --keep) and run's. */
  pl_session_set_ipv6_pinholes (keeper->session, FALSE);
  g_signal_connect (cli->client, "epoch", G_CALLBACK (keeper_epoch_cb), keeper);
  g_signal_connect (keeper->session, "mapping-changed",
                    G_CALLBACK (keeper_mapping_changed_cb), keeper);
  g_signal_connect (keeper->session, "router-reset", G_CALLBACK (keeper_router_reset_cb), keeper);
  g_signal_connect (keeper->session, "external-address-changed",
                    G_CALLBACK (keeper_external_address_changed_cb), keeper);

  /* The first requests get what is left of --timeout, as in plain `map`. */
  cli_bound_request (cli);
  pl_session_start (keeper->session);
  g_main_loop_run (keeper->loop);

  if (keeper->n_signals > 1 && !keeper->stopped)
    {
      const char *message = _("Interrupted again: mappings were left in place; they expire "
                              "by themselves");

      pl_cli_map_progress_clear (cli);
      if (cli->json)
        pl_cli_print_json_error ("interrupted", message);
      else
        g_printerr ("%s: %s\n", cli->prgname, message);
      return PL_EXIT_LOCAL_ERROR;
    }

  return keeper->status;
}

static int
cmd_map (int    argc,
         char **argv)
{
  g_autoptr(PlCli) cli = cli_new ("map", _("PUBLIC_PORT PRIVATE_PORT"));
  g_autoptr(GPtrArray) mappings = g_ptr_array_new_with_free_func (mapping_free);
  g_autoptr(Keeper) keeper = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(GError) error = NULL;
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

  /* --keep in-process is an engine of its own: it takes the engine lock (--no-broker has),
   * so that it never runs beside another one it cannot reach (no session bus). */
  if (keep && cli->lock == NULL)
    {
      g_autoptr(GError) lock_error = NULL;
      guint holder = 0;

      cli->lock = pl_engine_lock_acquire (NULL, &holder, &lock_error);
      if (cli->lock == NULL && g_error_matches (lock_error, G_IO_ERROR, G_IO_ERROR_BUSY))
        {
          g_clear_error (&lock_error);
          g_set_error (&lock_error, G_IO_ERROR, G_IO_ERROR_BUSY,
                       _("Portlight's engine is already running (pid %u) and cannot be "
                         "reached from here (no session bus): it would not know of this "
                         "mapping"), holder);
          return pl_cli_map_fail (cli, lock_error);
        }
      if (cli->lock == NULL)
        g_debug ("No engine lock: %s", lock_error->message);
    }

  /* --keep: from here on SIGINT/SIGTERM stop the command (and delete what it mapped). */
  if (keep)
    keeper = keeper_new (cli, mappings);

  if (ipv6)
    {
      /* IPv6 only: the router is the IPv6 default route's, spoken to over PCP; with
       * --protocol upnp, or when it refuses PCP (auto), through the UPnP-IGD router's
       * firewall service, which the IPv4 search finds first. */
      gboolean upnp = cli->method == PL_METHOD_UPNP;

      if (!upnp && !cli_start_ipv6 (cli, TRUE, TRUE, &error))
        {
          if (cli->method != PL_METHOD_AUTO || !g_error_matches (error, PL_ERROR, PL_ERROR_REFUSED))
            return pl_cli_map_fail (cli, error);
          g_debug ("No PCP over IPv6 (%s): trying UPnP-IGD", error->message);
          g_clear_error (&error);
          cli->method = PL_METHOD_UPNP;
          upnp = TRUE;
        }
      if (upnp)
        {
          status = cli_start (cli);
          if (status != PL_EXIT_OK)
            return status;
          if (!cli_offers_ipv6 (cli))
            return pl_cli_map_fail (cli, g_error_new (PL_ERROR, PL_ERROR_UNSUPPORTED_OPCODE,
                                               _("The router at %s opens no IPv6 pinholes "
                                                 "over UPnP-IGD"), cli->gateway));
          if (!cli_start_ipv6 (cli, TRUE, TRUE, &error))
            return pl_cli_map_fail (cli, error);
        }
      g_free (cli->gateway);
      cli->gateway = g_inet_address_to_string (pl_port_mapper_get_gateway (cli->client6));
      if (!cli->json && upnp)
        g_print (_("Gateway: %s · UPnP-IGD (IPv6)\n"), cli->gateway);
      else if (!cli->json)
        g_print (_("Gateway: %s · PCP (IPv6)\n"), cli->gateway);
    }
  else
    {
      status = cli_start (cli);
      if (status != PL_EXIT_OK)
        return status;

      /* The probe may have heard the address already (its NAT-PMP leg); PCP has no request
       * for it and tells it with the first mapping instead. */
      cli_bound_request (cli);
      if (cli->public_address == NULL && !cli_get_external_address (cli, &error))
        {
          if (keeper != NULL && keeper->n_signals > 0)
            return PL_EXIT_OK;
          if (!PL_IS_PCP_CLIENT (cli->client) ||
              !g_error_matches (error, PL_ERROR, PL_ERROR_UNSUPPORTED_OPCODE))
            return pl_cli_map_fail (cli, error);
          g_clear_error (&error);
        }
      if (keeper != NULL && keeper->n_signals > 0)
        return PL_EXIT_OK;

      if (!cli->json)
        {
          pl_cli_map_print_gateway (cli);
          if (cli->public_address != NULL)
            g_print (_("Public address: %s\n"), cli->public_address);
        }
      pl_cli_map_print_double_nat (cli);

      if (keeper != NULL)
        return keeper_run (keeper);

      /* Both families by default, when the router can open pinholes (PCP, or UPnP-IGD with
       * WANIPv6FirewallControl): a pinhole too, if this computer has a stable global IPv6
       * address and the router answers over IPv6. */
      if (!ipv4 && cli_offers_ipv6 (cli))
        {
          g_autoptr(GError) error6 = NULL;

          if (!cli_start_ipv6 (cli, FALSE, TRUE, &error6))
            {
              if (g_error_matches (error6, PL_ERROR, PL_ERROR_NO_GATEWAY))
                g_debug ("No IPv6 pinholes: %s", error6->message);   /* no IPv6 here */
              else if (!cli->json)
                g_print (_("No IPv6 pinhole: %s\n"), error6->message);
            }
        }
    }

  for (guint i = 0; i < mappings->len; i++)
    {
      PlCliMapping *m = g_ptr_array_index (mappings, i);

      if (!ipv6)
        {
          cli_bound_request (cli);
          if (!cli_map (cli, m, m->asked_port, &error))
            return pl_cli_map_fail (cli, error);
          if (!cli->json)
            pl_cli_map_print_mapping (cli, m, PL_CLI_MAP_EVENT_MAPPED);
        }

      if (cli->client6 != NULL)
        {
          if (!cli_map6 (cli, m, &error))
            {
              if (ipv6)
                return pl_cli_map_fail (cli, error);
              if (!cli->json)
                g_print (_("No IPv6 pinhole for %s %u: %s\n"),
                         pl_cli_protocol_label (m->protocol), m->private_port, error->message);
              g_clear_error (&error);
            }
          else if (!cli->json)
            g_print (_("Opened %s [%s]:%u (IPv6 pinhole), lifetime %u s\n"),
                     pl_cli_protocol_label (m->protocol), cli->address6, m->private_port,
                     m->pinhole_lifetime);
        }
    }

  for (guint i = 0; !cli->json && !ipv6 && i < mappings->len; i++)
    {
      PlCliMapping *m = g_ptr_array_index (mappings, i);

      if (!m->pinhole)
        continue;
      g_print (_("Open on %s:%u (IPv4) and [%s]:%u (IPv6)\n"), cli->public_address,
               m->public_port, cli->address6, m->private_port);
      if (cli->double_nat)
        g_printerr (_("Note: behind the second NAT, IPv4 forwarding cannot reach the Internet, "
                      "but %s %u is reachable over IPv6 at [%s]:%u.\n"),
                    pl_cli_protocol_label (m->protocol), m->private_port, cli->address6,
                    m->private_port);
    }

  if (cli->json)
    {
      builder = pl_cli_map_json_begin_map (cli, NULL);
      for (guint i = 0; i < mappings->len; i++)
        {
          PlCliMapping *m = g_ptr_array_index (mappings, i);

          if (!ipv6)
            pl_cli_map_json_add_mapping (builder, m);
          if (m->pinhole)
            pl_cli_map_json_add_pinhole (builder, cli, m);
        }
      json_builder_end_array (builder);
      pl_cli_print_json_object (builder);
    }

  return PL_EXIT_OK;
}

/* `portlightctl unmap` */

static int
cmd_unmap (int    argc,
           char **argv)
{
  g_autoptr(PlCli) cli = cli_new ("unmap", _("PRIVATE_PORT | --all | --external PUBLIC_PORT"));
  g_autoptr(JsonBuilder) builder = NULL;
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

  status = cli_find_engine (cli, TRUE);
  if (status != PL_EXIT_OK)
    return status;
  if (cli->engine != NULL && all)
    {
      g_autoptr(GError) error =
        g_error_new (G_IO_ERROR, G_IO_ERROR_BUSY,
                     _("Portlight's engine (pid %u) holds this computer's mappings: remove "
                       "them one port at a time, or stop the engine first"),
                     cli->engine->pid);

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

  status = cli_start (cli);
  if (status != PL_EXIT_OK)
    return status;

  if (cli->json)
    {
      builder = pl_cli_map_json_begin (cli, NULL);
      pl_cli_json_add_boolean (builder, "all", all);
      json_builder_set_member_name (builder, "unmapped");
      json_builder_begin_array (builder);
    }
  else
    {
      pl_cli_map_print_gateway (cli);
    }

  /* The pinholes map opened are in the journal, under the IPv6 default router: no probe. */
  if (!all && cli_offers_ipv6 (cli))
    {
      g_autoptr(GError) error6 = NULL;

      if (!cli_start_ipv6 (cli, FALSE, FALSE, &error6))
        g_debug ("No IPv6 pinholes to close: %s", error6->message);
    }

  for (guint i = 0; i < n_protocols; i++)
    {
      g_autoptr(GError) error = NULL;
      gboolean closed6 = FALSE;

      cli_bound_request (cli);
      if (!cli_unmap (cli, protocols[i], private_port, &error))
        return pl_cli_map_fail (cli, error);
      if (!cli_unmap6 (cli, protocols[i], private_port, &closed6, &error))
        return pl_cli_map_fail (cli, error);
      if (closed6 && builder == NULL)
        g_print (_("Closed the %s IPv6 pinhole of [%s]:%u\n"),
                 pl_cli_protocol_label (protocols[i]), cli->address6, private_port);

      if (builder != NULL)
        {
          json_builder_begin_object (builder);
          pl_cli_json_add_string (builder, "protocol", pl_cli_map_protocol_json (protocols[i]));
          pl_cli_json_add_int (builder, "private_port", private_port);
          json_builder_end_object (builder);
        }
      else if (all)
        {
          g_print (_("Removed all %s mappings of this computer\n"),
                   pl_cli_protocol_label (protocols[i]));
        }
      else
        {
          g_print (_("Removed the %s mapping of private port %u\n"),
                   pl_cli_protocol_label (protocols[i]), private_port);
        }
    }

  if (builder != NULL)
    {
      json_builder_end_array (builder);
      pl_cli_json_add_int (builder, "epoch", cli->epoch);
      pl_cli_print_json_object (builder);
    }

  return PL_EXIT_OK;
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
