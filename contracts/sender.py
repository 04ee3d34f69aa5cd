"""Send transactions from a local key: simulate, estimate, sign, wait, report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import BadResponseFormat, ContractLogicError, TimeExhausted, TransactionNotFound, Web3RPCError
from web3.types import TxParams

from .revert import decode_revert

# Headroom over eth_estimateGas: estimates are exact for the simulated state, and
# the state can move (another tx in the same block) before ours is mined.
GAS_HEADROOM_NUM, GAS_HEADROOM_DEN = 6, 5

# Called with (tx hash, raw signed tx, account nonce) after signing and before broadcasting.
OnSigned = Callable[[HexBytes, bytes, int], None]


class TransactionReverted(Exception):
    """The transaction would revert (when simulated) or did revert (when mined)."""

    def __init__(self, reason: str, *, tx_hash: HexBytes | None = None) -> None:
        self.reason = reason
        self.tx_hash = tx_hash
        super().__init__(reason)


@dataclass(frozen=True)
class Receipt:
    """What a mined transaction left behind."""

    tx_hash: HexBytes
    block_number: int
    gas_used: int
    status: int
    contract_address: ChecksumAddress | None
    logs: tuple[Any, ...]

    @classmethod
    def from_web3(cls, raw: Any) -> Receipt:
        """Build from a web3 receipt mapping."""
        return cls(
            tx_hash=HexBytes(raw["transactionHash"]),
            block_number=int(raw["blockNumber"]),
            gas_used=int(raw["gasUsed"]),
            status=int(raw["status"]),
            contract_address=raw.get("contractAddress"),
            logs=tuple(raw["logs"]),
        )


def revert_data(error: ContractLogicError) -> bytes | None:
    """Extract the raw revert bytes from a web3 ContractLogicError."""
    data = error.data
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    return None


def describe_call_error(error: ContractLogicError) -> str:
    """Decode a ContractLogicError into its revert reason."""
    data = revert_data(error)
    if data:
        return decode_revert(data)
    message = str(error.message or error)
    return message.removeprefix("execution reverted: ").removeprefix("execution reverted") or "reverted"


class TransactionSender:
    """Sign and send transactions for one local account; re-broadcast with higher fees when stuck."""

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        *,
        receipt_timeout: float = 120.0,
        stuck_after: float | None = None,
        max_fee_per_gas: int | None = None,
        max_bumps: int = 3,
        poll_interval: float = 0.05,
        max_poll_interval: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.w3 = w3
        self.account = account
        self.receipt_timeout = receipt_timeout
        # None: never bump (wait the full receipt_timeout for the first broadcast).
        self.stuck_after = stuck_after
        self.max_bumps = max_bumps
        # Receipt polls start at poll_interval and double up to max_poll_interval: an automining node
        # answers the first one, and a chain with 12 s blocks is asked about a dozen times, not 240.
        self.poll_interval = poll_interval
        # The most per gas this key may offer (wei); bumps stop there. None: the market's price.
        self.max_fee_per_gas = max_fee_per_gas
        self.max_poll_interval = max_poll_interval
        self._sleep = sleep
        self.broadcasts: list[HexBytes] = []  # every hash sent by the last send(), for audit

    @property
    def address(self) -> ChecksumAddress:
        """Return the sending address."""
        return self.account.address

    def simulate(self, to: ChecksumAddress | None, data: bytes, value: int = 0) -> bytes:
        """Run the call against the latest state; raise TransactionReverted with the reason."""
        tx: dict[str, Any] = {"from": self.account.address, "data": HexBytes(data), "value": value}
        if to is not None:
            tx["to"] = to
        try:
            return bytes(self.w3.eth.call(cast(TxParams, tx)))
        except ContractLogicError as error:
            raise TransactionReverted(describe_call_error(error)) from error

    def send(
        self,
        to: ChecksumAddress | None,
        data: bytes,
        value: int = 0,
        gas: int | None = None,
        *,
        on_signed: OnSigned | None = None,
    ) -> Receipt:
        """Simulate, sign, send and wait for the receipt; `on_signed` sees each signed tx before it is sent."""
        tx: dict[str, Any] = {"from": self.account.address, "data": HexBytes(data), "value": value}
        if to is not None:
            tx["to"] = to
        fees = self.prepare(tx, gas)
        receipt = self._broadcast_until_mined(tx, fees, on_signed)
        if receipt.status != 1:
            raise TransactionReverted("transaction reverted on chain", tx_hash=receipt.tx_hash)
        return receipt

    def prepare(self, tx: dict[str, Any], gas: int | None = None) -> dict[str, int]:
        """Simulate `tx` once and fill in its chain id, nonce and gas in one round trip; return the fees.

        The simulation is eth_estimateGas (eth_call when `gas` is given): a revert raises TransactionReverted
        with the reason. A node that takes no batches, or lacks a method, is asked one call at a time.
        """
        eth, params = self.w3.eth, cast(TxParams, tx)
        try:
            with self.w3.batch_requests() as batch:
                simulation = eth.estimate_gas(params) if gas is None else eth.call(params)
                for request in (simulation, eth.chain_id, eth.get_transaction_count(self.address, "pending"),
                                eth.get_block("latest"), eth.max_priority_fee):  # fmt: skip
                    batch.add(request)
                results: list[Any] = batch.execute()  # each request's result, formatted as web3 returns it
            simulated, chain_id, nonce, latest, tip = results
        except ContractLogicError as error:
            raise TransactionReverted(describe_call_error(error)) from error
        except (Web3RPCError, BadResponseFormat):
            return self._prepare_one_by_one(tx, gas)
        tx.update(chainId=int(chain_id), nonce=int(nonce), gas=_with_headroom(int(simulated)) if gas is None else gas)
        base_fee = latest.get("baseFeePerGas")
        return self.fees() if base_fee is None else self.capped(_eip1559_fees(int(base_fee), int(tip)))

    def _prepare_one_by_one(self, tx: dict[str, Any], gas: int | None) -> dict[str, int]:
        if gas is None:
            try:
                gas = _with_headroom(self.w3.eth.estimate_gas(cast(TxParams, tx)))
            except ContractLogicError as error:
                raise TransactionReverted(describe_call_error(error)) from error
        else:
            self.simulate(tx.get("to"), tx["data"], tx["value"])
        tx.update(chainId=self.w3.eth.chain_id, nonce=self.w3.eth.get_transaction_count(self.address, "pending"))
        tx["gas"] = gas
        return self.fees()

    def deploy(self, creation_code: bytes) -> Receipt:
        """Deploy a contract from its creation code (constructor arguments appended)."""
        return self.send(None, creation_code)

    def broadcast(self, raw: bytes) -> HexBytes:
        """Hand one signed transaction to the node and return its hash."""
        return HexBytes(self.w3.eth.send_raw_transaction(raw))

    def _broadcast_until_mined(self, tx: dict[str, Any], fees: dict[str, int], on_signed: OnSigned | None) -> Receipt:
        """Send `tx` with `fees`; while no receipt arrives, replace it at the same nonce with bumped fees."""
        self.broadcasts = []
        for attempt in range(self.max_bumps + 1):
            if attempt:
                fees = self._bumped(fees)
            tx.update(fees)
            signed = self.account.sign_transaction(tx)
            if on_signed is not None:
                on_signed(HexBytes(signed.hash), bytes(signed.raw_transaction), int(tx["nonce"]))
            try:
                self.broadcasts.append(self.broadcast(bytes(signed.raw_transaction)))
            except Web3RPCError as error:
                # An earlier broadcast was mined meanwhile: its receipt is what we wait for.
                if "nonce too low" not in str(error).lower() or not self.broadcasts:
                    raise
            last = attempt == self.max_bumps or self.stuck_after is None
            receipt = self._wait_any(self.receipt_timeout if last else cast(float, self.stuck_after))
            if receipt is not None:
                return receipt
            if last:
                break
        raise TimeExhausted(f"no receipt for {len(self.broadcasts)} broadcast(s) of nonce {tx['nonce']}")

    def _wait_any(self, timeout: float) -> Receipt | None:
        """Poll every broadcast hash until one has a receipt or `timeout` passes."""
        deadline = time.monotonic() + timeout
        interval = self.poll_interval
        while True:
            for tx_hash in reversed(self.broadcasts):
                try:
                    raw = self.w3.eth.get_transaction_receipt(tx_hash)
                except TransactionNotFound:
                    continue
                if raw is not None:
                    return Receipt.from_web3(raw)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._sleep(min(interval, left))
            interval = min(interval * 2, max(self.max_poll_interval, self.poll_interval))

    def _bumped(self, fees: dict[str, int]) -> dict[str, int]:
        """Return fees at least 12.5% above `fees` (nodes want >= 10% to replace) and at market."""
        fresh = self.fees()
        return self.capped({key: max(fresh[key], value * 9 // 8 + 1) for key, value in fees.items()})

    def fees(self) -> dict[str, int]:
        """Return EIP-1559 fee fields (or a legacy gas price) for the next block."""
        latest = self.w3.eth.get_block("latest")
        base_fee = latest.get("baseFeePerGas")
        if base_fee is None:
            return {"gasPrice": int(self.w3.eth.gas_price)}
        try:
            tip = int(self.w3.eth.max_priority_fee)
        except Exception:  # noqa: BLE001 - some nodes lack eth_maxPriorityFeePerGas
            tip = 10**9
        return self.capped(_eip1559_fees(int(base_fee), tip))

    def capped(self, fees: dict[str, int]) -> dict[str, int]:
        """Return `fees` with no field above max_fee_per_gas (the executor waits rather than overpays)."""
        if self.max_fee_per_gas is None:
            return fees
        return {key: min(value, self.max_fee_per_gas) for key, value in fees.items()}


def _with_headroom(estimate: int) -> int:
    return estimate * GAS_HEADROOM_NUM // GAS_HEADROOM_DEN


def _eip1559_fees(base_fee: int, tip: int) -> dict[str, int]:
    tip = max(tip, 1)
    return {"maxFeePerGas": 2 * base_fee + tip, "maxPriorityFeePerGas": tip}
