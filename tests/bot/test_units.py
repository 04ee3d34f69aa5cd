"""Bot units with no chain and no Telegram: callback codec, markup, grammar, rendering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from web3 import Web3

from bot.actors import TelegramActor, parse_actor
from bot.callbacks import MAX_CALLBACK_BYTES, Button, Verb, decode, encode
from bot.commands import SignArgs, parse_args
from bot.grammar import catalogue_help, parse_propose, parse_propose_command, usage
from bot.handlers.errors import error_text
from bot.jobs import needs_reminder
from bot.markup import MAX_MESSAGE, esc, fits, split_lines, visible_length
from bot.render import (
    announcement_keyboard,
    announcement_text,
    details_text,
    mismatch_text,
    outcome_text,
    reminder_text,
)
from bot.settings import BotSettings, Roles, file_url_for
from bot.snapshot import Snapshot
from bot.store import Link
from proposals.catalogue import CATALOGUE, get_action
from proposals.decode import Known
from proposals.errors import ActionsMismatch, InvalidInput, Unavailable
from proposals.models import ActionCall, Proposal, ProposalKind, ProposalState, SignatureKind, StoredSignature
from proposals.safe_tx import DELEGATECALL, SafeState, batch_call, new_safe_tx_data, safe_tx_hashes
from proposals.views import build_view

KMS = Web3.to_checksum_address("0x" + "11" * 20)
SAFE = Web3.to_checksum_address("0x" + "22" * 20)
APP = Web3.to_checksum_address("0x" + "33" * 20)
MULTI_SEND = Web3.to_checksum_address("0x" + "44" * 20)
OWNERS = tuple(Web3.to_checksum_address("0x" + f"{i:02x}" * 20) for i in (0xA1, 0xA2, 0xA3))
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def snapshot(
    *,
    title: str = "Allow image",
    description: str = "",
    proposer: str = "telegram:1001:Paula",
    state: ProposalState = ProposalState.PENDING,
    to: str = KMS,
    data: bytes | None = None,
    operation: int = 0,
    signed: tuple[str, ...] = (),
    links: dict[str, Link] | None = None,
    actions: tuple[ActionCall, ...] = (ActionCall("kms-add-image", KMS, {"osImageHash": "0x" + "aa" * 32}),),
    **fields: object,
) -> Snapshot:
    """Return a snapshot of a proposal to add an OS image, built without a chain."""
    safe_state = SafeState(SAFE, "1.4.1", 1337, 3, OWNERS, 2)
    calldata = data if data is not None else get_action("kms-add-image").encode({"osImageHash": b"\xaa" * 32})
    tx = new_safe_tx_data(safe_state, Web3.to_checksum_address(to), calldata, operation, 3)
    proposal = Proposal(
        id=7, kind=ProposalKind.CHANGE, state=state, title=title, description=description, proposer=proposer,
        safe_tx=tx, safe_tx_hash=safe_tx_hashes(tx).safe_tx_hash,
        actions=actions, created_at=NOW, updated_at=NOW, expires_at=NOW + timedelta(days=7), **fields,  # type: ignore[arg-type]
    )  # fmt: skip
    stored = [StoredSignature(i, 7, owner, SignatureKind.EIP712, b"\x00" * 65, "test", NOW)
              for i, owner in enumerate(signed)]  # fmt: skip
    view = build_view(proposal, stored, safe_state, Known(KMS, (MULTI_SEND,)))
    return Snapshot(view, (), (), links or {})


# -- callbacks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", list(Verb))
def test_callback_codec_round_trips_under_64_bytes(verb):
    button = Button(verb, 10**17)
    data = encode(button)
    assert decode(data) == button and len(data.encode()) <= MAX_CALLBACK_BYTES


@pytest.mark.parametrize("stale", ["", "cancel:7", "g0:t:7", "g1:x:7", "g1:t:0", "g1:t:-1", "g1:t:7:extra", None])
def test_stale_or_foreign_callback_data_decodes_to_none(stale):
    assert decode(stale) is None


# -- markup ---------------------------------------------------------------------------------------


def test_escaping_and_lengths():
    assert esc("<b>&") == "&lt;b&gt;&amp;"
    assert visible_length("<b>a&amp;b</b>") == 3
    assert fits("x" * MAX_MESSAGE) and not fits("x" * (MAX_MESSAGE + 1))
    assert not fits("😀" * 2049)  # UTF-16: two units each


def test_split_lines_keeps_lines_whole_or_gives_up():
    parts = split_lines("\n".join(["<b>line</b>"] * 1000), limit=200)
    assert parts is not None and all(len(p) <= 200 for p in parts)
    assert sum(p.count("<b>line</b>") for p in parts) == 1000
    assert split_lines("y" * 300, limit=200) is None


# -- roles, actors, settings ----------------------------------------------------------------------


def test_roles_and_actors():
    roles = Roles(proposers=frozenset({1}), admins=frozenset({2}))
    assert roles.may_propose(1) and roles.may_propose(2) and not roles.may_propose(3)
    assert roles.is_admin(2) and not roles.is_admin(1)
    actor = TelegramActor(42, "Ann: the admin")
    assert parse_actor(str(actor)) == actor and parse_actor("cli:someone") is None and actor.source == "telegram:42"


def test_public_api():
    import bot

    assert sorted(bot.__all__) == ["BotRuntime", "BotSettings", "Roles", "build_application", "run_until_signalled"]


def test_settings_hide_the_token_and_derive_the_file_url():
    settings = BotSettings(token="123:SECRET", chats={SAFE: -1}, base_url="http://localhost:8081/bot")
    assert "SECRET" not in repr(settings)
    assert settings.base_file_url == "http://localhost:8081/file/bot" == file_url_for("http://localhost:8081/bot/")
    assert settings.chat_for(SAFE.lower()) == -1 and settings.safes_in(-1) == (SAFE,)


# -- grammar and commands -------------------------------------------------------------------------


def test_propose_grammar_app_action_with_title_and_description():
    request = parse_propose(f"/propose app-add-hash {APP} 0x{'b2' * 32}\nRelease 1.2\nWhy:\nbecause")
    (action,) = request.actions
    assert action.action.name == "app-add-hash" and action.target == APP
    assert action.values == {"composeHash": "0x" + "b2" * 32}
    assert (request.title, request.description) == ("Release 1.2", "Why:\nbecause")


def test_propose_grammar_defaults_the_title_and_takes_named_optionals():
    request = parse_propose(f"/propose@dstack_gov_bot kms-create-app allowAnyDevice=true initialOwner={APP}")
    assert request.actions[0].values == {"allowAnyDevice": "true", "initialOwner": APP}
    assert request.title


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/propose", "which action?"),
        ("/propose app-add-hsh 0x1 0x2", "did you mean app-add-hash"),
        ("/propose app-add-hash", "which app?"),
        (f"/propose app-add-hash {APP}", "missing composeHash"),
        (f"/propose app-add-hash {APP} 0x12", "composeHash: expected 32 bytes"),
        (f"/propose app-add-hash {APP} 0x{'b2' * 32} extra", "too many values"),
        ("/propose kms-add-image 0x" + "aa" * 32 + " nope=1", "unknown parameter 'nope'"),
    ],
)
def test_propose_grammar_explains_mistakes(text, expected):
    with pytest.raises(InvalidInput) as caught:
        parse_propose(text)
    assert expected in caught.value.message


def test_propose_grammar_takes_force_anywhere_on_the_first_line():
    command = parse_propose_command(f"/propose --force kms-add-image 0x{'aa' * 32}\nAgain")
    assert command.force is True and command.request.title == "Again"
    assert command.request.actions[0].values == {"osImageHash": "0x" + "aa" * 32}
    assert parse_propose_command(f"/propose kms-add-image 0x{'aa' * 32}").force is False
    assert usage(get_action("kms-add-image")).endswith("[--force]")


def test_usage_and_help_cover_the_whole_catalogue():
    listing = catalogue_help()
    for action in CATALOGUE:
        assert action.name in listing and usage(action).startswith(f"/propose {action.name}")
    assert usage(get_action("app-add-hash")) == "/propose app-add-hash <app> <composeHash> [--force]"


def test_command_arguments_are_typed():
    args = parse_args(SignArgs, "sign", ["17", "0xabc"])
    assert (args.proposal_id, args.signature, args.owner) == (17, "0xabc", None)
    for bad, message in ((["x", "0x1"], "proposal id invalid"), (["17"], "signature missing"),
                         (["1", "2", "3", "4"], "too many arguments")):  # fmt: skip
        with pytest.raises(InvalidInput, match=message):
            parse_args(SignArgs, "sign", bad)


# -- rendering ------------------------------------------------------------------------------------


def test_announcement_escapes_user_text_and_mentions_linked_owners():
    link = Link(OWNERS[1], 555, "Bob <b>", NOW)
    snap = snapshot(title="<script>&", description="a < b", signed=(OWNERS[0],), links={OWNERS[1].lower(): link})
    text = announcement_text(snap)
    assert "<b>&lt;script&gt;&amp;</b>" in text and "<i>a &lt; b</i>" in text
    assert 'href="tg://user?id=555">Bob &lt;b&gt;</a>' in text
    assert "Signatures 1/2" in text and "nonce 3" in text and "Expires 2026-12-07 12:00 UTC" in text
    assert "0x" + snap.view.hashes.domain_hash.hex() in text


def test_a_5000_character_description_still_fits_one_message():
    snap = snapshot(description="word " * 1000)
    text = announcement_text(snap)
    assert fits(text) and "Shortened" not in text and "…" in text
    assert ("word " * 1000).strip() in details_text(snap).replace("<i>", "").replace("</i>", "")


def test_a_huge_batch_is_shortened_to_fit():
    add_image = get_action("kms-add-image")
    to, data, operation = batch_call([(KMS, add_image.encode({"osImageHash": bytes([i]) * 32})) for i in range(50)],
                                     MULTI_SEND)  # fmt: skip
    stored = tuple(ActionCall("kms-add-image", KMS, {"osImageHash": "0x" + f"{i:02x}" * 32}) for i in range(50))
    snap = snapshot(description="d" * 20_000, to=to, data=data, operation=operation, actions=stored)
    assert len(snap.view.calls) == 50 and not snap.view.warnings
    text = announcement_text(snap)
    assert fits(text) and "Shortened to fit" in text and "more (tap Details)" in text


def test_a_batch_delegatecalled_to_anything_but_multisend_is_never_rendered():
    image = get_action("kms-add-image")
    stored = tuple(ActionCall("kms-add-image", KMS, {"osImageHash": "0x" + f"{i:02x}" * 32}) for i in (1, 2))
    _, data, _ = batch_call([(KMS, image.encode({"osImageHash": bytes([i]) * 32})) for i in (1, 2)], APP)
    with pytest.raises(ActionsMismatch, match="need a DELEGATECALL to the configured MultiSendCallOnly"):
        snapshot(to=APP, data=data, operation=DELEGATECALL, actions=stored)


def test_keyboards_follow_the_state():
    pending = announcement_keyboard(snapshot().view)
    labels = [b.text for row in pending.inline_keyboard for b in row]
    assert labels == ["📄 Typed data", "🔎 Details", "✖️ Cancel"]
    executed = announcement_keyboard(snapshot(state=ProposalState.EXECUTED).view)
    assert [b.text for row in executed.inline_keyboard for b in row] == ["🔎 Details"]
    from dataclasses import replace

    signing = replace(snapshot().view, proposal=snapshot().view.proposal)
    from bot.render import RenderOptions

    with_page = announcement_keyboard(signing, RenderOptions(signing_url="https://sign.test/p/{id}"))
    assert with_page.inline_keyboard[0][0].url == "https://sign.test/p/7"


def test_outcomes_and_reminders():
    executed = snapshot(state=ProposalState.EXECUTED, execution_tx_hash=b"\x99" * 32).view.proposal
    from bot.render import RenderOptions

    text = outcome_text(executed, RenderOptions(explorer_tx_url="https://x.test/tx/{hash}"))
    assert text is not None and 'href="https://x.test/tx/0x' + "99" * 32 + '"' in text
    failed = snapshot(state=ProposalState.FAILED, failure_reason="GS013: <inner>").view.proposal
    assert "GS013: &lt;inner&gt;" in (outcome_text(failed) or "")
    reminder = reminder_text(snapshot(signed=(OWNERS[0],)))
    assert OWNERS[0] not in reminder and OWNERS[1] in reminder and OWNERS[2] in reminder


def test_an_executing_proposal_says_why_it_is_still_executing():
    waiting = snapshot(state=ProposalState.EXECUTING, failure_reason="sent; outcome unknown: RPC <unreachable>")
    assert "Status: sent; outcome unknown: RPC &lt;unreachable&gt;" in announcement_text(waiting)
    assert "Status: sent; outcome unknown" in details_text(waiting)
    assert "Status:" not in announcement_text(snapshot(state=ProposalState.EXECUTING))
    failed = snapshot(state=ProposalState.FAILED, failure_reason="GS013")
    assert "Reason: GS013" in announcement_text(failed) and "Status:" not in announcement_text(failed)


def test_a_reminder_is_due_below_quorum_until_the_clock_reaches_the_expiry():
    waiting = snapshot(signed=(OWNERS[0],))
    expires = waiting.view.proposal.expires_at
    assert expires is not None
    assert needs_reminder(waiting, NOW) and needs_reminder(waiting, expires - timedelta(seconds=1))
    assert not needs_reminder(waiting, expires)  # due for expiry instead, whatever the wall clock says
    assert not needs_reminder(snapshot(signed=OWNERS[:2]), NOW)
    assert not needs_reminder(snapshot(state=ProposalState.EXECUTED), NOW)


def test_a_proposal_whose_actions_disagree_gets_a_notice_without_actions():
    text = mismatch_text(7)
    assert "#7" in text and "do not match its calldata" in text and "kms-add-image" not in text


def test_a_busy_database_gets_a_polite_reply_naming_it():
    busy = Unavailable("the database /srv/gov.sqlite is busy (locked by another process); try again shortly",
                       retry_after=5)  # fmt: skip
    assert error_text(busy) == (
        "Sorry, the database /srv/gov.sqlite is busy (locked by another process); try again shortly (in a few seconds)."
    )
    assert error_text(Unavailable("the database x is unavailable: disk I/O error")) == (
        "the database x is unavailable: disk I/O error"
    )
