/* pl-upnp-description.h: the description Portlight gives its UPnP-IGD mappings
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Routers store at most 63 or 64 bytes and some garble what lies beyond (miniupnpd 2.3.1
 * returns 64 bytes and then garbage); keep one byte of margin. */
#define PL_UPNP_DESCRIPTION_MAX 63

#define PL_UPNP_DESCRIPTION_PREFIX "Portlight: "

/* "Portlight: <label> (<hostname>)", printable ASCII only (other characters become their
 * ASCII transliteration or '?'), at most PL_UPNP_DESCRIPTION_MAX bytes: the label is cut
 * first, then the host name. Stable: the same label and host give the same text, so a
 * renewal never looks like a new mapping. Pure. */
char     *pl_upnp_description_new    (const char *label,
                                      const char *hostname);

/* TRUE when @description was made by pl_upnp_description_new (with any label or host). */
gboolean  pl_upnp_description_is_ours (const char *description);

/* A description from the router made safe to print: control and non-ASCII bytes become
 * '?', at most 80 bytes. Never NULL. */
char     *pl_upnp_description_sanitize (const char *description);

G_END_DECLS
