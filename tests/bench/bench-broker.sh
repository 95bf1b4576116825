# bench-broker.sh: the engine as other programs meet it, on a session bus (sourced by bench.sh)
#
# Copyright 2026 The Portlight authors
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
# `portlightctl run` owns io.github.portlight.Portlight.Broker1 on a session bus of host a's
# own; tests/broker/lease-holder ($LEASE_HOLDER) is the other program, as a torrent client
# would be:
#   broker-lease  a program opening a port through the engine (process start, bus connection,
#                 RequestMapping, until the lease is active; the engine speaks NAT-PMP to the
#                 router and deletes the mapping when the program leaves) beside natpmpc doing
#                 it itself, and the NAT-PMP map round trip (floor)
#   broker-lease-upnp  the same on the UPnP-only router (the engine journals each mapping, on
#                 disk before its AddPortMapping goes out) beside `upnpc -u URL -a` (no
#                 discovery)
#   broker-idle   the engine holding 10 programs' leases: context switches per minute and
#                 memory; then the 10 programs killed at once: until the router's rules are gone
#   broker-many   500 leases from 50 programs (10 each, asked at once): until all 500
#                 forwardings are on the router, and the engine's memory holding them (the
#                 engine's LeasesTotal raised to 510 in its broker.ini; 128 by default)
#   broker-address  `portlightctl address` answered by the engine (process start, bus
#                 connection, one GetAll; no request to the router) beside
#                 the one-shot `address` (no bus: it asks the router), natpmpc and a program
#                 linking GIO alone that reads the same property (any GDBus client's floor), round-robin
#   broker-map    `portlightctl map` through the engine beside the one-shot `map` and natpmpc -a

# shellcheck shell=bash
# shellcheck disable=SC2154  # the lab's and bench.sh's variables

# broker_bus_start: dbus-daemon for host a on a socket in the lab's folder (an abstract socket
# would belong to one network namespace); sets BROKER_BUS, BROKER_BUS_PID
broker_bus_start () {
  local socket=$LABDIR/bench-bus
  rm -f "$socket"
  BROKER_BUS=unix:path=$socket
  ip netns exec "$NS_A" dbus-daemon --session --nofork --nopidfile --address="$BROKER_BUS" \
    </dev/null >/dev/null 2>>"$LABDIR/bench-bus.err" &
  BROKER_BUS_PID=$!
  wait_file "$socket" 100
}

broker_bus_stop () {
  [ -n "${BROKER_BUS_PID:-}" ] || return 0
  kill -TERM "$BROKER_BUS_PID" 2>/dev/null
  wait "$BROKER_BUS_PID" 2>/dev/null
  BROKER_BUS_PID=""
}

# broker_engine_start NAME [PROTOCOL]: the engine on that bus (NAT-PMP unless PROTOCOL says,
# no profiles); sets RUN_PID
broker_engine_start () {
  mkdir -p "$LABDIR/broker-$1"
  : > "$LABDIR/broker-$1/profiles.ini"
  ip netns exec "$NS_A" env XDG_CONFIG_HOME="$LABDIR/xdg" DBUS_SESSION_BUS_ADDRESS="$BROKER_BUS" \
    "$CTL" run --protocol "${2:-natpmp}" -g "$GW" -f "$LABDIR/broker-$1/profiles.ini" \
    </dev/null >"$LABDIR/run.broker-$1.out" 2>"$LABDIR/run.broker-$1.err" &
  RUN_PID=$!
  # ready once a program's lease goes through
  ip netns exec "$NS_A" env DBUS_SESSION_BUS_ADDRESS="$BROKER_BUS" "$LEASE_HOLDER" --once \
    udp 40599 >/dev/null 2>>"$LABDIR/run.broker-$1.err"
}

broker_ready () {
  [ -n "${LEASE_HOLDER:-}" ] && [ -x "$LEASE_HOLDER" ] && command -v dbus-daemon >/dev/null
}

