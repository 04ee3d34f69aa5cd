"""What you see is what you sign: proposals are described from the actions stored when they were filed."""

from __future__ import annotations

from typing import Any

import pytest
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from sqlalchemy import update

from proposals.decode import describe_tx
from proposals.errors import ActionsMismatch
from proposals.models import PlannedChange, ProposalState
from proposals.reconcile import Reconciler
from proposals.service import GovernanceService
from proposals.store import open_store
from proposals.store.tables import ProposalRow
from proposals.views import view_as_dict
from tests.helpers.cli import run_cli
from tests.helpers.config_file import write_config
from tests.helpers.governance import Governance
from tests.helpers.proposing import add_image, request, safe_nonce, sign, word


def service_for_kms(gov: Governance, kms: ChecksumAddress) -> GovernanceService:
    """Build the service a config naming `kms` as its KMS would build, on the same database."""
    return GovernanceService(client=gov.client, store=open_store(gov.db_url), safes=[gov.safe], kms=kms,
                             settings=gov.settings(), clock=gov.clock)  # fmt: skip


def pending_kms(gov: Governance, kms_setup: Any) -> ChecksumAddress:
    """Make the Safe the pending owner of a second KMS (owned by an EOA); return that KMS."""
    second = kms_setup.kms
    kms_setup.sender().send(second.address, bytes(HexBytes(second.encode_abi("transferOwnership", [gov.safe]))))
    return ChecksumAddress(second.address)


def tamper(gov: Governance, proposal_id: int, **columns: Any) -> None:
    """Change a stored proposal behind the service's back, as someone with database access could."""
    with gov.store.engine.begin() as connection:
        connection.execute(update(ProposalRow).where(ProposalRow.id == proposal_id).values(**columns))


def test_a_proposal_filed_for_one_kms_reads_the_same_under_a_config_for_another(gov: Governance, kms_setup):
    kms_b = pending_kms(gov, kms_setup)
    filed = service_for_kms(gov, kms_b).propose(request("Take over KMS B", ("kms accept-ownership", {}, None)),
                                                proposer="test")  # fmt: skip
    accepted = f"Accept ownership of the KMS {kms_b}"
    # Decoded again through a config for KMS A, the same calldata reads as an app action: the bug this guards.
    assert describe_tx(filed.safe_tx, gov.svc.known)[0].description == f"Accept ownership of the app {kms_b}"

    under_a = gov.service(with_executor=False)
    [call] = under_a.view(filed.id).calls
    assert (call.description, call.action, call.to) == (accepted, "kms-accept-ownership", kms_b)
    assert view_as_dict(under_a.view(filed.id))["calls"][0]["action"] == "kms-accept-ownership"

    signed = sign(gov, filed.id, 0, svc=under_a)
    assert signed.valid_count == 1
    assert under_a.view(filed.id).calls[0].description == accepted


def test_the_planned_diff_is_stored_with_the_proposal(gov: Governance):
    p = gov.svc.propose(request("Two images", ("kms add-image", {"osImageHash": word(1)}, None),
                                ("kms add-image", {"osImageHash": word(2)}, None)), proposer="test")  # fmt: skip

    reread = gov.service(with_executor=False).view(p.id)

    assert reread.proposal.planned is not None
    assert reread.proposal.planned.changes == (
        PlannedChange("kms-add-image", f"OS image {word(1)} allowed", "false", "true", 0),
        PlannedChange("kms-add-image", f"OS image {word(2)} allowed", "false", "true", 1),
    )
    assert reread.proposal.planned.simulation_gas and reread.proposal.planned.warnings == ()
    assert [c.description for c in reread.calls] == [f"Allow OS image {word(n)}" for n in (1, 2)]
    as_json = view_as_dict(reread)["planned"]
    assert isinstance(as_json, dict) and [c["index"] for c in as_json["changes"]] == [0, 1]


def _other_image(p: Any) -> dict[str, Any]:
    return {"actions": [{"action": "kms-add-image", "target": p.actions[0].target, "values": {"osImageHash": word(9)}}]}


