from pathlib import Path

import pytest

from sciriff.catalog import load_task
from sciriff.io import DataError, read_json, read_jsonl, write_jsonl
from sciriff.params import RenderParams
from sciriff.render import TokenCounter, assign_splits, run_render, subsample

TASK = """\
name: toy_classification
version: 1
family: classification
task_type: classification
domains: [misc]
source_type: single_source
input_context: paragraph
output_context: json
eval: false
source: {name: toy, adapter: none}
templates:
  - prompt: "Classify: {{ text }}"
    answer: '{{ {"label": label} | tojson }}'
"""


def ids(n: int, prefix: str = "x") -> list[str]:
    return [f"{prefix}{i:03d}" for i in range(n)]


def test_single_split_is_divided_60_20_20() -> None:
    assignment = assign_splits({"train": ids(100)}, "t", 0.2)
    counts = {s: sum(v == s for v in assignment.values()) for s in ("train", "validation", "test")}
    assert counts == {"train": 60, "validation": 20, "test": 20}


def test_train_plus_test_carves_validation_from_train() -> None:
    assignment = assign_splits({"train": ids(50), "test": ids(5, "t")}, "t", 0.2)
    values = list(assignment.values())
    assert values.count("validation") == 5  # min(len(test)=5, 20% of 50=10)
    assert values.count("train") == 45 and values.count("test") == 5
    assert all(assignment[i] == "test" for i in ids(5, "t"))


def test_train_plus_validation_becomes_test() -> None:
    assignment = assign_splits({"train": ids(10), "validation": ids(30, "v")}, "t", 0.2)
    assert all(assignment[i] == "test" for i in ids(30, "v"))
    assert list(assignment.values()).count("validation") == 2


def test_splits_and_subsample_are_deterministic() -> None:
    a = assign_splits({"train": ids(40)}, "task", 0.2)
    b = assign_splits({"train": list(reversed(ids(40)))}, "task", 0.2)
    assert a == b
    assert subsample(ids(100), "task", "train", 10) == subsample(ids(100)[::-1], "task", "train", 10)
    assert len(subsample(ids(100), "task", "train", 10)) == 10


def _setup(tmp_path: Path, rows: list[dict], task_text: str = TASK) -> tuple:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "toy_classification.yaml").write_text(task_text)
    write_jsonl(tmp_path / "raw" / "toy.jsonl", rows)
    return load_task(templates / "toy_classification.yaml"), tmp_path / "raw", tmp_path / "rendered"


def test_render_writes_splits_drops_long_and_is_byte_identical(tmp_path: Path, tiny_model_dir: Path) -> None:
    rows = [
        {
            "id": f"r{i:02d}",
            "split": "train",
            "fields": {"id": f"r{i:02d}", "text": "word " * (5 if i else 900), "label": "a"},
        }
        for i in range(20)
    ]
    task, raw, out = _setup(tmp_path, rows)
    params = RenderParams(context_window=256, reserved_tokens=20)
    manifest = run_render([task], params, tiny_model_dir, raw, out, tmp_path / "counts.csv")
    stats = manifest["toy_classification"]
    assert sum(stats["dropped_too_long"].values()) == 1
    assert sum(stats["splits"].values()) == 19
    first = {p.name: p.read_bytes() for p in (out / "toy_classification").iterdir()}
    record = next(read_jsonl(out / "toy_classification" / "train.jsonl"))
    assert record["_instance_id"] == "toy_classification:train:0"
    assert record["output"] == '{"label": "a"}' and record["input"].startswith("Classify: word")
    assert record["metadata"]["task"] == "toy_classification"
    assert read_json(out / "manifest.json")["toy_classification"]["eval"] is False
    run_render([task], params, tiny_model_dir, raw, out, tmp_path / "counts.csv")
    assert first == {p.name: p.read_bytes() for p in (out / "toy_classification").iterdir()}


def test_token_counts_equal_the_tokenizers_own(tiny_model_dir: Path) -> None:
    """The Rust backend's fast batch encoding counts exactly what the transformers tokenizer returns."""
    counter = TokenCounter(tiny_model_dir)
    texts = ["", "Classify: word word", '{"label": "a"}', "<|im_start|>user\nÜnïcode — 3.5 µm\n\n  tabs\t", "x " * 700]
    expected = [len(ids) for ids in counter.tokenizer(texts, add_special_tokens=False)["input_ids"]]
    assert counter(texts) == expected and expected[3] > 5


def test_missing_field_names_task_template_instance_and_keeps_old_output(tmp_path: Path, tiny_model_dir: Path) -> None:
    rows = [{"id": "r1", "split": "train", "fields": {"id": "r1", "text": "hello"}}]  # no 'label'
    task, raw, out = _setup(tmp_path, rows)
    (out / "keep").mkdir(parents=True)
    (out / "keep" / "old.jsonl").write_text("old\n")
    with pytest.raises(DataError, match=r"task toy_classification, template 0, instance r1: .*label"):
        run_render([task], RenderParams(), tiny_model_dir, raw, out, tmp_path / "counts.csv")
    assert (out / "keep" / "old.jsonl").read_text() == "old\n"


def test_unparsable_json_output_is_an_error(tmp_path: Path, tiny_model_dir: Path) -> None:
    rows = [{"id": "r1", "split": "train", "fields": {"id": "r1", "text": "hello", "label": "a"}}]
    task, raw, out = _setup(
        tmp_path, rows, TASK.replace("'{{ {\"label\": label} | tojson }}'", "'{label: {{ label }}'")
    )
    with pytest.raises(DataError, match="instance r1: the rendered output is not valid JSON"):
        run_render([task], RenderParams(), tiny_model_dir, raw, out, tmp_path / "counts.csv")
