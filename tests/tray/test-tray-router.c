/* test-tray-router.c: the "What's open on your router" window against the scripted IGD
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "pl-core.h"
#include "pl-fake-igd.h"
#include "pl-router-window.h"
#include "pl-test-gupnp.h"

/* Each test has a fake IGD at 127.0.70.N and a session whose gateway is that address; the
 * session maps its profiles over UPnP-IGD on the fake, and the window reads the fake's table
 * with a client of its own. GUPnP's requests leave from 127.0.0.1, so this computer's rows are
 * the entries for internal client 127.0.0.1. Both run on a virtual clock that moves only when
 * a test says so; GUPnP's I/O runs on real time, so every wait is for a condition, bounded by
 * a guard against hangs. */

#define LOCAL "127.0.0.1"
#define NO_UPNP 99

typedef struct
{
  char           *tmpdir;
  char           *path;
  char           *address;
  PlClock        *clock;
  PlClock        *igd_clock;
  PlFakeIgd      *igd;
  PlProfileStore *store;
  PlSession      *session;
  PlRouterWindow *window;
} Fixture;

typedef gboolean (*Condition) (Fixture *f, gconstpointer data);

static GSubprocess *xvfb;

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

/* Starts Xvfb -displayfd and returns ":N", or NULL. */
static char *
start_xvfb (void)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  char buf[64] = { 0, };
  gsize len = 0;
  int fds[2];
  g_autofree char *xvfb_path = g_find_program_in_path ("Xvfb");

  if (xvfb_path == NULL)
    return NULL;
  if (!g_unix_open_pipe (fds, FD_CLOEXEC, &error))
    return NULL;
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  g_subprocess_launcher_take_fd (launcher, fds[1], 3);
  xvfb = g_subprocess_launcher_spawn (launcher, &error, "Xvfb", "-displayfd", "3",
                                      "-nolisten", "tcp", "-screen", "0", "1024x768x24", NULL);
  if (xvfb == NULL)
    {
      close (fds[0]);
      return NULL;
    }
  while (strchr (buf, '\n') == NULL && len < sizeof buf - 1)
    {
      struct pollfd pfd = { fds[0], POLLIN, 0 };
      ssize_t n;

      if (poll (&pfd, 1, 10000) <= 0)
        break;
      n = read (fds[0], buf + len, sizeof buf - 1 - len);
      if (n <= 0)
        break;
      len += n;
    }
  close (fds[0]);
  if (strchr (buf, '\n') == NULL)
    return NULL;
  return g_strdup_printf (":%d", atoi (buf));
}

