"""Hostile bodies against /bootAuth/app and /bootAuth/kms: never a 5xx, never a dead process.

A fixed seed makes a few hundred inputs (deep nesting, huge numbers, wrong types, bad UTF-8,
oversized fields, odd content types, duplicate keys, mangled valid requests). They go in-process
through the ASGI app on a canned node that allows everything (so a body that wrongly passes
validation shows up as an allowed verdict), and the worst of them over TCP to a real server
process that must still be alive and answering at the end.
"""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dstack_gov.anvil import free_port
from tests.authapi.bodies import valid_body
from tests.authapi.conftest import webhook_client
from tests.authapi.test_fail_closed import healthy_node, settings
from tests.authapi.test_server import RUN_CLI, clean_env
from tests.authapi.transports import canned
from tests.authapi.world import app_request
from tests.helpers.processes import stop, wait_until_serving

SEED = 20_240_611
RANDOM_INPUTS = 300
ENDPOINTS = ["/bootAuth/app", "/bootAuth/kms"]
JSON = "application/json"
FIELDS = list(valid_body())

Case = tuple[str, bytes, str | None]  # name, body, Content-Type (None: no header)


def _deep(depth: int) -> bytes:
    return b'{"appId":' + b"[" * depth + b"]" * depth + b"}"


SHAPES: list[Case] = [
    ("deep-array", b"[" * 100_000 + b"]" * 100_000, JSON),
    ("deep-array-unclosed", b"[" * 60_000, JSON),
    ("deep-in-a-field", _deep(50_000), JSON),
    ("deep-objects", b'{"a":' * 20_000 + b"1" + b"}" * 20_000, JSON),
    ("deep-just-allowed", _deep(30), JSON),
    ("huge-int", b'{"tcbStatus":' + b"9" * 60_000 + b"}", JSON),
    ("huge-float", json.dumps(valid_body()).replace('"UpToDate"', "1e999999").encode(), JSON),
    ("nan", json.dumps(valid_body()).replace('"UpToDate"', "NaN").encode(), JSON),
    ("oversized", b'{"appId":"' + b"a" * 70_000 + b'"}', JSON),
    ("many-advisories", json.dumps(valid_body(advisoryIds=["INTEL-SA-1"] * 5000)).encode(), JSON),
    ("long-advisory", json.dumps(valid_body(advisoryIds=["x" * 30_000])).encode(), JSON),
    # The last of duplicate keys counts, as with JSON.parse in the reference webhook.
    ("duplicate-keys-last-valid", b'{"appId":1,' + json.dumps(valid_body())[1:].encode(), JSON),
    ("duplicate-keys-last-invalid", json.dumps(valid_body())[:-1].encode() + b',"appId":1}', JSON),
    ("bad-utf8", json.dumps(valid_body()).encode().replace(b"UpToDate", b"Up\xff\xfeDate"), JSON),
    ("lone-surrogate", json.dumps(valid_body()).replace("UpToDate", "\\ud800").encode(), JSON),
    ("utf16", json.dumps(valid_body()).encode("utf-16"), "application/json; charset=utf-16"),
    ("bom", b"\xef\xbb\xbf" + json.dumps(valid_body()).encode(), JSON),
    ("nul-bytes", b"\x00" * 1000, JSON),
    ("empty", b"", JSON),
    ("no-content-type", json.dumps(valid_body()).encode(), None),
    ("text-plain", json.dumps(valid_body()).encode(), "text/plain"),
    ("form", b"appId=0x01&tcbStatus=UpToDate", "application/x-www-form-urlencoded"),
    ("multipart", b"--b\r\n\r\n{}\r\n--b--", "multipart/form-data; boundary=b"),
    ("weird-json-type", json.dumps(valid_body()).encode(), "application/evil+json; x=" + "y" * 4000),
    ("bad-content-type", json.dumps(valid_body()).encode(), ";;;==\x7f"),
    ("array-top", json.dumps([valid_body()]).encode(), JSON),
    ("string-top", b'"UpToDate"', JSON),
]

_WRONG: list[Any] = [None, True, False, 0, -1, 2**256, 1.5, -0.0, "", "0x", "0x" + "zz" * 32, "0X" + "01" * 32,
                     " 0x" + "01" * 32, "0x" + "01" * 33, "0x" + "01" * 31, [], {}, ["0x01"], {"a": 1}, "x" * 600,
                     "\u202e\u0000", "UpToDate\n", 10**80]  # fmt: skip


