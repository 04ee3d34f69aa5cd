"""The dstack KMS boot-auth webhook: answers "may this app / this KMS boot?" from the KMS contract.

It never imports click or the CLI; `dstack-gov authapi` and `uvicorn --factory
authapi.app:create_app_from_env` are its two thin entry points.
"""

from .app import create_app, create_app_from_env
from .jsonrpc import RpcError
from .reader import KmsReader, KmsStatus, Verdict
from .request import BootAuthRequest
from .settings import Settings, load_settings, settings_from_config

__all__ = [
    "BootAuthRequest",
    "KmsReader",
    "KmsStatus",
    "RpcError",
    "Settings",
    "Verdict",
    "create_app",
    "create_app_from_env",
    "load_settings",
    "settings_from_config",
]
