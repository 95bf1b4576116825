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
