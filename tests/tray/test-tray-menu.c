/* test-tray-menu.c: the tray's menu, state, notifications, autostart and settings logic,
 * without a display, against the in-process fake gateway on virtual time
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>
#include <unistd.h>

#include "pl-app-profiles.h"
#include "pl-core.h"
#include "pl-fake-gateway.h"
#include "pl-mapping-private.h"

#include "pl-autostart.h"
#include "pl-icon-path.h"
#include "pl-listener-cache.h"
#include "pl-notifier.h"
#include "pl-settings.h"
#include "pl-tray-menu.h"
#include "pl-test-gupnp.h"

/* Each test that talks to a gateway has its own 127.0.45.N (N passed as test data; another
 * 127.R.45.N if a concurrent run holds it), so the tests run in parallel with each other and
 * with other test programs. The clock is virtual
 * with auto-advance: times below are exact. "Now" for "renews at" is 2026-01-01 12:00 UTC
 * at clock time 0. */

#define SECONDS(s) ((gint64) (s) * G_USEC_PER_SEC)

typedef struct
{
  PlClock        *clock;
  PlFakeGateway  *gateway;
  PlProfileStore *store;
  PlSession      *session;
  PlTrayMenu     *menu;
  PlNotifier     *notifier;
  PlSettings     *settings;    /* nullable: applied to the session by fixture_start */
  char           *address;
  guint           guard_id;
  guint           n_changed;
  GPtrArray      *sent;        /* char*: "title|body" */
} Fixture;

static const char *profiles_ini =
  "[SSH]\n"
  "Protocol=tcp\n"
  "InternalPort=22\n"
  "ExternalPort=2222\n"
  "Enabled=true\n"
  "\n"
  "[Games]\n"
  "Protocol=both\n"
  "InternalPort=27015\n"
  "Enabled=false\n";

static gboolean
guard_cb (gpointer user_data)
{
  g_error ("Test did not finish within 30 s of real time");
  return G_SOURCE_REMOVE;
}

static GDateTime *
fixed_now (gpointer user_data)
{
  Fixture *f = user_data;
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr(GDateTime) base = g_date_time_new (utc, 2026, 1, 1, 12, 0, 0);

  return g_date_time_add (base, pl_clock_get_time (f->clock));
}

static void
changed_cb (PlTrayMenu *menu,
            Fixture    *f)
{
  f->n_changed++;
}

static void
send_cb (const char    *id,
         GNotification *notification,
         const char    *title,
         const char    *body,
         gpointer       user_data)
{
  Fixture *f = user_data;

  g_assert_cmpstr (id, ==, PL_NOTIFIER_ID);
  g_assert_true (G_IS_NOTIFICATION (notification));
  g_ptr_array_add (f->sent, g_strdup_printf ("%s|%s", title, body));
}

/* 127.0.%u.N, or when another run of these tests holds it, 127.R.%u.N for a random R. */
static PlFakeGateway *
start_gateway (guint     subnet,
               guint     n,
               PlClock  *clock,
               char    **address)
{
  for (guint attempt = 0; ; attempt++)
    {
      g_autoptr(GError) error = NULL;
      PlFakeGateway *gateway;

      g_free (*address);
      *address = g_strdup_printf ("127.%u.%u.%u",
                                  attempt == 0 ? 0 : (guint) g_random_int_range (1, 255),
                                  subnet, n);
      gateway = pl_fake_gateway_new (*address, clock, &error);
      if (gateway != NULL)
        return gateway;
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE) || attempt == 20)
        g_error ("Cannot start the fake gateway on %s: %s", *address, error->message);
    }
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  /* GTest drops the fatal handler before each test. */
  pl_test_tolerate_gupnp_port_clash ();
  f->clock = pl_clock_new_virtual (TRUE);
  f->gateway = start_gateway (45, GPOINTER_TO_UINT (data), f->clock, &f->address);
  f->store = pl_profile_store_new ("/nonexistent/portlight/profiles.ini");
  g_assert_true (pl_profile_store_load_from_data (f->store, profiles_ini, -1, &error));
  g_assert_no_error (error);
  f->sent = g_ptr_array_new_with_free_func (g_free);
  f->guard_id = g_timeout_add_seconds (30, guard_cb, NULL);
}

static PlGateway *
no_gateway (gpointer   user_data,
            GError   **error)
{
  g_set_error_literal (error, PL_ERROR, PL_ERROR_NO_GATEWAY, "No default gateway (test)");
  return NULL;
}

/* The session, the menu and the notifier. @fixed: on the fixture's gateway, else none. */
static void
fixture_start (Fixture  *f,
               gboolean  fixed)
{
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (f->address);

  f->session = g_object_new (PL_TYPE_SESSION,
                             "profiles", f->store,
                             "clock", f->clock,
                             "fixed-gateway", fixed ? gateway : NULL,
                             "monitor-network", FALSE,
                             "announce-port", 0u,
                             NULL);
  if (!fixed)
    pl_session_set_discover_func (f->session, no_gateway, NULL, NULL);
  if (f->settings != NULL)
    pl_settings_apply_to_session (f->settings, f->session);

  f->menu = pl_tray_menu_new (f->session, f->store);
  pl_tray_menu_set_now_func (f->menu, fixed_now, f);
  g_signal_connect (f->menu, "changed", G_CALLBACK (changed_cb), f);
  f->notifier = pl_notifier_new (NULL, f->session, f->store);
  pl_notifier_set_send_func (f->notifier, send_cb, f);

  pl_session_start (f->session);
}

static void
drain (void)
{
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->notifier);
  g_clear_object (&f->menu);
  g_clear_object (&f->session);
  g_clear_object (&f->settings);
  g_clear_object (&f->gateway);
  drain ();
  g_clear_object (&f->store);
  g_clear_object (&f->clock);
  g_clear_handle_id (&f->guard_id, g_source_remove);
  g_clear_pointer (&f->sent, g_ptr_array_unref);
  g_free (f->address);
}

typedef gboolean (*Predicate) (Fixture *f, gconstpointer data);

static void
run_until (Fixture       *f,
           Predicate      predicate,
           gconstpointer  data)
{
  while (!predicate (f, data))
    {
      g_assert_cmpint (pl_clock_get_time (f->clock), <=, SECONDS (100000));
      g_main_context_iteration (NULL, TRUE);
    }
}

static gboolean
state_is (Fixture       *f,
          gconstpointer  data)
{
  return pl_tray_menu_get_state (f->menu) == (PlTrayState) GPOINTER_TO_INT (data);
}

static gboolean
description_is (Fixture       *f,
                gconstpointer  data)
{
  return g_strcmp0 (pl_tray_menu_get_description (f->menu), data) == 0;
}

static gboolean
sent_at_least (Fixture       *f,
               gconstpointer  data)
{
  return f->sent->len >= GPOINTER_TO_UINT (data);
}

static gboolean
marker_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs until the notifier has nothing pending, at least 15 s of clock time from now (longer
 * than any burst): whatever would be said has been said by then. */
static void
settle (Fixture *f)
{
  g_autoptr(GSource) source = pl_clock_timeout_source_new (f->clock, 15000);
  gboolean reached = FALSE;

  g_source_set_callback (source, marker_cb, &reached, NULL);
  g_source_attach (source, NULL);
  while (!reached || pl_notifier_is_pending (f->notifier))
    g_main_context_iteration (NULL, TRUE);
  g_source_destroy (source);
}

static const char *
label_of (Fixture    *f,
          const char *id)
{
  PlTrayItem *item = pl_tray_menu_find_item (f->menu, id);

  return item != NULL ? item->label : NULL;
}

static gboolean
router_is (Fixture       *f,
           gconstpointer  data)
{
  return g_strcmp0 (label_of (f, "router"), data) == 0;
}

static gboolean
ssh_state_has_prefix (Fixture       *f,
                      gconstpointer  data)
{
  const char *label = label_of (f, "profile-state:SSH");

  return label != NULL && g_str_has_prefix (label, data);
}

/* How many datagrams of PCP (version 2) or NAT-PMP (version 0) reached the gateway. */
static guint
count_version (Fixture *f,
               guint8   version)
{
  GPtrArray *requests = pl_fake_gateway_get_requests (f->gateway);
  guint n = 0;

  for (guint i = 0; i < requests->len; i++)
    {
      PlFakeRequest *r = g_ptr_array_index (requests, i);
      gsize len;
      const guint8 *data = g_bytes_get_data (r->bytes, &len);

      if (len > 0 && data[0] == version)
        n++;
    }
  return n;
}

