/* pl-cli-engine-map.c: `map` and `unmap` through the running engine
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

/* Where the engine runs, `map` asks it for a lease: RequestMapping(bind=caller) with --keep,
 * held for as long as the command runs (the engine ends it when this process leaves the bus,
 * killed or not), and bind=none with duration = the lifetime without it, so that the engine
 * tracks that mapping too (the tray shows it, a router restart within the lifetime restores
 * it) and removes it when the lifetime is over. The lease's State, Error and Mappings, and
 * the Manager's public address and GatewayRebootedAt, arrive as PropertiesChanged of a proxy
 * of each (no object manager: its GetManagedObjects grows with the engine's leases, and this
 * command follows only its own; the lease's end comes as InterfacesRemoved); they are turned into the lines and JSON objects of the in-process `map`
 * and `map --keep`. As in-process, the first failure of a first request fails the command
 * (having withdrawn the lease). Without -4/-6, where the engine speaks PCP or UPnP-IGD, the
 * IPv6 pinhole is a second lease (family ipv6, bound as the first), asked for once the IPv4
 * one is active; --keep reports its changes beside the IPv4 ones. A signal before the result
 * is printed cancels the command and withdraws both (engine_map_stop()). */

typedef struct
{
  PlCli         *cli;
  GPtrArray     *mappings;        /* PlCliMapping*, not owned */
  gboolean       keep;
  gboolean       both;            /* plain `map` without -4/-6: a pinhole too, if it can */
  gboolean       pinhole_next;    /* the IPv4 lease is active: the pinhole's turn */
  guint          address_id;      /* plain `map`: waiting for the Manager's ExternalAddress */
  char          *path;            /* the lease */
  PlBrokerLease *lease;
  GMainLoop     *loop;
  guint          signal_ids[2];
  guint          n_signals;
  guint          timeout_id;
  gulong         properties_id;
  gulong         manager_id;
  gulong         owner_id;
  guint          removed_id;
  guint64        rebooted_at;     /* Manager.GatewayRebootedAt when the lease started */
  gboolean       started;         /* active once */
  gboolean       printed;         /* the result is printed: the user knows what is open */
  gboolean       lost;            /* was active, is being restored */
  /* The IPv6 pinhole beside the IPv4 mappings (both families): a second lease. */
  char          *path6;
  PlBrokerLease *lease6;
  gboolean       waiting6;        /* its first grant is awaited (outside the loop) */
  gboolean       lost6;
  gboolean       released6;
  gulong         properties6_id;
  char          *reported6;       /* the last error of the pinhole printed */
  gboolean       done;            /* the loop is ending: no more output */
  gboolean       released;
  char          *reported;        /* the last retry error printed, "name: message" */
  int            status;
} EngineMap;

static void engine_map_drop6 (EngineMap    *em,
                              const GError *error);

static void
engine_map_finish (EngineMap *em,
                   int        status)
{
  if (em->done)
    return;
  em->done = TRUE;
  em->status = status;
  g_main_loop_quit (em->loop);
}

/* Withdraws @lease; TRUE when the engine ended it (or had already). */
static gboolean
lease_release (PlBrokerLease  *lease,
               GError        **error)
{
  g_autoptr(GError) local_error = NULL;

  if (pl_broker_lease_call_release_sync (lease, NULL, &local_error) ||
      g_error_matches (local_error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT) ||
      g_error_matches (local_error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD))
    return TRUE;
  g_propagate_error (error, pl_cli_engine_call_error (local_error));
  return FALSE;
}

/* Withdraws the pinhole's lease, if there is one. */
static gboolean
engine_map_release6 (EngineMap  *em,
                     GError    **error)
{
  if (em->released6 || em->lease6 == NULL)
    return TRUE;
  em->released6 = TRUE;
  return lease_release (em->lease6, error);
}

/* Withdraws the leases (Ctrl-C, a failed first request): the pinhole's first, then the IPv4
 * one; TRUE when the engine ended both. */
static gboolean
engine_map_release (EngineMap  *em,
                    GError    **error)
{
  g_autoptr(GError) error6 = NULL;
  gboolean ok6 = engine_map_release6 (em, &error6);

  if (!em->released && em->lease != NULL)
    {
      em->released = TRUE;
      if (!lease_release (em->lease, error))
        return FALSE;
    }
  if (!ok6)
    {
      g_propagate_error (error, g_steal_pointer (&error6));
      return FALSE;
    }
  return TRUE;
}

static GVariant *
engine_map_find_entry (GVariant   *mappings,
                       PlProtocol  protocol)
{
  const char *want = protocol == PL_PROTOCOL_UDP ? "udp" : "tcp";
  GVariantIter iter;
  GVariant *entry;

  if (mappings == NULL)
    return NULL;
  g_variant_iter_init (&iter, mappings);
  while ((entry = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *protocol_name = NULL;

      if (g_variant_lookup (entry, "protocol", "&s", &protocol_name) &&
          g_strcmp0 (protocol_name, want) == 0)
        return entry;
      g_variant_unref (entry);
    }
  return NULL;
}

/* The public address, gateway and protocol of the engine, for the lines and objects. */
void
pl_cli_map_read_engine (PlCli *cli)
{
  PlBrokerManager *manager = cli->engine->manager;
  const char *gateway = pl_broker_manager_get_gateway (manager);
  const char *address = pl_broker_manager_get_external_address (manager);
  g_autoptr(GVariant) epoch = g_dbus_proxy_get_cached_property (G_DBUS_PROXY (manager), "Epoch");

  g_free (cli->gateway);
  cli->gateway = g_strdup (gateway != NULL && gateway[0] != '\0' ? gateway : NULL);
  g_free (cli->engine_method);
  cli->engine_method = g_strdup (pl_broker_manager_get_method (manager));
  /* The router's epoch as the engine last heard it (an engine older than Manager.Epoch
   * has none to give). */
  cli->epoch_unknown = epoch == NULL;
  cli->epoch = epoch != NULL ? pl_broker_manager_get_epoch (manager) : 0;
  if (address != NULL && address[0] != '\0')
    {
      g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);

      if (inet != NULL)
        pl_cli_map_set_public_address (cli, inet);
    }
}

