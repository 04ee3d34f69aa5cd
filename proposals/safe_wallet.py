"""Deep links into Safe{Wallet} for a proposal: `<url>/transactions/tx?safe=<short>:<safe>&id=multisig_<safe>_<hash>`.

The chain's EIP-3770 short name comes from the config, else from this table of well-known chains; a
chain with neither (a local devnet) gets no link.
"""

from __future__ import annotations

from dataclasses import dataclass

SHORT_NAMES = {
    1: "eth", 10: "oeth", 56: "bnb", 100: "gno", 137: "matic", 324: "zksync", 8453: "base", 42161: "arb1",
    42220: "celo", 43114: "avax", 59144: "linea", 534352: "scr", 11155111: "sep", 84532: "basesep",
}  # fmt: skip
DEFAULT_URL = "https://app.safe.global"
DEFAULT_TEMPLATE = "{url}/transactions/tx?safe={short_name}:{safe}&id=multisig_{safe}_{safe_tx_hash}"


@dataclass(frozen=True)
class SafeWalletLinks:
    """Where Safe{Wallet} lives and how its transaction page is addressed."""

    url: str = DEFAULT_URL
    short_name: str | None = None
    template: str = DEFAULT_TEMPLATE

    def link(self, chain_id: int, safe: str, safe_tx_hash: bytes) -> str | None:
        """Return the Safe{Wallet} page of one transaction, or None when the chain has no short name."""
        short_name = self.short_name or SHORT_NAMES.get(chain_id)
        if short_name is None:
            return None
        return self.template.format(url=self.url.rstrip("/"), short_name=short_name, safe=safe,
                                    safe_tx_hash="0x" + bytes(safe_tx_hash).hex())  # fmt: skip
