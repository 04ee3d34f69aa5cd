"""POST bytes to one URL over pooled keep-alive HTTP/1.1 connections; httptools parses the answers.

The RPC client is the largest CPU cost of an uncached webhook request. Measured per POST of a
2-call batch to a local anvil, sequentially: an httpx.Request handed to an httpx transport over
a pooled aiohttp session, 700 µs wall and 432 µs CPU; aiohttp's own session.post, 420 µs and
204 µs; an asyncio Protocol writing the request bytes and parsing the answer with
httptools.HttpResponseParser, 170 µs and 32 µs. One fixed URL and one kind of request need none
of a general client's machinery (redirects, cookies, URL merging, per-request headers), so this
module keeps only what is left: the framing, a keep-alive pool and the error mapping. httptools
(llhttp, the parser uvicorn serves with) does the HTTP parsing.

Errors: every failure is a PostError whose `reason` names the kind only. It never carries the
URL or any part of it (the URL may hold an API key), nor a library's exception text.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
import zlib
from typing import cast

import httptools
import httpx

from foundation.deadline import within

from .jsonrpc import MAX_ANSWER_BYTES

_TOO_LARGE = f"answer larger than {MAX_ANSWER_BYTES >> 20} MiB"
_MALFORMED = "malformed HTTP answer"
# Codings a server may plausibly send: named in the error. Anything else is server text, left out.
_KNOWN_CODINGS = frozenset({"br", "zstd", "compress", "x-compress", "aes128gcm", "exi", "pack200-gzip"})

# (status, body as sent, Content-Encoding as sent)
_Answer = tuple[int, bytes, bytes]


class PostError(Exception):
    """A POST failed; `reason` is one line naming the kind of failure, safe to show."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class PostTimeout(PostError):
    """The POST (waiting for a connection, connecting, writing, reading) did not finish in time."""


class _Dropped(PostError):
    """The connection closed before any byte of the answer arrived: a stale keep-alive, if reused."""


