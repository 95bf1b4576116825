# bench-network.sh: the idle cost of profiles that know their network (Network=), sourced
# by bench.sh
#
# Copyright 2026 The Portlight authors
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
#   network-idle   `portlightctl run`, 20 plain profiles; then the same plus one profile on
#                  this network (Network= names the router's MAC: mapped) and one on another
#                  (waiting): context switches over BENCH_IDLE_SECONDS each. With a Network=
#                  profile the engine follows rtnetlink's route, address and neighbour events
#                  (and NetworkManager's signals where it runs); nothing may wake it up while
#                  the network stays as it is.

# shellcheck shell=bash
# shellcheck disable=SC2154  # the lab's and bench.sh's variables

bench_network_idle () {
  local f="$LABDIR/network-idle" mac with without
  say "network-idle: portlightctl run, 20 profiles, then + 2 Network= profiles (one here, one elsewhere), ${BENCH_IDLE_SECONDS:-60} s idle each"
  profiles "$f/profiles.ini" 20 7200 45000
  rtr_reset || return 1
  mac=$(ip -n "$NS_R" -br link show br0 | awk '{ print $3 }')

  # without: the 20 plain profiles
  ip netns exec "$NS_A" env XDG_CONFIG_HOME="$LABDIR/xdg" \
    "$CTL" run --protocol natpmp -f "$f/profiles.ini" \
    </dev/null >"$LABDIR/run.network-plain.out" 2>"$LABDIR/run.network-plain.err" &
  RUN_PID=$!
  wait_rules 20 600 || note "network-idle: only $(n_rules) forwardings"
  sleep 1
  idle_measure "$RUN_PID"
  without=$IDLE_WAKE
  run_stop
  rtr_reset || return 1

  # with: one profile on this network (mapped), one on another (waits, says why)
  printf '\n[network-here]\nProtocol=tcp\nInternalPort=45100\nNetwork=home; gateway=%s\n' \
    "$mac" >> "$f/profiles.ini"
  printf '\n[network-elsewhere]\nProtocol=tcp\nInternalPort=45101\nNetwork=cafe; gateway=02:00:5e:00:53:99\n' \
    >> "$f/profiles.ini"
  ip netns exec "$NS_A" env XDG_CONFIG_HOME="$LABDIR/xdg" \
    "$CTL" run --protocol natpmp -f "$f/profiles.ini" \
    </dev/null >"$LABDIR/run.network.out" 2>"$LABDIR/run.network.err" &
  RUN_PID=$!
  wait_rules 21 600 || note "network-idle: only $(n_rules) forwardings (21 expected: the profile elsewhere waits)"
  sleep 1
  idle_measure "$RUN_PID"
  with=$IDLE_WAKE
  [ "$(n_rules)" = 21 ] || note "network-idle: $(n_rules) forwardings at the end, 21 expected"
  row "| Engine idle, 20 profiles (no Network=: the network is not watched) | $without | – | – | 0 (no renewal due) | – |"
  row "| Engine idle, the same + 2 Network= profiles (one on this network: mapped; one elsewhere: waiting; rtnetlink followed) | $with | – | – | 0 (no renewal due) | – |"
  run_stop
}
