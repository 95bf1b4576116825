#!/bin/bash
# lab.sh: a throw-away router lab in network namespaces, with the real miniupnpd,
# and the NAT-PMP scenarios (M-01 to M-11, tests/CONFORMANCE.md) run against portlightctl.
#
# Copyright 2026 The Portlight authors
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage (as root):
#   PORTLIGHTCTL=path/to/portlightctl tests/lab/lab.sh        all scenarios, TAP on stdout
#   LAB_ONLY='unmap|loss' … lab.sh                            only scenarios matching the regex
#   PORTLIGHTCTL=… lab.sh --shell                             build the lab, open a shell in it
#   LAB_VERBOSE=1: print every scenario's commands and outputs, not only on failure
#   LAB_KEEP=1: leave the namespaces and files behind for inspection (next run removes them)
#   Skips print "1..0 # SKIP reason" and exit 77 (LAB_SKIP_EXIT=0 under meson's TAP).
#
# Layout (everything exists only inside namespaces named pllab-<pid>-*):
#
#   a   192.168.77.2 ─┐                          ┌── wan0 10.77.0.1 ── wan 10.77.0.2
#   b   192.168.77.3 ─┴── br0 192.168.77.1  rtr ─┘   (miniupnpd, ext_ip 84.17.2.3)
#
#   IPv6 (ULA, no DAD, routed without NAT):
#   a   fd00:77::2 ─┐     br0 fd00:77::1           wan0 fd00:78::1 ── wan fd00:78::2
#   b   fd00:77::3 ─┴──       fe80::77:1 (fixed link-local; the LAN hosts' default route)
#
#   The WAN host routes 84.17.2.3/32 and 192.168.77.1/32 to 10.77.0.1 and fd00:77::/64 to
#   fd00:78::1. The router's forward policy drops everything from the WAN that no
#   miniupnpd rule accepts (IPv4 DNAT + accept, IPv6 pinhole).
#
# The lab is built once per run; scenarios reset it (restart miniupnpd, flush its
# chains, drop fault rules). Namespaces, processes and nft tables are removed on exit,
# also when the run fails or is killed (a detached reaper cleans up after SIGKILL, and
# a new run removes what a dead run left behind).

# "check && check || fail" is the idiom of the scenarios below
# shellcheck disable=SC2015

set -u
PATH=$PATH:/usr/sbin:/sbin

LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_SH="$LAB_SRC/lab.sh"
LABTOOL="$LAB_SRC/labtool.py"
PYTHON=${PYTHON:-python3}
TABLE=portlight_lab

GW=192.168.77.1
HOST_A=192.168.77.2
HOST_B=192.168.77.3
WAN_RTR=10.77.0.1
WAN_HOST=10.77.0.2
EXT_IP=84.17.2.3
# IPv6: the LAN fd00:77::/64 and the WAN fd00:78::/64 (ULA: they exist only in the lab)
GW6=fd00:77::1
GW6_LL=fe80::77:1
HOST_A6=fd00:77::2
HOST_B6=fd00:77::3
WAN_RTR6=fd00:78::1
WAN_HOST6=fd00:78::2

now_ms () { echo $(( $(date +%s%N) / 1000000 )); }

# ---------------------------------------------------------------------------
# Teardown: shared by the normal exit path, the reaper and stale-run cleanup.

lab_teardown () {   # PREFIX LABDIR
  local prefix=$1 dir=$2 ns pids i
  local spaces
  spaces=$(ip netns list 2>/dev/null | awk -v p="$prefix-" 'index($1, p) == 1 { print $1 }')
  for ns in $spaces; do
    pids=$(ip netns pids "$ns" 2>/dev/null)
    # shellcheck disable=SC2086  # one word per pid
    [ -n "$pids" ] && kill -TERM $pids 2>/dev/null
  done
  for i in $(seq 20); do
    pids=""
    for ns in $spaces; do pids="$pids$(ip netns pids "$ns" 2>/dev/null)"; done
    [ -z "$pids" ] && break
    sleep 0.1
  done
  for ns in $spaces; do
    pids=$(ip netns pids "$ns" 2>/dev/null)
    # shellcheck disable=SC2086  # one word per pid
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  [ -n "$dir" ] && rm -rf "$dir"
}

