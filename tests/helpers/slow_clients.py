"""Clients that send their headers and half a body, then stall or vanish (bounded in count and time)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

DECLARED = 1000
HALF = b'{"a":"' + b"x" * (DECLARED // 2)


def half_request(path: str, port: int) -> bytes:
    """Return a POST's headers, declaring DECLARED bytes of JSON, and the first half of that body."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {DECLARED}\r\n\r\n"
    )
    return head.encode() + HALF


@contextmanager
def stalled_clients(port: int, path: str, count: int) -> Iterator[list[socket.socket]]:
    """Open `count` connections that each send headers and half a body, then stop; close them after."""
    with ExitStack() as stack:
        clients = []
        for _ in range(count):
            client = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=10))
            client.sendall(half_request(path, port))
            clients.append(client)
        yield clients


def read_until_closed(clients: list[socket.socket], within: float) -> list[bytes]:
    """Read each connection until the server closes it; fail if any is still open after `within` seconds."""
    deadline = time.monotonic() + within
    answers = []
    for client in clients:
        received = b""
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"the server still held a connection after {within:g} s (got {received!r})"
            client.settimeout(remaining)
            try:
                chunk = client.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        answers.append(received)
    return answers
