/* pl-network-toggle.c: limiting a profile to the network this computer is on (Network=)
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "pl-network-toggle.h"
#include "pl-network-watcher.h"

struct _PlNetworkToggle
{
  GtkCheckButton    parent_instance;

  PlProfileStore   *store;
  PlNetworkWatcher *watcher;
  gulong            changed_id;
  char             *value;     /* the Network= value while checked, or kept while unchecked */
  gboolean          setting;   /* set_network(): not the user's toggle */
  gboolean          unknown;   /* the user checked it, but this network cannot be told */
};

G_DEFINE_FINAL_TYPE (PlNetworkToggle, pl_network_toggle, GTK_TYPE_CHECK_BUTTON)

enum { PROP_0, PROP_NETWORK, N_PROPS };
static GParamSpec *properties[N_PROPS];

static gboolean
value_is_here (PlNetworkToggle *self,
               const char      *value)
{
  g_autoptr(PlNetworkLink) link = pl_network_link_parse ("", value, NULL);
  PlNetworkIdentity identity;

  if (link == NULL)
    return FALSE;
  pl_network_watcher_get_identity (self->watcher, &identity);
  return pl_network_link_matches (link, &identity);
}

static void
update_label (PlNetworkToggle *self)
{
  gboolean active = gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (self));
  g_autofree char *name = active ? pl_network_link_dup_name (self->value) : NULL;
  g_autofree char *text = NULL;

  if (self->unknown)
    text = g_strdup (_("Only on this _network (its router is not known yet)"));
  else if (name == NULL)
    text = g_strdup (_("Only on this _network"));
  else if (value_is_here (self, self->value))
    /* Translators: %s is the name of a network, e.g. home */
    text = g_strdup_printf (_("Only on this _network (‘%s’)"), name);
  else
    /* Translators: %s is the name of a network, e.g. home */
    text = g_strdup_printf (_("Only on _network ‘%s’"), name);
  gtk_button_set_label (GTK_BUTTON (self), text);
}

/* The Network= value for the network this computer is on now, or NULL. */
static char *
value_for_here (PlNetworkToggle *self)
{
  GListModel *model = G_LIST_MODEL (self->store);
  PlNetworkIdentity identity;

  pl_network_watcher_get_identity (self->watcher, &identity);
  if (!identity.has_gateway)
    return NULL;
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(PlProfile) profile = g_list_model_get_item (model, i);
      const char *value = pl_profile_get_network (profile);

      if (value != NULL && value_is_here (self, value))
        return g_strdup (value);
    }
  if (identity.ssid != NULL && pl_network_name_validate (identity.ssid, NULL))
    return pl_network_link_format (identity.ssid, identity.gateway, identity.ssid);
  /* Translators: the name given to the network a profile is limited to, when it has no
   * Wi-Fi name; the user can rename it with portlightctl */
  return pl_network_link_format (_("home"), identity.gateway, identity.ssid);
}

static void
toggled (GtkToggleButton *button)
{
  PlNetworkToggle *self = PL_NETWORK_TOGGLE (button);

  if (self->setting)
    return;
  self->unknown = FALSE;
  if (gtk_toggle_button_get_active (button) && self->value == NULL)
    {
      self->value = value_for_here (self);
      if (self->value == NULL)
        {
          self->unknown = TRUE;
          self->setting = TRUE;
          gtk_toggle_button_set_active (button, FALSE);
          self->setting = FALSE;
        }
    }
  update_label (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NETWORK]);
}

static void
watcher_changed_cb (PlNetworkWatcher *watcher,
                    gpointer          user_data)
{
  update_label (PL_NETWORK_TOGGLE (user_data));
}

static void
pl_network_toggle_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  PlNetworkToggle *self = PL_NETWORK_TOGGLE (object);

  switch (prop_id)
    {
    case PROP_NETWORK:
      g_value_set_string (value, pl_network_toggle_get_network (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pl_network_toggle_dispose (GObject *object)
{
  PlNetworkToggle *self = PL_NETWORK_TOGGLE (object);

  if (self->watcher != NULL)
    g_clear_signal_handler (&self->changed_id, self->watcher);
  g_clear_object (&self->watcher);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (pl_network_toggle_parent_class)->dispose (object);
}

static void
pl_network_toggle_finalize (GObject *object)
{
  g_free (PL_NETWORK_TOGGLE (object)->value);

  G_OBJECT_CLASS (pl_network_toggle_parent_class)->finalize (object);
}

static void
pl_network_toggle_class_init (PlNetworkToggleClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkToggleButtonClass *toggle_class = GTK_TOGGLE_BUTTON_CLASS (klass);

  object_class->get_property = pl_network_toggle_get_property;
  object_class->dispose = pl_network_toggle_dispose;
  object_class->finalize = pl_network_toggle_finalize;
  toggle_class->toggled = toggled;

  properties[PROP_NETWORK] =
    g_param_spec_string ("network", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
pl_network_toggle_init (PlNetworkToggle *self)
{
  gtk_button_set_use_underline (GTK_BUTTON (self), TRUE);
}

GtkWidget *
pl_network_toggle_new (PlProfileStore *store)
{
  PlNetworkToggle *self;

  g_return_val_if_fail (PL_IS_PROFILE_STORE (store), NULL);

  self = g_object_new (PL_TYPE_NETWORK_TOGGLE, NULL);
  self->store = g_object_ref (store);
  /* Made with the window: by the time the user checks the box, NetworkManager has said
   * which Wi-Fi this is. */
  self->watcher = pl_network_watcher_new_for_engine ();
  self->changed_id = g_signal_connect (self->watcher, "changed",
                                       G_CALLBACK (watcher_changed_cb), self);
  update_label (self);
  return GTK_WIDGET (self);
}

const char *
pl_network_toggle_get_network (PlNetworkToggle *self)
{
  g_return_val_if_fail (PL_IS_NETWORK_TOGGLE (self), NULL);

  return gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (self)) ? self->value : NULL;
}

void
pl_network_toggle_set_network (PlNetworkToggle *self,
                               const char      *network)
{
  g_return_if_fail (PL_IS_NETWORK_TOGGLE (self));

  g_free (self->value);
  self->value = g_strdup (network);
  self->unknown = FALSE;
  self->setting = TRUE;
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self), network != NULL);
  self->setting = FALSE;
  update_label (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NETWORK]);
}
