/* pl-journal-sweep.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

/* The engine's journal after a crash.
 *
 * The engine journals every mapping it asks for (PlPcpState, Owner=engine) before the request
 * goes out, and forgets it only once the router confirmed its delete (the mappers do both, in
 * batches: pl-pcp-state.c, "Batches"). When it is killed, the mappings stay open on the router
 * and their records stay in the journal. The engine started again loads the journal and:
 *
 * - takes a mapping back when someone asks for it again (a lease, or an enabled profile): the
 *   mapper finds the record and asks with its nonce, so the router renews the same mapping and
 *   the client keeps its public port (PlPcpClient's journal_restore; over UPnP-IGD the
 *   record's public port is asked for again);
 * - deletes the rest: PL_JOURNAL_SWEEP_GRACE_S after the session speaks with a gateway, every
 *   engine record of that gateway that no mapping of the session claims is deleted on the
 *   router, one mapping at a time (PCP with the record's nonce; NAT-PMP with lifetime 0 for
 *   that port, never the delete-all request; UPnP-IGD with DeletePortMapping of this
 *   computer's mapping of that port, pl-upnp-journal.c) and removed from the journal. A
 *   mapping the user closed must not stay open because the engine crashed.
 *
 * IPv6 pinholes (over PCP, or through the UPnP-IGD's firewall service) are swept the same way,
 * on their own: their router is the IPv6 default router, not the gateway, so their grace
 * starts when the session's IPv6 side speaks with it (PlSession:ipv6-address,
 * pl_session_get_ipv6_mapper()). The engine pinhole records of that router, for the address
 * the session opens pinholes for now and made over the same interface (the Interface key; a
 * record without one, from an older journal, is taken to be of the interface the router is
 * reached on now), that no IPv6 mapping of the session claims are deleted with their nonce
 * (MAP, lifetime 0, from that address), over that interface, or with DeletePinhole of the ID
 * the router gives that pinhole again (UPnP-IGD). Pinhole records of another router or of an
 * address this computer no longer opens pinholes for are left until they expire (the router
 * would not take a delete from another address).
 *
 * A delete that fails is said in the log and tried again later (30 s, doubling to 15 min)
 * until it succeeds or the record expires; once the tries are 15 min apart they are no
 * longer said each time. Records of another gateway (another network) are
 * left until that gateway is seen, or until they expire; records without Owner=engine
 * (`portlightctl map`, which leaves its mappings open on purpose) are never swept. The sweep
 * speaks to the routers with mappers of its own, so the session is not changed. */

#include "config.h"

#include <net/if.h>

#include <glib/gi18n-lib.h>

#include "pl-client.h"
#include "pl-mapping.h"
#include "pl-pcp-client.h"
#include "pl-upnp-client.h"
#include "pl-upnp-pinhole.h"
#include "pl-journal-sweep.h"

#define RETRY_MIN_S  30
#define RETRY_MAX_S  (15 * 60)
/* The rounds that say their failures in the log: until the retry is RETRY_MAX_S apart (30 s
 * doubling, the 6th round). Later ones (a router that stopped speaking the record's
 * protocol, which may last until the record expires: a year for a permanent UPnP-IGD
 * mapping) go on quietly (debug messages), and a success is said again. */
#define LOUD_ROUNDS  6

/* One router the journal's records are swept at: the gateway (IPv4 mappings), or the IPv6
 * router (pinholes). */
typedef struct
{
  PlJournalSweep *self;        /* unowned: the side is part of it */
  GSocketFamily   family;      /* of the records swept */

  GInetAddress   *gateway;     /* the router the timer and the mappers are for */
  char           *gateway_str;
  /* IPv6 only: where pinholes are opened from, and the router's interface. */
  GInetAddress   *local;
  guint           scope_id;
  char           *interface;   /* nullable: the name of scope_id */

  GSource        *timer;       /* grace, then retries */
  GSource        *release;     /* idle, after a round with no failure: the mappers go */
  GCancellable   *cancellable; /* the deletes in flight */
  PlPortMapper   *pcp;         /* lazily, for @gateway */
  PlPortMapper   *natpmp;      /* IPv4 only */
  PlPortMapper   *upnp;        /* IPv4: the IGD's mappings; IPv6: its pinholes */
  GHashTable     *in_flight;   /* key (protocol << 16 | port) */
  guint           pending;
  guint           failed;      /* deletes of this round that failed */
  guint           failures;    /* rounds in a row with a failure */
} Side;

