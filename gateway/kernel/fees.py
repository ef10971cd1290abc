"""Fee kinds: the one mapping between the API's names and the codes stored and put on receipts.

The receipt's own line kinds (``receipts.codes.LineKind``) are the stored codes; an outside system's codes are
mapped in its adapter."""

from __future__ import annotations

from typing import Literal

from receipts.codes import LineKind

FeeKindName = Literal["phi", "le_phi"]

KIND_CODES: dict[str, int] = {"phi": int(LineKind.FEE), "le_phi": int(LineKind.CHARGE)}
KIND_NAMES: dict[int, str] = {code: name for name, code in KIND_CODES.items()}


def kind_code(name: str) -> int:
    return KIND_CODES[name]


def kind_name(code: int) -> FeeKindName:
    return KIND_NAMES[code]  # type: ignore[return-value]
