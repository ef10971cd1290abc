"""a break's second agency: the agency of our record the hub's line is about, when the line names another

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reconciliation_breaks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("our_agency_code", sa.String(length=32), server_default="", nullable=False))
        batch_op.create_index(
            batch_op.f("ix_reconciliation_breaks_our_agency_code_day"), ["our_agency_code", "day"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("reconciliation_breaks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reconciliation_breaks_our_agency_code_day"))
        batch_op.drop_column("our_agency_code")