struct _PlJournalSweep
{
  GObject       parent_instance;

  PlSession    *session;
  PlPcpState   *journal;
  guint         grace_s;

  Side          ipv4;
  Side          ipv6;
};

G_DEFINE_FINAL_TYPE (PlJournalSweep, pl_journal_sweep, G_TYPE_OBJECT)

typedef struct
{
  PlJournalSweep *self;        /* owned */
  Side           *side;        /* part of @self */
  GCancellable   *cancellable; /* owned: the round's */
  PlPcpMethod     method;
  PlProtocol      protocol;
  guint16         internal_port;
} Delete;

static void sweep_round (Side *side);

static void
clear_source (GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

/* Every delete of the round is answered, none failed: the sweep's mappers (sockets, and a
 * UPnP-IGD search of their own) are not kept for nothing until the router changes. A later
 * round (records of a router seen again) makes them anew. From an idle source: the last
 * answer's callback is still on their stack. */
static gboolean
release_cb (gpointer user_data)
{
  Side *side = user_data;

  g_clear_pointer (&side->release, g_source_unref);
  if (side->pending > 0)
    return G_SOURCE_REMOVE;
  g_clear_object (&side->pcp);
  g_clear_object (&side->natpmp);
  g_clear_object (&side->upnp);
  return G_SOURCE_REMOVE;
}

static gpointer
key_of (PlProtocol protocol,
        guint16    port)
{
  return GUINT_TO_POINTER ((guint) protocol << 16 | port);
}

static gboolean
timer_cb (gpointer user_data)
{
  Side *side = user_data;

  g_clear_pointer (&side->timer, g_source_unref);
  sweep_round (side);
  return G_SOURCE_REMOVE;
}

static void
arm_timer (Side  *side,
           guint  seconds)
{
  clear_source (&side->timer);
  side->timer = pl_clock_timeout_source_new (pl_session_get_clock (side->self->session),
                                             (guint64) seconds * 1000);
  g_source_set_callback (side->timer, timer_cb, side, NULL);
  g_source_attach (side->timer, g_main_context_get_thread_default ());
}

/* Forgets the router: its timer, its deletes in flight and its mappers. */
static void
drop_gateway (Side *side)
{
  clear_source (&side->timer);
  clear_source (&side->release);
  if (side->cancellable != NULL)
    {
      g_cancellable_cancel (side->cancellable);
      g_clear_object (&side->cancellable);
    }
  g_hash_table_remove_all (side->in_flight);
  side->pending = 0;
  side->failed = 0;
  side->failures = 0;
  g_clear_object (&side->pcp);
  g_clear_object (&side->natpmp);
  g_clear_object (&side->upnp);
  g_clear_object (&side->gateway);
  g_clear_pointer (&side->gateway_str, g_free);
  g_clear_object (&side->local);
  side->scope_id = 0;
  g_clear_pointer (&side->interface, g_free);
}

/* Whether the session has a mapping for (@protocol, @port) of the side's family: a lease or
 * an enabled profile asked for it again. */
static gboolean
claimed (Side       *side,
         PlProtocol  protocol,
         guint16     port)
{
  GListModel *mappings = pl_session_get_mappings (side->self->session);
  guint n = g_list_model_get_n_items (mappings);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PlMapping) mapping = g_list_model_get_item (mappings, i);

      if (pl_mapping_get_protocol (mapping) == protocol &&
          pl_mapping_get_internal_port (mapping) == port &&
          pl_mapping_get_family (mapping) == side->family &&
          pl_mapping_get_state (mapping) != PL_MAPPING_STATE_DISABLED)
        return TRUE;
    }
  return FALSE;
}

