/* pl-pcp.c: pure PCP (RFC 6887) codec
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "pl-error.h"
#include "pl-wire.h"
#include "pl-pcp.h"

/* Written by hand: Debian packages no maintained PCP library (libpcp-client and libpcpnatpmp
 * are not in the archive, libnatpmp speaks NAT-PMP only), and the subset Portlight needs, MAP
 * and ANNOUNCE with three options, is small enough to check byte by byte
 * (RFC 6887 sections 7, 9 and 11; miniupnpd's replies: tests/lab/MINIUPNPD.md, items 2 and 8).
 *
 * Wire layout (big-endian):
 *   request header   version 2, R|opcode, 2 reserved, lifetime (4), client address (16)
 *   response header  version 2, R|opcode, 1 reserved, result (byte 3), lifetime (4),
 *                    epoch (4), 12 reserved
 *   MAP payload      nonce (12), protocol, 3 reserved, internal port (2),
 *                    suggested/assigned external port (2), external address (16)
 *   option           code, 1 reserved, length (2, without padding), data padded to 4
 *
 * Responses (pl_pcp_parse_response), checked in this order:
 *   - 24 to 1100 bytes, a multiple of 4, version byte 2, R bit set; otherwise malformed. The
 *     reserved bytes (2 and 12-23) are ignored.
 *   - ANNOUNCE (0): the header, then options from byte 24.
 *   - MAP (1): 60 bytes or more: the payload, then options from byte 60. Shorter: only a
 *     non-zero result is allowed (a header-only error, as a server sends for a request too
 *     broken to echo); the bytes after the header are then not examined. A SUCCESS shorter
 *     than 60 bytes is malformed.
 *   - Any other opcode (PEER and unknown ones): the header only, nothing after it examined;
 *     this codec never sends them, so the caller drops such a response.
 *   - Options, one after the other to the very end: the 4-byte option header must fit, and
 *     the padded data too. THIRD_PARTY must carry 16 bytes, PREFER_FAILURE 0 and FILTER 20
 *     (with a prefix length of at most 128); THIRD_PARTY and PREFER_FAILURE at most once.
 *     FILTER may repeat: the first PL_PCP_MAX_FILTERS are kept and later ones skipped. An
 *     unknown option 0-127 is malformed (RFC 6887 section 7.3: it must be understood); one of
 *     128-255 is skipped and counted. The padding bytes are not checked.
 *   The result code is not judged here: a well-formed error returns TRUE.
 *
 * Requests (pl_pcp_parse_request, the server side of tests): the same length, multiple-of-4
 * and version rules, the R bit clear. Every opcode returns TRUE with lifetime and client
 * address decoded, so that a server can answer UNSUPP_OPCODE; only MAP (60 bytes or more:
 * payload and options, same option rules) and ANNOUNCE (options) get more. A MAP request with
 * internal port 0 and a protocol other than 0, or more than PL_PCP_MAX_FILTERS filters, is
 * malformed. A wrong version is malformed too: a server that wants to answer UNSUPP_VERSION
 * looks at byte 0 itself.
 *
 * No byte at or beyond @len is ever read: every read is preceded by a length check against
 * @len, with the offsets kept in gsize so that nothing wraps. */

#define BYTES(n) ((n) == 1 ? "byte" : "bytes")

#define OPTION_HEADER_SIZE        4
#define THIRD_PARTY_DATA_SIZE     16
#define PREFER_FAILURE_DATA_SIZE  0
#define FILTER_DATA_SIZE          20
#define MAX_PREFIX_LENGTH         128

