"""A loopback stand-in for the Safe Transaction Service, following the service's documented behaviour.

It serves the endpoints sync uses, with the checks the service's own serializers make (not ours):

    POST /api/v2/safes/<safe>/multisig-transactions/       propose: the hash is recomputed; a used nonce,
                                                           a sender that is no owner or delegate, a bad
                                                           signature and one owner twice are refused (422);
                                                           the same transaction again is accepted
    GET  /api/v2/safes/<safe>/multisig-transactions/       executed=, nonce__gte=, ordering=nonce,
                                                           limit= / offset= with `next` links (v2 shapes)
    GET  /api/v2/multisig-transactions/<hash>/             one transaction (404 if unknown)
    POST /api/v1/multisig-transactions/<hash>/confirmations/  404 unknown, 422 executed or invalid, an owner
                                                           twice in one body refused, one already confirmed kept
    POST /api/v2/delegates/                                a delegate, signed by an owner (EIP-712, totp)

Signatures are checked with safe-eth-py against the real chain, as the service does (EIP-1271 included).
Tests can also break it: `outage` answers 503, `stop()`/`start()` refuse connections on the same port,
and `inject_confirmation` lists a confirmation no check has seen (a compromised or buggy service).

    with FakeTxService(eth_client) as service:
        config = TxServiceConfig(TxServiceClient(service.base_url, chain_id=31337, api_key=None, timeout=5))
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from safe_eth.eth import EthereumClient
from safe_eth.eth.contracts import get_safe_V1_4_1_contract
from safe_eth.safe import SafeTx
from safe_eth.safe.api.transaction_service_api.transaction_service_messages import get_delegate_message, get_totp
from safe_eth.safe.safe_signature import SafeSignature, SafeSignatureType
from web3 import Web3

from proposals.events import safe_topic
from proposals.execution import logged_safe_tx_hash

DEFAULT_LIMIT = 20
MAX_LIMIT = 200


class Refused(Exception):
    """A request the service answers with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _Tx:
    safe: str
    fields: dict[str, Any]
    safe_tx_hash: bytes
    proposer: str
    origin: str | None
    submitted: str
    confirmations: dict[str, tuple[bytes, str, str]] = field(default_factory=dict)  # owner -> sig, type, date


class FakeTxService:
    """The stand-in server (a thread on 127.0.0.1) and what it holds."""

    def __init__(self, client: EthereumClient, *, api_key: str | None = None) -> None:
        self.client = client
        self.w3: Web3 = client.w3
        self.api_key = api_key
        self.outage = False
        # Where `next` links point (None: here); a service behind a proxy may name another host.
        self.next_base: str | None = None
        self.lock = threading.Lock()
        self.txs: dict[bytes, _Tx] = {}
        self.delegates: dict[str, set[str]] = {}  # safe (lowercase) -> delegates (lowercase)
        self.requests: list[tuple[str, str]] = []
        self.headers_seen: list[dict[str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._port = 0

    # -- running -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> FakeTxService:
        """Listen (again, on the same port after a stop)."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until `start()`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeTxService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test controls -----------------------------------------------------------------------

    def inject_confirmation(self, safe_tx_hash: bytes, owner: str, signature: bytes, signature_type: str) -> None:
        """List a confirmation the service never checked."""
        with self.lock:
            self.txs[safe_tx_hash].confirmations[owner.lower()] = (signature, signature_type, _now())

    def confirmations(self, safe_tx_hash: bytes) -> dict[str, bytes]:
        """Return the owners (checksummed) who confirmed and their signatures."""
        with self.lock:
            tx = self.txs.get(safe_tx_hash)
            items = dict(tx.confirmations) if tx is not None else {}
        return {Web3.to_checksum_address(o): s for o, (s, _, _) in items.items()}

    def count(self, method: str | None = None) -> int:
        """Return how many requests arrived (of one method)."""
        return sum(1 for m, _ in self.requests if method is None or m == method)

    # -- HTTP --------------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        with self.lock:
            self.requests.append((method, parts.path))
            self.headers_seen.append(dict(request.headers.items()))
        try:
            if self.outage:
                raise Refused(503, "Service Unavailable")
            if self.api_key is not None and request.headers.get("Authorization") != f"Bearer {self.api_key}":
                raise Refused(401, "Authentication credentials were not provided.")
            body: Any = None
            if method == "POST":
                length = int(request.headers.get("Content-Length") or 0)
                body = json.loads(request.rfile.read(length) or b"null")
            status, answer = self._route(method, parts.path, dict(parse_qsl(parts.query)), body)
        except Refused as exc:
            status, answer = exc.status, {"detail": str(exc)}
        except (ValueError, KeyError, TypeError) as exc:
            status, answer = 400, {"detail": f"bad request: {exc}"}
        payload = json.dumps(answer).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        segments = [s for s in path.split("/") if s]
        if segments[:4] == ["api", "v2", "safes", segments[3] if len(segments) > 3 else ""] and segments[4:] == [
            "multisig-transactions"
        ]:
            safe = Web3.to_checksum_address(segments[3])
            if method == "GET":
                return 200, self._list(safe, query)
            self._propose(safe, body)
            return 201, None
        if segments[:3] == ["api", "v2", "multisig-transactions"] and len(segments) == 4 and method == "GET":
            tx = self.txs.get(bytes(HexBytes(segments[3])))
            if tx is None:
                raise Refused(404, "Not found.")
            return 200, self._shape(tx, self._executed(tx.safe))
        if segments[:3] == ["api", "v1", "multisig-transactions"] and segments[4:] == ["confirmations"]:
            self._confirm(bytes(HexBytes(segments[3])), body)
            return 201, None
        if segments == ["api", "v2", "delegates"] and method == "POST":
            self._add_delegate(body)
            return 201, None
        raise Refused(404, "Not found.")

    # -- the service's rules -----------------------------------------------------------------

    def _safe(self, safe: str) -> tuple[list[str], int, str]:
        contract = get_safe_V1_4_1_contract(self.w3, safe)
        owners = [o.lower() for o in contract.functions.getOwners().call()]
        return owners, int(contract.functions.nonce().call()), str(contract.functions.VERSION().call())

    def _propose(self, safe: str, body: dict[str, Any]) -> None:
        owners, nonce, version = self._safe(safe)
        if int(body["nonce"]) < nonce:
            raise Refused(422, f"Nonce={body['nonce']} too low for safe with nonce={nonce}")
        safe_tx = SafeTx(self.client, _addr(safe), Web3.to_checksum_address(body["to"]), int(body["value"]),
                         HexBytes(body.get("data") or "0x"), int(body["operation"]), int(body["safeTxGas"]),
                         int(body["baseGas"]), int(body["gasPrice"]), _addr(body.get("gasToken")),
                         _addr(body.get("refundReceiver")), safe_nonce=int(body["nonce"]), safe_version=version,
                         chain_id=int(self.w3.eth.chain_id))  # fmt: skip
        computed = bytes(safe_tx.safe_tx_hash)
        if computed != bytes(HexBytes(body["contractTransactionHash"])):
            raise Refused(422, f"Contract-transaction-hash={body['contractTransactionHash']} does not match "
                               f"provided contract-tx-hash=0x{computed.hex()}")  # fmt: skip
        sender = str(body["sender"]).lower()
        delegates = self.delegates.get(safe.lower(), set())
        if sender not in owners and sender not in delegates:
            raise Refused(422, f"Sender={body['sender']} is not an owner or delegate. Current owners={owners}")
        signed: list[tuple[str, bytes, str]] = []
        if body.get("signature"):
            parsed = self._valid(safe, computed, bytes(safe_tx.safe_tx_hash_preimage), body["signature"], version)
            signers = [owner for owner, _, _ in parsed]
            if sender not in signers:
                raise Refused(422, f"Signature does not match sender={body['sender']}. Calculated owners={signers}")
            is_delegate_alone = len(parsed) == 1 and sender in delegates and sender not in owners
            for owner, _, _ in parsed:
                if owner not in owners and not is_delegate_alone:
                    raise Refused(422, f"Signer={owner} is not an owner. Current owners={owners}")
            signed = [] if is_delegate_alone else parsed
        with self.lock:
            tx = self.txs.get(computed)
            if tx is None:
                fields = {k: body.get(k) for k in ("to", "value", "data", "operation", "gasToken", "safeTxGas",
                                                   "baseGas", "gasPrice", "refundReceiver", "nonce")}  # fmt: skip
                tx = _Tx(safe, fields, computed, Web3.to_checksum_address(sender), body.get("origin"), _now())
                self.txs[computed] = tx
            for owner, signature, kind in signed:
                tx.confirmations.setdefault(owner, (signature, kind, _now()))

    def _confirm(self, safe_tx_hash: bytes, body: dict[str, Any]) -> None:
        tx = self.txs.get(safe_tx_hash)
        if tx is None:
            raise Refused(404, "Not found.")
        if safe_tx_hash in self._executed(tx.safe):
            raise Refused(422, f"Transaction with safe-tx-hash=0x{safe_tx_hash.hex()} was already executed")
        owners, _, version = self._safe(tx.safe)
        preimage = bytes(self._safe_tx(tx, version).safe_tx_hash_preimage)
        parsed = self._valid(tx.safe, safe_tx_hash, preimage, body["signature"], version)
        for owner, _, _ in parsed:
            if owner not in owners:
                raise Refused(422, f"Signer={owner} is not an owner. Current owners={owners}")
        with self.lock:
            for owner, signature, kind in parsed:
                tx.confirmations.setdefault(owner, (signature, kind, _now()))  # one already there is kept

    def _valid(self, safe: str, safe_tx_hash: bytes, preimage: bytes, hex_signature: str,
               version: str) -> list[tuple[str, bytes, str]]:  # fmt: skip
        parsed = SafeSignature.parse_signature(HexBytes(hex_signature), safe_tx_hash, preimage)
        if not parsed:
            raise Refused(422, "Signature is not valid")
        found: list[tuple[str, bytes, str]] = []
        for signature in parsed:
            owner = signature.owner.lower()
            if not signature.is_valid(self.client, safe):  # type: ignore[arg-type]
                raise Refused(422, f"Signature={signature.signature.hex()} for owner={owner} is not valid")
            if owner in {o for o, _, _ in found}:
                raise Refused(422, f"Signature for owner={owner} is duplicated")
            found.append((owner, bytes(signature.export_signature()), SafeSignatureType(signature.signature_type).name))
        return found

    def _add_delegate(self, body: dict[str, Any]) -> None:
        chain_id = int(self.w3.eth.chain_id)
        delegate = Web3.to_checksum_address(body["delegate"])
        signer = None
        for totp in (get_totp(), get_totp() - 1):
            message = get_delegate_message(delegate, chain_id)
            message["message"]["totp"] = totp
            recovered = Account.recover_message(encode_typed_data(full_message=message), signature=body["signature"])
            if recovered.lower() == str(body["delegator"]).lower():
                signer = recovered.lower()
        if signer is None:
            raise Refused(422, "Signature does not match provided delegator")
        safe = str(body.get("safe") or "")
        if not safe or signer not in self._safe(Web3.to_checksum_address(safe))[0]:
            raise Refused(422, f"Provided delegator={signer} is not an owner of Safe={safe}")
        with self.lock:
            self.delegates.setdefault(safe.lower(), set()).add(delegate.lower())

    # -- reading -----------------------------------------------------------------------------

    def _safe_tx(self, tx: _Tx, version: str) -> SafeTx:
        f = tx.fields
        return SafeTx(self.client, _addr(tx.safe), Web3.to_checksum_address(f["to"]), int(f["value"]),
                      HexBytes(f.get("data") or "0x"), int(f["operation"]), int(f["safeTxGas"]), int(f["baseGas"]),
                      int(f["gasPrice"]), _addr(f.get("gasToken")), _addr(f.get("refundReceiver")),
                      safe_nonce=int(f["nonce"]), safe_version=version, chain_id=int(self.w3.eth.chain_id))  # fmt: skip

    def _executed(self, safe: str) -> set[bytes]:
        logs = self.w3.eth.get_logs({"address": Web3.to_checksum_address(safe), "fromBlock": 0, "toBlock": "latest",
                                     "topics": [[HexBytes(safe_topic("ExecutionSuccess"))]]})  # fmt: skip
        return {logged_safe_tx_hash(log) for log in logs}

    def _list(self, safe: str, query: dict[str, str]) -> dict[str, Any]:
        executed = self._executed(safe)
        with self.lock:
            txs = [t for t in self.txs.values() if t.safe.lower() == safe.lower()]
        if query.get("executed") in ("false", "true"):
            want = query["executed"] == "true"
            txs = [t for t in txs if (t.safe_tx_hash in executed) == want]
        if "nonce__gte" in query:
            txs = [t for t in txs if int(t.fields["nonce"]) >= int(query["nonce__gte"])]
        txs.sort(key=lambda t: (int(t.fields["nonce"]), t.submitted))
        limit = min(int(query.get("limit", DEFAULT_LIMIT)), MAX_LIMIT)
        offset = int(query.get("offset", 0))
        page = txs[offset : offset + limit]
        following = None
        if offset + limit < len(txs):
            following = f"{self.next_base or self.base_url}/api/v2/safes/{safe}/multisig-transactions/?" + urlencode(
                {**query, "limit": limit, "offset": offset + limit}
            )
        return {"count": len(txs), "next": following, "previous": None,
                "results": [self._shape(t, executed) for t in page]}  # fmt: skip

    def _shape(self, tx: _Tx, executed: set[bytes]) -> dict[str, Any]:
        f = tx.fields
        return {
            "safe": tx.safe, "to": Web3.to_checksum_address(f["to"]), "value": str(f["value"]),
            "data": f.get("data"), "operation": int(f["operation"]), "gasToken": f.get("gasToken") or _ZERO,
            "safeTxGas": str(f["safeTxGas"]), "baseGas": str(f["baseGas"]), "gasPrice": str(f["gasPrice"]),
            "refundReceiver": f.get("refundReceiver") or _ZERO, "nonce": str(f["nonce"]), "executionDate": None,
            "submissionDate": tx.submitted, "modified": tx.submitted, "blockNumber": None, "transactionHash": None,
            "safeTxHash": "0x" + tx.safe_tx_hash.hex(), "proposer": tx.proposer, "proposedByDelegate": None,
            "executor": None, "isExecuted": tx.safe_tx_hash in executed, "isSuccessful": None, "ethGasPrice": None,
            "maxFeePerGas": None, "maxPriorityFeePerGas": None, "gasUsed": None, "fee": None, "origin": tx.origin,
            "dataDecoded": None, "confirmationsRequired": 0, "trusted": True, "signatures": None,
            "confirmations": [
                {"owner": Web3.to_checksum_address(owner), "submissionDate": date, "transactionHash": None,
                 "signature": "0x" + signature.hex(), "signatureType": kind}
                for owner, (signature, kind, date) in tx.confirmations.items()
            ],
        }  # fmt: skip


_ZERO = Web3.to_checksum_address("0x" + "00" * 20)


def _addr(value: Any) -> ChecksumAddress:
    return Web3.to_checksum_address(value) if value else _ZERO


def _now() -> str:
    return datetime.now(UTC).isoformat()
