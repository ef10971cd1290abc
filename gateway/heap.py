"""A served process's heap, kept out of the cyclic collector's way once the process is up.

Everything a gateway or worker process holds when it has started (the modules, the app and its routes, the pools,
the compiled statements, the templates: about 190,000 tracked objects) lives as long as the process. Left in the
collector's oldest generation, each full collection walks all of it again, about 100 ms here during which every
request and job of the process waits. ``freeze_startup`` collects what start-up left behind, then moves the rest to
the permanent generation (``gc.freeze``), so a full collection walks only what was made since. Its own collection
is one full pause at each start (``gateway_gc_pause_seconds``, generation 2).

What was frozen and later becomes cyclic garbage is kept until the process ends (or the next ``freeze_startup``):
at most what start-up made, never a growth. Only processes that serve call it (``gateway serve``'s app, the
worker): an app built inside another process (tests, tools) leaves that process's heap alone.
"""

from __future__ import annotations

import gc


def freeze_startup() -> int:
    """Collect start-up's garbage, then freeze what is left; the objects frozen. Safe to call again (the worker
    starts again after losing Redis): what was frozen before is unfrozen first, so a container closed since is
    collected rather than kept for good."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
