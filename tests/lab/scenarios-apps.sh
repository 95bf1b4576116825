# scenarios-apps.sh: an app-linked profile (App=) follows its program's start and exit, against
# the real router
#
# Copyright 2026 The Portlight authors
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Sourced by lab.sh after scenarios-broker.sh; uses its bus_start and lab.sh's helpers
# (ctl_bg, has_rule, want_rule, want_no_rule …). $APP_HELPER is tests/apps/pl-app-helper, a
# program that runs until it is killed (process name "pl-app-helper"); $FAKE_SYSTEMD1 is
# tests/apps/fake-systemd1, a stand-in systemd user manager on the lab's session bus (the lab
# has none): a desktop makes a scope for every program it launches, and the engine looks for
# new processes when systemd reports a new unit, so the scenario announces the program's
# scope as a desktop would. The program's exit is seen through its pidfd, with no help.

# shellcheck shell=bash
# "check && check || fail" is the idiom of the scenarios
# shellcheck disable=SC2015
# SKIP_REASON is read by lab.sh's runner; loop counters are only counters
# shellcheck disable=SC2034

# systemd_start: the fake user manager on $BUS_ADDRESS, reading commands from a FIFO held
# open on fd SYSTEMD_FD (SYSTEMD_PID)
systemd_start () {
  local fifo=$LABDIR/systemd.fifo i
  rm -f "$fifo"
  mkfifo "$fifo"
  exec {SYSTEMD_FD}<>"$fifo"
  : > "$LABDIR/systemd.out"
  ip netns exec "$NS_A" env DBUS_SESSION_BUS_ADDRESS="$BUS_ADDRESS" "$FAKE_SYSTEMD1" \
    <"$fifo" >"$LABDIR/systemd.out" 2>>"$DIAG" &
  SYSTEMD_PID=$!
  LISTENER_PIDS="$LISTENER_PIDS $SYSTEMD_PID"
  for i in $(seq 200); do
    grep -q ready "$LABDIR/systemd.out" && return 0
    sleep 0.05
  done
  diag "fake-systemd1 did not start"
  return 1
}

systemd_stop () {
  kill -TERM "$SYSTEMD_PID" 2>/dev/null
  wait "$SYSTEMD_PID" 2>/dev/null
  exec {SYSTEMD_FD}>&-
}

# The profile "torrent" (TCP 40520) is tied to process:pl-app-helper. The engine starts with
# the program not running: no rule. The program starts (its scope appears): the rule appears
# and a WAN host gets through. The program is killed: the rule goes while the engine runs on.
t_app_linked () {
  local file=$LABDIR/apps-profiles.ini t0 i app_pid active_ms gone_ms
  if [ -z "${APP_HELPER:-}" ] || [ -z "${FAKE_SYSTEMD1:-}" ] || ! command -v dbus-daemon >/dev/null; then
    SKIP_REASON="needs dbus-daemon, APP_HELPER and FAKE_SYSTEMD1 (tests/apps/)"
    return 77
  fi
  printf '[torrent]\nProtocol=tcp\nInternalPort=40520\nExternalPort=0\nLifetime=3600\nEnabled=true\nApp=process:pl-app-helper\n' \
    > "$file"
  bus_start || return 1
  systemd_start || return 1
  DBUS_SESSION_BUS_ADDRESS=$BUS_ADDRESS run_start "$file"
  serve tcp "$NS_A" 40520 lan-a || return 1
  for i in $(seq 200); do
    grep -q '"event":"app"' "$LABDIR/bg.out" && break
    sleep 0.05
  done
  grep -q '"running":false' "$LABDIR/bg.out" ||
    { diag "FAIL: no waiting app event"; run_log "start"; return 1; }
  grep -q 'Waiting for pl-app-helper to start' "$LABDIR/bg.out" ||
    { diag "FAIL: the waiting profile does not say why"; run_log "start"; return 1; }
  sleep 0.5
  want_no_rule tcp 40520 "$HOST_A" 40520 && want_closed tcp 40520 ||
    { run_log "before the program"; return 1; }

  # The program starts in a scope of its own, as a desktop launches it.
  t0=$(now_ms)
  ip netns exec "$NS_A" "$APP_HELPER" </dev/null >/dev/null 2>>"$DIAG" &
  app_pid=$!
  LISTENER_PIDS="$LISTENER_PIDS $app_pid"
  echo "add app-lab-pl\\x2dapp\\x2dhelper-1.scope active" >&"$SYSTEMD_FD"
  for i in $(seq 200); do
    has_rule tcp 40520 "$HOST_A" 40520 && break
    sleep 0.05
  done
  active_ms=$(( $(now_ms) - t0 ))
  want_rule tcp 40520 "$HOST_A" 40520 && want_reaches tcp 40520 lan-a ||
    { run_log "after the program started"; return 1; }

  # It exits: the engine sees it through its pidfd, with no word from systemd.
  t0=$(now_ms)
  kill -KILL "$app_pid" 2>/dev/null
  wait "$app_pid" 2>/dev/null
  for i in $(seq 200); do
    has_rule tcp 40520 "$HOST_A" 40520 || break
    sleep 0.05
  done
  gone_ms=$(( $(now_ms) - t0 ))
  want_no_rule tcp 40520 "$HOST_A" 40520 && want_closed tcp 40520 ||
    { run_log "after the program was killed"; return 1; }
  kill -0 "$BG_PID" 2>/dev/null || { diag "FAIL: the engine stopped with the program"; return 1; }
  note "apps: an app-linked profile's rule on the router $active_ms ms after its program" \
       "started, gone $gone_ms ms after it was killed"

  run_stop TERM
  want_rc 0
  systemd_stop
}

apps_scenarios () {
  local LAB_PROTOCOL=""
  scenario "app-linked profile: the rule appears when its program starts, goes when it exits" \
    t_app_linked
}
