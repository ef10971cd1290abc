"""Where the running sandbox keeps its post office and pusher (on the Litestar app's state)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .orders import PostOffice
    from .push import Pusher


def office_of(request: Any) -> PostOffice:
    office: PostOffice = request.app.state.office
    return office


def pusher_of(request: Any) -> Pusher:
    pusher: Pusher = request.app.state.pusher
    return pusher
