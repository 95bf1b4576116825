# scenarios-broker.sh: the engine on a session bus, serving another program's lease, against
# the real router
#
# Copyright 2026 The Portlight authors
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Sourced by lab.sh after the other scenario files; uses its helpers (ctl_bg, serve, want_*,
# has_rule …) and scenarios-session.sh's (run_start, run_stop, note). $LEASE_HOLDER is
# tests/broker/lease-holder: it holds one lease of the engine until it is killed, as a torrent
# client would, and never calls Release.

# shellcheck shell=bash
# "check && check || fail" is the idiom of the scenarios
# shellcheck disable=SC2015
# SKIP_REASON is read by lab.sh's runner; loop counters are only counters
# shellcheck disable=SC2034

# bus_start: a session bus (dbus-daemon) for host a, on a socket in the lab's folder (an
# abstract socket would belong to one network namespace); sets BUS_ADDRESS, BUS_PID
bus_start () {
  local socket=$LABDIR/session-bus
  rm -f "$socket"
  BUS_ADDRESS=unix:path=$socket
  # not through in_ns (a function: "&" would fork a subshell, and $! would not be the daemon)
  ip netns exec "$NS_A" dbus-daemon --session --nofork --nopidfile --address="$BUS_ADDRESS" \
    </dev/null >/dev/null 2>>"$DIAG" &
  BUS_PID=$!
  LISTENER_PIDS="$LISTENER_PIDS $BUS_PID"   # lab_reset stops it if the scenario fails
  wait_file "$socket" 100 || { diag "dbus-daemon did not start"; return 1; }
}

# holder_start PROTOCOLS PORT: the lease holder on host a's session bus, in the background
# (HOLDER_PID; its line in $LABDIR/holder.out)
holder_start () {
  : > "$LABDIR/holder.out"
  ip netns exec "$NS_A" env DBUS_SESSION_BUS_ADDRESS="$BUS_ADDRESS" "$LEASE_HOLDER" "$1" "$2" \
    </dev/null >"$LABDIR/holder.out" 2>>"$DIAG" &
  HOLDER_PID=$!
  LISTENER_PIDS="$LISTENER_PIDS $HOLDER_PID"
}

# A program asks the engine for TCP 40510 over D-Bus: the router opens it, a WAN host
# connects through it; the program is killed (no Release) and the engine closes the port
# on the router while it goes on running.
t_broker_lease () {
  local file=$LABDIR/broker-profiles.ini t0 i eport="" active_ms gone_ms
  if [ -z "${LEASE_HOLDER:-}" ] || ! command -v dbus-daemon >/dev/null; then
    SKIP_REASON="needs dbus-daemon and LEASE_HOLDER (tests/broker/lease-holder)"
    return 77
  fi
  : > "$file"
  bus_start || return 1
  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS run_start "$file"
  serve tcp "$NS_A" 40510 lan-a || return 1
  want_closed tcp 40510 || return 1

  t0=$(now_ms)
  holder_start tcp 40510
  for i in $(seq 400); do
    grep -qE '^(active|failed)' "$LABDIR/holder.out" && break
    sleep 0.05
  done
  active_ms=$(( $(now_ms) - t0 ))
  diag "lease-holder: $(cat "$LABDIR/holder.out")"
  eport=$(awk '$1 == "active" { print $2 }' "$LABDIR/holder.out")
  [ -n "$eport" ] || { diag "FAIL: the lease did not become active"; run_log "lease"; return 1; }
  want_rule tcp "$eport" "$HOST_A" 40510 && want_reaches tcp "$eport" lan-a ||
    { run_log "lease"; return 1; }

  # The program dies without a word: the engine sees it leave the bus.
  t0=$(now_ms)
  kill -KILL "$HOLDER_PID" 2>/dev/null
  wait "$HOLDER_PID" 2>/dev/null
  for i in $(seq 200); do
    has_rule tcp "$eport" "$HOST_A" 40510 || break
    sleep 0.05
  done
  gone_ms=$(( $(now_ms) - t0 ))
  want_no_rule tcp "$eport" "$HOST_A" 40510 && want_closed tcp "$eport" ||
    { run_log "after the holder was killed"; return 1; }
  kill -0 "$BG_PID" 2>/dev/null || { diag "FAIL: the engine stopped with its client"; return 1; }
  note "broker: a program's lease active on the router in $active_ms ms (from the" \
       "program's start), its rule gone ${gone_ms} ms after the program was killed"

  run_stop TERM
  want_rc 0
}

# Plain map while the engine runs (over PCP) maps both families, as in-process: the IPv4
# forwarding and a pinhole for host a's address, each reached from the WAN; -4 maps IPv4 only;
# unmap ends both leases, and the engine removes the rule and the pinhole.
t_broker_map_both () {
  local file=$LABDIR/broker-both.ini i
  if ! command -v dbus-daemon >/dev/null; then
    SKIP_REASON="needs dbus-daemon"
    return 77
  fi
  : > "$file"
  bus_start || return 1
  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS run_start "$file" --protocol pcp
  serve tcp "$NS_A" 41240 lan-a && serve tcp "$NS_A" 41241 lan-a || return 1
  want_dropped_at "$HOST_A6" tcp 41240 || return 1

  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS ctl "$NS_A" map -t 41240 41240
  want_rc 0 && want_text "Portlight's engine holds it until" &&
    want_text "$(pcp_opened_re TCP 41240)" &&
    want_text "Open on ${EXT_IP//./\\.}:41240 \\(IPv4\\) and \\[$HOST_A6\\]:41240 \\(IPv6\\)" ||
    { run_log "map"; return 1; }
  want_rule tcp 41240 "$HOST_A" 41240 && want_reaches tcp 41240 lan-a &&
    want_pinhole tcp 41240 "$HOST_A6" && want_reaches_at "$HOST_A6" tcp 41240 lan-a ||
    { run_log "map"; return 1; }

  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS ctl "$NS_A" map -4 -t --json 41241 41241
  want_rc 0 && want_json_protocol pcp && want_rule tcp 41241 "$HOST_A" 41241 &&
    want_no_pinhole tcp 41241 "$HOST_A6" || { run_log "map -4"; return 1; }
  [[ $OUT != *'"family":"ipv6"'* ]] || { diag "FAIL: map -4 printed a pinhole"; return 1; }

  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS ctl "$NS_A" unmap 41240
  want_rc 0 || return 1
  for i in $(seq 200); do
    has_rule tcp 41240 "$HOST_A" 41240 || has_pinhole tcp 41240 "$HOST_A6" || break
    sleep 0.05
  done
  want_no_rule tcp 41240 "$HOST_A" 41240 && want_no_pinhole tcp 41240 "$HOST_A6" ||
    { run_log "unmap"; return 1; }

  run_stop TERM
  want_rc 0
}

broker_scenarios () {
  local LAB_PROTOCOL=""
  scenario "engine on the session bus: a program's lease opens the port; killed, the port closes" \
    t_broker_lease
  scenario "engine on the session bus: plain map opens the IPv4 mapping and the pinhole; -4 IPv4 only; unmap ends both" \
    t_broker_map_both
}
