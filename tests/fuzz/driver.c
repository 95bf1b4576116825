/* driver.c: runs fuzz targets without a fuzzing engine
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Linked with each fuzz_*.c when libFuzzer is not used (glib/fuzzing does the same). Each
 * argument is a file, or a directory whose regular files are all run (sorted, not recursive).
 * Every input runs once through LLVMFuzzerTestOneInput, from a heap copy of exactly its size
 * so that AddressSanitizer or valgrind see any read past the end. Prints TAP.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "fuzz.h"

static guint n_run = 0;

static gboolean
run_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree guint8 *copy = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &contents, &length, &error))
    {
      g_print ("not ok %u - %s: %s\n", ++n_run, path, error->message);
      return FALSE;
    }

  /* An exact-size copy: g_file_get_contents() adds a NUL that would hide a one-byte overread. */
  copy = g_malloc (MAX (length, 1));
  if (length > 0)
    memcpy (copy, contents, length);
  LLVMFuzzerTestOneInput (copy, length);

  g_print ("ok %u - %s (%" G_GSIZE_FORMAT " bytes)\n", ++n_run, path, length);
  return TRUE;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static gboolean
run_path (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) names = NULL;
  const char *name;
  gboolean ok = TRUE;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    return run_file (path);

  dir = g_dir_open (path, 0, &error);
  if (dir == NULL)
    {
      g_print ("not ok %u - %s: %s\n", ++n_run, path, error->message);
      return FALSE;
    }

  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *full = g_build_filename (path, name, NULL);

      if (name[0] != '.' && g_file_test (full, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (names, g_steal_pointer (&full));
    }
  g_ptr_array_sort (names, compare_strings);

  if (names->len == 0)
    {
      g_print ("not ok %u - %s: empty corpus\n", ++n_run, path);
      return FALSE;
    }

  for (guint i = 0; i < names->len; i++)
    ok &= run_file (g_ptr_array_index (names, i));

  return ok;
}

int
main (int    argc,
      char **argv)
{
  gboolean ok = TRUE;
  int first = 1;

  /* Tolerate the --tap that the test harness may pass. */
  if (argc > 1 && strcmp (argv[1], "--tap") == 0)
    first = 2;

  if (first >= argc)
    {
      g_printerr ("Usage: %s FILE-OR-CORPUS-DIR…\n", argv[0]);
      return EXIT_FAILURE;
    }

  for (int i = first; i < argc; i++)
    ok &= run_path (argv[i]);

  g_print ("1..%u\n", n_run);
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
