"""`dstack-gov -v authapi` logs every request in detail, but never the RPC URL's credentials."""

from __future__ import annotations

import httpx

from dstack_gov.anvil import free_port
from tests.authapi.world import app_request, kms_request
from tests.helpers.log_secrets import leaked, verbose_server
from tests.helpers.rpc_proxy import PATH_KEY, QUERY_KEY, RpcProxy


def test_verbose_webhook_logs_no_rpc_credentials(anvil, world, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with RpcProxy(anvil.url) as node:
        args = ["authapi", "--rpc-url", node.secret_url, "--kms", world.kms.kms_address, "--port", str(port)]
        with verbose_server(args, url, tmp_path) as output:
            status = httpx.get(url, timeout=10)
            app = httpx.post(url + "/bootAuth/app", json=app_request(world.app), timeout=10)
            kms = httpx.post(url + "/bootAuth/kms", json=kms_request(), timeout=10)
    text = output.read_text()
    assert (status.status_code, app.json()["isAllowed"], kms.json()["isAllowed"]) == (200, True, True)
    assert f"/v2/{PATH_KEY}?apikey={QUERY_KEY}" in node.targets  # the keys did reach the node
    assert "DEBUG" in text and "RPC POST to http://127.0.0.1:" in text  # -v was in effect and each POST was logged
    assert leaked(text) == [], text
