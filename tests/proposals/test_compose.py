"""app-compose.json parsing, hashing, summary and diff (no chain): malformed files get one-line reasons."""

from __future__ import annotations

import json

import pytest

from proposals.catalogue import get_action
from proposals.compose import MAX_COMPOSE_BYTES, diff, parse_compose, read_compose_file, settings_of
from proposals.compose_review import attach_compose
from proposals.errors import InvalidInput
from proposals.proposal_file import load_proposal_text
from tests.helpers.composes import PINNED_SERVICES, UNPINNED_SERVICES, app_compose, canonical, pretty, sha256_hex

APP = "0x" + "11" * 20
ADD_HASH = get_action("app add-hash")


def _refusal(raw: bytes | str) -> str:
    with pytest.raises(InvalidInput) as refused:
        parse_compose(raw, source="app-compose.json")
    message = refused.value.message
    assert "\n" not in message and message.startswith("app-compose.json")
    return message


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b"\xff\xfe\x00", "not valid JSON"),
        (canonical({k: v for k, v in app_compose().items() if k != "runner"}), "`runner` must be one of"),
        (canonical(app_compose(runner="podman")), "`runner` must be one of"),
        (canonical(app_compose(kms_enabled="yes")), "`kms_enabled` must be true or false"),
        (canonical(app_compose(allowed_envs="API_KEY")), "`allowed_envs` must be a list of names"),
        (canonical(app_compose(docker_compose_file=None)), "needs `docker_compose_file`"),
        (canonical(app_compose("services: [web")), "docker_compose_file: not valid YAML"),
        (canonical(app_compose("version: '3'\n")), "a `services` mapping"),
        (canonical(app_compose("services:\n  web: nginx\n")), "service 'web' must be a mapping"),
        (canonical(app_compose("services:\n  web:\n    image: [a]\n")), "`image` must be text"),
        (canonical(app_compose("services:\n  web:\n    image: a\n  web:\n    image: b\n")), "'web' appears twice"),
        (b'{"runner": "bash", "runner": "docker-compose"}', "'runner' appears twice"),
        (b"[" * 100 + b"]" * 100, "nested deeper than"),
        (canonical(app_compose("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
            for p, c in zip("abcdef", "bcdefg", strict=True)) + "services: *g\n")), "more than"),
        (b'{"runner": "bash", "docker_config": 7}', "the dstack SDK cannot hash it"),
        # The SDK sets keys as attributes: `__dict__` would make its hash stand for content other than shown.
        (json.dumps({"runner": "bash", "bash_script": "echo ok", "__dict__": app_compose()}).encode(),
         "the dstack SDK reads it differently"),
        (b'{"runner": "bash", "_hidden": "x"}', "the dstack SDK reads it differently"),
        (b'{"runner": "bash", "manifest_version": NaN}', "the dstack SDK reads it differently"),
        (b" " * (MAX_COMPOSE_BYTES + 1), "larger than 128 KiB"),
    ],
)  # fmt: skip
def test_malformed_compose_files_are_refused_in_one_line(raw: bytes, reason: str) -> None:
    assert reason in _refusal(raw)


def test_both_hashes_agree_for_a_canonical_file_and_differ_for_a_pretty_one() -> None:
    document = app_compose()
    tidy, loose = parse_compose(canonical(document)), parse_compose(pretty(document))
    assert tidy.canonical and "0x" + tidy.file_sha256.hex() == sha256_hex(canonical(document))
    assert not loose.canonical and loose.canonical_hash == tidy.file_sha256
    assert loose.hash_for(None, "f") == loose.file_sha256
    assert loose.hash_for(tidy.file_sha256, "f") == tidy.file_sha256
    with pytest.raises(InvalidInput, match="does not match the file, whose sha256 is"):
        tidy.hash_for(b"\x01" * 32, "f")


def test_images_are_pinned_only_by_a_digest() -> None:
    services = (
        "services:\n"
        "  a:\n    image: ghcr.io/acme/a@sha256:" + "0" * 64 + "\n"
        "  b:\n    image: ghcr.io/acme/b:latest\n"
        "  c:\n    image: ${IMAGE}@sha256:" + "0" * 64 + "\n"
        "  d:\n    build: .\n    image: ghcr.io/acme/d@sha256:" + "0" * 64 + "\n"
        "  e:\n    command: sleep 1\n"
    )  # fmt: skip
    found = {s.name: s.unpinned for s in parse_compose(canonical(app_compose(services))).services}
    assert found["a"] == ""
    assert all("the hash does not pin this code" in found[name] for name in "bcde")
    assert "a tag" in found["b"] and "variable" in found["c"] and "build" in found["d"] and "no image" in found["e"]


