"""Quality classifier and science-reasoning evaluation on the tiny model; the mix's SciInstruct share."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sciriff.io import read_json, read_jsonl, write_json, write_jsonl
from sciriff.openai_client import ReplyCache
from sciriff.params import AnnotateParams, ClassifierParams, PredictParams, ScienceEvalParams
from sciriff.sciinstruct.classifier import run_quality_classifier
from sciriff.sciinstruct.evaluate import run_science_eval
from sciriff.sciinstruct.problems import run_problems
from sciriff.sciinstruct.prompts import problem_prompt
from sciriff.sciinstruct.report import comparison_block
from sciriff.sciinstruct.teacher import CachedGenerator

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample" / "sciinstruct"


def annotated(workdir: Path) -> Path:
    """An annotate output: 3 accepted problems (rounds 1-3) and 1 never solved."""
    problems = list(read_jsonl(SAMPLE / "train.jsonl"))[:4]
    rows = []
    for number, problem in enumerate(problems, start=1):
        solved = number <= 3
        good = {"round": number if solved else 1, "solution": f"Work.\nFinal answer: {problem['answer']}",
                "correct": True}
        bad = {"round": 1, "solution": "Guess.\nFinal answer: 0", "correct": False}
        attempts = ([bad] * (number - 1) + [good]) if solved else [bad, {**bad, "round": 2, "solution": ""}]
        rows.append({**problem, "where": f"x:{number}", "accepted_round": number if solved else None,
                     "solution": good["solution"] if solved else None, "attempts": attempts})
    write_jsonl(workdir / "annotated" / "solutions.jsonl", rows)
    write_json(workdir / "annotated" / "stats.json", {"problems": 4, "accepted": 3, "teacher_settings": {"x": "y"}})
    return workdir / "annotated"


def test_classifier_trains_reports_heldout_and_filters(tiny_model_dir: Path, workdir: Path) -> None:
    classifier = ClassifierParams(model=str(tiny_model_dir), labelled=str(SAMPLE / "labelled.jsonl"), max_length=96)
    params = AnnotateParams(classifier=classifier, keep_threshold=0.0)
    metrics = run_quality_classifier(params, annotated(workdir), workdir / "clf", workdir / "filtered.jsonl",
                                     workdir / "annotate.json")
    classifier = metrics["classifier"]
    assert classifier["heldout"] > 0 and classifier["train"] + classifier["heldout"] == 46  # 40 labelled + 6 distinct
    assert 0 <= classifier["precision"] <= 1 and 0 <= classifier["recall"] <= 1
    assert (classifier["candidates"], classifier["kept"], classifier["dropped"]) == (3, 3, 0), "threshold 0 keeps all"
    assert metrics["accepted"] == 3 and "teacher_settings" not in metrics
    assert read_json(workdir / "annotate.json") == metrics
    filtered = list(read_jsonl(workdir / "filtered.jsonl"))
    assert [r["dataset"] for r in filtered] == ["sciinstruct.physics"] * 3
    first = filtered[0]
    assert set(first) == {"dataset", "id", "messages"}
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"]
    assert first["messages"][1]["content"].endswith("Final answer: 4 m/s^2")
    model = read_json(workdir / "clf" / "model.json")
    assert len(model["coef"]) == 64 + 1, "mean-pooled hidden state + the True/False logit difference"
    scores = list(read_jsonl(workdir / "clf" / "scores.jsonl"))
    assert all(0 <= s["p_keep"] <= 1 for s in scores)
    filtered_bytes = (workdir / "filtered.jsonl").read_bytes()
    run_quality_classifier(params, workdir / "annotated", workdir / "clf", workdir / "filtered.jsonl",
                           workdir / "annotate.json")
    assert (workdir / "filtered.jsonl").read_bytes() == filtered_bytes
    assert (workdir / "clf" / "model.json").read_bytes() == json.dumps(model, indent=2, sort_keys=True).encode() + b"\n"

    strict = params.model_copy(update={"keep_threshold": 1.0})
    kept = run_quality_classifier(strict, workdir / "annotated", workdir / "clf", workdir / "filtered.jsonl",
                                  workdir / "annotate.json")["classifier"]
    assert kept["kept"] + kept["dropped"] == 3 and list(read_jsonl(workdir / "filtered.jsonl")) == \
        [r for r in filtered if r["id"] in {s["id"] for s in read_jsonl(workdir / "clf" / "scores.jsonl") if s["kept"]}]


def test_classifier_needs_both_labels(tiny_model_dir: Path, workdir: Path) -> None:
    params = AnnotateParams(classifier=ClassifierParams(model=str(tiny_model_dir), labelled=None))
    path = annotated(workdir)
    rows = [{**r, "attempts": [a for a in r["attempts"] if a["correct"]]} for r in read_jsonl(path / "solutions.jsonl")]
    write_jsonl(path / "solutions.jsonl", rows)
    with pytest.raises(ValueError, match=r"needs correct and incorrect solutions"):
        run_quality_classifier(params, path, workdir / "clf", workdir / "filtered.jsonl", workdir / "annotate.json")
    assert not (workdir / "filtered.jsonl").exists()


def test_science_eval_scores_with_the_rule_checker_and_caches(tiny_model_dir: Path, workdir: Path) -> None:
    run_problems(AnnotateParams(sample_dir=str(SAMPLE)), workdir / "problems")
    evaluation = ScienceEvalParams(max_new_tokens=6, max_problems=3, cache=str(workdir / "eval.sqlite"))
    params = AnnotateParams(eval=evaluation)
    predict = PredictParams(dtype="float32", batch_size=4)
    problems = sorted(read_jsonl(workdir / "problems" / "test.jsonl"), key=lambda p: p["id"])[:3]
    generator = CachedGenerator(tiny_model_dir, predict.model_copy(update={"max_new_tokens": 6}), None)
    cache = ReplyCache(workdir / "eval.sqlite")
    cache.put(generator.cache_key, problem_prompt(problems[0]), f"Steps.\nFinal answer: {problems[0]['answer']}")
    cache.put(generator.cache_key, problem_prompt(problems[1]), "Final answer: 12345 mol")
    metrics = run_science_eval("tiny", tiny_model_dir, params, predict, workdir / "problems", workdir / "eval",
                               workdir / "metrics")
    assert metrics["problems"] == 3 and metrics["accuracy"] == pytest.approx(33.33)
    assert metrics["accuracy_chemistry"] == pytest.approx(33.33) and metrics["answered"] == pytest.approx(66.67)
    assert len(cache) == 3, "the one uncached answer was generated and cached"
    rows = list(read_jsonl(workdir / "eval" / "tiny" / "answers.jsonl"))
    assert [r["correct"] for r in rows] == [True, False, False] and rows[1]["answer"] == "12345 mol"
    assert read_json(workdir / "metrics" / "tiny.json") == metrics
    before = (workdir / "eval" / "tiny" / "answers.jsonl").read_bytes()
    run_science_eval("tiny", tiny_model_dir, params, predict, workdir / "problems", workdir / "eval",
                     workdir / "metrics")
    assert len(cache) == 3 and (workdir / "eval" / "tiny" / "answers.jsonl").read_bytes() == before


def test_comparison_block(tmp_path: Path) -> None:
    assert comparison_block(["a", "b"], "a", tmp_path) is None
    write_json(tmp_path / "a.json", {"accuracy": 20.0, "accuracy_math": 10.0, "answered": 50.0, "problems": 18})
    with pytest.raises(FileNotFoundError, match=r"missing for \['b'\]"):
        comparison_block(["a", "b"], "a", tmp_path)
    write_json(tmp_path / "b.json", {"accuracy": 30.0, "accuracy_math": 5.0, "answered": 90.0, "problems": 18})
    text, deltas = comparison_block(["a", "b"], "a", tmp_path)
    assert deltas == {"b": 10.0}
    assert "| accuracy | 20.0 | 30.0 (+10.0) |" in text and "| accuracy_math | 10.0 | 5.0 (-5.0) |" in text
