"""An event's delivery states, and the pure choices of the relay: which due events to lease, fairly between
portals, and how to pack them into jobs. Pure, so fairness and ordering are tested without a database."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

PENDING, DELIVERED, DEAD, SKIPPED = "pending", "delivered", "dead", "skipped"


class Candidate(NamedTuple):
    position: int
    dossier_code: str
    sequence: int


@dataclass(frozen=True)
class Chunk:
    portal_id: str
    token: str
    positions: list[int]


def fair_share(
    candidates: dict[str, list[Candidate]],
    waiting_for: dict[tuple[str, str], int],
    rooms: dict[str, int],
    limit: int,
) -> list[int]:
    """The positions to lease: per portal, its due events in order that do not wait behind an earlier event of
    their dossier, up to its room; then one from each portal in turn (the portal with the oldest event first)
    until ``limit``."""
    queues: dict[str, list[int]] = {}
    for portal_id, rows in candidates.items():
        eligible = []
        for row in sorted(rows):
            earlier = waiting_for.get((portal_id, row.dossier_code))
            if earlier is None or earlier >= row.sequence:
                eligible.append(row.position)
        if eligible:
            queues[portal_id] = eligible[: rooms.get(portal_id, 0)]
    order = sorted((p for p in queues if queues[p]), key=lambda p: queues[p][0])
    chosen: list[int] = []
    depth = 0
    while len(chosen) < limit and order:
        order = [p for p in order if depth < len(queues[p])]
        for portal_id in order[: limit - len(chosen)]:
            chosen.append(queues[portal_id][depth])
        depth += 1
    return chosen


def pack(rows: list[tuple[int, str, str]], token: str, size: int) -> list[Chunk]:
    """Group claimed rows by portal and dossier, then fill jobs of about ``size`` events; a dossier's events stay
    in one job, in position (= sequence) order."""
    dossiers: dict[tuple[str, str], list[int]] = defaultdict(list)
    for position, portal_id, dossier_code in rows:
        dossiers[(portal_id, dossier_code)].append(position)
    chunks: list[Chunk] = []
    open_chunk: dict[str, list[int]] = {}
    for (portal_id, _), positions in dossiers.items():
        current = open_chunk.get(portal_id)
        if current is None or (len(current) + len(positions) > size and current):
            current = []
            open_chunk[portal_id] = current
            chunks.append(Chunk(portal_id, token, current))
        current.extend(positions)
    for chunk in chunks:
        chunk.positions.sort()
    return chunks


def held_back(
    rows: list[tuple[str, str, int, datetime | None]], now: datetime
) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """Per dossier, the lowest sequence that is leased or waiting for a retry (later events of the dossier wait
    for it); per portal, how many of its events are leased (``rows``: portal, dossier, sequence, leased until)."""
    first: dict[tuple[str, str], int] = {}
    leased: dict[str, int] = defaultdict(int)
    for portal_id, dossier_code, sequence, claimed_until in rows:
        key = (portal_id, dossier_code)
        first[key] = min(sequence, first.get(key, sequence))
        if claimed_until is not None and claimed_until >= now:
            leased[portal_id] += 1
    return first, leased
