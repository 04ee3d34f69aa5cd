"""Run a `dstack-gov -v` server in a child process with its output in a file, for secret checks."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.processes import stop, wait_until_serving
from tests.helpers.rpc_proxy import RPC_PASSWORD, RPC_USER, SECRETS

RUN_CLI = "import sys; from dstack_gov.cli import main; sys.exit(main(sys.argv[1:]))"
OVERRIDES = ("DSTACK_GOV_CONFIG", "DSTACK_GOV_RPC_URL", "DSTACK_GOV_KMS", "ETH_RPC_URL", "KMS_CONTRACT_ADDR",
             "DSTACK_GOV_DATABASE_URL", "DSTACK_GOV_EXECUTOR_KEY", "DSTACK_GOV_API_TOKEN", "PORT")  # fmt: skip
# The Authorization header a client derives from the userinfo must not show up either.
BASIC_AUTH = base64.b64encode(f"{RPC_USER}:{RPC_PASSWORD}".encode()).decode()


@contextmanager
def verbose_server(args: Sequence[str], health_url: str, directory: Path, **env: str) -> Iterator[Path]:
    """Start `dstack-gov -v args...` in `directory`; yield the file that receives its stdout and stderr."""
    environ = {k: v for k, v in os.environ.items() if k not in OVERRIDES} | env
    output = directory / "server.log"
    with output.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-c", RUN_CLI, "-v", *args], env=environ, cwd=directory,
                                   stdout=sink, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            wait_until_serving(process, health_url, timeout=30)
            yield output
        finally:
            stop(process)


def leaked(text: str) -> list[str]:
    """Return the RPC URL secrets (and the Basic credentials made of them) found in `text`."""
    return [secret for secret in (*SECRETS, BASIC_AUTH) if secret in text]
