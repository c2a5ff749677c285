"""The SciInstruct answer checker: the final answer of a solution against the gold answer.

Rules first (as cheap and repeatable as possible): multiple-choice letters, numbers with a relative
tolerance and the unit stripped, formulas by symbolic equivalence (sympy). What the rules cannot
decide (a unit that differs, an answer in words, a formula over other symbols) is `correct=None`,
for the LM checker (`lm_check_prompt` / `parse_rating`), as SciGLM had GPT-4 judge answers.
A solution with no explicit final answer is never correct (SciGLM: "no explicit answer counts as 0").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

ANSWER_TYPES = ("mc", "numeric", "expression")
LETTERS = "ABCDEFGH"
FUNCTIONS = ("sin", "cos", "tan", "exp", "log", "ln", "sqrt", "pi")
_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_NUMBER = re.compile(
    rf"(?P<mant>{_NUM})(?:\s*/\s*(?P<den>{_NUM}))?"
    r"(?:[eE](?P<exp1>[-+]?\d+)|\s*(?:x|\*|×)\s*10\s*(?:\^|\*\*)\s*\{?\s*\(?(?P<exp2>[-+]?\d+)\)?\s*\}?)?"
)
_APPROX = re.compile(r"^(?:about|approximately|approx\.?|around|roughly|~|≈|=)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    """correct: True / False, or None when the rules cannot decide (then the LM checker does)."""

    correct: bool | None
    reason: str


def extract_final_answer(text: str) -> str | None:
    """The solution's explicit final answer: the last `Final answer:` line, else `\\boxed{}`, else `answer is`."""
    lines = re.findall(r"final answer\s*(?:is)?\s*[:：]?\s*(.*)", text, flags=re.IGNORECASE)
    candidates = [line for line in lines if _clean(line)]
    if candidates:
        return _clean(candidates[-1])
    boxed = _last_boxed(text)
    if boxed:
        return _clean(boxed)
    said = re.findall(r"\banswer is\s*[:：]?\s*([^\n]+)", text, flags=re.IGNORECASE)
    if said and _clean(said[-1]):
        return _clean(said[-1])
    return None


def _clean(answer: str) -> str:
    return answer.strip(" \t*$.")


def _last_boxed(text: str) -> str | None:
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 1, start + len("\\boxed{")
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i:j]
    return None


def parse_number(text: str) -> tuple[float, str] | None:
    """(value, normalized unit) of a numeric answer such as `3.0 x 10^8 m/s`, `1/4`, `75%`; None if none.

    The answer must start with the number (after `x =` or `about`), or hold exactly one number.
    """
    text = text.replace("−", "-").replace("\\times", "x").replace("\\cdot", "*").replace("\\,", "")
    text = re.sub(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}", r"\1/\2", text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text).replace("$", "").strip()
    if "=" in text:
        text = text.rsplit("=", 1)[1].strip()
    text = _APPROX.sub("", text)
    match = _NUMBER.match(text)
    if match is None:
        found = list(_NUMBER.finditer(text))
        if len(found) != 1:
            return None
        match = found[0]
        rest = text[match.end():]
    else:
        rest = text[match.end():]
    try:
        value = float(match["mant"])
        if match["den"] is not None:
            value /= float(match["den"])
        exponent = match["exp1"] or match["exp2"]
        if exponent is not None:
            value *= 10.0 ** int(exponent)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    if not math.isfinite(value):
        return None
    return value, _unit(rest)


def _unit(text: str) -> str:
    unit = re.sub(r"\s+", "", text.strip().rstrip(".")).replace("**", "^").replace("·", "*")
    return re.sub(r"^(?:units?|in)", "", unit)


