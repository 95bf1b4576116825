/* pl-tray.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <gtk/gtk.h>
#ifdef GDK_WINDOWING_X11
#include <gdk/gdkx.h>
#endif

/* The only file that knows about libayatana-appindicator. Newer releases deprecate the
 * constructors in favour of a GMenu-only library that panels cannot show menus of yet. */
#include <libayatana-appindicator/app-indicator.h>
/* Its menu server: AboutToShow and the "opened" event tell when a panel opens the menu. */
#include <libdbusmenu-glib/menuitem.h>
#include <libdbusmenu-glib/server.h>

#include "pl-tray-menu.h"
#include "pl-tray.h"

#define WATCHER_NAME  "org.kde.StatusNotifierWatcher"
#define WATCHER_PATH  "/StatusNotifierWatcher"
#define WATCHER_IFACE "org.kde.StatusNotifierWatcher"

struct _PlTray
{
  GObject             parent_instance;

  GActionGroup       *actions;
  AppIndicator       *indicator;
  GtkWidget          *menu;
  GPtrArray          *items;        /* PlTrayItem*, what the widgets show */
  GPtrArray          *widgets;      /* GtkWidget*, one per item */
  gboolean            updating;

  PlTrayAvailability  availability;
  char               *reason;
  guint               watch_id;
  gboolean            watcher_present;
  gboolean            host_registered;
  gboolean            connected;
  GDBusConnection    *bus;
  guint               host_signal_id;
  GCancellable       *cancellable;
  guint               grace_id;       /* no tray, but one may come: not unavailable yet */
  guint               restart_grace;  /* seconds */
  gboolean            root_filter;    /* watching for XEmbed trays that start */
  DbusmenuMenuitem   *menu_root;      /* the exported menu's root, watched for opening */
};

/* A panel that restarts (`xfce4-panel -r`, plasmashell) drops the watcher for a few seconds
 * (xfce4-panel 4.18 takes 5 s without a window manager): that long, the icon is not gone. */
#define DEFAULT_RESTART_GRACE_SECONDS 15

G_DEFINE_FINAL_TYPE (PlTray, pl_tray, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_AVAILABILITY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_MENU_OPENING,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Availability */

static gboolean
xembed_tray_present (void)
{
#ifdef GDK_WINDOWING_X11
  GdkDisplay *display = gdk_display_get_default ();

  if (display != NULL && GDK_IS_X11_DISPLAY (display))
    {
      GdkScreen *screen = gdk_display_get_default_screen (display);
      g_autofree char *selection = NULL;
      Atom atom;

      G_GNUC_BEGIN_IGNORE_DEPRECATIONS
      selection = g_strdup_printf ("_NET_SYSTEM_TRAY_S%d", gdk_x11_screen_get_screen_number (screen));
      G_GNUC_END_IGNORE_DEPRECATIONS
      atom = gdk_x11_get_xatom_by_name_for_display (display, selection);
      return XGetSelectionOwner (GDK_DISPLAY_XDISPLAY (display), atom) != None;
    }
#endif
  return FALSE;
}

static void
set_availability (PlTray             *self,
                  PlTrayAvailability  availability,
                  const char         *reason)
{
  g_free (self->reason);
  self->reason = g_strdup (reason);

  if (self->availability == availability)
    return;
  self->availability = availability;
  g_debug ("Tray %s%s%s", availability == PL_TRAY_AVAILABILITY_AVAILABLE ? "available" : "unavailable",
           reason != NULL ? ": " : "", reason != NULL ? reason : "");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AVAILABILITY]);
}

static gboolean
tray_shown (PlTray *self)
{
  return self->connected || (self->watcher_present && self->host_registered) ||
         xembed_tray_present ();
}

static void
set_unavailable (PlTray *self)
{
  if (self->watcher_present)
    set_availability (self, PL_TRAY_AVAILABILITY_UNAVAILABLE,
                      _("A StatusNotifierWatcher runs, but no panel shows status icons."));
  else
    set_availability (self, PL_TRAY_AVAILABILITY_UNAVAILABLE,
                      _("No system tray was found: nothing on the session bus shows status "
                        "icons (on GNOME, the AppIndicator extension does), and there is no "
                        "XEmbed tray."));
}

