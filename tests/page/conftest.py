"""Signing-page fixtures: the whole stack (bot, API, page) on a devnet Safe, and one headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from selenium import webdriver

from bot.page_links import PageLinker
from bot.settings import BotSettings
from bot.store import BotStore
from dstack_gov.api.telegram import TelegramAuth
from tests.helpers.bot import settings_for
from tests.helpers.browser import Page, Stack, running_stack, start_chromium
from tests.helpers.chain import dev_account
from tests.helpers.fake_telegram import FakeTelegram
from tests.helpers.governance import Governance

MINI_APP = "sign"
STRANGER_INDEX = 7
# Set DSTACK_GOV_SCREENSHOTS=docs/screenshots to refresh the README's pictures from a run.
SHOTS_ENV = "DSTACK_GOV_SCREENSHOTS"


@pytest.fixture(scope="session")
def chromium() -> Iterator[webdriver.Chrome]:
    """One headless Chromium for the whole session (skipped when missing; a failure under CI=true)."""
    driver = start_chromium()
    yield driver
    driver.quit()


@pytest.fixture
def page(chromium: webdriver.Chrome, tmp_path: Path) -> Iterator[Page]:
    """A tab on the page with no wallet yet; screenshots go to $DSTACK_GOV_SCREENSHOTS or a temp dir."""
    shots = Path(os.environ.get(SHOTS_ENV) or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    tab = Page(chromium, shots)
    chromium.set_window_size(900, 1000)
    chromium.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    yield tab
    tab.use_wallet(None)


@pytest.fixture
def stack(request: pytest.FixtureRequest, gov: Governance, telegram: FakeTelegram) -> Iterator[Stack]:
    """`dstack-gov run` in process: the bot, the API and the page, on a real loopback socket.

    Parametrize it indirectly with a Mini App short name to give group announcements the t.me link.
    """
    mini_app = getattr(request, "param", None)
    service = gov.service()
    keys = {a.address.lower(): a for a in [*gov.owners, dev_account(STRANGER_INDEX)]}
    bot_store = BotStore.open(gov.db_url)
    linker: dict[str, PageLinker] = {}

    def settings(url: str) -> BotSettings:
        return replace(settings_for(gov, telegram), signing_url=f"{url}/sign/{{id}}", mini_app=mini_app)

    def auth(bot_settings: BotSettings) -> TelegramAuth:
        linker["page"] = PageLinker(service, bot_store, bot_settings)
        return TelegramAuth(telegram.token, max_age=timedelta(hours=1), linker=linker["page"])

    with running_stack(service, settings, gov.db_url, keys, auth) as running:
        linker["page"].refresh = running.runtime.announce_soon
        yield running
    bot_store.close()