def test_settings_show_the_four_always_and_the_optional_ones_only_when_set() -> None:
    bare = {"runner": "bash", "bash_script": "echo hi", "tproxy_enabled": True}
    assert settings_of(bare) == (("runner", "bash"), ("kms_enabled", None), ("gateway_enabled", True),
                                 ("public_logs", None), ("public_sysinfo", None))  # fmt: skip


def test_diff_names_every_kind_of_change() -> None:
    before = parse_compose(canonical(app_compose()))
    after = parse_compose(canonical(app_compose(
        UNPINNED_SERVICES.replace("    restart: always\n  worker", "    restart: unless-stopped\n  worker")
        + "  cache:\n    image: redis@sha256:" + "1" * 64 + "\n",
        kms_enabled=False, allowed_envs=["API_TOKEN"], pre_launch_script="#!/bin/sh\ncurl https://x | sh\n",
        features=["kms"],
    )))  # fmt: skip
    assert diff(before, after) == (
        "kms_enabled: true → false",
        "allowed_envs added: API_TOKEN",
        "allowed_envs removed: DATABASE_URL",
        "pre-launch script added",
        "service web: restart changed",
        f"service worker: image {before.services[1].image} → ghcr.io/acme/worker:2.4",
        "service cache added: image redis@sha256:" + "1" * 64,
        "`features` changed",
    )
    assert diff(before, parse_compose(pretty(app_compose()))) == ()
    fewer = parse_compose(canonical(app_compose(PINNED_SERVICES.split("  worker:")[0], name="acme-web")))
    assert diff(before, fewer) == ("service worker removed", "`name` changed")


def test_attach_compose_fills_in_or_checks_the_hash() -> None:
    raw = pretty(app_compose())
    values, compose = attach_compose(ADD_HASH, {}, raw, source="f")
    assert values == {"composeHash": sha256_hex(raw)} and compose.raw == raw
    canonical_hash = "0x" + compose.canonical_hash.hex()
    assert (
        attach_compose(ADD_HASH, {"composeHash": canonical_hash}, raw, source="f")[0]["composeHash"] == canonical_hash
    )
    with pytest.raises(InvalidInput, match="composeHash: not hex"):
        attach_compose(ADD_HASH, {"composeHash": "zz"}, raw, source="f")


def test_a_proposal_file_takes_a_compose_file_beside_it_or_inline(tmp_path) -> None:
    document = app_compose()
    (tmp_path / "release").mkdir()
    (tmp_path / "release" / "app-compose.json").write_bytes(pretty(document))
    text = (
        "title: Release 2.3\nactions:\n"
        f"  - action: app add-hash\n    app: {APP}\n    composeFile: release/app-compose.json\n"
        f"  - action: app add-hash\n    app: {APP}\n    compose:\n"
        + "".join(f"      {line}\n" for line in json.dumps(document, indent=2).splitlines())
        + f"  - action: app add-hash\n    app: {APP}\n    compose: '{canonical(document).decode()}'\n"
    )  # fmt: skip
    request = load_proposal_text(text, base_dir=tmp_path)
    first, second, third = request.actions
    assert first.compose == pretty(document) and first.values == {"composeHash": sha256_hex(pretty(document))}
    # A mapping keeps its JSON types (manifest_version stays 2) and stands for its canonical form.
    assert second.compose == canonical(document) and second.values == {"composeHash": sha256_hex(canonical(document))}
    assert third.compose == canonical(document)


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("    composeFile: app-compose.json\n", "`composeFile` is read only from a proposal file on disk"),
        ("    composeFile: app-compose.json\n    compose: x\n", "give `compose` or `composeFile`, not both"),
        ("    compose: [1]\n", "`compose` must be the app-compose.json"),
        ("    compose: '{}'\n", "`runner` must be one of"),
        ('    compose: \'{"runner": "bash"}\'\n    composeHash: 0x' + "00" * 32 + "\n", "matches neither"),
    ],
)
def test_bad_compose_entries_in_a_proposal_file_are_refused_in_one_line(entry: str, reason: str) -> None:
    text = f"title: t\nactions:\n  - action: app add-hash\n    app: {APP}\n{entry}"
    with pytest.raises(InvalidInput) as refused:
        load_proposal_text(text, source="release.yaml")
    assert reason in refused.value.message and refused.value.message.startswith("release.yaml: action #1")
    assert "\n" not in refused.value.message


def test_a_missing_or_oversized_compose_file_is_refused(tmp_path) -> None:
    with pytest.raises(InvalidInput, match="no such file"):
        read_compose_file(tmp_path / "nope.json")
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_COMPOSE_BYTES + 1))
    with pytest.raises(InvalidInput, match="larger than 128 KiB"):
        read_compose_file(big)
    with pytest.raises(InvalidInput, match="no such file"):
        read_compose_file(tmp_path)
