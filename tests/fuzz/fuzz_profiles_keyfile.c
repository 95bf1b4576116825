/* fuzz_profiles_keyfile.c: fuzz target for the profiles file loader
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Feeds the input to pl_profile_store_load_from_data() (no I/O) and checks what the store
 * promises in pl-profile-store.h: every loaded profile is valid, names and mappings are
 * unique, a file that failed to parse is never written, and a save never changes what loads:
 * load (data) == load (save (load (data))), the same profiles and the same problems, and
 * saving that again writes the same text. Then one edit (toggle Enabled of the first profile)
 * must survive a save and a reload.
 */

#include "config.h"

#include <gio/gio.h>

#include "fuzz.h"
#include "pl-error.h"
#include "pl-profile-store.h"

/* Never read or written: load_from_data() and to_data() do no I/O. */
#define FUZZ_PATH "/nonexistent/portlight-fuzz/profiles.ini"

static void
check_problems (PlProfileStore *store)
{
  GPtrArray *problems = pl_profile_store_get_problems (store);

  g_assert_nonnull (problems);
  for (guint i = 0; i < problems->len; i++)
    {
      const GError *problem = g_ptr_array_index (problems, i);

      g_assert_nonnull (problem);
      g_assert_nonnull (problem->message);
      g_assert_true (g_utf8_validate (problem->message, -1, NULL));
    }
}

static void
check_profiles (PlProfileStore *store)
{
  GListModel *model = G_LIST_MODEL (store);
  guint n = g_list_model_get_n_items (model);

  g_assert_true (g_list_model_get_item_type (model) == PL_TYPE_PROFILE);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PlProfile) profile = g_list_model_get_item (model, i);
      g_autoptr(GError) error = NULL;
      const char *name;

      g_assert_nonnull (profile);
      name = pl_profile_get_name (profile);
      g_assert_nonnull (name);
      if (!pl_profile_validate (profile, &error))
        g_error ("profile %u (“%s”) loaded but does not validate: %s", i, name, error->message);
      g_assert_true (pl_profile_store_lookup (store, name) == profile);
      g_assert_true (pl_profile_store_has_name (store, name));

      for (guint j = 0; j < i; j++)
        {
          g_autoptr(PlProfile) other = g_list_model_get_item (model, j);

          g_assert_cmpstr (pl_profile_get_name (other), !=, name);
          g_assert_false (pl_profile_overlaps (profile, other));
        }
    }
  g_assert_null (g_list_model_get_item (model, n));
}

static void
check_same_profiles (PlProfileStore *a,
                     PlProfileStore *b)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (a));

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (b)), ==, n);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PlProfile) pa = g_list_model_get_item (G_LIST_MODEL (a), i);
      g_autoptr(PlProfile) pb = g_list_model_get_item (G_LIST_MODEL (b), i);

      if (!pl_profile_equal (pa, pb))
        g_error ("profile %u (“%s”) changed in a save and reload", i, pl_profile_get_name (pa));
    }
}

/* The same problems, in the same order, with the same messages. */
static void
check_same_problems (PlProfileStore *a,
                     PlProfileStore *b)
{
  GPtrArray *pa = pl_profile_store_get_problems (a);
  GPtrArray *pb = pl_profile_store_get_problems (b);

  for (guint i = 0; i < MAX (pa->len, pb->len); i++)
    {
      const GError *ea = i < pa->len ? g_ptr_array_index (pa, i) : NULL;
      const GError *eb = i < pb->len ? g_ptr_array_index (pb, i) : NULL;

      if (ea == NULL || eb == NULL || ea->domain != eb->domain || ea->code != eb->code
          || g_strcmp0 (ea->message, eb->message) != 0)
        g_error ("problem %u changed in a save and reload: “%s” became “%s”", i,
                 ea != NULL ? ea->message : "(none)", eb != NULL ? eb->message : "(none)");
    }
}

