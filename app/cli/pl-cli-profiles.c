/* pl-cli-profiles.c: `portlightctl profiles …`, the profile store from the command line
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "pl-cli.h"
#include "pl-cli-common.h"
#include "pl-cli-engine.h"
#include "pl-core.h"

/* Every command loads the same PlProfileStore as the tray (or the file given with --file),
 * applies one change through it (same validation, same messages) and saves it. Problems
 * with single profiles in the file are warnings on stderr; a file that cannot be read at all
 * is an error (exit 6), and is never written.
 *
 * Exit codes: bad arguments, including values given on the command line that are out of
 * range, are PL_EXIT_USAGE (2); anything about the store (unknown profile, a name or port
 * already taken, an unreadable file, a refused save) is PL_EXIT_PROFILE_ERROR (6).
 *
 * While Portlight's engine runs on the bus and keeps this file (its Manager.ProfilesFile),
 * it is the file's one writer: a change is checked here as always, then made by the engine's Profile
 * and Manager methods (CreateProfile, Update, Delete, Enable, Disable), which save the file;
 * nothing is written from here. --no-broker writes the file here instead, and is refused
 * while an engine runs. */

#define PROGRAM_NAME "portlightctl profiles"

typedef struct
{
  char           *prgname;     /* "portlightctl profiles add" */
  const char     *parameters;  /* for the usage line */
  char           *file;        /* --file */
  gboolean        json;        /* --json */
  gboolean        no_broker;   /* --no-broker */
  PlProfileStore *store;
  PlCliEngine    *engine;      /* the running engine that keeps this file, if any */
  PlEngineLock   *lock;        /* --no-broker: held while the command runs */
} Ctx;

static void
ctx_free (Ctx *ctx)
{
  g_clear_object (&ctx->store);
  g_clear_pointer (&ctx->engine, pl_cli_engine_free);
  g_clear_object (&ctx->lock);
  g_free (ctx->prgname);
  g_free (ctx->file);
  g_free (ctx);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Ctx, ctx_free)

/* Output */

/* A bad argument (see pl_cli_usage_error()). Returns PL_EXIT_USAGE. */
#define usage_error(ctx, ...) \
  pl_cli_usage_error ((ctx)->prgname, (ctx)->parameters, (ctx)->json, __VA_ARGS__)

static void
json_add_profile (JsonBuilder *builder,
                  PlProfile   *profile)
{
  json_builder_begin_object (builder);
  pl_cli_json_add_string (builder, "name", pl_profile_get_name (profile));
  pl_cli_json_add_string (builder, "protocol",
                          pl_profile_protocol_to_string (pl_profile_get_protocol (profile)));
  pl_cli_json_add_string (builder, "family",
                          pl_profile_family_to_string (pl_profile_get_family (profile)));
  pl_cli_json_add_int (builder, "public_port", pl_profile_get_external_port (profile));
  pl_cli_json_add_boolean (builder, "any_public_port",
                           pl_profile_get_any_external_port (profile));
  pl_cli_json_add_int (builder, "private_port", pl_profile_get_internal_port (profile));
  pl_cli_json_add_int (builder, "lifetime", pl_profile_get_lifetime (profile));
  pl_cli_json_add_boolean (builder, "enabled", pl_profile_get_enabled (profile));
  pl_cli_json_add_string (builder, "description", pl_profile_get_description (profile));
  pl_cli_json_add_string (builder, "on_port_change", pl_profile_get_on_port_change (profile));
  pl_cli_json_add_string (builder, "app", pl_profile_get_app (profile));
  pl_cli_json_add_string (builder, "gateway", pl_profile_get_gateway (profile));
  {
    g_autofree char *network = pl_network_link_dup_name (pl_profile_get_network (profile));

    pl_cli_json_add_string (builder, "network", network);
  }
  json_builder_end_object (builder);
}

static void
print_json_profile (PlProfile *profile)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_add_profile (builder, profile);
  pl_cli_print_json (builder);
}

static const char *
error_code_name (const GError *error)
{
  if (g_error_matches (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT)
      || error->domain == G_OPTION_ERROR)
    return "invalid-argument";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    return "not-found";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    return "exists";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA))
    return "invalid-file";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WRONG_ETAG))
    return "changed-on-disk";
  return "local-error";
}

/* Reports @error; returns its exit code. Values given on the command line are bad
 * arguments; everything else is a profile error. */
static int
fail (Ctx          *ctx,
      const GError *error)
{
  if (g_error_matches (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT))
    return usage_error (ctx, "%s", error->message);

  g_printerr ("%s: %s\n", ctx->prgname, error->message);
  if (ctx->json)
    pl_cli_print_json_error (error_code_name (error), error->message);

  return PL_EXIT_PROFILE_ERROR;
}

static char *
describe_public_port (PlProfile *profile)
{
  if (pl_profile_get_any_external_port (profile))
    return g_strdup (_("any (the router chooses)"));
  if (pl_profile_get_external_port (profile) == 0)
    return g_strdup_printf (_("%u (same as private)"), pl_profile_get_internal_port (profile));
  return g_strdup_printf ("%u", pl_profile_get_external_port (profile));
}

static const char *
protocol_label (PlProfile *profile)
{
  switch (pl_profile_get_protocol (profile))
    {
    case PL_PROFILE_PROTOCOL_TCP:
      return "TCP";
    case PL_PROFILE_PROTOCOL_UDP:
      return "UDP";
    case PL_PROFILE_PROTOCOL_BOTH:
      return _("TCP+UDP");
    default:
      return "?";
    }
}

