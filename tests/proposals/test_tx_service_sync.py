"""Safe Transaction Service sync against the stand-in service, a real anvil chain and real Safes."""

from __future__ import annotations

from datetime import timedelta

from eth_account import Account

from proposals.catalogue import Risk
from proposals.models import ProposalKind, ProposalState, SignatureKind
from proposals.safe_tx import safe_tx_hashes, typed_data
from proposals.tx_outbox import OutboxStatus
from tests.helpers.chain import dev_account
from tests.helpers.fake_tx_service import FakeTxService
from tests.helpers.governance import Governance
from tests.helpers.proposing import add_image_data, propose_image, sign, word
from tests.helpers.safe_wallet import synced_service, wallet_confirm, wallet_propose, wallet_tx


def test_the_first_signature_posts_the_transaction_and_later_ones_confirm(gov: Governance, fake: FakeTxService):
    svc = synced_service(gov, fake)
    proposal = propose_image(gov, 1, svc=svc)
    svc.sync_tx_service()
    assert fake.txs == {}  # nothing to post before an owner signs: the service needs their signature

    sign(gov, proposal.id, 0, svc=svc)
    report = svc.sync_tx_service()
    assert report.posted == [(proposal.id, gov.owners[0].address, "transaction")]
    posted = fake.txs[proposal.safe_tx_hash]
    assert posted.proposer == gov.owners[0].address and posted.origin == "dstack-gov"
    assert list(fake.confirmations(proposal.safe_tx_hash)) == [gov.owners[0].address]

    sign(gov, proposal.id, 1, svc=svc)
    report = svc.sync_tx_service()
    assert report.posted == [(proposal.id, gov.owners[1].address, "confirmation")]
    assert set(fake.confirmations(proposal.safe_tx_hash)) == {gov.owners[0].address, gov.owners[1].address}
    # Nothing is posted twice, and the service's copies are not taken back as new signatures.
    again = svc.sync_tx_service()
    assert (again.posted, again.confirmations, again.imported) == ([], [], [])
    assert [e.event for e in gov.store.audit(proposal_id=proposal.id)].count("tx-service-posted") == 2


def test_a_confirmation_made_in_safe_wallet_is_counted_and_executes(gov: Governance, fake: FakeTxService):
    svc = synced_service(gov, fake, with_executor=True)
    proposal = propose_image(gov, 2, svc=svc)
    sign(gov, proposal.id, 0, svc=svc)
    svc.sync_tx_service()

    wallet_confirm(gov, fake, gov.owners[2], proposal.safe_tx)
    report = svc.sync_tx_service()

    assert report.confirmations == [(proposal.id, gov.owners[2].address)]
    stored = {s.owner: s for s in gov.store.signatures(proposal.id)}
    assert stored[gov.owners[2].address].source == "safe-wallet"
    assert stored[gov.owners[2].address].kind is SignatureKind.EIP712
    assert gov.store.get(proposal.id).state is ProposalState.EXECUTED
    assert gov.kms.functions.allowedOsImages(bytes.fromhex(word(2)[2:])).call()


def test_a_safe_wallet_transaction_is_imported_decoded_and_executes_on_quorum(gov: Governance, fake: FakeTxService):
    svc = synced_service(gov, fake, with_executor=True)
    tx = wallet_tx(gov, gov.kms_address, add_image_data(3))
    safe_tx_hash = wallet_propose(gov, fake, gov.owners[1], tx)

    report = svc.sync_tx_service()

    (pid,) = report.imported
    imported = gov.store.get(pid)
    assert imported.safe_tx_hash == safe_tx_hash and imported.proposer == f"safe-wallet:{gov.owners[1].address}"
    assert [(a.action, a.target) for a in imported.actions] == [("kms-add-image", gov.kms_address)]
    view = svc.view(pid)
    assert [c.action for c in view.calls] == ["kms-add-image"] and view.valid_count == 1
    assert any("not through dstack-gov" in w for w in imported.planned.warnings)  # type: ignore[union-attr]
    assert svc.sync_tx_service().imported == []  # imported once

    sign(gov, pid, 0, svc=svc)
    assert gov.store.get(pid).state is ProposalState.EXECUTED
    assert gov.kms.functions.allowedOsImages(bytes.fromhex(word(3)[2:])).call()


