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
# client would, and never calls Release. $PORTLIGHT is the tray of the build and $SNI_PANEL
# tests/lab/sni-panel (the panel the tray shows its icon and menu in).

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

# xvfb_start: an X server for host a's desktop (XVFB_PID, XVFB_DISPLAY), started in its
# namespace; it picks a free display and writes its number to fd 3 once it is ready
xvfb_start () {
  local file=$LABDIR/xvfb.display i
  : > "$file"
  ip netns exec "$NS_A" Xvfb -displayfd 3 -nolisten tcp -screen 0 800x600x24 \
    3>"$file" </dev/null >/dev/null 2>>"$LABDIR/xvfb.err" &
  XVFB_PID=$!
  LISTENER_PIDS="$LISTENER_PIDS $XVFB_PID"
  for i in $(seq 200); do
    [ "$(wc -l < "$file")" -ge 1 ] && break
    sleep 0.05
  done
  [ "$(wc -l < "$file")" -ge 1 ] ||
    { diag "FAIL: Xvfb did not start: $(tail -3 "$LABDIR/xvfb.err")"; return 1; }
  XVFB_DISPLAY=:$(head -1 "$file")
}

# panel_start: the lab's panel (sni-panel watch) on host a's session bus, owning the
# watcher's name before the tray starts, so that the tray shows its icon there at once
# (PANEL_PID; registrations in panel.out)
panel_start () {
  local i
  : > "$LABDIR/panel.out"
  ip netns exec "$NS_A" env DBUS_SESSION_BUS_ADDRESS="$BUS_ADDRESS" "$SNI_PANEL" watch \
    </dev/null >"$LABDIR/panel.out" 2>>"$DIAG" &
  PANEL_PID=$!
  LISTENER_PIDS="$LISTENER_PIDS $PANEL_PID"
  for i in $(seq 200); do
    grep -qx watching "$LABDIR/panel.out" && return 0
    kill -0 "$PANEL_PID" 2>/dev/null || break
    sleep 0.05
  done
  diag "FAIL: the lab's panel did not own org.kde.StatusNotifierWatcher"
  return 1
}

# tray_start CONFIG_HOME: the tray (`portlight --background`) on host a's desktop and session
# bus, its profiles in CONFIG_HOME/portlight/profiles.ini; waits until its item is in the
# panel, up to 30 s (a sanitizer build of GTK is slow to start) (TRAY_PID, ITEM_SENDER,
# ITEM_PATH)
tray_start () {
  local home=$1 i
  ip netns exec "$NS_A" env DISPLAY="$XVFB_DISPLAY" DBUS_SESSION_BUS_ADDRESS="$BUS_ADDRESS" \
    XDG_CONFIG_HOME="$home" XDG_DATA_HOME="$home/data" XDG_CACHE_HOME="$home/cache" \
    NO_AT_BRIDGE=1 GDK_BACKEND=x11 GSETTINGS_BACKEND=memory LC_ALL=C.UTF-8 \
    G_MESSAGES_DEBUG=all "$PORTLIGHT" --background \
    </dev/null >"$LABDIR/tray.out" 2>"$LABDIR/tray.err" &
  TRAY_PID=$!
  LISTENER_PIDS="$LISTENER_PIDS $TRAY_PID"
  for i in $(seq 600); do
    grep -q '^item ' "$LABDIR/panel.out" && break
    kill -0 "$TRAY_PID" 2>/dev/null || break
    sleep 0.05
  done
  read -r _ ITEM_SENDER ITEM_PATH < <(grep '^item ' "$LABDIR/panel.out" | tail -1)
  [ -n "${ITEM_PATH:-}" ] && return 0
  diag "FAIL: the tray's item did not come to the panel"
  tray_log
  return 1
}

# tray_log: the tray's last messages (GLib writes the debug ones to stdout), into the
# diagnostics
tray_log () {
  tail -n 15 "$LABDIR/tray.out" | sed 's/^/    tray out: /' >> "$DIAG"
  tail -n 15 "$LABDIR/tray.err" | sed 's/^/    tray err: /' >> "$DIAG"
}

