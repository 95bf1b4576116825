#!/usr/bin/env python3
# labtool.py: small helpers for the router lab (test tooling, not product code)
#
# Copyright 2026 The Portlight authors
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Every subcommand runs inside whatever network namespace the caller put it in
# (lab.sh uses `ip netns exec`).  Nothing here talks to anything outside the lab.

import json
import os
import socket
import struct
import sys
import time


def logsink(path, logfile):
    """A /dev/log stand-in. Without a listener every syslog() call of miniupnpd is
    slow. A forbidden port logs one line per port tried (65535), so runs of the same
    message are collapsed into one line and a count."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    _ready(path + '.ready')
    last, repeats = None, 0
    with open(logfile, 'ab', buffering=0) as f:
        while True:
            line = s.recv(65536).rstrip(b'\n')
            # "<pri>Mon dd hh:mm:ss miniupnpd[pid]: text": compare the text only
            text = line.split(b': ', 1)[-1]
            if text == last:
                repeats += 1
                continue
            if repeats:
                f.write(b'    (last message repeated %d times)\n' % repeats)
            last, repeats = text, 0
            f.write(line + b'\n')


def _ready(marker):
    with open(marker, 'w') as f:
        f.write('%d\n' % os.getpid())


def tcp_serve(port, ident, marker):
    """Answer every TCP connection with IDENT and close it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', int(port)))
    s.listen(8)
    _ready(marker)
    while True:
        c, _ = s.accept()
        try:
            c.sendall(ident.encode() + b'\n')
        finally:
            c.close()


def udp_serve(port, ident, marker):
    """Answer every UDP datagram with IDENT:payload."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('0.0.0.0', int(port)))
    _ready(marker)
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(ident.encode() + b':' + data, peer)


def tcp_probe(host, port, timeout):
    """Connect, print the line the listener sends. Exit 1 when nothing answers."""
    try:
        with socket.create_connection((host, int(port)), timeout=float(timeout)) as c:
            print(c.recv(256).decode().strip())
            return 0
    except OSError as e:
        print('tcp-probe %s:%s: %s' % (host, port, e), file=sys.stderr)
        return 1


def udp_probe(host, port, timeout):
    """Send one datagram, print the reply. Exit 1 when nothing answers."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(float(timeout))
    try:
        s.sendto(b'ping', (host, int(port)))
        data, _ = s.recvfrom(2048)
        print(data.decode().strip())
        return 0
    except OSError as e:
        print('udp-probe %s:%s: %s' % (host, port, e), file=sys.stderr)
        return 1


def pmp_address(gw, timeout):
    """Raw NAT-PMP address request (lab self-check, independent of the client)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(float(timeout))
    s.connect((gw, 5351))
    s.send(b'\x00\x00')
    data = s.recv(64)
    if len(data) < 12:
        print('short reply %r' % data, file=sys.stderr)
        return 1
    ver, op, result, epoch = struct.unpack('!BBHI', data[:8])
    print(json.dumps({'version': ver, 'opcode': op, 'result': result, 'epoch': epoch,
                      'public_address': socket.inet_ntoa(data[8:12])}))
    return 0


def listen_5350(seconds, marker):
    """Collect what arrives on UDP 5350 (the announcement port) for SECONDS."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', 5350))
    _ready(marker)
    end = time.monotonic() + float(seconds)
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data, peer = s.recvfrom(2048)
        except socket.timeout:
            break
        print('%s %d %s' % (peer[0], len(data), data.hex()), flush=True)
    return 0


def jget(path, line='last'):
    """Read JSON objects on stdin (one per line), print the value at PATH (a.0.b) in
    the last one, or in the first one whose "event" is LINE. Booleans print as
    true/false, like JSON."""
    text = sys.stdin.read()
    try:
        objs = [json.loads(t) for t in text.splitlines() if t.strip()]
    except ValueError:
        print('not JSON: %r' % text[:300], file=sys.stderr)
        return 1
    if line != 'last':
        objs = [o for o in objs if isinstance(o, dict) and o.get('event') == line]
    if not objs:
        print('no JSON object%s in %r' % ('' if line == 'last' else ' for event ' + line,
                                          text[:300]), file=sys.stderr)
        return 1
    obj = objs[-1] if line == 'last' else objs[0]
    for key in path.split('.'):
        if isinstance(obj, dict) and key in obj:
            obj = obj[key]
        elif isinstance(obj, list) and key.isdigit() and int(key) < len(obj):
            obj = obj[int(key)]
        else:
            print('no %s in %r' % (path, text[:300]), file=sys.stderr)
            return 1
    print(json.dumps(obj) if isinstance(obj, (bool, dict, list)) or obj is None else obj)
    return 0


COMMANDS = {
    'logsink': logsink,
    'tcp-serve': tcp_serve,
    'udp-serve': udp_serve,
    'tcp-probe': tcp_probe,
    'udp-probe': udp_probe,
    'pmp-address': pmp_address,
    'listen-5350': listen_5350,
    'jget': jget,
}

if __name__ == '__main__':
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print('usage: labtool.py {%s} ARGS…' % ','.join(COMMANDS), file=sys.stderr)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]) or 0)
