"""MuP single-document summarization (HF allenai/mup): a paper body -> a reviewer's summary of it.

A record is `{"paper_id", "paper_name", "text", "summary"}`; a paper appears once per review, so
several records share a `paper_id` with different summaries, and the instance id adds a hash of the
summary. The prompt states the summary's sentence count, which must be a single digit: the
SciRIFF-Eval judge finds the paper body between `Paper body:` and `N-sentence paper summary`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sciriff.adapters import adapter, require

# A sentence ends at . ! or ? followed by whitespace and a capital, digit, quote or bracket ...
_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
# ... unless the period closes a common abbreviation.
_ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|et al|vs|cf|approx|Fig|Figs|Eq|Eqs|Sec|Tab)\.$")
JUDGE_MARKERS = ("Paper title:", "Paper body:", "sentence paper summary")


def count_sentences(text: str) -> int:
    """Number of sentences in a plain-text summary (a rule-based splitter, no model needed)."""
    count = 0
    pending = ""
    for piece in _BOUNDARY.split(text.strip()):
        pending = f"{pending} {piece}" if pending else piece
        if not _ABBREVIATION.search(pending):
            count += 1
            pending = ""
    return count + (1 if pending else 0)


@adapter("mup")
def mup(record: dict[str, Any]) -> dict[str, Any]:
    paper_id, title, text, summary = require(record, "paper_id", "paper_name", "text", "summary")
    for key, value in (("paper_name", title), ("text", text), ("summary", summary)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"'{key}' must be a non-empty string")
    title = " ".join(title.split())  # the judge reads the title from the single line after `Paper title:`
    summary = " ".join(summary.split())
    marker = next((m for m in JUDGE_MARKERS if m in text), None)
    if marker:
        raise ValueError(f"'text' contains '{marker}', which would confuse the evaluation judge")
    n_sentences = count_sentences(summary)
    if not 1 <= n_sentences <= 9:
        raise ValueError(f"the summary has {n_sentences} sentences; the prompt needs a count from 1 to 9")
    digest = hashlib.sha256(summary.encode("utf-8")).hexdigest()[:8]
    return {
        "id": f"{paper_id}_{digest}",
        "title": title,
        "text": text.strip(),
        "summary": summary,
        "n_sentences": n_sentences,
    }
