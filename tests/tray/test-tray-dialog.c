/* test-tray-dialog.c: the profiles window, in-process under a private Xvfb
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
#include "pl-test-bus.h"
#include "pl-fake-gateway.h"
#include "pl-profile-dialog.h"
#include "pl-tray-menu.h"

/* The window edits the profiles file through the store: every field is checked as it is
 * typed with the store's own rules and words, and only a valid profile can be saved. The
 * session has no router here (discovery fails), which the window shows. */

typedef struct
{
  char            *tmpdir;
  char            *path;
  PlClock         *clock;
  PlProfileStore  *store;
  PlSession       *session;
  PlTrayMenu      *menu;
  PlProfileDialog *dialog;
} Fixture;

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

static PlGateway *
no_gateway (gpointer   user_data,
            GError   **error)
{
  g_set_error_literal (error, PL_ERROR, PL_ERROR_NO_GATEWAY, "No default gateway (test)");
  return NULL;
}

static void
iterate (void)
{
  while (gtk_events_pending ())
    gtk_main_iteration_do (FALSE);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  const char *contents = data;
  g_autoptr(GError) error = NULL;

  f->tmpdir = g_dir_make_tmp ("portlight-dialog-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->tmpdir, "portlight", "profiles.ini", NULL);
  if (contents != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (f->path);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
      g_assert_true (g_file_set_contents (f->path, contents, -1, NULL));
    }

  f->clock = pl_clock_new_virtual (FALSE);
  f->store = pl_profile_store_new (f->path);
  g_assert_true (pl_profile_store_load (f->store, NULL, &error));
  g_assert_no_error (error);
  f->session = g_object_new (PL_TYPE_SESSION,
                             "profiles", f->store,
                             "clock", f->clock,
                             "monitor-network", FALSE,
                             "announce-port", 0u,
                             NULL);
  pl_session_set_discover_func (f->session, no_gateway, NULL, NULL);
  pl_session_start (f->session);
  f->menu = pl_tray_menu_new (f->session, f->store);
  f->dialog = g_object_ref_sink (pl_profile_dialog_new (NULL, f->store, f->menu));
  gtk_widget_show (GTK_WIDGET (f->dialog));
  iterate ();
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  gtk_widget_destroy (GTK_WIDGET (f->dialog));
  g_clear_object (&f->dialog);
  g_clear_object (&f->menu);
  g_clear_object (&f->session);
  g_clear_object (&f->store);
  g_clear_object (&f->clock);
  iterate ();
  g_unlink (f->path);
  {
    g_autofree char *dir = g_path_get_dirname (f->path);

    g_rmdir (dir);
  }
  g_rmdir (f->tmpdir);
  g_free (f->path);
  g_free (f->tmpdir);
}

static GtkWidget *
child (Fixture    *f,
       const char *name)
{
  GtkWidget *widget = GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (f->dialog),
                                                                 PL_TYPE_PROFILE_DIALOG, name));

  g_assert_nonnull (widget);
  return widget;
}

static void
type (Fixture    *f,
      const char *entry,
      const char *text)
{
  gtk_entry_set_text (GTK_ENTRY (child (f, entry)), text);
  iterate ();
}

/* The error under a field: its text if shown, else NULL. */
static const char *
error_of (Fixture    *f,
          const char *label)
{
  GtkWidget *widget = child (f, label);

  return gtk_widget_get_visible (widget) ? gtk_label_get_text (GTK_LABEL (widget)) : NULL;
}

/* What the profile loader says about @value for @key. */
static char *
loader_message (const char *name,
                const char *key,
                const char *value)
{
  g_autoptr(PlProfile) profile = pl_profile_new (name);
  g_autoptr(GError) error = NULL;

  g_assert_false (pl_profile_set_key_value (profile, key, value, &error));
  return g_strdup (error->message);
}

static char *
read_profiles (Fixture *f)
{
  char *contents = NULL;

  g_file_get_contents (f->path, &contents, NULL, NULL);
  return contents;
}

static void
test_new_profile (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *message = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autofree char *protocol = NULL;
  g_autofree char *description = NULL;

  g_test_summary ("A new profile: nothing is shouted before typing; a bad port shows the "
                  "loader's own message under the field; Save only when valid; saved to the "
                  "file");

  /* Empty store: the window opens on the empty state; Add Your Own gives a new profile,
   * without errors yet. */
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (child (f, "page_stack"))), ==,
                   "empty");
  gtk_button_clicked (GTK_BUTTON (child (f, "own_button")));
  iterate ();
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (child (f, "page_stack"))), ==,
                   "editor");
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (child (f, "form_title"))), ==, "New Profile");
  g_assert_null (error_of (f, "name_error"));
  g_assert_null (error_of (f, "internal_port_error"));
  g_assert_false (gtk_widget_get_sensitive (child (f, "save_button")));
  g_assert_false (pl_profile_dialog_can_save (f->dialog));

  type (f, "name_entry", "SSH");
  type (f, "internal_port_entry", "0");
  message = loader_message ("SSH", PL_PROFILE_KEY_INTERNAL_PORT, "0");
  g_assert_cmpstr (error_of (f, "internal_port_error"), ==, message);
  g_assert_false (gtk_widget_get_sensitive (child (f, "save_button")));

  type (f, "internal_port_entry", "22");
  g_assert_null (error_of (f, "internal_port_error"));
  type (f, "external_port_entry", "2222");
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (child (f, "protocol_combo")), "both");
  type (f, "description_entry", "Shell from outside");
  iterate ();
  g_assert_true (gtk_widget_get_sensitive (child (f, "save_button")));

  gtk_button_clicked (GTK_BUTTON (child (f, "save_button")));
  iterate ();
  contents = read_profiles (f);
  g_assert_nonnull (contents);
  g_assert_true (g_key_file_load_from_data (key_file, contents, -1, G_KEY_FILE_NONE, NULL));
  protocol = g_key_file_get_value (key_file, "SSH", "Protocol", NULL);
  g_assert_cmpstr (protocol, ==, "both");
  g_assert_cmpint (g_key_file_get_integer (key_file, "SSH", "InternalPort", NULL), ==, 22);
  g_assert_cmpint (g_key_file_get_integer (key_file, "SSH", "ExternalPort", NULL), ==, 2222);
  description = g_key_file_get_value (key_file, "SSH", "Description", NULL);
  g_assert_cmpstr (description, ==, "Shell from outside");
  g_assert_nonnull (pl_profile_store_lookup (f->store, "SSH"));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (child (f, "form_title"))), ==, "SSH");
  /* Saved: nothing left to save. */
  g_assert_false (gtk_widget_get_sensitive (child (f, "save_button")));
}

static void
test_bad_values (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *port = loader_message ("Web", PL_PROFILE_KEY_EXTERNAL_PORT, "70000");
  g_autofree char *lifetime = loader_message ("Web", PL_PROFILE_KEY_LIFETIME, "0");
  g_autofree char *letters = loader_message ("Web", PL_PROFILE_KEY_INTERNAL_PORT, "80a");
  g_autoptr(GError) name_error = NULL;

  g_test_summary ("Every field says what is wrong, in the store's words");

  g_assert_false (pl_profile_validate_name ("[Web]", &name_error));

  type (f, "name_entry", "[Web]");
  g_assert_cmpstr (error_of (f, "name_error"), ==, name_error->message);
  type (f, "name_entry", "Web");
  g_assert_null (error_of (f, "name_error"));

  type (f, "internal_port_entry", "80a");
  g_assert_cmpstr (error_of (f, "internal_port_error"), ==, letters);
  type (f, "internal_port_entry", "80");
  type (f, "external_port_entry", "70000");
  g_assert_cmpstr (error_of (f, "external_port_error"), ==, port);
  type (f, "external_port_entry", "");
  g_assert_null (error_of (f, "external_port_error"));
  type (f, "lifetime_entry", "0");
  g_assert_cmpstr (error_of (f, "lifetime_error"), ==, lifetime);
  g_assert_false (gtk_widget_get_sensitive (child (f, "save_button")));
  type (f, "lifetime_entry", "3600");
  g_assert_true (gtk_widget_get_sensitive (child (f, "save_button")));
}

