/* pl-cli-run.c: `portlightctl run`, the session engine headless in the foreground
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdio.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "pl-app-profiles.h"
#include "pl-app-waiting.h"
#include "pl-broker.h"
#include "pl-journal-sweep.h"
#include "pl-cli.h"
#include "pl-cli-common.h"
#include "pl-core.h"

/* `portlightctl run` keeps every enabled profile of the store mapped, as the tray does, for
 * servers and SSH sessions. It prints one line per state change (or one JSON object per line
 * with --json), follows edits of the profile file, and on SIGINT or SIGTERM deletes its
 * mappings within the session's bound (unless --keep-mappings) and exits 0. A second signal
 * during that clean-up exits at once.
 *
 * It is the user's one engine: it holds the per-user engine lock and, where there is a
 * session bus, owns io.github.portlight.Portlight.Broker1 (PlBroker) with DO_NOT_QUEUE, serving
 * other programs' leases from the same session. A second engine refuses to start. */

typedef struct
{
  gboolean      json;
  PlSession    *session;      /* the primary: the default route's profiles, and the leases */
  PlSessionGroup *group;      /* and one session per other Gateway= in use */
  PlClock      *clock;
  GMainLoop    *loop;
  guint         signal_ids[2];
  guint         n_signals;
  gboolean      stopped;
  PlMethod      method;       /* the protocol the engine speaks */
  PlBroker     *broker;
  gboolean      owned;        /* the outcome of owning the bus name is in */
  GError       *own_error;
  guint         owner_pid;
  guint         idle_exit;    /* --idle-exit: seconds with nothing to keep before stopping */
  guint         idle_id;
  PlAppProfiles *apps;        /* the model the session maps: app-linked profiles while their app runs */
  GHashTable   *app_printed;  /* profile name -> the last app line printed for it */
} Run;

static JsonBuilder *
json_event_begin (const char *event)
{
  JsonBuilder *builder = json_builder_new ();
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format_iso8601 (now);

  json_builder_begin_object (builder);
  pl_cli_json_add_string (builder, "event", event);
  pl_cli_json_add_string (builder, "time", stamp);
  return builder;
}

static void
print_text_line (const char *format,
                 ...) G_GNUC_PRINTF (1, 2);

static void
print_text_line (const char *format,
                 ...)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%H:%M:%S");
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_print ("%s %s\n", stamp, message);
  fflush (stdout);
}

/* The engine's messages (what an OnPortChange command ran and printed) go to stderr with
 * the time, like run's own lines; stdout stays run's (one JSON object per line with --json). */
static void
message_handler (const char     *log_domain,
                 GLogLevelFlags  log_level,
                 const char     *message,
                 gpointer        user_data)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%H:%M:%S");

  g_printerr ("%s %s\n", stamp, message);
}

/* A Gateway=vpn profile while no tunnel is up: it waits for one, it is not mapped elsewhere. */
static gboolean
waits_for_tunnel (PlSession    *session,
                  const GError *error)
{
  return g_strcmp0 (pl_session_get_profile_gateway (session), PL_PROFILE_GATEWAY_VPN_TEXT) == 0 &&
         g_error_matches (error, PL_ERROR, PL_ERROR_NO_GATEWAY);
}

