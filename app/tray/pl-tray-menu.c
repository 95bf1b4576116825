/* pl-tray-menu.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "pl-app-profiles.h"
#include "pl-engine-client.h"
#include "pl-listener-cache.h"
#include "pl-tray-menu.h"

/* Routers refuse mappings of ports below this by default (miniupnpd's default rules,
 * "allow 1024-65535 …", cover only the ports from 1024 up, for both ports). */
#define FIRST_UNPRIVILEGED_PORT 1024

struct _PlTrayMenu
{
  GObject            parent_instance;

  PlSession         *session;
  GPtrArray         *others;        /* PlSession*: the group's other gateways' */
  PlProfileStore    *store;

  GPtrArray         *items;         /* PlTrayItem* */
  PlTrayState        state;
  char              *description;
  guint              autostart : 1;
  guint              notifications : 1;

  guint              idle_id;
  GPtrArray         *watched;       /* PlProfile* whose notify we follow */

  PlTrayMenuNowFunc  now_func;
  gpointer           now_data;

  /* Who listens on the profiles' ports, while listen_check is on. */
  PlListenerCache   *listeners;
  gboolean           listen_check;

  /* Set while the session is not this tray's engine (another engine runs): said in its
   * place, and the session's lines are left out. */
  char              *engine_note;
  /* As the engine's client: what it keeps, in place of the session's mappings. */
  PlEngineClient    *engine;
};

static void queue_update (PlTrayMenu *self);

G_DEFINE_FINAL_TYPE (PlTrayMenu, pl_tray_menu, G_TYPE_OBJECT)