/* Takes the grant of each mapping from Lease.Mappings. Returns the mappings whose grant is
 * new since the last call (a renewal moves expires_at), as a bit set by index. */
static guint
engine_map_take_mappings (EngineMap *em,
                          GVariant  *mappings)
{
  guint changed = 0;

  for (guint i = 0; i < em->mappings->len; i++)
    {
      PlCliMapping *m = g_ptr_array_index (em->mappings, i);
      g_autoptr(GVariant) entry = engine_map_find_entry (mappings, m->protocol);
      guint16 port = 0;
      guint32 lifetime = 0;
      guint64 expires_at = 0;
      const char *address = NULL;

      if (entry == NULL)
        continue;
      g_variant_lookup (entry, "external_port", "q", &port);
      g_variant_lookup (entry, "lifetime", "u", &lifetime);
      g_variant_lookup (entry, "expires_at", "t", &expires_at);
      /* Without --keep the engine removes the mapping at the lease's deadline. */
      if (!em->keep && pl_broker_lease_get_deadline (em->lease) != 0 &&
          (expires_at == 0 || pl_broker_lease_get_deadline (em->lease) < expires_at))
        expires_at = pl_broker_lease_get_deadline (em->lease);
      if (g_variant_lookup (entry, "external_address", "&s", &address) && address[0] != '\0')
        {
          g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);

          if (inet != NULL)
            pl_cli_map_set_public_address (em->cli, inet);
        }
      /* The engine renews suggesting the port granted before, as the session does. */
      m->suggested_port = m->public_port != 0 ? m->public_port : m->asked_port;
      m->public_port = port;
      m->lifetime = lifetime;
      /* The engine recomputes expires_at on every change of the lease, give or take a
       * moment: a renewal moves it by much more than a second. */
      if (ABS (m->expires - (gint64) (expires_at / G_USEC_PER_SEC)) > 1)
        changed |= 1u << i;
      m->expires = (gint64) (expires_at / G_USEC_PER_SEC);
      g_clear_pointer (&m->expires_local, g_date_time_unref);
      m->expires_local = expires_at != 0 ? g_date_time_new_from_unix_local (m->expires) : NULL;
    }
  return changed;
}

/* The result of plain `map`, the start of --keep: every mapping's first grant (and pinhole). */
static void
engine_map_print_started (EngineMap *em)
{
  PlCli *cli = em->cli;

  em->printed = TRUE;
  if (cli->json)
    {
      g_autoptr(JsonBuilder) builder = pl_cli_map_json_begin_map (cli, em->keep ? "mapped" : NULL);

      for (guint i = 0; i < em->mappings->len; i++)
        {
          PlCliMapping *m = g_ptr_array_index (em->mappings, i);

          pl_cli_map_json_add_mapping (builder, m);
          if (m->pinhole)
            pl_cli_map_json_add_pinhole (builder, cli, m);
        }
      json_builder_end_array (builder);
      pl_cli_print_json_object (builder);
    }
  else
    {
      pl_cli_map_print_gateway (cli);
      if (cli->public_address != NULL)
        g_print (_("Public address: %s\n"), cli->public_address);
      for (guint i = 0; i < em->mappings->len; i++)
        pl_cli_map_print_mapping (cli, g_ptr_array_index (em->mappings, i), PL_CLI_MAP_EVENT_MAPPED);
      for (guint i = 0; i < em->mappings->len; i++)
        {
          PlCliMapping *m = g_ptr_array_index (em->mappings, i);

          if (m->pinhole)
            g_print (_("Opened %s [%s]:%u (IPv6 pinhole), lifetime %u s\n"),
                     pl_cli_protocol_label (m->protocol), cli->address6, m->private_port,
                     m->pinhole_lifetime);
        }
      for (guint i = 0; i < em->mappings->len; i++)
        {
          PlCliMapping *m = g_ptr_array_index (em->mappings, i);

          if (!m->pinhole)
            continue;
          g_print (_("Open on %s:%u (IPv4) and [%s]:%u (IPv6)\n"), cli->public_address,
                   m->public_port, cli->address6, m->private_port);
          if (cli->double_nat)
            g_printerr (_("Note: behind the second NAT, IPv4 forwarding cannot reach the "
                          "Internet, but %s %u is reachable over IPv6 at [%s]:%u.\n"),
                        pl_cli_protocol_label (m->protocol), m->private_port, cli->address6,
                        m->private_port);
        }
      if (em->keep)
        g_print ("%s", ngettext ("Keeping the mapping until Ctrl-C or SIGTERM, renewing it at "
                                 "half its lifetime…\n",
                                 "Keeping the mappings until Ctrl-C or SIGTERM, renewing them "
                                 "at half their lifetime…\n",
                                 em->mappings->len));
      else
        {
          g_autoptr(GDateTime) until =
            g_date_time_new_from_unix_local ((gint64) (pl_broker_lease_get_deadline (em->lease) /
                                                       G_USEC_PER_SEC));
          g_autofree char *until_text = g_date_time_format (until, "%Y-%m-%d %H:%M:%S");

          g_print (_("Portlight's engine holds it until %s (local time); “portlightctl unmap "
                     "%u” removes it sooner\n"),
                   until_text, ((PlCliMapping *) g_ptr_array_index (em->mappings, 0))->private_port);
        }
      fflush (stdout);
    }
  pl_cli_map_print_double_nat (cli);
}

