"""Greedy generation, written once: local transformers, vLLM, or an OpenAI-compatible endpoint.

Predict, general_predict, the SciInstruct teacher and evaluation, and the local LM judge all generate
through this module. Every generator applies the model's own chat template (the one it was trained
with) and explicit greedy decoding, never an engine's generation defaults; `make_generator` picks one
from `predict.backend`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from sciriff.openai_client import OpenAIClient
from sciriff.params import PredictParams

Messages = list[dict[str, str]]

# How TransformersGenerator decodes, part of the reply caches' keys: a reply cached before a change to
# the decoding (which can round differently in bf16) is not replayed as if this code had produced it.
TRANSFORMERS_DECODING = "greedy, each prompt prefilled alone"

class Generator(Protocol):
    """Turns chat conversations into completions; yields (index, text) as results finish."""

    name: str

    def generate(self, conversations: list[Messages], max_new_tokens: int) -> Iterator[tuple[int, str]]: ...


class TransformersGenerator:
    """Batched greedy generation in process (CPU or GPU): prompts prefilled alone, decoded in batches.

    `generate` sorts prompts by token length (longest first) so each batch's cache pads little;
    `generate_texts` takes already templated texts in the caller's order (the local judge's).
    """

    name = "transformers"

    def __init__(self, model_dir: str | Path, dtype: str = "auto", batch_size: int = 32):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir), padding_side="left")
        self.model = AutoModelForCausalLM.from_pretrained(
            str(model_dir), dtype=dtype if dtype == "auto" else getattr(torch, dtype))
        self.model.to(self.device).eval()
        self.batch_size = batch_size
        eos = self.model.generation_config.eos_token_id  # the ids that end an answer
        self.eos = set(eos if isinstance(eos, list) else [eos if eos is not None else self.tokenizer.eos_token_id])

    def chat_text(self, messages: Messages) -> str:
        """The prompt as the model sees it: its chat template, ending with the assistant header."""
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def generate(self, conversations: list[Messages], max_new_tokens: int) -> Iterator[tuple[int, str]]:
        texts = [self.chat_text(c) for c in conversations]
        lengths = [len(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]
        order = sorted(range(len(texts)), key=lambda i: (-lengths[i], i))
        for index, ids in self.generate_texts(texts, order, max_new_tokens):
            yield index, self.tokenizer.decode(ids, skip_special_tokens=True)

    def encode(self, texts: Sequence[str]) -> tuple[Any, Any]:
        """Token ids and attention mask of templated texts, left-padded to one batch."""
        encoded = self.tokenizer(list(texts), return_tensors="pt", padding=True, add_special_tokens=False)
        return encoded["input_ids"].to(self.device), encoded["attention_mask"].to(self.device)

    def generate_texts(self, texts: Sequence[str], order: Sequence[int],
                       max_new_tokens: int) -> Iterator[tuple[int, list[int]]]:
        """(index, new token ids) for texts[index], batch by batch in `order`, each as soon as it ends."""
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            input_ids, attention_mask = self.encode([texts[i] for i in batch])
            with self.torch.inference_mode():
                for row, ids in greedy_decode(self.model, input_ids, attention_mask, max_new_tokens, self.eos):
                    yield batch[row], ids


def prefill(model: Any, input_ids: Any, attention_mask: Any, room: int = 0) -> tuple[Any, Any]:
    """The key/value cache of a left-padded batch of prompts and each prompt's next-token logits.

    Each prompt runs alone on its own tokens, and its cache goes straight into the left-padded batch
    cache (`sciriff.kv_cache.LeftPaddedBatch`).
    Run as a padded batch, a prompt goes through a masked attention that computes the causal half it
    then discards and repeats the shared key/value heads; alone it takes the causal kernel: 16 prompts
    of 1,000-1,900 tokens prefill in 27 s instead of 68 s on this CPU (bf16, measured). The answer is
    the same as a batch of one (a padded batch rounds differently in bf16). The batch cache has `room`
    free positions per row, so decoding appends in place (`sciriff.kv_cache`).
    """
    import torch
    from transformers import DynamicCache

    from sciriff.kv_cache import LeftPaddedBatch

    batch, last_logits = LeftPaddedBatch(model.config, input_ids.shape[0], input_ids.shape[1], room), []
    for row in range(input_ids.shape[0]):
        own = DynamicCache(config=model.config)
        ids = input_ids[row, attention_mask[row].bool()][None]
        last_logits.append(model(input_ids=ids, past_key_values=own, use_cache=True, logits_to_keep=1).logits[:, -1])
        batch.add(row, own)
    return batch.finish(), torch.cat(last_logits)


def greedy_decode(model: Any, input_ids: Any, attention_mask: Any, max_new_tokens: int, eos: set[int],
                  prefilled: tuple[Any, Any] | None = None) -> Iterator[tuple[int, list[int]]]:
    """Greedy decoding of a left-padded batch that drops each row from the batch once it ends.

    The same algorithm as `model.generate(do_sample=False)` (the same tokens in fp32, tested), but the
    prompts are prefilled one at a time (`prefill`) and a finished row stops costing compute: `generate`
    keeps the whole batch until its longest answer ends, so one looping answer made 31 finished ones
    decode padding to the token limit. In bf16 the batch a row decodes in can round differently.
    `prefilled` is `prefill`'s result when the caller needs the prompt cache too (the local judge).
    Yields (row, new token ids, ending with the end-of-sequence token if one was produced).
    """
    import torch

    prompt_length = input_ids.shape[1]
    cache, logits = prefilled if prefilled is not None else prefill(model, input_ids, attention_mask, max_new_tokens)
    rows = list(range(input_ids.shape[0]))
    new_tokens: list[list[int]] = [[] for _ in rows]
    for step in range(max_new_tokens):
        tokens = logits.float().argmax(dim=-1)
        running = []
        for j, token in enumerate(tokens.tolist()):
            new_tokens[rows[j]].append(token)
            if token in eos or step == max_new_tokens - 1:
                yield rows[j], new_tokens[rows[j]]
            else:
                running.append(j)
        if not running:
            return
        if len(running) < len(rows):
            keep = torch.tensor(running, device=tokens.device)
            cache.batch_select_indices(keep)
            attention_mask, tokens = attention_mask[keep], tokens[keep]
            rows = [rows[j] for j in running]
        attention_mask = torch.cat([attention_mask, attention_mask.new_ones(len(rows), 1)], dim=-1)
        logits = model(input_ids=tokens[:, None], attention_mask=attention_mask,
                       position_ids=attention_mask.long().sum(-1, keepdim=True) - 1, past_key_values=cache,
                       use_cache=True, cache_position=torch.tensor([prompt_length + step], device=tokens.device),
                       logits_to_keep=1).logits[:, -1]


class VllmGenerator:
    """vLLM offline generation (GPU): the model's chat template, explicit greedy sampling settings.

    `generation_config="vllm"` keeps vLLM from adopting the checkpoint's generation_config.json
    (which may ask for sampling); tensor parallelism from `predict.tensor_parallel_size`.
    """

    name = "vllm"

    def __init__(self, model_dir: str | Path, dtype: str, tensor_parallel_size: int = 1):
        import vllm

        self.vllm = vllm
        self.llm = vllm.LLM(model=str(model_dir), dtype=dtype, tensor_parallel_size=tensor_parallel_size,
                            generation_config="vllm", seed=0)

    def generate(self, conversations: list[Messages], max_new_tokens: int) -> Iterator[tuple[int, str]]:
        sampling = self.vllm.SamplingParams(temperature=0.0, top_p=1.0, top_k=-1, repetition_penalty=1.0,
                                            max_tokens=max_new_tokens, seed=0)
        outputs = self.llm.chat(conversations, sampling, use_tqdm=True)
        for index, output in enumerate(outputs):
            yield index, output.outputs[0].text


class OpenAIGenerator:
    """Any OpenAI-compatible endpoint (the server applies the model's chat template), temperature 0.

    Built on `OpenAIClient` (bounded concurrency, retries with backoff on 429/5xx/timeouts, the key read
    from the environment variable named in params, never logged).
    """

    name = "openai"

    def __init__(self, model: str, base_url: str | None, api_key: str | None, concurrency: int):
        self.client_args = {"model": model, "base_url": base_url, "api_key": api_key,
                            "concurrency": concurrency, "role": "predict"}
        self.chunk = 4 * concurrency

    def generate(self, conversations: list[Messages], max_new_tokens: int) -> Iterator[tuple[int, str]]:
        if any(len(c) != 1 or c[0]["role"] != "user" for c in conversations):
            raise ValueError("the openai backend sends single user turns only")
        client = OpenAIClient(**self.client_args, max_tokens=max_new_tokens)
        failed = 0
        for start in range(0, len(conversations), self.chunk):  # chunks, so finished answers are saved early
            replies = client.complete([c[0]["content"] for c in conversations[start : start + self.chunk]])
            for offset, reply in enumerate(replies):
                if reply is None:
                    failed += 1
                else:
                    yield start + offset, reply
        if failed:
            raise RuntimeError(f"{failed} requests failed after retries (rerun to retry them): {client.errors[:3]}")


GENERATORS: dict[str, Callable[[str | Path, PredictParams], Generator]] = {
    "transformers": lambda model_dir, p: TransformersGenerator(model_dir, p.dtype, p.batch_size),
    "vllm": lambda model_dir, p: VllmGenerator(model_dir, p.dtype, p.tensor_parallel_size),
    "openai": lambda model_dir, p: OpenAIGenerator(p.api.model or str(model_dir), p.api.base_url,
                                                   os.environ.get(p.api.api_key_env), p.api.concurrency),
}


def make_generator(model_dir: str | Path, params: PredictParams) -> Generator:
    """The generator `predict.backend` names, for the checkpoint (or endpoint model) `model_dir`."""
    if params.backend not in GENERATORS:
        raise ValueError(
            f"params.yaml: predict.backend: '{params.backend}' is not available; available: {sorted(GENERATORS)}"
        )
    return GENERATORS[params.backend](model_dir, params)
