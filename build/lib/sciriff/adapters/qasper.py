"""Qasper (HF allenai/qasper): questions about an NLP paper, answered from its full text.

One record is one paper: `full_text` = {section_name: [...], paragraphs: [[...], ...]} and `qas` =
{question: [...], question_id: [...], answers: [{answer: [annotation, ...]}, ...]} where each
annotation has unanswerable, yes_no, free_form_answer, extractive_spans, evidence and
highlighted_evidence. The adapter returns one instance per question; the abstractive and extractive
tasks pick theirs with a `filter`. For each kind of answer the first annotation giving one is used,
with its evidence paragraphs (evidence found in figures/tables, "FLOAT SELECTED: ...", is dropped
because captions are not part of the rendered paper).

Long papers are cut to a word budget the way SciRIFF fits them to the context window: the sections
holding the evidence are always kept, other sections are added in a seeded random order while they
fit, and the kept sections are shown in paper order.
"""

from __future__ import annotations

import random
from typing import Any

from sciriff.adapters import adapter, require
from sciriff.io import stable_seed

MAX_PAPER_WORDS = 2100  # title + abstract + sections: about 3,000 Llama-2 tokens, leaving room in 4,096
DASHES = "-" * 40  # the judge reads the title from the line after the first 40-dash line


def _sections(full_text: Any) -> list[dict[str, Any]]:
    if not isinstance(full_text, dict):
        raise ValueError("'full_text' must be an object with 'section_name' and 'paragraphs'")
    names, paragraphs = full_text.get("section_name"), full_text.get("paragraphs")
    if not isinstance(names, list) or not isinstance(paragraphs, list) or len(names) != len(paragraphs):
        raise ValueError("'full_text.section_name' and 'full_text.paragraphs' must be lists of equal length")
    sections = []
    for name, paras in zip(names, paragraphs, strict=True):
        if not isinstance(paras, list) or not all(isinstance(p, str) for p in paras):
            raise ValueError("'full_text.paragraphs' must be a list of lists of strings")
        kept = [p.strip() for p in paras if p.strip()]
        if kept:
            sections.append({"name": " ".join((name or "Unnamed section").split()), "paragraphs": kept})
    if not sections:
        raise ValueError("the paper has no non-empty paragraphs")
    return sections


def _check_lines(texts: list[str]) -> None:
    """The judge needs exactly one `Question:` line and one 40-dash line in the prompt; the paper has none."""
    for text in texts:
        for line in text.splitlines():
            if line.lstrip().startswith("Question:") or line.strip() == DASHES:
                raise ValueError(f"the paper has a line the evaluation judge would misread: {line[:60]!r}")


def _evidence(annotation: dict[str, Any], paragraphs: set[str]) -> list[str]:
    evidence = annotation.get("evidence") or []
    if not isinstance(evidence, list):
        raise ValueError("an annotation's 'evidence' must be a list of strings")
    kept: list[str] = []
    for text in evidence:
        text = text.strip() if isinstance(text, str) else ""
        if text in paragraphs and text not in kept:
            kept.append(text)
    return kept


def _fit(sections: list[dict[str, Any]], evidence: list[str], budget: int, seed: int) -> list[dict[str, Any]]:
    """Evidence sections plus shuffled distractor sections within the word budget, in paper order."""

    def words(section: dict[str, Any]) -> int:
        return len(section["name"].split()) + sum(len(p.split()) for p in section["paragraphs"])

    if sum(map(words, sections)) <= budget:
        return sections
    needed = {i for i, s in enumerate(sections) if any(p in evidence for p in s["paragraphs"])}
    total = sum(words(sections[i]) for i in needed)
    others = [i for i in range(len(sections)) if i not in needed]
    random.Random(seed).shuffle(others)
    for i in others:
        if total + words(sections[i]) > budget:
            break
        needed.add(i)
        total += words(sections[i])
    return [sections[i] for i in sorted(needed)]


@adapter("qasper")
def qasper(record: dict[str, Any]) -> list[dict[str, Any]]:
    paper_id, title, abstract, full_text, qas = require(record, "id", "title", "abstract", "full_text", "qas")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("'title' must be a non-empty string")
    if not isinstance(abstract, str):
        raise ValueError("'abstract' must be a string")
    title = " ".join(title.split())
    sections = _sections(full_text)
    paragraphs = {p for s in sections for p in s["paragraphs"]}
    _check_lines([title, abstract, *(s["name"] for s in sections), *paragraphs])
    budget = MAX_PAPER_WORDS - len(title.split()) - len(abstract.split())

    if not isinstance(qas, dict):
        raise ValueError("'qas' must be an object with 'question' and 'answers' lists")
    questions, answers = qas.get("question"), qas.get("answers")
    if not isinstance(questions, list) or not isinstance(answers, list) or len(questions) != len(answers):
        raise ValueError("'qas.question' and 'qas.answers' must be lists of equal length")

    instances = []
    for index, (question, block) in enumerate(zip(questions, answers, strict=True)):
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f"question {index} is empty")
        annotations = block.get("answer") if isinstance(block, dict) else None
        if not isinstance(annotations, list) or not all(isinstance(a, dict) for a in annotations):
            raise ValueError(f"question {index}: 'answers[{index}].answer' must be a list of annotations")
        for annotation in annotations:
            if not isinstance(annotation.get("free_form_answer") or "", str):
                raise ValueError(f"question {index}: 'free_form_answer' must be a string")
            spans = annotation.get("extractive_spans") or []
            if not isinstance(spans, list) or not all(isinstance(span, str) for span in spans):
                raise ValueError(f"question {index}: 'extractive_spans' must be a list of strings")
        answered = [a for a in annotations if not a.get("unanswerable")]
        free = next((a for a in answered if (a.get("free_form_answer") or "").strip()), None)
        spans = next((a for a in answered if any(s.strip() for s in a.get("extractive_spans") or [])), None)
        span_list = [s.strip() for s in spans["extractive_spans"] if s.strip()] if spans else []
        free_evidence = _evidence(free, paragraphs) if free else []
        span_evidence = _evidence(spans, paragraphs) if spans else []
        instance_id = f"{paper_id}_q{index}"
        instances.append(
            {
                "id": instance_id,
                "title": title,
                "abstract": abstract.strip(),
                "sections": _fit(sections, free_evidence + span_evidence, budget, stable_seed(instance_id)),
                "question": " ".join(question.split()),
                "unanswerable": bool(annotations) and all(a.get("unanswerable") for a in annotations),
                "yes_no": next((a["yes_no"] for a in annotations if a.get("yes_no") is not None), None),
                "free_form_answer": " ".join(free["free_form_answer"].split()) if free else "",
                "free_form_evidence": free_evidence,
                "extractive_spans": span_list,
                "extractive_evidence": span_evidence,
            }
        )
    return instances
