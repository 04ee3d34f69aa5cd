"""What scripts rely on: `check` exit codes, and under --json one JSON object on stdout, failures included."""

from __future__ import annotations

import json
from pathlib import Path

from eth_account import Account

from dstack_gov.anvil import free_port
from tests.helpers.chain import KmsFixture
from tests.helpers.cli import run_cli

IMAGE = "0x" + "1a" * 32
HASH = "0x" + "2b" * 32
EXIT_DENIED = 3


def _boot_info(path: Path, app_id: str, compose_hash: str = HASH) -> Path:
    body = {"appId": app_id, "composeHash": compose_hash, "instanceId": "0x01", "deviceId": "0x" + "3c" * 32,
            "mrAggregated": "0x02", "osImageHash": IMAGE, "tcbStatus": "UpToDate"}  # fmt: skip
    path.write_text(json.dumps(body))
    return path


def test_check_exits_0_when_allowed_and_3_when_denied(capsys, rpc, owner_key, kms_setup: KmsFixture, tmp_path):
    kms = kms_setup.kms_address
    app = kms_setup.new_app(allow_any_device=True, initial_compose_hash=bytes.fromhex(HASH[2:])).address
    assert run_cli(capsys, "kms", "add-image", IMAGE, "--kms", kms).code == 0
    allowed_info = _boot_info(tmp_path / "allowed.json", app)
    denied_info = _boot_info(tmp_path / "denied.json", app, compose_hash="0x99")

    allowed = run_cli(capsys, "check", "app", "--boot-info", str(allowed_info), "--kms", kms, "--json")
    denied = run_cli(capsys, "check", "app", "--boot-info", str(denied_info), "--kms", kms, "--json")
    denied_for_people = run_cli(capsys, "check", "app", "--boot-info", str(denied_info), "--kms", kms)

    assert (allowed.code, allowed.json(), allowed.err) == (0, {"isAllowed": True, "reason": ""}, "")
    assert (denied.code, denied.json(), denied.err) == (
        EXIT_DENIED,
        {"isAllowed": False, "reason": "Compose hash not allowed"},
        "",
    )
    assert denied_for_people.code == EXIT_DENIED and "not allowed: Compose hash not allowed" in denied_for_people.out
    assert denied_for_people.err == ""


def test_check_help_documents_the_denied_exit_code(capsys):
    assert "3 denied" in run_cli(capsys, "check", "--help").out


def test_bad_input_under_json_is_one_json_object_with_exit_2(capsys, rpc, owner_key, kms_setup):
    result = run_cli(capsys, "kms", "add-image", "0xnothex", "--kms", kms_setup.kms_address, "--json")
    assert result.code == 2
    assert result.json_error == {"error": "osImageHash: not hex: '0xnothex'", "kind": "invalid-input"}


def test_usage_and_config_errors_under_json(capsys, tmp_path):
    missing = run_cli(capsys, "kms", "add-image", "--json")
    assert missing.code == 2 and missing.json_error["kind"] == "usage"
    assert missing.json_error["error"].startswith("Missing argument 'OS_IMAGE_HASH'")
    unknown_option = run_cli(capsys, "info", "kms", "--jsn", "--json")
    assert unknown_option.code == 2 and unknown_option.json_error["kind"] == "usage"

    config = tmp_path / "bad.toml"
    config.write_text('[contracts]\nkms = "0x1234"\n')
    bad_config = run_cli(capsys, "info", "kms", "--config", str(config), "--json")
    assert bad_config.code == 2 and bad_config.json_error["kind"] == "config"
    assert bad_config.json_error["error"].startswith(f"invalid configuration in {config}: contracts.kms:")


def test_not_found_under_json(capsys, rpc, kms_setup):
    empty = Account.create().address
    result = run_cli(capsys, "info", "app", empty, "--kms", kms_setup.kms_address, "--json")
    assert result.code == 2
    assert result.json_error == {"error": f"no contract code at {empty} (app)", "kind": "not-found"}


def test_chain_errors_under_json_exit_1(capsys, rpc, owner_key, kms_setup):
    app = kms_setup.new_app(disable_upgrades=True)
    impl = run_cli(capsys, "app", "deploy-impl", "--json").json()["implementation"]
    reverted = run_cli(capsys, "app", "upgrade", impl, "--app-id", app.address, "--kms", kms_setup.kms_address,
                       "--json")  # fmt: skip
    assert reverted.code == 1
    assert reverted.json_error == {
        "error": "app-upgrade reverted: Upgrades are permanently disabled",
        "kind": "chain-error",
    }

    dead = f"http://127.0.0.1:{free_port()}"
    unreachable = run_cli(capsys, "info", "kms", "--kms", kms_setup.kms_address, "--rpc-url", dead, "--json")
    assert unreachable.code == 1
    assert unreachable.json_error == {"error": "the RPC node is unreachable or not an Ethereum node",
                                      "kind": "unavailable"}  # fmt: skip


def test_without_json_errors_stay_one_line_on_stderr(capsys, rpc, kms_setup):
    result = run_cli(capsys, "info", "app", Account.create().address, "--kms", kms_setup.kms_address)
    assert result.code == 2 and result.out == "" and result.error_line.startswith("error: no contract code at ")


def test_a_json_value_after_double_dash_is_not_the_flag(capsys):
    result = run_cli(capsys, "kms", "add-image", "--", "--json")
    assert result.code == 2 and result.out == "" and result.error_line.startswith("error: ")
