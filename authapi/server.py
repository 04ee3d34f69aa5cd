"""Serve the webhook with uvicorn on a socket bound up front, so a busy port is a clear error."""

from __future__ import annotations

import socket

import uvicorn

from foundation.listening import listen as bind
from foundation.serving import server_config

from .app import create_app
from .settings import Settings


def listen(settings: Settings) -> socket.socket:
    """Bind and return the listening socket for `settings.host`:`settings.port` (port 0 picks one)."""
    return bind(settings.host, settings.port)


def serve(settings: Settings, sock: socket.socket) -> None:
    """Run the webhook on `sock` until SIGINT/SIGTERM; the caller's logging setup is kept."""
    uvicorn.Server(server_config(create_app(settings), lifespan="on")).run(sockets=[sock])
