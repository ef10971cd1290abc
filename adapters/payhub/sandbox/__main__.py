"""``python -m adapters.payhub.sandbox --host 127.0.0.1 --port 8101``"""

from __future__ import annotations

import argparse

from .app import serve
from .config import DEFAULT_PORT


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Stand-in for the national payment hub (payhub v2).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
