"""Hostile proposal files, generated from a fixed seed: deep, aliased, mistyped, binary, oversized, odd."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

HASH = "0x" + "12" * 32
APP = "0x" + "a9" * 20
VALID_YAML = (
    "title: Release 1.2\n"
    "description: ok\n"
    "actions:\n"
    f"  - action: kms add-image\n    osImageHash: {HASH}\n"
    f"  - action: app add-hash\n    app: {APP}\n    composeHash: {HASH}\n"
)
VALID_JSON = json.dumps({"title": "t", "actions": [{"action": "kms-add-image", "osImageHash": HASH}]})
# The document that froze the bot and segfaulted the servers: 200 KB, 100,000 levels.
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
DEEP_YAML = b"title: " + b"[" * 200_000


def alias_bomb(width: int, levels: int) -> str:
    """Return a "billion laughs" document: each level repeats the one below `width` times."""
    text = "a0: &a0 [" + ",".join(["lol"] * width) + "]\n"
    for i in range(1, levels):
        text += f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]\n"
    return text + f"title: *a{levels - 1}\nactions: [*a0]\n"


# One of each shape, whatever the seed.
SHAPES: dict[str, bytes] = {
    "deep-json": DEEP_JSON,
    "deep-json-in-a-field": b'{"title":' + DEEP_JSON + b"}",
    "deep-yaml-flow": DEEP_YAML,
    "deep-yaml-mappings": b"title: " + b"{" * 200_000,
    "deep-yaml-block": b"- " * 100_000,
    "deep-yaml-indent": "".join(" " * i + "k:\n" for i in range(400)).encode(),
    "billion-laughs": alias_bomb(9, 9).encode(),
    "self-alias": b"title: &t [*t]\nactions: []\n",
    "huge-int-yaml": b"title: " + b"9" * 200_000,
    "huge-int-json": b'{"title": ' + b"9" * 200_000 + b"}",
    "huge-float-json": b'{"title": 1e999999, "actions": []}',
    "huge-string": b"title: " + b"x" * 250_000,
    "oversized": b"x" * 300_000,
    "wide-list": b"[" + b",".join([b"1"] * 60_000) + b"]",
    "python-object": b"!!python/object/apply:os.system ['true']",
    "python-name": b"title: !!python/name:os.system\nactions: []\n",
    "binary": bytes(range(256)) * 4,
    "newline-key": b'{"title": "t", "actions": [{"action": "kms add-image"}], "a\\nb\\u2028c": 1}',
    "valid-yaml": VALID_YAML.encode(),
    "valid-json": VALID_JSON.encode(),
}

_ODD = ["\ufeff", "\u202e", "\u200b", "\u0000", "\x1b[31m", "\ud800", "e\u0301", "\U0001f600", "\n", "\r",
        "\t", "\u2028", "\x85", "'", '"', "\\", "{{", "]]", "*a", "&a", "!!", "%YAML 1.1\n", "---", "...", "? ",
        ": ", "- "]  # fmt: skip
_TAGS = ["!!python/object:os.system", "!!python/object/apply:os.system ['true']", "!!python/name:os.system",
         "!!binary aGVsbG8=", "!!set {a, b}", "!!omap [a: 1]", "!!timestamp 2001-12-14", "!foo bar", "!!float nan",
         "!!int 0x" + "f" * 5000, "!<tag:yaml.org,2002:python/object/new:os.system> [x]", "<<: *nowhere"]  # fmt: skip
_WRONG: list[object] = [
    None, True, 1, -1, 1.5, [], {}, [1, 2], {"a": {"b": []}}, "", "x" * 300, [None], [{"action": 1}],
    [{"action": "kms add-image", "osImageHash": [HASH]}], [{"action": "kms add-image", "app": {"x": 1}}],
    [{"action": "nope"}], [{"action": "kms add-image", "osImageHash": 10**80}], [{"action": "kms add-image", "x": 1}],
    [{"action": "kms add-image", "osImageHash": "0x" + "zz" * 32}], "1e99999999", [{"action": "kms add-image\n"}],
]  # fmt: skip


def _binary(rng: random.Random) -> str | bytes:
    return rng.randbytes(rng.randint(0, 2000))


def _tagged(rng: random.Random) -> str | bytes:
    return f"title: {rng.choice(_TAGS)}\nactions: [{rng.choice(_TAGS)}]\n"


def _mistyped(rng: random.Random) -> str | bytes:
    document: dict[str, object] = {"title": rng.choice([*_WRONG, "ok"]), "actions": rng.choice(_WRONG)}
    if rng.random() < 0.3:
        document[rng.choice(["owner", "a\nb", "", "title\u202e"])] = rng.choice(_WRONG)
    return json.dumps(document, indent=rng.choice([None, 1]))


def _odd_unicode(rng: random.Random) -> str | bytes:
    text = rng.choice([VALID_YAML, VALID_JSON])
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(text) + 1)
        text = text[:at] + rng.choice(_ODD) + text[at:]
    return text.encode("utf-8", "surrogatepass")


def _mutated(rng: random.Random) -> str | bytes:
    data = bytearray(rng.choice([VALID_YAML, VALID_JSON]).encode())
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(data))
        roll = rng.randrange(3)
        if roll == 0:
            data[at] = rng.randrange(256)
        elif roll == 1:
            del data[at]
        else:
            data[at:at] = rng.choice([b"[", b"{", b"&a ", b"*a", b"!!", b"\x00", b"\xff", b":", b"-", b"\n  "])
    return bytes(data)


def _nested(rng: random.Random) -> str | bytes:
    n = rng.randint(20, 300)
    opening, closing = rng.choice([("[", "]"), ("{a: ", "}"), ("[{", "}]"), ("- ", "")])
    return "title: t\nactions: " + opening * n + "x" + closing * n


def _aliased(rng: random.Random) -> str | bytes:
    return alias_bomb(rng.randint(2, 12), rng.randint(1, 10))


def _huge_value(rng: random.Random) -> str | bytes:
    value = rng.choice(["9" * rng.randint(100, 20_000), "1e" + "9" * rng.randint(3, 400), "-0x" + "f" * 5000,
                        "x" * rng.randint(200, 30_000), ".inf", "-.nan", "0b" + "1" * 9000])  # fmt: skip
    field = rng.choice(["title", "description", "osImageHash", "app"])
    if field in ("title", "description"):
        return f"{field}: {value}\nactions:\n  - action: kms add-image\n    osImageHash: {HASH}\n"
    return f"title: t\nactions:\n  - action: app add-hash\n    {field}: {value}\n"


def _truncated(rng: random.Random) -> str | bytes:
    text = rng.choice([VALID_YAML, VALID_JSON])
    return text[: rng.randrange(len(text))]


_MAKERS: list[Callable[[random.Random], str | bytes]] = [
    _binary, _tagged, _mistyped, _odd_unicode, _mutated, _nested, _aliased, _huge_value, _truncated,
]  # fmt: skip


def hostile_documents(count: int, seed: int = 20240917) -> list[tuple[str, bytes]]:
    """Return `count` (kind, content) pairs: every fixed shape, then random ones from `seed`."""
    rng = random.Random(seed)
    documents = list(SHAPES.items())
    while len(documents) < count:
        maker = rng.choice(_MAKERS)
        made = maker(rng)
        documents.append((maker.__name__.strip("_"), made if isinstance(made, bytes) else made.encode()))
    return documents
