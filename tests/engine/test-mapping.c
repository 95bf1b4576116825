/* test-mapping.c: PlMapping properties and change notification
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "pl-core.h"
#include "pl-mapping-private.h"

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  (*(guint *) user_data)++;
}

static void
test_state_enum (void)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (PL_TYPE_MAPPING_STATE);
  static const struct { PlMappingState state; const char *nick; } states[] = {
    { PL_MAPPING_STATE_DISABLED, "disabled" },
    { PL_MAPPING_STATE_MAPPING, "mapping" },
    { PL_MAPPING_STATE_ACTIVE, "active" },
    { PL_MAPPING_STATE_FAILED, "failed" },
  };

  g_test_summary ("PlMappingState has a GType whose nicks match pl_mapping_state_to_string()");

  g_assert_cmpuint (klass->n_values, ==, G_N_ELEMENTS (states));
  for (guint i = 0; i < G_N_ELEMENTS (states); i++)
    {
      GEnumValue *value = g_enum_get_value (klass, states[i].state);

      g_assert_nonnull (value);
      g_assert_cmpstr (value->value_nick, ==, states[i].nick);
      g_assert_cmpstr (pl_mapping_state_to_string (states[i].state), ==, states[i].nick);
    }
  g_assert_cmpstr (pl_mapping_state_to_string ((PlMappingState) 42), ==, "unknown");
}

static void
test_defaults (void)
{
  g_autoptr(PlMapping) mapping = _pl_mapping_new ("SSH", PL_PROTOCOL_TCP, 22, 2222);
  g_autofree char *name = NULL;
  guint protocol = 0;
  PlMappingState state = PL_MAPPING_STATE_FAILED;

  g_test_summary ("A new mapping is DISABLED with nothing granted, and its read-only "
                  "properties mirror the getters");

  g_assert_cmpstr (pl_mapping_get_profile_name (mapping), ==, "SSH");
  g_assert_cmpint (pl_mapping_get_protocol (mapping), ==, PL_PROTOCOL_TCP);
  g_assert_cmpuint (pl_mapping_get_internal_port (mapping), ==, 22);
  g_assert_cmpuint (pl_mapping_get_requested_external_port (mapping), ==, 2222);
  g_assert_cmpint (pl_mapping_get_state (mapping), ==, PL_MAPPING_STATE_DISABLED);
  g_assert_cmpuint (pl_mapping_get_external_port (mapping), ==, 0);
  g_assert_cmpuint (pl_mapping_get_lifetime (mapping), ==, 0);
  g_assert_cmpint (pl_mapping_get_expires (mapping), ==, 0);
  g_assert_cmpint (pl_mapping_get_renew_at (mapping), ==, 0);
  g_assert_cmpint (pl_mapping_get_retry_at (mapping), ==, 0);
  g_assert_null (pl_mapping_get_error (mapping));

  g_object_get (mapping, "profile-name", &name, "protocol", &protocol, "state", &state, NULL);
  g_assert_cmpstr (name, ==, "SSH");
  g_assert_cmpuint (protocol, ==, PL_PROTOCOL_TCP);
  g_assert_cmpint (state, ==, PL_MAPPING_STATE_DISABLED);
}

static void
test_notify_on_change_only (void)
{
  g_autoptr(PlMapping) mapping = _pl_mapping_new ("DNS", PL_PROTOCOL_UDP, 53, 0);
  g_autoptr(GError) error = g_error_new_literal (PL_ERROR, PL_ERROR_TIMED_OUT, "no answer");
  g_autoptr(GError) same = g_error_copy (error);
  g_autoptr(GError) got = NULL;
  guint n_notify = 0;

  g_test_summary ("Setters notify, and report a change, only when the value really changes");

  g_signal_connect (mapping, "notify", G_CALLBACK (count_notify_cb), &n_notify);

  g_assert_true (_pl_mapping_set_state (mapping, PL_MAPPING_STATE_ACTIVE));
  g_assert_false (_pl_mapping_set_state (mapping, PL_MAPPING_STATE_ACTIVE));
  g_assert_true (_pl_mapping_set_external_port (mapping, 40000));
  g_assert_false (_pl_mapping_set_external_port (mapping, 40000));
  g_assert_true (_pl_mapping_set_lifetime (mapping, 60));
  g_assert_true (_pl_mapping_set_expires (mapping, 60 * G_USEC_PER_SEC));
  g_assert_true (_pl_mapping_set_renew_at (mapping, 30 * G_USEC_PER_SEC));
  g_assert_true (_pl_mapping_set_retry_at (mapping, 1));
  g_assert_true (_pl_mapping_set_profile_name (mapping, "Resolver"));
  g_assert_false (_pl_mapping_set_profile_name (mapping, "Resolver"));
  g_assert_true (_pl_mapping_set_internal_port (mapping, 5353));
  g_assert_true (_pl_mapping_set_requested_external_port (mapping, 53));
  g_assert_cmpuint (n_notify, ==, 9);

  g_assert_true (_pl_mapping_set_error (mapping, error));
  g_assert_false (_pl_mapping_set_error (mapping, same));
  g_assert_error (pl_mapping_get_error (mapping), PL_ERROR, PL_ERROR_TIMED_OUT);
  g_object_get (mapping, "error", &got, NULL);
  g_assert_error (got, PL_ERROR, PL_ERROR_TIMED_OUT);
  g_assert_true (_pl_mapping_set_error (mapping, NULL));
  g_assert_false (_pl_mapping_set_error (mapping, NULL));
  g_assert_null (pl_mapping_get_error (mapping));
  g_assert_cmpuint (n_notify, ==, 11);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/mapping/state-enum", test_state_enum);
  g_test_add_func ("/mapping/defaults", test_defaults);
  g_test_add_func ("/mapping/notify-on-change-only", test_notify_on_change_only);

  return g_test_run ();
}
