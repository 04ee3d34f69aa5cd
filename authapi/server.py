"""Serve the webhook with uvicorn on a socket bound up front, so a busy port is a clear error."""

from __future__ import annotations

import socket

import uvicorn

from dstack_gov.config import ConfigError

from .app import create_app
from .settings import Settings


def listen(settings: Settings) -> socket.socket:
    """Bind and return the listening socket for `settings.host`:`settings.port` (port 0 picks one)."""
    sock: socket.socket | None = None
    try:
        family, kind, proto, _, address = socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        if sock is not None:
            sock.close()
        where = f"{settings.host}:{settings.port}"
        raise ConfigError(f"cannot listen on {where}: {exc.strerror or exc}") from None
    return sock


def serve(settings: Settings, sock: socket.socket) -> None:
    """Run the webhook on `sock` until SIGINT/SIGTERM; the caller's logging setup is kept."""
    config = uvicorn.Config(
        create_app(settings),
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        lifespan="on",
    )
    uvicorn.Server(config).run(sockets=[sock])
