"""The on-chain policy view: whitelists rebuilt from events in chunks, from a start block."""

from __future__ import annotations

from proposals.catalogue import get_action
from proposals.chain import ChainReader, block_ranges
from proposals.policy import read_app_policy, read_kms_policy


def test_block_ranges_cover_the_span_without_gaps_or_overlap():
    assert list(block_ranges(5, 16, 5)) == [(5, 9), (10, 14), (15, 16)]
    assert list(block_ranges(7, 7, 5)) == [(7, 7)]
    assert list(block_ranges(8, 7, 5)) == []


def _add_images(kms_setup, count: int) -> list[bytes]:
    images = [bytes([i + 1]) * 32 for i in range(count)]
    for image in images:  # automine: one block each
        kms_setup.sender().send(kms_setup.kms_address, get_action("kms-add-image").encode({"osImageHash": image}))
    return images


def test_policy_is_rebuilt_across_small_log_chunks(w3, kms_setup):
    images = _add_images(kms_setup, 7)
    kms_setup.sender().send(kms_setup.kms_address, get_action("kms-remove-image").encode({"osImageHash": images[2]}))
    reader = ChainReader(w3, kms_setup.kms_address, chunk_blocks=2)
    policy = read_kms_policy(reader, kms_setup.kms_address)
    assert set(policy.os_images) == set(images) - {images[2]}


def test_events_before_the_start_block_are_not_read(w3, kms_setup):
    early = _add_images(kms_setup, 2)
    start = w3.eth.block_number + 1
    late = [bytes([0xEE]) * 32]
    kms_setup.sender().send(kms_setup.kms_address, get_action("kms-add-image").encode({"osImageHash": late[0]}))
    reader = ChainReader(w3, kms_setup.kms_address, start_block=start, chunk_blocks=3)
    assert list(read_kms_policy(reader, kms_setup.kms_address).os_images) == late
    whole_chain = ChainReader(w3, kms_setup.kms_address, chunk_blocks=3)
    assert set(read_kms_policy(whole_chain, kms_setup.kms_address).os_images) == set(early + late)


def test_app_policy_and_upgrades_disabled_read_through_chunks(w3, kms_setup):
    app = kms_setup.new_app(disable_upgrades=True, initial_compose_hash=b"\x42" * 32)
    reader = ChainReader(w3, kms_setup.kms_address, chunk_blocks=1)
    policy = read_app_policy(reader, app.address)
    assert policy.upgrades_disabled is True and policy.compose_hashes == (b"\x42" * 32,)
    assert policy.registered is True