def _mistyped(rng: random.Random) -> bytes:
    body: dict[str, Any] = valid_body()
    for field in rng.sample(FIELDS, rng.randint(1, 3)):
        body[field] = rng.choice(_WRONG)
    if rng.random() < 0.2:
        del body[rng.choice(FIELDS)]
    if rng.random() < 0.2:
        body[rng.choice(["extra", "__proto__", "", "appid", "APPID"])] = rng.choice(_WRONG)
    return json.dumps(body).encode()


def _mangled(rng: random.Random) -> bytes:
    data = bytearray(json.dumps(valid_body()).encode())
    for _ in range(rng.randint(1, 8)):
        position = rng.randrange(len(data))
        choice = rng.random()
        if choice < 0.4:
            data[position] = rng.randrange(256)
        elif choice < 0.7:
            del data[position : position + rng.randint(1, 40)]
        else:
            data[position:position] = rng.choice([b"[", b"{", b'"', b"\\", b",", b"\xc3", b"\xed\xa0\x80", b"-1e9999"])
    return bytes(data)


def _noise(rng: random.Random) -> bytes:
    return rng.randbytes(rng.randint(0, 3000))


def random_cases(seed: int = SEED, count: int = RANDOM_INPUTS) -> list[Case]:
    """Return `count` inputs from the fixed seed: mistyped fields, mangled requests and noise."""
    rng = random.Random(seed)
    makers = [_mistyped, _mistyped, _mangled, _mangled, _noise]
    types = [JSON, JSON, JSON, None, "application/problem+json", "text/json", "application/json; charset=latin-1"]
    return [(f"random-{i}", rng.choice(makers)(rng), rng.choice(types)) for i in range(count)]


def _headers(content_type: str | None) -> dict[str, str]:
    return {} if content_type is None else {"Content-Type": content_type}


def _check(name: str, response: httpx.Response) -> None:
    assert response.status_code < 500, (name, response.status_code, response.text[:200])
    if response.status_code == 200:
        answer = response.json()
        assert set(answer) == {"isAllowed", "reason", "gatewayAppId"}, (name, answer)


@pytest.mark.asyncio
async def test_hostile_bodies_in_process_never_get_a_5xx():
    transport, _ = canned(healthy_node)
    allowed = []
    async with webhook_client(settings(), rpc_transport=transport) as client:
        for name, body, content_type in SHAPES + random_cases():
            for endpoint in ENDPOINTS:
                response = await client.post(endpoint, content=body, headers=_headers(content_type))
                _check(name, response)
                if response.status_code == 200 and response.json()["isAllowed"]:
                    allowed.append(name)
    # Only what still is a valid request once parsed may reach the (allow-all) contract.
    valid = {"no-content-type", "weird-json-type", "duplicate-keys-last-valid"}
    assert {n for n in allowed if not n.startswith("random-")} == valid


def _raw_exchange(port: int, request: bytes) -> bytes:
    """Send raw bytes and return whatever comes back before the server closes or 10 s pass."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(request)
        client.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := client.recv(65536):
            received += chunk
    return received


RAW_REQUESTS = [
    b"POST /bootAuth/app HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}",
    b"POST /bootAuth/app HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n{}",
    b"POST /bootAuth/kms HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    b"POST /bootAuth/kms HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /bootAuth/app HTTP/1.1\r\nHost: x\r\nContent-Type: " + b"a" * 70_000 + b"\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
]


@pytest.fixture
def server(anvil, world, tmp_path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """Start `dstack-gov authapi` on the session chain; yield its port and process."""
    port = free_port()
    env = clean_env(ETH_RPC_URL=anvil.url, KMS_CONTRACT_ADDR=world.kms.kms_address, PORT=str(port))
    with (tmp_path / "webhook.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-c", RUN_CLI, "authapi"], env=env, cwd=tmp_path,
                                   stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            wait_until_serving(process, f"http://127.0.0.1:{port}", timeout=30)
            yield port, process
        finally:
            stop(process)


def test_hostile_bodies_leave_a_real_server_alive(server, world):
    port, process = server
    url = f"http://127.0.0.1:{port}"
    worst = [case for case in SHAPES if case[0].startswith(("deep", "huge", "oversized", "bad-utf8", "utf16"))]
    with httpx.Client(base_url=url, timeout=30) as client:
        for name, body, content_type in worst + random_cases(count=40):
            for endpoint in ENDPOINTS:
                _check(name, client.post(endpoint, content=body, headers=_headers(content_type)))
    for request in RAW_REQUESTS:
        answer = _raw_exchange(port, request)
        assert not answer.startswith(b"HTTP/1.1 5"), (request[:60], answer[:200])
    assert process.poll() is None
    wait_until_serving(process, url, timeout=10)
    allowed = httpx.post(url + "/bootAuth/app", json=app_request(world.app), timeout=10)
    assert allowed.json()["isAllowed"] is True
