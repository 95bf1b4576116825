/* pl-app-helper.c: a stand-in application for app-linked profiles: it runs until it is
 * killed (its process name, "pl-app-helper", is what the profile names)
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <stdio.h>
#include <unistd.h>

int
main (void)
{
  printf ("running\n");
  fflush (stdout);
  for (;;)
    pause ();
  return 0;
}
