"""private webhooks: an operator may allow a portal's webhook to reach private networks

Revision ID: 0007
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("portals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allow_private_webhooks", sa.Boolean(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("portals", schema=None) as batch_op:
        batch_op.drop_column("allow_private_webhooks")
