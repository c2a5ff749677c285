"""`sciriff synth`: a SciRIFF-sized raw corpus for benchmarks, grown from the ingested sample.

Every source in data/raw is replicated (new ids, unchanged realistic fields) until the corpus holds
`instances` task instances, split between sources in proportion to how many tasks read them, as in
SciRIFF (~137K instances over 54 tasks, 4096-token contexts). The general-domain pool grows to match,
so the mix can draw its `general: match` share. Output has the shape of data/raw: render and mix
run over it unchanged. Deterministic: the same sample gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from sciriff.catalog import Task
from sciriff.io import DataError, atomic_path, dumps, read_jsonl

SCIRIFF_INSTANCES = 137_132  # train + validation + test of the released 4096 config


def _replicate(rows: list[dict], count: int, out: Path) -> None:
    """Write `count` rows cycling through `rows`, copy k of each id suffixed `~k`, sorted like ingest's output."""
    copies = [{**row, "id": f"{row['id']}~{k}"} for k in range(count // len(rows) + 1) for row in rows][:count]
    for row in copies:
        if "fields" in row:
            row["fields"] = {**row["fields"], "id": row["id"]}
    copies.sort(key=lambda r: (r.get("split", ""), r["id"]))
    with out.open("w", encoding="utf-8") as handle:
        handle.writelines(dumps(row) + "\n" for row in copies)


def run_synth(tasks: list[Task], raw_dir: str | Path, out_dir: str | Path, instances: int = SCIRIFF_INSTANCES) -> dict:
    """Grow every task source of `raw_dir` to a SciRIFF-sized corpus in `out_dir`; returns rows per file."""
    raw_dir = Path(raw_dir)
    tasks_per_source: dict[str, int] = {}
    for task in tasks:
        tasks_per_source[task.source_name] = tasks_per_source.get(task.source_name, 0) + 1
    per_task = instances // len(tasks)
    counts: dict[str, int] = {}
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        for source, n_tasks in tqdm(sorted(tasks_per_source.items()), desc="synth", unit="source"):
            path = raw_dir / f"{source}.jsonl"
            if not path.exists():
                raise DataError(f"{path}: not found (run `sciriff ingest` on the sample first)")
            rows = list(read_jsonl(path))
            counts[source] = per_task * n_tasks
            _replicate(rows, counts[source], tmp / f"{source}.jsonl")
        general = list(read_jsonl(raw_dir / "general.jsonl"))
        counts["general"] = instances // 2
        _replicate(general, counts["general"], tmp / "general.jsonl")
    return counts
