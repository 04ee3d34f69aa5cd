"""A loopback JSON-RPC proxy in front of anvil: it records what it forwards and can misbehave on demand.

    with RpcProxy(anvil.url) as node:
        client = connect(node.secret_url)   # credentials in the userinfo, the path and the query
        node.silent.set()                   # from now on: accept connections, never answer

    with RpcProxy(anvil.url, drop_replies_to={"eth_sendRawTransaction"}) as node:
        w3 = Web3(Web3.HTTPProvider(node.url))

`targets` lists each request's path and query as received, so a test can check the keys did reach
the node while asserting they never reach a log. `round_trips` lists the methods of every request
(a JSON-RPC batch is one request), so a test can count them. A request for a method in
`drop_replies_to` is still forwarded (the node acts on it); then the client's connection is closed
without an answer, as when a reply is lost on the way back, and the method is added to `dropped`.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Collection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import requests

RPC_USER = "rpc-user-789"
RPC_PASSWORD = "pa$$word-1"
PATH_KEY = "pathkey-123"
QUERY_KEY = "q-456"
# Every form a secret may take in a log line (the password also percent-encoded, as in a URL).
SECRETS = (RPC_PASSWORD, urllib.parse.quote(RPC_PASSWORD, safe=""), PATH_KEY, QUERY_KEY)


class RpcProxy:
    """Forward POSTs to `upstream` whatever their path; hold them while `silent`, hang up on `drop_replies_to`."""

    def __init__(
        self, upstream: str, *, silent: bool = False, delay: float = 0.0, drop_replies_to: Collection[str] = ()
    ) -> None:
        self.upstream = upstream
        self.delay = delay  # seconds to wait before forwarding each request (a far-away node)
        self.error_status = 0  # when set, answer every request with this HTTP status (an overloaded node)
        self.drop_replies_to = set(drop_replies_to)
        self.targets: list[str] = []
        self.round_trips: list[tuple[str, ...]] = []  # the methods of each request (a batch is one), in order
        self.dropped: list[str] = []  # methods whose reply was dropped, in order
        self.silent = threading.Event()
        if silent:
            self.silent.set()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Return the proxy's plain http:// URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def secret_url(self) -> str:
        """Return the proxy's URL with credentials in the userinfo, a key in the path and one in the query."""
        host, port = self._server.server_address[:2]
        password = urllib.parse.quote(RPC_PASSWORD, safe="")
        return f"http://{RPC_USER}:{password}@{host!s}:{port}/v2/{PATH_KEY}?apikey={QUERY_KEY}"

    def __enter__(self) -> RpcProxy:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                methods = _methods(body)
                proxy.targets.append(self.path)
                proxy.round_trips.append(methods)
                if proxy.silent.is_set():
                    proxy._closing.wait(timeout=60)  # a node that accepted the call and never answers
                    self.close_connection = True
                    return
                if proxy.delay:
                    proxy._closing.wait(timeout=proxy.delay)
                if proxy.error_status:
                    self.send_error(proxy.error_status)
                    return
                headers = {"Content-Type": "application/json"}
                reply = requests.post(proxy.upstream, data=body, headers=headers, timeout=30).content
                dropped = set(methods) & proxy.drop_replies_to
                if dropped:
                    proxy.dropped.extend(sorted(dropped))
                    self.close_connection = True
                    return  # no status line, no body: the client sees the connection closed
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _methods(body: bytes) -> tuple[str, ...]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return ()
    calls = parsed if isinstance(parsed, list) else [parsed]
    return tuple(str(call.get("method")) for call in calls if isinstance(call, dict))
