/* pl-upnp-journal.c: an engine's UPnP-IGD mappings in its journal
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

/* The router's table says which mappings forward to this computer, but not which of them the
 * engine made: a one-shot `portlightctl map` makes the same entries, and leaves them open on
 * purpose; and it lists no pinholes at all. So the engine journals its own (PlPcpState,
 * Method=upnp, Owner=engine; the nonce is unused), like NAT-PMP's (pl-client.c, "The
 * journal"): a record is put and on disk before the AddPortMapping or AddPinhole goes out,
 * put again with the public port granted and the lease, and removed once the router
 * confirmed the delete. A restarted engine then deletes those nobody asks for again
 * (pl-journal-sweep.c) and asks for the same public port for those it is asked for again.
 *
 * - An IPv4 mapping (PlUpnpClient): Gateway is the IPv4 gateway, InternalAddress this
 *   computer's LAN address as the router sees it.
 * - An IPv6 pinhole (PlUpnpPinholeClient): Gateway is the IPv6 router the pinholes are asked
 *   of (as for PCP's), InternalAddress the address the pinhole is for, Interface the
 *   router's; the public port is the private one. */

#include "config.h"

#include "pl-upnp-journal.h"

/* A permanent mapping (a router that takes only lease 0) stays until it is deleted: its
 * record must not be forgotten as expired within the journal's life (one boot, tmpfs). */
#define PERMANENT_S (365 * 24 * 3600)

void
pl_upnp_journal_put (PlPcpState   *journal,
                     GInetAddress *gateway,
                     const char   *internal,
                     const char   *interface,
                     PlProtocol    protocol,
                     guint16       internal_port,
                     guint16       external_port,
                     guint32       lease)
{
  g_autoptr(PlPcpRecord) record = NULL;
  g_autoptr(GInetAddress) address = NULL;
  GSocketFamily family;

  if (journal == NULL || internal == NULL)
    return;
  address = g_inet_address_new_from_string (internal);
  if (address == NULL)
    return;
  family = g_inet_address_get_family (address);

  record = pl_pcp_record_new ();
  record->gateway = g_object_ref (gateway);
  record->method = PL_PCP_METHOD_UPNP;
  record->protocol = protocol;
  record->family = family;
  record->internal_address = g_steal_pointer (&address);
  record->internal_port = internal_port;
  record->interface = family == G_SOCKET_FAMILY_IPV6 ? g_strdup (interface) : NULL;
  record->external_port = external_port;
  record->expires = g_get_real_time () / G_USEC_PER_SEC + (lease != 0 ? lease : PERMANENT_S);
  pl_pcp_state_put_merged (journal, record);
  pl_pcp_state_save_later (journal);
}

void
pl_upnp_journal_forget (PlPcpState    *journal,
                        GInetAddress  *gateway,
                        GSocketFamily  family,
                        PlProtocol     protocol,
                        guint16        internal_port)
{
  const PlPcpRecord *known;

  if (journal == NULL)
    return;
  known = pl_pcp_state_lookup (journal, gateway, protocol, internal_port, family);
  if (known == NULL || known->method != PL_PCP_METHOD_UPNP)
    return;
  if (pl_pcp_state_remove (journal, gateway, protocol, internal_port, family))
    pl_pcp_state_save_later (journal);
}

typedef struct
{
  GTask             *task;
  PlUpnpJournalSend  send;
} Waiting;

static void
synced_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Waiting *waiting = user_data;
  g_autoptr(GError) error = NULL;

  if (!pl_pcp_state_sync_finish (PL_PCP_STATE (source), result, &error))
    g_debug ("Cannot save the UPnP-IGD mappings to the journal: %s", error->message);
  waiting->send (waiting->task);
  g_free (waiting);
}

/* Returns: (transfer full): @journal, held */
PlPcpState *
pl_upnp_journal_hold (PlPcpState        *journal,
                      GTask             *task,
                      PlUpnpJournalSend  send)
{
  Waiting *waiting = g_new0 (Waiting, 1);

  waiting->task = task;
  waiting->send = send;
  pl_pcp_state_hold (journal);
  pl_pcp_state_sync_async (journal, synced_cb, waiting);
  return g_object_ref (journal);
}

void
pl_upnp_journal_release (PlPcpState **held)
{
  if (*held == NULL)
    return;
  pl_pcp_state_release (*held);
  g_clear_object (held);
}

/* The public port the journal's record of (@protocol, @internal_port) was granted, or 0. */
guint16
pl_upnp_journal_port (PlPcpState   *journal,
                      GInetAddress *gateway,
                      PlProtocol    protocol,
                      guint16       internal_port)
{
  const PlPcpRecord *known;

  if (journal == NULL)
    return 0;
  known = pl_pcp_state_lookup (journal, gateway, protocol, internal_port, G_SOCKET_FAMILY_IPV4);
  return known != NULL && known->method == PL_PCP_METHOD_UPNP ? known->external_port : 0;
}