/* Whether the side may delete @record: the engine's, of its family, and for a pinhole made
 * from the address and over the interface the side speaks from. */
static gboolean
sweepable (Side              *side,
           const PlPcpRecord *record)
{
  if (record->owner != PL_PCP_OWNER_ENGINE || record->family != side->family)
    return FALSE;
  if (side->family == G_SOCKET_FAMILY_IPV4)
    return TRUE;
  if ((record->method != PL_PCP_METHOD_PCP && record->method != PL_PCP_METHOD_UPNP) ||
      !g_inet_address_equal (record->internal_address, side->local))
    return FALSE;
  return record->interface == NULL || g_strcmp0 (record->interface, side->interface) == 0;
}

static void
journal_save (PlJournalSweep *self)
{
  g_autoptr(GError) error = NULL;

  if (!pl_pcp_state_save (self->journal, &error))
    g_message (_("The engine's journal could not be saved: %s"), error->message);
}

static PlPortMapper *
mapper_for (Side        *side,
            PlPcpMethod  method)
{
  PlClock *clock = pl_session_get_clock (side->self->session);

  if (method == PL_PCP_METHOD_NATPMP)
    {
      if (side->natpmp == NULL)
        side->natpmp = PL_PORT_MAPPER (pl_client_new (side->gateway, clock));
      return side->natpmp;
    }
  if (method == PL_PCP_METHOD_UPNP)
    {
      /* It finds the router's IGD itself, and deletes this computer's mapping of the port
       * (at the public port the router's table names), or the pinhole of the port (by the
       * ID the router gives it again); the sweep forgets the record. */
      if (side->upnp == NULL && side->family == G_SOCKET_FAMILY_IPV6)
        {
          /* The device whose firewall the session's own pinholes go through, when they go
           * through one: not any that answers on the network, and without the wait for
           * others that a search with nothing to go by makes. */
          PlPortMapper *mapper6 = pl_session_get_ipv6_mapper (side->self->session);
          PlUpnpDiscovery *sibling =
            mapper6 != NULL && PL_IS_UPNP_PINHOLE_CLIENT (mapper6)
              ? pl_upnp_pinhole_client_get_discovery (PL_UPNP_PINHOLE_CLIENT (mapper6))
              : NULL;

          side->upnp = PL_PORT_MAPPER (pl_upnp_pinhole_client_new (side->gateway,
                                                                   side->interface,
                                                                   side->local, sibling,
                                                                   clock));
        }
      else if (side->upnp == NULL)
        side->upnp = PL_PORT_MAPPER (pl_upnp_client_new (side->gateway, NULL, clock));
      return side->upnp;
    }
  if (side->pcp == NULL)
    {
      if (side->family == G_SOCKET_FAMILY_IPV6)
        side->pcp = g_object_new (PL_TYPE_PCP_CLIENT,
                                  "gateway", side->gateway,
                                  "clock", clock,
                                  "bind-address", side->local,
                                  "scope-id", side->scope_id,
                                  NULL);
      else
        side->pcp = PL_PORT_MAPPER (pl_pcp_client_new (side->gateway, clock));
      /* It deletes with the nonce in the journal, and forgets it there on success. */
      pl_port_mapper_set_journal (side->pcp, side->self->journal);
    }
  return side->pcp;
}

