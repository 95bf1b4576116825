/* pl-cli-engine-address.c: `address` through the running engine
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n.h>

#include "pl-cli.h"
#include "pl-cli-engine.h"
#include "pl-cli-map.h"

/* Where the engine runs, it is the one client of the router: `address` reads what the
 * engine's Manager says (Gateway, Method, ExternalAddress) instead of asking the router a
 * second time from this process. One GetAll call answers in the usual case; when the
 * engine does not know the address yet (starting, or the router did not answer so far),
 * the command finds the engine as the other commands do, asks it to Refresh() and waits for
 * the properties, at most --timeout seconds (ADDRESS_WAIT_S without it). */

#define ADDRESS_WAIT_S   30
/* An engine that saw no gateway at all gets this long after Refresh() to find one: its
 * State stays "no-gateway" without a change to wait for when there still is none. */
#define NO_GATEWAY_WAIT_S 3

typedef struct
{
  PlCli     *cli;
  GMainLoop *loop;
  GError    *error;
  gboolean   done;
  guint      timeout_id;
} EngineAddress;

static gboolean
engine_knows_address (PlBrokerManager *manager)
{
  const char *gateway = pl_broker_manager_get_gateway (manager);
  const char *method = pl_broker_manager_get_method (manager);
  const char *address = pl_broker_manager_get_external_address (manager);

  return gateway != NULL && gateway[0] != '\0' && method != NULL && method[0] != '\0' &&
         address != NULL && address[0] != '\0';
}

static void
engine_address_stop (EngineAddress *ea,
                     GError        *error)
{
  if (ea->done)
    {
      g_clear_error (&error);
      return;
    }
  ea->done = TRUE;
  ea->error = error;
  g_main_loop_quit (ea->loop);
}

static GError *
no_gateway_error (void)
{
  return g_error_new_literal (PL_ERROR, PL_ERROR_NO_GATEWAY,
                              _("Portlight's engine finds no default gateway"));
}

static void
engine_address_changed_cb (GDBusProxy    *proxy,
                           GVariant      *changed,
                           GStrv          invalidated,
                           EngineAddress *ea)
{
  const char *state = NULL;

  if (engine_knows_address (ea->cli->engine->manager))
    engine_address_stop (ea, NULL);
  else if (g_variant_lookup (changed, "State", "&s", &state) &&
           g_str_equal (state, "no-gateway"))
    engine_address_stop (ea, no_gateway_error ());
}

static void
engine_address_owner_cb (GObject       *objects,
                         GParamSpec    *pspec,
                         EngineAddress *ea)
{
  g_autofree char *owner = g_dbus_object_manager_client_get_name_owner (
    G_DBUS_OBJECT_MANAGER_CLIENT (objects));

  if (owner == NULL)
    engine_address_stop (ea, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED,
                                                  _("Portlight's engine stopped before it "
                                                    "knew the public address")));
}

static gboolean
engine_address_timeout_cb (gpointer user_data)
{
  EngineAddress *ea = user_data;
  const char *state = pl_broker_manager_get_state (ea->cli->engine->manager);
  guint waited = ea->cli->timeout_s > 0 ? ea->cli->timeout_s : ADDRESS_WAIT_S;

  ea->timeout_id = 0;
  if (g_strcmp0 (state, "no-gateway") == 0)
    engine_address_stop (ea, no_gateway_error ());
  else
    engine_address_stop (ea, g_error_new (PL_ERROR, PL_ERROR_TIMED_OUT,
                                          _("Portlight's engine has heard no public address "
                                            "from the router within %u s"), waited));
  return G_SOURCE_REMOVE;
}