static void
mapping_changed_cb (PlSession *session,
                    PlMapping *mapping,
                    Run       *run)
{
  PlMappingState state = pl_mapping_get_state (mapping);
  const char *name = pl_mapping_get_profile_name (mapping);
  PlProtocol protocol = pl_mapping_get_protocol (mapping);
  guint internal_port = pl_mapping_get_internal_port (mapping);
  guint requested = pl_mapping_get_requested_external_port (mapping);
  guint external_port = pl_mapping_get_external_port (mapping);
  const GError *error = pl_mapping_get_error (mapping);
  gboolean ipv6 = pl_mapping_get_family (mapping) == G_SOCKET_FAMILY_IPV6;
  /* The last state printed for this mapping, +1 so that 0 means "none yet". */
  guint previous = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (mapping), "pl-run-printed"));

  /* Only changes are news: a profile that starts disabled is listed once by the summary. */
  if (previous == (guint) state + 1 && state != PL_MAPPING_STATE_ACTIVE)
    return;
  if (previous == 0 && state == PL_MAPPING_STATE_DISABLED)
    {
      g_object_set_data (G_OBJECT (mapping), "pl-run-printed", GUINT_TO_POINTER (state + 1));
      return;
    }
  g_object_set_data (G_OBJECT (mapping), "pl-run-printed", GUINT_TO_POINTER (state + 1));

  if (run->json)
    {
      g_autoptr(JsonBuilder) builder = json_event_begin ("mapping");

      pl_cli_json_add_string (builder, "profile", name);
      pl_cli_json_add_string (builder, "family", ipv6 ? "ipv6" : "ipv4");
      pl_cli_json_add_string (builder, "protocol", pl_protocol_to_string (protocol));
      pl_cli_json_add_string (builder, "state", pl_mapping_state_to_string (state));
      if (ipv6 && pl_mapping_get_external_address (mapping) != NULL)
        pl_cli_json_add_string (builder, "public_address",
                                pl_mapping_get_external_address (mapping));
      pl_cli_json_add_int (builder, "private_port", internal_port);
      pl_cli_json_add_int (builder, "requested_public_port", requested);
      if (pl_mapping_get_any_external_port (mapping))
        pl_cli_json_add_boolean (builder, "any_public_port", TRUE);
      if (state == PL_MAPPING_STATE_ACTIVE)
        {
          g_autoptr(GDateTime) expires =
            pl_cli_clock_time_to_local (run->clock, pl_mapping_get_expires (mapping));
          g_autofree char *expires_text = g_date_time_format_iso8601 (expires);

          pl_cli_json_add_int (builder, "public_port", external_port);
          pl_cli_json_add_int (builder, "lifetime", pl_mapping_get_lifetime (mapping));
          pl_cli_json_add_string (builder, "expires", expires_text);
          if (pl_mapping_get_renew_at (mapping) != 0)
            {
              g_autoptr(GDateTime) renews =
                pl_cli_clock_time_to_local (run->clock, pl_mapping_get_renew_at (mapping));
              g_autofree char *renews_text = g_date_time_format_iso8601 (renews);

              pl_cli_json_add_string (builder, "renews", renews_text);
            }
          else if (error != NULL)
            {
              /* A renewal failed: open until it expires, retried meanwhile. */
              g_autoptr(GDateTime) retry =
                pl_cli_clock_time_to_local (run->clock, pl_mapping_get_retry_at (mapping));
              g_autofree char *retry_text = g_date_time_format_iso8601 (retry);

              pl_cli_json_add_string (builder, "error", error->message);
              pl_cli_json_add_string (builder, "retry", retry_text);
            }
        }
      if (state == PL_MAPPING_STATE_FAILED && error != NULL)
        {
          g_autoptr(GDateTime) retry =
            pl_cli_clock_time_to_local (run->clock, pl_mapping_get_retry_at (mapping));
          g_autofree char *retry_text = g_date_time_format_iso8601 (retry);

          pl_cli_json_add_string (builder, "error", error->message);
          pl_cli_json_add_string (builder, "retry", retry_text);
          if (waits_for_tunnel (session, error))
            pl_cli_json_add_string (builder, "waiting_for", "vpn");
        }
      if (pl_session_get_profile_gateway (session) != NULL)
        pl_cli_json_add_string (builder, "gateway_for", pl_session_get_profile_gateway (session));
      pl_cli_print_json_object (builder);
      return;
    }

  switch (state)
    {
    case PL_MAPPING_STATE_DISABLED:
      print_text_line (_("%s: %s %u is off"), name, pl_cli_protocol_label (protocol),
                       internal_port);
      break;

    case PL_MAPPING_STATE_MAPPING:
      print_text_line (_("%s: asking the router for %s %u…"), name,
                       pl_cli_protocol_label (protocol), internal_port);
      break;

    case PL_MAPPING_STATE_ACTIVE:
      if (pl_mapping_get_renew_at (mapping) == 0 && error != NULL)
        {
          g_autoptr(GDateTime) expires =
            pl_cli_clock_time_to_local (run->clock, pl_mapping_get_expires (mapping));
          g_autoptr(GDateTime) retry =
            pl_cli_clock_time_to_local (run->clock, pl_mapping_get_retry_at (mapping));
          g_autofree char *expires_text = g_date_time_format (expires, "%H:%M:%S");
          g_autofree char *retry_text = g_date_time_format (retry, "%H:%M:%S");

          print_text_line (_("%s: %s public port %u → private port %u stays open until %s; "
                             "renewing it failed (%s), trying again at %s"),
                           name, pl_cli_protocol_label (protocol), external_port,
                           internal_port, expires_text, error->message, retry_text);
          break;
        }
      if (ipv6)
        {
          g_autoptr(GDateTime) renews =
            pl_cli_clock_time_to_local (run->clock, pl_mapping_get_renew_at (mapping));
          g_autofree char *renews_text = g_date_time_format (renews, "%H:%M:%S");

          print_text_line (_("%s: %s [%s]:%u open (IPv6 pinhole), renews at %s"), name,
                           pl_cli_protocol_label (protocol),
                           pl_mapping_get_external_address (mapping), internal_port,
                           renews_text);
          break;
        }
      {
        g_autoptr(GDateTime) renews =
          pl_cli_clock_time_to_local (run->clock, pl_mapping_get_renew_at (mapping));
        g_autofree char *renews_text = g_date_time_format (renews, "%H:%M:%S");

        print_text_line (_("%s: %s public port %u → private port %u, renews at %s"),
                         name, pl_cli_protocol_label (protocol), external_port, internal_port,
                         renews_text);
        if (requested != 0 && requested != external_port &&
            !pl_mapping_get_any_external_port (mapping))
          print_text_line (_("%s: note: the router gave public port %u, not %u as asked"),
                           name, external_port, requested);
      }
      break;

    case PL_MAPPING_STATE_FAILED:
      if (waits_for_tunnel (session, error))
        {
          print_text_line (_("%s: %s %u waits for a VPN tunnel (Gateway=vpn): none is up"),
                           name, pl_cli_protocol_label (protocol), internal_port);
          break;
        }
      {
        g_autoptr(GDateTime) retry =
          pl_cli_clock_time_to_local (run->clock, pl_mapping_get_retry_at (mapping));
        g_autofree char *retry_text = g_date_time_format (retry, "%H:%M:%S");

        if (ipv6)
          print_text_line (_("%s: %s %u IPv6 pinhole failed: %s"), name,
                           pl_cli_protocol_label (protocol), internal_port,
                           error != NULL ? error->message : _("unknown error"));
        else
          print_text_line (_("%s: %s %u failed: %s (next try at %s)"), name,
                           pl_cli_protocol_label (protocol), internal_port,
                           error != NULL ? error->message : _("unknown error"), retry_text);
      }
      break;

    default:
      break;
    }
}

