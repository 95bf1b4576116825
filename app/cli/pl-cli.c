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
#include "pl-core.h"

/* Commands: `address`, `map` and `unmap` live here, one function each (cmd_*); `profiles` is
 * pl-cli-profiles.c. They share the Cli state below: the options every command takes, the
 * client, the progress line and the output helpers (text, JSON, error to exit code).
 *
 * Every network step is one asynchronous PlClient call awaited by iterating the default main
 * context (cli_await), which keeps each command a plain sequence. `map --keep` is a loop of
 * such steps that SIGINT/SIGTERM end through a GCancellable. */

#define PROGRAM_NAME       "portlightctl"
#define DEFAULT_LIFETIME   7200
#define MAX_LIFETIME       86400
#define MAX_TIMEOUT        3600
/* --keep: a failed renewal or re-creation is tried again this often. */
#define RETRY_MS           5000
/* --keep: never renew more often than this, whatever the router grants. */
#define MIN_RENEW_MS       1000

/* Shared state */

typedef struct
{
  char         *prgname;          /* "portlightctl map" */
  const char   *parameters;       /* the positional arguments, for the usage line */

  /* Options every command takes. */
  gboolean      json;
  char         *timeout_text;
  char         *gateway_text;

  guint         timeout_s;        /* 0: the client's default (RFC 6886's 127.75 s) */
  GInetAddress *gateway_address;  /* from -g, else discovered */
  char         *gateway;          /* the gateway asked, as text */
  PlClock      *clock;
  PlClient     *client;
  gint64        deadline;         /* clock time bounding the whole command, or G_MAXINT64 */
  GAsyncResult *result;           /* set by cli_result_cb, taken by cli_await */

  /* The last public address and epoch heard. */
  char         *public_address;
  gboolean      double_nat;
  guint32       epoch;

  /* --keep: SIGINT/SIGTERM cancel the current step; a second signal aborts the clean-up. */
  GCancellable *cancellable;
  guint         signal_ids[2];
  guint         n_signals;

  gboolean      progress;         /* stderr is a terminal: show the "attempt" line */
  glong         progress_width;
} Cli;

