/* pl-pcp.h: pure PCP (RFC 6887) codec
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

#include "pl-types.h"

G_BEGIN_DECLS

/* Pure PCP codec (RFC 6887): no I/O, no GObject, written by hand because no maintained C
 * library for PCP exists in Debian (libpcp-client and libpcpnatpmp are not packaged, and
 * libnatpmp speaks NAT-PMP only). Every builder writes into a caller buffer and returns the
 * number of bytes written, or 0 when @len is too small or the input is invalid. Integers on
 * the wire are big-endian. Addresses are always 16 bytes: IPv4 as IPv4-mapped IPv6
 * (::ffff:a.b.c.d, RFC 6887 section 5), IPv6 as they are.
 *
 * Only MAP (opcode 1) and ANNOUNCE (opcode 0) are built and parsed; PEER (2) is recognised
 * and reported as unsupported. Options: THIRD_PARTY (1), PREFER_FAILURE (2), FILTER (3). */

#define PL_PCP_SERVER_PORT          5351
#define PL_PCP_CLIENT_PORT          5350
#define PL_PCP_ANNOUNCE_GROUP_V4    "224.0.0.1"
#define PL_PCP_ANNOUNCE_GROUP_V6    "ff02::1"
#define PL_PCP_PROTOCOL_VERSION     2
#define PL_PCP_RESPONSE_BIT         0x80

#define PL_PCP_HEADER_SIZE          24
#define PL_PCP_MAP_PAYLOAD_SIZE     36
#define PL_PCP_MAP_SIZE             (PL_PCP_HEADER_SIZE + PL_PCP_MAP_PAYLOAD_SIZE)   /* 60 */
#define PL_PCP_MAX_MESSAGE          1100
#define PL_PCP_NONCE_SIZE           12
#define PL_PCP_MAX_FILTERS          4

#define PL_PCP_OP_ANNOUNCE          0
#define PL_PCP_OP_MAP               1
#define PL_PCP_OP_PEER              2

#define PL_PCP_OPTION_THIRD_PARTY     1   /* 16 bytes: an address */
#define PL_PCP_OPTION_PREFER_FAILURE  2   /* 0 bytes */
#define PL_PCP_OPTION_FILTER          3   /* 20 bytes: reserved, prefix length, port, address */
/* Option codes 0-127 must be understood by the receiver; 128-255 may be ignored. */
#define PL_PCP_OPTION_OPTIONAL_MIN    128

/* IANA protocol numbers used in the MAP payload. */
#define PL_PCP_IANA_TCP             6
#define PL_PCP_IANA_UDP             17

typedef enum
{
  PL_PCP_RESULT_SUCCESS = 0,
  PL_PCP_RESULT_UNSUPP_VERSION = 1,
  PL_PCP_RESULT_NOT_AUTHORIZED = 2,
  PL_PCP_RESULT_MALFORMED_REQUEST = 3,
  PL_PCP_RESULT_UNSUPP_OPCODE = 4,
  PL_PCP_RESULT_UNSUPP_OPTION = 5,
  PL_PCP_RESULT_MALFORMED_OPTION = 6,
  PL_PCP_RESULT_NETWORK_FAILURE = 7,
  PL_PCP_RESULT_NO_RESOURCES = 8,
  PL_PCP_RESULT_UNSUPP_PROTOCOL = 9,
  PL_PCP_RESULT_USER_EX_QUOTA = 10,
  PL_PCP_RESULT_CANNOT_PROVIDE_EXTERNAL = 11,
  PL_PCP_RESULT_ADDRESS_MISMATCH = 12,
  PL_PCP_RESULT_EXCESSIVE_REMOTE_PEERS = 13,
} PlPcpResult;

typedef struct
{
  guint8  prefix_length;        /* 0-128 (IPv4: 96 + IPv4 prefix) */
  guint16 remote_port;          /* 0 = all ports */
  guint8  remote_address[16];
} PlPcpFilter;

/* A MAP request (client side), or what a server parsed (pl_pcp_parse_request). */
typedef struct
{
  guint32     lifetime;                         /* seconds; 0 deletes */
  guint8      client_address[16];               /* must be the source the server sees */
  guint8      nonce[PL_PCP_NONCE_SIZE];
  guint8      protocol;                         /* IANA number; 0 = all protocols */
  guint16     internal_port;                    /* 0 only with protocol 0 */
  guint16     suggested_external_port;          /* 0 = no preference */
  guint8      suggested_external_address[16];   /* all zero (or ::ffff:0.0.0.0) = none */
  gboolean    prefer_failure;
  gboolean    has_third_party;
  guint8      third_party_address[16];
  guint       n_filters;
  PlPcpFilter filters[PL_PCP_MAX_FILTERS];
} PlPcpMapRequest;

