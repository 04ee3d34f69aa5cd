"""Each bad input gets one line on stderr, no traceback, and the right exit code (2 input, 1 runtime)."""

from __future__ import annotations

import json

from eth_account import Account

from dstack_gov.anvil import free_port
from tests.helpers.chain import dev_account
from tests.helpers.cli import run_cli

IMAGE = "0x" + "1a" * 32


def test_malformed_hex(capsys, rpc, owner_key, kms_setup):
    result = run_cli(capsys, "kms", "add-image", "0xnothex", "--kms", kms_setup.kms_address)
    assert result.code == 2
    assert result.error_line == "error: osImageHash: not hex: '0xnothex'"


def test_wrong_length_hex(capsys, rpc, owner_key, kms_setup):
    result = run_cli(capsys, "kms", "add-image", "0xabcd", "--kms", kms_setup.kms_address)
    assert result.code == 2
    assert result.error_line == "error: osImageHash: expected 32 bytes (64 hex digits), got 2"


def test_bad_checksum_address(capsys, rpc, owner_key, kms_setup):
    app = kms_setup.new_app().address
    broken = app[:2] + app[2:].swapcase()  # every letter's case flipped: the checksum no longer holds
    result = run_cli(capsys, "app", "add-hash", "--app-id", broken, IMAGE, "--kms", kms_setup.kms_address)
    assert result.code == 2
    assert result.error_line == f"error: --app-id: bad address checksum: {broken} (check for a typo)"


def test_app_id_with_no_code(capsys, rpc, owner_key, kms_setup):
    empty = Account.create().address
    result = run_cli(capsys, "app", "add-hash", "--app-id", empty, IMAGE, "--kms", kms_setup.kms_address)
    assert result.code == 2
    assert result.error_line == f"error: no contract code at {empty} (app contract)"


def test_missing_key(capsys, rpc, kms_setup):
    result = run_cli(capsys, "kms", "add-image", IMAGE, "--kms", kms_setup.kms_address)
    assert result.code == 2
    assert result.error_line == (
        "error: no signing key: pass --private-key, set $DSTACK_GOV_PRIVATE_KEY, or use --keystore"
    )


def test_malformed_key_is_not_echoed(capsys, rpc, kms_setup):
    secret = "0x" + "ab" * 31  # one byte short
    result = run_cli(capsys, "kms", "add-image", IMAGE, "--kms", kms_setup.kms_address, "--private-key", secret)
    assert result.code == 2
    assert result.error_line == "error: --private-key: not a valid private key (32 bytes of hex)"
    assert secret[2:] not in result.err + result.out


def test_key_that_is_not_the_owner_is_told_before_sending(capsys, rpc, kms_setup, w3):
    stranger = dev_account(7)
    nonce_before = w3.eth.get_transaction_count(stranger.address)
    result = run_cli(capsys, "kms", "add-image", IMAGE, "--kms", kms_setup.kms_address,
                     "--private-key", "0x" + stranger.key.hex())  # fmt: skip
    assert result.code == 2
    assert result.error_line == (
        f"error: the key {stranger.address} is not the owner of {kms_setup.kms_address}; "
        f"the owner is {dev_account(0).address} (an account)"
    )
    assert w3.eth.get_transaction_count(stranger.address) == nonce_before  # nothing was sent


def test_unreachable_rpc(capsys, owner_key, kms_setup):
    dead = f"http://127.0.0.1:{free_port()}"
    result = run_cli(capsys, "kms", "add-image", IMAGE, "--kms", kms_setup.kms_address, "--rpc-url", dead)
    assert result.code == 1
    assert result.error_line == "error: the RPC node is unreachable or not an Ethereum node"


def test_wrong_chain_id(capsys, anvil, owner_key, kms_setup, tmp_path):
    config = tmp_path / "dstack-gov.toml"
    config.write_text(f'[chain]\nrpc_url = "{anvil.url}"\nchain_id = 1\n')
    result = run_cli(capsys, "kms", "add-image", IMAGE, "--kms", kms_setup.kms_address, "--config", str(config))
    assert result.code == 1
    assert result.error_line == "error: wrong chain: the RPC node reports chain id 1337, expected 1"


def test_unknown_command_and_missing_argument(capsys):
    unknown = run_cli(capsys, "kms", "add-imag")
    assert unknown.code == 2 and "No such command 'add-imag'" in unknown.error_line
    missing = run_cli(capsys, "kms", "add-image")
    assert missing.code == 2 and "Missing argument 'OS_IMAGE_HASH'" in missing.error_line


def test_bad_boot_info_file(capsys, rpc, kms_setup, tmp_path):
    path = tmp_path / "boot.json"
    path.write_text(json.dumps({"appId": "0xzz"}))
    result = run_cli(capsys, "check", "app", "--boot-info", str(path), "--kms", kms_setup.kms_address)
    assert result.code == 2
    assert result.error_line.startswith(f"error: boot info {path}: appId:")
    path.write_text("{not json")
    assert "not valid JSON" in run_cli(capsys, "check", "app", "--boot-info", str(path)).error_line


def test_deep_or_huge_boot_info_is_refused_before_parsing(capsys, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 30_000 + "]" * 30_000)  # json.loads once overflowed the C stack on this
    result = run_cli(capsys, "check", "app", "--boot-info", str(deep))
    assert (result.code, result.error_line) == (2, f"error: boot info {deep}: nested deeper than 64 levels")
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * (65 * 1024) + b"{}")
    result = run_cli(capsys, "check", "app", "--boot-info", str(huge))
    assert (result.code, result.error_line) == (2, f"error: boot info {huge}: larger than 64 KiB")


def test_invalid_config_file(capsys, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[contracts]\nkms = "0x1234"\n')
    result = run_cli(capsys, "info", "kms", "--config", str(config))
    assert result.code == 2
    assert result.error_line.startswith(f"error: invalid configuration in {config}: contracts.kms:")


def test_deep_keystore_is_refused_before_parsing(capsys, rpc, kms_setup, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 30_000 + "]" * 30_000)
    result = run_cli(capsys, "kms", "add-image", IMAGE, "--kms", kms_setup.kms_address, "--keystore", str(deep))
    assert (result.code, result.error_line) == (
        2, f"error: keystore {deep}: not a JSON keystore (nested deeper than 64 levels)"
    )  # fmt: skip


def test_keystore_with_wrong_password(capsys, rpc, kms_setup, tmp_path):
    keystore = tmp_path / "key.json"
    keystore.write_text(json.dumps(Account.encrypt(dev_account(0).key, "right", kdf="pbkdf2", iterations=1000)))
    wrong = tmp_path / "pw"
    wrong.write_text("wrong\n")
    result = run_cli(capsys, "kms", "add-image", IMAGE, "--kms", kms_setup.kms_address,
                     "--keystore", str(keystore), "--password-file", str(wrong))  # fmt: skip
    assert result.code == 2
    assert result.error_line == f"error: keystore {keystore}: wrong password or corrupt keystore"
    wrong.write_text("right\n")
    ok = run_cli(capsys, "kms", "add-image", IMAGE, "--kms", kms_setup.kms_address,
                 "--keystore", str(keystore), "--password-file", str(wrong), "--json")  # fmt: skip
    assert ok.code == 0, ok.err
