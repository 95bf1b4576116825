/* pl-app-profiles.c: the profiles as the engine maps them, app-linked ones only while their
 * application runs
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "pl-app-link.h"
#include "pl-app-profiles.h"
#include "pl-network-link.h"
#include "pl-network-watcher.h"
#include "pl-profile.h"

/* Why a model and not a change of PlSession: the session already maps exactly the enabled
 * profiles of the model it is given and follows their notify signals, so presenting an
 * app-linked profile as enabled only while its application runs is all it takes, and the
 * session, the store and the broker's lease registry stay as they are. The engine builds
 * the session over this model instead of over the broker's model (see
 * pl_app_profiles_new_for_engine()).
 *
 * A limit of that: the broker's registry sees the user's profile, not the copy, so a lease a
 * program asks for on the same port rides on the app-linked profile even while its
 * application does not run (and is then not mapped).
 *
 * Profiles with Network= (pl-network-link.h) are shown the same way: as a copy, enabled only
 * while this computer is on that network (a PlNetworkWatcher: the gateway's MAC and the
 * Wi-Fi SSID). A profile may have both: it is mapped while its application runs on its
 * network. The watcher exists only while some profile has Network=, so that an engine
 * without such profiles does not listen to the kernel's routing events at all. */

typedef struct
{
  PlProfile *source;     /* owned */
  PlProfile *shown;      /* owned: the source itself, or the copy for an app-linked one */
  char      *link;       /* the App= value being watched, nullable */
  PlNetworkLink *network; /* the Network= value, parsed; nullable */
  gulong     notify_id;
} Item;

struct _PlAppProfiles
{
  GObject       parent_instance;

  GListModel   *profiles;
  gulong        items_changed_id;
  PlAppWatcher *watcher;
  gulong        watcher_changed_id;
  /* Where the network watcher comes from: the engine's, or the one a test gives. */
  gboolean      engine;
  PlNetworkWatcher *network_watcher;   /* while n_network > 0, or given */
  gboolean      network_watcher_given;
  gulong        network_changed_id;
  guint         n_network;
  GPtrArray    *items;   /* Item* */
};

static void pl_app_profiles_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PlAppProfiles, pl_app_profiles, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      pl_app_profiles_list_model_init))

