/* test-storage-faults.c: the profiles file under faults
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "pl-core.h"
#include "pl-test-sample.h"

/* Truncated, binary, huge, wrongly encoded and hand-broken profile files; saves killed with
 * SIGKILL at random points; a folder that cannot be written; the file's mode.
 *
 * What every load must give, whatever the file holds (pl-profile-store.h): no crash; either
 * FALSE with an error naming the file (and then nothing may be saved over it), or TRUE with
 * only valid profiles; and what would then be saved loads back to the same profiles.
 *
 * The kill -9 and "as nobody" cases run this program again as a helper (--saver,
 * --read-only-helper), through GSubprocess. */

static char *self_exe;
static gboolean in_helper;

static void
note (const char *format,
      ...) G_GNUC_PRINTF (1, 2);

/* g_test_message() in tests, stderr in the helpers (which have no test harness). */
static void
note (const char *format,
      ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);

  if (in_helper)
    g_printerr ("%s\n", text);
  else
    g_test_message ("%s", text);
}

/* Helpers. */

static char *
config_path (const char *name)
{
  return g_build_filename (g_get_user_config_dir (), "portlight", name, NULL);
}

static void
write_file (const char *path,
            const char *data,
            gssize      length)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, data, length, &error);
  g_assert_no_error (error);
}

static GBytes *
read_bytes (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *data = NULL;
  gsize length = 0;

  g_file_get_contents (path, &data, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (data, length);
}

static guint
file_mode (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

static char *
data_file_contents (const char *name, gsize *length)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", name, NULL);
  g_autoptr(GError) error = NULL;
  char *data = NULL;

  g_file_get_contents (path, &data, length, &error);
  g_assert_no_error (error);
  return data;
}

static PlProfile *
make_profile (const char        *name,
              PlProfileProtocol  protocol,
              guint              port,
              const char        *description)
{
  PlProfile *profile = pl_profile_new (name);

  pl_profile_set_protocol (profile, protocol);
  pl_profile_set_internal_port (profile, port);
  pl_profile_set_description (profile, description);
  return profile;
}

static void
assert_all_valid (PlProfileStore *store)
{
  GListModel *model = G_LIST_MODEL (store);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(PlProfile) profile = g_list_model_get_item (model, i);
      g_autoptr(GError) error = NULL;

      pl_profile_validate (profile, &error);
      g_assert_no_error (error);
    }
}

static gboolean
same_profiles (PlProfileStore *a,
               PlProfileStore *b)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (a));

  if (g_list_model_get_n_items (G_LIST_MODEL (b)) != n)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PlProfile) pa = g_list_model_get_item (G_LIST_MODEL (a), i);
      g_autoptr(PlProfile) pb = g_list_model_get_item (G_LIST_MODEL (b), i);

      if (!pl_profile_equal (pa, pb))
        return FALSE;
    }
  return TRUE;
}

typedef enum
{
  LOADED,
  REFUSED,
} LoadResult;

/* Loads @data from a file at @path and checks the rules in the comment at the top. When the
 * load succeeds and saving is allowed, also saves (after one change) and reloads. */
