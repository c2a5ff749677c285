"""Tools to look inside: the catalog table, rendered examples as the model sees them, the loss mask."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sciriff.catalog import Task
from sciriff.io import DataError, read_jsonl
from sciriff.params import Params


def _sample_size(task: Task, sample_dir: str) -> dict[str, int]:
    directory = Path(sample_dir) / task.source_name
    return {p.stem: sum(1 for _ in p.open()) for p in sorted(directory.glob("*.jsonl"))} if directory.is_dir() else {}


def print_catalog(catalog: dict[str, Task], sample_dir: str, as_json: bool = False) -> None:
    """The catalog as a table (or JSON): family, domains, source, eval flag, sample size."""
    rows = [
        {"task": t.name, "family": t.family, "task_type": t.task_type, "domains": list(t.domains),
         "source": (t.source.get("hf") or {}).get("id") or t.source.get("local") or t.source_name,
         "eval": t.eval, "sample": _sample_size(t, sample_dir)}
        for t in catalog.values()
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"SciRIFF tasks ({len(rows)}; {sum(r['eval'] for r in rows)} held out for evaluation)")
    for column in ("task", "family", "domains", "source", "eval", "sample"):
        table.add_column(column)
    for row in rows:
        sample = ", ".join(f"{k}={v}" for k, v in row["sample"].items()) or "-"
        table.add_row(row["task"], row["family"], ",".join(row["domains"]), row["source"],
                      "EVAL" if row["eval"] else "", sample)
    Console(width=200).print(table)


def show_rendered(task: Task, params: Params, count: int, split: str) -> None:
    """Print rendered examples exactly as the model sees them: through the base model's chat template."""
    from transformers import AutoTokenizer

    path = Path("data/rendered") / task.name / f"{split}.jsonl"
    if not path.exists():
        raise DataError(f"{path}: not rendered yet (run `dvc repro render`)")
    tokenizer = AutoTokenizer.from_pretrained(params.models[params.score.reference_model])
    for row in list(read_jsonl(path))[:count]:
        messages = [{"role": "user", "content": row["input"]}, {"role": "assistant", "content": row["output"]}]
        print(f"===== {row['_instance_id']} (source id {row['id']}) =====")
        print(tokenizer.apply_chat_template(messages, tokenize=False))


def show_mask(params: Params, index: int, mix_file: str = "data/mix/train.jsonl") -> None:
    """Print mix example `index` with the tokens that carry loss highlighted (and listed)."""
    from transformers import AutoTokenizer

    rows = list(read_jsonl(mix_file))
    if not 0 <= index < len(rows):
        raise DataError(f"{mix_file}: example {index} out of range (0..{len(rows) - 1})")
    tokenizer = AutoTokenizer.from_pretrained("models/base")
    encoded = tokenizer.apply_chat_template(rows[index]["messages"], return_dict=True,
                                            return_assistant_tokens_mask=True)
    text = Text()
    for token_id, masked in zip(encoded["input_ids"], encoded["assistant_masks"], strict=True):
        text.append(tokenizer.decode([token_id]), style="bold green" if masked else "dim")
    console = Console()
    console.print(f"example {index} ({rows[index]['dataset']}): green = loss, dim = masked")
    console.print(text)
    trained = sum(encoded["assistant_masks"])
    console.print(f"{trained} of {len(encoded['input_ids'])} tokens carry loss")
