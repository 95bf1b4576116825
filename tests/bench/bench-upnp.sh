# bench-upnp.sh: the UPnP-IGD parts of the benchmark (sourced by bench.sh)
#
# Copyright 2026 The Portlight authors
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Against the lab's UPnP-only router (rtr_start … upnp: miniupnpd with enable_natpmp=no, a
# new HTTP port at every start), beside `upnpc` (miniupnpc), which does the same job:
#   upnp-open    a cold `map` (gateway discovered, auto: PCP and NAT-PMP refused, SSDP search)
#                beside `upnpc -a` (its own 2 s discovery) and `upnpc -u URL -a` (no discovery)
#   upnp-reboot  50 profiles kept by `run`; the router restarted with its rules flushed
#   upnp-list    `list` of a 100-row table beside `upnpc -l` and `upnpc -u URL -l`
#   upnp-idle    `run` with 20 UPnP mappings: context switches per minute over 130 s, which
#                take in at least one of the checks every 60-120 s

# shellcheck shell=bash
# shellcheck disable=SC2154  # the lab's and bench.sh's variables

UPNPC=$(command -v upnpc || true)

rtr_upnp () { rtr_stop && rtr_flush && rtr_start no "$EXT_IP" upnp; }
upnp_url () { echo "http://$GW:$(rtr_upnp_port)/rootDesc.xml"; }

bench_upnp_open () {
  local f="$LABDIR/upnp-open" runs=${BENCH_UPNP_RUNS:-10} url c_med
  [ -n "$UPNPC" ] || { note "upnp-open: upnpc not installed (apt install miniupnpc)"; return 0; }
  say "upnp-open: $runs runs of each command, round-robin, on the UPnP-only router"
  rtr_upnp || return 1
  url=$(upnp_url)
  set -- \
    "ctl-map=$CTL map -u -l 7200 40401 40401" \
    "ctl-map-upnp=$CTL map --protocol upnp -u -l 7200 40402 40402" \
    "upnpc-map=$UPNPC -e bench -a $HOST_A 40403 40403 UDP 7200" \
    "upnpc-url-map=$UPNPC -u $url -e bench -a $HOST_A 40404 40404 UDP 7200"
  in_ns "$NS_A" "$BENCH" time 1 "$@" > /dev/null
  in_ns "$NS_A" "$BENCH" time "$runs" "$@" > "$f.time"
  samples "$f.time" upnpc-map > "$f.upnpc"; stats "$f.upnpc"
  local u_med=$S_MED u_p90=$S_P90 u_max=$S_MAX
  samples "$f.time" upnpc-url-map > "$f.upnpc-url"; stats "$f.upnpc-url"
  local uu_med=$S_MED
  samples "$f.time" ctl-map > "$f.ctl"; stats "$f.ctl"
  c_med=$S_MED
  row "| UPnP-only router: cold \`map\` (auto, gateway discovered; PCP and NAT-PMP refused, then the SSDP search) / \`upnpc -a\` (goal < 100 ms, ≥ 20× faster) | $(ms "$S_MED") ms (p90 $(ms "$S_P90"), worst $(ms "$S_MAX")) | $(ms "$u_med") ms (p90 $(ms "$u_p90"), worst $(ms "$u_max")), its 2 s discovery wait included | $(ratio "$S_MED" "$u_med") ($(calc '%.0f' "$u_med / $S_MED")× faster) | $(ms "$uu_med") ms: \`upnpc -u URL -a\`, the description URL given (no discovery) | $(ratio "$S_MED" "$uu_med") |"
  samples "$f.time" ctl-map-upnp > "$f.ctl-upnp"; stats "$f.ctl-upnp"
  row "| UPnP-only router: \`map --protocol upnp\` / \`upnpc -a\` | $(ms "$S_MED") ms (p90 $(ms "$S_P90"), worst $(ms "$S_MAX")) | $(ms "$u_med") ms | $(ratio "$S_MED" "$u_med") | $(ms "$uu_med") ms (\`upnpc -u URL -a\`) | $(ratio "$S_MED" "$uu_med") |"
  local fails=$(( $(failures "$f.time" ctl-map) + $(failures "$f.time" ctl-map-upnp) + $(failures "$f.time" upnpc-map) ))
  [ "$fails" = 0 ] || note "upnp-open: $fails runs failed (not counted)"
}

