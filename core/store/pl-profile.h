/* pl-profile.h
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
 * PlProfileProtocol:
 * @PL_PROFILE_PROTOCOL_TCP: one TCP mapping
 * @PL_PROFILE_PROTOCOL_UDP: one UDP mapping
 * @PL_PROFILE_PROTOCOL_BOTH: a TCP and a UDP mapping of the same ports
 *
 * What a profile maps. In the profiles file: `tcp`, `udp` or `both` (lower case).
 */
typedef enum
{
  PL_PROFILE_PROTOCOL_TCP,
  PL_PROFILE_PROTOCOL_UDP,
  PL_PROFILE_PROTOCOL_BOTH,
} PlProfileProtocol;

#define PL_TYPE_PROFILE_PROTOCOL (pl_profile_protocol_get_type ())
GType        pl_profile_protocol_get_type    (void) G_GNUC_CONST;

/* "tcp", "udp" or "both". */
const char  *pl_profile_protocol_to_string   (PlProfileProtocol  protocol);
/* Exactly "tcp", "udp" or "both" (no spaces, lower case). */
gboolean     pl_profile_protocol_from_string (const char        *str,
                                              PlProfileProtocol *protocol);
/* TRUE if the two share a transport (BOTH overlaps TCP, UDP and BOTH). */
gboolean     pl_profile_protocol_overlaps    (PlProfileProtocol  a,
                                              PlProfileProtocol  b);

/**
 * PlProfileFamily:
 * @PL_PROFILE_FAMILY_BOTH: the router's public IPv4 address and, where the router allows
 *   it, an IPv6 pinhole for this computer's address (the default)
 * @PL_PROFILE_FAMILY_IPV4: the router's public IPv4 address only
 * @PL_PROFILE_FAMILY_IPV6: an IPv6 pinhole only
 *
 * Where a profile opens its port. In the profiles file: `both`, `ipv4` or `ipv6`.
 */
typedef enum
{
  PL_PROFILE_FAMILY_BOTH,
  PL_PROFILE_FAMILY_IPV4,
  PL_PROFILE_FAMILY_IPV6,
} PlProfileFamily;

#define PL_TYPE_PROFILE_FAMILY (pl_profile_family_get_type ())
GType        pl_profile_family_get_type      (void) G_GNUC_CONST;
const char  *pl_profile_family_to_string     (PlProfileFamily    family);
gboolean     pl_profile_family_from_string   (const char        *str,
                                              PlProfileFamily   *family);

/* Limits, also documented for users (the profiles file and portlightctl). */
#define PL_PROFILE_DEFAULT_LIFETIME 7200
#define PL_PROFILE_MIN_LIFETIME     1
#define PL_PROFILE_MAX_LIFETIME     86400

/* The keys of a profile group in the profiles file. */
#define PL_PROFILE_KEY_PROTOCOL      "Protocol"
#define PL_PROFILE_KEY_FAMILY        "Family"
#define PL_PROFILE_KEY_INTERNAL_PORT "InternalPort"
#define PL_PROFILE_KEY_EXTERNAL_PORT "ExternalPort"
#define PL_PROFILE_KEY_LIFETIME      "Lifetime"
#define PL_PROFILE_KEY_ENABLED       "Enabled"
#define PL_PROFILE_KEY_DESCRIPTION   "Description"
#define PL_PROFILE_KEY_ON_PORT_CHANGE "OnPortChange"
/* App=: the application the profile is tied to (pl-app-link.h) */
#define PL_PROFILE_KEY_APP           "App"
#define PL_PROFILE_KEY_GATEWAY       "Gateway"

/**
 * PlProfileGateway:
 * @PL_PROFILE_GATEWAY_DEFAULT: whatever the default route is (no Gateway=, or `default`)
 * @PL_PROFILE_GATEWAY_VPN: the gateway of the VPN tunnel (`vpn`)
 * @PL_PROFILE_GATEWAY_ADDRESS: one gateway, by its IPv4 address (the home router)
 * @PL_PROFILE_GATEWAY_INVALID: the value is none of these
 *
 * Which gateway a profile is mapped on (Gateway=).
 */
typedef enum
{
  PL_PROFILE_GATEWAY_DEFAULT,
  PL_PROFILE_GATEWAY_VPN,
  PL_PROFILE_GATEWAY_ADDRESS,
  PL_PROFILE_GATEWAY_INVALID,
} PlProfileGateway;