# Namespaces of runs whose lab.sh is gone (killed with SIGKILL before the reaper ran).
lab_remove_stale () {
  local ns pid
  for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^pllab-[0-9]+-/ { print $1 }'); do
    pid=${ns#pllab-}
    pid=${pid%%-*}
    if [ "$pid" != "$$" ] && ! grep -qs 'lab\.sh' "/proc/$pid/cmdline"; then
      lab_teardown "pllab-$pid" "/tmp/pllab-$pid"
    fi
  done
}

# ---------------------------------------------------------------------------
# Internal modes

# Runs inside the router namespace, in a private mount namespace: gives miniupnpd a
# /dev/log that goes to the lab's sink, then becomes miniupnpd.
if [ "${1:-}" = "--router-exec" ]; then
  dir=$2
  set -e
  mkdir -p "$dir/hostdev"
  mount --bind /dev "$dir/hostdev"
  mount -t tmpfs -o mode=0755,size=64k pllab-dev /dev
  for n in null zero full random urandom tty console; do
    touch "/dev/$n"
    mount --bind "$dir/hostdev/$n" "/dev/$n"
  done
  ln -s /proc/self/fd /dev/fd
  ln -s "$dir/log.sock" /dev/log
  umount -l "$dir/hostdev"
  # -d: foreground; its stderr copy of the log is not needed (the sink has it)
  exec miniupnpd -d -f "$dir/miniupnpd.conf" -P "$dir/miniupnpd.pid" 2>/dev/null
fi

# Detached safety net: waits for the lab run to end, then removes what is left.
if [ "${1:-}" = "--reap" ]; then
  while kill -0 "$2" 2>/dev/null; do sleep 0.5; done
  lab_teardown "$3" "$4"
  exit 0
fi

SHELL_MODE=0
[ "${1:-}" = "--shell" ] && SHELL_MODE=1
# --bench SCRIPT: build the lab, then source SCRIPT (tests/bench/bench.sh) with every
# helper above defined; its exit status is the run's. Clean-up is the same as always.
BENCH_SCRIPT=""
if [ "${1:-}" = "--bench" ]; then
  BENCH_SCRIPT=${2:-}
  [ -f "$BENCH_SCRIPT" ] || { echo "lab.sh --bench: no script '$BENCH_SCRIPT'" >&2; exit 2; }
fi

skip_all () {
  echo "1..0 # SKIP $*"
  exit "${LAB_SKIP_EXIT:-77}"
}

# ---------------------------------------------------------------------------
# Can the lab run here?

[ "$(id -u)" = 0 ] || skip_all "needs root (network namespaces, nftables)"
command -v ip >/dev/null || skip_all "iproute2 'ip' not installed"
ip netns list >/dev/null 2>&1 || skip_all "'ip netns' does not work here"
command -v miniupnpd >/dev/null || skip_all "miniupnpd not installed (apt install miniupnpd-nftables)"
miniupnpd --version 2>&1 | grep -q nftables || skip_all "miniupnpd is not the nftables build"
command -v nft >/dev/null || skip_all "nft not installed"
command -v unshare >/dev/null || skip_all "unshare not installed"
command -v "$PYTHON" >/dev/null || skip_all "python3 not installed"
CTL=${PORTLIGHTCTL:-}
[ -n "$CTL" ] || CTL=$(command -v portlightctl || true)
[ -n "$CTL" ] && [ -x "$CTL" ] || skip_all "portlightctl not found (set PORTLIGHTCTL)"

PREFIX=pllab-$$
NS_R=$PREFIX-rtr
NS_A=$PREFIX-a
NS_B=$PREFIX-b
NS_W=$PREFIX-wan
# not $TMPDIR: a stale run's files must be found again, and log.sock needs a short path
LABDIR=/tmp/$PREFIX
MU_PID=""
LISTENER_PIDS=""

on_exit () {
  trap - EXIT INT TERM HUP
  if [ "${LAB_KEEP:-0}" = 1 ]; then
    echo "# LAB_KEEP=1: left $PREFIX-* and $LABDIR behind" >&2
    return
  fi
  lab_teardown "$PREFIX" "$LABDIR"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

lab_remove_stale
# `ip netns list` works in places where creating one does not (containers)
ip netns add "$PREFIX-probe" 2>/dev/null || skip_all "cannot create network namespaces here"
ip netns del "$PREFIX-probe"
rm -rf "$LABDIR"
mkdir -p "$LABDIR" || skip_all "cannot create $LABDIR"
# What portlightctl keeps between runs (PCP nonces) stays in the lab, not in root's home.
export XDG_STATE_HOME=$LABDIR/state
# The per-user engine lock and the engine's journal ($XDG_RUNTIME_DIR/portlight) are the
# lab's own too: another lab (or a benchmark) running at the same time as root, or root's own
# engine, must not hold this lab's lock ("Portlight's engine is already running").
export XDG_RUNTIME_DIR=$LABDIR/runtime
mkdir -p -m 700 "$XDG_RUNTIME_DIR"
if [ "${LAB_KEEP:-0}" != 1 ]; then
  setsid bash "$LAB_SH" --reap $$ "$PREFIX" "$LABDIR" </dev/null >/dev/null 2>&1 &
fi

# ---------------------------------------------------------------------------
# Building the lab

# Foreground only. A background job must call `ip netns exec` itself: `in_ns … &` would
# fork a subshell, and $! would be that subshell, not the process to signal later.
in_ns () { local ns=$1; shift; ip netns exec "$ns" "$@"; }

lab_build () {
  local ns
  for ns in "$NS_R" "$NS_A" "$NS_B" "$NS_W"; do
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up || return 1
    # no duplicate address detection: addresses (also the kernel's link-local ones)
    # are usable at once; set before the links exist, so that they inherit it
    in_ns "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 ||
      return 1
    # client sockets (SOAP, D-Bus over TCP, probes) take their ports above the scenarios'
    # fixed 40000-4xxxx listeners, so that a connection never holds a port a listener needs
    in_ns "$ns" sysctl -qw net.ipv4.ip_local_port_range="50000 60999" || return 1
  done
  ip -n "$NS_R" link add br0 type bridge &&
  ip -n "$NS_R" link set br0 addrgenmode none &&
  ip -n "$NS_R" link add lan-a type veth peer name eth0 netns "$NS_A" &&
  ip -n "$NS_R" link add lan-b type veth peer name eth0 netns "$NS_B" &&
  ip -n "$NS_R" link add wan0 type veth peer name eth0 netns "$NS_W" &&
  ip -n "$NS_R" link set lan-a master br0 up &&
  ip -n "$NS_R" link set lan-b master br0 up &&
  ip -n "$NS_R" addr add "$GW/24" dev br0 &&
  ip -n "$NS_R" link set br0 up &&
  ip -n "$NS_R" addr add "$WAN_RTR/24" dev wan0 &&
  ip -n "$NS_R" link set wan0 up &&
  ip -n "$NS_A" addr add "$HOST_A/24" dev eth0 &&
  ip -n "$NS_B" addr add "$HOST_B/24" dev eth0 &&
  ip -n "$NS_W" addr add "$WAN_HOST/24" dev eth0 || return 1
  for ns in "$NS_A" "$NS_B" "$NS_W"; do
    ip -n "$ns" link set eth0 up || return 1
  done
  ip -n "$NS_A" route add default via "$GW" &&
  ip -n "$NS_B" route add default via "$GW" &&
  # The WAN host has no default route (it is "the Internet"). It knows one host
  # route to the router's LAN address, so it can play a client outside the LAN (M-10).
  ip -n "$NS_W" route add "$GW/32" via "$WAN_RTR" &&
  # The router's public address (miniupnpd's ext_ip) leads to its WAN side too, so the
  # WAN host can connect to the address a client reports. Its DNAT rules match wan0.
  ip -n "$NS_W" route add "$EXT_IP/32" via "$WAN_RTR" || return 1
  lab_build6 || return 1
  in_ns "$NS_R" sysctl -qw net.ipv4.ip_forward=1 &&
  in_ns "$NS_R" nft -f "$LAB_SRC/router.nft" || return 1

  # /dev/log sink for miniupnpd (lives in the router namespace, so teardown finds it)
  ip netns exec "$NS_R" "$PYTHON" "$LABTOOL" logsink "$LABDIR/log.sock" "$LABDIR/syslog.log" \
    </dev/null >/dev/null 2>>"$LABDIR/sink.err" &
  wait_file "$LABDIR/log.sock.ready" 50 || { echo "# log sink did not start" >&2; return 1; }
}

# IPv6: as a router advertisement would set it up. br0 makes no link-local address of
# its own (addrgenmode none, set in lab_build: its MAC follows its ports), only the
# fixed fe80::77:1, which the LAN hosts use as their default router. No DAD anywhere.
lab_build6 () {
  ip -n "$NS_R" -6 addr add "$GW6_LL/64" dev br0 nodad &&
  ip -n "$NS_R" -6 addr add "$GW6/64" dev br0 nodad &&
  ip -n "$NS_R" -6 addr add "$WAN_RTR6/64" dev wan0 nodad &&
  ip -n "$NS_A" -6 addr add "$HOST_A6/64" dev eth0 nodad &&
  ip -n "$NS_B" -6 addr add "$HOST_B6/64" dev eth0 nodad &&
  ip -n "$NS_W" -6 addr add "$WAN_HOST6/64" dev eth0 nodad &&
  ip -n "$NS_A" -6 route add default via "$GW6_LL" dev eth0 &&
  ip -n "$NS_B" -6 route add default via "$GW6_LL" dev eth0 &&
  ip -n "$NS_W" -6 route add "${GW6%::*}::/64" via "$WAN_RTR6" &&
  in_ns "$NS_R" sysctl -qw net.ipv6.conf.all.forwarding=1
}

wait_file () {   # PATH TRIES(×0.05 s)
  local i
  for i in $(seq "$2"); do
    [ -e "$1" ] && return 0
    sleep 0.05
  done
  return 1
}

# The UPnP-only router's device UUID: the same across restarts, as on a real router.
UPNP_UUID=6c0f4a2e-0b1d-4e9a-8f3c-2d5e7a9b1c41
RTR_MODE=natpmp

# rtr_upnp_port: the HTTP port the UPnP-only router listens on now (new at every start)
# (miniupnpd is the only TCP listener in the router's namespace; its HTTP socket is
# dual-stack, shown as [::]:PORT or *:PORT)
rtr_upnp_port () {
  in_ns "$NS_R" ss -Hltn 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n]; exit }'
}

# rtr_start [no|yes (system_uptime)] [EXT_IP|none] [natpmp|upnp]
#   natpmp: NAT-PMP and PCP, no UPnP (the usual lab router); upnp: UPnP-IGD only on IPv4
#   (enable_natpmp=no), a random HTTP port at every start (http_port=0), secure mode
rtr_start () {
  local uptime=${1:-no} ext=${2:-$EXT_IP} line i natpmp=yes upnp=no upnp_lines="# no UPnP"
  RTR_MODE=${3:-natpmp}
  if [ "$ext" = none ]; then
    line="# no ext_ip: the private WAN address is used (M-11)"
  else
    line="ext_ip=$ext"
  fi
  if [ "$RTR_MODE" = upnp ]; then
    natpmp=no upnp=yes
    upnp_lines="http_port=0\nsecure_mode=yes\nuuid=$UPNP_UUID\nnotify_interval=30"
    # br_netfilter (where loaded) would drop the SSDP multicast across the bridge
    in_ns "$NS_R" sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
      net.bridge.bridge-nf-call-ip6tables=0 2>/dev/null
  fi
  sed -e "s|@SYSTEM_UPTIME@|$uptime|" -e "s|@EXT_IP_LINE@|$line|" \
    -e "s|@ENABLE_NATPMP@|$natpmp|" -e "s|@ENABLE_UPNP@|$upnp|" -e "s|@UPNP_LINES@|$upnp_lines|" \
    "$LAB_SRC/miniupnpd.conf.in" > "$LABDIR/miniupnpd.conf" || return 1
  rm -f "$LABDIR/miniupnpd.pid"
  ip netns exec "$NS_R" unshare -m --propagation private bash "$LAB_SH" --router-exec "$LABDIR" \
    </dev/null >>"$LABDIR/router.out" 2>&1 &
  MU_PID=$!
  MU_T0=$(now_ms)
  for i in $(seq 100); do
    if [ "$RTR_MODE" = upnp ]; then
      [ -n "$(rtr_upnp_port)" ] && return 0
    elif in_ns "$NS_R" ss -Hlun "sport = 5351" 2>/dev/null | grep -q "$GW:5351"; then
      return 0
    fi
    kill -0 "$MU_PID" 2>/dev/null || break
    sleep 0.03
  done
  diag "miniupnpd did not start listening on $GW ($RTR_MODE)"
  MU_PID=""
  return 1
}

