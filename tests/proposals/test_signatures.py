"""Signatures: every refusal with its reason, and every accepted kind (EIP-712, eth_sign, approveHash, EIP-1271)."""

from __future__ import annotations

import copy

import pytest
from eth_account import Account
from safe_eth.safe import Safe

from dstack_gov.safe_infra import create_safe
from proposals.errors import Conflict
from proposals.models import ProposalState, SignatureKind
from proposals.reconcile import Reconciler
from proposals.safe_tx import safe_tx_hashes
from proposals.signatures import SignatureRefused, parse_signature_hex
from tests.helpers.chain import dev_account
from tests.helpers.governance import Governance, build_governance
from tests.helpers.proposing import (
    cast_sign_hash,
    cast_sign_typed_data,
    eth_sign_signature,
    event_names,
    events,
    execute_outside,
    image_allowed,
    personal_signature,
    propose_image,
    request,
    safe_nonce,
    sign,
    typed_signature,
)

STRANGER = 7


def refused(gov: Governance, proposal_id: int, signature: bytes, **kwargs) -> str:
    """Offer `signature` and return the one-line reason it was refused (nothing is stored)."""
    before = gov.store.signatures(proposal_id)
    with pytest.raises(SignatureRefused) as caught:
        gov.svc.add_signature(proposal_id, signature, source="test", actor="test", **kwargs)
    assert gov.store.signatures(proposal_id) == before
    assert "\n" not in caught.value.message and caught.value.exit_code == 2
    return caught.value.message


def not_an_owner(gov: Governance, signer: str) -> str:
    return (
        f"the signer {signer} is not an owner of Safe {gov.safe} "
        "(or the signature was made over another hash, chain or Safe)"
    )


# -- refusals ---------------------------------------------------------------------------------


def test_a_non_owner_is_refused_and_the_refusal_audited(gov):
    p = propose_image(gov, 1)
    stranger = dev_account(STRANGER)

    reason = refused(gov, p.id, typed_signature(stranger, gov.svc.typed_data(p.id)))

    assert reason == not_an_owner(gov, stranger.address)
    refusal = events(gov, p.id)[-1]
    assert refusal.event == "signature-refused" and refusal.detail == {"reason": reason, "source": "test"}


def test_a_second_signature_by_the_same_owner_is_a_conflict(gov):
    p = propose_image(gov, 1)
    sign(gov, p.id, 0)
    owner = gov.owners[0]

    for duplicate in (typed_signature(owner, gov.svc.typed_data(p.id)), eth_sign_signature(owner, p.safe_tx_hash)):
        with pytest.raises(Conflict) as caught:
            gov.svc.add_signature(p.id, duplicate, source="test", actor="test")
        assert caught.value.message == f"{owner.address} already signed proposal #{p.id}"
    assert [s.owner for s in gov.store.signatures(p.id)] == [owner.address]


def test_a_signature_over_another_proposal_is_refused(gov):
    first, second = propose_image(gov, 1), propose_image(gov, 2)
    owner = gov.owners[0]
    other = typed_signature(owner, gov.svc.typed_data(first.id))

    assert refused(gov, second.id, other, claimed_owner=owner.address) == (
        f"the signature is not by {owner.address} over this safeTxHash (was it made over another hash, chain or Safe?)"
    )
    recovered = Account._recover_hash(second.safe_tx_hash, signature=other)
    assert refused(gov, second.id, other) == not_an_owner(gov, recovered)


@pytest.mark.parametrize(
    ("field", "value"),
    [("chainId", 1), ("verifyingContract", "0x" + "5a" * 20)],
    ids=["another-chain", "another-safe"],
)
def test_a_signature_over_another_domain_is_refused(gov, field, value):
    p = propose_image(gov, 1)
    typed = copy.deepcopy(gov.svc.typed_data(p.id))
    typed["domain"][field] = value
    forged = typed_signature(gov.owners[1], typed)

    reason = refused(gov, p.id, forged)

    assert reason == not_an_owner(gov, Account._recover_hash(p.safe_tx_hash, signature=forged))
    assert gov.owners[1].address not in reason