def parse_expression(text: str) -> Any | None:
    """A sympy expression from a formula (sympy or simple LaTeX syntax), or None when it is not one.

    Only arithmetic over short names and a few functions is accepted before sympy sees the text,
    because sympy's parser evaluates Python.
    """
    import sympy
    from sympy.parsing.sympy_parser import (
        convert_xor,
        implicit_multiplication_application,
        parse_expr,
        standard_transformations,
    )

    text = _latex_to_plain(text)
    if "=" in text:
        text = text.rsplit("=", 1)[1]
    text = text.strip()
    if not text or len(text) > 200 or not re.fullmatch(r"[A-Za-z0-9_+\-*/^(). ]*", text) or "__" in text:
        return None
    if re.search(r"[A-Za-z_)]\s*\.", text):  # attribute access
        return None
    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    if any(n not in FUNCTIONS and not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,2}", n) for n in names):
        return None
    local: dict[str, Any] = {n: sympy.Symbol(n) for n in names if n not in FUNCTIONS}
    local.update({"sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "exp": sympy.exp, "log": sympy.log,
                  "ln": sympy.log, "sqrt": sympy.sqrt, "pi": sympy.pi})
    transformations = (*standard_transformations, implicit_multiplication_application, convert_xor)
    try:
        expr = parse_expr(text, local_dict=local, global_dict={"__builtins__": {}, **_sympy_globals()},
                          transformations=transformations, evaluate=True)
    except Exception:  # noqa: BLE001 - any parse failure means "not a formula"
        return None
    return expr if isinstance(expr, sympy.Expr) else None


def _sympy_globals() -> dict[str, Any]:
    import sympy

    return {name: getattr(sympy, name) for name in ("Symbol", "Integer", "Float", "Rational", "Function")}


def _latex_to_plain(text: str) -> str:
    text = text.replace("$", "").replace("\\left", "").replace("\\right", "").replace("−", "-")
    text = text.replace("\\cdot", "*").replace("\\times", "*").replace("×", "*").replace("·", "*")
    text = re.sub(r"_\{([A-Za-z0-9]+)\}|_([A-Za-z0-9])", r"\1\2", text)  # subscripts: R_1, R_{12} -> R1, R12
    for _ in range(5):  # nested fractions, innermost first
        text = re.sub(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}", r"((\1)/(\2))", text)
    text = re.sub(r"\\sqrt\{([^{}]*)\}", r"sqrt(\1)", text)
    text = text.replace("{", "(").replace("}", ")")
    return re.sub(r"\\([A-Za-z]+)", r"\1", text)


def gold_error(problem: dict) -> str | None:
    """Why the rules could never check this problem's gold answer (None: it is checkable)."""
    answer, kind = problem.get("answer"), problem.get("answer_type")
    if not isinstance(answer, str) or not answer.strip():
        return "no answer"
    if kind not in ANSWER_TYPES:
        return f"answer_type {kind!r} is not one of {', '.join(ANSWER_TYPES)}"
    if kind == "mc":
        choices = problem.get("choices")
        if not isinstance(choices, list) or len(choices) < 2 or not all(isinstance(c, str) and c.strip()
                                                                          for c in choices):
            return "multiple-choice problem without a list of at least 2 non-empty choices"
        if len(choices) > len(LETTERS) or answer.strip() not in LETTERS[: len(choices)]:
            return f"answer {answer!r} is not a letter among {LETTERS[: min(len(choices), len(LETTERS))]}"
    elif kind == "numeric" and parse_number(answer) is None:
        return f"numeric answer {answer!r} does not parse as a number"
    elif kind == "expression" and parse_expression(answer) is None:
        return f"expression answer {answer!r} does not parse as a formula"
    return None


def check_answer(predicted: str | None, problem: dict, rel_tol: float) -> Verdict:
    """Rule-check a solution's final answer against the problem's (valid) gold answer."""
    if predicted is None or not predicted.strip():
        return Verdict(False, "no final answer")
    kind = problem["answer_type"]
    if kind == "mc":
        return _check_choice(predicted, problem)
    if kind == "numeric":
        return _check_number(predicted, problem["answer"], rel_tol)
    return _check_expression(predicted, problem["answer"], rel_tol)


