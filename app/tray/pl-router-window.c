/* pl-router-window.c
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "pl-router-window.h"

/* Table-changed events come in bursts (one per row a program adds): read once after this. */
#define REFRESH_DELAY_MS 300
/* The longest profile name made from a description. */
#define NAME_MAX_CHARS 40

struct _PlRouterWindow
{
  GtkApplicationWindow  parent_instance;

  PlSession            *session;
  PlProfileStore       *store;

  PlUpnpClient         *client;          /* for the session's gateway, or NULL without one */
  GInetAddress         *gateway;         /* the client's gateway */
  GCancellable         *reading;         /* the read in flight, or NULL */
  GCancellable         *alive;           /* cancelled when the window goes */
  GPtrArray            *entries;         /* (element-type PlUpnpEntry): the last read, or NULL */
  guint                 refresh_id;
  guint                 n_removing;
  guint                 n_reads;

  GtkHeaderBar         *header;
  GtkSpinner           *spinner;
  GtkWidget            *refresh_button;
  GtkInfoBar           *message_bar;
  GtkLabel             *message_label;
  GtkStack             *stack;
  GtkSpinner           *loading_spinner;
  GtkListBox           *list;
  GtkLabel             *unavailable_label;
};

G_DEFINE_FINAL_TYPE (PlRouterWindow, pl_router_window, GTK_TYPE_APPLICATION_WINDOW)

static void read_table (PlRouterWindow *self);
static void update_rows (PlRouterWindow *self);

/* What a row is */

static const char *
protocol_label (PlProtocol protocol)
{
  return protocol == PL_PROTOCOL_TCP ? "TCP" : "UDP";
}

static const char *
protocol_id (PlProtocol protocol)
{
  return protocol == PL_PROTOCOL_TCP ? "tcp" : "udp";
}

static gboolean
is_this_computer (PlRouterWindow    *self,
                  const PlUpnpEntry *entry)
{
  const char *host_ip = self->client != NULL ? pl_upnp_client_get_host_ip (self->client) : NULL;

  return host_ip != NULL && g_strcmp0 (entry->internal_client, host_ip) == 0;
}

/* The name of the profile whose mapping in the session is this row (same protocol and public
 * port), or NULL. */
static char *
session_profile_for (PlRouterWindow    *self,
                     const PlUpnpEntry *entry)
{
  GListModel *mappings = pl_session_get_mappings (self->session);
  guint n = g_list_model_get_n_items (mappings);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PlMapping) mapping = g_list_model_get_item (mappings, i);

      if (pl_mapping_get_family (mapping) == G_SOCKET_FAMILY_IPV4 &&
          pl_mapping_get_protocol (mapping) == entry->protocol &&
          pl_mapping_get_external_port (mapping) == entry->external_port)
        return g_strdup (pl_mapping_get_profile_name (mapping));
    }
  return NULL;
}

static PlProfileProtocol
profile_protocol (PlProtocol protocol)
{
  return protocol == PL_PROTOCOL_TCP ? PL_PROFILE_PROTOCOL_TCP : PL_PROFILE_PROTOCOL_UDP;
}

/* TRUE when a profile of the store already claims this row's ports. */
static gboolean
store_claims (PlRouterWindow    *self,
              const PlUpnpEntry *entry)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->store));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PlProfile) profile = g_list_model_get_item (G_LIST_MODEL (self->store), i);

      if (!pl_profile_protocol_overlaps (pl_profile_get_protocol (profile),
                                         profile_protocol (entry->protocol)))
        continue;
      if (pl_profile_get_internal_port (profile) == entry->internal_port ||
          pl_profile_get_requested_port (profile) == entry->external_port)
        return TRUE;
    }
  return FALSE;
}

static char *
owner_label (PlRouterWindow    *self,
             const PlUpnpEntry *entry)
{
  g_autofree char *profile = NULL;

  if (!is_this_computer (self, entry))
    /* TRANSLATORS: whose a mapping is; %s is the device's LAN address */
    return g_strdup_printf (_("Another device (%s)"), entry->internal_client);
  profile = session_profile_for (self, entry);
  if (profile != NULL)
    return g_steal_pointer (&profile);
  if (pl_upnp_description_is_ours (entry->description))
    return g_strdup ("Portlight");
  return g_strdup (_("This computer"));
}

