/* pl-method-memory.h: which protocol each gateway speaks, remembered across restarts
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-mapper-probe.h"

G_BEGIN_DECLS

/* At most this many gateways are remembered; the least recently seen go first. */
#define PL_METHOD_MEMORY_MAX_GATEWAYS 64

#define PL_TYPE_METHOD_MEMORY (pl_method_memory_get_type ())

G_DECLARE_FINAL_TYPE (PlMethodMemory, pl_method_memory, PL, METHOD_MEMORY, GObject)

PlMethodMemory  *pl_method_memory_new               (const char      *path);
char            *pl_method_memory_get_default_path  (void);
const char      *pl_method_memory_get_path          (PlMethodMemory  *self);
gboolean         pl_method_memory_load              (PlMethodMemory  *self,
                                                     GError         **error);
gboolean         pl_method_memory_save              (PlMethodMemory  *self,
                                                     GError         **error);
gboolean         pl_method_memory_can_save          (PlMethodMemory  *self,
                                                     GError         **error);
gboolean         pl_method_memory_lookup            (PlMethodMemory  *self,
                                                     GInetAddress    *gateway,
                                                     const guint8    *mac,
                                                     PlMethod        *method);
void             pl_method_memory_remember          (PlMethodMemory  *self,
                                                     GInetAddress    *gateway,
                                                     const guint8    *mac,
                                                     PlMethod         method);
gboolean         pl_method_memory_forget            (PlMethodMemory  *self,
                                                     GInetAddress    *gateway,
                                                     const guint8    *mac);
guint            pl_method_memory_get_n_gateways    (PlMethodMemory  *self);

G_END_DECLS
