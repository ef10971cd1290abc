"""Events as portals see them: the one envelope used by webhooks and the pull feed (``GET /v1/events``).

The public surface: the envelope (``EventOut``, ``envelope``, ``body``), the outbox columns an envelope is read
from (``COLUMNS``, ``stored``: event delivery reads its queue with them), and a dossier's events (``of_dossier``).
"""

from .model import TEST_TYPE, EventOut, ResourceEvent, StoredEvent, body, envelope
from .repository import COLUMNS, of_dossier, stored

__all__ = [
    "COLUMNS",
    "TEST_TYPE",
    "EventOut",
    "ResourceEvent",
    "StoredEvent",
    "body",
    "envelope",
    "of_dossier",
    "stored",
]