/* "kind:id=label" per item, one per line. */
static char *
dump_items (Fixture *f)
{
  GPtrArray *items = pl_tray_menu_get_items (f->menu);
  GString *out = g_string_new (NULL);
  const char *kinds[] = { "sep", "label", "action", "check" };

  for (guint i = 0; i < items->len; i++)
    {
      PlTrayItem *item = g_ptr_array_index (items, i);

      g_string_append_printf (out, "%s%s:%s", kinds[item->kind],
                              item->kind == PL_TRAY_ITEM_CHECK ? (item->active ? "[x]" : "[ ]") : "",
                              item->id);
      if (item->label != NULL)
        g_string_append_printf (out, "=%s", item->label);
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

/* Tests: formatting */

static void
test_format (void)
{
  g_autoptr(PlProfile) profile = pl_profile_new ("SSH");
  g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

  g_test_summary ("Profile labels: name — protocol, port → public port (only when it differs)");

  pl_profile_set_internal_port (profile, 22);
  pl_profile_set_external_port (profile, 2222);
  a = pl_tray_menu_format_profile (profile);
  g_assert_cmpstr (a, ==, "SSH — TCP 22 → 2222");

  pl_profile_set_external_port (profile, 22);
  b = pl_tray_menu_format_profile (profile);
  g_assert_cmpstr (b, ==, "SSH — TCP 22");

  pl_profile_set_external_port (profile, 0);
  pl_profile_set_protocol (profile, PL_PROFILE_PROTOCOL_BOTH);
  c = pl_tray_menu_format_ports (profile);
  g_assert_cmpstr (c, ==, "TCP+UDP 22");

  pl_profile_set_protocol (profile, PL_PROFILE_PROTOCOL_UDP);
  pl_profile_set_external_port (profile, 5000);
  d = pl_tray_menu_format_ports (profile);
  g_assert_cmpstr (d, ==, "UDP 22 → 5000");
}

/* The line of a profile the engine keeps off, from its Profile.Waiting as the engine says
 * it (pl_app_profiles_dup_reason()). */
static void
test_describe_waiting (void)
{
  const char *problem = "Waiting for qBittorrent to start (Portlight cannot see this "
                        "application start: there is no systemd user manager)";
  const char *network = "Only on network ‘the flat on the third floor, left of the stairs’";
  g_autofree char *detail = NULL;
  g_autofree char *line = NULL;

  g_test_summary ("A waiting profile's line is the engine's reason, at most 60 characters: a "
                  "short one as it is, a long one without its remark in brackets or "
                  "shortened, and then the whole of it for the window");

  line = pl_tray_menu_describe_waiting ("Waiting for qBittorrent to start", &detail);
  g_assert_cmpstr (line, ==, "Waiting for qBittorrent to start");
  g_assert_null (detail);
  g_clear_pointer (&line, g_free);

  line = pl_tray_menu_describe_waiting ("Only on network ‘home’", &detail);
  g_assert_cmpstr (line, ==, "Only on network ‘home’");
  g_assert_null (detail);
  g_clear_pointer (&line, g_free);

  /* What stands in the way of seeing the start: in the window only. */
  g_assert_cmpint (g_utf8_strlen (problem, -1), >, PL_TRAY_MENU_MAX_CHARS);
  line = pl_tray_menu_describe_waiting (problem, &detail);
  g_assert_cmpstr (line, ==, "Waiting for qBittorrent to start…");
  g_assert_cmpstr (detail, ==, problem);
  g_clear_pointer (&line, g_free);
  g_clear_pointer (&detail, g_free);

  /* No remark to drop: shortened at a word, the whole for the window. */
  g_assert_cmpint (g_utf8_strlen (network, -1), >, PL_TRAY_MENU_MAX_CHARS);
  line = pl_tray_menu_describe_waiting (network, &detail);
  g_assert_cmpint (g_utf8_strlen (line, -1), <=, PL_TRAY_MENU_MAX_CHARS);
  g_assert_true (g_str_has_prefix (line, "Only on network ‘the flat on the third floor,"));
  g_assert_true (g_str_has_suffix (line, "…"));
  g_assert_cmpstr (detail, ==, network);
  g_clear_pointer (&line, g_free);
  g_clear_pointer (&detail, g_free);

  /* A remark whose head is itself too long: shortened as any line. */
  line = pl_tray_menu_describe_waiting ("Waiting for An Application With A Name That Never "
                                        "Seems To End At All to start (no systemd)", &detail);
  g_assert_cmpint (g_utf8_strlen (line, -1), <=, PL_TRAY_MENU_MAX_CHARS);
  g_assert_true (g_str_has_prefix (line, "Waiting for An Application With A Name"));
  g_assert_true (g_str_has_suffix (line, "…"));
  g_assert_nonnull (detail);
}

static void
test_describe_pinholes (void)
{
  g_autoptr(GPtrArray) pinholes = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = g_error_new_literal (PL_ERROR, PL_ERROR_TIMED_OUT,
                                                 "The router does not answer for IPv6 pinholes");
  g_autofree char *none = NULL, *pending = NULL, *open = NULL, *failed = NULL;
  PlMapping *tcp, *udp;

  g_test_summary ("A profile's IPv6 line: where its pinholes are open, why they are not, and "
                  "nothing while they are asked for or when there are none");

  none = pl_tray_menu_describe_pinholes (pinholes);
  g_assert_null (none);

  tcp = _pl_mapping_new_full ("Game", PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV6);
  udp = _pl_mapping_new_full ("Game", PL_PROTOCOL_UDP, G_SOCKET_FAMILY_IPV6);
  g_ptr_array_add (pinholes, tcp);
  g_ptr_array_add (pinholes, udp);
  _pl_mapping_set_internal_port (tcp, 25565);
  _pl_mapping_set_internal_port (udp, 25565);
  _pl_mapping_set_state (tcp, PL_MAPPING_STATE_ACTIVE);
  _pl_mapping_set_external_address (tcp, "2001:db8::10");
  _pl_mapping_set_state (udp, PL_MAPPING_STATE_MAPPING);
  pending = pl_tray_menu_describe_pinholes (pinholes);
  g_assert_null (pending);

  _pl_mapping_set_state (udp, PL_MAPPING_STATE_ACTIVE);
  _pl_mapping_set_external_address (udp, "2001:db8::10");
  open = pl_tray_menu_describe_pinholes (pinholes);
  g_assert_cmpstr (open, ==, "Also open on [2001:db8::10]:25565 (IPv6)");

  _pl_mapping_set_state (udp, PL_MAPPING_STATE_FAILED);
  _pl_mapping_set_error (udp, error);
  failed = pl_tray_menu_describe_pinholes (pinholes);
  g_assert_cmpstr (failed, ==, "IPv6: The router does not answer for IPv6 pinholes");
}

static void
test_copy_items (void)
{
  g_autoptr(GPtrArray) mappings = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) pinholes = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) none = NULL, same = NULL, differ = NULL, both = NULL, pending = NULL;
  g_autoptr(GPtrArray) no_address = NULL, long_address = NULL;
  PlMapping *tcp, *udp, *tcp6, *udp6;
  PlTrayItem *item;

  g_test_summary ("Copy items: one with the public address and port of an active profile, "
                  "one per protocol when their ports differ, the IPv6 form where the "
                  "pinholes are open, none while anything is pending; each within a menu line");

  none = pl_tray_menu_copy_items ("Game", "84.17.2.3", mappings, pinholes);
  g_assert_cmpuint (none->len, ==, 0);

  tcp = _pl_mapping_new_full ("Game", PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV4);
  udp = _pl_mapping_new_full ("Game", PL_PROTOCOL_UDP, G_SOCKET_FAMILY_IPV4);
  g_ptr_array_add (mappings, tcp);
  g_ptr_array_add (mappings, udp);
  _pl_mapping_set_internal_port (tcp, 25565);
  _pl_mapping_set_internal_port (udp, 25565);
  _pl_mapping_set_state (tcp, PL_MAPPING_STATE_ACTIVE);
  _pl_mapping_set_external_port (tcp, 8080);
  _pl_mapping_set_state (udp, PL_MAPPING_STATE_MAPPING);
  pending = pl_tray_menu_copy_items ("Game", "84.17.2.3", mappings, pinholes);
  g_assert_cmpuint (pending->len, ==, 0);

  _pl_mapping_set_state (udp, PL_MAPPING_STATE_ACTIVE);
  _pl_mapping_set_external_port (udp, 8080);
  same = pl_tray_menu_copy_items ("Game", "84.17.2.3", mappings, pinholes);
  g_assert_cmpuint (same->len, ==, 1);
  item = g_ptr_array_index (same, 0);
  g_assert_cmpstr (item->id, ==, "copy:Game");
  g_assert_cmpint (item->kind, ==, PL_TRAY_ITEM_ACTION);
  g_assert_cmpstr (item->label, ==, "Copy 84.17.2.3:8080");
  g_assert_cmpstr (item->action, ==, "copy-text");
  g_assert_cmpstr (g_variant_get_string (item->target, NULL), ==, "84.17.2.3:8080");

  no_address = pl_tray_menu_copy_items ("Game", NULL, mappings, pinholes);
  g_assert_cmpuint (no_address->len, ==, 0);

  _pl_mapping_set_external_port (udp, 40023);
  differ = pl_tray_menu_copy_items ("Game", "84.17.2.3", mappings, pinholes);
  g_assert_cmpuint (differ->len, ==, 2);
  g_assert_cmpstr (((PlTrayItem *) differ->pdata[0])->label, ==, "Copy 84.17.2.3:8080 (TCP)");
  g_assert_cmpstr (((PlTrayItem *) differ->pdata[1])->label, ==, "Copy 84.17.2.3:40023 (UDP)");
  g_assert_cmpstr (g_variant_get_string (((PlTrayItem *) differ->pdata[1])->target, NULL), ==,
                   "84.17.2.3:40023");

  tcp6 = _pl_mapping_new_full ("Game", PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV6);
  udp6 = _pl_mapping_new_full ("Game", PL_PROTOCOL_UDP, G_SOCKET_FAMILY_IPV6);
  g_ptr_array_add (pinholes, tcp6);
  g_ptr_array_add (pinholes, udp6);
  _pl_mapping_set_internal_port (tcp6, 25565);
  _pl_mapping_set_internal_port (udp6, 25565);
  _pl_mapping_set_state (tcp6, PL_MAPPING_STATE_ACTIVE);
  _pl_mapping_set_external_address (tcp6, "2001:db8::10");
  _pl_mapping_set_state (udp6, PL_MAPPING_STATE_ACTIVE);
  _pl_mapping_set_external_address (udp6, "2001:db8::10");
  _pl_mapping_set_external_port (udp, 8080);
  both = pl_tray_menu_copy_items ("Game", "84.17.2.3", mappings, pinholes);
  g_assert_cmpuint (both->len, ==, 2);
  item = g_ptr_array_index (both, 1);
  g_assert_cmpstr (item->id, ==, "copy-ipv6:Game");
  g_assert_cmpstr (item->label, ==, "Copy [2001:db8::10]:25565");
  g_assert_cmpstr (g_variant_get_string (item->target, NULL), ==, "[2001:db8::10]:25565");

  /* The longest IPv6 address and port still fit in a menu line, whole. */
  _pl_mapping_set_external_address (tcp6, "2001:0db8:1234:5678:9abc:def0:1234:5678");
  _pl_mapping_set_internal_port (tcp6, 65535);
  long_address = pl_tray_menu_copy_items ("Game", "84.17.2.3", mappings, pinholes);
  item = g_ptr_array_index (long_address, 1);
  g_assert_cmpstr (item->label, ==, "Copy [2001:0db8:1234:5678:9abc:def0:1234:5678]:65535");
  g_assert_cmpint (g_utf8_strlen (item->label, -1), <=, PL_TRAY_MENU_MAX_CHARS);
}

static void
test_icon_names (void)
{
  g_test_summary ("Every state has its own symbolic icon, named after the application id");

  g_assert_cmpstr (pl_tray_state_get_icon_name (PL_TRAY_STATE_NO_GATEWAY), ==,
                   "io.github.portlight.Portlight-offline-symbolic");
  g_assert_cmpstr (pl_tray_state_get_icon_name (PL_TRAY_STATE_BUSY), ==,
                   "io.github.portlight.Portlight-busy-symbolic");
  g_assert_cmpstr (pl_tray_state_get_icon_name (PL_TRAY_STATE_IDLE), ==,
                   "io.github.portlight.Portlight-idle-symbolic");
  g_assert_cmpstr (pl_tray_state_get_icon_name (PL_TRAY_STATE_ACTIVE), ==,
                   "io.github.portlight.Portlight-active-symbolic");
  g_assert_cmpstr (pl_tray_state_get_icon_name (PL_TRAY_STATE_ERROR), ==,
                   "io.github.portlight.Portlight-error-symbolic");
}

/* Tests: the menu */

