"""Keep the interpreter's recursion limit at Python's default in our processes.

`py_ecc` (imported by eth-account, so by web3 and safe-eth-py) raises the limit to 100,000 when
imported. Recursive C code such as `json.loads` trusts that limit to stop before the C stack runs out,
so with it raised a deeply nested input overflows the stack and the process dies with SIGSEGV instead
of raising RecursionError. Every process entry point calls `settle_recursion_limit` once its heavy
imports are done. Nothing we run needs more: the deepest recursion in py_ecc is a scalar multiplication
of about 256 levels, and every document we parse is refused beyond a small nesting depth anyway.
"""

from __future__ import annotations

import importlib
import sys

DEFAULT_RECURSION_LIMIT = 1000
# Modules that raise the limit at import time; importing them before settling means a later lazy
# import cannot raise it again (a module body runs once per process).
_RAISERS = ("py_ecc",)


def settle_recursion_limit(limit: int = DEFAULT_RECURSION_LIMIT) -> int:
    """Import the modules that raise the recursion limit, then set it to `limit`; return the old limit."""
    for name in _RAISERS:
        try:
            importlib.import_module(name)
        except ImportError:
            continue
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    return previous
