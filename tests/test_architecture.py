"""Layering rules and generated docs, checked mechanically."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from contracts.interface_doc import render_document
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
    # The leaf every package may import: it imports none of ours, nor any front-end library.
    "foundation": {"proposals", "bot", "authapi", "dstack_gov", "contracts", "telegram", "fastapi", "starlette",
                   "uvicorn", "click", "rich", "apscheduler", "web3", "safe_eth", "sqlalchemy"},
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