/* The first grant of every mapping. Plain `map` ends here; where a pinhole may follow, it
 * is asked for once the loop is over (pl_cli_engine_map()), and the result printed then. */
static void
engine_map_started_print (EngineMap *em)
{
  PlCli *cli = em->cli;

  g_clear_handle_id (&em->address_id, g_source_remove);
  pl_cli_map_read_engine (cli);

  /* As in-process: both families by default where the router opens pinholes (--keep too,
   * through the engine). */
  if (em->both && (g_strcmp0 (cli->engine_method, "pcp") == 0 ||
                   g_strcmp0 (cli->engine_method, "upnp-igd") == 0))
    {
      em->pinhole_next = TRUE;
      engine_map_finish (em, PL_EXIT_OK);
      return;
    }

  engine_map_print_started (em);
  if (!em->keep)
    engine_map_finish (em, PL_EXIT_OK);
}

static gboolean
engine_map_address_timeout_cb (gpointer user_data)
{
  EngineMap *em = user_data;

  em->address_id = 0;
  engine_map_started_print (em);
  return G_SOURCE_REMOVE;
}

/* Over PCP the public address comes with the first mapping, and the engine may publish the
 * lease active a moment before its Manager's ExternalAddress: `map` waits for it (at most
 * ADDRESS_WAIT_MS) rather than print no address. */
#define ADDRESS_WAIT_MS 2000

static void
engine_map_started (EngineMap *em)
{
  PlCli *cli = em->cli;

  em->started = TRUE;
  pl_cli_map_read_engine (cli);
  if (cli->public_address == NULL)
    {
      em->address_id = g_timeout_add (ADDRESS_WAIT_MS, engine_map_address_timeout_cb, em);
      return;
    }
  engine_map_started_print (em);
}

/* A failure: of the first request (the command fails, as in-process), or later (a restore
 * the engine is still retrying; it stopped trying when @final). */
static void
engine_map_failed (EngineMap    *em,
                   const GError *error,
                   gboolean      final)
{
  PlCli *cli = em->cli;

  if (!em->started || final)
    {
      g_autoptr(GError) release_error = NULL;
      int status = pl_cli_map_fail (cli, error);

      if (!engine_map_release (em, &release_error))
        g_printerr ("%s: %s\n", cli->prgname, release_error->message);
      engine_map_finish (em, status);
      return;
    }

  for (guint i = 0; i < em->mappings->len; i++)
    {
      PlCliMapping *m = g_ptr_array_index (em->mappings, i);

      if (cli->json)
        pl_cli_map_print_event (cli, m, "renewal-failed", error);
      else
        g_printerr (_("Could not re-create the %s mapping of private port %u: %s; retrying\n"),
                    pl_cli_protocol_label (m->protocol), m->private_port, error->message);
    }
}

static void
engine_map_update (EngineMap *em)
{
  PlCli *cli = em->cli;
  const char *state = pl_broker_lease_get_state (em->lease);
  GVariant *error_value = pl_broker_lease_get_error (em->lease);
  const char *error_name = "";
  const char *error_message = "";
  g_autoptr(GError) error = NULL;
  guint renewed;

  /* The first grant is in; the result waits for the public address only. */
  if (em->done || state == NULL || em->address_id != 0)
    return;
  if (error_value != NULL)
    g_variant_get (error_value, "(&s&s)", &error_name, &error_message);
  if (error_name[0] != '\0')
    error = pl_cli_engine_error_new (error_name, error_message);

  if (g_str_equal (state, "active"))
    {
      gboolean recreated = em->lost;

      renewed = engine_map_take_mappings (em, pl_broker_lease_get_mappings (em->lease));
      em->lost = FALSE;
      g_clear_pointer (&em->reported, g_free);
      if (!em->started)
        {
          engine_map_started (em);
          return;
        }
      for (guint i = 0; i < em->mappings->len; i++)
        {
          PlCliMapping *m = g_ptr_array_index (em->mappings, i);

          if (!recreated && (renewed & (1u << i)) == 0)
            continue;
          if (cli->json)
            pl_cli_map_print_event (cli, m, recreated ? "recreated" : "renewed", NULL);
          else
            pl_cli_map_print_mapping (cli, m, recreated ? PL_CLI_MAP_EVENT_RECREATED
                                                        : PL_CLI_MAP_EVENT_RENEWED);
        }
      fflush (stdout);
      return;
    }

  if (g_str_equal (state, "failed"))
    {
      if (error == NULL)
        error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED,
                                     _("Portlight's engine gave up on the mapping"));
      engine_map_failed (em, error, TRUE);
      return;
    }

  /* pending or lost: the engine is (still) asking; a retry's error is news once. */
  if (g_str_equal (state, "lost") && em->started)
    em->lost = TRUE;
  if (error != NULL)
    {
      g_autofree char *key = g_strdup_printf ("%s: %s", error_name, error_message);

      if (em->started && g_strcmp0 (key, em->reported) == 0)
        return;
      g_free (em->reported);
      em->reported = g_steal_pointer (&key);
      engine_map_failed (em, error, FALSE);
    }
}

