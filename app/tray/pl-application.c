/* pl-application.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gi18n.h>

#include "pl-core.h"

#include "pl-app-profiles.h"
#include "pl-app-waiting.h"
#include "pl-application.h"
#include "pl-autostart.h"
#include "pl-engine-host.h"
#include "pl-icon-path.h"
#include "pl-notifier.h"
#include "pl-profile-dialog.h"
#include "pl-router-window.h"
#include "pl-settings.h"
#include "pl-tray-menu.h"
#include "pl-tray.h"

struct _PlApplication
{
  GtkApplication    parent_instance;

  /* Command line */
  char             *gateway_text;       /* --gateway */
  gboolean          background;         /* --background: started at login, most likely */
  int               tray_wait;          /* --tray-wait, seconds */

  PlSettings       *settings;
  PlProfileStore   *store;
  PlSession        *session;            /* maps only when the tray hosts the engine */
  PlSessionGroup   *group;              /* it, and a session per other Gateway= in use */
  /* One engine per user (dbus-broker.md §1): where one runs or can be activated, the tray
   * is its client and its session stays unstarted; where none can, the tray hosts it.
   * Hosting, the menu still reads the in-process session rather than the engine's objects
   * over the bus: the session says more than the D-Bus interface does so far (IPv6
   * pinholes, double NAT, why a router refused), and the hosted tray must not lose that. As
   * a client the menu is built from PlEngineClient (who listens is asked here, in either
   * case). When the engine leaves the bus, the tray takes over (take_over()). */
  PlEngineHost     *host;               /* nullable: the engine in this process */
  GDBusObjectManager *engine_objects;   /* nullable: the engine's objects, as its client */
  PlBrokerManager  *engine_manager;     /* nullable: its Manager (Subscribe()d) */
  PlEngineClient   *engine;             /* nullable: what the menu shows of it */
  char             *engine_note;        /* nullable: why this tray maps nothing itself */
  guint             engine_pid;         /* the engine's process as its client, 0 if unknown */
  guint             engine_exit_id;     /* waiting for the engine that left the bus to exit */
  guint             take_over_tries;    /* engine lock still held after it left the bus */
  PlPcpState       *journal;            /* nullable: could not be loaded */
  PlMethodMemory   *memory;             /* nullable: could not be loaded */
  PlTrayMenu       *menu;
  PlNotifier       *notifier;
  PlTray           *tray;
  PlProfileDialog  *window;             /* weak */
  GFileMonitor     *autostart_monitor;
  gboolean          autostart_folder_watched;
  guint             sigterm_id;
  guint             sigint_id;
  gboolean          held;
  gboolean          restarting;         /* the session stops, to start again anew */
  gboolean          quitting;
  gboolean          told_no_tray;
  gboolean          window_for_tray;    /* the window is open only because no tray shows */
  PlTrayState       last_state;
};

G_DEFINE_FINAL_TYPE (PlApplication, pl_application, GTK_TYPE_APPLICATION)

/* At login the panel often starts after Portlight (XDG autostart runs both at once). */
#define DEFAULT_TRAY_WAIT_SECONDS 15