/* The public port of a profile's IPv4 mapping was first granted, or changed: what programs
 * that publish the port (a torrent client's listening port) need to hear. */
static void
port_changed_cb (PlSession *session,
                 PlMapping *mapping,
                 guint      old_port,
                 Run       *run)
{
  const char *name = pl_mapping_get_profile_name (mapping);
  PlProtocol protocol = pl_mapping_get_protocol (mapping);
  guint port = pl_mapping_get_external_port (mapping);

  if (run->json)
    {
      g_autoptr(JsonBuilder) builder = json_event_begin ("public-port");

      pl_cli_json_add_string (builder, "profile", name);
      pl_cli_json_add_string (builder, "protocol", pl_protocol_to_string (protocol));
      pl_cli_json_add_int (builder, "private_port", pl_mapping_get_internal_port (mapping));
      pl_cli_json_add_int (builder, "public_port", port);
      json_builder_set_member_name (builder, "previous_public_port");
      if (old_port != 0)
        json_builder_add_int_value (builder, old_port);
      else
        json_builder_add_null_value (builder);
      pl_cli_json_add_string (builder, "public_address",
                              pl_session_get_external_address (session));
      pl_cli_print_json_object (builder);
      return;
    }

  /* The mapping's own line shows a port that was asked for and granted. */
  if (old_port != 0)
    print_text_line (_("%s: the %s public port changed from %u to %u"), name,
                     pl_cli_protocol_label (protocol), old_port, port);
  else if (pl_mapping_get_any_external_port (mapping))
    print_text_line (_("%s: the router chose %s public port %u"), name,
                     pl_cli_protocol_label (protocol), port);
}

static void
external_address_changed_cb (PlSession  *session,
                             const char *address,
                             Run        *run)
{
  if (run->json)
    {
      g_autoptr(JsonBuilder) builder = json_event_begin ("public-address");

      pl_cli_json_add_string (builder, "public_address", address);
      pl_cli_print_json_object (builder);
      return;
    }

  print_text_line (_("Public address %s"), address != NULL ? address : _("unknown"));
}

static void
router_reset_cb (PlSession *session,
                 guint      n_mappings,
                 Run       *run)
{
  if (run->json)
    {
      g_autoptr(JsonBuilder) builder = json_event_begin ("router-reset");

      pl_cli_json_add_int (builder, "mappings", n_mappings);
      pl_cli_print_json_object (builder);
      return;
    }

  print_text_line (g_dngettext (GETTEXT_PACKAGE,
                                "The router restarted and lost its mappings: restoring %u mapping",
                                "The router restarted and lost its mappings: restoring %u mappings",
                                n_mappings),
                   n_mappings);
}

