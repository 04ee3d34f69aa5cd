"""Policy as code on anvil: export -> plan round trip, a plan across the KMS and two apps of two Safes applied
as two proposals, the "chain changed since the plan" refusal, drift from an owner transaction outside dstack-gov,
and malformed policy files refused in one line with nothing filed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from proposals.catalogue import get_action
from proposals.errors import Conflict
from proposals.models import ProposalState
from proposals.policy_file import load_policy_text
from proposals.service import GovernanceService
from tests.helpers.chain import dev_account
from tests.helpers.cli import run_cli
from tests.helpers.composes import app_compose, canonical
from tests.helpers.config_file import write_config
from tests.helpers.governance import Governance
from tests.helpers.safes import AppSafe, add_app_safe, safe_execute_with


def h(n: int) -> str:
    """Return a distinct 32-byte value as 0x-hex."""
    return "0x" + n.to_bytes(32, "big").hex()


def owner_tx(gov: Governance, safe: str, signers, target: str, action: str, **values: str):
    """Change a contract through its Safe directly (not through dstack-gov), as its owners could; return the receipt."""
    calldata = get_action(action).encode(get_action(action).parse(values))
    return safe_execute_with(gov.client, safe, signers, gov.executor_account, target, calldata)


def seed(gov: Governance, other: AppSafe) -> None:
    """Image 1 on the KMS; app 1 runs hash 11 on any device; app 2 runs hash 21 on device 31."""
    owners = gov.owners[:2]
    owner_tx(gov, gov.safe, owners, gov.kms_address, "kms-add-image", osImageHash=h(1))
    owner_tx(gov, gov.safe, owners, gov.app_address, "app-add-hash", composeHash=h(11))
    owner_tx(gov, gov.safe, owners, gov.app_address, "app-set-allow-any-device", allowAny="true")
    mates = other.owners[:2]
    owner_tx(gov, other.address, mates, other.app, "app-add-hash", composeHash=h(21))
    owner_tx(gov, other.address, mates, other.app, "app-add-device", deviceId=h(31))


def two_safe_config(gov: Governance, other: AppSafe, anvil_url: str, directory: Path) -> str:
    """Write a config knowing both Safes (no executor: owners sign, the service executes in tests)."""
    return str(write_config(gov, anvil_url, directory, executor=False,
                            extra=f'[[safes]]\naddress = "{other.address}"\n'))  # fmt: skip


def policy_text(gov: Governance, other: AppSafe) -> str:
    """A policy that adds and removes on the KMS and on both apps."""
    return yaml.safe_dump({
        "osImages": [h(2)],
        "kmsDevices": [h(41)],
        "apps": {
            gov.app_address: {"composeHashes": [h(12)], "requireTcbUpToDate": True},
            other.app: {"composeHashes": [], "devices": [h(31), h(32)]},
        },
    })  # fmt: skip


def execute(svc: GovernanceService, proposal_id: int, signers) -> None:
    """Sign with `signers`; the quorum signature executes."""
    for signer in signers:
        svc.sign_with_account(proposal_id, signer, source="test")
    assert svc.get(proposal_id).state is ProposalState.EXECUTED


@pytest.fixture
def other(gov: Governance) -> AppSafe:
    return add_app_safe(gov)


def test_export_then_plan_shows_no_changes(capsys, anvil, gov: Governance, other: AppSafe, tmp_path):
    seed(gov, other)
    config = two_safe_config(gov, other, anvil.url, tmp_path)
    exported = tmp_path / "policy.yaml"

    done = run_cli(capsys, "policy", "export", "-o", str(exported), "--config", config)
    assert done.code == 0, done.err
    spec = load_policy_text(exported.read_text())
    assert spec.sets["osImages"] == {bytes.fromhex(h(1)[2:])}
    assert set(spec.apps) == {gov.app_address, other.app}
    assert spec.apps[other.app].sets["devices"] == {bytes.fromhex(h(31)[2:])}

    plan = run_cli(capsys, "policy", "plan", str(exported), "--config", config, "--json")
    assert plan.code == 0, plan.err
    assert plan.json()["changes"] == 0 and plan.json()["contracts"] == []
    human = run_cli(capsys, "policy", "plan", str(exported), "--config", config)
    assert (human.code, "no changes" in human.out) == (0, True)


def test_plan_across_kms_and_two_safes_applies_as_two_proposals_then_matches(
    capsys, anvil, gov: Governance, other: AppSafe, tmp_path
):
    seed(gov, other)
    config = two_safe_config(gov, other, anvil.url, tmp_path)
    path = tmp_path / "policy.yaml"
    path.write_text(policy_text(gov, other))

    planned = run_cli(capsys, "policy", "plan", str(path), "--config", config, "--json")
    assert planned.code == 4, planned.err  # changes pending
    body = planned.json()
    by_contract = {c["contract"]: c for c in body["contracts"]}
    assert by_contract[gov.kms_address]["owner"] == gov.safe
    assert by_contract[other.app]["owner"] == other.address
    kms_actions = [a["action"] for a in by_contract[gov.kms_address]["actions"]]
    assert kms_actions == ["kms-add-image", "kms-add-device", "kms-remove-image"]
    removal = by_contract[gov.kms_address]["actions"][-1]
    assert removal["risk"] == "medium"
    apps = ", ".join(sorted([gov.app_address, other.app], key=str.lower))  # listed in address order
    assert f"apps still allowed to boot on it: {apps}" in removal["impacts"][0]
    only_hash = next(a for a in by_contract[other.app]["actions"] if a["action"] == "app-remove-hash")
    assert only_hash["impacts"] == [
        f"removes compose hash {h(21)}, the only one app {other.app} allows: it can no longer boot"
    ]

    applied = run_cli(capsys, "policy", "apply", str(path), "--plan-hash", body["planHash"], "--config", config,
                      "--json")  # fmt: skip
    assert applied.code == 0, applied.err
    filed = applied.json()["proposals"]
    assert sorted(p["safe"] for p in filed) == sorted([gov.safe, other.address])  # one batch per owning Safe

    svc = gov.service(extra_safes=[other.address])
    first = next(p["id"] for p in filed if p["safe"] == gov.safe)
    second = next(p["id"] for p in filed if p["safe"] == other.address)
    assert len(svc.get(first).actions) == 6  # the KMS's 3 and app 1's 3, in one MultiSend
    execute(svc, first, gov.owners[:2])
    execute(svc, second, other.owners[:2])

    again = run_cli(capsys, "policy", "plan", str(path), "--config", config, "--json")
    assert (again.code, again.json()["changes"]) == (0, 0)
    drift = run_cli(capsys, "policy", "drift", "--config", config, "--json")
    assert (drift.code, drift.json()["items"]) == (0, [])
    assert svc.last_applied_policy().proposal_ids == (first, second)


def test_apply_refuses_when_the_chain_changed_since_the_plan(capsys, anvil, gov: Governance, other, tmp_path):
    config = two_safe_config(gov, other, anvil.url, tmp_path)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump({"osImages": [h(2)]}))
    planned = run_cli(capsys, "policy", "plan", str(path), "--config", config, "--json").json()
    owner_tx(gov, gov.safe, gov.owners[:2], gov.kms_address, "kms-add-image", osImageHash=h(7))

    refused = run_cli(capsys, "policy", "apply", str(path), "--plan-hash", planned["planHash"], "--config", config)
    assert refused.code == 1
    assert refused.error_line.startswith("error: the chain changed since the plan with hash")
    assert gov.svc.list_proposals() == [] and gov.svc.last_applied_policy() is None
    with pytest.raises(Conflict):
        gov.svc.apply_policy(load_policy_text(path.read_text()), plan_hash=planned["planHash"], proposer="t",
                             source="p")  # fmt: skip


def test_drift_from_an_owner_transaction_outside_dstack_gov(capsys, anvil, gov: Governance, other, tmp_path):
    config = two_safe_config(gov, other, anvil.url, tmp_path)
    path = tmp_path / "policy.yaml"
    assert run_cli(capsys, "policy", "export", "-o", str(path), "--config", config).code == 0
    plan_hash = run_cli(capsys, "policy", "plan", str(path), "--config", config, "--json").json()["planHash"]
    assert run_cli(capsys, "policy", "apply", str(path), "--plan-hash", plan_hash, "--config", config).code == 0
    assert run_cli(capsys, "policy", "drift", "--config", config).code == 0

    receipt = owner_tx(gov, gov.safe, gov.owners[:2], gov.kms_address, "kms-add-image", osImageHash=h(9))

    drift = run_cli(capsys, "policy", "drift", "--config", config, "--json")
    assert drift.code == 5
    (item,) = drift.json()["items"]
    assert (item["field"], item["value"], item["actual"]) == ("osImages", h(9), "allowed")
    assert item["wanted"] == "not allowed"
    tx = receipt["transactionHash"].to_0x_hex()
    assert (item["block"], item["txHash"], item["via"]) == (receipt["blockNumber"], tx, None)
    human = run_cli(capsys, "policy", "drift", "--config", config)
    assert "outside dstack-gov" in human.out and str(receipt["blockNumber"]) in human.out


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("osImages: [0x1234]", "policy.yaml: osImages[0]: osImageHash: expected 32 bytes (64 hex digits), got 2"),
        ("osImages:\n", "policy.yaml: osImages: no value (write [] for none allowed, or leave the key out)"),
        (f"osImages: ['{h(1)}', '{h(1)}']", "policy.yaml: osImages[1]: the same value as osImages[0]"),
        ("osImage: []", "policy.yaml: osImage: Extra inputs are not permitted"),
        ("apps: {'0x12': {}}", "policy.yaml: apps.0x12: not an address (20 bytes of hex): '0x12'"),
        ("gatewayAppId: nothex", "policy.yaml: gatewayAppId: appId: not an address (20 bytes of hex): 'nothex'"),
        ("a: [b", "policy.yaml: not valid YAML"),
        ("- 1", "policy.yaml: expected a mapping of policy sections (see docs/policy.md)"),
    ],
)
def test_malformed_policy_files_are_refused_in_one_line_and_nothing_is_filed(
    capsys, anvil, gov: Governance, tmp_path, text: str, reason: str
):
    config = str(write_config(gov, anvil.url, tmp_path, executor=False))
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    for command in (["plan"], ["apply", "--plan-hash", "0" * 64]):
        result = run_cli(capsys, "policy", *command, str(path), "--config", config)
        assert result.code == 2
        assert result.error_line.startswith(f"error: {reason}")
    assert gov.svc.list_proposals() == [] and gov.svc.last_applied_policy() is None


def test_compose_files_stand_for_the_sha256_of_their_bytes(capsys, anvil, gov: Governance, tmp_path):
    config = str(write_config(gov, anvil.url, tmp_path, executor=False))
    compose = canonical(app_compose())
    (tmp_path / "releases").mkdir()
    (tmp_path / "releases" / "app-compose.json").write_bytes(compose)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump({"apps": {gov.app_address: {"composeFiles": ["releases/app-compose.json"]}}}))

    plan = run_cli(capsys, "policy", "plan", str(path), "--config", config, "--json")

    assert plan.code == 4, plan.err
    (action,) = plan.json()["contracts"][0]["actions"]
    assert action["values"] == {"composeHash": "0x" + hashlib.sha256(compose).hexdigest()}
    (tmp_path / "releases" / "app-compose.json").write_text('{"runner": "nothing"}')
    broken = run_cli(capsys, "policy", "plan", str(path), "--config", config)
    assert broken.code == 2 and broken.error_line.startswith("error: policy.yaml: apps.")


def test_direct_apply_sends_key_owned_changes_and_records_them(capsys, anvil, w3, kms_setup, tmp_path, gov):
    config = str(write_config(gov, anvil.url, tmp_path, executor=False))
    kms = kms_setup.kms.address
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump({"kms": kms, "osImages": [h(3)], "kmsDevices": [h(4)]}))
    key = "0x" + dev_account(0).key.hex()
    plan_hash = run_cli(capsys, "policy", "plan", str(path), "--config", config, "--json").json()["planHash"]

    undirected = run_cli(capsys, "policy", "apply", str(path), "--plan-hash", plan_hash, "--config", config)
    assert undirected.code == 2 and "use --direct with the owner's key" in undirected.error_line
    done = run_cli(capsys, "policy", "apply", str(path), "--plan-hash", plan_hash, "--direct", "--private-key", key,
                   "--config", config, "--json")  # fmt: skip

    assert done.code == 0, done.err
    assert [d["action"] for d in done.json()["direct"]] == ["kms-add-image", "kms-add-device"]
    assert done.json()["proposals"] == [] and gov.svc.list_proposals() == []
    assert run_cli(capsys, "policy", "plan", str(path), "--config", config).code == 0
    recorded = gov.svc.last_applied_policy(kms)
    assert recorded is not None and len(recorded.direct_txs) == 2
    assert run_cli(capsys, "policy", "drift", "--kms", kms, "--config", config).code == 0


def test_apply_without_a_plan_hash_needs_a_terminal(capsys, anvil, gov: Governance, tmp_path):
    config = str(write_config(gov, anvil.url, tmp_path, executor=False))
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump({"osImages": [h(2)]}))
    refused = run_cli(capsys, "policy", "apply", str(path), "--config", config, "--json")
    assert refused.code == 2
    assert refused.json_error["error"].startswith("pass --plan-hash")
    assert gov.svc.list_proposals() == []
