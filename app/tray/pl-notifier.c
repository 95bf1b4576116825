/* pl-notifier.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "pl-notifier.h"

/* Lines of a burst shown in one notification; the rest are counted. */
#define MAX_BODY_LINES 5

typedef enum
{
  EVENT_FAILED,
  EVENT_ADDRESS,
  EVENT_PORT,
} EventKind;

typedef struct
{
  EventKind  kind;
  char      *title;     /* the notification's title if it is alone */
  char      *line;      /* its line in the body */
} Event;

struct _PlNotifier
{
  GObject             parent_instance;

  GApplication       *application;     /* weak */
  PlSession          *session;
  PlProfileStore     *store;
  PlEngineClient     *engine;          /* nullable: as the engine's client */
  PlNotifierSendFunc  send_func;
  gpointer            send_data;
  guint               quiet_ms;
  guint               max_ms;
  guint               enabled : 1;

  /* What was already said, so that it is said once. */
  GHashTable         *failures;        /* mapping key → message */
  GHashTable         *ports;           /* mapping key → GUINT_TO_POINTER (public port) */
  char               *last_address;

  /* The burst being collected. */
  GPtrArray          *events;          /* Event* */
  gboolean            reset;
  guint               reset_count;
  gint64              burst_start;     /* clock time, microseconds */
  GSource            *timer;
};

G_DEFINE_FINAL_TYPE (PlNotifier, pl_notifier, G_TYPE_OBJECT)

static void
event_free (Event *event)
{
  g_free (event->title);
  g_free (event->line);
  g_free (event);
}

static char *
mapping_key (PlMapping *mapping)
{
  return g_strdup_printf ("%s/%s", pl_mapping_get_profile_name (mapping),
                          pl_protocol_to_string (pl_mapping_get_protocol (mapping)));
}

static const char *
protocol_label (PlMapping *mapping)
{
  return pl_mapping_get_protocol (mapping) == PL_PROTOCOL_TCP ? "TCP" : "UDP";
}

static gboolean
profile_enabled (PlNotifier *self,
                 const char *name)
{
  PlProfile *profile = pl_profile_store_lookup (self->store, name);

  return profile != NULL && pl_profile_get_enabled (profile);
}

static void
timer_clear (PlNotifier *self)
{
  pl_clear_source (&self->timer);
}

static gboolean timer_cb (gpointer user_data);

static void
timer_start (PlNotifier *self,
             guint       delay_ms)
{
  timer_clear (self);
  self->timer = pl_clock_timeout_source_new (pl_session_get_clock (self->session), delay_ms);
  g_source_set_callback (self->timer, timer_cb, self, NULL);
  g_source_set_name (self->timer, "[portlight] notification burst");
  g_source_attach (self->timer, g_main_context_get_thread_default ());
}

static gint64
now_us (PlNotifier *self)
{
  return pl_clock_get_time (pl_session_get_clock (self->session));
}

/* A new event: (re)start the quiet time, bounded by the burst's maximum. */
static void
burst_touch (PlNotifier *self)
{
  gint64 now = now_us (self);
  gint64 left_ms;

  if (self->timer == NULL)
    self->burst_start = now;
  left_ms = (self->burst_start + (gint64) self->max_ms * 1000 - now) / 1000;
  timer_start (self, (guint) CLAMP (left_ms, 0, (gint64) self->quiet_ms));
}

static void
add_event (PlNotifier *self,
           EventKind   kind,
           char       *title,
           char       *line)
{
  Event *event;

  if (!self->enabled)
    {
      g_debug ("Notification suppressed (turned off): %s", line);
      g_free (title);
      g_free (line);
      return;
    }

  event = g_new0 (Event, 1);
  event->kind = kind;
  event->title = title;
  event->line = line;
  g_ptr_array_add (self->events, event);
  burst_touch (self);
}