static void
engine_map_properties_cb (GDBusProxy *proxy,
                          GVariant   *changed,
                          GStrv       invalidated,
                          EngineMap  *em)
{
  engine_map_update (em);
}

static void
engine_map_manager_cb (GDBusProxy *proxy,
                       GVariant   *changed,
                       GStrv       invalidated,
                       EngineMap  *em)
{
  PlCli *cli = em->cli;
  PlBrokerManager *manager = cli->engine->manager;
  const char *address = NULL;
  guint32 epoch;

  /* The epoch the next JSON objects carry. */
  if (g_variant_lookup (changed, "Epoch", "u", &epoch))
    {
      cli->epoch = epoch;
      cli->epoch_unknown = FALSE;
    }
  if (em->address_id != 0 && !em->done)
    {
      address = pl_broker_manager_get_external_address (manager);
      if (address != NULL && address[0] != '\0')
        engine_map_started_print (em);
      return;
    }
  if (em->done || !em->started || !em->keep)
    return;

  if (g_variant_lookup (changed, "ExternalAddress", "&s", &address) && address[0] != '\0' &&
      g_strcmp0 (address, cli->public_address) != 0)
    {
      g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);

      if (inet != NULL)
        pl_cli_map_set_public_address (cli, inet);
      if (!cli->json)
        {
          g_print (_("Public address: %s\n"), cli->public_address);
          fflush (stdout);
        }
      pl_cli_map_print_double_nat (cli);
    }

  if (pl_broker_manager_get_gateway_rebooted_at (manager) != em->rebooted_at)
    {
      em->rebooted_at = pl_broker_manager_get_gateway_rebooted_at (manager);
      em->lost = TRUE;
      if (cli->json)
        {
          g_autoptr(JsonBuilder) builder = pl_cli_map_json_begin_map (cli, "router-reset");

          for (guint i = 0; i < em->mappings->len; i++)
            pl_cli_map_json_add_mapping (builder, g_ptr_array_index (em->mappings, i));
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
                                   em->mappings->len),
                      em->mappings->len);
          g_printerr ("\n");
        }
    }
}

/* The engine left the bus, or ended the lease by itself: nobody keeps the mapping now. */
static void
engine_map_gone (EngineMap  *em,
                 const char *message)
{
  PlCli *cli = em->cli;

  if (em->done)
    return;
  em->released = TRUE;
  pl_cli_map_progress_clear (cli);
  if (cli->json)
    pl_cli_print_json_error ("engine-stopped", message);
  else
    g_printerr ("%s: %s\n", cli->prgname, message);
  engine_map_finish (em, PL_EXIT_LOCAL_ERROR);
}

static void
engine_map_owner_cb (GObject    *manager,
                     GParamSpec *pspec,
                     EngineMap  *em)
{
  g_autofree char *owner = pl_cli_engine_dup_name_owner (em->cli->engine);

  if (owner == NULL)
    engine_map_gone (em, _("Portlight's engine stopped: the mapping is no longer kept open"));
}

static void
engine_map_removed_cb (const char *path,
                       gpointer    user_data)
{
  EngineMap *em = user_data;

  if (em->lease == NULL)
    return;   /* before the lease was found: pl_cli_engine_wait_lease() says it ended */
  if (g_strcmp0 (path, em->path) == 0 && !em->released)
    engine_map_gone (em, _("Portlight's engine ended the mapping"));
  else if (g_strcmp0 (path, em->path6) == 0 && !em->released6 && !em->done)
    {
      g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED,
                                                     _("Portlight's engine ended the mapping"));

      engine_map_drop6 (em, error);
    }
}

static gboolean
engine_map_timeout_cb (gpointer user_data)
{
  EngineMap *em = user_data;
  g_autoptr(GError) error = NULL;

  em->timeout_id = 0;
  if (!em->started)
    {
      error = g_error_new (PL_ERROR, PL_ERROR_TIMED_OUT,
                           _("No mapping from the router within %u s"), em->cli->timeout_s);
      engine_map_failed (em, error, TRUE);
    }
  return G_SOURCE_REMOVE;
}

/* SIGINT or SIGTERM: the command ends, and nothing it opened stays open unless the user was
 * told of it. Once the result is printed (--keep), the leases are released and the mappings
 * reported removed (exit 0). Before (either wait of plain `map`: the IPv4 mapping, then its
 * pinhole; the start of --keep), the command is cancelled: an IPv4 mapping the router has
 * granted already but that was not printed yet is withdrawn too, with the pinhole's lease,
 * and one line says so (exit 5, as before a result). Returns the exit code. */
static int
engine_map_stop (EngineMap *em)
{
  PlCli *cli = em->cli;
  g_autoptr(GError) error = NULL;

  if (!engine_map_release (em, &error))
    {
      pl_cli_map_progress_clear (cli);
      if (cli->json)
        pl_cli_print_json_error (pl_cli_error_code_name (error), error->message);
      else
        g_printerr ("%s: %s\n", cli->prgname, error->message);
      return pl_cli_exit_code_for_error (error);
    }
  if (em->printed)
    {
      pl_cli_map_print_removed (cli, em->mappings);
      return PL_EXIT_OK;
    }

  pl_cli_map_progress_clear (cli);
  if (cli->json)
    pl_cli_print_json_error ("interrupted", _("Interrupted: nothing was left open"));
  else
    g_printerr ("%s: %s\n", cli->prgname, _("Interrupted: nothing was left open"));
  return PL_EXIT_LOCAL_ERROR;
}

