/* pl-caller.c: who is calling the broker, from the bus's credentials
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>
#include <unistd.h>

#include <gio/gdesktopappinfo.h>

#include "pl-caller.h"

struct _PlCaller
{
  GObject   parent_instance;

  char     *bus_name;
  guint32   uid;
  guint32   pid;
  char     *process_name;
  char     *app_id;
  char     *display_name;
  gboolean  sandboxed;
  gboolean  profile;
};

G_DEFINE_FINAL_TYPE (PlCaller, pl_caller, G_TYPE_OBJECT)

static void
pl_caller_finalize (GObject *object)
{
  PlCaller *self = PL_CALLER (object);

  g_free (self->bus_name);
  g_free (self->process_name);
  g_free (self->app_id);
  g_free (self->display_name);

  G_OBJECT_CLASS (pl_caller_parent_class)->finalize (object);
}

static void
pl_caller_class_init (PlCallerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pl_caller_finalize;
}

static void
pl_caller_init (PlCaller *self)
{
}

/* systemd escapes "-" inside a unit name component as "\x2d". */
static char *
unescape_unit (const char *text)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++)
    {
      if (p[0] == '\\' && p[1] == 'x' && g_ascii_isxdigit (p[2]) && g_ascii_isxdigit (p[3]))
        {
          g_string_append_c (out, (char) (g_ascii_xdigit_value (p[2]) * 16 +
                                          g_ascii_xdigit_value (p[3])));
          p += 3;
        }
      else
        g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

char *
pl_caller_app_id_from_unit (const char *unit)
{
  g_autofree char *body = NULL;
  char *cut;
  const char *id;

  g_return_val_if_fail (unit != NULL, NULL);

  /* app[-<launcher>]-<ApplicationID>-<RANDOM>.scope or
   * app[-<launcher>]-<ApplicationID>[@<RANDOM>].service */
  if (!g_str_has_prefix (unit, "app-"))
    return NULL;
  if (g_str_has_suffix (unit, ".scope"))
    {
      body = g_strndup (unit + 4, strlen (unit) - 4 - strlen (".scope"));
      cut = strrchr (body, '-');
      if (cut == NULL)
        return NULL;
      *cut = '\0';
    }
  else if (g_str_has_suffix (unit, ".service"))
    {
      body = g_strndup (unit + 4, strlen (unit) - 4 - strlen (".service"));
      cut = strchr (body, '@');
      if (cut != NULL)
        *cut = '\0';
    }
  else
    return NULL;

  /* A launcher prefix is a word without dots before the first dash. */
  id = body;
  cut = strchr (body, '-');
  if (cut != NULL && memchr (body, '.', (gsize) (cut - body)) == NULL && cut[1] != '\0')
    id = cut + 1;
  if (*id == '\0' || strchr (id, '.') == NULL)
    return NULL;
  return unescape_unit (id);
}

static char *
read_small_file (const char *path)
{
  g_autofree char *contents = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &contents, &length, NULL))
    return NULL;
  if (length > 64 * 1024 || !g_utf8_validate (contents, (gssize) length, NULL))
    return NULL;
  return g_steal_pointer (&contents);
}

/* The app id from the last app unit in the cgroup v2 path ("0::/user.slice/…/x.scope"). */
static char *
app_id_from_cgroup (const char *cgroup)
{
  g_auto(GStrv) lines = g_strsplit (cgroup, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) parts = NULL;

      if (!g_str_has_prefix (lines[i], "0::"))
        continue;
      parts = g_strsplit (lines[i] + 3, "/", -1);
      for (guint j = g_strv_length (parts); j > 0; j--)
        {
          char *id = pl_caller_app_id_from_unit (parts[j - 1]);

          if (id != NULL)
            return id;
        }
    }
  return NULL;
}

static gboolean
is_printable_name (const char *text)
{
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      return FALSE;
  return TRUE;
}

