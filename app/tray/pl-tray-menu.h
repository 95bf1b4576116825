/* pl-tray-menu.h: what the tray shows, computed from the session and the profiles (no GTK)
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-core.h"
#include "pl-engine-client.h"

G_BEGIN_DECLS

/**
 * PlTrayState:
 * @PL_TRAY_STATE_NO_GATEWAY: no router is known
 * @PL_TRAY_STATE_BUSY: contacting the router (public address or a mapping pending)
 * @PL_TRAY_STATE_IDLE: the router answers; no profile is enabled
 * @PL_TRAY_STATE_ACTIVE: every enabled mapping is active
 * @PL_TRAY_STATE_ERROR: at least one enabled mapping failed
 *
 * The overall state the tray icon shows at a glance.
 */
typedef enum
{
  PL_TRAY_STATE_NO_GATEWAY,
  PL_TRAY_STATE_BUSY,
  PL_TRAY_STATE_IDLE,
  PL_TRAY_STATE_ACTIVE,
  PL_TRAY_STATE_ERROR,
} PlTrayState;

/* Symbolic icon name of @state, e.g. "io.github.portlight.Portlight-active-symbolic". */
const char *pl_tray_state_get_icon_name (PlTrayState state);

/**
 * PlTrayItemKind:
 * @PL_TRAY_ITEM_SEPARATOR: a separator line
 * @PL_TRAY_ITEM_LABEL: text that cannot be activated
 * @PL_TRAY_ITEM_ACTION: activating it runs the item's action
 * @PL_TRAY_ITEM_CHECK: a check item; activating it runs the item's action
 */
typedef enum
{
  PL_TRAY_ITEM_SEPARATOR,
  PL_TRAY_ITEM_LABEL,
  PL_TRAY_ITEM_ACTION,
  PL_TRAY_ITEM_CHECK,
} PlTrayItemKind;

/**
 * PlTrayItem:
 * @kind: what kind of item
 * @id: a stable identifier ("address", "router", "double-nat", "problems", "profile:NAME",
 *   "profile-state:NAME", "profile-ipv6:NAME", "copy:NAME", "copy-ipv6:NAME", "republish",
 *   "add-profile", "edit-profiles", "autostart", "notifications",
 *   "quit", "separator")
 * @label: (nullable): the translated text, at most %PL_TRAY_MENU_MAX_CHARS characters
 * @detail: (nullable): the whole text when @label says it short (a refusal and its fix, an
 *   error message cut short): the profiles window shows it
 * @action: (nullable): name of an action of the application's action group
 * @target: (nullable): the action's parameter
 * @active: for check items: whether the check is shown
 *
 * One line of the tray menu.
 */
typedef struct
{
  PlTrayItemKind  kind;
  char           *id;
  char           *label;
  char           *detail;
  char           *action;
  GVariant       *target;
  gboolean        active;
} PlTrayItem;

/* The longest menu line, in characters: a longer text is shortened, and kept whole in the
 * item's detail for the window. Panels make the menu as wide as its longest line. */
#define PL_TRAY_MENU_MAX_CHARS 60

void        pl_tray_item_free     (PlTrayItem *item);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlTrayItem, pl_tray_item_free)

/* Returns: a newly allocated local time, "now". */
typedef GDateTime *(*PlTrayMenuNowFunc) (gpointer user_data);

#define PL_TYPE_TRAY_MENU (pl_tray_menu_get_type ())

G_DECLARE_FINAL_TYPE (PlTrayMenu, pl_tray_menu, PL, TRAY_MENU, GObject)

/**
 * PlTrayMenu:
 *
 * The contents of the tray menu and the overall state, computed from a [class@Pl.Session]
 * and its [class@Pl.ProfileStore]. It follows every signal of the session and every change
 * of the profiles, and emits `changed` once, from an idle, for each burst of changes: the
 * user interface rebuilds then and never polls.
 *
 * The router line names the protocol once the session speaks one ("Router 192.168.1.1 ·
 * PCP"), following `notify::protocol-name`.
 *
 * An enabled profile that is kept off for its application or network (App=, Network=) has
 * the reason as its state line ("Only on network ‘home’"; pl_tray_menu_describe_waiting()):
 * from the engine's Profile.Waiting as its client, else from the session's model when that
 * is a [class@Pl.AppProfiles] (following its `app-changed`).
 *
 * Items name actions of the application ("copy-address", "copy-text" with the text,
 * "republish", "toggle-profile" with the profile name, "add-profile", "edit-profiles", "autostart", "notifications", "quit").
 *
 * Threading: belongs to the thread-default main context of its session.
 */

PlTrayMenu  *pl_tray_menu_new                   (PlSession         *session,
                                                 PlProfileStore    *store);

/* Follows @session from now on instead of the one it had (the application replaces its
 * session when the protocol setting changes); the items follow from an idle. */
void         pl_tray_menu_set_session           (PlTrayMenu        *self,
                                                 PlSession         *session);
