/* pl-cli-inprocess.c: portlightctl asking the router itself, where no engine runs
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <signal.h>
#include <stdio.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "pl-cli.h"
#include "pl-cli-common.h"
#include "pl-cli-engine.h"
#include "pl-cli-map.h"
#include "pl-core.h"

/* The in-process half of `address`, `map` and `unmap` (pl-cli.c parses them and goes
 * through the engine where one runs). Every network step is one asynchronous PlPortMapper
 * call (PCP, NAT-PMP or UPnP-IGD, chosen by pl_mapper_probe_async unless --protocol names
 * one) awaited by iterating the default main context (cli_await), which keeps each command
 * a plain sequence. `map --keep` hands the mappings to the session engine (PlSession)
 * instead; see "map --keep" below.
 *
 * This file is linked into portlightctl-local only, with the protocols and their libraries
 * (GUPnP, libsoup, libxml2); portlightctl itself links pl-cli-handoff.c in its place, which
 * runs portlightctl-local for these commands. So a command that the engine answers starts
 * without loading them (tests/bench/RESULTS.md, "address through the engine"). */

/* Talking to the gateway */

static void
attempt_cb (GObject  *client,
            guint     attempt,
            guint     max_attempts,
            gpointer  user_data)
{
  PlCli *cli = user_data;
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

static void cli_result_cb (GObject *source, GAsyncResult *result, gpointer user_data);
static GAsyncResult *cli_await (PlCli *cli);

/* Finds the gateway (unless -g gave it), finds out which protocol it speaks and creates the
 * mapper for it. Returns an exit code. The gateway is the engine's: whatever carries the
 * Internet traffic, a VPN tunnel's gateway when the tunnel does (pl-tunnel.h has the rule). */
static int
cli_start (PlCli *cli)
{
  if (cli->gateway_address == NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PlGateway) found = pl_tunnel_discover_default (&error);

      if (found == NULL)
        return pl_cli_map_fail (cli, error);
      cli->gateway_address = g_object_ref (found->address);
    }

  cli->gateway = g_inet_address_to_string (cli->gateway_address);

  if (cli->timeout_s > 0)
    cli->deadline = pl_clock_get_time (cli->clock) + (gint64) cli->timeout_s * G_USEC_PER_SEC;

  /* Which protocol: probed (PCP and NAT-PMP at once), or the one asked for. */
  {
    g_autoptr(GAsyncResult) result = NULL;
    g_autoptr(GInetAddress) address = NULL;
    g_autoptr(GError) error = NULL;

    pl_mapper_probe_async (cli->gateway_address, cli->clock, cli->method,
                           cli->timeout_s * 1000, cli->cancellable, cli_result_cb, cli);
    result = cli_await (cli);
    cli->client = pl_mapper_probe_finish (result, &address, &cli->epoch, &error);
    if (cli->client == NULL)
      return pl_cli_map_fail (cli, error);
    cli->client_method = pl_mapper_get_method (cli->client);
    if (address != NULL)
      pl_cli_map_set_public_address (cli, address);
  }
  if (g_signal_lookup ("attempt", G_OBJECT_TYPE (cli->client)) != 0)
    g_signal_connect (cli->client, "attempt", G_CALLBACK (attempt_cb), cli);

  return PL_EXIT_OK;
}

/* --timeout for the next request (0: the protocol's own schedule). */
static void
cli_set_timeout (PlCli *cli,
                 guint  timeout_ms)
{
  if (PL_IS_CLIENT (cli->client))
    pl_client_set_timeout (PL_CLIENT (cli->client), timeout_ms);
  else if (cli->client != NULL && PL_IS_PCP_CLIENT (cli->client))
    g_object_set (cli->client, "timeout", timeout_ms, NULL);
  if (cli->client6 != NULL && PL_IS_PCP_CLIENT (cli->client6))
    g_object_set (cli->client6, "timeout", timeout_ms, NULL);
}

/* Bounds the next request by what is left of --timeout (none: the client's full schedule). */
static void
cli_bound_request (PlCli *cli)
{
  guint timeout_ms = 0;

  if (cli->deadline != G_MAXINT64)
    {
      gint64 left_ms = (cli->deadline - pl_clock_get_time (cli->clock)) / 1000;

      timeout_ms = (guint) CLAMP (left_ms, 1, G_MAXUINT);
    }

  cli_set_timeout (cli, timeout_ms);
}

static void
cli_result_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  PlCli *cli = user_data;

  g_assert (cli->result == NULL);
  cli->result = g_object_ref (result);
}

/* Waits for the request in flight (started with cli_result_cb) and returns its result. */
static GAsyncResult *
cli_await (PlCli *cli)
{
  while (cli->result == NULL)
    g_main_context_iteration (NULL, TRUE);

  pl_cli_map_progress_clear (cli);

  return g_steal_pointer (&cli->result);
}

static gboolean
cli_get_external_address (PlCli   *cli,
                          GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GInetAddress) address = NULL;
  guint32 epoch = 0;

  pl_port_mapper_get_external_address_async (cli->client, cli->cancellable, cli_result_cb, cli);
  result = cli_await (cli);
  address = pl_port_mapper_get_external_address_finish (cli->client, result, &epoch, error);
  if (address == NULL)
    return FALSE;

  pl_cli_map_set_public_address (cli, address);
  cli->epoch = epoch;

  return TRUE;
}

