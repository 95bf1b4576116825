/* pl-lease-registry.c: leases turned into router mappings, one per port, shared by claims
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "pl-broker-error.h"
#include "pl-lease-registry.h"
#include "pl-profile.h"

typedef struct
{
  PlProtocol     protocol;
  guint16        internal_port;
  GSocketFamily  family;
  PlProfile     *profile;     /* ours, in the joined model; NULL while on a user profile */
  char          *carrier;     /* the profile whose mapping this is (ours or the user's) */
  GPtrArray     *leases;      /* PlLease*, not owned */
} Claim;

struct _PlLeaseRegistry
{
  GObject      parent_instance;

  GListModel  *user;          /* nullable */
  gulong       user_changed_id;
  GListStore  *joined;
  PlSession   *session;
  GPtrArray   *others;        /* PlSession*: the group's sessions of other gateways */
  GPtrArray   *claims;        /* Claim* */
  GHashTable  *lease_claims;  /* PlLease* (owned) -> GPtrArray of Claim* */
  guint        recheck_id;
};

G_DEFINE_FINAL_TYPE (PlLeaseRegistry, pl_lease_registry, G_TYPE_OBJECT)

static void update_lease (PlLeaseRegistry *self, PlLease *lease);

static void
claim_free (Claim *claim)
{
  g_clear_object (&claim->profile);
  g_free (claim->carrier);
  g_ptr_array_unref (claim->leases);
  g_free (claim);
}

static gboolean
profile_carries (PlProfile     *profile,
                 PlProtocol     protocol,
                 guint16        internal_port,
                 GSocketFamily  family)
{
  PlProfileProtocol p = pl_profile_get_protocol (profile);
  PlProfileFamily f = pl_profile_get_family (profile);

  if (!pl_profile_get_enabled (profile) || pl_profile_get_internal_port (profile) != internal_port)
    return FALSE;
  if (!pl_profile_validate (profile, NULL))
    return FALSE;
  if (p != PL_PROFILE_PROTOCOL_BOTH &&
      (p == PL_PROFILE_PROTOCOL_TCP) != (protocol == PL_PROTOCOL_TCP))
    return FALSE;
  if (f == PL_PROFILE_FAMILY_BOTH)
    return TRUE;
  return (f == PL_PROFILE_FAMILY_IPV6) == (family == G_SOCKET_FAMILY_IPV6);
}

/* The first enabled user profile that maps this key. */
static PlProfile *
find_user_carrier (PlLeaseRegistry *self,
                   PlProtocol       protocol,
                   guint16          internal_port,
                   GSocketFamily    family)
{
  guint n = self->user != NULL ? g_list_model_get_n_items (self->user) : 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (self->user, i);

      if (PL_IS_PROFILE (item) && pl_profile_get_name (PL_PROFILE (item)) != NULL &&
          profile_carries (PL_PROFILE (item), protocol, internal_port, family))
        return PL_PROFILE (item);   /* the model holds a reference */
    }
  return NULL;
}

static Claim *
find_claim (PlLeaseRegistry *self,
            PlProtocol       protocol,
            guint16          internal_port,
            GSocketFamily    family)
{
  for (guint i = 0; i < self->claims->len; i++)
    {
      Claim *claim = g_ptr_array_index (self->claims, i);

      if (claim->protocol == protocol && claim->internal_port == internal_port &&
          claim->family == family)
        return claim;
    }
  return NULL;
}

/* The mapping of profile @name, in whichever session maps it: the primary, or for a
 * profile with a Gateway= of its own, that gateway's session (each profile is in one).
 * @session_out: (out) (optional): that session. */
/* The sessions followed, the primary first: @i from 0 to n_sessions() - 1. */
static guint
n_sessions (PlLeaseRegistry *self)
{
  return self->session != NULL ? 1 + self->others->len : 0;
}

static PlSession *
session_at (PlLeaseRegistry *self,
            guint            i)
{
  return i == 0 ? self->session : g_ptr_array_index (self->others, i - 1);
}

