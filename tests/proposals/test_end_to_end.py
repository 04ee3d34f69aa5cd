"""The issue's end-to-end story, through the CLI: batch proposal, EIP-712 + approveHash, automatic execution."""

from __future__ import annotations

import json

from tests.helpers.cli import run_cli
from tests.helpers.config_file import write_config

IMAGE = "0x" + "a1" * 32
HASH = "0x" + "b2" * 32
DEVICE = "0x" + "c3" * 32


def test_batch_signed_by_eip712_and_approve_hash_executes_and_allows_the_app(capsys, anvil, gov, tmp_path):
    config = write_config(gov, anvil.url, tmp_path)
    proposal_file = tmp_path / "proposal.yaml"
    proposal_file.write_text(
        "title: Roll out release 1.2\n"
        "description: New OS image, the new compose file, and the new host.\n"
        "actions:\n"
        f"  - action: kms add-image\n    osImageHash: {IMAGE}\n"
        f"  - action: app add-hash\n    app: {gov.app_address}\n    composeHash: {HASH}\n"
        f"  - action: app add-device\n    app: {gov.app_address}\n    deviceId: {DEVICE}\n"
    )
    filed = run_cli(capsys, "propose", "--file", str(proposal_file), "--config", str(config), "--json")
    assert filed.code == 0, filed.err
    view = filed.json()
    pid = view["id"]
    assert view["state"] == "pending" and view["confirmations"] == 0 and view["threshold"] == 2
    assert view["safeTx"]["operation"] == 1 and view["safeTx"]["to"] == gov.infra.multi_send_call_only
    assert [c["action"] for c in view["calls"]] == ["kms-add-image", "app-add-hash", "app-add-device"]

    owner1 = "0x" + gov.owners[0].key.hex()
    signed = run_cli(capsys, "sign", str(pid), "--private-key", owner1, "--config", str(config), "--json")
    assert signed.code == 0, signed.err
    assert signed.json()["confirmations"] == 1 and signed.json()["state"] == "pending"

    gov.approve_hash(gov.owners[1], bytes.fromhex(view["safeTxHash"][2:]))
    reconciled = run_cli(capsys, "reconcile", "--config", str(config), "--json")
    assert reconciled.code == 0, reconciled.err
    assert reconciled.json()["approvals"] == [[pid, gov.owners[1].address]]
    assert reconciled.json()["executed"] == [pid]

    status = run_cli(capsys, "status", str(pid), "--config", str(config), "--json").json()
    assert status["state"] == "executed" and status["execution"]["gasUsed"] > 0
    assert {s["kind"] for s in status["signatures"]} == {"eip712", "approved_hash"}

    boot = tmp_path / "boot.json"
    boot.write_text(json.dumps({"appId": gov.app_address, "composeHash": HASH, "instanceId": "0x01", "deviceId": DEVICE,
                                "mrAggregated": "0x02", "osImageHash": IMAGE, "tcbStatus": "UpToDate"}))  # fmt: skip
    verdict = run_cli(capsys, "check", "app", "--boot-info", str(boot), "--config", str(config), "--json")
    assert verdict.json() == {"isAllowed": True, "reason": ""}

    audit = run_cli(capsys, "audit", "--proposal", str(pid), "--config", str(config), "--json")
    events = [e["event"] for e in json.loads(audit.out)]
    assert events[:2] == ["created", "planned"] and events[-1] == "state:executing->executed"
