/* pl-cli-handoff.h: portlightctl handing a command over to portlightctl-local
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Two programs make the command line (app/cli/meson.build): `portlightctl`, which links
 * GIO, json-glib and the engine's client side, and `portlightctl-local` (in
 * $libexecdir/portlight), which links the protocols too (GUPnP, libsoup, libxml2: most of
 * the start-up time). portlightctl answers through the running engine where one runs; where
 * none does, and for `run` and `list`, it becomes portlightctl-local (execv: the same
 * process and pid, the same arguments), which does the work in-process. */

/* Called first by main(): keeps @argv for pl_cli_handoff_exec(), and reads (and removes
 * from the environment, so that nothing started later inherits it) the note that the
 * program handing over found no engine. */
void      pl_cli_handoff_init          (int          argc,
                                        char       **argv);

/* Whether this process was handed a command that the engine does not answer (none runs, or
 * `unmap` of a port none of its leases holds): then it does not ask again (pl-cli-engine.c). */
gboolean  pl_cli_handoff_engine_absent (void);

/* Becomes portlightctl-local with the command line given to main(). @engine_absent: the
 * engine was asked, as above. Returns (an exit code, the reason said on stderr)
 * only when it cannot. */
int       pl_cli_handoff_exec          (const char  *prgname,
                                        gboolean     engine_absent);

G_END_DECLS
