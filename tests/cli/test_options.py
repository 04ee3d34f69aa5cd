"""`run` and `serve` take the HTTP API's options from one declaration, so they cannot drift apart."""

from __future__ import annotations

from dstack_gov.cli.run import run
from dstack_gov.cli.serve import serve


def _api_options(command):
    return {p.name: (p.opts, p.help, str(p.type)) for p in command.params if p.name in {"host", "port", "token_env"}}


def test_run_and_serve_declare_the_api_options_alike():
    assert _api_options(run) == _api_options(serve)
    assert sorted(_api_options(serve)) == ["host", "port", "token_env"]