def test_a_malformed_signature_is_refused(gov):
    p = propose_image(gov, 1)
    cases = {
        "64 bytes": b"\x01" * 64,
        "v=5": b"\x01" * 64 + b"\x05",
        "66 bytes": b"\x01" * 64 + b"\x1b" + b"\x00",
        "r=s=0": b"\x00" * 64 + b"\x1b",
        "empty": b"",
    }
    reasons = {name: refused(gov, p.id, signature) for name, signature in cases.items()}
    assert reasons == {
        "64 bytes": "malformed signature: expected 65 bytes (130 hex digits), got 64",
        "v=5": "malformed signature: unknown type v=5",
        "66 bytes": "malformed signature: expected 65 bytes (130 hex digits), got 66",
        "r=s=0": "malformed signature: it does not recover to any address",
        "empty": "malformed signature: expected 65 bytes (130 hex digits), got 0",
    }


def test_pasted_text_that_is_not_hex_is_refused():
    with pytest.raises(SignatureRefused) as caught:
        parse_signature_hex("0xnot-a-signature")
    assert caught.value.message == "malformed signature: not hex"
    assert parse_signature_hex(" 0xAB cd\n") == b"\xab\xcd"


def test_a_closed_proposal_takes_no_signature(gov):
    p = propose_image(gov, 1)
    gov.svc.cancel(p.id, actor="test")
    with pytest.raises(Conflict) as caught:
        sign(gov, p.id, 0)
    assert caught.value.message == f"proposal #{p.id} is cancelled; it takes no more signatures"


def test_a_signature_whose_nonce_was_used_meanwhile_is_a_conflict(gov):
    p = propose_image(gov, 1)
    execute_outside(gov, propose_image(gov, 2, nonce=p.nonce), gov.owners[:2])

    with pytest.raises(Conflict) as caught:
        sign(gov, p.id, 0)

    assert caught.value.message == f"proposal #{p.id}: its nonce {p.nonce} has been used already"
    assert gov.store.get(p.id).state is ProposalState.SUPERSEDED


# -- an owner removed after signing ----------------------------------------------------------------


def removal_then_open_proposal(gov: Governance):
    """Propose removing owner 3 (nonce N), then an image (N+1) that owner 3 signs, then execute the removal."""
    removed = gov.owners[2]
    removal = gov.svc.propose(
        request("Remove owner 3", ("safe remove-owner", {"owner": removed.address, "threshold": "2"}, None)),
        proposer="test",
    )
    p = propose_image(gov, 1)
    assert (removal.nonce, p.nonce) == (0, 1)
    sign(gov, p.id, 2)
    done = sign(gov, removal.id, 0, 1).proposal
    assert done.state is ProposalState.EXECUTED
    assert removed.address not in gov.svc.view(p.id).owners
    assert gov.svc.view(removal.id).warnings == (
        f"high risk: Remove owner {removed.address} from Safe {gov.safe}, threshold 2",
    )
    return removed, p


def test_signatures_of_a_removed_owner_are_dropped_at_execution(gov):
    removed, p = removal_then_open_proposal(gov)

    result = sign(gov, p.id, 0)
    assert result.valid_count == 1 and result.proposal.state is ProposalState.PENDING
    done = sign(gov, p.id, 1).proposal

    assert done.state is ProposalState.EXECUTED and image_allowed(gov, 1)
    assert {s.owner for s in gov.store.signatures(p.id)} == {gov.owners[0].address, gov.owners[1].address}
    [drop] = [e for e in events(gov, p.id) if e.event == "signature-dropped"]
    assert drop.actor == "auto" and drop.detail["owner"] == removed.address
    assert drop.detail["reason"] == not_an_owner(gov, removed.address)


def test_signatures_of_a_removed_owner_are_dropped_by_reconcile(gov):
    removed, p = removal_then_open_proposal(gov)
    view = gov.svc.view(p.id)
    assert view.valid_count == 0 and view.signatures[0].note == not_an_owner(gov, removed.address)

    report = Reconciler(gov.svc).run()

    assert report.dropped_signatures == [(p.id, removed.address)]
    assert gov.store.signatures(p.id) == []
    assert event_names(gov, p.id)[-1] == "signature-dropped"
    assert events(gov, p.id)[-1].detail["reason"] == not_an_owner(gov, removed.address)


# -- accepted kinds ---------------------------------------------------------------------------


def test_an_eip712_signature_counts(gov):
    p = propose_image(gov, 1)
    signature = typed_signature(gov.owners[1], gov.svc.typed_data(p.id))

    result = gov.svc.add_signature(p.id, signature, source="wallet", actor="alice")

    assert result.signature.kind is SignatureKind.EIP712 and result.signature.owner == gov.owners[1].address
    assert (result.valid_count, result.threshold, result.proposal.state) == (1, 2, ProposalState.PENDING)
    [stored] = gov.store.signatures(p.id)
    assert (stored.signature, stored.source, stored.kind) == (signature, "wallet", SignatureKind.EIP712)
    view = gov.svc.view(p.id)
    assert (view.valid_count, view.missing_owners) == (1, (gov.owners[0].address, gov.owners[2].address))