enum {
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

const char *
pl_tray_state_get_icon_name (PlTrayState state)
{
  switch (state)
    {
    case PL_TRAY_STATE_NO_GATEWAY:
      return APP_ID "-offline-symbolic";
    case PL_TRAY_STATE_BUSY:
      return APP_ID "-busy-symbolic";
    case PL_TRAY_STATE_IDLE:
      return APP_ID "-idle-symbolic";
    case PL_TRAY_STATE_ACTIVE:
      return APP_ID "-active-symbolic";
    case PL_TRAY_STATE_ERROR:
      return APP_ID "-error-symbolic";
    default:
      g_return_val_if_reached (APP_ID "-symbolic");
    }
}

void
pl_tray_item_free (PlTrayItem *item)
{
  if (item == NULL)
    return;
  g_free (item->id);
  g_free (item->label);
  g_free (item->detail);
  g_free (item->action);
  g_clear_pointer (&item->target, g_variant_unref);
  g_free (item);
}

/* @text cut to @max_chars characters, the last of them "…"; whole words where it can. */
static char *
ellipsize (const char *text,
           glong       max_chars)
{
  g_autofree char *head = NULL;
  char *space;

  if (g_utf8_strlen (text, -1) <= max_chars)
    return g_strdup (text);
  head = g_utf8_substring (text, 0, max_chars - 1);
  /* Cut at a space in the last third rather than in a word (or an address). */
  space = strrchr (head, ' ');
  if (space != NULL && g_utf8_strlen (head, space - head) >= max_chars * 2 / 3)
    *space = '\0';
  g_strchomp (head);
  /* No dangling separator before the ellipsis ("renewal failed:…"). */
  for (;;)
    {
      gsize len = strlen (head);

      if (len > 0 && strchr (":;,", head[len - 1]) != NULL)
        head[len - 1] = '\0';
      else if (g_str_has_suffix (head, "·"))
        head[len - strlen ("·")] = '\0';
      else
        break;
      g_strchomp (head);
    }
  return g_strconcat (head, "…", NULL);
}

/* @detail: (nullable): the whole story, for the window; when @label is too long for the
 * menu, it is shortened and the whole of it becomes the detail (unless one is given). */
static PlTrayItem *
add_item_full (GPtrArray      *items,
               PlTrayItemKind  kind,
               const char     *id,
               const char     *label,
               const char     *detail,
               const char     *action,
               GVariant       *target)
{
  PlTrayItem *item = g_new0 (PlTrayItem, 1);

  item->kind = kind;
  item->id = g_strdup (id);
  if (label != NULL && g_utf8_strlen (label, -1) > PL_TRAY_MENU_MAX_CHARS)
    {
      item->label = ellipsize (label, PL_TRAY_MENU_MAX_CHARS);
      item->detail = g_strdup (detail != NULL ? detail : label);
    }
  else
    {
      item->label = g_strdup (label);
      item->detail = g_strdup (detail);
    }
  item->action = g_strdup (action);
  item->target = target != NULL ? g_variant_ref_sink (target) : NULL;
  g_ptr_array_add (items, item);
  return item;
}

static PlTrayItem *
add_item (GPtrArray      *items,
          PlTrayItemKind  kind,
          const char     *id,
          const char     *label,
          const char     *action,
          GVariant       *target)
{
  return add_item_full (items, kind, id, label, NULL, action, target);
}

static void
add_separator (GPtrArray *items)
{
  add_item (items, PL_TRAY_ITEM_SEPARATOR, "separator", NULL, NULL, NULL);
}

static const char *
protocol_label (PlProfileProtocol protocol)
{
  switch (protocol)
    {
    case PL_PROFILE_PROTOCOL_TCP:
      return "TCP";
    case PL_PROFILE_PROTOCOL_UDP:
      return "UDP";
    case PL_PROFILE_PROTOCOL_BOTH:
      return "TCP+UDP";
    default:
      return "?";
    }
}

char *
pl_tray_menu_format_ports (PlProfile *profile)
{
  guint internal, external;

  g_return_val_if_fail (PL_IS_PROFILE (profile), NULL);

  internal = pl_profile_get_internal_port (profile);
  external = pl_profile_get_external_port (profile);
  if (pl_profile_get_any_external_port (profile))
    /* TRANSLATORS: a mapping whose public port the router chooses: protocol, the port on
     * this computer ("TCP+UDP 51413 → any port") */
    return g_strdup_printf (C_("ports", "%s %u → any port"),
                            protocol_label (pl_profile_get_protocol (profile)), internal);
  if (external == 0 || external == internal)
    return g_strdup_printf ("%s %u", protocol_label (pl_profile_get_protocol (profile)), internal);

  /* TRANSLATORS: a mapping: protocol, the port on this computer → the public port */
  return g_strdup_printf (C_("ports", "%s %u → %u"),
                          protocol_label (pl_profile_get_protocol (profile)), internal, external);
}

char *
pl_tray_menu_format_profile (PlProfile *profile)
{
  g_autofree char *ports = NULL;

  g_return_val_if_fail (PL_IS_PROFILE (profile), NULL);

  ports = pl_tray_menu_format_ports (profile);
  /* TRANSLATORS: a profile in the tray menu: its name — its ports ("SSH — TCP 22 → 2222") */
  return g_strdup_printf (_("%s — %s"), pl_profile_get_name (profile), ports);
}

static char *
format_clock_time (GDateTime *now,
                   gint64     clock_now,
                   gint64     clock_time)
{
  g_autoptr(GDateTime) when = g_date_time_add (now, clock_time - clock_now);

  /* TRANSLATORS: strftime format of a time of day today, e.g. when a mapping renews
   * ("14:32"); use "%l:%M %p" for a 12-hour clock */
  return g_date_time_format (when, C_("time of day", "%H:%M"));
}

/* 0 when the router chooses: then the granted port is always shown. */
static guint
requested_port (PlMapping *mapping)
{
  guint requested = pl_mapping_get_requested_external_port (mapping);

  if (pl_mapping_get_any_external_port (mapping))
    return 0;

  return requested != 0 ? requested : pl_mapping_get_internal_port (mapping);
}

static const char *
mapping_protocol_label (PlMapping *mapping)
{
  return pl_mapping_get_protocol (mapping) == PL_PROTOCOL_TCP ? "TCP" : "UDP";
}

/* A refusal says it short in the menu, and in the window why it is likely and what to do:
 * routers' default rules refuse ports below 1024. @message is the router's refusal. */
static char *
describe_refusal_ports (guint        internal,
                        guint        external,
                        const char  *message,
                        char       **detail)
{
  if (internal != 0 && internal < FIRST_UNPRIVILEGED_PORT)
    {
      if (detail != NULL)
        /* TRANSLATORS: in the profiles window, after the router's refusal (%s); %u is the
         * port on this computer, both times */
        *detail = g_strdup_printf (_("%s.\nPort %u is below 1024, and routers refuse those "
                                     "by default (miniupnpd’s rules, for one, allow only "
                                     "1024-65535). To fix it, run the service on a port of "
                                     "1024 or above, or allow port %u in the router’s "
                                     "settings."),
                                   message, internal, internal);
      /* TRANSLATORS: state of a profile in the tray menu (keep it short) */
      return g_strdup_printf (_("Refused by the router (port %u is below 1024)"), internal);
    }
  if (external != 0 && external < FIRST_UNPRIVILEGED_PORT)
    {
      if (detail != NULL)
        /* TRANSLATORS: in the profiles window, after the router's refusal (%s); %u is the
         * public port asked for, both times */
        *detail = g_strdup_printf (_("%s.\nThe public port %u is below 1024, and routers "
                                     "refuse those by default (miniupnpd’s rules, for one, "
                                     "allow only 1024-65535). To fix it, choose a public port "
                                     "of 1024 or above, or allow port %u in the router’s "
                                     "settings."),
                                   message, external, external);
      return g_strdup_printf (_("Refused by the router (port %u is below 1024)"), external);
    }

  if (detail != NULL)
    *detail = g_strdup (message);
  /* TRANSLATORS: state of a profile in the tray menu (keep it short); the profiles window
   * has the router's whole message */
  return g_strdup (_("Refused by the router"));
}

static char *
describe_refusal (PlMapping   *mapping,
                  const char  *message,
                  char       **detail)
{
  return describe_refusal_ports (pl_mapping_get_internal_port (mapping),
                                 requested_port (mapping), message, detail);
}

/* The same for a lease the engine says the router refused (NotAuthorized): short in the
 * menu, the router's message and the fix in the window. NULL for any other state. */
static char *
describe_engine_refusal (PlBrokerLease  *lease,
                         char          **detail)
{
  GVariant *error = pl_broker_lease_get_error (lease);
  const char *name = NULL;
  const char *message = NULL;

  if (g_strcmp0 (pl_broker_lease_get_state (lease), "failed") != 0 || error == NULL)
    return NULL;
  g_variant_get (error, "(&s&s)", &name, &message);
  if (!g_str_has_suffix (name, ".NotAuthorized"))
    return NULL;
  return describe_refusal_ports (pl_broker_lease_get_internal_port (lease),
                                 pl_broker_lease_get_requested_external_port (lease),
                                 message[0] != '\0' ? message : _("the router refused"),
                                 detail);
}

char *
pl_tray_menu_describe_mappings (PlProfile  *profile,
                                GPtrArray  *mappings,
                                GDateTime  *now,
                                gint64      clock_now,
                                char      **detail)
{
  PlMapping *failed = NULL;
  PlMapping *renewal_failing = NULL;
  gint64 expires = G_MAXINT64;
  gboolean pending = FALSE;
  gboolean all_active = TRUE;
  gboolean differs = FALSE;
  gint64 renew_at = G_MAXINT64;
  guint first_port = 0;
  gboolean same_ports = TRUE;

  g_return_val_if_fail (PL_IS_PROFILE (profile), NULL);
  g_return_val_if_fail (mappings != NULL, NULL);
  g_return_val_if_fail (now != NULL, NULL);

  if (detail != NULL)
    *detail = NULL;
  if (!pl_profile_get_enabled (profile))
    return NULL;
  if (mappings->len == 0)
    return g_strdup (_("Waiting for a router"));

  for (guint i = 0; i < mappings->len; i++)
    {
      PlMapping *mapping = g_ptr_array_index (mappings, i);

      switch (pl_mapping_get_state (mapping))
        {
        case PL_MAPPING_STATE_FAILED:
          if (failed == NULL)
            failed = mapping;
          all_active = FALSE;
          break;
        case PL_MAPPING_STATE_MAPPING:
        case PL_MAPPING_STATE_DISABLED:
          pending = TRUE;
          all_active = FALSE;
          break;
        case PL_MAPPING_STATE_ACTIVE:
          {
            guint port = pl_mapping_get_external_port (mapping);

            if (port != requested_port (mapping))
              differs = TRUE;
            if (i == 0)
              first_port = port;
            else if (port != first_port)
              same_ports = FALSE;
            if (pl_mapping_get_renew_at (mapping) != 0)
              renew_at = MIN (renew_at, pl_mapping_get_renew_at (mapping));
            else if (pl_mapping_get_error (mapping) != NULL && renewal_failing == NULL)
              renewal_failing = mapping;   /* open until it expires; retried meanwhile */
            expires = MIN (expires, pl_mapping_get_expires (mapping));
          }
          break;
        default:
          g_assert_not_reached ();
        }
    }

  if (failed != NULL)
    {
      const GError *error = pl_mapping_get_error (failed);
      const char *message = error != NULL ? error->message : _("unknown error");
      g_autofree char *refusal = NULL;

      if (g_error_matches (error, PL_ERROR, PL_ERROR_NOT_AUTHORIZED))
        refusal = describe_refusal (failed, message, detail);
      if (refusal != NULL && mappings->len > 1)
        return g_strdup_printf (_("Failed (%s): %s"), mapping_protocol_label (failed), refusal);
      if (refusal != NULL)
        return g_steal_pointer (&refusal);

      if (mappings->len > 1)
        /* TRANSLATORS: state of a profile: "Failed (UDP): <why>" */
        return g_strdup_printf (_("Failed (%s): %s"), mapping_protocol_label (failed), message);
      /* TRANSLATORS: state of a profile: "Failed: <why>" */
      return g_strdup_printf (_("Failed: %s"), message);
    }

  if (pending || !all_active)
    return g_strdup (_("Contacting the router…"));

  if (renewal_failing != NULL)
    {
      g_autofree char *until = format_clock_time (now, clock_now, expires);
      const char *message = pl_mapping_get_error (renewal_failing)->message;
      /* TRANSLATORS: state of a profile whose renewal fails: "Active until 14:32 · renewal
       * failed: <why>" */
      g_autofree char *text = g_strdup_printf (_("Active until %s · renewal failed: %s"),
                                               until, message);

      /* Too long for the menu: it says when and that, the window says why. */
      if (g_utf8_strlen (text, -1) > PL_TRAY_MENU_MAX_CHARS)
        {
          if (detail != NULL)
            *detail = g_steal_pointer (&text);
          /* TRANSLATORS: state of a profile whose renewal fails, in the tray menu (the
           * window says why) */
          return g_strdup_printf (_("Active until %s · renewal failed"), until);
        }
      return g_steal_pointer (&text);
    }

  {
    g_autofree char *when = NULL;

    if (renew_at == G_MAXINT64)
      renew_at = clock_now;
    when = format_clock_time (now, clock_now, renew_at);

    if (!differs)
      /* TRANSLATORS: state of a profile; %s is a time of day */
      return g_strdup_printf (_("Active · renews at %s"), when);
    if (same_ports)
      /* TRANSLATORS: state of a profile whose public port is not the one asked for */
      return g_strdup_printf (_("Active on public port %u · renews at %s"), first_port, when);
    /* TRANSLATORS: state of a TCP+UDP profile whose public ports differ (keep it within
     * 60 characters: "Public ports 40022 (TCP), 40023 (UDP) · renews at 14:32") */
    return g_strdup_printf (_("Public ports %u (TCP), %u (UDP) · renews at %s"),
                            pl_mapping_get_external_port (g_ptr_array_index (mappings, 0)),
                            pl_mapping_get_external_port (g_ptr_array_index (mappings, 1)),
                            when);
  }
}

/**
 * pl_tray_menu_describe_pinholes:
 * @mappings: (element-type PlMapping): a profile's IPv6 pinholes (TCP before UDP)
 *
 * The line under a profile about its IPv6 pinholes: where they are open, or why they are
 * not; %NULL while they are being asked for, or when there are none.
 *
 * Returns: (transfer full) (nullable): the text
 */
char *
pl_tray_menu_describe_pinholes (GPtrArray *mappings)
{
  PlMapping *first = NULL;

  g_return_val_if_fail (mappings != NULL, NULL);

  for (guint i = 0; i < mappings->len; i++)
    {
      PlMapping *mapping = g_ptr_array_index (mappings, i);

      switch (pl_mapping_get_state (mapping))
        {
        case PL_MAPPING_STATE_FAILED:
          {
            const GError *error = pl_mapping_get_error (mapping);
            const char *message = error != NULL ? error->message : _("unknown error");

            /* TRANSLATORS: state of a profile's IPv6 pinhole: "IPv6: <why not>" */
            return g_strdup_printf (_("IPv6: %s"), message);
          }
        case PL_MAPPING_STATE_ACTIVE:
          if (first == NULL)
            first = mapping;
          break;
        case PL_MAPPING_STATE_MAPPING:
        case PL_MAPPING_STATE_DISABLED:
          return NULL;
        default:
          g_assert_not_reached ();
        }
    }

  if (first == NULL || pl_mapping_get_external_address (first) == NULL)
    return NULL;
  /* TRANSLATORS: a profile's port is also open as an IPv6 pinhole at this address and port:
   * "Also open on [2001:db8::10]:8080 (IPv6)" */
  return g_strdup_printf (_("Also open on [%s]:%u (IPv6)"),
                          pl_mapping_get_external_address (first),
                          pl_mapping_get_internal_port (first));
}

/**
 * pl_tray_menu_describe_listener:
 * @profile: an enabled profile whose mappings are active
 * @answers: (array length=n_answers): who listens on its port, one answer per protocol
 * @n_answers: how many
 *
 * The state line of an active profile that says whether a program on this computer takes
 * what the router forwards: "Active · nothing listens on port 8080 yet", "Active · sshd
 * listens". For a TCP+UDP profile, a program on either protocol counts.
 *
 * Returns: (transfer full): the text
 */
char *
pl_tray_menu_describe_listener (PlProfile            *profile,
                                const PlListenAnswer *answers,
                                guint                 n_answers)
{
  guint port;
  const char *program = NULL;
  const char *local_program = NULL;
  gboolean reachable = FALSE;
  gboolean local = FALSE;

  g_return_val_if_fail (PL_IS_PROFILE (profile), NULL);
  g_return_val_if_fail (answers != NULL || n_answers == 0, NULL);

  port = pl_profile_get_internal_port (profile);
  for (guint i = 0; i < n_answers; i++)
    {
      if (!answers[i].listening)
        continue;
      if (answers[i].loopback_only)
        {
          local = TRUE;
          if (local_program == NULL)
            local_program = answers[i].program;
          continue;
        }
      reachable = TRUE;
      if (program == NULL)
        program = answers[i].program;
    }

  if (reachable && program != NULL)
    /* TRANSLATORS: state of a profile: the program that takes its port ("Active · sshd
     * listens"); keep it short */
    return g_strdup_printf (_("Active · %s listens"), program);
  if (reachable)
    /* TRANSLATORS: state of a profile: a program we may not name (another user's) listens */
    return g_strdup_printf (_("Active · a program listens on port %u"), port);
  if (local && local_program != NULL)
    /* TRANSLATORS: state of a profile: the program listens on 127.0.0.1 or ::1 only, so
     * what the router forwards does not reach it */
    return g_strdup_printf (_("Active · %s accepts no outside connections"), local_program);
  if (local)
    return g_strdup_printf (_("Active · port %u takes no outside connections"), port);
  /* TRANSLATORS: state of a profile whose port is open on the router, while no program on
   * this computer listens on it */
  return g_strdup_printf (_("Active · nothing listens on port %u yet"), port);
}

/* Whether every mapping is active as asked, with its renewal on time: the case where the
 * state line only says when it renews, and may say who listens instead. */
static gboolean
mappings_plainly_active (GPtrArray *mappings)
{
  if (mappings->len == 0)
    return FALSE;
  for (guint i = 0; i < mappings->len; i++)
    {
      PlMapping *mapping = g_ptr_array_index (mappings, i);

      if (pl_mapping_get_state (mapping) != PL_MAPPING_STATE_ACTIVE ||
          pl_mapping_get_error (mapping) != NULL ||
          pl_mapping_get_external_port (mapping) != requested_port (mapping))
        return FALSE;
    }
  return TRUE;
}

static gboolean
mappings_all_active (GPtrArray *mappings)
{
  if (mappings->len == 0)
    return FALSE;
  for (guint i = 0; i < mappings->len; i++)
    if (pl_mapping_get_state (g_ptr_array_index (mappings, i)) != PL_MAPPING_STATE_ACTIVE)
      return FALSE;
  return TRUE;
}

/* "SSH — TCP 22 → 2222", its name shortened rather than its ports when it is too long. */
static char *
menu_profile_label (PlProfile *profile)
{
  const char *name = pl_profile_get_name (profile);
  g_autofree char *label = pl_tray_menu_format_profile (profile);
  glong length = g_utf8_strlen (label, -1);
  glong name_length = g_utf8_strlen (name, -1);
  glong room = PL_TRAY_MENU_MAX_CHARS - (length - name_length);
  g_autofree char *short_name = NULL;
  g_autofree char *ports = NULL;

  if (length <= PL_TRAY_MENU_MAX_CHARS || room < 8)
    return g_steal_pointer (&label);   /* fits, or the menu shortens the whole line */

  short_name = ellipsize (name, room);
  ports = pl_tray_menu_format_ports (profile);
  return g_strdup_printf (_("%s — %s"), short_name, ports);
}

/* The sessions shown, the primary first: @i from 0 to self->others->len. */
static PlSession *
session_at (PlTrayMenu *self,
            guint       i)
{
  return i == 0 ? self->session : g_ptr_array_index (self->others, i - 1);
}

static GPtrArray *
mappings_of (PlTrayMenu    *self,
             const char    *name,
             GSocketFamily  family)
{
  GPtrArray *found = g_ptr_array_new_with_free_func (g_object_unref);

  /* A profile is mapped by one session: the primary, or its Gateway='s. */
  for (guint s = 0; s <= self->others->len && found->len == 0; s++)
    {
      PlSession *session = session_at (self, s);
      GListModel *mappings = pl_session_get_mappings (session);
      guint n = g_list_model_get_n_items (mappings);

      for (guint i = 0; i < n; i++)
        {
          g_autoptr(PlMapping) mapping = g_list_model_get_item (mappings, i);

          if (g_strcmp0 (pl_mapping_get_profile_name (mapping), name) == 0 &&
              pl_mapping_get_family (mapping) == family)
            g_ptr_array_add (found, g_steal_pointer (&mapping));
        }
    }
  return found;
}

/* The state line that says who listens on an active profile's port, NULL when that is not
 * known (the check is off or has not answered) or the line has more urgent news (a port
 * other than the one asked for, a failing renewal). @detail: (out): the line and when it
 * renews, for the window. */
static char *
listener_state (PlTrayMenu  *self,
                PlProfile   *profile,
                GPtrArray   *mappings,
                GDateTime   *now,
                gint64       clock_now,
                char       **detail)
{
  g_autoptr(GArray) answers = g_array_new (FALSE, TRUE, sizeof (PlListenAnswer));
  g_autofree char *line = NULL;
  gint64 renew_at = G_MAXINT64;

  if (!self->listen_check || !mappings_plainly_active (mappings))
    return NULL;
  for (guint i = 0; i < mappings->len; i++)
    {
      PlMapping *mapping = g_ptr_array_index (mappings, i);
      const PlListenAnswer *answer = pl_listener_cache_lookup (self->listeners,
                                                               pl_mapping_get_protocol (mapping),
                                                               pl_mapping_get_family (mapping),
                                                               pl_mapping_get_internal_port (mapping));

      if (answer == NULL)
        return NULL;
      g_array_append_val (answers, *answer);   /* borrowed strings: no clear func */
      if (pl_mapping_get_renew_at (mapping) != 0)
        renew_at = MIN (renew_at, pl_mapping_get_renew_at (mapping));
    }

  line = pl_tray_menu_describe_listener (profile, (PlListenAnswer *) (gpointer) answers->data,
                                         answers->len);
  if (renew_at != G_MAXINT64)
    {
      g_autofree char *when = format_clock_time (now, clock_now, renew_at);
      /* TRANSLATORS: in the profiles window, under "Active · sshd listens"; %s is a time of
       * day */
      g_autofree char *renews = g_strdup_printf (_("Renews at %s"), when);

      *detail = g_strdup_printf ("%s\n%s", line, renews);
    }
  return g_steal_pointer (&line);
}

/**
 * pl_tray_menu_copy_items:
 * @profile_name: the profile's name (for the items' ids)
 * @address: (nullable): the public IPv4 address, if known
 * @mappings: (element-type PlMapping): the profile's IPv4 mappings
 * @pinholes: (element-type PlMapping): its IPv6 pinholes
 *
 * The "Copy 84.17.2.3:8080" items of a profile whose mappings are active: one per public
 * port (two, marked TCP and UDP, when a TCP+UDP profile got different ports), and the IPv6
 * form "Copy [2001:db8::10]:8080" where its pinholes are open. Each runs "copy-text" with
 * the text after "Copy ".
 *
 * Returns: (transfer full) (element-type PlTrayItem): the items, maybe none
 */
GPtrArray *
pl_tray_menu_copy_items (const char *profile_name,
                         const char *address,
                         GPtrArray  *mappings,
                         GPtrArray  *pinholes)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_tray_item_free);
  g_autofree char *id = NULL;
  g_autofree char *id6 = NULL;

  g_return_val_if_fail (profile_name != NULL, NULL);
  g_return_val_if_fail (mappings != NULL, NULL);
  g_return_val_if_fail (pinholes != NULL, NULL);

  id = g_strconcat ("copy:", profile_name, NULL);
  id6 = g_strconcat ("copy-ipv6:", profile_name, NULL);
  if (address != NULL && mappings_all_active (mappings))
    {
      gboolean differ = FALSE;

      for (guint i = 1; i < mappings->len; i++)
        if (pl_mapping_get_external_port (g_ptr_array_index (mappings, i)) !=
            pl_mapping_get_external_port (g_ptr_array_index (mappings, 0)))
          differ = TRUE;
      for (guint i = 0; i < (differ ? mappings->len : 1); i++)
        {
          PlMapping *mapping = g_ptr_array_index (mappings, i);
          g_autofree char *text = g_strdup_printf ("%s:%u", address,
                                                   pl_mapping_get_external_port (mapping));
          g_autofree char *label = NULL;

          if (differ)
            /* TRANSLATORS: menu item that copies a public address and port, for one
             * protocol: "Copy 84.17.2.3:40022 (UDP)" */
            label = g_strdup_printf (_("Copy %s (%s)"), text, mapping_protocol_label (mapping));
          else
            /* TRANSLATORS: menu item that copies the public address and port of a profile:
             * "Copy 84.17.2.3:8080" */
            label = g_strdup_printf (_("Copy %s"), text);
          add_item (items, PL_TRAY_ITEM_ACTION, id, label, "copy-text",
                    g_variant_new_string (text));
        }
    }

  if (mappings_all_active (pinholes) &&
      pl_mapping_get_external_address (g_ptr_array_index (pinholes, 0)) != NULL)
    {
      PlMapping *first = g_ptr_array_index (pinholes, 0);
      g_autofree char *text = g_strdup_printf ("[%s]:%u",
                                               pl_mapping_get_external_address (first),
                                               pl_mapping_get_internal_port (first));
      g_autofree char *label = g_strdup_printf (_("Copy %s"), text);

      add_item (items, PL_TRAY_ITEM_ACTION, id6, label, "copy-text",
                g_variant_new_string (text));
    }
  return g_steal_pointer (&items);
}

