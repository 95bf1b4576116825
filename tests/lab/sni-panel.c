/* sni-panel.c: the lab's panel, a StatusNotifierWatcher and a reader of an item's menu
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

/* What a desktop panel does with a tray item, on the session bus of $DBUS_SESSION_BUS_ADDRESS,
 * for the lab's tray scenario (tests/lab/scenarios-broker.sh):
 *
 *   sni-panel watch
 *       owns org.kde.StatusNotifierWatcher and answers RegisterStatusNotifierItem; prints
 *       "watching" once it owns the name, then "item SENDER PATH" for each item that
 *       registers, until it is killed
 *   sni-panel menu SENDER PATH
 *       prints the top level of the item's menu (com.canonical.dbusmenu), one line per entry:
 *       "label", "-" for a separator, "[x] label"/"[ ] label" for a check item, "(label)" for
 *       an insensitive one
 *   sni-panel click SENDER PATH PREFIX
 *       clicks the first entry whose label starts with PREFIX, as a panel does
 *
 * Exit 0 on success, 1 when the bus or the item fails (the message on stderr) or no entry
 * matches, 2 for bad arguments. */

#include <locale.h>
#include <stdio.h>

#include <gio/gio.h>
#include <glib-unix.h>

#define WATCHER_NAME   "org.kde.StatusNotifierWatcher"
#define WATCHER_PATH   "/StatusNotifierWatcher"
#define SNI_IFACE      "org.kde.StatusNotifierItem"
#define DBUSMENU_IFACE "com.canonical.dbusmenu"
#define CALL_TIMEOUT_MS 5000

static const char watcher_xml[] =
  "<node>"
  "  <interface name='" WATCHER_NAME "'>"
  "    <method name='RegisterStatusNotifierItem'><arg type='s' direction='in'/></method>"
  "    <method name='RegisterStatusNotifierHost'><arg type='s' direction='in'/></method>"
  "    <property name='IsStatusNotifierHostRegistered' type='b' access='read'/>"
  "    <property name='ProtocolVersion' type='i' access='read'/>"
  "  </interface>"
  "</node>";

/* watch */

static void
watcher_call (GDBusConnection       *connection,
              const char            *sender,
              const char            *object_path,
              const char            *interface_name,
              const char            *method_name,
              GVariant              *parameters,
              GDBusMethodInvocation *invocation,
              gpointer               user_data)
{
  if (g_strcmp0 (method_name, "RegisterStatusNotifierItem") == 0)
    {
      const char *item;

      g_variant_get (parameters, "(&s)", &item);
      /* The argument is the item's object path; its bus name is the caller. */
      printf ("item %s %s\n", sender, item[0] == '/' ? item : "/StatusNotifierItem");
      fflush (stdout);
    }
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static GVariant *
watcher_get_property (GDBusConnection  *connection,
                      const char       *sender,
                      const char       *object_path,
                      const char       *interface_name,
                      const char       *property_name,
                      GError          **error,
                      gpointer          user_data)
{
  if (g_strcmp0 (property_name, "ProtocolVersion") == 0)
    return g_variant_new_int32 (0);
  return g_variant_new_boolean (TRUE);
}

static void
name_acquired_cb (GDBusConnection *connection,
                  const char      *name,
                  gpointer         user_data)
{
  printf ("watching\n");
  fflush (stdout);
}

static void
name_lost_cb (GDBusConnection *connection,
              const char      *name,
              gpointer         user_data)
{
  g_printerr ("sni-panel: could not own %s\n", name);
  g_main_loop_quit (user_data);
}

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static int
watch (GDBusConnection *bus)
{
  static const GDBusInterfaceVTable vtable = { watcher_call, watcher_get_property, NULL, { 0 } };
  g_autoptr(GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (watcher_xml, NULL);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GError) error = NULL;
  guint owner_id;

  if (g_dbus_connection_register_object (bus, WATCHER_PATH, info->interfaces[0], &vtable, NULL,
                                         NULL, &error) == 0)
    {
      g_printerr ("sni-panel: %s\n", error->message);
      return 1;
    }
  owner_id = g_bus_own_name_on_connection (bus, WATCHER_NAME, G_BUS_NAME_OWNER_FLAGS_NONE,
                                           name_acquired_cb, name_lost_cb, loop, NULL);
  g_unix_signal_add (SIGTERM, quit_cb, loop);
  g_unix_signal_add (SIGINT, quit_cb, loop);
  g_main_loop_run (loop);
  g_bus_unown_name (owner_id);
  return 0;
}

/* menu, click */

typedef struct
{
  int   id;
  char *line;    /* as `menu` prints it */
  char *label;
} Entry;

static void
entry_free (Entry *entry)
{
  g_free (entry->line);
  g_free (entry->label);
  g_free (entry);
}

static char *
menu_path (GDBusConnection *bus,
           const char      *sender,
           const char      *item,
           GError         **error)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;

  reply = g_dbus_connection_call_sync (bus, sender, item, "org.freedesktop.DBus.Properties",
                                       "Get", g_variant_new ("(ss)", SNI_IFACE, "Menu"),
                                       G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE,
                                       CALL_TIMEOUT_MS, NULL, error);
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(v)", &value);
  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_OBJECT_PATH))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "the item's Menu property is not an object path");
      return NULL;
    }
  return g_variant_dup_string (value, NULL);
}

