"""MLflow tracking and lineage: every finetune, predict and score run lands in one store.

The default store is a SQLite file at the repository root. DVC runs queued experiments in copies of
the repository under .dvc/tmp/exps, so the root is resolved out of those copies: runs from
`dvc exp run --queue` land in the same store as workspace runs. MLFLOW_TRACKING_URI overrides it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

EXPERIMENT = "sciriff"


def repo_root(start: Path | None = None) -> Path:
    """The main repository root, also from inside a DVC experiment temp copy."""
    path = (start or Path.cwd()).resolve()
    parts = path.parts
    for index in range(len(parts) - 3):
        if parts[index : index + 3] == (".dvc", "tmp", "exps"):
            return Path(*parts[:index])
    return path


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{repo_root() / 'mlflow.db'}"


def artifact_location() -> str | None:
    """Artifacts beside a SQLite store (so a queued experiment's temp copy does not keep them); a
    tracking server decides for itself (None)."""
    uri = tracking_uri()
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / "mlruns").as_uri()
    return None


def git_commit() -> str:
    """HEAD of the working copy ('+dirty' when tracked files changed); 'unknown' outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def stage_deps(stage: str) -> list[str]:
    """The dependency paths of `stage` ('name' or 'name@key'), as DVC itself resolves dvc.yaml."""
    if not Path("dvc.yaml").exists():
        return []
    from dvc.dependency.param import ParamsDependency
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(".") as repo:  # params are recorded apart from the path dependencies, as in dvc.lock
            return [str(dep.def_path) for dep in repo.stage.collect(stage)[0].deps
                    if not isinstance(dep, ParamsDependency)]
    except DvcException:  # not a stage of this dvc.yaml (a run outside the pipeline)
        return []


def dependency_hashes(paths: list[str]) -> dict[str, str]:
    """md5 of each dependency exactly as dvc.lock records it (DVC's own hashing, files and directories)."""
    import tempfile

    from dvc_data.hashfile.build import build
    from dvc_data.hashfile.db import HashFileDB
    from dvc_objects.fs.local import LocalFileSystem

    fs = LocalFileSystem()
    with tempfile.TemporaryDirectory() as scratch:
        odb = HashFileDB(fs, scratch)
        return {path: build(odb, path, fs, "md5", dry_run=True)[2].hash_info.value
                for path in paths if Path(path).exists()}


def lineage_tags(stage: str) -> dict[str, str]:
    """Tags every run carries: commit, DVC stage and experiment, and the stage's dependency hashes."""
    tags = {
        "git_commit": git_commit(),
        "dvc_stage": stage,
        "dvc_exp_name": os.environ.get("DVC_EXP_NAME", "workspace"),
    }
    tags.update({f"dvc_dep.{path}": md5 for path, md5 in dependency_hashes(stage_deps(stage)).items()})
    return tags


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


@contextlib.contextmanager
def mlflow_run(stage: str, params: dict[str, Any]) -> Iterator[Any]:
    """Open an MLflow run tagged with lineage and logged params; yields the mlflow module."""
    import logging

    import mlflow

    logging.getLogger("alembic").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(tracking_uri())
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        mlflow.create_experiment(EXPERIMENT, artifact_location=artifact_location(),
                                 tags={"mlflow.experimentKind": "custom_model_development"})
    mlflow.set_experiment(EXPERIMENT)  # (the tag opens the runs view, not the empty GenAI one)
    with mlflow.start_run(run_name=stage, tags=lineage_tags(stage)):
        mlflow.log_params({k: str(v)[:500] for k, v in _flatten(params).items()})
        yield mlflow


def numeric_metrics(data: dict[str, Any], prefix: str = "", skip: tuple[str, ...] = ()) -> dict[str, float]:
    """Numeric leaves of a nested dict as `a/b` keys (for mlflow.log_metrics); `skip` drops top-level keys."""
    out: dict[str, float] = {}
    for key, value in data.items():
        if key in skip:
            continue
        if isinstance(value, dict):
            out.update(numeric_metrics(value, f"{prefix}{key}/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[f"{prefix}{key}"] = float(value)
    return out
