"""`dstack-gov audit` reads the log through the service: offline, and an unknown proposal is named."""

from __future__ import annotations

import csv
import io

from dstack_gov.anvil import free_port
from tests.helpers.cli import run_cli
from tests.helpers.config_file import write_config
from tests.helpers.proposing import propose_image


def test_audit_reads_the_log_while_the_rpc_is_down(capsys, gov, tmp_path):
    proposal = propose_image(gov, 1)
    config = str(write_config(gov, f"http://127.0.0.1:{free_port()}", tmp_path, executor=False))

    entries = run_cli(capsys, "audit", "--proposal", str(proposal.id), "--config", config, "--json")
    table = run_cli(capsys, "audit", "--csv", "--config", config)
    listed = run_cli(capsys, "list", "--config", config)  # needs the chain: the contrast

    assert entries.code == 0, entries.err
    assert [(e["proposal_id"], e["event"]) for e in entries.json()] == [
        (proposal.id, "created"),
        (proposal.id, "planned"),
    ]
    assert table.code == 0, table.err
    assert [row["event"] for row in csv.DictReader(io.StringIO(table.out))] == ["created", "planned"]
    assert listed.code == 1 and "unreachable" in listed.error_line


def test_audit_of_an_unknown_proposal_says_so_like_the_api(capsys, gov, tmp_path, anvil):
    propose_image(gov, 1)
    config = str(write_config(gov, anvil.url, tmp_path, executor=False))

    missing = run_cli(capsys, "audit", "--proposal", "99", "--config", config)
    as_json = run_cli(capsys, "audit", "--proposal", "99", "--config", config, "--json")

    assert (missing.code, missing.error_line) == (2, "error: no proposal #99")
    assert as_json.code == 2 and as_json.json_error == {"error": "no proposal #99", "kind": "not-found"}