static const guint8 ipv4_mapped_prefix[12] = {
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

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

static const char *
option_name (guint8 code)
{
  switch (code)
    {
    case PL_PCP_OPTION_THIRD_PARTY:
      return "THIRD_PARTY";
    case PL_PCP_OPTION_PREFER_FAILURE:
      return "PREFER_FAILURE";
    case PL_PCP_OPTION_FILTER:
      return "FILTER";
    default:
      return "unknown";
    }
}

/* ---- addresses ---------------------------------------------------------------------------- */

/**
 * pl_pcp_address_from_ipv4:
 * @ipv4: an IPv4 address, network order
 * @out: (out caller-allocates): the IPv4-mapped IPv6 address ::ffff:a.b.c.d
 *
 * Writes the 16-byte form PCP uses for IPv4 (RFC 6887 section 5).
 */
void
pl_pcp_address_from_ipv4 (const guint8 ipv4[4],
                          guint8       out[16])
{
  g_return_if_fail (ipv4 != NULL);
  g_return_if_fail (out != NULL);

  memcpy (out, ipv4_mapped_prefix, sizeof ipv4_mapped_prefix);
  memmove (out + 12, ipv4, 4);
}

/**
 * pl_pcp_address_is_ipv4:
 * @address: a 16-byte PCP address
 * @ipv4: (out caller-allocates) (nullable): the IPv4 address, when it is one
 *
 * Returns: %TRUE when @address is IPv4-mapped (::ffff:a.b.c.d)
 */
gboolean
pl_pcp_address_is_ipv4 (const guint8  address[16],
                        guint8       *ipv4)
{
  g_return_val_if_fail (address != NULL, FALSE);

  if (memcmp (address, ipv4_mapped_prefix, sizeof ipv4_mapped_prefix) != 0)
    return FALSE;

  if (ipv4 != NULL)
    memmove (ipv4, address + 12, 4);

  return TRUE;
}

/**
 * pl_pcp_protocol_to_iana:
 * @protocol: UDP or TCP
 *
 * Returns: the IANA protocol number of @protocol (17 or 6) for the MAP payload
 */
guint8
pl_pcp_protocol_to_iana (PlProtocol protocol)
{
  switch (protocol)
    {
    case PL_PROTOCOL_UDP:
      return PL_PCP_IANA_UDP;
    case PL_PROTOCOL_TCP:
      return PL_PCP_IANA_TCP;
    default:
      g_return_val_if_reached (0);
    }
}

/* ---- builders ----------------------------------------------------------------------------- */

/* The bytes the options of @request take on the wire, or 0 with *valid FALSE when they cannot
 * be encoded (too many filters, a prefix length over 128). */
static gsize
options_size (const PlPcpMapRequest *request,
              gboolean              *valid)
{
  gsize size = 0;

  *valid = FALSE;

  if (request->n_filters > PL_PCP_MAX_FILTERS)
    return 0;
  for (guint i = 0; i < request->n_filters; i++)
    if (request->filters[i].prefix_length > MAX_PREFIX_LENGTH)
      return 0;

  if (request->has_third_party)
    size += OPTION_HEADER_SIZE + THIRD_PARTY_DATA_SIZE;
  if (request->prefer_failure)
    size += OPTION_HEADER_SIZE + PREFER_FAILURE_DATA_SIZE;
  size += (gsize) request->n_filters * (OPTION_HEADER_SIZE + FILTER_DATA_SIZE);

  *valid = TRUE;
  return size;
}

static guint8 *
put_option_header (guint8  *p,
                   guint8   code,
                   guint16  length)
{
  p[0] = code;
  p[1] = 0;
  pl_wire_put_u16 (p + 2, length);

  return p + OPTION_HEADER_SIZE;
}

/* Writes the options of @request at @p (room checked by the caller); returns the end. The
 * order is THIRD_PARTY, PREFER_FAILURE, then the filters. All data lengths are multiples of
 * 4, so there is no padding. */
static guint8 *
put_options (guint8                *p,
             const PlPcpMapRequest *request)
{
  if (request->has_third_party)
    {
      p = put_option_header (p, PL_PCP_OPTION_THIRD_PARTY, THIRD_PARTY_DATA_SIZE);
      memcpy (p, request->third_party_address, 16);
      p += THIRD_PARTY_DATA_SIZE;
    }

  if (request->prefer_failure)
    p = put_option_header (p, PL_PCP_OPTION_PREFER_FAILURE, PREFER_FAILURE_DATA_SIZE);

  for (guint i = 0; i < request->n_filters; i++)
    {
      const PlPcpFilter *filter = &request->filters[i];

      p = put_option_header (p, PL_PCP_OPTION_FILTER, FILTER_DATA_SIZE);
      p[0] = 0;
      p[1] = filter->prefix_length;
      pl_wire_put_u16 (p + 2, filter->remote_port);
      memcpy (p + 4, filter->remote_address, 16);
      p += FILTER_DATA_SIZE;
    }

  return p;
}

/* The MAP payload after a 24-byte header at @buf. */
static void
put_map_payload (guint8       *buf,
                 const guint8  nonce[PL_PCP_NONCE_SIZE],
                 guint8        protocol,
                 guint16       internal_port,
                 guint16       external_port,
                 const guint8  external_address[16])
{
  guint8 *p = buf + PL_PCP_HEADER_SIZE;

  memcpy (p, nonce, PL_PCP_NONCE_SIZE);
  p[12] = protocol;
  p[13] = p[14] = p[15] = 0;
  pl_wire_put_u16 (p + 16, internal_port);
  pl_wire_put_u16 (p + 18, external_port);
  memcpy (p + 20, external_address, 16);
}

static void
put_request_header (guint8       *buf,
                    guint8        opcode,
                    guint32       lifetime,
                    const guint8  client_address[16])
{
  buf[0] = PL_PCP_PROTOCOL_VERSION;
  buf[1] = opcode;
  buf[2] = 0;
  buf[3] = 0;
  pl_wire_put_u32 (buf + 4, lifetime);
  memcpy (buf + 8, client_address, 16);
}

static void
put_response_header (guint8  *buf,
                     guint8   opcode,
                     guint8   result,
                     guint32  lifetime,
                     guint32  epoch)
{
  buf[0] = PL_PCP_PROTOCOL_VERSION;
  buf[1] = PL_PCP_RESPONSE_BIT | opcode;
  buf[2] = 0;
  buf[3] = result;
  pl_wire_put_u32 (buf + 4, lifetime);
  pl_wire_put_u32 (buf + 8, epoch);
  memset (buf + 12, 0, 12);
}

/**
 * pl_pcp_build_map_request:
 * @buf: (out caller-allocates): where to write
 * @len: the size of @buf
 * @request: the mapping to create, renew (same nonce) or delete (lifetime 0)
 *
 * Writes a MAP request (RFC 6887 section 11.1): 60 bytes plus 20 for THIRD_PARTY, 4 for
 * PREFER_FAILURE and 24 per filter, in that order.
 *
 * Returns: the number of bytes written, or 0 when @len is too small or @request is invalid
 *   (internal port 0 with a protocol other than 0, more than %PL_PCP_MAX_FILTERS filters, a
 *   filter prefix length over 128)
 */
gsize
pl_pcp_build_map_request (guint8                *buf,
                          gsize                  len,
                          const PlPcpMapRequest *request)
{
  gboolean valid;
  gsize size;

  g_return_val_if_fail (buf != NULL || len == 0, 0);
  g_return_val_if_fail (request != NULL, 0);

  if (request->internal_port == 0 && request->protocol != 0)
    return 0;

  size = PL_PCP_MAP_SIZE + options_size (request, &valid);
  if (!valid || len < size)
    return 0;

  put_request_header (buf, PL_PCP_OP_MAP, request->lifetime, request->client_address);
  put_map_payload (buf, request->nonce, request->protocol, request->internal_port,
                   request->suggested_external_port, request->suggested_external_address);
  put_options (buf + PL_PCP_MAP_SIZE, request);

  return size;
}

/**
 * pl_pcp_build_announce_request:
 * @buf: (out caller-allocates): where to write
 * @len: the size of @buf
 * @client_address: this computer's address as the server sees it
 *
 * Writes the 24-byte ANNOUNCE request `02 00 0000 00000000 <client address>` (RFC 6887
 * section 14.1).
 *
 * Returns: the number of bytes written, or 0 when @len is too small
 */
gsize
pl_pcp_build_announce_request (guint8       *buf,
                               gsize         len,
                               const guint8  client_address[16])
{
  g_return_val_if_fail (buf != NULL || len == 0, 0);
  g_return_val_if_fail (client_address != NULL, 0);

  if (len < PL_PCP_HEADER_SIZE)
    return 0;

  put_request_header (buf, PL_PCP_OP_ANNOUNCE, 0, client_address);

  return PL_PCP_HEADER_SIZE;
}

/**
 * pl_pcp_build_map_response:
 * @buf: (out caller-allocates): where to write
 * @len: the size of @buf
 * @request: the request answered
 * @result: the result code
 * @lifetime: the granted lifetime in seconds
 * @epoch: the server's epoch time
 * @assigned_external_port: the external port
 * @assigned_external_address: the external address
 *
 * Writes a MAP response echoing the nonce, protocol, internal port and options of @request.
 *
 * Returns: the number of bytes written, or 0 when @len is too small or the options of
 *   @request cannot be encoded
 */
gsize
pl_pcp_build_map_response (guint8                *buf,
                           gsize                  len,
                           const PlPcpMapRequest *request,
                           guint8                 result,
                           guint32                lifetime,
                           guint32                epoch,
                           guint16                assigned_external_port,
                           const guint8           assigned_external_address[16])
{
  gboolean valid;
  gsize size;

  g_return_val_if_fail (buf != NULL || len == 0, 0);
  g_return_val_if_fail (request != NULL, 0);
  g_return_val_if_fail (assigned_external_address != NULL, 0);

  size = PL_PCP_MAP_SIZE + options_size (request, &valid);
  if (!valid || len < size)
    return 0;

  put_response_header (buf, PL_PCP_OP_MAP, result, lifetime, epoch);
  put_map_payload (buf, request->nonce, request->protocol, request->internal_port,
                   assigned_external_port, assigned_external_address);
  put_options (buf + PL_PCP_MAP_SIZE, request);

  return size;
}

/**
 * pl_pcp_build_announce_response:
 * @buf: (out caller-allocates): where to write
 * @len: the size of @buf
 * @result: the result code (0 for an unsolicited ANNOUNCE)
 * @epoch: the server's epoch time
 *
 * Writes the 24-byte ANNOUNCE response `02 80 00 <result> 00000000 <epoch> 00x12`.
 *
 * Returns: the number of bytes written, or 0 when @len is too small
 */
gsize
pl_pcp_build_announce_response (guint8  *buf,
                                gsize    len,
                                guint8   result,
                                guint32  epoch)
{
  g_return_val_if_fail (buf != NULL || len == 0, 0);

  if (len < PL_PCP_HEADER_SIZE)
    return 0;

  put_response_header (buf, PL_PCP_OP_ANNOUNCE, result, 0, epoch);

  return PL_PCP_HEADER_SIZE;
}

/**
 * pl_pcp_build_error_response:
 * @buf: (out caller-allocates): where to write
 * @len: the size of @buf
 * @opcode: the request's opcode, 0-127
 * @result: a non-zero result code
 * @lifetime: how long the error holds, in seconds
 * @epoch: the server's epoch time
 *
 * Writes a 24-byte header-only response.
 *
 * Returns: the number of bytes written, or 0 when @len is too small, @opcode has the R bit
 *   set or @result is SUCCESS (which would not be an error)
 */
gsize
pl_pcp_build_error_response (guint8  *buf,
                             gsize    len,
                             guint8   opcode,
                             guint8   result,
                             guint32  lifetime,
                             guint32  epoch)
{
  g_return_val_if_fail (buf != NULL || len == 0, 0);

  if ((opcode & PL_PCP_RESPONSE_BIT) != 0 || result == PL_PCP_RESULT_SUCCESS)
    return 0;
  if (len < PL_PCP_HEADER_SIZE)
    return 0;

  put_response_header (buf, opcode, result, lifetime, epoch);

  return PL_PCP_HEADER_SIZE;
}

/* ---- parsers ------------------------------------------------------------------------------ */

/* Where decoded options go: the fields common to PlPcpMapRequest and PlPcpResponse. */
typedef struct
{
  gboolean    *prefer_failure;
  gboolean    *has_third_party;
  guint8      *third_party_address;
  guint       *n_filters;
  PlPcpFilter *filters;
  guint       *n_ignored_options;   /* NULL: not counted */
  gboolean     too_many_filters_is_malformed;
} OptionSink;

/* Decodes the options in @data[@offset..@len); @offset and @len are multiples of 4. */
static gboolean
parse_options (const guint8  *data,
               gsize          len,
               gsize          offset,
               const char    *what,
               OptionSink    *sink,
               GError       **error)
{
  while (offset < len)
    {
      guint8 code;
      guint16 length;
      gsize padded;
      const guint8 *body;

      /* Both multiples of 4: at least a whole option header remains. */
      if (len - offset < OPTION_HEADER_SIZE)
        return malformed (error, "%s has %" G_GSIZE_FORMAT " stray %s at offset %"
                          G_GSIZE_FORMAT ", too few for an option header", what,
                          len - offset, BYTES (len - offset), offset);

      code = data[offset];
      length = pl_wire_get_u16 (data + offset + 2);
      padded = ((gsize) length + 3) & ~(gsize) 3;
      body = data + offset + OPTION_HEADER_SIZE;

      if (padded > len - offset - OPTION_HEADER_SIZE)
        return malformed (error, "option %u at offset %" G_GSIZE_FORMAT " has %u data %s and "
                          "runs past the end of the %" G_GSIZE_FORMAT "-byte %s",
                          (guint) code, offset, (guint) length, BYTES (length), len, what);

      switch (code)
        {
        case PL_PCP_OPTION_THIRD_PARTY:
          if (length != THIRD_PARTY_DATA_SIZE)
            return malformed (error, "option %s at offset %" G_GSIZE_FORMAT " has %u data %s, "
                              "it needs %d", option_name (code), offset, (guint) length,
                              BYTES (length), THIRD_PARTY_DATA_SIZE);
          if (*sink->has_third_party)
            return malformed (error, "option %s appears twice (again at offset %"
                              G_GSIZE_FORMAT ")", option_name (code), offset);
          *sink->has_third_party = TRUE;
          memcpy (sink->third_party_address, body, 16);
          break;

        case PL_PCP_OPTION_PREFER_FAILURE:
          if (length != PREFER_FAILURE_DATA_SIZE)
            return malformed (error, "option %s at offset %" G_GSIZE_FORMAT " has %u data %s, "
                              "it needs %d", option_name (code), offset, (guint) length,
                              BYTES (length), PREFER_FAILURE_DATA_SIZE);
          if (*sink->prefer_failure)
            return malformed (error, "option %s appears twice (again at offset %"
                              G_GSIZE_FORMAT ")", option_name (code), offset);
          *sink->prefer_failure = TRUE;
          break;

        case PL_PCP_OPTION_FILTER:
          if (length != FILTER_DATA_SIZE)
            return malformed (error, "option %s at offset %" G_GSIZE_FORMAT " has %u data %s, "
                              "it needs %d", option_name (code), offset, (guint) length,
                              BYTES (length), FILTER_DATA_SIZE);
          if (body[1] > MAX_PREFIX_LENGTH)
            return malformed (error, "option %s at offset %" G_GSIZE_FORMAT " has prefix "
                              "length %u, more than %d", option_name (code), offset,
                              (guint) body[1], MAX_PREFIX_LENGTH);
          if (*sink->n_filters < PL_PCP_MAX_FILTERS)
            {
              PlPcpFilter *filter = &sink->filters[*sink->n_filters];

              filter->prefix_length = body[1];
              filter->remote_port = pl_wire_get_u16 (body + 2);
              memcpy (filter->remote_address, body + 4, 16);
              (*sink->n_filters)++;
            }
          else if (sink->too_many_filters_is_malformed)
            {
              return malformed (error, "more than %d %s options (another at offset %"
                                G_GSIZE_FORMAT ")", PL_PCP_MAX_FILTERS, option_name (code),
                                offset);
            }
          break;

        default:
          if (code < PL_PCP_OPTION_OPTIONAL_MIN)
            return malformed (error, "unknown mandatory option %u at offset %" G_GSIZE_FORMAT
                              " (codes below %d must be understood)", (guint) code, offset,
                              PL_PCP_OPTION_OPTIONAL_MIN);
          if (sink->n_ignored_options != NULL)
            (*sink->n_ignored_options)++;
          break;
        }

      offset += OPTION_HEADER_SIZE + padded;
    }

  return TRUE;
}

/* The rules every PCP message obeys (RFC 6887 section 7). */
static gboolean
check_common (const guint8  *data,
              gsize          len,
              const char    *what,
              GError       **error)
{
  if (len == 0)
    return malformed (error, "%s is empty", what);
  if (len < PL_PCP_HEADER_SIZE)
    return malformed (error, "%s is %" G_GSIZE_FORMAT " %s, a PCP header needs %d",
                      what, len, BYTES (len), PL_PCP_HEADER_SIZE);
  if (len > PL_PCP_MAX_MESSAGE)
    return malformed (error, "%s is %" G_GSIZE_FORMAT " %s, more than the %d PCP allows",
                      what, len, BYTES (len), PL_PCP_MAX_MESSAGE);
  if (len % 4 != 0)
    return malformed (error, "%s is %" G_GSIZE_FORMAT " %s, not a multiple of 4",
                      what, len, BYTES (len));
  if (data[0] != PL_PCP_PROTOCOL_VERSION)
    return malformed (error, "%s has version byte %u, PCP is version %d",
                      what, (guint) data[0], PL_PCP_PROTOCOL_VERSION);

  return TRUE;
}

/**
 * pl_pcp_is_natpmp_downgrade:
 * @data: (array length=len): the datagram
 * @len: its length
 * @epoch: (out) (optional): the NAT-PMP epoch, when it is a downgrade
 *
 * Whether @data is the 8-byte NAT-PMP Unsupported Version reply `00 | 80+op | 00 01 | epoch`
 * (or its erratum-3618 form with opcode byte 0) that a NAT-PMP-only server sends to a PCP
 * request (RFC 6887 section 9, tests/lab/MINIUPNPD.md, item 8). Exactly 8 bytes: a 24-byte
 * `00 80 00 03` is miniupnpd's answer to a malformed PCP request, not a downgrade.
 *
 * Returns: %TRUE when the server speaks NAT-PMP only
 */
gboolean
pl_pcp_is_natpmp_downgrade (const guint8 *data,
                            gsize         len,
                            guint32      *epoch)
{
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  if (len != 8)
    return FALSE;
  if (data[0] != 0 || data[2] != 0 || data[3] != 1)
    return FALSE;
  if ((data[1] & PL_PCP_RESPONSE_BIT) == 0 && data[1] != 0)
    return FALSE;

  if (epoch != NULL)
    *epoch = pl_wire_get_u32 (data + 4);

  return TRUE;
}

/**
 * pl_pcp_parse_response:
 * @data: (array length=len): the datagram
 * @len: its length
 * @out: (out caller-allocates): the decoded response, written only on success
 * @error: return location for a `PL_ERROR_MALFORMED_REPLY`
 *
 * Decodes what a server sent; the rules are at the top of this file. A well-formed response
 * with a non-zero result returns %TRUE; turning out->result into an error is the caller's job
 * (pl_pcp_error_new()).
 *
 * Returns: %TRUE when @data is a well-formed response
 */
gboolean
pl_pcp_parse_response (const guint8   *data,
                       gsize           len,
                       PlPcpResponse  *out,
                       GError        **error)
{
  PlPcpResponse response;
  OptionSink sink = {
    &response.prefer_failure, &response.has_third_party, response.third_party_address,
    &response.n_filters, response.filters, &response.n_ignored_options, FALSE,
  };
  gsize options_offset;

  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_common (data, len, "response", error))
    return FALSE;

  /* All of it, padding included, so that results compare with memcmp(). */
  memset (&response, 0, sizeof response);
  if ((data[1] & PL_PCP_RESPONSE_BIT) == 0)
    return malformed (error, "opcode byte %u is a request, not a response (R bit clear)",
                      (guint) data[1]);

  response.opcode = data[1] & ~PL_PCP_RESPONSE_BIT;
  response.result = data[3];
  response.lifetime = pl_wire_get_u32 (data + 4);
  response.epoch = pl_wire_get_u32 (data + 8);

  switch (response.opcode)
    {
    case PL_PCP_OP_ANNOUNCE:
      options_offset = PL_PCP_HEADER_SIZE;
      break;

    case PL_PCP_OP_MAP:
      if (len < PL_PCP_MAP_SIZE)
        {
          if (response.result == PL_PCP_RESULT_SUCCESS)
            return malformed (error, "MAP response is %" G_GSIZE_FORMAT " %s, a successful "
                              "one needs %d", len, BYTES (len), PL_PCP_MAP_SIZE);
          /* A header-only error. */
          *out = response;
          return TRUE;
        }

      {
        const guint8 *p = data + PL_PCP_HEADER_SIZE;

        response.has_map_payload = TRUE;
        memcpy (response.nonce, p, PL_PCP_NONCE_SIZE);
        response.protocol = p[12];
        response.internal_port = pl_wire_get_u16 (p + 16);
        response.assigned_external_port = pl_wire_get_u16 (p + 18);
        memcpy (response.assigned_external_address, p + 20, 16);
      }
      options_offset = PL_PCP_MAP_SIZE;
      break;

    default:
      /* PEER and unknown opcodes: the header only. */
      *out = response;
      return TRUE;
    }

  if (!parse_options (data, len, options_offset, "response", &sink, error))
    return FALSE;

  *out = response;
  return TRUE;
}

