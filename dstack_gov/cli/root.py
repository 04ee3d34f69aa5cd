"""The `dstack-gov` command group and its single error handler."""

from __future__ import annotations

import json
import logging
import sys

import click

from dstack_gov import __version__
from dstack_gov.config import ConfigError
from dstack_gov.logs import LogFormat, configure_logging
from foundation.recursion import settle_recursion_limit
from foundation.redaction import install_log_redaction
from proposals.errors import GovernanceError

log = logging.getLogger("dstack_gov.cli")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="dstack-gov")
@click.option("-v", "--verbose", is_flag=True, help="Log debug information to stderr.")
@click.option("--log-format", type=click.Choice(["text", "json"]), envvar="DSTACK_GOV_LOG_FORMAT",
              help="Log lines as text or one JSON object per line (default: [logging] format, text).")  # fmt: skip
def cli(verbose: bool, log_format: LogFormat | None) -> None:
    """On-chain governance for dstack: contracts, Safe proposals, the signing bot and the boot-auth webhook."""
    configure_logging(verbose=verbose, log_format=log_format)


def _register_commands() -> None:
    # Imported here so each command module can import `cli` without a cycle.
    from dstack_gov.cli import actions, authapi, catalogue, demo, deploy, devnet, info, proposals, run, safes, serve
    from dstack_gov.cli.policy import policy
    from proposals.catalogue import Group

    kms = actions.group_for(Group.KMS, "DstackKms admin actions (OS images, KMS settings, app registry).")
    kms.add_command(deploy.kms_deploy)
    kms.add_command(deploy.implementation_command("DstackKms", "kms"))
    app = actions.group_for(Group.APP, "DstackApp admin actions (compose hashes, devices, TCB rule).")
    app.add_command(deploy.app_deploy)
    app.add_command(deploy.implementation_command("DstackApp", "app"))
    safe = actions.group_for(Group.SAFE, "The Safe's owners and threshold (always as proposals).", proposing=True)
    safe.add_command(safes.safe_create)
    propose = proposals.propose
    for group, text in ((Group.KMS, "Propose DstackKms actions."), (Group.APP, "Propose DstackApp actions."),
                        (Group.SAFE, "Propose Safe owner/threshold changes.")):  # fmt: skip
        propose.add_command(actions.group_for(group, text, proposing=True))
    for command in (
        kms, app, safe, propose, proposals.sign, proposals.export, proposals.status, proposals.list_,
        proposals.execute, proposals.cancel, proposals.audit, proposals.reconcile,
        info.info, info.check, devnet.devnet, demo.demo, authapi.authapi, catalogue.catalogue, serve.serve, run.run,
        policy,
    ):  # fmt: skip
        cli.add_command(command)
    # Every heavy import is done: undo the recursion limit py_ecc raised (see foundation.recursion).
    settle_recursion_limit()


def _wants_json(argv: list[str] | None) -> bool:
    """Return True when --json was given (before any `--`), so even a usage error answers in JSON."""
    args = sys.argv[1:] if argv is None else argv
    return "--json" in (args[: args.index("--")] if "--" in args else args)


def _fail(message: str, code: int, kind: str, json_output: bool) -> int:
    if json_output:
        # Scripts read stdout under --json: a failure is one JSON object there, and stderr stays quiet.
        click.echo(json.dumps({"error": message, "kind": kind}))
    else:
        click.echo(f"error: {message}", err=True)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; a failure is one line on stderr (one JSON object on stdout with --json) and an exit code.

    Exit codes: 0 done, 1 chain or runtime error, 2 bad input, 3 `check` denied, 4 `policy plan`: changes
    pending, 5 `policy drift`: drift found, 130 interrupted.
    """
    # Libraries log request URLs (RPC keys included) with -v; scrub every record while we run.
    unredact = install_log_redaction()
    try:
        return _run(argv)
    finally:
        unredact()


def _run(argv: list[str] | None) -> int:
    as_json = _wants_json(argv)
    try:
        _register_commands()
        # Outside standalone mode click returns an Exit's code (`check` denied: 3) instead of raising it.
        outcome = cli.main(args=argv, prog_name="dstack-gov", standalone_mode=False)
    except click.exceptions.Abort:
        return _fail("aborted", 130, "aborted", as_json)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        return _fail(f"{exc.format_message()}{hint}", 2, "usage", as_json)
    except click.ClickException as exc:
        return _fail(exc.format_message(), exc.exit_code, "error", as_json)
    except ConfigError as exc:
        return _fail(str(exc), 2, "config", as_json)
    except GovernanceError as exc:
        return _fail(exc.message, exc.exit_code, exc.kind, as_json)
    except KeyboardInterrupt:
        return _fail("interrupted", 130, "interrupted", as_json)
    except Exception:
        log.debug("unexpected error", exc_info=True)
        return _fail("unexpected internal error (run with -v for details)", 1, "internal", as_json)
    return outcome if isinstance(outcome, int) else 0


def entry_point() -> None:
    """Console-script entry: exit with main()'s code."""
    sys.exit(main())
