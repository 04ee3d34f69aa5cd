// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {DstackKms} from "../DstackKms.sol";

/// @title A test-only successor implementation, to prove upgrades take effect.
contract DstackKmsV2Mock is DstackKms {
    function upgradedMarker() external pure returns (string memory) {
        return "v2";
    }
}
