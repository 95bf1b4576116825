/* pl-session-requests.c: the requests: each mapping and delete with the mapper
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "pl-session-private.h"

static void
address_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data);
static void
map_cb (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data);
static void
unmap_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data);

/* Timers. */

gint64
_pl_session_now_us (PlSession *self)
{
  return pl_clock_get_time (self->clock);
}

GSource *
_pl_session_timer_new (PlSession   *self,
                       guint64      delay_ms,
                       GSourceFunc  func,
                       gpointer     data)
{
  GSource *source = pl_clock_timeout_source_new (self->clock, delay_ms);

  g_source_set_callback (source, func, data, NULL);
  g_source_set_static_name (source, "[portlight] session timer");
  g_source_attach (source, self->context);
  return source;
}

guint64
_pl_session_ms_until (PlSession *self,
                      gint64     when)
{
  gint64 delta = when - _pl_session_now_us (self);

  return delta > 0 ? (guint64) (delta + 999) / 1000 : 0;
}

/* Back-off: transient errors and timeouts retry soon, refusals much later. */

gboolean
_pl_session_error_is_refusal (const GError *error)
{
  return error != NULL && error->domain == PL_ERROR &&
         (error->code == PL_ERROR_NOT_AUTHORIZED ||
          error->code == PL_ERROR_PORT_IN_USE ||
          error->code == PL_ERROR_UNSUPPORTED_VERSION ||
          error->code == PL_ERROR_UNSUPPORTED_OPCODE ||
          error->code == PL_ERROR_UNKNOWN_RESULT);
}

guint64
_pl_session_backoff_ms (const GError *error,
                        guint         failures)
{
  guint64 min_ms = RETRY_SHORT_MIN_MS;
  guint64 max_ms = RETRY_SHORT_MAX_MS;
  guint64 delay;

  if (_pl_session_error_is_refusal (error))
    {
      min_ms = RETRY_LONG_MIN_MS;
      max_ms = RETRY_LONG_MAX_MS;
    }

  delay = min_ms << MIN (failures > 0 ? failures - 1 : 0, 16);
  return MIN (delay, max_ms);
}

/* Ops: each request with the mapper. The mapper queues them by its protocol's rules (NAT-PMP
 * one at a time, PCP several at once), so the session hands each over as soon as it is
 * wanted; it keeps at most one map request per mapping, and one address query. */

static Op *
op_new (PlSession *self,
        OpKind     kind)
{
  Op *op = g_new0 (Op, 1);

  op->session = self;
  op->kind = kind;
  op->cancellable = g_cancellable_new ();
  return op;
}

static void
op_free (Op *op)
{
  pl_clear_source (&op->deadline);
  g_clear_object (&op->cancellable);
  g_free (op->gateway);
  g_free (op);
}

gboolean
_pl_session_op_deadline_cb (gpointer data)
{
  Op *op = data;

  /* Set on every delete while stopping (unmap_cb does the rest), and on every address
   * query (address_cb backs off and asks again later). */
  g_clear_pointer (&op->deadline, g_source_unref);
  g_cancellable_cancel (op->cancellable);
  return G_SOURCE_REMOVE;
}

/* Forget @op: it is detached and cancelled, so its callback only frees it. */
void
_pl_session_op_abandon (Op *op)
{
  if (op == NULL)
    return;
  if (op->entry != NULL && op->entry->op == op)
    op->entry->op = NULL;
  if (op->session != NULL && op->session->address_op == op)
    op->session->address_op = NULL;
  if (op->session != NULL)
    g_ptr_array_remove (op->session->unmaps, op);
  op->entry = NULL;
  op->session = NULL;
  pl_clear_source (&op->deadline);
  g_cancellable_cancel (op->cancellable);
}

/* Everything with the mapper is dropped (a new gateway, a stop, dispose). Deletes too,
 * unless @keep_unmaps. */
