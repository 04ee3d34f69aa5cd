"""The CLI with Transaction Service sync configured: reconcile runs a sync pass, status shows the
Safe{Wallet} link, an outage is reported without failing, and the API key stays out of the logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from dstack_gov.config import load_config
from dstack_gov.wiring import build_service
from foundation.redaction import REDACTED, install_log_redaction
from proposals.safe_tx import safe_tx_hashes, typed_data
from tests.helpers.cli import run_cli
from tests.helpers.config_file import write_config
from tests.helpers.fake_tx_service import FakeTxService
from tests.helpers.governance import Governance
from tests.helpers.proposing import add_image_data
from tests.helpers.safe_wallet import tx_client, wallet_tx

API_KEY = "stx-test-key-9f8e7d6c5b4a"


@pytest.fixture
def fake(eth_client) -> Iterator[FakeTxService]:
    """The stand-in service, which refuses requests without the API key."""
    with FakeTxService(eth_client, api_key=API_KEY) as service:
        yield service


def synced_config(gov: Governance, anvil_url: str, fake: FakeTxService, tmp_path) -> str:
    extra = (f'[safe_transaction_service]\nurl = "{fake.base_url}"\napi_key = "{API_KEY}"\n\n'
             '[safe_wallet]\nurl = "https://wallet.test"\nchain_short_name = "anvil"\n')  # fmt: skip
    return str(write_config(gov, anvil_url, tmp_path, executor=False, extra=extra))


def test_reconcile_imports_and_status_links_to_safe_wallet(capsys, anvil, gov: Governance, fake, tmp_path):
    config = synced_config(gov, anvil.url, fake, tmp_path)
    data = add_image_data(1)
    tx = wallet_tx(gov, gov.kms_address, data)
    owner = gov.owners[0]
    safe_tx_hash = safe_tx_hashes(tx).safe_tx_hash
    signature = bytes(owner.sign_typed_data(full_message=typed_data(tx)).signature)
    tx_client(gov, fake, api_key=API_KEY).propose(tx, safe_tx_hash, owner.address, signature)

    result = run_cli(capsys, "reconcile", "--config", config, "--json")

    assert result.code == 0, result.err
    assert result.json()["txService"]["imported"] == [1]
    status = run_cli(capsys, "status", "1", "--config", config)
    assert status.code == 0
    link = f"https://wallet.test/transactions/tx?safe=anvil:{gov.safe}&id=multisig_{gov.safe}_0x{safe_tx_hash.hex()}"
    assert link in "".join(status.out.split())  # rich folds long values over lines
    assert "Undecoded" not in status.out and "Safe{Wallet}" in status.out
    assert all(h.get("Authorization") == f"Bearer {API_KEY}" for h in fake.headers_seen)


def test_reconcile_reports_a_service_outage_without_failing(capsys, anvil, gov: Governance, fake, tmp_path):
    config = synced_config(gov, anvil.url, fake, tmp_path)
    fake.stop()

    result = run_cli(capsys, "reconcile", "--config", config)

    assert result.code == 0, result.err
    assert "txService.errors" in result.out and "did not answer" in result.out
    assert API_KEY not in result.out + result.err


def test_the_api_key_is_redacted_from_every_log_record(anvil, gov: Governance, fake, tmp_path, caplog):
    config = load_config(Path(synced_config(gov, anvil.url, fake, tmp_path)))
    uninstall = install_log_redaction()
    try:
        service = build_service(config, environ={})
        assert service.tx_service_enabled
        with caplog.at_level(logging.DEBUG):
            logging.getLogger("urllib3.connectionpool").debug("headers: Authorization: Bearer %s", API_KEY)
        service.close()
    finally:
        uninstall()
    assert API_KEY not in caplog.text and f"Bearer {REDACTED}" in caplog.text


def test_a_bad_link_template_or_an_owner_as_delegate_is_a_config_error(capsys, anvil, gov: Governance, fake, tmp_path):
    base = f'[safe_transaction_service]\nurl = "{fake.base_url}"\n'
    bad_template = write_config(gov, anvil.url, tmp_path, executor=False,
                                extra=base + '\n[safe_wallet]\nlink_template = "{url}/{nonce}"\n')  # fmt: skip
    result = run_cli(capsys, "status", "--config", str(bad_template))
    assert result.code != 0
    assert "link_template" in result.error_line

    owner_key = tmp_path / "owner.key"
    owner_key.write_text("0x" + gov.owners[0].key.hex())
    delegate = f'\n[safe_transaction_service.delegate]\nfile = "{owner_key}"\n'
    owner_as_delegate = write_config(gov, anvil.url, tmp_path, executor=False, extra=base + delegate)
    result = run_cli(capsys, "status", "--config", str(owner_as_delegate))
    assert result.code != 0
    assert f"the delegate {gov.owners[0].address} is an owner of Safe {gov.safe}" in result.error_line