static const char two_profiles[] =
  "# mine, keep me\n"
  "[SSH]\n"
  "Protocol=tcp\n"
  "InternalPort=22\n"
  "Enabled=true\n"
  "\n"
  "[Web]\n"
  "Protocol=tcp\n"
  "InternalPort=8080\n"
  "Enabled=false\n";

static void
test_taken (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(PlProfileStore) copy = pl_profile_store_new ("/nonexistent/profiles.ini");
  g_autoptr(PlProfile) clash = pl_profile_new ("SSH");
  g_autoptr(GError) name_taken = NULL;
  g_autoptr(GError) port_taken = NULL;

  g_test_summary ("A name or a port already used is refused before saving, with the store's "
                  "message");

  /* What the store itself says. */
  g_assert_true (pl_profile_store_load_from_data (copy, two_profiles, -1, NULL));
  pl_profile_set_internal_port (clash, 9999);
  g_assert_false (pl_profile_store_add (copy, clash, &name_taken));
  pl_profile_set_name (clash, "Other");
  pl_profile_set_internal_port (clash, 8080);
  g_assert_false (pl_profile_store_add (copy, clash, &port_taken));

  pl_profile_dialog_add_profile (f->dialog);
  type (f, "name_entry", "SSH");
  type (f, "internal_port_entry", "9999");
  g_assert_cmpstr (error_of (f, "form_error"), ==, name_taken->message);
  g_assert_false (gtk_widget_get_sensitive (child (f, "save_button")));

  type (f, "name_entry", "Other");
  type (f, "internal_port_entry", "8080");
  g_assert_cmpstr (error_of (f, "form_error"), ==, port_taken->message);
  g_assert_false (gtk_widget_get_sensitive (child (f, "save_button")));

  type (f, "internal_port_entry", "8081");
  g_assert_null (error_of (f, "form_error"));
  g_assert_true (gtk_widget_get_sensitive (child (f, "save_button")));
}

static const char *
visible_page (Fixture *f)
{
  return gtk_stack_get_visible_child_name (GTK_STACK (child (f, "page_stack")));
}

/* The preset buttons of the empty state, in order: "name|ports" each. */
static GPtrArray *
preset_buttons (Fixture *f)
{
  g_autoptr(GList) children = gtk_container_get_children (GTK_CONTAINER (child (f,
                                                                               "preset_box")));
  GPtrArray *buttons = g_ptr_array_new ();

  for (GList *l = children; l != NULL; l = l->next)
    g_ptr_array_add (buttons, gtk_bin_get_child (GTK_BIN (l->data)));   /* the flow box child */
  return buttons;
}

static char *
button_text (GtkWidget *button)
{
  g_autoptr(GList) labels = gtk_container_get_children (GTK_CONTAINER (gtk_bin_get_child (
                                                                           GTK_BIN (button))));

  g_assert_cmpuint (g_list_length (labels), ==, 2);
  return g_strdup_printf ("%s|%s", gtk_label_get_text (GTK_LABEL (labels->data)),
                          gtk_label_get_text (GTK_LABEL (labels->next->data)));
}

static void
test_empty_state (Fixture       *f,
                  gconstpointer  data)
{
  static const char *const expected[] = {
    "SSH|TCP 22", "Web server|TCP 8080", "Minecraft|TCP 25565", "Syncthing|TCP+UDP 22000",
    "qBittorrent|TCP+UDP 6881", "WireGuard|UDP 51820",
  };
  g_autoptr(GPtrArray) buttons = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autofree char *protocol = NULL;
  const char *explanation;
  GtkWidget *syncthing = NULL;

  g_test_summary ("With no profiles the window opens on an empty state: two lines on what a "
                  "profile is, and presets that fill in a new profile (not saved until Save); "
                  "removing the last profile brings it back");

  g_assert_cmpstr (visible_page (f), ==, "empty");
  explanation = gtk_label_get_text (GTK_LABEL (child (f, "empty_explanation")));
  g_assert_nonnull (strstr (explanation, "profile"));
  {
    g_auto(GStrv) lines = g_strsplit (explanation, "\n", -1);

    g_assert_cmpuint (g_strv_length (lines), ==, 2);
  }

  buttons = preset_buttons (f);
  g_assert_cmpuint (buttons->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < buttons->len; i++)
    {
      GtkWidget *button = g_ptr_array_index (buttons, i);
      g_autofree char *text = button_text (button);

      g_assert_true (GTK_IS_BUTTON (button));
      g_assert_cmpstr (text, ==, expected[i]);
      if (g_strcmp0 (gtk_widget_get_name (button), "preset-syncthing") == 0)
        syncthing = button;
    }
  g_assert_nonnull (syncthing);

  gtk_button_clicked (GTK_BUTTON (syncthing));
  iterate ();
  g_assert_cmpstr (visible_page (f), ==, "editor");
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (child (f, "form_title"))), ==, "New Profile");
  g_assert_cmpstr (gtk_entry_get_text (GTK_ENTRY (child (f, "name_entry"))), ==, "Syncthing");
  g_assert_cmpstr (gtk_combo_box_get_active_id (GTK_COMBO_BOX (child (f, "protocol_combo"))),
                   ==, "both");
  g_assert_cmpstr (gtk_entry_get_text (GTK_ENTRY (child (f, "internal_port_entry"))), ==,
                   "22000");
  g_assert_null (error_of (f, "form_error"));
  g_assert_true (gtk_widget_get_sensitive (child (f, "save_button")));
  /* Nothing saved yet: the user decides. */
  g_assert_null (pl_profile_store_lookup (f->store, "Syncthing"));
  g_assert_false (g_file_test (f->path, G_FILE_TEST_EXISTS));

  gtk_button_clicked (GTK_BUTTON (child (f, "save_button")));
  iterate ();
  contents = read_profiles (f);
  g_assert_true (g_key_file_load_from_data (key_file, contents, -1, G_KEY_FILE_NONE, NULL));
  protocol = g_key_file_get_value (key_file, "Syncthing", "Protocol", NULL);
  g_assert_cmpstr (protocol, ==, "both");
  g_assert_cmpint (g_key_file_get_integer (key_file, "Syncthing", "InternalPort", NULL), ==,
                   22000);
  g_assert_cmpstr (visible_page (f), ==, "editor");

  /* The last profile removed: the empty state again. */
  gtk_button_clicked (GTK_BUTTON (child (f, "remove_button")));
  iterate ();
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (f->store)), ==, 0);
  g_assert_cmpstr (visible_page (f), ==, "empty");
  g_assert_false (pl_profile_dialog_add_preset (f->dialog, "no-such-preset"));
  g_assert_cmpstr (visible_page (f), ==, "empty");
}

