// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Boot authorisation asked of a dstack app (or of the KMS on its behalf).
interface IAppAuth {
    /// @dev Everything the KMS knows about a VM that asks to boot.
    struct AppBootInfo {
        address appId;
        bytes32 composeHash;
        address instanceId;
        bytes32 deviceId;
        bytes32 mrAggregated;
        bytes32 mrSystem;
        bytes32 osImageHash;
        string tcbStatus;
        string[] advisoryIds;
    }

    /// @notice Decide whether the described VM may boot; `reason` is empty when it may.
    function isAppAllowed(AppBootInfo calldata bootInfo) external view returns (bool isAllowed, string memory reason);
}
