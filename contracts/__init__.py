"""The dstack governance contracts: compiled artifacts and Python bindings to deploy and read them."""

from .artifacts import Artifact, app_abi, kms_abi, load_artifact
from .deployment import (
    AppSettings,
    ProxyDeployment,
    app_contract,
    creation_code,
    deploy_app,
    deploy_implementation,
    deploy_kms,
    deploy_proxy,
    kms_contract,
)
from .revert import decode_revert
from .sender import Receipt, TransactionReverted, TransactionSender, describe_call_error

__all__ = [
    "AppSettings",
    "Artifact",
    "ProxyDeployment",
    "Receipt",
    "TransactionReverted",
    "TransactionSender",
    "app_abi",
    "app_contract",
    "creation_code",
    "decode_revert",
    "deploy_app",
    "deploy_implementation",
    "deploy_kms",
    "deploy_proxy",
    "describe_call_error",
    "kms_abi",
    "kms_contract",
    "load_artifact",
]
