# scenarios-network.sh: a profile limited to one network (Network=) against the real router:
# named after the router's MAC, on while that MAC is the gateway's, off with its reason when
# the router's MAC changes ("another network"), on again when it is back
#
# Copyright 2026 The Portlight authors
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Sourced by lab.sh after scenarios-session.sh; uses its run_start/run_stop/run_log and
# lab.sh's helpers (ctl, has_rule, want_rule, want_no_rule, serve …). "Another network" is
# the same router with another MAC on its LAN bridge: host a's neighbour table is flushed, as
# when a laptop joins another network, and the engine learns the new MAC on its own (its
# watcher sends the gateway one datagram so that the kernel resolves it again).

# shellcheck shell=bash
# "check && check || fail" is the idiom of the scenarios
# shellcheck disable=SC2015
# loop counters are only counters
# shellcheck disable=SC2034

OTHER_MAC=02:77:00:00:00:99

router_mac () { ip -n "$NS_R" -br link show br0 | awk '{ print $3 }'; }

# set_router_mac MAC: the router's LAN bridge takes MAC; host a forgets its neighbours
set_router_mac () {
  ip -n "$NS_R" link set br0 address "$1" &&
  ip -n "$NS_A" neigh flush dev eth0
}

# wait_line TEXT: up to 10 s for TEXT in the engine's output
wait_line () {
  local i
  for i in $(seq 200); do
    grep -qF -- "$1" "$LABDIR/bg.out" && return 0
    sleep 0.05
  done
  return 1
}

wait_rule () {   # yes|no tcp PORT HOST PORT
  local want=$1 i
  shift
  for i in $(seq 200); do
    if has_rule "$@"; then [ "$want" = yes ] && return 0
    else [ "$want" = no ] && return 0; fi
    sleep 0.05
  done
  return 1
}

t_network_body () {
  local file=$1 mac value t0 off_ms on_ms
  mac=$(router_mac)
  : > "$file"

  # Named from host a: the profile stores the router's MAC.
  ctl "$NS_A" network --json -f "$file"
  want_rc 0 && want_json gateway "$GW" && want_json gateway_mac "$mac" || return 1
  ctl "$NS_A" profiles -f "$file" add home-ssh 40530 40530 --network home
  want_rc 0 || return 1
  value=$(sed -n 's/^Network=//p' "$file")
  [ "$value" = "home; gateway=$mac" ] ||
    { diag "FAIL: Network=$value, want home; gateway=$mac"; return 1; }
  ctl "$NS_A" profiles -f "$file" list --json
  want_json profiles.0.network home || return 1

  # On its network: mapped.
  run_start "$file"
  serve tcp "$NS_A" 40530 lan-a || return 1
  wait_rule yes tcp 40530 "$HOST_A" 40530
  want_rule tcp 40530 "$HOST_A" 40530 && want_reaches tcp 40530 lan-a ||
    { run_log "on its network"; return 1; }
  wait_line '"on_network":true' || { diag "FAIL: no network event"; run_log "on"; return 1; }

  # Another network: off, the rule goes, and it says why.
  t0=$(now_ms)
  set_router_mac "$OTHER_MAC" || return 1
  wait_rule no tcp 40530 "$HOST_A" 40530
  off_ms=$(( $(now_ms) - t0 ))
  want_no_rule tcp 40530 "$HOST_A" 40530 && want_closed tcp 40530 ||
    { run_log "on another network"; return 1; }
  wait_line "Only on network ‘home’" ||
    { diag "FAIL: the profile does not say why it is off"; run_log "off"; return 1; }
  kill -0 "$BG_PID" 2>/dev/null || { diag "FAIL: the engine stopped"; return 1; }

  # Back home: on again.
  t0=$(now_ms)
  set_router_mac "$mac" || return 1
  wait_rule yes tcp 40530 "$HOST_A" 40530
  on_ms=$(( $(now_ms) - t0 ))
  want_rule tcp 40530 "$HOST_A" 40530 && want_reaches tcp 40530 lan-a ||
    { run_log "back on its network"; return 1; }
  note "network: a network-linked profile's rule gone $off_ms ms after the gateway's MAC" \
       "changed, back $on_ms ms after it was restored"

  run_stop TERM
  want_rc 0
}

t_network () {
  local mac rc
  mac=$(router_mac)
  t_network_body "$LABDIR/network-profiles.ini"
  rc=$?
  # The lab's router keeps its MAC for the scenarios after this one.
  [ "$(router_mac)" = "$mac" ] || set_router_mac "$mac"
  return $rc
}

network_scenarios () {
  local LAB_PROTOCOL=""
  scenario "network-linked profile: mapped on its network, off with its reason on another" \
    t_network
}
