"""The SciInstruct answer checker: letters, numbers with tolerance and units, sympy equivalence."""

from __future__ import annotations

import pytest

from sciriff.sciinstruct.checker import (
    check_answer,
    extract_final_answer,
    gold_error,
    lm_check_prompt,
    parse_expression,
    parse_number,
    parse_rating,
)

MC = {"answer_type": "mc", "answer": "B", "choices": ["joule", "newton", "watt", "pascal"], "question": "q"}


def num(answer: str) -> dict:
    return {"answer_type": "numeric", "answer": answer, "question": "q"}


def expr(answer: str) -> dict:
    return {"answer_type": "expression", "answer": answer, "question": "q"}


@pytest.mark.parametrize(("text", "expected"), [
    ("Steps...\nFinal answer: 12 N", "12 N"),
    ("Final answer: 3\nmore thinking\nFinal Answer: **4 m/s^2**.", "4 m/s^2"),
    ("so $x = \\boxed{\\frac{1}{2}}$", "\\frac{1}{2}"),
    ("Thus the answer is B.", "B"),
    ("Final answer:\n", None),
    ("I am not sure.", None),
])
def test_extract_final_answer(text: str, expected: str | None) -> None:
    assert extract_final_answer(text) == expected


@pytest.mark.parametrize(("predicted", "correct"), [
    ("B", True), ("(B)", True), ("B. newton", True), ("option B", True), ("newton", True), ("b", True),
    ("A", False), ("C) watt", False), ("joule", False),
    ("a newton-based unit", None), ("none of them", None),
])
def test_multiple_choice_letters(predicted: str, correct: bool | None) -> None:
    assert check_answer(predicted, MC, 0.01).correct is correct


@pytest.mark.parametrize(("text", "value", "unit"), [
    ("4 m/s^2", 4.0, "m/s^2"), ("3.011 x 10^23", 3.011e23, ""), ("3.0e8 m/s", 3e8, "m/s"),
    ("1 \\times 10^{-5} M", 1e-5, "M"), ("1/4", 0.25, ""), ("75%", 75.0, "%"), ("a = 9.8 m/s**2", 9.8, "m/s^2"),
    ("about 28.3", 28.3, ""), ("2,048 mol", 2048.0, "mol"), ("The speed is 20 m/s", 20.0, "m/s"),
    ("−3.5 K", -3.5, "K"), ("\\frac{3}{8}", 0.375, ""),
])
def test_parse_number(text: str, value: float, unit: str) -> None:
    parsed = parse_number(text)
    assert parsed is not None and parsed[0] == pytest.approx(value) and parsed[1] == unit


@pytest.mark.parametrize("text", ["no number here", "CO2 is 3 mol", "", "between 2 and 3"])
def test_parse_number_refuses_ambiguous_text(text: str) -> None:
    assert parse_number(text) is None


@pytest.mark.parametrize(("predicted", "gold", "correct"), [
    ("4 m/s^2", "4 m/s^2", True),
    ("4.03 m/s^2", "4 m/s^2", True),          # within 1%
    ("4.1 m/s^2", "4 m/s^2", False),          # outside 1%, same unit
    ("4", "4 m/s^2", True),                   # units stripped
    ("0.25", "1/4", True),
    ("3.01 × 10^23", "3.011 x 10^23", True),
    ("432000 J", "0.12 kWh", None),           # different units: the rules cannot decide
    ("0.5 kWh", "0.12 kWh", False),
    ("the energy is small", "0.12 kWh", None),
    ("0", "0", True),
])
def test_numbers_with_tolerance_and_units(predicted: str, gold: str, correct: bool | None) -> None:
    assert check_answer(predicted, num(gold), 0.01).correct is correct


@pytest.mark.parametrize(("predicted", "gold", "correct"), [
    ("g t^2 / 2", "g*t**2/2", True),
    ("\\frac{1}{2} g t^{2}", "g*t**2/2", True),
    ("0.5*g*t**2", "g*t**2/2", True),
    ("R_1 R_2/(R_1 + R_2)", "R1*R2/(R1 + R2)", True),
    ("\\ln 2 / k", "ln(2)/k", True),
    ("0.693/k", "ln(2)/k", True),              # numerically equal within the tolerance
    ("x^2 - 5x + 6", "(x - 2)*(x - 3)", True),
    ("y = x + 3", "x + 3", True),
    ("g t^2", "g*t**2/2", False),
    ("v^2/R", "v**2/r", None),                 # a symbol the gold answer does not have
    ("__import__('os').system('true')", "x + 3", None),
    ("x.__class__", "x + 3", None),
])
def test_expressions_by_sympy_equivalence(predicted: str, gold: str, correct: bool | None) -> None:
    assert check_answer(predicted, expr(gold), 0.01).correct is correct


def test_no_final_answer_is_never_correct() -> None:
    assert check_answer(None, MC, 0.01).correct is False
    assert check_answer("  ", num("3"), 0.01).correct is False


@pytest.mark.parametrize(("problem", "error"), [
    ({"answer_type": "numeric", "answer": ""}, "no answer"),
    ({"answer_type": "numeric"}, "no answer"),
    ({"answer_type": "numeric", "answer": "many"}, "does not parse as a number"),
    ({"answer_type": "expression", "answer": "import os"}, "does not parse as a formula"),
    ({"answer_type": "mc", "answer": "E", "choices": ["a", "b"]}, "not a letter among AB"),
    ({"answer_type": "mc", "answer": "A"}, "without a list"),
    ({"answer_type": "essay", "answer": "x"}, "is not one of"),
])
def test_gold_errors(problem: dict, error: str) -> None:
    assert error in (gold_error(problem) or "")


def test_parse_expression_whitelist() -> None:
    assert str(parse_expression("2x + sin(x)")) == "2*x + sin(x)"
    assert parse_expression("lambda: 1") is None
    assert parse_expression("x" * 300) is None


def test_lm_check_prompt_asks_for_a_rating() -> None:
    prompt = lm_check_prompt({"question": "Q?", "answer": "0.12 kWh"}, "432000 J", "work... Final answer: 432000 J")
    assert prompt.endswith("Rating: <1-5>") and "0.12 kWh" in prompt and "432000 J" in prompt
    assert parse_rating("They match.\nRating: 5") == 5
    assert parse_rating("Rating: 2 ... Rating: 4") == 4
    assert parse_rating("Rating: 9") is None and parse_rating(None) is None