bench_upnp_reboot () {
  local f="$LABDIR/upnp-reboot" n=50 rep reps=${BENCH_REBOOTS:-5} t0 first last
  say "upnp-reboot: $n enabled profiles (run, auto → UPnP-IGD), $reps restarts (rules flushed, new HTTP port)"
  profiles "$f/profiles.ini" "$n" 7200 42000
  rtr_upnp || return 1
  RUN_PID=""
  ip netns exec "$NS_A" env XDG_CONFIG_HOME="$LABDIR/xdg" "$CTL" run -f "$f/profiles.ini" \
    </dev/null >"$LABDIR/run.upnp-reboot.out" 2>"$LABDIR/run.upnp-reboot.err" &
  RUN_PID=$!
  if ! wait_rules "$n" 600; then
    note "upnp-reboot: only $(n_rules) of $n forwardings after 30 s; not measured"
    run_stop
    return 1
  fi
  : > "$f.ms"; : > "$f.first"
  for rep in $(seq "$reps"); do
    sleep 10.5
    rtr_stop || return 1
    rtr_flush || return 1
    monitor_start "upnp-reboot$rep"
    t0=$("$BENCH" now)
    rtr_start no "$EXT_IP" upnp || return 1
    wait_adds "upnp-reboot$rep" "$n" 300 ||
      note "upnp-reboot $rep: only $(mon_adds "upnp-reboot$rep" | wc -l) of $n forwardings back within 15 s"
    monitor_stop
    first=$(mon_adds "upnp-reboot$rep" | head -1)
    last=$(mon_adds "upnp-reboot$rep" | tail -1)
    if [ -n "$last" ]; then
      calc '%.3f\n' "$last - $t0" >> "$f.ms"
      calc '%.3f\n' "$first - $t0" >> "$f.first"
      say "upnp-reboot $rep: first forwarding +$(ms "$first - $t0") ms, last +$(ms "$last - $t0") ms after the start command"
    fi
  done
  run_stop
  stats "$f.first"
  local first_med=$S_MED
  stats "$f.ms"
  row "| Router restart over UPnP-IGD (\`run\`; rules flushed, new HTTP port): miniupnpd's start → last of $n forwardings back (median of $S_N restarts) | $(ms "$S_MED") ms (worst $(ms "$S_MAX")); first after $(ms "$first_med") ms (the daemon's own start-up and first NOTIFY included) | – | – | – | – |"
}

bench_upnp_list () {
  local f="$LABDIR/upnp-list" n=100 url i
  [ -n "$UPNPC" ] || { note "upnp-list: upnpc not installed"; return 0; }
  say "upnp-list: a table of $n rows (host a's run: $((n / 2)); host b: $((n / 2)) with upnpc)"
  profiles "$f/profiles.ini" $((n / 2)) 7200 45000
  rtr_upnp || return 1
  url=$(upnp_url)
  for i in $(seq 0 $((n / 2 - 1))); do
    in_ns "$NS_B" "$UPNPC" -u "$url" -e "device b $i" -a "$HOST_B" $((45500 + i)) $((45500 + i)) TCP 7200 >/dev/null 2>&1
  done
  ip netns exec "$NS_A" env XDG_CONFIG_HOME="$LABDIR/xdg" "$CTL" run -f "$f/profiles.ini" \
    </dev/null >"$LABDIR/run.upnp-list.out" 2>"$LABDIR/run.upnp-list.err" &
  RUN_PID=$!
  wait_rules "$n" 600 || note "upnp-list: only $(n_rules) of $n rows"
  set -- \
    "ctl-list=$CTL list --json" \
    "upnpc-list=$UPNPC -l" \
    "upnpc-url-list=$UPNPC -u $url -l"
  in_ns "$NS_A" "$BENCH" time 5 "$@" > "$f.time"
  in_ns "$NS_A" "$CTL" list --json > "$f.json" 2>/dev/null
  local rows
  rows=$("$PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["mappings"]))' "$f.json" 2>/dev/null)
  run_stop
  samples "$f.time" ctl-list > "$f.ctl"; stats "$f.ctl"
  local c_med=$S_MED c_max=$S_MAX
  samples "$f.time" upnpc-list > "$f.upnpc"; stats "$f.upnpc"
  local u_med=$S_MED
  samples "$f.time" upnpc-url-list > "$f.upnpc-url"; stats "$f.upnpc-url"
  row "| \`list\` of a ${rows:-?}-row table (discovery included) / \`upnpc -l\` (5 runs each) | $(ms "$c_med") ms (worst $(ms "$c_max")) | $(ms "$u_med") ms | $(ratio "$c_med" "$u_med") | $(ms "$S_MED") ms: \`upnpc -u URL -l\` (no discovery) | $(ratio "$c_med" "$S_MED") |"
}

bench_upnp_idle () {
  local f="$LABDIR/upnp-idle" n=20
  say "upnp-idle: run with $n UPnP mappings, 130 s idle (one check every 60-120 s)"
  profiles "$f/profiles.ini" "$n" 7200 44000
  rtr_upnp || return 1
  ip netns exec "$NS_A" env XDG_CONFIG_HOME="$LABDIR/xdg" "$CTL" run -f "$f/profiles.ini" \
    </dev/null >"$LABDIR/run.upnp-idle.out" 2>"$LABDIR/run.upnp-idle.err" &
  RUN_PID=$!
  wait_rules "$n" 600 || note "upnp-idle: only $(n_rules) forwardings"
  sleep 1
  BENCH_IDLE_SECONDS=${BENCH_UPNP_IDLE_SECONDS:-130} idle_measure "$RUN_PID"
  row "| Engine idle over UPnP-IGD (\`run\`, $n mappings, eventing subscribed, a GetSpecificPortMappingEntry per mapping every 60-120 s) | $IDLE_WAKE; RSS $(calc '%.1f' "$(proc_kb "$RUN_PID" VmRSS) / 1024") MiB | – | – | about 20 checks a minute and a GENA renewal every 15 min | – |"
  run_stop
}