def _check_choice(predicted: str, problem: dict) -> Verdict:
    text = re.sub(r"^(?:option|choice|answer)\s*", "", predicted.strip(), flags=re.IGNORECASE)
    match = re.match(r"^\(?([A-H])\)?(?=$|[\s.):,])", text) or re.fullmatch(r"\(?([a-h])\)?", text)
    letter = match.group(1).upper() if match else None
    if letter is None:
        texts = [c.strip().rstrip(".").lower() for c in problem["choices"]]
        said = text.rstrip(".").lower()
        letter = LETTERS[texts.index(said)] if said in texts else None
    if letter is None:
        return Verdict(None, f"no choice letter in {predicted[:60]!r}")
    gold = problem["answer"].strip()
    return Verdict(letter == gold, f"letter {letter} vs {gold}")


def _check_number(predicted: str, gold_text: str, rel_tol: float) -> Verdict:
    gold = parse_number(gold_text)
    assert gold is not None, "gold answers are validated at ingest"
    parsed = parse_number(predicted)
    if parsed is None:
        return Verdict(None, f"no single number in {predicted[:60]!r}")
    (value, unit), (target, gold_unit) = parsed, gold
    if math.isclose(value, target, rel_tol=rel_tol, abs_tol=1e-12):
        return Verdict(True, f"{value:g} within {rel_tol:g} of {target:g}")
    if unit and gold_unit and unit != gold_unit:
        return Verdict(None, f"{value:g} {unit} vs {target:g} {gold_unit}: units differ")
    return Verdict(False, f"{value:g} vs {target:g}")


def _check_expression(predicted: str, gold_text: str, rel_tol: float) -> Verdict:
    import sympy

    gold = parse_expression(gold_text)
    expr = parse_expression(predicted)
    if expr is None:
        return Verdict(None, f"not a formula: {predicted[:60]!r}")
    if not expr.free_symbols <= gold.free_symbols:
        extra = sorted(str(s) for s in expr.free_symbols - gold.free_symbols)
        return Verdict(None, f"symbols {extra} are not in the gold answer")
    try:
        if sympy.simplify(expr - gold) == 0:
            return Verdict(True, "symbolically equal")
        symbols = sorted(gold.free_symbols, key=str)
        for point in ((0.7, 1.3, 2.1, 0.4), (1.9, 0.6, 1.1, 2.7), (3.1, 2.2, 0.9, 1.6)):
            values = dict(zip(symbols, (point * 3)[: len(symbols)], strict=True))
            a, b = complex(expr.evalf(subs=values)), complex(gold.evalf(subs=values))
            if not math.isclose(abs(a - b), 0.0, abs_tol=rel_tol * max(abs(b), 1e-12)):
                return Verdict(False, "not equivalent")
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError) as err:
        return Verdict(None, f"sympy could not compare: {type(err).__name__}")
    return Verdict(True, "numerically equal at 3 points")


def lm_check_prompt(problem: dict, predicted: str, solution: str) -> str:
    """The LM checker's prompt; it ends by asking for `Rating: <1-5>` (the local judge forces that digit)."""
    tail = solution.strip()[-600:]
    return (
        "You check a student's final answer to a science problem against the reference answer.\n\n"
        f"Problem: {problem['question']}\n"
        f"Reference answer: {problem['answer']}\n"
        f"Student's final answer: {predicted}\n"
        f"End of the student's solution: {tail}\n\n"
        "Do the two answers mean the same thing (same value, allowing rounding, unit conversion and "
        "equivalent forms)? Explain in one or two sentences, then rate from 1 (certainly different) to 5 "
        "(certainly the same) on a last line in the form\nRating: <1-5>"
    )


def parse_rating(reply: str | None) -> int | None:
    """The last `Rating: N` (1-5) of an LM checker reply; None when there is none."""
    found = re.findall(r"Rating:\s*([1-5])\b", reply or "")
    return int(found[-1]) if found else None