static const GOptionEntry options[] = {
  { "background", 'b', 0, G_OPTION_ARG_NONE, NULL,
    N_("Stay in the tray: map the enabled profiles without opening the window"), NULL },
  { "gateway", 'g', 0, G_OPTION_ARG_STRING, NULL,
    N_("Talk to the router at ADDRESS (IPv4) instead of the default gateway"), N_("ADDRESS") },
  { "tray-wait", 0, 0, G_OPTION_ARG_INT, NULL,
    N_("Wait up to SECONDS for a panel to show the icon, at a background start or when the "
       "panel restarts, before opening the window instead (default: 15)"), N_("SECONDS") },
  { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Show the version and quit"), NULL },
  { NULL }
};

/* The window */

static void
update_tray_message (PlApplication *self)
{
  g_autofree char *message = NULL;
  const char *reason;

  if (self->window == NULL || self->tray == NULL)
    return;

  reason = pl_tray_get_unavailable_reason (self->tray);
  if (reason != NULL)
    message = g_strdup_printf (_("%s\nSo Portlight shows this window instead. Your enabled "
                                 "profiles stay open while it runs; closing this window quits "
                                 "Portlight and closes them."),
                               reason);
  pl_profile_dialog_set_tray_message (self->window, message);
}

static gboolean
window_delete_cb (GtkWidget     *window,
                  GdkEvent      *event,
                  PlApplication *self)
{
  /* Without a tray, nothing would be left to see: closing the window quits. */
  if (self->tray != NULL &&
      pl_tray_get_availability (self->tray) == PL_TRAY_AVAILABILITY_UNAVAILABLE)
    {
      g_action_group_activate_action (G_ACTION_GROUP (self), "quit", NULL);
      return TRUE;
    }
  return FALSE;
}

/* The user did something in the window: it is theirs now, a tray coming does not close it. */
static gboolean
window_used_cb (GtkWidget     *window,
                GdkEvent      *event,
                PlApplication *self)
{
  self->window_for_tray = FALSE;
  return GDK_EVENT_PROPAGATE;
}

static PlProfileDialog *
ensure_window (PlApplication *self)
{
  if (self->window == NULL)
    {
      PlProfileDialog *window = pl_profile_dialog_new (GTK_APPLICATION (self), self->store,
                                                       self->menu);

      g_debug ("Opening the profiles window");
      g_set_weak_pointer (&self->window, window);
      g_signal_connect (window, "delete-event", G_CALLBACK (window_delete_cb), self);
      g_signal_connect (window, "button-press-event", G_CALLBACK (window_used_cb), self);
      g_signal_connect (window, "key-press-event", G_CALLBACK (window_used_cb), self);
      update_tray_message (self);
    }
  return self->window;
}

/* The window, asked for by the user (the menu, starting portlight again). */
static void
present_window (PlApplication *self)
{
  if (self->quitting)
    return;
  self->window_for_tray = FALSE;
  gtk_window_present (GTK_WINDOW (ensure_window (self)));
}

/* The tray */

static void
menu_changed_cb (PlApplication *self)
{
  PlTrayState state = pl_tray_menu_get_state (self->menu);

  if (self->tray == NULL)
    return;
  if (state != self->last_state)
    {
      self->last_state = state;
      g_debug ("Tray state: %s (%s)", pl_tray_state_get_icon_name (state),
               pl_tray_menu_get_description (self->menu));
    }
  pl_tray_set_menu (self->tray, pl_tray_menu_get_items (self->menu));
  pl_tray_set_state (self->tray, pl_tray_state_get_icon_name (state),
                     pl_tray_menu_get_description (self->menu));
}

static void
availability_cb (PlApplication *self)
{
  PlTrayAvailability availability = pl_tray_get_availability (self->tray);

  update_tray_message (self);
  if (availability == PL_TRAY_AVAILABILITY_UNAVAILABLE && !self->told_no_tray)
    {
      gboolean was_open = self->window != NULL &&
                          gtk_widget_get_visible (GTK_WIDGET (self->window));

      /* Never run invisibly: open the window and say why. */
      self->told_no_tray = TRUE;
      g_printerr (_("portlight: %s Opening the profiles window instead.\n"),
                  pl_tray_get_unavailable_reason (self->tray));
      if (!self->quitting)
        {
          gtk_window_present (GTK_WINDOW (ensure_window (self)));
          self->window_for_tray = !was_open;
        }
    }
  else if (availability == PL_TRAY_AVAILABILITY_AVAILABLE)
    {
      self->told_no_tray = FALSE;
      /* It stood in for the icon, which is back: close it (unless the user took it over). */
      if (self->window_for_tray && self->window != NULL)
        {
          g_debug ("A tray shows the icon: closing the window opened in its place");
          gtk_widget_destroy (GTK_WIDGET (self->window));
        }
      self->window_for_tray = FALSE;
    }
}

/* Actions */

static void
copy_address_cb (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  PlApplication *self = user_data;
  const char *address = pl_session_get_external_address (self->session);

  if (address == NULL)
    return;
  gtk_clipboard_set_text (gtk_clipboard_get (GDK_SELECTION_CLIPBOARD), address, -1);
  g_debug ("Copied %s to the clipboard", address);
}

/* "Copy 84.17.2.3:8080": the text goes to the clipboard, and to the primary selection for
 * a middle click. */
static void
copy_text_cb (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  const char *text = g_variant_get_string (parameter, NULL);

  gtk_clipboard_set_text (gtk_clipboard_get (GDK_SELECTION_CLIPBOARD), text, -1);
  gtk_clipboard_set_text (gtk_clipboard_get (GDK_SELECTION_PRIMARY), text, -1);
  g_debug ("Copied %s to the clipboard", text);
}

static void
republish_cb (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  PlApplication *self = user_data;

  g_debug ("Re-publishing every port");
  if (self->host != NULL)
    pl_session_republish (self->session);
  else if (self->engine_manager != NULL)
    pl_broker_manager_call_refresh (self->engine_manager, NULL, NULL, NULL);
}

static void
menu_opening_cb (PlApplication *self)
{
  pl_tray_menu_check_listeners (self->menu);
}

typedef struct
{
  PlApplication *self;
  gboolean       enabled;
} ToggleCall;

static void
toggle_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autofree ToggleCall *call = user_data;
  g_autoptr(PlApplication) self = call->self;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (call->enabled)
    ok = pl_broker_profile_call_enable_finish (PL_BROKER_PROFILE (source), result, &error);
  else
    ok = pl_broker_profile_call_disable_finish (PL_BROKER_PROFILE (source), result, &error);
  if (ok)
    return;   /* the engine writes the file; the store follows it */
  g_dbus_error_strip_remote_error (error);
  if (self->notifier != NULL)
    pl_notifier_notify_error (self->notifier,
                              call->enabled ? _("Could not enable the profile")
                                            : _("Could not disable the profile"),
                              error->message);
  if (self->menu != NULL)
    {
      pl_tray_menu_update (self->menu);
      menu_changed_cb (self);
    }
}

/* As the engine's client: its Profile object does it (the engine alone writes the file). */
static void
toggle_through_engine (PlApplication *self,
                       const char    *name,
                       gboolean       enabled)
{
  g_autofree char *escaped = g_dbus_escape_object_path (name);
  g_autofree char *path = g_strconcat (PL_BROKER_OBJECT_PATH "/Profile/", escaped, NULL);
  g_autoptr(GDBusInterface) profile = NULL;
  ToggleCall *call;

  profile = g_dbus_object_manager_get_interface (self->engine_objects, path,
                                                 PL_BROKER_BUS_NAME ".Profile");
  if (profile == NULL)
    {
      pl_notifier_notify_error (self->notifier,
                                enabled ? _("Could not enable the profile")
                                        : _("Could not disable the profile"),
                                _("Portlight’s engine does not know this profile (yet)"));
      pl_tray_menu_update (self->menu);
      menu_changed_cb (self);
      return;
    }
  call = g_new0 (ToggleCall, 1);
  call->self = g_object_ref (self);
  call->enabled = enabled;
  if (enabled)
    pl_broker_profile_call_enable (PL_BROKER_PROFILE (profile), NULL, toggle_done_cb, call);
  else
    pl_broker_profile_call_disable (PL_BROKER_PROFILE (profile), NULL, toggle_done_cb, call);
}

