from tests.helpers.chain import boot_info, boot_tuple


def test_kms_fixture_allows_a_whitelisted_app(kms_setup):
    app = kms_setup.new_app(allow_any_device=True, initial_compose_hash=b"\x11" * 32)
    sender = kms_setup.sender()
    sender.send(kms_setup.kms_address, bytes.fromhex(kms_setup.kms.encode_abi("addOsImageHash", [b"\x22" * 32])[2:]))
    info = boot_info(appId=app.address, composeHash=b"\x11" * 32, osImageHash=b"\x22" * 32)
    assert kms_setup.kms.functions.isAppAllowed(boot_tuple(info)).call() == [True, ""]
