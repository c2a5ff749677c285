"""Stage `score` (one model): SciRIFF-Eval metrics of a model's predictions.

It runs the evaluators of sciriff.evaluation over the predictions and writes metrics/<model>.json:
the 11 headline columns and their mean on a 0-100 scale (as the paper's table) and the mean parse
rate, plus the full document (every flat metric per task, intervals, the judge used) and
per-instance details under data/scores/<model>/. Stage `compare` (sciriff.compare) reads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tqdm import tqdm

from sciriff.io import read_jsonl, write_json, write_jsonl
from sciriff.params import ScoreParams
from sciriff.tracking import mlflow_run


def run_score(
    model_name: str,
    params: ScoreParams,
    predictions_dir: str | Path = "data/predictions",
    metrics_dir: str | Path = "metrics",
    details_dir: str | Path = "data/scores",
) -> dict[str, Any]:
    """Score one model's predictions; returns the full document (data/scores/<model>/metrics.json).

    metrics/<model>.json (what `dvc metrics show` prints) holds the short headline, the mean and the
    mean JSON parse rate; everything else (official column names, 95% intervals, every flat metric,
    parse rates per task) goes to the full document beside the per-instance details.
    """
    from sciriff.evaluation import headline, score_task
    from sciriff.evaluation.bootstrap import RecordingJudge, headline_intervals
    from sciriff.evaluation.judge import fail_on_judge_errors, make_judge
    from sciriff.evaluation.official_prompts import judge_prompts_label, load_judge_prompts

    files = sorted(Path(predictions_dir, model_name).glob("*.jsonl"))
    if not files:
        raise FileNotFoundError(f"{Path(predictions_dir, model_name)}: no predictions (run `sciriff predict`)")
    official = load_judge_prompts(params.judge.prompts, params.judge.official_checkout)
    real_judge = make_judge(params.judge)
    judge = RecordingJudge(real_judge) if real_judge is not None else None
    with mlflow_run(f"score@{model_name}", {"model": model_name, "score": params.model_dump()}) as mlflow:
        scores, tasks, inputs, details, decoding = {}, {}, {}, {}, None
        for path in tqdm(files, desc=f"score {model_name}", unit="task"):
            rows = list(read_jsonl(path))
            task = path.stem
            inputs[task] = ([r["prediction"] for r in rows], [r["reference"] for r in rows], [r["input"] for r in rows])
            result = score_task(task, *inputs[task], compat=params.compat, judge=judge, judge_prompts=official)
            scores[task] = result
            decoding = decoding or (rows[0]["decoding"] if rows else None)
            tasks[task] = {"instances": len(rows), "summary": result.summary, "flat": result.flat,
                           "warnings": result.warnings}
            details[task] = [{"id": r["id"], **d} for r, d in zip(rows, result.details, strict=True)]
        fail_on_judge_errors(real_judge)
        intervals = headline_intervals(inputs, compat=params.compat, judge=judge, judge_prompts=official,
                                       replicates=params.intervals.replicates, seed=params.intervals.seed)
        head = headline(scores)
        parsed = {t: v["flat"]["json_parsed"] for t, v in tasks.items() if "json_parsed" in v["flat"]}
        document = {
            "model": model_name,
            "headline": head,
            "ci95": intervals,
            "json_parsed": {**parsed, "mean": sum(parsed.values()) / len(parsed) if parsed else None},
            "tasks": tasks,
            "judge": judge.name if judge else None,
            "judge_prompts": judge_prompts_label(official) if judge else None,
            "compat": params.compat,
            "decoding": decoding,
        }
        for task, rows in details.items():
            write_jsonl(Path(details_dir, model_name, f"{task}.jsonl"), rows)
        write_json(Path(details_dir, model_name, "metrics.json"), document)
        write_json(Path(metrics_dir, f"{model_name}.json"), compact_metrics(document))
        mlflow.log_metrics({k.replace(".", "/"): v for k, v in head.items() if isinstance(v, (int, float))})
        mlflow.log_metrics({f"json_parsed/{k}": v for k, v in document["json_parsed"].items() if v is not None})
        mlflow.log_artifact(str(Path(details_dir, model_name, "metrics.json")))
    return document


def compact_metrics(document: dict[str, Any]) -> dict[str, Any]:
    """The terminal-sized metrics file: short column names, the mean and the mean JSON parse rate (0-100)."""
    from sciriff.evaluation.report import SHORT_NAMES

    head = document["headline"]
    parse = document["json_parsed"]["mean"]
    return {
        "mean": _round(head["mean"]),
        **{short: _round(head[column]) for column, short in SHORT_NAMES.items()},
        "parse_rate": _round(100 * parse) if parse is not None else None,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