/**
 * pl_pcp_parse_request:
 * @data: (array length=len): the datagram
 * @len: its length
 * @opcode: (out caller-allocates): the opcode, without the R bit
 * @out: (out caller-allocates): the decoded request, written only on success
 * @error: return location for a `PL_ERROR_MALFORMED_REPLY`
 *
 * Decodes what a client sent (server side); the rules are at the top of this file. Any opcode
 * returns %TRUE with the lifetime and client address set; MAP requests get everything.
 *
 * Returns: %TRUE when @data is a well-formed request
 */
gboolean
pl_pcp_parse_request (const guint8     *data,
                      gsize             len,
                      guint8           *opcode,
                      PlPcpMapRequest  *out,
                      GError          **error)
{
  PlPcpMapRequest request;
  OptionSink sink = {
    &request.prefer_failure, &request.has_third_party, request.third_party_address,
    &request.n_filters, request.filters, NULL, TRUE,
  };
  guint8 op;
  gsize options_offset;

  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (opcode != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_common (data, len, "request", error))
    return FALSE;

  memset (&request, 0, sizeof request);
  if ((data[1] & PL_PCP_RESPONSE_BIT) != 0)
    return malformed (error, "opcode byte %u is a response, not a request (R bit set)",
                      (guint) data[1]);

  op = data[1];
  request.lifetime = pl_wire_get_u32 (data + 4);
  memcpy (request.client_address, data + 8, 16);

  switch (op)
    {
    case PL_PCP_OP_ANNOUNCE:
      options_offset = PL_PCP_HEADER_SIZE;
      break;

    case PL_PCP_OP_MAP:
      if (len < PL_PCP_MAP_SIZE)
        return malformed (error, "MAP request is %" G_GSIZE_FORMAT " %s, it needs %d",
                          len, BYTES (len), PL_PCP_MAP_SIZE);

      {
        const guint8 *p = data + PL_PCP_HEADER_SIZE;

        memcpy (request.nonce, p, PL_PCP_NONCE_SIZE);
        request.protocol = p[12];
        request.internal_port = pl_wire_get_u16 (p + 16);
        request.suggested_external_port = pl_wire_get_u16 (p + 18);
        memcpy (request.suggested_external_address, p + 20, 16);
      }

      if (request.internal_port == 0 && request.protocol != 0)
        return malformed (error, "MAP request has internal port 0 with protocol %u (only "
                          "protocol 0 may use port 0)", (guint) request.protocol);
      options_offset = PL_PCP_MAP_SIZE;
      break;

    default:
      *opcode = op;
      *out = request;
      return TRUE;
    }

  if (!parse_options (data, len, options_offset, "request", &sink, error))
    return FALSE;

  *opcode = op;
  *out = request;
  return TRUE;
}