static char *
lease_label (guint32 lease)
{
  if (lease == 0)
    return g_strdup (_("permanent"));
  if (lease < 120)
    return g_strdup_printf (_("%u s left"), lease);
  if (lease < 2 * 3600)
    return g_strdup_printf (_("%u min left"), lease / 60);
  return g_strdup_printf (_("%u h left"), lease / 3600);
}

/* A profile name from a router's description: the label of Portlight's own, the text of
 * another's, made a valid name; "TCP 8080" when nothing is left. Unique in the store. */
static char *
profile_name_for (PlRouterWindow    *self,
                  const PlUpnpEntry *entry)
{
  g_autofree char *text = pl_upnp_description_sanitize (entry->description);
  g_autofree char *base = NULL;
  char *name;
  char *p;

  if (pl_upnp_description_is_ours (text))
    {
      char *label = text + strlen (PL_UPNP_DESCRIPTION_PREFIX);
      char *host = g_strrstr (label, " (");

      if (host != NULL && g_str_has_suffix (host, ")"))
        *host = '\0';
      memmove (text, label, strlen (label) + 1);
    }
  for (p = text; *p != '\0'; p++)
    {
      if (*p == '[')
        *p = '(';
      else if (*p == ']')
        *p = ')';
      else if (g_ascii_iscntrl (*p))
        *p = ' ';
    }
  if (g_utf8_strlen (text, -1) > NAME_MAX_CHARS)
    *g_utf8_offset_to_pointer (text, NAME_MAX_CHARS) = '\0';
  g_strstrip (text);
  if (*text == '\0' || !pl_profile_validate_name (text, NULL))
    base = g_strdup_printf ("%s %u", protocol_label (entry->protocol), entry->external_port);
  else
    base = g_strdup (text);

  name = g_strdup (base);
  for (guint i = 2; pl_profile_store_has_name (self->store, name); i++)
    {
      g_free (name);
      name = g_strdup_printf ("%s %u", base, i);
    }
  return name;
}

/* Messages */

static void
show_message (PlRouterWindow *self,
              GtkMessageType  type,
              const char     *text)
{
  gtk_info_bar_set_message_type (self->message_bar, type);
  gtk_label_set_text (self->message_label, text);
  gtk_widget_show (GTK_WIDGET (self->message_bar));
}

static void
hide_message (PlRouterWindow *self)
{
  gtk_widget_hide (GTK_WIDGET (self->message_bar));
}

static void
message_response_cb (PlRouterWindow *self)
{
  hide_message (self);
}

static void
update_busy (PlRouterWindow *self)
{
  gboolean busy = self->reading != NULL || self->n_removing > 0;

  if (busy)
    gtk_spinner_start (self->spinner);
  else
    gtk_spinner_stop (self->spinner);
  gtk_widget_set_sensitive (self->refresh_button, self->client != NULL && self->reading == NULL);
}

static void
show_unavailable (PlRouterWindow *self,
                  const char     *text)
{
  g_clear_pointer (&self->entries, g_ptr_array_unref);
  update_rows (self);
  gtk_label_set_text (self->unavailable_label, text);
  gtk_stack_set_visible_child_name (self->stack, "unavailable");
}

/* Keep as profile */

static void
keep_clicked_cb (GtkButton      *button,
                 PlRouterWindow *self)
{
  const PlUpnpEntry *entry = g_object_get_data (G_OBJECT (button), "pl-entry");
  g_autofree char *name = profile_name_for (self, entry);
  g_autofree char *description = pl_upnp_description_sanitize (entry->description);
  g_autoptr(PlProfile) profile = pl_profile_new (name);
  g_autoptr(GError) error = NULL;

  hide_message (self);
  pl_profile_set_protocol (profile, profile_protocol (entry->protocol));
  pl_profile_set_internal_port (profile, entry->internal_port);
  pl_profile_set_external_port (profile, entry->external_port);
  pl_profile_set_enabled (profile, TRUE);
  if (!pl_upnp_description_is_ours (description) && *g_strstrip (description) != '\0')
    pl_profile_set_description (profile, description);

  if (!pl_profile_store_add (self->store, profile, &error) ||
      !pl_profile_store_save (self->store, NULL, &error))
    {
      g_autofree char *text = g_strdup_printf (_("Could not add the profile: %s"),
                                               error->message);

      show_message (self, GTK_MESSAGE_ERROR, text);
      return;
    }
  {
    g_autofree char *text = g_strdup_printf (_("Added the profile “%s”"), name);

    show_message (self, GTK_MESSAGE_INFO, text);
  }
}

