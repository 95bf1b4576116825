/* pl-cli-map.h: what `map` and `unmap` share between the in-process and engine paths
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "pl-cli-engine.h"
#include "pl-core.h"

G_BEGIN_DECLS

/* The state of one command of pl-cli.c: the options every command takes, the client (or the
 * engine), the progress line. */
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
  PlPortMapper *client;           /* PCP, NAT-PMP or UPnP-IGD */
  PlMethod      client_method;    /* what client speaks */
  PlPortMapper *client6;          /* PCP over IPv6 or UPnP-IGD's WANIPv6FirewallControl, for
                                   * pinholes; NULL when not in use */
  char         *address6;         /* this computer's stable IPv6 address, the pinholes' */
  PlPcpState   *pcp_state;        /* PCP: the nonces of our mappings, loaded on first use */
  gboolean      pcp_state_tried;
  gboolean      journal_set;
  char         *protocol_text;    /* --protocol */
  gboolean      no_broker;        /* --no-broker */
  PlCliEngine  *engine;           /* the running engine, when there is one */
  PlEngineLock *lock;             /* --no-broker: held while the command runs */
  char         *engine_method;    /* the engine's Manager.Method */
  gboolean      engine_answered;  /* `address`: the engine's Manager gave the answer */
  PlMethod      method;
  gint64        deadline;         /* clock time bounding the whole command, or G_MAXINT64 */
  GAsyncResult *result;           /* set by cli_result_cb, taken by cli_await */

  /* The last public address and epoch heard. */
  char         *public_address;
  gboolean      double_nat;
  guint32       epoch;
  gboolean      epoch_unknown;    /* an engine that does not publish Manager.Epoch */

  GCancellable *cancellable;      /* --keep: a signal cancels the address request */

  gboolean      progress;         /* stderr is a terminal: show the "attempt" line */
  glong         progress_width;
} PlCli;

/* One mapping of `map`, with what the router granted. */
typedef struct
{
  PlProtocol  protocol;
  guint16     private_port;
  guint16     asked_port;       /* PUBLIC_PORT from the command line; 0 = any */
  guint32     asked_lifetime;   /* -l */
  guint16     suggested_port;   /* what the last request suggested */
  guint16     public_port;      /* granted by the last successful request */
  guint32     lifetime;         /* granted by the last successful request */
  gint64      expires;          /* clock time at which the grant runs out */
  GDateTime  *expires_local;
  gboolean    pinhole;          /* an IPv6 pinhole was opened for it too */
  guint32     pinhole_lifetime;
  gint64      pinhole_expires;  /* through the engine: when its grant runs out (unix time) */
  gboolean    granted;          /* --keep: granted at least once */
  gboolean    lost;             /* --keep: being created again (expired, router reset) */
  gboolean    failure_reported; /* --keep: a failure was printed since the last grant */
} PlCliMapping;

typedef enum
{
  PL_CLI_MAP_EVENT_MAPPED,
  PL_CLI_MAP_EVENT_RENEWED,
  PL_CLI_MAP_EVENT_RECREATED,
} PlCliMapEvent;

/* Output and errors (pl-cli.c), the same for both paths. */
const char  *pl_cli_map_protocol_json      (PlProtocol           protocol);
/* Reports a failure of the command; returns its exit code. */
int          pl_cli_map_fail               (PlCli               *cli,
                                            const GError        *error);
void         pl_cli_map_progress_clear     (PlCli               *cli);
void         pl_cli_map_set_public_address (PlCli               *cli,
                                            GInetAddress        *address);
/* "Gateway: … · …" (text only). */
void         pl_cli_map_print_gateway      (PlCli               *cli);
void         pl_cli_map_print_double_nat   (PlCli               *cli);
/* A JSON object with "event" (NULL: none) and "gateway"; _map adds the address part and
 * leaves "mappings" open. */
JsonBuilder *pl_cli_map_json_begin         (PlCli               *cli,
                                            const char          *event);
JsonBuilder *pl_cli_map_json_begin_map     (PlCli               *cli,
                                            const char          *event);
void         pl_cli_map_json_add_mapping   (JsonBuilder         *builder,
                                            const PlCliMapping  *m);
/* The IPv6 pinhole of @m, at cli->address6. */
void         pl_cli_map_json_add_pinhole   (JsonBuilder         *builder,
                                            PlCli               *cli,
                                            const PlCliMapping  *m);
void         pl_cli_map_print_mapping      (PlCli               *cli,
                                            const PlCliMapping  *m,
                                            PlCliMapEvent        event);
/* The JSON object of one --keep event of @m, with @error for "renewal-failed". */
void         pl_cli_map_print_event        (PlCli               *cli,
                                            const PlCliMapping  *m,
                                            const char          *event,
                                            const GError        *error);
/* The "unmapped" event, or a line per mapping, once @mappings are removed. */
void         pl_cli_map_print_removed      (PlCli               *cli,
                                            GPtrArray           *mappings);

/* Without the engine: the router asked from this process. Two implementations, one per
 * program: pl-cli-inprocess.c (portlightctl-local) does it; pl-cli-handoff.c (portlightctl)
 * runs portlightctl-local with the same command line instead, and returns only if it
 * cannot. Return exit codes. */
int          pl_cli_address_in_process     (PlCli               *cli);
int          pl_cli_map_in_process         (PlCli               *cli,
                                            GPtrArray           *mappings,
                                            gboolean             keep,
                                            gboolean             ipv4,
                                            gboolean             ipv6);
int          pl_cli_unmap_in_process       (PlCli               *cli,
                                            const PlProtocol    *protocols,
                                            guint                n_protocols,
                                            guint16              private_port,
                                            gboolean             all);

/* Through the running engine (pl-cli-engine-map.c). Return exit codes. Neither @ipv4 nor
 * @ipv6 (-4, -6): `map`, with --keep or not, opens an IPv6 pinhole too where the engine's
 * router can. */
int          pl_cli_engine_map             (PlCli               *cli,
                                            GPtrArray           *mappings,
                                            gboolean             keep,
                                            gboolean             ipv4,
                                            gboolean             ipv6);
/* Sets *@found when the engine held a lease on the port. */
int          pl_cli_engine_unmap           (PlCli               *cli,
                                            const PlProtocol    *protocols,
                                            guint                n_protocols,
                                            guint16              private_port,
                                            gboolean            *found);
/* The engine's gateway, method and public address (Manager) into @cli. */
void         pl_cli_map_read_engine        (PlCli               *cli);
/* `address` (pl-cli-engine-address.c): reads them, asking the engine to Refresh() and
 * waiting when it does not know the address yet. */
int          pl_cli_engine_address         (PlCli               *cli);

typedef enum
{
  PL_CLI_PEEK_NO_ENGINE,    /* none runs: ask the router in-process */
  PL_CLI_PEEK_ANSWERED,     /* @cli has the engine's gateway, method and address */
  PL_CLI_PEEK_ASK_ENGINE,   /* it runs but cannot answer at once: pl_cli_engine_address() */
  PL_CLI_PEEK_FAILED,       /* reported; *status is the exit code */
} PlCliPeek;

/* `address` in one call to the engine (pl_cli_engine_peek_manager()). */
PlCliPeek    pl_cli_engine_address_peek    (PlCli               *cli,
                                            int                 *status);

G_END_DECLS
