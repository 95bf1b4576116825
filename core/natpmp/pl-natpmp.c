/* pl-natpmp.c: pure NAT-PMP (RFC 6886) codec
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "pl-error.h"
#include "pl-wire.h"
#include "pl-natpmp.h"

/* Parsing rules (see RFC 6886 sections 3.2-3.5, RFC 6887 Appendix A and PMP-02, 15, 29, 41).
 *
 * Replies, by version byte:
 *   2      A PCP packet: valid when it is 24 to 1100 bytes long, a multiple of 4, and has the R
 *          bit set. Only the common header is decoded (kind PCP). Anything else is malformed.
 *   1, >2  Malformed (version 1 is forbidden, higher ones do not exist).
 *   0      NAT-PMP. Opcodes below 128 are requests, not replies, with one exception: an
 *          Unsupported Version reply (result 1) with opcode byte 0, the form of the RFC's
 *          original figure. Then:
 *            128      12 bytes or more: EXTERNAL_ADDRESS (a success with 0.0.0.0 stays
 *                     parseable; the client decides what it means).
 *            129, 130 16 bytes or more: MAP.
 *            other    Opcodes 131-255 are only valid as a short error (result 5 echoes).
 *          A datagram of 8 bytes or more with a non-zero result that is too short to be the
 *          full reply for its opcode is a SHORT_ERROR: the result and epoch are all it carries
 *          (Unsupported Version with opcode 0, 128 or 128 + op; result 5 echoes).
 *
 * Longer-than-expected datagrams (PMP-41): a NAT-PMP reply longer than its kind is accepted
 * and the tail is ignored, because receive buffers are PCP-sized and some gateways pad. No
 * byte at or beyond @len is ever read. A PCP packet must still obey PCP's own length rules.
 *
 * Requests (server side), by version byte:
 *   0      Opcode 0: address request (2 bytes or more). Opcodes 1 and 2: map request (12 bytes
 *          or more; the reserved field is ignored). Opcodes 3-127: returned as they are (no
 *          fields decoded) so that a server can answer result 5. Opcodes 128 and above are
 *          replies: malformed.
 *   other  Any version with an opcode below 128 (the R bit clear) is returned with only version
 *          and opcode set, so that a server can answer Unsupported Version. */

#define PCP_MAX_PACKET PL_NATPMP_MAX_PACKET
#define BYTES(n) ((n) == 1 ? "byte" : "bytes")

const char *
pl_protocol_to_string (PlProtocol protocol)
{
  switch (protocol)
    {
    case PL_PROTOCOL_UDP:
      return "udp";
    case PL_PROTOCOL_TCP:
      return "tcp";
    default:
      g_return_val_if_reached (NULL);
    }
}

static gboolean
protocol_is_valid (PlProtocol protocol)
{
  return protocol == PL_PROTOCOL_UDP || protocol == PL_PROTOCOL_TCP;
}

/**
 * pl_natpmp_build_external_address_request:
 * @buf: (out caller-allocates): where to write
 * @len: the size of @buf
 *
 * Writes the 2-byte external address request `00 00`.
 *
 * Returns: the number of bytes written, or 0 when @len is too small
 */
gsize
pl_natpmp_build_external_address_request (guint8 *buf,
                                          gsize   len)
{
  g_return_val_if_fail (buf != NULL || len == 0, 0);

  if (len < PL_NATPMP_EXTERNAL_ADDRESS_REQUEST_SIZE)
    return 0;

  buf[0] = PL_NATPMP_VERSION;
  buf[1] = PL_NATPMP_OP_EXTERNAL_ADDRESS;

  return PL_NATPMP_EXTERNAL_ADDRESS_REQUEST_SIZE;
}

/**
 * pl_natpmp_build_map_request:
 * @buf: (out caller-allocates): where to write
 * @len: the size of @buf
 * @protocol: UDP or TCP
 * @internal_port: the local port, 0 only to delete all mappings of @protocol
 * @suggested_external_port: the wanted external port; 0 when @lifetime is 0
 * @lifetime: requested lifetime in seconds, 0 to delete
 *
 * Writes a 12-byte map request (RFC 6886 section 3.3).
 *
 * Returns: the number of bytes written, or 0 when @len is too small
 */
