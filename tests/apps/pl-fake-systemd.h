/* pl-fake-systemd.h: a scripted systemd user manager (org.freedesktop.systemd1) for tests
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PL_TYPE_FAKE_SYSTEMD (pl_fake_systemd_get_type ())

G_DECLARE_FINAL_TYPE (PlFakeSystemd, pl_fake_systemd, PL, FAKE_SYSTEMD, GObject)

/* Owns org.freedesktop.systemd1 on @bus (returns once it does) and serves what PlAppWatcher
 * asks: Manager.Subscribe, Manager.ListUnits, and the ActiveState property of each unit
 * (org.freedesktop.systemd1.Unit, through org.freedesktop.DBus.Properties.Get). */
PlFakeSystemd *pl_fake_systemd_new          (GDBusConnection *bus,
                                             GError         **error);

/* A unit appears (UnitNew) in @state ("active", "inactive", …). */
void           pl_fake_systemd_add_unit     (PlFakeSystemd   *self,
                                             const char      *id,
                                             const char      *state);
/* ActiveState changes (PropertiesChanged). */
void           pl_fake_systemd_set_state    (PlFakeSystemd   *self,
                                             const char      *id,
                                             const char      *state);
/* The unit is unloaded (UnitRemoved). */
void           pl_fake_systemd_remove_unit  (PlFakeSystemd   *self,
                                             const char      *id);
/* How many times Subscribe was called. */
guint          pl_fake_systemd_get_n_subscribed (PlFakeSystemd *self);

G_END_DECLS