def test_an_unknown_call_is_imported_undecoded_and_high_risk(gov: Governance, fake: FakeTxService):
    svc = synced_service(gov, fake)
    stranger = dev_account(8).address
    mystery = bytes.fromhex("deadbeef") + bytes(32)
    batch = gov.infra.multi_send_call_only
    from proposals.safe_tx import multi_send_data

    data = multi_send_data([(gov.kms_address, 0, add_image_data(4), 0), (stranger, 5, mystery, 0)])
    tx = wallet_tx(gov, batch, data, operation=1)
    wallet_propose(gov, fake, gov.owners[0], tx)

    (pid,) = svc.sync_tx_service().imported
    view = svc.view(pid)
    assert [c.action for c in view.calls] == ["kms-add-image", None]
    assert view.calls[1].risk is Risk.HIGH
    assert (
        view.calls[1].description
        == f"Undecoded call to {stranger} (selector 0xdeadbeef, 36 bytes of calldata) sending 5 wei"
    )
    assert any(w.startswith("high risk: Undecoded call") for w in view.warnings)
    assert svc.typed_data(pid) == typed_data(tx)  # it can be signed: what is shown is the calldata


def test_the_service_down_then_back_loses_nothing(gov: Governance, fake: FakeTxService):
    svc = synced_service(gov, fake)
    proposal = propose_image(gov, 5, svc=svc)
    fake.stop()
    assert sign(gov, proposal.id, 0, svc=svc).valid_count == 1  # signing does not wait for the service
    down = svc.sync_tx_service()
    assert down.posted == [] and down.pending_posts == 1 and down.errors
    (entry,) = gov.store.tx_service_entries(statuses=[OutboxStatus.PENDING])
    assert entry.attempts >= 1 and "did not answer" in (entry.last_error or "")

    fake.start()
    fake.outage = True  # back, but answering 503
    gov.clock.now += timedelta(seconds=11)
    sign(gov, proposal.id, 1, svc=svc)
    assert svc.sync_tx_service().posted == []
    fake.outage = False
    assert svc.sync_tx_service().posted == []  # not due yet: backoff
    gov.clock.now += timedelta(minutes=5)
    report = svc.sync_tx_service()
    assert sorted(report.posted) == sorted([(proposal.id, gov.owners[0].address, "transaction"),
                                            (proposal.id, gov.owners[1].address, "confirmation")])  # fmt: skip
    assert report.pending_posts == 0
    assert set(fake.confirmations(proposal.safe_tx_hash)) == {gov.owners[0].address, gov.owners[1].address}


def test_a_forged_confirmation_from_the_service_is_refused_and_audited_once(gov: Governance, fake: FakeTxService):
    svc = synced_service(gov, fake, with_executor=True)
    proposal = propose_image(gov, 6, svc=svc)
    sign(gov, proposal.id, 0, svc=svc)
    svc.sync_tx_service()
    mallory = Account.create()
    forged = bytes(mallory.sign_typed_data(full_message=typed_data(proposal.safe_tx)).signature)
    fake.inject_confirmation(proposal.safe_tx_hash, gov.owners[1].address, forged, "EOA")

    first = svc.sync_tx_service()
    second = svc.sync_tx_service()

    assert len(first.refused) == 1 and second.refused == []
    assert [s.owner for s in gov.store.signatures(proposal.id)] == [gov.owners[0].address]
    assert gov.store.get(proposal.id).state is ProposalState.PENDING
    refusals = [e for e in gov.store.audit(proposal_id=proposal.id) if e.event == "signature-refused"]
    assert len(refusals) == 1 and refusals[0].detail["source"] == "safe-wallet"


def test_a_competing_transaction_at_our_nonce_is_shown_beside_ours(gov: Governance, fake: FakeTxService):
    svc = synced_service(gov, fake)
    ours = propose_image(gov, 7, svc=svc)
    theirs_tx = wallet_tx(gov, gov.kms_address, add_image_data(8), nonce=ours.nonce)
    wallet_propose(gov, fake, gov.owners[2], theirs_tx)

    report = svc.sync_tx_service()

    (theirs,) = report.imported
    assert report.competing == [(ours.id, theirs)]
    for pid, other in ((ours.id, theirs), (theirs, ours.id)):
        view = svc.view(pid)
        assert view.competing == (other,) and view.proposal.state is ProposalState.PENDING
        assert any(w.startswith(f"competing: #{other} also use(s) nonce {ours.nonce}") for w in view.warnings)
    assert svc.sync_tx_service().competing == []  # flagged once
    assert [e.event for e in gov.store.audit(proposal_id=ours.id)].count("competing-proposal") == 1


