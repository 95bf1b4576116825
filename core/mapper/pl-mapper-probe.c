/* pl-mapper-probe.c: which protocol a gateway speaks
 *
 * Copyright 2026 The Portlight authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <net/if.h>

#include <glib/gi18n-lib.h>

#include "pl-client.h"
#include "pl-error.h"
#include "pl-mapper-probe.h"
#include "pl-pcp-client.h"
#include "pl-upnp-client.h"
#include "pl-upnp-pinhole.h"

/* How it works. Three legs start together on the task's context: a PCP ANNOUNCE
 * (pl_pcp_client_probe_async), a NAT-PMP address request and a UPnP-IGD address request
 * (which first searches for the IGD). Each leg ends once; then decide() looks at what is
 * known so far:
 *
 *   PCP answered                        -> PCP (RFC 6887 prefers it), done
 *   PCP said "NAT-PMP only", or refused -> NAT-PMP as soon as its leg has answered
 *   only NAT-PMP answered               -> NAT-PMP once the PCP grace time is over
 *   PCP and NAT-PMP failed or are silent
 *   after the grace time, UPnP answered -> UPnP-IGD
 *   all failed                          -> the most telling error (see fail_all)
 *
 * This is the only file that names the protocols' classes; the engine sees PlPortMapper. */

#define PROBE_DEFAULT_MS 128000
/* PCP has no request for the public address: once PCP has answered, the NAT-PMP leg (which a
 * router that speaks both answers within milliseconds) gets this long to bring it. */
#define PROBE_ADDRESS_WAIT_MS 250

typedef struct
{
  PlClock       *clock;
  GInetAddress  *gateway;
  char          *gateway_text;
  PlMethod       method;
  PlPcpClient   *pcp;
  PlClient      *natpmp;
  PlUpnpClient  *upnp;
  GCancellable  *legs;          /* cancels whichever leg is still running */
  GSource       *grace;
  GSource       *deadline;
  GSource       *address_wait;
  GCancellable  *cancellable;   /* the caller's */
  gulong         cancel_id;

  gboolean       pcp_done;
  gboolean       pcp_ok;
  guint32        pcp_epoch;
  GError        *pcp_error;
  gboolean       natpmp_done;
  GInetAddress  *natpmp_address;
  guint32        natpmp_epoch;
  GError        *natpmp_error;
  gboolean       upnp_done;
  GInetAddress  *upnp_address;
  GError        *upnp_error;
  gboolean       grace_over;
  gboolean       address_wait_over;
  gboolean       returned;
} Probe;

typedef struct
{
  PlPortMapper *mapper;
  GInetAddress *public_address;
  guint32       epoch;
} ProbeResult;

static void
probe_result_free (ProbeResult *r)
{
  g_clear_object (&r->mapper);
  g_clear_object (&r->public_address);
  g_free (r);
}

static void
stop_timers (Probe *p)
{
  pl_clear_source (&p->grace);
  pl_clear_source (&p->deadline);
  pl_clear_source (&p->address_wait);
}

static void
probe_free (Probe *p)
{
  if (p->cancel_id != 0)
    g_cancellable_disconnect (p->cancellable, p->cancel_id);
  g_clear_object (&p->cancellable);
  stop_timers (p);
  g_clear_object (&p->legs);
  g_clear_object (&p->pcp);
  g_clear_object (&p->natpmp);
  g_clear_object (&p->upnp);
  g_clear_object (&p->upnp_address);
  g_clear_error (&p->upnp_error);
  g_clear_object (&p->clock);
  g_clear_object (&p->gateway);
  g_clear_object (&p->natpmp_address);
  g_clear_error (&p->pcp_error);
  g_clear_error (&p->natpmp_error);
  g_free (p->gateway_text);
  g_free (p);
}

GObject *
pl_mapper_watch_new (GInetAddress *gateway,
                     const char   *iface,
                     PlClock      *clock)
{
  g_return_val_if_fail (G_IS_INET_ADDRESS (gateway), NULL);

  return G_OBJECT (pl_upnp_discovery_new (gateway, iface, clock));
}

PlMethod
pl_mapper_get_method (PlPortMapper *mapper)
{
  g_return_val_if_fail (PL_IS_PORT_MAPPER (mapper), PL_METHOD_NATPMP);

  if (PL_IS_PCP_CLIENT (mapper))
    return PL_METHOD_PCP;
  if (PL_IS_UPNP_CLIENT (mapper) || PL_IS_UPNP_PINHOLE_CLIENT (mapper))
    return PL_METHOD_UPNP;
  return PL_METHOD_NATPMP;
}