static LoadResult
check_file (const char *path,
            const char *data,
            gsize       length)
{
  g_autoptr(PlProfileStore) store = pl_profile_store_new (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;
  g_autoptr(PlProfile) extra = NULL;

  write_file (path, data, (gssize) length);
  before = read_bytes (path);

  if (!pl_profile_store_load (store, NULL, &error))
    {
      /* A clear error that names the file; nothing is ever written over it. */
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_assert_false (pl_profile_store_can_save (store, NULL));
      note ("refused: %s", error->message);

      extra = make_profile ("Extra", PL_PROFILE_PROTOCOL_TCP, 1, NULL);
      g_clear_error (&error);
      g_assert_false (pl_profile_store_add (store, extra, &error));
      g_assert_nonnull (error);
      g_clear_error (&error);
      g_assert_false (pl_profile_store_save (store, NULL, &error));
      g_assert_nonnull (error);

      after = read_bytes (path);
      g_assert_true (g_bytes_equal (before, after));
      return REFUSED;
    }

  g_assert_no_error (error);
  assert_all_valid (store);

  if (pl_profile_store_can_save (store, NULL))
    {
      g_autoptr(PlProfileStore) again = pl_profile_store_new (path);

      /* A port no hand-written file here uses. */
      extra = make_profile ("Added by the test", PL_PROFILE_PROTOCOL_UDP, 65432, "x");
      if (pl_profile_store_lookup (store, "Added by the test") == NULL
          && pl_profile_store_add (store, extra, NULL))
        {
          pl_profile_store_save (store, NULL, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (file_mode (path), ==, 0600);

          pl_profile_store_load (again, NULL, &error);
          g_assert_no_error (error);
          assert_all_valid (again);
          g_assert_true (same_profiles (store, again));
        }
    }

  return LOADED;
}

/* Truncated. */

static void
test_truncated (void)
{
  g_autofree char *path = config_path ("profiles.ini");
  g_autofree char *example = NULL;
  gsize length = 0;
  guint n_loaded = 0;
  guint n_refused = 0;

  g_test_summary ("The example file cut at every byte: never a crash, only valid profiles, "
                  "a clear error or a file that saves and reloads the same");

  example = data_file_contents ("profiles-example.ini", &length);
  for (gsize cut = 0; cut <= length; cut++)
    {
      if (check_file (path, example, cut) == LOADED)
        n_loaded++;
      else
        n_refused++;
    }

  /* Cutting inside a UTF-8 sequence is the only way to make this file unreadable. */
  g_test_message ("%" G_GSIZE_FORMAT " cuts: %u loaded, %u refused", length + 1, n_loaded,
                  n_refused);
  g_assert_cmpuint (n_loaded, >, 0);
}

/* Binary. */

static void
test_binary (void)
{
  g_autofree char *path = config_path ("profiles.ini");
  g_autoptr(GRand) rand = g_rand_new_with_seed (0x6b696c6c);
  g_autofree char *elf = NULL;
  gsize elf_length = 0;
  g_autoptr(GError) error = NULL;

  g_test_summary ("Random bytes, an executable, and a good file with a NUL inside: refused "
                  "with an error naming the file, and never overwritten");

  for (guint round = 0; round < 50; round++)
    {
      gsize length = (gsize) g_rand_int_range (rand, 1, 65536);
      g_autofree char *data = g_malloc (length);

      for (gsize i = 0; i < length; i++)
        data[i] = (char) g_rand_int_range (rand, 0, 256);
      /* Random bytes of this size always hold a NUL or invalid UTF-8. */
      data[length / 2] = '\0';
      g_assert_cmpint (check_file (path, data, length), ==, REFUSED);
    }

  g_file_get_contents (self_exe, &elf, &elf_length, &error);
  g_assert_no_error (error);
  g_assert_cmpint (check_file (path, elf, MIN (elf_length, 1024 * 1024)), ==, REFUSED);

  {
    static const char with_nul[] = "[SSH]\nProtocol=tcp\nInternalPort=22\n\0[Web]\n";

    g_assert_cmpint (check_file (path, with_nul, sizeof with_nul - 1), ==, REFUSED);
  }
}

/* Huge. */

#define PROFILES_FILE_LIMIT (1024 * 1024)  /* MAX_FILE_SIZE in pl-profile-store.c */

static void
test_huge (void)
{
  g_autofree char *path = config_path ("profiles.ini");
  const gsize size = 50 * 1024 * 1024;

  g_test_summary ("50 MB files (comments, one huge value, binary) are refused quickly, with "
                  "an error naming the file and its size, and never overwritten; files up to "
                  "the 1 MiB limit load");

  /* One at a time, to keep the peak memory down. */
  {
    g_autoptr(GString) comments = g_string_sized_new (size + 64);

    while (comments->len < size)
      g_string_append (comments, "# A comment line, padding the file out to 50 MB.\n");
    g_string_append (comments, "[SSH]\nProtocol=tcp\nInternalPort=22\n");
    g_assert_cmpint (check_file (path, comments->str, comments->len), ==, REFUSED);

    /* The same cut to just under the limit (check_file() adds a profile and saves), then
     * to one byte over it. */
    g_string_erase (comments, 0, comments->len - (PROFILES_FILE_LIMIT - 256));
    g_string_overwrite (comments, 0, "#");
    g_assert_cmpint (check_file (path, comments->str, comments->len), ==, LOADED);
    while (comments->len <= PROFILES_FILE_LIMIT)
      g_string_prepend_c (comments, '#');
    g_assert_cmpint (check_file (path, comments->str, comments->len), ==, REFUSED);
  }

  {
    g_autoptr(GString) value = g_string_sized_new (size + 64);

    g_string_append (value, "[SSH]\nProtocol=tcp\nInternalPort=22\nDescription=");
    while (value->len < size)
      g_string_append (value, "all work and no play ");
    g_string_append_c (value, '\n');
    g_assert_cmpint (check_file (path, value->str, value->len), ==, REFUSED);
  }

  {
    g_autofree char *binary = g_malloc (size);

    for (gsize i = 0; i < size; i++)
      binary[i] = (char) (i * 2654435761u >> 24);
    g_assert_cmpint (check_file (path, binary, size), ==, REFUSED);
  }
}

static double
time_load (const char *path,
           guint       n_profiles)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(PlProfileStore) store = pl_profile_store_new (path);
  g_autoptr(GError) error = NULL;
  gint64 start;

  for (guint i = 1; i <= n_profiles; i++)
    g_string_append_printf (text, "[p%u]\nProtocol=tcp\nInternalPort=%u\n", i, i);
  write_file (path, text->str, (gssize) text->len);

  start = g_get_monotonic_time ();
  pl_profile_store_load (store, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, n_profiles);
  return (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
}

static void
test_many_profiles (void)
{
  g_autofree char *path = config_path ("profiles.ini");
  double small;
  double large;

  g_test_summary ("Loading many profiles takes time in proportion to the file, not to its "
                  "square (a file of profiles up to the size limit must not freeze the tray)");

  /* Under the sanitizers times say nothing about the code: load the largest file once, for
   * the memory checks, and leave the proportion to the plain build. */
  if (PL_TEST_SANITIZED)
    {
      g_test_message ("16000 profiles under the sanitizers: %.3f s (not compared)",
                      time_load (path, 16000));
      return;
    }

  /* Warm up, then 8000 and 16000 profiles (the latter near the size limit): twice the
   * profiles, about twice the time. The best of three runs, against a busy machine. */
  time_load (path, 1000);
  small = G_MAXDOUBLE;
  large = G_MAXDOUBLE;
  for (guint run = 0; run < 3; run++)
    {
      small = MIN (small, time_load (path, 8000));
      large = MIN (large, time_load (path, 16000));
    }
  g_test_message ("8000 profiles: %.3f s, 16000 profiles: %.3f s (ratio %.2f)", small, large,
                  large / small);

  if (large > 3 * small && large > 0.2)
    g_error ("loading is quadratic: %.3f s for 8000 profiles, %.3f s for 16000", small, large);
}

/* Wrong encodings. */

static char *
convert (const char *utf8,
         const char *to,
         gsize      *length)
{
  g_autoptr(GError) error = NULL;
  char *out = g_convert (utf8, -1, to, "UTF-8", NULL, length, &error);

  g_assert_no_error (error);
  return out;
}

static void
test_encodings (void)
{
  g_autofree char *path = config_path ("profiles.ini");
  static const char text[] = "# Profil für den Server\n"
                             "[Café]\nProtocol=tcp\nInternalPort=8080\nDescription=Über\n";
  static const char ascii[] = "[SSH]\nProtocol=tcp\nInternalPort=22\n";
  const struct {
    const char *encoding;
    const char *source;
    LoadResult  expected;
  } cases[] = {
    { "UTF-16LE", text, REFUSED },
    { "UTF-16BE", text, REFUSED },
    { "UTF-16", text, REFUSED },           /* with a BOM */
    { "UTF-32", text, REFUSED },
    { "ISO-8859-1", text, REFUSED },       /* é, ü, Ü as single bytes */
    { "WINDOWS-1252", text, REFUSED },
    { "UTF-16LE", ascii, REFUSED },        /* every other byte NUL */
    { "ISO-8859-1", ascii, LOADED },       /* ASCII is ASCII */
  };

  g_test_summary ("UTF-16, UTF-32, Latin-1 and Windows-1252 files are refused with an error "
                  "naming the file and left untouched; plain ASCII in any of them loads");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gsize length = 0;
      g_autofree char *data = convert (cases[i].source, cases[i].encoding, &length);

      g_test_message ("%s%s", cases[i].encoding, cases[i].source == ascii ? " (ASCII)" : "");
      g_assert_cmpint (check_file (path, data, length), ==, cases[i].expected);
    }

  /* A UTF-8 byte order mark (Notepad) at the start is skipped, and Windows line ends are
   * line ends: both load. */
  {
    g_autofree char *bom = g_strconcat ("\xef\xbb\xbf# comment first\n", text, NULL);
    g_autofree char *crlf = NULL;
    g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

    g_assert_cmpint (check_file (path, bom, strlen (bom)), ==, LOADED);
    crlf = g_strjoinv ("\r\n", lines);
    g_assert_cmpint (check_file (path, crlf, strlen (crlf)), ==, LOADED);
  }
}

/* Hand-broken. */

static void
test_hand_broken (void)
{
  g_autofree char *path = config_path ("profiles.ini");
  static const char * const files[] = {
    "[SSH\nProtocol=tcp\nInternalPort=22\n",
    "[]\nProtocol=tcp\nInternalPort=22\n",
    "[ ]\nProtocol=tcp\nInternalPort=22\n",
    "[SSH]\nProtocol tcp\nInternalPort=22\n",
    "[SSH]\nProtocol = tcp\nInternalPort = 22\n",
    "[SSH]\nprotocol=tcp\ninternalport=22\n",
    "[SSH]\nProtocol=tcp \nInternalPort=22\t\n",
    "[SSH]\nProtocol=tcp\nInternalPort=22 # the shell\n",
    "[SSH]\nProtocol=tcp\nInternalPort=0x16\n",
    "[SSH]\nProtocol=tcp\nInternalPort=-22\n",
    "[SSH]\nProtocol=tcp\nInternalPort=99999999999999999999999\n",
    "[SSH]\nProtocol=tcp\nInternalPort=22\nLifetime=0\nEnabled=1\n",
    "[SSH]\nProtocol=tcp\nInternalPort=22\nDescription=\\\n",
    "Protocol=tcp\nInternalPort=22\n[SSH]\n",
    "[SSH]\n[SSH]\nProtocol=tcp\nInternalPort=22\n",
    "[SSH]]\nProtocol=tcp\nInternalPort=22\n",
    "[S[S]H]\nProtocol=tcp\nInternalPort=22\n",
    "  [SSH]  \n  Protocol=tcp\n  InternalPort=22\n",
    "[SSH]\r\nProtocol=tcp\r\nInternalPort=22",
    "[SSH]\nProtocol=tcp\nInternalPort=22\n[Web]\nProtocol=tcp\nInternalPort=22\n",
    "[A]\nProtocol=both\nInternalPort=80\n[B]\nProtocol=udp\nInternalPort=80\n",
    "[SSH]\nProtocol[de]=tcp\nInternalPort=22\n",
    "#[SSH]\n#Protocol=tcp\n",
    "\n\n\n",
    "=\n",
    "[\xe2\x98\x83]\nProtocol=udp\nInternalPort=9\n",
    "[Tab\tName]\nProtocol=udp\nInternalPort=9\n",
  };
  guint n_loaded = 0;

  g_test_summary ("Files broken by hand (missing brackets, spaces, inline comments, hex, "
                  "signs, overflow, bad escapes, keys before any group, clashes): a clear "
                  "error or the good profiles, and a save that loses nothing");

  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      LoadResult result = check_file (path, files[i], strlen (files[i]));

      g_test_message ("file %" G_GSIZE_FORMAT ": %s", i, result == LOADED ? "loaded" : "refused");
      if (result == LOADED)
        n_loaded++;
    }
  g_assert_cmpuint (n_loaded, >, 0);
}