static gboolean
guard_cb (gpointer user_data)
{
  gboolean *fired = user_data;

  *fired = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates until @condition holds; fails after 30 s of real time. */
static void
wait_for (Fixture       *f,
          Condition      condition,
          gconstpointer  data,
          const char    *what)
{
  gboolean fired = FALSE;
  guint guard = g_timeout_add_seconds (30, guard_cb, &fired);

  while (!condition (f, data) && !fired)
    g_main_context_iteration (NULL, TRUE);
  if (fired)
    g_error ("test hung: gave up waiting for %s after 30 s", what);
  g_source_remove (guard);
}

/* Widgets by name */

typedef struct
{
  const char *name;
  GtkWidget  *found;
} Search;

static void
search_cb (GtkWidget *widget,
           gpointer   user_data)
{
  Search *search = user_data;

  if (search->found != NULL)
    return;
  if (g_strcmp0 (gtk_widget_get_name (widget), search->name) == 0)
    {
      search->found = widget;
      return;
    }
  if (GTK_IS_CONTAINER (widget))
    gtk_container_forall (GTK_CONTAINER (widget), search_cb, search);
}

/* The widget called @name under @root (itself included), or NULL. */
static GtkWidget *
find_in (GtkWidget  *root,
         const char *name)
{
  Search search = { name, NULL };

  search_cb (root, &search);
  if (search.found == NULL && GTK_IS_WINDOW (root) &&
      gtk_window_get_titlebar (GTK_WINDOW (root)) != NULL)
    search_cb (gtk_window_get_titlebar (GTK_WINDOW (root)), &search);
  return search.found;
}

static GtkWidget *
widget (Fixture    *f,
        const char *name)
{
  GtkWidget *found = find_in (GTK_WIDGET (f->window), name);

  g_assert_nonnull (found);
  return found;
}

/* The row of @protocol ("tcp"/"udp") and @port, or NULL. */
static GtkWidget *
find_row (Fixture    *f,
          const char *protocol,
          guint       port)
{
  g_autofree char *name = g_strdup_printf ("row:%s:%u", protocol, port);

  return find_in (widget (f, "list"), name);
}

static const char *
row_text (GtkWidget  *row,
          const char *label)
{
  GtkWidget *found = find_in (row, label);

  g_assert_nonnull (found);
  return gtk_label_get_text (GTK_LABEL (found));
}

static GtkWidget *
row_button (GtkWidget  *row,
            const char *name)
{
  GtkWidget *found = find_in (row, name);

  g_assert_nonnull (found);
  return found;
}

static guint
n_rows (Fixture *f)
{
  g_autoptr(GList) rows = gtk_container_get_children (GTK_CONTAINER (widget (f, "list")));

  return g_list_length (rows);
}

static const char *
page (Fixture *f)
{
  return gtk_stack_get_visible_child_name (GTK_STACK (widget (f, "stack")));
}

/* Conditions */

static gboolean
idle_after_reads (Fixture       *f,
                  gconstpointer  data)
{
  return !pl_router_window_is_busy (f->window) &&
         pl_router_window_get_n_reads (f->window) >= GPOINTER_TO_UINT (data);
}

static gboolean
on_page (Fixture       *f,
         gconstpointer  data)
{
  return !pl_router_window_is_busy (f->window) && g_strcmp0 (page (f), data) == 0;
}

typedef struct
{
  const char *protocol;
  guint       port;
  const char *owner;     /* NULL: the row is gone */
} RowState;

static gboolean
row_is (Fixture       *f,
        gconstpointer  data)
{
  const RowState *state = data;
  GtkWidget *row;

  if (pl_router_window_is_busy (f->window))
    return FALSE;
  row = find_row (f, state->protocol, state->port);
  if (state->owner == NULL)
    return row == NULL;
  return row != NULL && g_strcmp0 (row_text (row, "owner"), state->owner) == 0;
}

static gboolean
message_shown (Fixture       *f,
               gconstpointer  data)
{
  return !pl_router_window_is_busy (f->window) &&
         gtk_widget_get_visible (widget (f, "message-bar"));
}

/* Set-up */

static PlGateway *
discover_cb (gpointer   user_data,
             GError   **error)
{
  Fixture *f = user_data;
  PlGateway *gateway = g_new0 (PlGateway, 1);

  gateway->address = g_inet_address_new_from_string (f->address);
  gateway->interface = g_strdup ("lo");
  return gateway;
}

/* The session's mappings go over UPnP-IGD to the fake, from 127.0.0.1. */
static PlPortMapper *
upnp_factory (GInetAddress *gateway,
              PlClock      *clock,
              gpointer      user_data)
{
  PlUpnpClient *client = pl_upnp_client_new (gateway, "lo", clock);

  pl_upnp_client_set_hostname (client, "testhost");
  return PL_PORT_MAPPER (client);
}

typedef struct
{
  guint       n;          /* the fake's address: 127.0.70.N; NO_UPNP: no fake */
  const char *profiles;   /* the profiles file, or NULL */
  void      (*fill) (PlFakeIgd *igd);
} Setup;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  const Setup *setup = data;
  g_autoptr(GError) error = NULL;

  /* GTest drops the fatal handler before each test. */
  pl_test_tolerate_gupnp_port_clash ();

  f->tmpdir = g_dir_make_tmp ("portlight-router-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->tmpdir, "portlight", "profiles.ini", NULL);
  if (setup->profiles != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (f->path);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
      g_assert_true (g_file_set_contents (f->path, setup->profiles, -1, NULL));
    }

  f->address = g_strdup_printf ("127.0.70.%u", setup->n);
  f->clock = pl_clock_new_virtual (FALSE);
  f->igd_clock = pl_clock_new_virtual (FALSE);
  if (setup->n != NO_UPNP)
    {
      f->igd = pl_fake_igd_new (f->address, f->igd_clock, PL_FAKE_IGD_FLAGS_NONE, &error);
      g_assert_no_error (error);
      if (setup->fill != NULL)
        setup->fill (f->igd);
    }

  f->store = pl_profile_store_new (f->path);
  g_assert_true (pl_profile_store_load (f->store, NULL, &error));
  g_assert_no_error (error);
  f->session = g_object_new (PL_TYPE_SESSION,
                             "profiles", f->store,
                             "clock", f->clock,
                             "monitor-network", FALSE,
                             "announce-port", 0u,
                             NULL);
  pl_session_set_discover_func (f->session, discover_cb, f, NULL);
  pl_session_set_mapper_factory (f->session, upnp_factory, NULL, NULL);
  pl_session_start (f->session);
  g_assert_nonnull (pl_session_get_gateway (f->session));

  f->window = g_object_ref_sink (pl_router_window_new (NULL, f->session, f->store));
  gtk_widget_show (GTK_WIDGET (f->window));
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GFile) dir = NULL;

  if (f->window != NULL)
    gtk_widget_destroy (GTK_WIDGET (f->window));
  g_clear_object (&f->window);
  g_clear_object (&f->session);
  g_clear_object (&f->store);
  g_clear_object (&f->igd);
  g_clear_object (&f->clock);
  g_clear_object (&f->igd_clock);
  /* Let GUPnP's and libsoup's idle clean-ups run before the next test. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_unlink (f->path);
  {
    g_autofree char *parent = g_path_get_dirname (f->path);

    g_rmdir (parent);
  }
  g_rmdir (f->tmpdir);
  g_free (f->path);
  g_free (f->tmpdir);
  g_free (f->address);
}

/* The tables */

static void
fill_mixed (PlFakeIgd *igd)
{
  pl_fake_igd_add_entry (igd, LOCAL, "TCP", 8080, 80, "Portlight: Web (testhost)", 3600);
  pl_fake_igd_add_entry (igd, LOCAL, "UDP", 9000, 9000, "Transmission", 0);
  pl_fake_igd_add_entry (igd, "192.168.1.23", "TCP", 2222, 22, "NAS ssh", 0);
}

static void
fill_one (PlFakeIgd *igd)
{
  pl_fake_igd_add_entry (igd, LOCAL, "TCP", 8080, 8080, "Other app", 0);
}

static void
fill_other_device (PlFakeIgd *igd)
{
  pl_fake_igd_add_entry (igd, LOCAL, "TCP", 8081, 8081, "Portlight: Web [test] (testhost)", 0);
  pl_fake_igd_add_entry (igd, LOCAL, "UDP", 9000, 9000, "Transmission", 0);
  pl_fake_igd_add_entry (igd, "192.168.1.23", "TCP", 2222, 22, "NAS ssh", 0);
}

/* Tests */

static void
test_owners (Fixture       *f,
             gconstpointer  data)
{
  const RowState game = { "udp", 27015, "Game" };
  GtkWidget *row;

  g_test_summary ("Each row shows its ports, whose it is (a profile, Portlight, this "
                  "computer, another device), its description and time left; Keep and Remove "
                  "only where they apply");

  /* The session maps profile Game over UPnP-IGD: the window names it by the profile. */
  wait_for (f, row_is, &game, "the row of profile Game");
  g_assert_cmpstr (page (f), ==, "list");
  g_assert_cmpuint (n_rows (f), ==, 4);

  row = find_row (f, "udp", 27015);
  g_assert_cmpstr (row_text (row, "ports"), ==, "UDP 27015 → 127.0.0.1:27015");
  g_assert_true (g_str_has_prefix (row_text (row, "description"), "Portlight: Game"));
  g_assert_false (gtk_widget_get_visible (row_button (row, "keep")));
  g_assert_true (gtk_widget_get_visible (row_button (row, "remove")));

  row = find_row (f, "tcp", 8080);
  g_assert_nonnull (row);
  g_assert_cmpstr (row_text (row, "ports"), ==, "TCP 8080 → 127.0.0.1:80");
  g_assert_cmpstr (row_text (row, "owner"), ==, "Portlight");
  g_assert_cmpstr (row_text (row, "description"), ==, "Portlight: Web (testhost)");
  g_assert_cmpstr (row_text (row, "lease"), ==, "60 min left");
  g_assert_true (gtk_widget_get_visible (row_button (row, "keep")));
  g_assert_true (gtk_widget_get_visible (row_button (row, "remove")));

  row = find_row (f, "udp", 9000);
  g_assert_nonnull (row);
  g_assert_cmpstr (row_text (row, "owner"), ==, "This computer");
  g_assert_cmpstr (row_text (row, "description"), ==, "Transmission");
  g_assert_cmpstr (row_text (row, "lease"), ==, "permanent");
  g_assert_true (gtk_widget_get_visible (row_button (row, "keep")));
  g_assert_true (gtk_widget_get_visible (row_button (row, "remove")));

  row = find_row (f, "tcp", 2222);
  g_assert_nonnull (row);
  g_assert_cmpstr (row_text (row, "ports"), ==, "TCP 2222 → 192.168.1.23:22");
  g_assert_cmpstr (row_text (row, "owner"), ==, "Another device (192.168.1.23)");
  g_assert_false (gtk_widget_get_visible (row_button (row, "keep")));
  g_assert_false (gtk_widget_get_visible (row_button (row, "remove")));

  g_assert_false (gtk_widget_get_visible (widget (f, "message-bar")));
}

static void
test_table_changed (Fixture       *f,
                    gconstpointer  data)
{
  const RowState added = { "tcp", 8443, "This computer" };
  guint reads;

  g_test_summary ("A change of the router's table (an event) is read again by itself");

  wait_for (f, idle_after_reads, GUINT_TO_POINTER (1), "the first read");
  g_assert_cmpuint (n_rows (f), ==, 1);
  g_assert_null (find_row (f, "tcp", 8443));
  reads = pl_router_window_get_n_reads (f->window);

  pl_fake_igd_add_entry (f->igd, LOCAL, "TCP", 8443, 443, "Web server", 0);
  wait_for (f, row_is, &added, "the added row");
  g_assert_cmpuint (pl_router_window_get_n_reads (f->window), >, reads);
  g_assert_cmpuint (n_rows (f), ==, 2);
  g_assert_cmpstr (row_text (find_row (f, "tcp", 8443), "ports"), ==,
                   "TCP 8443 → 127.0.0.1:443");
}

static void
test_keep (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(PlProfileStore) reread = NULL;
  g_autoptr(GError) error = NULL;
  const RowState kept = { "udp", 9000, "Transmission 2" };
  PlProfile *profile;
  GtkWidget *row;

  g_test_summary ("Keep as profile adds an enabled profile with the row's protocol and "
                  "ports, named after its description (made unique), and saves the file");

  wait_for (f, idle_after_reads, GUINT_TO_POINTER (1), "the first read");
  row = find_row (f, "udp", 9000);
  g_assert_nonnull (row);
  g_assert_true (gtk_widget_get_visible (row_button (row, "keep")));
  /* Another device's mapping cannot be kept. */
  g_assert_false (gtk_widget_get_visible (row_button (find_row (f, "tcp", 2222), "keep")));

  gtk_button_clicked (GTK_BUTTON (row_button (row, "keep")));

  /* "Transmission" is taken by another profile. */
  profile = pl_profile_store_lookup (f->store, "Transmission 2");
  g_assert_nonnull (profile);
  g_assert_cmpint (pl_profile_get_protocol (profile), ==, PL_PROFILE_PROTOCOL_UDP);
  g_assert_cmpuint (pl_profile_get_internal_port (profile), ==, 9000);
  g_assert_cmpuint (pl_profile_get_external_port (profile), ==, 9000);
  g_assert_true (pl_profile_get_enabled (profile));
  g_assert_cmpstr (pl_profile_get_description (profile), ==, "Transmission");

  /* Saved the way the profiles window saves. */
  reread = pl_profile_store_new (f->path);
  g_assert_true (pl_profile_store_load (reread, NULL, &error));
  g_assert_no_error (error);
  g_assert_nonnull (pl_profile_store_lookup (reread, "Transmission 2"));
  g_assert_nonnull (pl_profile_store_lookup (reread, "Transmission"));

  /* The row now belongs to the profile (once the session maps it): no Keep any more. */
  wait_for (f, row_is, &kept, "the row of the kept profile");
  g_assert_false (gtk_widget_get_visible (row_button (find_row (f, "udp", 9000), "keep")));

  /* Portlight's own description gives its label, made a valid profile name. */
  row = find_row (f, "tcp", 8081);
  g_assert_nonnull (row);
  g_assert_cmpstr (row_text (row, "owner"), ==, "Portlight");
  gtk_button_clicked (GTK_BUTTON (row_button (row, "keep")));
  profile = pl_profile_store_lookup (f->store, "Web (test)");
  g_assert_nonnull (profile);
  g_assert_cmpint (pl_profile_get_protocol (profile), ==, PL_PROFILE_PROTOCOL_TCP);
  g_assert_cmpuint (pl_profile_get_internal_port (profile), ==, 8081);
  g_assert_null (pl_profile_get_description (profile));
  g_assert_false (gtk_widget_get_visible (row_button (find_row (f, "tcp", 8081), "keep")));
}

static void
test_remove (Fixture       *f,
             gconstpointer  data)
{
  const RowState gone = { "tcp", 8080, NULL };
  GtkWidget *row;

  g_test_summary ("Remove deletes this computer's mapping on the router and reads the table "
                  "again");

  wait_for (f, idle_after_reads, GUINT_TO_POINTER (1), "the first read");
  row = find_row (f, "tcp", 8080);
  g_assert_nonnull (row);
  g_assert_nonnull (pl_fake_igd_lookup (f->igd, "TCP", 8080));
  pl_fake_igd_clear_requests (f->igd);

  gtk_button_clicked (GTK_BUTTON (row_button (row, "remove")));
  g_assert_true (pl_router_window_is_busy (f->window));
  wait_for (f, row_is, &gone, "the removed row to go");

  g_assert_null (pl_fake_igd_lookup (f->igd, "TCP", 8080));
  g_assert_cmpuint (pl_fake_igd_count_requests (f->igd, "DeletePortMapping"), ==, 1);
  g_assert_cmpstr (page (f), ==, "empty");
  g_assert_false (gtk_widget_get_visible (widget (f, "message-bar")));
}

static void
test_refused (Fixture       *f,
              gconstpointer  data)
{
  const char *text;
  GtkWidget *row;

  g_test_summary ("A router that refuses to remove a mapping (606) says so in the window");

  wait_for (f, idle_after_reads, GUINT_TO_POINTER (1), "the first read");
  pl_fake_igd_fail_next (f->igd, "DeletePortMapping", 1, 606, "Action not authorized");
  row = find_row (f, "tcp", 8080);
  g_assert_nonnull (row);

  gtk_button_clicked (GTK_BUTTON (row_button (row, "remove")));
  wait_for (f, message_shown, NULL, "the refusal");

  text = gtk_label_get_text (GTK_LABEL (widget (f, "message-label")));
  g_assert_true (g_str_has_prefix (text, "Could not remove TCP 8080: "));
  g_assert_nonnull (strstr (text, "do not allow"));
  g_assert_cmpint (gtk_info_bar_get_message_type (GTK_INFO_BAR (widget (f, "message-bar"))), ==,
                   GTK_MESSAGE_ERROR);
  /* Nothing changed on the router, and the row is still there. */
  g_assert_nonnull (pl_fake_igd_lookup (f->igd, "TCP", 8080));
  wait_for (f, idle_after_reads, GUINT_TO_POINTER (2), "the read after the refusal");
  g_assert_nonnull (find_row (f, "tcp", 8080));
  g_assert_true (gtk_widget_get_visible (widget (f, "message-bar")));
}

static void
test_no_upnp (Fixture       *f,
              gconstpointer  data)
{
  g_test_summary ("Without UPnP-IGD on the router: a spinner while looking, then one line "
                  "and Retry");

  g_assert_cmpstr (page (f), ==, "loading");
  g_assert_true (pl_router_window_is_busy (f->window));
  {
    gboolean active = FALSE;

    g_object_get (widget (f, "spinner"), "active", &active, NULL);
    g_assert_true (active);
  }

  /* Discovery's verdict comes on the session's clock. */
  pl_clock_advance (f->clock, (PL_UPNP_DISCOVERY_VERDICT_MS + 1000) * G_GINT64_CONSTANT (1000));
  wait_for (f, on_page, "unavailable", "the no-UPnP state");
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (widget (f, "unavailable-label"))), ==,
                   "Your router does not answer UPnP-IGD, so Portlight cannot read its table");
  g_assert_true (gtk_widget_get_visible (widget (f, "retry")));
  g_assert_cmpuint (n_rows (f), ==, 0);
  g_assert_cmpuint (pl_router_window_get_n_reads (f->window), ==, 0);

  /* Retry looks again. */
  gtk_button_clicked (GTK_BUTTON (widget (f, "retry")));
  g_assert_cmpstr (page (f), ==, "loading");
  g_assert_true (pl_router_window_is_busy (f->window));
  pl_clock_advance (f->clock, (PL_UPNP_DISCOVERY_VERDICT_MS + 1000) * G_GINT64_CONSTANT (1000));
  wait_for (f, on_page, "unavailable", "the no-UPnP state again");
}

