/* test-tray-sni.c: the tray application as a panel sees it
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtk/gtk.h>

#include "pl-core.h"
#include "pl-fake-gateway.h"

/* Each test starts its own X server (Xvfb -displayfd) and its own session bus
 * (dbus-daemon --session), plays the panel on that bus (org.kde.StatusNotifierWatcher) and
 * the notification daemon (org.freedesktop.Notifications), hosts a fake NAT-PMP gateway on
 * its own 127.0.44.N with the real clock, and runs the real `portlight --background
 * --gateway 127.0.44.N` (path in $PORTLIGHT) with its own XDG folders. It then reads the
 * StatusNotifierItem's properties and the dbusmenu layout, clicks items (Event "clicked"),
 * and checks the profiles file, what reached the gateway, the next layout and the
 * notifications.
 *
 * Every D-Bus call from here is asynchronous and the main loop keeps turning (with a 50 ms
 * tick), because the fake servers live in this process: a synchronous call would wait for an
 * answer only this loop can give, and a blocking iteration with no tick can wait for ever.
 * Waits are bounded; on a timeout the app's output is printed. */

/* A bound on each wait, not an expectation: the app under AddressSanitizer on a loaded
 * machine can take many seconds to start. */
#define WAIT_MS 30000
#define DBUSMENU_IFACE "com.canonical.dbusmenu"
#define SNI_IFACE "org.kde.StatusNotifierItem"

typedef struct
{
  gboolean     no_watcher;       /* no panel at all */
  const char  *profiles;         /* profiles.ini */
  const char  *settings;         /* settings.ini, if any */
  guint16      result_code;      /* scripted gateway answers */
  guint16      assigned_port;
  const char  *external_address;
  guint32      epoch;
  const char  *extra_args;       /* one more argument for portlight */
  gboolean     copy_program;     /* run a copy of portlight, as if installed elsewhere */
  gboolean     listen;           /* "@PORT@" in the profiles: a port this test listens on,
                                  * "@IDLE@": one it holds without listening */
  gboolean     engine;           /* `portlightctl run` ($PORTLIGHTCTL) first: the tray is
                                  * its client */
} Config;

typedef struct
{
  const Config     *config;
  guint             n;

  char             *tmpdir;
  char             *config_home;
  char             *display;
  GSubprocess      *xvfb;
  GSubprocess      *dbus;
  char             *bus_address;
  GDBusConnection  *bus;
  guint             watcher_object_id;
  guint             notifications_object_id;
  guint             watcher_name_id;
  guint             notifications_name_id;
  guint             names_owned;

  char             *item_sender;
  char             *item_path;
  GPtrArray        *notifications;   /* char*: "summary|body" */
  guint             next_notification_id;

  char             *gateway_address;
  PlFakeGateway    *gateway;

  GSubprocess      *app;
  GString          *output;
  GCancellable     *cancellable;
  gboolean          app_exited;
  int               app_status;
  guint             tick_id;
  gboolean          skipped;

  GSubprocess      *engine;          /* config->engine */
  gboolean          engine_exited;
  gboolean          engine_on_bus;
  guint             engine_watch_id;

  GSocket          *listener;        /* config->listen: on listen_port */
  GSocket          *idle;            /* config->listen: bound to idle_port, not listening */
  guint16           listen_port;
  guint16           idle_port;
} Fixture;

static const char *default_profiles =
  "# Portlight profiles\n"
  "[SSH]\n"
  "Protocol=tcp\n"
  "InternalPort=22\n"
  "ExternalPort=2222\n"
  "Enabled=true\n"
  "\n"
  "[Web]\n"
  "Protocol=tcp\n"
  "InternalPort=8080\n"
  "Enabled=false\n";

/* Helpers: processes */

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

/* Reads one line from @fd within @timeout_ms (Xvfb writes the number and the newline in two
 * writes: read up to the newline before closing, pitfall 3). */
static char *
read_line_fd (int   fd,
              guint timeout_ms)
{
  char buf[256] = { 0, };
  gsize len = 0;
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (strchr (buf, '\n') == NULL && len < sizeof buf - 1)
    {
      struct pollfd pfd = { fd, POLLIN, 0 };
      gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
      ssize_t n;

      if (left <= 0 || poll (&pfd, 1, (int) left) <= 0)
        return NULL;
      n = read (fd, buf + len, sizeof buf - 1 - len);
      if (n <= 0)
        return NULL;
      len += n;
    }
  {
    char *newline = strchr (buf, '\n');

    if (newline == NULL)
      return NULL;
    *newline = '\0';
  }
  return g_strdup (buf);
}

static GSubprocess *
spawn_with_fd3 (char        **line,
                GError      **error,
                const char   *first_arg,
                ...)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  GSubprocess *process;
  int fds[2];
  va_list ap;

  va_start (ap, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  if (!g_unix_open_pipe (fds, FD_CLOEXEC, error))
    return NULL;
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  g_subprocess_launcher_take_fd (launcher, fds[1], 3);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, error);
  if (process != NULL)
    {
      *line = read_line_fd (fds[0], 10000);
      if (*line == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "%s did not start", first_arg);
          g_subprocess_force_exit (process);
          g_clear_object (&process);
        }
    }
  close (fds[0]);
  return process;
}

static void
stop_process (GSubprocess **process)
{
  if (*process == NULL)
    return;
  g_subprocess_send_signal (*process, SIGTERM);
  g_subprocess_wait (*process, NULL, NULL);
  g_clear_object (process);
}

/* Helpers: the main loop */

static gboolean
tick_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

typedef gboolean (*Condition) (Fixture *f, gconstpointer data);

static void
dump_output (Fixture *f)
{
  g_test_message ("portlight said:\n%s", f->output != NULL ? f->output->str : "(not started)");
}

static gboolean
wait_until (Fixture       *f,
            Condition      condition,
            gconstpointer  data,
            guint          timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!condition (f, data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, TRUE);
    }
  return TRUE;
}

#define WAIT_FOR(f, condition, data, what)                                \
  G_STMT_START {                                                          \
    if (!wait_until ((f), (condition), (data), WAIT_MS))                  \
      {                                                                   \
        dump_output (f);                                                  \
        g_error ("Timed out after %u ms waiting for %s", WAIT_MS, (what)); \
      }                                                                   \
  } G_STMT_END

typedef struct
{
  gboolean  done;
  GVariant *reply;
  GError   *error;
} CallResult;

static void
call_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  CallResult *r = user_data;

  r->reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &r->error);
  r->done = TRUE;
}

/* An asynchronous call, spinning the loop until it is answered. */
static GVariant *
call (Fixture            *f,
      const char         *destination,
      const char         *path,
      const char         *iface,
      const char         *method,
      GVariant           *parameters,
      const GVariantType *reply_type,
      GError            **error)
{
  CallResult r = { FALSE, NULL, NULL };

  g_dbus_connection_call (f->bus, destination, path, iface, method, parameters, reply_type,
                          G_DBUS_CALL_FLAGS_NO_AUTO_START, 5000, NULL, call_done_cb, &r);
  while (!r.done)
    g_main_context_iteration (NULL, TRUE);
  if (r.error != NULL)
    {
      /* Most often the app has gone: how it ended and what it printed last say why. It may
       * still be ending (a fatal warning prints, then traps): given 3 s to finish. */
      gint64 until = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
      g_autofree char *how = NULL;

      while (f->app != NULL && !f->app_exited && g_get_monotonic_time () < until)
        {
          if (!g_main_context_iteration (NULL, FALSE))
            g_usleep (10000);
        }
      for (guint i = 0; i < 20; i++)
        g_main_context_iteration (NULL, FALSE);
      if (f->app == NULL)
        how = g_strdup ("not started");
      else if (!f->app_exited)
        how = g_strdup ("still running");
      else if (WIFSIGNALED (f->app_status))
        how = g_strdup_printf ("killed by signal %d (%s)", WTERMSIG (f->app_status),
                               g_strsignal (WTERMSIG (f->app_status)));
      else
        how = g_strdup_printf ("exited with status %d", WEXITSTATUS (f->app_status));
      g_test_message ("%s failed: %s; the app %s; its output:\n%s", method, r.error->message,
                      how, f->output != NULL ? f->output->str : "");
      g_propagate_error (error, r.error);
    }
  return r.reply;
}

/* The fake panel: org.kde.StatusNotifierWatcher */

static const char watcher_xml[] =
  "<node>"
  "  <interface name='org.kde.StatusNotifierWatcher'>"
  "    <method name='RegisterStatusNotifierItem'><arg type='s' direction='in'/></method>"
  "    <method name='RegisterStatusNotifierHost'><arg type='s' direction='in'/></method>"
  "    <property name='RegisteredStatusNotifierItems' type='as' access='read'/>"
  "    <property name='IsStatusNotifierHostRegistered' type='b' access='read'/>"
  "    <property name='ProtocolVersion' type='i' access='read'/>"
  "    <signal name='StatusNotifierItemRegistered'><arg type='s'/></signal>"
  "    <signal name='StatusNotifierHostRegistered'/>"
  "  </interface>"
  "</node>";