static void
toggle_profile_cb (GSimpleAction *action,
                   GVariant      *parameter,
                   gpointer       user_data)
{
  PlApplication *self = user_data;
  const char *name = g_variant_get_string (parameter, NULL);
  PlProfile *profile = pl_profile_store_lookup (self->store, name);
  g_autoptr(GError) error = NULL;
  gboolean enabled;

  if (profile == NULL)
    {
      g_debug ("No profile called %s", name);
      return;
    }

  enabled = !pl_profile_get_enabled (profile);
  g_debug ("%s profile %s", enabled ? "Enabling" : "Disabling", name);
  if (self->engine_objects != NULL)
    {
      toggle_through_engine (self, name, enabled);
      return;
    }
  if (pl_profile_store_set_enabled (self->store, name, enabled, &error))
    {
      if (pl_profile_store_save (self->store, NULL, &error))
        return;
      pl_profile_store_set_enabled (self->store, name, !enabled, NULL);
    }

  pl_notifier_notify_error (self->notifier,
                            enabled ? _("Could not enable the profile")
                                    : _("Could not disable the profile"),
                            error->message);
  /* Put the menu's check back where it belongs. */
  pl_tray_menu_update (self->menu);
  menu_changed_cb (self);
}

static void
add_profile_cb (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  PlApplication *self = user_data;

  present_window (self);
  if (self->window != NULL)
    pl_profile_dialog_add_profile (self->window);
}

/* "What's open on your router": one window, refreshed when asked for again. */
static void
router_table_cb (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  PlApplication *self = user_data;
  PlRouterWindow *window = NULL;

  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL; l = l->next)
    if (PL_IS_ROUTER_WINDOW (l->data))
      window = l->data;
  if (window == NULL)
    window = pl_router_window_new (GTK_APPLICATION (self), self->session, self->store);
  else
    pl_router_window_refresh (window);
  gtk_window_present (GTK_WINDOW (window));
}

static void
edit_profiles_cb (GSimpleAction *action,
                  GVariant      *parameter,
                  gpointer       user_data)
{
  present_window (user_data);
}

static void
autostart_change_state_cb (GSimpleAction *action,
                           GVariant      *value,
                           gpointer       user_data)
{
  PlApplication *self = user_data;
  gboolean enabled = g_variant_get_boolean (value);
  g_autofree char *template_path = g_build_filename (PL_DATADIR, "portlight",
                                                     APP_ID "-autostart.desktop", NULL);
  g_autoptr(GError) error = NULL;

  if (!pl_autostart_set_enabled (enabled, template_path, &error))
    pl_notifier_notify_error (self->notifier, _("Could not change Start at Login"),
                              error->message);
  else
    g_debug ("Start at login %s", enabled ? "on" : "off");

  g_simple_action_set_state (action, g_variant_new_boolean (pl_autostart_is_enabled ()));
  pl_tray_menu_set_autostart (self->menu, pl_autostart_is_enabled ());
}

static void arm_autostart_monitor (PlApplication *self);

static void
autostart_file_changed_cb (PlApplication *self)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), "autostart");
  gboolean enabled = pl_autostart_is_enabled ();

  /* The autostart folder came or went: watch the right thing (see below). */
  arm_autostart_monitor (self);
  g_simple_action_set_state (G_SIMPLE_ACTION (action), g_variant_new_boolean (enabled));
  pl_tray_menu_set_autostart (self->menu, enabled);
}

/* Follow the autostart entry, edited by hand or by another instance. GLib watches a file in a
 * missing folder by polling every 4 s, which would wake an idle tray 15 times a minute: while
 * $XDG_CONFIG_HOME/autostart does not exist, watch its parent folder instead (one inotify
 * watch, no polling), and switch to the file once the folder appears. */
static void
arm_autostart_monitor (PlApplication *self)
{
  g_autofree char *path = pl_autostart_get_path ();
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFile) folder = g_file_get_parent (file);
  gboolean folder_exists = g_file_query_exists (folder, NULL);
  GFileMonitor *monitor;

  if (self->autostart_monitor != NULL && folder_exists == self->autostart_folder_watched)
    return;

  if (self->autostart_monitor != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->autostart_monitor, self);
      g_file_monitor_cancel (self->autostart_monitor);
      g_clear_object (&self->autostart_monitor);
    }

  if (folder_exists)
    monitor = g_file_monitor_file (file, G_FILE_MONITOR_NONE, NULL, NULL);
  else
    {
      g_autoptr(GFile) config = g_file_get_parent (folder);

      monitor = g_file_monitor_directory (config, G_FILE_MONITOR_NONE, NULL, NULL);
    }

  self->autostart_folder_watched = folder_exists;
  self->autostart_monitor = monitor;
  if (monitor != NULL)
    g_signal_connect_object (monitor, "changed", G_CALLBACK (autostart_file_changed_cb), self,
                             G_CONNECT_SWAPPED);
}

