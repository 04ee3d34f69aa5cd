"""Compose review on anvil: a compose hash proposed with its app-compose.json is checked, stored and shown."""

from __future__ import annotations

import pytest

from proposals.catalogue import Risk, get_action
from proposals.errors import InvalidInput
from proposals.planning import ChangeRequest, RequestedAction
from proposals.views import view_as_dict
from tests.helpers.composes import UNPINNED_SERVICES, app_compose, canonical, pretty, sha256_hex
from tests.helpers.governance import Governance
from tests.helpers.proposing import sign, word


def add_hash(gov: Governance, compose: bytes | None, compose_hash: str | None = None) -> ChangeRequest:
    """Return `app add-hash` on the governed app, with the compose file and/or a stated hash."""
    values = {} if compose_hash is None else {"composeHash": compose_hash}
    requested = RequestedAction(get_action("app add-hash"), values, gov.app_address, compose)
    return ChangeRequest("Release 2.3", (requested,))


def test_a_pinned_compose_alone_gives_the_hash_and_is_shown_low_risk(gov):
    compose = canonical(app_compose())
    proposal = gov.svc.propose(add_hash(gov, compose), proposer="test")
    assert proposal.actions[0].values["composeHash"] == sha256_hex(compose)
    view = gov.svc.view(proposal.id)
    (review,) = view.composes
    assert review.compose is not None and review.compose.raw == compose
    assert review.hash_form == "the file" and review.risk is Risk.MEDIUM  # its one allowed env is new
    assert [(s.name, s.unpinned) for s in review.compose.services] == [("web", ""), ("worker", "")]
    assert review.changes is None and review.base_note.startswith("unknown: the app allowed no compose hash")
    data = view_as_dict(view)["composes"][0]
    assert data["settings"] == {"runner": "docker-compose", "kms_enabled": True, "gateway_enabled": True,
                                "public_logs": False, "public_sysinfo": True, "local_key_provider_enabled": False,
                                "key_provider": "kms", "no_instance_id": False, "secure_time": True}  # fmt: skip
    assert data["allowedEnvs"] == ["DATABASE_URL"] and data["preLaunchScript"] is False
    assert data["hashOf"] == "the file" and data["changes"] is None and data["verified"] is True


def test_an_unpinned_image_makes_the_call_high_risk_and_says_the_hash_does_not_pin_it(gov):
    compose = canonical(app_compose(UNPINNED_SERVICES))
    view = gov.svc.view(gov.svc.propose(add_hash(gov, compose, sha256_hex(compose)), proposer="test").id)
    assert view.calls[0].risk is Risk.HIGH
    worker = [w for w in view.warnings if "service worker" in w]
    assert worker and "ghcr.io/acme/worker:2.4" in worker[0] and "the hash does not pin this code" in worker[0]
    assert any(w.startswith("high risk: Allow compose hash") for w in view.warnings)
    assert not any("service web" in w for w in view.warnings)


def test_a_stated_hash_that_matches_neither_form_is_refused_and_nothing_is_filed(gov):
    compose = pretty(app_compose())
    with pytest.raises(InvalidInput) as refused:
        gov.svc.propose(add_hash(gov, compose, word(7)), proposer="test")
    message = refused.value.message
    assert "matches neither the file's sha256" in message and sha256_hex(compose) in message
    assert "\n" not in message
    assert gov.store.list_proposals() == [] and gov.store.compose_by_hash(bytes.fromhex(word(7)[2:])) is None


def test_a_file_not_in_canonical_form_stands_for_its_own_sha256_and_its_canonical_hash_is_accepted(gov):
    document = app_compose()
    compose = pretty(document)
    alone = gov.svc.plan(add_hash(gov, compose))
    assert "0x" + alone.actions[0].values["composeHash"].hex() == sha256_hex(compose)
    canonical_hash = sha256_hex(canonical(document))
    proposal = gov.svc.propose(add_hash(gov, compose, canonical_hash), proposer="test")
    review = gov.svc.view(proposal.id).composes[0]
    assert "0x" + review.compose_hash.hex() == canonical_hash
    assert review.hash_form == "the file's canonical form (dstack SDK)"


def test_the_next_proposal_is_diffed_against_the_compose_of_the_hash_allowed_now(gov):
    first = canonical(app_compose())
    filed = gov.svc.propose(add_hash(gov, first), proposer="test")
    sign(gov, filed.id, 0, 1)
    assert gov.store.get(filed.id).state.value == "executed"
    second = canonical(app_compose(UNPINNED_SERVICES, public_logs=True, allowed_envs=["DATABASE_URL", "ADMIN_TOKEN"]))
    view = gov.svc.view(gov.svc.propose(add_hash(gov, second), proposer="test").id)
    (review,) = view.composes
    assert review.base_hash == bytes.fromhex(sha256_hex(first)[2:])
    assert review.changes == (
        "public_logs: false → true",
        "allowed_envs added: ADMIN_TOKEN",
        f"service worker: image {app_compose()['docker_compose_file'].split('image: ')[2].split()[0]} "
        "→ ghcr.io/acme/worker:2.4",
    )
    assert review.risk is Risk.HIGH
    assert any("new allowed_envs ADMIN_TOKEN" in w for w in view.warnings)
    assert not any("new allowed_envs DATABASE_URL" in w for w in view.warnings)


def test_the_diff_is_unknown_when_dstack_gov_never_saw_the_allowed_compose(gov):
    plain = gov.svc.propose(add_hash(gov, None, word(5)), proposer="test")
    sign(gov, plain.id, 0, 1)
    view = gov.svc.view(gov.svc.propose(add_hash(gov, canonical(app_compose())), proposer="test").id)
    (review,) = view.composes
    assert review.base_hash == bytes.fromhex(word(5)[2:]) and review.changes is None
    unseen = f"unknown: dstack-gov has not seen the app-compose.json of {word(5)}, the hash allowed now"
    assert review.base_note == unseen
    assert view_as_dict(view)["composes"][0]["changes"] is None


def test_a_compose_on_an_action_without_a_compose_hash_is_refused(gov):
    requested = RequestedAction(get_action("kms add-image"), {"osImageHash": word(1)}, None, canonical(app_compose()))
    with pytest.raises(InvalidInput, match=r"kms-add-image: takes no app-compose\.json"):
        gov.svc.propose(ChangeRequest("Image", (requested,)), proposer="test")
    assert gov.store.list_proposals() == []
