/* pl-lease-registry.h: leases turned into router mappings, one per port, shared by claims
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-lease.h"
#include "pl-session.h"

G_BEGIN_DECLS

#define PL_TYPE_LEASE_REGISTRY (pl_lease_registry_get_type ())

G_DECLARE_FINAL_TYPE (PlLeaseRegistry, pl_lease_registry, PL, LEASE_REGISTRY, GObject)

/**
 * PlLeaseRegistry:
 *
 * Joins the user's profiles with the leases of broker clients into the one profile model a
 * [class@Pl.Session] maps, and moves each lease's state from the session's mappings.
 *
 * Every (protocol, internal port, family) a lease asks for is a *claim*. All claims on the
 * same key share one router mapping:
 *
 * - when an enabled profile of the user maps that key, the claim rides on the profile's
 *   mapping, and ending the claim changes nothing on the router;
 * - otherwise the first claim adds a profile of its own to the model (never saved: it is not
 *   in the user's store), later claims share it, and the last one to end removes it, which
 *   makes the session delete that one mapping (never "delete all").
 *
 * Threading: the thread-default main context it was created on.
 */

/* @user_profiles: (nullable): the user's profiles, e.g. a [class@Pl.ProfileStore]. */
PlLeaseRegistry *pl_lease_registry_new          (GListModel      *user_profiles);

/* Returns: (transfer none): the model to give pl_session_new(): the user's profiles, then
 * one profile per shared claim. */
GListModel      *pl_lease_registry_get_profiles (PlLeaseRegistry *self);
GListModel      *pl_lease_registry_get_user_profiles (PlLeaseRegistry *self);

/* Follows @session's mappings from now on (NULL: none). */
void             pl_lease_registry_set_session  (PlLeaseRegistry *self,
                                                 PlSession       *session);
/* Also follows @session, another gateway's session of the primary's group
 * (pl-session-group.h): the profiles it maps (Gateway=) and the claims they carry show its
 * mappings, router and address. Until the primary is replaced. */
void             pl_lease_registry_add_session  (PlLeaseRegistry *self,
                                                 PlSession       *session);

/* Claims what @lease asks for. Fails with PL_BROKER_ERROR_PORT_IN_USE, leaving nothing
 * claimed, when @lease requires an external port that a claim on the same key already
 * asks otherwise (or got otherwise). */
gboolean         pl_lease_registry_add          (PlLeaseRegistry *self,
                                                 PlLease         *lease,
                                                 GError         **error);
/* Drops @lease's claims (a lease that holds none is fine). */
void             pl_lease_registry_remove       (PlLeaseRegistry *self,
                                                 PlLease         *lease);
/* How many claims share the router mapping of @protocol/@internal_port/@family (tests). */
guint            pl_lease_registry_count_claims (PlLeaseRegistry *self,
                                                 PlProtocol       protocol,
                                                 guint16          internal_port,
                                                 GSocketFamily    family);

/* Sets the state of a profile's own lease (Owner.kind "profile", no claims) from the
 * session's mappings of @profile_name. */
void             pl_lease_registry_update_profile_lease (PlLeaseRegistry *self,
                                                         PlLease         *lease,
                                                         const char      *profile_name);

/* Recomputes every lease's state now (after a session-wide change). */
void             pl_lease_registry_refresh      (PlLeaseRegistry *self);

G_END_DECLS
