"""Compose review through the CLI: `app add-hash --compose-file`, proposal files with `composeFile`, `status`."""

from __future__ import annotations

from tests.helpers.cli import run_cli
from tests.helpers.composes import UNPINNED_SERVICES, app_compose, canonical, pretty, sha256_hex
from tests.helpers.config_file import write_config
from tests.helpers.proposing import sign, word


def test_add_hash_with_a_compose_file_alone_files_the_file_s_hash_and_shows_the_summary(capsys, anvil, gov, tmp_path):
    config = write_config(gov, anvil.url, tmp_path)
    compose = tmp_path / "app-compose.json"
    compose.write_bytes(canonical(app_compose(UNPINNED_SERVICES)))
    filed = run_cli(capsys, "app", "add-hash", "--app-id", gov.app_address, "--compose-file", str(compose),
                    "--config", str(config), "--json")  # fmt: skip
    assert filed.code == 0, filed.err
    view = filed.json()
    assert view["actions"][0]["values"]["composeHash"] == sha256_hex(compose.read_bytes())
    assert view["calls"][0]["risk"] == "high"
    (review,) = view["composes"]
    assert [(s["name"], s["pinned"]) for s in review["services"]] == [("web", True), ("worker", False)]
    assert review["changes"] is None and review["baseNote"].startswith("unknown")
    human = run_cli(capsys, "status", str(view["id"]), "--config", str(config))
    assert human.code == 0, human.err
    assert "ghcr.io/acme/worker:2.4" in human.out and "the hash does not pin this code" in human.out
    assert "allowed_envs: DATABASE_URL" in human.out and "changes: unknown" in human.out


def test_status_json_shows_the_diff_against_the_compose_executed_before(capsys, anvil, gov, tmp_path):
    config = write_config(gov, anvil.url, tmp_path)
    first = tmp_path / "v1" / "app-compose.json"
    first.parent.mkdir()
    first.write_bytes(canonical(app_compose()))
    filed = run_cli(capsys, "propose", "app", "add-hash", sha256_hex(first.read_bytes()), "--app-id", gov.app_address,
                    "--compose-file", str(first), "--config", str(config), "--json")  # fmt: skip
    assert filed.code == 0, filed.err
    sign(gov, filed.json()["id"], 0, 1)
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "app-compose.json").write_bytes(pretty(app_compose(public_logs=True)))
    proposal_file = tmp_path / "release.yaml"
    proposal_file.write_text(
        f"title: Release 2.4\nactions:\n  - action: app add-hash\n    app: {gov.app_address}\n"
        "    composeFile: v2/app-compose.json\n"
    )
    second = run_cli(capsys, "propose", "--file", str(proposal_file), "--config", str(config), "--json")
    assert second.code == 0, second.err
    status = run_cli(capsys, "status", str(second.json()["id"]), "--config", str(config), "--json").json()
    (review,) = status["composes"]
    assert review["baseHash"] == sha256_hex(first.read_bytes())
    assert review["changes"] == ["public_logs: false → true"]
    assert review["hashOf"] == "the file as given (not in canonical form)"
    assert review["canonicalHash"] == sha256_hex(canonical(app_compose(public_logs=True)))


def test_a_hash_that_does_not_match_the_compose_file_is_refused_and_nothing_is_filed(capsys, anvil, gov, tmp_path):
    config = write_config(gov, anvil.url, tmp_path)
    compose = tmp_path / "app-compose.json"
    compose.write_bytes(canonical(app_compose()))
    refused = run_cli(capsys, "app", "add-hash", word(3), "--app-id", gov.app_address, "--compose-file", str(compose),
                      "--config", str(config))  # fmt: skip
    assert refused.code == 2
    assert f"compose hash {word(3)} does not match the file" in refused.error_line
    assert gov.store.list_proposals() == []


def test_a_malformed_compose_file_is_refused_in_one_line(capsys, anvil, gov, tmp_path):
    config = write_config(gov, anvil.url, tmp_path)
    compose = tmp_path / "app-compose.json"
    compose.write_text('{"runner": "docker-compose", "docker_compose_file": "services: [web"}')
    refused = run_cli(capsys, "app", "add-hash", "--app-id", gov.app_address, "--compose-file", str(compose),
                      "--config", str(config), "--json")  # fmt: skip
    assert refused.code == 2
    error = refused.json_error
    assert error["kind"] == "invalid-input" and "docker_compose_file: not valid YAML" in error["error"]
    missing = run_cli(capsys, "app", "add-hash", "--app-id", gov.app_address, "--config", str(config))
    assert missing.code == 2 and "composeHash: missing value" in missing.error_line
    assert gov.store.list_proposals() == []


def test_compose_text_is_shown_literally_not_as_markup(capsys, anvil, gov, tmp_path):
    config = write_config(gov, anvil.url, tmp_path)
    hostile = "services:\n  web:\n    image: 'ghcr.io/acme/web:[/bold][red]1<b>'\n  db:\n    image: postgres:16\n"
    compose = tmp_path / "app-compose.json"
    compose.write_bytes(canonical(app_compose(hostile, name="[/] acme", allowed_envs=["[/bold]"])))
    filed = run_cli(capsys, "app", "add-hash", "--app-id", gov.app_address, "--compose-file", str(compose),
                    "--config", str(config))  # fmt: skip
    assert filed.code == 0, filed.err
    assert "ghcr.io/acme/web:[/bold][red]1<b>" in filed.out and "name [/] acme" in filed.out
    assert "new allowed_envs [/bold]" in filed.out
