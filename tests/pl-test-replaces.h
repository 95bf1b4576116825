/* pl-test-replaces.h: how many times a file was saved, seen from outside
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Portlight saves its state files by an atomic replace (a temporary file renamed over the
 * file), so every save is one rename onto the file's name: inotify's IN_MOVED_TO on the
 * folder counts them exactly, with no hook in the code under test. The temporary files'
 * IN_CREATE and IN_MOVED_FROM are watched too, only so that the kernel never merges two
 * unread IN_MOVED_TO events of the same name into one (it merges identical neighbours).
 */

#pragma once

#include <errno.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

typedef struct
{
  int    fd;
  char  *name;
  guint  count;
} PlTestReplaces;

/* Starts counting the replaces of @path (its folder is created if missing). */
static inline PlTestReplaces *
pl_test_replaces_new (const char *path)
{
  PlTestReplaces *self = g_new0 (PlTestReplaces, 1);
  g_autofree char *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  self->fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  g_assert_cmpint (self->fd, >=, 0);
  g_assert_cmpint (inotify_add_watch (self->fd, dir,
                                                   IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO), >=, 0);
  self->name = g_path_get_basename (path);
  return self;
}

/* The replaces of the file so far. */
static inline guint
pl_test_replaces_count (PlTestReplaces *self)
{
  char buffer[4096] __attribute__ ((aligned (__alignof__ (struct inotify_event))));

  for (;;)
    {
      ssize_t n = read (self->fd, buffer, sizeof buffer);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          g_assert_true (n < 0 && errno == EAGAIN);
          break;
        }
      for (char *p = buffer; p < buffer + n;)
        {
          const struct inotify_event *event = (const struct inotify_event *) p;

          g_assert_false (event->mask & IN_Q_OVERFLOW);
          if ((event->mask & IN_MOVED_TO) && event->len > 0 &&
              strcmp (event->name, self->name) == 0)
            self->count++;
          p += sizeof *event + event->len;
        }
    }
  return self->count;
}

static inline void
pl_test_replaces_free (PlTestReplaces *self)
{
  close (self->fd);
  g_free (self->name);
  g_free (self);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlTestReplaces, pl_test_replaces_free)