/* PCP mappings belong to their nonce (RFC 6887 section 11.1): each one this command makes is
 * kept in the mapping state file (PlPcpState), so that a later `unmap` or `map`, from another
 * process, renews or deletes it as its owner instead of getting NOT_AUTHORIZED. A state file
 * that cannot be read or written costs a warning, never the mapping itself. */
static PlPcpState *
cli_pcp_state (PlCli *cli)
{
  g_autoptr(PlPcpState) state = NULL;
  g_autoptr(GError) error = NULL;

  if (cli->pcp_state_tried)
    return cli->pcp_state;
  cli->pcp_state_tried = TRUE;

  state = pl_pcp_state_new (NULL);
  if (!pl_pcp_state_load (state, &error))
    {
      pl_cli_map_progress_clear (cli);
      g_printerr (_("%s: warning: %s\n"), cli->prgname, error->message);
      return NULL;
    }
  cli->pcp_state = g_steal_pointer (&state);
  return cli->pcp_state;
}

/* PCP: the nonces of earlier commands' mappings, so that this one renews or deletes them
 * (the backend reads and updates the journal). */
static void
cli_use_journal (PlCli *cli)
{
  if (PL_IS_PCP_CLIENT (cli->client) && !cli->journal_set)
    {
      pl_port_mapper_set_journal (cli->client, cli_pcp_state (cli));
      cli->journal_set = TRUE;
    }
}

/* IPv6 pinholes: PCP over IPv6, from this computer's stable global address to the default
 * router's link-local one (tests/lab/MINIUPNPD.md, item 11), or with a UPnP-IGD router its
 * WANIPv6FirewallControl service over IPv6. A pinhole opens the private port of that
 * address; there is no translation. */

#define IPV6_PROBE_MS 2000   /* when IPv6 is a bonus: a router on the link answers in ms */

static gboolean
cli_is_upnp6 (PlCli *cli)
{
  return cli->client6 != NULL && PL_IS_UPNP_PINHOLE_CLIENT (cli->client6);
}

/* Whether cli->client's router can open pinholes too. */
static gboolean
cli_offers_ipv6 (PlCli *cli)
{
  return cli->client != NULL &&
         (pl_port_mapper_get_capabilities (cli->client) & PL_MAPPER_CAPABILITY_IPV6) != 0;
}

/* Sets up cli->client6. @required: -6 asked for it (then every failure is the command's);
 * otherwise a failure only means no pinhole, and the wait is short. */
static gboolean
cli_start_ipv6 (PlCli     *cli,
                gboolean   required,
                gboolean   probe,
                GError   **error)
{
  g_autoptr(PlIpv6Router) router = NULL;
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(PlPortMapper) client = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  guint timeout_ms = 0;

  router = pl_ipv6_router_discover (error);
  if (router == NULL)
    return FALSE;
  address = pl_ipv6_stable_address (router->ifindex, error);
  if (address == NULL)
    return FALSE;

  /* A UPnP-IGD router's own pinholes; PCP otherwise (-6 alone, or a PCP router). */
  if (cli->client != NULL && PL_IS_UPNP_CLIENT (cli->client))
    client = pl_mapper_new_ipv6 (cli->client, router->address, router->ifindex, address,
                                 cli->clock);
  if (client == NULL)
    client = g_object_new (PL_TYPE_PCP_CLIENT,
                           "gateway", router->address,
                           "clock", cli->clock,
                           "bind-address", address,
                           "scope-id", router->ifindex,
                           NULL);
  pl_port_mapper_set_journal (client, cli_pcp_state (cli));

  cli->client6 = g_object_ref (client);
  cli->address6 = g_inet_address_to_string (address);
  if (!probe)
    return TRUE;

  cli_bound_request (cli);
  if (PL_IS_PCP_CLIENT (client))
    {
      g_object_get (client, "timeout", &timeout_ms, NULL);
      if (!required && (timeout_ms == 0 || timeout_ms > IPV6_PROBE_MS))
        g_object_set (client, "timeout", IPV6_PROBE_MS, NULL);
    }
  else if (!required)
    pl_upnp_pinhole_client_set_timeout (PL_UPNP_PINHOLE_CLIENT (client), IPV6_PROBE_MS);

  pl_port_mapper_probe_async (client, cli->cancellable, cli_result_cb, cli);
  result = cli_await (cli);
  if (!pl_port_mapper_probe_finish (client, result, error))
    {
      g_clear_object (&cli->client6);
      g_clear_pointer (&cli->address6, g_free);
      return FALSE;
    }
  return TRUE;
}

/* Opens the pinhole of @m (its private port, on cli->address6). */
static gboolean
cli_map6 (PlCli    *cli,
          PlCliMapping  *m,
          GError  **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  guint32 lifetime = 0;

  cli_bound_request (cli);
  pl_port_mapper_map_async (cli->client6, m->protocol, m->private_port, m->private_port,
                            m->asked_lifetime, cli->cancellable, cli_result_cb, cli);
  result = cli_await (cli);
  if (!pl_port_mapper_map_finish (cli->client6, result, NULL, &lifetime, NULL, error))
    return FALSE;

  m->pinhole = TRUE;
  m->pinhole_lifetime = lifetime;
  return TRUE;
}

