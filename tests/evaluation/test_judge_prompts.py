"""The judge prompt builders find the title, question and paper body in prompts rendered from the real templates.

The builders locate these fields by searching for strings of `templates/qasper_abstractive_qa.yaml` and
`templates/mup_single_document_summarization.yaml` (a 40-dash line, `Question:`, `Paper title:`, `Paper body:`,
`sentence paper summary`). An edit to either template that moves or rewords those strings would otherwise
leave the judge rating answers against a wrong or empty title, question or body, with no error.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sciriff.adapters import get_adapter
from sciriff.catalog import load_task, render_instance
from sciriff.evaluation.context import ScoringRun
from sciriff.evaluation.judge_prompts import mup_judge_prompt, qasper_judge_prompt

REPO = Path(__file__).resolve().parents[2]

QASPER_FIELDS = {  # shaped like the qasper adapter's output
    "id": "paper1_q0",
    "title": "Detecting Hedges in Biomedical Abstracts",
    "abstract": "Hedges signal uncertainty. We compare classifiers with prompted models.",
    "sections": [
        {"name": "Introduction", "paragraphs": ["Authors use hedges such as may.", "Detection helps extraction."]},
        {"name": "Results", "paragraphs": ["The classifier reaches 88.4 F1."]},
    ],
    "question": "What F1 does the classifier reach?",
    "unanswerable": False,
    "yes_no": None,
    "free_form_answer": "88.4",
    "free_form_evidence": ["The classifier reaches 88.4 F1."],
    "extractive_spans": [],
    "extractive_evidence": [],
}

MUP_BODY = "1 Introduction\nWe prune filters under a budget.\n\n2 Method\nGates are learned with a penalty."
MUP_FIELDS = {  # shaped like the mup adapter's output
    "id": "p01_abcd1234",
    "title": "Budget-Aware Filter Pruning",
    "text": MUP_BODY,
    "summary": "The paper prunes filters under a budget.",
    "n_sentences": 1,
}


def _first_adapter_output(source: str) -> dict:
    record = json.loads((REPO / "data" / "sample" / source / "test.jsonl").read_text().splitlines()[0])
    out = get_adapter(source)(record)
    return out[0] if isinstance(out, list) else out


@pytest.mark.parametrize(("source", "fields"), [("qasper", QASPER_FIELDS), ("mup", MUP_FIELDS)])
def test_fields_are_shaped_like_the_adapter_output(source: str, fields: dict) -> None:
    assert set(fields) == set(_first_adapter_output(source))


def _run(task: str, compat: str) -> ScoringRun:
    return ScoringRun(task=task, compat=compat, judge=None, details=[{"index": 0}])


@pytest.mark.parametrize("compat", ["official", "corrected"])
def test_qasper_judge_prompt_finds_title_and_question_in_the_rendered_template(compat: str) -> None:
    task = load_task(REPO / "templates" / "qasper_abstractive_qa.yaml")
    prompt, answer = render_instance(task, QASPER_FIELDS)
    gold = json.loads(answer)
    run = _run(task.name, compat)
    judge_prompt = qasper_judge_prompt(run, 0, prompt, gold, "It reaches 88.4.")
    assert run.errors == {}, "the builder could not find the title or the single `Question:` line"
    assert f"Paper title: {QASPER_FIELDS['title']}\n\nExcerpts:" in judge_prompt
    assert f"Question: {QASPER_FIELDS['question']}\n\nReference answer: 88.4\n" in judge_prompt


@pytest.mark.parametrize("compat", ["official", "corrected"])
@pytest.mark.parametrize("n_sentences", [1, 9])  # the adapter allows 1-9: the builder cuts one digit and `-`
def test_mup_judge_prompt_finds_title_and_body_in_the_rendered_template(compat: str, n_sentences: int) -> None:
    task = load_task(REPO / "templates" / "mup_single_document_summarization.yaml")
    prompt, reference = render_instance(task, {**MUP_FIELDS, "n_sentences": n_sentences})
    judge_prompt = mup_judge_prompt(_run(task.name, compat), prompt, reference, "A model summary.")
    assert f"Title: {MUP_FIELDS['title']}\n\nBody text:\n{MUP_BODY}\n\nReference summary:\n" in judge_prompt
    assert f"Reference summary:\n{MUP_FIELDS['summary']}\n\nModel summary:\nA model summary.\n" in judge_prompt