static GDateTime *
default_now (gpointer user_data)
{
  return g_date_time_new_now_local ();
}

/* The engine's method name as the router line says it. */
static const char *
engine_method_label (const char *method)
{
  if (g_strcmp0 (method, "pcp") == 0)
    return "PCP";
  if (g_strcmp0 (method, "nat-pmp") == 0)
    return "NAT-PMP";
  if (g_strcmp0 (method, "upnp-igd") == 0)
    return "UPnP-IGD";
  return NULL;
}

static void
compute_engine_state (PlTrayMenu *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->store));
  guint n_failed = 0, n_pending = 0, n_active = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PlProfile) profile = g_list_model_get_item (G_LIST_MODEL (self->store), i);
      g_autoptr(PlBrokerLease) lease = NULL;
      g_autofree char *waiting = NULL;
      const char *state;

      if (!pl_profile_get_enabled (profile))
        continue;
      /* Waiting for its application or network is not contacting the router. */
      waiting = pl_engine_client_dup_waiting (self->engine, pl_profile_get_name (profile));
      if (waiting != NULL)
        continue;
      lease = pl_engine_client_get_profile_lease (self->engine, pl_profile_get_name (profile));
      state = lease != NULL ? pl_broker_lease_get_state (lease) : NULL;
      if (g_strcmp0 (state, "active") == 0)
        n_active++;
      else if (g_strcmp0 (state, "failed") == 0)
        n_failed++;
      else
        n_pending++;
    }

  g_clear_pointer (&self->description, g_free);
  if (!pl_engine_client_get_running (self->engine))
    {
      self->state = PL_TRAY_STATE_ERROR;
      self->description = g_strdup (_("Portlight’s engine stopped"));
    }
  else if (pl_engine_client_get_gateway (self->engine) == NULL)
    {
      self->state = PL_TRAY_STATE_NO_GATEWAY;
      self->description = g_strdup (_("No router found"));
    }
  else if (n_failed > 0)
    {
      self->state = PL_TRAY_STATE_ERROR;
      self->description = g_strdup_printf (ngettext ("%u port mapping failed",
                                                     "%u port mappings failed", n_failed),
                                           n_failed);
    }
  else if (n_pending > 0 || pl_engine_client_get_external_address (self->engine) == NULL)
    {
      self->state = PL_TRAY_STATE_BUSY;
      self->description = g_strdup (_("Contacting the router…"));
    }
  else if (n_active == 0)
    {
      self->state = PL_TRAY_STATE_IDLE;
      self->description = g_strdup (_("Connected to the router, no ports open"));
    }
  else
    {
      self->state = PL_TRAY_STATE_ACTIVE;
      self->description = g_strdup_printf (ngettext ("%u port open", "%u ports open", n_active),
                                           n_active);
    }
}