static PlMapping *
find_mapping (PlLeaseRegistry  *self,
              const char       *name,
              PlProtocol        protocol,
              GSocketFamily     family,
              PlSession       **session_out)
{
  for (guint i = 0; i < n_sessions (self); i++)
    {
      PlMapping *mapping = pl_session_find_mapping_full (session_at (self, i), name, protocol,
                                                         family);

      if (mapping != NULL)
        {
          if (session_out != NULL)
            *session_out = session_at (self, i);
          return mapping;
        }
    }
  return NULL;
}

static PlMapping *
claim_mapping (PlLeaseRegistry *self,
               Claim           *claim)
{
  return find_mapping (self, claim->carrier, claim->protocol, claim->family, NULL);
}

/* Our own profile for a claim nobody else maps, named for `portlightctl run`'s log
 * ("Lease TCP 51413"). A user profile of the same name would share the session's entry
 * (the session keys mappings by name); no data is lost, and the names are unlikely. */
static void
claim_make_profile (PlLeaseRegistry *self,
                    Claim           *claim,
                    PlLease         *first)
{
  const PlLeaseRequest *request = pl_lease_get_request (first);
  g_autofree char *name = NULL;

  name = g_strdup_printf ("Lease %s %u%s", claim->protocol == PL_PROTOCOL_TCP ? "TCP" : "UDP",
                          claim->internal_port,
                          claim->family == G_SOCKET_FAMILY_IPV6 ? " IPv6" : "");
  claim->profile = pl_profile_new (name);
  pl_profile_set_protocol (claim->profile, claim->protocol == PL_PROTOCOL_TCP
                                           ? PL_PROFILE_PROTOCOL_TCP : PL_PROFILE_PROTOCOL_UDP);
  pl_profile_set_family (claim->profile, claim->family == G_SOCKET_FAMILY_IPV6
                                         ? PL_PROFILE_FAMILY_IPV6 : PL_PROFILE_FAMILY_IPV4);
  pl_profile_set_internal_port (claim->profile, claim->internal_port);
  pl_profile_set_external_port (claim->profile,
                                request->external_port == claim->internal_port
                                ? 0 : request->external_port);
  if (request->any_external_port)
    pl_profile_set_any_external_port (claim->profile, TRUE);
  pl_profile_set_lifetime (claim->profile, request->lifetime);
  if (request->description != NULL && request->description[0] != '\0')
    pl_profile_set_description (claim->profile, request->description);
  pl_profile_set_enabled (claim->profile, TRUE);

  g_free (claim->carrier);
  claim->carrier = g_strdup (name);
  g_list_store_append (self->joined, claim->profile);
}

static void
claim_drop_profile (PlLeaseRegistry *self,
                    Claim           *claim)
{
  guint position;

  if (claim->profile == NULL)
    return;
  if (g_list_store_find (self->joined, claim->profile, &position))
    g_list_store_remove (self->joined, position);
  g_clear_object (&claim->profile);
}

/* The public port a claim asks the router for. */
static guint
claim_requested_port (PlLeaseRegistry *self,
                      Claim           *claim)
{
  PlProfile *profile = claim->profile;

  if (profile == NULL)
    profile = find_user_carrier (self, claim->protocol, claim->internal_port, claim->family);
  return profile != NULL ? pl_profile_get_requested_port (profile) : claim->internal_port;
}

/* Claims on a user profile whose profile went away (removed, disabled, changed) move to a
 * profile of their own; nothing else moves, so that a router mapping is never deleted
 * while a claim needs it. */
