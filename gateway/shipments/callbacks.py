"""``POST /callbacks/postal``: the post's signed push of one status event.

The signature is checked first (any current secret, a 300 s window), on the raw body, before anything is read;
a bad or stale one is answered 401 and nothing is recorded. A signed event is recorded through the same path as
the feed's. Repeats are answered 200 like first deliveries, so the post stops retrying.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency

from adapters.postal import PostalProtocolError, WebhookRejected, parse_event
from adapters.postal import webhook as signatures
from adapters.vntime import now_utc
from gateway.http.problems import problem_response
from gateway.kernel.errors import Refused
from gateway.settings import Settings

from .service import ShipmentService

log = logging.getLogger("gateway.callbacks")


class PostalCallbackController(Controller):
    path = "/callbacks/postal"
    include_in_schema = False

    @post("/", status_code=200)
    async def receive(
        self,
        request: Request[Any, Any, Any],
        settings: NamedDependency[Settings],
        shipments: NamedDependency[ShipmentService],
    ) -> Response[bytes]:
        body = await request.body()
        now = now_utc()
        header = request.headers.get(signatures.HEADER, "")
        try:
            signatures.verify(header, body, settings.postal_webhook_secrets, now)
        except WebhookRejected as exc:
            log.warning("postal webhook refused", extra={"reason": exc.reason})
            problem = Refused("postal_signature_invalid", exc.detail or exc.reason, extra={"reason": exc.reason})
            return problem_response(problem, request.url.path)
        try:
            event = parse_event(body)
        except PostalProtocolError as exc:
            log.warning("postal webhook unreadable", extra={"error": str(exc)})
            return problem_response(Refused("postal_event_malformed", str(exc)), request.url.path)
        tally = await shipments.tracking.record([event], "webhook", now)
        outcome = "recorded" if tally.recorded else "duplicate" if tally.duplicates else "ignored"
        return Response(msgspec.json.encode({"outcome": outcome}), status_code=200, media_type="application/json")
