/* pl-profile-dialog.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "pl-app-chooser.h"
#include "pl-network-toggle.h"
#include "pl-profile-dialog.h"

typedef enum
{
  FIELD_NAME,
  FIELD_INTERNAL_PORT,
  FIELD_EXTERNAL_PORT,
  FIELD_LIFETIME,
  N_FIELDS
} Field;

/* First run: the services people most often open a port for. A preset fills the editor
 * rather than adding the profile at once: opening a port to the Internet is the user's
 * decision, and the port often differs here (SSH on 2222, a second web server), so they see
 * the profile and press Save, as for any other. */
typedef struct
{
  const char        *id;
  const char        *name;        /* translated where it is not a product's name */
  PlProfileProtocol  protocol;
  guint              port;
} Preset;

static const Preset presets[] = {
  { "ssh", N_("SSH"), PL_PROFILE_PROTOCOL_TCP, 22 },
  { "web", N_("Web server"), PL_PROFILE_PROTOCOL_TCP, 8080 },
  { "minecraft", "Minecraft", PL_PROFILE_PROTOCOL_TCP, 25565 },
  { "syncthing", "Syncthing", PL_PROFILE_PROTOCOL_BOTH, 22000 },
  { "qbittorrent", "qBittorrent", PL_PROFILE_PROTOCOL_BOTH, 6881 },
  { "wireguard", "WireGuard", PL_PROFILE_PROTOCOL_UDP, 51820 },
};

struct _PlProfileDialog
{
  GtkApplicationWindow  parent_instance;

  PlProfileStore       *store;
  PlTrayMenu           *menu;

  /* Template widgets */
  GtkInfoBar           *tray_bar;
  GtkLabel             *tray_label;
  GtkInfoBar           *problems_bar;
  GtkLabel             *problems_label;
  GtkLabel             *status_label;
  GtkListBox           *profile_list;
  GtkButton            *add_button;
  GtkButton            *remove_button;
  GtkLabel             *form_title;
  GtkEntry             *name_entry;
  GtkLabel             *name_error;
  GtkComboBoxText      *protocol_combo;
  GtkComboBoxText      *family_combo;
  GtkEntry             *internal_port_entry;
  GtkLabel             *internal_port_error;
  GtkEntry             *external_port_entry;
  GtkLabel             *external_port_error;
  GtkEntry             *lifetime_entry;
  GtkLabel             *lifetime_error;
  GtkEntry             *description_entry;
  GtkSwitch            *enabled_switch;
  GtkLabel             *app_label;
  GtkBox               *app_box;
  PlAppChooser         *app_chooser;        /* App=, in app_box */
  GtkBox               *network_box;
  PlNetworkToggle      *network_toggle;     /* Network=, in network_box; made with the store */
  GtkLabel             *form_error;
  GtkButton            *revert_button;
  GtkButton            *save_button;
  GtkComboBoxText      *router_protocol_combo;
  GtkStack             *page_stack;
  GtkFlowBox           *preset_box;

  /* Editor state */
  char                 *editing;            /* the profile's name in the store; NULL = new */
  gboolean              loading;            /* filling the fields: no "touched" marks */
  gboolean              selecting;          /* reselecting after a model change */
  gboolean              touched[N_FIELDS];  /* show a field's error only once it was edited */
  gboolean              valid;
  gboolean              dirty;
  gboolean              showing_protocol;   /* the combo follows the action: no change back */
  gboolean              composing;          /* a new profile asked for: no empty state */
  GCancellable         *busy;               /* the engine's answer to Save/Remove awaited */
  char                 *busy_label;         /* the busy button's own label, meanwhile */
  GtkButton            *busy_button;
};

G_DEFINE_FINAL_TYPE (PlProfileDialog, pl_profile_dialog, GTK_TYPE_APPLICATION_WINDOW)

static void validate (PlProfileDialog *self);

/* Rows */

static void
update_row (PlProfileDialog *self,
            GtkListBoxRow   *row)
{
  PlProfile *profile = g_object_get_data (G_OBJECT (row), "pl-profile");
  GtkLabel *name_label = g_object_get_data (G_OBJECT (row), "pl-name-label");
  GtkLabel *detail_label = g_object_get_data (G_OBJECT (row), "pl-detail-label");
  GtkSwitch *toggle = g_object_get_data (G_OBJECT (row), "pl-switch");
  g_autofree char *ports = pl_tray_menu_format_ports (profile);
  g_autofree char *state_id = g_strconcat ("profile-state:", pl_profile_get_name (profile), NULL);
  PlTrayItem *state = pl_tray_menu_find_item (self->menu, state_id);
  g_autofree char *detail = NULL;

  /* The whole story (the menu may say it short). */
  if (pl_profile_get_enabled (profile) && state != NULL)
    detail = g_strdup_printf ("%s\n%s", ports,
                              state->detail != NULL ? state->detail : state->label);
  else if (pl_profile_get_enabled (profile))
    detail = g_strdup (ports);
  else
    /* TRANSLATORS: a disabled profile in the list: its ports, then "Off" */
    detail = g_strdup_printf (_("%s\nOff"), ports);

  gtk_label_set_text (name_label, pl_profile_get_name (profile));
  gtk_label_set_text (detail_label, detail);
  g_object_set_data (G_OBJECT (toggle), "pl-updating", GINT_TO_POINTER (TRUE));
  gtk_switch_set_active (toggle, pl_profile_get_enabled (profile));
  g_object_set_data (G_OBJECT (toggle), "pl-updating", NULL);
}

