"""The annotate stage: rounds, checkers, cache, kill/resume and faults, with real teachers.

Teachers: the tiny local checkpoint in process, `transformers serve` on it (the `served` fixture), and
stdlib HTTP servers on 127.0.0.1 that answer 429 or empty/garbage text. Round logic is driven by
replies written into the real teacher/judge caches under the exact keys the stage uses, so the stage
runs unchanged and makes no calls.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from sciriff.evaluation.judge import make_judge
from sciriff.io import read_json, read_jsonl
from sciriff.openai_client import ReplyCache
from sciriff.params import AnnotateParams, JudgeParams, TeacherParams
from sciriff.sciinstruct.annotate import run_annotate
from sciriff.sciinstruct.problems import run_problems
from sciriff.sciinstruct.prompts import round_prompt, solution_from_reply
from sciriff.sciinstruct.teacher import CallError, make_teacher

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample" / "sciinstruct"


def ingest(workdir: Path, train: list[dict], test: list[dict] | None = None) -> Path:
    local = workdir / "local"
    local.mkdir(exist_ok=True)
    held_out = test or list(read_jsonl(SAMPLE / "test.jsonl"))[:1]
    for name, rows in (("train", train), ("test", held_out)):
        (local / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run_problems(AnnotateParams(source="local", local_dir=str(local)), workdir / "problems")
    return workdir / "problems"


def sample(n: int) -> list[dict]:
    return list(read_jsonl(SAMPLE / "train.jsonl"))[:n]


def params(workdir: Path, model: str | Path, **kwargs) -> AnnotateParams:
    teacher = {"model": str(model), "cache": str(workdir / "teacher.sqlite"), "batch_size": 4,
               **kwargs.pop("teacher", {})}
    return AnnotateParams(teacher=TeacherParams(**teacher), max_new_tokens=kwargs.pop("max_new_tokens", 8), **kwargs)


def judge(workdir: Path, tiny: Path) -> JudgeParams:
    return JudgeParams(backend="local", model=str(tiny), cache=str(workdir / "judge.sqlite"), max_tokens=8)


def test_tiny_teacher_garbage_is_counted_and_a_warm_rerun_makes_no_calls(tiny_model_dir: Path,
                                                                          workdir: Path) -> None:
    problems = ingest(workdir, sample(6))
    p = params(workdir, tiny_model_dir)
    stats = run_annotate(p, judge(workdir, tiny_model_dir), problems, workdir / "out")
    assert stats["this_run"]["teacher"]["calls"] == stats["teacher"]["prompts"] == 18, "3 rounds x 6 unsolved"
    assert stats["accepted"] == 0 and stats["not_accepted"] == 6
    assert sum(stats["failures"].values()) == 18 and set(stats["failures"]) <= {"empty_output", "no_final_answer"}
    rows = list(read_jsonl(workdir / "out" / "solutions.jsonl"))
    assert all(r["accepted_round"] is None and r["solution"] is None and len(r["attempts"]) == 3 for r in rows)
    assert stats["teacher_settings"]["model"].startswith("local:base@")
    first = (workdir / "out" / "solutions.jsonl").read_bytes()
    first_stats = (workdir / "out" / "stats.json").read_bytes()

    again = run_annotate(p, judge(workdir, tiny_model_dir), problems, workdir / "out")
    assert again["this_run"]["teacher"] == {"cache_hits": 18, "calls": 0, "requests": 0, "failures": 0}
    assert (workdir / "out" / "solutions.jsonl").read_bytes() == first
    assert read_json(workdir / "out" / "stats.json") == {k: v for k, v in again.items() if k != "this_run"}
    assert (workdir / "out" / "stats.json").read_bytes() == first_stats, "run counters stay out of the data"

    longer = run_annotate(params(workdir, tiny_model_dir, max_new_tokens=9, max_rounds=1),
                          judge(workdir, tiny_model_dir), problems, workdir / "out")
    assert longer["this_run"]["teacher"]["calls"] == 6, "another setting is another cache entry"


def test_rounds_checkers_and_failures_from_seeded_caches(tiny_model_dir: Path, workdir: Path) -> None:
    base = {"subject": "physics", "answer_type": "numeric"}
    problems = [
        {**base, "id": "p1", "question": "Accelerate 0 to 20 m/s in 5 s: acceleration?", "answer": "4 m/s^2"},
        {**base, "id": "p2", "question": "Which is a vector?", "answer": "C", "answer_type": "mc",
         "choices": ["speed", "mass", "displacement", "energy"]},
        {**base, "id": "p3", "question": "Free fall distance?", "answer": "g*t**2/2", "answer_type": "expression"},
        {**base, "id": "p4", "question": "60 W for 2 h, in kWh?", "answer": "0.12 kWh"},
        {**base, "id": "p5", "question": "A 60 W lamp for 2 hours, energy in kWh?", "answer": "0.12 kWh"},
        {**base, "id": "p6", "question": "No answer given", "answer": ""},
    ]
    replies = {  # per problem, the teacher's reply in rounds 1, 2, 3
        "p1": ["a = 20/5.\nFinal answer: 4 m/s^2"],
        "p2": ["Final answer: A", "Reflection: speed has no direction.\nCorrect solution: Displacement has a "
                                  "direction.\nFinal answer: C"],
        "p3": ["", "I cannot.", "Integrate v = g t.\nFinal answer: 1/2 g t^2"],
        "p4": ["Final answer: 432000 J"],
        "p5": ["Final answer: 5 J", "Correct solution: Final answer: 7 J", "Final answer: 0.5 kWh"],
    }
    ratings = {("p4", 1): "Same energy in joules.\nRating: 5", ("p5", 1): "no idea",
               ("p5", 2): "Different.\nRating: 2"}
    problems_dir = ingest(workdir, problems)
    p = params(workdir, tiny_model_dir)
    teacher_key = make_teacher(p.teacher, p.max_new_tokens).cache_key
    judge_params = judge(workdir, tiny_model_dir)
    lm = make_judge(judge_params)
    teacher_cache = ReplyCache(p.teacher.cache)
    from sciriff.sciinstruct.checker import extract_final_answer, lm_check_prompt

    by_id = {r["id"]: r for r in read_jsonl(problems_dir / "train.jsonl")}
    for pid, texts in replies.items():
        last = ""
        for number, (kind, text) in enumerate(zip(("cot", "reflect", "answer"), texts, strict=False), start=1):
            teacher_cache.put(teacher_key, round_prompt(kind, by_id[pid], last), text)
            last = solution_from_reply(kind, text)
            if (pid, number) in ratings:
                lm.cache.put(lm.cache_key, lm_check_prompt(by_id[pid], extract_final_answer(last), last),
                             ratings[(pid, number)])

    stats = run_annotate(p, judge_params, problems_dir, workdir / "out")
    assert stats["accepted_by_round"] == {"cot": 2, "reflect": 1, "answer": 1} and stats["not_accepted"] == 1
    assert stats["teacher"] == {"prompts": 10} and stats["lm_checker"] == {"prompts": 3}
    assert stats["this_run"] == {"teacher": {"calls": 0, "cache_hits": 10, "requests": 0, "failures": 0},
                                 "lm_checker": {"calls": 0, "cache_hits": 3}}
    assert stats["failures"] == {"empty_output": 1, "lm_check_unparsed": 1, "no_final_answer": 1, "rejected_input": 1}
    rows = {r["id"]: r for r in read_jsonl(workdir / "out" / "solutions.jsonl")}
    assert [r["accepted_round"] for r in rows.values()] == [1, 2, 3, 1, None]
    assert rows["p2"]["solution"] == "Displacement has a direction.\nFinal answer: C", "text after the marker"
    assert rows["p4"]["attempts"][0]["checked_by"] == "lm" and rows["p4"]["attempts"][0]["lm_rating"] == 5
    assert [a["correct"] for a in rows["p5"]["attempts"]] == [False, False, False]
    assert rows["p5"]["solution"] is None, "a problem never solved gives no example"
    failures = list(read_jsonl(workdir / "out" / "failures.jsonl"))
    rejected = next(f for f in failures if f["kind"] == "rejected_input")
    assert rejected["id"] == "p6" and rejected["where"].endswith("train.jsonl:6")
    assert next(f for f in failures if f["kind"] == "empty_output")["id"] == "p3"


def test_killed_run_resumes_from_the_cache(tiny_model_dir: Path, workdir: Path) -> None:
    ingest(workdir, sample(12))
    settings = {"max_rounds": 1, "max_new_tokens": 24, "teacher": {"batch_size": 1}}
    p = params(workdir, tiny_model_dir, **settings)
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["annotate"] = json.loads(p.model_dump_json())
    raw["score"]["judge"] = judge(workdir, tiny_model_dir).model_dump()
    (workdir / "params.yaml").write_text(yaml.safe_dump(raw))
    (workdir / "data" / "sciinstruct").mkdir(parents=True)
    (workdir / "problems").rename(workdir / "data" / "sciinstruct" / "problems")
    proc = subprocess.Popen([sys.executable, "-m", "sciriff.cli", "annotate"], cwd=workdir,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    cache = ReplyCache(p.teacher.cache)
    deadline = time.monotonic() + 180
    while len(cache) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the run was killed part way"
    done = len(cache)
    assert 3 <= done < 12 and not (workdir / "data" / "sciinstruct" / "annotated").exists()

    stats = run_annotate(p, judge(workdir, tiny_model_dir), "data/sciinstruct/problems", "out")
    assert stats["this_run"]["teacher"]["cache_hits"] == done and stats["this_run"]["teacher"]["calls"] == 12 - done
    resumed = (workdir / "out" / "solutions.jsonl").read_bytes()
    fresh = params(workdir, tiny_model_dir, max_rounds=1, max_new_tokens=24,
                   teacher={"batch_size": 1, "cache": str(workdir / "fresh.sqlite")})
    run_annotate(fresh, judge(workdir, tiny_model_dir), "data/sciinstruct/problems", "uninterrupted")
    assert (workdir / "uninterrupted" / "solutions.jsonl").read_bytes() == resumed


def test_openai_teacher_against_transformers_serve_then_down(tiny_model_dir: Path, workdir: Path,
                                                            served: tuple[str, str],
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture) -> None:
    base_url, model = served
    secret = "sk-teacher-never-logged-7c1"
    monkeypatch.setenv("SCI_TEACHER_KEY", secret)
    teacher = {"backend": "openai", "model": model, "base_url": base_url, "api_key_env": "SCI_TEACHER_KEY",
               "max_retries": 0, "concurrency": 2}
    problems = sample(5)
    problems_dir = ingest(workdir, problems[:3])
    p = params(workdir, tiny_model_dir, max_rounds=1, teacher=teacher)
    stats = run_annotate(p, judge(workdir, tiny_model_dir), problems_dir, workdir / "out")
    assert stats["this_run"]["teacher"]["calls"] == 3 and stats["teacher_settings"]["base_url"] == base_url
    assert stats["teacher_settings"]["backend"] == "openai" and stats["teacher_settings"]["model"] == model
    rerun = run_annotate(p, judge(workdir, tiny_model_dir), problems_dir, workdir / "out")
    assert rerun["this_run"]["teacher"]["calls"] == 0
    written = (workdir / "out" / "solutions.jsonl").read_bytes()

    problems_dir = ingest(workdir, problems)  # two new problems, and the endpoint is gone
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    down = params(workdir, tiny_model_dir, max_rounds=1, teacher={**teacher, "base_url": dead})
    with pytest.raises(CallError, match=r"2 call\(s\) .* at http://127\.0\.0\.1:\d+/v1 failed") as err:
        run_annotate(down, judge(workdir, tiny_model_dir), problems_dir, workdir / "out")
    assert problems[3]["id"] in str(err.value) and "train.jsonl:4" in str(err.value)
    assert "3 replies in the cache" in str(err.value)
    assert len(ReplyCache(p.teacher.cache)) == 3, "the replies already received are kept"
    assert (workdir / "out" / "solutions.jsonl").read_bytes() == written, "nothing written on failure"
    again = run_annotate(p, judge(workdir, tiny_model_dir), problems_dir, workdir / "out")
    assert again["this_run"]["teacher"] == {"calls": 2, "cache_hits": 3, "requests": 2, "failures": 0}
    logged = capsys.readouterr()
    assert secret not in logged.out + logged.err + str(err.value)
    assert not any(secret in f.read_text() for f in (workdir / "out").iterdir())


class ScriptedTeacher:
    """An OpenAI-compatible endpoint on 127.0.0.1 that answers 429, or 200 with scripted text."""

    def __init__(self, mode: str):
        self.mode, self.requests = mode, 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests += 1
                if owner.mode == "429":
                    self._send(429, {"error": {"message": "rate limited", "code": 429}})
                    return
                text = "lorem ipsum 42 dolor" if "previous solution" in body["messages"][0]["content"] else ""
                self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}]})

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()


@pytest.fixture
def scripted() -> Iterator[type[ScriptedTeacher]]:
    servers: list[ScriptedTeacher] = []

    def start(mode: str) -> ScriptedTeacher:
        servers.append(ScriptedTeacher(mode))
        return servers[-1]

    yield start  # type: ignore[misc]
    for server in servers:
        server.server.shutdown()
        server.server.server_close()


def test_rate_limited_and_garbage_teachers(tiny_model_dir: Path, workdir: Path, scripted) -> None:
    problems_dir = ingest(workdir, sample(10))
    limited = scripted("429")
    p = params(workdir, tiny_model_dir, max_rounds=2, teacher={"backend": "openai", "model": "m", "concurrency": 1,
                                                               "base_url": limited.url, "max_retries": 1})
    with pytest.raises(CallError, match="HTTP 429"):
        run_annotate(p, judge(workdir, tiny_model_dir), problems_dir, workdir / "out")
    assert limited.requests == 8, "the first chunk (4 x concurrency) is tried twice each, then the stage stops"
    assert not (workdir / "out").exists()

    problems_dir = ingest(workdir, sample(2))

    garbage = scripted("ok")
    p = params(workdir, tiny_model_dir, max_rounds=2,
               teacher={"backend": "openai", "model": "g", "base_url": garbage.url, "max_retries": 0})
    stats = run_annotate(p, judge(workdir, tiny_model_dir), problems_dir, workdir / "out")
    assert stats["accepted"] == 0 and stats["failures"] == {"empty_output": 2, "no_final_answer": 2}
    assert read_json(workdir / "out" / "stats.json")["failures"] == stats["failures"]
