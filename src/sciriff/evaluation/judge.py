"""LM-judge clients for the SciRIFF-Eval scorer (Qasper and MUP are rated by a language model).

The evaluators build the judge prompts and parse the replies; this module only turns prompts into raw
replies. Like the official code, each prompt is sent as one user message with no system message; unlike
it, temperature is set to 0 explicitly (and recorded in `settings`) so re-runs are as repeatable as the
endpoint allows. Replies are cached on disk by (judge name, prompt), so re-scoring makes no new calls.
A prompt whose call fails for good yields None and an entry in `errors`; it is never cached.
The API key is never logged, cached, recorded in errors or shown in repr.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sciriff.evaluation.context import Judge

log = logging.getLogger(__name__)

BACKENDS = ("none", "openai", "local")
LOCAL_PREFIX = "local:"
PLACEHOLDER_KEY = "EMPTY"  # local OpenAI-compatible servers (transformers serve, vLLM) ignore the key


@dataclass
class JudgeStats:
    """Counters for one judge object, so a caller can check that re-scoring made no new calls.

    hits: prompts answered without a new call (cache, or a duplicate in the same batch); misses: prompts
    sent; calls: requests sent, retries included (LocalJudge: generate batches); failures: prompts -> None.
    """

    hits: int = 0
    misses: int = 0
    calls: int = 0
    retries: int = 0
    failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for key, value in counts.items():
                setattr(self, key, getattr(self, key) + value)

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}


def cache_key(judge_name: str, prompt: str) -> str:
    """sha256 of (judge name, prompt): the same prompt to another judge model is another entry."""
    return hashlib.sha256(json.dumps([judge_name, prompt], ensure_ascii=False).encode("utf-8")).hexdigest()


class JudgeCache:
    """Persistent reply cache in one SQLite file, shared safely by the threads of a judge.

    One connection guarded by a lock is enough: lookups and inserts are tiny next to a judge call.
    Each insert is committed at once, so an interrupted scoring run keeps every reply it got.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, judge TEXT NOT NULL, "
                "reply TEXT NOT NULL, created REAL NOT NULL)"
            )

    def get(self, judge_name: str, prompt: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT reply FROM replies WHERE key = ?", (cache_key(judge_name, prompt),)
            ).fetchone()
        return None if row is None else row[0]

    def put(self, judge_name: str, prompt: str, reply: str) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO replies (key, judge, reply, created) VALUES (?, ?, ?, ?)",
                (cache_key(judge_name, prompt), judge_name, reply, time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return f"JudgeCache({str(self.path)!r})"


def _complete_cached(name: str, prompts: Sequence[str], cache: JudgeCache | None, stats: JudgeStats,
                     run: Callable[[list[str]], dict[str, str | None]]) -> list[str | None]:
    """Answer from the cache where possible; `run` gets each missing prompt once (duplicates share a call)."""
    replies: dict[str, str | None] = {}
    todo: list[str] = []
    for prompt in dict.fromkeys(prompts):
        hit = cache.get(name, prompt) if cache is not None else None
        if hit is not None:
            replies[prompt] = hit
        else:
            todo.append(prompt)
    stats.add(hits=len(prompts) - len(todo), misses=len(todo))
    if todo:
        fresh = run(todo)
        stats.add(failures=sum(fresh[p] is None for p in todo))
        replies.update(fresh)
    return [replies[p] for p in prompts]


class OpenAIJudge:
    """A judge behind the OpenAI chat-completions API or any compatible server (vLLM, transformers serve).

    Prompts run on a thread pool of `concurrency`. Rate limits (429), server errors (5xx), timeouts and
    connection errors are retried with capped exponential backoff and jitter; the client's own retries
    are off so `max_retries` and `stats.calls` count every request. Other 4xx errors are not retried:
    the prompt gets None and the error is recorded in `errors`.
    """

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None,
                 concurrency: int = 4, max_retries: int = 5, timeout: float = 120,
                 max_tokens: int | None = 512, cache: JudgeCache | None = None,
                 base_delay: float = 1.0, max_delay: float = 60.0, temperature: float = 0.0,
                 role: str = "judge"):
        import openai

        if concurrency < 1 or max_retries < 0:
            raise ValueError("concurrency must be >= 1 and max_retries >= 0")
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        api_key = api_key or os.environ.get("OPENAI_API_KEY") or None
        if api_key is None:
            if base_url is None:
                raise ValueError("no API key: set OPENAI_API_KEY (or score.judge.api_key_env) "
                                 "for the OpenAI judge")
            api_key = PLACEHOLDER_KEY
        self.name = model
        self.role = role  # who is calling, for the logs: the judge, predict, a teacher
        self.model = model
        self.base_url = base_url
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.timeout = timeout
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.cache = cache
        self.stats = JudgeStats()
        self.errors: list[dict[str, Any]] = []
        self._secret = api_key
        self._errors_lock = threading.Lock()
        self._openai = openai
        self._client = openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)

    @property
    def cache_key(self) -> str:
        """Replies are cached per judge and generation settings: another budget never reuses them."""
        return f"{self.name}|temperature={self.temperature}|max_tokens={self.max_tokens}"

    @property
    def settings(self) -> dict[str, Any]:
        """What to report next to the scores (no endpoint credentials)."""
        return {"backend": "openai", "model": self.model, "temperature": self.temperature,
                "max_tokens": self.max_tokens}

    def __repr__(self) -> str:
        return (f"OpenAIJudge(model={self.model!r}, base_url={self.base_url!r}, "
                f"concurrency={self.concurrency}, cache={self.cache!r})")

    def complete(self, prompts: Sequence[str]) -> list[str | None]:
        return _complete_cached(self.cache_key, prompts, self.cache, self.stats, self._run)

    def _run(self, prompts: list[str]) -> dict[str, str | None]:
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(prompts)),
                                thread_name_prefix="judge") as pool:
            return dict(zip(prompts, pool.map(self._one, prompts), strict=True))

    def _one(self, prompt: str) -> str | None:
        reply = self._call(prompt)
        if reply is not None and self.cache is not None:
            self.cache.put(self.cache_key, prompt, reply)
        return reply

    def _call(self, prompt: str) -> str | None:
        openai = self._openai
        extra: dict[str, Any] = {} if self.max_tokens is None else {"max_tokens": self.max_tokens}
        for attempt in range(self.max_retries + 1):
            self.stats.add(calls=1)
            try:
                response = self._client.chat.completions.create(
                    model=self.model, messages=[{"role": "user", "content": prompt}],
                    temperature=self.temperature, **extra,
                )
            except (openai.APIConnectionError, openai.APIStatusError) as exc:  # includes APITimeoutError
                status = getattr(exc, "status_code", None)
                retryable = status is None or status == 429 or status >= 500
                if not retryable or attempt == self.max_retries:
                    self._record(prompt, exc, status, attempt + 1)
                    return None
                self.stats.add(retries=1)
                delay = self._delay(attempt, exc)
                log.warning("%s %s at %s: %s (attempt %d/%d), retrying in %.2fs", self.role, self.name,
                            self.base_url or "api.openai.com", self._describe(exc, status), attempt + 1,
                            self.max_retries + 1, delay)
                time.sleep(delay)
                continue
            content = response.choices[0].message.content if response.choices else None
            if content is None:
                self._record(prompt, None, None, attempt + 1, "reply has no text content")
            return content
        return None  # unreachable: the loop returns on its last attempt

    def _delay(self, attempt: int, exc: Exception) -> float:
        """Capped exponential backoff with jitter; a server's Retry-After (seconds) is honoured up to the cap.

        Jitter keeps the pool's threads from retrying in lockstep after a shared 429.
        """
        delay = self.base_delay * 2**attempt * random.uniform(0.5, 1.0)
        response = getattr(exc, "response", None)
        retry_after = response.headers.get("retry-after") if response is not None else None
        if retry_after:
            with contextlib.suppress(ValueError):  # an HTTP date: ignore it, keep the backoff
                delay = max(delay, float(retry_after))
        return min(delay, self.max_delay)

    def _describe(self, exc: Exception | None, status: int | None, message: str | None = None) -> str:
        text = message or f"{type(exc).__name__}: {exc}"
        if self._secret and self._secret != PLACEHOLDER_KEY:
            text = text.replace(self._secret, "***")  # some servers echo the key in 401 bodies
        return text if status is None else f"HTTP {status}: {text}"

    def _record(self, prompt: str, exc: Exception | None, status: int | None, attempts: int,
                message: str | None = None) -> None:
        error = {"prompt_sha256": hashlib.sha256(prompt.encode("utf-8")).hexdigest(), "status": status,
                 "attempts": attempts, "error": self._describe(exc, status, message)}
        log.warning("%s %s at %s gave up on a prompt after %d attempt(s): %s", self.role, self.name,
                    self.base_url or "api.openai.com", attempts, error["error"])
        with self._errors_lock:
            self.errors.append(error)