static void
test_double_bad_escape (void)
{
  g_autofree char *path = config_path ("profiles.ini");
  static const char data[] = "[SSH]\nProtocol=tcp\nInternalPort=22\nDescription=\\x41\\6\\\n";

  g_test_summary ("A value with two bad escape sequences is reported as one problem naming "
                  "the first, without a GLib warning");

  /* GLib 2.74's g_key_file_get_string() sets its GError twice on such a value (a warning):
   * the store checks the raw value itself. In a subprocess, where any warning is fatal. */
  if (g_test_subprocess ())
    {
      g_autoptr(PlProfileStore) store = pl_profile_store_new (path);
      g_autoptr(GError) error = NULL;
      GPtrArray *problems;

      g_assert_cmpint (check_file (path, data, strlen (data)), ==, LOADED);
      pl_profile_store_load (store, NULL, &error);
      g_assert_no_error (error);
      problems = pl_profile_store_get_problems (store);
      g_assert_cmpuint (problems->len, ==, 1);
      g_assert_cmpstr (((GError *) problems->pdata[0])->message, ==,
                       "Profile “SSH”: Description has an invalid escape sequence “\\x”");
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr_unmatched ("*GError set over the top*");
}

static void
test_bare_carriage_return (void)
{
  g_autofree char *path = config_path ("profiles.ini");
  g_autoptr(PlProfileStore) store = pl_profile_store_new (path);
  g_autoptr(GError) error = NULL;
  /* Found by fuzz_profiles_keyfile: GKeyFile reads "tcp\r" (a CR before the CR LF), which
   * is not a protocol, so [A] would not load and [B] would; but it writes the value back as
   * "tcp\r" + "\n", which reads as "tcp": after a save [A] would load and push [B] out. */
  static const char data[] = "[A]\nProtocol=tcp\r\r\nInternalPort=22\n"
                             "[B]\nProtocol=tcp\nInternalPort=22\n";
  static const char * const others[] = {
    "[A]\r\nProtocol=tcp\r\r\n[SH]",                       /* the fuzzer's, minimised */
    "[A]\r\nProtocol=tcp\r\nInternalPort=22\r",            /* cut between CR and LF */
    "[A]\rProtocol=tcp\rInternalPort=22\r",                 /* old Mac line ends */
    "# a\rcomment\n[A]\nProtocol=tcp\nInternalPort=22\n",
    "[A]\nProtocol=tcp\nInternalPort=22\nDescription=a\rb\n",
  };

  g_test_summary ("A carriage return that does not end a line is refused with an error "
                  "naming the file, the line and the profile, and the file is never "
                  "written: a save cannot change which profiles load");

  g_assert_cmpint (check_file (path, data, strlen (data)), ==, REFUSED);
  g_assert_false (pl_profile_store_load (store, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "line 2 (in profile “A”) has a carriage return "
                                            "that does not end the line"));
  g_clear_error (&error);

  for (gsize i = 0; i < G_N_ELEMENTS (others); i++)
    g_assert_cmpint (check_file (path, others[i], strlen (others[i])), ==, REFUSED);

  /* Windows line ends are line ends. */
  {
    static const char crlf[] = "[A]\r\nProtocol=tcp\r\nInternalPort=22\r\n"
                               "[B]\r\nProtocol=udp\r\nInternalPort=22";

    g_assert_cmpint (check_file (path, crlf, strlen (crlf)), ==, LOADED);
  }
}

/* kill -9 during saves. */

#define SAVER_PROFILES 400
#define SAVER_PADDING  2000

/* The content of generation @generation: SAVER_PROFILES profiles, each described as
 * "generation N" plus padding, so that a file is about 1 MB and a save takes a while. */
static char *
generation_text (guint generation,
                 guint index)
{
  g_autofree char *padding = g_strnfill (SAVER_PADDING, '.');

  return g_strdup_printf ("generation %u of profile %u %s", generation, index, padding);
}

/* Which generation the file at @path holds; fails unless it is exactly one whole generation. */
static guint
file_generation (const char *path)
{
  g_autoptr(PlProfileStore) store = pl_profile_store_new (path);
  g_autoptr(GError) error = NULL;
  guint generation = G_MAXUINT;

  pl_profile_store_load (store, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pl_profile_store_get_problems (store)->len, ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (store)), ==, SAVER_PROFILES);

  for (guint i = 0; i < SAVER_PROFILES; i++)
    {
      g_autoptr(PlProfile) profile = g_list_model_get_item (G_LIST_MODEL (store), i);
      g_autofree char *expected = NULL;
      guint this_generation;

      g_assert_cmpint (sscanf (pl_profile_get_description (profile), "generation %u",
                               &this_generation), ==, 1);
      if (i == 0)
        generation = this_generation;
      /* Never a mix of two saves. */
      g_assert_cmpuint (this_generation, ==, generation);
      expected = generation_text (generation, i);
      g_assert_cmpstr (pl_profile_get_description (profile), ==, expected);
    }

  return generation;
}

