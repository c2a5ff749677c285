"""SciFact entailment (HF allenai/scifact_entailment): one claim paired with one abstract."""

from __future__ import annotations

from typing import Any

from sciriff.adapters import adapter, require

VERDICTS = ("SUPPORT", "CONTRADICT", "NEI")


@adapter("scifact_entailment")
def scifact_entailment(record: dict[str, Any]) -> dict[str, Any]:
    claim_id, claim, abstract_id, title, abstract, verdict, evidence = require(
        record, "claim_id", "claim", "abstract_id", "title", "abstract", "verdict", "evidence"
    )
    if verdict not in VERDICTS:
        raise ValueError(f"verdict '{verdict}' is not one of {VERDICTS}")
    if not isinstance(abstract, list) or not abstract:
        raise ValueError("'abstract' must be a non-empty list of sentences")
    bad = [i for i in evidence if not isinstance(i, int) or not 0 <= i < len(abstract)]
    if bad:
        raise ValueError(f"evidence indices {bad} are outside the {len(abstract)}-sentence abstract")
    return {
        "id": f"{claim_id}_{abstract_id}",
        "claim": claim,
        "title": title,
        "abstract": abstract,
        "verdict": verdict,
        "evidence": [abstract[i] for i in sorted(evidence)],
    }