static gboolean
grace_cb (gpointer user_data)
{
  PlTray *self = user_data;

  self->grace_id = 0;
  if (tray_shown (self))
    set_availability (self, PL_TRAY_AVAILABILITY_AVAILABLE, NULL);
  else
    {
      g_debug ("Still no tray: giving up waiting");
      set_unavailable (self);
    }
  return G_SOURCE_REMOVE;
}

static void
start_grace (PlTray *self,
             guint   seconds)
{
  g_clear_handle_id (&self->grace_id, g_source_remove);
  self->grace_id = g_timeout_add_seconds (seconds, grace_cb, self);
  g_source_set_name_by_id (self->grace_id, "[portlight] waiting for a tray");
}

/* Unavailable only once no tray came within the grace: at login (pl_tray_wait()) and when
 * a panel that showed the icon goes away, it may be back in a moment. */
static void
evaluate (PlTray *self)
{
  if (tray_shown (self))
    {
      if (self->grace_id != 0)
        g_debug ("A tray is here: no more waiting");
      g_clear_handle_id (&self->grace_id, g_source_remove);
      set_availability (self, PL_TRAY_AVAILABILITY_AVAILABLE, NULL);
    }
  else if (self->grace_id != 0)
    return;
  else if (self->availability == PL_TRAY_AVAILABILITY_AVAILABLE)
    {
      if (self->restart_grace > 0)
        {
          g_debug ("The tray went away: waiting up to %u s for it to come back",
                   self->restart_grace);
          start_grace (self, self->restart_grace);
        }
      else
        set_unavailable (self);
    }
  else
    set_unavailable (self);
}

#ifdef GDK_WINDOWING_X11
/* An XEmbed tray that starts announces itself to the root window (a MANAGER client message,
 * System Tray Protocol). */
static GdkFilterReturn
root_filter_cb (GdkXEvent *xevent,
                GdkEvent  *event,
                gpointer   user_data)
{
  PlTray *self = user_data;
  XEvent *x = xevent;

  if (x->type == ClientMessage &&
      x->xclient.message_type == gdk_x11_get_xatom_by_name_for_display (gdk_display_get_default (),
                                                                        "MANAGER"))
    {
      g_debug ("An XEmbed tray started");
      evaluate (self);
    }
  return GDK_FILTER_CONTINUE;
}
#endif

static void
watch_xembed_trays (PlTray *self)
{
#ifdef GDK_WINDOWING_X11
  GdkDisplay *display = gdk_display_get_default ();

  if (display != NULL && GDK_IS_X11_DISPLAY (display))
    {
      GdkWindow *root = gdk_get_default_root_window ();

      gdk_window_set_events (root, gdk_window_get_events (root) | GDK_STRUCTURE_MASK);
      gdk_window_add_filter (root, root_filter_cb, self);
      self->root_filter = TRUE;
    }
#endif
}

void
pl_tray_set_restart_grace (PlTray *self,
                           guint   seconds)
{
  g_return_if_fail (PL_IS_TRAY (self));

  self->restart_grace = seconds;
}

void
pl_tray_wait (PlTray *self,
              guint   seconds)
{
  g_return_if_fail (PL_IS_TRAY (self));

  if (seconds == 0 || self->availability == PL_TRAY_AVAILABILITY_AVAILABLE)
    return;
  g_debug ("Waiting up to %u s for a tray", seconds);
  start_grace (self, seconds);
}

static void
host_registered_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  PlTray *self = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (reply == NULL)
    {
      /* A minimal watcher without the property: trust it. */
      g_debug ("IsStatusNotifierHostRegistered: %s", error->message);
      self->host_registered = TRUE;
    }
  else
    {
      g_variant_get (reply, "(v)", &value);
      self->host_registered = !g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN)
                              || g_variant_get_boolean (value);
    }
  evaluate (self);
}

