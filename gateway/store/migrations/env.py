"""Alembic environment: runs the migrations on the async engine the gateway itself uses."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from gateway.store.db import Limits, create_engine
from gateway.store.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    # no statement timeout: building an index on a large table may take longer than any request should
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", Limits(statement=0))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():  # pragma: no cover - we always migrate online
    raise SystemExit("offline migrations are not supported")
asyncio.run(_main())
