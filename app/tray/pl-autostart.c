/* pl-autostart.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "pl-autostart.h"

#define DESKTOP_GROUP "Desktop Entry"

char *
pl_autostart_get_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "autostart", APP_ID ".desktop", NULL);
}

/* TRUE if @path is an entry that is switched on; FALSE if missing or switched off. */
static gboolean
entry_is_on (const char *path,
             gboolean   *exists)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *enabled = NULL;

  *exists = FALSE;
  if (!g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, &error))
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          /* It is there but unreadable: it hides a system entry like any other file. */
          *exists = g_file_test (path, G_FILE_TEST_EXISTS);
          g_debug ("Autostart entry %s: %s", path, error->message);
        }
      return FALSE;
    }

  *exists = TRUE;
  if (g_key_file_get_boolean (key_file, DESKTOP_GROUP, "Hidden", NULL))
    return FALSE;
  enabled = g_key_file_get_value (key_file, DESKTOP_GROUP, "X-GNOME-Autostart-enabled", NULL);
  if (enabled != NULL && g_strcmp0 (g_strstrip (enabled), "false") == 0)
    return FALSE;
  return TRUE;
}

static char *
find_system_entry (void)
{
  const char * const *dirs = g_get_system_config_dirs ();

  for (guint i = 0; dirs[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (dirs[i], "autostart", APP_ID ".desktop", NULL);

      if (g_file_test (path, G_FILE_TEST_EXISTS))
        return g_steal_pointer (&path);
    }
  return NULL;
}

gboolean
pl_autostart_is_enabled (void)
{
  g_autofree char *path = pl_autostart_get_path ();
  g_autofree char *system_path = NULL;
  gboolean exists;
  gboolean on;

  on = entry_is_on (path, &exists);
  if (exists)
    return on;

  system_path = find_system_entry ();
  return system_path != NULL && entry_is_on (system_path, &exists);
}

/* Quotes one argument of an Exec key (Desktop Entry Specification, "The Exec key"). */
static void
append_exec_argument (GString    *exec,
                      const char *arg)
{
  gboolean plain = *arg != '\0';

  for (const char *p = arg; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && strchr ("-_./+,:=@", *p) == NULL)
        {
          plain = FALSE;
          break;
        }
    }

  if (exec->len > 0)
    g_string_append_c (exec, ' ');

  if (plain)
    {
      g_string_append (exec, arg);
      return;
    }

  g_string_append_c (exec, '"');
  for (const char *p = arg; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '`' || *p == '$' || *p == '\\')
        g_string_append_c (exec, '\\');
      if (*p == '%')
        g_string_append_c (exec, '%');
      g_string_append_c (exec, *p);
    }
  g_string_append_c (exec, '"');
}

char *
pl_autostart_build_entry (const char *exec)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GString) command = g_string_new (NULL);

  g_return_val_if_fail (exec != NULL, NULL);

  append_exec_argument (command, exec);
  append_exec_argument (command, "--background");

  g_key_file_set_string (key_file, DESKTOP_GROUP, "Type", "Application");
  g_key_file_set_string (key_file, DESKTOP_GROUP, "Name", "Portlight");
  g_key_file_set_string (key_file, DESKTOP_GROUP, "Comment",
                         _("Keep the ports of your enabled profiles open on the router"));
  g_key_file_set_string (key_file, DESKTOP_GROUP, "Exec", command->str);
  g_key_file_set_string (key_file, DESKTOP_GROUP, "Icon", APP_ID);
  g_key_file_set_boolean (key_file, DESKTOP_GROUP, "Terminal", FALSE);
  g_key_file_set_boolean (key_file, DESKTOP_GROUP, "NoDisplay", TRUE);
  g_key_file_set_boolean (key_file, DESKTOP_GROUP, "X-GNOME-Autostart-enabled", TRUE);
  return g_key_file_to_data (key_file, NULL, NULL);
}

char *
pl_autostart_get_program (void)
{
  g_autofree char *self_path = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *installed = g_build_filename (PL_BINDIR, "portlight", NULL);

  if (self_path == NULL || g_strcmp0 (self_path, installed) == 0)
    return g_strdup ("portlight");
  return g_steal_pointer (&self_path);
}

gboolean
pl_autostart_set_enabled (gboolean     enabled,
                          const char  *template_path,
                          GError     **error)
{
  g_autofree char *path = pl_autostart_get_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *contents = NULL;
  g_autofree char *system_path = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!enabled)
    {
      system_path = find_system_entry ();
      if (system_path == NULL)
        {
          if (g_unlink (path) != 0 && errno != ENOENT)
            {
              int saved_errno = errno;

              g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                           _("Cannot remove “%s”: %s"), path, g_strerror (saved_errno));
              return FALSE;
            }
          return TRUE;
        }
      /* Mask the system-wide entry. */
      contents = g_strdup ("[" DESKTOP_GROUP "]\nType=Application\nName=Portlight\n"
                           "Exec=portlight --background\nHidden=true\n");
    }
  else if (template_path != NULL && g_file_test (template_path, G_FILE_TEST_IS_REGULAR))
    {
      if (!g_file_get_contents (template_path, &contents, NULL, error))
        return FALSE;
    }
  else
    {
      g_autofree char *program = pl_autostart_get_program ();

      contents = pl_autostart_build_entry (program);
    }

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   _("Cannot create the folder “%s”: %s"), dir, g_strerror (saved_errno));
      return FALSE;
    }
  return g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                   error);
}