static void
test_menu_no_gateway (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *dump = NULL;

  g_test_summary ("Without a router: offline state, and the menu says so; profiles are still "
                  "listed and can be toggled; no notification for that");

  fixture_start (f, FALSE);
  run_until (f, state_is, GINT_TO_POINTER (PL_TRAY_STATE_NO_GATEWAY));
  pl_tray_menu_update (f->menu);

  dump = dump_items (f);
  g_assert_cmpstr (dump, ==,
                   "label:address=Public address unknown\n"
                   "label:router=No router found\n"
                   "sep:separator\n"
                   "check[x]:profile:SSH=SSH — TCP 22 → 2222\n"
                   "label:profile-state:SSH=Failed: No default gateway (test)\n"
                   "check[ ]:profile:Games=Games — TCP+UDP 27015\n"
                   "sep:separator\n"
                   "action:add-profile=Add Profile…\n"
                   "action:edit-profiles=Edit Profiles…\n"
                   "action:router-table=What’s Open on Your Router…\n"
                   "sep:separator\n"
                   "check[ ]:autostart=Start at Login\n"
                   "check[x]:notifications=Show Notifications\n"
                   "sep:separator\n"
                   "action:quit=Quit\n");
  g_assert_cmpstr (pl_tray_menu_get_description (f->menu), ==, "No router found");

  settle (f);
  g_assert_cmpuint (f->sent->len, ==, 0);
}

static void
test_menu_active (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *router = g_strdup_printf ("Router %s · NAT-PMP", f->address);
  g_autofree char *asking = g_strdup_printf ("Router %s", f->address);
  PlTrayItem *item;

  g_test_summary ("With a router: the public address (activating it copies), the router and "
                  "the protocol it speaks once known, each profile with its state and renewal "
                  "time; the icon says all is active");

  fixture_start (f, TRUE);
  /* Still asking which protocol it speaks: no protocol on the router line. */
  pl_tray_menu_update (f->menu);
  g_assert_null (pl_session_get_protocol_name (f->session));
  g_assert_cmpstr (label_of (f, "router"), ==, asking);
  /* The probe's answer (PCP: unsupported version) gives NAT-PMP; the menu follows. */
  run_until (f, router_is, router);
  g_assert_cmpstr (pl_session_get_protocol_name (f->session), ==, "NAT-PMP");
  run_until (f, state_is, GINT_TO_POINTER (PL_TRAY_STATE_ACTIVE));

  item = pl_tray_menu_find_item (f->menu, "address");
  g_assert_cmpstr (item->label, ==, "Public address 203.0.113.7");
  g_assert_cmpint (item->kind, ==, PL_TRAY_ITEM_ACTION);
  g_assert_cmpstr (item->action, ==, "copy-address");
  g_assert_cmpstr (label_of (f, "router"), ==, router);
  g_assert_null (pl_tray_menu_find_item (f->menu, "double-nat"));

  item = pl_tray_menu_find_item (f->menu, "profile:SSH");
  g_assert_cmpint (item->kind, ==, PL_TRAY_ITEM_CHECK);
  g_assert_true (item->active);
  g_assert_cmpstr (item->action, ==, "toggle-profile");
  g_assert_cmpstr (g_variant_get_string (item->target, NULL), ==, "SSH");
  /* Granted at clock time 0 for 7200 s: renewed at half, 13:00. */
  g_assert_cmpstr (label_of (f, "profile-state:SSH"), ==, "Active · renews at 13:00");
  g_assert_null (pl_tray_menu_find_item (f->menu, "profile-state:Games"));
  g_assert_cmpstr (pl_tray_menu_get_description (f->menu), ==, "1 port open");

  /* Both protocols of a profile. */
  g_assert_true (pl_profile_store_set_enabled (f->store, "Games", TRUE, NULL));
  run_until (f, description_is, "3 ports open");
  g_assert_cmpint (pl_tray_menu_get_state (f->menu), ==, PL_TRAY_STATE_ACTIVE);
  g_assert_cmpstr (label_of (f, "profile-state:Games"), ==, "Active · renews at 13:00");

  /* Everything off: idle. */
  g_assert_true (pl_profile_store_set_enabled (f->store, "Games", FALSE, NULL));
  g_assert_true (pl_profile_store_set_enabled (f->store, "SSH", FALSE, NULL));
  run_until (f, state_is, GINT_TO_POINTER (PL_TRAY_STATE_IDLE));
  g_assert_false (pl_tray_menu_find_item (f->menu, "profile:SSH")->active);
  g_assert_null (pl_tray_menu_find_item (f->menu, "profile-state:SSH"));
}

static gboolean
label_has_prefix (Fixture       *f,
                  gconstpointer  data)
{
  const char *label = label_of (f, "profile-state:SSH");

  return label != NULL && g_str_has_prefix (label, data);
}

static void
test_menu_renewal_failing (Fixture       *f,
                           gconstpointer  data)
{
  const char *label;

  g_test_summary ("While a renewal fails the mapping still holds: the menu says until when "
                  "(the window also why), never \"renews at\" a time that has passed");

  fixture_start (f, TRUE);
  run_until (f, state_is, GINT_TO_POINTER (PL_TRAY_STATE_ACTIVE));
  g_assert_cmpstr (label_of (f, "profile-state:SSH"), ==, "Active · renews at 13:00");

  /* At 13:00 the router starts refusing: the 7200 s mapping runs until 14:00. The
   * router's words make the line too long for the menu: they are for the window. */
  pl_fake_gateway_set_result_code (f->gateway, 2);
  run_until (f, label_has_prefix, "Active until 14:00 · renewal failed");
  label = label_of (f, "profile-state:SSH");
  g_assert_cmpstr (label, ==, "Active until 14:00 · renewal failed");
  g_assert_true (g_str_has_prefix (pl_tray_menu_find_item (f->menu, "profile-state:SSH")->detail,
                                   "Active until 14:00 · renewal failed: The router at "));
  g_assert_null (strstr (label, "renews at"));
  g_assert_cmpint (pl_tray_menu_get_state (f->menu), ==, PL_TRAY_STATE_ACTIVE);

  /* It comes back: renewed, the usual line again. */
  pl_fake_gateway_set_result_code (f->gateway, 0);
  run_until (f, label_has_prefix, "Active · renews at ");
}

static gboolean
sent_contains (Fixture       *f,
               gconstpointer  data)
{
  for (guint i = 0; i < f->sent->len; i++)
    if (strstr (g_ptr_array_index (f->sent, i), data) != NULL)
      return TRUE;
  return FALSE;
}

static void
test_notifier_any_port (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(PlProfile) vpn = pl_profile_new ("vpn-torrent");
  g_autoptr(GError) error = NULL;
  g_autofree char *first = NULL;
  g_autofree char *state = NULL;
  g_autofree char *second = NULL;
  PlMapping *mapping;
  guint port;

  g_test_summary ("A profile that takes any public port (a VPN's): the menu shows the port "
                  "granted, and a notification says it when first known and after a "
                  "reconnect");

  pl_fake_gateway_set_random_ports (f->gateway, TRUE);
  g_assert_true (pl_profile_store_set_enabled (f->store, "SSH", FALSE, &error));
  pl_profile_set_internal_port (vpn, 51413);
  pl_profile_set_any_external_port (vpn, TRUE);
  pl_profile_set_family (vpn, PL_PROFILE_FAMILY_IPV4);
  g_assert_true (pl_profile_store_add (f->store, vpn, &error));
  g_assert_no_error (error);

  fixture_start (f, TRUE);
  run_until (f, state_is, GINT_TO_POINTER (PL_TRAY_STATE_ACTIVE));
  mapping = pl_session_find_mapping (f->session, "vpn-torrent", PL_PROTOCOL_TCP);
  port = pl_mapping_get_external_port (mapping);
  g_assert_cmpuint (port, ==, pl_fake_gateway_get_mapped_port (f->gateway, PL_PROTOCOL_TCP,
                                                               51413));
  state = g_strdup_printf ("Active on public port %u · renews at 13:00", port);
  g_assert_cmpstr (label_of (f, "profile-state:vpn-torrent"), ==, state);
  g_assert_cmpstr (pl_tray_menu_find_item (f->menu, "profile:vpn-torrent")->label, ==,
                   "vpn-torrent — TCP 51413 → any port");

  first = g_strdup_printf ("Forwarded port|Your forwarded port for “vpn-torrent” (TCP) is now "
                           "%u.", port);
  run_until (f, sent_at_least, GUINT_TO_POINTER (1));
  g_assert_cmpuint (f->sent->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->sent, 0), ==, first);

  /* The VPN reconnects: at the next renewal, another port, said once. */
  pl_fake_gateway_reconnect (f->gateway);
  run_until (f, sent_at_least, GUINT_TO_POINTER (2));
  port = pl_mapping_get_external_port (mapping);
  second = g_strdup_printf ("Your forwarded port for “vpn-torrent” (TCP) is now %u.", port);
  g_assert_true (sent_contains (f, second));
  settle (f);
  g_assert_cmpuint (f->sent->len, ==, 2);
}

static void
test_menu_different_port (Fixture       *f,
                          gconstpointer  data)
{
  g_test_summary ("The router gives another public port: the menu and one notification say so");

  pl_fake_gateway_set_assigned_port (f->gateway, 40022);
  fixture_start (f, TRUE);
  run_until (f, state_is, GINT_TO_POINTER (PL_TRAY_STATE_ACTIVE));
  g_assert_cmpstr (label_of (f, "profile-state:SSH"), ==,
                   "Active on public port 40022 · renews at 13:00");

  run_until (f, sent_at_least, GUINT_TO_POINTER (1));
  g_assert_cmpstr (g_ptr_array_index (f->sent, 0), ==,
                   "The router gave a different public port|"
                   "SSH (TCP) got public port 40022 instead of 2222.");

  /* The renewal an hour later gets the same port: nothing new to say. */
  pl_fake_gateway_clear_requests (f->gateway);
  while (pl_fake_gateway_get_requests (f->gateway)->len == 0)
    g_main_context_iteration (NULL, TRUE);
  settle (f);
  g_assert_cmpuint (f->sent->len, ==, 1);
}

/* The item @data has a label (it was computed). */
static gboolean
label_has_prefix_of (Fixture       *f,
                     gconstpointer  data)
{
  const char *label = label_of (f, data);

  return label != NULL && !g_str_has_prefix (label, "Contacting");
}

