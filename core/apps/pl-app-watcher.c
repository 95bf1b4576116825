/* pl-app-watcher.c: which of the applications profiles are tied to run now
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gi18n-lib.h>

#include "pl-app-link.h"
#include "pl-app-watcher.h"
#include "pl-caller.h"

/* What is listened to, with no polling loop and no timer while nothing happens:
 *
 * - The systemd user manager, org.freedesktop.systemd1 on the session bus: Subscribe, then
 *   ListUnits once, UnitNew / UnitRemoved, and PropertiesChanged of org.freedesktop.systemd1.Unit
 *   for ActiveState (a new unit's state is asked for once with Get). A unit: link runs while
 *   its unit is active, activating, reloading or deactivating. An app: link runs while a scope
 *   or service of that application id runs: desktops and Flatpak start apps in
 *   "app-gnome-ID-RANDOM.scope", "app-flatpak-ID-RANDOM.scope" or "app-ID@RANDOM.service"
 *   (systemd.io's desktop environment rules); the id is read from the unit name by
 *   pl_caller_app_id_from_unit(), the broker's own parser.
 *
 * - Processes, for process: links: /proc is read once when a link is first watched, and again
 *   whenever systemd reports a new unit or a unit becoming active (every launch from a desktop,
 *   `systemd-run` and most services make one), plus once a second after a new unit, since the
 *   launcher may exec the program only after creating its scope. A process whose comm or
 *   program file (basename of /proc/PID/exe) is the name, and that belongs to this user, gets
 *   a pidfd (pidfd_open, Linux 5.3) watched in the main loop: it becomes readable when the
 *   process exits, so exits are seen at once without polling.
 *
 * What this cannot see: a process started outside any new unit (from a shell in a terminal
 * whose scope exists already, or by a program that forks it) until the next unit appears.
 * Seeing every exec would take the kernel's proc connector (a NETLINK_CONNECTOR socket with
 * PROC_CN_MCAST_LISTEN), which needs CAP_NET_ADMIN in the initial network namespace, or
 * fanotify, which needs CAP_SYS_ADMIN: a desktop user has neither. Without a systemd user
 * manager only processes already running when a link is first watched are seen, and
 * app:/unit: links never run; pl_app_watcher_get_problem() says so. */

#define SYSTEMD_NAME      "org.freedesktop.systemd1"
#define SYSTEMD_PATH      "/org/freedesktop/systemd1"
#define MANAGER_INTERFACE "org.freedesktop.systemd1.Manager"
#define UNIT_INTERFACE    "org.freedesktop.systemd1.Unit"

typedef struct
{
  char *id;
  char *app_id;     /* nullable: the application id of an app scope or service */
  char *state;      /* ActiveState, "" until known */
} Unit;

typedef struct
{
  PlAppWatcher  *self;
  char          *text;
  PlAppLinkKind  kind;
  char          *name;
  guint          refs;
  gboolean       running;
  GHashTable    *pids;   /* process: GINT_TO_POINTER (pid) -> Pid* */
} Link;

typedef struct
{
  Link *link;
  int   pid;
  int   fd;
  guint source_id;
} Pid;

struct _PlAppWatcher
{
  GObject          parent_instance;

  GDBusConnection *bus;            /* nullable */
  GCancellable    *cancellable;
  guint            name_watch_id;
  guint            unit_new_id;
  guint            unit_removed_id;
  guint            properties_id;
  gboolean         systemd;        /* its units are known */
  gboolean         pending;        /* a bus, and no answer from it yet */
  GHashTable      *units;          /* object path -> Unit* */
  GHashTable      *links;          /* text -> Link* */
  guint            rescan_id;
  guint            late_rescan_id;
};

G_DEFINE_FINAL_TYPE (PlAppWatcher, pl_app_watcher, G_TYPE_OBJECT)

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void scan_processes (PlAppWatcher *self);

