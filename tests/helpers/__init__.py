"""Shared test helpers (chain set-up, boot infos)."""