gsize
pl_natpmp_build_map_request (guint8     *buf,
                             gsize       len,
                             PlProtocol  protocol,
                             guint16     internal_port,
                             guint16     suggested_external_port,
                             guint32     lifetime)
{
  g_return_val_if_fail (buf != NULL || len == 0, 0);
  g_return_val_if_fail (protocol_is_valid (protocol), 0);
  g_return_val_if_fail (lifetime != 0 || suggested_external_port == 0, 0);

  if (len < PL_NATPMP_MAP_REQUEST_SIZE)
    return 0;

  buf[0] = PL_NATPMP_VERSION;
  buf[1] = (guint8) protocol;
  pl_wire_put_u16 (buf + 2, 0);
  pl_wire_put_u16 (buf + 4, internal_port);
  pl_wire_put_u16 (buf + 6, suggested_external_port);
  pl_wire_put_u32 (buf + 8, lifetime);

  return PL_NATPMP_MAP_REQUEST_SIZE;
}

/**
 * pl_natpmp_build_unmap_request:
 * @buf: (out caller-allocates): where to write
 * @len: the size of @buf
 * @protocol: UDP or TCP
 * @internal_port: the local port of the mapping to delete
 *
 * Writes a 12-byte delete request: lifetime 0, suggested external port 0 (PMP-24).
 *
 * Returns: the number of bytes written, or 0 when @len is too small
 */
gsize
pl_natpmp_build_unmap_request (guint8     *buf,
                               gsize       len,
                               PlProtocol  protocol,
                               guint16     internal_port)
{
  return pl_natpmp_build_map_request (buf, len, protocol, internal_port, 0, 0);
}

/**
 * pl_natpmp_build_unmap_all_request:
 * @buf: (out caller-allocates): where to write
 * @len: the size of @buf
 * @protocol: UDP or TCP
 *
 * Writes a 12-byte "delete all mappings of @protocol" request: internal port, external port
 * and lifetime all 0 (PMP-25).
 *
 * Returns: the number of bytes written, or 0 when @len is too small
 */
gsize
pl_natpmp_build_unmap_all_request (guint8     *buf,
                                   gsize       len,
                                   PlProtocol  protocol)
{
  return pl_natpmp_build_map_request (buf, len, protocol, 0, 0, 0);
}

/**
 * pl_natpmp_build_external_address_reply:
 * @buf: (out caller-allocates): where to write
 * @len: the size of @buf
 * @result: the result code
 * @epoch: seconds since start of epoch
 * @address: the external IPv4 address, network order
 *
 * Writes a 12-byte external address reply, which is also the announcement format.
 *
 * Returns: the number of bytes written, or 0 when @len is too small
 */
gsize
pl_natpmp_build_external_address_reply (guint8       *buf,
                                        gsize         len,
                                        guint16       result,
                                        guint32       epoch,
                                        const guint8  address[4])
{
  g_return_val_if_fail (buf != NULL || len == 0, 0);
  g_return_val_if_fail (address != NULL, 0);

  if (len < PL_NATPMP_EXTERNAL_ADDRESS_REPLY_SIZE)
    return 0;

  buf[0] = PL_NATPMP_VERSION;
  buf[1] = PL_NATPMP_RESPONSE_BIT | PL_NATPMP_OP_EXTERNAL_ADDRESS;
  pl_wire_put_u16 (buf + 2, result);
  pl_wire_put_u32 (buf + 4, epoch);
  memcpy (buf + 8, address, 4);

  return PL_NATPMP_EXTERNAL_ADDRESS_REPLY_SIZE;
}

/**
 * pl_natpmp_build_map_reply:
 * @buf: (out caller-allocates): where to write
 * @len: the size of @buf
 * @protocol: UDP or TCP; the opcode is 128 + @protocol
 * @result: the result code
 * @epoch: seconds since start of epoch
 * @internal_port: the internal port of the request
 * @external_port: the mapped external port
 * @lifetime: the granted lifetime in seconds
 *
 * Writes a 16-byte map reply.
 *
 * Returns: the number of bytes written, or 0 when @len is too small
 */
