"""Stage `render`: apply each task's template to its normalized source, as the paper builds SciRIFF.

Deterministic where the original was not: split standardization and subsampling are seeded by a
SHA-256 of the task name (never `hash()`), so the same inputs give byte-identical files.
Streamed: a first pass reads only ids and splits, a second renders and writes instance by instance.

Output per task: data/rendered/<task>/{train,validation,test}.jsonl in the released SciRIFF shape
(`_instance_id`, `input`, `output`, `metadata`), and data/rendered/manifest.json with counts, drops
and token statistics per task (also metrics/render_counts.csv for `dvc plots`).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import multiprocessing
import os
import random
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from tqdm import tqdm

from sciriff.catalog import Task, keep_instance, render_instance
from sciriff.io import DataError, atomic_path, dumps, read_json, read_jsonl, stable_seed, write_json
from sciriff.params import RenderParams

SPLITS = ("train", "validation", "test")
TOKEN_BATCH = 256
POOL_MIN_BYTES = 64 * 2**20  # raw data above this renders in a process pool


def assign_splits(ids_by_split: dict[str, list[str]], task: str, validation_fraction: float) -> dict[str, str]:
    """Standardize to train/validation/test, as the paper does, deterministically.

    - all three present: kept as they are;
    - train plus one evaluation split: that split becomes test, and validation is carved from train
      (size: the smaller of the test size and `validation_fraction` of train);
    - a single split: divided 60/20/20.
    """
    present = {split: ids for split, ids in ids_by_split.items() if ids}
    rng = random.Random(stable_seed("splits", task))
    assignment: dict[str, str] = {}
    if set(present) == set(SPLITS):
        return {i: split for split, ids in present.items() for i in ids}
    if len(present) == 1:
        (ids,) = present.values()
        shuffled = sorted(ids)
        rng.shuffle(shuffled)
        n_train, n_val = int(0.6 * len(shuffled)), int(0.2 * len(shuffled))
        for position, instance_id in enumerate(shuffled):
            assignment[instance_id] = (
                "train" if position < n_train else "validation" if position < n_train + n_val else "test"
            )
        return assignment
    if "train" not in present:
        # validation + test without train: keep both as they are.
        return {i: split for split, ids in present.items() for i in ids}
    evaluation = present.get("test", present.get("validation", []))
    train = sorted(present["train"])
    rng.shuffle(train)
    n_val = min(len(evaluation), int(validation_fraction * len(train)))
    for position, instance_id in enumerate(train):
        assignment[instance_id] = "validation" if position < n_val else "train"
    assignment.update({i: "test" for i in evaluation})
    return assignment


def subsample(ids: list[str], task: str, split: str, limit: int) -> set[str]:
    """Keep at most `limit` ids, chosen by a seeded shuffle (stable across processes)."""
    if len(ids) <= limit:
        return set(ids)
    ordered = sorted(ids)
    random.Random(stable_seed("subsample", task, split)).shuffle(ordered)
    return set(ordered[:limit])


class TokenCounter:
    """Counts tokens with the configured tokenizer, in batches.

    A fast tokenizer's Rust backend counts through `encode_batch_fast` (the same ids, without the
    character offsets transformers asks for): 1.5x faster on the rendered texts of this machine.
    """

    def __init__(self, tokenizer_path: str | Path):
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_path))
        self.backend = getattr(self.tokenizer, "backend_tokenizer", None)

    def __call__(self, texts: list[str]) -> list[int]:
        if self.backend is not None:
            return [len(encoding) for encoding in self.backend.encode_batch_fast(texts, add_special_tokens=False)]
        return [len(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]


def _select(task: Task, raw_path: Path, params: RenderParams) -> tuple[dict[str, str], dict, dict[str, set[str]]]:
    """Which raw records render keeps: (id -> split, ids per split, subsampled ids per split)."""
    if not raw_path.exists():
        raise DataError(f"task {task.name}: {raw_path} not found (does `ingest` cover this task's source?)")
    ids_by_split: dict[str, list[str]] = defaultdict(list)
    for row in read_jsonl(raw_path):
        if keep_instance(task, row["fields"]):
            ids_by_split[row["split"]].append(row["id"])
    assignment = assign_splits(ids_by_split, task.name, params.validation_fraction)
    by_split: dict[str, list[str]] = defaultdict(list)
    for instance_id, split in assignment.items():
        by_split[split].append(instance_id)
    chosen = {split: subsample(ids, task.name, split, params.max_per_task) for split, ids in by_split.items()}
    return assignment, by_split, chosen


def render_now(task: Task, raw_path: Path, params: RenderParams, selection: tuple | None = None,
               ) -> Iterator[tuple[str, str, str, str]]:
    """(split, source id, input, output) of the instances render keeps, rendered with the task as given
    (before the token-budget drop); `selection`: `_select`'s answer, if already known."""
    assignment, _, chosen = selection or _select(task, raw_path, params)
    for row in read_jsonl(raw_path):
        split = assignment.get(row["id"])
        if split is not None and row["id"] in chosen[split]:
            yield split, row["id"], *render_instance(task, row["fields"], params.template)