class LocalJudge:
    """The offline judge: a local checkpoint generating in process (chat template, greedy, left padding).

    It lets the embedded pipeline score Qasper and MUP with no network; its ratings are not comparable
    to the paper's GPT judges. A small model rarely ends its reply with a well-formed rating line, so the
    reply is its free-text explanation followed by the rating cue the prompt asks for (`Decision:` for
    MUP, else `Rating:`) and the digit 1-5 the model finds most likely after that cue (forced rating).
    The evaluators parse it with the official rules unchanged.
    """

    def __init__(self, model_dir: str | Path, max_new_tokens: int = 256, batch_size: int = 16,
                 cache: JudgeCache | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from sciriff.io import sha256_file

        self.model_dir = Path(model_dir)
        # The weights' hash is part of the name, so cached ratings of another checkpoint are never reused.
        weights = "".join(sha256_file(p) for p in sorted(self.model_dir.glob("*.safetensors")))
        self.name = f"{LOCAL_PREFIX}{self.model_dir.resolve().name}@{hashlib.sha256(weights.encode()).hexdigest()[:12]}"
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.cache = cache
        self.stats = JudgeStats()
        self.errors: list[dict[str, Any]] = []
        self._torch = torch
        self._device = "cuda" if torch.cuda.is_available() else "cpu"
        self._tokenizer = AutoTokenizer.from_pretrained(str(model_dir), padding_side="left")
        self._model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype="auto")
        self._model.to(self._device).eval()
        self._digits = [self._tokenizer.convert_tokens_to_ids(str(d)) for d in range(1, 6)]
        if any(d is None or d == self._tokenizer.unk_token_id for d in self._digits):
            raise ValueError(f"{model_dir}: the tokenizer has no single tokens for the digits 1-5")

    @property
    def cache_key(self) -> str:
        return f"{self.name}|greedy|max_new_tokens={self.max_new_tokens}|forced-rating"

    @property
    def settings(self) -> dict[str, Any]:
        return {"backend": "local", "model": self.name, "temperature": 0.0, "rating": "forced digit after the cue",
                "max_new_tokens": self.max_new_tokens}

    def __repr__(self) -> str:
        return f"LocalJudge(model_dir={str(self.model_dir)!r}, cache={self.cache!r})"

    def complete(self, prompts: Sequence[str]) -> list[str | None]:
        return _complete_cached(self.cache_key, prompts, self.cache, self.stats, self._run)

    def _forced_ratings(self, heads: list[str]) -> list[int]:
        """The most likely digit 1-5 after each reply's rating cue: one batched forward pass."""
        tok = self._tokenizer
        encoded = tok(heads, return_tensors="pt", padding=True, add_special_tokens=False).to(self._device)
        with self._torch.inference_mode():
            logits = self._model(**encoded).logits[:, -1, self._digits]
        return [int(index) + 1 for index in logits.argmax(dim=-1)]

    def _run(self, prompts: list[str]) -> dict[str, str | None]:
        tok = self._tokenizer
        texts = [tok.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                         tokenize=False) for p in prompts]
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # similar lengths pad less
        out: dict[str, str | None] = {}
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            encoded = tok([texts[i] for i in batch], return_tensors="pt", padding=True,
                          add_special_tokens=False).to(self._device)
            with self._torch.inference_mode():
                generated = self._model.generate(
                    **encoded, max_new_tokens=self.max_new_tokens, do_sample=False, num_beams=1,
                    temperature=None, top_p=None, top_k=None, pad_token_id=tok.pad_token_id,
                )
            self.stats.add(calls=1)
            explanations = [_without_cues(tok.decode(ids, skip_special_tokens=True).strip())
                            for ids in generated[:, encoded["input_ids"].shape[1] :]]
            cues = ["Decision: " if "Decision:" in prompts[i] else "Rating: " for i in batch]
            heads = [f"{texts[i]}{explanation}\n{cue}" for i, explanation, cue in zip(batch, explanations, cues,
                                                                                       strict=True)]
            for i, head, rating in zip(batch, heads, self._forced_ratings(heads), strict=True):
                reply = head[len(texts[i]):] + str(rating)
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


