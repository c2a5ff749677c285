"""Every task file validates, and renders at least one instance from its bundled sample."""

from pathlib import Path

import pytest

from sciriff.adapters import get_adapter
from sciriff.catalog import TaskFileError, keep_instance, load_catalog, load_task, render_instance
from sciriff.ingest import SPLITS
from sciriff.io import read_jsonl

REPO = Path(__file__).resolve().parents[1]
CATALOG = load_catalog(REPO / "templates")


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_task_renders_from_its_sample(name: str) -> None:
    task = CATALOG[name]
    adapt = get_adapter(task.source["adapter"])
    rendered = 0
    for split in SPLITS:
        path = REPO / "data" / "sample" / task.source_name / f"{split}.jsonl"
        if not path.exists():
            continue
        for record in read_jsonl(path):
            produced = adapt(record)
            for fields in produced if isinstance(produced, list) else [produced]:
                if keep_instance(task, fields):
                    prompt, answer = render_instance(task, fields)
                    assert prompt and answer
                    rendered += 1
    assert rendered > 0, f"{name}: no instance rendered from data/sample/{task.source_name}"


def test_tasks_sharing_a_source_share_its_adapter() -> None:
    adapters: dict[str, str] = {}
    for task in CATALOG.values():
        assert adapters.setdefault(task.source_name, task.source["adapter"]) == task.source["adapter"], task.name


def test_schema_error_names_file_and_key(tmp_path: Path) -> None:
    text = (REPO / "templates" / "scifact_entailment.yaml").read_text().replace("family: entailment", "family: poetry")
    path = tmp_path / "scifact_entailment.yaml"
    path.write_text(text)
    with pytest.raises(TaskFileError, match=r"scifact_entailment\.yaml: key 'family': 'poetry' is not one of"):
        load_task(path)


def test_name_must_match_file(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text((REPO / "templates" / "scifact_entailment.yaml").read_text())
    with pytest.raises(TaskFileError, match="must equal the file name"):
        load_task(path)
