"""Every server's request-head deadline: slow heads are cut off; slow answers and idle keep-alives are not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from foundation.listening import listen
from foundation.serving import SWEEP_SECONDS, HeadTimeoutProtocol, server_config

HEAD_TIMEOUT = 0.3
# Closed by the sweep after the head timeout: allow both, twice over, before calling it a failure.
CUT_OFF_WITHIN = 2 * (HEAD_TIMEOUT + SWEEP_SECONDS) + 1
REQUEST = b"GET /%s HTTP/1.1\r\nHost: t\r\n\r\n"


class QuickHeads(HeadTimeoutProtocol):
    head_timeout = HEAD_TIMEOUT


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/slow":
        await asyncio.sleep(HEAD_TIMEOUT + SWEEP_SECONDS + 0.5)  # an answer slower than the head deadline
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@asynccontextmanager
async def serving() -> AsyncIterator[int]:
    sock = listen("127.0.0.1", 0)
    server = uvicorn.Server(server_config(app, http=QuickHeads, lifespan="off", log_level="warning"))
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        for _ in range(1000):  # up to 10 s to start
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        assert server.started
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


async def answer(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    return head.split(b"\r\n")[0] + b" " + await reader.readexactly(2)


async def test_a_connection_that_sends_nothing_is_closed_after_the_head_deadline():
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.read(), CUT_OFF_WITHIN) == b""
        writer.close()


async def test_a_trickled_head_is_closed_while_it_is_still_trickling():
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        closed = asyncio.ensure_future(reader.read())
        async with asyncio.timeout(CUT_OFF_WITHIN):
            for byte in b"GET / HTTP/1.1\r\nX-Slow: " + b"a" * 1000:
                if closed.done():
                    break
                writer.write(bytes([byte]))
                await asyncio.sleep(0.05)
        assert closed.done() and closed.result() == b""
        writer.close()


async def test_a_slow_answer_and_a_kept_alive_connection_are_left_alone():
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(REQUEST % b"slow")  # handled for longer than the head deadline
        assert await asyncio.wait_for(answer(reader), 10) == b"HTTP/1.1 200 OK ok"
        await asyncio.sleep(HEAD_TIMEOUT + SWEEP_SECONDS)  # idle between requests: keep-alive's business
        writer.write(REQUEST % b"")
        assert await asyncio.wait_for(answer(reader), 10) == b"HTTP/1.1 200 OK ok"
        writer.close()


async def test_a_second_head_that_stalls_on_a_kept_alive_connection_is_closed():
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(REQUEST % b"")
        assert await asyncio.wait_for(answer(reader), 10) == b"HTTP/1.1 200 OK ok"
        writer.write(b"GET / HTTP/1.1\r\nHost: t\r\n")  # and never the blank line
        assert await asyncio.wait_for(reader.read(), CUT_OFF_WITHIN) == b""
        writer.close()


def test_every_server_gets_the_deadline_by_default():
    config = server_config(app)
    assert config.http is HeadTimeoutProtocol
    assert (config.access_log, config.server_header, config.proxy_headers) == (False, False, False)