rtr_stop () {
  local i
  [ -n "$MU_PID" ] || return 0
  kill -TERM "$MU_PID" 2>/dev/null
  for i in $(seq 40); do
    kill -0 "$MU_PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$MU_PID" 2>/dev/null
  wait "$MU_PID" 2>/dev/null
  MU_PID=""
  # a daemon that outlived its stop would share port 5351 with the next one
  for i in $(seq 40); do
    in_ns "$NS_R" ss -Hlun "sport = 5351" 2>/dev/null | grep -q . || return 0
    sleep 0.05
  done
  diag "miniupnpd still listens on 5351 after being stopped"
  return 1
}

# The state a scenario starts from: no mappings, no faults, counter 0, fresh daemon.
rtr_flush () {
  in_ns "$NS_R" nft -f - >/dev/null <<EOF
flush chain inet $TABLE miniupnpd
flush chain inet $TABLE prerouting_miniupnpd
flush chain inet $TABLE postrouting_miniupnpd
flush chain inet $TABLE faults_in
flush chain inet $TABLE faults_out
reset counter inet $TABLE pmp_in
reset counter inet $TABLE pcp_in
reset counter inet $TABLE natpmp_in
EOF
}

listeners_stop () {
  local p
  if [ -n "${BG_PID:-}" ]; then
    kill -KILL "$BG_PID" 2>/dev/null
    wait "$BG_PID" 2>/dev/null
    BG_PID=""
  fi
  for p in $LISTENER_PIDS; do kill -TERM "$p" 2>/dev/null; done
  for p in $LISTENER_PIDS; do wait "$p" 2>/dev/null; done
  LISTENER_PIDS=""
}

lab_reset () {   # same arguments as rtr_start
  listeners_stop
  rtr_stop || return 1
  rtr_flush || return 1
  rtr_start "$@"
}

# serve tcp|udp NS PORT IDENT: a listener that answers with IDENT
serve () {
  local marker="$LABDIR/listener.$1.$3.$4"
  rm -f "$marker"
  ip netns exec "$2" "$PYTHON" "$LABTOOL" "$1-serve" "$3" "$4" "$marker" </dev/null >/dev/null 2>>"$LABDIR/listeners.err" &
  LISTENER_PIDS="$LISTENER_PIDS $!"
  wait_file "$marker" 60 || { diag "$1 listener $4 on port $3 did not start"; return 1; }
}

# wan_probe tcp|udp PORT: from the WAN host to the router's WAN address; prints IDENT
wan_probe () {
  in_ns "$NS_W" "$PYTHON" "$LABTOOL" "$1-probe" "$WAN_RTR" "$2" "${3:-2}" 2>>"$DIAG"
}

# wan_probe_to HOST tcp|udp PORT [TIMEOUT]: from the WAN host to HOST (the public
# address 84.17.2.3, or a LAN host's IPv6 address); prints IDENT. Exit 2: timed out.
wan_probe_to () {
  in_ns "$NS_W" "$PYTHON" "$LABTOOL" "$2-probe" "$1" "$3" "${4:-2}" 2>>"$DIAG"
}

add_fault () {   # in|out RULE…
  local chain=faults_$1
  shift
  in_ns "$NS_R" nft add rule inet "$TABLE" "$chain" "$@"
}

pmp_count () {   # [pmp_in|pcp_in|natpmp_in]: requests to 5351 (all, PCP, NAT-PMP)
  in_ns "$NS_R" nft list counter inet "$TABLE" "${1:-pmp_in}" | awk '$1 == "packets" { print $2 }'
}

rules () { in_ns "$NS_R" nft list chain inet "$TABLE" prerouting_miniupnpd; }

has_rule () {   # tcp|udp EPORT IP IPORT
  local p=0x6
  [ "$1" = udp ] && p=0x11
  rules | grep -qE "@nh,72,8 $p th dport $2 dnat ip to $3:$4( |\$)"
}

count_rules () {   # REGEX
  rules | grep -cE "$1"
}

# IPv6 pinholes: accept rules in the forward chain miniupnpd, matching the destination
# address (@nh,192,128) and the next header (@nh,48,8)
pinholes () {
  in_ns "$NS_R" nft list chain inet "$TABLE" miniupnpd | grep '@nh,192,128 '
}

v6hex () {   # ADDR6: as nft prints it in a pinhole rule
  case $1 in
    "$HOST_A6") echo "$HOST_A6_HEX" ;;
    "$HOST_B6") echo "$HOST_B6_HEX" ;;
    *) "$PYTHON" -c 'import ipaddress, sys; print("0x" + ipaddress.ip_address(sys.argv[1]).packed.hex())' "$1" ;;
  esac
}
HOST_A6_HEX=0xfd000077000000000000000000000002
HOST_B6_HEX=0xfd000077000000000000000000000003

has_pinhole () {   # tcp|udp PORT ADDR6
  local p=0x6
  [ "$1" = udp ] && p=0x11
  pinholes | grep -qE "th dport $2 @nh,192,128 $(v6hex "$3") @nh,48,8 $p( |\$)"
}

count_pinholes () {   # REGEX
  pinholes | grep -cE "$1"
}

# Faults for PCP only (the first UDP payload byte is the version: 2 PCP, 0 NAT-PMP), on
# both families. lab_reset removes them with the other fault rules (rtr_flush).
pcp_drop () { add_fault in udp dport 5351 @th,64,8 2 drop; }        # router ignores PCP
pcp_reject () { add_fault in udp dport 5351 @th,64,8 2 reject; }    # ICMP port unreachable

# A router restart that loses the forwardings, as Debian's stop script (nft_removeall.sh)
# does: miniupnpd stopped, its chains flushed (fault rules and counters stay), started
# again. rtr_restart yes keeps the epoch (system_uptime=yes); no resets it.
rtr_flush_rules () {
  in_ns "$NS_R" nft -f - >/dev/null <<EOF
flush chain inet $TABLE miniupnpd
flush chain inet $TABLE prerouting_miniupnpd
flush chain inet $TABLE postrouting_miniupnpd
EOF
}

rtr_restart () {   # no|yes: keeps the router's mode (NAT-PMP/PCP or UPnP-only)
  rtr_stop && rtr_flush_rules && rtr_start "${1:-no}" "$EXT_IP" "$RTR_MODE"
}

# ---------------------------------------------------------------------------
# Running the client and checking what it did

DIAG=/dev/null
diag () { echo "$*" >> "$DIAG"; }

ns_label () {
  case $1 in
    "$NS_A") echo "a $HOST_A" ;;
    "$NS_B") echo "b $HOST_B" ;;
    "$NS_W") echo "wan $WAN_HOST" ;;
    *) echo "$1" ;;
  esac
}

# The protocol the scenarios speak: the NAT-PMP scenarios (M-xx) pin NAT-PMP, so that they
# test NAT-PMP whatever portlightctl's default; scenarios-pcp.sh empties it for the default.
LAB_PROTOCOL=natpmp

# ctl_args ARGS…: ARGS with "--protocol $LAB_PROTOCOL" after the command, into CTL_ARGS
ctl_args () {
  CTL_ARGS=("$@")
  case "${1:-}" in
    address|map|unmap|run)
      if [ -n "$LAB_PROTOCOL" ] && ! [[ " $* " == *" --protocol "* ]]; then
        CTL_ARGS=("$1" --protocol "$LAB_PROTOCOL" "${@:2}")
      fi
      ;;
  esac
}

# ctl NS ARGS…: run portlightctl in a namespace; sets RC, OUT, ERR, MS
ctl () {
  local ns=$1 t0
  shift
  ctl_args "$@"
  set -- "${CTL_ARGS[@]}"
  t0=$(now_ms)
  in_ns "$ns" timeout -k 2 "${CTL_LIMIT:-60}" "$CTL" "$@" >"$LABDIR/ctl.out" 2>"$LABDIR/ctl.err"
  RC=$?
  MS=$(( $(now_ms) - t0 ))
  OUT=$(cat "$LABDIR/ctl.out")
  ERR=$(cat "$LABDIR/ctl.err")
  diag "\$ [$(ns_label "$ns")] portlightctl $* -> exit $RC in $MS ms"
  [ -n "$OUT" ] && sed 's/^/    out: /' "$LABDIR/ctl.out" >> "$DIAG"
  [ -n "$ERR" ] && sed 's/^/    err: /' "$LABDIR/ctl.err" >> "$DIAG"
  return 0
}

