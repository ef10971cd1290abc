"""The finance pages (``/finance/``): what finance staff see of reconciliation, in Vietnamese, server-rendered,
for a laptop or a phone: sign-in, the dashboard per agency and day with its chart, runs, breaks and their forms,
and the exports. It reads and changes reconciliation only through ``gateway.reconciliation``'s public surface and
knows staff only through ``gateway.staff``; it owns no table.

Public surface: the controllers the app mounts."""

from .downloads import FinanceExports
from .pages import FinancePages
from .signin import SignInController

__all__ = ["FinanceExports", "FinancePages", "SignInController"]
