"""Stages `score` (one model) and `compare` (all models): SciRIFF-Eval metrics, tables and charts.

`score` runs the evaluators of sciriff.evaluation over a model's predictions and writes
metrics/<model>.json: the 11 headline columns and their mean on a 0-100 scale (as the paper's
table), every flat metric per task, parse rates and the judge used, plus per-instance details
under data/scores/<model>/. `compare` sets every model against `score.reference_model`, with the
absolute and relative change per column and for the mean (the paper's "+28.1%").
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from tqdm import tqdm

from sciriff.evaluation.report import HEADLINE_COLUMNS as HEADLINE_ORDER
from sciriff.io import atomic_path, read_json, read_jsonl, write_json, write_jsonl
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
    real_judge = make_judge(params.judge.model_dump())
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


def run_compare(models: dict[str, str], reference_model: str, details_dir: str | Path = "data/scores",
                metrics_dir: str | Path = "metrics",
                general_dir: str | Path | None = "data/general/scores") -> dict[str, Any]:
    """Every model against the reference: metrics/comparison.{json,md,csv,png}.

    comparison.json (a DVC metric) keeps, per other model, the change of the mean, how many of the
    judge-free columns it is ahead on and (from `general_dir`, unless None) its general win rate and
    retention; the markdown table has every column with its interval, then the general block and the
    science-reasoning accuracy (metrics/sciinstruct/<model>.json), where present.
    """
    from sciriff.evaluation.report import JUDGE_FREE
    from sciriff.general_report import general_summary, general_table, load_general
    from sciriff.sciinstruct.report import comparison_block

    metrics_dir = Path(metrics_dir)
    docs = {name: read_json(Path(details_dir, name, "metrics.json")) for name in sorted(models)}
    reference = docs[reference_model]
    columns = [*HEADLINE_ORDER, "mean"]
    comparison: dict[str, Any] = {"reference_model": reference_model, "models": {}}
    for name, doc in docs.items():
        rows = {}
        for column in columns:
            value, base = doc["headline"].get(column), reference["headline"].get(column)
            if value is None or base is None:
                continue
            rows[column] = {
                "value": round(value, 4),
                "ci95": doc["ci95"].get(column),
                "delta": round(value - base, 4),
                "relative_pct": round(100 * (value - base) / base, 2) if base else None,
            }
        comparison["models"][name] = {
            "columns": rows,
            "parse_rate": doc["json_parsed"],
            "judge_free_ahead": sum(rows[c]["delta"] > 0 for c in JUDGE_FREE if c in rows),
        }
    summary = {
        name: {"mean_delta": entry["columns"]["mean"]["delta"],
               "mean_relative_pct": entry["columns"]["mean"]["relative_pct"],
               "judge_free_ahead": entry["judge_free_ahead"]}
        for name, entry in comparison["models"].items() if name != reference_model and "mean" in entry["columns"]
    }
    general = load_general(list(models), general_dir) if general_dir is not None else None
    if general is not None:
        for name, values in general_summary(general).items():
            if name in summary:
                summary[name].update(values)
    science = comparison_block(list(models), reference_model, metrics_dir / "sciinstruct")
    for name, delta in (science[1] if science else {}).items():
        summary.setdefault(name, {})["sciinstruct_accuracy_delta"] = delta
    write_json(metrics_dir / "comparison.json", summary)
    with atomic_path(metrics_dir / "comparison.csv") as tmp, tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["column", *sorted(docs)])
        for column in columns:
            writer.writerow([column, *(comparison["models"][m]["columns"].get(column, {}).get("value", "")
                                       for m in sorted(docs))])
    comparison["general_table"] = general_table(general, reference_model) if general is not None else None
    with atomic_path(metrics_dir / "comparison.md") as tmp:
        tmp.write_text(comparison_table(comparison) + "\n" + (science[0] + "\n" if science else ""), encoding="utf-8")
    with atomic_path(metrics_dir / "comparison.png") as tmp:
        comparison_chart(comparison, tmp)
    with mlflow_run("compare", {"models": models, "reference_model": reference_model}) as mlflow:
        mlflow.log_metrics({f"{name}/{key}": value for name, values in summary.items()
                            for key, value in values.items() if isinstance(value, (int, float))})
        for name in ("comparison.json", "comparison.md", "comparison.png"):
            mlflow.log_artifact(str(metrics_dir / name))
    return comparison


def comparison_chart(comparison: dict[str, Any], path: Path) -> None:
    """Grouped horizontal bars with 95% intervals: one group per column, one bar per model (0-100)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = sorted(comparison["models"])
    columns = list(comparison["models"][comparison["reference_model"]]["columns"])
    height = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(columns) + 1.5))
    for offset, model in enumerate(models):
        cells = [comparison["models"][model]["columns"].get(c, {}) for c in columns]
        values = [cell.get("value", 0.0) for cell in cells]
        errors = [[max(v - (cell.get("ci95") or [v, v])[0], 0) for v, cell in zip(values, cells, strict=True)],
                  [max((cell.get("ci95") or [v, v])[1] - v, 0) for v, cell in zip(values, cells, strict=True)]]
        ax.barh([i + offset * height for i in range(len(columns))], values, height=height, label=model,
                xerr=errors, error_kw={"elinewidth": 0.8, "capsize": 2})
    ax.set_yticks([i + height * (len(models) - 1) / 2 for i in range(len(columns))], columns, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("score (0-100), bars: 95% bootstrap interval")
    ax.set_title("SciRIFF-Eval: every model against " + comparison["reference_model"])
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)


def comparison_table(comparison: dict[str, Any]) -> str:
    """Markdown: each column's value [95% interval] per model and each model's change vs the reference."""
    reference = comparison["reference_model"]
    models = sorted(comparison["models"])
    others = [m for m in models if m != reference]
    header = ["column", *models, *[f"{m} vs {reference}" for m in others]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for column in comparison["models"][reference]["columns"]:
        cells = [f"**{column}**" if column == "mean" else column]
        for m in models:
            cell = comparison["models"][m]["columns"].get(column)
            ci = cell.get("ci95") if cell else None
            interval = f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else ""
            cells.append("n/a" if cell is None else f"{cell['value']:.1f}{interval}")
        for m in others:
            row = comparison["models"][m]["columns"].get(column)
            rel = row["relative_pct"] if row else None
            cells.append(
                "n/a" if row is None else f"{row['delta']:+.1f}" + (f" ({rel:+.1f}%)" if rel is not None else "")
            )
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "JSON parse rate (share of outputs the official parser reads):", "",
              "| task | " + " | ".join(models) + " |", "|" + "---|" * (len(models) + 1)]
    for task in comparison["models"][reference]["parse_rate"]:
        rates = [comparison["models"][m]["parse_rate"].get(task) for m in models]
        lines.append(f"| {task} | " + " | ".join("n/a" if r is None else f"{r:.2f}" for r in rates) + " |")
    ahead = ", ".join(f"{m}: {comparison['models'][m]['judge_free_ahead']} of 9" for m in others)
    lines += ["", f"Judge-free columns ahead of {reference}: {ahead}. Intervals: seeded bootstrap over test "
              "instances (the same resamples for every model)."]
    if comparison.get("general_table"):
        lines += ["", comparison["general_table"]]
    return "\n".join(lines)
