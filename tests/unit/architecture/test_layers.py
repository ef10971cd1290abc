"""The import contract: every import points down a layer, and areas meet only through their packages. The planted
imports show that the contract would catch each kind of fault."""

from __future__ import annotations

import grimp
import pytest

from . import rules


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return rules.build()


def test_every_import_keeps_to_the_contract(graph: grimp.ImportGraph) -> None:
    found = rules.violations(graph)
    assert not found, "imports against the contract:\n" + "\n".join(map(str, found))


@pytest.mark.parametrize(
    ("importer", "imported", "rule"),
    [
        ("gateway.store.db", "gateway.payments.service", "infrastructure may not import areas"),
        ("gateway.kernel.errors", "gateway.http.problems", "foundation may not import infrastructure"),
        ("gateway.payments.service", "gateway.app", "areas may not import composition"),
        ("adapters.payhub.client", "gateway.settings", "libraries may not import foundation"),
        ("gateway.receipts.issuance", "gateway.payments.repository", "only through its package gateway.payments"),
        ("gateway.shipments.service", "gateway.store.tables.payments", "the payments tables belong to another area"),
        ("gateway.shipments.transitions", "gateway.store.outbox", "writes the outbox through its unit of work"),
    ],
)
def test_a_planted_import_is_caught(importer: str, imported: str, rule: str) -> None:
    planted = rules.build()
    planted.add_import(importer=importer, imported=imported)
    caught = [v for v in rules.violations(planted) if (v.importer, v.imported) == (importer, imported)]
    assert caught and rule in caught[0].rule