static void
double_nat_changed_cb (PlSession *session,
                       gboolean   double_nat,
                       Run       *run)
{
  if (run->json)
    {
      g_autoptr(JsonBuilder) builder = json_event_begin ("double-nat");

      pl_cli_json_add_boolean (builder, "double_nat", double_nat);
      pl_cli_print_json_object (builder);
      return;
    }

  if (double_nat)
    print_text_line (_("Warning: the router's public address is itself private: this network "
                       "is behind another NAT (double NAT or carrier-grade NAT), so mappings "
                       "will probably not be reachable from the Internet."));
  else
    print_text_line (_("The router now has a public address."));
}

/* A gateway is news once it is known what it speaks (protocol-name), or when there is
 * none. */
static void
gateway_report (Run       *run,
                PlSession *session)
{
  g_autofree char *gateway = NULL;
  const char *protocol = pl_session_get_protocol_name (session);
  /* NULL: the default route's session; else "vpn" or the address profiles name. */
  const char *serves = pl_session_get_profile_gateway (session);
  gboolean vpn = g_strcmp0 (serves, PL_PROFILE_GATEWAY_VPN_TEXT) == 0;

  if (pl_session_get_gateway (session) != NULL)
    gateway = g_inet_address_to_string (pl_session_get_gateway (session));
  if (gateway != NULL && protocol == NULL)
    return;

  if (run->json)
    {
      g_autoptr(JsonBuilder) builder = json_event_begin ("gateway");

      pl_cli_json_add_string (builder, "gateway", gateway);
      pl_cli_json_add_string (builder, "protocol", protocol);
      pl_cli_json_add_string (builder, "for",
                              serves != NULL ? serves : PL_PROFILE_GATEWAY_DEFAULT_TEXT);
      pl_cli_print_json_object (builder);
      return;
    }

  if (vpn && gateway != NULL)
    print_text_line (_("VPN gateway %s · %s (for the Gateway=vpn profiles)"), gateway, protocol);
  else if (vpn)
    print_text_line (_("No VPN tunnel is up: the Gateway=vpn profiles wait for one"));
  else if (serves != NULL && gateway != NULL)
    print_text_line (_("Router %s · %s (for the Gateway=%s profiles)"), gateway, protocol, serves);
  else if (gateway != NULL)
    print_text_line (_("Router %s · %s"), gateway, protocol);
  else
    print_text_line (_("No default gateway: waiting for the network"));
}

static void
gateway_changed_cb (PlSession  *session,
                    const char *gateway,
                    Run        *run)
{
  gateway_report (run, session);
}

static void
protocol_name_cb (PlSession  *session,
                  GParamSpec *pspec,
                  Run        *run)
{
  gateway_report (run, session);
}

static void
connect_session (Run       *run,
                 PlSession *session)
{
  g_signal_connect (session, "mapping-changed", G_CALLBACK (mapping_changed_cb), run);
  g_signal_connect (session, "external-address-changed",
                    G_CALLBACK (external_address_changed_cb), run);
  g_signal_connect (session, "router-reset", G_CALLBACK (router_reset_cb), run);
  g_signal_connect (session, "port-changed", G_CALLBACK (port_changed_cb), run);
  g_signal_connect (session, "double-nat-changed", G_CALLBACK (double_nat_changed_cb), run);
  g_signal_connect (session, "gateway-changed", G_CALLBACK (gateway_changed_cb), run);
  g_signal_connect (session, "notify::protocol-name", G_CALLBACK (protocol_name_cb), run);
}

/* A profile named a gateway of its own (Gateway=vpn, or an address): its session says what
 * it does like the primary. */
static void
session_added_cb (PlSessionGroup *group,
                  PlSession      *session,
                  Run            *run)
{
  connect_session (run, session);
  /* Its profiles' D-Bus objects show its mappings, router and address. */
  pl_broker_add_session (run->broker, session);
}

static void
disconnect_sessions (Run *run)
{
  GPtrArray *sessions = pl_session_group_get_sessions (run->group);

  for (guint i = 0; i < sessions->len; i++)
    g_signal_handlers_disconnect_by_data (g_ptr_array_index (sessions, i), run);
  g_signal_handlers_disconnect_by_data (run->group, run);
}

static void
stop_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Run *run = user_data;
  g_autoptr(GError) error = NULL;

  if (!pl_session_group_stop_finish (PL_SESSION_GROUP (source), result, &error))
    g_printerr ("%s: %s\n", g_get_prgname (), error->message);
  g_main_loop_quit (run->loop);
}

