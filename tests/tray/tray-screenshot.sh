#!/bin/sh
# tray-screenshot.sh: portlight in an XEmbed tray (trayer) under its own Xvfb, the tray
# started after portlight as at login: no window opens, the icon is visible, the menu opens,
# a profile is switched on from the keyboard, and Quit quits.
# Screenshots are kept as test artifacts in OUTDIR (1-tray.png, 2-menu.png,
# 3-menu-checked.png) and checked by their pixels, not against golden images.
#
# Usage: tray-screenshot.sh PORTLIGHT FAKE_GATEWAY_HOST OUTDIR
# Exit 77 (skip) when a tool is missing. Copyright 2026 The Portlight authors.
# SPDX-License-Identifier: GPL-3.0-or-later
set -eu

PORTLIGHT=$1
FAKE_GATEWAY_HOST=$2
OUT=$3
GATEWAY=127.0.46.1

for tool in Xvfb trayer xdotool import convert dbus-run-session timeout; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool is not installed (apt-get install xvfb trayer xdotool imagemagick dbus-daemon)"
    exit 77
  fi
done

# A private session bus (no panel on it: the app falls back to the XEmbed icon).
if [ -z "${PL_SCREENSHOT_IN_BUS:-}" ]; then
  PL_SCREENSHOT_IN_BUS=1 exec dbus-run-session -- "$0" "$@"
fi

rm -rf "$OUT"
mkdir -p "$OUT/home/config/portlight" "$OUT/home/runtime"
chmod 700 "$OUT/home/runtime"
cat > "$OUT/home/config/portlight/profiles.ini" <<'EOF'
[SSH]
Protocol=tcp
InternalPort=22
ExternalPort=2222
Enabled=true

[Web]
Protocol=tcp
InternalPort=8080
Enabled=false

[Games]
Protocol=udp
InternalPort=27015
Enabled=true
EOF

