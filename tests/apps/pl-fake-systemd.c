/* pl-fake-systemd.c: a scripted systemd user manager (org.freedesktop.systemd1) for tests
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-fake-systemd.h"

#define SYSTEMD_NAME "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"

static const char introspection[] =
  "<node>"
  " <interface name='org.freedesktop.systemd1.Manager'>"
  "  <method name='Subscribe'/>"
  "  <method name='ListUnits'>"
  "   <arg type='a(ssssssouso)' direction='out'/>"
  "  </method>"
  "  <signal name='UnitNew'><arg type='s'/><arg type='o'/></signal>"
  "  <signal name='UnitRemoved'><arg type='s'/><arg type='o'/></signal>"
  " </interface>"
  " <interface name='org.freedesktop.systemd1.Unit'>"
  "  <property name='ActiveState' type='s' access='read'/>"
  "  <property name='Id' type='s' access='read'/>"
  " </interface>"
  "</node>";

typedef struct
{
  char  *id;
  char  *path;
  char  *state;
  guint  registration;
} Unit;

struct _PlFakeSystemd
{
  GObject          parent_instance;

  GDBusConnection *bus;
  GDBusNodeInfo   *info;
  guint            manager_registration;
  guint            owner_id;
  gboolean         owned;
  gboolean         lost;
  GHashTable      *units;   /* id -> Unit* */
  guint            n_subscribed;
};

G_DEFINE_FINAL_TYPE (PlFakeSystemd, pl_fake_systemd, G_TYPE_OBJECT)

static void
unit_free (gpointer data)
{
  Unit *unit = data;

  g_free (unit->id);
  g_free (unit->path);
  g_free (unit->state);
  g_free (unit);
}

/* systemd's bus path escaping: every byte but [A-Za-z0-9] as _xx. */
static char *
unit_path (const char *id)
{
  GString *path = g_string_new (SYSTEMD_PATH "/unit/");

  for (const char *p = id; *p != '\0'; p++)
    {
      if (g_ascii_isalnum (*p))
        g_string_append_c (path, *p);
      else
        g_string_append_printf (path, "_%02x", (guchar) *p);
    }
  return g_string_free (path, FALSE);
}

static void
manager_method_call (GDBusConnection       *connection,
                     const char            *sender,
                     const char            *object_path,
                     const char            *interface_name,
                     const char            *method_name,
                     GVariant              *parameters,
                     GDBusMethodInvocation *invocation,
                     gpointer               user_data)
{
  PlFakeSystemd *self = user_data;

  if (g_strcmp0 (method_name, "Subscribe") == 0)
    {
      self->n_subscribed++;
      g_dbus_method_invocation_return_value (invocation, NULL);
    }
  else if (g_strcmp0 (method_name, "ListUnits") == 0)
    {
      g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(ssssssouso)"));
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, self->units);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          Unit *unit = value;

          g_variant_builder_add (&builder, "(ssssssouso)", unit->id, "", "loaded", unit->state,
                                 "running", "", unit->path, (guint32) 0, "", "/");
        }
      g_dbus_method_invocation_return_value (invocation,
                                             g_variant_new ("(a(ssssssouso))", &builder));
    }
  else
    g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR,
                                           G_DBUS_ERROR_UNKNOWN_METHOD, "No %s", method_name);
}

static GVariant *
unit_get_property (GDBusConnection *connection,
                   const char      *sender,
                   const char      *object_path,
                   const char      *interface_name,
                   const char      *property_name,
                   GError         **error,
                   gpointer         user_data)
{
  Unit *unit = user_data;

  if (g_strcmp0 (property_name, "ActiveState") == 0)
    return g_variant_new_string (unit->state);
  return g_variant_new_string (unit->id);
}

static const GDBusInterfaceVTable manager_vtable = { manager_method_call, NULL, NULL, { 0 } };
static const GDBusInterfaceVTable unit_vtable = { NULL, unit_get_property, NULL, { 0 } };

static void
pl_fake_systemd_dispose (GObject *object)
{
  PlFakeSystemd *self = PL_FAKE_SYSTEMD (object);

  if (self->units != NULL)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, self->units);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        g_dbus_connection_unregister_object (self->bus, ((Unit *) value)->registration);
      g_clear_pointer (&self->units, g_hash_table_unref);
    }
  if (self->manager_registration != 0)
    g_dbus_connection_unregister_object (self->bus, self->manager_registration);
  self->manager_registration = 0;
  g_clear_handle_id (&self->owner_id, g_bus_unown_name);
  g_clear_pointer (&self->info, g_dbus_node_info_unref);
  g_clear_object (&self->bus);

  G_OBJECT_CLASS (pl_fake_systemd_parent_class)->dispose (object);
}