static void
test_preset_taken (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(PlProfileStore) copy = pl_profile_store_new ("/nonexistent/profiles.ini");
  g_autoptr(PlProfile) clash = pl_profile_new ("SSH 2");
  g_autoptr(GError) port_taken = NULL;

  g_test_summary ("A preset whose name is taken gets the next free one (\"SSH 2\"); one whose "
                  "port is taken says so in the store's words, and cannot be saved until the "
                  "port is changed");

  /* Profiles exist: no empty state. */
  g_assert_cmpstr (visible_page (f), ==, "editor");

  g_assert_true (pl_profile_store_load_from_data (copy, two_profiles, -1, NULL));
  pl_profile_set_internal_port (clash, 22);
  g_assert_false (pl_profile_store_add (copy, clash, &port_taken));

  g_assert_true (pl_profile_dialog_add_preset (f->dialog, "ssh"));
  iterate ();
  g_assert_cmpstr (gtk_entry_get_text (GTK_ENTRY (child (f, "name_entry"))), ==, "SSH 2");
  g_assert_cmpstr (error_of (f, "form_error"), ==, port_taken->message);
  g_assert_false (gtk_widget_get_sensitive (child (f, "save_button")));
  type (f, "internal_port_entry", "2222");
  g_assert_null (error_of (f, "form_error"));
  g_assert_true (pl_profile_dialog_save (f->dialog, NULL));
  g_assert_nonnull (pl_profile_store_lookup (f->store, "SSH 2"));

  /* A third: "SSH 3". */
  g_assert_true (pl_profile_dialog_add_preset (f->dialog, "ssh"));
  iterate ();
  g_assert_cmpstr (gtk_entry_get_text (GTK_ENTRY (child (f, "name_entry"))), ==, "SSH 3");

  /* A free name and port: ready to save as it is. */
  g_assert_true (pl_profile_dialog_add_preset (f->dialog, "wireguard"));
  iterate ();
  g_assert_cmpstr (gtk_entry_get_text (GTK_ENTRY (child (f, "name_entry"))), ==, "WireGuard");
  g_assert_cmpstr (gtk_combo_box_get_active_id (GTK_COMBO_BOX (child (f, "protocol_combo"))),
                   ==, "udp");
  g_assert_true (gtk_widget_get_sensitive (child (f, "save_button")));
}

static void
test_edit_and_remove (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *contents = NULL;
  g_autofree char *after = NULL;

  g_test_summary ("Editing renames in place and keeps the file's comments; Revert undoes "
                  "typing; Remove deletes");

  /* The first profile is selected at the start. */
  g_assert_cmpstr (gtk_entry_get_text (GTK_ENTRY (child (f, "name_entry"))), ==, "SSH");
  g_assert_false (gtk_widget_get_sensitive (child (f, "revert_button")));

  type (f, "name_entry", "Shell");
  g_assert_true (gtk_widget_get_sensitive (child (f, "revert_button")));
  gtk_button_clicked (GTK_BUTTON (child (f, "revert_button")));
  iterate ();
  g_assert_cmpstr (gtk_entry_get_text (GTK_ENTRY (child (f, "name_entry"))), ==, "SSH");

  type (f, "name_entry", "Shell");
  type (f, "external_port_entry", "2222");
  g_assert_true (pl_profile_dialog_save (f->dialog, NULL));
  contents = read_profiles (f);
  g_assert_true (g_str_has_prefix (contents, "# mine, keep me\n"));
  g_assert_nonnull (strstr (contents, "\n[Shell]\n"));
  g_assert_nonnull (strstr (contents, "ExternalPort=2222"));
  g_assert_null (strstr (contents, "[SSH]"));

  g_assert_true (pl_profile_dialog_select_profile (f->dialog, "Web"));
  g_assert_cmpstr (gtk_entry_get_text (GTK_ENTRY (child (f, "internal_port_entry"))), ==, "8080");
  g_assert_false (gtk_switch_get_active (GTK_SWITCH (child (f, "enabled_switch"))));
  gtk_button_clicked (GTK_BUTTON (child (f, "remove_button")));
  iterate ();
  after = read_profiles (f);
  g_assert_null (strstr (after, "[Web]"));
  g_assert_null (pl_profile_store_lookup (f->store, "Web"));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (f->store)), ==, 1);
}

static void
test_app_chooser_shown (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GList) children = gtk_container_get_children (GTK_CONTAINER (child (f, "app_box")));
  g_autoptr(GtkTreePath) shown = NULL;
  g_autofree char *name = NULL;
  GtkComboBox *chooser = NULL;
  GtkWidget *view;
  GtkTreeIter iter;

  g_test_summary ("The Application box shows its choice for a profile not tied to an "
                  "application (\"Always\"), not an empty box: the row is displayed by the "
                  "box's cell view, not only chosen in its model");

  for (GList *l = children; l != NULL; l = l->next)
    if (GTK_IS_COMBO_BOX (l->data))
      chooser = l->data;
  g_assert_nonnull (chooser);
  g_assert_cmpstr (gtk_entry_get_text (GTK_ENTRY (child (f, "name_entry"))), ==, "SSH");

  view = gtk_bin_get_child (GTK_BIN (chooser));
  g_assert_true (GTK_IS_CELL_VIEW (view));
  shown = gtk_cell_view_get_displayed_row (GTK_CELL_VIEW (view));
  g_assert_nonnull (shown);
  g_assert_true (gtk_tree_model_get_iter (gtk_combo_box_get_model (chooser), &iter, shown));
  gtk_tree_model_get (gtk_combo_box_get_model (chooser), &iter, 1, &name, -1);
  g_assert_cmpstr (name, ==, "Always (not tied to an application)");

  /* Another profile without an application: still shown. */
  g_assert_true (pl_profile_dialog_select_profile (f->dialog, "Web"));
  iterate ();
  g_clear_pointer (&shown, gtk_tree_path_free);
  shown = gtk_cell_view_get_displayed_row (GTK_CELL_VIEW (view));
  g_assert_nonnull (shown);
}

static const char family_profiles[] =
  "[SSH]\n"
  "Protocol=tcp\n"
  "Family=ipv4\n"
  "InternalPort=22\n"
  "# mine\n"
  "X-Mine=kept\n"
  "\n"
  "[Web]\n"
  "Protocol=tcp\n"
  "InternalPort=8080\n";