# broker_round_robin FILE OTHER "holder=CMD" "OTHER=CMD": the two commands on the engine's
# bus, $RUNS runs each round-robin (after 3 of each to warm up); sets H_MED H_P90 H_MAX (the
# holder), S_MED S_P90 S_MAX (OTHER) and FAILS (failed runs of either, not counted)
broker_round_robin () {
  local f=$1 other=$2
  shift 2
  in_ns "$NS_A" env DBUS_SESSION_BUS_ADDRESS="$BROKER_BUS" "$BENCH" time 3 "$@" > /dev/null
  in_ns "$NS_A" env DBUS_SESSION_BUS_ADDRESS="$BROKER_BUS" "$BENCH" time "$RUNS" "$@" > "$f.time"
  samples "$f.time" holder > "$f.holder"; stats "$f.holder"
  # shellcheck disable=SC2153  # S_MED, S_P90, S_MAX: set by stats (bench.sh)
  H_MED=$S_MED H_P90=$S_P90 H_MAX=$S_MAX
  FAILS=$(( $(failures "$f.time" holder) + $(failures "$f.time" "$other") ))
  samples "$f.time" "$other" > "$f.$other"; stats "$f.$other"
}

bench_broker_lease () {
  local f="$LABDIR/broker-lease" n_med n_p90 n_max floor
  if ! broker_ready; then
    row "| A program's lease through the engine (D-Bus) | **not measured**: dbus-daemon or tests/broker/lease-holder missing | – | – | – | – |"
    return 0
  fi
  say "broker-lease: $RUNS runs of each command, round-robin; the engine on a session bus"
  rtr_reset || return 1
  broker_bus_start || { note "broker-lease: dbus-daemon did not start"; return 0; }
  broker_engine_start lease
  broker_round_robin "$f" natpmpc-map \
    "holder=$LEASE_HOLDER --once udp 40501" \
    "natpmpc-map=$NATPMPC -g $GW -a 40502 40502 udp 7200"
  n_med=$S_MED n_p90=$S_P90 n_max=$S_MAX
  if [ "${OPEN_RTT_M:-1}" != 1 ]; then
    floor=$OPEN_RTT_M
  else
    in_ns "$NS_A" "$BENCH" rtt "$GW" 100 udp 40300 > "$f.rtt-map" 2>>"$f.err"
    stats "$f.rtt-map"; floor=$S_MED
  fi
  row "| A program opens a port through the engine (\`lease-holder --once\`: start, bus connection, RequestMapping, lease active; the engine maps over NAT-PMP) / \`natpmpc -g -a\` doing it itself | $(ms "$H_MED") ms (p90 $(ms "$H_P90"), worst $(ms "$H_MAX")) | $(ms "$n_med") ms (p90 $(ms "$n_p90"), worst $(ms "$n_max")) | $(ratio "$H_MED" "$n_med") | $(ms "$floor") ms (NAT-PMP map round trip) | $(ratio "$H_MED" "$floor") |"
  [ "$FAILS" = 0 ] || note "broker-lease: $FAILS of $((2 * RUNS)) runs failed (not counted)"
  run_stop
  broker_bus_stop
}

bench_broker_lease_upnp () {
  local f="$LABDIR/broker-lease-upnp" url
  if ! broker_ready || [ -z "$UPNPC" ]; then
    row "| A program's lease through the engine over UPnP-IGD | **not measured**: dbus-daemon, tests/broker/lease-holder or upnpc missing | – | – | – | – |"
    return 0
  fi
  say "broker-lease-upnp: $RUNS runs of each command, round-robin; the engine on a session bus, the UPnP-only router"
  rtr_upnp || return 1
  url=$(upnp_url)
  broker_bus_start || { note "broker-lease-upnp: dbus-daemon did not start"; return 0; }
  broker_engine_start lease-upnp upnp
  broker_round_robin "$f" upnpc-url-map \
    "holder=$LEASE_HOLDER --once udp 40521" \
    "upnpc-url-map=$UPNPC -u $url -e bench -a $HOST_A 40522 40522 UDP 7200"
  row "| A program opens a port through the engine over UPnP-IGD (\`lease-holder --once\`: start, bus connection, RequestMapping, lease active; the engine journals the mapping, on disk before its AddPortMapping goes out) / \`upnpc -u URL -a\` doing it itself (the description URL given: no discovery) | $(ms "$H_MED") ms (p90 $(ms "$H_P90"), worst $(ms "$H_MAX")) | $(ms "$S_MED") ms (p90 $(ms "$S_P90"), worst $(ms "$S_MAX")) | $(ratio "$H_MED" "$S_MED") | – | – |"
  [ "$FAILS" = 0 ] || note "broker-lease-upnp: $FAILS of $((2 * RUNS)) runs failed (not counted)"
  run_stop
  broker_bus_stop
}

