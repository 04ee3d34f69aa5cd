"""Safe transactions: build (MultiSend for batches), hash, export typed data, simulate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi import decode, encode
from eth_account.messages import encode_typed_data
from eth_typing import ChecksumAddress
from eth_utils import function_signature_to_4byte_selector
from hexbytes import HexBytes
from safe_eth.eth import EthereumClient
from safe_eth.eth.contracts import get_safe_V1_4_1_contract
from safe_eth.safe import SafeTx
from safe_eth.safe.multi_send import MultiSend, MultiSendOperation, MultiSendTx
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import BadFunctionCallOutput, BadResponseFormat, ContractLogicError, Web3RPCError

from contracts import decode_revert
from contracts.sender import revert_data
from proposals.errors import InvalidInput, NotFound, Unavailable, humanize_revert, translate_chain_errors
from proposals.models import SafeTxData

ZERO_ADDRESS = Web3.to_checksum_address("0x" + "00" * 20)
CALL, DELEGATECALL = 0, 1
# Canonical Safe 1.4.1 deployments (the singleton factory puts them at these addresses everywhere).
CANONICAL_MULTI_SEND_CALL_ONLY = Web3.to_checksum_address("0x9641d764fc13c8B624c04430C7356C1C7C8102e2")
CANONICAL_SIMULATE_TX_ACCESSOR = Web3.to_checksum_address("0x3d4BA2E0884aa488718476ca2FB8Efc291A46199")

_MULTI_SEND = function_signature_to_4byte_selector("multiSend(bytes)")
_SIMULATE_AND_REVERT = function_signature_to_4byte_selector("simulateAndRevert(address,bytes)")
_ACCESSOR_SIMULATE = function_signature_to_4byte_selector("simulate(address,uint256,bytes,uint8)")


@dataclass(frozen=True)
class SafeState:
    """What the chain says about a Safe right now."""

    address: ChecksumAddress
    version: str
    chain_id: int
    nonce: int
    owners: tuple[ChecksumAddress, ...]
    threshold: int

    def is_owner(self, address: str) -> bool:
        """Return True when `address` is a current owner."""
        return address.lower() in {o.lower() for o in self.owners}


@lru_cache(maxsize=256)
def _safe_contract(w3: Web3, safe: ChecksumAddress) -> Contract:
    # Building a contract object parses the ABI (~15 ms); reads happen on every signature.
    return get_safe_V1_4_1_contract(w3, safe)


def read_safe_state(w3: Web3, safe: ChecksumAddress) -> SafeState:
    """Read version, nonce, owners and threshold of `safe` in one JSON-RPC batch (one round trip)."""
    functions = _safe_contract(w3, safe).functions
    with translate_chain_errors(f"reading Safe {safe}"):
        try:
            with w3.batch_requests() as batch:
                for request in (w3.eth.chain_id, w3.eth.get_code(safe), functions.VERSION(), functions.nonce(),
                                functions.getOwners(), functions.getThreshold()):  # fmt: skip
                    batch.add(request)
                chain_id, code, version, nonce, owners, threshold = batch.execute()
        except (ContractLogicError, BadFunctionCallOutput, BadResponseFormat, Web3RPCError):
            # Not a Safe, no code, or a node that takes no batches: one call at a time says which.
            return _read_safe_state_one_by_one(w3, safe)
        if not code:
            raise NotFound(f"no contract code at {safe} (Safe)")
        return _safe_state(safe, version, chain_id, nonce, owners, threshold)


def _read_safe_state_one_by_one(w3: Web3, safe: ChecksumAddress) -> SafeState:
    functions = _safe_contract(w3, safe).functions
    if not w3.eth.get_code(safe):
        raise NotFound(f"no contract code at {safe} (Safe)")
    try:
        version = functions.VERSION().call()
    except (ContractLogicError, BadFunctionCallOutput):
        raise InvalidInput(f"{safe} is not a Safe (it has no VERSION())") from None
    return _safe_state(safe, version, w3.eth.chain_id, functions.nonce().call(), functions.getOwners().call(),
                       functions.getThreshold().call())  # fmt: skip


def _safe_state(
    safe: ChecksumAddress, version: Any, chain_id: Any, nonce: Any, owners: Any, threshold: Any
) -> SafeState:
    return SafeState(
        address=safe,
        version=str(version),
        chain_id=int(chain_id),
        nonce=int(nonce),
        owners=tuple(Web3.to_checksum_address(o) for o in owners),
        threshold=int(threshold),
    )


def batch_call(calls: Sequence[tuple[ChecksumAddress, bytes]], multi_send: ChecksumAddress) -> tuple[
    ChecksumAddress, bytes, int
]:  # fmt: skip
    """Return (to, data, operation) for one call, or a MultiSendCallOnly batch for several."""
    if not calls:
        raise ValueError("a proposal needs at least one call")
    if len(calls) == 1:
        to, data = calls[0]
        return to, data, CALL
    return multi_send, multi_send_data([(to, 0, data, CALL) for to, data in calls]), DELEGATECALL


def multi_send_data(inner: Sequence[tuple[ChecksumAddress, int, bytes, int]]) -> bytes:
    """Return the multiSend calldata that packs `inner` (to, value, data, operation) calls."""
    packed = b"".join(
        bytes(MultiSendTx(MultiSendOperation(operation), to, value, data).encoded_data)
        for to, value, data, operation in inner
    )
    return _MULTI_SEND + encode(["bytes"], [packed])


def unbatch(to: ChecksumAddress, data: bytes, operation: int, multi_send_addresses: Sequence[str],
            value: int = 0) -> list[tuple[ChecksumAddress, int, bytes, int]]:  # fmt: skip
    """Return the inner calls (to, value, data, operation) of a Safe tx: itself, or its MultiSend batch."""
    is_multi_send = operation == DELEGATECALL and to.lower() in {a.lower() for a in multi_send_addresses}
    if is_multi_send:
        try:
            inner = MultiSend.from_transaction_data(data)
        except Exception:  # noqa: BLE001 - not a MultiSend payload after all: show the raw call
            inner = []
        if inner:
            return [(Web3.to_checksum_address(t.to), t.value, bytes(t.data), t.operation.value) for t in inner]
    return [(to, value, bytes(data), operation)]


def new_safe_tx_data(
    state: SafeState, to: ChecksumAddress, data: bytes, operation: int, nonce: int, value: int = 0
) -> SafeTxData:
    """Return a Safe tx with no gas refund (safeTxGas = 0, gasPrice = 0), as Safe{Wallet} does."""
    return SafeTxData(
        safe=state.address,
        chain_id=state.chain_id,
        safe_version=state.version,
        to=to,
        value=value,
        data=bytes(data),
        operation=operation,
        safe_tx_gas=0,
        base_gas=0,
        gas_price=0,
        gas_token=ZERO_ADDRESS,
        refund_receiver=ZERO_ADDRESS,
        nonce=nonce,
    )


def to_safe_tx(tx: SafeTxData, client: EthereumClient | None = None, signatures: bytes = b"") -> SafeTx:
    """Return safe-eth-py's SafeTx for `tx` (no network access needed for hashing)."""
    return SafeTx(
        client,  # type: ignore[arg-type]
        tx.safe,
        tx.to,
        tx.value,
        HexBytes(tx.data),
        tx.operation,
        tx.safe_tx_gas,
        tx.base_gas,
        tx.gas_price,
        tx.gas_token,
        tx.refund_receiver,
        signatures=HexBytes(signatures),
        safe_nonce=tx.nonce,
        safe_version=tx.safe_version,
        chain_id=tx.chain_id,
    )


