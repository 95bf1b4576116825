/* pl-clock.h
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-types.h"

G_BEGIN_DECLS

#define PL_TYPE_CLOCK (pl_clock_get_type ())

G_DECLARE_FINAL_TYPE (PlClock, pl_clock, PL, CLOCK, GObject)

/* The source of time for the client and the session engine, so that tests can run the
 * 127.75 s retransmission schedule and hours of renewals in milliseconds.
 *
 * The real clock reads CLOCK_BOOTTIME (it keeps counting across suspend, so epoch checks
 * after a resume compare like with like) and its timeouts are ordinary GLib timeouts.
 *
 * A virtual clock starts at 0 and moves only when told to (pl_clock_advance()) or, with
 * auto-advance, whenever the thread-default main context has nothing else to do: it then
 * jumps to the earliest pending timeout. Loopback traffic between an in-process fake gateway
 * and the client is processed before time moves on, so tests are exact and fast.
 *
 * Like everything in core, a clock belongs to the thread-default GMainContext it was
 * created on. */

PlClock *pl_clock_get_default          (void);
PlClock *pl_clock_new_virtual          (gboolean        auto_advance);
gboolean pl_clock_is_virtual           (PlClock        *self);
/* Microseconds. */
gint64   pl_clock_get_time             (PlClock        *self);
/* A timeout source firing @delay_ms after now on this clock; attach it yourself. */
/* Destroys *@source (if any) and drops the reference: the one way sources are let go. */
void     pl_clear_source               (GSource       **source);

GSource *pl_clock_timeout_source_new   (PlClock        *self,
                                        guint64         delay_ms);
guint    pl_clock_timeout_add          (PlClock        *self,
                                        guint64         delay_ms,
                                        GSourceFunc     func,
                                        gpointer        user_data);
/* Virtual clocks only: move time forward by @us, making due timeouts ready. */
void     pl_clock_advance              (PlClock        *self,
                                        gint64          us);

G_END_DECLS