static Cli *
cli_new (const char *command,
         const char *parameters)
{
  Cli *cli = g_new0 (Cli, 1);

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
cli_free (Cli *cli)
{
  for (guint i = 0; i < G_N_ELEMENTS (cli->signal_ids); i++)
    g_clear_handle_id (&cli->signal_ids[i], g_source_remove);
  g_clear_object (&cli->result);
  g_clear_object (&cli->client);
  g_clear_object (&cli->clock);
  g_clear_object (&cli->gateway_address);
  g_clear_object (&cli->cancellable);
  g_free (cli->prgname);
  g_free (cli->timeout_text);
  g_free (cli->gateway_text);
  g_free (cli->gateway);
  g_free (cli->public_address);
  g_free (cli);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Cli, cli_free)

/* One mapping of `map`, with what the router granted. */
typedef struct
{
  PlProtocol  protocol;
  guint16     private_port;
  guint16     asked_port;       /* PUBLIC_PORT from the command line */
  guint32     asked_lifetime;   /* -l */
  guint16     suggested_port;   /* what the last request suggested */
  guint16     public_port;      /* granted by the last successful request */
  guint32     lifetime;         /* granted by the last successful request */
  gint64      expires;          /* clock time at which the grant runs out */
  GDateTime  *expires_local;
  gint64      next_action;      /* --keep: clock time of the next renewal or retry */
  gboolean    requested;        /* a map request went out: delete it when stopping */
  gboolean    lost;             /* --keep: the grant ran out before a renewal succeeded */
} Mapping;

static Mapping *
mapping_new (PlProtocol protocol,
             guint16    asked_port,
             guint16    private_port,
             guint32    lifetime)
{
  Mapping *m = g_new0 (Mapping, 1);

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
  Mapping *m = data;

  g_clear_pointer (&m->expires_local, g_date_time_unref);
  g_free (m);
}

static const char *
protocol_label (PlProtocol protocol)
{
  return protocol == PL_PROTOCOL_UDP ? "UDP" : "TCP";
}

static const char *
protocol_json (PlProtocol protocol)
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
  { PL_EXIT_NO_SERVICE, N_("the gateway refused: no NAT-PMP service on it") },
  { PL_EXIT_LOCAL_ERROR, N_("no default gateway, a socket error or another local problem") },
  { PL_EXIT_PROFILE_ERROR, N_("profile error: unknown profile, invalid value, unreadable file") },
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

static PlExitCode
exit_code_for_error (const GError *error)
{
  if (error->domain == PL_ERROR)
    {
      switch ((PlError) error->code)
        {
        case PL_ERROR_UNSUPPORTED_VERSION:
        case PL_ERROR_NOT_AUTHORIZED:
        case PL_ERROR_NETWORK_FAILURE:
        case PL_ERROR_OUT_OF_RESOURCES:
        case PL_ERROR_UNSUPPORTED_OPCODE:
        case PL_ERROR_UNKNOWN_RESULT:
        case PL_ERROR_MALFORMED_REPLY:
          return PL_EXIT_ROUTER_ERROR;
        case PL_ERROR_TIMED_OUT:
          return PL_EXIT_NO_ANSWER;
        case PL_ERROR_REFUSED:
          return PL_EXIT_NO_SERVICE;
        case PL_ERROR_INVALID_ARGUMENT:
          return PL_EXIT_USAGE;
        case PL_ERROR_NO_GATEWAY:
        case PL_ERROR_QUEUE_FULL:
        default:
          return PL_EXIT_LOCAL_ERROR;
        }
    }

  if (error->domain == G_OPTION_ERROR)
    return PL_EXIT_USAGE;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return PL_EXIT_NO_ANSWER;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return PL_EXIT_NO_SERVICE;

  return PL_EXIT_LOCAL_ERROR;
}

/* The stable "code" of a JSON error object. */
static const char *
error_code_name (const GError *error)
{
  if (error->domain == PL_ERROR)
    {
      switch ((PlError) error->code)
        {
        case PL_ERROR_UNSUPPORTED_VERSION:
          return "unsupported-version";
        case PL_ERROR_NOT_AUTHORIZED:
          return "not-authorized";
        case PL_ERROR_NETWORK_FAILURE:
          return "network-failure";
        case PL_ERROR_OUT_OF_RESOURCES:
          return "out-of-resources";
        case PL_ERROR_UNSUPPORTED_OPCODE:
          return "unsupported-opcode";
        case PL_ERROR_UNKNOWN_RESULT:
          return "unknown-result";
        case PL_ERROR_TIMED_OUT:
          return "timed-out";
        case PL_ERROR_REFUSED:
          return "refused";
        case PL_ERROR_NO_GATEWAY:
          return "no-gateway";
        case PL_ERROR_MALFORMED_REPLY:
          return "malformed-reply";
        case PL_ERROR_QUEUE_FULL:
          return "queue-full";
        case PL_ERROR_INVALID_ARGUMENT:
          return "invalid-argument";
        default:
          return "unknown-result";
        }
    }

  if (error->domain == G_OPTION_ERROR)
    return "invalid-argument";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return "timed-out";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return "refused";

  return "local-error";
}

/* The sentence shown for @error: core's message, with advice where it helps. */
static char *
cli_describe_error (Cli          *cli,
                    const GError *error)
{
  /* "No answer" is not "no NAT-PMP": say what it may mean (protocol.md section 6, item 22). */
  if (g_error_matches (error, PL_ERROR, PL_ERROR_TIMED_OUT))
    return g_strdup_printf (_("%s: the router may not support NAT-PMP, may have it switched "
                              "off, or may not accept requests from this computer"),
                            error->message);

  if (g_error_matches (error, PL_ERROR, PL_ERROR_NO_GATEWAY))
    return g_strdup_printf (_("%s (name the router with --gateway ADDRESS)"), error->message);

  return g_strdup (error->message);
}

/* Output */

static void
print_json (JsonBuilder *builder)
{
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);

  /* JSON is UTF-8 whatever the locale, so not g_print(). */
  fputs (text, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

static void
json_add_string (JsonBuilder *builder,
                 const char  *name,
                 const char  *value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value);
}

static void
json_add_int (JsonBuilder *builder,
              const char  *name,
              gint64       value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_int_value (builder, value);
}

static void
json_add_boolean (JsonBuilder *builder,
                  const char  *name,
                  gboolean     value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_boolean_value (builder, value);
}

static void
json_add_error (JsonBuilder *builder,
                const char  *code,
                const char  *message)
{
  json_builder_set_member_name (builder, "error");
  json_builder_begin_object (builder);
  json_add_string (builder, "code", code);
  json_add_string (builder, "message", message);
  json_builder_end_object (builder);
}

static void
print_json_error (const char *code,
                  const char *message)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_add_error (builder, code, message);
  json_builder_end_object (builder);
  print_json (builder);
}