static void
unit_free (Unit *unit)
{
  g_free (unit->id);
  g_free (unit->app_id);
  g_free (unit->state);
  g_free (unit);
}

static void
pid_free (Pid *pid)
{
  g_clear_handle_id (&pid->source_id, g_source_remove);
  if (pid->fd >= 0)
    close (pid->fd);
  g_free (pid);
}

static void
link_free (Link *link)
{
  g_free (link->text);
  g_free (link->name);
  g_clear_pointer (&link->pids, g_hash_table_unref);
  g_free (link);
}

static gboolean
state_runs (const char *state)
{
  return g_strcmp0 (state, "active") == 0 || g_strcmp0 (state, "activating") == 0 ||
         g_strcmp0 (state, "reloading") == 0 || g_strcmp0 (state, "deactivating") == 0;
}

static gboolean
link_compute_running (PlAppWatcher *self,
                      Link         *link)
{
  GHashTableIter iter;
  gpointer value;

  if (link->kind == PL_APP_LINK_PROCESS)
    return g_hash_table_size (link->pids) > 0;

  g_hash_table_iter_init (&iter, self->units);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Unit *unit = value;
      const char *name = link->kind == PL_APP_LINK_APP ? unit->app_id : unit->id;

      if (g_strcmp0 (name, link->name) == 0 && state_runs (unit->state))
        return TRUE;
    }
  return FALSE;
}

/* Recomputes every link and emits ::changed for each that changed. */
static void
update_links (PlAppWatcher *self)
{
  g_autoptr(GPtrArray) changed = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->links);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Link *link = value;
      gboolean running = link_compute_running (self, link);

      if (running != link->running)
        {
          link->running = running;
          g_ptr_array_add (changed, g_strdup (link->text));
        }
    }
  for (guint i = 0; i < changed->len; i++)
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0, (const char *) g_ptr_array_index (changed, i));
}

/* Whether a link runs did not change, but what stands in the way of seeing it did. */
static void
emit_all (PlAppWatcher *self)
{
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->links);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (texts, g_strdup (((Link *) value)->text));
  for (guint i = 0; i < texts->len; i++)
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0, (const char *) g_ptr_array_index (texts, i));
}

/* Processes */

static gboolean
pid_exited_cb (int          fd,
               GIOCondition condition,
               gpointer     user_data)
{
  Pid *pid = user_data;
  Link *link = pid->link;

  g_debug ("Process %d (%s) has exited", pid->pid, link->name);
  pid->source_id = 0;
  g_hash_table_remove (link->pids, GINT_TO_POINTER (pid->pid));
  update_links (link->self);
  return G_SOURCE_REMOVE;
}

static gboolean
process_matches (const char *pid_dir,
                 const char *name)
{
  g_autofree char *comm_path = g_build_filename (pid_dir, "comm", NULL);
  g_autofree char *exe_path = g_build_filename (pid_dir, "exe", NULL);
  g_autofree char *comm = NULL;
  g_autofree char *exe = NULL;

  if (g_file_get_contents (comm_path, &comm, NULL, NULL))
    {
      g_strchomp (comm);
      if (strcmp (comm, name) == 0)
        return TRUE;
    }
  /* comm is cut to 15 bytes; the program file has the whole name. */
  exe = g_file_read_link (exe_path, NULL);
  if (exe != NULL)
    {
      g_autofree char *base = NULL;

      if (g_str_has_suffix (exe, " (deleted)"))
        exe[strlen (exe) - strlen (" (deleted)")] = '\0';
      base = g_path_get_basename (exe);
      return strcmp (base, name) == 0;
    }
  return FALSE;
}

