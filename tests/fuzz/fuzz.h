/* fuzz.h: shared declarations of the fuzz targets
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <stdlib.h>
#include <string.h>

#include <glib.h>

G_BEGIN_DECLS

/* The libFuzzer entry point every target defines. Without an engine, driver.c calls it once per
 * corpus file; with -fsanitize=fuzzer, libFuzzer calls it. */
int  LLVMFuzzerTestOneInput (const guint8 *data,
                             size_t        size);

/* Every warning or critical is a finding (a g_return_if_fail() reached from input, a GError
 * set twice...): print it and abort(), which libFuzzer and the test harness both see as a crash.
 * G_BREAKPOINT, GLib's default for fatal logs, would leave libFuzzer without a crash file. */
static GLogWriterOutput
fuzz_log_writer (GLogLevelFlags   log_level,
                 const GLogField *fields,
                 gsize            n_fields,
                 gpointer         user_data)
{
  if (log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    {
      /* Known GLib 2.74 bug, not ours: g_key_file_get_string() on a value with two bad
       * escapes ("\\6\\" at the end of a line) sets its GError twice and warns. Harmless
       * for the caller (it gets the first error); corpus/profiles_keyfile/glib-double-escape
       * keeps it covered. */
      for (gsize i = 0; i < n_fields; i++)
        if (g_strcmp0 (fields[i].key, "MESSAGE") == 0 && fields[i].length < 0
            && strstr (fields[i].value, "GError set over the top") != NULL
            && strstr (fields[i].value, "overwriting error message was: Key file contains") != NULL)
          return G_LOG_WRITER_HANDLED;

      g_log_writer_standard_streams (log_level, fields, n_fields, user_data);
      abort ();
    }

  return G_LOG_WRITER_HANDLED;
}

static inline void
fuzz_set_logging_func (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      g_log_set_writer_func (fuzz_log_writer, NULL, NULL);
      g_once_init_leave (&once, 1);
    }
}

G_END_DECLS
