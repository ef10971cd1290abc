"""The gateway's own Prometheus metrics (request metrics come from Litestar's Prometheus middleware)."""

from __future__ import annotations

from prometheus_client import Counter

HUB_CALLBACKS = Counter("gateway_hub_callbacks_total", "Hub result callbacks by outcome", ["outcome"])
PAYMENTS_CREATED = Counter("gateway_payments_created_total", "Payments created", ["outcome"])
DATABASE_UNAVAILABLE = Counter(
    "gateway_database_unavailable_total",
    "Answers given because the database was unavailable (503 problems, the hub's 99, failed readiness checks)",
    ["where"],
)