static void
query_host (PlTray *self)
{
  if (self->bus == NULL)
    return;
  g_dbus_connection_call (self->bus, WATCHER_NAME, WATCHER_PATH,
                          "org.freedesktop.DBus.Properties", "Get",
                          g_variant_new ("(ss)", WATCHER_IFACE, "IsStatusNotifierHostRegistered"),
                          G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, 2000,
                          self->cancellable, host_registered_cb, self);
}

static void
host_signal_cb (GDBusConnection *connection,
                const char      *sender,
                const char      *path,
                const char      *iface,
                const char      *signal,
                GVariant        *parameters,
                gpointer         user_data)
{
  query_host (user_data);
}

static void
watcher_appeared_cb (GDBusConnection *connection,
                     const char      *name,
                     const char      *owner,
                     gpointer         user_data)
{
  PlTray *self = user_data;

  g_set_object (&self->bus, connection);
  if (self->host_signal_id == 0)
    self->host_signal_id =
      g_dbus_connection_signal_subscribe (connection, WATCHER_NAME, WATCHER_IFACE,
                                          NULL, WATCHER_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                          host_signal_cb, self, NULL);
  self->watcher_present = TRUE;
  query_host (self);
}

static void
watcher_vanished_cb (GDBusConnection *connection,
                     const char      *name,
                     gpointer         user_data)
{
  PlTray *self = user_data;

  self->watcher_present = FALSE;
  self->host_registered = FALSE;
  evaluate (self);
}

static void
connection_changed_cb (AppIndicator *indicator,
                       gboolean      connected,
                       PlTray       *self)
{
  g_debug ("StatusNotifierItem connected=%d", connected);
  self->connected = connected;
  evaluate (self);
}

/* The menu */

static void
item_activate_cb (GtkMenuItem *widget,
                  PlTray      *self)
{
  guint index = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (widget), "pl-index"));
  PlTrayItem *item;

  if (self->updating || self->items == NULL || index >= self->items->len)
    return;

  item = g_ptr_array_index (self->items, index);
  if (item->action == NULL)
    return;
  g_debug ("Menu: %s", item->id);
  g_action_group_activate_action (self->actions, item->action, item->target);
}

static GtkWidget *
create_widget (PlTray     *self,
               PlTrayItem *item,
               guint       index)
{
  GtkWidget *widget;

  switch (item->kind)
    {
    case PL_TRAY_ITEM_SEPARATOR:
      widget = gtk_separator_menu_item_new ();
      break;
    case PL_TRAY_ITEM_CHECK:
      widget = gtk_check_menu_item_new_with_label (item->label);
      gtk_check_menu_item_set_active (GTK_CHECK_MENU_ITEM (widget), item->active);
      break;
    case PL_TRAY_ITEM_LABEL:
      widget = gtk_menu_item_new_with_label (item->label);
      gtk_widget_set_sensitive (widget, FALSE);
      break;
    case PL_TRAY_ITEM_ACTION:
      widget = gtk_menu_item_new_with_label (item->label);
      break;
    default:
      g_return_val_if_reached (NULL);
    }

  g_object_set_data (G_OBJECT (widget), "pl-index", GUINT_TO_POINTER (index));
  if (item->kind != PL_TRAY_ITEM_SEPARATOR && item->kind != PL_TRAY_ITEM_LABEL)
    g_signal_connect (widget, "activate", G_CALLBACK (item_activate_cb), self);
  gtk_widget_show (widget);
  return widget;
}

/* The menu is about to be shown: a panel asked for it over dbusmenu (AboutToShow, or the
 * "opened" event some send instead), or the XEmbed fallback pops the GtkMenu up. */
static gboolean
menu_root_about_to_show_cb (DbusmenuMenuitem *root,
                            PlTray           *self)
{
  g_signal_emit (self, signals[SIGNAL_MENU_OPENING], 0);
  return FALSE;
}

static gboolean
menu_root_event_cb (DbusmenuMenuitem *root,
                    const char       *name,
                    GVariant         *value,
                    guint             timestamp,
                    PlTray           *self)
{
  if (g_strcmp0 (name, DBUSMENU_MENUITEM_EVENT_OPENED) == 0)
    g_signal_emit (self, signals[SIGNAL_MENU_OPENING], 0);
  return FALSE;   /* let the menu handle it as usual */
}