static const char *
family_label (PlProfile *profile)
{
  switch (pl_profile_get_family (profile))
    {
    case PL_PROFILE_FAMILY_BOTH:
      return _("IPv4 and IPv6");
    case PL_PROFILE_FAMILY_IPV4:
      return _("IPv4 only");
    case PL_PROFILE_FAMILY_IPV6:
      return _("IPv6 only");
    default:
      return "?";
    }
}

/* The protocol, and the family when it is not both: "TCP", "UDP (IPv6 only)". */
static char *
describe_protocol (PlProfile *profile)
{
  if (pl_profile_get_family (profile) == PL_PROFILE_FAMILY_BOTH)
    return g_strdup (protocol_label (profile));
  /* TRANSLATORS: a profile's protocol and the one address family it maps on, e.g.
   * "TCP (IPv6 only)" */
  return g_strdup_printf (_("%s (%s)"), protocol_label (profile), family_label (profile));
}

/* "Profile “SSH”: TCP, public port 2222 → private port 22, lifetime 7200 s, enabled" */
static void
print_summary (const char *what,
               PlProfile  *profile)
{
  g_autofree char *public_port = describe_public_port (profile);
  g_autofree char *protocol = describe_protocol (profile);

  g_print (_("%s “%s”: %s, public port %s → private port %u, lifetime %u s, %s\n"),
           what, pl_profile_get_name (profile), protocol, public_port,
           pl_profile_get_internal_port (profile), pl_profile_get_lifetime (profile),
           pl_profile_get_enabled (profile) ? _("enabled") : _("disabled"));
}

/* Options and the store */

static const char *
commands_help (void)
{
  return _("Commands:\n"
           "  list                   List the profiles (the default)\n"
           "  show NAME              Show one profile\n"
           "  add NAME [-u|-t|--both] [-4|-6] [-l SECONDS] [--disabled] [-d TEXT] "
           "PUBLIC_PORT PRIVATE_PORT\n"
           "                         Add a profile (PUBLIC_PORT 0 = the same as "
           "PRIVATE_PORT,\n"
           "                         “any” = the port the router chooses)\n"
           "  edit NAME [OPTION…]    Change a profile\n"
           "  remove NAME            Remove a profile\n"
           "  enable NAME            Enable a profile\n"
           "  disable NAME           Disable a profile\n"
           "\n"
           "Profiles are kept in $XDG_CONFIG_HOME/portlight/profiles.ini (usually\n"
           "~/.config/portlight/profiles.ini); a running Portlight picks up changes.\n"
           "While Portlight's engine runs, changes to that file go through it\n"
           "(--no-broker writes the file here, and is refused while the engine runs).\n"
           "\n"
           "Exit status:\n"
           "  0  success\n"
           "  2  bad arguments, unknown option, or a value out of range\n"
           "  5  --no-broker while Portlight's engine runs, or the engine could not be "
           "reached\n"
           "  6  profile error: unknown profile, name or port already taken, unreadable "
           "file");
}

/* Parses the options of one command plus --file and --json; leaves the positional
 * arguments in @argv after argv[0]. */
static int
parse_options (Ctx                 *ctx,
               const GOptionEntry  *entries,
               const char          *summary,
               int                 *argc,
               char              ***argv)
{
  g_autofree char *file = NULL;
  gboolean json = FALSE;
  const GOptionEntry common_entries[] = {
    { "file", 'f', 0, G_OPTION_ARG_FILENAME, &file,
      N_("Use the profiles file PATH instead of the default one"), N_("PATH") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      N_("Print the result, or the error, as JSON on standard output"), NULL },
    { "no-broker", 0, 0, G_OPTION_ARG_NONE, &ctx->no_broker,
      N_("Write the file from this process even where Portlight's engine could (refused "
         "while the engine runs)"), NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;

  g_set_prgname (ctx->prgname);
  context = g_option_context_new (ctx->parameters);
  g_option_context_set_summary (context, summary);
  g_option_context_set_description (context, commands_help ());
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, common_entries, GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      for (int i = 1; i < *argc; i++)
        if (g_strcmp0 ((*argv)[i], "--json") == 0)
          ctx->json = TRUE;
      return usage_error (ctx, "%s", error->message);
    }

  if (file != NULL)
    {
      g_free (ctx->file);
      ctx->file = g_steal_pointer (&file);
    }
  ctx->json = ctx->json || json;
  return PL_EXIT_OK;
}

/* Loads the store. Problems with single profiles are warnings; a file that cannot be read
 * at all is an error. */
static int
open_store (Ctx *ctx)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *problems;

  ctx->store = pl_profile_store_new (ctx->file);
  if (!pl_profile_store_load (ctx->store, NULL, &error))
    return fail (ctx, error);

  problems = pl_profile_store_get_problems (ctx->store);
  for (guint i = 0; i < problems->len; i++)
    g_printerr (_("%s: warning: %s\n"), ctx->prgname,
                ((GError *) g_ptr_array_index (problems, i))->message);

  return PL_EXIT_OK;
}

static int
save_store (Ctx *ctx)
{
  g_autoptr(GError) error = NULL;

  if (!pl_profile_store_save (ctx->store, NULL, &error))
    return fail (ctx, error);
  return PL_EXIT_OK;
}

