"""A runnable stand-in for the national payment hub, speaking payhub v2 (the payhub spec).

Checkout pages, callbacks with their retry ladder, query, refund, settlement files, and a control API for
tests and demos to pay programmatically and inject faults.
"""

from .app import create_app, serve
from .config import SandboxConfig

__all__ = ["SandboxConfig", "create_app", "serve"]
