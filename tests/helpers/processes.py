"""Child processes in tests and benches: wait for a server to answer, stop it by its PID."""

from __future__ import annotations

import subprocess
import time

import httpx


def wait_until_serving(process: subprocess.Popen[bytes], url: str, *, timeout: float = 30.0) -> None:
    """Poll `url` until it answers 200 or the process exits; fail with its stderr if it died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    assert process.poll() is None, process.stderr.read().decode() if process.stderr else "process exited"
    raise AssertionError(f"{url} did not answer within {timeout:.0f}s")


def stop(process: subprocess.Popen[bytes], *, timeout: float = 10.0) -> None:
    """Terminate a process we started, then kill it if it does not exit."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