def test_a_safe_wallet_rejection_cancels_ours_and_does_not_compete(gov: Governance, fake: FakeTxService):
    svc = synced_service(gov, fake)
    ours = propose_image(gov, 9, svc=svc)
    wallet_propose(gov, fake, gov.owners[0], wallet_tx(gov, gov.safe, b"", nonce=ours.nonce))

    report = svc.sync_tx_service()

    (rejection,) = report.imported
    assert gov.store.get(rejection).kind is ProposalKind.REJECTION and gov.store.get(rejection).rejects == ours.id
    assert report.competing == [] and svc.view(ours.id).competing == ()


def test_requests_per_pass_grow_with_pages_not_proposals(gov: Governance, fake: FakeTxService):
    svc = synced_service(gov, fake, page_size=20)
    base = svc.safe_state(gov.safe).nonce
    for n in range(45):
        wallet_propose(gov, fake, gov.owners[0], wallet_tx(gov, gov.kms_address, add_image_data(100 + n),
                                                           nonce=base + n))  # fmt: skip
    before = fake.count("GET")
    report = svc.sync_tx_service()
    assert len(report.imported) == 45 and fake.count("GET") - before == 3 == report.requests
    before = fake.count()
    svc.sync_tx_service()
    assert fake.count() - before == 3  # steady state: the pages, nothing posted


def test_the_service_hash_is_recomputed_and_a_mismatch_is_not_imported(gov: Governance, fake: FakeTxService):
    svc = synced_service(gov, fake)
    tx = wallet_tx(gov, gov.kms_address, add_image_data(10))
    real = wallet_propose(gov, fake, gov.owners[0], tx)
    lie = bytes(31) + b"\x01"
    fake.txs[lie] = fake.txs.pop(real)
    fake.txs[lie].safe_tx_hash = lie

    report = svc.sync_tx_service()

    assert report.imported == [] and "hash to 0x" + real.hex() in report.refused[0][1]
    assert safe_tx_hashes(tx).safe_tx_hash == real


def test_next_links_are_followed_on_the_configured_host_only(gov: Governance, fake: FakeTxService):
    svc = synced_service(gov, fake, page_size=1)
    base = svc.safe_state(gov.safe).nonce
    for n in range(3):
        wallet_propose(gov, fake, gov.owners[0], wallet_tx(gov, gov.kms_address, add_image_data(200 + n),
                                                           nonce=base + n))  # fmt: skip
    fake.next_base = "http://service.invalid:1"  # where the API key must never go

    report = svc.sync_tx_service()

    assert len(report.imported) == 3 and report.errors == [] and report.requests == 3


def test_the_safe_wallet_link_is_on_the_view_and_the_page_only_while_sync_is_on(gov: Governance, fake: FakeTxService):
    from dstack_gov.api.page_html import proposal_page
    from proposals.safe_wallet import SafeWalletLinks

    svc = synced_service(gov, fake, links=SafeWalletLinks("https://wallet.example/app/", "sep"))
    proposal = propose_image(gov, 11, svc=svc)
    link = (f"https://wallet.example/app/transactions/tx?safe=sep:{gov.safe}"
            f"&id=multisig_{gov.safe}_0x{proposal.safe_tx_hash.hex()}")  # fmt: skip
    view = svc.view(proposal.id)
    assert view.safe_wallet_url == link
    assert f'<a href="{link.replace("&", "&amp;")}" rel="noopener noreferrer">Open in Safe{{Wallet}}</a>' in (
        proposal_page(view)
    )
    unsynced = gov.service(with_executor=False).view(proposal.id)
    assert unsynced.safe_wallet_url is None and "Safe{Wallet}" not in proposal_page(unsynced)
    # A chain without a short name (a local devnet) gets no link unless one is configured.
    assert synced_service(gov, fake).view(proposal.id).safe_wallet_url is None
