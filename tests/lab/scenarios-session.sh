# scenarios-session.sh: `portlightctl run` (the PlSession engine) against the real router
#
# Copyright 2026 The Portlight authors
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Sourced by lab.sh after its own scenarios; uses its helpers (ctl, ctl_bg, serve,
# want_*, rules, pmp_count, rtr_stop/rtr_flush/rtr_start …). Each t_run_* function is
# one TAP line. Figures are printed as TAP comments ("# …"); only the bounds that the
# requirements state are asserted (reboot recovery < 1 s, stop < 2 s, repair within one
# renewal period).

# shellcheck shell=bash
# "check && check || fail" is the idiom of the scenarios
# shellcheck disable=SC2015
# OUT, ERR and SKIP_REASON are read by lab.sh's helpers and runner
# shellcheck disable=SC2034

RUN_UPNP_PORT=2189

# A figure for the TAP output (and the scenario's diagnostics).
note () {
  echo "# $*"
  diag "$*"
}

# profile_add FILE NAME -t|-u|--both PUBLIC PRIVATE [-l SECONDS] [--disabled]: through
# `portlightctl profiles add`, so the file is written the way users write it
profile_add () {
  local file=$1 name=$2
  shift 2
  ctl "$NS_A" profiles add "$name" "$@" -f "$file"
  want_rc 0
}

# profiles_write FILE COUNT FIRST_PORT LIFETIME: COUNT enabled profiles P00…, TCP and UDP
# alternating, on consecutive ports (written directly: quicker than COUNT commands)
profiles_write () {
  local file=$1 n=$2 port=$3 life=$4 i proto
  : > "$file"
  for i in $(seq 0 $((n - 1))); do
    proto=tcp
    [ $((i % 2)) = 1 ] && proto=udp
    printf '[P%02d]\nProtocol=%s\nInternalPort=%d\nExternalPort=0\nLifetime=%d\nEnabled=true\n\n' \
      "$i" "$proto" $((port + i)) "$life" >> "$file"
  done
}

# run_start FILE [ARGS…]: `portlightctl run --json -f FILE` on host a, in the background
# (BG_PID, $LABDIR/bg.out, bg.err: lab_reset kills it if a scenario fails half-way)
run_start () {
  local file=$1
  shift
  ctl_bg "$NS_A" run --json -f "$file" "$@"
}

# run_stop [SIGNAL|-]: signal the run ("-": it was signalled already), wait up to 5 s for
# it to exit; sets RC and STOP_MS
run_stop () {
  local sig=${1:-TERM} t0 i
  [ -n "${BG_PID:-}" ] || return 1
  t0=$(now_ms)
  [ "$sig" != - ] && kill -"$sig" "$BG_PID" 2>/dev/null
  for i in $(seq 250); do
    kill -0 "$BG_PID" 2>/dev/null || break
    sleep 0.02
  done
  if kill -0 "$BG_PID" 2>/dev/null; then
    diag "FAIL: portlightctl run did not exit within 5 s of SIG$sig"
    kill -KILL "$BG_PID" 2>/dev/null
  fi
  wait "$BG_PID"
  RC=$?
  STOP_MS=$(( $(now_ms) - t0 ))
  BG_PID=""
  run_log "SIG$sig -> exit $RC after $STOP_MS ms"
  return 0
}

# run_log TEXT: the run's output so far, into the diagnostics (once per scenario)
run_log () {
  diag "\$ $BG_ARGS: $1"
  sed 's/^/    out: /' "$LABDIR/bg.out" >> "$DIAG"
  grep -v '^.*-DEBUG: ' "$LABDIR/bg.err" | sed 's/^/    err: /' >> "$DIAG"
}

# jsel FILTER FIELD: FIELD of the last JSON line of the run's output whose members match
# every KEY=VALUE of FILTER (comma-separated); FIELD "count" prints the number of matches
# and FIELD "time_ms" the line's "time" in ms since the epoch.
jsel () {
  "$PYTHON" - "$LABDIR/bg.out" "$1" "$2" 2>>"$DIAG" <<'EOF'
import datetime, json, sys
path, filt, field = sys.argv[1:4]
want = dict(kv.split('=', 1) for kv in filt.split(',') if kv)
hits = []
for line in open(path, encoding='utf-8'):
    if not line.strip():
        continue
    try:
        obj = json.loads(line)
    except ValueError:
        print('not JSON: %r' % line, file=sys.stderr)
        sys.exit(1)
    if all(str(obj.get(k)) == v for k, v in want.items()):
        hits.append(obj)
if field == 'count':
    print(len(hits))
    sys.exit(0)
if not hits:
    print('no JSON line matching %s' % filt, file=sys.stderr)
    sys.exit(1)
obj = hits[-1]
if field == 'time_ms':
    t = datetime.datetime.fromisoformat(obj['time'])
    print(int(t.timestamp() * 1000))
elif field in obj:
    print(obj[field])
else:
    print('no %s in %r' % (field, obj), file=sys.stderr)
    sys.exit(1)
EOF
}

want_jsel () {   # FILTER FIELD VALUE
  local v
  v=$(jsel "$1" "$2") || { diag "FAIL: no run event matching $1"; return 1; }
  [ "$v" = "$3" ] && return 0
  diag "FAIL: $2 of the last run event matching $1 is '$v', expected '$3'"
  return 1
}

# wait_rules REGEX COUNT MAX_MS: poll the router's DNAT chain until exactly COUNT rules
# match; sets WAIT_MS (time until then, measured after the listing that showed it)
wait_rules () {
  local t0 n
  t0=$(now_ms)
  while :; do
    n=$(count_rules "$1")
    WAIT_MS=$(( $(now_ms) - t0 ))
    [ "$n" = "$2" ] && return 0
    if [ "$WAIT_MS" -ge "$3" ]; then
      diag "FAIL: $n rules match /$1/ after $WAIT_MS ms, expected $2"
      rules | sed 's/^/    nft: /' >> "$DIAG"
      return 1
    fi
    sleep 0.01
  done
}

# listen_5350_stamped NS SECONDS: labtool's 5350 listener, each datagram stamped with the
# time it was read (ms since the epoch): "$LABDIR/ann.stamped" lines "MS SRC LEN HEX"
listen_5350_stamped () {
  rm -f "$LABDIR/ann.ready" "$LABDIR/ann.stamped"
  (
    ip netns exec "$1" "$PYTHON" "$LABTOOL" listen-5350 "$2" "$LABDIR/ann.ready" </dev/null 2>>"$DIAG" |
      while read -r line; do echo "$(now_ms) $line"; done >"$LABDIR/ann.stamped"
  ) &
  ANN_PID=$!
  wait_file "$LABDIR/ann.ready" 60 || { diag "announcement listener did not start"; return 1; }
}

# lab_settled: a network namespace's fresh link keeps changing for 2-3 s (IPv6 link-local
# address, its routes), and GNetworkMonitor reports each change; the session then re-checks
# everything (resync(): failed mappings are tried again at once). Scenarios that count
# requests wait until the lab is 4 s old (in a full run it is long past that).
lab_settled () {
  local age=$(( $(now_ms) - T_START ))
  [ "$age" -ge 4000 ] && return 0
  diag "waiting $((4000 - age)) ms for the fresh lab's links to settle"
  sleep "$(( (4000 - age) / 1000 )).$(( (4000 - age) % 1000 / 100 + 1 ))"
}

# ---------------------------------------------------------------------------

# Two profiles (TCP + UDP) added with `profiles add`; run on the default gateway maps both,
# the WAN host gets through, and the JSON events carry the ports.
t_run_basic () {
  local f="$LABDIR/run-basic.ini" t_tcp t_udp
  serve tcp "$NS_A" 40200 lan-a && serve udp "$NS_A" 40201 lan-a || return 1
  profile_add "$f" SSH -t 40200 40200 && profile_add "$f" Game -u 0 40201 || return 1
  run_start "$f"
  wait_rules "to $HOST_A:4020[01]" 2 3000 || { run_stop; return 1; }
  note "run: both forwardings in nft $(( $(now_ms) - BG_T0 )) ms after the start"
  want_rule tcp 40200 "$HOST_A" 40200 && want_rule udp 40201 "$HOST_A" 40201 &&
    want_reaches tcp 40200 lan-a && want_reaches udp 40201 lan-a || { run_stop; return 1; }
  run_stop INT || return 1
  want_rc 0 || return 1
  want_jsel "event=gateway" gateway "$GW" &&
    want_jsel "event=public-address" public_address "$EXT_IP" &&
    want_jsel "event=mapping,profile=SSH,state=active" protocol tcp &&
    want_jsel "event=mapping,profile=SSH,state=active" private_port 40200 &&
    want_jsel "event=mapping,profile=SSH,state=active" public_port 40200 &&
    want_jsel "event=mapping,profile=Game,state=active" protocol udp &&
    want_jsel "event=mapping,profile=Game,state=active" private_port 40201 &&
    want_jsel "event=mapping,profile=Game,state=active" public_port 40201 &&
    want_jsel "event=mapping,profile=SSH,state=active" lifetime 7200 || return 1
  t_tcp=$(jsel "event=mapping,profile=SSH,state=active" time_ms) &&
    t_udp=$(jsel "event=mapping,profile=Game,state=active" time_ms) &&
    note "run: JSON 'active' events $((t_tcp - BG_T0)) / $((t_udp - BG_T0)) ms after the start"
  # SIGINT removed them
  want_no_rule tcp 40200 "$HOST_A" 40200 && want_no_rule udp 40201 "$HOST_A" 40201
}

# Router reboot, epoch reset (system_uptime=no): miniupnpd restarts with its rules flushed.
# Its PCP ANNOUNCE (epoch 0) must bring all 20 forwardings back at once (< 1 s), and the
# reset is reported exactly once.
t_run_reboot () {
  local f="$LABDIR/run-reboot.ini" t_ann t_last t_client n_req up resets detected
  profiles_write "$f" 20 40300 3600
  serve tcp "$NS_A" 40300 lan-a || return 1
  G_MESSAGES_DEBUG=all run_start "$f" -g "$GW"
  wait_rules "to $HOST_A:403" 20 5000 || { run_stop; return 1; }
  note "reboot: 20 forwardings in nft $(( $(now_ms) - BG_T0 )) ms after the start"
  # RFC 6886 3.6 cannot tell a reboot from a daemon that was up only ~2 s: let the epoch
  # grow first (the client checks it on every reply and announcement).
  up=$(( $(now_ms) - MU_T0 ))
  [ "$up" -lt 4000 ] && sleep "$(( (4000 - up) / 1000 )).$(( (4000 - up) % 1000 / 100 ))"
  listen_5350_stamped "$NS_A" 2 || { run_stop; return 1; }
  rtr_stop && rtr_flush || { run_stop; return 1; }
  [ "$(count_rules "to $HOST_A:")" = 0 ] || { diag "FAIL: the flush left rules"; run_stop; return 1; }
  rtr_start no || { run_stop; return 1; }
  wait_rules "to $HOST_A:403" 20 5000
  local back=$?
  t_last=$(now_ms)
  n_req=$(pmp_count)
  sleep 1   # a second reset detected now would show in the debug log
  wait "$ANN_PID"
  sed 's/^/    5350: /' "$LABDIR/ann.stamped" >> "$DIAG"
  want_reaches tcp 40300 lan-a
  local reached=$?
  run_stop || return 1
  [ "$back" = 0 ] && [ "$reached" = 0 ] || return 1
  t_ann=$(awk -v gw="$GW" '$2 == gw && $3 == 24 { print $1; exit }' "$LABDIR/ann.stamped")
  [ -n "$t_ann" ] || { diag "FAIL: no PCP ANNOUNCE from the restarted router seen on 5350"; return 1; }
  t_client=$(jsel "event=mapping,state=active" time_ms) || return 1
  note "reboot: last of 20 forwardings back in nft $((t_last - t_ann)) ms after the router's" \
       "PCP ANNOUNCE (nft polled every ~10 ms; the client's last 'active' event at" \
       "+$((t_client - t_ann)) ms); $n_req requests reached the router meanwhile"
  resets=$(jsel "event=router-reset" count)
  detected=$(grep -c 'lost its state (now' "$LABDIR/bg.err")
  note "reboot: $resets router-reset event(s), the epoch check fired $detected time(s)"
  want_rc 0 || return 1
  [ "$resets" = 1 ] || { diag "FAIL: $resets router-reset events, expected exactly 1"; return 1; }
  want_jsel "event=router-reset" mappings 20 || return 1
  [ "$detected" = 1 ] ||
    { diag "FAIL: the epoch check saw $detected resets for one reboot"; return 1; }
  [ $((t_last - t_ann)) -lt 1000 ] ||
    { diag "FAIL: recovery took $((t_last - t_ann)) ms, required < 1000 ms"; return 1; }
}

# Router restart that keeps the epoch (system_uptime=yes, Debian's default) with its rules
# flushed: the epoch check cannot see it, but the daemon announces itself when it starts, and
# that announcement alone brings every mapping back, within 1 s, without a reset event.
t_run_restart_uptime () {
  local f="$LABDIR/run-uptime.ini" t_ann resets detected t_last
  profiles_write "$f" 3 40400 3600
  G_MESSAGES_DEBUG=all run_start "$f" -g "$GW"
  wait_rules "to $HOST_A:4040[012]" 3 3000 || { run_stop; return 1; }
  listen_5350_stamped "$NS_A" 2 || { run_stop; return 1; }
  rtr_stop && rtr_flush || { run_stop; return 1; }
  [ "$(count_rules "to $HOST_A:")" = 0 ] || { diag "FAIL: the flush left rules"; run_stop; return 1; }
  rtr_start yes || { run_stop; return 1; }
  wait_rules "to $HOST_A:4040[012]" 3 3000
  local back=$?
  t_last=$(now_ms)
  wait "$ANN_PID"
  sed 's/^/    5350: /' "$LABDIR/ann.stamped" >> "$DIAG"
  run_stop || return 1
  [ "$back" = 0 ] || return 1
  t_ann=$(awk -v gw="$GW" '$2 == gw && $3 == 24 { print $1; exit }' "$LABDIR/ann.stamped")
  [ -n "$t_ann" ] || { diag "FAIL: no PCP ANNOUNCE from the restarted router seen on 5350"; return 1; }
  resets=$(jsel "event=router-reset" count)
  detected=$(grep -c 'lost its state (now' "$LABDIR/bg.err")
  note "restart (epoch kept): 3 forwardings back in nft $((t_last - t_ann)) ms after the" \
       "router's ANNOUNCE (lifetime 3600 s: no renewal was due); $resets router-reset" \
       "event(s), the epoch check fired $detected time(s)"
  want_rc 0 || return 1
  [ "$resets" = 0 ] || { diag "FAIL: $resets router-reset events, expected none"; return 1; }
  [ $((t_last - t_ann)) -lt 1000 ] ||
    { diag "FAIL: recovery took $((t_last - t_ann)) ms, required < 1000 ms"; return 1; }
}

# The profile file is edited while run runs: an added profile is mapped, a disabled one
# unmapped, a re-enabled one mapped again, a removed one unmapped, a changed public port
# moves the forwarding; the others stay.
t_run_edit () {
  local f="$LABDIR/run-edit.ini" t0
  profile_add "$f" Base -t 40500 40500 || return 1
  run_start "$f" -g "$GW"
  wait_rules "to $HOST_A:4050" 1 3000 || { run_stop; return 1; }
  profile_add "$f" Added -u 40501 40501 || { run_stop; return 1; }
  wait_rules "to $HOST_A:40501" 1 3000 || { run_stop; return 1; }
  note "edit: 'profiles add' mapped in nft after $WAIT_MS ms"
  ctl "$NS_A" profiles disable Added -f "$f"
  want_rc 0 || { run_stop; return 1; }
  wait_rules "to $HOST_A:40501" 0 3000 || { run_stop; return 1; }
  note "edit: 'profiles disable' unmapped in nft after $WAIT_MS ms"
  want_rule tcp 40500 "$HOST_A" 40500 || { run_stop; return 1; }
  ctl "$NS_A" profiles enable Added -f "$f"
  want_rc 0 || { run_stop; return 1; }
  wait_rules "to $HOST_A:40501" 1 3000 || { run_stop; return 1; }
  ctl "$NS_A" profiles remove Added -f "$f"
  want_rc 0 || { run_stop; return 1; }
  wait_rules "to $HOST_A:40501" 0 3000 || { run_stop; return 1; }
  # another public port: the old forwarding goes, the new one comes
  t0=$(now_ms)
  ctl "$NS_A" profiles edit Base --public-port 40510 -f "$f"
  want_rc 0 || { run_stop; return 1; }
  wait_rules "th dport 40510 dnat ip to $HOST_A:40500" 1 3000 &&
    wait_rules "to $HOST_A:" 1 3000 || { run_stop; return 1; }
  note "edit: 'profiles edit --public-port' applied in nft after $(( $(now_ms) - t0 )) ms"
  run_stop || return 1
  want_rc 0 && want_jsel "event=mapping,profile=Added,state=active" public_port 40501 &&
    want_jsel "event=mapping,profile=Base,state=active" public_port 40510 &&
    want_jsel "event=mapping,profile=Base,state=active" requested_public_port 40510
}

# SIGTERM: every mapping leaves the router within 2 s, exit 0 (also when the router has
# stopped answering: then within the 2 s bound, with a word on stderr); --keep-mappings
# leaves them.
t_run_sigterm () {
  local f="$LABDIR/run-term.ini" t0 gone="" exited=""
  profile_add "$f" Both --both 40600 40600 && profile_add "$f" T -t 40601 40601 &&
    profile_add "$f" U -u 40602 40602 || return 1
  run_start "$f" -g "$GW"
  wait_rules "to $HOST_A:4060" 4 3000 || { run_stop; return 1; }
  t0=$(now_ms)
  kill -TERM "$BG_PID"
  while [ $(( $(now_ms) - t0 )) -lt 3000 ]; do
    [ -z "$exited" ] && ! kill -0 "$BG_PID" 2>/dev/null && exited=$(( $(now_ms) - t0 ))
    [ -z "$gone" ] && [ "$(count_rules "to $HOST_A:")" = 0 ] && gone=$(( $(now_ms) - t0 ))
    [ -n "$gone" ] && [ -n "$exited" ] && break
    sleep 0.01
  done
  run_stop - || return 1   # only collects the exit status
  note "SIGTERM: nft empty ${gone:-(not within 3 s)} ms and the process gone" \
       "${exited:-(not within 3 s)} ms after the signal (nft polled every ~10 ms), exit $RC"
  want_rc 0 || return 1
  [ -n "$gone" ] && [ "$gone" -lt 2000 ] ||
    { diag "FAIL: the mappings were not all gone within 2 s of SIGTERM"; rules | sed 's/^/    nft: /' >> "$DIAG"; return 1; }
  [ -n "$exited" ] && [ "$exited" -lt 2500 ] ||
    { diag "FAIL: portlightctl run still running 2.5 s after SIGTERM"; return 1; }
  [ "$(jsel "event=mapping,state=disabled" count)" = 4 ] ||
    { diag "FAIL: expected the 4 mappings to be reported off"; return 1; }

  # A router that no longer answers: the deletes are sent, the run still ends in time
  run_start "$f" -g "$GW"
  wait_rules "to $HOST_A:4060" 4 3000 || { run_stop; return 1; }
  add_fault in udp dport 5351 drop || { run_stop; return 1; }
  run_stop TERM || return 1
  note "SIGTERM, router silent: exit $RC after $STOP_MS ms; stderr: $(head -1 "$LABDIR/bg.err")"
  want_rc 0 || return 1
  [ "$STOP_MS" -lt 2500 ] || { diag "FAIL: exited $STOP_MS ms after SIGTERM (bound 2 s)"; return 1; }
  grep -q 'could not be removed' "$LABDIR/bg.err" ||
    { diag "FAIL: no word that the mappings could not be removed"; return 1; }
  rtr_flush_faults && rtr_flush || return 1

  run_start "$f" -g "$GW" --keep-mappings
  wait_rules "to $HOST_A:4060" 4 3000 || { run_stop; return 1; }
  run_stop || return 1
  note "SIGTERM --keep-mappings: exit $RC after $STOP_MS ms"
  want_rc 0 || return 1
  [ "$(count_rules "to $HOST_A:4060")" = 4 ] ||
    { diag "FAIL: --keep-mappings: $(count_rules "to $HOST_A:4060") of 4 rules left"; return 1; }
}

# A forbidden internal port (80; the lab allows 1024-65535): failed, "refused", tried once
# and not again (no retry storm); the allowed profile next to it is mapped.
t_run_forbidden () {
  local f="$LABDIR/run-forbidden.ini" i n_settled n_end msg t_settled tries
  profile_add "$f" Http -t 0 80 -l 3600 && profile_add "$f" Ok -t 40700 40700 -l 3600 || return 1
  lab_settled
  G_MESSAGES_DEBUG=all run_start "$f" -g "$GW"
  # settled: Http failed, Ok mapped, public address known (nothing more is due for an hour)
  for i in $(seq 100); do
    [ "$(jsel "event=mapping,profile=Http,state=failed" count)" -ge 1 ] &&
      [ "$(jsel "event=mapping,profile=Ok,state=active" count)" -ge 1 ] &&
      [ "$(jsel "event=public-address" count)" -ge 1 ] && break
    sleep 0.05
  done
  t_settled=$(( $(now_ms) - BG_T0 ))
  n_settled=$(pmp_count)
  sleep "$(( (10000 - ($(now_ms) - BG_T0)) / 1000 )).$(( (10000 - ($(now_ms) - BG_T0)) % 1000 / 100 ))"
  n_end=$(pmp_count)
  want_rule tcp 40700 "$HOST_A" 40700
  local ok=$?
  run_stop || return 1
  msg=$(jsel "event=mapping,profile=Http,state=failed" error) || return 1
  tries=$(grep -c 'Creating mapping Http/tcp' "$LABDIR/bg.err")
  note "forbidden: failed $(( $(jsel "event=mapping,profile=Http,state=failed" time_ms) - BG_T0 )) ms" \
       "after the start, the allowed profile active at" \
       "+$(( $(jsel "event=mapping,profile=Ok,state=active" time_ms) - BG_T0 )) ms," \
       "settled at +$t_settled ms with $n_settled requests; $n_end requests in 10 s;" \
       "the refused mapping was tried $tries time(s)" \
       "(next try $(jsel "event=mapping,profile=Http,state=failed" retry))"
  note "forbidden: \"$msg\""
  want_rc 0 && [ "$ok" = 0 ] || return 1
  grep -qi refused <<<"$msg" || { diag "FAIL: the error does not say refused"; return 1; }
  [ "$tries" = 1 ] && [ "$(jsel "event=mapping,profile=Http,state=failed" count)" = 1 ] ||
    { diag "FAIL: the refused mapping was tried $tries times in 10 s"; return 1; }
  [ "$n_end" = "$n_settled" ] ||
    { diag "FAIL: $((n_end - n_settled)) more requests after the failure"; return 1; }
  # one try is up to 3-4 sends while miniupnpd walks all 65535 ports, and the allowed
  # profile's request waits behind them (resent too); more than this is not one try
  [ "$n_end" -le 10 ] || { diag "FAIL: $n_end requests in 10 s"; return 1; }
  # the same in text mode: one line that says refused and when the next try is
  ctl_bg "$NS_A" run -f "$f" -g "$GW"
  for i in $(seq 60); do
    grep -q 'Http: TCP 80 failed' "$LABDIR/bg.out" && break
    sleep 0.05
  done
  run_stop INT || return 1
  want_rc 0 || return 1
  OUT=$(cat "$LABDIR/bg.out")
  ERR=$(cat "$LABDIR/bg.err")
  want_text 'Http: TCP 80 failed: The router at [0-9.]+ refused.*\(next try at [0-9:]+\)' &&
    want_text 'Stopping: removing the mappings'
}

# Interoperability: a mapping made by portlightctl map is listed by miniupnpc's upnpc over
# UPnP IGD, and libnatpmp's natpmpc sees the same public address. The daemon is restarted
# for this scenario only with UPnP switched on (a copy of miniupnpd.conf.in).
t_run_interop () {
  local tmpl="$LABDIR/upnp" url list pub i n_listed
  command -v upnpc >/dev/null ||
    { SKIP_REASON="upnpc not installed (apt install miniupnpc)"; return 77; }
  command -v natpmpc >/dev/null ||
    { SKIP_REASON="natpmpc not installed (apt install natpmpc)"; return 77; }
  mkdir -p "$tmpl"
  sed -e "s|^enable_upnp=@ENABLE_UPNP@\$|enable_upnp=yes\nhttp_port=$RUN_UPNP_PORT\nuuid=6c0f4a2e-0b1d-4e9a-8f3c-2d5e7a9b1c40|" \
    "$LAB_SRC/miniupnpd.conf.in" > "$tmpl/miniupnpd.conf.in"
  grep -q '^enable_upnp=yes$' "$tmpl/miniupnpd.conf.in" ||
    { diag "FAIL: no 'enable_upnp=@ENABLE_UPNP@' line in miniupnpd.conf.in to switch on"; return 1; }
  rtr_stop || return 1
  # rtr_start reads the template from $LAB_SRC: for this call only, the UPnP copy
  LAB_SRC=$tmpl rtr_start no || return 1
  for i in $(seq 50); do
    in_ns "$NS_R" ss -Hltn "sport = $RUN_UPNP_PORT" | grep -q . && break
    sleep 0.05
  done
  ctl "$NS_A" map -t -l 300 --json 40800 40800
  want_rc 0 && want_map public_port 40800 || return 1
  pub=$(json public_address)
  ctl "$NS_A" map -u -l 300 --json 40801 40801
  want_rc 0 && want_map public_port 40801 || return 1
  url="http://$GW:$RUN_UPNP_PORT/rootDesc.xml"
  list=$(in_ns "$NS_A" timeout 10 upnpc -u "$url" -l 2>&1)
  diag "\$ upnpc -u $url -l"
  printf '%s\n' "$list" | sed 's/^/    upnpc: /' >> "$DIAG"
  grep -qE "^ *[0-9]+ TCP +40800->$HOST_A:40800 " <<<"$list" &&
    grep -qE "^ *[0-9]+ UDP +40801->$HOST_A:40801 " <<<"$list" ||
    { diag "FAIL: upnpc -l does not list both mappings"; return 1; }
  grep -q "^ExternalIPAddress = $pub\$" <<<"$list" ||
    { diag "FAIL: upnpc sees another public address than $pub"; return 1; }
  n_listed=$(grep -cE "^ *[0-9]+ (TCP|UDP) " <<<"$list")
  list=$(in_ns "$NS_A" timeout 10 natpmpc -g "$GW" 2>&1)
  diag "\$ natpmpc -g $GW"
  printf '%s\n' "$list" | sed 's/^/    natpmpc: /' >> "$DIAG"
  grep -q "^Public IP address : $pub\$" <<<"$list" ||
    { diag "FAIL: natpmpc does not agree on the public address $pub"; return 1; }
  note "interop: upnpc -l lists TCP 40800 and UDP 40801 ($n_listed entries); natpmpc and" \
       "upnpc agree with portlightctl on $pub"
}
