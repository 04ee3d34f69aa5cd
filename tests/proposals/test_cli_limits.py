"""The CLI refuses ids and nonces the database cannot hold, and names a broken database, in one line."""

from __future__ import annotations

import pytest

from tests.helpers.cli import run_cli
from tests.helpers.config_file import write_config
from tests.helpers.proposing import word

HUGE = str(2**63)


@pytest.mark.parametrize(
    "args",
    [
        ("status", HUGE),
        ("export", "99999999999999999999999", "--typed-data"),
        ("execute", str(2**64)),
        ("cancel", HUGE),
        ("audit", "--proposal", HUGE),
        ("sign", HUGE, "--signature", "0x" + "11" * 65),
    ],
)
def test_ids_past_the_database_range_fail_in_one_line(capsys, anvil, gov, tmp_path, args):
    config = str(write_config(gov, anvil.url, tmp_path, executor=False))
    result = run_cli(capsys, *args, "--config", config)
    assert result.code == 2
    assert result.error_line.startswith(f"error: not a proposal id: '{args[-1] if args[0] == 'audit' else args[1]}'")


def test_a_nonce_far_ahead_needs_force_and_one_past_the_database_never_goes(capsys, anvil, gov, tmp_path):
    config = str(write_config(gov, anvil.url, tmp_path, executor=False))
    propose = ("propose", "kms", "add-image", word(1), "--config", config)

    far = run_cli(capsys, *propose, "--nonce", "150")
    never = run_cli(capsys, *propose, "--nonce", str(2**64), "--force")
    assert (far.code, never.code) == (2, 2)
    assert "nonce 150 is 150 ahead of the Safe (at nonce 0)" in far.error_line
    assert "at most 100 ahead unless forced" in far.error_line
    assert never.error_line == f"error: nonce {2**64} can never execute (the Safe is at nonce 0)"
    assert gov.svc.list_proposals() == []

    forced = run_cli(capsys, *propose, "--nonce", "150", "--force", "--json")
    assert forced.code == 0, forced.err
    assert forced.json()["nonce"] == 150


def test_a_corrupt_database_is_named_in_one_line(capsys, anvil, gov, tmp_path, monkeypatch):
    config = str(write_config(gov, anvil.url, tmp_path, executor=False))
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is no database \x00\xff" * 512)
    monkeypatch.setenv("DSTACK_GOV_DATABASE_URL", f"sqlite:///{junk}")
    for args in (("list",), ("status", "1"), ("audit",)):
        result = run_cli(capsys, *args, "--config", config)
        assert result.code == 1, args
        assert result.error_line == f"error: the database {junk} cannot be used: file is not a database"


def test_the_nonce_window_comes_from_the_config_file(capsys, anvil, gov, tmp_path):
    config = str(write_config(gov, anvil.url, tmp_path, executor=False, extra="[proposals]\nnonce_window = 200\n"))
    propose = ("propose", "kms", "add-image", word(1), "--config", config)

    within = run_cli(capsys, *propose, "--nonce", "150", "--json")
    beyond = run_cli(capsys, *propose, "--nonce", "201")
    assert within.code == 0, within.err
    assert within.json()["nonce"] == 150
    assert beyond.code == 2
    assert "nonce 201 is 201 ahead of the Safe (at nonce 0)" in beyond.error_line
    assert "at most 200 ahead unless forced" in beyond.error_line
