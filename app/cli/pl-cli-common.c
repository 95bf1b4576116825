/* pl-cli-common.c: output helpers the commands of portlightctl share
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdio.h>

#include <glib/gi18n.h>

#include "pl-cli.h"
#include "pl-cli-common.h"

const char *
pl_cli_protocol_label (PlProtocol protocol)
{
  return protocol == PL_PROTOCOL_UDP ? "UDP" : "TCP";
}

/* The local time of @clock_time, to the microsecond: --json prints these in ISO 8601 with
 * the fraction, so that a program reading "renews" or "expires" can compare them with
 * "time" (whole seconds made a renewal look up to a second late). */
GDateTime *
pl_cli_clock_time_to_local (PlClock *clock,
                            gint64   clock_time)
{
  gint64 real = g_get_real_time () + (clock_time - pl_clock_get_time (clock));
  gint64 seconds = real / G_USEC_PER_SEC;
  gint64 usec = real % G_USEC_PER_SEC;
  g_autoptr(GDateTime) whole = NULL;

  if (usec < 0)
    {
      seconds--;
      usec += G_USEC_PER_SEC;
    }
  whole = g_date_time_new_from_unix_local (seconds);
  return g_date_time_add (whole, usec);
}

void
pl_cli_print_json (JsonBuilder *builder)
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

void
pl_cli_print_json_object (JsonBuilder *builder)
{
  json_builder_end_object (builder);
  pl_cli_print_json (builder);
}

void
pl_cli_json_add_string (JsonBuilder *builder,
                        const char  *name,
                        const char  *value)
{
  json_builder_set_member_name (builder, name);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

void
pl_cli_json_add_int (JsonBuilder *builder,
                     const char  *name,
                     gint64       value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_int_value (builder, value);
}

void
pl_cli_json_add_boolean (JsonBuilder *builder,
                         const char  *name,
                         gboolean     value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_boolean_value (builder, value);
}

void
pl_cli_json_add_error (JsonBuilder *builder,
                       const char  *code,
                       const char  *message)
{
  json_builder_set_member_name (builder, "error");
  json_builder_begin_object (builder);
  pl_cli_json_add_string (builder, "code", code);
  pl_cli_json_add_string (builder, "message", message);
  json_builder_end_object (builder);
}

void
pl_cli_print_json_error (const char *code,
                         const char *message)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  pl_cli_json_add_error (builder, code, message);
  pl_cli_print_json_object (builder);
}

int
pl_cli_usage_error (const char *prgname,
                    const char *parameters,
                    gboolean    json,
                    const char *format,
                    ...)
{
  g_autofree char *reason = NULL;
  va_list args;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);

  g_printerr ("%s: %s\n", prgname, reason);
  g_printerr (_("Usage: %s [OPTION…] %s\n"), prgname, parameters);
  g_printerr (_("Try “%s --help” for more information.\n"), prgname);
  if (json)
    pl_cli_print_json_error ("invalid-argument", reason);

  return PL_EXIT_USAGE;
}

int
pl_cli_exit_code_for_error (const GError *error)
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
        case PL_ERROR_MALFORMED_REQUEST:
        case PL_ERROR_UNSUPPORTED_OPTION:
        case PL_ERROR_MALFORMED_OPTION:
        case PL_ERROR_UNSUPPORTED_PROTOCOL:
        case PL_ERROR_QUOTA_EXCEEDED:
        case PL_ERROR_CANNOT_PROVIDE_EXTERNAL:
        case PL_ERROR_ADDRESS_MISMATCH:
        case PL_ERROR_EXCESSIVE_REMOTE_PEERS:
        case PL_ERROR_PORT_IN_USE:
        case PL_ERROR_NOT_FOUND:
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
const char *
pl_cli_error_code_name (const GError *error)
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
        case PL_ERROR_MALFORMED_REQUEST:
          return "malformed-request";
        case PL_ERROR_UNSUPPORTED_OPTION:
          return "unsupported-option";
        case PL_ERROR_MALFORMED_OPTION:
          return "malformed-option";
        case PL_ERROR_UNSUPPORTED_PROTOCOL:
          return "unsupported-protocol";
        case PL_ERROR_QUOTA_EXCEEDED:
          return "quota-exceeded";
        case PL_ERROR_CANNOT_PROVIDE_EXTERNAL:
          return "cannot-provide-external";
        case PL_ERROR_ADDRESS_MISMATCH:
          return "address-mismatch";
        case PL_ERROR_EXCESSIVE_REMOTE_PEERS:
          return "excessive-remote-peers";
        case PL_ERROR_PORT_IN_USE:
          return "port-in-use";
        case PL_ERROR_NOT_FOUND:
          return "not-found";
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