static void
watcher_method_call (GDBusConnection       *connection,
                     const char            *sender,
                     const char            *path,
                     const char            *iface,
                     const char            *method,
                     GVariant              *parameters,
                     GDBusMethodInvocation *invocation,
                     gpointer               user_data)
{
  Fixture *f = user_data;

  if (g_strcmp0 (method, "RegisterStatusNotifierItem") == 0)
    {
      const char *item;

      g_variant_get (parameters, "(&s)", &item);
      /* The item is an object path, not a bus name; the sender is its bus name. */
      g_free (f->item_sender);
      g_free (f->item_path);
      f->item_sender = g_strdup (sender);
      f->item_path = g_strdup (item[0] == '/' ? item : "/StatusNotifierItem");
    }
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static GVariant *
watcher_get_property (GDBusConnection  *connection,
                      const char       *sender,
                      const char       *path,
                      const char       *iface,
                      const char       *property,
                      GError          **error,
                      gpointer          user_data)
{
  Fixture *f = user_data;

  if (g_strcmp0 (property, "IsStatusNotifierHostRegistered") == 0)
    return g_variant_new_boolean (TRUE);
  if (g_strcmp0 (property, "ProtocolVersion") == 0)
    return g_variant_new_int32 (0);
  if (g_strcmp0 (property, "RegisteredStatusNotifierItems") == 0)
    {
      const char *none[] = { NULL };
      g_autofree char *item = f->item_sender != NULL
                              ? g_strconcat (f->item_sender, f->item_path, NULL) : NULL;
      const char *one[] = { item, NULL };

      return g_variant_new_strv (item != NULL ? one : none, -1);
    }
  return NULL;
}

/* The fake notification daemon: org.freedesktop.Notifications */

static const char notifications_xml[] =
  "<node>"
  "  <interface name='org.freedesktop.Notifications'>"
  "    <method name='Notify'>"
  "      <arg type='s' direction='in'/><arg type='u' direction='in'/>"
  "      <arg type='s' direction='in'/><arg type='s' direction='in'/>"
  "      <arg type='s' direction='in'/><arg type='as' direction='in'/>"
  "      <arg type='a{sv}' direction='in'/><arg type='i' direction='in'/>"
  "      <arg type='u' direction='out'/>"
  "    </method>"
  "    <method name='CloseNotification'><arg type='u' direction='in'/></method>"
  "    <method name='GetCapabilities'><arg type='as' direction='out'/></method>"
  "    <method name='GetServerInformation'>"
  "      <arg type='s' direction='out'/><arg type='s' direction='out'/>"
  "      <arg type='s' direction='out'/><arg type='s' direction='out'/>"
  "    </method>"
  "    <signal name='NotificationClosed'><arg type='u'/><arg type='u'/></signal>"
  "    <signal name='ActionInvoked'><arg type='u'/><arg type='s'/></signal>"
  "  </interface>"
  "</node>";

static void
notifications_method_call (GDBusConnection       *connection,
                           const char            *sender,
                           const char            *path,
                           const char            *iface,
                           const char            *method,
                           GVariant              *parameters,
                           GDBusMethodInvocation *invocation,
                           gpointer               user_data)
{
  Fixture *f = user_data;

  if (g_strcmp0 (method, "Notify") == 0)
    {
      const char *app_name, *icon, *summary, *body;
      guint32 replaces;

      g_variant_get (parameters, "(&su&s&s&s@as@a{sv}i)", &app_name, &replaces, &icon,
                     &summary, &body, NULL, NULL, NULL);
      g_test_message ("Notify: %s | %s", summary, body);
      g_ptr_array_add (f->notifications, g_strdup_printf ("%s|%s", summary, body));
      g_dbus_method_invocation_return_value (invocation,
                                             g_variant_new ("(u)", ++f->next_notification_id));
    }
  else if (g_strcmp0 (method, "GetCapabilities") == 0)
    {
      const char *caps[] = { "body", "actions", NULL };

      g_dbus_method_invocation_return_value (invocation,
                                             g_variant_new ("(^as)", caps));
    }
  else if (g_strcmp0 (method, "GetServerInformation") == 0)
    g_dbus_method_invocation_return_value (invocation,
                                           g_variant_new ("(ssss)", "fake", "portlight", "1", "1.2"));
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static void
name_acquired_cb (GDBusConnection *connection,
                  const char      *name,
                  gpointer         user_data)
{
  Fixture *f = user_data;

  f->names_owned++;
}

static gboolean
names_owned (Fixture       *f,
             gconstpointer  data)
{
  return f->names_owned >= GPOINTER_TO_UINT (data);
}

/* The app */

static void
read_line_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Fixture *f = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  gsize length;

  g_autofree char *valid = NULL;

  /* Bytes, made valid UTF-8 here: a line that is not (a library's message) must not end the
   * reading, or what the app printed last would be lost. */
  line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result,
                                               &length, &error);
  if (line == NULL)
    return;   /* EOF, cancelled or an error: the output is complete */
  valid = g_utf8_make_valid (line, (gssize) length);
  g_string_append (f->output, valid);
  g_string_append_c (f->output, '\n');
  g_data_input_stream_read_line_async (G_DATA_INPUT_STREAM (source), G_PRIORITY_DEFAULT,
                                       f->cancellable, read_line_cb, f);
}

static void
app_exited_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Fixture *f = user_data;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL))
    return;
  f->app_exited = TRUE;
  f->app_status = g_subprocess_get_status (G_SUBPROCESS (source));
}

static GSubprocessLauncher *
app_launcher (Fixture             *f,
              GSubprocessFlags     flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);
  g_autofree char *data_home = g_build_filename (f->tmpdir, "data", NULL);
  g_autofree char *cache_home = g_build_filename (f->tmpdir, "cache", NULL);
  g_autofree char *state_home = g_build_filename (f->tmpdir, "state", NULL);
  g_autofree char *runtime = g_build_filename (f->tmpdir, "runtime", NULL);

  g_assert_cmpint (g_mkdir_with_parents (runtime, 0700), ==, 0);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  g_subprocess_launcher_setenv (launcher, "DISPLAY", f->display, TRUE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", f->bus_address, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "DBUS_STARTER_ADDRESS");
  g_subprocess_launcher_unsetenv (launcher, "DBUS_STARTER_BUS_TYPE");
  g_subprocess_launcher_unsetenv (launcher, "WAYLAND_DISPLAY");
  /* As the README runs it: the build tree's program finds its icons by itself. */
  g_subprocess_launcher_unsetenv (launcher, "PORTLIGHT_ICON_DIR");
  g_subprocess_launcher_setenv (launcher, "HOME", f->tmpdir, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", f->config_home, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_DIRS", f->tmpdir, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", data_home, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", cache_home, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_STATE_HOME", state_home, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", runtime, TRUE);
  g_subprocess_launcher_setenv (launcher, "NO_AT_BRIDGE", "1", TRUE);
  g_subprocess_launcher_setenv (launcher, "GDK_BACKEND", "x11", TRUE);
  g_subprocess_launcher_setenv (launcher, "GNOTIFICATION_BACKEND", "freedesktop", TRUE);
  g_subprocess_launcher_setenv (launcher, "GSETTINGS_BACKEND", "memory", TRUE);
  /* Criticals (programming errors) abort the app; a warning is printed and fails the test in
   * fixture_tear_down() with all the app printed: a warning made fatal traps the app at once,
   * and the test then lost the app without its last words. */
  g_subprocess_launcher_setenv (launcher, "G_DEBUG", "fatal-criticals", TRUE);
  g_subprocess_launcher_setenv (launcher, "G_MESSAGES_DEBUG", "pl-tray", TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_setenv (launcher, "LANGUAGE", "", TRUE);
  return launcher;
}

static void
start_app (Fixture *f)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GDataInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  const char *portlight = g_getenv ("PORTLIGHT");

  g_assert_nonnull (portlight);
  if (f->config->copy_program)
    {
      g_autoptr(GFile) source = g_file_new_for_path (portlight);
      g_autofree char *bin = g_build_filename (f->tmpdir, "bin", NULL);
      g_autoptr(GFile) copy = g_file_new_build_filename (bin, "portlight", NULL);

      g_assert_cmpint (g_mkdir_with_parents (bin, 0700), ==, 0);
      g_assert_true (g_file_copy (source, copy, G_FILE_COPY_NONE, NULL, NULL, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpint (g_chmod (g_file_peek_path (copy), 0700), ==, 0);
      portlight = g_file_peek_path (copy);
      launcher = app_launcher (f, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
      f->app = g_subprocess_launcher_spawn (launcher, &error, portlight, "--background",
                                            "--gateway", f->gateway_address, NULL);
    }
  else
    {
      launcher = app_launcher (f, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
      f->app = g_subprocess_launcher_spawn (launcher, &error, portlight, "--background",
                                            "--gateway", f->gateway_address,
                                            f->config->extra_args, NULL);
    }
  g_assert_no_error (error);

  f->output = g_string_new (NULL);
  stream = g_data_input_stream_new (g_subprocess_get_stdout_pipe (f->app));
  g_data_input_stream_read_line_async (stream, G_PRIORITY_DEFAULT, f->cancellable,
                                       read_line_cb, f);
  g_subprocess_wait_async (f->app, f->cancellable, app_exited_cb, f);
}

static gboolean
item_registered (Fixture       *f,
                 gconstpointer  data)
{
  return f->item_sender != NULL || f->app_exited;
}

static gboolean
output_contains (Fixture       *f,
                 gconstpointer  data)
{
  return strstr (f->output->str, data) != NULL;
}

static gboolean
app_exited (Fixture       *f,
            gconstpointer  data)
{
  return f->app_exited;
}

static gboolean
engine_exited (Fixture       *f,
               gconstpointer  data)
{
  return f->engine_exited;
}

static gboolean
engine_on_bus (Fixture       *f,
               gconstpointer  data)
{
  return f->engine_on_bus || f->engine_exited;
}

static void
engine_exited_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Fixture *f = user_data;

  if (g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL))
    f->engine_exited = TRUE;
}

static void
engine_appeared_cb (GDBusConnection *connection,
                    const char      *name,
                    const char      *owner,
                    gpointer         user_data)
{
  ((Fixture *) user_data)->engine_on_bus = TRUE;
}

/* `portlightctl run` with the app's folders and bus, against the fake gateway: the engine
 * the tray finds on the bus. */
static void
start_engine (Fixture *f)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  const char *portlightctl = g_getenv ("PORTLIGHTCTL");

  g_assert_nonnull (portlightctl);
  launcher = app_launcher (f, G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  f->engine = g_subprocess_launcher_spawn (launcher, &error, portlightctl, "run", "--protocol",
                                           "natpmp", "-g", f->gateway_address, NULL);
  g_assert_no_error (error);
  g_subprocess_wait_async (f->engine, f->cancellable, engine_exited_cb, f);
  f->engine_watch_id = g_bus_watch_name_on_connection (f->bus,
                                                       "io.github.portlight.Portlight.Broker1",
                                                       G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                       engine_appeared_cb, NULL, f, NULL);
  WAIT_FOR (f, engine_on_bus, NULL, "the engine on the bus");
  g_assert_false (f->engine_exited);
}

/* Fixture */

/* 127.0.%u.N, or when another run of these tests holds it, 127.R.%u.N for a random R. */
static PlFakeGateway *
start_gateway (guint     subnet,
               guint     n,
               PlClock  *clock,
               char    **address)
{
  for (guint attempt = 0; ; attempt++)
    {
      g_autoptr(GError) error = NULL;
      PlFakeGateway *gateway;

      g_free (*address);
      *address = g_strdup_printf ("127.%u.%u.%u",
                                  attempt == 0 ? 0 : (guint) g_random_int_range (1, 255),
                                  subnet, n);
      gateway = pl_fake_gateway_new (*address, clock, &error);
      if (gateway != NULL)
        return gateway;
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE) || attempt == 20)
        g_error ("Cannot start the fake gateway on %s: %s", *address, error->message);
    }
}


/* The panel comes: the watcher's object and name on the bus (the name is acquired later). */
static void
start_watcher (Fixture *f)
{
  static const GDBusInterfaceVTable watcher_vtable = {
    watcher_method_call, watcher_get_property, NULL, { 0 }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (watcher_xml, &error);

  g_assert_no_error (error);
  if (f->watcher_object_id == 0)
    {
      f->watcher_object_id =
        g_dbus_connection_register_object (f->bus, "/StatusNotifierWatcher", info->interfaces[0],
                                           &watcher_vtable, f, NULL, &error);
      g_assert_no_error (error);
    }
  g_assert_cmpuint (f->watcher_name_id, ==, 0);
  f->watcher_name_id = g_bus_own_name_on_connection (f->bus, "org.kde.StatusNotifierWatcher",
                                                     G_BUS_NAME_OWNER_FLAGS_NONE,
                                                     name_acquired_cb, NULL, f, NULL);
}

static gboolean
program_exists (const char *name)
{
  g_autofree char *path = g_find_program_in_path (name);

  return path != NULL;
}

/* A TCP socket on 0.0.0.0 and an ephemeral port, listening when @listen. */
static GSocket *
open_tcp_socket (gboolean  listen,
                 guint16  *port)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket_ = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, 0,
                                             &error);
  g_autoptr(GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) where = g_inet_socket_address_new (any, 0);
  g_autoptr(GSocketAddress) local = NULL;

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket_, where, FALSE, &error));
  g_assert_no_error (error);
  if (listen)
    g_assert_true (g_socket_listen (socket_, &error));
  g_assert_no_error (error);
  local = g_socket_get_local_address (socket_, &error);
  g_assert_no_error (error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  return g_steal_pointer (&socket_);
}

