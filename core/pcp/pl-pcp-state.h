/* pl-pcp-state.h: the mappings this computer holds, kept across restarts
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-pcp.h"
#include "pl-types.h"

G_BEGIN_DECLS

/**
 * PlPcpMethod:
 * @PL_PCP_METHOD_PCP: the mapping was made with PCP (RFC 6887)
 * @PL_PCP_METHOD_NATPMP: the mapping was made with NAT-PMP (RFC 6886)
 * @PL_PCP_METHOD_UPNP: the mapping was made with UPnP-IGD (an engine's journal only: the
 *   router's table names it already, but not whether the engine or a one-shot program made
 *   it, and a restarted engine deletes only its own)
 *
 * The protocol spoken with the gateway for one mapping: a renewal or a delete must use it.
 */
typedef enum
{
  PL_PCP_METHOD_PCP = 1,
  PL_PCP_METHOD_NATPMP = 2,
  PL_PCP_METHOD_UPNP = 3,
} PlPcpMethod;

/**
 * PlPcpOwner:
 * @PL_PCP_OWNER_ONE_SHOT: a program that exits and leaves the mapping open until it expires
 *   (`portlightctl map`, the tray); the record has no Owner key
 * @PL_PCP_OWNER_ENGINE: Portlight's engine (`portlightctl run`): a mapping that exists only
 *   while someone asks for it, so a restarted engine deletes the ones nobody asks for again
 *
 * Who made a mapping, which decides whether a restarted engine may sweep it away.
 */
typedef enum
{
  PL_PCP_OWNER_ONE_SHOT = 0,
  PL_PCP_OWNER_ENGINE = 1,
} PlPcpOwner;

/**
 * PlPcpRecord:
 * @gateway: the gateway the mapping was asked of
 * @method: the protocol spoken with it
 * @protocol: the transport protocol mapped
 * @family: %G_SOCKET_FAMILY_IPV4 or %G_SOCKET_FAMILY_IPV6: the family of @internal_address
 * @internal_address: the address on this computer that is mapped
 * @internal_port: 1-65535
 * @external_port: the port the gateway assigned; 0 while no answer has been received
 * @external_address: (nullable): the public address the gateway gave, if known
 * @nonce: the PCP mapping nonce; only the holder of this nonce can renew or delete the mapping
 * @expires: when the mapping ends, in seconds since 1970 (wall clock)
 * @owner: who made the mapping (the Owner key; absent in files of older versions)
 * @interface: (nullable): the network interface @gateway is reached on, for an IPv6 pinhole
 *   (the router is usually a link-local address, which needs it); %NULL if not known (the
 *   Interface key; absent for IPv4 mappings and in files of older versions)
 *
 * One persisted mapping. The addresses and @interface are owned by the record. A record for a request that
 * has been sent but not yet answered should be put (and saved) before the request is sent,
 * with @external_port 0 and @expires set from the lifetime asked for, so that a crash in
 * between does not lose the nonce.
 */
typedef struct
{
  GInetAddress  *gateway;
  PlPcpMethod    method;
  PlProtocol     protocol;
  GSocketFamily  family;
  GInetAddress  *internal_address;
  guint16        internal_port;
  guint16        external_port;
  GInetAddress  *external_address;
  guint8         nonce[PL_PCP_NONCE_SIZE];
  gint64         expires;
  PlPcpOwner     owner;
  char          *interface;
} PlPcpRecord;

#define PL_TYPE_PCP_RECORD (pl_pcp_record_get_type ())

GType         pl_pcp_record_get_type   (void) G_GNUC_CONST;
PlPcpRecord  *pl_pcp_record_new        (void);
PlPcpRecord  *pl_pcp_record_copy       (const PlPcpRecord *record);
void          pl_pcp_record_free       (PlPcpRecord       *record);
void          pl_pcp_record_new_nonce  (PlPcpRecord       *record);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlPcpRecord, pl_pcp_record_free)

#define PL_TYPE_PCP_STATE (pl_pcp_state_get_type ())

G_DECLARE_FINAL_TYPE (PlPcpState, pl_pcp_state, PL, PCP_STATE, GObject)

PlPcpState         *pl_pcp_state_new             (const char    *path);
char               *pl_pcp_state_get_default_path (void);
const char         *pl_pcp_state_get_path        (PlPcpState    *self);
char               *pl_pcp_state_get_engine_path (void);
void                pl_pcp_state_set_owner       (PlPcpState    *self,
                                                  PlPcpOwner     owner);
PlPcpOwner          pl_pcp_state_get_owner       (PlPcpState    *self);
gboolean            pl_pcp_state_load            (PlPcpState    *self,
                                                  GError       **error);
gboolean            pl_pcp_state_save            (PlPcpState    *self,
                                                  GError       **error);
gboolean            pl_pcp_state_can_save        (PlPcpState    *self,
                                                  GError       **error);
void                pl_pcp_state_save_later      (PlPcpState    *self);
void                pl_pcp_state_hold            (PlPcpState    *self);
void                pl_pcp_state_release         (PlPcpState    *self);
void                pl_pcp_state_sync_async      (PlPcpState          *self,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
gboolean            pl_pcp_state_sync_finish     (PlPcpState    *self,
                                                  GAsyncResult  *result,
                                                  GError       **error);
gboolean            pl_pcp_state_flush           (PlPcpState    *self,
                                                  GError       **error);
void                pl_pcp_state_put             (PlPcpState        *self,
                                                  const PlPcpRecord *record);
void                pl_pcp_state_put_merged      (PlPcpState        *self,
                                                  PlPcpRecord       *record);
gboolean            pl_pcp_state_remove          (PlPcpState    *self,
                                                  GInetAddress  *gateway,
                                                  PlProtocol     protocol,
                                                  guint16        internal_port,
                                                  GSocketFamily  family);
const PlPcpRecord  *pl_pcp_state_lookup          (PlPcpState    *self,
                                                  GInetAddress  *gateway,
                                                  PlProtocol     protocol,
                                                  guint16        internal_port,
                                                  GSocketFamily  family);
GPtrArray          *pl_pcp_state_list            (PlPcpState    *self,
                                                  GInetAddress  *gateway);
void                pl_pcp_state_forget_expired  (PlPcpState    *self,
                                                  gint64         now_wall_s);

G_END_DECLS