# ctl_bg NS ARGS…: start portlightctl in the background (for --keep)
ctl_bg () {
  local ns=$1
  shift
  ctl_args "$@"
  set -- "${CTL_ARGS[@]}"
  BG_ARGS="[$(ns_label "$ns")] portlightctl $*"
  ip netns exec "$ns" "$CTL" "$@" >"$LABDIR/bg.out" 2>"$LABDIR/bg.err" </dev/null &
  BG_PID=$!
  BG_T0=$(now_ms)
}

# ctl_bg_stop: SIGTERM, wait up to 10 s; sets RC, OUT, ERR, MS like ctl
ctl_bg_stop () {
  local i
  [ -n "${BG_PID:-}" ] || return 1
  kill -TERM "$BG_PID" 2>/dev/null
  for i in $(seq 100); do
    kill -0 "$BG_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$BG_PID" 2>/dev/null; then
    diag "FAIL: portlightctl --keep did not exit within 10 s of SIGTERM"
    kill -KILL "$BG_PID" 2>/dev/null
  fi
  wait "$BG_PID"
  RC=$?
  BG_PID=""
  MS=$(( $(now_ms) - BG_T0 ))
  OUT=$(cat "$LABDIR/bg.out")
  ERR=$(cat "$LABDIR/bg.err")
  diag "\$ $BG_ARGS (SIGTERM) -> exit $RC after $MS ms"
  [ -n "$OUT" ] && sed 's/^/    out: /' "$LABDIR/bg.out" >> "$DIAG"
  [ -n "$ERR" ] && sed 's/^/    err: /' "$LABDIR/bg.err" >> "$DIAG"
  return 0
}

want_rc () {
  [ "$RC" = "$1" ] && return 0
  diag "FAIL: expected exit $1, got $RC"
  return 1
}

json () { printf '%s' "$OUT" | "$PYTHON" "$LABTOOL" jget "$1" 2>>"$DIAG"; }

want_json () {   # KEY VALUE [EVENT]: in the last JSON line, or the first of EVENT
  local v
  v=$(printf '%s' "$OUT" | "$PYTHON" "$LABTOOL" jget "$1" "${3:-last}" 2>>"$DIAG") ||
    { diag "FAIL: no \"$1\" in the JSON output${3:+ (event $3)}"; return 1; }
  [ "$v" = "$2" ] && return 0
  diag "FAIL: \"$1\"${3:+ (event $3)} is $v, expected $2"
  return 1
}

want_map () {   # KEY VALUE: in the first mapping of a `map --json` object
  want_json "mappings.0.$1" "$2"
}

want_text () {   # EXTENDED-REGEX (case-insensitive, stdout and stderr)
  printf '%s\n%s\n' "$OUT" "$ERR" | grep -qiE -- "$1" && return 0
  diag "FAIL: output does not match /$1/"
  return 1
}

want_ms_below () {
  [ "$MS" -lt "$1" ] && return 0
  diag "FAIL: took $MS ms, expected less than $1 ms"
  return 1
}

want_rule () {
  has_rule "$@" && return 0
  diag "FAIL: no rule $1 eport $2 -> $3:$4 in the router"
  rules | sed 's/^/    nft: /' >> "$DIAG"
  return 1
}

want_no_rule () {
  has_rule "$@" || return 0
  diag "FAIL: rule $1 eport $2 -> $3:$4 still in the router"
  return 1
}

want_reaches () {   # tcp|udp PORT IDENT
  local got
  got=$(wan_probe "$1" "$2")
  case $got in
    "$3"|"$3:ping") return 0 ;;
  esac
  diag "FAIL: WAN $1 to $WAN_RTR:$2 got '${got:-nothing}', expected $3's listener"
  return 1
}

want_reaches_at () {   # HOST tcp|udp PORT IDENT
  local got
  got=$(wan_probe_to "$1" "$2" "$3")
  case $got in
    "$4"|"$4:ping") return 0 ;;
  esac
  diag "FAIL: WAN $2 to [$1]:$3 got '${got:-nothing}', expected $4's listener"
  return 1
}

want_closed_at () {   # HOST tcp|udp PORT: no listener reached (refused, unreachable or dropped)
  local got
  got=$(wan_probe_to "$1" "$2" "$3" 1)
  [ -z "$got" ] && return 0
  diag "FAIL: WAN $2 to [$1]:$3 still reaches '$got'"
  return 1
}

want_dropped_at () {   # HOST tcp|udp PORT: silently dropped (the probe times out)
  local got rc
  got=$(wan_probe_to "$1" "$2" "$3" 1)
  rc=$?
  [ "$rc" = 2 ] && return 0
  diag "FAIL: WAN $2 to [$1]:$3 was not dropped (probe exit $rc, '${got}'; 2 = timed out)"
  return 1
}

want_pinhole () {   # tcp|udp PORT ADDR6
  has_pinhole "$@" && return 0
  diag "FAIL: no IPv6 pinhole $1 [$3]:$2 in the router"
  in_ns "$NS_R" nft list chain inet "$TABLE" miniupnpd | sed 's/^/    nft: /' >> "$DIAG"
  return 1
}

want_no_pinhole () {   # tcp|udp PORT ADDR6
  has_pinhole "$@" || return 0
  diag "FAIL: IPv6 pinhole $1 [$3]:$2 still in the router"
  return 1
}

# pcp NS SRC SERVER map|announce ARGS…: labtool's raw PCP request from SRC (bound) to
# SERVER ("fe80::77:1%eth0" for the link-local one); the JSON reply in PCP_OUT. Status:
# 0 answered, 3 no answer, 4 refused (ICMP).
pcp () {
  local ns=$1 src=$2 server=$3 op=$4 rc
  shift 4
  PCP_OUT=$(in_ns "$ns" "$PYTHON" "$LABTOOL" "pcp-$op" "$src" "$server" "$@" 2>>"$DIAG")
  rc=$?
  diag "\$ [$(ns_label "$ns")] labtool pcp-$op $src -> $server $* -> exit $rc: $PCP_OUT"
  return $rc
}

# pcp_field KEY: a number or string of the last raw PCP reply (labtool prints flat JSON;
# read in the shell, a Python start per check costs 0.1 s)
pcp_field () {
  local re="\"$1\": (\"([^\"]*)\"|([0-9]+))"
  [[ $PCP_OUT =~ $re ]] || return 1
  echo "${BASH_REMATCH[2]}${BASH_REMATCH[3]}"
}

want_pcp () {   # KEY VALUE: in the last raw PCP reply
  local v
  v=$(pcp_field "$1")
  [ "$v" = "$2" ] && return 0
  diag "FAIL: PCP reply $1 is '$v', expected $2"
  return 1
}

want_closed () {   # tcp|udp PORT
  local got
  got=$(wan_probe "$1" "$2" 1)
  [ -z "$got" ] && return 0
  diag "FAIL: WAN $1 to $WAN_RTR:$2 still reaches '$got'"
  return 1
}

# ---------------------------------------------------------------------------
# Scenarios. Each returns 0 (pass), 1 (fail) or 77 (skip, reason in SKIP_REASON).

t_lab_selfcheck () {
  local reply
  # The lab itself, without the client: a raw NAT-PMP address request
  reply=$(in_ns "$NS_A" "$PYTHON" "$LABTOOL" pmp-address "$GW" 2 2>>"$DIAG") ||
    { diag "FAIL: miniupnpd does not answer a raw NAT-PMP request"; return 1; }
  diag "raw reply: $reply"
  OUT=$reply
  want_json result 0 && want_json public_address "$EXT_IP" || return 1
  # NAT is closed without a mapping: the WAN host cannot reach the LAN
  serve tcp "$NS_A" 40001 lan-a || return 1
  want_closed tcp 40001
}

