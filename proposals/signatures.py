"""Check owners' signatures of a Safe tx: EIP-712, eth_sign, approveHash and EIP-1271 (nested Safes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from safe_eth.eth import EthereumClient
from safe_eth.eth.contracts import get_safe_V1_4_1_contract
from safe_eth.safe.safe_signature import (
    SafeSignature,
    SafeSignatureApprovedHash,
    SafeSignatureContract,
    SafeSignatureEOA,
    SafeSignatureEthSign,
)
from web3 import Web3

from proposals.errors import InvalidInput, translate_chain_errors
from proposals.models import SignatureKind, StoredSignature
from proposals.safe_tx import SafeState, SafeTxHashes

SIGNATURE_LENGTH = 65
_KIND_BY_V = {0: SignatureKind.CONTRACT, 1: SignatureKind.APPROVED_HASH, 27: SignatureKind.EIP712,
              28: SignatureKind.EIP712, 31: SignatureKind.ETH_SIGN, 32: SignatureKind.ETH_SIGN}  # fmt: skip


class SignatureRefused(InvalidInput):
    """A signature that cannot count, with the reason."""


@dataclass(frozen=True)
class CheckedSignature:
    """A signature that counts: its owner, its kind and its standalone encoding."""

    owner: ChecksumAddress
    kind: SignatureKind
    signature: bytes


def parse_signature_hex(text: str) -> bytes:
    """Parse pasted signature hex (0x optional, whitespace ignored)."""
    cleaned = "".join(text.split())
    cleaned = cleaned[2:] if cleaned.lower().startswith("0x") else cleaned
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise SignatureRefused("malformed signature: not hex") from None


def _recover(signature: bytes, safe_tx_hash: bytes, kind: SignatureKind) -> ChecksumAddress | None:
    cls = SafeSignatureEOA if kind is SignatureKind.EIP712 else SafeSignatureEthSign
    try:
        owner = Web3.to_checksum_address(cls(HexBytes(signature), HexBytes(safe_tx_hash)).owner)
    except Exception:  # noqa: BLE001 - an unrecoverable (r, s, v) is simply not a signature
        return None
    # safe-eth-py reports an unrecoverable signature as the zero address.
    return None if int(owner, 16) == 0 else owner


def _as_eth_sign(signature: bytes) -> bytes:
    """Return the Safe's eth_sign form (v + 4) of a personal_sign signature."""
    return signature[:64] + bytes([signature[64] + 4])


def _check_ecdsa(state: SafeState, hashes: SafeTxHashes, signature: bytes, claimed: str | None) -> CheckedSignature:
    v = signature[64]
    kind = _KIND_BY_V[v]
    owner = _recover(signature, hashes.safe_tx_hash, kind)
    if owner is not None and state.is_owner(owner) and (claimed is None or owner.lower() == claimed.lower()):
        return CheckedSignature(owner, kind, signature)
    if kind is SignatureKind.EIP712:
        # `cast wallet sign <hash>` and wallets' personal_sign give v = 27/28 over the eth_sign digest.
        converted = _as_eth_sign(signature)
        alt = _recover(converted, hashes.safe_tx_hash, SignatureKind.ETH_SIGN)
        if alt is not None and state.is_owner(alt) and (claimed is None or alt.lower() == claimed.lower()):
            return CheckedSignature(alt, SignatureKind.ETH_SIGN, converted)
    if owner is None:
        raise SignatureRefused("malformed signature: it does not recover to any address")
    if claimed is not None:
        raise SignatureRefused(
            f"the signature is not by {Web3.to_checksum_address(claimed)} over this safeTxHash "
            "(was it made over another hash, chain or Safe?)"
        )
    raise SignatureRefused(
        f"the signer {owner} is not an owner of Safe {state.address} "
        "(or the signature was made over another hash, chain or Safe)"
    )


def _check_approved_hash(
    client: EthereumClient, state: SafeState, hashes: SafeTxHashes, owner: ChecksumAddress
) -> CheckedSignature:
    if not state.is_owner(owner):
        raise SignatureRefused(f"{owner} is not an owner of Safe {state.address}")
    contract = get_safe_V1_4_1_contract(client.w3, state.address)
    with translate_chain_errors("reading approvedHashes"):
        approved = contract.functions.approvedHashes(owner, hashes.safe_tx_hash).call()
    if not approved:
        raise SignatureRefused(f"{owner} has not called approveHash for this safeTxHash on chain")
    return CheckedSignature(owner, SignatureKind.APPROVED_HASH, approved_hash_signature(owner, hashes.safe_tx_hash))


def approved_hash_signature(owner: ChecksumAddress, safe_tx_hash: bytes) -> bytes:
    """Return the standalone v=1 signature that stands for `owner`'s on-chain approveHash."""
    built = SafeSignatureApprovedHash.build_for_owner(owner, "0x" + safe_tx_hash.hex())
    return bytes(built.export_signature())


