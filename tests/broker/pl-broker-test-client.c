/* pl-broker-test-client.c: a small C client of the broker for tests
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-broker-test-client.h"

static void
store_result_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

void
pl_test_wait_flag (gboolean *flag)
{
  while (!*flag)
    g_main_context_iteration (NULL, TRUE);
}

PlTestClient *
pl_test_client_new (const char *address)
{
  g_autoptr(PlTestClient) self = g_new0 (PlTestClient, 1);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusInterface) manager = NULL;

  g_dbus_connection_new_for_address (address,
                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                     G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                     NULL, NULL, store_result_cb, &result);
  self->connection = g_dbus_connection_new_for_address_finish (wait_result (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);

  pl_broker_object_manager_client_new (self->connection,
                                       G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_DO_NOT_AUTO_START,
                                       PL_BROKER_BUS_NAME, PL_BROKER_OBJECT_PATH, NULL,
                                       store_result_cb, &result);
  self->objects = pl_broker_object_manager_client_new_finish (wait_result (&result), &error);
  g_assert_no_error (error);

  manager = g_dbus_object_manager_get_interface (self->objects, PL_BROKER_MANAGER_PATH,
                                                 "io.github.portlight.Portlight.Broker1.Manager");
  g_assert_nonnull (manager);
  self->manager = PL_BROKER_MANAGER (g_steal_pointer (&manager));
  return g_steal_pointer (&self);
}

void
pl_test_client_free (PlTestClient *self)
{
  if (self == NULL)
    return;
  g_clear_object (&self->manager);
  g_clear_object (&self->objects);
  if (self->connection != NULL && !g_dbus_connection_is_closed (self->connection))
    pl_test_client_close (self);
  g_clear_object (&self->connection);
  g_free (self);
}

const char *
pl_test_client_get_name (PlTestClient *self)
{
  return g_dbus_connection_get_unique_name (self->connection);
}

char *
pl_test_client_request (PlTestClient  *self,
                        const char    *protocols,
                        guint16        internal_port,
                        GVariant      *options,
                        GUnixFDList   *fds,
                        GError       **error)
{
  g_auto(GStrv) list = protocols[0] != '\0' ? g_strsplit (protocols, ",", -1)
                                            : g_new0 (char *, 1);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GVariant) sunk = NULL;
  char *path = NULL;

  if (options == NULL)
    options = g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0);
  sunk = g_variant_take_ref (options);   /* floating or full: ours now */
  pl_broker_manager_call_request_mapping (self->manager, (const char * const *) list,
                                          internal_port, sunk, fds, NULL, store_result_cb,
                                          &result);
  if (!pl_broker_manager_call_request_mapping_finish (self->manager, &path, NULL,
                                                      wait_result (&result), error))
    return NULL;
  return path;
}

gboolean
pl_test_client_call (PlTestClient  *self,
                     const char    *path,
                     const char    *interface_name,
                     const char    *method,
                     GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GVariant) reply = NULL;

  g_dbus_connection_call (self->connection, PL_BROKER_BUS_NAME, path, interface_name, method,
                          NULL, G_VARIANT_TYPE ("()"), G_DBUS_CALL_FLAGS_NO_AUTO_START, -1,
                          NULL, store_result_cb, &result);
  reply = g_dbus_connection_call_finish (self->connection, wait_result (&result), error);
  return reply != NULL;
}

PlBrokerLease *
pl_test_client_get_lease (PlTestClient *self,
                          const char   *path)
{
  return (PlBrokerLease *) g_dbus_object_manager_get_interface (
    self->objects, path, "io.github.portlight.Portlight.Broker1.Lease");
}

void
pl_test_client_wait_state (PlTestClient *self,
                           const char   *path,
                           const char   *state)
{
  for (;;)
    {
      g_autoptr(PlBrokerLease) lease = pl_test_client_get_lease (self, path);

      if (lease != NULL && g_strcmp0 (pl_broker_lease_get_state (lease), state) == 0)
        return;
      g_main_context_iteration (NULL, TRUE);
    }
}

void
pl_test_client_wait_gone (PlTestClient *self,
                          const char   *path)
{
  for (;;)
    {
      g_autoptr(GDBusObject) object = g_dbus_object_manager_get_object (self->objects, path);

      if (object == NULL)
        return;
      g_main_context_iteration (NULL, TRUE);
    }
}

void
pl_test_client_close (PlTestClient *self)
{
  g_autoptr(GAsyncResult) result = NULL;

  g_dbus_connection_close (self->connection, NULL, store_result_cb, &result);
  g_dbus_connection_close_finish (self->connection, wait_result (&result), NULL);
}