bench_broker_idle () {
  local n=10 i pids="" rss t0 gone_ms
  broker_ready || return 0
  say "broker-idle: the engine holding $n programs' leases, ${BENCH_IDLE_SECONDS:-60} s idle"
  rtr_reset || return 1
  broker_bus_start || { note "broker-idle: dbus-daemon did not start"; return 0; }
  broker_engine_start idle
  for i in $(seq 0 $((n - 1))); do
    ip netns exec "$NS_A" env DBUS_SESSION_BUS_ADDRESS="$BROKER_BUS" "$LEASE_HOLDER" \
      tcp $((40510 + i)) </dev/null >"$LABDIR/broker-idle/holder.$i" 2>&1 &
    pids="$pids $!"
  done
  if ! wait_rules "$n" 400; then
    note "broker-idle: only $(n_rules) of $n forwardings; not measured"
  else
    sleep 1
    rss=$(proc_kb "$RUN_PID" VmRSS)
    idle_measure "$RUN_PID"
    row "| Engine idle on the session bus, $n programs' leases held (lifetime 7200 s) | $IDLE_WAKE | – | – | 0 (no renewal due) | – |"
    row "| Engine memory on the session bus, $n programs' leases | RSS $(calc '%.1f' "$rss / 1024") MiB | – | – | – | – |"
    t0=$(now_ms)
    # shellcheck disable=SC2086  # one word per pid
    kill -KILL $pids 2>/dev/null
    for i in $(seq 400); do
      [ "$(n_rules)" -eq 0 ] && break
      sleep 0.01
    done
    gone_ms=$(( $(now_ms) - t0 ))
    row "| $n programs killed at once (no Release) → their $n forwardings gone from the router | $gone_ms ms ($(n_rules) left) | – | – | – | – |"
  fi
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null
  # shellcheck disable=SC2086
  wait $pids 2>/dev/null
  run_stop
  broker_bus_stop
}

