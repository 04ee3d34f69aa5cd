"""Serve the webhook with uvicorn on a socket bound up front, so a busy port is a clear error."""

from __future__ import annotations

import socket

import uvicorn

from foundation.listening import listen as bind

from .app import create_app
from .settings import Settings


def listen(settings: Settings) -> socket.socket:
    """Bind and return the listening socket for `settings.host`:`settings.port` (port 0 picks one)."""
    return bind(settings.host, settings.port)


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
