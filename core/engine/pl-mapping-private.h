/* pl-mapping-private.h: setters for the session engine
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "pl-mapping.h"

G_BEGIN_DECLS

/* Only PlSession changes a mapping. Each setter notifies, and returns TRUE, only when the
 * value really changed. */

PlMapping *_pl_mapping_new                         (const char     *profile_name,
                                                    PlProtocol      protocol,
                                                    guint16         internal_port,
                                                    guint16         requested_external_port);
PlMapping *_pl_mapping_new_full                    (const char     *profile_name,
                                                    PlProtocol      protocol,
                                                    GSocketFamily   family);
gboolean   _pl_mapping_set_external_address        (PlMapping      *self,
                                                    const char     *address);
gboolean   _pl_mapping_set_profile_name            (PlMapping      *self,
                                                    const char     *profile_name);
gboolean   _pl_mapping_set_internal_port           (PlMapping      *self,
                                                    guint16         port);
gboolean   _pl_mapping_set_requested_external_port (PlMapping      *self,
                                                    guint16         port);
gboolean   _pl_mapping_set_any_external_port       (PlMapping      *self,
                                                    gboolean        any);
gboolean   _pl_mapping_set_state                   (PlMapping      *self,
                                                    PlMappingState  state);
gboolean   _pl_mapping_set_external_port           (PlMapping      *self,
                                                    guint16         port);
gboolean   _pl_mapping_set_lifetime                (PlMapping      *self,
                                                    guint32         lifetime);
gboolean   _pl_mapping_set_expires                 (PlMapping      *self,
                                                    gint64          expires);
gboolean   _pl_mapping_set_renew_at                (PlMapping      *self,
                                                    gint64          renew_at);
/* @error: (nullable) (transfer none) */
gboolean   _pl_mapping_set_error                   (PlMapping      *self,
                                                    const GError   *error);
gboolean   _pl_mapping_set_retry_at                (PlMapping      *self,
                                                    gint64          retry_at);

G_END_DECLS
