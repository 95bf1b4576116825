/* pl-lease.c: one claim of a broker client on one internal port, exported on the bus
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-broker-error.h"
#include "pl-lease.h"

struct _PlLease
{
  GObject                 parent_instance;

  guint64                 id;
  char                   *path;
  PlCaller               *owner;
  PlLeaseRequest          request;
  char                   *description;
  gint64                  deadline;
  PlLeaseState            state;
  gboolean                was_active;
  gboolean                revoked;
  PlBrokerObjectSkeleton *object;
  PlBrokerLease          *iface;
};

G_DEFINE_FINAL_TYPE (PlLease, pl_lease, G_TYPE_OBJECT)

const char *
pl_lease_state_to_string (PlLeaseState state)
{
  switch (state)
    {
    case PL_LEASE_STATE_PENDING:
      return "pending";
    case PL_LEASE_STATE_ACTIVE:
      return "active";
    case PL_LEASE_STATE_LOST:
      return "lost";
    case PL_LEASE_STATE_FAILED:
      return "failed";
    default:
      g_return_val_if_reached ("failed");
    }
}

static void
pl_lease_dispose (GObject *object)
{
  PlLease *self = PL_LEASE (object);

  g_clear_object (&self->iface);
  g_clear_object (&self->object);
  g_clear_object (&self->owner);

  G_OBJECT_CLASS (pl_lease_parent_class)->dispose (object);
}

static void
pl_lease_finalize (GObject *object)
{
  PlLease *self = PL_LEASE (object);

  g_free (self->path);
  g_free (self->description);

  G_OBJECT_CLASS (pl_lease_parent_class)->finalize (object);
}

static void
pl_lease_class_init (PlLeaseClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_lease_dispose;
  object_class->finalize = pl_lease_finalize;
}

static void
pl_lease_init (PlLease *self)
{
}

PlLease *
pl_lease_new (guint64               id,
              PlCaller             *owner,
              const PlLeaseRequest *request,
              gint64                now_realtime)
{
  PlLease *self;
  const char *protocols[3] = { NULL, NULL, NULL };

  g_return_val_if_fail (PL_IS_CALLER (owner), NULL);
  g_return_val_if_fail (request != NULL && request->n_protocols >= 1 &&
                        request->n_protocols <= 2, NULL);

  self = g_object_new (PL_TYPE_LEASE, NULL);
  self->id = id;
  self->path = g_strdup_printf (PL_LEASE_PATH_PREFIX "%" G_GUINT64_FORMAT, id);
  self->owner = g_object_ref (owner);
  self->request = *request;
  self->description = g_strdup (request->description != NULL ? request->description : "");
  self->request.description = self->description;
  if (request->duration != 0)
    self->deadline = now_realtime + (gint64) request->duration * G_USEC_PER_SEC;

  for (guint i = 0; i < request->n_protocols; i++)
    protocols[i] = request->protocols[i] == PL_PROTOCOL_TCP ? "tcp" : "udp";

  self->object = pl_broker_object_skeleton_new (self->path);
  self->iface = pl_broker_lease_skeleton_new ();
  pl_broker_lease_set_owner (self->iface, pl_caller_to_variant (owner));
  pl_broker_lease_set_profile (self->iface, "/");
  pl_broker_lease_set_protocols (self->iface, protocols);
  pl_broker_lease_set_internal_port (self->iface, request->internal_port);
  pl_broker_lease_set_internal_address (self->iface, "");
  pl_broker_lease_set_requested_external_port (self->iface, request->external_port);
  pl_broker_lease_set_description (self->iface, self->description);
  pl_broker_lease_set_bind (self->iface, request->bind_caller ? "caller" : "none");
  pl_broker_lease_set_deadline (self->iface, (guint64) self->deadline);
  pl_broker_lease_set_state (self->iface, "pending");
  pl_broker_lease_set_error (self->iface, g_variant_new ("(ss)", "", ""));
  pl_broker_lease_set_pinhole_error (self->iface, g_variant_new ("(ss)", "", ""));
  pl_broker_lease_set_mappings (self->iface, g_variant_new_array (G_VARIANT_TYPE_VARDICT, NULL, 0));
  pl_broker_lease_set_created_at (self->iface, (guint64) now_realtime);
  pl_broker_object_skeleton_set_lease (self->object, self->iface);
  return self;
}

guint64
pl_lease_get_id (PlLease *self)
{
  g_return_val_if_fail (PL_IS_LEASE (self), 0);
  return self->id;
}

const char *
pl_lease_get_object_path (PlLease *self)
{
  g_return_val_if_fail (PL_IS_LEASE (self), NULL);
  return self->path;
}

PlBrokerObjectSkeleton *
pl_lease_get_object (PlLease *self)
{
  g_return_val_if_fail (PL_IS_LEASE (self), NULL);
  return self->object;
}

PlBrokerLease *
pl_lease_get_interface (PlLease *self)
{
  g_return_val_if_fail (PL_IS_LEASE (self), NULL);
  return self->iface;
}

PlCaller *
pl_lease_get_owner (PlLease *self)
{
  g_return_val_if_fail (PL_IS_LEASE (self), NULL);
  return self->owner;
}

const char *
pl_lease_get_owner_name (PlLease *self)
{
  g_return_val_if_fail (PL_IS_LEASE (self), NULL);
  return pl_caller_get_bus_name (self->owner);
}

void
pl_lease_set_profile_path (PlLease    *self,
                           const char *path)
{
  g_return_if_fail (PL_IS_LEASE (self));
  g_return_if_fail (path != NULL && g_variant_is_object_path (path));

  pl_broker_lease_set_profile (self->iface, path);
}

const PlLeaseRequest *
pl_lease_get_request (PlLease *self)
{
  g_return_val_if_fail (PL_IS_LEASE (self), NULL);
  return &self->request;
}

gint64
pl_lease_get_deadline (PlLease *self)
{
  g_return_val_if_fail (PL_IS_LEASE (self), 0);
  return self->deadline;
}

PlLeaseState
pl_lease_get_state (PlLease *self)
{
  g_return_val_if_fail (PL_IS_LEASE (self), PL_LEASE_STATE_FAILED);
  return self->state;
}

gboolean
pl_lease_get_was_active (PlLease *self)
{
  g_return_val_if_fail (PL_IS_LEASE (self), FALSE);
  return self->was_active;
}

gboolean
pl_lease_get_revoked (PlLease *self)
{
  g_return_val_if_fail (PL_IS_LEASE (self), FALSE);
  return self->revoked;
}

void
pl_lease_set_revoked (PlLease *self)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (PL_IS_LEASE (self));

  self->revoked = TRUE;
  error = g_error_new_literal (PL_BROKER_ERROR, PL_BROKER_ERROR_REVOKED,
                               "The user stopped this mapping");
  pl_lease_set_status (self, PL_LEASE_STATE_FAILED, error, NULL);
}

/* Error and PinholeError: (name, message), ("", "") for none. */
static GVariant *
error_to_variant (const GError *error)
{
  if (error == NULL)
    return g_variant_ref_sink (g_variant_new ("(ss)", "", ""));
  return g_variant_ref_sink (
    g_variant_new ("(ss)", pl_broker_error_to_name (pl_broker_error_from_engine (error)),
                   error->message));
}