/* Closes the pinhole of (@protocol, @private_port) if the journal says one was opened. */
static gboolean
cli_unmap6 (PlCli       *cli,
            PlProtocol   protocol,
            guint16      private_port,
            gboolean    *closed,
            GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  *closed = FALSE;
  /* UPnP-IGD keeps no journal: the router finds the pinhole (see PlUpnpPinholeClient). */
  if (cli->client6 == NULL ||
      (!cli_is_upnp6 (cli) &&
       (cli_pcp_state (cli) == NULL ||
        pl_pcp_state_lookup (cli->pcp_state,
                             pl_pcp_client_get_gateway (PL_PCP_CLIENT (cli->client6)),
                             protocol, private_port, G_SOCKET_FAMILY_IPV6) == NULL)))
    return TRUE;

  cli_bound_request (cli);
  pl_port_mapper_unmap_async (cli->client6, protocol, private_port, cli->cancellable,
                              cli_result_cb, cli);
  result = cli_await (cli);
  if (!pl_port_mapper_unmap_finish (cli->client6, result, NULL, error))
    return FALSE;
  *closed = TRUE;
  return TRUE;
}

/* Asks for @m, suggesting @suggested_port; on success records the grant in @m. */
static gboolean
cli_map (PlCli    *cli,
         PlCliMapping  *m,
         guint16   suggested_port,
         GError  **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  guint16 public_port = 0;
  guint32 lifetime = 0;
  guint32 epoch = 0;

  g_autoptr(GError) local_error = NULL;

  cli_use_journal (cli);
  pl_port_mapper_map_async (cli->client, m->protocol, m->private_port, suggested_port,
                            m->asked_lifetime, cli->cancellable, cli_result_cb, cli);
  result = cli_await (cli);
  if (!pl_port_mapper_map_finish (cli->client, result, &public_port, &lifetime, &epoch,
                                  &local_error))
    {
      /* "any": a gateway that will not choose is asked for the private port (as the
       * engine does, pl_error_refuses_any_port()). */
      if (suggested_port != 0 || !pl_error_refuses_any_port (local_error))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      g_debug ("The gateway refused to choose a port (%s); suggesting %u",
               local_error->message, m->private_port);
      g_clear_error (&local_error);
      g_clear_object (&result);
      suggested_port = m->private_port;
      pl_port_mapper_map_async (cli->client, m->protocol, m->private_port, suggested_port,
                                m->asked_lifetime, cli->cancellable, cli_result_cb, cli);
      result = cli_await (cli);
      if (!pl_port_mapper_map_finish (cli->client, result, &public_port, &lifetime, &epoch,
                                      error))
        return FALSE;
    }

  /* PCP: the public address comes with every mapping. */
  if (PL_IS_PCP_CLIENT (cli->client) &&
      pl_pcp_client_get_external_address (PL_PCP_CLIENT (cli->client)) != NULL)
    {
      g_autoptr(GInetAddress) address =
        g_inet_address_new_from_string (pl_pcp_client_get_external_address (PL_PCP_CLIENT (cli->client)));

      if (address != NULL)
        pl_cli_map_set_public_address (cli, address);
    }

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
cli_unmap (PlCli       *cli,
           PlProtocol   protocol,
           guint16      private_port,
           GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  guint32 epoch = 0;
  gboolean ok;

  if (private_port > 0)
    {
      cli_use_journal (cli);
      pl_port_mapper_unmap_async (cli->client, protocol, private_port, cli->cancellable,
                                  cli_result_cb, cli);
      result = cli_await (cli);
      ok = pl_port_mapper_unmap_finish (cli->client, result, &epoch, error);
    }
  else if (PL_IS_CLIENT (cli->client))
    {
      pl_client_unmap_all_async (PL_CLIENT (cli->client), protocol, cli->cancellable,
                                 cli_result_cb, cli);
      result = cli_await (cli);
      ok = pl_client_unmap_all_finish (PL_CLIENT (cli->client), result, &epoch, error);
    }
  else
    {
      /* PCP deletes a mapping by its nonce: there is no "all of this computer". */
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("%s cannot remove all mappings at once: name the private port, or use "
                     "--protocol natpmp"), pl_port_mapper_get_protocol_name (cli->client));
      ok = FALSE;
    }

  if (ok)
    cli->epoch = epoch;

  return ok;
}

/* map --keep
 *
 * After the public address (asked as plain `map` does), the mappings go to a PlSession, the
 * engine of the tray and of `portlightctl run`: one profile per protocol ("udp 8080",
 * "tcp 8080", in the order plain `map` asks), on the gateway resolved above, through the same
 * client. The session renews at half the granted lifetime suggesting the granted port,
 * retries with back-off, creates lost mappings again, detects router reboots by the epoch and
 * by the announcements on 224.0.0.1:5350, and deletes the mappings when stopped. The code
 * below only turns its signals into the lines and JSON events of --keep.
 *
 * Until every mapping has been granted once the command is starting: the first failure of a
 * first request ends it with the error and exit code of plain `map`, once the session has
 * deleted whatever it did map. */