static char *
replace_all (const char *text,
             const char *what,
             const char *with)
{
  g_auto(GStrv) parts = g_strsplit (text, what, -1);

  return g_strjoinv (with, parts);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  static GDBusNodeInfo *notifications_info;
  static const GDBusInterfaceVTable notifications_vtable = { notifications_method_call, NULL, NULL, { 0 } };
  static guint next_n = 1;
  g_autoptr(GError) error = NULL;
  g_autofree char *display_number = NULL;
  g_autofree char *portlight_dir = NULL;
  g_autofree char *profiles_path = NULL;
  g_autofree char *print_address = NULL;
  guint wanted_names;

  f->config = data;
  f->n = next_n++;
  f->notifications = g_ptr_array_new_with_free_func (g_free);
  f->cancellable = g_cancellable_new ();
  f->tick_id = g_timeout_add (50, tick_cb, NULL);

  if (g_getenv ("PORTLIGHT") == NULL)
    {
      g_test_skip ("$PORTLIGHT (the path of the portlight program) is not set");
      f->skipped = TRUE;
      return;
    }
  if (!program_exists ("Xvfb") || !program_exists ("dbus-daemon"))
    {
      g_test_skip ("Xvfb or dbus-daemon is not installed (apt-get install xvfb dbus-daemon)");
      f->skipped = TRUE;
      return;
    }

  f->tmpdir = g_dir_make_tmp ("portlight-sni-XXXXXX", &error);
  g_assert_no_error (error);
  f->config_home = g_build_filename (f->tmpdir, "config", NULL);
  portlight_dir = g_build_filename (f->config_home, "portlight", NULL);
  g_assert_cmpint (g_mkdir_with_parents (portlight_dir, 0700), ==, 0);
  profiles_path = g_build_filename (portlight_dir, "profiles.ini", NULL);
  if (f->config->listen)
    {
      g_autofree char *listen_port = NULL;
      g_autofree char *idle_port = NULL;
      g_autofree char *with_port = NULL;
      g_autofree char *profiles = NULL;

      f->listener = open_tcp_socket (TRUE, &f->listen_port);
      f->idle = open_tcp_socket (FALSE, &f->idle_port);
      listen_port = g_strdup_printf ("%u", f->listen_port);
      idle_port = g_strdup_printf ("%u", f->idle_port);
      with_port = replace_all (f->config->profiles, "@PORT@", listen_port);
      profiles = replace_all (with_port, "@IDLE@", idle_port);
      g_assert_true (g_file_set_contents (profiles_path, profiles, -1, &error));
    }
  else
    g_assert_true (g_file_set_contents (profiles_path,
                                        f->config->profiles != NULL ? f->config->profiles
                                                                    : default_profiles,
                                        -1, &error));
  if (f->config->settings != NULL)
    {
      g_autofree char *settings_path = g_build_filename (portlight_dir, "settings.ini", NULL);

      g_assert_true (g_file_set_contents (settings_path, f->config->settings, -1, &error));
    }

  /* A private X server and a private session bus. */
  f->xvfb = spawn_with_fd3 (&display_number, &error, "Xvfb", "-displayfd", "3", "-nolisten",
                            "tcp", "-screen", "0", "1024x768x24", NULL);
  g_assert_no_error (error);
  f->display = g_strdup_printf (":%s", display_number);

  f->dbus = spawn_with_fd3 (&f->bus_address, &error, "dbus-daemon", "--session", "--nofork",
                            "--nopidfile", "--print-address=3", NULL);
  g_assert_no_error (error);
  f->bus = g_dbus_connection_new_for_address_sync (f->bus_address,
                                                   G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                   G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                   NULL, NULL, &error);
  g_assert_no_error (error);

  /* The panel (unless there is none) and the notification daemon. */
  if (notifications_info == NULL)
    {
      notifications_info = g_dbus_node_info_new_for_xml (notifications_xml, &error);
      g_assert_no_error (error);
    }
  wanted_names = 1;
  if (!f->config->no_watcher)
    {
      start_watcher (f);
      wanted_names++;
    }
  f->notifications_object_id =
    g_dbus_connection_register_object (f->bus, "/org/freedesktop/Notifications",
                                       notifications_info->interfaces[0],
                                       &notifications_vtable, f, NULL, &error);
  g_assert_no_error (error);
  f->notifications_name_id = g_bus_own_name_on_connection (f->bus,
                                                           "org.freedesktop.Notifications",
                                                           G_BUS_NAME_OWNER_FLAGS_NONE,
                                                           name_acquired_cb, NULL, f, NULL);
  WAIT_FOR (f, names_owned, GUINT_TO_POINTER (wanted_names), "the fake servers' names");

  /* The router. */
  f->gateway = start_gateway (44, f->n, pl_clock_get_default (), &f->gateway_address);
  if (f->config->result_code != 0)
    pl_fake_gateway_set_result_code (f->gateway, f->config->result_code);
  if (f->config->assigned_port != 0)
    pl_fake_gateway_set_assigned_port (f->gateway, f->config->assigned_port);
  if (f->config->external_address != NULL)
    pl_fake_gateway_set_external_address (f->gateway, f->config->external_address);
  if (f->config->epoch != 0)
    pl_fake_gateway_set_epoch (f->gateway, f->config->epoch);

  if (f->config->engine)
    start_engine (f);
  start_app (f);
  if (!f->config->no_watcher)
    {
      WAIT_FOR (f, item_registered, NULL, "the StatusNotifierItem to register");
      if (f->app_exited)
        {
          dump_output (f);
          g_error ("portlight exited with status %d", f->app_status);
        }
    }
}

static void
rm_rf (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);

        if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
          rm_rf (child);
        else
          g_unlink (child);
      }
  g_rmdir (path);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  if (f->app != NULL && !f->app_exited)
    {
      g_subprocess_send_signal (f->app, SIGTERM);
      if (!wait_until (f, app_exited, NULL, 5000))
        g_subprocess_force_exit (f->app);
    }
  if (f->engine != NULL && !f->engine_exited)
    {
      g_subprocess_send_signal (f->engine, SIGTERM);
      if (!wait_until (f, engine_exited, NULL, 10000))
        g_subprocess_force_exit (f->engine);
    }
  g_clear_handle_id (&f->engine_watch_id, g_bus_unwatch_name);
  g_clear_object (&f->engine);
  /* What the app printed to its end, then: no warning in it. */
  for (guint i = 0; f->app != NULL && i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
  g_cancellable_cancel (f->cancellable);
  g_clear_object (&f->app);
  if (f->output != NULL && (strstr (f->output->str, "-WARNING **") != NULL ||
                            strstr (f->output->str, "-CRITICAL **") != NULL))
    {
      dump_output (f);
      g_test_fail_printf ("portlight printed a warning (its output is above)");
    }

  if (f->bus != NULL)
    {
      g_clear_handle_id (&f->watcher_name_id, g_bus_unown_name);
      g_clear_handle_id (&f->notifications_name_id, g_bus_unown_name);
      if (f->watcher_object_id != 0)
        g_dbus_connection_unregister_object (f->bus, f->watcher_object_id);
      if (f->notifications_object_id != 0)
        g_dbus_connection_unregister_object (f->bus, f->notifications_object_id);
      g_dbus_connection_close_sync (f->bus, NULL, NULL);
      g_clear_object (&f->bus);
    }
  stop_process (&f->dbus);
  stop_process (&f->xvfb);
  g_clear_object (&f->gateway);
  g_clear_object (&f->listener);
  g_clear_object (&f->idle);

  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_handle_id (&f->tick_id, g_source_remove);
  if (f->tmpdir != NULL)
    rm_rf (f->tmpdir);
  g_free (f->tmpdir);
  g_free (f->config_home);
  g_free (f->display);
  g_free (f->bus_address);
  g_free (f->item_sender);
  g_free (f->item_path);
  g_free (f->gateway_address);
  g_clear_pointer (&f->notifications, g_ptr_array_unref);
  if (f->output != NULL)
    g_string_free (f->output, TRUE);
  g_clear_object (&f->cancellable);
}

/* The item and its menu */

static GVariant *
item_property (Fixture    *f,
               const char *name)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  GVariant *value;

  reply = call (f, f->item_sender, f->item_path, "org.freedesktop.DBus.Properties", "Get",
                g_variant_new ("(ss)", SNI_IFACE, name), G_VARIANT_TYPE ("(v)"), &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(v)", &value);
  return value;
}

static char *
item_string (Fixture    *f,
             const char *name)
{
  g_autoptr(GVariant) value = item_property (f, name);

  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING) ||
      g_variant_is_of_type (value, G_VARIANT_TYPE_OBJECT_PATH))
    return g_variant_dup_string (value, NULL);
  return g_variant_print (value, FALSE);
}

typedef struct
{
  int       id;
  char     *label;
  char     *type;          /* "standard" or "separator" */
  char     *toggle_type;   /* "" or "checkmark" */
  int       toggle_state;
  gboolean  enabled;
} MenuItem;

static void
menu_item_free (MenuItem *item)
{
  g_free (item->label);
  g_free (item->type);
  g_free (item->toggle_type);
  g_free (item);
}

static char *
menu_path (Fixture *f)
{
  return item_string (f, "Menu");
}

/* The top level of the menu, top to bottom. */
static GPtrArray *
get_menu (Fixture *f)
{
  g_autofree char *path = menu_path (f);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) root = NULL;
  g_autoptr(GVariant) children = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *items = g_ptr_array_new_with_free_func ((GDestroyNotify) menu_item_free);
  const char *no_props[] = { NULL };
  guint revision;

  reply = call (f, f->item_sender, path, DBUSMENU_IFACE, "GetLayout",
                g_variant_new ("(ii^as)", 0, -1, no_props), G_VARIANT_TYPE ("(u(ia{sv}av))"),
                &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(u@(ia{sv}av))", &revision, &root);
  children = g_variant_get_child_value (root, 2);

  for (gsize i = 0; i < g_variant_n_children (children); i++)
    {
      g_autoptr(GVariant) boxed = g_variant_get_child_value (children, i);
      g_autoptr(GVariant) child = g_variant_get_variant (boxed);
      g_autoptr(GVariant) props = g_variant_get_child_value (child, 1);
      MenuItem *item = g_new0 (MenuItem, 1);
      GVariantDict dict;

      g_variant_get_child (child, 0, "i", &item->id);
      g_variant_dict_init (&dict, props);
      if (!g_variant_dict_lookup (&dict, "label", "s", &item->label))
        item->label = g_strdup ("");
      if (!g_variant_dict_lookup (&dict, "type", "s", &item->type))
        item->type = g_strdup ("standard");
      if (!g_variant_dict_lookup (&dict, "toggle-type", "s", &item->toggle_type))
        item->toggle_type = g_strdup ("");
      if (!g_variant_dict_lookup (&dict, "toggle-state", "i", &item->toggle_state))
        item->toggle_state = -1;
      if (!g_variant_dict_lookup (&dict, "enabled", "b", &item->enabled))
        item->enabled = TRUE;
      g_variant_dict_clear (&dict);
      g_ptr_array_add (items, item);
    }
  return items;
}

