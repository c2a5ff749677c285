import subprocess
import sys
from pathlib import Path

import pytest

from sciriff.io import DataError, atomic_path, read_jsonl, stable_seed, write_jsonl


def test_stable_seed_is_the_same_in_other_processes() -> None:
    code = "from sciriff.io import stable_seed; print(stable_seed('task', 3))"
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={"PYTHONHASHSEED": seed}).stdout.strip()
        for seed in ("1", "2")
    }
    assert outputs == {str(stable_seed("task", 3))}


def test_interrupted_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    write_jsonl(target, [{"a": 1}])
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert list(read_jsonl(target)) == [{"a": 1}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_atomic_directory_replace(tmp_path: Path) -> None:
    target = tmp_path / "dir"
    target.mkdir()
    (target / "old").write_text("x")
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "new").write_text("y")
    assert [p.name for p in target.iterdir()] == ["new"]


def test_written_bytes_are_canonical(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a.jsonl", [{"b": 1, "a": "é"}])
    assert (tmp_path / "a.jsonl").read_text(encoding="utf-8") == '{"a": "é", "b": 1}\n'


def test_bad_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n\n{oops\n')
    with pytest.raises(DataError, match=r"x\.jsonl:3: invalid JSON"):
        list(read_jsonl(path))
