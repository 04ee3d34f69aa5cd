"""Telegram realities through the real PTB client and the fake Bot API: 429, 5xx, network errors, limits."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import BadRequest, NetworkError

from bot.outbox import Edit, Outbox
from tests.helpers.fake_telegram import FakeTelegram

CHAT = -100555
# PTB itself warns when it builds a RetryAfter (its int -> timedelta migration); nothing to act on here.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
async def outbox(telegram: FakeTelegram) -> AsyncIterator[Outbox]:
    """An outbox on a real PTB Bot pointed at the fake (tiny backoffs keep the tests fast)."""
    bot = Bot(telegram.token, base_url=telegram.base_url, base_file_url=telegram.base_file_url)
    async with bot:
        yield Outbox(bot, first_backoff=0.01)


def statuses(telegram: FakeTelegram, method: str) -> list[int]:
    return [c.status for c in telegram.calls(method)]


async def test_429_waits_for_retry_after_then_sends(telegram, outbox):
    telegram.fail("sendMessage", 429, retry_after=1)
    started = time.monotonic()
    message = await outbox.send(CHAT, "<b>hello</b>")
    assert time.monotonic() - started >= 1.0
    assert statuses(telegram, "sendMessage") == [429, 200]
    assert telegram.message(CHAT, message.message_id).text == "<b>hello</b>"


async def test_flood_control_pauses_every_sender(telegram, outbox):
    telegram.fail("sendMessage", 429, retry_after=1)
    await outbox.send(CHAT, "first")
    started = time.monotonic()
    await outbox.send(CHAT, "second")  # the deadline has passed: no extra wait
    assert time.monotonic() - started < 0.5


async def test_server_errors_are_retried(telegram, outbox):
    telegram.fail("sendMessage", 500, times=2)
    await outbox.send(CHAT, "after two 500s")
    assert statuses(telegram, "sendMessage") == [500, 500, 200]


async def test_persistent_server_errors_give_up_after_the_attempts(telegram, outbox):
    telegram.fail("sendMessage", 502, times=10)
    with pytest.raises(NetworkError):
        await outbox.send(CHAT, "never")
    assert statuses(telegram, "sendMessage") == [502] * outbox.network_attempts


async def test_network_errors_are_retried_then_raised():
    bot = Bot("1:unreachable", base_url="http://127.0.0.1:9/bot")
    outbox = Outbox(bot, network_attempts=3, first_backoff=0.01)
    with pytest.raises(NetworkError):
        await outbox.send(CHAT, "nobody listens")


async def test_bad_requests_are_not_retried(telegram, outbox):
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await outbox.send(CHAT, "<script>unescaped</script>")
    assert statuses(telegram, "sendMessage") == [400]


async def test_an_edit_that_changes_nothing_is_fine(telegram, outbox):
    message = await outbox.send(CHAT, "same")
    assert await outbox.edit(CHAT, message.message_id, "same", None) is Edit.UNCHANGED
    assert await outbox.edit(CHAT, message.message_id, "changed", None) is Edit.EDITED
    assert await outbox.edit(CHAT, 999_999, "gone", None) is Edit.GONE


async def test_long_replies_split_on_lines_or_become_a_file(telegram, outbox):
    lines = "\n".join(f"<b>line {i}</b> " + "x" * 80 for i in range(100))  # ~9.5k characters
    await outbox.send_long(CHAT, lines, filename="long.txt", summary="as a file")
    sent = telegram.bot_messages(CHAT)
    assert len(sent) == 3 and all(m.document is None for m in sent)
    await outbox.send_long(CHAT, "y" * 5000, filename="one-line.txt", summary="<b>as a file</b>")
    document = telegram.bot_messages(CHAT)[-1]
    assert document.document == ("one-line.txt", b"y" * 5000) and document.caption == "<b>as a file</b>"
