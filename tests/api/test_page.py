"""The signing page over HTTP (in process): facts rendered by the server, escaping, CSP, Telegram initData."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from html.parser import HTMLParser

import httpx
import pytest

from dstack_gov.api import create_api
from dstack_gov.api.page import CSP
from dstack_gov.api.telegram import TelegramAuth
from dstack_gov.telegram_init_data import sign_init_data
from proposals.views import signer_warnings
from tests.api.conftest import AUTH, TOKEN, propose, sign, signature_for
from tests.helpers.chain import dev_account

BOT_TOKEN = "123456:page-test-bot-token"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class _Tags(HTMLParser):
    """Collect the tags, inline handlers and inline styles of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def init_data(user_id: int = 2001, *, auth_date: int | None = None, token: str = BOT_TOKEN, **extra: str) -> str:
    """Return initData as Telegram would sign it for `token`."""
    fields = {"user": json.dumps({"id": user_id, "first_name": "Olga"}), "chat_instance": "42",
              "auth_date": str(int(time.time()) if auth_date is None else auth_date), **extra}  # fmt: skip
    fields["hash"] = sign_init_data(fields, token)
    return str(httpx.QueryParams(fields))


@pytest.fixture
async def page_api(gov) -> AsyncIterator[httpx.AsyncClient]:
    """The API with a bot token, so Mini App initData is checked."""
    app = create_api(gov.svc, token=TOKEN, telegram=TelegramAuth(BOT_TOKEN, max_age=timedelta(hours=1)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test", timeout=60) as c:
        yield c


async def test_page_renders_every_fact_before_any_script(api, gov):
    view = await propose(api, gov)
    response = await api.get(f"/sign/{view['id']}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert view["title"] in html and "Proposed by api" in html
    for call in view["calls"]:
        assert call["description"] in html
    for change in view["planned"]["changes"]:
        assert f"<code>{change['before']}</code> → <code>{change['after']}</code>" in html
    for warning in signer_warnings(gov.svc.view(view["id"])):
        assert warning.replace('"', "&quot;").replace("'", "&#x27;") in html
    for value in (view["safe"], str(view["chainId"]), view["hashes"]["safeTxHash"], view["hashes"]["domainHash"],
                  view["hashes"]["messageHash"], *view["owners"]):  # fmt: skip
        assert value in html
    assert 'Signatures: <span id="count">0</span> of 2' in html
    assert f"cast wallet sign --data --from-file proposal-{view['id']}-typed-data.json" in html


async def test_page_has_no_inline_script_or_style_and_a_strict_csp(api, gov):
    view = await propose(api, gov)
    response = await api.get(f"/sign/{view['id']}")
    assert response.headers["content-security-policy"] == CSP
    assert (
        "default-src 'none'" in CSP
        and "script-src 'self';" in CSP
        and "frame-ancestors https://web.telegram.org" in CSP
    )
    tags = tags_of(response.text)
    scripts = [a for t, a in tags if t == "script"]
    assert scripts == [{"type": "module", "src": "/static/sign.js?v=1"}]
    assert [(a["rel"], a["href"]) for t, a in tags if t == "link"] == [
        ("icon", "data:,"),
        ("stylesheet", "/static/sign.css?v=1"),
    ]
    assert not any(t == "style" for t, _ in tags)
    assert not any(k == "style" or k.startswith("on") for _, a in tags for k in a)
    for asset, kind in (("sign.js", "text/javascript"), ("sign.css", "text/css")):
        served = await api.get(f"/static/{asset}")
        assert served.status_code == 200 and served.headers["content-type"].startswith(kind)
        assert served.headers["x-content-type-options"] == "nosniff"
    assert (await api.get("/static/other.js")).status_code == 404


async def test_every_user_text_is_escaped(api, gov):
    view = await propose(api, gov, title=HOSTILE, description=HOSTILE + "\nsecond line", proposer="<b>mallory</b>")
    html = (await api.get(f"/sign/{view['id']}")).text
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>mallory" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert [t for t, _ in tags_of(html)].count("script") == 1  # only the module


@pytest.mark.parametrize("path", ["/sign/999999", "/sign/0", "/sign/abc", "/sign/99999999999999999999", "/sign"])
async def test_unknown_or_malformed_ids_get_a_page_that_says_so(api, path):
    response = await api.get(path)
    assert response.status_code == 404
    assert response.headers["content-security-policy"] == CSP
    assert 'data-state="error"' in response.text and ("no proposal" in response.text or "announcement" in response.text)


async def test_mini_app_start_param_redirects_to_the_proposal(api, gov):
    view = await propose(api, gov)
    response = await api.get(f"/sign?tgWebAppStartParam={view['id']}")
    assert response.status_code == 303 and response.headers["location"] == f"/sign/{view['id']}"


async def test_executed_proposal_offers_no_signing(api, gov):
    view = await propose(api, gov)
    for owner in gov.owners[:2]:
        assert (await sign(api, view["id"], owner)).status_code == 200
    html = (await api.get(f"/sign/{view['id']}")).text
    assert 'data-state="closed"' in html and "This proposal is executed; it takes no more signatures." in html
    assert 'id="wallets"' not in html and "typed-data.json" not in html


async def test_typed_data_download_is_what_export_gives(api, gov):
    view = await propose(api, gov)
    response = await api.get(f"/sign/{view['id']}/typed-data.json")
    assert response.json() == (await api.get(f"/api/proposals/{view['id']}/typed-data")).json()
    assert f'filename="proposal-{view["id"]}-typed-data.json"' in response.headers["content-disposition"]


async def test_signature_with_valid_init_data_records_the_telegram_user(page_api, gov):
    view = await propose(page_api, gov)
    signature = await signature_for(page_api, view["id"], gov.owners[0])
    response = await page_api.post(f"/api/proposals/{view['id']}/signatures", json={"signature": signature},
                                   headers={"X-Telegram-Init-Data": init_data(2001)})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["proposal"]["signatures"][0]["source"] == "page:telegram:2001"
    audit = (await page_api.get(f"/api/audit?proposal={view['id']}", headers=AUTH)).json()
    assert any(e["actor"] == "telegram:2001:Olga" and e["event"] == "signature" for e in audit), audit


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: init_data(2001, token="654321:another-bot"), "not signed for this bot"),
        (lambda: init_data(2001).replace("2001", "2002"), "not signed for this bot"),
        (lambda: init_data(2001, auth_date=int(time.time()) - 2 * 3600), "minutes old"),
        (lambda: "not a query string", "not a query string"),
        (lambda: init_data(2001) + "&hash=00", "repeats a field"),
    ],
    ids=["other-bot", "tampered-user", "stale", "garbage", "duplicate"],
)
async def test_forged_or_stale_init_data_is_refused(page_api, gov, make, reason):
    view = await propose(page_api, gov)
    signature = await signature_for(page_api, view["id"], gov.owners[0])
    response = await page_api.post(f"/api/proposals/{view['id']}/signatures", json={"signature": signature},
                                   headers={"X-Telegram-Init-Data": make()})  # fmt: skip
    assert response.status_code == 403, response.text
    assert reason in response.json()["error"]
    assert (await page_api.get(f"/api/proposals/{view['id']}")).json()["signatures"] == []


