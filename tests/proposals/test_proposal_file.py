"""Proposal files: YAML and JSON in, a change request out, or one line saying what is wrong."""

from __future__ import annotations

import json

import pytest

from proposals.catalogue import get_action
from proposals.errors import InvalidInput
from proposals.proposal_file import MAX_FILE_BYTES, load_proposal_text

APP = "0x" + "a9" * 20
DIGITS_ONLY = "0x" + "12" * 32  # YAML 1.1 would read this unquoted as a (huge) hex integer
NO_PREFIX = "3" * 64  # ... and this one as a decimal integer


def refusal(text: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        load_proposal_text(text, source="p.yaml")
    message = caught.value.message
    assert "\n" not in message and caught.value.exit_code == 2
    return message


def test_yaml_keeps_unquoted_hashes_as_text():
    request = load_proposal_text(
        "title: Release 1.2\n"
        "description: |\n  Two lines\n  of context.\n"
        "actions:\n"
        f"  - action: kms add-image\n    osImageHash: {DIGITS_ONLY}\n"
        f"  - action: app-add-hash\n    app: {APP}\n    composeHash: {NO_PREFIX}\n"
        "  - action: kms set-gateway\n    appId: 0x" + "ab" * 20 + "\n"
    )
    assert request.title == "Release 1.2" and request.description == "Two lines\nof context.\n"
    image, compose, gateway = request.actions
    assert image.action is get_action("kms-add-image") and image.values == {"osImageHash": DIGITS_ONLY}
    assert image.target is None
    assert compose.values == {"composeHash": NO_PREFIX} and compose.target == APP
    assert gateway.values == {"appId": "0x" + "ab" * 20}
    assert compose.action.parse(compose.values) == {"composeHash": bytes.fromhex(NO_PREFIX)}


def test_yaml_booleans_stay_booleans():
    request = load_proposal_text(
        f"title: t\nactions:\n  - action: app set-allow-any-device\n    app: {APP}\n    allowAny: true\n"
    )
    assert request.actions[0].values == {"allowAny": True}


def test_json_is_read_too():
    text = json.dumps(
        {
            "title": "From JSON",
            "actions": [
                {"action": "kms add-mr", "mrAggregated": DIGITS_ONLY},
                {"action": "safe change-threshold", "threshold": 1},
            ],
        }
    )
    request = load_proposal_text(text)
    assert [a.action.name for a in request.actions] == ["kms-add-mr", "safe-change-threshold"]
    assert request.actions[1].values == {"threshold": 1} and request.description == ""


def test_an_unknown_action_names_its_number_and_suggests():
    message = refusal(
        f"title: t\nactions:\n  - action: kms add-image\n    osImageHash: {DIGITS_ONLY}\n  - action: app add-hashes\n"
    )
    assert message == (
        "p.yaml: action #2: unknown action 'app add-hashes'; did you mean app-add-hash or app-add-device or "
        "app-remove-hash?"
    )


def test_an_unknown_parameter_names_the_action():
    message = refusal(f"title: t\nactions:\n  - action: kms add-image\n    osImage: {DIGITS_ONLY}\n")
    assert (
        message
        == "p.yaml: action #1 (kms add-image): kms-add-image: unknown parameter 'osImage' (expected osImageHash)"
    )


def test_bad_hex_names_the_action_and_field():
    message = refusal(
        f"title: t\nactions:\n  - action: kms add-mr\n    mrAggregated: {DIGITS_ONLY}\n"
        "  - action: kms add-image\n    osImageHash: 0xzz\n"
    )
    assert message == "p.yaml: action #2 (kms add-image): osImageHash: not hex: '0xzz'"


def test_a_short_hash_says_how_long_it_must_be():
    message = refusal("title: t\nactions:\n  - action: kms add-image\n    osImageHash: 0x1234\n")
    assert message == "p.yaml: action #1 (kms add-image): osImageHash: expected 32 bytes (64 hex digits), got 2"


def test_a_missing_value_is_named():
    message = refusal("title: t\nactions:\n  - action: kms add-image\n")
    assert message == "p.yaml: action #1 (kms add-image): osImageHash: missing value"


def test_a_missing_title_is_named():
    assert refusal(f"actions:\n  - action: kms add-image\n    osImageHash: {DIGITS_ONLY}\n") == (
        "p.yaml: title: Field required"
    )


def test_an_entry_without_an_action_name_is_named():
    message = refusal(f"title: t\nactions:\n  - osImageHash: {DIGITS_ONLY}\n")
    assert message == "p.yaml: actions: Value error, action #1 needs an `action` name (e.g. `kms add-image`)"


def test_an_app_given_as_a_list_is_refused():
    message = refusal(f"title: t\nactions:\n  - action: app add-hash\n    app: [1]\n    composeHash: {NO_PREFIX}\n")
    assert message == "p.yaml: action #1: `app` must be an address"


def test_stray_top_level_keys_and_empty_action_lists_are_refused():
    assert refusal("title: t\nactions: []\n").startswith("p.yaml: actions: List should have at least 1 item")
    assert refusal(f"title: t\nowner: me\nactions:\n  - action: kms add-image\n    osImageHash: {DIGITS_ONLY}\n") == (
        "p.yaml: owner: Extra inputs are not permitted"
    )


def test_not_a_mapping_or_not_yaml():
    assert refusal("- one\n- two\n") == "p.yaml: expected a mapping with title, description and actions"
    assert refusal("title: [unclosed\n").startswith("p.yaml: not valid YAML (")
    assert refusal('{"title": ').startswith("p.yaml: not valid JSON (")


@pytest.mark.parametrize(
    "text",
    ["title: " + "[" * 200_000, '{"title": ' + "[" * 100_000 + "]" * 100_000 + "}", "actions:\n" + "  - " * 40],
    ids=["yaml-flow", "json", "yaml-block"],
)
def test_deep_nesting_is_refused_before_the_parser_recurses(text):
    assert refusal(text) == "p.yaml: nested deeper than 32 levels"


def test_alias_bombs_and_python_tags_are_refused():
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
    )
    assert refusal(bomb) == "p.yaml: holds more than 20000 values (aliases expanded)"
    assert refusal("title: !!python/object/apply:os.system [true]\n").startswith(
        "p.yaml: not valid YAML (could not determine a constructor for the tag"
    )


def test_a_key_with_a_line_break_cannot_break_the_one_line_refusal():
    assert refusal('{"title": "t", "actions": [{"action": "x"}], "a\\nb": 1}') == (
        "p.yaml: a\\nb: Extra inputs are not permitted"
    )


def test_an_oversized_file_is_refused_before_parsing():
    padding = "#" * MAX_FILE_BYTES
    assert refusal(f"title: t\n{padding}\n") == "p.yaml: larger than 256 KiB"