static void
notifications_change_state_cb (GSimpleAction *action,
                               GVariant      *value,
                               gpointer       user_data)
{
  PlApplication *self = user_data;
  gboolean enabled = g_variant_get_boolean (value);

  g_debug ("Notifications %s", enabled ? "on" : "off");
  pl_settings_set_notifications (self->settings, enabled);
  pl_notifier_set_enabled (self->notifier, enabled);
  pl_tray_menu_set_notifications (self->menu, enabled);
  g_simple_action_set_state (action, value);
}

/* The engine */

/* Activation may take a while (systemd starts the unit); D-Bus's own default is 25 s. */
#define FIND_ENGINE_TIMEOUT_MS 25000

static guint
engine_pid (GDBusConnection *bus)
{
  g_autoptr(GVariant) reply = NULL;
  guint32 pid = 0;

  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                       g_variant_new ("(s)", PL_BROKER_BUS_NAME),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, 5000,
                                       NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(u)", &pid);
  return pid;
}

/* Subscribe() (dbus-broker.md §2.2): success means an engine runs, and this tray is its
 * client. It is called once at start-up, before the tray shows anything, so it waits for the
 * answer rather than show a state it does not know. With auto-start: an installed engine
 * (the D-Bus service file, the systemd unit) is started by the bus, and the tray is its
 * client; its menu shows what a hosting tray's does (PlEngineClient). Only where none can be
 * started (ServiceUnknown: the build tree) does the tray host the engine. */
static gboolean
find_engine (PlApplication *self)
{
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(PlBrokerManager) manager = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  guint pid;

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (bus == NULL)
    {
      g_debug ("No session bus (%s): the tray hosts the engine", error->message);
      return FALSE;
    }
  manager = pl_broker_manager_proxy_new_sync (bus,
                                              G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES |
                                              G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS |
                                              G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START_AT_CONSTRUCTION,
                                              PL_BROKER_BUS_NAME, PL_BROKER_MANAGER_PATH, NULL,
                                              &error);
  if (manager == NULL)
    {
      g_debug ("No engine proxy (%s): the tray hosts the engine", error->message);
      return FALSE;
    }
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (manager), FIND_ENGINE_TIMEOUT_MS);
  reply = g_dbus_proxy_call_sync (G_DBUS_PROXY (manager), "Subscribe", NULL,
                                  G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  if (reply == NULL)
    {
      if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
          g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
        g_debug ("No engine on the session bus, none to activate: the tray hosts it");
      else
        g_printerr (_("portlight: cannot reach Portlight’s engine: %s\n"), error->message);
      return FALSE;
    }

  self->engine_objects = pl_broker_object_manager_client_new_sync (
    bus, G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_NONE, PL_BROKER_BUS_NAME, PL_BROKER_OBJECT_PATH,
    NULL, &error);
  if (self->engine_objects == NULL)
    {
      g_printerr (_("portlight: cannot reach Portlight’s engine: %s\n"), error->message);
      return FALSE;
    }
  self->engine_manager = g_steal_pointer (&manager);
  self->engine = pl_engine_client_new (self->engine_objects);
  pid = engine_pid (bus);
  self->engine_pid = pid;
  g_debug ("Client of the engine (pid %u)", pid);
  return TRUE;
}

/* The engine: an engine on the bus, or one the bus can start, has it; otherwise this tray
 * hosts it (the lock, then the name on a second connection). When the lock is held by an
 * engine this bus does not reach (another login's bus), the tray maps nothing and says so. */
static void
choose_engine (PlApplication *self)
{
  for (guint attempt = 0; attempt < 2; attempt++)
    {
      g_autoptr(PlEngineHost) host = NULL;
      g_autoptr(GError) error = NULL;
      guint holder = 0;

      if (find_engine (self))
        return;
      host = pl_engine_host_new (G_LIST_MODEL (self->store));
      if (pl_engine_host_start (host, &holder, &error))
        {
          g_debug (pl_engine_host_get_on_bus (host) ? "Hosting the engine"
                                                    : "Hosting the engine, without a bus");
          self->host = g_steal_pointer (&host);
          return;
        }
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
        continue;   /* an engine came up meanwhile: be its client */

      g_free (self->engine_note);
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY) && holder != 0)
        /* TRANSLATORS: first line of the tray's menu */
        self->engine_note = g_strdup_printf (_("Another Portlight engine (pid %u) runs outside "
                                               "this session: this tray opens no ports"),
                                             holder);
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY))
        self->engine_note = g_strdup (_("Another Portlight engine runs outside this session: "
                                        "this tray opens no ports"));
      else
        self->engine_note = g_strdup_printf (_("Portlight’s engine cannot start: %s"),
                                             error->message);
      g_printerr ("portlight: %s\n", self->engine_note);
      return;
    }
  g_free (self->engine_note);
  self->engine_note = g_strdup (_("Portlight’s engine cannot start: another one is starting"));
  g_printerr ("portlight: %s\n", self->engine_note);
}

/* The session */

static GInetAddress *configured_gateway (PlApplication *self);

static PlSession *
create_session (PlApplication *self)
{
  g_autoptr(GInetAddress) gateway = configured_gateway (self);
  GListModel *profiles = self->host != NULL ? pl_engine_host_get_profiles (self->host)
                                            : G_LIST_MODEL (self->store);
  /* App-linked profiles are mapped only while their application runs (pl-app-profiles.h);
   * the session holds the model. */
  g_autoptr(PlAppProfiles) apps = pl_app_profiles_new_for_engine (profiles);
  PlSession *session = pl_session_new (G_LIST_MODEL (apps), NULL, gateway, FALSE);

  /* Hosting the engine: the reason a profile waits, on its Profile object for the engine's
   * clients (`portlightctl`, another tray). */
  if (self->host != NULL)
    pl_app_profiles_publish_waiting (apps, pl_engine_host_get_broker (self->host));

  pl_settings_apply_to_session (self->settings, session);
  /* PCP's nonces, kept across restarts: a tray that crashed takes its mappings back. */
  if (self->journal != NULL)
    pl_session_set_journal (session, self->journal);
  if (self->memory != NULL)
    pl_session_set_method_memory (session, self->memory);
  g_debug ("Protocol: %s", pl_method_to_string (pl_settings_get_protocol (self->settings)));
  return session;
}