static gboolean
signal_cb (gpointer user_data)
{
  Run *run = user_data;

  run->n_signals++;
  if (run->n_signals > 1)
    {
      /* A second Ctrl-C: the user does not want to wait for the clean-up. */
      g_main_loop_quit (run->loop);
      return G_SOURCE_CONTINUE;
    }

  if (!run->json)
    print_text_line (pl_session_get_keep_mappings_on_exit (run->session)
                     ? _("Stopping; the mappings stay on the router until they expire")
                     : _("Stopping: removing the mappings from the router…"));
  run->stopped = TRUE;
  pl_session_group_stop_async (run->group, NULL, stop_cb, run);
  return G_SOURCE_CONTINUE;
}

static void
own_name_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Run *run = user_data;

  pl_broker_own_name_finish (PL_BROKER (source), result, &run->owner_pid, &run->own_error);
  run->owned = TRUE;
}

/* --idle-exit: an engine that the bus (or systemd for it) started stops once it has had
 * nothing to keep for a while: no lease, no enabled profile, no subscriber (PlBroker:idle).
 * The next client's call starts it again. */
static gboolean
idle_exit_cb (gpointer user_data)
{
  Run *run = user_data;

  run->idle_id = 0;
  if (run->n_signals > 0)
    return G_SOURCE_REMOVE;
  if (run->json)
    {
      g_autoptr(JsonBuilder) builder = json_event_begin ("idle-exit");

      pl_cli_json_add_int (builder, "seconds", run->idle_exit);
      pl_cli_print_json_object (builder);
    }
  else
    print_text_line (g_dngettext (GETTEXT_PACKAGE,
                                  "Nothing to keep for %u second: stopping",
                                  "Nothing to keep for %u seconds: stopping", run->idle_exit),
                     run->idle_exit);
  signal_cb (run);
  return G_SOURCE_REMOVE;
}

static void
idle_changed_cb (PlBroker   *broker,
                 GParamSpec *pspec,
                 Run        *run)
{
  if (pl_broker_get_idle (broker) && run->idle_exit > 0 && run->n_signals == 0)
    {
      if (run->idle_id == 0)
        run->idle_id = g_timeout_add_seconds (run->idle_exit, idle_exit_cb, run);
    }
  else
    g_clear_handle_id (&run->idle_id, g_source_remove);
}

/* The bus went away under a running engine (the session ended): clean up as on SIGTERM. */
static void
name_lost_cb (PlBroker *broker,
              Run      *run)
{
  if (run->n_signals > 0)
    return;
  if (!run->json)
    print_text_line (_("The session bus went away: stopping"));
  signal_cb (run);
}

/* Takes the engine lock, then the bus name. Returns FALSE (having said why) when another
 * engine runs; without a session bus the engine runs without its D-Bus interface. */
static gboolean
run_become_engine (Run           *run,
                   PlEngineLock **lock)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  guint holder = 0;

  *lock = pl_engine_lock_acquire (NULL, &holder, &error);
  if (*lock == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY))
    {
      if (holder != 0)
        g_printerr (_("%s: Portlight's engine is already running (pid %u)\n"), g_get_prgname (),
                    holder);
      else
        g_printerr (_("%s: Portlight's engine is already running\n"), g_get_prgname ());
      return FALSE;
    }
  if (*lock == NULL)
    g_printerr (_("%s: warning: %s\n"), g_get_prgname (), error->message);
  g_clear_error (&error);

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (bus == NULL)
    {
      g_debug ("No session bus (%s): running without the D-Bus interface", error->message);
      return TRUE;
    }
  g_dbus_connection_set_exit_on_close (bus, FALSE);
  pl_broker_own_name_async (run->broker, bus, NULL, own_name_cb, run);
  while (!run->owned)
    g_main_context_iteration (NULL, TRUE);
  if (run->own_error == NULL)
    {
      g_signal_connect (run->broker, "name-lost", G_CALLBACK (name_lost_cb), run);
      return TRUE;
    }
  if (g_error_matches (run->own_error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    {
      if (run->owner_pid != 0)
        g_printerr (_("%s: Portlight's engine is already running (pid %u)\n"), g_get_prgname (),
                    run->owner_pid);
      else
        g_printerr (_("%s: Portlight's engine is already running\n"), g_get_prgname ());
      return FALSE;
    }
  g_printerr (_("%s: warning: %s\n"), g_get_prgname (), run->own_error->message);
  pl_broker_shutdown (run->broker);
  return TRUE;
}

static int
run_usage_error (GOptionContext *context,
                 const char     *reason)
{
  g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);

  g_printerr ("%s: %s\n\n%s", g_get_prgname (), reason, help);
  return PL_EXIT_USAGE;
}

