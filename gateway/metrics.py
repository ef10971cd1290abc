"""The gateway's Prometheus metrics (the request metrics are counted by ``gateway.http.request_metrics``)."""

from __future__ import annotations

import gc
import itertools
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

REQUESTS = Counter("gateway_requests_total", "Requests answered", ["method", "path", "status_code"])
REQUEST_SECONDS = Histogram(
    "gateway_request_duration_seconds", "Time to answer a request, in seconds", ["method", "path", "status_code"]
)
REQUESTS_IN_PROGRESS = Gauge("gateway_requests_in_progress", "Requests under way", ["method", "path"])
HUB_CALLBACKS = Counter("gateway_hub_callbacks_total", "Hub result callbacks by outcome", ["outcome"])
PAYMENTS_CREATED = Counter("gateway_payments_created_total", "Payments created", ["outcome"])

# Things an operator must act on, counted from the database whenever /metrics is read (see ``gateway.gauges``), so
# every gateway process reports the same numbers.
RECEIPTS_UNISSUED = Gauge(
    "gateway_receipts_unissued",
    "Collected sources held without a receipt (no signing key, data a receipt cannot carry); "
    "listed by `gateway receipts unissued`",
    ["source_type"],
)
COD_EXCEPTIONS_OPEN = Gauge(
    "gateway_cod_exceptions_open",
    "COD collections the post reported that were not taken as received (amount mismatch, shipment that cannot "
    "collect), held for reconciliation; listed by `gateway shipments cod-exceptions`",
)
WEBHOOK_ATTEMPTS = Counter(
    "gateway_webhook_attempts_total",
    "Webhook delivery attempts by outcome: delivered, http_status, could_not_connect, no_answer, no_valid_answer, "
    "too_large, not_signed (a stored secret no configured key opens)",
    ["outcome"],
)
DATABASE_UNAVAILABLE = Counter(
    "gateway_database_unavailable_total",
    "Answers given because the database was unavailable (503 problems, the hub's 99, failed readiness checks)",
    ["where"],
)
GC_PAUSE_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)


class CollectorWatch:
    """Times each run of Python's cyclic collector (``gc.callbacks``: a call as it starts and as it stops) and
    serves the pauses as the histogram ``gateway_gc_pause_seconds``, by generation, with the objects kept out of its
    way since start-up (``gateway_gc_frozen_objects``, ``gateway.heap``).

    The counts are plain numbers updated inside the callback, with no lock: a collection may start while this very
    thread holds one of prometheus_client's metric locks (a scrape, an observation), and taking that lock again from
    the callback would hang the process."""

    def __init__(self) -> None:
        self.started = 0.0
        self.counts = [[0] * len(GC_PAUSE_BUCKETS) for _ in range(3)]  # pauses up to each bound, not cumulated
        self.totals = [0.0] * 3
        self.pauses = [0] * 3

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        paused, generation = time.perf_counter() - self.started, info["generation"]
        self.pauses[generation] += 1
        self.totals[generation] += paused
        for index, bound in enumerate(GC_PAUSE_BUCKETS):
            if paused <= bound:
                self.counts[generation][index] += 1
                break

    def collect(self) -> Iterator[HistogramMetricFamily | GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "gateway_gc_frozen_objects",
            "Objects the process held once it was up, moved out of the collector's way (gateway.heap): a full "
            "collection walks only what was made since",
            value=gc.get_freeze_count(),
        )
        family = HistogramMetricFamily(
            "gateway_gc_pause_seconds",
            "Time the process stood still in Python's cyclic garbage collector, by generation: every request and "
            "job of the process waits meanwhile, so long pauses show in the latency's tail",
            labels=["generation"],
        )
        for generation in range(3):
            cumulated = list(itertools.accumulate(self.counts[generation]))
            buckets = [(str(bound), float(n)) for bound, n in zip(GC_PAUSE_BUCKETS, cumulated, strict=True)]
            buckets.append(("+Inf", float(self.pauses[generation])))
            family.add_metric([str(generation)], buckets, self.totals[generation])
        yield family


def watch_collector() -> None:
    """Count the collector's pauses in this process; once, however often it is called."""
    if not any(isinstance(callback, CollectorWatch) for callback in gc.callbacks):
        watch = CollectorWatch()
        REGISTRY.register(watch)
        gc.callbacks.append(watch)