static gboolean
engine_map_signal_cb (gpointer user_data)
{
  EngineMap *em = user_data;

  em->n_signals++;
  /* The pinhole's wait (outside the loop) sees it and stops. */
  if (em->waiting6)
    return G_SOURCE_CONTINUE;
  if (em->n_signals > 1 || em->done)
    {
      /* The engine still ends the lease when this process leaves the bus. */
      em->done = TRUE;
      em->status = PL_EXIT_LOCAL_ERROR;
      g_main_loop_quit (em->loop);
      return G_SOURCE_CONTINUE;
    }

  em->status = engine_map_stop (em);
  em->done = TRUE;
  g_main_loop_quit (em->loop);
  return G_SOURCE_CONTINUE;
}

static GVariant *
engine_map_options (PlCli     *cli,
                    GPtrArray *mappings,
                    gboolean   keep,
                    gboolean   ipv6)
{
  PlCliMapping *m = g_ptr_array_index (mappings, 0);
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  g_variant_builder_add (&builder, "{sv}", "external_port", g_variant_new_uint16 (m->asked_port));
  g_variant_builder_add (&builder, "{sv}", "lifetime", g_variant_new_uint32 (m->asked_lifetime));
  g_variant_builder_add (&builder, "{sv}", "description",
                         g_variant_new_string (keep ? "portlightctl map --keep"
                                                    : "portlightctl map"));
  g_variant_builder_add (&builder, "{sv}", "bind", g_variant_new_string (keep ? "caller" : "none"));
  if (!keep)
    g_variant_builder_add (&builder, "{sv}", "duration", g_variant_new_uint32 (m->asked_lifetime));
  if (ipv6)
    g_variant_builder_add (&builder, "{sv}", "family", g_variant_new_string ("ipv6"));
  return g_variant_builder_end (&builder);
}

/* How long plain `map` waits for the pinhole beside its IPv4 mapping (without --timeout):
 * a pinhole that cannot be had is not worth a long wait, as in-process. */
#define PINHOLE_WAIT_S 10

typedef struct
{
  EngineMap *em;
  gboolean   done;
} PinholeWait;

static gboolean
pinhole_settled (PlBrokerLease *lease)
{
  const char *state = pl_broker_lease_get_state (lease);
  GVariant *error_value = pl_broker_lease_get_error (lease);
  const char *error_name = "";
  const char *error_message = "";

  if (g_strcmp0 (state, "active") == 0 || g_strcmp0 (state, "failed") == 0)
    return TRUE;
  if (error_value != NULL)
    g_variant_get (error_value, "(&s&s)", &error_name, &error_message);
  /* pending with an error: the engine retries, but the pinhole is not to be had now */
  return error_name[0] != '\0';
}

static void
pinhole_changed_cb (GDBusProxy  *proxy,
                    GVariant    *changed,
                    GStrv        invalidated,
                    PinholeWait *wait)
{
  if (pinhole_settled (wait->em->lease6))
    wait->done = TRUE;
}

static gboolean
pinhole_timeout_cb (gpointer user_data)
{
  ((PinholeWait *) user_data)->done = TRUE;
  return G_SOURCE_REMOVE;
}

/* Takes the pinholes' grant from the pinhole lease's Mappings: cli->address6, and each
 * mapping's pinhole fields. Returns the mappings whose grant is new (a renewal moves
 * expires_at), as a bit set by index. */
static guint
engine_map_take_pinholes (EngineMap *em)
{
  PlCli *cli = em->cli;
  GVariant *entries = pl_broker_lease_get_mappings (em->lease6);
  guint changed = 0;

  for (guint i = 0; i < em->mappings->len; i++)
    {
      PlCliMapping *m = g_ptr_array_index (em->mappings, i);
      g_autoptr(GVariant) entry = engine_map_find_entry (entries, m->protocol);
      const char *address = NULL;
      guint64 expires_at = 0;

      if (entry == NULL)
        continue;
      g_variant_lookup (entry, "lifetime", "u", &m->pinhole_lifetime);
      g_variant_lookup (entry, "expires_at", "t", &expires_at);
      if (g_variant_lookup (entry, "external_address", "&s", &address) && address[0] != '\0')
        {
          g_free (cli->address6);
          cli->address6 = g_strdup (address);
          m->pinhole = TRUE;
        }
      if (ABS (m->pinhole_expires - (gint64) (expires_at / G_USEC_PER_SEC)) > 1)
        changed |= 1u << i;
      m->pinhole_expires = (gint64) (expires_at / G_USEC_PER_SEC);
    }
  return changed;
}

/* The IPv6 pinhole of every mapping, once its IPv4 mapping is active: a second lease
 * (family ipv6; plain `map`: bind=none, the same duration, so that `unmap` ends both;
 * --keep: bind=caller, held as the IPv4 one), in em->lease6. Sets cli->address6 and each
 * mapping's pinhole fields. A pinhole that cannot be had is withdrawn and only an error.
 * A signal stops the wait (FALSE, no error): the caller withdraws both leases. */
