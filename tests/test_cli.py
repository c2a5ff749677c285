import json
from pathlib import Path

import pytest

from sciriff.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_judge_params(tmp_path: Path) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text("score:\n  judge:\n    backend: none\n")
    return path


def test_score_file_writes_metrics_and_summary(tmp_path: Path, no_judge_params: Path, capsys) -> None:
    rows = [
        {"task": "bioasq_list_qa", "id": "a", "prediction": '["BRCA1", "tp53"]', "reference": '["TP53", "BRCA1"]',
         "input": "q"},
        {"task": "bioasq_list_qa", "id": "b", "prediction": "no json here", "reference": '["x"]', "input": "q"},
    ]
    predictions = tmp_path / "preds.jsonl"
    predictions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["--params", str(no_judge_params), "score-file", "--predictions", str(predictions),
                 "--out", str(tmp_path / "out")]) == 0
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    # 2 of 3 gold answers found, 2 predicted, both right: P=1, R=2/3, F1=0.8.
    assert metrics["bioasq_list_qa"]["all_f1"] == pytest.approx(0.8)
    assert metrics["bioasq_list_qa"]["json_parsed"] == pytest.approx(0.5)
    assert summary["bioasq_list_qa.f1"] == pytest.approx(80.0)
    assert summary["n_columns"] == 1


def test_tasks_json_and_validate(capsys) -> None:
    assert main(["--params", str(REPO / "params.yaml"), "tasks", "--json", "--templates", str(REPO / "templates"),
                 "--sample-dir", str(REPO / "data" / "sample")]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sum(r["eval"] for r in rows) == 9
    assert all(r["sample"] for r in rows), "every task ships sample data"
    assert main(["--params", str(REPO / "params.yaml"), "tasks", "validate", "--templates",
                 str(REPO / "templates")]) == 0
    assert f"{len(rows)} task files valid" in capsys.readouterr().out


def test_bad_params_exit_with_the_key(tmp_path: Path, capsys) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("mix:\n  per_task: lots\n")
    assert main(["--params", str(path), "mix"]) == 2
    assert "mix.per_task" in capsys.readouterr().err


def test_eval_tasks_agree_with_the_evaluators() -> None:
    from sciriff.catalog import load_catalog
    from sciriff.evaluation import EVALUATORS

    held_out = {t.name for t in load_catalog(REPO / "templates").values() if t.eval}
    assert held_out == set(EVALUATORS)


def test_every_subcommand_help_has_a_description_and_shows_defaults(monkeypatch, capsys) -> None:
    from sciriff.cli import COMMANDS

    monkeypatch.setenv("COLUMNS", "1000")  # argparse wraps at the terminal width
    for name, (_, summary) in COMMANDS.items():
        with pytest.raises(SystemExit):
            main([name, "--help"])
        text = capsys.readouterr().out
        assert f"{summary[0].upper()}{summary[1:]}." in text, f"{name} --help has no description"
        assert "(default: None)" not in text and "(default: False)" not in text
    with pytest.raises(SystemExit):
        main(["render", "--help"])
    text = capsys.readouterr().out
    assert "(default: 3)" in text and "(default: train)" in text and "rendered now" in text
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    assert "(default: metrics/scitulu.json)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert capsys.readouterr().out.count("(default: params.yaml)") == 1


def test_tasks_table_fits_the_terminal_and_is_not_padded(monkeypatch, capsys) -> None:
    args = ["--params", str(REPO / "params.yaml"), "tasks", "--templates", str(REPO / "templates"),
            "--sample-dir", str(REPO / "data" / "sample")]
    monkeypatch.setenv("COLUMNS", "70")
    assert main(args) == 0
    narrow = capsys.readouterr().out.splitlines()
    assert max(map(len, narrow)) <= 70 and any("scifact" in line for line in narrow)
    monkeypatch.setenv("COLUMNS", "400")
    assert main(args) == 0
    wide = capsys.readouterr().out.splitlines()
    assert 70 < max(map(len, wide)) < 400, "sized to its content, not padded to the width"


TOY_TASK = """\
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


def test_render_show_renders_the_current_template(workdir: Path, tiny_model_dir: Path, capsys) -> None:
    from sciriff.io import write_jsonl

    (workdir / "params.yaml").write_text(f"models: {{baseline: {tiny_model_dir}}}\n")
    (workdir / "templates").mkdir()
    task_file = workdir / "templates" / "toy_classification.yaml"
    task_file.write_text(TOY_TASK)
    write_jsonl(workdir / "data" / "raw" / "toy.jsonl",
                [{"id": f"r{i}", "split": "train", "fields": {"id": f"r{i}", "text": f"text {i}", "label": "a"}}
                 for i in range(10)])
    stale = {"_instance_id": "toy_classification:train:0", "id": "r0", "input": "STALE PROMPT", "output": "{}"}
    write_jsonl(workdir / "data" / "rendered" / "toy_classification" / "train.jsonl", [stale])

    assert main(["render", "--task", "toy_classification", "--show", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("=====\n") == 2 and out.count("Classify: text") == 2 and "STALE" not in out
    task_file.write_text(TOY_TASK.replace("Classify:", "Label this:"))
    assert main(["render", "--task", "toy_classification", "--show", "1", "--split", "test"]) == 0
    out = capsys.readouterr().out
    assert "Label this: text" in out and "Classify" not in out and "1 test example(s)" in out
    assert main(["render", "--task", "toy_classification", "--rendered"]) == 0
    assert "STALE PROMPT" in capsys.readouterr().out, "--rendered still shows what render wrote"


def test_show_mask_is_readable_without_colour(workdir: Path, tiny_model_dir: Path, capsys) -> None:
    from sciriff.io import write_jsonl

    conversation = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
                    {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]
    write_jsonl(workdir / "data" / "mix" / "train.jsonl", [{"dataset": "d", "id": "0", "messages": conversation}])
    (workdir / "models").mkdir()
    (workdir / "models" / "base").symlink_to(tiny_model_dir)
    assert main(["--params", str(REPO / "params.yaml"), "finetune", "--show-mask", "0"]) == 0
    out = capsys.readouterr().out  # not a terminal: no colour
    assert "\x1b[" not in out
    assert "⟦Hello!<|im_end|>⟧" in out and "⟦4<|im_end|>⟧" in out
    assert "⟦Hi" not in out and out.count("⟦") == 2 + 1  # two spans, plus the legend


def test_setup_drops_only_pips_missing_find_links_notice(tmp_path: Path) -> None:
    import re
    import subprocess

    function = re.search(r"^pip_install\(\) \{.*?^\} 3>&1$", (REPO / "bin" / "setup").read_text(), re.M | re.S)
    assert function, "bin/setup defines pip_install"
    stub = tmp_path / ".venv" / "bin" / "python"
    stub.parent.mkdir(parents=True)
    notice = "WARNING: Location 'file:///opt/wheels' is ignored: it is neither a file nor a directory."
    stub.write_text(f"#!/bin/sh\necho installed\necho \"{notice}\" >&2\n"
                    "echo 'WARNING: Retrying after connection broken' >&2\necho 'ERROR: no matching distribution' >&2\n"
                    "exit 7\n")
    stub.chmod(0o755)
    script = f"set -euo pipefail\n{function.group(0)}\npip_install nothing\n"
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 7, "pip's exit status is kept"
    assert result.stdout == "installed\n"
    assert result.stderr == "WARNING: Retrying after connection broken\nERROR: no matching distribution\n"