/* Remove */

typedef struct
{
  PlRouterWindow *self;       /* (owned) */
  PlProtocol      protocol;
  guint16         external_port;
} RemoveOp;

static void
remove_op_free (RemoveOp *op)
{
  g_object_unref (op->self);
  g_free (op);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RemoveOp, remove_op_free)

static void
remove_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(RemoveOp) op = user_data;
  PlRouterWindow *self = op->self;
  g_autoptr(GError) error = NULL;

  pl_upnp_client_delete_external_finish (PL_UPNP_CLIENT (source), result, &error);
  if (g_cancellable_is_cancelled (self->alive))
    return;

  self->n_removing--;
  if (error != NULL)
    {
      /* TRANSLATORS: "Could not remove TCP 8080: <the router's reason>" */
      g_autofree char *text = g_strdup_printf (_("Could not remove %s %u: %s"),
                                               protocol_label (op->protocol), op->external_port,
                                               error->message);

      show_message (self, GTK_MESSAGE_ERROR, text);
    }
  if ((PlUpnpClient *) source == self->client)
    read_table (self);
  update_busy (self);
}

static void
remove_clicked_cb (GtkButton      *button,
                   PlRouterWindow *self)
{
  const PlUpnpEntry *entry = g_object_get_data (G_OBJECT (button), "pl-entry");
  RemoveOp *op;

  if (self->client == NULL)
    return;
  hide_message (self);
  gtk_widget_set_sensitive (GTK_WIDGET (button), FALSE);
  op = g_new0 (RemoveOp, 1);
  op->self = g_object_ref (self);
  op->protocol = entry->protocol;
  op->external_port = entry->external_port;
  self->n_removing++;
  update_busy (self);
  pl_upnp_client_delete_external_async (self->client, op->protocol, op->external_port,
                                        self->alive, remove_cb, op);
}

/* Rows */

static GtkWidget *
row_label (const char *name,
           const char *text,
           gboolean    dim)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_widget_set_name (label, name);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  if (dim)
    gtk_style_context_add_class (gtk_widget_get_style_context (label), "dim-label");
  return label;
}

static GtkWidget *
create_row (PlRouterWindow    *self,
            const PlUpnpEntry *entry)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *labels = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *top = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *bottom = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *ports;
  GtkWidget *owner;
  GtkWidget *description;
  GtkWidget *lease;
  GtkWidget *keep_button;
  GtkWidget *remove_button;
  PangoAttrList *attrs = pango_attr_list_new ();
  g_autofree char *row_name = g_strdup_printf ("row:%s:%u", protocol_id (entry->protocol),
                                               entry->external_port);
  g_autofree char *ports_text = g_strdup_printf ("%s %u → %s:%u",
                                                 protocol_label (entry->protocol),
                                                 entry->external_port, entry->internal_client,
                                                 entry->internal_port);
  g_autofree char *owner_text = owner_label (self, entry);
  g_autofree char *lease_text = lease_label (entry->lease);
  gboolean mine = is_this_computer (self, entry);
  PlUpnpEntry *copy = pl_upnp_entry_copy (entry);

  gtk_widget_set_name (row, row_name);
  g_object_set_data_full (G_OBJECT (row), "pl-entry", copy, (GDestroyNotify) pl_upnp_entry_free);

  ports = row_label ("ports", ports_text, FALSE);
  pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
  gtk_label_set_attributes (GTK_LABEL (ports), attrs);
  pango_attr_list_unref (attrs);
  owner = row_label ("owner", owner_text, FALSE);
  gtk_widget_set_hexpand (owner, TRUE);
  gtk_label_set_xalign (GTK_LABEL (owner), 1);
  description = row_label ("description",
                           entry->description[0] != '\0' ? entry->description
                                                         : _("No description"),
                           TRUE);
  gtk_widget_set_hexpand (description, TRUE);
  lease = row_label ("lease", lease_text, TRUE);

  gtk_container_add (GTK_CONTAINER (top), ports);
  gtk_container_add (GTK_CONTAINER (top), owner);
  gtk_container_add (GTK_CONTAINER (bottom), description);
  gtk_container_add (GTK_CONTAINER (bottom), lease);
  gtk_container_add (GTK_CONTAINER (labels), top);
  gtk_container_add (GTK_CONTAINER (labels), bottom);
  gtk_widget_set_hexpand (labels, TRUE);
  gtk_container_add (GTK_CONTAINER (box), labels);

  keep_button = gtk_button_new_with_mnemonic (_("_Keep as Profile"));
  gtk_widget_set_name (keep_button, "keep");
  gtk_widget_set_tooltip_text (keep_button, _("Add a profile that keeps this port open"));
  gtk_widget_set_valign (keep_button, GTK_ALIGN_CENTER);
  g_object_set_data (G_OBJECT (keep_button), "pl-entry", copy);
  g_signal_connect (keep_button, "clicked", G_CALLBACK (keep_clicked_cb), self);
  gtk_container_add (GTK_CONTAINER (box), keep_button);

  remove_button = gtk_button_new_with_mnemonic (_("_Remove"));
  gtk_widget_set_name (remove_button, "remove");
  gtk_widget_set_tooltip_text (remove_button, _("Remove this forwarding from the router"));
  gtk_widget_set_valign (remove_button, GTK_ALIGN_CENTER);
  g_object_set_data (G_OBJECT (remove_button), "pl-entry", copy);
  g_signal_connect (remove_button, "clicked", G_CALLBACK (remove_clicked_cb), self);
  gtk_container_add (GTK_CONTAINER (box), remove_button);

  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_container_add (GTK_CONTAINER (row), box);
  gtk_widget_show_all (row);

  /* Only this computer's mappings can be removed (the router refuses another device's), and
   * kept when no profile has them yet. */
  if (mine)
    {
      g_autofree char *profile = session_profile_for (self, entry);

      gtk_widget_set_visible (keep_button, profile == NULL && !store_claims (self, entry));
    }
  else
    gtk_widget_set_visible (keep_button, FALSE);
  gtk_widget_set_visible (remove_button, mine);
  return row;
}

