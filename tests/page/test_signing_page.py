"""The signing page in headless Chromium: a test wallet signs, the API verifies, the announcement follows."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import pytest
from selenium.webdriver.common.by import By

from dstack_gov.telegram_init_data import sign_init_data
from proposals.models import ProposalState
from tests.helpers.bot import CHAT
from tests.helpers.browser import Page, Stack, Wallet
from tests.helpers.chain import dev_account
from tests.helpers.fake_telegram import FakeTelegram
from tests.helpers.governance import Governance
from tests.helpers.proposing import propose_image
from tests.page.conftest import MINI_APP, STRANGER_INDEX

pytestmark = pytest.mark.browser
WRONG_CHAIN = 1


def chain_id(gov: Governance) -> int:
    return int(gov.w3.eth.chain_id)


def announcement(telegram: FakeTelegram, proposal_id: int, *, containing: str = "") -> Any:
    """Wait for the proposal's announcement (showing `containing`) and return it."""

    def probe() -> Any:
        for message in telegram.bot_messages(CHAT):
            if f"#{proposal_id}" in message.text and containing in message.text and message.reply_markup:
                return message
        return None

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no announcement of #{proposal_id} showing {containing!r}")


def sign_button_url(message: Any) -> str:
    """Return the URL of the announcement's Sign button, as the fake Bot API recorded it."""
    buttons = [b for row in message.reply_markup["inline_keyboard"] for b in row if "Sign" in b["text"]]
    assert len(buttons) == 1, message.reply_markup
    return str(buttons[0]["url"])


def init_data(token: str, user_id: int = 2001, *, age: float = 0.0, proposal_id: int = 0) -> str:
    fields = {"user": json.dumps({"id": user_id, "first_name": "Olga"}), "chat_instance": "-42",
              "chat_type": "supergroup", "auth_date": str(int(time.time() - age)), "start_param": str(proposal_id),
              "signature": "test-ed25519-signature"}  # fmt: skip
    fields["hash"] = sign_init_data(fields, token)
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in fields.items())


def mini_app_url(stack: Stack, proposal_id: int, init: str, theme: dict[str, str] | None = None) -> str:
    """Return the URL Telegram opens for the Mini App direct link ?startapp=<id>."""
    fragment = f"tgWebAppData={quote(init, safe='')}&tgWebAppVersion=8.0&tgWebAppPlatform=web"
    if theme is not None:
        fragment += "&tgWebAppThemeParams=" + quote(json.dumps(theme), safe="")
    return f"{stack.url}/sign?tgWebAppStartParam={proposal_id}#{fragment}"


def test_happy_path_from_the_announcement_to_execution(stack: Stack, gov: Governance, telegram: FakeTelegram,
                                                       page: Page) -> None:  # fmt: skip
    proposal = propose_image(gov, 1, svc=stack.runtime.service)
    url = sign_button_url(announcement(telegram, proposal.id, containing="0/2"))
    assert url == f"{stack.url}/sign/{proposal.id}"

    page.use_wallet(Wallet(gov.owners[0].address, chain_id(gov), hold_sign=True))
    page.open(url)
    page.wait_state("ready")
    page.shot("1-ready")
    page.sign_button().click()
    page.wait_state("signing")
    assert page.sign_button().get_property("disabled") is True
    page.shot("2-signing")
    page.driver.execute_script("window.testWallet.release()")
    assert page.wait_state("done") == "Signed: 1 of 2 signatures."
    page.shot("3-signed")
    assert page.driver.find_element(By.ID, "count").text == "1"
    mine = page.driver.find_element(By.CSS_SELECTOR, f'[data-owner="{gov.owners[0].address.lower()}"]')
    assert mine.text.endswith("signed (eip712), just now")
    announcement(telegram, proposal.id, containing="Signatures 1/2")

    page.use_wallet(Wallet(gov.owners[1].address, chain_id(gov)))
    page.open(url)
    page.click_sign()
    done = page.wait_state("done")
    assert done.startswith("Signed. The proposal is executed: transaction 0x"), done
    page.shot("4-executed")
    assert stack.runtime.service.get(proposal.id).state is ProposalState.EXECUTED
    announcement(telegram, proposal.id, containing="Executed")

    page.open(url)  # an executed proposal: the page says so and offers no signing
    assert "This proposal is executed; it takes no more signatures." in page.wait_state("closed")
    assert page.driver.find_elements(By.CSS_SELECTOR, "#wallets button") == []
    page.shot("5-closed")


