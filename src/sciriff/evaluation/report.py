"""The SciRIFF-Eval summary table (spec §0) and scoring a whole predictions file.

The headline is the official summary table's 11 columns and their mean. As in
`compute_science_metrics.py`, a column without a value (e.g. a judge column when no judge ran) is
left out and the mean is taken over the rest; `n_columns` says how many went in, because a mean
over fewer than 11 columns is not comparable with the paper's.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sciriff.evaluation.context import Judge
from sciriff.evaluation.official_prompts import OfficialPrompts, judge_prompts_label
from sciriff.evaluation.parsing import Compat
from sciriff.evaluation.tasks import EVALUATORS, TaskScore, score_task
from sciriff.io import DataError, read_jsonl_numbered, write_json

# 'task.metric' keys of paper_table.json, in the official summary table's order.
HEADLINE_COLUMNS: tuple[str, ...] = (
    "bioasq_list_qa.f1",
    "biored_ner.f1",
    "discomat_te.bleu",
    "evidence_inference.f1_overlap",
    "multicite_intent_classification.f1",
    "mup_single_document_summarization.lm_judge_reference",
    "qasper_abstractive_qa.lm_judge_answer",
    "qasper_abstractive_qa.f1_evidence",
    "scierc_ner.f1",
    "scifact_entailment.f1_label",
    "scifact_entailment.f1_evidence_token",
)

# Short names for the metrics file DVC shows (`dvc metrics show` prints one column per key).
SHORT_NAMES: dict[str, str] = dict(zip(HEADLINE_COLUMNS, (
    "bioasq_f1", "biored_f1", "discomat_bleu", "ei_f1", "multicite_f1", "mup_judge", "qasper_judge",
    "qasper_f1_ev", "scierc_f1", "scifact_f1_label", "scifact_f1_ev"), strict=True))
# The columns computed without an LM judge (the ones a local 135M judge cannot blur).
JUDGE_FREE: tuple[str, ...] = tuple(c for c in HEADLINE_COLUMNS if "lm_judge" not in c)


def _finite(value: object) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def headline(scores: dict[str, TaskScore]) -> dict[str, float | None]:
    """The 11 headline columns (0-100, None when missing), plus `mean`, `median` and `n_columns`.

    Mean and median are taken over the available 0-1 values and then scaled, as the official table does.
    """
    values: dict[str, float | None] = {}
    for column in HEADLINE_COLUMNS:
        task, metric = column.split(".", 1)
        score = scores.get(task)
        values[column] = _finite(score.summary.get(metric)) if score is not None else None
    present = [v for v in values.values() if v is not None]
    out: dict[str, float | None] = {k: (v * 100 if v is not None else None) for k, v in values.items()}
    out["mean"] = float(np.mean(present)) * 100 if present else None
    out["median"] = float(np.median(present)) * 100 if present else None
    out["n_columns"] = len(present)
    return out


def _read_predictions(path: Path) -> dict[str, dict[str, list[str]]]:
    """Group a predictions JSONL by task, in file order; errors name the line."""
    by_task: dict[str, dict[str, list[str]]] = {}
    seen: dict[tuple[str, str], int] = {}
    for lineno, record in read_jsonl_numbered(path):
        where = f"{path}:{lineno}"
        task = record.get("task")
        if task not in EVALUATORS:
            raise DataError(f"{where}: unknown task {task!r}; expected one of {', '.join(EVALUATORS)}")
        instance_id = record.get("id")
        if not isinstance(instance_id, str) or not instance_id:
            raise DataError(f"{where}: field 'id' must be a non-empty string, got {instance_id!r}")
        if (task, instance_id) in seen:
            first = seen[task, instance_id]
            raise DataError(f"{where}: duplicate id {instance_id!r} for {task} (first at line {first})")
        seen[task, instance_id] = lineno
        prediction = record.get("prediction")
        prediction = "" if prediction is None else prediction  # a model that produced nothing
        reference = record.get("reference")
        prompt = record.get("input")
        prompt = "" if prompt is None else prompt
        for name, value in (("prediction", prediction), ("reference", reference), ("input", prompt)):
            if not isinstance(value, str):
                raise DataError(f"{where}: field {name!r} must be a string, got {type(value).__name__}")
        group = by_task.setdefault(task, {"predictions": [], "references": [], "prompts": [], "ids": []})
        group["ids"].append(instance_id)
        group["predictions"].append(prediction)
        group["references"].append(reference)
        group["prompts"].append(prompt)
    if not by_task:
        raise DataError(f"{path}: no predictions (the file is empty)")
    return by_task


def _missing_ids(by_task: dict[str, dict[str, list[str]]], gold_dir: Path, split: str) -> dict[str, list[str]]:
    """Gold ids (gold_dir/<task>/<split>.jsonl, as render writes them) with no prediction, per task."""
    missing = {}
    for task, group in by_task.items():
        gold_file = gold_dir / task / f"{split}.jsonl"
        if not gold_file.exists():
            raise DataError(f"{gold_file}: gold file for {task} not found")
        gold = [record.get("_instance_id", record.get("id")) for _, record in read_jsonl_numbered(gold_file)]
        if absent := sorted(set(gold) - set(group["ids"])):
            missing[task] = absent
    return missing


def score_file(
    predictions_path: Path, out_dir: Path, *, compat: Compat = "official", judge: Judge | None = None,
    gold_dir: Path | None = None, split: str = "test", judge_prompts: OfficialPrompts | None = None,
) -> dict:
    """Score a predictions JSONL ({"task","id","prediction","reference","input"} per line).

    Writes out_dir/metrics.json ({task: flat metrics}, NaN written as null) and out_dir/summary.json
    (headline columns 0-100, mean, median, n_columns, judge, judge_prompts). Returns those plus each task's warnings.
    Ids must be unique per task; with `gold_dir` (a rendered data directory), gold instances that have
    no prediction are reported under `missing` and as warnings.
    """
    predictions_path, out_dir = Path(predictions_path), Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"--out {out_dir}: is a file; give a directory for metrics.json and summary.json")
    by_task = _read_predictions(predictions_path)
    missing = _missing_ids(by_task, Path(gold_dir), split) if gold_dir is not None else {}
    scores = {
        task: score_task(task, group["predictions"], group["references"], group["prompts"],
                         compat=compat, judge=judge, judge_prompts=judge_prompts)
        for task, group in sorted(by_task.items(), key=lambda item: list(EVALUATORS).index(item[0]))
    }
    metrics = {task: score.flat for task, score in scores.items()}  # write_json turns NaN into null
    judges = sorted({score.judge for score in scores.values() if score.judge})
    summary: dict[str, object] = dict(headline(scores))
    summary["judge"] = ", ".join(judges) or None
    summary["judge_prompts"] = judge_prompts_label(judge_prompts) if judges else None
    write_json(out_dir / "metrics.json", metrics)
    write_json(out_dir / "summary.json", summary)
    warnings = {task: list(score.warnings) for task, score in scores.items() if score.warnings}
    for task, ids in missing.items():
        warnings.setdefault(task, []).append(f"{len(ids)} gold instance(s) have no prediction: {ids[:5]}")
    return {"metrics": metrics, "summary": summary, "warnings": warnings, "missing": missing}