static void
count_mappings (PlNotifier *self,
                guint      *n_active,
                guint      *n_pending)
{
  GListModel *mappings = pl_session_get_mappings (self->session);
  guint n = g_list_model_get_n_items (mappings);

  *n_active = 0;
  *n_pending = 0;
  if (self->engine != NULL)
    {
      /* As the engine's client the session maps nothing: the enabled profiles' leases. */
      n = g_list_model_get_n_items (G_LIST_MODEL (self->store));
      for (guint i = 0; i < n; i++)
        {
          g_autoptr(PlProfile) profile = g_list_model_get_item (G_LIST_MODEL (self->store), i);
          g_autoptr(PlBrokerLease) lease = NULL;
          const char *state;

          if (!pl_profile_get_enabled (profile))
            continue;
          lease = pl_engine_client_get_profile_lease (self->engine,
                                                      pl_profile_get_name (profile));
          state = lease != NULL ? pl_broker_lease_get_state (lease) : "pending";
          if (g_strcmp0 (state, "active") == 0)
            (*n_active)++;
          else if (g_strcmp0 (state, "pending") == 0 || g_strcmp0 (state, "lost") == 0)
            (*n_pending)++;
        }
      return;
    }
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PlMapping) mapping = g_list_model_get_item (mappings, i);

      if (!profile_enabled (self, pl_mapping_get_profile_name (mapping)))
        continue;
      if (pl_mapping_get_state (mapping) == PL_MAPPING_STATE_ACTIVE)
        (*n_active)++;
      else if (pl_mapping_get_state (mapping) == PL_MAPPING_STATE_MAPPING)
        (*n_pending)++;
    }
}

static void
send (PlNotifier    *self,
      GNotification *notification,
      const char    *title,
      const char    *body)
{
  g_debug ("Notification: %s | %s", title, body);
  if (self->send_func != NULL)
    self->send_func (PL_NOTIFIER_ID, notification, title, body, self->send_data);
  else if (self->application != NULL)
    g_application_send_notification (self->application, PL_NOTIFIER_ID, notification);
}

void
pl_notifier_flush (PlNotifier *self)
{
  g_autoptr(GNotification) notification = NULL;
  g_autoptr(GString) body = g_string_new (NULL);
  g_autofree char *title = NULL;
  guint first = 0;
  gboolean all_failures = TRUE;

  g_return_if_fail (PL_IS_NOTIFIER (self));

  timer_clear (self);

  if (!self->reset && self->events->len == 0)
    return;

  if (self->reset)
    {
      guint n_active, n_pending;

      count_mappings (self, &n_active, &n_pending);
      title = g_strdup (_("Router restarted"));
      if (n_active >= self->reset_count)
        g_string_append_printf (body, ngettext ("%u port mapping was restored.",
                                                "%u port mappings were restored.", n_active),
                                n_active);
      else
        /* TRANSLATORS: after a router restart: "2 of 3 port mappings were restored." */
        g_string_append_printf (body, _("%u of %u port mappings were restored."),
                                n_active, self->reset_count);
    }
  else if (self->events->len == 1)
    {
      Event *event = g_ptr_array_index (self->events, 0);

      title = g_strdup (event->title);
      g_string_append (body, event->line);
      first = 1;
    }
  else
    {
      for (guint i = 0; i < self->events->len; i++)
        {
          Event *event = g_ptr_array_index (self->events, i);

          if (event->kind != EVENT_FAILED)
            all_failures = FALSE;
        }
      if (all_failures)
        title = g_strdup_printf (ngettext ("%u port mapping failed", "%u port mappings failed",
                                           self->events->len),
                                 self->events->len);
      else
        title = g_strdup (_("Port mappings changed"));
    }

  for (guint i = first; i < self->events->len; i++)
    {
      Event *event = g_ptr_array_index (self->events, i);
      guint shown = i - first;

      if (shown == MAX_BODY_LINES)
        {
          guint rest = self->events->len - i;

          g_string_append_c (body, '\n');
          g_string_append_printf (body, ngettext ("and %u more", "and %u more", rest), rest);
          break;
        }
      if (body->len > 0)
        g_string_append_c (body, '\n');
      g_string_append (body, event->line);
    }

  notification = g_notification_new (title);
  g_notification_set_body (notification, body->str);
  g_notification_set_default_action (notification, "app.edit-profiles");
  send (self, notification, title, body->str);

  g_ptr_array_set_size (self->events, 0);
  self->reset = FALSE;
  self->reset_count = 0;
}