typedef struct
{
  PlCli      *cli;
  GPtrArray  *mappings;         /* PlCliMapping*, not owned */
  PlSession  *session;
  GMainLoop  *loop;
  guint       signal_ids[2];
  guint       n_signals;
  gboolean    started;          /* every mapping was granted once: "mapped" is printed */
  gboolean    failed;           /* a first request failed: @status is its exit code */
  gboolean    stopping;
  gboolean    stopped;
  int         status;
} Keeper;

static void keeper_stop (Keeper *keeper);

static gboolean
keeper_signal_cb (gpointer user_data)
{
  Keeper *keeper = user_data;

  keeper->n_signals++;
  /* Ends the address request if it is still out. */
  g_cancellable_cancel (keeper->cli->cancellable);

  if (keeper->n_signals > 1)
    g_main_loop_quit (keeper->loop);   /* do not wait for the clean-up */
  else if (keeper->session != NULL)
    keeper_stop (keeper);

  return G_SOURCE_CONTINUE;
}

static Keeper *
keeper_new (PlCli     *cli,
            GPtrArray *mappings)
{
  Keeper *keeper = g_new0 (Keeper, 1);

  keeper->cli = cli;
  keeper->mappings = mappings;
  keeper->loop = g_main_loop_new (NULL, FALSE);
  keeper->signal_ids[0] = g_unix_signal_add (SIGINT, keeper_signal_cb, keeper);
  keeper->signal_ids[1] = g_unix_signal_add (SIGTERM, keeper_signal_cb, keeper);

  return keeper;
}

static void
keeper_free (Keeper *keeper)
{
  for (guint i = 0; i < G_N_ELEMENTS (keeper->signal_ids); i++)
    g_clear_handle_id (&keeper->signal_ids[i], g_source_remove);
  if (keeper->cli->client != NULL)
    g_signal_handlers_disconnect_by_data (keeper->cli->client, keeper);
  if (keeper->session != NULL)
    g_signal_handlers_disconnect_by_data (keeper->session, keeper);
  /* After a second signal the stop is still pending and holds the session; the process
   * exits without running it. */
  g_clear_object (&keeper->session);
  g_clear_pointer (&keeper->loop, g_main_loop_unref);
  g_free (keeper);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Keeper, keeper_free)

static PlCliMapping *
keeper_find (Keeper    *keeper,
             PlMapping *mapping)
{
  for (guint i = 0; i < keeper->mappings->len; i++)
    {
      PlCliMapping *m = g_ptr_array_index (keeper->mappings, i);

      if (m->protocol == pl_mapping_get_protocol (mapping))
        return m;
    }

  return NULL;
}

static void
keeper_print_json (Keeper        *keeper,
                   const PlCliMapping *m,
                   const char    *event,
                   const GError  *error)
{
  pl_cli_map_print_event (keeper->cli, m, event, error);
}

/* The JSON "mapped" event, or the text line, once every mapping was granted. */
static void
keeper_check_started (Keeper *keeper)
{
  PlCli *cli = keeper->cli;

  for (guint i = 0; i < keeper->mappings->len; i++)
    {
      if (!((PlCliMapping *) g_ptr_array_index (keeper->mappings, i))->granted)
        return;
    }

  keeper->started = TRUE;
  /* From here on --timeout bounds each request, not the whole command. */
  cli_set_timeout (cli, cli->timeout_s * 1000);

  if (cli->json)
    {
      g_autoptr(JsonBuilder) builder = pl_cli_map_json_begin_map (cli, "mapped");

      for (guint i = 0; i < keeper->mappings->len; i++)
        pl_cli_map_json_add_mapping (builder, g_ptr_array_index (keeper->mappings, i));
      json_builder_end_array (builder);
      pl_cli_print_json_object (builder);
    }
  else
    {
      g_print ("%s", ngettext ("Keeping the mapping until Ctrl-C or SIGTERM, renewing it at "
                               "half its lifetime…\n",
                               "Keeping the mappings until Ctrl-C or SIGTERM, renewing them "
                               "at half their lifetime…\n",
                               keeper->mappings->len));
      fflush (stdout);
    }
}

static void
keeper_granted (Keeper    *keeper,
                PlCliMapping   *m,
                PlMapping *mapping)
{
  PlCli *cli = keeper->cli;
  gboolean first = !m->granted;
  gboolean recreated = m->lost;

  /* The session suggested the port granted before, else the one asked for. */
  m->suggested_port = m->public_port != 0 ? m->public_port : m->asked_port;
  m->public_port = pl_mapping_get_external_port (mapping);
  m->lifetime = pl_mapping_get_lifetime (mapping);
  m->expires = pl_mapping_get_expires (mapping);
  g_clear_pointer (&m->expires_local, g_date_time_unref);
  m->expires_local = pl_cli_clock_time_to_local (cli->clock, m->expires);
  m->granted = TRUE;
  m->lost = FALSE;
  m->failure_reported = FALSE;

  if (!keeper->started)
    {
      /* Renewals while another mapping is still being asked for are not news yet. */
      if (first && !cli->json)
        pl_cli_map_print_mapping (cli, m, PL_CLI_MAP_EVENT_MAPPED);
      keeper_check_started (keeper);
      return;
    }

  if (cli->json)
    {
      keeper_print_json (keeper, m, recreated ? "recreated" : "renewed", NULL);
      return;
    }
  pl_cli_map_print_mapping (cli, m, recreated ? PL_CLI_MAP_EVENT_RECREATED : PL_CLI_MAP_EVENT_RENEWED);
  fflush (stdout);
}

