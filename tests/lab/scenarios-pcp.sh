# scenarios-pcp.sh: portlightctl's PCP (RFC 6887) with NAT-PMP fallback and IPv6 pinholes,
# against the real router
#
# Copyright 2026 The Portlight authors
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Sourced by lab.sh after scenarios-session.sh; uses the helpers of both (ctl, serve,
# want_*, pinholes, pcp_drop, pcp_reject, rtr_restart, run_start, run_stop, jsel …).
# The scenarios are written against the CLI contract for PCP:
#
#   portlightctl map [--protocol auto|pcp|natpmp] [-4|-6] [-u|-t] PUBLIC PRIVATE
#     auto (the default) prefers PCP and falls back to NAT-PMP; a router that drops PCP
#     still gives a NAT-PMP mapping within 3 s. Text output: "Gateway: 192.168.77.1 · PCP"
#     (or "· NAT-PMP"), "Mapped TCP 84.17.2.3:8080 → private port 8080" and, with IPv6,
#     "Opened TCP [fd00:77::2]:8080 (IPv6 pinhole), lifetime …". --json: "protocol": "pcp" |
#     "natpmp", and one "mappings" entry per family ("family": "ipv4" | "ipv6").
#   portlightctl unmap [--protocol …] PRIVATE   removes the mapping and the pinhole.


# shellcheck shell=bash
# "check && check || fail" is the idiom of the scenarios
# shellcheck disable=SC2015
# OUT, ERR and SKIP_REASON are read by lab.sh's helpers and runner
# shellcheck disable=SC2034

# Contract lines, as extended regular expressions
pcp_gateway_re () { echo "Gateway: ${GW//./\\.} · $1"; }                 # PCP|NAT-PMP
pcp_mapped_re () { echo "Mapped $1 ${EXT_IP//./\\.}:$2 → private port $3"; }   # TCP|UDP PUB PRIV
pcp_opened_re () { echo "Opened $1 \\[$HOST_A6\\]:$2 \\(IPv6 pinhole\\)"; }  # TCP|UDP PORT

want_json_protocol () {   # pcp|natpmp: "protocol": "…" somewhere in the JSON output
  printf '%s' "$OUT" | grep -qE "\"protocol\": *\"$1\"" && return 0
  diag "FAIL: no \"protocol\": \"$1\" in the JSON output"
  return 1
}

# wait_pinholes REGEX COUNT MAX_MS: like wait_rules, for the IPv6 pinholes
wait_pinholes () {
  local t0 n
  t0=$(now_ms)
  while :; do
    n=$(count_pinholes "$1")
    WAIT_MS=$(( $(now_ms) - t0 ))
    [ "$n" = "$2" ] && return 0
    if [ "$WAIT_MS" -ge "$3" ]; then
      diag "FAIL: $n pinholes match /$1/ after $WAIT_MS ms, expected $2"
      pinholes | sed 's/^/    nft: /' >> "$DIAG"
      return 1
    fi
    sleep 0.01
  done
}

# count_accepts REGEX: IPv4 accept rules (chain miniupnpd) that match; with the DNAT
# rules they show duplicates and left-overs
count_accepts () {
  in_ns "$NS_R" nft list chain inet "$TABLE" miniupnpd | grep -v '@nh,192,128 ' | grep -cE "$1"
}

# "Unauthorized to remove PCP mapping …": a delete or renewal with a nonce the router
# does not know (lost across a client restart, or a renewed 2.3.1 pinhole)
want_no_unauthorized () {   # SYSLOG_LINE_MARK [EXCEPT-REGEX]
  local hits
  hits=$(tail -n +"$(( $1 + 1 ))" "$LABDIR/syslog.log" | grep -iE 'unauthori|not authori')
  [ -n "${2:-}" ] && hits=$(printf '%s\n' "$hits" | grep -vE "$2")
  [ -z "$hits" ] && return 0
  diag "FAIL: miniupnpd refused a request as not authorised:"
  printf '%s\n' "$hits" | sed 's/^/    log: /' >> "$DIAG"
  return 1
}

# ---------------------------------------------------------------------------

# PCP by default: the gateway line says PCP, no NAT-PMP request is needed, and the WAN host
# gets through to the reported public address (TCP and UDP). --protocol natpmp is honoured.
t_pcp_map () {
  local n0
  serve tcp "$NS_A" 41200 lan-a && serve udp "$NS_A" 41201 lan-a || return 1
  want_closed_at "$EXT_IP" tcp 41200 || return 1
  ctl "$NS_A" map -t 41200 41200
  want_rc 0 && want_text "$(pcp_gateway_re PCP)" &&
    want_text "$(pcp_mapped_re TCP 41200 41200)" || return 1
  want_rule tcp 41200 "$HOST_A" 41200 && want_reaches_at "$EXT_IP" tcp 41200 lan-a || return 1
  # -4: the one mapping in "mappings" is the IPv4 one
  ctl "$NS_A" map -4 -u --json 41201 41201
  want_rc 0 && want_json_protocol pcp && want_map protocol udp && want_map public_port 41201 ||
    return 1
  want_rule udp 41201 "$HOST_A" 41201 && want_reaches_at "$EXT_IP" udp 41201 lan-a || return 1
  # The probe asks NAT-PMP for the public address beside PCP's ANNOUNCE (one datagram per
  # command); nothing else goes over NAT-PMP once PCP has answered.
  [ "$(pmp_count natpmp_in)" -le 2 ] ||
    { diag "FAIL: $(pmp_count natpmp_in) NAT-PMP requests for 2 commands although PCP answered"; return 1; }
  n0=$(pmp_count pcp_in)
  ctl "$NS_A" map --protocol natpmp -4 -t 41202 41202
  want_rc 0 && want_text "$(pcp_gateway_re NAT-PMP)" &&
    want_text "$(pcp_mapped_re TCP 41202 41202)" && want_rule tcp 41202 "$HOST_A" 41202 || return 1
  [ "$(pmp_count pcp_in)" = "$n0" ] ||
    { diag "FAIL: --protocol natpmp sent $(( $(pmp_count pcp_in) - n0 )) PCP requests"; return 1; }
}

# IPv6: the default map also opens a pinhole for host a's address; the WAN host connects
# to [fd00:77::2]:PORT, and a port without a pinhole stays dropped. -6 and -4 select.
t_pcp_pinhole () {
  serve tcp "$NS_A" 41210 lan-a && serve udp "$NS_A" 41211 lan-a &&
    serve tcp "$NS_A" 41212 lan-a && serve tcp "$NS_A" 41213 lan-a &&
    serve tcp "$NS_A" 41214 lan-a || return 1
  want_dropped_at "$HOST_A6" tcp 41210 || return 1
  ctl "$NS_A" map -t 41210 41210
  want_rc 0 && want_text "$(pcp_mapped_re TCP 41210 41210)" &&
    want_text "$(pcp_opened_re TCP 41210)" || return 1
  want_pinhole tcp 41210 "$HOST_A6" && want_reaches_at "$HOST_A6" tcp 41210 lan-a || return 1
  want_dropped_at "$HOST_A6" tcp 41212 || return 1
  ctl "$NS_A" map -6 -u 41211 41211
  want_rc 0 && want_text "$(pcp_opened_re UDP 41211)" || return 1
  want_pinhole udp 41211 "$HOST_A6" && want_reaches_at "$HOST_A6" udp 41211 lan-a &&
    want_no_rule udp 41211 "$HOST_A" 41211 || return 1
  ctl "$NS_A" map -6 -t --json 41213 41213
  want_rc 0 && want_json_protocol pcp && want_pinhole tcp 41213 "$HOST_A6" &&
    want_no_rule tcp 41213 "$HOST_A" 41213 || return 1
  ctl "$NS_A" map -4 -t 41214 41214
  want_rc 0 && want_rule tcp 41214 "$HOST_A" 41214 && want_no_pinhole tcp 41214 "$HOST_A6" &&
    want_dropped_at "$HOST_A6" tcp 41214
}

# unmap, a process of its own, removes the IPv4 mapping that map made: it deletes with the
# nonce map kept in the state file, so the router does not answer NOT_AUTHORIZED; a second map
# of the same port renews the same mapping (one rule, not two)
t_pcp_unmap_ipv4 () {
  local mark
  mark=$(wc -l < "$LABDIR/syslog.log")
  serve tcp "$NS_A" 41225 lan-a || return 1
  ctl "$NS_A" map -4 -t 41225 41225
  want_rc 0 && want_text "$(pcp_gateway_re PCP)" && want_rule tcp 41225 "$HOST_A" 41225 &&
    want_reaches_at "$EXT_IP" tcp 41225 lan-a || return 1
  ctl "$NS_A" map -4 -t 41225 41225
  want_rc 0 && want_text "$(pcp_mapped_re TCP 41225 41225)" || return 1
  [ "$(count_accepts "th dport 41225 ")" = 1 ] ||
    { diag "FAIL: $(count_accepts "th dport 41225 ") accept rules for 41225 after two maps"; return 1; }
  ctl "$NS_A" unmap -t 41225
  want_rc 0 || return 1
  want_no_rule tcp 41225 "$HOST_A" 41225 && want_closed_at "$EXT_IP" tcp 41225 || return 1
  [ "$(count_accepts "th dport 41225 ")" = 0 ] ||
    { diag "FAIL: an accept rule for 41225 was left behind"; return 1; }
  want_no_unauthorized "$mark"
}

# unmap removes the IPv4 mapping and the IPv6 pinhole (both made by one map)
t_pcp_unmap () {
  local mark
  mark=$(wc -l < "$LABDIR/syslog.log")
  serve tcp "$NS_A" 41220 lan-a || return 1
  ctl "$NS_A" map -t 41220 41220
  want_rc 0 && want_rule tcp 41220 "$HOST_A" 41220 && want_pinhole tcp 41220 "$HOST_A6" &&
    want_reaches_at "$EXT_IP" tcp 41220 lan-a && want_reaches_at "$HOST_A6" tcp 41220 lan-a ||
    return 1
  ctl "$NS_A" unmap -t 41220
  want_rc 0 || return 1
  want_no_rule tcp 41220 "$HOST_A" 41220 && want_no_pinhole tcp 41220 "$HOST_A6" &&
    want_closed_at "$EXT_IP" tcp 41220 && want_dropped_at "$HOST_A6" tcp 41220 || return 1
  [ "$(count_accepts "th dport 41220 ")" = 0 ] ||
    { diag "FAIL: an accept rule for 41220 was left behind"; return 1; }
  want_no_unauthorized "$mark"
}

# miniupnpd 2.3.1 loses a pinhole's nonce when it renews it, and refuses every delete
# after that: unmap renews it with lifetime 1 instead, so that it lapses at the router's
# minimum lifetime (120 s) rather than at the end of the 7200 s asked. The router's log
# shows the refused delete, then that renewal.
t_pcp_pinhole_renewed () {
  local mark log
  ctl "$NS_A" map -6 -t 41240 41240
  want_rc 0 && want_pinhole tcp 41240 "$HOST_A6" || return 1
  ctl "$NS_A" map -6 -t 41240 41240
  want_rc 0 && want_pinhole tcp 41240 "$HOST_A6" || return 1
  [ "$(count_pinholes "th dport 41240 ")" = 1 ] ||
    { diag "FAIL: $(count_pinholes "th dport 41240 ") pinholes for 41240 after a renewal"; return 1; }
  mark=$(wc -l < "$LABDIR/syslog.log")
  ctl "$NS_A" unmap -t 41240
  want_rc 0 && want_text "Closed the TCP IPv6 pinhole of \\[$HOST_A6\\]:41240" || return 1
  log=$(tail -n +"$((mark + 1))" "$LABDIR/syslog.log")
  printf '%s\n' "$log" | grep -qE 'Unauthorized to remove PCP mapping internal port 41240' ||
    { diag "FAIL: the router did not refuse the delete: is this miniupnpd older than 2.3.6?"; return 1; }
  printf '%s\n' "$log" | sed -n '/Unauthorized to remove PCP mapping internal port 41240/,$p' |
    grep -qE 'updating pinhole to fd00:77::2:41240 TCP' ||
    { diag "FAIL: no lapse renewal of the pinhole after the refused delete"; return 1; }
  note "renewed pinhole: delete refused by the router, then renewed with lifetime 1 to lapse"
}

# A router that silently drops PCP: auto falls back to NAT-PMP, the mapping is there
# within 3 s, and the output says NAT-PMP
t_pcp_dropped () {
  local t0 i back=""
  serve tcp "$NS_A" 41230 lan-a || return 1
  pcp_drop || return 1
  ctl "$NS_A" map -4 -t 41230 41230
  note "PCP dropped: map -4 exit $RC after $MS ms"
  want_rc 0 && want_ms_below 3000 && want_text "$(pcp_gateway_re NAT-PMP)" &&
    want_text "$(pcp_mapped_re TCP 41230 41230)" || return 1
  want_rule tcp 41230 "$HOST_A" 41230 && want_reaches_at "$EXT_IP" tcp 41230 lan-a || return 1
  [ "$(pmp_count pcp_in)" -ge 1 ] && [ "$(pmp_count natpmp_in)" -ge 1 ] ||
    { diag "FAIL: expected PCP tried first, then NAT-PMP (pcp_in $(pmp_count pcp_in), natpmp_in $(pmp_count natpmp_in))"; return 1; }
  ctl "$NS_A" map -4 -u --json 41231 41231
  want_rc 0 && want_ms_below 3000 && want_json_protocol natpmp && want_map public_port 41231 ||
    return 1
  # without -4: the IPv4 mapping still comes within 3 s (the IPv6 half has nothing to
  # fall back to; its outcome is not judged here)
  t0=$(now_ms)
  ctl_bg "$NS_A" map -t --timeout 6 41232 41232
  for i in $(seq 300); do
    has_rule tcp 41232 "$HOST_A" 41232 && { back=$(( $(now_ms) - t0 )); break; }
    [ $(( $(now_ms) - t0 )) -ge 3000 ] && break
    sleep 0.01
  done
  note "PCP dropped: map (both families) put the IPv4 rule in nft after ${back:-(not within 3 s)} ms"
  [ -n "$back" ] || { diag "FAIL: no IPv4 mapping within 3 s"; return 1; }
}

# PCP rejected with ICMP (port unreachable), NAT-PMP answered: NAT-PMP at once
t_pcp_rejected () {
  pcp_reject || return 1
  ctl "$NS_A" map -4 -t 41240 41240
  note "PCP rejected: map -4 exit $RC after $MS ms"
  want_rc 0 && want_ms_below 3000 && want_text "$(pcp_gateway_re NAT-PMP)" &&
    want_text "$(pcp_mapped_re TCP 41240 41240)" && want_rule tcp 41240 "$HOST_A" 41240 ||
    return 1
  ctl "$NS_A" map -4 -u --json 41241 41241
  want_rc 0 && want_json_protocol natpmp && want_rule udp 41241 "$HOST_A" 41241
}

# --protocol pcp never falls back: against a router that drops PCP, exit 3 within --timeout,
# and no NAT-PMP request
t_pcp_only_dropped () {
  pcp_drop || return 1
  ctl "$NS_A" map --protocol pcp -4 -t --timeout 4 41250 41250
  want_rc 3 && want_ms_below 4700 && want_no_rule tcp 41250 "$HOST_A" 41250 || return 1
  [ "$(pmp_count pcp_in)" -ge 1 ] && [ "$(pmp_count natpmp_in)" = 0 ] ||
    { diag "FAIL: pcp_in $(pmp_count pcp_in), natpmp_in $(pmp_count natpmp_in); expected >= 1 and 0"; return 1; }
  ctl "$NS_A" map --protocol pcp -4 -t --json --timeout 2 41251 41251
  want_rc 3 && want_ms_below 2700
}

# pcp_run_settle PORT_RE N4: wait until the run has its N4 IPv4 forwardings, and its
# pinholes have stopped changing; sets N6 (the pinhole count)
pcp_run_settle () {
  local prev=-1 i
  wait_rules "to $HOST_A:$1" "$2" 5000 || return 1
  for i in $(seq 20); do
    N6=$(count_pinholes "th dport $1 @nh,192,128 $HOST_A6_HEX")
    [ "$N6" = "$prev" ] && return 0
    prev=$N6
    sleep 0.1
  done
}

# kill -9 of `portlightctl run`, then a new run: the same mappings (no duplicates in
# either chain), nothing refused as not authorised (nonces persisted); a clean stop then
# removes everything
t_pcp_run_kill9 () {
  local f="$LABDIR/pcp-kill9.ini" n4 na n6 mark i
  mark=$(wc -l < "$LABDIR/syslog.log")
  profile_add "$f" Web -t 41260 41260 && profile_add "$f" Voice -u 41261 41261 || return 1
  run_start "$f"
  pcp_run_settle '4126[01]' 2 || { run_stop; return 1; }
  n4=$(count_rules "th dport 4126[01] ")
  na=$(count_accepts "th dport 4126[01] ")
  n6=$N6
  note "kill -9: before, $n4 DNAT, $na IPv4 accept rules, $n6 pinholes"
  kill -KILL "$BG_PID"
  wait "$BG_PID" 2>/dev/null
  BG_PID=""
  run_start "$f"
  for i in $(seq 100); do
    [ "$(jsel "event=mapping,state=active" count)" -ge 2 ] && break
    sleep 0.05
  done
  pcp_run_settle '4126[01]' 2 || { run_stop; return 1; }
  sleep 0.5   # a late duplicate would show now
  note "kill -9: after the new run, $(count_rules "th dport 4126[01] ") DNAT," \
       "$(count_accepts "th dport 4126[01] ") IPv4 accept rules, $(count_pinholes "th dport 4126[01] ") pinholes"
  [ "$(count_rules "th dport 4126[01] ")" = "$n4" ] &&
    [ "$(count_accepts "th dport 4126[01] ")" = "$na" ] &&
    [ "$(count_pinholes "th dport 4126[01] ")" = "$n6" ] ||
    { diag "FAIL: the rules changed over the restart (duplicates or losses)"; rules | sed 's/^/    nft: /' >> "$DIAG";
      pinholes | sed 's/^/    nft: /' >> "$DIAG"; run_stop; return 1; }
  local stop_mark port log
  stop_mark=$(wc -l < "$LABDIR/syslog.log")
  run_stop TERM || return 1
  want_rc 0 || return 1
  wait_rules "to $HOST_A:" 0 2000 || return 1
  [ "$(count_accepts "th dport 4126[01] ")" = 0 ] ||
    { diag "FAIL: IPv4 accept rules left after the stop"; return 1; }
  # The new run renewed the pinholes (same nonces), and miniupnpd 2.3.1 refuses to delete a
  # renewed pinhole (tests/lab/MINIUPNPD.md, item 12): each is then renewed with lifetime 1, to
  # lapse at the router's minimum lifetime. Deleted or lapsing, nothing stays open for long.
  log=$(tail -n +"$((stop_mark + 1))" "$LABDIR/syslog.log")
  for port in 41260 41261; do
    count_pinholes "th dport $port " | grep -qx 0 && continue
    printf '%s\n' "$log" | sed -n "/Unauthorized to remove PCP mapping internal port $port,/,\$p" |
      grep -qE "updating pinhole to fd00:77::2:$port " ||
      { diag "FAIL: the pinhole of $port was neither deleted nor left to lapse"; return 1; }
  done
  note "kill -9: after the stop, $(count_pinholes "th dport 4126[01] ") pinholes left to lapse" \
       "(renewed ones the router will not delete)"
  want_no_unauthorized "$mark" 'Unauthorized to remove PCP mapping internal port'
}

# pcp_run_restart no|yes: run with 4 profiles; the router restarts with its rules flushed
# (epoch reset, or kept with system_uptime=yes), twice, more than 10 s apart (the rate limit
# of the rounds); every mapping (IPv4 and pinholes) must be back in nft within 1 s of each
# restart
pcp_run_restart () {
  local uptime=$1 f="$LABDIR/pcp-restart-$1.ini" n6 up t0 back round ok
  profiles_write "$f" 4 41270 3600
  serve tcp "$NS_A" 41270 lan-a || return 1
  G_MESSAGES_DEBUG=all run_start "$f"
  pcp_run_settle '4127[0-3]' 4 || { run_stop; return 1; }
  n6=$N6
  for round in 1 2; do
    # let the epoch grow, so that a reset can be told from a young daemon, and keep the
    # restarts more than 10 s apart
    up=$(( $(now_ms) - MU_T0 ))
    if [ "$round" = 1 ]; then
      [ "$up" -lt 4000 ] && sleep "$(( (4000 - up) / 1000 )).$(( (4000 - up) % 1000 / 100 ))"
    else
      [ "$up" -lt 11000 ] && sleep "$(( (11000 - up) / 1000 )).$(( (11000 - up) % 1000 / 100 ))"
    fi
    # rtr_restart, with a look in between: the flush must have emptied the chains
    rtr_stop && rtr_flush_rules || { run_stop; return 1; }
    [ "$(count_rules "to $HOST_A:")" = 0 ] && [ "$(count_pinholes .)" = 0 ] ||
      { diag "FAIL: the flush left rules"; run_stop; return 1; }
    rtr_start "$uptime" || { run_stop; return 1; }
    t0=$MU_T0
    wait_rules "to $HOST_A:4127" 4 10000 &&
      wait_pinholes "th dport 4127[0-3] @nh,192,128 $HOST_A6_HEX" "$n6" 3000
    ok=$?
    back=$(( $(now_ms) - t0 ))
    note "restart $round (system_uptime=$uptime): 4 forwardings and $n6 pinholes back in nft" \
         "$back ms after miniupnpd was started again"
    [ "$ok" = 0 ] && [ "$back" -lt 1000 ] ||
      { diag "FAIL: restart $round: not all back within 1000 ms ($back ms)"; run_stop; return 1; }
  done
  # The IPv4 ANNOUNCE reached the run (224.0.0.1, from the router's address). The IPv6 one
  # (ff02::1) comes from the link-local address of a bridge port here, whose MAC is not the
  # router's: it is ignored, and the IPv4 one does the job (tests/lab/MINIUPNPD.md, item 10).
  grep -q "PCP announcement from $GW " "$LABDIR/bg.err" ||
    { diag "FAIL: the run did not receive the router's ANNOUNCE";
      grep 'announcement' "$LABDIR/bg.err" | sed 's/^/    /' >> "$DIAG"; run_stop; return 1; }
  want_reaches_at "$EXT_IP" tcp 41270 lan-a
  ok=$?
  run_stop || return 1
  [ "$ok" = 0 ] && want_rc 0
}

t_pcp_run_reboot () { pcp_run_restart no; }
t_pcp_run_restart_kept () { pcp_run_restart yes; }

# ---------------------------------------------------------------------------

pcp_scenarios () {
  # portlightctl's own default protocol (auto): no --protocol added by ctl
  local LAB_PROTOCOL=""
  local SCENARIO_SKIP=""
  scenario "PCP map: PCP by default, WAN TCP and UDP over IPv4; --protocol natpmp" t_pcp_map
  scenario "PCP unmap (another process, the kept nonce) removes the IPv4 mapping" t_pcp_unmap_ipv4
  scenario "PCP dropped: NAT-PMP mapping within 3 s, output says NAT-PMP" t_pcp_dropped
  scenario "PCP rejected (ICMP): NAT-PMP mapping, output says NAT-PMP" t_pcp_rejected
  scenario "--protocol pcp, PCP dropped: exit 3 within --timeout, no NAT-PMP" t_pcp_only_dropped
  scenario "PCP run: kill -9 and restart, same mappings, no NOT_AUTHORIZED, clean stop" t_pcp_run_kill9
  scenario "PCP run: router restart, epoch reset: all mappings back < 1 s" t_pcp_run_reboot no
  scenario "PCP run: router restart, epoch kept, rules flushed: all back < 1 s" t_pcp_run_restart_kept yes
  scenario "PCP unmap removes the mapping and the pinhole" t_pcp_unmap
  scenario "PCP pinhole: WAN TCP/UDP over IPv6 to [fd00:77::2], unopened port dropped; -4/-6" t_pcp_pinhole
  scenario "PCP pinhole renewed, then unmapped: left to lapse within 120 s (2.3.1 bug)" t_pcp_pinhole_renewed
}
