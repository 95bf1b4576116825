/* pl-engine-lock.c: the per-user lock every engine holds
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "pl-engine-lock.h"

struct _PlEngineLock
{
  GObject  parent_instance;

  char    *path;
  int      fd;
};

G_DEFINE_FINAL_TYPE (PlEngineLock, pl_engine_lock, G_TYPE_OBJECT)

static void
pl_engine_lock_finalize (GObject *object)
{
  PlEngineLock *self = PL_ENGINE_LOCK (object);

  /* Closing the last descriptor drops the flock. The file stays: unlinking it would let a
   * third engine lock a new file while a second still waits on the old one. */
  if (self->fd >= 0)
    g_close (self->fd, NULL);
  g_free (self->path);

  G_OBJECT_CLASS (pl_engine_lock_parent_class)->finalize (object);
}

static void
pl_engine_lock_class_init (PlEngineLockClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pl_engine_lock_finalize;
}

static void
pl_engine_lock_init (PlEngineLock *self)
{
  self->fd = -1;
}

char *
pl_engine_lock_get_default_path (void)
{
  return g_build_filename (g_get_user_runtime_dir (), "portlight", "engine.lock", NULL);
}

/* The process id the holder wrote, 0 when unreadable. */
static guint
read_holder (int fd)
{
  char buffer[32] = { 0 };
  ssize_t n;
  guint64 pid = 0;

  n = pread (fd, buffer, sizeof buffer - 1, 0);
  if (n <= 0)
    return 0;
  buffer[n] = '\0';
  g_strchomp (buffer);
  if (!g_ascii_string_to_unsigned (buffer, 10, 1, G_MAXINT32, &pid, NULL))
    return 0;
  return (guint) pid;
}

PlEngineLock *
pl_engine_lock_acquire (const char  *path,
                        guint       *holder_pid,
                        GError     **error)
{
  g_autoptr(PlEngineLock) self = g_object_new (PL_TYPE_ENGINE_LOCK, NULL);
  g_autofree char *folder = NULL;
  g_autofree char *text = NULL;
  int saved_errno;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (holder_pid != NULL)
    *holder_pid = 0;
  self->path = path != NULL ? g_strdup (path) : pl_engine_lock_get_default_path ();
  folder = g_path_get_dirname (self->path);
  if (g_mkdir_with_parents (folder, 0700) < 0)
    {
      saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot create the folder %s for the engine lock: %s", folder,
                   g_strerror (saved_errno));
      return NULL;
    }

  self->fd = g_open (self->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (self->fd < 0)
    {
      saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot open the engine lock %s: %s", self->path, g_strerror (saved_errno));
      return NULL;
    }

  while (flock (self->fd, LOCK_EX | LOCK_NB) < 0)
    {
      saved_errno = errno;
      if (saved_errno == EINTR)
        continue;
      if (saved_errno == EWOULDBLOCK)
        {
          guint pid = read_holder (self->fd);

          if (holder_pid != NULL)
            *holder_pid = pid;
          if (pid != 0)
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                         "Portlight's engine is already running (pid %u)", pid);
          else
            g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                                 "Portlight's engine is already running");
          return NULL;
        }
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot lock %s: %s", self->path, g_strerror (saved_errno));
      return NULL;
    }

  /* Ours: say who holds it. A failed write only costs the next engine the pid. */
  text = g_strdup_printf ("%ld\n", (long) getpid ());
  if (ftruncate (self->fd, 0) == 0)
    {
      gsize len = strlen (text);

      if (pwrite (self->fd, text, len, 0) != (ssize_t) len)
        g_debug ("Cannot write the pid into %s: %s", self->path, g_strerror (errno));
    }

  return g_steal_pointer (&self);
}

const char *
pl_engine_lock_get_path (PlEngineLock *self)
{
  g_return_val_if_fail (PL_IS_ENGINE_LOCK (self), NULL);

  return self->path;
}