def _render_task(task: Task, raw_path: Path, params: RenderParams, count_tokens: TokenCounter, out: Path) -> dict:
    selection = _select(task, raw_path, params)
    _, by_split, chosen = selection
    instances = ((*item, None) for item in render_now(task, raw_path, params, selection))
    stats = _write_instances(task, instances, params, count_tokens, out)
    stats["subsampled_out"] = {
        s: len(by_split[s]) - len(chosen[s]) for s in chosen if len(by_split[s]) > len(chosen[s])
    }
    return stats


def _released_task(task: Task, released: Path, params: RenderParams, count_tokens: TokenCounter, out: Path) -> dict:
    """A task from the released SciRIFF instances: already rendered, kept with their own ids and splits."""
    ids_by_split: dict[str, list[str]] = defaultdict(list)
    for row in read_jsonl(released):
        if row["task"] == task.name:
            ids_by_split[row["split"]].append(row["id"])
    chosen = {split: subsample(ids, task.name, split, params.max_per_task) for split, ids in ids_by_split.items()}

    def instances() -> Iterator[tuple[str, str, str, str, str | None]]:
        for row in read_jsonl(released):
            if row["task"] == task.name and row["id"] in chosen[row["split"]]:
                yield row["split"], row["id"], row["input"], row["output"], row["id"]

    stats = _write_instances(task, instances(), params, count_tokens, out)
    stats["subsampled_out"] = {
        s: len(ids_by_split[s]) - len(c) for s, c in chosen.items() if len(ids_by_split[s]) > len(c)
    }
    return stats


def _write_instances(
    task: Task,
    instances: Iterable[tuple[str, str, str, str, str | None]],
    params: RenderParams,
    count_tokens: TokenCounter,
    out: Path,
) -> dict[str, Any]:
    """Write (split, source id, input, output, instance id) items, dropping those over the token budget."""
    budget = params.context_window - params.reserved_tokens
    stats: dict[str, Any] = {"family": task.family, "eval": task.eval, "splits": {}, "dropped_too_long": {}}
    tokens: list[int] = []
    index = dict.fromkeys(SPLITS, 0)
    handles = {split: (out / f"{split}.jsonl").open("w", encoding="utf-8") for split in SPLITS}
    pending: list[tuple[str, str, str, str, str | None]] = []

    def flush() -> None:
        lengths_in = count_tokens([p[2] for p in pending])
        lengths_out = count_tokens([p[3] for p in pending])
        for (split, source_id, prompt, answer, instance_id), n_in, n_out in zip(
            pending, lengths_in, lengths_out, strict=True
        ):
            if n_in + n_out > budget:
                stats["dropped_too_long"][split] = stats["dropped_too_long"].get(split, 0) + 1
                continue
            record = {
                "_instance_id": instance_id or f"{task.name}:{split}:{index[split]}",
                "id": source_id,
                "input": prompt,
                "output": answer,
                "metadata": task.metadata(),
            }
            handles[split].write(dumps(record) + "\n")
            index[split] += 1
            tokens.append(n_in + n_out)
        pending.clear()

    try:
        for item in instances:
            pending.append(item)
            if len(pending) >= TOKEN_BATCH:
                flush()
        flush()
    finally:
        for handle in handles.values():
            handle.close()
    stats["splits"] = dict(index)
    if tokens:
        stats["tokens"] = {"mean": round(statistics.fmean(tokens), 1), "max": max(tokens), "total": sum(tokens)}
    return stats


