/* pl-journal-sweep.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

/* The engine's journal after a crash.
 *
 * The engine journals every mapping it asks for (PlPcpState, Owner=engine) before the
 * request goes out, and forgets it only once the router confirmed its delete (the mappers
 * do both, in batches: pl-pcp-state.c, "Batches"). When it is killed, the mappings stay open on the router and their
 * records stay in the journal. The engine started again loads the journal and:
 *
 * - takes a mapping back when someone asks for it again (a lease, or an enabled profile):
 *   the mapper finds the record and asks with its nonce, so the router renews the same
 *   mapping and the client keeps its public port (PlPcpClient's journal_restore);
 * - deletes the rest: PL_JOURNAL_SWEEP_GRACE_S after the session speaks with a gateway,
 *   every engine record of that gateway that no mapping of the session claims is deleted on
 *   the router, one mapping at a time (PCP with the record's nonce; NAT-PMP with lifetime 0
 *   for that port, never the delete-all request) and removed from the journal. A mapping the
 *   user closed must not stay open because the engine crashed.
 *
 * A delete that fails is said in the log and tried again later (30 s, doubling to 15 min)
 * until it succeeds or the record expires. Records of another gateway (another network) are
 * left until that gateway is seen, or until they expire; records without Owner=engine
 * (`portlightctl map`, which leaves its mappings open on purpose) are never swept, and
 * neither are IPv6 pinholes (their router is not the gateway: they lapse at their lifetime).
 * The sweep speaks to the gateway with mappers of its own, so the session is not changed. */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "pl-client.h"
#include "pl-mapping.h"
#include "pl-pcp-client.h"
#include "pl-journal-sweep.h"

#define RETRY_MIN_S  30
#define RETRY_MAX_S  (15 * 60)

struct _PlJournalSweep
{
  GObject       parent_instance;

  PlSession    *session;
  PlPcpState   *journal;
  guint         grace_s;

  GInetAddress *gateway;       /* the gateway the timer and the mappers are for */
  char         *gateway_str;
  GSource      *timer;         /* grace, then retries */
  GCancellable *cancellable;   /* the deletes in flight */
  PlPortMapper *pcp;           /* lazily, for @gateway */
  PlPortMapper *natpmp;
  GHashTable   *in_flight;     /* key (protocol << 16 | port) */
  guint         pending;
  guint         failed;        /* deletes of this round that failed */
  guint         failures;      /* rounds in a row with a failure */
};

G_DEFINE_FINAL_TYPE (PlJournalSweep, pl_journal_sweep, G_TYPE_OBJECT)

typedef struct
{
  PlJournalSweep *self;        /* owned */
  GCancellable   *cancellable; /* owned: the round's */
  PlPcpMethod     method;
  PlProtocol      protocol;
  guint16         internal_port;
} Delete;

static void sweep_round (PlJournalSweep *self);

static gpointer
key_of (PlProtocol protocol,
        guint16    port)
{
  return GUINT_TO_POINTER ((guint) protocol << 16 | port);
}

static void
arm_timer (PlJournalSweep *self,
           guint           seconds);

static gboolean
timer_cb (gpointer user_data)
{
  PlJournalSweep *self = user_data;

  g_clear_pointer (&self->timer, g_source_unref);
  sweep_round (self);
  return G_SOURCE_REMOVE;
}

static void
arm_timer (PlJournalSweep *self,
           guint           seconds)
{
  if (self->timer != NULL)
    {
      g_source_destroy (self->timer);
      g_clear_pointer (&self->timer, g_source_unref);
    }
  self->timer = pl_clock_timeout_source_new (pl_session_get_clock (self->session),
                                             (guint64) seconds * 1000);
  g_source_set_callback (self->timer, timer_cb, self, NULL);
  g_source_attach (self->timer, g_main_context_get_thread_default ());
}