bench_broker_address () {
  local f="$LABDIR/broker-address" e_med e_p90 e_max o_med o_p90 o_max n_med n_p90 n_max v_med
  local c n label fails req_e req_o req_n g_med g_p90 g_max
  if ! broker_ready; then
    row "| \`address\` through the engine (D-Bus) | **not measured**: dbus-daemon or tests/broker/lease-holder missing | – | – | – | – |"
    return 0
  fi
  say "broker-address: $RUNS runs of each command, round-robin; the engine on a session bus"
  rtr_reset || return 1
  broker_bus_start || { note "broker-address: dbus-daemon did not start"; return 0; }
  broker_engine_start address
  # Every command through env(1), so that each pays the same extra exec: the one-shot
  # command gets no bus (it would use the engine), the others get the engine's.
  set -- \
    "version=env DBUS_SESSION_BUS_ADDRESS=$BROKER_BUS $CTL --version" \
    "engine=env DBUS_SESSION_BUS_ADDRESS=$BROKER_BUS $CTL address" \
    "oneshot=env DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent $CTL address --protocol natpmp -g $GW" \
    "natpmpc=env DBUS_SESSION_BUS_ADDRESS=$BROKER_BUS $NATPMPC -g $GW" \
    "gdbus=env DBUS_SESSION_BUS_ADDRESS=$BROKER_BUS $BENCH engine-address"
  # requests to the router per command (5 runs each); also warms the caches
  for c in "$@"; do
    label=${c%%=*}
    n=$(pmp_count)
    in_ns "$NS_A" "$BENCH" time 5 "$c" > /dev/null
    printf -v "REQ_ba_$label" '%s' "$(calc '%.1f' "($(pmp_count) - $n) / 5")"
  done
  req_e=$REQ_ba_engine req_o=$REQ_ba_oneshot req_n=$REQ_ba_natpmpc
  in_ns "$NS_A" "$BENCH" time "$RUNS" "$@" > "$f.time"
  samples "$f.time" engine > "$f.engine"; stats "$f.engine"
  e_med=$S_MED e_p90=$S_P90 e_max=$S_MAX
  samples "$f.time" oneshot > "$f.oneshot"; stats "$f.oneshot"
  o_med=$S_MED o_p90=$S_P90 o_max=$S_MAX
  samples "$f.time" natpmpc > "$f.natpmpc"; stats "$f.natpmpc"
  n_med=$S_MED n_p90=$S_P90 n_max=$S_MAX
  samples "$f.time" version > "$f.version"; stats "$f.version"
  v_med=$S_MED
  samples "$f.time" gdbus > "$f.gdbus"; stats "$f.gdbus"
  g_med=$S_MED g_p90=$S_P90 g_max=$S_MAX
  row "| \`address\` answered by the engine (start, bus connection, one GetAll of the Manager) / \`natpmpc -g\`; goal ≤ 1.5× | $(ms "$e_med") ms (p90 $(ms "$e_p90"), worst $(ms "$e_max")); $req_e req | $(ms "$n_med") ms (p90 $(ms "$n_p90"), worst $(ms "$n_max")); $req_n req | $(ratio "$e_med" "$n_med") | $(ms "$v_med") ms: \`portlightctl --version\` (start only), same round-robin | $(ratio "$e_med" "$v_med") |"
  row "| the same answer from a program that links GIO alone (\`pl-bench engine-address\`: start, bus connection, the same GetAll): any GDBus client's floor / \`natpmpc -g\` | $(ms "$g_med") ms (p90 $(ms "$g_p90"), worst $(ms "$g_max")); $REQ_ba_gdbus req; \`portlightctl address\` is $(ratio "$e_med" "$g_med") of it | $(ms "$n_med") ms | $(ratio "$g_med" "$n_med") | – | – |"
  row "| one-shot \`address --protocol natpmp -g\` in the same round-robin (no bus) / \`natpmpc -g\` | $(ms "$o_med") ms (p90 $(ms "$o_p90"), worst $(ms "$o_max")); $req_o req; the engine's answer is $(ratio "$e_med" "$o_med") of it | $(ms "$n_med") ms | $(ratio "$o_med" "$n_med") | – | – |"
  fails=$(( $(failures "$f.time" engine) + $(failures "$f.time" oneshot) + $(failures "$f.time" natpmpc) + $(failures "$f.time" gdbus) ))
  [ "$fails" = 0 ] || note "broker-address: $fails of $((4 * RUNS)) runs failed (not counted)"
  run_stop
  broker_bus_stop
}

