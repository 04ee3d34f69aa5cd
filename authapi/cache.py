"""The optional block cache: answers read at one block (the head the poller last saw), dropped when it moves."""

from __future__ import annotations

from collections.abc import Hashable

# An upper bound on memory: distinct answers within one block beyond this are not cached.
MAX_ENTRIES = 4096


class BlockCache:
    """Answers (eth_call results by calldata, verdicts by request) read at exactly one block number.

    The cache never decides freshness by itself: the head follower (head.py) moves it to each head
    the node reports, and says whether that head is recent enough to answer from.
    """

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.block: int | None = None
        self._results: dict[Hashable, object] = {}
        self._max_entries = max_entries

    def lookup(self, key: Hashable) -> object | None:
        """Return the answer stored under `key`, read at `self.block`, if cached."""
        return self._results.get(key)

    def observe(self, block: int) -> None:
        """Record the head a node just reported; any change (new block, reorg, revert) empties the cache."""
        if block != self.block:
            self.block = block
            self._results = {}

    def store(self, block: int, key: Hashable, answer: object) -> None:
        """Keep `answer`, read at `block`, if that is still the cached block and there is room."""
        if block == self.block and len(self._results) < self._max_entries:
            self._results[key] = answer

    def __len__(self) -> int:
        return len(self._results)