PlPortMapper *
pl_mapper_new (PlMethod      method,
               GInetAddress *gateway,
               PlClock      *clock)
{
  g_return_val_if_fail (method != PL_METHOD_AUTO, NULL);
  g_return_val_if_fail (G_IS_INET_ADDRESS (gateway), NULL);

  if (method == PL_METHOD_PCP)
    return PL_PORT_MAPPER (pl_pcp_client_new (gateway, clock));
  if (method == PL_METHOD_UPNP)
    return PL_PORT_MAPPER (pl_upnp_client_new (gateway, NULL, clock));
  return PL_PORT_MAPPER (pl_client_new (gateway, clock));
}

/**
 * pl_mapper_new_ipv6:
 * @ipv4_mapper: the mapper that speaks with the gateway over IPv4
 * @router: the IPv6 default router (usually its link-local address)
 * @scope_id: the interface index @router is reached on
 * @local: this computer's address to open pinholes for (bound, so that the router sees it)
 * @clock: (nullable): the clock
 *
 * A mapper for IPv6 pinholes with the protocol @ipv4_mapper speaks, if that protocol can
 * open them ([flags@Pl.MapperCapabilities] IPV6); %NULL otherwise: PCP over IPv6, or the
 * UPnP-IGD router's WANIPv6FirewallControl service, searched for on an IPv6 context at
 * @local.
 *
 * Returns: (transfer full) (nullable): the mapper
 */
PlPortMapper *
pl_mapper_new_ipv6 (PlPortMapper *ipv4_mapper,
                    GInetAddress *router,
                    guint         scope_id,
                    GInetAddress *local,
                    PlClock      *clock)
{
  g_return_val_if_fail (PL_IS_PORT_MAPPER (ipv4_mapper), NULL);
  g_return_val_if_fail (G_IS_INET_ADDRESS (router), NULL);
  g_return_val_if_fail (G_IS_INET_ADDRESS (local), NULL);

  if (!(pl_port_mapper_get_capabilities (ipv4_mapper) & PL_MAPPER_CAPABILITY_IPV6))
    return NULL;

  if (PL_IS_UPNP_CLIENT (ipv4_mapper))
    {
      PlUpnpDiscovery *discovery = pl_upnp_client_get_discovery (PL_UPNP_CLIENT (ipv4_mapper));
      char name[IF_NAMESIZE] = "";

      if (scope_id != 0 && if_indextoname (scope_id, name) == NULL)
        name[0] = '\0';
      return PL_PORT_MAPPER (pl_upnp_pinhole_client_new (router, name[0] != '\0' ? name : NULL,
                                                         local, discovery, clock));
    }

  /* PCP otherwise (RFC 6887 section 11: MAP with an IPv6 internal address). */
  return g_object_new (PL_TYPE_PCP_CLIENT,
                       "gateway", router,
                       "clock", clock,
                       "bind-address", local,
                       "scope-id", scope_id,
                       NULL);
}

static void
finish_with (GTask        *task,
             PlPortMapper *mapper)
{
  Probe *p = g_task_get_task_data (task);
  ProbeResult *r = g_new0 (ProbeResult, 1);

  p->returned = TRUE;
  r->mapper = g_object_ref (mapper);
  /* The epoch of the answer the caller will show: the address's, else the chosen one's. */
  if (p->natpmp_address != NULL)
    r->public_address = g_object_ref (p->natpmp_address);
  else if (p->upnp_address != NULL)
    r->public_address = g_object_ref (p->upnp_address);
  r->epoch = p->natpmp_address != NULL || mapper != PL_PORT_MAPPER (p->pcp) ? p->natpmp_epoch
                                                                            : p->pcp_epoch;
  g_cancellable_cancel (p->legs);
  stop_timers (p);
  g_task_return_pointer (task, r, (GDestroyNotify) probe_result_free);
}