pids=""
cleanup () {
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

fail () {
  echo "FAIL: $*"
  echo "--- portlight said:"; cat "$OUT/app.log" 2>/dev/null || true
  exit 1
}

# poll CONDITION-COMMAND...: up to 30 s, every 0.1 s (a bounded wait, not an assertion).
poll () {
  i=0
  until "$@"; do
    i=$((i + 1))
    [ $i -le 300 ] || return 1
    sleep 0.1
  done
}

# The router, on 127.0.46.1 or, if a concurrent run holds it, on another loopback address.
gateway_up () {
  grep -q ready "$OUT/gateway.log" 2>/dev/null && return 0
  kill -0 "$GATEWAY_PID" 2>/dev/null || return 2
  return 1
}
attempt=0
while :; do
  "$FAKE_GATEWAY_HOST" "$GATEWAY" > "$OUT/gateway.log" 2>&1 &
  GATEWAY_PID=$!
  status=0
  i=0
  while :; do
    gateway_up && break
    status=$?
    [ $status -eq 2 ] && break
    i=$((i + 1)); [ $i -le 100 ] || fail "the fake gateway did not start"
    sleep 0.1
  done
  [ $status -ne 2 ] && break
  attempt=$((attempt + 1))
  [ $attempt -le 10 ] || fail "no free loopback address for the fake gateway: $(cat "$OUT/gateway.log")"
  GATEWAY=127.$(( ($$ + attempt * 37) % 250 + 1 )).46.1
done
pids="$pids $GATEWAY_PID"

# The X server: -displayfd into a file avoids the pipe race (Xvfb writes the number and the
# newline in two writes, and dies if a pipe's reader has closed after the first).
Xvfb -displayfd 3 -nolisten tcp -screen 0 800x600x24 3>"$OUT/display" 2>/dev/null &
pids="$pids $!"
poll test -s "$OUT/display" || fail "Xvfb did not start"
DISPLAY=":$(cat "$OUT/display")"
export DISPLAY

# The app, in the background as at login, with its own folders.
env HOME="$OUT/home" XDG_CONFIG_HOME="$OUT/home/config" XDG_DATA_HOME="$OUT/home/data" \
    XDG_CACHE_HOME="$OUT/home/cache" XDG_STATE_HOME="$OUT/home/state" \
    XDG_RUNTIME_DIR="$OUT/home/runtime" NO_AT_BRIDGE=1 GDK_BACKEND=x11 \
    GNOTIFICATION_BACKEND=freedesktop GSETTINGS_BACKEND=memory LC_ALL=C.UTF-8 LANGUAGE= \
    G_MESSAGES_DEBUG=pl-tray \
    "$PORTLIGHT" --background --tray-wait=60 --gateway "$GATEWAY" > "$OUT/app.log" 2>&1 &
APP=$!
pids="$pids $APP"

poll grep -q 'Tray state: io.github.portlight.Portlight-active-symbolic' "$OUT/app.log" ||
  fail "the mappings did not become active"

# The tray comes after portlight, as at login: portlight waits for it (and opens no window),
# and sees it come (the tray announces itself; the wait is longer than any poll here).
poll grep -q 'Waiting up to 60 s for a tray' "$OUT/app.log" || fail "portlight did not wait for a tray"
trayer --edge top --align right --widthtype request --height 32 --SetDockType true \
       --transparent false > /dev/null 2>&1 &
pids="$pids $!"
# xdotool's --sync is not used: its window walk exits on BadWindow when a window goes away
# between listing and querying it (portlight's and GTK's short-lived windows do), so each
# search is one walk, polled.
find_window () {
  xdotool search "$@" 2>/dev/null | head -n 1 | grep .
}
poll find_window --name '^panel$' > /dev/null || fail "trayer did not start"
poll grep -q 'Tray available' "$OUT/app.log" || fail "portlight did not see the XEmbed tray come"

# The icon: the window named after the indicator's title, once it is laid out (pitfall 4).
poll find_window --onlyvisible --name '^Portlight$' > /dev/null || fail "no tray icon window"
ICON=$(find_window --onlyvisible --name '^Portlight$') || fail "no tray icon window"
icon_laid_out () {
  eval "$(xdotool getwindowgeometry --shell "$ICON")"
  [ "$WIDTH" -ge 16 ] && [ "$HEIGHT" -ge 16 ]
}
poll icon_laid_out || fail "the icon was not laid out"
sleep 0.3   # let it paint

import -window root "$OUT/1-tray.png"
# The icon's pixels: trayer's panel is light grey; the symbolic icon is drawn in dark
# strokes with a green arrow (the "active" state).
convert "$OUT/1-tray.png" -crop "${WIDTH}x${HEIGHT}+${X}+${Y}" +repage "$OUT/icon.png"
dark=$(convert "$OUT/icon.png" -colorspace Gray -threshold 40% -negate -format '%[fx:int(mean*1000)]' info:)
green=$(convert "$OUT/icon.png" -fuzz 20% -fill black +opaque '#33d17a' -fill white -opaque '#33d17a' \
          -format '%[fx:int(mean*1000)]' info:)
echo "icon ${WIDTH}x${HEIGHT}+${X}+${Y}: dark ${dark}‰, green ${green}‰"
[ "$dark" -ge 50 ] || fail "the icon is not visible (${dark}‰ dark pixels)"
[ "$green" -ge 10 ] || fail "the icon does not show the active state (${green}‰ green pixels)"

# The menu: a left click opens it; the popup is a mapped window wider than 50 px (pitfall 5).
find_menu () {
  for w in $(xdotool search --onlyvisible --name '^portlight$' 2>/dev/null); do
    eval "$(xdotool getwindowgeometry --shell "$w")"
    if [ "$WIDTH" -gt 50 ] && [ "$X" -ge 0 ]; then MENU=$w; return 0; fi
  done
  return 1
}
open_menu () {
  xdotool mousemove --window "$ICON" 8 8 click 1
  poll find_menu || fail "the menu did not open"
  sleep 0.3
}

open_menu
import -window root "$OUT/2-menu.png"
convert "$OUT/2-menu.png" -crop "${WIDTH}x${HEIGHT}+${X}+${Y}" +repage "$OUT/menu.png"
light=$(convert "$OUT/menu.png" -colorspace Gray -threshold 80% -format '%[fx:int(mean*1000)]' info:)
text=$(convert "$OUT/menu.png" -colorspace Gray -threshold 40% -negate -format '%[fx:int(mean*1000)]' info:)
echo "menu ${WIDTH}x${HEIGHT}+${X}+${Y}: light ${light}‰, text ${text}‰"
[ "$HEIGHT" -ge 200 ] || fail "the menu is too small to hold every line (${HEIGHT} px)"
[ "$light" -ge 700 ] || fail "the menu has no light background (${light}‰)"
[ "$text" -ge 10 ] || fail "the menu shows no text (${text}‰)"

# Keyboard (the insensitive lines are skipped): Down → public address, Down → SSH,
# Down → Copy 203.0.113.7:2222, Down → Web; Return switches Web on.
xdotool key Down Down Down Down Return
poll grep -q 'Enabling profile Web' "$OUT/app.log" || fail "Web was not switched on"
# Two profiles were enabled already: wait for the third (the save comes after the log line).
three_enabled () {
  [ "$(grep -c '^Enabled=true' "$OUT/home/config/portlight/profiles.ini")" -eq 3 ]
}
poll three_enabled || fail "the profiles file does not have Web enabled"

open_menu
import -window root "$OUT/3-menu-checked.png"

# Up wraps to the last line, Quit.
xdotool key Up Return
i=0
while kill -0 "$APP" 2>/dev/null; do
  i=$((i + 1))
  [ $i -le 100 ] || fail "portlight did not quit"
  sleep 0.1
done
wait "$APP" || fail "portlight exited with an error"
if grep -q -e 'No system tray' -e 'Opening the profiles window' "$OUT/app.log"; then
  fail "a window opened though a tray came"
fi
echo "PASS: screenshots in $OUT"