static void
test_menu_failed (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *expected = NULL;

  PlTrayItem *item;

  g_test_summary ("A refused mapping: error state; the menu says it short, with the likely "
                  "cause (SSH maps port 22: routers refuse ports below 1024 by default); the "
                  "window gets the router's message and the fix; one notification");

  pl_fake_gateway_set_result_code (f->gateway, 2);
  fixture_start (f, TRUE);
  run_until (f, state_is, GINT_TO_POINTER (PL_TRAY_STATE_ERROR));
  g_assert_cmpstr (pl_tray_menu_get_description (f->menu), ==, "1 port mapping failed");
  item = pl_tray_menu_find_item (f->menu, "profile-state:SSH");
  g_assert_cmpstr (item->label, ==, "Refused by the router (port 22 is below 1024)");
  expected = g_strdup_printf ("The router at %s refused: NAT-PMP may be switched off in its "
                              "settings, or its rules do not allow this port.\n"
                              "Port 22 is below 1024, and routers refuse those by default "
                              "(miniupnpd’s rules, for one, allow only 1024-65535). To fix it, "
                              "run the service on a port of 1024 or above, or allow port 22 in "
                              "the router’s settings.", f->address);
  g_assert_cmpstr (item->detail, ==, expected);
  g_clear_pointer (&expected, g_free);


  run_until (f, sent_at_least, GUINT_TO_POINTER (1));
  expected = g_strdup_printf ("Port mapping failed|SSH (TCP): The router at %s refused",
                              f->address);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (f->sent, 0), expected));

  /* The retries fail the same way: not said again. */
  settle (f);
  {
    gint64 until = pl_clock_get_time (f->clock) + SECONDS (3 * 3600);

    while (pl_clock_get_time (f->clock) < until)
      g_main_context_iteration (NULL, TRUE);
  }
  g_assert_cmpuint (f->sent->len, ==, 1);

  /* A port from 1024 up that is refused: no guess at the cause; the window has the
   * router's message. */
  g_assert_true (pl_profile_store_set_enabled (f->store, "Games", TRUE, NULL));
  run_until (f, label_has_prefix_of, "profile-state:Games");
  item = pl_tray_menu_find_item (f->menu, "profile-state:Games");
  g_assert_cmpstr (item->label, ==, "Failed (TCP): Refused by the router");
  g_assert_true (g_str_has_prefix (item->detail, "The router at "));
  g_assert_null (strstr (item->detail, "1024"));
}

static void
test_menu_double_nat (Fixture       *f,
                      gconstpointer  data)
{
  g_test_summary ("A private public address: the double-NAT warning line");

  pl_fake_gateway_set_external_address (f->gateway, "10.0.0.5");
  fixture_start (f, TRUE);
  run_until (f, state_is, GINT_TO_POINTER (PL_TRAY_STATE_ACTIVE));
  g_assert_cmpstr (label_of (f, "double-nat"), ==,
                   "Double NAT: ports may stay closed to the Internet");
  g_assert_cmpstr (pl_tray_menu_find_item (f->menu, "double-nat")->detail, ==,
                   "Warning: double NAT. The router’s public address 10.0.0.5 is private, so "
                   "ports may stay closed to the Internet");
}

/* Every line within PL_TRAY_MENU_MAX_CHARS; a detail, where there is one, says more. */
static void
assert_lines_short (Fixture *f)
{
  GPtrArray *items = pl_tray_menu_get_items (f->menu);

  for (guint i = 0; i < items->len; i++)
    {
      PlTrayItem *item = g_ptr_array_index (items, i);

      if (item->label == NULL)
        continue;
      g_test_message ("%2ld %s", g_utf8_strlen (item->label, -1), item->label);
      g_assert_cmpint (g_utf8_strlen (item->label, -1), <=, PL_TRAY_MENU_MAX_CHARS);
      if (item->detail != NULL)
        g_assert_cmpint (g_utf8_strlen (item->detail, -1), >, g_utf8_strlen (item->label, -1));
    }
}

static const char *long_profiles_ini =
  "[A profile whose name goes on and on, far longer than a menu line should be]\n"
  "Protocol=both\n"
  "InternalPort=27015\n"
  "ExternalPort=27016\n"
  "Enabled=true\n"
  "\n"
  "[SSH]\n"
  "Protocol=tcp\n"
  "InternalPort=22\n"
  "ExternalPort=2222\n"
  "Enabled=true\n";

static gboolean
long_profile_failed (Fixture       *f,
                     gconstpointer  data)
{
  PlTrayItem *item = pl_tray_menu_find_item (f->menu, "profile-state:SSH");

  return item != NULL && g_str_has_prefix (item->label, "Active until ");
}

static void
test_menu_line_length (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *items;
  const char *label;

  g_test_summary ("No menu line is longer than 60 characters, whatever the names, errors and "
                  "addresses (a long profile name loses the end of its name, not its ports; "
                  "a long error is cut, and kept whole for the window)");

  g_assert_true (pl_profile_store_load_from_data (f->store, long_profiles_ini, -1, &error));
  g_assert_no_error (error);
  pl_fake_gateway_set_external_address (f->gateway, "100.64.123.234");
  pl_fake_gateway_set_assigned_port (f->gateway, 40022);
  fixture_start (f, TRUE);
  run_until (f, state_is, GINT_TO_POINTER (PL_TRAY_STATE_ACTIVE));
  assert_lines_short (f);

  items = pl_tray_menu_get_items (f->menu);
  for (guint i = 0; i < items->len; i++)
    {
      PlTrayItem *item = g_ptr_array_index (items, i);

      if (g_str_has_prefix (item->id, "profile:A profile"))
        {
          g_assert_true (g_str_has_prefix (item->label, "A profile whose name goes on"));
          g_assert_true (g_str_has_suffix (item->label, "… — TCP+UDP 27015 → 27016"));
        }
    }
  label = label_of (f, "profile-state:A profile whose name goes on and on, far longer than a "
                    "menu line should be");
  g_assert_cmpstr (label, ==, "Active on public port 40022 · renews at 13:00");
  g_assert_nonnull (pl_tray_menu_find_item (f->menu, "double-nat"));

  /* A renewal refused with a long message: cut in the menu, whole for the window. */
  pl_fake_gateway_set_result_code (f->gateway, 3);
  run_until (f, long_profile_failed, NULL);
  assert_lines_short (f);
  g_assert_cmpstr (label_of (f, "profile-state:SSH"), ==, "Active until 14:00 · renewal failed");
  g_assert_nonnull (pl_tray_menu_find_item (f->menu, "profile-state:SSH")->detail);
  g_assert_true (g_str_has_prefix (pl_tray_menu_find_item (f->menu, "profile-state:SSH")->detail,
                                   "Active until 14:00 · renewal failed: The router at "));
}

/* The tray that maps (it hosts the engine): its session maps the engine's model of app- and
 * network-linked profiles (PlAppProfiles), whose reason the menu shows. */
static void
set_network (PlNetworkWatcher *watcher,
             guint8            last)
{
  PlNetworkIdentity identity = { TRUE, { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, last }, NULL };

  pl_network_watcher_set_identity (watcher, &identity);
}

static void
test_menu_waiting (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(PlNetworkWatcher) network = pl_network_watcher_new_fixed ();
  g_autoptr(PlAppProfiles) apps = NULL;
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (f->address);
  PlProfile *ssh = pl_profile_store_lookup (f->store, "SSH");

  g_test_summary ("A profile the session here keeps off (Network= of another network) shows "
                  "why, as the engine's client does, and does not make the icon say it is "
                  "contacting the router; on its network, its mapping's line again");

  pl_profile_set_network (ssh, "home; gateway=02:aa:bb:cc:dd:01");
  set_network (network, 0x02);
  apps = pl_app_profiles_new_full (G_LIST_MODEL (f->store), NULL, network);
  f->session = g_object_new (PL_TYPE_SESSION, "profiles", apps, "clock", f->clock,
                             "fixed-gateway", gateway, "monitor-network", FALSE,
                             "announce-port", 0u, NULL);
  f->menu = pl_tray_menu_new (f->session, f->store);
  pl_tray_menu_set_now_func (f->menu, fixed_now, f);
  pl_session_start (f->session);

  run_until (f, description_is, "Connected to the router, no ports open");
  g_assert_cmpint (pl_tray_menu_get_state (f->menu), ==, PL_TRAY_STATE_IDLE);
  g_assert_cmpstr (label_of (f, "profile-state:SSH"), ==, "Only on network ‘home’");
  g_assert_true (pl_tray_menu_find_item (f->menu, "profile:SSH")->active);
  g_assert_nonnull (pl_tray_menu_find_item (f->menu, "republish"));

  /* Home: mapped. */
  set_network (network, 0x01);
  run_until (f, ssh_state_has_prefix, "Active");
  run_until (f, state_is, GINT_TO_POINTER (PL_TRAY_STATE_ACTIVE));

  /* Elsewhere again: the reason again, from the menu's own update. */
  set_network (network, 0x03);
  run_until (f, ssh_state_has_prefix, "Only on network ‘home’");
  run_until (f, state_is, GINT_TO_POINTER (PL_TRAY_STATE_IDLE));
}

static void
test_describe_listener (void)
{
  g_autoptr(PlProfile) web = pl_profile_new ("Web");
  PlListenAnswer nothing[2] = { { FALSE, FALSE, NULL }, { FALSE, FALSE, NULL } };
  PlListenAnswer named[2] = { { FALSE, FALSE, NULL }, { TRUE, FALSE, (char *) "nginx" } };
  PlListenAnswer unnamed[1] = { { TRUE, FALSE, NULL } };
  PlListenAnswer local[1] = { { TRUE, TRUE, (char *) "python3" } };
  PlListenAnswer local_unnamed[1] = { { TRUE, TRUE, NULL } };
  PlListenAnswer mixed[2] = { { TRUE, TRUE, (char *) "redis" }, { TRUE, FALSE, (char *) "sshd" } };
  struct { PlListenAnswer *answers; guint n; const char *line; } cases[] = {
    { nothing, 2, "Active · nothing listens on port 65535 yet" },
    { nothing, 0, "Active · nothing listens on port 65535 yet" },
    { named, 2, "Active · nginx listens" },
    { unnamed, 1, "Active · a program listens on port 65535" },
    { local, 1, "Active · python3 accepts no outside connections" },
    { local_unnamed, 1, "Active · port 65535 takes no outside connections" },
    { mixed, 2, "Active · sshd listens" },
  };

  g_test_summary ("An active profile's line says who listens on its port: nothing yet, the "
                  "program by name, an unnamed one, or one that takes connections from this "
                  "computer only; each within a menu line with the longest port");

  pl_profile_set_internal_port (web, 65535);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *line = pl_tray_menu_describe_listener (web, cases[i].answers,
                                                              cases[i].n);

      g_assert_cmpstr (line, ==, cases[i].line);
      g_assert_cmpint (g_utf8_strlen (line, -1), <=, PL_TRAY_MENU_MAX_CHARS);
    }
}

/* A socket of @type bound to 0.0.0.0 on an ephemeral port; it listens when @listen. */
static GSocket *
open_socket (GSocketType  type,
             gboolean     listen,
             guint16     *port)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket_ = g_socket_new (G_SOCKET_FAMILY_IPV4, type, 0, &error);
  g_autoptr(GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) where = g_inet_socket_address_new (any, 0);
  g_autoptr(GSocketAddress) local = NULL;

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket_, where, FALSE, &error));
  g_assert_no_error (error);
  if (listen)
    g_assert_true (g_socket_listen (socket_, &error));
  g_assert_no_error (error);
  local = g_socket_get_local_address (socket_, &error);
  g_assert_no_error (error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  return g_steal_pointer (&socket_);
}

typedef struct
{
  const char *id;
  const char *label;
} LabelIs;

