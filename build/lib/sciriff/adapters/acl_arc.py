"""ACL-ARC citation intent (HF kejian/ACL-ARC; Jurgens et al. 2018, as re-released with SciCite).

One record is one citation, in the JSON-lines shape of the SciCite repository's ACL-ARC files:
- `citation_id` (str): e.g. "P08-1029_6"; `citing_paper_id` / `cited_paper_id` (ACL Anthology ids),
  plus `citing_paper_title`, `cited_paper_title`, `citing_paper_year`, `cited_paper_year`;
- `text` (str): the citing sentence, with the citation to the cited work written as in the paper;
- `cite_marker_offset` ([start, end]): character span of that citation marker inside `text`;
- `cleaned_cite_text` (str): `text` with the marker replaced by "@@CITATION" (not used here);
- `extended_context` (str): the citing sentence together with its neighbouring sentences;
- `section_name` (str | null), `section_number` (int), `section_title` (always null);
- `intent` (str): one of Background, CompareOrContrast, Extends, Future, Motivation, Uses;
- `sents_before` / `sents_after`: CoreNLP token dumps of the neighbouring sentences (ignored here,
  and left out of the embedded sample data).

The adapter marks the cited work in the citing sentence with <cite>...</cite> tags using
`cite_marker_offset` and returns the bare intent label as the answer.
"""

from __future__ import annotations

from typing import Any

from sciriff.adapters import adapter, require

INTENTS = ("Background", "CompareOrContrast", "Extends", "Future", "Motivation", "Uses")


@adapter("acl_arc")
def acl_arc(record: dict[str, Any]) -> dict[str, Any]:
    citation_id, text, offset, intent = require(record, "citation_id", "text", "cite_marker_offset", "intent")
    if intent not in INTENTS:
        raise ValueError(f"intent '{intent}' is not one of {INTENTS}")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("'text' must be a non-empty string")
    if not (isinstance(offset, list) and len(offset) == 2 and all(isinstance(i, int) for i in offset)):
        raise ValueError(f"'cite_marker_offset' must be [start, end], got {offset!r}")
    start, end = offset
    if not 0 <= start < end <= len(text):
        raise ValueError(f"cite_marker_offset {offset} is outside the {len(text)}-character text")
    context = record.get("extended_context") or text
    if text.strip() not in context:
        # the released extended_context always contains the citing sentence; keep the sentence visible anyway
        context = f"{context.strip()} {text.strip()}"
    return {
        "id": str(citation_id),
        "section": (record.get("section_name") or "").strip(),
        "context": " ".join(context.split()),
        "citation_sentence": f"{text[:start]}<cite>{text[start:end]}</cite>{text[end:]}".strip(),
        "intent": intent,
    }
