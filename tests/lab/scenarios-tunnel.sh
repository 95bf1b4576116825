# scenarios-tunnel.sh: a VPN-style gateway behind a tunnel beside the home router
# (Gateway=, several gateways at once), against two real miniupnpd
#
# Copyright 2026 The Portlight authors
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Sourced by lab.sh after scenarios-session.sh (run_start, run_stop, run_log, jsel) and by
# tests/bench/bench-tunnel.sh. The tunnel stands in for WireGuard the way ProtonVPN sets it
# up: a link without ARP, /32 addresses on both ends (10.2.0.2 here, 10.2.0.1 at the VPN
# server), and a default route without a gateway (`default dev wg-lab`), with a lower metric
# than the home router's. The link is a veth pair whose two ends share one MAC address, so
# that frames sent without ARP (to the device's own address) are taken by the other end.
# At the far end, in a namespace of its own, a second miniupnpd answers NAT-PMP on 10.2.0.1
# (a VPN server grants its ports on its own public address, 185.159.157.20 here).
#
#   a  eth0 192.168.77.2 ── home router 192.168.77.1 (miniupnpd, lab.sh)
#      wg-lab 10.2.0.2/32 ══ tun0 10.2.0.1/32  vpn (miniupnpd, ext_ip 185.159.157.20)
#
# The tunnel is up only while a scenario needs it; host a's home default route gets metric
# 100 meanwhile (as NetworkManager gives it) and is put back as lab.sh made it.

# shellcheck shell=bash
# "check && check || fail" is the idiom of the scenarios
# shellcheck disable=SC2015
# SKIP_REASON is read by lab.sh's runner; NS_A, GW, TABLE … are lab.sh's
# shellcheck disable=SC2153
# shellcheck disable=SC2034

NS_V=$PREFIX-vpn
VPN_GW=10.2.0.1
VPN_LOCAL=10.2.0.2
VPN_EXT_IP=185.159.157.20
VPN_MAC=02:00:0a:02:00:01
VPN_MU_PID=""
VPN_BUILT=0

vpn_nft () {
  in_ns "$NS_V" nft -f - <<EOF
table inet $TABLE {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    jump miniupnpd
  }
  chain miniupnpd {
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    jump prerouting_miniupnpd
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    jump postrouting_miniupnpd
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
}
EOF
}

# tunnel_build: the VPN server's namespace, its miniupnpd and the link (down): once per lab
tunnel_build () {
  [ "$VPN_BUILT" = 1 ] && return 0
  ip netns add "$NS_V" &&
  ip -n "$NS_V" link set lo up &&
  ip -n "$NS_A" link add wg-lab type veth peer name tun0 netns "$NS_V" &&
  ip -n "$NS_A" link set wg-lab address "$VPN_MAC" arp off &&
  ip -n "$NS_V" link set tun0 address "$VPN_MAC" arp off &&
  ip -n "$NS_A" addr add "$VPN_LOCAL/32" dev wg-lab &&
  ip -n "$NS_V" addr add "$VPN_GW/32" dev tun0 &&
  ip -n "$NS_V" link set tun0 up &&
  ip -n "$NS_V" route add "$VPN_LOCAL/32" dev tun0 &&
  # the VPN server's own way out (its "Internet" side), where its ext_ip is
  ip -n "$NS_V" link add vwan0 type veth peer name vwan1 &&
  ip -n "$NS_V" addr add 10.99.0.1/24 dev vwan0 &&
  ip -n "$NS_V" link set vwan0 up &&
  ip -n "$NS_V" link set vwan1 up &&
  vpn_nft || { diag "could not build the VPN namespace"; return 1; }
  cat > "$LABDIR/vpn-miniupnpd.conf" <<EOF
ext_ifname=vwan0
ext_ip=$VPN_EXT_IP
# an address with a mask: the tunnel's /32 alone would refuse its peer
listening_ip=$VPN_GW/24
enable_natpmp=yes
enable_upnp=no
system_uptime=no
upnp_table_name=$TABLE
upnp_nat_table_name=$TABLE
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
allow 1024-65535 10.2.0.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
EOF
  VPN_BUILT=1
}

vpn_rtr_start () {
  local i
  ip netns exec "$NS_V" miniupnpd -d -f "$LABDIR/vpn-miniupnpd.conf" \
    -P "$LABDIR/vpn-miniupnpd.pid" </dev/null >>"$LABDIR/vpn-router.out" 2>&1 &
  VPN_MU_PID=$!
  for i in $(seq 100); do
    in_ns "$NS_V" ss -Hlun "sport = 5351" 2>/dev/null | grep -q "$VPN_GW:5351" && return 0
    sleep 0.03
  done
  diag "the VPN's miniupnpd did not start listening on $VPN_GW"
  return 1
}

