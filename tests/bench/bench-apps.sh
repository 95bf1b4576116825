# bench-apps.sh: the idle cost of app-linked profiles (App=), sourced by bench.sh
#
# Copyright 2026 The Portlight authors
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
#   apps-idle   the engine on a session bus with a (stand-in) systemd user manager, 20 plain
#               profiles, one app-linked profile whose program runs (its pidfd watched) and
#               one whose program does not: context switches over BENCH_IDLE_SECONDS, with
#               and without the two app-linked profiles

# shellcheck shell=bash
# shellcheck disable=SC2154  # the lab's and bench.sh's variables

apps_ready () {
  broker_ready && [ -x "${APP_HELPER:-}" ] && [ -x "${FAKE_SYSTEMD1:-}" ]
}

bench_apps_idle () {
  local f="$LABDIR/apps-idle" fifo app_pid sd_pid fd with without
  if ! apps_ready; then
    row "| Engine idle with app-linked profiles | **not measured**: dbus-daemon, tests/apps/pl-app-helper or tests/apps/fake-systemd1 missing | – | – | – | – |"
    return 0
  fi
  say "apps-idle: portlightctl run, 20 profiles + 2 app-linked (one program running), ${BENCH_IDLE_SECONDS:-60} s idle"
  profiles "$f/profiles.ini" 20 7200 44000
  rtr_reset || return 1
  broker_bus_start || { note "apps-idle: dbus-daemon did not start"; return 0; }
  fifo=$f/systemd.fifo
  rm -f "$fifo"
  mkfifo "$fifo"
  exec {fd}<>"$fifo"
  ip netns exec "$NS_A" env DBUS_SESSION_BUS_ADDRESS="$BROKER_BUS" "$FAKE_SYSTEMD1" \
    <"$fifo" >"$f/systemd.out" 2>&1 &
  sd_pid=$!
  wait_file_line "$f/systemd.out" 200 || { note "apps-idle: fake-systemd1 did not start"; broker_bus_stop; return 0; }

  # without: the 20 plain profiles on the same bus
  ip netns exec "$NS_A" env XDG_CONFIG_HOME="$LABDIR/xdg" DBUS_SESSION_BUS_ADDRESS="$BROKER_BUS" \
    "$CTL" run --protocol natpmp -f "$f/profiles.ini" \
    </dev/null >"$LABDIR/run.apps-plain.out" 2>"$LABDIR/run.apps-plain.err" &
  RUN_PID=$!
  wait_rules 20 600 || note "apps-idle: only $(n_rules) forwardings"
  sleep 1
  idle_measure "$RUN_PID"
  without=$IDLE_WAKE
  run_stop
  rtr_reset || return 1

  # with: the program of one app-linked profile runs, the other's does not
  ip netns exec "$NS_A" "$APP_HELPER" </dev/null >/dev/null 2>&1 &
  app_pid=$!
  printf '\n[app-running]\nProtocol=tcp\nInternalPort=44100\nApp=process:pl-app-helper\n' >> "$f/profiles.ini"
  printf '\n[app-waiting]\nProtocol=tcp\nInternalPort=44101\nApp=app:org.example.NotRunning\n' >> "$f/profiles.ini"
  ip netns exec "$NS_A" env XDG_CONFIG_HOME="$LABDIR/xdg" DBUS_SESSION_BUS_ADDRESS="$BROKER_BUS" \
    "$CTL" run --protocol natpmp -f "$f/profiles.ini" \
    </dev/null >"$LABDIR/run.apps.out" 2>"$LABDIR/run.apps.err" &
  RUN_PID=$!
  wait_rules 21 600 || note "apps-idle: only $(n_rules) forwardings"
  sleep 1
  idle_measure "$RUN_PID"
  with=$IDLE_WAKE
  row "| Engine idle, 20 profiles (session bus, systemd user manager subscribed) | $without | – | – | 0 (no renewal due) | – |"
  row "| Engine idle, the same + 2 app-linked profiles (one program running: its pidfd watched; one waiting) | $with | – | – | 0 (no renewal due) | – |"
  run_stop
  kill -KILL "$app_pid" "$sd_pid" 2>/dev/null
  wait "$app_pid" "$sd_pid" 2>/dev/null
  exec {fd}>&-
  broker_bus_stop
}