PlCaller *
pl_caller_new_from_credentials (const char  *bus_name,
                                GVariant    *credentials,
                                const char  *proc_root,
                                GError     **error)
{
  g_autoptr(PlCaller) self = NULL;
  g_autofree char *pid_dir = NULL;
  g_autofree char *flatpak_info = NULL;
  guint32 uid = 0;
  guint32 pid = 0;

  g_return_val_if_fail (bus_name != NULL, NULL);
  g_return_val_if_fail (credentials != NULL &&
                        g_variant_is_of_type (credentials, G_VARIANT_TYPE_VARDICT), NULL);

  if (!g_variant_lookup (credentials, "UnixUserID", "u", &uid))
    {
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
                   "The bus does not say which user %s belongs to", bus_name);
      return NULL;
    }
  g_variant_lookup (credentials, "ProcessID", "u", &pid);

  self = g_object_new (PL_TYPE_CALLER, NULL);
  self->bus_name = g_strdup (bus_name);
  self->uid = uid;
  self->pid = pid;

  if (pid != 0)
    {
      g_autofree char *info_path = NULL;

      pid_dir = g_strdup_printf ("%s/%u", proc_root != NULL ? proc_root : "/proc", pid);
      info_path = g_build_filename (pid_dir, "root", ".flatpak-info", NULL);
      flatpak_info = read_small_file (info_path);
    }

  if (flatpak_info != NULL)
    {
      g_autoptr(GKeyFile) key_file = g_key_file_new ();
      g_autofree char *name = NULL;

      /* A .flatpak-info we cannot read still means a sandbox: never less confined. */
      self->sandboxed = TRUE;
      self->pid = 0;
      if (g_key_file_load_from_data (key_file, flatpak_info, (gsize) -1, G_KEY_FILE_NONE, NULL))
        name = g_key_file_get_string (key_file, "Application", "name", NULL);
      if (name != NULL && g_dbus_is_name (name) && !g_dbus_is_unique_name (name))
        self->app_id = g_steal_pointer (&name);
    }
  else if (pid_dir != NULL)
    {
      g_autofree char *cgroup_path = g_build_filename (pid_dir, "cgroup", NULL);
      g_autofree char *comm_path = g_build_filename (pid_dir, "comm", NULL);
      g_autofree char *cgroup = read_small_file (cgroup_path);
      g_autofree char *comm = read_small_file (comm_path);

      if (cgroup != NULL)
        self->app_id = app_id_from_cgroup (cgroup);
      if (comm != NULL)
        {
          g_strchomp (comm);
          if (is_printable_name (comm))
            self->process_name = g_steal_pointer (&comm);
        }
    }

  if (self->app_id == NULL)
    self->app_id = g_strdup ("");
  if (self->process_name == NULL)
    self->process_name = g_strdup ("");

  if (self->app_id[0] != '\0')
    {
      g_autofree char *desktop_id = g_strconcat (self->app_id, ".desktop", NULL);
      g_autoptr(GDesktopAppInfo) info = g_desktop_app_info_new (desktop_id);

      if (info != NULL)
        self->display_name = g_strdup (g_app_info_get_display_name (G_APP_INFO (info)));
      if (self->display_name == NULL)
        self->display_name = g_strdup (self->app_id);
    }
  else
    self->display_name = g_strdup (self->process_name);

  return g_steal_pointer (&self);
}

PlCaller *
pl_caller_new_for_profile (const char *profile_name)
{
  PlCaller *self;

  g_return_val_if_fail (profile_name != NULL, NULL);

  self = g_object_new (PL_TYPE_CALLER, NULL);
  self->profile = TRUE;
  self->bus_name = g_strdup ("");
  self->uid = (guint32) getuid ();
  self->process_name = g_strdup ("");
  self->app_id = g_strdup ("");
  self->display_name = g_strdup (profile_name);
  return self;
}

const char *
pl_caller_get_bus_name (PlCaller *self)
{
  g_return_val_if_fail (PL_IS_CALLER (self), NULL);
  return self->bus_name;
}

guint32
pl_caller_get_uid (PlCaller *self)
{
  g_return_val_if_fail (PL_IS_CALLER (self), 0);
  return self->uid;
}

guint32
pl_caller_get_pid (PlCaller *self)
{
  g_return_val_if_fail (PL_IS_CALLER (self), 0);
  return self->pid;
}

const char *
pl_caller_get_process_name (PlCaller *self)
{
  g_return_val_if_fail (PL_IS_CALLER (self), NULL);
  return self->process_name;
}

const char *
pl_caller_get_app_id (PlCaller *self)
{
  g_return_val_if_fail (PL_IS_CALLER (self), NULL);
  return self->app_id;
}

gboolean
pl_caller_get_sandboxed (PlCaller *self)
{
  g_return_val_if_fail (PL_IS_CALLER (self), TRUE);
  return self->sandboxed;
}

const char *
pl_caller_get_display_name (PlCaller *self)
{
  g_return_val_if_fail (PL_IS_CALLER (self), NULL);
  return self->display_name;
}

const char *
pl_caller_get_kind (PlCaller *self)
{
  g_return_val_if_fail (PL_IS_CALLER (self), NULL);
  if (self->profile)
    return "profile";
  return !self->sandboxed && g_strcmp0 (self->process_name, "portlightctl") == 0 ? "cli" : "app";
}

GVariant *
pl_caller_to_variant (PlCaller *self)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  g_return_val_if_fail (PL_IS_CALLER (self), NULL);

  g_variant_builder_add (&builder, "{sv}", "kind", g_variant_new_string (pl_caller_get_kind (self)));
  g_variant_builder_add (&builder, "{sv}", "bus_name", g_variant_new_string (self->bus_name));
  g_variant_builder_add (&builder, "{sv}", "app_id", g_variant_new_string (self->app_id));
  g_variant_builder_add (&builder, "{sv}", "sandboxed", g_variant_new_boolean (self->sandboxed));
  g_variant_builder_add (&builder, "{sv}", "pid", g_variant_new_uint32 (self->pid));
  g_variant_builder_add (&builder, "{sv}", "display_name",
                         g_variant_new_string (self->display_name));
  g_variant_builder_add (&builder, "{sv}", "process_name",
                         g_variant_new_string (self->process_name));
  return g_variant_builder_end (&builder);
}
