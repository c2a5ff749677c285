"""Stage `ingest`: read each task's source dataset in its own shape and normalize it to data/raw.

Sources come from the bundled sample (default), local files of the same shape, or the Hugging Face
hub at a revision resolved to its commit sha. One adapter per source turns records into template
fields. Output: data/raw/<source>.jsonl with `{"id", "split", "fields"}` per instance, sorted by split
and id, data/raw/general.jsonl with the general-domain conversations, and data/raw/sources.json, the
manifest of what was read (hub id, requested revision and resolved sha; or local path and content hash).
It also writes data/raw/general_test.jsonl, the held-out general instructions of the general
evaluation: one user turn and a reference answer each, sharing no id and no user prompt with the
general data (the mix draws only from general.jsonl).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from sciriff.adapters import get_adapter
from sciriff.catalog import Task
from sciriff.io import DataError, atomic_path, dumps, read_jsonl_numbered
from sciriff.params import IngestParams
from sciriff.sources import Hub, SourceLedger

SPLITS = ("train", "validation", "test")
GENERAL_SAMPLE = "tulu_v2"


def _sample_records(directory: Path) -> Iterator[tuple[str, str, dict]]:
    """(split, 'file:line', record) from <dir>/<split>.jsonl files."""
    if not directory.is_dir():
        raise DataError(f"{directory}: source directory not found")
    for split in SPLITS:
        path = directory / f"{split}.jsonl"
        if path.exists():
            for lineno, record in read_jsonl_numbered(path):
                yield split, f"{path}:{lineno}", record


def _hub_records(hf: dict[str, Any], sha: str) -> Iterator[tuple[str, str, dict]]:
    """(split, where, record) from a Hugging Face dataset at a resolved commit."""
    import datasets

    loaded = datasets.load_dataset(hf["id"], hf.get("subset"), revision=sha)
    for split in SPLITS:
        hub_split = {"validation": "validation" if "validation" in loaded else "dev"}.get(split, split)
        if hub_split in loaded:
            for index, record in enumerate(loaded[hub_split]):
                yield split, f"{hf['id']}[{hub_split}][{index}]", record


def source_records(task: Task, params: IngestParams, ledger: SourceLedger,
                   users: dict[str, str]) -> Iterator[tuple[str, str, dict]]:
    """The raw records of a task's source, wherever params say they come from, recorded in `ledger`.

    `users` maps every task reading this source to its task file, for the manifest.
    """
    if params.source == "hf":
        if "hf" not in task.source:
            if "local" not in task.source:
                raise DataError(f"task {task.name}: its source has neither 'hf' nor 'local' ({task.path})")
            records = _sample_records(Path(task.source["local"]))
            ledger.local(task.source_name, "local", task.source["local"], users)
            return records
        hf = task.source["hf"]
        return _hub_records(hf, ledger.hub(task.source_name, hf, f"{task.path}: source.hf.revision", users))
    base = params.sample_dir if params.source == "sample" else params.local_dir
    records = _sample_records(Path(base) / task.source_name)
    ledger.local(task.source_name, params.source, Path(base) / task.source_name, users)
    return records


def _normalize(task: Task, records: Iterator[tuple[str, str, dict]]) -> list[dict]:
    adapt = get_adapter(task.source["adapter"])
    skip = set(task.source.get("skip_splits", []))
    rows: dict[tuple[str, str], dict] = {}
    seen_split: dict[str, str] = {}
    for split, where, record in records:
        if split in skip:
            continue
        try:
            produced = adapt(record)
        except (ValueError, KeyError, TypeError, IndexError) as err:
            raise DataError(f"{where}: malformed {task.source['adapter']} record: {err}") from None
        for fields in produced if isinstance(produced, list) else [produced]:
            instance_id = fields.get("id")
            if not isinstance(instance_id, str) or not instance_id:
                raise DataError(f"{where}: adapter {task.source['adapter']} returned no string 'id'")
            if seen_split.setdefault(instance_id, split) != split:
                raise DataError(f"{where}: id '{instance_id}' is in both {seen_split[instance_id]} and {split}")
            if (split, instance_id) in rows:
                raise DataError(f"{where}: duplicate id '{instance_id}' in split {split}")
            rows[(split, instance_id)] = {"id": instance_id, "split": split, "fields": fields}
    return [rows[key] for key in sorted(rows, key=lambda k: (SPLITS.index(k[0]), k[1]))]


def _general_test_records(params: IngestParams) -> Iterator[tuple[str, dict]]:
    """Held-out general instructions: <dir>/tulu_v2/test.jsonl of the sample (or, with `local`, the local) dir.

    The hub's Tulu V2 mix has no test split, so hub and released runs use the bundled held-out file.
    """
    base = Path(params.local_dir if params.source == "local" else params.sample_dir)
    path = base / GENERAL_SAMPLE / "test.jsonl"
    if not path.exists():
        raise DataError(f"{path}: held-out general instructions not found (the general evaluation needs them)")
    for lineno, record in read_jsonl_numbered(path):
        yield f"{path}:{lineno}", record


def check_general_test(records: Iterator[tuple[str, dict]], train: list[tuple[str, dict]]) -> list[dict]:
    """Held-out conversations: one user turn + reference answer, no id or user prompt shared with `train`."""
    train_ids = {}
    train_prompts = {}
    for where, row in train:
        train_ids.setdefault(row["id"], where)
        for message in row["messages"]:
            if message["role"] == "user":
                train_prompts.setdefault(message["content"].strip(), where)
    rows: dict[str, dict] = {}
    for where, record in records:
        row = check_conversation(record, where)
        if [m["role"] for m in row["messages"]] != ["user", "assistant"]:
            raise DataError(f"{where}: a held-out general conversation must be one user turn and its reference "
                            f"answer, got {[m['role'] for m in row['messages']]}")
        if row["id"] in train_ids:
            raise DataError(f"{where}: id '{row['id']}' is also in the general training data at {train_ids[row['id']]}")
        prompt = row["messages"][0]["content"].strip()
        if prompt in train_prompts:
            raise DataError(f"{where}: user prompt of '{row['id']}' is also in the general training data at "
                            f"{train_prompts[prompt]}")
        if row["id"] in rows:
            raise DataError(f"{where}: duplicate id '{row['id']}' in the held-out general instructions")
        rows[row["id"]] = row
    return [rows[key] for key in sorted(rows)]


def _general_records(params: IngestParams, ledger: SourceLedger) -> Iterator[tuple[str, dict]]:
    if params.source in ("hf", RELEASED) and not params.released.local:
        import datasets

        sha = ledger.hub("general", params.general.model_dump(), "params.yaml: ingest.general.revision")
        loaded = datasets.load_dataset(params.general.id, revision=sha, split="train")
        for index, record in enumerate(loaded):
            yield f"{params.general.id}[train][{index}]", record
        return
    base = Path({"sample": params.sample_dir}.get(params.source, params.local_dir))
    path = base / GENERAL_SAMPLE / "train.jsonl"
    ledger.local("general", "sample" if params.source == "sample" else "local", path)
    for lineno, record in read_jsonl_numbered(path):
        yield f"{path}:{lineno}", record


def check_conversation(record: dict, where: str) -> dict:
    """A general-domain record: {dataset, id, messages} with user/assistant turns ending in assistant."""
    for key in ("dataset", "id", "messages"):
        if key not in record:
            raise DataError(f"{where}: missing key '{key}'")
    messages = record["messages"]
    roles = [m.get("role") for m in messages] if isinstance(messages, list) else []
    body = roles[1:] if roles[:1] == ["system"] else roles
    if not body or body[-1] != "assistant" or any(r != ("user", "assistant")[i % 2] for i, r in enumerate(body)):
        raise DataError(f"{where}: messages must alternate user/assistant and end with assistant, got {roles}")
    if any(not isinstance(m.get("content"), str) or not m["content"].strip() for m in messages):
        raise DataError(f"{where}: a message has empty or non-string content")
    return {"dataset": record["dataset"], "id": record["id"], "messages": messages}


RELEASED = "released"


def _released_records(params: IngestParams, ledger: SourceLedger) -> Iterator[tuple[str, dict]]:
    """(where, record) of the released SciRIFF data: hub config at a pinned revision, or local files."""
    spec = params.released
    if spec.local:
        ledger.local(RELEASED, "local", spec.local)
        for split in SPLITS:
            path = Path(spec.local) / f"{split}.jsonl"
            if path.exists():
                for lineno, record in read_jsonl_numbered(path):
                    yield f"{path}:{lineno}", record
        return
    import datasets

    sha = ledger.hub(RELEASED, {"id": spec.id, "revision": spec.revision, "subset": spec.config},
                     "params.yaml: ingest.released.revision")
    loaded = datasets.load_dataset(spec.id, spec.config, revision=sha)
    for split in loaded:
        for index, record in enumerate(loaded[split]):
            yield f"{spec.id}[{spec.config}][{split}][{index}]", record


def check_released(record: dict, where: str) -> dict:
    """A released instance: `_instance_id` = task:split:index, non-empty input and output, metadata."""
    for key in ("_instance_id", "input", "output", "metadata"):
        if key not in record:
            raise DataError(f"{where}: missing key '{key}'")
    parts = str(record["_instance_id"]).split(":")
    if len(parts) != 3 or parts[1] not in SPLITS:
        raise DataError(f"{where}: _instance_id '{record['_instance_id']}' is not task:split:index")
    if not str(record["input"]).strip() or not str(record["output"]).strip():
        raise DataError(f"{where}: blank input or output in {record['_instance_id']}")
    return {"id": record["_instance_id"], "task": parts[0], "split": parts[1], "input": record["input"],
            "output": record["output"], "metadata": record["metadata"]}


def run_ingest(tasks: list[Task], params: IngestParams, out_dir: str | Path = "data/raw",
               hub: Hub | None = None) -> dict[str, int]:
    """Normalize every source used by `tasks` plus the general data; returns instance counts per source.

    With `source: released`, the released SciRIFF instances replace the task sources: one file,
    data/raw/released.jsonl, already rendered, that render routes by task. `hub` resolves hub
    revisions to commit shas (default: huggingface_hub.HfApi()).
    """
    by_source: dict[str, Task] = {}
    users: dict[str, dict[str, str]] = {}
    for task in tasks:
        first = by_source.setdefault(task.source_name, task)
        users.setdefault(task.source_name, {})[task.name] = Path(task.path).as_posix()
        for key, what in (("adapter", "read with adapter"), ("hf", "loaded from the hub as")):
            if first.source.get(key) != task.source.get(key):
                raise DataError(
                    f"source '{task.source_name}' is {what} {first.source.get(key)!r} by {first.name} "
                    f"({first.path}) but {task.source.get(key)!r} by {task.name} ({task.path}): one source, "
                    f"one {key}"
                )
    ledger = SourceLedger(hub)
    counts: dict[str, int] = {}
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        if params.source == RELEASED:
            wanted = {task.name for task in tasks}
            rows = sorted((r for r in (check_released(rec, where) for where, rec in _released_records(params, ledger))
                           if r["task"] in wanted), key=lambda r: (r["task"], SPLITS.index(r["split"]), r["id"]))
            with (tmp / f"{RELEASED}.jsonl").open("w", encoding="utf-8") as handle:
                handle.writelines(dumps(row) + "\n" for row in rows)
            counts[RELEASED] = len(rows)
            by_source = {}
        for name, task in tqdm(sorted(by_source.items()), desc="ingest", unit="source"):
            rows = _normalize(task, source_records(task, params, ledger, users[name]))
            with (tmp / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
                handle.writelines(dumps(row) + "\n" for row in rows)
            counts[name] = len(rows)
        checked = [(where, check_conversation(record, where)) for where, record in _general_records(params, ledger)]
        general = sorted((row for _, row in checked), key=lambda r: r["id"])
        with (tmp / "general.jsonl").open("w", encoding="utf-8") as handle:
            handle.writelines(dumps(row) + "\n" for row in general)
        counts["general"] = len(general)
        held_out = check_general_test(_general_test_records(params), checked)
        with (tmp / "general_test.jsonl").open("w", encoding="utf-8") as handle:
            handle.writelines(dumps(row) + "\n" for row in held_out)
        counts["general_test"] = len(held_out)
        ledger.write(tmp, params.source)
    return counts
