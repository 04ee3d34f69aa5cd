"""The dstack KMS boot-auth webhook: answers "may this app / this KMS boot?" from the KMS contract.

It never imports click, the CLI or the config loader: `dstack_gov.webhook` reads the config file into
`Settings`, and `dstack-gov authapi` and `uvicorn --factory dstack_gov.webhook:create_app_from_env` are
its two thin entry points.
"""

from .app import create_app
from .jsonrpc import RpcError
from .reader import KmsReader, KmsStatus, Verdict
from .request import BootAuthRequest
from .settings import Settings, settings_from_config

__all__ = [
    "BootAuthRequest",
    "KmsReader",
    "KmsStatus",
    "RpcError",
    "Settings",
    "Verdict",
    "create_app",
    "settings_from_config",
]
