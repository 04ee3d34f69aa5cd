"""Proposal helpers for the core's tests: requests, owner signatures of every kind, outside executions."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3

from proposals.catalogue import get_action
from proposals.models import AuditEntry, Proposal
from proposals.planning import ChangeRequest, RequestedAction
from proposals.safe_tx import to_safe_tx
from proposals.service import GovernanceService, SignResult
from tests.helpers.chain import dev_account
from tests.helpers.governance import Governance

CAST = Path(__file__).resolve().parents[2] / "node_modules/.bin/cast"
OUTSIDE_EXECUTOR_INDEX = 8


def word(n: int) -> str:
    """Return a distinct bytes32 as 0x-hex text (an image, a compose hash, a device id)."""
    return "0x" + n.to_bytes(32, "big").hex()


def add_image_data(n: int) -> bytes:
    """Return the calldata that whitelists OS image `word(n)` on a KMS (a Safe{Wallet} transaction's data)."""
    return get_action("kms-add-image").encode({"osImageHash": bytes.fromhex(word(n)[2:])})


def request(title: str, *actions: tuple[str, dict[str, Any], str | None]) -> ChangeRequest:
    """Return a change request from (action name, raw values, target) triples."""
    return ChangeRequest(title, tuple(RequestedAction(get_action(n), v, t) for n, v, t in actions))


def add_image(image: str, title: str = "Allow an OS image") -> ChangeRequest:
    """Return the request that whitelists one OS image on the governed KMS."""
    return request(title, ("kms add-image", {"osImageHash": image}, None))


def propose_image(
    gov: Governance, n: int, *, nonce: int | None = None, svc: GovernanceService | None = None
) -> Proposal:
    """File `kms add-image word(n)` as a proposal (at the next free nonce unless told)."""
    return (svc or gov.svc).propose(add_image(word(n), f"Allow image {n}"), proposer="test", nonce=nonce)


def sign(gov: Governance, proposal_id: int, *owners: int, svc: GovernanceService | None = None) -> SignResult:
    """Sign with the owners at these indexes (EIP-712, their own keys); return the last result."""
    service = svc or gov.svc
    results = [service.sign_with_account(proposal_id, gov.owners[i], source=f"test:{i}") for i in owners]
    return results[-1]


def typed_signature(account: LocalAccount, typed: dict[str, Any]) -> bytes:
    """Sign EIP-712 typed data (v 27/28)."""
    return bytes(account.sign_typed_data(full_message=typed).signature)


def personal_signature(account: LocalAccount, safe_tx_hash: bytes) -> bytes:
    """Sign the hash as a message (personal_sign, v 27/28), as `cast wallet sign <hash>` does."""
    return bytes(account.sign_message(encode_defunct(primitive=safe_tx_hash)).signature)


def eth_sign_signature(account: LocalAccount, safe_tx_hash: bytes) -> bytes:
    """Return the Safe's eth_sign form of a personal_sign signature (v + 4 = 31/32)."""
    signature = personal_signature(account, safe_tx_hash)
    return signature[:64] + bytes([signature[64] + 4])


def cast(*args: str) -> str:
    """Run the pinned cast binary and return its stdout."""
    assert CAST.exists(), f"cast is missing at {CAST} (run npm ci)"
    done = subprocess.run([str(CAST), *args], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def cast_sign_typed_data(account: LocalAccount, typed: dict[str, Any], directory: Path) -> bytes:
    """Sign typed data with `cast wallet sign --data --from-file`."""
    path = directory / "typed-data.json"
    path.write_text(json.dumps(typed))
    out = cast("wallet", "sign", "--data", "--from-file", str(path), "--private-key", "0x" + account.key.hex())
    return bytes(HexBytes(out))


def cast_sign_hash(account: LocalAccount, safe_tx_hash: bytes) -> bytes:
    """Sign the safeTxHash with `cast wallet sign <hash>` (a personal_sign of the 32 bytes)."""
    out = cast("wallet", "sign", "--private-key", "0x" + account.key.hex(), "0x" + safe_tx_hash.hex())
    return bytes(HexBytes(out))


def execute_outside(
    gov: Governance, proposal: Proposal, signers: Sequence[LocalAccount], *, executor: LocalAccount | None = None
) -> bytes:
    """Execute the proposal's Safe tx without the project (safe-eth-py, owners' keys, dev account 8)."""
    safe_tx = to_safe_tx(proposal.safe_tx, gov.client)
    for signer in signers:
        safe_tx.sign("0x" + signer.key.hex())
    payer = executor or dev_account(OUTSIDE_EXECUTOR_INDEX)
    tx_hash, _ = safe_tx.execute(tx_sender_private_key="0x" + payer.key.hex())
    receipt = gov.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    assert receipt["status"] == 1, "the outside execution reverted"
    return bytes(tx_hash)


def safe_nonce(w3: Web3, safe: ChecksumAddress) -> int:
    """Read the Safe's nonce from the chain."""
    from safe_eth.eth.contracts import get_safe_V1_4_1_contract

    return int(get_safe_V1_4_1_contract(w3, safe).functions.nonce().call())


def events(gov: Governance, proposal_id: int | None = None) -> list[AuditEntry]:
    """Return the audit entries (of one proposal, or all)."""
    return gov.store.audit(proposal_id=proposal_id)


def event_names(gov: Governance, proposal_id: int) -> list[str]:
    """Return the audit event names of one proposal, in order."""
    return [e.event for e in events(gov, proposal_id)]


def image_allowed(gov: Governance, n: int) -> bool:
    """Return whether the governed KMS allows OS image word(n)."""
    return bool(gov.kms.functions.allowedOsImages(bytes(HexBytes(word(n)))).call())
