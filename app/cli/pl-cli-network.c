/* pl-cli-network.c: `portlightctl network`, the network this computer is on, and what
 * `profiles add/edit --network NAME` stores
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "pl-cli.h"
#include "pl-cli-common.h"
#include "pl-ipv6-route.h"
#include "pl-network-watcher.h"
#include "pl-profile-store.h"

/* `network` reads the network once, as an engine's PlNetworkWatcher sees it: the default
 * gateway, its MAC (neighbour table; when the kernel has not resolved it yet, the watcher's
 * datagram makes it, and we wait a moment for the answer) and the Wi-Fi SSID from
 * NetworkManager where it runs. Then it names the networks of the profiles file and says
 * which of them this is.
 *
 * The JSON object (one line; documented in the README and portlightctl(1)):
 *   {"gateway": "…" | null, "gateway_mac": "…" | null, "ssid": "…" | null,
 *    "networks": [{"name": "…", "value": "…", "here": true | false,
 *                  "profiles": ["…"]}]} */

#define PROGRAM_NAME "portlightctl network"
/* How long to wait for the gateway's MAC and NetworkManager's answer. */
#define READ_TIMEOUT_MS 1500

static gboolean
timeout_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

PlNetworkWatcher *
pl_cli_network_read (void)
{
  g_autoptr(PlNetworkWatcher) watcher = pl_network_watcher_new_for_engine ();
  gboolean timed_out = FALSE;
  guint timeout_id = g_timeout_add (READ_TIMEOUT_MS, timeout_cb, &timed_out);

  for (;;)
    {
      PlNetworkIdentity identity;
      g_autofree char *gateway = pl_network_watcher_dup_gateway (watcher);

      pl_network_watcher_get_identity (watcher, &identity);
      if (pl_network_watcher_is_settled (watcher) && (identity.has_gateway || gateway == NULL))
        break;
      if (timed_out)
        break;
      g_main_context_iteration (NULL, TRUE);
    }
  if (!timed_out)
    g_source_remove (timeout_id);
  return g_steal_pointer (&watcher);
}

char *
pl_cli_network_resolve (PlProfileStore  *store,
                        const char      *given,
                        GError         **error)
{
  GListModel *model = G_LIST_MODEL (store);
  g_autoptr(PlNetworkWatcher) watcher = NULL;
  PlNetworkIdentity identity;

  g_return_val_if_fail (given != NULL, NULL);

  if (*given == '\0' || strchr (given, ';') != NULL)
    return g_strdup (given);   /* none, or a whole value (checked as the file's would be) */
  if (!pl_network_name_validate (given, error))
    return NULL;

  /* A network another profile knows already: the same identity. */
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(PlProfile) profile = g_list_model_get_item (model, i);
      const char *value = pl_profile_get_network (profile);
      g_autofree char *name = pl_network_link_dup_name (value);

      if (name != NULL && strcmp (name, given) == 0)
        return g_strdup (value);
    }

  /* A new name: for the network this computer is on now. */
  watcher = pl_cli_network_read ();
  pl_network_watcher_get_identity (watcher, &identity);
  if (!identity.has_gateway)
    {
      g_autofree char *gateway = pl_network_watcher_dup_gateway (watcher);

      if (gateway == NULL)
        g_set_error (error, PL_ERROR, PL_ERROR_NO_GATEWAY,
                     _("Cannot name this network “%s”: this computer has no default gateway"),
                     given);
      else
        g_set_error (error, PL_ERROR, PL_ERROR_NO_GATEWAY,
                     _("Cannot name this network “%s”: the MAC address of the gateway %s is "
                       "not known"),
                     given, gateway);
      return NULL;
    }
  return pl_network_link_format (given, identity.gateway, identity.ssid);
}

/* The networks the profiles name: name → (value, profile names). */
typedef struct
{
  char      *name;
  char      *value;
  GPtrArray *profiles;
} Known;

static void
known_free (Known *known)
{
  g_free (known->name);
  g_free (known->value);
  g_ptr_array_unref (known->profiles);
  g_free (known);
}

static GPtrArray *
collect_known (PlProfileStore *store)
{
  GPtrArray *known = g_ptr_array_new_with_free_func ((GDestroyNotify) known_free);
  GListModel *model = G_LIST_MODEL (store);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(PlProfile) profile = g_list_model_get_item (model, i);
      const char *value = pl_profile_get_network (profile);
      Known *entry = NULL;

      if (value == NULL)
        continue;
      for (guint k = 0; k < known->len && entry == NULL; k++)
        if (strcmp (((Known *) g_ptr_array_index (known, k))->value, value) == 0)
          entry = g_ptr_array_index (known, k);
      if (entry == NULL)
        {
          entry = g_new0 (Known, 1);
          entry->name = pl_network_link_dup_name (value);
          entry->value = g_strdup (value);
          entry->profiles = g_ptr_array_new_with_free_func (g_free);
          g_ptr_array_add (known, entry);
        }
      g_ptr_array_add (entry->profiles, g_strdup (pl_profile_get_name (profile)));
    }
  return known;
}

