"""Collect the CPU-default budget sweep from MLflow: training budget against parse rate and mean.

Each sweep point is a DVC experiment (`dvc exp run --queue -S ...` or a workspace `dvc repro`); its
finetune, predict and score runs are in the MLflow store with their lineage tags. This groups them by
finetune fingerprint, and writes bench/results/default_sweep.json (one row per point: the changed
params, training tokens and seconds, stage seconds, SciTulu's mean and JSON parse rate) and
bench/results/default_sweep.png (budget against both). Usage: `python bench/sweep.py [--db mlflow.db]`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from sciriff.io import write_json  # noqa: E402


def _seconds(run) -> float:  # noqa: ANN001
    return round((run.info.end_time - run.info.start_time) / 1000, 1)


def collect(db: Path) -> list[dict]:
    """One row per finished finetune run, joined with the predict and score runs that used its model."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{db.resolve()}")
    experiment = client.get_experiment_by_name("sciriff")
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"], max_results=5000)
    finished = [r for r in runs if r.info.status == "FINISHED"]
    rows = []
    for run in finished:
        if run.data.tags.get("dvc_stage") != "finetune" or "tokens_per_epoch" not in run.data.metrics:
            continue
        later = [r for r in finished if r.info.start_time > run.info.end_time]
        predict = next((r for r in later if r.data.tags.get("dvc_stage") == "predict@scitulu"), None)
        score = next((r for r in later if r.data.tags.get("dvc_stage") == "score@scitulu"), None)
        if predict is None or score is None:
            continue
        params = run.data.params
        metrics = run.data.metrics
        rows.append({
            "experiment": run.data.tags.get("dvc_exp_name", "workspace"),
            "fingerprint": params.get("fingerprint"),
            "finetune": {k.removeprefix("finetune."): params[k] for k in params if k.startswith("finetune.")
                         and k.split(".")[1] in ("epochs", "learning_rate", "gradient_accumulation", "batch_size")},
            "examples": int(metrics.get("examples", 0)),
            "steps": int(metrics.get("steps", 0)),
            "training_tokens": int(metrics["tokens_per_epoch"] * float(params.get("finetune.epochs", 1))),
            "finetune_seconds": round(metrics["seconds"], 1),
            "predict_seconds": _seconds(predict),
            "score_seconds": _seconds(score),
            "mean": round(score.data.metrics["mean"], 2),
            "parse_rate": round(score.data.metrics.get("json_parsed/mean", float("nan")), 3),
        })
    return rows


def plot(rows: list[dict], path: Path, ablations: set[str]) -> None:
    """Budget against mean and parse rate; ablation points (a different mix, not a budget) stand apart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, left = plt.subplots(figsize=(7, 4))
    for r in rows:
        if r["experiment"] in ablations:
            x = r["training_tokens"] / 1000
            left.plot([x], [r["mean"]], "x", color="tab:red", label="ablation: SciTulu mean")
            left.annotate(f"{r['experiment']} (parse {r['parse_rate']:.2f})", (x, r["mean"]), fontsize=7,
                          textcoords="offset points", xytext=(3, -10))
    rows = sorted((r for r in rows if r["experiment"] not in ablations), key=lambda r: r["training_tokens"])
    tokens = [r["training_tokens"] / 1000 for r in rows]
    left.plot(tokens, [r["mean"] for r in rows], "o-", color="tab:blue", label="SciTulu mean (0-100)")
    left.set_xlabel("training tokens (thousands)")
    left.set_ylabel("SciRIFF-Eval mean", color="tab:blue")
    right = left.twinx()
    right.plot(tokens, [r["parse_rate"] for r in rows], "s--", color="tab:orange", label="JSON parse rate")
    right.axhline(0.6, color="tab:orange", linewidth=0.6, linestyle=":")
    right.set_ylim(0, 1)
    right.set_ylabel("mean JSON parse rate (target 0.6)", color="tab:orange")
    for r, x in zip(rows, tokens, strict=True):
        label = "default" if r["experiment"] == "workspace" else r["experiment"]
        left.annotate(label, (x, r["mean"]), fontsize=7, textcoords="offset points", xytext=(3, 3))
    handles, labels = left.get_legend_handles_labels()
    more, more_labels = right.get_legend_handles_labels()
    left.legend(handles + more, labels + more_labels, fontsize=7, loc="upper left")
    left.set_title("CPU default: training budget against SciRIFF-Eval (SmolLM2-135M)")
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, default=REPO / "mlflow.db")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "default_sweep.json")
    parser.add_argument("--ablation", action="append", default=["general-only"],
                        help="experiment names that change the mix rather than the budget (plotted apart)")
    args = parser.parse_args()
    rows = collect(args.db)
    if not rows:
        sys.exit(f"{args.db}: no finished finetune + predict + score runs to collect")
    write_json(args.out, {"points": rows})
    plot(rows, args.out.with_suffix(".png"), set(args.ablation))
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
