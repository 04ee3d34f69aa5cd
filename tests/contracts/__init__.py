"""Contract tests: artifacts, interface, and behaviour against anvil."""