/* Looks for the engine before a change (see the top of this file). */
static int
find_engine (Ctx *ctx)
{
  g_autoptr(GError) error = NULL;

  ctx->engine = pl_cli_engine_find (ctx->no_broker, &ctx->lock, &error);
  if (ctx->engine != NULL && !pl_cli_engine_uses_profiles (ctx->engine, ctx->file))
    {
      /* Another file than the engine's: written here, as ever (the engine does not keep
       * it). */
      g_debug ("Portlight's engine keeps %s: writing %s here",
               pl_broker_manager_get_profiles_file (ctx->engine->manager),
               ctx->file != NULL ? ctx->file : "the default file");
      g_clear_pointer (&ctx->engine, pl_cli_engine_free);
    }
  if (error == NULL)
    return PL_EXIT_OK;
  g_printerr ("%s: %s\n", ctx->prgname, error->message);
  if (ctx->json)
    pl_cli_print_json_error (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY)
                             ? "engine-running" : "local-error", error->message);
  return PL_EXIT_LOCAL_ERROR;
}

typedef enum
{
  CHANGE_ADD,
  CHANGE_EDIT,
  CHANGE_REMOVE,
  CHANGE_ENABLE,
  CHANGE_DISABLE,
} Change;

/* Makes the change already checked on the loaded store: saves the file, or, while the
 * engine keeps it, has the engine make and save it. @name: the profile as it was; @profile:
 * as it is to be (ADD, EDIT). */
static int
commit_change (Ctx        *ctx,
               Change      change,
               const char *name,
               PlProfile  *profile)
{
  g_autoptr(PlBrokerProfile) object = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (ctx->engine == NULL)
    return save_store (ctx);

  g_debug ("The change goes through Portlight's engine");
  if (change == CHANGE_ADD)
    ok = pl_broker_manager_call_create_profile_sync (ctx->engine->manager,
                                                     pl_broker_profile_settings_new (profile), NULL, NULL,
                                                     &error);
  else
    {
      object = pl_cli_engine_get_profile (ctx->engine, name);
      if (object == NULL)
        {
          /* A profile with errors in the file is not on the bus: it is removed here, and
           * the engine reads the file again. */
          if (change == CHANGE_REMOVE)
            return save_store (ctx);
          error = g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               _("Portlight's engine has no profile named “%s”"), name);
          return fail (ctx, error);
        }
      switch (change)
        {
        case CHANGE_EDIT:
          ok = pl_broker_profile_call_update_sync (object, pl_broker_profile_settings_new (profile), NULL,
                                                   &error);
          break;
        case CHANGE_REMOVE:
          ok = pl_broker_profile_call_delete_sync (object, NULL, &error);
          break;
        case CHANGE_ENABLE:
          ok = pl_broker_profile_call_enable_sync (object, NULL, &error);
          break;
        case CHANGE_DISABLE:
        case CHANGE_ADD:
        default:
          ok = pl_broker_profile_call_disable_sync (object, NULL, &error);
          break;
        }
    }
  if (!ok)
    {
      g_autoptr(GError) translated = pl_cli_engine_call_error (error);

      return fail (ctx, translated);
    }
  return PL_EXIT_OK;
}

/* The loaded profile @name, or NULL after reporting why there is none (@status). */
static PlProfile *
find_profile (Ctx        *ctx,
              const char *name,
              int        *status)
{
  PlProfile *profile = pl_profile_store_lookup (ctx->store, name);
  g_autoptr(GError) error = NULL;

  if (profile != NULL)
    return profile;

  if (pl_profile_store_has_name (ctx->store, name))
    error = g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                         _("Profile “%s” has errors in “%s” (see above): fix it there or "
                           "remove it"),
                         name, pl_profile_store_get_path (ctx->store));
  else
    error = g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                         _("No profile named “%s” in “%s”"),
                         name, pl_profile_store_get_path (ctx->store));
  *status = fail (ctx, error);
  return NULL;
}

/* -u, -t, --both: the protocol asked for, if any. -u with -t is both, as for `map`. */
static gboolean
protocol_from_flags (gboolean           udp,
                     gboolean           tcp,
                     gboolean           both,
                     PlProfileProtocol *protocol)
{
  if (both || (udp && tcp))
    *protocol = PL_PROFILE_PROTOCOL_BOTH;
  else if (udp)
    *protocol = PL_PROFILE_PROTOCOL_UDP;
  else if (tcp)
    *protocol = PL_PROFILE_PROTOCOL_TCP;
  else
    return FALSE;
  return TRUE;
}

/* -4, -6, --both-families: the family asked for, if any. Only one may be given, which
 * check_family_flags() makes sure of. */
static gboolean
family_from_flags (gboolean         ipv4,
                   gboolean         ipv6,
                   gboolean         both_families,
                   PlProfileFamily *family)
{
  if (ipv4)
    *family = PL_PROFILE_FAMILY_IPV4;
  else if (ipv6)
    *family = PL_PROFILE_FAMILY_IPV6;
  else if (both_families)
    *family = PL_PROFILE_FAMILY_BOTH;
  else
    return FALSE;
  return TRUE;
}

/* -4 with -6, or either with --both-families: a usage error (@status). */
static gboolean
check_family_flags (Ctx      *ctx,
                    gboolean  ipv4,
                    gboolean  ipv6,
                    gboolean  both_families,
                    int      *status)
{
  if (ipv4 && ipv6)
    *status = usage_error (ctx, _("-4 and -6 cannot be used together"));
  else if (both_families && (ipv4 || ipv6))
    *status = usage_error (ctx, _("--both-families cannot be used with -4 or -6"));
  else
    return TRUE;
  return FALSE;
}

/* Sets one value given on the command line, with the store's checks and messages. */
static gboolean
set_value (Ctx        *ctx,
           PlProfile  *profile,
           const char *key,
           const char *value,
           int        *status)
{
  g_autoptr(GError) error = NULL;

  if (value == NULL || pl_profile_set_key_value (profile, key, value, &error))
    return TRUE;

  *status = fail (ctx, error);
  return FALSE;
}