@functools.cache
def _token_counter(tokenizer_path: str) -> TokenCounter:
    return TokenCounter(tokenizer_path)


def _render_job(job: tuple[Task, RenderParams, str, Path, Path, Path]) -> dict:
    """Render one task into its folder (in a worker process; the tokenizer is loaded once per process)."""
    task, params, tokenizer_path, raw_dir, released, out = job
    count_tokens = _token_counter(tokenizer_path)  # once per process
    out.mkdir(parents=True)
    if released.exists():
        return _released_task(task, released, params, count_tokens, out)
    return _render_task(task, raw_dir / f"{task.source_name}.jsonl", params, count_tokens, out)


def run_render(
    tasks: list[Task],
    params: RenderParams,
    tokenizer_path: str | Path,
    raw_dir: str | Path = "data/raw",
    out_dir: str | Path = "data/rendered",
    plot_path: str | Path = "metrics/render_counts.csv",
) -> dict[str, dict]:
    """Render every task; nothing is replaced unless all tasks render without error."""
    if params.template and any(params.template >= len(t.templates) for t in tasks):
        short = [t.name for t in tasks if params.template >= len(t.templates)]
        raise DataError(f"params.yaml: render.template: {params.template} is out of range for tasks {short}")
    released = Path(raw_dir) / "released.jsonl"  # written by ingest with `source: released`
    manifest: dict[str, dict] = {}
    with atomic_path(out_dir) as tmp:
        jobs = [(task, params, str(tokenizer_path), Path(raw_dir), released, tmp / task.name) for task in tasks]
        # Tasks render independently: on a big corpus one process per core, results kept in task order
        # (deterministic output); a small one renders in this process (a worker takes seconds to start).
        raw_bytes = sum(f.stat().st_size for f in Path(raw_dir).glob("*.jsonl"))
        workers = min(len(jobs), os.cpu_count() or 1) if raw_bytes > POOL_MIN_BYTES else 1
        with (ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) if workers > 1
              else contextlib.nullcontext()) as pool:
            results = pool.map(_render_job, jobs) if pool is not None else map(_render_job, jobs)
            for task, stats in tqdm(zip(tasks, results, strict=True), total=len(tasks), desc="render", unit="task"):
                manifest[task.name] = stats
        write_json(tmp / "manifest.json", manifest)
    with atomic_path(plot_path) as tmp, tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["task", "family", "eval", "train", "validation", "test", "dropped_too_long"])
        for name, stats in sorted(manifest.items()):
            splits = stats["splits"]
            row = [splits["train"], splits["validation"], splits["test"], sum(stats["dropped_too_long"].values())]
            writer.writerow([name, stats["family"], stats["eval"], *row])
    with atomic_path(Path(plot_path).with_suffix(".png")) as tmp:
        counts_chart(manifest, tmp)
    return manifest


def counts_chart(manifest: dict[str, dict], path: Path) -> None:
    """Instances per task (all splits), one color per capability family; held-out tasks marked '*'."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(manifest, key=lambda n: (manifest[n]["family"], n))
    families = sorted({manifest[n]["family"] for n in names})
    colors = dict(zip(families, plt.get_cmap("tab10").colors, strict=False))
    fig, ax = plt.subplots(figsize=(9, 0.22 * len(names) + 1.2))
    ax.barh(range(len(names)), [sum(manifest[n]["splits"].values()) for n in names],
            color=[colors[manifest[n]["family"]] for n in names])
    ax.set_yticks(range(len(names)), [n + (" *" if manifest[n]["eval"] else "") for n in names], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("rendered instances (train + validation + test)")
    ax.set_title("Instances per task by family (* = SciRIFF-Eval)")
    ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=colors[f]) for f in families], labels=families,
              loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)


def eval_tasks(rendered_dir: str | Path = "data/rendered") -> list[str]:
    """The evaluation tasks present in a rendered dataset (from its manifest: one source of truth)."""
    manifest = read_json(Path(rendered_dir) / "manifest.json")
    return sorted(name for name, stats in manifest.items() if stats["eval"])