/* A request failed: a renewal (@holds: the mapping is still there until it expires) or a
 * creation. */
static void
keeper_failed (Keeper       *keeper,
               PlCliMapping      *m,
               gboolean      holds,
               const GError *error)
{
  PlCli *cli = keeper->cli;

  if (!m->granted)
    {
      /* A first request: the command fails as plain `map` does, once the session has
       * deleted what it mapped. */
      if (!keeper->failed)
        {
          keeper->failed = TRUE;
          keeper->status = pl_cli_map_fail (cli, error);
          keeper_stop (keeper);
        }
      return;
    }

  m->failure_reported = TRUE;
  if (!keeper->started)
    return;

  /* Plain core messages: the advice for a first contact does not fit a router that
   * answered. */
  if (cli->json)
    {
      keeper_print_json (keeper, m, "renewal-failed", error);
    }
  else if (holds)
    {
      g_autofree char *expires = NULL;

      if (m->expires_local != NULL)
        expires = g_date_time_format (m->expires_local, "%H:%M:%S");
      g_printerr (_("Could not renew the %s mapping of private port %u: %s; retrying until "
                    "it expires at %s\n"),
                  pl_cli_protocol_label (m->protocol), m->private_port, error->message,
                  expires != NULL ? expires : "-");
    }
  else
    {
      g_printerr (_("Could not re-create the %s mapping of private port %u: %s; retrying\n"),
                  pl_cli_protocol_label (m->protocol), m->private_port, error->message);
    }
}

/* The grant ran out before a renewal got through; the session creates the mapping again. */
static void
keeper_expired (Keeper  *keeper,
                PlCliMapping *m)
{
  PlCli *cli = keeper->cli;

  if (!keeper->started)
    return;

  if (!m->failure_reported)
    {
      /* The renewal went unanswered until then: the session gave up on it at the expiry. */
      g_autoptr(GError) error = g_error_new (PL_ERROR, PL_ERROR_TIMED_OUT,
                                             _("No answer from %s before the mapping expired"),
                                             cli->gateway);

      if (cli->json)
        keeper_print_json (keeper, m, "renewal-failed", error);
      else
        g_printerr (_("Could not renew the %s mapping of private port %u: %s\n"),
                    pl_cli_protocol_label (m->protocol), m->private_port, error->message);
    }

  if (!cli->json)
    g_printerr (_("The %s mapping of private port %u has expired; re-creating it\n"),
                pl_cli_protocol_label (m->protocol), m->private_port);
}

static void
keeper_mapping_changed_cb (PlSession *session,
                           PlMapping *mapping,
                           Keeper    *keeper)
{
  PlCliMapping *m = keeper_find (keeper, mapping);
  const GError *error = pl_mapping_get_error (mapping);

  if (m == NULL || keeper->stopping)
    return;

  pl_cli_map_progress_clear (keeper->cli);

  switch (pl_mapping_get_state (mapping))
    {
    case PL_MAPPING_STATE_ACTIVE:
      /* With an error, a renewal failed; the grant holds until it expires. */
      if (error == NULL)
        keeper_granted (keeper, m, mapping);
      else
        keeper_failed (keeper, m, TRUE, error);
      break;

    case PL_MAPPING_STATE_MAPPING:
      /* Asked for again: a granted mapping expired, or the router lost it in a reset
       * (router-reset follows). Retries after a failure come here too. */
      if (m->granted && !m->lost)
        {
          m->lost = TRUE;
          if (pl_clock_get_time (keeper->cli->clock) >= m->expires)
            keeper_expired (keeper, m);
        }
      break;

    case PL_MAPPING_STATE_FAILED:
      m->lost = m->granted;
      if (error != NULL)
        keeper_failed (keeper, m, FALSE, error);
      break;

    case PL_MAPPING_STATE_DISABLED:
    default:
      break;
    }
}

static void
keeper_router_reset_cb (PlSession *session,
                        guint      n_mappings,
                        Keeper    *keeper)
{
  PlCli *cli = keeper->cli;

  if (!keeper->started || keeper->stopping)
    return;

  pl_cli_map_progress_clear (cli);
  if (cli->json)
    {
      g_autoptr(JsonBuilder) builder = pl_cli_map_json_begin_map (cli, "router-reset");

      /* The mappings as they were; "recreated" events follow. */
      for (guint i = 0; i < keeper->mappings->len; i++)
        pl_cli_map_json_add_mapping (builder, g_ptr_array_index (keeper->mappings, i));
      json_builder_end_array (builder);
      pl_cli_print_json_object (builder);
    }
  else
    {
      g_printerr (g_dngettext (GETTEXT_PACKAGE,
                               "The router restarted and lost its mappings: restoring %u "
                               "mapping",
                               "The router restarted and lost its mappings: restoring %u "
                               "mappings",
                               n_mappings),
                  n_mappings);
      g_printerr ("\n");
    }
}

