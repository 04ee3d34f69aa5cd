"""Planning: prechecks, targets and their Safes, simulation, and the hashes owners check on their screens."""

from __future__ import annotations

import pytest
from eth_utils import keccak
from safe_eth.eth.contracts import get_safe_V1_4_1_contract

from contracts import AppSettings, TransactionSender, deploy_app
from dstack_gov.safe_infra import create_safe
from proposals.errors import ChainError, Conflict, InvalidInput
from proposals.models import ProposalState
from proposals.service import GovernanceService
from tests.helpers.chain import dev_account
from tests.helpers.governance import Governance
from tests.helpers.proposing import add_image, events, image_allowed, propose_image, request, sign, word

ZERO = "0x0000000000000000000000000000000000000000"


def refusal(gov: Governance, error: type[Exception], req, svc: GovernanceService | None = None, **kwargs) -> str:
    """Propose `req`, expect `error`, and check nothing was stored."""
    service = svc or gov.svc
    before = service.list_proposals()
    with pytest.raises(error) as caught:
        service.propose(req, proposer="test", **kwargs)
    assert service.list_proposals() == before
    return caught.value.message  # type: ignore[attr-defined]


def new_app(gov: Governance, owner: str) -> str:
    """Deploy an app owned by `owner` without registering it with the KMS."""
    return deploy_app(TransactionSender(gov.w3, dev_account(0)), gov.app_implementation, AppSettings(owner=owner)).proxy


def test_a_change_already_in_place_is_refused_unless_forced(gov):
    assert sign(gov, propose_image(gov, 1).id, 0, 1).proposal.state is ProposalState.EXECUTED
    message = f"kms-add-image: OS image {word(1)} is already allowed"

    assert refusal(gov, Conflict, add_image(word(1))) == f"{message} (force it to propose anyway)"
    forced = gov.svc.propose(add_image(word(1)), proposer="test", force=True)

    assert forced.state is ProposalState.PENDING and forced.nonce == 1
    assert events(gov, forced.id)[1].detail["warnings"] == [message]


def test_an_app_not_registered_with_the_kms_gets_a_warning(gov):
    app = new_app(gov, gov.safe)

    plan = gov.svc.plan(request("Hash", ("app add-hash", {"composeHash": word(7)}, app)))

    assert plan.warnings == (f"app-add-hash: app {app} is not registered with this KMS",)
    assert [a.target for a in plan.actions] == [app] and gov.svc.list_proposals() == []


def test_a_target_owned_by_an_account_is_refused_naming_the_owner(gov, kms_setup):
    eoa = dev_account(0).address
    message = refusal(
        gov, InvalidInput, request("t", ("kms add-image", {"osImageHash": word(1)}, kms_setup.kms_address))
    )
    assert message == (
        f"{kms_setup.kms_address} is owned by {eoa} (an account), which is not a Safe this project knows "
        "(add it to [[safes]] in the config, or use direct mode with its key)"
    )


def test_a_target_owned_by_an_unknown_safe_is_refused_naming_it(gov):
    other = create_safe(gov.client, dev_account(0), gov.infra, [dev_account(4).address], 1)
    app = new_app(gov, other)

    message = refusal(gov, InvalidInput, request("t", ("app add-hash", {"composeHash": word(1)}, app)))

    assert message == (
        f"{app} is owned by {other} (a contract), which is not a Safe this project knows "
        "(add it to [[safes]] in the config, or use direct mode with its key)"
    )


def test_actions_needing_different_safes_are_refused(gov):
    other = create_safe(gov.client, dev_account(0), gov.infra, [dev_account(4).address], 1)
    app = new_app(gov, other)
    svc = GovernanceService(
        client=gov.client, store=gov.store, safes=[gov.safe, other], kms=gov.kms_address, settings=gov.settings()
    )
    both = request(
        "t", ("kms add-image", {"osImageHash": word(1)}, None), ("app add-hash", {"composeHash": word(2)}, app)
    )

    message = refusal(gov, InvalidInput, both, svc=svc)

    assert message == f"the actions need different Safes ({', '.join(sorted([gov.safe, other]))}); split the proposal"
    alone = svc.propose(request("t", ("app add-hash", {"composeHash": word(2)}, app)), proposer="test")
    assert alone.safe == other and alone.nonce == 0


def test_a_proposal_that_would_revert_is_refused_with_the_decoded_reason(gov):
    req = request("Zero implementation", ("kms set-app-implementation", {"implementation": ZERO}, None))

    assert refusal(gov, ChainError, req) == "the proposal would revert: Invalid implementation address"
    assert gov.store.reserved_nonces(gov.safe) == set()


def test_malformed_requests_are_refused_before_the_chain_is_asked(gov):
    assert refusal(gov, InvalidInput, add_image(word(1), title="  ")) == "a proposal needs a title"
    assert refusal(gov, InvalidInput, request("t")) == "a proposal needs at least one action"
    assert refusal(gov, InvalidInput, request("t", ("app add-hash", {"composeHash": word(1)}, None))) == (
        "app-add-hash: which app? (give the app address)"
    )
    assert refusal(
        gov, InvalidInput, request("t", *[("kms add-image", {"osImageHash": word(i)}, None) for i in range(51)])
    ) == ("too many actions (51); at most 50 per proposal")


def test_safe_setting_prechecks(gov):
    stranger = dev_account(7).address
    assert refusal(gov, Conflict, request("t", ("safe change-threshold", {"threshold": "4"}, None))) == (
        "safe-change-threshold: threshold must be between 1 and 3 (force it to propose anyway)"
    )
    assert refusal(gov, Conflict, request("t", ("safe change-threshold", {"threshold": "2"}, None))) == (
        "safe-change-threshold: threshold is already 2 (force it to propose anyway)"
    )
    assert refusal(
        gov, Conflict, request("t", ("safe add-owner", {"owner": gov.owners[0].address, "threshold": "2"}, None))
    ) == (f"safe-add-owner: {gov.owners[0].address} is already an owner (force it to propose anyway)")
    assert refusal(
        gov, InvalidInput, request("t", ("safe remove-owner", {"owner": stranger, "threshold": "2"}, None))
    ) == (f"{stranger} is not an owner of this Safe")


def test_the_hashes_combine_into_the_safe_tx_hash_the_safe_computes(gov):
    plan = gov.svc.plan(add_image(word(1)))
    hashes, tx = plan.hashes, plan.tx
    safe = get_safe_V1_4_1_contract(gov.w3, gov.safe)

    assert keccak(b"\x19\x01" + hashes.domain_hash + hashes.message_hash) == hashes.safe_tx_hash
    assert hashes.domain_hash == bytes(safe.functions.domainSeparator().call())
    on_chain = safe.functions.getTransactionHash(
        tx.to,
        tx.value,
        tx.data,
        tx.operation,
        tx.safe_tx_gas,
        tx.base_gas,
        tx.gas_price,
        tx.gas_token,
        tx.refund_receiver,
        tx.nonce,
    ).call()
    assert bytes(on_chain) == hashes.safe_tx_hash
    assert keccak(hashes.preimage) == hashes.safe_tx_hash and hashes.preimage[:2] == b"\x19\x01"
    assert (plan.simulation.success, plan.simulation.reason) == (True, "") and plan.simulation.gas_used > 0
    assert not image_allowed(gov, 1)