static void
update_rows (PlProfileDialog *self)
{
  g_autoptr(GList) rows = gtk_container_get_children (GTK_CONTAINER (self->profile_list));

  for (GList *l = rows; l != NULL; l = l->next)
    update_row (self, l->data);
}

static gboolean
row_switch_state_set_cb (GtkSwitch       *toggle,
                         gboolean         state,
                         PlProfileDialog *self)
{
  PlProfile *profile = g_object_get_data (G_OBJECT (toggle), "pl-profile");
  GApplication *application = G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));

  if (g_object_get_data (G_OBJECT (toggle), "pl-updating") != NULL)
    return FALSE;
  if (application != NULL && pl_profile_get_enabled (profile) != state)
    g_action_group_activate_action (G_ACTION_GROUP (application), "toggle-profile",
                                    g_variant_new_string (pl_profile_get_name (profile)));
  /* The switch follows the profile, whatever happened. */
  gtk_switch_set_state (toggle, pl_profile_get_enabled (profile));
  return TRUE;
}

static GtkWidget *
create_row_cb (gpointer item,
               gpointer user_data)
{
  PlProfileDialog *self = user_data;
  PlProfile *profile = item;
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *labels = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *name_label = gtk_label_new (NULL);
  GtkWidget *detail_label = gtk_label_new (NULL);
  GtkWidget *toggle = gtk_switch_new ();
  PangoAttrList *attrs = pango_attr_list_new ();
  g_autofree char *accessible = g_strdup_printf (_("Enable %s"), pl_profile_get_name (profile));

  pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
  gtk_label_set_attributes (GTK_LABEL (name_label), attrs);
  pango_attr_list_unref (attrs);
  gtk_label_set_xalign (GTK_LABEL (name_label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (name_label), PANGO_ELLIPSIZE_END);
  gtk_label_set_xalign (GTK_LABEL (detail_label), 0);
  gtk_label_set_line_wrap (GTK_LABEL (detail_label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (detail_label), 44);   /* "Active · nothing listens on port 25565 yet" */
  gtk_style_context_add_class (gtk_widget_get_style_context (detail_label), "dim-label");
  gtk_widget_set_hexpand (labels, TRUE);
  gtk_widget_set_valign (toggle, GTK_ALIGN_CENTER);
  atk_object_set_name (gtk_widget_get_accessible (toggle), accessible);

  gtk_container_add (GTK_CONTAINER (labels), name_label);
  gtk_container_add (GTK_CONTAINER (labels), detail_label);
  gtk_container_add (GTK_CONTAINER (box), labels);
  gtk_container_add (GTK_CONTAINER (box), toggle);
  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_container_add (GTK_CONTAINER (row), box);

  g_object_set_data_full (G_OBJECT (row), "pl-profile", g_object_ref (profile), g_object_unref);
  g_object_set_data (G_OBJECT (row), "pl-name-label", name_label);
  g_object_set_data (G_OBJECT (row), "pl-detail-label", detail_label);
  g_object_set_data (G_OBJECT (row), "pl-switch", toggle);
  g_object_set_data (G_OBJECT (toggle), "pl-profile", profile);
  g_signal_connect (toggle, "state-set", G_CALLBACK (row_switch_state_set_cb), self);
  g_signal_connect_object (profile, "notify", G_CALLBACK (update_rows), self, G_CONNECT_SWAPPED);

  update_row (self, GTK_LIST_BOX_ROW (row));
  gtk_widget_show_all (row);
  return row;
}

static GtkListBoxRow *
find_row (PlProfileDialog *self,
          const char      *name)
{
  g_autoptr(GList) rows = gtk_container_get_children (GTK_CONTAINER (self->profile_list));

  for (GList *l = rows; l != NULL; l = l->next)
    {
      PlProfile *profile = g_object_get_data (l->data, "pl-profile");

      if (g_strcmp0 (pl_profile_get_name (profile), name) == 0)
        return l->data;
    }
  return NULL;
}

/* Status and problems */

static void
update_status (PlProfileDialog *self)
{
  g_autoptr(GString) text = g_string_new (NULL);
  const char *ids[] = { "address", "router", "double-nat" };
  GPtrArray *problems = pl_profile_store_get_problems (self->store);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      PlTrayItem *item = pl_tray_menu_find_item (self->menu, ids[i]);

      if (item == NULL || item->label == NULL)
        continue;
      if (text->len > 0)
        g_string_append (text, i == 2 ? "\n" : " · ");
      g_string_append (text, item->detail != NULL ? item->detail : item->label);
    }
  gtk_label_set_text (self->status_label, text->str);

  g_string_truncate (text, 0);
  if (!pl_profile_store_can_save (self->store, &error))
    g_string_append (text, error->message);
  for (guint i = 0; i < problems->len; i++)
    {
      const GError *problem = g_ptr_array_index (problems, i);

      if (error != NULL && g_strcmp0 (problem->message, error->message) == 0)
        continue;
      if (text->len > 0)
        g_string_append_c (text, '\n');
      g_string_append (text, problem->message);
    }
  gtk_label_set_text (self->problems_label, text->str);
  gtk_widget_set_visible (GTK_WIDGET (self->problems_bar), text->len > 0);
}

static void
menu_changed_cb (PlProfileDialog *self)
{
  update_status (self);
  update_rows (self);
}

/* The router protocol: the application's "protocol" action (string state) */

static GActionGroup *
protocol_actions (PlProfileDialog *self)
{
  GtkApplication *application = gtk_window_get_application (GTK_WINDOW (self));

  if (application == NULL || !g_action_group_has_action (G_ACTION_GROUP (application), "protocol"))
    return NULL;
  return G_ACTION_GROUP (application);
}

static void
update_router_protocol (PlProfileDialog *self)
{
  GActionGroup *actions = protocol_actions (self);
  g_autoptr(GVariant) state = NULL;

  gtk_widget_set_sensitive (GTK_WIDGET (self->router_protocol_combo), actions != NULL);
  if (actions == NULL)
    return;
  state = g_action_group_get_action_state (actions, "protocol");
  if (state == NULL || !g_variant_is_of_type (state, G_VARIANT_TYPE_STRING))
    return;
  self->showing_protocol = TRUE;
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (self->router_protocol_combo),
                               g_variant_get_string (state, NULL));
  self->showing_protocol = FALSE;
}

