import json
from pathlib import Path

import pytest

from sciriff.catalog import load_task
from sciriff.ingest import run_ingest
from sciriff.io import DataError, read_jsonl
from sciriff.params import IngestParams

REPO = Path(__file__).resolve().parents[1]
SCIFACT = load_task(REPO / "templates" / "scifact_entailment.yaml")
RECORD = {"claim_id": 1, "claim": "C", "abstract_id": 7, "title": "T", "abstract": ["s0", "s1"],
          "verdict": "SUPPORT", "evidence": [1]}
GENERAL = {"dataset": "flan_v2", "id": "g1", "messages": [{"role": "user", "content": "hi"},
                                                          {"role": "assistant", "content": "hello"}]}


def _sample(tmp_path: Path, train: list[dict], test: list[dict] | None = None) -> IngestParams:
    base = tmp_path / "sample"
    (base / "scifact_entailment").mkdir(parents=True)
    (base / "tulu_v2").mkdir()
    (base / "scifact_entailment" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in train))
    if test is not None:
        (base / "scifact_entailment" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in test))
    (base / "tulu_v2" / "train.jsonl").write_text(json.dumps(GENERAL) + "\n")
    return IngestParams(sample_dir=str(base))


def test_ingest_normalizes_sorted_records(tmp_path: Path) -> None:
    params = _sample(tmp_path, [{**RECORD, "claim_id": 2}, RECORD])
    counts = run_ingest([SCIFACT], params, tmp_path / "raw")
    assert counts == {"scifact_entailment": 2, "general": 1}
    rows = list(read_jsonl(tmp_path / "raw" / "scifact_entailment.jsonl"))
    assert [r["id"] for r in rows] == ["1_7", "2_7"]
    assert rows[0]["fields"]["evidence"] == ["s1"] and rows[0]["split"] == "train"


def test_malformed_record_names_file_and_line_and_keeps_output(tmp_path: Path) -> None:
    good = _sample(tmp_path, [RECORD])
    run_ingest([SCIFACT], good, tmp_path / "raw")
    before = (tmp_path / "raw" / "scifact_entailment.jsonl").read_bytes()
    bad = _sample(tmp_path / "b", [RECORD, {**RECORD, "claim_id": 3, "evidence": [9]}])
    with pytest.raises(DataError, match=r"train\.jsonl:2: malformed scifact_entailment record: evidence indices"):
        run_ingest([SCIFACT], bad, tmp_path / "raw")
    assert (tmp_path / "raw" / "scifact_entailment.jsonl").read_bytes() == before


def test_same_id_in_two_splits_is_an_error(tmp_path: Path) -> None:
    params = _sample(tmp_path, [RECORD], [RECORD])
    with pytest.raises(DataError, match="id '1_7' is in both train and test"):
        run_ingest([SCIFACT], params, tmp_path / "raw")


def test_general_conversation_shape_is_checked(tmp_path: Path) -> None:
    params = _sample(tmp_path, [RECORD])
    path = Path(params.sample_dir) / "tulu_v2" / "train.jsonl"
    path.write_text(json.dumps({**GENERAL, "messages": GENERAL["messages"][:1]}) + "\n")
    with pytest.raises(DataError, match=r"tulu_v2/train\.jsonl:1: messages must alternate"):
        run_ingest([SCIFACT], params, tmp_path / "raw")
