"""Stage `compare` (all models): every model against `score.reference_model`, tables and a chart.

It reads each model's data/scores/<model>/metrics.json (stage `score`), general scores and
SciInstruct accuracy, and writes metrics/comparison.{json,md,csv,png}: the absolute and relative
change per column and for the mean (the paper's "+28.1%"), with 95% intervals.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sciriff.evaluation.report import HEADLINE_COLUMNS as HEADLINE_ORDER
from sciriff.evaluation.report import JUDGE_FREE
from sciriff.io import atomic_path, read_json, write_json
from sciriff.tracking import mlflow_run


def run_compare(models: dict[str, str], reference_model: str, details_dir: str | Path = "data/scores",
                metrics_dir: str | Path = "metrics",
                general_dir: str | Path | None = "data/general/scores") -> dict[str, Any]:
    """Every model against the reference: metrics/comparison.{json,md,csv,png}.

    comparison.json (a DVC metric) keeps, per other model, the change of the mean, how many of the
    judge-free columns it is ahead on and (from `general_dir`, unless None) its general win rate and
    retention; the markdown table has every column with its interval, then the general block and the
    science-reasoning accuracy (metrics/sciinstruct/<model>.json), where present.
    """
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
    tasks = sorted(comparison["models"][reference]["parse_rate"], key=lambda task: (task == "mean", task))
    for task in tasks:  # the tasks, then their mean
        rates = [comparison["models"][m]["parse_rate"].get(task) for m in models]
        label = "**mean**" if task == "mean" else task
        lines.append(f"| {label} | " + " | ".join("n/a" if r is None else f"{r:.2f}" for r in rates) + " |")
    ahead = ", ".join(f"{m}: {comparison['models'][m]['judge_free_ahead']} of {len(JUDGE_FREE)}" for m in others)
    lines += ["", f"Judge-free columns ahead of {reference}: {ahead}. Intervals: seeded bootstrap over test "
              "instances (the same resamples for every model)."]
    if comparison.get("general_table"):
        lines += ["", comparison["general_table"]]
    return "\n".join(lines)