static void
link_scan (PlAppWatcher *self,
           Link         *link,
           GPtrArray    *pids)
{
  uid_t uid = getuid ();

  for (guint i = 0; i < pids->len; i++)
    {
      int pid = GPOINTER_TO_INT (g_ptr_array_index (pids, i));
      g_autofree char *dir = NULL;
      struct stat st;
      Pid *entry;
      int fd;

      if (g_hash_table_contains (link->pids, GINT_TO_POINTER (pid)))
        continue;
      dir = g_strdup_printf ("/proc/%d", pid);
      if (stat (dir, &st) != 0 || st.st_uid != uid || !process_matches (dir, link->name))
        continue;
      fd = (int) syscall (SYS_pidfd_open, (pid_t) pid, 0);
      if (fd < 0)
        {
          if (errno != ESRCH)
            g_debug ("pidfd_open (%d): %s", pid, g_strerror (errno));
          continue;
        }
      /* The pid may have been reused between the reading and pidfd_open(): check again
       * through the pidfd's own process. */
      if (!process_matches (dir, link->name))
        {
          close (fd);
          continue;
        }
      g_debug ("Process %d is %s", pid, link->name);
      entry = g_new0 (Pid, 1);
      entry->link = link;
      entry->pid = pid;
      entry->fd = fd;
      entry->source_id = g_unix_fd_add (fd, G_IO_IN, pid_exited_cb, entry);
      g_source_set_static_name (g_main_context_find_source_by_id (NULL, entry->source_id),
                                "[portlight] app process exit");
      g_hash_table_insert (link->pids, GINT_TO_POINTER (pid), entry);
    }
}

static void
scan_processes (PlAppWatcher *self)
{
  g_autoptr(GPtrArray) pids = g_ptr_array_new ();
  g_autoptr(GDir) dir = NULL;
  GHashTableIter iter;
  gpointer value;
  const char *entry;
  gboolean any = FALSE;

  g_hash_table_iter_init (&iter, self->links);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    any |= ((Link *) value)->kind == PL_APP_LINK_PROCESS;
  if (!any)
    return;

  dir = g_dir_open ("/proc", 0, NULL);
  if (dir == NULL)
    return;
  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      guint64 pid;

      if (g_ascii_string_to_unsigned (entry, 10, 1, G_MAXINT, &pid, NULL) &&
          (int) pid != getpid ())
        g_ptr_array_add (pids, GINT_TO_POINTER ((int) pid));
    }

  g_hash_table_iter_init (&iter, self->links);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((Link *) value)->kind == PL_APP_LINK_PROCESS)
      link_scan (self, value, pids);
  update_links (self);
}

static gboolean
rescan_cb (gpointer user_data)
{
  PlAppWatcher *self = user_data;

  self->rescan_id = 0;
  scan_processes (self);
  return G_SOURCE_REMOVE;
}

static gboolean
late_rescan_cb (gpointer user_data)
{
  PlAppWatcher *self = user_data;

  self->late_rescan_id = 0;
  scan_processes (self);
  return G_SOURCE_REMOVE;
}

/* A new unit: look for new processes now (coalesced) and once more a second later. */
static void
schedule_rescan (PlAppWatcher *self)
{
  if (self->rescan_id == 0)
    {
      self->rescan_id = g_idle_add (rescan_cb, self);
      g_source_set_static_name (g_main_context_find_source_by_id (NULL, self->rescan_id),
                                "[portlight] app process scan");
    }
  g_clear_handle_id (&self->late_rescan_id, g_source_remove);
  self->late_rescan_id = g_timeout_add_seconds (1, late_rescan_cb, self);
  g_source_set_static_name (g_main_context_find_source_by_id (NULL, self->late_rescan_id),
                            "[portlight] app process scan, late");
}

/* systemd */

static Unit *
unit_add (PlAppWatcher *self,
          const char   *id,
          const char   *path,
          const char   *state)
{
  Unit *unit = g_hash_table_lookup (self->units, path);

  if (unit == NULL)
    {
      unit = g_new0 (Unit, 1);
      unit->id = g_strdup (id);
      unit->app_id = pl_caller_app_id_from_unit (id);
      unit->state = g_strdup (state);
      g_hash_table_insert (self->units, g_strdup (path), unit);
    }
  else if (state[0] != '\0')
    {
      g_free (unit->state);
      unit->state = g_strdup (state);
    }
  return unit;
}

