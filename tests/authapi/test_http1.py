"""The webhook's HTTP/1.1 pool against loopback servers that answer well, oddly, slowly or badly."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import json
import re
import socket
import ssl
import traceback
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
import uvloop

from authapi.http1 import Http1Pool, PostError, PostTimeout
from authapi.jsonrpc import MAX_ANSWER_BYTES, eth_call
from authapi.rpc import RpcClient
from tests.helpers.tls import TlsContexts, tls_contexts

BODY = b'[{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}]'
ANSWER = b'[{"jsonrpc":"2.0","id":1,"result":"0x1"}]'
SECRETS = ("s3cret-user", "s3cret-pass", "s3cret-path", "s3cret-query")
BOUND = 10  # seconds any one test may take


@dataclass
class Node:
    """A loopback HTTP server: what it saw, and how many connections it had."""

    url: str = ""
    heads: list[bytes] = field(default_factory=list)
    accepted: int = 0
    open: int = 0
    peak: int = 0
    eofs: int = 0
    eof: asyncio.Event = field(default_factory=asyncio.Event)  # the client closed a connection
    ended: asyncio.Event = field(default_factory=asyncio.Event)  # a connection ended, either side closing
    request: asyncio.Event = field(default_factory=asyncio.Event)


# Writes the answer to one request (the body given); returns False to close the connection after it.
Respond = Callable[[Node, asyncio.StreamWriter, bytes], Awaitable[bool]]


def answer(body: bytes = ANSWER, *headers: str, status: str = "200 OK", version: str = "1.1") -> bytes:
    """Return an HTTP answer with a Content-Length and `headers`."""
    lines = [f"HTTP/{version} {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def ok(node: Node, writer: asyncio.StreamWriter, body: bytes) -> bool:
    writer.write(answer())
    return True


def replying(data: bytes, keep: bool = True) -> Respond:
    """Answer every request with these bytes; close after each unless `keep`."""

    async def respond(node: Node, writer: asyncio.StreamWriter, body: bytes) -> bool:
        writer.write(data)
        return keep

    return respond


silent = replying(b"")  # read each request, never answer, and notice when the client hangs up


@asynccontextmanager
async def serve(
    respond: Respond, userinfo: str = "", target: str = "/", tls: ssl.SSLContext | None = None
) -> AsyncIterator[Node]:
    """Run a server that reads each request and lets `respond` answer it."""
    node = Node()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        node.accepted += 1
        node.open += 1
        node.peak = max(node.peak, node.open)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)content-length: *(\d+)", head)
                body = await reader.readexactly(int(length[1]) if length else 0)
                node.heads.append(head)
                node.request.set()
                if not await respond(node, writer, body):
                    break
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            node.eofs += 1
            node.eof.set()
        finally:
            node.open -= 1
            node.ended.set()
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    node.url = f"{'https' if tls else 'http'}://{userinfo}127.0.0.1:{port}{target}"
    try:
        yield node
    finally:
        server.close()


def pool(url: str, timeout: float = 5, max_connections: int = 4, **kw: ssl.SSLContext) -> Http1Pool:
    return Http1Pool(url, timeout=timeout, max_connections=max_connections, **kw)


async def test_sequential_posts_reuse_one_connection():
    async with asyncio.timeout(BOUND), serve(ok) as node:
        client = pool(node.url)
        assert [await client.post(BODY) for _ in range(5)] == [(200, ANSWER)] * 5
        await client.aclose()
    assert node.accepted == 1 and len(node.heads) == 5


async def test_posts_in_flight_never_open_more_than_max_connections():
    full = asyncio.Event()

    async def held(node: Node, writer: asyncio.StreamWriter, body: bytes) -> bool:
        if node.open == 3:
            full.set()
        await full.wait()  # hold every answer until three connections are open at once
        writer.write(answer())
        return True

    async with asyncio.timeout(BOUND), serve(held) as node:
        client = pool(node.url, max_connections=3)
        assert await asyncio.gather(*(client.post(BODY) for _ in range(6))) == [(200, ANSWER)] * 6
        await client.aclose()
    assert node.peak == node.accepted == 3


async def test_a_chunked_answer_is_joined():
    parts = [ANSWER[:5], ANSWER[5:20], ANSWER[20:]]
    chunks = b"".join(b"%x\r\n%b\r\n" % (len(part), part) for part in parts)
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    async with asyncio.timeout(BOUND), serve(replying(chunked)) as node:
        client = pool(node.url)
        assert [await client.post(BODY) for _ in range(2)] == [(200, ANSWER)] * 2
        await client.aclose()
    assert node.accepted == 1


@pytest.mark.parametrize(
    ("coding", "compressed"),
    [
        ("gzip", gzip.compress(ANSWER)),
        ("deflate", zlib.compress(ANSWER)),
        ("deflate", zlib.compress(ANSWER)[2:-4]),  # a raw deflate stream, as some servers send
    ],
)
async def test_a_compressed_answer_is_inflated(coding, compressed):
    async with asyncio.timeout(BOUND), serve(replying(answer(compressed, f"Content-Encoding: {coding}"))) as node:
        client = pool(node.url)
        assert await client.post(BODY) == (200, ANSWER)
        await client.aclose()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (answer(b"\x00\x01", "Content-Encoding: br"), "unsupported Content-Encoding br"),
        (answer(b"xx", "Content-Encoding: gzip"), "malformed compressed answer"),
        (answer(gzip.compress(b" " * (MAX_ANSWER_BYTES + 1)), "Content-Encoding: gzip"), "answer larger than 16 MiB"),
        (b"HTTP/1.1 ok whatever\r\n\r\n", "malformed HTTP answer"),
        (b"\x16\x03\x01 not http at all\r\n\r\n", "malformed HTTP answer"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\nshort", "connection closed mid-answer"),
        (b"", "connection closed"),  # a fresh connection dropped before answering is not retried
    ],
)
async def test_a_bad_answer_on_a_fresh_connection_is_a_post_error(data, reason):
    async with asyncio.timeout(BOUND), serve(replying(data, keep=False)) as node:
        client = pool(node.url)
        with pytest.raises(PostError) as caught:
            await client.post(BODY)
        await client.aclose()
    assert caught.value.reason == reason
    assert node.accepted == 1


async def test_an_interim_answer_is_skipped():
    async with asyncio.timeout(BOUND), serve(replying(b"HTTP/1.1 100 Continue\r\n\r\n" + answer())) as node:
        client = pool(node.url)
        assert await client.post(BODY) == (200, ANSWER)
        assert await client.post(BODY) == (200, ANSWER)
        await client.aclose()
    assert node.accepted == 1


@pytest.mark.parametrize(
    ("data", "server_closes"),
    [
        # The server leaves these open: the client must close them itself, as the answer said.
        (answer(ANSWER, "Connection: close"), False),
        (answer(ANSWER, version="1.0"), False),
        # These end when the server closes.
        (b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + ANSWER, True),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + ANSWER, True),
    ],
)
async def test_an_answer_that_ends_the_connection_is_read_and_the_next_post_connects_again(data, server_closes):
    async with asyncio.timeout(BOUND), serve(replying(data, keep=not server_closes)) as node:
        client = pool(node.url)
        assert [await client.post(BODY) for _ in range(3)] == [(200, ANSWER)] * 3
        await client.aclose()
    assert node.accepted == 3 and len(node.heads) == 3


async def test_a_kept_alive_connection_the_server_closed_while_idle_is_not_reused():
    async with asyncio.timeout(BOUND), serve(replying(answer(), keep=False)) as node:
        client = pool(node.url)
        assert await client.post(BODY) == (200, ANSWER)
        await node.ended.wait()
        assert await client.post(BODY) == (200, ANSWER)
        await client.aclose()
    assert node.accepted == 2


async def test_a_kept_alive_connection_dropped_as_it_is_reused_is_retried_once_on_a_fresh_one():
    async def drop_second(node: Node, writer: asyncio.StreamWriter, body: bytes) -> bool:
        if len(node.heads) == 2:
            return False  # the request arrived on the kept-alive connection; close without answering
        writer.write(answer())
        return True

    async with asyncio.timeout(BOUND), serve(drop_second) as node:
        client = pool(node.url)
        assert [await client.post(BODY) for _ in range(2)] == [(200, ANSWER)] * 2
        await client.aclose()
    assert node.accepted == 2 and len(node.heads) == 3


async def test_bytes_on_an_idle_connection_drop_it():
    chatter = asyncio.Event()

    async def chatty(node: Node, writer: asyncio.StreamWriter, body: bytes) -> bool:
        writer.write(answer())
        if len(node.heads) == 1:
            await chatter.wait()
            writer.write(b"HTTP/1.1 200 OK\r\n")  # nobody asked
        return True

    async with asyncio.timeout(BOUND), serve(chatty) as node:
        client = pool(node.url)
        assert await client.post(BODY) == (200, ANSWER)
        chatter.set()
        await node.eof.wait()
        assert await client.post(BODY) == (200, ANSWER)
        await client.aclose()
    assert node.accepted == 2


async def test_an_oversized_answer_is_refused_before_its_body_is_read():
    announced = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n[" % (MAX_ANSWER_BYTES + 1)
    async with asyncio.timeout(BOUND), serve(replying(announced + b" " * 1000)) as node:
        client = pool(node.url)
        with pytest.raises(PostError, match="answer larger than 16 MiB"):
            await client.post(BODY)
        await node.eof.wait()  # the connection is closed, though the server sent no more
        await client.aclose()


async def test_an_oversized_chunked_answer_is_refused_while_it_streams():
    sent = 0

    async def endless(node: Node, writer: asyncio.StreamWriter, body: bytes) -> bool:
        nonlocal sent
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%b\r\n" % (1 << 20, b" " * (1 << 20))
        for _ in range(64):
            writer.write(chunk)
            await writer.drain()  # raises once the client has closed
            sent += 1
        return False

    async with asyncio.timeout(BOUND), serve(endless) as node:
        client = pool(node.url)
        with pytest.raises(PostError, match="answer larger than 16 MiB"):
            await client.post(BODY)
        await node.eof.wait()
        await client.aclose()
    assert sent < 64  # the client hung up long before the server ran out of chunks


async def test_a_silent_server_times_out_and_its_connection_is_closed():
    async with asyncio.timeout(BOUND), serve(silent) as node:
        client = pool(node.url, timeout=0.2)
        with pytest.raises(PostTimeout, match="timed out"):
            await client.post(BODY)
        await node.eof.wait()
        await client.aclose()


async def test_a_refused_port_is_a_post_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = pool(f"http://127.0.0.1:{port}/")
    with pytest.raises(PostError) as caught:
        async with asyncio.timeout(BOUND):
            await client.post(BODY)
    assert caught.value.reason == "connection refused"


async def test_userinfo_becomes_basic_auth_and_stays_out_of_the_request_line():
    userinfo = "us%40er:pa%3Ass%24@"
    async with asyncio.timeout(BOUND), serve(ok, userinfo=userinfo, target="/v2/key?apikey=k") as node:
        client = pool(node.url)
        assert await client.post(BODY) == (200, ANSWER)
        await client.aclose()
    line, *headers = node.heads[0].decode().strip().split("\r\n")
    fields = dict(h.split(": ", 1) for h in headers)
    assert line == "POST /v2/key?apikey=k HTTP/1.1"
    assert fields["Authorization"] == "Basic " + base64.b64encode(b"us@er:pa:ss$").decode()
    by_httpx = next(httpx.BasicAuth("us@er", "pa:ss$").auth_flow(httpx.Request("POST", node.url)))
    assert fields["Authorization"] == by_httpx.headers["Authorization"]
    assert fields["Host"] == node.url.split("@")[1].split("/")[0]
    assert fields["Content-Type"] == fields["Accept"] == "application/json"
    assert fields["Content-Length"] == str(len(BODY))


@pytest.mark.parametrize(
    "respond",
    [silent, replying(b"garbage\r\n\r\n"), replying(answer(b"x", "Content-Encoding: zz")), replying(b"", keep=False)],
)
async def test_no_post_error_carries_any_part_of_the_url(respond):
    userinfo, target = f"{SECRETS[0]}:{SECRETS[1]}@", f"/{SECRETS[2]}?key={SECRETS[3]}"
    async with asyncio.timeout(BOUND), serve(respond, userinfo=userinfo, target=target) as node:
        client = pool(node.url, timeout=0.3)
        with pytest.raises(PostError) as caught:
            await client.post(BODY)
        await client.aclose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        refused = node.url.replace(node.url.split("@")[1].split("/")[0], f"127.0.0.1:{sock.getsockname()[1]}")
    with pytest.raises(PostError) as refusal:
        await pool(refused).post(BODY)
    for error in (caught.value, refusal.value):
        text = "".join(traceback.format_exception(error)) + repr(error) + error.reason
        assert not any(secret in text for secret in SECRETS)


async def test_cancelling_a_post_closes_its_connection():
    async with asyncio.timeout(BOUND), serve(silent) as node:
        client = pool(node.url)
        post = asyncio.ensure_future(client.post(BODY))
        await node.request.wait()
        post.cancel()
        await node.eof.wait()
        assert post.cancelled()
        await client.aclose()


async def test_closing_fails_posts_in_flight_and_later_ones():
    async with asyncio.timeout(BOUND), serve(silent) as node:
        client = pool(node.url)
        post = asyncio.ensure_future(client.post(BODY))
        await node.request.wait()
        await client.aclose()
        with pytest.raises(PostError, match="closed"):
            await post
        with pytest.raises(PostError, match="closed"):
            await client.post(BODY)
        await node.eof.wait()
    assert node.accepted == 1


def test_other_schemes_and_bad_ports_are_refused_at_construction():
    for url in ("ftp://127.0.0.1/", "ws://127.0.0.1/", "http:///x", "http://127.0.0.1:99999/", "http://h:s3cret/"):
        with pytest.raises(ValueError) as caught:
            pool(url)
        assert "s3cret" not in str(caught.value)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsContexts:
    return tls_contexts(tmp_path_factory.mktemp("tls"))


async def test_a_tls_round_trip_reuses_its_connection(tls):
    server, trusting, _ = tls
    async with asyncio.timeout(BOUND), serve(ok, tls=server) as node:
        client = pool(node.url, ssl_context=trusting)
        assert [await client.post(BODY) for _ in range(3)] == [(200, ANSWER)] * 3
        await client.aclose()
    assert node.accepted == 1


async def test_a_certificate_from_another_ca_fails_the_handshake(tls):
    server, _, distrusting = tls
    async with asyncio.timeout(BOUND), serve(ok, tls=server) as node:
        client = pool(node.url, ssl_context=distrusting)
        with pytest.raises(PostError) as caught:
            await client.post(BODY)
        await client.aclose()
    assert caught.value.reason == "TLS handshake failed"
    assert node.heads == []


def test_the_pool_works_on_uvloop(tls):
    # Production serves on uvloop; its transports must behave as the standard loop's do here.
    server, trusting, _ = tls

    async def scenario() -> None:
        async with asyncio.timeout(BOUND):
            for context in (None, server):
                async with serve(
                    replying(answer(gzip.compress(ANSWER), "Content-Encoding: gzip")), tls=context
                ) as node:
                    client = pool(node.url, ssl_context=trusting)
                    assert [await client.post(BODY) for _ in range(3)] == [(200, ANSWER)] * 3
                    await client.aclose()
                assert node.accepted == 1
            async with serve(silent) as node:
                with pytest.raises(PostTimeout):
                    await pool(node.url, timeout=0.2).post(BODY)
                await node.eof.wait()

    with contextlib.closing(uvloop.new_event_loop()) as loop:
        loop.run_until_complete(scenario())


async def test_the_rpc_client_posts_through_the_pool_keeping_path_query_and_credentials():
    async def rpc_gzipped(node: Node, writer: asyncio.StreamWriter, body: bytes) -> bool:
        entries = [{"jsonrpc": "2.0", "id": call["id"], "result": "0x"} for call in json.loads(body)]
        writer.write(answer(gzip.compress(json.dumps(entries).encode()), "Content-Encoding: gzip"))
        return True

    async with asyncio.timeout(BOUND), serve(rpc_gzipped, "user:pa%24%24@", "/v2/key?apikey=k") as node:
        client = RpcClient(node.url, timeout=5)
        # The httpx-over-aiohttp transport it replaces cost three times its CPU per POST (authapi/http1.py)
        assert isinstance(getattr(client._send, "__self__", None), Http1Pool)
        try:
            for _ in range(2):
                entries = await client.post([eth_call("0x" + "11" * 20, "0x01"), ("eth_blockNumber", [])])
                assert [e["result"] for e in entries] == ["0x", "0x"]
        finally:
            await client.aclose()
    first, second = (head.decode().split("\r\n") for head in node.heads)
    assert first[0] == second[0] == "POST /v2/key?apikey=k HTTP/1.1"
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in first[1:] if line)}
    assert headers["authorization"] == "Basic " + base64.b64encode(b"user:pa$$").decode()
    assert headers["content-type"] == "application/json"
    assert node.accepted == 1