static void
test_gateway_changed (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(PlFakeIgd) igd = NULL;
  g_autoptr(GError) error = NULL;
  const RowState found = { "tcp", 8080, "This computer" };

  g_test_summary ("When the session moves to another gateway, the window reads that "
                  "router's table");

  pl_clock_advance (f->clock, (PL_UPNP_DISCOVERY_VERDICT_MS + 1000) * G_GINT64_CONSTANT (1000));
  wait_for (f, on_page, "unavailable", "the no-UPnP state");

  /* Another network, whose router speaks UPnP-IGD. */
  igd = pl_fake_igd_new ("127.0.70.6", f->igd_clock, PL_FAKE_IGD_FLAGS_NONE, &error);
  g_assert_no_error (error);
  fill_one (igd);
  g_free (f->address);
  f->address = g_strdup ("127.0.70.6");
  pl_session_network_changed (f->session);
  g_assert_cmpstr (page (f), ==, "loading");
  wait_for (f, row_is, &found, "the new router's row");
  g_assert_cmpstr (page (f), ==, "list");
  g_assert_cmpuint (n_rows (f), ==, 1);

  gtk_widget_destroy (GTK_WIDGET (f->window));
  g_clear_object (&f->window);
}

static const char game_profile[] =
  "[Game]\n"
  "Protocol=udp\n"
  "InternalPort=27015\n";

