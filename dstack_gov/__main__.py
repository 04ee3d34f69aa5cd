"""Allow `python -m dstack_gov`."""

from dstack_gov.cli import entry_point

entry_point()
