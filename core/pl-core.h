/* pl-core.h: the umbrella include of portlight-core
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "pl-types.h"
#include "pl-error.h"
#include "pl-natpmp.h"
#include "pl-retransmit.h"
#include "pl-clock.h"
#include "pl-gateway.h"
#include "pl-tunnel.h"
#include "pl-ipv6-route.h"
#include "pl-listen-check.h"
#include "pl-network-watcher.h"
#include "pl-wifi-ssid.h"
#include "pl-client.h"
#include "pl-port-mapper.h"
#include "pl-mapper-probe.h"
#include "pl-method-memory.h"
#include "pl-pcp.h"
#include "pl-pcp-client.h"
#include "pl-pcp-state.h"
#include "pl-upnp-client.h"
#include "pl-upnp-description.h"
#include "pl-upnp-discovery.h"
#include "pl-upnp-error.h"
#include "pl-upnp-pinhole.h"
#include "pl-upnp-table.h"
#include "pl-mapping.h"
#include "pl-port-hook.h"
#include "pl-session.h"
#include "pl-app-link.h"
#include "pl-session-group.h"
#include "pl-network-link.h"
#include "pl-profile.h"
#include "pl-profile-store.h"