static gboolean
label_is (Fixture       *f,
          gconstpointer  data)
{
  const LabelIs *want = data;

  return g_strcmp0 (label_of (f, want->id), want->label) == 0;
}

/* Like run_until(), with no bound on the virtual clock: while the listen check's thread
 * works, the main context is idle and the clock jumps from renewal to renewal, as many as
 * the thread takes (the 30 s guard still bounds the real time). */
static void
run_until_answered (Fixture       *f,
                    Predicate      predicate,
                    gconstpointer  data)
{
  while (!predicate (f, data))
    g_main_context_iteration (NULL, TRUE);
}

/* This program's name as /proc tells it to others: the base name of argv[0], or what
 * /proc/self/comm says when a wrapper (valgrind) runs us. */
static char *
own_program_name (void)
{
  g_autofree char *comm = NULL;
  char *name = g_path_get_basename (g_get_prgname ());

  if (g_file_get_contents ("/proc/self/comm", &comm, NULL, NULL) &&
      !g_str_has_prefix (name, g_strchomp (comm)))
    {
      g_free (name);
      return g_steal_pointer (&comm);
    }
  return name;
}

static void
test_menu_listeners (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GSocket) server = NULL;
  g_autoptr(GSocket) idle = NULL;
  g_autoptr(GSocket) game = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *ini = NULL;
  g_autofree char *our_name = own_program_name ();
  g_autofree char *listens = NULL;
  g_autofree char *nothing_web = NULL;
  g_autofree char *nothing_idle = NULL;
  guint16 web_port, idle_port, game_port;
  LabelIs want;
  PlTrayItem *item;

  g_test_summary ("With the listen check on, an active profile's line names the program that "
                  "listens on its port (this test) or says nothing listens yet; the window "
                  "keeps when it renews; a new look at the menu sees a program that went "
                  "away; a UDP listener counts for a TCP+UDP profile");

  server = open_socket (G_SOCKET_TYPE_STREAM, TRUE, &web_port);
  /* Bound, not listening: the port stays ours, and nothing listens on it. */
  idle = open_socket (G_SOCKET_TYPE_STREAM, FALSE, &idle_port);
  game = open_socket (G_SOCKET_TYPE_DATAGRAM, FALSE, &game_port);
  ini = g_strdup_printf ("[Web]\nProtocol=tcp\nInternalPort=%u\nEnabled=true\n\n"
                         "[Idle]\nProtocol=tcp\nInternalPort=%u\nEnabled=true\n\n"
                         "[Game]\nProtocol=both\nInternalPort=%u\nEnabled=true\n\n"
                         "[Off]\nProtocol=tcp\nInternalPort=%u\nEnabled=false\n",
                         web_port, idle_port, game_port, web_port);
  g_assert_true (pl_profile_store_load_from_data (f->store, ini, -1, &error));
  g_assert_no_error (error);
  fixture_start (f, TRUE);
  run_until (f, state_is, GINT_TO_POINTER (PL_TRAY_STATE_ACTIVE));
  /* Off by default: the renewal time. */
  g_assert_cmpstr (label_of (f, "profile-state:Web"), ==, "Active · renews at 13:00");

  pl_tray_menu_set_listen_check (f->menu, TRUE);
  listens = g_strdup_printf ("Active · %s listens", our_name);
  want = (LabelIs) { "profile-state:Web", listens };
  run_until_answered (f, label_is, &want);
  nothing_idle = g_strdup_printf ("Active · nothing listens on port %u yet", idle_port);
  g_assert_cmpstr (label_of (f, "profile-state:Idle"), ==, nothing_idle);
  g_assert_cmpstr (label_of (f, "profile-state:Game"), ==, listens);
  g_assert_null (label_of (f, "profile-state:Off"));
  item = pl_tray_menu_find_item (f->menu, "profile-state:Web");
  g_assert_cmpint (item->kind, ==, PL_TRAY_ITEM_LABEL);
  {
    /* (The virtual clock runs on while the check's thread works: renewals may pass.) */
    g_autofree char *detail = g_strdup_printf ("%s\nRenews at ", listens);

    g_assert_true (g_str_has_prefix (item->detail, detail));
  }
  assert_lines_short (f);

  /* The program goes away: the next look at the menu says so. */
  g_assert_true (g_socket_close (server, &error));
  g_assert_no_error (error);
  pl_tray_menu_check_listeners (f->menu);
  nothing_web = g_strdup_printf ("Active · nothing listens on port %u yet", web_port);
  want = (LabelIs) { "profile-state:Web", nothing_web };
  run_until_answered (f, label_is, &want);

  /* Off again: back to the renewal time. */
  pl_tray_menu_set_listen_check (f->menu, FALSE);
  pl_tray_menu_update (f->menu);
  g_assert_true (g_str_has_prefix (label_of (f, "profile-state:Web"), "Active · renews at "));
}

static void
cache_changed_cb (PlListenerCache *cache,
                  guint           *n_changed)
{
  (*n_changed)++;
}

static void
wait_changes (guint *n_changed,
              guint  n)
{
  while (*n_changed < n)
    g_main_context_iteration (NULL, TRUE);
}

static void
test_listener_cache (void)
{
  g_autoptr(PlListenerCache) cache = pl_listener_cache_new ();
  g_autoptr(GSocket) server = NULL;
  g_autoptr(GSocket) idle = NULL;
  g_autofree char *our_name = own_program_name ();
  guint16 server_port, idle_port;
  PlListenQuery queries[2];
  const PlListenAnswer *answer;
  guint n_changed = 0;

  g_test_summary ("The listener cache answers from its last check, checks again only when "
                  "the ports change or it is told to, one check at a time with the latest "
                  "request last, and forgets on clear");

  server = open_socket (G_SOCKET_TYPE_STREAM, TRUE, &server_port);
  idle = open_socket (G_SOCKET_TYPE_STREAM, FALSE, &idle_port);
  queries[0] = (PlListenQuery) { PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV4, server_port };
  queries[1] = (PlListenQuery) { PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV4, idle_port };
  g_signal_connect (cache, "changed", G_CALLBACK (cache_changed_cb), &n_changed);

  g_assert_null (pl_listener_cache_lookup (cache, PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV4,
                                           server_port));
  pl_listener_cache_check (cache, queries, 2, FALSE);
  wait_changes (&n_changed, 1);
  answer = pl_listener_cache_lookup (cache, PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV4, server_port);
  g_assert_nonnull (answer);
  g_assert_true (answer->listening);
  g_assert_cmpstr (answer->program, ==, our_name);
  answer = pl_listener_cache_lookup (cache, PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV4, idle_port);
  g_assert_false (answer->listening);
  g_assert_null (pl_listener_cache_lookup (cache, PL_PROTOCOL_UDP, G_SOCKET_FAMILY_IPV4,
                                           server_port));

  /* The same ports: no check (else two answers would come below); told to: one, and it sees
   * the listener gone. */
  g_assert_true (g_socket_close (server, NULL));
  pl_listener_cache_check (cache, queries, 2, FALSE);
  pl_listener_cache_check (cache, queries, 2, TRUE);
  wait_changes (&n_changed, 2);
  answer = pl_listener_cache_lookup (cache, PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV4, server_port);
  g_assert_false (answer->listening);

  /* Asked twice while busy: the later request is answered last. */
  pl_listener_cache_check (cache, queries, 2, TRUE);
  pl_listener_cache_check (cache, queries + 1, 1, TRUE);
  wait_changes (&n_changed, 4);
  g_assert_null (pl_listener_cache_lookup (cache, PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV4,
                                           server_port));
  g_assert_nonnull (pl_listener_cache_lookup (cache, PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV4,
                                              idle_port));
  g_assert_cmpuint (n_changed, ==, 4);

  pl_listener_cache_clear (cache);
  g_assert_null (pl_listener_cache_lookup (cache, PL_PROTOCOL_TCP, G_SOCKET_FAMILY_IPV4,
                                           idle_port));
}

static void
test_menu_copy_republish (Fixture       *f,
                          gconstpointer  data)
{
  GPtrArray *items;
  PlTrayItem *item;
  guint n_copy = 0;
  gint republish = -1, add_profile = -1, last_copy = -1;

  g_test_summary ("Each active profile has a Copy item with the public address and port it "
                  "got (activating it copies that text), one for a TCP+UDP profile on one port; "
                  "Re-publish All Ports follows the profiles while one is "
                  "enabled");

  fixture_start (f, TRUE);
  /* Before the router answers: no address, nothing to copy. */
  pl_tray_menu_update (f->menu);
  g_assert_null (pl_tray_menu_find_item (f->menu, "copy:SSH"));
  run_until (f, state_is, GINT_TO_POINTER (PL_TRAY_STATE_ACTIVE));

  item = pl_tray_menu_find_item (f->menu, "copy:SSH");
  g_assert_nonnull (item);
  g_assert_cmpint (item->kind, ==, PL_TRAY_ITEM_ACTION);
  g_assert_cmpstr (item->label, ==, "Copy 203.0.113.7:2222");
  g_assert_cmpstr (item->action, ==, "copy-text");
  g_assert_cmpstr (g_variant_get_string (item->target, NULL), ==, "203.0.113.7:2222");
  g_assert_null (pl_tray_menu_find_item (f->menu, "copy:Games"));
  g_assert_null (pl_tray_menu_find_item (f->menu, "copy-ipv6:SSH"));

  items = pl_tray_menu_get_items (f->menu);
  for (guint i = 0; i < items->len; i++)
    {
      PlTrayItem *it = g_ptr_array_index (items, i);

      if (g_str_has_prefix (it->id, "copy:"))
        last_copy = (gint) i;
      else if (g_strcmp0 (it->id, "republish") == 0)
        republish = (gint) i;
      else if (g_strcmp0 (it->id, "add-profile") == 0)
        add_profile = (gint) i;
    }
  g_assert_cmpint (republish, >, last_copy);
  g_assert_cmpint (republish, <, add_profile);
  item = pl_tray_menu_find_item (f->menu, "republish");
  g_assert_cmpstr (item->label, ==, "Re-publish All Ports");
  g_assert_cmpint (item->kind, ==, PL_TRAY_ITEM_ACTION);
  g_assert_cmpstr (item->action, ==, "republish");

  /* A TCP+UDP profile on one public port: one item. */
  g_assert_true (pl_profile_store_set_enabled (f->store, "Games", TRUE, NULL));
  run_until (f, description_is, "3 ports open");
  item = pl_tray_menu_find_item (f->menu, "copy:Games");
  g_assert_cmpstr (item->label, ==, "Copy 203.0.113.7:27015");
  items = pl_tray_menu_get_items (f->menu);
  for (guint i = 0; i < items->len; i++)
    if (g_strcmp0 (((PlTrayItem *) g_ptr_array_index (items, i))->id, "copy:Games") == 0)
      n_copy++;
  g_assert_cmpuint (n_copy, ==, 1);
  assert_lines_short (f);

  /* Nothing enabled: nothing to re-publish, nothing to copy. */
  g_assert_true (pl_profile_store_set_enabled (f->store, "Games", FALSE, NULL));
  g_assert_true (pl_profile_store_set_enabled (f->store, "SSH", FALSE, NULL));
  run_until (f, state_is, GINT_TO_POINTER (PL_TRAY_STATE_IDLE));
  g_assert_null (pl_tray_menu_find_item (f->menu, "republish"));
  g_assert_null (pl_tray_menu_find_item (f->menu, "copy:SSH"));
}

