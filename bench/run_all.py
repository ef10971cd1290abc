"""``make bench``: every benchmark in turn, each printing its own table, with its output kept under
``var/bench/``. HTTP paths are driven by wrk (bench/http_bench.py); the Python harness remains only where no
generator can express the work: the postal feed poll, receipt issuance and event delivery; the reconciliation
engine and the settlement run have no HTTP at all.

    .venv/bin/python -m bench.run_all [--quick] [--only http,scale,memory,postal_feed,receipts,deliveries,...]

``--quick`` is a smoke run (one short run of each, 10k against 50k requests for memory); without it the runs are
those docs/benchmarks.md reports (the memory run to 200k requests: give ``--memory-requests 1000000`` for the
target's 1M, about an hour here).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import ROOT

FULL = {
    "http": ["bench.http_bench", "--runs", "5", "--seconds", "10", "--json", "var/bench/http.json"],
    "scale": ["bench.http_bench", "--paths", "callback", "--workers", "1,2", "--runs", "5", "--no-half-rate"],
    "memory": ["bench.memory_bench", "--json", "var/bench/memory.json"],
    "postal_feed": ["bench.postal_bench", "--runs", "3", "--parcels", "200"],
    "receipts": ["bench.receipts_issue_bench", "--receipts", "2000", "--singles", "500", "--runs", "3"],
    "receipts_library": ["bench/receipts_bench.py", "--seconds", "2", "--runs", "3"],
    "deliveries": ["bench.deliveries_bench", "--events", "3000", "--rate", "200", "--runs", "3"],
    "reconciliation": ["bench.recon_bench", "--sizes", "100000,1000000,5000000"],
    "reconciliation_run": ["bench.recon_bench", "--end-to-end", "--sizes", "100000,1000000,5000000", "--repeat", "2"],
}
QUICK = {
    "http": ["bench.http_bench", "--runs", "1", "--seconds", "3"],
    "scale": ["bench.http_bench", "--paths", "callback", "--workers", "1,2", "--runs", "1", "--seconds", "3"],
    "memory": ["bench.memory_bench", "--requests", "50000", "--segment-seconds", "20"],
    "postal_feed": ["bench.postal_bench", "--runs", "1", "--parcels", "50"],
    "receipts": ["bench.receipts_issue_bench", "--receipts", "300", "--singles", "100", "--runs", "1"],
    "receipts_library": ["bench/receipts_bench.py", "--seconds", "1", "--runs", "1"],
    "deliveries": ["bench.deliveries_bench", "--events", "500", "--rate", "100", "--runs", "1"],
    "reconciliation": ["bench.recon_bench", "--sizes", "100000"],
    "reconciliation_run": ["bench.recon_bench", "--end-to-end", "--sizes", "100000"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", help=f"comma-separated, of: {', '.join(FULL)}")
    parser.add_argument("--memory-requests", type=int, default=200_000)
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    names = args.only.split(",") if args.only else list(plan)
    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in names:
        command = list(plan[name])
        if name == "memory" and not args.quick:
            command += ["--requests", str(args.memory_requests)]
        runner = [sys.executable, command[0]] if command[0].endswith(".py") else [sys.executable, "-m", command[0]]
        print(f"\n=== {name}: {' '.join(command)}", flush=True)
        started = time.perf_counter()
        with (logs / f"{name}.log").open("w", encoding="utf-8") as log:
            process = subprocess.Popen(
                [*runner, *command[1:]], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            assert process.stdout is not None
            for line in process.stdout:
                sys.stdout.write(line)
                log.write(line)
            process.wait()
        print(f"=== {name}: exit {process.returncode} after {time.perf_counter() - started:,.0f} s", flush=True)
        if process.returncode != 0:
            failed.append(name)
    print(f"\nlogs in {Path('var/bench')}/; failed: {', '.join(failed) or 'none'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