/* Commands */

static int
cmd_list (Ctx   *ctx,
          int    argc,
          char **argv)
{
  GListModel *model;
  guint n;
  int status;

  ctx->parameters = "";
  status = parse_options (ctx, NULL, _("List the profiles."), &argc, &argv);
  if (status != PL_EXIT_OK)
    return status;
  if (argc > 1)
    return usage_error (ctx, _("Unexpected argument “%s”"), argv[1]);

  status = open_store (ctx);
  if (status != PL_EXIT_OK)
    return status;

  model = G_LIST_MODEL (ctx->store);
  n = g_list_model_get_n_items (model);

  if (ctx->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      GPtrArray *problems = pl_profile_store_get_problems (ctx->store);

      json_builder_begin_object (builder);
      pl_cli_json_add_string (builder, "file", pl_profile_store_get_path (ctx->store));
      json_builder_set_member_name (builder, "profiles");
      json_builder_begin_array (builder);
      for (guint i = 0; i < n; i++)
        {
          g_autoptr(PlProfile) profile = g_list_model_get_item (model, i);

          json_add_profile (builder, profile);
        }
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "problems");
      json_builder_begin_array (builder);
      for (guint i = 0; i < problems->len; i++)
        json_builder_add_string_value (builder,
                                       ((GError *) g_ptr_array_index (problems, i))->message);
      json_builder_end_array (builder);
      pl_cli_print_json_object (builder);
      return PL_EXIT_OK;
    }

  if (n == 0)
    {
      g_print (_("No profiles in “%s”. Add one with “portlightctl profiles add”.\n"),
               pl_profile_store_get_path (ctx->store));
      return PL_EXIT_OK;
    }

  {
    enum { COL_NAME, COL_PROTOCOL, COL_PUBLIC, COL_PRIVATE, COL_LIFETIME, COL_ENABLED,
           COL_DESCRIPTION, COL_APP, COL_NETWORK, N_ALL_COLS };
    g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
    glong widths[N_ALL_COLS] = { 0 };
    char **header = g_new0 (char *, N_ALL_COLS + 1);
    guint n_cols = COL_APP;

    /* APP only when some profile is tied to an application (App=), NETWORK when some is
     * limited to a network (Network=). */
    for (guint i = 0; i < n; i++)
      {
        g_autoptr(PlProfile) profile = g_list_model_get_item (model, i);

        if (pl_profile_get_app (profile) != NULL)
          n_cols = MAX (n_cols, COL_APP + 1);
        if (pl_profile_get_network (profile) != NULL)
          n_cols = N_ALL_COLS;
      }

    header[COL_NAME] = g_strdup (_("NAME"));
    header[COL_PROTOCOL] = g_strdup (_("PROTOCOL"));
    header[COL_PUBLIC] = g_strdup (_("PUBLIC"));
    header[COL_PRIVATE] = g_strdup (_("PRIVATE"));
    header[COL_LIFETIME] = g_strdup (_("LIFETIME"));
    header[COL_ENABLED] = g_strdup (_("ENABLED"));
    header[COL_DESCRIPTION] = g_strdup (_("DESCRIPTION"));
    if (n_cols > COL_APP)
      header[COL_APP] = g_strdup (_("APP"));
    if (n_cols > COL_NETWORK)
      header[COL_NETWORK] = g_strdup (_("NETWORK"));
    g_ptr_array_add (rows, header);

    for (guint i = 0; i < n; i++)
      {
        g_autoptr(PlProfile) profile = g_list_model_get_item (model, i);
        char **row = g_new0 (char *, N_ALL_COLS + 1);
        const char *description = pl_profile_get_description (profile);
        const char *app = pl_profile_get_app (profile);

        row[COL_NAME] = g_strdup (pl_profile_get_name (profile));
        row[COL_PROTOCOL] = describe_protocol (profile);
        if (pl_profile_get_any_external_port (profile))
          row[COL_PUBLIC] = g_strdup (_("any"));
        else
          row[COL_PUBLIC] = pl_profile_get_external_port (profile) != 0
                            ? g_strdup_printf ("%u", pl_profile_get_external_port (profile))
                            : g_strdup (_("same"));
        row[COL_PRIVATE] = g_strdup_printf ("%u", pl_profile_get_internal_port (profile));
        row[COL_LIFETIME] = g_strdup_printf ("%u", pl_profile_get_lifetime (profile));
        row[COL_ENABLED] = g_strdup (pl_profile_get_enabled (profile) ? _("yes") : _("no"));
        row[COL_DESCRIPTION] = g_strdup (description != NULL ? description : "");
        if (n_cols > COL_APP)
          row[COL_APP] = g_strdup (app != NULL ? app : "");
        if (n_cols > COL_NETWORK)
          {
            row[COL_NETWORK] = pl_network_link_dup_name (pl_profile_get_network (profile));
            if (row[COL_NETWORK] == NULL)
              row[COL_NETWORK] = g_strdup ("");
          }
        g_ptr_array_add (rows, row);
      }

    for (guint r = 0; r < rows->len; r++)
      {
        char **row = g_ptr_array_index (rows, r);

        for (guint c = 0; c < n_cols; c++)
          widths[c] = MAX (widths[c], g_utf8_strlen (row[c], -1));
      }

    for (guint r = 0; r < rows->len; r++)
      {
        char **row = g_ptr_array_index (rows, r);
        g_autoptr(GString) line = g_string_new (NULL);

        for (guint c = 0; c < n_cols; c++)
          {
            g_string_append (line, row[c]);
            if (c + 1 < n_cols)
              {
                glong pad = widths[c] - g_utf8_strlen (row[c], -1) + 2;

                for (glong k = 0; k < pad; k++)
                  g_string_append_c (line, ' ');
              }
          }
        while (line->len > 0 && line->str[line->len - 1] == ' ')
          g_string_truncate (line, line->len - 1);
        g_print ("%s\n", line->str);
      }
  }

  return PL_EXIT_OK;
}

