// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {DstackApp} from "../DstackApp.sol";

/// @title A test-only successor implementation, to prove upgrades take effect.
contract DstackAppV2Mock is DstackApp {
    function upgradedMarker() external pure returns (string memory) {
        return "v2";
    }
}
