#!/usr/bin/env python3
"""delay_line.py: a kernel-path delay line for real_loss.sh --kernel-delay-ms (docs/TIMING.md).

These kernels have no netem, and the harness's relay adds its delay in userspace, in front of a
TCP connection whose own round trip is that of a veth (well under a millisecond): a loss there is
repaired on that tiny round trip, not on the path's. This moves IP packets between two tun
devices (one in each of real_loss.sh's namespaces), holding each for a sampled transit, so the
TCP connections between the harness's relays and the server have the path's round trip, and it
drops packets at random itself, so that it can time each loss's repair.

Per direction: a packet read at t leaves at max(t + transit, when the previous one left), with
transit = (delay - jitter) + |N(0, 1.25 jitter)| (the relay's and the simulation's shape; FIFO,
as the relay: the path delays but does not reorder). Each packet is dropped with --loss.

For every dropped TCP segment that carried data it records how long the kernel took to repair
it: from the lost transmission to the first later transmission of that byte that got through
(a retransmission, by whatever mechanism the kernel chose; lost retransmissions counted). The
summary at the end (stdout) gives those times per direction; --log writes one line per repair.

Runs as root (tun devices) until --duration-s or SIGTERM. Prints "ready" once both devices exist.
"""
import argparse
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def tcp_segment(pkt):
    """(flow, seq, payload length) of an IPv4 TCP packet, else None."""
    if len(pkt) < 40 or pkt[0] >> 4 != 4 or pkt[9] != 6:
        return None
    ihl = (pkt[0] & 15) * 4
    total = struct.unpack_from("!H", pkt, 2)[0]
    sport, dport, seq = struct.unpack_from("!HHI", pkt, ihl)
    doff = (pkt[ihl + 12] >> 4) * 4
    flow = (pkt[12:16], sport, pkt[16:20], dport)
    return flow, seq, total - ihl - doff


class Direction:
    def __init__(self, name, out_fd, rng, args):
        self.name, self.out_fd, self.rng, self.args = name, out_fd, rng, args
        self.queue = []  # (release time, order, packet), FIFO by construction
        self.last_release = 0.0
        self.order = 0
        self.packets = self.dropped = self.data_drops = 0
        self.base = {}  # flow -> first sequence number seen (relative sequence numbers)
        self.holes = {}  # (flow, relative seq) -> (length, first drop time, drops)
        self.repairs = []  # (ms, drops of that byte)

    def transit(self):
        d, j = self.args.delay_ms / 1000, self.args.jitter_ms / 1000
        return max(0.0, (d - j) + abs(self.rng.gauss(0, 1.25 * j)))

    def take(self, pkt, now):
        self.packets += 1
        seg = tcp_segment(pkt)
        rel = None
        if seg is not None:
            flow, seq, length = seg
            base = self.base.setdefault(flow, seq)
            rel = (seq - base) & 0xFFFFFFFF
        if self.rng.random() < self.args.loss:
            self.dropped += 1
            if seg is not None and seg[2] > 0:
                self.data_drops += 1
                key = (seg[0], rel)
                length, first, drops = self.holes.get(key, (seg[2], now, 0))
                self.holes[key] = (max(length, seg[2]), first, drops + 1)
            return
        if seg is not None and seg[2] > 0:
            # A transmission that gets through repairs every hole of this flow whose first byte
            # it carries (a retransmission may be split or merged differently).
            for key in [k for k in self.holes if k[0] == seg[0] and rel <= k[1] < rel + seg[2]]:
                _, first, drops = self.holes.pop(key)
                self.repairs.append(((now - first) * 1000, drops))
        release = max(now + self.transit(), self.last_release)
        self.last_release = release
        heapq.heappush(self.queue, (release, self.order, pkt))
        self.order += 1

    def flush(self, now):
        while self.queue and self.queue[0][0] <= now:
            _, _, pkt = heapq.heappop(self.queue)
            try:
                os.write(self.out_fd, pkt)
            except OSError:
                pass  # the device went away with its namespace

    def summary(self):
        times = sorted(ms for ms, _ in self.repairs)

        def pct(p):
            return times[min(len(times) - 1, int(p / 100 * len(times)))] if times else 0.0

        again = sum(1 for _, drops in self.repairs if drops > 1)
        return (f"delay_line: {self.name}: {self.packets} packets, {self.dropped} dropped "
                f"({self.data_drops} with data); {len(times)} repairs: p10 {pct(10):.1f} "
                f"p50 {pct(50):.1f} p90 {pct(90):.1f} max {times[-1] if times else 0:.1f} ms, "
                f"{again} needed more than one retransmission, {len(self.holes)} unrepaired")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tun-a", required=True, help="device on the harness side")
    ap.add_argument("--tun-b", required=True, help="device on the server side")
    ap.add_argument("--delay-ms", type=float, default=30)
    ap.add_argument("--jitter-ms", type=float, default=10)
    ap.add_argument("--loss", type=float, default=0.01, help="per packet, each direction")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration-s", type=float, default=600)
    ap.add_argument("--log", help="one line per repair: direction, ms, drops")
    args = ap.parse_args()

    fd_a, fd_b = open_tun(args.tun_a), open_tun(args.tun_b)
    rng = random.Random(args.seed)
    to_b = Direction("harness->server", fd_b, random.Random(rng.random()), args)
    to_a = Direction("server->harness", fd_a, random.Random(rng.random()), args)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    print("ready", flush=True)
    end = time.monotonic() + args.duration_s
    while not stop and time.monotonic() < end:
        now = time.monotonic()
        next_release = min([d.queue[0][0] for d in (to_a, to_b) if d.queue] + [now + 0.05])
        try:
            readable, _, _ = select.select([fd_a, fd_b], [], [], max(0.0, next_release - now))
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd, direction in ((fd_a, to_b), (fd_b, to_a)):
            if fd in readable:
                while True:
                    try:
                        pkt = os.read(fd, 65536)
                    except (BlockingIOError, OSError):
                        break
                    direction.take(pkt, now)
        now = time.monotonic()
        to_a.flush(now)
        to_b.flush(now)
    for d in (to_b, to_a):
        print(d.summary(), flush=True)
    if args.log:
        with open(args.log, "w") as f:
            for d in (to_b, to_a):
                for ms, drops in d.repairs:
                    f.write(f"{d.name} {ms:.2f} {drops}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