static void
keeper_external_address_changed_cb (PlSession  *session,
                                    const char *address,
                                    Keeper     *keeper)
{
  PlCli *cli = keeper->cli;
  g_autoptr(GInetAddress) inet = NULL;

  /* The session's first answer normally repeats the address asked above. */
  if (address == NULL || keeper->stopping || g_strcmp0 (address, cli->public_address) == 0)
    return;

  inet = g_inet_address_new_from_string (address);
  g_free (cli->public_address);
  cli->public_address = g_strdup (address);
  cli->double_nat = inet != NULL && g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV4 &&
                    pl_natpmp_address_is_double_nat (g_inet_address_to_bytes (inet));

  /* In JSON the next event carries it. */
  pl_cli_map_progress_clear (cli);
  if (!cli->json)
    {
      g_print (_("Public address: %s\n"), cli->public_address);
      fflush (stdout);
    }
  pl_cli_map_print_double_nat (cli);
}

static void
keeper_epoch_cb (GObject  *client,
                 guint     epoch,
                 Keeper   *keeper)
{
  keeper->cli->epoch = epoch;
}

/* The session talks through the client `map` already made for the gateway. */
static PlPortMapper *
keeper_mapper_factory (GInetAddress *gateway,
                       PlClock      *clock,
                       gpointer      user_data)
{
  return PL_PORT_MAPPER (g_object_ref (user_data));
}

static void
keeper_print_removed (Keeper *keeper)
{
  pl_cli_map_print_removed (keeper->cli, keeper->mappings);
}

static void
keeper_stopped_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Keeper *keeper = user_data;
  PlCli *cli = keeper->cli;
  g_autoptr(GError) error = NULL;
  gboolean ok = pl_session_stop_finish (PL_SESSION (source), result, &error);

  keeper->stopped = TRUE;
  pl_cli_map_progress_clear (cli);

  /* After a failed first request its error was the last word. */
  if (keeper->failed)
    ;
  else if (ok)
    {
      keeper_print_removed (keeper);
      keeper->status = PL_EXIT_OK;
    }
  else
    {
      if (cli->json)
        pl_cli_print_json_error (pl_cli_error_code_name (error), error->message);
      else
        g_printerr ("%s: %s\n", cli->prgname, error->message);
      keeper->status = pl_cli_exit_code_for_error (error);
    }

  g_main_loop_quit (keeper->loop);
}

/* Deletes the mappings (within the session's 2 s) and ends the main loop. */
static void
keeper_stop (Keeper *keeper)
{
  if (keeper->stopping)
    return;

  keeper->stopping = TRUE;
  pl_session_stop_async (keeper->session, NULL, keeper_stopped_cb, keeper);
}

/* Runs the session on @keeper's mappings until SIGINT/SIGTERM, or until a first request
 * fails. Returns the exit code. */
static int
keeper_run (Keeper *keeper)
{
  PlCli *cli = keeper->cli;
  g_autoptr(GListStore) profiles = g_list_store_new (PL_TYPE_PROFILE);

  for (guint i = 0; i < keeper->mappings->len; i++)
    {
      PlCliMapping *m = g_ptr_array_index (keeper->mappings, i);
      g_autofree char *name = g_strdup_printf ("%s %u", pl_cli_map_protocol_json (m->protocol),
                                               m->private_port);
      g_autoptr(PlProfile) profile = pl_profile_new (name);

      pl_profile_set_protocol (profile, m->protocol == PL_PROTOCOL_UDP
                                        ? PL_PROFILE_PROTOCOL_UDP : PL_PROFILE_PROTOCOL_TCP);
      pl_profile_set_internal_port (profile, m->private_port);
      pl_profile_set_external_port (profile, m->asked_port);
      pl_profile_set_any_external_port (profile, m->asked_port == 0);
      pl_profile_set_lifetime (profile, m->asked_lifetime);
      g_list_store_append (profiles, profile);
    }

  keeper->session = pl_session_new (G_LIST_MODEL (profiles), cli->clock, cli->gateway_address,
                                    FALSE);
  pl_session_set_mapper_factory (keeper->session, keeper_mapper_factory,
                                 g_object_ref (cli->client), g_object_unref);
  /* --keep reports IPv4 mappings; pinholes are `map`'s (without --keep) and run's. */
  pl_session_set_ipv6_pinholes (keeper->session, FALSE);
  g_signal_connect (cli->client, "epoch", G_CALLBACK (keeper_epoch_cb), keeper);
  g_signal_connect (keeper->session, "mapping-changed",
                    G_CALLBACK (keeper_mapping_changed_cb), keeper);
  g_signal_connect (keeper->session, "router-reset", G_CALLBACK (keeper_router_reset_cb), keeper);
  g_signal_connect (keeper->session, "external-address-changed",
                    G_CALLBACK (keeper_external_address_changed_cb), keeper);

  /* The first requests get what is left of --timeout, as in plain `map`. */
  cli_bound_request (cli);
  pl_session_start (keeper->session);
  g_main_loop_run (keeper->loop);

  if (keeper->n_signals > 1 && !keeper->stopped)
    {
      const char *message = _("Interrupted again: mappings were left in place; they expire "
                              "by themselves");

      pl_cli_map_progress_clear (cli);
      if (cli->json)
        pl_cli_print_json_error ("interrupted", message);
      else
        g_printerr ("%s: %s\n", cli->prgname, message);
      return PL_EXIT_LOCAL_ERROR;
    }

  return keeper->status;
}


