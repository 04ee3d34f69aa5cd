// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {Ownable2StepUpgradeable} from "@openzeppelin/contracts-upgradeable/access/Ownable2StepUpgradeable.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

import {IAppAuth} from "./IAppAuth.sol";
import {IAppAuthBasicManagement} from "./IAppAuthBasicManagement.sol";
import {PolicyEvents} from "./PolicyEvents.sol";

/// @title Boot policy of one dstack application; its proxy address is the App ID.
contract DstackApp is
    Initializable,
    Ownable2StepUpgradeable,
    UUPSUpgradeable,
    IAppAuth,
    IAppAuthBasicManagement,
    IERC165,
    PolicyEvents
{
    mapping(bytes32 => bool) public allowedComposeHashes;
    mapping(bytes32 => bool) public allowedDeviceIds;
    // The three flags share one slot, which keeps initialisation and each toggle cheap.
    bool public allowAnyDevice;
    bool public requireTcbUpToDate;
    bool private _upgradesDisabled;

    // Room for later versions' state without shifting this layout.
    uint256[47] private __gap;

    event AllowAnyDeviceSet(bool allowAny);
    event RequireTcbUpToDateSet(bool requireUpToDate);
    event UpgradesDisabled();

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    /// @notice Initialise a proxy, choosing whether boots need an up-to-date TCB.
    function initialize(
        address initialOwner,
        bool disableUpgrades_,
        bool requireTcbUpToDate_,
        bool allowAnyDevice_,
        bytes32 initialDeviceId,
        bytes32 initialComposeHash
    ) public initializer {
        _initializeApp(
            initialOwner, disableUpgrades_, requireTcbUpToDate_, allowAnyDevice_, initialDeviceId, initialComposeHash
        );
    }

    /// @notice Initialise a proxy without the TCB requirement (the older signature).
    function initialize(
        address initialOwner,
        bool disableUpgrades_,
        bool allowAnyDevice_,
        bytes32 initialDeviceId,
        bytes32 initialComposeHash
    ) public initializer {
        _initializeApp(initialOwner, disableUpgrades_, false, allowAnyDevice_, initialDeviceId, initialComposeHash);
    }

    function _initializeApp(
        address initialOwner,
        bool disableUpgrades_,
        bool requireTcbUpToDate_,
        bool allowAnyDevice_,
        bytes32 initialDeviceId,
        bytes32 initialComposeHash
    ) private {
        require(initialOwner != address(0), "Invalid owner address");
        __Ownable_init(initialOwner);
        // UUPSUpgradeable and Ownable2Step keep no state that needs initialising.
        allowAnyDevice = allowAnyDevice_;
        requireTcbUpToDate = requireTcbUpToDate_;
        _upgradesDisabled = disableUpgrades_;
        if (allowAnyDevice_) emit AllowAnyDeviceSet(true);
        if (requireTcbUpToDate_) emit RequireTcbUpToDateSet(true);
        if (disableUpgrades_) emit UpgradesDisabled();
        if (initialDeviceId != bytes32(0)) {
            allowedDeviceIds[initialDeviceId] = true;
            emit DeviceAdded(initialDeviceId);
        }
        if (initialComposeHash != bytes32(0)) {
            allowedComposeHashes[initialComposeHash] = true;
            emit ComposeHashAdded(initialComposeHash);
        }
    }

    /// @notice Contract version, bumped whenever the implementation's behaviour changes.
    function version() external pure returns (uint256) {
        return 2;
    }

    function addComposeHash(bytes32 composeHash) external onlyOwner {
        allowedComposeHashes[composeHash] = true;
        emit ComposeHashAdded(composeHash);
        emit PolicyChanged(msg.sender, POLICY_COMPOSE_HASH, composeHash, true);
    }

    function removeComposeHash(bytes32 composeHash) external onlyOwner {
        allowedComposeHashes[composeHash] = false;
        emit ComposeHashRemoved(composeHash);
        emit PolicyChanged(msg.sender, POLICY_COMPOSE_HASH, composeHash, false);
    }

    function addDevice(bytes32 deviceId) external onlyOwner {
        allowedDeviceIds[deviceId] = true;
        emit DeviceAdded(deviceId);
        emit PolicyChanged(msg.sender, POLICY_DEVICE, deviceId, true);
    }

    function removeDevice(bytes32 deviceId) external onlyOwner {
        allowedDeviceIds[deviceId] = false;
        emit DeviceRemoved(deviceId);
        emit PolicyChanged(msg.sender, POLICY_DEVICE, deviceId, false);
    }

    function setAllowAnyDevice(bool allowAny) external onlyOwner {
        allowAnyDevice = allowAny;
        emit AllowAnyDeviceSet(allowAny);
        emit PolicyChanged(msg.sender, POLICY_ALLOW_ANY_DEVICE, bytes32(0), allowAny);
    }

    function setRequireTcbUpToDate(bool requireUpToDate) external onlyOwner {
        requireTcbUpToDate = requireUpToDate;
        emit RequireTcbUpToDateSet(requireUpToDate);
        emit PolicyChanged(msg.sender, POLICY_REQUIRE_TCB_UP_TO_DATE, bytes32(0), requireUpToDate);
    }

    /// @notice Freeze the implementation forever; there is no way back.
    function disableUpgrades() external onlyOwner {
        _upgradesDisabled = true;
        emit UpgradesDisabled();
        emit PolicyChanged(msg.sender, POLICY_UPGRADES_DISABLED, bytes32(0), true);
    }

    /// @inheritdoc IAppAuth
    function isAppAllowed(AppBootInfo calldata bootInfo)
        external
        view
        override
        returns (bool isAllowed, string memory reason)
    {
        if (requireTcbUpToDate && keccak256(bytes(bootInfo.tcbStatus)) != keccak256("UpToDate")) {
            return (false, "TCB status is not up to date");
        }
        if (!allowedComposeHashes[bootInfo.composeHash]) {
            return (false, "Compose hash not allowed");
        }
        if (!allowAnyDevice && !allowedDeviceIds[bootInfo.deviceId]) {
            return (false, "Device not allowed");
        }
        return (true, "");
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) external view returns (bool) {
        return interfaceId == type(IAppAuth).interfaceId || interfaceId == type(IAppAuthBasicManagement).interfaceId
            || interfaceId == type(IERC165).interfaceId;
    }

    function _authorizeUpgrade(address) internal view override onlyOwner {
        require(!_upgradesDisabled, "Upgrades are permanently disabled");
    }
}