static gboolean
recheck_cb (gpointer user_data)
{
  PlLeaseRegistry *self = user_data;

  self->recheck_id = 0;
  for (guint i = 0; i < self->claims->len; i++)
    {
      Claim *claim = g_ptr_array_index (self->claims, i);
      PlProfile *carrier;

      if (claim->profile != NULL || claim->leases->len == 0)
        continue;
      carrier = find_user_carrier (self, claim->protocol, claim->internal_port, claim->family);
      if (carrier != NULL)
        {
          if (g_strcmp0 (pl_profile_get_name (carrier), claim->carrier) != 0)
            {
              g_free (claim->carrier);
              claim->carrier = g_strdup (pl_profile_get_name (carrier));
            }
          continue;
        }
      g_debug ("Profile %s no longer maps %s %u: the claim maps it itself", claim->carrier,
               pl_protocol_to_string (claim->protocol), claim->internal_port);
      claim_make_profile (self, claim, g_ptr_array_index (claim->leases, 0));
    }
  pl_lease_registry_refresh (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_recheck (PlLeaseRegistry *self)
{
  if (self->recheck_id == 0)
    self->recheck_id = g_idle_add_full (G_PRIORITY_DEFAULT, recheck_cb, self, NULL);
}

static void
user_items_changed_cb (GListModel *model,
                       guint       position,
                       guint       removed,
                       guint       added,
                       gpointer    user_data)
{
  PlLeaseRegistry *self = user_data;
  g_autofree gpointer *items = g_new0 (gpointer, added + 1);

  for (guint i = 0; i < added; i++)
    items[i] = g_list_model_get_item (model, position + i);
  g_list_store_splice (self->joined, position, removed, items, added);
  for (guint i = 0; i < added; i++)
    g_object_unref (items[i]);
  schedule_recheck (self);
}

static void
pl_lease_registry_dispose (GObject *object)
{
  PlLeaseRegistry *self = PL_LEASE_REGISTRY (object);

  pl_lease_registry_set_session (self, NULL);
  g_clear_pointer (&self->others, g_ptr_array_unref);
  g_clear_handle_id (&self->recheck_id, g_source_remove);
  if (self->user != NULL)
    g_clear_signal_handler (&self->user_changed_id, self->user);
  g_clear_object (&self->user);
  g_clear_pointer (&self->lease_claims, g_hash_table_unref);
  g_clear_pointer (&self->claims, g_ptr_array_unref);
  g_clear_object (&self->joined);

  G_OBJECT_CLASS (pl_lease_registry_parent_class)->dispose (object);
}

static void
pl_lease_registry_class_init (PlLeaseRegistryClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pl_lease_registry_dispose;
}

static void
pl_lease_registry_init (PlLeaseRegistry *self)
{
  self->joined = g_list_store_new (PL_TYPE_PROFILE);
  self->claims = g_ptr_array_new_with_free_func ((GDestroyNotify) claim_free);
  self->others = g_ptr_array_new_with_free_func (g_object_unref);
  self->lease_claims = g_hash_table_new_full (g_direct_hash, g_direct_equal, g_object_unref,
                                              (GDestroyNotify) g_ptr_array_unref);
}

PlLeaseRegistry *
pl_lease_registry_new (GListModel *user_profiles)
{
  PlLeaseRegistry *self;

  g_return_val_if_fail (user_profiles == NULL || G_IS_LIST_MODEL (user_profiles), NULL);

  self = g_object_new (PL_TYPE_LEASE_REGISTRY, NULL);
  if (user_profiles != NULL)
    {
      self->user = g_object_ref (user_profiles);
      user_items_changed_cb (user_profiles, 0, 0, g_list_model_get_n_items (user_profiles), self);
      g_clear_handle_id (&self->recheck_id, g_source_remove);
      self->user_changed_id = g_signal_connect (user_profiles, "items-changed",
                                                G_CALLBACK (user_items_changed_cb), self);
    }
  return self;
}

GListModel *
pl_lease_registry_get_profiles (PlLeaseRegistry *self)
{
  g_return_val_if_fail (PL_IS_LEASE_REGISTRY (self), NULL);
  return G_LIST_MODEL (self->joined);
}

GListModel *
pl_lease_registry_get_user_profiles (PlLeaseRegistry *self)
{
  g_return_val_if_fail (PL_IS_LEASE_REGISTRY (self), NULL);
  return self->user;
}

static void
mapping_changed_cb (PlSession *session,
                    PlMapping *mapping,
                    gpointer   user_data)
{
  PlLeaseRegistry *self = user_data;
  const char *name = pl_mapping_get_profile_name (mapping);
  g_autoptr(GPtrArray) leases = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < self->claims->len; i++)
    {
      Claim *claim = g_ptr_array_index (self->claims, i);

      if (g_strcmp0 (claim->carrier, name) != 0 ||
          claim->protocol != pl_mapping_get_protocol (mapping) ||
          claim->family != pl_mapping_get_family (mapping))
        continue;
      if (claim->profile == NULL && pl_mapping_get_state (mapping) == PL_MAPPING_STATE_DISABLED)
        schedule_recheck (self);
      for (guint j = 0; j < claim->leases->len; j++)
        g_ptr_array_add (leases, g_object_ref (g_ptr_array_index (claim->leases, j)));
    }
  for (guint i = 0; i < leases->len; i++)
    update_lease (self, g_ptr_array_index (leases, i));
}

static void
session_changed_cb (PlLeaseRegistry *self)
{
  pl_lease_registry_refresh (self);
}

static void
follow_session (PlLeaseRegistry *self,
                PlSession       *session)
{
  g_signal_connect (session, "mapping-changed", G_CALLBACK (mapping_changed_cb), self);
  g_signal_connect_swapped (session, "external-address-changed",
                            G_CALLBACK (session_changed_cb), self);
  g_signal_connect_swapped (session, "gateway-changed", G_CALLBACK (session_changed_cb), self);
  g_signal_connect_swapped (session, "notify::protocol-name",
                            G_CALLBACK (session_changed_cb), self);
}

void
pl_lease_registry_set_session (PlLeaseRegistry *self,
                               PlSession       *session)
{
  g_return_if_fail (PL_IS_LEASE_REGISTRY (self));
  g_return_if_fail (session == NULL || PL_IS_SESSION (session));

  if (self->session == session)
    return;
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  /* The other gateways' sessions belong with the primary: a new primary starts alone. */
  for (guint i = 0; self->others != NULL && i < self->others->len; i++)
    g_signal_handlers_disconnect_by_data (g_ptr_array_index (self->others, i), self);
  if (self->others != NULL)
    g_ptr_array_set_size (self->others, 0);
  g_set_object (&self->session, session);
  if (session == NULL)
    return;

  follow_session (self, session);
  pl_lease_registry_refresh (self);
}

void
pl_lease_registry_add_session (PlLeaseRegistry *self,
                               PlSession       *session)
{
  g_return_if_fail (PL_IS_LEASE_REGISTRY (self));
  g_return_if_fail (PL_IS_SESSION (session));
  g_return_if_fail (self->session != NULL);

  if (session == self->session || g_ptr_array_find (self->others, session, NULL))
    return;
  g_ptr_array_add (self->others, g_object_ref (session));
  follow_session (self, session);
  pl_lease_registry_refresh (self);
}

gboolean
pl_lease_registry_add (PlLeaseRegistry  *self,
                       PlLease          *lease,
                       GError          **error)
{
  const PlLeaseRequest *request;
  GPtrArray *claims;

  g_return_val_if_fail (PL_IS_LEASE_REGISTRY (self), FALSE);
  g_return_val_if_fail (PL_IS_LEASE (lease), FALSE);
  g_return_val_if_fail (!g_hash_table_contains (self->lease_claims, lease), FALSE);

  request = pl_lease_get_request (lease);

  /* Check every protocol first, so that a refusal claims nothing. */
  for (guint i = 0; i < request->n_protocols && request->require_external_port; i++)
    {
      Claim *claim = find_claim (self, request->protocols[i], request->internal_port,
                                 request->family);
      PlProfile *user = NULL;
      guint asked;
      PlMapping *mapping;

      if (claim != NULL)
        asked = claim_requested_port (self, claim);
      else if ((user = find_user_carrier (self, request->protocols[i], request->internal_port,
                                          request->family)) != NULL)
        asked = pl_profile_get_requested_port (user);
      else
        continue;

      mapping = NULL;
      if (claim != NULL)
        mapping = claim_mapping (self, claim);
      else
        mapping = find_mapping (self, pl_profile_get_name (user), request->protocols[i],
                                request->family, NULL);
      if (asked != request->external_port ||
          (mapping != NULL && pl_mapping_get_state (mapping) == PL_MAPPING_STATE_ACTIVE &&
           pl_mapping_get_external_port (mapping) != request->external_port))
        {
          g_set_error (error, PL_BROKER_ERROR, PL_BROKER_ERROR_PORT_IN_USE,
                       "%s port %u is already mapped to another public port than %u",
                       request->protocols[i] == PL_PROTOCOL_TCP ? "TCP" : "UDP",
                       request->internal_port, request->external_port);
          return FALSE;
        }
    }

  claims = g_ptr_array_new ();
  for (guint i = 0; i < request->n_protocols; i++)
    {
      Claim *claim = find_claim (self, request->protocols[i], request->internal_port,
                                 request->family);

      if (claim == NULL)
        {
          PlProfile *user = find_user_carrier (self, request->protocols[i],
                                               request->internal_port, request->family);

          claim = g_new0 (Claim, 1);
          claim->protocol = request->protocols[i];
          claim->internal_port = request->internal_port;
          claim->family = request->family;
          claim->leases = g_ptr_array_new ();
          g_ptr_array_add (self->claims, claim);
          if (user != NULL)
            claim->carrier = g_strdup (pl_profile_get_name (user));
          else
            claim_make_profile (self, claim, lease);
        }
      else if (claim->profile != NULL &&
               request->lifetime > pl_profile_get_lifetime (claim->profile))
        pl_profile_set_lifetime (claim->profile, request->lifetime);   /* the longest asked */

      g_ptr_array_add (claim->leases, lease);
      g_ptr_array_add (claims, claim);
    }
  g_hash_table_insert (self->lease_claims, g_object_ref (lease), claims);

  update_lease (self, lease);
  return TRUE;
}

void
pl_lease_registry_remove (PlLeaseRegistry *self,
                          PlLease         *lease)
{
  GPtrArray *claims;

  g_return_if_fail (PL_IS_LEASE_REGISTRY (self));
  g_return_if_fail (PL_IS_LEASE (lease));

  claims = g_hash_table_lookup (self->lease_claims, lease);
  if (claims == NULL)
    return;

  for (guint i = 0; i < claims->len; i++)
    {
      Claim *claim = g_ptr_array_index (claims, i);

      g_ptr_array_remove (claim->leases, lease);
      if (claim->leases->len > 0)
        continue;
      /* The last claim: delete the router mapping if it is ours (the session deletes that
       * one port), leave it if a user profile holds it. */
      claim_drop_profile (self, claim);
      g_ptr_array_remove (self->claims, claim);
    }
  g_hash_table_remove (self->lease_claims, lease);
}

guint
pl_lease_registry_count_claims (PlLeaseRegistry *self,
                                PlProtocol       protocol,
                                guint16          internal_port,
                                GSocketFamily    family)
{
  Claim *claim;

  g_return_val_if_fail (PL_IS_LEASE_REGISTRY (self), 0);

  claim = find_claim (self, protocol, internal_port, family);
  return claim != NULL ? claim->leases->len : 0;
}

static const char *
method_name (const char *protocol_name)
{
  if (protocol_name == NULL)
    return "";
  if (g_ascii_strcasecmp (protocol_name, "PCP") == 0)
    return "pcp";
  if (g_ascii_strcasecmp (protocol_name, "NAT-PMP") == 0)
    return "nat-pmp";
  if (g_str_has_prefix (protocol_name, "UPnP"))
    return "upnp-igd";
  return "";
}

/* The session whose mapping @mapping is (its router, address and method are the lease's). */
static PlSession *
mapping_session (PlLeaseRegistry *self,
                 PlMapping       *mapping)
{
  PlSession *session = self->session;

  if (find_mapping (self, pl_mapping_get_profile_name (mapping), pl_mapping_get_protocol (mapping),
                    pl_mapping_get_family (mapping), &session) != mapping)
    session = self->session;
  return session;
}

static GVariant *
mapping_to_variant (PlLeaseRegistry *self,
                    PlMapping       *mapping)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  PlSession *session = mapping_session (self, mapping);
  PlClock *clock = pl_session_get_clock (session);
  gboolean ipv6 = pl_mapping_get_family (mapping) == G_SOCKET_FAMILY_IPV6;
  const char *address = ipv6 ? pl_mapping_get_external_address (mapping)
                             : pl_session_get_external_address (session);
  g_autofree char *gateway = NULL;
  gint64 now = pl_clock_get_time (clock);
  gint64 expires = 0;
  gint64 renews = 0;

  if (pl_session_get_gateway (session) != NULL)
    gateway = g_inet_address_to_string (pl_session_get_gateway (session));
  if (pl_mapping_get_expires (mapping) != 0)
    expires = g_get_real_time () + (pl_mapping_get_expires (mapping) - now);
  if (pl_mapping_get_renew_at (mapping) != 0)
    renews = g_get_real_time () + (pl_mapping_get_renew_at (mapping) - now);

  g_variant_builder_add (&builder, "{sv}", "protocol",
                         g_variant_new_string (pl_mapping_get_protocol (mapping) == PL_PROTOCOL_TCP
                                               ? "tcp" : "udp"));
  g_variant_builder_add (&builder, "{sv}", "family", g_variant_new_string (ipv6 ? "ipv6" : "ipv4"));
  g_variant_builder_add (&builder, "{sv}", "external_address",
                         g_variant_new_string (address != NULL ? address : ""));
  g_variant_builder_add (&builder, "{sv}", "external_port",
                         g_variant_new_uint16 (pl_mapping_get_external_port (mapping)));
  g_variant_builder_add (&builder, "{sv}", "expires_at",
                         g_variant_new_uint64 ((guint64) MAX (expires, 0)));
  g_variant_builder_add (&builder, "{sv}", "method",
                         g_variant_new_string (method_name (pl_session_get_protocol_name (session))));
  g_variant_builder_add (&builder, "{sv}", "gateway",
                         g_variant_new_string (gateway != NULL ? gateway : ""));
  g_variant_builder_add (&builder, "{sv}", "lifetime",
                         g_variant_new_uint32 (pl_mapping_get_lifetime (mapping)));
  g_variant_builder_add (&builder, "{sv}", "renews_at",
                         g_variant_new_uint64 ((guint64) MAX (renews, 0)));
  return g_variant_builder_end (&builder);
}