/* The engine leaves */

/* An engine that left the bus holds the lock until it has deleted its mappings and exited:
 * how long the tray waits for that before it says it cannot take over (a retry every half
 * second, where the engine's exit cannot be watched). */
#define TAKE_OVER_TRIES 40
#define TAKE_OVER_RETRY_MS 500

static void wait_for_engine_exit (PlApplication *self);


/* The menu shows each gateway's profiles from the session that maps them (Gateway=). */
static void
group_session_added_cb (PlSessionGroup *group,
                        PlSession      *session,
                        PlApplication  *self)
{
  if (group == self->group)
    pl_tray_menu_add_session (self->menu, session);
}

static void
follow_group (PlApplication *self)
{
  g_signal_connect_object (self->group, "session-added", G_CALLBACK (group_session_added_cb),
                           self, 0);
}

/* Hosting from now on: the engine this tray was the client of has gone, and no other took
 * its place. The session (made for the client, never started) is made anew over the
 * hosted broker's model, and the menu and notifier follow it instead of the engine. */
static void
become_host (PlApplication *self,
             PlEngineHost  *host)
{
  g_autoptr(PlSession) old = g_steal_pointer (&self->session);

  self->host = g_object_ref (host);
  pl_tray_menu_set_engine (self->menu, NULL);
  pl_notifier_set_engine (self->notifier, NULL);
  g_signal_handlers_disconnect_by_data (self->engine_objects, self);
  g_clear_object (&self->engine);
  g_clear_object (&self->engine_objects);
  g_clear_object (&self->engine_manager);
  self->engine_pid = 0;

  self->session = create_session (self);
  pl_tray_menu_set_session (self->menu, self->session);
  pl_notifier_set_session (self->notifier, self->session);
  /* Through a group, as at start: the Gateway= profiles on their own gateways. */
  g_clear_object (&self->group);
  self->group = pl_session_group_new (self->session);
  follow_group (self);
  pl_engine_host_set_group (self->host, self->group);
  pl_session_group_start (self->group);
  g_printerr ("portlight: %s. %s\n", _("Portlight’s engine stopped"),
              _("This tray keeps the ports open now."));
  pl_notifier_notify_error (self->notifier, _("Portlight’s engine stopped"),
                            _("This tray keeps the ports open now."));
  pl_tray_menu_update (self->menu);
  menu_changed_cb (self);
}

/* The engine left the bus and its process is gone (or cannot be watched): host it here,
 * unless another engine took the name meanwhile, which makes this tray its client again. */
static void
take_over (PlApplication *self)
{
  g_autoptr(PlEngineHost) host = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  guint holder = 0;

  if (self->quitting || self->engine == NULL || pl_engine_client_get_running (self->engine))
    return;
  host = pl_engine_host_new (G_LIST_MODEL (self->store));
  if (pl_engine_host_start (host, &holder, &error))
    {
      become_host (self, host);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    {
      g_debug ("Another engine (pid %u) took the name: its client", holder);
      return;   /* engine_owner_cb() subscribes to it */
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY) &&
      ++self->take_over_tries < TAKE_OVER_TRIES)
    {
      g_debug ("The engine lock is still held (pid %u): trying again", holder);
      wait_for_engine_exit (self);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY) && holder != 0)
    reason = g_strdup_printf (_("Another Portlight engine (pid %u) runs outside "
                                "this session: this tray opens no ports"), holder);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY))
    reason = g_strdup (_("Another Portlight engine runs outside this session: "
                         "this tray opens no ports"));
  else
    reason = g_strdup_printf (_("Portlight’s engine cannot start: %s"), error->message);
  g_printerr ("portlight: %s\n", reason);
  pl_notifier_notify_error (self->notifier, _("Portlight’s engine stopped"), reason);
}

static gboolean
engine_exited_cb (gint         fd,
                  GIOCondition condition,
                  gpointer     user_data)
{
  PlApplication *self = user_data;

  self->engine_exit_id = 0;
  g_debug ("The engine's process has exited");
  take_over (self);
  return G_SOURCE_REMOVE;
}

static gboolean
take_over_retry_cb (gpointer user_data)
{
  PlApplication *self = user_data;

  self->engine_exit_id = 0;
  take_over (self);
  return G_SOURCE_REMOVE;
}

static void
close_fd (gpointer data)
{
  close (GPOINTER_TO_INT (data));
}

/* The engine deletes its mappings after it has left the bus, and holds its lock until it
 * exits: the tray waits for its process to end (a pidfd, readable then) before mapping the
 * same ports, so that none of the old engine's deletes removes a mapping the tray just made. */
