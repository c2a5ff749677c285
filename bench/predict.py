"""Generation throughput on this CPU: the predict stage's batched greedy generation vs one prompt at a time.

The same prompts (the first evaluation-task test instances of data/rendered) and the same model
(models/base, bf16), greedy, `--new-tokens` new tokens each. Output tokens/s counts generated tokens
up to and including each sequence's end-of-turn. Writes bench/results/predict.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from sciriff.generation import TransformersGenerator  # noqa: E402
from sciriff.io import read_jsonl, write_json  # noqa: E402
from sciriff.render import eval_tasks  # noqa: E402


def timed(backend: TransformersGenerator, conversations: list, new_tokens: int) -> tuple[float, int, list[str]]:
    start = time.perf_counter()
    texts = dict(backend.generate(conversations, new_tokens))
    seconds = time.perf_counter() - start
    tokenizer = backend.tokenizer
    produced = sum(min(new_tokens, len(tokenizer(t, add_special_tokens=False)["input_ids"]) + 1)
                   for t in texts.values())
    return seconds, produced, [texts[i] for i in range(len(conversations))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "predict.json")
    args = parser.parse_args()
    rendered = REPO / "data" / "rendered"
    rows = [next(read_jsonl(rendered / task / "test.jsonl")) for task in eval_tasks(rendered)]
    conversations = [[{"role": "user", "content": r["input"]}] for r in rows][: args.prompts]
    model = REPO / "models" / "base"
    batched = TransformersGenerator(model, "bfloat16", batch_size=len(conversations))
    timed(batched, conversations[:1], 4)  # warm-up
    b_seconds, b_tokens, b_texts = timed(batched, conversations, args.new_tokens)
    sequential = TransformersGenerator(model, "bfloat16", batch_size=1)
    s_seconds, s_tokens, s_texts = timed(sequential, conversations, args.new_tokens)
    result = {
        "prompts": len(conversations), "new_tokens": args.new_tokens, "dtype": "bfloat16",
        "batched_tokens_per_s": round(b_tokens / b_seconds, 1),
        "sequential_tokens_per_s": round(s_tokens / s_seconds, 1),
        "speedup": round((b_tokens / b_seconds) / (s_tokens / s_seconds), 2),
        "identical_outputs": sum(a == b for a, b in zip(b_texts, s_texts, strict=True)),
    }
    write_json(args.out, result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
