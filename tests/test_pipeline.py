"""The real DVC CLI over the real pipeline, on a copy of the repository with the tiny profile."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow
OUTPUTS = ("dvc.lock", "metrics/", "models/", "data/raw/", "data/rendered/", "data/mix/", "data/predictions/",
           "data/scores/", "data/general/", "data/sciinstruct/", "mlflow.db", "mlruns/")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    """Tracked files as they are in the working tree (no caches, models or outputs), as a fresh clone."""
    files = subprocess.run(["git", "ls-files", "--cached"], cwd=REPO,
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
        assert {"mean", "parse_rate", "biored_f1", "mup_judge"} <= set(metrics) and len(metrics) == 13
        full = json.loads((repo / "data" / "scores" / model / "metrics.json").read_text())
        assert set(full["tasks"]) == set(eval_tasks) and full["headline"]["mean"] == pytest.approx(metrics["mean"],
                                                                                                  abs=0.01)
        low, high = full["ci95"]["mean"]
        assert low - 1e-3 <= full["headline"]["mean"] <= high + 1e-3  # intervals are rounded to 4 places
    comparison = json.loads((repo / "metrics" / "comparison.json").read_text())
    assert set(comparison) == {"scitulu"} and "mean_delta" in comparison["scitulu"]
    assert "JSON parse rate" in (repo / "metrics" / "comparison.md").read_text()
    assert (repo / "metrics" / "train_loss.csv").read_text().startswith("step,epoch,loss")


def test_general_evaluation_for_every_model(pipeline: tuple[Path, str]) -> None:
    repo, _ = pipeline
    held_out = [json.loads(line) for line in (repo / "data" / "raw" / "general_test.jsonl").read_text().splitlines()]
    mix = [json.loads(line) for line in (repo / "data" / "mix" / "train.jsonl").read_text().splitlines()]
    assert len(held_out) == 24 and not {r["id"] for r in held_out} & {r["id"] for r in mix}
    for model in ("baseline", "scitulu"):
        answers = (repo / "data" / "general" / "predictions" / f"{model}.jsonl").read_text().splitlines()
        assert len(answers) == 24
        compact = json.loads((repo / "metrics" / "general" / f"{model}.json").read_text())
        assert set(compact["harness"]) == {"sciriff_science_mc", "sciriff_arithmetic"}
        assert compact["retention"] is not None and compact["win_rate"] is not None
    assert json.loads((repo / "metrics" / "general" / "baseline.json").read_text())["win_rate"] == 50.0
    judgments = (repo / "data" / "general" / "scores" / "scitulu" / "judgments.jsonl").read_text().splitlines()
    assert len(judgments) == 48, "every instruction judged in both orders"
    comparison = json.loads((repo / "metrics" / "comparison.json").read_text())
    assert {"general_win_rate", "general_retention"} <= set(comparison["scitulu"])
    assert "## General capability" in (repo / "metrics" / "comparison.md").read_text()
    shown = run(["dvc", "metrics", "show"], repo)
    assert "metrics/general/scitulu.json" in shown and "retention" in shown


def test_sciinstruct_stages(pipeline: tuple[Path, str]) -> None:
    repo, _ = pipeline
    stats = json.loads((repo / "metrics" / "annotate.json").read_text())
    assert stats["problems"] == 6 and set(stats["accepted_by_round"]) == {"cot", "reflect", "answer"}
    assert stats["teacher"]["prompts"] >= 6 and {"precision", "recall", "kept", "dropped"} <= set(stats["classifier"])
    solutions = (repo / "data" / "sciinstruct" / "annotated" / "solutions.jsonl").read_text().splitlines()
    solutions = [json.loads(line) for line in solutions]
    assert len(solutions) == 6 and all(r["attempts"] for r in solutions)
    assert (repo / "data" / "sciinstruct" / "filtered.jsonl").exists()
    mix = (repo / "data" / "mix" / "train.jsonl").read_text()
    assert "sciinstruct." not in mix, "mix.sciinstruct: 0 adds nothing"
    for model in ("baseline", "scitulu"):
        science = json.loads((repo / "metrics" / "sciinstruct" / f"{model}.json").read_text())
        assert science["problems"] == 4 and 0 <= science["accuracy"] <= 100
    assert "Science reasoning (SciInstruct held-out problems" in (repo / "metrics" / "comparison.md").read_text()
    assert "metrics/sciinstruct/scitulu.json" in run(["dvc", "metrics", "show"], repo)


def test_mlflow_runs_carry_lineage_and_the_metrics(pipeline: tuple[Path, str]) -> None:
    from mlflow.tracking import MlflowClient

    repo, _ = pipeline
    client = MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("sciriff").experiment_id])
    assert {r.data.tags["dvc_stage"] for r in runs} >= {"finetune", "predict@baseline", "predict@scitulu",
                                                         "score@baseline", "score@scitulu", "general_score@scitulu"}
    lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    for run_ in runs:
        tags, stage = run_.data.tags, run_.data.tags["dvc_stage"]
        assert len(tags["git_commit"].split("+")[0]) == 40 and tags["dvc_exp_name"] == "workspace"
        deps = {d["path"]: d["md5"] for d in lock[stage]["deps"]}
        assert {k.removeprefix("dvc_dep."): v for k, v in tags.items() if k.startswith("dvc_dep.")} == deps
    score = next(r for r in runs if r.data.tags["dvc_stage"] == "score@scitulu")
    headline = json.loads((repo / "data" / "scores" / "scitulu" / "metrics.json").read_text())["headline"]
    logged = {k.replace("/", "."): v for k, v in score.data.metrics.items()}
    logged = {k: v for k, v in logged.items() if not k.startswith("json_parsed.")}
    assert logged == pytest.approx({k: v for k, v in headline.items() if isinstance(v, (int, float))})
    general = next(r for r in runs if r.data.tags["dvc_stage"] == "general_score@scitulu")
    compact = json.loads((repo / "metrics" / "general" / "scitulu.json").read_text())
    assert general.data.metrics["general/retention"] == pytest.approx(compact["retention"])
    assert general.data.metrics["general/win_rate"] == pytest.approx(compact["win_rate"])


def test_looking_inside(pipeline: tuple[Path, str]) -> None:
    repo, _ = pipeline
    shown = run(["sciriff", "render", "--task", "scifact_entailment", "--show", "1", "--split", "test"], repo)
    assert "<|im_start|>user\n" in shown and "<|im_start|>assistant\n{" in shown
    mask = run(["sciriff", "finetune", "--show-mask", "0"], repo)
    assert "tokens carry loss" in mask
    assert "SciRIFF tasks (54; 9 held out" in run(["sciriff", "tasks"], repo)


def test_task_counts_plot_has_one_readable_row_per_task(pipeline: tuple[Path, str]) -> None:
    """The render counts use .dvc/plots/task_bars.json: a fixed row height per task, sorted, long labels kept."""
    repo, _ = pipeline
    spec = json.loads(run(["dvc", "plots", "show", "--show-vega", "metrics/render_counts.csv"], repo))
    assert spec["height"] == {"step": 13} and spec["encoding"]["y"]["sort"] == "-x"
    assert spec["encoding"]["y"]["axis"]["labelLimit"] >= 400
    assert len({row["task"] for row in spec["data"]["values"]}) == len(list((repo / "templates").glob("*.yaml")))


def test_second_repro_does_nothing(pipeline: tuple[Path, str]) -> None:
    repo, _ = pipeline
    out = run(["dvc", "repro"], repo)
    assert "Running stage" not in out
    assert run(["dvc", "status"], repo).strip().endswith("Data and pipelines are up to date.")


def lock_outs(repo: Path) -> dict[str, str]:
    """Every output's hash in dvc.lock, keyed by stage and path."""
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return {f"{stage}:{out['path']}": out.get("md5") or out.get("hash", "")
            for stage, body in lock["stages"].items() for out in body.get("outs", [])}


