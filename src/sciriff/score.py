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

from sciriff.io import atomic_path, read_json, read_jsonl, write_json, write_jsonl
from sciriff.params import Params
from sciriff.tracking import mlflow_run


def run_score(
    model_name: str,
    params: Params,
    predictions_dir: str | Path = "data/predictions",
    metrics_dir: str | Path = "metrics",
    details_dir: str | Path = "data/scores",
) -> dict[str, Any]:
    """Score one model's predictions; returns the metrics document written to metrics/<model>.json."""
    from sciriff.evaluation import headline, score_task
    from sciriff.evaluation.judge import make_judge

    judge = make_judge(params.score.judge.model_dump())
    files = sorted(Path(predictions_dir, model_name).glob("*.jsonl"))
    if not files:
        raise FileNotFoundError(f"{Path(predictions_dir, model_name)}: no predictions (run `sciriff predict`)")
    scores, tasks, decoding = {}, {}, None
    for path in files:
        rows = list(read_jsonl(path))
        task = path.stem
        result = score_task(
            task,
            [r["prediction"] for r in rows],
            [r["reference"] for r in rows],
            [r["input"] for r in rows],
            compat=params.score.compat,
            judge=judge,
        )
        scores[task] = result
        decoding = decoding or (rows[0]["decoding"] if rows else None)
        tasks[task] = {
            "instances": len(rows),
            "summary": result.summary,
            "flat": result.flat,
            "warnings": result.warnings,
        }
        write_jsonl(
            Path(details_dir, model_name, f"{task}.jsonl"),
            ({"id": r["id"], **d} for r, d in zip(rows, result.details, strict=True)),
        )
    document = {
        "model": model_name,
        "headline": headline(scores),
        "tasks": tasks,
        "judge": judge.name if judge else None,
        "compat": params.score.compat,
        "decoding": decoding,
    }
    write_json(Path(metrics_dir, f"{model_name}.json"), document)
    with mlflow_run(f"score@{model_name}", {"model": model_name, "score": params.score.model_dump()}) as mlflow:
        mlflow.log_metrics(
            {k.replace(".", "/"): v for k, v in document["headline"].items() if isinstance(v, (int, float))}
        )
    return document


def run_compare(params: Params, metrics_dir: str | Path = "metrics") -> dict[str, Any]:
    """Every model's headline against the reference model: metrics/comparison.{json,csv,md}."""
    metrics_dir = Path(metrics_dir)
    heads = {name: read_json(metrics_dir / f"{name}.json")["headline"] for name in sorted(params.models)}
    reference = heads[params.score.reference_model]
    columns = [k for k in reference if isinstance(reference[k], (int, float)) and k != "n_columns"]
    comparison: dict[str, Any] = {"reference_model": params.score.reference_model, "models": {}}
    for name, head in heads.items():
        rows = {}
        for column in columns:
            value, base = head.get(column), reference.get(column)
            if value is None or base is None:
                continue
            rows[column] = {
                "value": value,
                "delta": round(value - base, 4),
                "relative_pct": round(100 * (value - base) / base, 2) if base else None,
            }
        comparison["models"][name] = rows
    write_json(metrics_dir / "comparison.json", comparison)
    with atomic_path(metrics_dir / "comparison.csv") as tmp, tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["model", "column", "value"])
        for name, rows in comparison["models"].items():
            writer.writerows([name, column, row["value"]] for column, row in rows.items())
    with atomic_path(metrics_dir / "comparison.md") as tmp:
        tmp.write_text(comparison_table(comparison) + "\n", encoding="utf-8")
    with atomic_path(metrics_dir / "comparison.png") as tmp:
        comparison_chart(comparison, tmp)
    return comparison


def comparison_chart(comparison: dict[str, Any], path: Path) -> None:
    """Grouped horizontal bars: one group per SciRIFF-Eval column, one bar per model (0-100)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = sorted(comparison["models"])
    columns = list(comparison["models"][comparison["reference_model"]])
    height = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(columns) + 1.5))
    for offset, model in enumerate(models):
        values = [comparison["models"][model].get(c, {}).get("value", 0.0) for c in columns]
        ax.barh([i + offset * height for i in range(len(columns))], values, height=height, label=model)
    ax.set_yticks([i + height * (len(models) - 1) / 2 for i in range(len(columns))], columns, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("score (0-100)")
    ax.set_title("SciRIFF-Eval: every model against " + comparison["reference_model"])
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)


def comparison_table(comparison: dict[str, Any]) -> str:
    """Markdown: one row per column, one value column per model, and each model's change vs the reference."""
    reference = comparison["reference_model"]
    models = sorted(comparison["models"])
    others = [m for m in models if m != reference]
    header = ["column", *models, *[f"{m} vs {reference}" for m in others]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for column in comparison["models"][reference]:
        cells = [column] + [f"{comparison['models'][m].get(column, {}).get('value', float('nan')):.1f}" for m in models]
        for m in others:
            row = comparison["models"][m].get(column)
            rel = row["relative_pct"] if row else None
            cells.append(
                "n/a" if row is None else f"{row['delta']:+.1f}" + (f" ({rel:+.1f}%)" if rel is not None else "")
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
