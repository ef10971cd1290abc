"""A sample webhook receiver for a portal (Python 3.8+, standard library only).

    WEBHOOK_SECRET=whsec_... python receiver.py --port 9000 --db receiver.db

It verifies each delivery before reading it, records each event once (the gateway delivers at least once: the
same event id may arrive again), and keeps, per dossier, the latest state by ``sequence`` (events of one dossier
may arrive out of order after a retry). It answers 2xx only once the event is stored, and answers fast: do slow
work (updating the dossier, notifying the citizen) after the answer, from what was stored.
"""

import argparse
import json
import os
import sqlite3
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from verify_webhook import verify

MAX_BODY = 1_000_000


def open_store(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, dossier_code TEXT, sequence INTEGER,"
        " type TEXT, body TEXT)"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS dossiers (dossier_code TEXT PRIMARY KEY, sequence INTEGER, type TEXT, data TEXT)"
    )
    return db


def make_handler(db: sqlite3.Connection, secrets: list):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the http.server name
            declared = self.headers.get("Content-Length") or "0"
            if not (declared.isascii() and declared.isdigit()):
                return self._answer(400)
            length = int(declared)
            if length > MAX_BODY:
                return self._answer(413)
            raw = self.rfile.read(length)
            header = self.headers.get("Gateway-Signature", "")
            if not any(verify(header, raw, secret) for secret in secrets):
                return self._answer(400)
            event = json.loads(raw)
            with db:  # one transaction: the event once, and the dossier's state only if this event is newer
                db.execute("BEGIN IMMEDIATE")
                new = db.execute(
                    "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?)",
                    (event["id"], event["dossier_code"], event["sequence"], event["type"], raw.decode()),
                ).rowcount
                if new and event["dossier_code"]:
                    db.execute(
                        "INSERT INTO dossiers VALUES (?, ?, ?, ?) ON CONFLICT(dossier_code) DO UPDATE SET"
                        " sequence=excluded.sequence, type=excluded.type, data=excluded.data"
                        " WHERE excluded.sequence > dossiers.sequence",
                        (event["dossier_code"], event["sequence"], event["type"], json.dumps(event["data"])),
                    )
            return self._answer(200)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:  # quiet
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--db", default="receiver.db")
    args = parser.parse_args()
    # during a rotation, list both secrets: WEBHOOK_SECRET="whsec_new,whsec_old"
    secrets = [s for s in os.environ["WEBHOOK_SECRET"].split(",") if s]
    server = ThreadingHTTPServer((args.host, args.port), make_handler(open_store(args.db), secrets))
    print(f"listening on http://{args.host}:{args.port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