gsize
pl_natpmp_build_map_reply (guint8     *buf,
                           gsize       len,
                           PlProtocol  protocol,
                           guint16     result,
                           guint32     epoch,
                           guint16     internal_port,
                           guint16     external_port,
                           guint32     lifetime)
{
  g_return_val_if_fail (buf != NULL || len == 0, 0);
  g_return_val_if_fail (protocol_is_valid (protocol), 0);

  if (len < PL_NATPMP_MAP_REPLY_SIZE)
    return 0;

  buf[0] = PL_NATPMP_VERSION;
  buf[1] = (guint8) (PL_NATPMP_RESPONSE_BIT | protocol);
  pl_wire_put_u16 (buf + 2, result);
  pl_wire_put_u32 (buf + 4, epoch);
  pl_wire_put_u16 (buf + 8, internal_port);
  pl_wire_put_u16 (buf + 10, external_port);
  pl_wire_put_u32 (buf + 12, lifetime);

  return PL_NATPMP_MAP_REPLY_SIZE;
}

/**
 * pl_natpmp_build_short_reply:
 * @buf: (out caller-allocates): where to write
 * @len: the size of @buf
 * @opcode: the opcode byte, written as given (0, 128 or 128 + op for Unsupported Version)
 * @result: the result code
 * @epoch: seconds since start of epoch
 *
 * Writes an 8-byte error reply: version 0, @opcode, @result, @epoch.
 *
 * Returns: the number of bytes written, or 0 when @len is too small
 */
gsize
pl_natpmp_build_short_reply (guint8  *buf,
                             gsize    len,
                             guint8   opcode,
                             guint16  result,
                             guint32  epoch)
{
  g_return_val_if_fail (buf != NULL || len == 0, 0);

  if (len < PL_NATPMP_SHORT_REPLY_SIZE)
    return 0;

  buf[0] = PL_NATPMP_VERSION;
  buf[1] = opcode;
  pl_wire_put_u16 (buf + 2, result);
  pl_wire_put_u32 (buf + 4, epoch);

  return PL_NATPMP_SHORT_REPLY_SIZE;
}

/**
 * pl_natpmp_build_pcp_announce:
 * @buf: (out caller-allocates): where to write
 * @len: the size of @buf
 * @epoch: the PCP epoch time
 *
 * Writes a 24-byte PCP ANNOUNCE response (version 2, opcode 0x80, result 0, lifetime 0), as
 * miniupnpd multicasts it to 224.0.0.1:5350.
 *
 * Returns: the number of bytes written, or 0 when @len is too small
 */
gsize
pl_natpmp_build_pcp_announce (guint8  *buf,
                              gsize    len,
                              guint32  epoch)
{
  g_return_val_if_fail (buf != NULL || len == 0, 0);

  if (len < PL_PCP_ANNOUNCE_SIZE)
    return 0;

  memset (buf, 0, PL_PCP_ANNOUNCE_SIZE);
  buf[0] = PL_PCP_VERSION;
  buf[1] = PL_NATPMP_RESPONSE_BIT;   /* R bit, opcode 0 (ANNOUNCE) */
  pl_wire_put_u32 (buf + 8, epoch);

  return PL_PCP_ANNOUNCE_SIZE;
}

static gboolean
malformed (GError     **error,
           const char  *format,
           ...) G_GNUC_PRINTF (2, 3);

static gboolean
malformed (GError     **error,
           const char  *format,
           ...)
{
  va_list args;

  va_start (args, format);
  if (error != NULL)
    {
      g_assert (*error == NULL);
      *error = g_error_new_valist (PL_ERROR, PL_ERROR_MALFORMED_REPLY, format, args);
    }
  va_end (args);

  return FALSE;
}

static gboolean
parse_pcp (const guint8  *data,
           gsize          len,
           PlNatpmpReply *reply,
           GError       **error)
{
  if (len < PL_PCP_ANNOUNCE_SIZE)
    return malformed (error, "PCP packet is %" G_GSIZE_FORMAT " %s, a PCP header needs %d",
                      len, BYTES (len), PL_PCP_ANNOUNCE_SIZE);
  if (len > PCP_MAX_PACKET)
    return malformed (error, "PCP packet is %" G_GSIZE_FORMAT " %s, more than the %d allowed",
                      len, BYTES (len), PCP_MAX_PACKET);
  if (len % 4 != 0)
    return malformed (error, "PCP packet is %" G_GSIZE_FORMAT " %s, not a multiple of 4",
                      len, BYTES (len));
  if ((data[1] & PL_NATPMP_RESPONSE_BIT) == 0)
    return malformed (error, "PCP opcode %u is a request, not a response (R bit clear)",
                      (guint) data[1]);

  reply->kind = PL_NATPMP_PACKET_PCP;
  reply->opcode = data[1];
  reply->result = data[3];
  reply->lifetime = pl_wire_get_u32 (data + 4);
  reply->epoch = pl_wire_get_u32 (data + 8);

  return TRUE;
}