#define PL_PROFILE_GATEWAY_DEFAULT_TEXT "default"
#define PL_PROFILE_GATEWAY_VPN_TEXT     "vpn"
/* Network=: the one network the profile is mapped on (pl-network-link.h) */
#define PL_PROFILE_KEY_NETWORK       "Network"

/* The text of ExternalPort for "whatever public port the router chooses". */
#define PL_PROFILE_EXTERNAL_PORT_ANY "any"

#define PL_TYPE_PROFILE (pl_profile_get_type ())

G_DECLARE_FINAL_TYPE (PlProfile, pl_profile, PL, PROFILE, GObject)

/**
 * PlProfile:
 *
 * A named port mapping the user wants: protocol, internal (private) port, requested
 * external (public) port, lifetime, whether it is enabled, and an optional description.
 *
 * Every property has a setter that notifies only on a real change. Setters do not refuse
 * out-of-range values, so that a profile can be filled in step by step;
 * pl_profile_validate() says precisely what is wrong. Profiles that belong to a
 * PlProfileStore are changed only through the store (pl_profile_store_replace(),
 * pl_profile_store_set_enabled()); listen to their notify signals.
 *
 * Properties: `name` (string), `protocol` (PlProfileProtocol, default TCP), `family`
 * (PlProfileFamily, default both),
 * `internal-port` (0 until set; valid 1-65535), `external-port` (0 = the same as the
 * internal port; valid 0-65535), `any-external-port` (TRUE: no port is asked for, the router
 * chooses one; `external-port` is then 0), `lifetime` (seconds, default 7200; valid 1-86400),
 * `enabled` (default TRUE), `description` (nullable; an empty string is stored as NULL),
 * `on-port-change` (nullable: a command run when the granted public port changes; see
 * pl_profile_validate_on_port_change()), `gateway` (nullable: Gateway=, see
 * pl_profile_validate_gateway()).
 *
 * Threading: a plain object without I/O; use it from one thread at a time.
 */

PlProfile         *pl_profile_new                  (const char         *name);
/* Returns: (transfer full): a new, unowned profile with the same values. */
PlProfile         *pl_profile_copy                 (PlProfile          *self);
/* Copies every value of @other into @self (notifying what changes). */
void               pl_profile_update               (PlProfile          *self,
                                                    PlProfile          *other);
gboolean           pl_profile_equal                (PlProfile          *a,
                                                    PlProfile          *b);

const char        *pl_profile_get_name             (PlProfile          *self);
void               pl_profile_set_name             (PlProfile          *self,
                                                    const char         *name);
PlProfileProtocol  pl_profile_get_protocol         (PlProfile          *self);
void               pl_profile_set_protocol         (PlProfile          *self,
                                                    PlProfileProtocol   protocol);
PlProfileFamily    pl_profile_get_family           (PlProfile          *self);
void               pl_profile_set_family           (PlProfile          *self,
                                                    PlProfileFamily     family);
guint              pl_profile_get_internal_port    (PlProfile          *self);
void               pl_profile_set_internal_port    (PlProfile          *self,
                                                    guint               port);
/* The requested public port; 0 = the same as the internal port. */
guint              pl_profile_get_external_port    (PlProfile          *self);
void               pl_profile_set_external_port    (PlProfile          *self,
                                                    guint               port);
/* TRUE: ask for no particular public port; the router chooses (ExternalPort=any). Setting
 * it TRUE sets external-port to 0. */
gboolean           pl_profile_get_any_external_port (PlProfile         *self);
void               pl_profile_set_any_external_port (PlProfile         *self,
                                                     gboolean           any);
/* The external port to ask the gateway for: the external port, or the internal one if 0;
 * 0 for any port. */
guint              pl_profile_get_requested_port   (PlProfile          *self);
guint              pl_profile_get_lifetime         (PlProfile          *self);
void               pl_profile_set_lifetime         (PlProfile          *self,
                                                    guint               lifetime);
gboolean           pl_profile_get_enabled          (PlProfile          *self);
void               pl_profile_set_enabled          (PlProfile          *self,
                                                    gboolean            enabled);
/* Returns: (nullable). */
const char        *pl_profile_get_description      (PlProfile          *self);
void               pl_profile_set_description      (PlProfile          *self,
                                                    const char         *description);
/* Returns: (nullable): the OnPortChange command line, as written in the profiles file. */
const char        *pl_profile_get_on_port_change   (PlProfile          *self);
/* An empty string is stored as NULL. */
void               pl_profile_set_on_port_change   (PlProfile          *self,
                                                    const char         *command);