# The lab's PCP and IPv6 side, without the client: raw PCP (labtool) over IPv4 and over
# IPv6 (bound to the ULA address, sent to the router's link-local address), real traffic
# from the WAN host through the mapping and the pinhole, and deletes.
t_lab_pcp () {
  local n4=4c61622050435034000000a1 n6=4c61622050435036000000a2 n6r=4c61622050435036000000a3
  serve tcp "$NS_A" 40910 lan-a && serve tcp "$NS_A" 40911 lan-a &&
    serve tcp "$NS_A" 40912 lan-a && serve udp "$NS_A" 40911 lan-a || return 1
  pcp "$NS_A" "$HOST_A" "$GW" announce && want_pcp version 2 && want_pcp result 0 || return 1
  pcp "$NS_A" "$HOST_A6" "$GW6_LL%eth0" announce && want_pcp version 2 && want_pcp result 0 ||
    return 1
  # IPv4 MAP, and a WAN host's connect to the public address
  want_closed_at "$EXT_IP" tcp 40910 || return 1
  pcp "$NS_A" "$HOST_A" "$GW" map tcp 40910 40910 600 "$n4" &&
    want_pcp result 0 && want_pcp external_address "$EXT_IP" && want_pcp external_port 40910 &&
    want_pcp lifetime 600 || return 1
  want_rule tcp 40910 "$HOST_A" 40910 && want_reaches_at "$EXT_IP" tcp 40910 lan-a || return 1
  # IPv6 pinhole: external address = the bound internal one; nothing else gets in
  want_dropped_at "$HOST_A6" tcp 40911 || return 1
  pcp "$NS_A" "$HOST_A6" "$GW6_LL%eth0" map tcp 40911 40911 600 "$n6" &&
    want_pcp result 0 && want_pcp client "$HOST_A6" && want_pcp external_address "$HOST_A6" &&
    want_pcp external_port 40911 || return 1
  want_pinhole tcp 40911 "$HOST_A6" && want_reaches_at "$HOST_A6" tcp 40911 lan-a || return 1
  want_dropped_at "$HOST_A6" tcp 40912 && want_dropped_at "$HOST_A6" udp 40911 || return 1
  # LAN hosts still reach each other over IPv6 (the bridge, br_netfilter or not)
  in_ns "$NS_B" "$PYTHON" "$LABTOOL" tcp-probe "$HOST_A6" 40912 2 >/dev/null 2>>"$DIAG" ||
    { diag "FAIL: host b cannot reach [$HOST_A6]:40912 on the LAN"; return 1; }
  # delete (lifetime 0, same nonce) closes the IPv4 mapping and the never-renewed pinhole
  pcp "$NS_A" "$HOST_A" "$GW" map tcp 40910 40910 0 "$n4" && want_pcp result 0 || return 1
  want_no_rule tcp 40910 "$HOST_A" 40910 && want_closed_at "$EXT_IP" tcp 40910 || return 1
  pcp "$NS_A" "$HOST_A6" "$GW6_LL%eth0" map tcp 40911 40911 0 "$n6" && want_pcp result 0 ||
    return 1
  want_no_pinhole tcp 40911 "$HOST_A6" && want_dropped_at "$HOST_A6" tcp 40911 || return 1
  # 2.3.1 (fixed in 2.3.6): a pinhole renewed once cannot be deleted any more. Shown, not
  # asserted: the CLI scenarios must cope with it.
  pcp "$NS_A" "$HOST_A6" "$GW6_LL%eth0" map udp 40911 40911 600 "$n6r" &&
    pcp "$NS_A" "$HOST_A6" "$GW6_LL%eth0" map udp 40911 40911 600 "$n6r" &&
    pcp "$NS_A" "$HOST_A6" "$GW6_LL%eth0" map udp 40911 40911 0 "$n6r" || return 1
  echo "# lab: delete of a renewed IPv6 pinhole: result $(pcp_field result) (2 = NOT_AUTHORIZED), pinhole" \
    "$(has_pinhole udp 40911 "$HOST_A6" && echo left || echo removed)"
}

# The PCP fault rules: dropped, PCP times out; rejected, PCP is refused at once; NAT-PMP
# is answered in both cases, over IPv4. Epoch-kept restart: the epoch does not go back.
t_lab_pcp_faults () {
  local e1
  pcp_drop || return 1
  pcp "$NS_A" "$HOST_A" "$GW" announce 1
  [ $? = 3 ] || { diag "FAIL: PCP over IPv4 answered despite pcp_drop"; return 1; }
  pcp "$NS_A" "$HOST_A6" "$GW6_LL%eth0" announce 1
  [ $? = 3 ] || { diag "FAIL: PCP over IPv6 answered despite pcp_drop"; return 1; }
  in_ns "$NS_A" "$PYTHON" "$LABTOOL" pmp-address "$GW" 2 >>"$DIAG" 2>&1 ||
    { diag "FAIL: NAT-PMP not answered with pcp_drop"; return 1; }
  [ "$(pmp_count pcp_in)" = 2 ] && [ "$(pmp_count natpmp_in)" = 1 ] ||
    { diag "FAIL: counters pcp_in $(pmp_count pcp_in), natpmp_in $(pmp_count natpmp_in); expected 2, 1"; return 1; }
  rtr_flush_faults && pcp_reject || return 1
  pcp "$NS_A" "$HOST_A" "$GW" announce 1
  [ $? = 4 ] || { diag "FAIL: PCP over IPv4 not refused with pcp_reject"; return 1; }
  pcp "$NS_A" "$HOST_A6" "$GW6_LL%eth0" announce 1
  [ $? = 4 ] || { diag "FAIL: PCP over IPv6 not refused with pcp_reject"; return 1; }
  in_ns "$NS_A" "$PYTHON" "$LABTOOL" pmp-address "$GW" 2 >>"$DIAG" 2>&1 ||
    { diag "FAIL: NAT-PMP not answered with pcp_reject"; return 1; }
  rtr_flush_faults || return 1
  pcp "$NS_A" "$HOST_A" "$GW" map tcp 40920 40920 600 4c6162205043503400000b01 &&
    want_pcp result 0 || return 1
  e1=$(pcp_field epoch)
  rtr_restart yes || return 1
  want_no_rule tcp 40920 "$HOST_A" 40920 || return 1
  pcp "$NS_A" "$HOST_A" "$GW" announce || return 1
  diag "epoch $e1 before the restart (system_uptime=yes), $(pcp_field epoch) after"
  [ "$(pcp_field epoch)" -ge "$e1" ] ||
    { diag "FAIL: the epoch went back over an epoch-kept restart"; return 1; }
}

# M-01: address probe; default gateway; epoch = daemon uptime (system_uptime=no)
t_address () {
  local epoch up before
  sleep 2
  before=$(pmp_count)
  ctl "$NS_A" address --json
  want_rc 0 && want_json public_address "$EXT_IP" && want_json gateway "$GW" || return 1
  epoch=$(json epoch) || return 1
  up=$(( ($(now_ms) - MU_T0) / 1000 ))
  diag "epoch $epoch, daemon up ${up} s"
  if [ "$epoch" -lt $((up - 2)) ] || [ "$epoch" -gt $((up + 2)) ]; then
    diag "FAIL: epoch $epoch is not the daemon uptime ($up s ±2)"
    return 1
  fi
  ctl "$NS_A" address -g "$GW"
  want_rc 0 && want_text "$EXT_IP" || return 1
  [ "$(( $(pmp_count) - before ))" = 2 ] ||
    { diag "FAIL: $(( $(pmp_count) - before )) requests for 2 answered probes"; return 1; }
}

t_map_tcp () {
  serve tcp "$NS_A" 40080 lan-a || return 1
  want_closed tcp 40080 || return 1
  ctl "$NS_A" map -t -l 120 --json 40080 40080
  want_rc 0 && want_json public_address "$EXT_IP" && want_map protocol tcp &&
    want_map private_port 40080 && want_map public_port 40080 && want_map lifetime 120 || return 1
  want_rule tcp 40080 "$HOST_A" 40080 && want_reaches tcp 40080 lan-a
}

t_map_udp () {
  serve udp "$NS_A" 40090 lan-a || return 1
  want_closed udp 40090 || return 1
  ctl "$NS_A" map -u -l 120 --json 40090 40090
  want_rc 0 && want_map protocol udp && want_map private_port 40090 &&
    want_map public_port 40090 && want_map lifetime 120 || return 1
  want_rule udp 40090 "$HOST_A" 40090 && want_reaches udp 40090 lan-a
}

# Any public port (suggested port 0): miniupnpd 2.3.1 gives the internal port
# (tests/lab/MINIUPNPD.md; protocol.md section 5.3), over the default protocol and NAT-PMP
t_map_any () {
  serve tcp "$NS_A" 40095 lan-a && serve udp "$NS_A" 40096 lan-a || return 1
  ctl "$NS_A" map -t -l 120 --json any 40095
  want_rc 0 && want_map protocol tcp && want_map private_port 40095 &&
    want_map public_port 40095 && want_map requested_public_port 0 || return 1
  want_rule tcp 40095 "$HOST_A" 40095 && want_reaches tcp 40095 lan-a || return 1
  ctl "$NS_A" map --protocol natpmp -u -l 120 0 40096
  want_rc 0 && want_text "Public port 40096 was chosen by the router" || return 1
  want_rule udp 40096 "$HOST_A" 40096 && want_reaches udp 40096 lan-a
}

