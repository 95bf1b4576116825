/* pl-app-link.c: the App= key of a profile, the application a profile is tied to
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "pl-app-link.h"
#include "pl-error.h"

/* A desktop application id, as the Desktop Entry Specification wants a D-Bus well-known name:
 * elements of [A-Za-z0-9_-] separated by dots, at least two, none empty or starting with a
 * digit. (Ids of .desktop files in subfolders, "kde-foo.desktop", have no dot and are not
 * what desktops put into scope names; they are refused.) */
static gboolean
is_app_id (const char *id)
{
  gboolean element_start = TRUE;
  guint dots = 0;

  if (*id == '\0' || strlen (id) > PL_APP_LINK_MAX_NAME)
    return FALSE;
  for (const char *p = id; *p != '\0'; p++)
    {
      if (*p == '.')
        {
          if (element_start)
            return FALSE;
          dots++;
          element_start = TRUE;
          continue;
        }
      if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-')
        return FALSE;
      if (element_start && g_ascii_isdigit (*p))
        return FALSE;
      element_start = FALSE;
    }
  return dots > 0 && !element_start;
}

/* A process name: printable UTF-8, no "/", no white space at either end. */
static gboolean
is_process_name (const char *name)
{
  if (*name == '\0' || strlen (name) > PL_APP_LINK_MAX_NAME || strchr (name, '/') != NULL)
    return FALSE;
  if (!g_utf8_validate (name, -1, NULL))
    return FALSE;
  if (g_ascii_isspace (name[0]) || g_ascii_isspace (name[strlen (name) - 1]))
    return FALSE;
  for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      return FALSE;
  return TRUE;
}

/* A unit name as systemd accepts it: [A-Za-z0-9:_.\@-], ending in a unit type. */
static gboolean
is_unit_name (const char *name)
{
  static const char * const types[] = {
    ".service", ".socket", ".target", ".timer", ".path", ".scope", ".slice", ".mount",
    ".automount", ".swap", ".device",
  };
  const char *dot;

  if (*name == '\0' || *name == '.' || strlen (name) > PL_APP_LINK_MAX_NAME)
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr (":-_.\\@", *p) == NULL)
      return FALSE;
  dot = strrchr (name, '.');
  if (dot == NULL || dot == name)
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    if (strcmp (dot, types[i]) == 0)
      return TRUE;
  return FALSE;
}

gboolean
pl_app_link_parse (const char     *profile,
                   const char     *text,
                   PlAppLinkKind  *kind,
                   const char    **name,
                   GError        **error)
{
  PlAppLinkKind found;
  const char *rest;

  g_return_val_if_fail (profile != NULL, FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  if (g_str_has_prefix (text, PL_APP_LINK_PREFIX_APP))
    {
      found = PL_APP_LINK_APP;
      rest = text + strlen (PL_APP_LINK_PREFIX_APP);
      if (g_str_has_suffix (rest, ".desktop"))
        {
          g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                       _("Profile “%s”: App “%s”: give the application id without "
                         "“.desktop”"),
                       profile, text);
          return FALSE;
        }
      if (!is_app_id (rest))
        {
          g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                       _("Profile “%s”: App “%s” is not a desktop application id (like "
                         "app:org.example.App)"),
                       profile, text);
          return FALSE;
        }
    }
  else if (g_str_has_prefix (text, PL_APP_LINK_PREFIX_PROCESS))
    {
      found = PL_APP_LINK_PROCESS;
      rest = text + strlen (PL_APP_LINK_PREFIX_PROCESS);
      if (!is_process_name (rest))
        {
          g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                       _("Profile “%s”: App “%s” is not a process name (1-255 bytes, no "
                         "“/”, no control characters, no spaces at either end)"),
                       profile, text);
          return FALSE;
        }
    }
  else if (g_str_has_prefix (text, PL_APP_LINK_PREFIX_UNIT))
    {
      found = PL_APP_LINK_UNIT;
      rest = text + strlen (PL_APP_LINK_PREFIX_UNIT);
      if (!is_unit_name (rest))
        {
          g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                       _("Profile “%s”: App “%s” is not a systemd unit name (like "
                         "unit:syncthing.service)"),
                       profile, text);
          return FALSE;
        }
    }
  else
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("Profile “%s”: App “%s” does not say what it names: write app:ID, "
                     "process:NAME or unit:NAME"),
                   profile, text);
      return FALSE;
    }

  if (kind != NULL)
    *kind = found;
  if (name != NULL)
    *name = rest;
  return TRUE;
}

char *
pl_app_link_format (PlAppLinkKind  kind,
                    const char    *name)
{
  g_return_val_if_fail (name != NULL, NULL);

  switch (kind)
    {
    case PL_APP_LINK_APP:
      return g_strconcat (PL_APP_LINK_PREFIX_APP, name, NULL);
    case PL_APP_LINK_PROCESS:
      return g_strconcat (PL_APP_LINK_PREFIX_PROCESS, name, NULL);
    case PL_APP_LINK_UNIT:
      return g_strconcat (PL_APP_LINK_PREFIX_UNIT, name, NULL);
    default:
      g_return_val_if_reached (NULL);
    }
}
