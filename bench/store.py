"""Time the store's hot reads on 10,000 proposals and 50,000 signatures, on SQLite and PostgreSQL.

PostgreSQL is measured when DSTACK_GOV_TEST_PG_URL is set (see .ci/postgres.sh); the bench makes
its own database there and drops it afterwards. Each figure is the median of RUNS runs, printed
as a ratio to its target (below 1.00 is within target). Exits with status 1 when one is over.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, make_url, text
from web3 import Web3

from proposals.models import OPEN_STATES, ProposalState
from proposals.store import SqlStore, open_store
from proposals.store.tables import AuditRow, ProposalRow, SignatureRow

PROPOSALS = 10_000
SIGNATURES = 50_000
SAFES = 10
RUNS = 30
TARGET_SECONDS = 0.050
START = datetime(2026, 1, 1, tzinfo=UTC)

# Most history is finished; a realistic backlog is still open.
STATE_WEIGHTS = {
    ProposalState.EXECUTED: 60,
    ProposalState.PENDING: 15,
    ProposalState.APPROVED: 3,
    ProposalState.FAILED: 2,
    ProposalState.CANCELLED: 8,
    ProposalState.SUPERSEDED: 7,
    ProposalState.EXPIRED: 5,
}


def _address(n: int) -> str:
    return Web3.to_checksum_address(n.to_bytes(20, "big"))


def _proposal(pid: int, rng: random.Random) -> dict[str, Any]:
    state = rng.choices(list(STATE_WEIGHTS), weights=list(STATE_WEIGHTS.values()))[0]
    at = START + timedelta(minutes=pid)
    kms = _address(0xC0FFEE)
    return {
        "id": pid, "kind": "change", "state": state.value, "previous_state": None,
        "title": f"Whitelist OS image #{pid}", "description": "Adds the image built from tag v0.5.0. " * 4,
        "proposer": f"telegram:{rng.randrange(1000)}", "safe": _address(1 + pid % SAFES), "chain_id": 1,
        "safe_version": "1.4.1", "to": kms, "value": 0, "data": rng.randbytes(68), "operation": 0,
        "safe_tx_gas": 0, "base_gas": 0, "gas_price": 0, "gas_token": _address(0), "refund_receiver": _address(0),
        "nonce": pid // SAFES, "safe_tx_hash": rng.randbytes(32),
        "actions": [{"action": "kms-add-os-image", "target": kms, "values": {"osImageHash": "0x" + "ab" * 32}}],
        "created_at": at, "updated_at": at, "expires_at": at + timedelta(days=7), "rejects": None,
        "execution_tx_hash": rng.randbytes(32) if state is ProposalState.EXECUTED else None,
        "execution_block": pid if state is ProposalState.EXECUTED else None,
        "execution_gas": 90_000 if state is ProposalState.EXECUTED else None, "failure_reason": None,
    }  # fmt: skip


def fill(store: SqlStore, seed: int = 7) -> None:
    """Bulk-insert the data set with executemany (fast; the store's own methods audit row by row)."""
    rng = random.Random(seed)
    proposals = [_proposal(pid, rng) for pid in range(1, PROPOSALS + 1)]
    owners = [_address(0x0A11CE + i) for i in range(7)]
    per_proposal = SIGNATURES // PROPOSALS
    signatures, audit = [], []
    for p in proposals:
        at = p["created_at"]
        audit.append({"at": at, "proposal_id": p["id"], "actor": p["proposer"], "event": "created", "detail": {}})
        for index, owner in enumerate(rng.sample(owners, per_proposal)):
            signed = at + timedelta(seconds=index + 1)
            sig = rng.randbytes(64) + b"\x1b"
            signatures.append({"proposal_id": p["id"], "owner": owner, "kind": "eip712", "signature": sig,
                               "source": "telegram", "created_at": signed})  # fmt: skip
            audit.append({"at": signed, "proposal_id": p["id"], "actor": "telegram:1", "event": "signature",
                          "detail": {"owner": owner, "signature": "0x" + sig.hex()}})  # fmt: skip
        if p["state"] != "pending":
            event = f"state:pending->{p['state']}"
            audit.append({"at": at + timedelta(minutes=1), "proposal_id": p["id"], "actor": "bot", "event": event,
                          "detail": {}})  # fmt: skip
    with store.engine.begin() as connection:
        connection.execute(insert(ProposalRow), proposals)
        connection.execute(insert(SignatureRow), signatures)
        connection.execute(insert(AuditRow), audit)
    # The steady state autovacuum (PostgreSQL) or a periodic ANALYZE (SQLite) keeps: fresh statistics,
    # and on PostgreSQL a visibility map, so counting reads the (state, id) index alone.
    postgres = store.engine.dialect.name == "postgresql"
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE" if postgres else "ANALYZE"))


def measure(operation: Callable[[], object]) -> float:
    """Return the median wall time of `operation` over RUNS runs, after a short warm-up."""
    for _ in range(3):
        operation()
    samples = []
    for _ in range(RUNS):
        began = time.perf_counter()
        operation()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


@dataclass(frozen=True)
class Result:
    """One timed operation on one backend."""

    backend: str
    operation: str
    seconds: float

    @property
    def ratio(self) -> float:
        return self.seconds / TARGET_SECONDS


def bench(backend: str, store: SqlStore) -> list[Result]:
    """Fill `store` and time the reads a bot or API request does."""
    began = time.perf_counter()
    fill(store)
    print(f"{backend}: filled in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    pending = [ProposalState.PENDING]
    some_id = PROPOSALS // 2
    safe = store.get(some_id).safe

    def list_pending() -> object:
        return store.list_proposals(states=pending, limit=100), store.count_proposals(states=pending)

    def render_status() -> object:
        return store.get(some_id), store.signatures(some_id), store.audit(proposal_id=some_id)

    def reserve_nonce() -> object:
        return store.reserved_nonces(safe)

    page, count = store.list_proposals(states=pending, limit=100), store.count_proposals(states=pending)
    assert len(page) == 100 and count > 100 and all(p.state is ProposalState.PENDING for p in page)
    assert len(store.signatures(some_id)) == SIGNATURES // PROPOSALS
    assert store.reserved_nonces(safe) and OPEN_STATES
    return [
        Result(backend, "list pending (page of 100 + count)", measure(list_pending)),
        Result(backend, "render status (get + signatures + audit)", measure(render_status)),
        Result(backend, "reserved nonces of one Safe", measure(reserve_nonce)),
    ]


@contextmanager
def sqlite_url() -> Iterator[str]:
    """Yield the URL of a SQLite file in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="dstack-gov-bench-") as directory:
        yield f"sqlite:///{Path(directory) / 'bench.db'}"


@contextmanager
def postgres_url(base: str) -> Iterator[str]:
    """Create a scratch database on the cluster at `base`; yield its URL; drop it afterwards."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(base).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def main() -> int:
    """Run the bench on every available backend, print the table, fail if a target is missed."""
    backends: list[tuple[str, Callable[[], Any]]] = [("sqlite", sqlite_url)]
    pg = os.environ.get("DSTACK_GOV_TEST_PG_URL")
    if pg:
        backends.append(("postgresql", lambda: postgres_url(pg)))
    else:
        print("PostgreSQL skipped: DSTACK_GOV_TEST_PG_URL is not set (.ci/postgres.sh)", file=sys.stderr)
    results: list[Result] = []
    for backend, make_url_for in backends:
        with make_url_for() as url, open_store(url) as store:
            results.extend(bench(backend, store))
    target_ms = TARGET_SECONDS * 1000
    print(f"{PROPOSALS:,} proposals, {SIGNATURES:,} signatures; median of {RUNS} runs; target {target_ms:.0f} ms")
    print(f"{'backend':<11} {'operation':<42} {'median ms':>9} {'target ms':>9} {'ratio':>6}")
    for r in results:
        print(f"{r.backend:<11} {r.operation:<42} {r.seconds * 1000:>9.2f} {target_ms:>9.0f} {r.ratio:>6.3f}")
    return 0 if all(r.ratio < 1 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
