/* pl-icon-path.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>

#include "pl-icon-path.h"

/* Set by app/tray/meson.build: the portlight binary of this build tree, and the source tree's
 * data/icons. Only a program that is that very binary uses them. */
#ifndef PL_BUILD_PROGRAM
#define PL_BUILD_PROGRAM NULL
#endif
#ifndef PL_SOURCE_ICON_DIR
#define PL_SOURCE_ICON_DIR NULL
#endif

static gboolean
same_file (const char *a,
           const char *b)
{
  g_autoptr(GFile) file_a = g_file_new_for_path (a);
  g_autoptr(GFile) file_b = g_file_new_for_path (b);
  g_autoptr(GFileInfo) info_a = NULL;
  g_autoptr(GFileInfo) info_b = NULL;
  const char *attributes = G_FILE_ATTRIBUTE_ID_FILE;

  if (g_file_equal (file_a, file_b))
    return TRUE;
  /* The same binary under another name (a bind mount, a symlinked build folder). */
  info_a = g_file_query_info (file_a, attributes, G_FILE_QUERY_INFO_NONE, NULL, NULL);
  info_b = g_file_query_info (file_b, attributes, G_FILE_QUERY_INFO_NONE, NULL, NULL);
  return info_a != NULL && info_b != NULL &&
         g_strcmp0 (g_file_info_get_attribute_string (info_a, G_FILE_ATTRIBUTE_ID_FILE),
                    g_file_info_get_attribute_string (info_b, G_FILE_ATTRIBUTE_ID_FILE)) == 0;
}

char *
pl_icon_path_choose (const char *env_dir,
                     const char *self_exe,
                     const char *build_program,
                     const char *source_icon_dir)
{
  if (env_dir != NULL && *env_dir != '\0')
    return g_strdup (env_dir);

  if (self_exe == NULL || build_program == NULL || source_icon_dir == NULL)
    return NULL;
  if (!same_file (self_exe, build_program))
    return NULL;
  if (!g_file_test (source_icon_dir, G_FILE_TEST_IS_DIR))
    return NULL;
  return g_strdup (source_icon_dir);
}

char *
pl_icon_path_get_default (void)
{
  g_autofree char *self_exe = g_file_read_link ("/proc/self/exe", NULL);

  return pl_icon_path_choose (g_getenv ("PORTLIGHT_ICON_DIR"), self_exe, PL_BUILD_PROGRAM,
                              PL_SOURCE_ICON_DIR);
}
