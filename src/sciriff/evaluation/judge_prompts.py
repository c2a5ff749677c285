"""The project's LM-judge prompts for Qasper and MUP, and the parsers of the judge's replies.

The builders take the paper title, question and body out of the model prompt by searching for
strings of the task templates (a 40-dash line, `Question:`, `Paper title:`, `Paper body:`), as the
official code does; tests/evaluation/test_judge_prompts.py renders the real templates to keep them in step.
"""

from __future__ import annotations

import re
from typing import Any

from sciriff.evaluation.context import Judge, ScoringRun

_QASPER_TEMPLATE = """\
You will read excerpts from a research paper and a question about it, then an answer written by an \
expert (the reference) and an answer produced by a model. Rate, on a scale from 1 to 5, how well the \
model answer agrees with the reference answer. Extra information in the model answer that the \
reference does not contain should not lower the rating.

- 5: the model answer contains every important piece of information in the reference.
- 3: the model answer resembles the reference but is not entirely correct.
- 1: the model answer is wrong or has nothing to do with the reference.

Explain your rating first, then give it, in exactly this format:
Explanation: <your explanation>
Rating: <one integer from 1 to 5>

Write nothing after the rating.

Paper title: {title}

Excerpts:
{excerpts}

Question: {question}

Reference answer: {reference}

Model answer: {answer}
"""

_MUP_TEMPLATE = """\
You will read the title and body of a computer science research paper, then a summary of it written \
by an expert (the reference) and a summary produced by a model. Rate, on an overall scale from 1 to \
5, how similar the model summary is to the reference summary. Extra information in the model summary \
that the reference does not contain should not lower the rating.

- 5: the model summary contains every important piece of information in the reference.
- 3: the model summary resembles the reference but is not entirely accurate.
- 1: the model summary is wrong or has nothing to do with the reference.

Explain your rating first, then give it, in exactly this format:
Explanation: <your explanation>
Decision: <one integer from 1 to 5>

Write nothing after the decision.

Title: {title}

Body text:
{body}

Reference summary:
{reference}

Model summary:
{summary}
"""

_DASHES = "-" * 40
_QASPER_RATING = re.compile(r"Rating:\s*(\d+)")
_MUP_TITLE = re.compile(r"Paper title:\n(.*?)(?=\n)")


def qasper_judge_prompt(run: ScoringRun, index: int, model_prompt: str, gold: dict, answer: Any,
                        pred: Any = None) -> str:
    """Judge prompt for one Qasper answer: title, question, gold evidence, gold and model answers.

    Title = the line after the first line of 40 dashes in the model prompt; question = the one line
    starting with `Question:`. Official mode also deletes every run of 4 spaces in the whole prompt.
    With official prompts (run.prompts), the same fields fill the official code's prompt instead.
    """
    lines = model_prompt.split("\n")
    if _DASHES in lines[:-1]:
        title = lines[lines.index(_DASHES) + 1]
    else:
        run.official_error(index, "qasper prompt has no title after a 40-dash line (judged without title)")
        title = "None"
    questions = [line for line in lines if line.startswith("Question:")]
    if len(questions) != 1:
        run.official_error(index, "qasper prompt does not have exactly one `Question:` line")
    question = questions[0].replace("Question: ", "") if questions else ""
    if run.prompts is not None:
        pred = pred if isinstance(pred, dict) else {"answer": answer}
        return run.prompts.qasper_prompt(model_prompt, gold, pred, title, question, run.corrected)
    prompt = _QASPER_TEMPLATE.format(title=title, excerpts="\n".join(gold["evidence"]), question=question,
                                     reference=gold["answer"], answer=str(answer))
    return prompt if run.corrected else prompt.replace("    ", "")


def parse_qasper_rating(reply: str) -> int:
    """First `Rating:` followed by digits; a value outside 1-5 or no match counts as 3 (official)."""
    match = _QASPER_RATING.search(reply)
    if match is None:
        return 3
    rating = int(match.group(1))
    return rating if rating in (1, 2, 3, 4, 5) else 3


def mup_judge_prompt(run: ScoringRun, model_prompt: str, reference: str, summary: str) -> str:
    """Judge prompt for one MUP summary: paper title and body taken from the model prompt, both summaries."""
    match = _MUP_TITLE.search(model_prompt)
    title = match.group(1) if match else None
    body = None
    if "Paper body:" in model_prompt:
        body = model_prompt[model_prompt.find("Paper body:") + 11 :]
        if "sentence paper summary" in body:
            body = body[: body.find("sentence paper summary") - 2]
        body = body.strip()
    if run.prompts is not None:
        return run.prompts.mup_prompt(model_prompt, title, body, reference, summary, run.corrected)
    prompt = _MUP_TEMPLATE.format(title=title, body=body, reference=reference, summary=summary)
    return prompt if run.corrected else prompt.replace("        ", "")


def parse_mup_rating(reply: str) -> int | None:
    """Text after the first `Decision:` (else `Rating:`), stripped, must be exactly 1-5; else None."""
    for marker in ("Decision:", "Rating:"):
        if marker in reply:
            decision = reply[reply.find(marker) + len(marker) :].strip()
            return int(decision) if decision in ("1", "2", "3", "4", "5") else None
    return None


def judge_replies(judge: Judge, prompts: list[str]) -> list[str | None]:
    """The judge's replies to one batch; a wrong count would pair ratings with the wrong instances."""
    if not prompts:
        return []
    replies = list(judge.complete(prompts))
    if len(replies) != len(prompts):
        raise ValueError(f"judge {judge.name!r} returned {len(replies)} replies for {len(prompts)} prompts")
    return replies