static void
unit_set_state (PlAppWatcher *self,
                Unit         *unit,
                const char   *state)
{
  gboolean was = state_runs (unit->state);

  g_free (unit->state);
  unit->state = g_strdup (state);
  if (!was && state_runs (state))
    schedule_rescan (self);
  update_links (self);
}

typedef struct
{
  PlAppWatcher *self;
  char         *path;
} StateQuery;

static void
get_state_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autofree StateQuery *query = user_data;
  g_autofree char *path = query->path;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  PlAppWatcher *self;
  Unit *unit;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("ActiveState of %s: %s", path, error->message);
      return;
    }
  /* Not cancelled, so the watcher is alive: its cancellable is cancelled in dispose. */
  self = query->self;
  unit = g_hash_table_lookup (self->units, path);
  g_variant_get (reply, "(v)", &value);
  if (unit != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    unit_set_state (self, unit, g_variant_get_string (value, NULL));
}

static void
unit_new_cb (GDBusConnection *connection,
             const char      *sender,
             const char      *object_path,
             const char      *interface,
             const char      *signal,
             GVariant        *parameters,
             gpointer         user_data)
{
  PlAppWatcher *self = user_data;
  StateQuery *query;
  const char *id;
  const char *path;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(so)")))
    return;
  g_variant_get (parameters, "(&s&o)", &id, &path);
  if (!self->systemd)
    return;
  unit_add (self, id, path, "");
  query = g_new0 (StateQuery, 1);
  query->self = self;
  query->path = g_strdup (path);
  g_dbus_connection_call (self->bus, SYSTEMD_NAME, path, "org.freedesktop.DBus.Properties",
                          "Get", g_variant_new ("(ss)", UNIT_INTERFACE, "ActiveState"),
                          G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, -1,
                          self->cancellable, get_state_cb, query);
  schedule_rescan (self);
}

static void
unit_removed_cb (GDBusConnection *connection,
                 const char      *sender,
                 const char      *object_path,
                 const char      *interface,
                 const char      *signal,
                 GVariant        *parameters,
                 gpointer         user_data)
{
  PlAppWatcher *self = user_data;
  const char *id;
  const char *path;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(so)")))
    return;
  g_variant_get (parameters, "(&s&o)", &id, &path);
  if (g_hash_table_remove (self->units, path))
    update_links (self);
}

static void
properties_changed_cb (GDBusConnection *connection,
                       const char      *sender,
                       const char      *object_path,
                       const char      *interface,
                       const char      *signal,
                       GVariant        *parameters,
                       gpointer         user_data)
{
  PlAppWatcher *self = user_data;
  g_autoptr(GVariant) changed = NULL;
  const char *iface;
  const char *state;
  Unit *unit;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sa{sv}as)")))
    return;
  g_variant_get (parameters, "(&s@a{sv}@as)", &iface, &changed, NULL);
  if (strcmp (iface, UNIT_INTERFACE) != 0)
    return;
  unit = g_hash_table_lookup (self->units, object_path);
  if (unit != NULL && g_variant_lookup (changed, "ActiveState", "&s", &state))
    unit_set_state (self, unit, state);
}

static void
list_units_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariantIter) iter = NULL;
  g_autoptr(GError) error = NULL;
  PlAppWatcher *self;
  const char *id;
  const char *state;
  const char *path;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = PL_APP_WATCHER (user_data);
  if (reply == NULL)
    {
      g_message ("The systemd user manager did not list its units: %s", error->message);
      self->pending = FALSE;
      emit_all (self);
      return;
    }
  g_variant_get (reply, "(a(ssssssouso))", &iter);
  while (g_variant_iter_next (iter, "(&s&s&s&s&s&s&ou&s&o)", &id, NULL, NULL, &state, NULL,
                              NULL, &path, NULL, NULL, NULL))
    unit_add (self, id, path, state);
  self->systemd = TRUE;
  self->pending = FALSE;
  update_links (self);
  scan_processes (self);
}

