"""Prometheus text exposition: proposals by state (from the service), event counters since start."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping

from proposals.models import ProposalState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# The service's notification names that the counters follow.
_EXECUTION_OUTCOMES = (ProposalState.EXECUTED.value, ProposalState.FAILED.value)


class Metrics:
    """Counters fed by the service's notifications; the gauges are given at scrape time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: Counter[str] = Counter()

    def on_event(self, _proposal_id: int, event: str) -> None:
        """Count one service notification (subscribe this to the service)."""
        with self._lock:
            self._events[event] += 1

    def signature_refused(self) -> None:
        """Count a signature the API refused."""
        self.on_event(0, "signature-refused")

    def render(self, by_state: Mapping[ProposalState, int], open_signatures: int) -> str:
        """Return every metric in the Prometheus text format, with the proposal gauges given."""
        with self._lock:
            events = Counter(self._events)
        signatures = [('{result="accepted"}', events["signature"]), ('{result="refused"}', events["signature-refused"])]
        lines: list[str] = []
        _family(
            lines,
            "dstack_gov_proposals",
            "gauge",
            "Proposals in the store, by state.",
            [(f'{{state="{state.value}"}}', by_state.get(state, 0)) for state in ProposalState],
        )
        _family(
            lines,
            "dstack_gov_open_proposal_signatures",
            "gauge",
            "Signatures held by open proposals.",
            [("", open_signatures)],
        )
        _family(
            lines,
            "dstack_gov_proposals_created_total",
            "counter",
            "Proposals created by this process.",
            [("", events["created"])],
        )
        _family(lines, "dstack_gov_signatures_total", "counter", "Signatures this process got, by result.", signatures)
        _family(
            lines,
            "dstack_gov_executions_total",
            "counter",
            "Executions this process recorded, by outcome.",
            [(f'{{outcome="{o}"}}', events[o]) for o in _EXECUTION_OUTCOMES],
        )
        return "\n".join(lines) + "\n"


def _family(lines: list[str], name: str, kind: str, help_text: str, samples: list[tuple[str, int]]) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")
    lines.extend(f"{name}{labels} {value}" for labels, value in samples)
