"""QASA (Lee et al. 2023; github.com/lgresearch/QASA, answerable test set v1.1, one question per line).

A record: {"paper_id", "title", "question_id", "question", "question_section",
"question_trigger_sentence", "question_type", "evidential_info": [{"context": paragraph,
"rationale": ...}], "composition": the composed free-form answer, "arxiv_id", ...}; SciRIFF's
processing adds "qix", the record's key in the released JSON object.

The evidential paragraphs (deduplicated, in order) are the context and the composition is the
answer, with the square brackets that wrap some compositions removed. A question without evidence
(QASA's unanswerable set) comes out with no paragraphs; the task filter drops it.
"""

from __future__ import annotations

from typing import Any

from sciriff.adapters import adapter, require


@adapter("qasa")
def qasa(record: dict[str, Any]) -> dict[str, Any]:
    paper_id, question_id, question, evidence, composition = require(
        record, "paper_id", "question_id", "question", "evidential_info", "composition"
    )
    if not isinstance(question, str) or not question.strip():
        raise ValueError("'question' must be a non-empty string")
    if not isinstance(composition, str) or not composition.strip():
        raise ValueError("'composition' must be a non-empty string")
    if not isinstance(evidence, list):
        raise ValueError("'evidential_info' must be a list of {context, rationale} objects")
    paragraphs: list[str] = []
    for i, item in enumerate(evidence):
        context = item.get("context") if isinstance(item, dict) else None
        if not isinstance(context, str):
            raise ValueError(f"evidential_info {i} has no 'context' string")
        context = " ".join(context.split())
        if context and context not in paragraphs:
            paragraphs.append(context)
    answer = composition.strip()
    if answer.startswith("[") and answer.endswith("]"):
        answer = answer[1:-1].strip()
    if not answer:
        raise ValueError("'composition' is empty once its brackets are removed")
    return {
        "id": f"{paper_id}_q{question_id}",
        "title": " ".join(str(record.get("title") or "").split()),
        "question": " ".join(question.split()),
        "paragraphs": paragraphs,
        "answer": answer,
    }