def exec_transaction_calldata(w3: Web3, tx: SafeTxData, signatures: bytes) -> bytes:
    """Return the calldata of `execTransaction` for `tx` with the combined owner `signatures`."""
    arguments = [tx.to, tx.value, bytes(tx.data), tx.operation, tx.safe_tx_gas, tx.base_gas, tx.gas_price,
                 tx.gas_token, tx.refund_receiver, bytes(signatures)]  # fmt: skip
    return bytes(HexBytes(_safe_contract(w3, tx.safe).encode_abi("execTransaction", args=arguments)))


@dataclass(frozen=True)
class SafeTxHashes:
    """The safeTxHash and its two parts, for checking on a hardware wallet's screen."""

    safe_tx_hash: bytes
    domain_hash: bytes
    message_hash: bytes
    preimage: bytes


def safe_tx_hashes(tx: SafeTxData) -> SafeTxHashes:
    """Compute the safeTxHash, the EIP-712 domain hash and the message hash."""
    safe_tx = to_safe_tx(tx)
    signable = encode_typed_data(full_message=typed_data(tx))
    return SafeTxHashes(
        safe_tx_hash=bytes(safe_tx.safe_tx_hash),
        domain_hash=bytes(signable.header),
        message_hash=bytes(signable.body),
        preimage=bytes(safe_tx.safe_tx_hash_preimage),
    )