def _check_contract(
    client: EthereumClient, state: SafeState, hashes: SafeTxHashes, signature: SafeSignatureContract
) -> CheckedSignature:
    owner = Web3.to_checksum_address(signature.owner)
    if not state.is_owner(owner):
        raise SignatureRefused(f"{owner} is not an owner of Safe {state.address}")
    with translate_chain_errors("checking the EIP-1271 signature"):
        valid = signature.is_valid(client, state.address, state.version)
    if not valid:
        raise SignatureRefused(f"contract owner {owner} does not accept this signature (EIP-1271 check failed)")
    return CheckedSignature(owner, SignatureKind.CONTRACT, bytes(signature.export_signature()))


def _is_contract(client: EthereumClient, address: ChecksumAddress) -> bool:
    with translate_chain_errors("reading contract code"):
        return len(client.w3.eth.get_code(address)) > 0


def _is_standalone_contract_signature(signature: bytes) -> bool:
    return len(signature) > SIGNATURE_LENGTH and signature[64] == 0


def check_signature(
    client: EthereumClient,
    state: SafeState,
    hashes: SafeTxHashes,
    signature: bytes,
    *,
    claimed_owner: ChecksumAddress | None = None,
) -> CheckedSignature:
    """Verify one signature against the Safe's current owners; raise SignatureRefused with the reason.

    For a contract owner (a nested Safe), pass `claimed_owner` and the inner signature bytes,
    or a standalone v=0 signature. For approveHash, pass `claimed_owner` and an empty signature.
    """
    if claimed_owner is not None:
        if not signature:
            return _check_approved_hash(client, state, hashes, claimed_owner)
        if _is_contract(client, claimed_owner) and not _is_standalone_contract_signature(signature):
            # The owner is a contract (a nested Safe): wrap its own signature as an EIP-1271 one.
            wrapped = SafeSignatureContract.from_values(claimed_owner, hashes.safe_tx_hash, hashes.preimage, signature)
            return _check_contract(client, state, hashes, wrapped)
    if len(signature) < SIGNATURE_LENGTH:
        raise SignatureRefused(f"malformed signature: expected 65 bytes (130 hex digits), got {len(signature)}")
    v = signature[64]
    if v not in _KIND_BY_V:
        raise SignatureRefused(f"malformed signature: unknown type v={v}")
    kind = _KIND_BY_V[v]
    if kind is SignatureKind.CONTRACT:
        parsed = SafeSignature.parse_signature(signature, hashes.safe_tx_hash, hashes.preimage)
        if len(parsed) != 1 or not isinstance(parsed[0], SafeSignatureContract):
            raise SignatureRefused("malformed contract signature: expected one v=0 signature with its data")
        return _check_contract(client, state, hashes, parsed[0])
    if len(signature) != SIGNATURE_LENGTH:
        raise SignatureRefused(f"malformed signature: expected 65 bytes (130 hex digits), got {len(signature)}")
    if kind is SignatureKind.APPROVED_HASH:
        owner = Web3.to_checksum_address(signature[12:32])
        return _check_approved_hash(client, state, hashes, owner)
    return _check_ecdsa(state, hashes, signature, claimed_owner)


@dataclass(frozen=True)
class Recheck:
    """Stored signatures split into those that still count and those that no longer do."""

    valid: tuple[CheckedSignature, ...]
    dropped: tuple[tuple[StoredSignature, str], ...]


def recheck(
    client: EthereumClient, state: SafeState, hashes: SafeTxHashes, stored: Sequence[StoredSignature]
) -> Recheck:
    """Re-verify stored signatures against the Safe as it is now (owners removed no longer count)."""
    valid: list[CheckedSignature] = []
    dropped: list[tuple[StoredSignature, str]] = []
    for sig in stored:
        try:
            if sig.kind is SignatureKind.APPROVED_HASH:
                valid.append(_check_approved_hash(client, state, hashes, sig.owner))
            else:
                checked = check_signature(client, state, hashes, sig.signature)
                if checked.owner.lower() != sig.owner.lower():
                    raise SignatureRefused(f"signature no longer recovers to {sig.owner}")
                valid.append(checked)
        except SignatureRefused as exc:
            dropped.append((sig, exc.message))
    return Recheck(tuple(valid), tuple(dropped))


def combine(signatures: Sequence[CheckedSignature], hashes: SafeTxHashes) -> bytes:
    """Join signatures the way execTransaction wants them: sorted by owner, contract data at the end."""
    parsed = []
    for sig in signatures:
        parsed.extend(SafeSignature.parse_signature(sig.signature, hashes.safe_tx_hash, hashes.preimage))
    return bytes(SafeSignature.export_signatures(parsed))
