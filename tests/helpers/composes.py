"""Realistic app-compose.json files for compose-review tests: a web front and a worker behind dstack."""

from __future__ import annotations

import hashlib
import json
from typing import Any

WEB_DIGEST = "sha256:" + hashlib.sha256(b"acme/web 2.3.1").hexdigest()
WORKER_DIGEST = "sha256:" + hashlib.sha256(b"acme/worker 2.3.1").hexdigest()

PINNED_SERVICES = f"""\
services:
  web:
    image: ghcr.io/acme/web@{WEB_DIGEST}
    ports:
      - "443:8443"
    environment:
      - DATABASE_URL=${{DATABASE_URL}}
    volumes:
      - /var/run/dstack.sock:/var/run/dstack.sock
    restart: always
  worker:
    image: ghcr.io/acme/worker@{WORKER_DIGEST}
    command: ["worker", "--queue", "jobs"]
    environment:
      - DATABASE_URL=${{DATABASE_URL}}
    restart: always
"""

# The same app, its worker now on a tag: whoever pushes that tag decides what runs.
UNPINNED_SERVICES = PINNED_SERVICES.replace(f"ghcr.io/acme/worker@{WORKER_DIGEST}", "ghcr.io/acme/worker:2.4")


def app_compose(services: str = PINNED_SERVICES, **overrides: Any) -> dict[str, Any]:
    """Return an app-compose.json as a mapping (dstack's docker-compose runner, two services)."""
    document: dict[str, Any] = {
        "manifest_version": 2,
        "name": "acme-orders",
        "runner": "docker-compose",
        "docker_compose_file": services,
        "kms_enabled": True,
        "gateway_enabled": True,
        "public_logs": False,
        "public_sysinfo": True,
        "public_tcbinfo": True,
        "local_key_provider_enabled": False,
        "key_provider": "kms",
        "allowed_envs": ["DATABASE_URL"],
        "no_instance_id": False,
        "secure_time": True,
        "pre_launch_script": "",
    }
    document.update(overrides)
    return document


def canonical(document: dict[str, Any]) -> bytes:
    """Return the file as dstack's tools write it (keys sorted, no spaces): both hashes agree."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def pretty(document: dict[str, Any]) -> bytes:
    """Return the file pretty-printed, as a person might save it: its sha256 is not the canonical hash."""
    return (json.dumps(document, indent=2) + "\n").encode()


def sha256_hex(data: bytes) -> str:
    """Return 0x + the sha256 of `data`."""
    return "0x" + hashlib.sha256(data).hexdigest()