static gboolean
known_is_here (const Known             *known,
               const PlNetworkIdentity *identity)
{
  g_autoptr(PlNetworkLink) link = pl_network_link_parse ("", known->value, NULL);

  return link != NULL && pl_network_link_matches (link, identity);
}

int
pl_cli_network_main (int    argc,
                     char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PlProfileStore) store = NULL;
  g_autoptr(PlNetworkWatcher) watcher = NULL;
  g_autoptr(GPtrArray) known = NULL;
  g_autofree char *file = NULL;
  g_autofree char *gateway = NULL;
  g_autofree char *mac = NULL;
  PlNetworkIdentity identity;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "file", 'f', 0, G_OPTION_ARG_FILENAME, &file,
      N_("Read the profiles from FILE instead of the default"), N_("FILE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      N_("Print the network as one JSON object on standard output"), NULL },
    G_OPTION_ENTRY_NULL
  };

  g_set_prgname (PROGRAM_NAME);
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                _("Show the network this computer is on (its gateway's MAC "
                                  "address and the Wi-Fi SSID) and whether it is one of the "
                                  "networks profiles are limited to.\nName it with "
                                  "“portlightctl profiles edit NAME --network NETWORK”."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      for (int i = 1; i < argc; i++)
        json = json || g_strcmp0 (argv[i], "--json") == 0;
      return pl_cli_usage_error (PROGRAM_NAME, "", json, "%s", error->message);
    }
  if (argc > 1)
    return pl_cli_usage_error (PROGRAM_NAME, "", json, _("Unexpected argument “%s”"), argv[1]);

  store = pl_profile_store_new (file);
  if (!pl_profile_store_load (store, NULL, &error))
    {
      if (json)
        pl_cli_print_json_error (pl_cli_error_code_name (error), error->message);
      else
        g_printerr ("%s: %s\n", PROGRAM_NAME, error->message);
      return PL_EXIT_PROFILE_ERROR;
    }
  known = collect_known (store);

  watcher = pl_cli_network_read ();
  pl_network_watcher_get_identity (watcher, &identity);
  gateway = pl_network_watcher_dup_gateway (watcher);
  if (identity.has_gateway)
    mac = pl_neighbour_format_mac (identity.gateway);

  if (json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      pl_cli_json_add_string (builder, "gateway", gateway);
      pl_cli_json_add_string (builder, "gateway_mac", mac);
      pl_cli_json_add_string (builder, "ssid", identity.ssid);
      json_builder_set_member_name (builder, "networks");
      json_builder_begin_array (builder);
      for (guint i = 0; i < known->len; i++)
        {
          Known *entry = g_ptr_array_index (known, i);

          json_builder_begin_object (builder);
          pl_cli_json_add_string (builder, "name", entry->name);
          pl_cli_json_add_string (builder, "value", entry->value);
          pl_cli_json_add_boolean (builder, "here", known_is_here (entry, &identity));
          json_builder_set_member_name (builder, "profiles");
          json_builder_begin_array (builder);
          for (guint p = 0; p < entry->profiles->len; p++)
            json_builder_add_string_value (builder, g_ptr_array_index (entry->profiles, p));
          json_builder_end_array (builder);
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);
      pl_cli_print_json_object (builder);
      return PL_EXIT_OK;
    }

  g_print (_("Gateway:       %s\n"), gateway != NULL ? gateway : _("none"));
  g_print (_("Gateway MAC:   %s\n"), mac != NULL ? mac : _("unknown"));
  g_print (_("Wi-Fi SSID:    %s\n"),
           identity.ssid != NULL ? identity.ssid : _("unknown (no Wi-Fi, or no NetworkManager)"));
  for (guint i = 0; i < known->len; i++)
    {
      Known *entry = g_ptr_array_index (known, i);
      g_autofree char *names = NULL;

      g_ptr_array_add (entry->profiles, NULL);
      names = g_strjoinv (", ", (char **) entry->profiles->pdata);
      g_print (known_is_here (entry, &identity)
               /* Translators: the first %s is a network's name, the second profiles' names */
               ? _("Network ‘%s’: this one (profiles %s)\n")
               : _("Network ‘%s’: another one (profiles %s)\n"),
               entry->name, names);
    }
  return PL_EXIT_OK;
}
