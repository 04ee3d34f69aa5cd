"""A loopback fake of the Telegram Bot API: the real python-telegram-bot client talks HTTP to it.

It serves getMe, getUpdates (long polling with offsets), sendMessage, editMessageText,
editMessageReplyMarkup, answerCallbackQuery, sendDocument, getFile (+ file downloads),
setMyCommands, deleteWebhook and setWebhook. It checks what real Telegram checks and tests
care about: the token, ParseMode.HTML markup (tags, entities), the 4096/1024-character limits,
64-byte callback data, "message is not modified". Every call is recorded; faults (429 with
retry_after, 500, ...) can be queued per method.

    with FakeTelegram() as telegram:
        app = Application.builder().token(telegram.token).base_url(telegram.base_url)...
        telegram.say(CHAT, ALICE, "/pending")
        reply = await telegram.wait_for(lambda: telegram.bot_messages(CHAT))
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import unquote

from tests.helpers.fake_telegram_model import (
    NOT_MODIFIED,
    ApiError,
    Call,
    ChatMessage,
    FakeUser,
    Fault,
    check_html,
    length,
    parse_body,
)

__all__ = ["DEFAULT_TOKEN", "ApiError", "Call", "ChatMessage", "FakeTelegram", "FakeUser", "check_html"]

T = TypeVar("T")
DEFAULT_TOKEN = "123456:FAKE-token-for-tests_abcdefghijklmnop"
BOT_ID = 123456


class FakeTelegram:
    """The fake Bot API server (a thread on 127.0.0.1), plus the chats it simulates."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, long_poll_cap: float = 1.0) -> None:
        self.token = token
        self.long_poll_cap = long_poll_cap
        self._lock = threading.Condition()
        self._updates: list[dict[str, Any]] = []
        self._confirmed = 0
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._messages: dict[tuple[int, int], ChatMessage] = {}
        self._files: dict[str, tuple[str, bytes]] = {}
        self._callbacks: dict[str, bool] = {}  # id -> answered
        self._faults: list[Fault] = []
        self.calls_made: list[Call] = []
        self.delivered_at: dict[int, float] = {}
        self.webhook: dict[str, Any] | None = None
        self._closing = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                fake._serve(self)

            def do_GET(self) -> None:
                fake._serve(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-telegram", daemon=True)  # fmt: skip

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The Bot API base URL to give PTB (`.../bot`, the token is appended)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def start(self) -> FakeTelegram:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the simulated world -----------------------------------------------------------------------

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "private"}
        return {"id": chat_id, "type": "supergroup", "title": f"chat {chat_id}"}

    def _push(self, update: dict[str, Any]) -> int:
        with self._lock:
            update_id = next(self._update_ids)
            update["update_id"] = update_id
            self._updates.append(update)
            self._lock.notify_all()
        return update_id

    def message_update(self, chat_id: int, user: FakeUser, text: str) -> dict[str, Any]:
        """Return the update a user's message makes (without queueing it: for webhook tests)."""
        message_id = next(self._ids)
        message: dict[str, Any] = {"message_id": message_id, "date": int(time.time()), "chat": self._chat(chat_id),
                                   "from": user.as_dict(), "text": text}  # fmt: skip
        if text.startswith("/"):
            command = text.split()[0] if text.split() else text
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length(command)}]
        with self._lock:
            self._messages[(chat_id, message_id)] = ChatMessage(chat_id, message_id, text, False)
        return {"update_id": 10**6 + message_id, "message": message}

    def say(self, chat_id: int, user: FakeUser, text: str) -> tuple[int, int]:
        """A user writes `text` in a chat; return (update id, message id)."""
        update = self.message_update(chat_id, user, text)
        return self._push({"message": update["message"]}), update["message"]["message_id"]

    def send_document(
        self, chat_id: int, user: FakeUser, filename: str, content: bytes, caption: str | None = None
    ) -> tuple[int, int]:
        """A user sends a file; return (update id, message id)."""
        message_id = next(self._ids)
        file_id = f"user-file-{message_id}"
        with self._lock:
            self._files[file_id] = (filename, content)
        message: dict[str, Any] = {
            "message_id": message_id, "date": int(time.time()), "chat": self._chat(chat_id), "from": user.as_dict(),
            "document": {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": filename,
                         "mime_type": "application/octet-stream", "file_size": len(content)},
        }  # fmt: skip
        if caption:
            message["caption"] = caption
        return self._push({"message": message}), message_id

    def tap(self, chat_id: int, user: FakeUser, message_id: int, data: str) -> str:
        """A user presses an inline button of a bot message; return the callback query id."""
        with self._lock:
            target = self._messages[(chat_id, message_id)]
            query_id = f"cb{next(self._ids)}"
            self._callbacks[query_id] = False
        query = {"id": query_id, "from": user.as_dict(), "chat_instance": f"ci{chat_id}", "data": data,
                 "message": self._message_dict(target)}  # fmt: skip
        self._push({"callback_query": query})
        return query_id

    def forward(self, message: ChatMessage, chat_id: int) -> ChatMessage:
        """Show a copy of a bot message, buttons included, in another chat (as a forward would)."""
        copy = ChatMessage(chat_id, next(self._ids), message.text, True, message.reply_markup)
        with self._lock:
            self._messages[(chat_id, copy.message_id)] = copy
        return copy

    # -- faults and observations -------------------------------------------------------------------

    def fail(self, method: str, status: int, *, times: int = 1, retry_after: int | None = None,
             description: str | None = None) -> None:  # fmt: skip
        """Answer the next `times` calls of `method` with an error (429 takes retry_after)."""
        text = description or {429: f"Too Many Requests: retry after {retry_after}",
                               500: "Internal Server Error"}.get(status, "Bad Request")  # fmt: skip
        with self._lock:
            self._faults.append(Fault(method, status, text, retry_after, times))

    def calls(self, method: str | None = None) -> list[Call]:
        """Return the recorded calls (of one method)."""
        with self._lock:
            return [c for c in self.calls_made if method is None or c.method == method]

    def bot_messages(self, chat_id: int | None = None) -> list[ChatMessage]:
        """Return the bot's messages (in one chat), oldest first."""
        with self._lock:
            found = [m for m in self._messages.values() if m.from_bot and (chat_id is None or m.chat_id == chat_id)]
        return sorted(found, key=lambda m: m.message_id)

    def message(self, chat_id: int, message_id: int) -> ChatMessage:
        with self._lock:
            return self._messages[(chat_id, message_id)]

    def unanswered_callbacks(self) -> list[str]:
        """Return callback queries the bot never answered."""
        with self._lock:
            return [query_id for query_id, answered in self._callbacks.items() if not answered]

    def pending_updates(self) -> int:
        """Return how many updates the bot has not confirmed yet."""
        with self._lock:
            return sum(1 for u in self._updates if u["update_id"] > self._confirmed)

    async def wait_for(self, probe: Callable[[], T | None], within: float = 15.0, what: str = "a condition") -> T:
        """Poll `probe` until it returns something truthy; fail with the recent calls after `within` seconds."""
        deadline = time.monotonic() + within
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                recent = [(c.method, c.status, str(c.params.get("text", ""))[:80]) for c in self.calls()[-8:]]
                raise AssertionError(f"timed out waiting for {what}; recent calls: {recent}")
            await asyncio.sleep(0.005)

    # -- HTTP --------------------------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        path = unquote(request.path.split("?", 1)[0])
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        status, payload, raw = 200, None, None
        if path.startswith(f"/file/bot{self.token}/"):
            file_id = path.rsplit("/", 1)[-1]
            with self._lock:
                stored = self._files.get(file_id)
            status, raw = (200, stored[1]) if stored else (404, b"not found")
        elif path.startswith(f"/bot{self.token}/"):
            method = path.rsplit("/", 1)[-1]
            status, payload = self._dispatch(method, *parse_body(request.headers.get("Content-Type", ""), body))
        else:
            status, payload = 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        data = raw if raw is not None else json.dumps(payload).encode()
        try:
            request.send_response(status)
            request.send_header("Content-Type", "application/json" if raw is None else "application/octet-stream")
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            request.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a cancelled long poll)
            pass

    def _take_fault(self, method: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method == method and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def _dispatch(self, method: str, params: dict[str, Any], files: dict[str, tuple[str, bytes]]) -> tuple[int, Any]:
        fault = self._take_fault(method)
        try:
            if fault is not None:
                raise ApiError(fault.status, fault.description, fault.retry_after)
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise ApiError(400, f"Bad Request: method {method} is not faked")
            result = handler(params, files)
            status, payload = 200, {"ok": True, "result": result}
        except ApiError as exc:
            status = exc.status
            payload = {"ok": False, "error_code": exc.status, "description": exc.description}
            if exc.retry_after is not None:
                payload["parameters"] = {"retry_after": exc.retry_after}
        with self._lock:
            self.calls_made.append(Call(method, params, files, status, time.monotonic()))
        return status, payload

    # -- methods -----------------------------------------------------------------------------------

    def _bot_user(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "dstack-gov", "username": "dstack_gov_bot"}

    def _message_dict(self, message: ChatMessage) -> dict[str, Any]:
        data: dict[str, Any] = {"message_id": message.message_id, "date": int(time.time()),
                                "chat": self._chat(message.chat_id),
                                "from": self._bot_user() if message.from_bot else {"id": 1, "is_bot": False,
                                                                                   "first_name": "user"}}  # fmt: skip
        if message.document is not None:
            file_id = f"bot-file-{message.message_id}"
            data["document"] = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": message.document[0],
                                "file_size": len(message.document[1])}  # fmt: skip
            if message.caption:
                data["caption"] = check_html(message.caption)
        else:
            data["text"] = check_html(message.text) if message.from_bot else message.text
        if message.reply_markup:
            data["reply_markup"] = message.reply_markup
        return data

    def _markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        raw = params.get("reply_markup")
        if not raw:
            return None
        markup = json.loads(raw) if isinstance(raw, str) else raw
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if len(str(button.get("callback_data", "")).encode()) > 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return dict(markup)

    @staticmethod
    def _text(params: dict[str, Any], key: str = "text", limit: int = 4096) -> str:
        text = str(params.get(key, ""))
        visible = check_html(text) if params.get("parse_mode") == "HTML" else text
        if key == "text" and not visible.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if length(visible) > limit:
            raise ApiError(400, "Bad Request: message is too long" if key == "text"
                           else "Bad Request: message caption is too long")  # fmt: skip
        return text

    def _reply_to(self, params: dict[str, Any]) -> int | None:
        if params.get("reply_parameters"):
            reply = params["reply_parameters"]
            return int((json.loads(reply) if isinstance(reply, str) else reply)["message_id"])
        return int(params["reply_to_message_id"]) if params.get("reply_to_message_id") else None

    def _api_getMe(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802 - Bot API names
        return self._bot_user()

    def _api_setMyCommands(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        return True

    def _api_deleteWebhook(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        self.webhook = None
        return True

    def _api_setWebhook(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        self.webhook = dict(params)
        return True

    def _api_getUpdates(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), self.long_poll_cap)
        deadline = time.monotonic() + wait
        with self._lock:
            if offset:
                self._confirmed = max(self._confirmed, offset - 1)
            while True:
                ready = [u for u in self._updates if u["update_id"] >= max(offset, self._confirmed + 1)]
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0 or self._closing:
                    break
                self._lock.wait(remaining)
            now = time.monotonic()
            for update in ready:
                self.delivered_at.setdefault(update["update_id"], now)
            return ready[: int(params.get("limit") or 100)]

    def _store_bot_message(self, message: ChatMessage) -> dict[str, Any]:
        message.history.append((time.monotonic(), message.text if message.document is None else "<document>"))
        with self._lock:
            self._messages[(message.chat_id, message.message_id)] = message
        return self._message_dict(message)

    def _api_sendMessage(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        text = self._text(params)
        message = ChatMessage(int(params["chat_id"]), next(self._ids), text, True, self._markup(params),
                              self._reply_to(params))  # fmt: skip
        return self._store_bot_message(message)

    def _api_sendDocument(self, params: dict[str, Any], files: dict[str, tuple[str, bytes]]) -> Any:  # noqa: N802
        if "document" not in files:
            raise ApiError(400, "Bad Request: there is no document in the request")
        caption = self._text(params, "caption", 1024) if params.get("caption") else None
        message = ChatMessage(int(params["chat_id"]), next(self._ids), "", True, self._markup(params),
                              self._reply_to(params), files["document"], caption)  # fmt: skip
        with self._lock:
            self._files[f"bot-file-{message.message_id}"] = files["document"]
        return self._store_bot_message(message)

    def _existing(self, params: dict[str, Any]) -> ChatMessage:
        key = (int(params["chat_id"]), int(params["message_id"]))
        with self._lock:
            if key not in self._messages or not self._messages[key].from_bot:
                raise ApiError(400, "Bad Request: message to edit not found")
            return self._messages[key]

    def _api_editMessageText(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        message = self._existing(params)
        text, markup = self._text(params), self._markup(params)
        if text == message.text and markup == message.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        message.text, message.reply_markup = text, markup
        return self._store_bot_message(message)

    def _api_editMessageReplyMarkup(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        message = self._existing(params)
        markup = self._markup(params)
        if markup == message.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified")
        message.reply_markup = markup
        return self._store_bot_message(message)

    def _api_answerCallbackQuery(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        query_id = str(params["callback_query_id"])
        with self._lock:
            if self._callbacks.get(query_id, True):
                raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
            self._callbacks[query_id] = True
        return True

    def _api_getFile(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        file_id = str(params["file_id"])
        with self._lock:
            stored = self._files.get(file_id)
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(stored[1]),
                "file_path": f"documents/{file_id}"}  # fmt: skip
