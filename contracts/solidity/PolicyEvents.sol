// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title The one event every policy change emits, so indexers need a single filter.
/// @dev `policy` is keccak256 of the policy's name, `value` the item (a hash, or an
///      address left-padded to 32 bytes), `enabled` whether it was granted or revoked.
abstract contract PolicyEvents {
    event PolicyChanged(address indexed actor, bytes32 indexed policy, bytes32 indexed value, bool enabled);

    bytes32 internal constant POLICY_OS_IMAGE = keccak256("osImage");
    bytes32 internal constant POLICY_KMS_AGGREGATED_MR = keccak256("kmsAggregatedMr");
    bytes32 internal constant POLICY_KMS_DEVICE = keccak256("kmsDevice");
    bytes32 internal constant POLICY_GATEWAY_APP_ID = keccak256("gatewayAppId");
    bytes32 internal constant POLICY_APP_IMPLEMENTATION = keccak256("appImplementation");
    bytes32 internal constant POLICY_REGISTERED_APP = keccak256("registeredApp");
    bytes32 internal constant POLICY_KMS_INFO = keccak256("kmsInfo");
    bytes32 internal constant POLICY_KMS_QUOTE = keccak256("kmsQuote");
    bytes32 internal constant POLICY_KMS_EVENTLOG = keccak256("kmsEventlog");
    bytes32 internal constant POLICY_COMPOSE_HASH = keccak256("composeHash");
    bytes32 internal constant POLICY_DEVICE = keccak256("device");
    bytes32 internal constant POLICY_ALLOW_ANY_DEVICE = keccak256("allowAnyDevice");
    bytes32 internal constant POLICY_REQUIRE_TCB_UP_TO_DATE = keccak256("requireTcbUpToDate");
    bytes32 internal constant POLICY_UPGRADES_DISABLED = keccak256("upgradesDisabled");

    function _addressValue(address account) internal pure returns (bytes32) {
        return bytes32(uint256(uint160(account)));
    }
}
