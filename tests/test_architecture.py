"""Layering rules and generated docs, checked mechanically."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from contracts.interface_doc import render_document
from dstack_gov.api.app import routed_app
from dstack_gov.api.reference import render_markdown as render_api_reference
from proposals.catalogue.docs import render_markdown

ROOT = Path(__file__).resolve().parent.parent
# The core and the contract bindings know no front end (DESIGN.md: "The core knows no front end").
FORBIDDEN = {
    "proposals": {"telegram", "fastapi", "starlette", "uvicorn", "click", "rich", "dstack_gov", "bot",
                  "authapi", "apscheduler"},
    "contracts": {"telegram", "fastapi", "starlette", "uvicorn", "click", "rich", "dstack_gov", "bot", "authapi",
                  "proposals"},
    # The webhook is handed its settings (dstack_gov.webhook reads the config file): it imports neither the
    # composition root nor the bot nor the proposals core, only the leaf's config schema.
    "authapi": {"telegram", "click", "dstack_gov", "bot", "proposals"},
    # The leaf every package may import: it imports none of ours, nor any front-end library. uvicorn only
    # in serving.py: how every server of the project runs.
    "foundation": {"proposals", "bot", "authapi", "dstack_gov", "contracts", "telegram", "fastapi", "starlette",
                   "click", "rich", "apscheduler", "web3", "safe_eth", "sqlalchemy"},
}  # fmt: skip


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _forbidden(imported: set[str], rules: set[str]) -> list[str]:
    return sorted(m for m in imported for rule in rules if m == rule or m.startswith(rule + "."))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_no_front_end(package):
    offenders = {
        str(path.relative_to(ROOT)): _forbidden(_imports(path), FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


# Our top-level packages; an import between two of them is an edge of the package graph.
PACKAGES = ("authapi", "bot", "contracts", "dstack_gov", "foundation", "proposals")


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {package: set() for package in PACKAGES}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            graph[package] |= {name.split(".")[0] for name in _imports(path)} & set(PACKAGES) - {package}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return one path per package that can reach itself again through the graph."""
    found = []
    for start in sorted(graph):
        paths = [[start, n] for n in sorted(graph[start])]
        seen: set[str] = set()
        while paths:
            path = paths.pop()
            if path[-1] == start:
                found.append(path)
                break
            if path[-1] in seen:
                continue
            seen.add(path[-1])
            paths += [[*path, n] for n in sorted(graph[path[-1]])]
    return found


def test_no_import_cycle_between_our_packages():
    assert _cycles(_package_graph()) == []


def test_the_cycle_check_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c", "a"],
        ["b", "c", "a", "b"],
        ["c", "a", "b", "c"],
    ]


def test_core_never_prints():
    printing = []
    for path in (ROOT / "proposals").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                printing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert printing == []


def test_actions_reference_is_generated_from_the_catalogue():
    assert (ROOT / "docs" / "actions.md").read_text() == render_markdown()


def test_api_reference_is_generated_from_the_app():
    rendered = render_api_reference(routed_app().openapi())
    assert (ROOT / "docs" / "api.md").read_text() == rendered, "run `python -m dstack_gov.api.reference > docs/api.md`"


def test_interface_reference_tables_are_generated_from_the_abis():
    text = (ROOT / "docs" / "interface.md").read_text()
    assert text == render_document(text), "run `python -m contracts.interface_doc docs/interface.md`"


# Where the project's own files live; a cited document must be one of its files (no path outside the repo).
SOURCES = ("contracts", "proposals", "bot", "authapi", "dstack_gov", "foundation", "tests", "bench", "docs")
# Other projects' documents, cited together with the project's name.
OTHER_PROJECTS_DOCS = {"docs/error_codes.md"}  # safe-smart-account's, in proposals/errors.py


def test_every_cited_document_is_in_the_repo():
    files = [ROOT / "README.md", *(p for d in SOURCES for ext in ("*.py", "*.md") for p in (ROOT / d).rglob(ext))]
    cited = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in files
        for name in re.findall(r"\b((?:docs|spec)/[\w./-]+\.md)\b", path.read_text())
        if not (ROOT / name).is_file() and name not in OTHER_PROJECTS_DOCS
    }
    assert cited == set()


