"""Refusals: what the gateway will not do, each with a stable ``code`` that portals can branch on.

Areas raise ``Refused``; the HTTP edge (``gateway.http.problems``) turns it into an RFC 9457 problem with the status
that belongs to its code. Nothing here knows HTTP."""

from __future__ import annotations

from typing import Any

# Every code the gateway can refuse with: the one catalogue (docs/errors.md is generated from it by a test).
CODES: dict[str, str] = {
    "invalid_request": "The request does not match the schema",
    "malformed_json": "The body is not valid JSON",
    "unsupported_media_type": "The body must be application/json",
    "body_too_large": "The body is larger than allowed",
    "unauthorized": "A valid API key is required",
    "not_found": "No such resource",
    "method_not_allowed": "The method is not allowed on this resource",
    "idempotency_key_required": "POST requests need an Idempotency-Key header",
    "idempotency_key_invalid": "The Idempotency-Key header is malformed",
    "idempotency_key_reused": "The Idempotency-Key was used with a different request",
    "idempotency_in_progress": "A request with this Idempotency-Key is still being processed",
    "unknown_agency": "The agency does not exist or is not one of the portal's",
    "unknown_procedure": "The procedure is not in the agency's fee catalogue",
    "unknown_fee": "A fee line is not in the procedure's catalogue",
    "fee_amount_mismatch": "A fee line's amount differs from the catalogue's fixed amount",
    "total_mismatch": "The total does not equal the sum of the fee lines",
    "expiry_out_of_range": "The requested expiry is outside what the gateway allows",
    "hub_unavailable": "The payment hub could not be reached; retry with the same Idempotency-Key",
    "hub_rejected": "The payment hub refused the request",
    "payment_not_cancellable": "Only unpaid payments can be cancelled",
    "payment_not_refundable": "Only paid payments can be refunded",
    "refund_exceeds_balance": "The refund is larger than what is left to refund",
    "invalid_address": "The address is not in the 2025 administrative units",
    "address_ambiguous": "The pre-2025 address maps to several 2025 communes; choose one of the candidates",
    "invalid_phone": "The phone number is not a Vietnamese number",
    "cod_limit_exceeded": "The amount to collect on delivery is above the post's limit",
    "cod_not_allowed": "Fees are collected on delivery only when a result is delivered to the citizen",
    "procedure_not_postal": "The procedure may not go by post",
    "procedure_required": "The agency has procedures that may not go by post: the shipment must name its procedure",
    "agency_not_postal": "The agency has no postal address or phone configured",
    "postal_unavailable": "The post could not be reached; retry with the same Idempotency-Key",
    "postal_rejected": "The post refused the request",
    "shipment_not_cancellable": "Only shipments not yet picked up can be cancelled",
    "postal_signature_invalid": "The post's webhook signature is missing, malformed, stale or wrong",
    "postal_event_malformed": "The post's event cannot be read",
    "receipt_cancelled": "The receipt is already cancelled or replaced",
    "receipt_total_mismatch": "A corrected receipt must state the amount that was collected",
    "invalid_receipt": "The corrected receipt data cannot be put on a receipt",
    "receipt_signing_unavailable": "The agency's receipt signing key is not available",
    "webhook_url_refused": "The webhook URL cannot be used: not http(s), unreadable, or not a public address",
    "webhook_not_configured": "The portal has no enabled webhook endpoint",
    "break_changed": "The break changed since it was read; read it again and retry with its current version",
    "break_resolved": "The break is resolved; reopen it first",
    "break_not_assigned": "The break is not assigned to anyone",
    "break_not_resolved": "Only a resolved break can be reopened",
    "unknown_assignee": "A break is assigned only to an enabled officer or admin of its agency",
    "rate_limited": "Too many requests",
    "database_unavailable": "The database is not available; retry later with the same Idempotency-Key",
    "not_ready": "A dependency is not available",
    "shutting_down": "The gateway is stopping; retry with the same Idempotency-Key",
    "internal_error": "Internal error",
}


class Refused(Exception):
    """A refusal with its code. ``field`` names the offending input; ``errors`` lists several; ``extra`` adds
    members to the problem; ``retry_after`` (seconds) says when trying again may succeed; ``settled``: the
    refusal is the request's final outcome (a retry with the same Idempotency-Key is answered the same), not a
    passing state to be retried."""

    def __init__(
        self,
        code: str,
        detail: str = "",
        *,
        field: str | None = None,
        errors: list[dict[str, str]] | None = None,
        extra: dict[str, Any] | None = None,
        retry_after: int | None = None,
        settled: bool = False,
    ) -> None:
        if code not in CODES:
            raise ValueError(f"unknown refusal code {code!r}")
        super().__init__(detail or CODES[code])
        self.code = code
        self.detail = detail or CODES[code]
        self.field = field
        self.errors = errors
        self.extra = extra or {}
        self.retry_after = retry_after
        self.settled = settled
