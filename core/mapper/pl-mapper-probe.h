/* pl-mapper-probe.h: which protocol a gateway speaks
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-clock.h"
#include "pl-method.h"
#include "pl-port-mapper.h"

G_BEGIN_DECLS

/* After a probe found nothing: watches @gateway's network (@iface, nullable) for a service
 * that comes up later. Only UPnP-IGD announces itself (SSDP NOTIFY); the object emits
 * "proxy-changed (gpointer service, gboolean restarted)" with a non-NULL service then.
 * Unref it to stop watching. */
GObject      *pl_mapper_watch_new           (GInetAddress        *gateway,
                                             const char          *iface,
                                             PlClock             *clock);

/* The protocol @mapper speaks (never AUTO). */
PlMethod      pl_mapper_get_method          (PlPortMapper        *mapper);

/* A mapper of @method for @gateway, without probing (@method must not be AUTO). */
PlPortMapper *pl_mapper_new                 (PlMethod             method,
                                             GInetAddress        *gateway,
                                             PlClock             *clock);

/* A mapper for IPv6 pinholes speaking what @ipv4_mapper speaks, bound to @local and sending
 * to @router on interface @scope_id; NULL when that protocol has no pinholes. */
PlPortMapper *pl_mapper_new_ipv6            (PlPortMapper        *ipv4_mapper,
                                             GInetAddress        *router,
                                             guint                scope_id,
                                             GInetAddress        *local,
                                             PlClock             *clock);

/* Finds out what @gateway speaks and returns a mapper for it. With PL_METHOD_AUTO, PCP,
 * NAT-PMP and UPnP-IGD (an SSDP search) are asked at the same time: a PCP answer wins; a
 * NAT-PMP-only answer to PCP (the 8-byte UNSUPP_VERSION) or a refusal means NAT-PMP at once;
 * when only NAT-PMP answers, PCP gets until PL_MAPPER_PROBE_PCP_GRACE_MS after the start, so
 * a router that silently drops PCP still maps within a second, long before PCP's first
 * retransmission at 3 s. UPnP-IGD is taken when both others refused (at once) or are still
 * silent after that grace time; it says "no UPnP router" after PL_UPNP_DISCOVERY_VERDICT_MS.
 * With one protocol alone, that protocol must answer. @timeout_ms bounds the whole probe (0: the
 * protocols' own schedules). The NAT-PMP leg is an address request: its answer is kept as
 * the public address (pl_mapper_probe_finish); after a PCP answer it gets a quarter of a
 * second more to bring it, since PCP itself has no request for the address. */
#define PL_MAPPER_PROBE_PCP_GRACE_MS 1000

void          pl_mapper_probe_async         (GInetAddress        *gateway,
                                             PlClock             *clock,
                                             PlMethod             method,
                                             guint                timeout_ms,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
/* The mapper (transfer full), in @public_address (nullable; transfer full, may be NULL) the
 * public address the NAT-PMP leg heard, and in @epoch (nullable) the server epoch of that
 * answer, or of the chosen protocol's answer when there is no address. */
PlPortMapper *pl_mapper_probe_finish        (GAsyncResult        *result,
                                             GInetAddress       **public_address,
                                             guint32             *epoch,
                                             GError             **error);

G_END_DECLS
