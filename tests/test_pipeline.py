"""The real DVC CLI over the real pipeline, on a copy of the repository with the tiny profile."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow
OUTPUTS = ("dvc.lock", "metrics/", "models/", "data/raw/", "data/rendered/", "data/mix/", "data/predictions/",
           "data/scores/", "mlflow.db", "mlruns/")


def merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return out


def run(cmd: list[str], cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result.stdout + result.stderr


def copy_repo(dest: Path, profile: str = "tiny") -> Path:
    """Tracked and untracked-not-ignored files only (no caches, models or outputs), as a fresh clone."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (REPO / name).is_file() and not name.startswith(OUTPUTS):
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    params = merge(yaml.safe_load((REPO / "params.yaml").read_text()),
                   yaml.safe_load((REPO / "tests" / "profiles" / f"{profile}.yaml").read_text()))
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"]):
        run(cmd, dest)
    return dest


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    repo = copy_repo(tmp_path_factory.mktemp("repo"))
    return repo, run(["dvc", "repro"], repo)


def test_repro_builds_every_stage(pipeline: tuple[Path, str]) -> None:
    repo, _ = pipeline
    assert (repo / "models" / "base" / "model.safetensors").exists()
    assert (repo / "models" / "scitulu" / "sciriff_model.json").exists()
    manifest = json.loads((repo / "data" / "rendered" / "manifest.json").read_text())
    eval_tasks = sorted(t for t, s in manifest.items() if s["eval"])
    assert len(eval_tasks) == 9 and len(manifest) - 9 >= 6
    mix = [json.loads(line) for line in (repo / "data" / "mix" / "train.jsonl").read_text().splitlines()]
    assert not {r["dataset"].removeprefix("sciriff.") for r in mix} & set(eval_tasks)
    for model in ("baseline", "scitulu"):
        assert sorted(p.stem for p in (repo / "data" / "predictions" / model).glob("*.jsonl")) == eval_tasks
        metrics = json.loads((repo / "metrics" / f"{model}.json").read_text())
        assert "mean" in metrics["headline"] and set(metrics["tasks"]) == set(eval_tasks)
    comparison = json.loads((repo / "metrics" / "comparison.json").read_text())
    assert "mean" in comparison["models"]["scitulu"]
    assert (repo / "metrics" / "train_loss.csv").read_text().startswith("step,epoch,loss")


def test_second_repro_does_nothing(pipeline: tuple[Path, str]) -> None:
    repo, _ = pipeline
    out = run(["dvc", "repro"], repo)
    assert "Running stage" not in out
    assert run(["dvc", "status"], repo).strip().endswith("Data and pipelines are up to date.")


def test_exp_run_per_task_reruns_mix_and_after_only(pipeline: tuple[Path, str]) -> None:
    repo, _ = pipeline
    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "repro"], repo)
    out = run(["dvc", "exp", "run", "-S", "mix.per_task=3"], repo)
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    # score/compare follow only if the tiny model's predictions changed (DVC skips unchanged deps).
    assert {"mix", "finetune", "predict@scitulu"} <= ran
    assert not ran & {"ingest", "render", "base_model", "predict@baseline", "score@baseline"}