# M-06 (NAT-PMP part): delete; delete of nothing succeeds; protocols are separate
t_unmap () {
  serve tcp "$NS_A" 40100 lan-a || return 1
  ctl "$NS_A" map -t 40100 40100
  want_rc 0 && want_reaches tcp 40100 lan-a || return 1
  ctl "$NS_A" unmap -t 40100
  want_rc 0 && want_no_rule tcp 40100 "$HOST_A" 40100 && want_closed tcp 40100 || return 1
  ctl "$NS_A" unmap -t 40100
  want_rc 0 || return 1
  # UDP and TCP on the same port: unmapping UDP leaves TCP alone
  ctl "$NS_A" map -t 40102 40102 && want_rc 0 || return 1
  ctl "$NS_A" map -u 40102 40102 && want_rc 0 || return 1
  ctl "$NS_A" unmap -u 40102
  want_rc 0 && want_no_rule udp 40102 "$HOST_A" 40102 && want_rule tcp 40102 "$HOST_A" 40102
}

t_unmap_all () {
  ctl "$NS_A" map -t 40110 40110 && want_rc 0 || return 1
  ctl "$NS_A" map -u 40111 40111 && want_rc 0 || return 1
  ctl "$NS_A" map -t 40112 40112 && want_rc 0 || return 1
  ctl "$NS_B" map -t 40120 40120 && want_rc 0 || return 1
  ctl "$NS_A" unmap --all
  want_rc 0 || return 1
  if [ "$(count_rules "to $HOST_A:")" != 0 ]; then
    diag "FAIL: rules of $HOST_A left after unmap --all"
    rules | sed 's/^/    nft: /' >> "$DIAG"
    return 1
  fi
  # only the asking host's mappings go
  want_rule tcp 40120 "$HOST_B" 40120
}

# M-03: NAT-PMP lifetimes are not clamped; without renewal the rule expires
t_lifetime () {
  local t0 i gone=""
  ctl "$NS_A" map -u -l 60 --json 41000 41000
  want_rc 0 && want_map lifetime 60 || return 1
  ctl "$NS_A" map -t -l 3 --json 41001 41001
  want_rc 0 && want_map lifetime 3 && want_rule tcp 41001 "$HOST_A" 41001 || return 1
  t0=$(now_ms)
  for i in $(seq 40); do
    has_rule tcp 41001 "$HOST_A" 41001 || { gone=$(( $(now_ms) - t0 )); break; }
    sleep 0.25
  done
  [ -n "$gone" ] || { diag "FAIL: the 3 s mapping was still there after 10 s"; return 1; }
  diag "the 3 s mapping disappeared after $gone ms"
  want_rule udp 41000 "$HOST_A" 41000
}

# M-04: two LAN hosts ask for the same public port
t_two_hosts () {
  serve tcp "$NS_A" 5000 lan-a && serve tcp "$NS_B" 5000 lan-b || return 1
  ctl "$NS_A" map -t --json 5000 5000
  want_rc 0 && want_map public_port 5000 || return 1
  ctl "$NS_B" map -t 5000 5000
  want_rc 0 || return 1
  # the client says that it got another port than the one it asked for
  want_text '5001.*5000' || return 1
  ctl "$NS_B" map -t --json 5000 5000
  want_rc 0 && want_map public_port 5001 && want_map requested_public_port 5000 || return 1
  # renewal with the port it was given keeps it, and adds no second rule
  ctl "$NS_B" map -t --json 5001 5000
  want_rc 0 && want_map public_port 5001 || return 1
  [ "$(count_rules "to $HOST_B:5000")" = 1 ] ||
    { diag "FAIL: $(count_rules "to $HOST_B:5000") rules for $HOST_B:5000"; return 1; }
  ctl "$NS_A" map -t --json 5000 5000
  want_rc 0 && want_map public_port 5000 || return 1
  want_reaches tcp 5000 lan-a && want_reaches tcp 5001 lan-b
}

# M-04 with --keep: B's renewals suggest the port it was given (5001) and keep it
t_keep_two_hosts () {
  ctl "$NS_A" map -t --json 5000 5000
  want_rc 0 && want_map public_port 5000 || return 1
  ctl_bg "$NS_B" map -t --keep --json -l 2 5000 5000 || return 1
  sleep 3.5
  ctl_bg_stop || return 1
  want_rc 0 || return 1
  want_json mappings.0.public_port 5001 mapped &&
    want_json mappings.0.public_port 5001 renewed &&
    want_json mappings.0.requested_public_port 5001 renewed &&
    want_json event unmapped || return 1
  [ "$(count_rules "to $HOST_B:")" = 0 ] ||
    { diag "FAIL: B's mapping left behind after SIGTERM"; return 1; }
  want_rule tcp 5000 "$HOST_A" 5000
}

# M-05: permission rules forbid the internal port: result 2, exit 1, no retries
t_forbidden () {
  local before port n
  before=$(pmp_count)
  ctl "$NS_A" map -t 80 80
  want_rc 1 && want_ms_below 3000 || return 1
  want_text 'not authori|refused|forbidden|policy|permission' || return 1
  # One address request, then the map request. miniupnpd tries all 65535 public
  # ports before it answers (about 0.4 s here, 2 s on a loaded machine), so the map
  # request may be sent again on RFC 6886's schedule (0, 0.25, 0.75, 1.75 s…) until the
  # answer: at most one send per step that fell within the command's time; nothing may
  # follow the error answer.
  n=$(( $(pmp_count) - before ))
  local sends=0 at
  for at in 0 250 750 1750 3750; do [ "$at" -lt "$MS" ] && sends=$((sends + 1)); done
  diag "$n requests reached the router (at most $((1 + sends)) in $MS ms)"
  [ "$n" -ge 2 ] && [ "$n" -le $((1 + sends)) ] ||
    { diag "FAIL: $n requests for one refused map (expected 2 to $((1 + sends)))"; return 1; }
  sleep 1
  [ "$(( $(pmp_count) - before ))" = "$n" ] ||
    { diag "FAIL: requests went on after the client had its answer"; return 1; }
  ctl "$NS_A" map -t --json 80 80
  want_rc 1 && want_json error.code not-authorized || return 1
  # A forbidden *public* port is not an error: miniupnpd moves on to the first
  # permitted one (1024) and the client must report the port it got.
  ctl "$NS_A" map -t --json 80 40130
  want_rc 0 || return 1
  port=$(json mappings.0.public_port) || return 1
  [ "$port" != 80 ] || { diag "FAIL: public port 80 reported"; return 1; }
  want_rule tcp "$port" "$HOST_A" 40130
}

# A router that drops every request: "No answer … after N attempts" within --timeout
t_no_answer () {
  local before n
  add_fault in udp dport 5351 drop || return 1
  before=$(pmp_count)
  ctl "$NS_A" address -g "$GW" --timeout 4
  want_rc 3 && want_ms_below 4700 || return 1
  want_text "No answer from $GW after [0-9]+ attempts" || return 1
  n=$(printf '%s\n%s\n' "$OUT" "$ERR" | grep -oiE 'after [0-9]+ attempts' | grep -oE '[0-9]+' | head -1)
  if [ "$n" != "$(( $(pmp_count) - before ))" ]; then
    diag "FAIL: the client says $n attempts, the router saw $(( $(pmp_count) - before ))"
    return 1
  fi
  ctl "$NS_A" map -t --timeout 2 40140 40140
  want_rc 3 && want_ms_below 2700
}

# A gateway address with no NAT-PMP service: ICMP port unreachable -> refused, fast
t_refused () {
  ctl "$NS_A" address -g "$WAN_RTR"
  want_rc 4 && want_text refused && want_ms_below 1000 || return 1
  ctl "$NS_A" address -g "$HOST_B"
  want_rc 4 && want_text refused && want_ms_below 1000 || return 1
  ctl "$NS_A" map -t -g "$WAN_RTR" 40150 40150
  want_rc 4 && want_ms_below 1000
}

# M-10: a client outside listening_ip is ignored: "no answer", not "refused"
t_outside_lan () {
  local before
  before=$(pmp_count)
  ctl "$NS_W" address -g "$GW" --timeout 3
  want_rc 3 && want_text 'no answer' || return 1
  [ "$(( $(pmp_count) - before ))" -ge 1 ] ||
    { diag "FAIL: the requests did not reach the router (lab broken)"; return 1; }
}

