"""Who may put a transaction on the Safe Transaction Service: the stand-in's rules, a registered
delegate posting at creation, and a nested-Safe owner's EIP-1271 signature both ways."""

from __future__ import annotations

import pytest
from eth_account import Account
from safe_eth.safe import Safe
from safe_eth.safe.safe_signature import SafeSignatureContract

from dstack_gov.safe_infra import create_safe
from proposals.models import ProposalState, SignatureKind
from proposals.safe_tx import safe_tx_hashes, typed_data
from proposals.tx_service import TxServiceError
from tests.helpers.chain import dev_account
from tests.helpers.governance import Governance, build_governance
from tests.helpers.proposing import add_image_data, propose_image, sign
from tests.helpers.safe_wallet import synced_service, tx_client, wallet_propose, wallet_tx


def image_tx(gov: Governance, n: int):
    return wallet_tx(gov, gov.kms_address, add_image_data(n))


def eip712(account, tx) -> bytes:
    return bytes(account.sign_typed_data(full_message=typed_data(tx)).signature)


def status_of(call) -> int | None:
    with pytest.raises(TxServiceError) as refused:
        call()
    return refused.value.status


def test_the_stand_in_refuses_what_the_service_refuses_and_keeps_repeated_confirmations(gov: Governance, fake):
    client = tx_client(gov, fake)
    tx = image_tx(gov, 1)
    h = safe_tx_hashes(tx).safe_tx_hash
    stranger = Account.create()
    one, two = gov.owners[0], gov.owners[1]
    assert status_of(lambda: client.propose(tx, h, stranger.address, eip712(stranger, tx))) == 422  # not an owner
    assert status_of(lambda: client.propose(tx, h, one.address, eip712(two, tx))) == 422  # sender did not sign
    assert status_of(lambda: client.propose(tx, bytes(32), one.address, eip712(one, tx))) == 422  # hash recomputed
    twice = eip712(one, tx) + eip712(one, tx)
    assert status_of(lambda: client.propose(tx, h, one.address, twice)) == 422  # one owner twice in one body
    assert status_of(lambda: client.confirm(h, eip712(two, tx))) == 404  # not there yet

    client.propose(tx, h, one.address, eip712(one, tx))
    client.propose(tx, h, one.address, eip712(one, tx))  # the same again: accepted (get-or-create)
    assert status_of(lambda: client.confirm(h, eip712(stranger, tx))) == 422
    client.confirm(h, eip712(two, tx))
    client.confirm(h, eip712(two, tx))  # already confirmed: kept, not refused
    assert set(fake.confirmations(h)) == {one.address, two.address}


def test_a_registered_delegate_posts_each_proposal_when_it_is_filed(gov: Governance, fake):
    delegate = Account.create()
    client = tx_client(gov, fake)
    message_hash = client.create_delegate_message_hash(delegate.address)
    approval = bytes(gov.owners[0].unsafe_sign_hash(message_hash).signature)
    client.add_delegate(delegate.address, gov.owners[0].address, "dstack-gov", approval, safe_address=gov.safe)
    svc = synced_service(gov, fake, delegate=delegate)

    proposal = propose_image(gov, 2, svc=svc)
    report = svc.sync_tx_service()

    assert report.posted == [(proposal.id, delegate.address, "transaction")]
    assert fake.txs[proposal.safe_tx_hash].proposer == delegate.address
    assert fake.confirmations(proposal.safe_tx_hash) == {}  # a delegate proposes; it never confirms
    sign(gov, proposal.id, 0, svc=svc)
    assert svc.sync_tx_service().posted == [(proposal.id, gov.owners[0].address, "confirmation")]


def test_an_unregistered_delegate_is_refused_and_the_first_owner_signature_posts_instead(gov: Governance, fake):
    svc = synced_service(gov, fake, delegate=Account.create())
    proposal = propose_image(gov, 3, svc=svc)
    assert svc.sync_tx_service().posted == []
    gov.clock.now = gov.clock.now.replace(year=gov.clock.now.year + 1)  # past any backoff
    sign(gov, proposal.id, 1, svc=svc)
    report = svc.sync_tx_service()
    assert (proposal.id, gov.owners[1].address, "transaction") in report.posted
    assert fake.txs[proposal.safe_tx_hash].proposer == gov.owners[1].address


def test_a_nested_safe_owner_signs_through_the_service_both_ways(w3, eth_client, safe_infra, tmp_path, fake):
    inner_owner = dev_account(3)
    nested = create_safe(eth_client, dev_account(0), safe_infra, [inner_owner.address], 1)
    gov = build_governance(w3, eth_client, safe_infra, tmp_path, owners=2, threshold=2, extra_owners=[nested])
    svc = synced_service(gov, fake, with_executor=True)

    def contract_signature(tx) -> bytes:
        hashes = safe_tx_hashes(tx)
        inner_hash = Safe(nested, eth_client).get_message_hash(hashes.preimage)  # type: ignore[abstract]
        inner = bytes(inner_owner.unsafe_sign_hash(inner_hash).signature)
        return bytes(SafeSignatureContract.from_values(nested, hashes.safe_tx_hash, hashes.preimage, inner)
                     .export_signature())  # fmt: skip

    # Here -> the service: the nested Safe signs first, so it is the sender of the transaction.
    ours = propose_image(gov, 4, svc=svc)
    svc.add_signature(ours.id, contract_signature(ours.safe_tx), source="test", actor="test")
    assert svc.sync_tx_service().posted == [(ours.id, nested, "transaction")]
    assert list(fake.confirmations(ours.safe_tx_hash)) == [nested]
    assert fake.txs[ours.safe_tx_hash].confirmations[nested.lower()][1] == "CONTRACT_SIGNATURE"

    # The service -> here: an owner proposes another transaction at nonce 0 in Safe{Wallet}, and the
    # nested Safe confirms it there: counted here, quorum, executed; ours is superseded.
    tx = image_tx(gov, 5)
    wallet_propose(gov, fake, gov.owners[0], tx)
    tx_client(gov, fake).confirm(safe_tx_hashes(tx).safe_tx_hash, contract_signature(tx))
    report = svc.sync_tx_service()
    (pid,) = report.imported
    kinds = {s.owner: s.kind for s in gov.store.signatures(pid)}
    assert kinds == {gov.owners[0].address: SignatureKind.EIP712, nested: SignatureKind.CONTRACT}
    assert gov.store.get(pid).state is ProposalState.EXECUTED
    svc.reconcile()
    assert gov.store.get(ours.id).state is ProposalState.SUPERSEDED