/* The options of a command that takes one profile NAME, and that NAME: exactly one. */
static int
parse_name_options (Ctx                 *ctx,
                    const GOptionEntry  *entries,
                    const char          *summary,
                    int                 *argc,
                    char              ***argv)
{
  int status;

  ctx->parameters = _("NAME");
  status = parse_options (ctx, entries, summary, argc, argv);
  if (status != PL_EXIT_OK)
    return status;
  if (*argc < 2)
    return usage_error (ctx, _("Missing NAME"));
  if (*argc > 2)
    return usage_error (ctx, _("Unexpected argument “%s”"), (*argv)[2]);

  return PL_EXIT_OK;
}

static int
cmd_show (Ctx   *ctx,
          int    argc,
          char **argv)
{
  g_autofree char *public_port = NULL;
  PlProfile *profile;
  const char *description;
  int status;

  status = parse_name_options (ctx, NULL, _("Show one profile."), &argc, &argv);
  if (status != PL_EXIT_OK)
    return status;

  status = open_store (ctx);
  if (status != PL_EXIT_OK)
    return status;

  profile = find_profile (ctx, argv[1], &status);
  if (profile == NULL)
    return status;

  if (ctx->json)
    {
      print_json_profile (profile);
      return PL_EXIT_OK;
    }

  public_port = describe_public_port (profile);
  description = pl_profile_get_description (profile);
  g_print (_("Name:          %s\n"), pl_profile_get_name (profile));
  g_print (_("Protocol:      %s\n"), protocol_label (profile));
  g_print (_("Family:        %s\n"), family_label (profile));
  g_print (_("Public port:   %s\n"), public_port);
  g_print (_("Private port:  %u\n"), pl_profile_get_internal_port (profile));
  g_print (_("Lifetime:      %u s\n"), pl_profile_get_lifetime (profile));
  g_print (_("Enabled:       %s\n"), pl_profile_get_enabled (profile) ? _("yes") : _("no"));
  if (description != NULL)
    g_print (_("Description:   %s\n"), description);
  if (pl_profile_get_on_port_change (profile) != NULL)
    g_print (_("On port change: %s\n"), pl_profile_get_on_port_change (profile));
  if (pl_profile_get_app (profile) != NULL)
    g_print (_("App:           %s (mapped only while it runs)\n"), pl_profile_get_app (profile));
  if (pl_profile_get_gateway (profile) != NULL)
    g_print (_("Gateway:       %s\n"), pl_profile_get_gateway (profile));
  if (pl_profile_get_network (profile) != NULL)
    g_print (_("Network:       %s (mapped only on it)\n"), pl_profile_get_network (profile));

  return PL_EXIT_OK;
}