static void
router_protocol_changed_cb (PlProfileDialog *self)
{
  GActionGroup *actions = protocol_actions (self);
  const char *id = gtk_combo_box_get_active_id (GTK_COMBO_BOX (self->router_protocol_combo));

  if (self->showing_protocol || actions == NULL || id == NULL)
    return;
  g_action_group_change_action_state (actions, "protocol", g_variant_new_string (id));
}

/* The editor */

static void
show_error (GtkLabel     *label,
            const GError *error,
            gboolean      shown)
{
  if (error != NULL && shown)
    gtk_label_set_text (label, error->message);
  gtk_widget_set_visible (GTK_WIDGET (label), error != NULL && shown);
}

static const char *
entry_text (GtkEntry *entry)
{
  return gtk_entry_get_text (entry);
}

/* Builds a profile from the fields. Each field is checked by itself with the loader's own
 * function and message; then, if all are right, the whole profile is tried on a copy of the
 * store, which says whether the name or the port is taken, in the store's words. */
static PlProfile *
build_profile (PlProfileDialog *self,
               GError         **field_errors,
               GError         **form_error)
{
  g_autoptr(PlProfile) profile = NULL;
  const char *name = entry_text (self->name_entry);
  const char *protocol = gtk_combo_box_get_active_id (GTK_COMBO_BOX (self->protocol_combo));
  const char *family = gtk_combo_box_get_active_id (GTK_COMBO_BOX (self->family_combo));
  const char *external = entry_text (self->external_port_entry);
  const char *description = entry_text (self->description_entry);
  gboolean ok = TRUE;

  profile = pl_profile_new (name);

  if (!pl_profile_validate_name (name, &field_errors[FIELD_NAME]))
    ok = FALSE;
  if (!pl_profile_set_key_value (profile, PL_PROFILE_KEY_PROTOCOL,
                                 protocol != NULL ? protocol : "", form_error))
    return NULL;
  if (!pl_profile_set_key_value (profile, PL_PROFILE_KEY_FAMILY,
                                 family != NULL ? family : "", form_error))
    return NULL;
  if (!pl_profile_set_key_value (profile, PL_PROFILE_KEY_INTERNAL_PORT,
                                 entry_text (self->internal_port_entry),
                                 &field_errors[FIELD_INTERNAL_PORT]))
    ok = FALSE;
  if (!pl_profile_set_key_value (profile, PL_PROFILE_KEY_EXTERNAL_PORT,
                                 *external != '\0' ? external : "0",
                                 &field_errors[FIELD_EXTERNAL_PORT]))
    ok = FALSE;
  if (!pl_profile_set_key_value (profile, PL_PROFILE_KEY_LIFETIME,
                                 entry_text (self->lifetime_entry),
                                 &field_errors[FIELD_LIFETIME]))
    ok = FALSE;
  pl_profile_set_description (profile, *description != '\0' ? description : NULL);
  pl_profile_set_enabled (profile, gtk_switch_get_active (self->enabled_switch));
  pl_profile_set_app (profile, pl_app_chooser_get_app (self->app_chooser));
  if (self->network_toggle != NULL)
    pl_profile_set_network (profile, pl_network_toggle_get_network (self->network_toggle));
  /* The dialog has no field for OnPortChange or Gateway (portlightctl and the file set
   * them): an edit keeps them. */
  if (self->editing != NULL && pl_profile_store_lookup (self->store, self->editing) != NULL)
    {
      PlProfile *stored = pl_profile_store_lookup (self->store, self->editing);

      pl_profile_set_on_port_change (profile, pl_profile_get_on_port_change (stored));
      pl_profile_set_gateway (profile, pl_profile_get_gateway (stored));
    }

  if (!ok)
    return NULL;

  {
    g_autoptr(PlProfileStore) copy = pl_profile_store_new (pl_profile_store_get_path (self->store));
    g_autofree char *data = pl_profile_store_to_data (self->store, NULL, form_error);
    gboolean fits;

    if (data == NULL || !pl_profile_store_load_from_data (copy, data, -1, form_error))
      return NULL;
    if (self->editing != NULL)
      fits = pl_profile_store_replace (copy, self->editing, profile, form_error);
    else
      fits = pl_profile_store_add (copy, profile, form_error);
    if (!fits)
      return NULL;
  }

  return g_steal_pointer (&profile);
}

