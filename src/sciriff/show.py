"""Tools to look inside: the catalog table, rendered examples as the model sees them, the loss mask."""

from __future__ import annotations

import json
from itertools import islice
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
    Console().print(table)  # rich sizes it: COLUMNS, else the terminal's width, else 80; no padding


def show_rendered(task: Task, params: Params, count: int, split: str, from_rendered: bool = False,
                  raw_dir: str = "data/raw", rendered_dir: str = "data/rendered") -> None:
    """Print examples exactly as the model sees them: through the base model's chat template.

    By default the task file is rendered now on the ingested records, so a template edit shows at
    once; `from_rendered` prints what the last `render` stage wrote instead.
    """
    from transformers import AutoTokenizer

    if from_rendered:
        path = Path(rendered_dir) / task.name / f"{split}.jsonl"
        if not path.exists():
            raise DataError(f"{path}: not rendered yet (run `dvc repro render`)")
        rows = ((row["_instance_id"], row["id"], row["input"], row["output"]) for row in read_jsonl(path))
        origin = str(path)
    else:
        from sciriff.render import render_now

        if (Path(raw_dir) / "released.jsonl").exists():
            raise DataError(f"{raw_dir}/released.jsonl: ingest.source is released, whose instances come "
                            "rendered (no template is applied); see them with --rendered")
        raw = Path(raw_dir) / f"{task.source_name}.jsonl"
        rows = ((f"{task.name}:{split}", id_, prompt, answer)
                for row_split, id_, prompt, answer in render_now(task, raw, params.render) if row_split == split)
        origin = f"{task.path} rendered now on {raw}"
    tokenizer = AutoTokenizer.from_pretrained(params.models[params.score.reference_model])
    budget = params.render.context_window - params.render.reserved_tokens
    shown = 0
    for instance_id, source_id, prompt, answer in islice(rows, count):
        tokens = sum(len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in (prompt, answer))
        note = f"{tokens} tokens" + (f", over the budget of {budget}: render drops it" if tokens > budget else "")
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
        print(f"===== {instance_id} (source id {source_id}; {note}) =====")
        print(tokenizer.apply_chat_template(messages, tokenize=False))
        shown += 1
    print(f"{shown} {split} example(s) of {task.name} from {origin}")


def show_mask(params: Params, index: int, mix_file: str = "data/mix/train.jsonl", base_dir: str = "models/base",
              ) -> None:
    """Print mix example `index` with the tokens that carry loss between ⟦ ⟧ (and green, on a terminal)."""
    from transformers import AutoTokenizer

    rows = list(read_jsonl(mix_file))
    if not 0 <= index < len(rows):
        raise DataError(f"{mix_file}: example {index} out of range (0..{len(rows) - 1})")
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    encoded = tokenizer.apply_chat_template(rows[index]["messages"], return_dict=True,
                                            return_assistant_tokens_mask=True)
    text = Text()
    previous = 0
    for token_id, masked in zip(encoded["input_ids"], encoded["assistant_masks"], strict=True):
        if masked != previous:  # the markers survive a pipe, where the colours do not
            text.append("⟦" if masked else "⟧", style="bold")
            previous = masked
        text.append(tokenizer.decode([token_id]), style="bold green" if masked else "dim")
    if previous:
        text.append("⟧", style="bold")
    console = Console()
    console.print(f"example {index} ({rows[index]['dataset']}): ⟦green⟧ = loss, dim = masked", markup=False)
    console.print(text, soft_wrap=True)
    trained = sum(encoded["assistant_masks"])
    console.print(f"{trained} of {len(encoded['input_ids'])} tokens carry loss")
