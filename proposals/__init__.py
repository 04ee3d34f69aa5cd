"""The governance core: actions, proposals, signatures, execution and reconciliation.

It never imports a front end (Telegram, HTTP framework, CLI library) and never prints.
"""
