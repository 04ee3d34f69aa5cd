"""Proposals, signatures, the append-only audit log and cursors.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ADDRESS = sa.String(42)
TIMESTAMP = sa.DateTime(timezone=True)
UINT256 = sa.String(78)  # decimal text
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

APPEND_ONLY = "audit log is append-only"

POSTGRES_UP = [
    f"""
    CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{APPEND_ONLY}' USING ERRCODE = 'insufficient_privilege';
    END;
    $$
    """,
    """
    CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only()
    """,
    """
    CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()
    """,
]
POSTGRES_DOWN = [
    "DROP TRIGGER audit_no_truncate ON audit",
    "DROP TRIGGER audit_append_only ON audit",
    "DROP FUNCTION audit_append_only()",
]
# SQLite batch mode (render_as_batch) rebuilds a table and loses its triggers: a later revision that
# alters `audit` on SQLite must create these again (tests/store/test_audit.py would notice).
SQLITE_UP = [
    f"CREATE TRIGGER audit_no_{verb.lower()} BEFORE {verb} ON audit BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
    for verb in ("UPDATE", "DELETE")
]
SQLITE_DOWN = ["DROP TRIGGER audit_no_update", "DROP TRIGGER audit_no_delete"]


def upgrade() -> None:
    """Create the tables, their indexes and the audit log's append-only triggers."""
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("previous_state", sa.String(16), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("proposer", sa.String(200), nullable=False),
        sa.Column("safe", ADDRESS, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("safe_version", sa.String(16), nullable=False),
        sa.Column("to", ADDRESS, nullable=False),
        sa.Column("value", UINT256, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("operation", sa.SmallInteger(), nullable=False),
        sa.Column("safe_tx_gas", UINT256, nullable=False),
        sa.Column("base_gas", UINT256, nullable=False),
        sa.Column("gas_price", UINT256, nullable=False),
        sa.Column("gas_token", ADDRESS, nullable=False),
        sa.Column("refund_receiver", ADDRESS, nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("safe_tx_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("actions", JSON_DOCUMENT, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=True),
        sa.Column("rejects", sa.Integer(), nullable=True),
        sa.Column("execution_tx_hash", sa.LargeBinary(32), nullable=True),
        sa.Column("execution_block", sa.BigInteger(), nullable=True),
        sa.Column("execution_gas", sa.BigInteger(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["rejects"], ["proposals.id"], name="fk_proposals_rejects_proposals"),
        sa.PrimaryKeyConstraint("id", name="pk_proposals"),
    )
    op.create_index("ix_proposals_safe_tx_hash", "proposals", ["safe_tx_hash"], unique=True)
    op.create_index("ix_proposals_state_id", "proposals", ["state", "id"])
    op.create_index("ix_proposals_safe_nonce", "proposals", ["safe", "nonce"])

    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("owner", ADDRESS, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"], name="fk_signatures_proposal_id_proposals"),
        sa.PrimaryKeyConstraint("id", name="pk_signatures"),
        sa.UniqueConstraint("proposal_id", "owner", name="uq_signatures_proposal_id_owner"),
    )

    op.create_table(
        "audit",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("detail", JSON_DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"], name="fk_audit_proposal_id_proposals"),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
    )
    op.create_index("ix_audit_proposal_id_id", "audit", ["proposal_id", "id"])
    op.create_index("ix_audit_at", "audit", ["at"])

    op.create_table(
        "cursors",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_cursors"),
    )

    for statement in _dialect_statements(POSTGRES_UP, SQLITE_UP):
        op.execute(statement)


def downgrade() -> None:
    """Drop everything this revision created."""
    for statement in _dialect_statements(POSTGRES_DOWN, SQLITE_DOWN):
        op.execute(statement)
    op.drop_table("cursors")
    op.drop_index("ix_audit_at", table_name="audit")
    op.drop_index("ix_audit_proposal_id_id", table_name="audit")
    op.drop_table("audit")
    op.drop_table("signatures")
    op.drop_index("ix_proposals_safe_nonce", table_name="proposals")
    op.drop_index("ix_proposals_state_id", table_name="proposals")
    op.drop_index("ix_proposals_safe_tx_hash", table_name="proposals")
    op.drop_table("proposals")


def _dialect_statements(postgres: list[str], sqlite: list[str]) -> list[str]:
    dialect = op.get_bind().dialect.name
    return {"postgresql": postgres, "sqlite": sqlite}.get(dialect, [])
