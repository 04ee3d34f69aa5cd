"""Fixtures for the proposals core: `gov` (tests/conftest.py) over 1-of-1 and 2-of-3 Safes."""

from __future__ import annotations

import pytest

from tests.helpers.governance import Governance, build_governance


@pytest.fixture(params=[(1, 1), (2, 3)], ids=["1-of-1", "2-of-3"])
def gov_m_of_n(request, w3, eth_client, safe_infra, tmp_path) -> Governance:
    """The same, parametrised over 1-of-1 and 2-of-3 Safes."""
    threshold, owners = request.param
    return build_governance(w3, eth_client, safe_infra, tmp_path, owners=owners, threshold=threshold)