static const char transmission_profile[] =
  "[Transmission]\n"
  "Protocol=tcp\n"
  "InternalPort=5000\n";

int
main (int   argc,
      char *argv[])
{
  static const Setup owners = { 1, game_profile, fill_mixed };
  static const Setup table_changed = { 2, NULL, fill_one };
  static const Setup keep = { 3, transmission_profile, fill_other_device };
  static const Setup remove_setup = { 4, NULL, fill_one };
  static const Setup refused = { 5, NULL, fill_one };
  static const Setup no_upnp = { NO_UPNP, NULL, NULL };
  g_autofree char *display = NULL;
  int status;

  setlocale (LC_ALL, "C.UTF-8");
  g_test_init (&argc, &argv, NULL);
  pl_fake_igd_test_init ();

  g_unsetenv ("WAYLAND_DISPLAY");
  g_setenv ("GDK_BACKEND", "x11", TRUE);
  g_setenv ("NO_AT_BRIDGE", "1", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/portlight-test-bus", TRUE);
  display = start_xvfb ();
  if (display == NULL)
    {
      g_print ("1..0 # SKIP Xvfb is not installed or did not start (apt-get install xvfb)\n");
      return 0;
    }
  g_setenv ("DISPLAY", display, TRUE);
  if (!gtk_init_check (&argc, &argv))
    {
      g_print ("1..0 # SKIP cannot open display %s\n", display);
      return 0;
    }

  g_test_add ("/tray/router/owners", Fixture, &owners,
              fixture_set_up, test_owners, fixture_tear_down);
  g_test_add ("/tray/router/table-changed", Fixture, &table_changed,
              fixture_set_up, test_table_changed, fixture_tear_down);
  g_test_add ("/tray/router/keep", Fixture, &keep,
              fixture_set_up, test_keep, fixture_tear_down);
  g_test_add ("/tray/router/remove", Fixture, &remove_setup,
              fixture_set_up, test_remove, fixture_tear_down);
  g_test_add ("/tray/router/refused", Fixture, &refused,
              fixture_set_up, test_refused, fixture_tear_down);
  g_test_add ("/tray/router/no-upnp", Fixture, &no_upnp,
              fixture_set_up, test_no_upnp, fixture_tear_down);
  g_test_add ("/tray/router/gateway-changed", Fixture, &no_upnp,
              fixture_set_up, test_gateway_changed, fixture_tear_down);

  status = g_test_run ();
  g_subprocess_force_exit (xvfb);
  g_clear_object (&xvfb);
  return status;
}
