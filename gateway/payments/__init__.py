"""Fee payments through the national payment hub: creation and the hub's init, the hub's callbacks and query
answers (one code path), the janitor, refunds, and the portal API's ``/v1/payments``."""

from .dossier import for_dossier
from .schemas import PaymentOut
from .views import belongs

__all__ = ["PaymentOut", "belongs", "for_dossier"]
