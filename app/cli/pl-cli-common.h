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

/* Closes the object the builder is in (the root object), then pl_cli_print_json(). */
void        pl_cli_print_json_object   (JsonBuilder *builder);

/* Members of the object the builder is in. A NULL @value is JSON null. */
void        pl_cli_json_add_string     (JsonBuilder *builder,
                                        const char  *name,
                                        const char  *value);
void        pl_cli_json_add_int        (JsonBuilder *builder,
                                        const char  *name,
                                        gint64       value);
void        pl_cli_json_add_boolean    (JsonBuilder *builder,
                                        const char  *name,
                                        gboolean     value);

/* The member "error": {"code": @code, "message": @message}. */
void        pl_cli_json_add_error      (JsonBuilder *builder,
                                        const char  *code,
                                        const char  *message);

/* Prints {"error": {"code": @code, "message": @message}} on standard output. */
void        pl_cli_print_json_error    (const char  *code,
                                        const char  *message);

/* A bad argument: "@prgname: reason", then the usage line and the --help hint, on stderr
 * (and the error "invalid-argument" as JSON on standard output with @json). @format makes
 * the reason. Returns PL_EXIT_USAGE. */
int         pl_cli_usage_error         (const char  *prgname,
                                        const char  *parameters,
                                        gboolean     json,
                                        const char  *format,
                                        ...) G_GNUC_PRINTF (4, 5);

/* The documented exit code (PlExitCode) for @error. */
int         pl_cli_exit_code_for_error (const GError *error);

/* The stable "code" of a JSON error object for @error, e.g. "not-authorized". */
const char *pl_cli_error_code_name     (const GError *error);

G_END_DECLS
