"""Postal pickup and delivery of dossiers and results (Decision 45/2016/QĐ-TTg), with fees collected on delivery.

``service`` books and cancels parcels at the post, ``tracking`` records the post's events from its webhook
(``callbacks``), its polled feed (the worker's ``jobs``) and its order history, ``cod`` keeps what the post
collected, and ``collections`` offers it to the receipt issuer (``CodCollections``); ``state`` holds the pure
rules, ``repository`` all the SQL, ``presenter`` the API's representation; ``reconciling`` gives reconciliation a
window's COD collections (``cod_collected_between``).
"""

from .collections import CodCollections
from .reconciling import CodCollected, cod_collected_between
from .repository import count_open_exceptions, open_exceptions, without_receipt
from .service import ShipmentService
from .tracking import PostalTracking

__all__ = [
    "CodCollected",
    "CodCollections",
    "PostalTracking",
    "ShipmentService",
    "cod_collected_between",
    "count_open_exceptions",
    "open_exceptions",
    "without_receipt",
]
