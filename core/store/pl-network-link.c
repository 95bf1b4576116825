/* pl-network-link.c: the Network= key of a profile, the one network a profile is mapped on
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "pl-error.h"
#include "pl-ipv6-route.h"
#include "pl-network-link.h"

#define GATEWAY_FIELD "gateway="
#define SSID_FIELD    "ssid="

void
pl_network_link_free (PlNetworkLink *link)
{
  if (link == NULL)
    return;
  g_free (link->name);
  g_free (link->ssid);
  g_free (link);
}

static gboolean
has_control (const char *text)
{
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      return TRUE;
  return FALSE;
}

gboolean
pl_network_name_validate (const char  *name,
                          GError     **error)
{
  gsize len;

  g_return_val_if_fail (name != NULL, FALSE);

  len = strlen (name);
  if (len == 0 || len > PL_NETWORK_LINK_MAX_NAME || !g_utf8_validate (name, -1, NULL)
      || strchr (name, ';') != NULL || has_control (name)
      || g_ascii_isspace (name[0]) || g_ascii_isspace (name[len - 1]))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("“%s” cannot name a network: use 1-64 bytes, no “;”, no control "
                     "characters, no spaces at either end"),
                   name);
      return FALSE;
    }
  return TRUE;
}

gboolean
pl_network_mac_parse (const char *text,
                      guint8     *mac)
{
  guint8 out[PL_NETWORK_MAC_LEN];

  g_return_val_if_fail (text != NULL, FALSE);

  if (strlen (text) != 17)
    return FALSE;
  for (guint i = 0; i < PL_NETWORK_MAC_LEN; i++)
    {
      const char *p = text + 3 * i;
      int high = g_ascii_xdigit_value (p[0]);
      int low = g_ascii_xdigit_value (p[1]);

      if (high < 0 || low < 0)
        return FALSE;
      if (i + 1 < PL_NETWORK_MAC_LEN && p[2] != ':' && p[2] != '-')
        return FALSE;
      out[i] = (guint8) (high << 4 | low);
    }
  if (mac != NULL)
    memcpy (mac, out, sizeof out);
  return TRUE;
}

static gboolean
ssid_is_valid (const char *ssid)
{
  return *ssid != '\0' && strlen (ssid) <= PL_NETWORK_MAX_SSID
         && g_utf8_validate (ssid, -1, NULL) && strpbrk (ssid, "\n\r") == NULL;
}

/* Skips the "; " between fields. */
static const char *
skip_separator (const char *p)
{
  while (*p == ' ')
    p++;
  return p;
}

PlNetworkLink *
pl_network_link_parse (const char  *profile,
                       const char  *text,
                       GError     **error)
{
  g_autoptr(PlNetworkLink) link = NULL;
  g_autofree char *gateway = NULL;
  const char *semicolon;
  const char *p;
  gboolean have_gateway = FALSE;

  g_return_val_if_fail (profile != NULL, NULL);
  g_return_val_if_fail (text != NULL, NULL);

  link = g_new0 (PlNetworkLink, 1);
  semicolon = strchr (text, ';');
  link->name = semicolon != NULL ? g_strndup (text, semicolon - text) : g_strdup (text);
  g_strchomp (link->name);
  if (!pl_network_name_validate (link->name, NULL))
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("Profile “%s”: Network “%s” does not start with a network name (1-64 "
                     "bytes, no “;”, no control characters)"),
                   profile, text);
      return NULL;
    }

  for (p = semicolon; p != NULL && *p == ';';)
    {
      const char *next;

      p = skip_separator (p + 1);
      if (g_str_has_prefix (p, SSID_FIELD))
        {
          /* The SSID runs to the end: it may hold a ";". */
          p += strlen (SSID_FIELD);
          if (!ssid_is_valid (p))
            {
              g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                           _("Profile “%s”: Network “%s”: the SSID must be 1-32 bytes of "
                             "UTF-8 on one line"),
                           profile, text);
              return NULL;
            }
          link->ssid = g_strdup (p);
          p = NULL;
          break;
        }
      next = strchr (p, ';');
      if (g_str_has_prefix (p, GATEWAY_FIELD))
        {
          g_autofree char *mac = next != NULL ? g_strndup (p, next - p) : g_strdup (p);

          g_strchomp (mac);
          if (have_gateway || !pl_network_mac_parse (mac + strlen (GATEWAY_FIELD),
                                                      link->gateway))
            {
              g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                           _("Profile “%s”: Network “%s”: “%s” is not one MAC address "
                             "(like gateway=02:11:22:33:44:55)"),
                           profile, text, mac);
              return NULL;
            }
          have_gateway = TRUE;
        }
      else
        {
          g_autofree char *field = next != NULL ? g_strndup (p, next - p) : g_strdup (p);

          g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                       _("Profile “%s”: Network “%s”: unknown part “%s” (known: gateway=, "
                         "ssid=)"),
                       profile, text, g_strchomp (field));
          return NULL;
        }
      p = next;
    }

  if (!have_gateway)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID_ARGUMENT,
                   _("Profile “%s”: Network “%s” does not say how to know the network: "
                     "write NAME; gateway=MAC"),
                   profile, text);
      return NULL;
    }
  return g_steal_pointer (&link);
}

char *
pl_network_link_format (const char   *name,
                        const guint8 *gateway,
                        const char   *ssid)
{
  g_autofree char *mac = NULL;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (gateway != NULL, NULL);

  mac = pl_neighbour_format_mac (gateway);
  if (ssid != NULL && *ssid != '\0')
    return g_strdup_printf ("%s; " GATEWAY_FIELD "%s; " SSID_FIELD "%s", name, mac, ssid);
  return g_strdup_printf ("%s; " GATEWAY_FIELD "%s", name, mac);
}

char *
pl_network_link_dup_name (const char *text)
{
  const char *semicolon;
  char *name;

  if (text == NULL)
    return NULL;
  semicolon = strchr (text, ';');
  name = semicolon != NULL ? g_strndup (text, semicolon - text) : g_strdup (text);
  g_strchomp (name);
  if (*name == '\0')
    g_clear_pointer (&name, g_free);
  return name;
}

gboolean
pl_network_link_matches (const PlNetworkLink     *link,
                         const PlNetworkIdentity *current)
{
  g_return_val_if_fail (link != NULL, FALSE);
  g_return_val_if_fail (current != NULL, FALSE);

  if (!current->has_gateway || memcmp (link->gateway, current->gateway, PL_NETWORK_MAC_LEN) != 0)
    return FALSE;
  if (link->ssid != NULL && current->ssid != NULL)
    return strcmp (link->ssid, current->ssid) == 0;
  return TRUE;
}
