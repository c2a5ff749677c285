"""BigBio TEXT schema sources (document classification, e.g. BC7 LitCovid topic labels).

One record is `{"id", "document_id", "text", "labels": [str, ...]}`. The schema's `id` is only a row
counter within a split, so the instance id is the `document_id` (a PMID for LitCovid), which is
unique across splits. Labels keep their order with duplicates dropped; an underscore spelling of a
multi-word label ("Case_Report", as in the raw LitCovid CSV) is read as the spaced one ("Case Report").
Which labels a task knows, and in what order it lists them, is up to the task's template.
"""

from __future__ import annotations

from typing import Any

from sciriff.adapters import adapter, require


def _label(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"label {value!r} is not a non-empty string")
    return " ".join(value.replace("_", " ").split())


@adapter("bigbio_text")
def bigbio_text(record: dict[str, Any]) -> dict[str, Any]:
    """One BigBio TEXT record -> its text and its (normalized, de-duplicated) labels."""
    document_id, text, labels = require(record, "document_id", "text", "labels")
    if document_id is None or not str(document_id).strip():
        raise ValueError("'document_id' must be non-empty")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("'text' must be a non-empty string")
    if not isinstance(labels, list) or not labels:
        raise ValueError("'labels' must be a non-empty list")
    unique: list[str] = []
    for label in map(_label, labels):
        if label not in unique:
            unique.append(label)
    return {
        "id": str(document_id).strip(),
        "text": " ".join(text.split()),
        "labels": unique,
    }
