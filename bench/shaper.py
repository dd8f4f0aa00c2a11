#!/usr/bin/python3
"""A per-connection latency and bandwidth shaper: a plain TCP proxy.

    bench/shaper.py --listen 127.0.0.1:0 --target 127.0.0.1:993 \
                    --rtt-ms 40 --mbit 16 --port-file F --stats-file S

Every accepted connection gets its own upstream connection and, in each
direction, its own simulated link: bytes leave at most at --mbit Mbit/s
(one direction's serialisation delay, like a per-connection bandwidth cap)
and arrive --rtt-ms/2 later (propagation). Opening the upstream connection
costs one round trip, as a TCP handshake does. Bytes are never looked at, so
TLS passes through untouched and clients still verify the server's
certificate (connect to "localhost").

Exchange Online limits throughput per mailbox connection rather than for a
whole client, so a single-connection client is bound by rtt and the per-
connection rate while a client with many connections is not: that is what
this proxy lets a benchmark show.

Flow control: at most --queue-kib bytes (default: twice the bandwidth-delay
product, at least 256 KiB) wait inside the proxy per direction; beyond that
the proxy stops reading, so TCP back-pressure reaches the sender.

--cut-after-kib N resets the first --cut-connections connections (default
1) once the server has sent N KiB on them: a connection dropped in the
middle of a large message, for resume tests.

--port-file gets the listening port once it is bound. On SIGTERM/SIGINT
the proxy writes --stats-file (JSON: connections accepted, peak concurrent
connections, bytes each way) and exits.
"""

import argparse
import asyncio
import json
import os
import signal
import sys
import time

CHUNK = 64 * 1024


class Stats:
    def __init__(self):
        self.accepted = 0
        self.active = 0
        self.peak = 0
        self.upstream_failures = 0
        self.bytes_up = 0    # client -> server
        self.bytes_down = 0  # server -> client
        self.cuts = 0        # connections cut on purpose (--cut-after-kib)

    def as_dict(self):
        return {"connections": self.accepted, "peak_concurrent": self.peak,
                "upstream_failures": self.upstream_failures,
                "bytes_client_to_server": self.bytes_up,
                "bytes_server_to_client": self.bytes_down, "cuts": self.cuts}


class Link:
    """One direction of one connection: a bandwidth-limited, delayed pipe.

    Each chunk finishes "transmission" at max(arrival, previous finish) +
    size/rate and is written to the far side one propagation delay later.
    """

    def __init__(self, rate_bytes_per_s, delay_s, queue_limit):
        self.rate = rate_bytes_per_s
        self.delay = delay_s
        self.queue = asyncio.Queue()
        self.queued_bytes = 0
        self.queue_limit = queue_limit
        self.room = asyncio.Event()
        self.room.set()
        self.tx_free_at = 0.0

    async def pump_in(self, reader, count):
        loop = asyncio.get_running_loop()
        try:
            while True:
                await self.room.wait()
                data = await reader.read(CHUNK)
                if not data:
                    break
                count(len(data))
                now = loop.time()
                start = max(now, self.tx_free_at)
                done = start + (len(data) / self.rate if self.rate > 0 else 0.0)
                self.tx_free_at = done
                self.queued_bytes += len(data)
                if self.queued_bytes >= self.queue_limit:
                    self.room.clear()
                self.queue.put_nowait((done + self.delay, data))
        except (ConnectionError, OSError):
            pass
        finally:
            self.queue.put_nowait(None)

    async def pump_out(self, writer):
        loop = asyncio.get_running_loop()
        try:
            while True:
                item = await self.queue.get()
                if item is None:
                    break
                due, data = item
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
                self.queued_bytes -= len(data)
                if self.queued_bytes < self.queue_limit:
                    self.room.set()
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            pass


async def close_quietly(writer):
    try:
        writer.close()
        await writer.wait_closed()
    except (ConnectionError, OSError):
        pass


async def handle(client_reader, client_writer, args, stats):
    stats.accepted += 1
    stats.active += 1
    stats.peak = max(stats.peak, stats.active)
    rtt = args.rtt_ms / 1000.0
    rate = args.mbit * 1e6 / 8 if args.mbit > 0 else 0.0
    queue_limit = args.queue_kib * 1024
    try:
        if rtt > 0:
            await asyncio.sleep(rtt)  # the handshake's round trip
        try:
            up_reader, up_writer = await asyncio.open_connection(args.target_host, args.target_port)
        except OSError:
            stats.upstream_failures += 1
            return
        up = Link(rate, rtt / 2, queue_limit)
        down = Link(rate, rtt / 2, queue_limit)

        def count_up(n):
            stats.bytes_up += n

        received = [0]

        def count_down(n):
            stats.bytes_down += n
            received[0] += n
            if (args.cut_after_kib and stats.cuts < args.cut_connections
                    and received[0] >= args.cut_after_kib * 1024):
                # A dropped connection mid-transfer: both sides reset at once.
                stats.cuts += 1
                client_writer.transport.abort()
                up_writer.transport.abort()

        await asyncio.gather(up.pump_in(client_reader, count_up), up.pump_out(up_writer),
                             down.pump_in(up_reader, count_down), down.pump_out(client_writer))
        await close_quietly(up_writer)
    finally:
        stats.active -= 1
        await close_quietly(client_writer)


def host_port(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % text)
    return host, int(port)


async def main_async(args):
    stats = Stats()
    server = await asyncio.start_server(lambda r, w: handle(r, w, args, stats),
                                        args.listen_host, args.listen_port,
                                        backlog=1024, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    print("shaper: 127.0.0.1:%d -> %s:%d rtt %g ms, %g Mbit/s per connection and direction"
          % (port, args.target_host, args.target_port, args.rtt_ms, args.mbit),
          file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    if args.stats_file:
        with open(args.stats_file, "w") as f:
            json.dump(dict(stats.as_dict(), rtt_ms=args.rtt_ms, mbit=args.mbit,
                           stopped=time.time()), f)
            f.write("\n")


def main():
    p = argparse.ArgumentParser(description="per-connection latency/bandwidth TCP proxy")
    p.add_argument("--listen", type=host_port, default=("127.0.0.1", 0))
    p.add_argument("--target", type=host_port, required=True)
    p.add_argument("--rtt-ms", type=float, default=40.0, help="round trip time added (ms)")
    p.add_argument("--mbit", type=float, default=16.0,
                   help="per-connection, per-direction rate in Mbit/s (0: unlimited)")
    p.add_argument("--queue-kib", type=int, default=0,
                   help="bytes held per direction before back-pressure (default 2 x BDP, >= 256)")
    p.add_argument("--cut-after-kib", type=int, default=0,
                   help="reset a connection once the server sent it this many KiB (fault injection)")
    p.add_argument("--cut-connections", type=int, default=1,
                   help="how many connections --cut-after-kib resets (default 1)")
    p.add_argument("--port-file")
    p.add_argument("--stats-file")
    args = p.parse_args()
    args.listen_host, args.listen_port = args.listen
    args.target_host, args.target_port = args.target
    if args.rtt_ms < 0 or args.mbit < 0:
        p.error("--rtt-ms and --mbit must not be negative")
    if args.queue_kib <= 0:
        bdp = args.mbit * 1e6 / 8 * args.rtt_ms / 1000.0
        args.queue_kib = max(256, int(2 * bdp / 1024))
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
