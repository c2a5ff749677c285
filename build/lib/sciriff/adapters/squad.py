"""SQuAD-shaped extractive QA sources (HF covid_qa_deepset, Möller et al. 2020).

One record is one question, in the SQuAD v2 flat shape the HF loader publishes: `document_id`
(int), `context` (str), `question` (str), `is_impossible` (bool), `id` (int) and `answers`
({"text": [str, ...], "answer_start": [int, ...]}, character offsets into `context`). The first
answer is the reference; every given answer must occur in the context at its offset. Unanswerable
records (`is_impossible` true, no answers) keep an empty `answer`; tasks drop them with a filter.
"""

from __future__ import annotations

from typing import Any

from sciriff.adapters import adapter, require


@adapter("squad")
def squad(record: dict[str, Any]) -> dict[str, Any]:
    qid, context, question, answers = require(record, "id", "context", "question", "answers")
    impossible = bool(record.get("is_impossible", False))
    if not isinstance(context, str) or not context.strip():
        raise ValueError("'context' must be a non-empty string")
    if not isinstance(question, str) or not question.strip():
        raise ValueError("'question' must be a non-empty string")
    if not isinstance(answers, dict) or not {"text", "answer_start"} <= set(answers):
        raise ValueError("'answers' must be {'text': [...], 'answer_start': [...]}")
    texts, starts = answers["text"], answers["answer_start"]
    if len(texts) != len(starts):
        raise ValueError(f"{len(texts)} answer texts but {len(starts)} answer_start offsets")
    for text, start in zip(texts, starts, strict=True):
        if not isinstance(start, int) or context[start : start + len(text)] != text:
            raise ValueError(f"answer {text[:40]!r} is not in the context at offset {start}")
    if not impossible and not texts:
        raise ValueError("answerable record without answers")
    document_id = record.get("document_id")
    return {
        "id": str(qid) if document_id is None else f"{document_id}_{qid}",
        "context": context.strip(),
        "question": question.strip(),
        "is_impossible": impossible or not texts,
        "answer": texts[0].strip() if texts else "",
    }