def _app_instead_of_kms(p: Any) -> dict[str, Any]:
    return {"actions": [{"action": "app-add-hash", "target": p.actions[0].target,
                         "values": {"composeHash": word(1)}}]}  # fmt: skip


def _no_actions(p: Any) -> dict[str, Any]:
    return {"actions": []}


def _unknown_action(p: Any) -> dict[str, Any]:
    return {"actions": [{"action": "kms-frobnicate", "target": p.actions[0].target, "values": {}}]}


def _other_calldata(p: Any) -> dict[str, Any]:
    return {"data": bytes(p.safe_tx.data[:-1]) + b"\x07"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_other_image, "action 1 (kms-add-image) does not encode to call 1"),
        (_app_instead_of_kms, "action 1 (app-add-hash) does not encode to call 1"),
        (_no_actions, "no actions are stored with it"),
        (_unknown_action, "action 1 cannot be read back: unknown action 'kms-frobnicate'"),
        (_other_calldata, "action 1 (kms-add-image) does not encode to call 1"),
    ],
    ids=["other-value", "other-action", "no-actions", "unknown-action", "other-calldata"],
)
def test_stored_actions_that_do_not_encode_the_calldata_are_neither_shown_nor_signed(gov: Governance, change, reason):
    p = gov.svc.propose(add_image(word(1)), proposer="test")
    tamper(gov, p.id, **change(p))
    svc = gov.service(with_executor=False)
    expected = (
        f"proposal #{p.id}: its stored actions do not match the calldata ({reason}); it is neither shown nor signed"
    )

    for attempt in (
        lambda: svc.view(p.id),
        lambda: svc.typed_data(p.id),
        lambda: sign(gov, p.id, 0, svc=svc),
        lambda: svc.add_signature(p.id, b"", source="test", actor="test", claimed_owner=gov.owners[0].address),
    ):
        with pytest.raises(ActionsMismatch) as refused:
            attempt()
        assert refused.value.message == expected
    assert gov.store.signatures(p.id) == []


def test_actions_tampered_after_quorum_are_never_executed(gov: Governance):
    no_executor = gov.service(with_executor=False)
    p = no_executor.propose(add_image(word(1)), proposer="test")
    assert sign(gov, p.id, 0, 1, svc=no_executor).proposal.state is ProposalState.APPROVED
    tamper(gov, p.id, **_other_image(p))
    assert gov.executor_account is not None
    executor = gov.executor_account.address
    sent = gov.w3.eth.get_transaction_count(executor, "pending")
    svc = gov.service()

    with pytest.raises(ActionsMismatch) as refused:
        svc.execute(p.id, actor="test")
    assert "does not encode to call 1" in refused.value.message
    report = Reconciler(svc).run()  # its execution at the Safe's nonce is refused the same way

    assert report.executed == [] and gov.store.get(p.id).state is ProposalState.APPROVED
    assert gov.store.signed_executions(p.id) == [] and gov.w3.eth.get_transaction_count(executor, "pending") == sent
    assert safe_nonce(gov.w3, gov.safe) == p.nonce


def test_a_batch_is_checked_call_by_call_and_as_a_whole(gov: Governance):
    p = gov.svc.propose(request("Two images", ("kms add-image", {"osImageHash": word(1)}, None),
                                ("kms add-image", {"osImageHash": word(2)}, None)), proposer="test")  # fmt: skip
    stored = [{"action": a.action, "target": a.target, "values": dict(a.values)} for a in p.actions]

    tamper(gov, p.id, actions=list(reversed(stored)))
    with pytest.raises(ActionsMismatch, match=r"\(action 1 \(kms-add-image\) does not encode to call 1\)"):
        gov.svc.view(p.id)
    tamper(gov, p.id, actions=stored[:1])
    with pytest.raises(ActionsMismatch, match=r"\(action 1 is stored for .*, but call 1 goes to "):
        gov.svc.view(p.id)
    tamper(gov, p.id, actions=stored, data=bytes(p.safe_tx.data) + b"\x00" * 32)
    with pytest.raises(ActionsMismatch, match="the MultiSend batch is not the stored actions' batch"):
        gov.svc.view(p.id)
    tamper(gov, p.id, data=p.safe_tx.data)
    assert [c.description for c in gov.svc.view(p.id).calls] == [f"Allow OS image {word(n)}" for n in (1, 2)]


