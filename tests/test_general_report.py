"""The general block of `compare` and the retention check of `sciriff verify`, on hand-made documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sciriff.cli import main
from sciriff.compare import run_compare
from sciriff.evaluation.report import HEADLINE_COLUMNS
from sciriff.general import compact_general
from sciriff.io import write_json

REPO = Path(__file__).resolve().parents[1]


def _general(model: str, win: float, low: float, high: float, scores: dict[str, float], reference: dict) -> dict:
    mean = sum(scores.values()) / len(scores)
    ref_mean = sum(reference.values()) / len(reference)
    return {"model": model, "reference_model": "baseline", "judge": None if model == "baseline" else "gpt-x",
            "pairwise": {"win_rate": win, "ci95": [low, high]},
            "harness": {t: {"score": s, "metric": "acc,none", "tasks": [t], "n": 40} for t, s in scores.items()},
            "harness_mean": mean, "reference_harness": reference, "reference_harness_mean": ref_mean,
            "retention": round(mean / ref_mean, 4)}


@pytest.fixture(autouse=True)
def _mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")


@pytest.fixture
def scored(tmp_path: Path) -> Path:
    base = {"mmlu": 50.0, "gsm8k": 30.0}
    docs = {"baseline": _general("baseline", 50.0, 50.0, 50.0, base, base),
            "scitulu": _general("scitulu", 41.7, 30.2, 53.1, {"mmlu": 49.0, "gsm8k": 30.2}, base)}
    for name, doc in docs.items():
        write_json(tmp_path / "general" / name / "metrics.json", doc)
        write_json(tmp_path / "metrics" / "general" / f"{name}.json", compact_general(doc))
        headline = {column: 10.0 for column in HEADLINE_COLUMNS} | {"mean": 10.0}
        write_json(tmp_path / "scores" / name / "metrics.json",
                   {"headline": headline, "ci95": {}, "json_parsed": {"mean": 1.0}})
    return tmp_path


def test_compare_adds_the_general_block(scored: Path) -> None:
    run_compare({"baseline": "b", "scitulu": "s"}, "baseline", scored / "scores", scored / "metrics",
                scored / "general")
    summary = json.loads((scored / "metrics" / "comparison.json").read_text())
    assert summary["scitulu"]["general_win_rate"] == 41.7
    assert summary["scitulu"]["general_retention"] == pytest.approx(79.2 / 80)
    table = (scored / "metrics" / "comparison.md").read_text()
    assert "| win rate vs baseline | 50.0 (itself) | 41.7 [30.2, 53.1] |" in table
    assert "| mmlu (acc,none) | 50.0 | 49.0 |" in table
    assert "| retention (harness mean / baseline's) | 1.000 (+0.0%) | 0.990 (-1.0%) |" in table
    assert "judge gpt-x" in table
    import mlflow

    run = mlflow.search_runs(experiment_names=["sciriff"], filter_string="tags.dvc_stage = 'compare'").iloc[0]
    assert run["metrics.scitulu/general_win_rate"] == 41.7
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run["run_id"])}
    assert artifacts == {"comparison.json", "comparison.md", "comparison.png"}


def test_compare_without_general_scores_names_the_file(scored: Path) -> None:
    (scored / "general" / "scitulu" / "metrics.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"general/scitulu/metrics\.json: no general scores"):
        run_compare({"baseline": "b", "scitulu": "s"}, "baseline", scored / "scores", scored / "metrics",
                    scored / "general")
    assert not (scored / "metrics" / "comparison.json").exists(), "nothing is written"


def test_verify_general_within_two_percent_names_the_benchmarks(scored: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    path = str(scored / "metrics" / "general" / "scitulu.json")
    assert main(["verify", "--check", "general", "--general", path]) == 0
    out = capsys.readouterr().out
    assert "0.9900 (-1.00% vs the reference model)" in out and "benchmarks used: gsm8k, mmlu" in out
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", "--check", "general", "--general", path, "--general-tolerance", "0.5"])
    assert exit_info.value.code == 1 and "OUTSIDE" in capsys.readouterr().out


def test_verify_general_says_when_the_benchmarks_are_the_offline_stand_ins(tmp_path: Path, capsys,
                                                                          monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    path = tmp_path / "scitulu.json"
    path.write_text(json.dumps({"win_rate": 48.0, "harness": {"sciriff_science_mc": 30.0, "sciriff_arithmetic": 5.0},
                                "harness_mean": 17.5, "retention": 1.05}))
    assert main(["verify", "--check", "general", "--general", str(path)]) == 0
    assert "shipped offline stand-ins, not the paper's benchmarks" in capsys.readouterr().out
    assert main(["verify", "--check", "general", "--general", str(tmp_path / "missing.json")]) == 2
