import csv
import json
from pathlib import Path

import pytest
import yaml

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


@pytest.mark.parametrize("packing", [False, True])
def test_trained_positions_loss_equals_the_models_own_loss(tiny_model_dir: Path, tmp_path: Path,
                                                           packing: bool) -> None:
    import datasets
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from sciriff.finetune import trainer_class

    conversations = [CONVERSATION, [{"role": "user", "content": "Name a noble gas."},
                                    {"role": "assistant", "content": "Argon, for one."}]]
    trainer = trainer_class()(model=AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                               args=sft_config(FinetuneParams(packing=packing, bf16=False), tmp_path / "ckpt"),
                               train_dataset=datasets.Dataset.from_list([{"messages": c} for c in conversations]),
                               processing_class=AutoTokenizer.from_pretrained(tiny_model_dir))
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(len(trainer.train_dataset))])
    assert (batch["labels"] != -100).float().mean() < 0.6, "prompt positions are left out of the loss"
    with torch.no_grad():
        ours = trainer.compute_loss(trainer.model, batch)
        reference = trainer.model(**batch).loss  # the model's own loss over the full logits
    assert torch.allclose(ours, reference, rtol=1e-5), (ours, reference)


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
    from transformers import AutoConfig
    assert AutoConfig.from_pretrained(workdir / "out").dtype == AutoConfig.from_pretrained(tiny_model_dir).dtype
    card = (workdir / "out" / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: transformers") and meta["data"]["mix_sha256"] in card
    curve = list(csv.DictReader((workdir / "loss.csv").open()))
    assert [int(r["step"]) for r in curve] == [1, 2] and all(float(r["loss"]) > 0 for r in curve)
    runs = mlflow.search_runs(experiment_names=["sciriff"], filter_string="tags.dvc_stage = 'finetune'")
    assert len(runs) == 1 and runs.iloc[0]["metrics.steps"] == 2
    assert runs.iloc[0]["metrics.train_loss_mean"] > 0, "the mean loss has its own key beside the per-step curve"
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(runs.iloc[0]["run_id"])}
    assert artifacts == {"README.md", "loss.csv"}, "the model card and the loss curve are run artifacts"
    assert (workdir / "mlruns").is_dir(), "artifacts lie beside the SQLite store"
    experiment = mlflow.get_experiment_by_name("sciriff")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development", "opens in the runs view"
    assert not any((workdir / ".cache" / "finetune").glob("*/checkpoint-*")), "checkpoints go once the model is saved"


def test_launch_command_resolution_without_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    from sciriff.finetune import LAUNCHED, launch_command

    repo = Path(__file__).resolve().parents[1]
    assert launch_command(FinetuneParams()) is None, "distributed: none trains in this process"
    command = launch_command(FinetuneParams(distributed="zero3_offload", num_processes=8), "profiles/paper.yaml")
    assert command[1:4] == ["-m", "accelerate.commands.launch", "--config_file"]
    assert command[4] == "configs/accelerate/zero3_offload.yaml" and command[6] == "8"
    assert command[-4:] == ["sciriff.cli", "--params", "profiles/paper.yaml", "finetune"]
    config = yaml.safe_load((repo / command[4]).read_text())
    deepspeed = json.loads((repo / config["deepspeed_config"]["deepspeed_config_file"]).read_text())
    assert deepspeed["zero_optimization"]["stage"] == 3
    assert deepspeed["zero_optimization"]["offload_optimizer"]["device"] == "cpu"
    for name in ("single_gpu", "ddp", "zero2"):
        assert (repo / "configs" / "accelerate" / f"{name}.yaml").exists()
    monkeypatch.setenv(LAUNCHED, "1")
    assert launch_command(FinetuneParams(distributed="ddp", num_processes=2)) is None, "already launched"


def test_processes_without_a_distributed_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="set distributed to ddp, zero2 or zero3_offload"):
        FinetuneParams(num_processes=4)


def test_killed_training_resumes_from_its_last_checkpoint(tiny_model_dir: Path, workdir: Path) -> None:
    """Kill a real `sciriff finetune` process mid-run; the rerun continues from its checkpoint."""
    import shutil
    import signal
    import subprocess
    import sys
    import time

    write_jsonl(workdir / "data" / "mix" / "train.jsonl",
                [{"dataset": "d", "id": str(i), "messages": CONVERSATION} for i in range(8)])
    shutil.copytree(tiny_model_dir, workdir / "models" / "base")
    (workdir / "params.yaml").write_text(yaml.safe_dump({
        "render": {"context_window": 128},
        "finetune": {"max_steps": 30, "batch_size": 1, "gradient_accumulation": 1, "max_length": 128,
                     "save_steps": 3, "bf16": False, "packing": False},
    }))
    command = [str(Path(sys.executable).parent / "sciriff"), "finetune"]
    proc = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600  # generous: on a loaded 2-core machine the first steps are slow
    while not list((workdir / ".cache" / "finetune").glob("*/checkpoint-6")) and time.monotonic() < deadline:
        assert proc.poll() is None, "training ended before it could be killed"
        time.sleep(0.05)
    assert list((workdir / ".cache" / "finetune").glob("*/checkpoint-6")), "no checkpoint within 600 s"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (workdir / "models" / "scitulu").exists(), "a killed run leaves no output that looks finished"
    assert not list((workdir / ".cache" / "finetune").glob("*/checkpoint-30"))

    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    summary = json.loads("\n".join(lines[len(lines) - 1 - lines[::-1].index("{"):]))  # the printed summary
    assert summary["resumed"] is True and summary["steps"] == 30
    steps = [int(r["step"]) for r in csv.DictReader((workdir / "metrics" / "train_loss.csv").open())]
    assert steps == list(range(1, 31)), "the loss curve covers the steps before and after the kill"


def test_lora_finetune_saves_a_merged_model(tiny_model_dir: Path, workdir: Path) -> None:
    from transformers import AutoModelForCausalLM

    from sciriff.params import LoraParams

    write_jsonl(workdir / "mix.jsonl", [{"dataset": "d", "id": str(i), "messages": CONVERSATION} for i in range(4)])
    params = FinetuneParams(max_steps=1, batch_size=2, gradient_accumulation=1, max_length=128, bf16=False,
                            lora=LoraParams(r=4, alpha=8), learning_rate=1e-2, warmup_ratio=0.0)
    run_finetune(params, workdir / "mix.jsonl", tiny_model_dir, workdir / "out", workdir / "loss.csv")
    assert not (workdir / "out" / "adapter_config.json").exists(), "adapters are merged into the weights"
    merged = AutoModelForCausalLM.from_pretrained(workdir / "out")
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    changed = [name for name, p in merged.state_dict().items() if not p.equal(base.state_dict()[name])]
    assert changed and all("proj" in name for name in changed), "LoRA updates only the adapted projections"