/* Starts an object with "event" (--keep only, else NULL) and "gateway"; print_json_object()
 * closes and prints it. */
static JsonBuilder *
json_begin (Cli        *cli,
            const char *event)
{
  JsonBuilder *builder = json_builder_new ();

  json_builder_begin_object (builder);
  if (event != NULL)
    json_add_string (builder, "event", event);
  json_add_string (builder, "gateway", cli->gateway);

  return builder;
}

static void
print_json_object (JsonBuilder *builder)
{
  json_builder_end_object (builder);
  print_json (builder);
}

/* A bad argument: a one-line reason, then the usage, on stderr (and the error as JSON on
 * stdout when --json was asked for). Returns PL_EXIT_USAGE. */
static int
usage_error (const char *prgname,
             const char *parameters,
             gboolean    json,
             const char *reason)
{
  g_printerr ("%s: %s\n", prgname, reason);
  g_printerr (_("Usage: %s [OPTION…] %s\n"), prgname, parameters);
  g_printerr (_("Try “%s --help” for more information.\n"), prgname);

  if (json)
    print_json_error ("invalid-argument", reason);

  return PL_EXIT_USAGE;
}

static int cli_usage_error (Cli        *cli,
                            const char *format,
                            ...) G_GNUC_PRINTF (2, 3);

static int
cli_usage_error (Cli        *cli,
                 const char *format,
                 ...)
{
  g_autofree char *reason = NULL;
  va_list args;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);

  return usage_error (cli->prgname, cli->parameters, cli->json, reason);
}

static void
progress_clear (Cli *cli)
{
  if (cli->progress_width > 0)
    g_printerr ("\r%*s\r", (int) cli->progress_width, "");
  cli->progress_width = 0;
}

/* Reports a failure of the command; returns its exit code. */
static int
cli_fail (Cli          *cli,
          const GError *error)
{
  g_autofree char *message = cli_describe_error (cli, error);
  int status = exit_code_for_error (error);

  progress_clear (cli);

  if (status == PL_EXIT_USAGE)
    return cli_usage_error (cli, "%s", message);

  if (cli->json)
    print_json_error (error_code_name (error), message);
  else
    g_printerr ("%s: %s\n", cli->prgname, message);

  return status;
}

static void
print_gateway (Cli *cli)
{
  if (!cli->json)
    g_print (_("Gateway: %s\n"), cli->gateway);
}

/* The warning goes to stderr in JSON mode too: it is for the person reading. */
static void
print_double_nat_warning (Cli *cli)
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
cli_parse (Cli                *cli,
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
attempt_cb (PlClient *client,
            guint     attempt,
            guint     max_attempts,
            gpointer  user_data)
{
  Cli *cli = user_data;
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

/* Finds the gateway (unless -g gave it) and creates the client. Returns an exit code. */
static int
cli_start (Cli *cli)
{
  if (cli->gateway_address == NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PlGateway) found = pl_gateway_discover (&error);

      if (found == NULL)
        return cli_fail (cli, error);
      cli->gateway_address = g_object_ref (found->address);
    }

  cli->gateway = g_inet_address_to_string (cli->gateway_address);
  cli->client = pl_client_new (cli->gateway_address, cli->clock);
  g_signal_connect (cli->client, "attempt", G_CALLBACK (attempt_cb), cli);

  if (cli->timeout_s > 0)
    cli->deadline = pl_clock_get_time (cli->clock) + (gint64) cli->timeout_s * G_USEC_PER_SEC;

  return PL_EXIT_OK;
}

/* Bounds the next request by what is left of --timeout (none: the client's full schedule). */
static void
cli_bound_request (Cli *cli)
{
  guint timeout_ms = 0;

  if (cli->deadline != G_MAXINT64)
    {
      gint64 left_ms = (cli->deadline - pl_clock_get_time (cli->clock)) / 1000;

      timeout_ms = (guint) CLAMP (left_ms, 1, G_MAXUINT);
    }

  pl_client_set_timeout (cli->client, timeout_ms);
}

static void
cli_result_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Cli *cli = user_data;

  g_assert (cli->result == NULL);
  cli->result = g_object_ref (result);
}

