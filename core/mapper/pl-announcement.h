/* pl-announcement.h: what a gateway multicasts on the announcement port
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * PlAnnouncementKind:
 * @PL_ANNOUNCEMENT_NATPMP: a NAT-PMP announcement (RFC 6886 section 3.2): the 12-byte public
 *   address reply, sent unsolicited when the gateway starts or its public address changes
 * @PL_ANNOUNCEMENT_PCP: a PCP ANNOUNCE (RFC 6887 section 14.1.3), sent when the server
 *   starts or lost its state
 *
 * Both arrive on port 5350 (224.0.0.1, and ff02::1 for PCP over IPv6).
 */
typedef enum
{
  PL_ANNOUNCEMENT_NATPMP,
  PL_ANNOUNCEMENT_PCP,
} PlAnnouncementKind;

/**
 * PlAnnouncement:
 * @kind: which protocol announced
 * @epoch: the gateway's epoch (seconds since its state began)
 * @result: the result code (0: success)
 * @has_address: %TRUE when @address is a public address to take: a NAT-PMP announcement
 *   with result 0 and an address other than 0.0.0.0 (a gateway without a public address yet
 *   says 0.0.0.0, RFC 6886 section 3.2)
 * @address: the public IPv4 address, network order, when @has_address
 *
 * One parsed announcement. Pure data: no I/O.
 */
typedef struct
{
  PlAnnouncementKind kind;
  guint32            epoch;
  guint              result;
  gboolean           has_address;
  guint8             address[4];
} PlAnnouncement;

/* Parse a datagram received on the announcement port. FALSE with PL_ERROR_MALFORMED_REPLY
 * and a message saying what it was when it is neither kind (a request, another opcode, a
 * truncated packet, ...). */
gboolean pl_announcement_parse (const guint8   *data,
                                gsize           len,
                                PlAnnouncement *out,
                                GError        **error);

G_END_DECLS