# One facade (STYLE.md 10): the HTTP API and the CLI reach the proposals core through GovernanceService and
# the core's value types, never what is behind the service: its store (`.store`, `proposals.store.*`), its
# chain reader, web3 client and planner, or the Reconciler (`service.reconcile()` runs a pass).
# Allowed on purpose:
# - proposals.store.audit_export formats AuditEntry values (a core value type) as the JSON and CSV both
#   front ends export alike; it opens no database, as proposals.views formats proposals.
# - proposals.chain in the CLI's direct-mode composition. dstack_gov/wiring.py (outside these folders) is the
#   composition root that builds the service. cli/session.py is the per-command composition (config, RPC
#   client, chain reader, key) for the commands that work without a proposal and so without the service:
#   direct mode (cli/actions.py), deployments (cli/deploy.py, cli/safes.py), `info`/`check` (cli/info.py) and
#   the devnet (cli/devnet.py, cli/demo.py). They read contracts as the dstack tooling does, through
#   `session.reader`, never the service's.
FACADE_FRONT_ENDS = ("dstack_gov/api", "dstack_gov/cli")
FACADE_BEHIND = ("proposals.store", "proposals.reconcile", "proposals.chain")
FACADE_ALLOWED = {"proposals.store.audit_export"}
FACADE_CHAIN_COMPOSITION = {"dstack_gov/cli/session.py", "dstack_gov/cli/safes.py"}
SERVICE_INTERNALS = {"store", "reader", "w3", "client", "planner", "known"}


def _owner_name(node: ast.expr) -> str:
    """Name what an attribute is read from: `gov.core.service` -> service, `service_for(s)` -> service_for."""
    if isinstance(node, ast.Call):
        return _owner_name(node.func)
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _facade_breaches(path: Path, relative: str) -> list[str]:
    allowed = FACADE_ALLOWED | ({"proposals.chain"} if relative in FACADE_CHAIN_COMPOSITION else set())
    breaches = [
        f"import {name}"
        for name in _forbidden(_imports(path), set(FACADE_BEHIND))
        if not any(name == a or name.startswith(a + ".") for a in allowed)
    ]
    for node in ast.walk(ast.parse(path.read_text(), filename=relative)):
        if not isinstance(node, ast.Attribute):
            continue
        owner = _owner_name(node.value)
        if node.attr in SERVICE_INTERNALS and "service" in owner.lower():
            breaches.append(f"line {node.lineno}: {owner}.{node.attr}")
    return breaches


def test_api_and_cli_reach_the_core_only_through_the_service():
    files = [p for folder in FACADE_FRONT_ENDS for p in sorted((ROOT / folder).rglob("*.py"))]
    breaches = {str(p.relative_to(ROOT)): _facade_breaches(p, str(p.relative_to(ROOT))) for p in files}
    assert {k: v for k, v in breaches.items() if v} == {}


def test_the_facade_check_sees_a_breach(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from proposals.store.engine import lock_wait\nfrom proposals.store.audit_export import audit_to_csv\n"
        "def f(context, service_for, session):\n"
        "    context.service.store.close()\n    service_for(session).reader.read()\n    session.reader.read()\n"
    )
    assert _facade_breaches(probe, "dstack_gov/cli/probe.py") == [
        "import proposals.store.engine",
        "line 4: service.store",
        "line 5: service_for.reader",
    ]
    assert _facade_breaches(probe, "dstack_gov/cli/session.py")[0] == "import proposals.store.engine"