/* App= (nullable): "app:ID", "process:NAME" or "unit:NAME" (see pl-app-link.h); the profile
 * is mapped only while that application runs. An empty string is stored as NULL. Setting a
 * value that pl_app_link_parse() refuses is allowed (pl_profile_validate() reports it). */
const char        *pl_profile_get_app              (PlProfile          *self);
void               pl_profile_set_app              (PlProfile          *self,
                                                    const char         *app);
/* Returns: (nullable): Gateway= as written in the profiles file; NULL when absent. */
const char        *pl_profile_get_gateway          (PlProfile          *self);
/* An empty string is stored as NULL. */
void               pl_profile_set_gateway          (PlProfile          *self,
                                                    const char         *gateway);
/* What Gateway= means; @address (nullable) gets the address for PL_PROFILE_GATEWAY_ADDRESS. */
PlProfileGateway   pl_profile_get_gateway_kind     (PlProfile          *self,
                                                    GInetAddress      **address);
/* Exactly "default", "vpn" or a dotted IPv4 unicast address; PL_ERROR_INVALID_ARGUMENT
 * naming @profile otherwise. */
gboolean           pl_profile_validate_gateway     (const char         *profile,
                                                    const char         *gateway,
                                                    PlProfileGateway   *kind,
                                                    GInetAddress      **address,
                                                    GError            **error);

/* Network= (nullable): "NAME; gateway=MAC[; ssid=SSID]" (see pl-network-link.h); the profile
 * is mapped only on that network. An empty string is stored as NULL; a value that
 * pl_network_link_parse() refuses is kept (pl_profile_validate() reports it). */
const char        *pl_profile_get_network          (PlProfile          *self);
void               pl_profile_set_network          (PlProfile          *self,
                                                    const char         *network);

/* TRUE if the two would claim the same mapping: same internal port, overlapping protocols. */
gboolean           pl_profile_overlaps             (PlProfile          *self,
                                                    PlProfile          *other);

/* Checks every value. On failure: PL_ERROR_INVALID_ARGUMENT with a translated message naming
 * the profile, the key and what is wrong, in the same words as the file loader, e.g.
 * "Profile “SSH”: InternalPort “0” is not a port number (1-65535)". */
gboolean           pl_profile_validate             (PlProfile          *self,
                                                    GError            **error);
/* Checks a name alone (non-empty UTF-8, no control characters, no “[” or “]”, no
 * leading or trailing white space). PL_ERROR_INVALID_ARGUMENT otherwise. */
gboolean           pl_profile_validate_name        (const char         *name,
                                                    GError            **error);
/* Checks an OnPortChange command line: UTF-8 without control characters, words as
 * g_shell_parse_argv() splits them (quotes and backslashes, no shell is run), at least one
 * word, and no "%" other than %p (public port), %a (public address), %P (protocol) and %%.
 * On success and if @argv is not NULL, sets it to the words, placeholders not substituted.
 * PL_ERROR_INVALID_ARGUMENT naming @profile otherwise. */
gboolean           pl_profile_validate_on_port_change (const char      *profile,
                                                       const char      *command,
                                                       char          ***argv,
                                                       GError         **error);

/* Sets one value from its text in the profiles file, where @key is one of the
 * PL_PROFILE_KEY_* names. The text must be exact: decimal numbers without sign or spaces,
 * "tcp"/"udp"/"both", "ipv4"/"ipv6"/"both", "true"/"false", ExternalPort also "any". Unknown keys are G_KEY_FILE_ERROR_KEY_NOT_FOUND, bad
 * values PL_ERROR_INVALID_ARGUMENT ("Profile “SSH”: InternalPort “70000” is not a port
 * number (1-65535)"). @self is left unchanged on error. */
gboolean           pl_profile_set_key_value        (PlProfile          *self,
                                                    const char         *key,
                                                    const char         *value,
                                                    GError            **error);

/* Reads group @group of @key_file: a profile named @group. Protocol and InternalPort are
 * required; Family (both), ExternalPort (0), Lifetime (7200), Enabled (true), Description (none) and
 * OnPortChange (none), App (none) and Network (none) are optional; other keys are ignored. Every problem is appended to @problems (element-type
 * GError, one per bad or missing key); returns NULL if there was any. */
PlProfile         *pl_profile_new_from_key_file    (GKeyFile           *key_file,
                                                    const char         *group,
                                                    GPtrArray          *problems);
/* Writes the profile's keys into group pl_profile_get_name() of @key_file, leaving other
 * keys and comments of that group alone (Description is removed when NULL). */
void               pl_profile_write_to_key_file    (PlProfile          *self,
                                                    GKeyFile           *key_file);

G_END_DECLS