void
_pl_session_abandon_requests (PlSession *self,
                              gboolean   keep_unmaps)
{
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      _pl_session_op_abandon (entry->op);
      entry->wanted = FALSE;
    }
  _pl_session_op_abandon (self->address_op);
  self->address_wanted = FALSE;
  while (!keep_unmaps && self->unmaps->len > 0)
    _pl_session_op_abandon (g_ptr_array_index (self->unmaps, self->unmaps->len - 1));
}

/* The mapper for @family: the gateway's, or the IPv6 router's for pinholes. */
PlPortMapper *
_pl_session_mapper_for (PlSession     *self,
                        GSocketFamily  family)
{
  return family == G_SOCKET_FAMILY_IPV6 ? self->mapper6 : self->mapper;
}

Op *
_pl_session_submit_unmap (PlSession     *self,
                          GSocketFamily  family,
                          PlProtocol     protocol,
                          guint16        internal_port)
{
  PlPortMapper *mapper = _pl_session_mapper_for (self, family);
  Op *op;

  if (mapper == NULL)
    return NULL;

  op = op_new (self, OP_UNMAP);
  op->family = family;
  op->protocol = protocol;
  op->internal_port = internal_port;
  if (family == G_SOCKET_FAMILY_IPV4)
    op->gateway = g_strdup (self->gateway_str);
  g_ptr_array_add (self->unmaps, op);
  g_debug ("Deleting %s %s %u", family == G_SOCKET_FAMILY_IPV6 ? "pinhole" : "mapping",
           pl_protocol_to_string (protocol), internal_port);
  pl_port_mapper_unmap_async (mapper, protocol, internal_port, op->cancellable, unmap_cb, op);
  return op;
}

/* Mappings. */

void
_pl_session_entry_publish (Entry          *entry,
                           PlMappingState  state,
                           guint16         external_port,
                           guint32         lifetime,
                           gint64          expires,
                           gint64          renew_at,
                           const GError   *error,
                           gint64          retry_at)
{
  PlMapping *mapping = entry->mapping;
  gboolean changed = FALSE;

  g_object_freeze_notify (G_OBJECT (mapping));
  changed |= _pl_mapping_set_state (mapping, state);
  changed |= _pl_mapping_set_external_port (mapping, external_port);
  changed |= _pl_mapping_set_lifetime (mapping, lifetime);
  changed |= _pl_mapping_set_expires (mapping, expires);
  changed |= _pl_mapping_set_renew_at (mapping, renew_at);
  changed |= _pl_mapping_set_error (mapping, error);
  changed |= _pl_mapping_set_retry_at (mapping, retry_at);
  g_object_thaw_notify (G_OBJECT (mapping));

  if (changed)
    g_signal_emit (entry->session, _pl_session_signals[SIGNAL_MAPPING_CHANGED], 0, mapping);
}

/* The public port of an IPv4 mapping is now @port: told once when first known and once per
 * change (a reconnect, a lost mapping), not at renewals that keep it. Pinholes open the
 * internal port itself, which never changes. */
void
_pl_session_entry_report_port (Entry   *entry,
                               guint16  port)
{
  PlSession *self = entry->session;
  guint16 old_port = entry->reported_port;

  if (entry->family != G_SOCKET_FAMILY_IPV4 || port == 0 || port == old_port)
    return;

  entry->reported_port = port;
  g_debug ("Mapping %s/%s: public port %u (was %u)", entry->profile_name,
           pl_protocol_to_string (entry->protocol), port, old_port);
  g_signal_emit (self, _pl_session_signals[SIGNAL_PORT_CHANGED], 0, entry->mapping,
                 (guint) old_port);
  _pl_session_run_port_hook (self, entry, port);
}

void
_pl_session_entry_publish_pending (Entry *entry)
{
  _pl_session_entry_publish (entry, PL_MAPPING_STATE_MAPPING, 0, 0, 0, 0,
                             pl_mapping_get_error (entry->mapping), 0);
}

void
_pl_session_entry_publish_disabled (Entry *entry)
{
  _pl_session_entry_publish (entry, PL_MAPPING_STATE_DISABLED, 0, 0, 0, 0, entry->config_error, 0);
}