static void
menu_show_cb (GtkWidget *menu,
              PlTray    *self)
{
  g_signal_emit (self, signals[SIGNAL_MENU_OPENING], 0);
}

static void
watch_menu_root (PlTray *self)
{
  /* (libdbusmenu-glib defines no autoptr cleanups.) */
  g_autoptr(GObject) server = NULL;
  g_autoptr(GObject) root_object = NULL;
  DbusmenuMenuitem *root;

  g_object_get (self->indicator, "dbus-menu-server", &server, NULL);
  if (server != NULL)
    g_object_get (server, DBUSMENU_SERVER_PROP_ROOT_NODE, &root_object, NULL);
  root = (DbusmenuMenuitem *) root_object;
  if (root == self->menu_root)
    return;
  if (self->menu_root != NULL)
    g_signal_handlers_disconnect_by_data (self->menu_root, self);
  g_set_object (&self->menu_root, root);
  if (root == NULL)
    return;
  g_signal_connect (root, DBUSMENU_MENUITEM_SIGNAL_ABOUT_TO_SHOW,
                    G_CALLBACK (menu_root_about_to_show_cb), self);
  g_signal_connect (root, DBUSMENU_MENUITEM_SIGNAL_EVENT, G_CALLBACK (menu_root_event_cb),
                    self);
}

/* "id#n" for the n-th item with that id (separators share one). */
static char *
item_key (GHashTable *seen,
          PlTrayItem *item)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (seen, item->id));

  g_hash_table_replace (seen, item->id, GUINT_TO_POINTER (n + 1));
  return g_strdup_printf ("%s#%u#%d", item->id, n, item->kind);
}

static void
update_widget (GtkWidget  *widget,
               PlTrayItem *item)
{
  if (item->kind == PL_TRAY_ITEM_SEPARATOR)
    return;
  if (g_strcmp0 (gtk_menu_item_get_label (GTK_MENU_ITEM (widget)), item->label) != 0)
    gtk_menu_item_set_label (GTK_MENU_ITEM (widget), item->label);
  if (item->kind == PL_TRAY_ITEM_CHECK &&
      gtk_check_menu_item_get_active (GTK_CHECK_MENU_ITEM (widget)) != item->active)
    gtk_check_menu_item_set_active (GTK_CHECK_MENU_ITEM (widget), item->active);
}

/* Lines that stay keep their widget (and so their dbusmenu id): an open menu does not jump
 * and panels get property updates rather than a new layout. libdbusmenu-gtk places an
 * exported item where its widget is inserted and never hears of gtk_menu_reorder_child():
 * so the widgets that go are destroyed first, each new one is inserted at its final place,
 * and a line that would have to move is made anew rather than moved. */
void
pl_tray_set_menu (PlTray    *self,
                  GPtrArray *items)
{
  g_autoptr(GHashTable) old = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) wanted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) widgets = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key, value;

  g_return_if_fail (PL_IS_TRAY (self));
  g_return_if_fail (items != NULL);

  self->updating = TRUE;

  for (guint i = 0; self->items != NULL && i < self->items->len; i++)
    g_hash_table_insert (old, item_key (seen, g_ptr_array_index (self->items, i)),
                         g_ptr_array_index (self->widgets, i));
  g_hash_table_remove_all (seen);
  for (guint i = 0; i < items->len; i++)
    g_hash_table_add (wanted, item_key (seen, g_ptr_array_index (items, i)));
  g_hash_table_remove_all (seen);

  /* The lines that go, first. */
  g_hash_table_iter_init (&iter, old);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!g_hash_table_contains (wanted, key))
      {
        gtk_widget_destroy (value);
        g_hash_table_iter_remove (&iter);
      }

  /* In order: items 0..i-1 are in place; from i on, the kept widgets in their old order. */
  for (guint i = 0; i < items->len; i++)
    {
      PlTrayItem *item = g_ptr_array_index (items, i);
      g_autofree char *item_key_text = item_key (seen, item);
      GtkWidget *widget = NULL;
      gpointer old_key = NULL;

      if (g_hash_table_steal_extended (old, item_key_text, &old_key, &value))
        {
          g_autoptr(GList) children = gtk_container_get_children (GTK_CONTAINER (self->menu));

          g_free (old_key);
          widget = value;
          if (g_list_nth_data (children, i) == widget)
            {
              update_widget (widget, item);
              g_object_set_data (G_OBJECT (widget), "pl-index", GUINT_TO_POINTER (i));
            }
          else
            {
              gtk_widget_destroy (widget);   /* it moved: made anew in its place */
              widget = NULL;
            }
        }
      if (widget == NULL)
        {
          widget = create_widget (self, item, i);
          gtk_menu_shell_insert (GTK_MENU_SHELL (self->menu), widget, (gint) i);
        }
      g_ptr_array_add (widgets, widget);
    }

  g_ptr_array_set_size (self->widgets, 0);
  g_ptr_array_extend (self->widgets, widgets, NULL, NULL);
  g_clear_pointer (&self->items, g_ptr_array_unref);
  self->items = g_ptr_array_ref (items);
  self->updating = FALSE;
}

