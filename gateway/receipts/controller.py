"""``/v1/receipts`` and ``/v1/payments/{id}/receipts``: thin handlers over the receipt service.

A receipt is read as JSON at ``/v1/receipts/{id}``, and as its signed XML or a PDF by adding ``.xml`` or ``.pdf``
to that address (one route, since a path parameter cannot share its segment with a suffix).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from gateway.http.pages import DOCUMENT_HEADERS
from gateway.http.problems import problem_responses
from gateway.http.routes import PortalApi
from gateway.kernel import params
from gateway.kernel.attempts import Attempt
from gateway.kernel.errors import Refused
from gateway.kernel.portal import PortalContext
from receipts import Verification, to_pdf

from . import presenter
from .repository import StoredReceipt
from .schemas import CancelReceipt, ReceiptOut, ReceiptPage, ReplaceReceipt
from .service import ReceiptService

XML = "application/xml"
PDF = "application/pdf"


def pdf_of(row: StoredReceipt, verification: Verification) -> bytes:
    """The PDF of a stored receipt, stating whether its signature verifies against its agency's certificates
    (``trust.verify_stored``), with the payer's id number masked (CPU-bound: run in a thread)."""
    return to_pdf(presenter.data_of(row), verification, masked=True)


def document_response(
    row: StoredReceipt, kind: str, pdf: bytes | None = None, *, disposition: str = "inline"
) -> Response[bytes]:
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
    async def get_one(
        self,
        receipt_ref: FromPath[str],
        portal: NamedDependency[PortalContext],
        receipts: NamedDependency[ReceiptService],
    ) -> Response[ReceiptOut]:
        receipt_id, _, kind = receipt_ref.partition(".")
        if kind not in ("", "xml", "pdf"):
            raise Refused("not_found")
        row, verification = await receipts.get(portal, params.resource_id(receipt_id, "rcp"), verified=kind == "pdf")
        if kind == "xml":
            return document_response(row, kind)  # type: ignore[return-value]
        if verification is not None:
            pdf = await asyncio.to_thread(pdf_of, row, verification)
            return document_response(row, kind, pdf)  # type: ignore[return-value]
        return Response(presenter.view(row))

    @get("/receipts", summary="List receipts, newest first", responses=problem_responses(400, 401))
    async def list_receipts(
        self,
        portal: NamedDependency[PortalContext],
        receipts: NamedDependency[ReceiptService],
        dossier_code: Annotated[str | None, QueryParameter(max_length=64)] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=40)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> ReceiptPage:
        after = params.id_cursor(cursor, "rcp")
        rows, next_cursor = await receipts.page(portal, dossier_code=dossier_code, cursor=after, limit=limit)
        return ReceiptPage(data=[presenter.view(r) for r in rows], next_cursor=next_cursor)

    @get(
        "/payments/{payment_id:str}/receipts",
        summary="The receipts of a payment: the original, then each replacement",
        responses=problem_responses(400, 401, 404),
    )
    async def of_payment(
        self,
        payment_id: FromPath[str],
        portal: NamedDependency[PortalContext],
        receipts: NamedDependency[ReceiptService],
    ) -> list[ReceiptOut]:
        rows = await receipts.of_payment(portal, params.resource_id(payment_id, "pay"))
        return [presenter.view(r) for r in rows]

    @post(
        "/receipts/{receipt_id:str}/cancel",
        status_code=200,
        summary="Cancel a receipt, with a reason",
        responses=problem_responses(400, 401, 404, 409, 413, 415),
    )
    async def cancel(
        self,
        receipt_id: FromPath[str],
        data: JSONBody[CancelReceipt],
        portal: NamedDependency[PortalContext],
        attempt: NamedDependency[Attempt],
        receipts: NamedDependency[ReceiptService],
    ) -> ReceiptOut:
        return presenter.view(
            await receipts.cancel(portal, attempt, params.resource_id(receipt_id, "rcp"), data.reason)
        )

    @post(
        "/receipts/{receipt_id:str}/replace",
        status_code=201,
        summary="Replace a receipt by a corrected one that refers to it; the original is cancelled",
        responses=problem_responses(400, 401, 404, 409, 413, 415, 422, 503),
    )
    async def replace(
        self,
        receipt_id: FromPath[str],
        data: JSONBody[ReplaceReceipt],
        portal: NamedDependency[PortalContext],
        attempt: NamedDependency[Attempt],
        receipts: NamedDependency[ReceiptService],
    ) -> ReceiptOut:
        return presenter.view(await receipts.replace(portal, attempt, params.resource_id(receipt_id, "rcp"), data))
