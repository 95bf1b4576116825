/* pl-cli.h: what the parts of portlightctl share
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

#include "pl-types.h"

G_BEGIN_DECLS

/* Documented exit codes of portlightctl (README and --help say the same). */
typedef enum
{
  PL_EXIT_OK = 0,
  PL_EXIT_ROUTER_ERROR = 1,   /* the router answered with an error (result code 1-5 or other) */
  PL_EXIT_USAGE = 2,          /* bad arguments or unknown option */
  PL_EXIT_NO_ANSWER = 3,      /* no answer from the gateway within the timeout */
  PL_EXIT_NO_SERVICE = 4,     /* the gateway refused: no NAT-PMP service (ICMP unreachable) */
  PL_EXIT_LOCAL_ERROR = 5,    /* no default gateway, socket error, or another local problem */
  PL_EXIT_PROFILE_ERROR = 6,  /* profile store: unknown profile, invalid value, unreadable file */
  PL_EXIT_NO_ENGINE = 7,      /* `status`: Portlight's engine is not running */
} PlExitCode;

/* `portlightctl profiles …`: @argv[0] is "profiles". Returns a PlExitCode. */
int pl_cli_profiles_main (int    argc,
                          char **argv);

/* `portlightctl run`: @argv[0] is "run". Returns a PlExitCode. */
int pl_cli_run_main      (int    argc,
                          char **argv);

/* `portlightctl network`: @argv[0] is "network". Returns a PlExitCode. */
int pl_cli_network_main  (int    argc,
                          char **argv);

/* `portlightctl status`: @argv[0] is "status". Returns a PlExitCode. */
int pl_cli_status_main   (int    argc,
                          char **argv);

/* `portlightctl list`: @argv[0] is "list". Returns a PlExitCode. */
int pl_cli_list_main     (int    argc,
                          char **argv);

/* `portlightctl unmap --external PORT`: removes the router's mapping of @external_port
 * over UPnP-IGD, whoever made it. Returns a PlExitCode. */
int pl_cli_unmap_external (const char *gateway_text,
                           gboolean    json,
                           PlProtocol  protocol,
                           guint16     external_port);

/* What `profiles add/edit --network GIVEN` stores as Network= (pl-network-link.h): "" (none)
 * and whole values as given; the value of another profile of @store whose network has that
 * name; else the network this computer is on now, under that name. NULL with @error when
 * this network cannot be told (no gateway, or its MAC is unknown). */
struct _PlProfileStore;
char *pl_cli_network_resolve (struct _PlProfileStore  *store,
                              const char              *given,
                              GError                 **error);
/* Reads the network once (waits a moment for the gateway's MAC and NetworkManager). */
struct _PlNetworkWatcher;
struct _PlNetworkWatcher *pl_cli_network_read (void);

G_END_DECLS