static int
cmd_add (Ctx   *ctx,
         int    argc,
         char **argv)
{
  g_autoptr(PlProfile) profile = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *lifetime = NULL;
  g_autofree char *description = NULL;
  g_autofree char *on_port_change = NULL;
  g_autofree char *app = NULL;
  g_autofree char *gateway = NULL;
  g_autofree char *network = NULL;
  g_autofree char *network_value = NULL;
  gboolean udp = FALSE;
  gboolean tcp = FALSE;
  gboolean both = FALSE;
  gboolean ipv4 = FALSE;
  gboolean ipv6 = FALSE;
  gboolean both_families = FALSE;
  gboolean disabled = FALSE;
  PlProfileProtocol protocol = PL_PROFILE_PROTOCOL_TCP;
  PlProfileFamily family = PL_PROFILE_FAMILY_BOTH;
  int status;
  const GOptionEntry entries[] = {
    { "udp", 'u', 0, G_OPTION_ARG_NONE, &udp, N_("Map UDP"), NULL },
    { "tcp", 't', 0, G_OPTION_ARG_NONE, &tcp, N_("Map TCP (the default; with -u, both)"),
      NULL },
    { "both", 0, 0, G_OPTION_ARG_NONE, &both, N_("Map TCP and UDP"), NULL },
    { "ipv4", '4', 0, G_OPTION_ARG_NONE, &ipv4,
      N_("Map on the router's public IPv4 address only"), NULL },
    { "ipv6", '6', 0, G_OPTION_ARG_NONE, &ipv6,
      N_("Open an IPv6 pinhole only (PCP over IPv6)"), NULL },
    { "both-families", 0, 0, G_OPTION_ARG_NONE, &both_families,
      N_("Map on the public IPv4 address and, where the router allows it, open an IPv6 "
         "pinhole (the default)"), NULL },
    { "lifetime", 'l', 0, G_OPTION_ARG_STRING, &lifetime,
      N_("Ask for a lifetime of SECONDS (1-86400, default 7200)"), N_("SECONDS") },
    { "disabled", 0, 0, G_OPTION_ARG_NONE, &disabled,
      N_("Add the profile switched off"), NULL },
    { "description", 'd', 0, G_OPTION_ARG_STRING, &description,
      N_("Describe the profile"), N_("TEXT") },
    { "on-port-change", 0, 0, G_OPTION_ARG_STRING, &on_port_change,
      N_("Run COMMAND when the public port granted is first known or changes (no shell; %p "
         "public port, %a public address, %P protocol, %% a percent sign)"), N_("COMMAND") },
    { "app", 0, 0, G_OPTION_ARG_STRING, &app,
      N_("Map the profile only while APP runs: app:ID (a desktop application id), "
         "process:NAME (a process name) or unit:NAME (a systemd user unit)"), N_("APP") },
    { "gateway", 0, 0, G_OPTION_ARG_STRING, &gateway,
      N_("Map on GATEWAY: “default” (whatever the default route is, the default), “vpn” "
         "(the VPN tunnel's gateway) or an IPv4 address such as the home router's"),
      N_("GATEWAY") },
    { "network", 0, 0, G_OPTION_ARG_STRING, &network,
      N_("Map the profile only on network NETWORK: a name other profiles use, or a new name "
         "for the network this computer is on now (see “portlightctl network”)"),
      N_("NETWORK") },
    G_OPTION_ENTRY_NULL
  };

  ctx->parameters = _("NAME PUBLIC_PORT PRIVATE_PORT");
  status = parse_options (ctx, entries,
                          _("Add a profile: forward PUBLIC_PORT of the router to PRIVATE_PORT "
                            "of this computer\nwhenever the profile is enabled. PUBLIC_PORT 0 "
                            "asks for the same port as PRIVATE_PORT;\n“any” takes the port the "
                            "router chooses (VPN port forwarding)."),
                          &argc, &argv);
  if (status != PL_EXIT_OK)
    return status;
  if (!check_family_flags (ctx, ipv4, ipv6, both_families, &status))
    return status;
  if (argc < 2)
    return usage_error (ctx, _("Missing NAME, PUBLIC_PORT and PRIVATE_PORT"));
  if (argc < 3)
    return usage_error (ctx, _("Missing PUBLIC_PORT and PRIVATE_PORT"));
  if (argc < 4)
    return usage_error (ctx, _("Missing PRIVATE_PORT"));
  if (argc > 4)
    return usage_error (ctx, _("Unexpected argument “%s”"), argv[4]);

  profile = pl_profile_new (argv[1]);
  if (!pl_profile_validate_name (argv[1], &error))
    return fail (ctx, error);
  protocol_from_flags (udp, tcp, both, &protocol);
  pl_profile_set_protocol (profile, protocol);
  family_from_flags (ipv4, ipv6, both_families, &family);
  pl_profile_set_family (profile, family);
  pl_profile_set_enabled (profile, !disabled);
  if (!set_value (ctx, profile, PL_PROFILE_KEY_EXTERNAL_PORT, argv[2], &status)
      || !set_value (ctx, profile, PL_PROFILE_KEY_INTERNAL_PORT, argv[3], &status)
      || !set_value (ctx, profile, PL_PROFILE_KEY_LIFETIME, lifetime, &status)
      || !set_value (ctx, profile, PL_PROFILE_KEY_DESCRIPTION, description, &status)
      || !set_value (ctx, profile, PL_PROFILE_KEY_ON_PORT_CHANGE, on_port_change, &status)
      || !set_value (ctx, profile, PL_PROFILE_KEY_APP, app, &status)
      || !set_value (ctx, profile, PL_PROFILE_KEY_GATEWAY, gateway, &status))
    return status;

  status = open_store (ctx);
  if (status != PL_EXIT_OK)
    return status;
  if (network != NULL)
    {
      network_value = pl_cli_network_resolve (ctx->store, network, &error);
      if (network_value == NULL)
        return fail (ctx, error);
      if (!set_value (ctx, profile, PL_PROFILE_KEY_NETWORK, network_value, &status))
        return status;
    }

  status = find_engine (ctx);
  if (status != PL_EXIT_OK)
    return status;
  if (!pl_profile_store_add (ctx->store, profile, &error))
    return fail (ctx, error);
  status = commit_change (ctx, CHANGE_ADD, argv[1], profile);
  if (status != PL_EXIT_OK)
    return status;

  if (ctx->json)
    print_json_profile (pl_profile_store_lookup (ctx->store, argv[1]));
  else
    print_summary (_("Added profile"), profile);
  return PL_EXIT_OK;
}