static void
test_menu_coalesced (Fixture       *f,
                     gconstpointer  data)
{
  guint before;

  g_test_summary ("A burst of changes gives one `changed`, from an idle");

  fixture_start (f, TRUE);
  run_until (f, state_is, GINT_TO_POINTER (PL_TRAY_STATE_ACTIVE));
  settle (f);

  before = f->n_changed;
  g_assert_true (pl_profile_store_set_enabled (f->store, "SSH", FALSE, NULL));
  pl_tray_menu_set_autostart (f->menu, TRUE);
  pl_tray_menu_set_notifications (f->menu, FALSE);
  g_assert_cmpuint (f->n_changed, ==, before);
  g_main_context_iteration (NULL, FALSE);
  while (f->n_changed == before)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (f->n_changed, ==, before + 1);
  g_assert_false (pl_tray_menu_find_item (f->menu, "profile:SSH")->active);
  g_assert_true (pl_tray_menu_find_item (f->menu, "autostart")->active);
  g_assert_false (pl_tray_menu_find_item (f->menu, "notifications")->active);
}

static void
test_menu_problems (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  PlTrayItem *item;

  g_test_summary ("Profiles that could not be loaded are pointed at from the menu");

  g_assert_true (pl_profile_store_load_from_data (f->store,
                                                  "[SSH]\nProtocol=tcp\nInternalPort=22\n"
                                                  "[Bad]\nProtocol=tcp\nInternalPort=0\n",
                                                  -1, &error));
  g_assert_no_error (error);
  fixture_start (f, FALSE);
  item = pl_tray_menu_find_item (f->menu, "problems");
  g_assert_nonnull (item);
  g_assert_cmpstr (item->label, ==, "1 problem in the profiles file: Edit Profiles…");
  g_assert_cmpstr (item->action, ==, "edit-profiles");
}

static void
test_menu_protocol_setting (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *path = g_build_filename (g_get_user_config_dir (), "settings.ini", NULL);
  g_autofree char *pcp = g_strdup_printf ("Router %s · PCP", f->address);
  g_autofree char *natpmp = g_strdup_printf ("Router %s · NAT-PMP", f->address);

  g_test_summary ("The protocol in the settings reaches the session: PCP alone is spoken "
                  "(and fails on this NAT-PMP router), NAT-PMP alone works without asking "
                  "for PCP; the router line says which");

  g_assert_cmpint (g_mkdir_with_parents (g_get_user_config_dir (), 0700), ==, 0);

  /* PCP: the mapper is made at once, nothing is probed. */
  g_assert_true (g_file_set_contents (path, "[Portlight]\nProtocol=pcp\n", -1, NULL));
  f->settings = pl_settings_new (path);
  fixture_start (f, TRUE);
  g_assert_cmpstr (pl_session_get_protocol_name (f->session), ==, "PCP");
  pl_tray_menu_update (f->menu);
  g_assert_cmpstr (label_of (f, "router"), ==, pcp);
  run_until (f, ssh_state_has_prefix, "Failed: ");
  g_assert_cmpstr (label_of (f, "router"), ==, pcp);
  g_assert_cmpuint (count_version (f, 2), >, 0);
  g_assert_cmpuint (count_version (f, 0), ==, 0);

  g_clear_object (&f->notifier);
  g_clear_object (&f->menu);
  g_clear_object (&f->session);
  g_clear_object (&f->settings);
  pl_fake_gateway_clear_requests (f->gateway);

  /* NAT-PMP (written by hand in capitals): no PCP datagram at all. */
  g_assert_true (g_file_set_contents (path, "[Portlight]\nProtocol=NATPMP\n", -1, NULL));
  f->settings = pl_settings_new (path);
  g_assert_cmpint (pl_settings_get_protocol (f->settings), ==, PL_METHOD_NATPMP);
  fixture_start (f, TRUE);
  pl_tray_menu_update (f->menu);
  g_assert_cmpstr (label_of (f, "router"), ==, natpmp);
  run_until (f, state_is, GINT_TO_POINTER (PL_TRAY_STATE_ACTIVE));
  g_assert_cmpstr (label_of (f, "router"), ==, natpmp);
  g_assert_cmpuint (count_version (f, 0), >, 0);
  g_assert_cmpuint (count_version (f, 2), ==, 0);
}

static void
stop_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (pl_session_stop_finish (PL_SESSION (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static gboolean
flag_set (Fixture       *f,
          gconstpointer  data)
{
  return *(const gboolean *) data;
}

static void
test_menu_replace_session (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (f->address);
  g_autoptr(PlSession) old = NULL;
  g_autofree char *pcp = g_strdup_printf ("Router %s · PCP", f->address);
  g_autofree char *natpmp = g_strdup_printf ("Router %s · NAT-PMP", f->address);
  gboolean stopped = FALSE;

  g_test_summary ("A protocol change as the application makes it: the old session closes "
                  "its ports, then the menu and the notifier follow a new one");

  fixture_start (f, TRUE);
  run_until (f, state_is, GINT_TO_POINTER (PL_TRAY_STATE_ACTIVE));
  g_assert_cmpstr (label_of (f, "router"), ==, natpmp);
  settle (f);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 1);

  pl_session_stop_async (f->session, NULL, stop_done_cb, &stopped);
  run_until (f, flag_set, &stopped);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 0);

  old = g_steal_pointer (&f->session);
  f->session = g_object_new (PL_TYPE_SESSION,
                             "profiles", f->store,
                             "clock", f->clock,
                             "fixed-gateway", gateway,
                             "monitor-network", FALSE,
                             "announce-port", 0u,
                             NULL);
  pl_session_set_method (f->session, PL_METHOD_PCP);
  pl_tray_menu_set_session (f->menu, f->session);
  pl_notifier_set_session (f->notifier, f->session);
  pl_session_start (f->session);
  g_clear_object (&old);

  run_until (f, router_is, pcp);
  run_until (f, ssh_state_has_prefix, "Failed: ");
  /* The notifier follows the new session: the failure is told. */
  run_until (f, sent_at_least, GUINT_TO_POINTER (1));
  g_assert_true (g_str_has_prefix (g_ptr_array_index (f->sent, 0),
                                   "Port mapping failed|SSH (TCP): "));
}

/* Tests: notifications */

static void
test_notify_router_reset (Fixture       *f,
                          gconstpointer  data)
{
  g_test_summary ("The router restarts with a new public address: all mappings are restored "
                  "and one notification says both");

  pl_fake_gateway_set_epoch (f->gateway, 100000);
  g_assert_true (pl_profile_store_set_enabled (f->store, "Games", TRUE, NULL));
  fixture_start (f, TRUE);
  run_until (f, state_is, GINT_TO_POINTER (PL_TRAY_STATE_ACTIVE));
  settle (f);
  g_assert_cmpuint (f->sent->len, ==, 0);

  /* Reboot: the epoch starts again, and the address is new. The next renewal sees it. */
  pl_fake_gateway_set_epoch (f->gateway, 0);
  pl_fake_gateway_set_external_address (f->gateway, "198.51.100.9");
  run_until (f, sent_at_least, GUINT_TO_POINTER (1));
  g_assert_cmpstr (g_ptr_array_index (f->sent, 0), ==,
                   "Router restarted|3 port mappings were restored.\n"
                   "Your public address is now 198.51.100.9 (it was 203.0.113.7).");
  g_assert_cmpint (pl_tray_menu_get_state (f->menu), ==, PL_TRAY_STATE_ACTIVE);

  settle (f);
  g_assert_cmpuint (f->sent->len, ==, 1);
}

static void
test_notify_burst (Fixture       *f,
                   gconstpointer  data)
{
  g_test_summary ("Several failures at once: one notification listing them");

  pl_fake_gateway_set_result_code (f->gateway, 4);
  g_assert_true (pl_profile_store_set_enabled (f->store, "Games", TRUE, NULL));
  fixture_start (f, TRUE);
  run_until (f, sent_at_least, GUINT_TO_POINTER (1));
  settle (f);
  g_assert_cmpuint (f->sent->len, ==, 1);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (f->sent, 0),
                                   "3 port mappings failed|SSH (TCP): "));
  g_assert_nonnull (strstr (g_ptr_array_index (f->sent, 0), "\nGames (TCP): "));
  g_assert_nonnull (strstr (g_ptr_array_index (f->sent, 0), "\nGames (UDP): "));
}

static void
test_notify_disabled (Fixture       *f,
                      gconstpointer  data)
{
  g_test_summary ("With notifications off nothing is sent; switching them on does not "
                  "replay what happened meanwhile");

  pl_fake_gateway_set_result_code (f->gateway, 2);
  fixture_start (f, TRUE);
  pl_notifier_set_enabled (f->notifier, FALSE);
  run_until (f, state_is, GINT_TO_POINTER (PL_TRAY_STATE_ERROR));
  settle (f);
  pl_notifier_notify_error (f->notifier, "Local problem", "body");
  g_assert_cmpuint (f->sent->len, ==, 0);

  pl_notifier_set_enabled (f->notifier, TRUE);
  settle (f);
  g_assert_cmpuint (f->sent->len, ==, 0);

  pl_notifier_notify_error (f->notifier, "Local problem", "body");
  g_assert_cmpuint (f->sent->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->sent, 0), ==, "Local problem|body");
}

/* Tests: autostart and settings (isolated XDG folders) */

