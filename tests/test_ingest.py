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
HELD_OUT = {"dataset": "lima", "id": "t1", "messages": [{"role": "user", "content": "Name a colour."},
                                                        {"role": "assistant", "content": "Blue."}]}


def _sample(tmp_path: Path, train: list[dict], test: list[dict] | None = None) -> IngestParams:
    base = tmp_path / "sample"
    (base / "scifact_entailment").mkdir(parents=True)
    (base / "tulu_v2").mkdir()
    (base / "scifact_entailment" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in train))
    if test is not None:
        (base / "scifact_entailment" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in test))
    (base / "tulu_v2" / "train.jsonl").write_text(json.dumps(GENERAL) + "\n")
    (base / "tulu_v2" / "test.jsonl").write_text(json.dumps(HELD_OUT) + "\n")
    return IngestParams(sample_dir=str(base))


def test_ingest_normalizes_sorted_records(tmp_path: Path) -> None:
    params = _sample(tmp_path, [{**RECORD, "claim_id": 2}, RECORD])
    counts = run_ingest([SCIFACT], params, tmp_path / "raw")
    assert counts == {"scifact_entailment": 2, "general": 1, "general_test": 1}
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


def test_null_id_names_file_and_line_instead_of_becoming_none(tmp_path: Path) -> None:
    bad = _sample(tmp_path, [RECORD, {**RECORD, "claim_id": None}])
    with pytest.raises(DataError, match=r"train\.jsonl:2: malformed scifact_entailment record: key 'claim_id' is null"):
        run_ingest([SCIFACT], bad, tmp_path / "raw")


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


def test_held_out_general_file_is_written_apart_from_the_general_data(tmp_path: Path) -> None:
    run_ingest([SCIFACT], _sample(tmp_path, [RECORD]), tmp_path / "raw")
    assert [r["id"] for r in read_jsonl(tmp_path / "raw" / "general.jsonl")] == ["g1"]
    assert list(read_jsonl(tmp_path / "raw" / "general_test.jsonl")) == [HELD_OUT]


@pytest.mark.parametrize(("change", "what"), [({"id": "g1"}, "id 'g1'"),
                                               ({"messages": [{"role": "user", "content": " hi "},
                                                              {"role": "assistant", "content": "x"}]},
                                                "user prompt of 't1'")])
def test_held_out_overlapping_the_general_data_names_both_lines(tmp_path: Path, change: dict, what: str) -> None:
    params = _sample(tmp_path, [RECORD])
    (Path(params.sample_dir) / "tulu_v2" / "test.jsonl").write_text(json.dumps({**HELD_OUT, **change}) + "\n")
    with pytest.raises(DataError, match=rf"tulu_v2/test\.jsonl:1: {what}.* is also in the general training data "
                                        rf"at .*tulu_v2/train\.jsonl:1"):
        run_ingest([SCIFACT], params, tmp_path / "raw")
    assert not (tmp_path / "raw").exists(), "nothing is written"


def test_held_out_conversation_must_be_one_turn(tmp_path: Path) -> None:
    params = _sample(tmp_path, [RECORD])
    two_turns = HELD_OUT["messages"] * 2
    (Path(params.sample_dir) / "tulu_v2" / "test.jsonl").write_text(json.dumps({**HELD_OUT, "messages": two_turns})
                                                                     + "\n")
    with pytest.raises(DataError, match=r"test\.jsonl:1: a held-out general conversation must be one user turn"):
        run_ingest([SCIFACT], params, tmp_path / "raw")
    (Path(params.sample_dir) / "tulu_v2" / "test.jsonl").unlink()
    with pytest.raises(DataError, match=r"tulu_v2/test\.jsonl: held-out general instructions not found"):
        run_ingest([SCIFACT], params, tmp_path / "raw")