def make_judge(spec: dict[str, Any]) -> Judge | None:
    """Build the judge named by a `score.judge` params section; backend "none" means no judge (None)."""
    backend = spec.get("backend", "none")
    if backend not in BACKENDS:
        raise ValueError(f"params.yaml: score.judge.backend: {backend!r} is not allowed; "
                         f"allowed: {', '.join(BACKENDS)}")
    if backend == "none":
        return None
    if not spec.get("model"):
        raise ValueError(f"params.yaml: score.judge.model is required for backend {backend!r}")
    cache = JudgeCache(spec["cache"]) if spec.get("cache") else None
    max_tokens = int(spec.get("max_tokens", 512))
    if backend == "local":
        if not Path(spec["model"]).is_dir():
            raise ValueError(f"params.yaml: score.judge.model: local judge checkpoint {spec['model']!r} is not a "
                             "directory (build it with `sciriff base-model`, or set backend: openai)")
        return LocalJudge(spec["model"], max_new_tokens=max_tokens, cache=cache)
    key_env = spec.get("api_key_env") or "OPENAI_API_KEY"
    base_url = spec.get("base_url") or os.environ.get("OPENAI_BASE_URL") or None
    api_key = os.environ.get(key_env) or None
    if api_key is None and base_url is None:
        raise ValueError(f"params.yaml: score.judge.api_key_env: environment variable {key_env} is not set")
    return OpenAIJudge(spec["model"], base_url=base_url, api_key=api_key or PLACEHOLDER_KEY,
                       concurrency=int(spec.get("concurrency", 4)), max_retries=int(spec.get("max_retries", 5)),
                       max_tokens=max_tokens, cache=cache)