/* Helper: load @path, then save generation after generation until killed. */
static int
saver_main (const char *path)
{
  g_autoptr(PlProfileStore) store = pl_profile_store_new (path);
  g_autoptr(GError) error = NULL;
  guint generation;

  if (!pl_profile_store_load (store, NULL, &error))
    {
      g_printerr ("saver: %s\n", error->message);
      return 1;
    }

  for (generation = 1;; generation++)
    {
      for (guint i = 0; i < SAVER_PROFILES; i++)
        {
          g_autofree char *name = g_strdup_printf ("p%u", i);
          g_autofree char *text = generation_text (generation, i);
          g_autoptr(PlProfile) profile = pl_profile_copy (pl_profile_store_lookup (store, name));

          pl_profile_set_description (profile, text);
          if (!pl_profile_store_replace (store, name, profile, &error))
            {
              g_printerr ("saver: %s\n", error->message);
              return 1;
            }
        }
      if (!pl_profile_store_save (store, NULL, &error))
        {
          g_printerr ("saver: %s\n", error->message);
          return 1;
        }
    }
}

static guint
count_temporary_files (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    if (g_str_has_prefix (name, "profiles.ini.") || g_str_has_prefix (name, ".goutputstream"))
      n++;
  return n;
}

/* Starts a saver on @path (generation 0), waits until the file holds another generation,
 * kills it, and returns how long that took. The file is back at a whole generation then. */
