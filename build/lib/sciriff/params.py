"""params.yaml, loaded once into typed, validated objects: one model per stage section.

A bad value fails before any work starts, with a message naming the key and what is allowed.
Stage code receives its own section; nothing reads configuration files at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class ParamsError(ValueError):
    """params.yaml is invalid; the message names the key."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HubSource(Section):
    id: str
    revision: str = Field(min_length=1, description="A commit hash or tag: pinned for reproducibility.")


class ReleasedParams(Section):
    id: str = "allenai/SciRIFF"
    revision: str = Field("d450c4954da41c73eb6b66165171d6662d9244f9", min_length=1)
    config: Literal["4096", "8192", "16384"] = Field("4096", description="Context-length config (paper: 4096).")
    local: str | None = Field(None, description="Directory of <split>.jsonl in the released shape instead of the hub.")


class IngestParams(Section):
    source: Literal["sample", "hf", "local", "released"] = Field(
        "sample", description="Task sources: bundled sample, hub, local files, or the released SciRIFF instances."
    )
    released: ReleasedParams = ReleasedParams()
    sample_dir: str = "data/sample"
    local_dir: str = "data/local"
    general: HubSource = HubSource(id="allenai/tulu-v2-sft-mixture", revision="main")


class RenderParams(Section):
    context_window: int = Field(4096, ge=64, description="Max tokens of input + output (paper: 4096).")
    reserved_tokens: int = Field(20, ge=0, description="Tokens kept free for chat special tokens (paper: 20).")
    max_per_task: int = Field(2500, ge=1, description="Instances kept per task and split (paper: 2500).")
    template: int = Field(0, ge=0, description="Which template of each task file renders the data.")
    validation_fraction: float = Field(0.2, gt=0, lt=1)


class MixParams(Section):
    per_task: int = Field(1000, ge=0, strict=True, description="Training instances per science task (paper: 1000).")
    general: Literal["match", "none", "all"] = Field(
        "match", description="General-domain share: as many as the science part (paper), none, or all."
    )
    seed: int = 76
    sciinstruct: int | float = Field(
        0, description="Filtered SciInstruct solutions added: a count (int >= 0) or a fraction in (0, 1] of the set."
    )

    @model_validator(mode="after")
    def _sciinstruct(self) -> MixParams:
        value = self.sciinstruct
        if isinstance(value, bool) or (isinstance(value, int) and value < 0) or (
            isinstance(value, float) and not 0 < value <= 1
        ):
            raise ValueError(f"mix.sciinstruct: {value!r} must be a count (int >= 0) or a fraction in (0, 1]")
        return self


class ModelParams(Section):
    source: Literal["embedded", "hub"] = "embedded"
    id: str = "HuggingFaceTB/SmolLM2-135M-Instruct"
    revision: str = "main"
    dtype: Literal["float32", "bfloat16", "float16"] = "bfloat16"
    chat_template: Literal["smollm2", "tulu", "native"] = Field(
        "smollm2", description="Training/inference chat template; must carry {% generation %} markers."
    )
    max_length: int = Field(4096, ge=64, description="Tokenizer model_max_length written into the checkpoint.")
    shrink: dict[str, int] | None = Field(
        None, description="Config overrides for a tiny, randomly initialised model (tests and benchmarks)."
    )


class LoraParams(Section):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: str | list[str] = "all-linear"