/* The engine's "Copy 84.17.2.3:2222" items of a profile's active lease. */
static void
add_engine_copy_items (GPtrArray     *items,
                       const char    *profile_name,
                       const char    *public_address,
                       PlBrokerLease *lease)
{
  g_autoptr(GPtrArray) mappings = pl_engine_client_lease_mappings (lease);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < mappings->len; i++)
    {
      PlEngineMapping *mapping = g_ptr_array_index (mappings, i);
      g_autofree char *text = NULL;
      g_autofree char *label = NULL;
      g_autofree char *id = NULL;

      gboolean ipv6 = g_strcmp0 (mapping->family, "ipv6") == 0;
      /* An IPv4 mapping is at the router's public address when it says none of its own. */
      const char *address = mapping->external_address != NULL ? mapping->external_address
                            : !ipv6 ? public_address : NULL;

      if (address == NULL || mapping->external_port == 0)
        continue;
      if (ipv6)
        text = g_strdup_printf ("[%s]:%u", address, mapping->external_port);
      else
        text = g_strdup_printf ("%s:%u", address, mapping->external_port);
      if (!g_hash_table_add (seen, g_strdup (text)))
        continue;
      /* TRANSLATORS: a tray menu item copying an address and port to the clipboard */
      label = g_strdup_printf (_("Copy %s"), text);
      id = g_strdup_printf ("copy:%s:%s", profile_name, text);
      add_item (items, PL_TRAY_ITEM_ACTION, id, label, "copy-text", g_variant_new_string (text));
    }
}

/* The lines below the profiles, the same in every mode. */
static void
add_common_items (PlTrayMenu *self,
                  GPtrArray  *items)
{
  PlTrayItem *item;

  add_separator (items);
  add_item (items, PL_TRAY_ITEM_ACTION, "add-profile", _("Add Profile…"), "add-profile", NULL);
  add_item (items, PL_TRAY_ITEM_ACTION, "edit-profiles", _("Edit Profiles…"), "edit-profiles",
            NULL);
  add_item (items, PL_TRAY_ITEM_ACTION, "router-table", _("What’s Open on Your Router…"),
            "router-table", NULL);
  add_separator (items);
  item = add_item (items, PL_TRAY_ITEM_CHECK, "autostart", _("Start at Login"), "autostart",
                   NULL);
  item->active = self->autostart;
  item = add_item (items, PL_TRAY_ITEM_CHECK, "notifications", _("Show Notifications"),
                   "notifications", NULL);
  item->active = self->notifications;
  add_separator (items);
  add_item (items, PL_TRAY_ITEM_ACTION, "quit", _("Quit"), "quit", NULL);
}

static PlProtocol
engine_protocol (const char *protocol)
{
  return g_strcmp0 (protocol, "udp") == 0 ? PL_PROTOCOL_UDP : PL_PROTOCOL_TCP;
}

static GSocketFamily
engine_family (const char *family)
{
  return g_strcmp0 (family, "ipv6") == 0 ? G_SOCKET_FAMILY_IPV6 : G_SOCKET_FAMILY_IPV4;
}

/* The mappings of @lease the listener line is about: IPv4, or IPv6 for a lease that has
 * no IPv4 mapping; none unless the lease is active. */
static GPtrArray *
engine_listen_mappings (PlBrokerLease *lease)
{
  g_autoptr(GPtrArray) all = pl_engine_client_lease_mappings (lease);
  GPtrArray *found = g_ptr_array_new ();
  gboolean any_ipv4 = FALSE;

  if (g_strcmp0 (pl_broker_lease_get_state (lease), "active") != 0)
    return found;
  for (guint i = 0; i < all->len; i++)
    if (g_strcmp0 (((PlEngineMapping *) g_ptr_array_index (all, i))->family, "ipv6") != 0)
      any_ipv4 = TRUE;
  g_ptr_array_set_free_func (found, (GDestroyNotify) pl_engine_mapping_free);
  for (guint i = 0; i < all->len; i++)
    {
      PlEngineMapping *mapping = g_ptr_array_index (all, i);

      if ((g_strcmp0 (mapping->family, "ipv6") == 0) == any_ipv4)
        continue;
      g_ptr_array_add (found, g_ptr_array_steal_index (all, i));
      i--;
    }
  return found;
}

/* As listener_state() for the engine's lease of @profile: who listens on its port, NULL
 * when not known yet or when the line has more urgent news (the router gave another
 * port than the one asked for, the lease has an error). */
static char *
engine_listener_state (PlTrayMenu    *self,
                       PlProfile     *profile,
                       PlBrokerLease *lease)
{
  g_autoptr(GPtrArray) mappings = NULL;
  g_autoptr(GArray) answers = NULL;
  const char *message = NULL;
  GVariant *error = pl_broker_lease_get_error (lease);
  guint requested = pl_profile_get_external_port (profile);

  if (!self->listen_check)
    return NULL;
  if (error != NULL)
    g_variant_get (error, "(&s&s)", NULL, &message);
  if (message != NULL && message[0] != '\0')
    return NULL;
  if (requested == 0)
    requested = pl_profile_get_internal_port (profile);
  mappings = engine_listen_mappings (lease);
  if (mappings->len == 0)
    return NULL;
  answers = g_array_new (FALSE, TRUE, sizeof (PlListenAnswer));
  for (guint i = 0; i < mappings->len; i++)
    {
      PlEngineMapping *mapping = g_ptr_array_index (mappings, i);
      const PlListenAnswer *answer;

      if (!pl_profile_get_any_external_port (profile) && mapping->external_port != requested)
        return NULL;
      answer = pl_listener_cache_lookup (self->listeners, engine_protocol (mapping->protocol),
                                         engine_family (mapping->family),
                                         pl_broker_lease_get_internal_port (lease));
      if (answer == NULL)
        return NULL;
      g_array_append_val (answers, *answer);   /* borrowed strings: no clear func */
    }
  return pl_tray_menu_describe_listener (profile, (PlListenAnswer *) (gpointer) answers->data,
                                         answers->len);
}

