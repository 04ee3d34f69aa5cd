"""The signing page in headless Chromium: what it transfers, that it asks no other host, and how fast a click
on Sign shows in the chat.

Everything is real except Telegram and the wallet: anvil, the Safe 2-of-3, the core with its executor key,
the bot (python-telegram-bot against the loopback fake Bot API), the API and the page on a real socket. The
wallet is the browser tests' injected EIP-1193 provider, signing through a loopback route with the test key.

- transfer: bytes on the wire for the page (HTML + JS + CSS), from Chrome's performance log;
- third-party requests: requests to any host but the server's (must be 0);
- click -> edit: from the click on Sign to the fake Bot API recording the "1/2" edit, median of N runs.

    .venv/bin/python bench/signing_page.py [runs]
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the bench reuses the test helpers

from safe_eth.eth import EthereumClient
from web3 import Web3

from dstack_gov.anvil import Anvil, free_port
from dstack_gov.api.telegram import TelegramAuth
from dstack_gov.safe_infra import deploy_safe_infra
from tests.helpers.bot import CHAT, settings_for
from tests.helpers.browser import Page, Stack, Wallet, running_stack, start_chromium
from tests.helpers.chain import dev_account
from tests.helpers.fake_telegram import FakeTelegram
from tests.helpers.governance import Governance, build_governance
from tests.helpers.proposing import propose_image

RUNS = 10


def edited_at(telegram: FakeTelegram, proposal_id: int, text: str) -> float | None:
    """Return when the proposal's announcement first showed `text`."""
    for message in telegram.bot_messages(CHAT):
        if f"#{proposal_id}" in message.text:
            return next((at for at, version in message.history if text in version), None)
    return None


def wait(probe, within: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.005)
    raise RuntimeError("timed out")


def transfer(page: Page, stack: Stack, gov: Governance) -> tuple[int, dict[str, int], int]:
    """Load a page cold; return (bytes on the wire, bytes per resource, requests to other hosts)."""
    proposal = propose_image(gov, 1, svc=stack.runtime.service)
    page.driver.get_log("performance")  # drop what came before
    page.driver.execute_cdp_cmd("Network.enable", {})
    page.driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
    page.open(f"{stack.url}/sign/{proposal.id}")
    page.wait_state("ready")
    urls: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for entry in page.driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            urls[params["requestId"]] = params["request"]["url"]
        elif message["method"] == "Network.loadingFinished":
            sizes[params["requestId"]] = int(params["encodedDataLength"])
    own = urlsplit(stack.url).netloc
    foreign = [u for u in urls.values() if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != own]
    by_path = {urlsplit(urls[r]).path: n for r, n in sizes.items() if urlsplit(urls.get(r, "")).scheme == "http"}
    page.driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": False})
    return sum(by_path.values()), by_path, len(foreign)


def click_to_edit(page: Page, stack: Stack, gov: Governance, telegram: FakeTelegram, n: int) -> float:
    """Return seconds from the click on Sign to the announcement showing 1/2."""
    proposal = propose_image(gov, 100 + n, svc=stack.runtime.service)
    wait(lambda: edited_at(telegram, proposal.id, "Signatures 0/2"))
    page.open(f"{stack.url}/sign/{proposal.id}")
    page.wait_state("ready")
    clicked = time.monotonic()
    page.sign_button().click()
    shown = wait(lambda: edited_at(telegram, proposal.id, "Signatures 1/2"))
    page.wait_state("done")
    # Free the nonce for the next run: the proposal's second signature executes it.
    stack.runtime.service.sign_with_account(proposal.id, gov.owners[1], source="bench")
    return float(shown - clicked)


def main(runs: int = RUNS) -> None:
    """Set up anvil, the Safe, the stack and Chromium; print the figures."""
    anvil = Anvil(free_port()).start()
    driver = start_chromium(performance_log=True)
    try:
        w3 = Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 30}))
        client = EthereumClient(anvil.url)
        infra = deploy_safe_infra(client, dev_account(0))
        with tempfile.TemporaryDirectory() as directory, FakeTelegram() as telegram:
            gov = build_governance(w3, client, infra, Path(directory))
            keys = {a.address.lower(): a for a in gov.owners}

            def settings(url: str):  # type: ignore[no-untyped-def]
                return replace(settings_for(gov, telegram), signing_url=f"{url}/sign/{{id}}")

            def auth(_settings):  # type: ignore[no-untyped-def]
                return TelegramAuth(telegram.token, max_age=timedelta(hours=1))

            with running_stack(gov.service(), settings, gov.db_url, keys, auth) as stack:
                page = Page(driver, Path(directory))
                page.use_wallet(Wallet(gov.owners[0].address, int(w3.eth.chain_id)))
                total, by_path, foreign = transfer(page, stack, gov)
                stack.runtime.service.sign_with_account(1, gov.owners[0], source="bench")
                stack.runtime.service.sign_with_account(1, gov.owners[1], source="bench")
                click_to_edit(page, stack, gov, telegram, 0)  # warm-up, not counted
                samples = sorted(click_to_edit(page, stack, gov, telegram, n) * 1000 for n in range(1, runs + 1))
    finally:
        driver.quit()
        anvil.stop()
    print("signing page (headless Chromium, anvil automine, 2-of-3 Safe, fake Bot API)")
    parts = ", ".join(f"{path} {size / 1024:.1f} KB" for path, size in sorted(by_path.items()))
    print(f"transfer: {total / 1024:.1f} KB on the wire ({parts}); aim <= 60 KB")
    print(f"requests to other hosts: {foreign}")
    print(f"click on Sign -> announcement shows 1/2: median {statistics.median(samples):.0f} ms, "
          f"min {samples[0]:.0f} ms, max {samples[-1]:.0f} ms over {len(samples)} runs; aim <= 1000 ms")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else RUNS)