/* Asks the engine to re-probe and waits until it knows the address. */
static gboolean
engine_address_wait (PlCli   *cli,
                     GError **error)
{
  PlBrokerManager *manager = cli->engine->manager;
  g_autoptr(GError) local_error = NULL;
  EngineAddress ea = { 0 };
  guint wait_s = cli->timeout_s > 0 ? cli->timeout_s : ADDRESS_WAIT_S;
  gulong changed_id;
  gulong owner_id;

  if (g_strcmp0 (pl_broker_manager_get_state (manager), "no-gateway") == 0)
    wait_s = MIN (wait_s, NO_GATEWAY_WAIT_S);

  ea.cli = cli;
  ea.loop = g_main_loop_new (NULL, FALSE);
  changed_id = g_signal_connect (manager, "g-properties-changed",
                                 G_CALLBACK (engine_address_changed_cb), &ea);
  owner_id = g_signal_connect (cli->engine->objects, "notify::name-owner",
                               G_CALLBACK (engine_address_owner_cb), &ea);
  ea.timeout_id = g_timeout_add_seconds (wait_s, engine_address_timeout_cb, &ea);

  /* Rate-limited by the engine and never failing but for the bus's own reasons. */
  if (!pl_broker_manager_call_refresh_sync (manager, NULL, &local_error))
    engine_address_stop (&ea, pl_cli_engine_call_error (local_error));
  else if (engine_knows_address (manager))
    engine_address_stop (&ea, NULL);

  if (!ea.done)
    g_main_loop_run (ea.loop);

  g_clear_handle_id (&ea.timeout_id, g_source_remove);
  g_clear_signal_handler (&changed_id, manager);
  g_clear_signal_handler (&owner_id, cli->engine->objects);
  g_main_loop_unref (ea.loop);

  if (ea.error != NULL)
    {
      g_propagate_error (error, ea.error);
      return FALSE;
    }
  return TRUE;
}

int
pl_cli_engine_address (PlCli *cli)
{
  PlBrokerManager *manager = cli->engine->manager;
  g_autoptr(GError) error = NULL;

  if (!engine_knows_address (manager) && !engine_address_wait (cli, &error))
    return pl_cli_map_fail (cli, error);

  if (cli->gateway_address != NULL)
    {
      g_autofree char *asked = g_inet_address_to_string (cli->gateway_address);

      if (g_strcmp0 (asked, pl_broker_manager_get_gateway (manager)) != 0)
        g_printerr (_("%s: warning: Portlight's engine (pid %u) speaks to the router at %s; "
                      "--gateway is not used\n"),
                    cli->prgname, pl_cli_engine_get_pid (cli->engine),
                    pl_broker_manager_get_gateway (manager));
    }

  pl_cli_map_read_engine (cli);
  cli->engine_answered = TRUE;
  if (cli->public_address == NULL)
    {
      error = g_error_new (PL_ERROR, PL_ERROR_MALFORMED_REPLY,
                           _("Portlight's engine reports an invalid public address “%s”"),
                           pl_broker_manager_get_external_address (manager));
      return pl_cli_map_fail (cli, error);
    }
  return PL_EXIT_OK;
}

static const char *
lookup_string (GVariant   *properties,
               const char *name)
{
  const char *value = NULL;

  if (!g_variant_lookup (properties, name, "&s", &value))
    return "";
  return value;
}

PlCliPeek
pl_cli_engine_address_peek (PlCli *cli,
                            int   *status)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) properties = pl_cli_engine_peek_manager (&error);
  g_autoptr(GInetAddress) inet = NULL;
  const char *gateway;
  const char *method;
  const char *address;

  if (properties == NULL && error != NULL)
    {
      *status = pl_cli_map_fail (cli, error);
      return PL_CLI_PEEK_FAILED;
    }
  if (properties == NULL)
    return PL_CLI_PEEK_NO_ENGINE;

  gateway = lookup_string (properties, "Gateway");
  method = lookup_string (properties, "Method");
  address = lookup_string (properties, "ExternalAddress");
  inet = address[0] != '\0' ? g_inet_address_new_from_string (address) : NULL;
  if (gateway[0] == '\0' || method[0] == '\0' || inet == NULL)
    return PL_CLI_PEEK_ASK_ENGINE;
  /* --gateway naming another router: the warning names the engine's pid. */
  if (cli->gateway_address != NULL)
    {
      g_autofree char *asked = g_inet_address_to_string (cli->gateway_address);

      if (g_strcmp0 (asked, gateway) != 0)
        return PL_CLI_PEEK_ASK_ENGINE;
    }

  g_free (cli->gateway);
  cli->gateway = g_strdup (gateway);
  g_free (cli->engine_method);
  cli->engine_method = g_strdup (method);
  cli->epoch_unknown = !g_variant_lookup (properties, "Epoch", "u", &cli->epoch);
  pl_cli_map_set_public_address (cli, inet);
  cli->engine_answered = TRUE;
  return PL_CLI_PEEK_ANSWERED;
}
