/* pl-announcement.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "pl-announcement.h"
#include "pl-error.h"
#include "pl-natpmp.h"

gboolean
pl_announcement_parse (const guint8   *data,
                       gsize           len,
                       PlAnnouncement *out,
                       GError        **error)
{
  g_autoptr(GError) local_error = NULL;
  PlNatpmpReply reply;

  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (out, 0, sizeof *out);

  /* The NAT-PMP codec reads both: a version-0 reply, or a version-2 (PCP) header. */
  if (!pl_natpmp_parse_reply (data, len, &reply, &local_error))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  if (reply.kind == PL_NATPMP_PACKET_EXTERNAL_ADDRESS &&
      reply.version == PL_NATPMP_VERSION &&
      len == PL_NATPMP_EXTERNAL_ADDRESS_REPLY_SIZE)
    {
      static const guint8 unspecified[4] = { 0, 0, 0, 0 };

      out->kind = PL_ANNOUNCEMENT_NATPMP;
      out->epoch = reply.epoch;
      out->result = reply.result;
      out->has_address = reply.result == PL_NATPMP_RESULT_SUCCESS &&
                         memcmp (reply.external_address, unspecified, 4) != 0;
      if (out->has_address)
        memcpy (out->address, reply.external_address, 4);
      return TRUE;
    }

  if (reply.kind == PL_NATPMP_PACKET_PCP &&
      reply.version == PL_PCP_VERSION &&
      reply.opcode == PL_NATPMP_RESPONSE_BIT &&
      len >= PL_PCP_ANNOUNCE_SIZE)
    {
      /* Bytes 8-11 of a PCP ANNOUNCE are its epoch, not an address. */
      out->kind = PL_ANNOUNCEMENT_PCP;
      out->epoch = reply.epoch;
      out->result = reply.result;
      return TRUE;
    }

  g_set_error (error, PL_ERROR, PL_ERROR_MALFORMED_REPLY,
               _("A %u-byte packet (version %u, opcode %u) is not an announcement"),
               (guint) len, (guint) reply.version, (guint) reply.opcode);
  return FALSE;
}
