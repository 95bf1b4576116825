/* pl-cli-common.c: output helpers the commands of portlightctl share
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdio.h>

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