static void
subscribe_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  PlAppWatcher *self;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (reply == NULL)
    g_debug ("systemd Subscribe: %s", error->message);
  self = PL_APP_WATCHER (user_data);
  /* After Subscribe, so that no unit made in between is missed (it comes as UnitNew). */
  g_dbus_connection_call (self->bus, SYSTEMD_NAME, SYSTEMD_PATH, MANAGER_INTERFACE,
                          "ListUnits", NULL, G_VARIANT_TYPE ("(a(ssssssouso))"),
                          G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable, list_units_cb, self);
}

static void
systemd_appeared_cb (GDBusConnection *connection,
                     const char      *name,
                     const char      *owner,
                     gpointer         user_data)
{
  PlAppWatcher *self = user_data;

  g_dbus_connection_call (connection, SYSTEMD_NAME, SYSTEMD_PATH, MANAGER_INTERFACE,
                          "Subscribe", NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1,
                          self->cancellable, subscribe_cb, self);
}

static void
systemd_vanished_cb (GDBusConnection *connection,
                     const char      *name,
                     gpointer         user_data)
{
  PlAppWatcher *self = user_data;
  gboolean had = self->systemd || self->pending;

  self->systemd = FALSE;
  self->pending = FALSE;
  g_hash_table_remove_all (self->units);
  update_links (self);
  if (had)
    emit_all (self);
}

/* GObject */

static void
pl_app_watcher_dispose (GObject *object)
{
  PlAppWatcher *self = PL_APP_WATCHER (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->name_watch_id, g_bus_unwatch_name);
  if (self->bus != NULL)
    {
      if (self->unit_new_id != 0)
        g_dbus_connection_signal_unsubscribe (self->bus, self->unit_new_id);
      if (self->unit_removed_id != 0)
        g_dbus_connection_signal_unsubscribe (self->bus, self->unit_removed_id);
      if (self->properties_id != 0)
        g_dbus_connection_signal_unsubscribe (self->bus, self->properties_id);
      self->unit_new_id = self->unit_removed_id = self->properties_id = 0;
    }
  g_clear_handle_id (&self->rescan_id, g_source_remove);
  g_clear_handle_id (&self->late_rescan_id, g_source_remove);
  if (self->links != NULL)
    g_hash_table_remove_all (self->links);
  g_clear_object (&self->bus);

  G_OBJECT_CLASS (pl_app_watcher_parent_class)->dispose (object);
}

static void
pl_app_watcher_finalize (GObject *object)
{
  PlAppWatcher *self = PL_APP_WATCHER (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->units, g_hash_table_unref);
  g_clear_pointer (&self->links, g_hash_table_unref);

  G_OBJECT_CLASS (pl_app_watcher_parent_class)->finalize (object);
}

static void
pl_app_watcher_class_init (PlAppWatcherClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_app_watcher_dispose;
  object_class->finalize = pl_app_watcher_finalize;

  /**
   * PlAppWatcher::changed:
   * @link: the App= value
   *
   * Whether @link runs, or what stands in the way of seeing it, has changed.
   */
  signals[SIGNAL_CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
pl_app_watcher_init (PlAppWatcher *self)
{
  self->cancellable = g_cancellable_new ();
  self->units = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) unit_free);
  self->links = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) link_free);
}

