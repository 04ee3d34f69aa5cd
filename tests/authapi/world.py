"""A KMS policy on the session chain that allows exactly one app and one KMS, for the webhook tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from contracts import app_contract, creation_code, load_artifact
from tests.helpers.chain import KmsFixture, dev_account

OS_IMAGE = bytes.fromhex("0a" * 32)
COMPOSE_HASH = bytes.fromhex("c0" * 31 + "de")
APP_DEVICE = bytes.fromhex("d1" * 32)
KMS_DEVICE = bytes.fromhex("d2" * 32)
KMS_MR = bytes.fromhex("4d" * 32)
INSTANCE = "0x" + "1e" * 20
GATEWAY_APP_ID = "0x9a7e000000000000000000000000000000000001"


@dataclass
class World:
    """Addresses of the deployed policy."""

    kms: KmsFixture
    app: ChecksumAddress  # a DstackApp: TCB required, COMPOSE_HASH and APP_DEVICE whitelisted
    tcb_free_app: ChecksumAddress  # a DstackApp that accepts any TCB status and any device
    eoa_app: ChecksumAddress  # registered, but no code at the address
    custom_app: ChecksumAddress  # an AllowlistAppAuth, registered, allowing no instance yet

    def send(self, to: ChecksumAddress, data: str, account_index: int = 0) -> None:
        """Send a transaction from a dev account."""
        self.kms.sender(dev_account(account_index)).send(to, bytes.fromhex(data.removeprefix("0x")))

    def kms_tx(self, function: str, *args: Any) -> None:
        """Call a KMS mutator as its owner."""
        self.send(self.kms.kms_address, self.kms.kms.encode_abi(function, list(args)))

    def add_compose_hash(self, value: bytes) -> None:
        """Whitelist `value` on the DstackApp `self.app`."""
        self.send(self.app, app_contract(self.kms.w3, self.app).encode_abi("addComposeHash", [value]))

    def allow_instance(self, instance: str) -> None:
        """Put `instance` on the custom app's allowlist."""
        custom = self.kms.w3.eth.contract(self.custom_app, abi=load_artifact("AllowlistAppAuth").abi)
        self.send(self.custom_app, custom.encode_abi("setInstance", [to_checksum_address(instance), True]))


def build_world(kms: KmsFixture) -> World:
    """Deploy and whitelist everything the tests need."""
    app = kms.new_app(require_tcb_up_to_date=True, initial_compose_hash=COMPOSE_HASH, initial_device_id=APP_DEVICE)
    tcb_free_app = kms.new_app(allow_any_device=True, initial_compose_hash=COMPOSE_HASH)
    custom = kms.sender().deploy(creation_code("AllowlistAppAuth")).contract_address
    assert custom is not None
    eoa = dev_account(7).address
    world = World(kms, app.address, tcb_free_app.address, eoa, custom)
    world.kms_tx("registerApp", eoa)
    world.kms_tx("registerApp", custom)
    world.kms_tx("addOsImageHash", OS_IMAGE)
    world.kms_tx("addKmsAggregatedMr", KMS_MR)
    world.kms_tx("addKmsDevice", KMS_DEVICE)
    world.kms_tx("setGatewayAppId", GATEWAY_APP_ID)
    return world


def app_request(app: str, **overrides: Any) -> dict[str, Any]:
    """Return a /bootAuth/app body that `app` allows, with camelCase `overrides`."""
    body: dict[str, Any] = {
        "mrAggregated": "0x" + "00" * 32,
        "osImageHash": "0x" + OS_IMAGE.hex(),
        "appId": app,
        "composeHash": "0x" + COMPOSE_HASH.hex(),
        "instanceId": INSTANCE,
        "deviceId": "0x" + APP_DEVICE.hex(),
        "tcbStatus": "UpToDate",
        "advisoryIds": [],
        "mrSystem": "0x" + "00" * 32,
    }
    body.update(overrides)
    return body


def kms_request(**overrides: Any) -> dict[str, Any]:
    """Return a /bootAuth/kms body that the KMS contract allows, with camelCase `overrides`."""
    body = app_request("0x" + "00" * 20, mrAggregated="0x" + KMS_MR.hex(), deviceId="0x" + KMS_DEVICE.hex())
    body.update(overrides)
    return body