static void
test_family (Fixture       *f,
             gconstpointer  data)
{
  const char *labels[] = { "IPv4 and IPv6", "IPv4 only", "IPv6 only" };
  const char *ids[] = { "both", "ipv4", "ipv6" };
  GtkComboBox *combo = GTK_COMBO_BOX (child (f, "family_combo"));
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autofree char *contents = NULL;
  g_autofree char *family = NULL;
  GtkTreeModel *model;
  GtkTreeIter iter;

  g_test_summary ("The family choice shows the profile's family, and what is chosen is saved "
                  "to the profile, the store and the file (Family=…); a new profile is both, "
                  "without a Family key");

  /* The four choices, in order. */
  model = gtk_combo_box_get_model (combo);
  g_assert_true (gtk_tree_model_get_iter_first (model, &iter));
  for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
    {
      g_autofree char *label = NULL;
      g_autofree char *id = NULL;

      gtk_tree_model_get (model, &iter, gtk_combo_box_get_entry_text_column (combo), &label,
                          gtk_combo_box_get_id_column (combo), &id, -1);
      g_assert_cmpstr (label, ==, labels[i]);
      g_assert_cmpstr (id, ==, ids[i]);
      g_assert_true (gtk_tree_model_iter_next (model, &iter) == (i + 1 < G_N_ELEMENTS (labels)));
    }

  /* The first profile is selected at the start, with its family. */
  g_assert_cmpstr (gtk_entry_get_text (GTK_ENTRY (child (f, "name_entry"))), ==, "SSH");
  g_assert_cmpstr (gtk_combo_box_get_active_id (combo), ==, "ipv4");
  g_assert_false (gtk_widget_get_sensitive (child (f, "save_button")));
  g_assert_true (pl_profile_dialog_select_profile (f->dialog, "Web"));
  g_assert_cmpstr (gtk_combo_box_get_active_id (combo), ==, "both");

  /* A change is something to save, and Revert undoes it. */
  g_assert_true (pl_profile_dialog_select_profile (f->dialog, "SSH"));
  gtk_combo_box_set_active_id (combo, "ipv6");
  iterate ();
  g_assert_true (gtk_widget_get_sensitive (child (f, "save_button")));
  g_assert_true (gtk_widget_get_sensitive (child (f, "revert_button")));
  gtk_button_clicked (GTK_BUTTON (child (f, "revert_button")));
  iterate ();
  g_assert_cmpstr (gtk_combo_box_get_active_id (combo), ==, "ipv4");
  g_assert_false (gtk_widget_get_sensitive (child (f, "save_button")));

  /* Saved: the profile in the store, and Family in place in the file, the rest kept. */
  gtk_combo_box_set_active_id (combo, "ipv6");
  iterate ();
  gtk_button_clicked (GTK_BUTTON (child (f, "save_button")));
  iterate ();
  g_assert_cmpint (pl_profile_get_family (pl_profile_store_lookup (f->store, "SSH")), ==,
                   PL_PROFILE_FAMILY_IPV6);
  contents = read_profiles (f);
  g_assert_cmpstr (contents, ==,
                   "[SSH]\n"
                   "Protocol=tcp\n"
                   "Family=ipv6\n"
                   "InternalPort=22\n"
                   "# mine\n"
                   "X-Mine=kept\n"
                   "ExternalPort=0\n"
                   "Lifetime=7200\n"
                   "Enabled=true\n"
                   "\n"
                   "[Web]\n"
                   "Protocol=tcp\n"
                   "InternalPort=8080\n");
  g_assert_false (gtk_widget_get_sensitive (child (f, "save_button")));
  g_clear_pointer (&contents, g_free);

  /* A new profile starts as both; both is not written. */
  pl_profile_dialog_add_profile (f->dialog);
  iterate ();
  g_assert_cmpstr (gtk_combo_box_get_active_id (combo), ==, "both");
  type (f, "name_entry", "Game");
  type (f, "internal_port_entry", "27015");
  g_assert_true (pl_profile_dialog_save (f->dialog, NULL));
  g_assert_cmpint (pl_profile_get_family (pl_profile_store_lookup (f->store, "Game")), ==,
                   PL_PROFILE_FAMILY_BOTH);

  /* And one that is IPv6 only. */
  pl_profile_dialog_add_profile (f->dialog);
  type (f, "name_entry", "Mail");
  type (f, "internal_port_entry", "25");
  gtk_combo_box_set_active_id (combo, "ipv6");
  iterate ();
  g_assert_true (pl_profile_dialog_save (f->dialog, NULL));
  g_assert_cmpint (pl_profile_get_family (pl_profile_store_lookup (f->store, "Mail")), ==,
                   PL_PROFILE_FAMILY_IPV6);

  contents = read_profiles (f);
  g_assert_true (g_key_file_load_from_data (key_file, contents, -1, G_KEY_FILE_NONE, NULL));
  g_assert_false (g_key_file_has_key (key_file, "Game", "Family", NULL));
  family = g_key_file_get_value (key_file, "Mail", "Family", NULL);
  g_assert_cmpstr (family, ==, "ipv6");

  /* Loaded again, the store agrees. */
  g_assert_true (pl_profile_store_load (f->store, NULL, NULL));
  iterate ();
  g_assert_cmpint (pl_profile_get_family (pl_profile_store_lookup (f->store, "SSH")), ==,
                   PL_PROFILE_FAMILY_IPV6);
  g_assert_cmpint (pl_profile_get_family (pl_profile_store_lookup (f->store, "Game")), ==,
                   PL_PROFILE_FAMILY_BOTH);
  g_assert_cmpint (pl_profile_get_family (pl_profile_store_lookup (f->store, "Mail")), ==,
                   PL_PROFILE_FAMILY_IPV6);
}

static const char any_profiles[] =
  "[vpn-torrent]\n"
  "Protocol=both\n"
  "InternalPort=51413\n"
  "ExternalPort=any\n"
  "Lifetime=60\n"
  "Enabled=true\n"
  "OnPortChange=transmission-remote -p %p\n";

static void
test_any_port (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *contents = NULL;

  g_test_summary ("A profile with ExternalPort=any shows “any”, and an edit in the window "
                  "keeps it and OnPortChange (which the window has no field for)");

  g_assert_cmpstr (gtk_entry_get_text (GTK_ENTRY (child (f, "external_port_entry"))), ==, "any");
  g_assert_false (gtk_widget_get_sensitive (child (f, "save_button")));

  type (f, "lifetime_entry", "120");
  g_assert_true (pl_profile_dialog_save (f->dialog, NULL));
  contents = read_profiles (f);
  g_assert_cmpstr (contents, ==,
                   "[vpn-torrent]\n"
                   "Protocol=both\n"
                   "InternalPort=51413\n"
                   "ExternalPort=any\n"
                   "Lifetime=120\n"
                   "Enabled=true\n"
                   "OnPortChange=transmission-remote -p %p\n");
  g_assert_true (pl_profile_get_any_external_port (pl_profile_store_lookup (f->store,
                                                                            "vpn-torrent")));

  /* Typing a port ends "any". */
  type (f, "external_port_entry", "6881");
  g_assert_true (pl_profile_dialog_save (f->dialog, NULL));
  g_assert_false (pl_profile_get_any_external_port (pl_profile_store_lookup (f->store,
                                                                             "vpn-torrent")));
  g_assert_cmpuint (pl_profile_get_external_port (pl_profile_store_lookup (f->store,
                                                                           "vpn-torrent")),
                    ==, 6881);
}

static const char network_profiles[] =
  "[home-ssh]\n"
  "Protocol=tcp\n"
  "InternalPort=2222\n"
  "ExternalPort=0\n"
  "Lifetime=7200\n"
  "Enabled=true\n"
  "Network=home ;gateway=02-77-00-00-00-98\n";

static void
test_network (Fixture       *f,
              gconstpointer  data)
{
  GtkWidget *box = child (f, "network_box");
  g_autoptr(GList) children = gtk_container_get_children (GTK_CONTAINER (box));
  GtkToggleButton *toggle;
  g_autofree char *contents = NULL;
  g_autofree char *cleared = NULL;

  g_test_summary ("A profile with Network= shows “Only on network ‘home’” checked (this "
                  "machine's router is another), an edit keeps the value byte for byte, and "
                  "unchecking it removes the line");

  g_assert_nonnull (children);
  toggle = GTK_TOGGLE_BUTTON (children->data);
  g_assert_cmpstr (gtk_widget_get_name (GTK_WIDGET (toggle)), ==, "network-toggle");
  g_assert_true (gtk_toggle_button_get_active (toggle));
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (toggle)), ==, "Only on _network ‘home’");

  type (f, "lifetime_entry", "120");
  g_assert_true (pl_profile_dialog_save (f->dialog, NULL));
  contents = read_profiles (f);
  g_assert_cmpstr (contents, ==,
                   "[home-ssh]\n"
                   "Protocol=tcp\n"
                   "InternalPort=2222\n"
                   "ExternalPort=0\n"
                   "Lifetime=120\n"
                   "Enabled=true\n"
                   "Network=home ;gateway=02-77-00-00-00-98\n");

  gtk_toggle_button_set_active (toggle, FALSE);
  iterate ();
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (toggle)), ==, "Only on this _network");
  g_assert_true (pl_profile_dialog_save (f->dialog, NULL));
  cleared = read_profiles (f);
  g_assert_null (strstr (cleared, "Network="));
  g_assert_null (pl_profile_get_network (pl_profile_store_lookup (f->store, "home-ssh")));
}

