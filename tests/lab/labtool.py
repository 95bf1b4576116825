#!/usr/bin/env python3
# labtool.py: small helpers for the router lab (test tooling, not product code)
#
# Copyright 2026 The Portlight authors
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Every subcommand runs inside whatever network namespace the caller put it in
# (lab.sh uses `ip netns exec`).  Nothing here talks to anything outside the lab.

import ipaddress
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
    """Answer every TCP connection with IDENT and close it. Dual stack: IPv4 (the
    DNAT'd mappings) and IPv6 (pinholes) on the same port."""
    s = socket.create_server(('::', int(port)), family=socket.AF_INET6, backlog=8,
                             dualstack_ipv6=True)
    _ready(marker)
    while True:
        c, _ = s.accept()
        try:
            c.sendall(ident.encode() + b'\n')
        finally:
            c.close()


def udp_serve(port, ident, marker):
    """Answer every UDP datagram with IDENT:payload (IPv4 and IPv6)."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(('::', int(port)))
    _ready(marker)
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(ident.encode() + b':' + data, peer)


# Probes exit 0 with the listener's answer on stdout, 2 when nothing answered in time
# (dropped), 1 on any other error (refused, unreachable).

def tcp_probe(host, port, timeout):
    """Connect, print the line the listener sends."""
    try:
        with socket.create_connection((host, int(port)), timeout=float(timeout)) as c:
            print(c.recv(256).decode().strip())
            return 0
    except socket.timeout:
        print('tcp-probe %s:%s: timed out' % (host, port), file=sys.stderr)
        return 2
    except OSError as e:
        print('tcp-probe %s:%s: %s' % (host, port, e), file=sys.stderr)
        return 1


def udp_probe(host, port, timeout):
    """Send one datagram, print the reply."""
    family, _, _, _, addr = socket.getaddrinfo(host, int(port), type=socket.SOCK_DGRAM)[0]
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(float(timeout))
    try:
        s.connect(addr)
        s.send(b'ping')
        data = s.recv(2048)
        print(data.decode().strip())
        return 0
    except socket.timeout:
        print('udp-probe %s:%s: timed out' % (host, port), file=sys.stderr)
        return 2
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


# ---------------------------------------------------------------------------
# Raw PCP (RFC 6887), independent of the client: MAP and ANNOUNCE requests.

PCP_PROTOCOLS = {'tcp': 6, 'udp': 17}


def _addr16(text):
    """The 16-byte address field: IPv6 as is, IPv4 as ::ffff:a.b.c.d."""
    packed = ipaddress.ip_address(text.split('%')[0]).packed
    return packed if len(packed) == 16 else b'\0' * 10 + b'\xff\xff' + packed


def _addr_text(field):
    addr = ipaddress.IPv6Address(field)
    return str(addr.ipv4_mapped or addr)


def _pcp_exchange(src, server, payload_after_ip, opcode, lifetime, timeout):
    """Bind to SRC (the address whose mapping or pinhole is meant), send to SERVER
    (an IPv6 link-local one with %IFNAME), port 5351. The client-IP field is the bound
    address. Returns (reply, ms, client address) or an exit status."""
    family, _, _, _, addr = socket.getaddrinfo(server, 5351, type=socket.SOCK_DGRAM)[0]
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(float(timeout))
    try:
        s.bind((src, 0) if family == socket.AF_INET else (src, 0, 0, 0))
        s.connect(addr)
        client = s.getsockname()[0]
        req = struct.pack('!BBHI', 2, opcode, 0, int(lifetime)) + _addr16(client) + payload_after_ip
        t0 = time.monotonic()
        s.send(req)
        reply = s.recv(1100)
    except socket.timeout:
        print('pcp: no answer from %s within %s s' % (server, timeout), file=sys.stderr)
        return 3
    except OSError as e:
        print('pcp: %s: %s' % (server, e), file=sys.stderr)
        return 4 if isinstance(e, ConnectionRefusedError) else 1
    return reply, int((time.monotonic() - t0) * 1000), client


def _pcp_header(reply):
    if len(reply) < 24:
        return {'length': len(reply), 'bytes': reply.hex()}
    ver, op, _, result, lifetime, epoch = struct.unpack('!BBBBII', reply[:12])
    return {'length': len(reply), 'version': ver, 'opcode': op, 'result': result,
            'lifetime': lifetime, 'epoch': epoch}


def pcp_map(src, server, proto, iport, eport, lifetime, nonce, timeout='3'):
    """One PCP MAP; prints a JSON object with the result, lifetime, epoch, assigned port
    and address. NONCE: 24 hex digits (the same one renews or deletes; lifetime 0
    deletes). Exit 0 when answered (whatever the result), 3 no answer, 4 refused."""
    nonce_b = bytes.fromhex(nonce)
    if len(nonce_b) != 12:
        print('pcp-map: the nonce must be 24 hex digits', file=sys.stderr)
        return 2
    ext = '::' if ':' in src else '0.0.0.0'
    body = nonce_b + struct.pack('!B3xHH', PCP_PROTOCOLS[proto], int(iport), int(eport)) + _addr16(ext)
    got = _pcp_exchange(src, server, body, 1, lifetime, timeout)
    if isinstance(got, int):
        return got
    reply, ms, client = got
    out = _pcp_header(reply)
    out.update({'ms': ms, 'client': client})
    if len(reply) >= 60:
        out.update({'nonce': reply[24:36].hex(), 'protocol': reply[36],
                    'internal_port': struct.unpack('!H', reply[40:42])[0],
                    'external_port': struct.unpack('!H', reply[42:44])[0],
                    'external_address': _addr_text(reply[44:60])})
    print(json.dumps(out))
    return 0


def pcp_announce(src, server, timeout='3'):
    """One PCP ANNOUNCE (a cheap "is PCP here, which epoch" probe); prints JSON."""
    got = _pcp_exchange(src, server, b'', 0, 0, timeout)
    if isinstance(got, int):
        return got
    reply, ms, client = got
    out = _pcp_header(reply)
    out.update({'ms': ms, 'client': client})
    print(json.dumps(out))
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
    'pcp-map': pcp_map,
    'pcp-announce': pcp_announce,
    'listen-5350': listen_5350,
    'jget': jget,
}

if __name__ == '__main__':
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print('usage: labtool.py {%s} ARGS…' % ','.join(COMMANDS), file=sys.stderr)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]) or 0)
