"""agency certificates: every certificate an agency has signed receipts with, current and rotated out

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC = gateway.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "agency_certificates",
        sa.Column("agency_id", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("not_before", UTC, nullable=False),
        sa.Column("not_after", UTC, nullable=False),
        sa.Column("certificate", sa.LargeBinary(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_agency_certificates_agency_id_agencies")),
        sa.PrimaryKeyConstraint("agency_id", "fingerprint", name=op.f("pk_agency_certificates")),
    )


def downgrade() -> None:
    op.drop_table("agency_certificates")
