"""The collector's pauses are counted by generation, once per process however often the watch is installed."""

from __future__ import annotations

import gc

from prometheus_client import REGISTRY

from gateway.metrics import CollectorWatch, watch_collector


def pauses(generation: int) -> tuple[float, float]:
    labels = {"generation": str(generation)}
    count = REGISTRY.get_sample_value("gateway_gc_pause_seconds_count", labels)
    total = REGISTRY.get_sample_value("gateway_gc_pause_seconds_sum", labels)
    return count or 0.0, total or 0.0


def test_each_run_of_the_collector_is_one_pause_of_its_generation() -> None:
    watch_collector()
    watch_collector()
    assert sum(isinstance(callback, CollectorWatch) for callback in gc.callbacks) == 1
    before = [pauses(generation) for generation in range(3)]
    gc.collect(1)
    gc.collect(2)
    gc.collect(2)
    gc.disable()  # the readings below are of one moment: no collection comes between them
    try:
        after = [pauses(generation) for generation in range(3)]
        bounds = ["0.0005", "0.001", "0.002", "0.005", "0.01", "0.02", "0.05", "0.1", "0.25", "1.0", "+Inf"]
        buckets = [REGISTRY.get_sample_value("gateway_gc_pause_seconds_bucket", {"generation": "2", "le": le})
                   or 0.0 for le in bounds]  # fmt: skip
    finally:
        gc.enable()
    assert after[1][0] - before[1][0] >= 1 and after[2][0] - before[2][0] >= 2
    assert after[2][1] > before[2][1], "a full collection takes some time"
    assert buckets == sorted(buckets) and buckets[-1] == after[2][0], "cumulative, ending at the count"