def test_released_sciriff_data_is_routed_by_task(tmp_path: Path, tiny_model_dir: Path) -> None:
    """Released instances (input/output/metadata/_instance_id) render as they are, keeping their ids."""
    from sciriff.params import ReleasedParams, RenderParams
    from sciriff.render import run_render

    released = tmp_path / "released"
    released.mkdir()
    meta = {"task_family": "entailment", "domains": ["biomedicine"]}
    rows = {"train": [{"_instance_id": f"scifact_entailment:train:{i}", "input": f"claim {i}",
                       "output": '{"verdict": "NEI", "evidence": []}', "metadata": meta} for i in range(3)],
            "validation": [{"_instance_id": "scifact_entailment:validation:0", "input": "c", "output": "o",
                            "metadata": meta},
                           {"_instance_id": "other_task:validation:0", "input": "x", "output": "y", "metadata": {}}]}
    for split, records in rows.items():
        (released / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    params = _sample(tmp_path, [RECORD]).model_copy(
        update={"source": "released", "local_dir": str(tmp_path / "sample"),
                "released": ReleasedParams(local=str(released))})
    counts = run_ingest([SCIFACT], params, tmp_path / "raw")
    assert counts == {"released": 4, "general": 1, "general_test": 1}, "other tasks' instances are left out"
    run_render([SCIFACT], RenderParams(), tiny_model_dir, tmp_path / "raw", tmp_path / "rendered", tmp_path / "c.csv")
    train = list(read_jsonl(tmp_path / "rendered" / "scifact_entailment" / "train.jsonl"))
    assert [r["_instance_id"] for r in train] == [f"scifact_entailment:train:{i}" for i in range(3)]
    assert train[0]["input"] == "claim 0" and train[0]["metadata"]["task"] == "scifact_entailment"


def test_released_record_without_instance_id_is_an_error(tmp_path: Path) -> None:
    from sciriff.params import ReleasedParams

    released = tmp_path / "released"
    released.mkdir()
    (released / "train.jsonl").write_text(json.dumps({"input": "a", "output": "b", "metadata": {}}) + "\n")
    params = _sample(tmp_path, [RECORD]).model_copy(
        update={"source": "released", "local_dir": str(tmp_path / "sample"),
                "released": ReleasedParams(local=str(released))})
    with pytest.raises(DataError, match=r"released/train\.jsonl:1: missing key '_instance_id'"):
        run_ingest([SCIFACT], params, tmp_path / "raw")


def test_fake_hub_resolved_branch_loads_with_datasets_from_a_local_dataset_dir(tmp_path: Path, fake_hub) -> None:
    """`source: hf` goes through datasets.load_dataset(id, subset, revision=<resolved sha>); a local
    directory of JSONL splits is a valid id for it, so the hub code path runs offline on project-made
    data. The revision lookup (HfApi.dataset_info) is the one stand-in: FakeHub, the hub is not reachable."""
    from dataclasses import replace

    hub = tmp_path / "hub_scifact"
    hub.mkdir()
    (hub / "train.jsonl").write_text(json.dumps(RECORD) + "\n")
    (hub / "test.jsonl").write_text(json.dumps({**RECORD, "claim_id": 9}) + "\n")
    general = tmp_path / "hub_general"
    general.mkdir()
    (general / "train.jsonl").write_text(json.dumps(GENERAL) + "\n")
    task = replace(SCIFACT, source={**SCIFACT.source, "hf": {"id": str(hub), "revision": "main", "subset": None}})
    sample = _sample(tmp_path, [RECORD]).sample_dir  # the held-out general file comes from the sample dir
    params = IngestParams(source="hf", sample_dir=sample, general={"id": str(general), "revision": "main"})
    assert run_ingest([task], params, tmp_path / "raw", hub=fake_hub) == {"scifact_entailment": 2, "general": 1,
                                                                          "general_test": 1}
    rows = list(read_jsonl(tmp_path / "raw" / "scifact_entailment.jsonl"))
    assert [(r["split"], r["id"]) for r in rows] == [("train", "1_7"), ("test", "9_7")]


def test_unknown_task_in_params_names_the_key() -> None:
    from sciriff.catalog import TaskFileError, load_catalog, select_tasks

    with pytest.raises(TaskFileError, match=r"params.yaml: tasks: unknown task\(s\) \['sciq'\]; available: "):
        select_tasks(load_catalog(REPO / "templates"), ["scifact_entailment", "sciq"], "tasks")
