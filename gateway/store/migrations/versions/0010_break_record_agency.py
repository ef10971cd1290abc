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
    # Breaks recorded before: their record's agency, from the record itself (a payment, a refund's payment, a
    # shipment), so a break filed under the line's agency is shown to the record's agency too, and what we hold on
    # the record to that agency only.
    op.execute(BACKFILL)


BACKFILL = """
UPDATE reconciliation_breaks SET our_agency_code = coalesce(
    (SELECT a.code FROM payments p JOIN agencies a ON a.id = p.agency_id WHERE p.id = reconciliation_breaks.our_id),
    (SELECT a.code FROM refunds r JOIN payments p ON p.id = r.payment_id JOIN agencies a ON a.id = p.agency_id
     WHERE r.id = reconciliation_breaks.our_id),
    (SELECT a.code FROM shipments s JOIN agencies a ON a.id = s.agency_id WHERE s.id = reconciliation_breaks.our_id),
    '')
WHERE our_id <> '' AND our_agency_code = ''
"""


def downgrade() -> None:
    with op.batch_alter_table("reconciliation_breaks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reconciliation_breaks_our_agency_code_day"))
        batch_op.drop_column("our_agency_code")