enum { SIGNAL_APP_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void source_notify_cb (GObject *object, GParamSpec *pspec, gpointer user_data);
static void network_changed_cb (PlNetworkWatcher *watcher, gpointer user_data);

static void
network_ref (PlAppProfiles *self)
{
  if (self->n_network++ > 0 || self->network_watcher != NULL)
    return;
  self->network_watcher = self->engine ? pl_network_watcher_new_for_engine ()
                                       : pl_network_watcher_new_fixed ();
  self->network_changed_id = g_signal_connect (self->network_watcher, "changed",
                                               G_CALLBACK (network_changed_cb), self);
}

static void
network_unref (PlAppProfiles *self)
{
  g_assert (self->n_network > 0);
  if (--self->n_network > 0 || self->network_watcher_given)
    return;
  g_clear_signal_handler (&self->network_changed_id, self->network_watcher);
  g_clear_object (&self->network_watcher);
}

/* Whether @item's network condition holds (TRUE without one). */
static gboolean
item_on_network (PlAppProfiles *self,
                 Item          *item)
{
  PlNetworkIdentity current;

  if (item->network == NULL)
    return TRUE;
  pl_network_watcher_get_identity (self->network_watcher, &current);
  return pl_network_link_matches (item->network, &current);
}

static void
item_free (PlAppProfiles *self,
           Item          *item)
{
  g_clear_signal_handler (&item->notify_id, item->source);
  if (item->link != NULL)
    pl_app_watcher_unwatch (self->watcher, item->link);
  g_free (item->link);
  if (item->network != NULL)
    network_unref (self);
  g_clear_pointer (&item->network, pl_network_link_free);
  g_clear_object (&item->shown);
  g_clear_object (&item->source);
  g_free (item);
}

/* The copy's values: the source's, enabled only while the application runs and this is the
 * profile's network. */
static void
item_sync (PlAppProfiles *self,
           Item          *item)
{
  gboolean running;

  if (item->shown == item->source)
    return;
  /* A link we could not parse: the copy keeps the bad value, and the session reports it. */
  running = item->link == NULL || pl_app_watcher_is_running (self->watcher, item->link);
  g_object_freeze_notify (G_OBJECT (item->shown));
  pl_profile_update (item->shown, item->source);
  pl_profile_set_enabled (item->shown, pl_profile_get_enabled (item->source) && running &&
                                       item_on_network (self, item));
  g_object_thaw_notify (G_OBJECT (item->shown));
}

static Item *
item_new (PlAppProfiles *self,
          PlProfile     *source)
{
  Item *item = g_new0 (Item, 1);
  const char *app = pl_profile_get_app (source);
  const char *network = pl_profile_get_network (source);

  item->source = g_object_ref (source);
  if (app == NULL && network == NULL)
    item->shown = g_object_ref (source);
  else
    {
      item->shown = pl_profile_copy (source);
      if (app != NULL && pl_app_link_parse ("", app, NULL, NULL, NULL))
        {
          item->link = g_strdup (app);
          pl_app_watcher_watch (self->watcher, item->link);
        }
      if (network != NULL)
        item->network = pl_network_link_parse ("", network, NULL);
      if (item->network != NULL)
        network_ref (self);
      item_sync (self, item);
    }
  item->notify_id = g_signal_connect (source, "notify", G_CALLBACK (source_notify_cb), self);
  return item;
}

static guint
find_source (PlAppProfiles *self,
             PlProfile     *source)
{
  for (guint i = 0; i < self->items->len; i++)
    if (((Item *) g_ptr_array_index (self->items, i))->source == source)
      return i;
  return G_MAXUINT;
}

static void
source_notify_cb (GObject    *object,
                  GParamSpec *pspec,
                  gpointer    user_data)
{
  PlAppProfiles *self = user_data;
  guint position = find_source (self, PL_PROFILE (object));
  Item *item;

  if (position == G_MAXUINT)
    return;
  item = g_ptr_array_index (self->items, position);
  if (item->shown != item->source &&
      g_strcmp0 (pl_profile_get_app (item->source), pl_profile_get_app (item->shown)) == 0 &&
      g_strcmp0 (pl_profile_get_network (item->source),
                 pl_profile_get_network (item->shown)) == 0)
    {
      item_sync (self, item);
      return;
    }
  if (item->shown == item->source && pl_profile_get_app (item->source) == NULL &&
      pl_profile_get_network (item->source) == NULL)
    return;   /* the session follows the profile itself */

  /* App= or Network= came, went or changed: another object at this position. */
  {
    g_autofree char *name = g_strdup (pl_profile_get_name (item->source));

    g_ptr_array_index (self->items, position) = item_new (self, item->source);
    item_free (self, item);
    g_list_model_items_changed (G_LIST_MODEL (self), position, 1, 1);
    g_signal_emit (self, signals[SIGNAL_APP_CHANGED], 0, name);
  }
}

static void
profiles_changed_cb (GListModel *model,
                     guint       position,
                     guint       removed,
                     guint       added,
                     gpointer    user_data)
{
  PlAppProfiles *self = user_data;

  for (guint i = 0; i < removed; i++)
    item_free (self, g_ptr_array_index (self->items, position + i));
  g_ptr_array_remove_range (self->items, position, removed);
  for (guint i = 0; i < added; i++)
    {
      g_autoptr(GObject) object = g_list_model_get_item (model, position + i);

      g_ptr_array_insert (self->items, (int) (position + i),
                          item_new (self, PL_PROFILE (object)));
    }
  g_list_model_items_changed (G_LIST_MODEL (self), position, removed, added);
}

static void
watcher_changed_cb (PlAppWatcher *watcher,
                    const char   *link,
                    gpointer      user_data)
{
  PlAppProfiles *self = user_data;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < self->items->len; i++)
    {
      Item *item = g_ptr_array_index (self->items, i);

      if (g_strcmp0 (item->link, link) != 0)
        continue;
      item_sync (self, item);
      g_ptr_array_add (names, g_strdup (pl_profile_get_name (item->source)));
    }
  for (guint i = 0; i < names->len; i++)
    g_signal_emit (self, signals[SIGNAL_APP_CHANGED], 0,
                   (const char *) g_ptr_array_index (names, i));
}

static void
network_changed_cb (PlNetworkWatcher *watcher,
                    gpointer          user_data)
{
  PlAppProfiles *self = user_data;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < self->items->len; i++)
    {
      Item *item = g_ptr_array_index (self->items, i);
      gboolean was = pl_profile_get_enabled (item->shown);

      if (item->network == NULL)
        continue;
      item_sync (self, item);
      if (was != pl_profile_get_enabled (item->shown))
        g_ptr_array_add (names, g_strdup (pl_profile_get_name (item->source)));
    }
  for (guint i = 0; i < names->len; i++)
    g_signal_emit (self, signals[SIGNAL_APP_CHANGED], 0,
                   (const char *) g_ptr_array_index (names, i));
}

/* GListModel */

