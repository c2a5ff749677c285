"""Teachers (and evaluated models) behind one cached interface: prompts in, replies (or None) out.

`CachedGenerator` wraps `sciriff.generation.make_generator` (transformers in process by default, or
vLLM / an endpoint as predict does); `make_teacher` gives it for `annotate.teacher.backend: local`, and
`sciriff.openai_client.OpenAIClient` (bounded concurrency, retries with backoff, key from an environment
variable, never logged) for `openai`. Both answer through a `ReplyCache` keyed by the teacher's
identity (weights hash or endpoint model), its settings and the prompt, committed reply by reply:
a rerun with a warm cache makes no calls and loads no model, and a killed run resumes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sciriff.generation import TRANSFORMERS_DECODING
from sciriff.io import sha256_file
from sciriff.openai_client import CallStats, OpenAIClient, ReplyCache, complete_cached, endpoint_client
from sciriff.params import PredictParams, TeacherParams
from sciriff.tracking import repo_root


class CallError(RuntimeError):
    """A teacher, judge or model call failed for good; the message names the problems and the endpoint."""


def cache_path(path: str) -> Path:
    """Relative cache paths live under the main repository root, also for queued DVC experiments."""
    return Path(path) if Path(path).is_absolute() else repo_root() / path


def model_identity(model_dir: str | Path) -> str:
    """`local:<dir name>@<hash of weights + chat template>`, or the path itself when it holds no weights."""
    model_dir = Path(model_dir)
    files = sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("chat_template.jinja"))
    if not files:
        return str(model_dir)
    digest = hashlib.sha256("".join(sha256_file(p) for p in files).encode()).hexdigest()[:16]
    return f"local:{model_dir.resolve().name}@{digest}"


class CachedGenerator:
    """Greedy generation through a predict backend, one cached reply per prompt (single user turn).

    The backend (and so the model) is built only when a prompt misses the cache.
    """

    def __init__(self, model_dir: str | Path, params: PredictParams, cache: ReplyCache | None):
        self.model_dir = Path(model_dir)
        self.params = params
        self.cache = cache
        self.name = model_identity(self.model_dir)
        self.stats = CallStats()
        self.errors: list[dict[str, Any]] = []
        self.base_url = params.api.base_url if params.backend == "openai" else None
        self._backend = None

    @property
    def settings(self) -> dict[str, Any]:
        """What is recorded with the outputs; also part of the cache key."""
        decoding = TRANSFORMERS_DECODING if self.params.backend == "transformers" else "greedy"
        return {"backend": self.params.backend, "model": self.name, "do_sample": False, "decoding": decoding,
                "max_new_tokens": self.params.max_new_tokens, "dtype": self.params.dtype}

    @property
    def cache_key(self) -> str:
        return json.dumps(self.settings, sort_keys=True)

    def complete(self, prompts: Sequence[str]) -> list[str | None]:
        return complete_cached(self.cache_key, prompts, self.cache, self.stats, self._run)

    def _run(self, prompts: list[str]) -> dict[str, str | None]:
        from sciriff.generation import make_generator

        if self._backend is None:
            self._backend = make_generator(self.model_dir, self.params)
        out: dict[str, str | None] = dict.fromkeys(prompts)
        conversations = [[{"role": "user", "content": p}] for p in prompts]
        try:
            for index, text in self._backend.generate(conversations, self.params.max_new_tokens):
                self.stats.add(calls=1)
                out[prompts[index]] = text
                if self.cache is not None:
                    self.cache.put(self.cache_key, prompts[index], text)
        except (RuntimeError, OSError) as err:  # e.g. the openai backend's failed requests
            for prompt in prompts:
                if out[prompt] is None:
                    self.errors.append({"prompt_sha256": hashlib.sha256(prompt.encode()).hexdigest(),
                                        "status": None, "attempts": 1, "error": f"{type(err).__name__}: {err}"})
        return out


def make_teacher(params: TeacherParams, max_new_tokens: int) -> CachedGenerator | OpenAIClient:
    """The teacher `annotate.teacher` names, answering through its on-disk cache."""
    cache = ReplyCache(cache_path(params.cache))
    if params.backend == "local":
        if not Path(params.model).is_dir():
            raise FileNotFoundError(f"annotate.teacher.model: {params.model} is not a checkpoint directory")
        predict = PredictParams(backend="transformers", batch_size=params.batch_size,
                                max_new_tokens=max_new_tokens, dtype=params.dtype)
        return CachedGenerator(params.model, predict, cache)
    return endpoint_client("annotate.teacher", params.model, params.base_url, params.api_key_env,
                           concurrency=params.concurrency, max_retries=params.max_retries,
                           max_tokens=max_new_tokens, cache=cache)


def describe(teacher: Any) -> dict[str, Any]:
    """The teacher as recorded with the outputs: settings and endpoint, never a key."""
    return {**teacher.settings, "base_url": getattr(teacher, "base_url", None)}


def fail_on_errors(what: str, client: Any, problems: list[dict], prompts: list[str]) -> None:
    errors = getattr(client, "errors", None)
    if not errors:
        return
    by_hash = {hashlib.sha256(p.encode()).hexdigest(): problem for problem, p in zip(problems, prompts, strict=True)}
    failed = [by_hash.get(e["prompt_sha256"], {"id": "?", "where": "?"}) for e in errors]
    where = getattr(client, "base_url", None) or "the default endpoint"
    cached = len(client.cache) if getattr(client, "cache", None) is not None else 0
    listed = ", ".join(f"{p['id']} ({p['where']})" for p in failed[:5])
    raise CallError(
        f"{what}: {len(errors)} call(s) to {client.name!r} at {where} failed (first: {errors[0]['error']}); "
        f"problems: {listed}{' ...' if len(failed) > 5 else ''}. Nothing was written; the {cached} replies "
        f"in the cache ({getattr(client.cache, 'path', None)}) are kept, so a rerun asks only for the missing ones"
    )
