from pathlib import Path

from sciriff.io import read_json, read_jsonl, write_json, write_jsonl
from sciriff.mix import run_mix
from sciriff.params import MixParams


def _rendered(tmp_path: Path) -> tuple[Path, Path]:
    rendered, raw = tmp_path / "rendered", tmp_path / "raw"
    manifest = {}
    for task, is_eval in (("train_a", False), ("train_b", False), ("held_out", True)):
        rows = [{"_instance_id": f"{task}:train:{i}", "input": f"{task} q{i}", "output": f"a{i}",
                 "metadata": {"task": task}} for i in range(12)]
        write_jsonl(rendered / task / "train.jsonl", rows)
        manifest[task] = {"eval": is_eval, "family": "qa"}
    write_json(rendered / "manifest.json", manifest)
    general = [{"dataset": "science.scifact_json" if i % 5 == 0 else "flan_v2", "id": f"g{i:03d}",
                "messages": [{"role": "user", "content": f"u{i}"}, {"role": "assistant", "content": f"a{i}"}]}
               for i in range(60)]
    write_jsonl(raw / "general.jsonl", general)
    return rendered, raw


def test_mix_recipe(tmp_path: Path) -> None:
    rendered, raw = _rendered(tmp_path)
    manifest = run_mix(MixParams(per_task=5), rendered, raw, tmp_path / "mix")
    rows = list(read_jsonl(tmp_path / "mix" / "train.jsonl"))
    science = [r for r in rows if r["dataset"].startswith("sciriff.")]
    general = [r for r in rows if not r["dataset"].startswith("sciriff.")]
    assert manifest["per_task"] == {"train_a": 5, "train_b": 5}
    assert not any("held_out" in r["dataset"] for r in rows), "evaluation tasks never enter the mix"
    assert len(general) == len(science) == 10, "general part matches the science part"
    assert not any(r["dataset"].startswith("science.") for r in general), "Tulu science.* subsets are dropped"
    assert science[0]["messages"][0]["role"] == "user" and science[0]["messages"][1]["role"] == "assistant"
    assert read_json(tmp_path / "mix" / "manifest.json")["total"] == 20


def test_mix_is_deterministic_and_nested(tmp_path: Path) -> None:
    rendered, raw = _rendered(tmp_path)
    run_mix(MixParams(per_task=3), rendered, raw, tmp_path / "small")
    first = (tmp_path / "small" / "train.jsonl").read_bytes()
    run_mix(MixParams(per_task=3), rendered, raw, tmp_path / "small")
    assert (tmp_path / "small" / "train.jsonl").read_bytes() == first
    run_mix(MixParams(per_task=6), rendered, raw, tmp_path / "large")
    small = {r["id"] for r in read_jsonl(tmp_path / "small" / "train.jsonl") if r["dataset"].startswith("sciriff.")}
    large = {r["id"] for r in read_jsonl(tmp_path / "large" / "train.jsonl") if r["dataset"].startswith("sciriff.")}
    assert small < large, "a larger per_task extends the smaller sample"


def test_small_general_pool_is_a_recorded_shortfall(tmp_path: Path) -> None:
    rendered, raw = _rendered(tmp_path)
    rows = list(read_jsonl(raw / "general.jsonl"))[:10]  # 8 usable after dropping science.*
    write_jsonl(raw / "general.jsonl", rows)
    manifest = run_mix(MixParams(per_task=100), rendered, raw, tmp_path / "mix")
    assert manifest["per_task"] == {"train_a": 12, "train_b": 12}, "tasks with fewer instances give all they have"
    assert manifest["general"] == 8 and manifest["general_shortfall"] == 16