/* "label", "-" for separators, "[x] label"/"[ ] label" for check items, "(label)" for
 * insensitive ones; one per line. */
static char *
dump_menu (GPtrArray *items)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < items->len; i++)
    {
      MenuItem *item = g_ptr_array_index (items, i);

      if (g_strcmp0 (item->type, "separator") == 0)
        g_string_append (out, "-");
      else if (g_strcmp0 (item->toggle_type, "checkmark") == 0)
        g_string_append_printf (out, "[%c] %s", item->toggle_state == 1 ? 'x' : ' ', item->label);
      else if (!item->enabled)
        g_string_append_printf (out, "(%s)", item->label);
      else
        g_string_append (out, item->label);
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

static MenuItem *
find_item (GPtrArray  *items,
           const char *label_prefix)
{
  for (guint i = 0; i < items->len; i++)
    {
      MenuItem *item = g_ptr_array_index (items, i);

      if (g_str_has_prefix (item->label, label_prefix))
        return item;
    }
  return NULL;
}

static int
item_id (Fixture    *f,
         const char *label_prefix)
{
  g_autoptr(GPtrArray) items = get_menu (f);
  MenuItem *item = find_item (items, label_prefix);

  if (item == NULL)
    g_error ("No menu item “%s…”", label_prefix);
  return item->id;
}

static void
click (Fixture    *f,
       const char *label_prefix)
{
  g_autoptr(GPtrArray) items = get_menu (f);
  g_autofree char *path = menu_path (f);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  MenuItem *item = find_item (items, label_prefix);

  if (item == NULL)
    {
      g_autofree char *dump = dump_menu (items);

      g_error ("No menu item “%s…” in:\n%s", label_prefix, dump);
    }
  g_test_message ("click %d “%s”", item->id, item->label);
  reply = call (f, f->item_sender, path, DBUSMENU_IFACE, "Event",
                g_variant_new ("(isvu)", item->id, "clicked", g_variant_new_int32 (0), 0u),
                NULL, &error);
  g_assert_no_error (error);
}

/* Every line of the menu is short: panels make the menu as wide as its longest line. */
static void
assert_lines_short (Fixture *f)
{
  g_autoptr(GPtrArray) items = get_menu (f);

  for (guint i = 0; i < items->len; i++)
    {
      MenuItem *item = g_ptr_array_index (items, i);

      if (g_utf8_strlen (item->label, -1) > 60)
        g_error ("Menu line of %ld characters: “%s”", g_utf8_strlen (item->label, -1),
                 item->label);
    }
}

/* Conditions */

static gboolean
menu_has (Fixture       *f,
          gconstpointer  data)
{
  g_autoptr(GPtrArray) items = get_menu (f);
  g_autofree char *dump = dump_menu (items);

  return strstr (dump, data) != NULL;
}

/* Any of the lines saying who listens on port 22 (the machine's sshd or nothing). */
#define SSH_LISTENER_LINE \
  "^Active · (nothing listens on port 22 yet|a program listens on port 22|.+ listens|" \
  ".+ accepts no outside connections|port 22 takes no outside connections)$"

/* A profile state line (an insensitive line starting "Active") matches the regex @data. */
static gboolean
state_line_matches (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GPtrArray) items = get_menu (f);

  for (guint i = 0; i < items->len; i++)
    {
      MenuItem *item = g_ptr_array_index (items, i);

      if (!item->enabled && g_str_has_prefix (item->label, "Active") &&
          g_regex_match_simple (data, item->label, 0, 0))
        return TRUE;
    }
  return FALSE;
}

static gboolean
icon_is (Fixture       *f,
         gconstpointer  data)
{
  g_autofree char *icon = item_string (f, "IconName");

  return g_str_has_suffix (icon, data);
}

static gboolean
notifications_at_least (Fixture       *f,
                        gconstpointer  data)
{
  return f->notifications->len >= GPOINTER_TO_UINT (data);
}

typedef struct
{
  guint8   opcode;
  guint16  internal_port;
  gboolean delete;
} RequestWanted;

static gboolean
gateway_saw (Fixture       *f,
             gconstpointer  data)
{
  const RequestWanted *want = data;
  GPtrArray *requests = pl_fake_gateway_get_requests (f->gateway);

  for (guint i = 0; i < requests->len; i++)
    {
      PlFakeRequest *r = g_ptr_array_index (requests, i);

      if (r->request.opcode == want->opcode && r->request.internal_port == want->internal_port &&
          (r->request.lifetime == 0) == want->delete)
        return TRUE;
    }
  return FALSE;
}

static gboolean
gateway_requests_at_least (Fixture       *f,
                           gconstpointer  data)
{
  return pl_fake_gateway_get_requests (f->gateway)->len >= GPOINTER_TO_UINT (data);
}

/* The profiles file: "true", "false" or NULL (no such key/profile). */
static char *
stored_enabled (Fixture    *f,
                const char *profile)
{
  g_autofree char *path = g_build_filename (f->config_home, "portlight", "profiles.ini", NULL);
  g_autoptr(GKeyFile) key_file = g_key_file_new ();

  if (!g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, NULL))
    return NULL;
  return g_key_file_get_value (key_file, profile, "Enabled", NULL);
}

typedef struct
{
  const char *profile;
  const char *value;
} Stored;

static gboolean
stored_is (Fixture       *f,
           gconstpointer  data)
{
  const Stored *want = data;
  g_autofree char *value = stored_enabled (f, want->profile);

  return g_strcmp0 (value, want->value) == 0;
}

static gboolean
window_open (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  /* A GtkApplicationWindow exports its actions on the bus: it exists. */
  reply = call (f, "io.github.portlight.Portlight", "/io/github/portlight/Portlight/window/1",
                "org.gtk.Actions", "List", NULL, G_VARIANT_TYPE ("(as)"), &error);
  return reply != NULL;
}

static gboolean
file_exists (Fixture       *f,
             gconstpointer  data)
{
  return g_file_test (data, G_FILE_TEST_EXISTS);
}

static gboolean
file_missing (Fixture       *f,
              gconstpointer  data)
{
  return !g_file_test (data, G_FILE_TEST_EXISTS);
}

/* Tests */

static const Config config_default = { 0, };

static void
test_item (Fixture       *f,
           gconstpointer  data)
{
  g_autofree char *id = NULL, *title = NULL, *status = NULL, *category = NULL;
  g_autofree char *desc = NULL, *theme_path = NULL, *path = NULL;

  g_test_summary ("The StatusNotifierItem: id, title, category, status, a state icon with its "
                  "description, the icon folder (the source tree's, run from the build tree) "
                  "and the menu");
  if (f->skipped)
    return;

  WAIT_FOR (f, icon_is, "-active-symbolic", "the active icon");
  id = item_string (f, "Id");
  title = item_string (f, "Title");
  status = item_string (f, "Status");
  category = item_string (f, "Category");
  desc = item_string (f, "IconAccessibleDesc");
  theme_path = item_string (f, "IconThemePath");
  path = menu_path (f);

  g_assert_cmpstr (id, ==, "portlight");
  g_assert_cmpstr (title, ==, "Portlight");
  g_assert_cmpstr (status, ==, "Active");
  g_assert_cmpstr (category, ==, "ApplicationStatus");
  g_assert_cmpstr (desc, ==, "1 port open");
  /* Run from the build tree without PORTLIGHT_ICON_DIR: the source tree's icons, which the
   * panel looks the icon name up in. */
  g_assert_nonnull (g_getenv ("PL_SOURCE_ICON_DIR"));
  g_assert_cmpstr (theme_path, ==, g_getenv ("PL_SOURCE_ICON_DIR"));
  g_assert_true (g_str_has_prefix (path, "/"));
  g_assert_false (window_open (f, NULL));
}

static const Config config_elsewhere = { .copy_program = TRUE };

static void
test_installed_icons (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *theme_path = NULL;
  g_autofree char *icon = NULL;

  g_test_summary ("A portlight that is not the build tree's binary (an installed one) uses "
                  "the installed icon theme, not the source tree's icons");
  if (f->skipped)
    return;

  WAIT_FOR (f, icon_is, "-active-symbolic", "the active icon");
  theme_path = item_string (f, "IconThemePath");
  icon = item_string (f, "IconName");
  g_assert_cmpstr (theme_path, ==, "");
  g_assert_cmpstr (icon, ==, "io.github.portlight.Portlight-active-symbolic");
  g_assert_null (strstr (f->output->str, "Icons from "));
}

static void
test_menu (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GPtrArray) items = NULL;
  g_autofree char *dump = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *state_line = NULL;
  MenuItem *state;

  g_test_summary ("The menu, top to bottom: public address, router, profiles with their "
                  "state (who listens on the port) and a Copy item, Re-publish All Ports, "
                  "Add Profile…, Edit Profiles…, Start at Login, Show Notifications, "
                  "Quit; activating the address copies it");
  if (f->skipped)
    return;

  /* Whether something listens on port 22 here is the machine's business: any answer. */
  WAIT_FOR (f, state_line_matches, SSH_LISTENER_LINE, "the state line saying who listens");
  items = get_menu (f);
  state = find_item (items, "Active · ");
  if (state == NULL)
    g_error ("No state line");
  state_line = g_strdup (state->label);
  dump = dump_menu (items);
  expected = g_strdup_printf ("Public address 203.0.113.7\n"
                              "(Router %s · NAT-PMP)\n"
                              "-\n"
                              "[x] SSH — TCP 22 → 2222\n"
                              "(%s)\n"
                              "Copy 203.0.113.7:2222\n"
                              "[ ] Web — TCP 8080\n"
                              "Re-publish All Ports\n"
                              "-\n"
                              "Add Profile…\n"
                              "Edit Profiles…\n"
                              "What’s Open on Your Router…\n"
                              "-\n"
                              "[ ] Start at Login\n"
                              "[x] Show Notifications\n"
                              "-\n"
                              "Quit\n",
                              f->gateway_address, state_line);
  g_assert_cmpstr (dump, ==, expected);
  g_assert_true (g_regex_match_simple (SSH_LISTENER_LINE, state_line, 0, 0));
  assert_lines_short (f);

  click (f, "Public address ");
  WAIT_FOR (f, output_contains, "Copied 203.0.113.7 to the clipboard", "the copy");
}

static void
test_toggle (Fixture       *f,
             gconstpointer  data)
{
  const RequestWanted map_web = { 2, 8080, FALSE };
  const RequestWanted unmap_web = { 2, 8080, TRUE };
  const Stored web_on = { "Web", "true" };
  const Stored web_off = { "Web", "false" };
  int web_id;

  g_test_summary ("Clicking a profile enables it in the store and on the router; clicking "
                  "again disables it and closes the port; the menu follows");
  if (f->skipped)
    return;

  WAIT_FOR (f, icon_is, "-active-symbolic", "the active icon");
  web_id = item_id (f, "Web — ");

  click (f, "Web — ");
  WAIT_FOR (f, menu_has, "[x] Web — TCP 8080\n(Active · ", "Web checked and active");
  /* The line stayed the same dbusmenu item: an open menu does not jump. */
  g_assert_cmpint (item_id (f, "Web — "), ==, web_id);
  WAIT_FOR (f, stored_is, &web_on, "Enabled=true in the profiles file");
  WAIT_FOR (f, gateway_saw, &map_web, "the map request for 8080");
  g_assert_false (gateway_saw (f, &unmap_web));
  {
    g_autofree char *desc = item_string (f, "IconAccessibleDesc");

    g_assert_cmpstr (desc, ==, "2 ports open");
  }

  click (f, "Web — ");
  WAIT_FOR (f, menu_has, "[ ] Web — TCP 8080\nRe-publish All Ports\n-\n",
            "Web unchecked, without a state line");
  WAIT_FOR (f, stored_is, &web_off, "Enabled=false in the profiles file");
  WAIT_FOR (f, gateway_saw, &unmap_web, "the delete request for 8080");
  g_assert_cmpuint (f->notifications->len, ==, 0);
}