void
pl_tray_set_state (PlTray     *self,
                   const char *icon_name,
                   const char *description)
{
  g_return_if_fail (PL_IS_TRAY (self));
  g_return_if_fail (icon_name != NULL);

  if (g_strcmp0 (app_indicator_get_icon (self->indicator), icon_name) == 0 &&
      g_strcmp0 (app_indicator_get_icon_desc (self->indicator), description) == 0)
    return;
  app_indicator_set_icon_full (self->indicator, icon_name, description);
}

PlTrayAvailability
pl_tray_get_availability (PlTray *self)
{
  g_return_val_if_fail (PL_IS_TRAY (self), PL_TRAY_AVAILABILITY_UNKNOWN);
  return self->availability;
}

const char *
pl_tray_get_unavailable_reason (PlTray *self)
{
  g_return_val_if_fail (PL_IS_TRAY (self), NULL);
  return self->availability == PL_TRAY_AVAILABILITY_UNAVAILABLE ? self->reason : NULL;
}

PlTray *
pl_tray_new (GActionGroup *actions,
             const char   *icon_theme_path)
{
  PlTray *self;

  g_return_val_if_fail (G_IS_ACTION_GROUP (actions), NULL);

  self = g_object_new (PL_TYPE_TRAY, NULL);
  self->actions = g_object_ref (actions);
  self->menu = g_object_ref_sink (gtk_menu_new ());

  /* The icon name is never a file name in the working directory, which the fallback would
   * load instead (libayatana-appindicator tests for such a file first; meson runs the tests
   * in the build directory, next to the binary). */
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  if (icon_theme_path != NULL)
    self->indicator = app_indicator_new_with_path ("portlight",
                                                   pl_tray_state_get_icon_name (PL_TRAY_STATE_BUSY),
                                                   APP_INDICATOR_CATEGORY_APPLICATION_STATUS,
                                                   icon_theme_path);
  else
    self->indicator = app_indicator_new ("portlight",
                                         pl_tray_state_get_icon_name (PL_TRAY_STATE_BUSY),
                                         APP_INDICATOR_CATEGORY_APPLICATION_STATUS);
  G_GNUC_END_IGNORE_DEPRECATIONS

  if (icon_theme_path != NULL)
    gtk_icon_theme_append_search_path (gtk_icon_theme_get_default (), icon_theme_path);

  g_signal_connect (self->indicator, APP_INDICATOR_SIGNAL_CONNECTION_CHANGED,
                    G_CALLBACK (connection_changed_cb), self);
  app_indicator_set_title (self->indicator, "Portlight");
  app_indicator_set_icon_full (self->indicator, pl_tray_state_get_icon_name (PL_TRAY_STATE_BUSY),
                               _("Contacting the router…"));
  app_indicator_set_menu (self->indicator, GTK_MENU (self->menu));
  watch_menu_root (self);
  {
    g_autoptr(GObject) server = NULL;

    /* Should the library export a new root one day, the new one is watched. */
    g_object_get (self->indicator, "dbus-menu-server", &server, NULL);
    if (server != NULL)
      g_signal_connect_object (server, "notify::" DBUSMENU_SERVER_PROP_ROOT_NODE,
                               G_CALLBACK (watch_menu_root), self, G_CONNECT_SWAPPED);
  }
  g_signal_connect (self->menu, "show", G_CALLBACK (menu_show_cb), self);
  app_indicator_set_status (self->indicator, APP_INDICATOR_STATUS_ACTIVE);

  watch_xembed_trays (self);
  self->watch_id = g_bus_watch_name (G_BUS_TYPE_SESSION, WATCHER_NAME,
                                     G_BUS_NAME_WATCHER_FLAGS_NONE,
                                     watcher_appeared_cb, watcher_vanished_cb, self, NULL);
  return self;
}

