"""The general-capability block of `compare` and the retention check of `sciriff verify`.

compare: every model's win rate against the reference model (with its interval), each harness task's
score and the retention ratio (harness mean over the reference model's), read from
data/general/scores/<model>/metrics.json. verify: "general within 2% of baseline" on the harness
tasks a run used; it names them and says when they are the shipped offline stand-ins rather than the
paper's benchmarks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sciriff.io import read_json

SHIPPED = ("sciriff_science_mc", "sciriff_arithmetic")


def load_general(models: list[str], details_dir: str | Path = "data/general/scores") -> dict[str, dict[str, Any]]:
    """The full general documents of `models`; a missing one names the file and the stage that writes it."""
    docs = {}
    for name in sorted(models):
        path = Path(details_dir) / name / "metrics.json"
        if not path.exists():
            raise FileNotFoundError(f"{path}: no general scores for model '{name}' (run `sciriff general-score`)")
        docs[name] = read_json(path)
    return docs


def general_summary(docs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per model, for comparison.json: win rate vs the reference and the harness retention ratio."""
    return {name: {"general_win_rate": doc["pairwise"]["win_rate"], "general_retention": doc["retention"]}
            for name, doc in docs.items()}


def general_table(docs: dict[str, dict[str, Any]], reference: str) -> str:
    """Markdown: win rate [95% interval], each harness task, the harness mean and the retention ratio."""
    models = sorted(docs)
    lines = ["## General capability (held-out general instructions + lm-evaluation-harness)", "",
             "| | " + " | ".join(models) + " |", "|" + "---|" * (len(models) + 1)]

    def win(doc: dict[str, Any]) -> str:
        pair = doc["pairwise"]
        if pair["win_rate"] is None:
            return "n/a (no judge)"
        if doc["model"] == reference:
            return "50.0 (itself)"
        low, high = pair["ci95"]
        return f"{pair['win_rate']:.1f} [{low:.1f}, {high:.1f}]"

    lines.append(f"| win rate vs {reference} | " + " | ".join(win(docs[m]) for m in models) + " |")
    for task, entry in docs[reference]["harness"].items():
        cells = [f"{docs[m]['harness'][task]['score']:.1f}" if task in docs[m]["harness"] else "n/a" for m in models]
        lines.append(f"| {task} ({entry['metric']}) | " + " | ".join(cells) + " |")
    lines.append("| harness mean | " + " | ".join(f"{docs[m]['harness_mean']:.1f}" for m in models) + " |")

    def retention(doc: dict[str, Any]) -> str:
        ratio = doc["retention"]
        return "n/a" if ratio is None else f"{ratio:.3f} ({100 * (ratio - 1):+.1f}%)"

    lines.append(f"| retention (harness mean / {reference}'s) | " + " | ".join(retention(docs[m]) for m in models)
                 + " |")
    judge = next((doc["judge"] for doc in docs.values() if doc.get("judge")), None)
    lines += ["", f"Win rate: judge {judge or 'none'} compares each answer with {reference}'s, in both orders "
              "(ties count half; interval: seeded bootstrap over instructions). Harness scores are percentages "
              "(each task's first metric)."]
    return "\n".join(lines)


def check_general(document: dict[str, Any], tolerance_pct: float) -> dict[str, Any]:
    """The paper's second claim on one compact metrics/general/<model>.json: harness retention >= 1 - tol.

    A gain always passes; only a loss of more than `tolerance_pct` percent of the reference's mean fails.
    """
    tasks = sorted(document.get("harness", {}))
    retention = document.get("retention")
    offline = bool(tasks) and set(tasks) <= set(SHIPPED)
    ok = None if retention is None else retention >= 1 - tolerance_pct / 100
    return {"tasks": tasks, "retention": retention, "ok": ok, "offline_stand_ins": offline,
            "harness_mean": document.get("harness_mean"), "win_rate": document.get("win_rate")}
