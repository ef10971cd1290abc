"""Load generation and figures for the benchmarks: closed-loop clients on loopback, bounded in count and time,
with throughput and p50/p99 latency, and ratios to a baseline measured in the same run."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Figures:
    name: str
    count: int
    seconds: float
    latencies: list[float] = field(repr=False)
    errors: int = 0

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self, baseline: Figures | None = None) -> str:
        ratio = f"  ratio {self.per_second / baseline.per_second:.3f}" if baseline else ""
        return (
            f"{self.name:<34} {self.per_second:8.1f}/s  p50 {self.percentile(0.5):7.2f} ms  "
            f"p99 {self.percentile(0.99):7.2f} ms  n={self.count} errors={self.errors}{ratio}"
        )


async def closed_loop(
    name: str,
    one: Callable[[httpx.AsyncClient, int], Awaitable[bool]],
    *,
    concurrency: int = 16,
    requests: int = 2000,
    max_seconds: float = 60.0,
) -> Figures:
    """Run ``requests`` calls of ``one`` from ``concurrency`` clients; ``one`` returns whether the call succeeded."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))
    deadline = time.perf_counter() + max_seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                if time.perf_counter() > deadline:
                    return
                start = time.perf_counter()
                ok = await one(client, i)
                latencies.append(time.perf_counter() - start)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return Figures(name, len(latencies) - errors, elapsed, latencies, errors)


def median_of(runs: list[Figures]) -> Figures:
    """The run with the median throughput: the machines are shared and noisy."""
    ordered = sorted(runs, key=lambda f: f.per_second)
    return ordered[len(ordered) // 2]


def spread(runs: list[Figures]) -> str:
    rates = [f.per_second for f in runs]
    return f"(runs: {', '.join(f'{r:.0f}' for r in rates)}; stdev {statistics.pstdev(rates):.0f})"


def python() -> str:
    return sys.executable