static gboolean
timer_cb (gpointer user_data)
{
  PlNotifier *self = user_data;
  guint n_active, n_pending;

  g_clear_pointer (&self->timer, g_source_unref);

  /* A restarted router: wait until its mappings are back, up to the burst's maximum. */
  count_mappings (self, &n_active, &n_pending);
  if (self->reset && n_pending > 0 &&
      now_us (self) < self->burst_start + (gint64) self->max_ms * 1000)
    {
      burst_touch (self);
      return G_SOURCE_REMOVE;
    }

  pl_notifier_flush (self);
  return G_SOURCE_REMOVE;
}

static void
router_reset_cb (PlSession  *session,
                 guint       n_mappings,
                 PlNotifier *self)
{
  if (!self->enabled)
    {
      g_debug ("Notification suppressed (turned off): router reset, %u mappings", n_mappings);
      return;
    }
  self->reset = TRUE;
  self->reset_count = MAX (self->reset_count, n_mappings);
  burst_touch (self);
}

static void
mapping_changed_cb (PlSession  *session,
                    PlMapping  *mapping,
                    PlNotifier *self)
{
  g_autofree char *key = mapping_key (mapping);
  const char *name = pl_mapping_get_profile_name (mapping);

  switch (pl_mapping_get_state (mapping))
    {
    case PL_MAPPING_STATE_DISABLED:
      g_hash_table_remove (self->failures, key);
      g_hash_table_remove (self->ports, key);
      break;

    case PL_MAPPING_STATE_MAPPING:
      break;

    case PL_MAPPING_STATE_FAILED:
      {
        const GError *error = pl_mapping_get_error (mapping);
        const char *message = error != NULL ? error->message : _("unknown error");

        if (error != NULL && g_error_matches (error, PL_ERROR, PL_ERROR_NO_GATEWAY))
          break;   /* the icon says so; nothing the user did */
        if (g_strcmp0 (g_hash_table_lookup (self->failures, key), message) == 0)
          break;
        g_hash_table_replace (self->failures, g_strdup (key), g_strdup (message));
        add_event (self, EVENT_FAILED, g_strdup (_("Port mapping failed")),
                   /* TRANSLATORS: a failed mapping: "SSH (TCP): <why>" */
                   g_strdup_printf (_("%s (%s): %s"), name, protocol_label (mapping), message));
      }
      break;

    case PL_MAPPING_STATE_ACTIVE:
      {
        guint asked = pl_mapping_get_requested_external_port (mapping);
        guint got = pl_mapping_get_external_port (mapping);

        g_hash_table_remove (self->failures, key);
        /* The router chooses: ::port-changed says which port (port_changed_cb). */
        if (pl_mapping_get_any_external_port (mapping))
          break;
        if (asked == 0)
          asked = pl_mapping_get_internal_port (mapping);
        if (got == asked)
          {
            g_hash_table_remove (self->ports, key);
            break;
          }
        if (GPOINTER_TO_UINT (g_hash_table_lookup (self->ports, key)) == got)
          break;
        g_hash_table_replace (self->ports, g_strdup (key), GUINT_TO_POINTER (got));
        add_event (self, EVENT_PORT, g_strdup (_("The router gave a different public port")),
                   /* TRANSLATORS: "SSH (TCP) got public port 40022 instead of 2222." */
                   g_strdup_printf (_("%s (%s) got public port %u instead of %u."),
                                    name, protocol_label (mapping), got, asked));
      }
      break;

    default:
      g_assert_not_reached ();
    }
}

/* A profile that takes any public port (a VPN's port forwarding): the port it got, when
 * first known and whenever it changes, since the programs behind it must be told. */
