"""`--log-format json` (or [logging] format): one JSON object per log line, still without the RPC credentials."""

from __future__ import annotations

import json

import httpx
import pytest

from dstack_gov.anvil import free_port
from tests.api.conftest import TOKEN
from tests.helpers.config_file import write_config
from tests.helpers.log_secrets import leaked, verbose_server
from tests.helpers.rpc_proxy import RpcProxy


@pytest.mark.parametrize("chosen_by", ["environment", "config"])
def test_json_log_lines_are_objects_and_redacted(anvil, gov, tmp_path, chosen_by):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with RpcProxy(anvil.url) as node:
        env = {"DSTACK_GOV_API_TOKEN": TOKEN}
        if chosen_by == "environment":
            env["DSTACK_GOV_LOG_FORMAT"] = "json"
        extra = '[logging]\nformat = "json"\n' if chosen_by == "config" else ""
        write_config(gov, node.secret_url, tmp_path, extra=extra)
        with verbose_server(["serve", "--port", str(port)], url + "/healthz", tmp_path, **env) as output:
            assert httpx.get(url + "/readyz", timeout=60).status_code == 200
    text = output.read_text()
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert records, text
    assert all(set(r) >= {"time", "level", "logger", "message"} for r in records)
    assert any(r["level"] == "debug" and r["logger"].startswith("urllib3") for r in records)  # -v in effect
    assert not [line for line in text.splitlines() if line.startswith(("DEBUG ", "INFO ", "WARNING "))]
    assert leaked(text) == [], text