class FinetuneParams(Section):
    distributed: Literal["none", "single_gpu", "ddp", "zero2", "zero3_offload"] = Field(
        "none", description="Launch through accelerate with configs/accelerate/<name>.yaml (none: this process)."
    )
    num_processes: int = Field(1, ge=1, description="Processes (GPUs) for ddp / zero2 / zero3_offload.")
    lora: LoraParams | None = Field(None, description="Train LoRA adapters (peft), merged into the saved model.")
    epochs: float = Field(2.0, gt=0)
    max_steps: int = Field(-1, description="Stop after this many optimizer steps (-1: run all epochs).")
    learning_rate: float = Field(2e-5, gt=0)
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = "linear"
    warmup_ratio: float = Field(0.03, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    batch_size: int = Field(2, ge=1, description="Per-device batch size.")
    gradient_accumulation: int = Field(8, ge=1)
    max_length: int = Field(4096, ge=64)
    packing: bool = Field(True, description="Pack examples (padding-free batches); false pads per batch.")
    bf16: bool = True
    gradient_checkpointing: bool = False
    seed: int = 1
    save_steps: int = Field(50, ge=1, description="Checkpoint every N steps (kept under .cache/, outside DVC).")
    log_steps: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _launch(self) -> FinetuneParams:
        if self.num_processes > 1 and self.distributed in ("none", "single_gpu"):
            raise ValueError(
                f"finetune.num_processes is {self.num_processes} but finetune.distributed is "
                f"'{self.distributed}': set distributed to ddp, zero2 or zero3_offload, or num_processes to 1"
            )
        return self


class ApiParams(Section):
    model: str | None = Field(None, description="Model name at the endpoint (default: the checkpoint path).")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint (default: OPENAI_BASE_URL).")
    api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the key (never logged).")
    concurrency: int = Field(8, ge=1)


class PredictParams(Section):
    backend: Literal["transformers", "vllm", "openai"] = "transformers"
    tensor_parallel_size: int = Field(1, ge=1, description="vLLM: GPUs per model.")
    api: ApiParams = ApiParams()
    split: Literal["train", "validation", "test"] = "test"
    batch_size: int = Field(8, ge=1)
    max_new_tokens: int = Field(1024, ge=1, description="Paper: 1024, greedy.")
    dtype: Literal["float32", "bfloat16", "float16"] = "bfloat16"
    max_instances: int | None = Field(None, ge=1, description="Cap per eval task (None: all).")


class JudgeParams(Section):
    backend: Literal["none", "openai", "local"] = Field(
        "local", description="LM judge for Qasper and MUP: an OpenAI-compatible endpoint, a local model, or none."
    )
    model: str = Field("models/base", description="Judge model: an API model name or a local checkpoint.")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint (default: OPENAI_BASE_URL).")
    api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the key (never logged).")
    concurrency: int = Field(4, ge=1)
    max_retries: int = Field(5, ge=0, description="Retries of a failed request (429, 5xx, timeouts), with backoff.")
    max_tokens: int = Field(512, ge=8, description="Longest judge reply (explanation + rating).")
    cache: str = Field(".cache/judge.sqlite", description="Replies cached by judge model and prompt.")
    prompts: Literal["project", "official"] = Field(
        "project", description="Qasper/MUP judge prompts: the project's wording, or the official evaluation "
        "code's, read at run time from official_checkout (comparable with the paper)."
    )
    official_checkout: str | None = Field(
        None, description="Local checkout of allenai/SciRIFF for prompts: official; its git commit is recorded."
    )

    @model_validator(mode="after")
    def _checkout(self) -> JudgeParams:
        if self.prompts == "official" and not self.official_checkout:
            raise ValueError("score.judge.prompts is 'official' but score.judge.official_checkout is not set: give "
                             "the path of a local checkout of allenai/SciRIFF")
        return self


class IntervalParams(Section):
    replicates: int = Field(1000, ge=10, description="Bootstrap replicates for the 95% intervals.")
    seed: int = 13


class ScoreParams(Section):
    compat: Literal["official", "corrected"] = "official"
    judge: JudgeParams = JudgeParams()
    intervals: IntervalParams = IntervalParams()
    reference_model: str = Field("baseline", description="Model the others are compared against.")


class GeneralParams(Section):
    """General-capability retention (the paper's second claim): held-out instructions + lm-eval tasks."""

    max_new_tokens: int = Field(192, ge=1, description="Answer length for the held-out general instructions.")
    harness_tasks: list[str] = Field(
        default_factory=lambda: ["sciriff_science_mc", "sciriff_arithmetic"], min_length=1,
        description="lm-evaluation-harness tasks, groups or tags (shipped: src/sciriff/general_tasks).",
    )
    harness_limit: int | None = Field(None, ge=1, description="Examples per harness task (None: all).")
class TeacherParams(Section):
    backend: Literal["local", "openai"] = Field(
        "local", description="local: a checkpoint generating in process (predict's transformers backend); "
        "openai: any OpenAI-compatible endpoint."
    )
    model: str = Field("models/base", description="local: checkpoint directory; openai: model name at the endpoint.")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint (default: OPENAI_BASE_URL).")
    api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the key (never logged).")
    concurrency: int = Field(4, ge=1, description="openai: requests in flight.")
    max_retries: int = Field(5, ge=0, description="openai: retries of a 429/5xx/timeout/connection error.")
    batch_size: int = Field(16, ge=1, description="local: prompts per generate call.")
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    cache: str = Field(".cache/sciinstruct/teacher.sqlite", description="Replies by (teacher, settings, prompt).")


class ProblemsHub(Section):
    id: str = "zd21/SciInstruct"
    revision: str = Field("098a7e88a9385dd170f78ed9edbce2c1b130cf81", min_length=1)
    train_split: str = "train"
    test_split: str | None = Field(None, description="Hub split of held-out problems (None: the bundled test).")
    question_field: str = "instruction"
    answer_field: str = Field("output", description="Gold answer, or a solution whose final answer is taken.")
    subject_field: str | None = None


class ClassifierParams(Section):
    model: str = Field("models/base", description="Frozen LM whose hidden states and True/False logits are features.")
    labelled: str | None = Field("data/sample/sciinstruct/labelled.jsonl",
                                 description="Extra labelled solutions (label: correct | incorrect); None: none.")
    heldout_fraction: float = Field(0.25, gt=0, lt=1, description="Questions held out for precision/recall.")
    C: float = Field(1.0, gt=0, description="Inverse L2 strength of the logistic regression.")
    max_length: int = Field(512, ge=32, description="Tokens of question + solution fed to the LM.")
    batch_size: int = Field(8, ge=1)
    seed: int = 7


class ScienceEvalParams(Section):
    max_new_tokens: int = Field(256, ge=1, description="Greedy answer budget (SciGLM's SciEval script: 512).")
    max_problems: int | None = Field(None, ge=1, description="Cap on held-out problems (None: all).")
    cache: str = Field(".cache/sciinstruct/eval.sqlite", description="Answers by (model, settings, prompt).")


class AnnotateParams(Section):
    source: Literal["sample", "local", "hf"] = "sample"
    sample_dir: str = "data/sample/sciinstruct"
    local_dir: str = "data/local/sciinstruct"
    hf: ProblemsHub = ProblemsHub()
    max_problems: int | None = Field(None, ge=1, description="Cap on annotated train problems (None: all).")
    max_rounds: int = Field(3, ge=1, le=3, description="1: CoT; 2: + reflection with the answer; 3: + prompt-answer.")
    max_new_tokens: int = Field(256, ge=8, description="Teacher reply budget per call.")
    rel_tol: float = Field(0.01, gt=0, lt=1, description="Relative tolerance of numeric answers.")
    lm_check_min_rating: int = Field(4, ge=1, le=5, description="LM checker rating (1-5) that counts as correct.")
    teacher: TeacherParams = TeacherParams()
    classifier: ClassifierParams = ClassifierParams()
    keep_threshold: float = Field(0.5, ge=0, le=1, description="Keep a solution when P(keep) >= this (SciGLM: 0.5).")
    eval: ScienceEvalParams = ScienceEvalParams()


class Params(Section):
    tasks: list[str] | Literal["all"] = "all"
    ingest: IngestParams = IngestParams()
    render: RenderParams = RenderParams()
    mix: MixParams = MixParams()
    model: ModelParams = ModelParams()
    finetune: FinetuneParams = FinetuneParams()
    predict: PredictParams = PredictParams()
    score: ScoreParams = ScoreParams()
    general: GeneralParams = GeneralParams()
    annotate: AnnotateParams = AnnotateParams()
    models: dict[str, str] = Field(
        default_factory=lambda: {"baseline": "models/base", "scitulu": "models/scitulu"},
        description="Evaluated models: name -> checkpoint directory.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Params:
        if self.score.reference_model not in self.models:
            raise ValueError(
                f"score.reference_model '{self.score.reference_model}' is not in models {sorted(self.models)}"
            )
        window = self.render.context_window
        if self.finetune.max_length < window:
            raise ValueError(
                f"finetune.max_length ({self.finetune.max_length}) is shorter than render.context_window "
                f"({window}): rendered instances would be truncated in training. Raise finetune.max_length "
                f"to at least {window} or lower render.context_window."
            )
        return self


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate params.yaml; any error names the file and the dotted key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ParamsError(f"{path}: not found (run from the repository root)") from None
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: invalid YAML: {err}") from None
    try:
        return Params.model_validate(raw)
    except ValidationError as err:
        lines = []
        for error in err.errors():
            key = ".".join(str(part) for part in error["loc"]) or "(top level)"
            got = f" (got {error['input']!r})" if "input" in error and not isinstance(error["input"], dict) else ""
            lines.append(f"{path}: {key}: {error['msg']}{got}")
        raise ParamsError("\n".join(lines)) from None