static void
test_tray_message (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *status = NULL;

  g_test_summary ("The window shows the tray's message and the router state");

  g_assert_false (gtk_widget_get_visible (child (f, "tray_bar")));
  pl_profile_dialog_set_tray_message (f->dialog, "No system tray was found.");
  g_assert_true (gtk_widget_get_visible (child (f, "tray_bar")));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (child (f, "tray_label"))), ==,
                   "No system tray was found.");
  pl_profile_dialog_set_tray_message (f->dialog, NULL);
  g_assert_false (gtk_widget_get_visible (child (f, "tray_bar")));

  status = g_strdup (gtk_label_get_text (GTK_LABEL (child (f, "status_label"))));
  g_assert_cmpstr (status, ==, "Public address unknown · No router found");
}

static void
protocol_change_state_cb (GSimpleAction *action,
                          GVariant      *value,
                          gpointer       user_data)
{
  char **requested = user_data;

  g_free (*requested);
  *requested = g_variant_dup_string (value, NULL);
  g_simple_action_set_state (action, value);
}

static void
test_router_protocol (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GtkApplication) application = gtk_application_new (NULL, G_APPLICATION_NON_UNIQUE);
  const GActionEntry entries[] = {
    { "protocol", NULL, NULL, "'pcp'", protocol_change_state_cb, { 0 } },
  };
  const char *labels[] = { "Automatic (PCP, NAT-PMP or UPnP-IGD)", "PCP", "NAT-PMP", "UPnP-IGD" };
  const char *ids[] = { "auto", "pcp", "natpmp", "upnp" };
  g_autoptr(GError) error = NULL;
  g_autofree char *requested = NULL;
  PlProfileDialog *dialog;
  GtkComboBox *combo;
  GtkTreeModel *model;
  GtkTreeIter iter;
  GAction *action;

  g_test_summary ("The protocol choice shows the application's protocol action and changes "
                  "it; without an application it is insensitive");

  g_assert_false (gtk_widget_get_sensitive (child (f, "router_protocol_combo")));

  g_action_map_add_action_entries (G_ACTION_MAP (application), entries, G_N_ELEMENTS (entries),
                                   &requested);
  g_assert_true (g_application_register (G_APPLICATION (application), NULL, &error));
  g_assert_no_error (error);
  dialog = pl_profile_dialog_new (application, f->store, f->menu);
  combo = GTK_COMBO_BOX (gtk_widget_get_template_child (GTK_WIDGET (dialog),
                                                        PL_TYPE_PROFILE_DIALOG,
                                                        "router_protocol_combo"));
  gtk_widget_show (GTK_WIDGET (dialog));
  iterate ();

  /* The four choices, in order. */
  model = gtk_combo_box_get_model (combo);
  g_assert_true (gtk_tree_model_get_iter_first (model, &iter));
  for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
    {
      g_autofree char *label = NULL;
      g_autofree char *id = NULL;

      gtk_tree_model_get (model, &iter, gtk_combo_box_get_entry_text_column (combo), &label,
                          gtk_combo_box_get_id_column (combo), &id, -1);
      g_assert_cmpstr (label, ==, labels[i]);
      g_assert_cmpstr (id, ==, ids[i]);
      g_assert_true (gtk_tree_model_iter_next (model, &iter) == (i + 1 < G_N_ELEMENTS (labels)));
    }

  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (combo)));
  g_assert_cmpstr (gtk_combo_box_get_active_id (combo), ==, "pcp");
  g_assert_null (requested);

  /* Chosen in the window: the action is asked to change. */
  gtk_combo_box_set_active_id (combo, "natpmp");
  iterate ();
  g_assert_cmpstr (requested, ==, "natpmp");

  /* Changed elsewhere (the tray, gapplication action): the window follows, without asking. */
  g_clear_pointer (&requested, g_free);
  action = g_action_map_lookup_action (G_ACTION_MAP (application), "protocol");
  g_simple_action_set_state (G_SIMPLE_ACTION (action), g_variant_new_string ("auto"));
  iterate ();
  g_assert_cmpstr (gtk_combo_box_get_active_id (combo), ==, "auto");
  g_assert_null (requested);

  gtk_widget_destroy (GTK_WIDGET (dialog));
  iterate ();
}

static gboolean
guard_cb (gpointer user_data)
{
  g_error ("Test did not finish within 30 s of real time");
  return G_SOURCE_REMOVE;
}

static void
test_refusal (void)
{
  /* Time stands still: the router answers the first datagrams, no retry is needed. */
  g_autoptr(PlClock) clock = pl_clock_new_virtual (FALSE);
  g_autoptr(PlFakeGateway) gateway = NULL;
  g_autoptr(PlProfileStore) store = pl_profile_store_new ("/nonexistent/portlight/profiles.ini");
  g_autoptr(PlSession) session = NULL;
  g_autoptr(PlTrayMenu) menu = NULL;
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GList) rows = NULL;
  g_autofree char *where = NULL;
  g_autofree char *expected = NULL;
  PlProfileDialog *dialog;
  PlTrayItem *state;
  GtkLabel *detail;
  guint guard_id;

  g_test_summary ("A refusal: the menu says it short; the window's row has the router's "
                  "message, the likely cause (port 22 is below 1024) and the fix");

  for (guint attempt = 0; gateway == NULL; attempt++)
    {
      g_clear_error (&error);
      g_free (where);
      where = g_strdup_printf ("127.%u.48.1",
                               attempt == 0 ? 0 : (guint) g_random_int_range (1, 255));
      gateway = pl_fake_gateway_new (where, clock, &error);
      if (gateway == NULL &&
          (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE) || attempt == 20))
        g_error ("Cannot start the fake gateway on %s: %s", where, error->message);
    }
  pl_fake_gateway_set_result_code (gateway, 2);   /* not authorized */
  g_assert_true (pl_profile_store_load_from_data (store, "[SSH]\nProtocol=tcp\n"
                                                  "InternalPort=22\nExternalPort=2222\n",
                                                  -1, &error));
  g_assert_no_error (error);
  address = g_inet_address_new_from_string (where);
  session = g_object_new (PL_TYPE_SESSION,
                          "profiles", store,
                          "clock", clock,
                          "fixed-gateway", address,
                          "monitor-network", FALSE,
                          "announce-port", 0u,
                          NULL);
  /* This fake router speaks NAT-PMP only: nothing else is asked. */
  pl_session_set_method (session, PL_METHOD_NATPMP);
  menu = pl_tray_menu_new (session, store);
  dialog = g_object_ref_sink (pl_profile_dialog_new (NULL, store, menu));
  gtk_widget_show (GTK_WIDGET (dialog));
  pl_session_start (session);

  guard_id = g_timeout_add_seconds (30, guard_cb, NULL);
  while ((state = pl_tray_menu_find_item (menu, "profile-state:SSH")) == NULL ||
         !g_str_has_prefix (state->label, "Refused"))
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (guard_id);
  iterate ();

  g_assert_cmpstr (state->label, ==, "Refused by the router (port 22 is below 1024)");
  rows = gtk_container_get_children (GTK_CONTAINER (gtk_widget_get_template_child (
                                       GTK_WIDGET (dialog), PL_TYPE_PROFILE_DIALOG,
                                       "profile_list")));
  g_assert_cmpuint (g_list_length (rows), ==, 1);
  detail = g_object_get_data (rows->data, "pl-detail-label");
  g_assert_nonnull (detail);
  expected = g_strdup_printf ("TCP 22 → 2222\n"
                              "The router at %s refused: NAT-PMP may be switched off in its "
                              "settings, or its rules do not allow this port.\n"
                              "Port 22 is below 1024, and routers refuse those by default "
                              "(miniupnpd’s rules, for one, allow only 1024-65535). To fix it, "
                              "run the service on a port of 1024 or above, or allow port 22 in "
                              "the router’s settings.", where);
  g_assert_cmpstr (gtk_label_get_text (detail), ==, expected);

  gtk_widget_destroy (GTK_WIDGET (dialog));
  g_object_unref (dialog);
  g_clear_object (&menu);
  g_clear_object (&session);
  iterate ();
}

