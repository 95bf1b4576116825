/* pl-cli-front.c: what portlightctl leaves to portlightctl-local
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-cli.h"
#include "pl-cli-handoff.h"
#include "pl-cli-map.h"

/* portlightctl links this file where portlightctl-local links the in-process half
 * (pl-cli-inprocess.c, pl-cli-run.c, pl-cli-table.c): each entry point below becomes
 * portlightctl-local with the same command line (pl-cli-handoff.h), so that the protocols'
 * libraries are loaded only by a command that talks to the router itself. The engine lock
 * (--no-broker) is let go first: portlightctl-local takes it again. */

static int
hand_over (PlCli    *cli,
           gboolean  engine_absent)
{
  g_clear_object (&cli->lock);
  return pl_cli_handoff_exec (cli->prgname, engine_absent);
}

int
pl_cli_address_in_process (PlCli *cli)
{
  return hand_over (cli, !cli->no_broker);
}

int
pl_cli_map_in_process (PlCli     *cli,
                       GPtrArray *mappings,
                       gboolean   keep,
                       gboolean   ipv4,
                       gboolean   ipv6)
{
  return hand_over (cli, !cli->no_broker);
}

int
pl_cli_unmap_in_process (PlCli            *cli,
                         const PlProtocol *protocols,
                         guint             n_protocols,
                         guint16           private_port,
                         gboolean          all)
{
  /* Where an engine runs, the port was none of its leases: it was asked already. */
  return hand_over (cli, !cli->no_broker);
}

int
pl_cli_run_main (int    argc,
                 char **argv)
{
  return pl_cli_handoff_exec (g_get_prgname (), FALSE);
}

int
pl_cli_list_main (int    argc,
                  char **argv)
{
  return pl_cli_handoff_exec (g_get_prgname (), FALSE);
}

int
pl_cli_unmap_external (const char *gateway_text,
                       gboolean    json,
                       PlProtocol  protocol,
                       guint16     external_port)
{
  return pl_cli_handoff_exec (g_get_prgname (), FALSE);
}
