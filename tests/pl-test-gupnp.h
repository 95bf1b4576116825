/* pl-test-gupnp.h: GUPnP's and GSSDP's warnings are not the tests' failures
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <string.h>

#include <glib.h>

/* Every UPnP search on loopback sees every scripted IGD of the tests running in parallel
 * (SSDP multicast on lo is shared), and GUPnP warns about the ones it cannot fetch (a test
 * that just ended). pl-upnp-discovery.c sends GUPnP's and GSSDP's warnings to the debug log
 * (they are about other devices), but g_test_init() makes every warning fatal before any
 * handler runs, so tests say here that these are not fatal.
 *
 * One more: GUPnP 1.6.3 opens a context's HTTP server (where event notifications arrive) on
 * the TCP port numbered like the context's SSDP UDP socket, even when a service proxy is only
 * being disposed; when that TCP port is taken on the same address (a busy loopback), it
 * warns, and libsoup adds a critical about the missing server. No test depends on that
 * server then. Every other warning and critical stays fatal. */
static inline gboolean
pl_test_gupnp_fatal_filter (const char     *log_domain,
                            GLogLevelFlags  log_level,
                            const char     *message,
                            gpointer        user_data)
{
  if (log_domain != NULL && (log_level & G_LOG_LEVEL_WARNING) &&
      (g_str_has_prefix (log_domain, "gupnp-") || g_str_has_prefix (log_domain, "gssdp-")))
    return FALSE;
  if (g_strcmp0 (log_domain, "libsoup") == 0 && message != NULL &&
      strstr (message, "SOUP_IS_SERVER") != NULL)
    return FALSE;
  return TRUE;
}

static inline void
pl_test_soup_log_cb (const char     *log_domain,
                     GLogLevelFlags  log_level,
                     const char     *message,
                     gpointer        user_data)
{
  if (message != NULL && strstr (message, "SOUP_IS_SERVER") != NULL)
    g_test_message ("(not fatal) %s: %s", log_domain, message);
  else
    g_log_default_handler (log_domain, log_level, message, user_data);
}

/* GUPnP's warnings, as one TAP comment line: some have two lines ("Failed to get SCPD: …\n
 * The initial event message will not be sent."), and GLib's test log marks only the first
 * as a comment, so meson took the second for broken TAP and failed the test. */
static inline void
pl_test_gupnp_log_cb (const char     *log_domain,
                      GLogLevelFlags  log_level,
                      const char     *message,
                      gpointer        user_data)
{
  g_autofree char *line = g_strdup (message != NULL ? message : "");

  g_strdelimit (line, "\r\n", ' ');
  g_test_message ("(not fatal) %s: %s", log_domain, line);
}

/* Call it in every test's set-up: GTest drops the fatal handler before each test. */
static inline void
pl_test_tolerate_gupnp_port_clash (void)
{
  static const char * const domains[] = {
    "gupnp-service", "gupnp-service-proxy", "gupnp-control-point", "gupnp-context",
    "gupnp-context-manager", "gupnp-device-info", "gupnp-root-device", "gssdp-client",
    "gssdp-resource-browser", "gssdp-resource-group",
  };

  g_test_log_set_fatal_handler (pl_test_gupnp_fatal_filter, NULL);
  g_log_set_handler ("libsoup", G_LOG_LEVEL_CRITICAL | G_LOG_FLAG_FATAL, pl_test_soup_log_cb,
                     NULL);
  for (guint i = 0; i < G_N_ELEMENTS (domains); i++)
    g_log_set_handler (domains[i], G_LOG_LEVEL_WARNING, pl_test_gupnp_log_cb, NULL);
}
