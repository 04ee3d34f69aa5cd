"""The leader lock itself: one holder per database, freed when the holder's session ends."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from proposals.errors import Conflict
from proposals.store.leadership import PgLeaderLock, SqliteSoleReplica, claim_leadership, current_leader


@pytest.mark.postgres
def test_one_replica_holds_the_lock_and_a_follower_wins_it_once_the_holder_s_session_ends(pg_url):
    first, second = claim_leadership(pg_url, label="replica a pid 1"), claim_leadership(pg_url, label="replica b pid 2")
    assert isinstance(first, PgLeaderLock) and first.elects
    try:
        assert first.try_acquire() and first.heartbeat()
        assert not second.try_acquire() and not second.heartbeat()
        assert current_leader(pg_url) == "replica a pid 1"
        # The holder's session ends as a killed process's would (its backend goes away).
        admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            ended = connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                            "WHERE application_name = 'replica a pid 1'")).scalars().all()  # fmt: skip
        admin.dispose()
        assert ended == [True]
        assert not first.heartbeat()  # the old leader learns it no longer leads
        assert second.try_acquire() and second.heartbeat()
        assert current_leader(pg_url) == "replica b pid 2"
        assert not first.try_acquire()  # and cannot take it back
    finally:
        first.release()
        second.release()
    assert current_leader(pg_url) is None


def test_a_second_process_on_one_sqlite_file_is_refused(tmp_path):
    database = tmp_path / "gov.sqlite"
    first = claim_leadership(f"sqlite:///{database}", label="a")
    assert isinstance(first, SqliteSoleReplica) and not first.elects and first.try_acquire()
    try:
        # flock is per open file description: a second claim in this process stands in for a second process.
        with pytest.raises(Conflict, match="another dstack-gov run already uses the SQLite database"):
            claim_leadership(f"sqlite:///{database}", label="b")
    finally:
        first.release()
    claim_leadership(f"sqlite:///{database}", label="c").release()  # free again once the first is gone
