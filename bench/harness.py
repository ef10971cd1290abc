"""Figures of the benchmarks that keep a Python harness (the postal feed poll, receipts, event delivery):
throughput and p50/p99 latency, and ratios to a baseline measured in the same run. HTTP load is wrk's
(bench/load.py): a Python client cannot measure a Python server."""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.load import Load


ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Figures:
    name: str
    count: int
    seconds: float
    latencies: list[float] = field(repr=False)
    errors: int = 0
    fixed: tuple[float, float] | None = None  # (p50, p99) in ms, when a generator reported them (wrk)

    @classmethod
    def of_load(cls, name: str, figures: Load) -> Figures:
        """A wrk run's figures."""
        errors = figures.bad + sum(figures.errors.values())
        return cls(name, figures.ok, figures.seconds, [], errors, (figures.p50_ms, figures.p99_ms))

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if self.fixed is not None and q in (0.5, 0.99):
            return self.fixed[0] if q == 0.5 else self.fixed[1]
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


def median_of(runs: list[Figures]) -> Figures:
    """The run with the median throughput: the machines are shared and noisy."""
    ordered = sorted(runs, key=lambda f: f.per_second)
    return ordered[len(ordered) // 2]


def spread(runs: list[Figures]) -> str:
    rates = [f.per_second for f in runs]
    return f"(runs: {', '.join(f'{r:.0f}' for r in rates)}; stdev {statistics.pstdev(rates):.0f})"


def python() -> str:
    return sys.executable