/* ---- renewal ------------------------------------------------------------------------------ */

/**
 * pl_pcp_renew_delay_ms:
 * @granted_lifetime_s: the lifetime L the server granted, in seconds
 * @attempt: the renewal attempt k, from 1
 * @uniform01: a uniform random number in [0, 1] (clamped; NaN counts as 0)
 *
 * When to send renewal attempt @attempt, counted from the moment the lifetime was granted
 * (RFC 6887 section 11.2.1). Attempt k goes in the window
 * [(1 - 2^-k) L, (1 - 2^-k + 2^-(k+2)) L] at @uniform01 of its width: 1/2-5/8 of L, then
 * 3/4-13/16, 7/8-29/32 and so on.
 *
 * The rule for stopping: the start of window k lies 2^-k L after the start of window k - 1
 * (window 0 starting at the grant), so attempt k is allowed only while 2^-k L >= 4 s, checked
 * exactly in milliseconds. Otherwise, for attempt 0, or when the delay would not fall before
 * the expiry at L, the answer is %G_MAXUINT64: no more attempts, let the mapping lapse or
 * re-create it. With L = 120 s this gives four attempts (60-75, 90-97.5, 105-108.75 and
 * 112.5-114.375 s); the fifth window would start 3.75 s after the fourth. Two actual sends
 * can still be closer than 4 s (the end of one window and the start of the next); a caller
 * that needs a hard gap keeps the later of its own bound and this delay.
 *
 * Returns: the delay in milliseconds from the grant, or %G_MAXUINT64 for "no attempt"
 */
