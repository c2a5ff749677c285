"""Evidence Inference 2.0 (DeYoung et al. 2020): clinical-trial abstracts with ICO prompts.

Record shape (the release's prompts and annotations tables joined per article, field names as
released): {"PMCID", "Text", "Prompts": [{"PromptID", "PMCID", "Intervention", "Comparator",
"Outcome", "Annotations": [{"UserID", "PromptID", "PMCID", "Valid Label", "Valid Reasoning",
"Label", "Label Code", "Annotations", "In Abstract", "Evidence Start", "Evidence End"}]}]}.
`Text` is the abstract; evidence offsets index into it (end exclusive). A missing or empty
Comparator becomes null. Each prompt with a valid in-abstract annotation gives one finding
[intervention, comparator, outcome, effect, evidence]: the majority label among valid annotations
(ties: the earliest annotation), with the evidence span of the first annotation carrying that label.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sciriff.adapters import adapter, require

EFFECTS = ("significantly increased", "significantly decreased", "no significant difference")


def _finding(text: str, prompt: dict[str, Any]) -> list[Any] | None:
    intervention, outcome, annotations = require(prompt, "Intervention", "Outcome", "Annotations")
    comparator = prompt.get("Comparator") or None
    valid = [
        a for a in annotations if a.get("Valid Label") and a.get("Valid Reasoning") and a.get("In Abstract")
    ]
    if not valid:
        return None
    for annotation in valid:
        if annotation.get("Label") not in EFFECTS:
            raise ValueError(
                f"prompt {prompt.get('PromptID')}: label '{annotation.get('Label')}' is not one of {EFFECTS}"
            )
    label = Counter(a["Label"] for a in valid).most_common(1)[0][0]
    chosen = next(a for a in valid if a["Label"] == label)
    (evidence, start, end) = require(chosen, "Annotations", "Evidence Start", "Evidence End")
    if text[start:end] != evidence:
        raise ValueError(
            f"prompt {prompt.get('PromptID')}: evidence offsets [{start}, {end}) do not match its text"
        )
    return [intervention, comparator, outcome, label, evidence]


@adapter("evidence_inference")
def evidence_inference(record: dict[str, Any]) -> dict[str, Any]:
    pmcid, text, prompts = require(record, "PMCID", "Text", "Prompts")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("'Text' must be a non-empty string")
    findings: list[list[Any]] = []
    for prompt in prompts:
        finding = _finding(text, prompt)
        if finding is not None and finding not in findings:
            findings.append(finding)
    return {"id": str(pmcid), "abstract": text.strip(), "findings": findings}
