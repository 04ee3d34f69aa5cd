// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {Ownable2StepUpgradeable} from "@openzeppelin/contracts-upgradeable/access/Ownable2StepUpgradeable.sol";
import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

import {IAppAuth} from "./IAppAuth.sol";
import {PolicyEvents} from "./PolicyEvents.sol";

/// @title KMS-wide boot policy for dstack: OS images, KMS measurements and devices, app registry.
contract DstackKms is Initializable, Ownable2StepUpgradeable, UUPSUpgradeable, IAppAuth, IERC165, PolicyEvents {
    /// @dev What a KMS instance publishes about itself.
    struct KmsInfo {
        bytes k256Pubkey;
        bytes caPubkey;
        bytes quote;
        bytes eventlog;
    }

    KmsInfo public kmsInfo;
    string public gatewayAppId;
    mapping(address => bool) public registeredApps;
    mapping(bytes32 => bool) public allowedOsImages;
    mapping(bytes32 => bool) public kmsAllowedAggregatedMrs;
    mapping(bytes32 => bool) public kmsAllowedDeviceIds;
    address public appImplementation;

    // Room for later versions' state without shifting this layout.
    uint256[42] private __gap;

    event KmsInfoSet(bytes k256Pubkey);
    event GatewayAppIdSet(string gatewayAppId);
    event AppImplementationSet(address implementation);
    event AppRegistered(address appId);
    event AppDeployedViaFactory(address indexed appId, address indexed deployer);
    event OsImageHashAdded(bytes32 osImageHash);
    event OsImageHashRemoved(bytes32 osImageHash);
    event KmsAggregatedMrAdded(bytes32 mrAggregated);
    event KmsAggregatedMrRemoved(bytes32 mrAggregated);
    event KmsDeviceAdded(bytes32 deviceId);
    event KmsDeviceRemoved(bytes32 deviceId);

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    /// @notice Initialise the proxy; `appImplementation_` may be zero and set later.
    function initialize(address initialOwner, address appImplementation_) public initializer {
        require(initialOwner != address(0), "Invalid owner address");
        __Ownable_init(initialOwner);
        if (appImplementation_ != address(0)) {
            appImplementation = appImplementation_;
            emit AppImplementationSet(appImplementation_);
        }
    }

    function setKmsInfo(KmsInfo memory info) external onlyOwner {
        kmsInfo = info;
        emit KmsInfoSet(info.k256Pubkey);
        emit PolicyChanged(msg.sender, POLICY_KMS_INFO, keccak256(info.k256Pubkey), true);
    }

    function setKmsQuote(bytes memory quote) external onlyOwner {
        kmsInfo.quote = quote;
        emit PolicyChanged(msg.sender, POLICY_KMS_QUOTE, keccak256(quote), true);
    }

    function setKmsEventlog(bytes memory eventlog) external onlyOwner {
        kmsInfo.eventlog = eventlog;
        emit PolicyChanged(msg.sender, POLICY_KMS_EVENTLOG, keccak256(eventlog), true);
    }

    function setGatewayAppId(string memory appId) external onlyOwner {
        gatewayAppId = appId;
        emit GatewayAppIdSet(appId);
        emit PolicyChanged(msg.sender, POLICY_GATEWAY_APP_ID, keccak256(bytes(appId)), true);
    }

    function setAppImplementation(address implementation) external onlyOwner {
        require(implementation != address(0), "Invalid implementation address");
        appImplementation = implementation;
        emit AppImplementationSet(implementation);
        emit PolicyChanged(msg.sender, POLICY_APP_IMPLEMENTATION, _addressValue(implementation), true);
    }

    /// @notice Register an app contract with this KMS; anyone may, the policy lives in the app.
    function registerApp(address appId) public {
        require(appId != address(0), "Invalid app ID");
        registeredApps[appId] = true;
        emit AppRegistered(appId);
        emit PolicyChanged(msg.sender, POLICY_REGISTERED_APP, _addressValue(appId), true);
    }

    /// @notice Deploy a DstackApp proxy, initialise it and register it; returns the App ID.
    function deployAndRegisterApp(
        address initialOwner,
        bool disableUpgrades,
        bool requireTcbUpToDate,
        bool allowAnyDevice,
        bytes32 initialDeviceId,
        bytes32 initialComposeHash
    ) external returns (address appId) {
        appId = _deployApp(
            abi.encodeWithSignature(
                "initialize(address,bool,bool,bool,bytes32,bytes32)",
                initialOwner,
                disableUpgrades,
                requireTcbUpToDate,
                allowAnyDevice,
                initialDeviceId,
                initialComposeHash
            )
        );
    }

    /// @notice The older factory signature: the app does not require an up-to-date TCB.
    function deployAndRegisterApp(
        address initialOwner,
        bool disableUpgrades,
        bool allowAnyDevice,
        bytes32 initialDeviceId,
        bytes32 initialComposeHash
    ) external returns (address appId) {
        appId = _deployApp(
            abi.encodeWithSignature(
                "initialize(address,bool,bool,bytes32,bytes32)",
                initialOwner,
                disableUpgrades,
                allowAnyDevice,
                initialDeviceId,
                initialComposeHash
            )
        );
    }

    function _deployApp(bytes memory initData) private returns (address appId) {
        address implementation = appImplementation;
        require(implementation != address(0), "App implementation not set");
        appId = address(new ERC1967Proxy(implementation, initData));
        registerApp(appId);
        emit AppDeployedViaFactory(appId, msg.sender);
    }

    function addOsImageHash(bytes32 osImageHash) external onlyOwner {
        allowedOsImages[osImageHash] = true;
        emit OsImageHashAdded(osImageHash);
        emit PolicyChanged(msg.sender, POLICY_OS_IMAGE, osImageHash, true);
    }

    function removeOsImageHash(bytes32 osImageHash) external onlyOwner {
        allowedOsImages[osImageHash] = false;
        emit OsImageHashRemoved(osImageHash);
        emit PolicyChanged(msg.sender, POLICY_OS_IMAGE, osImageHash, false);
    }

    function addKmsAggregatedMr(bytes32 mrAggregated) external onlyOwner {
        kmsAllowedAggregatedMrs[mrAggregated] = true;
        emit KmsAggregatedMrAdded(mrAggregated);
        emit PolicyChanged(msg.sender, POLICY_KMS_AGGREGATED_MR, mrAggregated, true);
    }

    function removeKmsAggregatedMr(bytes32 mrAggregated) external onlyOwner {
        kmsAllowedAggregatedMrs[mrAggregated] = false;
        emit KmsAggregatedMrRemoved(mrAggregated);
        emit PolicyChanged(msg.sender, POLICY_KMS_AGGREGATED_MR, mrAggregated, false);
    }

    function addKmsDevice(bytes32 deviceId) external onlyOwner {
        kmsAllowedDeviceIds[deviceId] = true;
        emit KmsDeviceAdded(deviceId);
        emit PolicyChanged(msg.sender, POLICY_KMS_DEVICE, deviceId, true);
    }

    function removeKmsDevice(bytes32 deviceId) external onlyOwner {
        kmsAllowedDeviceIds[deviceId] = false;
        emit KmsDeviceRemoved(deviceId);
        emit PolicyChanged(msg.sender, POLICY_KMS_DEVICE, deviceId, false);
    }

    /// @notice Decide whether a KMS instance may boot and serve keys.
    function isKmsAllowed(AppBootInfo calldata bootInfo) external view returns (bool isAllowed, string memory reason) {
        if (keccak256(bytes(bootInfo.tcbStatus)) != keccak256("UpToDate")) {
            return (false, "TCB status is not up to date");
        }
        if (!allowedOsImages[bootInfo.osImageHash]) {
            return (false, "OS image is not allowed");
        }
        if (!kmsAllowedAggregatedMrs[bootInfo.mrAggregated]) {
            return (false, "Aggregated MR not allowed");
        }
        if (!kmsAllowedDeviceIds[bootInfo.deviceId]) {
            return (false, "KMS is not allowed to boot on this device");
        }
        return (true, "");
    }

    /// @inheritdoc IAppAuth
    function isAppAllowed(AppBootInfo calldata bootInfo)
        external
        view
        override
        returns (bool isAllowed, string memory reason)
    {
        if (!registeredApps[bootInfo.appId]) {
            return (false, "App not registered");
        }
        if (!allowedOsImages[bootInfo.osImageHash]) {
            return (false, "OS image is not allowed");
        }
        if (bootInfo.appId.code.length == 0) {
            return (false, "App not deployed or invalid address");
        }
        // The app's isAppAllowed has this function's selector and parameter, so the call data is
        // forwarded as it came: decoding and re-encoding the struct would only cost gas.
        (bool success, bytes memory result) = bootInfo.appId.staticcall(msg.data);
        if (!success) {
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
        return abi.decode(result, (bool, string));
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) external view returns (bool) {
        return interfaceId == type(IAppAuth).interfaceId || interfaceId == type(IERC165).interfaceId;
    }

    function _authorizeUpgrade(address) internal view override onlyOwner {}
}
