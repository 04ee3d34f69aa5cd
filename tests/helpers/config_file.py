"""Write the dstack-gov config file a governed deployment (tests.helpers.governance) would use."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.governance import Governance


def write_config(
    gov: Governance, rpc_url: str, directory: Path, *, executor: bool = True, safe_extra: str = "", extra: str = ""
) -> Path:
    """Write a config for `gov` (the executor key in a file, or no [executor] at all); return its path.

    `safe_extra` adds lines to the [[safes]] entry; `extra` appends whole sections.
    """
    text = (
        f'[chain]\nrpc_url = "{rpc_url}"\nchain_id = 1337\n\n'
        f'[contracts]\nkms = "{gov.kms_address}"\n\n'
        f'[safe_infra]\nmulti_send_call_only = "{gov.infra.multi_send_call_only}"\n'
        f'simulate_tx_accessor = "{gov.infra.simulate_tx_accessor}"\n\n'
        f'[[safes]]\naddress = "{gov.safe}"\n{safe_extra}\n'
        f'[database]\nurl = "{gov.db_url}"\n'
    )
    if executor:
        assert gov.executor_account is not None
        key_file = directory / "executor.key"
        key_file.write_text("0x" + gov.executor_account.key.hex())
        text += f'\n[executor]\nfile = "{key_file}"\n'
    text += f"\n{extra}" if extra else ""
    config = directory / "dstack-gov.toml"
    config.write_text(text)
    return config