/* Every leg failed: the error that tells the user most. */
static void
fail_all (GTask *task)
{
  Probe *p = g_task_get_task_data (task);
  GError *pcp = p->pcp_error;
  GError *natpmp = p->natpmp_error;
  GError *upnp = p->upnp_error;

  p->returned = TRUE;
  g_cancellable_cancel (p->legs);
  stop_timers (p);

  /* One protocol asked for: its own error. */
  if (p->method != PL_METHOD_AUTO)
    {
      g_task_return_error (task, g_error_copy (p->method == PL_METHOD_PCP    ? pcp
                                               : p->method == PL_METHOD_UPNP ? upnp
                                                                             : natpmp));
      return;
    }
  if (g_error_matches (pcp, PL_ERROR, PL_ERROR_REFUSED) &&
      g_error_matches (natpmp, PL_ERROR, PL_ERROR_REFUSED) &&
      g_error_matches (upnp, PL_ERROR, PL_ERROR_REFUSED))
    {
      g_task_return_new_error (task, PL_ERROR, PL_ERROR_REFUSED,
                               _("No PCP, NAT-PMP or UPnP-IGD service on %s: port 5351 "
                                 "refused, and no UPnP router answered the search (port "
                                 "mapping may be switched off in the router's settings)"),
                               p->gateway_text);
      return;
    }
  /* A router error (refused, no resources …) says more than silence. */
  if (natpmp != NULL && !g_error_matches (natpmp, PL_ERROR, PL_ERROR_TIMED_OUT) &&
      !g_error_matches (natpmp, PL_ERROR, PL_ERROR_REFUSED))
    {
      g_task_return_error (task, g_error_copy (natpmp));
      return;
    }
  if (pcp != NULL && !g_error_matches (pcp, PL_ERROR, PL_ERROR_TIMED_OUT) &&
      !g_error_matches (pcp, PL_ERROR, PL_ERROR_REFUSED) &&
      !g_error_matches (pcp, PL_ERROR, PL_ERROR_UNSUPPORTED_VERSION))
    {
      g_task_return_error (task, g_error_copy (pcp));
      return;
    }
  if (upnp != NULL && !g_error_matches (upnp, PL_ERROR, PL_ERROR_REFUSED))
    {
      g_task_return_error (task, g_error_copy (upnp));
      return;
    }
  g_task_return_error (task, g_error_copy (natpmp != NULL ? natpmp : pcp));
}

static gboolean address_wait_cb (gpointer user_data);

static void
decide (GTask *task)
{
  Probe *p = g_task_get_task_data (task);
  gboolean pcp_out = p->pcp_done && !p->pcp_ok;
  gboolean natpmp_out = p->natpmp_done && p->natpmp_error != NULL;

  if (p->returned)
    return;

  if (p->pcp_ok && !p->natpmp_done && !p->address_wait_over)
    {
      if (p->address_wait == NULL)
        {
          p->address_wait = pl_clock_timeout_source_new (p->clock, PROBE_ADDRESS_WAIT_MS);
          g_source_set_callback (p->address_wait, address_wait_cb, task, NULL);
          g_source_attach (p->address_wait, g_task_get_context (task));
        }
      return;
    }
  if (p->pcp_ok)
    {
      finish_with (task, PL_PORT_MAPPER (p->pcp));
      return;
    }

  if (p->natpmp_done && p->natpmp_error == NULL && (pcp_out || p->grace_over))
    {
      finish_with (task, PL_PORT_MAPPER (p->natpmp));
      return;
    }

  /* UPnP-IGD last: once PCP and NAT-PMP failed, or stayed silent through the grace time. */
  if (p->upnp_done && p->upnp_error == NULL &&
      ((pcp_out && natpmp_out) || (p->grace_over && !p->natpmp_done && !p->pcp_ok) ||
       (p->grace_over && natpmp_out)))
    {
      finish_with (task, PL_PORT_MAPPER (p->upnp));
      return;
    }

  if (pcp_out && natpmp_out && p->upnp_done && p->upnp_error != NULL)
    fail_all (task);
}

/* A leg's answer that comes too late, or its cancellation: TRUE when there is nothing more to
 * do with it. The caller's cancellation ends the probe here. */
