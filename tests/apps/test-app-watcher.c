/* test-app-watcher.c: app-linked profiles: the App= key, PlAppWatcher against a fake systemd
 * user manager and real processes, and the engine mapping a profile while its app runs
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <signal.h>

#include <glib/gstdio.h>

#include "pl-app-profiles.h"
#include "pl-app-watcher.h"
#include "pl-core.h"
#include "pl-test-bus.h"
#include "pl-fake-gateway.h"
#include "pl-fake-systemd.h"

/* PL_APP_HELPER: a program that runs until killed; its process name is "pl-app-helper".
 * The fake gateway of the engine test is 127.0.80.1. */

#define HELPER_LINK "process:pl-app-helper"

static gboolean
guard_cb (gpointer user_data)
{
  g_error ("%s did not happen within 30 s", (const char *) user_data);
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until @done says so; a guard fails the test if it never does (not a
 * timing assertion: the events come at once or never). */
#define WAIT_UNTIL(cond) G_STMT_START {                                           \
    guint guard_ = g_timeout_add_seconds (30, guard_cb, (gpointer) #cond);        \
    while (!(cond))                                                               \
      g_main_context_iteration (NULL, TRUE);                                      \
    g_source_remove (guard_);                                                     \
  } G_STMT_END

/* The App= value */

static void
test_parse (void)
{
  static const struct { const char *text; PlAppLinkKind kind; const char *name; } good[] = {
    { "app:org.qbittorrent.qBittorrent", PL_APP_LINK_APP, "org.qbittorrent.qBittorrent" },
    { "app:com.valvesoftware.Steam", PL_APP_LINK_APP, "com.valvesoftware.Steam" },
    { "app:org.gnome.Fractal-beta", PL_APP_LINK_APP, "org.gnome.Fractal-beta" },
    { "process:qbittorrent-nox", PL_APP_LINK_PROCESS, "qbittorrent-nox" },
    { "process:Web Content", PL_APP_LINK_PROCESS, "Web Content" },
    { "process:org.example.App", PL_APP_LINK_PROCESS, "org.example.App" },
    { "unit:syncthing.service", PL_APP_LINK_UNIT, "syncthing.service" },
    { "unit:app-org.example.App@2.service", PL_APP_LINK_UNIT, "app-org.example.App@2.service" },
    { "unit:transmission\\x2ddaemon.service", PL_APP_LINK_UNIT, "transmission\\x2ddaemon.service" },
  };
  static const struct { const char *text; const char *message; } bad[] = {
    { "qbittorrent", "Profile “P”: App “qbittorrent” does not say what it names: write app:ID, "
                     "process:NAME or unit:NAME" },
    { "App:org.x.Y", "Profile “P”: App “App:org.x.Y” does not say what it names: write "
                     "app:ID, process:NAME or unit:NAME" },
    { " app:org.x.Y", NULL },
    { "app:", NULL },
    { "app:qbittorrent", "Profile “P”: App “app:qbittorrent” is not a desktop application id "
                         "(like app:org.example.App)" },
    { "app:org.x.Y.desktop", "Profile “P”: App “app:org.x.Y.desktop”: give the application id "
                             "without “.desktop”" },
    { "app:org..Y", NULL },
    { "app:org.2x.Y", NULL },
    { "app:org.x.Y ", NULL },
    { "process:", NULL },
    { "process:/usr/bin/sleep", "Profile “P”: App “process:/usr/bin/sleep” is not a process "
                                "name (1-255 bytes, no “/”, no control characters, no spaces "
                                "at either end)" },
    { "process: sleep", NULL },
    { "process:a\tb", NULL },
    { "unit:", NULL },
    { "unit:syncthing", "Profile “P”: App “unit:syncthing” is not a systemd unit name (like "
                        "unit:syncthing.service)" },
    { "unit:sync thing.service", NULL },
    { "unit:.service", NULL },
    { "unit:foo.services", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *again = NULL;
      PlAppLinkKind kind = (PlAppLinkKind) 99;
      const char *name = NULL;

      g_assert_true (pl_app_link_parse ("P", good[i].text, &kind, &name, &error));
      g_assert_no_error (error);
      g_assert_cmpint (kind, ==, good[i].kind);
      g_assert_cmpstr (name, ==, good[i].name);
      again = pl_app_link_format (kind, name);
      g_assert_cmpstr (again, ==, good[i].text);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (pl_app_link_parse ("P", bad[i].text, NULL, NULL, &error));
      g_assert_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
      if (bad[i].message != NULL)
        g_assert_cmpstr (error->message, ==, bad[i].message);
    }
}

static void
test_profile_key (void)
{
  g_autoptr(PlProfile) profile = pl_profile_new ("Torrent");
  g_autoptr(PlProfile) copy = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_null (pl_profile_get_app (profile));
  g_assert_true (pl_profile_set_key_value (profile, PL_PROFILE_KEY_APP,
                                           "app:org.qbittorrent.qBittorrent", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (pl_profile_get_app (profile), ==, "app:org.qbittorrent.qBittorrent");

  /* A bad value is refused and changes nothing. */
  g_assert_false (pl_profile_set_key_value (profile, PL_PROFILE_KEY_APP, "qbittorrent",
                                            &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpstr (pl_profile_get_app (profile), ==, "app:org.qbittorrent.qBittorrent");

  copy = pl_profile_copy (profile);
  g_assert_true (pl_profile_equal (copy, profile));
  pl_profile_set_app (copy, "process:qbittorrent-nox");
  g_assert_false (pl_profile_equal (copy, profile));

  /* validate() sees a bad value set directly. */
  pl_profile_set_internal_port (copy, 6881);
  g_assert_true (pl_profile_validate (copy, NULL));
  pl_profile_set_app (copy, "unit:nope");
  g_assert_false (pl_profile_validate (copy, &error));
  g_assert_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* An empty value clears it. */
  g_assert_true (pl_profile_set_key_value (profile, PL_PROFILE_KEY_APP, "", &error));
  g_assert_null (pl_profile_get_app (profile));
}

/* The file loses no byte: App= as written (\s escape included), an unknown key and a comment
 * stay when another value changes; App= is removed only when cleared. */
static void
test_store_round_trip (void)
{
  static const char before[] =
    "[Torrent]\n"
    "# my torrent client\n"
    "Protocol=both\n"
    "InternalPort=6881\n"
    "ExternalPort=0\n"
    "Lifetime=7200\n"
    "Enabled=true\n"
    "App=process:qbit\\storrent\n"
    "X-Future=kept\n"
    "\n"
    "[Sync]\n"
    "Protocol=tcp\n"
    "InternalPort=22000\n"
    "App=unit:syncthing.service\n";
  g_autofree char *dir = g_dir_make_tmp ("pl-app-link-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "profiles.ini", NULL);
  g_autoptr(PlProfileStore) store = NULL;
  g_autoptr(PlProfile) changed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *after = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *expected2 = NULL;

  g_assert_true (g_file_set_contents (path, before, -1, &error));
  store = pl_profile_store_new (path);
  g_assert_true (pl_profile_store_load (store, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pl_profile_store_get_problems (store)->len, ==, 0);
  g_assert_cmpstr (pl_profile_get_app (pl_profile_store_lookup (store, "Torrent")), ==,
                   "process:qbit torrent");
  g_assert_cmpstr (pl_profile_get_app (pl_profile_store_lookup (store, "Sync")), ==,
                   "unit:syncthing.service");

  /* Saving unchanged writes the same bytes. */
  g_assert_true (pl_profile_store_save (store, NULL, &error));
  g_assert_true (g_file_get_contents (path, &after, NULL, &error));
  g_assert_cmpstr (after, ==, before);
  g_clear_pointer (&after, g_free);

  /* Another value changes: only its line does. */
  changed = pl_profile_copy (pl_profile_store_lookup (store, "Torrent"));
  pl_profile_set_lifetime (changed, 600);
  g_assert_true (pl_profile_store_replace (store, "Torrent", changed, &error));
  g_assert_no_error (error);
  g_assert_true (pl_profile_store_save (store, NULL, &error));
  g_assert_true (g_file_get_contents (path, &after, NULL, &error));
  expected = g_strjoinv ("Lifetime=600\n", (char **) (const char *[]) {
                           "[Torrent]\n# my torrent client\nProtocol=both\nInternalPort=6881\n"
                           "ExternalPort=0\n",
                           "Enabled=true\nApp=process:qbit\\storrent\nX-Future=kept\n\n"
                           "[Sync]\nProtocol=tcp\nInternalPort=22000\n"
                           "App=unit:syncthing.service\n", NULL });
  g_assert_cmpstr (after, ==, expected);
  g_clear_pointer (&after, g_free);

  /* Cleared: the line goes, nothing else. */
  pl_profile_set_app (changed, NULL);
  g_assert_true (pl_profile_store_replace (store, "Torrent", changed, &error));
  g_assert_true (pl_profile_store_save (store, NULL, &error));
  g_assert_true (g_file_get_contents (path, &after, NULL, &error));
  expected2 = g_strjoinv ("", (char **) (const char *[]) {
                            "[Torrent]\n# my torrent client\nProtocol=both\nInternalPort=6881\n"
                            "ExternalPort=0\nLifetime=600\nEnabled=true\nX-Future=kept\n\n"
                            "[Sync]\nProtocol=tcp\nInternalPort=22000\n"
                            "App=unit:syncthing.service\n", NULL });
  g_assert_cmpstr (after, ==, expected2);

  g_unlink (path);
  g_rmdir (dir);
}

/* A bad App= in the file: the profile is left out with the loader's message; the file is
 * not rewritten. */
static void
test_store_bad_value (void)
{
  static const char text[] =
    "[Torrent]\nProtocol=tcp\nInternalPort=6881\nApp=qbittorrent\n";
  g_autofree char *dir = g_dir_make_tmp ("pl-app-link-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "profiles.ini", NULL);
  g_autoptr(PlProfileStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *after = NULL;
  GPtrArray *problems;

  g_assert_true (g_file_set_contents (path, text, -1, &error));
  store = pl_profile_store_new (path);
  pl_profile_store_load (store, NULL, NULL);
  problems = pl_profile_store_get_problems (store);
  g_assert_cmpuint (problems->len, ==, 1);
  g_assert_cmpstr (((GError *) g_ptr_array_index (problems, 0))->message, ==,
                   "Profile “Torrent”: App “qbittorrent” does not say what it names: write "
                   "app:ID, process:NAME or unit:NAME");
  g_assert_null (pl_profile_store_lookup (store, "Torrent"));
  g_assert_true (g_file_get_contents (path, &after, NULL, &error));
  g_assert_cmpstr (after, ==, text);
  g_unlink (path);
  g_rmdir (dir);
}

/* The watcher and systemd */

typedef struct
{
  GTestDBus       *bus;
  GDBusConnection *watcher_bus;
  GDBusConnection *systemd_bus;
  PlFakeSystemd   *systemd;
  GPtrArray       *changes;   /* char*: the links ::changed named */
} Fixture;

static void
changed_cb (PlAppWatcher *watcher,
            const char   *link,
            gpointer      user_data)
{
  g_ptr_array_add (((Fixture *) user_data)->changes, g_strdup (link));
}

static GDBusConnection *
connect_bus (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  GDBusConnection *bus =
    g_dbus_connection_new_for_address_sync (g_test_dbus_get_bus_address (f->bus),
                                            G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                            G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                            NULL, NULL, &error);

  g_assert_no_error (error);
  return bus;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  with_systemd)
{
  g_autoptr(GError) error = NULL;

  f->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  pl_test_bus_up (f->bus);
  f->watcher_bus = connect_bus (f);
  f->systemd_bus = connect_bus (f);
  if (GPOINTER_TO_INT (with_systemd))
    {
      f->systemd = pl_fake_systemd_new (f->systemd_bus, &error);
      g_assert_no_error (error);
    }
  f->changes = g_ptr_array_new_with_free_func (g_free);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->systemd);
  g_dbus_connection_close_sync (f->watcher_bus, NULL, NULL);
  g_dbus_connection_close_sync (f->systemd_bus, NULL, NULL);
  g_clear_object (&f->watcher_bus);
  g_clear_object (&f->systemd_bus);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  pl_test_bus_down (f->bus);
  g_clear_object (&f->bus);
  g_clear_pointer (&f->changes, g_ptr_array_unref);
}

static guint
count_changes (Fixture    *f,
               const char *link)
{
  guint n = 0;

  for (guint i = 0; i < f->changes->len; i++)
    n += g_strcmp0 (g_ptr_array_index (f->changes, i), link) == 0;
  return n;
}

static void
test_watcher_units (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(PlAppWatcher) watcher = NULL;
  const char *torrent = "app:org.qbittorrent.qBittorrent";
  const char *flatpak = "app:com.example.Game";
  const char *sync = "unit:syncthing.service";

  /* Running before the watcher starts: ListUnits tells. */
  pl_fake_systemd_add_unit (f->systemd, "app-gnome-org.qbittorrent.qBittorrent-4242.scope",
                            "active");
  pl_fake_systemd_add_unit (f->systemd, "syncthing.service", "inactive");

  watcher = pl_app_watcher_new (f->watcher_bus);
  g_signal_connect (watcher, "changed", G_CALLBACK (changed_cb), f);
  pl_app_watcher_watch (watcher, torrent);
  pl_app_watcher_watch (watcher, flatpak);
  pl_app_watcher_watch (watcher, sync);
  g_assert_null (pl_app_watcher_get_problem (watcher, torrent));   /* not answered yet */
  WAIT_UNTIL (pl_app_watcher_has_systemd (watcher));
  g_assert_cmpuint (pl_fake_systemd_get_n_subscribed (f->systemd), ==, 1);
  g_assert_null (pl_app_watcher_get_problem (watcher, torrent));
  g_assert_true (pl_app_watcher_is_running (watcher, torrent));
  g_assert_false (pl_app_watcher_is_running (watcher, sync));
  g_assert_false (pl_app_watcher_is_running (watcher, flatpak));

  /* A unit starts: PropertiesChanged. */
  g_ptr_array_set_size (f->changes, 0);
  pl_fake_systemd_set_state (f->systemd, "syncthing.service", "active");
  WAIT_UNTIL (pl_app_watcher_is_running (watcher, sync));
  g_assert_cmpuint (count_changes (f, sync), ==, 1);
  g_assert_cmpuint (count_changes (f, torrent), ==, 0);

  /* A Flatpak app starts: UnitNew, its state asked for. */
  pl_fake_systemd_add_unit (f->systemd, "app-flatpak-com.example.Game-77.scope", "active");
  WAIT_UNTIL (pl_app_watcher_is_running (watcher, flatpak));
  g_assert_cmpuint (count_changes (f, flatpak), ==, 1);

  /* The unit stops; then it is unloaded. */
  pl_fake_systemd_set_state (f->systemd, "syncthing.service", "deactivating");
  pl_fake_systemd_set_state (f->systemd, "syncthing.service", "inactive");
  WAIT_UNTIL (!pl_app_watcher_is_running (watcher, sync));
  g_assert_cmpuint (count_changes (f, sync), ==, 2);
  pl_fake_systemd_remove_unit (f->systemd, "syncthing.service");

  /* The app's scope goes: UnitRemoved. */
  pl_fake_systemd_remove_unit (f->systemd, "app-gnome-org.qbittorrent.qBittorrent-4242.scope");
  WAIT_UNTIL (!pl_app_watcher_is_running (watcher, torrent));
  g_assert_cmpuint (count_changes (f, torrent), ==, 1);
  g_assert_true (pl_app_watcher_is_running (watcher, flatpak));

  /* The user manager goes away: nothing runs as far as we can tell, and we say why. */
  g_clear_object (&f->systemd);
  WAIT_UNTIL (!pl_app_watcher_has_systemd (watcher));
  g_assert_false (pl_app_watcher_is_running (watcher, flatpak));
  g_assert_cmpstr (pl_app_watcher_get_problem (watcher, flatpak), ==,
                   "there is no systemd user manager, so Portlight cannot tell when it runs");

  pl_app_watcher_unwatch (watcher, torrent);
  pl_app_watcher_unwatch (watcher, flatpak);
  pl_app_watcher_unwatch (watcher, sync);
}

/* A bus without a systemd user manager: once the bus says there is none, the reason. */
static void
test_watcher_no_systemd (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(PlAppWatcher) watcher = pl_app_watcher_new (f->watcher_bus);

  g_signal_connect (watcher, "changed", G_CALLBACK (changed_cb), f);
  pl_app_watcher_watch (watcher, "unit:syncthing.service");
  WAIT_UNTIL (f->changes->len > 0);
  g_assert_cmpuint (count_changes (f, "unit:syncthing.service"), ==, 1);
  g_assert_false (pl_app_watcher_has_systemd (watcher));
  g_assert_false (pl_app_watcher_is_running (watcher, "unit:syncthing.service"));
  g_assert_cmpstr (pl_app_watcher_get_problem (watcher, "unit:syncthing.service"), ==,
                   "there is no systemd user manager, so Portlight cannot tell when it runs");
  pl_app_watcher_unwatch (watcher, "unit:syncthing.service");
}

/* Processes */

static void
child_exited_cb (GPid     pid,
                 int      status,
                 gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  g_spawn_close_pid (pid);
}

static GPid
spawn_helper (gboolean *exited)
{
  const char *argv[] = { PL_APP_HELPER, NULL };
  g_autoptr(GError) error = NULL;
  GPid pid = 0;
  int out = -1;
  char buf[8];

  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, NULL,
                                           G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                                           NULL, &out, NULL, &error));
  g_assert_no_error (error);
  /* It has exec'd once it prints. */
  g_assert_cmpint (read (out, buf, sizeof buf), >, 0);
  close (out);
  *exited = FALSE;
  g_child_watch_add (pid, child_exited_cb, exited);
  return pid;
}

/* A process already running when the link is watched is seen; its exit through its pidfd. */
static void
test_process_running (void)
{
  g_autoptr(PlAppWatcher) watcher = pl_app_watcher_new (NULL);
  gboolean exited;
  GPid pid = spawn_helper (&exited);

  pl_app_watcher_watch (watcher, HELPER_LINK);
  g_assert_true (pl_app_watcher_is_running (watcher, HELPER_LINK));
  g_assert_cmpuint (pl_app_watcher_count_pids (watcher, HELPER_LINK), ==, 1);
  g_assert_cmpstr (pl_app_watcher_get_problem (watcher, HELPER_LINK), ==,
                   "there is no systemd user manager, so only processes that ran when "
                   "Portlight started are seen");

  kill (pid, SIGTERM);
  WAIT_UNTIL (!pl_app_watcher_is_running (watcher, HELPER_LINK));
  g_assert_cmpuint (pl_app_watcher_count_pids (watcher, HELPER_LINK), ==, 0);
  WAIT_UNTIL (exited);
  pl_app_watcher_unwatch (watcher, HELPER_LINK);
}

/* A process that starts later is found when systemd reports a new unit (its scope). */
static void
test_process_new_unit (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(PlAppWatcher) watcher = pl_app_watcher_new (f->watcher_bus);
  gboolean exited;
  GPid pid;

  g_signal_connect (watcher, "changed", G_CALLBACK (changed_cb), f);
  pl_app_watcher_watch (watcher, HELPER_LINK);
  WAIT_UNTIL (pl_app_watcher_has_systemd (watcher));
  g_assert_false (pl_app_watcher_is_running (watcher, HELPER_LINK));
  g_assert_null (pl_app_watcher_get_problem (watcher, HELPER_LINK));

  pid = spawn_helper (&exited);
  pl_fake_systemd_add_unit (f->systemd, "run-u42.scope", "active");
  WAIT_UNTIL (pl_app_watcher_is_running (watcher, HELPER_LINK));
  g_assert_cmpuint (pl_app_watcher_count_pids (watcher, HELPER_LINK), ==, 1);

  kill (pid, SIGKILL);
  WAIT_UNTIL (!pl_app_watcher_is_running (watcher, HELPER_LINK));
  WAIT_UNTIL (exited);
  pl_app_watcher_unwatch (watcher, HELPER_LINK);
}

/* The engine: PlSession over PlAppProfiles on the fake NAT-PMP gateway */

static guint
count_requests (PlFakeGateway *gateway,
                guint16        port,
                gboolean       deletes)
{
  GPtrArray *requests = pl_fake_gateway_get_requests (gateway);
  guint n = 0;

  for (guint i = 0; i < requests->len; i++)
    {
      PlFakeRequest *request = g_ptr_array_index (requests, i);

      if (request->request.opcode != 0 && request->request.internal_port == port &&
          (request->request.lifetime == 0) == deletes)
        n++;
    }
  return n;
}

static void
test_engine (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(PlFakeGateway) gateway = NULL;
  g_autoptr(GListStore) store = g_list_store_new (PL_TYPE_PROFILE);
  g_autoptr(PlProfile) linked = pl_profile_new ("Torrent");
  g_autoptr(PlProfile) plain = pl_profile_new ("SSH");
  g_autoptr(PlAppWatcher) watcher = pl_app_watcher_new (f->watcher_bus);
  g_autoptr(PlAppProfiles) apps = NULL;
  g_autoptr(PlSession) session = NULL;
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string ("127.0.80.1");
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  PlMapping *mapping;
  gboolean exited;
  GPid pid;

  gateway = pl_fake_gateway_new ("127.0.80.1", pl_clock_get_default (), &error);
  g_assert_no_error (error);
  pl_profile_set_internal_port (linked, 6881);
  pl_profile_set_family (linked, PL_PROFILE_FAMILY_IPV4);
  pl_profile_set_app (linked, HELPER_LINK);
  pl_profile_set_internal_port (plain, 22);
  pl_profile_set_family (plain, PL_PROFILE_FAMILY_IPV4);
  g_list_store_append (store, plain);
  g_list_store_append (store, linked);

  apps = pl_app_profiles_new (G_LIST_MODEL (store), watcher);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (apps)), ==, 2);
  WAIT_UNTIL (pl_app_watcher_has_systemd (watcher));
  session = g_object_new (PL_TYPE_SESSION, "profiles", apps, "fixed-gateway", address,
                          "monitor-network", FALSE, NULL);
  pl_session_set_method (session, PL_METHOD_NATPMP);
  pl_session_start (session);

  /* The plain profile is mapped; the linked one waits and says why. */
  WAIT_UNTIL ((mapping = pl_session_find_mapping (session, "SSH", PL_PROTOCOL_TCP)) != NULL &&
              pl_mapping_get_state (mapping) == PL_MAPPING_STATE_ACTIVE);
  mapping = pl_session_find_mapping (session, "Torrent", PL_PROTOCOL_TCP);
  g_assert_nonnull (mapping);
  g_assert_cmpint (pl_mapping_get_state (mapping), ==, PL_MAPPING_STATE_DISABLED);
  g_assert_cmpuint (count_requests (gateway, 6881, FALSE), ==, 0);
  g_assert_true (pl_app_profiles_is_waiting (apps, "Torrent"));
  reason = pl_app_profiles_dup_reason (apps, "Torrent");
  g_assert_cmpstr (reason, ==, "Waiting for pl-app-helper to start");
  g_assert_null (pl_app_profiles_dup_reason (apps, "SSH"));
  /* The user's profile is untouched. */
  g_assert_true (pl_profile_get_enabled (linked));

  /* The app starts (its scope appears): mapped. */
  pid = spawn_helper (&exited);
  pl_fake_systemd_add_unit (f->systemd, "app-gnome-pl\\x2dapp\\x2dhelper-1.scope", "active");
  WAIT_UNTIL (pl_mapping_get_state (pl_session_find_mapping (session, "Torrent",
                                                             PL_PROTOCOL_TCP)) ==
              PL_MAPPING_STATE_ACTIVE);
  g_assert_cmpuint (count_requests (gateway, 6881, FALSE), >=, 1);
  g_assert_false (pl_app_profiles_is_waiting (apps, "Torrent"));

  /* It exits: the mapping is deleted on the router, the other stays. */
  kill (pid, SIGTERM);
  WAIT_UNTIL (count_requests (gateway, 6881, TRUE) >= 1);
  WAIT_UNTIL (pl_mapping_get_state (pl_session_find_mapping (session, "Torrent",
                                                             PL_PROTOCOL_TCP)) ==
              PL_MAPPING_STATE_DISABLED);
  g_assert_cmpint (pl_mapping_get_state (pl_session_find_mapping (session, "SSH",
                                                                  PL_PROTOCOL_TCP)), ==,
                   PL_MAPPING_STATE_ACTIVE);
  g_assert_cmpuint (count_requests (gateway, 22, TRUE), ==, 0);
  g_assert_true (pl_app_profiles_is_waiting (apps, "Torrent"));
  WAIT_UNTIL (exited);

  /* Switched off by the user while waiting: not waiting, no reason. */
  pl_profile_set_enabled (linked, FALSE);
  g_assert_false (pl_app_profiles_is_waiting (apps, "Torrent"));
  g_assert_null (pl_app_profiles_dup_reason (apps, "Torrent"));

  /* App= removed: the profile is the user's own object again, mapped while enabled. */
  pl_profile_set_enabled (linked, TRUE);
  pl_profile_set_app (linked, NULL);
  {
    g_autoptr(PlProfile) item = g_list_model_get_item (G_LIST_MODEL (apps), 1);

    g_assert_true (item == linked);
  }
  WAIT_UNTIL (pl_mapping_get_state (pl_session_find_mapping (session, "Torrent",
                                                             PL_PROTOCOL_TCP)) ==
              PL_MAPPING_STATE_ACTIVE);

  g_clear_object (&session);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* The name shown for an app: link comes from its .desktop file (the user's data folder
 * here); without one, the id. Other kinds show their name. */
static void
test_display_name (void)
{
  g_autofree char *dir = g_build_filename (g_get_user_data_dir (), "applications", NULL);
  g_autofree char *file = g_build_filename (dir, "org.example.Torrent.desktop", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *c = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (file, "[Desktop Entry]\nType=Application\n"
                                      "Name=Torrent Client\nExec=torrent\n", -1, &error));
  a = pl_app_link_dup_display_name ("app:org.example.Torrent");
  g_assert_cmpstr (a, ==, "Torrent Client");
  b = pl_app_link_dup_display_name ("app:org.example.Missing");
  g_assert_cmpstr (b, ==, "org.example.Missing");
  c = pl_app_link_dup_display_name ("unit:syncthing.service");
  g_assert_cmpstr (c, ==, "syncthing.service");
  g_unlink (file);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/pl/app-link/parse", test_parse);
  g_test_add_func ("/pl/app-link/profile-key", test_profile_key);
  g_test_add_func ("/pl/app-link/store-round-trip", test_store_round_trip);
  g_test_add_func ("/pl/app-link/store-bad-value", test_store_bad_value);
  g_test_add_func ("/pl/app-link/display-name", test_display_name);
  g_test_add ("/pl/app-watcher/units", Fixture, GINT_TO_POINTER (TRUE), fixture_set_up,
              test_watcher_units, fixture_tear_down);
  g_test_add ("/pl/app-watcher/no-systemd", Fixture, GINT_TO_POINTER (FALSE), fixture_set_up,
              test_watcher_no_systemd, fixture_tear_down);
  g_test_add_func ("/pl/app-watcher/process-running", test_process_running);
  g_test_add ("/pl/app-watcher/process-new-unit", Fixture, GINT_TO_POINTER (TRUE),
              fixture_set_up, test_process_new_unit, fixture_tear_down);
  g_test_add ("/pl/app-profiles/engine", Fixture, GINT_TO_POINTER (TRUE), fixture_set_up,
              test_engine, fixture_tear_down);

  return g_test_run ();
}