def test_fresh_clone_at_another_commit_reproduces_the_lock(pipeline: tuple[Path, str], tmp_path: Path) -> None:
    """A reviewer's check: clone, `dvc repro --force`, `git diff --exit-code dvc.lock` (CPU determinism).

    The clone sits at another path and another commit than the run that wrote the lock, so nothing in an
    output may depend on the commit, the working tree or the time.
    """
    repo, _ = pipeline
    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "results"], repo)
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(repo), str(clone)], tmp_path)
    run(["dvc", "repro", "--force"], clone)
    assert any(key.startswith("finetune:") for key in lock_outs(clone))
    assert lock_outs(clone) == lock_outs(repo)
    run(["git", "diff", "--exit-code", "dvc.lock"], clone)


def test_exp_run_sciinstruct_reruns_mix_and_after_only(pipeline: tuple[Path, str]) -> None:
    repo, _ = pipeline
    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "repro", "--allow-empty"], repo)
    out = run(["dvc", "exp", "run", "-S", "mix.sciinstruct=2"], repo)
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    assert {"mix", "finetune"} <= ran
    assert not ran & {"sciinstruct_ingest", "annotate", "quality_classifier", "ingest", "render", "base_model",
                      "predict@baseline", "sciinstruct_eval@baseline"}


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """moto's standalone S3 server on loopback, stopped afterwards."""
    import boto3

    port = free_port()
    proc = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        client = boto3.client("s3", endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing",
                              region_name="us-east-1")
        deadline = time.monotonic() + 30
        while True:
            try:
                client.create_bucket(Bucket="sciriff")
                break
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def add_s3_remote(repo: Path, url: str, name: str = "s3") -> None:
    run(["dvc", "remote", "add", name, "s3://sciriff/dvc"], repo)
    run(["dvc", "remote", "modify", name, "endpointurl", url], repo)
    for key in ("access_key_id", "secret_access_key"):
        run(["dvc", "remote", "modify", "--local", name, key, "testing"], repo)