/* For the window: where the lease's port is also open as an IPv6 pinhole, as
 * pl_tray_menu_describe_pinholes() says it for the tray's own engine. */
static char *
engine_pinhole_detail (PlBrokerLease *lease)
{
  g_autoptr(GPtrArray) mappings = pl_engine_client_lease_mappings (lease);

  for (guint i = 0; i < mappings->len; i++)
    {
      PlEngineMapping *mapping = g_ptr_array_index (mappings, i);

      if (g_strcmp0 (mapping->family, "ipv6") == 0 && mapping->external_address != NULL &&
          mapping->external_address[0] != '\0')
        return g_strdup_printf (_("Also open on [%s]:%u (IPv6)"), mapping->external_address,
                                mapping->external_port != 0
                                  ? mapping->external_port
                                  : pl_broker_lease_get_internal_port (lease));
    }
  return NULL;
}

/* Under a profile whose IPv4 port is open: why the router did not open its IPv6 pinholes
 * (Lease.PinholeError), the line pl_tray_menu_describe_pinholes() writes for the tray's
 * own engine. */
static void
add_engine_pinhole_error (GPtrArray     *items,
                          const char    *profile_name,
                          PlBrokerLease *lease)
{
  const char *message = pl_engine_client_get_pinhole_error (lease);
  g_autofree char *id = NULL;
  g_autofree char *label = NULL;

  if (message == NULL)
    return;
  id = g_strconcat ("profile-ipv6:", profile_name, NULL);
  label = g_strdup_printf (_("IPv6: %s"), message[0] != '\0' ? message : _("unknown error"));
  add_item (items, PL_TRAY_ITEM_LABEL, id, label, NULL, NULL);
}

/* The listen queries for the engine's active profile leases (see listen_queries()). */
static void
add_engine_listen_queries (PlTrayMenu *self,
                           GArray     *queries)
{
  guint n_profiles = g_list_model_get_n_items (G_LIST_MODEL (self->store));

  for (guint i = 0; i < n_profiles; i++)
    {
      g_autoptr(PlProfile) profile = g_list_model_get_item (G_LIST_MODEL (self->store), i);
      g_autoptr(PlBrokerLease) lease = NULL;
      g_autoptr(GPtrArray) mappings = NULL;

      if (!pl_profile_get_enabled (profile))
        continue;
      lease = pl_engine_client_get_profile_lease (self->engine, pl_profile_get_name (profile));
      if (lease == NULL)
        continue;
      mappings = engine_listen_mappings (lease);
      for (guint j = 0; j < mappings->len; j++)
        {
          PlEngineMapping *mapping = g_ptr_array_index (mappings, j);
          PlListenQuery query = { engine_protocol (mapping->protocol),
                                  engine_family (mapping->family),
                                  pl_broker_lease_get_internal_port (lease) };

          g_array_append_val (queries, query);
        }
    }
}

/**
 * pl_tray_menu_describe_waiting:
 * @waiting: why the engine keeps an enabled profile off (Profile.Waiting), not empty
 * @detail: (out) (optional) (nullable): the whole reason when the line says it short
 *
 * The menu line of a profile the engine keeps off: the reason itself, or, when it is too
 * long for the menu, what comes before its remark in brackets ("Waiting for qBittorrent to
 * start (there is no systemd user manager)" says "Waiting for qBittorrent to start…"),
 * else the reason shortened as any menu line is.
 *
 * Returns: (transfer full): at most %PL_TRAY_MENU_MAX_CHARS characters
 */
char *
pl_tray_menu_describe_waiting (const char  *waiting,
                               char       **detail)
{
  const char *remark;
  g_autofree char *head = NULL;

  g_return_val_if_fail (waiting != NULL, NULL);

  if (detail != NULL)
    *detail = NULL;
  if (g_utf8_strlen (waiting, -1) <= PL_TRAY_MENU_MAX_CHARS)
    return g_strdup (waiting);
  if (detail != NULL)
    *detail = g_strdup (waiting);
  remark = strstr (waiting, " (");
  if (remark != NULL && remark != waiting)
    {
      head = g_strndup (waiting, (gsize) (remark - waiting));
      if (g_utf8_strlen (head, -1) < PL_TRAY_MENU_MAX_CHARS)
        return g_strconcat (head, "…", NULL);
    }
  return ellipsize (waiting, PL_TRAY_MENU_MAX_CHARS);
}

/* The menu as the engine's client: the same lines as the session's, from the engine's
 * Manager, Profile and Lease objects, and a line for each lease another program holds. */
static void
build_engine_items (PlTrayMenu *self,
                    GPtrArray  *items)
{
  const char *gateway = pl_engine_client_get_gateway (self->engine);
  const char *address = pl_engine_client_get_external_address (self->engine);
  const char *address6 = pl_engine_client_get_ipv6_address (self->engine);
  const char *method = engine_method_label (pl_engine_client_get_method (self->engine));
  guint n_profiles = g_list_model_get_n_items (G_LIST_MODEL (self->store));
  guint n_enabled = 0;
  GList *leases;

  if (!pl_engine_client_get_running (self->engine))
    add_item (items, PL_TRAY_ITEM_LABEL, "engine", _("Portlight’s engine stopped"), NULL, NULL);
  if (address != NULL)
    {
      g_autofree char *label = g_strdup_printf (_("Public address %s"), address);

      add_item (items, PL_TRAY_ITEM_ACTION, "address", label, "copy-text",
                g_variant_new_string (address));
    }
  else if (gateway != NULL)
    add_item (items, PL_TRAY_ITEM_LABEL, "address", _("Public address: asking the router…"),
              NULL, NULL);
  else
    add_item (items, PL_TRAY_ITEM_LABEL, "address", _("Public address unknown"), NULL, NULL);

  if (address6 != NULL)
    {
      g_autofree char *label = g_strdup_printf (_("IPv6 address %s"), address6);

      add_item (items, PL_TRAY_ITEM_LABEL, "address6", label, NULL, NULL);
    }

  if (gateway != NULL)
    {
      g_autofree char *label = method != NULL ? g_strdup_printf (_("Router %s · %s"), gateway,
                                                                 method)
                                              : g_strdup_printf (_("Router %s"), gateway);

      add_item (items, PL_TRAY_ITEM_LABEL, "router", label, NULL, NULL);
    }
  else
    add_item (items, PL_TRAY_ITEM_LABEL, "router", _("No router found"), NULL, NULL);

  if (pl_engine_client_get_double_nat (self->engine) && address6 != NULL)
    {
      g_autofree char *detail =
        g_strdup_printf (_("Double NAT: the router’s public address %s is private, "
                           "so IPv4 forwarding cannot reach the Internet; the ports "
                           "are reachable over IPv6 at %s"),
                         address != NULL ? address : "?", address6);

      add_item_full (items, PL_TRAY_ITEM_LABEL, "double-nat",
                     _("Double NAT: the ports are reachable over IPv6 only"), detail, NULL,
                     NULL);
    }
  else if (pl_engine_client_get_double_nat (self->engine))
    {
      g_autofree char *detail =
        g_strdup_printf (_("Warning: double NAT. The router’s public address %s is "
                           "private, so ports may stay closed to the Internet"),
                         address != NULL ? address : "?");

      add_item_full (items, PL_TRAY_ITEM_LABEL, "double-nat",
                     _("Double NAT: ports may stay closed to the Internet"), detail, NULL, NULL);
    }

  add_separator (items);

  for (guint i = 0; i < n_profiles; i++)
    {
      g_autoptr(PlProfile) profile = g_list_model_get_item (G_LIST_MODEL (self->store), i);
      const char *name = pl_profile_get_name (profile);
      g_autofree char *id = g_strconcat ("profile:", name, NULL);
      g_autofree char *state_id = g_strconcat ("profile-state:", name, NULL);
      g_autofree char *label = menu_profile_label (profile);
      g_autoptr(PlBrokerLease) lease = NULL;
      g_autofree char *state = NULL;
      g_autofree char *waiting = NULL;
      PlTrayItem *item;

      item = add_item (items, PL_TRAY_ITEM_CHECK, id, label, "toggle-profile",
                       g_variant_new_string (name));
      item->active = pl_profile_get_enabled (profile);
      if (!pl_profile_get_enabled (profile))
        continue;
      n_enabled++;
      waiting = pl_engine_client_dup_waiting (self->engine, name);
      if (waiting != NULL)
        {
          /* Why the engine keeps it off: a short line, the whole reason in the window. */
          g_autofree char *detail = NULL;
          g_autofree char *line = pl_tray_menu_describe_waiting (waiting, &detail);

          add_item_full (items, PL_TRAY_ITEM_LABEL, state_id, line, detail, NULL, NULL);
          continue;
        }
      lease = pl_engine_client_get_profile_lease (self->engine, name);
      if (lease != NULL)
        {
          g_autofree char *detail = NULL;

          /* Refused by the router: short, with the likely cause; the fix in the window. */
          state = describe_engine_refusal (lease, &detail);
          if (state != NULL)
            {
              add_item_full (items, PL_TRAY_ITEM_LABEL, state_id, state, detail, NULL, NULL);
              continue;
            }
          state = engine_listener_state (self, profile, lease);
        }
      if (state == NULL)
        state = lease != NULL ? pl_engine_client_describe_lease (lease)
                              : g_strdup (_("Waiting for the router…"));
      if (lease != NULL && g_strcmp0 (pl_broker_lease_get_state (lease), "active") == 0)
        {
          g_autofree char *pinhole = engine_pinhole_detail (lease);

          add_item_full (items, PL_TRAY_ITEM_LABEL, state_id, state, pinhole, NULL, NULL);
          add_engine_pinhole_error (items, name, lease);
          add_engine_copy_items (items, name, address, lease);
        }
      else
        {
          add_item (items, PL_TRAY_ITEM_LABEL, state_id, state, NULL, NULL);
          if (lease != NULL)
            add_engine_pinhole_error (items, name, lease);
        }
    }
  if (n_profiles == 0)
    add_item (items, PL_TRAY_ITEM_LABEL, "no-profiles", _("No profiles yet"), NULL, NULL);

  /* Other programs' leases: "Transmission holds TCP 51413". */
  leases = pl_engine_client_list_app_leases (self->engine);
  for (GList *l = leases; l != NULL; l = l->next)
    {
      g_autofree char *label = pl_engine_client_describe_app_lease (l->data);
      g_autofree char *id = g_strconcat ("lease:",
                                         g_dbus_proxy_get_object_path (l->data), NULL);

      add_item (items, PL_TRAY_ITEM_LABEL, id, label, NULL, NULL);
    }
  g_list_free_full (leases, g_object_unref);

  if (n_enabled > 0 && gateway != NULL)
    add_item (items, PL_TRAY_ITEM_ACTION, "republish", _("Re-publish All Ports"), "republish",
              NULL);
}