static void
update_rows (PlRouterWindow *self)
{
  g_autoptr(GList) rows = gtk_container_get_children (GTK_CONTAINER (self->list));

  for (GList *l = rows; l != NULL; l = l->next)
    gtk_widget_destroy (l->data);
  if (self->entries == NULL)
    return;
  for (guint i = 0; i < self->entries->len; i++)
    gtk_container_add (GTK_CONTAINER (self->list),
                       create_row (self, g_ptr_array_index (self->entries, i)));
}

/* Reading the table */

typedef struct
{
  PlRouterWindow *self;          /* (owned) */
  GCancellable   *cancellable;   /* (owned): this read's; self->reading while it runs */
} ReadOp;

static void
read_op_free (ReadOp *op)
{
  g_object_unref (op->self);
  g_object_unref (op->cancellable);
  g_free (op);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ReadOp, read_op_free)

static void
list_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(ReadOp) op = user_data;
  PlRouterWindow *self = op->self;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  guint unreadable = 0;

  entries = pl_upnp_table_list_finish (PL_UPNP_DISCOVERY (source), result, &unreadable, &error);
  /* Another read, another gateway, or the window went. */
  if (g_cancellable_is_cancelled (op->cancellable))
    return;

  g_clear_object (&self->reading);
  update_busy (self);
  if (entries == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("Cannot read the router’s table: %s"),
                                               error->message);

      show_unavailable (self, text);
      return;
    }

  self->n_reads++;
  g_clear_pointer (&self->entries, g_ptr_array_unref);
  self->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_upnp_entry_free);
  for (guint i = 0; i < entries->len; i++)
    g_ptr_array_add (self->entries, pl_upnp_entry_copy (g_ptr_array_index (entries, i)));
  update_rows (self);
  gtk_stack_set_visible_child_name (self->stack, entries->len > 0 ? "list" : "empty");
  if (unreadable > 0)
    {
      g_autofree char *text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                            "%u row could not be read",
                                                            "%u rows could not be read",
                                                            unreadable),
                                               unreadable);

      show_message (self, GTK_MESSAGE_WARNING, text);
    }
}