static gboolean
engine_map_pinhole (EngineMap  *em,
                    GError    **error)
{
  PlCli *cli = em->cli;
  GPtrArray *mappings = em->mappings;
  PlBrokerManager *manager = cli->engine->manager;
  PlCliMapping *first = g_ptr_array_index (mappings, 0);
  g_autoptr(GPtrArray) protocols = g_ptr_array_new ();
  g_autoptr(GError) local_error = NULL;
  PinholeWait wait = { em, FALSE };
  const char *state;
  GVariant *error_value;
  gulong changed_id;
  guint timeout_id;

  for (guint i = 0; i < mappings->len; i++)
    g_ptr_array_add (protocols, (gpointer) pl_cli_map_protocol_json (
                       ((PlCliMapping *) g_ptr_array_index (mappings, i))->protocol));
  g_ptr_array_add (protocols, NULL);

  if (!pl_broker_manager_call_request_mapping_sync (manager,
                                                    (const char * const *) protocols->pdata,
                                                    first->private_port,
                                                    engine_map_options (cli, mappings, em->keep,
                                                                        TRUE),
                                                    NULL, &em->path6, NULL, NULL, &local_error))
    {
      g_propagate_error (error, pl_cli_engine_call_error (local_error));
      return FALSE;
    }

  /* The lease is there even if a signal came meanwhile: its object is awaited to withdraw
   * it. */
  em->lease6 = pl_cli_engine_wait_lease (cli->engine, em->path6);
  if (em->lease6 == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("Portlight's engine ended the lease %s at once"), em->path6);
      return FALSE;
    }

  changed_id = g_signal_connect (em->lease6, "g-properties-changed",
                                 G_CALLBACK (pinhole_changed_cb), &wait);
  timeout_id = g_timeout_add_seconds (cli->timeout_s > 0 ? cli->timeout_s : PINHOLE_WAIT_S,
                                      pinhole_timeout_cb, &wait);
  wait.done = pinhole_settled (em->lease6);
  while (!wait.done && em->n_signals == 0)
    g_main_context_iteration (NULL, TRUE);
  g_clear_handle_id (&timeout_id, g_source_remove);
  g_clear_signal_handler (&changed_id, em->lease6);
  if (em->n_signals > 0)
    return FALSE;

  state = pl_broker_lease_get_state (em->lease6);
  if (g_strcmp0 (state, "active") == 0)
    {
      engine_map_take_pinholes (em);
      return TRUE;
    }

  error_value = pl_broker_lease_get_error (em->lease6);
  if (error_value != NULL)
    {
      const char *name = "";
      const char *message = "";

      g_variant_get (error_value, "(&s&s)", &name, &message);
      if (name[0] != '\0')
        local_error = pl_cli_engine_error_new (name, message);
    }
  if (local_error == NULL)
    local_error = g_error_new (PL_ERROR, PL_ERROR_TIMED_OUT,
                               _("Portlight's engine got no pinhole from the router within "
                                 "%u s"), cli->timeout_s > 0 ? cli->timeout_s : PINHOLE_WAIT_S);
  /* Withdrawn: no pinhole left for the engine to keep trying. */
  if (!engine_map_release6 (em, NULL))
    g_debug ("The pinhole's lease %s was gone already", em->path6);
  g_clear_object (&em->lease6);
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

/* --keep, both families: the pinhole lease's changes, reported as the IPv4 lease's are
 * (the pinholes' JSON objects those of plain `map`). */
static void
engine_map_print_event6 (EngineMap    *em,
                         const char   *event,
                         const GError *error,
                         guint         which)
{
  PlCli *cli = em->cli;
  g_autoptr(JsonBuilder) builder = NULL;

  if (cli->json)
    builder = pl_cli_map_json_begin_map (cli, event);
  for (guint i = 0; i < em->mappings->len; i++)
    {
      PlCliMapping *m = g_ptr_array_index (em->mappings, i);
      const char *protocol = pl_cli_protocol_label (m->protocol);

      if (!m->pinhole || (which & (1u << i)) == 0)
        continue;
      if (builder != NULL)
        pl_cli_map_json_add_pinhole (builder, cli, m);
      else if (error != NULL)
        g_printerr (_("Could not renew the IPv6 pinhole of %s %u: %s; retrying\n"), protocol,
                    m->private_port, error->message);
      else if (g_str_equal (event, "recreated"))
        g_print (_("Re-created %s [%s]:%u (IPv6 pinhole), lifetime %u s\n"), protocol,
                 cli->address6, m->private_port, m->pinhole_lifetime);
      else
        g_print (_("Renewed %s [%s]:%u (IPv6 pinhole), lifetime %u s\n"), protocol,
                 cli->address6, m->private_port, m->pinhole_lifetime);
    }
  if (builder != NULL)
    {
      json_builder_end_array (builder);
      if (error != NULL)
        pl_cli_json_add_error (builder, pl_cli_error_code_name (error), error->message);
      pl_cli_print_json_object (builder);
    }
  fflush (stdout);
}

/* The engine gave up on the pinhole, or ended its lease: one line (JSON: "renewal-failed"
 * with the error, and no pinhole in the events after it); the IPv4 mappings go on. */
static void
engine_map_drop6 (EngineMap    *em,
                  const GError *error)
{
  PlCli *cli = em->cli;
  g_autoptr(GError) release_error = NULL;

  if (cli->json)
    engine_map_print_event6 (em, "renewal-failed", error, G_MAXUINT);
  else
    {
      g_print (_("No IPv6 pinhole: %s\n"), error->message);
      fflush (stdout);
    }
  for (guint i = 0; i < em->mappings->len; i++)
    ((PlCliMapping *) g_ptr_array_index (em->mappings, i))->pinhole = FALSE;
  if (!engine_map_release6 (em, &release_error))
    g_debug ("The pinhole's lease %s: %s", em->path6, release_error->message);
}