/* Waits for the request in flight (started with cli_result_cb) and returns its result. */
static GAsyncResult *
cli_await (Cli *cli)
{
  while (cli->result == NULL)
    g_main_context_iteration (NULL, TRUE);

  progress_clear (cli);

  return g_steal_pointer (&cli->result);
}

static gboolean
cli_get_external_address (Cli     *cli,
                          GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GInetAddress) address = NULL;
  guint32 epoch = 0;

  pl_client_get_external_address_async (cli->client, cli->cancellable, cli_result_cb, cli);
  result = cli_await (cli);
  address = pl_client_get_external_address_finish (cli->client, result, &epoch, error);
  if (address == NULL)
    return FALSE;

  g_free (cli->public_address);
  cli->public_address = g_inet_address_to_string (address);
  cli->double_nat = g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4 &&
                    pl_natpmp_address_is_double_nat (g_inet_address_to_bytes (address));
  cli->epoch = epoch;

  return TRUE;
}

/* Asks for @m, suggesting @suggested_port; on success records the grant in @m. */
static gboolean
cli_map (Cli      *cli,
         Mapping  *m,
         guint16   suggested_port,
         GError  **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  guint16 public_port = 0;
  guint32 lifetime = 0;
  guint32 epoch = 0;

  m->requested = TRUE;
  pl_client_map_async (cli->client, m->protocol, m->private_port, suggested_port,
                       m->asked_lifetime, cli->cancellable, cli_result_cb, cli);
  result = cli_await (cli);
  if (!pl_client_map_finish (cli->client, result, &public_port, &lifetime, &epoch, error))
    return FALSE;

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
cli_unmap (Cli         *cli,
           PlProtocol   protocol,
           guint16      private_port,
           GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  guint32 epoch = 0;
  gboolean ok;

  if (private_port > 0)
    {
      pl_client_unmap_async (cli->client, protocol, private_port, cli->cancellable,
                             cli_result_cb, cli);
      result = cli_await (cli);
      ok = pl_client_unmap_finish (cli->client, result, &epoch, error);
    }
  else
    {
      pl_client_unmap_all_async (cli->client, protocol, cli->cancellable, cli_result_cb, cli);
      result = cli_await (cli);
      ok = pl_client_unmap_all_finish (cli->client, result, &epoch, error);
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
  g_autoptr(Cli) cli = cli_new ("address", "");
  g_autoptr(GError) error = NULL;
  int status;

  status = cli_parse (cli, NULL, _("Show the public address of the router (the NAT gateway)."),
                      _("With --json, prints {\"gateway\": …, \"public_address\": …, "
                        "\"epoch\": N, \"double_nat\": false}."),
                      &argc, &argv);
  if (status != PL_EXIT_OK)
    return status;
  if (argc > 1)
    return cli_usage_error (cli, _("Unexpected argument “%s”"), argv[1]);

  status = cli_start (cli);
  if (status != PL_EXIT_OK)
    return status;

  cli_bound_request (cli);
  if (!cli_get_external_address (cli, &error))
    return cli_fail (cli, error);

  if (cli->json)
    {
      g_autoptr(JsonBuilder) builder = json_begin (cli, NULL);

      json_add_string (builder, "public_address", cli->public_address);
      json_add_int (builder, "epoch", cli->epoch);
      json_add_boolean (builder, "double_nat", cli->double_nat);
      print_json_object (builder);
    }
  else
    {
      print_gateway (cli);
      g_print (_("Public address: %s\n"), cli->public_address);
    }
  print_double_nat_warning (cli);

  return PL_EXIT_OK;
}

/* `portlightctl map` */

typedef enum
{
  MAP_EVENT_MAPPED,
  MAP_EVENT_RENEWED,
  MAP_EVENT_RECREATED,
} MapEvent;

static void
json_add_mapping (JsonBuilder   *builder,
                  const Mapping *m)
{
  g_autofree char *expires = NULL;

  if (m->expires_local != NULL)
    expires = g_date_time_format_iso8601 (m->expires_local);

  json_builder_begin_object (builder);
  json_add_string (builder, "protocol", protocol_json (m->protocol));
  json_add_int (builder, "private_port", m->private_port);
  json_add_int (builder, "public_port", m->public_port);
  json_add_int (builder, "requested_public_port", m->suggested_port);
  json_add_int (builder, "lifetime", m->lifetime);
  json_add_int (builder, "requested_lifetime", m->asked_lifetime);
  json_builder_set_member_name (builder, "expires");
  if (expires != NULL)
    json_builder_add_string_value (builder, expires);
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);
}

/* Starts a `map` JSON object: the address part, then "mappings" (left open). */
static JsonBuilder *
json_begin_map (Cli        *cli,
                const char *event)
{
  JsonBuilder *builder = json_begin (cli, event);

  json_add_string (builder, "public_address", cli->public_address);
  json_add_int (builder, "epoch", cli->epoch);
  json_add_boolean (builder, "double_nat", cli->double_nat);
  json_builder_set_member_name (builder, "mappings");
  json_builder_begin_array (builder);

  return builder;
}

static void
print_mapping_text (Cli           *cli,
                    const Mapping *m,
                    MapEvent       event)
{
  g_autofree char *expires = NULL;
  const char *protocol = protocol_label (m->protocol);

  switch (event)
    {
    case MAP_EVENT_RENEWED:
      g_print (_("Renewed %s %s:%u → private port %u\n"), protocol, cli->public_address,
               m->public_port, m->private_port);
      break;
    case MAP_EVENT_RECREATED:
      g_print (_("Re-created %s %s:%u → private port %u\n"), protocol, cli->public_address,
               m->public_port, m->private_port);
      break;
    case MAP_EVENT_MAPPED:
    default:
      g_print (_("Mapped %s %s:%u → private port %u\n"), protocol, cli->public_address,
               m->public_port, m->private_port);
      break;
    }

  if (m->expires_local != NULL)
    expires = g_date_time_format (m->expires_local, "%Y-%m-%d %H:%M:%S");
  g_print (_("  Lifetime: %u s, expires %s (local time)\n"), m->lifetime,
           expires != NULL ? expires : "-");

  if (m->public_port != m->suggested_port)
    g_print (_("Note: the router gave public port %u, not %u as asked\n"), m->public_port,
             m->suggested_port);
}

/* --keep: when to act next on @m after a successful request. */
static void
schedule_renewal (Cli     *cli,
                  Mapping *m)
{
  gint64 delay_ms = MAX ((gint64) m->lifetime * 500, MIN_RENEW_MS);

  m->next_action = pl_clock_get_time (cli->clock) + delay_ms * 1000;
}

static gboolean
signal_cb (gpointer user_data)
{
  Cli *cli = user_data;

  cli->n_signals++;
  g_cancellable_cancel (cli->cancellable);

  return G_SOURCE_CONTINUE;
}

static gboolean
cli_stopping (Cli *cli)
{
  return cli->n_signals > 0;
}

static gboolean
flag_cb (gpointer user_data)
{
  gboolean *flag = user_data;

  *flag = TRUE;
  return G_SOURCE_REMOVE;
}

/* Sleeps until clock time @when; FALSE when a signal came first. */
static gboolean
cli_sleep_until (Cli    *cli,
                 gint64  when)
{
  gint64 now = pl_clock_get_time (cli->clock);
  gboolean due = FALSE;
  guint id;

  if (when <= now)
    return !cli_stopping (cli);

  id = pl_clock_timeout_add (cli->clock, (guint64) (when - now + 999) / 1000, flag_cb, &due);
  while (!due && !cli_stopping (cli))
    g_main_context_iteration (NULL, TRUE);
  if (!due)
    g_source_remove (id);

  return !cli_stopping (cli);
}

/* --keep: renew @m, or re-create it once its grant has run out (F-11/F-12). */
static void
keep_step (Cli     *cli,
           Mapping *m)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  gint64 now = pl_clock_get_time (cli->clock);
  gboolean expired = now >= m->expires;
  guint timeout_ms = cli->timeout_s * 1000;   /* 0: the client's full schedule */

  if (expired && !m->lost)
    {
      m->lost = TRUE;
      if (!cli->json)
        g_printerr (_("The %s mapping of private port %u has expired; re-creating it\n"),
                    protocol_label (m->protocol), m->private_port);
    }

  if (!expired)
    {
      /* Renewal attempts stop at the granted expiry. */
      gint64 left_ms = CLAMP ((m->expires - now + 999) / 1000, 1, G_MAXUINT);

      if (timeout_ms == 0 || (guint) left_ms < timeout_ms)
        timeout_ms = (guint) left_ms;
    }
  pl_client_set_timeout (cli->client, timeout_ms);

  /* Either way, suggest the port the router gave last. */
  if (cli_map (cli, m, m->public_port, &error))
    {
      m->lost = FALSE;
      if (cli->json)
        {
          g_autoptr(JsonBuilder) builder = json_begin_map (cli, expired ? "recreated" : "renewed");

          json_add_mapping (builder, m);
          json_builder_end_array (builder);
          print_json_object (builder);
        }
      else
        {
          print_mapping_text (cli, m, expired ? MAP_EVENT_RECREATED : MAP_EVENT_RENEWED);
          fflush (stdout);
        }
      schedule_renewal (cli, m);
      return;
    }

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  /* Plain core message: the advice for a first contact does not fit a router that answered. */
  message = g_strdup (error->message);
  if (cli->json)
    {
      g_autoptr(JsonBuilder) builder = json_begin_map (cli, "renewal-failed");

      json_add_mapping (builder, m);
      json_builder_end_array (builder);
      json_add_error (builder, error_code_name (error), message);
      print_json_object (builder);
    }
  else if (expired)
    {
      g_printerr (_("Could not re-create the %s mapping of private port %u: %s; retrying\n"),
                  protocol_label (m->protocol), m->private_port, message);
    }
  else
    {
      g_autofree char *expires = NULL;

      if (m->expires_local != NULL)
        expires = g_date_time_format (m->expires_local, "%H:%M:%S");
      g_printerr (_("Could not renew the %s mapping of private port %u: %s; retrying until "
                    "it expires at %s\n"),
                  protocol_label (m->protocol), m->private_port, message,
                  expires != NULL ? expires : "-");
    }

  /* Retry in a few seconds, but not after the grant runs out: then it is re-created. */
  m->next_action = pl_clock_get_time (cli->clock) + (gint64) RETRY_MS * 1000;
  if (!expired)
    m->next_action = MIN (m->next_action, m->expires);
}

