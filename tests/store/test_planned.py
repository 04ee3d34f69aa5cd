"""The planned diff stored with a proposal (0003), and its copy from the audit log for older proposals."""

from __future__ import annotations

from dataclasses import replace

from alembic import command
from sqlalchemy import insert
from sqlalchemy import inspect as inspect_db

from proposals.models import Planned, PlannedChange
from proposals.store import SqlStore, open_store
from proposals.store.engine import make_engine
from proposals.store.rows import proposal_row
from proposals.store.schema import alembic_config
from proposals.store.tables import AuditRow, ProposalRow
from tests.store.factories import START, new_proposal

PLANNED = Planned(
    changes=(
        PlannedChange("kms-add-os-image", "OS image 0x11 allowed", "false", "true", 0),
        PlannedChange("safe-change-threshold", "threshold", "2 of 3", "1 of 3 ✓", 1),
    ),
    warnings=("kms-add-os-image: app 0x33 is not registered with this KMS",),
    simulation_gas=61_234,
)


def test_the_planned_diff_round_trips(store: SqlStore) -> None:
    with_plan = store.create_proposal(replace(new_proposal(1), planned=PLANNED), actor="test")
    without = store.create_proposal(new_proposal(2), actor="test")

    assert store.get(with_plan.id).planned == PLANNED == with_plan.planned
    assert store.get(without.id).planned is None


def test_upgrading_to_0003_copies_the_planned_diff_from_the_audit_log(db_url: str) -> None:
    config = alembic_config()
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0002")
            # A proposal filed before 0003: its diff was only written to the audit log.
            columns = {c["name"] for c in inspect_db(connection).get_columns("proposals")} - {"id"}

            def insert_proposal(nonce: int) -> int:
                row = proposal_row(new_proposal(nonce), START)
                values = {name: getattr(row, name) for name in columns}
                return int(connection.execute(insert(ProposalRow.__table__).values(**values)).inserted_primary_key[0])

            def insert_audit(proposal_id: int, detail: dict[str, object]) -> None:
                audit = insert(AuditRow.__table__)
                connection.execute(audit.values(at=START, proposal_id=proposal_id, actor="t", event="planned",
                                                detail=detail))  # fmt: skip

            filed, bare = insert_proposal(1), insert_proposal(2)
            insert_audit(filed, {"warnings": ["w"], "simulationGas": 50_000,
                                 "changes": [{"action": "kms-add-os-image", "what": "OS image allowed",
                                              "before": "false", "after": "true"}]})  # fmt: skip
            insert_audit(filed, {"warnings": ["a later planned entry is not the one filed"]})
            command.upgrade(config, "0003")
    finally:
        engine.dispose()

    with open_store(db_url) as store:
        copied = store.get(filed).planned
        untouched = store.get(bare).planned

    assert copied == Planned((PlannedChange("kms-add-os-image", "OS image allowed", "false", "true", None),), ("w",),
                             50_000)  # fmt: skip
    assert untouched is None
