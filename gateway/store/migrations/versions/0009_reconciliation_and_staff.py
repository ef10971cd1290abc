"""reconciliation runs, day totals and breaks; finance staff accounts, sessions and their append-only audit trail

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.store.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UTC = gateway.store.types.UTCDateTime(timezone=True)
BIG = sa.BigInteger()
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _money(name: str) -> sa.Column:
    return sa.Column(name, BIG, server_default="0", nullable=False)


def upgrade() -> None:
    _reconciliation()
    _staff()
    _audit_is_append_only()


def _reconciliation() -> None:
    op.create_table(
        "reconciliation_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("started_by", sa.String(length=64), server_default="", nullable=False),
        sa.Column("file_sha256", sa.String(length=64), server_default="", nullable=False),
        sa.Column("file_path", sa.String(length=1000), server_default="", nullable=False),
        *(_money(name) for name in ("file_bytes", "file_rows", "our_rows", "matched", "breaks")),
        *(_money(name) for name in ("hub_amount", "hub_fee", "hub_net", "our_amount")),
        sa.Column("classes", sa.JSON(), nullable=False),
        sa.Column("refusal_code", sa.String(length=32), server_default="", nullable=False),
        sa.Column("refusal_message", sa.String(length=1000), server_default="", nullable=False),
        sa.Column("supersedes_id", sa.String(length=32), nullable=True),
        sa.Column("superseded_by_id", sa.String(length=32), nullable=True),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_runs")),
    )
    with op.batch_alter_table("reconciliation_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reconciliation_runs_kind_day_status"), ["kind", "day", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_reconciliation_runs_started_at"), ["started_at"], unique=False)

    op.create_table(
        "reconciliation_totals",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("agency_code", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *(
            _money(name)
            for name in (
                "collected",
                "refunded",
                "hub_rows",
                "settled",
                "hub_fee",
                "hub_net",
                "cod_collected",
                "cod_remitted",
                "unexplained",
            )
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["reconciliation_runs.id"], name=op.f("fk_reconciliation_totals_run_id_reconciliation_runs")
        ),
        sa.PrimaryKeyConstraint("run_id", "agency_code", name=op.f("pk_reconciliation_totals")),
    )
    with op.batch_alter_table("reconciliation_totals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reconciliation_totals_agency_code_day"), ["agency_code", "day"], unique=False
        )

    op.create_table(
        "reconciliation_breaks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("agency_code", sa.String(length=32), server_default="", nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("first_run_id", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=64), server_default="", nullable=False),
        sa.Column("transaction_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("our_id", sa.String(length=32), server_default="", nullable=False),
        sa.Column("hub_amount", BIG, nullable=True),
        sa.Column("our_amount", BIG, nullable=True),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assigned_to", sa.String(length=64), server_default="", nullable=False),
        sa.Column("assigned_at", UTC, nullable=True),
        sa.Column("resolution", sa.String(length=32), server_default="", nullable=False),
        sa.Column("resolved_by", sa.String(length=64), server_default="", nullable=False),
        sa.Column("resolved_at", UTC, nullable=True),
        sa.Column("note", sa.String(length=2000), server_default="", nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["reconciliation_runs.id"], name=op.f("fk_reconciliation_breaks_run_id_reconciliation_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_breaks")),
        sa.UniqueConstraint("kind", "day", "key", name=op.f("uq_reconciliation_breaks_kind_day_key")),
    )
    with op.batch_alter_table("reconciliation_breaks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reconciliation_breaks_status_day"), ["status", "day"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_reconciliation_breaks_agency_code_day"), ["agency_code", "day"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_reconciliation_breaks_reference"), ["reference"], unique=False)

    op.create_table(
        "reconciliation_days",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("current_run_id", sa.String(length=32), nullable=True),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("kind", "day", name=op.f("pk_reconciliation_days")),
    )
    op.create_table(
        "reconciliation_waiting",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("our_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["reconciliation_runs.id"], name=op.f("fk_reconciliation_waiting_run_id_reconciliation_runs")
        ),
        sa.PrimaryKeyConstraint("run_id", "our_id", name=op.f("pk_reconciliation_waiting")),
    )


def _staff() -> None:
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("all_agencies", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("active", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("failed_sign_ins", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", UTC, nullable=True),
        sa.Column("password_changed_at", UTC, nullable=False),
        sa.Column("last_sign_in_at", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_accounts")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_accounts_username")),
    )
    op.create_table(
        "staff_agencies",
        sa.Column("staff_id", sa.String(length=32), nullable=False),
        sa.Column("agency_code", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_accounts.id"], name=op.f("fk_staff_agencies_staff_id_staff_accounts")
        ),
        sa.PrimaryKeyConstraint("staff_id", "agency_code", name=op.f("pk_staff_agencies")),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.String(length=32), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("last_seen_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("ended_at", UTC, nullable=True),
        sa.Column("client_ip", sa.String(length=45), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_accounts.id"], name=op.f("fk_staff_sessions_staff_id_staff_accounts")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_staff_sessions")),
    )
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_sessions_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_staff_sessions_staff_id"), ["staff_id"], unique=False)
    op.create_table(
        "staff_audit",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("subject_type", sa.String(length=32), server_default="", nullable=False),
        sa.Column("subject_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("agency_code", sa.String(length=32), server_default="", nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("note", sa.String(length=2000), server_default="", nullable=False),
        sa.Column("client_ip", sa.String(length=45), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_audit")),
    )
    with op.batch_alter_table("staff_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_audit_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_staff_audit_subject_type_subject_id"), ["subject_type", "subject_id"], unique=False
        )


def _audit_is_append_only() -> None:
    """The audit trail is written once: the database itself refuses to change or remove an entry."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION staff_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'staff_audit is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER staff_audit_append_only BEFORE UPDATE OR DELETE ON staff_audit "
            "FOR EACH ROW EXECUTE FUNCTION staff_audit_append_only()"
        )
        op.execute(
            "CREATE TRIGGER staff_audit_not_truncated BEFORE TRUNCATE ON staff_audit "
            "FOR EACH STATEMENT EXECUTE FUNCTION staff_audit_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER staff_audit_no_{event.lower()} BEFORE {event} ON staff_audit "
            "BEGIN SELECT RAISE(ABORT, 'staff_audit is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS staff_audit_not_truncated ON staff_audit")
        op.execute("DROP TRIGGER IF EXISTS staff_audit_append_only ON staff_audit")
        op.execute("DROP FUNCTION IF EXISTS staff_audit_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS staff_audit_no_update")
        op.execute("DROP TRIGGER IF EXISTS staff_audit_no_delete")
    for table in (
        "staff_audit",
        "staff_sessions",
        "staff_agencies",
        "staff_accounts",
        "reconciliation_waiting",
        "reconciliation_days",
        "reconciliation_breaks",
        "reconciliation_totals",
        "reconciliation_runs",
    ):
        op.drop_table(table)
