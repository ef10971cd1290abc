"""The gateway's own Prometheus metrics (request metrics come from Litestar's Prometheus middleware)."""

from __future__ import annotations

from prometheus_client import Counter

HUB_CALLBACKS = Counter("gateway_hub_callbacks_total", "Hub result callbacks by outcome", ["outcome"])
PAYMENTS_CREATED = Counter("gateway_payments_created_total", "Payments created", ["outcome"])
