"""The gateway's own Prometheus metrics (request metrics come from Litestar's Prometheus middleware)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

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