/* The engine's journal (PCP's nonces, and what it mapped), so that an engine killed and
 * started again takes its mappings back and deletes those nobody asks for again
 * (PlJournalSweep). It is the engine's own file in $XDG_RUNTIME_DIR, not the one-shot
 * commands' mappings.ini: see pl_pcp_state_get_engine_path(). A file we cannot read is left
 * alone: the run goes on without it. */
static PlPcpState *
run_load_journal (void)
{
  g_autofree char *path = pl_pcp_state_get_engine_path ();
  g_autoptr(PlPcpState) journal = pl_pcp_state_new (path);
  g_autoptr(GError) error = NULL;

  if (!pl_pcp_state_load (journal, &error))
    {
      g_printerr (_("%s: warning: %s\n"), g_get_prgname (), error->message);
      return NULL;
    }
  pl_pcp_state_set_owner (journal, PL_PCP_OWNER_ENGINE);
  return g_steal_pointer (&journal);
}

/* The grace before the sweep. PORTLIGHT_TEST_SWEEP_GRACE (seconds) is for the test suite
 * only, which cannot wait a minute: it is not documented for users. */
static PlJournalSweep *
run_sweep_new (PlSession  *session,
               PlPcpState *journal)
{
  PlJournalSweep *sweep = pl_journal_sweep_new (session, journal);
  const char *grace = g_getenv ("PORTLIGHT_TEST_SWEEP_GRACE");
  guint64 seconds;

  if (grace != NULL && g_ascii_string_to_unsigned (grace, 10, 0, 3600, &seconds, NULL))
    pl_journal_sweep_set_grace (sweep, (guint) seconds);
  return sweep;
}

/* App-linked profiles (App=) and network-linked ones (Network=): one line when the
 * application starts or exits or the network comes or goes, or when the reason a profile
 * waits changes. */
static void
app_changed_cb (PlAppProfiles *apps,
                const char    *name,
                Run           *run)
{
  g_autofree char *reason = pl_app_profiles_dup_reason (apps, name);
  PlProfile *profile = NULL;
  g_autofree char *app = NULL;
  g_autofree char *network = NULL;
  g_autofree char *line = NULL;
  gboolean running;

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (apps)); i++)
    {
      g_autoptr(PlProfile) item = g_list_model_get_item (G_LIST_MODEL (apps), i);

      if (g_strcmp0 (pl_profile_get_name (item), name) == 0)
        {
          profile = item;   /* the model holds a reference */
          break;
        }
    }
  if (profile == NULL ||
      (pl_profile_get_app (profile) == NULL && pl_profile_get_network (profile) == NULL))
    {
      g_hash_table_remove (run->app_printed, name);
      return;
    }
  running = reason == NULL && pl_profile_get_enabled (profile);
  if (reason == NULL && !running)
    {
      g_hash_table_remove (run->app_printed, name);   /* disabled: the mapping line says it */
      return;
    }
  network = pl_network_link_dup_name (pl_profile_get_network (profile));
  if (pl_profile_get_app (profile) != NULL)
    {
      app = pl_app_link_dup_display_name (pl_profile_get_app (profile));
      line = running ? g_strdup_printf (_("%s: %s is running"), name, app)
                     : g_strdup_printf ("%s: %s", name, reason);
    }
  else
    /* Translators: the first %s is a profile, the second a network's name, e.g. home */
    line = running ? g_strdup_printf (_("%s: on network ‘%s’"), name, network)
                   : g_strdup_printf ("%s: %s", name, reason);
  if (g_strcmp0 (g_hash_table_lookup (run->app_printed, name), line) == 0)
    return;
  g_hash_table_insert (run->app_printed, g_strdup (name), g_strdup (line));

  if (run->json)
    {
      g_autoptr(JsonBuilder) builder = json_event_begin (app != NULL ? "app" : "network");

      pl_cli_json_add_string (builder, "profile", name);
      if (app != NULL)
        {
          pl_cli_json_add_string (builder, "app", pl_profile_get_app (profile));
          pl_cli_json_add_boolean (builder, "running", running);
        }
      if (network != NULL)
        {
          pl_cli_json_add_string (builder, "network", network);
          pl_cli_json_add_boolean (builder, "on_network",
                                   pl_app_profiles_is_on_network (apps, name));
        }
      if (reason != NULL)
        pl_cli_json_add_string (builder, "reason", reason);
      pl_cli_print_json_object (builder);
    }
  else
    print_text_line ("%s", line);
}

