"""Drug Combination Extraction (Tiktinsky et al. 2022; HF allenai/drug-combo-extraction).

Record shape: {"doc_id", "sentence", "paragraph", "spans": [{"span_id", "text", "start", "end",
"token_start", "token_end"}], "rels": [{"class": "POS" | "COMB" | "NEG", "spans": [span_id, ...],
"is_context_needed"}], "source"}. `sentence` is space-tokenized and occurs verbatim in `paragraph`;
span offsets index into `sentence` (end exclusive). A record without relations answers [].
"""

from __future__ import annotations

from typing import Any

from sciriff.adapters import adapter, require

LABELS = ("POS", "COMB", "NEG")


@adapter("drug_combo")
def drug_combo(record: dict[str, Any]) -> dict[str, Any]:
    doc_id, sentence, paragraph, spans, rels = require(
        record, "doc_id", "sentence", "paragraph", "spans", "rels"
    )
    if sentence not in paragraph:
        raise ValueError("'sentence' does not occur in 'paragraph'")
    drugs: dict[int, str] = {}
    for span in spans:
        span_id, text, start, end = require(span, "span_id", "text", "start", "end")
        if sentence[start:end] != text:
            raise ValueError(f"span {span_id} '{text}' does not match sentence[{start}:{end}]")
        drugs[span_id] = text
    relations: list[list[str]] = []
    for rel in rels:
        label, members = require(rel, "class", "spans")
        if label not in LABELS:
            raise ValueError(f"relation class '{label}' is not one of {LABELS}")
        unknown = [m for m in members if m not in drugs]
        if unknown or len(members) < 2:
            raise ValueError(f"relation {label} needs two or more known span ids, got {members}")
        relations.append([drugs[m] for m in members] + [label])
    return {"id": str(doc_id), "paragraph": paragraph, "sentence": sentence, "relations": relations}
