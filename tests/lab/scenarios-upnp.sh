# scenarios-upnp.sh: portlightctl against a router that speaks only UPnP-IGD on IPv4
#
# Copyright 2026 The Portlight authors
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Sourced by lab.sh after scenarios-pcp.sh; uses the helpers of lab.sh and
# scenarios-session.sh. The router is miniupnpd with enable_natpmp=no (rtr_start … upnp):
# on IPv4 nothing listens on 5351, its HTTP port is new at every start (http_port=0), and
# secure mode lets each host map only to itself. The CLI contract:
#
#   portlightctl address|map|unmap [--protocol auto|upnp]   auto finds UPnP-IGD when PCP and
#     NAT-PMP are refused; text "Gateway: 192.168.77.1 · UPnP-IGD", JSON "protocol": "upnp"
#   portlightctl list [--json]   the router's table, each row "mine", "this computer" or
#     "another device"
#   portlightctl unmap --external PORT [-u]   removes a mapping of this computer by public port

# shellcheck shell=bash
# "check && check || fail" is the idiom of the scenarios
# shellcheck disable=SC2015
# OUT, ERR and SKIP_REASON are read by lab.sh's helpers and runner
# shellcheck disable=SC2034

# upnpc_at NS ARGS…: upnpc against the router's current description URL; output in UPNPC
upnpc_at () {
  local ns=$1 url
  shift
  url="http://$GW:$(rtr_upnp_port)/rootDesc.xml"
  UPNPC=$(in_ns "$ns" timeout 10 upnpc -u "$url" "$@" 2>&1)
  diag "\$ [$(ns_label "$ns")] upnpc -u $url $*"
  printf '%s\n' "$UPNPC" | sed 's/^/    upnpc: /' >> "$DIAG"
}

