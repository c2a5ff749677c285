"""SciInstruct problem ingest: the bundled sample, local files, and bad problems counted with their place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sciriff.io import DataError, read_json, read_jsonl
from sciriff.params import AnnotateParams
from sciriff.sciinstruct.problems import run_problems

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample" / "sciinstruct"


def test_bundled_sample_is_large_enough_and_all_checkable(tmp_path: Path) -> None:
    manifest = run_problems(AnnotateParams(sample_dir=str(SAMPLE)), tmp_path / "problems")
    assert manifest["rejected"] == 0
    assert manifest["problems"]["train"] + manifest["problems"]["test"] >= 60 and manifest["problems"]["test"] >= 15
    for split in ("train", "test"):
        assert set(manifest["by_subject"][split]) == {"physics", "chemistry", "math"}
        assert set(manifest["by_answer_type"][split]) == {"mc", "numeric", "expression"}
    train = list(read_jsonl(tmp_path / "problems" / "train.jsonl"))
    test = list(read_jsonl(tmp_path / "problems" / "test.jsonl"))
    assert not {p["question"] for p in train} & {p["question"] for p in test}, "held-out questions are new"
    assert train[0]["where"].endswith("train.jsonl:" + train[0]["where"].rsplit(":", 1)[1])
    labelled = list(read_jsonl(SAMPLE / "labelled.jsonl"))
    assert len(labelled) >= 40 and {r["label"] for r in labelled} == {"correct", "incorrect"}
    assert not {r["question"] for r in labelled} & {p["question"] for p in train + test}
    first = (tmp_path / "problems" / "train.jsonl").read_bytes()
    run_problems(AnnotateParams(sample_dir=str(SAMPLE)), tmp_path / "problems")
    assert (tmp_path / "problems" / "train.jsonl").read_bytes() == first, "deterministic"


def _write(path: Path, rows: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))


GOOD = {"id": "p1", "subject": "physics", "question": "Speed?", "answer": "5 m/s", "answer_type": "numeric"}


def test_bad_problems_are_counted_with_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    local = tmp_path / "local"
    _write(local / "train.jsonl", [
        GOOD,
        {**GOOD, "id": "no-answer", "answer": ""},
        {**GOOD, "id": "unparseable", "answer": "quite fast"},
        {**GOOD, "id": "p1", "question": "Again?"},
        {**GOOD, "id": "bad-letter", "answer_type": "mc", "answer": "F", "choices": ["a", "b"]},
        {**GOOD, "id": "no-question", "question": " "},
    ])
    _write(local / "test.jsonl", [{**GOOD, "id": "t1", "answer": "x + 1", "answer_type": "expression"}])
    manifest = run_problems(AnnotateParams(source="local", local_dir=str(local)), tmp_path / "problems")
    assert manifest["problems"] == {"train": 1, "test": 1} and manifest["rejected"] == 5
    rejected = {r["id"]: r for r in read_jsonl(tmp_path / "problems" / "rejected.jsonl")}
    assert rejected["no-answer"]["where"] == f"{local / 'train.jsonl'}:2"
    assert rejected["no-answer"]["reason"] == "no answer"
    assert "does not parse" in rejected["unparseable"]["reason"]
    assert "duplicate id" in rejected["p1"]["reason"] and rejected["p1"]["where"].endswith(":4")
    assert "not a letter" in rejected["bad-letter"]["reason"] and "question" in rejected["no-question"]["reason"]
    assert "train.jsonl:3: problem 'unparseable' rejected" in capsys.readouterr().err
    assert read_json(tmp_path / "problems" / "manifest.json")["source"]["kind"] == "local"


def test_malformed_json_and_empty_splits_fail_before_writing(tmp_path: Path) -> None:
    local = tmp_path / "local"
    _write(local / "train.jsonl", [GOOD, "{not json"])
    _write(local / "test.jsonl", [GOOD])
    with pytest.raises(DataError, match=r"train.jsonl:2: invalid JSON"):
        run_problems(AnnotateParams(source="local", local_dir=str(local)), tmp_path / "problems")
    _write(local / "train.jsonl", [{**GOOD, "answer": ""}])
    with pytest.raises(DataError, match="no valid train problems"):
        run_problems(AnnotateParams(source="local", local_dir=str(local)), tmp_path / "problems")
    assert not (tmp_path / "problems").exists()
