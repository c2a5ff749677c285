"""LM judges for the SciRIFF-Eval scorer (Qasper and MUP are rated by a language model).

The evaluators build the judge prompts and parse the replies; a judge only turns prompts into raw
replies. Like the official code, each prompt is sent as one user message with no system message; unlike
it, temperature is set to 0 explicitly (and recorded in `settings`) so re-runs are as repeatable as the
endpoint allows. An endpoint judge is an `OpenAIClient`; the offline judge generates through
`sciriff.generation`. Replies are cached on disk by (judge, prompt), so re-scoring makes no new calls;
a prompt whose call fails for good yields None and an entry in `errors`, and is never cached.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sciriff.generation import TRANSFORMERS_DECODING, greedy_decode, prefill
from sciriff.openai_client import CallStats, ReplyCache, complete_cached, endpoint_client
from sciriff.params import JudgeParams

if TYPE_CHECKING:
    from sciriff.evaluation.context import Judge

LOCAL_PREFIX = "local:"


class LocalJudge:
    """The offline judge: a local checkpoint generating in process (chat template, greedy, left padding).

    It lets the embedded pipeline score Qasper and MUP with no network; its ratings are not comparable
    to the paper's GPT judges. A small model rarely ends its reply with a well-formed rating line, so the
    reply is its free-text explanation followed by the rating cue the prompt asks for (`Decision:` for
    MUP, else `Rating:`) and the digit 1-5 the model finds most likely after that cue (forced rating).
    The evaluators parse it with the official rules unchanged.
    """

    def __init__(self, model_dir: str | Path, max_new_tokens: int = 256, batch_size: int = 16,
                 cache: ReplyCache | None = None):
        from sciriff.generation import TransformersGenerator
        from sciriff.io import sha256_file

        self.model_dir = Path(model_dir)
        # The weights' hash is part of the name, so cached ratings of another checkpoint are never reused.
        weights = "".join(sha256_file(p) for p in sorted(self.model_dir.glob("*.safetensors")))
        self.name = f"{LOCAL_PREFIX}{self.model_dir.resolve().name}@{hashlib.sha256(weights.encode()).hexdigest()[:12]}"
        self.max_new_tokens = max_new_tokens
        self.cache = cache
        self.stats = CallStats()
        self.errors: list[dict[str, Any]] = []
        self._generator = TransformersGenerator(model_dir, dtype="auto", batch_size=batch_size)
        tok = self._generator.tokenizer
        self._digits = [tok.convert_tokens_to_ids(str(d)) for d in range(1, 6)]
        if any(d is None or d == tok.unk_token_id for d in self._digits):
            raise ValueError(f"{model_dir}: the tokenizer has no single tokens for the digits 1-5")

    @property
    def cache_key(self) -> str:
        return f"{self.name}|{TRANSFORMERS_DECODING}|max_new_tokens={self.max_new_tokens}|forced-rating"

    @property
    def settings(self) -> dict[str, Any]:
        return {"backend": "local", "model": self.name, "temperature": 0.0, "rating": "forced digit after the cue",
                "max_new_tokens": self.max_new_tokens}

    def __repr__(self) -> str:
        return f"LocalJudge(model_dir={str(self.model_dir)!r}, cache={self.cache!r})"

    def complete(self, prompts: Sequence[str]) -> list[str | None]:
        return complete_cached(self.cache_key, prompts, self.cache, self.stats, self._run)

    def _forced_ratings(self, prompt_cache: Any, prompt_mask: Any, continuations: list[str]) -> list[int]:
        """The most likely digit 1-5 after each continuation (explanation and cue) of the cached prompts.

        The continuations are left-padded after the prompts' keys and values, so the prompts are not
        computed again (that second prefill was 40% of the judge's time).
        """
        gen, torch = self._generator, self._generator.torch
        ids, mask = gen.encode(continuations)
        width = prompt_mask.shape[1]
        positions = prompt_mask.sum(-1, keepdim=True) + (mask.cumsum(-1) - 1).clamp(min=0)
        logits = gen.model(input_ids=ids, attention_mask=torch.cat([prompt_mask, mask], dim=-1),
                           position_ids=positions, past_key_values=prompt_cache, use_cache=True,
                           cache_position=torch.arange(width, width + ids.shape[1], device=ids.device),
                           logits_to_keep=1).logits[:, -1, self._digits]
        return [int(index) + 1 for index in logits.argmax(dim=-1)]

    def _run(self, prompts: list[str]) -> dict[str, str | None]:
        gen = self._generator
        texts = [gen.chat_text([{"role": "user", "content": p}]) for p in prompts]
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # similar lengths pad less
        out: dict[str, str | None] = {}
        for start in range(0, len(order), gen.batch_size):
            batch = order[start : start + gen.batch_size]
            input_ids, attention_mask = gen.encode([texts[i] for i in batch])
            with gen.torch.inference_mode():
                cache, logits = prefill(gen.model, input_ids, attention_mask, self.max_new_tokens)
                prompt_cache = copy.deepcopy(cache)  # decoding extends and shrinks `cache`
                generated = dict(greedy_decode(gen.model, input_ids, attention_mask, self.max_new_tokens, gen.eos,
                                               prefilled=(cache, logits)))
                continuations = [
                    f"{_without_cues(gen.tokenizer.decode(generated[row], skip_special_tokens=True).strip())}\n"
                    f"{'Decision: ' if 'Decision:' in prompts[i] else 'Rating: '}" for row, i in enumerate(batch)]
                ratings = self._forced_ratings(prompt_cache, attention_mask, continuations)
            self.stats.add(calls=1)
            for i, continuation, rating in zip(batch, continuations, ratings, strict=True):
                reply = continuation + str(rating)
                out[prompts[i]] = reply
                if self.cache is not None:
                    self.cache.put(self.cache_key, prompts[i], reply)
        return out


def _without_cues(text: str) -> str:
    """Keep the explanation from carrying a rating cue of its own (the parsers read the first cue)."""
    return text.replace("Decision:", "Decision -").replace("Rating:", "Rating -")


def fail_on_judge_errors(judge: Any) -> None:
    """A judge that did not answer fails the stage (score, general_score): a null column would shift a mean."""
    errors = getattr(judge, "errors", None)
    if errors:
        where = getattr(judge, "base_url", None) or "the default endpoint"
        raise RuntimeError(
            f"score.judge: {len(errors)} prompt(s) got no reply from judge {judge.name!r} at {where} "
            f"(first: {errors[0]['error']}); nothing was written, and the replies received are cached, "
            "so a rerun asks only for the missing ones"
        )


def make_judge(spec: JudgeParams) -> Judge | None:
    """Build the judge a `score.judge` params section names; backend "none" means no judge (None)."""
    if spec.backend == "none":
        return None
    cache = ReplyCache(spec.cache) if spec.cache else None
    if spec.backend == "local":
        if not Path(spec.model).is_dir():
            raise ValueError(f"params.yaml: score.judge.model: local judge checkpoint {spec.model!r} is not a "
                             "directory (build it with `sciriff base-model`, or set backend: openai)")
        return LocalJudge(spec.model, max_new_tokens=spec.max_tokens, cache=cache)
    return endpoint_client("score.judge", spec.model, spec.base_url, spec.api_key_env, concurrency=spec.concurrency,
                           max_retries=spec.max_retries, max_tokens=spec.max_tokens, cache=cache)
