"""The nine SciRIFF-Eval tasks, scored as the official `compute_science_metrics.py` scores them.

`score_task` runs the shared pipeline (eval spec §2: `</s>` clean-up, corpus BLEU, JSON parsing
into the `all` and `valid_json` settings) and then the task's scorer (§3; in `scorers` and
`judged_scorers`, the LM-judge prompts in `judge_prompts`). Flat metric names, summary keys,
defaults and quirks follow the official code, so in `compat="official"` mode the numbers equal its
`metrics_flat.json` / `metrics_summary.json` to float precision.

Where the official code aborts the whole task (NER non-object output, a `""` evidence_inference
output, non-string SciFact evidence, numeric Qasper answers, an empty ROUGE set, all-empty BLEU
input, no usable MUP rating) this module scores what can be scored instead, adds a warning, records
the reason in the instance's details and counts it in the flat metric `official_errors` (present
only when non-zero, so that the flat keys equal the official ones whenever the official code runs).
`compat="corrected"` additionally fixes the documented bugs listed in `COMPAT_DIFFERENCES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sciriff.evaluation.context import Judge, Result, ScoringRun, SettingIndices
from sciriff.evaluation.judged_scorers import score_mup, score_qasper
from sciriff.evaluation.metrics import corpus_bleu, safe_div
from sciriff.evaluation.parsing import (
    EXTRACT_FAILURE,
    EXTRACT_SUCCESS,
    VALID_JSON,
    Compat,
    clean_prediction,
    parse_json,
)
from sciriff.evaluation.scorers import score_bleu_only, score_ei, score_list, score_ner, score_scifact
from sciriff.io import DataError

if TYPE_CHECKING:
    from sciriff.evaluation.official_prompts import OfficialPrompts

COMPAT_DIFFERENCES: tuple[tuple[str, str], ...] = (
    ("eos_strip", "strip only whole `</s>` tokens from the ends of an output, not any run of the "
     "characters `<`, `/`, `s`, `>` (which eats the first/last `s` of plain text)"),
    ("list_scalar_output", "bioasq/multicite: a bare JSON string is one answer and a JSON object is "
     "unparseable, instead of a set of characters / a set of keys"),
    ("string_as_one_item", "a string where a list is expected (NER mentions, SciFact and Qasper "
     "evidence) is one item, not its characters; an object or number there is no items"),
    ("ei_null_items", "evidence_inference fuzzy matching: an empty/null predicted item matches an "
     "empty/null gold item (e.g. no comparator), and a non-empty item no longer matches an empty one"),
    ("scifact_non_object", "scifact: an output that is not a JSON object counts as NEI with no "
     "evidence instead of vanishing from the corpus (which hid it from recall)"),
    ("mup_rating_1", "MUP judge ratings of 1 are kept (score 0); the official sync code drops them "
     "as falsy, averaging ratings 2-5 only"),
    ("judge_prompt_spaces", "judge prompts keep runs of spaces inside the inserted paper text and "
     "answers; the official prompts delete every run of 4 (Qasper) / 8 (MUP) spaces"),
)

NER_TYPES = {
    "biored_ner": ("CellLine", "Chemical", "Disease", "Gene", "Species", "Variant"),
    "scierc_ner": ("Task", "Method", "Metric", "Material", "OtherScientificTerm", "Generic"),
}


@dataclass
class TaskScore:
    """Scores of one task: flat metrics (official names, 0-1), summary keys, per-instance details."""

    flat: dict[str, float]
    summary: dict[str, float | None]
    details: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    judge: str | None = None


Scorer = Callable[[ScoringRun, list[Any], list[Any], list[str], SettingIndices], Result]


@dataclass(frozen=True)
class Evaluator:
    """One task: its JSON default (None = free text, not parsed), summary keys and scoring function."""

    task: str
    default: Any
    summary_keys: tuple[str, ...]
    score: Scorer


EVALUATORS: dict[str, Evaluator] = {
    e.task: e
    for e in (
        Evaluator("bioasq_list_qa", [], ("f1",), score_list),
        Evaluator("biored_ner", dict.fromkeys(NER_TYPES["biored_ner"], []), ("f1",), score_ner),
        Evaluator("discomat_te", None, ("bleu",), score_bleu_only),
        Evaluator("evidence_inference", [], ("f1_exact", "f1_substring", "f1_overlap"), score_ei),
        Evaluator("multicite_intent_classification", [], ("f1",), score_list),
        Evaluator("mup_single_document_summarization", None, ("lm_judge_reference", "rouge"), score_mup),
        Evaluator("qasper_abstractive_qa", {"answer": None, "evidence": None},
                  ("lm_judge_answer", "f1_answer", "f1_evidence"), score_qasper),
        Evaluator("scierc_ner", dict.fromkeys(NER_TYPES["scierc_ner"], []), ("f1",), score_ner),
        Evaluator("scifact_entailment", {"verdict": "NEI", "evidence": []},
                  ("f1_label", "f1_evidence_sent", "f1_evidence_token"), score_scifact),
    )
}


def score_task(
    task: str,
    predictions: list[str],
    references: list[str],
    prompts: list[str],
    *,
    compat: Compat = "official",
    judge: Judge | None = None,
    judge_prompts: OfficialPrompts | None = None,
) -> TaskScore:
    """Score one task's predictions against its gold outputs, as the official SciRIFF scorer does.

    `prompts` (the model inputs) are used only by the LM judges; pass [] when there are none.
    Predictions are raw model outputs; references are the gold output strings (bare JSON for the
    JSON tasks, else DataError). Without a judge, the judge summary values are None.
    `judge_prompts`: the official judge prompts (sciriff.evaluation.official_prompts); None: the project's.
    """
    if task not in EVALUATORS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(EVALUATORS)}")
    if compat not in ("official", "corrected"):
        raise ValueError(f"compat must be 'official' or 'corrected', not {compat!r}")
    n = len(predictions)
    prompts = list(prompts) if prompts else [""] * n
    if len(references) != n or len(prompts) != n:
        raise ValueError(f"{task}: {n} predictions, {len(references)} references, {len(prompts)} prompts")
    evaluator = EVALUATORS[task]
    run = ScoringRun(task=task, compat=compat, judge=judge, details=[{"index": i} for i in range(n)],
                     prompts=judge_prompts)
    cleaned = [clean_prediction(p, compat) for p in predictions]

    n_ok: int | None = None  # outputs that parsed as JSON (JSON tasks only)
    if evaluator.default is None:
        flat, summary = evaluator.score(run, cleaned, list(references), prompts, {})
    else:
        fix = task == "evidence_inference"
        gold = [parse_json(r, evaluator.default, fix_closing_brace=fix) for r in references]
        bad = [i for i, g in enumerate(gold) if g.status != VALID_JSON]
        if bad:
            raise DataError(f"{task}: references must be bare JSON; instance(s) {bad[:10]} are not")
        parsed = [parse_json(p, evaluator.default, fix_closing_brace=fix) for p in cleaned]
        for detail, p in zip(run.details, parsed, strict=True):
            detail["status"] = p.status
        setting_indices = {"valid_json": [i for i, p in enumerate(parsed) if p.status != EXTRACT_FAILURE],
                           "all": list(range(n))}
        values = [p.value for p in parsed]
        flat, summary = evaluator.score(run, values, [g.value for g in gold], prompts, setting_indices)
        n_ok = sum(p.status in (VALID_JSON, EXTRACT_SUCCESS) for p in parsed)

    bleu = corpus_bleu(cleaned, references)
    if bleu is None:
        run.official_error(None, "BLEU undefined: every prediction (or reference) is empty (reported as 0)")
        bleu = 0.0
    flat["bleu"] = bleu
    if n_ok is not None:
        flat["json_parsed"] = safe_div(n_ok, n)
    if task == "discomat_te":
        summary = {"bleu": bleu}

    if run.errors:
        flat["official_errors"] = sum(len(v) for v in run.errors.values())
        for reason, where in run.errors.items():
            indices = [i for i in where if i is not None]
            at = f" (instances {indices[:8]}{'...' if len(indices) > 8 else ''})" if indices else ""
            run.warnings.append(f"{task}: official scorer would abort: {reason}; {len(where)} case(s){at}")
    return TaskScore(flat=flat, summary=summary, details=run.details, warnings=run.warnings,
                     judge=run.judge_used)
