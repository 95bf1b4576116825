/* test-upnp-description.c: the description Portlight gives its UPnP-IGD mappings
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <string.h>

#include "pl-core.h"

static void
assert_ascii_within_limit (const char *text)
{
  g_assert_cmpuint (strlen (text), <=, PL_UPNP_DESCRIPTION_MAX);
  for (const char *p = text; *p != '\0'; p++)
    g_assert_true (g_ascii_isprint (*p));
}

static void
test_plain (void)
{
  g_autofree char *d = pl_upnp_description_new ("SSH", "desk");

  g_assert_cmpstr (d, ==, "Portlight: SSH (desk)");
  g_assert_true (pl_upnp_description_is_ours (d));
}

static void
test_stable (void)
{
  g_autofree char *a = pl_upnp_description_new ("Minecraft server", "living-room-pc");
  g_autofree char *b = pl_upnp_description_new ("Minecraft server", "living-room-pc");

  g_assert_cmpstr (a, ==, b);
}

static void
test_non_ascii (void)
{
  g_autofree char *d = pl_upnp_description_new ("Spiel für Jürgen\tund\nMaïa", "büro");

  assert_ascii_within_limit (d);
  g_assert_cmpstr (d, ==, "Portlight: Spiel fur Jurgen und Maia (buro)");
}

static void
test_not_utf8 (void)
{
  g_autofree char *d = pl_upnp_description_new ("bad \xff\xfe bytes", "h\x01st");

  assert_ascii_within_limit (d);
  g_assert_cmpstr (d, ==, "Portlight: bad ?? bytes (h?st)");
}

static void
test_parentheses (void)
{
  g_autofree char *d = pl_upnp_description_new ("web (test)", "pc");

  /* The host stays the only parenthesised part. */
  g_assert_cmpstr (d, ==, "Portlight: web ?test? (pc)");
}

static void
test_long_label (void)
{
  g_autofree char *label = g_strnfill (200, 'L');
  g_autofree char *d = pl_upnp_description_new (label, "desk");

  assert_ascii_within_limit (d);
  g_assert_cmpuint (strlen (d), ==, PL_UPNP_DESCRIPTION_MAX);
  g_assert_true (g_str_has_suffix (d, "L (desk)"));
}

static void
test_long_host (void)
{
  g_autofree char *host = g_strnfill (100, 'h');
  g_autofree char *d = pl_upnp_description_new ("SSH", host);

  assert_ascii_within_limit (d);
  g_assert_true (g_str_has_prefix (d, "Portlight: SSH (hhhh"));
  g_assert_true (g_str_has_suffix (d, "h)"));
}

static void
test_both_long (void)
{
  g_autofree char *label = g_strnfill (80, 'L');
  g_autofree char *host = g_strnfill (80, 'h');
  g_autofree char *d = pl_upnp_description_new (label, host);

  assert_ascii_within_limit (d);
  g_assert_cmpuint (strlen (d), ==, PL_UPNP_DESCRIPTION_MAX);
  /* Neither part is squeezed out. */
  g_assert_nonnull (strstr (d, "LLLLLLLLLL"));
  g_assert_nonnull (strstr (d, "hhhhhhhhhh"));
}

static void
test_empty (void)
{
  g_autofree char *a = pl_upnp_description_new ("", "");
  g_autofree char *b = pl_upnp_description_new (NULL, NULL);
  g_autofree char *c = pl_upnp_description_new ("   ", "pc");

  g_assert_cmpstr (a, ==, "Portlight: mapping");
  g_assert_cmpstr (b, ==, "Portlight: mapping");
  g_assert_cmpstr (c, ==, "Portlight: mapping (pc)");
}

static void
test_is_ours (void)
{
  g_assert_true (pl_upnp_description_is_ours ("Portlight: SSH (desk)"));
  g_assert_false (pl_upnp_description_is_ours ("libminiupnpc"));
  g_assert_false (pl_upnp_description_is_ours ("portlight: lower case"));
  g_assert_false (pl_upnp_description_is_ours (""));
  g_assert_false (pl_upnp_description_is_ours (NULL));
}

static void
test_sanitize (void)
{
  g_autofree char *a = pl_upnp_description_sanitize ("ok \x1b[31m red \xc3\xa9");
  g_autofree char *b = pl_upnp_description_sanitize (NULL);
  g_autofree char *long_text = g_strnfill (300, 'x');
  g_autofree char *c = pl_upnp_description_sanitize (long_text);

  g_assert_cmpstr (a, ==, "ok ?[31m red ??");
  g_assert_cmpstr (b, ==, "");
  g_assert_cmpuint (strlen (c), ==, 80);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/upnp/description/plain", test_plain);
  g_test_add_func ("/upnp/description/stable", test_stable);
  g_test_add_func ("/upnp/description/non-ascii", test_non_ascii);
  g_test_add_func ("/upnp/description/not-utf8", test_not_utf8);
  g_test_add_func ("/upnp/description/parentheses", test_parentheses);
  g_test_add_func ("/upnp/description/long-label", test_long_label);
  g_test_add_func ("/upnp/description/long-host", test_long_host);
  g_test_add_func ("/upnp/description/both-long", test_both_long);
  g_test_add_func ("/upnp/description/empty", test_empty);
  g_test_add_func ("/upnp/description/is-ours", test_is_ours);
  g_test_add_func ("/upnp/description/sanitize", test_sanitize);

  return g_test_run ();
}
