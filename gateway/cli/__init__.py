"""The ``gateway`` command: serve, worker, migrate, portals and agencies, what operators must act on (receipts not
issued, COD reports held), finance staff accounts, a day's reconciliation by hand, OpenAPI export, sandboxes, and
``run``."""

from __future__ import annotations

import argparse

from gateway.settings import SettingsError

from . import agencies, operators, portals, reconcile, server, staff, webhooks


def parser() -> argparse.ArgumentParser:
    """Every command group, in the order ``--help`` lists them."""
    found = argparse.ArgumentParser(prog="gateway", description=__doc__)
    sub = found.add_subparsers(dest="command", required=True)
    server.register_processes(sub)
    portals.register(sub)
    webhooks.register(sub)
    agencies.register(sub)
    operators.register(sub)
    staff.register(sub)
    reconcile.register(sub)
    server.register_tools(sub)
    return found


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except SettingsError as exc:
        raise SystemExit(f"gateway: {exc}") from None


__all__ = ["main", "parser"]
