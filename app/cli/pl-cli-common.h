/* pl-cli-common.h: output helpers the commands of portlightctl share
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "pl-core.h"

G_BEGIN_DECLS

/* "TCP" or "UDP", for text output. */
const char *pl_cli_protocol_label      (PlProtocol   protocol);

/* A time on @clock (microseconds) as local wall-clock time, in whole seconds. */
GDateTime  *pl_cli_clock_time_to_local (PlClock     *clock,
                                        gint64       clock_time);

/* Prints the builder's root as one line of JSON on standard output, and flushes. */
void        pl_cli_print_json          (JsonBuilder *builder);

G_END_DECLS
