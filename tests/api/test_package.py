"""The API package's public names are pinned: front ends import only these."""

from __future__ import annotations

import dstack_gov.api


def test_public_names():
    assert sorted(dstack_gov.api.__all__) == [
        "MAX_BODY_BYTES", "ThreadedServer", "WRITES_DISABLED", "create_api", "listen", "serve",
    ]  # fmt: skip
    assert dstack_gov.api.MAX_BODY_BYTES == 256 * 1024
