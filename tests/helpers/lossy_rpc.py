"""A loopback JSON-RPC proxy in front of anvil that can lose the node's reply to chosen methods.

    with LossyRpc(anvil.url, drop_replies_to={"eth_sendRawTransaction"}) as proxy:
        w3 = Web3(Web3.HTTPProvider(proxy.url))

A request for a dropped method is still forwarded (the node acts on it); then the client's connection
is closed without an answer, as when a reply is lost on the way back. `round_trips` lists the methods
of every request it forwarded (a JSON-RPC batch is one request), so a test can count them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import requests


class LossyRpc:
    """Forward JSON-RPC POSTs to `upstream`; for methods in `drop_replies_to`, forward and then hang up."""

    def __init__(self, upstream: str, *, drop_replies_to: Collection[str] = ()) -> None:
        self.upstream = upstream
        self.drop_replies_to = set(drop_replies_to)
        self.dropped: list[str] = []  # methods whose reply was dropped, in order
        self.round_trips: list[tuple[str, ...]] = []  # the methods of each request (a batch is one), in order
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Return the proxy's http:// URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LossyRpc:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def forward(self, body: bytes) -> bytes:
        """Send one request body to the upstream node and return its reply."""
        reply = requests.post(self.upstream, data=body, headers={"Content-Type": "application/json"}, timeout=30)
        return reply.content

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                methods = _methods(body)
                proxy.round_trips.append(methods)
                reply = proxy.forward(body)
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