guint64
pl_pcp_renew_delay_ms (guint32 granted_lifetime_s,
                       guint   attempt,
                       double  uniform01)
{
  guint64 lifetime_ms = (guint64) granted_lifetime_s * 1000;   /* < 2^42 */
  double scale;
  double start;
  double width;
  guint64 delay;

  if (attempt == 0 || attempt > 42)
    return G_MAXUINT64;

  /* 2^-k L >= 4 s, i.e. L_ms >= 4000 * 2^k (no overflow: 4000 * 2^42 < 2^64). */
  if (lifetime_ms < (G_GUINT64_CONSTANT (4000) << attempt))
    return G_MAXUINT64;

  if (!(uniform01 >= 0.0))     /* also NaN */
    uniform01 = 0.0;
  else if (uniform01 > 1.0)
    uniform01 = 1.0;

  /* Powers of two: exact in a double for these magnitudes. The sum is positive, so the cast
   * rounds down. */
  scale = 1.0 / (double) (G_GUINT64_CONSTANT (1) << attempt);
  start = (double) lifetime_ms - (double) lifetime_ms * scale;
  width = (double) lifetime_ms * scale / 4.0;
  delay = (guint64) (start + uniform01 * width);

  if (delay >= lifetime_ms)
    return G_MAXUINT64;

  return delay;
}