# One facade for the bot (STYLE.md 10): it reaches the core through GovernanceService, the core's value types
# and its input parsers, never what is behind the service (store, chain reader, web3 client, reconciler).
# Per module, the names the bot may import (None: any).
BOT_MAY_IMPORT: dict[str, set[str] | None] = {
    "proposals.service": None,  # the facade and its result types
    "proposals.clock": {"Clock", "utc_now"},  # the bot's rows are stamped by the service's clock
    "proposals.service_support": {"ProposalSummary", "PolicySeen"},
    "proposals.models": None,
    "proposals.views": None,
    "proposals.errors": None,
    "proposals.catalogue": None,  # the declarations the /propose grammar and /help are generated from
    "proposals.planning": {"ChangeRequest", "RequestedAction"},
    "proposals.proposal_file": {"MAX_FILE_BYTES", "load_proposal_text"},
    "proposals.signatures": {"SIGNATURE_LENGTH", "parse_signature_hex"},
    "proposals.policy": {"AppPolicy", "KmsPolicy"},
    "proposals.policy_file": {"MAX_POLICY_BYTES", "PolicySpec", "load_policy_text"},  # parses a sent policy file
    "proposals.policy_plan": {"PolicyPlan"},
    "proposals.drift": {"DriftItem", "DriftReport"},
    "proposals.executor_funds": {"BalanceCheck"},  # what check_executor_balance returns, for the group warning
    "proposals.safe_tx": {"SafeState"},
    # The bot keeps its own tables (announcements, links) in the governance database, so it opens them, and
    # the scheduler's job table, with the same engine (WAL, busy timeout, failures translated into Unavailable
    # naming the database) and column conventions. Engine plumbing, no proposal data: the rows stay the
    # bot's (bot/store.py) and the core's tables are reached through the service only.
    "proposals.store.engine": {"make_engine"},
    "proposals.store.tables": {"NAMING_CONVENTION", "UtcDateTime"},
    # The lock replicas elect with: the bot campaigns with it, the composition root builds it.
    "proposals.store.leadership": {"LeaderLock"},
}
# What the service holds behind its facade: no bot code reads these attributes of the service (`gov.service`,
# `core.service`, a `service` argument); the chain ones of nothing at all, since the bot holds no chain client.
BOT_SERVICE_INTERNALS = {"store", "reader", "client", "w3", "planner", "executor", "known"}
BOT_CHAIN_HANDLES = {"reader", "w3"}


def _bot_facade_breaches(source: str) -> list[str]:
    breaches = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            breaches += [f"line {node.lineno}: import {a.name}" for a in node.names if a.name.startswith("proposals")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("proposals"):
            allowed = BOT_MAY_IMPORT.get(node.module or "", set())
            breaches += [
                f"line {node.lineno}: from {node.module} import {a.name}"
                for a in node.names
                if allowed is not None and a.name not in allowed
            ]
        elif isinstance(node, ast.Attribute) and (
            node.attr in BOT_CHAIN_HANDLES
            or (node.attr in BOT_SERVICE_INTERNALS and "service" in _owner_name(node.value).lower())
        ):
            breaches.append(f"line {node.lineno}: {_owner_name(node.value)}.{node.attr}")
    return sorted(breaches, key=lambda breach: int(breach.split()[1].rstrip(":")))


def test_the_bot_reaches_the_core_only_through_the_service():
    breaches = {
        str(path.relative_to(ROOT)): _bot_facade_breaches(path.read_text()) for path in (ROOT / "bot").rglob("*.py")
    }
    assert {k: v for k, v in breaches.items() if v} == {}


def test_the_bot_facade_check_sees_a_breach():
    source = (
        "import proposals.store\nfrom proposals.chain import ChainReader\nfrom proposals.safe_tx import SafeState, "
        "read_safe_state\nfrom proposals.models import Proposal\n"
        "def f(gov, self):\n    gov.service.store.record()\n    gov.core.service.w3.eth\n    gov.bot_store.links()\n"
        "    self.store.links()\n    self.reader.read()\n    gov.service.executor.address\n"
    )
    assert _bot_facade_breaches(source) == [
        "line 1: import proposals.store",
        "line 2: from proposals.chain import ChainReader",
        "line 3: from proposals.safe_tx import read_safe_state",
        "line 6: service.store",
        "line 7: service.w3",
        "line 10: self.reader",
        "line 11: service.executor",
    ]


def test_uvicorn_is_imported_by_foundation_serving_alone_and_configured_there_alone():
    # Every server gets the request-head deadline because every server's config comes from one place.
    importing = sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "foundation").rglob("*.py") if _forbidden(_imports(p), {"uvicorn"})
    )
    assert importing == ["foundation/serving.py"]
    configuring = sorted(
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "uvicorn.Config(" in path.read_text()
    )
    assert configuring == ["foundation/serving.py"]