/* A parsed response (client side). For ANNOUNCE only the header fields are set. */
typedef struct
{
  guint8      opcode;                            /* without the R bit */
  guint8      result;                            /* PlPcpResult, or an unknown value */
  guint32     lifetime;
  guint32     epoch;
  /* MAP, when has_map_payload (always for SUCCESS; an error response may be header only) */
  gboolean    has_map_payload;
  guint8      nonce[PL_PCP_NONCE_SIZE];
  guint8      protocol;
  guint16     internal_port;
  guint16     assigned_external_port;
  guint8      assigned_external_address[16];
  /* Options seen in the response */
  gboolean    prefer_failure;
  gboolean    has_third_party;
  guint8      third_party_address[16];
  guint       n_filters;                         /* at most PL_PCP_MAX_FILTERS kept */
  PlPcpFilter filters[PL_PCP_MAX_FILTERS];
  guint       n_ignored_options;                 /* unknown optional options (128-255) */
} PlPcpResponse;

/* Addresses. */
void      pl_pcp_address_from_ipv4           (const guint8  ipv4[4],
                                              guint8        out[16]);
/* TRUE when @address is IPv4-mapped; then @ipv4 (nullable) gets the 4 bytes. */
gboolean  pl_pcp_address_is_ipv4             (const guint8  address[16],
                                              guint8       *ipv4);

guint8    pl_pcp_protocol_to_iana            (PlProtocol    protocol);

/* Client side. */
gsize     pl_pcp_build_map_request           (guint8                *buf,
                                              gsize                  len,
                                              const PlPcpMapRequest *request);
/* A solicited ANNOUNCE (RFC 6887 section 14.1): the "is a PCP server there" probe. */
gsize     pl_pcp_build_announce_request      (guint8                *buf,
                                              gsize                  len,
                                              const guint8           client_address[16]);

/* An 8-byte NAT-PMP reply `00 | 80+op | 00 01 | epoch` to a PCP request: the server speaks
 * NAT-PMP only (RFC 6887 section 9). Checked before pl_pcp_parse_response; @epoch nullable. */
gboolean  pl_pcp_is_natpmp_downgrade         (const guint8  *data,
                                              gsize          len,
                                              guint32       *epoch);

/* Parse what a server sent. FALSE with PL_ERROR_MALFORMED_REPLY saying precisely what is
 * wrong: shorter than 24 bytes, longer than 1100, not a multiple of 4, version not 2, R bit
 * clear, a MAP SUCCESS shorter than 60 bytes, an option that runs past the end, a known option
 * of the wrong length, PREFER_FAILURE or THIRD_PARTY twice, or an unknown option 0-127. A
 * well-formed response with a non-zero result returns TRUE (the caller turns it into an error
 * with pl_pcp_error_new). Never reads at or past @len. */
gboolean  pl_pcp_parse_response              (const guint8   *data,
                                              gsize           len,
                                              PlPcpResponse  *out,
                                              GError        **error);

/* Server side (the fake gateway in tests/). */
gboolean  pl_pcp_parse_request               (const guint8    *data,
                                              gsize            len,
                                              guint8          *opcode,
                                              PlPcpMapRequest *out,
                                              GError         **error);
/* A MAP response: the request's payload and options echoed, with @result, @lifetime,
 * @epoch, the assigned port and address. */
gsize     pl_pcp_build_map_response          (guint8                *buf,
                                              gsize                  len,
                                              const PlPcpMapRequest *request,
                                              guint8                 result,
                                              guint32                lifetime,
                                              guint32                epoch,
                                              guint16                assigned_external_port,
                                              const guint8           assigned_external_address[16]);
/* A 24-byte ANNOUNCE response (solicited, or unsolicited to 224.0.0.1 / ff02::1:5350). */
gsize     pl_pcp_build_announce_response     (guint8                *buf,
                                              gsize                  len,
                                              guint8                 result,
                                              guint32                epoch);
/* A header-only error response for @opcode (what a server sends for a request too broken to
 * echo). */
gsize     pl_pcp_build_error_response        (guint8                *buf,
                                              gsize                  len,
                                              guint8                 opcode,
                                              guint8                 result,
                                              guint32                lifetime,
                                              guint32                epoch);

/* A GError for a non-zero PCP result code (RFC 6887 section 7.4), with a plain, actionable,
 * translated message naming @gateway. Codes 1-13 each get their own message; any other gives
 * PL_ERROR_UNKNOWN_RESULT ("unknown result"). (pl-pcp-error.c) */
GError   *pl_pcp_error_new                   (guint          result_code,
                                              const char    *gateway);

/* TRUE for results that mean "the mapping is not there" on a delete (NO_RESOURCES from
 * miniupnpd, tests/lab/MINIUPNPD.md, item 6): a delete that gets it has succeeded. */
gboolean  pl_pcp_result_means_gone          (guint8         result);

/* Renewal timing (RFC 6887 section 11.2.1): the delay in milliseconds from the grant of
 * @granted_lifetime_s at which to send renewal attempt @attempt (1, 2, ...): at @uniform01
 * (in [0, 1], clamped) of the window [(1 - 2^-k) L, (1 - 2^-k + 2^-(k+2)) L]. G_MAXUINT64
 * when no attempt k is to be made: k = 0, the window's start is less than 4 s after the
 * previous window's start (2^-k L < 4 s; window 0 starts at the grant), or the delay would
 * not fall before the expiry. With L = 120 s: four attempts. */
guint64   pl_pcp_renew_delay_ms             (guint32        granted_lifetime_s,
                                              guint          attempt,
                                              double         uniform01);

G_END_DECLS