/* Why the session here keeps the enabled profile @name off (its App= does not run, this is
 * not its Network=): the reason of the engine's model the session maps, NULL when it does
 * not wait or the session maps the profiles as they are. */
static char *
session_waiting (PlTrayMenu *self,
                 const char *name)
{
  GListModel *profiles = pl_session_get_profiles (self->session);

  if (name == NULL || !PL_IS_APP_PROFILES (profiles))
    return NULL;
  return pl_app_profiles_dup_reason (PL_APP_PROFILES (profiles), name);
}

static void
compute_state (PlTrayMenu *self)
{
  guint n_failed = 0, n_pending = 0, n_active = 0;

  /* The primary's mappings, then the other gateways' (Gateway=). */
  for (guint s = 0, i = 0; s <= self->others->len; )
    {
      PlSession *session = session_at (self, s);
      GListModel *mappings = pl_session_get_mappings (session);
      g_autoptr(PlMapping) mapping = NULL;
      PlProfile *profile;
      g_autofree char *waiting = NULL;
      const GError *error;

      if (i >= g_list_model_get_n_items (mappings))
        {
          s++;
          i = 0;
          continue;
        }
      mapping = g_list_model_get_item (mappings, i++);
      profile = pl_profile_store_lookup (self->store, pl_mapping_get_profile_name (mapping));
      if (profile == NULL || !pl_profile_get_enabled (profile))
        continue;
      /* Waiting for its application or network is not contacting the router. */
      waiting = session_waiting (self, pl_profile_get_name (profile));
      if (waiting != NULL)
        continue;
      /* Nor is a Gateway=vpn profile's wait for a tunnel. */
      error = pl_mapping_get_error (mapping);
      if (s > 0 && g_error_matches (error, PL_ERROR, PL_ERROR_NO_GATEWAY))
        continue;

      switch (pl_mapping_get_state (mapping))
        {
        case PL_MAPPING_STATE_FAILED:
          n_failed++;
          break;
        case PL_MAPPING_STATE_MAPPING:
        case PL_MAPPING_STATE_DISABLED:
          n_pending++;
          break;
        case PL_MAPPING_STATE_ACTIVE:
          n_active++;
          break;
        default:
          g_assert_not_reached ();
        }
    }

  if (self->engine != NULL)
    {
      compute_engine_state (self);
      return;
    }

  g_clear_pointer (&self->description, g_free);

  if (self->engine_note != NULL)
    {
      self->state = PL_TRAY_STATE_IDLE;
      self->description = g_strdup (self->engine_note);
    }
  else if (pl_session_get_gateway (self->session) == NULL)
    {
      self->state = PL_TRAY_STATE_NO_GATEWAY;
      self->description = g_strdup (_("No router found"));
    }
  else if (n_failed > 0)
    {
      self->state = PL_TRAY_STATE_ERROR;
      self->description = g_strdup_printf (ngettext ("%u port mapping failed",
                                                     "%u port mappings failed", n_failed),
                                           n_failed);
    }
  else if (n_pending > 0 || pl_session_get_external_address (self->session) == NULL)
    {
      self->state = PL_TRAY_STATE_BUSY;
      self->description = g_strdup (_("Contacting the router…"));
    }
  else if (n_active == 0)
    {
      self->state = PL_TRAY_STATE_IDLE;
      self->description = g_strdup (_("Connected to the router, no ports open"));
    }
  else
    {
      self->state = PL_TRAY_STATE_ACTIVE;
      self->description = g_strdup_printf (ngettext ("%u port open", "%u ports open", n_active),
                                           n_active);
    }
}