Entry *
_pl_session_entry_new (PlSession     *self,
                       const char    *profile_name,
                       PlProtocol     protocol,
                       GSocketFamily  family)
{
  Entry *entry = g_new0 (Entry, 1);

  entry->session = self;
  entry->profile_name = g_strdup (profile_name);
  entry->protocol = protocol;
  entry->family = family;
  entry->mapping = _pl_mapping_new_full (profile_name, protocol, family);
  return entry;
}

void
_pl_session_entry_clear_timers (Entry *entry)
{
  pl_clear_source (&entry->timer);
  pl_clear_source (&entry->expiry);
}

void
_pl_session_entry_free (Entry *entry)
{
  _pl_session_entry_clear_timers (entry);
  g_clear_object (&entry->mapping);
  g_clear_error (&entry->config_error);
  g_free (entry->profile_name);
  g_free (entry);
}

/* Whether the gateway may hold a mapping for @entry. Deleting one that is not there is
 * harmless (RFC 6886 section 3.4), so this errs on the side of yes. */
gboolean
_pl_session_entry_may_be_mapped (Entry *entry)
{
  return entry->expires != 0 || entry->op != NULL || entry->last_port != 0;
}

/* Stop everything going on for @entry, and delete its mapping on the gateway if there may
 * be one. */
void
_pl_session_entry_release (PlSession *self,
                           Entry     *entry)
{
  gboolean mapped = _pl_session_entry_may_be_mapped (entry);

  _pl_session_op_abandon (entry->op);
  entry->wanted = FALSE;
  entry->remap = FALSE;
  _pl_session_entry_clear_timers (entry);

  if (mapped && entry->internal_port != 0)
    _pl_session_submit_unmap (self, entry->family, entry->protocol, entry->internal_port);

  entry->last_port = 0;
  entry->reported_port = 0;   /* mapped again, it is told again */
  entry->expires = 0;
  entry->failures = 0;
}

/* The other protocol's mapping of the same profile, port and family, if it holds one. */
static Entry *
entry_sibling (PlSession *self,
               Entry     *entry)
{
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *other = g_ptr_array_index (self->entries, i);

      if (other != entry && other->family == entry->family &&
          other->internal_port == entry->internal_port && other->protocol != entry->protocol &&
          g_strcmp0 (other->profile_name, entry->profile_name) == 0 && other->expires != 0)
        return other;
    }
  return NULL;
}

/* A TCP and a UDP mapping of one port are renewed together, TCP first: renewing one alone
 * can drop the other's accept rule on miniupnpd 2.3.1 (tests/lab/MINIUPNPD.md, item 7). */
static gboolean
entry_renew_cb (gpointer data)
{
  Entry *entry = data;
  PlSession *self = entry->session;
  Entry *sibling = entry_sibling (self, entry);

  g_clear_pointer (&entry->timer, g_source_unref);
  if (sibling != NULL && sibling->op == NULL)
    {
      Entry *first = entry->protocol == PL_PROTOCOL_TCP ? entry : sibling;
      Entry *second = first == entry ? sibling : entry;

      pl_clear_source (&sibling->timer);
      _pl_session_queue_map (self, first);
      _pl_session_queue_map (self, second);
      return G_SOURCE_REMOVE;
    }
  _pl_session_queue_map (self, entry);
  return G_SOURCE_REMOVE;
}

static gboolean
entry_retry_cb (gpointer data)
{
  Entry *entry = data;

  g_clear_pointer (&entry->timer, g_source_unref);
  if (entry->expires == 0)
    _pl_session_entry_publish_pending (entry);
  _pl_session_queue_map (entry->session, entry);
  return G_SOURCE_REMOVE;
}

/* The granted lifetime ran out before a renewal got through: the mapping is lost. Create it
 * again with a fresh request (and the full retransmission schedule), still suggesting the
 * last port. */
