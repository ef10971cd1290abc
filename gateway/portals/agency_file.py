"""Reading an agency file (``gateway agency add --file``): JSON an operator wrote or received, checked like any
JSON from outside before it is decoded into an ``AgencySpec``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import msgspec

from adapters import jsonwire

from .specs import AgencySpec, Fee, Procedure

# An agency with a large catalogue is tens of kilobytes.
MAX_BYTES = 1_000_000


class AgencyFileError(ValueError):
    """The file cannot be an agency: unreadable, too large, not JSON, unsafe JSON or not the agency's shape."""


def read(path: Path) -> AgencySpec:
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise AgencyFileError(f"cannot read it: {exc.strerror}") from None
    if len(data) > MAX_BYTES:
        raise AgencyFileError(f"larger than {MAX_BYTES} bytes")
    return parse(data)


def parse(data: bytes) -> AgencySpec:
    try:
        jsonwire.check(data)
        raw = msgspec.json.decode(data)
        _known_fields(raw, AgencySpec, "$")
        return msgspec.convert(raw, AgencySpec, strict=True)
    except (jsonwire.UnsafeJson, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise AgencyFileError(str(exc)) from None


def _known_fields(raw: Any, kind: type, where: str) -> None:
    """A field the agency does not have is a mistake (a misspelt name would otherwise vanish silently)."""
    if not isinstance(raw, dict):
        return
    fields = {f.name: f for f in dataclasses.fields(kind)}
    for name, value in raw.items():
        if name not in fields:
            raise AgencyFileError(f"unknown field {name!r} at {where}")
        inner = _NESTED.get((kind, name))
        if inner is not None and isinstance(value, list):
            for index, item in enumerate(value):
                _known_fields(item, inner, f"{where}.{name}[{index}]")


_NESTED: dict[tuple[type, str], type] = {(AgencySpec, "procedures"): Procedure, (Procedure, "fees"): Fee}
