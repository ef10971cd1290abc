"""Refusals as RFC 9457 problem details: the HTTP status that belongs to each code, the documented shape, and the
one exception handler that answers every error of the app with a problem."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from gateway import metrics
from gateway.kernel.errors import CODES, Refused
from gateway.store.db import DatabaseUnavailable

log = logging.getLogger("gateway.errors")

PROBLEM_JSON = "application/problem+json"


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


# The HTTP status of each refusal code: one status per code, whatever raised it.
STATUS: dict[str, int] = {
    "invalid_request": 400,
    "malformed_json": 400,
    "idempotency_key_required": 400,
    "idempotency_key_invalid": 400,
    "postal_event_malformed": 400,
    "unauthorized": 401,
    "postal_signature_invalid": 401,
    "not_found": 404,
    "webhook_not_configured": 404,
    "method_not_allowed": 405,
    "idempotency_key_reused": 409,
    "idempotency_in_progress": 409,
    "payment_not_cancellable": 409,
    "payment_not_refundable": 409,
    "receipt_cancelled": 409,
    "shipment_not_cancellable": 409,
    "break_changed": 409,
    "break_resolved": 409,
    "break_not_assigned": 409,
    "break_not_resolved": 409,
    "body_too_large": 413,
    "unsupported_media_type": 415,
    "rate_limited": 429,
    "hub_rejected": 502,
    "postal_rejected": 502,
    "internal_error": 500,
    "hub_unavailable": 503,
    "postal_unavailable": 503,
    "receipt_signing_unavailable": 503,
    "database_unavailable": 503,
    "not_ready": 503,
    "shutting_down": 503,
}
BUSINESS_RULE = 422  # every other code: valid JSON that breaks a business rule

# Where the edge finds, after a handler's answer, the refusal it was made from (``gateway.http.edge``).
REFUSAL = "gateway.refusal"


def status_of(code: str) -> int:
    return STATUS.get(code, BUSINESS_RULE)


def problem_body(refused: Refused, instance: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:dvc-gateway:problem:{refused.code}",
        "title": CODES[refused.code],
        "status": status_of(refused.code),
        "detail": refused.detail,
        "code": refused.code,
    }
    if instance:
        body["instance"] = instance
    if refused.field:
        body["field"] = refused.field
    if refused.errors:
        body["errors"] = refused.errors
    body.update(refused.extra)
    return body


def problem_headers(refused: Refused) -> dict[str, str]:
    headers = {} if refused.retry_after is None else {"Retry-After": str(refused.retry_after)}
    if refused.code == "unauthorized":
        headers["WWW-Authenticate"] = 'Bearer realm="gateway"'
    return headers


def problem_response(refused: Refused, instance: str = "", headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(
        content=msgspec.json.encode(problem_body(refused, instance)),
        status_code=status_of(refused.code),
        media_type=PROBLEM_JSON,
        headers={**(headers or {}), **problem_headers(refused)},
    )


def _field_of(key: str) -> str:
    # msgspec writes paths like "$.fees[0].amount"; Litestar adds "body" as the key for body errors
    return key.removeprefix("$.").removeprefix("$")


def _idempotency_key_refusal(message: str) -> Refused:
    code = "idempotency_key_required" if message.lower().startswith("missing") else "idempotency_key_invalid"
    return Refused(code, message, field="Idempotency-Key")


def _validation_refusal(exc: ValidationException) -> Refused:
    detail = str(exc.detail)
    if "'idempotency-key'" in detail.lower():
        return _idempotency_key_refusal(detail)
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
        return Refused("malformed_json", errors[0]["message"] if errors else "")
    for e in errors:
        if e["field"].lower() == "idempotency-key":
            return _idempotency_key_refusal(e["message"])
    first = errors[0] if errors else {"field": "", "message": str(exc.detail)}
    return Refused("invalid_request", first["message"], field=first["field"] or None, errors=errors)


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


def retry_after(request: Request[Any, Any, Any]) -> int:
    """The Retry-After of answers that say a dependency is down (a setting; 5 s when the app has none)."""
    container = getattr(request.app.state, "container", None)
    return int(getattr(getattr(container, "settings", None), "database_retry_after_seconds", 5))


def _http_refusal(exc: HTTPException) -> Refused | None:
    if exc.status_code == 400 and _caused_by_decoding(exc):
        return Refused("malformed_json", str(exc.detail))
    code = _STATUS_CODES.get(exc.status_code)
    if code is None and exc.status_code < 500:
        code = "invalid_request"
    if code is None:
        return None
    headers = dict(exc.headers or {})
    wait = headers.get("Retry-After")
    detail = exc.detail if isinstance(exc.detail, str) else ""
    return Refused(code, detail, retry_after=int(wait) if wait and wait.isdigit() else None)


def refusal_of(request: Request[Any, Any, Any], exc: Exception) -> Refused | None:
    """The refusal an exception stands for; None for a fault of our own."""
    if isinstance(exc, Refused):
        return exc
    if isinstance(exc, ValidationException):
        return _validation_refusal(exc)
    if isinstance(exc, DatabaseUnavailable):
        log.warning("database unavailable", extra={"path": request.url.path, "error": str(exc)})
        metrics.DATABASE_UNAVAILABLE.labels(where="request").inc()
        return Refused("database_unavailable", retry_after=retry_after(request))
    if isinstance(exc, HTTPException):
        return _http_refusal(exc)
    return None


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    refused = refusal_of(request, exc)
    if refused is None:
        log.exception("unhandled error", extra={"path": request.url.path})
        refused = Refused("internal_error")
    request.scope.setdefault("state", {})[REFUSAL] = refused
    passed_on = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}  # e.g. a 405's Allow
    return problem_response(refused, request.url.path, passed_on)


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {Exception: handle_exception}
MEDIA_TYPE = MediaType.JSON
