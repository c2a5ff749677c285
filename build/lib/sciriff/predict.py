"""Stage `predict`: generate answers for the evaluation tasks with one model, greedily.

Backends sit behind one small interface (chat messages in, text out), chosen by `predict.backend`.
Every backend applies the model's own chat template (the one it was trained with) and explicit
greedy decoding, never an engine's generation defaults. Finished predictions are appended to a
partial file under .cache/predict/ as they come, so an interrupted run continues with the ids not
yet done; the final data/predictions/<model>/<task>.jsonl is sorted and identical to an
uninterrupted run. Each line is also a valid `sciriff score-file` record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from tqdm import tqdm

from sciriff.io import dumps, read_jsonl, sha256_file, write_jsonl
from sciriff.params import PredictParams
from sciriff.render import eval_tasks
from sciriff.tracking import mlflow_run, repo_root

Messages = list[dict[str, str]]


class Backend(Protocol):
    """Turns chat conversations into completions; yields (index, text) as results finish."""

    name: str

    def generate(self, conversations: list[Messages], max_new_tokens: int) -> Iterator[tuple[int, str]]: ...


class TransformersBackend:
    """Batched greedy generation with left padding, prompts sorted by length (CPU or GPU)."""

    name = "transformers"

    def __init__(self, model_dir: str | Path, params: PredictParams):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir), padding_side="left")
        self.model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=getattr(torch, params.dtype))
        self.model.to(self.device).eval()
        self.batch_size = params.batch_size

    def generate(self, conversations: list[Messages], max_new_tokens: int) -> Iterator[tuple[int, str]]:
        texts = [
            self.tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in conversations
        ]
        lengths = [len(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]
        order = sorted(range(len(texts)), key=lambda i: (-lengths[i], i))
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            encoded = self.tokenizer(
                [texts[i] for i in batch], return_tensors="pt", padding=True, add_special_tokens=False
            ).to(self.device)
            with self.torch.inference_mode():
                output = self.model.generate(
                    **encoded,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    num_beams=1,
                    temperature=None,
                    top_p=None,
                    top_k=None,
                    repetition_penalty=None,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            new_tokens = output[:, encoded["input_ids"].shape[1] :]
            for index, ids in zip(batch, new_tokens, strict=True):
                yield index, self.tokenizer.decode(ids, skip_special_tokens=True)


class VllmBackend:
    """vLLM offline generation (GPU): the model's chat template, explicit greedy sampling settings.

    `generation_config="vllm"` keeps vLLM from adopting the checkpoint's generation_config.json
    (which may ask for sampling); tensor parallelism from `predict.tensor_parallel_size`.
    """

    name = "vllm"

    def __init__(self, model_dir: str | Path, params: PredictParams):
        import vllm

        self.vllm = vllm
        self.llm = vllm.LLM(model=str(model_dir), dtype=params.dtype, tensor_parallel_size=params.tensor_parallel_size,
                            generation_config="vllm", seed=0)

    def generate(self, conversations: list[Messages], max_new_tokens: int) -> Iterator[tuple[int, str]]:
        sampling = self.vllm.SamplingParams(temperature=0.0, top_p=1.0, top_k=-1, repetition_penalty=1.0,
                                            max_tokens=max_new_tokens, seed=0)
        outputs = self.llm.chat(conversations, sampling, use_tqdm=True)
        for index, output in enumerate(outputs):
            yield index, output.outputs[0].text


class OpenAIBackend:
    """Any OpenAI-compatible endpoint (the server applies the model's chat template), temperature 0.

    Reuses the judge's client: bounded concurrency, retries with backoff on 429/5xx/timeouts, and the
    key read from the environment variable named in params, never logged.
    """

    name = "openai"

    def __init__(self, model_dir: str | Path, params: PredictParams):
        import os

        from sciriff.evaluation.judge import OpenAIJudge

        self.client_args = {"model": params.api.model or str(model_dir), "base_url": params.api.base_url,
                            "api_key": os.environ.get(params.api.api_key_env), "concurrency": params.api.concurrency,
                            "role": "predict"}
        self.make_client = OpenAIJudge
        self.chunk = 4 * params.api.concurrency

    def generate(self, conversations: list[Messages], max_new_tokens: int) -> Iterator[tuple[int, str]]:
        if any(len(c) != 1 or c[0]["role"] != "user" for c in conversations):
            raise ValueError("the openai backend sends single user turns only")
        client = self.make_client(**self.client_args, max_tokens=max_new_tokens)
        failed = 0
        for start in range(0, len(conversations), self.chunk):  # chunks, so finished answers are saved early
            replies = client.complete([c[0]["content"] for c in conversations[start : start + self.chunk]])
            for offset, reply in enumerate(replies):
                if reply is None:
                    failed += 1
                else:
                    yield start + offset, reply
        if failed:
            raise RuntimeError(f"{failed} requests failed after retries (rerun to retry them): {client.errors[:3]}")


BACKENDS: dict[str, Callable[[str | Path, PredictParams], Backend]] = {
    "transformers": TransformersBackend,
    "vllm": VllmBackend,
    "openai": OpenAIBackend,
}


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


def make_backend(model_dir: str | Path, params: PredictParams) -> Backend:
    if params.backend not in BACKENDS:
        raise ValueError(
            f"params.yaml: predict.backend: '{params.backend}' is not available; available: {sorted(BACKENDS)}"
        )
    return BACKENDS[params.backend](model_dir, params)


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
        # One generate call over every task's missing instances: the backend batches prompts of similar
        # length together across tasks, which pads less and keeps the batches full.
        todo = [(t, r) for t in tasks for r in rows[t]
                if r["_instance_id"] not in done[t]
                or done[t][r["_instance_id"]]["prompt_sha256"] != _prompt_hash(_messages(r))]
        if todo:
            backend = make_backend(model_dir, params)
            handles = {t: (partial_dir / f"{t}.jsonl").open("a", encoding="utf-8") for t in {t for t, _ in todo}}
            try:
                with tqdm(total=len(todo), desc=f"predict {model_name}", unit="instance") as bar:
                    for index, text in backend.generate([_messages(r) for _, r in todo], params.max_new_tokens):
                        task, row = todo[index]
                        record = _record(row, text, model_name, backend.name, settings)
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
