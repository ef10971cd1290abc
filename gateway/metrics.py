"""The gateway's own Prometheus metrics (request metrics come from Litestar's Prometheus middleware)."""

from __future__ import annotations

from prometheus_client import Counter

HUB_CALLBACKS = Counter("gateway_hub_callbacks_total", "Hub result callbacks by outcome", ["outcome"])
PAYMENTS_CREATED = Counter("gateway_payments_created_total", "Payments created", ["outcome"])
WEBHOOK_ATTEMPTS = Counter(
    "gateway_webhook_attempts_total",
    "Webhook delivery attempts by outcome: delivered, http_status, could_not_connect, no_answer, no_valid_answer, "
    "too_large, not_signed (a stored secret no configured key opens)",
    ["outcome"],
)
