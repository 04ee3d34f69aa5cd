"""The image's entrypoint and health check, and compose.yaml's command lines, run outside Docker.

These machines cannot pull base images, so the image is never built here. What can be checked is
checked: the build stage copies every package the wheel needs, and the exact command lines of the
Dockerfile (ENTRYPOINT, HEALTHCHECK) and of compose.yaml (the bot replicas, the webhook) start and
answer against a temp config, with the installed `dstack-gov` console script (the same entry point
the image installs). Two substitutions: servers bind 127.0.0.1 (not 0.0.0.0) and free ports.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from dstack_gov.anvil import free_port
from dstack_gov.config import load_config
from tests.helpers.bot import write_run_config
from tests.helpers.config_file import write_config
from tests.helpers.fake_telegram import FakeTelegram
from tests.helpers.processes import stop, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def instruction(name: str) -> list[str]:
    """Return the JSON (exec form) arguments of the last `name` instruction, continuation lines joined."""
    text = dockerfile().replace("\\\n", " ")
    found = re.findall(rf"^{name}\s+(?:--\S+\s+)*(?:CMD\s+)?(\[.*\])\s*$", text, flags=re.MULTILINE)
    return list(json.loads(found[-1]))


def runtime_env() -> dict[str, str]:
    """Return the runtime stage's ENV values."""
    stage = dockerfile().split("AS runtime", 1)[1].replace("\\\n", " ")
    return dict(re.findall(r"(\w+)=(\S+)", " ".join(re.findall(r"^ENV\s+(.*)$", stage, flags=re.MULTILINE))))


def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def local(args: list[str], port: int) -> list[str]:
    """Bind loopback on a free port instead of the container's 0.0.0.0 and fixed port."""
    return [("127.0.0.1" if a == "0.0.0.0" else a) for a in args] + ["--port", str(port)]


def healthcheck(url: str, port: int) -> int:
    """Run the Dockerfile's HEALTHCHECK command line against `url` (its port replaced); return its exit code."""
    command = instruction("HEALTHCHECK")
    assert command[0] == "python"
    env = {**os.environ, "DSTACK_GOV_HEALTH_URL": re.sub(r":\d+/", f":{port}/", url)}
    return subprocess.run([sys.executable, *command[1:]], env=env, timeout=30, check=False).returncode


def test_the_build_stage_copies_every_package_the_wheel_needs():
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    build = dockerfile().split("AS build", 1)[1].split("\nFROM ", 1)[0]
    copied = set(re.findall(r"^COPY (\w+) \./\1$", build, flags=re.MULTILINE))
    assert {name.rstrip("*") for name in packages["include"]} <= copied


def test_the_runtime_stage_is_non_root_and_the_npm_tools_stay_in_dev():
    stages = re.split(r"^FROM ", dockerfile(), flags=re.MULTILINE)
    runtime = next(stage for stage in stages if " AS runtime" in stage.splitlines()[0])
    assert stages[-1] is runtime  # `docker build .` produces it
    assert re.search(r"^USER dstack-gov$", runtime, flags=re.MULTILINE)
    assert "node" not in runtime and "npm" not in runtime
    assert "npm ci" in next(stage for stage in stages if " AS tools" in stage.splitlines()[0])
    assert instruction("ENTRYPOINT") == ["dstack-gov"]


def test_the_example_config_is_valid():
    config = load_config(ROOT / "dstack-gov.example.toml")
    assert len(config.chain.endpoints()) == 2 and config.chain.confirmations == 3
    assert config.executor.max_fee_gwei == 30 and config.logging.format == "json"


def test_a_bot_replica_starts_from_compose_and_passes_the_health_check(anvil, gov, tmp_path):
    service = compose()["services"]["bot-1"]
    environment = service["environment"]
    assert set(environment) >= {"DSTACK_GOV_DATABASE_URL", "DSTACK_GOV_TELEGRAM_TOKEN", "DSTACK_GOV_EXECUTOR_KEY"}
    port = free_port()
    with FakeTelegram() as telegram:
        config = write_run_config(gov, anvil.url, telegram, tmp_path)
        env = {**os.environ, "DSTACK_GOV_CONFIG": str(config), "DSTACK_GOV_TELEGRAM_TOKEN": telegram.token,
               "DSTACK_GOV_LOG_FORMAT": environment["DSTACK_GOV_LOG_FORMAT"],
               # compose points this at its PostgreSQL; here the temp config's SQLite file is the database
               "DSTACK_GOV_DATABASE_URL": f"sqlite:///{tmp_path / 'governance.sqlite'}"}  # fmt: skip
        command = [str(BIN / instruction("ENTRYPOINT")[0]), *local(service["command"], port)]
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            url = runtime_env()["DSTACK_GOV_HEALTH_URL"]
            wait_until_serving(process, re.sub(r":\d+/", f":{port}/", url), timeout=60)
            assert healthcheck(url, port) == 0
            assert healthcheck(url, free_port()) != 0  # the check does fail when nothing answers
        finally:
            stop(process)


def test_the_webhook_starts_from_compose_and_passes_the_health_check(anvil, gov, tmp_path):
    service = compose()["services"]["webhook"]
    port = free_port()
    config = write_config(gov, anvil.url, tmp_path)
    env = {**os.environ, "DSTACK_GOV_CONFIG": str(config), **service["environment"]}
    command = [str(BIN / instruction("ENTRYPOINT")[0]), *local(service["command"], port)]
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = service["environment"]["DSTACK_GOV_HEALTH_URL"]
        wait_until_serving(process, re.sub(r":\d+/", f":{port}/", url), timeout=60)
        assert healthcheck(url, port) == 0
    finally:
        stop(process)