def test_mix_never_contains_a_held_out_general_conversation(tmp_path: Path) -> None:
    """The bundled sample, ingested for real: even `general: all` takes nothing from general_test.jsonl."""
    from sciriff.ingest import run_ingest
    from sciriff.params import IngestParams

    repo = Path(__file__).resolve().parents[1]
    counts = run_ingest([], IngestParams(sample_dir=str(repo / "data" / "sample")), tmp_path / "raw")
    assert counts["general_test"] == 24
    write_json(tmp_path / "rendered" / "manifest.json", {})
    run_mix(MixParams(per_task=0, general="all"), tmp_path / "rendered", tmp_path / "raw", tmp_path / "mix")
    mix = list(read_jsonl(tmp_path / "mix" / "train.jsonl"))
    held_out = list(read_jsonl(tmp_path / "raw" / "general_test.jsonl"))
    assert len(mix) == counts["general"] - sum(r["dataset"].startswith("science.")
                                               for r in read_jsonl(tmp_path / "raw" / "general.jsonl"))
    assert not {r["id"] for r in mix} & {r["id"] for r in held_out}
    prompts = {m["content"] for r in mix for m in r["messages"] if m["role"] == "user"}
    assert not prompts & {r["messages"][0]["content"] for r in held_out}
def _filtered(tmp_path: Path, n: int = 10) -> Path:
    rows = [{"dataset": "sciinstruct.physics", "id": f"phys-{i:03d}",
             "messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"s{i}"}]}
            for i in range(n)]
    write_jsonl(tmp_path / "filtered.jsonl", rows)
    return tmp_path / "filtered.jsonl"


def test_sciinstruct_zero_leaves_the_mix_byte_identical(tmp_path: Path) -> None:
    rendered, raw = _rendered(tmp_path)
    run_mix(MixParams(per_task=5), rendered, raw, tmp_path / "before", tmp_path / "does-not-exist.jsonl")
    run_mix(MixParams(per_task=5, sciinstruct=0), rendered, raw, tmp_path / "after", _filtered(tmp_path))
    for name in ("train.jsonl", "manifest.json"):
        assert (tmp_path / "after" / name).read_bytes() == (tmp_path / "before" / name).read_bytes()


def test_sciinstruct_count_and_fraction(tmp_path: Path) -> None:
    rendered, raw = _rendered(tmp_path)
    filtered = _filtered(tmp_path)
    manifest = run_mix(MixParams(per_task=5, sciinstruct=4), rendered, raw, tmp_path / "four", filtered)
    rows = list(read_jsonl(tmp_path / "four" / "train.jsonl"))
    added = [r for r in rows if r["dataset"].startswith("sciinstruct.")]
    assert len(added) == 4 and manifest["sciinstruct"] == 4 and manifest["sciinstruct_shortfall"] == 0
    assert manifest["general"] == manifest["science"] == 10, "the general part still matches the SciRIFF part"
    assert manifest["total"] == 24 == len(rows)
    half = run_mix(MixParams(per_task=5, sciinstruct=0.5), rendered, raw, tmp_path / "half", filtered)
    assert half["sciinstruct"] == 5
    assert {r["id"] for r in added} < {r["id"] for r in read_jsonl(tmp_path / "half" / "train.jsonl")
                                       if r["dataset"].startswith("sciinstruct.")}, "a larger share extends a smaller"
    everything = run_mix(MixParams(per_task=5, sciinstruct=1.0), rendered, raw, tmp_path / "all", filtered)
    assert everything["sciinstruct"] == 10
    many = run_mix(MixParams(per_task=5, sciinstruct=50), rendered, raw, tmp_path / "many", filtered)
    assert many["sciinstruct"] == 10 and many["sciinstruct_shortfall"] == 40


def test_sciinstruct_param_validation_and_missing_file(tmp_path: Path) -> None:
    import pytest

    from sciriff.io import DataError

    for bad in (-1, 1.5, 0.0):
        with pytest.raises(ValueError, match="mix.sciinstruct"):
            MixParams(sciinstruct=bad)
    rendered, raw = _rendered(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        run_mix(MixParams(per_task=5, sciinstruct=3), rendered, raw, tmp_path / "mix", tmp_path / "nope.jsonl")
