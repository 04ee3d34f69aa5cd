"""Bind listening sockets up front, so a busy port is a clear configuration error, not a traceback."""

from __future__ import annotations

import socket

from foundation.config_schema import ConfigError


def listen(host: str, port: int) -> socket.socket:
    """Bind and return a listening socket on host:port (port 0 picks a free one)."""
    sock: socket.socket | None = None
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        if sock is not None:
            sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock
