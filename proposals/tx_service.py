"""The Safe Transaction Service client: safe-eth-py's TransactionServiceApi, extended where sync needs more.

Why a subclass, and what it adds (everything else is the library's):

- `pending()` reads a Safe's whole queue (`executed=false&nonce__gte=N&ordering=nonce`), following the
  `next` links; `get_transactions` returns the first page only. The `next` link is followed by its
  query alone, on the configured base URL: the API key never goes to a host the service names.
- `propose()` and `confirm()` keep the HTTP status. `post_transaction` and `post_signatures` raise one
  exception for every failure, but the outbox must tell "not there yet" (404, post the transaction
  instead) from "refused" (4xx) and "down" (5xx, no answer). `propose()` also names the `sender`
  itself (`post_transaction` takes the lowest signer) and says where it came from (`origin`).

What the service sends is untrusted: it is parsed into `RemoteTx` values here, and every signature in it
is verified by the core before it counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from eth_typing import ChecksumAddress
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from safe_eth.eth import EthereumNetwork
from safe_eth.safe.api.transaction_service_api import TransactionServiceApi
from web3 import Web3

from proposals.errors import Unavailable
from proposals.models import SafeTxData

ORIGIN = "dstack-gov"
# Pages read per Safe and pass at most: a queue longer than this is read on the next pass.
MAX_PAGES = 50
_ERROR_BODY = 200


class TxServiceError(Unavailable):
    """The Transaction Service did not take or give what was asked (`status` None: no answer at all)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def retryable(self) -> bool:
        """Return True when trying again later may work (no answer, a server error, rate limited)."""
        return self.status is None or self.status >= 500 or self.status in (408, 429)


def _hex_bytes(value: Any) -> bytes:
    if value is None or value == "":
        return b""
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError("expected 0x-hex")
    return bytes.fromhex(value[2:])


def _address(value: Any) -> ChecksumAddress:
    if not isinstance(value, str) or not Web3.is_address(value):
        raise ValueError("expected an address")
    return Web3.to_checksum_address(value)


def _uint(value: Any) -> int:
    number = int(value) if isinstance(value, str) and value.isdigit() else value
    if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number < 2**256:
        raise ValueError("expected an unsigned integer")
    return number


HexBytesField = Annotated[bytes, BeforeValidator(_hex_bytes)]
AddressField = Annotated[ChecksumAddress, BeforeValidator(_address)]
Uint = Annotated[int, BeforeValidator(_uint)]


class RemoteConfirmation(BaseModel):
    """One confirmation as the service lists it (its owner is only the service's claim)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    owner: AddressField
    signature: HexBytesField
    signature_type: str = Field(alias="signatureType", default="")


class RemoteTx(BaseModel):
    """A multisig transaction as the service's v2 JSON has it."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    safe: AddressField
    to: AddressField
    value: Uint
    data: HexBytesField = b""
    operation: int = Field(ge=0, le=1)
    safe_tx_gas: Uint = Field(alias="safeTxGas")
    base_gas: Uint = Field(alias="baseGas")
    gas_price: Uint = Field(alias="gasPrice")
    gas_token: AddressField = Field(alias="gasToken")
    refund_receiver: AddressField = Field(alias="refundReceiver")
    nonce: Uint
    safe_tx_hash: HexBytesField = Field(alias="safeTxHash")
    proposer: AddressField | None = None
    origin: str | None = None
    is_executed: bool = Field(alias="isExecuted", default=False)
    confirmations: tuple[RemoteConfirmation, ...] = ()


@dataclass(frozen=True)
class RemoteQueue:
    """One Safe's pending queue as the service listed it, and what could not be read."""

    safe: ChecksumAddress
    txs: tuple[RemoteTx, ...]
    malformed: int = 0
    pages: int = 0


class TxServiceClient(TransactionServiceApi):
    """TransactionServiceApi with a paginated queue read and status-keeping posts (see the module doc)."""

    def __init__(self, base_url: str, *, chain_id: int, api_key: str | None, timeout: float, page_size: int = 100):
        super().__init__(EthereumNetwork(chain_id), base_url=base_url, api_key=api_key,
                         request_timeout=max(1, math.ceil(timeout)))  # fmt: skip
        self.page_size = page_size

    def pending(self, safe: ChecksumAddress, nonce: int) -> RemoteQueue:
        """Return every not-executed transaction of `safe` at `nonce` or later, oldest nonce first."""
        path = f"/api/v2/safes/{safe}/multisig-transactions/"
        query: dict[str, str] = {"executed": "false", "nonce__gte": str(nonce), "ordering": "nonce",
                                 "limit": str(self.page_size)}  # fmt: skip
        found: list[RemoteTx] = []
        malformed = pages = 0
        while pages < MAX_PAGES:
            body = self._get_json(f"{path}?{urlencode(query)}")
            pages += 1
            results = body.get("results") if isinstance(body, dict) else None
            for item in results if isinstance(results, list) else ():
                try:
                    tx = RemoteTx.model_validate(item)
                except ValidationError:
                    malformed += 1
                    continue
                if tx.safe.lower() == safe.lower():
                    found.append(tx)
            following = body.get("next") if isinstance(body, dict) else None
            if not isinstance(following, str) or not following:
                break
            query = dict(parse_qsl(urlsplit(following).query))
        return RemoteQueue(safe, tuple(found), malformed, pages)

    def propose(self, tx: SafeTxData, safe_tx_hash: bytes, sender: ChecksumAddress, signature: bytes) -> None:
        """Post a transaction with `sender` (an owner or delegate) and their signature."""
        payload = {
            "to": tx.to, "value": str(tx.value), "data": "0x" + tx.data.hex() if tx.data else None,
            "operation": tx.operation, "gasToken": tx.gas_token, "safeTxGas": str(tx.safe_tx_gas),
            "baseGas": str(tx.base_gas), "gasPrice": str(tx.gas_price), "refundReceiver": tx.refund_receiver,
            "nonce": str(tx.nonce), "contractTransactionHash": "0x" + safe_tx_hash.hex(), "sender": sender,
            "signature": "0x" + signature.hex(), "origin": ORIGIN,
        }  # fmt: skip
        self._post(f"/api/v2/safes/{tx.safe}/multisig-transactions/", payload, "posting the transaction")

    def confirm(self, safe_tx_hash: bytes, signature: bytes) -> None:
        """Post one owner's signature as a confirmation (404: the service does not have the transaction)."""
        path = f"/api/v1/multisig-transactions/0x{safe_tx_hash.hex()}/confirmations/"
        self._post(path, {"signature": "0x" + signature.hex()}, "posting a confirmation")

    def _get_json(self, url: str) -> Any:
        try:
            response = self._get_request(url)
        except requests.RequestException as exc:
            raise TxServiceError(f"the Safe Transaction Service did not answer ({type(exc).__name__})") from None
        if not response.ok:
            raise TxServiceError(f"the Safe Transaction Service answered {response.status_code} to a read",
                                 response.status_code)  # fmt: skip
        try:
            return response.json()
        except ValueError:
            raise TxServiceError("the Safe Transaction Service sent a body that is not JSON") from None

    def _post(self, path: str, payload: dict[str, Any], what: str) -> None:
        try:
            response = self._post_request(path, payload)
        except requests.RequestException as exc:
            reason = type(exc).__name__
            raise TxServiceError(f"{what}: the Safe Transaction Service did not answer ({reason})") from None
        if not response.ok:
            body = " ".join(response.text.split())[:_ERROR_BODY]
            raise TxServiceError(f"{what}: the Safe Transaction Service answered {response.status_code}: {body}",
                                 response.status_code)  # fmt: skip
