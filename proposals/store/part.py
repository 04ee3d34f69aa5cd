"""What SqlStore's record mixins share: the session factory, the clock and the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from proposals.clock import Clock

from .rows import jsonable, utc
from .tables import AuditRow


class StorePart:
    """A base of SqlStore and of each of its record mixins; SqlStore sets the sessions and the clock."""

    _sessions: sessionmaker[Session]
    _clock: Clock

    def _now(self) -> datetime:
        return utc(self._clock(), "clock")

    @staticmethod
    def _append(
        session: Session, at: datetime, proposal_id: int | None, actor: str, event: str, detail: Mapping[str, Any]
    ) -> None:
        entry = AuditRow(at=at, proposal_id=proposal_id, actor=actor, event=event, detail=jsonable(detail))
        session.add(entry)
        session.flush()
