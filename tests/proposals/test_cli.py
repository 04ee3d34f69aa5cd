"""A few CLI checks on top of the core: exit codes, one-line errors, and cast signing exported typed data."""

from __future__ import annotations

import json

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from hexbytes import HexBytes
from safe_eth.eth.contracts import get_safe_V1_3_0_contract, get_safe_V1_4_1_contract

from proposals.models import ProposalState
from tests.helpers.chain import dev_account
from tests.helpers.cli import run_cli
from tests.helpers.config_file import write_config
from tests.helpers.governance import Governance, build_governance
from tests.helpers.proposing import cast, image_allowed, propose_image, request, sign, typed_signature, word

EXECUTOR_ENV = "DSTACK_GOV_EXECUTOR_KEY"


def test_execute_without_an_executor_explains_and_leaves_the_proposal_approved(
    capsys, anvil, gov, tmp_path, monkeypatch
):
    monkeypatch.delenv(EXECUTOR_ENV, raising=False)
    config = str(write_config(gov, anvil.url, tmp_path, executor=False))
    p = propose_image(gov, 1)
    sign(gov, p.id, 0, 1, svc=gov.service(with_executor=False))

    result = run_cli(capsys, "execute", str(p.id), "--config", config)

    assert result.code == 2
    assert result.error_line == "error: no executor key is configured ([executor] in the config)"
    status = run_cli(capsys, "status", str(p.id), "--config", config, "--json").json()
    assert (status["state"], status["confirmations"], status["threshold"]) == ("approved", 2, 2)


def test_typed_data_exported_for_cast_signs_and_executes(capsys, anvil, gov: Governance, tmp_path, monkeypatch):
    monkeypatch.delenv(EXECUTOR_ENV, raising=False)
    config = str(write_config(gov, anvil.url, tmp_path))
    p = propose_image(gov, 1)
    exported = tmp_path / "typed.json"
    assert run_cli(capsys, "export", str(p.id), "--typed-data", "-o", str(exported), "--config", config).code == 0
    assert json.loads(exported.read_text()) == gov.svc.typed_data(p.id)

    first_key, second_key = ("0x" + gov.owners[i].key.hex() for i in (0, 2))
    by_typed = cast("wallet", "sign", "--data", "--from-file", str(exported), "--private-key", first_key)
    by_hash = cast("wallet", "sign", "--private-key", second_key, "0x" + p.safe_tx_hash.hex())
    assert bytes.fromhex(by_typed[2:]) == typed_signature(gov.owners[0], gov.svc.typed_data(p.id))

    first = run_cli(capsys, "sign", str(p.id), "--signature", by_typed, "--config", config, "--json")
    assert first.code == 0, first.err
    assert (first.json()["state"], first.json()["confirmations"]) == ("pending", 1)
    second = run_cli(capsys, "sign", str(p.id), "--signature", by_hash, "--config", config, "--json")
    assert second.code == 0, second.err

    view = second.json()
    assert view["state"] == "executed" and image_allowed(gov, 1)
    assert [(s["owner"], s["kind"]) for s in view["signatures"]] == [
        (gov.owners[0].address, "eip712"),
        (gov.owners[2].address, "eth_sign"),
    ]


@pytest.mark.parametrize("version", ["1.4.1", "1.3.0"])
def test_exported_typed_data_has_exactly_the_declared_message_fields(
    capsys, anvil, w3, eth_client, safe_infra, tmp_path, monkeypatch, version
):
    monkeypatch.delenv(EXECUTOR_ENV, raising=False)
    gov = build_governance(w3, eth_client, safe_infra, tmp_path, safe_version=version)
    config = str(write_config(gov, anvil.url, tmp_path))
    p = propose_image(gov, 1)
    exported = tmp_path / "typed.json"
    assert run_cli(capsys, "export", str(p.id), "--typed-data", "-o", str(exported), "--config", config).code == 0

    typed = json.loads(exported.read_text())
    declared = [field["name"] for field in typed["types"]["SafeTx"]]
    assert list(typed["message"]) == declared and "baseGas" in declared and "dataGas" not in typed["message"]
    tx = p.safe_tx
    contract = (get_safe_V1_3_0_contract if version == "1.3.0" else get_safe_V1_4_1_contract)(w3, gov.safe)
    on_chain = contract.functions.getTransactionHash(
        tx.to, tx.value, tx.data, tx.operation, tx.safe_tx_gas, tx.base_gas, tx.gas_price, tx.gas_token,
        tx.refund_receiver, tx.nonce,
    ).call()  # fmt: skip
    assert bytes(on_chain) == p.safe_tx_hash == keccak(b"\x19" + b"".join(encode_typed_data(full_message=typed)))

    owner = gov.owners[0]
    by_cast = cast("wallet", "sign", "--data", "--from-file", str(exported), "--private-key", "0x" + owner.key.hex())
    assert Account.recover_message(encode_typed_data(full_message=typed), signature=by_cast) == owner.address
    signed = run_cli(capsys, "sign", str(p.id), "--signature", by_cast, "--config", config, "--json")
    assert signed.code == 0, signed.err
    assert [(s["owner"], s["kind"]) for s in signed.json()["signatures"]] == [(owner.address, "eip712")]