gboolean
_pl_session_entry_expired_cb (gpointer data)
{
  Entry *entry = data;
  PlSession *self = entry->session;

  g_clear_pointer (&entry->expiry, g_source_unref);
  g_debug ("Mapping %s/%s expired without renewal; creating it again",
           entry->profile_name, pl_protocol_to_string (entry->protocol));

  _pl_session_op_abandon (entry->op);
  pl_clear_source (&entry->timer);
  entry->expires = 0;
  entry->failures = 0;
  _pl_session_entry_publish (entry, PL_MAPPING_STATE_MAPPING, 0, 0, 0, 0, NULL, 0);
  _pl_session_queue_map (self, entry);
  return G_SOURCE_REMOVE;
}

static void
entry_granted (PlSession *self,
               Entry     *entry,
               guint16    external_port,
               guint32    lifetime)
{
  gint64 now = _pl_session_now_us (self);
  PlPortMapper *mapper = _pl_session_mapper_for (self, entry->family);
  guint64 renew_ms = MAX (pl_port_mapper_get_renew_delay_ms (mapper, lifetime),
                          MIN_RENEW_DELAY_MS);
  guint64 life_ms = (guint64) lifetime * 1000;

  _pl_session_entry_clear_timers (entry);
  entry->last_port = external_port;
  entry->expires = now + (gint64) life_ms * 1000;
  entry->failures = 0;
  if (entry->family == G_SOCKET_FAMILY_IPV4)
    {
      self->confirmed = TRUE;
      self->protocol_failures = 0;
    }

  if (entry->any_port)
    g_debug ("Mapping %s/%s: the gateway chose port %u",
             entry->profile_name, pl_protocol_to_string (entry->protocol), external_port);
  else if (external_port != (entry->requested_port != 0 ? entry->requested_port
                                                        : entry->internal_port))
    g_debug ("Mapping %s/%s: the gateway gave port %u instead of the one asked for",
             entry->profile_name, pl_protocol_to_string (entry->protocol), external_port);

  entry->timer = _pl_session_timer_new (self, renew_ms, entry_renew_cb, entry);
  entry->expiry = _pl_session_timer_new (self, life_ms, _pl_session_entry_expired_cb, entry);

  _pl_session_entry_publish (entry, PL_MAPPING_STATE_ACTIVE, external_port, lifetime,
                             entry->expires, now + (gint64) renew_ms * 1000, NULL, 0);
  _pl_session_entry_report_port (entry, external_port);
}

static void
entry_failed (PlSession    *self,
              Entry        *entry,
              const GError *error)
{
  gint64 now = _pl_session_now_us (self);
  guint64 delay_ms;

  entry->failures++;
  delay_ms = _pl_session_backoff_ms (error, entry->failures);
  pl_clear_source (&entry->timer);
  entry->timer = _pl_session_timer_new (self, delay_ms, entry_retry_cb, entry);

  g_debug ("Mapping %s/%s failed (%s); next attempt in %" G_GUINT64_FORMAT " s",
           entry->profile_name, pl_protocol_to_string (entry->protocol),
           error->message, delay_ms / 1000);

  if (entry->expires > now)
    {
      /* A renewal failed: the mapping still holds until it expires. */
      _pl_session_entry_publish (entry, PL_MAPPING_STATE_ACTIVE,
                                 pl_mapping_get_external_port (entry->mapping),
                                 pl_mapping_get_lifetime (entry->mapping),
                                 entry->expires, 0, error, now + (gint64) delay_ms * 1000);
    }
  else
    {
      pl_clear_source (&entry->expiry);
      entry->expires = 0;
      _pl_session_entry_publish (entry, PL_MAPPING_STATE_FAILED, 0, 0, 0, 0, error,
                                 now + (gint64) delay_ms * 1000);
    }
}

/* Requests. */