/* A network-linked profile, and this is not its network (no gateway here has that MAC). */
static const Config config_waiting = {
  .profiles = "[SSH]\nProtocol=tcp\nInternalPort=22\nExternalPort=2222\nEnabled=true\n\n"
              "[Home]\nProtocol=tcp\nInternalPort=8022\nEnabled=true\n"
              "Network=home; gateway=02:aa:bb:cc:dd:01\n",
};

/* Profile.Waiting of the hosted engine's profile @data ("" included); FALSE while it cannot
 * be read (the object is not there yet). */
static gboolean
home_waiting_is (Fixture       *f,
                 gconstpointer  data)
{
  CallResult r = { FALSE, NULL, NULL };
  g_autoptr(GVariant) value = NULL;
  gboolean same;

  g_dbus_connection_call (f->bus, "io.github.portlight.Portlight.Broker1",
                          "/io/github/portlight/Portlight/Broker1/Profile/Home",
                          "org.freedesktop.DBus.Properties", "Get",
                          g_variant_new ("(ss)",
                                         "io.github.portlight.Portlight.Broker1.Profile",
                                         "Waiting"),
                          G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NO_AUTO_START, 5000, NULL,
                          call_done_cb, &r);
  while (!r.done)
    g_main_context_iteration (NULL, TRUE);
  if (r.error != NULL)
    {
      g_error_free (r.error);
      return FALSE;
    }
  g_variant_get (r.reply, "(v)", &value);
  g_variant_unref (r.reply);
  same = g_variant_is_of_type (value, G_VARIANT_TYPE_STRING) &&
         g_strcmp0 (g_variant_get_string (value, NULL), data) == 0;
  return same;
}

static void
test_waiting (Fixture       *f,
              gconstpointer  data)
{
  g_test_summary ("The tray that hosts the engine: a Network= profile off on another network "
                  "says why under it in the menu, the icon says active for the other "
                  "profile, and the engine's Profile object says the same reason to its "
                  "clients");
  if (f->skipped)
    return;

  WAIT_FOR (f, menu_has, "[x] Home — TCP 8022\n(Only on network ‘home’)\n",
            "the reason under Home");
  WAIT_FOR (f, icon_is, "-active-symbolic", "the active icon");
  WAIT_FOR (f, home_waiting_is, "Only on network ‘home’", "Profile.Waiting of Home");
  assert_lines_short (f);
}

static const Config config_refused = { .result_code = 2 };

static void
test_failure (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *expected = NULL;

  g_test_summary ("A refused mapping: error icon, the likely reason in the menu, short (SSH "
                  "maps port 22, below 1024), one notification with the router's message");
  if (f->skipped)
    return;

  WAIT_FOR (f, icon_is, "-error-symbolic", "the error icon");
  WAIT_FOR (f, menu_has,
            "[x] SSH — TCP 22 → 2222\n(Refused by the router (port 22 is below 1024))\n",
            "the refusal in the menu");
  assert_lines_short (f);
  WAIT_FOR (f, notifications_at_least, GUINT_TO_POINTER (1), "a notification");
  /* The notification has the router's whole message (its words are core's). */
  expected = g_strdup ("Port mapping failed|SSH (TCP): ");
  g_assert_true (g_str_has_prefix (g_ptr_array_index (f->notifications, 0), expected));
  g_assert_cmpuint (strlen (g_ptr_array_index (f->notifications, 0)), >, strlen (expected));
  {
    g_autofree char *desc = item_string (f, "IconAccessibleDesc");

    g_assert_cmpstr (desc, ==, "1 port mapping failed");
  }
}

static const Config config_reset = {
  .profiles = "[SSH]\nProtocol=tcp\nInternalPort=22\nExternalPort=2222\nLifetime=4\n"
              "[Games]\nProtocol=udp\nInternalPort=27015\nLifetime=4\n",
  .epoch = 100000,
};

static void
test_router_reset (Fixture       *f,
                   gconstpointer  data)
{
  guint seen;

  g_test_summary ("The router reboots with a new public address: the mappings come back and "
                  "one notification says so");
  if (f->skipped)
    return;

  /* Lifetime 4 s: renewals every 2 s, so the reboot is noticed quickly. */
  WAIT_FOR (f, icon_is, "-active-symbolic", "the active icon");
  WAIT_FOR (f, menu_has, "Public address 203.0.113.7", "the public address");
  g_assert_cmpuint (f->notifications->len, ==, 0);

  pl_fake_gateway_set_epoch (f->gateway, 0);
  pl_fake_gateway_set_external_address (f->gateway, "198.51.100.9");
  WAIT_FOR (f, notifications_at_least, GUINT_TO_POINTER (1), "the notification");
  g_assert_cmpstr (g_ptr_array_index (f->notifications, 0), ==,
                   "Router restarted|2 port mappings were restored.\n"
                   "Your public address is now 198.51.100.9 (it was 203.0.113.7).");
  WAIT_FOR (f, menu_has, "Public address 198.51.100.9", "the new address in the menu");
  g_assert_true (icon_is (f, "-active-symbolic"));

  /* Several renewals later there is still just the one. */
  seen = pl_fake_gateway_get_requests (f->gateway)->len;
  WAIT_FOR (f, gateway_requests_at_least, GUINT_TO_POINTER (seen + 4), "more renewals");
  g_assert_cmpuint (f->notifications->len, ==, 1);
}

static const Config config_other_port = { .assigned_port = 40022 };

static void
test_different_port (Fixture       *f,
                     gconstpointer  data)
{
  g_test_summary ("The router gives another public port: the menu shows it, a notification "
                  "says so");
  if (f->skipped)
    return;

  WAIT_FOR (f, menu_has, "(Active on public port 40022 · renews at ", "the public port");
  WAIT_FOR (f, notifications_at_least, GUINT_TO_POINTER (1), "a notification");
  g_assert_cmpstr (g_ptr_array_index (f->notifications, 0), ==,
                   "The router gave a different public port|"
                   "SSH (TCP) got public port 40022 instead of 2222.");
}

static const Config config_double_nat = { .external_address = "100.64.12.34" };

static void
test_double_nat (Fixture       *f,
                 gconstpointer  data)
{
  g_test_summary ("A carrier-grade NAT address: the warning line");
  if (f->skipped)
    return;

  WAIT_FOR (f, menu_has, "Public address 100.64.12.34\n", "the address");
  WAIT_FOR (f, menu_has, "(Double NAT: ports may stay closed to the Internet)\n", "the warning");
  assert_lines_short (f);
}

static void
test_autostart (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->config_home, "autostart",
                                            "io.github.portlight.Portlight.desktop", NULL);
  g_autofree char *contents = NULL;

  g_test_summary ("Start at Login writes the XDG autostart entry (starting in the background) "
                  "and removes it again");
  if (f->skipped)
    return;

  click (f, "Start at Login");
  WAIT_FOR (f, file_exists, path, "the autostart entry");
  WAIT_FOR (f, menu_has, "[x] Start at Login", "the check");
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "Exec="));
  g_assert_nonnull (strstr (contents, "portlight --background\n"));

  click (f, "Start at Login");
  WAIT_FOR (f, file_missing, path, "the autostart entry to go");
  WAIT_FOR (f, menu_has, "[ ] Start at Login", "no check");
}

static void
test_notifications_off (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *settings = g_build_filename (f->config_home, "portlight", "settings.ini",
                                                NULL);
  g_autofree char *contents = NULL;

  g_test_summary ("Show Notifications off is saved, and then nothing is sent");
  if (f->skipped)
    return;

  WAIT_FOR (f, icon_is, "-active-symbolic", "the active icon");
  click (f, "Show Notifications");
  WAIT_FOR (f, menu_has, "[ ] Show Notifications", "no check");
  WAIT_FOR (f, file_exists, settings, "the settings file");
  g_assert_true (g_file_get_contents (settings, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "Notifications=false"));

  pl_fake_gateway_set_result_code (f->gateway, 2);
  click (f, "Web — ");
  WAIT_FOR (f, menu_has, "[x] Web — TCP 8080\n(Refused by the router)\n", "the failure");
  WAIT_FOR (f, output_contains, "Notification suppressed (turned off)", "the suppressed one");
  g_assert_cmpuint (f->notifications->len, ==, 0);
}

static void
test_quit (Fixture       *f,
           gconstpointer  data)
{
  const RequestWanted unmap_ssh = { 2, 22, TRUE };

  g_test_summary ("Quit closes the ports on the router and exits with status 0");
  if (f->skipped)
    return;

  WAIT_FOR (f, icon_is, "-active-symbolic", "the active icon");
  click (f, "Quit");
  WAIT_FOR (f, app_exited, NULL, "portlight to exit");
  g_assert_cmpint (f->app_status, ==, 0);
  g_assert_true (gateway_saw (f, &unmap_ssh));
}

static void
test_add_profile (Fixture       *f,
                  gconstpointer  data)
{
  g_test_summary ("Add Profile… opens the profiles window");
  if (f->skipped)
    return;

  g_assert_false (window_open (f, NULL));
  click (f, "Add Profile…");
  WAIT_FOR (f, window_open, NULL, "the profiles window");
}

/* The protocol */

/* The first datagram at or after @from (an index in the gateway's log) whose version is
 * @version (0: NAT-PMP, 2: PCP) and, with @opcode non-zero, whose NAT-PMP opcode and port
 * are those (@delete: lifetime 0); -1 if none. */
static int
find_request (Fixture *f,
              guint    from,
              guint8   version,
              guint8   opcode,
              guint16  internal_port,
              gboolean delete)
{
  GPtrArray *requests = pl_fake_gateway_get_requests (f->gateway);

  for (guint i = from; i < requests->len; i++)
    {
      PlFakeRequest *r = g_ptr_array_index (requests, i);
      gsize len;
      const guint8 *bytes = g_bytes_get_data (r->bytes, &len);

      if (len == 0 || bytes[0] != version)
        continue;
      if (opcode == 0 ||
          (r->request.opcode == opcode && r->request.internal_port == internal_port &&
           (r->request.lifetime == 0) == delete))
        return (int) i;
    }
  return -1;
}

static gboolean
pcp_seen_after (Fixture       *f,
                gconstpointer  data)
{
  return find_request (f, GPOINTER_TO_UINT (data), 2, 0, 0, FALSE) >= 0;
}

static char *
read_settings (Fixture *f)
{
  g_autofree char *path = g_build_filename (f->config_home, "portlight", "settings.ini", NULL);
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return g_strdup ("");
  return contents;
}

static gboolean
settings_contain (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *contents = read_settings (f);

  return strstr (contents, data) != NULL;
}

/* What a panel or `gapplication action io.github.portlight.Portlight protocol "'pcp'"` does
 * (the window's combo box does the same in-process). */
