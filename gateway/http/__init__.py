"""The HTTP edge: the app factory, API keys, problem details, strict input and idempotent POSTs. Areas' controllers
are built on it; nothing below the edge knows HTTP."""
