"""The gateway's layers and areas, as rules over the import graph (grimp): what may import what.

Layers, top to bottom: the composition (app factory, worker, command line, bootstrap), the areas, the
infrastructure (the HTTP edge's toolkit, the store, the job queue), the foundation (the kernel's vocabulary,
settings, ids, logs, metrics), and the libraries (``adapters``, ``receipts``, ``reconciliation``), which know
nothing of the gateway. An import may only point down. An area uses another only through its package (the names
in its ``__init__``), writes and reads only its own tables, and writes the outbox only through its unit of work."""

from __future__ import annotations

from dataclasses import dataclass

import grimp

PACKAGES = ("gateway", "adapters", "receipts", "reconciliation")
AREAS = (
    "payments",
    "receipts",
    "shipments",
    "deliveries",
    "events",
    "dossiers",
    "portals",
    "reconciliation",
    "staff",
    "finance",
)
COMPOSITION = (
    "gateway.__main__",
    "gateway.cli",
    "gateway.run",
    "gateway.demo",
    "gateway.embedded",
    "gateway.openapi",
    "gateway.bootstrap",
    "gateway.worker",
    "gateway.app",
    "gateway.gauges",
)
INFRASTRUCTURE = ("gateway.http", "gateway.store", "gateway.jobs", "gateway.broker")
FOUNDATION = ("gateway.kernel", "gateway.settings", "gateway.ids", "gateway.logs", "gateway.metrics", "gateway")
LIBRARIES = ("adapters", "receipts", "reconciliation")
LAYERS = ("composition", "areas", "infrastructure", "foundation", "libraries")

# The tables each area may touch besides its own: the outbox is the store's, read by the feed and the relay; the
# catalogue (agencies, procedures and their fees, in the portals tables) is reference data that the receipts and
# shipments repositories join on to read an agency's code and details. Only the portals area writes it.
TABLES = "gateway.store.tables"
SHARED_TABLES = {"events": ("outbox",), "deliveries": ("outbox",), "receipts": ("portals",), "shipments": ("portals",)}

# An area announces a change through its unit of work (``uow.event``), the one way to write the
# outbox; the store's outbox module is the unit of work's.
OUTBOX = "gateway.store.outbox"


@dataclass(frozen=True)
class Violation:
    importer: str
    imported: str
    rule: str

    def __str__(self) -> str:
        return f"{self.importer} -> {self.imported}: {self.rule}"


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def area_of(module: str) -> str | None:
    for area in AREAS:
        if within(module, f"gateway.{area}"):
            return area
    return None


def layer_of(module: str) -> int:
    """The index in LAYERS of the module's layer (the most specific rule wins: gateway.app is composition)."""
    if any(within(module, p) for p in COMPOSITION):
        return 0
    if area_of(module) is not None:
        return 1
    if any(within(module, p) for p in INFRASTRUCTURE):
        return 2
    if any(within(module, p) for p in LIBRARIES) and not module.startswith("gateway"):
        return 4
    return 3


def build() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, exclude_type_checking_imports=False)


def violations(graph: grimp.ImportGraph) -> list[Violation]:
    found: list[Violation] = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            found.extend(_judge(importer, imported))
    return found


def _judge(importer: str, imported: str) -> list[Violation]:
    up, down = layer_of(importer), layer_of(imported)
    if down < up:
        return [Violation(importer, imported, f"{LAYERS[up]} may not import {LAYERS[down]}")]
    mine, theirs = area_of(importer), area_of(imported)
    if mine and theirs and mine != theirs and imported != f"gateway.{theirs}":
        return [Violation(importer, imported, f"another area is used only through its package gateway.{theirs}")]
    if mine and imported == OUTBOX:
        return [Violation(importer, imported, "an area writes the outbox through its unit of work (uow.event)")]
    if mine and within(imported, TABLES) and imported != TABLES:
        owner = imported.removeprefix(TABLES + ".").split(".")[0]
        if owner not in (mine, "metadata", *SHARED_TABLES.get(mine, ())):
            return [Violation(importer, imported, f"the {owner} tables belong to another area")]
    return []
