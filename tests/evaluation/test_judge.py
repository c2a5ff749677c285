"""Judge clients against real servers: `transformers serve` on a tiny checkpoint, scripted stdlib servers.

No mocks of the openai client: every request crosses a real socket on 127.0.0.1, so retries, status
handling and the request body are what the real client produces. Every server is stopped by its fixture.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sciriff.evaluation.judge import LocalJudge, make_judge
from sciriff.openai_client import OpenAIClient, ReplyCache
from sciriff.params import JudgeParams

SECRET = "sk-test-DO-NOT-LEAK-4f1c9a"
FAST = {"base_delay": 0.001, "max_delay": 0.01}


def _chat_reply(content: str) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "scripted",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}]}


class Scripted:
    """A real HTTP server answering /v1/chat/completions from a script; the last step repeats forever.

    A step is an HTTP status (an error body), "ok" (a reply echoing the prompt), or ("sleep", seconds).
    """

    def __init__(self, script: list[Any], jitter: float = 0.0):
        self.script, self.jitter = script, jitter
        self.requests: list[dict[str, Any]] = []
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with owner.lock:
                    step = owner.script[min(len(owner.requests), len(owner.script) - 1)]
                    owner.requests.append(body)
                    owner.in_flight += 1
                    owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
                try:
                    if owner.jitter:
                        time.sleep(random.uniform(0, owner.jitter))
                    if isinstance(step, tuple):
                        time.sleep(step[1])
                        step = "ok"
                    if step == "ok":
                        self._send(200, _chat_reply("echo:" + body["messages"][-1]["content"]))
                    else:  # an error body that echoes the key, as some servers do for 401
                        auth = self.headers.get("Authorization", "")
                        self._send(step, {"error": {"message": f"scripted {step} for {auth}", "code": step}})
                finally:
                    with owner.lock:
                        owner.in_flight -= 1

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def scripted() -> Iterator[Any]:
    started: list[Scripted] = []

    def start(script: list[Any], jitter: float = 0.0) -> Scripted:
        started.append(Scripted(script, jitter))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def _judge(server: Scripted, **kwargs: Any) -> OpenAIClient:
    return OpenAIClient("scripted-model", base_url=server.url, api_key=SECRET, **{**FAST, **kwargs})


# --- retries and error handling -------------------------------------------------------------------------


def test_retries_429_then_500_then_succeeds(scripted: Any) -> None:
    server = scripted([429, 500, "ok"])
    judge = _judge(server)
    assert judge.complete(["rate me"]) == ["echo:rate me"]
    assert len(server.requests) == 3 and judge.stats.calls == 3 and judge.stats.retries == 2
    assert judge.errors == []


def test_400_is_not_retried(scripted: Any) -> None:
    server = scripted([400])
    judge = _judge(server)
    assert judge.complete(["bad"]) == [None]
    assert len(server.requests) == 1 and judge.stats.calls == 1 and judge.stats.failures == 1
    assert judge.errors[0]["status"] == 400 and judge.errors[0]["attempts"] == 1


def test_503_forever_gives_up_after_max_retries(scripted: Any, tmp_path: Path) -> None:
    server = scripted([503])
    cache = ReplyCache(tmp_path / "judge.sqlite")
    judge = _judge(server, max_retries=3, cache=cache)
    assert judge.complete(["busy"]) == [None]
    assert len(server.requests) == 4 and judge.errors[0]["attempts"] == 4
    assert len(cache) == 0  # failures are not cached: the next run tries again


def test_timeout_is_retried(scripted: Any) -> None:
    server = scripted([("sleep", 1.0), "ok"])
    judge = _judge(server, timeout=0.2)
    assert judge.complete(["slow"]) == ["echo:slow"]
    assert len(server.requests) == 2


def test_order_concurrency_and_request_shape(scripted: Any) -> None:
    server = scripted(["ok"], jitter=0.05)  # random delays: replies finish out of order
    judge = _judge(server, concurrency=3, max_tokens=32)
    prompts = [f"prompt {i}" for i in range(10)] + ["prompt 0"]
    assert judge.complete(prompts) == [f"echo:{p}" for p in prompts]
    assert len(server.requests) == 10  # the duplicate prompt shares one call
    assert 1 < server.max_in_flight <= 3
    body = server.requests[0]
    assert body["model"] == "scripted-model" and body["temperature"] == 0 and body["max_tokens"] == 32
    assert len(body["messages"]) == 1 and body["messages"][0]["role"] == "user"
    assert judge.settings["temperature"] == 0


def test_key_never_leaks(scripted: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = scripted(["ok", 401, 500])
    path = tmp_path / "judge.sqlite"
    judge = _judge(server, cache=ReplyCache(path), max_retries=1)
    with caplog.at_level(logging.DEBUG):
        assert judge.complete(["a"]) == ["echo:a"]
        assert judge.complete(["b"]) == [None]  # 401 whose body echoes the Authorization header
        assert judge.complete(["c"]) == [None]  # 500 retried once: logged retry message
    judge.cache.close()  # type: ignore[union-attr]
    on_disk = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert SECRET.encode() not in on_disk
    assert SECRET not in repr(judge) and SECRET not in repr(judge.settings)
    assert SECRET not in json.dumps(judge.errors) and "***" in judge.errors[0]["error"]
    assert SECRET not in caplog.text and "retrying" in caplog.text


def test_make_judge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert make_judge(JudgeParams(backend="none")) is None
    with pytest.raises(ValueError, match=r"(?s)backend.*'none', 'openai' or 'local'"):
        JudgeParams(backend="gpt")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("MY_JUDGE_KEY", raising=False)
    with pytest.raises(ValueError, match="MY_JUDGE_KEY"):
        make_judge(JudgeParams(backend="openai", model="gpt-4o-2024-08-06", api_key_env="MY_JUDGE_KEY"))
    monkeypatch.setenv("MY_JUDGE_KEY", SECRET)
    judge = make_judge(JudgeParams(backend="openai", model="gpt-4o-2024-08-06", api_key_env="MY_JUDGE_KEY",
                                   concurrency=2, cache=str(tmp_path / "c" / "judge.sqlite")))
    assert isinstance(judge, OpenAIClient) and judge.name == "gpt-4o-2024-08-06" and judge.concurrency == 2
    assert judge.cache is not None and (tmp_path / "c" / "judge.sqlite").exists()
    assert SECRET not in repr(judge)


# --- the real `transformers serve` ------------------------------------------------------------------------


def test_transformers_serve_with_cache(served: tuple[str, str], tmp_path: Path) -> None:
    base_url, model = served
    path = tmp_path / "judge.sqlite"
    prompts = ["Rate this answer: 42.", "Summarize: cats purr.", "Question: why is the sky blue?"]
    judge = OpenAIClient(model, base_url=base_url, api_key=SECRET, max_tokens=8, cache=ReplyCache(path),
                        **FAST)
    replies = judge.complete(prompts)
    assert len(replies) == 3 and all(isinstance(r, str) for r in replies), judge.errors
    assert judge.stats.as_dict() == {"hits": 0, "misses": 3, "calls": 3, "retries": 0, "failures": 0}
    # each prompt alone gives the same reply (greedy): the batch answer is in prompt order
    fresh = OpenAIClient(model, base_url=base_url, api_key=SECRET, max_tokens=8, **FAST)
    assert [fresh.complete([p])[0] for p in prompts] == replies

    assert judge.complete(prompts) == replies
    assert judge.stats.calls == 3 and judge.stats.hits == 3
    again = OpenAIClient(model, base_url=base_url, api_key=SECRET, max_tokens=8, cache=ReplyCache(path),
                        **FAST)
    assert again.complete(list(reversed(prompts))) == list(reversed(replies))
    assert again.stats.calls == 0 and again.stats.hits == 3
    assert SECRET.encode() not in b"".join(p.read_bytes() for p in tmp_path.iterdir())


def test_transformers_serve_wrong_model_name_is_a_4xx(served: tuple[str, str]) -> None:
    base_url, model = served
    judge = OpenAIClient(Path(model).name, base_url=base_url, api_key=SECRET, max_tokens=4, **FAST)
    assert judge.complete(["hi"]) == [None]
    assert judge.stats.calls == 1 and judge.errors[0]["status"] == 400


# --- in-process local judge ------------------------------------------------------------------------------


def test_local_judge(tiny_model_dir: Path, tmp_path: Path) -> None:
    cache = ReplyCache(tmp_path / "j.sqlite")
    judge = LocalJudge(tiny_model_dir, max_new_tokens=6, batch_size=2, cache=cache)
    assert judge.name.startswith("local:" + tiny_model_dir.name + "@") and len(judge.name.split("@")[1]) == 12
    prompts = ["one", "a somewhat longer prompt", "Answer with Explanation: and Decision: lines"]
    replies = judge.complete(prompts)
    assert len(replies) == 3 and all(isinstance(r, str) for r in replies)
    assert re.search(r"\nRating: [1-5]$", replies[0]) and re.search(r"\nDecision: [1-5]$", replies[2])
    assert replies[0].count("Rating:") == 1, "the explanation carries no rating cue of its own"
    assert judge.complete(prompts) == replies and judge.stats.hits == 3


def test_local_judge_rating_continues_the_cached_prompt(tiny_model_dir: Path, tmp_path: Path) -> None:
    """The forced digit, read after the prompt's cached keys and values, is the one a forward pass over the
    whole judge conversation (prompt + explanation + cue) finds most likely."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    # large random weights in fp32: the digits' logits depend on every position (the tiny checkpoint's
    # small ones rate alike whatever the context, which would not notice a misplaced continuation)
    config = AutoConfig.from_pretrained(tiny_model_dir)
    config.initializer_range = 0.5
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval()
    model.save_pretrained(tmp_path / "sharp")
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.save_pretrained(tmp_path / "sharp")
    judge = LocalJudge(tmp_path / "sharp", max_new_tokens=5, batch_size=4)
    prompts = ["one", "a somewhat longer prompt to rate", "Decision: please", "2 + 2 = 4?",
               "Rate this summary of a paper on protein folding, which is longer still than the others", "ok"]
    replies = judge.complete(prompts)
    digits = [tokenizer.convert_tokens_to_ids(str(d)) for d in range(1, 6)]
    with torch.inference_mode():
        for prompt, reply in zip(prompts, replies, strict=True):
            text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                                 tokenize=False) + reply[:-1]
            ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
            assert int(reply[-1]) == int(model(input_ids=ids).logits[0, -1, digits].argmax()) + 1, reply
