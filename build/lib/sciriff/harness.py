"""Stage `general_harness` (one model): standard benchmarks through lm-evaluation-harness.

The harness runs on the model's checkpoint with the model's own chat template (`apply_chat_template`),
zero-shot unless a task's YAML says otherwise, greedy where it generates. `general.harness_tasks` names
the tasks: the default is the two small tasks shipped in src/sciriff/general_tasks/ (local JSONL
written for this project, so this path runs offline in the tests and the default pipeline); the paper
profile names the paper's benchmarks (mmlu, gsm8k, bbh, tydiqa, truthfulqa, toxigen), which the
harness loads from the hub. Each task's score is its first reported metric (for a group, the group's
aggregate; for a tag, the unweighted mean over its tasks), as a percentage. Output:
data/general/harness/<model>/scores.json and samples.jsonl (every scored example).
"""

from __future__ import annotations

import difflib
import logging
from importlib.metadata import version
from pathlib import Path
from typing import Any

from sciriff.io import atomic_path, dumps, write_json
from sciriff.params import GeneralParams, PredictParams
from sciriff.predict import require_chat_template

SHIPPED_TASKS = Path(__file__).resolve().parent / "general_tasks"
SEED = 1234  # lm-eval's own default seeds, fixed explicitly: sampled few-shot examples stay the same


def task_manager(names: list[str]) -> Any:
    """A TaskManager that knows `names`; the harness's own index (~15K tasks, seconds) only when needed.

    A name neither the shipped folder nor the harness knows fails here, before any model is loaded.
    """
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(SHIPPED_TASKS), include_defaults=False)
    if all(name in manager.all_tasks for name in names):
        return manager
    manager = TaskManager(include_path=str(SHIPPED_TASKS))
    for name in names:
        if name not in manager.all_tasks:
            close = difflib.get_close_matches(name, manager.all_tasks, n=5)
            raise ValueError(
                f"params.yaml: general.harness_tasks: '{name}' is not a task, group or tag that "
                f"lm-evaluation-harness knows (its own tasks and {SHIPPED_TASKS}); close names: {close or 'none'}"
            )
    return manager


def primary_metric(entry: dict[str, Any]) -> tuple[str, float] | None:
    """The first numeric 'metric,filter' of a results entry (stderr, alias and counts are skipped)."""
    for key, value in entry.items():
        if "," in key and "_stderr" not in key and isinstance(value, (int, float)) and not isinstance(value, bool):
            return key, float(value)
    return None


def _task_score(name: str, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A requested name's score (0-100): its own entry (task or group), else the mean of its tasks (a tag)."""
    own = primary_metric(results.get(name, {}))
    if own is not None:
        return {"score": round(100 * own[1], 4), "metric": own[0], "tasks": [name]}
    leaves = {task: primary_metric(entry) for task, entry in sorted(results.items())}
    leaves = {task: found for task, found in leaves.items() if found is not None}
    if not leaves:
        raise RuntimeError(f"lm-evaluation-harness returned no metric for task '{name}'")
    metrics = sorted({metric for metric, _ in leaves.values()})
    mean = sum(value for _, value in leaves.values()) / len(leaves)
    return {"score": round(100 * mean, 4), "metric": "/".join(metrics), "tasks": sorted(leaves)}


def _sample_rows(name: str, samples: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """What was asked and answered per example: enough to audit a score, no hashes or full docs."""
    rows = []
    for task, items in sorted(samples.items()):
        for item in items:
            metrics = {m: item[m] for m in item.get("metrics", []) if m in item}
            response = item.get("filtered_resps")
            rows.append({"requested": name, "task": task, "doc_id": item["doc_id"],
                         "id": item.get("doc", {}).get("id"), "target": str(item.get("target")),
                         "prompt": item["arguments"][0][0] if item.get("arguments") else None,
                         "raw": item.get("resps", [[None]])[0][0] if item.get("resps") else None,
                         "filtered": response, "metrics": metrics})
    return rows


def run_general_harness(model_name: str, model_dir: str | Path, params: GeneralParams, predict: PredictParams,
                        out_dir: str | Path = "data/general/harness") -> dict[str, Any]:
    """Run every `general.harness_tasks` entry on the checkpoint; returns the scores document."""
    import lm_eval
    import torch
    from lm_eval.models.huggingface import HFLM

    manager = task_manager(list(params.harness_tasks))
    require_chat_template(model_name, model_dir)
    logging.getLogger("lm_eval").setLevel(logging.WARNING)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    lm = HFLM(pretrained=str(model_dir), dtype=predict.dtype, device=device, batch_size=predict.batch_size)
    scores, rows = {}, []
    for name in params.harness_tasks:
        out = lm_eval.simple_evaluate(
            model=lm, tasks=[name], task_manager=manager, apply_chat_template=True, fewshot_as_multiturn=True,
            limit=params.harness_limit, log_samples=True, bootstrap_iters=0, random_seed=0,
            numpy_random_seed=SEED, torch_random_seed=SEED, fewshot_random_seed=SEED,
        )
        scores[name] = {**_task_score(name, out["results"]),
                        "n": sum(v.get("effective", v.get("original", 0)) for v in out["n-samples"].values()),
                        "n_shot": out.get("n-shot", {}), "all_metrics": {
                            task: {k: v for k, v in entry.items() if "," in k and "_stderr" not in k}
                            for task, entry in sorted(out["results"].items())}}
        rows += _sample_rows(name, out["samples"])
    document = {
        "model": model_name,
        "tasks": scores,
        "mean": round(sum(s["score"] for s in scores.values()) / len(scores), 4),
        "settings": {"chat_template": True, "limit": params.harness_limit, "dtype": predict.dtype,
                     "batch_size": predict.batch_size, "lm_eval": version("lm-eval")},
    }
    with atomic_path(Path(out_dir) / model_name) as tmp:
        tmp.mkdir()
        write_json(tmp / "scores.json", document)
        with (tmp / "samples.jsonl").open("w", encoding="utf-8") as handle:
            handle.writelines(dumps(row) + "\n" for row in rows)
    return document
