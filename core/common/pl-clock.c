/* pl-clock.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <time.h>

#include "pl-clock.h"

struct _PlClock
{
  GObject       parent_instance;
  GMainContext *context;
  GList        *sources;      /* VirtualSource*, not owned */
  gint64        now;          /* virtual time, microseconds */
  guint         idle_id;
  guint         is_virtual : 1;
  guint         auto_advance : 1;
};

G_DEFINE_FINAL_TYPE (PlClock, pl_clock, G_TYPE_OBJECT)

typedef struct
{
  GSource  source;
  PlClock *clock;             /* weak: cleared when the clock goes */
  gint64   deadline;
} VirtualSource;

static void ensure_idle (PlClock *self);

static gboolean
virtual_source_prepare (GSource *source,
                        gint    *timeout)
{
  VirtualSource *vs = (VirtualSource *) source;

  *timeout = -1;
  return vs->clock != NULL && vs->clock->now >= vs->deadline;
}

static gboolean
virtual_source_check (GSource *source)
{
  VirtualSource *vs = (VirtualSource *) source;

  return vs->clock != NULL && vs->clock->now >= vs->deadline;
}

static gboolean
virtual_source_dispatch (GSource     *source,
                         GSourceFunc  callback,
                         gpointer     user_data)
{
  if (callback == NULL)
    return G_SOURCE_REMOVE;

  /* Virtual timeouts fire once, whatever the callback returns: core code always creates a
   * new timeout for the next wait. */
  callback (user_data);
  return G_SOURCE_REMOVE;
}

static void
virtual_source_finalize (GSource *source)
{
  VirtualSource *vs = (VirtualSource *) source;

  if (vs->clock != NULL)
    vs->clock->sources = g_list_remove (vs->clock->sources, vs);
}

static GSourceFuncs virtual_source_funcs = {
  virtual_source_prepare,
  virtual_source_check,
  virtual_source_dispatch,
  virtual_source_finalize,
  NULL, NULL,
};

static void
pl_clock_dispose (GObject *object)
{
  PlClock *self = PL_CLOCK (object);

  for (GList *l = self->sources; l != NULL; l = l->next)
    ((VirtualSource *) l->data)->clock = NULL;
  g_clear_pointer (&self->sources, g_list_free);
  if (self->idle_id != 0)
    {
      GSource *idle = g_main_context_find_source_by_id (self->context, self->idle_id);
      if (idle != NULL)
        g_source_destroy (idle);
      self->idle_id = 0;
    }
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (pl_clock_parent_class)->dispose (object);
}

static void
pl_clock_class_init (PlClockClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_clock_dispose;
}

static void
pl_clock_init (PlClock *self)
{
  self->context = g_main_context_ref_thread_default ();
}

/**
 * pl_clock_get_default:
 *
 * Returns: (transfer full): the real clock (CLOCK_BOOTTIME)
 */
PlClock *
pl_clock_get_default (void)
{
  static gsize real_clock;

  if (g_once_init_enter (&real_clock))
    g_once_init_leave (&real_clock, (gsize) g_object_new (PL_TYPE_CLOCK, NULL));

  return g_object_ref ((PlClock *) real_clock);
}

/**
 * pl_clock_new_virtual:
 * @auto_advance: jump to the next timeout whenever the main context is otherwise idle
 *
 * Returns: (transfer full): a new virtual clock starting at time 0
 */
PlClock *
pl_clock_new_virtual (gboolean auto_advance)
{
  PlClock *self = g_object_new (PL_TYPE_CLOCK, NULL);

  self->is_virtual = TRUE;
  self->auto_advance = !!auto_advance;
  return self;
}

/**
 * pl_clock_is_virtual:
 * @self: a clock
 *
 * Returns: %TRUE for a clock made by pl_clock_new_virtual()
 */
gboolean
pl_clock_is_virtual (PlClock *self)
{
  g_return_val_if_fail (PL_IS_CLOCK (self), FALSE);

  return self->is_virtual;
}

/**
 * pl_clock_get_time:
 * @self: a clock
 *
 * Returns: the current time in microseconds: CLOCK_BOOTTIME for the real clock, time since
 *   creation for a virtual one
 */
