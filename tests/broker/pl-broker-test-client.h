/* pl-broker-test-client.h: a small C client of the broker for tests
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

#include "pl-broker.h"

G_BEGIN_DECLS

/* One client: its own connection to the bus at an address (so its own unique name), a
 * GDBusObjectManagerClient on the broker, and the Manager proxy. Everything it does is
 * asynchronous on the thread-default main context and waited for by iterating that context,
 * so the broker may live in the same thread (a synchronous call would block it). */
typedef struct
{
  GDBusConnection    *connection;
  GDBusObjectManager *objects;
  PlBrokerManager    *manager;
} PlTestClient;

PlTestClient  *pl_test_client_new        (const char    *address);
void           pl_test_client_free       (PlTestClient  *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlTestClient, pl_test_client_free)

const char    *pl_test_client_get_name   (PlTestClient  *self);

/* RequestMapping. @protocols: "tcp", "udp" or "tcp,udp" (or "" for none). @options: (nullable)
 * (transfer full): an a{sv}, floating or not. Returns: (transfer full) (nullable): the lease's path. */
char          *pl_test_client_request    (PlTestClient  *self,
                                          const char    *protocols,
                                          guint16        internal_port,
                                          GVariant      *options,
                                          GUnixFDList   *fds,
                                          GError       **error);
/* Calls @method (e.g. "Release") on @interface_name at @path with no arguments. */
gboolean       pl_test_client_call       (PlTestClient  *self,
                                          const char    *path,
                                          const char    *interface_name,
                                          const char    *method,
                                          GError       **error);
/* Returns: (transfer full) (nullable): the Lease proxy at @path from the object manager. */
PlBrokerLease *pl_test_client_get_lease  (PlTestClient  *self,
                                          const char    *path);
/* Iterates the main context until the lease at @path has State @state (it must exist). */
void           pl_test_client_wait_state (PlTestClient  *self,
                                          const char    *path,
                                          const char    *state);
/* Iterates until the object manager no longer lists @path. */
void           pl_test_client_wait_gone  (PlTestClient  *self,
                                          const char    *path);
/* Leaves the bus (as a crash would: no Release). */
void           pl_test_client_close      (PlTestClient  *self);

/* Iterates the thread-default main context until *@flag is TRUE. */
void           pl_test_wait_flag         (gboolean      *flag);

G_END_DECLS
