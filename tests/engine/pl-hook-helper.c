/* pl-hook-helper.c: a stand-in OnPortChange command for the tests
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * pl-hook-helper MODE FILE ARG...: appends "start ARG|ARG|...\n" to FILE, then
 *   record  appends "end\n" and exits 0
 *   slow    sleeps 300 ms, appends "end\n" and exits 0
 *   fail    appends "end\n" and exits 3
 *   hang    sleeps until killed (SIGTERM ends it)
 *   stuck   ignores SIGTERM and sleeps until SIGKILL
 *   orphan  leaves a child holding stdout open for 3 s, appends "end\n" and exits 0
 * and says what it does on stdout and stderr, for the log.
 */

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void
append (const char *path,
        const char *text)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_APPEND, 0600);

  if (fd < 0 || write (fd, text, strlen (text)) != (ssize_t) strlen (text))
    exit (99);
  close (fd);
}

int
main (int   argc,
      char *argv[])
{
  char line[4096] = "start ";
  struct timespec slow = { 0, 300 * 1000 * 1000 };

  if (argc < 3)
    return 98;

  for (int i = 3; i < argc; i++)
    {
      if (i > 3)
        strncat (line, "|", sizeof line - strlen (line) - 1);
      strncat (line, argv[i], sizeof line - strlen (line) - 1);
    }
  strncat (line, "\n", sizeof line - strlen (line) - 1);
  append (argv[2], line);
  printf ("helper %s: started\n", argv[1]);
  fflush (stdout);
  fprintf (stderr, "helper %s: a line on stderr\n", argv[1]);

  if (strcmp (argv[1], "slow") == 0)
    nanosleep (&slow, NULL);
  else if (strcmp (argv[1], "stuck") == 0)
    {
      signal (SIGTERM, SIG_IGN);
      for (;;)
        pause ();
    }
  else if (strcmp (argv[1], "hang") == 0)
    for (;;)
      pause ();
  else if (strcmp (argv[1], "orphan") == 0 && fork () == 0)
    {
      struct timespec orphan = { 3, 0 };

      nanosleep (&orphan, NULL);
      return 0;
    }

  append (argv[2], "end\n");
  return strcmp (argv[1], "fail") == 0 ? 3 : 0;
}
