"""Shared fixtures: a tiny model from the real SmolLM2 config and tokenizer, and `transformers serve` on it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sciriff.base_model import build_base_model
from sciriff.params import ModelParams

REPO = Path(__file__).resolve().parents[1]
# One definition of the tiny model: the pipeline tests' profile (tests/profiles/tiny.yaml) holds it.
TINY_SHRINK = yaml.safe_load((REPO / "tests" / "profiles" / "tiny.yaml").read_text())["model"]["shrink"]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch working directory with its own MLflow store (modules may override it with data)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """models/base-shaped checkpoint: SmolLM2's tokenizer and chat template, 2 tiny layers."""
    out = tmp_path_factory.mktemp("tiny") / "base"
    build_base_model(ModelParams(shrink=TINY_SHRINK, dtype="float32"), out)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def served(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """`transformers serve` on the tiny checkpoint, offline, CPU; yields (base_url, served model path)."""
    exe = Path(sys.executable).parent / "transformers"
    if not exe.exists():
        exe = Path(shutil.which("transformers") or "transformers")
    work = tmp_path_factory.mktemp("serve")
    (work / "hub").mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(work / "hub")}  # else /v1/models: 500
    port = _free_port()
    model = str(tiny_model_dir)
    log_path = work / "serve.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen([str(exe), "serve", model, "--host", "127.0.0.1", "--port", str(port),
                                 "--device", "cpu"], stdout=log_file, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"transformers serve did not come up:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/v1", model
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class FakeHub:
    """Stand-in for huggingface_hub.HfApi (the hub is not reachable here): `dataset_info(id, revision=...)`
    answers a made-up commit sha per (id, revision) and keeps the calls; ids in `fail` raise as the hub would."""

    def __init__(self, fail: tuple[str, ...] = ()) -> None:
        self.calls: list[tuple[str, str | None]] = []
        self.fail = fail

    @staticmethod
    def sha(repo_id: str, revision: str | None) -> str:
        import hashlib

        return hashlib.sha1(f"{repo_id}@{revision}".encode()).hexdigest()

    def dataset_info(self, repo_id: str, *, revision: str | None = None) -> object:
        from types import SimpleNamespace

        self.calls.append((repo_id, revision))
        if repo_id in self.fail:
            raise ConnectionError(f"stand-in hub: {repo_id} unreachable")
        return SimpleNamespace(id=repo_id, sha=self.sha(repo_id, revision))


@pytest.fixture
def fake_hub() -> FakeHub:
    """A FakeHub (stand-in for HfApi revision lookups)."""
    return FakeHub()