/* Forgets the gateway: its timer, its deletes in flight and its mappers. */
static void
drop_gateway (PlJournalSweep *self)
{
  if (self->timer != NULL)
    {
      g_source_destroy (self->timer);
      g_clear_pointer (&self->timer, g_source_unref);
    }
  if (self->cancellable != NULL)
    {
      g_cancellable_cancel (self->cancellable);
      g_clear_object (&self->cancellable);
    }
  g_hash_table_remove_all (self->in_flight);
  self->pending = 0;
  self->failed = 0;
  self->failures = 0;
  g_clear_object (&self->pcp);
  g_clear_object (&self->natpmp);
  g_clear_object (&self->gateway);
  g_clear_pointer (&self->gateway_str, g_free);
}

/* Whether the session has a mapping for (@protocol, @port) over IPv4: a lease or an enabled
 * profile asked for it again. */
static gboolean
claimed (PlJournalSweep *self,
         PlProtocol      protocol,
         guint16         port)
{
  GListModel *mappings = pl_session_get_mappings (self->session);
  guint n = g_list_model_get_n_items (mappings);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PlMapping) mapping = g_list_model_get_item (mappings, i);

      if (pl_mapping_get_protocol (mapping) == protocol &&
          pl_mapping_get_internal_port (mapping) == port &&
          pl_mapping_get_family (mapping) == G_SOCKET_FAMILY_IPV4 &&
          pl_mapping_get_state (mapping) != PL_MAPPING_STATE_DISABLED)
        return TRUE;
    }
  return FALSE;
}

static void
journal_save (PlJournalSweep *self)
{
  g_autoptr(GError) error = NULL;

  if (!pl_pcp_state_save (self->journal, &error))
    g_message (_("The engine's journal could not be saved: %s"), error->message);
}

static PlPortMapper *
mapper_for (PlJournalSweep *self,
            PlPcpMethod     method)
{
  PlClock *clock = pl_session_get_clock (self->session);

  if (method == PL_PCP_METHOD_NATPMP)
    {
      if (self->natpmp == NULL)
        self->natpmp = PL_PORT_MAPPER (pl_client_new (self->gateway, clock));
      return self->natpmp;
    }
  if (self->pcp == NULL)
    {
      self->pcp = PL_PORT_MAPPER (pl_pcp_client_new (self->gateway, clock));
      /* It deletes with the nonce in the journal, and forgets it there on success. */
      pl_port_mapper_set_journal (self->pcp, self->journal);
    }
  return self->pcp;
}

static void
round_done (PlJournalSweep *self)
{
  guint delay;

  if (self->failed == 0)
    {
      self->failures = 0;
      return;
    }
  self->failures++;
  delay = RETRY_MIN_S << MIN (self->failures - 1, 5);
  delay = MIN (delay, RETRY_MAX_S);
  g_message (g_dngettext (GETTEXT_PACKAGE,
                          "%u mapping that nobody asked for again is still open at %s: "
                          "trying again in %u s",
                          "%u mappings that nobody asked for again are still open at %s: "
                          "trying again in %u s",
                          self->failed),
             self->failed, self->gateway_str, delay);
  self->failed = 0;
  arm_timer (self, delay);
}

static void
delete_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Delete *del = user_data;
  PlJournalSweep *self = del->self;
  g_autoptr(GError) error = NULL;
  gboolean cancelled = g_cancellable_is_cancelled (del->cancellable);

  pl_port_mapper_unmap_finish (PL_PORT_MAPPER (source), result, NULL, &error);
  if (cancelled || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    goto out;   /* another gateway, or stopping: that round is over */

  g_hash_table_remove (self->in_flight, key_of (del->protocol, del->internal_port));
  if (error == NULL)
    {
      g_message (_("Closed %s port %u at %s: nobody asked for it again after the engine "
                   "restarted"),
                 pl_protocol_to_string (del->protocol), del->internal_port,
                 self->gateway_str);
      if (pl_pcp_state_remove (self->journal, self->gateway, del->protocol,
                               del->internal_port, G_SOCKET_FAMILY_IPV4))
        journal_save (self);
    }
  else
    {
      g_message (_("Could not close %s port %u at %s, which nobody asked for again after the "
                   "engine restarted: %s"),
                 pl_protocol_to_string (del->protocol), del->internal_port,
                 self->gateway_str, error->message);
      self->failed++;
    }
  g_assert (self->pending > 0);
  if (--self->pending == 0)
    round_done (self);

out:
  g_object_unref (del->cancellable);
  g_object_unref (del->self);
  g_free (del);
}