static void
submit_map (PlSession *self,
            Entry     *entry)
{
  Op *op = op_new (self, OP_MAP);
  guint16 suggested;

  op->entry = entry;
  entry->op = op;
  entry->wanted = FALSE;

  /* Always suggest the port granted before (RFC 6886 section 3.3, RFC 6887 section 11.2),
   * also after a reset (the gateway may give it back, or another: that is taken and
   * reported); else the one wanted, 0 only for "any" (RFC 6886 section 3.3: the gateway
   * chooses). A pinhole opens the internal port itself. */
  if (entry->family == G_SOCKET_FAMILY_IPV6)
    suggested = entry->internal_port;
  else if (entry->last_port != 0)
    suggested = entry->last_port;
  else if (entry->any_port && !entry->zero_refused)
    suggested = 0;
  else if (entry->requested_port != 0)
    suggested = entry->requested_port;
  else
    suggested = entry->internal_port;

  g_debug ("%s mapping %s/%s: internal %u, suggesting %u, lifetime %u",
           entry->expires != 0 ? "Renewing" : "Creating",
           entry->profile_name, pl_protocol_to_string (entry->protocol),
           entry->internal_port, suggested, entry->lifetime);
  op->suggested = suggested;
  pl_port_mapper_set_label (_pl_session_mapper_for (self, entry->family), entry->protocol,
                            entry->internal_port, entry->profile_name);
  pl_port_mapper_map_async (_pl_session_mapper_for (self, entry->family), entry->protocol,
                            entry->internal_port, suggested, entry->lifetime, op->cancellable,
                            map_cb, op);
}

/* Ask for @entry now, or as soon as there is a mapper (while the gateway is probed). */
void
_pl_session_queue_map (PlSession *self,
                       Entry     *entry)
{
  if (!self->running || !entry->enabled || entry->config_error != NULL)
    return;
  if (entry->op != NULL)
    return;
  if (_pl_session_mapper_for (self, entry->family) == NULL)
    {
      entry->wanted = TRUE;
      return;
    }
  submit_map (self, entry);
}

void
_pl_session_queue_address (PlSession *self)
{
  Op *op;

  if (!self->running)
    return;

  self->address_wanted = TRUE;
  if (self->address_op != NULL || self->mapper == NULL)
    return;

  pl_clear_source (&self->address_timer);
  op = op_new (self, OP_ADDRESS);
  self->address_op = op;
  op->deadline = _pl_session_timer_new (self, ADDRESS_QUERY_TIMEOUT_MS,
                                        _pl_session_op_deadline_cb, op);
  pl_port_mapper_get_external_address_async (self->mapper, op->cancellable, address_cb, op);
}

/* A mapper arrived (the probe answered): what waited for it goes out now. */
void
_pl_session_submit_wanted (PlSession *self)
{
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry->wanted)
        _pl_session_queue_map (self, entry);
    }
  if (self->address_wanted)
    _pl_session_queue_address (self);
}

void
_pl_session_set_external_address (PlSession    *self,
                                  const guint8 *address)
{
  g_autofree char *text = NULL;
  gboolean double_nat = FALSE;

  if (address != NULL)
    {
      text = g_strdup_printf ("%u.%u.%u.%u", address[0], address[1], address[2], address[3]);
      double_nat = pl_natpmp_address_is_double_nat (address);
    }

  if (g_strcmp0 (text, self->external_address) != 0)
    {
      g_free (self->external_address);
      self->external_address = g_steal_pointer (&text);
      g_object_notify_by_pspec (G_OBJECT (self), _pl_session_properties[PROP_EXTERNAL_ADDRESS]);
      g_signal_emit (self, _pl_session_signals[SIGNAL_EXTERNAL_ADDRESS_CHANGED], 0,
                     self->external_address);
    }

  if (double_nat != self->double_nat)
    {
      self->double_nat = double_nat;
      g_object_notify_by_pspec (G_OBJECT (self), _pl_session_properties[PROP_DOUBLE_NAT]);
      g_signal_emit (self, _pl_session_signals[SIGNAL_DOUBLE_NAT_CHANGED], 0, double_nat);
    }
}

static gboolean
address_retry_cb (gpointer data)
{
  PlSession *self = data;

  g_clear_pointer (&self->address_timer, g_source_unref);
  _pl_session_queue_address (self);
  return G_SOURCE_REMOVE;
}

/* Each callback owns its op. An op the session abandoned was detached from it first (the
 * session may be gone by now), so it is only freed. An op cut short by its deadline is
 * still attached and fails like any other. */

