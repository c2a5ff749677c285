from pathlib import Path

import pytest

from sciriff.io import read_jsonl, write_json, write_jsonl
from sciriff.params import PredictParams
from sciriff.predict import run_predict


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    rendered = tmp_path / "rendered"
    rows = [{"_instance_id": f"toy:test:{i}", "id": str(i), "input": "Say something" + "!" * i, "output": "[]",
             "metadata": {"task": "toy"}} for i in range(5)]
    write_jsonl(rendered / "toy" / "test.jsonl", rows)
    write_jsonl(rendered / "train_only" / "test.jsonl", rows)
    write_json(rendered / "manifest.json", {"toy": {"eval": True}, "train_only": {"eval": False}})
    return tmp_path


def test_predict_is_batched_resumable_and_sorted(tiny_model_dir: Path, workdir: Path) -> None:
    params = PredictParams(batch_size=2, max_new_tokens=4, dtype="float32")
    counts = run_predict("tiny", tiny_model_dir, params, workdir / "rendered", workdir / "preds")
    assert counts == {"toy": 5}, "only evaluation tasks are predicted"
    final = workdir / "preds" / "tiny" / "toy.jsonl"
    first = final.read_bytes()
    records = list(read_jsonl(final))
    assert [r["id"] for r in records] == sorted(r["id"] for r in records)
    assert records[0]["decoding"] == {"do_sample": False, "num_beams": 1, "max_new_tokens": 4, "dtype": "float32"}
    assert {"task", "prediction", "reference", "input", "model", "backend", "prompt_sha256"} <= set(records[0])

    # Interrupt: keep two finished predictions only; the rerun generates the other three.
    (partial,) = (workdir / ".cache" / "predict").glob("tiny-*/toy.jsonl")
    lines = partial.read_text().splitlines()[:2]
    partial.write_text("\n".join(lines) + "\n")
    final.unlink()
    run_predict("tiny", tiny_model_dir, params, workdir / "rendered", workdir / "preds")
    assert final.read_bytes() == first
    assert len(partial.read_text().splitlines()) == 5