@pytest.mark.parametrize("form", ["eth_sign", "personal_sign"])
def test_an_eth_sign_signature_counts_and_personal_sign_is_converted(gov, form):
    p = propose_image(gov, 1)
    owner = gov.owners[0]
    signature = (eth_sign_signature if form == "eth_sign" else personal_signature)(owner, p.safe_tx_hash)

    result = gov.svc.add_signature(p.id, signature, source="test", actor="test")

    assert result.signature.kind is SignatureKind.ETH_SIGN and result.signature.owner == owner.address
    assert result.signature.signature == eth_sign_signature(owner, p.safe_tx_hash)
    assert result.signature.signature[64] in (31, 32)


def test_cast_signatures_of_the_hash_and_of_the_typed_data_execute(gov, tmp_path):
    p = propose_image(gov, 1)

    by_hash = gov.svc.add_signature(p.id, cast_sign_hash(gov.owners[0], p.safe_tx_hash), source="cast", actor="t")
    by_typed = gov.svc.add_signature(
        p.id, cast_sign_typed_data(gov.owners[2], gov.svc.typed_data(p.id), tmp_path), source="cast", actor="t"
    )

    assert (by_hash.signature.kind, by_hash.signature.owner) == (SignatureKind.ETH_SIGN, gov.owners[0].address)
    assert (by_typed.signature.kind, by_typed.signature.owner) == (SignatureKind.EIP712, gov.owners[2].address)
    assert by_typed.proposal.state is ProposalState.EXECUTED and image_allowed(gov, 1)


def test_approve_hash_counts_only_once_it_is_on_chain(gov):
    p = propose_image(gov, 1)
    owner = gov.owners[1]

    assert refused(gov, p.id, b"", claimed_owner=owner.address) == (
        f"{owner.address} has not called approveHash for this safeTxHash on chain"
    )
    stranger = dev_account(STRANGER).address
    assert refused(gov, p.id, b"", claimed_owner=stranger) == f"{stranger} is not an owner of Safe {gov.safe}"

    v1 = bytes(12) + bytes.fromhex(owner.address[2:]) + bytes(32) + b"\x01"
    assert refused(gov, p.id, v1) == f"{owner.address} has not called approveHash for this safeTxHash on chain"

    gov.approve_hash(owner, p.safe_tx_hash)
    result = gov.svc.add_signature(p.id, b"", source="test", actor="test", claimed_owner=owner.address)

    assert result.signature.kind is SignatureKind.APPROVED_HASH
    assert result.signature.signature == v1
    assert sign(gov, p.id, 0).proposal.state is ProposalState.EXECUTED and image_allowed(gov, 1)


def test_a_nested_safe_owner_signs_through_eip1271_and_the_proposal_executes(w3, eth_client, safe_infra, tmp_path):
    inner_owner = dev_account(3)
    nested = create_safe(eth_client, dev_account(0), safe_infra, [inner_owner.address], 1)
    gov = build_governance(w3, eth_client, safe_infra, tmp_path, owners=2, threshold=2, extra_owners=[nested])
    p = propose_image(gov, 1)
    sign(gov, p.id, 0)

    outer_preimage = safe_tx_hashes(p.safe_tx).preimage
    inner_hash = Safe(nested, eth_client).get_message_hash(outer_preimage)  # type: ignore[abstract]
    inner_signature = bytes(inner_owner.unsafe_sign_hash(inner_hash).signature)

    stranger_signature = bytes(dev_account(STRANGER).unsafe_sign_hash(inner_hash).signature)
    assert refused(gov, p.id, stranger_signature, claimed_owner=nested) == (
        f"contract owner {nested} does not accept this signature (EIP-1271 check failed)"
    )
    result = gov.svc.add_signature(p.id, inner_signature, source="nested", actor="test", claimed_owner=nested)

    assert result.signature.kind is SignatureKind.CONTRACT and result.signature.owner == nested
    assert result.proposal.state is ProposalState.EXECUTED
    assert image_allowed(gov, 1) and safe_nonce(w3, gov.safe) == 1