static void
engine_name_cb (GDBusConnection *connection,
                const char      *name,
                const char      *owner,
                gpointer         user_data)
{
  *(gboolean *) user_data = TRUE;
}

static void
engine_exited_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

static gboolean
engine_has_profile (PlEngineClient *engine,
                    const char     *name)
{
  g_autoptr(PlBrokerProfile) profile = pl_engine_client_get_profile (engine, name);

  return profile != NULL;
}

static char *
read_file (const char *path)
{
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, NULL);
  return contents;
}

static void
test_through_engine (void)
{
  static const char profiles[] = "[SSH]\nProtocol=tcp\nInternalPort=22\n\n"
                                 "[Web]\nProtocol=tcp\nInternalPort=8080\n";
  g_autoptr(GError) error = NULL;
  g_autofree char *tmpdir = g_dir_make_tmp ("portlight-dialog-engine-XXXXXX", &error);
  g_autofree char *config = g_build_filename (tmpdir, "config", NULL);
  g_autofree char *runtime = g_build_filename (tmpdir, "runtime", NULL);
  g_autofree char *folder = g_build_filename (config, "portlight", NULL);
  g_autofree char *engine_path = g_build_filename (folder, "profiles.ini", NULL);
  g_autofree char *tray_path = g_build_filename (tmpdir, "tray-profiles.ini", NULL);
  g_autofree char *engine_file = NULL;
  g_autofree char *tray_file = NULL;
  g_autoptr(PlClock) clock = pl_clock_new_virtual (FALSE);
  g_autoptr(PlProfileStore) store = NULL;
  g_autoptr(PlSession) session = NULL;
  g_autoptr(PlTrayMenu) menu = NULL;
  g_autoptr(GTestDBus) bus = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) engine_process = NULL;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GDBusObjectManager) objects = NULL;
  g_autoptr(PlEngineClient) engine = NULL;
  PlProfileDialog *dialog;
  gboolean appeared = FALSE;
  gboolean exited = FALSE;
  guint watch_id;
  guint guard_id;

  g_test_summary ("As the engine's client, the window's Save and Remove are the engine's "
                  "Update and Delete: the engine's profiles file changes, the tray's own copy "
                  "is never written, the tray's store shows the change at once, and the "
                  "engine's objects follow");
  g_assert_no_error (error);
  g_assert_nonnull (g_getenv ("PORTLIGHTCTL"));

  /* The engine's file, and a copy the tray's store reads: were the window to save by
   * itself, the copy would change and the engine's file would not. */
  g_assert_cmpint (g_mkdir_with_parents (folder, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (runtime, 0700), ==, 0);
  g_assert_true (g_file_set_contents (engine_path, profiles, -1, NULL));
  g_assert_true (g_file_set_contents (tray_path, profiles, -1, NULL));

  guard_id = g_timeout_add_seconds (30, guard_cb, NULL);
  bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  pl_test_bus_up (bus);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                g_test_dbus_get_bus_address (bus), TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", tmpdir, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", config, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", runtime, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_STATE_HOME", tmpdir, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", tmpdir, TRUE);
  /* Nothing is enabled: it asks no router anything that matters here. */
  engine_process = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("PORTLIGHTCTL"),
                                                "run", "--protocol", "natpmp", "-g",
                                                "127.0.0.1", NULL);
  g_assert_no_error (error);
  g_subprocess_wait_async (engine_process, NULL, engine_exited_cb, &exited);

  connection = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
  watch_id = g_bus_watch_name_on_connection (connection, PL_BROKER_BUS_NAME,
                                             G_BUS_NAME_WATCHER_FLAGS_NONE, engine_name_cb,
                                             NULL, &appeared, NULL);
  while (!appeared && !exited)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (exited);
  g_bus_unwatch_name (watch_id);
  objects = pl_broker_object_manager_client_new_sync (
    connection, G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_NONE, PL_BROKER_BUS_NAME,
    PL_BROKER_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  engine = pl_engine_client_new (objects);
  while (!engine_has_profile (engine, "SSH") || !engine_has_profile (engine, "Web"))
    g_main_context_iteration (NULL, TRUE);

  store = pl_profile_store_new (tray_path);
  g_assert_true (pl_profile_store_load (store, NULL, &error));
  g_assert_no_error (error);
  session = g_object_new (PL_TYPE_SESSION, "profiles", store, "clock", clock,
                          "monitor-network", FALSE, "announce-port", 0u, NULL);
  menu = pl_tray_menu_new (session, store);
  pl_tray_menu_set_engine (menu, engine);
  dialog = g_object_ref_sink (pl_profile_dialog_new (NULL, store, menu));
  gtk_widget_show (GTK_WIDGET (dialog));
  iterate ();

  g_assert_true (pl_profile_dialog_select_profile (dialog, "SSH"));
  gtk_entry_set_text (GTK_ENTRY (gtk_widget_get_template_child (GTK_WIDGET (dialog),
                                                                PL_TYPE_PROFILE_DIALOG,
                                                                "name_entry")), "Shell");
  gtk_entry_set_text (GTK_ENTRY (gtk_widget_get_template_child (GTK_WIDGET (dialog),
                                                                PL_TYPE_PROFILE_DIALOG,
                                                                "external_port_entry")),
                      "2222");
  iterate ();
  g_assert_true (pl_profile_dialog_save (dialog, &error));
  g_assert_no_error (error);
  while (pl_profile_dialog_is_saving (dialog))
    g_main_context_iteration (NULL, TRUE);
  engine_file = read_file (engine_path);
  g_assert_nonnull (strstr (engine_file, "[Shell]\n"));
  g_assert_nonnull (strstr (engine_file, "ExternalPort=2222"));
  g_assert_null (strstr (engine_file, "[SSH]"));
  tray_file = read_file (tray_path);
  g_assert_cmpstr (tray_file, ==, profiles);
  g_assert_nonnull (pl_profile_store_lookup (store, "Shell"));
  g_assert_null (pl_profile_store_lookup (store, "SSH"));
  while (!engine_has_profile (engine, "Shell") || engine_has_profile (engine, "SSH"))
    g_main_context_iteration (NULL, TRUE);

  g_assert_true (pl_profile_dialog_select_profile (dialog, "Web"));
  gtk_button_clicked (GTK_BUTTON (gtk_widget_get_template_child (GTK_WIDGET (dialog),
                                                                 PL_TYPE_PROFILE_DIALOG,
                                                                 "remove_button")));
  while (pl_profile_dialog_is_saving (dialog))
    g_main_context_iteration (NULL, TRUE);
  g_free (engine_file);
  engine_file = read_file (engine_path);
  g_assert_null (strstr (engine_file, "[Web]"));
  g_assert_nonnull (strstr (engine_file, "[Shell]\n"));
  g_free (tray_file);
  tray_file = read_file (tray_path);
  g_assert_cmpstr (tray_file, ==, profiles);
  g_assert_null (pl_profile_store_lookup (store, "Web"));
  while (engine_has_profile (engine, "Web"))
    g_main_context_iteration (NULL, TRUE);

  gtk_widget_destroy (GTK_WIDGET (dialog));
  g_object_unref (dialog);
  g_subprocess_send_signal (engine_process, SIGTERM);
  while (!exited)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (guard_id);
  g_clear_object (&engine);
  g_clear_object (&objects);
  g_dbus_connection_close_sync (connection, NULL, NULL);
  iterate ();
  pl_test_bus_down (bus);
  g_unlink (engine_path);
  g_unlink (tray_path);
  g_rmdir (folder);
  g_rmdir (config);
  g_rmdir (runtime);
  g_rmdir (tmpdir);
}