def _json_number(value: int) -> int | str:
    # Wallets and cast read JSON numbers as doubles; keep big integers exact as decimal strings.
    return value if value < 2**53 else str(value)


def typed_data(tx: SafeTxData) -> dict[str, Any]:
    """Return EIP-712 typed data JSON for `tx`, as eth_signTypedData_v4 and `cast wallet sign --data` take it."""
    structured = to_safe_tx(tx).eip712_structured_data
    # safe-eth-py adds a legacy `dataGas` to every message; emit exactly the fields types.SafeTx declares.
    declared = [entry["name"] for entry in structured["types"]["SafeTx"]]
    message: dict[str, Any] = {}
    for key in declared:
        value = structured["message"][key]
        if isinstance(value, (bytes, bytearray)):
            message[key] = "0x" + bytes(value).hex()
        elif isinstance(value, int):
            message[key] = _json_number(value)
        else:
            message[key] = value
    domain = dict(structured["domain"])
    return {
        "types": structured["types"],
        "primaryType": structured["primaryType"],
        "domain": domain,
        "message": message,
    }


@dataclass(frozen=True)
class Simulation:
    """The outcome of running a Safe tx's inner call as the Safe, without signatures."""

    success: bool
    gas_used: int
    reason: str


def simulate(w3: Web3, tx: SafeTxData, accessor: ChecksumAddress = CANONICAL_SIMULATE_TX_ACCESSOR) -> Simulation:
    """Run the inner call as the Safe would (SimulateTxAccessor through simulateAndRevert)."""
    payload = _ACCESSOR_SIMULATE + encode(
        ["address", "uint256", "bytes", "uint8"], [tx.to, tx.value, tx.data, tx.operation]
    )
    call = _SIMULATE_AND_REVERT + encode(["address", "bytes"], [accessor, payload])
    with translate_chain_errors("simulating the Safe transaction"):
        try:
            w3.eth.call({"to": tx.safe, "data": HexBytes(call)})
        except ContractLogicError as exc:
            data = revert_data(exc)
        else:
            raise Unavailable("the Safe did not answer simulateAndRevert as expected")
    if not data or len(data) < 64:
        raise Unavailable("the Safe's simulation returned nothing (is the SimulateTxAccessor deployed?)")
    delegate_ok = int.from_bytes(data[:32], "big") == 1
    length = int.from_bytes(data[32:64], "big")
    returned = data[64 : 64 + length]
    if not delegate_ok:
        return Simulation(False, 0, "the simulation itself failed (is the SimulateTxAccessor deployed?)")
    estimate, success, inner = decode(["uint256", "bool", "bytes"], returned)
    reason = "" if success else humanize_revert(decode_revert(inner))
    return Simulation(bool(success), int(estimate), reason)
