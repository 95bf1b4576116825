/* pl-app-chooser.c: choosing the application a profile is tied to (App=)
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "pl-app-chooser.h"
#include "pl-app-profiles.h"
#include "pl-core.h"

enum { COL_ICON, COL_NAME, COL_LINK, N_COLUMNS };

struct _PlAppChooser
{
  GtkComboBox   parent_instance;

  GtkListStore *model;
  char         *app;       /* the chosen App= value, nullable */
  gboolean      filling;
};

G_DEFINE_FINAL_TYPE (PlAppChooser, pl_app_chooser, GTK_TYPE_COMBO_BOX)

enum { PROP_0, PROP_APP, N_PROPS };
static GParamSpec *properties[N_PROPS];

char *
pl_app_chooser_link_for_info (GAppInfo *info)
{
  const char *id = g_app_info_get_id (info);
  const char *executable = g_app_info_get_executable (info);

  if (id != NULL && g_str_has_suffix (id, ".desktop"))
    {
      g_autofree char *app_id = g_strndup (id, strlen (id) - strlen (".desktop"));
      g_autofree char *link = pl_app_link_format (PL_APP_LINK_APP, app_id);

      if (pl_app_link_parse ("", link, NULL, NULL, NULL))
        return g_steal_pointer (&link);
    }
  if (executable != NULL && *executable != '\0')
    {
      g_autofree char *base = g_path_get_basename (executable);
      g_autofree char *link = pl_app_link_format (PL_APP_LINK_PROCESS, base);

      if (pl_app_link_parse ("", link, NULL, NULL, NULL))
        return g_steal_pointer (&link);
    }
  return NULL;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  GAppInfo *x = *(GAppInfo **) a;
  GAppInfo *y = *(GAppInfo **) b;
  g_autofree char *kx = g_utf8_collate_key (g_app_info_get_display_name (x), -1);
  g_autofree char *ky = g_utf8_collate_key (g_app_info_get_display_name (y), -1);

  return strcmp (kx, ky);
}

static void
fill (PlAppChooser *self)
{
  GList *all = g_app_info_get_all ();
  g_autoptr(GPtrArray) shown = g_ptr_array_new_with_free_func (g_object_unref);
  GtkTreeIter iter;

  for (GList *l = all; l != NULL; l = l->next)
    {
      if (g_app_info_should_show (l->data))
        g_ptr_array_add (shown, g_object_ref (l->data));
    }
  g_list_free_full (all, g_object_unref);
  g_ptr_array_sort (shown, compare_names);

  gtk_list_store_insert_with_values (self->model, &iter, -1,
                                     COL_NAME, _("Always (not tied to an application)"),
                                     COL_LINK, NULL, -1);
  for (guint i = 0; i < shown->len; i++)
    {
      GAppInfo *info = g_ptr_array_index (shown, i);
      g_autofree char *link = pl_app_chooser_link_for_info (info);

      if (link == NULL)
        continue;
      gtk_list_store_insert_with_values (self->model, &iter, -1,
                                         COL_ICON, g_app_info_get_icon (info),
                                         COL_NAME, g_app_info_get_display_name (info),
                                         COL_LINK, link, -1);
    }
}

static gboolean
find_link (PlAppChooser *self,
           const char   *link,
           GtkTreeIter  *iter)
{
  GtkTreeModel *model = GTK_TREE_MODEL (self->model);

  if (!gtk_tree_model_get_iter_first (model, iter))
    return FALSE;
  do
    {
      g_autofree char *value = NULL;

      gtk_tree_model_get (model, iter, COL_LINK, &value, -1);
      if (g_strcmp0 (value, link) == 0)
        return TRUE;
    }
  while (gtk_tree_model_iter_next (model, iter));
  return FALSE;
}

static void
changed_cb (PlAppChooser *self)
{
  g_autofree char *link = NULL;
  GtkTreeIter iter;

  if (self->filling || !gtk_combo_box_get_active_iter (GTK_COMBO_BOX (self), &iter))
    return;
  gtk_tree_model_get (GTK_TREE_MODEL (self->model), &iter, COL_LINK, &link, -1);
  if (g_strcmp0 (link, self->app) == 0)
    return;
  g_free (self->app);
  self->app = g_steal_pointer (&link);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_APP]);
}