PlAppWatcher *
pl_app_watcher_new (GDBusConnection *session_bus)
{
  PlAppWatcher *self;

  g_return_val_if_fail (session_bus == NULL || G_IS_DBUS_CONNECTION (session_bus), NULL);

  self = g_object_new (PL_TYPE_APP_WATCHER, NULL);
  if (session_bus == NULL)
    return self;

  self->bus = g_object_ref (session_bus);
  self->pending = TRUE;
  self->unit_new_id =
    g_dbus_connection_signal_subscribe (self->bus, SYSTEMD_NAME, MANAGER_INTERFACE, "UnitNew",
                                        SYSTEMD_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                        unit_new_cb, self, NULL);
  self->unit_removed_id =
    g_dbus_connection_signal_subscribe (self->bus, SYSTEMD_NAME, MANAGER_INTERFACE,
                                        "UnitRemoved", SYSTEMD_PATH, NULL,
                                        G_DBUS_SIGNAL_FLAGS_NONE, unit_removed_cb, self, NULL);
  self->properties_id =
    g_dbus_connection_signal_subscribe (self->bus, SYSTEMD_NAME,
                                        "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                        NULL, UNIT_INTERFACE, G_DBUS_SIGNAL_FLAGS_NONE,
                                        properties_changed_cb, self, NULL);
  self->name_watch_id =
    g_bus_watch_name_on_connection (self->bus, SYSTEMD_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                    systemd_appeared_cb, systemd_vanished_cb, self, NULL);
  return self;
}

void
pl_app_watcher_watch (PlAppWatcher *self,
                      const char   *text)
{
  Link *link;
  PlAppLinkKind kind;
  const char *name;

  g_return_if_fail (PL_IS_APP_WATCHER (self));
  g_return_if_fail (text != NULL);

  link = g_hash_table_lookup (self->links, text);
  if (link != NULL)
    {
      link->refs++;
      return;
    }
  if (!pl_app_link_parse ("", text, &kind, &name, NULL))
    {
      g_critical ("pl_app_watcher_watch: “%s” is not an App= value", text);
      return;
    }
  link = g_new0 (Link, 1);
  link->self = self;
  link->text = g_strdup (text);
  link->kind = kind;
  link->name = g_strdup (name);
  link->refs = 1;
  link->pids = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) pid_free);
  g_hash_table_insert (self->links, link->text, link);
  if (kind == PL_APP_LINK_PROCESS)
    scan_processes (self);
  else
    link->running = link_compute_running (self, link);
}

void
pl_app_watcher_unwatch (PlAppWatcher *self,
                        const char   *text)
{
  Link *link;

  g_return_if_fail (PL_IS_APP_WATCHER (self));
  g_return_if_fail (text != NULL);

  link = g_hash_table_lookup (self->links, text);
  g_return_if_fail (link != NULL);
  if (--link->refs == 0)
    g_hash_table_remove (self->links, text);
}

gboolean
pl_app_watcher_is_running (PlAppWatcher *self,
                           const char   *text)
{
  Link *link;

  g_return_val_if_fail (PL_IS_APP_WATCHER (self), FALSE);

  link = g_hash_table_lookup (self->links, text);
  return link != NULL && link->running;
}

gboolean
pl_app_watcher_has_systemd (PlAppWatcher *self)
{
  g_return_val_if_fail (PL_IS_APP_WATCHER (self), FALSE);
  return self->systemd;
}

const char *
pl_app_watcher_get_problem (PlAppWatcher *self,
                            const char   *text)
{
  Link *link;

  g_return_val_if_fail (PL_IS_APP_WATCHER (self), NULL);

  link = g_hash_table_lookup (self->links, text);
  if (link == NULL || self->systemd || self->pending)
    return NULL;
  if (link->kind == PL_APP_LINK_PROCESS)
    return _("there is no systemd user manager, so only processes that ran when Portlight "
             "started are seen");
  return _("there is no systemd user manager, so Portlight cannot tell when it runs");
}

guint
pl_app_watcher_count_pids (PlAppWatcher *self,
                           const char   *text)
{
  Link *link;

  g_return_val_if_fail (PL_IS_APP_WATCHER (self), 0);

  link = g_hash_table_lookup (self->links, text);
  return link != NULL && link->pids != NULL ? g_hash_table_size (link->pids) : 0;
}
