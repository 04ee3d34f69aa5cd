"""Hostile input across every API route: a seeded, bounded fuzz that must never get a 5xx.

A few hundred requests (fixed seed, so a failure replays exactly) go to the in-process app; a sample
of them then goes over TCP to a real `dstack-gov serve`, which must still be alive and answering.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.api.conftest import AUTH, IMAGE, batch_body
from tests.api.test_server import served  # noqa: F401  (the real-server fixture)

SEED = 20261010
SAMPLE_OVER_TCP = 60

HOSTILE_IDS = [
    str(2**63), str(2**64), "99999999999999999999999", "9" * 5000, "-1", "0", "-0", "1.5", "1e3", "1E400",
    "abc", "0x10", " 1", "1 ", "1_0", "+1", "%00", "NaN", "inf", "-inf", "१२", "%F0%9F%92%A3", "..", "%2e%2e",
    "1;DROP%20TABLE%20proposals", "x" * 1000, "true", "null", "[]", "{}",
]  # fmt: skip
HOSTILE_NUMBERS: list[Any] = [
    2**63, 2**64, 2**256 - 1, 2**256, 10**4000, -1, -(2**63) - 1, 1.5, 1e308, -0.0, "12", "0x10", "", True,
    None, [], {}, [1], {"n": 1},
]  # fmt: skip
HOSTILE_STRINGS: list[Any] = [
    "", " ", "\x00", "\n", "0x", "0xzz", "0x" + "1" * 63, "0x" + "g" * 64, "0X" + "11" * 32, "11" * 32,
    "0x" + "11" * 33, "é" * 300, "\U0001f4a3" * 100, "a" * 50_000, "<script>", "%s%n", "${jndi:x}", 12, -1,
    2**256, 1.5, True, None, [], {}, ["0x" + "11" * 32], {"$gt": ""},
]  # fmt: skip


@dataclass(frozen=True)
class Case:
    """One request: method, path, query, headers and a raw body."""

    method: str
    path: str
    params: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str | bytes] = field(default_factory=dict)
    content: bytes | None = None

    def send(self, client: httpx.AsyncClient) -> Any:
        """Return the awaitable response of this request on `client`."""
        return client.request(self.method, self.path, params=self.params, headers=self.headers, content=self.content)


def _json(value: Any, rng: random.Random, *, auth: bool = True) -> tuple[dict[str, str], bytes]:
    """Return headers and the body: `value` as JSON, or as is when it is already bytes."""
    headers = {"Content-Type": "application/json"}
    if auth and rng.random() < 0.9:
        headers |= AUTH
    return headers, value if isinstance(value, bytes) else json.dumps(value).encode()


def _deep(depth: int, leaf: bytes = b"1") -> bytes:
    """Return JSON nested `depth` levels (built as text: encoding it from objects would recurse as deep)."""
    return b'[{"a":' * (depth // 2) + leaf + b"}]" * (depth // 2)


def _inside(body: dict[str, Any], key: str, raw: bytes) -> bytes:
    """Return `body` as JSON with `raw` (already JSON) as the value of `key`."""
    return json.dumps(body | {key: None}).encode().replace(f'"{key}": null'.encode(), f'"{key}": '.encode() + raw)


def _id_cases(rng: random.Random) -> Iterator[Case]:
    for pid in HOSTILE_IDS:
        yield Case("GET", f"/api/proposals/{pid}")
        yield Case("GET", f"/api/proposals/{pid}/typed-data")
        headers, body = _json({"signature": "0x" + "00" * 65}, rng, auth=False)
        yield Case("POST", f"/api/proposals/{pid}/signatures", headers=headers, content=body)
        yield Case("POST", f"/api/proposals/{pid}/{rng.choice(['execute', 'cancel'])}", headers=AUTH)
        yield Case("GET", "/api/audit", params=[("proposal", pid)], headers=AUTH)
    for output in ("xml", "", "JSON", "csv\x00", "csv" * 100):
        yield Case("GET", "/api/audit", params=[("format", output)], headers=AUTH)
    for state in ("PENDING", "nope", "", "pending\x00", "'; --"):
        yield Case("GET", "/api/proposals", params=[("state", state)])
    for limit in ("0", "-1", "501", "1e3", str(2**64), "abc", "", "1.0"):
        yield Case("GET", "/api/proposals", params=[("limit", limit)])


def _propose_mutations(gov: Any) -> list[Callable[[random.Random, dict[str, Any]], Any]]:
    hashes = lambda r: r.choice(HOSTILE_STRINGS)  # noqa: E731
    return [
        lambda r, b: b | {"nonce": r.choice(HOSTILE_NUMBERS)},
        lambda r, b: b | {"nonce": r.choice(HOSTILE_NUMBERS), "force": True},
        lambda r, b: b | {"force": r.choice(["yes", 2, None, [], "true", 0.5])},
        lambda r, b: b | {"title": r.choice(HOSTILE_STRINGS)},
        lambda r, b: b | {"description": r.choice(HOSTILE_STRINGS)},
        lambda r, b: b | {"proposer": r.choice(HOSTILE_STRINGS)},
        lambda r, b: b | {r.choice(["colour", "__proto__", "constructor", "nonce "]): r.choice(HOSTILE_NUMBERS)},
        lambda r, b: b | {"actions": r.choice([*HOSTILE_STRINGS, [], [1, 2], [[]], [None], [{}] * 51])},
        lambda r, b: b | {"actions": [{"action": "kms add-image", "osImageHash": hashes(r)}]},
        lambda r, b: b | {"actions": [{"action": "app add-hash", "app": hashes(r), "composeHash": IMAGE}]},
        lambda r, b: b | {"actions": [{"action": r.choice(HOSTILE_STRINGS), "osImageHash": IMAGE}]},
        lambda r, b: b | {"actions": [{"action": "kms add-image", "osImageHash": IMAGE, "extra": hashes(r)}]},
        lambda r, b: _inside(
            b, "actions", b'[{"action": "kms add-image", "osImageHash": ' + _deep(r.choice([50, 900, 5000])) + b"}]"
        ),
        lambda r, b: _inside(b, "actions", _deep(r.choice([100, 1000, 20_000]))),
        lambda r, b: _deep(r.choice([10, 2000, 100_000])),
        lambda r, b: r.choice(HOSTILE_NUMBERS + HOSTILE_STRINGS[:12]),
        lambda r, b: {k: v for k, v in b.items() if k != r.choice(["title", "actions"])},
    ]


def _propose_cases(rng: random.Random, gov: Any, count: int) -> Iterator[Case]:
    mutations = _propose_mutations(gov)
    for _ in range(count):
        body = rng.choice(mutations)(rng, batch_body(gov))
        headers, content = _json(body, rng)
        yield Case("POST", "/api/proposals", headers=headers, content=content)


def _signature_cases(rng: random.Random, count: int) -> Iterator[Case]:
    for _ in range(count):
        body: Any = {"signature": rng.choice(HOSTILE_STRINGS)}
        if rng.random() < 0.4:
            body["owner"] = rng.choice(HOSTILE_STRINGS)
        if rng.random() < 0.1:
            body = rng.choice([[body], _deep(3000), "0x" + "00" * 65, body | {"extra": 1}])
        headers, content = _json(body, rng, auth=False)
        yield Case("POST", f"/api/proposals/{rng.choice(['1', '2', str(2**63 - 1)])}/signatures",
                   headers=headers, content=content)  # fmt: skip


def _raw_body_cases(gov: Any) -> Iterator[Case]:
    valid = json.dumps(batch_body(gov)).encode()
    bodies = [
        valid, b"", b"{", b"nul", b"\xff\xfe{\x00}\x00", b"\xef\xbb\xbf" + valid, valid.decode().encode("utf-16"),
        b'{"title": "t", "actions": [], "nonce": ' + b"9" * 5000 + b"}", b'{"title": "\\ud800"}', b"[" * 100_000,
        b'{"a":' * 50_000, b"1e999999", b'{"title": NaN, "actions": [Infinity]}', b'{"title":"t","title":"u"}',
        b"--x\r\nContent-Disposition: form-data; name=title\r\n\r\nt\r\n--x--\r\n", b"title=t&actions=1",
    ]  # fmt: skip
    types = [
        "application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
        "application/json; charset=utf-16", "application/xml", "", "application/json, text/plain", "*/*",
    ]  # fmt: skip
    for index, body in enumerate(bodies):
        for kind in (types[index % len(types)], "application/json"):
            headers = {"Content-Type": kind} | AUTH if kind else dict(AUTH)
            yield Case("POST", "/api/proposals", headers=headers, content=body)
            yield Case("POST", "/api/proposals/1/signatures", headers=headers, content=body)


def _misc_cases() -> Iterator[Case]:
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE"):
        yield Case(method, "/api/proposals/1", headers=AUTH)
    for path in ("/api/nothing", "/api/proposals/1/2/3", "/" + "a" * 10_000, "/api/proposals/%2F..%2F..",
                 "/healthz/..", "/api/catalogue/x", "/metrics?x=" + "1" * 5000, "/api/openapi.json"):  # fmt: skip
        yield Case("GET", path)
    yield Case("GET", "/api/catalogue", params=[("q", "\x00" * 100)])
    yield Case("POST", "/api/reconcile", headers={"Authorization": "Bearer " + "x" * 10_000})
    yield Case("POST", "/api/reconcile", headers={"Authorization": b"Basic \xff"})
    yield Case("GET", "/api/audit", headers={"Authorization": "Bearer"})
    yield Case("POST", "/api/proposals", headers={"Content-Length": "12abc"} | AUTH, content=b"{}")


def fuzz_cases(gov: Any) -> list[Case]:
    """Return every case, in a seeded order."""
    rng = random.Random(SEED)
    cases = [*_id_cases(rng), *_propose_cases(rng, gov, 110), *_signature_cases(rng, 50), *_raw_body_cases(gov),
             *_misc_cases()]  # fmt: skip
    rng.shuffle(cases)
    return cases


def _describe(case: Case) -> str:
    body = (case.content or b"")[:120]
    return f"{case.method} {case.path[:120]} {case.params!r:.120} {case.headers.get('Content-Type')} {body!r}"


async def test_no_hostile_request_gets_a_server_error(api, gov):
    cases = fuzz_cases(gov)
    assert 300 <= len(cases) <= 600
    for case in cases:
        response = await case.send(api)
        assert response.status_code < 500, f"{response.status_code} {response.text[:200]} for {_describe(case)}"
        if response.status_code >= 400 and case.method != "HEAD":
            error = response.json()["error"]
            assert isinstance(error, str) and error and "\n" not in error, _describe(case)
    assert (await api.get("/api/catalogue")).status_code == 200


async def test_a_served_process_survives_a_sample_and_still_answers(served, gov):  # noqa: F811
    url, process = served
    sample = random.Random(SEED).sample(fuzz_cases(gov), SAMPLE_OVER_TCP)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for case in sample:
            response = await case.send(client)
            assert response.status_code < 500, f"{response.status_code} {response.text[:200]} for {_describe(case)}"
        assert process.poll() is None, "the server process died"
        health = await client.get("/healthz")
        listed = await client.get("/api/proposals")
    assert (health.status_code, health.json()["status"]) == (200, "ok")
    assert listed.status_code == 200
