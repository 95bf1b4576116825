/* pl-cli-handoff.c: portlightctl handing a command over to portlightctl-local
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/prctl.h>

#include <glib/gi18n.h>

#include "pl-cli.h"
#include "pl-cli-handoff.h"

/* The environment variable by which the program handing over says it found no engine: the
 * program it becomes would otherwise ask the bus a second time (about 3 ms, more where an
 * activation is refused). Internal: removed at start-up, never documented as an interface. */
#define ENGINE_ABSENT_ENV "PORTLIGHTCTL_ENGINE_ABSENT"
#define LOCAL_NAME        "portlightctl-local"

static char   **saved_argv;
static gboolean engine_absent;

void
pl_cli_handoff_init (int    argc,
                     char **argv)
{
  g_strfreev (saved_argv);
  saved_argv = g_new0 (char *, argc + 1);
  for (int i = 0; i < argc; i++)
    saved_argv[i] = g_strdup (argv[i]);

  engine_absent = g_strcmp0 (g_getenv (ENGINE_ABSENT_ENV), "1") == 0;
  g_unsetenv (ENGINE_ABSENT_ENV);

  /* The same command to ps(1), pkill -x and the engine's view of its callers
   * (/proc/PID/comm) whichever program runs it. */
  if (g_str_has_suffix (saved_argv[0] != NULL ? saved_argv[0] : "", "portlightctl"))
    prctl (PR_SET_NAME, (unsigned long) "portlightctl", 0, 0, 0);
}

gboolean
pl_cli_handoff_engine_absent (void)
{
  return engine_absent;
}

/* portlightctl-local beside this program when it runs from its build folder (the tests),
 * else the installed one. */
static char *
local_path (void)
{
#ifdef PL_CLI_BUILD_DIR
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);

  if (self != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (self);

      if (g_str_equal (dir, PL_CLI_BUILD_DIR))
        return g_build_filename (dir, LOCAL_NAME, NULL);
    }
#endif
#ifdef PL_CLI_LOCAL_PATH
  return g_strdup (PL_CLI_LOCAL_PATH);
#else
  return g_strdup (LOCAL_NAME);
#endif
}

int
pl_cli_handoff_exec (const char *prgname,
                     gboolean    absent)
{
  g_autofree char *path = local_path ();
  int saved_errno;

  g_return_val_if_fail (saved_argv != NULL, PL_EXIT_LOCAL_ERROR);

  if (absent)
    g_setenv (ENGINE_ABSENT_ENV, "1", TRUE);
  /* Nothing buffered may be lost with this program's image. */
  fflush (stdout);
  fflush (stderr);
  execv (path, saved_argv);

  saved_errno = errno;
  g_unsetenv (ENGINE_ABSENT_ENV);
  g_printerr (_("%s: cannot run %s: %s (is Portlight installed completely?)\n"), prgname, path,
              g_strerror (saved_errno));
  return PL_EXIT_LOCAL_ERROR;
}