/* The full size and name of the reply for a NAT-PMP response opcode, or 0 for opcodes that only
 * ever come back as a short error. */
static gsize
reply_size_for_opcode (guint8       opcode,
                       const char **what)
{
  switch (opcode)
    {
    case PL_NATPMP_RESPONSE_BIT | PL_NATPMP_OP_EXTERNAL_ADDRESS:
      *what = "an external address reply";
      return PL_NATPMP_EXTERNAL_ADDRESS_REPLY_SIZE;
    case PL_NATPMP_RESPONSE_BIT | PL_NATPMP_OP_MAP_UDP:
    case PL_NATPMP_RESPONSE_BIT | PL_NATPMP_OP_MAP_TCP:
      *what = "a map reply";
      return PL_NATPMP_MAP_REPLY_SIZE;
    default:
      *what = "an error reply";
      return 0;
    }
}

static gboolean
parse_natpmp (const guint8  *data,
              gsize          len,
              PlNatpmpReply *reply,
              GError       **error)
{
  const char *what = NULL;
  gsize full_size;
  guint8 opcode;
  guint16 result;

  if (len < 2)
    return malformed (error, "reply is %" G_GSIZE_FORMAT " %s, a NAT-PMP reply needs at least "
                      "%d", len, BYTES (len), PL_NATPMP_SHORT_REPLY_SIZE);

  opcode = data[1];

  if ((opcode & PL_NATPMP_RESPONSE_BIT) == 0)
    {
      /* Unsupported Version in the form of the RFC's original figure (erratum 3618). */
      if (opcode == 0 && len >= 4 && pl_wire_get_u16 (data + 2) == PL_NATPMP_RESULT_UNSUPPORTED_VERSION)
        {
          if (len < PL_NATPMP_SHORT_REPLY_SIZE)
            return malformed (error, "reply is %" G_GSIZE_FORMAT " %s, an Unsupported Version "
                              "reply needs %d", len, BYTES (len), PL_NATPMP_SHORT_REPLY_SIZE);

          reply->kind = PL_NATPMP_PACKET_SHORT_ERROR;
          reply->opcode = opcode;
          reply->result = PL_NATPMP_RESULT_UNSUPPORTED_VERSION;
          reply->epoch = pl_wire_get_u32 (data + 4);
          return TRUE;
        }

      return malformed (error, "opcode %u is a request, not a reply", (guint) opcode);
    }

  full_size = reply_size_for_opcode (opcode, &what);

  if (len < PL_NATPMP_SHORT_REPLY_SIZE)
    return malformed (error, "reply is %" G_GSIZE_FORMAT " %s, %s needs %" G_GSIZE_FORMAT,
                      len, BYTES (len), what,
                      full_size != 0 ? full_size : (gsize) PL_NATPMP_SHORT_REPLY_SIZE);

  result = pl_wire_get_u16 (data + 2);
  reply->opcode = opcode;
  reply->result = result;
  reply->epoch = pl_wire_get_u32 (data + 4);

  if (full_size != 0 && len >= full_size)
    {
      if (full_size == PL_NATPMP_EXTERNAL_ADDRESS_REPLY_SIZE)
        {
          reply->kind = PL_NATPMP_PACKET_EXTERNAL_ADDRESS;
          memcpy (reply->external_address, data + 8, 4);
        }
      else
        {
          reply->kind = PL_NATPMP_PACKET_MAP;
          reply->internal_port = pl_wire_get_u16 (data + 8);
          reply->external_port = pl_wire_get_u16 (data + 10);
          reply->lifetime = pl_wire_get_u32 (data + 12);
        }
      return TRUE;
    }

  if (result != PL_NATPMP_RESULT_SUCCESS)
    {
      reply->kind = PL_NATPMP_PACKET_SHORT_ERROR;
      return TRUE;
    }

  if (full_size == 0)
    return malformed (error, "opcode %u is not a NAT-PMP reply (and the result is success)",
                      (guint) opcode);

  return malformed (error, "reply is %" G_GSIZE_FORMAT " %s, %s needs %" G_GSIZE_FORMAT,
                    len, BYTES (len), what, full_size);
}