static void
app_print_all (Run *run)
{
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (run->apps)); i++)
    {
      g_autoptr(PlProfile) item = g_list_model_get_item (G_LIST_MODEL (run->apps), i);

      if (pl_profile_get_app (item) != NULL || pl_profile_get_network (item) != NULL)
        app_changed_cb (run->apps, pl_profile_get_name (item), run);
    }
}

int
pl_cli_run_main (int    argc,
                 char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PlProfileStore) store = NULL;
  g_autoptr(GInetAddress) gateway = NULL;
  g_autofree char *gateway_text = NULL;
  g_autofree char *file = NULL;
  g_autofree char *protocol_text = NULL;
  g_autoptr(PlPcpState) journal = NULL;
  g_autoptr(PlJournalSweep) sweep = NULL;
  g_autoptr(PlEngineLock) lock = NULL;
  g_autoptr(PlBroker) broker = NULL;
  gboolean keep_mappings = FALSE;
  gboolean json = FALSE;
  int idle_exit = 0;
  GPtrArray *problems;
  Run run = { 0 };
  const GOptionEntry entries[] = {
    { "gateway", 'g', 0, G_OPTION_ARG_STRING, &gateway_text,
      N_("Ask this router instead of the default gateway"), N_("ADDRESS") },
    { "file", 'f', 0, G_OPTION_ARG_FILENAME, &file,
      N_("Use this profile file instead of the default one"), N_("FILE") },
    { "keep-mappings", 0, 0, G_OPTION_ARG_NONE, &keep_mappings,
      N_("Leave the mappings on the router when stopping"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      N_("Print one JSON object per line for each event"), NULL },
    { "idle-exit", 0, 0, G_OPTION_ARG_INT, &idle_exit,
      N_("Stop after SECONDS with nothing to keep (no lease, no enabled profile, no "
         "subscriber), as when started by D-Bus"),
      N_("SECONDS") },
    { "protocol", 0, 0, G_OPTION_ARG_STRING, &protocol_text,
      N_("Speak PROTOCOL with the router: auto (PCP, else NAT-PMP, else UPnP-IGD; the "
         "default), pcp, natpmp or upnp"),
      N_("PROTOCOL") },
    G_OPTION_ENTRY_NULL
  };

  g_set_prgname ("portlightctl run");
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                _("Keep every enabled profile mapped until Ctrl-C or SIGTERM, "
                                  "printing each change.\nThe profile file is followed as it "
                                  "is edited; router restarts and network changes are repaired "
                                  "by themselves."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return run_usage_error (context, error->message);
  if (argc > 1)
    {
      g_autofree char *reason = g_strdup_printf (_("Unexpected argument “%s”"), argv[1]);

      return run_usage_error (context, reason);
    }
  if (protocol_text != NULL && !pl_method_from_string (protocol_text, &run.method))
    {
      g_autofree char *reason =
        g_strdup_printf (_("Unknown protocol “%s”: give auto, pcp, natpmp or upnp"), protocol_text);

      return run_usage_error (context, reason);
    }
  if (idle_exit < 0 || idle_exit > 24 * 3600)
    {
      g_autofree char *reason =
        g_strdup_printf (_("Invalid idle time “%d”: give seconds from 0 (never stop) to 86400"),
                         idle_exit);

      return run_usage_error (context, reason);
    }
  run.idle_exit = (guint) idle_exit;
  if (gateway_text != NULL)
    {
      gateway = pl_gateway_parse_address (gateway_text, &error);
      if (gateway == NULL)
        return run_usage_error (context, error->message);
    }

  g_log_set_handler ("pl-core", G_LOG_LEVEL_MESSAGE, message_handler, NULL);
  g_log_set_handler ("pl-broker", G_LOG_LEVEL_MESSAGE, message_handler, NULL);

  store = pl_profile_store_new (file);
  if (!pl_profile_store_load (store, NULL, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_clear_error (&error);   /* no profiles yet: add some while we run */
      else
        {
          g_printerr ("%s: %s\n", g_get_prgname (), error->message);
          return PL_EXIT_PROFILE_ERROR;
        }
    }

  problems = pl_profile_store_get_problems (store);
  for (guint i = 0; problems != NULL && i < problems->len; i++)
    g_printerr (_("%s: warning: %s\n"), g_get_prgname (),
                ((GError *) g_ptr_array_index (problems, i))->message);

  pl_profile_store_set_watching (store, TRUE);

  run.json = json;
  run.loop = g_main_loop_new (NULL, FALSE);
  broker = pl_broker_new (G_LIST_MODEL (store));
  run.broker = broker;
  if (!pl_broker_load_settings (broker, NULL, &error))
    {
      g_printerr (_("%s: warning: %s\n"), g_get_prgname (), error->message);
      g_clear_error (&error);
    }
  /* App-linked profiles are mapped only while their application runs (pl-app-profiles.h). */
  run.apps = pl_app_profiles_new_for_engine (pl_broker_get_profiles (broker));
  /* The reason a profile waits, on its Profile object too (the tray shows it). */
  pl_app_profiles_publish_waiting (run.apps, broker);
  run.app_printed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_signal_connect (run.apps, "app-changed", G_CALLBACK (app_changed_cb), &run);
  run.session = pl_session_new (G_LIST_MODEL (run.apps), NULL, gateway, keep_mappings);
  pl_broker_set_session (broker, run.session);
  pl_session_set_method (run.session, run.method);
  journal = run_load_journal ();
  pl_session_set_journal (run.session, journal);
  if (journal != NULL)
    sweep = run_sweep_new (run.session, journal);
  {
    g_autoptr(PlMethodMemory) memory = pl_method_memory_new (NULL);
    g_autoptr(GError) memory_error = NULL;

    /* Which protocol known gateways speak; a file we cannot read is left alone. */
    if (pl_method_memory_load (memory, &memory_error))
      pl_session_set_method_memory (run.session, memory);
    else
      g_printerr (_("%s: warning: %s\n"), g_get_prgname (), memory_error->message);
  }
  run.clock = pl_session_get_clock (run.session);
  /* Gateway=: a session per other gateway in use (the VPN's, the home router's), made with
   * the primary's settings, so that nothing moves from one gateway to another. */
  run.group = pl_session_group_new (run.session);

  connect_session (&run, run.session);
  g_signal_connect (run.group, "session-added", G_CALLBACK (session_added_cb), &run);

  run.signal_ids[0] = g_unix_signal_add (SIGINT, signal_cb, &run);
  run.signal_ids[1] = g_unix_signal_add (SIGTERM, signal_cb, &run);

  if (!run_become_engine (&run, &lock))
    {
      for (guint i = 0; i < G_N_ELEMENTS (run.signal_ids); i++)
        g_clear_handle_id (&run.signal_ids[i], g_source_remove);
      disconnect_sessions (&run);
      g_clear_object (&run.group);
      g_clear_object (&run.session);
      g_signal_handlers_disconnect_by_data (run.apps, &run);
      g_clear_object (&run.apps);
      g_clear_pointer (&run.app_printed, g_hash_table_unref);
      g_clear_pointer (&run.loop, g_main_loop_unref);
      g_clear_error (&run.own_error);
      return PL_EXIT_LOCAL_ERROR;
    }

  if (!json)
    print_text_line (g_dngettext (GETTEXT_PACKAGE,
                                  "Keeping %u profile from %s mapped (Ctrl-C stops)",
                                  "Keeping %u profiles from %s mapped (Ctrl-C stops)",
                                  g_list_model_get_n_items (G_LIST_MODEL (store))),
                     g_list_model_get_n_items (G_LIST_MODEL (store)),
                     pl_profile_store_get_path (store));

  g_signal_connect (broker, "notify::idle", G_CALLBACK (idle_changed_cb), &run);
  pl_session_group_start (run.group);
  app_print_all (&run);
  idle_changed_cb (broker, NULL, &run);
  g_main_loop_run (run.loop);
  g_clear_handle_id (&run.idle_id, g_source_remove);

  for (guint i = 0; i < G_N_ELEMENTS (run.signal_ids); i++)
    g_clear_handle_id (&run.signal_ids[i], g_source_remove);
  disconnect_sessions (&run);
  g_signal_handlers_disconnect_by_data (broker, &run);
  g_clear_object (&sweep);
  pl_broker_shutdown (broker);
  g_clear_object (&run.group);
  g_clear_object (&run.session);
  g_signal_handlers_disconnect_by_data (run.apps, &run);
  g_clear_object (&run.apps);
  g_clear_pointer (&run.app_printed, g_hash_table_unref);
  g_clear_pointer (&run.loop, g_main_loop_unref);
  g_clear_error (&run.own_error);

  /* The last deletes' records may wait for their batch's save: write them out now. Should
   * that fail, the records stay, and the next engine deletes those ports again (no harm). */
  if (journal != NULL)
    {
      g_autoptr(GError) journal_error = NULL;

      if (!pl_pcp_state_flush (journal, &journal_error))
        g_debug ("Cannot save the engine's journal: %s", journal_error->message);
    }

  return run.n_signals > 1 ? PL_EXIT_LOCAL_ERROR : PL_EXIT_OK;
}