static gint64
time_first_save (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) saver = NULL;
  g_autoptr(GBytes) initial = read_bytes (path);
  gint64 start = g_get_monotonic_time ();
  gint64 elapsed;

  saver = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, self_exe, "--saver", path, NULL);
  g_assert_no_error (error);

  for (;;)
    {
      g_autoptr(GBytes) now = read_bytes (path);

      if (!g_bytes_equal (initial, now))
        break;
      g_assert_cmpint (g_get_monotonic_time () - start, <, 120 * G_USEC_PER_SEC);
      g_usleep (1000);
    }
  elapsed = g_get_monotonic_time () - start;

  g_subprocess_send_signal (saver, SIGKILL);
  g_subprocess_wait (saver, NULL, &error);
  g_assert_no_error (error);
  return elapsed;
}

static void
test_killed_saves (void)
{
  g_autofree char *path = config_path ("profiles.ini");
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(PlProfileStore) store = pl_profile_store_new (path);
  g_autoptr(GRand) rand = g_rand_new_with_seed (9);
  g_autoptr(GError) error = NULL;
  guint generation = 0;
  guint n_new = 0;
  guint n_kept = 0;
  /* All 200 in the plain build; under the sanitizers a saver takes seconds to start, and the
   * first 40 of the same seeded delays cover the same spread of kill points. */
  const guint n_kills = pl_test_count (200, 40);
  gint64 window_us;

  g_test_summary ("A save killed with SIGKILL at a random point, 200 times: the file is "
                  "always one whole generation, the old or a newer one, never a mix, and "
                  "stays 0600");

  for (guint i = 0; i < SAVER_PROFILES; i++)
    {
      g_autofree char *name = g_strdup_printf ("p%u", i);
      g_autofree char *text = generation_text (0, i);
      g_autoptr(PlProfile) profile = make_profile (name, PL_PROFILE_PROTOCOL_TCP, 1000 + i, text);

      pl_profile_store_add (store, profile, &error);
      g_assert_no_error (error);
    }
  pl_profile_store_save (store, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (file_generation (path), ==, 0);

  /* How long the saver takes to start and finish its first save here (much longer under
   * the sanitizers or valgrind): kills then land from before its start to well after. */
  window_us = time_first_save (path);
  g_test_message ("the first save completes after %.3f s", window_us / (double) G_USEC_PER_SEC);

  for (guint kill_n = 0; kill_n < n_kills; kill_n++)
    {
      g_autoptr(GSubprocess) saver = NULL;
      guint new_generation;
      gulong delay_us = (gulong) g_rand_int_range (rand, 0, (gint32) MIN (3 * window_us,
                                                                         G_MAXINT32));

      saver = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error,
                                self_exe, "--saver", path, NULL);
      g_assert_no_error (error);
      g_usleep (delay_us);
      g_subprocess_send_signal (saver, SIGKILL);
      g_subprocess_wait (saver, NULL, &error);
      g_assert_no_error (error);

      /* It died of the kill, not of a failure of its own. */
      if (g_subprocess_get_if_exited (saver))
        g_error ("the saver exited with status %d instead of being killed",
                 g_subprocess_get_exit_status (saver));
      g_assert_true (g_subprocess_get_if_signaled (saver));
      g_assert_cmpint (g_subprocess_get_term_sig (saver), ==, SIGKILL);

      /* The saver starts from what is on disk and counts from 1 again, so the file is
       * generation 0 or what the saver reached, and at least a whole one. */
      new_generation = file_generation (path);
      if (new_generation == generation)
        n_kept++;
      else
        n_new++;
      generation = new_generation;
      g_assert_cmpuint (file_mode (path), ==, 0600);
    }

  g_test_message ("%u kills: %u left a newer generation, %u the one before; %u temporary "
                  "files left behind in %s", n_kills, n_new, n_kept,
                  count_temporary_files (dir), dir);
  /* The kills landed at various points, some of them after a save. */
  g_assert_cmpuint (n_new, >, 0);
}

