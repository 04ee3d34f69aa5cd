"""The announcement's Sign button: a Mini App in private chats, a link in groups (pure rendering, no chain)."""

from __future__ import annotations

from dataclasses import replace

from bot.announcer import render_options
from bot.render import RenderOptions, announcement_keyboard
from bot.settings import BotSettings
from proposals.models import ProposalState
from tests.bot.test_units import snapshot

PAGE = "https://gov.example/sign/{id}"
SAFE = snapshot().view.proposal.safe


def _settings(chat: int, mini_app: str | None = None) -> BotSettings:
    return BotSettings(token="1:x", chats={SAFE: chat}, signing_url=PAGE, mini_app=mini_app)  # type: ignore[dict-item]


def _sign(options: RenderOptions, state: ProposalState = ProposalState.PENDING) -> list[dict[str, object]]:
    keyboard = announcement_keyboard(snapshot(state=state).view, options)
    return [b.to_dict() for row in keyboard.inline_keyboard for b in row if "Sign" in b.text]


def test_group_gets_the_mini_app_direct_link_else_the_page():
    with_app = render_options(_settings(-100123, "sign"), SAFE, "gov_bot")
    assert _sign(with_app) == [{"text": "✍️ Sign", "url": "https://t.me/gov_bot/sign?startapp=7"}]
    without = render_options(_settings(-100123), SAFE, "gov_bot")
    assert _sign(without) == [{"text": "✍️ Sign", "url": "https://gov.example/sign/7"}]
    before_get_me = render_options(_settings(-100123, "sign"), SAFE, None)
    assert _sign(before_get_me) == [{"text": "✍️ Sign", "url": "https://gov.example/sign/7"}]


def test_private_chat_gets_a_web_app_button():
    options = render_options(_settings(555, "sign"), SAFE, "gov_bot")
    assert _sign(options) == [{"text": "✍️ Sign", "web_app": {"url": "https://gov.example/sign/7"}}]


def test_closed_proposals_and_no_public_url_get_no_sign_button():
    options = render_options(_settings(-100123, "sign"), SAFE, "gov_bot")
    assert _sign(options, ProposalState.EXECUTED) == []
    assert _sign(replace(options, signing_url=None)) == []