static void
round_done (Side *side)
{
  guint delay;

  if (side->failed == 0)
    {
      side->failures = 0;
      if (side->release == NULL)
        {
          side->release = g_idle_source_new ();
          g_source_set_callback (side->release, release_cb, side, NULL);
          g_source_attach (side->release, g_main_context_get_thread_default ());
        }
      return;
    }
  side->failures++;
  delay = RETRY_MIN_S << MIN (side->failures - 1, 5);
  delay = MIN (delay, RETRY_MAX_S);
  if (side->failures < LOUD_ROUNDS)
    g_message (g_dngettext (GETTEXT_PACKAGE,
                            "%u mapping that nobody asked for again is still open at %s: "
                            "trying again in %u s",
                            "%u mappings that nobody asked for again are still open at %s: "
                            "trying again in %u s",
                            side->failed),
               side->failed, side->gateway_str, delay);
  else if (side->failures == LOUD_ROUNDS)
    g_message (g_dngettext (GETTEXT_PACKAGE,
                            "%u mapping that nobody asked for again is still open at %s: "
                            "trying again every %u s until it closes or expires, without "
                            "saying so each time",
                            "%u mappings that nobody asked for again are still open at %s: "
                            "trying again every %u s until they close or expire, without "
                            "saying so each time",
                            side->failed),
               side->failed, side->gateway_str, delay);
  else
    g_debug ("%u mapping(s) still open at %s: trying again in %u s", side->failed,
             side->gateway_str, delay);
  side->failed = 0;
  arm_timer (side, delay);
}

static void
delete_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Delete *del = user_data;
  PlJournalSweep *self = del->self;
  Side *side = del->side;
  g_autoptr(GError) error = NULL;
  gboolean cancelled = g_cancellable_is_cancelled (del->cancellable);

  pl_port_mapper_unmap_finish (PL_PORT_MAPPER (source), result, NULL, &error);
  if (cancelled || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    goto out;   /* another router, or stopping: that round is over */

  g_hash_table_remove (side->in_flight, key_of (del->protocol, del->internal_port));
  if (error == NULL)
    {
      g_message (_("Closed %s port %u at %s: nobody asked for it again after the engine "
                   "restarted"),
                 pl_protocol_to_string (del->protocol), del->internal_port,
                 side->gateway_str);
      if (pl_pcp_state_remove (self->journal, side->gateway, del->protocol,
                               del->internal_port, side->family))
        journal_save (self);
    }
  else
    {
      if (side->failures < LOUD_ROUNDS)   /* this round's failures are not counted yet */
        g_message (_("Could not close %s port %u at %s, which nobody asked for again after "
                     "the engine restarted: %s"),
                   pl_protocol_to_string (del->protocol), del->internal_port,
                   side->gateway_str, error->message);
      else
        g_debug ("Could not close %s port %u at %s: %s", pl_protocol_to_string (del->protocol),
                 del->internal_port, side->gateway_str, error->message);
      side->failed++;
    }
  g_assert (side->pending > 0);
  if (--side->pending == 0)
    round_done (side);

out:
  g_object_unref (del->cancellable);
  g_object_unref (del->self);
  g_free (del);
}

/* Deletes every engine record of the side's router that nobody claims. */
static void
sweep_round (Side *side)
{
  PlJournalSweep *self = side->self;
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GPtrArray) deletes = g_ptr_array_new ();

  if (side->gateway == NULL)
    return;

  pl_pcp_state_forget_expired (self->journal, g_get_real_time () / G_USEC_PER_SEC);
  records = pl_pcp_state_list (self->journal, side->gateway);
  if (side->cancellable == NULL)
    side->cancellable = g_cancellable_new ();

  /* The records belong to the journal, which the deletes change: copy what is needed first. */
  for (guint i = 0; i < records->len; i++)
    {
      const PlPcpRecord *record = g_ptr_array_index (records, i);
      Delete *del;

      if (!sweepable (side, record))
        continue;
      if (claimed (side, record->protocol, record->internal_port))
        continue;
      if (!g_hash_table_add (side->in_flight, key_of (record->protocol, record->internal_port)))
        continue;

      del = g_new0 (Delete, 1);
      del->self = g_object_ref (self);
      del->side = side;
      del->cancellable = g_object_ref (side->cancellable);
      del->method = record->method;
      del->protocol = record->protocol;
      del->internal_port = record->internal_port;
      g_ptr_array_add (deletes, del);
    }

  side->pending += deletes->len;
  for (guint i = 0; i < deletes->len; i++)
    {
      Delete *del = g_ptr_array_index (deletes, i);

      g_debug ("Deleting %s %u at %s: no lease or profile asked for it again",
               pl_protocol_to_string (del->protocol), del->internal_port, side->gateway_str);
      pl_port_mapper_unmap_async (mapper_for (side, del->method), del->protocol,
                                  del->internal_port, del->cancellable, delete_cb, del);
    }
}

