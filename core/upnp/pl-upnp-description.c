/* pl-upnp-description.c: the description Portlight gives its UPnP-IGD mappings
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "pl-upnp-description.h"

/* Printable ASCII, spaces for runs of whitespace, without parentheses (so the host part
 * stays the last parenthesised text). */
static char *
clean (const char *text)
{
  g_autofree char *ascii = NULL;
  GString *out = g_string_new (NULL);

  if (text == NULL)
    return g_string_free (out, FALSE);
  if (g_utf8_validate (text, -1, NULL))
    ascii = g_str_to_ascii (text, "C");
  else
    ascii = g_strdup (text);

  for (const char *p = ascii; *p != '\0'; p++)
    {
      char c = *p;

      if (g_ascii_isspace (c))
        c = ' ';
      else if (!g_ascii_isprint (c) || c == '(' || c == ')')
        c = '?';
      if (c == ' ' && (out->len == 0 || out->str[out->len - 1] == ' '))
        continue;
      g_string_append_c (out, c);
    }
  while (out->len > 0 && out->str[out->len - 1] == ' ')
    g_string_truncate (out, out->len - 1);
  return g_string_free (out, FALSE);
}

char *
pl_upnp_description_new (const char *label,
                         const char *hostname)
{
  g_autofree char *l = clean (label);
  g_autofree char *h = clean (hostname);
  gsize prefix = strlen (PL_UPNP_DESCRIPTION_PREFIX);
  gsize room;

  if (l[0] == '\0')
    {
      g_free (l);
      l = g_strdup ("mapping");
    }
  /* "Portlight: " + label + " (" + host + ")" */
  room = PL_UPNP_DESCRIPTION_MAX - prefix;
  if (h[0] != '\0')
    {
      if (strlen (l) + strlen (h) + 3 > room)
        {
          /* The host keeps at least half the room, or what the label leaves. */
          gsize host_max = MAX (room / 2 - 3, room - 3 - MIN (strlen (l), room - 3));

          if (strlen (h) > host_max)
            h[host_max] = '\0';
          g_strchomp (h);
          if (strlen (l) + strlen (h) + 3 > room)
            l[room - 3 - strlen (h)] = '\0';
        }
      return g_strdup_printf (PL_UPNP_DESCRIPTION_PREFIX "%s (%s)", g_strchomp (l), h);
    }
  if (strlen (l) > room)
    l[room] = '\0';
  return g_strdup_printf (PL_UPNP_DESCRIPTION_PREFIX "%s", g_strchomp (l));
}

gboolean
pl_upnp_description_is_ours (const char *description)
{
  return description != NULL && g_str_has_prefix (description, PL_UPNP_DESCRIPTION_PREFIX);
}

char *
pl_upnp_description_sanitize (const char *description)
{
  GString *out = g_string_new (NULL);

  for (const char *p = description; p != NULL && *p != '\0' && out->len < 80; p++)
    g_string_append_c (out, g_ascii_isprint (*p) ? *p : '?');
  return g_string_free (out, FALSE);
}
