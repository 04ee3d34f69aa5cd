"""Deploy our contracts behind ERC-1967 proxies, and bind web3 to deployed ones."""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import encode
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract

from .artifacts import app_abi, kms_abi, load_artifact
from .sender import Receipt, TransactionSender


def kms_contract(w3: Web3, address: ChecksumAddress) -> Contract:
    """Bind the DstackKms interface to `address` (any contract with that interface)."""
    return w3.eth.contract(address=address, abi=kms_abi())


def app_contract(w3: Web3, address: ChecksumAddress) -> Contract:
    """Bind the DstackApp interface to `address` (any contract with that interface)."""
    return w3.eth.contract(address=address, abi=app_abi())


def creation_code(name: str, types: list[str] | None = None, args: list[object] | None = None) -> bytes:
    """Return `name`'s creation bytecode with ABI-encoded constructor arguments appended."""
    code = bytes(load_artifact(name).bytecode)
    if types:
        code += encode(types, args or [])
    return code


@dataclass(frozen=True)
class ProxyDeployment:
    """A UUPS proxy and the implementation behind it."""

    proxy: ChecksumAddress
    implementation: ChecksumAddress
    receipts: tuple[Receipt, ...]

    @property
    def gas_used(self) -> int:
        """Return the gas of every transaction the deployment took."""
        return sum(r.gas_used for r in self.receipts)


def deploy_implementation(sender: TransactionSender, name: str) -> Receipt:
    """Deploy a bare implementation contract (its initialisers are locked)."""
    receipt = sender.deploy(creation_code(name))
    assert receipt.contract_address is not None
    return receipt


def deploy_proxy(sender: TransactionSender, implementation: ChecksumAddress, init_data: bytes) -> Receipt:
    """Deploy an ERC-1967 proxy to `implementation`, calling `init_data` in its constructor."""
    receipt = sender.deploy(creation_code("ERC1967Proxy", ["address", "bytes"], [implementation, init_data]))
    assert receipt.contract_address is not None
    return receipt


def deploy_kms(
    sender: TransactionSender,
    owner: ChecksumAddress,
    app_implementation: ChecksumAddress | None = None,
    kms_implementation_name: str = "DstackKms",
) -> ProxyDeployment:
    """Deploy DstackKms behind a proxy, initialised with `owner` and the app implementation."""
    impl = deploy_implementation(sender, kms_implementation_name)
    assert impl.contract_address is not None
    zero = Web3.to_checksum_address("0x" + "00" * 20)
    init = kms_contract(sender.w3, impl.contract_address).encode_abi("initialize", [owner, app_implementation or zero])
    proxy = deploy_proxy(sender, impl.contract_address, bytes.fromhex(init[2:]))
    assert proxy.contract_address is not None
    return ProxyDeployment(proxy.contract_address, impl.contract_address, (impl, proxy))


@dataclass(frozen=True)
class AppSettings:
    """The initial policy of a new DstackApp."""

    owner: ChecksumAddress
    disable_upgrades: bool = False
    require_tcb_up_to_date: bool = False
    allow_any_device: bool = False
    initial_device_id: bytes = b"\x00" * 32
    initial_compose_hash: bytes = b"\x00" * 32

    def initialize_args(self) -> list[object]:
        """Return the arguments of the six-parameter `initialize`."""
        return [
            self.owner,
            self.disable_upgrades,
            self.require_tcb_up_to_date,
            self.allow_any_device,
            self.initial_device_id,
            self.initial_compose_hash,
        ]


def deploy_app(sender: TransactionSender, implementation: ChecksumAddress, settings: AppSettings) -> ProxyDeployment:
    """Deploy a DstackApp proxy directly (not via the KMS factory); it is not registered."""
    init = app_contract(sender.w3, implementation).encode_abi(
        "initialize(address,bool,bool,bool,bytes32,bytes32)", args=settings.initialize_args()
    )
    proxy = deploy_proxy(sender, implementation, bytes.fromhex(init[2:]))
    assert proxy.contract_address is not None
    return ProxyDeployment(proxy.contract_address, implementation, (proxy,))
