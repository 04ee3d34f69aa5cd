"""The optional per-block cache: eth_call results read at the chain head, dropped when the head moves."""

from __future__ import annotations

# An upper bound on memory: distinct boot requests within one block beyond this are not cached.
MAX_ENTRIES = 4096


class BlockCache:
    """Results (by calldata) read at exactly one block number: the latest head any answer reported.

    The cache never decides freshness by itself. Every read that uses it asks the node for
    eth_blockNumber in the same batch, and an entry is served only when that number equals the
    block the entry was read at; so no answer is older than the head at the time of the request.
    """

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.block: int | None = None
        self._results: dict[str, bytes] = {}
        self._max_entries = max_entries

    def lookup(self, calldata: str) -> bytes | None:
        """Return the result of `calldata` read at `self.block`, if cached."""
        return self._results.get(calldata)

    def observe(self, block: int) -> None:
        """Record the head a node just reported; any change (new block, reorg, revert) empties the cache."""
        if block != self.block:
            self.block = block
            self._results = {}

    def store(self, block: int, calldata: str, result: bytes) -> None:
        """Keep `result`, read at `block`, if that is still the cached block and there is room."""
        if block == self.block and len(self._results) < self._max_entries:
            self._results[calldata] = result

    def __len__(self) -> int:
        return len(self._results)
