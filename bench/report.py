"""Figures of repeated runs: medians (the machine is shared and noisy), the spread of the runs, ratios taken
within each run, and the table the HTTP benchmarks print at the end."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Sample:
    """One measurement: a wrk run against a server, or a floor run."""

    rate: float
    p50_ms: float
    p99_ms: float
    generator_cores: float  # wrk's CPU, or the floor process's own
    server_cores: float  # the measured server's processes (0 for a floor: it has none)
    machine_cores: float  # every process on the machine, ours and other people's, of os.cpu_count()
    count: int
    bad: int = 0
    run: int = 0  # the run it belongs to: ratios pair samples of the same run
    database_cores: float = 0.0  # PostgreSQL's processes (0: not measured, or a path without the database)


@dataclass
class Results:
    samples: dict[str, dict[str, list[Sample]]]
    notes: dict[str, list[str]]
    pairs: dict[str, list[tuple[str, str]]]

    @classmethod
    def empty(cls) -> Results:
        return cls(defaultdict(lambda: defaultdict(list)), defaultdict(list), defaultdict(list))

    def pair(self, section: str, top: str, bottom: str) -> None:
        """Show ``top ÷ bottom`` in the section's table."""
        if (top, bottom) not in self.pairs[section]:
            self.pairs[section].append((top, bottom))

    def add(self, section: str, what: str, sample: Sample) -> None:
        self.samples[section][what].append(sample)

    def note(self, section: str, text: str) -> None:
        self.notes[section].append(text)

    def ratios(self, section: str, top: str, bottom: str) -> list[float]:
        """``top ÷ bottom`` run by run (the pairs measured in the same run)."""
        bottoms = {s.run: s for s in self.samples[section][bottom]}
        pairs = [(a, bottoms[a.run]) for a in self.samples[section][top] if a.run in bottoms]
        return [a.rate / b.rate for a, b in pairs if b.rate]

    def dump(self, path: Path) -> None:
        data = {
            "samples": {s: {w: [asdict(x) for x in xs] for w, xs in ws.items()} for s, ws in self.samples.items()},
            "notes": self.notes,
            "pairs": self.pairs,
        }
        path.write_text(json.dumps(data, indent=1), encoding="utf-8")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def spread(values: list[float], fmt: str = "{:,.0f}") -> str:
    if not values:
        return "—"
    return f"{fmt.format(min(values))}–{fmt.format(max(values))}"


def row(what: str, samples: list[Sample], generator: str) -> str:
    rates = [s.rate for s in samples]
    cells = [
        f"{what:<28}",
        f"{median(rates):>9,.1f}/s",
        f"{'(' + spread(rates) + ')':<17}",
        f"p50 {median([s.p50_ms for s in samples]):7.2f} ms",
        f"p99 {median([s.p99_ms for s in samples]):8.2f} ms",
        f"{generator} {median([s.generator_cores for s in samples]):5.3f} cores",
        _server(samples),
        _database(samples),
        f"machine {median([s.machine_cores for s in samples]):4.2f}",
    ]
    bad = sum(s.bad for s in samples)
    return "  ".join(cells) + (f"  NOT OK: {bad}" if bad else "")


def _server(samples: list[Sample]) -> str:
    if not any(s.server_cores for s in samples):
        return f"{'(no server)':<39}"
    per_request = median([s.server_cores * 1000 / s.rate for s in samples if s.rate])
    return f"server {median([s.server_cores for s in samples]):4.2f} cores = {per_request:6.2f} ms CPU a request"


def _database(samples: list[Sample]) -> str:
    if not any(s.database_cores for s in samples):
        return f"{'':<32}"
    per_request = median([s.database_cores * 1000 / s.rate for s in samples if s.rate])
    return f"db {median([s.database_cores for s in samples]):4.2f} cores = {per_request:5.2f} ms a request"


def ratio_line(label: str, values: list[float]) -> str:
    return f"{label:<34} {median(values):.3f}  (runs {spread(values, '{:.3f}')})"


def table(results: Results, title: str) -> str:
    """Every section's rows (medians), the ratios run by run, and the notes. The server's CPU per request
    (its cores ÷ its rate) barely depends on how much of the machine other work leaves it."""
    out = [title, ""]
    for section, kinds in results.samples.items():
        out.append(section)
        for what, samples in kinds.items():
            generator = "floor" if what.startswith("floor") else "wrk"
            out.append("  " + row(what, samples, generator))
        for top, bottom in results.pairs.get(section, []):
            values = results.ratios(section, top, bottom)
            if values:
                out.append("  " + ratio_line(f"{top} ÷ {bottom}", values))
        out.extend(f"  {note}" for note in results.notes.get(section, []))
        out.append("")
    for section, notes in results.notes.items():
        if section not in results.samples:
            out.extend([section, *(f"  {note}" for note in notes), ""])
    return "\n".join(out)


def load(path: Path) -> Results:
    data = json.loads(path.read_text(encoding="utf-8"))
    results = Results.empty()
    for section, kinds in data["samples"].items():
        for what, samples in kinds.items():
            for sample in samples:
                results.add(section, what, Sample(**sample))
    for section, notes in data.get("notes", {}).items():
        for note in notes:
            results.note(section, note)
    for section, pairs in data.get("pairs", {}).items():
        for top, bottom in pairs:
            results.pair(section, top, bottom)
    for section, kinds in data["samples"].items():  # files written before the pairs were kept
        if section not in data.get("pairs", {}) and {"gateway", "bare", "floor"} <= set(kinds):
            results.pair(section, "gateway", "bare")
            results.pair(section, "gateway", "floor")
    return results


if __name__ == "__main__":  # re-print a run's table: python -m bench.report var/bench/http.json
    import sys

    print(table(load(Path(sys.argv[1])), f"figures of {sys.argv[1]}"))