static void
validate (PlProfileDialog *self)
{
  GError *field_errors[N_FIELDS] = { NULL, };
  g_autoptr(GError) form_error = NULL;
  g_autoptr(PlProfile) profile = NULL;
  PlProfile *stored = self->editing != NULL ? pl_profile_store_lookup (self->store, self->editing)
                                            : NULL;

  profile = build_profile (self, field_errors, &form_error);

  show_error (self->name_error, field_errors[FIELD_NAME], self->touched[FIELD_NAME]);
  show_error (self->internal_port_error, field_errors[FIELD_INTERNAL_PORT],
              self->touched[FIELD_INTERNAL_PORT]);
  show_error (self->external_port_error, field_errors[FIELD_EXTERNAL_PORT],
              self->touched[FIELD_EXTERNAL_PORT]);
  show_error (self->lifetime_error, field_errors[FIELD_LIFETIME], self->touched[FIELD_LIFETIME]);
  show_error (self->form_error, form_error, TRUE);

  for (guint i = 0; i < N_FIELDS; i++)
    g_clear_error (&field_errors[i]);

  self->valid = profile != NULL;
  self->dirty = stored == NULL || profile == NULL || !pl_profile_equal (profile, stored);
  /* While the engine is asked, nothing else is: the profile stays the one it saves. */
  gtk_widget_set_sensitive (GTK_WIDGET (self->save_button),
                            self->busy == NULL && self->valid && self->dirty);
  gtk_widget_set_sensitive (GTK_WIDGET (self->revert_button),
                            self->busy == NULL && stored != NULL && self->dirty);
  gtk_widget_set_sensitive (GTK_WIDGET (self->remove_button),
                            self->busy == NULL && stored != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->add_button), self->busy == NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->profile_list), self->busy == NULL);
}

/* Template callback: (self, entry) for "changed", (self, pspec, widget) for notify. */
static void
field_changed_cb (PlProfileDialog *self,
                  gpointer         emitter)
{
  if (self->loading)
    return;

  /* Errors show under the fields the user has edited since the profile was loaded. */
  if (emitter == (gpointer) self->name_entry)
    self->touched[FIELD_NAME] = TRUE;
  else if (emitter == (gpointer) self->internal_port_entry)
    self->touched[FIELD_INTERNAL_PORT] = TRUE;
  else if (emitter == (gpointer) self->external_port_entry)
    self->touched[FIELD_EXTERNAL_PORT] = TRUE;
  else if (emitter == (gpointer) self->lifetime_entry)
    self->touched[FIELD_LIFETIME] = TRUE;
  validate (self);
}

static void
set_entry_uint (GtkEntry *entry,
                guint     value,
                gboolean  empty_if_zero)
{
  g_autofree char *text = NULL;

  if (value == 0 && empty_if_zero)
    text = g_strdup ("");
  else
    text = g_strdup_printf ("%u", value);
  gtk_entry_set_text (entry, text);
}

