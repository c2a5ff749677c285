"""SciTLDR, AIC setting (HF allenai/scitldr, subset AIC): abstract, introduction and conclusion -> TLDR.

A record holds `source` (the sentences of the three sections, in order), `source_labels` and
`rouge_scores` (per-sentence oracle information, unused here), `paper_id` and `target`, a list of
one or more reference TLDRs; the first one is the answer.
"""

from __future__ import annotations

from typing import Any

from sciriff.adapters import adapter, require


def _strings(value: Any, key: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(s, str) for s in value):
        raise ValueError(f"'{key}' must be a non-empty list of strings")
    value = [" ".join(s.split()) for s in value]
    if not all(value):
        raise ValueError(f"'{key}' contains an empty string")
    return value


@adapter("scitldr_aic")
def scitldr_aic(record: dict[str, Any]) -> dict[str, Any]:
    paper_id, source, target = require(record, "paper_id", "source", "target")
    source = _strings(source, "source")
    target = _strings(target, "target")
    return {"id": str(paper_id), "source": source, "tldr": target[0]}
