"""Load signing keys from a flag, an env var, a raw-hex file or an encrypted keystore; never show them."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from foundation.bounded import ParseError, loads_json
from proposals.errors import InvalidInput

DEFAULT_KEY_ENV = "DSTACK_GOV_PRIVATE_KEY"
MAX_KEYSTORE_BYTES = 64 * 1024  # a V3 keystore is under 1 KiB


@dataclass(frozen=True)
class KeySource:
    """Where to find one key; the first source given wins, in field order."""

    private_key: str | None = None
    env: str | None = DEFAULT_KEY_ENV
    file: Path | None = None
    keystore: Path | None = None
    password_file: Path | None = None


def account_from_hex(text: str, origin: str) -> LocalAccount:
    """Build an account from hex key text; the error names the origin, never the key."""
    try:
        return Account.from_key(text.strip())
    except Exception:  # noqa: BLE001 - any parse failure means the same thing here
        raise InvalidInput(f"{origin}: not a valid private key (32 bytes of hex)") from None


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise InvalidInput(f"{what} {path}: {exc.strerror or 'cannot read'}") from None


def load_account(
    source: KeySource,
    *,
    environ: Mapping[str, str] | None = None,
    prompt_password: Callable[[str], str] | None = None,
    required: bool = True,
) -> LocalAccount | None:
    """Return the account the source names (None if none and not `required`)."""
    environ = os.environ if environ is None else environ
    if source.private_key:
        return account_from_hex(source.private_key, "--private-key")
    if source.keystore is not None:
        return _from_keystore(source.keystore, source.password_file, environ, prompt_password)
    if source.file is not None:
        return account_from_hex(_read(source.file, "key file"), f"key file {source.file}")
    if source.env and environ.get(source.env):
        return account_from_hex(environ[source.env], f"${source.env}")
    if required:
        raise InvalidInput(
            f"no signing key: pass --private-key, set ${source.env or DEFAULT_KEY_ENV}, or use --keystore"
        )
    return None


def _from_keystore(
    path: Path,
    password_file: Path | None,
    environ: Mapping[str, str],
    prompt_password: Callable[[str], str] | None,
) -> LocalAccount:
    try:
        keystore = loads_json(_read(path, "keystore"), max_bytes=MAX_KEYSTORE_BYTES)
    except ParseError as exc:
        raise InvalidInput(f"keystore {path}: not a JSON keystore ({exc.reason})") from None
    if password_file is not None:
        password = _read(password_file, "password file").rstrip("\n")
    elif environ.get("DSTACK_GOV_KEYSTORE_PASSWORD") is not None:
        password = environ["DSTACK_GOV_KEYSTORE_PASSWORD"]
    elif prompt_password is not None:
        password = prompt_password(f"Password for {path.name}")
    else:
        raise InvalidInput(f"keystore {path}: no password (use --password-file)")
    try:
        key = Account.decrypt(keystore, password)
    except ValueError:
        raise InvalidInput(f"keystore {path}: wrong password or corrupt keystore") from None
    except Exception:  # noqa: BLE001 - a malformed keystore structure
        raise InvalidInput(f"keystore {path}: not a valid keystore") from None
    return Account.from_key(key)