/* The top level of the menu, top to bottom; NULL and @error when it cannot be read. */
static GPtrArray *
get_menu (GDBusConnection *bus,
          const char      *sender,
          const char      *path,
          GError         **error)
{
  const char *no_props[] = { NULL };
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) root = NULL;
  g_autoptr(GVariant) children = NULL;
  GPtrArray *entries;
  guint revision;

  reply = g_dbus_connection_call_sync (bus, sender, path, DBUSMENU_IFACE, "GetLayout",
                                       g_variant_new ("(ii^as)", 0, -1, no_props),
                                       G_VARIANT_TYPE ("(u(ia{sv}av))"), G_DBUS_CALL_FLAGS_NONE,
                                       CALL_TIMEOUT_MS, NULL, error);
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(u@(ia{sv}av))", &revision, &root);
  children = g_variant_get_child_value (root, 2);
  entries = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  for (gsize i = 0; i < g_variant_n_children (children); i++)
    {
      g_autoptr(GVariant) boxed = g_variant_get_child_value (children, i);
      g_autoptr(GVariant) child = g_variant_get_variant (boxed);
      g_autoptr(GVariant) props = g_variant_get_child_value (child, 1);
      g_autofree char *type = NULL;
      g_autofree char *toggle_type = NULL;
      Entry *entry = g_new0 (Entry, 1);
      GVariantDict dict;
      int toggle_state = -1;
      gboolean enabled = TRUE;

      g_variant_get_child (child, 0, "i", &entry->id);
      g_variant_dict_init (&dict, props);
      if (!g_variant_dict_lookup (&dict, "label", "s", &entry->label))
        entry->label = g_strdup ("");
      g_variant_dict_lookup (&dict, "type", "s", &type);
      g_variant_dict_lookup (&dict, "toggle-type", "s", &toggle_type);
      g_variant_dict_lookup (&dict, "toggle-state", "i", &toggle_state);
      g_variant_dict_lookup (&dict, "enabled", "b", &enabled);
      g_variant_dict_clear (&dict);

      if (g_strcmp0 (type, "separator") == 0)
        entry->line = g_strdup ("-");
      else if (g_strcmp0 (toggle_type, "checkmark") == 0)
        entry->line = g_strdup_printf ("[%c] %s", toggle_state == 1 ? 'x' : ' ', entry->label);
      else if (!enabled)
        entry->line = g_strdup_printf ("(%s)", entry->label);
      else
        entry->line = g_strdup (entry->label);
      g_ptr_array_add (entries, entry);
    }
  return entries;
}

static int
menu_or_click (GDBusConnection *bus,
               const char      *sender,
               const char      *item,
               const char      *prefix)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree char *path = menu_path (bus, sender, item, &error);

  if (path != NULL)
    entries = get_menu (bus, sender, path, &error);
  if (entries == NULL)
    {
      g_printerr ("sni-panel: %s\n", error->message);
      return 1;
    }
  if (prefix == NULL)
    {
      for (guint i = 0; i < entries->len; i++)
        printf ("%s\n", ((Entry *) g_ptr_array_index (entries, i))->line);
      return 0;
    }
  for (guint i = 0; i < entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (entries, i);

      if (!g_str_has_prefix (entry->label, prefix))
        continue;
      reply = g_dbus_connection_call_sync (bus, sender, path, DBUSMENU_IFACE, "Event",
                                           g_variant_new ("(isvu)", entry->id, "clicked",
                                                          g_variant_new_int32 (0), 0u),
                                           NULL, G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL,
                                           &error);
      if (reply == NULL)
        {
          g_printerr ("sni-panel: clicking “%s”: %s\n", entry->label, error->message);
          return 1;
        }
      printf ("clicked %s\n", entry->line);
      return 0;
    }
  g_printerr ("sni-panel: no menu entry starts with “%s”\n", prefix);
  return 1;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GError) error = NULL;
  const char *mode = argc > 1 ? argv[1] : "";

  setlocale (LC_ALL, "");
  if (!((g_strcmp0 (mode, "watch") == 0 && argc == 2) ||
        (g_strcmp0 (mode, "menu") == 0 && argc == 4) ||
        (g_strcmp0 (mode, "click") == 0 && argc == 5)))
    {
      g_printerr ("usage: sni-panel watch | menu SENDER PATH | click SENDER PATH PREFIX\n");
      return 2;
    }
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (bus == NULL)
    {
      g_printerr ("sni-panel: %s\n", error->message);
      return 1;
    }
  if (g_strcmp0 (mode, "watch") == 0)
    return watch (bus);
  return menu_or_click (bus, argv[2], argv[3], argc == 5 ? argv[4] : NULL);
}