static void
engine_map_update6 (EngineMap *em)
{
  const char *state = pl_broker_lease_get_state (em->lease6);
  GVariant *error_value = pl_broker_lease_get_error (em->lease6);
  const char *error_name = "";
  const char *error_message = "";
  g_autoptr(GError) error = NULL;

  if (em->done || em->released6 || state == NULL)
    return;
  if (error_value != NULL)
    g_variant_get (error_value, "(&s&s)", &error_name, &error_message);
  if (error_name[0] != '\0')
    error = pl_cli_engine_error_new (error_name, error_message);

  if (g_str_equal (state, "active"))
    {
      gboolean recreated = em->lost6;
      guint renewed = engine_map_take_pinholes (em);

      em->lost6 = FALSE;
      g_clear_pointer (&em->reported6, g_free);
      if (recreated || renewed != 0)
        engine_map_print_event6 (em, recreated ? "recreated" : "renewed", NULL,
                                 recreated ? G_MAXUINT : renewed);
      return;
    }

  if (g_str_equal (state, "failed"))
    {
      if (error == NULL)
        error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED,
                                     _("Portlight's engine gave up on the mapping"));
      engine_map_drop6 (em, error);
      return;
    }

  /* pending or lost: the engine is (still) asking; a retry's error is news once. */
  if (g_str_equal (state, "lost"))
    em->lost6 = TRUE;
  if (error != NULL)
    {
      g_autofree char *key = g_strdup_printf ("%s: %s", error_name, error_message);

      if (g_strcmp0 (key, em->reported6) == 0)
        return;
      g_free (em->reported6);
      em->reported6 = g_steal_pointer (&key);
      engine_map_print_event6 (em, "renewal-failed", error, G_MAXUINT);
    }
}

static void
engine_map_properties6_cb (GDBusProxy *proxy,
                           GVariant   *changed,
                           GStrv       invalidated,
                           EngineMap  *em)
{
  engine_map_update6 (em);
}

/* `map` through the engine. Returns the exit code. */
int
pl_cli_engine_map (PlCli     *cli,
                GPtrArray *mappings,
                gboolean   keep,
                gboolean   ipv4,
                gboolean   ipv6)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) protocols = g_ptr_array_new ();
  PlBrokerManager *manager = cli->engine->manager;
  PlCliMapping *first = g_ptr_array_index (mappings, 0);
  EngineMap em = { 0 };

  if (cli->gateway_address != NULL)
    {
      g_autofree char *asked = g_inet_address_to_string (cli->gateway_address);

      if (g_strcmp0 (asked, pl_broker_manager_get_gateway (manager)) != 0)
        g_printerr (_("%s: warning: Portlight's engine (pid %u) speaks to the router at %s; "
                      "--gateway is not used\n"),
                    cli->prgname, pl_cli_engine_get_pid (cli->engine),
                    pl_broker_manager_get_gateway (manager));
    }

  for (guint i = 0; i < mappings->len; i++)
    {
      PlCliMapping *m = g_ptr_array_index (mappings, i);

      g_ptr_array_add (protocols, (gpointer) pl_cli_map_protocol_json (m->protocol));
    }
  g_ptr_array_add (protocols, NULL);

  em.cli = cli;
  em.mappings = mappings;
  em.keep = keep;
  em.both = !ipv4 && !ipv6;
  em.status = PL_EXIT_LOCAL_ERROR;
  em.rebooted_at = pl_broker_manager_get_gateway_rebooted_at (manager);
  em.loop = g_main_loop_new (NULL, FALSE);
  /* Before the request, so that no removal of its lease can be missed. */
  em.removed_id = pl_cli_engine_watch_removed (cli->engine, engine_map_removed_cb, &em);

  if (!pl_broker_manager_call_request_mapping_sync (manager,
                                                    (const char * const *) protocols->pdata,
                                                    first->private_port,
                                                    engine_map_options (cli, mappings, keep, ipv6),
                                                    NULL, &em.path, NULL, NULL, &error))
    {
      g_autoptr(GError) translated = pl_cli_engine_call_error (error);

      g_main_loop_unref (em.loop);
      return pl_cli_map_fail (cli, translated);
    }

  em.lease = pl_cli_engine_wait_lease (cli->engine, em.path);
  if (em.lease == NULL)
    {
      pl_cli_engine_unwatch_removed (cli->engine, &em.removed_id);
      error = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED,
                           _("Portlight's engine ended the lease %s at once"), em.path);
      g_main_loop_unref (em.loop);
      g_free (em.path);
      return pl_cli_map_fail (cli, error);
    }

  em.signal_ids[0] = g_unix_signal_add (SIGINT, engine_map_signal_cb, &em);
  em.signal_ids[1] = g_unix_signal_add (SIGTERM, engine_map_signal_cb, &em);
  em.properties_id = g_signal_connect (em.lease, "g-properties-changed",
                                       G_CALLBACK (engine_map_properties_cb), &em);
  em.manager_id = g_signal_connect (manager, "g-properties-changed",
                                    G_CALLBACK (engine_map_manager_cb), &em);
  em.owner_id = g_signal_connect (manager, "notify::g-name-owner",
                                  G_CALLBACK (engine_map_owner_cb), &em);
  if (cli->timeout_s > 0)
    em.timeout_id = g_timeout_add_seconds (cli->timeout_s, engine_map_timeout_cb, &em);

  engine_map_update (&em);
  if (!em.done)
    g_main_loop_run (em.loop);

  /* Both families: the pinhole, then the result of both; with --keep, both are held until
   * a signal. The signal handlers stay: a signal during the pinhole's wait cancels. */
  if (em.status == PL_EXIT_OK && em.pinhole_next)
    {
      g_autoptr(GError) error6 = NULL;
      gboolean ok6;

      em.waiting6 = TRUE;
      ok6 = engine_map_pinhole (&em, &error6);
      em.waiting6 = FALSE;
      if (em.n_signals > 0)
        em.status = engine_map_stop (&em);
      else
        {
          if (!ok6 && !cli->json)
            g_print (_("No IPv6 pinhole: %s\n"), error6->message);
          else if (error6 != NULL)
            g_debug ("No IPv6 pinhole: %s", error6->message);
          pl_cli_map_read_engine (cli);
          engine_map_print_started (&em);
          if (keep)
            {
              em.done = FALSE;
              if (em.lease6 != NULL)
                em.properties6_id = g_signal_connect (em.lease6, "g-properties-changed",
                                                      G_CALLBACK (engine_map_properties6_cb),
                                                      &em);
              /* What changed during the pinhole's wait. */
              engine_map_update (&em);
              if (em.lease6 != NULL)
                engine_map_update6 (&em);
              if (!em.done)
                g_main_loop_run (em.loop);
            }
        }
    }

  for (guint i = 0; i < G_N_ELEMENTS (em.signal_ids); i++)
    g_clear_handle_id (&em.signal_ids[i], g_source_remove);
  g_clear_handle_id (&em.timeout_id, g_source_remove);
  g_clear_handle_id (&em.address_id, g_source_remove);
  g_clear_signal_handler (&em.properties_id, em.lease);
  if (em.lease6 != NULL)
    g_clear_signal_handler (&em.properties6_id, em.lease6);
  g_clear_signal_handler (&em.manager_id, manager);
  g_clear_signal_handler (&em.owner_id, manager);
  pl_cli_engine_unwatch_removed (cli->engine, &em.removed_id);

  g_clear_object (&em.lease);
  g_clear_object (&em.lease6);
  g_clear_pointer (&em.loop, g_main_loop_unref);
  g_free (em.path);
  g_free (em.path6);
  g_free (em.reported);
  g_free (em.reported6);
  return em.status;
}

