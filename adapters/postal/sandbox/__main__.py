"""``python -m adapters.postal.sandbox [--host 127.0.0.1] [--port 8102]``."""

from __future__ import annotations

import argparse

from . import serve
from .config import DEFAULT_PORT

parser = argparse.ArgumentParser(prog="python -m adapters.postal.sandbox", description="The postal sandbox")
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=DEFAULT_PORT)
arguments = parser.parse_args()
serve(arguments.host, arguments.port)