static void
load_profile (PlProfileDialog *self,
              PlProfile       *profile)
{
  self->loading = TRUE;
  memset (self->touched, 0, sizeof self->touched);

  g_clear_pointer (&self->editing, g_free);
  if (profile != NULL)
    {
      self->editing = g_strdup (pl_profile_get_name (profile));
      gtk_label_set_text (self->form_title, pl_profile_get_name (profile));
      gtk_entry_set_text (self->name_entry, pl_profile_get_name (profile));
      gtk_combo_box_set_active_id (GTK_COMBO_BOX (self->protocol_combo),
                                   pl_profile_protocol_to_string (pl_profile_get_protocol (profile)));
      gtk_combo_box_set_active_id (GTK_COMBO_BOX (self->family_combo),
                                   pl_profile_family_to_string (pl_profile_get_family (profile)));
      set_entry_uint (self->internal_port_entry, pl_profile_get_internal_port (profile), TRUE);
      if (pl_profile_get_any_external_port (profile))
        gtk_entry_set_text (self->external_port_entry, PL_PROFILE_EXTERNAL_PORT_ANY);
      else
        set_entry_uint (self->external_port_entry, pl_profile_get_external_port (profile), TRUE);
      set_entry_uint (self->lifetime_entry, pl_profile_get_lifetime (profile), FALSE);
      gtk_entry_set_text (self->description_entry,
                          pl_profile_get_description (profile) != NULL
                          ? pl_profile_get_description (profile) : "");
      gtk_switch_set_active (self->enabled_switch, pl_profile_get_enabled (profile));
      pl_app_chooser_set_app (self->app_chooser, pl_profile_get_app (profile));
      if (self->network_toggle != NULL)
        pl_network_toggle_set_network (self->network_toggle, pl_profile_get_network (profile));
    }
  else
    {
      gtk_label_set_text (self->form_title, _("New Profile"));
      gtk_entry_set_text (self->name_entry, "");
      gtk_combo_box_set_active_id (GTK_COMBO_BOX (self->protocol_combo), "tcp");
      gtk_combo_box_set_active_id (GTK_COMBO_BOX (self->family_combo),
                                   pl_profile_family_to_string (PL_PROFILE_FAMILY_BOTH));
      gtk_entry_set_text (self->internal_port_entry, "");
      gtk_entry_set_text (self->external_port_entry, "");
      set_entry_uint (self->lifetime_entry, PL_PROFILE_DEFAULT_LIFETIME, FALSE);
      gtk_entry_set_text (self->description_entry, "");
      gtk_switch_set_active (self->enabled_switch, TRUE);
      pl_app_chooser_set_app (self->app_chooser, NULL);
      if (self->network_toggle != NULL)
        pl_network_toggle_set_network (self->network_toggle, NULL);
    }

  self->loading = FALSE;
  validate (self);
}

static void
row_selected_cb (PlProfileDialog *self,
                 GtkListBoxRow   *row)
{
  if (self->selecting || row == NULL)
    return;
  load_profile (self, g_object_get_data (G_OBJECT (row), "pl-profile"));
}

static void
reselect (PlProfileDialog *self)
{
  GtkListBoxRow *row = self->editing != NULL ? find_row (self, self->editing) : NULL;

  self->selecting = TRUE;
  if (row != NULL)
    gtk_list_box_select_row (self->profile_list, row);
  else
    gtk_list_box_unselect_all (self->profile_list);
  self->selecting = FALSE;
}

/* The empty state while there are no profiles, unless one is being made. */
static void
update_page (PlProfileDialog *self)
{
  gboolean empty = g_list_model_get_n_items (G_LIST_MODEL (self->store)) == 0 &&
                   !self->composing;

  gtk_stack_set_visible_child_name (self->page_stack, empty ? "empty" : "editor");
}

static void
store_items_changed_cb (PlProfileDialog *self)
{
  /* The rows were made again: keep the one being edited selected, keep the edits. */
  if (self->editing != NULL && pl_profile_store_lookup (self->store, self->editing) == NULL)
    {
      /* It went away (removed or renamed elsewhere): what is typed becomes a new one. */
      g_clear_pointer (&self->editing, g_free);
      gtk_label_set_text (self->form_title, _("New Profile"));
    }
  reselect (self);
  update_status (self);
  validate (self);
  update_page (self);
}

void
pl_profile_dialog_add_profile (PlProfileDialog *self)
{
  g_return_if_fail (PL_IS_PROFILE_DIALOG (self));

  self->composing = TRUE;
  update_page (self);
  load_profile (self, NULL);
  reselect (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->name_entry));
}

/* @name, or "@name 2", "@name 3"… when a profile has it already. */
static char *
free_name (PlProfileDialog *self,
           const char      *name)
{
  if (pl_profile_store_lookup (self->store, name) == NULL)
    return g_strdup (name);
  for (guint n = 2; ; n++)
    {
      g_autofree char *candidate = g_strdup_printf ("%s %u", name, n);

      if (pl_profile_store_lookup (self->store, candidate) == NULL)
        return g_steal_pointer (&candidate);
    }
}

/**
 * pl_profile_dialog_add_preset:
 * @self: a #PlProfileDialog
 * @id: a preset's id ("ssh", "web", "minecraft", "syncthing", "qbittorrent", "wireguard")
 *
 * Starts a new profile filled in from a preset, named after it ("SSH", or "SSH 2" when that
 * name is taken); nothing is saved until the user saves it.
 *
 * Returns: FALSE for an unknown @id
 */
gboolean
pl_profile_dialog_add_preset (PlProfileDialog *self,
                              const char      *id)
{
  const Preset *preset = NULL;
  g_autofree char *name = NULL;

  g_return_val_if_fail (PL_IS_PROFILE_DIALOG (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (presets); i++)
    if (g_strcmp0 (presets[i].id, id) == 0)
      preset = &presets[i];
  if (preset == NULL)
    return FALSE;

  pl_profile_dialog_add_profile (self);
  name = free_name (self, _(preset->name));
  gtk_entry_set_text (self->name_entry, name);
  gtk_combo_box_set_active_id (GTK_COMBO_BOX (self->protocol_combo),
                               pl_profile_protocol_to_string (preset->protocol));
  set_entry_uint (self->internal_port_entry, preset->port, FALSE);
  /* What the preset filled in counts as typed: anything wrong with it shows at once. */
  for (guint i = 0; i < N_FIELDS; i++)
    self->touched[i] = TRUE;
  validate (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->save_button));
  return TRUE;
}