# want_row PUBLIC_PORT PROTOCOL FIELD VALUE: in the `list --json` row of that port
want_row () {
  local v
  v=$(printf '%s' "$OUT" | "$PYTHON" -c '
import json, sys
port, proto, field = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rows = [r for r in json.load(sys.stdin)["mappings"]
        if r.get("public_port") == port and r.get("protocol") == proto]
if len(rows) != 1:
    sys.exit("%d rows for %s %d" % (len(rows), proto, port))
print(rows[0].get(field))' "$1" "$2" "$3" 2>>"$DIAG") ||
    { diag "FAIL: no single $2 $1 row in the list"; return 1; }
  [ "$v" = "$4" ] && return 0
  diag "FAIL: $3 of the $2 $1 row is '$v', expected '$4'"
  return 1
}

t_upnp_address () {
  local before
  before=$(pmp_count)
  ctl "$NS_A" address --json
  want_rc 0 && want_json public_address "$EXT_IP" && want_json gateway "$GW" &&
    want_json_protocol upnp || return 1
  note "address over UPnP-IGD (PCP and NAT-PMP refused, SSDP search): $MS ms"
  ctl "$NS_A" address
  want_rc 0 && want_text "Gateway: ${GW//./\\.} · UPnP-IGD" && want_text "$EXT_IP" || return 1
  ctl "$NS_A" address --protocol upnp --json
  want_rc 0 && want_json public_address "$EXT_IP" || return 1
  # NAT-PMP and PCP were asked (and refused by ICMP), nothing more
  diag "requests to 5351: $(( $(pmp_count) - before ))"
}

t_upnp_map () {
  serve tcp "$NS_A" 40300 lan-a || return 1
  want_closed tcp 40300 || return 1
  ctl "$NS_A" map -t --json 40300 40300
  want_rc 0 && want_json_protocol upnp && want_json public_address "$EXT_IP" &&
    want_map public_port 40300 && want_map private_port 40300 || return 1
  note "cold map over UPnP-IGD: $MS ms"
  want_rule tcp 40300 "$HOST_A" 40300 && want_reaches tcp 40300 lan-a || return 1
  ctl "$NS_A" map -u 40301 40301
  want_rc 0 && want_text "Gateway: ${GW//./\\.} · UPnP-IGD" &&
    want_text "Mapped UDP ${EXT_IP//./\\.}:40301 → private port 40301" || return 1
  want_rule udp 40301 "$HOST_A" 40301
}

# the router refuses private ports below 1024 (606): exit 1, the reason in plain words
t_upnp_refused () {
  ctl "$NS_A" map -t 22 22
  want_rc 1 && want_text "do not allow forwarding private port 22" && want_text "below 1024" ||
    return 1
  ctl "$NS_A" map -t --json 40310 22
  want_rc 1 && want_json error.code not-authorized || return 1
  want_json error.message "Your router's UPnP settings do not allow forwarding private port 22: routers refuse ports below 1024 unless their settings allow them" || return 1
  want_no_rule tcp 40310 "$HOST_A" 22
}

t_upnp_unmap () {
  serve tcp "$NS_A" 40320 lan-a || return 1
  ctl "$NS_A" map -t 40320 40320
  want_rc 0 && want_reaches tcp 40320 lan-a || return 1
  ctl "$NS_A" unmap -t 40320
  want_rc 0 && want_no_rule tcp 40320 "$HOST_A" 40320 && want_closed tcp 40320 || return 1
  # again: nothing left, still success
  ctl "$NS_A" unmap -t 40320
  want_rc 0 || return 1
  # one made at another public port is found by its private port
  ctl "$NS_A" map -t 40331 40330
  want_rc 0 && want_rule tcp 40331 "$HOST_A" 40330 || return 1
  ctl "$NS_A" unmap -t 40330
  want_rc 0 && want_no_rule tcp 40331 "$HOST_A" 40330
}

# the second host's mapping (made with upnpc) shows as another device's; ours as mine
t_upnp_list () {
  command -v upnpc >/dev/null ||
    { SKIP_REASON="upnpc not installed (apt install miniupnpc)"; return 77; }
  ctl "$NS_A" map -t 40340 40340 && want_rc 0 || return 1
  upnpc_at "$NS_B" -e "game server" -a "$HOST_B" 40350 40350 TCP 600
  grep -q "is redirected to internal $HOST_B:40350" <<<"$UPNPC" ||
    { diag "FAIL: upnpc from b could not map 40350"; return 1; }
  upnpc_at "$NS_A" -e "other program" -a "$HOST_A" 40360 40360 UDP 600
  ctl "$NS_A" list --json
  want_rc 0 || return 1
  want_row 40340 tcp owner mine && want_row 40340 tcp private_address "$HOST_A" &&
    want_row 40350 tcp owner another-device && want_row 40350 tcp private_address "$HOST_B" &&
    want_row 40350 tcp description "game server" &&
    want_row 40360 udp owner this-computer || return 1
  ctl "$NS_A" list
  want_rc 0 && want_text "another device" && want_text "game server" || return 1
  # this computer's stray mapping goes by its public port; b's is not ours to remove
  ctl "$NS_A" unmap --external 40360 -u
  want_rc 0 && want_no_rule udp 40360 "$HOST_A" 40360 || return 1
  ctl "$NS_A" unmap --external 40350
  want_rc 1 && want_text "$HOST_B" && want_rule tcp 40350 "$HOST_B" 40350
}

# interop: upnpc lists ours, with our description
t_upnp_interop () {
  command -v upnpc >/dev/null ||
    { SKIP_REASON="upnpc not installed (apt install miniupnpc)"; return 77; }
  ctl "$NS_A" map -t 40370 40370 && want_rc 0 || return 1
  upnpc_at "$NS_A" -l
  grep -qE "^ *[0-9]+ TCP +40370->$HOST_A:40370 +'Portlight: TCP 40370 \\(" <<<"$UPNPC" ||
    { diag "FAIL: upnpc -l does not list 40370 with Portlight's description"; return 1; }
}

# `run` over UPnP-IGD: mapped, a restart on a new HTTP port with the rules flushed brings
# everything back, SIGTERM removes everything
t_upnp_run () {
  local f="$LABDIR/upnp-run.ini" port0 port1 t0 i
  serve tcp "$NS_A" 40380 lan-a || return 1
  printf '[web]\nProtocol=tcp\nInternalPort=40380\nExternalPort=40380\nEnabled=true\n\n[game]\nProtocol=both\nInternalPort=40381\nExternalPort=40381\nEnabled=true\n\n[dns]\nProtocol=udp\nInternalPort=40382\nExternalPort=40382\nEnabled=true\n' > "$f"
  run_start "$f" || return 1
  wait_rules "to $HOST_A:4038" 4 10000 || { run_stop; return 1; }
  want_reaches tcp 40380 lan-a || { run_stop; return 1; }
  port0=$(rtr_upnp_port)
  t0=$(now_ms)
  rtr_restart no || { run_stop; return 1; }
  port1=$(rtr_upnp_port)
  diag "router's HTTP port: $port0 before the restart, $port1 after"
  [ "$port0" != "$port1" ] || { diag "FAIL: the router kept its HTTP port"; run_stop; return 1; }
  # (the restart flushed the rules; Portlight puts them back from the router's first NOTIFY)
  wait_rules "to $HOST_A:4038" 4 15000 || { run_stop; return 1; }
  note "UPnP router restart (new HTTP port, rules flushed): 4 mappings back in $(( $(now_ms) - t0 )) ms"
  want_reaches tcp 40380 lan-a || { run_stop; return 1; }
  run_stop
  want_rc 0 || return 1
  for i in $(seq 20); do
    [ "$(count_rules "to $HOST_A:")" = 0 ] && return 0
    sleep 0.1
  done
  diag "FAIL: rules left after SIGTERM"
  rules | sed 's/^/    nft: /' >> "$DIAG"
  return 1
}

# the router comes up after `run` gave up on it ("no UPnP router"): used from its first NOTIFY,
# not at the next probe a back-off later
t_upnp_run_late () {
  local f="$LABDIR/upnp-late.ini" t0
  printf '[web]\nProtocol=tcp\nInternalPort=40390\nExternalPort=40390\nEnabled=true\n' > "$f"
  rtr_stop || return 1
  run_start "$f" || return 1
  for i in $(seq 100); do
    [ "$(jsel "event=mapping,state=failed" count)" -ge 1 ] && break
    sleep 0.1
  done
  [ "$(jsel "event=mapping,state=failed" count)" -ge 1 ] ||
    { diag "FAIL: no failed mapping while there is no router"; run_stop; return 1; }
  t0=$(now_ms)
  rtr_start no "$EXT_IP" upnp || { run_stop; return 1; }
  wait_rules "to $HOST_A:40390" 1 5000 || { run_stop; return 1; }
  note "UPnP router up after the verdict: mapped $(( $(now_ms) - t0 )) ms after its start"
  run_stop
}

# IPv6 pinholes over WANIPv6FirewallControl:1 (no PCP there): the default map opens the IPv4
# mapping and a pinhole for host a's stable address, over an IPv6 context; the WAN host then
# reaches [fd00:77::2]:PORT, a port without a pinhole stays dropped; -4 opens none, -6 only
# the pinhole; unmap (a process of its own, which has no UniqueID) closes it again
t_upnp_pinhole () {
  serve tcp "$NS_A" 40400 lan-a && serve udp "$NS_A" 40401 lan-a &&
    serve tcp "$NS_A" 40402 lan-a || return 1
  want_dropped_at "$HOST_A6" tcp 40400 || return 1
  ctl "$NS_A" map -t 40400 40400
  want_rc 0 && want_text "Gateway: ${GW//./\\.} · UPnP-IGD" &&
    want_text "Opened TCP \\[$HOST_A6\\]:40400 \\(IPv6 pinhole\\), lifetime 3600 s" || return 1
  note "map over UPnP-IGD with an IPv6 pinhole: $MS ms"
  want_rule tcp 40400 "$HOST_A" 40400 && want_pinhole tcp 40400 "$HOST_A6" &&
    want_reaches tcp 40400 lan-a && want_reaches_at "$HOST_A6" tcp 40400 lan-a || return 1
  want_dropped_at "$HOST_A6" tcp 40402 || return 1
  ctl "$NS_A" map -u --json 40401 40401
  want_rc 0 && want_json_protocol upnp && want_pinhole udp 40401 "$HOST_A6" &&
    want_reaches_at "$HOST_A6" udp 40401 lan-a || return 1
  ctl "$NS_A" map -4 -t 40402 40402
  want_rc 0 && want_rule tcp 40402 "$HOST_A" 40402 && want_no_pinhole tcp 40402 "$HOST_A6" ||
    return 1
  # -6: the pinhole alone. miniupnpd answers PCP over IPv6 even with enable_natpmp=no (and
  # -6 prefers it); once it refuses PCP, -6 goes through UPnP-IGD
  pcp_reject || return 1
  serve tcp "$NS_A" 40403 lan-a || return 1
  ctl "$NS_A" map -6 -t 40403 40403
  want_rc 0 && want_text "Gateway: $GW6_LL · UPnP-IGD \\(IPv6\\)" &&
    want_text "Opened TCP \\[$HOST_A6\\]:40403 \\(IPv6 pinhole\\)" || return 1
  want_pinhole tcp 40403 "$HOST_A6" && want_no_rule tcp 40403 "$HOST_A" 40403 &&
    want_reaches_at "$HOST_A6" tcp 40403 lan-a || return 1
  ctl "$NS_A" map -6 --protocol upnp -u --json 40403 40403
  want_rc 0 && want_json_protocol upnp && want_pinhole udp 40403 "$HOST_A6" &&
    want_no_rule udp 40403 "$HOST_A" 40403 || return 1
  ctl "$NS_A" unmap -t 40403
  want_rc 0 && want_no_pinhole tcp 40403 "$HOST_A6" || return 1
  ctl "$NS_A" unmap -u 40403
  want_rc 0 && want_no_pinhole udp 40403 "$HOST_A6" || return 1
  ctl "$NS_A" unmap -t 40400
  want_rc 0 && want_text "Closed the TCP IPv6 pinhole of \\[$HOST_A6\\]:40400" || return 1
  want_no_rule tcp 40400 "$HOST_A" 40400 && want_no_pinhole tcp 40400 "$HOST_A6" &&
    want_dropped_at "$HOST_A6" tcp 40400 || return 1
  ctl "$NS_A" unmap -u 40401
  want_rc 0 && want_no_pinhole udp 40401 "$HOST_A6"
}

# privacy_on|privacy_off: host a gets a temporary (RFC 8981) address beside its stable one,
# preferred as the source of new connections (use_tempaddr=2), as on most desktops
privacy_on () {
  in_ns "$NS_A" sysctl -qw net.ipv6.conf.eth0.use_tempaddr=2 &&
    ip -n "$NS_A" -6 addr change "$HOST_A6/64" dev eth0 nodad mngtmpaddr || return 1
  TEMP6=$(ip -n "$NS_A" -6 -o addr show dev eth0 temporary | awk '{ sub("/.*", "", $4); print $4; exit }')
  [ -n "$TEMP6" ] || { diag "FAIL: the kernel made no temporary address"; return 1; }
  diag "host a: temporary address $TEMP6 beside $HOST_A6"
}

privacy_off () {
  in_ns "$NS_A" sysctl -qw net.ipv6.conf.eth0.use_tempaddr=0
  ip -n "$NS_A" -6 addr change "$HOST_A6/64" dev eth0 nodad
  ip -n "$NS_A" -6 addr flush dev eth0 temporary 2>/dev/null
  return 0
}

# With a temporary address preferred as the source, the pinhole is still for the stable
# address, and the router (which opens pinholes only for the address a request comes from)
# grants it: the SOAP connection leaves from the stable address
t_upnp_pinhole_privacy () {
  local mark
  privacy_on || { privacy_off; return 1; }
  mark=$(wc -l < "$LABDIR/syslog.log")
  serve tcp "$NS_A" 40420 lan-a || { privacy_off; return 1; }
  ctl "$NS_A" map -t 40420 40420
  want_rc 0 && want_text "Opened TCP \\[$HOST_A6\\]:40420 \\(IPv6 pinhole\\)" &&
    want_pinhole tcp 40420 "$HOST_A6" && want_reaches_at "$HOST_A6" tcp 40420 lan-a ||
    { privacy_off; return 1; }
  ! tail -n +"$((mark + 1))" "$LABDIR/syslog.log" | grep -q "tried to access pinhole" ||
    { diag "FAIL: the router saw a pinhole request from another address"; privacy_off; return 1; }
  ctl "$NS_A" unmap -t 40420
  want_rc 0 && want_no_pinhole tcp 40420 "$HOST_A6" || { privacy_off; return 1; }
  privacy_off
}

# `run` with a both-family profile on a UPnP-only router: the pinhole opens beside the IPv4
# mapping, is renewed with UpdatePinhole before its 4 s lease ends (still there and
# reachable after 6 s), comes back after a restart that flushed it (new HTTP port, IDs
# counted from 1 again), and SIGTERM deletes it (the WAN host is dropped again)
t_upnp_pinhole_run () {
  local f="$LABDIR/upnp-pinhole-run.ini" mark t0
  mark=$(wc -l < "$LABDIR/syslog.log")
  serve tcp "$NS_A" 40410 lan-a || return 1
  printf '[web]\nProtocol=tcp\nInternalPort=40410\nExternalPort=40410\nLifetime=4\nEnabled=true\n' > "$f"
  run_start "$f" || return 1
  wait_rules "to $HOST_A:40410" 1 5000 &&
    wait_pinholes "th dport 40410 @nh,192,128 $HOST_A6_HEX" 1 5000 || { run_stop; return 1; }
  note "run over UPnP-IGD: the pinhole in nft $WAIT_MS ms after the IPv4 rule"
  want_reaches_at "$HOST_A6" tcp 40410 lan-a || { run_stop; return 1; }
  sleep 6
  want_pinhole tcp 40410 "$HOST_A6" && want_reaches_at "$HOST_A6" tcp 40410 lan-a ||
    { run_stop; return 1; }
  tail -n +"$((mark + 1))" "$LABDIR/syslog.log" |
    grep -qE "UpdatePinhole: \(inbound\) updating lease duration to 4 for pinhole with ID" ||
    { diag "FAIL: no UpdatePinhole renewal in the router's log"; run_stop; return 1; }
  rtr_stop && rtr_flush_rules || { run_stop; return 1; }
  [ "$(count_pinholes .)" = 0 ] || { diag "FAIL: the flush left pinholes"; run_stop; return 1; }
  t0=$(now_ms)
  rtr_start no "$EXT_IP" upnp || { run_stop; return 1; }
  wait_pinholes "th dport 40410 @nh,192,128 $HOST_A6_HEX" 1 10000 || { run_stop; return 1; }
  note "UPnP router restart (new HTTP port, pinholes flushed): the pinhole back" \
       "$(( $(now_ms) - t0 )) ms after miniupnpd was started again"
  want_reaches_at "$HOST_A6" tcp 40410 lan-a || { run_stop; return 1; }
  run_stop
  want_rc 0 || return 1
  wait_pinholes "th dport 40410 " 0 2000 && wait_rules "to $HOST_A:40410" 0 2000 || return 1
  want_dropped_at "$HOST_A6" tcp 40410
}

# a router without UPnP-IGD: `list` says so in one line (exit 4) and still shows the PCP
# mappings Portlight keeps there, which only its journal knows
t_list_no_upnp () {
  ctl "$NS_A" map -4 -t 40395 40395
  want_rc 0 && want_text "Gateway: ${GW//./\\.} · PCP" || return 1
  ctl "$NS_A" list
  want_rc 4 && want_text "does not answer UPnP-IGD" &&
    want_text "TCP 40395 → ${HOST_A//./\\.}:40395 +mine +PCP" || return 1
  ctl "$NS_A" list --json
  want_rc 4 && want_json error.code refused
}

upnp_scenarios () {
  local saved=$LAB_PROTOCOL
  LAB_PROTOCOL=""
  scenario "UPnP-only router: address found by the SSDP search" t_upnp_address no "$EXT_IP" upnp
  scenario "UPnP-only router: map TCP+UDP, a WAN host connects through" t_upnp_map no "$EXT_IP" upnp
  scenario "UPnP-only router: port 22 refused (606), exit 1, reason given" t_upnp_refused no "$EXT_IP" upnp
  scenario "UPnP-only router: unmap, also of a mapping at another public port" t_upnp_unmap no "$EXT_IP" upnp
  scenario "UPnP-only router: list marks mine, this computer's, another device's; unmap --external" t_upnp_list no "$EXT_IP" upnp
  scenario "UPnP-only router: upnpc -l lists ours with its description" t_upnp_interop no "$EXT_IP" upnp
  scenario "UPnP-only router: run, restart on a new HTTP port, SIGTERM removes all" t_upnp_run no "$EXT_IP" upnp
  scenario "UPnP-only router: comes up after run gave up on it, used at once" t_upnp_run_late no "$EXT_IP" upnp
  scenario "UPnP-only router: map opens an IPv6 pinhole too, the WAN host connects, unmap closes it" t_upnp_pinhole no "$EXT_IP" upnp
  scenario "UPnP-only router: run renews the IPv6 pinhole, puts it back after a restart, SIGTERM removes it" t_upnp_pinhole_run no "$EXT_IP" upnp
  scenario "UPnP-only router: IPv6 pinhole for the stable address while a temporary one is the preferred source" t_upnp_pinhole_privacy no "$EXT_IP" upnp
  scenario "no UPnP-IGD: list says so in one line, shows our PCP mappings" t_list_no_upnp
  LAB_PROTOCOL=$saved
}
