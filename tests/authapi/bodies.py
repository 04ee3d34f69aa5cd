"""A syntactically valid boot request, for tests that never reach a real contract."""

from __future__ import annotations

from typing import Any


def valid_body(**overrides: Any) -> dict[str, Any]:
    """Return a well-formed request body with every field set, plus camelCase `overrides`."""
    body: dict[str, Any] = {
        "mrAggregated": "0x" + "01" * 32,
        "osImageHash": "0x" + "02" * 32,
        "appId": "0x" + "03" * 20,
        "composeHash": "0x" + "04" * 32,
        "instanceId": "0x" + "05" * 20,
        "deviceId": "0x" + "06" * 32,
        "tcbStatus": "UpToDate",
        "advisoryIds": [],
        "mrSystem": "0x" + "07" * 32,
    }
    body.update(overrides)
    return body
