# bench.sh: the benchmarks, run in the router lab (sourced by tests/lab/lab.sh --bench)
#
# Copyright 2026 The Portlight authors
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
#   meson test -C _build --benchmark --suite bench -v
# or by hand (as root):
#   PORTLIGHTCTL=_build/app/cli/portlightctl PL_BENCH=_build/tests/bench/pl-bench \
#     tests/lab/lab.sh --bench tests/bench/bench.sh
#
# Environment: BENCH_OUT (Markdown table, default $LABDIR/results.md, removed with the lab),
# BENCH_ONLY (regex matched against each part's whole keyword, e.g. 'open|pcp-open'),
# BENCH_RUNS (50), BENCH_REBOOTS (5), BENCH_FALLBACK_RUNS (20), BENCH_IDLE_SECONDS (60),
# NATPMPC, PORTLIGHT (the tray binary; measured when it exists).
#
# Parts, by keyword, in the order they run (the rows of the table follow it):
#   open        open a port over NAT-PMP (`--protocol natpmp`) beside natpmpc; round-trip floors
#   pcp-open    open a port over PCP (`--protocol pcp`) and with auto (PCP router, -g and
#               discovered), beside natpmpc and portlightctl over NAT-PMP in one round-robin;
#               PCP round-trip floors (ANNOUNCE, MAP)
#   fallback    the router drops PCP (pcp_drop): auto until its NAT-PMP mapping, beside
#               `--protocol natpmp` and natpmpc on the same router
#   ipv6        IPv6 pinhole: the raw PCP round trip to the router's link-local address (floor,
#               pl-bench pcp-rtt, checked with labtool.py pcp-map); `map -6` when available
#   loss        30 % of the requests dropped (NAT-PMP)
#   reboot      router reboot recovery of 50 profiles, `run --protocol natpmp`
#   pcp-reboot  the same with `run --protocol pcp`
#   scale, idle, tray   500 profiles; idle cost of the engine; the tray app (NAT-PMP)
#   upnp-open, upnp-reboot, upnp-list, upnp-idle   UPnP-IGD (bench-upnp.sh)
#   broker-lease, broker-lease-upnp, broker-idle, broker-many, broker-address, broker-map   the engine serving
#               other programs on D-Bus (bench-broker.sh)
#   apps-idle   the engine's idle cost with app-linked profiles (bench-apps.sh)
#   network-idle   the engine's idle cost with network-linked profiles (bench-network.sh)
#   tunnel-up   a VPN tunnel comes up: time until its profiles are mapped (bench-tunnel.sh)
#
# lab.sh has built the lab and started miniupnpd; its helpers (in_ns, rtr_start, rtr_stop,
# rtr_flush, add_fault, rtr_flush_faults, pmp_count, rules, ...) and variables ($NS_A, $GW,
# $LABDIR, $CTL, ...) are defined. Every figure is reported, none is judged: the exit status
# is 0 unless the lab itself breaks. See tests/bench/RESULTS.md for what the figures mean.

# shellcheck shell=bash
# "check && check || fail" as in lab.sh; lab.sh's variables are set when this is sourced
# shellcheck disable=SC2015,SC2154

BENCH=${PL_BENCH:-}
[ -n "$BENCH" ] && [ -x "$BENCH" ] || skip_all "pl-bench not found (set PL_BENCH)"
NATPMPC=${NATPMPC:-$(command -v natpmpc || true)}
[ -n "$NATPMPC" ] || skip_all "natpmpc not installed (apt install natpmpc)"
RUNS=${BENCH_RUNS:-50}
OUT=${BENCH_OUT:-$LABDIR/results.md}
TRAY=${PORTLIGHT:-}

ROWS=()
NOTES=()
RUN_PID=""
MON_JOB=""
T_BENCH=$(now_ms)

say () { echo "# $*"; }
row () { ROWS+=("$1"); }
note () { NOTES+=("$1"); say "$1"; }
# the whole keyword must match: BENCH_ONLY=open does not select pcp-open
want () { [ -z "${BENCH_ONLY:-}" ] || [[ $1 =~ ^($BENCH_ONLY)$ ]]; }

# stats FILE [COLUMN]: sets S_N S_MED S_P90 S_MAX S_MEAN (ms)
stats () {
  local line
  if [ -n "${2:-}" ]; then
    line=$(awk -v c="$2" '{ print $c }' "$1" | "$BENCH" stats)
  else
    line=$("$BENCH" stats < "$1")
  fi
  read -r S_N S_MED S_P90 _ S_MAX S_MEAN <<< "$line"
}

# samples FILE LABEL: the times of LABEL's successful runs (pl-bench time output)
samples () { awk -v l="$2" '$1 == l && $3 == 0 { print $2 }' "$1"; }
failures () { awk -v l="$2" '$1 == l && $3 != 0 { n++ } END { print n + 0 }' "$1"; }

calc () { awk "BEGIN { printf \"$1\", $2 }"; }
ratio () { calc '%.*f×' "(($1) / ($2) < 1 ? 2 : 1), ($1) / ($2)"; }
ms () { calc '%.2f' "$1"; }

# ---------------------------------------------------------------------------
# Processes of the benchmark

# run_start NAME PROFILES_FILE [natpmp|pcp]: `portlightctl run` in host a's namespace (NAT-PMP
# unless told); sets RUN_PID
run_start () {
  ip netns exec "$NS_A" env XDG_CONFIG_HOME="$LABDIR/xdg" "$CTL" run --protocol "${3:-natpmp}" -f "$2" \
    </dev/null >"$LABDIR/run.$1.out" 2>"$LABDIR/run.$1.err" &
  RUN_PID=$!
}

run_stop () {
  local i
  [ -n "${RUN_PID:-}" ] || return 0
  kill -TERM "$RUN_PID" 2>/dev/null
  for i in $(seq 100); do
    kill -0 "$RUN_PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$RUN_PID" 2>/dev/null
  wait "$RUN_PID" 2>/dev/null
  RUN_PID=""
}

# profiles FILE COUNT LIFETIME FIRST_PORT: COUNT enabled profiles, TCP and UDP in turn. FILE
# gets a directory of its own: the engine follows the file with a GFileMonitor, which watches
# the whole directory (inotify), and the lab's directory changes all the time (syslog.log)
profiles () {
  local i proto
  mkdir -p "$(dirname "$1")"
  {
    echo "# benchmark profiles (tests/bench/bench.sh)"
    for i in $(seq 0 $(($2 - 1))); do
      proto=udp
      [ $((i % 2)) = 0 ] && proto=tcp
      printf '\n[bench-%03d]\nProtocol=%s\nInternalPort=%d\nExternalPort=%d\nLifetime=%d\nEnabled=true\n' \
        "$i" "$proto" $(($4 + i)) $(($4 + i)) "$3"
    done
  } > "$1"
}

n_rules () { rules | grep -c ' dnat ip to '; }

