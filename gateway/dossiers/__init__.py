"""The dossier view: everything the gateway knows about one dossier, in one answer, composed from the payments
area and the events (it keeps no table of its own).

The public surface: ``show`` (the view of one dossier) and its message, ``DossierOut``."""

from .presenter import DossierOut
from .service import show

__all__ = ["DossierOut", "show"]
