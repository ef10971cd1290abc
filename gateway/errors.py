"""Errors as RFC 9457 problem details, each with a stable ``code`` that portals can branch on."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from gateway import metrics
from gateway.store.db import DatabaseUnavailable

log = logging.getLogger("gateway.errors")

PROBLEM_JSON = "application/problem+json"

# Every code the API can answer with: the one catalogue (docs/errors.md is generated from it by a test).
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
    "rate_limited": "Too many requests",
    "database_unavailable": "The database is not available; retry later with the same Idempotency-Key",
    "not_ready": "A dependency is not available",
    "internal_error": "Internal error",
}


class FieldError(msgspec.Struct):
    field: str
    message: str


class ProblemDetails(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details, as documented in the OpenAPI document."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str = ""
    field: str | None = None
    errors: list[FieldError] | None = None


_DESCRIPTIONS = {
    400: "Invalid request, malformed JSON or a missing Idempotency-Key",
    401: "Missing or invalid API key",
    404: "No such resource for this portal",
    409: "Conflicting state, or an Idempotency-Key reused or in progress",
    413: "Body too large",
    415: "Body is not application/json",
    422: "The request is valid JSON but breaks a business rule",
    429: "The API key's request budget is spent; retry after Retry-After seconds",
    502: "The payment hub or the post refused the request",
    503: "The payment hub, the post or the database could not be reached; retry with the same Idempotency-Key",
}


def problem_responses(*statuses: int) -> dict[int, Any]:
    """OpenAPI response specs for the problem answers a handler can give (every portal API route may answer 429,
    when its key's rate limit is spent)."""
    from litestar.openapi.datastructures import ResponseSpec

    statuses = (*statuses, 429) if 429 not in statuses else statuses

    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            description=_DESCRIPTIONS[status],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in statuses
    }


class Problem(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        detail: str = "",
        *,
        field: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        if code not in CODES:
            raise ValueError(f"unknown problem code {code!r}")
        super().__init__(detail or CODES[code])
        self.status = status
        self.code = code
        self.detail = detail or CODES[code]
        self.field = field
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self, instance: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"urn:dvc-gateway:problem:{self.code}",
            "title": CODES[self.code],
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        if self.field:
            body["field"] = self.field
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


def problem_response(problem: Problem, instance: str = "") -> Response[bytes]:
    return Response(
        content=msgspec.json.encode(problem.body(instance)),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def _field_of(key: str) -> str:
    # msgspec writes paths like "$.fees[0].amount"; Litestar adds "body" as the key for body errors
    return key.removeprefix("$.").removeprefix("$")


def _validation_problem(exc: ValidationException) -> Problem:
    detail = str(exc.detail)
    if "'idempotency-key'" in detail.lower():
        code = "idempotency_key_required" if detail.lower().startswith("missing") else "idempotency_key_invalid"
        return Problem(400, code, detail, field="Idempotency-Key")
    errors: list[dict[str, str]] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            message = str(item.get("message", ""))
            field = _field_of(str(item.get("key", "")))
            if " - at `" in message:
                message, _, path = message.partition(" - at `")
                field = _field_of(path.rstrip("`"))
            errors.append({"field": field, "message": message})
    if any("malformed" in e["message"].lower() or "json" in e["message"].lower() for e in errors) and not any(
        e["field"] and e["field"] != "body" for e in errors
    ):
        return Problem(400, "malformed_json", errors[0]["message"] if errors else "")
    for e in errors:
        if e["field"].lower() == "idempotency-key":
            code = "idempotency_key_required" if "missing" in e["message"].lower() else "idempotency_key_invalid"
            return Problem(400, code, e["message"], field="Idempotency-Key")
    first = errors[0] if errors else {"field": "", "message": str(exc.detail)}
    return Problem(400, "invalid_request", first["message"], field=first["field"] or None, errors=errors)


_STATUS_CODES = {
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "not_ready",
}


def _caused_by_decoding(exc: BaseException) -> bool:
    from litestar.exceptions import SerializationException

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, msgspec.DecodeError | SerializationException):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def retry_after(request: Request[Any, Any, Any]) -> str:
    """The Retry-After of answers that say a dependency is down (a setting; 5 s when the app has none)."""
    services = getattr(request.app.state, "services", None)
    return str(getattr(getattr(services, "settings", None), "database_retry_after_seconds", 5))


def database_unavailable(request: Request[Any, Any, Any]) -> Problem:
    return Problem(503, "database_unavailable", headers={"Retry-After": retry_after(request)})


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    instance = request.url.path
    if isinstance(exc, Problem):
        return problem_response(exc, instance)
    if isinstance(exc, ValidationException):
        return problem_response(_validation_problem(exc), instance)
    if isinstance(exc, DatabaseUnavailable):
        log.warning("database unavailable", extra={"path": instance, "error": str(exc)})
        metrics.DATABASE_UNAVAILABLE.labels(where="request").inc()
        return problem_response(database_unavailable(request), instance)
    if isinstance(exc, HTTPException):
        if exc.status_code == 400 and _caused_by_decoding(exc):
            return problem_response(Problem(400, "malformed_json", str(exc.detail)), instance)
        code = _STATUS_CODES.get(exc.status_code)
        if code is None and exc.status_code < 500:
            code = "invalid_request"
        if code is not None:
            detail = exc.detail if isinstance(exc.detail, str) else ""
            return problem_response(Problem(exc.status_code, code, detail, headers=dict(exc.headers or {})), instance)
    log.exception("unhandled error", extra={"path": instance})
    return problem_response(Problem(HTTP_500_INTERNAL_SERVER_ERROR, "internal_error"), instance)


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {Exception: handle_exception}
MEDIA_TYPE = MediaType.JSON