void         pl_tray_menu_add_session           (PlTrayMenu        *self,
                                                 PlSession         *session);
/* Returns: (transfer none) (element-type PlTrayItem): the current items, top to bottom. */
GPtrArray   *pl_tray_menu_get_items             (PlTrayMenu        *self);
PlTrayState  pl_tray_menu_get_state             (PlTrayMenu        *self);
/* A translated sentence for screen readers and the tooltip, e.g. "2 ports open". */
const char  *pl_tray_menu_get_description       (PlTrayMenu        *self);
/* Returns: (transfer none) (nullable): the item with @id. */
PlTrayItem  *pl_tray_menu_find_item             (PlTrayMenu        *self,
                                                 const char        *id);

void         pl_tray_menu_set_autostart         (PlTrayMenu        *self,
                                                 gboolean           autostart);
void         pl_tray_menu_set_notifications     (PlTrayMenu        *self,
                                                 gboolean           notifications);
/* Computes the items now instead of from the idle (tests, first display). */
void         pl_tray_menu_update                (PlTrayMenu        *self);
/* Whether the profile lines say who listens on their ports ("Active · sshd listens"),
 * from pl_listen_check_async(): off by default (tests); the application turns it on. The
 * check runs when the set of active ports changes and on pl_tray_menu_check_listeners(),
 * never on a timer. */
void         pl_tray_menu_set_listen_check      (PlTrayMenu        *self,
                                                 gboolean           listen_check);
/* Checks again now (the menu is about to be shown); the items follow from an idle. */
void         pl_tray_menu_check_listeners       (PlTrayMenu        *self);
/* As the engine's client: the address, router and profile state lines come from @engine
 * (its Manager and the profiles' leases), and other programs' leases get a line each
 * ("Transmission holds TCP 51413"); the session is not read. NULL: the session again. */
void         pl_tray_menu_set_engine            (PlTrayMenu        *self,
                                                 PlEngineClient    *engine);
/* Returns: (transfer none) (nullable): the engine this tray is the client of. */
PlEngineClient *pl_tray_menu_get_engine (PlTrayMenu     *self);
/* While another engine keeps the ports (the session here maps nothing): @note is the first
 * line and the description, and the router, address and profile state lines are left out;
 * the profiles' check items stay. NULL: the session's lines again. */
void         pl_tray_menu_set_engine_note       (PlTrayMenu        *self,
                                                 const char        *note);
/* Tests: where "now" comes from for "renews at 14:32" (default: the local time). */
void         pl_tray_menu_set_now_func          (PlTrayMenu        *self,
                                                 PlTrayMenuNowFunc  func,
                                                 gpointer           user_data);

/* Pure helpers, also used by the profile window. */

/* "SSH — TCP 22 → 2222" (or "SSH — TCP 22" when the public port is the same). */
char        *pl_tray_menu_format_profile        (PlProfile         *profile);
/* "TCP 22 → 2222" (or "TCP+UDP 22"). */
char        *pl_tray_menu_format_ports          (PlProfile         *profile);
/* What an enabled profile's mappings are doing ("Active · renews at 14:32", "Failed: …",
 * "Refused by the router (port 22 is below 1024)"); NULL for a disabled profile. @mappings
 * holds its PlMapping objects (one or two). @now is the local time matching @clock_now
 * (microseconds on the session's clock). @detail: (out) (optional) (nullable): the whole
 * story for the window when the line says it short (a refusal: the router's message, the
 * likely cause and the fix), else NULL. The line itself may still be longer than
 * PL_TRAY_MENU_MAX_CHARS (a long error message): the menu shortens it. */
char        *pl_tray_menu_describe_pinholes     (GPtrArray         *mappings);
/* The "Copy 84.17.2.3:8080" (and "Copy [2001:db8::10]:8080") items of a profile's active
 * mappings and pinholes. */
GPtrArray   *pl_tray_menu_copy_items            (const char        *profile_name,
                                                 const char        *address,
                                                 GPtrArray         *mappings,
                                                 GPtrArray         *pinholes);
/* "Active · nothing listens on port 8080 yet", "Active · sshd listens": @answers, one per
 * protocol of @profile, say who listens on its port. */
char        *pl_tray_menu_describe_listener     (PlProfile            *profile,
                                                 const PlListenAnswer *answers,
                                                 guint                 n_answers);
char        *pl_tray_menu_describe_mappings     (PlProfile         *profile,
                                                 GPtrArray         *mappings,
                                                 GDateTime         *now,
                                                 gint64             clock_now,
                                                 char             **detail);
/* The line of a profile the engine keeps off (its Profile.Waiting, e.g. "Waiting for
 * qBittorrent to start", "Only on network ‘home’"), at most PL_TRAY_MENU_MAX_CHARS long;
 * @detail: (out) (optional) (nullable): the whole reason when the line is shorter. */
char        *pl_tray_menu_describe_waiting      (const char        *waiting,
                                                 char             **detail);

G_END_DECLS
