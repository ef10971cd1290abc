"""Shapes the code keeps: short functions, and the partners' Vietnamese field names only in their adapters."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import msgspec

from adapters.payhub import messages as payhub_messages

ROOT = Path(__file__).resolve().parents[3]
MAX_LINES = 60


def sources(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def test_no_function_is_longer_than_sixty_lines() -> None:
    long = []
    for path in sources("gateway", "adapters", "receipts", "reconciliation", "bench"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert not long, "functions over 60 lines:\n" + "\n".join(long)


def protocol_names() -> set[str]:
    """The hub's message fields (``MaThamChieu``, ``SoTien``…): every field of the adapter's wire Structs."""
    names: set[str] = set()
    for module in (payhub_messages,):
        for _, kind in inspect.getmembers(module, inspect.isclass):
            if issubclass(kind, msgspec.Struct) and kind.__module__ == module.__name__:
                names.update(f for f in kind.__struct_fields__ if f[:1].isupper())
    return names


def test_the_hubs_field_names_stay_in_the_adapter() -> None:
    names = protocol_names()
    assert {"MaThamChieu", "SoTien", "MaXacThuc"} <= names
    found = []
    for path in sources("gateway", "reconciliation"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            used = (
                node.attr if isinstance(node, ast.Attribute)
                else node.arg if isinstance(node, ast.keyword)
                else node.value if isinstance(node, ast.Constant) and isinstance(node.value, str)
                else None
            )
            if used in names:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {used}")
    assert not found, "the hub's field names outside adapters/:\n" + "\n".join(found)
