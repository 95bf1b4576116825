/* pl-lease.h: one claim of a broker client on one internal port, exported on the bus
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-broker-generated.h"
#include "pl-caller.h"
#include "pl-types.h"

G_BEGIN_DECLS

#define PL_LEASE_PATH_PREFIX "/io/github/portlight/Portlight/Broker1/Lease/"

/**
 * PlLeaseState:
 * @PL_LEASE_STATE_PENDING: accepted; not mapped yet
 * @PL_LEASE_STATE_ACTIVE: every requested protocol is mapped
 * @PL_LEASE_STATE_LOST: was active; the broker is mapping it again
 * @PL_LEASE_STATE_FAILED: the broker stopped trying (see the lease's error)
 *
 * Lease.State on the bus: "pending", "active", "lost", "failed".
 */
typedef enum
{
  PL_LEASE_STATE_PENDING,
  PL_LEASE_STATE_ACTIVE,
  PL_LEASE_STATE_LOST,
  PL_LEASE_STATE_FAILED,
} PlLeaseState;

const char *pl_lease_state_to_string (PlLeaseState state);

/* What RequestMapping asked for, validated. */
typedef struct
{
  PlProtocol     protocols[2];
  guint          n_protocols;
  guint16        internal_port;
  guint16        external_port;          /* suggested; the internal port unless given */
  gboolean       any_external_port;      /* external_port 0 was asked for: the router
                                          * chooses (external_port is then the internal
                                          * port, for the checks) */
  gboolean       require_external_port;
  guint32        lifetime;               /* clamped */
  const char    *description;            /* cleaned; "" for none */
  gboolean       bind_caller;
  guint32        duration;               /* seconds, 0 = no limit */
  GSocketFamily  family;
} PlLeaseRequest;

#define PL_TYPE_LEASE (pl_lease_get_type ())

G_DECLARE_FINAL_TYPE (PlLease, pl_lease, PL, LEASE, GObject)

/**
 * PlLease:
 *
 * A lease: what a client asked for, who it is (a [class@Pl.Caller]), and the
 * `io.github.portlight.Portlight.Broker1.Lease` object that shows its state. The broker
 * creates it, the lease registry moves its state, and both end it; it never talks to the
 * router itself.
 *
 * Threading: the thread-default main context it was created on.
 */

PlLease        *pl_lease_new                  (guint64                id,
                                               PlCaller              *owner,
                                               const PlLeaseRequest  *request,
                                               gint64                 now_realtime);

guint64         pl_lease_get_id               (PlLease               *self);
const char     *pl_lease_get_object_path      (PlLease               *self);
PlBrokerObjectSkeleton *pl_lease_get_object   (PlLease               *self);
PlBrokerLease  *pl_lease_get_interface        (PlLease               *self);
PlCaller       *pl_lease_get_owner            (PlLease               *self);
const char     *pl_lease_get_owner_name       (PlLease               *self);
/* Lease.Profile: the Profile object this lease realises ("/" for app leases). */
void            pl_lease_set_profile_path     (PlLease               *self,
                                               const char            *path);
const PlLeaseRequest *pl_lease_get_request    (PlLease               *self);
/* CLOCK_REALTIME microseconds, 0 = never. */
gint64          pl_lease_get_deadline         (PlLease               *self);

PlLeaseState    pl_lease_get_state            (PlLease               *self);
/* Whether it was ever active (a later loss is "lost", not "pending"). */
gboolean        pl_lease_get_was_active       (PlLease               *self);
gboolean        pl_lease_get_revoked          (PlLease               *self);
void            pl_lease_set_revoked          (PlLease               *self);

/* Sets State, Error and Mappings, changing only what differs (so PropertiesChanged carries
 * only news). @error: NULL for ("", ""), else a PL_BROKER_ERROR / engine error; @mappings:
 * (nullable) (transfer floating): an aa{sv}, NULL for none. */
void            pl_lease_set_status           (PlLease               *self,
                                               PlLeaseState           state,
                                               const GError          *error,
                                               GVariant              *mappings);
/* Sets PinholeError: why the IPv6 pinholes of a lease with IPv4 mappings too are not open,
 * NULL for ("", ""). */
void            pl_lease_set_pinhole_error    (PlLease               *self,
                                               const GError          *error);

G_END_DECLS
