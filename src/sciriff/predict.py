"""Stage `predict`: generate answers for the evaluation tasks with one model, greedily.

The generator (`sciriff.generation`: transformers, vLLM or an OpenAI-compatible endpoint) is chosen
by `predict.backend`; each applies the model's own chat template and explicit greedy decoding.
Finished predictions are appended to a partial file under .cache/predict/ as they come, so an
interrupted run continues with the ids not yet done; the final data/predictions/<model>/<task>.jsonl
is sorted and identical to an uninterrupted run. Each line is also a valid `sciriff score-file` record.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tqdm import tqdm

from sciriff.generation import Messages, make_generator
from sciriff.io import dumps, read_jsonl, sha256_file, write_jsonl
from sciriff.params import PredictParams
from sciriff.render import eval_tasks
from sciriff.tracking import mlflow_run, repo_root


def require_chat_template(model_name: str, model_dir: str | Path) -> None:
    """Every model is evaluated with its own chat template; a checkpoint without one fails, naming the model."""
    from transformers import AutoTokenizer

    if not Path(model_dir).is_dir():
        raise FileNotFoundError(f"model '{model_name}': checkpoint directory {model_dir} not found")
    if not AutoTokenizer.from_pretrained(str(model_dir)).chat_template:
        raise ValueError(
            f"model '{model_name}' ({model_dir}): the checkpoint has no chat template (chat_template.jinja or "
            "tokenizer_config.json); the evaluation prompts every model through its own chat template"
        )


def decoding(params: PredictParams) -> dict[str, Any]:
    """The decoding settings recorded with every prediction."""
    return {"do_sample": False, "num_beams": 1, "max_new_tokens": params.max_new_tokens, "dtype": params.dtype}


def _prompt_hash(messages: Messages) -> str:
    return hashlib.sha256(dumps(messages).encode()).hexdigest()[:16]


def _model_key(model_dir: Path, params: PredictParams) -> str:
    parts = [sha256_file(p) for p in sorted(model_dir.glob("*.safetensors"))]
    parts += [sha256_file(model_dir / "chat_template.jinja")] if (model_dir / "chat_template.jinja").exists() else []
    parts.append(json.dumps({"backend": params.backend, **decoding(params)}, sort_keys=True))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def run_predict(
    model_name: str,
    model_dir: str | Path,
    params: PredictParams,
    rendered_dir: str | Path = "data/rendered",
    out_dir: str | Path = "data/predictions",
) -> dict[str, int]:
    """Predict every eval task's `predict.split`; returns instance counts per task."""
    model_dir = Path(model_dir)
    partial_dir = repo_root() / ".cache" / "predict" / f"{model_name}-{_model_key(model_dir, params)}"
    partial_dir.mkdir(parents=True, exist_ok=True)
    settings = decoding(params)
    with mlflow_run(f"predict@{model_name}", {"model": model_name, "predict": params.model_dump()}) as mlflow:
        tasks = eval_tasks(rendered_dir)
        rows = {t: list(read_jsonl(Path(rendered_dir) / t / f"{params.split}.jsonl"))[: params.max_instances]
                for t in tasks}
        done = {t: _resumed(partial_dir / f"{t}.jsonl") for t in tasks}
        # One generate call over every task's missing instances: the generator batches prompts of similar
        # length together across tasks, which pads less and keeps the batches full.
        todo = [(t, r) for t in tasks for r in rows[t]
                if r["_instance_id"] not in done[t]
                or done[t][r["_instance_id"]]["prompt_sha256"] != _prompt_hash(_messages(r))]
        if todo:
            generator = make_generator(model_dir, params)
            handles = {t: (partial_dir / f"{t}.jsonl").open("a", encoding="utf-8") for t in {t for t, _ in todo}}
            try:
                with tqdm(total=len(todo), desc=f"predict {model_name}", unit="instance") as bar:
                    for index, text in generator.generate([_messages(r) for _, r in todo], params.max_new_tokens):
                        task, row = todo[index]
                        record = _record(row, text, model_name, generator.name, settings)
                        handles[task].write(dumps(record) + "\n")
                        handles[task].flush()
                        done[task][record["id"]] = record
                        bar.update()
            finally:
                for handle in handles.values():
                    handle.close()
        counts: dict[str, int] = {}
        for task in tasks:
            final = sorted((done[task][r["_instance_id"]] for r in rows[task]), key=lambda r: r["id"])
            counts[task] = write_jsonl(Path(out_dir) / model_name / f"{task}.jsonl", final)
        for task in tasks:
            (partial_dir / f"{task}.jsonl").unlink(missing_ok=True)  # only an interrupted run needs them
        mlflow.log_metrics({f"instances.{task}": n for task, n in counts.items()})
    return counts


def _resumed(partial: Path) -> dict[str, dict]:
    """Predictions an interrupted run already made (a torn last line, from a kill mid-write, is dropped)."""
    if not partial.exists():
        return {}
    lines = partial.read_text(encoding="utf-8").splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines = lines[:-1]
        partial.write_text("".join(lines), encoding="utf-8")
    return {r["id"]: r for r in map(json.loads, lines)}


def _messages(row: dict) -> Messages:
    return [{"role": "user", "content": row["input"]}]


def _record(row: dict, text: str, model: str, backend: str, settings: dict) -> dict:
    return {
        "id": row["_instance_id"],
        "task": row["metadata"]["task"],
        "input": row["input"],
        "reference": row["output"],
        "prediction": text,
        "model": model,
        "backend": backend,
        "decoding": settings,
        "prompt_sha256": _prompt_hash(_messages(row)),
    }