static void
test_autostart (void)
{
  g_autofree char *path = pl_autostart_get_path ();
  g_autofree char *expected = g_build_filename (g_get_user_config_dir (), "autostart",
                                                "io.github.portlight.Portlight.desktop", NULL);
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *exec = NULL;

  g_test_summary ("Start at login writes and removes the user's XDG autostart entry, which "
                  "starts the app in the background");

  g_assert_cmpstr (path, ==, expected);
  g_assert_false (pl_autostart_is_enabled ());

  g_assert_true (pl_autostart_set_enabled (TRUE, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (pl_autostart_is_enabled ());
  g_assert_true (g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, &error));
  g_assert_no_error (error);
  exec = g_key_file_get_string (key_file, "Desktop Entry", "Exec", &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (exec, " --background"));

  /* Hand-edited to off. */
  g_key_file_set_boolean (key_file, "Desktop Entry", "X-GNOME-Autostart-enabled", FALSE);
  g_assert_true (g_key_file_save_to_file (key_file, path, &error));
  g_assert_false (pl_autostart_is_enabled ());

  g_assert_true (pl_autostart_set_enabled (FALSE, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_false (pl_autostart_is_enabled ());
  /* Removing what is not there is fine. */
  g_assert_true (pl_autostart_set_enabled (FALSE, NULL, &error));
  g_assert_no_error (error);
}

static void
test_autostart_template (void)
{
  g_autofree char *path = pl_autostart_get_path ();
  g_autofree char *template = g_build_filename (g_get_user_data_dir (), "template.desktop", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("An installed autostart file is copied as it is");

  g_assert_true (g_mkdir_with_parents (g_get_user_data_dir (), 0700) == 0);
  g_assert_true (g_file_set_contents (template, "[Desktop Entry]\nType=Application\n"
                                      "Name=Portlight\nExec=portlight --background\n", -1, NULL));
  g_assert_true (pl_autostart_set_enabled (TRUE, template, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "[Desktop Entry]\nType=Application\nName=Portlight\n"
                   "Exec=portlight --background\n");
}

static void
test_autostart_system_entry (void)
{
  const char * const *dirs = g_get_system_config_dirs ();
  g_autofree char *system_dir = g_build_filename (dirs[0], "autostart", NULL);
  g_autofree char *system_path = g_build_filename (system_dir,
                                                   "io.github.portlight.Portlight.desktop", NULL);
  g_autofree char *path = pl_autostart_get_path ();
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) error = NULL;

  g_test_summary ("A system-wide entry is masked with Hidden=true, not left running");

  g_assert_true (g_mkdir_with_parents (system_dir, 0700) == 0);
  g_assert_true (g_file_set_contents (system_path, "[Desktop Entry]\nType=Application\n"
                                      "Name=Portlight\nExec=portlight --background\n", -1, NULL));
  g_assert_true (pl_autostart_is_enabled ());

  g_assert_true (pl_autostart_set_enabled (FALSE, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (pl_autostart_is_enabled ());
  g_assert_true (g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, &error));
  g_assert_true (g_key_file_get_boolean (key_file, "Desktop Entry", "Hidden", NULL));

  g_assert_true (pl_autostart_set_enabled (TRUE, NULL, &error));
  g_assert_true (pl_autostart_is_enabled ());
}

static void
test_autostart_quoting (void)
{
  g_autofree char *entry = pl_autostart_build_entry ("/opt/my apps/$HOME/port\"light%");
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autofree char *exec = NULL;
  g_auto(GStrv) argv = NULL;
  g_autoptr(GError) error = NULL;
  const char *validate = g_getenv ("DESKTOP_FILE_VALIDATE");

  g_test_summary ("The program's path is quoted as the Desktop Entry specification says; "
                  "the entry is valid");

  g_assert_true (g_key_file_load_from_data (key_file, entry, -1, G_KEY_FILE_NONE, &error));
  exec = g_key_file_get_string (key_file, "Desktop Entry", "Exec", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (exec, ==, "\"/opt/my apps/\\$HOME/port\\\"light%%\" --background");

  /* What a launcher makes of it (after un-doubling %%). */
  {
    g_autofree char *unpercent = NULL;
    g_auto(GStrv) parts = g_strsplit (exec, "%%", -1);

    unpercent = g_strjoinv ("%", parts);
    g_assert_true (g_shell_parse_argv (unpercent, NULL, &argv, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (argv[0], ==, "/opt/my apps/$HOME/port\"light%");
    g_assert_cmpstr (argv[1], ==, "--background");
  }

  if (validate != NULL && *validate != '\0')
    {
      g_autofree char *file = g_build_filename (g_get_user_data_dir (), "portlight.desktop", NULL);
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      const char *args[] = { validate, file, NULL };
      int status;

      g_assert_true (g_mkdir_with_parents (g_get_user_data_dir (), 0700) == 0);
      g_assert_true (g_file_set_contents (file, entry, -1, NULL));
      g_assert_true (g_spawn_sync (NULL, (char **) args, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                   &out, &err, &status, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (g_strstrip (out), ==, "");
      g_assert_true (g_spawn_check_wait_status (status, NULL));
    }
}

static void
test_settings (void)
{
  g_autofree char *path = pl_settings_get_default_path ();
  g_autoptr(PlSettings) settings = pl_settings_new (NULL);
  g_autoptr(PlSettings) again = NULL;
  g_autofree char *contents = NULL;

  g_test_summary ("Settings default to notifications on and the default gateway; changes "
                  "are saved at once and comments survive");

  g_assert_cmpstr (pl_settings_get_path (settings), ==, path);
  g_assert_true (pl_settings_get_notifications (settings));
  g_assert_null (pl_settings_get_gateway (settings));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  pl_settings_set_notifications (settings, FALSE);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "Notifications=false"));

  g_clear_pointer (&contents, g_free);
  g_assert_true (g_file_set_contents (path, "# mine\n[Portlight]\nNotifications=false\n"
                                      "Gateway=192.168.1.1\n", -1, NULL));
  again = pl_settings_new (NULL);
  g_assert_false (pl_settings_get_notifications (again));
  g_assert_cmpstr (pl_settings_get_gateway (again), ==, "192.168.1.1");
  pl_settings_set_gateway (again, "auto");
  g_assert_null (pl_settings_get_gateway (again));
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_true (g_str_has_prefix (contents, "# mine\n"));
  g_assert_nonnull (strstr (contents, "Gateway=auto"));
}

static gboolean
file_contains (const char *path,
               const char *text)
{
  g_autofree char *contents = NULL;

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  return strstr (contents, text) != NULL;
}

static void
test_settings_protocol (void)
{
  g_autofree char *path = pl_settings_get_default_path ();
  g_autoptr(PlSettings) settings = pl_settings_new (NULL);
  g_autoptr(PlSettings) again = NULL;
  g_autofree char *value = NULL;

  g_test_summary ("The protocol defaults to auto, is saved as auto, pcp or natpmp, and "
                  "read back");

  g_assert_cmpint (pl_settings_get_protocol (settings), ==, PL_METHOD_AUTO);
  g_object_get (settings, "protocol", &value, NULL);
  g_assert_cmpstr (value, ==, "auto");

  /* Another setting saved: the default protocol is written down too. */
  pl_settings_set_notifications (settings, FALSE);
  g_assert_true (file_contains (path, "Protocol=auto\n"));

  pl_settings_set_protocol (settings, PL_METHOD_PCP);
  g_assert_true (file_contains (path, "Protocol=pcp\n"));
  again = pl_settings_new (NULL);
  g_assert_cmpint (pl_settings_get_protocol (again), ==, PL_METHOD_PCP);
  g_clear_object (&again);

  g_object_set (settings, "protocol", "natpmp", NULL);
  g_assert_cmpint (pl_settings_get_protocol (settings), ==, PL_METHOD_NATPMP);
  g_assert_true (file_contains (path, "Protocol=natpmp\n"));
  again = pl_settings_new (NULL);
  g_assert_cmpint (pl_settings_get_protocol (again), ==, PL_METHOD_NATPMP);
  g_assert_false (pl_settings_get_notifications (again));
  g_clear_object (&again);

  pl_settings_set_protocol (settings, PL_METHOD_AUTO);
  g_assert_true (file_contains (path, "Protocol=auto\n"));
  again = pl_settings_new (NULL);
  g_assert_cmpint (pl_settings_get_protocol (again), ==, PL_METHOD_AUTO);
}

static void
test_settings_protocol_unknown (void)
{
  g_autofree char *path = pl_settings_get_default_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  const char *contents = "# mine\n[Portlight]\nProtocol=carrier-pigeon\n";
  g_autoptr(PlSettings) settings = NULL;
  g_autoptr(PlSettings) again = NULL;

  g_test_summary ("An unknown protocol is reported and read as auto, and stays in the file "
                  "until the protocol is set");

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
  g_test_expect_message ("pl-tray", G_LOG_LEVEL_MESSAGE,
                         "*unknown Protocol “carrier-pigeon” (expected auto, pcp*): using auto");
  settings = pl_settings_new (NULL);
  g_test_assert_expected_messages ();
  g_assert_cmpint (pl_settings_get_protocol (settings), ==, PL_METHOD_AUTO);

  /* Saving another setting keeps it; so does "setting" what it already reads as. */
  pl_settings_set_notifications (settings, FALSE);
  pl_settings_set_protocol (settings, PL_METHOD_AUTO);
  g_assert_true (file_contains (path, "# mine\n"));
  g_assert_true (file_contains (path, "Protocol=carrier-pigeon\n"));
  g_assert_true (file_contains (path, "Notifications=false\n"));
  g_assert_false (file_contains (path, "Protocol=auto"));

  /* A real choice replaces it. */
  pl_settings_set_protocol (settings, PL_METHOD_NATPMP);
  g_assert_true (file_contains (path, "Protocol=natpmp\n"));
  g_assert_false (file_contains (path, "carrier-pigeon"));
  again = pl_settings_new (NULL);
  g_assert_cmpint (pl_settings_get_protocol (again), ==, PL_METHOD_NATPMP);
}

static void
test_settings_unreadable (void)
{
  g_autofree char *path = pl_settings_get_default_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  const char *contents = "[Portlight\nProtocol=pcp\n";
  g_autoptr(PlSettings) settings = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *after = NULL;

  g_test_summary ("A settings file that cannot be parsed gives the defaults and is never "
                  "overwritten");

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
  g_test_expect_message ("pl-tray", G_LOG_LEVEL_MESSAGE, "Ignoring the settings in *");
  settings = pl_settings_new (NULL);
  g_test_assert_expected_messages ();
  g_assert_cmpint (pl_settings_get_protocol (settings), ==, PL_METHOD_AUTO);
  g_assert_true (pl_settings_get_notifications (settings));

  g_assert_false (pl_settings_save (settings, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "could not be read"));

  g_test_expect_message ("pl-tray", G_LOG_LEVEL_WARNING, "Cannot save the settings: *");
  pl_settings_set_protocol (settings, PL_METHOD_PCP);
  g_test_assert_expected_messages ();
  g_assert_cmpint (pl_settings_get_protocol (settings), ==, PL_METHOD_PCP);
  g_assert_true (g_file_get_contents (path, &after, NULL, NULL));
  g_assert_cmpstr (after, ==, contents);
}

/* Tests: translations */

static void
test_icon_path (void)
{
  g_autofree char *base = g_build_filename (g_get_user_cache_dir (), "icon-path", NULL);
  g_autofree char *build = g_build_filename (base, "build", "portlight", NULL);
  g_autofree char *installed = g_build_filename (base, "usr", "bin", "portlight", NULL);
  g_autofree char *link = g_build_filename (base, "portlight-link", NULL);
  g_autofree char *icons = g_build_filename (base, "src", "data", "icons", NULL);
  g_autofree char *missing = g_build_filename (base, "gone", "icons", NULL);
  g_autofree char *build_dir = g_path_get_dirname (build);
  g_autofree char *installed_dir = g_path_get_dirname (installed);
  g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL, *h = NULL;

  g_test_summary ("The icons: from $PORTLIGHT_ICON_DIR if set; from the source tree when the "
                  "running program is the build tree's; else the installed theme's (none "
                  "extra), even when the build tree is still there");

  g_assert_cmpint (g_mkdir_with_parents (build_dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (installed_dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (icons, 0700), ==, 0);
  g_assert_true (g_file_set_contents (build, "build", -1, NULL));
  g_assert_true (g_file_set_contents (installed, "installed", -1, NULL));
  g_assert_cmpint (symlink (build, link), ==, 0);

  a = pl_icon_path_choose (NULL, build, build, icons);
  g_assert_cmpstr (a, ==, icons);
  b = pl_icon_path_choose (NULL, installed, build, icons);
  g_assert_null (b);
  c = pl_icon_path_choose ("/opt/icons", installed, build, icons);
  g_assert_cmpstr (c, ==, "/opt/icons");
  d = pl_icon_path_choose ("", build, build, icons);
  g_assert_cmpstr (d, ==, icons);
  e = pl_icon_path_choose (NULL, build, build, missing);
  g_assert_null (e);
  /* The same binary by another path. */
  f = pl_icon_path_choose (NULL, link, build, icons);
  g_assert_cmpstr (f, ==, icons);
  h = pl_icon_path_choose (NULL, NULL, build, icons);
  g_assert_null (h);
}

static void
test_translations (void)
{
  const char *mo_dir = g_getenv ("PORTLIGHT_LOCALEDIR");
  g_autofree char *mo = NULL;
  g_autoptr(PlProfile) profile = pl_profile_new ("SSH");
  g_autoptr(GError) error = NULL;

  g_test_summary ("The German catalogue translates tray and core strings");

  if (mo_dir == NULL)
    {
      g_test_skip ("PORTLIGHT_LOCALEDIR is not set");
      return;
    }
  mo = g_build_filename (mo_dir, "de", "LC_MESSAGES", GETTEXT_PACKAGE ".mo", NULL);
  if (!g_file_test (mo, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("The German catalogue is not built");
      return;
    }

  g_setenv ("LANGUAGE", "de", TRUE);
  setlocale (LC_ALL, "C.UTF-8");
  bindtextdomain (GETTEXT_PACKAGE, mo_dir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (g_strcmp0 (g_dgettext (GETTEXT_PACKAGE, "Quit"), "Quit") == 0)
    {
      g_test_skip ("gettext ignores LANGUAGE in this locale");
      return;
    }
  g_assert_cmpstr (g_dgettext (GETTEXT_PACKAGE, "Quit"), ==, "Beenden");
  g_assert_cmpstr (g_dgettext (GETTEXT_PACKAGE, "Start at Login"), ==, "Bei Anmeldung starten");

  /* A core message (the store's rules) comes out German too. */
  pl_profile_set_internal_port (profile, 0);
  g_assert_false (pl_profile_validate (profile, &error));
  g_assert_nonnull (error);
  g_test_message ("core message: %s", error->message);
  g_assert_nonnull (strstr (error->message, "Profil"));
}

/* Gateway=vpn: the group maps that profile on the tunnel's gateway (here a second fake
 * gateway), and the menu's line for it comes from that session, not the primary's. */
typedef struct
{
  Fixture *f;
  char    *address;
} OtherGateway;

static PlGateway *
other_gateway_cb (gpointer   user_data,
                  GError   **error)
{
  OtherGateway *other = user_data;
  PlGateway *gateway = g_new0 (PlGateway, 1);

  gateway->address = g_inet_address_new_from_string (other->address);
  return gateway;
}

static void
other_session_added_cb (PlSessionGroup *group,
                        PlSession      *session,
                        OtherGateway   *other)
{
  pl_session_set_discover_func (session, other_gateway_cb, other, NULL);
  pl_tray_menu_add_session (other->f->menu, session);
}

static gboolean
vpn_line_is (Fixture       *f,
             gconstpointer  data)
{
  const char *line = label_of (f, "profile-state:Vpn");

  return line != NULL && g_str_has_prefix (line, data);
}

static void
test_menu_other_gateway (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) gateway = g_inet_address_new_from_string (f->address);
  g_autoptr(PlFakeGateway) vpn = NULL;
  g_autoptr(PlSessionGroup) group = NULL;
  OtherGateway other = { f, NULL };

  g_test_summary ("A Gateway=vpn profile mapped by the group's other session: its state line "
                  "is that session's mapping (active, its public port), and the icon counts "
                  "it; the home router is not asked for it");

  g_clear_object (&f->store);
  f->store = pl_profile_store_new ("/nonexistent/portlight/profiles.ini");
  g_assert_true (pl_profile_store_load_from_data (f->store,
                                                  "[Vpn]\nProtocol=tcp\nInternalPort=51413\n"
                                                  "ExternalPort=51413\nGateway=vpn\n"
                                                  "Enabled=true\n", -1, &error));
  g_assert_no_error (error);
  vpn = start_gateway (46, GPOINTER_TO_UINT (data), f->clock, &other.address);
  pl_fake_gateway_set_assigned_port (vpn, 61176);

  f->session = g_object_new (PL_TYPE_SESSION, "profiles", f->store, "clock", f->clock,
                             "fixed-gateway", gateway, "monitor-network", FALSE,
                             "announce-port", 0u, NULL);
  f->menu = pl_tray_menu_new (f->session, f->store);
  pl_tray_menu_set_now_func (f->menu, fixed_now, f);
  group = pl_session_group_new (f->session);
  g_signal_connect (group, "session-added", G_CALLBACK (other_session_added_cb), &other);
  pl_session_group_start (group);

  run_until (f, vpn_line_is, "Active on public port 61176");
  run_until (f, state_is, GINT_TO_POINTER (PL_TRAY_STATE_ACTIVE));
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (vpn), ==, 1);
  g_assert_cmpuint (pl_fake_gateway_get_n_mappings (f->gateway), ==, 0);

  g_signal_handlers_disconnect_by_data (group, &other);
  g_clear_object (&f->menu);
  g_clear_object (&group);
  g_clear_object (&f->session);
  drain ();
  g_free (other.address);
}

int
main (int   argc,
      char *argv[])
{
  setlocale (LC_ALL, "C.UTF-8");
  g_setenv ("TZ", "UTC", TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/tray/menu/format", test_format);
  g_test_add_func ("/tray/menu/icon-names", test_icon_names);
  g_test_add_func ("/tray/menu/describe-waiting", test_describe_waiting);
  g_test_add_func ("/tray/menu/describe-pinholes", test_describe_pinholes);
  g_test_add_func ("/tray/menu/describe-listener", test_describe_listener);
  g_test_add_func ("/tray/menu/copy-items", test_copy_items);
  g_test_add_func ("/tray/menu/listener-cache", test_listener_cache);
  g_test_add ("/tray/menu/listeners", Fixture, GUINT_TO_POINTER (15),
              fixture_set_up, test_menu_listeners, fixture_tear_down);
  g_test_add ("/tray/menu/copy-republish", Fixture, GUINT_TO_POINTER (16),
              fixture_set_up, test_menu_copy_republish, fixture_tear_down);
  g_test_add ("/tray/menu/no-gateway", Fixture, GUINT_TO_POINTER (1),
              fixture_set_up, test_menu_no_gateway, fixture_tear_down);
  g_test_add ("/tray/menu/active", Fixture, GUINT_TO_POINTER (2),
              fixture_set_up, test_menu_active, fixture_tear_down);
  g_test_add ("/tray/menu/different-port", Fixture, GUINT_TO_POINTER (3),
              fixture_set_up, test_menu_different_port, fixture_tear_down);
  g_test_add ("/tray/menu/renewal-failing", Fixture, GUINT_TO_POINTER (11),
              fixture_set_up, test_menu_renewal_failing, fixture_tear_down);
  g_test_add ("/tray/menu/failed", Fixture, GUINT_TO_POINTER (4),
              fixture_set_up, test_menu_failed, fixture_tear_down);
  g_test_add ("/tray/menu/double-nat", Fixture, GUINT_TO_POINTER (5),
              fixture_set_up, test_menu_double_nat, fixture_tear_down);
  g_test_add ("/tray/menu/other-gateway", Fixture, GUINT_TO_POINTER (18),
              fixture_set_up, test_menu_other_gateway, fixture_tear_down);
  g_test_add ("/tray/menu/waiting", Fixture, GUINT_TO_POINTER (17),
              fixture_set_up, test_menu_waiting, fixture_tear_down);
  g_test_add ("/tray/menu/line-length", Fixture, GUINT_TO_POINTER (14),
              fixture_set_up, test_menu_line_length, fixture_tear_down);
  g_test_add ("/tray/menu/coalesced", Fixture, GUINT_TO_POINTER (6),
              fixture_set_up, test_menu_coalesced, fixture_tear_down);
  g_test_add ("/tray/menu/problems", Fixture, GUINT_TO_POINTER (7),
              fixture_set_up, test_menu_problems, fixture_tear_down);
  g_test_add ("/tray/menu/protocol-setting", Fixture, GUINT_TO_POINTER (12),
              fixture_set_up, test_menu_protocol_setting, fixture_tear_down);
  g_test_add ("/tray/menu/replace-session", Fixture, GUINT_TO_POINTER (13),
              fixture_set_up, test_menu_replace_session, fixture_tear_down);
  g_test_add ("/tray/notifier/any-port", Fixture, GUINT_TO_POINTER (15),
              fixture_set_up, test_notifier_any_port, fixture_tear_down);
  g_test_add ("/tray/notifier/router-reset", Fixture, GUINT_TO_POINTER (8),
              fixture_set_up, test_notify_router_reset, fixture_tear_down);
  g_test_add ("/tray/notifier/burst", Fixture, GUINT_TO_POINTER (9),
              fixture_set_up, test_notify_burst, fixture_tear_down);
  g_test_add ("/tray/notifier/disabled", Fixture, GUINT_TO_POINTER (10),
              fixture_set_up, test_notify_disabled, fixture_tear_down);
  g_test_add_func ("/tray/autostart/toggle", test_autostart);
  g_test_add_func ("/tray/autostart/template", test_autostart_template);
  g_test_add_func ("/tray/autostart/system-entry", test_autostart_system_entry);
  g_test_add_func ("/tray/autostart/quoting", test_autostart_quoting);
  g_test_add_func ("/tray/settings/roundtrip", test_settings);
  g_test_add_func ("/tray/settings/protocol", test_settings_protocol);
  g_test_add_func ("/tray/settings/protocol-unknown", test_settings_protocol_unknown);
  g_test_add_func ("/tray/settings/unreadable", test_settings_unreadable);
  g_test_add_func ("/tray/icon-path", test_icon_path);
  g_test_add_func ("/tray/i18n/german", test_translations);

  return g_test_run ();
}
