import csv
import json
from pathlib import Path

import pytest

from sciriff.finetune import run_finetune, sft_config
from sciriff.io import write_jsonl
from sciriff.params import FinetuneParams

CONVERSATION = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path


def test_loss_is_on_assistant_tokens_only(tiny_model_dir: Path, tmp_path: Path) -> None:
    import datasets
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    trainer = SFTTrainer(model=AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                         args=sft_config(FinetuneParams(packing=False, bf16=False), tmp_path / "ckpt"),
                         train_dataset=datasets.Dataset.from_list([{"messages": CONVERSATION}]),
                         processing_class=tokenizer)
    example = trainer.train_dataset[0]
    trained = [t for t, label in zip(example["input_ids"], example["labels"], strict=True) if label != -100]
    assert tokenizer.decode(trained) == "Hello!<|im_end|>4<|im_end|>"
    assert "<|im_start|>assistant" not in tokenizer.decode(trained), "the assistant header is masked"


def test_finetune_writes_a_self_describing_model_and_loss_curve(tiny_model_dir: Path, workdir: Path) -> None:
    import mlflow

    rows = [{"dataset": "d", "id": str(i), "messages": CONVERSATION} for i in range(8)]
    write_jsonl(workdir / "mix.jsonl", rows)
    params = FinetuneParams(max_steps=2, batch_size=2, gradient_accumulation=1, max_length=128, save_steps=1,
                            learning_rate=1e-3)
    summary = run_finetune(params, workdir / "mix.jsonl", tiny_model_dir, workdir / "out", workdir / "loss.csv")
    assert summary["steps"] == 2 and not summary["resumed"]
    meta = json.loads((workdir / "out" / "sciriff_model.json").read_text())
    assert meta["finetune"]["max_steps"] == 2 and "{% generation %}" in meta["chat_template"]
    assert set(meta["versions"]) >= {"torch", "transformers", "trl"} and len(meta["data"]["mix_sha256"]) == 64
    assert (workdir / "out" / "model.safetensors").exists()
    curve = list(csv.DictReader((workdir / "loss.csv").open()))
    assert [int(r["step"]) for r in curve] == [1, 2] and all(float(r["loss"]) > 0 for r in curve)
    runs = mlflow.search_runs(experiment_names=["sciriff"], filter_string="tags.dvc_stage = 'finetune'")
    assert len(runs) == 1 and runs.iloc[0]["metrics.steps"] == 2
    assert any((workdir / ".cache" / "finetune").glob("*/checkpoint-2")), "checkpoints live under .cache"
