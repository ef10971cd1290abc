"""``gateway agency add|certificate``: an agency with its treasury account and fee catalogue, and the certificates
it signed receipts with before."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .common import on_database


def _agency_add(args: argparse.Namespace) -> None:
    from gateway.portals import agency_file, upsert_agency

    try:
        spec = agency_file.read(Path(args.file))
    except agency_file.AgencyFileError as exc:
        raise SystemExit(f"agency file {args.file}: {exc}") from None
    try:
        agency_id = on_database(lambda db: upsert_agency(db, spec))
    except ValueError as exc:  # data its receipts could not carry
        raise SystemExit(f"agency file {args.file}: {exc}") from None
    print(json.dumps({"agency_id": agency_id, "code": spec.code}))


def _agency_certificate(args: argparse.Namespace) -> None:
    from cryptography import x509

    from adapters.vntime import now_utc
    from gateway.receipts import import_certificates

    try:
        certificates = x509.load_pem_x509_certificates(Path(args.file).read_bytes())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"certificate file {args.file}: {exc}") from None
    try:
        kept = on_database(lambda db: import_certificates(db, args.code, certificates, now_utc()))
    except LookupError as exc:
        raise SystemExit(f"gateway: {exc}") from None
    print(json.dumps({"code": args.code, "certificates": kept}, ensure_ascii=False))


def register(sub: Any) -> None:
    agency = sub.add_parser("agency", help="manage agencies").add_subparsers(dest="action", required=True)
    p = agency.add_parser("add", help="add or update an agency with its treasury account and fee catalogue")
    p.add_argument("--file", required=True, help="JSON: code, name, tax_code, address, treasury_*, procedures[]")
    p.set_defaults(func=_agency_add)
    p = agency.add_parser(
        "certificate", help="keep certificates the agency signed receipts with before (renewed, not loaded now)"
    )
    p.add_argument("--code", required=True, help="the agency's code")
    p.add_argument("--file", required=True, help="PEM file with one or more certificates")
    p.set_defaults(func=_agency_certificate)
