"""Run the API under uvicorn: on a socket bound up front, or in a background thread (tests, benchmarks)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from foundation.listening import listen
from foundation.serving import server_config


def _server(app: FastAPI) -> uvicorn.Server:
    return uvicorn.Server(server_config(app, lifespan="off"))


def serve(app: FastAPI, sock: socket.socket) -> None:
    """Serve `app` on `sock` until SIGINT/SIGTERM; the caller's logging setup is kept."""
    _server(app).run(sockets=[sock])


class ThreadedServer:
    """Serve `app` on 127.0.0.1 in a background thread; `with` starts it and stops it."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        self._sock = listen(host, port)
        bound_host, bound_port = self._sock.getsockname()[:2]
        self.url = f"http://{bound_host}:{bound_port}"
        self._server = _server(app)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="dstack-gov-api", daemon=True
        )

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        """Start serving and wait until uvicorn accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the API server did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to finish, wait for the thread, and close the socket."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
