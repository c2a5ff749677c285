"""One client for OpenAI-compatible chat endpoints, with the on-disk reply cache every caller shares.

The judge, the SciInstruct teacher and predict's `openai` generator all call endpoints through
`OpenAIClient`: bounded concurrency, retries with capped backoff on 429/5xx/timeouts, failures
recorded (never cached), the API key never logged, cached, recorded in errors or shown in repr.
Replies are cached by (caller's key, prompt) in a `ReplyCache`, so a rerun makes no new calls.
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
from typing import Any

log = logging.getLogger(__name__)

PLACEHOLDER_KEY = "EMPTY"  # local OpenAI-compatible servers (transformers serve, vLLM) ignore the key


@dataclass
class CallStats:
    """Counters for one client (judge, teacher, generator), so a caller can check that re-scoring made no new calls.

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


def cache_key(client_key: str, prompt: str) -> str:
    """sha256 of (client key, prompt): the same prompt to another model or budget is another entry."""
    return hashlib.sha256(json.dumps([client_key, prompt], ensure_ascii=False).encode("utf-8")).hexdigest()


class ReplyCache:
    """Persistent reply cache in one SQLite file, shared safely by the threads of a client.

    One connection guarded by a lock is enough: lookups and inserts are tiny next to a model call.
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

    def get(self, client_key: str, prompt: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT reply FROM replies WHERE key = ?", (cache_key(client_key, prompt),)
            ).fetchone()
        return None if row is None else row[0]

    def put(self, client_key: str, prompt: str, reply: str) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO replies (key, judge, reply, created) VALUES (?, ?, ?, ?)",
                (cache_key(client_key, prompt), client_key, reply, time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return f"ReplyCache({str(self.path)!r})"


def complete_cached(name: str, prompts: Sequence[str], cache: ReplyCache | None, stats: CallStats,
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


class OpenAIClient:
    """The OpenAI chat-completions API or any compatible server (vLLM, transformers serve), one prompt per request.

    Prompts run on a thread pool of `concurrency`. Rate limits (429), server errors (5xx), timeouts and
    connection errors are retried with capped exponential backoff and jitter; the client's own retries
    are off so `max_retries` and `stats.calls` count every request. Other 4xx errors are not retried:
    the prompt gets None and the error is recorded in `errors`.
    """

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None,
                 concurrency: int = 4, max_retries: int = 5, timeout: float = 120,
                 max_tokens: int | None = 512, cache: ReplyCache | None = None,
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
        self.stats = CallStats()
        self.errors: list[dict[str, Any]] = []
        self._secret = api_key
        self._errors_lock = threading.Lock()
        self._openai = openai
        self._client = openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)

    @property
    def cache_key(self) -> str:
        """Replies are cached per model and generation settings: another budget never reuses them."""
        return f"{self.name}|temperature={self.temperature}|max_tokens={self.max_tokens}"

    @property
    def settings(self) -> dict[str, Any]:
        """What to report next to the scores (no endpoint credentials)."""
        return {"backend": "openai", "model": self.model, "temperature": self.temperature,
                "max_tokens": self.max_tokens}

    def __repr__(self) -> str:
        return (f"OpenAIClient(model={self.model!r}, base_url={self.base_url!r}, "
                f"concurrency={self.concurrency}, cache={self.cache!r})")

    def complete(self, prompts: Sequence[str]) -> list[str | None]:
        return complete_cached(self.cache_key, prompts, self.cache, self.stats, self._run)

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


def endpoint_client(where: str, model: str, base_url: str | None, api_key_env: str, **settings: Any) -> OpenAIClient:
    """The client a params section (`where`, e.g. "score.judge") names: its endpoint or OPENAI_BASE_URL, the key
    from the variable it names; no key and no endpoint is an error naming that params key."""
    base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
    api_key = os.environ.get(api_key_env) or None
    if api_key is None and base_url is None:
        raise ValueError(f"params.yaml: {where}.api_key_env: environment variable {api_key_env} is not set")
    return OpenAIClient(model, base_url=base_url, api_key=api_key or PLACEHOLDER_KEY, **settings)
