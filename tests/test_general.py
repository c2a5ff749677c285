"""General evaluation: held-out answers, the pairwise judge, lm-evaluation-harness, retention, faults."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from sciriff.general import (
    model_outcome,
    parse_rating,
    run_general_predict,
    run_general_score,
    summarize_judgments,
    win_rate_interval,
)
from sciriff.harness import run_general_harness
from sciriff.io import read_json, read_jsonl, write_jsonl
from sciriff.params import GeneralParams, JudgeParams, PredictParams, ScoreParams

HELD_OUT = [{"dataset": "lima", "id": f"lima_test_{i:02d}", "messages": [
    {"role": "user", "content": prompt}, {"role": "assistant", "content": "A reference answer."}]}
    for i, prompt in enumerate(["Name a colour.", "Give one tip for sleeping well.", "What is 2 + 3?"])]
PREDICT = PredictParams(batch_size=4, dtype="float32")
GENERAL = GeneralParams(max_new_tokens=6, harness_limit=3)


@pytest.fixture(scope="module")
def evaluated(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Held-out answers and harness scores of two models (both the tiny checkpoint), once for the module."""
    work = tmp_path_factory.mktemp("general")
    write_jsonl(work / "data" / "raw" / "general_test.jsonl", HELD_OUT)
    for model in ("baseline", "scitulu"):
        run_general_predict(model, tiny_model_dir, PREDICT, GENERAL, work / "data/raw/general_test.jsonl",
                            work / "data/general/predictions")
        run_general_harness(model, tiny_model_dir, GENERAL, PREDICT, work / "data/general/harness")
    return work


