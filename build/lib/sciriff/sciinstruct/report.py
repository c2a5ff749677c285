"""The science-reasoning block of `compare`: metrics/sciinstruct/<model>.json side by side.

Kept apart from the evaluation code so that `compare` depends on nothing but these files.
"""

from __future__ import annotations

from pathlib import Path

from sciriff.io import read_json


def comparison_block(models: list[str], reference: str,
                     metrics_dir: str | Path = "metrics/sciinstruct") -> tuple[str, dict[str, float]] | None:
    """Markdown: each model's science-reasoning accuracy and its change vs the reference, and those changes.

    None when no model has science-reasoning metrics (a pipeline without the SciInstruct stages).
    """
    paths = {m: Path(metrics_dir) / f"{m}.json" for m in sorted(models)}
    present = {m for m, p in paths.items() if p.exists()}
    if not present:
        return None
    if present != set(paths):
        raise FileNotFoundError(f"{metrics_dir}: science-reasoning metrics missing for {sorted(set(paths) - present)}"
                                " (run `sciriff sciinstruct-eval --model M`)")
    docs = {m: read_json(p) for m, p in paths.items()}
    columns = [k for k in docs[reference] if k.startswith("accuracy")] + ["answered"]
    lines = ["", f"Science reasoning (SciInstruct held-out problems, {docs[reference]['problems']} problems, "
             "rule-checked accuracy %):", "", "| column | " + " | ".join(docs) + " |", "|" + "---|" * (len(docs) + 1)]
    for column in columns:
        cells = []
        for model, doc in docs.items():
            value, base = doc.get(column), docs[reference].get(column)
            delta = f" ({value - base:+.1f})" if model != reference and value is not None and base is not None else ""
            cells.append("n/a" if value is None else f"{value:.1f}{delta}")
        lines.append(f"| {column} | " + " | ".join(cells) + " |")
    deltas = {m: round(doc["accuracy"] - docs[reference]["accuracy"], 2) for m, doc in docs.items()
              if m != reference and doc["accuracy"] is not None and docs[reference]["accuracy"] is not None}
    return "\n".join(lines), deltas