static void
wait_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(ReadOp) op = user_data;
  PlRouterWindow *self = op->self;
  g_autoptr(GError) error = NULL;
  g_autoptr(GUPnPServiceProxy) proxy = NULL;
  GCancellable *cancellable;

  proxy = pl_upnp_discovery_wait_finish (PL_UPNP_DISCOVERY (source), result, &error);
  if (g_cancellable_is_cancelled (op->cancellable))
    return;
  if (proxy == NULL)
    {
      g_debug ("No UPnP-IGD: %s", error->message);
      g_clear_object (&self->reading);
      update_busy (self);
      show_unavailable (self, _("Your router does not answer UPnP-IGD, so Portlight cannot "
                                "read its table"));
      return;
    }
  cancellable = op->cancellable;
  pl_upnp_table_list_async (PL_UPNP_DISCOVERY (source), cancellable, list_cb,
                            g_steal_pointer (&op));
}

/* Reads the table (after the router's UPnP service is found), cancelling a read in flight. */
static void
read_table (PlRouterWindow *self)
{
  ReadOp *op;

  g_clear_handle_id (&self->refresh_id, g_source_remove);
  if (self->reading != NULL)
    {
      g_cancellable_cancel (self->reading);
      g_clear_object (&self->reading);
    }
  if (self->client == NULL)
    return;

  self->reading = g_cancellable_new ();
  op = g_new0 (ReadOp, 1);
  op->self = g_object_ref (self);
  op->cancellable = g_object_ref (self->reading);
  if (self->entries == NULL)
    gtk_stack_set_visible_child_name (self->stack, "loading");
  update_busy (self);
  pl_upnp_discovery_wait_async (pl_upnp_client_get_discovery (self->client), 0, op->cancellable,
                                wait_cb, op);
}

static gboolean
refresh_timeout_cb (gpointer user_data)
{
  PlRouterWindow *self = user_data;

  self->refresh_id = 0;
  read_table (self);
  return G_SOURCE_REMOVE;
}

static void
table_changed_cb (PlRouterWindow *self)
{
  if (self->refresh_id == 0)
    self->refresh_id = g_timeout_add (REFRESH_DELAY_MS, refresh_timeout_cb, self);
}

/* The gateway */

/* The interface of the default route when it leads to @gateway; NULL (the one whose network
 * holds the gateway) otherwise. */
static char *
interface_for (GInetAddress *gateway)
{
  g_autoptr(PlGateway) found = pl_gateway_discover (NULL);

  if (found == NULL || found->interface == NULL || !g_inet_address_equal (found->address, gateway))
    return NULL;
  return g_strdup (found->interface);
}

static void
drop_client (PlRouterWindow *self)
{
  g_clear_handle_id (&self->refresh_id, g_source_remove);
  if (self->reading != NULL)
    {
      g_cancellable_cancel (self->reading);
      g_clear_object (&self->reading);
    }
  if (self->client != NULL)
    g_signal_handlers_disconnect_by_data (self->client, self);
  g_clear_object (&self->client);
  g_clear_object (&self->gateway);
}

static void
start_client (PlRouterWindow *self)
{
  GInetAddress *gateway = pl_session_get_gateway (self->session);
  g_autofree char *gateway_text = NULL;
  g_autofree char *iface = NULL;
  g_autoptr(GError) error = NULL;

  drop_client (self);
  hide_message (self);
  g_clear_pointer (&self->entries, g_ptr_array_unref);
  update_rows (self);
  if (gateway == NULL)
    {
      gtk_header_bar_set_subtitle (self->header, NULL);
      show_unavailable (self, _("No router found on this network"));
      update_busy (self);
      return;
    }

  gateway_text = g_inet_address_to_string (gateway);
  {
    /* TRANSLATORS: under the window's title; %s is the router's address */
    g_autofree char *subtitle = g_strdup_printf (_("Router %s"), gateway_text);

    gtk_header_bar_set_subtitle (self->header, subtitle);
  }
  iface = interface_for (gateway);
  self->gateway = g_object_ref (gateway);
  self->client = pl_upnp_client_new (gateway, iface, pl_session_get_clock (self->session));
  g_signal_connect_swapped (self->client, "table-changed", G_CALLBACK (table_changed_cb), self);
  if (!pl_port_mapper_listen (PL_PORT_MAPPER (self->client), 0, iface, &error))
    g_debug ("Not watching the router's table: %s", error->message);
  read_table (self);
}

static void
gateway_changed_cb (PlRouterWindow *self)
{
  GInetAddress *gateway = pl_session_get_gateway (self->session);

  if (gateway == self->gateway ||
      (gateway != NULL && self->gateway != NULL && g_inet_address_equal (gateway, self->gateway)))
    return;
  start_client (self);
}

