"""Stage `mix`: the finetuning mixture, as the paper's recipe (`--tulu match`) but seeded stably.

Science part: `per_task` training instances of every non-evaluation task (the first ones of a seeded
shuffle, so a larger `per_task` extends a smaller one; all of them when a task has fewer). General
part: as many general-domain conversations (`general: match`; all there are when the pool is
smaller, counted as the shortfall in the manifest), none, or all, after dropping the Tulu
`science.*` subsets (they overlap the evaluation sources). Evaluation tasks never enter the mix.
Output: data/mix/train.jsonl (`dataset`, `id`, `messages`) and data/mix/manifest.json (counts).
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from sciriff.io import DataError, atomic_path, dumps, read_json, read_jsonl, stable_seed, write_json
from sciriff.params import MixParams


def run_mix(
    params: MixParams,
    rendered_dir: str | Path = "data/rendered",
    raw_dir: str | Path = "data/raw",
    out_dir: str | Path = "data/mix",
    sciinstruct_path: str | Path = "data/sciinstruct/filtered.jsonl",
) -> dict:
    """Build the mixture; returns the manifest written next to it."""
    rendered_dir = Path(rendered_dir)
    manifest = read_json(rendered_dir / "manifest.json")
    science: list[dict] = []
    per_task: dict[str, int] = {}
    for task, stats in sorted(manifest.items()):
        if stats["eval"]:
            continue
        rows = sorted(read_jsonl(rendered_dir / task / "train.jsonl"), key=lambda r: r["_instance_id"])
        random.Random(stable_seed("mix", params.seed, task)).shuffle(rows)
        chosen = rows[: params.per_task]
        per_task[task] = len(chosen)
        science += [
            {
                "dataset": f"sciriff.{task}",
                "id": row["_instance_id"],
                "messages": [
                    {"role": "user", "content": row["input"]},
                    {"role": "assistant", "content": row["output"]},
                ],
            }
            for row in chosen
        ]
    general_pool = [r for r in read_jsonl(Path(raw_dir) / "general.jsonl") if not r["dataset"].startswith("science.")]
    random.Random(stable_seed("mix-general", params.seed)).shuffle(general_pool)
    wanted = {"match": len(science), "none": 0, "all": len(general_pool)}[params.general]
    general = general_pool[:wanted]  # fewer than wanted when the general pool is small: recorded below
    sciinstruct, sciinstruct_shortfall = _sciinstruct(params, Path(sciinstruct_path))
    mixture = science + general + sciinstruct
    random.Random(stable_seed("mix-order", params.seed)).shuffle(mixture)
    if not mixture:
        raise DataError("params.yaml: mix.per_task: the mixture is empty (per_task is 0 and general is 'none')")
    result = {
        "per_task": per_task,
        "science": len(science),
        "general": len(general),
        "general_by_dataset": {
            d: sum(r["dataset"] == d for r in general) for d in sorted({r["dataset"] for r in general})
        },
        "total": len(mixture),
        "general_shortfall": wanted - len(general),
    }
    if params.sciinstruct:  # absent at 0, so the default manifest is unchanged
        result["sciinstruct"] = len(sciinstruct)
        result["sciinstruct_shortfall"] = sciinstruct_shortfall
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        with (tmp / "train.jsonl").open("w", encoding="utf-8") as handle:
            handle.writelines(dumps(row) + "\n" for row in mixture)
        write_json(tmp / "manifest.json", result)
    return result


def _sciinstruct(params: MixParams, path: Path) -> tuple[list[dict], int]:
    """The SciInstruct rows asked for by `mix.sciinstruct`, and how many more were asked than exist."""
    if not params.sciinstruct:
        return [], 0
    if not path.exists():
        raise DataError(f"params.yaml: mix.sciinstruct is {params.sciinstruct} but {path} does not exist "
                        "(run the annotate and quality_classifier stages)")
    rows = sorted(read_jsonl(path), key=lambda r: r["id"])
    random.Random(stable_seed("mix-sciinstruct", params.seed)).shuffle(rows)
    wanted = math.ceil(params.sciinstruct * len(rows)) if isinstance(params.sciinstruct, float) else params.sciinstruct
    return rows[:wanted], max(wanted - len(rows), 0)