static GType
pl_app_profiles_get_item_type (GListModel *model)
{
  return PL_TYPE_PROFILE;
}

static guint
pl_app_profiles_get_n_items (GListModel *model)
{
  return PL_APP_PROFILES (model)->items->len;
}

static gpointer
pl_app_profiles_get_item (GListModel *model,
                          guint       position)
{
  PlAppProfiles *self = PL_APP_PROFILES (model);

  if (position >= self->items->len)
    return NULL;
  return g_object_ref (((Item *) g_ptr_array_index (self->items, position))->shown);
}

static void
pl_app_profiles_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = pl_app_profiles_get_item_type;
  iface->get_n_items = pl_app_profiles_get_n_items;
  iface->get_item = pl_app_profiles_get_item;
}

/* GObject */

static void
pl_app_profiles_dispose (GObject *object)
{
  PlAppProfiles *self = PL_APP_PROFILES (object);

  if (self->profiles != NULL)
    g_clear_signal_handler (&self->items_changed_id, self->profiles);
  if (self->watcher != NULL)
    g_clear_signal_handler (&self->watcher_changed_id, self->watcher);
  if (self->items != NULL)
    {
      for (guint i = 0; i < self->items->len; i++)
        item_free (self, g_ptr_array_index (self->items, i));
      g_ptr_array_set_size (self->items, 0);
    }
  g_clear_object (&self->profiles);
  g_clear_object (&self->watcher);
  if (self->network_watcher != NULL)
    g_clear_signal_handler (&self->network_changed_id, self->network_watcher);
  g_clear_object (&self->network_watcher);

  G_OBJECT_CLASS (pl_app_profiles_parent_class)->dispose (object);
}

static void
pl_app_profiles_finalize (GObject *object)
{
  PlAppProfiles *self = PL_APP_PROFILES (object);

  g_clear_pointer (&self->items, g_ptr_array_unref);

  G_OBJECT_CLASS (pl_app_profiles_parent_class)->finalize (object);
}

static void
pl_app_profiles_class_init (PlAppProfilesClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_app_profiles_dispose;
  object_class->finalize = pl_app_profiles_finalize;

  /**
   * PlAppProfiles::app-changed:
   * @profile_name: the profile's name
   *
   * The application of an app-linked profile started or exited (or App= changed), or a
   * network-linked profile's network came or went (or Network= changed): its
   * pl_app_profiles_dup_reason() may have changed.
   */
  signals[SIGNAL_APP_CHANGED] =
    g_signal_new ("app-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
pl_app_profiles_init (PlAppProfiles *self)
{
  self->items = g_ptr_array_new ();
}

static PlAppProfiles *
app_profiles_new (GListModel       *profiles,
                  PlAppWatcher     *watcher,
                  PlNetworkWatcher *network_watcher,
                  gboolean          engine)
{
  PlAppProfiles *self;
  guint n;

  self = g_object_new (PL_TYPE_APP_PROFILES, NULL);
  self->engine = engine;
  if (network_watcher != NULL)
    {
      self->network_watcher = g_object_ref (network_watcher);
      self->network_watcher_given = TRUE;
      self->network_changed_id = g_signal_connect (self->network_watcher, "changed",
                                                   G_CALLBACK (network_changed_cb), self);
    }
  self->profiles = g_object_ref (profiles);
  self->watcher = watcher != NULL ? g_object_ref (watcher) : pl_app_watcher_new (NULL);
  self->watcher_changed_id = g_signal_connect (self->watcher, "changed",
                                               G_CALLBACK (watcher_changed_cb), self);
  n = g_list_model_get_n_items (profiles);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) object = g_list_model_get_item (profiles, i);

      g_ptr_array_add (self->items, item_new (self, PL_PROFILE (object)));
    }
  self->items_changed_id = g_signal_connect (profiles, "items-changed",
                                             G_CALLBACK (profiles_changed_cb), self);
  return self;
}

PlAppProfiles *
pl_app_profiles_new (GListModel   *profiles,
                     PlAppWatcher *watcher)
{
  g_return_val_if_fail (G_IS_LIST_MODEL (profiles), NULL);
  g_return_val_if_fail (watcher == NULL || PL_IS_APP_WATCHER (watcher), NULL);

  return app_profiles_new (profiles, watcher, NULL, FALSE);
}

PlAppProfiles *
pl_app_profiles_new_full (GListModel       *profiles,
                          PlAppWatcher     *watcher,
                          PlNetworkWatcher *network_watcher)
{
  g_return_val_if_fail (G_IS_LIST_MODEL (profiles), NULL);
  g_return_val_if_fail (watcher == NULL || PL_IS_APP_WATCHER (watcher), NULL);
  g_return_val_if_fail (PL_IS_NETWORK_WATCHER (network_watcher), NULL);

  return app_profiles_new (profiles, watcher, network_watcher, FALSE);
}