static void
set_protocol (Fixture    *f,
              const char *protocol)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  g_test_message ("protocol → %s", protocol);
  reply = call (f, "io.github.portlight.Portlight", "/io/github/portlight/Portlight",
                "org.gtk.Actions", "SetState",
                g_variant_new ("(sva{sv})", "protocol", g_variant_new_string (protocol), NULL),
                NULL, &error);
  g_assert_no_error (error);
}

static const Config config_pcp = { .settings = "[Portlight]\nProtocol=pcp\n" };

static void
test_protocol_setting (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *router = NULL;

  g_test_summary ("Protocol=pcp in the settings: only PCP is spoken (this NAT-PMP router "
                  "refuses it), and the router line says PCP");
  if (f->skipped)
    return;

  router = g_strdup_printf ("(Router %s · PCP)\n", f->gateway_address);
  WAIT_FOR (f, menu_has, router, "the router line with PCP");
  WAIT_FOR (f, menu_has, "(Failed: ", "the refusal");
  g_assert_true (menu_has (f, router));
  g_assert_cmpint (find_request (f, 0, 2, 0, 0, FALSE), >=, 0);
  g_assert_cmpint (find_request (f, 0, 0, 0, 0, FALSE), ==, -1);
}

static const Config config_unknown_protocol = {
  .settings = "# hand-written\n[Portlight]\nProtocol=carrier-pigeon\n",
};

static void
test_protocol_unknown (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *router = NULL;
  g_autofree char *contents = NULL;

  g_test_summary ("An unknown protocol in the settings: portlight says so, speaks as with "
                  "auto, and keeps the value when it saves another setting");
  if (f->skipped)
    return;

  router = g_strdup_printf ("(Router %s · NAT-PMP)\n", f->gateway_address);
  /* (The list of protocols it names grows with the protocols.) */
  WAIT_FOR (f, output_contains, "unknown Protocol “carrier-pigeon” (expected auto, pcp",
            "the message about the value");
  g_assert_nonnull (strstr (f->output->str, "): using auto"));
  WAIT_FOR (f, menu_has, router, "the router line with NAT-PMP");
  WAIT_FOR (f, icon_is, "-active-symbolic", "the active icon");

  click (f, "Show Notifications");
  WAIT_FOR (f, settings_contain, "Notifications=false", "the saved settings");
  contents = read_settings (f);
  g_assert_true (g_str_has_prefix (contents, "# hand-written\n"));
  g_assert_nonnull (strstr (contents, "Protocol=carrier-pigeon\n"));
}

static void
test_protocol_change (Fixture       *f,
                      gconstpointer  data)
{
  const RequestWanted map_ssh = { 2, 22, FALSE };
  g_autofree char *natpmp = NULL;
  g_autofree char *pcp = NULL;
  g_autofree char *active = NULL;
  guint before;
  int deleted, first_pcp;

  g_test_summary ("Changing the protocol while running saves it and starts the session "
                  "anew: the old one deletes its mappings before the new one speaks; the "
                  "router line follows");
  if (f->skipped)
    return;

  natpmp = g_strdup_printf ("(Router %s · NAT-PMP)\n", f->gateway_address);
  pcp = g_strdup_printf ("(Router %s · PCP)\n", f->gateway_address);
  active = g_strdup_printf ("%s-\n[x] SSH — TCP 22 → 2222\n(Active · ", natpmp);
  WAIT_FOR (f, menu_has, active, "SSH active over NAT-PMP");

  before = pl_fake_gateway_get_requests (f->gateway)->len;
  set_protocol (f, "pcp");
  WAIT_FOR (f, menu_has, pcp, "the router line with PCP");
  WAIT_FOR (f, settings_contain, "Protocol=pcp\n", "the saved protocol");
  WAIT_FOR (f, pcp_seen_after, GUINT_TO_POINTER (before), "a PCP request");
  deleted = find_request (f, before, 0, 2, 22, TRUE);
  first_pcp = find_request (f, before, 2, 0, 0, FALSE);
  g_assert_cmpint (deleted, >=, 0);
  g_assert_cmpint (deleted, <, first_pcp);
  WAIT_FOR (f, menu_has, "(Failed: ", "PCP refused");

  /* And back: mapped again with NAT-PMP. */
  before = pl_fake_gateway_get_requests (f->gateway)->len;
  set_protocol (f, "natpmp");
  WAIT_FOR (f, menu_has, active, "SSH active over NAT-PMP again");
  WAIT_FOR (f, settings_contain, "Protocol=natpmp\n", "the saved protocol");
  g_assert_cmpint (find_request (f, before, 0, map_ssh.opcode, map_ssh.internal_port, FALSE),
                   >=, 0);
  g_assert_cmpint (find_request (f, before, 2, 0, 0, FALSE), ==, -1);
  g_assert_false (f->app_exited);
}

static void
test_protocol_quit (Fixture       *f,
                    gconstpointer  data)
{
  const RequestWanted unmap_ssh = { 2, 22, TRUE };

  g_test_summary ("Quit while a protocol change is closing the ports: they are closed once, "
                  "no new session starts, and portlight exits 0");
  if (f->skipped)
    return;

  WAIT_FOR (f, icon_is, "-active-symbolic", "the active icon");
  /* A router that stops answering: the old session's stop takes its full timeout. */
  pl_fake_gateway_set_silent (f->gateway, TRUE);
  set_protocol (f, "natpmp");
  WAIT_FOR (f, output_contains, "Restarting the session", "the restart");
  click (f, "Quit");
  WAIT_FOR (f, app_exited, NULL, "portlight to exit");
  g_assert_cmpint (f->app_status, ==, 0);
  g_assert_true (gateway_saw (f, &unmap_ssh));
  g_assert_null (strstr (f->output->str, "Session restarted"));
}

static gboolean
window_closed (Fixture       *f,
               gconstpointer  data)
{
  return !window_open (f, NULL);
}

/* Waited for no more than a second, as `--tray-wait=1` asks. */
static const Config config_no_tray = { .no_watcher = TRUE, .extra_args = "--tray-wait=1" };

static void
test_no_tray (Fixture       *f,
              gconstpointer  data)
{
  g_test_summary ("Without any tray the profiles window opens after the wait for one, and "
                  "portlight says why; when a panel comes after all, the window, opened only "
                  "for want of it, closes by itself");
  if (f->skipped)
    return;

  WAIT_FOR (f, output_contains, "Waiting up to 1 s for a tray", "the wait");
  WAIT_FOR (f, output_contains, "No system tray was found", "the explanation");
  WAIT_FOR (f, window_open, NULL, "the profiles window");
  g_assert_false (f->app_exited);

  start_watcher (f);
  WAIT_FOR (f, item_registered, NULL, "the StatusNotifierItem to register");
  WAIT_FOR (f, window_closed, NULL, "the window to close");
  g_assert_true (output_contains (f, "closing the window opened in its place"));
  g_assert_false (f->app_exited);
}

/* The default wait (15 s): the panel comes well within it. */
static const Config config_late_panel = { .no_watcher = TRUE };

static void
test_late_panel (Fixture       *f,
                 gconstpointer  data)
{
  g_test_summary ("Started in the background before the panel (as XDG autostart often has "
                  "it): no window, no message; the icon registers once the panel is there");
  if (f->skipped)
    return;

  WAIT_FOR (f, output_contains, "Waiting up to 15 s for a tray", "the wait");
  /* Nothing shows the icon yet, and libayatana's own fallback has had its 100 ms. */
  WAIT_FOR (f, output_contains, "StatusNotifierItem connected=0", "the item to find no watcher");
  start_watcher (f);
  WAIT_FOR (f, item_registered, NULL, "the StatusNotifierItem to register");
  WAIT_FOR (f, output_contains, "Tray available", "the tray to count as there");
  g_assert_false (window_open (f, NULL));
  g_assert_null (strstr (f->output->str, "No system tray"));
  g_assert_null (strstr (f->output->str, "Opening the profiles window"));
}

static gboolean
item_gone (Fixture       *f,
           gconstpointer  data)
{
  return output_contains (f, "StatusNotifierItem connected=0");
}

static void
test_panel_restart (Fixture       *f,
                    gconstpointer  data)
{
  g_test_summary ("The panel restarts (its watcher leaves the bus and comes back): no window "
                  "flashes, the icon registers again");
  if (f->skipped)
    return;

  WAIT_FOR (f, icon_is, "-active-symbolic", "the active icon");
  g_clear_pointer (&f->item_sender, g_free);
  g_clear_handle_id (&f->watcher_name_id, g_bus_unown_name);
  WAIT_FOR (f, output_contains, "The tray went away", "portlight to see the panel go");
  WAIT_FOR (f, item_gone, NULL, "the item to lose its watcher");

  start_watcher (f);
  WAIT_FOR (f, item_registered, NULL, "the StatusNotifierItem to register again");
  WAIT_FOR (f, output_contains, "A tray is here", "the tray to count as back");
  g_assert_false (window_open (f, NULL));
  g_assert_null (strstr (f->output->str, "No system tray"));
  g_assert_null (strstr (f->output->str, "Opening the profiles window"));
  g_assert_false (f->app_exited);
}

static void
second_exited_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

static gboolean
flag_set (Fixture       *f,
          gconstpointer  data)
{
  return *(const gboolean *) data;
}

static void
test_second_instance (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) second = NULL;
  g_autoptr(GError) error = NULL;
  gboolean second_done = FALSE;

  g_test_summary ("Starting portlight again opens the window of the running one and exits");
  if (f->skipped)
    return;

  g_assert_false (window_open (f, NULL));
  launcher = app_launcher (f, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  second = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("PORTLIGHT"), NULL);
  g_assert_no_error (error);
  WAIT_FOR (f, window_open, NULL, "the profiles window");
  g_subprocess_wait_async (second, NULL, second_exited_cb, &second_done);
  WAIT_FOR (f, flag_set, &second_done, "the second portlight to exit");
  g_assert_true (g_subprocess_get_if_exited (second));
  g_assert_cmpint (g_subprocess_get_exit_status (second), ==, 0);
  g_assert_false (f->app_exited);
}

static void
test_file_edit (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->config_home, "portlight", "profiles.ini", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *more = NULL;
  const RequestWanted map_minecraft = { 2, 25565, FALSE };

  g_test_summary ("A profile added to the file by someone else (portlightctl, an editor) "
                  "appears in the menu and is mapped");
  if (f->skipped)
    return;

  WAIT_FOR (f, icon_is, "-active-symbolic", "the active icon");
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  more = g_strconcat (contents, "\n[Minecraft]\nProtocol=tcp\nInternalPort=25565\n", NULL);
  g_assert_true (g_file_set_contents (path, more, -1, NULL));
  WAIT_FOR (f, menu_has, "[x] Minecraft — TCP 25565\n(Active · ", "the new profile");
  WAIT_FOR (f, gateway_saw, &map_minecraft, "the map request for 25565");
}

static const Config config_listen = {
  .listen = TRUE,
  .profiles = "[Web]\nProtocol=tcp\nInternalPort=@PORT@\nEnabled=true\n\n"
              "[Idle]\nProtocol=tcp\nInternalPort=@IDLE@\nEnabled=true\n",
};

typedef struct
{
  gboolean  done;
  char     *text;
} ClipboardRead;