/* Deletes every mapping that was asked for (a cancelled request may have reached the
 * router). Returns an exit code; prints what was removed unless @quiet. */
static int
keep_remove (Cli       *cli,
             GPtrArray *mappings,
             gboolean   quiet)
{
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(GError) first_error = NULL;

  /* A fresh cancellable: the first signal cancelled the old one; a second one cancels this. */
  g_clear_object (&cli->cancellable);
  cli->cancellable = g_cancellable_new ();
  cli->deadline = G_MAXINT64;
  if (cli->timeout_s > 0)
    cli->deadline = pl_clock_get_time (cli->clock) + (gint64) cli->timeout_s * G_USEC_PER_SEC;

  if (cli->json && !quiet)
    {
      builder = json_begin (cli, "unmapped");
      json_add_boolean (builder, "all", FALSE);
      json_builder_set_member_name (builder, "unmapped");
      json_builder_begin_array (builder);
    }

  for (guint i = 0; i < mappings->len; i++)
    {
      Mapping *m = g_ptr_array_index (mappings, i);
      g_autoptr(GError) error = NULL;

      if (!m->requested)
        continue;
      if (cli->n_signals > 1)
        break;

      cli_bound_request (cli);
      if (!cli_unmap (cli, m->protocol, m->private_port, &error))
        {
          if (first_error == NULL)
            first_error = g_steal_pointer (&error);
          continue;
        }
      m->requested = FALSE;

      if (quiet)
        continue;
      if (builder != NULL)
        {
          json_builder_begin_object (builder);
          json_add_string (builder, "protocol", protocol_json (m->protocol));
          json_add_int (builder, "private_port", m->private_port);
          json_builder_end_object (builder);
        }
      else
        {
          g_print (_("Removed the %s mapping of private port %u\n"),
                   protocol_label (m->protocol), m->private_port);
        }
    }

  if (cli->n_signals > 1)
    {
      const char *message = _("Interrupted again: mappings were left in place; they expire "
                              "by themselves");

      progress_clear (cli);
      if (cli->json)
        print_json_error ("interrupted", message);
      else
        g_printerr ("%s: %s\n", cli->prgname, message);
      return PL_EXIT_LOCAL_ERROR;
    }

  if (first_error != NULL)
    {
      if (quiet)
        return exit_code_for_error (first_error);
      return cli_fail (cli, first_error);
    }

  if (builder != NULL)
    {
      json_builder_end_array (builder);
      json_add_int (builder, "epoch", cli->epoch);
      print_json_object (builder);
    }

  return PL_EXIT_OK;
}