static void
retry_clicked_cb (PlRouterWindow *self)
{
  hide_message (self);
  if (self->client == NULL)
    start_client (self);
  else
    read_table (self);
}

/* Public */

void
pl_router_window_refresh (PlRouterWindow *self)
{
  g_return_if_fail (PL_IS_ROUTER_WINDOW (self));

  read_table (self);
}

gboolean
pl_router_window_is_busy (PlRouterWindow *self)
{
  g_return_val_if_fail (PL_IS_ROUTER_WINDOW (self), FALSE);

  return self->reading != NULL || self->n_removing > 0 || self->refresh_id != 0;
}

guint
pl_router_window_get_n_reads (PlRouterWindow *self)
{
  g_return_val_if_fail (PL_IS_ROUTER_WINDOW (self), 0);

  return self->n_reads;
}

PlRouterWindow *
pl_router_window_new (GtkApplication *application,
                      PlSession      *session,
                      PlProfileStore *store)
{
  PlRouterWindow *self;

  g_return_val_if_fail (application == NULL || GTK_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (PL_IS_SESSION (session), NULL);
  g_return_val_if_fail (PL_IS_PROFILE_STORE (store), NULL);

  self = g_object_new (PL_TYPE_ROUTER_WINDOW, "application", application, NULL);
  self->session = g_object_ref (session);
  self->store = g_object_ref (store);

  g_signal_connect_object (session, "notify::gateway", G_CALLBACK (gateway_changed_cb), self,
                           G_CONNECT_SWAPPED);
  /* Owners and the Keep buttons follow the session's mappings and the profiles. */
  g_signal_connect_object (session, "mapping-changed", G_CALLBACK (update_rows), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (store, "items-changed", G_CALLBACK (update_rows), self,
                           G_CONNECT_SWAPPED | G_CONNECT_AFTER);

  start_client (self);
  return self;
}

static void
pl_router_window_dispose (GObject *object)
{
  PlRouterWindow *self = PL_ROUTER_WINDOW (object);

  g_cancellable_cancel (self->alive);
  drop_client (self);
  g_clear_pointer (&self->entries, g_ptr_array_unref);
  g_clear_object (&self->session);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (pl_router_window_parent_class)->dispose (object);
}

static void
pl_router_window_finalize (GObject *object)
{
  PlRouterWindow *self = PL_ROUTER_WINDOW (object);

  g_clear_object (&self->alive);

  G_OBJECT_CLASS (pl_router_window_parent_class)->finalize (object);
}

static void
pl_router_window_class_init (PlRouterWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pl_router_window_dispose;
  object_class->finalize = pl_router_window_finalize;
}

static GtkWidget *
centered_page (GtkWidget *first,
               GtkWidget *second)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);

  gtk_widget_set_halign (box, GTK_ALIGN_CENTER);
  gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
  gtk_widget_set_margin_start (box, 24);
  gtk_widget_set_margin_end (box, 24);
  gtk_container_add (GTK_CONTAINER (box), first);
  if (second != NULL)
    gtk_container_add (GTK_CONTAINER (box), second);
  return box;
}