bench_broker_map () {
  local f="$LABDIR/broker-map" e_med e_p90 e_max o_med o_max o_p90 n_med n_p90 n_max fails
  broker_ready || return 0
  say "broker-map: $RUNS runs of each command, round-robin; the engine on a session bus"
  rtr_reset || return 1
  broker_bus_start || { note "broker-map: dbus-daemon did not start"; return 0; }
  broker_engine_start map
  # As broker-address: every command through env(1). Each engine run is a new program's
  # lease (bind=none) on the same port, sharing the engine's one mapping after the first.
  set -- \
    "engine=env DBUS_SESSION_BUS_ADDRESS=$BROKER_BUS $CTL map 40620 40620" \
    "oneshot=env DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent $CTL map --protocol natpmp -g $GW 40621 40621" \
    "natpmpc=env DBUS_SESSION_BUS_ADDRESS=$BROKER_BUS $NATPMPC -g $GW -a 40622 40622 tcp 7200"
  in_ns "$NS_A" "$BENCH" time 3 "$@" > /dev/null
  in_ns "$NS_A" "$BENCH" time "$RUNS" "$@" > "$f.time"
  samples "$f.time" engine > "$f.engine"; stats "$f.engine"
  e_med=$S_MED e_p90=$S_P90 e_max=$S_MAX
  samples "$f.time" oneshot > "$f.oneshot"; stats "$f.oneshot"
  o_med=$S_MED o_p90=$S_P90 o_max=$S_MAX
  samples "$f.time" natpmpc > "$f.natpmpc"; stats "$f.natpmpc"
  n_med=$S_MED n_p90=$S_P90 n_max=$S_MAX
  row "| \`map PORT PORT\` through the engine (start, bus connection, Subscribe, the Manager, RequestMapping, the lease's proxy, until it is active; the engine holds the port already after the first run) / \`natpmpc -g -a\`; goal ≤ 1.5× | $(ms "$e_med") ms (p90 $(ms "$e_p90"), worst $(ms "$e_max")) | $(ms "$n_med") ms (p90 $(ms "$n_p90"), worst $(ms "$n_max")) | $(ratio "$e_med" "$n_med") | – | – |"
  row "| one-shot \`map --protocol natpmp -g\` in the same round-robin (no bus: address and map requests) / \`natpmpc -g -a\` | $(ms "$o_med") ms (p90 $(ms "$o_p90"), worst $(ms "$o_max")); through the engine is $(ratio "$e_med" "$o_med") of it | $(ms "$n_med") ms | $(ratio "$o_med" "$n_med") | – | – |"
  fails=$(( $(failures "$f.time" engine) + $(failures "$f.time" oneshot) + $(failures "$f.time" natpmpc) ))
  [ "$fails" = 0 ] || note "broker-map: $fails of $((3 * RUNS)) runs failed (not counted)"
  run_stop
  broker_bus_stop
}

bench_broker_many () {
  local clients=50 per=10 i pids="" rss0 rss t0 all_ms ini
  broker_ready || return 0
  say "broker-many: $((clients * per)) leases from $clients programs ($per each), asked at once"
  rtr_reset || return 1
  ini=$LABDIR/xdg/portlight/broker.ini
  mkdir -p "$(dirname "$ini")" "$LABDIR/broker-many"
  printf '[Broker]\nLeasesTotal=%d\n' $((clients * per + 10)) > "$ini"
  broker_bus_start || { note "broker-many: dbus-daemon did not start"; rm -f "$ini"; return 0; }
  broker_engine_start many
  sleep 0.5
  rss0=$(proc_kb "$RUN_PID" VmRSS)
  t0=$(now_ms)
  for i in $(seq 0 $((clients - 1))); do
    ip netns exec "$NS_A" env DBUS_SESSION_BUS_ADDRESS="$BROKER_BUS" "$LEASE_HOLDER" \
      --count "$per" tcp $((42000 + i * per)) </dev/null >"$LABDIR/broker-many/holder.$i" 2>&1 &
    pids="$pids $!"
  done
  if ! wait_rules $((clients * per)) "${BENCH_MANY_TRIES:-1200}"; then
    note "broker-many: only $(n_rules) of $((clients * per)) forwardings within 60 s; not measured"
  else
    all_ms=$(( $(now_ms) - t0 ))
    sleep 1
    rss=$(proc_kb "$RUN_PID" VmRSS)
    row "| $((clients * per)) leases from $clients programs ($per each, asked at once; the engine maps over NAT-PMP, at most 8 requests a program at once, then 1 a second) → all on the router | $all_ms ms | – | – | – | – |"
    row "| Engine memory on the session bus, $((clients * per)) leases from $clients programs | RSS $(calc '%.1f' "$rss / 1024") MiB ($(calc '%.1f' "$rss0 / 1024") MiB with no lease: $(calc '%.1f' "($rss - $rss0) / ($clients * $per)") KiB a lease) | – | – | – | – |"
  fi
  # shellcheck disable=SC2086  # one word per pid
  kill -KILL $pids 2>/dev/null
  # shellcheck disable=SC2086
  wait $pids 2>/dev/null
  run_stop
  broker_bus_stop
  rm -f "$ini"
}
