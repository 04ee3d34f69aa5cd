"""No process of ours keeps the recursion limit py_ecc raises: json.loads would trust it past the C stack."""

from __future__ import annotations

import os
import subprocess
import sys

from foundation.recursion import DEFAULT_RECURSION_LIMIT, settle_recursion_limit

REPORT = "import sys; print('recursion limit', sys.getrecursionlimit(), flush=True)"


def limits_seen(code: str, env: dict[str, str] | None = None) -> list[int]:
    """Run `code` in a fresh interpreter and return the limits it printed, one per line."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return [int(line.split()[-1]) for line in done.stdout.splitlines() if line.startswith("recursion limit ")]


def test_settling_restores_the_default_after_py_ecc_raised_it():
    previous = sys.getrecursionlimit()
    try:
        settle_recursion_limit()
        assert sys.getrecursionlimit() == DEFAULT_RECURSION_LIMIT
        import py_ecc  # noqa: F401 - imported again: its body does not run twice

        assert sys.getrecursionlimit() == DEFAULT_RECURSION_LIMIT
    finally:
        sys.setrecursionlimit(previous)


def test_the_cli_entry_point_settles_the_limit_before_running_a_command():
    code = f"import py_ecc; {REPORT}; from dstack_gov.cli import main; main(['--version']); {REPORT}"
    raised, settled = limits_seen(code)
    assert raised == 100_000  # what importing py_ecc does (eth-account, web3 and safe-eth-py import it)
    assert settled == DEFAULT_RECURSION_LIMIT


def test_the_webhook_factory_settles_the_limit():
    env = {**os.environ, "ETH_RPC_URL": "http://127.0.0.1:9", "KMS_CONTRACT_ADDR": "0x" + "11" * 20}
    env.pop("DSTACK_GOV_CONFIG", None)
    code = f"from dstack_gov.webhook import create_app_from_env; {REPORT}; create_app_from_env(); {REPORT}"
    raised, settled = limits_seen(code, env)
    assert (raised, settled) == (100_000, DEFAULT_RECURSION_LIMIT)
