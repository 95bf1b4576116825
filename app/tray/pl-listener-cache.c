/* pl-listener-cache.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-listener-cache.h"

struct _PlListenerCache
{
  GObject       parent_instance;

  GHashTable   *answers;      /* query_key () -> PlListenAnswer* */
  char         *checked;      /* queries_key () of the last check asked for */
  GCancellable *cancellable;  /* the check in flight, if any */
  GArray       *next;         /* PlListenQuery: asked for while one was in flight */
};

G_DEFINE_FINAL_TYPE (PlListenerCache, pl_listener_cache, G_TYPE_OBJECT)

enum {
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* "T4:8080": the key of one query. */
static char *
query_key (PlProtocol    protocol,
           GSocketFamily family,
           guint         port)
{
  return g_strdup_printf ("%c%c:%u", protocol == PL_PROTOCOL_TCP ? 'T' : 'U',
                          family == G_SOCKET_FAMILY_IPV6 ? '6' : '4', port);
}

static char *
queries_key (const PlListenQuery *queries,
             guint                n_queries)
{
  GString *key = g_string_new (NULL);

  for (guint i = 0; i < n_queries; i++)
    {
      g_autofree char *one = query_key (queries[i].protocol, queries[i].family,
                                        queries[i].port);

      g_string_append_printf (key, "%s ", one);
    }
  return g_string_free (key, FALSE);
}

static void
answer_free (PlListenAnswer *answer)
{
  pl_listen_answer_clear (answer);
  g_free (answer);
}

static GArray *
queries_copy (const PlListenQuery *queries,
              guint                n_queries)
{
  GArray *copy = g_array_sized_new (FALSE, FALSE, sizeof (PlListenQuery), n_queries);

  g_array_append_vals (copy, queries, n_queries);
  return copy;
}

/* A check in flight; it does not keep the cache alive (disposing it cancels the check). */
typedef struct
{
  GWeakRef  cache;
  GArray   *queries;   /* PlListenQuery */
} Check;

static void start_check (PlListenerCache *self,
                         GArray          *queries);

static void
check_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  Check *check = user_data;
  g_autoptr(PlListenerCache) self = g_weak_ref_get (&check->cache);
  g_autoptr(GArray) queries = check->queries;
  g_autoptr(GArray) answers = NULL;
  g_autoptr(GError) error = NULL;

  g_weak_ref_clear (&check->cache);
  g_free (check);
  answers = pl_listen_check_finish (result, &error);
  if (self == NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->cancellable);

  g_hash_table_remove_all (self->answers);
  if (answers == NULL)
    g_debug ("Cannot tell who listens on the profiles' ports: %s", error->message);
  for (guint i = 0; answers != NULL && i < queries->len; i++)
    {
      PlListenQuery *query = &g_array_index (queries, PlListenQuery, i);
      PlListenAnswer *answer = g_new0 (PlListenAnswer, 1);

      *answer = g_array_index (answers, PlListenAnswer, i);
      answer->program = g_strdup (answer->program);
      g_hash_table_replace (self->answers,
                            query_key (query->protocol, query->family, query->port), answer);
    }
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);

  if (self->next != NULL)
    start_check (self, g_steal_pointer (&self->next));
}

/* Takes @queries. */
static void
start_check (PlListenerCache *self,
             GArray          *queries)
{
  Check *check;

  g_free (self->checked);
  self->checked = queries_key ((PlListenQuery *) (gpointer) queries->data, queries->len);
  if (queries->len == 0)
    {
      g_array_unref (queries);
      if (g_hash_table_size (self->answers) > 0)
        {
          g_hash_table_remove_all (self->answers);
          g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
        }
      return;
    }

  check = g_new0 (Check, 1);
  g_weak_ref_init (&check->cache, self);
  check->queries = queries;
  self->cancellable = g_cancellable_new ();
  pl_listen_check_async ((PlListenQuery *) (gpointer) queries->data, queries->len,
                         self->cancellable, check_cb, check);
}

void
pl_listener_cache_check (PlListenerCache     *self,
                         const PlListenQuery *queries,
                         guint                n_queries,
                         gboolean             force)
{
  g_return_if_fail (PL_IS_LISTENER_CACHE (self));
  g_return_if_fail (queries != NULL || n_queries == 0);

  if (!force)
    {
      g_autofree char *key = queries_key (queries, n_queries);

      if (g_strcmp0 (key, self->checked) == 0)
        return;
    }
  if (self->cancellable != NULL)
    {
      /* One at a time: the latest request runs when this one answers. */
      g_clear_pointer (&self->next, g_array_unref);
      self->next = queries_copy (queries, n_queries);
      g_free (self->checked);
      self->checked = queries_key (queries, n_queries);
      return;
    }
  start_check (self, queries_copy (queries, n_queries));
}

const PlListenAnswer *
pl_listener_cache_lookup (PlListenerCache *self,
                          PlProtocol       protocol,
                          GSocketFamily    family,
                          guint            port)
{
  g_autofree char *key = NULL;

  g_return_val_if_fail (PL_IS_LISTENER_CACHE (self), NULL);

  key = query_key (protocol, family, port);
  return g_hash_table_lookup (self->answers, key);
}

void
pl_listener_cache_clear (PlListenerCache *self)
{
  g_return_if_fail (PL_IS_LISTENER_CACHE (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->next, g_array_unref);
  g_clear_pointer (&self->checked, g_free);
  g_hash_table_remove_all (self->answers);
}

PlListenerCache *
pl_listener_cache_new (void)
{
  return g_object_new (PL_TYPE_LISTENER_CACHE, NULL);
}

static void
pl_listener_cache_dispose (GObject *object)
{
  PlListenerCache *self = PL_LISTENER_CACHE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (pl_listener_cache_parent_class)->dispose (object);
}

static void
pl_listener_cache_finalize (GObject *object)
{
  PlListenerCache *self = PL_LISTENER_CACHE (object);

  g_hash_table_unref (self->answers);
  g_clear_pointer (&self->next, g_array_unref);
  g_free (self->checked);

  G_OBJECT_CLASS (pl_listener_cache_parent_class)->finalize (object);
}

static void
pl_listener_cache_class_init (PlListenerCacheClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_listener_cache_dispose;
  object_class->finalize = pl_listener_cache_finalize;

  /**
   * PlListenerCache::changed:
   *
   * New answers arrived (or the old ones were dropped).
   */
  signals[SIGNAL_CHANGED] =
    g_signal_new ("changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
pl_listener_cache_init (PlListenerCache *self)
{
  self->answers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) answer_free);
}