class _Refused(Exception):
    """Raised in a parser callback to stop parsing an answer that was already failed."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection: write a request, parse its answer, report it on a future."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self._loop = asyncio.get_running_loop()  # kept: asking again per request costs a getpid() on 3.11
        self.lost: asyncio.Future[None] = self._loop.create_future()
        self.keep_alive = False
        self._answer: asyncio.Future[_Answer] | None = None
        self._received = False
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.chunks: list[bytes] = []
        self.size = 0
        self.encoding = b""
        self.framed = False  # a Content-Length or chunked answer; otherwise it ends when the server closes
        self.headers_done = False

    @property
    def usable(self) -> bool:
        """Tell whether the connection is open and not being closed."""
        return self.transport is not None and not self.lost.done() and not self.transport.is_closing()

    def send(self, request: bytes) -> asyncio.Future[_Answer]:
        """Write `request`; return the future of its answer."""
        assert self.transport is not None
        self._reset()
        self.keep_alive = self._received = False
        self._answer = self._loop.create_future()
        self.transport.write(request)
        return self._answer

    def close(self, error: PostError | None = None) -> None:
        """Close the connection, failing the answer being read with `error` if one is."""
        if error is not None:
            self._fail(error)
        if self.transport is not None:
            self.transport.close()

    def _fail(self, error: PostError) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(error)

    def _finish(self) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_result((self.status, b"".join(self.chunks), self.encoding))

    def _refuse(self, reason: str) -> None:
        self.close(PostError(reason))
        raise _Refused

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._answer is None or self._answer.done():
            self.close()  # bytes nobody asked for: this connection's framing can't be trusted any more
            return
        self._received = True
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            self.close(PostError(_MALFORMED))  # a no-op on an answer a callback already failed

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        if self.headers_done and not self.framed:
            self._finish()  # httptools has no "end of input" call: the close is the end of this answer
        elif not self._received:
            self._fail(_Dropped("connection reset" if exc else "connection closed"))
        else:
            self._fail(PostError("connection closed mid-answer"))

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self._answer is None or self._answer.done():
            self.close()  # a second answer to one request
            raise _Refused

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-length":
            self.framed = True
            if int(value) > MAX_ANSWER_BYTES:
                self._refuse(_TOO_LARGE)
        elif name == b"transfer-encoding":
            self.framed = value.rsplit(b",", 1)[-1].strip().lower() == b"chunked"
        elif name == b"content-encoding":
            self.encoding = self.encoding + b"," + value if self.encoding else value

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > MAX_ANSWER_BYTES:
            self._refuse(_TOO_LARGE)
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        if self.status < 200:
            self._reset()  # a 1xx interim answer: the real one follows
            return
        self.keep_alive = self.parser.should_keep_alive()  # llhttp clears what it is based on right after
        self._finish()


class Http1Pool:
    """POST bytes to one http(s) URL over at most `max_connections` pooled keep-alive connections."""

    def __init__(
        self, url: str, *, timeout: float, max_connections: int, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        parsed = _parse(url)
        self._host = parsed.raw_host.decode("ascii")
        self._port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self._tls = (ssl_context or ssl.create_default_context()) if parsed.scheme == "https" else None
        self._head = _request_head(parsed)
        self._timeout = timeout
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[_Connection] = []
        self._busy: set[_Connection] = set()
        self._closed = False

    async def post(self, body: bytes) -> tuple[int, bytes]:
        """POST `body` as JSON; return the answer's status and (decompressed) body."""
        if self._closed:
            raise PostError("closed")
        request = b"%b%d\r\n\r\n%b" % (self._head, len(body), body)
        try:
            async with within(self._timeout), self._slots:
                status, content, encoding = await self._exchange(request)
        except TimeoutError:
            raise PostTimeout("timed out") from None
        return status, _decode(encoding, content)

    async def _exchange(self, request: bytes) -> _Answer:
        conn = self._reuse()
        if conn is not None:
            try:
                return await self._round_trip(conn, request)
            except _Dropped:
                pass  # the node closed it as we reused it; the calls are read-only, so send once more
        conn = await self._connect()
        try:
            return await self._round_trip(conn, request)
        except _Dropped as exc:
            raise PostError(exc.reason) from None

    def _reuse(self) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if conn.usable:
                return conn
        return None

    async def _round_trip(self, conn: _Connection, request: bytes) -> _Answer:
        self._busy.add(conn)
        kept = False
        try:
            answer = await conn.send(request)
            kept = conn.keep_alive and not self._closed
            return answer
        finally:
            # Anything but a whole answer on a connection the server keeps open (a timeout, a
            # cancellation, an error) closes it: its framing is unknown.
            self._busy.discard(conn)
            if kept and conn.usable:
                self._idle.append(conn)
            else:
                conn.close()

    async def _connect(self) -> _Connection:
        if self._closed:
            raise PostError("closed")
        loop = asyncio.get_running_loop()
        hostname = self._host if self._tls else None
        try:
            _, conn = await loop.create_connection(
                _Connection, self._host, self._port, ssl=self._tls, server_hostname=hostname
            )
        except ssl.SSLError:
            raise PostError("TLS handshake failed") from None
        except ConnectionRefusedError:
            raise PostError("connection refused") from None
        except ConnectionResetError:
            raise PostError("connection reset") from None
        except socket.gaierror:
            raise PostError("name resolution failed") from None
        except OSError:
            raise PostError("connection failed") from None
        if self._closed:
            conn.close()
            raise PostError("closed")
        return conn

    async def aclose(self) -> None:
        """Close every connection, idle or in use; later posts fail with PostError("closed")."""
        self._closed = True
        conns = [*self._idle, *self._busy]
        self._idle.clear()
        for conn in conns:
            conn.close(PostError("closed"))
        if conns:
            await asyncio.wait([conn.lost for conn in conns], timeout=1)


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise ValueError("invalid RPC URL") from None  # httpx's text quotes the URL
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        raise ValueError("the RPC URL must be an http:// or https:// URL with a host")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise ValueError("port out of range in the RPC URL")
    return parsed


def _request_head(url: httpx.URL) -> bytes:
    """Return every byte of the request before the Content-Length value (userinfo becomes Basic auth)."""
    lines = [
        b"POST " + url.raw_path + b" HTTP/1.1",
        b"Host: " + url.netloc,
        b"Content-Type: application/json",
        b"Accept: application/json",
    ]
    if url.username or url.password:
        # As httpx.BasicAuth builds it: the percent-decoded user and password, UTF-8.
        token = base64.b64encode(f"{url.username}:{url.password}".encode())
        lines.append(b"Authorization: Basic " + token)
    lines.append(b"Content-Length: ")
    return b"\r\n".join(lines)


def _decode(encoding: bytes, body: bytes) -> bytes:
    coding = encoding.strip().lower()
    if coding in (b"", b"identity"):
        return body
    try:
        if coding in (b"gzip", b"x-gzip"):
            return _inflate(body, 16 + zlib.MAX_WBITS)
        if coding == b"deflate":
            try:
                return _inflate(body, zlib.MAX_WBITS)
            except zlib.error:
                return _inflate(body, -zlib.MAX_WBITS)  # a raw deflate stream, as some servers send
    except zlib.error:
        raise PostError("malformed compressed answer") from None
    name = coding.decode("ascii", "replace")
    raise PostError(
        f"unsupported Content-Encoding {name}" if name in _KNOWN_CODINGS else "unsupported Content-Encoding"
    )


def _inflate(body: bytes, wbits: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    content = inflater.decompress(body, MAX_ANSWER_BYTES + 1)  # never inflate past the bound
    if len(content) > MAX_ANSWER_BYTES:
        raise PostError(_TOO_LARGE)
    if not inflater.eof:
        raise zlib.error("truncated stream")
    return content