static void
wait_for_engine_exit (PlApplication *self)
{
  int fd = -1;

  g_clear_handle_id (&self->engine_exit_id, g_source_remove);
  if (self->engine_pid != 0 && self->take_over_tries == 0)
    fd = (int) syscall (SYS_pidfd_open, (pid_t) self->engine_pid, 0);
  if (fd >= 0)
    {
      self->engine_exit_id = g_unix_fd_add_full (G_PRIORITY_DEFAULT, fd, G_IO_IN,
                                                 engine_exited_cb, self, close_fd);
      return;
    }
  if (self->engine_pid != 0 && self->take_over_tries == 0 && errno == ESRCH)
    {
      self->engine_exit_id = g_idle_add (take_over_retry_cb, self);
      return;
    }
  self->engine_exit_id = g_timeout_add (TAKE_OVER_RETRY_MS, take_over_retry_cb, self);
}

/* The engine's name changed hands. Gone: the menu says "Portlight's engine stopped" (the
 * client sees no owner), and once its process has exited this tray takes over. Back (a
 * new `portlightctl run`, the unit restarted): the object manager already follows it; it
 * is subscribed to, so that it keeps watching the router for this tray. */
static void
engine_owner_cb (PlApplication *self)
{
  g_autofree char *owner = g_dbus_object_manager_client_get_name_owner (
    G_DBUS_OBJECT_MANAGER_CLIENT (self->engine_objects));

  if (self->quitting)
    return;
  if (owner == NULL)
    {
      g_printerr ("portlight: %s\n", _("Portlight’s engine stopped"));
      self->take_over_tries = 0;
      wait_for_engine_exit (self);
      return;
    }
  g_clear_handle_id (&self->engine_exit_id, g_source_remove);
  self->engine_pid = engine_pid (g_dbus_proxy_get_connection (G_DBUS_PROXY (self->engine_manager)));
  g_debug ("Client of the engine again (pid %u)", self->engine_pid);
  pl_broker_manager_call_subscribe (self->engine_manager, NULL, NULL, NULL);
}

static void
finish_quit (PlApplication *self)
{
  if (self->held)
    {
      self->held = FALSE;
      g_application_release (G_APPLICATION (self));
    }
  g_application_quit (G_APPLICATION (self));
}

static void
restart_stop_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(PlApplication) self = user_data;
  g_autoptr(PlSession) old = NULL;
  g_autoptr(PlSessionGroup) old_group = NULL;
  g_autoptr(GError) error = NULL;

  if (!pl_session_group_stop_finish (PL_SESSION_GROUP (source), result, &error))
    g_debug ("Stopping the session: %s", error->message);
  self->restarting = FALSE;

  if (self->quitting)
    {
      g_debug ("Session stopped");
      finish_quit (self);
      return;
    }
  if (self->session == NULL || self->menu == NULL)
    return;   /* shut down meanwhile */

  /* Made now, so that it speaks whatever was chosen last while the old one stopped. */
  old = g_steal_pointer (&self->session);
  old_group = g_steal_pointer (&self->group);
  self->session = create_session (self);
  self->group = pl_session_group_new (self->session);
  follow_group (self);
  if (self->host != NULL)
    pl_engine_host_set_group (self->host, self->group);
  pl_tray_menu_set_session (self->menu, self->session);
  pl_notifier_set_session (self->notifier, self->session);
  pl_session_group_start (self->group);
  g_debug ("Session restarted");
}

/* The protocol is chosen when a session is made, so a new one replaces it; the old one
 * closes its ports first, so that its deletes cannot remove what the new one maps. */
static void
restart_session (PlApplication *self)
{
  if (self->quitting || self->restarting)
    return;
  if (self->host == NULL)
    return;   /* the engine elsewhere speaks its own protocol setting */
  self->restarting = TRUE;
  g_debug ("Restarting the session: closing the ports to open them again");
  pl_session_group_stop_async (self->group, NULL, restart_stop_cb, g_object_ref (self));
}

static void
protocol_change_state_cb (GSimpleAction *action,
                          GVariant      *value,
                          gpointer       user_data)
{
  PlApplication *self = user_data;
  const char *text = g_variant_get_string (value, NULL);
  PlMethod protocol;

  if (!pl_method_from_string (text, &protocol))
    {
      g_debug ("Ignoring the unknown protocol %s", text);
      return;
    }
  g_simple_action_set_state (action, g_variant_new_string (pl_method_to_string (protocol)));
  if (protocol == pl_settings_get_protocol (self->settings))
    return;

  g_debug ("Protocol changed to %s", pl_method_to_string (protocol));
  pl_settings_set_protocol (self->settings, protocol);
  restart_session (self);
}

static void
stop_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(PlApplication) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!pl_session_group_stop_finish (PL_SESSION_GROUP (source), result, &error))
    g_debug ("Stopping the session: %s", error->message);
  else
    g_debug ("Session stopped");

  finish_quit (self);
}

static void
quit_cb (GSimpleAction *action,
         GVariant      *parameter,
         gpointer       user_data)
{
  PlApplication *self = user_data;
  GList *windows;

  if (self->quitting)
    return;
  self->quitting = TRUE;
  g_debug (self->host != NULL ? "Quitting: closing the ports"
                              : "Quitting: the engine keeps the ports");

  /* Nothing is left on screen while the mappings are being deleted (a bounded time). */
  g_clear_object (&self->tray);
  while ((windows = gtk_application_get_windows (GTK_APPLICATION (self))) != NULL)
    gtk_widget_destroy (windows->data);

  /* A restart is already closing the ports: it quits once they are closed. */
  if (self->restarting)
    return;
  if (self->host == NULL)
    {
      /* A client: the engine keeps its ports; leaving the bus ends our Subscribe(). */
      finish_quit (self);
      return;
    }
  pl_session_group_stop_async (self->group, NULL, stop_cb, g_object_ref (self));
}

