"""private webhooks: an operator may allow a portal's webhook to reach private networks; the delivery log keeps
only the fixed answers the portal may read (older versions stored raw connection errors there)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The raw errors older versions recorded (httpx's exception names), and the fixed answer each stands for now.
RAW_ERRORS = {
    "could not connect": ("ConnectError", "ConnectTimeout", "PoolTimeout", "UnsupportedProtocol", "ProxyError"),
    "no valid HTTP answer": (
        "ReadError",
        "WriteError",
        "ReadTimeout",
        "WriteTimeout",
        "RemoteProtocolError",
        "LocalProtocolError",
        "DecodingError",
        "NetworkError",
        "TransportError",
        "ProtocolError",
        "TimeoutException",
    ),
}


def _scrub(table: str, column: str) -> None:
    target = sa.table(table, sa.column(column))
    field = target.c[column]
    for answer, names in RAW_ERRORS.items():
        raw = sa.or_(*(sa.or_(field == name, field.like(f"{name}: %")) for name in names))
        op.execute(target.update().where(raw).values({column: answer}))


def upgrade() -> None:
    with op.batch_alter_table("portals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allow_private_webhooks", sa.Boolean(), server_default="0", nullable=False))
    _scrub("delivery_attempts", "error")
    _scrub("outbox", "last_error")


def downgrade() -> None:
    with op.batch_alter_table("portals", schema=None) as batch_op:
        batch_op.drop_column("allow_private_webhooks")