/* --keep: renew at half the granted lifetime until SIGINT/SIGTERM, then delete. */
static int
keep_mappings (Cli       *cli,
               GPtrArray *mappings)
{
  if (!cli->json)
    {
      g_print ("%s", ngettext ("Keeping the mapping until Ctrl-C or SIGTERM, renewing it at "
                               "half its lifetime…\n",
                               "Keeping the mappings until Ctrl-C or SIGTERM, renewing them "
                               "at half their lifetime…\n",
                               mappings->len));
      fflush (stdout);
    }

  /* From here on --timeout bounds each request, not the whole command. */
  cli->deadline = G_MAXINT64;
  for (guint i = 0; i < mappings->len; i++)
    schedule_renewal (cli, g_ptr_array_index (mappings, i));

  while (!cli_stopping (cli))
    {
      Mapping *next = g_ptr_array_index (mappings, 0);

      for (guint i = 1; i < mappings->len; i++)
        {
          Mapping *m = g_ptr_array_index (mappings, i);

          if (m->next_action < next->next_action)
            next = m;
        }

      if (!cli_sleep_until (cli, next->next_action))
        break;
      keep_step (cli, next);
    }

  return keep_remove (cli, mappings, FALSE);
}

static int
cmd_map (int    argc,
         char **argv)
{
  g_autoptr(Cli) cli = cli_new ("map", _("PUBLIC_PORT PRIVATE_PORT"));
  g_autoptr(GPtrArray) mappings = g_ptr_array_new_with_free_func (mapping_free);
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *lifetime_text = NULL;
  gboolean udp = FALSE;
  gboolean tcp = FALSE;
  gboolean keep = FALSE;
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
    G_OPTION_ENTRY_NULL
  };

  status = cli_parse (cli, entries,
                      _("Ask the router to forward PUBLIC_PORT of its public address to "
                        "PRIVATE_PORT of this computer."),
                      _("The router may give another public port than the one asked for; "
                        "portlightctl says so.\n"
                        "Without --keep the mapping lasts for the lifetime granted.\n"
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
                        "(with \"error\") or \"recreated\"; the last line is the \"unmapped\" "
                        "event."),
                      &argc, &argv);
  if (status != PL_EXIT_OK)
    return status;

  if (argc < 2)
    return cli_usage_error (cli, _("Missing PUBLIC_PORT and PRIVATE_PORT"));
  if (argc < 3)
    return cli_usage_error (cli, _("Missing PRIVATE_PORT"));
  if (argc > 3)
    return cli_usage_error (cli, _("Unexpected argument “%s”"), argv[3]);
  if (!parse_port (argv[1], &public_port))
    return cli_usage_error (cli, _("Invalid public port “%s”: ports are numbers from 1 to 65535"),
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

  if (keep)
    {
      cli->signal_ids[0] = g_unix_signal_add (SIGINT, signal_cb, cli);
      cli->signal_ids[1] = g_unix_signal_add (SIGTERM, signal_cb, cli);
    }

  status = cli_start (cli);
  if (status != PL_EXIT_OK)
    return status;

  cli_bound_request (cli);
  if (!cli_get_external_address (cli, &error))
    {
      if (cli_stopping (cli))
        return PL_EXIT_OK;
      return cli_fail (cli, error);
    }

  if (!cli->json)
    {
      print_gateway (cli);
      g_print (_("Public address: %s\n"), cli->public_address);
    }
  print_double_nat_warning (cli);

  for (guint i = 0; i < mappings->len; i++)
    {
      Mapping *m = g_ptr_array_index (mappings, i);

      cli_bound_request (cli);
      if (!cli_map (cli, m, m->asked_port, &error))
        {
          if (cli_stopping (cli))
            return keep_remove (cli, mappings, FALSE);

          status = cli_fail (cli, error);
          if (keep)
            keep_remove (cli, mappings, TRUE);
          return status;
        }

      if (!cli->json)
        print_mapping_text (cli, m, MAP_EVENT_MAPPED);
    }

  if (cli->json)
    {
      builder = json_begin_map (cli, keep ? "mapped" : NULL);
      for (guint i = 0; i < mappings->len; i++)
        json_add_mapping (builder, g_ptr_array_index (mappings, i));
      json_builder_end_array (builder);
      print_json_object (builder);
    }

  if (!keep)
    return PL_EXIT_OK;

  return keep_mappings (cli, mappings);
}