static void
port_changed_cb (PlSession  *session,
                 PlMapping  *mapping,
                 guint       old_port,
                 PlNotifier *self)
{
  if (!pl_mapping_get_any_external_port (mapping))
    return;   /* a port asked for: mapping_changed_cb says when another is given */
  add_event (self, EVENT_PORT, g_strdup (_("Forwarded port")),
             /* TRANSLATORS: "Your forwarded port for “vpn-torrent” (TCP) is now 51234." */
             g_strdup_printf (_("Your forwarded port for “%s” (%s) is now %u."),
                              pl_mapping_get_profile_name (mapping), protocol_label (mapping),
                              pl_mapping_get_external_port (mapping)));
}

/* As the engine's client: Manager.GatewayRebootedAt moved on. */
static void
engine_rebooted_cb (PlEngineClient *engine,
                    PlNotifier     *self)
{
  guint n = 0;

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->store)); i++)
    {
      g_autoptr(PlProfile) profile = g_list_model_get_item (G_LIST_MODEL (self->store), i);

      if (pl_profile_get_enabled (profile))
        n++;
    }
  router_reset_cb (NULL, n, self);
}

/* As the engine's client: a profile's lease got another public port. */
static void
engine_port_changed_cb (PlEngineClient *engine,
                        const char     *name,
                        guint           old_port,
                        guint           new_port,
                        PlNotifier     *self)
{
  add_event (self, EVENT_PORT, g_strdup (_("Forwarded port")),
             /* TRANSLATORS: "The public port of “vpn-torrent” is now 51234 (it was 40022)." */
             g_strdup_printf (_("The public port of “%s” is now %u (it was %u)."),
                              name, new_port, old_port));
}

void
pl_notifier_set_engine (PlNotifier     *self,
                        PlEngineClient *engine)
{
  g_return_if_fail (PL_IS_NOTIFIER (self));

  if (self->engine != NULL)
    g_signal_handlers_disconnect_by_data (self->engine, self);
  g_set_object (&self->engine, engine);
  if (engine == NULL)
    return;
  g_signal_connect (engine, "gateway-rebooted", G_CALLBACK (engine_rebooted_cb), self);
  g_signal_connect (engine, "port-changed", G_CALLBACK (engine_port_changed_cb), self);
}

static void
external_address_changed_cb (PlSession  *session,
                             const char *address,
                             PlNotifier *self)
{
  if (address == NULL)
    return;
  if (self->last_address != NULL && g_strcmp0 (self->last_address, address) != 0)
    add_event (self, EVENT_ADDRESS, g_strdup (_("Public address changed")),
               g_strdup_printf (_("Your public address is now %s (it was %s)."),
                                address, self->last_address));
  g_free (self->last_address);
  self->last_address = g_strdup (address);
}

static void
watch_session (PlNotifier *self)
{
  g_signal_connect_object (self->session, "router-reset", G_CALLBACK (router_reset_cb), self, 0);
  g_signal_connect_object (self->session, "mapping-changed", G_CALLBACK (mapping_changed_cb),
                           self, 0);
  g_signal_connect_object (self->session, "external-address-changed",
                           G_CALLBACK (external_address_changed_cb), self, 0);
  g_signal_connect_object (self->session, "port-changed", G_CALLBACK (port_changed_cb), self, 0);
}