/* Whether @mappings (NULL entries: not made yet) hold both IPv4 mappings and IPv6 pinholes:
 * a Family=both profile's, whose lease's State says its IPv4 side (PinholeError the rest). */
static gboolean
mixes_families (PlMapping **mappings,
                guint       n)
{
  gboolean ipv4 = FALSE, ipv6 = FALSE;

  for (guint i = 0; i < n; i++)
    if (mappings[i] != NULL && pl_mapping_get_family (mappings[i]) == G_SOCKET_FAMILY_IPV6)
      ipv6 = TRUE;
    else if (mappings[i] != NULL)
      ipv4 = TRUE;
  return ipv4 && ipv6;
}

/* The lease's state from the mappings that realise it (NULL entries: not made yet).
 * Returns FALSE when a required external port was not granted: the lease failed for good. */
static gboolean
apply_mappings (PlLeaseRegistry *self,
                PlLease         *lease,
                PlMapping      **mappings,
                guint            n)
{
  const PlLeaseRequest *request = pl_lease_get_request (lease);
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));
  gboolean mixed = mixes_families (mappings, n);
  const GError *final_error = NULL;
  const GError *retry_error = NULL;
  const GError *pinhole_error = NULL;
  gboolean port_mismatch = FALSE;
  guint n_active = 0;
  guint n_counted = 0;

  for (guint i = 0; i < n; i++)
    {
      PlMapping *mapping = mappings[i];
      const GError *error;

      if (mapping == NULL)
        {
          n_counted++;
          continue;
        }
      error = pl_mapping_get_error (mapping);
      if (mixed && pl_mapping_get_family (mapping) == G_SOCKET_FAMILY_IPV6)
        {
          /* The pinhole beside the IPv4 mapping: listed while open, its refusal said apart. */
          if (pl_mapping_get_state (mapping) == PL_MAPPING_STATE_ACTIVE)
            g_variant_builder_add_value (&builder, mapping_to_variant (self, mapping));
          else if (pl_mapping_get_state (mapping) == PL_MAPPING_STATE_FAILED &&
                   pinhole_error == NULL)
            pinhole_error = error;
          continue;
        }
      n_counted++;
      switch (pl_mapping_get_state (mapping))
        {
        case PL_MAPPING_STATE_ACTIVE:
          n_active++;
          if (request->require_external_port &&
              pl_mapping_get_external_port (mapping) != request->external_port)
            port_mismatch = TRUE;
          g_variant_builder_add_value (&builder, mapping_to_variant (self, mapping));
          break;
        case PL_MAPPING_STATE_FAILED:
          if (error != NULL && pl_broker_error_is_final (error))
            final_error = final_error != NULL ? final_error : error;
          else if (error != NULL)
            retry_error = retry_error != NULL ? retry_error : error;
          break;
        case PL_MAPPING_STATE_MAPPING:
          if (error != NULL)
            retry_error = retry_error != NULL ? retry_error : error;
          break;
        case PL_MAPPING_STATE_DISABLED:
        default:
          break;
        }
    }

  if (port_mismatch)
    {
      g_autoptr(GError) error =
        g_error_new (PL_BROKER_ERROR, PL_BROKER_ERROR_EXTERNAL_PORT_UNAVAILABLE,
                     "The router gave another public port than the required %u",
                     request->external_port);

      pl_lease_set_status (lease, PL_LEASE_STATE_FAILED, error, NULL);
      return FALSE;
    }
  pl_lease_set_pinhole_error (lease, mixed ? pinhole_error : NULL);
  if (final_error != NULL)
    pl_lease_set_status (lease, PL_LEASE_STATE_FAILED, final_error, NULL);
  else if (n_active == n_counted && n_active > 0)
    pl_lease_set_status (lease, PL_LEASE_STATE_ACTIVE, NULL, g_variant_builder_end (&builder));
  else
    pl_lease_set_status (lease,
                         pl_lease_get_was_active (lease) ? PL_LEASE_STATE_LOST
                                                         : PL_LEASE_STATE_PENDING,
                         retry_error, NULL);
  return TRUE;
}

