"""`dstack-gov run` replicas as child processes on one PostgreSQL database (tests/replicas, bench/failover.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from proposals.store.leadership import current_leader
from tests.helpers.bot import write_run_config
from tests.helpers.fake_telegram import FakeTelegram
from tests.helpers.governance import Governance

DSTACK_GOV = Path(sys.executable).parent / "dstack-gov"
START_TIMEOUT = 60.0


@dataclass
class Replica:
    """One `dstack-gov run` process."""

    process: asyncio.subprocess.Process
    http: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.returncode is None


def replica_config(gov: Governance, anvil_url: str, telegram: FakeTelegram, directory: Path, db_url: str) -> Path:
    """Write `gov`'s run config with its database moved to `db_url` (the replicas' shared PostgreSQL)."""
    config = write_run_config(gov, anvil_url, telegram, directory)
    config.write_text(config.read_text().replace(f'url = "{gov.db_url}"', f'url = "{db_url}"'))
    return config


async def start_replica(config: Path, token: str, log: Path) -> Replica:
    """Start `dstack-gov run` and wait for its summary line (its HTTP server is listening by then)."""
    env = {**os.environ, "DSTACK_GOV_TELEGRAM_TOKEN": token}
    with log.open("w") as stderr:
        process = await asyncio.create_subprocess_exec(
            str(DSTACK_GOV), "-v", "run", "--config", str(config), "--json",
            stdout=asyncio.subprocess.PIPE, stderr=stderr, env=env,
        )  # fmt: skip
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
    if not line:
        await process.wait()
        raise AssertionError(f"replica exited with {process.returncode}; its log is {log}")
    return Replica(process, json.loads(line)["http"], log)


def leader_pid(db_url: str) -> int | None:
    """Return the PID of the replica that holds the leader lock, if one does."""
    label = current_leader(db_url)
    found = re.search(r"pid (\d+)$", label or "")
    return int(found.group(1)) if found else None


async def wait_for_leader(db_url: str, replicas: list[Replica], *, within: float = 30.0) -> Replica:
    """Return the live replica that leads, once one does."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        pid = await asyncio.to_thread(leader_pid, db_url)
        for replica in replicas:
            if replica.alive and replica.pid == pid:
                return replica
        await asyncio.sleep(0.05)
    raise AssertionError(f"no live replica leads after {within:.0f} s")


async def kill(replica: Replica, sig: int = signal.SIGKILL) -> None:
    """Kill a replica we started (SIGKILL: no goodbye, its sockets closed by the kernel)."""
    replica.process.send_signal(sig)
    if sig == signal.SIGKILL:
        await replica.process.wait()


async def stop_all(replicas: list[Replica]) -> None:
    """Stop every replica still running (SIGTERM, then SIGKILL after 20 s)."""
    for replica in replicas:
        if replica.alive:
            replica.process.send_signal(signal.SIGTERM)
    for replica in replicas:
        try:
            await asyncio.wait_for(replica.process.wait(), 20)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                replica.process.kill()
            await replica.process.wait()