@pytest.fixture
def workdir(evaluated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(evaluated / "data", tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path


def _score(model: str, judge: JudgeParams) -> dict:
    return run_general_score(model, "baseline", ScoreParams(judge=judge))


def test_answers_are_greedy_sorted_and_keep_the_reference(evaluated: Path) -> None:
    rows = list(read_jsonl(evaluated / "data/general/predictions/scitulu.jsonl"))
    assert [r["id"] for r in rows] == sorted(r["id"] for r in HELD_OUT)
    assert rows[0]["reference"] == "A reference answer." and rows[0]["input"] == "Name a colour."
    assert rows[0]["decoding"] == {"do_sample": False, "num_beams": 1, "max_new_tokens": 6, "dtype": "float32"}


def test_harness_runs_the_shipped_tasks_with_the_chat_template(evaluated: Path) -> None:
    scores = read_json(evaluated / "data/general/harness/scitulu/scores.json")
    tasks = scores["tasks"]
    assert sorted(tasks) == ["sciriff_arithmetic", "sciriff_science_mc"]
    assert tasks["sciriff_science_mc"]["metric"] == "acc,none" and tasks["sciriff_science_mc"]["n"] == 3
    assert tasks["sciriff_arithmetic"]["metric"] == "exact_match,last-number"
    assert all(0 <= t["score"] <= 100 for t in tasks.values())
    assert scores["mean"] == pytest.approx(sum(t["score"] for t in tasks.values()) / 2, abs=1e-3)
    samples = list(read_jsonl(evaluated / "data/general/harness/scitulu/samples.jsonl"))
    assert len(samples) == 6 and samples[0]["prompt"].startswith("<|im_start|>system")
    assert "<|im_start|>assistant\n" in samples[0]["prompt"], "the model's chat template wraps every prompt"


def test_local_judge_both_orders_win_rate_interval_and_retention(workdir: Path, tiny_model_dir: Path) -> None:
    judge = JudgeParams(backend="local", model=str(tiny_model_dir), max_tokens=8, cache=str(workdir / "j.sqlite"))
    reference = _score("baseline", judge)
    assert reference["pairwise"]["win_rate"] == 50.0 and "by construction" in reference["pairwise"]["note"]
    assert reference["retention"] == 1.0
    document = _score("scitulu", judge)
    judgments = list(read_jsonl("data/general/scores/scitulu/judgments.jsonl"))
    assert sorted((r["id"], r["order"]) for r in judgments) == sorted(
        (h["id"], o) for h in HELD_OUT for o in ("model_first", "model_second"))
    assert all(r["rating"] in range(1, 6) for r in judgments), "the local judge always gives a rating"
    pairwise = document["pairwise"]
    low, high = pairwise["ci95"]
    assert 0 <= low <= pairwise["win_rate"] <= high <= 100
    assert pairwise["wins"] + pairwise["ties"] + pairwise["losses"] == 6 and pairwise["unrated"] == 0
    assert document["retention"] == 1.0, "the same checkpoint keeps all of its harness score"
    compact = read_json("metrics/general/scitulu.json")
    assert set(compact) == {"win_rate", "win_rate_low", "win_rate_high", "harness", "harness_mean", "retention"}
    assert set(compact["harness"]) == {"sciriff_science_mc", "sciriff_arithmetic"}
    first = Path("metrics/general/scitulu.json").read_bytes()
    _score("scitulu", judge)
    assert Path("metrics/general/scitulu.json").read_bytes() == first, "deterministic, replies from the cache"


def test_openai_judge_against_transformers_serve(workdir: Path, served: tuple[str, str]) -> None:
    base_url, model = served
    judge = JudgeParams(backend="openai", model=model, base_url=base_url, max_tokens=8,
                        cache=str(workdir / "j.sqlite"))
    document = _score("scitulu", judge)
    judgments = list(read_jsonl("data/general/scores/scitulu/judgments.jsonl"))
    assert len(judgments) == 6 and all(isinstance(r["reply"], str) for r in judgments)
    assert document["judge"] == model
    pairwise = document["pairwise"]
    assert pairwise["unrated"] == sum(r["rating"] is None for r in judgments), "a reply without a rating is a tie"
    assert pairwise["wins"] + pairwise["ties"] + pairwise["losses"] == 6


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_judge_fails_naming_the_endpoint_and_writes_no_metrics(
        workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sciriff.openai_client as client_module

    monkeypatch.setattr(client_module.time, "sleep", lambda _: None)  # the retries' backoff, not their count
    url = f"http://127.0.0.1:{_free_port()}/v1"
    judge = JudgeParams(backend="openai", model="judge-model", base_url=url, cache=str(workdir / "j.sqlite"))
    with pytest.raises(RuntimeError, match=rf"\d prompt\(s\) got no reply from judge 'judge-model' at {url}"):
        _score("scitulu", judge)
    assert not Path("metrics/general/scitulu.json").exists()
    assert not Path("data/general/scores/scitulu").exists()


def test_unknown_harness_task_is_named_before_the_model_loads(tmp_path: Path) -> None:
    params = GeneralParams(harness_tasks=["sciriff_science_mc", "no_such_benchmark"])
    with pytest.raises(ValueError, match=r"general.harness_tasks: 'no_such_benchmark' is not a task"):
        run_general_harness("scitulu", tmp_path / "not-loaded", params, PREDICT, tmp_path / "harness")
    assert not (tmp_path / "harness").exists()


def test_checkpoint_without_chat_template_is_named(tiny_model_dir: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    shutil.copytree(tiny_model_dir, bare)
    (bare / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((bare / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (bare / "tokenizer_config.json").write_text(json.dumps(config))
    write_jsonl(tmp_path / "test.jsonl", HELD_OUT)
    with pytest.raises(ValueError, match=r"model 'bare' \(.*bare\): the checkpoint has no chat template"):
        run_general_predict("bare", bare, PREDICT, GENERAL, tmp_path / "test.jsonl", tmp_path / "preds")
    with pytest.raises(ValueError, match=r"model 'bare' .* no chat template"):
        run_general_harness("bare", bare, GENERAL, PREDICT, tmp_path / "harness")
    assert not (tmp_path / "preds").exists() and not (tmp_path / "harness").exists()


def test_ratings_map_to_outcomes_in_both_orders() -> None:
    assert parse_rating("B is better.\nRating: 5") == 5 and parse_rating("Rating: **2**") == 2
    assert parse_rating("no verdict") is None
    # model_first: the model is Response A; model_second: it is Response B.
    assert [model_outcome(r, "model_first") for r in (1, 2, 3, 4, 5)] == [1, 1, 0.5, 0, 0]
    assert [model_outcome(r, "model_second") for r in (1, 2, 3, 4, 5)] == [0, 0, 0.5, 1, 1]
    assert model_outcome(None, "model_first") == 0.5


def test_position_bias_cancels_and_ties_count_half() -> None:
    # A judge that always prefers Response A: one win and one loss per instruction, so 50.
    always_a = [{"id": str(i), "order": o, "rating": 1, "outcome": model_outcome(1, o)}
                for i in range(4) for o in ("model_first", "model_second")]
    summary = summarize_judgments(always_a, replicates=200, seed=13)
    assert summary["win_rate"] == 50.0 and summary["prefers_a"] == 1.0 and summary["ci95"] == [50.0, 50.0]
    better = [{"id": "x", "order": "model_first", "rating": 1, "outcome": 1.0},
              {"id": "x", "order": "model_second", "rating": 3, "outcome": 0.5}]
    assert summarize_judgments(better, replicates=50, seed=13)["win_rate"] == 75.0


def test_bootstrap_interval_is_seeded() -> None:
    scores = [0, 0.5, 1, 1, 0.25, 0.75, 1, 0]
    assert win_rate_interval(scores, 500, 13) == win_rate_interval(scores, 500, 13)
    low, high = win_rate_interval(scores, 500, 13)
    assert 0 <= low < 100 * sum(scores) / len(scores) < high <= 100
