"""Generation throughput on this CPU: the predict stage's batched greedy generation vs one prompt at a time.

The same prompts (test instances of the evaluation tasks in data/rendered, taken task by task in
turn) and the same model (models/base, bf16), greedy, `--new-tokens` new tokens each. Batched runs
`--prompts` prompts as one batch (default: params.yaml `predict.batch_size`, what the stage runs);
one at a time runs them with batch size 1. Output tokens/s counts generated tokens up to and
including each sequence's end-of-turn. Each measurement runs in its own process, which reports its
peak RSS; a second batched run over twice the prompts (two batches) shows memory does not grow with
the number of instances. Writes bench/results/predict.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from child import in_child, peak_rss_mb  # noqa: E402

from sciriff.io import read_jsonl, write_json  # noqa: E402
from sciriff.params import load_params  # noqa: E402
from sciriff.render import eval_tasks  # noqa: E402


def prompts(n: int) -> list[list[dict[str, str]]]:
    """The first `n` test prompts, one task at a time in turn (so lengths vary as in the stage)."""
    rendered = REPO / "data" / "rendered"
    per_task = [list(read_jsonl(rendered / task / "test.jsonl")) for task in eval_tasks(rendered)]
    rows = [row for row in itertools.chain.from_iterable(itertools.zip_longest(*per_task)) if row is not None]
    if len(rows) < n:
        raise SystemExit(f"data/rendered has {len(rows)} evaluation test instances; --prompts asks for {n}")
    return [[{"role": "user", "content": row["input"]}] for row in rows[:n]]


def measure(conversations: list, batch_size: int, new_tokens: int) -> dict:
    """Generate in this (fresh) process; seconds, tokens produced, texts and this process's peak RSS."""
    from sciriff.generation import TransformersGenerator

    backend = TransformersGenerator(REPO / "models" / "base", "bfloat16", batch_size=batch_size)
    dict(backend.generate(conversations[:1], 4))  # warm-up
    start = time.perf_counter()
    texts = dict(backend.generate(conversations, new_tokens))
    seconds = time.perf_counter() - start
    ordered = [texts[i] for i in range(len(conversations))]
    lengths = backend.tokenizer(ordered, add_special_tokens=False)["input_ids"]
    return {"seconds": seconds, "tokens": sum(min(new_tokens, len(ids) + 1) for ids in lengths),
            "texts": ordered, "peak_rss_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=int, default=load_params(REPO / "params.yaml").predict.batch_size)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "predict.json")
    args = parser.parse_args()
    conversations = prompts(2 * args.prompts)
    batched = in_child(measure, conversations[: args.prompts], args.prompts, args.new_tokens)
    print("batched", {k: v for k, v in batched.items() if k != "texts"}, flush=True)
    two_batches = in_child(measure, conversations, args.prompts, args.new_tokens)
    print("two batches", {k: v for k, v in two_batches.items() if k != "texts"}, flush=True)
    sequential = in_child(measure, conversations[: args.prompts], 1, args.new_tokens)
    b_rate, s_rate = batched["tokens"] / batched["seconds"], sequential["tokens"] / sequential["seconds"]
    result = {
        "prompts": args.prompts, "new_tokens": args.new_tokens, "dtype": "bfloat16",
        "batched_tokens_per_s": round(b_rate, 1),
        "sequential_tokens_per_s": round(s_rate, 1),
        "speedup": round(b_rate / s_rate, 2),
        "identical_outputs": sum(a == b for a, b in zip(batched["texts"], sequential["texts"], strict=True)),
        "peak_rss_mb": {"batched": batched["peak_rss_mb"], "sequential": sequential["peak_rss_mb"],
                        f"batched_{2 * args.prompts}_prompts": two_batches["peak_rss_mb"]},
    }
    write_json(args.out, result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
