"""Start and stop a local anvil node (from the pinned npm package) on 127.0.0.1."""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

DEV_CHAIN_ID = 1337  # the Safe singleton factory's presigned deployment exists for this chain id
# anvil's well-known dev mnemonic; its keys are public and for local chains only.
DEV_MNEMONIC = "test test test test test test test test test test test junk"


class AnvilNotFound(RuntimeError):
    """No anvil binary: run `make setup` (it runs `npm ci`) in the project, or set DSTACK_GOV_ANVIL."""


def _platform_package() -> str:
    machine = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), "amd64")
    system = {"Linux": "linux", "Darwin": "darwin"}.get(platform.system(), "linux")
    return f"anvil-{system}-{machine}"


def find_anvil(start: Path | None = None) -> Path:
    """Locate the anvil binary: $DSTACK_GOV_ANVIL, then node_modules up from `start`, then PATH."""
    override = os.environ.get("DSTACK_GOV_ANVIL")
    if override:
        return Path(override)
    roots = [start or Path.cwd(), Path(__file__).resolve().parent]
    for root in roots:
        for directory in (root, *root.parents):
            candidate = directory / "node_modules" / "@foundry-rs" / _platform_package() / "bin" / "anvil"
            if candidate.is_file():
                return candidate
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise AnvilNotFound(
        "anvil not found: run `make setup` (or `npm ci`) in the project directory, or set DSTACK_GOV_ANVIL"
    )


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rpc_ready(url: str, timeout: float = 1.0) -> bool:
    """Return True when `url` answers eth_chainId."""
    try:
        response = httpx.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=timeout
        )
        return response.status_code == 200 and "result" in response.json()
    except (httpx.HTTPError, ValueError):
        return False


@dataclass
class Anvil:
    """A running anvil child process that this object started and alone stops."""

    port: int
    chain_id: int = DEV_CHAIN_ID
    accounts: int = 10
    block_time: float | None = None
    state_path: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """Return the HTTP RPC URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Anvil:
        """Start anvil and wait until its RPC answers."""
        cmd = [
            str(find_anvil()),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--accounts", str(self.accounts),
            "--mnemonic", DEV_MNEMONIC,
            "--silent",
        ]  # fmt: skip
        if self.block_time:
            cmd += ["--block-time", str(self.block_time)]
        if self.state_path is not None:
            # --state loads the file if present and dumps to it on exit, so the devnet survives restarts.
            cmd += ["--state", str(self.state_path)]
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = (self.process.stderr.read() if self.process.stderr else b"").decode(errors="replace")
                raise RuntimeError(f"anvil exited with code {self.process.returncode}: {err.strip()[:300]}")
            if rpc_ready(self.url, timeout=0.5):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"anvil did not answer on {self.url} within {timeout:.0f}s")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process we started (SIGTERM, then SIGKILL), letting it dump --state."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)

    def __enter__(self) -> Anvil:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