vpn_rtr_stop () {
  [ -n "$VPN_MU_PID" ] || return 0
  kill -TERM "$VPN_MU_PID" 2>/dev/null
  wait "$VPN_MU_PID" 2>/dev/null
  VPN_MU_PID=""
  in_ns "$NS_V" nft flush chain inet "$TABLE" prerouting_miniupnpd
  in_ns "$NS_V" nft flush chain inet "$TABLE" postrouting_miniupnpd
  in_ns "$NS_V" nft flush chain inet "$TABLE" miniupnpd
}

vpn_rules () { in_ns "$NS_V" nft list chain inet "$TABLE" prerouting_miniupnpd; }

vpn_has_rule () {   # tcp|udp EPORT IPORT: forwarded to the tunnel address
  local p=0x6
  [ "$1" = udp ] && p=0x11
  vpn_rules | grep -qE "@nh,72,8 $p th dport $2 dnat ip to $VPN_LOCAL:$3( |\$)"
}

# The home default route with metric 100, so that a tunnel's (metric 50) carries the
# Internet traffic while it is up; tunnel_restore puts lab.sh's back.
tunnel_prepare () {
  tunnel_build || return 1
  ip -n "$NS_A" route replace default via "$GW" metric 100 &&
  ip -n "$NS_A" route del default via "$GW" metric 0 2>/dev/null
  vpn_rtr_start
}

tunnel_up () {
  ip -n "$NS_A" link set wg-lab up &&
  ip -n "$NS_A" route add default dev wg-lab metric 50
}

tunnel_down () {
  ip -n "$NS_A" route del default dev wg-lab 2>/dev/null
  ip -n "$NS_A" link set wg-lab down
}

tunnel_restore () {
  tunnel_down
  vpn_rtr_stop
  ip -n "$NS_A" route replace default via "$GW" metric 0
  ip -n "$NS_A" route del default via "$GW" metric 100 2>/dev/null
  return 0
}

wait_until () {   # TRIES(×0.05 s) COMMAND…: until COMMAND succeeds
  local n=$1 i
  shift
  for i in $(seq "$n"); do
    "$@" && return 0
    sleep 0.05
  done
  return 1
}

vpn_torrent_on_vpn () { vpn_has_rule tcp 51413 51413 && vpn_has_rule udp 51413 51413; }
vpn_only_on_vpn () { vpn_has_rule tcp 51414 51414 && vpn_has_rule udp 51414 51414; }
vpn_torrent_at_home () { has_rule tcp 51413 "$HOST_A" 51413 && has_rule udp 51413 "$HOST_A" 51413; }
# the Gateway=vpn profile's TCP and UDP waited once before the tunnel, and wait again
vpn_waits_again () { [ "$(grep -c '"waiting_for":"vpn"' "$LABDIR/bg.out")" -ge 4 ]; }
ssh_home_kept () { has_rule tcp 22022 "$HOST_A" 22022; }

# Three profiles: ssh-home names the home router (Gateway=192.168.77.1), vpn-torrent is the
# one of the issue (`profiles add vpn-torrent --both any 51413`: whatever the default route
# is), vpn-only follows the tunnel (Gateway=vpn). Tunnel down: ssh-home and vpn-torrent on
# the home router, vpn-only waits and says so. Tunnel up: vpn-torrent and vpn-only on the
# VPN's gateway; ssh-home is not touched (no event, its rule stays). Tunnel down again:
# vpn-torrent back home, vpn-only waits again, ssh-home still untouched. SIGTERM removes the
# home router's rules.
t_tunnel_gateways () {
  local file=$LABDIR/tunnel-profiles.ini t0 up_ms ssh_events
  rm -f "$file"
  ctl "$NS_A" profiles -f "$file" add ssh-home --tcp 22022 22022 --gateway "$GW" && want_rc 0 &&
  ctl "$NS_A" profiles -f "$file" add vpn-torrent --both any 51413 && want_rc 0 &&
  ctl "$NS_A" profiles -f "$file" add vpn-only --both any 51414 --gateway vpn && want_rc 0 ||
    return 1
  tunnel_prepare || { tunnel_restore; return 1; }

  run_start "$file"
  wait_until 200 ssh_home_kept && wait_until 200 vpn_torrent_at_home ||
    { diag "FAIL: tunnel down: not both profiles on the home router"; rules >> "$DIAG";
      run_log "tunnel down"; run_stop; tunnel_restore; return 1; }
  wait_until 100 grep -q '"waiting_for":"vpn"' "$LABDIR/bg.out" ||
    { diag "FAIL: the Gateway=vpn profile does not say it waits for a tunnel";
      run_log "tunnel down"; run_stop; tunnel_restore; return 1; }
  vpn_rules | grep -q dnat &&
    { diag "FAIL: something mapped on the VPN before the tunnel is up"; vpn_rules >> "$DIAG";
      run_stop; tunnel_restore; return 1; }
  ssh_events=$(jsel "event=mapping,profile=ssh-home" count)

  t0=$(now_ms)
  tunnel_up || { diag "tunnel up failed"; run_stop; tunnel_restore; return 1; }
  wait_until 300 vpn_torrent_on_vpn && wait_until 100 vpn_only_on_vpn ||
    { diag "FAIL: tunnel up: not mapped on the VPN's gateway"; vpn_rules >> "$DIAG";
      run_log "tunnel up"; run_stop; tunnel_restore; return 1; }
  up_ms=$(( $(now_ms) - t0 ))
  diag "tunnel up -> its profiles mapped on $VPN_GW in $up_ms ms"
  sleep 1
  ssh_home_kept && [ "$(jsel "event=mapping,profile=ssh-home" count)" = "$ssh_events" ] ||
    { diag "FAIL: the tunnel moved or touched the home router's ssh-home";
      rules >> "$DIAG"; run_log "tunnel up"; run_stop; tunnel_restore; return 1; }
  want_jsel "event=gateway,for=vpn" gateway "$VPN_GW" &&
  want_jsel "event=gateway,for=$GW" gateway "$GW" || { run_log "tunnel up"; run_stop; tunnel_restore; return 1; }

  tunnel_down
  wait_until 300 vpn_torrent_at_home ||
    { diag "FAIL: tunnel down: vpn-torrent is not back on the home router"; rules >> "$DIAG";
      run_log "tunnel down again"; run_stop; tunnel_restore; return 1; }
  wait_until 300 vpn_waits_again ||
    { diag "FAIL: vpn-only does not wait again"; run_log "tunnel down again"; run_stop;
      tunnel_restore; return 1; }
  ssh_home_kept && [ "$(jsel "event=mapping,profile=ssh-home" count)" = "$ssh_events" ] ||
    { diag "FAIL: the tunnel going down touched ssh-home"; run_log "tunnel down again";
      run_stop; tunnel_restore; return 1; }

  run_stop
  want_rc 0 && wait_until 100 eval '! ssh_home_kept' ||
    { diag "FAIL: SIGTERM left ssh-home on the home router"; tunnel_restore; return 1; }
  tunnel_restore
}