async def test_init_data_without_a_bot_token_is_refused(api, gov):
    view = await propose(api, gov)
    signature = await signature_for(api, view["id"], gov.owners[0])
    response = await api.post(f"/api/proposals/{view['id']}/signatures", json={"signature": signature},
                              headers={"X-Telegram-Init-Data": init_data()})  # fmt: skip
    assert response.status_code == 400 and "no bot token" in response.json()["error"]


async def test_bad_input_from_the_page_gets_a_reason(page_api, gov):
    view = await propose(page_api, gov)
    url = f"/api/proposals/{view['id']}/signatures"
    stranger = await signature_for(page_api, view["id"], dev_account(7))
    refused = await page_api.post(url, json={"signature": stranger})
    assert refused.status_code == 400 and "not an owner" in refused.json()["error"]
    bad = await page_api.post(url, json={"signature": "0xnothex"})
    assert bad.status_code == 400 and "not hex" in bad.json()["error"]
    owner = await page_api.post(url, json={"signature": "0x" + "00" * 65, "owner": "0x1234"})
    assert owner.status_code == 400 and "owner" in owner.json()["error"]
    huge = await page_api.post(url, content=b'{"signature": "' + b"a" * 300_000 + b'"}',
                               headers={"Content-Type": "application/json"})  # fmt: skip
    assert huge.status_code == 413
    body = {"initData": init_data(), "proposal": view["id"], "owner": gov.owners[0].address}
    linking = await page_api.post("/api/telegram/link-challenge", json=body)
    assert linking.status_code == 503 and "dstack-gov run" in linking.json()["error"]
