"""Stage `sciinstruct_eval` (one per evaluated model): science-reasoning accuracy on held-out problems.

Each model answers the test problems greedily (the evaluation prompt is the `annotate` CoT prompt,
so a model finetuned on the SciInstruct mix is asked in the format it learned), through the same
backends as predict, with answers cached by (model weights, settings, prompt). The final answer is
rule-checked as in annotation; an answer the rules cannot decide counts as wrong (and is counted),
so the score needs no LM. Output: metrics/sciinstruct/<model>.json (accuracy 0-100 overall and per
subject, the answered rate) and data/sciinstruct/eval/<model>/answers.jsonl.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from sciriff.io import read_jsonl, write_json, write_jsonl
from sciriff.openai_client import ReplyCache
from sciriff.params import AnnotateParams, PredictParams
from sciriff.sciinstruct.checker import check_answer, extract_final_answer
from sciriff.sciinstruct.prompts import problem_prompt
from sciriff.sciinstruct.teacher import CachedGenerator, cache_path, fail_on_errors
from sciriff.tracking import mlflow_run, numeric_metrics


def run_science_eval(model_name: str, model_dir: str | Path, params: AnnotateParams, predict: PredictParams,
                     problems_dir: str | Path = "data/sciinstruct/problems",
                     out_dir: str | Path = "data/sciinstruct/eval",
                     metrics_dir: str | Path = "metrics/sciinstruct") -> dict[str, Any]:
    """Answer, check and score the held-out problems; returns the metrics written."""
    problems = sorted(read_jsonl(Path(problems_dir) / "test.jsonl"), key=lambda p: p["id"])[: params.eval.max_problems]
    settings = predict.model_copy(update={"max_new_tokens": params.eval.max_new_tokens})
    generator = CachedGenerator(model_dir, settings, ReplyCache(cache_path(params.eval.cache)))
    with mlflow_run(f"sciinstruct_eval@{model_name}", {"model": model_name, "eval": params.eval.model_dump(),
                                                       "rel_tol": params.rel_tol}) as mlflow:
        prompts = [problem_prompt(p) for p in problems]
        replies = generator.complete(prompts)
        fail_on_errors(f"sciinstruct_eval@{model_name}", generator, problems, prompts)
        rows = []
        for problem, reply in zip(problems, replies, strict=True):
            answer = extract_final_answer(reply or "")
            verdict = check_answer(answer, problem, params.rel_tol)
            rows.append({"id": problem["id"], "subject": problem["subject"], "answer_type": problem["answer_type"],
                         "gold": problem["answer"], "answer": answer, "correct": verdict.correct is True,
                         "undecided": verdict.correct is None, "reason": verdict.reason, "output": reply})
        metrics = science_metrics(rows)
        write_jsonl(Path(out_dir) / model_name / "answers.jsonl", rows)
        write_json(Path(out_dir) / model_name / "settings.json",
                   {"model": model_name, "generation": generator.settings, "problems": len(rows)})
        write_json(Path(metrics_dir) / f"{model_name}.json", metrics)
        mlflow.log_metrics(numeric_metrics(metrics, "sciinstruct/"))
    return metrics


def science_metrics(rows: list[dict]) -> dict[str, Any]:
    """Accuracy (0-100) overall and per subject, the share with a final answer, undecided count."""
    by_subject: dict[str, list[bool]] = defaultdict(list)
    for row in rows:
        by_subject[row["subject"]].append(row["correct"])

    def pct(values: list[bool]) -> float | None:
        return round(100 * sum(values) / len(values), 2) if values else None

    return {
        "accuracy": pct([r["correct"] for r in rows]),
        **{f"accuracy_{subject}": pct(values) for subject, values in sorted(by_subject.items())},
        "answered": pct([r["answer"] is not None for r in rows]),
        "undecided": sum(r["undecided"] for r in rows),
        "problems": len(rows),
    }
