"""Every shipped params profile resolves and validates offline."""

from pathlib import Path

import pytest

from sciriff.finetune import launch_command
from sciriff.params import load_params

REPO = Path(__file__).resolve().parents[1]


def test_paper_profile_has_the_paper_recipe() -> None:
    params = load_params(REPO / "profiles" / "paper.yaml")
    f = params.finetune
    assert (f.learning_rate, f.lr_scheduler, f.warmup_ratio, f.weight_decay, f.epochs) == (2e-5, "linear", 0.03, 0, 2)
    assert f.batch_size * f.gradient_accumulation * f.num_processes == 128 and f.max_length == 4096 and f.bf16
    assert params.render.context_window == 4096 and params.render.reserved_tokens == 20
    assert params.mix.per_task == 1000 and params.mix.general == "match"
    assert params.model.id == "allenai/tulu-2-7b" and params.model.chat_template == "tulu"
    assert params.predict.backend == "vllm" and params.predict.max_new_tokens == 1024
    assert params.score.judge.backend == "openai"
    command = launch_command(f, "profiles/paper.yaml")
    assert command and "configs/accelerate/zero3_offload.yaml" in command


@pytest.mark.parametrize("path", sorted((REPO / "profiles").glob("*.yaml")) + [REPO / "params.yaml"],
                         ids=lambda p: p.name)
def test_profile_validates(path: Path) -> None:
    load_params(path)


def test_paper_profile_names_harness_tasks_lm_eval_knows() -> None:
    """The paper's benchmarks, by the names lm-evaluation-harness gives them (checked offline, in its index)."""
    from sciriff.harness import task_manager

    tasks = load_params(REPO / "profiles" / "paper.yaml").general.harness_tasks
    assert {"mmlu", "gsm8k_cot", "bbh", "tydiqa_goldp", "truthfulqa_mc2", "toxigen"} <= set(tasks)
    task_manager(tasks)  # raises, naming the task, if one is unknown