static int
cmd_edit (Ctx   *ctx,
          int    argc,
          char **argv)
{
  g_autoptr(PlProfile) changed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *lifetime = NULL;
  g_autofree char *description = NULL;
  g_autofree char *new_name = NULL;
  g_autofree char *public_port = NULL;
  g_autofree char *private_port = NULL;
  g_autofree char *on_port_change = NULL;
  g_autofree char *app = NULL;
  g_autofree char *gateway = NULL;
  g_autofree char *network = NULL;
  g_autofree char *network_value = NULL;
  gboolean udp = FALSE;
  gboolean tcp = FALSE;
  gboolean both = FALSE;
  gboolean ipv4 = FALSE;
  gboolean ipv6 = FALSE;
  gboolean both_families = FALSE;
  gboolean enabled = FALSE;
  gboolean disabled = FALSE;
  PlProfileProtocol protocol;
  PlProfileFamily family;
  PlProfile *profile;
  int status;
  const GOptionEntry entries[] = {
    { "udp", 'u', 0, G_OPTION_ARG_NONE, &udp, N_("Map UDP"), NULL },
    { "tcp", 't', 0, G_OPTION_ARG_NONE, &tcp, N_("Map TCP (with -u, both)"), NULL },
    { "both", 0, 0, G_OPTION_ARG_NONE, &both, N_("Map TCP and UDP"), NULL },
    { "ipv4", '4', 0, G_OPTION_ARG_NONE, &ipv4,
      N_("Map on the router's public IPv4 address only"), NULL },
    { "ipv6", '6', 0, G_OPTION_ARG_NONE, &ipv6,
      N_("Open an IPv6 pinhole only (PCP over IPv6)"), NULL },
    { "both-families", 0, 0, G_OPTION_ARG_NONE, &both_families,
      N_("Map on the public IPv4 address and, where the router allows it, open an IPv6 "
         "pinhole"), NULL },
    { "lifetime", 'l', 0, G_OPTION_ARG_STRING, &lifetime,
      N_("Ask for a lifetime of SECONDS (1-86400)"), N_("SECONDS") },
    { "enabled", 0, 0, G_OPTION_ARG_NONE, &enabled, N_("Switch the profile on"), NULL },
    { "disabled", 0, 0, G_OPTION_ARG_NONE, &disabled, N_("Switch the profile off"), NULL },
    { "description", 'd', 0, G_OPTION_ARG_STRING, &description,
      N_("Describe the profile (\"\" removes the description)"), N_("TEXT") },
    { "name", 0, 0, G_OPTION_ARG_STRING, &new_name, N_("Rename the profile"), N_("NEWNAME") },
    { "public-port", 0, 0, G_OPTION_ARG_STRING, &public_port,
      N_("Ask for public port PORT (0 = the same as the private port, “any” = the port the "
         "router chooses)"), N_("PORT") },
    { "on-port-change", 0, 0, G_OPTION_ARG_STRING, &on_port_change,
      N_("Run COMMAND when the public port granted changes (\"\" removes it)"),
      N_("COMMAND") },
    { "gateway", 0, 0, G_OPTION_ARG_STRING, &gateway,
      N_("Map on GATEWAY: “default”, “vpn” or an IPv4 address (\"\" removes it: the default "
         "route)"), N_("GATEWAY") },
    { "private-port", 0, 0, G_OPTION_ARG_STRING, &private_port,
      N_("Forward to port PORT of this computer"), N_("PORT") },
    { "app", 0, 0, G_OPTION_ARG_STRING, &app,
      N_("Map the profile only while APP runs (app:ID, process:NAME or unit:NAME; \"\" maps "
         "it whenever it is enabled)"), N_("APP") },
    { "network", 0, 0, G_OPTION_ARG_STRING, &network,
      N_("Map the profile only on network NETWORK (a name other profiles use, or a new name "
         "for the network this computer is on now; \"\" maps it on any network)"),
      N_("NETWORK") },
    G_OPTION_ENTRY_NULL
  };

  status = parse_name_options (ctx, entries,
                               _("Change a profile: only the values given change."),
                               &argc, &argv);
  if (status != PL_EXIT_OK)
    return status;
  if (enabled && disabled)
    return usage_error (ctx, _("--enabled and --disabled cannot be used together"));
  if (!check_family_flags (ctx, ipv4, ipv6, both_families, &status))
    return status;
  if (!udp && !tcp && !both && !ipv4 && !ipv6 && !both_families && !enabled && !disabled
      && lifetime == NULL && description == NULL && new_name == NULL && public_port == NULL
      && private_port == NULL && on_port_change == NULL && app == NULL && gateway == NULL
      && network == NULL)
    return usage_error (ctx, _("Nothing to change: give at least one option"));

  status = open_store (ctx);
  if (status != PL_EXIT_OK)
    return status;

  profile = find_profile (ctx, argv[1], &status);
  if (profile == NULL)
    return status;

  changed = pl_profile_copy (profile);
  if (new_name != NULL)
    {
      if (!pl_profile_validate_name (new_name, &error))
        return fail (ctx, error);
      pl_profile_set_name (changed, new_name);
    }
  if (protocol_from_flags (udp, tcp, both, &protocol))
    pl_profile_set_protocol (changed, protocol);
  if (family_from_flags (ipv4, ipv6, both_families, &family))
    pl_profile_set_family (changed, family);
  if (enabled || disabled)
    pl_profile_set_enabled (changed, enabled);
  if (!set_value (ctx, changed, PL_PROFILE_KEY_EXTERNAL_PORT, public_port, &status)
      || !set_value (ctx, changed, PL_PROFILE_KEY_INTERNAL_PORT, private_port, &status)
      || !set_value (ctx, changed, PL_PROFILE_KEY_LIFETIME, lifetime, &status)
      || !set_value (ctx, changed, PL_PROFILE_KEY_DESCRIPTION, description, &status)
      || !set_value (ctx, changed, PL_PROFILE_KEY_ON_PORT_CHANGE, on_port_change, &status)
      || !set_value (ctx, changed, PL_PROFILE_KEY_APP, app, &status)
      || !set_value (ctx, changed, PL_PROFILE_KEY_GATEWAY, gateway, &status))
    return status;
  if (network != NULL)
    {
      network_value = pl_cli_network_resolve (ctx->store, network, &error);
      if (network_value == NULL)
        return fail (ctx, error);
      if (!set_value (ctx, changed, PL_PROFILE_KEY_NETWORK, network_value, &status))
        return status;
    }

  status = find_engine (ctx);
  if (status != PL_EXIT_OK)
    return status;
  if (!pl_profile_store_replace (ctx->store, argv[1], changed, &error))
    return fail (ctx, error);
  status = commit_change (ctx, CHANGE_EDIT, argv[1], changed);
  if (status != PL_EXIT_OK)
    return status;

  if (ctx->json)
    print_json_profile (profile);
  else
    print_summary (_("Changed profile"), profile);
  return PL_EXIT_OK;
}

