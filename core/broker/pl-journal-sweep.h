/* pl-journal-sweep.h: a restarted engine deletes the mappings nobody asks for again
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-pcp-state.h"
#include "pl-session.h"

G_BEGIN_DECLS

/* How long a restarted engine waits, once it speaks with a gateway, before it deletes the
 * mappings of its journal that nobody asked for again. Long enough for clients to notice the
 * engine is back and ask again (a D-Bus client sees the name return at once; an application
 * polling every 30 s still makes it), short enough that a closed port does not stay open for
 * long after a crash. */
#define PL_JOURNAL_SWEEP_GRACE_S 60

#define PL_TYPE_JOURNAL_SWEEP (pl_journal_sweep_get_type ())

G_DECLARE_FINAL_TYPE (PlJournalSweep, pl_journal_sweep, PL, JOURNAL_SWEEP, GObject)

PlJournalSweep *pl_journal_sweep_new        (PlSession      *session,
                                             PlPcpState     *journal);
void            pl_journal_sweep_set_grace  (PlJournalSweep *self,
                                             guint           seconds);
guint           pl_journal_sweep_get_grace  (PlJournalSweep *self);

G_END_DECLS