static void
pl_tray_dispose (GObject *object)
{
  PlTray *self = PL_TRAY (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->watch_id, g_bus_unwatch_name);
  g_clear_handle_id (&self->grace_id, g_source_remove);
#ifdef GDK_WINDOWING_X11
  if (self->root_filter)
    gdk_window_remove_filter (gdk_get_default_root_window (), root_filter_cb, self);
  self->root_filter = FALSE;
#endif
  if (self->host_signal_id != 0)
    g_dbus_connection_signal_unsubscribe (self->bus, self->host_signal_id);
  self->host_signal_id = 0;
  if (self->indicator != NULL)
    {
      g_autoptr(GDBusConnection) session_bus = NULL;

      g_signal_handlers_disconnect_by_data (self->indicator, self);
      /* Hide the icon at once (quitting takes up to the session's stop timeout), unless the
       * bus is gone already (logout): then there is nobody to tell. */
      session_bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
      if (session_bus != NULL && !g_dbus_connection_is_closed (session_bus))
        app_indicator_set_status (self->indicator, APP_INDICATOR_STATUS_PASSIVE);
    }
  if (self->menu_root != NULL)
    g_signal_handlers_disconnect_by_data (self->menu_root, self);
  g_clear_object (&self->menu_root);
  g_clear_object (&self->indicator);
  g_clear_object (&self->bus);
  if (self->menu != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->menu, self);
      gtk_widget_destroy (self->menu);
    }
  g_clear_object (&self->menu);
  g_clear_object (&self->actions);

  G_OBJECT_CLASS (pl_tray_parent_class)->dispose (object);
}

static void
pl_tray_finalize (GObject *object)
{
  PlTray *self = PL_TRAY (object);

  g_clear_pointer (&self->items, g_ptr_array_unref);
  g_ptr_array_unref (self->widgets);
  g_clear_object (&self->cancellable);
  g_free (self->reason);

  G_OBJECT_CLASS (pl_tray_parent_class)->finalize (object);
}

static void
pl_tray_get_property (GObject    *object,
                      guint       prop_id,
                      GValue     *value,
                      GParamSpec *pspec)
{
  PlTray *self = PL_TRAY (object);

  switch (prop_id)
    {
    case PROP_AVAILABILITY:
      g_value_set_int (value, self->availability);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pl_tray_class_init (PlTrayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_tray_dispose;
  object_class->finalize = pl_tray_finalize;
  object_class->get_property = pl_tray_get_property;

  /**
   * PlTray:availability:
   *
   * A PlTrayAvailability: whether anything shows the icon.
   */
  properties[PROP_AVAILABILITY] =
    g_param_spec_int ("availability", NULL, NULL,
                      PL_TRAY_AVAILABILITY_UNKNOWN, PL_TRAY_AVAILABILITY_UNAVAILABLE,
                      PL_TRAY_AVAILABILITY_UNKNOWN,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PlTray::menu-opening:
   *
   * The menu is about to be shown (the panel asked for it, or the fallback icon was
   * clicked): the time to check what the lines say, rather than on a timer.
   */
  signals[SIGNAL_MENU_OPENING] =
    g_signal_new ("menu-opening",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
pl_tray_init (PlTray *self)
{
  self->widgets = g_ptr_array_new ();
  self->cancellable = g_cancellable_new ();
  self->availability = PL_TRAY_AVAILABILITY_UNKNOWN;
  self->restart_grace = DEFAULT_RESTART_GRACE_SECONDS;
}