def test_a_failed_execution_under_json_prints_one_error_object(capsys, anvil, gov, kms_setup, tmp_path, monkeypatch):
    monkeypatch.delenv(EXECUTOR_ENV, raising=False)
    config = str(write_config(gov, anvil.url, tmp_path))
    kms = kms_setup.kms
    eoa = kms_setup.sender()
    eoa.send(kms.address, bytes(HexBytes(kms.encode_abi("transferOwnership", [gov.safe]))))
    p = gov.svc.propose(request("Take over KMS 2", ("kms accept-ownership", {}, kms.address)), proposer="test")
    sign(gov, p.id, 0, 1, svc=gov.service(with_executor=False))
    # The pending owner changes after signing: the inner acceptOwnership now reverts (GS013).
    eoa.send(kms.address, bytes(HexBytes(kms.encode_abi("transferOwnership", [dev_account(5).address]))))

    result = run_cli(capsys, "execute", str(p.id), "--config", config, "--json")

    assert result.code == 1
    assert result.json_error["kind"] == "chain-error"
    assert result.json_error["error"].startswith(f"proposal #{p.id} failed: execution would revert: GS013")
    assert gov.svc.get(p.id).state is ProposalState.FAILED


def test_bad_signatures_and_files_fail_in_one_line(capsys, anvil, gov, tmp_path, monkeypatch):
    monkeypatch.delenv(EXECUTOR_ENV, raising=False)
    config = str(write_config(gov, anvil.url, tmp_path))
    p = propose_image(gov, 1)

    not_hex = run_cli(capsys, "sign", str(p.id), "--signature", "0xzz", "--config", config)
    short = run_cli(capsys, "sign", str(p.id), "--signature", "0x" + "11" * 64, "--config", config)
    missing = run_cli(capsys, "sign", "99", "--signature", "0x" + "11" * 65, "--config", config)
    proposal_file = tmp_path / "p.yaml"
    proposal_file.write_text(
        f"title: t\nactions:\n  - action: kms add-image\n    osImageHash: {word(1)}\n  - action: kms frobnicate\n"
    )
    bad_file = run_cli(capsys, "propose", "--file", str(proposal_file), "--config", config)

    assert (not_hex.code, not_hex.error_line) == (2, "error: malformed signature: not hex")
    assert (short.code, short.error_line) == (
        2,
        "error: malformed signature: expected 65 bytes (130 hex digits), got 64",
    )
    assert (missing.code, missing.error_line) == (2, "error: no proposal #99")
    assert (bad_file.code, bad_file.error_line) == (
        2,
        f"error: proposal file {proposal_file}: action #2: unknown action 'kms frobnicate'",
    )
    assert gov.store.signatures(p.id) == [] and len(gov.svc.list_proposals()) == 1


def test_cancel_with_a_signature_files_a_rejection(capsys, anvil, gov, tmp_path, monkeypatch):
    monkeypatch.delenv(EXECUTOR_ENV, raising=False)
    config = str(write_config(gov, anvil.url, tmp_path))
    p = propose_image(gov, 1)
    sign(gov, p.id, 1)

    result = run_cli(capsys, "cancel", str(p.id), "--config", config, "--json")

    assert result.code == 0, result.err
    rejection = result.json()
    assert (rejection["kind"], rejection["rejects"], rejection["nonce"]) == ("rejection", p.id, p.nonce)
    assert rejection["safeTx"]["to"] == gov.safe and rejection["safeTx"]["data"] == "0x"
