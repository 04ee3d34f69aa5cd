"""The transaction sender against the session chain: how often it asks for a receipt while none is mined."""

from __future__ import annotations

from web3 import Web3

from contracts import TransactionSender
from tests.helpers.chain import dev_account
from tests.helpers.rpc_proxy import RpcProxy


def test_receipt_polls_start_at_once_and_back_off_to_one_second(w3: Web3, anvil) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # instead of waiting: the block comes after the seventh pause
        slept.append(seconds)
        if len(slept) == 7:
            w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        with RpcProxy(anvil.url) as node:
            sender = TransactionSender(Web3(Web3.HTTPProvider(node.url)), dev_account(7), sleep=sleep)
            receipt = sender.send(dev_account(6).address, b"")
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]

    assert receipt.status == 1
    assert slept == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert node.round_trips.count(("eth_getTransactionReceipt",)) == len(slept) + 1