/* An engine on a private bus whose Profile.Update answers only when the test says: the
 * window must go on living meanwhile. */
typedef struct
{
  GTestDBus                *bus;
  GDBusConnection          *server;
  GDBusObjectManagerServer *exported;
  PlBrokerProfile          *ssh;        /* the engine's side of profile SSH */
  GDBusMethodInvocation    *held;       /* an Update not answered yet */
  guint                     n_updates;
  guint                     owner_id;
  gboolean                  owned;
  GDBusConnection          *client;
  GDBusObjectManager       *objects;
  PlEngineClient           *engine;
} SlowEngine;

static gboolean
slow_update_cb (PlBrokerProfile       *profile,
                GDBusMethodInvocation *invocation,
                GVariant              *settings,
                SlowEngine            *e)
{
  g_assert_null (e->held);
  /* The handler owns the invocation (the skeleton hands its reference over): returning it
   * later gives that reference back. */
  e->held = invocation;
  e->n_updates++;
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
slow_owned_cb (GDBusConnection *connection,
               const char      *name,
               gpointer         user_data)
{
  ((SlowEngine *) user_data)->owned = TRUE;
}

static void
objects_ready_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  SlowEngine *e = user_data;
  g_autoptr(GError) error = NULL;

  e->objects = pl_broker_object_manager_client_new_finish (result, &error);
  g_assert_no_error (error);
}

static void
slow_engine_up (SlowEngine *e)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlBrokerObjectSkeleton) manager_object = NULL;
  g_autoptr(PlBrokerObjectSkeleton) profile_object = NULL;
  g_autoptr(PlBrokerManager) manager = pl_broker_manager_skeleton_new ();
  const char *protocols[] = { "tcp", NULL };

  e->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  pl_test_bus_up (e->bus);
  e->server = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (e->bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);

  pl_broker_manager_set_version (manager, 1);
  pl_broker_manager_set_state (manager, "ready");
  manager_object = pl_broker_object_skeleton_new (PL_BROKER_MANAGER_PATH);
  pl_broker_object_skeleton_set_manager (manager_object, manager);
  e->ssh = pl_broker_profile_skeleton_new ();
  pl_broker_profile_set_id (e->ssh, "SSH");
  pl_broker_profile_set_name (e->ssh, "SSH");
  pl_broker_profile_set_protocols (e->ssh, protocols);
  pl_broker_profile_set_internal_port (e->ssh, 22);
  pl_broker_profile_set_lease (e->ssh, "/");
  pl_broker_profile_set_waiting (e->ssh, "");
  g_signal_connect (e->ssh, "handle-update", G_CALLBACK (slow_update_cb), e);
  profile_object = pl_broker_object_skeleton_new (PL_BROKER_OBJECT_PATH "/Profile/SSH");
  pl_broker_object_skeleton_set_profile (profile_object, e->ssh);
  e->exported = g_dbus_object_manager_server_new (PL_BROKER_OBJECT_PATH);
  g_dbus_object_manager_server_export (e->exported, G_DBUS_OBJECT_SKELETON (manager_object));
  g_dbus_object_manager_server_export (e->exported, G_DBUS_OBJECT_SKELETON (profile_object));
  g_dbus_object_manager_server_set_connection (e->exported, e->server);
  e->owner_id = g_bus_own_name_on_connection (e->server, PL_BROKER_BUS_NAME,
                                              G_BUS_NAME_OWNER_FLAGS_NONE, slow_owned_cb, NULL,
                                              e, NULL);
  while (!e->owned)
    g_main_context_iteration (NULL, TRUE);

  /* The tray's side, on a connection of its own; asynchronous, as this thread answers. */
  e->client = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (e->bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
  pl_broker_object_manager_client_new (e->client, G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_NONE,
                                       PL_BROKER_BUS_NAME, PL_BROKER_OBJECT_PATH, NULL,
                                       objects_ready_cb, e);
  while (e->objects == NULL)
    g_main_context_iteration (NULL, TRUE);
  e->engine = pl_engine_client_new (e->objects);
  while (!engine_has_profile (e->engine, "SSH"))
    g_main_context_iteration (NULL, TRUE);
}

static void
slow_engine_down (SlowEngine *e)
{
  g_clear_object (&e->held);
  g_clear_object (&e->engine);
  g_clear_object (&e->objects);
  g_dbus_connection_close_sync (e->client, NULL, NULL);
  g_clear_object (&e->client);
  g_bus_unown_name (e->owner_id);
  g_clear_object (&e->exported);
  g_clear_object (&e->ssh);
  g_dbus_connection_close_sync (e->server, NULL, NULL);
  g_clear_object (&e->server);
  iterate ();
  pl_test_bus_down (e->bus);
  g_clear_object (&e->bus);
}

static gboolean
waiting_is (PlEngineClient *engine,
            const char     *reason)
{
  g_autofree char *waiting = pl_engine_client_dup_waiting (engine, "SSH");

  return g_strcmp0 (waiting, reason) == 0;
}