void
pl_lease_set_pinhole_error (PlLease      *self,
                            const GError *error)
{
  g_autoptr(GVariant) new_error = NULL;
  GVariant *old;

  g_return_if_fail (PL_IS_LEASE (self));

  new_error = error_to_variant (error);
  old = pl_broker_lease_get_pinhole_error (self->iface);
  if (old == NULL || !g_variant_equal (old, new_error))
    pl_broker_lease_set_pinhole_error (self->iface, new_error);
}

void
pl_lease_set_status (PlLease      *self,
                     PlLeaseState  state,
                     const GError *error,
                     GVariant     *mappings)
{
  g_autoptr(GVariant) new_mappings = NULL;
  g_autoptr(GVariant) new_error = NULL;
  GVariant *old;

  g_return_if_fail (PL_IS_LEASE (self));

  if (mappings == NULL)
    mappings = g_variant_new_array (G_VARIANT_TYPE_VARDICT, NULL, 0);
  new_mappings = g_variant_ref_sink (mappings);
  new_error = error_to_variant (error);

  self->state = state;
  if (state == PL_LEASE_STATE_ACTIVE)
    self->was_active = TRUE;

  /* Mappings first, State last: a client that reacts to "active" finds the ports there
   * (all three arrive in one PropertiesChanged anyway). */
  old = pl_broker_lease_get_mappings (self->iface);
  if (old == NULL || !g_variant_equal (old, new_mappings))
    pl_broker_lease_set_mappings (self->iface, new_mappings);
  old = pl_broker_lease_get_error (self->iface);
  if (old == NULL || !g_variant_equal (old, new_error))
    pl_broker_lease_set_error (self->iface, new_error);
  if (g_strcmp0 (pl_broker_lease_get_state (self->iface), pl_lease_state_to_string (state)) != 0)
    pl_broker_lease_set_state (self->iface, pl_lease_state_to_string (state));
}
