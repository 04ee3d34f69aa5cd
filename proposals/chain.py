"""Read-only chain access for the core: contract state, code, proxies and events."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

import requests
from eth_typing import URI, ChecksumAddress
from hexbytes import HexBytes
from safe_eth.eth import EthereumClient
from safe_eth.eth.contracts import get_safe_V1_4_1_contract
from web3 import Web3
from web3.contract import Contract

from contracts import app_abi, kms_abi
from proposals.catalogue.model import Group
from proposals.errors import NotFound, Unavailable, translate_chain_errors
from proposals.events import UPGRADES_DISABLED_TOPIC
from proposals.rpc_endpoints import FAILOVER_URL, mount_endpoints

# ERC-1967 implementation slot: keccak256("eip1967.proxy.implementation") - 1.
IMPLEMENTATION_SLOT = int("360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc", 16)


def check_chain(w3: Web3, expected_chain_id: int | None) -> None:
    """Check the node answers, and with the chain id we expect."""
    try:
        chain_id = w3.eth.chain_id
    except Exception as exc:
        # Any failure to read the chain id means the node is unusable; keep the URL out of it.
        raise Unavailable("the RPC node is unreachable or not an Ethereum node") from exc
    if expected_chain_id is not None and chain_id != expected_chain_id:
        raise Unavailable(f"wrong chain: the RPC node reports chain id {chain_id}, expected {expected_chain_id}")


# Neither client retries: web3 retries a timed-out request five times (and safe-eth-py's session once
# more), so a node that accepts connections and never answers held each call for 5x the timeout. One
# attempt keeps a user-facing call within `timeout`; the callers report Unavailable and the user retries.


def _endpoints(rpc_url: str | Sequence[str]) -> tuple[str, ...]:
    return (rpc_url,) if isinstance(rpc_url, str) else tuple(rpc_url)


def connect(rpc_url: str | Sequence[str], *, expected_chain_id: int | None = None, timeout: float = 10.0) -> Web3:
    """Open a web3 client over one or several endpoints (with failover) and check the chain id."""
    session = requests.Session()
    mount_endpoints(session, _endpoints(rpc_url))  # registers each URL for log redaction
    provider = Web3.HTTPProvider(FAILOVER_URL, request_kwargs={"timeout": timeout}, session=session,
                                 exception_retry_configuration=None)  # fmt: skip
    w3 = Web3(provider)
    check_chain(w3, expected_chain_id)
    return w3


def connect_client(
    rpc_url: str | Sequence[str],
    *,
    expected_chain_id: int | None = None,
    timeout: float = 10.0,
    verify: bool = True,
) -> EthereumClient:
    """Return a safe-eth-py client over one or several endpoints, checked like `connect` (unless not `verify`)."""
    seconds = int(max(1, timeout))
    # The client posts everything (web3 calls and its own batches) through its one session: the pool
    # mounted there serves all of it.
    client = EthereumClient(URI(FAILOVER_URL), provider_timeout=seconds, slow_provider_timeout=seconds, retry_count=0)
    mount_endpoints(client.http_session, _endpoints(rpc_url))
    for provider in (client.w3_provider, client.w3_slow_provider):
        provider.exception_retry_configuration = None  # type: ignore[assignment]  # None disables them (web3 docs)
    if verify:  # building the client sends nothing: without the check, the node is first asked on first use
        check_chain(client.w3, expected_chain_id)
    return client


# Public RPC nodes cap eth_getLogs ranges (often at 10,000 blocks); stay well under.
LOG_CHUNK_BLOCKS = 5_000


def block_ranges(start: int, end: int, size: int) -> Iterator[tuple[int, int]]:
    """Split [start, end] into consecutive inclusive ranges of at most `size` blocks."""
    while start <= end:
        yield start, min(end, start + size - 1)
        start += size


class ChainReader:
    """Reads contract state for the catalogue's prechecks and diffs, and for `info` / `policy`."""

    def __init__(
        self,
        w3: Web3,
        kms: ChecksumAddress | None = None,
        *,
        start_block: int = 0,
        chunk_blocks: int = LOG_CHUNK_BLOCKS,
    ) -> None:
        self.w3 = w3
        self.kms = kms
        # Events before the contracts were deployed are not worth asking for.
        self.start_block = start_block
        self.chunk_blocks = chunk_blocks
        # Addresses seen holding code: code, once deployed, stays (no SELFDESTRUCT removes it since Cancun).
        self._with_code: set[str] = set()
        # Within one snapshot(), each view call is read once (a precheck and a diff ask the same).
        self._reads: dict[tuple[Any, ...], Any] | None = None

    def snapshot(self) -> ChainReader:
        """Return a reader for one plan: it shares this one's knowledge of code, and reads each view call once."""
        view = ChainReader(self.w3, self.kms, start_block=self.start_block, chunk_blocks=self.chunk_blocks)
        view._with_code = self._with_code
        view._reads = {}
        return view

    def logs(self, address: ChecksumAddress, topics: Sequence[bytes]) -> list[Any]:
        """Return `address`'s logs whose first topic is one of `topics`, oldest first, fetched in chunks."""
        with translate_chain_errors("reading contract events"):
            latest = int(self.w3.eth.block_number)
            found: list[Any] = []
            for start, end in block_ranges(self.start_block, latest, self.chunk_blocks):
                found.extend(self.w3.eth.get_logs(
                    {"address": address, "fromBlock": start, "toBlock": end, "topics": [[HexBytes(t) for t in topics]]}
                ))  # fmt: skip
        return sorted(found, key=lambda entry: (entry["blockNumber"], entry["logIndex"]))

    @cache  # noqa: B019 - one reader per command/request; contract objects are reused within it
    def contract(self, group: Group, address: ChecksumAddress) -> Contract:
        """Return a bound contract of the `group` interface at `address`."""
        if group is Group.KMS:
            return self.w3.eth.contract(address=address, abi=kms_abi())
        if group is Group.APP:
            return self.w3.eth.contract(address=address, abi=app_abi())
        return get_safe_V1_4_1_contract(self.w3, address)

    def has_code(self, address: ChecksumAddress) -> bool:
        """Return True when `address` holds contract code."""
        if address.lower() in self._with_code:
            return True
        with translate_chain_errors("reading contract code"):
            found = len(self.w3.eth.get_code(address)) > 0
        if found:
            self._with_code.add(address.lower())
        return found

    def require_code(self, address: ChecksumAddress, what: str) -> None:
        """Raise NotFound when `address` has no code."""
        if not self.has_code(address):
            raise NotFound(f"no contract code at {address} ({what})")

    def implementation(self, proxy: ChecksumAddress) -> ChecksumAddress:
        """Return the ERC-1967 implementation behind `proxy`."""
        with translate_chain_errors("reading the proxy implementation"):
            raw = self.w3.eth.get_storage_at(proxy, IMPLEMENTATION_SLOT)
        return Web3.to_checksum_address(raw[-20:])

    def upgrades_disabled(self, app: ChecksumAddress) -> bool:
        """Return True once the app emitted UpgradesDisabled (the flag has no getter)."""
        return bool(self.logs(app, [UPGRADES_DISABLED_TOPIC]))

    def read(self, group: Group, target: ChecksumAddress, getter: str, args: Sequence[Any] = ()) -> Any:
        """Call view `getter` (or one of the pseudo-getters: implementation, has_code, upgradesDisabled)."""
        if getter == "implementation":
            return self.implementation(target)
        if getter == "has_code":
            return self.has_code(target)
        if getter == "upgradesDisabled":
            return self.upgrades_disabled(target)
        key = (group, target.lower(), getter, *map(repr, args))
        if self._reads is not None and key in self._reads:
            return self._reads[key]
        with translate_chain_errors(f"reading {getter}"):
            value = getattr(self.contract(group, target).functions, getter)(*args).call()
        if self._reads is not None:
            self._reads[key] = value
        return value

    def app_registered(self, app: ChecksumAddress) -> bool | None:
        """Return whether `app` is registered with our KMS (None if no KMS is configured)."""
        if self.kms is None:
            return None
        return bool(self.read(Group.KMS, self.kms, "registeredApps", [app]))

    def owner_of(self, group: Group, target: ChecksumAddress) -> ChecksumAddress:
        """Return owner() of a KMS or app contract."""
        return Web3.to_checksum_address(self.read(group, target, "owner"))