/* `portlightctl unmap` */

static int
cmd_unmap (int    argc,
           char **argv)
{
  g_autoptr(Cli) cli = cli_new ("unmap", _("PRIVATE_PORT | --all"));
  g_autoptr(JsonBuilder) builder = NULL;
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

  status = cli_start (cli);
  if (status != PL_EXIT_OK)
    return status;

  if (cli->json)
    {
      builder = json_begin (cli, NULL);
      json_add_boolean (builder, "all", all);
      json_builder_set_member_name (builder, "unmapped");
      json_builder_begin_array (builder);
    }
  else
    {
      print_gateway (cli);
    }

  for (guint i = 0; i < n_protocols; i++)
    {
      g_autoptr(GError) error = NULL;

      cli_bound_request (cli);
      if (!cli_unmap (cli, protocols[i], private_port, &error))
        return cli_fail (cli, error);

      if (builder != NULL)
        {
          json_builder_begin_object (builder);
          json_add_string (builder, "protocol", protocol_json (protocols[i]));
          json_add_int (builder, "private_port", private_port);
          json_builder_end_object (builder);
        }
      else if (all)
        {
          g_print (_("Removed all %s mappings of this computer\n"),
                   protocol_label (protocols[i]));
        }
      else
        {
          g_print (_("Removed the %s mapping of private port %u\n"),
                   protocol_label (protocols[i]), private_port);
        }
    }

  if (builder != NULL)
    {
      json_builder_end_array (builder);
      json_add_int (builder, "epoch", cli->epoch);
      print_json_object (builder);
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
  { "profiles", pl_cli_profiles_main, N_("Manage saved sets of mappings") },
  { "run", pl_cli_run_main, N_("Keep the enabled profiles mapped until stopped") },
};

static char *
describe_commands (void)
{
  GString *text = g_string_new (_("Ask the router for port mappings with NAT-PMP (RFC 6886)."));

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
    return usage_error (PROGRAM_NAME, parameters, FALSE, error->message);

  if (version)
    {
      g_print ("%s %s\n", PROGRAM_NAME, PACKAGE_VERSION);
      return PL_EXIT_OK;
    }

  if (argc < 2)
    return usage_error (PROGRAM_NAME, parameters, FALSE, _("No command given"));

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (g_str_equal (argv[1], commands[i].name))
        return commands[i].func (argc - 1, argv + 1);
    }

  {
    g_autofree char *reason = g_strdup_printf (_("Unknown command “%s”"), argv[1]);

    return usage_error (PROGRAM_NAME, parameters, FALSE, reason);
  }
}
