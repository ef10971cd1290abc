"""``/v1/receipts`` and ``/v1/payments/{id}/receipts``: thin handlers over the receipt views and corrections.

A receipt is read as JSON at ``/v1/receipts/{id}``, and as its signed XML or a PDF by adding ``.xml`` or ``.pdf``
to that address (one route, since a path parameter cannot share its segment with a suffix).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy import select

from adapters.vntime import now_utc
from gateway import idempotency, params
from gateway.errors import Problem, problem_responses
from gateway.pages import DOCUMENT_HEADERS
from gateway.payments.service import Answer
from gateway.services import services
from gateway.store import tables as t
from gateway.web import IdempotencyKey, PortalApi, idempotent, portal_of, strict_body
from receipts import Verification, to_pdf

from . import corrections, trust, views
from .schemas import CancelReceipt, ReceiptOut, ReceiptPage, ReplaceReceipt
from .sources import PAYMENT

LIST_FILTERS = frozenset({"dossier_code", "cursor", "limit"})
XML = "application/xml"
PDF = "application/pdf"


def pdf_of(row: Any, verification: Verification) -> bytes:
    """The PDF of a stored receipt, stating whether its signature verifies against its agency's certificates
    (``trust.verify_stored``), with the payer's id number masked (CPU-bound: run in a thread)."""
    return to_pdf(views.data_of(row), verification, masked=True)


def document_response(row: Any, kind: str, pdf: bytes | None = None, *, disposition: str = "inline") -> Response[bytes]:
    """The signed XML or the PDF of a receipt, named after its series and number."""
    name = f"bien-lai-{row.series}-{row.number:07d}.{kind}"
    content, media = (row.xml, XML) if kind == "xml" else (pdf or b"", PDF)
    headers = {**DOCUMENT_HEADERS, "Content-Disposition": f'{disposition}; filename="{name}"'}
    return Response(content, media_type=media, headers=headers)


class ReceiptController(PortalApi):
    path = "/v1"
    tags = ("receipts",)

    @get(
        "/receipts/{receipt_ref:str}",
        summary="Get a receipt (JSON); add .xml for the signed XML or .pdf for the PDF",
        responses=problem_responses(400, 401, 404),
    )
    async def get_one(self, request: Request[Any, Any, Any], receipt_ref: FromPath[str]) -> Response[ReceiptOut]:
        receipt_id, _, kind = receipt_ref.partition(".")
        if kind not in ("", "xml", "pdf"):
            raise Problem(404, "not_found")
        receipt_id = params.resource_id(receipt_id, "rcp")
        async with services(request).db.read() as conn:
            row = await views.load(conn, receipt_id, portal_of(request).portal_id)
            verification = await trust.verify_stored(conn, row) if row is not None and kind == "pdf" else None
        if row is None:
            raise Problem(404, "not_found")
        if kind == "xml":
            return document_response(row, kind)  # type: ignore[return-value]
        if verification is not None:
            pdf = await asyncio.to_thread(pdf_of, row, verification)
            return document_response(row, kind, pdf)  # type: ignore[return-value]
        return Response(views.view(row))

    @get("/receipts", summary="List receipts, newest first", responses=problem_responses(400, 401))
    async def list_receipts(
        self,
        request: Request[Any, Any, Any],
        dossier_code: Annotated[str | None, QueryParameter(max_length=64)] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=40)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> ReceiptPage:
        unknown = sorted(set(request.query_params) - LIST_FILTERS)
        if unknown:
            raise Problem(400, "invalid_request", f"unknown query parameter {unknown[0]!r}", field=unknown[0])
        after = params.id_cursor(cursor, "rcp")
        async with services(request).db.read() as conn:
            rows, next_cursor = await views.list_page(
                conn, portal_of(request).portal_id, dossier_code=dossier_code, cursor=after, limit=limit
            )
        return ReceiptPage(data=[views.view(r) for r in rows], next_cursor=next_cursor)

    @get(
        "/payments/{payment_id:str}/receipts",
        summary="The receipts of a payment: the original, then each replacement",
        responses=problem_responses(400, 401, 404),
    )
    async def of_payment(self, request: Request[Any, Any, Any], payment_id: FromPath[str]) -> list[ReceiptOut]:
        portal_id = portal_of(request).portal_id
        payment_id = params.resource_id(payment_id, "pay")
        async with services(request).db.read() as conn:
            p = t.payments.c
            found = await conn.execute(select(p.id).where(p.id == payment_id, p.portal_id == portal_id))
            if found.first() is None:
                raise Problem(404, "not_found")
            rows = await views.of_source(conn, PAYMENT, payment_id, portal_id)
        return [views.view(r) for r in rows]

    @post(
        "/receipts/{receipt_id:str}/cancel",
        status_code=200,
        summary="Cancel a receipt, with a reason",
        responses=problem_responses(400, 401, 404, 409, 413, 415),
    )
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        receipt_id: FromPath[str],
        data: JSONBody[CancelReceipt],
        idempotency_key: IdempotencyKey,
    ) -> Response[ReceiptOut]:
        receipt_id = params.resource_id(receipt_id, "rcp")
        body = await strict_body(request, CancelReceipt)
        portal_id = portal_of(request).portal_id

        async def change(tx: Any, now: Any) -> Any:
            return await corrections.cancel(tx, receipt_id, portal_id, body.reason, now)

        return await idempotent(request, _in_one_transaction(request, change))  # type: ignore[return-value]

    @post(
        "/receipts/{receipt_id:str}/replace",
        status_code=201,
        summary="Replace a receipt by a corrected one that refers to it; the original is cancelled",
        responses=problem_responses(400, 401, 404, 409, 413, 415, 422, 503),
    )
    async def replace(
        self,
        request: Request[Any, Any, Any],
        receipt_id: FromPath[str],
        data: JSONBody[ReplaceReceipt],
        idempotency_key: IdempotencyKey,
    ) -> Response[ReceiptOut]:
        receipt_id = params.resource_id(receipt_id, "rcp")
        body = await strict_body(request, ReplaceReceipt)
        portal_id = portal_of(request).portal_id
        svc = services(request)

        async def change(tx: Any, now: Any) -> Any:
            return await corrections.replace(tx, receipt_id, portal_id, body, svc.receipt_keys, svc.settings, now)

        return await idempotent(request, _in_one_transaction(request, change, 201))  # type: ignore[return-value]


def _in_one_transaction(
    request: Request[Any, Any, Any], change: Callable[[Any, Any], Awaitable[Any]], status: int = 200
) -> Callable[[idempotency.Claim], Awaitable[Answer]]:
    """The change, its events and the stored answer for the Idempotency-Key, committed together."""

    async def action(claim: idempotency.Claim) -> Answer:
        async with services(request).db.transaction() as tx:
            row = await change(tx, now_utc())
            answer = Answer(status, msgspec.json.encode(views.view(row)))
            await idempotency.complete(tx, claim, answer.status_code, answer.body, row.id)
        return answer

    return action
