"""The boot-auth webhook set up from the project config: where `dstack_gov.config` meets `authapi`.

`authapi` takes its `Settings` and never reads the config file itself (it imports nothing of this
package); `dstack-gov authapi` and `uvicorn --factory dstack_gov.webhook:create_app_from_env` both
start here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Unpack

from authapi.app import create_app
from authapi.asgi import App
from authapi.settings import Overrides, Settings, settings_from_config
from dstack_gov.config import load_config, resolve_config_path
from foundation.recursion import settle_recursion_limit


def load_settings(
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Unpack[Overrides],
) -> Settings:
    """Read the config file (--config, $DSTACK_GOV_CONFIG or ./dstack-gov.toml) and the environment."""
    config = load_config(resolve_config_path(config_path, environ), environ)
    return settings_from_config(config, **overrides)


def create_app_from_env() -> App:
    """Build the webhook from the config file and environment (for `uvicorn --factory`)."""
    settle_recursion_limit()  # this process's entry point: undo py_ecc's raised limit (foundation.recursion)
    return create_app(load_settings())
