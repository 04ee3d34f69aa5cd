"""Event topics come from the contracts' ABIs, so a misspelt event fails loudly instead of matching no log."""

from __future__ import annotations

import re

import pytest

from contracts import app_abi, kms_abi
from proposals.events import (
    EXECUTION_FAILURE_TOPIC,
    EXECUTION_SUCCESS_TOPIC,
    SAFE_ABI,
    UPGRADES_DISABLED_TOPIC,
    event_topic,
)


def test_the_topics_are_the_keccak_of_the_abi_signatures():
    # The well-known topics of the Safe events (the same in 1.3.0 and 1.4.1).
    assert EXECUTION_SUCCESS_TOPIC.hex() == "442e715f626346e8c54381002da614f62bee8d27386535b2521ec8540898556e"
    assert EXECUTION_FAILURE_TOPIC.hex() == "23428b18acfb3ea64b08dc0c1d296ea9c09702c09083ca5272e64d115b687d23"
    assert event_topic(app_abi(), "UpgradesDisabled") == UPGRADES_DISABLED_TOPIC


@pytest.mark.parametrize(
    ("abi", "name"),
    [(SAFE_ABI, "ExecutionSucces"), (kms_abi(), "OsImageAdded"), (app_abi(), "ComposeHashAdded(bytes32)")],
)
def test_an_event_the_abi_does_not_declare_is_refused(abi, name):
    with pytest.raises(LookupError, match=re.escape(f"declares 0 events named {name}")):
        event_topic(abi, name)
