/* pl-test-journal.h: an engine's (or a one-shot program's) journal of mappings, for tests
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "pl-pcp-state.h"

/* A journal at @path (none there yet, or one there), loaded, written as @owner. */
static inline PlPcpState *
pl_test_journal_new (const char *path,
                     PlPcpOwner  owner)
{
  g_autoptr(GError) error = NULL;
  PlPcpState *journal = pl_pcp_state_new (path);

  g_assert_true (pl_pcp_state_load (journal, &error));
  g_assert_no_error (error);
  pl_pcp_state_set_owner (journal, owner);
  return journal;
}

/* The journal file's text; "" when there is no file (nothing was ever saved). */
static inline char *
pl_test_journal_text (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, &error))
    {
      g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
      return g_strdup ("");
    }
  return text;
}
