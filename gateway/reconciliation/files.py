"""Raw files of the partners, kept under the data directory by their SHA-256, and each run's working directory.

``<data>/files/<sha[:2]>/<sha><suffix>`` holds each distinct file once, whatever day or run brought it;
``<data>/runs/<run id>/`` holds a run's classified lines (Parquet: every line but, usually, the plain matches), kept
for a look into a run beside its raw file (the pages and exports read the database); ``<data>/incoming/`` holds
downloads until they are hashed.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from gateway.ids import new_id
from gateway.settings import Settings

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class KeptFile:
    sha256: str
    path: Path
    size: int


def data_dir(settings: Settings) -> Path:
    return Path(settings.reconciliation_data_dir)


def incoming(root: Path, suffix: str) -> Path:
    """A fresh path for a download, on the same file system as the kept files (so keeping it is a rename)."""
    folder = root / "incoming"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{new_id('dl')}{suffix}"


def run_dir(root: Path, run_id: str) -> Path:
    return root / "runs" / run_id


def sha256_of(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def keep(source: Path, root: Path, suffix: str, *, move: bool) -> KeptFile:
    """Keep ``source`` under its hash (moved when it is our own download, else copied); the same bytes twice are
    kept once."""
    sha, size = sha256_of(source)
    target = root / "files" / sha[:2] / f"{sha}{suffix}"
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        if move:
            source.unlink()
        return KeptFile(sha, target, size)
    # a name of its own for each keep: two runs of one process keeping the same file at once never share it
    staging = target.with_name(f"{target.name}.{new_id('tmp')}.tmp")
    if move:
        source.replace(staging)
    else:
        shutil.copyfile(source, staging)
    staging.replace(target)
    return KeptFile(sha, target, size)


def keep_bytes(body: bytes, root: Path, suffix: str) -> KeptFile:
    path = incoming(root, suffix)
    path.write_bytes(body)
    return keep(path, root, suffix, move=True)
