/* fake-gateway-host.c: runs the fake NAT-PMP gateway in a process of its own, for shell tests
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>

#include "pl-core.h"
#include "pl-fake-gateway.h"

/* Usage: fake-gateway-host ADDRESS [RESULT_CODE]
 * Answers NAT-PMP on ADDRESS:5351 like a correct router (public address 203.0.113.7) with
 * the real clock, or with RESULT_CODE (2: not authorized) to every request, prints "ready"
 * once listening, and runs until SIGTERM or SIGINT (or until its parent goes). */

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(PlFakeGateway) gateway = NULL;
  g_autoptr(GError) error = NULL;

  if (argc != 2 && argc != 3)
    {
      g_printerr ("Usage: %s ADDRESS [RESULT_CODE]\n", argv[0]);
      return 2;
    }

  gateway = pl_fake_gateway_new (argv[1], pl_clock_get_default (), &error);
  if (gateway == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }

  if (argc == 3)
    pl_fake_gateway_set_result_code (gateway, (guint16) g_ascii_strtoull (argv[2], NULL, 10));

  g_unix_signal_add (SIGTERM, quit_cb, loop);
  g_unix_signal_add (SIGINT, quit_cb, loop);
  /* Never outlive the test. */
  prctl (PR_SET_PDEATHSIG, SIGTERM);

  printf ("ready\n");
  fflush (stdout);
  g_main_loop_run (loop);
  return 0;
}