/* A folder that cannot be written. */

/* Loads a file with one profile, changes it in memory, and checks that saving fails with a
 * clear error while @blocked, keeping the change; then unblocks and saves it. Returns NULL or
 * what went wrong. */
static char *
read_only_scenario (const char *path,
                    gboolean  (*block) (const char *path),
                    gboolean  (*unblock) (const char *path))
{
  g_autoptr(PlProfileStore) store = pl_profile_store_new (path);
  g_autoptr(PlProfileStore) again = pl_profile_store_new (path);
  g_autoptr(PlProfile) added = make_profile ("Web", PL_PROFILE_PROTOCOL_TCP, 80, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;

  if (!pl_profile_store_load (store, NULL, &error))
    return g_strdup_printf ("load: %s", error->message);
  if (!pl_profile_store_add (store, added, &error))
    return g_strdup_printf ("add: %s", error->message);

  before = read_bytes (path);
  if (!block (path))
    return g_strdup_printf ("cannot block writes: %s", g_strerror (errno));

  if (pl_profile_store_save (store, NULL, &error))
    return g_strdup ("the save succeeded in a folder that cannot be written");
  if (strstr (error->message, path) == NULL && strstr (error->message, "portlight") == NULL)
    return g_strdup_printf ("the error does not say where: %s", error->message);
  note ("save refused: %s", error->message);
  g_clear_error (&error);

  /* Nothing lost in memory, and the file is as it was. */
  if (pl_profile_store_lookup (store, "Web") == NULL || pl_profile_store_lookup (store, "SSH") == NULL)
    return g_strdup ("a failed save lost profiles in memory");

  if (!unblock (path))
    return g_strdup_printf ("cannot unblock: %s", g_strerror (errno));
  after = read_bytes (path);
  if (!g_bytes_equal (before, after))
    return g_strdup ("the failed save changed the file");

  if (!pl_profile_store_save (store, NULL, &error))
    return g_strdup_printf ("save after unblocking: %s", error->message);
  if (!pl_profile_store_load (again, NULL, &error))
    return g_strdup_printf ("reload: %s", error->message);
  if (pl_profile_store_lookup (again, "Web") == NULL)
    return g_strdup ("the change did not reach the file");
  if (file_mode (path) != 0600)
    return g_strdup_printf ("mode %o", file_mode (path));

  return NULL;
}

static gboolean
chmod_folder_0500 (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);

  return g_chmod (dir, 0500) == 0;
}

