"""SciCite citation intent (HF allenai/scicite): one citation excerpt, labelled method/background/result."""

from __future__ import annotations

from typing import Any

from sciriff.adapters import adapter, require

# ClassLabel names of the `label` column, in index order.
LABELS = ("method", "background", "result")


@adapter("scicite")
def scicite(record: dict[str, Any]) -> dict[str, Any]:
    unique_id, text, label = require(record, "unique_id", "string", "label")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("'string' must be a non-empty citation excerpt")
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < len(LABELS):
        raise ValueError(f"'label' must be an integer index into {LABELS}, got {label!r}")
    return {
        "id": str(unique_id),
        "text": " ".join(text.split()),
        "section": record.get("sectionName") or "",
        "label": LABELS[label],
    }
