"""`dstack-gov -v serve` logs every RPC call in detail, but never the RPC URL's credentials."""

from __future__ import annotations

import httpx

from dstack_gov.anvil import free_port
from tests.api.conftest import AUTH, TOKEN, batch_body
from tests.helpers.config_file import write_config
from tests.helpers.log_secrets import leaked, verbose_server
from tests.helpers.rpc_proxy import PATH_KEY, QUERY_KEY, RpcProxy


def test_verbose_api_logs_no_rpc_credentials(anvil, gov, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with RpcProxy(anvil.url) as node:
        write_config(gov, node.secret_url, tmp_path)
        args = ["serve", "--port", str(port)]
        server = verbose_server(args, url + "/healthz", tmp_path, DSTACK_GOV_API_TOKEN=TOKEN)
        with server as output, httpx.Client(base_url=url, timeout=60) as client:
            created = client.post("/api/proposals", json=batch_body(gov), headers=AUTH)
            viewed = client.get(f"/api/proposals/{created.json()['id']}")
            health = client.get("/healthz")
    text = output.read_text()
    assert (created.status_code, viewed.status_code, health.status_code) == (201, 200, 200), text
    assert f"/v2/{PATH_KEY}?apikey={QUERY_KEY}" in node.targets  # the keys did reach the node
    assert "DEBUG" in text and "urllib3" in text  # -v was in effect and the client did log
    assert "<redacted>" in text  # something did try to log them
    assert leaked(text) == [], text