static gboolean
leg_ended (GTask        *task,
           gboolean      done,
           const GError *error)
{
  Probe *p = g_task_get_task_data (task);

  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return done || p->returned;
  if (!p->returned && g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    {
      p->returned = TRUE;
      stop_timers (p);
      g_task_return_error_if_cancelled (task);
    }
  return TRUE;
}

static gboolean
address_wait_cb (gpointer user_data)
{
  GTask *task = user_data;
  Probe *p = g_task_get_task_data (task);

  pl_clear_source (&p->address_wait);
  p->address_wait_over = TRUE;
  decide (task);
  return G_SOURCE_REMOVE;
}

static gboolean
grace_cb (gpointer user_data)
{
  GTask *task = user_data;
  Probe *p = g_task_get_task_data (task);

  pl_clear_source (&p->grace);
  p->grace_over = TRUE;
  decide (task);
  return G_SOURCE_REMOVE;
}

static gboolean
deadline_cb (gpointer user_data)
{
  GTask *task = user_data;
  Probe *p = g_task_get_task_data (task);

  pl_clear_source (&p->deadline);
  if (!p->pcp_done)
    {
      p->pcp_done = TRUE;
      p->pcp_error = g_error_new (PL_ERROR, PL_ERROR_TIMED_OUT,
                                  _("No answer from %s"), p->gateway_text);
    }
  if (!p->natpmp_done)
    {
      p->natpmp_done = TRUE;
      p->natpmp_error = g_error_new (PL_ERROR, PL_ERROR_TIMED_OUT,
                                     _("No answer from %s"), p->gateway_text);
    }
  if (!p->upnp_done)
    {
      p->upnp_done = TRUE;
      p->upnp_error = g_error_new (PL_ERROR, PL_ERROR_TIMED_OUT,
                                   _("No answer from %s"), p->gateway_text);
    }
  p->grace_over = TRUE;
  decide (task);
  if (!p->returned)
    fail_all (task);
  return G_SOURCE_REMOVE;
}

static void
pcp_probe_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Probe *p = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  guint32 epoch = 0;
  gboolean ok = pl_pcp_client_probe_finish (PL_PCP_CLIENT (source), result, &epoch, &error);

  if (leg_ended (task, p->pcp_done, error))
    return;
  p->pcp_done = TRUE;
  p->pcp_ok = ok;
  p->pcp_epoch = epoch;
  p->pcp_error = g_steal_pointer (&error);
  g_debug ("probe %s: PCP %s", p->gateway_text,
           ok ? "answered" : p->pcp_error->message);
  decide (task);
}

static void
natpmp_probe_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Probe *p = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) address = NULL;
  guint32 epoch = 0;

  address = pl_client_get_external_address_finish (PL_CLIENT (source), result, &epoch, &error);
  if (leg_ended (task, p->natpmp_done, error))
    return;
  p->natpmp_done = TRUE;
  p->natpmp_epoch = epoch;
  p->natpmp_address = g_steal_pointer (&address);
  p->natpmp_error = g_steal_pointer (&error);
  g_debug ("probe %s: NAT-PMP %s", p->gateway_text,
           p->natpmp_error == NULL ? "answered" : p->natpmp_error->message);
  decide (task);
}

static void upnp_probe_cb (GObject *source, GAsyncResult *result, gpointer user_data);

/* The UPnP leg's first step: an IGD on the gateway's network, within the probe's timeout or
 * the search's own verdict; then its public address. */
static void
upnp_found_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Probe *p = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GUPnPServiceProxy) proxy = NULL;

  proxy = pl_upnp_discovery_wait_finish (PL_UPNP_DISCOVERY (source), result, &error);
  if (proxy == NULL)
    {
      if (leg_ended (task, p->upnp_done, error))
        return;
      p->upnp_done = TRUE;
      p->upnp_error = g_steal_pointer (&error);
      g_debug ("probe %s: UPnP-IGD %s", p->gateway_text, p->upnp_error->message);
      decide (task);
      return;
    }
  pl_port_mapper_get_external_address_async (PL_PORT_MAPPER (p->upnp), p->legs, upnp_probe_cb,
                                             g_steal_pointer (&task));
}

static void
upnp_probe_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Probe *p = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) address = NULL;

  address = pl_port_mapper_get_external_address_finish (PL_PORT_MAPPER (source), result, NULL,
                                                        &error);
  if (leg_ended (task, p->upnp_done, error))
    return;
  /* An IGD that has no public address yet still maps; it is the router we want. */
  if (g_error_matches (error, PL_ERROR, PL_ERROR_NETWORK_FAILURE))
    g_clear_error (&error);
  p->upnp_done = TRUE;
  p->upnp_address = g_steal_pointer (&address);
  p->upnp_error = g_steal_pointer (&error);
  g_debug ("probe %s: UPnP-IGD %s", p->gateway_text,
           p->upnp_error == NULL ? "answered" : p->upnp_error->message);
  decide (task);
}

static void
cancelled_cb (GCancellable *cancellable,
              gpointer      user_data)
{
  GTask *task = user_data;
  Probe *p = g_task_get_task_data (task);

  g_cancellable_cancel (p->legs);
}