/* `address` without the engine: asks the router; sets cli->public_address. */
int
pl_cli_address_in_process (PlCli *cli)
{
  g_autoptr(GError) error = NULL;
  int status = cli_start (cli);

  if (status != PL_EXIT_OK)
    return status;
  cli_bound_request (cli);
  if (cli->public_address == NULL && !cli_get_external_address (cli, &error))
    return pl_cli_map_fail (cli, error);
  return PL_EXIT_OK;
}

/* `map` without the engine (the arguments parsed by cmd_map()). */
int
pl_cli_map_in_process (PlCli     *cli,
                       GPtrArray *mappings,
                       gboolean   keep,
                       gboolean   ipv4,
                       gboolean   ipv6)
{
  g_autoptr(Keeper) keeper = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  /* --keep in-process is an engine of its own: it takes the engine lock (--no-broker has),
   * so that it never runs beside another one it cannot reach (no session bus). */
  if (keep && cli->lock == NULL)
    {
      g_autoptr(GError) lock_error = NULL;
      guint holder = 0;

      cli->lock = pl_engine_lock_acquire (NULL, &holder, &lock_error);
      if (cli->lock == NULL && g_error_matches (lock_error, G_IO_ERROR, G_IO_ERROR_BUSY))
        {
          g_clear_error (&lock_error);
          g_set_error (&lock_error, G_IO_ERROR, G_IO_ERROR_BUSY,
                       _("Portlight's engine is already running (pid %u) and cannot be "
                         "reached from here (no session bus): it would not know of this "
                         "mapping"), holder);
          return pl_cli_map_fail (cli, lock_error);
        }
      if (cli->lock == NULL)
        g_debug ("No engine lock: %s", lock_error->message);
    }

  /* --keep: from here on SIGINT/SIGTERM stop the command (and delete what it mapped). */
  if (keep)
    keeper = keeper_new (cli, mappings);

  if (ipv6)
    {
      /* IPv6 only: the router is the IPv6 default route's, spoken to over PCP; with
       * --protocol upnp, or when it refuses PCP (auto), through the UPnP-IGD router's
       * firewall service, which the IPv4 search finds first. */
      gboolean upnp = cli->method == PL_METHOD_UPNP;

      if (!upnp && !cli_start_ipv6 (cli, TRUE, TRUE, &error))
        {
          if (cli->method != PL_METHOD_AUTO || !g_error_matches (error, PL_ERROR, PL_ERROR_REFUSED))
            return pl_cli_map_fail (cli, error);
          g_debug ("No PCP over IPv6 (%s): trying UPnP-IGD", error->message);
          g_clear_error (&error);
          cli->method = PL_METHOD_UPNP;
          upnp = TRUE;
        }
      if (upnp)
        {
          status = cli_start (cli);
          if (status != PL_EXIT_OK)
            return status;
          if (!cli_offers_ipv6 (cli))
            return pl_cli_map_fail (cli, g_error_new (PL_ERROR, PL_ERROR_UNSUPPORTED_OPCODE,
                                               _("The router at %s opens no IPv6 pinholes "
                                                 "over UPnP-IGD"), cli->gateway));
          if (!cli_start_ipv6 (cli, TRUE, TRUE, &error))
            return pl_cli_map_fail (cli, error);
        }
      g_free (cli->gateway);
      cli->gateway = g_inet_address_to_string (pl_port_mapper_get_gateway (cli->client6));
      if (!cli->json && upnp)
        g_print (_("Gateway: %s · UPnP-IGD (IPv6)\n"), cli->gateway);
      else if (!cli->json)
        g_print (_("Gateway: %s · PCP (IPv6)\n"), cli->gateway);
    }
  else
    {
      status = cli_start (cli);
      if (status != PL_EXIT_OK)
        return status;

      /* The probe may have heard the address already (its NAT-PMP leg); PCP has no request
       * for it and tells it with the first mapping instead. */
      cli_bound_request (cli);
      if (cli->public_address == NULL && !cli_get_external_address (cli, &error))
        {
          if (keeper != NULL && keeper->n_signals > 0)
            return PL_EXIT_OK;
          if (!PL_IS_PCP_CLIENT (cli->client) ||
              !g_error_matches (error, PL_ERROR, PL_ERROR_UNSUPPORTED_OPCODE))
            return pl_cli_map_fail (cli, error);
          g_clear_error (&error);
        }
      if (keeper != NULL && keeper->n_signals > 0)
        return PL_EXIT_OK;

      if (!cli->json)
        {
          pl_cli_map_print_gateway (cli);
          if (cli->public_address != NULL)
            g_print (_("Public address: %s\n"), cli->public_address);
        }
      pl_cli_map_print_double_nat (cli);

      if (keeper != NULL)
        return keeper_run (keeper);

      /* Both families by default, when the router can open pinholes (PCP, or UPnP-IGD with
       * WANIPv6FirewallControl): a pinhole too, if this computer has a stable global IPv6
       * address and the router answers over IPv6. */
      if (!ipv4 && cli_offers_ipv6 (cli))
        {
          g_autoptr(GError) error6 = NULL;

          if (!cli_start_ipv6 (cli, FALSE, TRUE, &error6))
            {
              if (g_error_matches (error6, PL_ERROR, PL_ERROR_NO_GATEWAY))
                g_debug ("No IPv6 pinholes: %s", error6->message);   /* no IPv6 here */
              else if (!cli->json)
                g_print (_("No IPv6 pinhole: %s\n"), error6->message);
            }
        }
    }

  for (guint i = 0; i < mappings->len; i++)
    {
      PlCliMapping *m = g_ptr_array_index (mappings, i);

      if (!ipv6)
        {
          cli_bound_request (cli);
          if (!cli_map (cli, m, m->asked_port, &error))
            return pl_cli_map_fail (cli, error);
          if (!cli->json)
            pl_cli_map_print_mapping (cli, m, PL_CLI_MAP_EVENT_MAPPED);
        }

      if (cli->client6 != NULL)
        {
          if (!cli_map6 (cli, m, &error))
            {
              if (ipv6)
                return pl_cli_map_fail (cli, error);
              if (!cli->json)
                g_print (_("No IPv6 pinhole for %s %u: %s\n"),
                         pl_cli_protocol_label (m->protocol), m->private_port, error->message);
              g_clear_error (&error);
            }
          else if (!cli->json)
            g_print (_("Opened %s [%s]:%u (IPv6 pinhole), lifetime %u s\n"),
                     pl_cli_protocol_label (m->protocol), cli->address6, m->private_port,
                     m->pinhole_lifetime);
        }
    }

  for (guint i = 0; !cli->json && !ipv6 && i < mappings->len; i++)
    {
      PlCliMapping *m = g_ptr_array_index (mappings, i);

      if (!m->pinhole)
        continue;
      g_print (_("Open on %s:%u (IPv4) and [%s]:%u (IPv6)\n"), cli->public_address,
               m->public_port, cli->address6, m->private_port);
      if (cli->double_nat)
        g_printerr (_("Note: behind the second NAT, IPv4 forwarding cannot reach the Internet, "
                      "but %s %u is reachable over IPv6 at [%s]:%u.\n"),
                    pl_cli_protocol_label (m->protocol), m->private_port, cli->address6,
                    m->private_port);
    }

  if (cli->json)
    {
      builder = pl_cli_map_json_begin_map (cli, NULL);
      for (guint i = 0; i < mappings->len; i++)
        {
          PlCliMapping *m = g_ptr_array_index (mappings, i);

          if (!ipv6)
            pl_cli_map_json_add_mapping (builder, m);
          if (m->pinhole)
            pl_cli_map_json_add_pinhole (builder, cli, m);
        }
      json_builder_end_array (builder);
      pl_cli_print_json_object (builder);
    }

  return PL_EXIT_OK;
}

