"""The one translation of chain errors into governance errors."""

from __future__ import annotations

import pytest
from web3.exceptions import Web3RPCError

from proposals.errors import ChainError, humanize_revert, translate_chain_errors


def test_rpc_errors_show_the_nodes_message_not_a_dict():
    error = {"code": -32003, "message": "Insufficient funds for gas * price + value"}
    raw = Web3RPCError(str(error), rpc_response={"jsonrpc": "2.0", "id": 1, "error": error})
    with pytest.raises(ChainError) as caught, translate_chain_errors("executing the Safe transaction"):
        raise raw
    assert caught.value.message == "executing the Safe transaction failed: Insufficient funds for gas * price + value"


def test_safe_codes_read_as_words():
    assert humanize_revert("execution reverted: GS026") == (
        "GS026: invalid owner provided (signer is not an owner, or signatures are not sorted)"
    )
    assert humanize_revert("Compose hash not allowed") == "Compose hash not allowed"
