// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IAppAuth} from "../IAppAuth.sol";

/// @title A test-only app contract that implements IAppAuth its own way:
///        it allows exactly the instance IDs its deployer lists and ignores compose hashes.
contract AllowlistAppAuth is IAppAuth {
    address private immutable _admin;
    mapping(address => bool) public allowedInstances;

    constructor() {
        _admin = msg.sender;
    }

    function setInstance(address instanceId, bool allowed) external {
        require(msg.sender == _admin, "not admin");
        allowedInstances[instanceId] = allowed;
    }

    function isAppAllowed(AppBootInfo calldata bootInfo) external view returns (bool, string memory) {
        if (!allowedInstances[bootInfo.instanceId]) {
            return (false, "Instance not on the allowlist");
        }
        return (true, "");
    }
}
