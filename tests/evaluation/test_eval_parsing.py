"""Output clean-up, JSON extraction and entry normalisation, case by case against the spec (§2)."""

from __future__ import annotations

import pytest

from sciriff.evaluation.parsing import (
    EXTRACT_FAILURE,
    EXTRACT_SUCCESS,
    NULL_JSON,
    VALID_JSON,
    clean_prediction,
    flatten,
    normalize_entry,
    parse_json,
)


@pytest.mark.parametrize(
    ("raw", "official", "corrected"),
    [
        ('["a"]</s>', '["a"]', '["a"]'),
        ("summaries</s>", "ummarie", "summaries"),  # character-set strip eats the leading and trailing s
        ("summary: strong results", "ummary: strong result", "summary: strong results"),
        ("</s></s>text</s>", "text", "text"),
        ("<s>", "", "<s>"),
        ("plain", "plain", "plain"),
    ],
)
def test_clean_prediction(raw: str, official: str, corrected: str) -> None:
    assert clean_prediction(raw) == official
    assert clean_prediction(raw, "corrected") == corrected


@pytest.mark.parametrize(
    ("text", "value", "status"),
    [
        ('["a", "b"]', ["a", "b"], VALID_JSON),
        ('  \n["a"]\n ', ["a"], VALID_JSON),
        ("null", [], NULL_JSON),
        ('"null"', [], NULL_JSON),
        ('"abc"', "abc", VALID_JSON),  # kept whatever its type
        ('{"k": 1}', {"k": 1}, VALID_JSON),
        ("3", 3, VALID_JSON),
        ('```json\n["x", "y"]\n```', ["x", "y"], EXTRACT_SUCCESS),
        ('The answer is ["x"]. Hope this helps!', ["x"], EXTRACT_SUCCESS),
        ('Based on [1], the answer is ["x"]', [1], EXTRACT_SUCCESS),  # first span that parses wins
        ('[not json] then ["x"]', ["x"], EXTRACT_SUCCESS),
        ('oops ] then ["x"]', [], EXTRACT_FAILURE),  # stray closer: depth never returns to 0
        ('Answer: ["a]", "b"]', [], EXTRACT_FAILURE),  # bracket inside a string is counted
        ('["a", "b"', [], EXTRACT_FAILURE),
        ('["line\nbreak"]', [], EXTRACT_FAILURE),  # raw newline inside a string is invalid JSON
        ("", [], EXTRACT_FAILURE),
        ("I don't know.", [], EXTRACT_FAILURE),
    ],
)
def test_parse_json_list_default(text: str, value: object, status: str) -> None:
    parsed = parse_json(text, [])
    assert (parsed.value, parsed.status) == (value, status)


def test_parse_json_dict_default_extracts_braces_only() -> None:
    default = {"verdict": "NEI", "evidence": []}
    assert parse_json('Sure: {"verdict": "SUPPORT"} done', default).value == {"verdict": "SUPPORT"}
    failed = parse_json('["SUPPORT"] and more', default)
    assert (failed.value, failed.status) == (default, EXTRACT_FAILURE)
    failed.value["evidence"].append("x")  # the default handed out is a copy
    assert default == {"verdict": "NEI", "evidence": []}


def test_parse_json_closing_brace_fix_for_evidence_inference() -> None:
    text = ' [["a", "b", "c", "d", "e"]} '
    assert parse_json(text, [], fix_closing_brace=True) == parse_json('[["a", "b", "c", "d", "e"]]', [])
    assert parse_json(text, []).status == EXTRACT_FAILURE  # without the fix the outer span never closes


@pytest.mark.parametrize(
    ("entry", "expected"),
    [(None, ""), ("  Foo Bar ", "foo bar"), (True, "True"), (3, "3"), (2.456, "2.46"), (["A", ["b"]], "A b")],
)
def test_normalize_entry(entry: object, expected: str) -> None:
    assert normalize_entry(entry) == expected


@pytest.mark.parametrize("entry", [{"a": 1}, [1], ["a", None]])
def test_normalize_entry_type_errors(entry: object) -> None:
    with pytest.raises(TypeError):
        normalize_entry(entry)


def test_flatten_iterates_like_the_original() -> None:
    assert flatten([["a", ["b"]], "c"]) == ["a", "b", "c"]
    assert flatten("ab") == ["a", "b"]
    assert flatten({"k": 1, "j": 2}) == ["k", "j"]
    with pytest.raises(TypeError):
        flatten(3)
