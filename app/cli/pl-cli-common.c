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

GDateTime *
pl_cli_clock_time_to_local (PlClock *clock,
                            gint64   clock_time)
{
  gint64 delta = clock_time - pl_clock_get_time (clock);

  return g_date_time_new_from_unix_local ((g_get_real_time () + delta) / G_USEC_PER_SEC);
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
