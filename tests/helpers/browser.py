"""Headless Chromium for the signing page, a test wallet injected into it, and the whole stack behind it.

The wallet is an EIP-1193 provider announced with EIP-6963 (or set as window.ethereum). It holds no key:
it signs by POSTing to a loopback route of the test server that holds the test keys, so no JS crypto is
needed and the page's Content-Security-Policy (connect-src 'self') stays as strict as in production.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from fastapi import APIRouter, FastAPI
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from bot.runner import BotRuntime
from bot.settings import BotSettings
from dstack_gov.api import create_api
from dstack_gov.api.telegram import TelegramAuth
from foundation.listening import listen
from proposals.service import GovernanceService

WALLET_ROUTE = "/__test_wallet/sign"
WAIT = 30.0


def chromium_paths() -> tuple[str, str]:
    """Return (chromium, chromedriver); skip the test without them, but fail under CI=true."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if browser and driver:
        return browser, driver
    reason = "headless Chromium is not installed (apt-get install chromium chromium-driver)"
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):  # as the PostgreSQL tests decide
        pytest.fail(f"{reason}; CI must run the browser tests")
    pytest.skip(reason)


def start_chromium(*, performance_log: bool = False) -> webdriver.Chrome:
    """Start headless Chromium (no sandbox: tests may run as root)."""
    browser, driver = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=900,1000", "--no-first-run", "--disable-extensions",
                     "--disable-background-networking", "--disable-component-update"):  # fmt: skip
        options.add_argument(argument)
    if performance_log:
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(options=options, service=Service(driver))


def wallet_router(keys: dict[str, LocalAccount]) -> APIRouter:
    """Return the loopback route the test wallet signs through (it holds the test keys)."""
    router = APIRouter()

    @router.post(WALLET_ROUTE)
    def sign(body: dict[str, Any]) -> dict[str, str]:
        account = keys[str(body["account"]).lower()]
        if "typedData" in body:
            signed = account.sign_typed_data(full_message=json.loads(body["typedData"]))
        else:
            signed = account.sign_message(encode_defunct(hexstr=body["message"]))
        return {"signature": "0x" + bytes(signed.signature).hex()}

    return router


@dataclass(frozen=True)
class Wallet:
    """How the injected test wallet behaves."""

    account: str
    chain_id: int
    known_chains: tuple[int, ...] = ()
    reject_sign: bool = False
    hold_sign: bool = False  # wait for window.testWallet.release() before signing (to see "signing")
    eip6963: bool = True
    name: str = "Test Wallet"

    def script(self) -> str:
        """Return the provider's source, run in every new document before the page's own script."""
        config = {"account": self.account, "chainId": hex(self.chain_id), "name": self.name,
                  "known": [hex(c) for c in (*self.known_chains, self.chain_id)], "rejectSign": self.reject_sign,
                  "holdSign": self.hold_sign, "eip6963": self.eip6963, "route": WALLET_ROUTE}  # fmt: skip
        return WALLET_JS.replace("__CONFIG__", json.dumps(config))


WALLET_JS = """
(() => {
  const cfg = __CONFIG__;
  let chain = cfg.chainId;
  let release = null;
  const held = new Promise((resolve) => { release = resolve; });
  const calls = [];
  const fail = (code, message) => Object.assign(new Error(message), { code });
  const viaHelper = async (body) => {
    const response = await fetch(cfg.route, { method: "POST", headers: { "Content-Type": "application/json" },
                                              body: JSON.stringify(body) });
    return (await response.json()).signature;
  };
  const provider = {
    async request({ method, params }) {
      calls.push(method);
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [cfg.account];
      if (method === "eth_chainId") return chain;
      if (method === "wallet_switchEthereumChain") {
        if (!cfg.known.includes(params[0].chainId)) throw fail(4902, "Unrecognized chain ID");
        chain = params[0].chainId;
        return null;
      }
      if (method === "eth_signTypedData_v4") {
        if (cfg.holdSign) await held;
        if (cfg.rejectSign) throw fail(4001, "User rejected the request.");
        return viaHelper({ account: params[0], typedData: params[1] });
      }
      if (method === "personal_sign") return viaHelper({ account: params[1], message: params[0] });
      throw fail(4200, "Unsupported method " + method);
    },
  };
  window.testWallet = { calls, release: () => release() };
  const icon = "data:image/svg+xml," + encodeURIComponent(
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 8 8'><circle cx='4' cy='4' r='4' fill='#888'/></svg>");
  const info = Object.freeze({ uuid: "00000000-0000-4000-8000-000000000001", name: cfg.name, rdns: "test.wallet",
                               icon });
  if (!cfg.eip6963) { window.ethereum = provider; return; }
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider",
                                                              { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
})();
"""


class Page:
    """One browser tab on the signing page, with the test wallet of the moment."""

    def __init__(self, driver: webdriver.Chrome, shots: Path) -> None:
        self.driver = driver
        self.shots = shots
        self._script: str | None = None

    def use_wallet(self, wallet: Wallet | None) -> None:
        """Inject `wallet` into every page opened from now on (None: no wallet at all)."""
        if self._script is not None:
            self.driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": self._script})
            self._script = None
        if wallet is not None:
            added = self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": wallet.script()})
            self._script = added["identifier"]

    def open(self, url: str) -> None:
        """Load `url` in a fresh document."""
        self.driver.get("about:blank")
        self.driver.get(url)

    def state(self) -> str:
        return str(self.driver.find_element(By.ID, "status").get_attribute("data-state"))

    def status(self) -> str:
        return str(self.driver.find_element(By.ID, "status").text)

    def wait_state(self, *states: str, within: float = WAIT) -> str:
        """Wait until the page's state is one of `states`; return its status text."""
        WebDriverWait(self.driver, within).until(lambda _d: self.state() in states)
        return self.status()

    def sign_button(self) -> Any:
        return self.driver.find_element(By.CSS_SELECTOR, "#wallets button")

    def click_sign(self) -> None:
        """Wait for the wallet's button and press it."""
        self.wait_state("ready")
        self.sign_button().click()

    def shot(self, name: str, element: str | None = "wallet") -> Path:
        """Save a screenshot of the wallet section (or the whole viewport) as <name>.png."""
        path = self.shots / f"{name}.png"
        if element is None:
            self.driver.save_screenshot(str(path))
        else:
            self.driver.find_element(By.ID, element).screenshot(str(path))
        return path


@dataclass
class Stack:
    """`dstack-gov run` in process: the bot against the fake Bot API, the API and page on a real socket."""

    url: str
    runtime: BotRuntime
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    extra: dict[str, Any] = field(default_factory=dict)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runtime.stop(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


@contextmanager
def running_stack(
    service: GovernanceService,
    settings_for: Callable[[str], BotSettings],
    db_url: str,
    keys: dict[str, LocalAccount],
    auth: Callable[[BotSettings], TelegramAuth],
) -> Iterator[Stack]:
    """Run the bot, the scheduler and the HTTP API (with the test wallet's route) in a background loop."""
    sock = listen("127.0.0.1", 0)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = settings_for(url)
    app: FastAPI = create_api(service, token=None, telegram=auth(settings))
    app.include_router(wallet_router(keys))
    runtime = BotRuntime(settings, service, db_url=db_url, http_app=app, http_socket=sock)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="page-stack", daemon=True)
    thread.start()
    stack = Stack(url, runtime, loop, thread)
    try:
        asyncio.run_coroutine_threadsafe(runtime.start(), loop).result(60)
        yield stack
    finally:
        stack.stop()
        sock.close()