/* Loads what @store would save into a new store, which must load it without a file error
 * and would save it again as it is. */
static PlProfileStore *
reload (PlProfileStore *store)
{
  g_autoptr(PlProfileStore) again = pl_profile_store_new (FUZZ_PATH);
  g_autoptr(GError) error = NULL;
  g_autofree char *saved = NULL;
  g_autofree char *saved_again = NULL;
  gsize length = 0;
  gsize length_again = 0;

  saved = pl_profile_store_to_data (store, &length, &error);
  g_assert_no_error (error);
  g_assert_nonnull (saved);

  if (!pl_profile_store_load_from_data (again, saved, length, &error))
    g_error ("what would be saved does not load: %s\n---\n%s---", error->message, saved);
  g_assert_true (pl_profile_store_can_save (again, NULL));
  check_profiles (again);

  saved_again = pl_profile_store_to_data (again, &length_again, &error);
  g_assert_no_error (error);
  if (length_again != length || memcmp (saved, saved_again, length) != 0)
    g_error ("saving what was saved changes it:\n---\n%s---\n%s---", saved, saved_again);

  return g_steal_pointer (&again);
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(PlProfileStore) store = NULL;
  g_autoptr(PlProfileStore) again = NULL;
  g_autoptr(GError) error = NULL;
  gboolean can_save;

  fuzz_set_logging_func ();

  /* GKeyFile is linear, but keep libFuzzer's inputs to what a person writes by hand. */
  if (size > 64 * 1024)
    return 0;

  store = pl_profile_store_new (FUZZ_PATH);

  if (!pl_profile_store_load_from_data (store, (const char *) data, (gssize) size, &error))
    {
      g_assert_nonnull (error);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      check_problems (store);
      g_assert_cmpuint (pl_profile_store_get_problems (store)->len, >=, 1);
      /* A file that could not be parsed is never overwritten. */
      g_assert_false (pl_profile_store_can_save (store, NULL));
      g_clear_error (&error);
      g_assert_null (pl_profile_store_to_data (store, NULL, &error));
      g_assert_nonnull (error);
      return 0;
    }

  g_assert_no_error (error);
  check_problems (store);
  check_profiles (store);

  can_save = pl_profile_store_can_save (store, &error);
  if (!can_save)
    {
      /* Refused (two groups share a name): to_data() refuses too. */
      g_assert_nonnull (error);
      g_clear_error (&error);
      g_assert_null (pl_profile_store_to_data (store, NULL, &error));
      g_assert_nonnull (error);
      return 0;
    }
  g_assert_no_error (error);

  /* A save changes nothing that loads: the same profiles, and the groups that did not load
   * still do not, for the same reasons. (corpus/profiles_keyfile/bare-cr-* once broke it:
   * GKeyFile read "tcp\r\r\n" as "tcp\r" but wrote it back as "tcp\r\n".) */
  again = reload (store);
  check_same_profiles (store, again);
  check_same_problems (store, again);

  if (g_list_model_get_n_items (G_LIST_MODEL (store)) > 0)
    {
      g_autoptr(PlProfile) first = g_list_model_get_item (G_LIST_MODEL (store), 0);
      g_autoptr(PlProfileStore) edited = NULL;
      g_autofree char *name = g_strdup (pl_profile_get_name (first));
      gboolean enabled = pl_profile_get_enabled (first);
      PlProfile *found;

      if (!pl_profile_store_set_enabled (store, name, !enabled, &error))
        g_error ("cannot toggle “%s”: %s", name, error->message);
      g_assert_cmpint (pl_profile_get_enabled (first), ==, !enabled);

      edited = reload (store);
      check_same_profiles (store, edited);
      found = pl_profile_store_lookup (edited, name);
      g_assert_nonnull (found);
      g_assert_cmpint (pl_profile_get_enabled (found), ==, !enabled);
    }

  return 0;
}
