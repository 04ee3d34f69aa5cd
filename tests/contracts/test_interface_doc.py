"""docs/interface.md: its generated tables agree with the transcribed interface, its prose with the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from authapi.responses import BACKEND_UNAVAILABLE_BODY, INVALID_REQUEST_BODY, STATUS_ERROR_BODY
from contracts.interface_doc import (
    INTERFACES,
    MARKER,
    boot_info_members,
    events,
    functions,
    interface_id,
    main,
    render_document,
    render_tables,
)
from dstack_gov.config import ENV_OVERRIDES
from tests.contracts.test_artifacts import BOOT_INFO, IAPP_AUTH_BASIC_MANAGEMENT_ID, IAPP_AUTH_ID, SPEC

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "interface.md"
SOLIDITY = ROOT / "contracts" / "solidity"


@pytest.mark.parametrize("name", sorted(SPEC))
def test_generated_function_rows_match_the_transcribed_table(name: str) -> None:
    spec_functions, _ = SPEC[name]
    assert {row.selector: (row.signature, row.mutability) for row in functions(name)} == spec_functions


@pytest.mark.parametrize("name", sorted(SPEC))
def test_generated_event_rows_match_the_transcribed_list(name: str) -> None:
    _, spec_events = SPEC[name]
    rows = events(name)
    assert {row.declaration for row in rows} == set(spec_events)
    # The canonical signature is the declaration without names and `indexed`.
    for row in rows:
        assert row.signature == re.sub(r" indexed| \w+(?=[,)])|(?<=,) ", "", row.declaration)


def test_interface_ids_and_boot_info_come_out_as_fixed() -> None:
    ids = {name: interface_id(members) for name, members in INTERFACES.items()}
    assert ids == {"IAppAuth": IAPP_AUTH_ID, "IAppAuthBasicManagement": IAPP_AUTH_BASIC_MANAGEMENT_ID,
                   "IERC165": "0x01ffc9a7"}  # fmt: skip
    assert "(" + ",".join(kind for _, kind in boot_info_members()) + ")" == BOOT_INFO


def test_render_document_replaces_a_stale_generated_half() -> None:
    text = DOC.read_text()
    stale = text.replace("`0x1e079198`", "`0xdeadbeef`")
    assert stale != text
    assert render_document(stale) == text
    head = text.partition(MARKER)[0]
    assert render_document(head + MARKER) == head + MARKER + "\n\n" + render_tables()
    with pytest.raises(ValueError, match="marker"):
        render_document(head)


def test_main_rewrites_the_file_and_refuses_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "interface.md"
    target.write_text("# Title\n\n" + MARKER + "\nold tables\n")
    assert main([str(target)]) == 0
    assert target.read_text() == "# Title\n\n" + MARKER + "\n\n" + render_tables()
    target.write_text("no marker here\n")
    assert main([str(target)]) == 1
    assert main([str(tmp_path / "missing.md")]) == 1
    assert main([]) == 2
    assert capsys.readouterr().err.count("\n") == 3


def test_every_refusal_reason_of_the_contracts_is_quoted_in_the_doc() -> None:
    text = DOC.read_text()
    reasons = set()
    for source in ("DstackKms.sol", "DstackApp.sol"):
        reasons |= set(re.findall(r'return \(false, "([^"]+)"\)', (SOLIDITY / source).read_text()))
    assert len(reasons) == 8
    assert {reason for reason in reasons if f"`{reason}`" not in text} == set()


def test_webhook_bodies_and_env_names_in_the_doc_are_the_code_s() -> None:
    text = DOC.read_text()
    for body in (INVALID_REQUEST_BODY, BACKEND_UNAVAILABLE_BODY, STATUS_ERROR_BODY):
        assert f"`{body.decode()}`" in text
    env_names = {env for env, _, _ in ENV_OVERRIDES}
    for name in ("ETH_RPC_URL", "KMS_CONTRACT_ADDR", "PORT", "DSTACK_GOV_RPC_URL", "DSTACK_GOV_KMS"):
        assert name in env_names and f"`{name}`" in text
