"""What stood the gateway still during a run: its own collector's pauses (from its ``/metrics``, the
``gateway_gc_pause_seconds`` histogram, read before and after) and PostgreSQL's checkpoints meanwhile; and how
many of the route's requests the app itself took long over (``gateway_request_duration_seconds``, from the route's
middleware to its answer: what it does not time is the wait before, for the loop and the server); and how many
times autovacuum vacuumed or analysed a table of the benchmark's database meanwhile."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.seed import connect
from gateway.metrics import GC_PAUSE_BUCKETS

LONG_PAUSE = 0.005  # seconds: a pause longer than this is as long as a request's p50 or more
SLOW = (0.005, 0.01)  # seconds: the request histogram's bounds the app's own slow answers are counted above
assert LONG_PAUSE in GC_PAUSE_BUCKETS, "the long pauses are counted from the histogram's bucket of this bound"


@dataclass(frozen=True)
class Reading:
    pauses: float  # how many runs of the collector
    paused: float  # seconds, all generations
    long: float  # runs longer than LONG_PAUSE
    checkpoints: int
    answered: float = 0.0  # the route's requests answered
    slow: tuple[float, ...] = (0.0, 0.0)  # of those, how many the app took longer than each of SLOW over
    autovacuums: int = 0  # autovacuum's and autoanalyze's runs on the benchmark database's tables

    def since(self, before: Reading) -> Reading:
        return Reading(
            self.pauses - before.pauses,
            self.paused - before.paused,
            self.long - before.long,
            self.checkpoints - before.checkpoints,
            self.answered - before.answered,
            tuple(a - b for a, b in zip(self.slow, before.slow, strict=True)),
            self.autovacuums - before.autovacuums,
        )

    def text(self, seconds: float) -> str:
        share = self.paused / seconds if seconds else 0.0
        slow = ", ".join(
            f"{count / self.answered if self.answered else 0:.2%} over {bound * 1000:g} ms"
            for bound, count in zip(SLOW, self.slow, strict=True)
        )
        return (
            f"collector: {self.pauses:,.0f} pauses, {self.paused * 1000:,.0f} ms in all ({share:.2%} of the run), "
            f"{self.long:,.0f} longer than {LONG_PAUSE * 1000:.0f} ms; PostgreSQL checkpoints: {self.checkpoints}, "
            f"autovacuum runs: {self.autovacuums}; "
            f"the app's own time for the route: {slow}"
        )


async def read(gateway_url: str, database_url: str, route: str = "") -> Reading:
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"{gateway_url}/metrics")).raise_for_status().text
    pauses = paused = under = answered = 0.0
    within = dict.fromkeys(SLOW, 0.0)  # cumulative buckets: the route's answers within each bound
    for family in text_string_to_metric_families(text):
        if family.name == "gateway_request_duration_seconds":
            for sample in family.samples:
                if sample.labels.get("path") != route:
                    continue
                if sample.name.endswith("_count"):
                    answered += sample.value
                elif sample.name.endswith("_bucket") and float(sample.labels["le"]) in within:
                    within[float(sample.labels["le"])] += sample.value
            continue
        if family.name != "gateway_gc_pause_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_count"):
                pauses += sample.value
            elif sample.name.endswith("_sum"):
                paused += sample.value
            elif sample.name.endswith("_bucket") and float(sample.labels["le"]) == LONG_PAUSE:
                under += sample.value  # cumulative: the pauses shorter than LONG_PAUSE
    slow = tuple(answered - within[bound] for bound in SLOW)
    done, vacuums = await maintenance(database_url)
    return Reading(pauses, paused, pauses - under, done, answered, slow, vacuums)


async def maintenance(database_url: str) -> tuple[int, int]:
    """PostgreSQL's checkpoints so far, and autovacuum's runs on this database's tables."""
    connection = await connect(database_url)
    try:
        vacuums = await connection.fetchval(
            "SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) FROM pg_stat_user_tables"
        )
        return await _checkpoints(connection), int(vacuums)
    finally:
        await connection.close()


async def _checkpoints(connection: asyncpg.Connection) -> int:
    for query in (
        "SELECT num_timed + num_requested FROM pg_stat_checkpointer",  # PostgreSQL 17 and later
        "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter",
    ):
        try:
            return int(await connection.fetchval(query))
        except asyncpg.PostgresError:
            continue
    return 0
