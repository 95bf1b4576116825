/* pl-mapping.h: the state of one port mapping
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "pl-types.h"

G_BEGIN_DECLS

/**
 * PlMappingState:
 * @PL_MAPPING_STATE_DISABLED: the profile is switched off; nothing is mapped
 * @PL_MAPPING_STATE_MAPPING: a request to create (or re-create) the mapping is queued or in
 *   flight
 * @PL_MAPPING_STATE_ACTIVE: the gateway granted the mapping; it is renewed on schedule
 * @PL_MAPPING_STATE_FAILED: the last attempt failed; another follows at
 *   [property@Pl.Mapping:retry-at]
 *
 * Where one mapping stands.
 */
typedef enum
{
  PL_MAPPING_STATE_DISABLED,
  PL_MAPPING_STATE_MAPPING,
  PL_MAPPING_STATE_ACTIVE,
  PL_MAPPING_STATE_FAILED,
} PlMappingState;

#define PL_TYPE_MAPPING_STATE (pl_mapping_state_get_type ())
GType pl_mapping_state_get_type (void) G_GNUC_CONST;

const char *pl_mapping_state_to_string (PlMappingState state);

#define PL_TYPE_MAPPING (pl_mapping_get_type ())

G_DECLARE_FINAL_TYPE (PlMapping, pl_mapping, PL, MAPPING, GObject)

const char     *pl_mapping_get_profile_name            (PlMapping *self);
PlProtocol      pl_mapping_get_protocol                (PlMapping *self);
GSocketFamily   pl_mapping_get_family                  (PlMapping *self);
const char     *pl_mapping_get_external_address        (PlMapping *self);
guint16         pl_mapping_get_internal_port           (PlMapping *self);
guint16         pl_mapping_get_requested_external_port (PlMapping *self);
gboolean        pl_mapping_get_any_external_port       (PlMapping *self);
PlMappingState  pl_mapping_get_state                   (PlMapping *self);
guint16         pl_mapping_get_external_port           (PlMapping *self);
guint32         pl_mapping_get_lifetime                (PlMapping *self);
gint64          pl_mapping_get_expires                 (PlMapping *self);
gint64          pl_mapping_get_renew_at                (PlMapping *self);
const GError   *pl_mapping_get_error                   (PlMapping *self);
gint64          pl_mapping_get_retry_at                (PlMapping *self);

G_END_DECLS