# tray_menu: the tray's menu as the panel reads it, one line per entry
tray_menu () {
  ip netns exec "$NS_A" env DBUS_SESSION_BUS_ADDRESS="$BUS_ADDRESS" \
    "$SNI_PANEL" menu "$ITEM_SENDER" "$ITEM_PATH" 2>>"$DIAG"
}

# tray_click LABEL_PREFIX: the panel clicks the menu's entry
tray_click () {
  ip netns exec "$NS_A" env DBUS_SESSION_BUS_ADDRESS="$BUS_ADDRESS" \
    "$SNI_PANEL" click "$ITEM_SENDER" "$ITEM_PATH" "$1" >>"$DIAG" 2>&1
}

# want_menu_line [-n] LINE: waits up to 20 s for the tray's menu to have the line LINE
# (with -n: not to have it)
want_menu_line () {
  local neg=0 i
  [ "$1" = -n ] && { neg=1; shift; }
  for i in $(seq 200); do
    if tray_menu | grep -qxF -- "$1"; then
      [ $neg = 0 ] && return 0
    else
      [ $neg = 1 ] && return 0
    fi
    sleep 0.1
  done
  if [ $neg = 0 ]; then
    diag "FAIL: no line '$1' in the tray's menu"
  else
    diag "FAIL: the tray's menu still has '$1'"
  fi
  tray_menu | sed 's/^/    menu: /' >> "$DIAG"
  tray_log
  return 1
}

# wait_rule [-n] tcp|udp EPORT IP IPORT: waits up to 10 s for the router's rule (with -n:
# for it to be gone), then checks it as want_rule / want_no_rule do
wait_rule () {
  local neg=0 i
  [ "$1" = -n ] && { neg=1; shift; }
  for i in $(seq 200); do
    if has_rule "$@"; then [ $neg = 0 ] && break; else [ $neg = 1 ] && break; fi
    sleep 0.05
  done
  if [ $neg = 0 ]; then want_rule "$@"; else want_no_rule "$@"; fi
}