def test_an_action_whose_encoding_reads_the_chain_is_checked_against_its_call(gov: Governance):
    owner = gov.owners[2].address
    p = gov.svc.propose(request("Drop an owner", ("safe remove-owner", {"owner": owner, "threshold": 2}, None)),
                        proposer="test")  # fmt: skip
    assert gov.svc.view(p.id).calls[0].description == f"Remove owner {owner} from Safe {gov.safe}, threshold 2"

    tamper(gov, p.id, actions=[{"action": "safe-remove-owner", "target": gov.safe,
                                "values": {"owner": owner, "threshold": "1"}}])  # fmt: skip
    with pytest.raises(ActionsMismatch, match=r"action 1 \(safe-remove-owner\) does not encode to call 1"):
        gov.svc.view(p.id)


def test_a_rejection_is_described_from_its_own_shape(gov: Governance):
    p = gov.svc.propose(add_image(word(1)), proposer="test")
    sign(gov, p.id, 0)
    rejection = gov.svc.cancel(p.id, actor="test").rejection
    assert rejection is not None
    assert gov.svc.view(rejection.id).calls[0].description.startswith("Reject: do nothing at nonce")

    tamper(gov, rejection.id, data=b"\x01")
    with pytest.raises(ActionsMismatch, match="a rejection must be a call to its own Safe with no data"):
        gov.svc.view(rejection.id)


def test_the_cli_shows_and_signs_what_was_filed_for_another_kms(capsys, anvil, gov: Governance, kms_setup, tmp_path,
                                                                 monkeypatch):  # fmt: skip
    monkeypatch.delenv("DSTACK_GOV_EXECUTOR_KEY", raising=False)
    kms_b = pending_kms(gov, kms_setup)
    config = str(write_config(gov, anvil.url, tmp_path))  # names KMS A
    filed = run_cli(capsys, "kms", "accept-ownership", "--kms", kms_b, "--via-safe", "--config", config, "--json")
    assert filed.code == 0, filed.err
    pid = str(filed.json()["id"])
    accepted = f"Accept ownership of the KMS {kms_b}"

    status = run_cli(capsys, "status", pid, "--config", config, "--json")
    signed = run_cli(capsys, "sign", pid, "--private-key", "0x" + gov.owners[0].key.hex(), "--config", config, "--json")

    assert filed.json()["calls"][0]["description"] == accepted
    assert status.code == 0 and status.json()["calls"][0]["description"] == accepted
    assert status.json()["calls"][0]["action"] == "kms-accept-ownership"
    assert signed.code == 0, signed.err
    assert (signed.json()["calls"][0]["description"], signed.json()["confirmations"]) == (accepted, 1)


def test_the_cli_refuses_to_show_or_sign_tampered_actions(capsys, anvil, gov: Governance, tmp_path, monkeypatch):
    monkeypatch.delenv("DSTACK_GOV_EXECUTOR_KEY", raising=False)
    config = str(write_config(gov, anvil.url, tmp_path))
    p = gov.svc.propose(add_image(word(1)), proposer="test")
    tamper(gov, p.id, **_other_image(p))
    refusal = (f"error: proposal #{p.id}: its stored actions do not match the calldata (action 1 (kms-add-image) "
               "does not encode to call 1); it is neither shown nor signed")  # fmt: skip

    status = run_cli(capsys, "status", str(p.id), "--config", config)
    signed = run_cli(capsys, "sign", str(p.id), "--private-key", "0x" + gov.owners[0].key.hex(), "--config", config)
    exported = run_cli(capsys, "export", str(p.id), "--typed-data", "--config", config)

    for result in (status, signed, exported):
        assert (result.code, result.error_line) == (1, refusal)
    assert gov.store.signatures(p.id) == []
