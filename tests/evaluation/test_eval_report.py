"""The 11-column headline, its mean, and score_file's round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sciriff.evaluation import EVALUATORS, HEADLINE_COLUMNS, TaskScore, headline, score_file, score_task
from sciriff.io import DataError

PAPER_TABLE = Path("/work/shared/reference/paper_table.json")
SCITULU_7B = {  # the paper's SciTulu 7B row (0-100), mean 47.0
    "bioasq_list_qa.f1": 37.5, "biored_ner.f1": 55.7, "discomat_te.bleu": 61.5,
    "evidence_inference.f1_overlap": 11.6, "multicite_intent_classification.f1": 34.6,
    "mup_single_document_summarization.lm_judge_reference": 72.1,
    "qasper_abstractive_qa.lm_judge_answer": 54.2, "qasper_abstractive_qa.f1_evidence": 38.6,
    "scierc_ner.f1": 35.6, "scifact_entailment.f1_label": 66.0, "scifact_entailment.f1_evidence_token": 49.2,
}


def scores_from_row(row: dict[str, float | None]) -> dict[str, TaskScore]:
    scores: dict[str, TaskScore] = {}
    for column, value in row.items():
        task, metric = column.split(".")
        scores.setdefault(task, TaskScore(flat={}, summary={})).summary[metric] = (
            None if value is None else value / 100)
    return scores


def test_headline_columns_are_the_papers() -> None:
    assert list(HEADLINE_COLUMNS) == list(SCITULU_7B)
    assert {c.split(".")[0] for c in HEADLINE_COLUMNS} == set(EVALUATORS)
    for column in HEADLINE_COLUMNS:
        task, metric = column.split(".")
        assert metric in EVALUATORS[task].summary_keys
    if PAPER_TABLE.exists():
        assert list(HEADLINE_COLUMNS) == [k for k in json.loads(PAPER_TABLE.read_text())["metrics"] if k != "mean"]


def test_headline_reproduces_the_paper_mean() -> None:
    head = headline(scores_from_row(SCITULU_7B))
    assert [head[c] for c in HEADLINE_COLUMNS] == pytest.approx(list(SCITULU_7B.values()))
    assert head["n_columns"] == 11
    assert round(head["mean"], 1) == 47.0
    assert head["median"] == pytest.approx(49.2)


def test_headline_without_judge_columns() -> None:
    row = dict(SCITULU_7B)
    row["mup_single_document_summarization.lm_judge_reference"] = None
    row["qasper_abstractive_qa.lm_judge_answer"] = None
    del row["discomat_te.bleu"]  # a task that was not scored at all
    head = headline(scores_from_row(row))
    present = [v for v in row.values() if v is not None]
    assert head["n_columns"] == 8
    assert head["mean"] == pytest.approx(sum(present) / 8)
    assert head["discomat_te.bleu"] is None and head["qasper_abstractive_qa.lm_judge_answer"] is None
    assert headline({}) == {**dict.fromkeys(HEADLINE_COLUMNS), "mean": None, "median": None, "n_columns": 0}


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_score_file_round_trip(tmp_path: Path) -> None:
    rows = [
        {"task": "bioasq_list_qa", "id": "b1", "prediction": '["a", "b"]', "reference": '["a"]', "input": "q1"},
        {"task": "scifact_entailment", "id": "s1",
         "prediction": '{"verdict": "SUPPORT", "evidence": ["It works."]}',
         "reference": '{"verdict": "SUPPORT", "evidence": ["It works."]}', "input": "claim"},
        {"task": "bioasq_list_qa", "id": "b2", "prediction": None, "reference": '["c"]', "input": "q2"},
        {"task": "discomat_te", "id": "d1", "prediction": '{"value": "1", "type": "Other"}',
         "reference": '{"value": "1", "type": "Other"}', "input": "table"},
    ]
    predictions = tmp_path / "predictions.jsonl"
    write_jsonl(predictions, rows)
    result = score_file(predictions, tmp_path / "out")
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert list(metrics) == ["bioasq_list_qa", "discomat_te", "scifact_entailment"]
    direct = score_task("bioasq_list_qa", ['["a", "b"]', ""], ['["a"]', '["c"]'], ["q1", "q2"])
    assert metrics["bioasq_list_qa"] == direct.flat
    assert metrics["bioasq_list_qa"]["all_p"] == 0.5 and metrics["bioasq_list_qa"]["all_r"] == 0.5
    assert summary["bioasq_list_qa.f1"] == pytest.approx(50.0)
    assert summary["scifact_entailment.f1_label"] == 100.0
    assert summary["discomat_te.bleu"] == pytest.approx(100.0)
    assert summary["n_columns"] == 4 and summary["mean"] == pytest.approx((50 + 100 + 100 + 100) / 4)
    assert summary["judge"] is None
    assert result["summary"] == summary and result["metrics"] == metrics


def test_score_file_nan_written_as_null(tmp_path: Path) -> None:
    row = {"task": "qasper_abstractive_qa", "id": "q", "prediction": '{"answer": "x"}',
           "reference": '{"answer": "x", "evidence": ["p"]}', "input": ""}
    predictions = tmp_path / "p.jsonl"
    write_jsonl(predictions, [row])
    score_file(predictions, tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text())  # strict JSON: no NaN token
    assert metrics["qasper_abstractive_qa"]["all_f1_evidence_parsed"] is None


@pytest.mark.parametrize(
    ("line", "message"),
    [({"task": "bioasq", "prediction": "[]", "reference": "[]"}, r"p\.jsonl:2: unknown task 'bioasq'"),
     ({"task": "bioasq_list_qa", "id": "2", "prediction": "[]", "reference": ["a"]},
      r":2: field 'reference' must be a string"),
     ({"task": "bioasq_list_qa", "id": "1", "prediction": "[]", "reference": "[]"},
      r":2: duplicate id '1' for bioasq_list_qa \(first at line 1\)"),
     ({"task": "bioasq_list_qa", "id": None, "prediction": "[]", "reference": "[]"},
      r":2: field 'id' must be a non-empty string, got None")],
)
def test_score_file_bad_lines_name_the_line(tmp_path: Path, line: dict, message: str) -> None:
    good = {"task": "bioasq_list_qa", "id": "1", "prediction": "[]", "reference": "[]", "input": ""}
    write_jsonl(tmp_path / "p.jsonl", [good, line])
    with pytest.raises(DataError, match=message):
        score_file(tmp_path / "p.jsonl", tmp_path / "out")
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_score_file_empty_file_and_out_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "p.jsonl").write_text("")
    with pytest.raises(DataError, match=r"p\.jsonl: no predictions \(the file is empty\)"):
        score_file(tmp_path / "p.jsonl", tmp_path / "out")
    (tmp_path / "out.txt").write_text("x")
    with pytest.raises(DataError, match=r"--out .*out\.txt: is a file"):
        score_file(tmp_path / "p.jsonl", tmp_path / "out.txt")


def test_score_file_reports_gold_ids_without_a_prediction(tmp_path: Path) -> None:
    gold = tmp_path / "rendered" / "bioasq_list_qa"
    gold.mkdir(parents=True)
    write_jsonl(gold / "test.jsonl", [{"_instance_id": i, "input": "q", "output": "[]"} for i in ("1", "2", "3")])
    write_jsonl(tmp_path / "p.jsonl", [{"task": "bioasq_list_qa", "id": "2", "prediction": "[]", "reference": "[]",
                                        "input": "q"}])
    result = score_file(tmp_path / "p.jsonl", tmp_path / "out", gold_dir=tmp_path / "rendered")
    assert result["missing"] == {"bioasq_list_qa": ["1", "3"]}
    assert "2 gold instance(s) have no prediction" in result["warnings"]["bioasq_list_qa"][-1]