/* The session's gateway or protocol changed: the grace starts when it speaks with one. */
static void
session_changed (PlJournalSweep *self)
{
  Side *side = &self->ipv4;
  GInetAddress *gateway = pl_session_get_gateway (self->session);
  gboolean speaking = pl_session_get_protocol_name (self->session) != NULL;

  if (gateway != NULL && side->gateway != NULL && g_inet_address_equal (gateway, side->gateway))
    {
      if (!speaking)
        drop_gateway (side);
      return;
    }
  drop_gateway (side);
  if (gateway == NULL || !speaking)
    return;

  side->gateway = g_object_ref (gateway);
  side->gateway_str = g_inet_address_to_string (gateway);
  g_debug ("Deleting the journal's unclaimed mappings at %s in %u s",
           side->gateway_str, self->grace_s);
  arm_timer (side, self->grace_s);
}

/* The session's IPv6 side started or stopped speaking with a router (over PCP, or through
 * the UPnP-IGD's firewall service). */
static void
session_ipv6_changed (PlJournalSweep *self)
{
  Side *side = &self->ipv6;
  PlPortMapper *mapper = pl_session_get_ipv6_mapper (self->session);
  g_autoptr(GInetAddress) local = NULL;
  GInetAddress *router;
  guint scope_id = 0;
  char name[IF_NAMESIZE] = "";
  g_autofree char *address = NULL;

  if (mapper != NULL && PL_IS_PCP_CLIENT (mapper))
    g_object_get (mapper, "bind-address", &local, "scope-id", &scope_id, NULL);
  else if (mapper != NULL && PL_IS_UPNP_PINHOLE_CLIENT (mapper))
    {
      const char *iface = pl_upnp_pinhole_client_get_interface (PL_UPNP_PINHOLE_CLIENT (mapper));

      local = g_object_ref (pl_upnp_pinhole_client_get_local (PL_UPNP_PINHOLE_CLIENT (mapper)));
      scope_id = iface != NULL ? if_nametoindex (iface) : 0;
    }
  else
    {
      drop_gateway (side);
      return;
    }
  router = pl_port_mapper_get_gateway (mapper);
  if (router == NULL || local == NULL)
    {
      drop_gateway (side);
      return;
    }
  if (side->gateway != NULL && g_inet_address_equal (router, side->gateway) &&
      g_inet_address_equal (local, side->local) && scope_id == side->scope_id)
    return;

  drop_gateway (side);
  side->gateway = g_object_ref (router);
  side->local = g_steal_pointer (&local);
  side->scope_id = scope_id;
  if (scope_id != 0 && if_indextoname (scope_id, name) != NULL)
    side->interface = g_strdup (name);
  address = g_inet_address_to_string (router);
  side->gateway_str = side->interface != NULL ? g_strdup_printf ("%s%%%s", address,
                                                                 side->interface)
                                              : g_steal_pointer (&address);
  g_debug ("Deleting the journal's unclaimed pinholes at %s in %u s",
           side->gateway_str, self->grace_s);
  arm_timer (side, self->grace_s);
}

static void
notify_cb (GObject    *object,
           GParamSpec *pspec,
           gpointer    user_data)
{
  session_changed (user_data);
}

static void
notify_ipv6_cb (GObject    *object,
                GParamSpec *pspec,
                gpointer    user_data)
{
  session_ipv6_changed (user_data);
}

