"""Build a local devnet: Safe contracts, a dev-owned Safe, a KMS and an app, and a config file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from safe_eth.eth import EthereumClient
from web3 import Web3

from contracts import AppSettings, TransactionSender, deploy_app, kms_contract
from dstack_gov.anvil import DEV_MNEMONIC
from dstack_gov.safe_infra import SafeInfra, create_safe, deploy_safe_infra
from proposals.catalogue import get_action
from proposals.deploy import deploy_kms_stack

Account.enable_unaudited_hdwallet_features()

DEPLOYER_INDEX = 0
EXECUTOR_INDEX = 9  # pays gas only; never an owner
SAFE_SALT = 0xD5AC4  # fixed, so a re-run finds the same Safe


def dev_account(index: int) -> LocalAccount:
    """Return anvil's dev account `index` (public test keys: never use them on a real chain)."""
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


@dataclass(frozen=True)
class DevnetOptions:
    """What to build."""

    rpc_url: str
    owners: int = 3
    threshold: int = 2
    key_owned: bool = False
    config_path: Path = Path("dstack-gov.toml")
    state_dir: Path = Path("devnet")


@dataclass(frozen=True)
class Devnet:
    """What was built (or found) on the devnet."""

    rpc_url: str
    chain_id: int
    infra: SafeInfra
    safe: ChecksumAddress
    owners: tuple[LocalAccount, ...]
    threshold: int
    kms: ChecksumAddress
    kms_owner: ChecksumAddress
    app_implementation: ChecksumAddress
    app: ChecksumAddress
    executor: LocalAccount
    deployer: LocalAccount
    config_path: Path
    reused: bool

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary, keys included (they are dev-only)."""
        return {
            "devOnly": "These keys are anvil's public test keys. Never use them on a real chain.",
            "rpcUrl": self.rpc_url,
            "chainId": self.chain_id,
            "config": str(self.config_path),
            "safe": self.safe,
            "threshold": self.threshold,
            "owners": [{"address": o.address, "privateKey": "0x" + o.key.hex()} for o in self.owners],
            "kms": self.kms,
            "kmsOwner": self.kms_owner,
            "appImplementation": self.app_implementation,
            "app": self.app,
            "executor": {"address": self.executor.address, "privateKey": "0x" + self.executor.key.hex()},
            "deployer": {"address": self.deployer.address, "privateKey": "0x" + self.deployer.key.hex()},
            "safeInfra": self.infra.__dict__,
            "reused": self.reused,
        }


def _existing(config_path: Path) -> dict[str, Any]:
    """Return addresses from a previous run's config (empty if none)."""
    if not config_path.exists():
        return {}
    import tomllib

    try:
        return tomllib.loads(config_path.read_text()).get("contracts", {})
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _still_ours(w3: Web3, address: str | None, owner: ChecksumAddress) -> bool:
    if not address or not Web3.is_address(address) or not w3.eth.get_code(Web3.to_checksum_address(address)):
        return False
    return bool(kms_contract(w3, Web3.to_checksum_address(address)).functions.owner().call() == owner)


def build_devnet(options: DevnetOptions) -> Devnet:
    """Deploy everything (reusing what a previous run left) and write the config file."""
    if not 1 <= options.threshold <= options.owners <= 8:
        raise ValueError("need 1 <= threshold <= owners <= 8")
    w3 = Web3(Web3.HTTPProvider(options.rpc_url, request_kwargs={"timeout": 30}))
    chain_id = w3.eth.chain_id
    client = EthereumClient(options.rpc_url)  # type: ignore[arg-type]
    deployer, executor = dev_account(DEPLOYER_INDEX), dev_account(EXECUTOR_INDEX)
    owners = tuple(dev_account(i) for i in range(1, options.owners + 1))
    infra = deploy_safe_infra(client, deployer)
    safe = create_safe(
        client, deployer, infra, [o.address for o in owners], options.threshold,
        salt_nonce=SAFE_SALT + options.owners * 16 + options.threshold,
    )  # fmt: skip
    kms_owner = deployer.address if options.key_owned else safe
    sender = TransactionSender(w3, deployer)
    previous = _existing(options.config_path)
    reused = _still_ours(w3, previous.get("kms"), kms_owner)
    if reused:
        kms = Web3.to_checksum_address(previous["kms"])
        app_impl = Web3.to_checksum_address(kms_contract(w3, kms).functions.appImplementation().call())
    else:
        stack = deploy_kms_stack(sender, kms_owner, with_app_implementation=True)
        assert stack.app_implementation is not None
        kms, app_impl = stack.kms, stack.app_implementation
    previous_app = previous.get("default_app")
    if reused and previous_app and Web3.is_address(previous_app) and w3.eth.get_code(previous_app):
        app = Web3.to_checksum_address(previous_app)
    else:
        app = deploy_app(sender, app_impl, AppSettings(owner=kms_owner)).proxy
        sender.send(kms, get_action("kms-register-app").encode({"appId": app}))
    devnet = Devnet(
        rpc_url=options.rpc_url, chain_id=chain_id, infra=infra, safe=safe, owners=owners,
        threshold=options.threshold, kms=kms, kms_owner=kms_owner, app_implementation=app_impl, app=app,
        executor=executor, deployer=deployer, config_path=options.config_path, reused=reused,
    )  # fmt: skip
    write_devnet_files(devnet, options)
    return devnet


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")


def write_devnet_files(devnet: Devnet, options: DevnetOptions) -> None:
    """Write the config file, the executor/deployer key files and the dev owners' keys."""
    state = options.state_dir
    _write_secret(state / "executor.key", "0x" + devnet.executor.key.hex())
    _write_secret(state / "deployer.key", "0x" + devnet.deployer.key.hex())
    _write_secret(state / "owners.json", json.dumps(devnet.as_dict()["owners"], indent=2))
    base = options.config_path.resolve().parent

    def rel(path: Path) -> str:
        return os.path.relpath(path.resolve(), base)

    lines = [
        "# dstack-gov devnet configuration, written by `dstack-gov devnet`.",
        "# DEV ONLY: the keys it points at are anvil's public test keys.",
        "",
        "[chain]",
        f'rpc_url = "{devnet.rpc_url}"',
        f"chain_id = {devnet.chain_id}",
        "",
        "[contracts]",
        f'kms = "{devnet.kms}"',
        f'app_implementation = "{devnet.app_implementation}"',
        f'default_app = "{devnet.app}"',
        "",
        "[safe_infra]",
        f'multi_send_call_only = "{devnet.infra.multi_send_call_only}"',
        f'simulate_tx_accessor = "{devnet.infra.simulate_tx_accessor}"',
        "",
        "[[safes]]",
        f'address = "{devnet.safe}"',
        'name = "devnet"',
        "",
        "[signer]  # the key used by direct-mode admin commands",
        f'file = "{rel(state / "deployer.key")}"',
        "",
        "[executor]  # pays gas for Safe executions; never an owner",
        f'file = "{rel(state / "executor.key")}"',
        "",
        "[database]",
        f'url = "sqlite:///{rel(state / "dstack-gov.sqlite")}"',
        "",
    ]
    options.config_path.write_text("\n".join(lines))
