"""Load generator: keep-alive HTTP/1.1 POSTs at a fixed concurrency, bounded in count and time; prints JSON.

A minimal client on raw asyncio streams (uvloop when available), so the generator itself costs
as little CPU as possible on a machine it shares with the server and the node.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path


@dataclass
class Tally:
    """Shared counters of one run."""

    budget: int
    deadline: float
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    denied: int = 0

    def take(self) -> bool:
        """Claim one request from the budget, unless it or the time is used up."""
        if self.budget <= 0 or time.perf_counter() >= self.deadline:
            return False
        self.budget -= 1
        return True


def build_requests(host: str, port: int, bodies: list[dict[str, object]], path: str) -> list[bytes]:
    """Return complete HTTP/1.1 requests, one per body."""
    out = []
    for body in bodies:
        payload = json.dumps(body, separators=(",", ":")).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        out.append(head.encode() + payload)
    return out


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Read one response with a Content-Length body; return its status and body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def worker(host: str, port: int, requests: list[bytes], offset: int, tally: Tally, expect: bytes) -> None:
    """Send requests back to back on one connection while the budget lasts."""
    reader, writer = await asyncio.open_connection(host, port)
    source = cycle(requests[offset:] + requests[:offset])
    try:
        while tally.take():
            started = time.perf_counter()
            writer.write(next(source))
            status, body = await read_response(reader)
            tally.latencies.append(time.perf_counter() - started)
            if status != 200:
                tally.failures += 1
            elif expect not in body:
                tally.denied += 1
    finally:
        writer.close()


async def run(
    host: str, port: int, requests: list[bytes], concurrency: int, count: int, seconds: float, expect: bytes
) -> Tally:
    """Run `concurrency` workers until `count` requests or `seconds` are used up."""
    tally = Tally(budget=count, deadline=time.perf_counter() + seconds)
    await asyncio.gather(*(worker(host, port, requests, i, tally, expect) for i in range(concurrency)))
    return tally


def summarize(tally: Tally, elapsed: float) -> dict[str, float]:
    """Return requests per second and latency percentiles in milliseconds."""
    latencies = sorted(tally.latencies)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(cuts[49] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
        "failures": tally.failures,
        "denied": tally.denied,
    }


def main() -> None:
    """Parse arguments, warm up, measure, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--path", default="/bootAuth/app")
    parser.add_argument("--bodies", type=Path, required=True, help="JSON file: a list of request bodies")
    parser.add_argument("--expect", default='"isAllowed":true', help="a good answer contains this text")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--requests", type=int, default=2000, help="stop after this many requests")
    parser.add_argument("--seconds", type=float, default=5.0, help="stop after this long")
    parser.add_argument("--warmup", type=int, default=100, help="requests sent (and not counted) first")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    requests = build_requests(args.host, args.port, json.loads(args.bodies.read_text()), args.path)
    expect = args.expect.encode()
    asyncio.run(run(args.host, args.port, requests, args.concurrency, args.warmup, args.seconds, expect))
    started = time.perf_counter()
    tally = asyncio.run(run(args.host, args.port, requests, args.concurrency, args.requests, args.seconds, expect))
    json.dump(summarize(tally, time.perf_counter() - started), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