# wait_rules N TRIES(×0.05 s): until the router has N forwardings
wait_rules () {
  local i
  for i in $(seq "$2"); do
    [ "$(n_rules)" -ge "$1" ] && return 0
    sleep 0.05
  done
  return 1
}

# monitor_start NAME: time-stamped `nft monitor rules` of the router into $LABDIR/mon.NAME
monitor_start () {
  rm -f "$LABDIR/mon.pid"
  # shellcheck disable=SC2016  # expanded by the inner shell
  ip netns exec "$NS_R" bash -c 'nft monitor rules & echo $! > "$1"; wait' _ "$LABDIR/mon.pid" |
    "$BENCH" stamp > "$LABDIR/mon.$1" &
  MON_JOB=$!
  wait_file "$LABDIR/mon.pid" 40
  # nft subscribes to netlink right after it starts; it says nothing when it has
  sleep 0.2
}

monitor_stop () {
  [ -f "$LABDIR/mon.pid" ] && kill -TERM "$(cat "$LABDIR/mon.pid")" 2>/dev/null
  [ -n "$MON_JOB" ] && wait "$MON_JOB" 2>/dev/null
  MON_JOB=""
  rm -f "$LABDIR/mon.pid"
}

# mon_adds NAME: timestamps of the forwardings added (prerouting DNAT rules)
mon_adds () { awk '$2 == "add" && $6 == "prerouting_miniupnpd" { print $1 }' "$LABDIR/mon.$1"; }

# wait_adds NAME N TRIES(×0.05 s)
wait_adds () {
  local i
  for i in $(seq "$3"); do
    [ "$(mon_adds "$1" | wc -l)" -ge "$2" ] && return 0
    sleep 0.05
  done
  return 1
}

