/* pl-types.h
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * PlProtocol:
 * @PL_PROTOCOL_UDP: UDP (NAT-PMP opcode 1)
 * @PL_PROTOCOL_TCP: TCP (NAT-PMP opcode 2)
 *
 * The transport protocol of one mapping. The values are the NAT-PMP map opcodes.
 */
typedef enum
{
  PL_PROTOCOL_UDP = 1,
  PL_PROTOCOL_TCP = 2,
} PlProtocol;

const char *pl_protocol_to_string (PlProtocol protocol);

typedef struct _PlClock PlClock;
typedef struct _PlClient PlClient;

G_END_DECLS