static void
update_lease (PlLeaseRegistry *self,
              PlLease         *lease)
{
  GPtrArray *claims = g_hash_table_lookup (self->lease_claims, lease);
  g_autofree PlMapping **mappings = NULL;

  if (claims == NULL || pl_lease_get_revoked (lease))
    return;

  mappings = g_new0 (PlMapping *, claims->len + 1);
  for (guint i = 0; i < claims->len; i++)
    mappings[i] = claim_mapping (self, g_ptr_array_index (claims, i));
  if (!apply_mappings (self, lease, mappings, claims->len))
    {
      g_autoptr(PlLease) ref = g_object_ref (lease);

      /* Failed for good: let go of the claims (the mapping goes if no one else holds it). */
      pl_lease_registry_remove (self, lease);
    }
}

void
pl_lease_registry_update_profile_lease (PlLeaseRegistry *self,
                                        PlLease         *lease,
                                        const char      *profile_name)
{
  g_autoptr(GPtrArray) mappings = g_ptr_array_new ();

  g_return_if_fail (PL_IS_LEASE_REGISTRY (self));
  g_return_if_fail (PL_IS_LEASE (lease));

  if (self->session == NULL)
    return;
  /* The profile is in one session: the primary, or its Gateway='s. */
  for (guint s = 0; s < n_sessions (self) && mappings->len == 0; s++)
    {
      GListModel *all = pl_session_get_mappings (session_at (self, s));
      guint n = g_list_model_get_n_items (all);

      for (guint i = 0; i < n; i++)
        {
          g_autoptr(PlMapping) mapping = g_list_model_get_item (all, i);

          if (g_strcmp0 (pl_mapping_get_profile_name (mapping), profile_name) == 0)
            g_ptr_array_add (mappings, mapping);   /* the session's list keeps it alive */
        }
    }
  if (mappings->len == 0)
    {
      pl_lease_set_status (lease, PL_LEASE_STATE_PENDING, NULL, NULL);
      return;
    }
  apply_mappings (self, lease, (PlMapping **) mappings->pdata, mappings->len);
}

void
pl_lease_registry_refresh (PlLeaseRegistry *self)
{
  GList *leases;

  g_return_if_fail (PL_IS_LEASE_REGISTRY (self));

  /* update_lease() may drop a lease's claims: walk a copy. */
  leases = g_hash_table_get_keys (self->lease_claims);
  for (GList *l = leases; l != NULL; l = l->next)
    g_object_ref (l->data);
  for (GList *l = leases; l != NULL; l = l->next)
    update_lease (self, l->data);
  g_list_free_full (leases, g_object_unref);
}
