"""``gateway staff add|passwd|access|disable|enable|list``: finance staff accounts for the /finance pages.

Disabling an account, or giving it a role or agencies under which it may no longer work a break assigned to it,
returns that break to open, assigned to no one, in the same transaction (the reconciliation's ``AssignedBreaks``).

A password is never an argument (it would sit in the shell's history and the process list): it is asked for at
the terminal (twice), or read from the first line of ``--password-file`` (``-`` for standard input) or of standard
input when it is not a terminal."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from .common import on_database, os_actor, print_rows

LIST_FIELDS = (
    "username",
    "display_name",
    "role",
    "all_agencies",
    "agencies",
    "active",
    "locked_until",
    "last_sign_in_at",
    "created_at",
)


def read_password(source: str | None, confirm: bool = True) -> str:
    if source == "-" or (source is None and not sys.stdin.isatty()):
        return sys.stdin.readline().rstrip("\r\n")
    if source is not None:
        try:
            return Path(source).read_text(encoding="utf-8").splitlines()[0]
        except (OSError, IndexError) as exc:
            raise SystemExit(f"password file {source}: unreadable or empty") from exc
    password = getpass.getpass("Password: ")
    if confirm and getpass.getpass("Again: ") != password:
        raise SystemExit("gateway: the two passwords differ")
    return password


def _run(work: Any) -> Any:
    from gateway.staff import AccountError, WeakPassword

    try:
        return on_database(work)
    except (AccountError, WeakPassword) as exc:
        raise SystemExit(f"gateway: {exc}") from None


def _add(args: argparse.Namespace) -> None:
    from adapters.vntime import now_utc
    from gateway.staff import Passwords, create_account

    password = read_password(args.password_file)
    account = _run(
        lambda db: create_account(
            db,
            Passwords(),
            username=args.username,
            display_name=args.name,
            role=args.role,
            agencies=args.agency or (),
            all_agencies=args.all_agencies,
            password=password,
            now=now_utc(),
            actor=os_actor(),
        )
    )
    print_rows([account], LIST_FIELDS)


def _passwd(args: argparse.Namespace) -> None:
    from adapters.vntime import now_utc
    from gateway.staff import Passwords, change_password

    password = read_password(args.password_file)
    _run(lambda db: change_password(db, Passwords(), args.username, password, now=now_utc(), actor=os_actor()))
    print(f"password of {args.username} changed; its sessions are ended", file=sys.stderr)


def _access(args: argparse.Namespace) -> None:
    from adapters.vntime import now_utc
    from gateway.reconciliation import AssignedBreaks
    from gateway.staff import change_access

    if args.role is None and not args.agency and not args.all_agencies:
        raise SystemExit("gateway: give --role, or --agency … / --all-agencies, or both")
    changed = _run(
        lambda db: change_access(
            db,
            args.username,
            role=args.role,
            agencies=args.agency or (),
            all_agencies=args.all_agencies,
            now=now_utc(),
            actor=os_actor(),
            assigned=AssignedBreaks(),
        )
    )
    print(f"{args.username} changed" if changed else f"{args.username} unchanged", file=sys.stderr)


def _active(active: bool) -> Any:
    def command(args: argparse.Namespace) -> None:
        from adapters.vntime import now_utc
        from gateway.reconciliation import AssignedBreaks
        from gateway.staff import set_active

        changed = _run(
            lambda db: set_active(db, args.username, active, now=now_utc(), actor=os_actor(), assigned=AssignedBreaks())
        )
        state = "enabled" if active else "disabled"
        print(f"{args.username} {state}" if changed else f"{args.username} was already {state}", file=sys.stderr)

    return command


def _list(_args: argparse.Namespace) -> None:
    from gateway.staff import accounts

    rows = _run(accounts)
    print_rows(rows, LIST_FIELDS)
    print(f"{len(rows)} staff account(s)", file=sys.stderr)


def register(sub: Any) -> None:
    staff = sub.add_parser("staff", help="finance staff accounts").add_subparsers(dest="action", required=True)
    p = staff.add_parser("add", help="add a staff account (the password is asked for, or read from a file/stdin)")
    p.add_argument("--username", required=True)
    p.add_argument("--name", required=True, help="the person's name, as the pages show it")
    p.add_argument("--role", required=True, choices=("viewer", "officer", "admin"))
    scope = p.add_mutually_exclusive_group(required=True)
    scope.add_argument("--agency", action="append", help="an agency's code (repeat for several)")
    scope.add_argument("--all-agencies", action="store_true", help="every agency")
    p.add_argument("--password-file", help="read the password from this file's first line ('-': standard input)")
    p.set_defaults(func=_add)
    p = staff.add_parser("passwd", help="set a staff account's password (ends its sessions)")
    p.add_argument("username")
    p.add_argument("--password-file", help="read the password from this file's first line ('-': standard input)")
    p.set_defaults(func=_passwd)
    p = staff.add_parser(
        "access", help="change a staff account's role or agencies (breaks it may no longer work are unassigned)"
    )
    p.add_argument("username")
    p.add_argument("--role", choices=("viewer", "officer", "admin"))
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--agency", action="append", help="an agency's code (repeat for several)")
    scope.add_argument("--all-agencies", action="store_true", help="every agency")
    p.set_defaults(func=_access)
    for name, active in (("disable", False), ("enable", True)):
        ends = " (ends its sessions, unassigns its breaks)"
        p = staff.add_parser(name, help=f"{name} a staff account" + ("" if active else ends))
        p.add_argument("username")
        p.set_defaults(func=_active(active))
    staff.add_parser("list", help="list staff accounts (JSON lines)").set_defaults(func=_list)
