"""The `dstack-gov` command-line interface."""

from .root import cli, entry_point, main

__all__ = ["cli", "entry_point", "main"]