static void
clipboard_text_cb (GtkClipboard *clipboard,
                   const char   *text,
                   gpointer      user_data)
{
  ClipboardRead *read = user_data;

  read->text = g_strdup (text);
  read->done = TRUE;
}

static gboolean
clipboard_read_done (Fixture       *f,
                     gconstpointer  data)
{
  return ((const ClipboardRead *) data)->done;
}

/* The text of @selection on the app's X display, as another program there reads it. */
static char *
read_selection (Fixture *f,
                GdkAtom  selection)
{
  static gsize gtk_ready;
  GdkDisplay *display;
  ClipboardRead read = { FALSE, NULL };

  if (g_once_init_enter (&gtk_ready))
    {
      /* No DISPLAY here (only the app has one): GTK is set up all the same, and the display
       * is opened by name. */
      gtk_init_check (NULL, NULL);
      g_once_init_leave (&gtk_ready, 1);
    }
  display = gdk_display_open (f->display);
  g_assert_nonnull (display);
  gtk_clipboard_request_text (gtk_clipboard_get_for_display (display, selection),
                              clipboard_text_cb, &read);
  WAIT_FOR (f, clipboard_read_done, &read, "the clipboard's text");
  gdk_display_close (display);
  return read.text;
}

static guint
count_maps (Fixture *f,
            guint16  internal_port)
{
  GPtrArray *requests = pl_fake_gateway_get_requests (f->gateway);
  guint n = 0;

  for (guint i = 0; i < requests->len; i++)
    {
      PlFakeRequest *r = g_ptr_array_index (requests, i);

      if (r->request.opcode == 2 && r->request.internal_port == internal_port &&
          r->request.lifetime != 0)
        n++;
    }
  return n;
}

typedef struct
{
  guint16 port;
  guint   at_least;
} MapsWanted;

static gboolean
maps_at_least (Fixture       *f,
               gconstpointer  data)
{
  const MapsWanted *want = data;

  return count_maps (f, want->port) >= want->at_least;
}

/* This program's name as /proc tells it to others: the base name of argv[0], or what
 * /proc/self/comm says when a wrapper (valgrind) runs us. */
static char *
own_program_name (void)
{
  g_autofree char *comm = NULL;
  char *name = g_path_get_basename (g_get_prgname ());

  if (g_file_get_contents ("/proc/self/comm", &comm, NULL, NULL) &&
      !g_str_has_prefix (name, g_strchomp (comm)))
    {
      g_free (name);
      return g_steal_pointer (&comm);
    }
  return name;
}

static void
test_listen_copy_republish (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *program = NULL;
  g_autofree char *listens = NULL;
  g_autofree char *nothing = NULL;
  g_autofree char *nothing_idle = NULL;
  g_autofree char *copy = NULL;
  g_autofree char *copied = NULL;
  g_autofree char *clipboard = NULL;
  g_autofree char *primary = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  MapsWanted web_again, idle_again;

  g_test_summary ("A profile's line names the program that listens on its port (this test) "
                  "or says nothing listens; a panel opening the menu (AboutToShow) checks "
                  "again; Copy puts the public address and port on the clipboard; Re-publish "
                  "All Ports sends every mapping to the router again");
  if (f->skipped)
    return;

  program = own_program_name ();
  listens = g_strdup_printf ("(Active · %s listens)", program);
  nothing_idle = g_strdup_printf ("(Active · nothing listens on port %u yet)", f->idle_port);
  WAIT_FOR (f, menu_has, listens, "the line naming this test as the listener");
  WAIT_FOR (f, menu_has, nothing_idle, "the line saying nothing listens");
  assert_lines_short (f);

  /* The program stops listening; nothing changes on the router, but the panel opening the
   * menu makes the app look again. */
  g_assert_true (g_socket_close (f->listener, &error));
  g_assert_no_error (error);
  path = menu_path (f);
  reply = call (f, f->item_sender, path, DBUSMENU_IFACE, "AboutToShow",
                g_variant_new ("(i)", 0), G_VARIANT_TYPE ("(b)"), &error);
  g_assert_no_error (error);
  nothing = g_strdup_printf ("(Active · nothing listens on port %u yet)", f->listen_port);
  WAIT_FOR (f, menu_has, nothing, "the line seeing the listener gone");

  /* Copy. */
  copy = g_strdup_printf ("Copy 203.0.113.7:%u", f->listen_port);
  copied = g_strdup_printf ("Copied 203.0.113.7:%u to the clipboard", f->listen_port);
  click (f, copy);
  WAIT_FOR (f, output_contains, copied, "the copy");
  clipboard = read_selection (f, GDK_SELECTION_CLIPBOARD);
  g_assert_cmpstr (clipboard, ==, copy + strlen ("Copy "));
  primary = read_selection (f, GDK_SELECTION_PRIMARY);
  g_assert_cmpstr (primary, ==, copy + strlen ("Copy "));

  /* Re-publish: each mapping once more, at once (renewals are an hour away). */
  web_again = (MapsWanted) { f->listen_port, count_maps (f, f->listen_port) + 1 };
  idle_again = (MapsWanted) { f->idle_port, count_maps (f, f->idle_port) + 1 };
  click (f, "Re-publish All Ports");
  WAIT_FOR (f, output_contains, "Re-publishing every port", "the re-publish");
  WAIT_FOR (f, maps_at_least, &web_again, "the Web mapping sent again");
  WAIT_FOR (f, maps_at_least, &idle_again, "the Idle mapping sent again");
  WAIT_FOR (f, menu_has, nothing, "the line after re-publishing");
}

/* How many UDP sockets process @pid holds that are connected to port 5351 (NAT-PMP, PCP). */
static guint
sockets_to_5351 (const char *pid)
{
  g_autofree char *fd_dir = g_strdup_printf ("/proc/%s/fd", pid);
  g_autofree char *udp_path = g_strdup_printf ("/proc/%s/net/udp", pid);
  g_autofree char *udp = NULL;
  g_autoptr(GHashTable) inodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GDir) dir = g_dir_open (fd_dir, 0, NULL);
  g_auto(GStrv) lines = NULL;
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *link_path = g_build_filename (fd_dir, name, NULL);
      g_autofree char *target = g_file_read_link (link_path, NULL);

      if (target != NULL && g_str_has_prefix (target, "socket:["))
        g_hash_table_add (inodes, g_strndup (target + 8, strlen (target) - 9));
    }
  g_assert_true (g_file_get_contents (udp_path, &udp, NULL, NULL));
  lines = g_strsplit (udp, "\n", -1);
  for (guint i = 1; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
      g_autoptr(GPtrArray) words = g_ptr_array_new ();

      for (guint j = 0; fields[j] != NULL; j++)
        if (fields[j][0] != '\0')
          g_ptr_array_add (words, fields[j]);
      /* sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode */
      if (words->len < 10)
        continue;
      if (g_str_has_suffix (g_ptr_array_index (words, 2), ":14E7") &&
          g_hash_table_contains (inodes, g_ptr_array_index (words, 9)))
        n++;
    }
  return n;
}

static const Config config_engine = {
  .engine = TRUE,
  /* Lifetime 4 s: renewals every 2 s, so the engine notices the reboot quickly. */
  .profiles = "[SSH]\nProtocol=tcp\nInternalPort=22\nExternalPort=2222\nLifetime=4\n"
              "Enabled=true\n\n[Web]\nProtocol=tcp\nInternalPort=8080\nEnabled=false\n",
  .epoch = 100000,
};

static gboolean
menu_lacks (Fixture       *f,
            gconstpointer  data)
{
  return !menu_has (f, data);
}

/* Some notification is "summary|body" @data exactly. */
static gboolean
notification_is (Fixture       *f,
                 gconstpointer  data)
{
  for (guint i = 0; i < f->notifications->len; i++)
    if (g_str_equal (g_ptr_array_index (f->notifications, i), data))
      return TRUE;
  return FALSE;
}

/* Some notification's body has the line @data. */
static gboolean
notification_has_line (Fixture       *f,
                       gconstpointer  data)
{
  for (guint i = 0; i < f->notifications->len; i++)
    {
      const char *text = strchr (g_ptr_array_index (f->notifications, i), '|');
      g_auto(GStrv) lines = g_strsplit (text != NULL ? text + 1 : "", "\n", -1);

      if (g_strv_contains ((const char * const *) lines, data))
        return TRUE;
    }
  return FALSE;
}

typedef struct
{
  gboolean done;
  gboolean ok;
} CommandRun;

static gboolean
command_done (Fixture       *f,
              gconstpointer  data)
{
  return ((const CommandRun *) data)->done;
}

static void
command_exited_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  CommandRun *run = user_data;

  run->ok = g_subprocess_wait_check_finish (G_SUBPROCESS (source), result, NULL);
  run->done = TRUE;
}

/* `portlightctl ARGS…` with the app's folders and bus, waited for with the loop turning
 * (the engine it talks to maps through the fake gateway in this process). */
static gboolean
run_portlightctl (Fixture    *f,
                  const char *first_arg,
                  ...)
{
  g_autoptr(GSubprocessLauncher) launcher = app_launcher (f, G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  CommandRun run = { FALSE, FALSE };
  const char *arg;
  va_list args;

  g_ptr_array_add (argv, (char *) g_getenv ("PORTLIGHTCTL"));
  va_start (args, first_arg);
  for (arg = first_arg; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (char *) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_wait_check_async (process, NULL, command_exited_cb, &run);
  WAIT_FOR (f, command_done, &run, "portlightctl");
  return run.ok;
}

/* The menu as the hosting tray shows it with SSH active and Web off (test_menu), the
 * state line being @state_line. */
static char *
expected_menu (Fixture    *f,
               const char *state_line)
{
  return g_strdup_printf ("Public address 203.0.113.7\n"
                          "(Router %s · NAT-PMP)\n"
                          "-\n"
                          "[x] SSH — TCP 22 → 2222\n"
                          "(%s)\n"
                          "Copy 203.0.113.7:2222\n"
                          "[ ] Web — TCP 8080\n"
                          "Re-publish All Ports\n"
                          "-\n"
                          "Add Profile…\n"
                          "Edit Profiles…\n"
                          "What’s Open on Your Router…\n"
                          "-\n"
                          "[ ] Start at Login\n"
                          "[x] Show Notifications\n"
                          "-\n"
                          "Quit\n",
                          f->gateway_address, state_line);
}

/* Waits for SSH's state line to say who listens, then checks the whole menu. */
static void
assert_full_menu (Fixture *f)
{
  g_autoptr(GPtrArray) items = NULL;
  g_autofree char *dump = NULL;
  g_autofree char *expected = NULL;
  MenuItem *state;

  WAIT_FOR (f, state_line_matches, SSH_LISTENER_LINE, "the state line saying who listens");
  items = get_menu (f);
  state = find_item (items, "Active · ");
  if (state == NULL)
    g_error ("No state line");
  dump = dump_menu (items);
  expected = expected_menu (f, state->label);
  g_assert_cmpstr (dump, ==, expected);
}

static guint
count_deletes (Fixture *f,
               guint16  internal_port)
{
  GPtrArray *requests = pl_fake_gateway_get_requests (f->gateway);
  guint n = 0;

  for (guint i = 0; i < requests->len; i++)
    {
      PlFakeRequest *r = g_ptr_array_index (requests, i);

      if (r->request.opcode == 2 && r->request.internal_port == internal_port &&
          r->request.lifetime == 0)
        n++;
    }
  return n;
}

typedef struct
{
  gboolean done;
  guint    pid;
} PidCall;

static gboolean
pid_call_done (Fixture       *f,
               gconstpointer  data)
{
  return ((const PidCall *) data)->done;
}

static void
pid_call_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  PidCall *call = user_data;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result,
                                                             NULL);

  if (reply != NULL)
    g_variant_get (reply, "(u)", &call->pid);
  call->done = TRUE;
}

