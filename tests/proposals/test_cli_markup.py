"""Proposal text is printed as written: titles, descriptions and proposers are never rich markup."""

from __future__ import annotations

from proposals.catalogue import get_action
from proposals.planning import ChangeRequest, RequestedAction
from tests.helpers.cli import run_cli
from tests.helpers.config_file import write_config
from tests.helpers.proposing import word

TITLE = "Release [/x] [green]executed[/]"
DESCRIPTION = "[bold red]all owners agreed[/] [link=https://evil.example]details[/link] [/"
PROPOSER = "[blink]mallory[/]"


def test_status_and_list_print_markup_in_proposal_text_literally(capsys, anvil, gov, tmp_path):
    request = ChangeRequest(
        title=TITLE,
        description=DESCRIPTION,
        actions=(RequestedAction(get_action("kms add-image"), {"osImageHash": word(7)}),),
    )
    proposal = gov.svc.propose(request, proposer=PROPOSER)
    config = str(write_config(gov, anvil.url, tmp_path, executor=False))

    status = run_cli(capsys, "status", str(proposal.id), "--config", config)
    listed = run_cli(capsys, "list", "--config", config)

    assert (status.code, listed.code) == (0, 0), status.err + listed.err
    flat = " ".join(status.out.split())
    assert TITLE in flat
    assert DESCRIPTION in flat
    assert PROPOSER in flat
    assert "[green]executed[/]" in " ".join(listed.out.split())