def test_wrong_chain_unknown_then_switched(stack: Stack, gov: Governance, page: Page) -> None:
    proposal = propose_image(gov, 2, svc=stack.runtime.service)
    url = f"{stack.url}/sign/{proposal.id}"
    page.use_wallet(Wallet(gov.owners[0].address, WRONG_CHAIN))
    page.open(url)
    page.click_sign()
    assert page.wait_state("error") == (
        f"Your wallet does not know chain {chain_id(gov)}. Add that network to the wallet, then try again."
    )
    page.shot("6-unknown-chain")
    page.use_wallet(Wallet(gov.owners[0].address, WRONG_CHAIN, known_chains=(chain_id(gov),)))
    page.open(url)
    page.click_sign()
    assert page.wait_state("done") == "Signed: 1 of 2 signatures."
    calls = page.driver.execute_script("return window.testWallet.calls")
    assert "wallet_switchEthereumChain" in calls


def test_non_owner_and_rejection_are_explained(stack: Stack, gov: Governance, page: Page) -> None:
    proposal = propose_image(gov, 3, svc=stack.runtime.service)
    url = f"{stack.url}/sign/{proposal.id}"
    stranger = dev_account(STRANGER_INDEX).address
    page.use_wallet(Wallet(stranger, chain_id(gov)))
    page.open(url)
    page.click_sign()
    assert f"The account {stranger.lower()} is not an owner of this Safe" in page.wait_state("error")
    page.shot("7-not-an-owner")

    page.use_wallet(Wallet(gov.owners[0].address, chain_id(gov), reject_sign=True, eip6963=False))
    page.open(url)
    page.wait_state("ready")
    assert page.sign_button().text == "Sign with browser wallet"  # window.ethereum, no EIP-6963
    page.click_sign()
    assert page.wait_state("error") == "You rejected the request in your wallet. Nothing was signed."
    assert page.driver.find_element(By.ID, "retry").is_displayed()
    page.shot("8-rejected")
    assert stack.runtime.service.view(proposal.id).signatures == ()


@pytest.mark.parametrize("stack", [MINI_APP], indirect=True)
def test_mini_app_records_the_telegram_user_and_refuses_bad_init_data(
    stack: Stack, gov: Governance, telegram: FakeTelegram, page: Page
) -> None:
    service = stack.runtime.service
    proposal = propose_image(gov, 4, svc=service)
    link = sign_button_url(announcement(telegram, proposal.id))
    assert link == f"https://t.me/dstack_gov_bot/{MINI_APP}?startapp={proposal.id}"
    wallet = Wallet(gov.owners[0].address, chain_id(gov))
    page.use_wallet(wallet)

    forged = init_data("654321:another-bot-token", proposal_id=proposal.id)
    page.open(mini_app_url(stack, proposal.id, forged))
    page.click_sign()
    assert "Telegram initData is not signed for this bot" in page.wait_state("error")
    stale = init_data(telegram.token, age=2 * 3600, proposal_id=proposal.id)
    page.open(mini_app_url(stack, proposal.id, stale))
    page.click_sign()
    assert "minutes old" in page.wait_state("error")
    page.shot("9-stale-init-data")
    assert service.view(proposal.id).signatures == ()

    theme = {"bg_color": "#102030", "text_color": "#f0f0f0", "button_color": "#3390ec"}
    page.open(mini_app_url(stack, proposal.id, init_data(telegram.token, proposal_id=proposal.id), theme))
    assert page.driver.current_url.startswith(f"{stack.url}/sign/{proposal.id}#tgWebAppData=")
    background = page.driver.execute_script("return getComputedStyle(document.documentElement).backgroundColor")
    assert background == "rgb(16, 32, 48)"
    page.click_sign()
    assert page.wait_state("done") == "Signed: 1 of 2 signatures."
    page.shot("10-mini-app-signed", element=None)
    actors = [e.actor for e in service.store.audit(proposal_id=proposal.id) if e.event == "signature"]
    assert actors == ["telegram:2001:Olga"]

    # /link on the page: the wallet signs the bot's challenge with personal_sign.
    page.driver.find_element(By.ID, "link-button").click()
    assert page.wait_state("done", "error") == f"Linked {gov.owners[0].address.lower()} to your Telegram account."
    announcement(telegram, proposal.id, containing="Olga")


def test_unknown_proposal_and_phone_viewport(stack: Stack, gov: Governance, page: Page) -> None:
    page.open(f"{stack.url}/sign/424242")
    assert page.status() == "no proposal #424242"
    page.shot("11-unknown-proposal", element=None)

    proposal = propose_image(gov, 5, svc=stack.runtime.service)
    page.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": 360, "height": 740, "deviceScaleFactor": 1, "mobile": True})  # fmt: skip
    page.use_wallet(None)
    page.open(f"{stack.url}/sign/{proposal.id}")
    assert page.wait_state("error").startswith("No browser wallet found on this device.")
    width = page.driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width == [360, 360], width
    page.shot("12-phone-no-wallet", element=None)
