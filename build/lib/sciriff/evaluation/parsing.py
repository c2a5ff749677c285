"""Turn raw model outputs into values the metrics can score (eval spec §2.1, §2.3, §2.5).

These rules decide how much credit a malformed output gets, so they follow the official SciRIFF
scorer to the letter, quirks included; `compat="corrected"` only changes what is listed in
`sciriff.evaluation.tasks.COMPAT_DIFFERENCES`.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Literal

Compat = Literal["official", "corrected"]

EOS = "</s>"

# Parse statuses, as the official JSON parser names them.
VALID_JSON = "valid_json"
NULL_JSON = "null_json"
EXTRACT_SUCCESS = "extract_success"
EXTRACT_FAILURE = "extract_failure"
PARSE_STATUSES = (VALID_JSON, NULL_JSON, EXTRACT_SUCCESS, EXTRACT_FAILURE)


def clean_prediction(text: str, compat: Compat = "official") -> str:
    """Remove the end-of-sequence token Tulu-style models leave in their output.

    The official code calls `text.strip("</s>")`, a character-set strip: it also eats a leading or
    trailing `s`, `<`, `/` or `>` of ordinary text (`"summaries"` -> `"summarie"`). In corrected
    mode only whole `</s>` tokens at either end are removed.
    """
    if compat == "official":
        return text.strip(EOS)
    while text.endswith(EOS):
        text = text[: -len(EOS)]
    while text.startswith(EOS):
        text = text[len(EOS) :]
    return text


@dataclass(frozen=True)
class Parsed:
    """A parsed output: the JSON value to score and how it was obtained (one of PARSE_STATUSES)."""

    value: Any
    status: str


def parse_json(text: str, default: Any, *, fix_closing_brace: bool = False) -> Parsed:
    """Parse a model output the way the official `JSONParser` does.

    Whole-string `json.loads` first (a result of `null` or the JSON string `"null"` becomes the
    default, status `null_json`; any other value is kept whatever its type); otherwise the first
    balanced span of the default's bracket type that parses; otherwise the default.
    `fix_closing_brace` is evidence_inference's fix-up: strip, then a final `}` becomes `]`.
    """
    if fix_closing_brace:
        text = text.strip()
        if text.endswith("}"):
            text = text[:-1] + "]"
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return _extract_first_span(text, default)
    if value is None or value == "null":
        return Parsed(copy.deepcopy(default), NULL_JSON)
    return Parsed(value, VALID_JSON)


def _extract_first_span(text: str, default: Any) -> Parsed:
    """First depth-0 bracket span that parses; the depth count ignores quoting, like the original."""
    opening, closing = ("{", "}") if isinstance(default, dict) else ("[", "]")
    depth = 0
    start = -1
    for i, char in enumerate(text):
        if char == opening:
            if depth == 0:
                start = i
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0 and start != -1:
                try:
                    return Parsed(json.loads(text[start : i + 1]), EXTRACT_SUCCESS)
                except (ValueError, RecursionError):
                    start = -1
    return Parsed(copy.deepcopy(default), EXTRACT_FAILURE)


def flatten(value: Any) -> list[Any]:
    """Iterate `value`, descending into nested lists only.

    Like the original, a string yields its characters, a dict its keys, and a number raises
    TypeError (it is not iterable).
    """
    out: list[Any] = []

    def visit(item: Any) -> None:
        if isinstance(item, list):
            for sub in item:
                visit(sub)
        else:
            out.append(item)

    for element in value:
        visit(element)
    return out


def normalize_entry(entry: Any) -> str:
    """Canonical string of one list entry (official `normalize_list_entry`); TypeError if unusable.

    None -> "", string -> stripped and lowercased, int/bool -> `str()` (so `True` -> "True"),
    float -> `str(round(x, 2))`, list -> its flattened string items joined by spaces (not
    lowercased), anything else (a dict) -> TypeError.
    """
    if entry is None:
        return ""
    if isinstance(entry, str):
        return entry.strip().lower()
    if isinstance(entry, int):
        return str(entry)
    if isinstance(entry, float):
        return str(round(entry, 2))
    if isinstance(entry, list):
        return " ".join(flatten(entry))
    raise TypeError(f"unexpected list entry of type {type(entry).__name__}")