static gboolean
unix_signal_cb (gpointer user_data)
{
  g_action_group_activate_action (G_ACTION_GROUP (user_data), "quit", NULL);
  return G_SOURCE_CONTINUE;
}

/* GApplication */

static gint
pl_application_handle_local_options (GApplication *application,
                                     GVariantDict *options_dict)
{
  PlApplication *self = PL_APPLICATION (application);
  const char *gateway = NULL;

  if (g_variant_dict_contains (options_dict, "version"))
    {
      g_print ("portlight %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }

  if (g_variant_dict_lookup (options_dict, "gateway", "&s", &gateway))
    {
      g_autoptr(GInetAddress) address = NULL;
      g_autoptr(GError) error = NULL;

      address = pl_gateway_parse_address (gateway, &error);
      if (address == NULL)
        {
          g_printerr (_("portlight: invalid gateway: %s\n"), error->message);
          return 2;
        }
      g_free (self->gateway_text);
      self->gateway_text = g_strdup (gateway);
    }

  /* Read here, before startup makes the tray (this is the primary instance then). */
  self->background = g_variant_dict_contains (options_dict, "background");
  if (g_variant_dict_lookup (options_dict, "tray-wait", "i", &self->tray_wait) &&
      self->tray_wait < 0)
    {
      g_printerr (_("portlight: --tray-wait takes a number of seconds, 0 or more\n"));
      return 2;
    }

  return -1;
}

static GInetAddress *
configured_gateway (PlApplication *self)
{
  const char *text = self->gateway_text;
  g_autoptr(GError) error = NULL;
  GInetAddress *address;

  if (text == NULL)
    text = pl_settings_get_gateway (self->settings);
  if (text == NULL)
    return NULL;

  address = pl_gateway_parse_address (text, &error);
  if (address == NULL)
    g_printerr (_("portlight: ignoring the gateway in %s: %s\n"),
                pl_settings_get_path (self->settings), error->message);
  return address;
}

static void
pl_application_startup (GApplication *application)
{
  PlApplication *self = PL_APPLICATION (application);
  g_autoptr(GError) error = NULL;
  /* Installed: the installed theme. From the build tree: the source tree's icons. */
  g_autofree char *icon_dir = pl_icon_path_get_default ();
  const GActionEntry entries[] = {
    { "copy-address", copy_address_cb, NULL, NULL, NULL },
    { "copy-text", copy_text_cb, "s", NULL, NULL },
    { "republish", republish_cb, NULL, NULL, NULL },
    { "toggle-profile", toggle_profile_cb, "s", NULL, NULL },
    { "add-profile", add_profile_cb, NULL, NULL, NULL },
    { "edit-profiles", edit_profiles_cb, NULL, NULL, NULL },
    { "router-table", router_table_cb, NULL, NULL, NULL },
    { "autostart", NULL, NULL, "false", autostart_change_state_cb },
    { "notifications", NULL, NULL, "true", notifications_change_state_cb },
    { "protocol", NULL, NULL, "'auto'", protocol_change_state_cb },
    { "quit", quit_cb, NULL, NULL, NULL },
  };
  const char *protocol;
  GAction *action;

  G_APPLICATION_CLASS (pl_application_parent_class)->startup (application);

  gtk_window_set_default_icon_name (APP_ID);
  /* (pl_tray_new() adds icon_dir to the icon theme's search path, for the window too.) */
  if (icon_dir != NULL)
    g_debug ("Icons from %s", icon_dir);

  self->settings = pl_settings_new (NULL);

  self->store = pl_profile_store_new (NULL);
  if (!pl_profile_store_load (self->store, NULL, &error))
    g_printerr ("portlight: %s\n", error->message);
  pl_profile_store_set_watching (self->store, TRUE);

  /* Loaded once: each session made (see create_session) keeps it up to date. */
  {
    g_autoptr(PlPcpState) journal = pl_pcp_state_new (NULL);
    g_autoptr(GError) journal_error = NULL;

    if (pl_pcp_state_load (journal, &journal_error))
      self->journal = g_steal_pointer (&journal);
    else
      g_printerr ("portlight: %s\n", journal_error->message);
  }
  {
    g_autoptr(PlMethodMemory) memory = pl_method_memory_new (NULL);
    g_autoptr(GError) memory_error = NULL;

    if (pl_method_memory_load (memory, &memory_error))
      self->memory = g_steal_pointer (&memory);
    else
      g_printerr ("portlight: %s\n", memory_error->message);
  }
  choose_engine (self);
  self->session = create_session (self);
  /* Gateway=: the profiles that name a gateway of their own are mapped there, each gateway
   * by a session of the group; the menu shows the default route's. */
  self->group = pl_session_group_new (self->session);
  follow_group (self);
  if (self->host != NULL)
    pl_engine_host_set_group (self->host, self->group);

  g_action_map_add_action_entries (G_ACTION_MAP (self), entries, G_N_ELEMENTS (entries), self);
  action = g_action_map_lookup_action (G_ACTION_MAP (self), "autostart");
  g_simple_action_set_state (G_SIMPLE_ACTION (action),
                             g_variant_new_boolean (pl_autostart_is_enabled ()));
  action = g_action_map_lookup_action (G_ACTION_MAP (self), "notifications");
  g_simple_action_set_state (G_SIMPLE_ACTION (action),
                             g_variant_new_boolean (pl_settings_get_notifications (self->settings)));
  action = g_action_map_lookup_action (G_ACTION_MAP (self), "protocol");
  protocol = pl_method_to_string (pl_settings_get_protocol (self->settings));
  g_simple_action_set_state (G_SIMPLE_ACTION (action), g_variant_new_string (protocol));

  self->notifier = pl_notifier_new (application, self->session, self->store);
  pl_notifier_set_enabled (self->notifier, pl_settings_get_notifications (self->settings));

  self->menu = pl_tray_menu_new (self->session, self->store);
  pl_tray_menu_set_autostart (self->menu, pl_autostart_is_enabled ());
  pl_tray_menu_set_notifications (self->menu, pl_settings_get_notifications (self->settings));
  pl_tray_menu_set_listen_check (self->menu, TRUE);
  pl_tray_menu_set_engine_note (self->menu, self->engine_note);
  pl_tray_menu_set_engine (self->menu, self->engine);
  pl_notifier_set_engine (self->notifier, self->engine);
  if (self->engine_objects != NULL)
    g_signal_connect_swapped (self->engine_objects, "notify::name-owner",
                              G_CALLBACK (engine_owner_cb), self);
  g_signal_connect_object (self->menu, "changed", G_CALLBACK (menu_changed_cb), self,
                           G_CONNECT_SWAPPED);

  self->tray = pl_tray_new (G_ACTION_GROUP (self), icon_dir);
  g_signal_connect_object (self->tray, "notify::availability", G_CALLBACK (availability_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->tray, "menu-opening", G_CALLBACK (menu_opening_cb), self,
                           G_CONNECT_SWAPPED);
  /* Started in the background (at login), the panel may not be up yet: give it time
   * before the window stands in for the icon. Started by hand, the window opens anyway.
   * A panel that restarts gets as long to come back. */
  pl_tray_set_restart_grace (self->tray, (guint) self->tray_wait);
  if (self->background)
    pl_tray_wait (self->tray, (guint) self->tray_wait);

  arm_autostart_monitor (self);

  self->sigterm_id = g_unix_signal_add (SIGTERM, unix_signal_cb, self);
  self->sigint_id = g_unix_signal_add (SIGINT, unix_signal_cb, self);

  if (self->host != NULL)
    pl_session_group_start (self->group);
  pl_tray_menu_update (self->menu);
  menu_changed_cb (self);

  /* No window needed to keep running: the tray is the interface. */
  g_application_hold (application);
  self->held = TRUE;
}

static int
pl_application_command_line (GApplication            *application,
                             GApplicationCommandLine *command_line)
{
  PlApplication *self = PL_APPLICATION (application);
  GVariantDict *options_dict = g_application_command_line_get_options_dict (command_line);
  const char *gateway = NULL;

  if (g_application_command_line_get_is_remote (command_line) &&
      g_variant_dict_lookup (options_dict, "gateway", "&s", &gateway))
    {
      g_autoptr(GInetAddress) address = pl_gateway_parse_address (gateway, NULL);

      if (address != NULL && self->host != NULL)
        {
          /* Kept for a session made later (a protocol change). */
          g_free (self->gateway_text);
          self->gateway_text = g_strdup (gateway);
          pl_session_set_gateway (self->session, address);
        }
    }

  if (!g_variant_dict_contains (options_dict, "background"))
    g_application_activate (application);
  return EXIT_SUCCESS;
}

static void
pl_application_activate (GApplication *application)
{
  present_window (PL_APPLICATION (application));
}

static void
pl_application_shutdown (GApplication *application)
{
  PlApplication *self = PL_APPLICATION (application);

  g_clear_handle_id (&self->engine_exit_id, g_source_remove);
  if (self->engine_objects != NULL)
    g_signal_handlers_disconnect_by_data (self->engine_objects, self);
  g_clear_handle_id (&self->sigterm_id, g_source_remove);
  g_clear_handle_id (&self->sigint_id, g_source_remove);
  g_clear_object (&self->autostart_monitor);
  g_clear_object (&self->tray);
  g_clear_object (&self->notifier);
  g_clear_object (&self->menu);
  g_clear_object (&self->host);   /* ends the leases; the session stopped at quit */
  g_clear_object (&self->group);
  g_clear_object (&self->session);
  g_clear_object (&self->engine);
  g_clear_object (&self->engine_objects);
  g_clear_object (&self->engine_manager);
  g_clear_pointer (&self->engine_note, g_free);
  g_clear_object (&self->journal);
  g_clear_object (&self->memory);
  g_clear_object (&self->store);
  g_clear_object (&self->settings);

  G_APPLICATION_CLASS (pl_application_parent_class)->shutdown (application);
}

static void
pl_application_finalize (GObject *object)
{
  PlApplication *self = PL_APPLICATION (object);

  g_clear_weak_pointer (&self->window);
  g_free (self->gateway_text);

  G_OBJECT_CLASS (pl_application_parent_class)->finalize (object);
}

static void
pl_application_class_init (PlApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *application_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = pl_application_finalize;

  application_class->handle_local_options = pl_application_handle_local_options;
  application_class->startup = pl_application_startup;
  application_class->command_line = pl_application_command_line;
  application_class->activate = pl_application_activate;
  application_class->shutdown = pl_application_shutdown;
}

static void
pl_application_init (PlApplication *self)
{
  self->last_state = (PlTrayState) -1;
  self->tray_wait = DEFAULT_TRAY_WAIT_SECONDS;
  g_application_add_main_option_entries (G_APPLICATION (self), options);
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            _("Keep ports open on your router from the tray."));
}

PlApplication *
pl_application_new (void)
{
  return g_object_new (PL_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_HANDLES_COMMAND_LINE,
                       NULL);
}
