"""MultiCite intent classification (HF kejian/MultiCite-classification-gold-context).

A record is `{"id", "x", "y"}`: `x` is the gold citation context with the cited work wrapped in
`<cite>` ... `</cite>`, `y` the space-separated intent labels (one citation may have several).
"""

from __future__ import annotations

from typing import Any

from sciriff.adapters import adapter, require

INTENTS = ("background", "motivation", "uses", "extends", "similarities", "differences", "future_work")


@adapter("multicite")
def multicite(record: dict[str, Any]) -> dict[str, Any]:
    record_id, context, labels = require(record, "id", "x", "y")
    if not isinstance(context, str) or not context.strip():
        raise ValueError("'x' must be a non-empty string")
    if "<cite>" not in context or "</cite>" not in context:
        raise ValueError("'x' has no <cite>...</cite> marked citation")
    if not isinstance(labels, str) or not labels.split():
        raise ValueError("'y' must be a non-empty string of space-separated intent labels")
    found = set(labels.split())
    unknown = sorted(found - set(INTENTS))
    if unknown:
        raise ValueError(f"unknown intent label(s) {unknown}; expected {INTENTS}")
    return {
        "id": str(record_id),
        "context": context.strip(),
        # deduplicated, in the fixed label order, so the same labels always render the same answer
        "intents": [label for label in INTENTS if label in found],
    }