static void
pl_router_window_init (PlRouterWindow *self)
{
  GtkWidget *vbox = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *content;
  GtkWidget *scrolled;
  GtkWidget *label;
  GtkWidget *retry;

  self->alive = g_cancellable_new ();

  gtk_window_set_title (GTK_WINDOW (self), _("What’s Open on Your Router"));
  gtk_window_set_default_size (GTK_WINDOW (self), 640, 420);
  gtk_window_set_icon_name (GTK_WINDOW (self), "io.github.portlight.Portlight");

  self->header = GTK_HEADER_BAR (gtk_header_bar_new ());
  gtk_header_bar_set_title (self->header, _("What’s Open on Your Router"));
  gtk_header_bar_set_show_close_button (self->header, TRUE);
  self->refresh_button = gtk_button_new_from_icon_name ("view-refresh-symbolic",
                                                        GTK_ICON_SIZE_BUTTON);
  gtk_widget_set_name (self->refresh_button, "refresh");
  gtk_widget_set_tooltip_text (self->refresh_button, _("Read the table again"));
  g_signal_connect_swapped (self->refresh_button, "clicked", G_CALLBACK (retry_clicked_cb), self);
  gtk_header_bar_pack_start (self->header, self->refresh_button);
  self->spinner = GTK_SPINNER (gtk_spinner_new ());
  gtk_widget_set_name (GTK_WIDGET (self->spinner), "spinner");
  gtk_header_bar_pack_end (self->header, GTK_WIDGET (self->spinner));
  gtk_widget_show_all (GTK_WIDGET (self->header));
  gtk_window_set_titlebar (GTK_WINDOW (self), GTK_WIDGET (self->header));

  self->message_bar = GTK_INFO_BAR (gtk_info_bar_new ());
  gtk_widget_set_name (GTK_WIDGET (self->message_bar), "message-bar");
  gtk_info_bar_set_show_close_button (self->message_bar, TRUE);
  gtk_widget_set_no_show_all (GTK_WIDGET (self->message_bar), TRUE);
  self->message_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_widget_set_name (GTK_WIDGET (self->message_label), "message-label");
  gtk_label_set_line_wrap (self->message_label, TRUE);
  gtk_label_set_xalign (self->message_label, 0);
  gtk_label_set_selectable (self->message_label, TRUE);
  gtk_widget_set_hexpand (GTK_WIDGET (self->message_label), TRUE);
  gtk_widget_show (GTK_WIDGET (self->message_label));
  content = gtk_info_bar_get_content_area (self->message_bar);
  gtk_container_add (GTK_CONTAINER (content), GTK_WIDGET (self->message_label));
  g_signal_connect_swapped (self->message_bar, "response", G_CALLBACK (message_response_cb),
                            self);
  gtk_container_add (GTK_CONTAINER (vbox), GTK_WIDGET (self->message_bar));

  self->stack = GTK_STACK (gtk_stack_new ());
  gtk_widget_set_name (GTK_WIDGET (self->stack), "stack");
  gtk_widget_set_vexpand (GTK_WIDGET (self->stack), TRUE);

  self->loading_spinner = GTK_SPINNER (gtk_spinner_new ());
  gtk_widget_set_size_request (GTK_WIDGET (self->loading_spinner), 32, 32);
  gtk_spinner_start (self->loading_spinner);
  label = gtk_label_new (_("Reading the router’s table…"));
  gtk_stack_add_named (self->stack,
                       centered_page (GTK_WIDGET (self->loading_spinner), label), "loading");

  scrolled = gtk_scrolled_window_new (NULL, NULL);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_shadow_type (GTK_SCROLLED_WINDOW (scrolled), GTK_SHADOW_IN);
  gtk_widget_set_margin_start (scrolled, 12);
  gtk_widget_set_margin_end (scrolled, 12);
  gtk_widget_set_margin_top (scrolled, 12);
  gtk_widget_set_margin_bottom (scrolled, 12);
  self->list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_widget_set_name (GTK_WIDGET (self->list), "list");
  gtk_list_box_set_selection_mode (self->list, GTK_SELECTION_NONE);
  atk_object_set_name (gtk_widget_get_accessible (GTK_WIDGET (self->list)),
                       _("Port mappings on the router"));
  gtk_container_add (GTK_CONTAINER (scrolled), GTK_WIDGET (self->list));
  gtk_stack_add_named (self->stack, scrolled, "list");

  label = gtk_label_new (_("The router holds no port mappings"));
  gtk_widget_set_name (label, "empty-label");
  gtk_stack_add_named (self->stack, centered_page (label, NULL), "empty");

  self->unavailable_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_widget_set_name (GTK_WIDGET (self->unavailable_label), "unavailable-label");
  gtk_label_set_line_wrap (self->unavailable_label, TRUE);
  gtk_label_set_justify (self->unavailable_label, GTK_JUSTIFY_CENTER);
  gtk_label_set_max_width_chars (self->unavailable_label, 50);
  retry = gtk_button_new_with_mnemonic (_("_Retry"));
  gtk_widget_set_name (retry, "retry");
  gtk_widget_set_halign (retry, GTK_ALIGN_CENTER);
  g_signal_connect_swapped (retry, "clicked", G_CALLBACK (retry_clicked_cb), self);
  gtk_stack_add_named (self->stack, centered_page (GTK_WIDGET (self->unavailable_label), retry),
                       "unavailable");

  gtk_container_add (GTK_CONTAINER (vbox), GTK_WIDGET (self->stack));
  gtk_widget_show_all (vbox);
  gtk_container_add (GTK_CONTAINER (self), vbox);
  gtk_stack_set_visible_child_name (self->stack, "loading");
}