static int
cmd_remove (Ctx   *ctx,
            int    argc,
            char **argv)
{
  g_autoptr(GError) error = NULL;
  int status;

  status = parse_name_options (ctx, NULL, _("Remove a profile."), &argc, &argv);
  if (status != PL_EXIT_OK)
    return status;

  status = open_store (ctx);
  if (status != PL_EXIT_OK)
    return status;

  /* A profile with errors in the file can be removed too. */
  if (!pl_profile_store_has_name (ctx->store, argv[1]))
    {
      error = g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("No profile named “%s” in “%s”"),
                           argv[1], pl_profile_store_get_path (ctx->store));
      return fail (ctx, error);
    }
  status = find_engine (ctx);
  if (status != PL_EXIT_OK)
    return status;
  if (!pl_profile_store_remove (ctx->store, argv[1], &error))
    return fail (ctx, error);
  status = commit_change (ctx, CHANGE_REMOVE, argv[1], NULL);
  if (status != PL_EXIT_OK)
    return status;

  if (ctx->json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      pl_cli_json_add_string (builder, "removed", argv[1]);
      pl_cli_print_json_object (builder);
    }
  else
    {
      g_print (_("Removed profile “%s”\n"), argv[1]);
    }
  return PL_EXIT_OK;
}

static int
cmd_set_enabled (Ctx      *ctx,
                 int       argc,
                 char    **argv,
                 gboolean  enabled)
{
  g_autoptr(GError) error = NULL;
  PlProfile *profile;
  int status;

  status = parse_name_options (ctx, NULL,
                               enabled ? _("Enable a profile: its mapping is kept open.")
                                       : _("Disable a profile: its mapping is removed."),
                               &argc, &argv);
  if (status != PL_EXIT_OK)
    return status;

  status = open_store (ctx);
  if (status != PL_EXIT_OK)
    return status;

  profile = find_profile (ctx, argv[1], &status);
  if (profile == NULL)
    return status;

  status = find_engine (ctx);
  if (status != PL_EXIT_OK)
    return status;
  if (!pl_profile_store_set_enabled (ctx->store, argv[1], enabled, &error))
    return fail (ctx, error);
  status = commit_change (ctx, enabled ? CHANGE_ENABLE : CHANGE_DISABLE, argv[1], NULL);
  if (status != PL_EXIT_OK)
    return status;

  if (ctx->json)
    print_json_profile (profile);
  else if (enabled)
    g_print (_("Enabled profile “%s”\n"), argv[1]);
  else
    g_print (_("Disabled profile “%s”\n"), argv[1]);
  return PL_EXIT_OK;
}

static int
cmd_enable (Ctx   *ctx,
            int    argc,
            char **argv)
{
  return cmd_set_enabled (ctx, argc, argv, TRUE);
}

static int
cmd_disable (Ctx   *ctx,
             int    argc,
             char **argv)
{
  return cmd_set_enabled (ctx, argc, argv, FALSE);
}

typedef int (*CommandFunc) (Ctx   *ctx,
                            int    argc,
                            char **argv);

static const struct
{
  const char  *name;
  CommandFunc  func;
} commands[] = {
  { "list", cmd_list },
  { "show", cmd_show },
  { "add", cmd_add },
  { "edit", cmd_edit },
  { "remove", cmd_remove },
  { "enable", cmd_enable },
  { "disable", cmd_disable },
};

/**
 * pl_cli_profiles_main:
 * @argc: the number of arguments
 * @argv: the arguments, argv[0] being "profiles"
 *
 * `portlightctl profiles [--file PATH] [--json] COMMAND …`.
 *
 * Returns: a #PlExitCode
 */
int
pl_cli_profiles_main (int    argc,
                      char **argv)
{
  g_autoptr(Ctx) ctx = g_new0 (Ctx, 1);
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *file = NULL;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "file", 'f', 0, G_OPTION_ARG_FILENAME, &file,
      N_("Use the profiles file PATH instead of the default one"), N_("PATH") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      N_("Print the result, or the error, as JSON on standard output"), NULL },
    { "no-broker", 0, 0, G_OPTION_ARG_NONE, &ctx->no_broker,
      N_("Write the file from this process even where Portlight's engine could (refused "
         "while the engine runs)"), NULL },
    G_OPTION_ENTRY_NULL
  };
  char *default_argv[] = { (char *) "list", NULL };
  const char *command;

  ctx->prgname = g_strdup (PROGRAM_NAME);
  ctx->parameters = _("COMMAND [ARGUMENT…]");

  /* Options given before the command (portlightctl profiles --file X list) apply to it. */
  g_set_prgname (PROGRAM_NAME);
  context = g_option_context_new (ctx->parameters);
  g_option_context_set_strict_posix (context, TRUE);
  g_option_context_set_summary (context, _("Manage profiles: named port mappings that a "
                                           "running Portlight keeps open while enabled."));
  g_option_context_set_description (context, commands_help ());
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      ctx->json = json;
      return usage_error (ctx, "%s", error->message);
    }

  ctx->file = g_steal_pointer (&file);
  ctx->json = json;

  /* No command: list. */
  if (argc < 2)
    {
      argc = 1;
      argv = default_argv;
    }
  else
    {
      argc--;
      argv++;
    }
  command = argv[0];

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (!g_str_equal (command, commands[i].name))
        continue;

      g_free (ctx->prgname);
      ctx->prgname = g_strdup_printf ("%s %s", PROGRAM_NAME, command);
      return commands[i].func (ctx, argc, argv);
    }

  return usage_error (ctx, _("Unknown command “%s”"), command);
}