static void
preset_clicked_cb (GtkButton       *button,
                   PlProfileDialog *self)
{
  pl_profile_dialog_add_preset (self, g_object_get_data (G_OBJECT (button), "pl-preset"));
}

static void
add_preset_buttons (PlProfileDialog *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (presets); i++)
    {
      const Preset *preset = &presets[i];
      g_autoptr(PlProfile) profile = pl_profile_new (preset->id);
      g_autofree char *ports = NULL;
      g_autofree char *widget_name = g_strconcat ("preset-", preset->id, NULL);
      GtkWidget *button = gtk_button_new ();
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
      GtkWidget *name = gtk_label_new (_(preset->name));
      GtkWidget *detail;

      pl_profile_set_protocol (profile, preset->protocol);
      pl_profile_set_internal_port (profile, preset->port);
      ports = pl_tray_menu_format_ports (profile);
      detail = gtk_label_new (ports);
      gtk_style_context_add_class (gtk_widget_get_style_context (detail), "dim-label");
      gtk_container_add (GTK_CONTAINER (box), name);
      gtk_container_add (GTK_CONTAINER (box), detail);
      gtk_container_add (GTK_CONTAINER (button), box);
      gtk_widget_set_name (button, widget_name);
      g_object_set_data (G_OBJECT (button), "pl-preset", (gpointer) preset->id);
      g_signal_connect (button, "clicked", G_CALLBACK (preset_clicked_cb), self);
      gtk_widget_show_all (button);
      gtk_container_add (GTK_CONTAINER (self->preset_box), button);
    }
}

gboolean
pl_profile_dialog_select_profile (PlProfileDialog *self,
                                  const char      *name)
{
  GtkListBoxRow *row;

  g_return_val_if_fail (PL_IS_PROFILE_DIALOG (self), FALSE);

  row = find_row (self, name);
  if (row == NULL)
    return FALSE;
  gtk_list_box_select_row (self->profile_list, row);
  load_profile (self, g_object_get_data (G_OBJECT (row), "pl-profile"));
  return TRUE;
}

gboolean
pl_profile_dialog_can_save (PlProfileDialog *self)
{
  g_return_val_if_fail (PL_IS_PROFILE_DIALOG (self), FALSE);
  return self->valid && self->dirty;
}

/* Waiting for the engine: @button says @label, Save, Remove, Revert, Add and the list are
 * insensitive. Returns the cancellable of the call. */
static GCancellable *
begin_busy (PlProfileDialog *self,
            GtkButton       *button,
            const char      *label)
{
  g_return_val_if_fail (self->busy == NULL, NULL);

  self->busy = g_cancellable_new ();
  self->busy_button = button;
  self->busy_label = g_strdup (gtk_button_get_label (button));
  gtk_button_set_label (button, label);
  gtk_widget_hide (GTK_WIDGET (self->form_error));
  validate (self);
  return self->busy;
}

static void
end_busy (PlProfileDialog *self)
{
  g_clear_object (&self->busy);
  if (self->busy_button != NULL)
    gtk_button_set_label (self->busy_button, self->busy_label);
  self->busy_button = NULL;
  g_clear_pointer (&self->busy_label, g_free);
  validate (self);
}

/* The editor after @profile was saved: it edits the saved profile. */
static void
show_saved (PlProfileDialog *self,
            PlProfile       *profile)
{
  g_free (self->editing);
  self->editing = g_strdup (pl_profile_get_name (profile));
  gtk_label_set_text (self->form_title, self->editing);
  reselect (self);
  validate (self);
}

typedef struct
{
  PlProfileDialog *self;       /* a reference: the window may close meanwhile */
  PlProfile       *profile;    /* what was sent */
  char            *old_name;   /* the profile it replaces; NULL for a new one */
} EngineEdit;

static EngineEdit *
engine_edit_new (PlProfileDialog *self,
                 PlProfile       *profile,
                 const char      *old_name)
{
  EngineEdit *edit = g_new0 (EngineEdit, 1);

  edit->self = g_object_ref (self);
  edit->profile = profile != NULL ? g_object_ref (profile) : NULL;
  edit->old_name = g_strdup (old_name);
  return edit;
}

static void
engine_edit_free (EngineEdit *edit)
{
  g_object_unref (edit->self);
  g_clear_object (&edit->profile);
  g_free (edit->old_name);
  g_free (edit);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EngineEdit, engine_edit_free)

