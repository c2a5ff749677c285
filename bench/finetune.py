"""Finetuning throughput on this CPU with the embedded model: packed vs padded vs the bare-step bound.

For each max length (512, 1024) and the real mix (data/mix/train.jsonl):
- packed: the finetune stage's engine (trl's SFTTrainer with the stage's loss, best-fit packing, padding-free rows);
- padded: the same engine without packing (batches padded to their longest example);
- bound: a bare forward+backward+AdamW step of the same model, bf16 autocast, on one full row of
  max-length tokens, every position trained through the full LM head (the engine scores only the
  assistant positions, so it can exceed this).
Tokens/s counts real (non-pad) tokens over the timed steps (the first step, a warm-up, is excluded).
Each measurement runs in its own process and reports its peak RSS; the packed engine also runs over
the mix repeated four times (same steps), to show memory does not grow with the number of examples.
Writes bench/results/finetune.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import datasets  # noqa: E402
import torch  # noqa: E402
from child import in_child, peak_rss_mb  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback  # noqa: E402

from sciriff.finetune import sft_config, trainer_class  # noqa: E402
from sciriff.io import write_json  # noqa: E402
from sciriff.params import FinetuneParams  # noqa: E402


class StepTimer(TrainerCallback):
    """Wall time of each optimizer step (forward, backward and optimizer update)."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_step_begin(self, args, state, control, **kwargs):  # noqa: ANN001
        self.start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
        self.times.append(time.perf_counter() - self.start)


class CountingTrainer(trainer_class()):
    """The finetune stage's trainer, recording real (attended) and total token slots of every batch it trains on."""

    counts: list[tuple[int, int]]

    def training_step(self, model, inputs, num_items_in_batch=None):  # noqa: ANN001
        ids, mask = inputs["input_ids"], inputs.get("attention_mask")
        self.counts.append((int(mask.sum()) if mask is not None else ids.numel(), ids.numel()))
        return super().training_step(model, inputs, num_items_in_batch)


def engine(model_dir: Path, rows: list[dict], length: int, packing: bool, batch: int, steps: int) -> dict:
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    params = FinetuneParams(max_length=length, packing=packing, batch_size=batch, gradient_accumulation=1,
                            max_steps=steps, save_steps=10_000, learning_rate=1e-5)
    with tempfile.TemporaryDirectory() as out:
        trainer = CountingTrainer(model=AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32),
                                  args=sft_config(params, Path(out)), train_dataset=datasets.Dataset.from_list(rows),
                                  processing_class=tokenizer)
        trainer.counts = []
        timer = StepTimer()
        trainer.add_callback(timer)
        trainer.train()
    seconds = sum(timer.times[1:])  # the first step is a warm-up
    real = sum(r for r, _ in trainer.counts[1:])
    slots = sum(s for _, s in trainer.counts[1:])
    return {"tokens_per_s": round(real / seconds, 1), "real_token_fraction": round(real / slots, 4),
            "timed_steps": steps - 1, "seconds": round(seconds, 1), "peak_rss_mb": peak_rss_mb()}


def bound(model_dir: Path, length: int, steps: int) -> dict:
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    ids = torch.randint(0, model.config.vocab_size, (1, length))
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        times.append(time.perf_counter() - start)
    return {"tokens_per_s": round(length * (steps - 1) / sum(times[1:]), 1), "peak_rss_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "finetune.json")
    args = parser.parse_args()
    model_dir = REPO / "models" / "base"
    rows = [{"messages": json.loads(line)["messages"]} for line in (REPO / "data" / "mix" / "train.jsonl").open()]
    result: dict = {"model": "SmolLM2-135M-Instruct", "device": "cpu", "bf16_autocast": True}
    for length in (512, 1024):
        packed = in_child(engine, model_dir, rows, length, True, 1, args.steps)
        padded = in_child(engine, model_dir, rows, length, False, max(1, 2048 // length), args.steps)
        upper = in_child(bound, model_dir, length, args.steps)
        result[str(length)] = {
            "packed_tokens_per_s": packed["tokens_per_s"],
            "padded_tokens_per_s": padded["tokens_per_s"],
            "bound_tokens_per_s": upper["tokens_per_s"],
            "real_token_fraction": packed["real_token_fraction"],
            "padded_real_token_fraction": padded["real_token_fraction"],
            "packed_vs_bound": round(packed["tokens_per_s"] / upper["tokens_per_s"], 3),
            "peak_rss_mb": {"packed": packed["peak_rss_mb"], "padded": padded["peak_rss_mb"],
                            "bound": upper["peak_rss_mb"]},
        }
        print(length, result[str(length)], flush=True)
    four_times = in_child(engine, model_dir, rows * 4, 512, True, 1, args.steps)
    result["512"]["peak_rss_mb"][f"packed_{4 * len(rows)}_examples"] = four_times["peak_rss_mb"]
    write_json(args.out, result)


if __name__ == "__main__":
    main()