static void
build_items (PlTrayMenu *self)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_tray_item_free);
  g_autoptr(GDateTime) now = self->now_func (self->now_data);
  gint64 clock_now = pl_clock_get_time (pl_session_get_clock (self->session));
  GInetAddress *gateway = pl_session_get_gateway (self->session);
  const char *address = pl_session_get_external_address (self->session);
  const char *address6 = pl_session_get_ipv6_address (self->session);
  GPtrArray *problems = pl_profile_store_get_problems (self->store);
  guint n_profiles = g_list_model_get_n_items (G_LIST_MODEL (self->store));
  guint n_enabled = 0;
  PlTrayItem *item;

  if (self->engine != NULL)
    {
      build_engine_items (self, items);
      add_common_items (self, items);
      g_clear_pointer (&self->items, g_ptr_array_unref);
      self->items = g_steal_pointer (&items);
      return;
    }
  if (self->engine_note != NULL)
    {
      /* Another engine keeps the ports: this session maps nothing, so it has nothing to
       * say about the router. */
      add_item (items, PL_TRAY_ITEM_LABEL, "engine", self->engine_note, NULL, NULL);
      gateway = NULL;
      address = NULL;
    }
  /* Where we stand on the Internet. */
  else if (address != NULL)
    {
      g_autofree char *label = g_strdup_printf (_("Public address %s"), address);

      add_item (items, PL_TRAY_ITEM_ACTION, "address", label, "copy-address", NULL);
    }
  else if (gateway != NULL && self->state != PL_TRAY_STATE_ERROR)
    add_item (items, PL_TRAY_ITEM_LABEL, "address", _("Public address: asking the router…"),
              NULL, NULL);
  else
    add_item (items, PL_TRAY_ITEM_LABEL, "address", _("Public address unknown"), NULL, NULL);

  if (address6 != NULL && self->engine_note == NULL)
    {
      /* TRANSLATORS: this computer's IPv6 address, where its pinholes are open */
      g_autofree char *label = g_strdup_printf (_("IPv6 address %s"), address6);

      add_item (items, PL_TRAY_ITEM_LABEL, "address6", label, NULL, NULL);
    }

  if (self->engine_note != NULL)
    ;
  else if (gateway != NULL)
    {
      g_autofree char *text = g_inet_address_to_string (gateway);
      const char *protocol = pl_session_get_protocol_name (self->session);
      g_autofree char *label = NULL;

      if (protocol != NULL)
        /* TRANSLATORS: the router's address and the protocol spoken to it ("PCP" or
         * "NAT-PMP"): "Router 192.168.1.1 · PCP" */
        label = g_strdup_printf (_("Router %s · %s"), text, protocol);
      else
        /* TRANSLATORS: the router's address, while it is not known yet which protocol it
         * speaks */
        label = g_strdup_printf (_("Router %s"), text);

      add_item (items, PL_TRAY_ITEM_LABEL, "router", label, NULL, NULL);
    }
  else
    add_item (items, PL_TRAY_ITEM_LABEL, "router", _("No router found"), NULL, NULL);

  if (self->engine_note == NULL && pl_session_get_double_nat (self->session))
    {
      g_autofree char *detail = NULL;
      const char *label;

      if (address6 != NULL)
        {
          detail = g_strdup_printf (_("Double NAT: the router’s public address %s is private, "
                                      "so IPv4 forwarding cannot reach the Internet; the ports "
                                      "are reachable over IPv6 at %s"),
                                    address != NULL ? address : "?", address6);
          /* TRANSLATORS: tray menu line (keep it short); the window says it at length */
          label = _("Double NAT: the ports are reachable over IPv6 only");
        }
      else
        {
          detail = g_strdup_printf (_("Warning: double NAT. The router’s public address %s is "
                                      "private, so ports may stay closed to the Internet"),
                                    address != NULL ? address : "?");
          /* TRANSLATORS: tray menu line (keep it short); the window says it at length */
          label = _("Double NAT: ports may stay closed to the Internet");
        }
      add_item_full (items, PL_TRAY_ITEM_LABEL, "double-nat", label, detail, NULL, NULL);
    }

  if (problems->len > 0)
    {
      g_autofree char *label = NULL;

      label = g_strdup_printf (ngettext ("%u problem in the profiles file: Edit Profiles…",
                                         "%u problems in the profiles file: Edit Profiles…",
                                         problems->len),
                               problems->len);
      add_item (items, PL_TRAY_ITEM_ACTION, "problems", label, "edit-profiles", NULL);
    }

  add_separator (items);

  for (guint i = 0; i < n_profiles; i++)
    {
      g_autoptr(PlProfile) profile = g_list_model_get_item (G_LIST_MODEL (self->store), i);
      g_autoptr(GPtrArray) mappings = mappings_of (self, pl_profile_get_name (profile),
                                                   G_SOCKET_FAMILY_IPV4);
      g_autoptr(GPtrArray) pinholes = mappings_of (self, pl_profile_get_name (profile),
                                                   G_SOCKET_FAMILY_IPV6);
      g_autofree char *id = g_strconcat ("profile:", pl_profile_get_name (profile), NULL);
      g_autofree char *state_id = g_strconcat ("profile-state:", pl_profile_get_name (profile),
                                               NULL);
      g_autofree char *label = menu_profile_label (profile);
      g_autofree char *state = NULL;
      g_autofree char *state_detail = NULL;
      g_autofree char *waiting = NULL;

      item = add_item (items, PL_TRAY_ITEM_CHECK, id, label, "toggle-profile",
                       g_variant_new_string (pl_profile_get_name (profile)));
      item->active = pl_profile_get_enabled (profile);
      if (self->engine_note != NULL)
        continue;
      if (pl_profile_get_enabled (profile) &&
          (waiting = session_waiting (self, pl_profile_get_name (profile))) != NULL)
        {
          /* As the engine's client says it: the reason, not the mapping's state. */
          g_autofree char *detail = NULL;
          g_autofree char *line = pl_tray_menu_describe_waiting (waiting, &detail);

          add_item_full (items, PL_TRAY_ITEM_LABEL, state_id, line, detail, NULL, NULL);
          n_enabled++;
          continue;
        }

      /* An IPv6-only profile has no IPv4 line, but may say who listens. */
      if (mappings->len > 0 || pinholes->len == 0)
        state = listener_state (self, profile, mappings, now, clock_now, &state_detail);
      else
        state = listener_state (self, profile, pinholes, now, clock_now, &state_detail);
      if (state == NULL && (mappings->len > 0 || pinholes->len == 0))
        state = pl_tray_menu_describe_mappings (profile, mappings, now, clock_now,
                                                &state_detail);
      if (state != NULL)
        add_item_full (items, PL_TRAY_ITEM_LABEL, state_id, state, state_detail, NULL, NULL);
      if (pl_profile_get_enabled (profile))
        {
          g_autofree char *state6 = pl_tray_menu_describe_pinholes (pinholes);
          g_autofree char *state6_id = g_strconcat ("profile-ipv6:",
                                                    pl_profile_get_name (profile), NULL);

          if (state6 != NULL)
            add_item (items, PL_TRAY_ITEM_LABEL, state6_id, state6, NULL, NULL);
          g_ptr_array_extend_and_steal (items,
                                        pl_tray_menu_copy_items (pl_profile_get_name (profile),
                                                                 address, mappings, pinholes));
          n_enabled++;
        }
    }
  if (n_profiles == 0)
    add_item (items, PL_TRAY_ITEM_LABEL, "no-profiles", _("No profiles yet"), NULL, NULL);
  if (n_enabled > 0 && gateway != NULL)
    add_item (items, PL_TRAY_ITEM_ACTION, "republish", _("Re-publish All Ports"), "republish",
              NULL);

  add_common_items (self, items);

  g_clear_pointer (&self->items, g_ptr_array_unref);
  self->items = g_steal_pointer (&items);
}

/* The listen queries for the enabled profiles whose mappings are all active: IPv4, or
 * IPv6 for a profile with pinholes only. */
static GArray *
listen_queries (PlTrayMenu *self)
{
  GArray *queries = g_array_new (FALSE, TRUE, sizeof (PlListenQuery));
  guint n_profiles = g_list_model_get_n_items (G_LIST_MODEL (self->store));

  if (self->engine != NULL)
    {
      add_engine_listen_queries (self, queries);
      return queries;
    }

  for (guint i = 0; i < n_profiles; i++)
    {
      g_autoptr(PlProfile) profile = g_list_model_get_item (G_LIST_MODEL (self->store), i);
      g_autoptr(GPtrArray) mappings = NULL;

      if (!pl_profile_get_enabled (profile))
        continue;
      mappings = mappings_of (self, pl_profile_get_name (profile), G_SOCKET_FAMILY_IPV4);
      if (mappings->len == 0)
        {
          g_ptr_array_unref (mappings);
          mappings = mappings_of (self, pl_profile_get_name (profile), G_SOCKET_FAMILY_IPV6);
        }
      if (!mappings_all_active (mappings))
        continue;
      for (guint j = 0; j < mappings->len; j++)
        {
          PlMapping *mapping = g_ptr_array_index (mappings, j);
          PlListenQuery query = { pl_mapping_get_protocol (mapping),
                                  pl_mapping_get_family (mapping),
                                  (guint16) pl_mapping_get_internal_port (mapping) };

          g_array_append_val (queries, query);
        }
    }
  return queries;
}

/**
 * pl_tray_menu_check_listeners:
 * @self: a #PlTrayMenu
 *
 * Asks again who listens on the active profiles' ports (the menu is about to be shown);
 * the items follow when the answer comes. Does nothing unless
 * pl_tray_menu_set_listen_check() turned the check on.
 */
void
pl_tray_menu_check_listeners (PlTrayMenu *self)
{
  g_autoptr(GArray) queries = NULL;

  g_return_if_fail (PL_IS_TRAY_MENU (self));

  if (!self->listen_check)
    return;
  queries = listen_queries (self);
  pl_listener_cache_check (self->listeners, (PlListenQuery *) (gpointer) queries->data,
                           queries->len, TRUE);
}

/* After a rebuild: a check when the set of active ports changed (a mapping became active,
 * went away), so the lines do not wait for the next look at the menu. */
static void
check_listeners_if_changed (PlTrayMenu *self)
{
  g_autoptr(GArray) queries = NULL;

  if (!self->listen_check)
    return;
  queries = listen_queries (self);
  pl_listener_cache_check (self->listeners, (PlListenQuery *) (gpointer) queries->data,
                           queries->len, FALSE);
}

void
pl_tray_menu_set_listen_check (PlTrayMenu *self,
                               gboolean    listen_check)
{
  g_return_if_fail (PL_IS_TRAY_MENU (self));

  if (self->listen_check == !!listen_check)
    return;
  self->listen_check = !!listen_check;
  if (!listen_check)
    pl_listener_cache_clear (self->listeners);
  queue_update (self);
}

void
pl_tray_menu_update (PlTrayMenu *self)
{
  g_return_if_fail (PL_IS_TRAY_MENU (self));

  g_clear_handle_id (&self->idle_id, g_source_remove);
  compute_state (self);
  build_items (self);
  check_listeners_if_changed (self);
}

static gboolean
update_idle_cb (gpointer user_data)
{
  PlTrayMenu *self = user_data;

  self->idle_id = 0;
  pl_tray_menu_update (self);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return G_SOURCE_REMOVE;
}

static void
queue_update (PlTrayMenu *self)
{
  if (self->idle_id == 0)
    {
      self->idle_id = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, update_idle_cb, self, NULL);
      g_source_set_name_by_id (self->idle_id, "[portlight] tray menu update");
    }
}

static void
changed_cb (PlTrayMenu *self)
{
  queue_update (self);
}

static void
unwatch_profiles (PlTrayMenu *self)
{
  for (guint i = 0; i < self->watched->len; i++)
    g_signal_handlers_disconnect_by_data (g_ptr_array_index (self->watched, i), self);
  g_ptr_array_set_size (self->watched, 0);
}

static void
watch_profiles (PlTrayMenu *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->store));

  unwatch_profiles (self);
  for (guint i = 0; i < n; i++)
    {
      PlProfile *profile = g_list_model_get_item (G_LIST_MODEL (self->store), i);

      g_signal_connect_swapped (profile, "notify", G_CALLBACK (changed_cb), self);
      g_ptr_array_add (self->watched, profile);
    }
}

