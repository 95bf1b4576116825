# bench-tunnel.sh: a VPN tunnel coming up, sourced by bench.sh
#
# Copyright 2026 The Portlight authors
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
#   tunnel-up   `portlightctl run` with two profiles for the VPN (one that follows the default
#               route, one with Gateway=vpn, TCP+UDP each: 4 mappings) and one for the home
#               router (Gateway=192.168.77.1): the time from the tunnel's default route being
#               added (tests/lab/scenarios-tunnel.sh's stand-in for WireGuard) to the last of
#               the 4 forwardings on the VPN's miniupnpd, BENCH_TUNNEL_RUNS times (10); the
#               tunnel goes down between runs and the profiles back to the home router (or to
#               waiting). The floor is the engine's network debounce (1 s: a burst of route
#               and address events is handled once) plus the NAT-PMP round trips.

# shellcheck shell=bash
# shellcheck disable=SC2154  # the lab's and bench.sh's variables

# shellcheck source-path=SCRIPTDIR source=../lab/scenarios-tunnel.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/scenarios-tunnel.sh"

# All 4 VPN forwardings present
tunnel_all_on_vpn () { [ "$(vpn_rules | grep -c ' dnat ip to ')" -ge 4 ]; }

bench_tunnel_up () {
  local f="$LABDIR/tunnel-bench" runs=${BENCH_TUNNEL_RUNS:-10} i t0 t1 home_ok=1 diag_keep
  diag_keep=${DIAG:-/dev/null}
  DIAG=$LABDIR/tunnel-bench.diag
  say "tunnel-up: portlightctl run, 2 VPN profiles (4 mappings) + 1 home-router profile, $runs tunnel ups"
  mkdir -p "$f"
  rm -f "$f/profiles.ini" "$f/times"
  printf '[ssh-home]\nProtocol=tcp\nInternalPort=22022\nExternalPort=22022\nGateway=%s\n' "$GW" > "$f/profiles.ini"
  printf '\n[vpn-torrent]\nProtocol=both\nInternalPort=51413\nExternalPort=any\n' >> "$f/profiles.ini"
  printf '\n[vpn-only]\nProtocol=both\nInternalPort=51414\nExternalPort=any\nGateway=vpn\n' >> "$f/profiles.ini"
  rtr_reset || return 1
  if ! tunnel_prepare; then
    tunnel_restore
    note "tunnel-up: the VPN namespace could not be built (see $DIAG)"
    DIAG=$diag_keep
    return 0
  fi
  run_start tunnel "$f/profiles.ini"
  wait_rules 3 200 || note "tunnel-up: only $(n_rules) forwardings on the home router before the tunnel"
  for i in $(seq "$runs"); do
    t0=$(now_ms)
    tunnel_up || { note "tunnel-up: the tunnel did not come up"; break; }
    if ! wait_until 400 tunnel_all_on_vpn; then
      note "tunnel-up: run $i: only $(vpn_rules | grep -c ' dnat ip to ') of 4 forwardings on the VPN after 20 s"
    else
      t1=$(now_ms)
      echo $((t1 - t0)) >> "$f/times"
    fi
    has_rule tcp 22022 "$HOST_A" 22022 || home_ok=0
    tunnel_down
    # the VPN server forgets them (the tunnel is gone: they would lapse), the profiles go
    # back home or wait
    vpn_rtr_stop
    vpn_rtr_start || { note "tunnel-up: the VPN's miniupnpd did not restart"; break; }
    wait_rules 3 200 || note "tunnel-up: run $i: vpn-torrent not back on the home router"
    sleep 1.5   # past the debounce of the tunnel going down
  done
  run_stop
  tunnel_restore
  DIAG=$diag_keep
  if [ -s "$f/times" ]; then
    stats "$f/times"
    row "| Tunnel up (\`default dev wg-lab\`, /32) → the last of 4 forwardings on the VPN's gateway, median of $S_N ups | $(ms "$S_MED") ms (p90 $(ms "$S_P90"), worst $(ms "$S_MAX")); the home router's profile untouched: $([ "$home_ok" = 1 ] && echo yes || echo NO) | – | – | 1000 ms network debounce + NAT-PMP round trips | $(ratio "$S_MED" 1000) |"
  else
    row "| Tunnel up → forwardings on the VPN's gateway | **not measured**: see the notes | – | – | – | – |"
  fi
}