/* `unmap` without the engine, or of a mapping that is none of the engine's. */
int
pl_cli_unmap_in_process (PlCli            *cli,
                         const PlProtocol *protocols,
                         guint             n_protocols,
                         guint16           private_port,
                         gboolean          all)
{
  g_autoptr(JsonBuilder) builder = NULL;
  int status;

  status = cli_start (cli);
  if (status != PL_EXIT_OK)
    return status;

  if (cli->json)
    {
      builder = pl_cli_map_json_begin (cli, NULL);
      pl_cli_json_add_boolean (builder, "all", all);
      json_builder_set_member_name (builder, "unmapped");
      json_builder_begin_array (builder);
    }
  else
    {
      pl_cli_map_print_gateway (cli);
    }

  /* The pinholes map opened are in the journal, under the IPv6 default router: no probe. */
  if (!all && cli_offers_ipv6 (cli))
    {
      g_autoptr(GError) error6 = NULL;

      if (!cli_start_ipv6 (cli, FALSE, FALSE, &error6))
        g_debug ("No IPv6 pinholes to close: %s", error6->message);
    }

  for (guint i = 0; i < n_protocols; i++)
    {
      g_autoptr(GError) error = NULL;
      gboolean closed6 = FALSE;

      cli_bound_request (cli);
      if (!cli_unmap (cli, protocols[i], private_port, &error))
        return pl_cli_map_fail (cli, error);
      if (!cli_unmap6 (cli, protocols[i], private_port, &closed6, &error))
        return pl_cli_map_fail (cli, error);
      if (closed6 && builder == NULL)
        g_print (_("Closed the %s IPv6 pinhole of [%s]:%u\n"),
                 pl_cli_protocol_label (protocols[i]), cli->address6, private_port);

      if (builder != NULL)
        {
          json_builder_begin_object (builder);
          pl_cli_json_add_string (builder, "protocol", pl_cli_map_protocol_json (protocols[i]));
          pl_cli_json_add_int (builder, "private_port", private_port);
          json_builder_end_object (builder);
        }
      else if (all)
        {
          g_print (_("Removed all %s mappings of this computer\n"),
                   pl_cli_protocol_label (protocols[i]));
        }
      else
        {
          g_print (_("Removed the %s mapping of private port %u\n"),
                   pl_cli_protocol_label (protocols[i]), private_port);
        }
    }

  if (builder != NULL)
    {
      json_builder_end_array (builder);
      pl_cli_json_add_int (builder, "epoch", cli->epoch);
      pl_cli_print_json_object (builder);
    }

  return PL_EXIT_OK;
}