PlNotifier *
pl_notifier_new (GApplication   *application,
                 PlSession      *session,
                 PlProfileStore *store)
{
  PlNotifier *self;

  g_return_val_if_fail (application == NULL || G_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (PL_IS_SESSION (session), NULL);
  g_return_val_if_fail (PL_IS_PROFILE_STORE (store), NULL);

  self = g_object_new (PL_TYPE_NOTIFIER, NULL);
  if (application != NULL)
    g_set_weak_pointer (&self->application, application);
  self->session = g_object_ref (session);
  self->store = g_object_ref (store);
  self->last_address = g_strdup (pl_session_get_external_address (session));
  watch_session (self);
  return self;
}

void
pl_notifier_set_session (PlNotifier *self,
                         PlSession  *session)
{
  g_return_if_fail (PL_IS_NOTIFIER (self));
  g_return_if_fail (PL_IS_SESSION (session));

  if (self->session == session)
    return;
  g_signal_handlers_disconnect_by_data (self->session, self);
  g_set_object (&self->session, session);
  watch_session (self);

  /* A burst being collected goes on, timed on the new session's clock. */
  if (self->timer != NULL)
    {
      self->burst_start = now_us (self);
      timer_start (self, self->quiet_ms);
    }
}

gboolean
pl_notifier_get_enabled (PlNotifier *self)
{
  g_return_val_if_fail (PL_IS_NOTIFIER (self), FALSE);
  return self->enabled;
}

void
pl_notifier_set_enabled (PlNotifier *self,
                         gboolean    enabled)
{
  g_return_if_fail (PL_IS_NOTIFIER (self));

  self->enabled = !!enabled;
  if (!self->enabled)
    {
      /* Drop the burst being collected. */
      timer_clear (self);
      g_ptr_array_set_size (self->events, 0);
      self->reset = FALSE;
      self->reset_count = 0;
    }
}

void
pl_notifier_set_send_func (PlNotifier         *self,
                           PlNotifierSendFunc  func,
                           gpointer            user_data)
{
  g_return_if_fail (PL_IS_NOTIFIER (self));

  self->send_func = func;
  self->send_data = user_data;
}

void
pl_notifier_set_delays (PlNotifier *self,
                        guint       quiet_ms,
                        guint       max_ms)
{
  g_return_if_fail (PL_IS_NOTIFIER (self));
  g_return_if_fail (quiet_ms <= max_ms);

  self->quiet_ms = quiet_ms;
  self->max_ms = max_ms;
}

gboolean
pl_notifier_is_pending (PlNotifier *self)
{
  g_return_val_if_fail (PL_IS_NOTIFIER (self), FALSE);
  return self->timer != NULL;
}

void
pl_notifier_notify_error (PlNotifier *self,
                          const char *title,
                          const char *body)
{
  g_autoptr(GNotification) notification = NULL;

  g_return_if_fail (PL_IS_NOTIFIER (self));
  g_return_if_fail (title != NULL);

  if (!self->enabled)
    {
      g_debug ("Notification suppressed (turned off): %s", title);
      return;
    }
  notification = g_notification_new (title);
  if (body != NULL)
    g_notification_set_body (notification, body);
  g_notification_set_priority (notification, G_NOTIFICATION_PRIORITY_HIGH);
  g_notification_set_default_action (notification, "app.edit-profiles");
  send (self, notification, title, body != NULL ? body : "");
}

static void
pl_notifier_dispose (GObject *object)
{
  PlNotifier *self = PL_NOTIFIER (object);

  timer_clear (self);
  g_clear_weak_pointer (&self->application);
  pl_notifier_set_engine (self, NULL);
  g_clear_object (&self->session);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (pl_notifier_parent_class)->dispose (object);
}

static void
pl_notifier_finalize (GObject *object)
{
  PlNotifier *self = PL_NOTIFIER (object);

  g_hash_table_unref (self->failures);
  g_hash_table_unref (self->ports);
  g_ptr_array_unref (self->events);
  g_free (self->last_address);

  G_OBJECT_CLASS (pl_notifier_parent_class)->finalize (object);
}

static void
pl_notifier_class_init (PlNotifierClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_notifier_dispose;
  object_class->finalize = pl_notifier_finalize;
}

static void
pl_notifier_init (PlNotifier *self)
{
  self->enabled = TRUE;
  self->quiet_ms = PL_NOTIFIER_DEFAULT_QUIET_MS;
  self->max_ms = PL_NOTIFIER_DEFAULT_MAX_MS;
  self->failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->ports = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->events = g_ptr_array_new_with_free_func ((GDestroyNotify) event_free);
}
