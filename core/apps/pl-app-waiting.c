/* pl-app-waiting.c: the engine's reasons for waiting profiles, on the broker's Profile
 * objects
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-app-waiting.h"

/* Why here and not in the broker: the broker (core/broker/) knows the user's profiles, not
 * which application runs or which network this is; the model of app- and network-linked
 * profiles (this folder) is built over the broker's. So the broker asks a function for
 * Profile.Waiting whenever it updates a profile's object, and this file gives it one and
 * tells it when a reason may have changed without the profile changing (::app-changed).
 * A profile added is known to this model before the broker makes its object: the broker's
 * lease registry, which this model follows, is told of the user's change first (it
 * connected to the user's model when the broker was made, before the broker exported). */

static char *
waiting_func (const char *profile_name,
              gpointer    user_data)
{
  return pl_app_profiles_dup_reason (PL_APP_PROFILES (user_data), profile_name);
}

static void
app_changed_cb (PlAppProfiles *apps,
                const char    *profile_name,
                PlBroker      *broker)
{
  pl_broker_update_waiting (broker, profile_name);
}

void
pl_app_profiles_publish_waiting (PlAppProfiles *self,
                                 PlBroker      *broker)
{
  g_return_if_fail (PL_IS_APP_PROFILES (self));
  g_return_if_fail (PL_IS_BROKER (broker));

  /* The handlers hold no reference on the broker (they go with it); the broker holds the
   * model, which holds no reference on the broker: no cycle. */
  g_signal_connect_object (self, "app-changed", G_CALLBACK (app_changed_cb), broker, 0);
  pl_broker_set_waiting_func (broker, waiting_func, g_object_ref (self), g_object_unref);
}