void
pl_mapper_probe_async (GInetAddress        *gateway,
                       PlClock             *clock,
                       PlMethod             method,
                       guint                timeout_ms,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Probe *p;

  g_return_if_fail (G_IS_INET_ADDRESS (gateway));
  g_return_if_fail (clock == NULL || PL_IS_CLOCK (clock));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, pl_mapper_probe_async);
  g_task_set_check_cancellable (task, TRUE);

  p = g_new0 (Probe, 1);
  p->clock = clock != NULL ? g_object_ref (clock) : pl_clock_get_default ();
  p->gateway = g_object_ref (gateway);
  p->gateway_text = g_inet_address_to_string (gateway);
  p->method = method;
  p->legs = g_cancellable_new ();
  g_task_set_task_data (task, p, (GDestroyNotify) probe_free);

  if (cancellable != NULL)
    p->cancellable = g_object_ref (cancellable);
  if (cancellable != NULL)
    p->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb), task, NULL);

  if (method == PL_METHOD_AUTO || method == PL_METHOD_PCP)
    {
      p->pcp = g_object_new (PL_TYPE_PCP_CLIENT, "gateway", gateway, "clock", p->clock,
                             "timeout", timeout_ms, NULL);
      pl_pcp_client_probe_async (p->pcp, p->legs, pcp_probe_cb, g_object_ref (task));
    }
  else
    {
      p->pcp_done = TRUE;
      p->pcp_error = g_error_new_literal (PL_ERROR, PL_ERROR_UNSUPPORTED_VERSION, "not asked");
    }

  if (method == PL_METHOD_AUTO || method == PL_METHOD_NATPMP)
    {
      p->natpmp = pl_client_new (gateway, p->clock);
      pl_client_set_timeout (p->natpmp, timeout_ms);
      pl_client_get_external_address_async (p->natpmp, p->legs, natpmp_probe_cb,
                                            g_object_ref (task));
    }
  else
    {
      p->natpmp_done = TRUE;
      p->natpmp_error = g_error_new_literal (PL_ERROR, PL_ERROR_REFUSED, "not asked");
    }

  if (method == PL_METHOD_AUTO || method == PL_METHOD_UPNP)
    {
      p->upnp = pl_upnp_client_new (gateway, NULL, p->clock);
      pl_upnp_discovery_wait_async (pl_upnp_client_get_discovery (p->upnp),
                                    timeout_ms != 0 ? MIN (timeout_ms,
                                                           PL_UPNP_DISCOVERY_VERDICT_MS) : 0,
                                    p->legs, upnp_found_cb, g_object_ref (task));
    }
  else
    {
      p->upnp_done = TRUE;
      p->upnp_error = g_error_new_literal (PL_ERROR, PL_ERROR_REFUSED, "not asked");
    }

  /* PCP alone: only its answer counts; NAT-PMP alone: no grace to wait for. */
  p->grace_over = method != PL_METHOD_AUTO;
  if (method == PL_METHOD_AUTO)
    {
      p->grace = pl_clock_timeout_source_new (p->clock, PL_MAPPER_PROBE_PCP_GRACE_MS);
      g_source_set_callback (p->grace, grace_cb, task, NULL);
      g_source_attach (p->grace, g_task_get_context (task));
    }
  /* With a timeout both legs end by themselves, each with its own precise error. Without
   * one, PCP retries for ever (RFC 6887 section 8.1.1): give it as long as NAT-PMP's whole
   * schedule (127.75 s). */
  if (timeout_ms == 0)
    {
      p->deadline = pl_clock_timeout_source_new (p->clock, PROBE_DEFAULT_MS);
      g_source_set_callback (p->deadline, deadline_cb, task, NULL);
      g_source_attach (p->deadline, g_task_get_context (task));
    }
}

PlPortMapper *
pl_mapper_probe_finish (GAsyncResult  *result,
                        GInetAddress **public_address,
                        guint32       *epoch,
                        GError       **error)
{
  ProbeResult *r;
  PlPortMapper *mapper;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == pl_mapper_probe_async, NULL);

  r = g_task_propagate_pointer (G_TASK (result), error);
  if (r == NULL)
    return NULL;

  mapper = g_steal_pointer (&r->mapper);
  if (public_address != NULL)
    *public_address = g_steal_pointer (&r->public_address);
  if (epoch != NULL)
    *epoch = r->epoch;
  probe_result_free (r);
  return mapper;
}
