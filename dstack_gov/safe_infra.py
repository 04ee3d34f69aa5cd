"""Deploy the Safe contracts on a dev chain and create Safes there."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from safe_eth.eth import EthereumClient
from safe_eth.eth.contracts import (
    get_multi_send_call_only_V1_4_1_contract,
    get_simulate_tx_accessor_V1_4_1_contract,
)
from safe_eth.eth.ethereum_client import EthereumTxSent
from safe_eth.eth.exceptions import ContractAlreadyDeployed
from safe_eth.safe import Safe
from safe_eth.safe.compatibility_fallback_handler import (
    CompatibilityFallbackHandlerV130,
    CompatibilityFallbackHandlerV141,
)
from safe_eth.safe.proxy_factory import ProxyFactoryV130, ProxyFactoryV141
from safe_eth.safe.safe import SafeV130, SafeV141
from web3 import Web3

# The Safe singleton factory (github.com/safe-global/safe-singleton-factory): a presigned,
# chain-id-1337 deployment. Once it exists, every Safe contract lands on its canonical address.
SINGLETON_FACTORY_DEPLOYER = Web3.to_checksum_address("0xE1CB04A0fA36DdD16a06ea828007E35e1a3cBC37")
SINGLETON_FACTORY_FUNDING = 10**16
SINGLETON_FACTORY_RAW_TX = HexBytes(
    "0xf8a78085174876e800830186a08080b853604580600e600039806000f350fe7fffffffffffffffffffffffffffffffffffffffff"
    "ffffffffffffffffffffffe03601600081602082378035828234f58015156039578182fd5b8082525050506014600cf3820a96a046"
    "0c6ea9b8f791e5d9e67fbf2c70aba92bf88591c39ac3747ea1bedc2ef1750ca04b08a4b5cea15a56276513da7a0c0b34f16e89811d"
    "5dd911efba5f8625a921cc"
)


@dataclass(frozen=True)
class SafeInfra:
    """Addresses of the Safe contracts on one chain."""

    singleton: ChecksumAddress  # Safe 1.4.1 (safe-eth-py's artifact is the SafeL2 build)
    proxy_factory: ChecksumAddress
    fallback_handler: ChecksumAddress
    multi_send_call_only: ChecksumAddress
    simulate_tx_accessor: ChecksumAddress
    singleton_v130: ChecksumAddress
    proxy_factory_v130: ChecksumAddress
    fallback_handler_v130: ChecksumAddress


# Where the singleton factory puts each contract on every chain (these match deploy_safe_infra's results).
CANONICAL_INFRA = SafeInfra(
    singleton=Web3.to_checksum_address("0x29fcB43b46531BcA003ddC8FCB67FFE91900C762"),
    proxy_factory=Web3.to_checksum_address("0x4e1DCf7AD4e460CfD30791CCC4F9c8a4f820ec67"),
    fallback_handler=Web3.to_checksum_address("0xfd0732Dc9E303f09fCEf3a7388Ad10A83459Ec99"),
    multi_send_call_only=Web3.to_checksum_address("0x9641d764fc13c8B624c04430C7356C1C7C8102e2"),
    simulate_tx_accessor=Web3.to_checksum_address("0x3d4BA2E0884aa488718476ca2FB8Efc291A46199"),
    singleton_v130=Web3.to_checksum_address("0xfb1bffC9d739B8D520DaF37dF666da4C687191EA"),
    proxy_factory_v130=Web3.to_checksum_address("0xC22834581EbC8527d974F8a1c97E1bEA4EF910BC"),
    fallback_handler_v130=Web3.to_checksum_address("0x017062a1dE2FE6b99BE3d9d37841FeD19F573804"),
)


def ensure_singleton_factory(client: EthereumClient, funder: LocalAccount) -> None:
    """Deploy the Safe singleton factory unless it is already there."""
    if client.get_singleton_factory_address():
        return
    w3 = client.w3
    tx: dict[str, Any] = {
        "to": SINGLETON_FACTORY_DEPLOYER,
        "value": SINGLETON_FACTORY_FUNDING,
        "gas": 21_000,
        "gasPrice": w3.eth.gas_price,
        "nonce": w3.eth.get_transaction_count(funder.address, "pending"),
        "chainId": w3.eth.chain_id,
    }
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(funder.sign_transaction(tx).raw_transaction))
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(SINGLETON_FACTORY_RAW_TX))
    if receipt["status"] != 1:
        raise RuntimeError("the Safe singleton factory deployment reverted")
    client.clear_cache()


def _idempotent(deploy: Callable[[], EthereumTxSent]) -> ChecksumAddress:
    """Run a deterministic deployment; an existing contract at the address is fine."""
    try:
        sent = deploy()
        return _address_of(sent)
    except ContractAlreadyDeployed as exc:
        return Web3.to_checksum_address(exc.address)


def _address_of(sent: EthereumTxSent) -> ChecksumAddress:
    if sent.contract_address is None:
        raise RuntimeError("the deployment returned no contract address")
    return Web3.to_checksum_address(sent.contract_address)


def _constructor_data(contract_factory: Callable[[Web3], object], w3: Web3) -> bytes:
    contract = contract_factory(w3)
    data = contract.constructor().build_transaction({"gas": 0, "gasPrice": 0})["data"]  # type: ignore[attr-defined]
    return bytes(HexBytes(data))


def deploy_safe_infra(client: EthereumClient, deployer: LocalAccount) -> SafeInfra:
    """Deploy (or find) the Safe 1.4.1 and 1.3.0 contracts at their canonical addresses."""
    if client.w3.eth.chain_id != 1337:
        raise RuntimeError("the Safe singleton factory's presigned deployment needs chain id 1337")
    ensure_singleton_factory(client, deployer)

    def deterministic(factory: Callable[[Web3], object]) -> ChecksumAddress:
        data = _constructor_data(factory, client.w3)
        return _idempotent(lambda: client.deploy_and_initialize_contract(deployer, data))

    return SafeInfra(
        singleton=_idempotent(lambda: SafeV141.deploy_contract(client, deployer)),
        proxy_factory=_idempotent(lambda: ProxyFactoryV141.deploy_contract(client, deployer)),
        fallback_handler=_idempotent(lambda: CompatibilityFallbackHandlerV141.deploy_contract(client, deployer)),
        multi_send_call_only=deterministic(get_multi_send_call_only_V1_4_1_contract),
        simulate_tx_accessor=deterministic(get_simulate_tx_accessor_V1_4_1_contract),
        singleton_v130=_idempotent(lambda: SafeV130.deploy_contract(client, deployer)),
        proxy_factory_v130=_idempotent(lambda: ProxyFactoryV130.deploy_contract(client, deployer)),
        fallback_handler_v130=_idempotent(lambda: CompatibilityFallbackHandlerV130.deploy_contract(client, deployer)),
    )


def create_safe(
    client: EthereumClient,
    deployer: LocalAccount,
    infra: SafeInfra,
    owners: Sequence[ChecksumAddress],
    threshold: int,
    *,
    version: str = "1.4.1",
    salt_nonce: int | None = None,
) -> ChecksumAddress:
    """Create a Safe proxy with `owners` and `threshold`; `salt_nonce` makes the address predictable."""
    if not 1 <= threshold <= len(owners):
        raise ValueError(f"threshold must be between 1 and {len(owners)}")
    if version == "1.4.1":
        singleton, factory, handler = infra.singleton, infra.proxy_factory, infra.fallback_handler
    elif version == "1.3.0":
        singleton, factory, handler = (
            infra.singleton_v130,
            infra.proxy_factory_v130,
            infra.fallback_handler_v130,
        )
    else:
        raise ValueError(f"unsupported Safe version {version}")
    if salt_nonce is None:
        sent = Safe.create(client, deployer, singleton, list(owners), threshold, handler, factory)
        client.get_transaction_receipt(HexBytes(sent.tx_hash), timeout=60)
        return _address_of(sent)
    setup = SafeV141(Web3.to_checksum_address("0x" + "00" * 20), client).contract.encode_abi(
        "setup",
        [list(owners), threshold, "0x" + "00" * 20, b"", handler, "0x" + "00" * 20, 0, "0x" + "00" * 20],
    )
    proxy_factory = (ProxyFactoryV141 if version == "1.4.1" else ProxyFactoryV130)(factory, client)
    address = proxy_factory.calculate_proxy_address(singleton, HexBytes(setup), salt_nonce)
    if client.is_contract(address):
        return Web3.to_checksum_address(address)
    sent = proxy_factory.deploy_proxy_contract_with_nonce(deployer, singleton, HexBytes(setup), salt_nonce)
    client.get_transaction_receipt(HexBytes(sent.tx_hash), timeout=60)
    return _address_of(sent)
