"""The committed artifacts match a fresh compile, and our ABI keeps the spec's interface to the byte."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from eth_utils import function_signature_to_4byte_selector

from contracts import load_artifact

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "contracts" / "artifacts"
BOOT_INFO = "(address,bytes32,address,bytes32,bytes32,bytes32,bytes32,string,string[])"

# The fixed interface (docs/interface.md), transcribed by hand: selector -> (signature, mutability).
KMS_FUNCTIONS = {
    "0x79ba5097": ("acceptOwnership()", "nonpayable"),
    "0x3e32d346": ("addKmsAggregatedMr(bytes32)", "nonpayable"),
    "0x4d5922a1": ("addKmsDevice(bytes32)", "nonpayable"),
    "0x06a3ae96": ("addOsImageHash(bytes32)", "nonpayable"),
    "0x9a4e1d18": ("allowedOsImages(bytes32)", "view"),
    "0x25a992da": ("appImplementation()", "view"),
    "0x9cb9c31f": ("deployAndRegisterApp(address,bool,bool,bool,bytes32,bytes32)", "nonpayable"),
    "0x8618169d": ("deployAndRegisterApp(address,bool,bool,bytes32,bytes32)", "nonpayable"),
    "0x95f51931": ("gatewayAppId()", "view"),
    "0x485cc955": ("initialize(address,address)", "nonpayable"),
    "0x1e079198": (f"isAppAllowed({BOOT_INFO})", "view"),
    "0xe067ec9d": (f"isKmsAllowed({BOOT_INFO})", "view"),
    "0xf6fe4f40": ("kmsAllowedAggregatedMrs(bytes32)", "view"),
    "0x13eb9770": ("kmsAllowedDeviceIds(bytes32)", "view"),
    "0x09177063": ("kmsInfo()", "view"),
    "0x8da5cb5b": ("owner()", "view"),
    "0xe30c3978": ("pendingOwner()", "view"),
    "0x52d1902d": ("proxiableUUID()", "view"),
    "0x17a1d80f": ("registerApp(address)", "nonpayable"),
    "0xa6c4cce9": ("registeredApps(address)", "view"),
    "0x2adee48d": ("removeKmsAggregatedMr(bytes32)", "nonpayable"),
    "0x9e6f3114": ("removeKmsDevice(bytes32)", "nonpayable"),
    "0x9425bac6": ("removeOsImageHash(bytes32)", "nonpayable"),
    "0x715018a6": ("renounceOwnership()", "nonpayable"),
    "0x3ceaaa11": ("setAppImplementation(address)", "nonpayable"),
    "0x3971db27": ("setGatewayAppId(string)", "nonpayable"),
    "0x736ede7a": ("setKmsEventlog(bytes)", "nonpayable"),
    "0x7d025352": ("setKmsInfo((bytes,bytes,bytes,bytes))", "nonpayable"),
    "0x18c1ecb2": ("setKmsQuote(bytes)", "nonpayable"),
    "0x01ffc9a7": ("supportsInterface(bytes4)", "view"),
    "0xf2fde38b": ("transferOwnership(address)", "nonpayable"),
    "0xad3cb1cc": ("UPGRADE_INTERFACE_VERSION()", "view"),
    "0x4f1ef286": ("upgradeToAndCall(address,bytes)", "payable"),
}

KMS_EVENTS = (
    "AppDeployedViaFactory(address indexed appId, address indexed deployer)",
    "AppImplementationSet(address implementation)",
    "AppRegistered(address appId)",
    "GatewayAppIdSet(string gatewayAppId)",
    "Initialized(uint64 version)",
    "KmsAggregatedMrAdded(bytes32 mrAggregated)",
    "KmsAggregatedMrRemoved(bytes32 mrAggregated)",
    "KmsDeviceAdded(bytes32 deviceId)",
    "KmsDeviceRemoved(bytes32 deviceId)",
    "KmsInfoSet(bytes k256Pubkey)",
    "OsImageHashAdded(bytes32 osImageHash)",
    "OsImageHashRemoved(bytes32 osImageHash)",
    "OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner)",
    "OwnershipTransferred(address indexed previousOwner, address indexed newOwner)",
    "PolicyChanged(address indexed actor, bytes32 indexed policy, bytes32 indexed value, bool enabled)",
    "Upgraded(address indexed implementation)",
)

APP_FUNCTIONS = {
    "0x79ba5097": ("acceptOwnership()", "nonpayable"),
    "0xdfc77223": ("addComposeHash(bytes32)", "nonpayable"),
    "0x2a819728": ("addDevice(bytes32)", "nonpayable"),
    "0x3440a16a": ("allowAnyDevice()", "view"),
    "0x2f6622e5": ("allowedComposeHashes(bytes32)", "view"),
    "0xbf8b211b": ("allowedDeviceIds(bytes32)", "view"),
    "0xec669036": ("disableUpgrades()", "nonpayable"),
    "0x9ed28193": ("initialize(address,bool,bool,bool,bytes32,bytes32)", "nonpayable"),
    "0x187515ca": ("initialize(address,bool,bool,bytes32,bytes32)", "nonpayable"),
    "0x1e079198": (f"isAppAllowed({BOOT_INFO})", "view"),
    "0x8da5cb5b": ("owner()", "view"),
    "0xe30c3978": ("pendingOwner()", "view"),
    "0x52d1902d": ("proxiableUUID()", "view"),
    "0x67b3f22c": ("removeComposeHash(bytes32)", "nonpayable"),
    "0x1d266200": ("removeDevice(bytes32)", "nonpayable"),
    "0x715018a6": ("renounceOwnership()", "nonpayable"),
    "0x0aa58c83": ("requireTcbUpToDate()", "view"),
    "0x7c4beeb8": ("setAllowAnyDevice(bool)", "nonpayable"),
    "0x6e4c7422": ("setRequireTcbUpToDate(bool)", "nonpayable"),
    "0x01ffc9a7": ("supportsInterface(bytes4)", "view"),
    "0xf2fde38b": ("transferOwnership(address)", "nonpayable"),
    "0xad3cb1cc": ("UPGRADE_INTERFACE_VERSION()", "view"),
    "0x4f1ef286": ("upgradeToAndCall(address,bytes)", "payable"),
    "0x54fd4d50": ("version()", "pure"),
}

APP_EVENTS = (
    "AllowAnyDeviceSet(bool allowAny)",
    "ComposeHashAdded(bytes32 composeHash)",
    "ComposeHashRemoved(bytes32 composeHash)",
    "DeviceAdded(bytes32 deviceId)",
    "DeviceRemoved(bytes32 deviceId)",
    "Initialized(uint64 version)",
    "OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner)",
    "OwnershipTransferred(address indexed previousOwner, address indexed newOwner)",
    "PolicyChanged(address indexed actor, bytes32 indexed policy, bytes32 indexed value, bool enabled)",
    "RequireTcbUpToDateSet(bool requireUpToDate)",
    "Upgraded(address indexed implementation)",
    "UpgradesDisabled()",
)

# ERC-165 ids the spec fixes; IAppAuthBasicManagement's is the XOR of its four selectors.
IAPP_AUTH_ID = "0x1e079198"
IAPP_AUTH_BASIC_MANAGEMENT_ID = "0x8fd37527"
BASIC_MANAGEMENT = (
    "addComposeHash(bytes32)",
    "removeComposeHash(bytes32)",
    "addDevice(bytes32)",
    "removeDevice(bytes32)",
)

SPEC = {"DstackKms": (KMS_FUNCTIONS, KMS_EVENTS), "DstackApp": (APP_FUNCTIONS, APP_EVENTS)}


def _type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        return "(" + ",".join(_type(c) for c in param["components"]) + ")" + param["type"][len("tuple") :]
    return str(param["type"])


def _abi_functions(name: str) -> dict[str, str]:
    """Map signature -> stateMutability for every function in artifact `name`."""
    return {
        f"{item['name']}({','.join(_type(p) for p in item['inputs'])})": item["stateMutability"]
        for item in load_artifact(name).abi
        if item["type"] == "function"
    }


def _abi_events(name: str) -> set[str]:
    """Render every event of artifact `name` the way the spec writes them."""
    events = set()
    for item in load_artifact(name).abi:
        if item["type"] == "event":
            params = ", ".join(f"{p['type']}{' indexed' if p['indexed'] else ''} {p['name']}" for p in item["inputs"])
            events.add(f"{item['name']}({params})")
    return events


@pytest.fixture(scope="module")
def fresh_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Compile the Solidity sources afresh with the pinned solc-js, into a temporary directory."""
    node = shutil.which("node")
    assert node is not None, "node is needed to compile the contracts (run `npm ci`)"
    out = tmp_path_factory.mktemp("artifacts")
    subprocess.run(
        [node, str(ROOT / "contracts" / "build.mjs"), "--out", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


def test_fresh_compile_writes_the_same_set_of_artifacts(fresh_build: Path) -> None:
    assert sorted(p.name for p in fresh_build.glob("*.json")) == sorted(p.name for p in ARTIFACTS.glob("*.json"))


@pytest.mark.parametrize("path", sorted(ARTIFACTS.glob("*.json")), ids=lambda p: p.stem)
def test_committed_artifact_matches_a_fresh_compile(fresh_build: Path, path: Path) -> None:
    committed = json.loads(path.read_text())
    fresh = json.loads((fresh_build / path.name).read_text())
    for key in ("abi", "bytecode", "deployedBytecode"):
        assert fresh[key] == committed[key], f"{path.name}: {key} differs; run `node contracts/build.mjs`"
    assert committed["bytecode"].startswith("0x") and len(committed["deployedBytecode"]) > 2


@pytest.mark.parametrize("functions", [KMS_FUNCTIONS, APP_FUNCTIONS], ids=["DstackKms", "DstackApp"])
def test_spec_selectors_are_keccak_of_their_signatures(functions: dict[str, tuple[str, str]]) -> None:
    for selector, (signature, _) in functions.items():
        assert "0x" + function_signature_to_4byte_selector(signature).hex() == selector, signature


@pytest.mark.parametrize("name", sorted(SPEC))
def test_abi_has_exactly_the_spec_functions(name: str) -> None:
    spec_functions, _ = SPEC[name]
    expected = {signature: mutability for signature, mutability in spec_functions.values()}
    assert _abi_functions(name) == expected


@pytest.mark.parametrize("name", sorted(SPEC))
def test_abi_has_exactly_the_spec_events(name: str) -> None:
    _, spec_events = SPEC[name]
    assert len(set(spec_events)) == len(spec_events)
    assert _abi_events(name) == set(spec_events)


def test_event_rendering_sees_indexed_flags_and_types() -> None:
    # Guards the comparison above: an indexed flag or a type that changes must change the rendering.
    rendered = _abi_events("DstackKms")
    assert (
        "PolicyChanged(address indexed actor, bytes32 indexed policy, bytes32 indexed value, bool enabled)" in rendered
    )
    assert "PolicyChanged(address actor, bytes32 policy, bytes32 value, bool enabled)" not in rendered
    assert all(re.fullmatch(r"\w+\((\w+(\[\])?( indexed)? \w+(, )?)*\)", event) for event in rendered)


def test_interface_ids_follow_from_the_selectors() -> None:
    assert "0x" + function_signature_to_4byte_selector(f"isAppAllowed({BOOT_INFO})").hex() == IAPP_AUTH_ID
    xor = 0
    for signature in BASIC_MANAGEMENT:
        xor ^= int.from_bytes(function_signature_to_4byte_selector(signature))
    assert f"0x{xor:08x}" == IAPP_AUTH_BASIC_MANAGEMENT_ID
    assert "0x" + function_signature_to_4byte_selector("supportsInterface(bytes4)").hex() == "0x01ffc9a7"