# M-07a: restart with system_uptime=no resets the epoch
t_restart_epoch () {
  local e1 e2
  sleep 3
  ctl "$NS_A" address --json
  want_rc 0 || return 1
  e1=$(json epoch) || return 1
  ctl "$NS_A" map -t --json 40160 40160
  want_rc 0 && want_map public_port 40160 || return 1
  rtr_stop
  rtr_start no || return 1
  ctl "$NS_A" address --json
  want_rc 0 || return 1
  e2=$(json epoch) || return 1
  diag "epoch before restart $e1, after $e2"
  [ "$e1" -ge 2 ] && [ "$e2" -lt "$e1" ] && [ "$e2" -le 1 ] ||
    { diag "FAIL: the epoch did not reset ($e1 -> $e2)"; return 1; }
  if has_rule tcp 40160 "$HOST_A" 40160; then
    diag "note: the rule survived the restart (miniupnpd does not remove its rules on SIGTERM)"
  fi
  # re-creating after the reset gets the same port, and one rule only
  ctl "$NS_A" map -t --json 40160 40160
  want_rc 0 && want_map public_port 40160 || return 1
  [ "$(count_rules "th dport 40160 ")" = 1 ] ||
    { diag "FAIL: $(count_rules "th dport 40160 ") rules for port 40160"; return 1; }
}

# M-07b: restart with system_uptime=yes keeps the epoch (it is the system uptime)
t_restart_uptime () {
  local e1 e2 up
  ctl "$NS_A" address --json
  want_rc 0 || return 1
  e1=$(json epoch) || return 1
  up=$(cut -d. -f1 /proc/uptime)
  diag "epoch $e1, /proc/uptime $up"
  if [ "$e1" -lt $((up - 2)) ] || [ "$e1" -gt $((up + 2)) ]; then
    diag "FAIL: epoch $e1 is not the system uptime ($up s ±2)"
    return 1
  fi
  rtr_stop
  rtr_start yes || return 1
  ctl "$NS_A" address --json
  want_rc 0 || return 1
  e2=$(json epoch) || return 1
  diag "epoch after restart $e2"
  [ "$e2" -ge "$e1" ] || { diag "FAIL: the epoch went back ($e1 -> $e2)"; return 1; }
}

# M-07 with --keep: the router restarts and loses its rules (as Debian's init does
# with nft_flush.sh); the next renewal re-creates the mapping on the same port, and
# SIGTERM removes it.
t_keep_restart () {
  local i back=""
  serve tcp "$NS_A" 40190 lan-a || return 1
  ctl_bg "$NS_A" map -t --keep --json -l 4 40190 40190 || return 1
  for i in $(seq 40); do
    has_rule tcp 40190 "$HOST_A" 40190 && break
    sleep 0.1
  done
  want_rule tcp 40190 "$HOST_A" 40190 || { ctl_bg_stop; return 1; }
  rtr_stop
  rtr_flush
  rtr_start no || { ctl_bg_stop; return 1; }
  for i in $(seq 60); do
    has_rule tcp 40190 "$HOST_A" 40190 && { back=$(( i * 100 )); break; }
    sleep 0.1
  done
  [ -n "$back" ] && diag "the rule was back ${back} ms after the restart"
  want_reaches tcp 40190 lan-a
  local reached=$?
  ctl_bg_stop || return 1
  [ -n "$back" ] || { diag "FAIL: the mapping was not re-created within 6 s"; return 1; }
  [ "$reached" = 0 ] || return 1
  want_rc 0 && want_json event unmapped || return 1
  want_no_rule tcp 40190 "$HOST_A" 40190
}

# listen_5350 NS SECONDS: start collecting announcements (result in $LABDIR/ann)
listen_5350 () {
  rm -f "$LABDIR/ann.ready" "$LABDIR/ann"
  ip netns exec "$1" "$PYTHON" "$LABTOOL" listen-5350 "$2" "$LABDIR/ann.ready" </dev/null >"$LABDIR/ann" 2>>"$DIAG" &
  ANN_PID=$!
  wait_file "$LABDIR/ann.ready" 60 || { diag "announcement listener did not start"; return 1; }
}

# M-08 (router side): SIGUSR1 -> one 12-byte NAT-PMP announcement with the old
# epoch, one 24-byte PCP ANNOUNCE; afterwards the epoch is about 0
t_announce_sigusr1 () {
  local nat pcp old now
  sleep 4
  listen_5350 "$NS_A" 1 || return 1
  kill -USR1 "$MU_PID"
  wait "$ANN_PID"
  sed 's/^/    5350: /' "$LABDIR/ann" >> "$DIAG"
  nat=$(grep -c "^$GW 12 00800000" "$LABDIR/ann")
  pcp=$(grep -c "^$GW 24 0280" "$LABDIR/ann")
  [ "$nat" = 1 ] && [ "$pcp" = 1 ] ||
    { diag "FAIL: $nat NAT-PMP and $pcp PCP announcements (expected 1 and 1)"; return 1; }
  grep -q "^$GW 12 00800000........54110203\$" "$LABDIR/ann" ||
    { diag "FAIL: the announcement does not carry $EXT_IP"; return 1; }
  old=$(( 16#$(awk '$2 == 12 { print substr($3, 9, 8) }' "$LABDIR/ann") ))
  [ "$old" -ge 3 ] || { diag "FAIL: the announcement carries epoch $old, expected the old one (about 4)"; return 1; }
  ctl "$NS_A" address --json
  want_rc 0 && want_json public_address "$EXT_IP" || return 1
  now=$(json epoch)
  [ "$now" -lt "$old" ] && [ "$now" -le 2 ] ||
    { diag "FAIL: the epoch did not reset after SIGUSR1 ($old -> $now)"; return 1; }
}

# M-09 (router side): a starting miniupnpd sends exactly one 24-byte PCP ANNOUNCE
t_announce_start () {
  listen_5350 "$NS_A" 1.5 || return 1
  rtr_stop
  rtr_start no || return 1
  wait "$ANN_PID"
  sed 's/^/    5350: /' "$LABDIR/ann" >> "$DIAG"
  [ "$(wc -l < "$LABDIR/ann")" = 1 ] && grep -q "^$GW 24 0280" "$LABDIR/ann" ||
    { diag "FAIL: expected exactly one 24-byte PCP ANNOUNCE"; return 1; }
  # the client copes with a router that has just announced itself
  ctl "$NS_A" address --json
  want_rc 0 && want_json public_address "$EXT_IP"
}

# M-11: private WAN address and no ext_ip: result 3 for address and map
t_private_wan () {
  local before
  before=$(pmp_count)
  ctl "$NS_A" address
  want_rc 1 && want_ms_below 2000 || return 1
  want_text 'network|public address|double' || return 1
  ctl "$NS_A" address --json
  want_rc 1 && want_json error.code network-failure || return 1
  ctl "$NS_A" map -t 40170 40170
  want_rc 1 && want_ms_below 2000 || return 1
  # three answered requests (map stops at its address request), no retries
  [ "$(( $(pmp_count) - before ))" = 3 ] ||
    { diag "FAIL: $(( $(pmp_count) - before )) requests for three answered ones"; return 1; }
}

rtr_flush_faults () {
  in_ns "$NS_R" nft flush chain inet "$TABLE" faults_in &&
  in_ns "$NS_R" nft flush chain inet "$TABLE" faults_out
}

# Retransmission, deterministic: the first map request is lost, then the first map
# reply. nft quota: the first 40/44-byte packet fits under the quota and is dropped,
# the second goes over it and passes. `map` asks for the address first (1 request).
t_lost_once () {
  local before
  add_fault in udp dport 5351 udp length 20 quota until 41 bytes drop || return 1
  before=$(pmp_count)
  ctl "$NS_A" map -t --json --timeout 10 40180 40180
  want_rc 0 && want_map public_port 40180 || return 1
  [ "$(( $(pmp_count) - before ))" = 3 ] ||
    { diag "FAIL: $(( $(pmp_count) - before )) requests, expected 3 (one map request lost)"; return 1; }
  rtr_flush_faults || return 1
  add_fault out udp sport 5351 udp length 24 quota until 45 bytes drop || return 1
  before=$(pmp_count)
  ctl "$NS_A" map -u --json --timeout 10 40181 40181
  want_rc 0 && want_map public_port 40181 || return 1
  [ "$(( $(pmp_count) - before ))" = 3 ] ||
    { diag "FAIL: $(( $(pmp_count) - before )) requests, expected 3 (one map reply lost)"; return 1; }
  # the resend counted as a renewal: still one rule
  [ "$(count_rules "th dport 40181 ")" = 1 ] ||
    { diag "FAIL: $(count_rules "th dport 40181 ") rules for port 40181"; return 1; }
}

# 30 % of the requests lost at the router: mapping still works by retransmission
t_loss () {
  local i before ops=0
  add_fault in udp dport 5351 numgen random mod 100 '<' 30 drop || return 1
  before=$(pmp_count)
  # 13 requests; each is lost for good only after 8 sends (p = 0.3^8)
  for i in $(seq 0 5); do
    ctl "$NS_A" map -u -l 120 --json --timeout 40 $((41100 + i)) $((41100 + i))
    ops=$((ops + 1))
    want_rc 0 && want_map public_port $((41100 + i)) || return 1
  done
  ctl "$NS_A" address --json --timeout 40
  ops=$((ops + 1))
  want_rc 0 && want_json public_address "$EXT_IP" || return 1
  diag "$(( $(pmp_count) - before )) requests reached the router for $ops operations"
}

# ---------------------------------------------------------------------------
# Runner: one TAP line per scenario

TAP_N=0
TAP_FAILED=0

scenario () {   # NAME FUNCTION [lab_reset args…]
  local name=$1 fn=$2 rc t0 mark
  shift 2
  if [ -n "${LAB_ONLY:-}" ] && ! [[ $name =~ $LAB_ONLY ]]; then
    return
  fi
  TAP_N=$((TAP_N + 1))
  # a whole group switched off (SCENARIO_SKIP set): no reset, no run
  if [ -n "${SCENARIO_SKIP:-}" ]; then
    echo "ok $TAP_N - $name # SKIP $SCENARIO_SKIP"
    return
  fi
  DIAG="$LABDIR/diag.$TAP_N"
  : > "$DIAG"
  t0=$(now_ms)
  if lab_reset "$@"; then
    mark=$(wc -l < "$LABDIR/syslog.log")
    SKIP_REASON=""
    "$fn"
    rc=$?
  else
    mark=0
    diag "lab reset failed"
    rc=1
  fi
  t0=$(( $(now_ms) - t0 ))
  case $rc in
    0) echo "ok $TAP_N - $name ($((t0 / 1000)).$(( (t0 % 1000) / 100 )) s)" ;;
    77) echo "ok $TAP_N - $name # SKIP $SKIP_REASON" ;;
    *)
      TAP_FAILED=$((TAP_FAILED + 1))
      echo "not ok $TAP_N - $name"
      sed 's/^/# /' "$DIAG"
      echo "# miniupnpd log during the scenario:"
      tail -n +"$((mark + 1))" "$LABDIR/syslog.log" | tail -n 25 | sed 's/^/#   /'
      ;;
  esac
  [ "${LAB_VERBOSE:-0}" = 1 ] && [ "$rc" = 0 ] && sed 's/^/# /' "$DIAG"
  DIAG=/dev/null
}