static gboolean
chmod_folder_0700 (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);

  return g_chmod (dir, 0700) == 0;
}

/* Works as root too: the folder moves away and a plain file takes its place, so that nothing
 * can be created or replaced in it; moving it back restores the file as it was. */
static char *
away_path (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);

  return g_strconcat (dir, ".away", NULL);
}

static gboolean
replace_folder_by_file (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *away = away_path (path);

  return g_rename (dir, away) == 0 && g_file_set_contents (dir, "not a folder", -1, NULL);
}

static gboolean
restore_folder (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *away = away_path (path);

  return g_remove (dir) == 0 && g_rename (away, dir) == 0;
}

static void
write_one_profile (const char *path)
{
  write_file (path, "[SSH]\nProtocol=tcp\nInternalPort=22\n", -1);
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);
}

static void
test_folder_replaced (void)
{
  g_autofree char *path = config_path ("profiles.ini");
  g_autofree char *problem = NULL;

  g_test_summary ("When nothing can be written in the config folder (here a file has taken "
                  "its place, which stops root too), saving fails with an error naming the "
                  "file and nothing is lost; once the folder is back the same store saves "
                  "everything");

  write_one_profile (path);
  problem = read_only_scenario (path, replace_folder_by_file, restore_folder);
  if (problem != NULL)
    g_error ("%s", problem);
}

static void
test_read_only_folder (void)
{
  g_autofree char *path = config_path ("profiles.ini");
  g_autofree char *problem = NULL;

  g_test_summary ("A config folder with mode 0500: saving fails with a clear error, nothing "
                  "is lost in memory, and after chmod 0700 the same store saves everything");

  if (geteuid () == 0)
    {
      g_test_skip ("as root, folder permissions do not stop writes; "
                   "/storage-faults/read-only-folder/nobody runs this as nobody");
      return;
    }

  write_one_profile (path);
  problem = read_only_scenario (path, chmod_folder_0500, chmod_folder_0700);
  chmod_folder_0700 (path);
  if (problem != NULL)
    g_error ("%s", problem);
}

