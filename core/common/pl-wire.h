/* pl-wire.h: big-endian integers in wire buffers, for the pure codecs
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* NAT-PMP and PCP put every integer on the wire in network order. These read and write one at
 * @p, which the caller has checked to hold 2 or 4 bytes. */

static inline void
pl_wire_put_u16 (guint8  *p,
                 guint16  v)
{
  p[0] = (guint8) (v >> 8);
  p[1] = (guint8) (v & 0xff);
}

static inline void
pl_wire_put_u32 (guint8  *p,
                 guint32  v)
{
  p[0] = (guint8) (v >> 24);
  p[1] = (guint8) ((v >> 16) & 0xff);
  p[2] = (guint8) ((v >> 8) & 0xff);
  p[3] = (guint8) (v & 0xff);
}

static inline guint16
pl_wire_get_u16 (const guint8 *p)
{
  return (guint16) (((guint16) p[0] << 8) | p[1]);
}

static inline guint32
pl_wire_get_u32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

G_END_DECLS