/* The process owning the engine's name, 0 for none. */
static guint
engine_name_owner_pid (Fixture *f)
{
  PidCall call = { FALSE, 0 };

  g_dbus_connection_call (f->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                          g_variant_new ("(s)", "io.github.portlight.Portlight.Broker1"),
                          G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                          pid_call_cb, &call);
  WAIT_FOR (f, pid_call_done, &call, "the engine name's owner");
  return call.pid;
}

static void
test_engine_client (Fixture       *f,
                    gconstpointer  data)
{
  const RequestWanted map_ssh = { 2, 22, FALSE };
  const RequestWanted unmap_ssh = { 2, 22, TRUE };
  const RequestWanted map_web = { 2, 8080, FALSE };
  const RequestWanted unmap_web = { 2, 8080, TRUE };
  const Stored web_on = { "Web", "true" };
  const Stored web_off = { "Web", "false" };
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) holder = NULL;
  g_autoptr(GError) error = NULL;
  guint n_requests;

  g_test_summary ("Beside a running engine (portlightctl run) the tray is its client: its "
                  "menu is the hosting tray's (router, address, each profile's state with "
                  "who listens, Copy items), read from the engine's objects; it holds no "
                  "socket to the router's port 5351 (B-13), shows another program's lease "
                  "while it lasts, says \"Router restarted\" when the engine's "
                  "GatewayRebootedAt moves on and which public port the router gave instead, "
                  "toggles a profile through the engine (which writes the file and maps the "
                  "port), follows a profile disabled with portlightctl, and quitting it "
                  "leaves the engine's mappings on the router");
  if (f->skipped)
    return;

  assert_full_menu (f);
  WAIT_FOR (f, icon_is, "-active-symbolic", "the active icon");
  g_assert_true (gateway_saw (f, &map_ssh));
  g_assert_cmpuint (sockets_to_5351 (g_subprocess_get_identifier (f->app)), ==, 0);
  g_assert_cmpuint (sockets_to_5351 (g_subprocess_get_identifier (f->engine)), >=, 1);

  /* Another program's lease: a line while it lasts, gone (with its port) when it is. */
  launcher = app_launcher (f, G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  holder = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("LEASE_HOLDER"), "tcp",
                                        "51413", NULL);
  g_assert_no_error (error);
  WAIT_FOR (f, menu_has, "\n(lease-holder holds TCP 51413)\n", "the program's lease line");
  g_subprocess_force_exit (holder);
  WAIT_FOR (f, menu_lacks, "lease-holder", "the lease line gone");

  /* The router reboots and gives SSH another public port: the engine re-maps, its
   * GatewayRebootedAt moves on, the lease's Mappings say the new port. */
  g_assert_cmpuint (f->notifications->len, ==, 0);
  pl_fake_gateway_set_assigned_port (f->gateway, 40022);
  pl_fake_gateway_set_epoch (f->gateway, 0);
  WAIT_FOR (f, notifications_at_least, GUINT_TO_POINTER (1), "the notification");
  g_assert_true (g_str_has_prefix (g_ptr_array_index (f->notifications, 0),
                                   "Router restarted|1 port mapping was restored."));
  WAIT_FOR (f, menu_has, "\n(Active · TCP 40022)\nCopy 203.0.113.7:40022\n",
            "the port the router gave in the menu");
  WAIT_FOR (f, notification_has_line, "The public port of “SSH” is now 40022 (it was 2222).",
            "the notification of the new port");
  pl_fake_gateway_set_assigned_port (f->gateway, 0);

  click (f, "Web — ");
  WAIT_FOR (f, gateway_saw, &map_web, "the engine's map request for 8080");
  WAIT_FOR (f, stored_is, &web_on, "Enabled=true in the profiles file");
  WAIT_FOR (f, menu_has, "[x] Web — TCP 8080", "Web checked");
  g_assert_cmpuint (sockets_to_5351 (g_subprocess_get_identifier (f->app)), ==, 0);

  /* Changed through the engine by someone else: the menu follows. */
  g_assert_true (run_portlightctl (f, "profiles", "disable", "Web", NULL));
  WAIT_FOR (f, gateway_saw, &unmap_web, "the engine's delete of 8080");
  WAIT_FOR (f, menu_has, "[ ] Web — TCP 8080\nRe-publish", "Web unchecked, its lines gone");
  g_assert_true (stored_is (f, &web_off));

  click (f, "Quit");
  WAIT_FOR (f, app_exited, NULL, "the tray to quit");
  g_assert_cmpint (f->app_status, ==, 0);
  /* The tray is gone; the engine still keeps SSH: nothing was deleted. */
  g_assert_false (f->engine_exited);
  g_assert_false (gateway_saw (f, &unmap_ssh));
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 1);

  /* The engine stopping does close it: the check above could have seen a delete. */
  n_requests = pl_fake_gateway_get_requests (f->gateway)->len;
  g_subprocess_send_signal (f->engine, SIGTERM);
  WAIT_FOR (f, engine_exited, NULL, "the engine to stop");
  g_assert_cmpuint (pl_fake_gateway_get_requests (f->gateway)->len, >, n_requests);
  g_assert_true (gateway_saw (f, &unmap_ssh));
}

static void
test_engine_gone (Fixture       *f,
                  gconstpointer  data)
{
  const RequestWanted unmap_ssh = { 2, 22, TRUE };
  MapsWanted again;
  guint n_deletes;
  guint app_pid;

  g_test_summary ("When the engine the tray is the client of stops, the tray says so and, "
                  "once the engine has exited (deleting its mappings), hosts the engine "
                  "itself: it owns the engine's name, maps the enabled profile again from a "
                  "socket of its own, shows the same menu, and quitting it then deletes the "
                  "mapping");
  if (f->skipped)
    return;

  assert_full_menu (f);
  g_assert_cmpuint (sockets_to_5351 (g_subprocess_get_identifier (f->app)), ==, 0);
  app_pid = (guint) g_ascii_strtoull (g_subprocess_get_identifier (f->app), NULL, 10);
  g_assert_cmpuint (engine_name_owner_pid (f), !=, app_pid);

  again.port = 22;
  again.at_least = count_maps (f, 22) + 1;
  g_subprocess_send_signal (f->engine, SIGTERM);
  WAIT_FOR (f, engine_exited, NULL, "the engine to stop");
  g_assert_true (gateway_saw (f, &unmap_ssh));

  WAIT_FOR (f, notification_is,
            "Portlight’s engine stopped|This tray keeps the ports open now.",
            "the notification that the tray took over");
  WAIT_FOR (f, maps_at_least, &again, "the tray's own map request for SSH");
  assert_full_menu (f);
  g_assert_cmpuint (sockets_to_5351 (g_subprocess_get_identifier (f->app)), >=, 1);
  g_assert_cmpuint (engine_name_owner_pid (f), ==, app_pid);

  /* Hosting now: quitting ends the engine, and with it the mapping. */
  n_deletes = count_deletes (f, 22);
  click (f, "Quit");
  WAIT_FOR (f, app_exited, NULL, "the tray to quit");
  g_assert_cmpint (f->app_status, ==, 0);
  g_assert_cmpuint (count_deletes (f, 22), >, n_deletes);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);

  g_test_add ("/tray/sni/item", Fixture, &config_default,
              fixture_set_up, test_item, fixture_tear_down);
  g_test_add ("/tray/sni/installed-icons", Fixture, &config_elsewhere,
              fixture_set_up, test_installed_icons, fixture_tear_down);
  g_test_add ("/tray/sni/menu", Fixture, &config_default,
              fixture_set_up, test_menu, fixture_tear_down);
  g_test_add ("/tray/sni/listen-copy-republish", Fixture, &config_listen,
              fixture_set_up, test_listen_copy_republish, fixture_tear_down);
  g_test_add ("/tray/sni/toggle", Fixture, &config_default,
              fixture_set_up, test_toggle, fixture_tear_down);
  g_test_add ("/tray/sni/waiting", Fixture, &config_waiting,
              fixture_set_up, test_waiting, fixture_tear_down);
  g_test_add ("/tray/sni/failure", Fixture, &config_refused,
              fixture_set_up, test_failure, fixture_tear_down);
  g_test_add ("/tray/sni/router-reset", Fixture, &config_reset,
              fixture_set_up, test_router_reset, fixture_tear_down);
  g_test_add ("/tray/sni/different-port", Fixture, &config_other_port,
              fixture_set_up, test_different_port, fixture_tear_down);
  g_test_add ("/tray/sni/double-nat", Fixture, &config_double_nat,
              fixture_set_up, test_double_nat, fixture_tear_down);
  g_test_add ("/tray/sni/autostart", Fixture, &config_default,
              fixture_set_up, test_autostart, fixture_tear_down);
  g_test_add ("/tray/sni/notifications-off", Fixture, &config_default,
              fixture_set_up, test_notifications_off, fixture_tear_down);
  g_test_add ("/tray/sni/file-edit", Fixture, &config_default,
              fixture_set_up, test_file_edit, fixture_tear_down);
  g_test_add ("/tray/sni/add-profile", Fixture, &config_default,
              fixture_set_up, test_add_profile, fixture_tear_down);
  g_test_add ("/tray/sni/second-instance", Fixture, &config_default,
              fixture_set_up, test_second_instance, fixture_tear_down);
  g_test_add ("/tray/sni/no-tray", Fixture, &config_no_tray,
              fixture_set_up, test_no_tray, fixture_tear_down);
  g_test_add ("/tray/sni/late-panel", Fixture, &config_late_panel,
              fixture_set_up, test_late_panel, fixture_tear_down);
  g_test_add ("/tray/sni/panel-restart", Fixture, &config_default,
              fixture_set_up, test_panel_restart, fixture_tear_down);
  g_test_add ("/tray/sni/quit", Fixture, &config_default,
              fixture_set_up, test_quit, fixture_tear_down);
  g_test_add ("/tray/sni/protocol-setting", Fixture, &config_pcp,
              fixture_set_up, test_protocol_setting, fixture_tear_down);
  g_test_add ("/tray/sni/protocol-unknown", Fixture, &config_unknown_protocol,
              fixture_set_up, test_protocol_unknown, fixture_tear_down);
  g_test_add ("/tray/sni/protocol-change", Fixture, &config_default,
              fixture_set_up, test_protocol_change, fixture_tear_down);
  g_test_add ("/tray/sni/engine-client", Fixture, &config_engine,
              fixture_set_up, test_engine_client, fixture_tear_down);
  g_test_add ("/tray/sni/engine-gone", Fixture, &config_engine,
              fixture_set_up, test_engine_gone, fixture_tear_down);
  g_test_add ("/tray/sni/protocol-quit", Fixture, &config_default,
              fixture_set_up, test_protocol_quit, fixture_tear_down);

  return g_test_run ();
}
