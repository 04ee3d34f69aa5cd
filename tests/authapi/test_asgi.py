"""The webhook's own ASGI plumbing: routing, refusals, HEAD, the lifespan protocol, and a crashing handler."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from starlette.types import Message, Receive, Scope

from authapi.asgi import App, Reply, route

pytestmark = pytest.mark.asyncio


async def hello(scope: Scope, receive: Receive) -> Reply:
    return Reply(200, b'{"hello":true}')


async def crash(scope: Scope, receive: Receive) -> Reply:
    raise KeyError("a defect with a secret in its text: s3cret")


def build(events: list[str] | None = None, fail_startup: bool = False) -> App:
    seen = [] if events is None else events

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        if fail_startup:
            raise RuntimeError("no")
        seen.append("up")
        yield
        seen.append("down")

    routes = {"/": route(hello, "GET"), "/boot": route(hello, "POST"), "/crash": route(crash, "POST")}
    return App(routes, lifespan=lifespan, state=SimpleNamespace())


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build()), base_url="http://t") as c:
        yield c


async def test_a_route_answers_with_length_and_type(client):
    response = await client.post("/boot")
    assert (response.status_code, response.content) == (200, b'{"hello":true}')
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == "14"


async def test_an_unknown_path_is_404_text(client):
    response = await client.post("/nowhere")
    assert (response.status_code, response.text) == (404, "Not Found")
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(("method", "path", "allow"), [("GET", "/boot", "POST"), ("POST", "/", "GET, HEAD")])
async def test_a_wrong_method_is_405_naming_the_allowed_ones(client, method, path, allow):
    response = await client.request(method, path)
    assert (response.status_code, response.text) == (405, "Method Not Allowed")
    assert response.headers["allow"] == allow


async def test_head_is_taken_where_get_is(client):
    response = await client.head("/")
    assert response.status_code == 200
    assert response.headers["content-length"] == "14"


async def test_a_crashing_handler_is_a_plain_500_and_one_log_line(client, caplog):
    with caplog.at_level(logging.INFO, logger="authapi"):
        response = await client.post("/crash")
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    assert [r.getMessage() for r in caplog.records] == ["POST /crash failed unexpectedly (KeyError)"]
    assert "s3cret" not in caplog.text and "Traceback" not in caplog.text


async def run_lifespan(app: App, inbox: list[str]) -> list[dict[str, Any]]:
    """Drive the ASGI lifespan protocol as a server does; return what the app sent."""
    queue: asyncio.Queue[Message] = asyncio.Queue()
    for kind in inbox:
        queue.put_nowait({"type": kind})
    sent: list[dict[str, Any]] = []

    async def send(message: Message) -> None:
        sent.append(dict(message))

    async with asyncio.timeout(5):
        await app({"type": "lifespan", "asgi": {"version": "3.0"}}, queue.get, send)
    return sent


async def test_the_lifespan_runs_startup_then_shutdown():
    events: list[str] = []
    sent = await run_lifespan(build(events), ["lifespan.startup", "lifespan.shutdown"])
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert events == ["up", "down"]


async def test_a_failed_startup_is_reported_to_the_server(caplog):
    sent = await run_lifespan(build(fail_startup=True), ["lifespan.startup"])
    assert sent == [{"type": "lifespan.startup.failed", "message": "RuntimeError"}]
    assert "startup failed (RuntimeError)" in caplog.text


async def test_a_websocket_is_closed():
    sent: list[dict[str, Any]] = []

    async def send(message: Message) -> None:
        sent.append(dict(message))

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    await build()({"type": "websocket", "path": "/"}, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1000}]