def test_s3_push_then_clone_and_pull_reproduces_nothing(pipeline: tuple[Path, str], s3_server: str,
                                                        tmp_path: Path) -> None:
    import boto3

    repo, _ = pipeline
    add_s3_remote(repo, s3_server)
    assert "testing" not in (repo / ".dvc" / "config").read_text(), "credentials stay in config.local"
    s3 = boto3.client("s3", endpoint_url=s3_server, aws_access_key_id="testing", aws_secret_access_key="testing",
                      region_name="us-east-1")

    def remote_objects() -> int:
        return sum(page.get("KeyCount", 0) for page in s3.get_paginator("list_objects_v2").paginate(Bucket="sciriff"))

    # An interrupted push (a real `dvc push`, killed after some uploads) resumes where it stopped.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen(["dvc", "push", "-r", "s3", "-j", "1"], cwd=repo, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while remote_objects() < 10 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.kill()
    assert proc.wait() == -9, "the push was interrupted part way"
    before = remote_objects()
    out = run(["dvc", "push", "-r", "s3"], repo)
    pushed = int(out.split(" files pushed")[0].split()[-1])
    assert pushed > 0 and remote_objects() == before + pushed, "only what was missing is sent"
    assert "in sync" in run(["dvc", "status", "--cloud", "-r", "s3"], repo)

    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "pipeline run"], repo)
    metrics = run(["dvc", "metrics", "show"], repo)
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(repo), str(clone)], tmp_path)
    for key in ("access_key_id", "secret_access_key"):
        run(["dvc", "remote", "modify", "--local", "s3", key, "testing"], clone)
    run(["dvc", "pull", "-r", "s3"], clone)
    assert run(["dvc", "status"], clone).strip().endswith("Data and pipelines are up to date.")
    assert "Running stage" not in run(["dvc", "repro"], clone)
    assert run(["dvc", "metrics", "show"], clone) == metrics

    # A corrupted cache object is detected and replaced from the remote, never used as it is.
    obj = next(p for p in (clone / ".dvc" / "cache" / "files" / "md5").rglob("*") if p.is_file()
               and not p.name.endswith(".dir"))
    obj.chmod(0o644)
    obj.write_bytes(b"corrupted")
    assert "not in cache" in run(["dvc", "status"], clone), "dvc status sees the corrupted object"
    run(["dvc", "pull", "-r", "s3", "--force"], clone)
    assert obj.read_bytes() != b"corrupted"
    assert run(["dvc", "status"], clone).strip().endswith("Data and pipelines are up to date.")


def test_unreachable_remote_fails_clearly_and_keeps_the_cache(pipeline: tuple[Path, str]) -> None:
    repo, _ = pipeline
    cache = sorted(p.relative_to(repo) for p in (repo / ".dvc" / "cache").rglob("*") if p.is_file())
    add_s3_remote(repo, f"http://127.0.0.1:{free_port()}", name="dead")
    run(["dvc", "remote", "modify", "dead", "connect_timeout", "2"], repo)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "AWS_MAX_ATTEMPTS": "1"}
    result = subprocess.run(["dvc", "push", "-r", "dead"], cwd=repo, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode != 0
    assert "ERROR" in result.stderr + result.stdout
    assert sorted(p.relative_to(repo) for p in (repo / ".dvc" / "cache").rglob("*") if p.is_file()) == cache


def test_exp_run_per_task_reruns_mix_and_after_only(pipeline: tuple[Path, str]) -> None:
    repo, _ = pipeline
    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "repro"], repo)
    out = run(["dvc", "exp", "run", "-S", "mix.per_task=3"], repo)
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    # score/compare follow only if the tiny model's predictions changed (DVC skips unchanged deps).
    assert {"mix", "finetune", "predict@scitulu"} <= ran
    assert not ran & {"ingest", "render", "base_model", "predict@baseline", "score@baseline",
                      "general_predict@baseline", "general_harness@baseline", "general_score@baseline"}


def test_queued_experiments_land_in_the_main_mlflow_store(pipeline: tuple[Path, str]) -> None:
    from mlflow.tracking import MlflowClient

    repo, _ = pipeline
    run(["dvc", "exp", "run", "--queue", "-S", "mix.per_task=1", "--name", "per-task-1"], repo)
    run(["dvc", "queue", "start"], repo)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status = run(["dvc", "queue", "status"], repo)
        if "Queued" not in status and "Running" not in status:
            break
        time.sleep(3)
    assert "Success" in status, status
    show = run(["dvc", "exp", "show", "--no-pager", "--csv"], repo)
    assert "per-task-1" in show and "mix.per_task" in show.splitlines()[0]
    client = MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("sciriff").experiment_id],
                              "tags.dvc_exp_name = 'per-task-1'")
    assert {r.data.tags["dvc_stage"] for r in runs} >= {"finetune", "predict@scitulu"}