static void
gateway_changed_cb (PlSession  *session,
                    const char *gateway,
                    gpointer    user_data)
{
  session_changed (user_data);
}

static void
side_init (PlJournalSweep *self,
           Side           *side,
           GSocketFamily   family)
{
  side->self = self;
  side->family = family;
  side->in_flight = g_hash_table_new (NULL, NULL);
}

static void
pl_journal_sweep_dispose (GObject *object)
{
  PlJournalSweep *self = (PlJournalSweep *) object;

  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  drop_gateway (&self->ipv4);
  drop_gateway (&self->ipv6);
  g_clear_object (&self->session);
  g_clear_object (&self->journal);

  G_OBJECT_CLASS (pl_journal_sweep_parent_class)->dispose (object);
}

static void
pl_journal_sweep_finalize (GObject *object)
{
  PlJournalSweep *self = (PlJournalSweep *) object;

  g_clear_pointer (&self->ipv4.in_flight, g_hash_table_unref);
  g_clear_pointer (&self->ipv6.in_flight, g_hash_table_unref);

  G_OBJECT_CLASS (pl_journal_sweep_parent_class)->finalize (object);
}

static void
pl_journal_sweep_class_init (PlJournalSweepClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_journal_sweep_dispose;
  object_class->finalize = pl_journal_sweep_finalize;
}

static void
pl_journal_sweep_init (PlJournalSweep *self)
{
  self->grace_s = PL_JOURNAL_SWEEP_GRACE_S;
  side_init (self, &self->ipv4, G_SOCKET_FAMILY_IPV4);
  side_init (self, &self->ipv6, G_SOCKET_FAMILY_IPV6);
}

/**
 * pl_journal_sweep_new:
 * @session: the engine's session, with @journal as its journal
 * @journal: the engine's loaded journal (records it puts are the engine's)
 *
 * Follows @session: PL_JOURNAL_SWEEP_GRACE_S after it speaks with a gateway, deletes the
 * engine's mappings of that gateway that nobody asked for again, and likewise the engine's
 * PCP pinholes at the IPv6 router once its IPv6 side speaks with it (see the top of this
 * file).
 * Deletes in flight are abandoned when the object is disposed.
 *
 * Returns: (transfer full): a new #PlJournalSweep
 */
PlJournalSweep *
pl_journal_sweep_new (PlSession  *session,
                      PlPcpState *journal)
{
  PlJournalSweep *self;

  g_return_val_if_fail (PL_IS_SESSION (session), NULL);
  g_return_val_if_fail (PL_IS_PCP_STATE (journal), NULL);

  self = g_object_new (PL_TYPE_JOURNAL_SWEEP, NULL);
  self->session = g_object_ref (session);
  self->journal = g_object_ref (journal);
  g_signal_connect (session, "notify::protocol-name", G_CALLBACK (notify_cb), self);
  g_signal_connect (session, "gateway-changed", G_CALLBACK (gateway_changed_cb), self);
  g_signal_connect (session, "notify::ipv6-address", G_CALLBACK (notify_ipv6_cb), self);
  session_changed (self);
  session_ipv6_changed (self);
  return self;
}

/**
 * pl_journal_sweep_set_grace:
 * @self: a #PlJournalSweep
 * @seconds: how long clients have to ask again, from when the session speaks with a gateway
 *   (or its IPv6 side with the IPv6 router)
 *
 * The default is PL_JOURNAL_SWEEP_GRACE_S. Takes effect at the next gateway.
 */
void
pl_journal_sweep_set_grace (PlJournalSweep *self,
                            guint           seconds)
{
  g_return_if_fail (PL_IS_JOURNAL_SWEEP (self));

  self->grace_s = seconds;
}

guint
pl_journal_sweep_get_grace (PlJournalSweep *self)
{
  g_return_val_if_fail (PL_IS_JOURNAL_SWEEP (self), 0);

  return self->grace_s;
}
