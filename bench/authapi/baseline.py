"""The fair baseline: web3.py done well, one cached contract object and both eth_calls in one AsyncWeb3 batch.

Same framework (Starlette under uvicorn), same request model and same answers as authapi, so the
bench measures how the chain is asked and how the server spends its CPU, not a strawman that builds
a contract per request. Run: `uvicorn --factory baseline:create_baseline_app`.
"""

from __future__ import annotations

import os

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from web3 import AsyncHTTPProvider, AsyncWeb3

from authapi.request import BootAuthRequest
from contracts import kms_abi

INVALID = {"isAllowed": False, "reason": "invalid authorization request", "gatewayAppId": ""}
UNAVAILABLE = {"isAllowed": False, "reason": "authorization backend unavailable", "gatewayAppId": ""}
MEMBERS = ("appId", "composeHash", "instanceId", "deviceId", "mrAggregated", "mrSystem", "osImageHash",
           "tcbStatus", "advisoryIds")  # fmt: skip


def create_baseline_app() -> Starlette:
    """Build the baseline app from ETH_RPC_URL and KMS_CONTRACT_ADDR."""
    w3 = AsyncWeb3(AsyncHTTPProvider(os.environ["ETH_RPC_URL"]))
    kms = w3.eth.contract(address=AsyncWeb3.to_checksum_address(os.environ["KMS_CONTRACT_ADDR"]), abi=kms_abi())

    async def boot(request: Request, for_kms: bool) -> JSONResponse:
        try:
            boot = BootAuthRequest.model_validate_json(await request.body())
        except ValidationError:
            return JSONResponse(INVALID, 400)
        info = tuple(boot.member(m) for m in MEMBERS)
        info = (AsyncWeb3.to_checksum_address(info[0]), info[1], AsyncWeb3.to_checksum_address(info[2]), *info[3:])
        check = kms.functions.isKmsAllowed if for_kms else kms.functions.isAppAllowed
        try:
            async with w3.batch_requests() as batch:
                batch.add(check(info))
                batch.add(kms.functions.gatewayAppId())
                (allowed, reason), gateway = await batch.async_execute()
        except Exception:  # noqa: BLE001 - any failure fails closed, as in authapi
            return JSONResponse(UNAVAILABLE)
        return JSONResponse({"isAllowed": allowed, "reason": reason, "gatewayAppId": gateway})

    async def on_app(request: Request) -> JSONResponse:
        return await boot(request, for_kms=False)

    async def on_kms(request: Request) -> JSONResponse:
        return await boot(request, for_kms=True)

    return Starlette(
        routes=[Route("/bootAuth/app", on_app, methods=["POST"]), Route("/bootAuth/kms", on_kms, methods=["POST"])]
    )