static void
profiles_changed_cb (PlTrayMenu *self)
{
  watch_profiles (self);
  queue_update (self);
}

static void
watch_session (PlTrayMenu *self)
{
  PlSession *session = self->session;

  g_signal_connect_object (session, "mapping-changed", G_CALLBACK (changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (session, "external-address-changed", G_CALLBACK (changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (session, "double-nat-changed", G_CALLBACK (changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (session, "gateway-changed", G_CALLBACK (changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (session, "router-reset", G_CALLBACK (changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (session, "notify::protocol-name", G_CALLBACK (changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (pl_session_get_mappings (session), "items-changed",
                           G_CALLBACK (changed_cb), self, G_CONNECT_SWAPPED);
  /* The reason a profile waits can change without its mapping changing (what stands in the
   * way of seeing its application start). */
  if (PL_IS_APP_PROFILES (pl_session_get_profiles (session)))
    g_signal_connect_object (pl_session_get_profiles (session), "app-changed",
                             G_CALLBACK (changed_cb), self, G_CONNECT_SWAPPED);
}

static void
unwatch_session (PlTrayMenu *self)
{
  g_signal_handlers_disconnect_by_data (self->session, self);
  g_signal_handlers_disconnect_by_data (pl_session_get_mappings (self->session), self);
  g_signal_handlers_disconnect_by_data (pl_session_get_profiles (self->session), self);
}

PlTrayMenu *
pl_tray_menu_new (PlSession      *session,
                  PlProfileStore *store)
{
  PlTrayMenu *self;

  g_return_val_if_fail (PL_IS_SESSION (session), NULL);
  g_return_val_if_fail (PL_IS_PROFILE_STORE (store), NULL);

  self = g_object_new (PL_TYPE_TRAY_MENU, NULL);
  self->session = g_object_ref (session);
  self->store = g_object_ref (store);

  watch_session (self);
  g_signal_connect_object (store, "items-changed", G_CALLBACK (profiles_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (store, "reloaded", G_CALLBACK (changed_cb), self,
                           G_CONNECT_SWAPPED);
  watch_profiles (self);
  pl_tray_menu_update (self);
  return self;
}

void
pl_tray_menu_set_session (PlTrayMenu *self,
                          PlSession  *session)
{
  g_return_if_fail (PL_IS_TRAY_MENU (self));
  g_return_if_fail (PL_IS_SESSION (session));

  if (self->session == session)
    return;
  unwatch_session (self);
  /* The other gateways' sessions belong with the primary. */
  for (guint i = 0; i < self->others->len; i++)
    {
      PlSession *other = g_ptr_array_index (self->others, i);

      g_signal_handlers_disconnect_by_data (other, self);
      g_signal_handlers_disconnect_by_data (pl_session_get_mappings (other), self);
    }
  g_ptr_array_set_size (self->others, 0);
  g_set_object (&self->session, session);
  watch_session (self);
  queue_update (self);
}

/**
 * pl_tray_menu_add_session:
 * @self: a #PlTrayMenu
 * @session: another session of the primary's group (pl-session-group.h)
 *
 * The profiles with a Gateway= of their own are mapped by their gateway's session: their
 * state lines come from it. The router and address lines stay the primary's. Until
 * pl_tray_menu_set_session() replaces the primary.
 */
void
pl_tray_menu_add_session (PlTrayMenu *self,
                          PlSession  *session)
{
  g_return_if_fail (PL_IS_TRAY_MENU (self));
  g_return_if_fail (PL_IS_SESSION (session));

  if (session == self->session || g_ptr_array_find (self->others, session, NULL))
    return;
  g_ptr_array_add (self->others, g_object_ref (session));
  g_signal_connect_object (session, "mapping-changed", G_CALLBACK (changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (session, "gateway-changed", G_CALLBACK (changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (pl_session_get_mappings (session), "items-changed",
                           G_CALLBACK (changed_cb), self, G_CONNECT_SWAPPED);
  queue_update (self);
}

GPtrArray *
pl_tray_menu_get_items (PlTrayMenu *self)
{
  g_return_val_if_fail (PL_IS_TRAY_MENU (self), NULL);
  return self->items;
}

PlTrayState
pl_tray_menu_get_state (PlTrayMenu *self)
{
  g_return_val_if_fail (PL_IS_TRAY_MENU (self), PL_TRAY_STATE_NO_GATEWAY);
  return self->state;
}

const char *
pl_tray_menu_get_description (PlTrayMenu *self)
{
  g_return_val_if_fail (PL_IS_TRAY_MENU (self), NULL);
  return self->description;
}

PlTrayItem *
pl_tray_menu_find_item (PlTrayMenu *self,
                        const char *id)
{
  g_return_val_if_fail (PL_IS_TRAY_MENU (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  for (guint i = 0; i < self->items->len; i++)
    {
      PlTrayItem *item = g_ptr_array_index (self->items, i);

      if (g_strcmp0 (item->id, id) == 0)
        return item;
    }
  return NULL;
}

void
pl_tray_menu_set_autostart (PlTrayMenu *self,
                            gboolean    autostart)
{
  g_return_if_fail (PL_IS_TRAY_MENU (self));

  if (self->autostart == !!autostart)
    return;
  self->autostart = !!autostart;
  queue_update (self);
}

void
pl_tray_menu_set_notifications (PlTrayMenu *self,
                                gboolean    notifications)
{
  g_return_if_fail (PL_IS_TRAY_MENU (self));

  if (self->notifications == !!notifications)
    return;
  self->notifications = !!notifications;
  queue_update (self);
}

void
pl_tray_menu_set_engine (PlTrayMenu     *self,
                         PlEngineClient *engine)
{
  g_return_if_fail (PL_IS_TRAY_MENU (self));
  g_return_if_fail (engine == NULL || PL_IS_ENGINE_CLIENT (engine));

  if (self->engine == engine)
    return;
  if (self->engine != NULL)
    g_signal_handlers_disconnect_by_data (self->engine, self);
  g_set_object (&self->engine, engine);
  if (engine != NULL)
    g_signal_connect_swapped (engine, "changed", G_CALLBACK (queue_update), self);
  queue_update (self);
}

PlEngineClient *
pl_tray_menu_get_engine (PlTrayMenu *self)
{
  g_return_val_if_fail (PL_IS_TRAY_MENU (self), NULL);
  return self->engine;
}

void
pl_tray_menu_set_engine_note (PlTrayMenu *self,
                              const char *note)
{
  g_return_if_fail (PL_IS_TRAY_MENU (self));

  if (g_strcmp0 (self->engine_note, note) == 0)
    return;
  g_free (self->engine_note);
  self->engine_note = g_strdup (note);
  queue_update (self);
}

void
pl_tray_menu_set_now_func (PlTrayMenu        *self,
                           PlTrayMenuNowFunc  func,
                           gpointer           user_data)
{
  g_return_if_fail (PL_IS_TRAY_MENU (self));

  self->now_func = func != NULL ? func : default_now;
  self->now_data = func != NULL ? user_data : NULL;
  queue_update (self);
}

static void
pl_tray_menu_dispose (GObject *object)
{
  PlTrayMenu *self = PL_TRAY_MENU (object);

  g_clear_handle_id (&self->idle_id, g_source_remove);
  if (self->listeners != NULL)
    g_signal_handlers_disconnect_by_data (self->listeners, self);
  g_clear_object (&self->listeners);
  if (self->watched != NULL)
    unwatch_profiles (self);
  if (self->engine != NULL)
    g_signal_handlers_disconnect_by_data (self->engine, self);
  g_clear_object (&self->engine);
  g_clear_pointer (&self->others, g_ptr_array_unref);
  g_clear_object (&self->session);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (pl_tray_menu_parent_class)->dispose (object);
}

static void
pl_tray_menu_finalize (GObject *object)
{
  PlTrayMenu *self = PL_TRAY_MENU (object);

  g_clear_pointer (&self->items, g_ptr_array_unref);
  g_clear_pointer (&self->watched, g_ptr_array_unref);
  g_free (self->description);
  g_free (self->engine_note);

  G_OBJECT_CLASS (pl_tray_menu_parent_class)->finalize (object);
}

static void
pl_tray_menu_class_init (PlTrayMenuClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_tray_menu_dispose;
  object_class->finalize = pl_tray_menu_finalize;

  /**
   * PlTrayMenu::changed:
   *
   * The items or the state changed; emitted once per burst of changes, from an idle.
   */
  signals[SIGNAL_CHANGED] =
    g_signal_new ("changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
pl_tray_menu_init (PlTrayMenu *self)
{
  self->items = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_tray_item_free);
  self->others = g_ptr_array_new_with_free_func (g_object_unref);
  self->watched = g_ptr_array_new_with_free_func (g_object_unref);
  self->listeners = pl_listener_cache_new ();
  g_signal_connect_swapped (self->listeners, "changed", G_CALLBACK (changed_cb), self);
  self->now_func = default_now;
  self->notifications = TRUE;
  self->description = g_strdup ("");
}