static int
read_only_helper_main (const char *path)
{
  g_autofree char *problem = read_only_scenario (path, chmod_folder_0500, chmod_folder_0700);

  if (problem != NULL)
    {
      g_printerr ("read-only helper (uid %u): %s\n", (guint) geteuid (), problem);
      return 1;
    }
  return 0;
}

typedef struct
{
  uid_t uid;
  gid_t gid;
} Identity;

static void
drop_privileges (gpointer user_data)
{
  const Identity *who = user_data;

  /* In the child, between fork and exec: only async-signal-safe calls. */
  if (setgroups (0, NULL) != 0 || setgid (who->gid) != 0 || setuid (who->uid) != 0)
    _exit (99);
}

static void
test_read_only_folder_nobody (void)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) helper = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *top = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  struct passwd *nobody;
  Identity who;

  g_test_summary ("As root, the read-only folder case runs in a child that has become "
                  "'nobody', where mode 0500 does stop writes");

  if (geteuid () != 0)
    {
      g_test_skip ("not root: /storage-faults/read-only-folder covers it directly");
      return;
    }
  nobody = getpwnam ("nobody");
  if (nobody == NULL)
    {
      g_test_skip ("there is no user 'nobody'");
      return;
    }
  who.uid = nobody->pw_uid;
  who.gid = nobody->pw_gid;

  /* Outside the isolated test dirs, which only root can enter. */
  top = g_dir_make_tmp ("portlight-storage-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (top, 0755), ==, 0);
  dir = g_build_filename (top, "portlight", NULL);
  path = g_build_filename (dir, "profiles.ini", NULL);
  write_one_profile (path);
  g_assert_cmpint (chown (dir, who.uid, who.gid), ==, 0);
  g_assert_cmpint (chown (path, who.uid, who.gid), ==, 0);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, drop_privileges, &who, NULL);
  helper = g_subprocess_launcher_spawn (launcher, &error, self_exe, "--read-only-helper", path,
                                        NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (helper, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);

  g_test_message ("helper as %s (uid %u): %s%s", nobody->pw_name, (guint) who.uid,
                  out != NULL ? out : "", err != NULL ? err : "");
  g_assert_true (g_subprocess_get_if_exited (helper));
  g_assert_cmpint (g_subprocess_get_exit_status (helper), ==, 0);

  /* Clean up as root. */
  g_remove (path);
  {
    g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
    const char *name;

    while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
      {
        g_autofree char *leftover = g_build_filename (dir, name, NULL);

        g_remove (leftover);
      }
  }
  g_rmdir (dir);
  g_rmdir (top);
}

int
main (int   argc,
      char *argv[])
{
  self_exe = g_file_read_link ("/proc/self/exe", NULL);
  if (self_exe == NULL)
    self_exe = g_strdup (argv[0]);

  in_helper = argc == 3 && g_str_has_prefix (argv[1], "--");
  if (argc == 3 && g_str_equal (argv[1], "--saver"))
    return saver_main (argv[2]);
  if (argc == 3 && g_str_equal (argv[1], "--read-only-helper"))
    return read_only_helper_main (argv[2]);

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/storage-faults/truncated", test_truncated);
  g_test_add_func ("/storage-faults/binary", test_binary);
  g_test_add_func ("/storage-faults/huge", test_huge);
  g_test_add_func ("/storage-faults/many-profiles", test_many_profiles);
  g_test_add_func ("/storage-faults/encodings", test_encodings);
  g_test_add_func ("/storage-faults/hand-broken", test_hand_broken);
  g_test_add_func ("/storage-faults/double-bad-escape", test_double_bad_escape);
  g_test_add_func ("/storage-faults/bare-carriage-return", test_bare_carriage_return);
  g_test_add_func ("/storage-faults/killed-saves", test_killed_saves);
  g_test_add_func ("/storage-faults/folder-replaced", test_folder_replaced);
  g_test_add_func ("/storage-faults/read-only-folder", test_read_only_folder);
  g_test_add_func ("/storage-faults/read-only-folder/nobody", test_read_only_folder_nobody);

  return g_test_run ();
}