static void
pl_fake_systemd_class_init (PlFakeSystemdClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pl_fake_systemd_dispose;
}

static void
pl_fake_systemd_init (PlFakeSystemd *self)
{
  self->units = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, unit_free);
}

static void
name_acquired_cb (GDBusConnection *connection,
                  const char      *name,
                  gpointer         user_data)
{
  PL_FAKE_SYSTEMD (user_data)->owned = TRUE;
}

static void
name_lost_cb (GDBusConnection *connection,
              const char      *name,
              gpointer         user_data)
{
  PL_FAKE_SYSTEMD (user_data)->lost = TRUE;
}

PlFakeSystemd *
pl_fake_systemd_new (GDBusConnection *bus,
                     GError         **error)
{
  g_autoptr(PlFakeSystemd) self = g_object_new (PL_TYPE_FAKE_SYSTEMD, NULL);

  self->bus = g_object_ref (bus);
  self->info = g_dbus_node_info_new_for_xml (introspection, error);
  if (self->info == NULL)
    return NULL;
  self->manager_registration =
    g_dbus_connection_register_object (bus, SYSTEMD_PATH, self->info->interfaces[0],
                                       &manager_vtable, self, NULL, error);
  if (self->manager_registration == 0)
    return NULL;
  self->owner_id = g_bus_own_name_on_connection (bus, SYSTEMD_NAME, G_BUS_NAME_OWNER_FLAGS_NONE,
                                                 name_acquired_cb, name_lost_cb, self, NULL);
  while (!self->owned && !self->lost)
    g_main_context_iteration (NULL, TRUE);
  if (self->lost)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "Could not own %s", SYSTEMD_NAME);
      return NULL;
    }
  return g_steal_pointer (&self);
}

void
pl_fake_systemd_add_unit (PlFakeSystemd *self,
                          const char    *id,
                          const char    *state)
{
  Unit *unit;

  g_return_if_fail (PL_IS_FAKE_SYSTEMD (self));
  g_return_if_fail (!g_hash_table_contains (self->units, id));

  unit = g_new0 (Unit, 1);
  unit->id = g_strdup (id);
  unit->path = unit_path (id);
  unit->state = g_strdup (state);
  unit->registration =
    g_dbus_connection_register_object (self->bus, unit->path, self->info->interfaces[1],
                                       &unit_vtable, unit, NULL, NULL);
  g_hash_table_insert (self->units, unit->id, unit);
  g_dbus_connection_emit_signal (self->bus, NULL, SYSTEMD_PATH,
                                 "org.freedesktop.systemd1.Manager", "UnitNew",
                                 g_variant_new ("(so)", id, unit->path), NULL);
}

void
pl_fake_systemd_set_state (PlFakeSystemd *self,
                           const char    *id,
                           const char    *state)
{
  static const char * const none[] = { NULL };
  g_auto(GVariantBuilder) changed = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  Unit *unit;

  g_return_if_fail (PL_IS_FAKE_SYSTEMD (self));
  unit = g_hash_table_lookup (self->units, id);
  g_return_if_fail (unit != NULL);

  g_free (unit->state);
  unit->state = g_strdup (state);
  g_variant_builder_add (&changed, "{sv}", "ActiveState", g_variant_new_string (state));
  g_dbus_connection_emit_signal (self->bus, NULL, unit->path, "org.freedesktop.DBus.Properties",
                                 "PropertiesChanged",
                                 g_variant_new ("(sa{sv}^as)", "org.freedesktop.systemd1.Unit",
                                                &changed, none),
                                 NULL);
}

void
pl_fake_systemd_remove_unit (PlFakeSystemd *self,
                             const char    *id)
{
  g_autofree char *path = NULL;
  Unit *unit;

  g_return_if_fail (PL_IS_FAKE_SYSTEMD (self));
  unit = g_hash_table_lookup (self->units, id);
  g_return_if_fail (unit != NULL);

  path = g_strdup (unit->path);
  g_dbus_connection_unregister_object (self->bus, unit->registration);
  g_hash_table_remove (self->units, id);
  g_dbus_connection_emit_signal (self->bus, NULL, SYSTEMD_PATH,
                                 "org.freedesktop.systemd1.Manager", "UnitRemoved",
                                 g_variant_new ("(so)", id, path), NULL);
}

guint
pl_fake_systemd_get_n_subscribed (PlFakeSystemd *self)
{
  g_return_val_if_fail (PL_IS_FAKE_SYSTEMD (self), 0);
  return self->n_subscribed;
}