/* `unmap PORT` through the engine: ends the engine's leases on the port. One-shot `map`
 * leases (bind=none) are released; another holder's are revoked, as the tray's "Stop" does
 * (a profile's lease: the profile is disabled). Sets *@found when there was any. */
int
pl_cli_engine_unmap (PlCli            *cli,
                  const PlProtocol *protocols,
                  guint             n_protocols,
                  guint16           private_port,
                  gboolean         *found)
{
  g_autoptr(JsonBuilder) builder = NULL;
  GList *leases = pl_cli_engine_list_leases (cli->engine);
  g_autoptr(GPtrArray) ended = g_ptr_array_new ();   /* PlProtocol as pointers */
  int status = PL_EXIT_OK;

  *found = FALSE;
  for (GList *l = leases; l != NULL && status == PL_EXIT_OK; l = l->next)
    {
      PlBrokerLease *lease = l->data;
      const char * const *names = pl_broker_lease_get_protocols (lease);
      g_autoptr(GError) error = NULL;
      gboolean wanted = FALSE;
      gboolean ok;

      if (pl_broker_lease_get_internal_port (lease) != private_port || names == NULL)
        continue;
      for (guint i = 0; i < n_protocols; i++)
        wanted |= g_strv_contains (names, pl_cli_map_protocol_json (protocols[i]));
      if (!wanted)
        continue;

      *found = TRUE;
      if (g_strcmp0 (pl_broker_lease_get_bind (lease), "none") == 0)
        ok = pl_broker_lease_call_release_sync (lease, NULL, &error);
      else
        ok = pl_broker_lease_call_revoke_sync (lease, NULL, &error);
      if (!ok)
        {
          g_autoptr(GError) translated = pl_cli_engine_call_error (error);

          status = pl_cli_map_fail (cli, translated);
          break;
        }
      for (guint i = 0; names[i] != NULL; i++)
        {
          PlProtocol protocol = g_str_equal (names[i], "udp") ? PL_PROTOCOL_UDP : PL_PROTOCOL_TCP;

          if (!g_ptr_array_find (ended, GINT_TO_POINTER (protocol), NULL))
            g_ptr_array_add (ended, GINT_TO_POINTER (protocol));
        }
    }
  g_list_free_full (leases, g_object_unref);
  if (!*found || status != PL_EXIT_OK)
    return status;

  pl_cli_map_read_engine (cli);
  if (cli->json)
    {
      builder = pl_cli_map_json_begin (cli, NULL);
      pl_cli_json_add_boolean (builder, "all", FALSE);
      json_builder_set_member_name (builder, "unmapped");
      json_builder_begin_array (builder);
    }
  else
    pl_cli_map_print_gateway (cli);
  for (guint i = 0; i < ended->len; i++)
    {
      PlProtocol protocol = GPOINTER_TO_INT (g_ptr_array_index (ended, i));

      if (builder != NULL)
        {
          json_builder_begin_object (builder);
          pl_cli_json_add_string (builder, "protocol", pl_cli_map_protocol_json (protocol));
          pl_cli_json_add_int (builder, "private_port", private_port);
          json_builder_end_object (builder);
        }
      else
        g_print (_("Removed the %s mapping of private port %u\n"),
                 pl_cli_protocol_label (protocol), private_port);
    }
  if (builder != NULL)
    {
      json_builder_end_array (builder);
      pl_cli_json_add_int (builder, "epoch", cli->epoch);
      pl_cli_print_json_object (builder);
    }
  return PL_EXIT_OK;
}

