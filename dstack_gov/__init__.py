"""dstack-gov: the composition root (configuration, CLI, devnet) over the governance core."""

__version__ = "0.1.0"