# inet_sockets PID: "udp|udp6|tcp|tcp6 LOCAL REMOTE" (hex, as /proc/net has them) for each
# IP socket the process holds: its fds' socket inodes, looked up in its namespace's tables
inet_sockets () {
  local pid=$1 inodes t
  inodes=$(for t in /proc/"$pid"/fd/*; do readlink "$t"; done 2>/dev/null |
             sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p' | tr '\n' ' ')
  for t in udp udp6 tcp tcp6; do
    awk -v t="$t" -v list=" $inodes" 'NR > 1 && index(list, " " $10 " ") { print t, $2, $3 }' \
      "/proc/$pid/net/$t"
  done
}

# want_no_router_sockets PID WHO: the process holds no UDP socket at all (no NAT-PMP/PCP to
# port 5351, no announcement listener on 5350, no SSDP) and no TCP connection to the router
# (miniupnpd's HTTP port): it is nobody's engine
want_no_router_sockets () {
  local socks bad
  socks=$(inet_sockets "$1")
  # 192.168.77.1 as /proc/net/tcp writes it
  bad=$(printf '%s\n' "$socks" | grep -E '^udp|^tcp6? [^ ]+ 014DA8C0:')
  [ -z "$bad" ] && return 0
  diag "FAIL: $2 holds sockets of an engine:"
  printf '%s\n' "$bad" | sed 's/^/    socket: /' >> "$DIAG"
  return 1
}

# wait_engine: until the run ($BG_PID) owns the engine's bus name (up to 5 s)
wait_engine () {
  local i owner
  for i in $(seq 100); do
    owner=$(ip netns exec "$NS_A" env DBUS_SESSION_BUS_ADDRESS="$BUS_ADDRESS" gdbus call \
              --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
              --method org.freedesktop.DBus.GetConnectionUnixProcessID \
              io.github.portlight.Portlight.Broker1 2>/dev/null)
    [ "$owner" = "(uint32 $BG_PID,)" ] && return 0
    sleep 0.05
  done
  diag "FAIL: the run ($BG_PID) did not own the engine's name within 5 s"
  return 1
}

# want_engine_owner: the engine's bus name is owned by the run ($BG_PID), not by the tray
want_engine_owner () {
  local owner
  owner=$(ip netns exec "$NS_A" env DBUS_SESSION_BUS_ADDRESS="$BUS_ADDRESS" gdbus call \
            --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
            --method org.freedesktop.DBus.GetConnectionUnixProcessID \
            io.github.portlight.Portlight.Broker1 2>>"$DIAG")
  [ "$owner" = "(uint32 $BG_PID,)" ] && return 0
  diag "FAIL: the engine's name is owned by '${owner:-nobody}', not by the run ($BG_PID)"
  return 1
}

# profile_key FILE PROFILE KEY: the value of KEY in the group [PROFILE] of FILE
profile_key () {
  awk -v group="[$2]" -v key="$3" '
    /^\[/ { in_group = ($0 == group) }
    in_group && index($0, key "=") == 1 { print substr($0, length(key) + 2) }' "$1"
}

# The tray on host a's desktop beside the engine (`portlightctl run` on a's session bus): it
# is the engine's client. It holds no socket to the router; a profile clicked on in its menu
# opens the port on the router, clicked off closes it, and its menu follows the same profile
# toggled with portlightctl through the engine; another program's lease shows as a line
# while it lasts, its port open; quitting the tray leaves the engine's port open and the
# engine on the bus.
t_broker_tray () {
  local home=$LABDIR/tray-home file i eport t0 start_ms on_ms off_ms quit_ms
  if [ -z "${LEASE_HOLDER:-}" ] || [ -z "${SNI_PANEL:-}" ] ||
     ! command -v dbus-daemon >/dev/null; then
    SKIP_REASON="needs dbus-daemon, LEASE_HOLDER and SNI_PANEL (tests/lab/sni-panel)"
    return 77
  fi
  if [ -z "${PORTLIGHT:-}" ]; then
    SKIP_REASON="the tray (portlight) was not built"
    return 77
  fi
  if ! command -v Xvfb >/dev/null; then
    SKIP_REASON="needs Xvfb (package xvfb)"
    return 77
  fi
  file=$home/portlight/profiles.ini
  rm -rf "$home"
  mkdir -p "$home/portlight"
  : > "$file"
  profile_add "$file" Game -t 40521 40521 && profile_add "$file" Web -t 40520 40520 --disabled ||
    return 1
  bus_start || return 1
  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS run_start "$file"
  serve tcp "$NS_A" 40520 lan-a && serve tcp "$NS_A" 40521 lan-a &&
    serve tcp "$NS_A" 40510 lan-a || return 1
  wait_rule tcp 40521 "$HOST_A" 40521 || { run_log "start"; return 1; }
  want_no_rule tcp 40520 "$HOST_A" 40520 || return 1

  xvfb_start && panel_start || return 1
  t0=$(now_ms)
  tray_start "$home" || return 1
  # What the engine knows, as the tray shows it: the router, its public address, each
  # profile's state and the addresses to copy.
  want_menu_line "Public address 84.17.2.3" && want_menu_line "(Router 192.168.77.1 · PCP)" &&
    want_menu_line "[x] Game — TCP 40521" && want_menu_line "Copy 84.17.2.3:40521" &&
    want_menu_line "[ ] Web — TCP 40520" || return 1
  start_ms=$(( $(now_ms) - t0 ))
  tray_menu | sed 's/^/    menu: /' >> "$DIAG"
  # The engine is the one that talks to the router; the tray only to the engine.
  want_engine_owner || { tray_log; return 1; }
  inet_sockets "$BG_PID" | grep -qE '^udp [^ ]+ 014DA8C0:14E7$' ||
    { diag "FAIL: the engine holds no socket to 192.168.77.1:5351 (the check sees nothing)"
      return 1; }
  want_no_router_sockets "$TRAY_PID" "the tray" || return 1

  # A profile clicked on in the tray: the engine maps it on the router and writes the file.
  t0=$(now_ms)
  tray_click "Web — " || { diag "FAIL: could not click Web"; return 1; }
  wait_rule tcp 40520 "$HOST_A" 40520 && on_ms=$(( $(now_ms) - t0 )) &&
    want_reaches tcp 40520 lan-a || { run_log "Web on"; tray_log; return 1; }
  want_menu_line "[x] Web — TCP 40520" || return 1
  [ "$(profile_key "$file" Web Enabled)" = true ] ||
    { diag "FAIL: Web is not Enabled=true in the profiles file"
      sed 's/^/    file: /' "$file" >> "$DIAG"; return 1; }
  # … and off: the port closes.
  t0=$(now_ms)
  tray_click "Web — " || { diag "FAIL: could not click Web"; return 1; }
  wait_rule -n tcp 40520 "$HOST_A" 40520 && off_ms=$(( $(now_ms) - t0 )) &&
    want_closed tcp 40520 || { run_log "Web off"; tray_log; return 1; }
  want_menu_line "[ ] Web — TCP 40520" || return 1
  [ "$(profile_key "$file" Web Enabled)" = false ] ||
    { diag "FAIL: Web is not Enabled=false in the profiles file"
      sed 's/^/    file: /' "$file" >> "$DIAG"; return 1; }
  want_rule tcp 40521 "$HOST_A" 40521 || return 1
  # Changed through the engine by another client (portlightctl on the same bus): the router
  # and the tray's menu follow.
  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS ctl "$NS_A" profiles enable Web -f "$file"
  want_rc 0 && wait_rule tcp 40520 "$HOST_A" 40520 && want_menu_line "[x] Web — TCP 40520" ||
    { run_log "Web enabled with portlightctl"; return 1; }
  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS ctl "$NS_A" profiles disable Web -f "$file"
  want_rc 0 && wait_rule -n tcp 40520 "$HOST_A" 40520 && want_menu_line "[ ] Web — TCP 40520" ||
    { run_log "Web disabled with portlightctl"; return 1; }

  # Another program's lease: a line in the tray while it lasts, its port open on the router.
  holder_start tcp 40510
  for i in $(seq 400); do
    grep -qE '^(active|failed)' "$LABDIR/holder.out" && break
    sleep 0.05
  done
  eport=$(awk '$1 == "active" { print $2 }' "$LABDIR/holder.out")
  [ -n "$eport" ] ||
    { diag "FAIL: the lease did not become active: $(cat "$LABDIR/holder.out")"
      run_log "lease"; return 1; }
  want_rule tcp "$eport" "$HOST_A" 40510 && want_reaches tcp "$eport" lan-a ||
    { run_log "lease"; return 1; }
  want_menu_line "(lease-holder holds TCP $eport)" || return 1
  kill -KILL "$HOLDER_PID" 2>/dev/null
  wait "$HOLDER_PID" 2>/dev/null
  wait_rule -n tcp "$eport" "$HOST_A" 40510 && want_closed tcp "$eport" ||
    { run_log "lease gone"; return 1; }
  want_menu_line -n "(lease-holder holds TCP $eport)" || return 1
  want_no_router_sockets "$TRAY_PID" "the tray" || return 1

  # Quit: the tray goes, the engine keeps its name and Game's port.
  t0=$(now_ms)
  tray_click "Quit" || { diag "FAIL: could not click Quit"; return 1; }
  for i in $(seq 300); do
    kill -0 "$TRAY_PID" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$TRAY_PID" 2>/dev/null; then
    diag "FAIL: the tray did not quit within 15 s"; tray_log; return 1
  fi
  quit_ms=$(( $(now_ms) - t0 ))
  wait "$TRAY_PID"
  RC=$?
  want_rc 0 || { tray_log; return 1; }
  # a delete would have been sent at once; give it the time of a few round trips
  sleep 0.5
  kill -0 "$BG_PID" 2>/dev/null ||
    { diag "FAIL: the engine stopped with the tray"; run_log "quit"; return 1; }
  want_engine_owner || return 1
  want_rule tcp 40521 "$HOST_A" 40521 && want_reaches tcp 40521 lan-a ||
    { run_log "after quit"; return 1; }
  [ "$(jsel "profile=Game,state=disabled" count)" = 0 ] ||
    { diag "FAIL: the engine took Game down when the tray quit"; run_log "after quit"; return 1; }
  note "broker tray: menu read in $start_ms ms from the tray's start; a click on a profile" \
       "put its rule on the router in $on_ms ms, the next click removed it in $off_ms ms;" \
       "the tray quit in $quit_ms ms"

  run_stop TERM
  want_rc 0 && want_no_rule tcp 40521 "$HOST_A" 40521
}

# Plain map while the engine runs (over PCP) maps both families, as in-process: the IPv4
# forwarding and a pinhole for host a's address, each reached from the WAN; -4 maps IPv4 only;
# unmap ends both leases, and the engine removes the rule and the pinhole. map's JSON carries
# the router's epoch.
t_broker_map_both () {
  local file=$LABDIR/broker-both.ini i epoch up
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
  # status names the address the router opens pinholes to (Manager.Ipv6Address).
  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS ctl "$NS_A" status
  want_rc 0 && want_text "IPv6 address \\(pinholes\\): ${HOST_A6//./\\.}" ||
    { run_log "status"; return 1; }
  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS ctl "$NS_A" status --json
  want_rc 0 && [[ $OUT == *"\"ipv6_address\":\"$HOST_A6\""* ]] ||
    { diag "FAIL: status --json: no ipv6_address $HOST_A6: $OUT"; return 1; }

  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS ctl "$NS_A" map -4 -t --json 41241 41241
  want_rc 0 && want_json_protocol pcp && want_rule tcp 41241 "$HOST_A" 41241 &&
    want_no_pinhole tcp 41241 "$HOST_A6" || { run_log "map -4"; return 1; }
  [[ $OUT != *'"family":"ipv6"'* ]] || { diag "FAIL: map -4 printed a pinhole"; return 1; }
  # The router's epoch (its uptime, system_uptime=no) as the engine heard it, not 0.
  epoch=$(json epoch) || return 1
  up=$(( ($(now_ms) - MU_T0) / 1000 ))
  if [ "$epoch" -lt $((up - 2)) ] || [ "$epoch" -gt $((up + 2)) ]; then
    diag "FAIL: map's epoch $epoch through the engine is not the daemon's uptime ($up s ±2)"
    return 1
  fi

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

# keep_start ARGS…: portlightctl ARGS on host a's session bus, in the background beside the
# engine (KEEP_PID; stdout in $LABDIR/keep.out, stderr in keep.err)
keep_start () {
  : > "$LABDIR/keep.out"
  : > "$LABDIR/keep.err"
  ip netns exec "$NS_A" env DBUS_SESSION_BUS_ADDRESS="$BUS_ADDRESS" "$CTL" "$@" \
    </dev/null >"$LABDIR/keep.out" 2>"$LABDIR/keep.err" &
  KEEP_PID=$!
  LISTENER_PIDS="$LISTENER_PIDS $KEEP_PID"
  diag "\$ [a] portlightctl $* (in the background, pid $KEEP_PID)"
}

# keep_stop SIGNAL: signal it, wait up to 10 s; sets RC, OUT, ERR
keep_stop () {
  local i
  kill -"$1" "$KEEP_PID" 2>/dev/null
  for i in $(seq 100); do
    kill -0 "$KEEP_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$KEEP_PID" 2>/dev/null; then
    diag "FAIL: portlightctl did not exit within 10 s of SIG$1"
    kill -KILL "$KEEP_PID" 2>/dev/null
  fi
  wait "$KEEP_PID"
  RC=$?
  OUT=$(cat "$LABDIR/keep.out")
  ERR=$(cat "$LABDIR/keep.err")
  diag "  SIG$1 -> exit $RC"
  [ -n "$OUT" ] && sed 's/^/    out: /' "$LABDIR/keep.out" >> "$DIAG"
  [ -n "$ERR" ] && grep -v -- '-DEBUG: ' "$LABDIR/keep.err" | sed 's/^/    err: /' >> "$DIAG"
  return 0
}

# keep_wait REGEX: until a line of its stdout matches (at most 20 s)
keep_wait () {
  local i
  for i in $(seq 400); do
    grep -qE "$1" "$LABDIR/keep.out" && return 0
    kill -0 "$KEEP_PID" 2>/dev/null || break
    sleep 0.05
  done
  diag "FAIL: no line matching /$1/ from portlightctl"
  return 1
}

# wait_gone tcp|udp PORT: until neither the rule nor host a's pinhole is on the router (10 s)
wait_gone () {
  local i
  for i in $(seq 200); do
    has_rule "$1" "$2" "$HOST_A" "$2" || has_pinhole "$1" "$2" "$HOST_A6" || return 0
    sleep 0.05
  done
  return 0
}

# Ctrl-C while plain map waits for its pinhole (the router ignores PCP over IPv6 now; the
# engine's IPv6 side was up): the command is cancelled, one line, exit 5; the IPv4 mapping
# the router had granted, never printed, is withdrawn too, and the engine keeps no lease of
# it, so no pinhole opens once the router answers again.
t_broker_map_interrupted () {
  local file=$LABDIR/broker-interrupted.ini i
  if ! command -v dbus-daemon >/dev/null; then
    SKIP_REASON="needs dbus-daemon"
    return 77
  fi
  : > "$file"
  bus_start || return 1
  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS run_start "$file" --protocol pcp
  # The engine's pinholes work (its IPv6 side is up) before the fault.
  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS ctl "$NS_A" map -t -l 120 41242 41242
  want_rc 0 && want_text "$(pcp_opened_re TCP 41242)" || { run_log "map"; return 1; }
  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS ctl "$NS_A" unmap 41242
  want_rc 0 || return 1

  add_fault in meta nfproto ipv6 udp dport 5351 drop || return 1
  keep_start map -t -l 600 41243 41243
  for i in $(seq 200); do
    has_rule tcp 41243 "$HOST_A" 41243 && break
    sleep 0.05
  done
  want_rule tcp 41243 "$HOST_A" 41243 || { keep_stop KILL; return 1; }
  # The command asks for the pinhole now, and waits (up to 10 s).
  sleep 1
  [ ! -s "$LABDIR/keep.out" ] || { diag "FAIL: map printed before its pinhole"; keep_stop KILL; return 1; }
  keep_stop INT
  want_rc 5 || return 1
  [ -z "$OUT" ] || { diag "FAIL: the cancelled map printed: $OUT"; return 1; }
  [[ $ERR == *"portlightctl map: Interrupted: nothing was left open"* ]] ||
    { diag "FAIL: no Interrupted line"; return 1; }
  wait_gone tcp 41243
  want_no_rule tcp 41243 "$HOST_A" 41243 || { run_log "interrupted"; return 1; }

  rtr_flush_faults || return 1
  sleep 3
  want_no_rule tcp 41243 "$HOST_A" 41243 && want_no_pinhole tcp 41243 "$HOST_A6" ||
    { run_log "after the fault"; return 1; }
  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS ctl "$NS_A" status --json
  [[ $OUT != *'"private_port":41243'* ]] ||
    { diag "FAIL: the engine still holds a lease of the cancelled map"; return 1; }

  run_stop TERM
  want_rc 0
}

# map --keep while the engine runs (over PCP) holds both families: the IPv4 forwarding and a
# caller-bound pinhole lease, each reached from the WAN; SIGINT (text) and SIGTERM (--json)
# release both, and the engine removes the rule and the pinhole.
t_broker_keep_both () {
  local file=$LABDIR/broker-keep-both.ini
  if ! command -v dbus-daemon >/dev/null; then
    SKIP_REASON="needs dbus-daemon"
    return 77
  fi
  : > "$file"
  bus_start || return 1
  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS run_start "$file" --protocol pcp
  serve tcp "$NS_A" 41244 lan-a && serve udp "$NS_A" 41245 lan-a || return 1

  keep_start map --keep -t 41244 41244
  keep_wait '^Keeping the mapping' || { keep_stop KILL; return 1; }
  grep -qE "$(pcp_opened_re TCP 41244)" "$LABDIR/keep.out" &&
    grep -qE "Open on ${EXT_IP//./\\.}:41244 \\(IPv4\\) and \\[$HOST_A6\\]:41244 \\(IPv6\\)" \
      "$LABDIR/keep.out" || { diag "FAIL: no pinhole lines"; keep_stop KILL; return 1; }
  want_rule tcp 41244 "$HOST_A" 41244 && want_reaches tcp 41244 lan-a &&
    want_pinhole tcp 41244 "$HOST_A6" && want_reaches_at "$HOST_A6" tcp 41244 lan-a ||
    { keep_stop KILL; return 1; }
  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS ctl "$NS_A" status --json
  [ "$(printf '%s' "$OUT" | grep -o '"bind":"caller"' | wc -l)" = 2 ] ||
    { diag "FAIL: not two caller-bound leases"; keep_stop KILL; return 1; }
  keep_stop INT
  want_rc 0 && want_text "Removed the TCP mapping of private port 41244" &&
    want_text "Removed the TCP IPv6 pinhole of private port 41244" || return 1
  wait_gone tcp 41244
  want_no_rule tcp 41244 "$HOST_A" 41244 && want_no_pinhole tcp 41244 "$HOST_A6" ||
    { run_log "keep SIGINT"; return 1; }

  keep_start map --keep --json -u 41245 41245
  keep_wait '"event":"mapped"' || { keep_stop KILL; return 1; }
  grep -q '"family":"ipv6"' "$LABDIR/keep.out" ||
    { diag "FAIL: no pinhole in the mapped event"; keep_stop KILL; return 1; }
  want_pinhole udp 41245 "$HOST_A6" && want_reaches_at "$HOST_A6" udp 41245 lan-a ||
    { keep_stop KILL; return 1; }
  keep_stop TERM
  want_rc 0 || return 1
  [[ $OUT == *'"event":"unmapped"'*'"family":"ipv6","protocol":"udp","private_port":41245'* ]] ||
    { diag "FAIL: the unmapped event lacks the pinhole"; return 1; }
  wait_gone udp 41245
  want_no_rule udp 41245 "$HOST_A" 41245 && want_no_pinhole udp 41245 "$HOST_A6" ||
    { run_log "keep SIGTERM"; return 1; }

  run_stop TERM
  want_rc 0
}

# The engine on a UPnP-only router, killed with SIGKILL while it holds two ports for
# `portlightctl map` (leases of no caller, bind=none), each with its IPv6 pinhole: the router
# keeps the rules and the pinholes. Started again, it is asked for one of them: that one keeps
# its rule, its public port and its pinhole; the other, which nobody asks for again, the engine
# deletes at the router after its grace, the IPv4 mapping and the pinhole (its journal knew
# they were the engine's: the router lists no pinholes at all), and says so. A clean stop then
# closes the claimed one.
t_broker_upnp_crash () {
  local file=$LABDIR/broker-upnp-crash.ini i t0 swept_ms
  if ! command -v dbus-daemon >/dev/null; then
    SKIP_REASON="needs dbus-daemon"
    return 77
  fi
  : > "$file"
  bus_start || return 1
  serve tcp "$NS_A" 41250 lan-a || return 1
  PORTLIGHT_TEST_SWEEP_GRACE=3 DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS run_start "$file"
  wait_engine || { run_log "start"; return 1; }
  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS ctl "$NS_A" map -t --json 41250 41250
  want_rc 0 && want_json_protocol upnp || { run_log "map 41250"; return 1; }
  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS ctl "$NS_A" map -t 41251 41251
  want_rc 0 && want_text "Portlight's engine holds it until" || { run_log "map 41251"; return 1; }
  want_rule tcp 41250 "$HOST_A" 41250 && want_rule tcp 41251 "$HOST_A" 41251 &&
    want_pinhole tcp 41250 "$HOST_A6" && want_pinhole tcp 41251 "$HOST_A6" ||
    { run_log "map"; return 1; }

  kill -KILL "$BG_PID"
  wait "$BG_PID" 2>/dev/null
  run_log "killed"
  BG_PID=""
  want_rule tcp 41250 "$HOST_A" 41250 && want_rule tcp 41251 "$HOST_A" 41251 &&
    want_pinhole tcp 41251 "$HOST_A6" || return 1

  PORTLIGHT_TEST_SWEEP_GRACE=3 DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS run_start "$file"
  wait_engine || { run_log "start again"; return 1; }
  t0=$(now_ms)
  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS ctl "$NS_A" map -t 41250 41250
  want_rc 0 && want_text "Portlight's engine holds it until" ||
    { run_log "map 41250 again"; return 1; }
  for i in $(seq 400); do
    has_rule tcp 41251 "$HOST_A" 41251 || has_pinhole tcp 41251 "$HOST_A6" || break
    sleep 0.05
  done
  swept_ms=$(( $(now_ms) - t0 ))
  want_no_rule tcp 41251 "$HOST_A" 41251 && want_no_pinhole tcp 41251 "$HOST_A6" ||
    { run_log "the sweep"; return 1; }
  want_rule tcp 41250 "$HOST_A" 41250 && want_reaches tcp 41250 lan-a &&
    want_pinhole tcp 41250 "$HOST_A6" && want_reaches_at "$HOST_A6" tcp 41250 lan-a ||
    { run_log "the sweep"; return 1; }
  for i in $(seq 100); do
    [ "$(grep -c "Closed tcp port 41251 at .*: nobody asked for it again" "$LABDIR/bg.err")" -ge 2 ] &&
      break
    sleep 0.05
  done
  grep -q "Closed tcp port 41251 at $GW: nobody asked for it again" "$LABDIR/bg.err" &&
    grep -q "Closed tcp port 41251 at fe80::[0-9a-f:]*%[a-z0-9-]*: nobody asked for it again" \
      "$LABDIR/bg.err" ||
    { diag "FAIL: the engine did not say it closed 41251 (IPv4 and pinhole)"; run_log "the sweep"; return 1; }
  note "UPnP-IGD, engine killed and started again: the port nobody asked for again closed" \
       "(mapping and pinhole) $swept_ms ms after the new engine's first request (grace 3 s)"

  run_stop TERM
  want_rc 0 || return 1
  for i in $(seq 100); do
    has_rule tcp 41250 "$HOST_A" 41250 || has_pinhole tcp 41250 "$HOST_A6" || break
    sleep 0.05
  done
  want_no_rule tcp 41250 "$HOST_A" 41250 && want_no_pinhole tcp 41250 "$HOST_A6"
}

broker_scenarios () {
  local LAB_PROTOCOL=""
  scenario "engine on the session bus: a program's lease opens the port; killed, the port closes" \
    t_broker_lease
  scenario "tray beside the engine: its client, no router socket; menu toggles, lease line, quit keeps the ports" \
    t_broker_tray
  scenario "engine on the session bus: plain map opens the IPv4 mapping and the pinhole; -4 IPv4 only; unmap ends both" \
    t_broker_map_both
  scenario "engine on the session bus: Ctrl-C while map waits for its pinhole leaves nothing open" \
    t_broker_map_interrupted
  scenario "engine on the session bus: map --keep holds the IPv4 mapping and the pinhole; SIGINT/SIGTERM remove both" \
    t_broker_keep_both
  scenario "engine on a UPnP-only router killed and restarted: the port asked for again stays, the other is closed (IPv4 and pinhole)" \
    t_broker_upnp_crash no "$EXT_IP" upnp
}