/* The engine answered a Save. */
static void
engine_saved_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(EngineEdit) edit = user_data;
  PlProfileDialog *self = edit->self;
  g_autoptr(GError) error = NULL;

  if (!pl_engine_client_save_profile_finish (PL_ENGINE_CLIENT (source), result, &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* the window closed */
  end_busy (self);
  if (error != NULL)
    {
      /* The user's input stays, with the engine's reason. */
      show_error (self->form_error, error, TRUE);
      return;
    }
  /* The engine keeps the file (its client must not write it): the store here takes the
   * same change without writing, until it reads the file again. */
  if (edit->old_name != NULL)
    pl_profile_store_replace (self->store, edit->old_name, edit->profile, NULL);
  else
    pl_profile_store_add (self->store, edit->profile, NULL);
  show_saved (self, edit->profile);
}

gboolean
pl_profile_dialog_save (PlProfileDialog  *self,
                        GError          **error)
{
  GError *field_errors[N_FIELDS] = { NULL, };
  g_autoptr(GError) local_error = NULL;
  g_autoptr(PlProfile) profile = NULL;
  PlEngineClient *engine;
  gboolean ok;

  g_return_val_if_fail (PL_IS_PROFILE_DIALOG (self), FALSE);

  if (self->busy != NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PENDING, _("Saving…"));
      return FALSE;
    }
  for (guint i = 0; i < N_FIELDS; i++)
    self->touched[i] = TRUE;

  profile = build_profile (self, field_errors, &local_error);
  for (guint i = 0; i < N_FIELDS; i++)
    {
      if (field_errors[i] != NULL && local_error == NULL)
        local_error = g_error_copy (field_errors[i]);
      g_clear_error (&field_errors[i]);
    }

  engine = pl_tray_menu_get_engine (self->menu);
  if (profile == NULL)
    ok = FALSE;
  else if (engine != NULL)
    {
      /* The engine saves; the window waits for it without blocking the tray. */
      EngineEdit *edit = engine_edit_new (self, profile, self->editing);
      GCancellable *cancellable;

      cancellable = begin_busy (self, self->save_button, _("Saving…"));
      pl_engine_client_save_profile_async (engine, self->editing, profile, cancellable,
                                           engine_saved_cb, edit);
      return TRUE;
    }
  else if (self->editing != NULL)
    ok = pl_profile_store_replace (self->store, self->editing, profile, &local_error);
  else
    ok = pl_profile_store_add (self->store, profile, &local_error);

  if (ok)
    ok = pl_profile_store_save (self->store, NULL, &local_error);

  if (!ok)
    {
      validate (self);
      show_error (self->form_error, local_error, TRUE);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  show_saved (self, profile);
  return TRUE;
}

gboolean
pl_profile_dialog_is_saving (PlProfileDialog *self)
{
  g_return_val_if_fail (PL_IS_PROFILE_DIALOG (self), FALSE);
  return self->busy != NULL;
}

static void
save_clicked_cb (PlProfileDialog *self)
{
  pl_profile_dialog_save (self, NULL);
}

static void
revert_clicked_cb (PlProfileDialog *self)
{
  PlProfile *stored = self->editing != NULL ? pl_profile_store_lookup (self->store, self->editing)
                                            : NULL;

  load_profile (self, stored);
}

static void
add_clicked_cb (PlProfileDialog *self)
{
  pl_profile_dialog_add_profile (self);
}

/* The editor after profile @name was removed. */
static void
show_removed (PlProfileDialog *self)
{
  self->composing = FALSE;
  load_profile (self, NULL);
  reselect (self);
  update_page (self);
}

/* The engine answered a Remove. */
static void
engine_deleted_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(EngineEdit) edit = user_data;
  PlProfileDialog *self = edit->self;
  g_autoptr(GError) error = NULL;

  if (!pl_engine_client_delete_profile_finish (PL_ENGINE_CLIENT (source), result, &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* the window closed */
  end_busy (self);
  if (error != NULL)
    {
      show_error (self->form_error, error, TRUE);
      return;
    }
  /* As after a Save: the engine removed it from the file. */
  pl_profile_store_remove (self->store, edit->old_name, NULL);
  show_removed (self);
}

static void
remove_clicked_cb (PlProfileDialog *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = g_strdup (self->editing);
  PlEngineClient *engine;

  if (name == NULL || self->busy != NULL)
    return;

  engine = pl_tray_menu_get_engine (self->menu);
  if (engine != NULL)
    {
      EngineEdit *edit = engine_edit_new (self, NULL, name);
      GCancellable *cancellable;

      /* TRANSLATORS: the Remove button while the engine removes the profile */
      cancellable = begin_busy (self, self->remove_button, _("Removing…"));
      pl_engine_client_delete_profile_async (engine, edit->old_name, cancellable,
                                             engine_deleted_cb, edit);
      return;
    }
  if (!pl_profile_store_remove (self->store, name, &error) ||
      !pl_profile_store_save (self->store, NULL, &error))
    {
      show_error (self->form_error, error, TRUE);
      return;
    }
  show_removed (self);
}

/* Public */

void
pl_profile_dialog_set_tray_message (PlProfileDialog *self,
                                    const char      *message)
{
  g_return_if_fail (PL_IS_PROFILE_DIALOG (self));

  gtk_label_set_text (self->tray_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->tray_bar), message != NULL);
  if (message != NULL)
    gtk_widget_show_all (GTK_WIDGET (self->tray_bar));
}

PlProfileDialog *
pl_profile_dialog_new (GtkApplication *application,
                       PlProfileStore *store,
                       PlTrayMenu     *menu)
{
  PlProfileDialog *self;

  g_return_val_if_fail (application == NULL || GTK_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (PL_IS_PROFILE_STORE (store), NULL);
  g_return_val_if_fail (PL_IS_TRAY_MENU (menu), NULL);

  self = g_object_new (PL_TYPE_PROFILE_DIALOG, "application", application, NULL);
  self->store = g_object_ref (store);
  self->menu = g_object_ref (menu);
  /* "Only on this network" (Network=): it needs the store, for the networks profiles know. */
  self->network_toggle = PL_NETWORK_TOGGLE (pl_network_toggle_new (store));
  gtk_widget_set_name (GTK_WIDGET (self->network_toggle), "network-toggle");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->network_toggle),
                               _("Keep the port open only while this computer is on the "
                                 "network it is on now (known by its router)"));
  gtk_container_add (GTK_CONTAINER (self->network_box), GTK_WIDGET (self->network_toggle));
  gtk_widget_show (GTK_WIDGET (self->network_toggle));
  g_signal_connect_swapped (self->network_toggle, "notify::network",
                            G_CALLBACK (field_changed_cb), self);

  gtk_list_box_bind_model (self->profile_list, G_LIST_MODEL (store), create_row_cb, self, NULL);
  g_signal_connect_object (store, "items-changed", G_CALLBACK (store_items_changed_cb), self,
                           G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  g_signal_connect_object (store, "reloaded", G_CALLBACK (update_status), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (menu, "changed", G_CALLBACK (menu_changed_cb), self,
                           G_CONNECT_SWAPPED);
  if (application != NULL)
    g_signal_connect_object (application, "action-state-changed::protocol",
                             G_CALLBACK (update_router_protocol), self, G_CONNECT_SWAPPED);
  update_router_protocol (self);

  gtk_widget_grab_default (GTK_WIDGET (self->save_button));
  update_status (self);

  if (g_list_model_get_n_items (G_LIST_MODEL (store)) > 0)
    {
      g_autoptr(PlProfile) first = g_list_model_get_item (G_LIST_MODEL (store), 0);

      pl_profile_dialog_select_profile (self, pl_profile_get_name (first));
    }
  else
    {
      /* First run: the empty state, with the editor ready behind it. */
      load_profile (self, NULL);
      update_page (self);
    }

  return self;
}

static void
pl_profile_dialog_dispose (GObject *object)
{
  PlProfileDialog *self = PL_PROFILE_DIALOG (object);

  /* Closed while the engine is asked: its answer has no window to go to. */
  if (self->busy != NULL)
    g_cancellable_cancel (self->busy);
  g_clear_object (&self->busy);
  self->busy_button = NULL;
  if (self->profile_list != NULL)
    gtk_list_box_bind_model (self->profile_list, NULL, NULL, NULL, NULL);
  g_clear_object (&self->store);
  g_clear_object (&self->menu);

  G_OBJECT_CLASS (pl_profile_dialog_parent_class)->dispose (object);
}

static void
pl_profile_dialog_finalize (GObject *object)
{
  PlProfileDialog *self = PL_PROFILE_DIALOG (object);

  g_free (self->editing);
  g_free (self->busy_label);

  G_OBJECT_CLASS (pl_profile_dialog_parent_class)->finalize (object);
}

static void
pl_profile_dialog_class_init (PlProfileDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pl_profile_dialog_dispose;
  object_class->finalize = pl_profile_dialog_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/portlight/Portlight/pl-profile-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, tray_bar);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, tray_label);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, problems_bar);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, problems_label);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, status_label);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, profile_list);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, add_button);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, remove_button);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, form_title);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, name_entry);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, name_error);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, protocol_combo);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, family_combo);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, internal_port_entry);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, internal_port_error);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, external_port_entry);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, external_port_error);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, lifetime_entry);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, lifetime_error);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, description_entry);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, enabled_switch);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, app_label);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, app_box);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, network_box);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, form_error);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, revert_button);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, save_button);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, router_protocol_combo);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, page_stack);
  gtk_widget_class_bind_template_child (widget_class, PlProfileDialog, preset_box);
  /* Found by name (tests, accessibility tools); the code needs no pointer to them. */
  gtk_widget_class_bind_template_child_full (widget_class, "own_button", FALSE, 0);
  gtk_widget_class_bind_template_child_full (widget_class, "empty_explanation", FALSE, 0);
  gtk_widget_class_bind_template_callback (widget_class, row_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, field_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, save_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, revert_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, add_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, remove_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, router_protocol_changed_cb);
}

static void
pl_profile_dialog_init (PlProfileDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  /* The application picker (App=): its own widget, in the box the template leaves for it. */
  self->app_chooser = PL_APP_CHOOSER (pl_app_chooser_new ());
  gtk_widget_set_name (GTK_WIDGET (self->app_chooser), "app-chooser");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->app_chooser),
                               _("Keep the port open only while this application runs"));
  gtk_label_set_mnemonic_widget (self->app_label, GTK_WIDGET (self->app_chooser));
  gtk_container_add (GTK_CONTAINER (self->app_box), GTK_WIDGET (self->app_chooser));
  gtk_widget_show (GTK_WIDGET (self->app_chooser));
  g_signal_connect_swapped (self->app_chooser, "notify::app", G_CALLBACK (field_changed_cb), self);
  add_preset_buttons (self);
}
