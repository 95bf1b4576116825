# bench-lease.sh: short leases for real, sourced by bench.sh
#
# Copyright 2026 The Portlight authors
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
#   short-lease   `portlightctl run --json` over NAT-PMP with a TCP and a UDP profile that ask
#                 for 60 s leases (what a VPN's port forwarding grants), for
#                 BENCH_LEASE_SECONDS (600) of real time. Each renewal's lateness: the
#                 monotonic time its answer was printed, against the renewal time the engine
#                 announced with the lease before (p50, p99, worst). The margin: how much of
#                 the old lease was left when the renewal's answer came (the smallest; below
#                 zero would be a gap). And the router's side: every forwarding deleted in the
#                 window (nft monitor), which a lapsed lease would show. The virtual-time
#                 counterpart, 24 hours of 60 s leases, is tests/engine/test-session-any-port.c.

# shellcheck shell=bash
# shellcheck disable=SC2154  # the lab's and bench.sh's variables

# lease_figures FILE: the stamped `run --json` lines of FILE (pl-bench stamp: monotonic ms,
# then the JSON) → "renewals p50 p99 worst min_margin lifetime" (ms, margin in s)
lease_figures () {
  awk '
    # seconds of the day of an ISO 8601 time (the engine prints local time, one zone)
    function tod(s,   t, h) {
      if (!match(s, /T[0-9][0-9]:[0-9][0-9]:[0-9][0-9](\.[0-9]+)?/)) return -1
      t = substr(s, RSTART + 1, RLENGTH - 1)
      split(t, h, ":")
      return h[1] * 3600 + h[2] * 60 + h[3]
    }
    function field(name,   re) {
      re = "\"" name "\" *: *\"[^\"]*\""
      if (!match($0, re)) return ""
      return substr($0, RSTART, RLENGTH)
    }
    function number(name,   re, s) {
      re = "\"" name "\" *: *[0-9]+"
      if (!match($0, re)) return -1
      s = substr($0, RSTART, RLENGTH); sub(/.*: */, "", s)
      return s + 0
    }
    /"event" *: *"mapping"/ && /"state" *: *"active"/ {
      key = field("profile") field("protocol") field("family")
      t = $1 / 1000
      if (key in renew_at) {
        late = (t - renew_at[key]) * 1000
        lates[n++] = late
        margin = expires_at[key] - t
        if (!have_margin || margin < min_margin) { min_margin = margin; have_margin = 1 }
      }
      now = tod(field("time")); rn = tod(field("renews")); ex = tod(field("expires"))
      if (now < 0 || rn < 0 || ex < 0) { delete renew_at[key]; next }
      if (rn < now) rn += 86400
      if (ex < now) ex += 86400
      renew_at[key] = t + (rn - now)
      expires_at[key] = t + (ex - now)
      lifetime = number("lifetime")
    }
    END {
      if (n == 0) { print 0, 0, 0, 0, 0, lifetime; exit }
      # insertion sort: a few dozen samples
      for (i = 1; i < n; i++) { v = lates[i]; for (j = i - 1; j >= 0 && lates[j] > v; j--) lates[j + 1] = lates[j]; lates[j + 1] = v }
      p50 = lates[int((n - 1) * 0.50)]
      p99 = lates[int((n - 1) * 0.99 + 0.5)]
      printf "%d %.1f %.1f %.1f %.1f %d\n", n, p50, p99, lates[n - 1], min_margin, lifetime
    }' "$1"
}

bench_short_lease () {
  local f="$LABDIR/short-lease" secs=${BENCH_LEASE_SECONDS:-600} figures expected stamp_pid
  say "short-lease: portlightctl run --json, a TCP and a UDP profile with 60 s leases, ${secs} s of real time"
  mkdir -p "$f"
  printf '# short leases (tests/bench/bench-lease.sh)\n\n[vpn-tcp]\nProtocol=tcp\nInternalPort=51413\nExternalPort=any\nLifetime=60\nEnabled=true\n\n[vpn-udp]\nProtocol=udp\nInternalPort=51413\nExternalPort=any\nLifetime=60\nEnabled=true\n' \
    > "$f/profiles.ini"
  rtr_reset || return 1
  monitor_start short-lease
  # run's stdout through the time-stamper, by a fifo: RUN_PID is run's own
  rm -f "$f/out.fifo"
  mkfifo "$f/out.fifo"
  "$BENCH" stamp < "$f/out.fifo" > "$LABDIR/run.short-lease.out" &
  stamp_pid=$!
  ip netns exec "$NS_A" env XDG_CONFIG_HOME="$LABDIR/xdg" "$CTL" run --json --protocol natpmp \
    -f "$f/profiles.ini" </dev/null >"$f/out.fifo" 2>"$LABDIR/run.short-lease.err" &
  RUN_PID=$!
  wait_rules 2 600 || note "short-lease: only $(n_rules) forwardings"
  sleep "$secs"
  # the router's side: miniupnpd renews a NAT-PMP mapping by deleting its rule and adding
  # it again, so every delete in the window is paired with the next add; the longest time
  # between them is the longest the port was closed (run's own deletions at its stop come
  # after this count). A lapsed lease would be a delete with no add after it.
  read -r LEASE_DELETES LEASE_ABSENT LEASE_UNPAIRED <<< "$(awk '
    $6 != "prerouting_miniupnpd" { next }
    $2 == "delete" { pending[np++] = $1; next }
    $2 == "add" && np > 0 { d = $1 - pending[--np]; if (d > worst) worst = d; paired++ }
    END { printf "%d %.2f %d\n", paired + np, worst, np }' "$LABDIR/mon.short-lease")"
  run_stop
  wait "$stamp_pid" 2>/dev/null
  monitor_stop
  figures=$(lease_figures "$LABDIR/run.short-lease.out")
  read -r LEASE_N LEASE_P50 LEASE_P99 LEASE_WORST LEASE_MARGIN LEASE_LIFETIME <<< "$figures"
  # renewals due in the window: every half lease after the first grant, per profile
  expected=$(( 2 * ((secs - 1) / (${LEASE_LIFETIME:-60} > 1 ? ${LEASE_LIFETIME:-60} / 2 : 30)) ))
  row "| Short leases for real ($secs s, 2 profiles asking for 60 s, granted ${LEASE_LIFETIME:-?} s): a renewal's answer against the time announced for it | p50 ${LEASE_P50} ms, p99 ${LEASE_P99} ms, worst ${LEASE_WORST} ms late, over $LEASE_N renewals (schedule: $expected); smallest margin left on the old lease ${LEASE_MARGIN} s; the router replaced the rule $LEASE_DELETES times (its way of renewing), the port closed ${LEASE_ABSENT} ms at the most, deletes never followed by an add: $LEASE_UNPAIRED | – | – | 0 ms late, margin = half the lease | – |"
}