T_START=$(now_ms)
if ! lab_build; then
  echo "Bail out! could not build the lab (see above)"
  exit 1
fi
rtr_start no || { echo "Bail out! miniupnpd does not start: $(tail -5 "$LABDIR/syslog.log")"; exit 1; }

if [ "$SHELL_MODE" = 1 ]; then
  echo "lab: router $NS_R (miniupnpd pid $MU_PID), LAN hosts $NS_A ($HOST_A) $NS_B ($HOST_B), WAN $NS_W ($WAN_HOST)"
  echo "lab: files in $LABDIR; try: ip netns exec $NS_A $CTL address"
  NS_R=$NS_R NS_A=$NS_A NS_B=$NS_B NS_W=$NS_W LABDIR=$LABDIR PORTLIGHTCTL=$CTL bash -i
  exit 0
fi

if [ -n "$BENCH_SCRIPT" ]; then
  # shellcheck source=/dev/null
  . "$BENCH_SCRIPT"
  exit $?
fi

echo "# lab $PREFIX: miniupnpd $(miniupnpd --version 2>&1 | head -1 | awk '{print $2}'), client $CTL"
echo "# build: $(( $(now_ms) - T_START )) ms"

scenario "lab self-check (raw NAT-PMP, NAT closed)" t_lab_selfcheck
scenario "lab self-check PCP: raw MAP over IPv4 and IPv6 (pinhole), WAN traffic, deletes" t_lab_pcp
scenario "lab self-check PCP faults: dropped, rejected; epoch-kept restart" t_lab_pcp_faults yes
scenario "M-01 address: public address, default gateway, epoch = daemon uptime" t_address
scenario "map TCP, a WAN host connects through" t_map_tcp
scenario "map UDP, a WAN host sends through" t_map_udp
scenario "M-06 unmap closes the port; unmap of nothing succeeds; per protocol" t_unmap
scenario "unmap --all removes only this host's mappings" t_unmap_all
scenario "M-03 lifetime not clamped; unrenewed mapping expires" t_lifetime
scenario "map any (and map 0): the router chooses; miniupnpd gives the private port" t_map_any
scenario "M-04 second LAN host gets port+1 and says so" t_two_hosts
scenario "M-04 --keep: the second host renews port+1, SIGTERM removes it" t_keep_two_hosts
scenario "M-05 forbidden port: router error, exit 1, no retry after it" t_forbidden
scenario "router drops all requests: no answer within --timeout, exit 3" t_no_answer
scenario "no NAT-PMP service at the gateway: refused fast, exit 4" t_refused
scenario "M-10 client outside the LAN is ignored: no answer, exit 3" t_outside_lan
scenario "M-07a restart with system_uptime=no resets the epoch" t_restart_epoch no
scenario "M-07b restart with system_uptime=yes keeps the epoch" t_restart_uptime yes
scenario "M-07 --keep: rules lost in a restart come back at the next renewal" t_keep_restart
scenario "M-08 SIGUSR1: announcements, epoch reset" t_announce_sigusr1
scenario "M-09 start: exactly one PCP ANNOUNCE" t_announce_start
scenario "M-11 private WAN without ext_ip: result 3, exit 1" t_private_wan no none
scenario "first request lost, then first reply lost: retransmission" t_lost_once
scenario "30% request loss still maps" t_loss

# `portlightctl run` (the session engine) and interoperability: scenarios-session.sh
# shellcheck source-path=SCRIPTDIR source=scenarios-session.sh
. "$LAB_SRC/scenarios-session.sh"
scenario "run: TCP+UDP profiles mapped, a WAN host gets through, JSON events" t_run_basic
scenario "run: router reboot (epoch reset): 20 forwardings back < 1 s, one reset event" t_run_reboot
scenario "run: restart keeping the epoch, rules flushed: all back < 1 s of its ANNOUNCE" t_run_restart_uptime yes
scenario "run: profile file edited while running (add, disable, enable, remove)" t_run_edit
scenario "run: SIGTERM removes every mapping < 2 s, exit 0; --keep-mappings keeps them" t_run_sigterm
scenario "run: forbidden port reported failed (refused), no retry storm" t_run_forbidden
scenario "interop: upnpc -l lists a portlightctl mapping, natpmpc agrees on the address" t_run_interop

# PCP (RFC 6887) with NAT-PMP fallback and IPv6 pinholes: scenarios-pcp.sh
# shellcheck source-path=SCRIPTDIR source=scenarios-pcp.sh
. "$LAB_SRC/scenarios-pcp.sh"
pcp_scenarios

# A router with UPnP-IGD only (IPv4): scenarios-upnp.sh
# shellcheck source-path=SCRIPTDIR source=scenarios-upnp.sh
. "$LAB_SRC/scenarios-upnp.sh"
upnp_scenarios

# The engine on a session bus, serving another program's lease: scenarios-broker.sh
# shellcheck source-path=SCRIPTDIR source=scenarios-broker.sh
. "$LAB_SRC/scenarios-broker.sh"
broker_scenarios

# Profiles tied to an application (App=): scenarios-apps.sh
# shellcheck source-path=SCRIPTDIR source=scenarios-apps.sh
. "$LAB_SRC/scenarios-apps.sh"
apps_scenarios

# A VPN-style gateway behind a tunnel beside the home router (Gateway=): scenarios-tunnel.sh
# shellcheck source-path=SCRIPTDIR source=scenarios-tunnel.sh
. "$LAB_SRC/scenarios-tunnel.sh"
tunnel_scenarios
# Profiles limited to one network (Network=): scenarios-network.sh
# shellcheck source-path=SCRIPTDIR source=scenarios-network.sh
. "$LAB_SRC/scenarios-network.sh"
network_scenarios

listeners_stop
rtr_stop
echo "# total: $(( ($(now_ms) - T_START) / 1000 )) s"
echo "1..$TAP_N"
[ "$TAP_FAILED" = 0 ]