/* Deletes every engine record of the gateway that nobody claims. */
static void
sweep_round (PlJournalSweep *self)
{
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GPtrArray) deletes = g_ptr_array_new ();

  if (self->gateway == NULL)
    return;

  pl_pcp_state_forget_expired (self->journal, g_get_real_time () / G_USEC_PER_SEC);
  records = pl_pcp_state_list (self->journal, self->gateway);
  if (self->cancellable == NULL)
    self->cancellable = g_cancellable_new ();

  /* The records belong to the journal, which the deletes change: copy what is needed first. */
  for (guint i = 0; i < records->len; i++)
    {
      const PlPcpRecord *record = g_ptr_array_index (records, i);
      Delete *del;

      if (record->owner != PL_PCP_OWNER_ENGINE || record->family != G_SOCKET_FAMILY_IPV4)
        continue;
      if (claimed (self, record->protocol, record->internal_port))
        continue;
      if (!g_hash_table_add (self->in_flight, key_of (record->protocol, record->internal_port)))
        continue;

      del = g_new0 (Delete, 1);
      del->self = g_object_ref (self);
      del->cancellable = g_object_ref (self->cancellable);
      del->method = record->method;
      del->protocol = record->protocol;
      del->internal_port = record->internal_port;
      g_ptr_array_add (deletes, del);
    }

  self->pending += deletes->len;
  for (guint i = 0; i < deletes->len; i++)
    {
      Delete *del = g_ptr_array_index (deletes, i);

      g_debug ("Deleting %s %u at %s: no lease or profile asked for it again",
               pl_protocol_to_string (del->protocol), del->internal_port, self->gateway_str);
      pl_port_mapper_unmap_async (mapper_for (self, del->method), del->protocol,
                                  del->internal_port, del->cancellable, delete_cb, del);
    }
}

/* The session's gateway or protocol changed: the grace starts when it speaks with one. */
static void
session_changed (PlJournalSweep *self)
{
  GInetAddress *gateway = pl_session_get_gateway (self->session);
  gboolean speaking = pl_session_get_protocol_name (self->session) != NULL;

  if (gateway != NULL && self->gateway != NULL && g_inet_address_equal (gateway, self->gateway))
    {
      if (!speaking)
        drop_gateway (self);
      return;
    }
  drop_gateway (self);
  if (gateway == NULL || !speaking)
    return;

  self->gateway = g_object_ref (gateway);
  self->gateway_str = g_inet_address_to_string (gateway);
  g_debug ("Deleting the journal's unclaimed mappings at %s in %u s",
           self->gateway_str, self->grace_s);
  arm_timer (self, self->grace_s);
}

static void
notify_cb (GObject    *object,
           GParamSpec *pspec,
           gpointer    user_data)
{
  session_changed (user_data);
}

static void
gateway_changed_cb (PlSession  *session,
                    const char *gateway,
                    gpointer    user_data)
{
  session_changed (user_data);
}

static void
pl_journal_sweep_dispose (GObject *object)
{
  PlJournalSweep *self = (PlJournalSweep *) object;

  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  drop_gateway (self);
  g_clear_object (&self->session);
  g_clear_object (&self->journal);

  G_OBJECT_CLASS (pl_journal_sweep_parent_class)->dispose (object);
}

static void
pl_journal_sweep_finalize (GObject *object)
{
  PlJournalSweep *self = (PlJournalSweep *) object;

  g_clear_pointer (&self->in_flight, g_hash_table_unref);

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
  self->in_flight = g_hash_table_new (NULL, NULL);
}

/**
 * pl_journal_sweep_new:
 * @session: the engine's session, with @journal as its journal
 * @journal: the engine's loaded journal (records it puts are the engine's)
 *
 * Follows @session: PL_JOURNAL_SWEEP_GRACE_S after it speaks with a gateway, deletes the
 * engine's mappings of that gateway that nobody asked for again (see the top of this file).
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
  session_changed (self);
  return self;
}

/**
 * pl_journal_sweep_set_grace:
 * @self: a #PlJournalSweep
 * @seconds: how long clients have to ask again, from when the session speaks with a gateway
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
