import json
from pathlib import Path

import pytest

from sciriff.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_judge_params(tmp_path: Path) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text("score:\n  judge:\n    backend: none\n")
    return path


def test_score_file_writes_metrics_and_summary(tmp_path: Path, no_judge_params: Path, capsys) -> None:
    rows = [
        {"task": "bioasq_list_qa", "id": "a", "prediction": '["BRCA1", "tp53"]', "reference": '["TP53", "BRCA1"]',
         "input": "q"},
        {"task": "bioasq_list_qa", "id": "b", "prediction": "no json here", "reference": '["x"]', "input": "q"},
    ]
    predictions = tmp_path / "preds.jsonl"
    predictions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["--params", str(no_judge_params), "score-file", "--predictions", str(predictions),
                 "--out", str(tmp_path / "out")]) == 0
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    # 2 of 3 gold answers found, 2 predicted, both right: P=1, R=2/3, F1=0.8.
    assert metrics["bioasq_list_qa"]["all_f1"] == pytest.approx(0.8)
    assert metrics["bioasq_list_qa"]["json_parsed"] == pytest.approx(0.5)
    assert summary["bioasq_list_qa.f1"] == pytest.approx(80.0)
    assert summary["n_columns"] == 1


def test_tasks_json_and_validate(capsys) -> None:
    assert main(["--params", str(REPO / "params.yaml"), "tasks", "--json", "--templates", str(REPO / "templates"),
                 "--sample-dir", str(REPO / "data" / "sample")]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sum(r["eval"] for r in rows) == 9
    assert all(r["sample"] for r in rows), "every task ships sample data"
    assert main(["--params", str(REPO / "params.yaml"), "tasks", "validate", "--templates",
                 str(REPO / "templates")]) == 0
    assert f"{len(rows)} task files valid" in capsys.readouterr().out


def test_bad_params_exit_with_the_key(tmp_path: Path, capsys) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("mix:\n  per_task: lots\n")
    assert main(["--params", str(path), "mix"]) == 2
    assert "mix.per_task" in capsys.readouterr().err


def test_eval_tasks_agree_with_the_evaluators() -> None:
    from sciriff.catalog import load_catalog
    from sciriff.evaluation import EVALUATORS

    held_out = {t.name for t in load_catalog(REPO / "templates").values() if t.eval}
    assert held_out == set(EVALUATORS)