const char *
pl_app_chooser_get_app (PlAppChooser *self)
{
  g_return_val_if_fail (PL_IS_APP_CHOOSER (self), NULL);
  return self->app;
}

void
pl_app_chooser_set_app (PlAppChooser *self,
                        const char   *app)
{
  GtkTreeIter iter;

  g_return_if_fail (PL_IS_APP_CHOOSER (self));

  if (app != NULL && *app == '\0')
    app = NULL;
  if (!find_link (self, app, &iter))
    {
      /* Not an installed application: a row of its own, named by its value. */
      g_autofree char *name = pl_app_link_dup_display_name (app);

      gtk_list_store_insert_with_values (self->model, &iter, 1, COL_NAME, name, COL_LINK, app,
                                         -1);
    }
  self->filling = TRUE;
  gtk_combo_box_set_active_iter (GTK_COMBO_BOX (self), &iter);
  self->filling = FALSE;
  if (g_strcmp0 (app, self->app) != 0)
    {
      g_free (self->app);
      self->app = g_strdup (app);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_APP]);
    }
}

static void
pl_app_chooser_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  PlAppChooser *self = PL_APP_CHOOSER (object);

  switch (prop_id)
    {
    case PROP_APP:
      g_value_set_string (value, self->app);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pl_app_chooser_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  PlAppChooser *self = PL_APP_CHOOSER (object);

  switch (prop_id)
    {
    case PROP_APP:
      pl_app_chooser_set_app (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/* The first row is chosen once GtkComboBox made its cell view (in its constructed): chosen in
 * init, the row was set before there was a view to show it, and choosing the same row again
 * changes nothing, so the box stayed blank for a profile not tied to an application. */
static void
pl_app_chooser_constructed (GObject *object)
{
  PlAppChooser *self = PL_APP_CHOOSER (object);

  G_OBJECT_CLASS (pl_app_chooser_parent_class)->constructed (object);

  self->filling = TRUE;
  fill (self);
  gtk_combo_box_set_active (GTK_COMBO_BOX (self), 0);
  self->filling = FALSE;
  g_signal_connect (self, "changed", G_CALLBACK (changed_cb), NULL);
}

static void
pl_app_chooser_finalize (GObject *object)
{
  PlAppChooser *self = PL_APP_CHOOSER (object);

  g_clear_object (&self->model);
  g_free (self->app);

  G_OBJECT_CLASS (pl_app_chooser_parent_class)->finalize (object);
}

static void
pl_app_chooser_class_init (PlAppChooserClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = pl_app_chooser_constructed;
  object_class->finalize = pl_app_chooser_finalize;
  object_class->get_property = pl_app_chooser_get_property;
  object_class->set_property = pl_app_chooser_set_property;

  /**
   * PlAppChooser:app:
   *
   * The App= value chosen ("app:ID", "process:NAME", "unit:NAME"); NULL: not tied to one.
   */
  properties[PROP_APP] =
    g_param_spec_string ("app", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
pl_app_chooser_init (PlAppChooser *self)
{
  GtkCellRenderer *icon = gtk_cell_renderer_pixbuf_new ();
  GtkCellRenderer *text = gtk_cell_renderer_text_new ();

  self->model = gtk_list_store_new (N_COLUMNS, G_TYPE_ICON, G_TYPE_STRING, G_TYPE_STRING);
  gtk_combo_box_set_model (GTK_COMBO_BOX (self), GTK_TREE_MODEL (self->model));
  g_object_set (icon, "stock-size", GTK_ICON_SIZE_MENU, NULL);
  gtk_cell_layout_pack_start (GTK_CELL_LAYOUT (self), icon, FALSE);
  gtk_cell_layout_add_attribute (GTK_CELL_LAYOUT (self), icon, "gicon", COL_ICON);
  gtk_cell_layout_pack_start (GTK_CELL_LAYOUT (self), text, TRUE);
  gtk_cell_layout_add_attribute (GTK_CELL_LAYOUT (self), text, "text", COL_NAME);
  g_object_set (text, "ellipsize", PANGO_ELLIPSIZE_END, NULL);
}

GtkWidget *
pl_app_chooser_new (void)
{
  return g_object_new (PL_TYPE_APP_CHOOSER, NULL);
}
