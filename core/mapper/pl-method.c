/* pl-method.c: the port-mapping protocols by name
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

/* Names only, in a file of their own: a program that only names a protocol (portlightctl
 * through the engine) links this, not the mappers. */

#include "config.h"

#include "pl-method.h"

gboolean
pl_method_from_string (const char *text,
                       PlMethod   *out)
{
  static const struct { const char *name; PlMethod method; } names[] = {
    { "auto", PL_METHOD_AUTO },
    { "pcp", PL_METHOD_PCP },
    { "natpmp", PL_METHOD_NATPMP },
    { "nat-pmp", PL_METHOD_NATPMP },
    { "upnp", PL_METHOD_UPNP },
    { "upnp-igd", PL_METHOD_UPNP },
  };

  g_return_val_if_fail (out != NULL, FALSE);

  for (gsize i = 0; text != NULL && i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (text, names[i].name) == 0)
      {
        *out = names[i].method;
        return TRUE;
      }
  return FALSE;
}

const char *
pl_method_to_string (PlMethod method)
{
  switch (method)
    {
    case PL_METHOD_PCP:
      return "pcp";
    case PL_METHOD_NATPMP:
      return "natpmp";
    case PL_METHOD_UPNP:
      return "upnp";
    case PL_METHOD_AUTO:
    default:
      return "auto";
    }
}
