"""Issuing a receipt: build, check against the schema, sign, in one pass over one tree.

This is the path the gateway calls for every paid payment, so the tree is built once and serialised once;
its cost beyond the RSA signature is a few lxml operations and one hash of the data.
"""

from __future__ import annotations

from datetime import datetime

from adapters.vntime import now_utc

from .keys import SigningKey
from .model import ReceiptData
from .schema import validate
from .signing import sign_tree
from .xml import build_tree


def issue(data: ReceiptData, key: SigningKey, signing_time: datetime | None = None) -> bytes:
    """The signed receipt document for ``data``; raises SchemaError before signing anything invalid."""
    root = build_tree(data)
    validate(root)
    return sign_tree(root, key, signing_time or now_utc())
