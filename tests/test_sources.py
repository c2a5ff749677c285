"""Pinned sources: ingest resolves hub revisions to commit shas, records them, and `tasks pin` writes them back.

The hub is not reachable here: revision lookups go to FakeHub (tests/conftest.py), a stand-in for
huggingface_hub.HfApi.dataset_info; everything else (datasets loading a local directory, the task
files, the CLI) is the real code.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from test_ingest import GENERAL, RECORD, SCIFACT  # the same scifact task, record and conversation

from sciriff.catalog import load_catalog
from sciriff.cli import main
from sciriff.ingest import run_ingest
from sciriff.io import DataError
from sciriff.params import IngestParams
from sciriff.sources import SourceLedger, content_hash, pin_task_files, set_revision

REPO = Path(__file__).resolve().parents[1]
PINNED = "0123456789abcdef0123456789abcdef01234567"


def _hub_dirs(tmp_path: Path) -> tuple[Path, Path]:
    """Project-made datasets in local directories: valid `datasets.load_dataset` ids, offline."""
    data, general = tmp_path / "hub_scifact", tmp_path / "hub_general"
    data.mkdir()
    general.mkdir()
    (data / "train.jsonl").write_text(json.dumps(RECORD) + "\n")
    (general / "train.jsonl").write_text(json.dumps(GENERAL) + "\n")
    return data, general


def test_fake_hub_branch_is_resolved_recorded_and_warned_naming_the_task_file(
        tmp_path: Path, fake_hub, caplog: pytest.LogCaptureFixture) -> None:
    data, general = _hub_dirs(tmp_path)
    task = replace(SCIFACT, source={**SCIFACT.source, "hf": {"id": str(data), "revision": "main", "subset": None}})
    params = IngestParams(source="hf", general={"id": str(general), "revision": PINNED})
    with caplog.at_level(logging.WARNING, logger="sciriff.sources"):
        run_ingest([task], params, tmp_path / "raw", hub=fake_hub)
    assert fake_hub.calls == [(str(data), "main")], "a 40-hex sha is used as it is, a branch is looked up once"
    manifest = json.loads((tmp_path / "raw" / "sources.json").read_text())
    assert manifest == {"ingest_source": "hf", "sources": {
        "scifact_entailment": {"kind": "hf", "id": str(data), "subset": None, "requested_revision": "main",
                               "resolved_sha": fake_hub.sha(str(data), "main"),
                               "tasks": {"scifact_entailment": SCIFACT.path.as_posix()}},
        "general": {"kind": "hf", "id": str(general), "subset": None, "requested_revision": PINNED,
                    "resolved_sha": PINNED}}}
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1 and str(SCIFACT.path) in warned[0] and "'main'" in warned[0]
    assert "not a 40-hex commit sha" in warned[0]


def test_fake_hub_failure_names_the_task_file_and_writes_nothing(tmp_path: Path, fake_hub) -> None:
    data, general = _hub_dirs(tmp_path)
    task = replace(SCIFACT, source={**SCIFACT.source, "hf": {"id": str(data), "revision": "v1", "subset": None}})
    params = IngestParams(source="hf", general={"id": str(general), "revision": PINNED})
    with pytest.raises(DataError, match=rf"{SCIFACT.path}: source.hf.revision: cannot resolve revision 'v1' of "
                                        rf"dataset '{data}' on the Hugging Face hub: ConnectionError"):
        fake_hub.fail = (str(data),)
        run_ingest([task], params, tmp_path / "raw", hub=fake_hub)
    assert not (tmp_path / "raw").exists()


def test_fake_hub_resolves_the_general_data_revision_named_by_its_params_key(
        tmp_path: Path, fake_hub, caplog: pytest.LogCaptureFixture) -> None:
    data, general = _hub_dirs(tmp_path)
    task = replace(SCIFACT, source={**SCIFACT.source, "hf": {"id": str(data), "revision": PINNED, "subset": None}})
    with caplog.at_level(logging.WARNING, logger="sciriff.sources"):
        run_ingest([task], IngestParams(source="hf", general={"id": str(general), "revision": "main"}),
                   tmp_path / "raw", hub=fake_hub)
    assert fake_hub.calls == [(str(general), "main")]
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["params.yaml"]
    assert "ingest.general.revision" in caplog.records[0].getMessage()


def test_sample_sources_are_recorded_by_path_and_content_hash(tmp_path: Path) -> None:
    base = tmp_path / "sample"
    for name, record in (("scifact_entailment", RECORD), ("tulu_v2", GENERAL)):
        (base / name).mkdir(parents=True)
        (base / name / "train.jsonl").write_text(json.dumps(record) + "\n")
    held_out = {**GENERAL, "id": "held-out", "messages": [{"role": "user", "content": "A held-out question?"},
                                                         {"role": "assistant", "content": "An answer."}]}
    (base / "tulu_v2" / "test.jsonl").write_text(json.dumps(held_out) + "\n")
    params = IngestParams(sample_dir=str(base))
    run_ingest([SCIFACT], params, tmp_path / "raw")
    first = (tmp_path / "raw" / "sources.json").read_bytes()
    entry = json.loads(first)["sources"]["scifact_entailment"]
    assert entry == {"kind": "sample", "path": f"{base.as_posix()}/scifact_entailment",
                     "sha256": content_hash(base / "scifact_entailment"),
                     "tasks": {"scifact_entailment": SCIFACT.path.as_posix()}}
    assert json.loads(first)["sources"]["general"]["path"].endswith("tulu_v2/train.jsonl")
    run_ingest([SCIFACT], params, tmp_path / "raw")
    assert (tmp_path / "raw" / "sources.json").read_bytes() == first, "deterministic"
    (base / "scifact_entailment" / "test.jsonl").write_text(json.dumps({**RECORD, "claim_id": 5}) + "\n")
    assert content_hash(base / "scifact_entailment") != entry["sha256"]


def test_tasks_sharing_a_source_must_load_the_same_hub_revision(tmp_path: Path) -> None:
    other = replace(SCIFACT, name="copy", source={**SCIFACT.source, "hf": {**SCIFACT.source["hf"], "revision": "v2"}})
    with pytest.raises(DataError, match=r"source 'scifact_entailment' is loaded from the hub as .* one source, one hf"):
        run_ingest([SCIFACT, other], IngestParams(), tmp_path / "raw")


def _manifest_for(templates: Path, hub, out: Path) -> Path:
    """The manifest ingest writes with `source: hf`, built by the same ledger for every task file."""
    ledger = SourceLedger(hub)
    users: dict[str, dict[str, str]] = {}
    for task in load_catalog(templates).values():
        users.setdefault(task.source_name, {})[task.name] = task.path.as_posix()
    for task in load_catalog(templates).values():
        if "hf" in task.source:
            ledger.hub(task.source_name, task.source["hf"], str(task.path), users[task.source_name])
    out.mkdir(parents=True, exist_ok=True)
    ledger.write(out, "hf")
    return out / "sources.json"


def test_fake_hub_pin_writes_shas_into_a_copy_of_templates_and_nothing_else(tmp_path: Path, fake_hub, capsys) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    before = {p.name: p.read_bytes() for p in templates.glob("*.yaml")}
    manifest = _manifest_for(templates, fake_hub, tmp_path / "raw")

    assert main(["tasks", "pin", "--manifest", str(manifest), "--templates", str(templates)]) == 0
    assert "pinned" in capsys.readouterr().out
    catalog = load_catalog(templates)
    hf_tasks = {name for name, task in catalog.items() if "hf" in task.source}
    assert len(hf_tasks) >= 40
    for path in sorted(templates.glob("*.yaml")):
        after = path.read_bytes()
        task = catalog[path.stem]
        if path.stem not in hf_tasks:
            assert after == before[path.name], f"{path.name} has no hub source and must not change"
            continue
        sha = fake_hub.sha(task.source["hf"]["id"], "main")
        assert task.source["hf"]["revision"] == sha
        assert after == before[path.name].replace(b"revision: main", f"revision: {sha}".encode(), 1), path.name
    assert not list(templates.glob(".*")), "no temporary files left in templates/"
    assert pin_task_files(manifest, templates) == [], "pinning again changes nothing"


def test_pin_refuses_a_task_file_that_changed_since_ingest(tmp_path: Path, fake_hub) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    shutil.copy(REPO / "templates" / "scifact_entailment.yaml", templates)
    manifest = _manifest_for(templates, fake_hub, tmp_path / "raw")
    path = templates / "scifact_entailment.yaml"
    path.write_text(path.read_text().replace("revision: main", "revision: v3"))
    with pytest.raises(DataError, match="scifact_entailment.yaml: source.hf is .* changed since ingest"):
        pin_task_files(manifest, templates)


def test_pin_without_a_manifest_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert main(["tasks", "pin", "--manifest", str(tmp_path / "none.json")]) == 2
    assert "none.json: no source manifest" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\nsource:\n  hf: {id: a/b, revision: main, subset: null}  # keep\n",
         f"name: x\nsource:\n  hf: {{id: a/b, revision: {PINNED}, subset: null}}  # keep\n"),
        ("source:\r\n  name: main\r\n  hf:\r\n    id: a/main\r\n    revision: 'main'   # moving\r\n",
         f"source:\r\n  name: main\r\n  hf:\r\n    id: a/main\r\n    revision: {PINNED}   # moving\r\n"),
    ],
    ids=["flow", "block-crlf-quoted"],
)
def test_set_revision_edits_only_the_revision_value(text: str, expected: str) -> None:
    assert set_revision(text, PINNED, "t.yaml") == expected


def test_an_all_digit_sha_is_quoted_so_it_stays_a_string() -> None:
    import yaml

    sha = "1" * 40
    text = set_revision("source:\n  hf: {id: a, revision: main}\n", sha, "t.yaml")
    assert yaml.safe_load(text)["source"]["hf"]["revision"] == sha
