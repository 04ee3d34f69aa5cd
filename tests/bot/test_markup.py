"""Telegram's limits and mentions come from python-telegram-bot, not from copies of its numbers."""

from __future__ import annotations

from telegram.constants import CallbackQueryLimit, InlineKeyboardButtonLimit, MessageLimit

from bot.callbacks import MAX_CALLBACK_BYTES
from bot.markup import MAX_CALLBACK_ANSWER, MAX_CAPTION, MAX_MESSAGE, mention


def test_the_limits_are_the_libraries():
    assert (MAX_MESSAGE, MAX_CAPTION, MAX_CALLBACK_ANSWER, MAX_CALLBACK_BYTES) == (
        MessageLimit.MAX_TEXT_LENGTH,
        MessageLimit.CAPTION_LENGTH,
        CallbackQueryLimit.ANSWER_CALLBACK_QUERY_TEXT_LENGTH,
        InlineKeyboardButtonLimit.MAX_CALLBACK_DATA,
    )
    assert type(MAX_MESSAGE) is int  # plain numbers in messages ("at most 4096"), not enum names


def test_a_mention_links_the_user_id_and_escapes_the_name():
    escaped = "&lt;b&gt;&quot;Eve&quot; &amp; co&lt;/b&gt;"
    assert mention(42, '<b>"Eve" & co</b>') == f'<a href="tg://user?id=42">{escaped}</a>'
    assert mention(42, "") == '<a href="tg://user?id=42">42</a>'