gint64
pl_clock_get_time (PlClock *self)
{
  struct timespec ts;

  g_return_val_if_fail (PL_IS_CLOCK (self), 0);

  if (self->is_virtual)
    return self->now;

  if (clock_gettime (CLOCK_BOOTTIME, &ts) != 0)
    return g_get_monotonic_time ();
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static gint64
earliest_deadline (PlClock *self)
{
  gint64 earliest = G_MAXINT64;

  for (GList *l = self->sources; l != NULL; l = l->next)
    {
      VirtualSource *vs = l->data;

      if (!g_source_is_destroyed ((GSource *) vs) && vs->deadline < earliest)
        earliest = vs->deadline;
    }
  return earliest;
}

static gboolean
auto_advance_cb (gpointer user_data)
{
  PlClock *self = user_data;
  gint64 earliest = earliest_deadline (self);

  if (earliest == G_MAXINT64)
    {
      /* Nothing pending: stop spinning until a new timeout is created. */
      self->idle_id = 0;
      return G_SOURCE_REMOVE;
    }

  if (earliest > self->now)
    self->now = earliest;
  return G_SOURCE_CONTINUE;
}

static void
ensure_idle (PlClock *self)
{
  GSource *idle;

  if (!self->auto_advance || self->idle_id != 0)
    return;

  /* Lowest priority: it only runs when no socket, idle or timeout of ours is ready. */
  idle = g_idle_source_new ();
  g_source_set_priority (idle, G_PRIORITY_LOW + 100);
  g_source_set_callback (idle, auto_advance_cb, self, NULL);
  g_source_set_static_name (idle, "[portlight] virtual clock auto-advance");
  self->idle_id = g_source_attach (idle, self->context);
  g_source_unref (idle);
}

/**
 * pl_clock_timeout_source_new:
 * @self: a clock
 * @delay_ms: the delay in milliseconds
 *
 * A virtual clock's auto-advance only looks after sources attached to the main context that
 * was thread-default when the clock was created.
 *
 * Returns: (transfer full): an unattached source that fires once, @delay_ms from now
 */
GSource *
pl_clock_timeout_source_new (PlClock *self,
                             guint64  delay_ms)
{
  VirtualSource *vs;

  g_return_val_if_fail (PL_IS_CLOCK (self), NULL);

  if (!self->is_virtual)
    return g_timeout_source_new (MIN (delay_ms, G_MAXUINT));

  vs = (VirtualSource *) g_source_new (&virtual_source_funcs, sizeof (VirtualSource));
  g_source_set_static_name ((GSource *) vs, "[portlight] virtual timeout");
  vs->clock = self;
  vs->deadline = self->now + (gint64) delay_ms * 1000;
  self->sources = g_list_prepend (self->sources, vs);
  ensure_idle (self);

  return (GSource *) vs;
}

/**
 * pl_clock_timeout_add:
 * @self: a clock
 * @delay_ms: the delay in milliseconds
 * @func: called once the delay is over; for a virtual clock, it fires once whatever it returns
 * @user_data: data for @func
 *
 * Attaches a timeout from pl_clock_timeout_source_new() to the thread-default main context.
 *
 * Returns: the source ID
 */
guint
pl_clock_timeout_add (PlClock     *self,
                      guint64      delay_ms,
                      GSourceFunc  func,
                      gpointer     user_data)
{
  g_autoptr(GSource) source = NULL;

  g_return_val_if_fail (PL_IS_CLOCK (self), 0);

  source = pl_clock_timeout_source_new (self, delay_ms);
  g_source_set_callback (source, func, user_data, NULL);
  return g_source_attach (source, g_main_context_get_thread_default ());
}

/**
 * pl_clock_advance:
 * @self: a virtual clock
 * @us: how far to move time forward, in microseconds
 *
 * Moves virtual time forward; timeouts that are now due fire on the next main loop iteration.
 */
void
pl_clock_advance (PlClock *self,
                  gint64   us)
{
  g_return_if_fail (PL_IS_CLOCK (self));
  g_return_if_fail (self->is_virtual);
  g_return_if_fail (us >= 0);

  self->now += us;
  g_main_context_wakeup (self->context);
}

/**
 * pl_clear_source:
 * @source: (inout) (nullable): a source pointer
 *
 * Destroys the source in *@source, if there is one, drops its reference and sets *@source to
 * %NULL: g_clear_handle_id() for sources held as pointers, attached to any context.
 */
void
pl_clear_source (GSource **source)
{
  g_return_if_fail (source != NULL);

  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}
