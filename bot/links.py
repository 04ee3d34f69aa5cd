"""/link: bind a Telegram user to a Safe owner address through a signed challenge.

1. `/link 0xOwner`: the bot checks the address owns one of the chat's Safes and answers with a one-line
   challenge naming the chat, the user, the address, a random nonce and an expiry.
2. The user signs it with personal_sign (`cast wallet sign '<text>'`, any wallet's "sign message").
3. `/link 0xOwner 0x<signature>`: the bot recovers the signer, which must be that address and still
   an owner; then reminders and announcements mention the user for that owner.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_typing import ChecksumAddress
from web3 import Web3

from bot.store import BotStore, Challenge
from proposals.errors import InvalidInput, Unauthorized
from proposals.service import GovernanceService
from proposals.signatures import SIGNATURE_LENGTH, parse_signature_hex

CHALLENGE_TTL = timedelta(minutes=15)


def owned_safes(
    service: GovernanceService, owner: ChecksumAddress, safes: Sequence[ChecksumAddress]
) -> list[ChecksumAddress]:
    """Return those of `safes` (the chat's) that `owner` currently owns (reads the chain)."""
    return [safe for safe in safes if service.safe_state(safe).is_owner(owner)]


def new_challenge(user_id: int, chat_id: int, owner: ChecksumAddress, now: datetime) -> Challenge:
    """Return a fresh challenge for `user_id` to prove they hold `owner`'s key."""
    expires = now + CHALLENGE_TTL
    nonce = secrets.token_hex(16)
    text = (
        f"dstack-gov: link Telegram user {user_id} in chat {chat_id} to Safe owner {owner}; "
        f"nonce {nonce}; expires {expires:%Y-%m-%dT%H:%M:%SZ}"
    )
    return Challenge(user_id, owner, chat_id, text, expires)


def recover(text: str, signature_hex: str) -> ChecksumAddress:
    """Return who signed `text` with personal_sign (EIP-191)."""
    signature = parse_signature_hex(signature_hex)
    if len(signature) != SIGNATURE_LENGTH:
        raise InvalidInput(f"malformed signature: expected 65 bytes, got {len(signature)}")
    try:
        signer = Account.recover_message(encode_defunct(text=text), signature=signature)
    except Exception:  # noqa: BLE001 - an unrecoverable (r, s, v) is just a bad signature
        raise InvalidInput("malformed signature: it does not recover to any address") from None
    return Web3.to_checksum_address(signer)


def issue(
    service: GovernanceService,
    store: BotStore,
    user_id: int,
    chat_id: int,
    owner: ChecksumAddress,
    safes: Sequence[ChecksumAddress],
) -> Challenge:
    """Create and store a challenge, if `owner` owns one of `safes`, the chat's (blocking)."""
    if not owned_safes(service, owner, safes):
        raise Unauthorized(f"{owner} is not an owner of any Safe this bot serves in this chat")
    challenge = new_challenge(user_id, chat_id, owner, service.clock())
    store.save_challenge(challenge)
    return challenge


def complete(
    service: GovernanceService,
    store: BotStore,
    user_id: int,
    name: str,
    owner: ChecksumAddress,
    signature: str,
    safes: Sequence[ChecksumAddress],
) -> None:
    """Verify the signed challenge and store the link, if `owner` still owns one of `safes` (blocking)."""
    challenge = store.challenge(user_id, owner)
    if challenge is None:
        raise InvalidInput(f"no challenge waiting for {owner}: send /link {owner} first")
    if challenge.expires_at <= service.clock():
        store.drop_challenge(user_id, owner)
        raise InvalidInput(f"the challenge expired: send /link {owner} for a new one")
    signer = recover(challenge.text, signature)
    if signer.lower() != owner.lower():
        raise InvalidInput(f"the signature is by {signer}, not by {owner} (sign the challenge text exactly)")
    if not owned_safes(service, owner, safes):
        raise Unauthorized(f"{owner} is no longer an owner of any Safe this bot serves in this chat")
    store.save_link(owner, user_id, name)
    store.drop_challenge(user_id, owner)