static void
address_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Op *op = user_data;
  PlSession *self;
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GError) error = NULL;

  address = pl_port_mapper_get_external_address_finish (PL_PORT_MAPPER (source), result,
                                                        NULL, &error);
  if (op->session == NULL)
    {
      op_free (op);
      return;
    }

  self = op->session;
  g_assert (self->address_op == op);
  self->address_op = NULL;
  op_free (op);

  /* A state loss this reply showed was reported while the query was still with the mapper,
   * so that the round did not ask again for what this reply says. */
  if (address != NULL && g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4)
    {
      self->address_wanted = FALSE;
      self->address_failures = 0;
      _pl_session_set_external_address (self, g_inet_address_to_bytes (address));
    }
  else if (self->running)
    {
      guint64 delay_ms;

      if (error == NULL)
        error = g_error_new (PL_ERROR, PL_ERROR_MALFORMED_REPLY,
                             _("The router at %s sent an address that is not IPv4"),
                             self->gateway_str);
      self->address_failures++;
      delay_ms = _pl_session_backoff_ms (error, self->address_failures);
      g_debug ("Public address query failed (%s); next attempt in %" G_GUINT64_FORMAT " s",
               error->message, delay_ms / 1000);
      pl_clear_source (&self->address_timer);
      self->address_timer = _pl_session_timer_new (self, delay_ms, address_retry_cb, self);
    }

  /* OnPortChange commands waiting for the address run now, with it or without. */
  _pl_session_flush_port_hooks (self);
}

static void
map_cb (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  Op *op = user_data;
  PlSession *self;
  Entry *entry;
  g_autoptr(GError) error = NULL;
  guint16 external_port = 0;
  guint32 lifetime = 0;
  guint16 suggested;
  gboolean ok;

  ok = pl_port_mapper_map_finish (PL_PORT_MAPPER (source), result,
                                  &external_port, &lifetime, NULL, &error);
  if (op->session == NULL)
    {
      op_free (op);
      return;
    }

  self = op->session;
  entry = op->entry;
  g_assert (entry->op == op);

  /* A state loss this reply showed was reported (PlPortMapper::state-lost) while the entry
   * still had its request out: the round did not repeat what the gateway just granted. */
  entry->op = NULL;
  suggested = op->suggested;
  op_free (op);

  /* "Any public port" asks with a suggestion of 0, which RFC 6886 (section 3.3) and RFC 6887
   * (section 11.1) define as "the gateway chooses". Some gateways refuse it instead of
   * choosing (MikroTik RouterOS: "unable to allocate port for mapping *:0"): ask again at
   * once, suggesting the internal port, and keep doing that for this mapping. */
  if (!ok && suggested == 0 && entry->any_port && !entry->zero_refused &&
      entry->family == G_SOCKET_FAMILY_IPV4 && pl_error_refuses_any_port (error))
    {
      g_debug ("Mapping %s/%s: the gateway refused to choose a port (%s); suggesting %u",
               entry->profile_name, pl_protocol_to_string (entry->protocol), error->message,
               entry->internal_port);
      entry->zero_refused = TRUE;
      _pl_session_queue_map (self, entry);
      return;
    }

  if (ok && lifetime == 0)
    {
      g_clear_error (&error);
      error = g_error_new (PL_ERROR, PL_ERROR_MALFORMED_REPLY,
                           _("The router at %s granted a mapping with no lifetime"),
                           self->gateway_str);
      ok = FALSE;
    }

  if (ok)
    {
      if (entry->family == G_SOCKET_FAMILY_IPV6)
        _pl_mapping_set_external_address (entry->mapping, self->address6);
      entry_granted (self, entry, external_port, lifetime);
      if (self->address_wanted)
        _pl_session_queue_address (self);
      if (entry->remap)
        {
          /* Granted, but perhaps before another session's delete of the port: again. */
          g_debug ("Mapping %s/%s: asking again after another session's delete",
                   entry->profile_name, pl_protocol_to_string (entry->protocol));
          entry->remap = FALSE;
          _pl_session_entry_clear_timers (entry);
          _pl_session_queue_map (self, entry);
        }
    }
  else
    {
      /* The protocol itself is gone (not this one port): ask the gateway again. */
      gboolean protocol_gone = entry->family == G_SOCKET_FAMILY_IPV4 &&
                               error->domain == PL_ERROR &&
                               (error->code == PL_ERROR_UNSUPPORTED_VERSION ||
                                error->code == PL_ERROR_UNSUPPORTED_OPCODE ||
                                error->code == PL_ERROR_REFUSED ||
                                error->code == PL_ERROR_TIMED_OUT);

      entry->remap = FALSE;   /* failed: its retry comes after the delete */
      /* A remembered protocol that the router no longer speaks (its settings changed since)
       * is no failure of this mapping: it waits for the probe, like the others, instead of
       * failing once (and a program waiting for it giving up) before the right protocol is
       * found. */
      if (protocol_gone && self->from_memory && !self->confirmed &&
          _pl_session_protocol_failed (self, error))
        {
          g_debug ("Mapping %s/%s: the remembered protocol failed (%s); waiting for the probe",
                   entry->profile_name, pl_protocol_to_string (entry->protocol),
                   error->message);
          return;
        }
      entry_failed (self, entry, error);
      if (protocol_gone)
        _pl_session_protocol_failed (self, error);
    }
}