PlAppProfiles *
pl_app_profiles_new_for_engine (GListModel *profiles)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_autoptr(PlAppWatcher) watcher = NULL;

  if (bus == NULL)
    g_debug ("No session bus for the systemd user manager: %s", error->message);
  watcher = pl_app_watcher_new (bus);
  return app_profiles_new (profiles, watcher, NULL, TRUE);
}

PlAppWatcher *
pl_app_profiles_get_watcher (PlAppProfiles *self)
{
  g_return_val_if_fail (PL_IS_APP_PROFILES (self), NULL);
  return self->watcher;
}

static Item *
find_name (PlAppProfiles *self,
           const char    *profile_name)
{
  for (guint i = 0; i < self->items->len; i++)
    {
      Item *item = g_ptr_array_index (self->items, i);

      if (g_strcmp0 (pl_profile_get_name (item->source), profile_name) == 0)
        return item;
    }
  return NULL;
}

gboolean
pl_app_profiles_is_waiting (PlAppProfiles *self,
                            const char    *profile_name)
{
  Item *item;

  g_return_val_if_fail (PL_IS_APP_PROFILES (self), FALSE);
  g_return_val_if_fail (profile_name != NULL, FALSE);

  item = find_name (self, profile_name);
  if (item == NULL || !pl_profile_get_enabled (item->source))
    return FALSE;
  return (item->link != NULL && !pl_app_watcher_is_running (self->watcher, item->link)) ||
         !item_on_network (self, item);
}

gboolean
pl_app_profiles_is_on_network (PlAppProfiles *self,
                               const char    *profile_name)
{
  Item *item;

  g_return_val_if_fail (PL_IS_APP_PROFILES (self), FALSE);
  g_return_val_if_fail (profile_name != NULL, FALSE);

  item = find_name (self, profile_name);
  return item != NULL && item_on_network (self, item);
}

PlNetworkWatcher *
pl_app_profiles_get_network_watcher (PlAppProfiles *self)
{
  g_return_val_if_fail (PL_IS_APP_PROFILES (self), NULL);
  return self->network_watcher;
}

char *
pl_app_link_dup_display_name (const char *link)
{
  PlAppLinkKind kind;
  const char *name;

  g_return_val_if_fail (link != NULL, NULL);

  if (!pl_app_link_parse ("", link, &kind, &name, NULL))
    return g_strdup (link);
  if (kind == PL_APP_LINK_APP)
    {
      /* The .desktop file read once, not GDesktopAppInfo: that one keeps file monitors on
       * every applications folder, and GLib looks for a missing folder every 4 s, which
       * would wake an idle engine (measured: 9 wake-ups a minute in the lab). */
      g_autofree char *file = g_strconcat ("applications/", name, ".desktop", NULL);
      g_autoptr(GKeyFile) key_file = g_key_file_new ();

      if (g_key_file_load_from_data_dirs (key_file, file, NULL, G_KEY_FILE_NONE, NULL))
        {
          g_autofree char *title = g_key_file_get_locale_string (key_file,
                                                                 G_KEY_FILE_DESKTOP_GROUP,
                                                                 G_KEY_FILE_DESKTOP_KEY_NAME,
                                                                 NULL, NULL);

          if (title != NULL && *title != '\0' && g_utf8_validate (title, -1, NULL))
            return g_steal_pointer (&title);
        }
    }
  return g_strdup (name);
}

char *
pl_app_profiles_dup_reason (PlAppProfiles *self,
                            const char    *profile_name)
{
  g_autofree char *app = NULL;
  const char *problem;
  Item *item;

  g_return_val_if_fail (PL_IS_APP_PROFILES (self), NULL);
  g_return_val_if_fail (profile_name != NULL, NULL);

  if (!pl_app_profiles_is_waiting (self, profile_name))
    return NULL;
  item = find_name (self, profile_name);
  if (!item_on_network (self, item))
    /* Translators: %s is the name the user gave a network, e.g. home */
    return g_strdup_printf (_("Only on network ‘%s’"), item->network->name);
  app = pl_app_link_dup_display_name (item->link);
  problem = pl_app_watcher_get_problem (self->watcher, item->link);
  if (problem != NULL)
    /* Translators: the first %s is an application, the second why its start may go unseen */
    return g_strdup_printf (_("Waiting for %s to start (%s)"), app, problem);
  /* Translators: %s is an application, e.g. qBittorrent */
  return g_strdup_printf (_("Waiting for %s to start"), app);
}
