"""The dstack admin guide in direct mode, through the CLI, against anvil."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from proposals.catalogue import Group, actions
from tests.helpers.chain import KmsFixture, dev_account
from tests.helpers.cli import run_cli

IMAGE = "0x" + "1a" * 32
HASH = "0x" + "2b" * 32
DEVICE = "0x" + "3c" * 32


def _boot_info(path: Path, app_id: str, **overrides: str) -> Path:
    body = {"appId": app_id, "composeHash": HASH, "instanceId": "0x01", "deviceId": DEVICE, "mrAggregated": "0x02",
            "osImageHash": IMAGE, "tcbStatus": "UpToDate"}  # fmt: skip
    body.update(overrides)
    path.write_text(json.dumps(body))
    return path


def test_guide_sequence_ends_with_check_app_allowed(capsys, rpc, owner_key, tmp_path):
    deployed = run_cli(capsys, "kms", "deploy", "--with-app-impl", "--json")
    assert deployed.code == 0, deployed.err
    kms = deployed.json()["kms"]
    assert deployed.json()["owner"] == dev_account(0).address
    assert all(tx["gasUsed"] > 0 for tx in deployed.json()["transactions"])

    added = run_cli(capsys, "kms", "add-image", IMAGE, "--kms", kms, "--json").json()
    assert added["state"] == [{"what": f"OS image {IMAGE} allowed", "before": "false", "after": "true"}]
    assert added["gasUsed"] > 0 and added["blockNumber"] > 0 and added["txHash"].startswith("0x")

    created = run_cli(capsys, "kms", "create-app", "--allow-any-device", "--kms", kms, "--json")
    assert created.code == 0, created.err
    app_id = created.json()["appId"]

    gateway = run_cli(capsys, "kms", "set-gateway", app_id, "--kms", kms, "--json").json()
    assert gateway["state"] == [{"what": "gateway app id", "before": "", "after": app_id}]

    hashed = run_cli(capsys, "app", "add-hash", "--app-id", app_id, HASH, "--kms", kms)
    assert hashed.code == 0 and "Allow compose hash" in hashed.out and "gas used" in hashed.out

    verdict = run_cli(capsys, "check", "app", "--boot-info", str(_boot_info(tmp_path / "b.json", app_id)),
                      "--kms", kms, "--json")  # fmt: skip
    assert verdict.code == 0 and verdict.json() == {"isAllowed": True, "reason": ""}

    denied = run_cli(capsys, "check", "app", "--kms", kms, "--boot-info",
                     str(_boot_info(tmp_path / "c.json", app_id, composeHash="0x99")))  # fmt: skip
    assert denied.code == 3 and "not allowed" in denied.out and "Compose hash not allowed" in denied.out

    info = run_cli(capsys, "info", "app", app_id, "--kms", kms, "--json").json()
    assert info["composeHashes"] == [HASH] and info["allowAnyDevice"] is True and info["registered"] is True
    kms_info = run_cli(capsys, "info", "kms", "--kms", kms, "--json").json()
    assert kms_info["osImages"] == [IMAGE] and kms_info["apps"] == [app_id] and kms_info["gatewayAppId"] == app_id
    assert run_cli(capsys, "info", "gateway", "--kms", kms, "--json").json()["app"]["app"] == app_id


def test_every_kms_and_app_action_has_a_command(capsys):
    for group in (Group.KMS, Group.APP):
        listing = run_cli(capsys, group.value, "--help").out
        for action in actions(group):
            assert action.command in listing


def test_check_kms_reports_the_first_failing_rule(capsys, rpc, kms_setup: KmsFixture, tmp_path):
    path = _boot_info(tmp_path / "k.json", "0x00", tcbStatus="OutOfDate")
    result = run_cli(capsys, "check", "kms", "--boot-info", str(path), "--kms", kms_setup.kms_address, "--json")
    assert result.code == 3
    assert result.json() == {"isAllowed": False, "reason": "TCB status is not up to date"}


def test_precheck_refuses_a_duplicate_unless_forced(capsys, rpc, owner_key, kms_setup: KmsFixture):
    kms = kms_setup.kms_address
    assert run_cli(capsys, "kms", "add-device", DEVICE, "--kms", kms).code == 0
    again = run_cli(capsys, "kms", "add-device", DEVICE, "--kms", kms)
    assert again.code == 1
    assert again.error_line == f"error: KMS device {DEVICE} is already allowed (use --force to send anyway)"
    forced = run_cli(capsys, "kms", "add-device", DEVICE, "--kms", kms, "--force", "--json")
    assert forced.code == 0 and forced.json()["state"][0]["after"] == "true"


@pytest.mark.parametrize(
    ("args", "expected_state"),
    [
        (["app", "set-require-tcb", "true"], {"what": "require TCB up to date", "before": "false", "after": "true"}),
        (["app", "set-allow-any-device", "yes"], {"what": "allow any device", "before": "false", "after": "true"}),
        (["app", "add-device", DEVICE], {"what": f"device {DEVICE} allowed", "before": "false", "after": "true"}),
        (["app", "disable-upgrades"], {"what": "upgrades disabled", "before": "false", "after": "true"}),
    ],
)
def test_app_settings_report_the_resulting_state(capsys, rpc, owner_key, kms_setup, args, expected_state):
    app = kms_setup.new_app()
    result = run_cli(capsys, *args, "--app-id", app.address, "--kms", kms_setup.kms_address, "--json")
    assert result.code == 0, result.err
    assert result.json()["state"] == [expected_state]


def test_app_deploy_registers_with_the_kms(capsys, rpc, owner_key, kms_setup):
    result = run_cli(capsys, "app", "deploy", "--kms", kms_setup.kms_address, "--hash", HASH, "--json")
    assert result.code == 0, result.err
    app_id = result.json()["appId"]
    assert kms_setup.kms.functions.registeredApps(app_id).call() is True
    info = run_cli(capsys, "info", "app", app_id, "--kms", kms_setup.kms_address, "--json").json()
    assert info["composeHashes"] == [HASH] and info["owner"] == dev_account(0).address


def test_set_info_and_ownership_transfer(capsys, rpc, owner_key, kms_setup):
    kms = kms_setup.kms_address
    info = run_cli(capsys, "kms", "set-info", "0x02" + "ab" * 32, "0x", "0x01", "0x", "--kms", kms, "--json")
    assert info.code == 0, info.err
    assert kms_setup.kms.functions.kmsInfo().call()[0] == bytes.fromhex("02" + "ab" * 32)
    new_owner = dev_account(5).address
    moved = run_cli(capsys, "kms", "transfer-ownership", new_owner, "--kms", kms, "--json")
    assert moved.json()["state"] == [{"what": "pendingOwner", "before": "0x" + "00" * 20, "after": new_owner}]
    accepted = run_cli(
        capsys, "kms", "accept-ownership", "--kms", kms, "--private-key", "0x" + dev_account(5).key.hex()
    )
    assert accepted.code == 0, accepted.err
    assert kms_setup.kms.functions.owner().call() == new_owner


def test_upgrade_with_a_freshly_deployed_implementation(capsys, rpc, owner_key, kms_setup):
    impl = run_cli(capsys, "kms", "deploy-impl", "--json")
    assert impl.code == 0, impl.err
    new_impl = impl.json()["implementation"]
    upgraded = run_cli(capsys, "kms", "upgrade", new_impl, "--kms", kms_setup.kms_address, "--json")
    assert upgraded.code == 0, upgraded.err
    assert upgraded.json()["state"] == [
        {"what": "implementation", "before": kms_setup.kms_implementation, "after": new_impl}
    ]
    info = run_cli(capsys, "info", "kms", "--kms", kms_setup.kms_address, "--json").json()
    assert info["implementation"] == new_impl


def test_app_upgrade_refused_once_upgrades_are_disabled(capsys, rpc, owner_key, kms_setup):
    app = kms_setup.new_app(disable_upgrades=True)
    impl = run_cli(capsys, "app", "deploy-impl", "--json").json()["implementation"]
    result = run_cli(capsys, "app", "upgrade", impl, "--app-id", app.address, "--kms", kms_setup.kms_address)
    assert result.code == 1
    assert result.error_line == "error: app-upgrade reverted: Upgrades are permanently disabled"
