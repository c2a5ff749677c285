"""The fault suite: bad input and broken surroundings give a clear error and lose nothing.

Cases that need a fixture of their own module stay there and are listed here, so this file is the
index of every fault the project handles:
- unreachable judge endpoint fails score, writes nothing: tests/test_score.py; the general stage:
  tests/test_general.py; a teacher that stays down: tests/test_sciinstruct_annotate.py
- a null id names the file and line (it is not turned into the id "None"): tests/test_ingest.py
- bad params name the key: tests/test_params.py, tests/test_cli.py
- Jinja errors name task/template/instance, sandbox escapes are refused: tests/test_catalog.py
- kills during render, predict (torn last line), finetune, annotate resume: tests/test_render.py,
  tests/test_predict.py, tests/test_finetune.py, tests/test_sciinstruct_annotate.py
- API keys never logged or cached: tests/evaluation/test_judge.py
- S3: interrupted push, corrupted cache object, unreachable remote: tests/test_pipeline.py
- score-file: duplicate/missing ids, empty file, --out that is a file: tests/evaluation/test_eval_report.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sciriff.io import DataError, atomic_path, read_jsonl, write_json
from sciriff.params import ParamsError, load_params


def test_invalid_utf8_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_bytes(b'{"id": "1"}\n{"id": "\xff"}\n')
    with pytest.raises(DataError, match=r"records\.jsonl:2: not valid UTF-8"):
        list(read_jsonl(path))


def test_a_boolean_count_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("mix:\n  per_task: true\n")
    with pytest.raises(ParamsError, match=r"mix\.per_task"):
        load_params(path)


def test_temporaries_of_a_killed_write_are_removed_by_the_next_one(tmp_path: Path) -> None:
    out = tmp_path / "rendered"
    stale = tmp_path / ".rendered.partial-abc123"
    (stale / "rendered").mkdir(parents=True)  # what a kill in the middle of a stage leaves behind
    with atomic_path(out) as tmp:
        tmp.mkdir()
        (tmp / "manifest.json").write_text("{}")
    assert not stale.exists() and (out / "manifest.json").exists()


def test_git_ignores_the_temporaries(tmp_path: Path) -> None:
    ignore = (Path(__file__).resolve().parents[1] / ".gitignore").read_text().splitlines()
    assert ".*.partial-*/" in ignore


def test_a_failed_write_keeps_the_previous_output(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    write_json(path, {"mean": 1.0})
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text('{"mean": ')
        raise RuntimeError("killed")
    assert json.loads(path.read_text()) == {"mean": 1.0}


def _task_with_prompt(tmp_path: Path, prompt: str):
    import yaml

    from sciriff.catalog import load_task

    repo = Path(__file__).resolve().parents[1]
    spec = yaml.safe_load((repo / "templates" / "scifact_entailment.yaml").read_text())
    spec["templates"][0]["prompt"] = prompt
    path = tmp_path / "scifact_entailment.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return load_task(path)


FIELDS = {"id": "c1", "claim": "A claim.", "abstract": ["One sentence."], "verdict": "NEI", "evidence": []}


@pytest.mark.parametrize(("prompt", "message"), [
    ("{{ claim.__class__.__mro__ }}", r"task scifact_entailment, template 0, instance c1: SecurityError"),
    ("{{ no_such_field }}", r"task scifact_entailment, template 0, instance c1: UndefinedError"),
    ("{% for i in range(10**9) %}{{ i }}{% endfor %}",
     r"task scifact_entailment, template 0, instance c1: OverflowError"),
])
def test_template_errors_and_sandbox_escapes_name_the_task(tmp_path: Path, prompt: str, message: str) -> None:
    from sciriff.catalog import render_instance

    task = _task_with_prompt(tmp_path, prompt)
    with pytest.raises(DataError, match=message):
        render_instance(task, FIELDS)


def test_a_failed_dvc_stage_keeps_its_persisted_git_output(tmp_path: Path) -> None:
    """Why dvc.yaml marks `cache: false` outputs `persist: true` (tests/test_lineage.py checks they all are):
    with the real DVC CLI, a stage that fails on a bad input keeps its previous metrics file."""
    import subprocess
    import sys

    bin_dir = Path(sys.executable).parent
    (tmp_path / "step.py").write_text("import sys\nif 'bad' in open('p').read():\n    sys.exit('bad param')\n"
                                      "open('m.json', 'w').write('{\"a\": 1}')\n")
    (tmp_path / "dvc.yaml").write_text(
        f"stages:\n  s:\n    cmd: {sys.executable} step.py\n    deps: [p, step.py]\n"
        "    metrics:\n      - m.json:\n          cache: false\n          persist: true\n")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(args, cwd=tmp_path, capture_output=True, text=True)

    assert run("git", "init", "-q").returncode == 0 and run(str(bin_dir / "dvc"), "init", "-q").returncode == 0
    (tmp_path / "p").write_text("good\n")
    assert run(str(bin_dir / "dvc"), "repro").returncode == 0
    (tmp_path / "p").write_text("bad\n")
    assert run(str(bin_dir / "dvc"), "repro").returncode != 0
    assert (tmp_path / "m.json").read_text() == '{"a": 1}', "the previous output is still there"