static void
unmap_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  Op *op = user_data;
  PlSession *self;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = pl_port_mapper_unmap_finish (PL_PORT_MAPPER (source), result, NULL, &error);
  if (op->session == NULL)
    {
      op_free (op);
      return;
    }

  self = op->session;
  g_ptr_array_remove (self->unmaps, op);

  if (ok)
    g_debug ("Deleted mapping %s %u", pl_protocol_to_string (op->protocol),
             op->internal_port);
  else
    {
      /* A mapping set up by hand gives "not authorized" (RFC 6886 section 3.4); either way
       * it expires on its own. */
      g_debug ("Deleting mapping %s %u failed: %s", pl_protocol_to_string (op->protocol),
               op->internal_port, error->message);
      if (self->stopping)
        self->stop_unconfirmed++;
    }
  if (self->unmapped_func != NULL && op->gateway != NULL)
    self->unmapped_func (self, op->gateway, op->protocol, op->internal_port,
                         self->unmapped_data);
  op_free (op);

  if (self->stopping && self->unmaps->len == 0)
    _pl_session_stop_complete (self);
}

void
_pl_session_set_unmapped_func (PlSession             *self,
                               PlSessionUnmappedFunc  func,
                               gpointer               user_data)
{
  self->unmapped_func = func;
  self->unmapped_data = user_data;
}

/* Another session of the group had a mapping of @protocol @internal_port on this session's
 * gateway and the gateway has answered its delete (a profile that changed its Gateway= while
 * both sessions speak to one router, a VPN carrying the default route). NAT-PMP and PCP key
 * a mapping by this computer's address, protocol and internal port, not by socket, so if our
 * request for that port reached the gateway before the delete, the delete removed what we
 * hold. Ask again: at once when no request is out, else as soon as it answers. A request
 * sent after the delete costs one needless renewal. */
void
_pl_session_remap_port (PlSession  *self,
                        PlProtocol  protocol,
                        guint16     internal_port)
{
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry->family != G_SOCKET_FAMILY_IPV4 || entry->protocol != protocol ||
          entry->internal_port != internal_port || !entry->enabled ||
          entry->config_error != NULL)
        continue;
      if (entry->op != NULL)
        {
          entry->remap = TRUE;
          continue;
        }
      if (entry->expires == 0)
        continue;   /* not granted yet: its request, when it goes, comes after the delete */
      g_debug ("Mapping %s/%s: another session's delete of port %u reached the gateway; "
               "asking again", entry->profile_name, pl_protocol_to_string (protocol),
               internal_port);
      _pl_session_entry_clear_timers (entry);
      _pl_session_queue_map (self, entry);
    }
}
