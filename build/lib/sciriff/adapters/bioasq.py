"""BioASQ Task b questions (the training-set JSON, one question object per line).

A question has `id`, `body`, `type` (list / factoid / yesno / summary), `ideal_answer`, `snippets`
({text, document, ...}) and, except for summary questions, `exact_answer`: a list of synonym lists
for list questions; for factoid questions a list of synonym lists or, in older releases, one flat
list of synonyms; "yes"/"no" for yes/no questions.
"""

from __future__ import annotations

from typing import Any

from sciriff.adapters import adapter, require

QUESTION_TYPES = ("list", "factoid", "yesno", "summary")


def _first_synonym(entry: Any) -> str:
    """An exact_answer entry (a synonym list, or a bare string) -> its first synonym."""
    if isinstance(entry, list) and entry:
        entry = entry[0]
    if not isinstance(entry, str) or not entry.strip():
        raise ValueError(f"exact_answer entry {entry!r} is not a non-empty string or synonym list")
    return entry.strip()


def _answers(question_type: str, exact: Any) -> list[str]:
    """Answer strings, one per exact_answer entry (first synonym), unique ignoring case."""
    if question_type == "summary":
        return []
    if question_type == "yesno":
        if exact not in ("yes", "no"):
            raise ValueError(f"yes/no exact_answer {exact!r} is not 'yes' or 'no'")
        return [exact]
    if isinstance(exact, str):
        exact = [exact]
    if not isinstance(exact, list) or not exact:
        raise ValueError(f"{question_type} question needs a non-empty exact_answer list")
    if question_type == "factoid" and all(isinstance(item, str) for item in exact):
        exact = [exact]  # one flat synonym list
    answers: list[str] = []
    for entry in exact:
        answer = _first_synonym(entry)
        if answer.lower() not in (a.lower() for a in answers):
            answers.append(answer)
    return answers


@adapter("bioasq")
def bioasq(record: dict[str, Any]) -> dict[str, Any]:
    question_id, body, question_type, snippets = require(record, "id", "body", "type", "snippets")
    if question_type not in QUESTION_TYPES:
        raise ValueError(f"question type {question_type!r} is not one of {QUESTION_TYPES}")
    if not isinstance(body, str) or not body.strip():
        raise ValueError("'body' must be a non-empty string")
    if not isinstance(snippets, list) or not snippets:
        raise ValueError("'snippets' must be a non-empty list")
    contexts: list[str] = []
    for i, snippet in enumerate(snippets):
        text = snippet.get("text") if isinstance(snippet, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"snippet {i} has no text")
        text = " ".join(text.split())
        if text not in contexts:  # the same snippet is often listed once per annotator
            contexts.append(text)
    ideal = record.get("ideal_answer") or []
    if isinstance(ideal, str):
        ideal = [ideal]
    answers = _answers(question_type, record.get("exact_answer"))
    return {
        "id": str(question_id),
        "type": question_type,
        "question": body.strip(),
        "contexts": contexts,
        "answers": answers,
        "answer": answers[0] if answers else "",
        "ideal_answer": ideal[0].strip() if ideal else "",
    }
