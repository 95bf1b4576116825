/* pl-natpmp.h
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

#include "pl-types.h"

G_BEGIN_DECLS

/* Pure NAT-PMP codec (RFC 6886): no I/O, no GObject. Every builder writes into a caller buffer
 * and returns the number of bytes written, or 0 when @len is too small. All integers on the
 * wire are big-endian; IPv4 addresses are 4 bytes in network order (a.b.c.d), never swapped. */

#define PL_NATPMP_SERVER_PORT        5351
#define PL_NATPMP_CLIENT_PORT        5350
#define PL_NATPMP_ANNOUNCE_GROUP     "224.0.0.1"
#define PL_NATPMP_VERSION            0
#define PL_PCP_VERSION               2
#define PL_NATPMP_RESPONSE_BIT       0x80
/* Receive buffers are this large (PCP's maximum message), whatever we expect (PMP-41). */
#define PL_NATPMP_MAX_PACKET         1100

#define PL_NATPMP_OP_EXTERNAL_ADDRESS 0
#define PL_NATPMP_OP_MAP_UDP          1
#define PL_NATPMP_OP_MAP_TCP          2

#define PL_NATPMP_EXTERNAL_ADDRESS_REQUEST_SIZE 2
#define PL_NATPMP_EXTERNAL_ADDRESS_REPLY_SIZE   12
#define PL_NATPMP_MAP_REQUEST_SIZE              12
#define PL_NATPMP_MAP_REPLY_SIZE                16
#define PL_NATPMP_SHORT_REPLY_SIZE              8
#define PL_PCP_ANNOUNCE_SIZE                    24

typedef enum
{
  PL_NATPMP_RESULT_SUCCESS = 0,
  PL_NATPMP_RESULT_UNSUPPORTED_VERSION = 1,
  PL_NATPMP_RESULT_NOT_AUTHORIZED = 2,
  PL_NATPMP_RESULT_NETWORK_FAILURE = 3,
  PL_NATPMP_RESULT_OUT_OF_RESOURCES = 4,
  PL_NATPMP_RESULT_UNSUPPORTED_OPCODE = 5,
} PlNatpmpResult;

/**
 * PlNatpmpPacketKind:
 * @PL_NATPMP_PACKET_EXTERNAL_ADDRESS: 12-byte external address reply or announcement (op 128)
 * @PL_NATPMP_PACKET_MAP: 16-byte map reply (op 129 or 130)
 * @PL_NATPMP_PACKET_SHORT_ERROR: 8-byte reply carrying a non-zero result (e.g. unsupported
 *   opcode, or Unsupported Version in any of its forms: opcode 0, 128 or 128 + request opcode)
 * @PL_NATPMP_PACKET_PCP: a PCP (version 2) packet, such as the 24-byte PCP ANNOUNCE
 */
typedef enum
{
  PL_NATPMP_PACKET_EXTERNAL_ADDRESS,
  PL_NATPMP_PACKET_MAP,
  PL_NATPMP_PACKET_SHORT_ERROR,
  PL_NATPMP_PACKET_PCP,
} PlNatpmpPacketKind;

typedef struct
{
  PlNatpmpPacketKind kind;
  guint8   version;
  guint8   opcode;            /* the raw opcode byte as received */
  guint16  result;            /* NAT-PMP result code (PCP: byte 3) */
  guint32  epoch;             /* seconds since start of epoch (PCP: epoch time) */
  guint8   external_address[4]; /* EXTERNAL_ADDRESS only; meaningless when result != 0 */
  guint16  internal_port;     /* MAP only */
  guint16  external_port;     /* MAP only */
  guint32  lifetime;          /* MAP only (PCP: the header's lifetime) */
} PlNatpmpReply;

typedef struct
{
  guint8   version;
  guint8   opcode;
  guint16  internal_port;
  guint16  external_port;
  guint32  lifetime;
} PlNatpmpRequest;

/* Requests (client side). */
gsize    pl_natpmp_build_external_address_request (guint8       *buf,
                                                   gsize         len);
/* @lifetime 0 deletes; then @suggested_external_port must be 0. */
gsize    pl_natpmp_build_map_request              (guint8       *buf,
                                                   gsize         len,
                                                   PlProtocol    protocol,
                                                   guint16       internal_port,
                                                   guint16       suggested_external_port,
                                                   guint32       lifetime);
gsize    pl_natpmp_build_unmap_request            (guint8       *buf,
                                                   gsize         len,
                                                   PlProtocol    protocol,
                                                   guint16       internal_port);
gsize    pl_natpmp_build_unmap_all_request        (guint8       *buf,
                                                   gsize         len,
                                                   PlProtocol    protocol);

/* Replies and announcements (server side: the fake gateway, fuzz seeds). */
gsize    pl_natpmp_build_external_address_reply   (guint8       *buf,
                                                   gsize         len,
                                                   guint16       result,
                                                   guint32       epoch,
                                                   const guint8  address[4]);
gsize    pl_natpmp_build_map_reply                (guint8       *buf,
                                                   gsize         len,
                                                   PlProtocol    protocol,
                                                   guint16       result,
                                                   guint32       epoch,
                                                   guint16       internal_port,
                                                   guint16       external_port,
                                                   guint32       lifetime);
/* 8 bytes: version 0, @opcode as given, @result, epoch. */
gsize    pl_natpmp_build_short_reply              (guint8       *buf,
                                                   gsize         len,
                                                   guint8        opcode,
                                                   guint16       result,
                                                   guint32       epoch);
gsize    pl_natpmp_build_pcp_announce             (guint8       *buf,
                                                   gsize         len,
                                                   guint32       epoch);

/* Parse what a gateway sent. Checks length, version, opcode and result consistency and never
 * reads past @len. A well-formed reply with a non-zero result returns TRUE (the caller turns
 * out->result into an error); a malformed one returns FALSE with PL_ERROR_MALFORMED_REPLY
 * saying precisely what is wrong. A version-2 packet returns TRUE with kind
 * PL_NATPMP_PACKET_PCP when it has a valid 24-byte-or-longer PCP header. */
gboolean pl_natpmp_parse_reply                    (const guint8  *data,
                                                   gsize          len,
                                                   PlNatpmpReply *out,
                                                   GError       **error);

/* Parse a request (server side). FALSE with PL_ERROR_MALFORMED_REPLY when it is not one. */
gboolean pl_natpmp_parse_request                  (const guint8    *data,
                                                   gsize            len,
                                                   PlNatpmpRequest *out,
                                                   GError         **error);

/* TRUE when @address (network order) cannot be a public Internet address: 0.0.0.0, RFC 1918
 * (10/8, 172.16/12, 192.168/16) or carrier-grade NAT (100.64/10). A router that reports such
 * an address sits behind another NAT (PMP-37). */
gboolean pl_natpmp_address_is_double_nat         (const guint8  address[4]);

/* A GError for a non-zero NAT-PMP result code, with a plain, actionable, translated message
 * that names @gateway (e.g. "192.168.1.1"). Codes outside 1-5 give PL_ERROR_UNKNOWN_RESULT.
 * (pl-natpmp-error.c) */
GError  *pl_natpmp_error_new                      (guint          result_code,
                                                   const char    *gateway);

G_END_DECLS