proc_kb () { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# ---------------------------------------------------------------------------
# 1. Open a port: latency beside natpmpc and the round-trip floor

bench_open () {
  local f="$LABDIR/open" rtt_a rtt_m exec_f c n label
  say "open a port (NAT-PMP): $RUNS runs of each command, round-robin; 300 round trips each for the floor"
  in_ns "$NS_A" "$BENCH" rtt "$GW" 300 > "$f.rtt-addr" 2>>"$f.err"
  in_ns "$NS_A" "$BENCH" rtt "$GW" 300 udp 40300 > "$f.rtt-map" 2>>"$f.err"
  stats "$f.rtt-addr"; rtt_a=$S_MED
  row "| Round trip, address request (floor) | $(ms "$S_MED") ms | – | – | p90 $(ms "$S_P90"), worst $(ms "$S_MAX") ms | 1.0× |"
  stats "$f.rtt-map"; rtt_m=$S_MED
  row "| Round trip, UDP map request (floor) | $(ms "$S_MED") ms | – | – | p90 $(ms "$S_P90"), worst $(ms "$S_MAX") ms | 1.0× |"
  in_ns "$NS_A" "$BENCH" rtt "$GW" 100 tcp 40300 > "$f.rtt-tcp" 2>>"$f.err"
  stats "$f.rtt-tcp"
  row "| Round trip, TCP map request (miniupnpd reads /proc/net/tcp for each) | $(ms "$S_MED") ms | – | – | p90 $(ms "$S_P90"), worst $(ms "$S_MAX") ms | – |"

  set -- \
    "true=/bin/true" \
    "ctl-version=$CTL --version" \
    "ctl-address=$CTL address --protocol natpmp -g $GW" \
    "natpmpc-address=$NATPMPC -g $GW" \
    "ctl-map=$CTL map --protocol natpmp -u -g $GW -l 7200 40301 40301" \
    "natpmpc-map=$NATPMPC -g $GW -a 40302 40302 udp 7200" \
    "ctl-map-discover=$CTL map --protocol natpmp -u -l 7200 40303 40303" \
    "natpmpc-map-discover=$NATPMPC -a 40304 40304 udp 7200"
  # requests per command, from the router's counter (5 runs each); also warms the caches
  for c in "$@"; do
    label=${c%%=*}
    n=$(pmp_count)
    in_ns "$NS_A" "$BENCH" time 5 "$c" > /dev/null
    printf -v "REQ_${label//-/_}" '%s' "$(calc '%.1f' "($(pmp_count) - $n) / 5")"
  done
  in_ns "$NS_A" "$BENCH" time "$RUNS" "$@" > "$f.time"

  samples "$f.time" true > "$f.true"; stats "$f.true"; exec_f=$S_MED
  open_row () {   # TITLE CTL-LABEL NATPMPC-LABEL FLOOR REQ-CTL REQ-NAT
    local c_med c_p90 c_max n_med fails
    samples "$f.time" "$2" > "$f.$2"; stats "$f.$2"
    c_med=$S_MED c_p90=$S_P90 c_max=$S_MAX
    samples "$f.time" "$3" > "$f.$3"; stats "$f.$3"
    n_med=$S_MED
    fails=$(( $(failures "$f.time" "$2") + $(failures "$f.time" "$3") ))
    row "| $1 | $(ms "$c_med") ms (p90 $(ms "$c_p90"), worst $(ms "$c_max")); $5 req | $(ms "$n_med") ms (p90 $(ms "$S_P90"), worst $(ms "$S_MAX")); $6 req | $(ratio "$c_med" "$n_med") | $(ms "$4") ms | $(ratio "$c_med" "$4") |"
    [ "$fails" = 0 ] || note "$1: $fails of $((2 * RUNS)) runs failed (not counted)"
  }
  row "| Start a process (/bin/true, exec floor) | $(ms "$exec_f") ms | – | – | – | – |"
  samples "$f.time" ctl-version > "$f.ctl-version"; stats "$f.ctl-version"
  row "| Start portlightctl only (\`portlightctl --version\`: no network) | $(ms "$S_MED") ms (p90 $(ms "$S_P90")) | – | – | $(ms "$exec_f") ms (exec floor) | $(ratio "$S_MED" "$exec_f") |"
  open_row "\`address --protocol natpmp -g\` / \`natpmpc -g\`" ctl-address natpmpc-address \
    "$rtt_a" "$REQ_ctl_address" "$REQ_natpmpc_address"
  open_row "\`map --protocol natpmp -g\` / \`natpmpc -g -a\`" ctl-map natpmpc-map \
    "$rtt_a + $rtt_m" "$REQ_ctl_map" "$REQ_natpmpc_map"
  open_row "\`map --protocol natpmp\` / \`natpmpc -a\` (gateway discovered)" ctl-map-discover natpmpc-map-discover \
    "$rtt_a + $rtt_m" "$REQ_ctl_map_discover" "$REQ_natpmpc_map_discover"
  OPEN_RTT_A=$rtt_a OPEN_RTT_M=$rtt_m
}

# ---------------------------------------------------------------------------
# 1b. Open a port over PCP (RFC 6887): `--protocol pcp` and auto, beside natpmpc and
# portlightctl over NAT-PMP, one round-robin

# pcp_floors: the PCP round trips from host a (300 each, once per run): the 24-byte ANNOUNCE
# and a 60-byte UDP MAP (one nonce: a renewal, like the NAT-PMP floor); sets PCP_RTT_ANN,
# PCP_RTT_MAP and their p90/worst
pcp_floors () {
  local f="$LABDIR/pcp-floor"
  [ -n "${PCP_RTT_ANN:-}" ] && return 0
  in_ns "$NS_A" "$BENCH" pcp-rtt "$HOST_A" "$GW" 300 > "$f.ann" 2>>"$f.err"
  in_ns "$NS_A" "$BENCH" pcp-rtt "$HOST_A" "$GW" 300 udp 40320 > "$f.map" 2>>"$f.err"
  stats "$f.ann"; PCP_RTT_ANN=$S_MED PCP_ANN_P90=$S_P90 PCP_ANN_MAX=$S_MAX
  stats "$f.map"; PCP_RTT_MAP=$S_MED PCP_MAP_P90=$S_P90 PCP_MAP_MAX=$S_MAX
  [ -s "$f.err" ] && note "PCP floor: $(tr '\n' ' ' < "$f.err")"
}

# req_split LABEL COMMAND: requests per run (5 runs) by protocol, from the router's counters;
# sets REQ_<LABEL> ("3.0 req: PCP 3.0") and runs the command 5 times (warms the caches)
req_split () {
  local n p m
  n=$(pmp_count) p=$(pmp_count pcp_in) m=$(pmp_count natpmp_in)
  in_ns "$NS_A" "$BENCH" time 5 "$2" > /dev/null
  printf -v "REQ_${1//-/_}" '%s req: PCP %s, NAT-PMP %s' \
    "$(calc '%.1f' "($(pmp_count) - $n) / 5")" "$(calc '%.1f' "($(pmp_count pcp_in) - $p) / 5")" \
    "$(calc '%.1f' "($(pmp_count natpmp_in) - $m) / 5")"
}

bench_pcp_open () {
  local f="$LABDIR/pcp-open" c exec_nat json
  say "open a port over PCP: $RUNS runs of each command, round-robin; 300 round trips each for the PCP floor"
  pcp_floors
  # the NAT-PMP address round trip runs beside the ANNOUNCE in auto's probe
  in_ns "$NS_A" "$BENCH" rtt "$GW" 300 > "$f.rtt-addr" 2>>"$f.err"
  stats "$f.rtt-addr"; local rtt_a=$S_MED
  row "| Round trip, PCP ANNOUNCE (floor) | $(ms "$PCP_RTT_ANN") ms | – | – | p90 $(ms "$PCP_ANN_P90"), worst $(ms "$PCP_ANN_MAX") ms | 1.0× |"
  row "| Round trip, PCP UDP MAP request (floor) | $(ms "$PCP_RTT_MAP") ms | – | – | p90 $(ms "$PCP_MAP_P90"), worst $(ms "$PCP_MAP_MAX") ms | 1.0× |"

  set -- \
    "pcp-map=$CTL map --protocol pcp -u -g $GW -l 7200 40321 40321" \
    "auto-map=$CTL map -u -g $GW -l 7200 40322 40322" \
    "auto-map-discover=$CTL map -u -l 7200 40323 40323" \
    "nat-map=$CTL map --protocol natpmp -u -g $GW -l 7200 40324 40324" \
    "natpmpc-map=$NATPMPC -g $GW -a 40325 40325 udp 7200" \
    "natpmpc-map-discover=$NATPMPC -a 40326 40326 udp 7200"
  for c in "$@"; do req_split "${c%%=*}" "$c"; done
  # which protocol auto chose on this router (it says so in --json)
  json=$(in_ns "$NS_A" "$CTL" map --json -u -g "$GW" -l 7200 40322 40322 2>/dev/null)
  [[ $json == *'"protocol":'*'"pcp"'* ]] ||
    note "pcp-open: auto did not choose PCP on this router: $json"
  in_ns "$NS_A" "$BENCH" time "$RUNS" "$@" > "$f.time"

  samples "$f.time" nat-map > "$f.nat-map"; stats "$f.nat-map"
  exec_nat=$S_MED
  # pcp_row TITLE CTL-LABEL NATPMPC-LABEL FLOOR FLOOR-TEXT
  pcp_row () {
    local c_med c_p90 c_max fails req_c req_n
    samples "$f.time" "$2" > "$f.$2"; stats "$f.$2"
    c_med=$S_MED c_p90=$S_P90 c_max=$S_MAX
    samples "$f.time" "$3" > "$f.$3"; stats "$f.$3"
    req_c="REQ_${2//-/_}" req_n="REQ_${3//-/_}"
    fails=$(( $(failures "$f.time" "$2") + $(failures "$f.time" "$3") ))
    row "| $1 | $(ms "$c_med") ms (p90 $(ms "$c_p90"), worst $(ms "$c_max")); ${!req_c}; $(ratio "$c_med" "$exec_nat") portlightctl over NAT-PMP ($(ms "$exec_nat") ms, same round-robin) | $(ms "$S_MED") ms (p90 $(ms "$S_P90"), worst $(ms "$S_MAX")); ${!req_n%%:*} | $(ratio "$c_med" "$S_MED") | $(ms "$4") ms: $5 | $(ratio "$c_med" "$4") |"
    [ "$fails" = 0 ] || note "$1: $fails of $((2 * RUNS)) runs failed (not counted)"
  }
  pcp_row "\`map --protocol pcp -g\` / \`natpmpc -g -a\` (NAT-PMP)" pcp-map natpmpc-map \
    "$PCP_RTT_ANN + $PCP_RTT_MAP" "ANNOUNCE + MAP"
  pcp_row "\`map -g\` (auto; PCP router) / \`natpmpc -g -a\`" auto-map natpmpc-map \
    "($PCP_RTT_ANN > $rtt_a ? $PCP_RTT_ANN : $rtt_a) + $PCP_RTT_MAP" "ANNOUNCE beside a NAT-PMP address request, then MAP"
  pcp_row "\`map\` (auto, gateway discovered: the default) / \`natpmpc -a\`" auto-map-discover natpmpc-map-discover \
    "($PCP_RTT_ANN > $rtt_a ? $PCP_RTT_ANN : $rtt_a) + $PCP_RTT_MAP" "ANNOUNCE beside a NAT-PMP address request, then MAP"
}

# ---------------------------------------------------------------------------
# 1c. The router drops PCP (lab.sh's pcp_drop: udp dport 5351, first payload byte 2): how long
# auto takes to give a NAT-PMP mapping, beside NAT-PMP alone on the same router

bench_fallback () {
  local f="$LABDIR/fallback" runs=${BENCH_FALLBACK_RUNS:-20} grace c json rtt_a rtt_m
  local a_med a_p90 a_max d_med d_max n_med fails
  # the PCP grace of auto's probe (core/mapper/pl-mapper-probe.h), for the floor
  grace=$(awk '$1 == "#define" && $2 == "PL_MAPPER_PROBE_PCP_GRACE_MS" { print $3 }' \
    "$LAB_SRC/../../core/mapper/pl-mapper-probe.h" 2>/dev/null)
  grace=${grace:-1000}
  say "fallback: PCP dropped at the router, $runs runs of each command, round-robin"
  rtr_reset || return 1
  in_ns "$NS_A" "$BENCH" rtt "$GW" 300 > "$f.rtt-addr" 2>>"$f.err"
  in_ns "$NS_A" "$BENCH" rtt "$GW" 300 udp 40330 > "$f.rtt-map" 2>>"$f.err"
  stats "$f.rtt-addr"; rtt_a=$S_MED
  stats "$f.rtt-map"; rtt_m=$S_MED
  pcp_drop || return 1
  set -- \
    "fb-auto=$CTL map -u -g $GW -l 7200 40331 40331" \
    "fb-auto-discover=$CTL map -u -l 7200 40332 40332" \
    "fb-nat=$CTL map --protocol natpmp -u -g $GW -l 7200 40333 40333" \
    "fb-natpmpc=$NATPMPC -g $GW -a 40334 40334 udp 7200"
  for c in "$@"; do req_split "${c%%=*}" "$c"; done
  json=$(in_ns "$NS_A" "$CTL" map --json -u -g "$GW" -l 7200 40331 40331 2>/dev/null)
  [[ $json == *'"protocol":'*'"natpmp"'* ]] ||
    note "fallback: auto did not give a NAT-PMP mapping: $json"
  in_ns "$NS_A" "$BENCH" time "$runs" "$@" > "$f.time"
  rtr_flush_faults
  samples "$f.time" fb-auto > "$f.auto"; stats "$f.auto"
  a_med=$S_MED a_p90=$S_P90 a_max=$S_MAX
  samples "$f.time" fb-auto-discover > "$f.disc"; stats "$f.disc"
  d_med=$S_MED d_max=$S_MAX
  samples "$f.time" fb-nat > "$f.nat"; stats "$f.nat"
  n_med=$S_MED
  samples "$f.time" fb-natpmpc > "$f.natpmpc"; stats "$f.natpmpc"
  fails=0
  for c in fb-auto fb-auto-discover fb-nat fb-natpmpc; do
    fails=$(( fails + $(failures "$f.time" "$c") ))
  done
  row "| PCP dropped by the router: \`map -g\` (auto) until its NAT-PMP mapping ($runs runs; requirement < 3 s) / \`natpmpc -g -a\` | $(ms "$a_med") ms (p90 $(ms "$a_p90"), worst $(ms "$a_max")); discovered gateway $(ms "$d_med") ms (worst $(ms "$d_max")); $REQ_fb_auto; \`--protocol natpmp\` on the same router $(ms "$n_med") ms: fallback costs +$(ms "$a_med - $n_med") ms | $(ms "$S_MED") ms (p90 $(ms "$S_P90"), worst $(ms "$S_MAX")); ${REQ_fb_natpmpc%%:*} | $(ratio "$a_med" "$S_MED") | $(ms "$grace + $rtt_a + $rtt_m") ms: ${grace} ms PCP grace + NAT-PMP address + map | $(ratio "$a_med" "$grace + $rtt_a + $rtt_m") |"
  [ "$fails" = 0 ] || note "fallback: $fails of $((4 * runs)) runs failed (not counted)"
}

# ---------------------------------------------------------------------------
# 1d. IPv6 pinhole: PCP MAP from host a's ULA (the socket bound to it) to the router's
# link-local address, as a client must send it (tests/lab/MINIUPNPD.md, item 11)

bench_ipv6 () {
  local f="$LABDIR/ipv6" server="$GW6_LL%eth0" n=20 i ok=0 lt_ms="" json help
  say "ipv6: PCP MAP for a pinhole of $HOST_A6 via $server"
  rtr_reset || return 1
  # the lab's own raw PCP client first: is the pinhole granted for host a's address?
  : > "$f.labtool"
  for i in $(seq "$n"); do
    json=$(in_ns "$NS_A" "$PYTHON" "$LABTOOL" pcp-map "$HOST_A6" "$server" udp 40340 40340 7200 \
      706c2d62656e63682d763601 2>>"$f.err")
    if [[ $json == *'"result": 0'* ]] && [[ $json == *"\"external_address\": \"$HOST_A6\""* ]]; then
      ok=$((ok + 1))
      printf '%s' "$json" | "$PYTHON" "$LABTOOL" jget ms >> "$f.labtool" 2>>"$f.err"
    fi
  done
  [ -s "$f.labtool" ] && { stats "$f.labtool"; lt_ms=$(calc "%.0f" "$S_MED"); }
  has_pinhole udp 40340 "$HOST_A6" || note "ipv6: no pinhole for [$HOST_A6]:40340 in nft after labtool.py pcp-map"
  in_ns "$NS_A" "$BENCH" pcp-rtt "$HOST_A6" "$server" 300 udp 40341 > "$f.rtt" 2>>"$f.err"
  stats "$f.rtt"
  local rtt6=$S_MED
  row "| Round trip, PCP UDP MAP over IPv6, [$HOST_A6] → [$GW6_LL%eth0] (pinhole; floor) | $(ms "$S_MED") ms ($S_N round trips); labtool.py pcp-map: $ok of $n SUCCESS with external address $HOST_A6, its whole-ms timer: median ${lt_ms:-–} ms | – | – | p90 $(ms "$S_P90"), worst $(ms "$S_MAX") ms | 1.0× |"
  help=$("$CTL" map --help 2>&1 | grep -E '^ *-6' | tr -s ' ' | sed 's/^ //')
  if [ -z "$help" ] || [[ $help == *"not available"* ]]; then
    row "| IPv6 pinhole: \`map -6 -u\` | **not available yet** (\`map --help\`: \"$help\") | – | – | $(ms "$rtt6") ms (the round trip above) | – |"
    note "ipv6: portlightctl map -6 is not available yet; only the raw round trip is measured"
  else
    in_ns "$NS_A" "$BENCH" time "$RUNS" "ctl-map6=$CTL map -6 -u -l 7200 40342 40342" > "$f.time"
    samples "$f.time" ctl-map6 > "$f.ctl"; stats "$f.ctl"
    row "| IPv6 pinhole: \`map -6 -u\` (gateway discovered) | $(ms "$S_MED") ms (p90 $(ms "$S_P90"), worst $(ms "$S_MAX")) | – | – | $(ms "$rtt6") ms (the round trip above) | $(ratio "$S_MED" "$rtt6") |"
    [ "$(failures "$f.time" ctl-map6)" = 0 ] || note "ipv6: $(failures "$f.time" ctl-map6) of $RUNS runs of map -6 failed (not counted)"
  fi
  [ -s "$f.err" ] && note "ipv6: $(sort -u "$f.err" | head -3 | tr '\n' ' ')"
}

# ---------------------------------------------------------------------------
# 2. Under loss: 30 % of the requests dropped at the router

bench_loss () {
  local f="$LABDIR/loss" n runs=$((2 * RUNS)) fails c_med c_mean c_p90 c_max c_first nat_first
  say "loss: 30 % of the requests dropped, $runs maps each"
  add_fault in udp dport 5351 numgen random mod 100 '<' 30 drop || return 1
  n=$(pmp_count)
  in_ns "$NS_A" "$BENCH" time "$runs" \
    "ctl-map=$CTL map --protocol natpmp -u -g $GW -l 7200 40311 40311" \
    "natpmpc-map=$NATPMPC -g $GW -a 40312 40312 udp 7200" > "$f.time"
  n=$(( $(pmp_count) - n ))
  rtr_flush_faults
  # share of the runs done without any retransmission (both requests through: 0.7² = 49 %)
  first_try () { awk '$1 < 200 { k++ } END { printf "%.0f %%", 100 * k / NR }' "$1"; }
  samples "$f.time" ctl-map > "$f.ctl"; stats "$f.ctl"
  c_med=$S_MED c_mean=$S_MEAN c_p90=$S_P90 c_max=$S_MAX c_first=$(first_try "$f.ctl")
  samples "$f.time" natpmpc-map > "$f.nat"; stats "$f.nat"
  nat_first=$(first_try "$f.nat")
  fails=$(( $(failures "$f.time" ctl-map) + $(failures "$f.time" natpmpc-map) ))
  row "| \`map --protocol natpmp -g\` / \`natpmpc -g -a\`, 30 % of requests dropped ($runs runs each) | mean $(ms "$c_mean") ms, median $(ms "$c_med"), p90 $(ms "$c_p90"), worst $(ms "$c_max"); $c_first without a resend | mean $(ms "$S_MEAN") ms, median $(ms "$S_MED"), p90 $(ms "$S_P90"), worst $(ms "$S_MAX"); $nat_first without a resend | mean $(ratio "$c_mean" "$S_MEAN"), worst $(ratio "$c_max" "$S_MAX") | RFC 6886 resend after 250 ms, doubling | – |"
  note "loss: $n requests reached the router (dropped ones included) for $((2 * runs)) maps of 2 requests each; $fails runs failed"
}

# ---------------------------------------------------------------------------
# 3. Router reboot recovery: 50 profiles, miniupnpd restarted with its rules flushed

# rtr_reset: a fresh miniupnpd with no rules (system_uptime=no: a restart resets the epoch)
rtr_reset () { rtr_stop && rtr_flush && rtr_start no; }

# new_floor COUNT FIRST_PORT: ms for one client to create COUNT new mappings (TCP and UDP in
# turn, like the profiles) one after the other on an empty router; leaves the router empty
new_floor () {
  local f="$LABDIR/floor.$1"
  rtr_flush
  in_ns "$NS_A" "$BENCH" rtt "$GW" "$1" mixed "$2" new > "$f" 2>>"$LABDIR/floor.err"
  rtr_flush
  awk '{ s += $1 } END { printf "%.3f\n", s }' "$f"
}

# new_floor_pcp COUNT FIRST_PORT: the same with PCP MAP requests (60 bytes, a nonce each)
new_floor_pcp () {
  local f="$LABDIR/floor-pcp.$1"
  rtr_flush
  in_ns "$NS_A" "$BENCH" pcp-rtt "$HOST_A" "$GW" "$1" mixed "$2" new > "$f" 2>>"$LABDIR/floor.err"
  rtr_flush
  awk '{ s += $1 } END { printf "%.3f\n", s }' "$f"
}

bench_reboot () { reboot_measure natpmp; }
bench_pcp_reboot () { reboot_measure pcp; }

# reboot_measure natpmp|pcp: `portlightctl run --protocol …` keeps 50 profiles; miniupnpd is
# restarted BENCH_REBOOTS times with its rules flushed; ANNOUNCE → last forwarding back
reboot_measure () {
  local proto=$1 f="$LABDIR/reboot-$1" n=50 rep reps=${BENCH_REBOOTS:-5} ann first last req floor
  local what="reboot" floor_text
  [ "$proto" = pcp ] && what="pcp-reboot"
  say "$what: $n enabled profiles (run --protocol $proto), $reps restarts of miniupnpd (system_uptime=no, rules flushed)"
  profiles "$f/profiles.ini" "$n" 7200 42000
  rtr_reset || return 1
  if [ "$proto" = pcp ]; then
    pcp_floors
    floor=$(calc '%.3f' "$PCP_RTT_ANN + $(new_floor_pcp "$n" 46000)")
    floor_text="1 ANNOUNCE + $n new PCP mappings, one client, one at a time"
  else
    floor=$(calc '%.3f' "$OPEN_RTT_A + $(new_floor "$n" 46000)")
    floor_text="1 address + $n new mappings, one client, one at a time"
  fi
  run_start "$what" "$f/profiles.ini" "$proto"
  if ! wait_rules "$n" 600; then
    note "$what: only $(n_rules) of $n forwardings after 30 s; not measured"
    run_stop
    return 1
  fi
  : > "$f.ms"; : > "$f.first"; : > "$f.req"
  for rep in $(seq "$reps"); do
    # the engine starts a reset round at most every 10 s
    sleep 10.5
    rtr_stop || return 1
    # as a router's init script does (nft_flush.sh): the rules go with the reboot
    rtr_flush || return 1
    monitor_start "$what$rep"
    ip netns exec "$NS_B" "$BENCH" announce 15 > "$f.ann$rep" 2>/dev/null &
    local ann_pid=$!
    wait_file_line "$f.ann$rep" 40
    rtr_start no || return 1
    if ! wait_adds "$what$rep" "$n" 300; then
      note "$what $rep: only $(mon_adds "$what$rep" | wc -l) of $n forwardings back within 15 s"
    fi
    monitor_stop
    wait "$ann_pid"
    ann=$(awk 'NR == 2 { print $1 }' "$f.ann$rep")
    first=$(mon_adds "$what$rep" | head -1)
    last=$(mon_adds "$what$rep" | tail -1)
    req=$(pmp_count)
    if [ -n "$ann" ] && [ -n "$last" ]; then
      calc '%.3f\n' "$last - $ann" >> "$f.ms"
      calc '%.3f\n' "$first - $ann" >> "$f.first"
      echo "$req" >> "$f.req"
      say "$what $rep: ANNOUNCE at $ann, first forwarding +$(ms "$first - $ann") ms, last +$(ms "$last - $ann") ms, $req requests"
    else
      note "$what $rep: no ANNOUNCE seen or no forwarding back"
    fi
  done
  run_stop
  stats "$f.ms"
  local med=$S_MED worst=$S_MAX
  stats "$f.first"
  local first_med=$S_MED
  stats "$f.req"
  if [ "$proto" = pcp ]; then
    row "| Router reboot over PCP (\`run --protocol pcp\`): ANNOUNCE → last of $n forwardings back (median of $S_N restarts; target < 1 s) | $(ms "$med") ms (worst $(ms "$worst")); first after $(ms "$first_med") ms; $(calc '%.0f' "$S_MED") requests$([ -n "${REBOOT_NATPMP_MED:-}" ] && echo "; $(ratio "$med" "$REBOOT_NATPMP_MED") the NAT-PMP figure above") | – | – | $(ms "$floor") ms: $floor_text | $(ratio "$med" "$floor") |"
  else
    REBOOT_NATPMP_MED=$med
    row "| Router reboot: ANNOUNCE → last of $n forwardings back (median of $S_N restarts; target < 1 s) | $(ms "$med") ms (worst $(ms "$worst")); first after $(ms "$first_med") ms; $(calc '%.0f' "$S_MED") requests | – | – | $(ms "$floor") ms: $floor_text | $(ratio "$med" "$floor") |"
  fi
}

# wait_file_line FILE TRIES(×0.05 s): until FILE has a line (pl-bench announce says "ready")
wait_file_line () {
  local i
  for i in $(seq "$2"); do
    [ -s "$1" ] && return 0
    sleep 0.05
  done
  return 1
}

# ---------------------------------------------------------------------------
# 4. Scale: 500 profiles enabled at once

bench_scale () {
  local f="$LABDIR/scale" n=500 t0 first last req hwm rss floor
  say "scale: $n enabled profiles at once"
  profiles "$f/profiles.ini" "$n" 7200 43000
  rtr_reset || return 1
  floor=$(new_floor "$n" 46000)
  monitor_start scale
  t0=$("$BENCH" now)
  run_start scale "$f/profiles.ini"
  wait_adds scale "$n" 1200 || note "scale: only $(mon_adds scale | wc -l) of $n forwardings after 60 s"
  req=$(pmp_count)
  first=$(mon_adds scale | head -1)
  last=$(mon_adds scale | tail -1)
  hwm=$(proc_kb "$RUN_PID" VmHWM)
  rss=$(proc_kb "$RUN_PID" VmRSS)
  monitor_stop
  say "scale: first forwarding +$(ms "$first - $t0") ms, last +$(ms "$last - $t0") ms, $req requests"
  # the map round trip with $n forwardings in the router (miniupnpd's cost grows with them)
  in_ns "$NS_A" "$BENCH" rtt "$GW" 100 udp 40399 > "$f.rtt-udp" 2>/dev/null
  stats "$f.rtt-udp"
  local rtt_full=$S_MED
  # the engine stops in 2 s and leaves most of 500 mappings behind: the router is reset next
  run_stop
  row "| Scale: $n profiles enabled at once → all forwarded | $(ms "$last - $t0") ms from launch (first +$(ms "$first - $t0")); $req requests, $(calc '%.0f' "$req * 1000 / ($last - $t0)") req/s | – | – | $(ms "$floor") ms = $(calc '%.0f' "$n * 1000 / $floor") req/s: $n new mappings, one client, one at a time | $(ratio "$last - $t0" "$floor") |"
  row "| Scale: UDP map round trip with $n forwardings in the router | $(ms "$rtt_full") ms (was $(ms "$OPEN_RTT_M") ms with none) | – | – | – | – |"
  row "| Scale: peak memory of \`portlightctl run\` with $n mappings | VmHWM $(calc '%.1f' "$hwm / 1024") MiB, VmRSS $(calc '%.1f' "$rss / 1024") MiB | – | – | – | – |"
  SCALE_N=$n
}

# ---------------------------------------------------------------------------
# 5. Idle cost of the engine (portlightctl run) and of the tray

# idle_measure PID: context switches of all threads over BENCH_IDLE_SECONDS (60), memory
idle_measure () {
  local pid=$1 secs=${BENCH_IDLE_SECONDS:-60} t0 t1 sums
  t0=$(thread_switches "$pid")
  sleep "$secs"
  t1=$(thread_switches "$pid")
  # per thread (tid comm voluntary involuntary): the difference, or all of a thread born in
  # the window; a thread that ended in the window takes its count with it (said so)
  sums=$(printf '%s\n--\n%s\n' "$t0" "$t1" | awk '
    $1 == "--" { second = 1; next }
    !second { v[$1] = $3; n[$1] = $4; next }
    { dv = $3 - v[$1]; dn = $4 - n[$1]; V += dv; N += dn; seen[$1] = 1
      if (dv + dn > 0) { busy = busy sep $2 " +" (dv + dn); sep = ", " } }
    END { for (t in v) if (!(t in seen)) gone++
          printf "%d %d %d %s\n", V, N, gone, busy }')
  read -r IDLE_V IDLE_N IDLE_GONE IDLE_BUSY <<< "$sums"
  IDLE_WAKE="$(calc '%.1f' "$IDLE_V * 60 / $secs") voluntary + $(calc '%.1f' "$IDLE_N * 60 / $secs") involuntary context switches per minute over ${secs} s ($(find /proc/"$pid"/task -mindepth 1 -maxdepth 1 | wc -l) threads${IDLE_BUSY:+; woke: $IDLE_BUSY}$([ "$IDLE_GONE" -gt 0 ] && echo "; $IDLE_GONE thread(s) ended in the window, not counted"))"
}

# thread_switches PID: "tid comm voluntary involuntary" per thread
thread_switches () {
  local t
  for t in /proc/"$1"/task/*; do
    echo "${t##*/} $(tr -d ' ' < "$t/comm") $(awk '$1 == "voluntary_ctxt_switches:" { v = $2 }
      $1 == "nonvoluntary_ctxt_switches:" { n = $2 } END { print v + 0, n + 0 }' "$t/status")"
  done 2>/dev/null
}

# renew_measure START_CMD…: profiles with lifetime 4 s for 30 s (renewed every 2 s: 300
# renewals of 20 profiles, what 15 hours at the default 7200 s bring); sets RENEW_* figures
renew_measure () {
  local req
  RENEW_REQ=0 RENEW_RSS0=0 RENEW_RSS1=0 RENEW_HWM=0
  "$@" || return 1
  wait_rules 20 200 || return 1
  sleep 1
  req=$(pmp_count)
  RENEW_RSS0=$(proc_kb "$RUN_PID" VmRSS)
  sleep 30
  RENEW_RSS1=$(proc_kb "$RUN_PID" VmRSS)
  RENEW_HWM=$(proc_kb "$RUN_PID" VmHWM)
  RENEW_REQ=$(( $(pmp_count) - req ))
}

bench_idle () {
  local f="$LABDIR/idle" n=20 rss_start per
  say "idle: portlightctl run with $n profiles, ${BENCH_IDLE_SECONDS:-60} s idle, then 30 s of 2 s renewals"
  profiles "$f/profiles.ini" "$n" 7200 44000
  rtr_reset || return 1
  run_start idle "$f/profiles.ini"
  wait_rules "$n" 600 || note "idle: only $(n_rules) forwardings"
  sleep 1
  rss_start=$(proc_kb "$RUN_PID" VmRSS)
  idle_measure "$RUN_PID"
  row "| Engine idle (\`portlightctl run\`, $n profiles, lifetime 7200 s) | $IDLE_WAKE | – | – | 0 (no renewal due) | – |"
  run_stop
  profiles "$f/profiles.ini" "$n" 4 44000
  rtr_reset || return 1
  renew_measure run_start idle2 "$f/profiles.ini"
  run_stop
  # one renewal per mapping per half-lifetime is RFC 6886's schedule
  per=$(calc '%.2f' "$RENEW_REQ / ($n * 15)")
  row "| Engine memory (\`portlightctl run\`, $n profiles) | RSS $(calc '%.1f' "$rss_start / 1024") MiB after start-up; $(calc '%.1f' "$RENEW_RSS0 / 1024") → $(calc '%.1f' "$RENEW_RSS1 / 1024") MiB (VmHWM $(calc '%.1f' "$RENEW_HWM / 1024")) over $RENEW_REQ requests in 30 s at lifetime 4 s (≈ 15 h of renewals at 7200 s) | – | – | – | – |"
  row "| Renewal load (measured at lifetime 4 s: $per renewals per mapping per half-lifetime; hour computed) | ${SCALE_N:-500} profiles at 7200 s: $(calc '%.0f' "${SCALE_N:-500} * $per") req/h ($(calc '%.2f' "${SCALE_N:-500} * $per / 3600") req/s); at 3600 s: $(calc '%.0f' "${SCALE_N:-500} * $per * 2") req/h | – | – | ${SCALE_N:-500} req/h at 7200 s (renew at half the lifetime) | $(calc '%.2f×' "$per") |"
}

# tray_start NAME: the tray app in host a's namespace on the lab's Xvfb and bus; sets RUN_PID
# (the variable run_stop stops) and writes its launch time to $LABDIR/tray.NAME.t0
tray_start () {
  ip netns exec "$NS_A" env DISPLAY="$TRAY_DISPLAY" DBUS_SESSION_BUS_ADDRESS="$TRAY_BUS" \
    XDG_CONFIG_HOME="$LABDIR/xdg-tray" XDG_RUNTIME_DIR="$LABDIR/xdg-run" NO_AT_BRIDGE=1 \
    GDK_BACKEND=x11 GSETTINGS_BACKEND=memory \
    "$BENCH" exec "$LABDIR/tray.$1.t0" "$TRAY" \
    </dev/null >"$LABDIR/tray.$1.out" 2>"$LABDIR/tray.$1.err" &
  RUN_PID=$!
}

# tray_desktop_start: Xvfb, a session bus and the fake panel, in host a's namespace; sets
# TRAY_DISPLAY, TRAY_BUS, TRAY_PIDS. The display number is a high one, and Xvfb never resets:
# other X servers on the machine (test suites in other PID namespaces, which take a live lock
# file for a stale one) started with -displayfd at :0 took over the lock and the socket path of
# a low display, and a tray launched after that waited for ever in XOpenDisplay.
tray_desktop_start () {
  local f="$LABDIR/tray" d
  TRAY_PIDS=""
  mkdir -p "$LABDIR/xdg-tray/portlight" "$LABDIR/xdg-run"
  chmod 700 "$LABDIR/xdg-run"
  d=$(( 100 + $$ % 400 ))
  while [ -e "/tmp/.X$d-lock" ] || [ -e "/tmp/.X11-unix/X$d" ]; do d=$((d + 1)); done
  ip netns exec "$NS_A" Xvfb ":$d" -displayfd 3 -nolisten tcp -noreset -screen 0 1024x768x24 \
    3>"$f.display" </dev/null >/dev/null 2>"$f.xvfb.err" &
  TRAY_PIDS="$TRAY_PIDS $!"
  ip netns exec "$NS_A" dbus-daemon --session --nofork --address="unix:path=$LABDIR/bus" \
    --print-address=3 3>"$f.bus" </dev/null >/dev/null 2>"$f.dbus.err" &
  TRAY_PIDS="$TRAY_PIDS $!"
  wait_file_line "$f.display" 200 && wait_file_line "$f.bus" 200 ||
    { note "tray: Xvfb or the bus did not start"; return 1; }
  TRAY_DISPLAY=:$(head -1 "$f.display")
  TRAY_BUS=$(head -1 "$f.bus")
  ip netns exec "$NS_A" env DBUS_SESSION_BUS_ADDRESS="$TRAY_BUS" "$BENCH" sn-watcher \
    </dev/null >"$f.sn" 2>"$f.sn.err" &
  TRAY_PIDS="$TRAY_PIDS $!"
  wait_file_line "$f.sn" 100 || { note "tray: the fake panel did not start"; return 1; }
}

bench_tray () {
  local f="$LABDIR/tray" n=20 i t0 reg rss_start pids="" first_rss first_anon first_gl
  if [ -z "$TRAY" ] || ! [ -x "$TRAY" ]; then
    row "| Tray app: idle cost, memory, start-up | **not measured yet**: no tray binary (app/tray/ not built) | – | – | – | – |"
    note "tray: not measured yet (no tray binary; set PORTLIGHT)"
    return 0
  fi
  if ! command -v Xvfb >/dev/null || ! command -v dbus-daemon >/dev/null; then
    row "| Tray app: idle cost, memory, start-up | **not measured**: Xvfb or dbus-daemon missing | – | – | – | – |"
    return 0
  fi
  say "tray: $TRAY under Xvfb with $n profiles"
  # shellcheck disable=SC2086  # one word per pid
  tray_desktop_start || { kill $TRAY_PIDS 2>/dev/null; return 1; }
  pids=$TRAY_PIDS

  # start-up: launch → item registered with the panel (StatusNotifierWatcher), 5 times
  profiles "$LABDIR/xdg-tray/portlight/profiles.ini" "$n" 7200 44100
  : > "$f.startup"; : > "$f.mapped"
  for i in 1 2 3 4 5; do
    rtr_reset || return 1
    local before
    before=$(grep -c registered "$f.sn")
    tray_start "s$i"
    for _ in $(seq 200); do
      [ "$(grep -c registered "$f.sn")" -gt "$before" ] && break
      sleep 0.05
    done
    wait_rules "$n" 200
    t0=$(cat "$LABDIR/tray.s$i.t0")
    reg=$(grep registered "$f.sn" | tail -1 | awk '{ print $1 }')
    [ "$(grep -c registered "$f.sn")" -gt "$before" ] && calc '%.3f\n' "$reg - $t0" >> "$f.startup"
    if [ "$i" = 1 ]; then
      # the first GTK client of a fresh X server probes GLX (Mesa's swrast and LLVM get
      # loaded) and caches the visuals on the root window; later launches skip that
      sleep 1
      first_rss=$(proc_kb "$RUN_PID" VmRSS) first_anon=$(proc_kb "$RUN_PID" RssAnon)
      first_gl=$(grep -c 'swrast\|LLVM' "/proc/$RUN_PID/maps")
    fi
    [ "$i" = 5 ] && break
    run_stop
  done
  local first_ms
  first_ms=$(head -1 "$f.startup")
  tail -n +2 "$f.startup" > "$f.startup2"
  stats "$f.startup2"
  row "| Tray start-up: launch → indicator registered on the bus (StatusNotifierWatcher) | first launch on a fresh X server $(ms "${first_ms:-0}") ms; launches 2–5: median $(ms "$S_MED") ms (worst $(ms "$S_MAX")) | – | – | – (CPU-bound: see RESULTS.md) | – |"
  row "| Tray memory, first launch on a fresh X server (GTK probes GLX: $([ "${first_gl:-0}" -gt 0 ] && echo "Mesa swrast + LLVM mapped" || echo "no Mesa mapped")) | RSS $(calc '%.1f' "${first_rss:-0} / 1024") MiB (anonymous $(calc '%.1f' "${first_anon:-0} / 1024") MiB) | – | – | – | – |"
  sleep 1
  rss_start=$(proc_kb "$RUN_PID" VmRSS)
  local anon_start
  anon_start=$(proc_kb "$RUN_PID" RssAnon)
  idle_measure "$RUN_PID"
  row "| Tray idle (Xvfb, $n profiles mapped, lifetime 7200 s), no ~/.config/autostart | $IDLE_WAKE | – | – | 0 (no renewal due) | – |"
  # GLib's inotify backend looks for a missing directory every 4 s: the autostart monitor
  # (\$XDG_CONFIG_HOME/autostart) polls until it exists. Same minute with the directory:
  mkdir -p "$LABDIR/xdg-tray/autostart"
  sleep 5
  idle_measure "$RUN_PID"
  row "| Tray idle, the same with ~/.config/autostart present | $IDLE_WAKE | – | – | 0 (no renewal due) | – |"
  rmdir "$LABDIR/xdg-tray/autostart" 2>/dev/null
  run_stop
  profiles "$LABDIR/xdg-tray/portlight/profiles.ini" "$n" 4 44100
  # NAT-PMP, as the engine's renewal row: a PCP router (miniupnpd) grants 120 s at least,
  # so a 4 s lifetime would not be renewed within the 30 s
  printf '[Portlight]\nProtocol=natpmp\n' > "$LABDIR/xdg-tray/portlight/settings.ini"
  rtr_reset || return 1
  if ! renew_measure tray_start renew || [ "$RENEW_REQ" -lt "$n" ]; then
    note "tray: the renewal run did not map ($(n_rules) forwardings, ${RENEW_REQ:-0} requests): see $LABDIR/tray.renew.err"
  fi
  row "| Tray memory ($n profiles, launch 5) | RSS $(calc '%.1f' "$rss_start / 1024") MiB (anonymous $(calc '%.1f' "$anon_start / 1024") MiB, the rest shared libraries) after start-up; $(calc '%.1f' "$RENEW_RSS0 / 1024") → $(calc '%.1f' "$RENEW_RSS1 / 1024") MiB (VmHWM $(calc '%.1f' "$RENEW_HWM / 1024")) over $RENEW_REQ requests in 30 s at lifetime 4 s (≈ 15 h of renewals at 7200 s) | – | – | – | – |"
  run_stop
  rm -f "$LABDIR/xdg-tray/portlight/settings.ini"
  # shellcheck disable=SC2086  # one word per pid
  kill $pids 2>/dev/null
  # shellcheck disable=SC2086
  wait $pids 2>/dev/null
}

# ---------------------------------------------------------------------------
# 6. UPnP-IGD: bench-upnp.sh

# shellcheck source-path=SCRIPTDIR source=bench-upnp.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-upnp.sh"

# ---------------------------------------------------------------------------
# 7. The engine on a session bus, serving other programs: bench-broker.sh

# shellcheck source-path=SCRIPTDIR source=bench-broker.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-broker.sh"

# ---------------------------------------------------------------------------
# 8. Profiles tied to an application (App=): bench-apps.sh

# shellcheck source-path=SCRIPTDIR source=bench-apps.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-apps.sh"

# Profiles limited to one network (Network=): bench-network.sh

# shellcheck source-path=SCRIPTDIR source=bench-network.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-network.sh"

# ---------------------------------------------------------------------------
# 9. Short leases (60 s, as a VPN's port forwarding grants) for real: bench-lease.sh

# shellcheck source-path=SCRIPTDIR source=bench-lease.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lease.sh"

# ---------------------------------------------------------------------------
# 10. A VPN tunnel beside the home router (Gateway=): bench-tunnel.sh

# shellcheck source-path=SCRIPTDIR source=bench-tunnel.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-tunnel.sh"

# ---------------------------------------------------------------------------

trap 'run_stop; monitor_stop; broker_bus_stop; on_exit' EXIT

say "benchmarks in lab $PREFIX: miniupnpd $(miniupnpd --version 2>&1 | head -1 | awk '{print $2}'), client $CTL, natpmpc $NATPMPC"
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
say "$(nproc) CPUs, $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg)"
want open && bench_open
OPEN_RTT_A=${OPEN_RTT_A:-0} OPEN_RTT_M=${OPEN_RTT_M:-1}
want pcp-open && bench_pcp_open
want fallback && bench_fallback
want ipv6 && bench_ipv6
want loss && bench_loss
want reboot && bench_reboot
want pcp-reboot && bench_pcp_reboot
want scale && bench_scale
want idle && bench_idle
want tray && bench_tray
want upnp-open && bench_upnp_open
want upnp-reboot && bench_upnp_reboot
want upnp-list && bench_upnp_list
want upnp-idle && bench_upnp_idle
want broker-lease && bench_broker_lease
want broker-lease-upnp && bench_broker_lease_upnp
want broker-idle && bench_broker_idle
want broker-many && bench_broker_many
want broker-address && bench_broker_address
want broker-map && bench_broker_map
want apps-idle && bench_apps_idle
want network-idle && bench_network_idle
want short-lease && bench_short_lease
want tunnel-up && bench_tunnel_up

{
  echo "| Measure | Portlight | natpmpc | Portlight ÷ natpmpc | Floor | Portlight ÷ floor |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC'): $(nproc) CPUs, load average $LOAD_START at the start, $(uname -r), miniupnpd $(miniupnpd --version 2>&1 | head -1 | awk '{print $2}'), $RUNS runs per latency figure, $(( ($(now_ms) - T_BENCH) / 1000 )) s in all."
  [ ${#NOTES[@]} -gt 0 ] && printf -- '- %s\n' "${NOTES[@]}"
} > "$OUT"
echo
cat "$OUT"
say "table written to $OUT"
exit 0
