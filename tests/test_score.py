"""The score stage: compact metrics, intervals, and no result when the judge did not answer."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from sciriff.params import JudgeParams, ScoreParams
from sciriff.score import run_score

QASPER = {"task": "qasper_abstractive_qa", "input": "Question: why?\n\nPaper: text",
          "reference": '{"answer": "because", "evidence": ["text"]}', "decoding": {}}


def _predictions(tmp_path: Path) -> Path:
    folder = tmp_path / "predictions" / "m"
    folder.mkdir(parents=True)
    rows = [{**QASPER, "id": f"q{i}", "prediction": '{"answer": "because", "evidence": ["text"]}'} for i in range(3)]
    (folder / "qasper_abstractive_qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "bioasq_list_qa.jsonl").write_text(json.dumps(
        {"task": "bioasq_list_qa", "id": "b", "input": "q", "reference": '["a"]', "prediction": '["a"]',
         "decoding": {}}) + "\n")
    return tmp_path / "predictions"


@pytest.fixture(autouse=True)
def _mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_judge_fails_the_stage_and_writes_nothing(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    params = ScoreParams(judge=JudgeParams(backend="openai", model="judge", base_url=url, max_retries=0,
                                           cache=str(tmp_path / "judge.sqlite")))
    with pytest.raises(RuntimeError, match=rf"no reply from judge 'judge' at {url}"):
        run_score("m", params, _predictions(tmp_path), tmp_path / "metrics", tmp_path / "scores")
    assert not (tmp_path / "metrics").exists() and not (tmp_path / "scores").exists()


def test_scores_are_compact_with_intervals_and_parse_rates(tmp_path: Path) -> None:
    params = ScoreParams(judge=JudgeParams(backend="none"), intervals={"replicates": 50, "seed": 1})
    document = run_score("m", params, _predictions(tmp_path), tmp_path / "metrics", tmp_path / "scores")
    compact = json.loads((tmp_path / "metrics" / "m.json").read_text())
    assert compact["bioasq_f1"] == 100.0 and compact["parse_rate"] == 100.0
    assert compact["qasper_judge"] is None and compact["mean"] == pytest.approx(document["headline"]["mean"])
    assert document["ci95"]["bioasq_list_qa.f1"] == [100.0, 100.0]
    assert json.loads((tmp_path / "scores" / "m" / "metrics.json").read_text()) == json.loads(json.dumps(document))
    again = run_score("m", params, tmp_path / "predictions", tmp_path / "metrics2", tmp_path / "scores2")
    assert again["ci95"] == document["ci95"]  # seeded
    import mlflow

    run = mlflow.search_runs(experiment_names=["sciriff"], filter_string="tags.dvc_stage = 'score@m'").iloc[0]
    assert {a.path for a in mlflow.MlflowClient().list_artifacts(run["run_id"])} == {"metrics.json"}


def test_a_local_judge_path_that_does_not_exist_fails_at_once(tmp_path: Path) -> None:
    params = ScoreParams(judge=JudgeParams(backend="local", model=str(tmp_path / "nowhere")))
    with pytest.raises(ValueError, match=r"score\.judge\.model: local judge checkpoint .*nowhere.* is not a directory"):
        run_score("m", params, _predictions(tmp_path), tmp_path / "metrics", tmp_path / "scores")


def test_the_scores_record_which_judge_prompts_were_used(tmp_path: Path, tiny_model_dir: Path) -> None:
    """`judge_prompts` in data/scores/<model>/metrics.json: project, or official@<pin> of the checkout read."""
    from sciriff.evaluation.official_prompts import OFFICIAL_FILES

    checkout = tmp_path / "SciRIFF"  # the official layout with placeholder prompt functions (not their text)
    for relative, signature in ((OFFICIAL_FILES["qasper"], "instance"), (OFFICIAL_FILES["mup"], "instance, eval_type")):
        (checkout / relative).parent.mkdir(parents=True, exist_ok=True)
        (checkout / relative).write_text(f'def make_prompt({signature}):\n    prompt = f"""PLACEHOLDER\n'
                                         '    {instance[\'prompt\']}\n    Rating:"""\n    return prompt\n')
    predictions = _predictions(tmp_path)
    for prompts, expected in (("project", "project"), ("official", "official@sha256:")):
        judge = JudgeParams(backend="local", model=str(tiny_model_dir), max_tokens=8, prompts=prompts,
                            official_checkout=str(checkout), cache=str(tmp_path / f"{prompts}.sqlite"))
        params = ScoreParams(judge=judge, intervals={"replicates": 10, "seed": 1})
        run_score("m", params, predictions, tmp_path / "metrics", tmp_path / prompts)
        written = json.loads((tmp_path / prompts / "m" / "metrics.json").read_text())
        assert written["judge_prompts"].startswith(expected) and written["judge"].startswith("local:")