# The tunnel's gateway, derived by the documented rule (a /32 address: the well-known
# 10.2.0.1), answers `portlightctl run` with the tunnel as the only way out: the natpmpc loop
# of ProtonVPN's guide, replaced by a profile.
t_tunnel_only () {
  local file=$LABDIR/tunnel-only.ini
  rm -f "$file"
  ctl "$NS_A" profiles -f "$file" add vpn-torrent --both any 51413 && want_rc 0 || return 1
  tunnel_prepare && tunnel_up || { tunnel_restore; return 1; }
  run_start "$file"
  wait_until 300 vpn_torrent_on_vpn ||
    { diag "FAIL: not mapped on the VPN's gateway"; vpn_rules >> "$DIAG"; run_log "up";
      run_stop; tunnel_restore; return 1; }
  has_rule tcp 51413 "$HOST_A" 51413 &&
    { diag "FAIL: mapped on the home router although the default route is the tunnel";
      run_stop; tunnel_restore; return 1; }
  wait_until 100 grep -q "\"public_address\":\"$VPN_EXT_IP\"" "$LABDIR/bg.out" ||
    { run_log "up"; run_stop; tunnel_restore; return 1; }
  run_stop
  tunnel_restore
}

# One-shot commands follow the same rule as the engine: with the tunnel carrying the
# Internet traffic, `address` and `map` (no -g) ask the tunnel's gateway, not the home router,
# and `unmap` deletes there.
t_tunnel_oneshot () {
  local port
  tunnel_prepare && tunnel_up || { tunnel_restore; return 1; }
  ctl "$NS_A" address --json
  want_rc 0 && want_json public_address "$VPN_EXT_IP" && want_json gateway "$VPN_GW" ||
    { tunnel_restore; return 1; }
  ctl "$NS_A" map -t -l 120 --json any 51430
  want_rc 0 && want_json public_address "$VPN_EXT_IP" && want_map private_port 51430 ||
    { tunnel_restore; return 1; }
  port=$(json mappings.0.public_port) || { tunnel_restore; return 1; }
  vpn_has_rule tcp "$port" 51430 ||
    { diag "FAIL: not mapped on the VPN's gateway"; vpn_rules >> "$DIAG"; tunnel_restore; return 1; }
  has_rule tcp "$port" "$HOST_A" 51430 &&
    { diag "FAIL: mapped on the home router although the default route is the tunnel";
      tunnel_restore; return 1; }
  ctl "$NS_A" unmap -t 51430
  want_rc 0 && ! vpn_has_rule tcp "$port" 51430 ||
    { diag "FAIL: unmap left the VPN's rule"; vpn_rules >> "$DIAG"; tunnel_restore; return 1; }
  tunnel_restore
}

tunnel_scenarios () {
  scenario "tunnel: Gateway=vpn waits, the tunnel's profiles go to the VPN, the home router's stay" \
    t_tunnel_gateways
  scenario "tunnel: default dev wg-lab (/32): run maps on the derived 10.2.0.1 (NAT-PMP)" \
    t_tunnel_only
  scenario "tunnel: one-shot address, map and unmap (no -g) go to the tunnel's gateway" \
    t_tunnel_oneshot
}