/**
 * pl_natpmp_parse_reply:
 * @data: (array length=len): the datagram
 * @len: its length
 * @out: (out caller-allocates): the decoded reply, written only on success
 * @error: return location for a `PL_ERROR_MALFORMED_REPLY`
 *
 * Decodes what a gateway sent; the rules are at the top of this file. A well-formed reply with
 * a non-zero result returns %TRUE; turning out->result into an error is the caller's job.
 *
 * Returns: %TRUE when @data is a well-formed reply
 */
gboolean
pl_natpmp_parse_reply (const guint8  *data,
                       gsize          len,
                       PlNatpmpReply *out,
                       GError       **error)
{
  PlNatpmpReply reply = { 0, };
  gboolean ok;

  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (len == 0)
    return malformed (error, "reply is empty");

  reply.version = data[0];

  switch (reply.version)
    {
    case PL_NATPMP_VERSION:
      ok = parse_natpmp (data, len, &reply, error);
      break;
    case PL_PCP_VERSION:
      ok = parse_pcp (data, len, &reply, error);
      break;
    default:
      return malformed (error, "unsupported version byte %u", (guint) reply.version);
    }

  if (ok)
    *out = reply;

  return ok;
}

/**
 * pl_natpmp_parse_request:
 * @data: (array length=len): the datagram
 * @len: its length
 * @out: (out caller-allocates): the decoded request, written only on success
 * @error: return location for a `PL_ERROR_MALFORMED_REPLY`
 *
 * Decodes what a client sent (server side). A request with a version other than 0, or a
 * version-0 opcode other than 0, 1 and 2, returns %TRUE with only the version and opcode set,
 * so that a server can answer Unsupported Version or Unsupported Opcode.
 *
 * Returns: %TRUE when @data is a request
 */
gboolean
pl_natpmp_parse_request (const guint8    *data,
                         gsize            len,
                         PlNatpmpRequest *out,
                         GError         **error)
{
  PlNatpmpRequest request = { 0, };

  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (len < PL_NATPMP_EXTERNAL_ADDRESS_REQUEST_SIZE)
    return malformed (error, "request is %" G_GSIZE_FORMAT " %s, a request needs at least %d",
                      len, BYTES (len), PL_NATPMP_EXTERNAL_ADDRESS_REQUEST_SIZE);

  request.version = data[0];
  request.opcode = data[1];

  if ((request.opcode & PL_NATPMP_RESPONSE_BIT) != 0)
    return malformed (error, "opcode %u is a reply, not a request", (guint) request.opcode);

  if (request.version == PL_NATPMP_VERSION &&
      (request.opcode == PL_NATPMP_OP_MAP_UDP || request.opcode == PL_NATPMP_OP_MAP_TCP))
    {
      if (len < PL_NATPMP_MAP_REQUEST_SIZE)
        return malformed (error, "request is %" G_GSIZE_FORMAT " %s, a map request needs %d",
                          len, BYTES (len), PL_NATPMP_MAP_REQUEST_SIZE);

      /* Bytes 2-3 are reserved: ignored on receive. */
      request.internal_port = pl_wire_get_u16 (data + 4);
      request.external_port = pl_wire_get_u16 (data + 6);
      request.lifetime = pl_wire_get_u32 (data + 8);
    }

  *out = request;
  return TRUE;
}

/**
 * pl_natpmp_address_is_double_nat:
 * @address: an IPv4 address, network order
 *
 * Whether @address cannot be a public Internet address: 0.0.0.0, 10.0.0.0/8, 172.16.0.0/12,
 * 192.168.0.0/16 or 100.64.0.0/10 (carrier-grade NAT). A router reporting such an external
 * address sits behind another NAT (PMP-37).
 *
 * Returns: %TRUE when @address is not public
 */
gboolean
pl_natpmp_address_is_double_nat (const guint8 address[4])
{
  g_return_val_if_fail (address != NULL, FALSE);

  if (address[0] == 0 && address[1] == 0 && address[2] == 0 && address[3] == 0)
    return TRUE;
  if (address[0] == 10)
    return TRUE;
  if (address[0] == 172 && (address[1] & 0xf0) == 16)
    return TRUE;
  if (address[0] == 192 && address[1] == 168)
    return TRUE;
  if (address[0] == 100 && (address[1] & 0xc0) == 64)
    return TRUE;

  return FALSE;
}