static void
test_engine_slow (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmpdir = g_dir_make_tmp ("portlight-dialog-slow-XXXXXX", &error);
  g_autofree char *path = g_build_filename (tmpdir, "profiles.ini", NULL);
  g_autoptr(PlClock) clock = pl_clock_new_virtual (FALSE);
  g_autoptr(PlProfileStore) store = pl_profile_store_new (path);
  g_autoptr(PlSession) session = NULL;
  g_autoptr(PlTrayMenu) menu = NULL;
  SlowEngine e = { 0, };
  PlProfileDialog *dialog;
  GtkWidget *save_button, *remove_button, *form_error, *name_entry, *port_entry;
  guint guard_id;

  g_test_summary ("As the engine's client, Save does not wait for the engine: the window "
                  "says Saving… with Save and Remove insensitive, and the tray's main loop "
                  "goes on (a Profile property the engine changes meanwhile arrives); the "
                  "engine's refusal shows in the window in its own words, without the D-Bus "
                  "error name, the user's input kept; closing the window while the engine "
                  "is asked cancels the wait and changes nothing");
  g_assert_no_error (error);

  guard_id = g_timeout_add_seconds (30, guard_cb, NULL);
  slow_engine_up (&e);
  g_assert_true (pl_profile_store_load_from_data (store, "[SSH]\nProtocol=tcp\n"
                                                  "InternalPort=22\n", -1, &error));
  g_assert_no_error (error);
  session = g_object_new (PL_TYPE_SESSION, "profiles", store, "clock", clock,
                          "monitor-network", FALSE, "announce-port", 0u, NULL);
  menu = pl_tray_menu_new (session, store);
  pl_tray_menu_set_engine (menu, e.engine);
  dialog = g_object_ref_sink (pl_profile_dialog_new (NULL, store, menu));
  gtk_widget_show (GTK_WIDGET (dialog));
  iterate ();
#define DIALOG_CHILD(name) \
  GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (dialog), PL_TYPE_PROFILE_DIALOG, name))
  save_button = DIALOG_CHILD ("save_button");
  remove_button = DIALOG_CHILD ("remove_button");
  form_error = DIALOG_CHILD ("form_error");
  name_entry = DIALOG_CHILD ("name_entry");
  port_entry = DIALOG_CHILD ("external_port_entry");
#undef DIALOG_CHILD

  g_assert_true (pl_profile_dialog_select_profile (dialog, "SSH"));
  gtk_entry_set_text (GTK_ENTRY (name_entry), "Shell");
  iterate ();
  g_assert_true (pl_profile_dialog_save (dialog, &error));
  g_assert_no_error (error);
  /* Returned before any answer: the engine has not even been reached yet. */
  g_assert_cmpuint (e.n_updates, ==, 0);
  g_assert_true (pl_profile_dialog_is_saving (dialog));
  g_assert_false (gtk_widget_get_sensitive (save_button));
  g_assert_false (gtk_widget_get_sensitive (remove_button));
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (save_button)), ==, "Saving…");
  while (e.held == NULL)
    g_main_context_iteration (NULL, TRUE);

  /* The engine has the call and says nothing; the tray still follows it. */
  pl_broker_profile_set_waiting (e.ssh, "Waiting for sshd to start");
  while (!waiting_is (e.engine, "Waiting for sshd to start"))
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (pl_profile_dialog_is_saving (dialog));

  /* Refused: the engine's reason, the input as the user left it. */
  g_dbus_method_invocation_return_dbus_error (g_steal_pointer (&e.held),
                                              "org.freedesktop.DBus.Error.Failed",
                                              "Profile “Web” already has TCP port 22");
  while (pl_profile_dialog_is_saving (dialog))
    g_main_context_iteration (NULL, TRUE);
  iterate ();
  g_assert_true (gtk_widget_get_visible (form_error));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (form_error)), ==,
                   "Profile “Web” already has TCP port 22");
  g_assert_cmpstr (gtk_entry_get_text (GTK_ENTRY (name_entry)), ==, "Shell");
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (save_button)), ==, "_Save");
  g_assert_true (gtk_widget_get_sensitive (save_button));
  g_assert_nonnull (pl_profile_store_lookup (store, "SSH"));
  g_assert_null (pl_profile_store_lookup (store, "Shell"));

  /* Another port under its own name (the engine's object keeps its path), accepted: the
   * store takes the change. */
  gtk_entry_set_text (GTK_ENTRY (name_entry), "SSH");
  gtk_entry_set_text (GTK_ENTRY (port_entry), "2222");
  iterate ();
  g_assert_true (pl_profile_dialog_save (dialog, &error));
  g_assert_no_error (error);
  while (e.held == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_dbus_method_invocation_return_value (g_steal_pointer (&e.held), NULL);
  while (pl_profile_dialog_is_saving (dialog))
    g_main_context_iteration (NULL, TRUE);
  iterate ();
  g_assert_false (gtk_widget_get_visible (form_error));
  g_assert_cmpuint (pl_profile_get_external_port (pl_profile_store_lookup (store, "SSH")), ==,
                    2222);
  g_assert_cmpuint (e.n_updates, ==, 2);

  /* Closed while the engine is asked: the answer finds no window, nothing changes. */
  gtk_entry_set_text (GTK_ENTRY (port_entry), "3333");
  iterate ();
  g_assert_true (pl_profile_dialog_save (dialog, &error));
  g_assert_no_error (error);
  gtk_widget_destroy (GTK_WIDGET (dialog));
  while (e.held == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_dbus_method_invocation_return_value (g_steal_pointer (&e.held), NULL);
  iterate ();
  g_assert_cmpuint (e.n_updates, ==, 3);
  g_assert_cmpuint (pl_profile_get_external_port (pl_profile_store_lookup (store, "SSH")), ==,
                    2222);
  g_object_unref (dialog);

  pl_tray_menu_set_engine (menu, NULL);
  slow_engine_down (&e);
  g_source_remove (guard_id);
  g_rmdir (tmpdir);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *display = NULL;
  int status;

  setlocale (LC_ALL, "C.UTF-8");
  g_test_init (&argc, &argv, NULL);

  g_unsetenv ("WAYLAND_DISPLAY");
  g_setenv ("GDK_BACKEND", "x11", TRUE);
  g_setenv ("NO_AT_BRIDGE", "1", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  /* No session bus (GtkApplication then runs without one), and none autolaunched. */
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

  g_test_add ("/tray/dialog/new-profile", Fixture, NULL,
              fixture_set_up, test_new_profile, fixture_tear_down);
  g_test_add ("/tray/dialog/bad-values", Fixture, NULL,
              fixture_set_up, test_bad_values, fixture_tear_down);
  g_test_add ("/tray/dialog/taken", Fixture, two_profiles,
              fixture_set_up, test_taken, fixture_tear_down);
  g_test_add ("/tray/dialog/empty-state", Fixture, NULL,
              fixture_set_up, test_empty_state, fixture_tear_down);
  g_test_add ("/tray/dialog/preset-taken", Fixture, two_profiles,
              fixture_set_up, test_preset_taken, fixture_tear_down);
  g_test_add ("/tray/dialog/edit-and-remove", Fixture, two_profiles,
              fixture_set_up, test_edit_and_remove, fixture_tear_down);
  g_test_add ("/tray/dialog/app-chooser-shown", Fixture, two_profiles,
              fixture_set_up, test_app_chooser_shown, fixture_tear_down);
  g_test_add ("/tray/dialog/family", Fixture, family_profiles,
              fixture_set_up, test_family, fixture_tear_down);
  g_test_add ("/tray/dialog/any-port", Fixture, any_profiles,
              fixture_set_up, test_any_port, fixture_tear_down);
  g_test_add ("/tray/dialog/network", Fixture, network_profiles,
              fixture_set_up, test_network, fixture_tear_down);
  g_test_add ("/tray/dialog/tray-message", Fixture, NULL,
              fixture_set_up, test_tray_message, fixture_tear_down);
  g_test_add ("/tray/dialog/router-protocol", Fixture, NULL,
              fixture_set_up, test_router_protocol, fixture_tear_down);
  g_test_add_func ("/tray/dialog/refusal", test_refusal);
  g_test_add_func ("/tray/dialog/through-engine", test_through_engine);
  g_test_add_func ("/tray/dialog/engine-slow", test_engine_slow);

  status = g_test_run ();
  g_subprocess_force_exit (xvfb);
  g_clear_object (&xvfb);
  return status;
}
